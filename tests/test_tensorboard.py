"""TensorBoard as the course uses it: ``callbacks=[keras.callbacks.TensorBoard(d)]``.

The callback needs the ``tensorboard`` package (recent ``tensorflow-cpu``
wheels no longer bring it), so these tests skip without it.
"""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip(
    "tensorboard", reason="the TensorBoard callback needs the tensorboard package"
)
keras = pytest.importorskip("keras")

from litterlearn.neural_network import MLPImageClassifier  # noqa: E402


def _data():
    rng = np.random.default_rng(0)
    X = rng.random((24, 8 * 8), dtype=np.float32)
    y = np.array([0, 1] * 12)
    X[y == 1, :32] += 0.5
    return X, y


def _scalars(folder):
    """``{tag: [steps]}`` of the scalars in the event files of ``folder``."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    tags = {}
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    return tags


def _runs(log_dir):
    """Run folders under ``log_dir``: those with a train/ folder of events."""
    return sorted(
        {p.parent.parent for p in Path(log_dir).rglob("events.out.tfevents.*")}
    )


def _clf(log_dir, **params):
    return MLPImageClassifier(
        hidden_layer_sizes=(4,),
        max_iter=2,
        batch_size=8,
        random_state=0,
        callbacks=[keras.callbacks.TensorBoard(log_dir=str(log_dir))],
        **params,
    )


def test_a_fit_writes_its_training_and_validation_curves(tmp_path):
    X, y = _data()
    _clf(tmp_path / "logs").fit(X, y, X_val=X[:8], y_val=y[:8])
    (run,) = _runs(tmp_path / "logs")
    # One point per epoch for the loss and accuracy, training and validation.
    train, val = _scalars(run / "train"), _scalars(run / "validation")
    assert train["epoch_loss"] == [0, 1] and train["epoch_accuracy"] == [0, 1]
    assert val["epoch_loss"] == [0, 1]


def test_each_fit_writes_its_own_run(tmp_path):
    X, y = _data()
    clf = _clf(tmp_path / "logs")
    clf.fit(X, y)
    clf.fit(X, y)  # a refit with the same callback object
    runs = _runs(tmp_path / "logs")
    assert len(runs) == 2
    assert all(run.parent == tmp_path / "logs" for run in runs)
    for run in runs:
        assert _scalars(run / "train")["epoch_loss"] == [0, 1]
    # The user's callback is left as given.
    assert clf.callbacks[0].log_dir == str(tmp_path / "logs")


def test_a_search_writes_one_run_per_fit(tmp_path):
    from sklearn.model_selection import GridSearchCV

    X, y = _data()
    search = GridSearchCV(
        _clf(tmp_path / "logs"), {"alpha": [0.0, 0.01]}, cv=2, n_jobs=1
    ).fit(X, y)
    # 2 candidates x 2 folds, and the refit on all the data.
    assert len(_runs(tmp_path / "logs")) == 5
    assert search.best_estimator_.n_iter_ == 2
