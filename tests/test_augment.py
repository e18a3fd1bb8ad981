"""Augmenter: each transformation, dtype/range rules, sampling semantics."""

import pickle
import re
from collections import Counter

import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import Pipeline
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from litterlearn.preprocessing import Augmenter

# Every transformation off: the starting point for testing one at a time.
OFF = dict(horizontal_flip=False, rotation=0, shift=0)
ALL_ON = dict(
    horizontal_flip=True,
    vertical_flip=True,
    rotation=30,
    shift=0.2,
    zoom=0.3,
    brightness=0.3,
    contrast=0.5,
    blur=1.5,
    sharpen=2.0,
    erasing=0.5,
    mixing=0.5,
)


def pattern(h=6, w=9, c=1, dtype=np.uint8):
    """An asymmetric image: every pixel distinct, so flips/rotations show."""
    values = np.arange(h * w * c, dtype=np.float64).reshape(h, w, c)
    values = values * (250 / values.max())
    if dtype == np.uint8:
        return np.rint(values).astype(np.uint8)
    return (values / 255).astype(np.float32)


def batch_of(image, n):
    return np.repeat(image[None], n, axis=0)


def photos(rng, n, h, w, c, dtype=np.uint8):
    from conftest import make_photo

    images = np.stack([make_photo(rng, h, w, c) for _ in range(n)])
    if dtype == np.float32:
        return (images / 255).astype(np.float32)
    return images


# -- geometric ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_horizontal_flip_is_np_flip_half_the_time(dtype):
    img = pattern(dtype=dtype)
    out = Augmenter(**{**OFF, "horizontal_flip": True}).augment_batch(
        batch_of(img, 200), random_state=0
    )
    flipped = np.array([np.array_equal(o, img[:, ::-1]) for o in out])
    same = np.array([np.array_equal(o, img) for o in out])
    assert (flipped | same).all()
    assert 60 < flipped.sum() < 140


def test_vertical_flip_is_np_flip_half_the_time():
    img = pattern(c=3)
    out = Augmenter(**{**OFF, "vertical_flip": True}).augment_batch(
        batch_of(img, 200), random_state=0
    )
    flipped = np.array([np.array_equal(o, img[::-1]) for o in out])
    same = np.array([np.array_equal(o, img) for o in out])
    assert (flipped | same).all()
    assert 60 < flipped.sum() < 140


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("channels", [1, 3])
def test_rotation_by_quarter_turns_is_rot90(dtype, channels):
    img = pattern(7, 7, channels, dtype)
    for angle, k in [(90, 1), (-90, -1), (180, 2)]:
        aug = Augmenter(**{**OFF, "rotation": (angle, angle)})
        out = aug.augment_batch(img[None], random_state=0)[0]
        assert_allclose(out, np.rot90(img, k), atol=1e-6)


def test_rotation_by_180_of_a_non_square_image_flips_both_axes():
    img = pattern(4, 11, 3)
    out = Augmenter(**{**OFF, "rotation": (180, 180)}).augment_batch(img[None])[0]
    assert_array_equal(out, img[::-1, ::-1])


def test_small_rotation_interpolates_and_keeps_a_constant_image():
    img = np.full((9, 13, 3), 77, np.uint8)
    out = Augmenter(**{**OFF, "rotation": 25}).augment_batch(batch_of(img, 5))
    assert_array_equal(out, batch_of(img, 5))  # reflect fill: nothing comes in
    # A rotation of a gradient by a non-right angle changes it smoothly.
    grad = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (25, 1))[..., None]
    out = Augmenter(**{**OFF, "rotation": (20, 20)}).augment_batch(grad[None])[0]
    assert not np.array_equal(out, grad)
    assert np.abs(np.diff(out[..., 0].astype(int), axis=1)).max() <= 20


def test_shift_moves_content_by_whole_pixels():
    img = pattern(5, 10, 1, np.float32)
    aug = Augmenter(**{**OFF, "shift": (0.2, 0.2), "fill_mode": "constant"})
    out = aug.augment_batch(img[None])[0]
    # 0.2 of the height (5) is 1 row down, 0.2 of the width (10) 2 columns right.
    assert_array_equal(out[1:, 2:], img[:-1, :-2])
    assert_array_equal(out[0], 0)
    assert_array_equal(out[:, :2], 0)
    wrapped = Augmenter(**{**OFF, "shift": (0.2, 0.2), "fill_mode": "wrap"})
    out = wrapped.augment_batch(img[None])[0]
    assert_array_equal(out, np.roll(img, (1, 2), axis=(0, 1)))


def test_fill_modes_nearest_and_reflect():
    img = pattern(5, 5, 1)
    near = Augmenter(**{**OFF, "shift": (0.4, 0.4), "fill_mode": "nearest"})
    out = near.augment_batch(img[None])[0]
    assert_array_equal(out[:2, 2:], np.repeat(img[:1, :3], 2, axis=0))
    refl = Augmenter(**{**OFF, "shift": (0.4, 0.4), "fill_mode": "reflect"})
    out = refl.augment_batch(img[None])[0]
    assert_array_equal(out[0, 2:], img[1, :3])  # row -2 reflects onto row 1


def test_zoom_enlarges_and_shrinks_about_the_centre():
    img = pattern(9, 9, 1, np.float32)
    zin = Augmenter(**{**OFF, "zoom": (3.0, 3.0)}).augment_batch(img[None])[0]
    # 3x enlargement about the centre (4, 4): output 1, 4, 7 read input 3, 4, 5.
    assert_array_equal(zin[1::3, 1::3], img[3:6, 3:6])
    zout = Augmenter(
        **{**OFF, "zoom": (1 / 3, 1 / 3), "fill_mode": "constant", "fill_value": 0}
    ).augment_batch(img[None])[0]
    # Shrunk 3x: output 3, 4, 5 read input 1, 4, 7; output 2 reads -2 (fill).
    assert_array_equal(zout[3:6, 3:6], img[1::3, 1::3])
    assert_array_equal(zout[:3], 0)


# -- colour and kernels ------------------------------------------------------


def test_brightness_shifts_the_mean_and_clips():
    gray = np.full((10, 8, 8, 1), 100, np.uint8)
    out = Augmenter(**{**OFF, "brightness": (0.1, 0.1)}).augment_batch(gray)
    assert_array_equal(out, 126)  # 100 + 0.1 * 255, rounded
    out = Augmenter(**{**OFF, "brightness": (0.9, 0.9)}).augment_batch(gray)
    assert_array_equal(out, 255)
    flt = np.full((3, 4, 4, 3), 0.8, np.float32)
    out = Augmenter(**{**OFF, "brightness": (0.5, 0.5)}).augment_batch(flt)
    assert out.dtype == np.float32
    assert_array_equal(out, 1.0)
    rand = Augmenter(**{**OFF, "brightness": 0.2}).augment_batch(
        np.full((50, 4, 4, 1), 0.5, np.float32), random_state=0
    )
    assert rand.min() >= 0.3 - 1e-6 and rand.max() <= 0.7 + 1e-6
    assert rand.std() > 0.05


def test_contrast_scales_deviation_from_the_mean(rng):
    images = photos(rng, 4, 12, 10, 3, np.float32) * 0.5 + 0.25
    more = Augmenter(**{**OFF, "contrast": (1.5, 1.5)}).augment_batch(images)
    assert more.std() > images.std() * 1.3
    flat = Augmenter(**{**OFF, "contrast": (0.0, 0.0)}).augment_batch(images)
    means = np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape)
    assert_allclose(flat, means, atol=1e-6)


def test_blur_smooths_and_sharpen_accentuates(rng):
    noise = rng.integers(60, 200, (6, 16, 20, 1)).astype(np.uint8)
    blurred = Augmenter(**{**OFF, "blur": 2.0}).augment_batch(noise, random_state=0)
    assert (
        np.diff(blurred.astype(float), axis=2).std()
        < np.diff(noise.astype(float), axis=2).std()
    )
    assert abs(blurred.mean() - noise.mean()) < 3
    const = np.full((2, 5, 7, 3), 0.3, np.float32)
    assert_allclose(Augmenter(**{**OFF, "blur": 2.0}).augment_batch(const), const)
    sharp = Augmenter(**{**OFF, "sharpen": 1.0}).augment_batch(noise, random_state=0)
    assert sharp.std() > noise.std()
    assert sharp.dtype == np.uint8


@pytest.mark.parametrize("channels", [1, 3])
def test_erasing_replaces_a_rectangle_with_the_mean_colour(rng, channels):
    images = photos(rng, 30, 20, 24, channels)
    out = Augmenter(**{**OFF, "erasing": 1.0}).augment_batch(images, random_state=0)
    for before, after in zip(images, out, strict=True):
        changed = (before != after).any(axis=-1)
        rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
        assert len(rows) and len(cols)
        box = after[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        # The changed pixels form one rectangle of a single colour ...
        assert (box == box[0, 0]).all()
        assert_allclose(box[0, 0], np.rint(before.mean(axis=(0, 1))), atol=1)
        # ... covering 2% to 40% of the image, with some slack for rounding.
        assert 0.01 < box.shape[0] * box.shape[1] / (20 * 24) < 0.45
    some = Augmenter(**{**OFF, "erasing": 0.3}).augment_batch(images, random_state=0)
    n_erased = sum(not np.array_equal(a, b) for a, b in zip(images, some, strict=True))
    assert 2 <= n_erased <= 20


def test_mixing_only_mixes_images_of_the_same_class():
    # Class 0 images are dark constants, class 1 bright ones.
    values = np.array([10, 20, 30, 40, 200, 210, 220])
    y = np.array([0, 0, 0, 0, 1, 1, 1])
    images = np.broadcast_to(values[:, None, None, None], (7, 4, 5, 3))
    images = np.repeat(images.astype(np.uint8), 30, axis=0)
    y = np.repeat(y, 30)
    out = Augmenter(**{**OFF, "mixing": 1.0}).augment_batch(images, y, random_state=0)
    flat = out.reshape(len(out), -1)
    assert (flat == flat[:, :1]).all()  # still constant images
    assert (flat[y == 0] <= 40).all() and (flat[y == 0] >= 10).all()
    assert (flat[y == 1] >= 200).all() and (flat[y == 1] <= 220).all()
    assert (flat[:, 0] != images[:, 0, 0, 0]).mean() > 0.5  # mixing happened
    # The partner never weighs more than the original.
    assert (np.abs(flat[:, 0].astype(int) - images[:, 0, 0, 0]) <= 15).all()


def test_mixing_in_fit_resample_takes_partners_from_the_same_class():
    X = np.repeat(np.array([[10], [20], [30], [200], [220]], np.uint8), 4, axis=1)
    y = np.array([0, 0, 0, 1, 1])
    aug = Augmenter(**{**OFF, "mixing": 1.0}, n_copies=20, sampling_strategy={})
    X_res, y_res = aug.fit_resample(X, y)
    new = X_res[5:]
    assert new[y_res[5:] == 0].max() <= 30 and new[y_res[5:] == 1].min() >= 200


def test_mixing_needs_y():
    with pytest.raises(ValueError, match="needs y"):
        Augmenter(mixing=0.5).augment_batch(np.zeros((2, 4, 4, 1), np.uint8))


# -- dtype, range and shapes -------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("shape", [(6, 9), (11, 4), (8, 8)])
def test_all_transformations_preserve_dtype_shape_and_range(
    rng, dtype, channels, shape
):
    images = photos(rng, 20, *shape, channels, dtype)
    y = np.arange(20) % 2
    out = Augmenter(**ALL_ON).augment_batch(images, y, random_state=0)
    assert out.shape == images.shape and out.dtype == images.dtype
    if dtype == np.float32:
        assert out.min() >= 0 and out.max() <= 1
    assert not np.array_equal(out, images)
    # Rows through fit_resample: the same rules, shape given for the rows.
    rows = images.reshape(20, -1)
    X_res, y_res = Augmenter(
        **ALL_ON, image_shape=(*shape, channels), random_state=0
    ).fit_resample(rows, np.r_[np.zeros(15, int), np.ones(5, int)])
    assert X_res.dtype == rows.dtype and X_res.shape == (30, rows.shape[1])


def test_geometric_ops_keep_floats_in_the_input_range(rng):
    # Standardized data (not in [0, 1]): flips, rotations, shifts, zoom,
    # blur, erasing and mixing stay within the batch's own range.
    images = (rng.normal(size=(40, 10, 12, 1)) * 2).astype(np.float32)
    geometric = dict(
        vertical_flip=True, rotation=45, shift=0.3, zoom=0.4, blur=1.0, erasing=0.5
    )
    out = Augmenter(**geometric, mixing=0.5).augment_batch(
        images, np.arange(40) % 3, random_state=1
    )
    assert out.dtype == np.float32
    assert out.min() >= images.min() and out.max() <= images.max()
    # Colour ops clip to [0, 1] widened to the data's own range.
    out = Augmenter(**OFF, brightness=0.5).augment_batch(images, random_state=1)
    assert out.min() >= images.min() and out.max() <= images.max()


def test_fit_resample_accepts_3d_and_4d_images_and_returns_rows(rng):
    images = photos(rng, 12, 6, 9, 3)
    y = np.array([0] * 9 + [1] * 3)
    for X in (images, images[..., 0]):
        aug = Augmenter(random_state=0)
        X_res, y_res = aug.fit_resample(X, y)
        assert X_res.ndim == 2 and X_res.shape[1] == X[0].size
        assert aug.image_shape_ == (6, 9, X.shape[3] if X.ndim == 4 else 1)
        assert_array_equal(X_res[:12], X.reshape(12, -1))
    float64 = images.astype(np.float64) / 255
    X_res, _ = Augmenter(random_state=0).fit_resample(float64, y)
    assert X_res.dtype == np.float32


def test_rows_of_unknown_shape_ask_for_image_shape():
    with pytest.raises(ValueError, match="image_shape"):
        Augmenter().fit_resample(np.zeros((4, 10), np.uint8), [0, 0, 0, 1])


@pytest.mark.parametrize(
    "param, value, match",
    [
        ("rotation", (10, 5), "low <= high"),
        ("shift", (0.1,), "pair"),
        ("zoom", (0.0, 2.0), "factors > 0"),
        ("contrast", (-1.0, 1.0), "factors >= 0"),
    ],
)
def test_bad_ranges_are_named(param, value, match):
    X = np.zeros((4, 16), np.uint8)
    with pytest.raises(ValueError, match=rf"{param}.*{re.escape(match)}"):
        Augmenter(**{param: value}).fit_resample(X, [0, 0, 0, 1])


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(shift=(np.nan, np.nan)), "shift"),
        (dict(rotation=(0, np.inf)), "rotation"),
        (dict(zoom=(0.5, np.nan)), "zoom"),
        (dict(fill_mode="constant", fill_value=np.nan), "fill_value"),
        (dict(fill_mode="constant", fill_value=np.inf), "fill_value"),
        (dict(blur=np.inf), "blur"),
        (dict(sharpen=np.inf), "sharpen"),
    ],
)
def test_non_finite_parameters_are_named(params, name):
    X = np.linspace(0, 1, 4 * 16, dtype=np.float32).reshape(4, 16)
    augmenter = Augmenter(random_state=0, **params)
    with pytest.raises(ValueError, match=name):
        augmenter.fit_resample(X, [0, 0, 0, 1])
    with pytest.raises(ValueError, match=name):
        augmenter.augment_batch(X.reshape(4, 4, 4))


def test_missing_labels_are_named():
    X = np.zeros((4, 16), np.uint8)
    with pytest.raises(ValueError, match=r"missing labels.*position\(s\) 1"):
        Augmenter().fit_resample(X, [0, None, 0, 1])
    with pytest.raises(ValueError, match="missing labels"):
        Augmenter(mixing=0.5).augment_batch(X.reshape(4, 4, 4), [0, 1, None, 1])


def test_floats_beyond_float32_fail_instead_of_becoming_inf():
    X = np.full((4, 16), 1e300)
    with pytest.raises(ValueError, match="float32"):
        Augmenter().fit_resample(X, [0, 0, 0, 1])
    with pytest.raises(ValueError, match="float32"):
        Augmenter().augment_batch(X.reshape(4, 4, 4))


def test_numpy_booleans_switch_transformations_like_python_ones():
    image = pattern(4, 4)
    X = batch_of(image, 8).reshape(8, -1)
    y = [0] * 4 + [1] * 4
    for off in (False, np.False_):
        out = Augmenter(
            **{**OFF, "horizontal_flip": off},
            n_copies=1,
            sampling_strategy={},
            random_state=0,
        ).fit_resample(X, y)[0]
        assert_array_equal(out[8:], X)
    flipped = Augmenter(
        **{**OFF, "horizontal_flip": np.True_},
        n_copies=1,
        sampling_strategy={},
        random_state=0,
    ).fit_resample(X, y)[0]
    assert (flipped[8:] != X).any()


def test_augment_batch_rejects_rows():
    with pytest.raises(ValueError, match="fit_resample for rows"):
        Augmenter().augment_batch(np.zeros((4, 16), np.uint8))


# -- sampling ----------------------------------------------------------------


def imbalanced(n_per_class=(20, 5, 9), side=6):
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    X = rng.integers(0, 256, (len(y), side * side), dtype=np.uint8)
    return X, y


@pytest.mark.parametrize(
    "strategy",
    [
        "auto",
        "minority",
        "not majority",
        "not minority",
        "all",
        {1: 30, 2: 9},
        lambda y: {1: 12},
    ],
)
def test_sampling_strategy_gives_the_counts_of_random_over_sampler(strategy):
    X, y = imbalanced()
    X_aug, y_aug = Augmenter(sampling_strategy=strategy, random_state=0).fit_resample(
        X, y
    )
    X_ros, y_ros = RandomOverSampler(
        sampling_strategy=strategy, random_state=0
    ).fit_resample(X, y)
    assert Counter(y_aug) == Counter(y_ros)
    assert X_aug.shape == X_ros.shape and X_aug.dtype == np.uint8
    assert_array_equal(X_aug[: len(X)], X)  # originals first
    assert_array_equal(y_aug[: len(y)], y)


def test_float_sampling_strategy_binary():
    X, y = imbalanced((20, 4))
    _, y_aug = Augmenter(sampling_strategy=0.5, random_state=0).fit_resample(X, y)
    _, y_ros = RandomOverSampler(sampling_strategy=0.5).fit_resample(X, y)
    assert Counter(y_aug) == Counter(y_ros) == {0: 20, 1: 10}


def test_default_balances_by_augmenting_only_the_minority():
    X, y = imbalanced((20, 5))
    X_res, y_res = Augmenter(random_state=0).fit_resample(X, y)
    assert Counter(y_res) == {0: 20, 1: 20}
    assert (y_res[len(y) :] == 1).all()
    # The new rows are transformed, not copies.
    new = X_res[len(y) :]
    assert not any((new == x).all(axis=1).any() for x in X)


def test_sources_are_used_evenly():
    X, y = imbalanced((20, 3))
    # Everything off: copies are exact, so their sources can be counted.
    X_res, y_res = Augmenter(**OFF, random_state=0).fit_resample(X, y)
    new = X_res[len(y) :]
    uses = [int((new == x).all(axis=1).sum()) for x in X[y == 1]]
    assert sorted(uses) == [5, 6, 6]  # 17 new images from 3 sources


def test_n_copies_multiplies_every_image():
    X, y = imbalanced((20, 5, 9))
    X_res, y_res = Augmenter(
        **OFF, n_copies=2, sampling_strategy={}, random_state=0
    ).fit_resample(X, y)
    assert Counter(y_res) == {0: 60, 1: 15, 2: 27}
    # With the transformations off every image appears exactly 3 times.
    for x in X:
        assert (X_res == x).all(axis=1).sum() == 3
    aug = Augmenter(n_copies=2, random_state=0)
    _, y_res = aug.fit_resample(X, y)
    assert Counter(y_res) == {0: 60, 1: 60, 2: 60}  # then balanced
    assert aug.sampling_strategy_ == {1: 45, 2: 33}


def test_one_class_fails_clearly():
    with pytest.raises(ValueError, match="class"):
        Augmenter().fit_resample(np.zeros((4, 16), np.uint8), [1, 1, 1, 1])


# -- randomness --------------------------------------------------------------


def test_random_state_makes_fit_resample_reproducible():
    X, y = imbalanced()
    a = Augmenter(**ALL_ON, random_state=3).fit_resample(X, y)[0]
    b = Augmenter(**ALL_ON, random_state=3).fit_resample(X, y)[0]
    c = Augmenter(**ALL_ON, random_state=4).fit_resample(X, y)[0]
    assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    aug = Augmenter(random_state=np.random.RandomState(0))
    assert not np.array_equal(aug.fit_resample(X, y)[0], aug.fit_resample(X, y)[0])


def test_augment_batch_gives_fresh_transformations_from_an_advancing_generator(rng):
    images = photos(rng, 8, 10, 10, 1)
    aug = Augmenter(**ALL_ON)
    y = np.arange(8) % 2
    gen = np.random.default_rng(0)
    epoch1 = aug.augment_batch(images, y, random_state=gen)
    epoch2 = aug.augment_batch(images, y, random_state=gen)
    assert not np.array_equal(epoch1, epoch2)
    again = aug.augment_batch(images, y, random_state=np.random.default_rng(0))
    assert_array_equal(epoch1, again)
    assert_array_equal(
        aug.augment_batch(images, y, random_state=5),
        aug.augment_batch(images, y, random_state=5),
    )


# -- in pipelines ------------------------------------------------------------


def test_in_an_imblearn_pipeline_it_acts_at_fit_only(rng):
    images = photos(rng, 30, 6, 6, 1, np.float32)
    X = images.reshape(30, -1)
    y = np.array([0] * 24 + [1] * 6)
    pipe = Pipeline(
        [("aug", Augmenter(random_state=0)), ("clf", LogisticRegression(max_iter=500))]
    ).fit(X, y)
    X_res, y_res = Augmenter(random_state=0).fit_resample(X, y)
    direct = LogisticRegression(max_iter=500).fit(X_res, y_res)
    assert_allclose(pipe[-1].coef_, direct.coef_)  # trained on the augmented set
    assert_array_equal(pipe.predict(X), direct.predict(X))  # predict untouched
    assert_allclose(pipe.predict_proba(X), direct.predict_proba(X))


def test_clone_and_pickle():
    aug = Augmenter(rotation=(5, 20), zoom=0.1, random_state=0)
    X, y = imbalanced()
    a = clone(aug).fit_resample(X, y)[0]
    b = pickle.loads(pickle.dumps(aug)).fit_resample(X, y)[0]
    assert_array_equal(a, b)


def test_float_overflow_is_an_error_saying_to_scale():
    X = np.full((4, 4, 4), 3e38, np.float32)
    augmenter = Augmenter(n_copies=1, brightness=0.5, contrast=0.5, random_state=0)
    with pytest.raises(ValueError, match="inf or NaN.*scale the images"):
        augmenter.fit_resample(X, [0, 0, 1, 1])
    assert not hasattr(augmenter, "image_shape_")  # nothing was kept


def test_file_paths_say_to_decode_them_first():
    with pytest.raises(TypeError, match="not file paths.*ImageResizer"):
        Augmenter(n_copies=1).fit_resample(["a.jpg", "b.jpg"], [0, 1])


def test_a_callable_strategy_must_return_a_dict():
    augmenter = Augmenter(sampling_strategy=lambda y: None)
    with pytest.raises(TypeError, match="must return a dict.*returned None"):
        augmenter.fit_resample(np.zeros((4, 4, 4)), [0, 0, 0, 1])


@pytest.mark.parametrize(
    "y, message",
    [
        (np.array([1, "a", 2, "b"], dtype=object), "mixes numbers and strings"),
        (
            np.array(
                [frozenset({1}), frozenset(), frozenset(), frozenset()], dtype=object
            ),
            # a set of labels per image: the multi-label advice
            r"labels per sample \(e\.g\. frozenset\(\{1\}\)\).*MultiLabelBinarizer",
        ),
    ],
)
def test_odd_label_types_are_named(y, message):
    # (The networks share this check: sklearn's own message is "Unknown
    # label type: unknown ... regression target".)
    with pytest.raises(ValueError, match=message):
        Augmenter(n_copies=1).fit_resample(np.zeros((4, 4, 4), np.uint8), y)
