"""The Keras classifiers in the ecosystem: pipelines on image files, searches
in worker processes, imbalanced-learn samplers, threshold tuning.

Worker processes are real (joblib's loky backend): estimators travel to them
and, fitted, back, pickled with their Keras model in Keras' own format.
"""

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    TunedThresholdClassifierCV,
    cross_validate,
)
from sklearn.pipeline import make_pipeline

from litterlearn.neural_network import CNNImageClassifier, MLPImageClassifier
from litterlearn.preprocessing import GrayscaleNormalizer, ImageResizer

TINY_MLP = {"hidden_layer_sizes": (8,), "dropout": 0.0, "random_state": 0}


def bright_left_right(n=60, side=8, minority_every=4, seed=0):
    """Gray rows: the minority class is brighter on the left half."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, side, side), dtype=np.float32) * 0.6
    y = (np.arange(n) % minority_every == 0).astype(int)
    X[y == 1, :, : side // 2] += 0.4
    X[y == 0, :, side // 2 :] += 0.4
    return X.reshape(n, -1), y


@pytest.mark.slow
def test_pipeline_on_files_in_grid_search_and_cross_validate_processes(image_folder):
    paths, y = image_folder
    pipe = make_pipeline(
        ImageResizer(8),
        GrayscaleNormalizer(),
        MLPImageClassifier(**TINY_MLP, max_iter=15, learning_rate_init=0.01),
    )
    pipe.fit(paths, y)
    assert pipe.predict_proba(paths).shape == (24, 2)
    assert pipe.score(paths, y) > 0.8

    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    grid = GridSearchCV(
        pipe,
        {
            "imageresizer__size": [6, 8],
            "mlpimageclassifier__hidden_layer_sizes": [(4,), (8,)],
            "mlpimageclassifier__learning_rate_init": [0.003, 0.01],
        },
        cv=cv,
        scoring="roc_auc",
        n_jobs=2,
    ).fit(paths, y)
    assert len(grid.cv_results_["params"]) == 8
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.best_score_ > 0.8
    best = grid.best_estimator_
    assert best[-1].n_features_in_ == best[0].size ** 2

    # Fitted pipelines, Keras models included, come back from the workers.
    result = cross_validate(
        pipe, paths, y, cv=cv, scoring="roc_auc", n_jobs=2, return_estimator=True
    )
    assert result["test_score"].mean() > 0.8
    for fitted, (_, test) in zip(result["estimator"], cv.split(paths, y), strict=True):
        proba = fitted.predict_proba(paths[test])[:, 1]
        assert proba[y[test] == 1].mean() > proba[y[test] == 0].mean()
    models = [fitted[-1].model_ for fitted in result["estimator"]]
    assert len({id(m) for m in models}) == 3  # three live estimators, three models


def test_cnn_pipeline_on_files(image_folder):
    paths, y = image_folder
    pipe = make_pipeline(
        ImageResizer(10, color="gray"),
        CNNImageClassifier(
            filters=(4,),
            padding="same",
            max_iter=20,
            learning_rate_init=0.01,
            random_state=0,
        ),
    )
    pipe.fit(paths, y)
    clf = pipe[-1]
    assert clf.input_dtype_ == np.uint8 and clf.image_shape_ == (10, 10, 1)
    assert pipe.score(paths, y) > 0.8


@pytest.mark.parametrize(
    "sampler",
    [RandomOverSampler(random_state=0), SMOTE(k_neighbors=3, random_state=0)],
    ids=["ros", "smote"],
)
def test_imblearn_pipelines_with_oversamplers(sampler):
    X, y = bright_left_right()
    pipe = make_imb_pipeline(
        sampler,
        CNNImageClassifier(
            filters=(4,),
            padding="same",
            max_iter=10,
            learning_rate_init=0.01,
            early_stopping=True,
            n_iter_no_change=5,
            random_state=0,
        ),
    ).fit(X, y)
    clf = pipe[-1]
    # The classifier trained on the resampled, balanced data.
    assert clf.history_ and clf.validation_scores_ is not None
    assert pipe.predict_proba(X).shape == (60, 2)
    assert pipe.score(X, y) > 0.8


def test_tuned_threshold_on_top():
    X, y = bright_left_right()
    tuned = TunedThresholdClassifierCV(
        MLPImageClassifier(**TINY_MLP, max_iter=10, learning_rate_init=0.01),
        scoring="balanced_accuracy",
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert 0 < tuned.best_threshold_ < 1
    assert tuned.predict(X).shape == (60,)
    assert tuned.best_score_ > 0.7


def test_a_search_builds_many_models_without_retracing_warnings(caplog):
    # TensorFlow warns when 5 of the last 10 calls of one Python function
    # traced it; Keras' predict function is one such function for all models.
    import logging

    X, y = bright_left_right(48)
    search = GridSearchCV(
        MLPImageClassifier(**TINY_MLP, max_iter=2),
        {"hidden_layer_sizes": [(3,), (4,), (5,), (6,), (7,), (9,)]},
        cv=2,
    )
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        search.fit(X, y)
        for n in (1, 3, 7, 48):  # batches of any size: traced once per model
            search.predict_proba(X[:n])
    assert len(search.cv_results_["params"]) == 6
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
