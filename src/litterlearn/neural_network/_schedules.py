"""Learning-rate schedules and decoupled weight decay for the estimators.

- :func:`make_schedule` turns a ``learning_rate_schedule`` parameter
  ("constant", "cosine", "one_cycle", or a Keras ``LearningRateSchedule``)
  into what an optimizer takes as ``learning_rate`` for one training phase;
- :func:`check_schedule` validates such a parameter;
- :func:`check_weight_decay` says what to pass an optimizer for a
  ``weight_decay`` parameter, or why it cannot take one.

The schedules are Keras classes, :class:`CosineAnnealing` and
:class:`OneCycle`, registered as ``litterlearn>CosineAnnealing`` and
``litterlearn>OneCycle``: a model compiled with one saves in Keras' format
and loads without code. They are defined the first time they are needed
(:func:`schedule_classes`), so that importing this module does not import
Keras; loading a saved model defines them first (``_serialization.py``).

The formulas, with ``s`` the optimizer's step (its ``iterations``, from 0,
minus ``start_step``), ``T`` the phase's number of steps and ``r`` the base
rate; ``s`` is clipped to ``[0, T]``, so each schedule holds its final rate
after ``T``:

- "cosine" (Loshchilov and Hutter's SGDR, one cycle, no restart):
  ``r * (1 + cos(pi * s / T)) / 2``; ``r`` at step 0, ``r / 2`` at ``T / 2``,
  0 at ``T``.
- "one_cycle" (Smith's one-cycle policy, with the rates of fastai's
  ``fit_one_cycle``: ``div=25``, ``div_final=1e4``, ``pct_start=0.3``): with
  ``W = warmup_fraction * T``, a linear warm-up
  ``r / 25 + (r - r / 25) * s / W`` for ``s < W``, then a cosine annealing
  ``r / 1e4 + (r - r / 1e4) * (1 + cos(pi * (s - W) / (T - W))) / 2``;
  ``r / 25`` at step 0, ``r`` at ``W``, ``r / 1e4`` at ``T``. (fastai warms
  up along a half cosine; the linear warm-up is Smith's and PyTorch's
  ``OneCycleLR(anneal_strategy="linear")`` one.)
"""

from __future__ import annotations

import inspect
import math
import numbers

from ..utils._sklearn_compat import HasMethods, StrOptions
from ._keras import _import_keras, _inner_optimizer

__all__ = [
    "SCHEDULES",
    "SCHEDULE_CONSTRAINTS",
    "check_schedule",
    "check_weight_decay",
    "make_schedule",
    "schedule_classes",
    "schedule_custom_objects",
]

SCHEDULES = ("constant", "cosine", "one_cycle")

# For an estimator's ``_parameter_constraints``: the names, or an object with
# a schedule's methods (without importing Keras); :func:`check_schedule`
# then checks that such an object is a Keras ``LearningRateSchedule``.
SCHEDULE_CONSTRAINTS = [
    StrOptions(set(SCHEDULES)),
    HasMethods(["__call__", "get_config"]),
]

# fastai's fit_one_cycle: start at base / 25, end at base / 1e4.
ONE_CYCLE_DIV = 25.0
ONE_CYCLE_DIV_FINAL = 1e4

_CLASSES = None


def schedule_classes():
    """The schedule classes ``(CosineAnnealing, OneCycle)``, defined once.

    Defined (and registered with Keras as ``litterlearn>CosineAnnealing``
    and ``litterlearn>OneCycle``) the first time this is called, which
    imports Keras.
    """
    global _CLASSES
    if _CLASSES is not None:
        return _CLASSES
    keras = _import_keras()
    ops = keras.ops

    def _progress(step, start_step, total_steps):
        s = ops.cast(step, "float32") - float(start_step)
        return ops.clip(s, 0.0, float(total_steps))

    @keras.saving.register_keras_serializable(package="litterlearn")
    class CosineAnnealing(keras.optimizers.schedules.LearningRateSchedule):
        """``base_rate * (1 + cos(pi * s / total_steps)) / 2``, then 0."""

        def __init__(self, base_rate, total_steps, start_step=0):
            self.base_rate = float(base_rate)
            self.total_steps = int(total_steps)
            self.start_step = int(start_step)

        def __call__(self, step):
            s = _progress(step, self.start_step, self.total_steps)
            cosine = 0.5 * (1.0 + ops.cos(math.pi * s / self.total_steps))
            return self.base_rate * cosine

        def get_config(self):
            return {
                "base_rate": self.base_rate,
                "total_steps": self.total_steps,
                "start_step": self.start_step,
            }

    @keras.saving.register_keras_serializable(package="litterlearn")
    class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
        """Linear warm-up to ``base_rate``, cosine annealing to its 1e-4."""

        def __init__(self, base_rate, total_steps, warmup_fraction=0.3, start_step=0):
            self.base_rate = float(base_rate)
            self.total_steps = int(total_steps)
            self.warmup_fraction = float(warmup_fraction)
            self.start_step = int(start_step)

        def __call__(self, step):
            s = _progress(step, self.start_step, self.total_steps)
            rate = self.base_rate
            low = rate / ONE_CYCLE_DIV
            final = rate / ONE_CYCLE_DIV_FINAL
            warmup = self.warmup_fraction * self.total_steps
            anneal = self.total_steps - warmup
            up = low + (rate - low) * s / max(warmup, 1e-12)
            cosine = 0.5 * (1.0 + ops.cos(math.pi * (s - warmup) / anneal))
            down = final + (rate - final) * cosine
            return ops.where(s < warmup, up, down)

        def get_config(self):
            return {
                "base_rate": self.base_rate,
                "total_steps": self.total_steps,
                "warmup_fraction": self.warmup_fraction,
                "start_step": self.start_step,
            }

    for cls in (CosineAnnealing, OneCycle):
        cls.__qualname__ = cls.__name__  # pickled by reference (see __getattr__)
    _CLASSES = (CosineAnnealing, OneCycle)
    return _CLASSES


def __getattr__(name):
    # The schedule classes as names of this module, defined on first use, so
    # that pickle finds them by reference.
    for cls in schedule_classes() if name in ("CosineAnnealing", "OneCycle") else ():
        if cls.__name__ == name:
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def schedule_custom_objects():
    """``{registered name: class}`` of the schedules, for loading a model."""
    return {f"litterlearn>{cls.__name__}": cls for cls in schedule_classes()}


def _is_schedule(value):
    if isinstance(value, str):
        return False
    keras = _import_keras()
    return isinstance(value, keras.optimizers.schedules.LearningRateSchedule)


def check_schedule(value, name="learning_rate_schedule"):
    """Return ``value`` if it is a valid schedule parameter, else raise.

    Valid: one of "constant", "cosine", "one_cycle", or an instance of
    ``keras.optimizers.schedules.LearningRateSchedule``. Keras is imported
    only for a value that is not a string.

    Raises
    ------
    ValueError
        Naming the valid options.
    """
    if isinstance(value, str) and value in SCHEDULES:
        return value
    if not isinstance(value, str) and _is_schedule(value):
        return value
    options = ", ".join(repr(s) for s in SCHEDULES)
    raise ValueError(
        f"{name} must be one of {options} or a "
        f"keras.optimizers.schedules.LearningRateSchedule instance; got "
        f"{value!r}."
    )


def _check_positive(value, name, *, integral=False):
    kind = numbers.Integral if integral else numbers.Real
    if (
        not isinstance(value, kind)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        what = "a positive int" if integral else "a positive finite number"
        raise ValueError(f"{name} must be {what}; got {value!r}.")


def make_schedule(kind, base_rate, total_steps, *, warmup_fraction=0.3, start_step=0):
    """The learning rate of one training phase: a float or a Keras schedule.

    Parameters
    ----------
    kind : {"constant", "cosine", "one_cycle"} or LearningRateSchedule
        "constant": ``base_rate`` itself (a float). "cosine" and
        "one_cycle": a new :class:`CosineAnnealing` or :class:`OneCycle`
        (formulas in the module's docstring). A Keras
        ``LearningRateSchedule`` is returned as it is (``base_rate`` and
        ``total_steps`` do not apply to it).
    base_rate : float
        The phase's learning rate (the peak of "one_cycle").
    total_steps : int
        Optimizer steps in the phase (epochs times steps per epoch): the
        schedule reaches its final rate there and stays.
    warmup_fraction : float, default=0.3
        "one_cycle" only: fraction of ``total_steps`` spent warming up, in
        ``[0, 1)``.
    start_step : int, default=0
        The optimizer's step (``iterations``) at which the phase begins,
        for an optimizer whose step count goes on from an earlier phase.

    Returns
    -------
    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule
    """
    check_schedule(kind)
    if not isinstance(kind, str):
        return kind
    _check_positive(base_rate, "base_rate")
    if kind == "constant":
        return float(base_rate)
    _check_positive(total_steps, "total_steps", integral=True)
    if (
        not isinstance(start_step, numbers.Integral)
        or isinstance(start_step, bool)
        or start_step < 0
    ):
        raise ValueError(f"start_step must be an int >= 0; got {start_step!r}.")
    cosine, one_cycle = schedule_classes()
    if kind == "cosine":
        return cosine(base_rate, total_steps, start_step=start_step)
    if (
        not isinstance(warmup_fraction, numbers.Real)
        or isinstance(warmup_fraction, bool)
        or not 0 <= warmup_fraction < 1
    ):
        raise ValueError(
            f"warmup_fraction must be a number in [0, 1); got {warmup_fraction!r}."
        )
    return one_cycle(
        base_rate, total_steps, warmup_fraction=warmup_fraction, start_step=start_step
    )


def check_weight_decay(optimizer, weight_decay):
    """What to pass ``optimizer`` for decoupled weight decay ``weight_decay``.

    Keras 3 optimizers take ``weight_decay`` in their constructor and apply
    it decoupled from the gradient, as AdamW does (Loshchilov and Hutter):
    each step, before the update, every trained variable ``w`` becomes
    ``w - learning_rate * weight_decay * w``, whatever the loss.

    Parameters
    ----------
    optimizer : str or keras.optimizers.Optimizer
        An optimizer name (as the estimators' ``optimizer`` parameter), or an
        instance (a ``LossScaleOptimizer`` is judged by the optimizer it
        wraps).
    weight_decay : float
        ``>= 0``. 0 (or None) asks for nothing: the optimizer keeps its own
        (Keras' ``AdamW`` has one by default).

    Returns
    -------
    kwargs : dict
        Keyword arguments for the optimizer's constructor (equally, entries
        for its ``get_config()`` before ``from_config``):
        ``{"weight_decay": weight_decay}``, or ``{}`` for 0.

    Raises
    ------
    ValueError
        For a negative or non-finite ``weight_decay``, an unknown optimizer
        name, or an optimizer class that does not take ``weight_decay``.
    """
    if weight_decay is None:
        weight_decay = 0.0
    if (
        not isinstance(weight_decay, numbers.Real)
        or isinstance(weight_decay, bool)
        or not math.isfinite(weight_decay)
        or weight_decay < 0
    ):
        raise ValueError(
            f"weight_decay must be a finite number >= 0; got {weight_decay!r}."
        )
    if isinstance(optimizer, str):
        keras = _import_keras()
        try:
            cls = type(keras.optimizers.get(optimizer))
        except ValueError as exc:
            raise ValueError(f"Unknown optimizer {optimizer!r}.") from exc
        instance = None
    else:
        instance = _inner_optimizer(optimizer)
        cls = type(instance)
    if not weight_decay:
        return {}
    kwargs = {"weight_decay": float(weight_decay)}
    label = repr(optimizer) if isinstance(optimizer, str) else cls.__name__
    reason = _weight_decay_refused(cls, instance, kwargs)
    if reason:
        raise ValueError(
            f"weight_decay={weight_decay!r} cannot be applied: the optimizer "
            f"{label} ({cls.__module__}.{cls.__qualname__}) {reason}. Use an "
            f"optimizer that takes weight_decay (every Keras optimizer does, "
            f"e.g. 'adamw' or 'sgd'), or weight_decay=0."
        )
    return kwargs


def _weight_decay_refused(cls, instance, kwargs):
    """Why ``cls`` cannot take ``kwargs`` (a phrase), or None."""
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # no signature: try it below
        parameters = {}
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    if parameters and "weight_decay" not in parameters and not takes_kwargs:
        return "does not take a weight_decay argument"
    if instance is None:
        return None
    # Rebuild the instance with the decay, as an estimator would, to be sure
    # the class keeps it (a **kwargs constructor may drop it).
    config = {**instance.get_config(), **kwargs}
    try:
        rebuilt = cls.from_config(config)
    except TypeError as exc:
        return f"cannot be rebuilt with weight_decay ({exc})"
    if getattr(rebuilt, "weight_decay", None) != kwargs["weight_decay"]:
        return "does not keep a weight_decay argument"
    return None
