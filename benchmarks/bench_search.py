"""Grid search wall time: one process, joblib's loky with 2 workers, a Dask cluster.

The same small grid (8 candidates x 3 folds = 24 fits of a small CNN on
``load_taco_sample()`` photos resized to 24x24 gray, 3 epochs, no refit) runs

1. with ``n_jobs=1`` in this process (TensorFlow with its default threads),
2. with ``n_jobs=2`` on joblib's loky process pool,
3. under ``joblib.parallel_backend("dask")`` on a ``LocalCluster`` of 2 worker
   processes with 1 thread each,

each twice: "cold" (the first search: worker processes start, import
TensorFlow, build and trace their models) and "warm" (the same search again
on the same workers, which reuse their built models). It prints the wall time
of each and the speedup over ``n_jobs=1`` (the same mode, cold or warm), the
cluster's start-up time, the resident memory of the Dask workers before and
after the warm search, and the machine's load.

    python benchmarks/bench_search.py [--n-images 300] [--epochs 3] [--size 24]
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from litterlearn.datasets import load_taco_sample
from litterlearn.neural_network import CNNImageClassifier
from litterlearn.preprocessing import (
    CocoBinaryLabeler,
    GrayscaleNormalizer,
    ImageResizer,
)

GRID = {
    "cnnimageclassifier__filters": [(8,), (8, 8)],
    "cnnimageclassifier__learning_rate_init": [1e-3, 3e-3],
    "cnnimageclassifier__batch_size": [16, 32],
}


def make_search(size, epochs, n_jobs):
    pipe = make_pipeline(
        ImageResizer(size),
        GrayscaleNormalizer(),
        CNNImageClassifier(
            global_pooling="max",
            padding="same",
            max_iter=epochs,
            class_weight="balanced",
            random_state=0,
        ),
    )
    return GridSearchCV(
        pipe, GRID, cv=3, scoring="balanced_accuracy", n_jobs=n_jobs, refit=False
    )


def timed(search, X, y, backend=None):
    start = time.perf_counter()
    if backend is None:
        search.fit(X, y)
    else:
        with joblib.parallel_backend(backend):
            search.fit(X, y)
    return time.perf_counter() - start, search.cv_results_["mean_test_score"]


def worker_rss_mb(client):
    def rss():
        import psutil

        return psutil.Process().memory_info().rss / 2**20

    return sorted(client.run(rss).values())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--size", type=int, default=24)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        data = load_taco_sample(data_home=home, n_images=args.n_images)
        X = np.asarray(data.filenames)
        y = CocoBinaryLabeler("Bottle").fit_transform(data.annotations)
        n_fits = 3 * int(np.prod([len(v) for v in GRID.values()]))
        print(
            f"{n_fits} fits: {len(X)} images ({y.mean():.0%} bottles) at "
            f"{args.size}x{args.size} gray, {args.epochs} epochs; "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
        )
        times, scores = {}, {}
        for run in ("cold", "warm"):
            t, scores["n_jobs=1"] = timed(make_search(args.size, args.epochs, 1), X, y)
            times["n_jobs=1", run] = t
        for run in ("cold", "warm"):
            t, scores["loky"] = timed(make_search(args.size, args.epochs, 2), X, y)
            times["loky n_jobs=2", run] = t

        from distributed import Client, LocalCluster

        start = time.perf_counter()
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
        startup = time.perf_counter() - start
        try:
            search = make_search(args.size, args.epochs, None)
            times["dask 2 workers", "cold"], _ = timed(search, X, y, "dask")
            rss_before = worker_rss_mb(client)
            times["dask 2 workers", "warm"], scores["dask"] = timed(
                search, X, y, "dask"
            )
            rss_after = worker_rss_mb(client)
        finally:
            client.close()
            cluster.close()

        print("\n| mode | cold (s) | speedup | warm (s) | speedup |")
        print("| --- | --- | --- | --- | --- |")
        for mode in ("n_jobs=1", "loky n_jobs=2", "dask 2 workers"):
            cold, warm = times[mode, "cold"], times[mode, "warm"]
            print(
                f"| {mode} | {cold:.1f} | {times['n_jobs=1', 'cold'] / cold:.2f}x "
                f"| {warm:.1f} | {times['n_jobs=1', 'warm'] / warm:.2f}x |"
            )
        print(f"\ncluster start-up: {startup:.1f} s (not in the times above)")
        print(
            "dask worker RSS before/after the warm search (MB): "
            + ", ".join(
                f"{b:.0f} -> {a:.0f}"
                for b, a in zip(rss_before, rss_after, strict=True)
            )
        )
        same = all(np.allclose(scores["n_jobs=1"], s) for s in scores.values())
        print(
            f"same cv scores in every mode: {same}; load now {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
