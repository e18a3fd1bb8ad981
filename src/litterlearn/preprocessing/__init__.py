"""Transformers and samplers for image rows."""

from ._augment import Augmenter
from ._coco_labeler import CocoBinaryLabeler, CocoMultiLabeler
from ._grayscale import GrayscaleNormalizer
from ._pretrained import PretrainedFeatures
from ._resize import ImageResizer

__all__ = [
    "GrayscaleNormalizer",
    "Augmenter",
    "CocoBinaryLabeler",
    "CocoMultiLabeler",
    "ImageResizer",
    "PretrainedFeatures",
]
