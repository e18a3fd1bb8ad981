"""Unlabelled images through scikit-learn's semi-supervised estimators.

scikit-learn marks an unlabelled sample with ``y == -1``, but only its
``sklearn.semi_supervised`` estimators read it so. Two routes work with
litterlearn today: ``SelfTrainingClassifier`` around a Keras classifier, and
``LabelSpreading`` / ``LabelPropagation`` on ``PretrainedFeatures``. Both
are fitted here on real images (scikit-learn's 8x8 digits, as image rows
with ``image_shape=(8, 8)``) with most labels hidden, and must predict only
real classes, pickle, clone, and be tuned by a search that scores labelled
samples only. The estimators themselves take -1 as an ordinary class.
"""

import pickle

import numpy as np
import pytest
import sklearn
from conftest import TINY_BACKBONE
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import (
    LabelPropagation,
    LabelSpreading,
    SelfTrainingClassifier,
)

from litterlearn.ensemble import TestTimeAugmentationClassifier
from litterlearn.neural_network import CNNImageClassifier, MLPImageClassifier
from litterlearn.preprocessing import PretrainedFeatures

UNLABELED = -1


@pytest.fixture(scope="module")
def digits():
    """Digits 0-2 as float32 rows; 80% of the labels hidden (y == -1).

    Returns X, the partly labelled y, and the true labels.
    """
    X, y = load_digits(n_class=3, return_X_y=True)
    X = (X / 16).astype(np.float32)
    hidden = np.random.default_rng(0).random(len(y)) < 0.8
    y_semi = np.where(hidden, UNLABELED, y)
    return X, y_semi, y


def tiny_cnn(**params):
    defaults = dict(
        filters=(4,),
        padding="same",
        max_iter=15,
        learning_rate_init=0.01,
        image_shape=(8, 8),
        random_state=0,
    )
    return CNNImageClassifier(**{**defaults, **params})


def tiny_mlp(**params):
    defaults = dict(
        hidden_layer_sizes=(16,),
        max_iter=30,
        learning_rate_init=0.01,
        image_shape=(8, 8),
        random_state=0,
    )
    return MLPImageClassifier(**{**defaults, **params})


def labelled_accuracy(estimator, X, y):
    """A scorer for searches on partly labelled data: accuracy on y != -1.

    A plain scorer counts every unlabelled sample of a test fold as an error
    (no classifier predicts -1), so its score says how many labels the fold
    had rather than how good the model is.
    """
    labelled = y != UNLABELED
    return accuracy_score(y[labelled], estimator.predict(X[labelled]))


def labelled_test_folds(cv, X, y):
    """The same folds as ``cv``, with unlabelled samples left out of each test fold.

    Training folds keep their unlabelled samples: the semi-supervised
    estimator learns from them.
    """
    return [(train, test[y[test] != UNLABELED]) for train, test in cv.split(X, y)]


def assert_predicts_real_classes(model, X, y_true):
    pred = model.predict(X)
    assert UNLABELED not in model.classes_
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert not np.any(pred == UNLABELED)
    assert model.predict_proba(X).shape == (len(X), 3)
    return np.mean(pred == y_true)


# --------------------------------------------------------------------------
# Route 1: SelfTrainingClassifier around a Keras classifier


@pytest.mark.parametrize(
    "make_estimator",
    [
        tiny_cnn,
        tiny_mlp,
        lambda: TestTimeAugmentationClassifier(tiny_cnn(), n_views=2, random_state=0),
    ],
    ids=["cnn", "mlp", "tta"],
)
def test_self_training_learns_from_unlabelled_images(digits, make_estimator):
    X, y_semi, y = digits
    hidden = y_semi == UNLABELED
    model = SelfTrainingClassifier(make_estimator(), threshold=0.9, max_iter=2)
    model.fit(X, y_semi)
    # Confident predictions on unlabelled images became training labels.
    pseudo = hidden & (model.labeled_iter_ > 0)
    assert pseudo.sum() > 50
    assert np.mean(model.transduction_[pseudo] == y[pseudo]) > 0.9
    assert assert_predicts_real_classes(model, X[hidden], y[hidden]) > 0.9

    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(
        restored.predict_proba(X[:20]), model.predict_proba(X[:20]), atol=1e-6
    )
    fresh = clone(model)
    assert not hasattr(fresh, "estimator_")
    assert fresh.estimator is not model.estimator
    assert repr(fresh.estimator) == repr(model.estimator)


def test_self_training_k_best_refits_on_growing_sets(digits):
    X, y_semi, y = digits
    n_labelled = int(np.sum(y_semi != UNLABELED))
    model = SelfTrainingClassifier(
        tiny_cnn(), criterion="k_best", k_best=40, max_iter=2
    ).fit(X, y_semi)
    assert model.termination_condition_ == "max_iter"
    # 40 images join the training set in each of the two rounds.
    np.testing.assert_array_equal(
        np.bincount(model.labeled_iter_ + 1),
        [len(y) - n_labelled - 80, n_labelled, 40, 40],
    )
    # The final model was fitted on the labelled plus 80 pseudo-labelled
    # images: it reproduces their (pseudo) labels.
    grown = model.labeled_iter_ >= 0
    assert np.mean(model.predict(X[grown]) == model.transduction_[grown]) > 0.9


def test_self_training_with_warm_start_continues_training(digits):
    X, y_semi, y = digits
    cold = SelfTrainingClassifier(tiny_cnn(), threshold=0.9, max_iter=2)
    warm = SelfTrainingClassifier(tiny_cnn(warm_start=True), threshold=0.9, max_iter=2)
    cold.fit(X, y_semi)
    warm.fit(X, y_semi)
    n_fits = warm.n_iter_ + 1  # one per round, plus the final one
    # A cold refit starts from a fresh model; a warm one continues the last.
    assert len(cold.estimator_.loss_curve_) == 15
    assert len(warm.estimator_.loss_curve_) == 15 * n_fits
    hidden = y_semi == UNLABELED
    assert assert_predicts_real_classes(warm, X[hidden], y[hidden]) > 0.9


def test_self_training_needs_image_rows(digits):
    # SelfTrainingClassifier validates X as a 2D array before the estimator
    # sees it: pass rows and the estimator's image_shape, not (n, H, W).
    X, y_semi, _ = digits
    with pytest.raises(ValueError, match="dim 3"):
        SelfTrainingClassifier(tiny_cnn()).fit(X.reshape(-1, 8, 8), y_semi)


def test_self_training_passes_sample_weight_unsliced(digits):
    # With metadata routing on, scikit-learn hands the estimator the full
    # sample_weight while fitting on the labelled rows only; the estimator
    # refuses it with the shapes in the message rather than misaligning.
    X, y_semi, _ = digits
    with sklearn.config_context(enable_metadata_routing=True):
        inner = (
            tiny_cnn(max_iter=1)
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=False)
        )
        model = SelfTrainingClassifier(inner, max_iter=1)
        with pytest.raises(ValueError, match=r"sample_weight.shape"):
            model.fit(X, y_semi, sample_weight=np.ones(len(X)))


def test_self_training_in_a_search_scored_on_labelled_samples(digits):
    X, y_semi, y = digits
    search = GridSearchCV(
        SelfTrainingClassifier(tiny_mlp(max_iter=15), max_iter=1),
        {"threshold": [0.8, 0.95]},
        scoring=labelled_accuracy,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    ).fit(X, y_semi)
    assert search.best_score_ > 0.85
    assert_predicts_real_classes(search.best_estimator_, X, y)
    # A plain accuracy counts the unlabelled samples of each test fold as
    # errors, so it can never exceed the labelled fraction (about 20%).
    plain = cross_val_score(
        clone(search.best_estimator_), X, y_semi, cv=StratifiedKFold(3)
    )
    assert np.all(plain <= np.mean(y_semi != UNLABELED) + 0.02)


# --------------------------------------------------------------------------
# Route 2: LabelSpreading / LabelPropagation on PretrainedFeatures


def features_pipeline(estimator):
    return make_pipeline(
        PretrainedFeatures(
            TINY_BACKBONE,
            weights=None,
            input_size=16,
            image_shape=(8, 8),
            random_state=0,
        ),
        StandardScaler(),
        estimator,
    )


@pytest.mark.parametrize("graph", [LabelSpreading, LabelPropagation])
def test_label_spreading_on_pretrained_features(digits, graph):
    X, y_semi, y = digits
    pipe = features_pipeline(graph(kernel="knn", n_neighbors=7, max_iter=200))
    pipe.fit(X, y_semi)
    hidden = y_semi == UNLABELED
    # Every unlabelled image received a real label (transduction) ...
    # (an image the k-NN graph does not connect to any label would keep an
    # all-zero label distribution and a meaningless label).
    transduction = pipe[-1].transduction_
    assert not np.any(transduction == UNLABELED)
    assert np.all(pipe[-1].label_distributions_.sum(axis=1) > 0)
    # ... and new images are classified (induction). The tiny backbone has
    # random weights: these numbers check the mechanics, not the quality.
    assert np.mean(transduction[hidden] == y[hidden]) > 0.8
    assert assert_predicts_real_classes(pipe, X[hidden], y[hidden]) > 0.8

    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))
    np.testing.assert_array_equal(
        clone(pipe).fit(X, y_semi).predict(X), pipe.predict(X)
    )


def test_label_spreading_search_with_labelled_test_folds(digits):
    X, y_semi, y = digits
    folds = labelled_test_folds(
        StratifiedKFold(3, shuffle=True, random_state=0), X, y_semi
    )
    search = GridSearchCV(
        features_pipeline(LabelSpreading(kernel="knn")),
        {"labelspreading__n_neighbors": [7, 15]},
        cv=folds,
    ).fit(X, y_semi)
    # The default accuracy ran on labelled test samples only.
    assert search.best_score_ > 0.8
    assert_predicts_real_classes(search.best_estimator_, X, y)


# --------------------------------------------------------------------------
# The estimators themselves: -1 is a label like any other


def test_minus_one_is_an_ordinary_class_for_the_estimators(digits):
    X, y_semi, _ = digits
    clf = tiny_cnn(max_iter=3).fit(X, y_semi)
    np.testing.assert_array_equal(clf.classes_, [-1, 0, 1, 2])
    assert clf.predict_proba(X).shape == (len(X), 4)
    # 80% of the samples carry -1: the network learns to predict it.
    assert np.mean(clf.predict(X) == UNLABELED) > 0.5
