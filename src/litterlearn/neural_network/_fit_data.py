"""The checks of a fit, made before the estimator changes, and what they give.

:func:`validate_fit` validates everything a fit can check (images, labels,
sample and class weights, the training knobs, validation data or the
stratified validation split, a warm start, the estimator's resources such
as a weights file, resolved once) and returns two frozen records: a
:class:`FitData` (what the fit trains on) and a
:class:`~._train.TrainingPlan` (what the parameters mean for training).
After it returns, nothing in the fit reads a training parameter off the
estimator. (``validate_images`` records ``n_features_in_``, which the fit's
all-or-nothing guard undoes on failure.)
"""

from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np

from .._keras import import_keras, inner_optimizer
from ..utils._images import as_model_dtype, rows_to_images, validate_images
from ..utils._sklearn_compat import _check_sample_weight
from ._knobs import batch_transform, check_schedule, check_weight_decay
from ._targets import check_threshold, fit_target
from ._train import (
    PlannedPhase,
    Seeds,
    TrainingPlan,
    check_phases,
    next_epoch,
    optimizer_key,
    phase_rate,
)


@dataclasses.dataclass(frozen=True)
class FitData:
    """Everything a fit validated: what it trains on, and its model's key."""

    warm: bool
    target: object  # the target of _targets.py: classes, encoding, loss
    image_shape: tuple
    input_dtype: np.dtype
    seeds: Seeds
    images: np.ndarray
    targets: np.ndarray
    sample_weight: np.ndarray | None
    validation: tuple | None
    resources: dict  # what the estimator resolved once (a weights file...)
    key: tuple  # the model's architecture key
    partial: bool = False  # one epoch of a partial_fit

    @property
    def classes(self):
        return self.target.classes


def validate_fit(
    est, X, y, sample_weight, X_val, y_val, *, partial=False, classes=None
):
    """Validate a fit; return its ``(FitData, TrainingPlan)``.

    A ``partial`` fit (``partial_fit``, with its ``classes``) continues the
    fitted model, if any, whatever ``warm_start``; its ``y`` may hold some
    of the classes only; it has no validation data (nor early stopping), and
    its plan trains one epoch (:func:`~._train.next_epoch`).
    """
    name = type(est).__name__
    warm = (partial or est.warm_start) and hasattr(est, "model_")
    rows, shape = validate_images(
        est,
        X,
        reset=not warm,
        image_shape=est.image_shape,
        fitted_image_shape=est.image_shape_ if warm else None,
    )
    target, y_enc = fit_target(
        y,
        len(rows),
        name=name,
        label_smoothing=est.label_smoothing,
        mixes=bool(est.mixup or est.cutmix),
        partial=(classes, est._target_ if warm else None) if partial else None,
    )
    check_threshold(
        est.threshold, target.n_outputs if target.kind == "multi-label" else None
    )
    sample_weight = _validate_sample_weight(sample_weight, rows)
    per_class = target.class_weights(est.class_weight)
    target.check(name, y_enc, sample_weight, per_class, partial=partial)
    optimizer_rate, weight_decay = _check_knobs(est)
    input_dtype = est.input_dtype_ if warm else rows.dtype
    if warm and not partial:  # a partial fit's target is the fitted one
        _check_warm_start(est, target)
        rows = as_model_dtype(rows, input_dtype)
    seeds = Seeds(est.random_state)
    validation = None
    if X_val is not None or y_val is not None:
        validation = _validation_data(est, X_val, y_val, target, shape, input_dtype)
    elif est.early_stopping and not partial:
        rows, y_enc, sample_weight, validation = _split_validation(
            est.validation_fraction, rows, y_enc, sample_weight, target, shape, seeds
        )
    targets, sample_weight = target.training_targets(
        est.class_weight, per_class, y_enc, sample_weight
    )
    resources = est._fit_resources()
    from ._model import model_key

    data = FitData(
        warm=warm,
        target=target,
        image_shape=shape,
        input_dtype=np.dtype(input_dtype),
        seeds=seeds,
        images=rows_to_images(rows, shape),
        targets=targets,
        sample_weight=sample_weight,
        validation=validation,
        resources=resources,
        key=model_key(est, shape, input_dtype, target, resources),
        partial=partial,
    )
    if warm and data.key != getattr(est, "_model_key_", data.key):
        what = "partial_fit continues the model" if partial else "warm_start=True"
        raise ValueError(
            f"{what}, but parameters that define the network changed since the "
            f"previous fit; call fit with warm_start=False to build a new model."
        )
    return data, make_plan(est, data, optimizer_rate, weight_decay)


def make_plan(est, data, optimizer_rate, weight_decay):
    """What the estimator's parameters mean for training (a TrainingPlan)."""
    name = type(est).__name__
    phases = list(est._phases())
    check_phases(phases, name)
    # A warm-started fit's batches go on from the epochs trained before.
    batches_from = int(est.n_iter_) if data.warm else 0
    if data.partial:
        fitted = (est.phase_starts_, est.n_iter_) if data.warm else ({}, 0)
        current, epoch, batches_from = next_epoch(phases, *fitted)
    planned = []
    for index, phase in enumerate(phases):
        rate, schedule = phase_rate(
            phase,
            optimizer_rate=optimizer_rate,
            learning_rate_init=est.learning_rate_init,
            schedule=est.learning_rate_schedule,
        )
        epochs = None
        if data.partial:  # one epoch, of one phase
            epochs = range(epoch, epoch + 1) if index == current else range(0)
        planned.append(PlannedPhase(phase, rate, schedule, epochs, batches_from))
    transform = None
    if est.augmentation is not None or est.mixup or est.cutmix:
        transform = functools.partial(
            batch_transform,
            augmentation=est.augmentation,
            labels=data.target.labels(data.targets),
            mixup=float(est.mixup),
            cutmix=float(est.cutmix),
        )
    return TrainingPlan(
        name=name,
        phases=tuple(planned),
        optimizer=est.optimizer,
        weight_decay=weight_decay,
        precision=est.precision,
        batch_size=int(est.batch_size),
        verbose=int(est.verbose),
        callbacks=tuple(est.callbacks or ()),
        early_stopping=(
            (float(est.tol), int(est.n_iter_no_change)) if est.early_stopping else None
        ),
        batch_transform=transform,
        compile_key=(optimizer_key(est.optimizer), est.precision),
    )


def _check_knobs(est):
    """Check the training knobs together.

    Returns the optimizer's own rate (a float, or a schedule's config, of an
    ``optimizer`` instance; None for a name) and the optimizer's keyword
    arguments for ``weight_decay``.
    """
    weight_decay = check_weight_decay(est.optimizer, est.weight_decay)
    schedule = check_schedule(est.learning_rate_schedule)
    for callback in est.callbacks or []:
        if not hasattr(callback, "set_model"):
            raise TypeError(
                f"callbacks must be a list of keras.callbacks.Callback; got "
                f"{callback!r}."
            )
    if not isinstance(schedule, str):
        _check_schedule_rebuilds(schedule, "learning_rate_schedule")
    if isinstance(est.optimizer, str):
        return None, weight_decay
    config = inner_optimizer(est.optimizer).get_config()
    rate = config["learning_rate"]
    if isinstance(rate, dict):
        _check_schedule_rebuilds(rate, "optimizer")
    if isinstance(rate, dict) and schedule != "constant":
        raise ValueError(
            f"learning_rate_schedule={schedule!r} and an optimizer holding a "
            f"learning-rate schedule ({rate.get('class_name', rate)}) both set "
            f"the rate: give the schedule in one place, learning_rate_schedule "
            f"or the optimizer."
        )
    # A schedule comes as its serialized config (a dict), as Keras keeps it.
    return (rate if isinstance(rate, dict) else float(rate)), weight_decay


def _check_schedule_rebuilds(schedule, name):
    import_keras()
    from .._keras.optimizers import check_schedule_rebuilds

    check_schedule_rebuilds(schedule, name)


def _validate_sample_weight(sample_weight, rows):
    if sample_weight is None:
        return None
    return _check_sample_weight(
        sample_weight, rows, dtype=np.float32, ensure_non_negative=True
    )


def _check_warm_start(est, target):
    fitted = getattr(est, "_target_", None)
    if fitted is not None and not target.same_labels(fitted):
        what = "classes" if fitted.kind == target.kind == "single-label" else "labels"
        raise ValueError(
            f"warm_start can only continue training on the same {what} as the "
            f"previous fit, {fitted.describe()}; got {target.describe()}."
        )


def _validation_data(est, X_val, y_val, target, image_shape, input_dtype):
    if X_val is None or y_val is None:
        raise ValueError("Pass both X_val and y_val, or neither.")
    _check_not_paths(X_val)
    try:
        rows, _ = validate_images(
            est,  # its n_features_in_ was just recorded (or kept, warm)
            X_val,
            reset=False,
            image_shape=est.image_shape,
            fitted_image_shape=image_shape,
        )
    except ValueError as exc:
        # validate_images speaks of "X"; say which input it was.
        raise ValueError(
            f"X_val (the validation images, checked against the training "
            f"images X): {exc}"
        ) from exc
    y_enc = target.validation_targets(y_val, len(rows))
    rows = as_model_dtype(rows, input_dtype)
    return rows_to_images(rows, image_shape), y_enc


def _split_validation(fraction, rows, y_enc, sample_weight, target, shape, seeds):
    idx_train, idx_val = target.split(fraction, y_enc, seeds.split)
    idx_train = np.sort(idx_train)
    idx_val = np.sort(idx_val)
    val_y = target.validation_encoding(y_enc[idx_val])
    validation = (rows_to_images(rows[idx_val], shape), val_y)
    if sample_weight is not None:
        validation = (*validation, sample_weight[idx_val])
        sample_weight = sample_weight[idx_train]
    return rows[idx_train], y_enc[idx_train], sample_weight, validation


def _check_not_paths(X_val):
    """Raise a clear error if ``X_val`` holds file paths, not images."""
    if isinstance(X_val, (str, os.PathLike)):
        first = X_val
    elif isinstance(X_val, (list, tuple)) and X_val:
        first = X_val[0]
    elif isinstance(X_val, np.ndarray) and X_val.dtype.kind in "OUS" and X_val.size:
        first = X_val.flat[0]
    else:
        return
    if isinstance(first, (str, bytes, os.PathLike)):
        raise ValueError(
            f"X_val must be images (arrays like X after the pipeline's steps); "
            f"got file paths such as {first!r}. Paths passed as clf__X_val reach "
            f"the classifier untouched: to send X_val through the steps, use "
            f'Pipeline(..., transform_input=["X_val"]) with metadata routing '
            f"and clf.set_fit_request(X_val=True, y_val=True) (see the user "
            f"guide, 'Validation data through a Pipeline')."
        )
