"""
====================================================================
Fighting class imbalance: weights, copies, augmentation, a threshold
====================================================================

About a fifth of the photos hold a bottle, so a CNN trained as is learns to
say "no bottle" too often. We try the usual remedies on the same small CNN:
weighting the rare class in the loss (``class_weight="balanced"``), balancing
the training set with duplicates (imbalanced-learn's ``RandomOverSampler``) or
with augmented copies (:class:`~litterlearn.preprocessing.Augmenter` as a
sampler), augmenting every batch afresh in every epoch (the estimator's
``augmentation=`` parameter), and moving the decision threshold
(scikit-learn's ``TunedThresholdClassifierCV``). We judge them by what
accuracy hides: the bottle class's F1, balanced accuracy and the PR AUC, from
:func:`~litterlearn.metrics.imbalance_report`. A small sample and at most 20
epochs keep it fast; the numbers are noisy (one split, one seed), see
``benchmarks/bench_imbalance.py`` for means over seeds.

This runs offline on the synthetic TACO sample; set the environment variable
``LITTERLEARN_EXAMPLES_DATA=taco`` to run it on real TACO.
"""

# %%
# Data: bottle vs rest at 50x50 gray, with a larger test set
# -----------------------------------------------------------
# 600 images of the sample, as the course's 50x50 grayscale rows. With the
# usual 10% test split the bottle F1 would rest on about 12 photos; we keep
# 25% (about 30 bottles) for testing instead, and 15% for early stopping.
import os

import matplotlib.pyplot as plt
import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.model_selection import TunedThresholdClassifierCV

from litterlearn.datasets import fetch_taco, load_taco_sample, train_val_test_split
from litterlearn.metrics import imbalance_report
from litterlearn.neural_network import CNNImageClassifier
from litterlearn.preprocessing import Augmenter, CocoBinaryLabeler, ImageResizer

if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco":
    taco = fetch_taco()
else:
    taco = load_taco_sample(n_images=600)
y = CocoBinaryLabeler("Bottle").fit_transform(taco.annotations)
X = ImageResizer(50, color="gray").fit_transform(taco.filenames)  # uint8 rows
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    X, y, val_size=0.15, test_size=0.25, stratify=y, random_state=0
)
print(f"training: {np.bincount(y_train)}, test: {np.bincount(y_test)} (other, bottle)")


def cnn(**params):
    """The course's CNN, a few epochs, stopping early on the validation set."""
    return CNNImageClassifier(
        max_iter=20, early_stopping=True, n_iter_no_change=5, random_state=0, **params
    )


# %%
# Five ways to train, one way to decide
# -------------------------------------
# Samplers go in an imbalanced-learn pipeline: they resample at ``fit`` only,
# and the pipeline predicts on the test images untouched. The on-the-fly
# Augmenter transforms each training batch anew in every epoch (never the
# validation or test images); threshold tuning keeps the plain CNN and picks
# the probability cut-off that maximises F1 in 3-fold cross-validation.
val = {"X_val": X_val, "y_val": y_val}
models = {
    "no balancing": cnn().fit(X_train, y_train, **val),
    "class_weight": cnn(class_weight="balanced").fit(X_train, y_train, **val),
    "on-the-fly augmentation": cnn(augmentation=Augmenter()).fit(
        X_train, y_train, **val
    ),
}
for name, sampler in [
    ("RandomOverSampler", RandomOverSampler(random_state=0)),
    ("Augmenter (fit_resample)", Augmenter(random_state=0)),
]:
    models[name] = make_pipeline(sampler, cnn()).fit(
        X_train,
        y_train,
        cnnimageclassifier__X_val=X_val,
        cnnimageclassifier__y_val=y_val,
    )
# Without metadata routing, TunedThresholdClassifierCV passes no X_val to the
# CNNs it fits; they hold out 15% of their own training folds instead.
models["threshold tuning"] = TunedThresholdClassifierCV(
    cnn(validation_fraction=0.15), scoring="f1", cv=3, random_state=0
).fit(X_train, y_train)
print(f"tuned threshold: {models['threshold tuning'].best_threshold_:.2f}")

# %%
# What accuracy hides
# -------------------
# Accuracy is highest for the models that say "bottle" least, so it is no
# guide here: read the bottle F1, the balanced accuracy (0.5 for any constant
# answer) and the PR AUC (the positive rate, about 0.2, by chance).
rows = {}
for name, model in models.items():
    report = imbalance_report(
        y_test,
        model.predict(X_test),
        model.predict_proba(X_test)[:, 1],
        zero_division=0,
    )
    rows[name] = {
        "accuracy": report["accuracy"],
        "bottle F1": report["1"]["f1-score"],
        "balanced accuracy": report["balanced_accuracy"],
        "PR AUC": report["average_precision"],
    }
    print(f"{name:25s}", "  ".join(f"{k} {v:.2f}" for k, v in rows[name].items()))

# %%
# The same, as a picture
# ----------------------
metrics = ["bottle F1", "balanced accuracy", "PR AUC"]
fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
width = 0.8 / len(rows)
for i, (name, scores) in enumerate(rows.items()):
    ax.bar(
        np.arange(len(metrics)) + i * width,
        [scores[m] for m in metrics],
        width,
        label=name,
    )
ax.axhline(y_test.mean(), color="gray", linestyle=":", label="PR AUC of chance")
ax.set_xticks(np.arange(len(metrics)) + 0.4 - width / 2, metrics)
ax.set_ylim(0, 1)
ax.set_ylabel("score on the test set")
# Beside the bars, not over them.
ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
data_name = (
    "TACO"
    if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco"
    else "the TACO sample"
)
ax.set_title(f"Course CNN, bottle vs rest on {data_name} (50x50 gray, one split)")
plt.show()
