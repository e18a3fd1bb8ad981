"""Hyperparameter search on a Dask cluster through joblib's Dask backend.

One real ``LocalCluster`` of 2 worker processes on 127.0.0.1 serves the whole
module (starting it costs seconds); the searches are tiny. Pipelines start
from image files in a folder that the workers see as well (a shared file
system, as on HPC clusters). The test that kills a worker runs last.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
from _distributed_helpers import ExitOnFit, fit_many
from conftest import make_photo
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate
from sklearn.pipeline import make_pipeline

from litterlearn.neural_network import CNNImageClassifier, MLPImageClassifier
from litterlearn.preprocessing import GrayscaleNormalizer, ImageResizer

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    """A 2-process LocalCluster on 127.0.0.1, and a client connected to it."""
    # A task whose worker dies is failed at once (not retried on another
    # worker), so the crash test is quick.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # Port 0: the scheduler's HTTP server picks a free port, so two
            # test processes (pytest-xdist) or a user's own cluster on the
            # default 8787 do not collide (a warning, an error under pytest).
            dashboard_address=":0",
        )
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """24 photo files (PNG and JPEG) in a folder every worker can read.

    Class 1 photos are brighter on the left half, class 0 on the right.
    """
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("shared_photos")
    paths, labels = [], []
    for i in range(24):
        label = i % 2
        img = make_photo(rng, 24, 32).astype(np.int16)
        half = slice(0, 16) if label else slice(16, 32)
        img[:, half] += 80
        path = folder / f"photo_{i:02d}.{'jpg' if i % 3 else 'png'}"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
        paths.append(str(path))
        labels.append(label)
    return np.array(paths), np.array(labels)


def tiny_cnn_pipeline():
    return make_pipeline(
        ImageResizer(8),
        GrayscaleNormalizer(),
        CNNImageClassifier(
            filters=(4,),
            global_pooling="max",
            max_iter=8,
            learning_rate_init=0.05,
            random_state=0,
        ),
    )


def worker_addresses(client):
    return set(client.scheduler_info()["workers"])


def test_grid_search_over_files_runs_on_the_workers(client, photos):
    paths, y = photos
    search = GridSearchCV(
        tiny_cnn_pipeline(),
        {"cnnimageclassifier__learning_rate_init": [0.02, 0.05]},
        cv=2,
    )
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        search.fit(paths, y)

    # Every fit ran on a worker process of the cluster.
    fits = [t for t in stream.data if "fit_and_score" in t["key"]]
    assert len(fits) >= 1
    assert {t["worker"] for t in fits} <= worker_addresses(client)
    # cv_results_ are complete: every candidate scored on every split.
    results = search.cv_results_
    assert len(results["params"]) == 2
    for split in ("split0_test_score", "split1_test_score"):
        assert np.isfinite(results[split]).all()
    assert set(results["rank_test_score"]) <= {1, 2}
    # The refitted pipeline predicts labels from file paths.
    predictions = search.best_estimator_.predict(paths)
    assert set(predictions) <= {0, 1}
    assert search.score(paths, y) == pytest.approx(np.mean(predictions == y))


def test_fitted_estimators_come_back_from_the_workers_and_score_the_same(
    client, photos
):
    paths, y = photos
    with joblib.parallel_backend("dask"):
        cv = cross_validate(
            tiny_cnn_pipeline(),
            paths,
            y,
            cv=3,
            return_estimator=True,
            return_indices=True,
        )
    # Each fold's pipeline was fitted and scored on a worker, pickled (the
    # Keras model in its own format) and sent back: here it must give the
    # score the worker computed, on the same files.
    for estimator, test_idx, score in zip(
        cv["estimator"], cv["indices"]["test"], cv["test_score"], strict=True
    ):
        assert estimator.score(paths[test_idx], y[test_idx]) == score
    assert np.mean(cv["test_score"]) > 0.5  # the folds learned something


def test_randomized_search_over_rows(client, photos):
    paths, y = photos
    rows = ImageResizer(8, color="gray").fit_transform(paths)
    search = RandomizedSearchCV(
        MLPImageClassifier(max_iter=5, random_state=0),
        {
            "hidden_layer_sizes": [(4,), (8,)],
            "learning_rate_init": [0.01, 0.03],
        },
        n_iter=2,
        cv=2,
        random_state=0,
    )
    with joblib.parallel_backend("dask"):
        search.fit(rows, y)
    assert len(search.cv_results_["params"]) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(rows[:5]).shape == (5,)


def test_workers_configured_tensorflow_once_with_their_own_threads(client):
    # The fits above configured each worker's TensorFlow on first use: as
    # many threads as the worker has (1 here), not as many as the machine.
    def tensorflow_settings():
        from litterlearn.utils import _tensorflow, configure_tensorflow

        configured_by_the_fits = _tensorflow._CONFIGURED
        return configured_by_the_fits, configure_tensorflow()  # again: a no-op

    settings = client.run(tensorflow_settings)
    assert set(settings) == worker_addresses(client)
    for configured, now in settings.values():
        assert configured
        assert now["intra_op_threads"] == now["inter_op_threads"] == 1


def test_worker_memory_does_not_grow_across_fits(client, photos):
    paths, y = photos
    rows = ImageResizer(8, color="gray").fit_transform(paths)
    worker = sorted(worker_addresses(client))[0]
    estimator = CNNImageClassifier(
        filters=(4,), global_pooling="max", max_iter=2, random_state=0
    )
    before, after, models_before, models_after = client.submit(
        fit_many, estimator, rows, y, 20, workers=[worker], pure=False
    ).result(timeout=120)
    # The fits reuse one built model: at most the first fit builds one (when
    # the worker's earlier model of this architecture is still held), and
    # memory stays flat (Keras keeps about 5 MB per new model, never freed:
    # 20 new models would add about 100 MB here).
    assert models_after - models_before <= 1
    assert after - before < 40, (before, after)


def test_a_worker_dying_mid_search_is_reported_not_hung_on(client, photos):
    from litterlearn.utils import fix_joblib_dask_backend

    fix_joblib_dask_backend()  # opt-in: joblib's own backend would hang
    paths, y = photos
    pipe = make_pipeline(ExitOnFit(), tiny_cnn_pipeline())
    search = GridSearchCV(pipe, {"pipeline__imageresizer__size": [8, 10]}, cv=2)

    def run_search():
        with joblib.parallel_backend("dask"):
            search.fit(paths, y)

    start = time.perf_counter()
    pool = ThreadPoolExecutor(1)
    try:
        future = pool.submit(run_search)
        with pytest.raises(distributed.KilledWorker):
            future.result(timeout=120)  # a hang fails here instead of forever
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    assert time.perf_counter() - start < 120
    # The nanny restarts the dead worker: the cluster stays usable.
    client.wait_for_workers(2, timeout=60)
