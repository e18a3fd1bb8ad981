"""Prediction latency: CNNImageClassifier.predict_proba against Keras' own calls.

A fitted ``CNNImageClassifier`` (the course CNN, 50x50 gray float32 images)
predicts 1, 10, 100 and 1000 images three ways:

- **litterlearn**: ``clf.predict_proba(X)`` (rows in, validated, probabilities
  out as float64);
- **model call**: ``clf.model_(images, training=False)``, the Keras model
  called eagerly on the whole batch, the fastest a user could do by hand for
  a small batch;
- **model.predict**: ``clf.model_.predict(images, batch_size=32)``.

Each is timed ``--repeat`` times after a warm-up call; the best time counts
(predictions are short and the machine is shared). Printed: milliseconds and
the ratio of litterlearn to the model call. Target: within 2x of
the model's call for small batches.

Run: ``python benchmarks/bench_predict.py [--repeat 20]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from litterlearn.neural_network import CNNImageClassifier


def best_time(function, repeat):
    function()  # warm-up: tracing, first-call allocations
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    X = rng.random((1000, 2500), dtype=np.float32)
    y = np.arange(1000) % 2
    clf = CNNImageClassifier(max_iter=1, random_state=0).fit(X[:200], y[:200])
    model = clf.model_
    print(
        f"course CNN, 50x50 gray float32, batch_size 32; keras "
        f"{keras.__version__}, tensorflow {tf.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    print(
        "\n| images | litterlearn predict_proba | model call | model.predict "
        "| litterlearn / model call |"
    )
    print("| --- | --- | --- | --- | --- |")
    for n in (1, 10, 100, 1000):
        rows = X[:n]
        images = rows.reshape(n, 50, 50, 1)
        ours = best_time(lambda rows=rows: clf.predict_proba(rows), args.repeat)
        call = best_time(
            lambda images=images: np.asarray(model(images, training=False)),
            args.repeat,
        )
        predict = best_time(
            lambda images=images: model.predict(images, batch_size=32, verbose=0),
            max(3, args.repeat // 4),
        )
        print(
            f"| {n} | {1000 * ours:.2f} ms | {1000 * call:.2f} ms | "
            f"{1000 * predict:.2f} ms | {ours / call:.2f}x |"
        )


if __name__ == "__main__":
    main()
