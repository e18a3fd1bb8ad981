"""Keras, imported lazily, and the few Keras facts the estimators share.

Keras (and TensorFlow) are imported the first time a model is built, never
when litterlearn is imported: :func:`_import_keras` is the only door.
"""

from __future__ import annotations

from ..utils._tensorflow import _configure_tensorflow_once

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

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"litterlearn's models need Keras' TensorFlow backend, but Keras "
            f"runs on {backend!r} in this process (chosen by the KERAS_BACKEND "
            f"environment variable or ~/.keras/keras.json). Set "
            f"KERAS_BACKEND=tensorflow before Keras is first imported."
        )
    return keras


def _import_tensorflow():
    """Import and return ``tensorflow`` through the same door as Keras.

    Every module that needs TensorFlow itself imports it here, so the first
    use in a process, whichever it is, configures TensorFlow before its
    runtime starts and keeps its start-up lines off the console.
    """
    _import_keras()
    import tensorflow as tf

    return tf


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
