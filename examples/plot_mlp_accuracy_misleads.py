"""
==================================
The MLP, and why accuracy misleads
==================================

The course's first model: a multilayer perceptron (Flatten -> Dense(128,
relu) -> Dropout(0.5) -> Dense(2, softmax)) on 50x50 grayscale images, in a
scikit-learn pipeline after :class:`~litterlearn.preprocessing.ImageResizer`
and :class:`~litterlearn.preprocessing.GrayscaleNormalizer`. We look at its
training curves, its confusion matrix and its classification report, and see
why accuracy is the wrong yardstick when only about a fifth of the images
contain a bottle: a model that never says "bottle" already scores about 80%.

This runs offline on the synthetic TACO sample; set the environment variable
``LITTERLEARN_EXAMPLES_DATA=taco`` to run it on real TACO.
"""

# %%
# Data: bottle vs rest, split 80/10/10
# ------------------------------------
import os

import matplotlib.pyplot as plt
from sklearn.dummy import DummyClassifier
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score
from sklearn.pipeline import make_pipeline

from litterlearn.datasets import fetch_taco, load_taco_sample, train_val_test_split
from litterlearn.metrics import imbalance_report
from litterlearn.neural_network import MLPImageClassifier
from litterlearn.plotting import plot_history
from litterlearn.preprocessing import (
    CocoBinaryLabeler,
    GrayscaleNormalizer,
    ImageResizer,
)

if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco":
    taco = fetch_taco()
else:
    taco = load_taco_sample()
data_name = (
    "TACO"
    if os.environ.get("LITTERLEARN_EXAMPLES_DATA") == "taco"
    else "the TACO sample"
)
y = CocoBinaryLabeler("Bottle").fit_transform(taco.annotations)
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    taco.filenames, y, stratify=y, random_state=0
)

# %%
# Images to rows: 50x50 gray in [0, 1]
# ------------------------------------
prep = make_pipeline(ImageResizer(50), GrayscaleNormalizer())
Z_train = prep.fit_transform(X_train)
Z_val, Z_test = prep.transform(X_val), prep.transform(X_test)
print(Z_train.shape, Z_train.dtype, Z_train.min(), Z_train.max())

# %%
# Train the MLP for 30 epochs, watching the validation set
# --------------------------------------------------------
mlp = MLPImageClassifier(max_iter=30, random_state=0)
mlp.fit(Z_train, y_train, X_val=Z_val, y_val=y_val)
plot_history(mlp, title=f"MLP, bottle vs rest on {data_name} (50x50 gray)")

# %%
# Accuracy looks fine...
# ----------------------
dummy = DummyClassifier(strategy="most_frequent").fit(Z_train, y_train)
print(f"MLP accuracy:               {accuracy_score(y_test, mlp.predict(Z_test)):.2f}")
print(
    f"'never a bottle' accuracy:  {accuracy_score(y_test, dummy.predict(Z_test)):.2f}"
)

# %%
# ...but the confusion matrix and the per-class report tell the truth
# -------------------------------------------------------------------
# Recall on the bottle class is what we care about; precision, recall, F1 and
# specificity per class, balanced accuracy and the PR AUC do not hide it.
disp = ConfusionMatrixDisplay.from_predictions(
    y_test, mlp.predict(Z_test), display_labels=["other", "bottle"], colorbar=False
)
disp.ax_.set_title(f"MLP, test set of {data_name}")
print(
    imbalance_report(
        y_test,
        mlp.predict(Z_test),
        mlp.predict_proba(Z_test)[:, 1],
        target_names=["other", "bottle"],
        output_dict=False,
        zero_division=0,
    )
)
plt.show()
