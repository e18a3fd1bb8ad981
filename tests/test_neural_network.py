"""MLPImageClassifier and CNNImageClassifier: architectures, training, errors.

Keras really trains in every test, on tiny 8x8 gray images, tiny networks and
a few epochs. scikit-learn's estimator checks run in tests/test_common.py;
pipelines, searches and worker processes in test_neural_network_ecosystem.py.
"""

import gc
import pickle
import pickletools

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from litterlearn.neural_network import CNNImageClassifier, MLPImageClassifier

TINY_MLP = {"hidden_layer_sizes": (8,), "dropout": 0.0, "learning_rate_init": 0.02}
TINY_CNN = {"filters": (4,), "padding": "same", "learning_rate_init": 0.02}


def make_images(n=48, side=8, seed=0, n_classes=2, labels=None):
    """Gray float32 images (n, side, side): class k has a bright k-th band."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, side, side), dtype=np.float32) * 0.5
    y = np.arange(n) % n_classes
    band = side // n_classes
    for k in range(n_classes):
        X[y == k, :, k * band : (k + 1) * band] += 0.5
    if labels is not None:
        y = np.asarray(labels)[y]
    return X, y


def mlp(**params):
    return MLPImageClassifier(
        **{**TINY_MLP, "max_iter": 10, "random_state": 0, **params}
    )


def cnn(**params):
    return CNNImageClassifier(
        **{**TINY_CNN, "max_iter": 10, "random_state": 0, **params}
    )


ESTIMATORS = [pytest.param(mlp, id="mlp"), pytest.param(cnn, id="cnn")]


# --------------------------------------------------------------------- basics


# test_import.py checks that importing them does not import TensorFlow.


@pytest.mark.parametrize("cls", [MLPImageClassifier, CNNImageClassifier])
def test_is_classifier_with_keyword_only_params(cls):
    assert is_classifier(cls())
    with pytest.raises(TypeError):
        cls((16,))


def _layers(clf):
    """[(class name, the config entries that define the architecture)]."""
    keys = ("units", "filters", "kernel_size", "strides", "padding", "pool_size")
    keys += ("activation", "rate")
    out = []
    for layer in clf.model_.layers:
        config = layer.get_config()
        out.append((type(layer).__name__, {k: config[k] for k in keys if k in config}))
    return out


def test_mlp_default_is_the_course_mlp():
    X, y = make_images(8, side=50)
    clf = MLPImageClassifier(max_iter=1, random_state=0).fit(X.reshape(8, -1), y)
    assert _layers(clf) == [
        ("Flatten", {}),
        ("Dense", {"units": 128, "activation": "relu"}),
        ("Dropout", {"rate": 0.5}),
        ("Dense", {"units": 2, "activation": "linear"}),
        ("Activation", {"activation": "softmax"}),
    ]
    assert clf.model_.count_params() == 2500 * 128 + 128 + 128 * 2 + 2


def test_cnn_default_is_the_course_cnn():
    X, y = make_images(8, side=50)
    clf = CNNImageClassifier(max_iter=1, random_state=0).fit(X.reshape(8, -1), y)
    conv = {"filters": 16, "kernel_size": (3, 3), "strides": (1, 1)}
    pool = {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid"}
    assert _layers(clf) == [
        ("Conv2D", {**conv, "padding": "same", "activation": "relu"}),
        ("MaxPooling2D", pool),
        ("Conv2D", {**conv, "padding": "valid", "activation": "relu"}),
        ("MaxPooling2D", pool),
        ("Conv2D", {**conv, "padding": "valid", "activation": "relu"}),
        ("Flatten", {}),
        ("Dense", {"units": 2, "activation": "linear"}),
        ("Activation", {"activation": "softmax"}),
    ]
    # 50 -> 50 -> 25 -> 23 -> 11 -> 9: a 9x9x16 map feeds the output layer.
    assert clf.model_.layers[5].output.shape[1:] == (9 * 9 * 16,)
    assert clf.model_.count_params() == 160 + 2320 + 2320 + 1296 * 2 + 2


def test_parameters_change_the_architecture():
    X, y = make_images(24, side=20)
    clf = MLPImageClassifier(
        hidden_layer_sizes=(6, 5), activation="tanh", dropout=0.2, max_iter=1
    ).fit(X, y)
    assert [name for name, _ in _layers(clf)] == [
        "Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense", "Activation"
    ]  # fmt: skip
    assert _layers(clf)[3][1] == {"units": 5, "activation": "tanh"}

    clf = CNNImageClassifier(
        filters=(3, 5),
        kernel_size=(3, 5),
        pool_size=3,
        padding="valid",
        batch_normalization=True,
        global_pooling="avg",
        hidden_layer_sizes=(7,),
        dropout=0.25,
        max_iter=1,
    ).fit(X, y)
    layers = _layers(clf)
    assert [name for name, _ in layers] == [
        "Conv2D", "BatchNormalization", "Activation", "MaxPooling2D",
        "Conv2D", "BatchNormalization", "Activation", "GlobalAveragePooling2D",
        "Dropout", "Dense", "Dropout", "Dense", "Activation",
    ]  # fmt: skip
    assert layers[4][1]["filters"] == 5
    assert layers[4][1]["kernel_size"] == (3, 5)
    assert layers[3][1]["pool_size"] == (3, 3)
    assert layers[9][1]["units"] == 7


def test_global_pooling_makes_weights_independent_of_image_size():
    counts = set()
    for side in (8, 12):
        X, y = make_images(16, side=side)
        clf = cnn(filters=(4, 4), global_pooling="max", max_iter=1).fit(X, y)
        counts.add(clf.model_.count_params())
    assert len(counts) == 1


def test_images_too_small_for_the_network_get_a_clear_error():
    X, y = make_images(8, side=4)
    with pytest.raises(ValueError, match=r"images of shape \(4, 4, 1\).*padding"):
        CNNImageClassifier(max_iter=1).fit(X, y)


# ------------------------------------------------------------ inputs, labels


@pytest.mark.parametrize("make", ESTIMATORS)
def test_rows_3d_and_4d_input_train_the_same_model(make):
    X, y = make_images()
    proba = make().fit(X.reshape(len(X), -1), y).predict_proba(X[:5])
    proba_3d = make().fit(X, y).predict_proba(X[:5].reshape(5, -1))
    clf = make().fit(X[..., None], y)
    assert clf.image_shape_ == (8, 8, 1)
    np.testing.assert_array_equal(proba, proba_3d)
    np.testing.assert_array_equal(proba, clf.predict_proba(X[:5, :, :, None]))


@pytest.mark.parametrize("make", ESTIMATORS)
def test_uint8_is_scaled_inside_the_model(make):
    X, y = make_images()
    X8 = np.rint(X * 255).astype(np.uint8)
    clf8 = make().fit(X8.reshape(len(X), -1), y)
    assert clf8.input_dtype_ == np.uint8
    assert type(clf8.model_.layers[0]).__name__ == "Rescaling"
    clf = make().fit(X8 / np.float32(255), y)
    assert clf.input_dtype_ == np.float32
    # Same images, as uint8 or as floats: the same model up to rounding.
    np.testing.assert_allclose(
        clf8.predict_proba(X8), clf.predict_proba(X8 / np.float32(255)), atol=1e-4
    )
    # Either dtype is accepted at prediction, read by its range.
    np.testing.assert_allclose(
        clf8.predict_proba(X8 / np.float32(255)), clf8.predict_proba(X8), atol=1e-6
    )
    np.testing.assert_allclose(
        clf.predict_proba(X8), clf.predict_proba(X8 / np.float32(255)), atol=1e-6
    )


def test_non_square_images_through_image_shape():
    rng = np.random.default_rng(0)
    X = rng.random((30, 6 * 10), dtype=np.float32)
    y = np.arange(30) % 2
    X[y == 1] += 0.5
    clf = cnn(image_shape=(6, 10)).fit(X, y)
    assert clf.image_shape_ == (6, 10, 1)
    assert clf.model_.input_shape == (None, 6, 10, 1)
    assert clf.predict(X).shape == (30,)
    with pytest.raises(ValueError, match="image_shape"):
        cnn(image_shape=(7, 10)).fit(X, y)
    with pytest.raises(ValueError, match="infer"):
        cnn().fit(X, y)  # 60 features: not a square image


@pytest.mark.parametrize("make", ESTIMATORS)
def test_multiclass_with_any_labels(make):
    X, y = make_images(60, side=9, n_classes=3, labels=["cup", "bottle", "can"])
    clf = make(max_iter=30).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["bottle", "can", "cup"])
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    assert clf.score(X, y) > 0.9


def test_errors_name_the_problem():
    X, y = make_images(16)
    with pytest.raises(NotFittedError):
        mlp().predict(X)
    with pytest.raises(ValueError, match="at least 2 classes"):
        mlp().fit(X, np.zeros(16))
    with pytest.raises(ValueError, match="NaN"):
        mlp().fit(np.where(np.arange(64) == 3, np.nan, X.reshape(16, -1)), y)
    with pytest.raises(ValueError, match="infinity"):
        mlp().fit(np.where(np.arange(64) == 3, np.inf, X.reshape(16, -1)), y)
    with pytest.raises(TypeError, match="sparse"):
        mlp().fit(sp.csr_matrix(X.reshape(16, -1)), y)
    with pytest.raises(ValueError, match="Unknown label type"):
        mlp().fit(X, np.linspace(0, 1, 16))
    with pytest.raises(InvalidParameterError, match="optimizer"):
        mlp(optimizer="nope").fit(X, y)
    with pytest.raises(InvalidParameterError, match="augmentation"):
        mlp(augmentation=object()).fit(X, y)
    clf = mlp(max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="64 features"):
        clf.predict(X.reshape(16, -1)[:, :49])
    with pytest.raises(ValueError, match=r"fitted on images of shape \(8, 8, 1\)"):
        clf.predict(np.zeros((2, 4, 16), np.float32))
    with pytest.raises(ValueError, match="labels not in y"):
        mlp().fit(X, y, X_val=X[:4], y_val=[0, 1, 2, 1])
    with pytest.raises(ValueError, match="not classes of y"):
        mlp(class_weight={0: 1, 5: 2}).fit(X, y)


@pytest.mark.parametrize("missing", [None, np.nan])
def test_missing_labels_get_an_error_naming_y_or_y_val(missing):
    X, y = make_images(16)
    y_bad = y.astype(object)
    y_bad[3] = missing
    with pytest.raises(ValueError, match=r"^y has missing labels .* position\(s\) 3"):
        mlp().fit(X, y_bad)
    y_val = y[:4].astype(object)
    y_val[1] = missing
    clf = mlp()
    with pytest.raises(ValueError, match=r"^y_val has missing labels .* 1;"):
        clf.fit(X, y, X_val=X[:4], y_val=y_val)
    assert not hasattr(clf, "model_")


def test_bad_x_val_gets_an_error_naming_x_val(tmp_path):
    X, y = make_images(16)
    clf = mlp()
    with pytest.raises(ValueError, match=r"^X_val .* 49 features.* 64 features"):
        clf.fit(X, y, X_val=X.reshape(16, -1)[:4, :49], y_val=y[:4])
    with pytest.raises(ValueError, match=r"^X_val .*fitted on images of shape"):
        clf.fit(X, y, X_val=np.zeros((4, 4, 16), np.float32), y_val=y[:4])
    with pytest.raises(ValueError, match=r"^X_val .*NaN"):
        clf.fit(X, y, X_val=np.full((4, 8, 8), np.nan, np.float32), y_val=y[:4])
    # File paths that skipped the pipeline's steps: say how to route them.
    paths = [str(tmp_path / f"{i}.png") for i in range(4)]
    for X_val in (paths, np.array(paths), np.array(paths, dtype=object)):
        with pytest.raises(
            ValueError,
            match=r"(?s)^X_val must be images.*"
            r'transform_input=\["X_val"\]',
        ):
            clf.fit(X, y, X_val=X_val, y_val=y[:4])
    assert not hasattr(clf, "model_")


# ------------------------------------------------------------------ training


@pytest.mark.parametrize("make", ESTIMATORS)
def test_random_state_reproduces_a_fit(make):
    X, y = make_images()
    a = make(dropout=0.3) if make is mlp else make(dropout=0.3, hidden_layer_sizes=(4,))
    proba = clone(a).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(proba, clone(a).fit(X, y).predict_proba(X))
    other = clone(a).set_params(random_state=1).fit(X, y).predict_proba(X)
    assert not np.allclose(proba, other)


def test_every_fit_starts_afresh_unless_warm_start():
    X, y = make_images()
    X2, y2 = make_images(seed=1)
    clf = mlp().fit(X2, y2)
    clf.fit(X, y)
    np.testing.assert_array_equal(
        clf.predict_proba(X), mlp().fit(X, y).predict_proba(X)
    )

    warm = mlp(max_iter=3, warm_start=True).fit(X, y)
    model, first = warm.model_, list(warm.loss_curve_)
    warm.fit(X, y)
    assert warm.model_ is model
    assert warm.n_iter_ == 6 and len(warm.history_["loss"]) == 6
    assert warm.loss_curve_[:3] == first
    assert warm.loss_curve_[3] < first[0]  # continued from trained weights
    with pytest.raises(ValueError, match="same classes"):
        warm.fit(X, np.where(y == 1, 2, y))
    with pytest.raises(ValueError, match="network changed"):
        warm.set_params(hidden_layer_sizes=(5,)).fit(X, y)


def test_fitted_attributes_and_history():
    X, y = make_images()
    clf = mlp(max_iter=4).fit(X, y)
    assert set(clf.history_) == {"loss", "accuracy"}
    assert clf.n_iter_ == 4 and clf.loss_curve_ == clf.history_["loss"]
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert clf.n_features_in_ == 64

    clf = mlp(max_iter=4).fit(X, y, X_val=X[:10], y_val=y[:10])
    assert set(clf.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert clf.validation_scores_ == clf.history_["val_accuracy"]
    assert len(clf.validation_scores_) == 4


def test_early_stopping_restores_the_best_weights():
    X, y = make_images(40, seed=0)
    X_val, y_val = make_images(40, seed=1)
    y_val = 1 - y_val  # validation labels flipped: validation loss soon rises
    clf = mlp(early_stopping=True, n_iter_no_change=3, max_iter=100, tol=0)
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    val_loss = clf.history_["val_loss"]
    best = int(np.argmin(val_loss))
    assert clf.n_iter_ == best + 1 + 3 < 100
    loss = clf.model_.evaluate(X_val[..., None], y_val, verbose=0)[0]
    assert loss == pytest.approx(val_loss[best], rel=1e-5)
    assert clf.best_validation_score_ == clf.validation_scores_[best]


class RecordingAugmenter:
    """A tiny on-the-fly augmenter: random horizontal flips, recording calls."""

    def __init__(self):
        self.calls = []

    def augment_batch(self, images, y, rng):
        flip = rng.random(len(images)) < 0.5
        self.calls.append((list(y), flip.tolist()))
        out = images.copy()
        out[flip] = out[flip, :, ::-1]
        return out


def test_early_stopping_split_is_stratified_seeded_and_made_before_keras():
    # An oversampler appends its copies: the last rows are all the minority,
    # which Keras' validation_split (the last rows) would validate on alone.
    X, _ = make_images(40)
    y = np.where(np.arange(40) < 30, 0, 1)
    seen = []
    for _ in range(2):
        aug = RecordingAugmenter()  # it sees every training batch
        clf = mlp(augmentation=aug, early_stopping=True, validation_fraction=0.25)
        clf.fit(X, y)
        seen.append(aug.calls)
    # One batch (batch_size 32) of the 30 training rows per call, holding the
    # classes in proportion: 7 or 8 of the 10 minority rows.
    assert {len(labels) for labels, _ in seen[0]} == {30}
    assert np.bincount(seen[0][0][0])[1] in (7, 8)
    assert seen[0] == seen[1]  # seeded: the same split, order and flips
    assert len(clf.validation_scores_) == clf.n_iter_


@pytest.mark.parametrize("make", ESTIMATORS)
def test_augmentation_runs_per_batch_per_epoch_in_training_only(make):
    X, y = make_images(40, labels=["a", "b"])
    aug = RecordingAugmenter()
    clf = make(augmentation=aug, batch_size=16, max_iter=3).fit(X, y)
    # 3 epochs of batches of 16, 16 and 8 images (after Keras' first peeks).
    training = aug.calls[-9:]
    assert [len(labels) for labels, _ in training] == [16, 16, 8] * 3
    assert {label for labels, _ in aug.calls for label in labels} == {"a", "b"}
    assert len({tuple(flips) for _, flips in training}) == 9  # fresh each time
    n_calls = len(aug.calls)
    clf.predict(X)
    assert len(aug.calls) == n_calls  # never at prediction
    clf.fit(X, y, X_val=X[:5], y_val=y[:5])
    assert 5 not in {len(labels) for labels, _ in aug.calls}  # nor validation
    # Seeded: the same fit augments identically and gives the same model.
    again = RecordingAugmenter()
    proba = make(augmentation=again, batch_size=16, max_iter=3).fit(X, y)
    assert again.calls == aug.calls[:n_calls]
    np.testing.assert_array_equal(
        proba.predict_proba(X),
        make(augmentation=aug, batch_size=16, max_iter=3).fit(X, y).predict_proba(X),
    )


def test_augmentation_must_keep_shape_and_dtype():
    class Bad:
        def augment_batch(self, images, y, rng):
            return images[:, :4]

    X, y = make_images(16)
    with pytest.raises(ValueError, match="same shape and dtype|shape"):
        mlp(augmentation=Bad()).fit(X, y)


def test_augmenter_of_the_library_plugs_in():
    from litterlearn.preprocessing import Augmenter

    X, y = make_images(32)
    clf = cnn(augmentation=Augmenter(random_state=0), max_iter=3).fit(X, y)
    assert clf.predict_proba(X).shape == (32, 2)


def test_class_weight_and_sample_weight():
    X, y = make_images(48, seed=3)
    y = np.where(np.arange(48) % 6 == 0, "rare", "common")  # labels unrelated to X
    plain = mlp(max_iter=5).fit(X, y).predict_proba(X)[:, 1]
    balanced = mlp(max_iter=5, class_weight="balanced").fit(X, y)
    assert balanced.predict_proba(X)[:, 1].mean() > plain.mean() + 0.1
    by_dict = mlp(max_iter=5, class_weight={"rare": 5.0}).fit(X, y)
    weighted = mlp(max_iter=5).fit(X, y, sample_weight=np.where(y == "rare", 5.0, 1))
    np.testing.assert_allclose(
        by_dict.predict_proba(X), weighted.predict_proba(X), atol=1e-6
    )
    with pytest.raises(ValueError, match="positive total sample_weight"):
        mlp().fit(X, y, sample_weight=(y == "rare").astype(float))


def test_verbose_shows_keras_progress(capsys):
    X, y = make_images(16)
    mlp(max_iter=2).fit(X, y)
    assert capsys.readouterr().out == ""
    mlp(max_iter=2, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "loss" in out


def test_user_callbacks_run_on_copies():
    import keras

    class CountEpochs(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1
            if epoch == 2:
                self.model.stop_training = True

    callback = CountEpochs()
    X, y = make_images(16)
    clf = mlp(callbacks=[callback]).fit(X, y)
    assert clf.n_iter_ == 3  # the copy ran, and could stop training
    assert callback.epochs == 0 and callback._model is None  # the original: untouched


def test_precision_is_set_on_the_model_only():
    import keras

    X, y = make_images(24)
    for make in (mlp, cnn):
        clf = make(precision="mixed_bfloat16", max_iter=3).fit(X, y)
        policies = [layer.dtype_policy.name for layer in clf.model_.layers]
        assert policies[:-1] == ["mixed_bfloat16"] * (len(policies) - 1)
        assert policies[-1] == "float32"  # the output computes in float32
        proba = clf.predict_proba(X)
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert keras.config.dtype_policy().name == "float32"
    clf = mlp(max_iter=1).fit(X, y)
    assert {layer.dtype_policy.name for layer in clf.model_.layers} == {"float32"}


# ------------------------------------------------- pickling, cloning, memory


def _globals_in_pickle(data):
    """The (module, name) of every class or function a pickle refers to."""
    found, strings = [], []
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif opcode.name == "STACK_GLOBAL":
            found.append(tuple(strings[-2:]))
        elif opcode.name == "GLOBAL":
            found.append(tuple(arg.split(" ")))
    return found


@pytest.mark.parametrize("make", ESTIMATORS)
def test_pickle_round_trip_in_keras_format(make, tmp_path):
    X, y = make_images()
    clf = make().fit(X, y)
    proba = clf.predict_proba(X)
    data = pickle.dumps(clf)
    modules = {module for module, _ in _globals_in_pickle(data)}
    assert not {m for m in modules if m.startswith(("keras", "tensorflow"))}
    assert b"PK" in data and b"model.weights.h5" in data  # a .keras zip inside
    restored = pickle.loads(data)
    assert restored.model_ is not clf.model_
    np.testing.assert_array_equal(restored.predict_proba(X), proba)
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "clf.joblib").predict_proba(X), proba
    )
    assert "model_" in clf.__dict__  # pickling left the original intact
    unfitted = pickle.loads(pickle.dumps(clone(clf)))
    assert unfitted.get_params() == clf.get_params()


def test_clone_of_a_fitted_estimator_is_unfitted_and_independent():
    X, y = make_images()
    clf = mlp().fit(X, y)
    copy = clone(clf)
    assert not hasattr(copy, "model_") and copy.get_params() == clf.get_params()
    proba = clf.predict_proba(X)
    copy.fit(*make_images(seed=5))
    assert copy.model_ is not clf.model_
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_built_models_are_reused_but_never_shared():
    X, y = make_images()
    first = mlp().fit(X, y)
    second = mlp(random_state=1).fit(X, y)  # the first still holds its model
    assert second.model_ is not first.model_
    proba = first.predict_proba(X)
    model = first.model_
    # A refit trains another model, so that a refit that fails leaves the
    # estimator with the model it had; the same seed gives the same result.
    first.fit(X, y)
    other = first.model_
    assert other is not model
    np.testing.assert_array_equal(first.predict_proba(X), proba)
    first.fit(X, y)  # the model it held before is free: it takes it back
    assert first.model_ is model
    np.testing.assert_array_equal(first.predict_proba(X), proba)

    third = mlp().fit(X, y)  # `other` is free: no estimator holds it
    assert third.model_ is other
    del first
    gc.collect()
    fourth = mlp().fit(X, y)  # the first estimator is gone: its model is free
    assert fourth.model_ is model
    np.testing.assert_array_equal(fourth.predict_proba(X), proba)
    fifth = mlp().fit(X, y)  # third and fourth are alive: a new model
    assert fifth.model_ not in (model, other)
    np.testing.assert_array_equal(fifth.predict_proba(X), proba)
    third.set_params(hidden_layer_sizes=(5,)).fit(X, y)  # third drops `other`
    sixth = mlp().fit(X, y)
    assert sixth.model_ is other
    np.testing.assert_array_equal(sixth.predict_proba(X), proba)


def test_warm_start_continues_identically_after_pickling():
    X, y = make_images()
    clf = mlp(max_iter=3, warm_start=True).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))  # optimizer state travels too
    clf.fit(X, y)
    restored.fit(X, y)
    assert restored.loss_curve_ == clf.loss_curve_
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


# ------------------------------------------------ all or nothing, threads


def _fitted_state(clf):
    """What a fit may change: fitted attributes, and the model's predictions."""
    state = {k: v for k, v in vars(clf).items() if k.endswith("_")}
    return state, clf.model_.get_weights() if "model_" in state else None


def _assert_unchanged(clf, before, X=None, proba=None):
    state, weights = _fitted_state(clf)
    assert set(state) == set(before[0])
    for name, value in before[0].items():
        assert state[name] is value, name  # the very same objects
    if weights is not None:
        for w, w0 in zip(weights, before[1], strict=True):
            np.testing.assert_array_equal(w, w0)
    if proba is not None:
        np.testing.assert_array_equal(clf.predict_proba(X), proba)


class RaiseAtEpoch:
    """A Keras callback (made lazily) that raises ``error`` at epoch ``epoch``."""

    def __new__(cls, error, epoch=1):
        import keras

        class _Raise(keras.callbacks.Callback):
            def on_epoch_end(self, index, logs=None):
                if index == epoch:
                    raise error

        return _Raise()


@pytest.mark.parametrize(
    "failure",
    ["bad y_val", "length mismatch", "callback raises", "KeyboardInterrupt"],
)
def test_a_failed_fit_leaves_the_estimator_as_it_was(failure):
    X, y = make_images(32)
    X2, y2 = make_images(40, side=10, n_classes=3)  # other shape and classes
    kwargs = {}
    if failure == "bad y_val":
        kwargs = {"X_val": X2[:4], "y_val": [0, 1, 7, 1]}
    elif failure == "length mismatch":
        y2 = y2[:-1]
    callbacks = None
    if failure == "callback raises":
        callbacks = [RaiseAtEpoch(RuntimeError("boom"))]
    elif failure == "KeyboardInterrupt":
        callbacks = [RaiseAtEpoch(KeyboardInterrupt())]
    expected = {
        "bad y_val": (ValueError, "labels not in y"),
        "length mismatch": (ValueError, "inconsistent numbers of samples"),
        "callback raises": (RuntimeError, "boom"),
        "KeyboardInterrupt": (KeyboardInterrupt, None),
    }[failure]

    # A fitted estimator keeps its model and predicts exactly as before.
    clf = cnn(max_iter=3).fit(X, y)
    proba, before = clf.predict_proba(X), _fitted_state(clf)
    clf.set_params(callbacks=callbacks)
    with pytest.raises(expected[0], match=expected[1]):
        clf.fit(X2, y2, **kwargs)
    _assert_unchanged(clf, before, X, proba)

    # So does a warm-started one, whose model trains in place.
    warm = cnn(max_iter=3, warm_start=True).fit(X, y)
    proba, before = warm.predict_proba(X), _fitted_state(warm)
    warm.set_params(callbacks=callbacks)
    with pytest.raises(expected[0], match=expected[1]):
        if failure in ("callback raises", "KeyboardInterrupt"):
            warm.fit(X, y)  # same data: fails in training, not validation
        else:
            warm.set_params(warm_start=False).fit(X2, y2, **kwargs)
    _assert_unchanged(warm, before, X, proba)

    # An unfitted estimator stays unfitted.
    fresh = cnn(max_iter=3, callbacks=callbacks)
    with pytest.raises(expected[0], match=expected[1]):
        fresh.fit(X2, y2, **kwargs)
    assert not [k for k in vars(fresh) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        fresh.predict(X2)


def test_a_diverging_fit_stops_with_advice_and_changes_nothing():
    X, y = make_images(32)
    clf = mlp(max_iter=2).fit(X, y)
    proba, before = clf.predict_proba(X), _fitted_state(clf)
    clf.set_params(optimizer="sgd", learning_rate_init=1e30, max_iter=5)
    with pytest.raises(ValueError, match="diverged.*lower learning_rate_init"):
        clf.fit(X * 1e6, y)
    _assert_unchanged(clf, before, X, proba)


@pytest.mark.parametrize(
    "class_weight, match",
    [
        ({0: np.nan}, "finite and non-negative"),
        ({0: np.inf}, "finite and non-negative"),
        ({1: -1.0}, "finite and non-negative"),
        ({0: 0.0, 1: 0.0}, "at least one class a positive weight"),
        ({0: 0.0}, "2 classes with a positive total sample_weight"),
        ({0: "heavy"}, "must be numbers"),
    ],
)
def test_class_weight_values_are_checked(class_weight, match):
    X, y = make_images(16)
    with pytest.raises(ValueError, match=f"class_weight|{match}") as info:
        mlp(class_weight=class_weight).fit(X, y)
    assert "class_weight" in str(info.value) and match in str(info.value)


@pytest.mark.slow
def test_fits_in_threads_never_share_a_model():
    from concurrent.futures import ThreadPoolExecutor

    from joblib import parallel_backend
    from sklearn.model_selection import cross_validate

    X, y = make_images(60, side=8, n_classes=3)
    estimator = cnn(max_iter=4, hidden_layer_sizes=(6,), dropout=0.2)
    # The case: cross-validation in threads, as run one after another.
    sequential = cross_validate(estimator, X, y, cv=4, return_estimator=True)
    for _ in range(3):  # repeated: races do not show every time
        with parallel_backend("threading", n_jobs=4):
            threaded = cross_validate(estimator, X, y, cv=4, return_estimator=True)
        models = {id(est.model_) for est in threaded["estimator"]}
        assert len(models) == 4
        np.testing.assert_array_equal(threaded["test_score"], sequential["test_score"])
        for est, ref in zip(
            threaded["estimator"], sequential["estimator"], strict=True
        ):
            np.testing.assert_array_equal(est.predict_proba(X), ref.predict_proba(X))
        del threaded
        gc.collect()  # their models are free: the next round reuses them

    # Estimators with different seeds fitted at once, started together.
    seeds = range(4)
    expected = [clone(estimator).set_params(random_state=s).fit(X, y) for s in seeds]
    with ThreadPoolExecutor(4) as pool:
        fitted = list(
            pool.map(
                lambda s: clone(estimator).set_params(random_state=s).fit(X, y), seeds
            )
        )
    assert len({id(est.model_) for est in fitted}) == 4
    for est, ref in zip(fitted, expected, strict=True):
        np.testing.assert_array_equal(est.predict_proba(X), ref.predict_proba(X))


def test_model_reuse_can_be_switched_off_and_the_pool_cleared():
    from litterlearn.neural_network import (
        clear_model_pool,
        model_pool_info,
        set_model_reuse,
    )

    X, y = make_images()
    first = mlp().fit(X, y)
    model, proba = first.model_, first.predict_proba(X)
    del first
    gc.collect()
    assert model_pool_info()["n_free"] >= 1
    previous = set_model_reuse(False)
    try:
        assert previous is True and model_pool_info()["n_models"] == 0
        second = mlp().fit(X, y)  # reuse off: a new model, the same result
        assert second.model_ is not model
        np.testing.assert_array_equal(second.predict_proba(X), proba)
    finally:
        set_model_reuse(previous)
    assert model_pool_info()["enabled"]
    del second
    gc.collect()
    third = mlp().fit(X, y)
    del third
    gc.collect()
    assert model_pool_info()["n_free"] >= 1
    assert clear_model_pool() >= 1
    assert model_pool_info()["n_models"] == 0


# --------------------------------------------- BatchNormalization, small data


def small_digits(n_train=160, n_test=200, seed=0):
    """Real handwritten digits (scikit-learn's), upsampled to 32x32 uint8."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = np.kron(digits.images, np.ones((4, 4)))
    X = np.rint(X * (255 / 16)).astype(np.uint8)
    X, X_test, y, y_test = train_test_split(
        X, digits.target, train_size=n_train, stratify=digits.target, random_state=seed
    )
    return X, y, X_test[:n_test], y_test[:n_test]


@pytest.mark.slow
def test_batch_normalization_predicts_as_well_as_it_trains_on_small_data():
    # 160 images: 5 steps per epoch. With Keras' moving averages (momentum
    # 0.99) the statistics still hold those of the untrained first epochs
    # after 15 epochs, and predictions were near chance (0.2-0.4 here).
    X, y, X_test, y_test = small_digits()
    clf = CNNImageClassifier(batch_normalization=True, max_iter=15, random_state=0)
    clf.fit(X, y)
    trained = clf.history_["accuracy"][-1]  # in training mode, batch statistics
    assert trained > 0.9
    assert clf.score(X, y) >= trained - 0.05  # predicts as well as it trains
    assert clf.score(X_test, y_test) > 0.75


@pytest.mark.slow
def test_early_stopping_judges_batch_normalization_with_its_statistics():
    X, y, X_test, y_test = small_digits(n_train=200)
    clf = CNNImageClassifier(
        batch_normalization=True,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        max_iter=30,
        random_state=0,
    ).fit(X, y)
    # Every epoch was validated with the statistics the model predicts with:
    # the restored model evaluates as its epoch was recorded.
    X_val, y_val = X_test[:50], y_test[:50]
    clf2 = clone(clf).fit(X, y, X_val=X_val, y_val=y_val)
    best = int(np.argmin(clf2.history_["val_loss"]))
    loss = clf2.model_.evaluate(X_val[..., None], y_val, verbose=0)[0]
    assert loss == pytest.approx(clf2.history_["val_loss"][best], rel=1e-4)
    assert clf.n_iter_ > 5  # did not stop on statistics of untrained epochs
    assert clf.score(X_test, y_test) > 0.75


# ------------------------------------------------- warm starts and histories


def test_warm_start_then_early_stopping_commits_one_history():
    """A warm fit that adds validation (early stopping) after one without:
    the fit succeeds, every history list has one entry per epoch (NaN where a
    fit had no validation), and the best score is of this fit's epochs."""
    X, y = make_images(40)
    clf = mlp(max_iter=2, warm_start=True).fit(X, y)
    clf.set_params(early_stopping=True, max_iter=3, n_iter_no_change=1)
    clf.fit(X, y)
    n = clf.n_iter_
    assert 3 < n <= 5
    assert {len(v) for v in clf.history_.values()} == {n}
    assert np.isnan(clf.history_["val_loss"][:2]).all()
    assert np.isfinite(clf.history_["val_loss"][2:]).all()
    assert clf.validation_scores_ is clf.history_["val_accuracy"]
    assert clf.best_validation_score_ in clf.validation_scores_[2:]

    # And back: a warm fit without validation pads the validation lists, and
    # has no best validation score of its own.
    clf.set_params(early_stopping=False, max_iter=1).fit(X, y)
    assert {len(v) for v in clf.history_.values()} == {n + 1}
    assert np.isnan(clf.history_["val_accuracy"][-1])
    assert clf.best_validation_score_ is None


# -------------------------------------------------------------- learning rate


def _learning_rates():
    import keras

    class Rates(keras.callbacks.Callback):
        seen = []  # through the class: every fit uses copies of the callbacks

        def on_epoch_begin(self, epoch, logs=None):
            rate = self.model.optimizer.learning_rate
            type(self).seen.append(float(np.asarray(rate)))

    return Rates()


@pytest.mark.parametrize("make", ESTIMATORS)
def test_an_optimizer_instance_keeps_its_rate_on_refits_and_reused_models(make):
    import keras

    X, y = make_images()
    rates = _learning_rates()
    optimizer = keras.optimizers.Adam(learning_rate=0.005)
    clf = make(optimizer=optimizer, max_iter=1, callbacks=[rates])
    proba = clf.fit(X, y).predict_proba(X)
    other = clone(clf)
    del clf
    gc.collect()
    other.fit(X, y)  # a clone gets the pooled model: the same rate, same result
    np.testing.assert_array_equal(other.predict_proba(X), proba)
    other.set_params(warm_start=True).fit(X, y)  # a warm start too
    np.testing.assert_allclose(type(rates).seen, [0.005] * 3, rtol=1e-6)
    assert float(np.asarray(optimizer.learning_rate)) == pytest.approx(0.005)


def test_an_optimizer_with_a_schedule_keeps_it_on_a_reused_model():
    import keras

    X, y = make_images()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 2, 0.5)
    clf = mlp(optimizer=keras.optimizers.SGD(schedule), max_iter=2)
    proba = clf.fit(X, y).predict_proba(X)
    model = clf.model_
    del clf
    gc.collect()
    reused = mlp(optimizer=keras.optimizers.SGD(schedule), max_iter=2).fit(X, y)
    assert reused.model_ is model
    np.testing.assert_array_equal(reused.predict_proba(X), proba)
    config = reused.model_.optimizer.get_config()["learning_rate"]
    assert config["class_name"] == "ExponentialDecay"


def test_a_loss_blowing_up_is_divergence_even_while_finite():
    """adam at a huge learning rate: a finite but exploding loss stops the
    fit with the divergence advice, and changes nothing."""
    X, y = make_images(40)
    clf = mlp(max_iter=2).fit(X, y)
    proba, before = clf.predict_proba(X), _fitted_state(clf)
    clf.set_params(learning_rate_init=1e10, max_iter=3)
    with pytest.raises(ValueError, match="diverged.*over 1000 times .*first batch"):
        clf.fit(X, y)
    _assert_unchanged(clf, before, X, proba)


def test_large_sample_weights_are_not_divergence():
    """A large loss from the start (large sample weights) is not a blow-up."""
    X, y = make_images(40)
    clf = mlp(max_iter=3, learning_rate_init=0.001)
    clf.fit(X, y, sample_weight=np.full(len(y), 1e6))
    assert min(clf.loss_curve_) > 1e4


def test_more_paddings_than_convolutions_is_an_error():
    X, y = make_images(16)
    with pytest.raises(ValueError, match="padding has 5 entries for 1 convolution"):
        cnn(filters=(4,), padding=["same"] * 5).fit(X, y)
    # The default names three; it applies to any number of convolutions.
    cnn(filters=(4,), padding=("same", "valid", "valid"), max_iter=1).fit(X, y)


# ------------------------------------------------------------- clear errors


def test_labels_of_several_kinds_are_named():
    X, y = make_images(8)
    mixed = np.array([0, "a"] * 4, dtype=object)
    with pytest.raises(ValueError, match="mixes numbers and strings"):
        mlp().fit(X, mixed)
    sets = np.empty(8, dtype=object)
    sets[:] = [frozenset({i % 2}) for i in range(8)]
    with pytest.raises(ValueError, match="frozenset.*MultiLabelBinarizer"):
        mlp().fit(X, sets)


def test_a_callback_that_cannot_be_copied_is_named():
    import threading

    import keras

    class Locked(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.lock = threading.Lock()

    X, y = make_images(8)
    with pytest.raises(TypeError, match="Locked cannot be copied.*fresh copies"):
        mlp(max_iter=1, callbacks=[Locked()]).fit(X, y)


def test_a_network_too_big_for_memory_names_its_size_parameters():
    # 2**40 units: the weights (2**40 x 4 floats, 16 TiB) cannot be
    # allocated anywhere, so TensorFlow fails at once without using memory.
    X = np.zeros((4, 2, 2), np.float32)
    clf = MLPImageClassifier(hidden_layer_sizes=(2**40,), max_iter=1)
    with pytest.raises(MemoryError, match=r"hidden_layer_sizes=\(1099511627776,\)"):
        clf.fit(X, [0, 1, 0, 1])
    assert not hasattr(clf, "model_")
