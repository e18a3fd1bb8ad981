"""
===========================
What does the CNN look at?
===========================

Deep networks are called black boxes: the course names it as their drawback.
Grad-CAM opens the box a little. For one image and one class, it weighs each
feature map of the last convolution by how much the class's score (before
the softmax) rises with it, and adds them up: a heatmap of the regions that
speak for that class. Here we train the course's CNN to find bottles, look at
its heatmaps for the bottles it found, the bottles it missed and its false
alarms, measure how much of the heat falls on the bottles, and show the test
images it gets most wrong with :func:`~litterlearn.plotting.plot_top_losses`.

This runs offline on the synthetic TACO sample; set the environment variable
``LITTERLEARN_EXAMPLES_DATA=taco`` to run it on real TACO.
"""

# %%
# Data and the course's CNN
# -------------------------
# Bottle against the rest at 50x50 gray, as in the course. We stretch the
# photos to 50x50 (``fit_mode="stretch"``) instead of padding them, so that
# each bottle's annotated box maps onto the small image by a plain scaling:
# we use the boxes below to check where the heat falls.
import os

import matplotlib.pyplot as plt
import numpy as np

from litterlearn.datasets import fetch_taco, load_taco_sample, train_val_test_split
from litterlearn.inspection import grad_cam
from litterlearn.metrics import imbalance_report
from litterlearn.neural_network import CNNImageClassifier
from litterlearn.plotting import plot_grad_cam, plot_top_losses
from litterlearn.preprocessing import CocoBinaryLabeler, ImageResizer

if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco":
    taco = fetch_taco()
else:
    taco = load_taco_sample(n_images=500)
SIZE = 50
y = CocoBinaryLabeler("Bottle").fit_transform(taco.annotations)
X = ImageResizer(SIZE, fit_mode="stretch", color="gray").fit_transform(taco.filenames)
index = np.arange(len(y))
X_train, X_val, X_test, y_train, y_val, y_test, _, _, idx_test = train_val_test_split(
    X, y, index, val_size=0.15, test_size=0.25, stratify=y, random_state=0
)
clf = CNNImageClassifier(class_weight="balanced", max_iter=20, random_state=0)
clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
names = ["other", "bottle"]
print(
    imbalance_report(y_test, clf.predict(X_test), target_names=names, output_dict=False)
)

# %%
# Heatmaps: bottles found, bottles missed, false alarms
# -----------------------------------------------------
# :func:`~litterlearn.inspection.grad_cam` explains the predicted class by
# default; here we ask every map about the class "bottle" (``target=1``):
# where does the network see a bottle? Red is where the bottle score rises
# most. The last convolution of the course CNN sees the image as a 9x9 grid,
# so the maps are coarse.
pred = clf.predict(X_test)
groups = {
    "bottle found": np.flatnonzero((y_test == 1) & (pred == 1))[:6],
    "bottle missed": np.flatnonzero((y_test == 1) & (pred == 0))[:6],
    "false alarm": np.flatnonzero((y_test == 0) & (pred == 1))[:6],
}
chosen = np.concatenate(list(groups.values()))
heatmaps = grad_cam(clf, X_test[chosen], target=1)
titles = [name for name, idx in groups.items() for _ in idx]
fig = plt.figure(figsize=(10, 6.6), layout="constrained")
plot_grad_cam(X_test[chosen], heatmaps, titles=titles, n_cols=6, fig=fig)
fig.suptitle("Where the CNN sees a bottle (Grad-CAM for the class bottle)")
plt.show()

# %%
# How much of the heat falls on the bottles?
# ------------------------------------------
# For every test photo with a bottle, the share of the heatmap's mass inside
# the bottles' annotated boxes, against the share of the image the boxes
# cover (what a heatmap spread evenly would get).
bottle_ids = {
    c["id"] for c in taco.annotations["categories"] if c["supercategory"] == "Bottle"
}
sizes = {img["id"]: (img["width"], img["height"]) for img in taco.annotations["images"]}
boxes = {}
for ann in taco.annotations["annotations"]:
    if ann["category_id"] in bottle_ids:
        boxes.setdefault(ann["image_id"], []).append(ann["bbox"])


def box_mask(image_id):
    """The union of the image's bottle boxes, on the 50x50 grid."""
    width, height = sizes[image_id]
    mask = np.zeros((SIZE, SIZE), dtype=bool)
    for x, y0, w, h in boxes.get(image_id, []):
        c0, c1 = int(x * SIZE / width), int(np.ceil((x + w) * SIZE / width))
        r0, r1 = int(y0 * SIZE / height), int(np.ceil((y0 + h) * SIZE / height))
        mask[r0:r1, c0:c1] = True
    return mask


with_bottle = np.flatnonzero(y_test == 1)
ids = taco.image_ids[idx_test[with_bottle]]
masks = np.array([box_mask(i) for i in ids])
maps = grad_cam(clf, X_test[with_bottle], target=1)
mass = (maps * masks).sum(axis=(1, 2)) / maps.sum(axis=(1, 2)).clip(1e-12)
area = masks.mean(axis=(1, 2))
print(
    f"{len(ids)} test photos with a bottle: on average {mass.mean():.0%} of the "
    f"heatmap lies on the bottles' boxes, which cover {area.mean():.0%} of the "
    f"image ({np.mean(mass > area):.0%} of the maps beat an even spread)."
)

# %%
# The images the CNN gets most wrong
# ----------------------------------
# :func:`~litterlearn.plotting.plot_top_losses` sorts the test images by
# their loss, ``-log p(true class)``: the confident mistakes first. Each title
# gives the predicted class and its probability, the true class and its
# probability, and the loss; ``grad_cam=True`` overlays where the network
# found the evidence for its (wrong) answer.
fig = plt.figure(figsize=(8, 5.6), layout="constrained")
plot_top_losses(
    clf, X_test, y_test, n=8, n_cols=4, target_names=names, grad_cam=True, fig=fig
)
fig.suptitle("Top losses, with the evidence for the predicted class")
plt.show()

# %%
# Reading the maps
# ----------------
# Grad-CAM shows where the evidence is, not what it is: heat on a bottle's
# bright highlight and on a bright can look the same. The maps here come
# from a small network trained on a few hundred synthetic images at 50x50
# and are as coarse as its 9x9 last feature map; a larger network (transfer
# learning) gives finer, more telling maps. The same call works for any
# classifier of litterlearn with a convolution, or a Pipeline ending in one.
