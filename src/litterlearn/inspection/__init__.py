"""Seeing why a model decides: Grad-CAM heatmaps (DESIGN.md section 3.4)."""

from ._grad_cam import grad_cam

__all__ = ["grad_cam"]
