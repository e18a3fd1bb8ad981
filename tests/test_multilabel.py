"""Multi-label classification: a 0/1 indicator y, through the same core.

Every Keras estimator fits ``y`` of shape ``(n_samples, n_labels)`` as
scikit-learn's MLPClassifier does: one sigmoid per label, ``predict_proba``
of shape ``(n, n_labels)``, ``predict`` an indicator at ``threshold``.
Tiny real networks on 8x8 images whose labels are where they are bright.
"""

import pickle

import numpy as np
import pytest
from conftest import TINY_BACKBONE
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV
from sklearn.utils import get_tags

from litterlearn.ensemble import TestTimeAugmentationClassifier
from litterlearn.metrics import tune_thresholds
from litterlearn.neural_network import (
    CNNImageClassifier,
    MLPImageClassifier,
    TransferImageClassifier,
)
from litterlearn.neural_network._targets import MultiLabel


def quadrant_images(n, seed=0):
    """Gray 8x8 images; label k is 1 where quadrant k is bright."""
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 3)) < 0.4).astype(int)
    X = rng.random((n, 8, 8)).astype(np.float32) * 0.3
    for k, (rows, cols) in enumerate(
        [(slice(0, 4), slice(0, 4)), (slice(0, 4), slice(4, 8)), (slice(4, 8), None)]
    ):
        X[Y[:, k] == 1, rows, cols] += 0.6
    return X, Y


def mlp(**params):
    defaults = dict(hidden_layer_sizes=(16,), dropout=0.0, learning_rate_init=0.02)
    return MLPImageClassifier(
        **{**defaults, "max_iter": 30, "random_state": 0, **params}
    )


def cnn(**params):
    defaults = dict(filters=(4,), hidden_layer_sizes=(), learning_rate_init=0.02)
    return CNNImageClassifier(
        **{**defaults, "max_iter": 30, "random_state": 0, **params}
    )


def transfer(**params):
    defaults = dict(
        backbone=TINY_BACKBONE,
        weights=None,
        input_size=16,
        hidden_layer_sizes=(),
        learning_rate_init=0.05,
    )
    return TransferImageClassifier(
        **{**defaults, "max_iter": 30, "random_state": 0, **params}
    )


@pytest.mark.parametrize("make", [mlp, cnn, transfer], ids=["mlp", "cnn", "transfer"])
def test_fits_an_indicator_with_sigmoid_outputs(make):
    X, Y = quadrant_images(120)
    clf = make().fit(X, Y)
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.model_.layers[-1].get_config()["activation"] == "sigmoid"
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 3)
    assert ((proba >= 0) & (proba <= 1)).all()
    pred = clf.predict(X)
    assert pred.shape == (120, 3)
    np.testing.assert_array_equal(pred, (proba >= 0.5).astype(int))
    if make is not transfer:  # random features of the tiny body learn less
        assert f1_score(Y, pred, average="macro") > 0.9


def test_one_label_per_image_is_unchanged():
    X, Y = quadrant_images(60)
    clf = mlp(max_iter=3).fit(X, Y[:, 0])
    assert clf.model_.layers[-1].get_config()["activation"] == "softmax"
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1, rtol=1e-6)
    assert clf.predict(X).shape == (60,)


def test_threshold_per_label_needs_no_refit():
    X, Y = quadrant_images(60)
    clf = mlp(max_iter=5).fit(X, Y)
    proba = clf.predict_proba(X)
    thresholds = [0.2, 0.5, 0.8]
    clf.set_params(threshold=thresholds)
    np.testing.assert_array_equal(clf.predict(X), (proba >= thresholds).astype(int))
    clf.set_params(threshold=[0.5, 0.5])
    with pytest.raises(ValueError, match="2 values.*3 labels"):
        clf.predict(X)


def test_the_loss_is_the_weighted_binary_cross_entropy_as_defined():
    # A hand-computed batch: mean over labels of w * BCE, per sample.
    from litterlearn._keras.losses import multilabel_binary_crossentropy as loss

    target = np.array([[1, 0, 1], [0, 0, 1]], np.float32)
    weight = np.array([[2, 1, 1], [1, 0.5, 3]], np.float32)
    proba = np.array([[0.9, 0.2, 0.6], [0.3, 0.1, 0.8]], np.float32)
    bce = -(target * np.log(proba) + (1 - target) * np.log(1 - proba))
    expected = (weight * bce).mean(axis=1)
    got = np.asarray(loss(np.concatenate([target, weight], axis=1), proba))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_balanced_class_weight_weighs_each_label_on_its_own():
    Y = np.array([[1, 0], [0, 0], [0, 0], [0, 1]], dtype=np.float32)
    y, _ = MultiLabel(2).training_targets("balanced", None, Y, None)
    weights = y[:, 2:]
    # scikit-learn's n / (2 * count) on each label's own binary problem.
    n_pos = Y.sum(axis=0)
    expected = np.where(Y > 0, 4 / (2 * n_pos), 4 / (2 * (4 - n_pos)))
    np.testing.assert_allclose(weights, expected)
    np.testing.assert_array_equal(y[:, :2], Y)


def test_class_weight_dict_weighs_a_labels_positives():
    X, Y = quadrant_images(60)
    clf = mlp(class_weight={2: 5.0}, max_iter=2).fit(X, Y)
    assert clf.predict(X).shape == (60, 3)
    with pytest.raises(ValueError, match="column indices 0..2"):
        mlp(class_weight={"cat": 2.0}, max_iter=1).fit(X, Y)


def test_validation_data_and_early_stopping():
    X, Y = quadrant_images(120)
    clf = mlp(early_stopping=True, n_iter_no_change=3, max_iter=50).fit(X, Y)
    assert "val_loss" in clf.history_
    assert clf.n_iter_ <= 50
    clf = mlp(max_iter=3).fit(X[:100], Y[:100], X_val=X[100:], y_val=Y[100:])
    assert len(clf.history_["val_accuracy"]) == 3
    with pytest.raises(
        ValueError, match=r"y_val must be a 0/1 indicator.*\(n_val, 3\)"
    ):
        mlp(max_iter=1).fit(X[:100], Y[:100], X_val=X[100:], y_val=Y[100:, :2])


def test_bad_indicators_name_the_problem():
    X, Y = quadrant_images(40)
    bad = Y.copy()
    bad[0, 0] = 2
    with pytest.raises(ValueError, match="0/1 indicator.*got values"):
        mlp(max_iter=1).fit(X, bad)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        mlp(max_iter=1).fit(X, Y[:30])
    clf = mlp(max_iter=1)
    with pytest.raises(ValueError):
        clf.fit(X, bad)
    assert not hasattr(clf, "model_")  # a failed fit leaves it unfitted


def test_warm_start_needs_the_same_labels():
    X, Y = quadrant_images(40)
    clf = mlp(max_iter=1, warm_start=True).fit(X, Y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match="same labels.*3 labels.*got 2 labels"):
        clf.fit(X, Y[:, :2])
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    with pytest.raises(ValueError, match="same labels"):
        clf.fit(X, Y[:, 0])
    clf.fit(X, Y)
    assert clf.n_iter_ == 2


def test_pickles_clones_and_searches_with_multilabel_scorers():
    X, Y = quadrant_images(90)
    clf = mlp(max_iter=5).fit(X, Y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert clone(clf).get_params() == clf.get_params()
    search = GridSearchCV(
        mlp(max_iter=5), {"alpha": [0.0, 1e-3]}, cv=3, scoring="f1_macro"
    ).fit(X, Y)
    assert np.isfinite(search.best_score_)
    assert search.predict(X).shape == (90, 3)


def test_estimator_tags_say_multi_label():
    for est in (mlp(), cnn(), transfer()):
        assert get_tags(est).classifier_tags.multi_label


def test_test_time_augmentation_predicts_an_indicator():
    X, Y = quadrant_images(60)
    tta = TestTimeAugmentationClassifier(mlp(max_iter=5), n_views=2, random_state=0)
    tta.fit(X, Y)
    proba = tta.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_array_equal(tta.predict(X), (proba >= 0.5).astype(int))


def test_tuned_thresholds_are_each_labels_best_f1():
    X, Y = quadrant_images(160)
    clf = mlp(max_iter=4).fit(X[:100], Y[:100])
    proba = clf.predict_proba(X[100:])
    thresholds = tune_thresholds(Y[100:], proba)
    assert thresholds.shape == (3,) and ((thresholds > 0) & (thresholds < 1)).all()
    clf.set_params(threshold=thresholds)
    tuned = clf.predict(X[100:])
    np.testing.assert_array_equal(tuned, (proba >= thresholds).astype(int))
    for k in range(3):  # no threshold on the grid of scores does better
        best = max(
            f1_score(Y[100:, k], proba[:, k] >= t, zero_division=0)
            for t in np.unique(proba[:, k])
        )
        assert f1_score(Y[100:, k], tuned[:, k]) == pytest.approx(best)
    with pytest.raises(ValueError, match="one column per label"):
        tune_thresholds(Y[100:, :2], proba)
