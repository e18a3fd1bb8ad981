"""The target of a fit: what the network learns from ``y``, and back.

The estimator core owns the target; builders return the network body only.
A target decides the output layer's size and activation, how ``y`` is
encoded for Keras, the loss and metric, how class weights act, how the
validation split is stratified, and how the network's outputs become
probabilities and predictions. Two targets, one code path:

- :class:`_SingleLabel`: ``y`` of shape ``(n_samples,)``, any labels;
  softmax over the classes, sparse categorical cross-entropy, ``predict``
  the most probable class.
- :class:`_MultiLabel`: ``y`` a 0/1 indicator of shape ``(n_samples,
  n_labels)``, as scikit-learn's ``MLPClassifier`` accepts; one sigmoid per
  label, binary cross-entropy averaged over the labels, ``predict`` an
  indicator (probability at least the estimator's ``threshold``).
  ``classes_`` is ``arange(n_labels)``.

For the multi-label target Keras sees ``y`` as ``(n, 2 * n_labels)``: the
indicator, then the weight of each entry in the loss (class weights act per
label and per value, which a per-sample weight cannot express); the loss and
the metric (``litterlearn._keras.losses``) split it again.

Targets are frozen values built from explicit arguments: nothing here reads
an estimator. Which target a ``y`` asks for is decided by one rule shared
with ``Augmenter`` and the metrics (:func:`~litterlearn.utils._images.is_indicator_shaped`:
a 2-D ``y`` of several columns is a multi-label indicator, one-hot included,
as scikit-learn's ``type_of_target`` reads it).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d

from ..utils._images import check_indicator, check_label_values, is_indicator_shaped


def fit_target(y, n_rows, *, name, label_smoothing=0.0, mixes=False, partial=None):
    """The target of a fit's ``y``, and ``y`` as the target encodes it.

    One label per image is encoded as one-hot rows (``soft``) when
    ``label_smoothing`` is on or training mixes images (``mixes``): mixed
    images have soft targets.

    A partial fit passes ``partial=(classes, fitted)``: its ``classes``
    argument and the target it continues (None on its first call). The
    classes are then the fitted target's, or ``classes`` on a first call
    (see :func:`partial_classes`), and ``y`` need hold only some of them.
    """
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    # Before sklearn's checks, which say "Input y contains NaN" or
    # "Unknown label type: unknown" for a None.
    y = check_label_values(y)
    if is_indicator_shaped(y):
        y = _check_indicator(y, n_rows, "y")
        target = MultiLabel(y.shape[1], float(label_smoothing))
        if partial is not None:
            partial_classes(*partial, target)
        return target, y
    y = column_or_1d(y, warn=True)
    check_consistent_length(np.empty(n_rows), y)
    y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
    check_classification_targets(y)
    if partial is None:
        classes, y_enc = np.unique(y, return_inverse=True)
    else:
        classes = partial_classes(*partial, SingleLabel(np.unique(y)))
        unknown = _unknown_labels(y, classes)
        if unknown:
            raise ValueError(
                f"y has labels not in classes: {unknown}; the classes are "
                f"{classes.tolist()} (the first partial_fit call's classes)."
            )
        y_enc = np.searchsorted(classes, y)
    soft = bool(label_smoothing) or bool(mixes)
    return SingleLabel(classes, soft, float(label_smoothing)), y_enc.astype(np.int32)


def partial_classes(classes, fitted, target):
    """The classes of a partial fit whose ``y`` asks for ``target``.

    Those of the ``fitted`` target it continues (``classes``, when given,
    must be the same), else ``classes``, which a first call of one label per
    image must give. A multi-label ``y``'s labels are its columns: it needs
    no ``classes``; given, they are the column indices or the indicator's
    values (``np.unique(y)``, as searchers pass).
    """
    if fitted is not None and fitted.kind != target.kind:
        raise ValueError(
            f"partial_fit continues a fit on {fitted.describe()}; got y with "
            f"{target.describe()}. Call fit to start afresh."
        )
    if target.kind == "multi-label":
        if classes is not None:
            given = np.unique(column_or_1d(classes))
            columns = np.arange(target.n_outputs)
            if not (np.isin(given, (0, 1)).all() or np.array_equal(given, columns)):
                raise ValueError(
                    f"classes={given.tolist()} does not fit a multi-label y, "
                    f"whose labels are its {target.n_outputs} columns: pass "
                    f"classes=None (or the column indices)."
                )
        if fitted is not None and fitted.n_outputs != target.n_outputs:
            raise ValueError(
                f"partial_fit continues a fit on {fitted.describe()}; got y "
                f"with {target.describe()}."
            )
        return target.classes
    if classes is None:
        if fitted is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: "
                "every class that any call's y may hold, e.g. np.unique(y_all)."
            )
        return fitted.classes
    check_label_values(classes, input_name="classes")
    classes = np.unique(column_or_1d(classes))
    if fitted is not None and not np.array_equal(classes, fitted.classes):
        raise ValueError(
            f"classes={classes.tolist()} is not the same as on the first call "
            f"to partial_fit, {fitted.classes.tolist()}."
        )
    return classes


def _unknown_labels(y, classes):
    """The labels of ``y`` that are not in ``classes`` (a list)."""
    return np.setdiff1d(np.unique(y), classes).tolist()


@dataclasses.dataclass(frozen=True, eq=False)
class _Target:
    """What both targets share: their classes and the output they need."""

    classes: np.ndarray
    label_smoothing: float = 0.0

    @property
    def n_outputs(self):
        return len(self.classes)

    @property
    def key(self):
        """What the model's output depends on (part of the model key)."""
        return (self.activation, self.n_outputs)

    @property
    def loss_key(self):
        """What the compiled loss depends on (its smoothing is set in place)."""
        return (self.kind, *self.key)

    def class_weights(self, class_weight):
        """Per-class weights of a ``class_weight`` dict (None otherwise)."""
        if not isinstance(class_weight, dict):
            return None
        unknown = set(class_weight) - set(self.classes.tolist())
        if unknown:
            raise ValueError(self._unknown_class_weight(sorted(unknown, key=str)))
        return _weights_array(class_weight, self.classes.tolist())

    def keras_loss(self):
        from .._keras import losses

        return losses.loss(self.kind, label_smoothing=self.label_smoothing)

    def metrics(self):
        from .._keras import losses

        return losses.metrics(self.kind)


@dataclasses.dataclass(frozen=True, eq=False)
class SingleLabel(_Target):
    """One label per image: softmax over the classes."""

    soft: bool = False  # one-hot targets (smoothing, mixing) or indices
    kind = "single-label"
    activation = "softmax"

    def __init__(self, classes, soft=False, label_smoothing=0.0):
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "soft", bool(soft))
        object.__setattr__(self, "label_smoothing", float(label_smoothing))

    def _encode(self, y_enc):
        if not self.soft:
            return y_enc
        return np.eye(self.n_outputs, dtype=np.float32)[y_enc]

    def same_labels(self, other):
        return type(other) is type(self) and np.array_equal(other.classes, self.classes)

    def describe(self):
        return f"{self.classes.tolist()}"

    # Weights.

    def _unknown_class_weight(self, unknown):
        return (
            f"class_weight has labels that are not classes of y: {unknown}; the "
            f"classes are {self.classes.tolist()}."
        )

    def check(self, name, y_enc, sample_weight, per_class, *, partial=False):
        """Refuse a ``y`` of one class (one ``classes`` for a partial fit).

        A partial fit's ``y`` may hold one class: its classes are given.
        """
        if len(self.classes) < 2:
            what = "samples of at least 2 classes in y"
            if partial:
                what = "at least 2 classes in classes"
            raise ValueError(
                f"{name} needs {what}; got only one class: {self.classes[0]!r}."
            )
        if sample_weight is None and per_class is None:
            return
        weights = np.ones(len(y_enc)) if sample_weight is None else sample_weight
        if per_class is not None:
            weights = weights * per_class[y_enc]
        weighted = np.bincount(y_enc, weights=weights, minlength=len(self.classes))
        needed = 1 if partial else 2
        if np.count_nonzero(weighted > 0) < needed:
            totals = dict(zip(self.classes.tolist(), weighted.tolist(), strict=True))
            raise ValueError(
                f"{name} needs at least {needed} class{'es' * (needed > 1)} with "
                f"a positive total sample_weight (times class_weight); got "
                f"{totals}."
            )

    def training_targets(self, class_weight, per_class, y_enc, sample_weight):
        """``(y, sample_weight)`` as Keras trains on them (class weights in)."""
        if class_weight is None:
            return self._encode(y_enc), sample_weight
        if isinstance(class_weight, str):  # "balanced", on the training part
            present = np.unique(y_enc)
            per_class = np.ones(len(self.classes))
            per_class[present] = compute_class_weight(
                "balanced", classes=present, y=y_enc
            )
        weights = per_class.astype(np.float32)[y_enc]
        weights = weights if sample_weight is None else weights * sample_weight
        return self._encode(y_enc), weights

    # Validation.

    def validation_targets(self, y_val, n_rows):
        y_val = check_label_values(y_val, input_name="y_val")
        if is_indicator_shaped(y_val):
            raise ValueError(
                f"y_val is a 0/1 indicator of shape {y_val.shape} (several "
                f"labels per sample), but y holds one label per sample: y_val "
                f"must be of y's kind, labels of shape (n_val,)."
            )
        y_val = column_or_1d(y_val, warn=True, input_name="y_val")
        check_consistent_length(np.empty(n_rows), y_val)
        unknown = _unknown_labels(y_val, self.classes)
        if unknown:
            raise ValueError(
                f"y_val has labels not in y: {unknown}; the classes are "
                f"{self.classes.tolist()}."
            )
        return self._encode(np.searchsorted(self.classes, y_val).astype(np.int32))

    def validation_encoding(self, y_enc):
        """Held-out training targets as validation targets (no class weights)."""
        return self._encode(y_enc)

    def split(self, validation_fraction, y_enc, seed):
        """Indices of a stratified ``validation_fraction`` split (train, val)."""
        counts = np.bincount(y_enc)
        n_val = math.ceil(validation_fraction * len(y_enc))
        if counts.min() < 2 or n_val < len(counts) or len(y_enc) - n_val < len(counts):
            raise ValueError(
                f"early_stopping holds out a stratified validation_fraction="
                f"{validation_fraction} of the training data, which needs at "
                f"least 2 samples of each class and a validation set with room for "
                f"every class; got class counts {counts.tolist()} in "
                f"{len(y_enc)} samples. Pass X_val and y_val, raise "
                f"validation_fraction, or set early_stopping=False."
            )
        return train_test_split(
            np.arange(len(y_enc)),
            test_size=validation_fraction,
            stratify=y_enc,
            random_state=seed,
        )

    # What the network's outputs mean.

    def labels(self, y):
        """The labels (as in the user's ``y``) of training targets ``y``."""
        return self.classes[np.argmax(y, axis=1) if y.ndim == 2 else y]

    def proba(self, outputs):
        return outputs / outputs.sum(axis=1, keepdims=True)

    def decide(self, proba, threshold):
        return self.classes[np.argmax(proba, axis=1)]


@dataclasses.dataclass(frozen=True, eq=False)
class MultiLabel(_Target):
    """Any number of labels per image: one sigmoid per label."""

    kind = "multi-label"
    activation = "sigmoid"

    def __init__(self, n_labels, label_smoothing=0.0):
        object.__setattr__(self, "classes", np.arange(n_labels))
        object.__setattr__(self, "label_smoothing", float(label_smoothing))

    def same_labels(self, other):
        return type(other) is type(self) and other.n_outputs == self.n_outputs

    def describe(self):
        return f"{self.n_outputs} labels (a 0/1 indicator of {self.n_outputs} columns)"

    # Weights: class_weight weighs each label's positive entries.

    def _unknown_class_weight(self, unknown):
        return (
            f"class_weight has labels that are not columns of the indicator y: "
            f"{unknown}; with a multi-label y the labels are the column indices "
            f"0..{self.n_outputs - 1}, and a label's weight multiplies its "
            f"positive entries in the loss."
        )

    def check(self, name, y, sample_weight, per_class, *, partial=False):
        if sample_weight is not None and not (sample_weight > 0).any():
            raise ValueError(
                f"{name} needs at least one sample with a positive sample_weight."
            )

    def training_targets(self, class_weight, per_class, y, sample_weight):
        positive = np.ones(self.n_outputs)
        negative = np.ones(self.n_outputs)
        if isinstance(class_weight, str):  # "balanced", per label
            # scikit-learn's rule on each label's own binary problem:
            # n / (2 * count), for the positive and the negative entries.
            n = len(y)
            n_pos = y.sum(axis=0)
            n_neg = n - n_pos
            positive = np.where(n_pos > 0, n / (2 * np.maximum(n_pos, 1)), 1.0)
            negative = np.where(n_neg > 0, n / (2 * np.maximum(n_neg, 1)), 1.0)
        elif per_class is not None:
            positive = per_class
        entry_weights = np.where(y > 0, positive, negative).astype(np.float32)
        return _with_weights(y, entry_weights), sample_weight

    # Validation.

    def validation_targets(self, y_val, n_rows):
        y_val = check_label_values(y_val, input_name="y_val")
        if y_val.ndim != 2 or y_val.shape[1] != self.n_outputs:
            kind = "labels" if y_val.ndim == 1 else "an array"
            raise ValueError(
                f"y_val must be a 0/1 indicator of shape (n_val, "
                f"{self.n_outputs}), of y's kind; got {kind} of shape "
                f"{y_val.shape}."
            )
        y_val = _check_indicator(y_val, n_rows, "y_val")
        return _with_weights(y_val, np.ones_like(y_val))

    def validation_encoding(self, y):
        return _with_weights(y, np.ones_like(y))

    def split(self, validation_fraction, y, seed):
        n_val = math.ceil(validation_fraction * len(y))
        if n_val < 1 or len(y) - n_val < 1:
            raise ValueError(
                f"early_stopping holds out a validation_fraction="
                f"{validation_fraction} of the {len(y)} training samples, "
                f"which leaves no room for training or validation. Pass X_val "
                f"and y_val, change validation_fraction, or set "
                f"early_stopping=False."
            )
        from ..datasets._split import _iterative_stratified_split

        return _iterative_stratified_split(y, validation_fraction, seed)

    # What the network's outputs mean.

    def labels(self, y):
        """The indicator rows of training targets ``y``."""
        return np.asarray(y[:, : self.n_outputs]).astype(np.int64)

    def proba(self, outputs):
        return outputs

    def decide(self, proba, threshold):
        return (proba >= check_threshold(threshold, self.n_outputs)).astype(np.int64)


def _check_indicator(y, n_rows, name):
    y = check_indicator(y, input_name=name)
    check_consistent_length(np.empty(n_rows), y)
    return y.astype(np.float32)


def _with_weights(y, weights):
    return np.concatenate([y, weights], axis=1).astype(np.float32)


def _weights_array(class_weight, labels):
    try:
        per_class = np.array(
            [class_weight.get(c, 1.0) for c in labels], dtype=np.float64
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"class_weight values must be numbers; got {class_weight!r}."
        ) from exc
    if not np.isfinite(per_class).all() or (per_class < 0).any():
        raise ValueError(
            f"class_weight values must be finite and non-negative; got "
            f"{class_weight!r}."
        )
    if not (per_class > 0).any():
        raise ValueError(
            f"class_weight must give at least one class a positive weight; "
            f"got {class_weight!r}."
        )
    return per_class


def check_threshold(threshold, n_labels=None):
    """The ``threshold`` parameter as an array, or a clear error.

    A float in (0, 1), or one such float per label; with ``n_labels`` (a
    multi-label fit) a list must have one value per label.
    """
    try:
        values = np.asarray(threshold, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if (
        values is None
        or values.ndim > 1
        or values.size == 0
        or isinstance(threshold, (bool, str))
        or not ((values > 0) & (values < 1)).all()
    ):
        raise ValueError(
            f"threshold must be a float in (0, 1), or one such float per label; "
            f"got {threshold!r}."
        )
    if n_labels is not None and values.ndim == 1 and values.size != n_labels:
        raise ValueError(
            f"threshold has {values.size} values, but the estimator is fitted on "
            f"{n_labels} labels; give one threshold, or one per label."
        )
    return values
