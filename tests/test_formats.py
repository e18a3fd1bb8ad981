"""Every image format Pillow reads, valid and cut short, through both file paths.

The two paths that decode user files are ImageResizer (files to rows) and
the storing step of fetch_taco (``store_image``: any body to a cached JPEG).
For each format Pillow can both write and read here, a small picture is
written, then decoded whole and cut at several points, with Pillow's global
``ImageFile.LOAD_TRUNCATED_IMAGES`` off and on. A cut file must either raise
the documented error naming the file, or give exactly the pixels of the
whole file (some formats end with bytes that hold no pixel: PNG's IEND, a
TGA footer, the other icons of an ICNS).

The module also checks the one set of mode rules (transparency, 16-bit
data, LAB) that both paths share.
"""

import io
import warnings

import numpy as np
import pytest
from PIL import Image, ImageFile

from litterlearn.datasets._base import CorruptImageError, store_image
from litterlearn.preprocessing import ImageResizer

Image.init()
RNG = np.random.default_rng(0)
PICTURE = RNG.integers(0, 256, (24, 32, 3), dtype=np.uint8)
PICTURE[:, :16] = (200, 120, 40)  # a flat half and a noisy half
CUTS = (0.3, 0.6, 0.9, 0.99)


def _encode(fmt):
    """The picture in ``fmt``, in the first mode that format writes; or None."""
    for mode in ("RGB", "L", "P", "1"):
        image = Image.fromarray(PICTURE).convert(mode)
        buf = io.BytesIO()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # IM
                image.save(buf, format=fmt)
                with Image.open(io.BytesIO(buf.getvalue())) as check:
                    check.load()
        except Exception:  # this format cannot write (or read back) this mode
            continue
        return buf.getvalue()
    return None


ENCODED = {fmt: _encode(fmt) for fmt in sorted(set(Image.SAVE) & set(Image.OPEN))}
FORMATS = sorted(fmt for fmt, data in ENCODED.items() if data is not None)


def test_the_common_formats_are_all_covered():
    # The writers Pillow lacks here are plugins with no encoder of their own
    # (BUFR, GRIB, HDF5, WMF need handlers) or an external program (EPS).
    assert {"JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "JPEG2000"} <= set(FORMATS)
    for fmt in set(ENCODED) - set(FORMATS):
        assert fmt in {"BUFR", "GRIB", "HDF5", "WMF", "EPS", "AVIF"}, fmt


def _resize(path):
    return ImageResizer(8, fit_mode="stretch").fit_transform([str(path)])


def _store(source, tmp_path):
    target = tmp_path / f"stored-{source.name}.jpg"
    store_image(source, target)
    with Image.open(target) as stored:
        return np.asarray(stored.convert("RGB"))


# Pillow deprecates some old formats (IM) with a warning when they are read.
@pytest.mark.filterwarnings("ignore:.*format is deprecated:DeprecationWarning")
# SPIDER stores the picture's 0..255 as floats, which are taken as 0..1 (and
# warned about: tests/test_resize.py checks the warning).
@pytest.mark.filterwarnings("ignore:.*are taken as 0..1:UserWarning")
@pytest.mark.parametrize("truncated_flag", [False, True], ids=["strict", "lenient"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_whole_and_cut_files_decode_exactly_or_raise(
    fmt, truncated_flag, tmp_path, monkeypatch
):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", truncated_flag)
    data = ENCODED[fmt]
    whole = tmp_path / f"whole.{fmt.lower()}"
    whole.write_bytes(data)
    with Image.open(whole) as reference:
        if reference.mode == "F":  # (SPIDER) floats are documented as 0..1
            scaled = np.clip(np.asarray(reference) * 255, 0, 255).astype(np.uint8)
            reference = Image.fromarray(scaled)
        expected = np.asarray(
            reference.convert("RGB").resize((8, 8), Image.Resampling.LANCZOS),
            dtype=float,
        )
    rows = _resize(whole)
    # The whole file decodes: LANCZOS of the same pixels, give or take the
    # reducing_gap step (a few gray levels on 8x8 of random noise).
    assert np.abs(rows.reshape(8, 8, 3) - expected).mean() < 12
    stored_whole = _store(whole, tmp_path)
    for cut in CUTS:
        path = tmp_path / f"cut{cut}.{fmt.lower()}"
        path.write_bytes(data[: min(len(data) - 1, max(1, int(len(data) * cut)))])
        try:
            cut_rows = _resize(path)
        except ValueError as exc:
            assert str(path) in str(exc)
        else:
            np.testing.assert_array_equal(cut_rows, rows, err_msg=f"{fmt} {cut}")
        try:
            stored = _store(path, tmp_path)
        except CorruptImageError as exc:
            assert str(path) in str(exc)
        else:
            np.testing.assert_array_equal(stored, stored_whole, err_msg=f"{fmt} {cut}")


def test_avif_files_are_read(tmp_path):
    # Pillow's AVIF plugin replaces the image's file object while loading.
    from PIL import features

    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF support")
    path = tmp_path / "flat.avif"
    Image.new("RGB", (32, 24), (150, 150, 150)).save(path)
    rows = _resize(path)
    assert np.abs(rows.astype(int) - 150).max() <= 3  # lossy coding
    assert np.abs(_store(path, tmp_path).astype(int) - 150).max() <= 4


# ------------------------------------------------------------ the mode rules


def _both_paths(path, tmp_path):
    """The picture as ImageResizer gives it (its default background) and as
    fetch_taco stores it, both as RGB arrays of the original size."""
    with Image.open(path) as im:
        width, height = im.size
    rows = ImageResizer((height, width), fit_mode="stretch").fit_transform([str(path)])
    return rows.reshape(height, width, 3), _store(path, tmp_path)


def test_transparency_is_black_on_both_paths(tmp_path):
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[:, :8] = (250, 250, 250, 255)  # opaque white left half
    rgba[:, 8:] = (250, 0, 0, 0)  # fully transparent right half
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    resized, stored = _both_paths(path, tmp_path)
    for image, tolerance in ((resized, 0), (stored, 8)):  # stored: JPEG coding
        assert np.abs(image[:, :6].astype(int) - 250).max() <= tolerance
        assert image[:, 10:].max() <= tolerance


def test_sixteen_bit_images_are_scaled_by_their_bit_depth_on_both_paths(tmp_path):
    # A dark 16-bit picture (every value below 256) stays dark: the bit
    # depth, not the data, decides the range.
    dark = np.full((16, 16), 200, np.uint16)
    dark[:, 8:] = 60000
    path = tmp_path / "dark16.png"
    Image.fromarray(dark).save(path)
    with Image.open(path) as im:
        assert im.mode in ("I;16", "I")
    resized, stored = _both_paths(path, tmp_path)
    for image, tolerance in ((resized, 0), (stored, 3)):
        assert np.abs(image[:, :6].astype(int) - 1).max() <= tolerance  # 200/257
        assert np.abs(image[:, 10:].astype(int) - 233).max() <= tolerance


def test_lab_images_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "lab.tif"
    Image.new("LAB", (8, 8), (128, 0, 0)).save(path)
    with pytest.raises(ValueError, match=r"lab\.tif.*LAB images are not supported"):
        _resize(path)
    with pytest.raises(CorruptImageError, match="LAB images are not supported"):
        _store(path, tmp_path)
