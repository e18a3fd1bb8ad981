"""
===========================================
From COCO annotations to a labelled dataset
===========================================

TACO's annotations are in COCO format: a list of images, a list of categories
(each in a supercategory) and a list of annotations, each pointing at one image
and one category. "Does this photo contain a bottle?" is a one-vs-all label:
1 where an image has at least one annotation in the *Bottle* supercategory.
We build it with :class:`~litterlearn.preprocessing.CocoBinaryLabeler`, make
the course's stratified 80/10/10 split and look at the class balance.

This runs offline on the synthetic TACO sample; set the environment variable
``LITTERLEARN_EXAMPLES_DATA=taco`` to run it on real TACO.
"""

# %%
# Load the data
# -------------
import os

import matplotlib.pyplot as plt
import numpy as np

from litterlearn.datasets import fetch_taco, load_taco_sample, train_val_test_split
from litterlearn.plotting import plot_images
from litterlearn.preprocessing import CocoBinaryLabeler, ImageResizer

if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco":
    taco = fetch_taco()
else:
    taco = load_taco_sample()
coco = taco.annotations
print(
    f"{len(coco['images'])} images, {len(coco['annotations'])} annotations, "
    f"{len(coco['categories'])} categories"
)
print("first file:", taco.filenames[0])

# %%
# Supercategories
# ---------------
# How many images contain each supercategory (an image may contain several).
counts = {}
for cats in taco.supercategories:
    for name in cats:
        counts[name] = counts.get(name, 0) + 1
top = sorted(counts.items(), key=lambda kv: -kv[1])[:12]
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.barh([name for name, _ in top][::-1], [n for _, n in top][::-1])
ax.set_xlabel("images containing it")
fig.tight_layout()

# %%
# One-vs-all labels
# -----------------
labeler = CocoBinaryLabeler("Bottle")
y = labeler.fit_transform(coco)
print(f"bottle in {y.sum()} of {len(y)} images ({y.mean():.1%})")

# %%
# Unknown names fail with the valid ones and close matches:
try:
    CocoBinaryLabeler("Botle").fit(coco)
except ValueError as exc:
    print(str(exc)[:160], "...")

# %%
# The 80/10/10 split, stratified so each part keeps the class balance
# -------------------------------------------------------------------
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    taco.filenames, y, stratify=y, random_state=0
)
for name, part in [("train", y_train), ("validation", y_val), ("test", y_test)]:
    print(f"{name:>10}: {len(part):4d} images, {np.mean(part):.1%} bottle")

# %%
# A few training images at 50x50, with their labels
# -------------------------------------------------
rows = ImageResizer(50).fit_transform(X_train[:16])
plot_images(rows, labels=np.where(y_train[:16] == 1, "bottle", "other"), n_cols=8)
plt.show()
