"""ImageResizer: decode image files (or resize arrays) to fixed-size rows.

How a file becomes a row, and why:

1. ``Image.open``; for JPEGs a *draft* request asks libjpeg to decode at the
   smallest DCT scale (1/1, 1/2, 1/4 or 1/8) that still covers twice the
   pixels the output needs (``_DRAFT_GAP``, as Pillow's own ``thumbnail``
   does): the DCT scaling does the coarse reduction and LANCZOS the last
   factor of 2 or more. Drafting to just 1x the needed size doubles the
   error at 224x224 (0.65 instead of 0.33 grey levels from a full-resolution
   LANCZOS, see benchmarks/) for a 15% gain; at 50x50 both reach the 1/8
   scale anyway. The request is computed from the *oriented* size (EXIF
   orientations 5-8 swap width and height) and the ``fit_mode`` geometry. A
   gray output also asks libjpeg for the luminance plane only
   (``draft("L")``), skipping the chroma work. This is what makes phone
   photos cheap: a 1/8 decode of a 3264x2448 JPEG costs a fraction of a
   full one.
2. ``ImageOps.exif_transpose`` applies the EXIF orientation (all 8 values).
3. The Pillow mode becomes "L" or "RGB" by the rules shared with the
   dataset loaders (``litterlearn.utils._modes``): alpha is composited on
   ``background``; 16-bit and "I" data are scaled to 8 bits by their bit
   depth (Pillow's own ``convert("L")`` clips them instead); "F" is taken as
   0..1; LAB is refused.
4. The geometry ("pad", "crop", "stretch") is one ``Image.resize`` call with
   a ``box`` in source coordinates, with the LANCZOS filter and
   ``reducing_gap=3.0``: Pillow first shrinks by an integer factor with a box
   filter (fast) while keeping at least 3x the target size, then finishes
   with LANCZOS. Pillow documents results with a gap >= 3 as
   indistinguishable from a full LANCZOS resampling.

Files are decoded in threads (Pillow releases the GIL while decoding and
resizing); ``ThreadPoolExecutor.map`` keeps the order of the input.
"""

from __future__ import annotations

import math
import numbers
import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from joblib import cpu_count
from PIL import ExifTags, Image
from PIL.JpegImagePlugin import JpegImageFile
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._atomic import AtomicFitTransformMixin, all_or_nothing
from ..utils._images import (
    check_image_shape,
    load_image_fully,
    open_image_file,
    validate_images,
)
from ..utils._modes import LUMA_WEIGHTS, to_l_or_rgb, upright
from ..utils._sklearn_compat import Interval, StrOptions, _fit_context

_RESAMPLE = Image.Resampling.LANCZOS
_REDUCING_GAP = 3.0
_DRAFT_GAP = 2.0
# ITU-R 601-2 luma, as Pillow's convert("L") and GrayscaleNormalizer.
_LUMA = LUMA_WEIGHTS
# Where the first stored pixel ends up after the EXIF orientation is applied
# (EXIF 2.3, tag 0x0112): (at the right?, at the bottom?).
_ORIGIN_CORNER = {
    1: (False, False),
    2: (True, False),
    3: (True, True),
    4: (False, True),
    5: (False, False),
    6: (True, False),
    7: (True, True),
    8: (False, True),
}


class _Spec(NamedTuple):
    """What every worker needs to produce one output image."""

    height: int
    width: int
    fit_mode: str
    gray: bool
    background: tuple  # (r, g, b) in 0..255


# ---------------------------------------------------------------- parameters


def _check_size(size):
    """``size`` -> (height, width), or a clear error."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    try:
        height, width = size
    except (TypeError, ValueError):
        raise ValueError(
            f"size must be an int or a tuple (height, width); got {size!r}."
        ) from None
    for s in (height, width):
        if not isinstance(s, numbers.Integral) or isinstance(s, bool) or s < 1:
            raise ValueError(
                f"size must be a positive int or a tuple of two positive ints "
                f"(height, width); got {size!r}."
            )
    return int(height), int(width)


def _check_background(background):
    """``background`` -> (r, g, b) ints in 0..255, or a clear error."""
    if isinstance(background, numbers.Integral) and not isinstance(background, bool):
        background = (background,) * 3
    try:
        rgb = tuple(background)
    except TypeError:
        rgb = ()
    if len(rgb) != 3 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and 0 <= v <= 255
        for v in rgb
    ):
        raise ValueError(
            f"background must be an int in 0..255 (gray) or a tuple of three "
            f"(r, g, b) ints in 0..255; got {background!r}."
        )
    return tuple(int(v) for v in rgb)


def _n_threads(n_jobs, n_tasks):
    """scikit-learn's n_jobs: None -> 1, -1 -> all cores, -2 -> all but one."""
    if n_jobs is None:
        n = 1
    elif n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive int or -1.")
    elif n_jobs < 0:
        n = max(1, cpu_count() + 1 + n_jobs)
    else:
        n = n_jobs
    return max(1, min(n, n_tasks))


def _as_file_paths(X):
    """Return X as a list of ``str`` paths, or None if X is not made of paths.

    Paths are ``str`` or ``os.PathLike`` objects in a list, a tuple or a 1D
    array (a pandas Series works too). Anything else is left to the array
    validation.
    """
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(
            f"X must be a sequence of image file paths (or an array of images), "
            f"not a single path; got {X!r}. Wrap it in a list: [path]."
        )
    if isinstance(X, (list, tuple)):
        items = X
    elif getattr(X, "ndim", None) == 1 and hasattr(X, "dtype"):
        if X.dtype.kind not in "UOS" and str(X.dtype) not in ("string", "str"):
            return None
        items = np.asarray(X, dtype=object).tolist()
    else:
        return None
    if len(items) == 0:
        raise ValueError(
            "X is empty: pass at least one image file path (or an array of "
            "at least one image)."
        )
    is_bytes = [isinstance(p, bytes) for p in items]
    if any(is_bytes):
        bad = is_bytes.index(True)
        raise TypeError(
            f"Image file paths must be str or os.PathLike, not bytes; X[{bad}] "
            f"is {items[bad]!r}. Decode them first, e.g. "
            f"[os.fsdecode(p) for p in X]."
        )
    is_path = [isinstance(p, (str, os.PathLike)) for p in items]
    if not any(is_path):
        return None
    if not all(is_path):
        bad = is_path.index(False)
        raise TypeError(
            f"X mixes file paths with other values: X[{bad}] is "
            f"{items[bad]!r}. Pass only paths, or only images."
        )
    return [os.fspath(p) for p in items]


# ------------------------------------------------------------------- geometry


def _fit_box(box, spec):
    """Plan the resize of the source region ``box`` into the output.

    Returns ``(source_box, (out_w, out_h), (left, top))``: resize
    ``source_box`` of the image to ``(out_w, out_h)`` and paste it at
    ``(left, top)`` of a ``spec.width x spec.height`` canvas.
    """
    x0, y0, x1, y1 = box
    src_w, src_h = x1 - x0, y1 - y0
    tw, th = spec.width, spec.height
    if spec.fit_mode == "stretch":
        return box, (tw, th), (0, 0)
    if spec.fit_mode == "crop":
        scale = max(tw / src_w, th / src_h)
        cw, ch = tw / scale, th / scale
        cx, cy = x0 + (src_w - cw) / 2, y0 + (src_h - ch) / 2
        return (cx, cy, cx + cw, cy + ch), (tw, th), (0, 0)
    # "pad": letterbox, keeping the aspect ratio.
    scale = min(tw / src_w, th / src_h)
    out_w = min(tw, max(1, round(src_w * scale)))
    out_h = min(th, max(1, round(src_h * scale)))
    return box, (out_w, out_h), ((tw - out_w) // 2, (th - out_h) // 2)


def _needed_size(width, height, spec):
    """Smallest (w, h) a decode of a width x height image must cover.

    That is, the size of the whole image once fitted into the output: the
    output size for "stretch", more than it for "crop" (the cropped parts).
    """
    tw, th = spec.width, spec.height
    if spec.fit_mode == "stretch":
        return tw, th
    if spec.fit_mode == "crop":
        scale = max(tw / width, th / height)
    else:
        scale = min(tw / width, th / height)
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _resize(im, box, spec, fill):
    """Resize ``box`` of ``im`` (mode L, RGB or F) into the output geometry."""
    src_box, out_size, offset = _fit_box(box, spec)
    resized = im.resize(out_size, _RESAMPLE, box=src_box, reducing_gap=_REDUCING_GAP)
    if out_size == (spec.width, spec.height):
        return resized
    canvas = Image.new(im.mode, (spec.width, spec.height), fill)
    canvas.paste(resized, offset)
    return canvas


def _gray_level(rgb):
    """The "L" value of an (r, g, b) colour, rounded as Pillow does."""
    r, g, b = rgb
    return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16


# ---------------------------------------------------------------------- modes


def _to_l_or_rgb(im, spec, path=None):
    """Convert any Pillow mode to "L" (gray output) or "RGB" (shared rules)."""
    return to_l_or_rgb(im, gray=spec.gray, background=spec.background, source=path)


# ---------------------------------------------------------------------- files


def _exif_orientation(im):
    try:
        orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # unreadable EXIF: exif_transpose will ignore it too
        return 1
    return orientation if orientation in _ORIGIN_CORNER else 1


def _decode(im, spec, path=None):
    """Load an opened image, upright, at reduced scale where possible.

    Returns ``(image, box)``: the loaded, oriented image and the region of it
    that covers the whole original picture (a JPEG decoded at 1/8 scale has
    a last, partial row and column of pixels: the box excludes their excess).
    """
    orientation = _exif_orientation(im)
    width, height = im.size
    swap = orientation >= 5  # the picture is stored transposed
    box = None
    if isinstance(im, JpegImageFile):
        oriented_w, oriented_h = (height, width) if swap else (width, height)
        need_w, need_h = _needed_size(oriented_w, oriented_h, spec)
        need_w, need_h = math.ceil(need_w * _DRAFT_GAP), math.ceil(need_h * _DRAFT_GAP)
        request = (need_h, need_w) if swap else (need_w, need_h)
        drafted = im.draft("L" if spec.gray else "RGB", request)
        if drafted is not None:
            box = drafted[1]
    # Truncation is an error in every format, whatever Pillow's global
    # ImageFile.LOAD_TRUNCATED_IMAGES says.
    load_image_fully(im, path)
    upright(im)
    if box is None:
        return im, (0, 0, *im.size)
    # Map the valid region through the orientation: it stays anchored at
    # the corner where the first stored pixel went.
    valid_w, valid_h = (box[3], box[2]) if swap else (box[2], box[3])
    right, bottom = _ORIGIN_CORNER[orientation]
    x0 = im.size[0] - valid_w if right else 0
    y0 = im.size[1] - valid_h if bottom else 0
    return im, (x0, y0, x0 + valid_w, y0 + valid_h)


def _read_file(path, spec):
    """Decode one file to a ``(height, width, channels)`` uint8 array."""
    im = open_image_file(path)  # names the file in every error
    with im:
        try:
            im, box = _decode(im, spec, path)
            im = _to_l_or_rgb(im, spec, path)
            fill = _gray_level(spec.background) if spec.gray else spec.background
            out = _resize(im, box, spec, fill)
        except MemoryError:
            raise
        except Exception as exc:
            raise ValueError(
                f"Could not decode image file {path!r}: {type(exc).__name__}: {exc}"
            ) from exc
    return np.asarray(out).reshape(spec.height, spec.width, -1)


# --------------------------------------------------------------------- arrays


def _resize_array(image, spec):
    """Resize one ``(H, W, C)`` uint8 or float32 image; C is 1 to 4."""
    h, w, c = image.shape
    box = (0, 0, w, h)
    if image.dtype == np.uint8:
        # fromarray makes "L", "LA", "RGB" or "RGBA" of 1 to 4 channels.
        im = _to_l_or_rgb(Image.fromarray(image[..., 0] if c == 1 else image), spec)
        fill = _gray_level(spec.background) if spec.gray else spec.background
        return np.asarray(_resize(im, box, spec, fill)).reshape(
            spec.height, spec.width, -1
        )
    # Floats are taken as already scaled: resample each channel in mode "F",
    # with no quantisation and no clipping. Alpha is read as 0..1 and the
    # background as background / 255.
    background = np.asarray(spec.background, dtype=np.float32) / 255
    if c in (2, 4):
        alpha = np.clip(image[..., -1:], 0, 1)
        c -= 1
        bg = background if c == 3 else background @ _LUMA
        image = image[..., :c] * alpha + bg * (1 - alpha)
    if spec.gray:
        planes = [image @ _LUMA if c == 3 else image[..., 0]]
        fills = [float(background @ _LUMA)]
    elif c == 3:
        planes = [image[..., k] for k in range(3)]
        fills = background.tolist()
    else:  # gray to RGB: the same plane thrice, padded with each channel's colour
        planes = [image[..., 0]] * 3
        fills = background.tolist()
    channels = [
        np.asarray(
            _resize(
                Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32)),
                box,
                spec,
                fill,
            )
        )
        for plane, fill in zip(planes, fills, strict=True)
    ]
    return np.stack(channels, axis=-1)


# ------------------------------------------------------------------ estimator


class ImageResizer(AtomicFitTransformMixin, TransformerMixin, BaseEstimator):
    """Decode image files (or resize image arrays) to fixed-size rows.

    The first step of an image pipeline: file paths (or arrays) in, rows of
    ``height * width * channels`` pixels out, in C order (row, column,
    channel), uint8 0..255. Images are oriented by their EXIF tag, converted
    from any Pillow mode, fitted to ``size`` by padding, cropping or
    stretching, and downscaled with a LANCZOS filter. JPEGs are decoded at
    reduced scale when the output is smaller (Pillow's draft mode), and
    files are decoded in parallel threads.

    Stateless: ``fit`` only validates; ``transform`` of paths works on any
    list of paths. Deterministic, picklable, and cached by
    ``Pipeline(memory=...)`` (the cache key is the list of paths, not the
    file contents: clear the cache if files change under the same names).

    Parameters
    ----------
    size : int or tuple of (int, int), default=50
        Output size: an int for a square, or ``(height, width)``.
    fit_mode : {"pad", "crop", "stretch"}, default="pad"
        How the image is fitted into ``size``. "pad" keeps the aspect ratio
        and letterboxes the image on ``background``; "crop" keeps the aspect
        ratio and cuts the center out; "stretch" ignores the aspect ratio.
    color : {"rgb", "gray"}, default="rgb"
        Output channels: "rgb" (3 channels) or "gray" (1 channel, ITU-R
        601-2 luminance as Pillow's ``convert("L")``; JPEGs are decoded
        straight to luminance).
    background : int or tuple of (int, int, int), default=0
        Colour, in 0..255, of the padding ("pad") and of what shows through
        transparent pixels: a gray level or ``(r, g, b)``. For float arrays
        it is used as ``background / 255``.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of input *rows* (2D arrays); one entry
        may be -1. None infers a square shape (see the image contract).
        Ignored for file paths and 3D/4D arrays, which carry their shape.
    n_jobs : int, default=None
        Number of threads decoding and resizing images. None means 1, -1
        means all cores (scikit-learn's convention).

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the output rows.
    n_features_in_ : int
        Number of features of the input rows. Only set when fitted on an
        array (file paths have no features).
    input_image_shape_ : tuple of int
        ``(H, W, C)`` of the input images. Only set when fitted on an array.

    See Also
    --------
    GrayscaleNormalizer : Convert rows to luminance in [0, 1].

    Notes
    -----
    Input, by type:

    - a list, tuple or 1D array (or pandas Series) of paths (``str`` or
      ``os.PathLike``): any format Pillow reads. Output is uint8. A missing
      file raises ``FileNotFoundError`` and a folder ``IsADirectoryError``;
      an empty, truncated, corrupt or unreadable file raises ``ValueError``,
      in every format and in parallel batches too. Truncation is an error
      whatever Pillow's global ``ImageFile.LOAD_TRUNCATED_IMAGES`` says.
      Every message names the file, and no file is ever skipped, so rows
      stay aligned with ``y``.
    - arrays of rows ``(n, H*W*C)`` or images ``(n, H, W)`` /
      ``(n, H, W, C)``, with 1 (gray), 2 (gray, alpha), 3 (RGB) or 4 (RGBA)
      channels. Integer arrays (0..255) give uint8; float arrays are taken
      as already scaled and give float32, resampled in floating point
      without quantisation or clipping.

    Modes: palette images (with or without transparency) are expanded;
    alpha (RGBA, LA, PA) is composited on ``background``; CMYK and YCbCr
    become RGB with Pillow; 16-bit images (I;16, I;16B, ...) and "I"
    images (what Pillow makes of 16-bit files) are scaled from 0..65535 to
    0..255 (by their bit depth, whatever the values); "F" images are taken
    as 0..1 (a ``UserWarning`` names a file whose values go above 2, such as
    a SPIDER file of 0..255, which would turn white); "1" becomes 0/255; LAB images are refused with a ``ValueError``
    (Pillow's reading of CIELAB TIFFs gives wrong colours). ``fetch_taco``
    stores images by the same rules, on a black background.

    Filter: LANCZOS with ``reducing_gap=3.0`` (an integer box reduction
    first, keeping at least 3x the output size, then LANCZOS), after the
    JPEG draft decode at the smallest DCT scale (1/2, 1/4, 1/8) that still
    covers twice the pixels the output needs. On phone photos the result is
    within half a grey level, on average, of a full-resolution LANCZOS in
    floating point.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.preprocessing import ImageResizer
    >>> images = np.full((2, 30, 60), 200, dtype=np.uint8)  # two wide images
    >>> resizer = ImageResizer(4, color="gray")
    >>> rows = resizer.fit_transform(images)
    >>> rows.shape, rows.dtype, resizer.image_shape_
    ((2, 16), dtype('uint8'), (4, 4, 1))
    >>> rows[0].reshape(4, 4)  # letterboxed: black bars above and below
    array([[  0,   0,   0,   0],
           [200, 200, 200, 200],
           [200, 200, 200, 200],
           [  0,   0,   0,   0]], dtype=uint8)

    File paths work the same way (``resizer.transform(["a.jpg", "b.png"])``),
    and the step slots into a pipeline:
    ``make_pipeline(ImageResizer(50), GrayscaleNormalizer(), LogisticRegression())``.
    """

    _parameter_constraints: dict = {
        "size": [Interval(numbers.Integral, 1, None, closed="left"), tuple, list],
        "fit_mode": [StrOptions({"pad", "crop", "stretch"})],
        "color": [StrOptions({"rgb", "gray"})],
        "background": [
            Interval(numbers.Integral, 0, 255, closed="both"),
            tuple,
            list,
        ],
        "image_shape": [None, tuple, list],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        size=50,
        *,
        fit_mode="pad",
        color="rgb",
        background=0,
        image_shape=None,
        n_jobs=None,
    ):
        self.size = size
        self.fit_mode = fit_mode
        self.color = color
        self.background = background
        self.image_shape = image_shape
        self.n_jobs = n_jobs

    def _spec(self):
        height, width = _check_size(self.size)
        return _Spec(
            height=height,
            width=width,
            fit_mode=self.fit_mode,
            gray=self.color == "gray",
            background=_check_background(self.background),
        )

    @all_or_nothing
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and the input; record the output shape.

        Parameters
        ----------
        X : sequence of paths, or array-like of shape (n_samples, H*W*C), \
                (n_samples, H, W) or (n_samples, H, W, C)
            Image files, or images (uint8 0..255, or floats already scaled).
        y : None
            Ignored.

        Returns
        -------
        self : ImageResizer
        """
        spec = self._spec()
        check_image_shape(self.image_shape)
        paths = _as_file_paths(X)
        if paths is None:
            _, shape = validate_images(
                self, X, reset=True, image_shape=self.image_shape
            )
            _check_channels(shape)
            self.input_image_shape_ = shape
        else:
            # Refitting on paths forgets what an earlier array fit learned.
            for attr in ("n_features_in_", "feature_names_in_", "input_image_shape_"):
                if hasattr(self, attr):
                    delattr(self, attr)
        self.image_shape_ = (spec.height, spec.width, 1 if spec.gray else 3)
        return self

    def transform(self, X):
        """Decode and resize images to rows.

        Parameters
        ----------
        X : sequence of paths, or array-like of shape (n_samples, H*W*C), \
                (n_samples, H, W) or (n_samples, H, W, C)
            Image files (any list of paths), or images of the shape seen in
            ``fit`` when it was fitted on an array.

        Returns
        -------
        Xt : ndarray of shape (n_samples, height * width * channels)
            uint8 for files and integer arrays, float32 for float arrays.
        """
        check_is_fitted(self)
        spec = self._spec()._replace(
            height=self.image_shape_[0],
            width=self.image_shape_[1],
            gray=self.image_shape_[2] == 1,
        )
        paths = _as_file_paths(X)
        n_out = math.prod(self.image_shape_)
        if paths is not None:
            out = np.empty((len(paths), n_out), dtype=np.uint8)

            def work(i):
                try:
                    out[i] = _read_file(paths[i], spec).reshape(-1)
                except Exception as exc:
                    # Whatever failed, and in whichever thread, the error
                    # says which file (most messages already do).
                    if paths[i] not in str(exc):
                        _add_note(
                            exc, f"while reading image file {paths[i]!r} (X[{i}])"
                        )
                    raise

            self._run(work, len(paths))
            return out
        rows, shape = validate_images(
            self,
            X,
            reset=False,
            image_shape=self.image_shape,
            fitted_image_shape=getattr(self, "input_image_shape_", None),
        )
        _check_channels(shape)
        images = rows.reshape(len(rows), *shape)
        out = np.empty((len(rows), n_out), dtype=rows.dtype)

        def work(i):
            out[i] = _resize_array(images[i], spec).reshape(-1)

        self._run(work, len(rows))
        return out

    def _run(self, work, n_tasks):
        n_threads = _n_threads(self.n_jobs, n_tasks)
        if n_threads == 1:
            for i in range(n_tasks):
                work(i)
            return
        executor = ThreadPoolExecutor(n_threads, thread_name_prefix="litterlearn")
        try:
            # map() yields in order: the first failing sample is the one
            # reported, whatever the thread timing.
            for _ in executor.map(work, range(n_tasks)):
                pass
        except BaseException:
            executor.shutdown(wait=True, cancel_futures=True)
            raise
        executor.shutdown(wait=True)

    def get_feature_names_out(self, input_features=None):
        """Output feature names ``imageresizer0`` ... (one per value)."""
        check_is_fitted(self)
        prefix = type(self).__name__.lower()
        n_out = math.prod(self.image_shape_)
        return np.asarray([f"{prefix}{i}" for i in range(n_out)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _add_note(exc, note):
    """``exc.add_note(note)`` where Python has it (3.11+)."""
    add_note = getattr(exc, "add_note", None)
    if add_note is not None:
        add_note(note)


def _check_channels(shape):
    if shape[2] not in (1, 2, 3, 4):
        raise ValueError(
            f"ImageResizer resizes images with 1 (gray), 2 (gray, alpha), 3 "
            f"(RGB) or 4 (RGBA) channels; got images of shape {shape}."
        )
