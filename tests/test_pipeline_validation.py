"""Validation data through a Pipeline of file paths: scikit-learn's own way.

``Pipeline(..., transform_input=["X_val"])`` (scikit-learn >= 1.6, metadata
routing on) sends ``X_val`` through the same resize and normalize steps as
``X`` before the classifier sees it; the classifier requests ``X_val`` and
``y_val`` with ``set_fit_request``.
"""

import numpy as np
import pytest
import sklearn
from sklearn.pipeline import Pipeline

from litterlearn.neural_network import MLPImageClassifier
from litterlearn.preprocessing import GrayscaleNormalizer, ImageResizer


def _clf():
    return MLPImageClassifier(
        hidden_layer_sizes=(8,), max_iter=3, batch_size=8, random_state=0
    )


def test_x_val_of_file_paths_goes_through_the_pipeline(image_folder):
    paths, y = image_folder
    X_train, y_train, X_val, y_val = paths[:16], y[:16], paths[16:], y[16:]
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline(
            [
                ("resize", ImageResizer(12)),
                ("gray", GrayscaleNormalizer()),
                ("clf", _clf().set_fit_request(X_val=True, y_val=True)),
            ],
            transform_input=["X_val"],
        )
        pipe.fit(X_train, y_train, X_val=X_val, y_val=y_val)

    # The same as fitting the classifier on the transformed arrays by hand.
    prep = Pipeline([("resize", ImageResizer(12)), ("gray", GrayscaleNormalizer())])
    Z_train = prep.fit_transform(X_train)
    by_hand = _clf().fit(Z_train, y_train, X_val=prep.transform(X_val), y_val=y_val)
    got, expected = pipe[-1].history_, by_hand.history_
    assert len(got["val_loss"]) == 3
    np.testing.assert_allclose(got["val_loss"], expected["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(
        pipe[-1].validation_scores_, by_hand.validation_scores_, rtol=1e-5
    )


def test_x_val_without_a_request_is_refused_by_scikit_learn(image_folder):
    paths, y = image_folder
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline(
            [("resize", ImageResizer(12)), ("clf", _clf())],
            transform_input=["X_val"],
        )
        with pytest.raises(ValueError, match="set_fit_request"):
            pipe.fit(paths[:16], y[:16], X_val=paths[16:], y_val=y[16:])


def test_x_val_with_a_sampler_in_an_inner_imblearn_pipeline(image_folder):
    from imblearn.over_sampling import RandomOverSampler
    from imblearn.pipeline import make_pipeline as make_imb_pipeline

    paths, y = image_folder
    with sklearn.config_context(enable_metadata_routing=True):
        clf = _clf().set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline(
            [
                ("resize", ImageResizer(12)),
                ("model", make_imb_pipeline(RandomOverSampler(random_state=0), clf)),
            ],
            transform_input=["X_val"],
        )
        pipe.fit(paths[:16], y[:16], X_val=paths[16:], y_val=y[16:])
    fitted = pipe[-1][-1]
    assert len(fitted.history_["val_loss"]) == 3
    assert np.isfinite(fitted.history_["val_loss"]).all()
