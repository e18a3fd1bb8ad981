"""Transformers and samplers for image rows."""

from ._grayscale import GrayscaleNormalizer

__all__ = ["GrayscaleNormalizer"]
