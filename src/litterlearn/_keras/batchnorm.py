"""Exact population statistics for BatchNormalization layers.

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
import weakref

import numpy as np

from . import import_keras, import_tensorflow, leaf_layers
from .state import model_state


def batch_norm_layers(model):
    """The BatchNormalization layers of ``model`` that training updates."""
    keras = import_keras()
    return [
        layer
        for layer in leaf_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]


def recompute_batch_statistics(model, layers, images, batch_size):
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


def _forward_in_training(model_ref, images):
    model_ref()(images, training=True)
    return 0


def _statistics_step(model, layers, image_shape, dtype):
    """The compiled training-mode forward pass of ``model``, and its momentum.

    Under a ``tf.distribute`` strategy the pass runs eagerly instead.
    """
    tf = import_tensorflow()

    key = (tuple(image_shape), np.dtype(dtype).name, tuple(id(x) for x in layers))
    state = model_state(model)
    with state.lock:
        cached = state.statistics_step
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
        state.statistics_step = (key, forward, momentum)
        return forward, momentum
