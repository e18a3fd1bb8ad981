"""Augmenter: an imbalanced-learn sampler that adds augmented copies of images.

Every transformation is vectorised over the batch in NumPy: the geometric ones
(rotation, shift, zoom) build one inverse-mapped sampling grid per image and
read it with bilinear interpolation, so that a whole epoch of small images is
augmented in well under a second and the same object can augment on the fly.
"""

from __future__ import annotations

import math
import numbers
from numbers import Integral, Real

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_sampling_strategy, check_target_type
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ..utils._atomic import all_or_nothing
from ..utils._docstrings import fill_doc
from ..utils._images import (
    as_image_dtype,
    check_indicator,
    check_label_values,
    images_to_rows,
    is_indicator_shaped,
    rows_to_images,
    validate_images,
)
from ..utils._sklearn_compat import Interval, StrOptions

__all__ = ["Augmenter"]

# Random erasing draws the erased area and aspect ratio as in Zhong et al.,
# "Random Erasing Data Augmentation" (AAAI 2020): area fraction in
# [0.02, 0.4], aspect ratio in [0.3, 1 / 0.3] (log-uniform).
_ERASE_AREA = (0.02, 0.4)
_ERASE_ASPECT = (0.3, 1 / 0.3)
# Same-class mixing gives the partner image a weight in [0, 0.5], so the
# original always dominates.
_MIX_WEIGHT = (0.0, 0.5)
# Unsharp masking subtracts a Gaussian blur of this sigma (pixels).
_SHARPEN_SIGMA = 1.0
# Images are processed in chunks of about this many float32 values, which
# bounds the temporary memory of the sampling grids.
_CHUNK_VALUES = 1 << 22


def _as_generator(random_state):
    """A numpy Generator from an int, RandomState, Generator or None."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, bool
    ):
        return np.random.default_rng(int(random_state))
    rs = check_random_state(random_state)
    return np.random.default_rng(rs.randint(np.iinfo(np.int32).max))


def _value_range(value, name, *, symmetric_about, positive=False):
    """``(low, high)`` of a transformation parameter.

    A number ``v`` means ``[center - v, center + v]``; a pair is the range.
    """
    if isinstance(value, Real):
        low, high = symmetric_about - value, symmetric_about + value
    else:
        try:
            low, high = value
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be a number or a pair (low, high); got {value!r}."
            ) from None
        if not (isinstance(low, Real) and isinstance(high, Real)) or low > high:
            raise ValueError(
                f"{name} as a pair must be two numbers (low, high) with "
                f"low <= high; got {value!r}."
            )
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{name} must be finite; got {value!r}.")
    if positive and low <= 0:
        raise ValueError(
            f"{name} must give factors > 0; got the range ({low}, {high})."
        )
    return float(low), float(high)


def _map_index(index, size, mode):
    """Map integer sample positions onto ``0..size-1``; also a validity mask."""
    if mode == "nearest":
        return np.clip(index, 0, size - 1), None
    lo, hi = (int(index.min()), int(index.max())) if index.size else (0, 0)
    if mode == "wrap":
        if lo >= -size and hi < 2 * size:  # one period either side: no modulo
            return np.where(index < 0, index + size, index) - np.where(
                index >= size, size, 0
            ), None
        return np.mod(index, size), None
    if mode == "reflect":  # d c b a | a b c d | d c b a (scipy's "reflect")
        if lo < -size or hi >= 2 * size:
            index = np.mod(index, 2 * size)
        index = np.where(index < 0, -1 - index, index)
        return np.where(index >= size, 2 * size - 1 - index, index), None
    valid = (index >= 0) & (index < size)  # constant
    return np.clip(index, 0, size - 1), valid


def _warp_affine(images, angle, scale, shift_r, shift_c, fill_mode, fill_value):
    """Rotate (degrees, counter-clockwise), zoom and shift each image.

    The forward map of output pixel ``p`` is ``p = s R (q - c) + c + t`` about
    the image centre ``c``; each output pixel reads the input at the inverse
    image ``q`` of its position, with bilinear interpolation.
    """
    n, h, w, ch = images.shape
    theta = np.deg2rad(angle)[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    inv_s = 1.0 / scale[:, None, None]
    cr, cc = (h - 1) / 2.0, (w - 1) / 2.0
    r = np.arange(h, dtype=np.float64)[None, :, None] - cr - shift_r[:, None, None]
    c = np.arange(w, dtype=np.float64)[None, None, :] - cc - shift_c[:, None, None]
    # Each coordinate is a sum of a per-row and a per-column term: one
    # full-size operation per grid.
    src_r = (cos * inv_s * r + cr) + sin * inv_s * c
    src_c = (cos * inv_s * c + cc) - sin * inv_s * r
    # Positions within 1e-6 of a pixel centre count as on it, so that exact
    # quarter turns and whole-pixel shifts are exact and not interpolated.
    r0, c0 = np.floor(src_r + 1e-6), np.floor(src_c + 1e-6)
    fr, fc = (src_r - r0).astype(np.float32), (src_c - c0).astype(np.float32)
    fr, fc = np.where(fr < 1e-6, 0, fr), np.where(fc < 1e-6, 0, fc)
    r0, c0 = r0.astype(np.intp), c0.astype(np.intp)
    flat = images.reshape(n * h * w, ch)
    base = (np.arange(n, dtype=np.intp) * (h * w))[:, None, None]
    out = np.zeros_like(images)
    corners = (
        (0, 0, (1 - fr) * (1 - fc)),
        (0, 1, (1 - fr) * fc),
        (1, 0, fr * (1 - fc)),
        (1, 1, fr * fc),
    )
    # The row and column maps of the two neighbours, computed once each;
    # the rows already as offsets into ``flat``.
    rows = [_map_index(r0 + d, h, fill_mode) for d in (0, 1)]
    rows = [(base + rr * w, valid) for rr, valid in rows]
    cols = [_map_index(c0 + d, w, fill_mode) for d in (0, 1)]
    for dr, dc, weight in corners:
        if not weight.any():
            continue
        rr, valid_r = rows[dr]
        cc_, valid_c = cols[dc]
        values = flat[(rr + cc_).ravel()].reshape(n, h, w, ch)
        if fill_mode == "constant":
            valid = (valid_r & valid_c)[..., None]
            values = np.where(valid, values, np.float32(fill_value))
        weight = weight[..., None] if ch > 1 else weight.reshape(values.shape)
        values *= weight
        out += values
    return out


def _gaussian_blur(images, sigma):
    """Separable Gaussian blur with one sigma (pixels) per image, reflect edges."""
    radius = int(np.ceil(3 * float(sigma.max())))
    if radius == 0:
        return images
    offsets = np.arange(-radius, radius + 1, dtype=np.float32)
    s = np.maximum(sigma, 1e-3).astype(np.float32)[:, None]
    kernel = np.exp(-0.5 * (offsets[None, :] / s) ** 2)
    kernel /= kernel.sum(axis=1, keepdims=True)
    kernel = kernel[:, :, None, None, None]
    for axis in (1, 2):
        size = images.shape[axis]
        pad = [(0, 0)] * 4
        pad[axis] = (radius, radius)
        padded = np.pad(images, pad, mode="symmetric")
        out = np.zeros_like(images)
        for j in range(2 * radius + 1):
            window = (
                padded[:, j : j + size] if axis == 1 else padded[:, :, j : j + size]
            )
            out += kernel[:, j] * window
        images = out
    return images


class Augmenter(BaseOverSampler):
    """Add randomly transformed copies of images, to balance or enlarge a set.

    An imbalanced-learn over-sampler for image rows: ``fit_resample(X, y)``
    returns the original rows first, then augmented copies. By default it
    balances the classes by augmenting the minority class(es), as
    :class:`~imblearn.over_sampling.RandomOverSampler` would by duplicating.
    The same object given to an estimator's ``augmentation`` parameter, or
    called through :meth:`augment_batch`, augments on the fly instead.

    With a multi-label ``y`` (a 0/1 indicator matrix, one column per
    label), balancing is per label: images holding the labels furthest
    below their target are copied (preferring images without labels that
    are already frequent enough) until each label's positives reach the
    target, by default the count of the most frequent label. A copy carries
    all of its source's labels, so a label that co-occurs with rare ones can
    end above the target. ``sampling_strategy`` then names label columns
    (see ``sampling_strategy_``). Where copies of images are not wanted,
    ``class_weight="balanced"`` on the estimator weighs the labels instead.
    A one-hot ``y`` (exactly one label per row) is a multi-label indicator
    too, as scikit-learn's ``type_of_target`` and the estimators read it (an
    estimator fits it with one sigmoid per label), and comes back with all
    its columns, even one no row holds. Balancing its labels is balancing
    classes, and gives the very images the class labels
    (``y.argmax(axis=1)``) give.

    The defaults are mild and label-preserving: a random horizontal flip,
    rotations up to 10 degrees and shifts up to 10% of the size. Everything
    that changes content more (vertical flip, zoom, colour, blur, sharpen,
    erasing, mixing) is off until asked for. Transformations are applied in
    the order: mixing, flips, rotation/zoom/shift (one affine warp),
    contrast, brightness, blur, sharpen, erasing.

    Values keep their dtype and range: uint8 stays uint8 in 0..255, float
    stays float32. Geometric transformations, blur, mixing and erasing never
    leave the range of the input batch; contrast, brightness and sharpen
    are clipped to the dtype's range, which for floats is [0, 1] widened to
    the batch's own minimum and maximum (so standardized data keep theirs).

    Parameters
    ----------
    %(sampling_strategy)s

        Sources of the augmented copies are drawn evenly: each image of a
        class is used either ``floor(k / n)`` or ``ceil(k / n)`` times for
        ``k`` new images from ``n`` originals.

    n_copies : int, default=0
        Augmented copies of *every* image, made before balancing. With
        ``n_copies=k`` the set first grows to ``k + 1`` times its size with
        the class proportions kept; ``sampling_strategy`` is then applied to
        the enlarged counts (a float or string strategy balances it as
        before; a dict gives final counts). Pass ``sampling_strategy={}`` to
        only make the copies and keep the proportions.
    horizontal_flip : bool, default=True
        Flip each image left-right with probability 0.5.
    vertical_flip : bool, default=False
        Flip each image upside down with probability 0.5.
    rotation : float or (float, float), default=10.0
        Rotation angle in degrees, counter-clockwise, drawn uniformly from
        ``[-rotation, rotation]`` (or the given range). 0 disables.
    shift : float or (float, float), default=0.1
        Translation as a fraction of the height and width, drawn uniformly
        from ``[-shift, shift]`` for each axis. 0 disables.
    zoom : float or (float, float), default=0.0
        Scale factor drawn from ``[1 - zoom, 1 + zoom]`` (or the given range
        of factors); factors above 1 enlarge the content. 0 disables.
    brightness : float or (float, float), default=0.0
        Value added to all pixels, as a fraction of the value range (255 for
        uint8, 1 for floats in [0, 1]), drawn from ``[-brightness,
        brightness]``. 0 disables.
    contrast : float or (float, float), default=0.0
        Factor drawn from ``[1 - contrast, 1 + contrast]`` by which each
        channel's deviation from its mean is scaled. 0 disables.
    blur : float, default=0.0
        Largest Gaussian blur sigma in pixels; each image gets a sigma drawn
        from ``[0, blur]``. 0 disables.
    sharpen : float, default=0.0
        Largest unsharp-masking amount; each image gets
        ``x + a (x - gaussian(x, sigma=1))`` with ``a`` drawn from
        ``[0, sharpen]``. 0 disables.
    erasing : float, default=0.0
        Probability that an image gets a random rectangle (2% to 40% of its
        area) replaced by its mean colour (random erasing). 0 disables.
    mixing : float, default=0.0
        Probability that an image is blended with another image *of the same
        class* (mixup within a class, so the label stays right); the partner
        weighs between 0 and 0.5. Needs ``y``. With a multi-label ``y``,
        partners hold exactly the same labels (an image alone with its set
        of labels is blended with itself, i.e. unchanged). 0 disables.
    fill_mode : {"reflect", "nearest", "constant", "wrap"}, default="reflect"
        How points outside the image are filled by rotation, shift and zoom.
    fill_value : float, default=0.0
        The value outside the image for ``fill_mode="constant"``, in the
        images' scale (e.g. 0..255 for uint8).
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of the rows; one entry may be -1. None
        infers it from the input (see the image contract).
    random_state : int, RandomState instance or None, default=None
        Seeds the transformations of :meth:`fit_resample`, so that two calls
        with the same seed give the same rows. On the fly (an estimator's
        ``augmentation``), the estimator's ``random_state`` seeds them instead.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of augmented images the balancing step adds per class (after
        the ``n_copies`` copies, if any). With a multi-label ``y``: per
        label column to be raised, the positives it lacked; the copies that
        supply them may hold other labels too, so their number can be
        smaller than the sum.
    n_features_in_ : int
        Number of features (``H*W*C``) of the rows seen in ``fit_resample``.
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in ``fit_resample``.

    See Also
    --------
    imblearn.over_sampling.RandomOverSampler : Balance by duplicating rows.
    imblearn.pipeline.Pipeline : A pipeline that applies samplers at fit only.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.preprocessing import Augmenter
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(10, 8 * 8), dtype=np.uint8)
    >>> y = np.array([0] * 7 + [1] * 3)
    >>> X_res, y_res = Augmenter(random_state=0).fit_resample(X, y)
    >>> X_res.shape, X_res.dtype, np.bincount(y_res)
    ((14, 64), dtype('uint8'), array([7, 7]))
    >>> bool((X_res[:10] == X).all())  # the originals come first
    True
    >>> X_res, y_res = Augmenter(n_copies=2, random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res)  # 3 times the set, then balanced
    array([21, 21])

    A multi-label target (here 3 labels) is balanced per label:

    >>> Y = np.array([[1, 0, 0]] * 6 + [[1, 1, 0]] * 2 + [[0, 0, 1]] * 2)
    >>> Y.sum(axis=0)
    array([8, 2, 2])
    >>> X_res, Y_res = Augmenter(random_state=0).fit_resample(X, Y)
    >>> Y_res.sum(axis=0)  # label 1's copies hold label 0 as well
    array([14,  8,  8])
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "n_copies": [Interval(Integral, 0, None, closed="left")],
        "horizontal_flip": ["boolean"],
        "vertical_flip": ["boolean"],
        "rotation": [Interval(Real, 0, 180, closed="both"), tuple, list],
        "shift": [Interval(Real, 0, 1, closed="both"), tuple, list],
        "zoom": [Interval(Real, 0, 1, closed="left"), tuple, list],
        "brightness": [Interval(Real, 0, 1, closed="both"), tuple, list],
        "contrast": [Interval(Real, 0, 1, closed="both"), tuple, list],
        "blur": [Interval(Real, 0, None, closed="left")],
        "sharpen": [Interval(Real, 0, None, closed="left")],
        "erasing": [Interval(Real, 0, 1, closed="both")],
        "mixing": [Interval(Real, 0, 1, closed="both")],
        "fill_mode": [StrOptions({"reflect", "nearest", "constant", "wrap"})],
        "fill_value": [Real],
        "image_shape": [None, tuple, list],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        n_copies=0,
        horizontal_flip=True,
        vertical_flip=False,
        rotation=10.0,
        shift=0.1,
        zoom=0.0,
        brightness=0.0,
        contrast=0.0,
        blur=0.0,
        sharpen=0.0,
        erasing=0.0,
        mixing=0.0,
        fill_mode="reflect",
        fill_value=0.0,
        image_shape=None,
        random_state=None,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.n_copies = n_copies
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rotation = rotation
        self.shift = shift
        self.zoom = zoom
        self.brightness = brightness
        self.contrast = contrast
        self.blur = blur
        self.sharpen = sharpen
        self.erasing = erasing
        self.mixing = mixing
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.image_shape = image_shape
        self.random_state = random_state

    # -- imbalanced-learn's template --------------------------------------

    @all_or_nothing
    def fit_resample(self, X, y, **params):
        """Return the original rows followed by augmented copies.

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Images, uint8 (0..255) or float (already scaled).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Labels; none may be missing (None or NaN). A 2-D 0/1 indicator
            matrix is a multi-label target, balanced per label.
        **params : dict
            Ignored; for imbalanced-learn's API.

        Returns
        -------
        X_resampled : ndarray of shape (n_samples_new, H*W*C)
            The original rows first, then the augmented ones.
        y_resampled : ndarray of shape (n_samples_new,) or (n_samples_new, n_labels)
            Their labels (a copy has its source's).
        """
        if y is not None:
            check_label_values(y)  # before imbalanced-learn's own check
        # Any 2-D y of several columns (one-hot included) is a multi-label
        # indicator, as scikit-learn's type_of_target and the estimators
        # read it: its columns always come back.
        multilabel = y is not None and is_indicator_shaped(y)
        one_label_per_row = multilabel and _one_label_per_row(y)
        if callable(self.sampling_strategy) and not multilabel:
            counts = self.sampling_strategy(np.asarray(y))
            if not isinstance(counts, dict):
                raise TypeError(
                    f"A callable sampling_strategy must return a dict "
                    f"{{class: number of samples}}; {self.sampling_strategy!r} "
                    f"returned {counts!r:.80}."
                )
        # Overflow is checked below, once, with a message saying what to do.
        with np.errstate(over="ignore", invalid="ignore"):
            if one_label_per_row:
                # Per-label balancing of rows holding one label each is
                # per-class balancing: done as for the labels themselves
                # (imbalanced-learn's one-vs-all contract), every column kept.
                Y = np.asarray(y.toarray() if hasattr(y, "toarray") else y)
                X_res, labels = super().fit_resample(X, Y.argmax(axis=1), **params)
                y_res = np.eye(Y.shape[1], dtype=Y.dtype)[labels]
            elif multilabel:
                # imbalanced-learn refuses multi-label targets: our own path.
                X_res, y_res = self._fit_resample_indicator(X, y)
            else:
                X_res, y_res = super().fit_resample(X, y, **params)
        new_rows = np.asarray(X_res)[_n_samples(X) :]
        if new_rows.dtype.kind == "f" and not np.isfinite(new_rows).all():
            raise ValueError(
                "The augmented images hold inf or NaN: brightness or contrast "
                "pushed float values past float32's range. Floats are taken as "
                "already scaled: scale the images (e.g. to [0, 1]) first."
            )
        return X_res, y_res

    def _check_X_y(self, X, y):
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        rows, shape = validate_images(self, X, reset=True, image_shape=self.image_shape)
        y = column_or_1d(y)
        check_consistent_length(rows, y)
        self.image_shape_ = shape
        self._ranges()  # fail on bad ranges before any work
        return rows, y, binarize_y

    def _fit_resample(self, X, y):
        rng = _as_generator(self.random_state)
        n = X.shape[0]
        sources = []
        if self.n_copies:
            sources.append(np.tile(np.arange(n), self.n_copies))
            # Balance the enlarged set: recompute the strategy on its counts.
            self.sampling_strategy_ = check_sampling_strategy(
                self.sampling_strategy, np.tile(y, self.n_copies + 1), "over-sampling"
            )
        for cls, n_new in self.sampling_strategy_.items():
            if n_new <= 0:
                continue
            members = np.flatnonzero(y == cls)
            # Every member is used floor(n_new/m) or ceil(n_new/m) times.
            rounds = -(-n_new // len(members))
            picks = np.concatenate([rng.permutation(members) for _ in range(rounds)])
            sources.append(picks[:n_new])
        if not sources:
            return X.copy(), y.copy()
        sources = np.concatenate(sources).astype(np.intp)
        images = rows_to_images(X, self.image_shape_)
        augmented = self._augment(images, y, sources, rng)
        X_res = np.concatenate([X, images_to_rows(augmented)])
        y_res = np.concatenate([y, y[sources]])
        return X_res, y_res

    def _fit_resample_indicator(self, X, Y):
        """Per-label over-sampling of a multi-label (0/1 indicator) target."""
        self._validate_params()
        if hasattr(Y, "toarray"):
            Y = Y.toarray()
        Y_out = np.asarray(Y)
        Y = check_indicator(Y_out, input_name="y")
        rows, shape = validate_images(self, X, reset=True, image_shape=self.image_shape)
        check_consistent_length(rows, Y)
        self._ranges()  # fail on bad ranges before any work
        rng = _as_generator(self.random_state)
        n = rows.shape[0]
        sources = [np.tile(np.arange(n), self.n_copies)] if self.n_copies else []
        counts = Y.sum(axis=0).astype(np.int64) * (self.n_copies + 1)
        targets = self._label_targets(Y, counts)
        sources.append(_oversample_labels(Y, counts, targets, rng))
        sources = np.concatenate(sources).astype(np.intp)
        self.image_shape_ = shape
        self.sampling_strategy_ = {
            label: int(max(0, target - counts[label]))
            for label, target in targets.items()
        }
        if not len(sources):
            return rows.copy(), Y_out.copy()
        images = rows_to_images(rows, shape)
        augmented = self._augment(images, Y, sources, rng)
        return (
            np.concatenate([rows, images_to_rows(augmented)]),
            np.concatenate([Y_out, Y_out[sources]]),
        )

    def _label_targets(self, Y, counts):
        """{label column: positives wanted}, from ``sampling_strategy``.

        The strings and floats read as imbalanced-learn's, with labels for
        classes: "auto"/"not majority" raise every label to the count of the
        most frequent one, "minority" only the rarest, "not minority" all but
        the rarest, "all" every one; a float ``r`` raises each label to at
        least ``r`` times the most frequent count; a dict maps label columns
        to the positives they should reach; a callable gets ``Y`` (after the
        ``n_copies`` copies) and returns such a dict. Labels without any
        positive cannot be over-sampled and are left out.
        """
        n_labels = Y.shape[1]
        present = np.flatnonzero(counts > 0)
        if not len(present):
            return {}
        top = int(counts.max())
        low = int(counts[present].min())
        strategy = self.sampling_strategy
        if callable(strategy):
            enlarged = np.tile(Y, (self.n_copies + 1, 1)).astype(np.int64)
            strategy = strategy(enlarged)
            if not isinstance(strategy, dict):
                raise TypeError(
                    f"A callable sampling_strategy must return a dict "
                    f"{{label column: number of positives}}; "
                    f"{self.sampling_strategy!r} returned {strategy!r:.80}."
                )
        if isinstance(strategy, str):
            chosen = {
                "auto": counts[present] < top,
                "not majority": counts[present] < top,
                "all": np.ones(len(present), dtype=bool),
                "minority": counts[present] == low,
                "not minority": counts[present] > low,
            }.get(strategy)
            if chosen is None:
                raise ValueError(
                    f"sampling_strategy={strategy!r} is not one of 'auto', 'all', "
                    f"'minority', 'not minority', 'not majority'."
                )
            return {int(label): top for label in present[chosen]}
        if isinstance(strategy, Real):
            if not 0 < strategy <= 1:
                raise ValueError(
                    f"A float sampling_strategy is the wanted ratio of each "
                    f"label's positives to the most frequent label's, in (0, 1]; "
                    f"got {strategy}."
                )
            wanted = math.ceil(strategy * top)
            return {int(label): wanted for label in present if counts[label] < wanted}
        if isinstance(strategy, dict):
            targets = {}
            for label, wanted in strategy.items():
                if not isinstance(label, Integral) or not 0 <= label < n_labels:
                    raise ValueError(
                        f"With a multi-label y, sampling_strategy's keys are "
                        f"label columns 0..{n_labels - 1}; got {label!r}."
                    )
                if not isinstance(wanted, Integral) or wanted < counts[label]:
                    raise ValueError(
                        f"sampling_strategy asks label {label} for {wanted!r} "
                        f"positives, but it has {counts[label]} already: an "
                        f"over-sampler only adds (give a count >= {counts[label]})."
                    )
                if wanted > counts[label] and counts[label] == 0:
                    raise ValueError(
                        f"sampling_strategy asks label {label} for {wanted} "
                        f"positives, but no image holds it: there is nothing "
                        f"to augment."
                    )
                if wanted > counts[label]:
                    targets[int(label)] = int(wanted)
            return targets
        raise ValueError(
            f"sampling_strategy={strategy!r} cannot be used with a multi-label y."
        )

    # -- on the fly ---------------------------------------------------------

    def augment_batch(self, images, y=None, random_state=None):
        """Return a randomly augmented copy of a batch of images.

        This is the on-the-fly entry point: an estimator given
        ``augmentation=Augmenter(...)`` calls it for every training batch of
        every epoch, with a generator seeded from the estimator's own
        ``random_state``, the epoch and the batch. Every image is transformed
        once, with fresh random parameters (so duplicated rows, e.g. from an
        over-sampler, get different transformations); nothing is fitted, and
        ``sampling_strategy``, ``n_copies`` and ``random_state`` play no part.

        Parameters
        ----------
        images : ndarray of shape (n, H, W, C) or (n, H, W)
            uint8 (0..255) or float images.
        y : array-like of shape (n,) or (n, n_labels), default=None
            Labels; needed only for ``mixing`` (partners come from the same
            class within the batch). Rows of a 2-D array (multi-label
            indicator rows) are labels: partners have identical rows.
        random_state : int, RandomState, Generator or None, default=None
            Randomness for this call. Pass a generator that advances between
            calls to get new transformations each epoch.

        Returns
        -------
        augmented : ndarray of the same shape and dtype (float input becomes
            float32)
        """
        self._validate_params()
        images = np.asarray(images)
        if images.ndim not in (3, 4):
            raise ValueError(
                f"augment_batch expects images of shape (n, H, W) or "
                f"(n, H, W, C); got an array of shape {images.shape}. Use "
                f"fit_resample for rows."
            )
        original_shape = images.shape
        images = as_image_dtype(images)
        if images.ndim == 3:
            images = images[..., None]
        if y is not None:
            y = check_label_values(y)
            if not is_indicator_shaped(y):
                y = column_or_1d(y)
            check_consistent_length(images, y)
        self._ranges()
        rng = _as_generator(random_state)
        out = self._augment(images, y, np.arange(len(images)), rng)
        return out.reshape(original_shape)

    # -- the transformations ----------------------------------------------

    def _ranges(self):
        """The validated ranges of the range-valued parameters."""
        ranges = {
            "rotation": _value_range(self.rotation, "rotation", symmetric_about=0.0),
            "shift": _value_range(self.shift, "shift", symmetric_about=0.0),
            "zoom": _value_range(self.zoom, "zoom", symmetric_about=1.0, positive=True),
            "brightness": _value_range(
                self.brightness, "brightness", symmetric_about=0.0
            ),
            "contrast": _value_range(self.contrast, "contrast", symmetric_about=1.0),
        }
        if ranges["contrast"][0] < 0:
            raise ValueError(
                f"contrast must give factors >= 0; got the range {ranges['contrast']}."
            )
        for name in ("blur", "sharpen", "fill_value"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number; got {value!r}.")
        return ranges

    def _augment(self, pool, pool_y, sources, rng):
        """Augment ``pool[sources]``; mixing partners come from ``pool``.

        Returns an array ``(len(sources), H, W, C)`` of the pool's dtype.
        """
        m = len(sources)
        _, h, w, ch = pool.shape
        ranges = self._ranges()
        active = {
            name: rng_ != ((1.0, 1.0) if name in ("zoom", "contrast") else (0.0, 0.0))
            for name, rng_ in ranges.items()
        }
        # Draw every random parameter up front, in a fixed order.
        p = {}
        if self.mixing > 0:
            if pool_y is None:
                raise ValueError(
                    "mixing > 0 blends images of the same class and needs y; "
                    "pass y to augment_batch, or set mixing=0."
                )
            p["mix"] = rng.random(m) < self.mixing
            p["mix_weight"] = rng.uniform(*_MIX_WEIGHT, m).astype(np.float32)
            p["mix_partner"] = self._same_class_partners(pool_y, sources, rng)
        if self.horizontal_flip:
            p["hflip"] = rng.random(m) < 0.5
        if self.vertical_flip:
            p["vflip"] = rng.random(m) < 0.5
        warp = active["rotation"] or active["shift"] or active["zoom"]
        if warp:
            p["angle"] = rng.uniform(*ranges["rotation"], m)
            p["shift_r"] = rng.uniform(*ranges["shift"], m) * h
            p["shift_c"] = rng.uniform(*ranges["shift"], m) * w
            p["scale"] = rng.uniform(*ranges["zoom"], m)
        if active["contrast"]:
            p["contrast"] = rng.uniform(*ranges["contrast"], m).astype(np.float32)
        if active["brightness"]:
            p["brightness"] = rng.uniform(*ranges["brightness"], m).astype(np.float32)
        if self.blur > 0:
            p["blur"] = rng.uniform(0, self.blur, m)
        if self.sharpen > 0:
            p["sharpen"] = rng.uniform(0, self.sharpen, m).astype(np.float32)
        if self.erasing > 0:
            p["erase"] = rng.random(m) < self.erasing
            area = rng.uniform(*_ERASE_AREA, m) * h * w
            aspect = np.exp(rng.uniform(*np.log(_ERASE_ASPECT), m))
            eh = np.clip(np.rint(np.sqrt(area * aspect)), 1, h).astype(np.intp)
            ew = np.clip(np.rint(np.sqrt(area / aspect)), 1, w).astype(np.intp)
            p["erase_r0"] = (rng.random(m) * (h - eh + 1)).astype(np.intp)
            p["erase_c0"] = (rng.random(m) * (w - ew + 1)).astype(np.intp)
            p["erase_h"], p["erase_w"] = eh, ew

        # The value ranges: the batch's own, and the dtype's for colour ops.
        is_uint8 = pool.dtype == np.uint8
        batch_lo = float(pool.min()) if pool.size else 0.0
        batch_hi = float(pool.max()) if pool.size else 0.0
        dtype_lo, dtype_hi = (
            (0.0, 255.0) if is_uint8 else (min(0.0, batch_lo), max(1.0, batch_hi))
        )
        lo, hi = batch_lo, batch_hi
        if warp and self.fill_mode == "constant":
            fill = float(np.clip(self.fill_value, dtype_lo, dtype_hi))
            lo, hi = min(lo, fill), max(hi, fill)
        if active["contrast"] or active["brightness"] or self.sharpen > 0:
            lo, hi = dtype_lo, dtype_hi

        out = np.empty((m, h, w, ch), dtype=pool.dtype)
        step = max(1, _CHUNK_VALUES // max(1, h * w * ch))
        for start in range(0, m, step):
            sl = slice(start, min(start + step, m))
            chunk = {k: v[sl] for k, v in p.items()}
            x = pool[sources[sl]].astype(np.float32)
            x = self._apply(x, pool, chunk, warp, active, dtype_lo, dtype_hi)
            np.clip(x, lo, hi, out=x)
            if is_uint8:
                np.rint(x, out=x)
            out[sl] = x
        return out

    @staticmethod
    def _same_class_partners(pool_y, sources, rng):
        """For each source, a random pool index with the same label.

        Rows of a 2-D (multi-label) ``pool_y`` are labels: partners hold
        exactly the same labels.
        """
        axis = 0 if np.ndim(pool_y) == 2 else None
        classes, pool_codes = np.unique(pool_y, axis=axis, return_inverse=True)
        pool_codes = pool_codes.ravel()
        order = np.argsort(pool_codes, kind="stable")
        counts = np.bincount(pool_codes, minlength=len(classes))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        codes = pool_codes[sources]
        offset = (rng.random(len(sources)) * counts[codes]).astype(np.intp)
        return order[starts[codes] + offset]

    def _apply(self, x, pool, p, warp, active, dtype_lo, dtype_hi):
        """Apply the drawn transformations to one float32 chunk ``x``."""
        if "mix" in p and p["mix"].any():
            sel = np.flatnonzero(p["mix"])
            lam = p["mix_weight"][sel][:, None, None, None]
            partner = pool[p["mix_partner"][sel]].astype(np.float32)
            x[sel] = (1 - lam) * x[sel] + lam * partner
        if "hflip" in p:
            x[p["hflip"]] = x[p["hflip"]][:, :, ::-1]
        if "vflip" in p:
            x[p["vflip"]] = x[p["vflip"]][:, ::-1]
        if warp:
            x = _warp_affine(
                x,
                p["angle"],
                p["scale"],
                p["shift_r"],
                p["shift_c"],
                self.fill_mode,
                np.clip(self.fill_value, dtype_lo, dtype_hi),
            )
        if active["contrast"]:
            mean = x.mean(axis=(1, 2), keepdims=True)
            x = (x - mean) * p["contrast"][:, None, None, None] + mean
            np.clip(x, dtype_lo, dtype_hi, out=x)
        if active["brightness"]:
            delta = p["brightness"] * np.float32(dtype_hi - dtype_lo)
            x = x + delta[:, None, None, None]
            np.clip(x, dtype_lo, dtype_hi, out=x)
        if "blur" in p:
            x = _gaussian_blur(x, p["blur"])
        if "sharpen" in p:
            smooth = _gaussian_blur(x, np.full(len(x), _SHARPEN_SIGMA))
            x = x + p["sharpen"][:, None, None, None] * (x - smooth)
            np.clip(x, dtype_lo, dtype_hi, out=x)
        if "erase" in p and p["erase"].any():
            h, w = x.shape[1:3]
            rows = np.arange(h)[None, :, None]
            cols = np.arange(w)[None, None, :]
            r0, c0 = p["erase_r0"][:, None, None], p["erase_c0"][:, None, None]
            mask = (
                p["erase"][:, None, None]
                & (rows >= r0)
                & (rows < r0 + p["erase_h"][:, None, None])
                & (cols >= c0)
                & (cols < c0 + p["erase_w"][:, None, None])
            )
            fill = x.mean(axis=(1, 2), keepdims=True)
            x = np.where(mask[..., None], fill, x)
        return x

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


# imbalanced-learn's own text for sampling_strategy, written once there (its
# ``Substitution`` uses str.format, which the braces in our docstring defeat).
Augmenter = fill_doc(sampling_strategy=BaseOverSampler._sampling_strategy_docstring)(
    Augmenter
)


def _one_label_per_row(y):
    """Whether every row of a 2-D 0/1 array holds exactly one 1."""
    y = y.toarray() if hasattr(y, "toarray") else np.asarray(y)
    try:
        return bool(np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all())
    except TypeError:
        return False


def _oversample_labels(Y, counts, targets, rng):
    """Sources of copies that raise each label's positives to its target.

    Greedy: the label furthest below its target gets a copy of one of its
    images, chosen among those holding the fewest labels that are already
    at or above their target (so frequent labels grow as little as
    possible), then among the least used so far (so sources are used
    evenly), then at random. A copy carries all of its source's labels, so
    labels that co-occur with rare ones can end above their target.

    Avoiding the frequent labels comes before using every source evenly:
    on TACO's supercategories, the other order (or copying random holders
    of each label) leaves the frequent labels at up to almost four times
    the target, this one within a third of it; the price is that a rare
    label's few images that hold nothing frequent are copied more often
    than the rest.

    Parameters
    ----------
    Y : ndarray of bool, shape (n_samples, n_labels)
    counts : ndarray of int, shape (n_labels,)
        Positives of each label before these copies.
    targets : dict
        {label column: positives wanted}.
    rng : numpy Generator

    Returns
    -------
    sources : ndarray of int
        Row of ``Y`` each copy is made from.
    """
    n_samples, n_labels = Y.shape
    deficit = np.zeros(n_labels, dtype=np.int64)
    for label, target in targets.items():
        deficit[label] = target - counts[label]
    if not (deficit > 0).any():
        return np.empty(0, dtype=np.intp)
    members = [np.flatnonzero(Y[:, label]) for label in range(n_labels)]
    Yi = Y.astype(np.int64)
    uses = np.zeros(n_samples, dtype=np.int64)
    sources = []
    while (deficit > 0).any():
        label = int(np.argmax(deficit))
        pool = members[label]
        harm = Yi[pool] @ (deficit <= 0)
        pool = pool[harm == harm.min()]
        pool = pool[uses[pool] == uses[pool].min()]
        # All of this pool can be used once before harm or uses change,
        # unless a label it adds to reaches its target first.
        take = min(len(pool), int(deficit[label]))
        held = Yi[pool].sum(axis=0)
        needed = (held > 0) & (deficit > 0)
        take = max(1, min(take, int(deficit[needed].min())))
        chosen = rng.choice(pool, take, replace=False) if take < len(pool) else pool
        uses[chosen] += 1
        deficit -= Yi[chosen].sum(axis=0)
        sources.append(chosen)
    return rng.permutation(np.concatenate(sources))


def _n_samples(X):
    """Number of samples of an array-like (a DataFrame or a list too)."""
    return X.shape[0] if hasattr(X, "shape") else len(X)
