"""What helps the CNN find bottles when only a fifth of the photos hold one?

Compares six ways of training the course's default CNN
(:class:`~litterlearn.neural_network.CNNImageClassifier`, three 16-filter
convolutions) on the offline TACO sample (``load_taco_sample``) at 50x50
gray, bottle against the rest (about 21% positives):

- ``none``: no balancing;
- ``class_weight``: ``class_weight="balanced"`` in the loss;
- ``RandomOverSampler``: minority rows duplicated until balanced;
- ``Augmenter (fit_resample)``: the minority class balanced with augmented
  copies (the Augmenter's mild defaults: flip, rotation up to 10 degrees,
  shift up to 10%);
- ``on-the-fly augmentation``: ``augmentation=Augmenter()``, every training
  image transformed afresh in every epoch, no balancing;
- ``threshold tuning``: ``TunedThresholdClassifierCV(cnn, scoring="f1",
  cv=3)``: the unbalanced CNN, with the decision threshold that maximises F1
  in 3-fold cross-validation on the training set (then refitted on all of it);
- ``RandomOverSampler + TTA``: the oversampling pipeline inside
  :class:`~litterlearn.ensemble.TestTimeAugmentationClassifier` (8 views,
  its default flip-free shifts and zooms of up to 5%), probabilities averaged
  over each test image and its views;
- ``RandomOverSampler + TTA (+flip)``: the same fitted model (no second fit:
  the views only matter at prediction) with left-right flips added to the
  views, which keep the label of a litter photo.

Samplers run in an imblearn pipeline (at fit only). Each seed draws its own
stratified train/validation/test split (60/15/25 by default: a larger test
set than the usual 10% so that the F1 of the rare class rests on ~50 positive
images rather than ~6) and seeds the network, the samplers and the
augmentation. Every fit stops early on the validation split (at most
``--epochs`` epochs, patience 5, best weights restored). Printed: the test
F1 of the bottle class, balanced accuracy and PR AUC (average precision) as
mean +- standard deviation over the seeds, with chance levels (always
answering "bottle": F1 = 2p / (1 + p); PR AUC = p, the positive rate), the
epochs run and the seconds per fit (about 0 for the ``+flip`` row).

    python benchmarks/bench_imbalance.py [--n-images 1000] [--epochs 20]
        [--seeds 3] [--test-size 0.25]

Recorded numbers and their reading: benchmarks/README.md, "bench_imbalance".
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import sklearn
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import TunedThresholdClassifierCV

from litterlearn.datasets import load_taco_sample, train_val_test_split
from litterlearn.ensemble import TestTimeAugmentationClassifier
from litterlearn.neural_network import CNNImageClassifier
from litterlearn.preprocessing import Augmenter, CocoBinaryLabeler, ImageResizer

METHODS = (
    "none",
    "class_weight",
    "RandomOverSampler",
    "Augmenter (fit_resample)",
    "on-the-fly augmentation",
    "threshold tuning",
    "RandomOverSampler + TTA",
    "RandomOverSampler + TTA (+flip)",
)


def make_cnn(seed, epochs, **params):
    """The course's default CNN, stopping early on the validation split."""
    return CNNImageClassifier(
        max_iter=epochs,
        early_stopping=True,
        n_iter_no_change=5,
        random_state=seed,
        **params,
    )


def fit_method(method, seed, epochs, X_train, y_train, X_val, y_val, fitted):
    """Fit one method; returns the fitted model and the CNN that was trained.

    ``fitted`` maps the methods already fitted on this seed to their models.
    """
    val = {"X_val": X_val, "y_val": y_val}
    if method == "none":
        model = make_cnn(seed, epochs).fit(X_train, y_train, **val)
        return model, model
    if method == "class_weight":
        model = make_cnn(seed, epochs, class_weight="balanced")
        return model.fit(X_train, y_train, **val), model
    if method == "on-the-fly augmentation":
        model = make_cnn(seed, epochs, augmentation=Augmenter())
        return model.fit(X_train, y_train, **val), model
    if method in ("RandomOverSampler", "Augmenter (fit_resample)"):
        sampler = (
            RandomOverSampler(random_state=seed)
            if method == "RandomOverSampler"
            else Augmenter(random_state=seed)
        )
        model = make_pipeline(sampler, make_cnn(seed, epochs))
        model.fit(
            X_train,
            y_train,
            cnnimageclassifier__X_val=X_val,
            cnnimageclassifier__y_val=y_val,
        )
        return model, model[-1]
    if method == "threshold tuning":
        # X_val and y_val reach every CNN fit (for early stopping) through
        # scikit-learn's metadata routing.
        with sklearn.config_context(enable_metadata_routing=True):
            cnn = make_cnn(seed, epochs).set_fit_request(X_val=True, y_val=True)
            model = TunedThresholdClassifierCV(
                cnn, scoring="f1", cv=3, random_state=seed
            ).fit(X_train, y_train, **val)
        return model, model.estimator_
    if method == "RandomOverSampler + TTA":
        model = TestTimeAugmentationClassifier(
            make_pipeline(RandomOverSampler(random_state=seed), make_cnn(seed, epochs)),
            n_views=8,
            random_state=seed,
        )
        model.fit(
            X_train,
            y_train,
            cnnimageclassifier__X_val=X_val,
            cnnimageclassifier__y_val=y_val,
        )
        return model, model.estimator_[-1]
    if method == "RandomOverSampler + TTA (+flip)":
        # The views are a prediction-time parameter: reuse the fit above.
        model = fitted["RandomOverSampler + TTA"]
        model.set_params(augmenter=Augmenter(rotation=0.0, shift=0.05, zoom=0.05))
        return model, model.estimator_[-1]
    raise ValueError(method)


def main(n_images=1000, epochs=20, seeds=3, test_size=0.25, val_size=0.15):
    start = time.perf_counter()
    data = load_taco_sample(n_images=n_images)
    y = CocoBinaryLabeler("Bottle").fit_transform(data.annotations)
    X = ImageResizer(50, color="gray").fit_transform(data.filenames)
    print(
        f"{n_images} images at 50x50 gray ({time.perf_counter() - start:.1f} s to "
        f"load and resize), {y.mean():.1%} with a bottle; split "
        f"{1 - val_size - test_size:.0%}/{val_size:.0%}/{test_size:.0%} "
        f"train/val/test; at most {epochs} epochs, patience 5; {seeds} seeds."
    )
    scores = {m: [] for m in METHODS}
    chance = []
    for seed in range(seeds):
        X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
            X,
            y,
            val_size=val_size,
            test_size=test_size,
            stratify=y,
            random_state=seed,
        )
        p = y_test.mean()
        chance.append((2 * p / (1 + p), 0.5, p))
        fitted = {}
        for method in METHODS:
            start = time.perf_counter()
            model, cnn = fit_method(
                method, seed, epochs, X_train, y_train, X_val, y_val, fitted
            )
            # Seconds to fit: about 0 for the +flip row, which reuses a fit.
            seconds = time.perf_counter() - start
            fitted[method] = model
            proba = model.predict_proba(X_test)[:, 1]
            y_pred = model.predict(X_test)
            row = (
                f1_score(y_test, y_pred),
                balanced_accuracy_score(y_test, y_pred),
                average_precision_score(y_test, proba),
                cnn.n_iter_,
                seconds,
            )
            scores[method].append(row)
            print(
                f"  seed {seed} {method:26s} F1 {row[0]:.3f}  bal. acc. "
                f"{row[1]:.3f}  PR AUC {row[2]:.3f}  {row[3]:2d} epochs  "
                f"{row[4]:5.1f} s",
                flush=True,
            )
        print(
            f"  seed {seed}: {len(y_test)} test images, {int(y_test.sum())} "
            f"bottles, {len(y_train)} training images",
            flush=True,
        )

    print()
    print("| method | bottle F1 | balanced accuracy | PR AUC | epochs | s per fit |")
    print("| --- | --- | --- | --- | --- | --- |")
    for method in METHODS:
        a = np.array(scores[method])
        mean, std = a.mean(axis=0), a.std(axis=0)
        print(
            f"| {method} | {mean[0]:.3f} ± {std[0]:.3f} | {mean[1]:.3f} ± "
            f"{std[1]:.3f} | {mean[2]:.3f} ± {std[2]:.3f} | {mean[3]:.1f} | "
            f"{mean[4]:.1f} |"
        )
    c = np.array(chance).mean(axis=0)
    print(f'| chance (always "bottle") | {c[0]:.3f} | {c[1]:.3f} | {c[2]:.3f} | | |')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-images", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--test-size", type=float, default=0.25)
    parser.add_argument("--val-size", type=float, default=0.15)
    args = parser.parse_args()
    main(args.n_images, args.epochs, args.seeds, args.test_size, args.val_size)
