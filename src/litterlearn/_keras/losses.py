"""The losses and metrics of the targets (registered Keras serializables).

One loss per target kind, whatever the training knobs: its label smoothing
is a variable it reads at run time, so a model whose smoothing changes
between fits (or whose targets turn from class indices to soft rows when
mixing starts) keeps its compiled loss and its traced training function:
no retracing, no memory held by stale traced functions.

- single label: :class:`SingleLabelCrossentropy`, the categorical
  cross-entropy of class indices ``(n,)`` or soft (one-hot, mixed) rows
  ``(n, n_classes)``, and the metric :func:`single_label_accuracy`;
- multi-label: Keras sees ``y`` as ``(n, 2 * n_labels)``: the indicator,
  then the weight of each entry in the loss (class weights act per label and
  per value, which a per-sample weight cannot express); the loss and the
  metric split it again.

This module imports Keras: import it inside the functions that compile.
"""

from __future__ import annotations

import keras

ops = keras.ops


def _split(y_true, y_pred):
    n = y_pred.shape[-1]
    y_true = ops.cast(y_true, y_pred.dtype)
    return y_true[..., :n], y_true[..., n:]


def _smooth(target, label_smoothing, n):
    """``target * (1 - e) + e / n``: ``e`` a number or a variable."""
    e = ops.cast(label_smoothing, target.dtype)
    return target * (1.0 - e) + e / n


@keras.saving.register_keras_serializable(package="litterlearn")
def multilabel_binary_crossentropy(y_true, y_pred, label_smoothing=0.0):
    """Binary cross-entropy per label, weighted per entry, averaged.

    With ``label_smoothing`` ``e``, targets ``t`` become ``t * (1 - e) + e /
    2``, as in Keras' ``BinaryCrossentropy``.
    """
    target, weight = _split(y_true, y_pred)
    losses = ops.binary_crossentropy(_smooth(target, label_smoothing, 2), y_pred)
    return ops.mean(weight * losses, axis=-1)


class _SmoothedLoss(keras.losses.Loss):
    """A loss whose ``label_smoothing`` is a variable read at run time.

    Setting ``label_smoothing`` assigns the variable: the traced training
    function that holds the loss stays valid. Its configuration holds the
    value, as a float.
    """

    def __init__(self, label_smoothing=0.0, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._smoothing = keras.Variable(
            float(label_smoothing),
            dtype="float32",
            trainable=False,
            name="label_smoothing",
        )

    @property
    def label_smoothing(self):
        return float(ops.convert_to_numpy(self._smoothing))

    @label_smoothing.setter
    def label_smoothing(self, value):
        self._smoothing.assign(float(value))

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="litterlearn")
class MultiLabelBinaryCrossentropy(_SmoothedLoss):
    """The loss of multi-label fits (:func:`multilabel_binary_crossentropy`)."""

    def __init__(self, label_smoothing=0.0, name="multilabel_bce", **kwargs):
        super().__init__(label_smoothing, name=name, **kwargs)

    def call(self, y_true, y_pred):
        return multilabel_binary_crossentropy(
            y_true, y_pred, label_smoothing=self._smoothing
        )


def _single_label_rows(y_true, y_pred):
    """``y_true`` as rows of ``y_pred``'s shape: soft rows, or indices one-hot."""
    n = y_pred.shape[-1]
    if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == n:
        return ops.cast(y_true, y_pred.dtype)
    index = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    return ops.one_hot(index, n, dtype=y_pred.dtype)


@keras.saving.register_keras_serializable(package="litterlearn")
class SingleLabelCrossentropy(_SmoothedLoss):
    """Categorical cross-entropy of class indices or soft rows.

    ``y_true`` is ``(n,)`` class indices or ``(n, n_classes)`` rows (one-hot,
    or mixed by MixUp/CutMix); with ``label_smoothing`` ``e`` the rows
    become ``t * (1 - e) + e / n_classes``, as in Keras'
    ``CategoricalCrossentropy``.
    """

    def __init__(self, label_smoothing=0.0, name="crossentropy", **kwargs):
        super().__init__(label_smoothing, name=name, **kwargs)

    def call(self, y_true, y_pred):
        target = _single_label_rows(y_true, y_pred)
        target = _smooth(target, self._smoothing, y_pred.shape[-1])
        return ops.categorical_crossentropy(target, y_pred)


@keras.saving.register_keras_serializable(package="litterlearn")
def single_label_accuracy(y_true, y_pred):
    """1 where the most probable class is the target's (its largest entry)."""
    target = ops.argmax(_single_label_rows(y_true, y_pred), axis=-1)
    predicted = ops.argmax(y_pred, axis=-1)
    return ops.cast(ops.equal(target, predicted), "float32")


@keras.saving.register_keras_serializable(package="litterlearn")
def multilabel_accuracy(y_true, y_pred):
    """Share of labels predicted right (probability 0.5 or more)."""
    target, _ = _split(y_true, y_pred)
    predicted = ops.cast(y_pred >= 0.5, y_pred.dtype)
    return ops.mean(ops.cast(ops.equal(target, predicted), "float32"), axis=-1)


def loss(kind, *, label_smoothing):
    """The Keras loss of a target ``kind`` ("single-label" or "multi-label")."""
    if kind == "multi-label":
        return MultiLabelBinaryCrossentropy(label_smoothing=label_smoothing)
    return SingleLabelCrossentropy(label_smoothing=label_smoothing)


def set_label_smoothing(loss, value):
    """Set a compiled loss's smoothing in place; False if ``loss`` cannot."""
    if not isinstance(loss, _SmoothedLoss):
        return False
    loss.label_smoothing = value
    return True


def metrics(kind):
    """The "accuracy" metric of a target ``kind``.

    An instance, made now: its variables exist before the training function
    is traced (a metric Keras makes from a name gets them while tracing,
    which leaves functions behind in TensorFlow at every compile).
    """
    function = multilabel_accuracy if kind == "multi-label" else single_label_accuracy
    return [keras.metrics.MeanMetricWrapper(function, name="accuracy")]
