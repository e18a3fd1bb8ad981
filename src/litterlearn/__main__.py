"""Command line: ``litterlearn demo`` (also ``python -m litterlearn demo``),
``litterlearn export`` and ``litterlearn predict`` (in ``export/_cli.py``).

Problems are reported in one line on stderr, never as a traceback: exit
status 2 for a bad option (found before any work), 1 for a failure while
running (such as ``--source taco`` when TACO cannot be reached), 130 when
interrupted.
"""

import argparse
import sys


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    """``--version``: one unwrapped line, package versions read without imports."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs
        )

    def __call__(self, parser, namespace, values, option_string=None):
        print(_versions())
        parser.exit()


def _versions():
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    parts = []
    for dist in ("scikit-learn", "keras", "tensorflow", "tensorflow-cpu"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            continue
    return f"litterlearn {__version__} ({', '.join(parts)})"


def build_parser():
    """The ``litterlearn`` argument parser (demo, export, predict, assess)."""
    parser = _Parser(
        prog="litterlearn",
        description="scikit-learn compatible deep learning on small image datasets.",
        epilog="Run 'litterlearn demo --help' for the demo's options.",
    )
    parser.add_argument(
        "--version",
        action=_Version,
        help="print litterlearn's version (and scikit-learn's, Keras', "
        "TensorFlow's) and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from ._demo import add_demo_arguments

    demo = sub.add_parser(
        "demo",
        help="train the course CNN on TACO bottle-vs-rest (offline sample fallback)",
        description="Train the course CNN on TACO bottle-vs-rest (the offline "
        "synthetic sample when TACO cannot be reached), print classification "
        "reports for the validation and test sets and save the training curves "
        "and the confusion matrix as PNG files. With --task multilabel, one CNN "
        "learns which of the ten most frequent kinds of litter each photo holds, "
        "with per-label reports and a per-label figure.",
    )
    add_demo_arguments(demo)
    from .export._cli import add_commands

    add_commands(sub)
    from .model_selection._assess_cli import add_assess_arguments

    assess = sub.add_parser(
        "assess",
        help="is deep learning worth it for these images? compare routes, report",
        description="Compare classic baselines, the small-data CNN and transfer "
        "routes on the same splits of your images, along a learning curve, and "
        "write a report (HTML and Markdown) with the verdict in plain words.",
    )
    add_assess_arguments(assess)
    return parser


def main(argv=None):
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "assess":
        from .model_selection._assess_cli import run_assess

        return run_assess(args)
    if args.command in ("export", "predict"):
        from .export._cli import run

        return run(args)
    from ._cli import CommandErrors
    from ._demo import DemoArgumentError, DemoError, main_demo

    prog = f"litterlearn {args.command}"
    with CommandErrors(
        prog, usage=DemoArgumentError, failure=DemoError, see_help=True
    ) as errors:
        main_demo(args)
    return errors.status or 0


if __name__ == "__main__":
    sys.exit(main())
