"""The Keras input of training: seeded, shuffled batches, augmented or not.

:func:`_shuffled_batches` is a ``tf.data`` pipeline over arrays; the
``keras.utils.PyDataset`` of :func:`_augmented_batches_class` augments each
batch in every epoch and, with MixUp or CutMix, mixes it (``_mixing.py``). The estimator's ``_training_input`` chooses between
them; nothing else turns training data into a Keras input.
:func:`_as_model_dtype` converts images to a model's input dtype, for
training, prediction, features and Grad-CAM alike.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from ..utils._images import to_unit_float
from ._keras import _import_keras, _import_tensorflow


def _as_model_dtype(rows, dtype):
    """``rows`` in a model's input ``dtype``: the one conversion.

    To uint8: floats (in [0, 1]) times 255, rounded and clipped. To a float
    dtype: scaled to [0, 1] as the image contract says (uint8 / 255).
    """
    dtype = np.dtype(dtype)
    if rows.dtype == dtype:
        return rows
    if dtype == np.uint8:
        return np.clip(np.rint(rows * np.float32(255)), 0, 255).astype(np.uint8)
    return to_unit_float(rows).astype(dtype, copy=False)


def _shuffled_batches(arrays, batch_size, seed):
    """An endless tf.data pipeline of shuffled batches of ``arrays``.

    Each run of ``ceil(n / batch_size)`` batches is one epoch, in a new order
    seeded by ``seed``. As Keras does for arrays, only indices are shuffled
    and each batch is gathered from the whole arrays. Being endless (with
    ``steps_per_epoch`` given to ``fit``), one iterator serves all epochs,
    which saves Keras creating a new one per epoch.

    The order of epoch ``e`` is a stateless shuffle seeded by ``(seed, e)``,
    not ``Dataset.shuffle``'s reshuffling, whose seed state tf.distribute
    loses when it rewrites the pipeline for its devices (seeded fits under a
    ``distribute`` strategy would then differ from run to run).
    """
    tf = _import_tensorflow()

    n = len(arrays[0])
    data = tuple(tf.convert_to_tensor(a) for a in arrays)

    def epoch_order(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64),
            seed=tf.stack([tf.constant(seed, dtype=tf.int64), epoch]),
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    indices = tf.data.Dataset.range(np.iinfo(np.int64).max).flat_map(epoch_order)
    dataset = tf.data.Dataset.zip(indices, tf.data.Dataset.from_tensors(data).repeat())

    def gather(idx, tensors):
        return tuple(tf.gather(t, idx) for t in tensors)

    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


_AUGMENTED_BATCHES = None
_AUGMENTED_BATCHES_LOCK = threading.Lock()


def _augmented_batches_class():
    """The PyDataset class of augmented batches (defined once Keras is loaded)."""
    global _AUGMENTED_BATCHES
    with _AUGMENTED_BATCHES_LOCK:  # fits in threads: one class, defined once
        if _AUGMENTED_BATCHES is None:
            _AUGMENTED_BATCHES = _define_augmented_batches()
    return _AUGMENTED_BATCHES


def _define_augmented_batches():
    from ._mixing import mix_batch

    keras = _import_keras()

    class _AugmentedBatches(keras.utils.PyDataset):
        """Shuffled training batches, augmented afresh in every epoch.

        Batch ``b`` of epoch ``e`` is augmented with a generator seeded by
        ``(seed, e, b)``, so the result does not depend on the order or
        thread in which Keras asks for batches.
        """

        def __init__(
            self,
            images,
            y,
            sample_weight,
            *,
            labels,
            batch_size,
            augmentation,
            seed,
            mixup=0.0,
            cutmix=0.0,
        ):
            super().__init__()
            self.images = images
            self.y = y
            self.sample_weight = sample_weight
            self.labels = labels
            self.batch_size = batch_size
            self.augmentation = augmentation
            self.seed = seed
            self.mixup = mixup
            self.cutmix = cutmix
            self.epoch = 0
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
            batch = self.images[idx]
            out = batch
            if self.augmentation is not None:
                rng = np.random.default_rng([self.seed, self.epoch, index])
                out = self.augmentation.augment_batch(batch, self.labels[idx], rng)
                out = np.asarray(out)
                if out.shape != batch.shape or out.dtype != batch.dtype:
                    raise ValueError(
                        f"augmentation.augment_batch must return images of the "
                        f"shape and dtype it was given, {batch.shape} "
                        f"{batch.dtype}; got {out.shape} {out.dtype} from "
                        f"{self.augmentation!r}."
                    )
            y = self.y[idx]
            weights = None if self.sample_weight is None else self.sample_weight[idx]
            if self.mixup or self.cutmix:
                # After augmentation, with a generator of its own.
                rng = np.random.default_rng([self.seed, self.epoch, index, 1])
                out, y, weights = mix_batch(
                    out, y, weights, rng, mixup=self.mixup, cutmix=self.cutmix
                )
            if weights is None:
                return out, y
            return out, y, weights

    return _AugmentedBatches
