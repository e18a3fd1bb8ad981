"""Every private scikit-learn and joblib name litterlearn's core uses, in one place.

scikit-learn and joblib do not promise to keep their private modules. Their
names are imported here only, so a release that moves one breaks this file,
not the estimators (imbalanced-learn keeps the same kind of module).
"""

from __future__ import annotations

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
)
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "joblib_dask_backend_class",
]


def joblib_dask_backend_class():
    """joblib's ``DaskDistributedBackend`` class (imports distributed)."""
    from joblib._dask import DaskDistributedBackend

    return DaskDistributedBackend
