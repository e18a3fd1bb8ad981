"""
============================================
Transfer learning and fine-tuning with VGG16
============================================

Can deep learning work on a small dataset? Not from scratch: a network
learns its features from many examples. Transfer learning borrows them from
a network trained on ImageNet's 1.2 million photos. This example puts the
course's answer side by side:

1. :class:`~litterlearn.preprocessing.PretrainedFeatures` before a
   :class:`~sklearn.linear_model.LogisticRegression`: VGG16's features, frozen,
   for any scikit-learn model (the small-data baseline);
2. :class:`~litterlearn.neural_network.VGGTransferClassifier`: a new dense
   head trained on the frozen VGG16 (phase 1), then the top convolutional
   block fine-tuned with it at a small learning rate (phase 2).

.. note::

   This example needs VGG16's ImageNet weights (58 MB), which Keras downloads
   into its cache (``~/.keras/models``) on first use. The documentation's CI
   has no internet: it **renders this page without running it** unless the
   file ``vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`` is already in
   Keras' cache (see :ref:`transfer_offline`). Run it yourself with
   ``python examples/plot_transfer_learning_vgg16.py``.

The images are TACO photos (``LITTERLEARN_EXAMPLES_DATA=taco``) or, offline,
the synthetic TACO sample, at 64x64 pixels, resized to VGG16's 224x224 inside
the model (``input_size=None``).
"""

# %%
import os

import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from litterlearn.datasets import fetch_taco, load_taco_sample, train_val_test_split
from litterlearn.metrics import imbalance_report
from litterlearn.neural_network import VGGTransferClassifier
from litterlearn.plotting import plot_history
from litterlearn.preprocessing import (
    CocoBinaryLabeler,
    ImageResizer,
    PretrainedFeatures,
)

if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco":
    taco = fetch_taco()
else:
    taco = load_taco_sample()
y = CocoBinaryLabeler("Bottle").fit_transform(taco.annotations)
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    taco.filenames, y, stratify=y, random_state=0
)
resize = ImageResizer(64)  # uint8 RGB rows; VGG16's preprocessing is in the model
Z_train = resize.fit_transform(X_train)
Z_val, Z_test = resize.transform(X_val), resize.transform(X_test)

# %%
# Frozen features for a linear model
# ----------------------------------
# ``PretrainedFeatures`` learns nothing: each image becomes the 512 averaged
# channels of VGG16's last convolutional block.
baseline = make_pipeline(
    PretrainedFeatures("vgg16"),
    LogisticRegression(class_weight="balanced", max_iter=1000),
)
baseline.fit(Z_train, y_train)
print(imbalance_report(y_test, baseline.predict(Z_test), output_dict=False))

# %%
# A new head, then fine-tuning the top block
# ------------------------------------------
# Phase 1 trains ``Dense(256) -> Dropout -> Dense(2)`` on the frozen VGG16:
# the features are computed once, so its 20 epochs cost little more than one
# pass of the backbone. Phase 2 unfreezes block5 (``fine_tune_blocks=1``) and
# trains it with the head for 10 epochs at ``fine_tune_learning_rate=1e-5``.
clf = VGGTransferClassifier(class_weight="balanced", random_state=0)
clf.fit(Z_train, y_train, X_val=Z_val, y_val=y_val)
print(imbalance_report(y_test, clf.predict(Z_test), output_dict=False))

# %%
# Where fine-tuning begins
# ------------------------
# ``history_`` covers both phases; ``fine_tune_start_`` marks the first epoch
# of phase 2.
fig = plot_history(clf)
for ax in fig.axes:  # epochs count from 1, fine_tune_start_ from 0
    ax.axvline(clf.fine_tune_start_ + 0.5, color="gray", linestyle="--")
fig.suptitle("VGG16: head (phase 1), then fine-tuning block5 (phase 2)")
fig.tight_layout()
plt.show()
