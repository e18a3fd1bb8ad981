"""``litterlearn predict`` and ``litterlearn export``.

``predict MODEL IMAGES...`` decodes and resizes image files as the exported
pipeline's ``ImageResizer`` did, runs the model with its format's runtime
and writes one CSV row per file (file, label or labels, one probability per
class, error). A file that cannot be read is named in its row and in the
summary on stderr; the others are still predicted, and the exit status is 1.
``export PIPELINE OUT`` exports a pickled (joblib) pipeline.

Pickles run code when loaded: neither command loads one unless
``--trust-pickle`` says the user trusts the file. Bad input (a missing or
unsafe model, an unexportable pipeline) is one line on stderr and exit
status 2.
"""

from __future__ import annotations

import csv
import glob
import os
import sys

import numpy as np

from .._cli import CommandErrors, one_line

__all__ = ["add_commands", "run"]

_PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle", ".sav")
_TRUST_HELP = (
    "load MODEL (or PIPELINE) even though it is a pickle (.joblib, .pkl): "
    "unpickling runs whatever code the file holds, so pass this only for "
    "files you made or trust; exported models never need it (default: off)"
)


class _BadInput(Exception):
    """Bad input: one line on stderr, exit status 2."""


class _Failure(Exception):
    """A failure while running: one line on stderr, exit status 1."""


def add_commands(sub):
    """Add the ``predict`` and ``export`` subcommands to ``sub``."""
    from ._export import FORMATS

    predict = sub.add_parser(
        "predict",
        help="predict image files with an exported model",
        description="Predict image files with a model written by 'litterlearn "
        "export' (or litterlearn.export.export): each file is decoded and "
        "resized as the pipeline's ImageResizer did, and one CSV row per file "
        "gives its label (or labels) and the probability of each class. Files "
        "that cannot be read are named in the output and in a summary, the "
        "others are still predicted, and the exit status is then 1.",
    )
    predict.add_argument(
        "model",
        metavar="MODEL",
        help="an exported model: a .keras, .onnx or .tflite file, or a "
        "SavedModel folder, with its litterlearn metadata beside it "
        "(default: none, required)",
    )
    predict.add_argument(
        "images",
        metavar="IMAGES",
        nargs="+",
        help="image files, folders (searched recursively for images) or glob "
        "patterns such as 'photos/*.jpg' (default: none, required)",
    )
    predict.add_argument(
        "-o",
        "--output",
        metavar="CSV",
        default=None,
        help="write the CSV to this file instead of standard output "
        "(default: standard output)",
    )
    predict.add_argument(
        "--batch-size",
        type=_positive_int,
        default=64,
        help="images decoded and predicted at a time (default: %(default)s)",
    )
    predict.add_argument("--trust-pickle", action="store_true", help=_TRUST_HELP)

    export = sub.add_parser(
        "export",
        help="export a pickled pipeline for deployment",
        description="Export a fitted pipeline saved with joblib as one "
        "inference graph (uint8 images in, probabilities out) with its metadata "
        "beside it. Loading the pipeline unpickles it: pass --trust-pickle.",
    )
    export.add_argument(
        "pipeline",
        metavar="PIPELINE",
        help="a fitted pipeline or litterlearn classifier saved with "
        "joblib.dump (default: none, required)",
    )
    export.add_argument(
        "out",
        metavar="OUT",
        help="where to write the model: a .keras, .onnx or .tflite file, or a "
        "folder for a SavedModel (default: none, required)",
    )
    export.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default=None,
        help="the format; by default the suffix of OUT decides (a folder is a "
        "SavedModel) (default: by the suffix)",
    )
    export.add_argument(
        "--classes",
        default=None,
        help="comma-separated names of the outputs, written instead of the "
        "classifier's classes_ (default: the classifier's classes_)",
    )
    export.add_argument(
        "--overwrite",
        action="store_true",
        help="replace OUT if it exists (default: off)",
    )
    export.add_argument("--trust-pickle", action="store_true", help=_TRUST_HELP)


def _positive_int(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def run(args):
    """Run ``predict`` or ``export``; return the exit status."""
    prog = f"litterlearn {args.command}"
    with CommandErrors(
        prog,
        usage=_BadInput,
        failure=(_Failure, ImportError, OSError),
        unexpected=True,  # a runtime's own failure: still one line
    ) as errors:
        if args.command == "predict":
            return _predict(args, prog)
        return _export(args)
    return errors.status


# ------------------------------------------------------------------- models


def _is_pickle(path):
    return path.lower().endswith(_PICKLE_SUFFIXES)


def _load_pickle(path, trusted, what):
    if not trusted:
        raise _BadInput(
            f"{what} {path!r} is a pickle, and loading a pickle can run any code "
            f"it holds; pass --trust-pickle if you made or trust this file"
        )
    import joblib

    try:
        return joblib.load(path)
    except FileNotFoundError:
        raise _BadInput(f"{what} {path!r} does not exist") from None
    except Exception as exc:
        raise _BadInput(
            f"cannot load {what} {path!r}: {one_line(exc, name_type=False)}"
        ) from exc


class _PickledModel:
    """A trusted, unpickled pipeline, predicting files as an export does."""

    def __init__(self, estimator):
        from ..preprocessing import ImageResizer

        first = estimator[0] if hasattr(estimator, "steps") else None
        if not isinstance(first, ImageResizer) or not hasattr(
            estimator, "predict_proba"
        ):
            raise _BadInput(
                "the pickled object is not a pipeline starting with an "
                "ImageResizer and ending in a classifier, so it cannot predict "
                "image files"
            )
        self.estimator = estimator
        self.resizer = first
        try:
            self.classes_ = np.asarray(estimator.classes_)
        except AttributeError:
            raise _BadInput("the pickled pipeline is not fitted") from None
        self.multilabel = _output_activation(estimator[-1]) == "sigmoid"

    def read_images(self, paths):
        return self.resizer.transform(paths)

    def predict(self, paths):
        proba = self.estimator.predict_proba(paths)
        return proba, self.estimator.predict(paths)


def _output_activation(estimator):
    """The output activation of a litterlearn classifier (None for others)."""
    try:
        return estimator.model_.get_layer("output_activation").activation.__name__
    except (AttributeError, ValueError):
        return None


def _load_model(path, trusted):
    from ._load import UnsafeModelError, load_exported

    if not os.path.exists(path):
        raise _BadInput(f"MODEL {path!r} does not exist")
    if _is_pickle(path):
        return _PickledModel(_load_pickle(path, trusted, "MODEL"))
    try:
        return load_exported(path)
    except ImportError:
        raise
    except (UnsafeModelError, ValueError, FileNotFoundError) as exc:
        raise _BadInput(one_line(exc, name_type=False)) from exc


# ------------------------------------------------------------------- images


def _image_suffixes():
    from PIL import Image

    return {ext.lower() for ext in Image.registered_extensions()}


def _expand(arguments):
    """``[(path, error or None), ...]`` of the IMAGES arguments, in order."""
    suffixes = None
    out = []
    for arg in arguments:
        if os.path.isdir(arg):
            suffixes = suffixes or _image_suffixes()
            found = sorted(
                os.path.join(root, name)
                for root, _, names in os.walk(arg)
                for name in names
                if os.path.splitext(name)[1].lower() in suffixes
            )
            if not found:
                out.append((arg, "no image files in this folder"))
            out.extend((p, None) for p in found)
        elif os.path.exists(arg):
            out.append((arg, None))
        elif glob.has_magic(arg):
            found = sorted(
                p for p in glob.glob(arg, recursive=True) if os.path.isfile(p)
            )
            if not found:
                out.append((arg, "no file matches this pattern"))
            out.extend((p, None) for p in found)
        else:
            out.append((arg, "no such file"))
    return out


def _decode(model, paths):
    """Decoded images of ``paths``, and ``{index: error}`` of those that fail."""
    try:
        return _decoded(model, paths), {}
    except _BadInput:
        raise
    except Exception:
        pass
    images, errors = [], {}
    for i, path in enumerate(paths):
        try:
            images.extend(_decoded(model, [path]))
        except _BadInput:
            raise
        except Exception as exc:
            errors[i] = one_line(exc, name_type=False)
    return images, errors


def _decoded(model, paths):
    if isinstance(model, _PickledModel):
        model.read_images(paths)  # raises on a file it cannot read
        return list(paths)
    return list(model.read_images(paths))


# ------------------------------------------------------------------ predict


def _predict(args, prog):
    model = _load_model(args.model, args.trust_pickle)
    items = _expand(args.images)
    classes = [str(c) for c in np.asarray(model.classes_).tolist()]
    header = ["file", "labels" if model.multilabel else "label"]
    header += [f"proba_{c}" for c in classes] + ["error"]
    rows = {}
    todo = [(i, path) for i, (path, error) in enumerate(items) if error is None]
    for i, (path, error) in enumerate(items):
        if error is not None:
            rows[i] = [path, ""] + [""] * len(classes) + [error]
    progress = _progress(len(todo))
    for start in range(0, len(todo), args.batch_size):
        chunk = todo[start : start + args.batch_size]
        decoded, errors = _decode(model, [path for _, path in chunk])
        good = [item for k, item in enumerate(chunk) if k not in errors]
        for k, message in errors.items():
            i, path = chunk[k]
            rows[i] = [path, ""] + [""] * len(classes) + [message]
        if good:
            proba, labels = _run_model(model, decoded)
            for (i, path), p, label in zip(good, proba, labels, strict=True):
                rows[i] = [path, _label_text(model, label, classes)]
                rows[i] += [f"{float(v):.6g}" for v in p] + [""]
        progress.update(len(chunk))
    progress.close()
    _write_csv(args.output, header, [rows[i] for i in range(len(items))])
    failed = [(rows[i][0], rows[i][-1]) for i in range(len(items)) if rows[i][-1]]
    n_ok = len(items) - len(failed)
    where = f" to {args.output}" if args.output else ""
    summary = f"{prog}: {n_ok} image{'s' * (n_ok != 1)} predicted{where}"
    if failed:
        names = "; ".join(f"{path} ({error})" for path, error in failed)
        print(f"{summary}, {len(failed)} could not be read: {names}", file=sys.stderr)
        return 1
    print(summary, file=sys.stderr)
    return 0


def _run_model(model, decoded):
    if isinstance(model, _PickledModel):
        return model.predict(decoded)
    proba = model.predict_proba(np.stack(decoded))
    return proba, model.decide(proba)


def _label_text(model, label, classes):
    if model.multilabel:
        return ";".join(c for c, on in zip(classes, np.ravel(label), strict=True) if on)
    return str(label)


def _progress(total):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        unit="image",
        desc="predicting",
        file=sys.stderr,
        disable=total < 512 or not sys.stderr.isatty(),
    )


def _write_csv(output, header, rows):
    if output is None:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        sys.stdout.flush()
        return
    try:
        with open(output, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as exc:
        raise _Failure(
            f"cannot write {output!r}: {one_line(exc, name_type=False)}"
        ) from exc


# ------------------------------------------------------------------- export


def _export(args):
    from ._export import export
    from ._graph import ExportError

    if not os.path.exists(args.pipeline):
        raise _BadInput(f"PIPELINE {args.pipeline!r} does not exist")
    estimator = _load_pickle(args.pipeline, args.trust_pickle, "PIPELINE")
    classes = None
    if args.classes is not None:
        classes = [c.strip() for c in args.classes.split(",")]
    try:
        meta = export(
            estimator,
            args.out,
            format=args.format,
            classes=classes,
            overwrite=args.overwrite,
        )
    except (ExportError, FileExistsError, ValueError) as exc:
        raise _BadInput(one_line(exc, name_type=False)) from exc
    print(
        f"litterlearn export: wrote {args.out} ({meta['format']}, "
        f"{len(meta['classes'])} classes, images {tuple(meta['input']['shape'])})"
    )
    return 0
