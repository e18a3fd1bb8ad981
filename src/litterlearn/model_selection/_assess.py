"""assess: is deep learning worth it for these images?

The protocol (the user guide's "Is deep learning worth it for my images?"
explains it):

- the images are decoded once, at ``image_size`` for the pixel routes and
  the CNN, and at ``transfer_size`` (RGB) for the transfer routes;
- ``n_splits`` stratified train/test splits (iterative stratification for
  multi-label targets), seeded ``random_state``, ``random_state + 1``, ...;
  every route sees the same splits;
- on each split, nested stratified training subsets (the learning curve):
  the smaller sets are inside the larger ones, the largest is the whole
  training part;
- one *cell* is one route fitted on one training subset of one split and
  scored on that split's test part; its fit and predict seconds are kept.

Cells run in the order that answers the question soonest (a first small fit
of each route, then every route at the full size on the first split, then
the other splits, then the rest of the curve), so a budget, an interruption
or a failing route leaves the most useful cells done.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import json
import math
import numbers
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    make_scorer,
)
from threadpoolctl import threadpool_limits

from .._cli import one_line
from ._assess_report import AssessResult

__all__ = ["ROUTES", "AssessResult", "assess", "parse_budget"]

#: Built-in routes, in the order they are reported.
ROUTES = (
    "logistic_regression",
    "svc",
    "small_data_cnn",
    "pretrained_features",
    "fine_tuned",
)
#: The classic baselines the other routes are measured against.
BASELINES = ("logistic_regression", "svc")
TRANSFER_ROUTES = ("pretrained_features", "fine_tuned")
LABELS = {
    "logistic_regression": "logistic regression on pixels",
    "svc": "RBF SVC on pixels",
    "small_data_cnn": "small-data CNN",
    "pretrained_features": "pretrained features + logistic regression",
    "fine_tuned": "fine-tuned transfer",
}
METRICS = ("accuracy", "balanced_accuracy", "f1_macro")
#: A class (or a label, multi-label) needs this many images.
MIN_PER_CLASS = 5
#: The smallest budget that can hold one fit, TensorFlow's start-up included.
MIN_BUDGET_S = 10.0
#: Seconds of the budget kept for the report after the last cell.
_REPORT_RESERVE_S = 5.0
#: Fewest epochs a budget may cut a Keras route to.
_MIN_EPOCHS = 5
_CACHE_VERSION = 1


class AssessInputError(ValueError):
    """Input ``assess`` cannot work on (found before any fit)."""


# --------------------------------------------------------------------------
# Small helpers


def parse_budget(budget):
    """A time budget in seconds, from a number or text such as ``"10m"``.

    Parameters
    ----------
    budget : float, int, str or None
        Seconds as a number; or text: a number followed by ``s``, ``m`` or
        ``h`` (``"90s"``, ``"10m"``, ``"1.5h"``, ``"1h30m"``); None for no
        budget.

    Returns
    -------
    seconds : float or None

    Raises
    ------
    ValueError
        For text that is not a duration, or a budget that is not positive.

    Examples
    --------
    >>> from litterlearn.model_selection import parse_budget
    >>> parse_budget("10m"), parse_budget("1h30m"), parse_budget(45)
    (600.0, 5400.0, 45.0)
    """
    if budget is None:
        return None
    if isinstance(budget, bool):
        raise ValueError(f"budget must be a duration such as '10m'; got {budget!r}")
    if isinstance(budget, numbers.Real):
        seconds = float(budget)
    elif isinstance(budget, str):
        text = budget.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d*)?", text):
            seconds = float(text)
        else:
            parts = re.findall(r"(\d+(?:\.\d*)?)([hms])", text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValueError(
                    f"budget must be a duration such as 90s, 10m, 1.5h or 1h30m; "
                    f"got {budget!r}"
                )
            scale = {"h": 3600.0, "m": 60.0, "s": 1.0}
            seconds = sum(float(n) * scale[u] for n, u in parts)
    else:
        raise ValueError(f"budget must be a duration such as '10m'; got {budget!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"budget must be a positive duration; got {budget!r}")
    return seconds


def _f1_macro(y_true, y_pred):
    return f1_score(y_true, y_pred, average="macro", zero_division=0)


_METRIC_FUNCTIONS = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "f1_macro": _f1_macro,
}


def _scale_pixels(X):
    """uint8 pixels to float32 in [0, 1] (the pixel baselines' input)."""
    return np.asarray(X, dtype=np.float32) / np.float32(255)


# --------------------------------------------------------------------------
# Data


@dataclass
class _Data:
    X: object  # what the images were given as (paths or arrays)
    rows: np.ndarray  # uint8 rows at image_size
    image_shape: tuple
    y: np.ndarray
    classes: list
    multilabel: bool
    description: str


_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def _is_paths(X):
    if isinstance(X, np.ndarray):
        return X.dtype.kind in "US" or (
            X.dtype == object and X.size and isinstance(X.flat[0], (str, Path))
        )
    return (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and all(isinstance(x, (str, os.PathLike)) for x in X)
    )


def _auto_color(X):
    """ "gray" when the images carry no colour, else "rgb"."""
    if _is_paths(X):
        from PIL import Image

        for path in list(X)[:32]:
            try:
                with Image.open(path) as image:
                    if image.mode not in _GRAY_MODES:
                        return "rgb"
            except OSError:
                continue  # ImageResizer reports unreadable files
        return "gray"
    X = np.asarray(X)
    if X.ndim == 3:
        return "gray"
    if X.ndim == 4:
        return "gray" if X.shape[-1] == 1 else "rgb"
    n_features = X.shape[-1] if X.ndim == 2 else 0
    side = math.isqrt(n_features)
    return "gray" if side * side == n_features else "rgb"


def _decode(X, size, color):
    from ..preprocessing import ImageResizer

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return ImageResizer(size, color=color).fit_transform(X)
    except (ValueError, OSError, TypeError) as exc:
        raise AssessInputError(
            f"the images cannot be read: {one_line(exc, 300)}"
        ) from exc


def _labels(X, y):
    """(X, y, classes, multilabel, description) from the user's input."""
    if y is None:
        if not isinstance(X, (str, os.PathLike)):
            raise AssessInputError(
                "pass y (the labels) with X, or X as a folder holding one "
                "subfolder per class"
            )
        from ..datasets import load_image_folder

        try:
            bunch = load_image_folder(X)
        except (ValueError, OSError, TypeError) as exc:
            raise AssessInputError(
                str(exc).removeprefix("load_image_folder: ")
            ) from None
        description = f"the image folder {os.fspath(X)}"
        return (
            bunch.filenames,
            bunch.target,
            list(bunch.target_names),
            False,
            description,
        )
    if isinstance(X, (str, os.PathLike)):
        raise AssessInputError(
            "X is a folder: its subfolders are the labels, so y must be None"
        )
    y = np.asarray(y)
    n = len(X)
    if len(y) != n:
        raise AssessInputError(f"X has {n} images but y has {len(y)} labels")
    if y.ndim == 2 and y.shape[1] > 1:
        if not np.isin(y, (0, 1)).all():
            raise AssessInputError(
                "a 2-D y is a multi-label indicator: it must hold only 0 and 1"
            )
        classes = list(range(y.shape[1]))
        return X, y.astype(np.int64), classes, True, f"{n} images"
    y = y.ravel()
    classes = [c.item() if hasattr(c, "item") else c for c in np.unique(y)]
    return X, y, classes, False, f"{n} images"


def _check_counts(y, classes, multilabel):
    if multilabel:
        counts = y.sum(axis=0)
        names = classes
    else:
        names, counts = np.unique(y, return_counts=True)
        if len(names) < 2:
            raise AssessInputError(
                f"there is a single class ({names[0]!r}); a classifier needs at "
                "least two"
            )
    low = [(n, int(c)) for n, c in zip(names, counts, strict=True) if c < MIN_PER_CLASS]
    if low:
        what = "label" if multilabel else "class"
        listed = ", ".join(f"{n!r}: {c}" for n, c in low[:5])
        raise AssessInputError(
            f"each {what} needs at least {MIN_PER_CLASS} images to be split and "
            f"scored; too few in {listed}"
        )
    if multilabel and (counts == len(y)).any():
        raise AssessInputError("a label is on every image: nothing to learn")


def _prepare(X, y, image_size, color):
    X, y, classes, multilabel, description = _labels(X, y)
    if len(X) == 0:
        raise AssessInputError("there are no images")
    _check_counts(y, classes, multilabel)
    if color == "auto":
        color = _auto_color(X)
    rows = _decode(X, image_size, color)
    channels = 1 if color == "gray" else 3
    shape = (image_size, image_size, channels)
    return _Data(X, rows, shape, y, classes, multilabel, description)


# --------------------------------------------------------------------------
# Splits


def _subsample(indices, size, y, seed, multilabel):
    if multilabel:
        from ..datasets import train_val_test_split

        keep, _, _ = train_val_test_split(
            indices,
            val_size=0,
            test_size=len(indices) - size,
            stratify=y[indices],
            random_state=seed,
        )
        return keep
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        indices, train_size=size, stratify=y[indices], random_state=seed
    )
    return keep


def _split(y, test_size, seed, multilabel):
    indices = np.arange(len(y))
    if multilabel:
        from ..datasets import train_val_test_split

        train, _, test = train_val_test_split(
            indices, val_size=0, test_size=test_size, stratify=y, random_state=seed
        )
        return train, test
    from sklearn.model_selection import train_test_split

    return train_test_split(indices, test_size=test_size, stratify=y, random_state=seed)


def _default_sizes(n_full, y, multilabel):
    """Halvings of the full training size, down to about 4 images per class."""
    if multilabel:
        rarest = y.sum(axis=0).min() / len(y)
    else:
        rarest = np.unique(y, return_counts=True)[1].min() / len(y)
    smallest = max(20, math.ceil(4 / rarest))
    sizes = [n_full]
    for k in (1, 2, 3):
        size = n_full // 2**k
        if size >= smallest:
            sizes.append(size)
    return sorted(sizes)


def _train_sizes(train_sizes, n_full, y, multilabel):
    if train_sizes is None:
        return _default_sizes(n_full, y, multilabel)
    sizes = set()
    for s in np.atleast_1d(train_sizes).tolist():
        if isinstance(s, float) and 0 < s <= 1:
            s = max(1, int(round(s * n_full)))
        if not isinstance(s, int) or isinstance(s, bool) or not 0 < s <= n_full:
            raise AssessInputError(
                f"train_sizes holds {s!r}: each must be an int from 1 to the "
                f"training set's {n_full} images, or a fraction in (0, 1]"
            )
        sizes.add(s)
    return sorted(sizes)


@dataclass
class _Split:
    seed: int
    test: np.ndarray
    train: dict  # size -> sorted indices


def _make_splits(y, n_splits, test_size, train_sizes, random_state, multilabel):
    splits, sizes = [], None
    for j in range(n_splits):
        seed = random_state + j
        train, test = _split(y, test_size, seed, multilabel)
        if sizes is None:
            sizes = _train_sizes(train_sizes, len(train), y, multilabel)
        nested, current = {}, train
        for size in sorted(sizes, reverse=True):
            if size < len(current):
                current = _subsample(current, size, y, seed, multilabel)
            nested[size] = np.sort(current)
        splits.append(_Split(seed, np.sort(test), nested))
    return splits, sizes


# --------------------------------------------------------------------------
# Routes


@dataclass
class _Route:
    name: str
    kind: str  # "baseline", "deep" or "user"
    input: str  # "pixels", "features" or "transfer"
    label: str
    keras: bool = False
    estimator: object = None  # user routes
    status: str = "ran"
    reason: str = ""


@dataclass
class _Context:
    image_shape: tuple
    multilabel: bool
    scorer: object
    backbone: str
    weights: object
    transfer_size: int
    epoch_scale: dict = field(default_factory=dict)


def _tuned(estimator, param, grid, y_train, ctx, *, pixels):
    """``estimator`` with ``param`` chosen by a small inner search."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if ctx.multilabel:
        estimator = OneVsRestClassifier(estimator)
        param = f"estimator__{param}"
        counts = np.minimum(y_train.sum(axis=0), len(y_train) - y_train.sum(axis=0))
    else:
        counts = np.unique(y_train, return_counts=True)[1]
    folds = int(min(3, counts.min()))
    if folds >= 2:
        model = GridSearchCV(
            estimator, {param: list(grid)}, cv=folds, scoring=ctx.scorer
        )
    else:  # too few images of a class for an inner split: the middle value
        model = estimator.set_params(**{param: grid[len(grid) // 2]})
    first = FunctionTransformer(_scale_pixels) if pixels else StandardScaler()
    return make_pipeline(first, model)


def _estimator(route, n_train, seed, y_train, ctx):
    """A fresh, unfitted estimator of ``route`` for one cell."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    name = route.name
    if name in ("logistic_regression", "pretrained_features"):
        # The same model on pixels, or on the backbone's features.
        return _tuned(
            LogisticRegression(max_iter=500, tol=1e-3),
            "C",
            (0.01, 0.1, 1.0),
            y_train,
            ctx,
            pixels=name == "logistic_regression",
        )
    if name == "svc":
        return _tuned(SVC(), "C", (1.0, 10.0, 100.0), y_train, ctx, pixels=True)
    scale = ctx.epoch_scale.get(name, 1.0)
    if name == "small_data_cnn":
        from ..neural_network import make_small_data_cnn

        model = make_small_data_cnn(n_train, random_state=seed)
        epochs = max(_MIN_EPOCHS, round(model.max_iter * scale))
        return model.set_params(image_shape=ctx.image_shape, max_iter=epochs)
    if name == "fine_tuned":
        from ..neural_network import TransferImageClassifier

        return TransferImageClassifier(
            ctx.backbone,
            weights=ctx.weights,
            input_size=ctx.transfer_size,
            image_shape=(ctx.transfer_size, ctx.transfer_size, 3),
            max_iter=max(_MIN_EPOCHS, round(30 * scale)),
            fine_tune_max_iter=max(2, round(10 * scale)),
            fine_tune_learning_rate=1e-4,
            random_state=seed,
        )
    from sklearn.base import clone

    model = clone(route.estimator)
    if "random_state" in model.get_params(deep=False):
        model.set_params(random_state=seed)
    return model


def _epochs(model):
    get = getattr(model, "get_params", None)
    if get is None:
        return None
    params = get(deep=False)
    return params.get("max_iter") if "max_iter" in params else None


def _cost_units(route, n_train, ctx):
    """What a cell's time grows with: images x epochs for Keras routes."""
    if route.name == "small_data_cnn":
        from ..neural_network import small_data_epochs

        epochs = small_data_epochs(n_train) * ctx.epoch_scale.get(route.name, 1.0)
        return n_train * max(_MIN_EPOCHS, epochs)
    if route.name == "fine_tuned":
        return n_train * 40 * ctx.epoch_scale.get(route.name, 1.0)
    if route.name == "svc":
        return n_train**1.5
    return float(n_train)


# --------------------------------------------------------------------------
# Cache


class _Cache:
    """Finished cells, one JSON line each, so a rerun resumes."""

    def __init__(self, folder):
        self.path = None if folder is None else Path(folder) / "cells.jsonl"
        self.cells = {}
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                for line in self.path.read_text().splitlines():
                    with contextlib.suppress(ValueError, KeyError):
                        record = json.loads(line)
                        self.cells[record["key"]] = record["cell"]

    def get(self, key):
        return self.cells.get(key)

    def put(self, key, cell):
        self.cells[key] = cell
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(json.dumps({"key": key, "cell": cell}) + "\n")


def _digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(np.ascontiguousarray(part).tobytes())
            h.update(str((part.dtype, part.shape)).encode())
        else:
            h.update(json.dumps(part, sort_keys=True, default=repr).encode())
    return h.hexdigest()[:24]


def _route_signature(route, ctx):
    if route.name in TRANSFER_ROUTES:
        weights = ctx.weights
        if weights not in (None, "imagenet"):
            stat = os.stat(weights)
            weights = [os.path.abspath(weights), stat.st_size, stat.st_mtime_ns]
        return [route.name, ctx.backbone, weights, ctx.transfer_size]
    if route.kind == "user":
        return [route.name, type(route.estimator).__qualname__, repr(route.estimator)]
    return [route.name]


# --------------------------------------------------------------------------
# Progress


class _Progress:
    def __init__(self, total, verbose, budget):
        self.budget = budget
        self.bar = None
        if verbose > 0:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                unit="cell",
                file=sys.stderr,
                leave=True,
                dynamic_ncols=True,
            )

    def show(self, text, elapsed):
        if self.bar is not None:
            left = ""
            if self.budget is not None:
                left = f" [{elapsed:.0f}/{self.budget:.0f} s]"
            self.bar.set_description_str(text + left, refresh=True)

    def step(self, n=1):
        if self.bar is not None:
            self.bar.update(n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------
# The function


def _check_routes(routes, extra_routes):
    """The built-in routes asked for (all by default) and the extra ones."""
    if routes is None:
        routes = list(ROUTES)
    elif isinstance(routes, str):
        routes = [routes]
    routes = list(routes)
    unknown = [r for r in routes if r not in ROUTES]
    if unknown:
        raise AssessInputError(
            f"unknown route(s) {unknown}; the built-in routes are {list(ROUTES)} "
            "(add your own with extra_routes)"
        )
    extra_routes = dict(extra_routes or {})
    for name, estimator in extra_routes.items():
        if name in ROUTES or not isinstance(name, str):
            raise AssessInputError(
                f"extra_routes: {name!r} must be a new route name (a string not in "
                f"{list(ROUTES)})"
            )
        if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
            raise AssessInputError(
                f"extra_routes[{name!r}] must be an estimator with fit and predict"
            )
    if not routes and not extra_routes:
        raise AssessInputError("no route to assess")
    return routes, extra_routes


def _check_settings(*, scoring, test_size, random_state, verbose, **sizes):
    """Refuse, with the parameter's name, a setting assess cannot use."""
    minimum = {"image_size": 4, "transfer_size": 32, "n_splits": 1}
    for pname, value in sizes.items():
        low = minimum[pname]
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise AssessInputError(f"{pname} must be an int; got {value!r}")
        if value < low:
            raise AssessInputError(f"{pname} must be at least {low}; got {value}")
    if not (
        isinstance(test_size, numbers.Real)
        and not isinstance(test_size, bool)
        and 0.05 <= test_size <= 0.5
    ):
        raise AssessInputError(f"test_size must be in [0.05, 0.5]; got {test_size!r}")
    if not (scoring in ("auto", *METRICS) or callable(scoring)):
        raise AssessInputError(
            f"scoring must be 'auto', one of {list(METRICS)} or a function "
            f"metric(y_true, y_pred); got {scoring!r}"
        )
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise AssessInputError(f"random_state must be an int; got {random_state!r}")
    if verbose not in (0, 1, 2, True, False):
        raise AssessInputError(f"verbose must be 0, 1 or 2; got {verbose!r}")


def _choose_metric(scoring, y, multilabel):
    if callable(scoring):
        return getattr(scoring, "__name__", "score"), scoring, "given"
    if scoring != "auto":
        return scoring, _METRIC_FUNCTIONS[scoring], "given"
    if multilabel:
        return "f1_macro", _f1_macro, "multi-label"
    counts = np.unique(y, return_counts=True)[1]
    if counts.max() > 1.5 * counts.min():
        return "balanced_accuracy", balanced_accuracy_score, "skewed classes"
    return "accuracy", accuracy_score, "balanced classes"


def _chance(y_train, y_test, metric, multilabel):
    """Score of always predicting the training set's most frequent answer."""
    if multilabel:
        majority = (y_train.mean(axis=0) > 0.5).astype(y_test.dtype)
        pred = np.broadcast_to(majority, y_test.shape)
    else:
        values, counts = np.unique(y_train, return_counts=True)
        pred = np.full(len(y_test), values[counts.argmax()], dtype=y_test.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(metric(y_test, pred))


def _transfer_inputs(data, routes, ctx, verbose):
    """Decode at the transfer size and compute the pretrained features once.

    Marks the transfer routes skipped (with the reason and how to get
    weights) when the weights cannot be loaded. Returns (rows, features,
    seconds per image of the features).
    """
    wanted = [r for r in routes if r.name in TRANSFER_ROUTES]
    if not wanted:
        return None, None, 0.0
    if ctx.weights is None:
        reason = "weights=None: a backbone with random weights is not a pretrained one"
        for r in wanted:
            r.status, r.reason = "skipped", reason
        return None, None, 0.0
    from ..preprocessing import PretrainedFeatures

    rows = _decode(data.X, ctx.transfer_size, "rgb")
    start = time.perf_counter()
    try:
        extractor = PretrainedFeatures(
            ctx.backbone,
            weights=ctx.weights,
            input_size=ctx.transfer_size,
            image_shape=(ctx.transfer_size, ctx.transfer_size, 3),
        )
        # Keras prints its download attempt on stdout; silent means silent.
        quiet = contextlib.redirect_stdout(io.StringIO()) if not verbose else None
        with quiet or contextlib.nullcontext():
            features = extractor.fit(rows).transform(rows)
    except Exception as exc:  # any failure skips the route
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = (
            f"the pretrained weights of {ctx.backbone} could not be loaded "
            f"({type(exc).__name__}: {first[:200]}). To get them: run once on a "
            "machine with internet (Keras caches ImageNet weights in "
            "~/.keras/models; copy that folder), or pass a weights file of the "
            "backbone without its top (weights=PATH, --weights PATH)"
        )
        for r in wanted:
            r.status, r.reason = "skipped", reason
        return None, None, 0.0
    per_image = (time.perf_counter() - start) / len(rows)
    return rows, features.astype(np.float32), per_image


def assess(
    X,
    y=None,
    *,
    routes=None,
    extra_routes=None,
    image_size=32,
    color="auto",
    backbone="mobilenet_v2",
    weights="imagenet",
    transfer_size=96,
    scoring="auto",
    n_splits=3,
    test_size=0.25,
    train_sizes=None,
    budget=None,
    cache=None,
    random_state=0,
    verbose=1,
    report=None,
):
    """Is deep learning worth it for these images? Compare routes on the same splits.

    Fits each *route* (a classic baseline, the small-data CNN, transfer
    learning, or an estimator of yours) on the same stratified train/test
    splits, along a learning curve (several training sizes up to the whole
    training part), scores it on the held-out images, and says in plain
    words which route wins at the full size, by how much against the best
    classic baseline (with a 95% interval from the paired splits), whether
    the curve is still rising, and whether anything beats chance.

    Built-in routes (``routes``):

    - ``"logistic_regression"`` and ``"svc"`` (RBF), the classic baselines,
      on the pixels at ``image_size`` scaled to [0, 1], ``C`` chosen by a
      3-fold inner search (``{0.01, 0.1, 1}`` and ``{1, 10, 100}``), one
      classifier per label for multi-label targets;
    - ``"small_data_cnn"``: :func:`~litterlearn.neural_network.make_small_data_cnn`
      at ``image_size``;
    - ``"pretrained_features"``: the features of a frozen pretrained
      ``backbone`` at ``transfer_size`` (computed once for all images; their
      seconds per image are added to the fit and predict times), standardized,
      then a logistic regression tuned as above;
    - ``"fine_tuned"``: :class:`~litterlearn.neural_network.TransferImageClassifier`
      (30 epochs of the head on the frozen backbone, then 10 epochs of
      fine-tuning at a learning rate of 1e-4).

    The transfer routes need pretrained ``weights``; when they cannot be
    loaded (no internet, a bad file) both are listed as skipped with the
    reason and how to get the weights, and the other routes go on. A route
    that fails (out of memory, a bug in an added estimator) is reported as
    failed, with its error, and the others go on.

    Parameters
    ----------
    X : str, path-like, sequence of str or array-like
        A folder holding one subfolder per class (then ``y`` is None), image
        file names, or images as arrays ``(n, H, W)``, ``(n, H, W, C)`` or
        rows (see the image contract).
    y : array-like of shape (n_samples,) or (n_samples, n_labels), default=None
        Labels, or a 0/1 indicator for multi-label targets (split by
        iterative stratification). None when ``X`` is a folder.
    routes : list of str, default=None
        Built-in routes to run (see above); None runs them all.
    extra_routes : dict of str to estimator, default=None
        Your own routes: a name and an unfitted classifier that takes uint8
        image rows of ``image_size`` (cloned for each fit; its
        ``random_state``, if it has one, set to the split's seed).
    image_size : int, default=32
        Side, in pixels, images are resized to for the pixel baselines, the
        CNN and the added routes.
    color : {"auto", "gray", "rgb"}, default="auto"
        Colour of those rows; "auto" keeps colour when the images have it.
    backbone : str, default="mobilenet_v2"
        The pretrained backbone of the transfer routes (a name of
        :class:`~litterlearn.preprocessing.PretrainedFeatures`).
    weights : "imagenet", path or None, default="imagenet"
        The backbone's weights: Keras' ImageNet weights (downloaded, or
        found in Keras' cache), or the path of a weights file of the
        backbone without its top. None skips the transfer routes.
    transfer_size : int, default=96
        Side images are resized to for the transfer routes.
    scoring : {"auto", "accuracy", "balanced_accuracy", "f1_macro"} or callable, \
            default="auto"
        The metric. "auto": accuracy when the classes are balanced (the
        largest at most 1.5 times the smallest), balanced accuracy when they
        are skewed, macro F1 for multi-label targets. A callable is
        ``metric(y_true, y_pred) -> float``, higher is better.
    n_splits : int, default=3
        Number of train/test splits (seeded ``random_state + j``). At least 2
        give an uncertainty.
    test_size : float, default=0.25
        Share of the images held out for testing in each split.
    train_sizes : list of int or float, default=None
        Training sizes of the learning curve (ints, or fractions of the
        training part). None: the whole training part and its halvings
        (down to about 4 images of the rarest class, at most 4 sizes).
    budget : float or str, default=None
        Time the whole call may take: seconds, or text such as ``"10m"``.
        A first small fit of each route gives its cost, revised after each
        fit; cells predicted not to fit are left out (the report says which),
        and the Keras routes' epochs are cut (to no fewer than 5) when one
        fit at the full size would take more than the time left allows.
        None runs every cell.
    cache : str or path-like, default=None
        Folder where each finished cell is saved; a rerun with the same data
        and settings takes them from there instead of fitting again.
    random_state : int, default=0
        Seeds the splits and every route.
    verbose : int, default=1
        0: silent; 1: a progress bar showing route, size and split.
    report : str or path-like, default=None
        Also write the report there: ``.html`` (self-contained, the figure
        inside) or ``.md`` (the figure beside it as a PNG).

    Returns
    -------
    result : AssessResult
        The scores of every cell, the verdict and the report. Interrupted
        (Ctrl-C), it holds the cells finished so far (``interrupted`` is
        True) and the report is written from them.

    Raises
    ------
    ValueError
        Before any fit, for input assess cannot work on: no images, a single
        class, a class with fewer than 5 images, unreadable files, unknown
        routes, or a budget under 10 seconds.

    See Also
    --------
    litterlearn.neural_network.make_small_data_cnn : The CNN route.
    litterlearn.preprocessing.PretrainedFeatures : The features route.
    sklearn.model_selection.learning_curve : One estimator's learning curve.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from litterlearn.model_selection import assess
    >>> digits = load_digits()
    >>> X = (digits.images[:300] * 255 / 16).astype("uint8")
    >>> result = assess(X, digits.target[:300], routes=["logistic_regression", "svc"],
    ...                 image_size=8, n_splits=2, verbose=0)
    >>> result.metric, result.sizes
    ('accuracy', [56, 112, 225])
    >>> print(result.verdict.splitlines()[0])  # doctest: +ELLIPSIS
    RBF SVC on pixels wins at 225 training images...
    """
    start = time.perf_counter()
    routes, extra_routes = _check_routes(routes, extra_routes)
    _check_settings(
        image_size=image_size,
        transfer_size=transfer_size,
        n_splits=n_splits,
        scoring=scoring,
        test_size=test_size,
        random_state=random_state,
        verbose=verbose,
    )
    if color not in ("auto", "gray", "rgb"):
        raise AssessInputError(f"color must be 'auto', 'gray' or 'rgb'; got {color!r}")
    try:
        budget = parse_budget(budget)
    except ValueError as exc:
        raise AssessInputError(str(exc)) from None
    if budget is not None and budget < MIN_BUDGET_S:
        raise AssessInputError(
            f"a budget of {budget:g} s is too small for one fit; give at least "
            f"{MIN_BUDGET_S:g} s"
        )
    random_state = int(random_state)

    data = _prepare(X, y, image_size, color)
    metric_name, metric, metric_why = _choose_metric(scoring, data.y, data.multilabel)
    try:
        splits, sizes = _make_splits(
            data.y, n_splits, test_size, train_sizes, random_state, data.multilabel
        )
    except ValueError as exc:
        if isinstance(exc, AssessInputError):
            raise
        raise AssessInputError(f"the images cannot be split: {exc}") from exc

    ctx = _Context(
        image_shape=data.image_shape,
        multilabel=data.multilabel,
        scorer=make_scorer(metric),
        backbone=backbone,
        weights=weights,
        transfer_size=transfer_size,
    )
    plan = [
        _Route(
            name,
            "baseline" if name in BASELINES else "deep",
            {"pretrained_features": "features", "fine_tuned": "transfer"}.get(
                name, "pixels"
            ),
            LABELS[name],
            keras=name in ("small_data_cnn", "fine_tuned"),
        )
        for name in ROUTES
        if name in routes
    ]
    plan += [
        _Route(name, "user", "pixels", name, estimator=est)
        for name, est in extra_routes.items()
    ]
    transfer_rows, features, feature_s = _transfer_inputs(data, plan, ctx, verbose)
    inputs = {"pixels": data.rows, "features": features, "transfer": transfer_rows}

    cache_store = _Cache(cache)
    data_key = _digest(data.rows, data.y, data.image_shape, metric_name, test_size)

    # The order that answers the question soonest.
    full, smallest = sizes[-1], sizes[0]
    active = [r for r in plan if r.status == "ran"]
    order = []
    for r in active:
        order.append((r, smallest, 0))
    for j in range(n_splits):
        order += [(r, full, j) for r in active]
    for size in reversed(sizes[:-1]):
        for j in range(n_splits):
            order += [(r, size, j) for r in active]
    seen, todo = set(), []
    for r, size, j in order:
        if (r.name, size, j) not in seen:
            seen.add((r.name, size, j))
            todo.append((r, size, j))

    cells, notes, cost = [], [], {}
    left_out = {}
    interrupted = False
    progress = _Progress(len(todo), verbose, budget)
    try:
        for r, size, j in todo:
            if r.status == "failed":
                progress.step()
                continue
            split = splits[j]
            train, test = split.train[size], split.test
            if r.keras and size == full and j == 0:
                # Cut the epochs once, before the first full-size fit; the
                # choice is cached so that a rerun resumes with the same one.
                scale_key = _digest(_CACHE_VERSION, data_key, _route_signature(r, ctx))
                decided = cache_store.get(f"epochs-{scale_key}")
                if decided is not None:
                    ctx.epoch_scale[r.name] = decided["scale"]
                elif budget is not None and r.name in cost:
                    left = budget - (time.perf_counter() - start) - _REPORT_RESERVE_S
                    _fit_epochs_to_budget(
                        r, size, n_splits, ctx, cost, left, active, cells
                    )
                    scale = ctx.epoch_scale.get(r.name, 1.0)
                    cache_store.put(f"epochs-{scale_key}", {"scale": scale})
            key = _digest(
                _CACHE_VERSION,
                data_key,
                _route_signature(r, ctx),
                size,
                split.seed,
                ctx.epoch_scale.get(r.name, 1.0),
            )
            cached = cache_store.get(key)
            if cached is not None:
                cells.append({**cached, "cached": True})
                cost[r.name] = cached["seconds"] / _cost_units(r, size, ctx)
                progress.step()
                continue
            elapsed = time.perf_counter() - start
            if budget is not None and r.name in cost:
                left = budget - elapsed - _REPORT_RESERVE_S
                predicted = cost[r.name] * _cost_units(r, size, ctx)
                if predicted > left:
                    left_out.setdefault(r.name, []).append((size, j))
                    progress.step()
                    continue
            elif budget is not None and elapsed > budget - _REPORT_RESERVE_S:
                left_out.setdefault(r.name, []).append((size, j))
                progress.step()
                continue
            progress.show(f"{r.name} n={size} split {j + 1}/{n_splits}", elapsed)
            cell = _run_cell(
                r, size, j, split, train, test, inputs, data, ctx, metric, feature_s
            )
            if cell["status"] == "failed":
                r.status, r.reason = "failed", cell["error"]
            else:
                cost[r.name] = cell["seconds"] / _cost_units(r, size, ctx)
                cache_store.put(key, cell)
            cells.append({**cell, "cached": False})
            progress.step()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    for name, scale in ctx.epoch_scale.items():
        if scale < 1:
            notes.append(
                f"To fit the budget, {LABELS.get(name, name)} trained for "
                f"{scale:.0%} of its usual epochs (at least {_MIN_EPOCHS})."
            )
    result = AssessResult(
        cells=[c for c in cells if c["status"] != "failed"],
        routes={
            r.name: {
                "label": r.label,
                "kind": r.kind,
                "status": r.status,
                "reason": r.reason,
                "left_out": left_out.get(r.name, []),
            }
            for r in plan
        },
        metric=metric_name,
        metric_reason=metric_why,
        sizes=sizes,
        n_splits=n_splits,
        test_size=test_size,
        splits=[(s.train, s.test) for s in splits],
        seeds=[s.seed for s in splits],
        classes=data.classes,
        multilabel=data.multilabel,
        n_samples=len(data.y),
        image_shape=data.image_shape,
        transfer=(backbone, weights, transfer_size),
        description=data.description,
        budget=budget,
        elapsed=time.perf_counter() - start,
        interrupted=interrupted,
        notes=notes,
    )
    if report is not None:
        result.save(report)
    return result


def _fit_epochs_to_budget(route, size, n_splits, ctx, cost, left, active, cells):
    """Cut a Keras route's epochs when its full-size fits would not fit.

    The time left is shared so that every route can be fitted at the full
    size on every split: the routes whose cost is known and that are not
    Keras routes take their predicted time, the Keras routes without a
    full-size fit yet share the rest equally. Where even one split does not
    fit that way, the share is for one split.
    """
    waiting = [
        r
        for r in active
        if r.status == "ran"
        and not any(c["route"] == r.name and c["size"] == size for c in cells)
    ]
    keras_waiting = [r for r in waiting if r.keras] or [route]
    others = sum(
        cost[r.name] * _cost_units(r, size, ctx)
        for r in waiting
        if not r.keras and r.name in cost
    )
    share = (left - n_splits * others) / (n_splits * len(keras_waiting))
    if share <= 0:
        share = (left - others) / len(keras_waiting)
    predicted = cost[route.name] * _cost_units(route, size, ctx)
    if predicted > share and predicted > 0:
        ctx.epoch_scale[route.name] = max(
            0.05, ctx.epoch_scale.get(route.name, 1.0) * max(share, 0) / predicted
        )


def _run_cell(route, size, j, split, train, test, inputs, data, ctx, metric, feature_s):
    X = inputs[route.input]
    y_train, y_test = data.y[train], data.y[test]
    cell = {
        "route": route.name,
        "size": int(size),
        "split": int(j),
        "seed": int(split.seed),
        "n_test": int(len(test)),
        "chance": _chance(y_train, y_test, metric, data.multilabel),
    }
    model = None
    try:
        model = _estimator(route, len(train), split.seed, y_train, ctx)
        cell["epochs"] = _epochs(model) if route.keras else None
        # The classic routes' matrices are small: BLAS threads only contend
        # (20 times slower on a loaded 2-core machine than one thread).
        limit = (
            threadpool_limits(1)
            if route.kind != "user" and not route.keras
            else contextlib.nullcontext()
        )
        with warnings.catch_warnings(), limit:
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                from sklearn.exceptions import ConvergenceWarning

                warnings.simplefilter("ignore", ConvergenceWarning)
            except ImportError:  # pragma: no cover
                pass
            t0 = time.perf_counter()
            model.fit(X[train], y_train)
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            pred = model.predict(X[test])
            predict_s = time.perf_counter() - t0
            score = float(metric(y_test, pred))
    except Exception as exc:  # a failing route must not stop the others
        cell.update(status="failed", error=one_line(exc, 200), seconds=0.0)
        return cell
    finally:
        if route.keras:
            del model
            gc.collect()
    if route.input == "features":  # the features' share of the time
        fit_s += feature_s * len(train)
        predict_s += feature_s * len(test)
    cell.update(
        status="ok",
        score=score,
        fit_s=round(fit_s, 3),
        predict_s=round(predict_s, 3),
        seconds=fit_s + predict_s,
    )
    return cell
