"""Warm starts and changed training knobs: no state lost, none made up.

A warm fit whose knob changed keeps the optimizer and its state (the loss or
the weight decay change around it); a failed one leaves the estimator's
model compiled exactly as before; a reused model whose knob changed keeps
its optimizer too, so changing knobs over a search builds no new optimizer.
"""

import gc

import keras
import numpy as np
import pytest

from litterlearn.neural_network import MLPImageClassifier

rng = np.random.default_rng(0)
X = rng.integers(0, 256, (40, 8, 8), dtype=np.uint8)
y = np.arange(40) % 2


def make(**params):
    defaults = dict(hidden_layer_sizes=(4,), max_iter=2, batch_size=8)
    defaults.update(warm_start=True, random_state=0)
    return MLPImageClassifier(**{**defaults, **params})


class Stop(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 2:
            raise KeyboardInterrupt


def test_a_failed_warm_fit_with_a_changed_knob_loses_no_training_state():
    reference = make().fit(X, y).fit(X, y)  # an uninterrupted continuation
    clf = make().fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(label_smoothing=0.2, callbacks=[Stop()])
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert int(clf.model_.optimizer.iterations) == 10
    assert getattr(clf.model_.loss, "label_smoothing", 0.0) == 0.0
    clf.set_params(label_smoothing=0.0, callbacks=None).fit(X, y)
    # float32 training: the same steps in the same order, to a few ulp.
    np.testing.assert_allclose(
        clf.predict_proba(X), reference.predict_proba(X), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("knob", [{"weight_decay": 1e-4}, {"label_smoothing": 0.1}])
def test_a_warm_fit_with_a_changed_knob_keeps_the_optimizer_state(knob):
    clf = make().fit(X, y)
    optimizer = clf.model_.optimizer
    assert int(optimizer.iterations) == 10
    clf.set_params(**knob).fit(X, y)
    assert clf.model_.optimizer is optimizer
    assert int(clf.model_.optimizer.iterations) == 20  # Adam's state went on
    if "weight_decay" in knob:
        assert clf.model_.optimizer.weight_decay == pytest.approx(1e-4)


def test_a_warm_fit_with_another_optimizer_says_its_state_restarts():
    clf = make().fit(X, y)
    clf.set_params(optimizer=keras.optimizers.Adam(learning_rate=0.01))
    with pytest.raises(ValueError, match="parameters that define the network"):
        clf.fit(X, y)  # the optimizer is part of the model: no silent restart


def test_changing_knobs_over_refits_builds_no_new_optimizer():
    # A search over label_smoothing or weight_decay reuses the model and,
    # now, its optimizer: the memory of new optimizer variables and the
    # traces tied to them is not spent again at every fit.
    fit = make(warm_start=False).fit(X, y)
    optimizer = fit.model_.optimizer
    del fit
    gc.collect()
    for knobs in ({"label_smoothing": 0.2}, {"weight_decay": 1e-3}, {}):
        fit = make(warm_start=False, **knobs).fit(X, y)
        assert fit.model_.optimizer is optimizer
        assert int(optimizer.iterations) == 10  # reset, as for a new model
        del fit
        gc.collect()
