"""Pickling of fitted estimators: the Keras model in Keras' own format.

A model travels as the bytes of a ``.keras`` file, never as pickled code, and
is loaded with ``safe_mode=True``. Custom layers must be registered Keras
serializables (``keras.saving.register_keras_serializable``), or given by the
estimator's ``_custom_objects`` hook, so they are found at load time. The
learning-rate schedules of ``_schedules.py`` are always found: loading
defines them first.
"""

from __future__ import annotations

import pathlib
import tempfile

from ._keras import _import_keras
from ._schedules import schedule_custom_objects


def _save_model_bytes(model):
    """The model as the bytes of a ``.keras`` file (Keras' own format)."""
    _import_keras()
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()


def _load_model_bytes(data, custom_objects=None):
    """Load a model from ``.keras`` bytes (never unpickling code).

    ``custom_objects`` maps the names of custom layers (or other Keras
    objects) to their classes, for those not registered as serializables.
    """
    keras = _import_keras()
    # A model compiled with a schedule needs its class, defined lazily.
    custom_objects = {**schedule_custom_objects(), **(custom_objects or {})}
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "model.keras"
        path.write_bytes(data)
        return keras.saving.load_model(
            path, custom_objects=custom_objects, safe_mode=True
        )
