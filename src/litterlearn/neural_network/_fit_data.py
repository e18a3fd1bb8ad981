"""The checks of a fit's data, made before the estimator changes.

:func:`validate_fit` validates everything a fit can check (images, labels,
sample and class weights, validation data or the stratified validation
split, a warm start) and returns a :class:`_FitData`; the estimator only
changes after it returned. (``validate_images`` records ``n_features_in_``,
which the fit's all-or-nothing guard undoes on failure.)
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..utils._images import rows_to_images, validate_images
from ..utils._sklearn_compat import _check_sample_weight
from ._schedules import check_schedule, check_weight_decay
from ._targets import fit_target
from ._training import _Seeds


@dataclasses.dataclass
class _FitData:
    """Everything a fit validated, before the estimator changes."""

    warm: bool
    target: object  # the target of _targets.py: classes, encoding, loss
    image_shape: tuple
    input_dtype: np.dtype
    seeds: _Seeds
    images: np.ndarray = None
    y: np.ndarray = None
    sample_weight: np.ndarray = None
    validation: tuple = None
    key: tuple = None

    @property
    def classes(self):
        return self.target.classes


def validate_fit(est, X, y, sample_weight, X_val, y_val):
    warm = est.warm_start and hasattr(est, "model_")
    rows, shape = validate_images(
        est,
        X,
        reset=not warm,
        image_shape=est.image_shape,
        fitted_image_shape=est.image_shape_ if warm else None,
    )
    target, y_enc = fit_target(est, y, len(rows))
    check_weight_decay(est.optimizer, est.weight_decay)
    check_schedule(est.learning_rate_schedule)
    sample_weight = _validate_sample_weight(est, sample_weight, rows)
    per_class = target.class_weights(est)
    target.check(est, y_enc, sample_weight, per_class)
    if warm:
        _check_warm_start(est, target)
        rows = est._as_input_dtype(rows, est.input_dtype_)
    data = _FitData(
        warm=warm,
        target=target,
        image_shape=shape,
        input_dtype=rows.dtype,
        seeds=_Seeds(est.random_state),
    )
    validation = None
    if X_val is not None or y_val is not None:
        validation = _validation_data(est, X_val, y_val, data)
    elif est.early_stopping:
        rows, y_enc, sample_weight, validation = _split_validation(
            est, rows, y_enc, sample_weight, data
        )
    data.images = rows_to_images(rows, shape)
    data.y, data.sample_weight = target.training_targets(
        est, per_class, y_enc, sample_weight
    )
    data.validation = validation
    data.key = est._model_key(shape, rows.dtype, target)
    return data


def _validate_sample_weight(est, sample_weight, rows):
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
    key = est._model_key(est.image_shape_, est.input_dtype_, target)
    if key != getattr(est, "_model_key_", key):
        raise ValueError(
            "warm_start=True, but parameters that define the network changed "
            "since the previous fit; set warm_start=False to build a new model."
        )


def _validation_data(est, X_val, y_val, data):
    if X_val is None or y_val is None:
        raise ValueError("Pass both X_val and y_val, or neither.")
    _check_not_paths(X_val)
    try:
        rows, _ = validate_images(
            est,  # its n_features_in_ was just recorded (or kept, warm)
            X_val,
            reset=False,
            image_shape=est.image_shape,
            fitted_image_shape=data.image_shape,
        )
    except ValueError as exc:
        # validate_images speaks of "X"; say which input it was.
        raise ValueError(
            f"X_val (the validation images, checked against the training "
            f"images X): {exc}"
        ) from exc
    y_enc = data.target.validation_targets(y_val, len(rows))
    rows = est._as_input_dtype(rows, data.input_dtype)
    return rows_to_images(rows, data.image_shape), y_enc


def _split_validation(est, rows, y_enc, sample_weight, data):
    idx_train, idx_val = data.target.split(est, y_enc, data.seeds.split)
    idx_train = np.sort(idx_train)
    idx_val = np.sort(idx_val)
    val_y = data.target.validation_encoding(y_enc[idx_val])
    validation = (rows_to_images(rows[idx_val], data.image_shape), val_y)
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
