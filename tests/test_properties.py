"""Property-based tests: random shapes, dtypes, values and corrupted files.

Each property: a call either gives a correct result (right shape and dtype,
finite output for finite input, the invariant of the step), or fails with a
ValueError or TypeError whose message names the argument (and the file),
never with an error from inside a dependency.

The examples are derandomized, so CI is reproducible and fast; set
``LITTERLEARN_HYPOTHESIS=explore`` for a long random search.
"""

import io
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from litterlearn.metrics import imbalance_report, specificity_score
from litterlearn.preprocessing import Augmenter, GrayscaleNormalizer, ImageResizer
from litterlearn.utils._images import as_image_dtype

EXPLORE = os.environ.get("LITTERLEARN_HYPOTHESIS") == "explore"
PROPERTY = settings(
    max_examples=500 if EXPLORE else 40,
    deadline=None,
    derandomize=not EXPLORE,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Words by which a message names the input that was wrong.
NAMES_X = ("X", "image", "Image")


def outcome(call, names):
    """``call()``, or None if it raised a ValueError/TypeError naming one of
    ``names``; any other exception (or a message that names nothing) fails."""
    try:
        return call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert any(name in message for name in names), (
            f"{type(exc).__name__} does not name {names}: {message}"
        )
        return None


# ------------------------------------------------------------ image batches


@st.composite
def image_batches(draw, max_side=10):
    """Arrays (n, H, W) or (n, H, W, C) of any dtype and value range, rows too."""
    n = draw(st.integers(1, 4))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    channels = draw(st.sampled_from([None, 1, 2, 3, 4, 5]))
    shape = (n, h, w) if channels is None else (n, h, w, channels)
    dtype = draw(
        st.sampled_from(
            [np.uint8, np.int16, np.int64, np.bool_, np.float32, np.float64]
        )
    )
    kind = np.dtype(dtype).kind
    if kind == "b":
        elements = st.booleans()
    elif kind in "iu":
        info = np.iinfo(dtype)
        wide = draw(st.booleans())  # sometimes outside 0..255
        low, high = (max(info.min, -300), min(info.max, 300)) if wide else (0, 255)
        elements = st.integers(low, high)
    else:
        width = 32 if dtype == np.float32 else 64
        how = draw(st.sampled_from(["scaled", "scaled", "wide", "any"]))
        if how == "scaled":  # the usual case: values already in [0, 1]
            elements = st.floats(0, 1, width=width)
        elif how == "wide":  # finite, up to the dtype's largest values
            elements = st.floats(allow_nan=False, allow_infinity=False, width=width)
        else:  # NaN and inf too
            elements = st.floats(width=width)
    images = draw(hnp.arrays(dtype, shape, elements=elements))
    if draw(st.booleans()):
        images = images.reshape(n, -1)  # rows
    return images


def expected_dtype(X):
    return np.float32 if X.dtype.kind == "f" else np.uint8


def finite_input(X):
    return X.dtype.kind != "f" or bool(np.isfinite(X.astype(np.float64)).all())


@PROPERTY
@given(
    X=image_batches(),
    size=st.integers(1, 8),
    fit_mode=st.sampled_from(["pad", "crop", "stretch"]),
    color=st.sampled_from(["rgb", "gray"]),
)
# +inf and -inf together: a clear error, not NumPy's warning of their sum.
@example(
    X=np.array([[[np.inf, -np.inf]]], dtype=np.float32),
    size=1,
    fit_mode="pad",
    color="rgb",
)
def test_image_resizer_on_arrays(X, size, fit_mode, color):
    resizer = ImageResizer(size, fit_mode=fit_mode, color=color)
    out = outcome(lambda: resizer.fit_transform(X), NAMES_X)
    if out is None:
        return
    channels = 1 if color == "gray" else 3
    assert out.shape == (len(X), size * size * channels)
    assert out.dtype == expected_dtype(X)
    assert finite_input(X)  # non-finite input must have been rejected
    assert np.isfinite(out).all()


@PROPERTY
@given(
    value=st.one_of(st.integers(0, 255), st.floats(-1e3, 1e3, width=32)),
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    channels=st.sampled_from([1, 3]),
    size=st.integers(1, 8),
)
def test_image_resizer_keeps_a_constant_image_constant(value, h, w, channels, size):
    dtype = np.uint8 if isinstance(value, int) else np.float32
    X = np.full((2, h, w, channels), value, dtype=dtype)
    out = ImageResizer(size, fit_mode="stretch", color="rgb").fit_transform(X)
    if dtype == np.uint8:
        assert (out == value).all()
    else:
        np.testing.assert_allclose(out, value, rtol=1e-4, atol=1e-4)


@PROPERTY
@given(
    X=image_batches(),
    standardize=st.sampled_from([False, True, "image", np.True_, np.False_]),
)
def test_grayscale_normalizer(X, standardize):
    normalizer = GrayscaleNormalizer(standardize=standardize)
    out = outcome(lambda: normalizer.fit_transform(X), NAMES_X)
    if out is None:
        return
    h, w, _ = normalizer.input_image_shape_
    assert out.shape == (len(X), h * w)
    assert out.dtype == np.float32
    assert finite_input(X)
    assert np.isfinite(out).all()
    if not standardize and X.dtype.kind != "f":
        assert out.min() >= 0 and out.max() <= 1
    if standardize is True or standardize is np.True_:
        assert normalizer.mean_ is not None and normalizer.scale_ > 0


@PROPERTY
@given(
    X=image_batches(max_side=8),
    params=st.fixed_dictionaries(
        {},
        optional={
            "horizontal_flip": st.sampled_from([True, False, np.True_, np.False_]),
            "vertical_flip": st.booleans(),
            "rotation": st.one_of(
                st.floats(0, 180), st.tuples(st.floats(-360, 0), st.floats(0, 360))
            ),
            "shift": st.one_of(
                st.floats(0, 1), st.tuples(st.floats(-1, 0), st.floats(0, 1))
            ),
            "zoom": st.floats(0, 0.99),
            "brightness": st.floats(0, 1),
            "contrast": st.floats(0, 1),
            "blur": st.floats(0, 3),
            "sharpen": st.floats(0, 3),
            "erasing": st.floats(0, 1),
            "mixing": st.floats(0, 1),
            "fill_mode": st.sampled_from(["reflect", "nearest", "constant", "wrap"]),
            "fill_value": st.floats(-1e6, 1e6),
            "n_copies": st.integers(0, 2),
        },
    ),
    seed=st.integers(0, 2**31 - 1),
)
def test_augmenter(X, params, seed):
    y = np.arange(len(X)) % 2
    if len(X) == 1:
        X, y = np.concatenate([X, X]), np.array([0, 1])
    augmenter = Augmenter(random_state=seed, **params)
    result = outcome(lambda: augmenter.fit_resample(X, y), NAMES_X)
    if result is None:
        return
    X_res, y_res = result
    rows = X.reshape(len(X), -1)
    assert X_res.dtype == expected_dtype(X)
    assert len(X_res) == len(y_res) >= len(X)
    assert X_res.shape[1] == rows.shape[1]
    np.testing.assert_array_equal(X_res[: len(X)], as_image_dtype(rows))
    assert finite_input(X)
    assert np.isfinite(X_res).all()
    if X_res.dtype == np.float32 and np.isfinite(rows).all():
        # Never outside the batch's range widened to [0, 1] (or fill_value).
        lo = min(0.0, float(rows.min()), float(params.get("fill_value", 0)))
        hi = max(1.0, float(rows.max()), float(params.get("fill_value", 0)))
        assert X_res.min() >= lo - 1e-3 * max(1, abs(lo))
        assert X_res.max() <= hi + 1e-3 * max(1, abs(hi))


# ------------------------------------------------------------------ metrics


@st.composite
def labelled_predictions(draw):
    n = draw(st.integers(1, 25))
    labels = draw(st.sampled_from([[0, 1], [0, 1, 2], ["a", "b"], [-1, 1]]))
    y_true = draw(st.lists(st.sampled_from(labels), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.sampled_from(labels), min_size=n, max_size=n))
    weights = draw(
        st.one_of(
            st.none(),
            st.lists(st.floats(0, 10), min_size=n, max_size=n),
            st.lists(st.floats(-10, 10), min_size=n, max_size=n),
        )
    )
    return np.array(y_true), np.array(y_pred), weights


@PROPERTY
@given(data=labelled_predictions(), with_scores=st.booleans(), seed=st.integers(0, 99))
def test_imbalance_report(data, with_scores, seed):
    y_true, y_pred, weights = data
    labels = np.unique(np.concatenate([y_true, y_pred]))
    y_score = None
    if with_scores:
        rng = np.random.default_rng(seed)
        y_score = rng.random((len(y_true), len(labels)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined-metric warnings are fine
        report = outcome(
            lambda: imbalance_report(
                y_true, y_pred, y_score, sample_weight=weights, zero_division=0
            ),
            ("sample_weight", "y_true", "y_pred", "y_score"),
        )
    if report is None:
        return
    assert weights is None or (min(weights) >= 0 and max(weights) > 0)
    for name in map(str, labels):
        for key in ("precision", "recall", "f1-score", "specificity"):
            assert 0 <= report[name][key] <= 1, (name, key, report[name][key])
        for key in ("roc_auc", "average_precision"):
            if key in report[name] and not np.isnan(report[name][key]):
                assert 0 <= report[name][key] <= 1
    for key in ("accuracy", "balanced_accuracy"):
        assert 0 <= report[key] <= 1 or np.isnan(report[key])


@PROPERTY
@given(data=labelled_predictions(), average=st.sampled_from([None, "macro", "micro"]))
def test_specificity_score(data, average):
    y_true, y_pred, weights = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = outcome(
            lambda: specificity_score(
                y_true, y_pred, average=average, sample_weight=weights
            ),
            ("sample_weight", "y_true", "y_pred", "average", "pos_label"),
        )
    if score is None:
        return
    score = np.atleast_1d(score)
    assert ((score >= 0) & (score <= 1) | np.isnan(score)).all()


# ------------------------------------------------------------ corrupt files


def encoded(fmt, seed):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    if fmt == "GIF":
        image = image.convert("P")
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


@st.composite
def corrupted_files(draw):
    fmt = draw(st.sampled_from(["JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP", "ICO"]))
    data = bytearray(encoded(fmt, draw(st.integers(0, 3))))
    how = draw(st.sampled_from(["truncate", "flip", "insert", "garbage"]))
    if how == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    elif how == "insert":
        i = draw(st.integers(0, len(data)))
        data[i:i] = draw(st.binary(min_size=1, max_size=64))
    else:
        data = bytearray(draw(st.binary(max_size=200)))
    return fmt, bytes(data)


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as folder:
        yield folder


@PROPERTY
@given(sample=corrupted_files(), n_jobs=st.sampled_from([None, 2]))
def test_image_resizer_on_corrupted_files(scratch, sample, n_jobs):
    fmt, data = sample
    path = os.path.join(scratch, f"corrupt.{fmt.lower()}")
    with open(path, "wb") as f:
        f.write(data)
    good = os.path.join(scratch, "good.png")
    Image.new("RGB", (5, 5), (9, 99, 199)).save(good)
    paths = [good, path, good]
    out = outcome(lambda: ImageResizer(6, n_jobs=n_jobs).fit_transform(paths), (path,))
    if out is not None:  # some damage leaves a decodable image
        assert out.shape == (3, 6 * 6 * 3) and out.dtype == np.uint8


# ------------------------------------------- refits: all or nothing, at random


@PROPERTY
@given(batches=st.lists(image_batches(max_side=6), min_size=2, max_size=5))
def test_a_failed_refit_keeps_the_last_successful_fit(batches):
    # Any sequence of fits, valid or not: after each one that fails, the
    # step transforms exactly as after the last one that succeeded.
    for make in (
        lambda: GrayscaleNormalizer(standardize=True),
        lambda: ImageResizer(3),
    ):
        step, last = make(), None
        for X in batches:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                try:
                    step.fit(X)
                except (ValueError, TypeError):
                    if last is None:
                        assert not [k for k in vars(step) if k.endswith("_")]
                    else:
                        fitted_on, expected = last
                        np.testing.assert_array_equal(
                            step.transform(fitted_on), expected
                        )
                    continue
                last = (X, step.transform(X))


# ------------------------------------------------------------ mode conversions


@st.composite
def pillow_images(draw):
    """(Pillow image of some mode, file format that keeps that mode)."""
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    mode = draw(st.sampled_from(["L", "LA", "RGB", "RGBA", "P", "PA", "I;16", "1"]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        data = rng.integers(0, 65536, (h, w), dtype=np.uint16)
        return Image.fromarray(data), "PNG"
    if mode == "1":
        return Image.fromarray(
            rng.integers(0, 2, (h, w), dtype=np.uint8) * 255
        ).convert("1"), "PNG"
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    # Alpha fully opaque, fully transparent, or between.
    rgba[..., 3] = rng.choice(np.array([0, 255, 128], np.uint8), size=(h, w))
    image = Image.fromarray(rgba, "RGBA")
    if mode in ("P", "PA"):
        image = image.convert("RGB").quantize(8)
        if mode == "PA":
            image.info["transparency"] = 0  # palette entry 0 is transparent
        return image, "PNG"
    return image.convert(mode), "PNG"


def _expected_rgb(image, background):
    """The module's documented rules, written out with numpy."""
    mode = image.mode
    if mode == "I;16":
        gray = (np.asarray(image).astype(np.int64) * 255 + 32767) // 65535
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode == "1":
        return np.repeat(np.asarray(image.convert("L"))[..., None], 3, axis=-1)
    rgba = np.asarray(image.convert("RGBA")).astype(np.float64)
    alpha = rgba[..., 3:] / 255
    return rgba[..., :3] * alpha + np.asarray(background) * (1 - alpha)


@PROPERTY
@given(sample=pillow_images(), background=st.tuples(*[st.integers(0, 255)] * 3))
def test_modes_follow_the_one_set_of_rules(scratch, sample, background):
    from litterlearn.datasets._base import store_image

    image, fmt = sample
    path = os.path.join(scratch, f"mode.{fmt.lower()}")
    image.save(path, format=fmt)
    with Image.open(path) as reread:
        reread.load()
        expected = _expected_rgb(reread, background)
    h, w = expected.shape[:2]
    resizer = ImageResizer((h, w), fit_mode="stretch", background=background)
    got = resizer.fit_transform([path]).reshape(h, w, 3).astype(np.float64)
    # Pillow composites alpha in 8-bit integers: within a gray level.
    assert np.abs(got - expected).max() <= 1.0
    # fetch_taco stores by the same rules, on black, as a JPEG (whose coding
    # moves values: bounded on average).
    stored_path = os.path.join(scratch, "stored.jpg")
    store_image(path, stored_path)
    with Image.open(stored_path) as stored:
        stored_rgb = np.asarray(stored.convert("RGB"), dtype=np.float64)
    on_black = _expected_rgb(reread, (0, 0, 0))
    assert stored_rgb.shape == on_black.shape
    assert np.abs(stored_rgb - on_black).mean() <= 40  # JPEG on random pixels


# ---------------------------------------------------------------- COCO records


@st.composite
def coco_records(draw):
    n = draw(st.integers(1, 6))
    id_kind = draw(st.sampled_from(["int", "str"]))
    ids = draw(st.lists(st.integers(0, 50), min_size=n, max_size=n, unique=True))
    ids = [str(i) if id_kind == "str" else i for i in ids]
    names = draw(
        st.lists(
            st.sampled_from(["a.jpg", "b.jpg", "d/c.jpg", "e.jpg"]),
            min_size=n,
            max_size=n,
        )
    )
    categories = [
        {"id": 0, "name": "Glass bottle", "supercategory": "Bottle"},
        {"id": 1, "name": "Drink can", "supercategory": "Can"},
        {"id": 2, "name": "Plastic bottle", "supercategory": "Bottle"},
    ]
    pairs = draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 2)), max_size=8)
    )
    annotations = [
        {"id": k, "image_id": ids[i], "category_id": c}
        for k, (i, c) in enumerate(pairs)
    ]
    images = [{"id": i, "file_name": f} for i, f in zip(ids, names, strict=True)]
    return {"images": images, "categories": categories, "annotations": annotations}


@PROPERTY
@given(coco=coco_records(), positive=st.sampled_from(["Bottle", "Can"]))
def test_coco_labels_match_the_records(coco, positive):
    from litterlearn.preprocessing import CocoBinaryLabeler

    supers = {c["id"]: c["supercategory"] for c in coco["categories"]}
    expected = {
        img["id"]: int(
            any(
                a["image_id"] == img["id"] and supers[a["category_id"]] == positive
                for a in coco["annotations"]
            )
        )
        for img in coco["images"]
    }
    labeler = CocoBinaryLabeler(positive)
    labels = labeler.fit_transform(coco)
    assert labels.tolist() == [expected[img["id"]] for img in coco["images"]]
    ids = [img["id"] for img in coco["images"]]
    if all(isinstance(i, int) for i in ids):
        assert labeler.transform(ids[::-1]).tolist() == [expected[i] for i in ids[::-1]]
    counts = {}
    for img in coco["images"]:
        counts[img["file_name"]] = counts.get(img["file_name"], 0) + 1
    for img in coco["images"]:
        name = img["file_name"]
        if counts[name] == 1:
            assert labeler.transform([f"/data/{name}"]).tolist() == [
                expected[img["id"]]
            ]
        else:  # shared by several images: never silently the first one
            with pytest.raises(ValueError, match="ambiguous"):
                labeler.transform([name])


# ------------------------------------------------- test-time augmentation


def _targets(kind, rng, n):
    if kind == "binary":
        return rng.integers(0, 2, n)
    if kind == "multiclass":
        return np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    if kind == "multilabel-indicator":
        return rng.integers(0, 2, (n, 3))
    return rng.integers(0, 3, (n, 2))  # multiclass-multioutput


@PROPERTY
@given(
    kind=st.sampled_from(
        ["binary", "multiclass", "multilabel-indicator", "multiclass-multioutput"]
    ),
    model=st.sampled_from(["tree", "neighbours", "pipeline"]),
    seed=st.integers(0, 2**16),
    n=st.integers(6, 20),
)
def test_zero_views_equal_the_estimator_for_every_target_type(kind, model, seed, n):
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    from litterlearn.ensemble import TestTimeAugmentationClassifier

    rng = np.random.default_rng(seed)
    X = rng.random((n, 16), dtype=np.float32)
    y = _targets(kind, rng, n)
    estimator = {
        "tree": DecisionTreeClassifier(max_depth=3, random_state=0),
        "neighbours": KNeighborsClassifier(3),
        "pipeline": make_pipeline(StandardScaler(), KNeighborsClassifier(2)),
    }[model]
    tta = TestTimeAugmentationClassifier(estimator, n_views=0).fit(X, y)
    plain = estimator.fit(X, y)
    test = rng.random((5, 16), dtype=np.float32)
    np.testing.assert_array_equal(tta.predict(test), plain.predict(test))
    expected, proba = plain.predict_proba(test), tta.predict_proba(test)
    assert isinstance(proba, list) == isinstance(expected, list)
    for got, want in zip(
        proba if isinstance(proba, list) else [proba],
        expected if isinstance(expected, list) else [expected],
        strict=True,
    ):
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------- warm starts

# Training knobs a warm start may change (each with its default first).
WARM_KNOBS = {
    "label_smoothing": st.sampled_from([0.0, 0.1]),
    "weight_decay": st.sampled_from([0.0, 1e-2]),
    "learning_rate_init": st.sampled_from([1e-3, 1e-2]),
    "mixup": st.sampled_from([0.0, 0.4]),
    "cutmix": st.sampled_from([0.0, 0.5]),
}
WARM_KNOB_DEFAULTS = {"learning_rate_init": 1e-3}


def _weights(clf):
    return np.concatenate([w.ravel() for w in clf.model_.get_weights()])


@settings(PROPERTY, max_examples=500 if EXPLORE else 6)
@given(
    a=st.integers(1, 2),
    b=st.integers(1, 2),
    before=st.fixed_dictionaries({}, optional=WARM_KNOBS),
    after=st.fixed_dictionaries({}, optional=WARM_KNOBS),
)
@example(a=2, b=1, before={"mixup": 0.4}, after={})
def test_a_warm_start_trains_as_one_run_changing_its_knobs_at_that_epoch(
    a, b, before, after
):
    from litterlearn.neural_network import MLPImageClassifier

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (12, 6, 6), dtype=np.uint8)
    y = np.arange(12) % 2

    def make(**params):
        defaults = dict(hidden_layer_sizes=(3,), batch_size=4, random_state=0)
        return MLPImageClassifier(**{**defaults, **params})

    warm = make(max_iter=a, **before).fit(X, y)
    warm.set_params(warm_start=True, max_iter=b, **after).fit(X, y)
    # The same run epoch by epoch: partial_fit trains the epoch (batches,
    # augmentation, mixing) one longer fit would train next.
    steps = make(**before)
    for _ in range(a):
        steps.partial_fit(X, y, classes=[0, 1])
    steps.set_params(**after)
    for _ in range(b):
        steps.partial_fit(X, y)
    assert warm.n_iter_ == steps.n_iter_ == a + b
    np.testing.assert_allclose(_weights(warm), _weights(steps), rtol=0, atol=1e-6)
    if all(
        before.get(k, WARM_KNOB_DEFAULTS.get(k, 0.0)) == v for k, v in after.items()
    ):
        # No knob changed: one uninterrupted fit.
        once = make(max_iter=a + b, **before).fit(X, y)
        np.testing.assert_allclose(_weights(warm), _weights(once), rtol=0, atol=1e-6)
