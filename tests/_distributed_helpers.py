"""Code that Dask workers import by name while running tests/test_distributed.py.

Workers unpickle classes and functions by reference, so what the tests send
them must live in an importable module (``tests/`` is on their ``sys.path``).
"""

import os

from sklearn.base import BaseEstimator, TransformerMixin, clone


class ExitOnFit(TransformerMixin, BaseEstimator):
    """A step whose fit kills the worker process that runs it (a crash)."""

    def fit(self, X, y=None):
        from distributed import get_worker

        get_worker()  # raises ValueError outside a worker: never kill the tests
        os._exit(1)

    def transform(self, X):
        return X


def rss_mb():
    """Resident memory of this process, in MB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def fit_many(estimator, X, y, n_fits, n_warmup=2):
    """Fit clones of ``estimator`` as a search does; memory before and after.

    Returns the resident memory (MB) and the number of built models kept for
    reuse, after the warm-up fits and after the ``n_fits`` others:
    ``(rss_before, rss_after, models_before, models_after)``.
    """
    from litterlearn.neural_network import model_pool_info

    for _ in range(n_warmup):
        clone(estimator).fit(X, y)
    before, models_before = rss_mb(), model_pool_info()["n_models"]
    for _ in range(n_fits):
        clone(estimator).fit(X, y)
    return before, rss_mb(), models_before, model_pool_info()["n_models"]
