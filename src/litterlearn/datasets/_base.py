"""Shared by the dataset loaders: the data folder, stored images, the Bunch."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

import numpy as np
import pooch
from sklearn.utils import Bunch

from ..utils._images import load_image_fully, strict_reading
from ..utils._modes import to_l_or_rgb, upright
from ._coco import index_coco

#: Environment variable naming the data folder.
DATA_ENV = "LITTERLEARN_DATA"
#: Long side, in pixels, of the images stored in the data folder.
MAX_SIDE = 640


def get_data_home(data_home=None):
    """Return the folder where litterlearn keeps its datasets, creating it.

    In order of precedence: the ``data_home`` argument, the ``LITTERLEARN_DATA``
    environment variable, then the user cache folder of the platform
    (``~/.cache/litterlearn`` on Linux, via :func:`pooch.os_cache`).

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use. ``~`` is expanded.

    Returns
    -------
    data_home : str
        Absolute path of the folder.

    Examples
    --------
    >>> import tempfile
    >>> from litterlearn.datasets import get_data_home
    >>> folder = tempfile.mkdtemp()
    >>> get_data_home(folder) == folder
    True
    """
    if data_home is None:
        data_home = os.environ.get(DATA_ENV) or pooch.os_cache("litterlearn")
    path = Path(data_home).expanduser().absolute()
    if path.is_symlink() and not path.exists():
        raise FileNotFoundError(
            errno.ENOENT,
            f"The data folder {str(path)!r} is a symbolic link to "
            f"{os.readlink(path)!r}, which does not exist; create that folder, "
            f"or pass data_home= or set {DATA_ENV} to another one",
            str(path),
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise type(exc)(
            exc.errno,
            f"Cannot create the data folder {str(path)!r} ({exc.strerror}); pass "
            f"data_home= or set {DATA_ENV} to a folder you can write",
            str(path),
        ) from exc
    return str(path)


class CorruptImageError(ValueError):
    """A file that should be an image does not decode as one."""


@contextlib.contextmanager
def temporary_path(target):
    """A temporary file name next to ``target`` (same file system), removed on exit.

    Writers fill it and ``os.replace`` it onto ``target``, so a reader never
    sees a half-written file and an interrupted write leaves nothing behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part"
    )
    os.close(fd)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def check_stored_image(path):
    """Decode a stored image cheaply and return its ``(width, height)``.

    Stored images are JPEGs at most ``MAX_SIDE`` pixels on their long side.
    The whole file is decoded (at 1/8 scale, which libjpeg does fast), so a
    truncated file is caught.

    Raises
    ------
    CorruptImageError
        If the file is not such a JPEG or does not decode.
    """
    from PIL import Image

    try:
        with strict_reading(Image.open(path)) as img:
            if img.format != "JPEG":
                raise CorruptImageError(f"{path} is a {img.format} file, not a JPEG")
            width, height = img.size
            if max(width, height) > MAX_SIDE:
                raise CorruptImageError(f"{path} is larger than {MAX_SIDE} px")
            img.draft(None, (max(1, width // 8), max(1, height // 8)))
            load_image_fully(img, path)
    except CorruptImageError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptImageError(f"{path} does not decode as an image: {exc}") from exc
    return width, height


def store_image(source, target, *, max_side=MAX_SIDE, quality=90):
    """Decode ``source`` by content and store it at ``target`` as a JPEG.

    The image is decoded whatever its file name says (some TACO originals are
    PNGs named ``.jpg``), turned upright following its EXIF orientation,
    converted to RGB or kept gray (transparency on black, 16-bit data by its
    bit depth: the mode rules of ImageResizer) and downscaled once so that its long side
    is at most ``max_side``. A file that is already such a JPEG is kept
    byte for byte. The write is atomic. ``source`` may be ``target`` itself.

    Returns
    -------
    width, height : int
        Size of the stored image.

    Raises
    ------
    CorruptImageError
        If ``source`` does not decode as an image (truncated data included,
        whatever Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES`` says).
    OSError
        If ``target`` cannot be written (its message names the file).
    """
    from PIL import Image

    source, target = Path(source), Path(target)
    try:
        with strict_reading(Image.open(source)) as img:
            width, height = img.size
            orientation = img.getexif().get(0x0112, 1)
            keep = (
                img.format == "JPEG"
                and img.mode in ("RGB", "L")
                and max(width, height) <= max_side
                and orientation in (None, 1)
            )
            if keep:
                load_image_fully(img, source)  # validates the whole file
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise CorruptImageError(f"{source} does not decode as an image: {exc}") from exc
    if keep:
        if source != target:
            os.replace(source, target)
        return width, height
    try:
        with strict_reading(Image.open(source)) as img:
            scale = max_side / max(width, height)
            if scale < 1:
                img.draft(None, (int(width * scale) + 1, int(height * scale) + 1))
            # Truncated data is an error in every format, whatever Pillow's
            # ImageFile.LOAD_TRUNCATED_IMAGES says: never store a cut file.
            load_image_fully(img, source)
            img = to_l_or_rgb(upright(img), source=str(source))
    except CorruptImageError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise CorruptImageError(f"{source} does not decode as an image: {exc}") from exc
    if max(img.size) > max_side:
        scale = max_side / max(img.size)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    with temporary_path(target) as tmp:
        img.save(tmp, format="JPEG", quality=quality)
        os.replace(tmp, target)
    return img.size


def make_bunch(coco, root, present, missing, descr):
    """The Bunch returned by the TACO loaders.

    Parameters
    ----------
    coco : dict
        The full COCO dict.
    root : Path
        Folder holding the images under their ``file_name``.
    present : dict
        ``image position -> (width, height)`` of the images on disk.
    missing : dict
        ``file_name -> reason`` for the requested images that are not.
    descr : str
    """
    keep = sorted(present)
    images = [coco["images"][i] for i in keep]
    kept_ids = {img["id"] for img in images}
    sub = {
        key: value
        for key, value in coco.items()
        if key not in ("images", "annotations", "scene_annotations")
    }
    sub["images"] = images
    sub["annotations"] = [a for a in coco["annotations"] if a["image_id"] in kept_ids]
    if "scene_annotations" in coco:
        sub["scene_annotations"] = [
            a for a in coco["scene_annotations"] if a.get("image_id") in kept_ids
        ]
    index = index_coco(sub)
    sizes = np.array([present[i] for i in keep], dtype=np.int64).reshape(-1, 2)
    return Bunch(
        filenames=np.array([str(root / name) for name in index.file_names], dtype=str),
        image_ids=index.image_ids,
        annotations=sub,
        categories=index.categories,
        supercategories=index.supercategories,
        width=sizes[:, 0],
        height=sizes[:, 1],
        missing=missing,
        data_home=str(root),
        DESCR=descr,
    )
