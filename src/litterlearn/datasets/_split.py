"""train_val_test_split: one seeded, stratified three-way split."""

from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, indexable

from ..utils._sklearn_compat import _num_samples, _safe_indexing


def _as_count(size, n_samples, name):
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        if not 0 <= size < n_samples:
            raise ValueError(
                f"{name}={size} must be in [0, {n_samples}) for {n_samples} samples."
            )
        return int(size)
    if isinstance(size, numbers.Real) and not isinstance(size, bool):
        if not 0 <= size < 1:
            raise ValueError(f"{name}={size} must be in [0, 1) as a fraction.")
        return math.ceil(size * n_samples)
    raise TypeError(f"{name} must be an int or a float, got {size!r}.")


def train_val_test_split(
    *arrays, val_size=0.1, test_size=0.1, stratify=None, random_state=None
):
    """Split arrays into random train, validation and test subsets.

    Like :func:`sklearn.model_selection.train_test_split` with a third
    subset: each array comes back as ``(train, val, test)``, so ``(X, y)``
    gives six arrays. Works on any indexable array-likes (lists of paths,
    arrays of rows, DataFrames), which keep their type.

    Parameters
    ----------
    *arrays : sequence of indexables of the same length
        Lists, numpy arrays, scipy-sparse matrices or pandas DataFrames.
    val_size : float or int, default=0.1
        Fraction of all samples (float in [0, 1)) or number of samples (int)
        in the validation subset. Fractions are rounded up, as in
        ``train_test_split``.
    test_size : float or int, default=0.1
        Same, for the test subset. The rest (80% by default) is the training
        subset.
    stratify : array-like, default=None
        If not None, class labels: each subset keeps their proportions (as
        closely as the subset sizes allow).
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling; pass an int for reproducible splits.

    Returns
    -------
    splitting : list, length=3 * len(arrays)
        ``[a_train, a_val, a_test, b_train, b_val, b_test, ...]``.

    See Also
    --------
    sklearn.model_selection.train_test_split : The two-way split.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.datasets import train_val_test_split
    >>> X = np.arange(40).reshape(20, 2)
    >>> y = np.array([0] * 15 + [1] * 5)
    >>> X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    ...     X, y, val_size=0.2, test_size=0.2, stratify=y, random_state=0)
    >>> len(y_train), len(y_val), len(y_test)
    (12, 4, 4)
    >>> int(y_train.sum()), int(y_val.sum()), int(y_test.sum())
    (3, 1, 1)
    """
    if not arrays:
        raise ValueError("At least one array is required.")
    arrays = indexable(*arrays)
    n_samples = _num_samples(arrays[0])
    n_test = _as_count(test_size, n_samples, "test_size")
    n_val = _as_count(val_size, n_samples, "val_size")
    n_train = n_samples - n_test - n_val
    if n_train < 1:
        raise ValueError(
            f"val_size={val_size!r} and test_size={test_size!r} leave no training "
            f"samples out of {n_samples}."
        )
    if stratify is not None:
        stratify = np.asarray(stratify)
        if len(stratify) != n_samples:
            raise ValueError(
                f"stratify has {len(stratify)} labels for {n_samples} samples."
            )
    rng = check_random_state(random_state)

    def split(indices, n_out):
        if n_out == 0:
            return indices, indices[:0]
        labels = None if stratify is None else stratify[indices]
        return train_test_split(
            indices, test_size=n_out, stratify=labels, random_state=rng
        )

    indices = np.arange(n_samples)
    rest, test = split(indices, n_test)
    train, val = split(rest, n_val)
    result = []
    for array in arrays:
        result.extend(_safe_indexing(array, idx) for idx in (train, val, test))
    return result
