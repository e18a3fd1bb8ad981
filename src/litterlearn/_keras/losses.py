"""The loss and metric of multi-label fits (registered Keras serializables).

For a multi-label target Keras sees ``y`` as ``(n, 2 * n_labels)``: the
indicator, then the weight of each entry in the loss (class weights act per
label and per value, which a per-sample weight cannot express). The loss and
the metric split it again.

This module imports Keras: import it inside the functions that compile.
"""

from __future__ import annotations

import keras

ops = keras.ops


def _split(y_true, y_pred):
    n = y_pred.shape[-1]
    y_true = ops.cast(y_true, y_pred.dtype)
    return y_true[..., :n], y_true[..., n:]


@keras.saving.register_keras_serializable(package="litterlearn")
def multilabel_binary_crossentropy(y_true, y_pred, label_smoothing=0.0):
    """Binary cross-entropy per label, weighted per entry, averaged.

    With ``label_smoothing`` ``e``, targets ``t`` become ``t * (1 - e) + e /
    2``, as in Keras' ``BinaryCrossentropy``.
    """
    target, weight = _split(y_true, y_pred)
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + 0.5 * label_smoothing
    losses = ops.binary_crossentropy(target, y_pred)
    return ops.mean(weight * losses, axis=-1)


@keras.saving.register_keras_serializable(package="litterlearn")
class MultiLabelBinaryCrossentropy(keras.losses.Loss):
    """The loss of multi-label fits (:func:`multilabel_binary_crossentropy`)."""

    def __init__(self, label_smoothing=0.0, name="multilabel_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        return multilabel_binary_crossentropy(
            y_true, y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="litterlearn")
def multilabel_accuracy(y_true, y_pred):
    """Share of labels predicted right (probability 0.5 or more)."""
    target, _ = _split(y_true, y_pred)
    predicted = ops.cast(y_pred >= 0.5, y_pred.dtype)
    return ops.mean(ops.cast(ops.equal(target, predicted), "float32"), axis=-1)


def loss(kind, *, soft, label_smoothing):
    """The Keras loss of a target ``kind`` ("single-label" or "multi-label")."""
    if kind == "multi-label":
        return MultiLabelBinaryCrossentropy(label_smoothing=label_smoothing)
    if not soft:
        return "sparse_categorical_crossentropy"
    return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)


def metrics(kind):
    """The "accuracy" metric of a target ``kind``."""
    if kind == "multi-label":
        return [keras.metrics.MeanMetricWrapper(multilabel_accuracy, name="accuracy")]
    return ["accuracy"]
