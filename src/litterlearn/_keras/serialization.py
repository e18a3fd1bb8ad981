"""Pickling of fitted estimators: the Keras model in Keras' own format.

A model travels as the bytes of a ``.keras`` file, never as pickled code, and
is loaded with ``safe_mode=True``. Custom layers must be registered Keras
serializables (``keras.saving.register_keras_serializable``), or given by the
estimator's ``_custom_objects`` hook, so they are found at load time:
loading imports litterlearn's own Keras classes (``layers``, ``losses``,
``optimizers``) first, which registers them.
"""

from __future__ import annotations

import pathlib
import tempfile

from . import import_keras


def save_model_bytes(model):
    """The model as the bytes of a ``.keras`` file (Keras' own format)."""
    import_keras()
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()


def load_model_bytes(data, custom_objects=None):
    """Load a model from ``.keras`` bytes (never unpickling code).

    ``custom_objects`` maps the names of custom layers (or other Keras
    objects) to their classes, for those not registered as serializables.
    """
    keras = import_keras()
    from . import layers, losses, optimizers  # noqa: F401  (registers them)

    custom_objects = {**optimizers.custom_objects(), **(custom_objects or {})}
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "model.keras"
        path.write_bytes(data)
        try:
            return keras.saving.load_model(
                path, custom_objects=custom_objects, safe_mode=True
            )
        except ValueError as exc:
            # Keras saves no trainable flags inside a custom layer (a KerasHub
            # backbone's): a model saved with part of one trainable comes back
            # with an optimizer of other variables. Its weights load; only
            # the optimizer's state is lost (the next fit compiles anew).
            if "optimizer" not in str(exc):
                raise
            return keras.saving.load_model(
                path, custom_objects=custom_objects, safe_mode=True, compile=False
            )
