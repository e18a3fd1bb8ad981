"""litterlearn: scikit-learn compatible deep learning on small image datasets.

Subpackages are imported on first use, so ``import litterlearn`` is cheap and
never imports TensorFlow or Keras (those load when a model is first built).
"""

import importlib

__version__ = "0.1.0.dev0"

_SUBMODULES = [
    "active_learning",
    "datasets",
    "ensemble",
    "export",
    "inspection",
    "metrics",
    "model_selection",
    "neural_network",
    "plotting",
    "preprocessing",
    "utils",
]

__all__ = [*_SUBMODULES, "__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
