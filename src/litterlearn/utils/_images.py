"""The image contract, written once for every step.

Between steps a batch of images is a 2D array of rows ``(n_samples, H*W*C)``
in C order (row, column, channel). Every step also accepts ``(n, H, W)`` and
``(n, H, W, C)`` arrays. ``image_shape`` is ``(H, W)`` or ``(H, W, C)``; one
entry may be ``-1`` (inferred, as in :func:`numpy.reshape`). With
``image_shape=None`` the shape comes from the input: 3D/4D arrays carry it,
rows are inferred as a square image with C=1 if ``n_features`` is a perfect
square, else C=3 if ``n_features / 3`` is one.

dtype decides the value range: integer images are 0..255 (and are stored as
uint8), floating images are taken as already scaled (and are stored as
float32). Nothing is upcast to float64.
"""

from __future__ import annotations

import errno
import math
import numbers
import os
import struct
import weakref

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, validate_data

from ._label_lists import check_not_label_lists
from ._messages import first_few

__all__ = [
    "check_image_shape",
    "infer_image_shape",
    "resolve_image_shape",
    "as_image_dtype",
    "validate_images",
    "rows_to_images",
    "images_to_rows",
    "to_unit_float",
    "as_model_dtype",
    "fitted_images",
    "check_label_values",
    "check_indicator",
    "is_indicator_shaped",
    "open_image_file",
    "strict_reading",
    "load_image_fully",
]


def check_image_shape(image_shape, *, name="image_shape"):
    """Validate an ``image_shape`` parameter.

    Parameters
    ----------
    image_shape : None or tuple of int
        ``(H, W)`` or ``(H, W, C)``; at most one entry may be -1.
    name : str, default="image_shape"
        The parameter name used in error messages.

    Returns
    -------
    image_shape : None or tuple of 3 int
        ``(H, W, C)`` with ``C=1`` filled in for a 2-tuple; -1 kept.

    Examples
    --------
    >>> check_image_shape((50, 40))
    (50, 40, 1)
    >>> check_image_shape([8, -1, 3])
    (8, -1, 3)
    """
    if image_shape is None:
        return None
    try:
        shape = tuple(image_shape)
    except TypeError:
        raise TypeError(
            f"{name} must be None or a tuple (height, width) or "
            f"(height, width, channels); got {image_shape!r}."
        ) from None
    if len(shape) not in (2, 3) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in shape
    ):
        raise ValueError(
            f"{name} must be a tuple of 2 or 3 integers (height, width[, "
            f"channels]); got {image_shape!r}."
        )
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if shape.count(-1) > 1 or any(s == 0 or s < -1 for s in shape):
        raise ValueError(
            f"{name} entries must be positive integers, with at most one -1 "
            f"to be inferred; got {image_shape!r}."
        )
    return shape


def infer_image_shape(n_features):
    """Infer a square image shape from a number of features.

    C=1 if ``n_features`` is a perfect square, else C=3 if ``n_features / 3``
    is one (the two never collide, since 3 is not a square).

    Examples
    --------
    >>> infer_image_shape(2500)
    (50, 50, 1)
    >>> infer_image_shape(7500)
    (50, 50, 3)
    """
    n_features = int(n_features)
    side = math.isqrt(n_features)
    if side > 0 and side * side == n_features:
        return (side, side, 1)
    if n_features % 3 == 0:
        side = math.isqrt(n_features // 3)
        if side > 0 and 3 * side * side == n_features:
            return (side, side, 3)
    raise ValueError(
        f"Cannot infer the image shape of rows with {n_features} features: "
        f"{n_features} is neither a square (gray H*H) nor 3 times a square "
        f"(RGB H*H*3). Pass image_shape=(height, width) or "
        f"(height, width, channels)."
    )


def resolve_image_shape(data_shape, image_shape=None):
    """Return the concrete ``(H, W, C)`` of a batch with shape ``data_shape``.

    Parameters
    ----------
    data_shape : tuple of int
        Shape of the batch: ``(n, n_features)``, ``(n, H, W)`` or
        ``(n, H, W, C)``.
    image_shape : None or tuple of int
        The user's ``image_shape`` (validated here).

    Examples
    --------
    >>> resolve_image_shape((10, 300), (10, -1, 3))
    (10, 10, 3)
    >>> resolve_image_shape((4, 8, 6))
    (8, 6, 1)
    """
    shape = check_image_shape(image_shape)
    if len(data_shape) == 2:
        n_features = data_shape[1]
        if shape is None:
            return infer_image_shape(n_features)
        if -1 in shape:
            known = math.prod(s for s in shape if s != -1)
            if known == 0 or n_features % known:
                raise ValueError(
                    f"image_shape={tuple(image_shape)!r} does not fit rows with "
                    f"{n_features} features: {n_features} is not a multiple "
                    f"of {known}."
                )
            shape = tuple(n_features // known if s == -1 else s for s in shape)
        if math.prod(shape) != n_features:
            raise ValueError(
                f"image_shape={tuple(image_shape)!r} does not match rows with "
                f"{n_features} features (H*W*C = {math.prod(shape)})."
            )
        return shape
    if len(data_shape) in (3, 4):
        data_image_shape = tuple(data_shape[1:]) + (
            (1,) if len(data_shape) == 3 else ()
        )
        if shape is not None and any(
            s != -1 and s != d for s, d in zip(shape, data_image_shape, strict=True)
        ):
            raise ValueError(
                f"image_shape={tuple(image_shape)!r} does not match the shape "
                f"of the images passed, {data_image_shape}."
            )
        return data_image_shape
    raise ValueError(
        f"Expected a 2D array of rows (n_samples, H*W*C), or images "
        f"(n_samples, H, W) or (n_samples, H, W, C); got an array with "
        f"{len(data_shape)} dimension(s) of shape {tuple(data_shape)}."
    )


def as_image_dtype(X):
    """Apply the dtype rules: integers -> uint8 (0..255), floats -> float32.

    uint8 and float32 arrays are returned unchanged (no copy). Other integer
    dtypes are range-checked and cast to uint8; booleans become 0/255 uint8;
    float64 (and other floats) become float32.

    Examples
    --------
    >>> as_image_dtype(np.array([[0, 255]])).dtype
    dtype('uint8')
    >>> as_image_dtype(np.array([[0.5]])).dtype
    dtype('float32')
    """
    X = np.asarray(X)
    kind = X.dtype.kind
    if X.dtype == np.uint8 or X.dtype == np.float32:
        return X
    if kind == "b":
        return X.astype(np.uint8) * np.uint8(255)
    if kind in "iu":
        if X.size and (X.min() < 0 or X.max() > 255):
            raise ValueError(
                f"Integer images must hold values in 0..255 (dtype decides the "
                f"range); got values in {X.min()}..{X.max()} with dtype "
                f"{X.dtype}. Scale to 0..255, or pass floats already scaled."
            )
        return X.astype(np.uint8)
    if kind == "f":
        limit = np.finfo(np.float32).max
        if X.dtype.itemsize > 4 and X.size:
            low, high = X.min(), X.max()  # no temporary copy of the batch
            if high > limit or low < -limit:
                largest = high if high > limit else low
                raise ValueError(
                    f"Float images are stored as float32, whose largest value "
                    f"is {limit:.4g}; got values up to {largest:.4g} (dtype "
                    f"{X.dtype}), which would become inf. "
                    f"Scale the images first (floats are taken as already "
                    f"scaled, e.g. to [0, 1])."
                )
        return X.astype(np.float32)
    raise TypeError(f"Images must be numeric arrays; got dtype {X.dtype}.")


def _check_not_sparse(X, estimator):
    if sp.issparse(X):
        name = type(estimator).__name__ if estimator is not None else "This step"
        raise TypeError(
            f"{name} does not accept sparse input: images are dense arrays. "
            f"Convert with X.toarray() if the matrix is small."
        )


def _check_not_paths(X, estimator):
    """File paths given to a step that takes image arrays: say what to do.

    (scikit-learn's own message speaks of a "2D array" or a "dtype".)
    """
    if isinstance(X, (list, tuple)):
        first = X[0] if len(X) else None
    elif isinstance(X, np.ndarray) and X.dtype.kind in "USO" and X.size:
        first = X.flat[0]
    elif isinstance(X, (str, os.PathLike)):
        first = X
    else:
        return
    if not isinstance(first, (str, os.PathLike)):
        return
    name = type(estimator).__name__ if estimator is not None else "This step"
    shape = getattr(X, "shape", None)
    if name == "ImageResizer" and shape is not None and len(shape) > 1:
        raise ValueError(
            f"X is an array of file paths of shape {shape}; ImageResizer takes "
            f"file paths as a 1-D sequence (e.g. X.ravel())."
        )
    raise TypeError(
        f"{name} takes images as arrays, not file paths (X starts with "
        f"{os.fspath(first)!r:.80}). Decode the files first with "
        f"litterlearn.preprocessing.ImageResizer, e.g. "
        f"make_pipeline(ImageResizer(50), {name}(...))."
    )


def _check_same_shapes(X):
    """A list of images of different sizes fails with a clear error.

    (numpy's own message speaks of an "inhomogeneous shape".)
    """
    if not isinstance(X, (list, tuple)) or len(X) < 2:
        return
    shapes = []
    for i, image in enumerate(X):
        try:
            shapes.append(np.shape(image))
        except ValueError:
            raise ValueError(
                f"X[{i}] is not an array of one shape (its rows differ in "
                f"length); images must be arrays of shape (H, W) or (H, W, C)."
            ) from None
        if shapes[i] != shapes[0]:
            raise ValueError(
                f"X is a list of images of different shapes: X[0] has shape "
                f"{shapes[0]} and X[{i}] has shape {shapes[i]}. Images in one "
                f"batch must have the same size; resize them first, e.g. with "
                f"ImageResizer, which also reads image files of any size."
            )


def check_label_values(y, *, input_name="y"):
    """A target as an array, or a clear error if its labels cannot be read.

    The one reading of a target (the estimators' ``y`` and ``y_val``,
    ``Augmenter``, the metrics). A sparse matrix (a multi-label indicator,
    as scikit-learn's ``MLPClassifier`` takes it) becomes a dense array, a
    single column staying ``(n, 1)`` as a dense one would. One list (or set)
    of labels per sample is refused with a pointer to
    ``MultiLabelBinarizer``; missing labels (None or NaN) are named where
    they are: scikit-learn reports them as an "unknown label type" (or fails
    comparing None with numbers).

    Parameters
    ----------
    y : array-like or sparse matrix
        Labels.
    input_name : str, default="y"
        The name used in the message.

    Returns
    -------
    y : ndarray
        ``np.asarray(y)`` (dense).

    Examples
    --------
    >>> check_label_values([0, 1, 1]).tolist()
    [0, 1, 1]
    """
    if sp.issparse(y):
        y = y.toarray()
    check_not_label_lists(y, input_name)
    y = np.asarray(y)
    if y.dtype.kind == "O":
        missing = [
            i
            for i, v in enumerate(y.ravel().tolist())
            if v is None or (isinstance(v, float) and math.isnan(v))
        ]
    elif y.dtype.kind in "fc":
        missing = np.flatnonzero(np.isnan(y.ravel())).tolist()
    else:
        missing = []
    if not missing and y.dtype.kind == "O" and y.ndim == 1:
        _check_label_types(y, input_name)
    if missing:
        raise ValueError(
            f"{input_name} has missing labels (None or NaN) at position(s) "
            f"{first_few(missing)}; every sample needs a label."
        )
    return y


def is_indicator_shaped(y):
    """Whether ``y`` is 2-D with several columns: a multi-label target's shape.

    A single column counts as 1-D labels, as in scikit-learn; ragged lists
    are not (the 1-D checks name them). The one reading of a 2-D ``y``: the
    estimators' targets, ``Augmenter`` and the metrics all ask this.
    """
    shape = getattr(y, "shape", None)
    if shape is None:
        try:
            shape = np.shape(y)
        except ValueError:  # ragged lists
            return False
    return len(shape) == 2 and shape[1] > 1


def check_indicator(Y, *, input_name="Y"):
    """A 0/1 indicator matrix (multi-label targets) as booleans, or a clear error.

    Parameters
    ----------
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        1 where a sample holds a label, else 0 (bool, int or float).
    input_name : str, default="Y"
        The name used in the messages.

    Returns
    -------
    Y : ndarray of bool, shape (n_samples, n_labels)

    Examples
    --------
    >>> check_indicator([[0, 1], [1, 1]]).astype(int).tolist()
    [[0, 1], [1, 1]]
    """
    if sp.issparse(Y):
        Y = Y.toarray()
    Y = np.asarray(Y)
    if Y.ndim != 2:
        raise ValueError(
            f"{input_name} must be a 2-D 0/1 indicator matrix (n_samples, "
            f"n_labels), got an array of shape {Y.shape}."
        )
    if Y.shape[1] == 0:
        raise ValueError(f"{input_name} has no label columns (shape {Y.shape}).")
    try:
        bad = ~np.isin(Y, (0, 1))
    except TypeError:  # values that do not compare to numbers
        bad = np.ones(Y.shape, dtype=bool)
    if bad.any():
        found = list(dict.fromkeys(Y[bad].tolist()))[:5]
        raise ValueError(
            f"{input_name} must be a 0/1 indicator matrix (one column per label, "
            f"1 where the sample holds the label); got values other than 0 and "
            f"1, e.g. {found}."
        )
    return Y.astype(bool)


def _check_label_types(y, input_name):
    """Object labels are numbers or strings, of one kind (sklearn's rule),
    or a clear error naming the first odd one."""
    kinds = {}
    for i, v in enumerate(y.tolist()):
        if isinstance(v, str):
            kind = "str"
        elif isinstance(v, numbers.Number) and not isinstance(v, complex):
            kind = "number"
        else:
            raise ValueError(
                f"{input_name}[{i}] is {v!r:.60} (a {type(v).__name__}): class "
                f"labels must be numbers or strings."
            )
        kinds.setdefault(kind, i)
    if len(kinds) > 1:
        raise ValueError(
            f"{input_name} mixes numbers and strings as labels ({input_name}"
            f"[{kinds['number']}] is {y[kinds['number']]!r}, {input_name}"
            f"[{kinds['str']}] is {y[kinds['str']]!r}); use one kind, e.g. "
            f"all strings."
        )


def validate_images(
    estimator,
    X,
    *,
    reset,
    image_shape=None,
    fitted_image_shape=None,
    ensure_min_samples=1,
):
    """Validate a batch of images and return it as C-order rows.

    Accepts 2D rows, 3D ``(n, H, W)`` and 4D ``(n, H, W, C)`` arrays (and
    array-likes). Applies the dtype rules (:func:`as_image_dtype`), rejects
    sparse input, NaN and inf, and checks or records ``n_features_in_``
    through scikit-learn's ``validate_data``.

    Parameters
    ----------
    estimator : estimator instance
        Where ``n_features_in_`` is recorded (``reset=True``) or checked.
    X : array-like
        The batch.
    reset : bool
        True in ``fit``, False in ``transform``/``predict``.
    image_shape : None or tuple
        The estimator's ``image_shape`` parameter.
    fitted_image_shape : None or tuple of 3 int
        At ``reset=False``: the input image shape seen in ``fit``. Rows are
        read with it, and 3D/4D input must match it.

    Returns
    -------
    rows : ndarray of shape (n_samples, H*W*C), uint8 or float32
    shape : tuple (H, W, C)
    """
    _check_not_sparse(X, estimator)
    _check_not_paths(X, estimator)
    _check_same_shapes(X)
    original = X
    # scikit-learn first sums X to spot non-finite values: +inf and -inf
    # together give NaN with a RuntimeWarning before its clear ValueError.
    with np.errstate(invalid="ignore", over="ignore"):
        X = check_array(
            X,
            dtype="numeric",
            allow_nd=True,
            ensure_2d=True,
            ensure_all_finite=True,
            ensure_min_samples=ensure_min_samples,
            input_name="X",
            estimator=estimator,
        )
    X = as_image_dtype(X)
    if X.ndim not in (2, 3, 4):
        resolve_image_shape(X.shape)  # raises the shape error
    rows = X.reshape(X.shape[0], -1)
    # n_features_in_ and feature names are recorded or checked on the rows;
    # a DataFrame (always 2D) is passed as is so that its column names count.
    names_source = original if hasattr(original, "columns") else rows
    validate_data(estimator, names_source, reset=reset, skip_check_array=True)
    if X.ndim > 2 and 0 in X.shape[1:]:
        raise ValueError(
            f"X holds images of shape {tuple(X.shape[1:])}: an image needs at "
            f"least one row, one column and one channel."
        )
    if reset or fitted_image_shape is None:
        shape = resolve_image_shape(X.shape, image_shape)
    else:
        shape = tuple(fitted_image_shape)
        if X.ndim > 2:
            data_shape = resolve_image_shape(X.shape)
            if data_shape != shape:
                raise ValueError(
                    f"{type(estimator).__name__} was fitted on images of shape "
                    f"{shape}; got images of shape {data_shape}."
                )
    return np.ascontiguousarray(rows), shape


def rows_to_images(X, image_shape):
    """View rows ``(n, H*W*C)`` as images ``(n, H, W, C)`` (no copy).

    Examples
    --------
    >>> rows_to_images(np.zeros((2, 12), np.uint8), (2, 2, 3)).shape
    (2, 2, 2, 3)
    """
    X = np.asarray(X)
    return X.reshape((X.shape[0], *tuple(image_shape)))


def images_to_rows(images):
    """Flatten images ``(n, H, W[, C])`` to C-order rows ``(n, H*W*C)``."""
    images = np.asarray(images)
    return np.ascontiguousarray(images).reshape(images.shape[0], -1)


def to_unit_float(X):
    """Scale images to float32 by their dtype: uint8 / 255, floats unchanged.

    Examples
    --------
    >>> to_unit_float(np.array([[0, 255]], np.uint8))
    array([[0., 1.]], dtype=float32)
    """
    X = np.asarray(X)
    if X.dtype == np.uint8:
        return X.astype(np.float32) / np.float32(255)
    return as_image_dtype(X).astype(np.float32, copy=False)


# ------------------------------------------------------------ image files


def open_image_file(path):
    """Open an image file with Pillow, or raise an error that names it.

    Parameters
    ----------
    path : str
        The file.

    Returns
    -------
    image : PIL.Image.Image
        The opened (not yet loaded) image. Load it with
        :func:`load_image_fully`.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    IsADirectoryError
        If ``path`` is a folder (the message points to
        ``load_image_folder``).
    ValueError
        If the file is empty, is not an image Pillow reads, or its header is
        truncated or corrupt. The message names the file and the problem.
    OSError
        Other errors of the system (no permission, ...), which name the file.
    """
    from PIL import Image, UnidentifiedImageError

    if os.path.isdir(path):
        raise IsADirectoryError(
            errno.EISDIR,
            f"{path!r} is a folder; use "
            "litterlearn.datasets.load_image_folder(path) to load a folder of "
            "class subfolders",
            path,
        )
    try:
        n_bytes = os.path.getsize(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "Image file not found", path) from None
    if n_bytes == 0:
        raise ValueError(f"Image file {path!r} is empty (0 bytes).")
    try:
        return strict_reading(Image.open(path))
    except UnidentifiedImageError as exc:
        raise ValueError(
            f"File {path!r} is not an image file that Pillow can read."
        ) from exc
    except OSError as exc:
        if exc.errno is not None:
            raise  # the system's own errors (no permission, ...) name the file
        # Pillow's own: a header cut short ("Truncated File Read"), a WebP
        # or ICO whose data is missing ("could not create decoder object").
        raise ValueError(
            f"Could not read image file {path!r} (truncated or corrupt): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    except Exception as exc:  # e.g. DecompressionBombError, SyntaxError
        raise ValueError(
            f"Could not open image file {path!r}: {type(exc).__name__}: {exc}"
        ) from exc


class _StrictRead:
    """A read function that fails where Pillow would stop at a truncation.

    Pillow's generic decoding loop (``ImageFile.load``) treats an empty read,
    or a chunk header that cannot be unpacked (PNG, GIF), as a truncated file,
    and raises unless the process-wide ``ImageFile.LOAD_TRUNCATED_IMAGES`` is
    set (many training scripts set it), in which case the missing pixels are
    silently left gray or black. Installed as the image's ``load_read`` hook,
    this makes truncation an error for this one image, whatever that global
    says and without touching it (other threads keep their setting).
    """

    def __init__(self, read):
        self.read = read

    def __call__(self, n):
        try:
            data = self.read(n)
        except (IndexError, struct.error) as exc:
            raise OSError("image file is truncated") from exc
        if not data:
            raise OSError("image file is truncated (premature end of data)")
        return data


class _CurrentFileRead:
    """``im.fp.read``, looked up when called (``im`` held weakly)."""

    def __init__(self, im):
        self.image = weakref.ref(im)

    def __call__(self, n):
        im = self.image()
        if im is None or im.fp is None:
            return b""
        return im.fp.read(n)


def _check_jpeg2000_complete(im):
    """Raise ``OSError`` if a JPEG 2000 file ends before its codestream does.

    Pillow's JPEG 2000 decoder reads the file itself, not through the
    ``load_read`` hook; with ``ImageFile.LOAD_TRUNCATED_IMAGES`` set it
    returns the missing pixels as black instead of failing. A complete
    codestream ends with the EOC marker ``FF D9`` (ISO/IEC 15444-1); a JP2
    file is a sequence of boxes whose lengths must fit in the file, the
    codestream in the ``jp2c`` box.
    """
    fp = im.fp
    position = fp.tell()
    try:
        fp.seek(0, os.SEEK_END)
        size = fp.tell()
        fp.seek(0)
        start = fp.read(12)
        if start.startswith(b"\xff\x4f\xff\x51"):  # a bare codestream
            begin, end = 0, size
        else:
            offset, end = 0, None
            while offset + 8 <= size:
                fp.seek(offset)
                length, kind = struct.unpack(">I4s", fp.read(8))
                header = 8
                if length == 1:
                    (length,) = struct.unpack(">Q", fp.read(8))
                    header = 16
                elif length == 0:
                    length = size - offset
                if length < header or offset + length > size:
                    raise OSError(
                        f"image file is truncated (the JPEG 2000 box "
                        f"{kind.decode('latin-1')!r} at byte {offset} needs "
                        f"{length} bytes, the file has {size - offset} left)"
                    )
                if kind == b"jp2c":
                    begin, end = offset + header, offset + length
                    break
                offset += length
            if end is None:
                raise OSError("image file is truncated (no JPEG 2000 codestream)")
        fp.seek(end - 2)
        if fp.read(2) != b"\xff\xd9":
            raise OSError(
                "image file is truncated (the JPEG 2000 codestream has no end marker)"
            )
        _check_jpeg2000_tile_parts(fp, begin, end - 2)
    finally:
        fp.seek(position)


def _check_jpeg2000_tile_parts(fp, begin, eoc):
    """Raise ``OSError`` unless the tile-parts of the codestream at ``begin``
    fill it exactly up to its end marker at ``eoc``.

    Each tile-part starts with an SOT marker (``FF 90``) that gives its
    length (Psot), so a codestream cut short and closed with an end marker
    is caught: its last tile-part needs more bytes than there are. A Psot of
    0 (allowed for the last tile-part: "up to the end marker") cannot be
    checked.
    """

    def truncated(why):
        return OSError(f"image file is truncated (the JPEG 2000 codestream {why})")

    offset = begin + 2  # after SOC
    while True:  # the main header's marker segments, up to the first SOT
        fp.seek(offset)
        head = fp.read(4)
        if len(head) < 4 or offset + 4 > eoc:
            raise truncated("ends in its main header")
        marker, length = struct.unpack(">HH", head)
        if marker == 0xFF90:
            break
        offset += 2 + length
    while offset < eoc:
        fp.seek(offset)
        head = fp.read(12)
        if len(head) < 12 or head[:2] != b"\xff\x90":
            raise truncated(f"has no tile-part at byte {offset - begin}")
        (psot,) = struct.unpack(">I", head[6:10])
        if psot == 0:
            return  # the last tile-part, up to the end marker
        if offset + psot > eoc:
            raise truncated(
                f"has a tile-part at byte {offset - begin} that needs {psot} "
                f"bytes; {eoc - offset} are left before the end marker"
            )
        offset += psot


def strict_reading(im):
    """Make truncated data an error when ``im`` loads (see :class:`_StrictRead`).

    Call it right after ``Image.open``: some calls load the image (a PNG's
    ``getexif()`` does, to find an eXIf chunk after the pixels). Returns
    ``im``.
    """
    from PIL import ImageFile, JpegImagePlugin

    if (
        getattr(im, "tile", None)
        and isinstance(im, ImageFile.ImageFile)
        and not isinstance(getattr(im, "load_read", None), _StrictRead)
    ):
        if isinstance(im, JpegImagePlugin.JpegImageFile) or not hasattr(
            im, "load_read"
        ):
            # (JPEG's own load_read invents an end marker when the global is
            # set: read the file directly.) The file object is looked up at
            # each read: some plugins (AVIF) replace ``im.fp`` in ``load``.
            im.load_read = _StrictRead(_CurrentFileRead(im))
        else:  # PNG reads its data chunk by chunk
            im.load_read = _StrictRead(im.load_read)
    return im


def load_image_fully(im, path=None):
    """Load an opened image, failing on truncated data in every format.

    Truncation is an error whatever ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``
    says: formats decoded by Pillow's generic loop (JPEG, PNG, GIF, BMP,
    uncompressed TIFF, PPM, TGA, ...) read through a strict hook; an ICO file
    must hold all the bytes its directory gives the chosen icon; a JPEG 2000
    file must hold its whole codestream (up to its end marker); the other
    decoders (WebP, compressed TIFF through libtiff, ...) fail on truncated
    data by themselves.

    Parameters
    ----------
    im : PIL.Image.Image
        An image returned by ``Image.open`` and not loaded yet. Options such
        as ``draft`` must be set before.
    path : str, default=None
        The file, to check ICO directories against its size.

    Raises
    ------
    OSError
        If the data is truncated (or Pillow's decoder fails).
    """
    strict_reading(im)
    if im.format == "JPEG2000" and getattr(im, "tile", None) and im.fp is not None:
        _check_jpeg2000_complete(im)
    if im.format == "ICO" and path is not None:
        entry = im.ico.entry[im.ico.getentryindex(im.size)]
        available = os.path.getsize(path)
        if entry.offset + entry.size > available:
            raise OSError(
                f"image file is truncated (the icon needs bytes "
                f"{entry.offset}..{entry.offset + entry.size}, the file has "
                f"{available})"
            )
    im.load()
    return im


def as_model_dtype(rows, dtype):
    """``rows`` in a model's input ``dtype``: the one conversion.

    To uint8: floats (in [0, 1]) times 255, rounded and clipped. To a float
    dtype: scaled to [0, 1] as the image contract says (uint8 / 255).
    """
    dtype = np.dtype(dtype)
    if rows.dtype == dtype:
        return rows
    if dtype == np.uint8:
        return np.clip(np.rint(rows * np.float32(255)), 0, 255).astype(np.uint8)
    return to_unit_float(rows).astype(dtype, copy=False)


def fitted_rows(estimator, X, *, fitted_shape_attr="image_shape_"):
    """Rows of images ``X`` checked against a fitted image estimator.

    Checks that ``estimator`` is fitted and that ``X`` has the image shape it
    was fitted on (its attribute ``fitted_shape_attr``); returns the rows and
    that image shape, as :func:`validate_images` does.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    return validate_images(
        estimator,
        X,
        reset=False,
        image_shape=estimator.image_shape,
        fitted_image_shape=getattr(estimator, fitted_shape_attr),
    )


def fitted_images(estimator, X):
    """Images ``X`` checked against a fitted image estimator, ready for its model.

    Checks that ``estimator`` is fitted and that ``X`` has the image shape it
    was fitted on (``image_shape_``), then converts the rows to its
    ``input_dtype_`` and to images ``(n, H, W, C)``: what ``predict``,
    ``transform`` and Grad-CAM feed a Keras model.
    """
    rows, _ = fitted_rows(estimator, X)
    rows = as_model_dtype(rows, estimator.input_dtype_)
    return rows_to_images(rows, estimator.image_shape_)
