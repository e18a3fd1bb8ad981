"""grad_cam: heatmaps that find the evidence, for any network with a convolution."""

import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from litterlearn.inspection import grad_cam
from litterlearn.neural_network import CNNImageClassifier, MLPImageClassifier
from litterlearn.preprocessing import GrayscaleNormalizer

SIZE, PATCH = 24, 6
CHANCE = PATCH**2 / SIZE**2  # 0.0625: the patch's share of the image
# A heatmap spread evenly would put CHANCE of its mass on the patch; we ask
# for more than 3 times that on average. Measured (docs/user_guide/
# seeing_why.rst): 0.31 for the CNN with global average pooling below, every
# map above chance; the course CNN, whose last map is 3x3 here, about 0.11.
MASS_THRESHOLD = 3 * CHANCE


def patch_images(n, seed):
    """Gray noise images; the class is a bright (1) or dark (0) square.

    The square sits at a random position, so only its pixels tell the
    class. Returns the images, the labels and the square's mask.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(0.45, 0.08, (n, SIZE, SIZE)).astype(np.float32)
    y = rng.integers(0, 2, n)
    rows = rng.integers(0, SIZE - PATCH + 1, n)
    cols = rng.integers(0, SIZE - PATCH + 1, n)
    mask = np.zeros((n, SIZE, SIZE), dtype=bool)
    for i in range(n):
        mask[i, rows[i] : rows[i] + PATCH, cols[i] : cols[i] + PATCH] = True
        X[i][mask[i]] = 0.95 if y[i] else 0.05
    return np.clip(X, 0, 1), y, mask


def mass_on(heatmaps, mask):
    """Fraction of each heatmap's total on the mask."""
    return (heatmaps * mask).sum(axis=(1, 2)) / heatmaps.sum(axis=(1, 2)).clip(1e-12)


class FunctionalNestedClassifier(ClassifierMixin, BaseEstimator):
    """Shaped like a transfer-learning classifier: a functional model with a
    nested convolutional backbone (called with ``training=False``) and a last
    Dense layer with the softmax built in. Real Keras, trained for real.
    """

    def __init__(self, epochs=12, random_state=0):
        self.epochs = epochs
        self.random_state = random_state

    def fit(self, X, y):
        import keras

        keras.utils.set_random_seed(self.random_state)
        X = np.asarray(X, dtype=np.float32)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        self.image_shape_ = (*X.shape[1:3], 1)
        self.n_features_in_ = int(np.prod(self.image_shape_))
        layers = keras.layers
        inner = keras.Input(self.image_shape_)
        h = layers.Conv2D(8, 3, padding="same", activation="relu")(inner)
        h = layers.Conv2D(16, 3, padding="same")(h)
        h = layers.BatchNormalization()(h)
        h = layers.Activation("relu", name="backbone_out")(h)
        backbone = keras.Model(inner, h, name="backbone")
        inputs = keras.Input(self.image_shape_)
        x = backbone(inputs, training=False)
        x = layers.GlobalAveragePooling2D()(x)
        outputs = layers.Dense(len(self.classes_), activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        model.fit(X[..., None], y_enc, epochs=self.epochs, batch_size=32, verbose=0)
        self.model_ = model
        return self

    def predict_proba(self, X):
        X = np.asarray(X, dtype=np.float32).reshape((-1, *self.image_shape_))
        return self.model_.predict(X, verbose=0)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


@pytest.fixture(scope="module")
def patches():
    return patch_images(400, seed=0), patch_images(150, seed=1)


@pytest.fixture(scope="module")
def gap_cnn(patches):
    (X, y, _), _ = patches
    return CNNImageClassifier(
        filters=(8, 16),
        padding="same",
        global_pooling="avg",
        max_iter=15,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, y)


@pytest.fixture(scope="module")
def small_cnn():
    rng = np.random.default_rng(0)
    X = rng.random((30, 10, 12), dtype=np.float32)
    y = np.array(["can", "bottle", "cup"] * 10)
    clf = CNNImageClassifier(filters=(4, 4), max_iter=2, random_state=0).fit(X, y)
    return clf, X


@pytest.mark.slow
def test_heatmaps_put_their_mass_on_the_deciding_patch(patches, gap_cnn):
    _, (X_test, y_test, mask) = patches
    assert gap_cnn.score(X_test, y_test) > 0.95
    heatmaps = grad_cam(gap_cnn, X_test)
    mass = mass_on(heatmaps, mask)
    assert mass.mean() > MASS_THRESHOLD, mass.mean()
    # Not an average carried by a few images: most maps beat chance.
    assert np.mean(mass > CHANCE) > 0.9


@pytest.mark.slow
def test_functional_model_with_nested_backbone_and_dense_softmax(patches):
    (X, y, _), (X_test, y_test, mask) = patches
    clf = FunctionalNestedClassifier().fit(X, y)
    assert clf.score(X_test, y_test) > 0.95
    heatmaps = grad_cam(clf, X_test)
    assert heatmaps.shape == (len(X_test), SIZE, SIZE)
    assert mass_on(heatmaps, mask).mean() > MASS_THRESHOLD
    # The default layer is the backbone's last convolution, finished by its
    # batch normalization and activation (same map size), inside the nested
    # model; naming it gives the same maps.
    np.testing.assert_allclose(
        grad_cam(clf, X_test[:5], layer="backbone_out"), heatmaps[:5], atol=1e-6
    )


def test_course_cnn_heatmaps_are_in_range_at_the_image_size(patches):
    (X, y, _), (X_test, _, mask) = patches
    clf = CNNImageClassifier(max_iter=3, random_state=0).fit(X, y)  # the course CNN
    heatmaps = grad_cam(clf, X_test[:20])
    assert heatmaps.shape == (20, SIZE, SIZE) and heatmaps.dtype == np.float32
    assert heatmaps.min() >= 0 and heatmaps.max() <= 1
    peaks = heatmaps.reshape(20, -1).max(axis=1)
    assert np.all((peaks == 0) | np.isclose(peaks, 1))
    assert np.any(peaks == 1)


def test_uint8_images_and_pipelines(patches, gap_cnn):
    _, (X_test, y_test, _) = patches
    expected = grad_cam(gap_cnn, X_test[:6])
    # Rows in another dtype are converted as predict_proba does.
    as_uint8 = np.rint(X_test[:6] * 255).astype(np.uint8).reshape(6, -1)
    np.testing.assert_allclose(grad_cam(gap_cnn, as_uint8), expected, atol=0.05)
    # A pipeline: X goes through the steps before the classifier. RGB rows of
    # equal channels become the same gray images through GrayscaleNormalizer.
    rgb = np.repeat(X_test[:6, :, :, None], 3, axis=-1).reshape(6, -1)
    gray = GrayscaleNormalizer(image_shape=(SIZE, SIZE, 3)).fit(rgb)
    pipe = make_pipeline(gray, gap_cnn)
    np.testing.assert_allclose(grad_cam(pipe, rgb), expected, atol=1e-5)
    # imbalanced-learn's pipeline skips its samplers outside fit.
    sampler = RandomOverSampler()
    sampler.fit_resample(X_test.reshape(len(X_test), -1), y_test)
    imb = make_imb_pipeline(sampler, gap_cnn)
    np.testing.assert_allclose(grad_cam(imb, X_test[:6]), expected, atol=1e-6)


def test_target_selects_the_explained_class(small_cnn):
    clf, X = small_cnn
    predicted = grad_cam(clf, X[:4])
    pred = clf.predict(X[:4])
    np.testing.assert_allclose(grad_cam(clf, X[:4], target=pred), predicted, atol=1e-6)
    per_class = {c: grad_cam(clf, X[:4], target=c) for c in clf.classes_}
    for i, label in enumerate(pred):
        np.testing.assert_allclose(per_class[label][i], predicted[i], atol=1e-6)
    assert not np.allclose(per_class["can"], per_class["cup"])
    with pytest.raises(ValueError, match="'bowl' is not a class.*bottle"):
        grad_cam(clf, X[:4], target="bowl")
    with pytest.raises(ValueError, match="one label per image"):
        grad_cam(clf, X[:4], target=["can", "cup"])


def test_layer_by_name_or_object_and_clear_errors(small_cnn):
    clf, X = small_cnn
    convs = [layer for layer in clf.model_.layers if "Conv" in type(layer).__name__]
    first = grad_cam(clf, X[:3], layer=convs[0].name)
    np.testing.assert_allclose(grad_cam(clf, X[:3], layer=convs[0]), first)
    assert first.shape == (3, 10, 12)
    with pytest.raises(ValueError, match="'nope' is not in the network.*conv2d"):
        grad_cam(clf, X[:3], layer="nope")
    flatten = next(la for la in clf.model_.layers if type(la).__name__ == "Flatten")
    with pytest.raises(ValueError, match="does not output feature maps"):
        grad_cam(clf, X[:3], layer=flatten.name)


def test_networks_without_convolution_and_other_estimators_are_refused(patches):
    (X, y, _), _ = patches
    mlp = MLPImageClassifier(max_iter=1, random_state=0).fit(X[:40], y[:40])
    with pytest.raises(ValueError, match="needs a network with a 2D convolution"):
        grad_cam(mlp, X[:2])
    with pytest.raises(NotFittedError):
        grad_cam(CNNImageClassifier(), X[:2])
    logistic = LogisticRegression().fit(X[:40].reshape(40, -1), y[:40])
    with pytest.raises(TypeError, match="Keras model_"):
        grad_cam(logistic, X[:2].reshape(2, -1))


def test_model_and_predictions_are_left_as_they_were(small_cnn):
    clf, X = small_cnn
    before = clf.predict_proba(X)
    weights = [w.copy() for w in clf.model_.get_weights()]
    grad_cam(clf, X, target="cup")
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    for old, new in zip(weights, clf.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


# --------------------------------------------------------------------------
# Plots


@pytest.fixture
def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_grad_cam_overlays_each_image_with_class_names(plt, small_cnn):
    from litterlearn.plotting import plot_grad_cam

    clf, X = small_cnn
    heatmaps = grad_cam(clf, X[:5])
    names = {"can": "Can", "bottle": "Bottle", "cup": "Cup"}
    y = np.array(["can", "bottle", "cup", "can", "bottle"])
    pred = np.array(["can", "bottle", "can", "can", "bottle"])
    fig = plot_grad_cam(
        X[:5], heatmaps, labels=y, predictions=pred, target_names=names, n_cols=3
    )
    assert len(fig.axes) == 5
    assert all(len(ax.images) == 2 for ax in fig.axes)  # image, then heatmap
    np.testing.assert_array_equal(fig.axes[1].images[1].get_array(), heatmaps[1])
    assert fig.axes[2].get_title() == "true Cup\npred Can"
    assert [ax.title.get_color() == "tab:red" for ax in fig.axes] == [
        False,
        False,
        True,
        False,
        False,
    ]
    with pytest.raises(ValueError, match="heatmaps must have shape"):
        plot_grad_cam(X[:5], heatmaps[:, :5])


def test_plot_top_losses_shows_the_worst_first_with_names_and_probabilities(
    plt, patches, gap_cnn
):
    from litterlearn.plotting import plot_top_losses

    _, (X_test, y_test, _) = patches
    y_noisy = y_test.copy()
    y_noisy[:6] = 1 - y_noisy[:6]  # six wrong labels: the model disagrees
    rgb = np.repeat(X_test[..., None], 3, axis=-1).reshape(len(X_test), -1)
    pipe = make_pipeline(
        GrayscaleNormalizer(image_shape=(SIZE, SIZE, 3)).fit(rgb), gap_cnn
    )
    fig = plot_top_losses(
        pipe, rgb, y_noisy, n=4, target_names=["dark", "bright"], grad_cam=True
    )
    proba = pipe.predict_proba(rgb)
    loss = -np.log(proba[np.arange(len(y_noisy)), y_noisy])
    top = np.argsort(-loss)[:4]
    assert set(top) <= set(range(6))  # the mislabelled images come first
    assert len(fig.axes) == 4
    for ax, i in zip(fig.axes, top, strict=True):
        pred_line, true_line, loss_line = ax.get_title().splitlines()
        names = ["dark", "bright"]
        p = proba[i].argmax()
        assert pred_line == f"pred {names[p]} {proba[i, p]:.2f}"
        assert true_line == f"true {names[y_noisy[i]]} {proba[i, y_noisy[i]]:.2f}"
        assert loss_line == f"loss {loss[i]:.2f}"
        assert ax.title.get_color() == "tab:red"
        # The gray image the CNN saw, under its Grad-CAM heatmap.
        assert ax.images[0].get_array().shape == (SIZE, SIZE)
        assert len(ax.images) == 2
    with pytest.raises(ValueError, match="not classes of the estimator: \\[7\\]"):
        plot_top_losses(pipe, rgb[:3], [0, 1, 7])


@pytest.mark.slow
def test_a_network_sure_of_itself_still_gets_heatmaps(patches, gap_cnn):
    # Scaling the last layer by 50 saturates the softmax: most probabilities
    # are exactly 1.0 in float32, where the softmax's own gradient is 0.
    # Grad-CAM uses the score before the softmax, so the maps stay the same.
    import copy

    _, (X_test, _, mask) = patches
    sure = copy.deepcopy(gap_cnn)
    dense = sure.model_.layers[-2]
    dense.set_weights([w * 50 for w in dense.get_weights()])
    assert np.mean(sure.predict_proba(X_test).max(axis=1) == 1.0) > 0.5
    heatmaps = grad_cam(sure, X_test)
    np.testing.assert_allclose(heatmaps, grad_cam(gap_cnn, X_test), atol=1e-4)
    assert mass_on(heatmaps, mask).mean() > MASS_THRESHOLD


# -- multi-label: one sigmoid per label ----------------------------------------

ML_SIZE = 12


def two_label_images(n, seed):
    """Label 0: a red square in the top half; label 1: a green one below.

    Either, both or neither, at random columns. Returns the RGB images, the
    0/1 indicator and each image's mask of each label's square.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(0.3, 0.05, (n, ML_SIZE, ML_SIZE, 3)).astype(np.float32)
    Y = rng.integers(0, 2, (n, 2))
    masks = np.zeros((n, 2, ML_SIZE, ML_SIZE), dtype=bool)
    for i in range(n):
        for label in (0, 1):
            if Y[i, label]:
                row, col = rng.integers(0, 3) + 6 * label, rng.integers(0, 9)
                masks[i, label, row : row + 4, col : col + 4] = True
                X[i][masks[i, label], label] = 1.0
    return np.clip(X, 0, 1), Y, masks


@pytest.fixture(scope="module")
def tiny_multilabel_cnn():
    X, Y, _ = two_label_images(60, seed=0)
    clf = CNNImageClassifier(filters=(4,), padding="same", max_iter=2, random_state=0)
    return clf.fit(X, Y), X, Y


def test_grad_cam_of_a_multilabel_network_explains_the_chosen_label(
    tiny_multilabel_cnn,
):
    clf, X, _ = tiny_multilabel_cnn
    assert clf.model_.layers[-1].get_config()["activation"] == "sigmoid"
    per_label = [grad_cam(clf, X[:8], target=label) for label in (0, 1)]
    for heatmaps in per_label:
        assert heatmaps.shape == (8, ML_SIZE, ML_SIZE)
        assert heatmaps.min() >= 0 and heatmaps.max() <= 1
    assert not np.allclose(per_label[0], per_label[1])  # one map per label
    # None explains each image's most probable label; per-image targets work.
    best = clf.predict_proba(X[:8]).argmax(axis=1)
    np.testing.assert_allclose(grad_cam(clf, X[:8]), grad_cam(clf, X[:8], target=best))
    with pytest.raises(ValueError, match=r"target 2 is not a class.*\[0, 1\]"):
        grad_cam(clf, X[:2], target=2)


def test_grad_cam_per_label_finds_each_labels_own_evidence():
    X, Y, _ = two_label_images(300, seed=0)
    X_test, Y_test, masks = two_label_images(80, seed=1)
    clf = CNNImageClassifier(
        filters=(8,),
        padding="same",
        global_pooling="max",
        max_iter=10,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, Y)
    assert (clf.predict(X_test) == Y_test).mean() > 0.95
    both = (Y_test == 1).all(axis=1)  # images holding both labels
    for label in (0, 1):
        heatmaps = grad_cam(clf, X_test[both], target=label)
        own = mass_on(heatmaps, masks[both, label])
        other = mass_on(heatmaps, masks[both, 1 - label])
        # Where this label is, not where the other one is.
        assert (own > other).mean() > 0.9, (label, own.mean(), other.mean())
        assert own.mean() > 3 * (16 / ML_SIZE**2)  # well above an even spread


def test_plot_top_losses_ranks_a_multilabel_classifier_per_label(
    plt, tiny_multilabel_cnn
):
    from litterlearn.plotting import plot_top_losses

    clf, X, Y = tiny_multilabel_cnn
    proba = clf.predict_proba(X)
    p = np.clip(proba, 1e-15, 1 - 1e-15)
    loss = -np.where(Y == 1, np.log(p), np.log1p(-p))  # binary cross-entropy
    names = ["left", "right"]
    fig = plot_top_losses(
        clf, X, Y, n=4, label=1, target_names=names, grad_cam=True, n_cols=2
    )
    top = np.argsort(-loss[:, 1], kind="stable")[:4]
    pred = clf.predict(X)
    assert len(fig.axes) == 4
    for ax, i in zip(fig.axes, top, strict=True):
        assert ax.get_title().splitlines() == [
            f"right {proba[i, 1]:.2f}",
            f"true {'has' if Y[i, 1] else 'not'}",
            f"loss {loss[i, 1]:.2f}",
        ]
        assert (ax.title.get_color() == "tab:red") == (pred[i, 1] != Y[i, 1])
        assert len(ax.images) == 2  # the image under the label's heatmap
    # label=None: each image by its worst label, named in its title.
    fig = plot_top_losses(clf, X, Y, n=3, target_names=names)
    worst = loss.max(axis=1)
    for ax, i in zip(fig.axes, np.argsort(-worst, kind="stable")[:3], strict=True):
        first, _, loss_line = ax.get_title().splitlines()
        assert first.split()[0] == names[loss[i].argmax()]
        assert loss_line == f"loss {worst[i]:.2f}"


def test_plot_top_losses_takes_scikit_learn_multilabel_classifiers(plt):
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.neighbors import KNeighborsClassifier

    from litterlearn.plotting import plot_top_losses

    X, Y, _ = two_label_images(40, seed=2)
    rows = X.reshape(len(X), -1)
    # k-NN's predict_proba is a list of (n, 2) arrays, one per label.
    for clf in (KNeighborsClassifier(3), OneVsRestClassifier(LogisticRegression())):
        clf.fit(rows, Y)
        fig = plot_top_losses(clf, rows, Y, n=2, label=0)
        assert len(fig.axes) == 2
        assert fig.axes[0].get_title().startswith("0 ")


def test_plot_top_losses_multilabel_bad_input_fails_clearly(plt, tiny_multilabel_cnn):
    from litterlearn.plotting import plot_top_losses

    clf, X, Y = tiny_multilabel_cnn
    with pytest.raises(ValueError, match=r"label 3 is not a class.*\[0, 1\]"):
        plot_top_losses(clf, X, Y, label=3)
    with pytest.raises(ValueError, match=r"shape \(60, 3\).*shape \(60, 2\)"):
        plot_top_losses(clf, X, np.column_stack([Y, Y[:, 0]]))
    with pytest.raises(ValueError, match="0/1 indicator"):
        plot_top_losses(clf, X, Y * 2)
    with pytest.raises(ValueError, match="looks multi-label"):
        plot_top_losses(clf, X, Y[:, 0])
    rows = X.reshape(len(X), -1)
    single = LogisticRegression().fit(rows, Y[:, 0])
    with pytest.raises(ValueError, match="not a multi-label classifier"):
        plot_top_losses(single, rows, np.column_stack([1 - Y[:, 0], Y[:, 0]]))
    with pytest.raises(ValueError, match="label is for multi-label"):
        plot_top_losses(single, rows, Y[:, 0], label=1)
