"""
================================
What the augmentations look like
================================

:class:`~litterlearn.preprocessing.Augmenter` makes new training images from
old ones: flips, rotations, shifts, zoom, brightness, contrast, blur, sharpen,
random erasing and same-class mixing. Each row below is one original followed
by augmented copies. As an imbalanced-learn sampler it can also balance the
classes by augmenting the minority class.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from litterlearn.datasets import fetch_taco, load_taco_sample
from litterlearn.plotting import plot_augmentations
from litterlearn.preprocessing import Augmenter, CocoBinaryLabeler, ImageResizer

if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco":
    taco = fetch_taco(n_images=200, random_state=0)
else:
    taco = load_taco_sample()
y = CocoBinaryLabeler("Bottle").fit_transform(taco.annotations)
X = ImageResizer(64).fit_transform(taco.filenames)

# %%
# The default: label-preserving geometry
# --------------------------------------
plot_augmentations(Augmenter(random_state=0), X[y == 1], n_images=3, n_copies=5)

# %%
# Everything on
# -------------
strong = Augmenter(
    vertical_flip=True,
    rotation=30,
    zoom=0.2,
    brightness=0.3,
    contrast=0.3,
    blur=0.5,
    erasing=0.5,
    random_state=0,
)
plot_augmentations(strong, X[y == 1], n_images=3, n_copies=5)

# %%
# Balancing by augmenting the minority class
# ------------------------------------------
X_res, y_res = Augmenter(random_state=0).fit_resample(X, y)
print("before:", np.bincount(y), " after:", np.bincount(y_res))
plt.show()
