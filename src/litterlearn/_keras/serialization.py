"""Pickling of fitted estimators: the Keras model in Keras' own format.

A model travels as the bytes of a ``.keras`` file, never as pickled code, and
is loaded with ``safe_mode=True``. Custom layers must be registered Keras
serializables (``keras.saving.register_keras_serializable``), or given by the
estimator's ``_custom_objects`` hook, so they are found at load time:
loading imports litterlearn's own Keras classes (``layers``, ``losses``,
``optimizers``) first, which registers them. A model Keras' safe loading
would refuse (a ``Lambda`` layer's Python code, an unregistered custom
class) is refused when it is saved, with what to do, rather than written as
a pickle nothing can load.
"""

from __future__ import annotations

import pathlib
import tempfile

from . import import_keras

# Packages whose classes Keras' loading finds by importing their module.
_KERAS_PACKAGES = frozenset({"keras", "keras_hub", "keras_cv", "keras_nlp"})


def _layers_with_paths(layer, path=""):
    """``(path, layer)`` for every layer inside ``layer``, depth first."""
    for sub in getattr(layer, "layers", None) or []:
        sub_path = f"{path}/{sub.name}" if path else sub.name
        yield sub_path, sub
        yield from _layers_with_paths(sub, sub_path)


def _unloadable_reason(keras, layer, custom_objects):
    """Why Keras' safe loading would not rebuild ``layer``, or None."""
    cls = type(layer)
    if cls.__module__.split(".")[0] not in _KERAS_PACKAGES:
        name = keras.saving.get_registered_name(cls)
        if keras.saving.get_registered_object(name, custom_objects) is not cls:
            return (
                f"is an instance of {cls.__qualname__}, a custom class Keras cannot "
                f"find when it loads. Register it with "
                f"@keras.saving.register_keras_serializable() where it is defined"
            )
    if isinstance(layer, keras.layers.Lambda):
        # Cheap (a Lambda holds no weights) and exactly what loading does.
        try:
            keras.saving.deserialize_keras_object(
                keras.saving.serialize_keras_object(layer),
                custom_objects=custom_objects,
                safe_mode=True,
            )
        except Exception:  # Keras raises ValueError or TypeError here
            return (
                "is a keras.layers.Lambda, whose Python function Keras' safe "
                "loading refuses to run (it could run any code). Replace it with "
                "a custom layer registered with "
                "@keras.saving.register_keras_serializable() (or register a "
                "named function it calls)"
            )
    return None


def check_loadable(model, custom_objects=None):
    """Raise a TypeError when Keras' safe loading could not rebuild ``model``.

    Pickling, ``copy.deepcopy`` and joblib store the model as ``.keras``
    bytes loaded in safe mode; a model holding a ``Lambda`` layer or an
    unregistered custom class saves, but never loads again.
    """
    keras = import_keras()
    from . import layers, losses, optimizers  # noqa: F401  (registers them)

    custom_objects = {**optimizers.custom_objects(), **(custom_objects or {})}
    for path, layer in _layers_with_paths(model):
        reason = _unloadable_reason(keras, layer, custom_objects)
        if reason is not None:
            raise TypeError(
                f"Cannot pickle or copy the fitted model: its layer {path!r} "
                f"{reason}. A pickled model is loaded in Keras' safe mode, so "
                f"this one could never be loaded back. An unfitted estimator "
                f"(sklearn.clone) copies without its model."
            )


def save_model_bytes(model, custom_objects=None):
    """The model as the bytes of a ``.keras`` file (Keras' own format).

    Raises a TypeError, before saving, for a model that could not be loaded
    back (see :func:`check_loadable`); ``custom_objects`` as for
    :func:`load_model_bytes`.
    """
    check_loadable(model, custom_objects)
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
