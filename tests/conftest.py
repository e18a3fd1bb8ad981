"""Shared fixtures: tiny generated images, and a clean Keras state per test."""

import os
import sys

import numpy as np
import pytest

# Keep TensorFlow quiet and deterministic on the CPU, before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@pytest.fixture(autouse=True)
def _reset_keras_state():
    """Clear Keras' global state after each test that used Keras."""
    yield
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=False)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def make_photo(rng, height, width, channels=3):
    """A photo-like uint8 image: smooth gradients, blobs and noise."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = []
    for _ in range(channels):
        fx, fy, phase = rng.uniform(0.5, 3, 2).tolist() + [rng.uniform(0, 6.28)]
        chan = (
            0.5
            + 0.25 * np.sin(fx * 6.28 * xx / width + phase)
            + 0.25 * np.cos(fy * 6.28 * yy / height)
        )
        base.append(chan)
    img = np.stack(base, axis=-1) * 255 + rng.normal(0, 8, (height, width, channels))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture
def image_folder(tmp_path, rng):
    """A folder of 24 generated JPEG/PNG files of assorted sizes, and labels.

    Class 1 images are brighter on the left half, so a linear model on
    downscaled gray pixels can tell the classes apart.
    """
    from PIL import Image

    paths, labels = [], []
    for i in range(24):
        label = int(i % 3 == 0)  # imbalanced: 8 of 24 positive
        h, w = rng.integers(40, 90, 2).tolist()
        img = make_photo(rng, h, w).astype(np.int16)
        if label:
            img[:, : w // 2] += 60
        else:
            img[:, w // 2 :] += 60
        img = np.clip(img, 0, 255).astype(np.uint8)
        ext = "jpg" if i % 2 else "png"
        path = tmp_path / f"img_{i:02d}.{ext}"
        Image.fromarray(img).save(path)
        paths.append(str(path))
        labels.append(label)
    return np.array(paths), np.array(labels)


def tiny_vgg(*, include_top=False, weights=None, input_shape=(16, 16, 3), name=None):
    """A VGG-shaped body of about 1,500 parameters, built like keras.applications.

    Two blocks named as VGG's (``block1_conv1``, ``block2_conv1``, ...), one
    with BatchNormalization, so it exercises the catalogue's block rule,
    freezing, BatchNorm policy, feature cache and pickling at a fraction of
    VGG16's cost.
    """
    import keras

    assert not include_top and weights is None
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(
        8, 3, padding="same", activation="relu", name="block1_conv1"
    )(inputs)
    x = keras.layers.MaxPooling2D(2, name="block1_pool")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", name="block2_conv1")(x)
    x = keras.layers.BatchNormalization(name="block2_bn")(x)
    x = keras.layers.Activation("relu", name="block2_relu")(x)
    return keras.Model(inputs, x, name=name or "tiny_vgg")


def _tiny_backbone():
    from litterlearn.neural_network import BackboneSpec

    return BackboneSpec(
        name="tiny_vgg",
        constructor=tiny_vgg,
        preprocessing="caffe",
        default_size=16,
        min_size=8,
        n_features=16,
        block_pattern=r"(block\d+)_",
        weights_file="tiny_vgg_notop.weights.h5",
        weights_url="http://127.0.0.1/",
        weights_hash=None,
    )


TINY_BACKBONE = _tiny_backbone()
