"""The neutral Keras layer: the only code that creates Keras or TensorFlow objects.

Importing this package imports neither: :func:`import_keras` is the only door,
called the first time a model is built. Its modules hold every Keras subclass
litterlearn defines at module level (``layers``, ``losses``, ``optimizers``,
``callbacks``, ``data``) and import Keras at their top, so they are imported
only inside the functions that need them; the others (``state``, ``pool``,
``weights``, ``predict``, ``distribute``, ``batchnorm``, ``serialization``)
import Keras lazily through :func:`import_keras`.

Import rule: ``utils <- _keras <- _backbones <- {neural_network,
preprocessing, inspection} <- {ensemble, plotting, _demo}``.
"""

from __future__ import annotations

from ..utils._tensorflow import _configure_tensorflow_once, keras_backend_error

OPTIMIZERS = frozenset(
    {"adam", "adamw", "adamax", "nadam", "sgd", "rmsprop", "adagrad", "adadelta"}
)
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def import_keras():
    """Import and return ``keras``, configuring TensorFlow once per process.

    See :func:`litterlearn.utils.configure_tensorflow` for what the one-time
    configuration does and when it applies.
    """
    # Checked before Keras is imported: Keras' own errors for a backend it
    # cannot load name neither the setting nor what litterlearn needs.
    error = keras_backend_error()
    if error is not None:
        raise error
    _configure_tensorflow_once()
    import keras

    error = keras_backend_error(keras.backend.backend())
    if error is not None:
        raise error
    return keras


def import_tensorflow():
    """Import and return ``tensorflow`` through the same door as Keras."""
    import_keras()
    import tensorflow as tf

    return tf


def sublayers(layer):
    """Every layer inside ``layer`` (nested models included), depth first.

    The one walk over a model's layers: each layer comes before its own
    sublayers, in the order of ``layer.layers``.
    """
    for sub in getattr(layer, "layers", None) or []:
        yield sub
        yield from sublayers(sub)


def leaf_layers(layer):
    """The layers of ``layer`` that hold no sublayers (or ``layer`` itself)."""
    if not getattr(layer, "layers", None):
        yield layer
        return
    for sub in sublayers(layer):
        if not getattr(sub, "layers", None):
            yield sub


def make_trainable(layer):
    """Make ``layer`` and all its sublayers trainable.

    (``model.trainable = True`` does not reach the layers of a functional
    model.)
    """
    for sub in [layer, *sublayers(layer)]:
        sub.trainable = True


def inner_optimizer(optimizer):
    """The optimizer a ``LossScaleOptimizer`` wraps, or ``optimizer`` itself."""
    return getattr(optimizer, "inner_optimizer", optimizer)


class DivergenceError(ValueError):
    """A fit stopped because its training loss blew up or became non-finite."""
