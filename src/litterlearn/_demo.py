"""``litterlearn demo``: the course's bottle-vs-rest CNN, end to end.

Fetches TACO (a subset) or, when TACO cannot be reached, says so and uses the
offline synthetic sample; trains the course CNN with class weighting; prints
classification reports for the validation and test sets; saves the training
curves, the confusion matrix and Grad-CAM maps of test bottles found and
missed as PNG files.

``--task multilabel`` asks instead which litter is in each photo: one CNN
with a sigmoid per label learns the ten supercategories most frequent in the
images used, and the reports and the figure are per label. Ten, not all 28:
in TACO, 16 of the 28 supercategories are in at most 5% of the photos and 12
in under 2% (29 of 1500 or fewer); a test set of a few dozen photos holds
none or one of each, so their scores would be noise that drowns the macro
averages. The ten most frequent are each in 7.6% to 35% of TACO's photos.

Console output follows ``verbose`` (the command line's ``--quiet`` and
``-v``): 0 prints only what was used and the results; 1 (the default) adds
the download progress bar and one line per epoch (a progress bar in a
terminal); 2 adds the download log (pooch) and TensorFlow's warnings; 3 adds
TensorFlow's start-up information lines.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
import warnings

from ._cli import one_line, writable_folder

#: Images in TACO, the upper bound of ``n_images``.
N_TACO_IMAGES = 1500
#: The fewest images that give a validation and a test set of two images each.
MIN_IMAGES = 20
#: The course CNN's three convolutions and two poolings need at least this size.
MIN_IMAGE_SIZE = 16
SOURCES = ("auto", "taco", "sample")
TASKS = ("bottle", "multilabel")
#: Labels of ``--task multilabel``: the most frequent supercategories.
N_LABELS = 10
#: A label needs this many images to be learnt and scored (train, val, test).
MIN_LABEL_IMAGES = 3


class DemoError(Exception):
    """A problem the demo reports in one line (TACO unreachable, too few images)."""


class DemoArgumentError(DemoError):
    """A bad option value, found before any work."""


def check_demo_arguments(
    *, source, n_images, epochs, image_size, output, timeout, task="bottle"
):
    """Refuse bad values before any work; return the output folder as a Path.

    Raises
    ------
    DemoArgumentError
        Naming the option and the value, for the first bad one.
    """
    if source not in SOURCES:
        raise DemoArgumentError(
            f"--source must be one of {', '.join(SOURCES)}; got {source!r}"
        )
    if task not in TASKS:
        raise DemoArgumentError(
            f"--task must be one of {', '.join(TASKS)}; got {task!r}"
        )
    for name, value, low, high in (
        ("--n-images", n_images, MIN_IMAGES, N_TACO_IMAGES),
        ("--epochs", epochs, 1, None),
        ("--image-size", image_size, MIN_IMAGE_SIZE, 1024),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise DemoArgumentError(f"{name} must be an integer; got {value!r}")
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high else f"at least {low}"
            raise DemoArgumentError(f"{name} must be {bound}; got {value}")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or not timeout > 0
    ):
        raise DemoArgumentError(
            f"--timeout must be a positive, finite number of seconds; got {timeout}"
        )
    return writable_folder(output, DemoArgumentError)


def _one_line(exc, limit=160):
    """An exception as one short line: its type, the start of its message and
    the type of the error at the root of its chain (the network's)."""
    line = one_line(exc, limit)
    root, seen = exc, set()
    while isinstance(root, BaseException) and id(root) not in seen:
        seen.add(id(root))
        nxt = root.__cause__ or root.__context__
        if nxt is None:
            break
        root = nxt
    if root is not exc and type(root).__name__ not in line:
        line += f"; cause: {type(root).__name__}"
    return line


def quiet_console(verbose):
    """Silence TensorFlow's and pooch's log lines below ``verbose`` 2 and 3.

    TensorFlow's C++ start-up lines obey ``TF_CPP_MIN_LOG_LEVEL`` only when
    it is set before TensorFlow is imported, so call this first. A value the
    user set in the environment is kept unless ``verbose`` asks for more.
    Returns a function that puts the Python loggers' levels back.
    """
    level = {0: "2", 1: "2", 2: "1"}.get(verbose, "0")
    if verbose >= 2 or "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = level
    import pooch

    python_level = logging.WARNING if verbose >= 2 else logging.ERROR
    # TensorFlow's Python logger carries the "retracing" warnings; absl's
    # is the one Keras and TensorFlow's own modules use. pooch's logger is
    # its own object, not registered with logging.getLogger.
    loggers = {
        logging.getLogger("tensorflow"): python_level,
        logging.getLogger("absl"): python_level,
        pooch.get_logger(): logging.INFO if verbose >= 2 else logging.ERROR,
    }
    before = {logger: logger.level for logger in loggers}
    for logger, level in loggers.items():
        logger.setLevel(level)

    def restore():
        for logger, level in before.items():
            logger.setLevel(level)

    return restore


class _MirrorError(ValueError):
    """The mirror served annotations that are not the pinned TACO file."""


def _local_problem(exc):
    """A DemoError for an OSError of this machine (the data folder, a disk)."""
    from .datasets._base import DATA_ENV

    return DemoError(
        f"the data folder cannot be used ({_one_line(exc)}); set {DATA_ENV} to "
        "a folder you can write, or free some space"
    )


def load_data(source, n_images, timeout, out, *, progressbar=True):
    """Return (bunch, description) for ``source`` in {"auto", "taco", "sample"}.

    Raises
    ------
    DemoError
        With ``source="taco"``, when TACO cannot be reached or used.
    """
    from .datasets import fetch_taco, load_taco_sample
    from .datasets._taco import DownloadTooLargeError, MirrorURLError

    if source in ("auto", "taco"):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UserWarning)
                try:
                    bunch = fetch_taco(
                        n_images=n_images,
                        random_state=0,
                        timeout=timeout,
                        n_retries=1,
                        progressbar=progressbar,
                    )
                except MirrorURLError as exc:
                    raise DemoError(str(exc).rstrip(".")) from exc
                except ValueError as exc:
                    if "not the pinned TACO annotations" not in str(exc):
                        raise  # not the mirror's doing: a bug, with its traceback
                    raise _MirrorError(str(exc)) from exc
            print(f"Using real TACO: {len(bunch.filenames)} images.", file=out)
            if bunch.missing:
                print(
                    f"{len(bunch.missing)} of {n_images} TACO images could not be "
                    "fetched; running again fetches only those.",
                    file=out,
                )
            for w in caught:
                if "could not be fetched" not in str(w.message):
                    print(f"Note: {_one_line(w.message)}", file=out)
            return bunch, "TACO"
        except (ConnectionError, DownloadTooLargeError, _MirrorError) as exc:
            # Arguments were checked before: what fails here is the network
            # or the mirror (one serving a wrong annotations file). A problem
            # with the data folder is not TACO's: _local_problem reports it.
            what = (
                "TACO could not be reached"
                if isinstance(exc, ConnectionError)
                else "TACO's annotations could not be used"
            )
            if source == "taco":
                raise DemoError(
                    f"{what} ({_one_line(exc)}). Check the network or "
                    "LITTERLEARN_TACO_URL, or use --source sample."
                ) from exc
            print(
                f"{what} ({_one_line(exc, 100)}).\n"
                "Falling back to the offline SYNTHETIC sample "
                "(litterlearn.datasets.load_taco_sample): the numbers below are "
                "about generated images, not real litter photos.",
                file=out,
            )
        except OSError as exc:
            raise _local_problem(exc) from exc
    try:
        bunch = load_taco_sample(n_images=n_images)
    except OSError as exc:
        raise _local_problem(exc) from exc
    print(f"Using the synthetic TACO sample: {len(bunch.filenames)} images.", file=out)
    return bunch, "synthetic sample"


def _report(y_true, pred, proba, names, **kwargs):
    """imbalance_report, also when a small split lacks a class or label."""
    from .metrics import imbalance_report

    with warnings.catch_warnings():
        # A tiny split may hold no bottle (or no image of a label): the
        # report says so with nan and 0.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return imbalance_report(
            y_true,
            pred,
            proba,
            target_names=names,
            zero_division=0,
            **kwargs,
        )


def run_demo(
    *,
    source="auto",
    n_images=300,
    epochs=30,
    image_size=50,
    output="litterlearn-demo",
    timeout=10.0,
    verbose=1,
    random_state=0,
    out=None,
    task="bottle",
):
    """Train the course CNN on bottle-vs-rest and report; return a results dict.

    Parameters mirror the command-line options (``litterlearn demo --help``);
    ``verbose`` is 0 (``--quiet``), 1 (default), 2 (``-v``) or 3 (``-vv``),
    as described in the module docstring. ``task="multilabel"`` trains one
    multi-label CNN on the ten most frequent supercategories instead; its
    results dict also holds ``"labels"``, their names.

    Raises
    ------
    DemoError
        Before any work, for a bad argument or an output folder that cannot
        be written; with ``source="taco"``, when TACO cannot be reached.
    """
    arguments = dict(locals())  # the settings as given, for _run
    folder = check_demo_arguments(
        source=source,
        n_images=n_images,
        epochs=epochs,
        image_size=image_size,
        output=output,
        timeout=timeout,
        task=task,
    )
    restore_loggers = quiet_console(verbose)
    try:
        return _run(folder, **arguments)
    except DemoError:
        raise
    except OSError as exc:
        # A problem of this machine (a full disk, a folder made read-only
        # meanwhile) is reported as a DemoError rather than a traceback.
        raise DemoError(_one_line(exc)) from exc
    finally:
        restore_loggers()


def _prepare(image_size, X_train, *others):
    """The course's images: resized to ``image_size`` gray, normalized."""
    from sklearn.pipeline import make_pipeline

    from .preprocessing import GrayscaleNormalizer, ImageResizer

    prep = make_pipeline(ImageResizer(image_size, n_jobs=-1), GrayscaleNormalizer())
    return (prep.fit_transform(X_train), *(prep.transform(X) for X in others))


def _course_cnn(epochs, random_state, verbose, out):
    """The course CNN, class-weighted, as both demo tasks train it."""
    from .neural_network import CNNImageClassifier

    # One line per epoch unless a terminal can show Keras' progress bar.
    interactive = getattr(out, "isatty", lambda: False)()
    return CNNImageClassifier(
        class_weight="balanced",
        max_iter=epochs,
        random_state=random_state,
        verbose=0 if verbose < 1 else (1 if interactive else 2),
    )


def _run(
    folder,
    *,
    source,
    n_images,
    epochs,
    image_size,
    timeout,
    verbose,
    random_state,
    out,
    task,
    **_,
):
    """The demo itself, arguments checked and the console quietened."""

    from .plotting import _pyplot

    plt = _pyplot()  # a clear error naming litterlearn[plot] if matplotlib is missing
    plt.switch_backend("Agg")
    from sklearn.metrics import ConfusionMatrixDisplay

    from .datasets import train_val_test_split
    from .plotting import plot_history
    from .preprocessing import CocoBinaryLabeler

    out = sys.stdout if out is None else out
    start = time.perf_counter()
    bunch, data_name = load_data(
        source, n_images, timeout, out, progressbar=verbose >= 1
    )
    if task == "multilabel":
        return _run_multilabel(
            folder,
            bunch,
            data_name,
            epochs,
            image_size,
            verbose,
            random_state,
            out,
            start,
        )
    y = CocoBinaryLabeler("Bottle").fit_transform(bunch.annotations)
    if min(y.sum(), len(y) - y.sum()) < 3:
        raise DemoError(
            f"only {y.sum()} of the {len(y)} images contain a bottle: too few to "
            "split and evaluate; use more images (--n-images)"
        )
    X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
        bunch.filenames, y, stratify=y, random_state=random_state
    )
    print(
        f"Bottle in {y.sum()} of {len(y)} images ({y.mean():.0%}); "
        f"split train/val/test = {len(y_train)}/{len(y_val)}/{len(y_test)}.",
        file=out,
    )

    Z_train, Z_val, Z_test = _prepare(image_size, X_train, X_val, X_test)
    clf = _course_cnn(epochs, random_state, verbose, out)
    print(
        f"Training the course CNN ({image_size}x{image_size} gray, "
        f"class_weight='balanced', {epochs} epochs):",
        file=out,
    )
    clf.fit(Z_train, y_train, X_val=Z_val, y_val=y_val)

    names = ["other", "bottle"]
    reports = {}
    for split, Z, y_true in (("validation", Z_val, y_val), ("test", Z_test, y_test)):
        proba = clf.predict_proba(Z)[:, 1]
        pred = clf.predict(Z)
        print(f"\n{split.capitalize()} set ({data_name}):", file=out)
        if len(set(y_true.tolist())) < 2:
            print(
                f"(this {split} set holds a single class: scores that need "
                "both are nan; use more images for meaningful numbers)",
                file=out,
            )
        print(
            _report(y_true, pred, proba, names, labels=[0, 1], output_dict=False),
            file=out,
        )
        reports[split] = _report(y_true, pred, proba, names, labels=[0, 1])

    curves = folder / "training_curves.png"
    plot_history(
        clf,
        title=f"Course CNN, bottle vs rest ({data_name}, {image_size}x{image_size} gray)",
    ).savefig(curves, dpi=100)
    fig, ax = plt.subplots(figsize=(4, 4))
    ConfusionMatrixDisplay.from_predictions(
        y_test,
        clf.predict(Z_test),
        labels=[0, 1],
        display_labels=names,
        ax=ax,
        colorbar=False,
    )
    ax.set_title(f"Course CNN, test set\n({data_name})")
    fig.tight_layout()
    matrix = folder / "confusion_matrix.png"
    fig.savefig(matrix, dpi=100)
    cams = save_grad_cam_grid(clf, Z_test, y_test, folder / "grad_cam.png", data_name)
    plt.close("all")
    print(
        f"\nSaved {curves.name}, {matrix.name} and {cams.name} in {folder} "
        f"({time.perf_counter() - start:.0f} s in all).",
        file=out,
    )
    return {"data": data_name, "reports": reports, "files": [curves, matrix, cams]}


def save_grad_cam_grid(clf, Z_test, y_test, path, data_name, per_group=6):
    """Save Grad-CAM maps of test bottles the CNN found and missed; return path.

    Each map shows where the network sees a bottle (the class "bottle",
    ``target=1``), over the 50x50 gray image it was given.
    """
    import numpy as np

    from .inspection import grad_cam
    from .plotting import _pyplot, plot_grad_cam

    plt = _pyplot()
    y_test = np.asarray(y_test)
    pred = clf.predict(Z_test)
    groups = {
        "bottle found": np.flatnonzero((y_test == 1) & (pred == 1))[:per_group],
        "bottle missed": np.flatnonzero((y_test == 1) & (pred == 0))[:per_group],
    }
    chosen = np.concatenate(list(groups.values()))
    title = f"Where the course CNN sees a bottle: Grad-CAM, test set ({data_name})"
    if len(chosen) == 0:
        fig = plt.figure(figsize=(6, 1.5))
        fig.text(0.5, 0.5, "No bottle in the test set.", ha="center")
    else:
        n_cols = min(per_group, len(chosen))
        n_rows = -(-len(chosen) // n_cols)
        fig = plt.figure(
            figsize=(max(4.0, 1.7 * n_cols), 1.9 * n_rows + 0.5), layout="constrained"
        )
        titles = [name for name, idx in groups.items() for _ in idx]
        heatmaps = grad_cam(clf, Z_test[chosen], target=1)
        plot_grad_cam(Z_test[chosen], heatmaps, titles=titles, n_cols=n_cols, fig=fig)
    fig.suptitle(title, fontsize="medium")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def most_frequent_labels(
    supercategories, n_labels=N_LABELS, min_images=MIN_LABEL_IMAGES
):
    """The ``n_labels`` supercategories held by most images, most frequent first.

    Only those in at least ``min_images`` images (ties by name), so that
    each can reach the training, validation and test sets. Returns a list
    of ``(name, n_images)``.
    """
    from collections import Counter

    counts = Counter(name for names in supercategories for name in set(names))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(name, n) for name, n in ranked if n >= min_images][:n_labels]


def _run_multilabel(
    folder, bunch, data_name, epochs, image_size, verbose, random_state, out, start
):
    """``--task multilabel``: which litter is in each photo, one CNN."""

    from .datasets import train_val_test_split
    from .plotting import _pyplot, plot_history
    from .preprocessing import CocoMultiLabeler

    plt = _pyplot()
    chosen = most_frequent_labels(bunch.supercategories)
    if len(chosen) < 2:
        raise DemoError(
            f"only {len(chosen)} kind(s) of litter are in {MIN_LABEL_IMAGES} or "
            f"more of the {len(bunch.filenames)} images: too few to learn several "
            "labels; use more images (--n-images)"
        )
    names = [name for name, _ in chosen]
    Y = (
        CocoMultiLabeler(classes=names)
        .fit(bunch.annotations)
        .transform(bunch.filenames)
    )
    # A larger test set than the bottle demo's: each label needs positives.
    X_train, X_val, X_test, Y_train, Y_val, Y_test = train_val_test_split(
        bunch.filenames,
        Y,
        val_size=0.15,
        test_size=0.2,
        stratify=Y,
        random_state=random_state,
    )
    print(
        f"The {len(names)} most frequent kinds of litter (supercategories) of "
        f"the {len(Y)} images, and the share of images holding each:",
        file=out,
    )
    for name, n in chosen:
        print(f"  {name:<24} {n / len(Y):>4.0%}", file=out)
    print(
        f"{Y.sum(axis=1).mean():.2f} of these labels per image; split "
        f"train/val/test = {len(Y_train)}/{len(Y_val)}/{len(Y_test)} "
        "(stratified over every label).",
        file=out,
    )

    Z_train, Z_val, Z_test = _prepare(image_size, X_train, X_val, X_test)
    clf = _course_cnn(epochs, random_state, verbose, out)
    print(
        f"Training one multi-label CNN (the course CNN with {len(names)} sigmoid "
        f"outputs; {image_size}x{image_size} gray, class_weight='balanced' per "
        f"label, {epochs} epochs):",
        file=out,
    )
    clf.fit(Z_train, Y_train, X_val=Z_val, y_val=Y_val)

    reports = {}
    for split, Z, Y_true in (("validation", Z_val, Y_val), ("test", Z_test, Y_test)):
        proba, pred = clf.predict_proba(Z), clf.predict(Z)
        print(f"\n{split.capitalize()} set ({data_name}), per label:", file=out)
        print(_report(Y_true, pred, proba, names, output_dict=False), file=out)
        reports[split] = _report(Y_true, pred, proba, names, output_dict=True)

    curves = folder / "training_curves.png"
    plot_history(
        clf,
        title=f"Multi-label CNN, {len(names)} kinds of litter ({data_name})",
    ).savefig(curves, dpi=100)
    per_label = save_per_label_figure(
        reports["test"], names, Y_test.mean(axis=0), folder / "per_label.png", data_name
    )
    plt.close("all")
    print(
        f"\nSaved {curves.name} and {per_label.name} in {folder} "
        f"({time.perf_counter() - start:.0f} s in all).",
        file=out,
    )
    return {
        "data": data_name,
        "task": "multilabel",
        "labels": names,
        "reports": reports,
        "files": [curves, per_label],
    }


def save_per_label_figure(report, names, prevalence, path, data_name):
    """Per label: test F1 and PR AUC, against the PR AUC of chance; return path.

    A classifier that ranks at random has a PR AUC equal to the label's share
    of the test images (its prevalence), the line each bar should clear.
    """
    import numpy as np

    from .plotting import _pyplot

    plt = _pyplot()
    y = np.arange(len(names))[::-1]
    f1 = [report[name]["f1-score"] for name in names]
    ap = [report[name]["average_precision"] for name in names]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.6), layout="constrained")
    ax.barh(y + 0.2, f1, height=0.4, label="F1 (threshold 0.5)")
    ax.barh(y - 0.2, ap, height=0.4, label="PR AUC")
    ax.scatter(
        prevalence,
        y - 0.2,
        marker="|",
        s=200,
        color="k",
        zorder=3,
        label="PR AUC of chance: the share of test\n"
        "images holding the label (in brackets)",
    )
    ax.set_yticks(y, [f"{n} ({p:.0%})" for n, p in zip(names, prevalence, strict=True)])
    ax.set_xlim(0, 1)
    ax.set_xlabel("test score")
    macro = report["macro avg"]
    ax.set_title(
        f"Which litter is in the photo? Test set ({data_name})\n"
        f"one multi-label CNN: macro F1 {macro['f1-score']:.2f}, macro PR AUC "
        f"{macro['average_precision']:.2f}",
        fontsize="medium",
    )
    ax.legend(fontsize="small", loc="lower right")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def add_demo_arguments(parser):
    """The demo's options, each with its help text and default."""
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default=os.environ.get("LITTERLEARN_DEMO_SOURCE", "auto"),
        help="where the images come from: 'taco' (real photos, downloaded), "
        "'sample' (the offline synthetic sample) or 'auto' (TACO when it can "
        "be reached, else the sample); the environment variable "
        "LITTERLEARN_DEMO_SOURCE sets the default (default: %(default)s)",
    )
    parser.add_argument(
        "--task",
        choices=TASKS,
        default="bottle",
        help="'bottle': does the photo hold a bottle (the course's problem); "
        f"'multilabel': which of the {N_LABELS} most frequent kinds of litter "
        "(TACO supercategories) it holds, one CNN with a sigmoid per label "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--n-images",
        type=int,
        default=300,
        metavar="N",
        help=f"images to use, from {MIN_IMAGES} to {N_TACO_IMAGES}: a seeded "
        "subset of TACO, or a sample of that size (default: %(default)s)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=30,
        metavar="N",
        help="training epochs, at least 1 (default: %(default)s)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=50,
        metavar="PX",
        help=f"images are resized to PX x PX gray, PX from {MIN_IMAGE_SIZE} to "
        "1024 (default: %(default)s, as in the course)",
    )
    parser.add_argument(
        "--output",
        default="litterlearn-demo",
        metavar="FOLDER",
        help="folder for the PNG figures, created if needed; checked to be "
        "writable before any work (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds to wait for each download (default: %(default)s)",
    )
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only what data is used and the results: no progress (default: off)",
    )
    loud.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="-v adds download logs and TensorFlow's warnings; -vv also "
        "TensorFlow's start-up information (default: neither)",
    )


def main_demo(args: argparse.Namespace):
    """Run the demo from parsed arguments (``litterlearn demo``)."""
    run_demo(
        source=args.source,
        n_images=args.n_images,
        epochs=args.epochs,
        image_size=args.image_size,
        output=args.output,
        timeout=args.timeout,
        verbose=0 if args.quiet else 1 + args.verbose,
        task=args.task,
    )
