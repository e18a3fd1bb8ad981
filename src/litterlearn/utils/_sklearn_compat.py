"""Private names of scikit-learn, Keras and joblib that litterlearn uses, in one place.

These libraries do not promise to keep their private modules and names.
They are imported (or reached) here only, so a release that moves one breaks
this file, not the estimators (imbalanced-learn keeps the same kind of
module); ``tests/test_seams.py`` checks that no other module imports them.
Keras is imported inside the functions only.
"""

from __future__ import annotations

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import _check_sample_weight, _num_samples

__all__ = [
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "_num_samples",
    "_safe_indexing",
    "early_stopping_restored_epoch",
    "joblib_dask_backend_class",
    "keras_home",
    "optimizer_variable_index",
    "own_tracing_stats",
    "run_through_graph",
    "validate_params",
]


def joblib_dask_backend_class():
    """joblib's ``DaskDistributedBackend`` class (imports distributed)."""
    from joblib._dask import DaskDistributedBackend

    return DaskDistributedBackend


def keras_home():
    """Keras' home folder (``$KERAS_HOME``, ``~/.keras`` by default).

    What ``keras.utils.get_file`` uses; not in Keras' public API, so the
    documented default is the fallback.
    """
    import os

    try:
        from keras.src.backend.config import keras_home as home
    except ImportError:
        return os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))
    return home()


def run_through_graph(model, inputs, operation_fn):
    """Keras' graph executor of a functional ``model`` (``Functional.call``'s
    loop) with ``operation_fn(operation)`` giving the callable of each
    operation; None when ``model`` has no such executor."""
    run = getattr(model, "_run_through_graph", None)
    if run is None:
        return None
    return run(inputs, operation_fn=operation_fn)


def early_stopping_restored_epoch(callback):
    """The epoch whose weights a ``keras.callbacks.EarlyStopping`` restored.

    None when it restores nothing (Keras keeps ``best_weights`` and
    ``best_epoch`` as undocumented attributes).
    """
    if not getattr(callback, "restore_best_weights", False):
        return None
    if getattr(callback, "best_weights", None) is None:
        return None
    return int(callback.best_epoch)


def optimizer_variable_index(optimizer, variable):
    """The index of ``variable`` among the variables ``optimizer`` was built
    for (Keras' optimizers find their per-variable state with
    ``_get_variable_index`` in ``update_step``)."""
    return optimizer._get_variable_index(variable)


def own_tracing_stats(step_function):
    """Count the retraces of a Keras model's traced step function on its own.

    TensorFlow warns ("5 out of the last 5 calls to <function ...> triggered
    tf.function retracing") when half of a function's recent calls traced it,
    counting together every ``tf.function`` made from one piece of Python
    code (its private ``_key_for_call_stats``). Every Keras model's training
    and test functions come from the same code of Keras' trainer, so small
    fits of many models, each traced once as it must be, read as retracing.
    Keyed by the ``tf.function`` object itself (found in the closure of
    ``step_function``, Keras' ``model.train_function``), the count covers one
    model's function: a warning then means that function keeps retracing.
    """
    for cell in getattr(step_function, "__closure__", None) or ():
        try:
            function = cell.cell_contents
        except ValueError:  # a cell not filled yet
            continue
        if hasattr(function, "_key_for_call_stats"):
            function._key_for_call_stats = function
