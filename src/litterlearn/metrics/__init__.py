"""Metrics for imbalanced classification (what scikit-learn lacks)."""

from ._imbalance import imbalance_report, specificity_score

__all__ = ["imbalance_report", "specificity_score"]
