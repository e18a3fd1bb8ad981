"""expected_calibration_error, brier_score and the imbalance report's line."""

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss

from litterlearn.metrics import (
    brier_score,
    expected_calibration_error,
    imbalance_report,
)


@pytest.fixture
def calibrated(rng):
    """Labels drawn from the probabilities themselves: calibrated by design."""
    proba = rng.dirichlet(np.ones(4) * 0.5, size=20000)
    y = (rng.random((len(proba), 1)) > proba.cumsum(axis=1)).sum(axis=1)
    return y, proba


def test_ece_is_near_zero_when_calibrated_and_the_gap_when_not(calibrated):
    y, proba = calibrated
    assert expected_calibration_error(y, proba) < 0.02
    # Sharpen every distribution: the confidence rises, the accuracy stays.
    sharp = proba**3 / (proba**3).sum(axis=1, keepdims=True)
    gap = sharp.max(axis=1).mean() - (sharp.argmax(axis=1) == y).mean()
    assert expected_calibration_error(y, sharp) == pytest.approx(gap, abs=0.02)


def test_brier_score_is_scikit_learns(calibrated, rng):
    y, proba = calibrated
    assert brier_score(y, proba) == pytest.approx(
        brier_score_loss(y, proba, labels=[0, 1, 2, 3])
    )
    y2, p = rng.integers(0, 2, 50), rng.random(50)
    assert brier_score(y2, p) == pytest.approx(brier_score_loss(y2, p))
    assert brier_score(y2, np.column_stack([1 - p, p])) == pytest.approx(
        brier_score_loss(y2, p)
    )


def test_report_has_calibration_only_for_probabilities(rng):
    y = rng.integers(0, 2, 40)
    p = rng.random(40)
    pred = (p > 0.5).astype(int)
    report = imbalance_report(y, pred, p)
    assert report["ece"] == pytest.approx(expected_calibration_error(y, p))
    assert report["brier"] == pytest.approx(brier_score(y, p))
    # Scores that are not probabilities (decision_function) get no such line.
    report = imbalance_report(y, pred, 4 * p - 2)
    assert "ece" not in report and "roc_auc" in report
    # The score of the negative class as pos_label: its own probability.
    report = imbalance_report(y, pred, 1 - p, pos_label=0)
    assert report["brier"] == pytest.approx(brier_score(y, p))


def test_bad_probabilities_are_refused():
    with pytest.raises(ValueError, match="probabilities in"):
        expected_calibration_error([0, 1], [-1.0, 2.0])
    with pytest.raises(ValueError, match="one column per label"):
        brier_score([0, 1, 2], np.full((3, 2), 0.5))
