"""Metrics for imbalanced classification (what scikit-learn lacks)."""

from ._imbalance import imbalance_report, specificity_score
from ._thresholds import tune_thresholds

__all__ = ["imbalance_report", "specificity_score", "tune_thresholds"]
