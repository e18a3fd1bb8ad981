"""Learning rates per variable: layer-wise rate decay for fine-tuning.

Keras optimizers have one learning rate for all variables. Fine-tuning a
pretrained backbone with a rate that shrinks block by block into the network
(timm's "layer decay", fastai's discriminative rates with ``slice``) needs one
per variable. :func:`with_rate_factors` returns a copy of an optimizer whose
update of each variable uses the optimizer's rate times that variable's
factor: a subclass of the optimizer's own class (``LayerRateAdam`` for
``Adam``...) whose ``update_step`` scales the rate it is given. Every Keras
optimizer's update is proportional to that rate, so the factor scales the
step exactly, momentum and adaptive state included; weight decay, applied
with the optimizer's rate before the step, is not scaled.

The subclasses are registered Keras serializables (``litterlearn>LayerRate``
+ the class name) and keep the factors in their configuration, by variable
path, so a compiled model saves and loads with them. Those of Keras' own
optimizers are defined when this module is imported; another optimizer
class gets its subclass on first use.

This module imports Keras: import it inside the functions that compile.
"""

from __future__ import annotations

import copy
import threading

import keras

from ..utils._sklearn_compat import optimizer_variable_index


class _LayerRateMixin:
    """``update_step`` at the optimizer's rate times the variable's factor."""

    _litterlearn_layer_rate = True

    def __init__(self, *args, rate_factors=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.rate_factors = {str(k): float(v) for k, v in (rate_factors or {}).items()}
        self._variable_factors = None

    def build(self, var_list):
        super().build(var_list)
        self._variable_factors = [
            self.rate_factors.get(variable.path, 1.0) for variable in var_list
        ]

    def update_step(self, gradient, variable, learning_rate):
        factor = 1.0
        if self._variable_factors is not None:
            factor = self._variable_factors[optimizer_variable_index(self, variable)]
        if factor != 1.0:
            learning_rate = keras.ops.multiply(learning_rate, factor)
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "rate_factors": dict(self.rate_factors)}


def _define(base):
    cls = type(
        f"LayerRate{base.__name__}",
        (_LayerRateMixin, base),
        {
            "__doc__": f"{base.__name__} with a learning-rate factor per variable.",
            "__module__": __name__,
        },
    )
    return keras.saving.register_keras_serializable(package="litterlearn")(cls)


_CLASSES = {
    base: _define(base)
    for base in (
        keras.optimizers.Adam,
        keras.optimizers.AdamW,
        keras.optimizers.Adamax,
        keras.optimizers.Nadam,
        keras.optimizers.SGD,
        keras.optimizers.RMSprop,
        keras.optimizers.Adagrad,
        keras.optimizers.Adadelta,
    )
}
globals().update({cls.__name__: cls for cls in _CLASSES.values()})
_LOCK = threading.Lock()


def layer_rate_class(base):
    """The ``LayerRate`` subclass of optimizer class ``base``."""
    if getattr(base, "_litterlearn_layer_rate", False):
        return base
    with _LOCK:
        cls = _CLASSES.get(base)
        if cls is None:
            cls = _CLASSES[base] = _define(base)
    return cls


def with_rate_factors(optimizer, factors):
    """A new optimizer like ``optimizer``, with per-variable rate ``factors``.

    Parameters
    ----------
    optimizer : keras.optimizers.Optimizer
        Not built yet (its configuration is copied).
    factors : dict of str to float
        ``{variable path: factor}``; variables not listed train at factor 1.
    """
    cls = layer_rate_class(type(optimizer))
    config = optimizer.get_config()
    config.pop("rate_factors", None)
    return cls.from_config({**config, "rate_factors": dict(factors)})


def copy_optimizer(optimizer, **config):
    """A new, unbuilt optimizer like ``optimizer``, with ``config`` entries set.

    Copied through the optimizer's own class (``from_config``), not
    ``keras.optimizers.deserialize``, which knows some of Keras' optimizer
    classes only (not ``Lamb``, say). A ``LossScaleOptimizer`` takes no
    learning rate nor weight decay of its own: the optimizer it wraps is
    copied with ``config`` and wrapped again with the same loss scaling.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        inner = copy_optimizer(optimizer.inner_optimizer, **config)
        return keras.optimizers.LossScaleOptimizer(inner, **loss_scaling(optimizer))
    return type(optimizer).from_config({**optimizer.get_config(), **config})


def loss_scaling(optimizer):
    """The settings of a ``LossScaleOptimizer`` (those of the optimizer it
    wraps left out), or None for another optimizer."""
    if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return None
    config = optimizer.get_config()
    return {k: v for k, v in config.items() if k not in ("inner_optimizer", "name")}


def check_schedule_rebuilds(schedule, name):
    """Raise a clear error if Keras cannot rebuild ``schedule`` from its config.

    ``schedule`` is a ``LearningRateSchedule`` or its serialized config (as
    an optimizer's ``get_config()`` holds it). A fit copies the optimizer
    through its configuration, and pickling saves the model in Keras'
    format: both rebuild the schedule, which Keras' own message then blames
    on the optimizer. ``name`` is the parameter that holds it.
    """
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        config = keras.optimizers.schedules.serialize(schedule)
    else:
        config = copy.deepcopy(schedule)
    try:
        keras.saving.deserialize_keras_object(copy.deepcopy(config))
    except Exception as exc:
        class_name = config.get("class_name", config)
        holds = "is" if name == "learning_rate_schedule" else "holds"
        raise ValueError(
            f"{name} {holds} a learning-rate schedule of class {class_name!r}, "
            f"which Keras cannot rebuild from its configuration (a fit copies "
            f"it, and pickling saves the model in Keras' format): define the "
            f"class at a module's top level and register it with "
            f"@keras.saving.register_keras_serializable(), with a get_config() "
            f"that returns its constructor's arguments."
        ) from exc


def custom_objects():
    """Every ``LayerRate`` class made so far, by registered name."""
    with _LOCK:
        classes = list(_CLASSES.values())
    return {f"litterlearn>{cls.__name__}": cls for cls in classes}
