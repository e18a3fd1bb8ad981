"""Behaviours of the estimator core that once went wrong, one test each.

A phase's own learning rate wins over every schedule; knobs that clash are
refused before any model is built; ``threshold`` is checked at fit; every
estimator imports under ``python -OO``; a transfer fit resolves its weights
file once; a rejected fit has not imported TensorFlow; the transfer head
trains on features that do not depend on the images beside them.
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import TINY_BACKBONE

from litterlearn import _backbones
from litterlearn.neural_network import (
    MLPImageClassifier,
    TransferImageClassifier,
    model_pool_info,
)

SRC = str(Path(__file__).resolve().parents[1] / "src")


def images(n=24, seed=0, size=8):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    y = np.arange(n) % 2
    return X, y


def transfer(**params):
    defaults = dict(weights=None, input_size=8, hidden_layer_sizes=(), max_iter=1)
    defaults.update(batch_size=8, random_state=0)
    return TransferImageClassifier(TINY_BACKBONE, **{**defaults, **params})


def test_a_phase_rate_wins_over_a_keras_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 100, 0.9)
    clf = transfer(
        fine_tune_max_iter=1,
        fine_tune_learning_rate=1e-5,
        learning_rate_schedule=schedule,
    ).fit(*images())
    # Fine-tuning ran at its own documented rate, not the schedule's 1e-3.
    rate = clf.model_.optimizer.learning_rate
    assert float(keras.ops.convert_to_numpy(rate)) == pytest.approx(1e-5)


def test_a_schedule_in_two_places_is_refused_before_any_model():
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 100, 0.9)
    clf = MLPImageClassifier(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        learning_rate_schedule="cosine",
    )
    before = model_pool_info()["n_models"]
    with pytest.raises(ValueError, match="learning_rate_schedule='cosine'.*optimizer"):
        clf.fit(*images())
    assert model_pool_info()["n_models"] == before
    assert not hasattr(clf, "model_")


@pytest.mark.parametrize(
    "threshold, multilabel, match",
    [
        ([5.0, 0.5, 0.5], True, "in \\(0, 1\\)"),
        ([0.5, 0.5], True, "2 values.*3 labels"),
        ([5.0], False, "in \\(0, 1\\)"),
    ],
)
def test_threshold_is_checked_at_fit(threshold, multilabel, match):
    X, y = images()
    if multilabel:
        y = np.stack([y, 1 - y, y], axis=1)
    clf = MLPImageClassifier(hidden_layer_sizes=(2,), max_iter=1, threshold=threshold)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")


def test_every_estimator_imports_and_fits_under_python_OO():
    code = (
        "import numpy as np\n"
        "import litterlearn.neural_network as n, litterlearn.preprocessing as p\n"
        "import litterlearn.inspection, litterlearn.ensemble, litterlearn.plotting\n"
        "assert n.CNNImageClassifier.__doc__ is None\n"
        "for cls in (n.MLPImageClassifier, n.CNNImageClassifier,\n"
        "            n.TransferImageClassifier, n.VGGTransferClassifier,\n"
        "            p.Augmenter, p.PretrainedFeatures):\n"
        "    cls()\n"
        "X = np.random.default_rng(0).random((8, 6, 6), dtype=np.float32)\n"
        "n.MLPImageClassifier(max_iter=1).fit(X, [0, 1] * 4)\n"
    )
    subprocess.run(
        [sys.executable, "-OO", "-c", code],
        check=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": SRC},
    )


def test_a_transfer_fit_resolves_its_weights_once(monkeypatch, tmp_path):
    path = tmp_path / "tiny.weights.h5"
    TINY_BACKBONE.constructor(
        include_top=False, weights=None, input_shape=(8, 8, 3), name="tiny_vgg"
    ).save_weights(path)
    calls = []
    resolve = _backbones.resolve_weights

    def counting(*args, **kwargs):
        calls.append(args)
        return resolve(*args, **kwargs)

    monkeypatch.setattr(_backbones, "resolve_weights", counting)
    X, y = images()
    transfer(weights=str(path), fine_tune_max_iter=1).fit(X, y, X_val=X, y_val=y)
    assert len(calls) == 1


def test_a_rejected_fit_has_not_imported_tensorflow():
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from litterlearn.neural_network import CNNImageClassifier\n"
        "X = np.zeros((4, 6, 6), np.float32)\n"
        "try:\n"
        "    CNNImageClassifier().fit(X, [0, 1, 0, 1], sample_weight=[-1, 1, 1, 1])\n"
        "except ValueError:\n"
        "    pass\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": SRC},
    )


def test_the_head_trains_on_features_that_ignore_the_batch():
    # The features the head phase trains on (computed once, as a memory
    # cache stores them) are each image's own: the same images in another
    # order, or alone, give bit-identical features.
    from litterlearn._keras.predict import predict
    from litterlearn.neural_network._train import Seeds, head_split

    X, y = images(20)
    clf = transfer(max_iter=2).fit(X, y)
    extractor = head_split(clf.model_)[0]
    head_phase = clf._phases()[0]
    data = dict(seeds=Seeds(0), resources={"weights_path": None})
    features = head_phase.features(extractor, X, **data)
    order = np.random.default_rng(1).permutation(len(X))
    shuffled = head_phase.features(extractor, X[order], **data)
    alone = np.concatenate([predict(extractor, X[i : i + 1], 1) for i in range(3)])
    np.testing.assert_array_equal(shuffled, features[order])
    np.testing.assert_array_equal(alone, features[:3])
    np.testing.assert_array_equal(
        clf.predict_proba(X[order]), clf.predict_proba(X)[order]
    )
