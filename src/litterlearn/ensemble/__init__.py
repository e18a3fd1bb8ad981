"""Ensembles of predictions: test-time augmentation (DESIGN.md section 3.4)."""

from ._tta import TestTimeAugmentationClassifier

__all__ = ["TestTimeAugmentationClassifier"]
