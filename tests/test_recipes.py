"""The small-data recipes: a configured CNNImageClassifier, its epoch rule;
a configured TransferImageClassifier."""

import numpy as np
import pytest
from conftest import TINY_BACKBONE
from sklearn.base import clone

from litterlearn.neural_network import (
    CNNImageClassifier,
    TransferImageClassifier,
    make_small_data_cnn,
    make_small_data_transfer,
    small_data_epochs,
)


def test_epochs_fall_with_the_training_size_within_bounds():
    epochs = [small_data_epochs(n) for n in (1, 100, 333, 1000, 3000, 10**6)]
    assert epochs == [60, 60, 60, 20, 15, 15]
    assert epochs == sorted(epochs, reverse=True)


@pytest.mark.parametrize("bad", [0, -5, 2.5, "300", None, True])
def test_epochs_reject_what_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        small_data_epochs(bad)


def test_recipe_is_an_ordinary_unfitted_cnn_that_leaves_the_defaults_alone():
    clf = make_small_data_cnn(1000, random_state=3)
    assert type(clf) is CNNImageClassifier
    assert not hasattr(clf, "model_")
    params = clf.get_params()
    assert params["filters"] == (16, 32, 64)
    assert params["padding"] == "same"
    assert params["hidden_layer_sizes"] == (128,)
    assert params["dropout"] == 0.5
    assert params["max_iter"] == small_data_epochs(1000)
    assert params["label_smoothing"] == 0.1
    assert params["random_state"] == 3
    # The estimator's own defaults are still the course's CNN.
    assert CNNImageClassifier().get_params()["filters"] == (16, 16, 16)
    assert CNNImageClassifier().get_params()["label_smoothing"] == 0.0
    assert clone(clf).get_params() == params


def test_recipe_fits_small_gray_images_and_separates_their_classes(rng):
    # 3 classes of 12x12 images, each a bright square in its own corner.
    n = 60
    y = np.arange(n) % 3
    X = rng.integers(0, 60, size=(n, 12, 12), dtype=np.uint8)
    for label, (r, c) in enumerate([(0, 0), (0, 6), (6, 0)]):
        X[y == label, r : r + 6, c : c + 6] += 150
    clf = make_small_data_cnn(n, random_state=0).set_params(max_iter=15)
    clf.fit(X.reshape(n, -1), y)
    assert clf.predict_proba(X.reshape(n, -1)).shape == (n, 3)
    assert clf.score(X.reshape(n, -1), y) > 0.9
    layer_names = [type(layer).__name__ for layer in clf.model_.layers]
    assert layer_names.count("Conv2D") == 3
    assert "BatchNormalization" not in layer_names


def test_transfer_recipe_is_a_logistic_head_then_the_whole_backbone_fine_tuned(rng):
    """A linear head with LogisticRegression(C=1)'s penalty; from 100 images
    on, every backbone layer fine-tuned after it, BatchNormalization's
    statistics kept; an ordinary estimator, the defaults left alone."""
    small, large = make_small_data_transfer(50), make_small_data_transfer(200)
    assert type(large) is TransferImageClassifier
    assert (small.fine_tune_max_iter, large.fine_tune_max_iter) == (0, 15)
    assert large.hidden_layer_sizes == ()
    assert large.alpha == pytest.approx(0.5 / 200)
    assert clone(large).get_params() == large.get_params()
    assert TransferImageClassifier().get_params()["fine_tune_max_iter"] == 0
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        make_small_data_transfer(0)

    X = rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
    y = np.arange(12) % 3
    tiny = dict(backbone=TINY_BACKBONE, weights=None, input_size=16, random_state=0)
    fitted = {
        epochs: make_small_data_transfer(200, **tiny)
        .set_params(max_iter=2, fine_tune_max_iter=epochs, batch_size=4)
        .fit(X, y)
        for epochs in (0, 1)
    }
    tuned = fitted[1]
    assert tuned.phase_starts_ == {"head": 0, "fine_tune": 2}
    assert tuned.predict_proba(X).shape == (12, 3)
    dense = [layer.name for layer in tuned.model_.layers if hasattr(layer, "units")]
    assert dense == ["output"]  # a linear model of the pooled features
    # The same seeded backbone, with and without fine-tuning.
    before, after = (fitted[e].model_.get_layer("tiny_vgg") for e in (0, 1))
    for name in ("block1_conv1", "block2_conv1"):
        assert not np.allclose(
            before.get_layer(name).kernel, after.get_layer(name).kernel
        ), name
    for a, b in zip(
        before.get_layer("block2_bn").weights,
        after.get_layer("block2_bn").weights,
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
