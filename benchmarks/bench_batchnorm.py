"""BatchNormalization on small data: train and test accuracy, real digits.

Keras' ``BatchNormalization`` keeps moving averages of each batch's mean and
variance with momentum 0.99, so after a few hundred steps they still mostly
hold the values of the first, untrained epochs. On a few hundred images (a
handful of steps per epoch) a network then predicts with statistics that do
not match its weights: it trains well and predicts badly.

Data: scikit-learn's bundled handwritten digits (``load_digits``, real 8x8
scans, 10 classes), upsampled to 32x32 (each pixel a 4x4 block) as uint8
0..255. Each seed draws a stratified training set of ``--n-train`` images
and tests on ``--n-test`` others. The model is ``CNNImageClassifier``'s
default network (three 16-filter convolutions) at ``max_iter`` epochs, with
and without ``batch_normalization``, and with and without ``early_stopping``
(its own stratified 10% validation split). Printed: accuracy on the training
images and on the test images, mean and standard deviation over seeds.

Run: ``python benchmarks/bench_batchnorm.py [--seeds 3] [--n-train 300]``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from litterlearn.neural_network import CNNImageClassifier

CASES = {
    "no BN": {"batch_normalization": False},
    "BN": {"batch_normalization": True},
    "no BN, early stopping": {"batch_normalization": False, "early_stopping": True},
    "BN, early stopping": {"batch_normalization": True, "early_stopping": True},
}


def load(n_train, n_test, seed):
    digits = load_digits()
    X = np.kron(digits.images, np.ones((4, 4)))  # 8x8 -> 32x32
    X = np.rint(X * (255 / 16)).astype(np.uint8)
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, digits.target, train_size=n_train, stratify=digits.target, random_state=seed
    )
    _, X_test, _, y_test = train_test_split(
        X_rest, y_rest, test_size=n_test, stratify=y_rest, random_state=seed
    )
    return X_train, y_train, X_test, y_test


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-train", type=int, default=300)
    parser.add_argument("--n-test", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()

    print(
        f"load_digits upsampled to 32x32 uint8, 10 classes, {args.n_train} "
        f"training and {args.n_test} test images per seed, default CNN, "
        f"{args.epochs} epochs, batch 32, {args.seeds} seeds"
    )
    results = {name: [] for name in CASES}
    for seed in range(args.seeds):
        X, y, X_test, y_test = load(args.n_train, args.n_test, seed)
        for name, params in CASES.items():
            clf = CNNImageClassifier(
                max_iter=args.epochs, random_state=seed, n_iter_no_change=5, **params
            )
            start = time.perf_counter()
            clf.fit(X, y)
            seconds = time.perf_counter() - start
            results[name].append(
                (clf.score(X, y), clf.score(X_test, y_test), clf.n_iter_, seconds)
            )
            print(f"seed {seed} {name}: {results[name][-1]}", flush=True)

    print("\n| case | train accuracy | test accuracy | epochs | s per fit |")
    print("| --- | --- | --- | --- | --- |")
    for name, runs in results.items():
        runs = np.array(runs)
        mean, std = runs.mean(axis=0), runs.std(axis=0)
        print(
            f"| {name} | {mean[0]:.3f} ± {std[0]:.3f} | {mean[1]:.3f} ± {std[1]:.3f}"
            f" | {mean[2]:.1f} | {mean[3]:.1f} |"
        )


if __name__ == "__main__":
    main()
