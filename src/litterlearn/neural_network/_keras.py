"""Keras, imported lazily, and the few Keras facts the estimators share.

Keras (and TensorFlow) are imported the first time a model is built, never
when litterlearn is imported: :func:`_import_keras` is the only door.
"""

from __future__ import annotations

import os

from ..utils._tensorflow import _configure_tensorflow_once

# Keras 3 picks its backend when first imported; litterlearn needs TensorFlow
# unless the user chose otherwise before importing us.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ start-up lines (CPU instructions, "absl::InitializeLog")
# obey TF_CPP_MIN_LOG_LEVEL only when it is set before TensorFlow is
# imported, which is done here at the latest; a value the user set is kept.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

OPTIMIZERS = frozenset(
    {"adam", "adamw", "adamax", "nadam", "sgd", "rmsprop", "adagrad", "adadelta"}
)
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def _import_keras():
    """Import and return ``keras``, configuring TensorFlow once per process.

    See :func:`litterlearn.utils.configure_tensorflow` for what the one-time
    configuration does and when it applies.
    """
    _configure_tensorflow_once()
    import keras

    return keras


def _sublayers(layer):
    """Every layer inside ``layer`` (nested models included), depth first.

    The one walk over a model's layers: each layer comes before its own
    sublayers, in the order of ``layer.layers``.
    """
    for sub in getattr(layer, "layers", None) or []:
        yield sub
        yield from _sublayers(sub)


def _leaf_layers(layer):
    """The layers of ``layer`` that hold no sublayers (or ``layer`` itself)."""
    if not getattr(layer, "layers", None):
        yield layer
        return
    for sub in _sublayers(layer):
        if not getattr(sub, "layers", None):
            yield sub


def _inner_optimizer(optimizer):
    """The optimizer a ``LossScaleOptimizer`` wraps, or ``optimizer`` itself."""
    return getattr(optimizer, "inner_optimizer", optimizer)
