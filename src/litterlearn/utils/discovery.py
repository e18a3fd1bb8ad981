"""Find the public estimators of litterlearn (used by tests/test_common.py)."""

import importlib
import inspect

from sklearn.base import BaseEstimator

_PUBLIC_SUBPACKAGES = ("preprocessing", "neural_network", "datasets", "ensemble")


def all_estimators():
    """Return ``[(name, class)]`` for every public estimator, sorted by name.

    An estimator is a class exported in a public subpackage's ``__all__``
    that derives from :class:`sklearn.base.BaseEstimator`.

    Examples
    --------
    >>> names = [name for name, _ in all_estimators()]
    >>> "GrayscaleNormalizer" in names
    True
    """
    found = {}
    for sub in _PUBLIC_SUBPACKAGES:
        try:
            module = importlib.import_module(f"litterlearn.{sub}")
        except ModuleNotFoundError as exc:
            if exc.name == f"litterlearn.{sub}":
                continue
            raise
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
            ):
                found[name] = obj
    return sorted(found.items())
