"""Ensembles of predictions: test-time augmentation."""

from ._tta import TestTimeAugmentationClassifier

__all__ = ["TestTimeAugmentationClassifier"]
