"""
================================
Shipping the course CNN as ONNX
================================

A fitted pipeline lives in Python: to run it on a phone or in a service we
export it. :func:`~litterlearn.export.export` turns the whole pipeline after
:class:`~litterlearn.preprocessing.ImageResizer` (gray conversion,
standardization, the CNN and its softmax) into **one** ONNX graph that takes
uint8 images and returns probabilities, plus a JSON file with the classes,
the image size and how the images were resized. Here we train the course CNN
on bottle-vs-rest (the offline TACO sample), export it, run it with
onnxruntime alone and check that it predicts what the pipeline predicts. See
:ref:`deploying` for the other formats (Keras, SavedModel, LiteRT).
"""

# %%
# Train the course CNN
# --------------------
# The pipeline of the course: decode and resize the photos to 32x32 gray,
# standardize, and a class-weighted CNN (few epochs, to keep this quick).
import json
import tempfile
from pathlib import Path

import numpy as np
from sklearn.pipeline import make_pipeline

from litterlearn.datasets import load_taco_sample, train_val_test_split
from litterlearn.export import export, load_exported
from litterlearn.neural_network import CNNImageClassifier
from litterlearn.plotting import plot_images
from litterlearn.preprocessing import (
    CocoBinaryLabeler,
    GrayscaleNormalizer,
    ImageResizer,
)

sample = load_taco_sample(n_images=200)
y = CocoBinaryLabeler("Bottle").fit_transform(sample.annotations)
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    sample.filenames, y, stratify=y, random_state=0
)
pipe = make_pipeline(
    ImageResizer(32, color="gray"),
    GrayscaleNormalizer(standardize=True),
    CNNImageClassifier(class_weight="balanced", max_iter=8, random_state=0),
)
pipe.fit(X_train, y_train)

# %%
# Export it
# ---------
# The suffix chooses the format. Beside ``bottle.onnx`` the export writes
# ``bottle.onnx.json``: what a consumer needs to feed the graph and read its
# output.
folder = Path(tempfile.mkdtemp())
metadata = export(pipe, folder / "bottle.onnx")
print(json.dumps({k: metadata[k] for k in ("input", "resize", "classes")}))

# %%
# Run it with onnxruntime
# -----------------------
# The graph's input is what ``ImageResizer`` makes: uint8 images of 32x32x1.
# On the target, decode and resize the photos the same way; here the
# pipeline's own resizer does it. onnxruntime needs neither TensorFlow nor
# scikit-learn.
import onnxruntime

resizer = pipe[0]
images = resizer.transform(X_test).reshape(len(X_test), *resizer.image_shape_)
session = onnxruntime.InferenceSession(
    folder / "bottle.onnx", providers=["CPUExecutionProvider"]
)
input_name = session.get_inputs()[0].name
proba = session.run(None, {input_name: images})[0]
print(f"ONNX input {input_name!r}: {session.get_inputs()[0].type}")

# %%
# The same predictions as the pipeline
# ------------------------------------
# The largest difference from the pipeline's own ``predict_proba`` is a few
# float32 roundings.
difference = np.abs(proba - pipe.predict_proba(X_test)).max()
print(f"largest difference from predict_proba: {difference:.1e}")
predicted = np.asarray(metadata["classes"])[proba.argmax(axis=1)]
print("same labels as pipe.predict:", bool((predicted == pipe.predict(X_test)).all()))

# %%
# :func:`~litterlearn.export.load_exported` does the same from Python in one
# call, decoding files as the pipeline did; ``litterlearn predict bottle.onnx
# photos/`` does it from the shell.
model = load_exported(folder / "bottle.onnx")
print(model)
plot_images(
    images,
    labels=y_test,
    predictions=model.predict_proba_files(X_test).argmax(axis=1),
    target_names=["other", "bottle"],
    max_images=16,
    title="The exported CNN on test photos (onnxruntime)",
)
