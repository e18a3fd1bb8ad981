"""Specificity and one report of the scores that matter on imbalanced data.

Everything is computed by scikit-learn and imbalanced-learn; this module only
gathers their numbers (per-class precision, recall, F1 and specificity from
:func:`imblearn.metrics.classification_report_imbalanced`, balanced accuracy,
ROC AUC and average precision from :mod:`sklearn.metrics`) into one dict or
one table.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from imblearn.metrics import classification_report_imbalanced
from imblearn.metrics import specificity_score as _imblearn_specificity_score
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    hamming_loss,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ..utils._images import check_label_values, is_indicator_shaped
from ..utils._sklearn_compat import _check_sample_weight
from ._calibration import _binary_column, brier_score, expected_calibration_error

__all__ = ["imbalance_report", "specificity_score"]


def specificity_score(
    y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None
):
    """Specificity, ``tn / (tn + fp)``: how well the negatives are recognised.

    The recall of the negative class. A thin wrapper of
    :func:`imblearn.metrics.specificity_score`, with the same parameters.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        Labels to include (and their order with ``average=None``).
    pos_label : str or int, default=1
        The positive class, with ``average="binary"``.
    average : {"binary", "micro", "macro", "weighted"} or None, default="binary"
        How per-class specificities are averaged; None returns them all.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    specificity : float or ndarray of shape (n_labels,)

    See Also
    --------
    imbalance_report : Per-class precision, recall, F1 and specificity, and more.
    sklearn.metrics.recall_score : The sensitivity (recall of the positives).

    Examples
    --------
    >>> from litterlearn.metrics import specificity_score
    >>> specificity_score([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0])
    0.75
    """
    y_true, y_pred, sample_weight = _check_targets(y_true, y_pred, sample_weight)
    if sample_weight is None:
        score = _imblearn_specificity_score(
            y_true,
            y_pred,
            labels=labels,
            pos_label=pos_label,
            average=average,
            sample_weight=None,
        )
        return float(score) if np.ndim(score) == 0 else score
    # imbalanced-learn 0.14 mixes a sample count with weighted sums when
    # sample_weight is given (specificities above 1, a known bug there):
    # compute the weighted case from scikit-learn's confusion matrices.
    if average not in ("binary", "micro", "macro", "weighted", None):
        raise ValueError(
            f"average must be 'binary', 'micro', 'macro', 'weighted' or None; "
            f"got {average!r}."
        )
    if labels is None:
        labels = unique_labels(y_true, y_pred)
    if average == "binary":
        present = unique_labels(y_true, y_pred)
        if len(present) > 2:
            raise ValueError(
                "Target is multiclass but average='binary'. Choose another "
                "average setting."
            )
        labels = [pos_label]
    tn, fp, support = _weighted_negatives(y_true, y_pred, labels, sample_weight)
    if average == "micro":
        return float(tn.sum() / (tn.sum() + fp.sum()))
    spec = tn / np.where(tn + fp > 0, tn + fp, 1)
    if average is None:
        return spec
    if average == "weighted":
        return float(np.average(spec, weights=support))
    return float(spec.mean())


def _check_targets(y_true, y_pred, sample_weight):
    """1D labels, not empty, none missing; weights finite and >= 0."""
    y_true = column_or_1d(check_label_values(y_true, input_name="y_true"))
    y_pred = column_or_1d(check_label_values(y_pred, input_name="y_pred"))
    if len(y_true) == 0 or len(y_pred) == 0:
        raise ValueError(
            f"y_true and y_pred must not be empty; got {len(y_true)} and "
            f"{len(y_pred)} labels."
        )
    check_consistent_length(y_true, y_pred)
    return y_true, y_pred, _check_weights(sample_weight, y_true)


def _check_weights(sample_weight, y_true):
    """None, or one finite weight >= 0 per sample, not all 0."""
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight)
    if sample_weight.ndim != 1 or len(sample_weight) != len(y_true):
        raise ValueError(
            f"sample_weight must have shape ({len(y_true)},), one weight "
            f"per sample; got shape {sample_weight.shape}."
        )
    if not sample_weight.any():
        raise ValueError(
            "sample_weight must have at least one positive weight; all are 0."
        )
    return _check_sample_weight(
        sample_weight, y_true, dtype=np.float64, ensure_non_negative=True
    )


def _weighted_negatives(y_true, y_pred, labels, sample_weight):
    """Per label: weighted true negatives, false positives and support."""
    mcm = multilabel_confusion_matrix(
        y_true, y_pred, labels=labels, sample_weight=sample_weight
    )
    # scikit-learn gets tn as a difference of weighted sums: it can come out
    # a rounding error below 0 (a specificity of -3e-15).
    tn, fp = np.maximum(mcm[:, 0, 0], 0), mcm[:, 0, 1]
    support = mcm[:, 1, 0] + mcm[:, 1, 1]
    return tn.astype(float), fp.astype(float), support.astype(float)


def _one_vs_rest_scores(y_score, labels, pos_label):
    """A score column per label from ``(n,)`` or ``(n, n_labels)`` scores."""
    y_score = np.asarray(y_score, dtype=np.float64)
    if _binary_column(y_score, labels, "y_score", "the positive class' score"):
        score = y_score.ravel()
        return {lab: (score if lab == pos_label else -score) for lab in labels}
    if y_score.ndim != 2 or y_score.shape[1] != len(labels):
        raise ValueError(
            f"y_score must have shape (n_samples,) or (n_samples, n_labels) "
            f"with one column per label {list(labels)} (in that order, like "
            f"predict_proba's classes_); got shape {y_score.shape}."
        )
    return {lab: y_score[:, k] for k, lab in enumerate(labels)}


def _as_probabilities(y_score, labels, pos_label):
    """``(n, n_labels)`` probabilities from ``y_score``, or None if not ones.

    1D scores of a binary problem are the probability of ``pos_label``; 2D
    scores are probabilities when they lie in [0, 1] and each row sums to 1.
    """
    score = np.asarray(y_score, dtype=np.float64)
    if not np.isfinite(score).all() or score.min() < 0 or score.max() > 1:
        return None
    if score.ndim == 1 or score.shape[1] == 1:
        p = score.ravel()
        return np.column_stack([p if lab == pos_label else 1 - p for lab in labels])
    if not np.allclose(score.sum(axis=1), 1, atol=1e-3):
        return None
    return score


def _ranking_scores(is_pos, score, sample_weight):
    """ROC AUC and average precision of one class; nan when undefined."""
    if is_pos.all() or not is_pos.any():
        return float("nan"), float("nan")
    roc = roc_auc_score(is_pos, score, sample_weight=sample_weight)
    ap = average_precision_score(is_pos, score, sample_weight=sample_weight)
    return float(roc), float(ap)


def imbalance_report(
    y_true,
    y_pred,
    y_score=None,
    *,
    labels=None,
    target_names=None,
    pos_label=None,
    sample_weight=None,
    digits=2,
    output_dict=True,
    zero_division="warn",
):
    """Per-class and overall scores for imbalanced classification.

    Gathers what scikit-learn and imbalanced-learn compute separately:
    precision, recall (sensitivity), F1 and specificity per class
    (:func:`imblearn.metrics.classification_report_imbalanced`), their
    macro average, accuracy, balanced accuracy, and, given scores, ROC AUC
    and PR AUC (average precision) per class (one-vs-rest) and overall.
    Given probabilities (``predict_proba``), it adds how well they are
    calibrated: the expected calibration error and the Brier score
    (:func:`expected_calibration_error`, :func:`brier_score`).

    Multi-label targets (0/1 indicators of shape ``(n_samples, n_labels)``,
    what a multi-label estimator's ``predict`` returns: which labels each
    sample has) get the same scores per label, each label being its own
    binary problem, plus their micro average (all labels pooled), macro
    average (the mean over labels) and samples average (precision, recall
    and F1 per sample, then the mean); the overall scores are the subset
    accuracy (the share of samples whose labels are all right) and the
    Hamming loss. These are scikit-learn's numbers:
    ``report["macro avg"]["f1-score"]`` is
    ``f1_score(y_true, y_pred, average="macro")``, and so on.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_labels)
        True labels, or a 0/1 indicator of the labels of each sample.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        Predicted labels, or the predicted 0/1 indicator (the same shape as
        ``y_true``).
    y_score : array-like of shape (n_samples,) or (n_samples, n_labels), \
            default=None
        Scores for the ranking metrics: ``predict_proba`` (one column per
        label, in the order of ``labels``), or for a binary problem the
        score of ``pos_label``. For indicators, one column per column of
        ``y_true``. None leaves the AUCs out.
    labels : array-like, default=None
        The labels to report, in order; None takes the sorted labels present
        in ``y_true`` and ``y_pred``. For indicators, column indices (None:
        every column); the averages are over these.
    target_names : list of str, default=None
        Display names of ``labels`` (the keys of the per-class entries).
    pos_label : label, default=None
        The positive class of a binary problem, whose ROC AUC and average
        precision are the overall ones; None takes the last label (1 for
        0/1 labels). Multiclass overall AUCs are macro averages. Not used
        with indicators (1 is every column's positive).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    digits : int, default=2
        Digits of the text form.
    output_dict : bool, default=True
        True returns a dict; False a text table like
        :func:`sklearn.metrics.classification_report`.
    zero_division : {"warn", 0, 1}, default="warn"
        Value of precision/recall when undefined (as in scikit-learn).

    Returns
    -------
    report : dict or str
        The dict has one entry per class (``{"precision", "recall",
        "f1-score", "specificity", "support"}`` plus ``"roc_auc"`` and
        ``"average_precision"`` given ``y_score``), ``"macro avg"`` (the same
        keys, unweighted mean; support is the total), ``"accuracy"``,
        ``"balanced_accuracy"`` and, given ``y_score``, ``"roc_auc"`` and
        ``"average_precision"``. Undefined AUCs (a class absent from
        ``y_true``) are nan. When ``y_score`` holds probabilities (in [0, 1];
        rows summing to 1 when 2D), also ``"ece"`` and ``"brier"``, the text
        form's ``calibration`` line.

        For indicators: one entry per label (the same keys; support is the
        number of samples having it), ``"micro avg"`` and ``"macro avg"``
        (precision, recall, F1, specificity and, given ``y_score``, the
        AUCs), ``"samples avg"`` (precision, recall, F1), all with the
        total support of the labels, then ``"subset_accuracy"``,
        ``"hamming_loss"`` and, given ``y_score``, the macro ``"roc_auc"``
        and ``"average_precision"``. A label absent from ``y_true`` (or in
        every sample) has nan AUCs and is left out of their macro averages.

    See Also
    --------
    specificity_score : The recall of the negatives.
    expected_calibration_error : How far confidence is from accuracy.
    imblearn.metrics.classification_report_imbalanced : Also the geometric
        mean and the index of balanced accuracy per class.

    Examples
    --------
    >>> from litterlearn.metrics import imbalance_report
    >>> y_true = [0, 0, 0, 0, 0, 0, 1, 1]
    >>> y_pred = [0, 0, 0, 0, 0, 1, 1, 0]
    >>> y_score = [0.1, 0.2, 0.1, 0.3, 0.4, 0.6, 0.9, 0.5]
    >>> report = imbalance_report(y_true, y_pred, y_score)
    >>> report["1"]["recall"], round(report["1"]["specificity"], 3)
    (0.5, 0.833)
    >>> round(report["balanced_accuracy"], 3), round(report["roc_auc"], 3)
    (0.667, 0.917)
    >>> print(imbalance_report(y_true, y_pred, y_score, output_dict=False))
                  precision  recall  f1-score  specificity  roc_auc  pr_auc  support
    <BLANKLINE>
               0       0.83    0.83      0.83         0.50     0.92    0.98        6
               1       0.50    0.50      0.50         0.83     0.92    0.83        2
    <BLANKLINE>
       macro avg       0.67    0.67      0.67         0.67     0.92    0.90        8
        accuracy                         0.75                                      8
    balanced acc                         0.67                                      8
         ROC AUC                                               0.92
          PR AUC                                                       0.83
     calibration  ECE 0.19  Brier 0.12
    >>> round(report["ece"], 3), round(report["brier"], 3)
    (0.188, 0.116)

    Multi-label: which of three kinds of litter each photo holds.

    >>> Y_true = [[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]]
    >>> Y_pred = [[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1]]
    >>> names = ["Bottle", "Can", "Cigarette"]
    >>> print(imbalance_report(Y_true, Y_pred, target_names=names, output_dict=False))
                  precision  recall  f1-score  specificity  support
    <BLANKLINE>
          Bottle       1.00    1.00      1.00         1.00        2
             Can       1.00    0.50      0.67         1.00        2
       Cigarette       0.50    0.50      0.50         0.50        2
    <BLANKLINE>
       micro avg       0.80    0.67      0.73         0.83        6
       macro avg       0.83    0.67      0.72         0.83        6
     samples avg       0.88    0.75      0.75                     6
      subset acc                         0.25                     4
    hamming loss                         0.25                     4
    """
    if is_indicator_shaped(y_true) or is_indicator_shaped(y_pred):
        return _multilabel_report(
            y_true,
            y_pred,
            y_score,
            labels=labels,
            target_names=target_names,
            pos_label=pos_label,
            sample_weight=sample_weight,
            digits=digits,
            output_dict=output_dict,
            zero_division=zero_division,
        )
    y_true, y_pred, sample_weight = _check_targets(y_true, y_pred, sample_weight)
    check_consistent_length(y_true, y_pred, y_score, sample_weight)
    labels = unique_labels(y_true, y_pred) if labels is None else np.asarray(labels)
    names = _row_names(target_names, labels, f"{list(labels)}")
    if pos_label is None:
        pos_label = labels[-1]
    elif pos_label not in list(labels):
        raise ValueError(
            f"pos_label={pos_label!r} is not one of the labels {list(labels)}."
        )
    _check_digits(digits)

    with warnings.catch_warnings():
        if zero_division != "warn":
            # imbalanced-learn warns about sensitivity whatever zero_division.
            warnings.simplefilter("ignore", UndefinedMetricWarning)
        base = classification_report_imbalanced(
            y_true,
            y_pred,
            labels=labels,
            target_names=names,
            sample_weight=sample_weight,
            output_dict=True,
            zero_division=zero_division,
        )
    keys = {"pre": "precision", "rec": "recall", "f1": "f1-score"}
    keys |= {"spe": "specificity", "sup": "support"}
    report = {}
    for name in names:
        entry = {new: float(base[name][old]) for old, new in keys.items()}
        entry["support"] = int(base[name]["sup"])
        report[name] = entry
    if sample_weight is not None:  # see specificity_score
        spec = specificity_score(
            y_true, y_pred, labels=labels, average=None, sample_weight=sample_weight
        )
        for name, value in zip(names, spec, strict=True):
            report[name]["specificity"] = float(value)

    overall = {}
    if y_score is not None:
        columns = _one_vs_rest_scores(y_score, labels, pos_label)
        for lab, name in zip(labels, names, strict=True):
            roc, ap = _ranking_scores(y_true == lab, columns[lab], sample_weight)
            report[name]["roc_auc"], report[name]["average_precision"] = roc, ap
        if len(labels) == 2:
            pos = names[list(labels).index(pos_label)]
            overall = {k: report[pos][k] for k in ("roc_auc", "average_precision")}
        else:
            overall = {
                k: float(np.mean([report[n][k] for n in names]))
                for k in ("roc_auc", "average_precision")
            }
        proba = _as_probabilities(y_score, labels, pos_label)
        if proba is not None:
            overall["ece"] = expected_calibration_error(
                y_true, proba, labels=labels, sample_weight=sample_weight
            )
            overall["brier"] = brier_score(
                y_true, proba, labels=labels, sample_weight=sample_weight
            )

    metric_keys = [k for k in report[names[0]] if k != "support"]
    report["macro avg"] = {
        k: float(np.mean([report[n][k] for n in names])) for k in metric_keys
    }
    report["macro avg"]["support"] = int(sum(report[n]["support"] for n in names))
    report["accuracy"] = float(
        accuracy_score(y_true, y_pred, sample_weight=sample_weight)
    )
    report["balanced_accuracy"] = float(
        balanced_accuracy_score(y_true, y_pred, sample_weight=sample_weight)
    )
    report.update(overall)
    if output_dict:
        return report
    return _format_report(report, names, digits)


def _row_names(target_names, labels, which):
    """A report's row names: ``target_names``, checked to name each of
    ``labels`` (described as ``which`` in the error), or the labels."""
    if target_names is None:
        return [str(label) for label in labels]
    names = [str(name) for name in target_names]
    if len(names) != len(labels):
        raise ValueError(
            f"target_names has {len(names)} names for {len(labels)} labels {which}."
        )
    return names


def _check_digits(digits):
    if (
        isinstance(digits, bool)
        or not isinstance(digits, numbers.Integral)
        or digits < 0
    ):
        raise ValueError(f"digits must be an int >= 0; got {digits!r}.")


def _columns(report, digits):
    """A text report's metric columns (keys of its entries), their headers
    and widths."""
    columns = ["precision", "recall", "f1-score", "specificity"]
    headers = list(columns)
    if "roc_auc" in report:
        columns += ["roc_auc", "average_precision"]
        headers += ["roc_auc", "pr_auc"]
    return columns, headers, [max(len(h), digits + 2) for h in headers]


def _header(headers, widths, width):
    """A text report's first line: the headers over their columns."""
    return (
        f"{'':>{width}}  "
        + "  ".join(f"{h:>{w}}" for h, w in zip(headers, widths, strict=True))
        + f"  {'support':>7}"
    )


def _format_report(report, names, digits):
    columns, headers, widths = _columns(report, digits)
    rows = [*names, "macro avg"]
    width = max(len(r) for r in [*rows, "balanced acc"])

    def line(label, values, support=""):
        cells = [
            f"{v:>{w}.{digits}f}" if isinstance(v, float) else f"{v:>{w}}"
            for v, w in zip(values, widths, strict=True)
        ]
        return f"{label:>{width}}  " + "  ".join(cells) + f"  {support:>7}"

    out = [_header(headers, widths, width), ""]
    for name in names:
        out.append(
            line(name, [report[name][c] for c in columns], report[name]["support"])
        )
    out.append("")
    total = report["macro avg"]["support"]
    out.append(line("macro avg", [report["macro avg"][c] for c in columns], total))
    f1_col = columns.index("f1-score")
    for label, key in (("accuracy", "accuracy"), ("balanced acc", "balanced_accuracy")):
        values = [""] * len(columns)
        values[f1_col] = report[key]
        out.append(line(label, values, total))
    if "roc_auc" in report:
        for label, key, col in (
            ("ROC AUC", "roc_auc", 4),
            ("PR AUC", "average_precision", 5),
        ):
            values = [""] * len(columns)
            values[col] = report[key]
            out.append(line(label, values).rstrip())
    if "ece" in report:
        out.append(
            f"{'calibration':>{width}}  ECE {report['ece']:.{digits}f}  "
            f"Brier {report['brier']:.{digits}f}"
        )
    return "\n".join(out)


# -- multi-label indicators ---------------------------------------------------


def _check_indicator(y, input_name):
    """A 2D 0/1 array, as int64; a clear error otherwise."""
    y = check_label_values(y, input_name=input_name)
    if y.ndim != 2:
        raise ValueError(
            f"{input_name} must be a 0/1 indicator of shape (n_samples, "
            f"n_labels), like the other target; got shape {y.shape}."
        )
    if y.size == 0:
        raise ValueError(
            f"y_true and y_pred must not be empty; {input_name} has shape {y.shape}."
        )
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"{input_name} must be a 0/1 indicator (one column per label); got "
            f"values of dtype {y.dtype}."
        )
    bad = np.flatnonzero((y != 0) & (y != 1))
    if len(bad):
        row, col = np.unravel_index(bad[0], y.shape)
        raise ValueError(
            f"{input_name} must hold only 0 and 1 (which labels each sample "
            f"has); found {y[row, col]!r} at row {row}, column {col}. Threshold "
            f"scores first, or pass them as y_score."
        )
    return y.astype(np.int64)


def _check_columns(labels, n_labels):
    if labels is None:
        return np.arange(n_labels)
    cols = np.asarray(labels)
    if (
        cols.ndim != 1
        or len(cols) == 0
        or cols.dtype.kind not in "iu"
        or cols.min() < 0
        or cols.max() >= n_labels
        or len(np.unique(cols)) != len(cols)
    ):
        raise ValueError(
            f"labels of a multi-label indicator are its column indices: "
            f"distinct ints in 0..{n_labels - 1}; got {np.asarray(labels).tolist()}."
        )
    return cols


def _multilabel_report(
    y_true,
    y_pred,
    y_score,
    *,
    labels,
    target_names,
    pos_label,
    sample_weight,
    digits,
    output_dict,
    zero_division,
):
    """:func:`imbalance_report` for 0/1 indicators of shape (n, n_labels)."""
    Y_true = _check_indicator(y_true, "y_true")
    Y_pred = _check_indicator(y_pred, "y_pred")
    if Y_true.shape != Y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape (n_samples, n_labels); "
            f"got {Y_true.shape} and {Y_pred.shape}."
        )
    if pos_label is not None:
        raise ValueError(
            "pos_label is for 1D targets; in a multi-label indicator 1 is the "
            "positive of every column. Leave pos_label=None."
        )
    cols = _check_columns(labels, Y_true.shape[1])
    names = _row_names(target_names, cols, f"(columns {cols.tolist()})")
    _check_digits(digits)
    sample_weight = _check_weights(sample_weight, Y_true)
    if y_score is not None:
        y_score = np.asarray(y_score, dtype=np.float64)
        if y_score.shape != Y_true.shape:
            raise ValueError(
                f"y_score of a multi-label indicator must have shape "
                f"{Y_true.shape}, one score column per label (predict_proba "
                f"of a multi-label estimator); got shape {y_score.shape}."
            )
        if not np.isfinite(y_score).all():
            raise ValueError("y_score has non-finite values (NaN or infinity).")

    common = dict(labels=cols, sample_weight=sample_weight)
    with warnings.catch_warnings():
        if zero_division != "warn":
            warnings.simplefilter("ignore", UndefinedMetricWarning)
        per_label = precision_recall_fscore_support(
            Y_true, Y_pred, average=None, zero_division=zero_division, **common
        )
        averages = {
            f"{avg} avg": precision_recall_fscore_support(
                Y_true, Y_pred, average=avg, zero_division=zero_division, **common
            )[:3]
            for avg in ("micro", "macro", "samples")
        }
    mcm = multilabel_confusion_matrix(Y_true, Y_pred, **common)
    tn, fp = np.maximum(mcm[:, 0, 0], 0).astype(float), mcm[:, 0, 1].astype(float)
    undefined = tn + fp == 0  # a label every sample has
    if undefined.any() and zero_division == "warn":
        warnings.warn(
            f"Specificity is ill-defined for labels {cols[undefined].tolist()}, "
            f"present in every sample; set to 0. Use zero_division to choose.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
    fill = 0.0 if zero_division == "warn" else float(zero_division)
    specificity = np.where(undefined, fill, tn / np.where(undefined, 1, tn + fp))
    support = Y_true[:, cols].sum(axis=0)

    report = {}
    for k, name in enumerate(names):
        report[name] = {
            "precision": float(per_label[0][k]),
            "recall": float(per_label[1][k]),
            "f1-score": float(per_label[2][k]),
            "specificity": float(specificity[k]),
            "support": int(support[k]),
        }
    if y_score is not None:
        for name, col in zip(names, cols, strict=True):
            roc, ap = _ranking_scores(
                Y_true[:, col] == 1, y_score[:, col], sample_weight
            )
            report[name]["roc_auc"], report[name]["average_precision"] = roc, ap
    total = int(support.sum())
    for key, (precision, recall, f1) in averages.items():
        report[key] = {
            "precision": float(precision),
            "recall": float(recall),
            "f1-score": float(f1),
        }
    micro_spec = tn.sum() / (tn.sum() + fp.sum()) if (tn + fp).sum() else fill
    report["micro avg"]["specificity"] = float(micro_spec)
    report["macro avg"]["specificity"] = float(specificity.mean())
    if y_score is not None:
        flat_true = Y_true[:, cols].ravel() == 1
        micro = _ranking_scores(
            flat_true,
            y_score[:, cols].ravel(),
            None if sample_weight is None else np.repeat(sample_weight, len(cols)),
        )
        report["micro avg"]["roc_auc"], report["micro avg"]["average_precision"] = micro
        for key in ("roc_auc", "average_precision"):
            defined = [report[n][key] for n in names if not np.isnan(report[n][key])]
            report["macro avg"][key] = (
                float(np.mean(defined)) if defined else float("nan")
            )
    for key in averages:
        report[key]["support"] = total
    report["subset_accuracy"] = float(
        accuracy_score(Y_true[:, cols], Y_pred[:, cols], sample_weight=sample_weight)
    )
    report["hamming_loss"] = float(
        hamming_loss(Y_true[:, cols], Y_pred[:, cols], sample_weight=sample_weight)
    )
    if y_score is not None:
        report["roc_auc"] = report["macro avg"]["roc_auc"]
        report["average_precision"] = report["macro avg"]["average_precision"]
    if output_dict:
        return report
    return _format_multilabel(report, names, digits, n_samples=len(Y_true))


def _format_multilabel(report, names, digits, n_samples):
    columns, headers, widths = _columns(report, digits)
    averages = ["micro avg", "macro avg", "samples avg"]
    width = max(len(r) for r in [*names, *averages, "hamming loss"])

    def line(label, entry, support):
        cells = []
        for col, w in zip(columns, widths, strict=True):
            value = entry.get(col)
            cells.append(f"{value:>{w}.{digits}f}" if value is not None else " " * w)
        return f"{label:>{width}}  " + "  ".join(cells) + f"  {support:>7}"

    out = [_header(headers, widths, width), ""]
    out += [line(n, report[n], report[n]["support"]) for n in names]
    out.append("")
    out += [line(a, report[a], report[a]["support"]) for a in averages]
    for label, key in (
        ("subset acc", "subset_accuracy"),
        ("hamming loss", "hamming_loss"),
    ):
        out.append(line(label, {"f1-score": report[key]}, n_samples))
    return "\n".join(out)
