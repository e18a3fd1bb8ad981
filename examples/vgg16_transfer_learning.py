"""
============================================
Transfer learning and fine-tuning with VGG16
============================================

Can deep learning work on a small dataset? Yes, by borrowing: a VGG16 network
trained on ImageNet already knows edges, textures and shapes.
:class:`~litterlearn.neural_network.VGGTransferClassifier` first trains a new
classification head on top of the frozen VGG16 base (the base's features are
computed once per fit, not once per epoch), then fine-tunes the top
convolutional blocks at a lower learning rate. Grayscale input is expanded to
three channels and VGG's own preprocessing is applied inside the model, so the
same rows go in at fit and at predict.

.. note::

    This example is shown but **not executed** when the documentation is
    built: it needs the ImageNet weights (about 58 MB, downloaded by Keras on
    first use), and the machines that build these docs have no internet. Run it
    yourself on a machine with internet, or pass ``weights=`` the path of a
    local VGG16 ``.weights.h5`` file.
"""

# %%
import os

import matplotlib.pyplot as plt

from litterlearn.datasets import fetch_taco, load_taco_sample, train_val_test_split
from litterlearn.metrics import imbalance_report
from litterlearn.neural_network import VGGTransferClassifier
from litterlearn.plotting import plot_history
from litterlearn.preprocessing import CocoBinaryLabeler, ImageResizer

if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco":
    taco = fetch_taco()
else:
    taco = load_taco_sample()
y = CocoBinaryLabeler("Bottle").fit_transform(taco.annotations)
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    taco.filenames, y, stratify=y, random_state=0
)

# %%
# RGB rows at 64x64: VGG16 was trained on colour photos
# -----------------------------------------------------
resizer = ImageResizer(64)
Z_train = resizer.fit_transform(X_train)
Z_val, Z_test = resizer.transform(X_val), resizer.transform(X_test)

# %%
# Head on the frozen base, then fine-tune the top block
# -----------------------------------------------------
vgg = VGGTransferClassifier(
    weights="imagenet",
    input_size=64,
    class_weight="balanced",
    max_iter=30,
    fine_tune_blocks=1,
    fine_tune_max_iter=10,
    random_state=0,
)
vgg.fit(Z_train, y_train, X_val=Z_val, y_val=y_val)
fig = plot_history(vgg)
for ax in fig.axes:
    ax.axvline(vgg.fine_tune_start_ + 0.5, color="gray", ls="--")

# %%
# Test-set report
# ---------------
print(
    imbalance_report(
        y_test,
        vgg.predict(Z_test),
        vgg.predict_proba(Z_test)[:, 1],
        target_names=["other", "bottle"],
        output_dict=False,
    )
)
plt.show()
