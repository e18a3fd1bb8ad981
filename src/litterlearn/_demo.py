"""``litterlearn demo``: the course's bottle-vs-rest CNN, end to end.

Fetches TACO (a subset) or, when TACO cannot be reached, says so and uses the
offline synthetic sample; trains the course CNN with class weighting; prints
classification reports for the validation and test sets; saves the training
curves, the confusion matrix and Grad-CAM maps of test bottles found and
missed as PNG files.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def load_data(source, n_images, timeout, out):
    """Return (bunch, description) for ``source`` in {"auto", "taco", "sample"}."""
    from .datasets import fetch_taco, load_taco_sample

    if source in ("auto", "taco"):
        try:
            bunch = fetch_taco(
                n_images=n_images, random_state=0, timeout=timeout, n_retries=1
            )
            print(f"Using real TACO: {len(bunch.filenames)} images.", file=out)
            return bunch, "TACO"
        except (OSError, ConnectionError, ValueError) as exc:
            if source == "taco":
                raise
            print(
                f"TACO could not be reached ({type(exc).__name__}: {exc}).\n"
                "Falling back to the offline SYNTHETIC sample "
                "(litterlearn.datasets.load_taco_sample): the numbers below are "
                "about generated images, not real litter photos.",
                file=out,
            )
    bunch = load_taco_sample(n_images=max(n_images, 100))
    print(f"Using the synthetic TACO sample: {len(bunch.filenames)} images.", file=out)
    return bunch, "synthetic sample"


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
):
    """Train the course CNN on bottle-vs-rest and report; return a results dict.

    Parameters mirror the command-line options (``litterlearn demo --help``).
    """
    import sys

    from .plotting import _pyplot

    plt = _pyplot()  # a clear error naming litterlearn[plot] if matplotlib is missing
    plt.switch_backend("Agg")
    from sklearn.metrics import ConfusionMatrixDisplay
    from sklearn.pipeline import make_pipeline

    from .datasets import train_val_test_split
    from .metrics import imbalance_report
    from .neural_network import CNNImageClassifier
    from .plotting import plot_history
    from .preprocessing import CocoBinaryLabeler, GrayscaleNormalizer, ImageResizer

    out = sys.stdout if out is None else out
    start = time.perf_counter()
    bunch, data_name = load_data(source, n_images, timeout, out)
    y = CocoBinaryLabeler("Bottle").fit_transform(bunch.annotations)
    X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
        bunch.filenames, y, stratify=y, random_state=random_state
    )
    print(
        f"Bottle in {y.sum()} of {len(y)} images ({y.mean():.0%}); "
        f"split train/val/test = {len(y_train)}/{len(y_val)}/{len(y_test)}.",
        file=out,
    )

    prep = make_pipeline(ImageResizer(image_size, n_jobs=-1), GrayscaleNormalizer())
    Z_train = prep.fit_transform(X_train)
    Z_val, Z_test = prep.transform(X_val), prep.transform(X_test)
    clf = CNNImageClassifier(
        class_weight="balanced",
        max_iter=epochs,
        random_state=random_state,
        verbose=verbose,
    )
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
        print(
            imbalance_report(
                y_true,
                pred,
                proba,
                target_names=names,
                output_dict=False,
                zero_division=0,
            ),
            file=out,
        )
        reports[split] = imbalance_report(
            y_true, pred, proba, target_names=names, zero_division=0
        )

    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    curves = folder / "training_curves.png"
    plot_history(clf).savefig(curves, dpi=100)
    fig, ax = plt.subplots(figsize=(4, 4))
    ConfusionMatrixDisplay.from_predictions(
        y_test, clf.predict(Z_test), display_labels=names, ax=ax, colorbar=False
    )
    ax.set_title(f"Test set ({data_name})")
    fig.tight_layout()
    matrix = folder / "confusion_matrix.png"
    fig.savefig(matrix, dpi=100)
    cams = save_grad_cam_grid(clf, Z_test, y_test, folder / "grad_cam.png", data_name)
    plt.close("all")
    print(
        f"\nSaved {curves}, {matrix} and {cams} "
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


def add_demo_arguments(parser):
    parser.add_argument(
        "--source",
        choices=["auto", "taco", "sample"],
        default=os.environ.get("LITTERLEARN_DEMO_SOURCE", "auto"),
        help="auto: real TACO if reachable, else the synthetic sample (default)",
    )
    parser.add_argument("--n-images", type=int, default=300, help="TACO subset size")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--image-size", type=int, default=50)
    parser.add_argument("--output", default="litterlearn-demo", help="folder for PNGs")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per download attempt"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main_demo(args: argparse.Namespace):
    run_demo(
        source=args.source,
        n_images=args.n_images,
        epochs=args.epochs,
        image_size=args.image_size,
        output=args.output,
        timeout=args.timeout,
        verbose=0 if args.quiet else 1,
    )
