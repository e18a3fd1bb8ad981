"""
===================================
One sigmoid neuron, trained by hand
===================================

Before Keras: a single neuron, ``p = sigmoid(w . x + b)``, trained with NumPy
by gradient descent on the log-loss. Each step is the forward pass, the error,
the gradient and the update; repeated, the loss goes down and the decision
boundary moves into place. This is what every Dense layer of the later models
does, many times over.
"""

# %%
# Two classes of points
# ---------------------
import matplotlib.pyplot as plt
import numpy as np

rng = np.random.default_rng(0)
n = 200
X = np.vstack([rng.normal([-1, -1], 0.8, (n, 2)), rng.normal([1.5, 1], 0.8, (n, 2))])
y = np.repeat([0, 1], n)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# %%
# Forward pass, error, gradient, update
# -------------------------------------
w = np.zeros(2)
b = 0.0
learning_rate = 0.5
losses = []
for _ in range(100):
    p = sigmoid(X @ w + b)  # forward pass
    error = p - y  # d(log-loss)/dz for a sigmoid output
    losses.append(-np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
    grad_w = X.T @ error / len(y)  # gradient
    grad_b = error.mean()
    w -= learning_rate * grad_w  # update
    b -= learning_rate * grad_b
accuracy = np.mean((sigmoid(X @ w + b) > 0.5) == y)
print(f"w = {w.round(2)}, b = {b:.2f}, training accuracy = {accuracy:.1%}")

# %%
# The loss and the learned boundary
# ---------------------------------
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
ax1.plot(losses)
ax1.set_xlabel("gradient descent step")
ax1.set_ylabel("log-loss")
ax1.set_title("Training loss")
ax2.scatter(*X.T, c=y, cmap="coolwarm", s=10)
xs = np.linspace(X[:, 0].min(), X[:, 0].max(), 2)
ax2.plot(xs, -(w[0] * xs + b) / w[1], "k--", label="p = 0.5")
ax2.set_xlabel("$x_1$")
ax2.set_ylabel("$x_2$")
ax2.set_title("Decision boundary (blue: class 0, red: class 1)")
ax2.legend()
plt.show()
