"""partial_fit: one more epoch on the current model, as MLPClassifier's.

What budget-aware searchers (successive halving by epochs, Optuna's pruning)
rely on: the first call needs the classes and trains one epoch; each later
call trains one more from the current weights and optimizer state, exactly
as a longer ``fit`` would; bad calls are refused and leave the estimator as
it was. On scikit-learn's 8x8 digits, with tiny networks.
"""

import pickle

import keras
import numpy as np
import pytest
from conftest import TINY_BACKBONE
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from litterlearn.neural_network import MLPImageClassifier, TransferImageClassifier

digits = load_digits()
X = (digits.data[:160] / 16).astype(np.float32)  # 8x8 images as rows
y = digits.target[:160]
CLASSES = np.arange(10)


def mlp(**params):
    defaults = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    return MLPImageClassifier(**{**defaults, **params})


def test_the_first_call_needs_the_classes_and_trains_one_epoch():
    clf = mlp()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "model_")
    # y need not hold every class: the classes say what the network outputs.
    seen = y < 5
    clf.partial_fit(X[seen], y[seen], classes=CLASSES)
    np.testing.assert_array_equal(clf.classes_, CLASSES)
    assert clf.predict_proba(X).shape == (len(X), 10)
    assert clf.n_iter_ == len(clf.loss_curve_) == 1
    # A later call's y may hold a single class; classes may be omitted.
    clf.partial_fit(X[y == 7], y[y == 7])
    assert clf.n_iter_ == 2


def test_calls_continue_as_one_longer_fit():
    reference = mlp(max_iter=3).fit(X, y)
    clf = mlp()
    clf.partial_fit(X, y, classes=CLASSES).partial_fit(X, y, classes=CLASSES)
    optimizer = clf.model_.optimizer
    clf = pickle.loads(pickle.dumps(clf))  # as a searcher's trial may be
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 3
    # The same steps in the same order from the same seed: the same weights,
    # to a few float32 ulp, and the same per-epoch losses.
    np.testing.assert_allclose(clf.loss_curve_, reference.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(
        clf.predict_proba(X), reference.predict_proba(X), rtol=0, atol=1e-6
    )
    assert int(clf.model_.optimizer.iterations) == 3 * 5  # 160 images, batch 32
    # Without a pickle in between, the compiled optimizer itself goes on.
    clf = mlp().partial_fit(X, y, classes=CLASSES)
    optimizer = clf.model_.optimizer
    assert clf.partial_fit(X, y).model_.optimizer is optimizer


def test_transfer_calls_go_through_the_phases_of_fit():
    # One head epoch on the tiny body, then two of fine-tuning.
    tiny = dict(backbone=TINY_BACKBONE, weights=None, input_size=16)
    phases = dict(max_iter=1, fine_tune_max_iter=2, fine_tune_learning_rate=1e-3)
    params = dict(**tiny, **phases, hidden_layer_sizes=(8,), random_state=0)
    images, labels = X[:96].reshape(-1, 8, 8), y[:96] % 2
    reference = TransferImageClassifier(**params).fit(images, labels)
    clf = TransferImageClassifier(**params)
    for _ in range(3):
        clf.partial_fit(images, labels, classes=[0, 1])
    # The head epoch on the frozen backbone, then two of fine-tuning.
    assert clf.phase_starts_ == reference.phase_starts_ == {"head": 0, "fine_tune": 1}
    assert clf.fine_tune_start_ == 1
    np.testing.assert_allclose(clf.loss_curve_, reference.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(
        clf.predict_proba(images), reference.predict_proba(images), rtol=0, atol=1e-6
    )
    # Past the planned epochs, the last phase goes on.
    clf.partial_fit(images, labels)
    assert clf.n_iter_ == 4
    assert clf.phase_starts_ == {"head": 0, "fine_tune": 1}


class Stop(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 2:
            raise KeyboardInterrupt


def test_refused_or_failed_calls_leave_the_estimator_as_it_was():
    clf = mlp().partial_fit(X, y, classes=CLASSES)
    before = clf.predict_proba(X)
    unknown = np.where(y == 3, 42, y)
    with pytest.raises(ValueError, match=r"y has labels not in classes: \[42\]"):
        clf.partial_fit(X, unknown)
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] is not the same"):
        clf.partial_fit(X, y % 2, classes=[0, 1])
    with pytest.raises(ValueError, match="expecting 64 features"):
        clf.partial_fit(X[:, :-1], y)
    clf.set_params(callbacks=[Stop()])
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 1
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert int(clf.model_.optimizer.iterations) == 5


def test_a_multilabel_indicator_needs_no_classes():
    Y = np.column_stack([y % 2, y > 4, y == 0]).astype(int)
    clf = mlp().partial_fit(X, Y).partial_fit(X, Y, sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict(X).shape == Y.shape
    assert clf.n_iter_ == 2
    with pytest.raises(ValueError, match="continues a fit on 3 labels"):
        clf.partial_fit(X, y)


@pytest.mark.filterwarnings("ignore:OptunaSearchCV is experimental")
# optuna-integration reports the scores through a module optuna deprecates.
@pytest.mark.filterwarnings("ignore:`optuna.terminator` module:FutureWarning")
def test_optuna_search_prunes_trials_through_partial_fit():
    optuna = pytest.importorskip("optuna")
    OptunaSearchCV = pytest.importorskip("optuna_integration").OptunaSearchCV

    # The user guide's recipe ("Beyond fit"), on its 300 training digits.
    X_train, _, y_train, _ = train_test_split(
        (digits.data / 16).astype(np.float32),
        digits.target,
        train_size=300,
        stratify=digits.target,
        random_state=0,
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search = OptunaSearchCV(
        mlp(hidden_layer_sizes=(32,), max_iter=20),
        {
            "learning_rate_init": optuna.distributions.FloatDistribution(
                1e-5, 3e-2, log=True
            )
        },
        enable_pruning=True,
        max_iter=5,  # epochs: partial_fit calls per trial
        n_trials=6,
        cv=2,
        study=optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=0),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
        ),
    ).fit(X_train, y_train)
    states = [t.state for t in search.trials_]
    # Trials that trail the median after two epochs stop there.
    assert optuna.trial.TrialState.PRUNED in states
    best = search.best_estimator_  # refitted by fit, for its max_iter epochs
    assert best.score(X, y) > 0.8
