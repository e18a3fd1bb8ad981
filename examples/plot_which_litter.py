"""
===============================
Which litter is in this photo?
===============================

The course asks one question per model: *does this photo hold a bottle?* A
TACO photo often holds several kinds of litter at once (two supercategories
per photo on average), so the natural question is *which* litter it holds:
multi-label classification. Here we look at TACO's real label statistics,
choose the labels worth learning, turn the COCO annotations into a 0/1
indicator with :class:`~litterlearn.preprocessing.CocoMultiLabeler`, split it
keeping every label's share, train **one** CNN with a sigmoid per label,
score it per label with :func:`~litterlearn.metrics.imbalance_report`, and
look at its worst photos and its heatmaps one label at a time.

This runs offline on the synthetic TACO sample, whose litter follows TACO's
annotation frequencies; set the environment variable
``LITTERLEARN_EXAMPLES_DATA=taco`` to run it on real TACO.
"""

# %%
# TACO's labels: a few frequent, many rare
# ----------------------------------------
# The share of TACO's 1500 photos holding each of its 28 supercategories,
# counted from TACO's annotations (the file :func:`~litterlearn.datasets.fetch_taco`
# downloads). Ten are in 7.6% to 35% of the photos; the other 18 in at most
# 7.5%, 16 in at most 5% and 12 in under 2% (29 photos or fewer). A test
# set of a few dozen photos holds none or one of each rare label: their
# scores would be noise. So, as ``litterlearn demo --task multilabel`` does,
# we learn the ten most frequent.
import os

import matplotlib.pyplot as plt
import numpy as np

from litterlearn.datasets import fetch_taco, load_taco_sample, train_val_test_split
from litterlearn.inspection import grad_cam
from litterlearn.metrics import imbalance_report
from litterlearn.neural_network import CNNImageClassifier
from litterlearn.plotting import plot_grad_cam, plot_top_losses
from litterlearn.preprocessing import CocoMultiLabeler, ImageResizer

#: Photos (of 1500) holding each supercategory, in TACO's annotations.
TACO_PHOTOS = {
    "Plastic bag & wrapper": 522,
    "Bottle": 322,
    "Unlabeled litter": 269,
    "Bottle cap": 235,
    "Cigarette": 227,
    "Carton": 188,
    "Can": 179,
    "Other plastic": 171,
    "Cup": 162,
    "Straw": 114,
    "Paper": 113,
    "Styrofoam piece": 78,
    "Lid": 74,
    "Pop tab": 71,
    "Plastic container": 66,
    "Aluminium foil": 43,
    "Plastic utensils": 29,
    "Rope & strings": 28,
    "Paper bag": 23,
    "Broken glass": 15,
    "Scrap metal": 12,
    "Food waste": 7,
    "Blister pack": 7,
    "Squeezable tube": 6,
    "Shoe": 6,
    "Glass jar": 4,
    "Plastic glooves": 4,
    "Battery": 2,
}
LABELS = list(TACO_PHOTOS)[:10]

fig, ax = plt.subplots(figsize=(7, 6.5), layout="constrained")
share = np.array(list(TACO_PHOTOS.values())) / 1500
colors = ["tab:blue" if name in LABELS else "tab:gray" for name in TACO_PHOTOS]
ax.barh(list(TACO_PHOTOS)[::-1], share[::-1], color=colors[::-1])
ax.set_xlabel("share of TACO's 1500 photos holding it")
ax.set_title("TACO's 28 supercategories: the ten we learn in blue")
ax.tick_params(axis="y", labelsize="small")
plt.show()

# %%
# From annotations to a 0/1 indicator
# -----------------------------------
# Row ``i``, column ``j`` of ``Y`` is 1 when photo ``i`` holds ``LABELS[j]``.
# :func:`~litterlearn.datasets.train_val_test_split` stratifies over every
# column at once (iterative stratification), so each split keeps each
# label's share: plain stratification cannot, with 2^10 label sets.
if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco":
    taco = fetch_taco()
else:
    taco = load_taco_sample(n_images=400)
Y = CocoMultiLabeler(classes=LABELS).fit(taco.annotations).transform(taco.filenames)
X = ImageResizer(50, color="gray").fit_transform(taco.filenames)
X_train, X_val, X_test, Y_train, Y_val, Y_test = train_val_test_split(
    X, Y, val_size=0.15, test_size=0.25, stratify=Y, random_state=0
)
for name, all_, test in zip(LABELS, Y.mean(0), Y_test.mean(0), strict=True):
    print(f"{name:<22} all {all_:4.0%}  test {test:4.0%}")
print(f"labels per photo: {Y.sum(1).mean():.2f}")

# %%
# One CNN, a sigmoid per label
# ----------------------------
# Given a 2-D indicator ``y``, the estimator ends its network with one
# sigmoid per label (not a softmax over them: the labels are not exclusive),
# learns them with binary cross-entropy, and ``predict`` returns an
# indicator (probability at least ``threshold``, 0.5 by default, one
# threshold or one per label). ``class_weight="balanced"`` balances each
# label's yes and no, as a per-label ``class_weight`` would for ten binary
# models. The course's CNN, 25 epochs.
clf = CNNImageClassifier(class_weight="balanced", max_iter=25, random_state=0)
clf.fit(X_train, Y_train, X_val=X_val, y_val=Y_val)
proba, pred = clf.predict_proba(X_test), clf.predict(X_test)
print(proba.shape, pred.shape, clf.classes_)

# %%
# Scores per label
# ----------------
# Each label is its own imbalanced yes/no problem: precision, recall, F1,
# specificity and PR AUC per label, then their micro average (all labels
# pooled), macro average (every label counts the same) and samples average
# (per photo). PR AUC is the number to read against each label's share of
# the test photos, the PR AUC of a random ranking. The subset accuracy (all
# ten right) is harsh on purpose.
print(
    imbalance_report(
        Y_test, pred, proba, target_names=LABELS, zero_division=0, output_dict=False
    )
)

# %%
# The worst photos, one label at a time
# -------------------------------------
# For a multi-label model :func:`~litterlearn.plotting.plot_top_losses` ranks
# the photos by one label's binary cross-entropy: here the bottles the model
# is surest are not there, or are, wrongly. The heatmap over each photo is
# Grad-CAM for that label (``grad_cam=True``): where the network sees a
# bottle.
plot_top_losses(
    clf,
    X_test,
    Y_test,
    n=8,
    label=LABELS.index("Bottle"),
    target_names=LABELS,
    grad_cam=True,
    n_cols=4,
)
plt.show()

# %%
# Two labels, two heatmaps
# ------------------------
# :func:`~litterlearn.inspection.grad_cam` takes the score of one label
# before its sigmoid (``target`` is the label's column): on a photo holding
# several kinds of litter, each label gets its own map.
pair = [LABELS.index("Bottle"), LABELS.index("Cigarette")]
both = np.flatnonzero(Y_test[:, pair].all(axis=1))[:3]
if len(both) == 0:  # a small test set may hold no such photo
    both = np.argsort(-proba[:, pair].min(axis=1))[:3]
images = np.repeat(X_test[both], 2, axis=0)
heatmaps = np.stack(
    [grad_cam(clf, X_test[[i]], target=label)[0] for i in both for label in pair]
)
titles = [f"{LABELS[label]} {proba[i, label]:.2f}" for i in both for label in pair]
plot_grad_cam(images, heatmaps, titles=titles, n_cols=2)
plt.show()

# %%
# What to take from it
# --------------------
# One network answers the ten questions at once, for the cost of one fit:
# the course's way, ten binary CNNs, costs ten. It is not free: on real
# images of clothes (``benchmarks/bench_multilabel.py``, the user guide's
# "Multi-label classification"), one multi-label CNN took about a ninth of
# the ten binary CNNs' fit time but scored 6 to 13 points of macro F1 below
# them. On the synthetic sample the scores say little about real photos:
# run it with ``LITTERLEARN_EXAMPLES_DATA=taco``.
