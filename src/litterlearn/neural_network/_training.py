"""What runs inside one training phase besides Keras' own loop.

- :class:`_Seeds`: the independent seeds of a fit, from ``random_state``;
- :func:`_batch_norm_layers` and :func:`_recompute_batch_statistics`: exact
  population statistics for BatchNormalization layers (see below);
- :func:`_epoch_end_callback`: the callback, first in the list, that
  recomputes those statistics after each epoch's last step (before Keras
  evaluates the validation data) and stops a diverging fit;
- :func:`_note_best_epoch`: which epoch's weights early stopping restored.

Why recompute BatchNormalization statistics. Keras' ``BatchNormalization``
predicts with moving averages of the batch statistics seen in training, with
momentum 0.99: they forget the past over a few hundred steps. On small data
(a few steps per epoch) they still mostly hold the statistics of the first,
untrained epochs when training ends, and the network predicts far worse
than it trains. The estimators instead recompute each trainable
BatchNormalization layer's statistics over the whole training set with the
final weights (the "precise BN" of Wu and Johnson, 2021): the mean of its
batches' means and variances, with training's batch size. With validation
data they do it after every epoch, before the epoch is evaluated, so early
stopping judges every epoch with the statistics it would predict with, and
restores them together with the best weights.
"""

from __future__ import annotations

import functools
import math
import threading
import weakref

import numpy as np
from sklearn.utils import check_random_state

from ..utils._sklearn_compat import early_stopping_restored_epoch
from ._keras import _import_keras, _import_tensorflow, _leaf_layers


class _Seeds:
    """Independent seeds for one fit, all drawn from ``random_state``."""

    def __init__(self, random_state):
        root = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        (self.weights, self.layers, self.shuffle, self.split) = (
            int(s >> 1) for s in np.random.SeedSequence(root).generate_state(4)
        )

    def for_phase(self, index):
        """The seeds of phase ``index``: its own shuffling after the first."""
        seeds = object.__new__(_Seeds)
        seeds.__dict__.update(self.__dict__)
        if index:
            state = np.random.SeedSequence([self.shuffle, index]).generate_state(1)
            seeds.shuffle = int(state[0] >> 1)
        return seeds


def _batch_norm_layers(model):
    """The BatchNormalization layers of ``model`` that training updates."""
    keras = _import_keras()
    return [
        layer
        for layer in _leaf_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]


def _recompute_batch_statistics(model, layers, images, batch_size):
    """Set ``layers``' moving statistics to their mean over ``images``.

    Runs the model in training mode over ``images`` in batches of
    ``batch_size``, with each layer's momentum set so that its moving mean
    and variance become the (size-weighted) mean of the batches' statistics.
    Only these statistics change (no gradient step); dropout runs, as in
    training. The forward pass is compiled once per model, reading the
    momentum from a variable.
    """
    if not layers or not len(images):
        return
    step, momentum = _statistics_step(model, layers, images.shape[1:], images.dtype)
    momenta = [layer.momentum for layer in layers]
    seen = 0
    try:
        for layer in layers:
            layer.momentum = momentum  # what the compiled step reads
        with model.distribute_strategy.scope():
            for start in range(0, len(images), batch_size):
                batch = images[start : start + batch_size]
                momentum.assign(seen / (seen + len(batch)))
                step(batch)
                seen += len(batch)
    finally:
        for layer, value in zip(layers, momenta, strict=True):
            layer.momentum = value


_STEPS = weakref.WeakKeyDictionary()
_STEPS_LOCK = threading.Lock()


def _forward_in_training(model_ref, images):
    model_ref()(images, training=True)
    return 0


def _statistics_step(model, layers, image_shape, dtype):
    """The compiled training-mode forward pass of ``model``, and its momentum.

    Under a ``tf.distribute`` strategy the pass runs eagerly instead.
    """
    tf = _import_tensorflow()

    key = (tuple(image_shape), np.dtype(dtype).name, tuple(id(x) for x in layers))
    with _STEPS_LOCK:
        cached = _STEPS.get(model)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        with model.distribute_strategy.scope():
            momentum = tf.Variable(0.0, trainable=False, dtype=tf.float32)
        forward = functools.partial(_forward_in_training, weakref.ref(model))
        if model.distribute_strategy is tf.distribute.get_strategy():
            forward = tf.function(
                forward,
                input_signature=[tf.TensorSpec((None, *key[0]), key[1])],
                autograph=False,
            )
        _STEPS[model] = (key, forward, momentum)
        return forward, momentum


# An epoch's training loss this many times that of its phase's first batch
# (the loss before any step) means the weights blew up (a learning rate far too high): no fit that trains does
# that, so the fit stops with an error, as for a loss that is not finite.
# Relative, so that large sample weights (a large loss from the start) pass.
DIVERGENCE_FACTOR = 1e3


def _epoch_end_callback(
    model, *, images, batch_size, steps, validation, name, phase, learning_rate
):
    """The callback that runs first, around every epoch's end.

    - With trainable BatchNormalization layers: recompute their statistics
      over ``images``. With ``validation`` data, after every epoch's last
      step (``steps`` per epoch), before Keras evaluates the epoch, so the
      validation loss, early stopping and the weights it restores use the
      statistics the model predicts with; without, once, when the phase ends.
    - A training loss that is not finite, or grew above ``DIVERGENCE_FACTOR``
      times the phase's first batch's, raises a ValueError that says what
      to try.
    """
    keras = _import_keras()
    layers = _batch_norm_layers(model)
    every_epoch = validation is not None and bool(layers)

    if isinstance(learning_rate, dict):
        rate = f"schedule {learning_rate.get('class_name', '')}".rstrip()
    else:
        rate = f"{learning_rate:g}"

    class _EpochEnd(keras.callbacks.Callback):
        first_loss = None  # of the phase's first batch, before any step

        def on_train_batch_end(self, batch, logs=None):
            if self.first_loss is None and "loss" in (logs or {}):
                self.first_loss = float(logs["loss"])

        def on_epoch_end(self, epoch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is None:
                return
            if self.first_loss is None:
                self.first_loss = loss
            if not math.isfinite(loss):
                what = ""
            elif self.first_loss > 0 and loss > DIVERGENCE_FACTOR * self.first_loss:
                what = (
                    f", over {DIVERGENCE_FACTOR:g} times that of the phase's "
                    f"first batch ({self.first_loss:.4g})"
                )
            else:
                return
            raise ValueError(
                f"{name} diverged: the training loss is {loss:.4g} after epoch "
                f"{epoch + 1} of phase {phase!r}{what} (learning rate {rate}). "
                f"Try a lower learning_rate_init (or the phase's own rate), inputs "
                f"scaled to [0, 1] (floats) or uint8 images (scaled inside the "
                f"model), or smaller class_weight / sample_weight values."
            )

        def on_train_end(self, logs=None):
            if layers and not every_epoch:
                _recompute_batch_statistics(model, layers, images, batch_size)

    class _EpochEndWithStatistics(_EpochEnd):
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            if batch == steps - 1:  # the epoch's last step: Keras evaluates next
                _recompute_batch_statistics(model, layers, images, batch_size)

    return _EpochEndWithStatistics() if every_epoch else _EpochEnd()


def _note_best_epoch(history, callbacks):
    """Record on ``history`` the epoch whose weights early stopping restored."""
    keras = _import_keras()
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.EarlyStopping):
            epoch = early_stopping_restored_epoch(callback)
            if epoch is not None:
                history.best_epoch = epoch
