"""
==============================================
Calibrated probabilities: temperature scaling
==============================================

A network trained long on few images is right most of the time, and says so
with too much confidence. Here an MLP learns scikit-learn's 8x8 digits from
300 images; of the test digits it gives a probability near 1, fewer are right
than it claims. Temperature scaling
(:class:`~sklearn.calibration.CalibratedClassifierCV` with
``method="temperature"`` around the fitted network, frozen) divides its
logits by one number learnt on 500 other images. The predicted digits stay
the same; the probabilities become honest, as the reliability diagram and
:func:`~litterlearn.metrics.expected_calibration_error` show. The user
guide's "Beyond fit" page goes on to prediction sets, label issues, active
learning, tracking and searches.
"""

# %%
# Three sets: train, calibrate, judge
# -----------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from litterlearn.metrics import expected_calibration_error, imbalance_report
from litterlearn.neural_network import MLPImageClassifier

digits = load_digits()
X = (digits.data / 16).astype(np.float32)  # 8x8 images as rows, in [0, 1]
X_train, X_rest, y_train, y_rest = train_test_split(
    X, digits.target, train_size=300, stratify=digits.target, random_state=0
)
X_cal, X_test, y_cal, y_test = train_test_split(
    X_rest, y_rest, train_size=500, stratify=y_rest, random_state=0
)

# %%
# An over-confident network, then one temperature
# -----------------------------------------------
clf = MLPImageClassifier(
    hidden_layer_sizes=(64,),
    dropout=0.0,
    learning_rate_init=0.01,
    max_iter=150,
    random_state=0,
).fit(X_train, y_train)
calibrated = CalibratedClassifierCV(FrozenEstimator(clf), method="temperature")
calibrated.fit(X_cal, y_cal)

before = clf.predict_proba(X_test)
after = calibrated.predict_proba(X_test)
print("same predictions:", (before.argmax(1) == after.argmax(1)).all())
print(f"ECE before: {expected_calibration_error(y_test, before):.3f}")
print(f"ECE after:  {expected_calibration_error(y_test, after):.3f}")

# %%
# The imbalance report ends with a calibration line (ECE and Brier score)
# whenever it is given probabilities.
print(imbalance_report(y_test, calibrated.predict(X_test), after, output_dict=False))

# %%
# Reliability diagram
# -------------------
# Test digits binned by the confidence of the predicted class; a calibrated
# model's accuracy in each bin equals its confidence (the diagonal).


def reliability(y, proba, n_bins=10):
    confidence, correct = proba.max(axis=1), proba.argmax(axis=1) == y
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    used = np.unique(bins)
    return (
        np.array([confidence[bins == b].mean() for b in used]),
        np.array([correct[bins == b].mean() for b in used]),
        np.array([(bins == b).sum() for b in used]),
    )


fig, ax = plt.subplots(figsize=(5, 5))
ax.plot([0, 1], [0, 1], "k:", label="calibrated")
for name, proba in [("network", before), ("temperature-scaled", after)]:
    conf, acc, count = reliability(y_test, proba)
    ax.plot(conf, acc, "o-", label=name)
ax.set(
    xlabel="confidence (predicted class' probability)",
    ylabel="accuracy",
    xlim=(0, 1.02),
    ylim=(0, 1.02),
    title="Reliability on 997 test digits",
)
ax.legend()
plt.show()
