"""``litterlearn assess``: the assessment of :func:`assess` from the shell.

Bad input (an empty folder, one class, unreadable files, a budget too small
for one fit, a bad option) is one line on stderr and exit status 2; a
failure while running (TACO unreachable with ``--taco-source taco``) is one
line and exit status 1; Ctrl-C writes the report of the finished fits and
exits with status 130.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .._cli import CommandErrors, writable_folder
from ._assess import MIN_BUDGET_S, ROUTES, AssessInputError, parse_budget


class AssessArgumentError(ValueError):
    """A bad option value or bad input, found before any fit (exit status 2)."""


def add_assess_arguments(parser):
    """The options of ``litterlearn assess``, each with its help and default."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="a folder holding one subfolder of images per class (default: none; "
        "give PATH or --taco)",
    )
    where.add_argument(
        "--taco",
        metavar="CATEGORY",
        help="assess 'does this TACO photo hold CATEGORY?' (a TACO supercategory "
        "such as Bottle, or a category; the offline synthetic sample when TACO "
        "cannot be reached, said so in the report) (default: none)",
    )
    parser.add_argument(
        "--taco-source",
        choices=("auto", "taco", "sample"),
        default="auto",
        help="with --taco: 'taco' (real photos, downloaded), 'sample' (the offline "
        "synthetic sample) or 'auto' (TACO when it can be reached, else the "
        "sample) (default: %(default)s)",
    )
    parser.add_argument(
        "--n-images",
        type=int,
        default=500,
        metavar="N",
        help="with --taco: images to use, from 20 to 1500 (default: %(default)s)",
    )
    parser.add_argument(
        "--budget",
        default=None,
        metavar="TIME",
        help="time the whole run may take, such as 90s, 10m or 1h: sizes, splits "
        "and epochs are chosen to fit it (default: no limit)",
    )
    parser.add_argument(
        "--routes",
        nargs="+",
        choices=ROUTES,
        default=list(ROUTES),
        metavar="ROUTE",
        help=f"routes to compare, among {', '.join(ROUTES)} (default: all)",
    )
    parser.add_argument(
        "--weights",
        default="imagenet",
        metavar="WEIGHTS",
        help="pretrained weights of the transfer routes: 'imagenet' (Keras' "
        "download or cache), the path of a weights file of the backbone without "
        "its top, or 'none' to skip the transfer routes (default: %(default)s)",
    )
    parser.add_argument(
        "--backbone",
        default="mobilenet_v2",
        help="backbone of the transfer routes (default: %(default)s)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=32,
        metavar="PX",
        help="images are resized to PX x PX for the pixel baselines and the CNN "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--transfer-size",
        type=int,
        default=96,
        metavar="PX",
        help="images are resized to PX x PX for the transfer routes, at least 32 "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--metric",
        choices=("auto", "accuracy", "balanced_accuracy", "f1_macro"),
        default="auto",
        help="'auto': accuracy for balanced classes, balanced accuracy for "
        "skewed ones (default: %(default)s)",
    )
    parser.add_argument(
        "--splits",
        type=int,
        default=3,
        metavar="N",
        help="train/test splits; 2 or more give an uncertainty (default: %(default)s)",
    )
    parser.add_argument(
        "--output",
        default="litterlearn-assess",
        metavar="FOLDER",
        help="folder for report.html, report.md, its figure and the cache of "
        "finished fits, created if needed (default: %(default)s)",
    )
    parser.add_argument(
        "--no-resume",
        action="store_true",
        help="fit everything again instead of taking finished fits from the "
        "output folder's cache (default: resume)",
    )
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only the verdict: no progress bar (default: off)",
    )
    loud.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="-v adds TensorFlow's warnings (default: off)",
    )


def check_assess_arguments(args):
    """Refuse bad option values before any work; return the keyword arguments."""
    try:
        budget = parse_budget(args.budget)
    except ValueError as exc:
        raise AssessArgumentError(f"--budget: {exc}") from None
    if budget is not None and budget < MIN_BUDGET_S:
        raise AssessArgumentError(
            f"--budget {args.budget} is too small for one fit; give at least "
            f"{MIN_BUDGET_S:g}s"
        )
    if args.path is not None:
        path = Path(args.path).expanduser()
        if not path.exists():
            raise AssessArgumentError(f"the folder {str(path)!r} does not exist")
        if not path.is_dir():
            raise AssessArgumentError(
                f"{str(path)!r} is a file; give a folder holding one subfolder "
                "per class"
            )
    if not 20 <= args.n_images <= 1500:
        raise AssessArgumentError(
            f"--n-images must be from 20 to 1500; got {args.n_images}"
        )
    weights = args.weights
    if weights.lower() == "none":
        weights = None
    elif weights != "imagenet" and not Path(weights).expanduser().is_file():
        raise AssessArgumentError(
            f"--weights {weights!r} is not a file; give 'imagenet', 'none' or the "
            "path of a weights file of the backbone without its top"
        )
    elif weights != "imagenet":
        weights = str(Path(weights).expanduser())
    return dict(
        routes=list(dict.fromkeys(args.routes)),
        image_size=args.image_size,
        transfer_size=args.transfer_size,
        backbone=args.backbone,
        weights=weights,
        scoring=args.metric,
        n_splits=args.splits,
        budget=budget,
    )


def _taco_data(args, out):
    """(filenames, y, description) of 'does the photo hold CATEGORY?'."""
    from .._demo import DemoError, load_data
    from ..preprocessing import CocoBinaryLabeler

    try:
        bunch, source = load_data(
            args.taco_source, args.n_images, 10.0, out, progressbar=not args.quiet
        )
    except DemoError as exc:
        raise AssessRunError(str(exc)) from exc
    level = "supercategory"
    try:
        labeler = CocoBinaryLabeler(args.taco, level=level)
        y = labeler.fit_transform(bunch.annotations)
    except ValueError:
        try:
            labeler = CocoBinaryLabeler(args.taco, level="category")
            y = labeler.fit_transform(bunch.annotations)
        except ValueError as exc:
            raise AssessArgumentError(f"--taco: {exc}") from None
    what = (
        "TACO photos"
        if source == "TACO"
        else "TACO's offline SYNTHETIC sample (generated images, not photos)"
    )
    return bunch.filenames, y, f"{what}, {args.taco} or not"


class AssessRunError(RuntimeError):
    """A failure while running (exit status 1)."""


def run_assess(args, prog="litterlearn assess"):
    """Run ``litterlearn assess`` from parsed arguments; return the exit status."""
    import time

    from .._demo import quiet_console

    entered = time.perf_counter()
    with CommandErrors(prog, usage=AssessArgumentError, see_help=True) as errors:
        kwargs = check_assess_arguments(args)
        folder = writable_folder(args.output, AssessArgumentError)
    if errors.status is not None:
        return errors.status
    verbose = 0 if args.quiet else 1 + args.verbose
    restore = quiet_console(verbose)
    out = open(os.devnull, "w") if args.quiet else sys.stdout  # noqa: SIM115
    try:
        from . import assess

        with CommandErrors(
            prog,
            usage=(AssessInputError, AssessArgumentError),
            failure=AssessRunError,
            interrupted="interrupted before any fit finished",
        ) as errors:
            if args.taco is not None:
                X, y, description = _taco_data(args, out)
            else:
                X, y, description = args.path, None, None
            budget = kwargs["budget"]
            if budget is not None:  # loading counts against it too
                spent = time.perf_counter() - entered
                kwargs["budget"] = max(budget - spent, MIN_BUDGET_S)
            result = assess(
                X,
                y,
                cache=None if args.no_resume else folder / "cache",
                verbose=min(verbose, 1),
                **kwargs,
            )
        if errors.status is not None:
            return errors.status
        result.budget = budget
        if description is not None:
            result.description = description
        written = result.save(folder / "report.html") + result.save(
            folder / "report.md"
        )
        print(result.verdict)
        print(f"Report: {', '.join(str(p) for p in written)}", file=out)
        if result.interrupted:
            print(
                f"{prog}: interrupted; the report holds the {len(result.cells)} "
                f"fit{'' if len(result.cells) == 1 else 's'} finished, and a rerun "
                "resumes from them",
                file=sys.stderr,
            )
            return 130
        return 0
    finally:
        restore()
        if out is not sys.stdout:
            out.close()
