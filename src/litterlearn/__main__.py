"""Command line: ``litterlearn demo`` (also ``python -m litterlearn demo``)."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="litterlearn",
        description="scikit-learn compatible deep learning on small image datasets.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    from ._demo import add_demo_arguments, main_demo

    demo = sub.add_parser(
        "demo",
        help="train the course CNN on TACO bottle-vs-rest (offline sample fallback)",
    )
    add_demo_arguments(demo)
    args = parser.parse_args(argv)
    if args.command == "demo":
        main_demo(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
