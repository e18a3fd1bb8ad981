"""ImageResizer: files and arrays in, fixed-size rows out."""

import os
import pickle
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import make_photo
from PIL import Image, ImageFile
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from litterlearn.preprocessing import ImageResizer
from litterlearn.preprocessing._resize import _decode, _Spec

BG = (10, 200, 30)  # a background colour no test image contains


def gray_of(rgb):
    """Pillow's "L" of uint8 RGB (ITU-R 601-2, fixed point as in Pillow)."""
    rgb = rgb.astype(np.int64)
    luma = rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471
    return ((luma + 0x8000) >> 16).astype(np.uint8)


def save(path, image, **kwargs):
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    image.save(path, **kwargs)
    return str(path)


def resize_files(paths, **params):
    """Transform files; return (n, H, W, C) images."""
    resizer = ImageResizer(**params).fit(paths)
    return resizer.transform(paths).reshape(len(paths), *resizer.image_shape_)


def resize_arrays(images, **params):
    resizer = ImageResizer(**params)
    return resizer.fit_transform(images).reshape(len(images), *resizer.image_shape_)


def lanczos_reference(gray, size):
    """Careful reference: full resolution, float, full LANCZOS (no shortcuts)."""
    height, width = size
    im = Image.fromarray(gray.astype(np.float32))
    return np.asarray(im.resize((width, height), Image.Resampling.LANCZOS))


# ------------------------------------------------------------------ geometry


@pytest.mark.parametrize("fit_mode", ["pad", "crop", "stretch"])
@pytest.mark.parametrize("size", [7, (6, 10), (10, 4)])
@pytest.mark.parametrize("color", ["rgb", "gray"])
def test_output_shape_and_dtype(tmp_path, rng, fit_mode, size, color):
    paths = [
        save(tmp_path / "wide.png", make_photo(rng, 20, 50)),
        save(tmp_path / "tall.jpg", make_photo(rng, 45, 18)),
    ]
    h, w = (size, size) if isinstance(size, int) else size
    c = 3 if color == "rgb" else 1
    resizer = ImageResizer(size, fit_mode=fit_mode, color=color).fit(paths)
    rows = resizer.transform(paths)
    assert resizer.image_shape_ == (h, w, c)
    assert rows.shape == (2, h * w * c)
    assert rows.dtype == np.uint8 and rows.flags.c_contiguous
    assert not hasattr(resizer, "n_features_in_")
    assert len(resizer.get_feature_names_out()) == h * w * c


def test_pad_letterboxes_keeping_the_aspect_ratio():
    # A white 30x60 image (aspect 1:2) padded into 20x20 fills rows 5..14.
    white = np.full((1, 30, 60), 255, np.uint8)
    out = resize_arrays(white, size=20, color="gray", background=7)[0, ..., 0]
    assert (out[5:15] == 255).all()
    assert (out[:5] == 7).all() and (out[15:] == 7).all()
    # Into a 20x40 box it fits exactly: no padding at all.
    out = resize_arrays(white, size=(20, 40), color="gray", background=7)
    assert (out == 255).all()


def test_pad_uses_the_background_colour_in_rgb_and_gray():
    white = np.full((1, 10, 40, 3), 255, np.uint8)
    rgb = resize_arrays(white, size=8, background=BG)[0]
    assert (rgb[0, 0] == BG).all() and (rgb[4, 4] == 255).all()
    gray = resize_arrays(white, size=8, color="gray", background=BG)[0, ..., 0]
    assert gray[0, 0] == gray_of(np.array(BG)) and gray[4, 4] == 255


def test_crop_keeps_the_center_and_stretch_keeps_everything():
    # Three vertical bands, 20 px tall: red (30 px) | green (40) | blue (30).
    bands = np.zeros((1, 20, 100, 3), np.uint8)
    for k, (start, stop) in enumerate([(0, 30), (30, 70), (70, 100)]):
        bands[0, :, start:stop, k] = 255
    # The center 20x20 is green, and so is the filter's reach around it.
    crop = resize_arrays(bands, size=10, fit_mode="crop")[0]
    assert (crop == (0, 255, 0)).all()
    stretch = resize_arrays(bands, size=(10, 50), fit_mode="stretch")[0]
    assert (stretch[:, 0] == (255, 0, 0)).all()
    assert (stretch[:, 25] == (0, 255, 0)).all()
    assert (stretch[:, -1] == (0, 0, 255)).all()


def test_crop_of_a_tall_image_keeps_its_middle():
    tall = np.zeros((1, 60, 20), np.uint8)
    tall[0, 10:50] = 255  # the center 20x20, and the filter's reach around it
    out = resize_arrays(tall, size=(10, 10), fit_mode="crop", color="gray")
    assert (out >= 250).all()


# ---------------------------------------------------------------------- EXIF

# exif_transpose applies these Pillow transposes; save the inverse so the
# file, once oriented, is the upright image.
INVERSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # undone by ROTATE_270
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,  # undone by ROTATE_90
}


def upright_pattern(height, width):
    """An asymmetric picture: every flip or rotation of it looks different."""
    img = np.zeros((height, width, 3), np.uint8)
    img[: height // 2, : width // 2] = (255, 0, 0)  # red top-left
    img[: height // 2, width // 2 :] = (0, 255, 0)  # green top-right
    img[height // 2 :, : width // 3] = (0, 0, 255)  # blue bottom-left third
    img[height // 2 :, width // 3 :] = (255, 255, 0)  # yellow rest
    return img


def save_oriented(path, upright, orientation, **kwargs):
    im = Image.fromarray(upright)
    if INVERSE[orientation] is not None:
        im = im.transpose(INVERSE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(path, exif=exif, **kwargs)
    return str(path)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_png_is_exact(tmp_path, orientation):
    upright = upright_pattern(24, 40)
    path = save_oriented(tmp_path / "o.png", upright, orientation)
    out = resize_files([path], size=(12, 20), fit_mode="stretch")[0]
    expected = resize_arrays(upright[None], size=(12, 20), fit_mode="stretch")[0]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("fit_mode", ["pad", "crop", "stretch"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_jpeg_with_draft(tmp_path, orientation, fit_mode):
    # 203x157 is not a multiple of the 8-pixel DCT scale: the reduced decode
    # has a partial last row and column, wherever the orientation puts it.
    upright = upright_pattern(157, 203)
    path = save_oriented(tmp_path / "o.jpg", upright, orientation, quality=95)
    params = {"size": (10, 16), "fit_mode": fit_mode}
    out = resize_files([path], **params)[0].astype(int)
    expected = resize_arrays(upright[None], **params)[0].astype(int)
    assert np.abs(out - expected).mean() < 3
    # Every wrong orientation is far off (the test can tell them apart).
    for wrong in (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM):
        flipped = np.asarray(Image.fromarray(upright).transpose(wrong))
        other = resize_arrays(flipped[None], **params)[0].astype(int)
        assert np.abs(other - expected).mean() > 30


@pytest.mark.parametrize("orientation", range(1, 9))
def test_reduced_decode_keeps_the_geometry_exact(tmp_path, orientation):
    # 1003x797 decodes at 1/8 scale to 126x100 pixels, the last column and
    # row only partly covered (1003 / 8 = 125.375). Counting them as whole
    # pixels, or on the wrong side once oriented, shifts the sharp edges of
    # the pattern and shows as a mean error of ~1.8 levels instead of ~0.25.
    upright = upright_pattern(797, 1003)
    path = save_oriented(tmp_path / "o.jpg", upright, orientation, quality=95)
    params = {"size": (40, 50), "fit_mode": "stretch"}
    out = resize_files([path], **params)[0].astype(float)
    expected = resize_arrays(upright[None], **params)[0].astype(float)
    assert np.abs(out - expected).mean() < 0.6


# ---------------------------------------------------------------------- modes

H, W = 12, 16


def convert_file(path, color):
    """The file's pixels as ImageResizer converts them (same size: no resampling)."""
    out = resize_files(
        [path], size=(H, W), fit_mode="stretch", color=color, background=BG
    )
    return out[0]


def expected_pair(rgb=None, gray=None):
    """Expected (rgb, gray) outputs from an RGB or a gray uint8 image."""
    if rgb is None:
        return np.repeat(gray[..., None], 3, axis=-1), gray[..., None]
    return rgb, gray_of(rgb)[..., None]


def composite(color, alpha, background):
    a = alpha.astype(np.float64)[..., None] / 255
    return np.rint(color * a + np.asarray(background) * (1 - a)).astype(np.uint8)


def mode_case(mode, rng, tmp_path):
    """Write a file in ``mode``; return its path and the expected (rgb, gray)."""
    base = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (H, W), dtype=np.uint8)
    alpha[0, :4] = (0, 255, 0, 255)  # fully transparent and opaque pixels
    if mode == "1":
        mask = np.where(base[..., 0] > 127, 255, 0).astype(np.uint8)
        path = save(tmp_path / "m.png", Image.fromarray(mask).convert("1"))
        return path, expected_pair(gray=mask)
    if mode in ("P", "P-transparency"):
        pal = Image.fromarray(base).quantize(16)
        rgb = np.asarray(pal.convert("RGB")).copy()
        if mode == "P":
            return save(tmp_path / "m.png", pal), expected_pair(rgb)
        index = np.asarray(pal)
        transparent = int(index[0, 0])
        rgb[index == transparent] = BG
        path = save(tmp_path / "m.png", pal, transparency=transparent)
        return path, expected_pair(rgb)
    if mode == "L-transparency":  # a PNG tRNS grey level
        gray = base[..., 0]
        transparent = int(gray[0, 0])
        rgb = np.repeat(gray[..., None], 3, axis=-1)
        rgb[gray == transparent] = BG
        path = save(tmp_path / "m.png", gray, transparency=transparent)
        return path, expected_pair(rgb)
    if mode == "RGBA":
        im = Image.fromarray(np.dstack([base, alpha]))
        return save(tmp_path / "m.png", im), expected_pair(composite(base, alpha, BG))
    if mode == "LA":
        gray = base[..., 0]
        im = Image.fromarray(np.dstack([gray, alpha]))
        rgb = composite(np.repeat(gray[..., None], 3, -1), alpha, BG)
        return save(tmp_path / "m.png", im), expected_pair(rgb)
    if mode == "PA":
        pal = Image.fromarray(base).quantize(16)
        pa = pal.convert("PA")
        pa.putalpha(Image.fromarray(alpha))
        rgb = composite(np.asarray(pal.convert("RGB")), alpha, BG)
        return save(tmp_path / "m.tif", pa), expected_pair(rgb)
    if mode in ("CMYK", "YCbCr"):
        im = Image.fromarray(base).convert(mode)
        rgb = np.asarray(im.convert("RGB"))  # Pillow's own conversion
        return save(tmp_path / "m.tif", im), expected_pair(rgb)
    if mode in ("I;16", "I;16B"):
        values = rng.integers(0, 65536, (H, W)).astype(np.uint16)
        values[0, :3] = (0, 65535, 257 * 100)
        dtype = "<u2" if mode == "I;16" else ">u2"
        im = Image.frombytes(mode, (W, H), values.astype(dtype).tobytes())
        gray = np.rint(values / 257).astype(np.uint8)
        suffix = "png" if mode == "I;16" else "tif"
        return save(tmp_path / f"m.{suffix}", im), expected_pair(gray=gray)
    if mode == "I":
        values = rng.integers(-100, 70000, (H, W)).astype(np.int32)
        im = Image.fromarray(values)
        gray = np.rint(np.clip(values, 0, 65535) / 257).astype(np.uint8)
        return save(tmp_path / "m.tif", im), expected_pair(gray=gray)
    if mode == "F":
        values = rng.uniform(-0.2, 1.2, (H, W)).astype(np.float32)
        im = Image.fromarray(values)
        gray = np.clip(np.rint(values * 255), 0, 255).astype(np.uint8)
        return save(tmp_path / "m.tif", im), expected_pair(gray=gray)
    raise AssertionError(mode)


MODES = [
    "1",
    "P",
    "P-transparency",
    "L-transparency",
    "RGBA",
    "LA",
    "PA",
    "CMYK",
    "YCbCr",
]
MODES += ["I;16", "I;16B", "I", "F"]


@pytest.mark.parametrize("mode", MODES)
def test_every_pillow_mode_converts_sensibly(mode, rng, tmp_path):
    path, (rgb, gray) = mode_case(mode, rng, tmp_path)
    opened = Image.open(path)
    assert opened.mode == mode.split("-")[0]  # the file really is in that mode
    opened.close()
    # Composited pixels may round differently by one level.
    tol = 1 if mode in ("RGBA", "LA", "PA") else 0
    np.testing.assert_allclose(convert_file(path, "rgb"), rgb, atol=tol, rtol=0)
    np.testing.assert_allclose(convert_file(path, "gray"), gray, atol=tol, rtol=0)


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    # Pillow's convert("L") clips 16-bit data at 255: a dark-to-bright ramp
    # would be almost all white. Scaled, it stays a ramp.
    ramp = np.linspace(0, 65535, H * W).reshape(H, W).astype(np.uint16)
    path = save(tmp_path / "ramp.png", Image.fromarray(ramp))
    out = convert_file(path, "gray")[..., 0].astype(int)
    assert out.min() == 0 and out.max() == 255
    assert np.abs(out.mean() - 127.5) < 2


def test_gray_matches_pillow_l(tmp_path, rng):
    photo = make_photo(rng, 48, 64)
    png = save(tmp_path / "p.png", photo)
    jpg = save(tmp_path / "p.jpg", photo, quality=90)
    params = {"size": (48, 64), "fit_mode": "stretch", "color": "gray"}
    out_png, out_jpg = resize_files([png, jpg], **params)[..., 0].astype(int)
    np.testing.assert_array_equal(out_png, np.asarray(Image.open(png).convert("L")))
    # A JPEG is decoded straight to luminance: libjpeg's Y, within rounding.
    pillow_l = np.asarray(Image.open(jpg).convert("L")).astype(int)
    assert np.abs(out_jpg - pillow_l).mean() < 0.5
    assert np.abs(out_jpg - pillow_l).max() <= 3
    # ... and so are resized images.
    small = resize_files([jpg], size=12, fit_mode="stretch", color="gray")[0, ..., 0]
    reference = lanczos_reference(pillow_l, (12, 12))
    assert np.abs(small - reference).max() <= 2


# ---------------------------------------------------------------- JPEG draft


@pytest.fixture
def big_jpeg(tmp_path):
    photo = make_photo(np.random.default_rng(1), 600, 800)
    return save(tmp_path / "big.jpg", photo, quality=90), photo


def decoded_size(path, size, fit_mode="pad", color="rgb"):
    h, w = (size, size) if isinstance(size, int) else size
    spec = _Spec(h, w, fit_mode, color == "gray", (0, 0, 0))
    with Image.open(path) as im:
        decoded, box = _decode(im, spec)
        return decoded.size, decoded.mode, box


def test_big_jpegs_are_decoded_at_reduced_scale(big_jpeg):
    path, _ = big_jpeg
    # The decode covers twice what the output needs, at the smallest DCT scale.
    # 800x600 -> 16x16 needs 32x32: the 1/8 scale (100x75).
    assert decoded_size(path, 16) == ((100, 75), "RGB", (0, 0, 100, 75))
    # Gray asks libjpeg for the luminance plane only.
    assert decoded_size(path, 16, color="gray")[:2] == ((100, 75), "L")
    # 60x60 "pad" needs 60x45, twice is 120x90: 1/4 scale (200x150).
    assert decoded_size(path, 60)[0] == (200, 150)
    # "crop" to 60x60 needs the whole image at 80x60, twice 160x120: 1/4 too.
    assert decoded_size(path, 60, fit_mode="crop")[0] == (200, 150)
    # A 90x90 "crop" needs 120x90, twice 240x180: 1/2 scale (400x300).
    assert decoded_size(path, 90, fit_mode="crop")[0] == (400, 300)
    # "stretch" to 90x90 needs 90x90, twice 180x180: 1/2 scale as well.
    assert decoded_size(path, 90, fit_mode="stretch")[0] == (400, 300)
    # Close to the image size: full decode.
    assert decoded_size(path, 300, fit_mode="crop")[0] == (800, 600)


def test_draft_request_uses_the_oriented_size(tmp_path, big_jpeg):
    _, photo = big_jpeg
    # Upright 800x600 (width x height), stored transposed with EXIF 6.
    path = save_oriented(tmp_path / "rot.jpg", photo, 6, quality=90)
    with Image.open(path) as im:
        assert im.size == (600, 800)
    # A 20-tall, 200-wide output needs 400x40 of the upright picture (twice
    # 200x20): 1/2 scale. Read off the stored size, it would get none.
    size, _, box = decoded_size(path, (20, 200), fit_mode="stretch")
    assert size == (400, 300) and box == (0, 0, 400, 300)
    # A 200-tall output needs 400 rows of 600: a full decode. Read off the
    # stored size, it would get 1/2 scale, only 300 rows.
    assert decoded_size(path, (200, 20), fit_mode="stretch")[0] == (800, 600)


def test_draft_stays_within_two_grey_levels_of_full_resolution(big_jpeg):
    path, _ = big_jpeg
    full = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    reference = lanczos_reference(full, (16, 16))
    out = resize_files([path], size=16, fit_mode="stretch", color="gray")[0, ..., 0]
    assert np.abs(out - reference).mean() < 2
    assert np.abs(out - reference).max() <= 6


# ------------------------------------------------------------------- threads


def test_threads_give_the_same_result_in_the_same_order(image_folder):
    paths, _ = image_folder
    one = ImageResizer(16, n_jobs=None).fit_transform(paths)
    two = ImageResizer(16, n_jobs=2).fit_transform(paths)
    every = ImageResizer(16, n_jobs=-1).fit_transform(paths)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, every)
    # Row i is file i.
    single = ImageResizer(16).fit_transform([paths[5]])
    np.testing.assert_array_equal(two[5], single[0])


def test_threads_on_arrays(rng):
    images = rng.integers(0, 256, (6, 20, 30, 3), dtype=np.uint8)
    one = ImageResizer(8).fit_transform(images)
    two = ImageResizer(8, n_jobs=2).fit_transform(images)
    np.testing.assert_array_equal(one, two)


# -------------------------------------------------------------------- errors


@pytest.fixture
def bad_files(tmp_path, rng):
    good = save(tmp_path / "good.jpg", make_photo(rng, 64, 64), quality=90)
    data = Path(good).read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image\n" * 20)
    return {
        "good": good,
        "truncated": str(truncated),
        "empty": str(empty),
        "text": str(text),
        "missing": str(tmp_path / "missing.jpg"),
    }


@pytest.mark.parametrize(
    "kind, error, words",
    [
        ("missing", FileNotFoundError, "not found"),
        ("empty", ValueError, "empty"),
        ("truncated", ValueError, "truncated"),
        ("text", ValueError, "not an image"),
    ],
)
@pytest.mark.parametrize("n_jobs", [None, 2])
def test_bad_files_fail_naming_the_file(bad_files, kind, error, words, n_jobs):
    paths = [bad_files["good"], bad_files[kind], bad_files["good"]]
    resizer = ImageResizer(8, n_jobs=n_jobs).fit(paths)
    with pytest.raises(error, match=words) as info:
        resizer.transform(paths)
    assert bad_files[kind] in str(info.value)


def test_truncated_jpeg_fails_even_if_pillow_is_told_to_load_them(
    bad_files, monkeypatch
):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with Image.open(bad_files["truncated"]) as im:
        im.load()  # Pillow itself now accepts the broken file silently
    with pytest.raises(ValueError, match="truncated"):
        ImageResizer(8).fit_transform([bad_files["truncated"]])


def image_bytes(fmt, **save_params):
    """A 64x64 RGB image in ``fmt``, as bytes."""
    import io

    photo = Image.fromarray(make_photo(np.random.default_rng(3), 64, 64))
    if fmt == "GIF":
        photo = photo.convert("P")
    buf = io.BytesIO()
    photo.save(buf, format=fmt, **save_params)
    return buf.getvalue()


# (format, save parameters): each is cut in its header and in its pixel data.
TRUNCATED_FORMATS = {
    "jpeg": ("JPEG", {}),
    "png": ("PNG", {}),
    "tiff": ("TIFF", {}),
    "tiff-lzw": ("TIFF", {"compression": "tiff_lzw"}),
    "bmp": ("BMP", {}),
    "gif": ("GIF", {}),
    "webp": ("WEBP", {}),
    "ico-png": ("ICO", {}),
    "ico-bmp": ("ICO", {"bitmap_format": "bmp"}),
}


@pytest.mark.parametrize("load_truncated", [False, True])
@pytest.mark.parametrize("where", ["header", "data"])
@pytest.mark.parametrize("kind", sorted(TRUNCATED_FORMATS))
def test_truncated_files_fail_naming_the_file_in_every_format(
    tmp_path, monkeypatch, kind, where, load_truncated
):
    # Many training scripts set Pillow's global LOAD_TRUNCATED_IMAGES; with
    # it, Pillow decodes a cut PNG, TIFF or BMP into a partial image silently.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", load_truncated)
    fmt, params = TRUNCATED_FORMATS[kind]
    data = image_bytes(fmt, **params)
    cut = 30 if where == "header" else len(data) * 2 // 3
    path = tmp_path / f"cut-{kind}.img"
    path.write_bytes(data[:cut])
    with pytest.raises(ValueError) as info:
        ImageResizer(8).fit_transform([str(path)])
    assert str(path) in str(info.value)
    # The whole file decodes (the test is about the cut, not the format).
    path.write_bytes(data)
    assert ImageResizer(8).fit_transform([str(path)]).shape == (1, 8 * 8 * 3)


def test_a_bad_file_in_a_parallel_batch_is_named(tmp_path, rng):
    good = save(tmp_path / "good.jpg", make_photo(rng, 32, 32), quality=90)
    data = Path(good).read_bytes()
    bad = tmp_path / "cut-in-its-header.jpg"
    bad.write_bytes(data[:30])  # Pillow: a bare "OSError: Truncated File Read"
    paths = [good] * 50
    paths[37] = str(bad)
    with pytest.raises(ValueError, match="cut-in-its-header.jpg") as info:
        ImageResizer(8, n_jobs=2).fit_transform(paths)
    assert "truncated" in str(info.value).lower()


def test_paths_must_be_str_not_bytes_and_not_empty(bad_files):
    with pytest.raises(TypeError, match=r"not bytes.*X\[0\]"):
        ImageResizer(8).fit_transform([bad_files["good"].encode()])
    with pytest.raises(TypeError, match="not bytes"):
        ImageResizer(8).fit_transform(np.array([bad_files["good"].encode()]))
    with pytest.raises(ValueError, match="X is empty"):
        ImageResizer(8).fit([])
    resizer = ImageResizer(8).fit([bad_files["good"]])
    with pytest.raises(ValueError, match="X is empty"):
        resizer.transform([])


def test_images_of_different_sizes_fail_clearly():
    images = [np.zeros((4, 4), np.uint8), np.zeros((5, 5), np.uint8)]
    with pytest.raises(ValueError, match=r"different shapes.*X\[1\].*\(5, 5\)"):
        ImageResizer(8).fit_transform(images)


def test_floats_beyond_float32_fail_instead_of_becoming_inf():
    images = np.full((2, 4, 4), 1e300)
    with pytest.raises(ValueError, match="float32"):
        ImageResizer(8).fit_transform(images)


def test_a_directory_or_a_decompression_bomb_fails_naming_it(
    bad_files, tmp_path, monkeypatch
):
    with pytest.raises(IsADirectoryError, match=str(tmp_path)) as info:
        ImageResizer(8).fit_transform([str(tmp_path)])
    assert "load_image_folder" in str(info.value)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64x64 is 2x over
    with pytest.raises(ValueError, match="good.jpg.*DecompressionBomb"):
        ImageResizer(8).fit_transform([bad_files["good"]])


def test_first_failing_file_is_reported(bad_files):
    paths = [bad_files["good"]] * 5 + [bad_files["text"], bad_files["empty"]]
    with pytest.raises(ValueError, match="notes.jpg"):
        ImageResizer(8, n_jobs=2).fit_transform(paths)


def test_paths_must_be_a_sequence_of_paths(bad_files):
    with pytest.raises(TypeError, match="not a single path"):
        ImageResizer(8).fit(bad_files["good"])
    with pytest.raises(TypeError, match=r"X\[1\]"):
        ImageResizer(8).fit([bad_files["good"], 3])


def test_parameter_errors():
    images = np.zeros((2, 4, 4), np.uint8)
    for size in [0, (2,), (2, 0), (2, 2.5), "50"]:
        with pytest.raises((ValueError, InvalidParameterError)):
            ImageResizer(size).fit(images)
    for background in [-1, 256, (1, 2), (0, 0, 300)]:
        with pytest.raises((ValueError, InvalidParameterError)):
            ImageResizer(2, background=background).fit(images)
    with pytest.raises(InvalidParameterError, match="fit_mode"):
        ImageResizer(2, fit_mode="zoom").fit(images)
    with pytest.raises(InvalidParameterError, match="color"):
        ImageResizer(2, color="cmyk").fit(images)
    with pytest.raises(ValueError, match="n_jobs"):
        ImageResizer(2, n_jobs=0).fit_transform(images)
    with pytest.raises(ValueError, match="channels"):
        ImageResizer(2).fit(np.zeros((2, 4, 4, 5), np.uint8))


# -------------------------------------------------------------- input kinds


def test_paths_as_list_tuple_array_and_pathlike(image_folder):
    paths, _ = image_folder
    paths = paths[:4]
    expected = ImageResizer(10).fit_transform(list(paths))
    for X in (tuple(paths), np.asarray(paths), [Path(p) for p in paths]):
        np.testing.assert_array_equal(ImageResizer(10).fit_transform(X), expected)
    objects = np.asarray([Path(p) for p in paths], dtype=object)
    np.testing.assert_array_equal(ImageResizer(10).fit_transform(objects), expected)


def test_paths_as_pandas_series(image_folder):
    pd = pytest.importorskip("pandas")
    paths, _ = image_folder
    expected = ImageResizer(10).fit_transform(list(paths[:3]))
    series = pd.Series(paths[:3], index=[7, 3, 5])
    np.testing.assert_array_equal(ImageResizer(10).fit_transform(series), expected)


def test_fit_on_paths_transforms_any_paths(image_folder):
    paths, _ = image_folder
    resizer = ImageResizer(10).fit(paths[:2])
    assert resizer.transform(paths[5:9]).shape == (4, 300)


def test_array_inputs_rows_3d_4d(rng):
    images = rng.integers(0, 256, (3, 12, 18, 3), dtype=np.uint8)
    resizer = ImageResizer(6).fit(images)
    assert resizer.n_features_in_ == 12 * 18 * 3
    assert resizer.input_image_shape_ == (12, 18, 3)
    out = resizer.transform(images)
    assert out.dtype == np.uint8 and out.shape == (3, 108)
    rows = images.reshape(3, -1)
    from_rows = ImageResizer(6, image_shape=(12, 18, 3)).fit_transform(rows)
    np.testing.assert_array_equal(from_rows, out)
    # Gray (n, H, W) to RGB repeats the channel.
    gray = images[..., 0]
    rgb = resize_arrays(gray, size=6)
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])
    # A later fit on paths forgets the array's shape.
    assert resizer.transform(rows[:1]).shape == (1, 108)


def test_refit_on_paths_forgets_array_attributes(image_folder, rng):
    paths, _ = image_folder
    resizer = ImageResizer(6).fit(rng.integers(0, 256, (2, 8, 8), dtype=np.uint8))
    assert hasattr(resizer, "n_features_in_")
    resizer.fit(paths[:2])
    assert not hasattr(resizer, "n_features_in_")
    assert not hasattr(resizer, "input_image_shape_")


def test_float_arrays_stay_float_without_clipping(rng):
    images = rng.uniform(-0.5, 2.0, (2, 20, 30, 3)).astype(np.float32)
    resizer = ImageResizer((10, 15), fit_mode="stretch")
    out = resizer.fit_transform(images).reshape(2, 10, 15, 3)
    assert out.dtype == np.float32
    # Per channel, resampled as Pillow does in floating point ("F").
    expected = np.asarray(
        Image.fromarray(images[1, ..., 2]).resize((15, 10), Image.Resampling.LANCZOS)
    )
    np.testing.assert_allclose(out[1, ..., 2], expected, atol=1e-5)
    assert out.min() < 0 and out.max() > 1  # no clipping
    # A constant stays that constant, not quantised to 1/255 steps.
    flat = np.full((1, 20, 30), 0.3337, np.float32)
    np.testing.assert_allclose(resize_arrays(flat, size=7, fit_mode="crop"), 0.3337)
    # float64 input gives float32 too.
    assert ImageResizer(4).fit_transform(images.astype(np.float64)).dtype == np.float32


def test_float_arrays_gray_pad_and_alpha():
    # Gray is the ITU-R 601-2 luminance; padding is background / 255.
    rgb = np.zeros((1, 10, 20, 3), np.float32)
    rgb[..., 1] = 1.0
    out = resize_arrays(rgb, size=10, color="gray", background=255)[0, ..., 0]
    np.testing.assert_allclose(out[5], 0.587, atol=1e-6)
    np.testing.assert_allclose(out[0], 1.0, atol=1e-6)
    # Alpha (0..1) composites on the background.
    rgba = np.zeros((1, 4, 4, 4), np.float32)
    rgba[..., 0] = 1.0
    rgba[..., 3] = 0.25
    out = resize_arrays(rgba, size=4, background=(0, 0, 255))[0]
    np.testing.assert_allclose(out[0, 0], [0.25, 0, 0.75], atol=1e-6)


def test_uint8_alpha_arrays_composite_on_background():
    rgba = np.zeros((1, 4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 0
    out = resize_arrays(rgba, size=4, background=BG)[0]
    assert (out == BG).all()


# ------------------------------------------- determinism, pickle and caching


def test_deterministic_and_picklable(image_folder):
    paths, _ = image_folder
    resizer = ImageResizer((12, 9), fit_mode="crop", color="gray").fit(paths)
    first = resizer.transform(paths)
    clone = pickle.loads(pickle.dumps(resizer))
    np.testing.assert_array_equal(clone.transform(paths), first)
    np.testing.assert_array_equal(resizer.transform(paths), first)


def test_pipeline_memory_cache_is_hit(image_folder, tmp_path):
    paths, y = image_folder
    paths = [str(p) for p in paths]

    def make():
        return Pipeline(
            [("resize", ImageResizer(8)), ("clf", LogisticRegression(max_iter=50))],
            memory=str(tmp_path / "cache"),
        )

    first = make().fit(paths, y)
    # The second fit must not read the files: delete them to be sure.
    for p in paths:
        os.remove(p)
    second = make().fit(paths, y)
    np.testing.assert_array_equal(second[-1].coef_, first[-1].coef_)
    with pytest.raises(FileNotFoundError):
        second.predict(paths)  # predict does read them (no cache there)


def test_sklearn_checks_cover_image_resizer():
    # tests/test_common.py runs scikit-learn's checks on what discovery finds.
    from litterlearn.utils.discovery import all_estimators

    assert dict(all_estimators())["ImageResizer"] is ImageResizer


def test_a_2d_array_of_paths_says_to_pass_a_1d_sequence(tmp_path):
    paths = np.array([["a.jpg", "b.jpg"], ["c.jpg", "d.jpg"]])
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*1-D sequence"):
        ImageResizer(8).fit_transform(paths)


def test_file_paths_given_to_an_array_step_say_to_decode_them():
    from litterlearn.preprocessing import GrayscaleNormalizer

    with pytest.raises(TypeError, match=r"not file paths.*ImageResizer\(50\)"):
        GrayscaleNormalizer().fit(["a.jpg", "b.jpg"])


@pytest.mark.parametrize("container", ["j2k", "jp2"])
@pytest.mark.parametrize("tiles", [None, (32, 32)], ids=["one-tile", "tiled"])
def test_a_cut_jpeg2000_closed_with_an_end_marker_is_truncated(
    tmp_path, monkeypatch, container, tiles
):
    # With Pillow's LOAD_TRUNCATED_IMAGES on, OpenJPEG decodes the missing
    # part of such a file as black, without a word.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    params = {"no_jp2": container == "j2k"}
    if tiles:
        params["tile_size"] = tiles
    data = image_bytes("JPEG2000", **params)
    cut = data[: len(data) * 3 // 5] + b"\xff\xd9"  # a forged end marker
    if container == "jp2":  # the codestream box's length, fixed up to fit
        box = cut.find(b"jp2c") - 4
        cut = cut[:box] + struct.pack(">I", len(cut) - box) + cut[box + 4 :]
    path = tmp_path / f"cut.{container}"
    path.write_bytes(cut)
    with pytest.raises(ValueError, match=r"cut\.j.*truncated.*tile-part"):
        ImageResizer(8).fit_transform([str(path)])
    path.write_bytes(data)
    assert ImageResizer(8).fit_transform([str(path)]).shape == (1, 8 * 8 * 3)


def test_float_images_holding_0_to_255_warn_naming_the_file(tmp_path, rng):
    values = rng.uniform(0, 255, (16, 16)).astype(np.float32)
    path = tmp_path / "spider-like.tif"
    Image.fromarray(values).save(path)  # mode "F", as SPIDER files are
    with pytest.warns(UserWarning, match=r"spider-like.tif.*up to 25\d.*0\.\.1"):
        rows = ImageResizer(8).fit_transform([str(path)])
    assert rows.mean() > 250  # taken as 0..1, as documented: nearly white
    Image.fromarray(values / 255).save(path)  # the same data in 0..1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert 100 < ImageResizer(8).fit_transform([str(path)]).mean() < 155
