"""Seeing why a model decides: Grad-CAM heatmaps."""

from ._grad_cam import grad_cam

__all__ = ["grad_cam"]
