"""Training: what a fit's phases are, and the plain functions that run them.

- :class:`TrainingPhase`: one phase as an estimator's ``_phases()`` hook
  returns it (name, epochs, its own learning rate or None, what is
  trainable, and whether it may train on features computed once);
- :class:`TrainingPlan`: what the estimator's parameters mean for training,
  decided once by ``_fit_data.make_plan`` (each phase's rate or schedule,
  the optimizer and its weight decay, the batch transform, callbacks, early
  stopping); :func:`phase_rate` is the one learning-rate rule;
- :func:`run_phases`: trains a model phase by phase on a ``FitData``: set
  what is trainable, compile, build the input and the named callbacks, fit,
  collect the history. Nothing here reads the estimator;
- :func:`next_epoch`: where a partial fit's one epoch falls among the phases.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import math
import numbers
import os
import time
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.utils import check_random_state

from .._keras import import_keras, inner_optimizer, make_trainable
from .._keras.state import model_state
from .._keras.weights import _optimizer_fill, _reset_optimizer
from ..utils._sklearn_compat import early_stopping_restored_epoch, own_tracing_stats
from ._knobs import schedule_rate

__all__ = ["PhaseData", "TrainingPhase"]


@dataclasses.dataclass(frozen=True)
class TrainingPhase:
    """One phase of training: how long, how fast, and what is trainable.

    Parameters
    ----------
    name : str
        Name of the phase (e.g. "train", "head", "fine_tune"), the key of
        ``phase_starts_``.
    epochs : int
        Maximum number of epochs (early stopping may end the phase sooner).
    learning_rate : float or None
        The phase's own learning rate, which wins over every other (the
        optimizer's, a schedule's). None: the estimator's rate (see
        :func:`phase_rate`).
    trainable : callable or None, default=None
        Called on the model before the phase is compiled, to set the layers'
        ``trainable`` flags. None: every layer is trainable.
    rate_factors : callable or None, default=None
        ``rate_factors(model)`` gives learning-rate factors per variable,
        ``{variable path: factor}``; None: one rate for all.
    features : callable or None, default=None
        When set, the phase trains only what follows the model's layer named
        "features" (the head), on features computed once:
        ``features(extractor, images, seeds, resources)`` returns them for the
        extractor (the model up to that layer). Used only when nothing
        changes the images between epochs (no augmentation, no mixing).
    """

    name: str
    epochs: int
    learning_rate: float | None
    trainable: Callable | None = None
    rate_factors: Callable | None = None
    features: Callable | None = None


@dataclasses.dataclass(frozen=True)
class PhaseData:
    """What one training phase trains on.

    Attributes
    ----------
    images : ndarray of shape (n, H, W, C)
        Training images, in the model's input dtype (or features).
    targets : ndarray of shape (n,) or (n, k)
        Training targets as the target encodes them: indices into
        ``target.classes``, one-hot rows, or a multi-label indicator followed
        by each entry's weight.
    sample_weight : ndarray of shape (n,) or None
        Per-image weights (class weights included).
    validation : tuple or None
        ``(images, targets[, sample_weight])`` evaluated every epoch.
    seeds : Seeds
        This phase's seeds (``seeds.shuffle`` orders its batches).
    target : object
        The fit's target (``_targets.py``).
    resources : dict
        What the estimator resolved once for the fit (``_fit_resources``).
    run : str or None
        Name of this fit's (and phase's) run, TensorBoard's log subfolder.
    """

    images: np.ndarray
    targets: np.ndarray
    sample_weight: np.ndarray | None
    validation: tuple | None
    seeds: Seeds
    target: object
    resources: dict
    run: str | None = None


@dataclasses.dataclass(frozen=True)
class PlannedPhase:
    """A :class:`TrainingPhase` with its learning rate decided."""

    phase: TrainingPhase
    learning_rate: float | dict  # a rate, or a Keras schedule's config
    schedule: str  # "constant", "cosine" or "one_cycle" (applied per step)
    # The epochs of the phase this fit trains, counted in the phase: all of
    # them (None), or a partial fit's one (``range(e, e + 1)``) or none.
    epochs: range | None = None
    # Where the count of the phase's batches (their order, augmentation and
    # mixing) starts: the epochs trained before a warm-started fit, so that
    # it goes on as one longer fit would, never replaying the first epochs.
    batches_from: int = 0

    @property
    def trained(self):
        """The epochs of the phase this fit trains (a range)."""
        return range(self.phase.epochs) if self.epochs is None else self.epochs


@dataclasses.dataclass(frozen=True)
class TrainingPlan:
    """What the estimator's parameters mean for training, decided once."""

    name: str
    phases: tuple
    optimizer: object  # a name, or an instance (copied for every compile)
    weight_decay: dict  # keyword arguments of the optimizer
    precision: str
    batch_size: int
    verbose: int
    callbacks: tuple  # the user's, copied for every phase
    early_stopping: tuple | None  # (min_delta, patience) with validation data
    batch_transform: Callable | None  # on-the-fly augmentation and mixing
    compile_key: tuple  # what a compiled optimizer and loss depend on


@dataclasses.dataclass(frozen=True)
class PhaseResult:
    """The history of all phases of a fit."""

    history: dict
    starts: dict
    best: int | None


class Seeds:
    """Independent seeds for one fit, all drawn from ``random_state``."""

    def __init__(self, random_state):
        root = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        (self.weights, self.generators, self.shuffle, self.split) = (
            int(s >> 1) for s in np.random.SeedSequence(root).generate_state(4)
        )

    def for_phase(self, index):
        """The seeds of phase ``index``: its own shuffling after the first."""
        seeds = copy.copy(self)
        if index:
            state = np.random.SeedSequence([self.shuffle, index]).generate_state(1)
            seeds.shuffle = int(state[0] >> 1)
        return seeds


def phase_rate(phase, *, optimizer_rate, learning_rate_init, schedule):
    """The learning rate of ``phase``, decided here and only here.

    In this order: the phase's own rate (fine-tuning's
    ``fine_tune_learning_rate``), whatever the optimizer or schedule; a Keras
    ``learning_rate_schedule`` (its config, given to the optimizer); the
    ``optimizer`` instance's own rate or schedule (``optimizer_rate``); else
    ``learning_rate_init``. "cosine" and "one_cycle" then move it step by
    step from there.

    Returns
    -------
    rate : float or dict
        A rate, or a Keras schedule's serialized config.
    schedule : str
        "cosine" or "one_cycle" (applied per step from ``rate``), else
        "constant".
    """
    per_step = schedule if schedule in ("cosine", "one_cycle") else "constant"
    if phase.learning_rate is not None:
        return float(phase.learning_rate), per_step
    if not isinstance(schedule, str):
        return import_keras().optimizers.schedules.serialize(schedule), "constant"
    if optimizer_rate is not None:
        return optimizer_rate, per_step
    return float(learning_rate_init), per_step


def check_phases(phases, name):
    if not phases or not all(isinstance(p, TrainingPhase) for p in phases):
        raise TypeError(
            f"{name}._phases() must return a non-empty list of TrainingPhase."
        )
    names = [p.name for p in phases]
    if len(set(names)) != len(names):
        raise ValueError(f"{name}: phase names must be unique; got {names}.")
    for phase in phases:
        if not isinstance(phase.epochs, numbers.Integral) or phase.epochs < 1:
            raise ValueError(
                f"{name}: phase {phase.name!r} needs at least 1 epoch; got "
                f"{phase.epochs!r}."
            )


def next_epoch(phases, phase_starts, n_iter):
    """Where a partial fit's epoch falls: ``(phase index, epoch in the phase,
    batches_from)``.

    It goes on in the phase begun last (``phase_starts``, the epochs of the
    history where each began, after ``n_iter`` epochs), as a longer fit would:
    the next phase once that one had all its epochs, else the last phase for
    ever. A model not yet trained (``n_iter`` 0) starts the first phase.
    ``batches_from`` is that of the fit that began the phase (see
    :class:`PlannedPhase`): the epochs before it, in the history.
    """
    names = [p.name for p in phases]
    begun = [(start, names.index(n)) for n, start in phase_starts.items() if n in names]
    if not n_iter or not begun:
        return 0, 0, 0
    start, index = max(begun)
    batches_from = max(0, start - sum(int(p.epochs) for p in phases[:index]))
    epoch = n_iter - start
    if epoch >= phases[index].epochs and index + 1 < len(phases):
        return index + 1, 0, batches_from
    return index, epoch, batches_from


_RUN_COUNTER = itertools.count()


def new_run_name():
    """A run folder name unique per fit: time, process id and a counter."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"fit-{stamp}-pid{os.getpid()}-{next(_RUN_COUNTER)}"


# ---------------------------------------------------------------- compiling


def compile_phase(model, plan, planned, target, *, warm=False):
    """Compile ``model`` for a phase (after its ``trainable`` function).

    A model compiled with the same optimizer for the same trainable weights
    keeps that optimizer, and its state (moments, step count): its learning
    rate and its loss's label smoothing are set in place (its traced
    training function stays valid) and, when the weight decay changed, the
    model is compiled anew around it. Only a different optimizer (or other
    trainable weights) builds a new one; a warm fit of one phase then warns,
    since the optimizer's state starts afresh.
    """
    keras = import_keras()
    from .._keras.losses import set_label_smoothing

    state = model_state(model)
    rate_factors = planned.phase.rate_factors
    factors = rate_factors(model) if rate_factors is not None else {}
    # Positions, not ids or paths: the key survives pickling (a warm start
    # after it goes on with the optimizer's state).
    trainable = tuple(i for i, w in enumerate(model.weights) if w.trainable)
    optimizer_part = (plan.compile_key, tuple(sorted(factors.items())), trainable)
    key = (optimizer_part, tuple(sorted(plan.weight_decay.items())), target.loss_key)
    rate = planned.learning_rate
    existing = getattr(model, "optimizer", None)
    old = state.compile_key
    if old is not None and existing is not None and old[0] == optimizer_part:
        inner = inner_optimizer(existing)
        # A schedule cannot be assigned over a rate, nor the reverse.
        if isinstance(inner.get_config()["learning_rate"], dict) == isinstance(
            rate, dict
        ):
            if not isinstance(rate, dict):  # the same schedule stays
                inner.learning_rate = rate
            if old != key:  # another weight decay (or loss), the same optimizer
                # The decay a new optimizer of the plan would have.
                decay = new_optimizer(plan.optimizer, rate, plan.weight_decay)
                decay = decay.weight_decay
                if old[2] == key[2] and set_label_smoothing(
                    model.loss, target.label_smoothing
                ):
                    _set_weight_decay(model, decay)
                else:
                    inner.weight_decay = decay
                    _compile(model, existing, target.keras_loss(), target.metrics())
                state.compile_key = key
            elif not set_label_smoothing(model.loss, target.label_smoothing):
                _compile(model, existing, target.keras_loss(), target.metrics())
            return
    if warm and old is not None and len(plan.phases) == 1:
        warnings.warn(
            f"{plan.name}: warm_start continues the weights, but the optimizer "
            f"changed since the previous fit (optimizer, or learning-rate "
            f"factors): its state (moments, step count) starts afresh.",
            UserWarning,
            stacklevel=2,
        )
    from .._keras.optimizers import loss_scaling, with_rate_factors

    optimizer = new_optimizer(plan.optimizer, rate, plan.weight_decay)
    if factors:
        optimizer = with_rate_factors(optimizer, factors)
    # The user's loss scaling (a LossScaleOptimizer given), else mixed_float16's.
    scaling = loss_scaling(plan.optimizer)
    if scaling is None and plan.precision == "mixed_float16":
        scaling = {}
    if scaling is not None:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, **scaling)
    _compile(model, optimizer, target.keras_loss(), target.metrics())
    model.optimizer.build(model.trainable_variables)
    state.compile_key = key
    state.optimizer_fill = _optimizer_fill(model.optimizer)


def _compile(model, optimizer, loss, metrics):
    """Compile ``model``; the training functions traced before go."""
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    model_state(model).train_functions.clear()


def _set_weight_decay(model, decay):
    """Give the compiled model's optimizer another weight decay, compiling nothing.

    Keras reads the decay when it traces the training function, so each
    decay has its own: the current one is kept (a few, the last used) and
    one traced before for ``decay`` comes back. Models reused over a search
    that alternates decays trace each once, rather than at every fit (each
    new trace holds memory TensorFlow never gives back).
    """
    inner = inner_optimizer(model.optimizer)
    if inner.weight_decay == decay:
        return
    functions = model_state(model).train_functions
    functions[inner.weight_decay] = model.train_function
    while len(functions) > 4:
        del functions[next(iter(functions))]
    inner.weight_decay = decay
    model.train_function = functions.pop(decay, None)


def compiled_state(model, target):
    """A function that puts back how ``model`` is compiled now.

    For a warm fit that fails after a changed knob set another weight decay
    or label smoothing, or compiled another optimizer: the optimizer object,
    the loss and their settings come back (the variables are the caller's to
    restore).
    """
    from .._keras.losses import set_label_smoothing

    state = model_state(model)
    key, optimizer = state.compile_key, getattr(model, "optimizer", None)
    loss = getattr(model, "loss", None)
    smoothing = getattr(loss, "label_smoothing", None)
    decay = getattr(inner_optimizer(optimizer), "weight_decay", None)

    def put_back():
        if optimizer is not None:
            if model.optimizer is not optimizer or model.loss is not loss:
                inner_optimizer(optimizer).weight_decay = decay
                _compile(model, optimizer, loss, target.metrics())
            else:
                _set_weight_decay(model, decay)
        if smoothing is not None:
            set_label_smoothing(loss, smoothing)
        state.compile_key = key

    return put_back


def new_optimizer(optimizer, learning_rate, weight_decay):
    """A new optimizer of ``optimizer`` (a name or an instance to copy).

    Of a ``LossScaleOptimizer``, a copy of the optimizer it wraps: the
    caller wraps the result again (see :func:`compile_phase`).
    """
    keras = import_keras()
    if isinstance(optimizer, str):
        return keras.optimizers.get(
            {
                "class_name": optimizer,
                "config": {"learning_rate": learning_rate, **weight_decay},
            }
        )
    from .._keras.optimizers import copy_optimizer

    # A copy, so the user's instance never holds our variables.
    return copy_optimizer(
        inner_optimizer(optimizer), learning_rate=learning_rate, **weight_decay
    )


def optimizer_key(optimizer):
    """What identifies ``optimizer``: its name, or its configuration.

    An instance's own name ("adam_3", numbered by Keras) is left out: equal
    optimizers made apart are interchangeable.
    """
    if isinstance(optimizer, str):
        return optimizer
    config = import_keras().optimizers.serialize(optimizer)
    config["config"].pop("name", None)
    return repr(config)


# ------------------------------------------------------------------ training


def run_phases(model, plan, data):
    """Train ``model`` phase by phase on ``data`` (a ``FitData``)."""
    history, starts, best = {}, {}, None
    run = new_run_name()
    for index, planned in enumerate(plan.phases):
        phase = planned.phase
        if not planned.trained:  # a partial fit trains one epoch of one phase
            continue
        (phase.trainable or make_trainable)(model)
        # Under the strategy the model was built with (a reused model may
        # come from an estimator holding an equal strategy object).
        with model.distribute_strategy.scope():
            compile_phase(model, plan, planned, data.target, warm=data.warm)
        phase_data = PhaseData(
            images=data.images,
            targets=data.targets,
            sample_weight=data.sample_weight,
            validation=data.validation,
            seeds=data.seeds.for_phase(index),
            target=data.target,
            resources=data.resources,
            # TensorBoard's subfolder of log_dir.
            run=run if len(plan.phases) == 1 else f"{run}/{phase.name}",
        )
        if phase.features is not None and plan.batch_transform is None:
            epochs, best_epoch = _train_head(
                model, plan, planned, phase_data, continued=data.warm
            )
        else:
            epochs, best_epoch = train_phase(model, plan, planned, phase_data)
        start = len(history.get("loss", []))
        for k, values in epochs.items():
            history.setdefault(k, []).extend(values)
        starts[phase.name] = start
        if best_epoch is not None:
            best = start + int(best_epoch)
    return PhaseResult(history, starts, best)


def _train_head(model, plan, planned, data, *, continued):
    """A phase on a frozen body: train the head on features computed once.

    The images are the same in every epoch, so the body's features are too:
    they are computed once (or found in the estimator's cache) and the head
    model, which shares the head's layers with ``model``, trains on them
    through the same input and callbacks as any phase. A fit that continues
    the model (``continued``: a warm start, a partial fit) continues the head
    optimizer's state too.
    """
    extractor, head = head_split(model)
    features = planned.phase.features
    images = features(extractor, data.images, data.seeds, data.resources)
    validation = data.validation
    if validation is not None:
        val = features(extractor, validation[0], data.seeds, data.resources)
        validation = (val, *validation[1:])
    compile_phase(head, plan, planned, data.target)
    # Every new fit starts the head's optimizer afresh (the full model's is
    # reset with the model; the head model beside it is reset here).
    state = model_state(head)
    if not continued and not _reset_optimizer(head.optimizer, state.optimizer_fill):
        state.compile_key = None
        compile_phase(head, plan, planned, data.target)
    data = dataclasses.replace(data, images=images, validation=validation)
    return train_phase(head, plan, planned, data)


def head_split(model):
    """The feature extractor and the head model of ``model`` (made once)."""
    state = model_state(model)
    with state.lock:
        if state.head_split is None:
            keras = import_keras()
            features = model.get_layer("features")
            extractor = keras.Model(
                model.inputs, features.output, name="feature_extractor"
            )
            inputs = keras.Input(shape=tuple(features.output.shape[1:]))
            x, after = inputs, False
            for layer in model.layers:
                if after:
                    x = layer(x)
                after = after or layer is features
            state.head_split = (extractor, keras.Model(inputs, x, name="head"))
        return state.head_split


def train_phase(model, plan, planned, data):
    """Train ``model`` (compiled) for one phase; the history and best epoch."""
    training_input = make_training_input(
        plan, data, planned.batches_from + planned.trained.start
    )
    steps = training_input.get("steps_per_epoch") or len(training_input["x"])
    callbacks = make_callbacks(model, plan, planned, data, steps)
    _make_step_functions(model, data.validation is not None)
    history = model.fit(
        **training_input,
        initial_epoch=planned.trained.start,
        epochs=planned.trained.stop,
        validation_data=data.validation,
        callbacks=list(callbacks.values()),
        verbose=min(int(plan.verbose), 2),
    )
    best = None
    if "early_stopping" in callbacks:
        best = early_stopping_restored_epoch(callbacks["early_stopping"])
    values = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    return values, best


def _make_step_functions(model, validation):
    """Make the model's traced training (and test) functions before ``fit``.

    Made here, each counts its own retraces: a model's first trace is never
    taken for the retracing of another model's function.
    """
    if model.train_function is None:
        model.make_train_function()
        own_tracing_stats(model.train_function)
    if validation and model.test_function is None:
        model.make_test_function()
        own_tracing_stats(model.test_function)


def make_training_input(plan, data, first_epoch=0):
    """The Keras input of ``model.fit``: shuffled batches, transformed or not.

    Returns keyword arguments of ``model.fit``: ``{"x": dataset}``, in a new
    order every epoch seeded by ``data.seeds.shuffle``. Without a batch
    transform it is a ``tf.data`` pipeline gathering batches from the arrays;
    with one, a ``keras.utils.PyDataset`` that transforms each batch in
    every epoch. Epochs count from ``first_epoch`` (the first this fit trains
    in its phase), so a fit continued epoch by epoch sees the batches one
    longer fit would.
    """
    from .._keras.data import TransformedBatches, shuffled_batches

    images, targets, weights = data.images, data.targets, data.sample_weight
    seed = data.seeds.shuffle
    if plan.batch_transform is not None:
        transform = functools.partial(plan.batch_transform, plan_seed=seed)
        batches = TransformedBatches(
            images,
            targets,
            weights,
            batch_size=plan.batch_size,
            seed=seed,
            transform=transform,
            first_epoch=first_epoch,
        )
        return {"x": batches, "shuffle": False}
    arrays = (images, targets) if weights is None else (images, targets, weights)
    return {
        "x": shuffled_batches(arrays, plan.batch_size, seed, first_epoch),
        "steps_per_epoch": math.ceil(len(images) / plan.batch_size),
        "shuffle": False,
    }


def make_callbacks(model, plan, planned, data, steps):
    """The phase's callbacks, by name, in the order they run.

    "epoch_end" first (BatchNorm statistics, then the divergence check,
    before anything reads the epoch), "schedule" (per-step rate) when the
    phase has one, fresh copies of the user's callbacks, and
    "early_stopping" last (it restores the best weights, with their
    statistics, at the end).
    """
    keras = import_keras()
    from .._keras.batchnorm import batch_norm_layers
    from .._keras.callbacks import EpochEnd, PhaseSchedule

    rate = planned.learning_rate
    if isinstance(rate, dict):
        text = f"schedule {rate.get('class_name', '')}".rstrip()
    else:
        text = f"{rate:g}"
    callbacks = {
        "epoch_end": EpochEnd(
            layers=batch_norm_layers(model),
            images=data.images,
            batch_size=plan.batch_size,
            steps=steps,
            every_epoch=data.validation is not None,
            name=plan.name,
            phase=planned.phase.name,
            rate=text,
        )
    }
    if planned.schedule != "constant":
        total = steps * int(planned.phase.epochs)
        callbacks["schedule"] = PhaseSchedule(
            functools.partial(schedule_rate, planned.schedule, rate, total_steps=total),
            first_step=steps * planned.trained.start,
        )
    for i, callback in enumerate(plan.callbacks):
        callback = copy_callback(callback)
        if data.run is not None and isinstance(callback, keras.callbacks.TensorBoard):
            # Each fit (and phase) writes its own run, so that refits and
            # searches never draw over one another in the user's log_dir.
            callback.log_dir = os.path.join(callback.log_dir, *data.run.split("/"))
        callbacks[f"user_{i}"] = callback
    if plan.early_stopping is not None and data.validation is not None:
        min_delta, patience = plan.early_stopping
        callbacks["early_stopping"] = keras.callbacks.EarlyStopping(
            monitor="val_loss",
            min_delta=min_delta,
            patience=patience,
            restore_best_weights=True,
        )
    return callbacks


def copy_callback(callback):
    """A fresh copy of a user's callback, or a clear error."""
    try:
        return copy.deepcopy(callback)
    except Exception as exc:  # a lock, a file, an open connection...
        raise TypeError(
            f"callbacks: {type(callback).__name__} cannot be copied "
            f"({type(exc).__name__}: {exc}). Every fit trains with fresh "
            f"copies (copy.deepcopy) of the callbacks, so that fits never "
            f"share their state; give the callback a __deepcopy__, or keep "
            f"what it must not copy outside it."
        ) from exc
