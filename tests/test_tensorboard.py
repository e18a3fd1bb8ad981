"""TensorBoard as the course uses it: ``callbacks=[keras.callbacks.TensorBoard(d)]``.

Each fit writes a run of its own under ``d`` (TensorBoard lists runs by
folder), so fits never mix their curves, and a grid search gives one run per
candidate and fold instead of one overwritten run.
"""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorboard", reason="the TensorBoard callback needs the tensorboard package")
keras = pytest.importorskip("keras")

from sklearn.model_selection import GridSearchCV  # noqa: E402

from litterlearn.neural_network import MLPImageClassifier  # noqa: E402


def _data():
    rng = np.random.default_rng(0)
    X = rng.random((24, 8 * 8), dtype=np.float32)
    y = np.array([0, 1] * 12)
    X[y == 1, :32] += 0.5
    return X, y


def _runs(log_dir):
    """Run folders: those holding a train/ folder with an event file."""
    return sorted(
        {
            p.parent.parent.relative_to(log_dir).as_posix()
            for p in Path(log_dir).rglob("events.out.tfevents.*")
            if p.parent.name == "train"
        }
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


def test_each_fit_writes_a_fresh_run(tmp_path):
    X, y = _data()
    clf = _clf(tmp_path / "logs")
    clf.fit(X, y, X_val=X[:8], y_val=y[:8])
    first = _runs(tmp_path / "logs")
    assert len(first) == 1 and first[0] != "."  # a subfolder of log_dir
    run = tmp_path / "logs" / first[0]
    assert any((run / "validation").glob("events.out.tfevents.*"))
    clf.fit(X, y)
    second = _runs(tmp_path / "logs")
    assert len(second) == 2 and first[0] in second
    # The user's callback keeps the folder it was given.
    assert Path(clf.callbacks[0].log_dir) == tmp_path / "logs"


def test_grid_search_gives_one_run_per_fit(tmp_path):
    X, y = _data()
    search = GridSearchCV(
        _clf(tmp_path / "logs"), {"alpha": [0.0, 0.01]}, cv=2, n_jobs=1
    )
    search.fit(X, y)
    # 2 candidates x 2 folds, and the refit on all the data.
    assert len(_runs(tmp_path / "logs")) == 5
