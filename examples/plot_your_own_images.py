"""
===========================
Training on your own images
===========================

Your own photos need no special format: one folder per class, as for
:func:`sklearn.datasets.load_files` or Keras' :func:`keras.utils.image_dataset_from_directory`.
:func:`~litterlearn.datasets.load_image_folder` turns such a folder into file
names and labels, which feed :class:`~litterlearn.preprocessing.ImageResizer`
directly, so the whole course pipeline works unchanged.

To keep this example self-contained (and offline) we first *write* such a
folder from real images that ship with scikit-learn: the handwritten digits of
:func:`sklearn.datasets.load_digits`, three classes of them, saved as PNG
files. Replace ``folder`` by the path of your own images.
"""

# %%
# A folder of images, one subfolder per class
# -------------------------------------------
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline

from litterlearn.datasets import load_image_folder, train_val_test_split
from litterlearn.metrics import imbalance_report
from litterlearn.neural_network import CNNImageClassifier
from litterlearn.plotting import plot_images
from litterlearn.preprocessing import GrayscaleNormalizer, ImageResizer

folder = Path(tempfile.mkdtemp()) / "digits"
digits = load_digits()
names = {0: "zero", 1: "one", 7: "seven"}
for i, (image, label) in enumerate(zip(digits.images, digits.target, strict=True)):
    if label in names:
        path = folder / names[label] / f"digit_{i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        # 0..16 gray levels as 0..255, ink dark on white, 8x8 pixels.
        pixels = (255 - image * 255 / 16).astype(np.uint8)
        Image.fromarray(pixels).save(path)
# What real folders also hold: hidden files and notes. They are skipped.
(folder / "seven" / ".DS_Store").write_bytes(b"\0")
(folder / "README.txt").write_text("digits from scikit-learn")

# %%
# Load it
# -------
# Classes come from the subfolder names, in sorted order; ``target`` indexes
# ``target_names``. ``DESCR`` says what was found and skipped.
data = load_image_folder(folder)
print(data.DESCR)
print("classes:", data.target_names)
print(
    "first files:", [Path(f).relative_to(folder).as_posix() for f in data.filenames[:2]]
)

# %%
# Split and train
# ---------------
# The file names go straight into the pipeline: ``ImageResizer`` decodes and
# resizes them (16x16 is the smallest size the course CNN takes).
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    data.filenames, data.target, stratify=data.target, random_state=0
)
model = make_pipeline(
    ImageResizer(16),
    GrayscaleNormalizer(),
    CNNImageClassifier(max_iter=15, random_state=0),
)
model.fit(X_train, y_train)
print(
    imbalance_report(
        y_test,
        model.predict(X_test),
        target_names=data.target_names,
        output_dict=False,
    )
)

# %%
# Look at the predictions
# -----------------------
# Class names instead of numbers; mistakes are in red.
rows = model[:-1].transform(X_test[:16])
fig = plot_images(
    rows,
    labels=y_test[:16],
    predictions=model.predict(X_test[:16]),
    target_names=data.target_names,
    title="Course CNN on three digit classes (test set)",
)

# %%
# Your own folder
# ---------------
# The same lines with your path::
#
#     data = load_image_folder("~/photos/litter")   # litter/bottle, litter/other
#     data = load_image_folder("~/photos/litter", classes=["other", "bottle"])
#
# ``classes`` picks (and orders) the subfolders; ``extensions`` the file types
# taken as images; ``return_X_y=True`` gives ``(filenames, target)``. Files in
# nested folders of a class belong to it. A file that is not a readable image
# is reported by ``ImageResizer``, with its name, when the pipeline reads it.
