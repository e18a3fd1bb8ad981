"""The training contract for subclasses: phases, compile, pretrained layers.

``TwoPhase`` below is what a transfer-learning classifier looks like on the
contract of ``_BaseImageClassifier``: a functional model whose "backbone"
(one dense layer) holds fixed "pretrained" weights, a head trained first on
the frozen backbone, then a fine-tuning phase at its own learning rate. Its
"scale" layer is a custom layer that is not registered with Keras: the
estimator names it through ``_custom_objects`` so a pickled model loads.
"""

import gc
import pickle

import numpy as np
import pytest
from sklearn.base import ClassifierMixin, clone

from litterlearn.neural_network import set_model_reuse
from litterlearn.neural_network._base import TrainingPhase, _BaseImageClassifier

N_FEATURES = 6


def pretrained_kernel(n_inputs):
    """The backbone's "pretrained" weights: fixed, not from any seed."""
    rng = np.random.default_rng(1234)
    return rng.normal(0, 0.3, (n_inputs, N_FEATURES)).astype(np.float32)


_SCALE = []


def scale_layer_class():
    """A custom Keras layer, defined once Keras is imported, not registered."""
    if not _SCALE:
        import keras

        class Scale(keras.layers.Layer):
            def __init__(self, factor=2.0, **kwargs):
                super().__init__(**kwargs)
                self.factor = factor

            def call(self, x):
                return x * self.factor

            def get_config(self):
                return {**super().get_config(), "factor": self.factor}

        _SCALE.append(Scale)
    return _SCALE[0]


class TwoPhase(ClassifierMixin, _BaseImageClassifier):
    """Head on a frozen pretrained backbone, then (optionally) fine-tuning."""

    _parameter_constraints = {
        **_BaseImageClassifier._parameter_constraints,
        "fine_tune_max_iter": [int],
        "fine_tune_learning_rate": [float],
        "unfreeze": ["boolean"],
    }

    def __init__(
        self,
        *,
        fine_tune_max_iter=2,
        fine_tune_learning_rate=0.001,
        unfreeze=True,
        alpha=0.0,
        batch_size=16,
        learning_rate_init=0.05,
        max_iter=3,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        optimizer="adam",
        class_weight=None,
        image_shape=None,
        augmentation=None,
        callbacks=None,
        precision="float32",
        random_state=0,
        verbose=0,
        warm_start=False,
    ):
        self.fine_tune_max_iter = fine_tune_max_iter
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.unfreeze = unfreeze
        super().__init__(
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            optimizer=optimizer,
            class_weight=class_weight,
            image_shape=image_shape,
            augmentation=augmentation,
            callbacks=callbacks,
            precision=precision,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
        )

    def _build_model(self, input_shape):
        import keras

        n_inputs = int(np.prod(input_shape))
        inputs = keras.Input(input_shape)
        x = keras.layers.Flatten()(inputs)
        features = keras.layers.Dense(N_FEATURES, activation="tanh", name="dense")
        backbone = keras.Model(inputs, features(x), name="backbone")
        features.set_weights([pretrained_kernel(n_inputs), np.zeros(N_FEATURES)])
        scale = scale_layer_class()(0.5, name="scale")
        # The base adds the trained head: Dense "output" and its softmax.
        return lambda tensor: scale(backbone(tensor))

    def _pretrained_layers(self, model):
        return {"backbone"}

    def _custom_objects(self):
        return {"Scale": scale_layer_class()}

    def _phases(self):
        def freeze_backbone(model):
            model.trainable = True
            model.get_layer("backbone").trainable = False

        return [
            TrainingPhase(
                "head", self.max_iter, self.learning_rate_init, freeze_backbone
            ),
            TrainingPhase(
                "fine_tune",
                self.fine_tune_max_iter,
                self.fine_tune_learning_rate,
                None if self.unfreeze else freeze_backbone,
            ),
        ]


def make_images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 4, 4), dtype=np.float32) * 0.5
    y = np.arange(n) % 2
    X[y == 1, :, :2] += 0.5
    return X, y


def backbone_kernel(clf):
    return clf.model_.get_layer("backbone").get_layer("dense").get_weights()[0]


def test_phases_run_in_order_and_history_records_where_each_begins():
    X, y = make_images()
    clf = TwoPhase(max_iter=10, fine_tune_max_iter=2, fine_tune_learning_rate=0.002)
    clf.fit(X, y)
    assert clf.n_iter_ == 12 and len(clf.history_["loss"]) == 12
    assert clf.phase_starts_ == {"head": 0, "fine_tune": 10}
    assert set(clf.history_) == {"loss", "accuracy"}
    # The last phase compiled its optimizer at its own learning rate.
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.002)
    assert type(clf.model_).__name__ == "Functional"
    assert clf.score(X, y) > 0.8


def test_pretrained_weights_are_never_reinitialised_only_trained():
    X, y = make_images()
    frozen = TwoPhase(unfreeze=False).fit(X, y)
    # Frozen in both phases: the backbone is exactly as "pretrained".
    np.testing.assert_array_equal(backbone_kernel(frozen), pretrained_kernel(16))
    tuned = TwoPhase(unfreeze=True, fine_tune_learning_rate=0.05).fit(X, y)
    assert not np.allclose(backbone_kernel(tuned), pretrained_kernel(16))


def test_a_reused_functional_model_gets_its_pretrained_weights_back():
    X, y = make_images()
    tuned = TwoPhase(fine_tune_learning_rate=0.05).fit(X, y)
    model = tuned.model_
    del tuned
    gc.collect()
    reused = TwoPhase(fine_tune_learning_rate=0.05).fit(X, y)
    assert reused.model_ is model  # the dropped estimator's model, reused
    previous = set_model_reuse(False)
    try:
        fresh = TwoPhase(fine_tune_learning_rate=0.05).fit(X, y)
    finally:
        set_model_reuse(previous)
    assert fresh.model_ is not model
    # Reused or freshly built: the same model, pretrained weights included.
    np.testing.assert_allclose(
        reused.predict_proba(X), fresh.predict_proba(X), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(backbone_kernel(reused), backbone_kernel(fresh))


def test_pickle_and_clone_with_a_custom_layer():
    X, y = make_images()
    clf = TwoPhase().fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert type(restored.model_.get_layer("scale")).__name__ == "Scale"
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.phase_starts_ == clf.phase_starts_
    copy = clone(clf)
    assert not hasattr(copy, "model_") and copy.get_params() == clf.get_params()


def test_early_stopping_runs_in_each_phase():
    X, y = make_images(60)
    X_val, y_val = make_images(20, seed=1)
    clf = TwoPhase(
        max_iter=30,
        fine_tune_max_iter=30,
        early_stopping=True,
        n_iter_no_change=2,
        tol=0.5,  # nothing counts as improvement: each phase stops after 3
    ).fit(X, y, X_val=X_val, y_val=y_val)
    assert clf.phase_starts_ == {"head": 0, "fine_tune": 3}
    assert clf.n_iter_ == 6
    assert len(clf.validation_scores_) == 6
    # Each phase restored its first (best) epoch: the model predicts as the
    # fine-tuning phase's first epoch was evaluated.
    loss = clf.model_.evaluate(X_val[..., None], y_val, verbose=0)[0]
    assert loss == pytest.approx(clf.history_["val_loss"][3], rel=1e-5)
    assert clf.best_validation_score_ == clf.validation_scores_[3]
