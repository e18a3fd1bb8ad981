"""TestTimeAugmentationClassifier: averages over seeded views, fits in the ecosystem."""

import pickle

import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from litterlearn.ensemble import TestTimeAugmentationClassifier
from litterlearn.ensemble._tta import default_augmenter
from litterlearn.inspection import grad_cam
from litterlearn.neural_network import CNNImageClassifier, MLPImageClassifier
from litterlearn.preprocessing import Augmenter, GrayscaleNormalizer


class MirrorAugmenter:
    """Every view is the image mirrored left-right (a deterministic augmenter)."""

    def augment_batch(self, images, y=None, random_state=None):
        return np.ascontiguousarray(np.asarray(images)[:, :, ::-1])


class ShrinkingAugmenter:
    def augment_batch(self, images, y=None, random_state=None):
        return np.asarray(images)[:, :-1]


class UnitFloatAugmenter:
    """Views as floats in [0, 1], whatever the images' dtype."""

    def augment_batch(self, images, y=None, random_state=None):
        return np.asarray(images, dtype=np.float32) / 255


@pytest.fixture(scope="module")
def halves():
    """Gray 10x10 images: class 1 brighter on the left half, class 0 on the right."""
    rng = np.random.default_rng(0)
    X = rng.random((80, 10, 10), dtype=np.float32) * 0.5
    y = np.arange(80) % 2
    X[y == 1, :, :5] += 0.4
    X[y == 0, :, 5:] += 0.4
    return X, y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


@pytest.fixture(scope="module")
def quadrants():
    """Gray 8x8 images and a 3-label indicator: label k where quadrant k is bright."""
    rng = np.random.default_rng(0)
    Y = (rng.random((60, 3)) < 0.4).astype(int)
    X = rng.random((60, 8, 8)).astype(np.float32) * 0.3
    for k, (rows, cols) in enumerate(
        [(slice(0, 4), slice(0, 4)), (slice(0, 4), slice(4, 8)), (slice(4, 8), None)]
    ):
        X[Y[:, k] == 1, rows, cols] += 0.6
    return X, Y


def tiny_mlp(**params):
    return MLPImageClassifier(
        hidden_layer_sizes=(8,), max_iter=3, random_state=0, **params
    )


def tiny_cnn(**params):
    return CNNImageClassifier(
        filters=(4,),
        padding="same",
        max_iter=5,
        learning_rate_init=0.01,
        random_state=0,
        **params,
    )


def test_zero_views_is_the_plain_classifier(halves):
    X, y = halves
    tta = TestTimeAugmentationClassifier(tiny_cnn(), n_views=0).fit(X, y)
    plain = tiny_cnn().fit(X, y)
    np.testing.assert_array_equal(tta.predict_proba(X), plain.predict_proba(X))
    np.testing.assert_array_equal(tta.predict(X), plain.predict(X))
    np.testing.assert_array_equal(tta.classes_, plain.classes_)


def test_probabilities_are_the_mean_over_the_original_and_its_views(halves):
    X, y = halves
    tta = TestTimeAugmentationClassifier(
        tiny_cnn(), augmenter=MirrorAugmenter(), n_views=3
    ).fit(X, y)
    p_orig = tta.estimator_.predict_proba(X)
    p_mirror = tta.estimator_.predict_proba(X[:, :, ::-1])
    np.testing.assert_allclose(
        tta.predict_proba(X), (p_orig + 3 * p_mirror) / 4, rtol=1e-6
    )
    # Mirroring swaps the classes here, so 3 mirrored views out of 4 make
    # the averaged prediction the opposite of the plain one where it is sure.
    sure = np.abs(p_orig[:, 1] - 0.5) > 0.2
    assert sure.any()
    assert np.all(tta.predict(X)[sure] != tta.estimator_.predict(X)[sure])


def test_views_are_seeded_and_do_not_depend_on_the_batch(digits):
    X, y = digits
    tta = TestTimeAugmentationClassifier(
        LogisticRegression(max_iter=2000), n_views=4, random_state=0
    ).fit(X[:500], y[:500])
    test = X[1000:1040]
    proba = tta.predict_proba(test)
    np.testing.assert_array_equal(tta.predict_proba(test), proba)  # same seed
    order = np.random.default_rng(0).permutation(len(test))
    # (up to float32 rounding in the linear algebra of other batch sizes)
    np.testing.assert_allclose(tta.predict_proba(test[order]), proba[order], rtol=1e-5)
    np.testing.assert_allclose(tta.predict_proba(test[:7]), proba[:7], rtol=1e-5)
    # The views do change the probabilities, and another seed other views.
    assert not np.allclose(proba, tta.estimator_.predict_proba(test))
    assert not np.allclose(tta.set_params(random_state=1).predict_proba(test), proba)
    # Images as (n, 8, 8) arrays get the same views as their rows.
    images = test.reshape(-1, 8, 8)
    tta.set_params(random_state=0)
    np.testing.assert_allclose(tta.predict_proba(images), proba, rtol=1e-5)


def test_default_views_shift_and_zoom_but_never_mirror():
    # A bright left column: mirrored it would be on the right.
    image = np.zeros((1, 20, 20, 1), np.float32)
    image[0, :, :4] = 1.0
    views = default_augmenter().augment_batch(
        np.repeat(image, 50, axis=0), None, np.random.default_rng(0)
    )
    left, right = (
        views[:, :, :10].mean(axis=(1, 2, 3)),
        views[:, :, 10:].mean(axis=(1, 2, 3)),
    )
    assert np.all(left > 0.25) and np.all(right < 0.05)
    assert not np.allclose(views, image)  # they are transformed


def test_grid_search_over_the_wrapped_estimator(digits):
    X, y = digits
    search = GridSearchCV(
        TestTimeAugmentationClassifier(
            LogisticRegression(max_iter=2000), n_views=2, random_state=0
        ),
        {"estimator__C": [1e-4, 1.0], "n_views": [0, 2]},
        cv=2,
    ).fit(X[:400], y[:400])
    assert search.best_params_["estimator__C"] == 1.0
    assert search.best_estimator_.estimator_.C == 1.0
    assert search.score(X[400:600], y[400:600]) > 0.8


def test_in_pipelines_with_a_cnn_fit_params_and_pickle(halves):
    X, y = halves
    rgb = np.repeat(X[..., None], 3, axis=-1).reshape(len(X), -1)
    pipe = make_pipeline(
        GrayscaleNormalizer(image_shape=(10, 10, 3)),
        TestTimeAugmentationClassifier(tiny_cnn(), n_views=2, random_state=0),
    ).fit(rgb, y)
    assert pipe.predict_proba(rgb).shape == (len(X), 2)
    assert pipe.score(rgb, y) > 0.7
    # Samplers apply at fit only; fit parameters reach the wrapped CNN.
    imb = make_imb_pipeline(
        RandomOverSampler(random_state=0),
        TestTimeAugmentationClassifier(tiny_cnn(), n_views=2, random_state=0),
    )
    flat = X.reshape(len(X), -1)
    imb.fit(
        flat,
        y,
        testtimeaugmentationclassifier__X_val=flat[:10],
        testtimeaugmentationclassifier__y_val=y[:10],
    )
    assert "val_loss" in imb[-1].estimator_.history_
    restored = pickle.loads(pickle.dumps(imb))
    np.testing.assert_allclose(restored.predict_proba(flat), imb.predict_proba(flat))
    fresh = clone(imb[-1])
    assert not hasattr(fresh, "estimator_") and fresh.n_views == 2
    # grad_cam looks through the wrapper (and the pipeline) at the CNN.
    np.testing.assert_array_equal(
        grad_cam(imb, flat[:4]), grad_cam(imb[-1].estimator_, flat[:4])
    )


def test_bad_augmenters_are_refused_with_a_clear_error(halves):
    X, y = halves
    mixing = TestTimeAugmentationClassifier(tiny_cnn(), augmenter=Augmenter(mixing=0.5))
    with pytest.raises(ValueError, match="mixing.*needs labels"):
        mixing.fit(X, y)
    tta = TestTimeAugmentationClassifier(
        tiny_cnn(), augmenter=ShrinkingAugmenter(), n_views=2
    ).fit(X, y)
    with pytest.raises(ValueError, match="must return images of the shape"):
        tta.predict(X)
    with pytest.raises(ValueError, match="expecting 100 features"):
        tta.predict_proba(X[:, :8, :8])


def test_views_of_another_dtype_are_refused_not_cast(halves):
    # uint8 images, float 0..1 views: a cast to uint8 would make them 0/1.
    X, y = halves
    X8 = (X * 255).astype(np.uint8)
    tta = TestTimeAugmentationClassifier(
        tiny_cnn(), augmenter=UnitFloatAugmenter(), n_views=2
    ).fit(X8, y)
    with pytest.raises(ValueError, match=r"dtype it was given \(uint8.*got float32"):
        tta.predict_proba(X8[:4])


@pytest.mark.parametrize(
    "estimator",
    [
        RandomForestClassifier(5, random_state=0),  # a list of (n, 2) arrays
        KNeighborsClassifier(3),  # a list too
        MLPClassifier((8,), max_iter=50, random_state=0),  # one (n, 3) array
    ],
    ids=["forest", "neighbours", "mlp"],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_multi_label_classifiers_keep_their_kind_of_output(quadrants, estimator):
    X, Y = quadrants
    X = X.reshape(len(X), -1)
    tta = TestTimeAugmentationClassifier(
        estimator, augmenter=MirrorAugmenter(), n_views=1, image_shape=(8, 8)
    ).fit(X, Y)
    mirrored = X.reshape(-1, 8, 8)[:, :, ::-1].reshape(len(X), -1)
    plain, flipped = (tta.estimator_.predict_proba(x) for x in (X, mirrored))
    proba, pred = tta.predict_proba(X), tta.predict(X)
    assert pred.shape == Y.shape
    if isinstance(plain, list):  # each label's (n, 2) array, averaged
        assert isinstance(proba, list) and len(proba) == 3
        for k in range(3):
            np.testing.assert_allclose(proba[k], (plain[k] + flipped[k]) / 2)
            np.testing.assert_array_equal(
                pred[:, k], tta.classes_[k][np.argmax(proba[k], axis=1)]
            )
    else:
        np.testing.assert_allclose(proba, (plain + flipped) / 2, rtol=1e-6)
        np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert 0 <= tta.score(X, Y) <= 1  # subset accuracy


def test_a_pipeline_ending_in_a_network_predicts_an_indicator(quadrants):
    X, Y = quadrants
    tta = TestTimeAugmentationClassifier(
        make_pipeline(FunctionTransformer(), tiny_mlp(threshold=0.3)),
        n_views=2,
        random_state=0,
    ).fit(X, Y)
    proba = tta.predict_proba(X)
    assert proba.shape == Y.shape
    np.testing.assert_array_equal(tta.predict(X), (proba >= 0.3).astype(int))


def test_a_threshold_set_after_fit_applies_without_refit(quadrants):
    X, Y = quadrants
    tta = TestTimeAugmentationClassifier(tiny_mlp(), n_views=2, random_state=0)
    tta.fit(X, Y)
    proba = tta.predict_proba(X)
    cut = float(np.median(proba))
    tta.set_params(estimator__threshold=cut)
    np.testing.assert_array_equal(tta.predict(X), (proba >= cut).astype(int))
    plain = tta.estimator_.predict_proba(X)
    tta.set_params(n_views=0)
    np.testing.assert_array_equal(tta.predict(X), (plain >= cut).astype(int))


def test_lists_of_labels_per_image_point_to_multilabelbinarizer(quadrants):
    X, _ = quadrants
    labels = [["bottle"], ["can", "bottle"], []] * 20
    tta = TestTimeAugmentationClassifier(KNeighborsClassifier(3), n_views=0)
    with pytest.raises(
        ValueError, match="y holds a list of labels.*MultiLabelBinarizer"
    ):
        tta.fit(X, labels)
    assert not hasattr(tta, "estimator_")
