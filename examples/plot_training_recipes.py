"""
===================================================
Training recipes: learning rate, schedules, mixing
===================================================

Three tools that change how a network trains rather than what it is:

- the learning-rate finder, :func:`~litterlearn.neural_network.find_learning_rate`,
  which sweeps the rate on a copy of the estimator and suggests one;
- the ``learning_rate_schedule`` parameter ("cosine", "one_cycle"), which
  moves the rate during training;
- the ``mixup`` and ``cutmix`` parameters, which train on blends of two
  images with soft labels, shown here with
  :func:`~litterlearn.plotting.plot_mixed_batch`.

The images are scikit-learn's 8x8 handwritten digits (1797 images, bundled
with scikit-learn), so that the example runs in seconds. Whether these
knobs help the small-data CNN on 28x28 images is measured, three seeds and
two datasets, in ``benchmarks/bench_training_recipes.py``; the user guide's
"Training recipes" reports it.
"""

# %%
# The data
# --------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from litterlearn.neural_network import MLPImageClassifier, find_learning_rate
from litterlearn.plotting import plot_learning_rate_finder, plot_mixed_batch

digits = load_digits()
X = np.round(digits.data * (255 / 16)).astype(np.uint8)  # 8x8 rows, 0..255
y = digits.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=597, stratify=y, random_state=0
)
print(f"{len(X_train)} training and {len(X_test)} test images of 8x8 pixels")

# %%
# Finding a learning rate
# -----------------------
# The finder trains a copy of the estimator for 100 batches while the rate
# grows exponentially, and records the training loss of each batch. The
# loss barely moves while the rate is too small, falls, then blows up. The
# suggestion is a tenth of the rate at the smoothed loss's minimum. The
# estimator itself is left untouched.
clf = MLPImageClassifier(hidden_layer_sizes=(64,), max_iter=20, random_state=0)
result = find_learning_rate(clf, X_train, y_train, start=1e-5, end=10, random_state=0)
print(f"suggested rate {result.suggestion:.2g} ({result.rule}); {result.stop_reason}")

fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
plot_learning_rate_finder(result, ax=ax)
ax.set_title("Learning-rate range test, MLP on 8x8 digits")

# %%
# The rate, and a schedule, in a fit
# ----------------------------------
# The same network trained for 20 epochs at Adam's usual rate (1e-3), at the
# suggested rate, and at the suggested rate as the peak of a one-cycle
# schedule (a warm-up from a 25th of it over the first 30% of the steps,
# then a cosine annealing to almost 0). One seed on small images: a
# demonstration of the parameters, not a measurement.
settings = {
    "constant 1e-3": {},
    "constant, suggested": {"learning_rate_init": result.suggestion},
    "one-cycle, suggested peak": {
        "learning_rate_init": result.suggestion,
        "learning_rate_schedule": "one_cycle",
    },
}
for name, params in settings.items():
    model = MLPImageClassifier(
        hidden_layer_sizes=(64,), max_iter=20, random_state=0, **params
    ).fit(X_train, y_train)
    print(f"{name:>26}: test accuracy {model.score(X_test, y_test):.3f}")

# %%
# What MixUp and CutMix do to a batch
# -----------------------------------
# With ``mixup=alpha`` each training batch is blended with a shuffled copy
# of itself, ``lam * x + (1 - lam) * x'``, with one ``lam`` drawn from
# ``Beta(alpha, alpha)`` per batch, and so are the one-hot targets: the
# mixed image's target is ``lam`` of its own class and ``1 - lam`` of its
# partner's, whatever the two classes are. A small alpha (0.2 here, the
# value of the MixUp paper on ImageNet) draws ``lam`` near 0 or 1: each
# mixed image is mostly one of its two images, its own (``lam`` near 1) or
# its partner (near 0), with a faint trace of the other, and its soft label
# says which. Two images of the same class mix to a label of that class
# alone.
fig = plot_mixed_batch(X_train, y_train, mixup=0.2, n_images=8, random_state=1)
fig.suptitle("MixUp (alpha=0.2): the batch, then the blended batch")

# %%
# With ``cutmix=alpha`` a box covering a ``1 - lam`` share of each image is
# pasted from its partner instead, and the target mixes by the box's
# actual area. Alpha 1 (the CutMix paper's) draws ``lam`` uniformly: boxes
# of every size.
fig = plot_mixed_batch(X_train, y_train, cutmix=1.0, n_images=8, random_state=1)
fig.suptitle("CutMix (alpha=1): the batch, then the batch with pasted boxes")

# %%
# Training with them is a parameter of any estimator: the mixing happens on
# the fly, batch by batch, during training only; prediction sees the images
# as they are.
model = MLPImageClassifier(
    hidden_layer_sizes=(64,), max_iter=20, mixup=0.2, random_state=0
).fit(X_train, y_train)
print(f"with mixup=0.2: test accuracy {model.score(X_test, y_test):.3f}")
plt.show()
