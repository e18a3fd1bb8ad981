"""The training knobs every Keras estimator takes: schedules, weight decay,
label smoothing, MixUp and CutMix. Tiny real networks on 8x8 images.
"""

import functools
import math
import pickle

import keras
import numpy as np
import pytest
from conftest import TINY_BACKBONE
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from litterlearn.neural_network import (
    CNNImageClassifier,
    MLPImageClassifier,
    TransferImageClassifier,
)
from litterlearn.neural_network._knobs import batch_transform, mix_batch


def bright_images(n=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 8, 8)).astype(np.float32) * 0.5
    y = np.arange(n) % 3
    X[y == 1, :4] += 0.5
    X[y == 2, 4:] += 0.5
    return X, y


def transfer(**params):
    """The transfer estimator on the tiny test body (random weights)."""
    defaults = dict(
        backbone=TINY_BACKBONE, weights=None, input_size=16, hidden_layer_sizes=()
    )
    return TransferImageClassifier(
        **{**defaults, "max_iter": 2, "random_state": 0, **params}
    )


def mlp(**params):
    defaults = dict(hidden_layer_sizes=(8,), dropout=0.0, batch_size=16)
    return MLPImageClassifier(
        **{**defaults, "max_iter": 3, "random_state": 0, **params}
    )


def rates_of(clf, X, y):
    """The learning rate of each step of a fit (read after our schedule set it)."""
    seen = []

    class Grab(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(self.model.optimizer.learning_rate))

    clf.set_params(callbacks=[Grab()])
    clf.fit(X, y)
    return np.array(seen)


def test_cosine_reaches_its_documented_rates():
    X, y = bright_images(48)  # 3 steps of 16 per epoch
    clf = mlp(learning_rate_schedule="cosine", learning_rate_init=0.01, max_iter=4)
    rates = rates_of(clf, X, y)
    T = 12
    expected = 0.01 * (1 + np.cos(np.pi * np.arange(T) / T)) / 2
    np.testing.assert_allclose(rates, expected, rtol=1e-5)
    assert rates[0] == pytest.approx(0.01) and rates[6] == pytest.approx(0.005)


def test_one_cycle_warms_up_then_anneals():
    X, y = bright_images(48)
    clf = mlp(learning_rate_schedule="one_cycle", learning_rate_init=0.01, max_iter=10)
    rates = rates_of(clf, X, y)
    T, r = 30, 0.01
    W = 0.3 * T
    assert rates[0] == pytest.approx(r / 25, rel=1e-5)
    assert rates[int(W)] == pytest.approx(r, rel=1e-5)  # the peak, at step 9
    assert int(np.argmax(rates)) == int(W)
    s = T - 1
    last = r / 1e4 + (r - r / 1e4) * (1 + math.cos(math.pi * (s - W) / (T - W))) / 2
    assert rates[-1] == pytest.approx(last, rel=1e-5)


def test_schedules_restart_in_every_phase():
    X, y = bright_images(48)
    clf = transfer(
        batch_size=16,
        fine_tune_max_iter=2,
        fine_tune_learning_rate=1e-3,
        learning_rate_init=0.01,
        learning_rate_schedule="cosine",
        random_state=0,
    )
    rates = rates_of(clf, X, y)
    assert len(rates) == 12
    assert rates[0] == pytest.approx(0.01) and rates[6] == pytest.approx(1e-3)
    assert rates[5] < rates[0] and rates[11] < rates[6]


def test_a_keras_schedule_is_used_as_it_is():
    X, y = bright_images(48)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)
    clf = mlp(learning_rate_schedule=schedule, max_iter=2).fit(X, y)
    config = clf.model_.optimizer.get_config()["learning_rate"]
    assert config["class_name"] == "ExponentialDecay"
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.01 * 0.5**2)
    with pytest.raises(ValueError, match="learning_rate_schedule"):
        mlp(learning_rate_schedule="linear").fit(X, y)


def test_weight_decay_is_decoupled_and_checked():
    X, y = bright_images(48)

    def kernel_norm(**params):
        clf = mlp(optimizer="sgd", learning_rate_init=0.1, max_iter=5, **params)
        clf.fit(X, y)
        return np.linalg.norm(clf.model_.layers[1].kernel.numpy())

    assert kernel_norm(weight_decay=0.5) < 0.9 * kernel_norm()

    class NoDecay(keras.optimizers.SGD):
        def __init__(self, learning_rate=0.01, name="nodecay"):
            super().__init__(learning_rate=learning_rate, name=name)

    clf = mlp(optimizer=NoDecay(), weight_decay=0.1)
    with pytest.raises(ValueError, match="weight_decay=0.1 cannot be applied.*NoDecay"):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")


def test_label_smoothing_changes_the_loss_as_defined():
    X, y = bright_images(48)
    clf = mlp(label_smoothing=0.2).fit(X, y)
    proba = clf.predict_proba(X[:5]).astype(np.float32)
    onehot = np.eye(3, dtype=np.float32)[y[:5]]
    smoothed = 0.8 * onehot + 0.2 / 3
    expected = -(smoothed * np.log(proba)).sum(axis=1).mean()
    got = float(clf.model_.loss(onehot, proba))
    assert got == pytest.approx(expected, rel=1e-4)
    # Multi-label: t * (1 - e) + e / 2 in each label's binary cross-entropy.
    Y = np.stack([y == 1, y == 2], axis=1).astype(int)
    clf = mlp(label_smoothing=0.2).fit(X, Y)
    p = clf.predict_proba(X[:5]).astype(np.float32)
    t = Y[:5].astype(np.float32)
    ts = t * 0.8 + 0.1
    bce = -(ts * np.log(p) + (1 - ts) * np.log(1 - p))
    y_true = np.concatenate([t, np.ones_like(t)], axis=1)
    assert float(clf.model_.loss(y_true, p)) == pytest.approx(bce.mean(), rel=1e-4)


@pytest.mark.parametrize("knob", [{"mixup": 0.4}, {"cutmix": 1.0}])
def test_training_batches_are_mixed_as_mix_batch_defines(knob):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 8, 8, 1), dtype=np.uint8)
    y = np.eye(2, dtype=np.float32)[np.arange(20) % 2]
    weights = rng.random(20).astype(np.float32)
    from litterlearn._keras.data import TransformedBatches

    transform = functools.partial(
        batch_transform,
        plan_seed=7,
        augmentation=None,
        labels=np.arange(20) % 2,
        mixup=knob.get("mixup", 0.0),
        cutmix=knob.get("cutmix", 0.0),
    )
    batches = TransformedBatches(
        images, y, weights, batch_size=8, seed=7, transform=transform
    )
    out, targets, w = batches[1]
    idx = batches._order[8:16]
    expected = mix_batch(
        images[idx],
        y[idx],
        weights[idx],
        np.random.default_rng([7, 0, 1, 1]),
        **knob,
    )
    np.testing.assert_array_equal(out, expected[0])
    np.testing.assert_allclose(targets, expected[1])
    np.testing.assert_allclose(w, expected[2])
    assert not np.isin(targets, (0.0, 1.0)).all()  # soft targets


@pytest.mark.parametrize(
    "make",
    [
        lambda **p: mlp(**p),
        lambda **p: CNNImageClassifier(
            filters=(4,), hidden_layer_sizes=(), max_iter=2, random_state=0, **p
        ),
        transfer,
    ],
    ids=["mlp", "cnn", "transfer"],
)
def test_mixing_fits_are_seeded_and_pickle(make):
    X, y = bright_images(32)
    knobs = dict(mixup=0.3, cutmix=0.3, label_smoothing=0.1)
    a = make(**knobs).fit(X, y)
    b = make(**knobs).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    loaded = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(loaded.predict_proba(X), a.predict_proba(X))
    assert clone(a).get_params()["cutmix"] == 0.3


def test_knobs_under_grid_search():
    X, y = bright_images(48)
    search = GridSearchCV(
        mlp(max_iter=2),
        {
            "learning_rate_schedule": ["constant", "one_cycle"],
            "label_smoothing": [0.0, 0.1],
            "mixup": [0.0, 0.2],
        },
        cv=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_a_reused_fine_tuned_model_trains_its_next_head_phase_as_a_new_one():
    # A reused model comes back with fine-tuning's trainable flags; the next
    # head phase (on images, as with mixing) must freeze the whole backbone.
    X, y = bright_images(32)
    tuned = transfer(fine_tune_max_iter=1, fine_tune_learning_rate=1e-3).fit(X, y)
    del tuned  # its model goes back to the pool
    reused = transfer(mixup=0.3).fit(X, y)
    new = transfer(mixup=0.3).fit(X, y)  # the pool's model is held: a new one
    np.testing.assert_array_equal(reused.predict_proba(X), new.predict_proba(X))


def test_layer_decay_scales_each_deeper_blocks_step():
    # One fine-tuning step of plain SGD: every variable moves by the rate
    # times its gradient, so with decay d a layer k blocks below the top
    # moves d ** k times as far as with one rate for all (the tiny body has
    # two blocks: block2 on top, block1 below it).
    X, y = bright_images(24)

    def fit(**params):
        clf = transfer(
            optimizer="sgd",
            batch_size=24,
            fine_tune_layers="all",
            fine_tune_learning_rate=0.1,
            random_state=0,
            **params,
        ).fit(X, y)
        body = clf.model_.get_layer("tiny_vgg")
        return {
            w.path: np.asarray(w)
            for name in ("block1_conv1", "block2_conv1")
            for w in body.get_layer(name).weights
        }, np.asarray(clf.model_.get_layer("output").kernel)

    (start, head0) = fit(fine_tune_max_iter=0)
    (one_rate, head1) = fit(fine_tune_max_iter=1)
    (decayed, head_d) = fit(fine_tune_max_iter=1, fine_tune_layer_decay=0.25)
    for path, w0 in start.items():
        factor = 0.25 if "block1" in path else 1.0
        np.testing.assert_allclose(
            decayed[path] - w0, factor * (one_rate[path] - w0), rtol=1e-4, atol=1e-7
        )
        assert np.abs(one_rate[path] - w0).max() > 0
    np.testing.assert_allclose(head_d, head1, rtol=1e-5, atol=1e-7)  # head: factor 1


def test_layer_decay_pickles_and_loads_its_optimizer():
    X, y = bright_images(24)
    clf = transfer(
        max_iter=1,
        fine_tune_max_iter=1,
        fine_tune_layers="all",
        fine_tune_layer_decay=0.5,
        random_state=0,
    ).fit(X, y)
    assert type(clf.model_.optimizer).__name__ == "LayerRateAdam"
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.model_.optimizer.get_config()["rate_factors"]
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
