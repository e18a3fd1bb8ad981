"""KerasHub presets as backbones, on tiny random presets saved locally."""

import importlib.metadata
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from litterlearn import _backbones
from litterlearn.neural_network import TransferImageClassifier
from litterlearn.preprocessing import PretrainedFeatures

keras_hub = pytest.importorskip("keras_hub")

SRC = str(Path(__file__).resolve().parents[1] / "src")

# The distributions that install the ``tensorflow`` package.
TENSORFLOWS = {
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-gpu",
    "tensorflow-intel",
    "tensorflow-macos",
    "tf-nightly",
    "tf-nightly-cpu",
}


def test_keras_hub_installs_beside_a_single_tensorflow():
    """The documented install (the ``hub`` extra, then keras-hub without its
    dependencies) leaves one TensorFlow: keras-hub's tensorflow-text would
    have pulled the full ``tensorflow`` wheel next to ``tensorflow-cpu``."""
    installed = {
        re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        for dist in importlib.metadata.distributions()
    }
    assert len(installed & TENSORFLOWS) == 1, sorted(installed & TENSORFLOWS)
    assert "tensorflow-text" not in installed


@pytest.fixture(scope="module")
def dino_preset(tmp_path_factory):
    """A 2-layer DINOv2 at 28x28 (patch 14: a class token and 4 patch
    tokens) with its image converter, saved as a local preset."""
    import keras

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.DINOV2Backbone(
        patch_size=14,
        num_layers=2,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
        layer_scale_init_value=1.0,
        num_register_tokens=0,
        use_swiglu_ffn=False,
        image_shape=(28, 28, 3),
    )
    path = tmp_path_factory.mktemp("presets") / "tiny_dinov2"
    backbone.save_to_preset(str(path))
    converter = keras_hub.layers.DINOV2ImageConverter(
        image_size=(28, 28), scale=1 / 255.0
    )
    converter.save_to_preset(str(path))
    return path, backbone


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (6, 28, 28, 3), dtype=np.uint8)
    return X, np.arange(6) % 2


def test_a_local_preset_gives_class_token_or_patch_mean(dino_preset, data):
    """pooling="cls" is the class token, "avg" the mean of the patch tokens,
    of the preset's backbone after its own image converter."""
    path, backbone = dino_preset
    X, _ = data
    tokens = np.asarray(backbone({"images": X.astype("float32") / 255.0}))
    assert tokens.shape == (6, 5, 16)
    cls = PretrainedFeatures(str(path), input_size=28, pooling="cls").fit(X)
    np.testing.assert_allclose(cls.transform(X), tokens[:, 0], rtol=1e-4, atol=1e-5)
    avg = PretrainedFeatures(str(path), input_size=28).fit(X)
    np.testing.assert_allclose(
        avg.transform(X), tokens[:, 1:].mean(axis=1), rtol=1e-4, atol=1e-5
    )
    assert avg.n_features_out_ == 16


def test_a_preset_fine_tunes_its_top_encoder_layer(dino_preset, data):
    path, _ = dino_preset
    X, y = data
    clf = TransferImageClassifier(
        str(path),
        input_size=28,
        pooling="cls",
        max_iter=1,
        fine_tune_max_iter=1,
        fine_tune_learning_rate=0.1,
        hidden_layer_sizes=(),
        random_state=0,
    ).fit(X, y)
    spec = _backbones.get_backbone(str(path))
    backbone = clf.model_.get_layer(spec.name)
    top = _backbones.top_layers(spec, backbone)
    assert [layer.name for layer in top][0] == "layers_1"
    trainable = {w.path for w in clf.model_.trainable_weights}
    assert any("layers_1" in p for p in trainable)
    assert not any("layers_0" in p or "embeddings" in p for p in trainable)
    assert clf.predict_proba(X).shape == (6, 2)
    from litterlearn.inspection import grad_cam

    with pytest.raises(ValueError, match="spatial feature map.*transformer"):
        grad_cam(clf, X[:1])


def test_a_preset_name_offline_says_how_to_prefetch(data):
    X, y = data
    with pytest.raises(_backbones.WeightsUnavailableError, match="save_to_preset"):
        PretrainedFeatures("hub:dinov2_small", input_size=28).fit(X)
    with pytest.raises(ValueError, match="pooling='cls'"):
        PretrainedFeatures("MobileNetV3Small", weights=None, pooling="cls").fit(X)


@pytest.fixture(scope="module")
def resnet_preset(tmp_path_factory):
    """A one-stage KerasHub ResNet (feature maps), saved without a converter."""
    import keras

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64],
        stackwise_num_blocks=[1],
        stackwise_num_strides=[1],
        block_type="basic_block",
        use_pre_activation=False,
        image_shape=(None, None, 3),
    )
    path = tmp_path_factory.mktemp("presets") / "tiny_resnet"
    backbone.save_to_preset(str(path))
    return path


@pytest.fixture(scope="module")
def resnet_classifier(resnet_preset, data):
    """A classifier fitted on the ResNet preset, fine-tuned one epoch."""
    X, y = data
    return TransferImageClassifier(
        str(resnet_preset),
        input_size=32,
        max_iter=1,
        fine_tune_max_iter=1,
        hidden_layer_sizes=(),
        random_state=0,
    ).fit(X, y)


def test_a_convolutional_preset_is_pooled_explained_and_pickled(
    resnet_classifier, data
):
    """Feature maps are pooled; Grad-CAM finds the preset's convolutions; a
    fitted classifier on a preset pickles."""
    from litterlearn.inspection import grad_cam

    X, _ = data
    clf = resnet_classifier
    assert clf.model_.get_layer("features").output.shape[-1] == 64
    assert grad_cam(clf, X[:2]).shape == (2, 28, 28)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X))


def test_a_pickled_preset_classifier_predicts_alike_in_a_fresh_process(
    resnet_classifier, data, tmp_path
):
    """A new Python process that imports only litterlearn unpickles the
    classifier (KerasHub's classes found without the user importing it) and
    predicts what the fitted one does."""
    X, _ = data
    np.save(tmp_path / "X.npy", X)
    with open(tmp_path / "clf.pkl", "wb") as f:
        pickle.dump(resnet_classifier, f)
    code = (
        "import pickle, sys\n"
        "import numpy as np\n"
        "folder = sys.argv[1]\n"
        "with open(folder + '/clf.pkl', 'rb') as f:\n"
        "    clf = pickle.load(f)\n"
        "np.save(folder + '/proba.npy', clf.predict_proba(np.load(folder + '/X.npy')))\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        check=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    np.testing.assert_allclose(
        np.load(tmp_path / "proba.npy"),
        resnet_classifier.predict_proba(X),
        rtol=1e-6,
        atol=1e-7,
    )


def test_clip_goes_through_its_vision_tower(tmp_path, data):
    """A CLIP preset's features are its vision encoder's class token, at the
    preset's image size by default."""
    vision = keras_hub.models.CLIPVisionEncoder(
        patch_size=14,
        hidden_dim=16,
        num_layers=1,
        num_heads=2,
        intermediate_dim=32,
        image_shape=(28, 28, 3),
    )
    text = keras_hub.models.CLIPTextEncoder(
        vocabulary_size=50,
        embedding_dim=16,
        hidden_dim=16,
        num_layers=1,
        num_heads=2,
        intermediate_dim=32,
    )
    keras_hub.models.CLIPBackbone(vision, text, projection_dim=8).save_to_preset(
        str(tmp_path / "clip")
    )
    X, _ = data
    features = PretrainedFeatures(str(tmp_path / "clip"), pooling="cls").fit(X)
    tokens = np.asarray(vision({"images": X.astype("float32")}))
    np.testing.assert_allclose(
        features.transform(X), tokens[:, 0], rtol=1e-4, atol=1e-4
    )
