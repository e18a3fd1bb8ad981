"""PretrainedFeatures and the backbone catalogue (weights, preprocessing, sizes).

Backbones are built with ``weights=None`` (ImageNet weights cannot be
downloaded here) at the smallest size Keras allows, 32x32, on a few images.
"""

import http.server
import os
import pickle
import threading
import warnings

import numpy as np
import pytest
from conftest import TINY_BACKBONE
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from litterlearn import _backbones
from litterlearn.preprocessing import PretrainedFeatures

TINY = {"weights": None, "input_size": 32, "random_state": 0}


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (6, 20, 24, 3), dtype=np.uint8)


def test_features_shape_and_pooling(images):
    # At 64x64 VGG16's last feature map is 2x2 (1x1 at 32x32).
    params = {**TINY, "input_size": 64}
    avg = PretrainedFeatures("vgg16", **params).fit_transform(images)
    assert avg.shape == (6, 512)
    assert avg.dtype == np.float32
    assert np.isfinite(avg).all() and avg.max() > 0
    maxed = PretrainedFeatures("vgg16", pooling="max", **params)
    maxed = maxed.fit_transform(images)
    # Global max pooling bounds global average pooling from above.
    assert np.all(maxed >= avg - 1e-5 * avg.max())
    assert not np.allclose(maxed, avg, rtol=1e-3, atol=0)


def test_stateless_rows_and_batches(images):
    """fit learns nothing; rows and 4D input, and any batch size, agree."""
    step = PretrainedFeatures("vgg16", batch_size=4, **TINY)
    expected = step.fit(images[:2]).transform(images)
    rows = images.reshape(6, -1)
    other = PretrainedFeatures("vgg16", batch_size=1, image_shape=(20, 24, 3), **TINY)
    np.testing.assert_allclose(
        other.fit(rows[3:]).transform(rows), expected, rtol=1e-4, atol=1e-5
    )


def test_gray_and_float_inputs(images):
    """Gray is the RGB image with 3 equal channels; floats are uint8 / 255."""
    gray = images[..., 0]
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    step = PretrainedFeatures("vgg16", **TINY)
    from_gray = step.fit_transform(gray)
    np.testing.assert_allclose(
        from_gray, clone(step).fit_transform(rgb), rtol=1e-4, atol=1e-4
    )
    as_float = gray.astype(np.float32) / 255
    np.testing.assert_allclose(
        clone(step).fit_transform(as_float), from_gray, rtol=1e-3, atol=1e-3
    )
    # A step fitted on uint8 converts float input at transform.
    np.testing.assert_allclose(
        step.transform(as_float), from_gray, rtol=1e-3, atol=1e-3
    )


@pytest.mark.parametrize(
    "name, module",
    [
        ("vgg16", "vgg16"),
        ("vgg19", "vgg19"),
        ("resnet50", "resnet50"),
        ("mobilenet_v2", "mobilenet_v2"),
        ("efficientnet_b0", "efficientnet"),
        ("densenet121", "densenet"),
    ],
)
def test_preprocessing_layer_matches_keras(name, module):
    """The in-model preprocessing is the backbone's own preprocess_input."""
    import keras

    spec = _backbones.get_backbone(name)
    from litterlearn._keras.layers import BackbonePreprocessing

    layer = BackbonePreprocessing(spec.preprocessing)
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    expected = getattr(keras.applications, module).preprocess_input(x.copy())
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-4)


def test_catalogue_weights_files_are_keras_own():
    """The URLs of the catalogue are those keras.applications downloads."""
    from keras.src.applications import densenet, vgg16, vgg19

    assert (
        _backbones.get_backbone("vgg16").weights_url
        + _backbones.get_backbone("vgg16").weights_filename(224)
        == vgg16.WEIGHTS_PATH_NO_TOP
    )
    spec = _backbones.get_backbone("vgg19")
    assert spec.weights_url + spec.weights_filename(224) == vgg19.WEIGHTS_PATH_NO_TOP
    spec = _backbones.get_backbone("densenet121")
    assert (
        spec.weights_url + spec.weights_filename(224)
        == densenet.DENSENET121_WEIGHT_PATH_NO_TOP
    )
    mobilenet = _backbones.get_backbone("mobilenet_v2")
    assert mobilenet.weights_filename(160).endswith("_1.0_160_no_top.h5")
    assert mobilenet.weights_filename(50).endswith("_1.0_224_no_top.h5")


def test_weights_from_a_file(tmp_path, images):
    """A weights file of the backbone is what the features are computed with."""
    spec = _backbones.get_backbone("vgg16")
    backbone = _backbones.build_backbone(spec, None, (32, 32), seed=7)
    path = tmp_path / "vgg16.weights.h5"
    backbone.save_weights(path)
    step = PretrainedFeatures("vgg16", weights=str(path), input_size=32)
    features = step.fit_transform(images)
    expected = backbone.predict(
        _backbones.preprocessing_layer(
            _backbones.get_backbone("vgg16"), np.uint8, (32, 32)
        )(images),
        verbose=0,
    ).mean(axis=(1, 2))
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)
    # Different (seeded random) weights give different features.
    random = PretrainedFeatures("vgg16", **TINY).fit_transform(images)
    assert not np.allclose(random, features, rtol=1e-3, atol=0)


def test_missing_or_wrong_weights_file(tmp_path, images):
    with pytest.raises(_backbones.WeightsUnavailableError, match="is not a file"):
        PretrainedFeatures("vgg16", weights=str(tmp_path / "nope.h5")).fit(images)
    wrong = tmp_path / "mobilenet.weights.h5"
    spec = _backbones.get_backbone("mobilenet_v2")
    _backbones.build_backbone(spec, None, (32, 32), seed=0).save_weights(wrong)
    step = PretrainedFeatures("vgg16", weights=wrong, input_size=32).fit(images)
    with pytest.raises(ValueError, match="Cannot load the weights file .* 'vgg16'"):
        step.transform(images)


def _one_conv(*, include_top=False, weights=None, input_shape, name=None):
    import keras

    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    return keras.Model(inputs, x, name=name or "one_conv")


def test_weights_of_another_architecture_give_one_error_and_no_warnings(
    tmp_path, images
):
    # Keras warns once per part of the network it finds no match for in the
    # file (about a hundred for VGG16's file in MobileNetV2) before it raises.
    other = _backbones.BackboneSpec(
        **{**vars(TINY_BACKBONE), "name": "one_conv", "constructor": _one_conv}
    )
    path = tmp_path / "one_conv.weights.h5"
    _backbones.build_backbone(other, None, (16, 16), seed=0).save_weights(path)
    step = PretrainedFeatures(TINY_BACKBONE, weights=str(path), input_size=16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError) as info:
            step.fit_transform(images)
    assert [str(w.message) for w in caught] == []
    message = str(info.value)
    assert message.startswith(f"Cannot load the weights file {str(path)!r}")
    assert "into backbone 'tiny_vgg'" in message
    assert "Target variable" not in message  # Keras' dump of the values


@pytest.fixture
def http_404_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_error(404, "no such file")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_failed_imagenet_download_says_what_to_do(http_404_server, monkeypatch, images):
    """Keras' download fails: the error names the backbone, Keras' cache and
    how to pre-fetch the file; nothing is left in the cache."""
    spec = _backbones.get_backbone("vgg16")
    cached = os.path.join(_backbones.keras_cache_dir(), spec.weights_filename(224))
    if os.path.exists(cached):
        pytest.skip("the ImageNet weights of VGG16 are in Keras' cache here")
    monkeypatch.setenv(_backbones.WEIGHTS_URL_ENV, http_404_server)
    step = PretrainedFeatures("vgg16")
    with pytest.raises(_backbones.WeightsUnavailableError) as info:
        step.fit(images)
    message = str(info.value)
    assert "'vgg16'" in message
    assert spec.weights_filename(224) in message
    assert _backbones.keras_cache_dir() in message and "KERAS_HOME" in message
    assert "keras.applications.VGG16(include_top=False, weights='imagenet')" in message
    assert "weights='/path/to/" in message
    assert not os.path.exists(cached)
    assert not hasattr(step, "n_features_in_")


def test_bad_parameters(images):
    with pytest.raises(ValueError, match="Unknown backbone 'vgg'; .*'vgg16'"):
        _backbones.get_backbone("vgg")
    with pytest.raises(ValueError, match="input_size=16 is too small .*at least 32"):
        PretrainedFeatures("vgg16", weights=None, input_size=16).fit(images)


def test_pickle_and_pipeline_search():
    """Features before LogisticRegression, under GridSearchCV; pickled."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.images[:60] / 16, digits.target[:60] % 2
    pipe = make_pipeline(
        PretrainedFeatures("vgg16", **TINY),
        LogisticRegression(max_iter=200),
    )
    search = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, cv=2)
    search.fit(X, y)
    assert search.best_estimator_.predict(X).shape == (60,)
    step = search.best_estimator_[0]
    restored = pickle.loads(pickle.dumps(step))
    np.testing.assert_allclose(restored.transform(X[:5]), step.transform(X[:5]))
    assert restored.get_feature_names_out()[0] == "pretrainedfeatures0"
