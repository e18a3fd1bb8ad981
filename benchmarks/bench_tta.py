"""Does test-time augmentation help? Gains, or their absence, over seeds.

:class:`~litterlearn.ensemble.TestTimeAugmentationClassifier` averages a
classifier's probabilities over each test image and ``n_views`` augmented
views of it. For every seed, one CNN is trained, and the *same* fitted CNN
predicts the test set plainly and with each kind of views: the gain is paired,
so the seed's luck in training cancels out. Two training regimes are compared,
because views help most when the network has seen such transformations:
plain training, and training with on-the-fly augmentation
(``augmentation=``).

Data:

- ``digits``: scikit-learn's ``load_digits``, 1797 real 8x8 handwritten
  digits (10 classes), a stratified 75/25 split per seed; a CNN with two
  "same"-padded convolutions (16 and 32 filters), 30 epochs. Training
  augmentation: shifts and zooms up to 10%, rotations up to 10 degrees, no
  flip (a mirrored digit is not the same digit).
- ``taco-sample``: the offline TACO sample (``load_taco_sample``, SYNTHETIC
  images), bottle against the rest at 50x50 gray, split 60/15/25 as in
  ``bench_imbalance.py``; the course's default CNN, at most 20 epochs with
  early stopping on the validation split. Training augmentation:
  ``Augmenter()`` (flip, rotation up to 10 degrees, shift up to 10%).

Views, ``n_views=8`` each:

- ``default``: TestTimeAugmentationClassifier's default, shifts and zooms up
  to 5%, no flip;
- ``+flip``: the same plus random horizontal flips;
- ``train-like``: the training augmentation's transformations.

Printed: accuracy, log loss and (for the binary task) PR AUC, plain and with
each kind of views, mean +- standard deviation over the seeds, and the
paired gain.

    python benchmarks/bench_tta.py [--seeds 3] [--data digits taco-sample]
        [--n-views 8]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, average_precision_score, log_loss
from sklearn.model_selection import train_test_split

from litterlearn.datasets import load_taco_sample, train_val_test_split
from litterlearn.ensemble import TestTimeAugmentationClassifier
from litterlearn.neural_network import CNNImageClassifier
from litterlearn.preprocessing import Augmenter, CocoBinaryLabeler, ImageResizer


def digits_task(seed):
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    train_aug = Augmenter(horizontal_flip=False, rotation=10, shift=0.1, zoom=0.1)

    def make(augmentation):
        return CNNImageClassifier(
            filters=(16, 32),
            padding="same",
            max_iter=30,
            learning_rate_init=0.003,
            augmentation=augmentation,
            random_state=seed,
        )

    return X_train, y_train, {}, X_test, y_test, make, train_aug


_TACO = {}


def taco_task(seed):
    if "X" not in _TACO:
        data = load_taco_sample(n_images=1000)
        _TACO["y"] = CocoBinaryLabeler("Bottle").fit_transform(data.annotations)
        _TACO["X"] = ImageResizer(50, color="gray").fit_transform(data.filenames)
    X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
        _TACO["X"],
        _TACO["y"],
        val_size=0.15,
        test_size=0.25,
        stratify=_TACO["y"],
        random_state=seed,
    )

    def make(augmentation):
        return CNNImageClassifier(
            max_iter=20,
            early_stopping=True,
            n_iter_no_change=5,
            augmentation=augmentation,
            random_state=seed,
        )

    fit_params = {"X_val": X_val, "y_val": y_val}
    return X_train, y_train, fit_params, X_test, y_test, make, Augmenter()


TASKS = {"digits": digits_task, "taco-sample": taco_task}


def views_of(train_aug):
    default = Augmenter(horizontal_flip=False, rotation=0.0, shift=0.05, zoom=0.05)
    flip = Augmenter(horizontal_flip=True, rotation=0.0, shift=0.05, zoom=0.05)
    return {"default": default, "+flip": flip, "train-like": train_aug}


def scores(y_true, proba, classes):
    row = {
        "accuracy": accuracy_score(y_true, classes[proba.argmax(axis=1)]),
        "log loss": log_loss(y_true, proba, labels=classes),
    }
    if len(classes) == 2:
        row["PR AUC"] = average_precision_score(y_true, proba[:, 1])
    return row


def main(seeds=3, data=("digits", "taco-sample"), n_views=8):
    for name in data:
        results = {}  # (training, views) -> list of score dicts
        for seed in range(seeds):
            X_train, y_train, fit_params, X_test, y_test, make, train_aug = TASKS[name](
                seed
            )
            for training in ("plain", "augmented"):
                start = time.perf_counter()
                tta = TestTimeAugmentationClassifier(
                    make(train_aug if training == "augmented" else None),
                    n_views=0,
                    random_state=seed,
                ).fit(X_train, y_train, **fit_params)
                fit_s = time.perf_counter() - start
                classes = tta.classes_
                results.setdefault((training, "none"), []).append(
                    scores(y_test, tta.predict_proba(X_test), classes)
                )
                for views, augmenter in views_of(train_aug).items():
                    start = time.perf_counter()
                    tta.set_params(augmenter=augmenter, n_views=n_views)
                    proba = tta.predict_proba(X_test)
                    pred_s = time.perf_counter() - start
                    results.setdefault((training, views), []).append(
                        scores(y_test, proba, classes)
                    )
                    print(
                        f"  {name} seed {seed} {training:9s} {views:10s} "
                        + "  ".join(
                            f"{k} {v:.3f}"
                            for k, v in results[(training, views)][-1].items()
                        )
                        + f"  (fit {fit_s:.0f} s, predict {pred_s:.1f} s)",
                        flush=True,
                    )
                print(
                    f"  {name} seed {seed} {training:9s} {'none':10s} "
                    + "  ".join(
                        f"{k} {v:.3f}"
                        for k, v in results[(training, "none")][-1].items()
                    ),
                    flush=True,
                )
        report(name, results, len(X_test), n_views, seeds)


def report(name, results, n_test, n_views, seeds):
    metrics = list(next(iter(results.values()))[0])
    print(f"\n{name}: {n_test} test images, n_views={n_views}, {seeds} seeds")
    header = " | ".join(f"{m} | gain in {m}" for m in metrics)
    print(f"| training | views | {header} |")
    print("| --- | --- |" + " --- | --- |" * len(metrics))
    for (training, views), rows in results.items():
        base = results[(training, "none")]
        cells = []
        for m in metrics:
            values = np.array([r[m] for r in rows])
            gains = values - np.array([r[m] for r in base])
            cells.append(f"{values.mean():.3f} ± {values.std():.3f}")
            cells.append(
                "" if views == "none" else f"{gains.mean():+.3f} ± {gains.std():.3f}"
            )
        print(f"| {training} | {views} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--n-views", type=int, default=8)
    args = parser.parse_args()
    main(args.seeds, args.data, args.n_views)
