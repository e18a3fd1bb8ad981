"""The checks of a fit's data, made before the estimator changes.

:func:`validate_fit` validates everything a fit can check (images, labels,
sample and class weights, validation data or the stratified validation
split, a warm start) and returns a :class:`_FitData`; the estimator only
changes after it returned. (``validate_images`` records ``n_features_in_``,
which the fit's all-or-nothing guard undoes on failure.)
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    column_or_1d,
)

from ..utils._images import check_label_values, rows_to_images, validate_images
from ..utils._sklearn_compat import _check_sample_weight
from ._training import _Seeds


@dataclasses.dataclass
class _FitData:
    """Everything a fit validated, before the estimator changes."""

    warm: bool
    classes: np.ndarray
    image_shape: tuple
    input_dtype: np.dtype
    seeds: _Seeds
    images: np.ndarray = None
    y: np.ndarray = None
    sample_weight: np.ndarray = None
    validation: tuple = None
    key: tuple = None


def validate_fit(est, X, y, sample_weight, X_val, y_val):
    warm = est.warm_start and hasattr(est, "model_")
    rows, shape = validate_images(
        est,
        X,
        reset=not warm,
        image_shape=est.image_shape,
        fitted_image_shape=est.image_shape_ if warm else None,
    )
    y = _validate_y(est, y, rows)
    sample_weight = _validate_sample_weight(est, sample_weight, rows)
    classes, y_enc = np.unique(y, return_inverse=True)
    y_enc = y_enc.astype(np.int32)
    per_class = _validate_class_weight(est, classes)
    _check_classes(est, classes, y_enc, sample_weight, per_class)
    if warm:
        _check_warm_start(est, classes)
        rows = est._as_input_dtype(rows, est.input_dtype_)
    data = _FitData(
        warm=warm,
        classes=classes,
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
    data.y = y_enc
    data.sample_weight = _combine_class_weight(
        est, per_class, y_enc, sample_weight, len(classes)
    )
    data.validation = validation
    data.key = est._model_key(shape, rows.dtype, len(classes))
    return data


def _validate_y(est, y, rows):
    if y is None:
        raise ValueError(
            f"{type(est).__name__} requires y to be passed, but the target y is None."
        )
    # Before sklearn's checks, which say "Input y contains NaN" or
    # "Unknown label type: unknown" for a None.
    check_label_values(y)
    y = column_or_1d(y, warn=True)
    check_consistent_length(rows, y)
    y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
    check_classification_targets(y)
    return y


def _validate_sample_weight(est, sample_weight, rows):
    if sample_weight is None:
        return None
    return _check_sample_weight(
        sample_weight, rows, dtype=np.float32, ensure_non_negative=True
    )


def _validate_class_weight(est, classes):
    """Per-class weights of a ``class_weight`` dict (None otherwise)."""
    if not isinstance(est.class_weight, dict):
        return None
    unknown = set(est.class_weight) - set(classes.tolist())
    if unknown:
        raise ValueError(
            f"class_weight has labels that are not classes of y: "
            f"{sorted(unknown, key=str)}; the classes are {classes.tolist()}."
        )
    try:
        per_class = np.array(
            [est.class_weight.get(c, 1.0) for c in classes.tolist()],
            dtype=np.float64,
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"class_weight values must be numbers; got {est.class_weight!r}."
        ) from exc
    if not np.isfinite(per_class).all() or (per_class < 0).any():
        raise ValueError(
            f"class_weight values must be finite and non-negative; got "
            f"{est.class_weight!r}."
        )
    if not (per_class > 0).any():
        raise ValueError(
            f"class_weight must give at least one class a positive weight; "
            f"got {est.class_weight!r}."
        )
    return per_class


def _check_classes(est, classes, y_enc, sample_weight, per_class):
    name = type(est).__name__
    if len(classes) < 2:
        raise ValueError(
            f"{name} needs samples of at least 2 classes in y; got only one "
            f"class: {classes[0]!r}."
        )
    if sample_weight is None and per_class is None:
        return
    weights = np.ones(len(y_enc)) if sample_weight is None else sample_weight
    if per_class is not None:
        weights = weights * per_class[y_enc]
    weighted = np.bincount(y_enc, weights=weights, minlength=len(classes))
    if np.count_nonzero(weighted > 0) < 2:
        totals = dict(zip(classes.tolist(), weighted.tolist(), strict=True))
        raise ValueError(
            f"{name} needs at least 2 classes with a positive total "
            f"sample_weight (times class_weight); got {totals}."
        )


def _check_warm_start(est, classes):
    if not np.array_equal(classes, est.classes_):
        raise ValueError(
            f"warm_start can only continue training on the same classes as "
            f"the previous fit, {est.classes_.tolist()}; got {classes.tolist()}."
        )
    key = est._model_key(est.image_shape_, est.input_dtype_, len(classes))
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
    check_label_values(y_val, input_name="y_val")
    y_val = column_or_1d(y_val, warn=True)
    check_consistent_length(rows, y_val)
    unknown = np.setdiff1d(np.unique(y_val), data.classes)
    if unknown.size:
        raise ValueError(
            f"y_val has labels not in y: {unknown.tolist()}; the classes are "
            f"{data.classes.tolist()}."
        )
    y_enc = np.searchsorted(data.classes, y_val).astype(np.int32)
    rows = est._as_input_dtype(rows, data.input_dtype)
    return rows_to_images(rows, data.image_shape), y_enc


def _split_validation(est, rows, y_enc, sample_weight, data):
    counts = np.bincount(y_enc)
    n_val = math.ceil(est.validation_fraction * len(y_enc))
    if counts.min() < 2 or n_val < len(counts) or len(y_enc) - n_val < len(counts):
        raise ValueError(
            f"early_stopping holds out a stratified validation_fraction="
            f"{est.validation_fraction} of the training data, which needs at "
            f"least 2 samples of each class and a validation set with room for "
            f"every class; got class counts {counts.tolist()} in "
            f"{len(y_enc)} samples. Pass X_val and y_val, raise "
            f"validation_fraction, or set early_stopping=False."
        )
    idx_train, idx_val = train_test_split(
        np.arange(len(y_enc)),
        test_size=est.validation_fraction,
        stratify=y_enc,
        random_state=data.seeds.split,
    )
    idx_train.sort()
    idx_val.sort()
    validation = (rows_to_images(rows[idx_val], data.image_shape), y_enc[idx_val])
    if sample_weight is not None:
        validation = (*validation, sample_weight[idx_val])
        sample_weight = sample_weight[idx_train]
    return rows[idx_train], y_enc[idx_train], sample_weight, validation


def _combine_class_weight(est, per_class, y_enc, sample_weight, n_classes):
    if est.class_weight is None:
        return sample_weight
    if isinstance(est.class_weight, str):  # "balanced", on the training part
        present = np.unique(y_enc)
        per_class = np.ones(n_classes)
        per_class[present] = compute_class_weight("balanced", classes=present, y=y_enc)
    weights = per_class.astype(np.float32)[y_enc]
    return weights if sample_weight is None else weights * sample_weight


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
