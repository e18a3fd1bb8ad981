"""Which clothes are in this picture? A multi-label benchmark on real images.

Each image ("canvas") is a 2x2 grid of cells holding 1 to 4 real
Fashion-MNIST items; its label is the set of the 10 clothing classes present,
a ``(n_canvases, 10)`` 0/1 indicator, as a TACO photo holds several kinds of
litter at once.

Construction (seeded, reproducible):

- Source images: Fashion-MNIST (Zalando, MIT licence) from Debian's
  ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``
  or the folder in ``FASHION_MNIST_DIR``), loaded by
  ``bench_small_data.load_fashion_mnist``. Training canvases use items of the
  60000 training images only, test canvases items of the 10000 test images
  only: no source image is in both.
- A canvas: ``k`` drawn uniformly from 1..4, ``k`` of the 4 cells drawn
  without replacement, each filled with a different source image (no source
  image is used twice in a set); empty cells are black. Two items may share a
  class, so a canvas holds 1 to 4 classes (2.3 on average).
- Cells are ``--cell`` pixels (default 14: each 28x28 item is shrunk 2x by
  averaging 2x2 blocks), so canvases are 28x28, the size the CNN recipe was
  measured at; ``--cell 28`` keeps the items whole (56x56 canvases, about 3x
  the CNN cost). On 2 shared cores the ten binary CNNs of one training set
  took about 100 s at 28x28 and 240-510 s at 56x56.
- Training set of seed ``s``: ``numpy.random.default_rng(s)`` draws the
  largest size; smaller sizes are its first canvases (nested). The test set
  is fixed (1000 canvases, ``default_rng(2026)``), the same for every seed.

Methods (the same training canvases, pixels as uint8 rows):

- ``ovr_svc``: ``OneVsRestClassifier(SVC())`` (RBF, ``gamma="scale"``) on
  pixels scaled to [0, 1], ``C`` in {1, 10, 100} chosen by 3-fold
  cross-validation on the training canvases, scored by macro F1;
- ``binary_cnns``: the course's way, one binary ``make_small_data_cnn(n)``
  per label (10 fits, each on its 0/1 column); predicts the labels whose
  model says "present";
- ``multilabel_cnn``: one ``make_small_data_cnn(n)`` fitted on the indicator
  (sigmoid outputs, ``predict`` at the default threshold 0.5).

Both CNNs use the library's recipe unchanged (no setting chosen for this
dataset), with ``random_state`` the seed.

Every result (micro / macro / samples F1, subset accuracy, fit and predict
seconds, the 1-minute load average before and after, the litterlearn
commit) is appended as one JSON line to ``--results`` as soon as it is
computed; cells already in the file are skipped, so runs can be split and
resumed. ``--report`` prints the tables (mean +- std over seeds, one per
canvas size in the file) and draws the plot from that file alone.

    python benchmarks/bench_multilabel.py [--sizes 300 1000] [--seeds 0 1 2]
        [--methods ovr_svc binary_cnns multilabel_cnn] [--n-test 1000]
        [--cell 14] [--results benchmarks/bench_multilabel.jsonl]
    python benchmarks/bench_multilabel.py --report [--plot PATH]

Recorded numbers and their reading: benchmarks/README.md,
"bench_multilabel".
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_small_data import load_fashion_mnist  # noqa: E402

from litterlearn.metrics import tune_thresholds  # noqa: E402
from litterlearn.neural_network import make_small_data_cnn  # noqa: E402

METHODS = ("ovr_svc", "binary_cnns", "multilabel_cnn", "multilabel_cnn_tuned")
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
TEST_SEED = 2026


# --------------------------------------------------------------------------
# Data


def shrink(images, cell):
    """28x28 uint8 items to ``cell`` x ``cell`` by block means (28 keeps them)."""
    images = images.reshape(-1, 28, 28)
    if cell == 28:
        return images
    if 28 % cell:
        raise ValueError(f"--cell must divide 28; got {cell}.")
    f = 28 // cell
    blocks = images.reshape(-1, cell, f, cell, f).astype(np.float32)
    return np.round(blocks.mean(axis=(2, 4))).astype(np.uint8)


def make_canvases(pool_X, pool_y, n, rng, cell):
    """``n`` 2x2 canvases of 1-4 items from the pool, and their indicator."""
    n_items = rng.integers(1, 5, size=n)
    if n_items.sum() > len(pool_y):
        raise ValueError(f"{n} canvases need more than the {len(pool_y)} items.")
    # Every source image at most once in a set.
    chosen = rng.choice(len(pool_y), size=n_items.sum(), replace=False)
    items = shrink(pool_X[chosen], cell)
    classes = pool_y[chosen]
    canvases = np.zeros((n, 2 * cell, 2 * cell), np.uint8)
    Y = np.zeros((n, len(CLASS_NAMES)), np.int64)
    start = 0
    for i, k in enumerate(n_items):
        cells = rng.choice(4, size=k, replace=False)
        for j, c in enumerate(cells):
            r, col = divmod(int(c), 2)
            canvases[i, r * cell : (r + 1) * cell, col * cell : (col + 1) * cell] = (
                items[start + j]
            )
            Y[i, classes[start + j]] = 1
        start += k
    return canvases.reshape(n, -1), Y


def make_data(seed, sizes, n_test, cell):
    """Nested training sets (one per size) for ``seed`` and the fixed test set."""
    (X_pool, y_pool), (X_test_pool, y_test_pool) = load_fashion_mnist()
    X, Y = make_canvases(X_pool, y_pool, max(sizes), np.random.default_rng(seed), cell)
    X_test, Y_test = make_canvases(
        X_test_pool, y_test_pool, n_test, np.random.default_rng(TEST_SEED), cell
    )
    return {s: (X[:s], Y[:s]) for s in sizes}, (X_test, Y_test)


# --------------------------------------------------------------------------
# Methods


def scores(Y_true, Y_pred):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return {
            f"{avg}_f1": float(f1_score(Y_true, Y_pred, average=avg, zero_division=0))
            for avg in ("macro", "micro", "samples")
        } | {
            "subset_accuracy": float(accuracy_score(Y_true, Y_pred)),
            "per_label_f1": [
                round(float(v), 4)
                for v in f1_score(Y_true, Y_pred, average=None, zero_division=0)
            ],
        }


def fit_ovr_svc(X, Y, seed):
    grid = GridSearchCV(
        OneVsRestClassifier(SVC()),
        {"estimator__C": [1, 10, 100]},
        cv=3,
        scoring="f1_macro",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        grid.fit(X / 255.0, Y)
    return grid, {"C": grid.best_params_["estimator__C"]}


def predict_ovr_svc(model, X):
    return model.predict(X / 255.0)


def fit_binary_cnns(X, Y, seed):
    models = []
    for k in range(Y.shape[1]):
        models.append(make_small_data_cnn(len(X), random_state=seed).fit(X, Y[:, k]))
    return models, {"epochs": models[0].max_iter, "n_fits": len(models)}


def predict_binary_cnns(models, X):
    return np.column_stack([m.predict(X) for m in models]).astype(np.int64)


def fit_multilabel_cnn(X, Y, seed):
    model = make_small_data_cnn(len(X), random_state=seed).fit(X, Y)
    return model, {"epochs": model.max_iter, "n_fits": 1}


def predict_multilabel_cnn(model, X):
    return np.asarray(model.predict(X)).astype(np.int64)


def fit_multilabel_cnn_tuned(X, Y, seed):
    """The multi-label CNN on 80% of the canvases, with each label's
    threshold tuned to its best F1 on the other 20% (tune_thresholds)."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_fit = int(round(0.8 * len(X)))
    fit_idx, val_idx = order[:n_fit], order[n_fit:]
    model = make_small_data_cnn(n_fit, random_state=seed).fit(X[fit_idx], Y[fit_idx])
    thresholds = tune_thresholds(Y[val_idx], model.predict_proba(X[val_idx]))
    model.set_params(threshold=thresholds)
    return model, {
        "epochs": model.max_iter,
        "n_fits": 1,
        "thresholds": [round(float(t), 3) for t in thresholds],
    }


FIT = {
    "ovr_svc": (fit_ovr_svc, predict_ovr_svc),
    "binary_cnns": (fit_binary_cnns, predict_binary_cnns),
    "multilabel_cnn": (fit_multilabel_cnn, predict_multilabel_cnn),
    "multilabel_cnn_tuned": (fit_multilabel_cnn_tuned, predict_multilabel_cnn),
}


def commit():
    try:
        out = subprocess.run(
            ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def run_cell(size, seed, X, Y, X_test, Y_test, method, cell, emit, revision=None):
    fit, predict = FIT[method]
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    model, extra = fit(X, Y, seed)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    Y_pred = predict(model, X_test)
    predict_s = time.perf_counter() - t0
    emit(
        dict(
            size=size,
            seed=seed,
            method=method,
            cell=cell,
            n_test=len(Y_test),
            **scores(Y_test, Y_pred),
            fit_s=round(fit_s, 2),
            predict_s=round(predict_s, 2),
            load_before=round(load_before, 2),
            load_after=round(os.getloadavg()[0], 2),
            commit=revision,
            **extra,
        )
    )


# --------------------------------------------------------------------------
# Report


def load_results(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def summarize(rows):
    """{(size, method): dict of mean/std macro F1, mean fit s, loads, n seeds}."""
    groups = {}
    for r in rows:
        groups.setdefault((r["size"], r["method"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        f1 = np.array([r["macro_f1"] for r in rs])
        out[key] = dict(
            mean=f1.mean(),
            std=f1.std(),
            micro=np.mean([r["micro_f1"] for r in rs]),
            samples=np.mean([r["samples_f1"] for r in rs]),
            fit=np.mean([r["fit_s"] for r in rs]),
            load=(
                min(min(r["load_before"], r["load_after"]) for r in rs),
                max(max(r["load_before"], r["load_after"]) for r in rs),
            ),
            seeds=sorted(r["seed"] for r in rs),
        )
    return out


def paired(rows, size, method, other):
    """Per seed: macro F1 of ``method`` minus ``other`` (seeds having both)."""
    by_seed = {}
    for r in rows:
        if r["size"] == size:
            by_seed.setdefault(r["seed"], {})[r["method"]] = r
    return {
        s: (m[method]["macro_f1"] - m[other]["macro_f1"], m)
        for s, m in sorted(by_seed.items())
        if method in m and other in m
    }


def report(rows):
    stats = summarize(rows)
    sizes = sorted({k[0] for k in stats})
    methods = [m for m in METHODS if any(k[1] == m for k in stats)]
    print(
        "\nmacro F1 on the fixed test canvases, mean +- std over seeds "
        "(mean fit seconds; seeds; 1-min load range)"
    )
    print("| method | " + " | ".join(f"n={s}" for s in sizes) + " |")
    print("|" + "---|" * (len(sizes) + 1))
    for m in methods:
        cells = []
        for s in sizes:
            st = stats.get((s, m))
            if st is None:
                cells.append("-")
                continue
            cells.append(
                f"{st['mean']:.3f} +- {st['std']:.3f} ({st['fit']:.0f} s; "
                f"{len(st['seeds'])} seeds; load {st['load'][0]:.1f}-"
                f"{st['load'][1]:.1f})"
            )
        print(f"| {m} | " + " | ".join(cells) + " |")
    print("\nmicro / samples F1, mean over seeds")
    for m in methods:
        parts = [
            f"n={s}: {stats[s, m]['micro']:.3f} / {stats[s, m]['samples']:.3f}"
            for s in sizes
            if (s, m) in stats
        ]
        print(f"  {m}: " + ", ".join(parts))
    print("\npaired per seed (macro F1 difference; fit-time ratio)")
    for size in sizes:
        for method, other in (
            ("multilabel_cnn", "ovr_svc"),
            ("multilabel_cnn", "binary_cnns"),
            ("binary_cnns", "ovr_svc"),
        ):
            pairs = paired(rows, size, method, other)
            if not pairs:
                continue
            diffs = [d for d, _ in pairs.values()]
            ratios = [m[other]["fit_s"] / m[method]["fit_s"] for _, m in pairs.values()]
            print(
                f"  n={size} {method} - {other}: mean {np.mean(diffs):+.3f} "
                f"(min {min(diffs):+.3f}, {len(diffs)} seeds); "
                f"{other} fit / {method} fit: {np.mean(ratios):.2f}x"
            )


def plot(rows, path):
    """One row of axes per canvas size in ``rows``: macro F1 and fit time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = sorted({r["cell"] for r in rows})
    fig, axes = plt.subplots(
        len(cells), 2, figsize=(10, 3.8 * len(cells)), squeeze=False
    )
    for (ax_f1, ax_fit), cell in zip(axes, cells, strict=True):
        stats = summarize([r for r in rows if r["cell"] == cell])
        sizes = sorted({k[0] for k in stats})
        methods = [m for m in METHODS if any(k[1] == m for k in stats)]
        width = 0.8 / len(methods)
        x = np.arange(len(sizes))
        for i, m in enumerate(methods):
            got = [(s, m) in stats for s in sizes]
            mean = [
                stats[s, m]["mean"] if ok else np.nan
                for s, ok in zip(sizes, got, strict=True)
            ]
            std = [
                stats[s, m]["std"] if ok else 0
                for s, ok in zip(sizes, got, strict=True)
            ]
            fit = [
                stats[s, m]["fit"] if ok else np.nan
                for s, ok in zip(sizes, got, strict=True)
            ]
            pos = x + (i - (len(methods) - 1) / 2) * width
            color = plt.cm.tab10.colors[METHODS.index(m)]
            ax_f1.bar(pos, mean, width, yerr=std, capsize=3, label=m, color=color)
            ax_fit.bar(pos, fit, width, label=m, color=color)
            for p, s, ok in zip(pos, sizes, got, strict=True):
                if ok:
                    n = len(stats[s, m]["seeds"])
                    ax_f1.text(p, 0.02, f"{n}", ha="center", fontsize=7, color="w")
        labels = [f"{s} canvases" for s in sizes]
        for ax, label in ((ax_f1, "test macro F1"), (ax_fit, "fit seconds (mean)")):
            ax.set_xticks(x, labels)
            ax.set_ylabel(label)
            ax.grid(alpha=0.3, axis="y")
        ax_fit.set_yscale("log")
        ax_f1.set_ylim(0, 1)
        ax_f1.legend(fontsize=8, loc="upper left")
        side = 2 * cell
        ax_f1.set_title(
            f"{side}x{side} canvases: macro F1, mean ± std (seeds at the foot)",
            fontsize="medium",
        )
        ax_fit.set_title(
            f"{side}x{side} canvases: fit time (2-core CPU, shared)",
            fontsize="medium",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"\nplot written to {path}")


# --------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[300, 1000])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--cell", type=int, default=14, choices=[7, 14, 28])
    parser.add_argument(
        "--results", type=pathlib.Path, default=HERE / "bench_multilabel.jsonl"
    )
    parser.add_argument("--report", action="store_true", help="only print/plot")
    parser.add_argument(
        "--plot", type=pathlib.Path, default=HERE / "bench_multilabel.png"
    )
    args = parser.parse_args()
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {METHODS}")

    if not args.report:
        # The code this process imported: read once, not at each result.
        revision = commit()
        done = {
            (r["size"], r["seed"], r["method"], r["cell"], r["n_test"])
            for r in load_results(args.results)
        }

        def emit(row):
            print(
                f"n={row['size']} seed={row['seed']} {row['method']}: macro F1 "
                f"{row['macro_f1']:.4f}, fit {row['fit_s']:.1f} s, load "
                f"{row['load_before']:.1f}->{row['load_after']:.1f}",
                flush=True,
            )
            with open(args.results, "a") as f:
                f.write(json.dumps(row) + "\n")

        data = {
            seed: make_data(seed, args.sizes, args.n_test, args.cell)
            for seed in args.seeds
        }
        # Size by size, so the small size has every seed first.
        for size in sorted(args.sizes):
            for seed in args.seeds:
                subsets, (X_test, Y_test) = data[seed]
                X, Y = subsets[size]
                for method in args.methods:
                    key = (size, seed, method, args.cell, args.n_test)
                    if key not in done:
                        run_cell(
                            size,
                            seed,
                            X,
                            Y,
                            X_test,
                            Y_test,
                            method,
                            args.cell,
                            emit,
                            revision,
                        )
    rows = [r for r in load_results(args.results) if r["n_test"] == args.n_test]
    for cell in sorted({r["cell"] for r in rows}):
        side = 2 * cell
        print(f"\n== {side}x{side} canvases (cells of {cell} px) ==")
        report([r for r in rows if r["cell"] == cell])
    if rows:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
