"""Imbalance metrics, checked against values computed here from their definitions."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from litterlearn.metrics import imbalance_report, specificity_score, tune_thresholds

# 10 samples, 3 positives; distinct scores so the ranking metrics are simple.
Y_TRUE = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
Y_PRED = np.array([0, 0, 0, 0, 1, 1, 0, 1, 0, 1])
SCORE = np.array([0.05, 0.1, 0.2, 0.3, 0.6, 0.7, 0.4, 0.9, 0.35, 0.8])


def counts(y_true, y_pred, label):
    tp = np.sum((y_true == label) & (y_pred == label))
    fp = np.sum((y_true != label) & (y_pred == label))
    fn = np.sum((y_true == label) & (y_pred != label))
    tn = np.sum((y_true != label) & (y_pred != label))
    return tp, fp, fn, tn


def auc_by_pairs(is_pos, score):
    """P(score of a positive > score of a negative), ties counting half."""
    pos, neg = score[is_pos], score[~is_pos]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg).sum()
    return wins / (len(pos) * len(neg))


def ap_by_definition(is_pos, score):
    """Sum over the positives, ranked by score, of the precision at each."""
    order = np.argsort(-score)
    hits = is_pos[order]
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return precision_at[hits].sum() / hits.sum()


def test_specificity_score_is_recall_of_negatives():
    tp, fp, fn, tn = counts(Y_TRUE, Y_PRED, 1)
    assert specificity_score(Y_TRUE, Y_PRED) == pytest.approx(tn / (tn + fp))
    assert isinstance(specificity_score(Y_TRUE, Y_PRED), float)
    per_class = specificity_score(Y_TRUE, Y_PRED, average=None)
    assert per_class[0] == pytest.approx(tp / (tp + fn))


def test_binary_report_matches_definitions():
    report = imbalance_report(Y_TRUE, Y_PRED, SCORE)
    recalls = []
    for label in (0, 1):
        tp, fp, fn, tn = counts(Y_TRUE, Y_PRED, label)
        entry = report[str(label)]
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        assert entry["precision"] == pytest.approx(precision)
        assert entry["recall"] == pytest.approx(recall)
        assert entry["f1-score"] == pytest.approx(
            2 * precision * recall / (precision + recall)
        )
        assert entry["specificity"] == pytest.approx(tn / (tn + fp))
        assert entry["support"] == np.sum(label == Y_TRUE)
        recalls.append(recall)
    assert report["balanced_accuracy"] == pytest.approx(np.mean(recalls))
    assert report["accuracy"] == pytest.approx(np.mean(Y_TRUE == Y_PRED))
    is_pos = Y_TRUE == 1
    assert report["roc_auc"] == pytest.approx(auc_by_pairs(is_pos, SCORE))
    assert report["average_precision"] == pytest.approx(ap_by_definition(is_pos, SCORE))
    # The negative class ranks by the opposite score.
    assert report["0"]["average_precision"] == pytest.approx(
        ap_by_definition(~is_pos, -SCORE)
    )
    assert report["macro avg"]["recall"] == pytest.approx(np.mean(recalls))
    assert report["macro avg"]["support"] == 10


def test_predict_proba_columns_give_the_same_report():
    proba = np.column_stack([1 - SCORE, SCORE])
    assert imbalance_report(Y_TRUE, Y_PRED, proba) == imbalance_report(
        Y_TRUE, Y_PRED, SCORE
    )


def test_string_labels_target_names_and_pos_label():
    names = np.array(["bottle", "other"])
    y_true, y_pred = names[1 - Y_TRUE], names[1 - Y_PRED]
    report = imbalance_report(
        y_true,
        y_pred,
        SCORE,
        labels=["other", "bottle"],
        target_names=["no bottle", "bottle"],
        pos_label="bottle",
    )
    assert set(report) >= {"no bottle", "bottle"}
    assert report["bottle"]["recall"] == pytest.approx(2 / 3)
    assert report["roc_auc"] == pytest.approx(auc_by_pairs(Y_TRUE == 1, SCORE))


def test_multiclass_report_uses_one_vs_rest_and_macro_averages():
    rng = np.random.default_rng(0)
    y_true = np.repeat([0, 1, 2], [30, 8, 12])
    proba = rng.dirichlet([1, 1, 1], len(y_true))
    proba[np.arange(len(y_true)), y_true] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    y_pred = proba.argmax(axis=1)
    report = imbalance_report(y_true, y_pred, proba)
    aucs = [auc_by_pairs(y_true == k, proba[:, k]) for k in range(3)]
    aps = [ap_by_definition(y_true == k, proba[:, k]) for k in range(3)]
    for k in range(3):
        assert report[str(k)]["roc_auc"] == pytest.approx(aucs[k])
        assert report[str(k)]["average_precision"] == pytest.approx(aps[k])
    assert report["roc_auc"] == pytest.approx(np.mean(aucs))
    assert report["average_precision"] == pytest.approx(np.mean(aps))
    tp, fp, fn, tn = counts(y_true, y_pred, 1)
    assert report["1"]["specificity"] == pytest.approx(tn / (tn + fp))
    with pytest.raises(ValueError, match="1D y_score is for binary"):
        imbalance_report(y_true, y_pred, proba[:, 1])
    with pytest.raises(ValueError, match="one column per label"):
        imbalance_report(y_true, y_pred, proba[:, :2])


def test_sample_weight_equals_repeating_rows():
    weights = np.arange(1, 11)
    weighted = imbalance_report(Y_TRUE, Y_PRED, SCORE, sample_weight=weights)
    repeated = imbalance_report(
        np.repeat(Y_TRUE, weights),
        np.repeat(Y_PRED, weights),
        np.repeat(SCORE, weights),
    )
    for key in ("balanced_accuracy", "roc_auc", "average_precision"):
        assert weighted[key] == pytest.approx(repeated[key])
    for label in ("0", "1"):  # imbalanced-learn 0.14 gets these wrong
        assert weighted[label]["specificity"] == pytest.approx(
            repeated[label]["specificity"]
        )
        assert 0 <= weighted[label]["specificity"] <= 1


@pytest.mark.parametrize("average", ["binary", "micro", "macro", "weighted", None])
def test_weighted_specificity_equals_repeating_rows(average):
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3 if average != "binary" else 2, 40)
    y_pred = np.where(rng.random(40) < 0.7, y_true, rng.integers(0, 3, 40) % 2)
    weights = rng.integers(1, 5, 40)
    weighted = specificity_score(y_true, y_pred, average=average, sample_weight=weights)
    repeated = specificity_score(
        np.repeat(y_true, weights), np.repeat(y_pred, weights), average=average
    )
    assert_allclose(weighted, repeated)


def test_a_class_absent_from_y_true_has_nan_aucs():
    with pytest.warns(UserWarning, match="not in y_true"):  # balanced accuracy's
        report = imbalance_report(
            [0, 0, 1, 1], [0, 0, 1, 2], np.eye(3)[[0, 0, 1, 2]], zero_division=0
        )
    assert math.isnan(report["2"]["roc_auc"])
    assert report["2"]["support"] == 0


def test_text_form_lists_every_class_and_score():
    text = imbalance_report(Y_TRUE, Y_PRED, SCORE, output_dict=False, digits=3)
    assert isinstance(text, str)
    for word in ("precision", "specificity", "balanced acc", "ROC AUC", "PR AUC"):
        assert word in text
    roc = imbalance_report(Y_TRUE, Y_PRED, SCORE)["roc_auc"]
    assert f"{roc:.3f}" in text
    assert "ROC AUC" not in imbalance_report(Y_TRUE, Y_PRED, output_dict=False)


# -- bad input ----------------------------------------------------------------


def test_empty_input_fails_clearly():
    with pytest.raises(ValueError, match="must not be empty"):
        imbalance_report([], [])
    with pytest.raises(ValueError, match="must not be empty"):
        specificity_score([], [])


def test_negative_sample_weight_fails_clearly():
    weights = np.ones(len(Y_TRUE))
    weights[7] = -1  # would give f1 2.0 and specificity -1.0
    with pytest.raises(ValueError, match="sample_weight"):
        imbalance_report(Y_TRUE, Y_PRED, SCORE, sample_weight=weights)
    with pytest.raises(ValueError, match="sample_weight"):
        specificity_score(Y_TRUE, Y_PRED, sample_weight=weights)
    weights[7] = np.nan
    with pytest.raises(ValueError, match="sample_weight"):
        imbalance_report(Y_TRUE, Y_PRED, sample_weight=weights)


@pytest.mark.parametrize("missing", [None, np.nan])
def test_missing_labels_are_named(missing):
    y_true = Y_TRUE.astype(object)
    y_true[3] = missing
    with pytest.raises(ValueError, match=r"y_true has missing labels.*\b3\b"):
        imbalance_report(y_true, Y_PRED)
    y_pred = Y_PRED.astype(object)
    y_pred[4] = missing
    with pytest.raises(ValueError, match=r"y_pred has missing labels.*\b4\b"):
        specificity_score(Y_TRUE, y_pred)


def test_pos_label_and_digits_are_checked():
    y = [0, 1, 1, 0]
    with pytest.raises(ValueError, match=r"pos_label='c' is not one of the labels"):
        imbalance_report(y, y, [0.1, 0.9, 0.8, 0.2], pos_label="c")
    with pytest.raises(ValueError, match="digits must be an int >= 0; got -1"):
        imbalance_report(y, y, output_dict=False, digits=-1)


# -- multi-label indicators ---------------------------------------------------


def multilabel_data(seed=0, n=60, n_labels=4):
    """An indicator, predictions right ~80% of the time, and noisy scores."""
    rng = np.random.default_rng(seed)
    Y_true = (rng.random((n, n_labels)) < [0.1, 0.3, 0.5, 0.2][:n_labels]).astype(int)
    Y_true[:n_labels, :] = np.eye(n_labels, dtype=int)  # every label present
    score = np.clip(Y_true * 0.4 + rng.random((n, n_labels)) * 0.6, 0, 1)
    Y_pred = (score > 0.5).astype(int)
    return Y_true, Y_pred, score


def test_multilabel_report_agrees_with_scikit_learn():
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        f1_score,
        hamming_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    Y_true, Y_pred, score = multilabel_data()
    names = ["Bottle", "Can", "Cigarette", "Paper"]
    report = imbalance_report(
        Y_true, Y_pred, score, target_names=names, zero_division=0
    )
    scorers = {"precision": precision_score, "recall": recall_score}
    scorers["f1-score"] = f1_score
    for key, scorer in scorers.items():
        per_label = scorer(Y_true, Y_pred, average=None, zero_division=0)
        for k, name in enumerate(names):
            assert report[name][key] == pytest.approx(per_label[k])
        for avg in ("micro", "macro", "samples"):
            assert report[f"{avg} avg"][key] == pytest.approx(
                scorer(Y_true, Y_pred, average=avg, zero_division=0)
            ), (key, avg)
    aps = average_precision_score(Y_true, score, average=None)
    aucs = roc_auc_score(Y_true, score, average=None)
    for k, name in enumerate(names):
        assert report[name]["average_precision"] == pytest.approx(aps[k])
        assert report[name]["average_precision"] == pytest.approx(
            ap_by_definition(Y_true[:, k] == 1, score[:, k])
        )
        assert report[name]["roc_auc"] == pytest.approx(aucs[k])
        tp, fp, fn, tn = counts(Y_true[:, k], Y_pred[:, k], 1)
        assert report[name]["specificity"] == pytest.approx(tn / (tn + fp))
        assert report[name]["support"] == Y_true[:, k].sum()
    for avg in ("micro", "macro"):
        assert report[f"{avg} avg"]["average_precision"] == pytest.approx(
            average_precision_score(Y_true, score, average=avg)
        )
        assert report[f"{avg} avg"]["roc_auc"] == pytest.approx(
            roc_auc_score(Y_true, score, average=avg)
        )
    assert report["average_precision"] == report["macro avg"]["average_precision"]
    assert report["subset_accuracy"] == pytest.approx(accuracy_score(Y_true, Y_pred))
    assert report["hamming_loss"] == pytest.approx(hamming_loss(Y_true, Y_pred))
    assert report["macro avg"]["support"] == Y_true.sum()


def test_multilabel_report_with_sample_weight_and_a_subset_of_labels():
    from sklearn.metrics import f1_score

    Y_true, Y_pred, score = multilabel_data(1)
    weights = np.random.default_rng(1).integers(1, 4, len(Y_true))
    report = imbalance_report(
        Y_true, Y_pred, score, labels=[2, 0], sample_weight=weights, zero_division=0
    )
    assert list(report)[:2] == ["2", "0"]
    assert "1" not in report
    for avg in ("micro", "macro", "samples"):
        assert report[f"{avg} avg"]["f1-score"] == pytest.approx(
            f1_score(
                Y_true,
                Y_pred,
                labels=[2, 0],
                average=avg,
                sample_weight=weights,
                zero_division=0,
            )
        )
    repeated = imbalance_report(
        np.repeat(Y_true[:, [2, 0]], weights, axis=0),
        np.repeat(Y_pred[:, [2, 0]], weights, axis=0),
        np.repeat(score[:, [2, 0]], weights, axis=0),
        zero_division=0,
    )
    for key in ("specificity", "average_precision", "roc_auc"):
        assert report["2"][key] == pytest.approx(repeated["0"][key])
        assert report["micro avg"][key] == pytest.approx(repeated["micro avg"][key])


def test_multilabel_text_report_names_every_label_and_average():
    Y_true, Y_pred, score = multilabel_data()
    names = ["Bottle", "Can", "Cigarette", "Paper"]
    kwargs = dict(target_names=names, zero_division=0)
    text = imbalance_report(
        Y_true, Y_pred, score, output_dict=False, digits=3, **kwargs
    )
    report = imbalance_report(Y_true, Y_pred, score, **kwargs)
    lines = {line.strip().split("  ")[0]: line for line in text.splitlines()}
    for row in [*names, "micro avg", "macro avg", "samples avg"]:
        assert f"{report[row]['f1-score']:.3f}" in lines[row]
        assert lines[row].split()[-1] == str(report[row]["support"])
    assert f"{report['macro avg']['average_precision']:.3f}" in lines["macro avg"]
    assert f"{report['subset_accuracy']:.3f}" in lines["subset acc"]
    assert "pr_auc" in text.splitlines()[0]
    assert "pr_auc" not in imbalance_report(
        Y_true, Y_pred, output_dict=False, zero_division=0
    )


def test_multilabel_label_absent_from_y_true_has_nan_aucs_left_out_of_macro():
    Y_true, Y_pred, score = multilabel_data()
    Y_true[:, 3] = 0
    report = imbalance_report(Y_true, Y_pred, score, zero_division=0)
    assert math.isnan(report["3"]["average_precision"])
    assert report["3"]["support"] == 0
    assert report["macro avg"]["average_precision"] == pytest.approx(
        np.mean([report[str(k)]["average_precision"] for k in range(3)])
    )


def test_bool_indicators_and_one_column_targets():
    Y_true, Y_pred, score = multilabel_data()
    as_bool = imbalance_report(Y_true == 1, Y_pred == 1, zero_division=0)
    assert as_bool == imbalance_report(Y_true, Y_pred, zero_division=0)
    # One column is a 1D binary target, as in scikit-learn.
    column = imbalance_report(Y_true[:, [1]], Y_pred[:, [1]])
    assert column == imbalance_report(Y_true[:, 1], Y_pred[:, 1])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda yt, yp, s: (yt, yp[:, :3], s), "same shape"),
        (lambda yt, yp, s: (yt, yp[:, 0], s), "same shape|0/1 indicator of shape"),
        (lambda yt, yp, s: (yt, s, None), r"only 0 and 1.*row 0, column 0"),
        (lambda yt, yp, s: (yt, yp, s[:, :3]), r"y_score .* shape \(60, 4\)"),
        (lambda yt, yp, s: (yt, yp, s[:, 0]), r"y_score .* shape \(60, 4\)"),
        (lambda yt, yp, s: (yt.astype(str), yp, s), "0/1 indicator"),
        (lambda yt, yp, s: (yt[:0], yp[:0], None), "must not be empty"),
    ],
)
def test_bad_multilabel_input_fails_clearly(change, match):
    Y_true, Y_pred, score = change(*multilabel_data())
    with pytest.raises(ValueError, match=match):
        imbalance_report(Y_true, Y_pred, score)


def test_multilabel_labels_target_names_and_pos_label_are_checked():
    Y_true, Y_pred, _ = multilabel_data()
    with pytest.raises(ValueError, match=r"column indices.*0\.\.3; got \[4\]"):
        imbalance_report(Y_true, Y_pred, labels=[4])
    with pytest.raises(ValueError, match="column indices"):
        imbalance_report(Y_true, Y_pred, labels=["Bottle"])
    with pytest.raises(ValueError, match="target_names has 2 names for 4 labels"):
        imbalance_report(Y_true, Y_pred, target_names=["a", "b"])
    with pytest.raises(ValueError, match="pos_label is for 1D targets"):
        imbalance_report(Y_true, Y_pred, pos_label=1)
    with pytest.raises(ValueError, match="sample_weight"):
        imbalance_report(Y_true, Y_pred, sample_weight=-np.ones(len(Y_true)))


# ------------------------------------------------------------ tune_thresholds


def f1_at(y, score, threshold):
    from sklearn.metrics import f1_score

    return f1_score(y, score >= threshold)


@pytest.mark.parametrize(
    "y, score",
    [
        # the best cut takes the two images scored exactly 1.0 (saturated)
        ([1, 1, 0, 0, 0], [1.0, 1.0, 0.9999995, 0.2, 0.1]),
        # the best cut is a probability under a millionth
        ([1, 1, 0, 0], [0.9, 5e-7, 0.0, 0.0]),
    ],
    ids=["at-one", "near-zero"],
)
def test_tuned_thresholds_reach_the_best_cut_on_saturated_probabilities(y, score):
    y, score = np.array(y), np.array(score)
    threshold = tune_thresholds(y[:, None], score[:, None])[0]
    assert 0 < threshold < 1
    assert f1_at(y, score, threshold) == 1.0


def test_tune_thresholds_refuses_scores_that_are_not_probabilities():
    y = np.array([[1], [1], [0], [0], [0]])
    decision = np.array([[3.2], [2.5], [1.1], [-0.4], [-2.0]])
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*-2 to 3.2"):
        tune_thresholds(y, decision)
    with pytest.raises(ValueError, match="probabilities in"):
        tune_thresholds(y, decision * 0 + 50)  # percentages


def test_tune_thresholds_takes_per_label_probability_lists_and_checks_default():
    # scikit-learn's forests give one (n, 2) array per label
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    stacked = np.array([[0.8, 0.1], [0.1, 0.7], [0.6, 0.5], [0.3, 0.2]])
    as_list = [np.stack([1 - stacked[:, k], stacked[:, k]], axis=1) for k in (0, 1)]
    assert_allclose(tune_thresholds(y, as_list), tune_thresholds(y, stacked))
    with pytest.raises(ValueError, match=r"y_score\[0\] has 1 column"):
        tune_thresholds(y, [stacked[:, :1], as_list[1]])
    with pytest.raises(ValueError, match="'default' parameter.*got '0.5'"):
        tune_thresholds(y, stacked, default="0.5")
    with pytest.raises(ValueError, match="y_true holds a list of labels per sample"):
        tune_thresholds([[0], [1], [0, 1], []], stacked)
