"""How far predicted probabilities are from observed frequencies.

A classifier is *calibrated* when, of the images it gives 0.8 to, about
80% belong to the class. Neural networks trained to a low loss are often
over-confident; :class:`sklearn.calibration.CalibratedClassifierCV` with
``method="temperature"`` fixes much of it after training. These two numbers
say how far off a model is.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ..utils._images import check_label_values

__all__ = ["brier_score", "expected_calibration_error"]


def _binary_column(y, labels, name, meaning):
    """Whether scores ``y`` are a single column, which only two ``labels``
    allow (``meaning`` says what that column holds)."""
    if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        return False
    if len(labels) != 2:
        raise ValueError(
            f"1D {name} is for binary problems ({meaning}); got {len(labels)} "
            f"labels {list(labels)}. Pass {name} of shape (n_samples, n_labels), "
            f"e.g. predict_proba."
        )
    return True


def _check_proba(y_true, y_prob, labels, sample_weight):
    """1D labels, a (n, n_labels) probability array, the labels and weights."""
    y_true = column_or_1d(check_label_values(y_true, input_name="y_true"))
    y_prob = np.asarray(y_prob, dtype=np.float64)
    check_consistent_length(y_true, y_prob, sample_weight)
    if len(y_true) == 0:
        raise ValueError("y_true must not be empty.")
    labels = unique_labels(y_true) if labels is None else np.asarray(labels)
    if _binary_column(y_prob, labels, "y_prob", "the probability of the last label"):
        p = y_prob.ravel()
        y_prob = np.column_stack([1 - p, p])
    if y_prob.ndim != 2 or y_prob.shape[1] != len(labels):
        raise ValueError(
            f"y_prob must have one column per label {list(labels)} (in that "
            f"order, like predict_proba's classes_); got shape {y_prob.shape}. "
            f"Pass labels=estimator.classes_ when a class is absent from y_true."
        )
    if not np.isfinite(y_prob).all() or y_prob.min() < 0 or y_prob.max() > 1:
        raise ValueError(
            "y_prob must hold probabilities in [0, 1] (predict_proba), not "
            "scores such as decision_function."
        )
    unknown = np.setdiff1d(y_true, labels)
    if len(unknown):
        raise ValueError(
            f"y_true has labels {unknown.tolist()} that are not among the "
            f"labels {list(labels)} of the columns of y_prob."
        )
    onehot = (y_true[:, None] == labels[None, :]).astype(np.float64)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.ndim != 1 or (sample_weight < 0).any():
            raise ValueError("sample_weight must be 1D and non-negative.")
    return onehot, y_prob, sample_weight


def expected_calibration_error(
    y_true, y_prob, *, labels=None, n_bins=15, sample_weight=None
):
    """Expected calibration error (ECE) of the predicted class' probability.

    The images are put in ``n_bins`` equal-width bins of their *confidence*
    (the highest probability, that of the predicted class); in each bin the
    gap between the mean confidence and the accuracy is taken, and the gaps
    are averaged, weighted by the share of images in the bin. 0 is perfectly
    calibrated; an over-confident network that says 0.95 and is right 70% of
    the time scores about 0.25. It says nothing of how good the ranking is:
    read it beside ROC or PR AUC.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_prob : array-like of shape (n_samples, n_labels) or (n_samples,)
        Probabilities, one column per label (``predict_proba``); for two
        labels, also the probability of the last label alone.
    labels : array-like, default=None
        The labels of the columns of ``y_prob``, in order (``classes_``);
        None takes the sorted labels of ``y_true``.
    n_bins : int, default=15
        Number of equal-width confidence bins.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    ece : float
        In [0, 1].

    See Also
    --------
    brier_score : Mean squared error of the probabilities.
    sklearn.calibration.calibration_curve : The bins themselves, to plot.

    Examples
    --------
    >>> from litterlearn.metrics import expected_calibration_error
    >>> y_true = [0, 0, 1, 1]
    >>> round(expected_calibration_error(y_true, [0.1, 0.2, 0.8, 0.9]), 3)
    0.15
    >>> round(expected_calibration_error(y_true, [0.1, 0.6, 0.6, 0.9]), 3)
    0.1
    """
    if not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be an int >= 1; got {n_bins!r}.")
    onehot, y_prob, sample_weight = _check_proba(y_true, y_prob, labels, sample_weight)
    weight = np.ones(len(onehot)) if sample_weight is None else sample_weight
    if weight.sum() <= 0:
        raise ValueError("sample_weight must have at least one positive weight.")
    predicted = y_prob.argmax(axis=1)
    confidence = y_prob[np.arange(len(y_prob)), predicted]
    correct = onehot[np.arange(len(onehot)), predicted]
    # Bins (k/n, (k+1)/n]; a confidence of exactly 0 joins the first.
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    ece = 0.0
    for k in np.unique(bins):
        w = weight[bins == k]
        if w.sum() == 0:
            continue
        gap = np.average(confidence[bins == k], weights=w) - np.average(
            correct[bins == k], weights=w
        )
        ece += w.sum() / weight.sum() * abs(gap)
    return float(ece)


def brier_score(y_true, y_prob, *, labels=None, sample_weight=None):
    """Brier score: the mean squared error of the predicted probabilities.

    For two labels, the mean of ``(p - y)^2`` over the probability ``p`` of
    the last label (scikit-learn's binary
    :func:`~sklearn.metrics.brier_score_loss`, in [0, 1]); for more, the
    sum over labels of the squared errors, averaged over samples (in
    [0, 2]). Lower is better; it rewards both calibration and sharpness.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_prob : array-like of shape (n_samples, n_labels) or (n_samples,)
        Probabilities, as in :func:`expected_calibration_error`.
    labels : array-like, default=None
        The labels of the columns of ``y_prob``; None takes the sorted labels
        of ``y_true``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    brier : float

    See Also
    --------
    expected_calibration_error : The gap between confidence and accuracy.

    Examples
    --------
    >>> from litterlearn.metrics import brier_score
    >>> round(brier_score([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 3)
    0.025
    """
    onehot, y_prob, sample_weight = _check_proba(y_true, y_prob, labels, sample_weight)
    per_sample = ((y_prob - onehot) ** 2).sum(axis=1)
    if onehot.shape[1] == 2:
        per_sample = per_sample / 2
    return float(np.average(per_sample, weights=sample_weight))
