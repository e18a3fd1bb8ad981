"""Every backbone source: keras.applications by name.

What litterlearn reads from Keras for each constructor (preprocessing,
minimum size, feature count, stages) is checked against Keras itself, cheaply
over every name; building and training use one small constructor per Keras
module, at its minimum size, with random weights (no download here).
"""

import numpy as np
import pytest

from litterlearn import _backbones
from litterlearn.neural_network import TransferImageClassifier
from litterlearn.preprocessing import PretrainedFeatures

TINY = {"input_size": 32, "max_iter": 1, "batch_size": 4, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (6, 20, 20, 3), dtype=np.uint8)
    y = np.array(["a", "b"])[np.arange(6) % 2]
    return X, y


def test_every_keras_application_is_a_backbone_by_its_name():
    """Each constructor resolves by its name as written, in lower case and
    in snake case; its preprocessing inside the model is the one of its
    module's ``preprocess_input`` on real pixels; its minimum size is the
    one Keras enforces."""
    import keras

    from litterlearn._keras.layers import BackbonePreprocessing

    names = _backbones.application_names()
    assert {"ConvNeXtTiny", "EfficientNetV2B0", "MobileNetV3Small"} <= set(names)
    assert {"Xception", "InceptionV3", "ResNet50V2", "NASNetMobile"} <= set(names)
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    for name in names:
        spec = _backbones.get_backbone(name)
        assert _backbones.get_backbone(name.lower()) is spec, name
        assert spec.constructor == name or spec.name in _backbones.BACKBONES
        constructor = getattr(keras.applications, name)
        module = getattr(keras.applications, constructor.__module__.split(".")[-1])
        np.testing.assert_allclose(
            BackbonePreprocessing(spec.preprocessing)(pixels),
            module.preprocess_input(pixels.copy()),
            rtol=1e-5,
            atol=1e-4,
            err_msg=name,
        )
        with pytest.raises(ValueError, match=f"at least {spec.min_size}x"):
            constructor(
                include_top=False,
                weights=None,
                input_shape=(spec.min_size - 1, spec.min_size - 1, 3),
            )
        assert spec.default_size >= spec.min_size
    assert _backbones.get_backbone("convnext_tiny").constructor == "ConvNeXtTiny"
    assert _backbones.get_backbone("efficientnet_v2_b0").name == "efficientnetv2b0"
    assert _backbones.get_backbone("Xception").min_size == 71


def test_the_catalogue_agrees_with_keras():
    """The six catalogue entries say what Keras says of their constructors."""
    for spec in _backbones.BACKBONES.values():
        found = _backbones._application_spec(spec.constructor)
        assert (found.preprocessing, found.min_size, found.block_pattern) == (
            spec.preprocessing,
            spec.min_size,
            spec.block_pattern,
        ), spec.name
        assert _backbones.get_backbone(spec.constructor) is spec


# One constructor per Keras module: each module names its stages its own way.
FAMILIES = [
    ("ConvNeXtTiny", 4),
    ("EfficientNetV2B0", 6),
    ("MobileNetV3Small", 11),
    ("Xception", 14),
    ("InceptionV3", 11),
    ("MobileNet", 14),
    pytest.param("ResNet50V2", 4, marks=pytest.mark.slow),
    pytest.param("DenseNet121", 4, marks=pytest.mark.slow),
    pytest.param("NASNetMobile", 16, marks=pytest.mark.slow),
    pytest.param("InceptionResNetV2", 40, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name, n_stages", FAMILIES)
def test_each_family_builds_and_groups_into_stages(name, n_stages):
    """Every weighted layer belongs to a stage; stages follow the network
    from the bottom; the top stage is the network's last weighted layers."""
    spec = _backbones.get_backbone(name)
    size = (spec.min_size, spec.min_size)
    backbone = _backbones.build_backbone(spec, None, size)
    assert backbone.name == spec.name
    blocks = _backbones._blocks(spec, backbone)
    assert len(blocks) >= n_stages
    weighted = [layer for layer in backbone.layers if layer.weights]
    depths = _backbones.block_depths(spec, backbone)
    assert set(depths) == {id(layer) for layer in weighted}
    assert [depths[id(layer)] for layer in weighted] == sorted(
        (depths[id(layer)] for layer in weighted), reverse=True
    )
    top = _backbones.top_layers(spec, backbone)
    assert top and top == weighted[len(weighted) - len(top) :]
    assert len(top) < len(weighted) // 2
    assert len(backbone.output_shape) == 4


def test_convnext_blocks_are_its_four_stages_with_their_downsampling():
    """Fine-tuning two blocks of a ConvNeXt unfreezes its last two stages,
    each with the downsampling layer that opens it, and nothing below."""
    import re

    spec = _backbones.get_backbone("ConvNeXtTiny")
    backbone = _backbones.build_backbone(spec, None, (32, 32))

    def stage(layer):  # the stage a layer belongs to, in ConvNeXt's terms
        if match := re.search(r"stage_(\d+)_", layer.name):
            return int(match.group(1))
        if match := re.search(r"downsampling_block_(\d+)", layer.name):
            return int(match.group(1)) + 1
        return 0 if layer.name.endswith("_stem") else 3  # the last norm

    assert len(_backbones._blocks(spec, backbone)) == 4
    weighted = [layer for layer in backbone.layers if layer.weights]
    for n_blocks in (1, 2, 3):
        top = _backbones.top_layers(spec, backbone, n_blocks=n_blocks)
        wanted = [layer for layer in weighted if stage(layer) >= 4 - n_blocks]
        assert top == wanted, n_blocks


def test_a_new_family_trains_and_fine_tunes_its_top_stage(data):
    """MobileNetV3Small by name: phase 1 trains the head, phase 2 the top
    stage too (BatchNormalization frozen); the features are its 576 channels."""
    import keras

    X, y = data
    clf = TransferImageClassifier(
        "mobilenet_v3_small",
        weights=None,
        fine_tune_max_iter=1,
        fine_tune_learning_rate=1e-2,
        hidden_layer_sizes=(4,),
        **TINY,
    ).fit(X, y)
    assert clf.predict_proba(X).shape == (6, 2)
    assert clf.phase_starts_ == {"head": 0, "fine_tune": 1}
    spec = _backbones.get_backbone("MobileNetV3Small")
    backbone = clf.model_.get_layer(spec.name)
    trainable = {w.path for w in clf.model_.trainable_weights}
    top = _backbones.top_layers(spec, backbone)
    expected = {
        w.path
        for layer in top
        if not isinstance(layer, keras.layers.BatchNormalization)
        for w in layer.trainable_weights
    }
    assert expected and expected <= trainable
    others = {w.path for w in backbone.trainable_weights} - expected
    assert not others & trainable
    assert clf.model_.get_layer("features").output.shape[-1] == 576


def test_pretrained_features_reads_the_feature_count_from_keras(data):
    X, _ = data
    features = PretrainedFeatures(
        "MobileNetV3Small", weights=None, input_size=32, random_state=0
    ).fit(X)
    assert features.n_features_out_ == 576
    assert features.transform(X).shape == (6, 576)
    assert features.get_feature_names_out()[-1] == "pretrainedfeatures575"


def test_imagenet_weights_offline_say_how_to_prefetch(data):
    """A constructor outside the catalogue downloads through Keras; offline
    the fit fails with the command that pre-fetches the file, and leaves the
    estimator unfitted."""
    X, y = data
    clf = TransferImageClassifier(
        "MobileNetV3Small", weights="imagenet", input_size=224, max_iter=1
    )
    try:
        clf.fit(X, y)
    except _backbones.WeightsUnavailableError as exc:
        message = str(exc)
    else:  # pragma: no cover - a machine with internet downloaded them
        pytest.skip("the ImageNet weights were downloaded")
    assert "keras.applications.MobileNetV3Small(include_top=False, " in message
    assert "weights='imagenet'" in message and "$KERAS_HOME/models" in message
    assert not hasattr(clf, "model_")


def test_a_wrong_name_or_size_is_refused_naming_the_parameter(data):
    X, y = data
    with pytest.raises(ValueError, match=r"backbone.*Did you mean 'ConvNeXtTiny'"):
        TransferImageClassifier("convnext_tny", weights=None).fit(X, y)
    with pytest.raises(ValueError, match=r"input_size=32.*at least 71"):
        TransferImageClassifier("xception", weights=None, input_size=32).fit(X, y)
    with pytest.raises(ValueError, match="backbone"):
        PretrainedFeatures(backbone=3).fit(X)


# ------------------------------------------------------------ brought models


def _small_classifier(*, trained_batchnorm=True, seed=0):
    """A tiny trained-looking classifier: two convolution blocks, a head."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1 / 255, name="scale")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", name="block1_conv")(x)
    x = keras.layers.BatchNormalization(name="block1_bn")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", name="block2_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(3, name="logits")(x)
    model = keras.Model(inputs, outputs, name="my_net")
    if trained_batchnorm:
        bn = model.get_layer("block1_bn")
        bn.moving_mean.assign(np.full(8, 0.1, "float32"))
        bn.moving_variance.assign(np.full(8, 2.0, "float32"))
    return model


@pytest.fixture(scope="module")
def brought(tmp_path_factory):
    model = _small_classifier()
    path = tmp_path_factory.mktemp("models") / "my_net.keras"
    model.save(path)
    return model, path


def test_a_keras_model_cut_at_a_layer_is_a_backbone(brought, data):
    """Cut at a named layer, the model's own weights give the features;
    fine-tuning trains a copy (the model passed is unchanged); Grad-CAM
    finds its convolutions; the fitted estimator pickles."""
    import pickle

    from litterlearn.inspection import grad_cam
    from litterlearn.neural_network import ModelBackbone

    model, _ = brought
    X, y = data
    before = [np.asarray(w).copy() for w in model.weights]
    backbone = ModelBackbone(model, layer="block2_conv")
    features = PretrainedFeatures(backbone, input_size=16).fit(X)
    small = X[:, 2:18, 2:18]  # 16x16: no resizing, so features are exact
    cut = model.get_layer("block2_conv").output
    import keras

    expected = keras.Model(model.input, cut).predict(small.astype("float32"), verbose=0)
    np.testing.assert_allclose(
        PretrainedFeatures(backbone, input_size=16).fit_transform(small),
        expected.mean(axis=(1, 2)),
        rtol=1e-4,
        atol=1e-5,
    )
    assert features.n_features_out_ == 8

    clf = TransferImageClassifier(
        backbone,
        input_size=16,
        max_iter=1,
        fine_tune_max_iter=1,
        fine_tune_layers="all",
        fine_tune_learning_rate=0.1,
        hidden_layer_sizes=(),
        random_state=0,
    ).fit(X, y)
    for w, value in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(np.asarray(w), value, err_msg=w.path)
    copy = clf.model_.get_layer("my_net").get_layer("block1_conv")
    assert not np.allclose(np.asarray(copy.kernel), before[0])  # fine-tuned
    assert grad_cam(clf, X[:2]).shape == (2, 20, 20)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X))


def test_a_keras_file_is_loaded_in_safe_mode(brought, data):
    """A .keras file is the model it holds: uncut, its output (a vector)
    is the features; weights=None gives it new, seeded weights."""
    model, path = brought
    X, y = data
    small = X[:, :16, :16]
    features = PretrainedFeatures(str(path), input_size=16).fit(small)
    np.testing.assert_allclose(
        features.transform(small),
        model.predict(small.astype("float32"), verbose=0),
        rtol=1e-4,
        atol=1e-5,
    )
    clf = TransferImageClassifier(path, hidden_layer_sizes=(), **TINY).fit(X, y)
    assert clf.model_.get_layer("features").output.shape[-1] == 3
    fresh = PretrainedFeatures(path, weights=None, input_size=16, random_state=0)
    assert not np.allclose(fresh.fit_transform(small), features.transform(small))


def test_unsafe_or_unknown_files_are_refused_with_a_clear_message(tmp_path, data):
    import keras

    X, y = data
    inputs = keras.Input((16, 16, 3))
    lam = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    lam.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match=r"(?s)safe mode.*Lambda layer.s Python code"):
        TransferImageClassifier(str(tmp_path / "lambda.keras")).fit(X, y)

    class Unregistered(keras.layers.Layer):
        def call(self, x):
            return x

    custom = keras.Model(inputs, Unregistered()(inputs))
    custom.save(tmp_path / "custom.keras")
    with pytest.raises(ValueError, match="register_keras_serializable"):
        PretrainedFeatures(tmp_path / "custom.keras").fit(X)
    with pytest.raises(ValueError, match="not a file"):
        PretrainedFeatures(str(tmp_path / "missing.keras")).fit(X)


def test_bad_cuts_and_untrained_batchnorm(brought, data):
    from litterlearn.neural_network import ModelBackbone

    model, _ = brought
    X, y = data
    with pytest.raises(ValueError, match=r"no layer 'block2_cnv'.*block2_conv"):
        PretrainedFeatures(ModelBackbone(model, layer="block2_cnv")).fit(X)
    untrained = _small_classifier(trained_batchnorm=False)
    clf = TransferImageClassifier(ModelBackbone(untrained, layer="block2_conv"), **TINY)
    with pytest.warns(UserWarning, match=r"initial values.*fine_tune_batchnorm=True"):
        clf.fit(X, y)


def _has_keras_hub():
    import importlib.util

    return importlib.util.find_spec("keras_hub") is not None


@pytest.mark.skipif(_has_keras_hub(), reason="keras-hub is installed")
def test_a_preset_without_keras_hub_says_how_to_install_it(data, tmp_path):
    X, _ = data
    (tmp_path / "config.json").write_text("{}")
    for backbone in ("hub:dinov2_small", str(tmp_path)):
        with pytest.raises(ImportError, match=r"pip install --no-deps 'keras-hub"):
            PretrainedFeatures(backbone).fit(X)


def test_a_weights_file_works_for_any_constructor(tmp_path, data):
    """Offline, the weights of any keras.applications backbone can come from
    a local file: the features are those of the network that saved it."""
    spec = _backbones.get_backbone("MobileNetV3Small")
    saved = _backbones.build_backbone(spec, None, (32, 32), seed=5)
    path = tmp_path / "mobilenet_v3_small.weights.h5"
    saved.save_weights(path)
    X, _ = data
    from_file = PretrainedFeatures("MobileNetV3Small", weights=path, input_size=32)
    assert from_file.fit_transform(X).shape == (6, 576)
    extractor = from_file._extractor()  # the model transform ran
    backbone = extractor.get_layer(spec.name)
    for w, w0 in zip(backbone.weights, saved.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(w), np.asarray(w0), err_msg=w.path)
