"""The small-data recipe: a configured CNNImageClassifier, its epoch rule."""

import numpy as np
import pytest
from sklearn.base import clone

from litterlearn.neural_network import (
    CNNImageClassifier,
    make_small_data_cnn,
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
