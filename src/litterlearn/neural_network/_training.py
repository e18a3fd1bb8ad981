"""What runs inside one training phase besides Keras' own loop.

- :class:`_Seeds`: the independent seeds of a fit, from ``random_state``;
- :func:`_batch_norm_layers` and :func:`_recompute_batch_statistics`: exact
  population statistics for BatchNormalization layers (see below);
- :func:`_epoch_end_callback`: the callback, first in the list, that
  recomputes those statistics, evaluates the validation data with them and
  stops a diverging fit;
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

import math

import numpy as np
from sklearn.utils import check_random_state

from ._keras import _import_keras, _leaf_layers


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
    training.
    """
    if not layers or not len(images):
        return
    momenta = [layer.momentum for layer in layers]
    seen = 0
    try:
        with model.distribute_strategy.scope():
            for start in range(0, len(images), batch_size):
                batch = images[start : start + batch_size]
                for layer in layers:
                    layer.momentum = seen / (seen + len(batch))
                model(batch, training=True)
                seen += len(batch)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum


def _epoch_end_callback(
    model, *, images, batch_size, validation, name, phase, learning_rate
):
    """The callback run first at every epoch's end (see the module docstring).

    - With trainable BatchNormalization layers: recompute their statistics
      over ``images`` (each epoch when there is ``validation``, which it then
      evaluates itself, writing ``val_*`` into the epoch's logs for early
      stopping and the history; else once, when the phase ends).
    - A non-finite training loss raises a ValueError that says what to try.
    """
    keras = _import_keras()
    layers = _batch_norm_layers(model)
    evaluate = validation is not None and bool(layers)

    class _EpochEnd(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = {} if logs is None else logs
            loss = logs.get("loss")
            if loss is not None and not math.isfinite(loss):
                raise ValueError(
                    f"{name} diverged: the training loss is {loss} after epoch "
                    f"{epoch + 1} of phase {phase!r} (learning rate "
                    f"{learning_rate:g}). Try a lower learning_rate_init, inputs "
                    f"scaled to [0, 1] (floats) or uint8 images (scaled inside "
                    f"the model), or smaller class_weight / sample_weight values."
                )
            if evaluate:
                _recompute_batch_statistics(model, layers, images, batch_size)
                x, y, *weights = validation
                results = model.evaluate(
                    x,
                    y,
                    sample_weight=weights[0] if weights else None,
                    batch_size=batch_size,
                    verbose=0,
                    return_dict=True,
                )
                logs.update({f"val_{k}": float(v) for k, v in results.items()})

        def on_train_end(self, logs=None):
            if layers and not evaluate:
                _recompute_batch_statistics(model, layers, images, batch_size)

    return _EpochEnd(), evaluate


def _note_best_epoch(history, callbacks):
    """Record on ``history`` the epoch whose weights early stopping restored."""
    for callback in callbacks:
        if (
            type(callback).__name__ == "EarlyStopping"
            and callback.restore_best_weights
            and callback.best_weights is not None
        ):
            history.best_epoch = int(callback.best_epoch)
