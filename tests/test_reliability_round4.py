"""Reliability: memory and console across fits whose knobs change, and
clear errors for inputs the estimators cannot take."""

import gc
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning

from litterlearn.neural_network import (
    MLPImageClassifier,
    find_learning_rate,
    set_model_reuse,
)
from litterlearn.preprocessing import Augmenter

SRC = str(pathlib.Path(__file__).parents[1] / "src")
rng = np.random.default_rng(0)
X = rng.integers(0, 256, (24, 8, 8), dtype=np.uint8)
y = np.arange(24) % 2
KNOBS = [
    {"label_smoothing": 0.1},
    {"label_smoothing": 0.2, "weight_decay": 1e-4},
    {"mixup": 0.2},
    {"learning_rate_schedule": "cosine"},
]


def make(**params):
    defaults = dict(hidden_layer_sizes=(4,), max_iter=1, batch_size=8, random_state=0)
    return MLPImageClassifier(**{**defaults, **params})


def test_changing_knobs_keep_the_reused_models_traced_training_function():
    # Each traced training function holds memory TensorFlow never gives back:
    # a reused model traces once per weight decay, not at every fit.
    functions = []
    for i in range(8):
        clf = make(**KNOBS[i % 4]).fit(X, y)
        functions.append(clf.model_.train_function)
        del clf
        gc.collect()
    assert len({id(f) for f in functions}) == 2  # weight decay off, and on
    # ... and the knobs act as on a new model.
    reused = make(**KNOBS[1]).fit(X, y).predict_proba(X)
    set_model_reuse(False)
    try:
        new = make(**KNOBS[1]).fit(X, y).predict_proba(X)
    finally:
        set_model_reuse(True)
    np.testing.assert_allclose(reused, new, rtol=0, atol=1e-6)


RETRACING_SCRIPT = """
import numpy as np
from litterlearn.neural_network import MLPImageClassifier
rng = np.random.default_rng(0)
X = rng.integers(0, 256, (24, 8, 8), dtype=np.uint8); y = np.arange(24) % 2
fits = [dict(hidden_layer_sizes=(4 + i,)) for i in range(6)]  # new models
fits += [dict(label_smoothing=0.1 * (i % 2), batch_size=5 + i) for i in range(4)]
for params in fits:
    params = {"hidden_layer_sizes": (4,), "batch_size": 16, **params}
    MLPImageClassifier(max_iter=1, random_state=0, **params).fit(X, y).predict(X)
"""


def test_fits_of_new_models_and_changing_knobs_print_no_retracing_warning():
    # In a fresh process: TensorFlow warns twice at most per function code.
    out = subprocess.run(
        [sys.executable, "-c", RETRACING_SCRIPT],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "retracing" not in out.stderr + out.stdout


# Targets: sparse indicators, the kind of y_val, label lists.

Y = (rng.random((24, 3)) > 0.5).astype(np.int64)


def test_sparse_y_and_y_val_train_as_their_dense_arrays():
    # As scikit-learn's MLPClassifier: a sparse indicator is a multi-label y.
    import scipy.sparse as sp

    dense = make().fit(X, Y, X_val=X[:6], y_val=Y[:6])
    sparse = make().fit(X, sp.csr_matrix(Y), X_val=X[:6], y_val=sp.coo_array(Y[:6]))
    np.testing.assert_array_equal(sparse.classes_, [0, 1, 2])
    np.testing.assert_allclose(sparse.predict_proba(X), dense.predict_proba(X))
    assert sparse.validation_scores_ == dense.validation_scores_
    # One sparse column is one label per sample, as a dense column is.
    with pytest.warns(DataConversionWarning):
        column = make().fit(X, sp.csr_matrix(y.reshape(-1, 1)))
    np.testing.assert_allclose(
        column.predict_proba(X), make().fit(X, y).predict_proba(X)
    )


def test_y_val_of_another_kind_than_y_is_named():
    with pytest.raises(ValueError, match=r"y_val is a 0/1 indicator.*y's kind, labels"):
        make().fit(X, y, X_val=X[:5], y_val=Y[:5])


def test_label_lists_point_to_multilabelbinarizer():
    lists = [["bottle"], ["can", "bottle"], ["can"], []] * 6
    with pytest.raises(ValueError, match=r"^y holds a list.*MultiLabelBinarizer"):
        make().fit(X, lists)
    with pytest.raises(ValueError, match=r"^y_val holds a list.*MultiLabelBinarizer"):
        make().fit(X, y, X_val=X[:4], y_val=lists[:4])
    with pytest.raises(ValueError, match=r"^y holds a list.*MultiLabelBinarizer"):
        Augmenter(random_state=0).fit_resample(X.reshape(24, -1), lists)


# Optimizers: any Keras class, loss scaling, schedules Keras can rebuild.


def test_an_optimizer_keras_deserialize_does_not_know_trains():
    import keras

    lamb = keras.optimizers.Lamb(0.01)
    clf = make(optimizer=lamb).fit(X, y)
    assert isinstance(clf.model_.optimizer, keras.optimizers.Lamb)
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.01)
    assert not lamb.built  # the user's instance is copied, never trained


def test_a_loss_scale_optimizer_trains_as_the_optimizer_it_wraps():
    import keras

    wrapped = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.Adam(0.01), initial_scale=8.0
    )
    clf = make(optimizer=wrapped).fit(X, y)
    assert clf.model_.optimizer.initial_scale == 8.0
    plain = make(optimizer=keras.optimizers.Adam(0.01)).fit(X, y)
    np.testing.assert_allclose(clf.loss_curve_, plain.loss_curve_, rtol=1e-5)
    result = find_learning_rate(make(optimizer=wrapped), X, y, num_steps=6)
    assert result.learning_rates[0] == pytest.approx(1e-7)


def test_a_schedule_keras_cannot_rebuild_is_named():
    import keras

    class MySchedule(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.01

        def get_config(self):
            return {}

    match = r"schedule of class 'MySchedule'.*register_keras_serializable"
    for clf in [
        make(optimizer=keras.optimizers.Adam(MySchedule())),
        make(learning_rate_schedule=MySchedule()),
    ]:
        with pytest.raises(ValueError, match=match):
            clf.fit(X, y)
        assert not hasattr(clf, "model_")
