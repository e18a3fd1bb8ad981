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
    multilabel_confusion_matrix,
    roc_auc_score,
)
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ..utils._images import check_label_values
from ..utils._sklearn_compat import _check_sample_weight

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
    if sample_weight is not None:
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
        sample_weight = _check_sample_weight(
            sample_weight, y_true, dtype=np.float64, ensure_non_negative=True
        )
    return y_true, y_pred, sample_weight


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
    if y_score.ndim == 1 or (y_score.ndim == 2 and y_score.shape[1] == 1):
        if len(labels) != 2:
            raise ValueError(
                f"1D y_score is for binary problems (the positive class' "
                f"score); got {len(labels)} labels {list(labels)}. Pass "
                f"y_score of shape (n_samples, n_labels), e.g. predict_proba."
            )
        score = y_score.ravel()
        return {lab: (score if lab == pos_label else -score) for lab in labels}
    if y_score.ndim != 2 or y_score.shape[1] != len(labels):
        raise ValueError(
            f"y_score must have shape (n_samples,) or (n_samples, n_labels) "
            f"with one column per label {list(labels)} (in that order, like "
            f"predict_proba's classes_); got shape {y_score.shape}."
        )
    return {lab: y_score[:, k] for k, lab in enumerate(labels)}


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

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    y_score : array-like of shape (n_samples,) or (n_samples, n_labels), \
            default=None
        Scores for the ranking metrics: ``predict_proba`` (one column per
        label, in the order of ``labels``), or for a binary problem the
        score of ``pos_label``. None leaves the AUCs out.
    labels : array-like, default=None
        The labels to report, in order; None takes the sorted labels present
        in ``y_true`` and ``y_pred``.
    target_names : list of str, default=None
        Display names of ``labels`` (the keys of the per-class entries).
    pos_label : label, default=None
        The positive class of a binary problem, whose ROC AUC and average
        precision are the overall ones; None takes the last label (1 for
        0/1 labels). Multiclass overall AUCs are macro averages.
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
        ``y_true``) are nan.

    See Also
    --------
    specificity_score : The recall of the negatives.
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
    """
    y_true, y_pred, sample_weight = _check_targets(y_true, y_pred, sample_weight)
    check_consistent_length(y_true, y_pred, y_score, sample_weight)
    labels = unique_labels(y_true, y_pred) if labels is None else np.asarray(labels)
    if target_names is None:
        names = [str(lab) for lab in labels]
    else:
        names = [str(name) for name in target_names]
        if len(names) != len(labels):
            raise ValueError(
                f"target_names has {len(names)} names for {len(labels)} labels "
                f"{list(labels)}."
            )
    if pos_label is None:
        pos_label = labels[-1]
    elif pos_label not in list(labels):
        raise ValueError(
            f"pos_label={pos_label!r} is not one of the labels {list(labels)}."
        )
    if (
        isinstance(digits, bool)
        or not isinstance(digits, numbers.Integral)
        or digits < 0
    ):
        raise ValueError(f"digits must be an int >= 0; got {digits!r}.")

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


def _format_report(report, names, digits):
    columns = ["precision", "recall", "f1-score", "specificity"]
    headers = ["precision", "recall", "f1-score", "specificity"]
    if "roc_auc" in report:
        columns += ["roc_auc", "average_precision"]
        headers += ["roc_auc", "pr_auc"]
    rows = [*names, "macro avg"]
    width = max(len(r) for r in [*rows, "balanced acc"])
    widths = [max(len(h), digits + 2) for h in headers]

    def line(label, values, support=""):
        cells = [
            f"{v:>{w}.{digits}f}" if isinstance(v, float) else f"{v:>{w}}"
            for v, w in zip(values, widths, strict=True)
        ]
        return f"{label:>{width}}  " + "  ".join(cells) + f"  {support:>7}"

    out = [
        f"{'':>{width}}  "
        + "  ".join(f"{h:>{w}}" for h, w in zip(headers, widths, strict=True))
        + f"  {'support':>7}",
        "",
    ]
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
    return "\n".join(out)
