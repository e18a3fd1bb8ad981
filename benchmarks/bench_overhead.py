"""Overhead of CNNImageClassifier against the same Keras model used by hand.

On the same data (gray 50x50 float32 images, 2 classes, about 21% positive,
as TACO bottle-vs-rest after ImageResizer(50) and GrayscaleNormalizer), with
the course CNN (the estimator's defaults), times:

- **raw Keras**: build the same ``keras.Sequential``, compile it (Adam,
  sparse categorical cross-entropy, accuracy) and
  ``model.fit(images, y, epochs, batch_size=32)``; then
  ``model.predict(images, batch_size=32)``. What a user writes by hand.
- **CNNImageClassifier, new model**: ``fit`` while earlier fitted estimators
  are alive, so it must build a new model like raw Keras; then
  ``predict_proba``.
- **CNNImageClassifier, search**: ``fit`` of a new estimator after the
  previous one was dropped, as in ``GridSearchCV``: it reuses the built
  model.
- **keras.wrappers.SKLearnClassifier** with the same model (it needs rows in
  and one-hot targets, so the model starts with a ``Reshape`` and uses
  categorical cross-entropy).

Every variant is fitted ``--repeat`` times, interleaved, and predicts 3
times after each fit (the fastest counts); the median and the best fit and
predict times are printed with their ratios to raw Keras. Target: fit and predict at
most 1.05x raw Keras.

Run: ``python benchmarks/bench_overhead.py [--n-images 1000] [--epochs 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from litterlearn.neural_network import CNNImageClassifier


def best_of(function, n=3):
    """The fastest of ``n`` timed calls (predictions are cheap and noisy)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def make_data(n, side=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, side, side), dtype=np.float32) * 0.7
    y = (rng.random(n) < 0.21).astype(np.int64)
    X[y == 1, side // 4 : side // 2, side // 4 : side // 2] += 0.3  # a "bottle"
    return X.reshape(n, -1), y


def course_layers(keras):
    layers = keras.layers
    return [
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(16, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(2),
        layers.Activation("softmax"),
    ]


def raw_keras(keras, X, y, epochs):
    images = X.reshape(-1, 50, 50, 1)
    start = time.perf_counter()
    model = keras.Sequential([keras.Input((50, 50, 1)), *course_layers(keras)])
    model.compile(
        optimizer=keras.optimizers.Adam(0.001),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(images, y, epochs=epochs, batch_size=32, verbose=0)
    fit = time.perf_counter() - start
    return fit, best_of(lambda: model.predict(images, batch_size=32, verbose=0))


def ours(X, y, epochs, seed, keep):
    clf = CNNImageClassifier(max_iter=epochs, random_state=seed)
    start = time.perf_counter()
    clf.fit(X, y)
    fit = time.perf_counter() - start
    predict = best_of(lambda: clf.predict_proba(X))
    if keep is not None:
        keep.append(clf)  # alive: the next fit cannot reuse its model
    return fit, predict


def sklearn_wrapper(keras, X, y, epochs):
    from keras.wrappers import SKLearnClassifier

    def build(X, y):
        model = keras.Sequential(
            [keras.Input((2500,)), keras.layers.Reshape((50, 50, 1))]
            + course_layers(keras)
        )
        model.compile(
            optimizer=keras.optimizers.Adam(0.001),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    clf = SKLearnClassifier(
        model=build, fit_kwargs={"epochs": epochs, "batch_size": 32, "verbose": 0}
    )
    start = time.perf_counter()
    clf.fit(X, y)
    fit = time.perf_counter() - start
    with contextlib.redirect_stdout(io.StringIO()):  # it shows a progress bar
        return fit, best_of(lambda: clf.predict(X))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    X, y = make_data(args.n_images)
    print(
        f"{args.n_images} gray 50x50 images, course CNN, {args.epochs} epochs, "
        f"batch 32; keras {keras.__version__}, tensorflow {tf.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"GPUs: {len(tf.config.list_physical_devices('GPU'))}"
    )
    # Warm up: imports, first-op initialisation and oneDNN kernels.
    raw_keras(keras, X[:64], y[:64], 1)
    ours(X[:64], y[:64], 1, 0, None)

    kept = []
    times = {name: [] for name in ("raw", "new", "search", "wrapper")}
    for rep in range(args.repeat):
        load = os.getloadavg()[0]
        times["raw"].append(raw_keras(keras, X, y, args.epochs))
        times["new"].append(ours(X, y, args.epochs, rep, kept))
        times["search"].append(ours(X, y, args.epochs, rep, None))
        try:
            times["wrapper"].append(sklearn_wrapper(keras, X, y, args.epochs))
        except Exception as exc:  # report, do not hide, a broken wrapper
            print(f"keras.wrappers.SKLearnClassifier failed: {exc!r}")
        print(f"repeat {rep + 1}: load {load:.2f} -> {os.getloadavg()[0]:.2f}")

    labels = {
        "raw": "raw Keras (by hand)",
        "new": "CNNImageClassifier, new model",
        "search": "CNNImageClassifier, search (reused model)",
        "wrapper": "keras.wrappers.SKLearnClassifier",
    }
    print(
        "\n| variant | fit, median | ratio | fit, best | ratio | predict, median | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    raw = times["raw"]
    for name, runs in times.items():
        if not runs:
            continue
        cells = []
        for stat, i in ((statistics.median, 0), (min, 0), (statistics.median, 1)):
            value = stat(t[i] for t in runs)
            ratio = value / stat(t[i] for t in raw)
            cells.append(f"{value:.3f} s | {ratio:.3f}x")
        print(f"| {labels[name]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
