"""The Keras input of training: seeded, shuffled batches, transformed or not.

:func:`shuffled_batches` is a ``tf.data`` pipeline over arrays;
:class:`TransformedBatches`, a ``keras.utils.PyDataset``, hands every batch of
every epoch to a batch transform (augmentation, MixUp, CutMix: the training
plan's, given as a function, so this module knows nothing of them).

This module imports Keras: import it inside the functions that train.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from . import import_tensorflow


def shuffled_batches(arrays, batch_size, seed, first_epoch=0):
    """An endless tf.data pipeline of shuffled batches of ``arrays``.

    Each run of ``ceil(n / batch_size)`` batches is one epoch, in a new order
    seeded by ``seed``, from epoch ``first_epoch`` on (a fit continued epoch
    by epoch sees the orders one longer fit would). As Keras does for arrays, only indices are shuffled
    and each batch is gathered from the whole arrays. Being endless (with
    ``steps_per_epoch`` given to ``fit``), one iterator serves all epochs,
    which saves Keras creating a new one per epoch.

    The order of epoch ``e`` is a stateless shuffle seeded by ``(seed, e)``,
    not ``Dataset.shuffle``'s reshuffling, whose seed state tf.distribute
    loses when it rewrites the pipeline for its devices (seeded fits under a
    ``distribute`` strategy would then differ from run to run).
    """
    tf = import_tensorflow()

    n = len(arrays[0])
    data = tuple(tf.convert_to_tensor(a) for a in arrays)

    def epoch_order(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64),
            seed=tf.stack([tf.constant(seed, dtype=tf.int64), epoch]),
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    indices = tf.data.Dataset.range(first_epoch, np.iinfo(np.int64).max).flat_map(
        epoch_order
    )
    dataset = tf.data.Dataset.zip(indices, tf.data.Dataset.from_tensors(data).repeat())

    def gather(idx, tensors):
        return tuple(tf.gather(t, idx) for t in tensors)

    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


class TransformedBatches(keras.utils.PyDataset):
    """Shuffled training batches, transformed afresh in every epoch.

    Batch ``b`` of epoch ``e`` holds the images at positions ``b *
    batch_size ...`` of a permutation seeded by ``(seed, e)``, and becomes
    ``transform(images, index, targets, sample_weight, epoch, b)`` (``index``
    the rows of the batch in the training set), so the result does not depend
    on the order or thread in which Keras asks for batches. Epochs count from
    ``first_epoch``.
    """

    def __init__(
        self,
        images,
        targets,
        sample_weight,
        *,
        batch_size,
        seed,
        transform,
        first_epoch=0,
    ):
        super().__init__()
        self.images = images
        self.targets = targets
        self.sample_weight = sample_weight
        self.batch_size = batch_size
        self.seed = seed
        self.transform = transform
        self.epoch = first_epoch
        self._order = self._permutation()

    def _permutation(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        return rng.permutation(len(self.images))

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def on_epoch_begin(self):
        self._order = self._permutation()

    def on_epoch_end(self):
        self.epoch += 1

    def __getitem__(self, index):
        idx = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        weights = None if self.sample_weight is None else self.sample_weight[idx]
        images, targets, weights = self.transform(
            self.images[idx], idx, self.targets[idx], weights, self.epoch, index
        )
        if weights is None:
            return images, targets
        return images, targets, weights
