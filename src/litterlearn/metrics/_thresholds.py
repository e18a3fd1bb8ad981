"""Per-label decision thresholds for multi-label classifiers."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve
from sklearn.utils.validation import check_array, check_consistent_length

__all__ = ["tune_thresholds"]

# Thresholds stay inside (0, 1), as the estimators' ``threshold`` requires.
_EPS = 1e-6


def tune_thresholds(y_true, y_score, *, default=0.5):
    """The threshold of each label that maximizes its F1 on held-out data.

    A multi-label classifier predicts a label where its probability reaches
    a threshold (the estimators' ``threshold`` parameter, 0.5 by default).
    On imbalanced labels another threshold often trades precision for
    recall far better. This picks, for each label, the probability threshold
    with the best F1 on validation data (from
    :func:`sklearn.metrics.precision_recall_curve`), to pass back with
    ``set_params(threshold=...)``. Tune on data the model was not trained
    on, and judge on a third set.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels)
        0/1 indicator of the true labels.
    y_score : array-like of shape (n_samples, n_labels)
        Probabilities of each label (``predict_proba``).
    default : float, default=0.5
        The threshold of a label without positive samples in ``y_true``
        (its F1 is undefined whatever the threshold).

    Returns
    -------
    thresholds : ndarray of shape (n_labels,)
        In (0, 1). Ties between thresholds of equal F1 go to the highest.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.metrics import tune_thresholds
    >>> y_true = np.array([[0, 1], [0, 0], [1, 1], [1, 0]])
    >>> y_score = np.array([[0.1, 0.9], [0.3, 0.2], [0.35, 0.6], [0.8, 0.4]])
    >>> tune_thresholds(y_true, y_score).tolist()
    [0.35, 0.6]
    """
    y_true = check_array(y_true, ensure_2d=True, dtype=None, input_name="y_true")
    y_score = check_array(
        y_score, ensure_2d=True, dtype=np.float64, input_name="y_score"
    )
    check_consistent_length(y_true, y_score)
    if y_true.shape[1] != y_score.shape[1]:
        raise ValueError(
            f"y_true and y_score must have one column per label; got "
            f"{y_true.shape[1]} and {y_score.shape[1]} columns."
        )
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError(
            "y_true must be a 0/1 indicator of shape (n_samples, n_labels)."
        )
    if not 0 < default < 1:
        raise ValueError(f"default must be in (0, 1); got {default!r}.")
    thresholds = np.full(y_true.shape[1], float(default))
    for k in range(y_true.shape[1]):
        if not y_true[:, k].any():
            continue
        precision, recall, cuts = precision_recall_curve(y_true[:, k], y_score[:, k])
        precision, recall = precision[:-1], recall[:-1]  # the last point has no cut
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(
                precision + recall > 0, 2 * precision * recall / (precision + recall), 0
            )
        best = np.flatnonzero(f1 == f1.max())[-1]
        thresholds[k] = cuts[best]
    return np.clip(thresholds, _EPS, 1 - _EPS)
