"""Metrics for imbalanced classification (what scikit-learn lacks)."""

from ._calibration import brier_score, expected_calibration_error
from ._imbalance import imbalance_report, specificity_score
from ._thresholds import tune_thresholds

__all__ = [
    "brier_score",
    "expected_calibration_error",
    "imbalance_report",
    "specificity_score",
    "tune_thresholds",
]
