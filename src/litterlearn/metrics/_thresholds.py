"""Per-label decision thresholds for multi-label classifiers."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.metrics import precision_recall_curve
from sklearn.utils.validation import check_array, check_consistent_length

from ..utils._label_lists import check_not_label_lists
from ..utils._sklearn_compat import Interval, InvalidParameterError

__all__ = ["tune_thresholds"]

_DEFAULT = Interval(Real, 0, 1, closed="neither")


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
    y_score : array-like of shape (n_samples, n_labels), or list of arrays
        Probabilities of each label (``predict_proba``), in [0, 1]. A list
        of ``(n_samples, 2)`` arrays, one per label (the ``predict_proba``
        of scikit-learn's forests and nearest neighbours on a multi-label
        ``y``), gives each label's second column. Scores that are not
        probabilities (``decision_function``, percentages) are refused: a
        threshold in (0, 1) cannot cut them.
    default : float, default=0.5
        The threshold of a label without positive samples in ``y_true``
        (its F1 is undefined whatever the threshold).

    Returns
    -------
    thresholds : ndarray of shape (n_labels,)
        In (0, 1), and each selects (with ``probability >= threshold``)
        exactly the samples of its best cut: the best cut at a probability
        of exactly 1.0 gives a threshold just below 1.0 and above every
        lower probability. A cut at 0.0 (every sample a positive) is out of
        reach of a threshold in (0, 1) when some probabilities are exactly
        0.0; the best of the other cuts is taken. Ties between thresholds of
        equal F1 go to the highest.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.metrics import tune_thresholds
    >>> y_true = np.array([[0, 1], [0, 0], [1, 1], [1, 0]])
    >>> y_score = np.array([[0.1, 0.9], [0.3, 0.2], [0.35, 0.6], [0.8, 0.4]])
    >>> tune_thresholds(y_true, y_score).tolist()
    [0.35, 0.6]
    """
    if isinstance(default, bool) or not _DEFAULT.is_satisfied_by(default):
        raise InvalidParameterError(
            f"The 'default' parameter of tune_thresholds must be a float in the "
            f"range (0.0, 1.0); got {default!r}."
        )
    check_not_label_lists(y_true, "y_true")
    y_true = check_array(y_true, ensure_2d=True, dtype=None, input_name="y_true")
    y_score = check_array(
        _per_label_columns(y_score),
        ensure_2d=True,
        dtype=np.float64,
        input_name="y_score",
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
    low, high = float(y_score.min()), float(y_score.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"y_score must hold probabilities in [0, 1] (predict_proba's "
            f"output); got values from {low:g} to {high:g}. Scores such as "
            f"decision_function's or percentages cannot be cut by a threshold "
            f"in (0, 1): pass the probabilities."
        )
    thresholds = np.full(y_true.shape[1], float(default))
    for k in range(y_true.shape[1]):
        if y_true[:, k].any():
            thresholds[k] = _best_cut(y_true[:, k], y_score[:, k], float(default))
    return thresholds


def _per_label_columns(y_score):
    """A list of per-label ``(n, 2)`` probabilities as one ``(n, n_labels)``
    array of the positive class; anything else as it is."""
    if not isinstance(y_score, list) or not y_score:
        return y_score
    if not all(getattr(p, "ndim", None) == 2 for p in y_score):
        return y_score  # a nested list of rows
    for k, p in enumerate(y_score):
        if p.shape[1] != 2:
            raise ValueError(
                f"y_score is a list of per-label probabilities, but y_score[{k}] "
                f"has {p.shape[1]} column(s); each label needs the two columns "
                f"of its classes 0 and 1, as predict_proba gives for a label "
                f"seen with both values in training."
            )
    return np.stack([np.asarray(p)[:, 1] for p in y_score], axis=1)


def _best_cut(truth, scores, default):
    """The threshold in (0, 1) of the best-F1 cut of one label's scores."""
    precision, recall, cuts = precision_recall_curve(truth, scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no cut
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(
            precision + recall > 0, 2 * precision * recall / (precision + recall), 0
        )
    f1[cuts <= 0] = -1  # every sample positive: no threshold in (0, 1) does it
    if f1.max() < 0:
        return default  # every score is 0: any threshold predicts no positive
    cut = float(cuts[np.flatnonzero(f1 == f1.max())[-1]])
    if cut < 1:
        return cut
    # The samples scored exactly 1.0: a threshold between the highest lower
    # score and 1.0 selects them and nothing else.
    below = scores[scores < 1]
    lower = float(below.max()) if below.size else 0.0
    middle = lower + (1.0 - lower) / 2
    return middle if middle < 1 else float(np.nextafter(1.0, 0.0))
