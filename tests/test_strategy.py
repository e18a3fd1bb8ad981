"""The ``distribute`` option (tf.distribute) and the TensorFlow configuration.

No GPUs here: a ``MirroredStrategy`` over the one CPU runs the same code path
as over several GPUs (the model built under the strategy's scope, Keras
distributing the data), so CI exercises it.
"""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from litterlearn.neural_network import CNNImageClassifier, MLPImageClassifier
from litterlearn.utils import configure_tensorflow

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.random((40, 8, 8), dtype=np.float32)
    y = np.arange(40) % 2
    X[y == 1, :, :4] += 0.5
    return X, y


def cnn(**params):
    return CNNImageClassifier(
        filters=(4,),
        global_pooling="max",
        max_iter=5,
        learning_rate_init=0.01,
        random_state=0,
        **params,
    )


def strategy_name(estimator):
    return type(estimator.model_.distribute_strategy).__name__


def test_mirrored_on_one_cpu_trains_exactly_like_the_default(data):
    X, y = data
    default = cnn().fit(X, y)
    mirrored = cnn(distribute=["/cpu:0"]).fit(X, y)
    assert strategy_name(mirrored) == "MirroredStrategy"
    assert strategy_name(default) != "MirroredStrategy"
    # One replica: the same gradients, so the same seeded model, epoch after
    # epoch (several epochs: the batch order must not depend on the strategy).
    np.testing.assert_allclose(
        mirrored.predict_proba(X), default.predict_proba(X), atol=1e-6
    )
    assert mirrored.loss_curve_ == pytest.approx(default.loss_curve_, abs=1e-6)


def test_mirrored_refits_are_reproducible_and_reuse_the_model(data):
    X, y = data
    first = cnn(distribute=["/cpu:0"]).fit(X, y)
    proba, model = first.predict_proba(X), first.model_
    del first
    again = cnn(distribute=["/cpu:0"]).fit(X, y)
    assert again.model_ is model  # reused, re-initialised
    np.testing.assert_allclose(again.predict_proba(X), proba, atol=1e-6)
    # A model built under the strategy never serves a default-strategy fit.
    del again
    default = cnn().fit(X, y)
    assert default.model_ is not model
    assert strategy_name(default) != "MirroredStrategy"


def test_auto_falls_back_to_the_default_strategy_without_several_gpus(data):
    X, y = data
    default = cnn().fit(X, y)
    proba, model = default.predict_proba(X), default.model_
    del default
    auto = cnn(distribute="auto").fit(X, y)
    assert strategy_name(auto) != "MirroredStrategy"
    assert auto.model_ is model  # the same model as distribute=None
    np.testing.assert_allclose(auto.predict_proba(X), proba, atol=1e-6)


def test_pickle_and_clone_keep_working_with_devices(data):
    X, y = data
    clf = MLPImageClassifier(
        hidden_layer_sizes=(8,), max_iter=3, random_state=0, distribute=["/cpu:0"]
    ).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.distribute == ["/cpu:0"]
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X))
    assert clone(clf).get_params()["distribute"] == ["/cpu:0"]


def test_a_strategy_instance_is_used_and_refuses_to_pickle(data):
    import tensorflow as tf

    X, y = data
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    clf = cnn(distribute=strategy)
    fitted = clone(clf).fit(X, y)  # clone copies the strategy; it still works
    assert strategy_name(fitted) == "MirroredStrategy"
    assert fitted.predict(X[:3]).shape == (3,)
    with pytest.raises(TypeError, match="distribute='auto' or a list of device"):
        pickle.dumps(fitted)


@pytest.mark.parametrize(
    "distribute, error, match",
    [
        ("mirrored", InvalidParameterError, "distribute"),
        ([], ValueError, "non-empty list of device names"),
        (["/gpu:7"], ValueError, "devices this process does not have"),
        (["/cpu:0", "/cpu:0"], ValueError, "not a valid set of devices"),
    ],
)
def test_bad_distribute_values_are_named(data, distribute, error, match):
    X, y = data
    with pytest.raises(error, match=match):
        cnn(distribute=distribute).fit(X, y)


def test_configure_tensorflow_is_idempotent_and_says_when_too_late():
    import tensorflow as tf

    tf.constant(1.0) + 1.0  # TensorFlow is initialised from here on
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    if intra == inter:
        assert configure_tensorflow(n_threads=intra)["intra_op_threads"] == intra
    with pytest.raises(RuntimeError, match="already initialised"):
        configure_tensorflow(n_threads=intra + 3)
    with pytest.raises(ValueError, match="n_threads"):
        configure_tensorflow(n_threads=-1)


@pytest.mark.parametrize("distribute", [None, "auto"])
def test_first_model_build_configures_threads_from_the_environment(distribute):
    # As in a joblib (loky) worker, which gets OMP_NUM_THREADS=cores//n_jobs.
    # distribute="auto" looks for GPUs, which starts TensorFlow's runtime:
    # only after litterlearn configured it.
    probe = f"""
import json, sys
sys.path.insert(0, {SRC!r})
import numpy as np, tensorflow as tf
from litterlearn.neural_network import MLPImageClassifier
MLPImageClassifier(hidden_layer_sizes=(2,), max_iter=1, distribute={distribute!r}).fit(
    np.zeros((4, 4), np.float32), [0, 1, 0, 1])
print(json.dumps([tf.config.threading.get_intra_op_parallelism_threads(),
                  tf.config.threading.get_inter_op_parallelism_threads()]))
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [1, 1]
