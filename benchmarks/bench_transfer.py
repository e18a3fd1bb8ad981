"""Training the head of a frozen backbone on features computed once.

With a frozen backbone and no on-the-fly augmentation, the transfer
classifiers compute the backbone's features once per fit and train only the
head on them. This script compares, on the same data
(64x64 RGB uint8 images, 2 classes), VGG16 with weights from a file (seeded
random weights: ImageNet's cannot be downloaded here; the cost is the same)
and a ``Dense(256)`` head, ``max_iter`` epochs of phase 1 on the CPU:

- **features once**: ``VGGTransferClassifier(fine_tune_max_iter=0)``;
- **plain Keras fit**: the same estimator with its phase-1 shortcut turned
  off, so ``keras.Model.fit`` runs the same frozen model on the images in
  every epoch, with the same initial weights, the same batches in the same
  order and the same optimizer. Its predictions must equal those of
  "features once" up to float tolerance (``dropout=0``: the masks would
  otherwise be drawn at other points of the graph);
- **raw Keras**: a copy of that model compiled and fitted by hand on the
  arrays (``model.fit(images, y, epochs, batch_size)``), for reference;
- **memory= miss / hit**: a fit with an empty ``memory`` cache, then a fit of
  a clone with another head (``hidden_layer_sizes=(128,)``), which finds
  the features in the cache.

Targets: "features once" at least 15x faster than the plain Keras fit at 30
epochs (about 30x is the ceiling: 30 passes of the backbone against one),
with the same predictions; a cache hit faster than a miss.

Run: ``python benchmarks/bench_transfer.py [--n-images 64] [--epochs 30]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from sklearn.base import clone

from litterlearn import _backbones
from litterlearn.neural_network import VGGTransferClassifier


class PlainKerasFit(VGGTransferClassifier):
    """The same estimator, training phase 1 on images in every epoch."""

    def _phases(self):
        # Without ``features``, the head phase trains the whole frozen model.
        return [
            dataclasses.replace(phase, features=None) for phase in super()._phases()
        ]


def make_data(n, side=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    y = np.arange(n) % 2
    X[y == 1, :, : side // 2] //= 2  # darker on the left
    return X, y


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    X, y = make_data(args.n_images, args.size)
    tmp = tempfile.mkdtemp(prefix="bench_transfer_")
    spec = _backbones.get_backbone("vgg16")
    path = os.path.join(tmp, "vgg16.weights.h5")
    _backbones.build_backbone(spec, None, (args.size, args.size), seed=0).save_weights(
        path
    )
    params = {
        "weights": path,
        "input_size": args.size,
        "max_iter": args.epochs,
        "fine_tune_max_iter": 0,
        "dropout": 0.0,
        "random_state": 0,
    }
    print(
        f"{args.n_images} images {args.size}x{args.size}x3, VGG16 frozen, "
        f"Dense(256) head, {args.epochs} epochs; {platform.machine()}, "
        f"{os.cpu_count()} CPUs, TensorFlow {tf.__version__}, Keras "
        f"{keras.__version__}; load average {os.getloadavg()[0]:.2f}"
    )

    # Warm up TensorFlow (first-op costs) on a 1-epoch fit of each path.
    VGGTransferClassifier(**{**params, "max_iter": 1}).fit(X[:8], y[:8])
    PlainKerasFit(**{**params, "max_iter": 1}).fit(X[:8], y[:8])

    fast, t_fast = timed(lambda: VGGTransferClassifier(**params).fit(X, y))
    plain, t_plain = timed(lambda: PlainKerasFit(**params).fit(X, y))
    diff = np.abs(fast.predict_proba(X) - plain.predict_proba(X)).max()
    same = np.mean(fast.predict(X) == plain.predict(X))

    raw = keras.models.clone_model(plain.model_)
    raw.set_weights(plain.model_.get_weights())
    raw.get_layer("vgg16").trainable = False
    raw.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    _, t_raw = timed(
        lambda: raw.fit(X, y, epochs=args.epochs, batch_size=32, verbose=0)
    )

    cache = os.path.join(tmp, "cache")
    cached = VGGTransferClassifier(**params, memory=cache)
    _, t_miss = timed(lambda: clone(cached).fit(X, y))
    other_head = clone(cached).set_params(hidden_layer_sizes=(128,))
    _, t_hit = timed(lambda: other_head.fit(X, y))
    nocache = clone(other_head).set_params(memory=None)
    _, t_nocache = timed(lambda: nocache.fit(X, y))

    print(f"features once          {t_fast:7.2f} s")
    print(
        f"plain Keras fit        {t_plain:7.2f} s   speedup {t_plain / t_fast:5.1f}x"
        f"   max |proba diff| {diff:.2e}, same predictions {same:.0%}"
    )
    print(f"raw Keras (reference)  {t_raw:7.2f} s   speedup {t_raw / t_fast:5.1f}x")
    print(f"memory= miss           {t_miss:7.2f} s")
    print(
        f"memory= hit (new head) {t_hit:7.2f} s   {t_miss / t_hit:5.1f}x faster "
        f"than the miss ({t_nocache:.2f} s for that head without memory=)"
    )
    print(f"end load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
