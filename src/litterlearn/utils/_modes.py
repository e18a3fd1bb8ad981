"""Pillow modes to 8-bit gray or RGB: the one set of rules of every image path.

``ImageResizer`` (files and uint8 arrays) and the dataset loaders (the
images ``fetch_taco`` stores) both turn Pillow images into "L" or "RGB"
here, so the same file gives the same pixels through either path:

- **Orientation**: the EXIF orientation tag is applied (all 8 values), by
  :func:`upright`.
- **Transparency** (RGBA, LA, PA, La, RGBa, and P/L/RGB images with a
  transparent colour): the image is composited on a background colour,
  black ``(0, 0, 0)`` unless the caller passes another one (``ImageResizer``'s
  ``background``, which is also its padding colour). Black is what most
  tools give for the fully transparent pixels of common files (they are
  stored as zeros, and dropping the alpha channel shows them black), and
  it keeps the transparent parts and the letterbox padding alike.
- **16-bit and 32-bit integer images** (I;16, I;16B, ..., and "I", which is
  what Pillow makes of 16-bit PNG and TIFF files): the bit depth decides the
  range, never the data: 0..65535 becomes 0..255 (values outside are
  clipped). Pillow's own ``convert("L")`` would clip at 255 instead.
- **Floating point** ("F") images are taken as 0..1; NaN becomes 0. Data
  that clearly holds another range (values above 2, as a SPIDER file or a
  float TIFF of 0..255 does) gives a ``UserWarning``: it would turn white.
- **"1"** (bilevel) becomes 0/255.
- **LAB** is refused: Pillow reads the a/b channels of CIELAB TIFF files in
  another encoding than its own LAB conversion expects, so its colours
  would be wrong without a word.
- Every other mode (P, CMYK, YCbCr, HSV, ...) becomes RGB with Pillow.
- **Gray**: ITU-R 601-2 luma, ``L = 0.299 R + 0.587 G + 0.114 B``, as
  Pillow's ``convert("L")`` (:data:`LUMA_WEIGHTS` for arrays).
"""

from __future__ import annotations

import numpy as np

#: ITU-R 601-2 luma weights of R, G, B (as Pillow's ``convert("L")``).
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)

#: Integer modes scaled from 0..65535 to 0..255.
WIDE_INTEGER_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})

#: Modes kept gray when the caller asks for "whatever the image is".
GRAY_MODES = frozenset({"L", "LA", "La", "1", "F", *WIDE_INTEGER_MODES})


def upright(im):
    """Apply the EXIF orientation of a loaded image, in place; return it."""
    from PIL import ImageOps

    ImageOps.exif_transpose(im, in_place=True)
    return im


def has_transparency(im):
    """Whether ``im`` has an alpha channel or a transparent colour."""
    return im.mode.endswith(("A", "a")) or "transparency" in im.info


def to_l_or_rgb(im, *, gray=None, background=(0, 0, 0), source=None):
    """Convert a loaded Pillow image of any mode to "L" or "RGB".

    Parameters
    ----------
    im : PIL.Image.Image
        A loaded image.
    gray : bool or None, default=None
        True for "L", False for "RGB"; None keeps gray images gray
        (:data:`GRAY_MODES`) and makes the others RGB.
    background : tuple of 3 int, default=(0, 0, 0)
        The colour transparent pixels are composited on.
    source : str, default=None
        The file the image came from, named in warnings.

    Returns
    -------
    image : PIL.Image.Image
        In mode "L" or "RGB".

    Raises
    ------
    ValueError
        For LAB images (see the module's rules).
    """
    from PIL import Image

    mode = im.mode
    if gray is None:
        gray = mode in GRAY_MODES
    if mode == "LAB":
        raise ValueError(
            "LAB images are not supported: Pillow's reading of CIELAB files "
            "does not match its own LAB conversion, so the colours would be "
            "wrong. Convert the file to RGB with an image editor first."
        )
    if mode in WIDE_INTEGER_MODES:
        data = np.asarray(im).astype(np.int64)
        data = (np.clip(data, 0, 65535) * 255 + 32767) // 65535
        im = Image.fromarray(data.astype(np.uint8))
    elif mode == "F":
        data = np.nan_to_num(np.asarray(im, dtype=np.float32), nan=0.0)
        _warn_if_not_unit_range(data, source)
        im = Image.fromarray(np.clip(np.rint(data * 255), 0, 255).astype(np.uint8))
    elif has_transparency(im):
        rgba = im.convert("RGBA")
        im = Image.new("RGB", rgba.size, tuple(background))
        im.paste(rgba, mask=rgba.getchannel("A"))
    elif mode == "1":
        im = im.convert("L")  # 0/255
    elif mode not in ("L", "RGB"):
        im = im.convert("RGB")  # P, CMYK, YCbCr, HSV, ...
    if gray and im.mode != "L":
        im = im.convert("L")
    elif not gray and im.mode != "RGB":
        im = im.convert("RGB")
    return im


# An "F" image in 0..1 with some overshoot (resampling, noise) stays under
# this; 0..255 (or 0..65535) data is far above it.
_UNIT_RANGE_LIMIT = 2.0


def _warn_if_not_unit_range(data, source):
    finite = data[np.isfinite(data)]
    high = float(finite.max()) if finite.size else 0.0
    if high > _UNIT_RANGE_LIMIT:
        import warnings

        where = f"{source!r}" if source is not None else "A floating-point image"
        warnings.warn(
            f'{where} holds floating-point ("F") values up to {high:g}, but '
            f'"F" images are taken as 0..1, so every value above 1 turns white. '
            f"If the data is 0..255, divide it by 255 (or save the image as "
            f"8-bit) first.",
            UserWarning,
            stacklevel=3,
        )
