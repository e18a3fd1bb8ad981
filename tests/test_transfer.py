"""TransferImageClassifier and VGGTransferClassifier.

ImageNet weights cannot be downloaded here: backbones get random weights
(``weights=None``) or weights saved to a file by the test, at Keras' minimum
input size (32x32), on a few images for one epoch per phase.
"""

import copy
import dataclasses
import pickle
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_BACKBONE
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from litterlearn import _backbones
from litterlearn.neural_network import TransferImageClassifier, VGGTransferClassifier

TINY = {"input_size": 32, "max_iter": 1, "batch_size": 4, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    """Eight gray 20x20 uint8 images (resized to 32x32 RGB in the model)."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (8, 20, 20), dtype=np.uint8)
    y = np.array(["bottle", "other"])[np.arange(8) % 2]
    X[y == "bottle", :, :10] //= 4  # darker on the left
    return X, y


def _size(weights):
    return int(sum(np.prod(w.shape) for w in weights))


class _TrainableCounter:
    """A Keras callback recording the trainable weights of each phase."""

    def __new__(cls):
        import keras

        class Counter(keras.callbacks.Callback):
            counts = []

            def on_train_begin(self, logs=None):
                type(self).counts.append(_size(self.model.trainable_weights))

        Counter.counts = []
        return Counter()


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A VGG16 backbone's weights (seeded random), saved as a file."""
    spec = _backbones.get_backbone("vgg16")
    backbone = _backbones.build_backbone(spec, None, (32, 32), seed=3)
    path = tmp_path_factory.mktemp("weights") / "vgg16_notop.weights.h5"
    backbone.save_weights(path)
    return path, [(w.path, np.asarray(w)) for w in backbone.weights]


@pytest.mark.parametrize(
    "backbone",
    [
        "vgg16",
        "mobilenet_v2",
        pytest.param("resnet50", marks=pytest.mark.slow),
        pytest.param("efficientnet_b0", marks=pytest.mark.slow),
        pytest.param("densenet121", marks=pytest.mark.slow),
    ],
)
def test_backbone_family_trains_in_two_phases(backbone, data):
    """Each family fits from raw gray images; phase 1 trains the head only,
    phase 2 the head and the backbone's top block without BatchNorm."""
    X, y = data
    # The deep BatchNorm families are slow to trace for training the whole
    # network: they train phase 1 only, and phase 2's trainable weights are
    # read from the phase itself.
    fine_tune = 1 if backbone in ("vgg16", "mobilenet_v2") else 0
    counter = _TrainableCounter()
    clf = TransferImageClassifier(
        backbone,
        weights=None,
        fine_tune_max_iter=fine_tune,
        hidden_layer_sizes=(8,),
        callbacks=[counter],
        **TINY,
    )
    # Every fit uses fresh copies of the callbacks: record through the class.
    counts = type(counter).counts
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (8, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    if fine_tune:
        assert clf.phase_starts_ == {"head": 0, "fine_tune": 1}
        assert clf.fine_tune_start_ == 1 and clf.n_iter_ == 2
    else:
        clf.set_params(fine_tune_max_iter=1)._phases()[1].trainable(clf.model_)
        counts.append(_size(clf.model_.trainable_weights))

    import keras

    spec = _backbones.get_backbone(backbone)
    model = clf.model_
    features = model.get_layer("features")
    head = model.layers[model.layers.index(features) + 1 :]
    head_size = _size([w for layer in head for w in layer.trainable_weights])
    top = _backbones.top_layers(spec, model.get_layer(spec.name))
    top_size = _size(
        [
            w
            for layer in top
            if not isinstance(layer, keras.layers.BatchNormalization)
            for w in layer.weights
        ]
    )
    assert top_size > 0
    assert counts == [head_size, head_size + top_size]


def test_weights_file_loaded_and_only_the_top_block_fine_tuned(vgg_file, data):
    """weights=path: after phase 1 the first convolution holds the file's
    weights; phase 2 (fine_tune_blocks=1) changes block5 and nothing below;
    a model reused for a later fit gets the file's weights back."""
    X, y = data
    path, saved = vgg_file
    clf = VGGTransferClassifier(weights=str(path), fine_tune_max_iter=0, **TINY)
    clf.fit(X, y)
    backbone = clf.model_.get_layer("vgg16")
    for w, (name, value) in zip(backbone.weights, saved, strict=True):
        np.testing.assert_array_equal(np.asarray(w), value, err_msg=name)
    assert clf.fine_tune_start_ is None and clf.phase_starts_ == {"head": 0}

    tuned = VGGTransferClassifier(
        weights=path, fine_tune_max_iter=2, fine_tune_learning_rate=1e-3, **TINY
    ).fit(X, y)
    tuned_backbone = tuned.model_.get_layer("vgg16")
    for w, (name, value) in zip(tuned_backbone.weights, saved, strict=True):
        changed = not np.array_equal(np.asarray(w), value)
        assert changed == ("block5_" in name), name
    proba = tuned.predict_proba(X)

    # The fine-tuned model, once free, is reused with the file's weights.
    del tuned, tuned_backbone
    again = VGGTransferClassifier(weights=path, fine_tune_max_iter=0, **TINY)
    again.fit(X, y)
    for w, (name, value) in zip(
        again.model_.get_layer("vgg16").weights, saved, strict=True
    ):
        np.testing.assert_array_equal(np.asarray(w), value, err_msg=name)
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X))
    assert not np.allclose(proba, clf.predict_proba(X))


@pytest.fixture(scope="module")
def mobilenet_file(tmp_path_factory):
    """MobileNetV2 weights whose BatchNorm statistics are not the defaults."""
    import keras

    spec = _backbones.get_backbone("mobilenet_v2")
    backbone = _backbones.build_backbone(spec, None, (32, 32), seed=1)
    rng = np.random.default_rng(0)
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.moving_mean.shape
            layer.moving_mean.assign(rng.normal(0, 0.1, shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2, shape).astype("float32"))
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v2.weights.h5"
    backbone.save_weights(path)
    return path


def _batchnorm_values(model):
    import keras

    backbone = model.get_layer("mobilenet_v2")
    return {
        w.path: np.asarray(w)
        for layer in backbone.layers
        if isinstance(layer, keras.layers.BatchNormalization)
        for w in layer.weights
    }


def test_frozen_batchnorm_statistics_do_not_change(mobilenet_file, data):
    """BatchNorm layers stay frozen and in inference mode, also in the
    unfrozen top block; fine_tune_batchnorm=True lets the unfrozen ones learn."""
    X, y = data
    params = {
        "weights": mobilenet_file,
        "fine_tune_max_iter": 1,
        "fine_tune_learning_rate": 1e-3,
        **TINY,
    }
    clf = TransferImageClassifier("mobilenet_v2", **params).fit(X, y)
    reference = _batchnorm_values(
        _backbones.build_feature_extractor(
            _backbones.get_backbone("mobilenet_v2"),
            weights_path=str(mobilenet_file),
            size=(32, 32),
            image_shape=(20, 20, 1),
            input_dtype=np.uint8,
        )
    )
    after = _batchnorm_values(clf.model_)
    assert after.keys() == reference.keys() and len(after) > 100
    for name, value in after.items():
        np.testing.assert_array_equal(value, reference[name], err_msg=name)

    trained = TransferImageClassifier(
        "mobilenet_v2", fine_tune_batchnorm=True, **params
    ).fit(X, y)
    after = _batchnorm_values(trained.model_)
    changed = [n for n in after if not np.array_equal(after[n], reference[n])]
    assert any("moving_mean" in n for n in changed)
    assert any("gamma" in n for n in changed)
    # Only those of the unfrozen top block.
    assert all("block_16" in n or "Conv_1_bn" in n for n in changed), changed


def test_raw_rows_predict_like_fit(data):
    """uint8 rows, their float version and 3D arrays give the same predictions,
    also after pickling; RGB rows of any size work (resized in the model)."""
    X, y = data
    clf = VGGTransferClassifier(weights=None, fine_tune_max_iter=1, **TINY)
    clf.fit(X.reshape(8, -1), y)
    assert clf.image_shape_ == (20, 20, 1)
    proba = clf.predict_proba(X.reshape(8, -1))
    # Pickled in Keras' format, the preprocessing layer included.
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), proba, rtol=1e-6)
    assert restored.fine_tune_start_ == 1
    np.testing.assert_allclose(clf.predict_proba(X), proba, rtol=1e-5)
    np.testing.assert_allclose(
        clf.predict_proba(X.astype(np.float32) / 255), proba, rtol=1e-4, atol=1e-5
    )
    rgb = np.random.default_rng(1).random((6, 40, 36, 3), dtype=np.float32)
    clf_rgb = clone(clf).set_params(fine_tune_max_iter=0).fit(rgb, y[:6])
    assert clf_rgb.predict_proba(rgb.reshape(6, -1)).shape == (6, 2)
    with pytest.raises(ValueError, match="4320 features"):
        clf_rgb.predict(X)


def _cached_outputs(location):
    return sorted(Path(location).rglob("output.pkl"))


def test_memory_caches_features_across_a_grid_search(tmp_path, data):
    """A search over head parameters computes each fold's features once."""
    X, y = data
    # The cache is the same code on every backbone: the tiny VGG-shaped body
    # computes features in a fraction of VGG16's time.
    clf = TransferImageClassifier(
        TINY_BACKBONE,
        weights=None,
        fine_tune_max_iter=0,
        memory=str(tmp_path),
        **{**TINY, "input_size": 16},
    )
    search = GridSearchCV(clf, {"hidden_layer_sizes": [(4,), (8,)]}, cv=2)
    search.fit(X, y)
    # 2 folds + the refit on everything; not one per candidate and fold.
    assert len(_cached_outputs(tmp_path)) == 3
    # A hit gives the model a miss would.
    fresh = clone(search.best_estimator_).set_params(memory=None).fit(X, y)
    np.testing.assert_allclose(
        search.best_estimator_.predict_proba(X), fresh.predict_proba(X), rtol=1e-5
    )
    # Other backbone weights are other features.
    clone(clf).set_params(random_state=1).fit(X, y)
    assert len(_cached_outputs(tmp_path)) == 4


def test_clone_params():
    params = clone(TransferImageClassifier("mobilenet_v2")).get_params()
    assert params["backbone"] == "mobilenet_v2" and params["fine_tune_layers"] is None
    assert "fine_tune_blocks" in VGGTransferClassifier().get_params()
    assert "backbone" not in VGGTransferClassifier().get_params()


def test_bad_weights_leave_the_estimator_as_it_was(tmp_path, data):
    X, y = data
    clf = VGGTransferClassifier(weights=None, fine_tune_max_iter=0, **TINY).fit(X, y)
    proba = clf.predict_proba(X)
    clf.set_params(weights=tmp_path / "missing.h5")
    with pytest.raises(_backbones.WeightsUnavailableError, match="'vgg16'"):
        clf.fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), proba)
    clf.set_params(weights=None, input_size=16)
    with pytest.raises(ValueError, match="at least 32"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="backbone"):
        TransferImageClassifier("vgg").fit(X, y)


@pytest.mark.parametrize("backbone", sorted(_backbones.BACKBONES))
def test_every_catalogue_backbone_is_seeded_from_random_state(backbone):
    """With weights=None, every weight of every catalogue backbone comes from
    the seed (depthwise kernels and normalisation statistics included): two
    builds with one seed hold the same values (unseeded weights would differ)."""
    spec = _backbones.get_backbone(backbone)
    first = _backbones.build_backbone(spec, None, (32, 32), seed=0)
    again = _backbones.build_backbone(spec, None, (32, 32), seed=0)
    for w, w0 in zip(again.weights, first.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(w), np.asarray(w0), err_msg=w.path)


@pytest.mark.parametrize(
    "backbone",
    ["mobilenet_v2", pytest.param("efficientnet_b0", marks=pytest.mark.slow)],
)
def test_a_seeded_fit_is_reproducible_on_new_and_reused_models(backbone, data):
    """Two fits with one random_state give the same model, whether the second
    builds its own model or reuses the first one's (these backbones hold
    depthwise convolutions, and EfficientNet a Normalization layer)."""
    from litterlearn.neural_network import set_model_reuse

    X, y = data
    params = {**TINY, "max_iter": 2, "hidden_layer_sizes": (4,)}
    make = lambda: TransferImageClassifier(  # noqa: E731
        backbone, weights=None, fine_tune_max_iter=0, **params
    )
    first = make().fit(X, y)
    previous = set_model_reuse(False)
    try:
        new = make().fit(X, y)
    finally:
        set_model_reuse(previous)
    assert new.model_ is not first.model_
    proba = first.predict_proba(X)
    first_model = first.model_
    del first
    reused = make().fit(X, y)
    for clf in (new, reused):
        assert clf.loss_curve_ == new.loss_curve_
        np.testing.assert_array_equal(clf.predict_proba(X), proba)
    del first_model


def test_offline_advice_gives_a_command_that_runs(tmp_path, data):
    """The pre-fetch command in the error of a missing weights file is valid
    Python that builds the backbone (run here with weights=None, offline)."""
    import re

    X, y = data
    clf = TransferImageClassifier(
        "mobilenet_v2", input_size=32, weights=tmp_path / "missing.h5"
    )
    with pytest.raises(_backbones.WeightsUnavailableError) as info:
        clf.fit(X, y)
    command = re.search(r'python -c "(.*)"', str(info.value)).group(1)
    assert "input_shape=(224, 224, 3)" in command  # the size of the file named
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5" in (
        str(info.value)
    )
    offline = command.replace("weights='imagenet'", "weights=None")
    assert offline != command
    exec(offline, {})


def test_an_optimizer_instance_rate_in_phase_one_and_fine_tune_rate_in_phase_two(
    data,
):
    """An optimizer instance gives phase 1 its own learning rate, and phase 2
    (fine-tuning) fine_tune_learning_rate, on a new and on a reused model."""
    import keras

    class Rates(keras.callbacks.Callback):
        seen = []  # through the class: every fit uses copies of the callbacks

        def on_epoch_begin(self, epoch, logs=None):
            rate = self.model.optimizer.learning_rate
            type(self).seen.append(float(np.asarray(rate)))

    X, y = data
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    # The phases' rates are the same code on every backbone: the tiny
    # VGG-shaped body, with a top block to fine-tune, trains in a fraction of
    # VGG16's time.
    clf = TransferImageClassifier(
        TINY_BACKBONE,
        weights=None,
        optimizer=optimizer,
        fine_tune_max_iter=1,
        fine_tune_learning_rate=1e-4,
        callbacks=[Rates()],
        **{**TINY, "input_size": 16},
    )
    clf.fit(X, y)
    clone(clf).fit(X, y)  # reuses the model, compiled for phase 2 last
    np.testing.assert_allclose(Rates.seen, [0.01, 1e-4] * 2, rtol=1e-6)
    assert float(np.asarray(optimizer.learning_rate)) == pytest.approx(0.01)


def test_images_of_other_channel_counts_are_refused_before_training(data):
    X, y = data
    four = np.repeat(X[..., None], 4, axis=-1)
    clf = TransferImageClassifier("mobilenet_v2", weights=None, **TINY)
    with pytest.raises(ValueError, match=r"gray \(1 channel\) or RGB.*4 channels"):
        clf.fit(four, y)
    assert not hasattr(clf, "model_")


def test_an_unusable_feature_cache_folder_names_memory(tmp_path, data):
    X, y = data
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    clf = TransferImageClassifier(
        backbone=TINY_BACKBONE,
        weights=None,
        input_size=16,
        max_iter=1,
        memory=str(blocker / "cache"),
        random_state=0,
    )
    with pytest.raises(OSError, match=r"memory=.*a_file.*memory=None"):
        clf.fit(X, y)
    assert not hasattr(clf, "classes_")  # the failed fit left nothing


def _with_lambda(*, include_top=False, weights=None, input_shape, name=None):
    import keras

    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, 3, name="block1_conv")(inputs)
    x = keras.layers.Lambda(lambda t: t * 2.0, name="double")(x)
    return keras.Model(inputs, x, name=name or "with_lambda")


def test_a_network_with_a_lambda_layer_refuses_to_pickle_rather_than_never_load():
    # Keras saves a Lambda's Python code but its safe loading (the only one a
    # pickle uses) refuses it: the pickle would never load.
    spec = dataclasses.replace(
        TINY_BACKBONE, name="with_lambda", constructor=_with_lambda, n_features=4
    )
    clf = TransferImageClassifier(spec, weights=None, input_size=8, max_iter=1)
    X = np.random.default_rng(0).integers(0, 256, (4, 8, 8), dtype=np.uint8)
    clone(copy.deepcopy(clf)).fit(X, [0, 1, 0, 1])  # unfitted: copies as ever
    clf.fit(X, [0, 1, 0, 1])
    for copier in (pickle.dumps, copy.deepcopy):
        with pytest.raises(TypeError) as info:
            copier(clf)
        message = str(info.value)
        assert "'with_lambda/double' is a keras.layers.Lambda" in message
        assert "register_keras_serializable" in message
