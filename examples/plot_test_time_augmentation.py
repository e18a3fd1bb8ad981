"""
==========================================
Test-time augmentation: averaging views
==========================================

A CNN's answer for a photo should not change when the photo is shifted by a
pixel or mirrored. Test-time augmentation (TTA) asks the trained network
about several slightly transformed views of each test image and averages the
probabilities. :class:`~litterlearn.ensemble.TestTimeAugmentationClassifier`
wraps any classifier that takes image rows; the views come from an
:class:`~litterlearn.preprocessing.Augmenter`, seeded. We train the course's
CNN with on-the-fly augmentation (so that it has seen such views), then
compare, on the same fitted network, predictions from the image alone and
from the image plus 2 to 16 views.

This runs offline on the synthetic TACO sample; set the environment variable
``LITTERLEARN_EXAMPLES_DATA=taco`` to run it on real TACO.
"""

# %%
# Data and the CNN, wrapped
# -------------------------
# Bottle against the rest at 50x50 gray. The wrapper fits the CNN it wraps
# (fit parameters such as the validation set reach it); ``n_views=0`` makes
# it the plain CNN.
import os

import matplotlib.pyplot as plt
from sklearn.metrics import average_precision_score, balanced_accuracy_score

from litterlearn.datasets import fetch_taco, load_taco_sample, train_val_test_split
from litterlearn.ensemble import TestTimeAugmentationClassifier
from litterlearn.neural_network import CNNImageClassifier
from litterlearn.plotting import plot_augmentations
from litterlearn.preprocessing import Augmenter, CocoBinaryLabeler, ImageResizer

if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco":
    taco = fetch_taco()
else:
    taco = load_taco_sample(n_images=500)
y = CocoBinaryLabeler("Bottle").fit_transform(taco.annotations)
X = ImageResizer(50, color="gray").fit_transform(taco.filenames)
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    X, y, val_size=0.15, test_size=0.25, stratify=y, random_state=0
)

# Litter stays litter in a mirror, so the views may flip: small shifts and
# zooms, and horizontal flips. (The default views have no flip, because a
# mirrored digit or letter may change class.)
views = Augmenter(horizontal_flip=True, rotation=0.0, shift=0.05, zoom=0.05)
cnn = CNNImageClassifier(
    class_weight="balanced",
    augmentation=Augmenter(),  # flips, rotations up to 10 degrees, 10% shifts
    max_iter=20,
    random_state=0,
)
tta = TestTimeAugmentationClassifier(cnn, augmenter=views, n_views=8, random_state=0)
tta.fit(X_train, y_train, X_val=X_val, y_val=y_val)

# %%
# What the network is asked about
# -------------------------------
# The first column is a test image, the others views of the kind the
# wrapper makes (shifts and zooms up to 5%, flips).
fig = plot_augmentations(views, X_test, n_images=3, n_copies=5, random_state=0)
fig.suptitle("Test images and their views")
plt.show()

# %%
# More views, same network
# ------------------------
# The PR AUC judges the ranking of the bottle probabilities (chance is the
# share of bottles), the balanced accuracy the decisions at 0.5. One split
# and one seed: differences of a few hundredths are noise here;
# ``benchmarks/bench_tta.py`` measures the gain over seeds.
n_views_list = [0, 2, 4, 8, 16]
pr_auc, bal_acc = [], []
for n_views in n_views_list:
    tta.set_params(n_views=n_views)
    proba = tta.predict_proba(X_test)[:, 1]
    pr_auc.append(average_precision_score(y_test, proba))
    bal_acc.append(balanced_accuracy_score(y_test, tta.classes_[(proba > 0.5) * 1]))
    print(
        f"n_views={n_views:2d}: PR AUC {pr_auc[-1]:.3f}, balanced accuracy {bal_acc[-1]:.3f}"
    )

fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
ax.plot(n_views_list, pr_auc, marker="o", label="PR AUC")
ax.plot(n_views_list, bal_acc, marker="s", label="balanced accuracy")
ax.axhline(y_test.mean(), color="0.6", linestyle=":", label="PR AUC by chance")
ax.set_xlabel("augmented views averaged with the image (n_views)")
ax.set_ylabel("test score")
ax.set_title("Course CNN + TTA, bottle vs rest")
ax.legend()
plt.show()

# %%
# When does it pay?
# -----------------
# Each view costs one more prediction, so TTA multiplies the prediction time
# by ``n_views + 1``. It helps most where the network was trained with
# similar augmentation and is unsure between close classes; views must keep
# the label (no flips for digits or text). In our benchmark
# (``benchmarks/README.md``, "bench_tta") it did not help on scikit-learn's
# handwritten digits, where the CNN is already 98-99% right and sub-pixel
# shifts of 8x8 images only blur them: measure it on your data before you pay
# for it. The wrapper works in a ``Pipeline`` and under ``GridSearchCV``,
# where ``n_views`` and ``estimator__`` parameters can be searched.
