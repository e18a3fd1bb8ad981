"""Plots for image datasets and models (matplotlib, imported on first use).

Install the optional dependency with ``pip install litterlearn[plot]``.
"""

from __future__ import annotations

import numpy as np

from .utils._docstrings import fill_doc
from .utils._images import as_image_dtype, resolve_image_shape

__all__ = [
    "plot_augmentations",
    "plot_channel_histograms",
    "plot_grad_cam",
    "plot_history",
    "plot_images",
    "plot_learning_rate_finder",
    "plot_mixed_batch",
    "plot_top_losses",
]


# Parameter text that several plots share, filled in by ``_fill_doc``.
_fill_doc = fill_doc(
    image_shape="""image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of rows; None infers it (image contract).""",
    labels="""labels : array-like of shape (n_samples,), default=None
        True labels, shown above each image.
    predictions : array-like of shape (n_samples,), default=None
        Predicted labels, shown above each image; red where they differ
        from ``labels``.
    target_names : list of str or dict, default=None
        Class names shown instead of the labels: a list indexed by integer
        labels (as ``Bunch.target_names`` of the dataset loaders), or a dict
        ``{label: name}``. None shows the labels as they are.""",
    grid="""n_cols : int, default=8
        Images per row of the grid.
    max_images : int or None, default=32
        Show at most this many (the first ones); None shows all.""",
    fig="""fig : matplotlib Figure, default=None
        Draw into this figure; None makes one.
    figsize : (float, float), default=None
        Size of a new figure.""",
)


def _pyplot():
    """Import matplotlib.pyplot, or say how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "litterlearn's plotting functions need matplotlib; install it with "
            "`pip install litterlearn[plot]` (or `pip install matplotlib`)."
        ) from exc
    return plt


def _as_images(X, image_shape):
    """Any accepted batch (rows, 3D, 4D) as ``(n, H, W, C)`` uint8/float32."""
    X = as_image_dtype(np.asarray(X))
    shape = resolve_image_shape(X.shape, image_shape)
    return X.reshape((X.shape[0], *shape))


def _show(ax, image, title=None, color=None):
    """Draw one ``(H, W, C)`` image on ``ax`` without axis ticks."""
    channels = image.shape[-1]
    if image.dtype == np.uint8:
        vmin, vmax = 0, 255
    else:
        lo, hi = float(image.min()), float(image.max())
        # Floats in [0, 1] are shown as they are; others (e.g. standardized)
        # are stretched to their own range.
        vmin, vmax = (
            (0.0, 1.0) if lo >= 0 and hi <= 1 else (lo, hi if hi > lo else lo + 1)
        )
    if channels == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=vmin, vmax=vmax)
    else:
        rgb = image[..., :3] if channels >= 3 else image[..., :1].repeat(3, -1)
        if rgb.dtype != np.uint8:
            rgb = np.clip((rgb - vmin) / (vmax - vmin), 0, 1)
        ax.imshow(rgb)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        kwargs = {} if color is None else {"color": color}
        ax.set_title(title, fontsize="small", **kwargs)


def _grid(plt, n_rows, n_cols, figsize, fig, title_lines=1):
    """A new (constrained-layout) figure, or ``fig``, with an image grid.

    Each cell is 1.6 inches wide; its height leaves room for ``title_lines``
    lines of small text above the image, so titles never overlap.
    """
    if fig is None:
        if figsize is None:
            figsize = (1.6 * n_cols, (1.45 + 0.2 * title_lines) * n_rows)
        fig = plt.figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    return fig, axes


def _cells(images, max_images, n_cols, caller, **per_image):
    """How many images a grid shows, and its rows and columns.

    Raises when there is no image to show, or when one of ``per_image``
    (None, or one entry per image) has another length than ``images``.
    """
    n = len(images) if max_images is None else min(len(images), int(max_images))
    if n == 0:
        raise ValueError(f"{caller} got no images to show.")
    for what, arr in per_image.items():
        if arr is not None and len(arr) != len(images):
            raise ValueError(f"{what} has {len(arr)} entries for {len(images)} images.")
    n_cols = max(1, min(int(n_cols), n))
    return n, -(-n // n_cols), n_cols


def _namer(target_names):
    """A function from a label to its display name (``target_names`` applied)."""
    if target_names is None:
        return str
    if isinstance(target_names, dict):
        return lambda label: str(target_names.get(label, label))
    names = list(target_names)

    def name(label):
        try:
            index = int(label)
        except (TypeError, ValueError):
            return str(label)
        if index != label or not 0 <= index < len(names):
            raise ValueError(
                f"target_names has {len(names)} names; label {label} is not an "
                "index into it (pass a dict {label: name} for other labels)."
            )
        return str(names[index])

    return name


@_fill_doc
def plot_images(
    X,
    image_shape=None,
    *,
    labels=None,
    predictions=None,
    target_names=None,
    n_cols=8,
    max_images=32,
    title=None,
    fig=None,
    figsize=None,
):
    """Show a batch of images in a grid, with labels and predictions.

    Parameters
    ----------
    X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
        Images: rows as passed between litterlearn's steps, or arrays.
        uint8 is shown on 0..255, floats in [0, 1] as they are, other floats
        stretched to their range.
    %(image_shape)s
    %(labels)s
    %(grid)s
    title : str, default=None
        A title above the whole grid.
    fig : matplotlib Figure, default=None
        Draw into this figure (its existing axes are kept); None makes one.
    figsize : (float, float), default=None
        Size of a new figure; None scales it with the grid.

    Returns
    -------
    fig : matplotlib Figure
        One axes per image shown; the grid's unused cells are hidden.

    See Also
    --------
    plot_augmentations : Originals next to their augmented copies.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from litterlearn.plotting import plot_images
    >>> X = np.random.default_rng(0).integers(0, 256, (6, 16 * 16), np.uint8)
    >>> fig = plot_images(X, labels=[0, 1, 0, 1, 1, 0], n_cols=3,
    ...                   target_names=["other", "bottle"])
    >>> len(fig.axes), fig.axes[1].get_title()
    (6, 'bottle')
    """
    plt = _pyplot()
    images = _as_images(X, image_shape)
    labels = None if labels is None else np.asarray(labels)
    predictions = None if predictions is None else np.asarray(predictions)
    n, n_rows, n_cols = _cells(
        images,
        max_images,
        n_cols,
        "plot_images",
        labels=labels,
        predictions=predictions,
    )
    name = _namer(target_names)
    # The true label on the first line, the prediction on a second one: a
    # title fits its own cell and never runs into its neighbours'.
    lines = (labels is not None) + (predictions is not None)
    fig, axes = _grid(plt, n_rows, n_cols, figsize, fig, title_lines=max(lines, 1))
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.remove()
            continue
        parts, color = [], None
        if labels is not None:
            parts.append(name(labels[i]))
        if predictions is not None:
            parts.append(f"pred: {name(predictions[i])}")
            if labels is not None and predictions[i] != labels[i]:
                color = "tab:red"
        _show(ax, images[i], "\n".join(parts) or None, color)
    if title is not None:
        fig.suptitle(title)
    return fig


@_fill_doc
def plot_augmentations(
    augmenter,
    X,
    y=None,
    *,
    n_images=4,
    n_copies=4,
    image_shape=None,
    random_state=None,
    target_names=None,
    fig=None,
    figsize=None,
):
    """Show images (first column) next to augmented copies of them.

    Parameters
    ----------
    augmenter : Augmenter
        Its transformations are applied (through ``augment_batch``).
    X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
        Images; the first ``n_images`` are shown.
    y : array-like of shape (n_samples,), default=None
        Labels, shown with the originals. Needed when the augmenter mixes
        images of the same class (partners come from the shown images).
    n_images : int, default=4
        Number of originals (rows of the grid).
    n_copies : int, default=4
        Augmented copies per original (columns after the first).
    image_shape : tuple of int, default=None
        Shape of rows; None takes the augmenter's ``image_shape``, else
        infers it.
    random_state : int, RandomState, Generator or None, default=None
        Randomness of the copies.
    target_names : list of str or dict, default=None
        Class names shown instead of the labels ``y`` (see
        :func:`plot_images`).
    %(fig)s

    Returns
    -------
    fig : matplotlib Figure
        ``n_images * (1 + n_copies)`` axes, row by row.

    See Also
    --------
    litterlearn.preprocessing.Augmenter : The sampler whose copies are shown.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from litterlearn.plotting import plot_augmentations
    >>> from litterlearn.preprocessing import Augmenter
    >>> X = np.random.default_rng(0).integers(0, 256, (5, 12 * 12), np.uint8)
    >>> fig = plot_augmentations(Augmenter(rotation=20), X, n_images=2, n_copies=3)
    >>> len(fig.axes)
    8
    """
    plt = _pyplot()
    if image_shape is None:
        image_shape = getattr(augmenter, "image_shape", None)
    images = _as_images(X, image_shape)
    n = min(int(n_images), len(images))
    if n == 0 or n_copies < 1:
        raise ValueError("plot_augmentations needs n_images >= 1 and n_copies >= 1.")
    images = images[:n]
    y = None if y is None else np.asarray(y)[:n]
    copies = augmenter.augment_batch(
        np.repeat(images, n_copies, axis=0),
        None if y is None else np.repeat(y, n_copies),
        random_state=random_state,
    ).reshape(n, n_copies, *images.shape[1:])
    name = _namer(target_names)
    fig, axes = _grid(plt, n, 1 + n_copies, figsize, fig)
    for i in range(n):
        title = "original" if y is None else f"original: {name(y[i])}"
        _show(axes[i, 0], images[i], title if i == 0 or y is not None else None)
        for j in range(n_copies):
            _show(axes[i, 1 + j], copies[i, j], f"copy {j + 1}" if i == 0 else None)
    return fig


def _history_of(history):
    """A dict of per-epoch lists from an estimator, a Keras History or a dict."""
    if hasattr(history, "history_"):
        history = history.history_
    elif hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history
    if not isinstance(history, dict) or not history:
        raise TypeError(
            "plot_history needs a fitted litterlearn classifier, a Keras History "
            f"or a non-empty dict of per-epoch lists; got {type(history).__name__}."
        )
    return {k: list(v) for k, v in history.items() if np.ndim(v) == 1 and len(v)}


_METRIC_NAMES = {
    "loss": "loss (cross-entropy)",
    "accuracy": "accuracy",
    "auc": "ROC AUC",
    "precision": "precision",
    "recall": "recall",
}


@_fill_doc
def plot_history(history, *, metrics=None, title=None, fig=None, figsize=None):
    """Plot training curves: one panel per metric, training and validation.

    Parameters
    ----------
    history : fitted classifier, keras.callbacks.History or dict
        A litterlearn classifier (its ``history_`` is used), the History
        returned by ``keras.Model.fit``, or a dict such as
        ``{"loss": [...], "val_loss": [...]}``.
    metrics : list of str, default=None
        Metrics to show (without the ``val_`` prefix); None shows every
        metric found, loss first.
    title : str, default=None
        A title above the panels, best naming the model and the data (for
        example ``"CNN on TACO, 50x50 gray"``).
    %(fig)s

    Returns
    -------
    fig : matplotlib Figure
        One axes per metric, with epochs on the x axis and the metric on the
        y axis; each panel titled with its metric.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from litterlearn.plotting import plot_history
    >>> fig = plot_history({"loss": [0.7, 0.5, 0.4], "val_loss": [0.7, 0.6, 0.6],
    ...                     "accuracy": [0.5, 0.7, 0.8]})
    >>> [ax.get_title() for ax in fig.axes]
    ['loss', 'accuracy']
    """
    plt = _pyplot()
    hist = _history_of(history)
    names = [k for k in hist if not k.startswith("val_")]
    names += [k[4:] for k in hist if k.startswith("val_") and k[4:] not in names]
    names = sorted(names, key=lambda k: k != "loss")  # stable: loss first
    if metrics is not None:
        unknown = sorted(set(metrics) - set(names))
        if unknown:
            raise ValueError(f"Unknown metrics {unknown}; the history has {names}.")
        names = list(metrics)
    if fig is None:
        height = 3.2 if title is None else 3.6
        fig = plt.figure(
            figsize=figsize or (4.5 * len(names), height), layout="constrained"
        )
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        for key, label in ((name, "training"), (f"val_{name}", "validation")):
            if key in hist:
                epochs = np.arange(1, len(hist[key]) + 1)
                ax.plot(epochs, hist[key], marker=".", label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(_METRIC_NAMES.get(name, name))
        # Epochs are whole numbers.
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_channel_histograms(image, *, bins=64, ax=None):
    """Histogram of each channel of one image (red, green, blue or gray).

    Parameters
    ----------
    image : array-like of shape (H, W) or (H, W, C), or a PIL image
        uint8 values are binned on 0..255, floats on their range.
    bins : int, default=64
        Number of bins.
    ax : matplotlib Axes, default=None
        Draw on this axes; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from litterlearn.plotting import plot_channel_histograms
    >>> img = np.random.default_rng(0).integers(0, 256, (8, 8, 3), np.uint8)
    >>> ax = plot_channel_histograms(img)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['red', 'green', 'blue']
    """
    plt = _pyplot()
    image = as_image_dtype(np.asarray(image))
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(
            f"plot_channel_histograms takes one image (H, W) or (H, W, C); got "
            f"an array of shape {image.shape}."
        )
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError(
            f"plot_channel_histograms needs finite pixel values; the image "
            f"holds {int(np.isnan(image).sum())} NaN and "
            f"{int(np.isinf(image).sum())} infinite value(s)."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    channels = image.shape[-1]
    names = {
        1: ["gray"],
        3: ["red", "green", "blue"],
        4: ["red", "green", "blue", "alpha"],
    }
    names = names.get(channels, [f"channel {i}" for i in range(channels)])
    colors = {"gray": "0.3", "red": "tab:red", "green": "tab:green", "blue": "tab:blue"}
    value_range = (0, 255) if image.dtype == np.uint8 else None
    for i, name in enumerate(names):
        ax.hist(
            image[..., i].ravel(),
            bins=bins,
            range=value_range,
            color=colors.get(name),
            alpha=0.5,
            label=name,
        )
    ax.set_xlabel("pixel value")
    ax.set_ylabel("pixels")
    ax.legend()
    return ax


# --------------------------------------------------------------------------
# Seeing why: Grad-CAM overlays and the top losses.


def _overlay(ax, image, heatmap, title, color, alpha, cmap):
    _show(ax, image, title, color)
    ax.imshow(
        heatmap, cmap=cmap, alpha=alpha, vmin=0.0, vmax=1.0, interpolation="bilinear"
    )


@_fill_doc
def plot_grad_cam(
    images,
    heatmaps,
    *,
    image_shape=None,
    labels=None,
    predictions=None,
    target_names=None,
    titles=None,
    alpha=0.45,
    cmap="jet",
    n_cols=8,
    max_images=32,
    fig=None,
    figsize=None,
):
    """Draw Grad-CAM heatmaps over their images.

    Parameters
    ----------
    images : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
        The images the heatmaps explain, as the classifier saw them.
    heatmaps : array-like of shape (n_samples, H, W)
        Values in [0, 1], e.g. from :func:`litterlearn.inspection.grad_cam`.
    %(image_shape)s
    %(labels)s
    titles : list of str, default=None
        One title per image, instead of the labels and predictions.
    alpha : float, default=0.45
        Opacity of the heatmap over the image.
    cmap : str, default="jet"
        Matplotlib colormap of the heatmap (0: blue, 1: red with "jet").
    %(grid)s
    fig : matplotlib Figure, default=None
        Draw into this figure; None makes one.
    figsize : (float, float), default=None
        Size of a new figure; None scales it with the grid.

    Returns
    -------
    fig : matplotlib Figure
        One axes per image, each with the image and the heatmap drawn on it.

    See Also
    --------
    litterlearn.inspection.grad_cam : Compute the heatmaps.
    plot_top_losses : The images a classifier gets most wrong.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from litterlearn.plotting import plot_grad_cam
    >>> rng = np.random.default_rng(0)
    >>> images = rng.random((4, 16, 16), dtype=np.float32)
    >>> heatmaps = rng.random((4, 16, 16), dtype=np.float32)
    >>> fig = plot_grad_cam(images, heatmaps, labels=[0, 1, 1, 0],
    ...                     predictions=[0, 1, 0, 0], target_names=["can", "bottle"])
    >>> fig.axes[2].get_title().splitlines()  # a wrong prediction, in red
    ['true bottle', 'pred can']
    """
    plt = _pyplot()
    images = _as_images(images, image_shape)
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    if heatmaps.shape != images.shape[:3]:
        raise ValueError(
            f"heatmaps must have shape (n_samples, H, W) = {images.shape[:3]} to "
            f"match the images; got {heatmaps.shape}."
        )
    n, n_rows, n_cols = _cells(
        images,
        max_images,
        n_cols,
        "plot_grad_cam",
        labels=labels,
        predictions=predictions,
        titles=titles,
    )
    name = _namer(target_names)
    fig, axes = _grid(plt, n_rows, n_cols, figsize, fig)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.remove()
            continue
        title, color = None, None
        if titles is not None:
            title = titles[i]
        else:
            parts = []
            if labels is not None:
                parts.append(f"true {name(labels[i])}")
            if predictions is not None:
                parts.append(f"pred {name(predictions[i])}")
                if labels is not None and predictions[i] != labels[i]:
                    color = "tab:red"
            title = "\n".join(parts) or None
        _overlay(ax, images[i], heatmaps[i], title, color, alpha, cmap)
    return fig


@_fill_doc
def plot_top_losses(
    estimator,
    X,
    y,
    *,
    n=9,
    target_names=None,
    label=None,
    grad_cam=False,
    n_cols=None,
    alpha=0.45,
    fig=None,
    figsize=None,
):
    """Show the images a classifier gets most wrong: the highest losses first.

    The loss of an image is the cross-entropy ``-log p(true class)``: the
    confidently wrong predictions come first, then the hesitant ones. Each
    image is titled with its predicted class and that class's probability,
    its true class and the true class's probability, and the loss (as
    fastai's ``ClassificationInterpretation.plot_top_losses``).

    For a multi-label classifier (``y`` a 0/1 indicator of shape
    ``(n_samples, n_labels)``, ``predict_proba`` one probability per label)
    each label is its own yes/no question, and the loss of an image for a
    label is that label's binary cross-entropy, ``-log p`` where the image
    has the label and ``-log (1 - p)`` where it has not. With ``label`` the
    images are ranked by their loss for that label: the worst photos of
    that one question (fastai's version of this plot fails on multi-label
    data). With ``label=None`` each image counts with its worst label, and
    its title names that label. Titles give the label, its probability, the
    truth ("has" or "not") and the loss; red where the classifier's
    ``predict`` (at its threshold) is wrong for that label.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        Anything with ``predict_proba`` and ``classes_``. For a Pipeline,
        the images shown are ``X`` as they reach its last step (e.g. the
        resized gray rows), which is what the classifier saw.
    X : array-like
        Images as the estimator takes them (rows, arrays, or file paths for
        a Pipeline starting with an ``ImageResizer``).
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        True classes, each one of ``classes_``; or, for a multi-label
        classifier, the 0/1 indicator of the labels each image has.
    n : int, default=9
        Number of images shown.
    target_names : list of str or dict, default=None
        Class names: a list indexed by integer labels, or a dict
        ``{label: name}``. None shows the labels as they are.
    label : a class label, default=None
        Multi-label only: the label whose losses rank the images (one of
        ``classes_``, a column index of ``y``). None ranks each image by
        its worst label.
    grad_cam : bool, default=False
        Draw each image's Grad-CAM heatmap for its predicted class over it
        (:func:`litterlearn.inspection.grad_cam`; the classifier needs a
        convolution): where the network found the evidence for its mistake.
        For a multi-label classifier, the heatmap of the label in the
        title: where the network sees it.
    n_cols : int, default=None
        Images per row; None makes a square-ish grid.
    alpha : float, default=0.45
        Opacity of the heatmaps (with ``grad_cam=True``).
    %(fig)s

    Returns
    -------
    fig : matplotlib Figure
        One axes per image, highest loss first; wrong predictions titled in
        red.

    See Also
    --------
    plot_grad_cam : Heatmaps over any images.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from litterlearn.plotting import plot_top_losses
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 8 * 8), dtype=np.float32)
    >>> y = (X[:, :32].mean(axis=1) > 0.5).astype(int)
    >>> clf = LogisticRegression().fit(X, y)
    >>> fig = plot_top_losses(clf, X, y, n=4, target_names=["other", "bottle"])
    >>> len(fig.axes)
    4
    >>> fig.axes[0].get_title().splitlines()[1].startswith("true ")
    True

    Multi-label: two yes/no questions per image.

    >>> from sklearn.multiclass import OneVsRestClassifier
    >>> Y = np.column_stack([y, X[:, 32:].mean(axis=1) > 0.5]).astype(int)
    >>> ovr = OneVsRestClassifier(LogisticRegression()).fit(X, Y)
    >>> names = ["bottle", "can"]
    >>> fig = plot_top_losses(ovr, X, Y, n=4, target_names=names, label=1)
    >>> fig.axes[0].get_title().splitlines()[0].startswith("can ")
    True
    """
    from sklearn.utils.validation import check_is_fitted, column_or_1d

    from .utils._sklearn_compat import _safe_indexing

    plt = _pyplot()
    check_is_fitted(estimator)
    proba = _label_probabilities(estimator.predict_proba(X))
    classes = estimator.classes_
    if isinstance(classes, list):  # multi-output: the labels are the columns
        classes = np.arange(len(classes))
    classes = np.asarray(classes)
    if np.ndim(y) == 2 and np.shape(y)[1] > 1:
        losses, shown_label, Y = _multilabel_losses(proba, classes, y, label)
        multilabel = True
    else:
        if label is not None:
            raise ValueError(
                "label is for multi-label classifiers (y a 0/1 indicator of "
                "shape (n_samples, n_labels)); with one class per image, leave "
                "it None."
            )
        multilabel = False
        if proba.ndim == 2 and not np.allclose(proba.sum(axis=1), 1, atol=1e-3):
            raise ValueError(
                f"predict_proba's rows do not sum to 1: the estimator looks "
                f"multi-label (one probability per label). Pass y as a 0/1 "
                f"indicator of shape ({len(proba)}, {proba.shape[1]})."
            )
        y = column_or_1d(y)
        if len(y) != len(proba):
            raise ValueError(f"y has {len(y)} labels for {len(proba)} images.")
        index = {c: i for i, c in enumerate(classes.tolist())}
        unknown = sorted({v for v in y.tolist() if v not in index}, key=str)
        if unknown:
            raise ValueError(
                f"y has labels that are not classes of the estimator: {unknown}; "
                f"its classes are {classes.tolist()}."
            )
        true_idx = np.array([index[v] for v in y.tolist()], dtype=np.intp)
        p_true = proba[np.arange(len(y)), true_idx]
        losses = -np.log(np.clip(p_true, 1e-15, None))
    n = min(int(n), len(losses))
    if n < 1:
        raise ValueError("plot_top_losses needs n >= 1 and at least one image.")
    order = np.argsort(-losses, kind="stable")[:n]

    X_top = _safe_indexing(X, order)
    if multilabel:
        predicted = np.asarray(estimator.predict(X_top))
        if predicted.ndim != 2 or predicted.shape[1] != Y.shape[1]:
            raise ValueError(
                f"y is a multi-label indicator of {Y.shape[1]} labels, but the "
                f"estimator's predict gives shape {predicted.shape}: it is not a "
                f"multi-label classifier of these labels."
            )
        targets = classes[shown_label[order]]
    else:
        pred_idx = proba.argmax(axis=1)
        targets = classes[pred_idx[order]]
    from .utils._estimators import final_estimator_and_input

    final, shown = final_estimator_and_input(estimator, X_top)
    images = _as_images(shown, getattr(final, "image_shape_", None))
    heatmaps = None
    if grad_cam:
        from .inspection import grad_cam as compute_grad_cam

        heatmaps = compute_grad_cam(estimator, X_top, target=targets)

    name = _namer(target_names)
    if n_cols is None:
        n_cols = int(np.ceil(np.sqrt(n)))
    n_cols = max(1, min(int(n_cols), n))
    n_rows = -(-n // n_cols)
    if fig is None and figsize is None:
        figsize = (2.0 * n_cols, 2.3 * n_rows)
    fig, axes = _grid(plt, n_rows, n_cols, figsize, fig)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.remove()
            continue
        i = order[k]
        if multilabel:
            j = shown_label[i]
            title = (
                f"{name(classes[j])} {proba[i, j]:.2f}\n"
                f"true {'has' if Y[i, j] else 'not'}\n"
                f"loss {losses[i]:.2f}"
            )
            wrong = predicted[k, j] != Y[i, j]
        else:
            p, t = pred_idx[i], true_idx[i]
            title = (
                f"pred {name(classes[p])} {proba[i, p]:.2f}\n"
                f"true {name(classes[t])} {proba[i, t]:.2f}\n"
                f"loss {losses[i]:.2f}"
            )
            wrong = p != t
        color = "tab:red" if wrong else None
        if heatmaps is None:
            _show(ax, images[k], title, color)
        else:
            _overlay(ax, images[k], heatmaps[k], title, color, alpha, "jet")
    return fig


def _label_probabilities(proba):
    """``predict_proba`` as one array: scikit-learn's multi-output classifiers
    (k-NN, forests) give a list of ``(n, 2)`` arrays, one per label; their
    positive columns are the label probabilities."""
    if isinstance(proba, list):
        return np.column_stack([np.asarray(p, np.float64)[:, -1] for p in proba])
    return np.asarray(proba, dtype=np.float64)


def _multilabel_losses(proba, classes, y, label):
    """Per image: the loss ranked on, the label it is for, and ``y`` checked."""
    Y = np.asarray(y)
    if proba.shape != Y.shape:
        raise ValueError(
            f"y is a 0/1 indicator of shape {Y.shape}, but predict_proba gives "
            f"shape {proba.shape}: one column per label of the estimator "
            f"({len(classes)} classes) is needed."
        )
    if Y.dtype.kind not in "biuf" or not np.isin(Y, (0, 1)).all():
        raise ValueError(
            "A 2-D y must be a 0/1 indicator of shape (n_samples, n_labels): 1 "
            "where the image has the label."
        )
    Y = Y.astype(np.int64)
    p = np.clip(proba, 1e-15, 1 - 1e-15)
    per_label = -np.where(Y == 1, np.log(p), np.log1p(-p))
    if label is None:
        shown = per_label.argmax(axis=1)
    else:
        where = np.flatnonzero(classes == label) if np.isscalar(label) else []
        if len(where) != 1:
            raise ValueError(
                f"label {label!r} is not a class of the estimator; its classes are "
                f"{classes.tolist()}."
            )
        shown = np.full(len(Y), where[0])
    return per_label[np.arange(len(Y)), shown], shown, Y


# --------------------------------------------------------------------------
# Training recipes: the learning-rate finder.


def plot_learning_rate_finder(result, ax=None):
    """Plot a learning-rate sweep: the training loss against the rate.

    The smoothed loss (and, faintly, each batch's own) on a logarithmic rate
    axis, with the suggested rate marked.

    Parameters
    ----------
    result : LearningRateFinderResult
        What :func:`litterlearn.neural_network.find_learning_rate` returned.
    ax : matplotlib Axes, default=None
        Draw on this axes; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes

    Raises
    ------
    ValueError
        If the result's arrays differ in length, hold values that are not
        finite, or a rate or the suggestion is not positive.
    """
    plt = _pyplot()
    try:
        rates = np.asarray(result.learning_rates, dtype=float)
        losses = np.asarray(result.losses, dtype=float)
        raw = np.asarray(result.raw_losses, dtype=float)
        suggestion = float(result.suggestion)
        rule = str(result.rule)
    except AttributeError as exc:
        raise TypeError(
            f"plot_learning_rate_finder takes the result of find_learning_rate; "
            f"got {type(result).__name__}."
        ) from exc
    if not len(rates) or rates.shape != losses.shape or rates.shape != raw.shape:
        raise ValueError(
            f"The result holds {len(rates)} rates, {len(losses)} losses and "
            f"{len(raw)} raw losses; it needs the same number (at least one) of each."
        )
    for name, values in (
        ("learning_rates", rates),
        ("losses", losses),
        ("raw_losses", raw),
    ):
        bad = values[~np.isfinite(values)]
        if bad.size:
            raise ValueError(
                f"The result's {name} hold {bad.size} value(s) that are not "
                f"finite (e.g. {bad[0]}); find_learning_rate records finite "
                f"values only."
            )
    if (rates <= 0).any() or not (np.isfinite(suggestion) and suggestion > 0):
        raise ValueError(
            f"The result's learning_rates and suggestion must be positive, as "
            f"rates are drawn on a logarithmic axis; got rates from "
            f"{rates.min():g} to {rates.max():g} and suggestion {suggestion:g}."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(rates, raw, color="tab:blue", alpha=0.25, label="batch loss")
    ax.plot(rates, losses, color="tab:blue", label="smoothed loss")
    ax.set_xscale("log")
    at = float(np.interp(np.log(suggestion), np.log(rates), losses))
    ax.axvline(suggestion, color="tab:red", linestyle="--", linewidth=1)
    ax.plot(
        [suggestion],
        [at],
        "o",
        color="tab:red",
        label=f"suggestion {suggestion:.2g} ({rule})",
    )
    # The smoothed curve sets the view; a blown-up batch loss may leave it.
    low, high = float(min(losses.min(), raw.min())), float(losses.max())
    margin = 0.05 * (high - low) or 0.05 * abs(high) or 0.05
    ax.set_ylim(low - margin, high + margin)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.legend()
    return ax


# --------------------------------------------------------------------------
# Training recipes: MixUp and CutMix.


@_fill_doc
def plot_mixed_batch(
    X,
    y,
    *,
    mixup=0.0,
    cutmix=0.0,
    n_images=8,
    image_shape=None,
    random_state=None,
    target_names=None,
    fig=None,
    figsize=None,
):
    """Show a batch (top row) and how MixUp or CutMix mixes it (bottom row).

    The first ``n_images`` images are one training batch. They are mixed as
    the estimators mix each training batch when their ``mixup`` or
    ``cutmix`` parameter is positive (the same function does it): every
    image with its partner in a random permutation of the batch, with one
    mixing ratio ``lam`` drawn from ``Beta(alpha, alpha)`` for the batch.
    Above each mixed image is its soft target, the share of each class in
    it (``lam`` for its own image's class, ``1 - lam`` for the partner's;
    for CutMix, the box's actual area).

    Parameters
    ----------
    X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
        Images; the first ``n_images`` (at least 2) form the batch.
    y : array-like of shape (n_samples,)
        Their labels; the classes of the soft targets are those of ``y``.
    mixup, cutmix : float, default=0.0
        The alpha of ``Beta(alpha, alpha)`` for each method, as the
        estimators' parameters of the same names; 0 turns one off. With
        both positive, a coin picks one for the batch. At least one must be
        positive.
    n_images : int, default=8
        Batch size shown (columns of the grid).
    %(image_shape)s
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the draws (method, ``lam``, permutation, CutMix's box).
    target_names : list of str or dict, default=None
        Class names shown instead of the labels (see :func:`plot_images`).
    %(fig)s

    Returns
    -------
    fig : matplotlib Figure
        ``2 * n_images`` axes: the batch, then the mixed batch.

    See Also
    --------
    plot_augmentations : Label-preserving augmentation of single images.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from litterlearn.plotting import plot_mixed_batch
    >>> X = np.random.default_rng(0).integers(0, 256, (4, 12 * 12), np.uint8)
    >>> fig = plot_mixed_batch(X, [0, 1, 0, 1], cutmix=1.0, n_images=4,
    ...                        random_state=0)
    >>> len(fig.axes)
    8
    """
    from .neural_network._knobs import mix_batch

    plt = _pyplot()
    if not mixup and not cutmix:
        raise ValueError(
            "plot_mixed_batch needs mixup > 0 or cutmix > 0 (the Beta alphas "
            "of the estimators' parameters); both are 0, nothing would be mixed."
        )
    images = _as_images(X, image_shape)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(images):
        raise ValueError(
            f"y must hold one label per image: {len(images)} images, y of shape "
            f"{y.shape}."
        )
    n = min(int(n_images), len(images))
    if n < 2:
        raise ValueError(
            f"plot_mixed_batch needs a batch of at least 2 images to mix; got {n}."
        )
    if isinstance(random_state, np.random.Generator):
        rng = random_state
    else:
        rng = np.random.default_rng(random_state)
    classes, codes = np.unique(y, return_inverse=True)
    batch, codes = images[:n], codes[:n]
    onehot = np.eye(len(classes), dtype=np.float32)[codes]
    mixed, targets, _ = mix_batch(batch, onehot, None, rng, mixup=mixup, cutmix=cutmix)
    name = _namer(target_names)
    fig, axes = _grid(plt, 2, n, figsize, fig, title_lines=2)
    for i in range(n):
        _show(axes[0, i], batch[i], name(classes[codes[i]]))
        order = np.argsort(-targets[i])
        shares = [k for k in order[:2] if targets[i, k] >= 0.005]
        title = "\n".join(f"{targets[i, k]:.2f} {name(classes[k])}" for k in shares)
        _show(axes[1, i], mixed[i], title)
    return fig
