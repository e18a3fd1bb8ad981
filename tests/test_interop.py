"""ImageResizer and GrayscaleNormalizer inside scikit-learn and imbalanced-learn.

All on the ``image_folder`` fixture: 24 generated JPEG/PNG files of assorted
sizes, 8 of them positive, where the positives are brighter on the left.
"""

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from litterlearn.preprocessing import GrayscaleNormalizer, ImageResizer


def test_imblearn_pipeline_with_random_oversampler(image_folder):
    paths, y = image_folder
    pipe = make_pipeline(
        ImageResizer(16),
        GrayscaleNormalizer(),
        RandomOverSampler(random_state=0),
        LogisticRegression(),
    )
    pipe.fit(paths, y)
    pred = pipe.predict(paths)
    assert pred.shape == y.shape
    assert (pred == y).mean() >= 0.9  # the classes are easy on the training set
    assert pipe.predict_proba(paths).shape == (len(y), 2)
    # The sampler balanced the classes the classifier saw.
    sampler = pipe.named_steps["randomoversampler"]
    assert sampler.sampling_strategy_ == {1: 16 - 8}


def test_imblearn_pipeline_with_smote(image_folder):
    paths, y = image_folder
    pipe = make_pipeline(
        ImageResizer(16),
        GrayscaleNormalizer(),
        SMOTE(k_neighbors=3, random_state=0),
        LogisticRegression(),
    )
    pipe.fit(paths, y)
    assert (pipe.predict(paths) == y).mean() >= 0.9
    # The classifier was fitted on 16x16 gray rows.
    assert pipe.named_steps["logisticregression"].n_features_in_ == 256


def test_pca_after_grayscale(image_folder):
    paths, y = image_folder
    pipe = make_pipeline(
        ImageResizer(16),
        GrayscaleNormalizer(),
        PCA(n_components=5),
        LogisticRegression(),
    )
    pipe.fit(paths, y)
    assert pipe[:-1].transform(paths).shape == (len(y), 5)
    assert (pipe.predict(paths) == y).mean() >= 0.9


def test_grid_search_over_the_resize_size(image_folder):
    paths, y = image_folder
    pipe = make_pipeline(
        ImageResizer(16),
        GrayscaleNormalizer(),
        RandomOverSampler(random_state=0),
        LogisticRegression(),
    )
    # Rows carry no shape: the next step infers square images, so a
    # non-square size goes with the matching image_shape downstream.
    grid = [
        {"imageresizer__size": [8, 16]},
        {
            "imageresizer__size": [(12, 10)],
            "grayscalenormalizer__image_shape": [(12, 10, -1)],
        },
    ]
    search = GridSearchCV(
        pipe,
        grid,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        scoring="balanced_accuracy",
    )
    search.fit(paths, y)
    assert len(search.cv_results_["params"]) == 3
    # Every candidate fitted (a failed fit would score NaN).
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_["imageresizer__size"] in (8, (12, 10), 16)
    best = search.best_estimator_.named_steps["imageresizer"]
    assert best.size == search.best_params_["imageresizer__size"]
    # The refitted pipeline reads files it never saw in the search's folds.
    assert search.predict(paths[:3]).shape == (3,)
