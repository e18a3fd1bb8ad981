"""train_val_test_split: one seeded, stratified three-way split.

Single-label ``stratify`` goes through scikit-learn's ``train_test_split``;
a 0/1 indicator matrix (multi-label) goes through iterative stratification
(Sechidis, Tsoumakas and Vlahavas, 2011), which ``train_test_split`` lacks.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, indexable

from ..utils._images import check_indicator
from ..utils._label_lists import check_not_label_lists
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


def _pick(candidates, keys, rng):
    """The candidate with the largest keys, compared in order; ties at random."""
    for key in keys:
        values = key[candidates]
        candidates = candidates[values >= values.max() - 1e-9]  # ties
        if len(candidates) == 1:
            return candidates[0]
    return candidates[rng.randint(len(candidates))]


def _iterative_stratify(Y, sizes, rng):
    """Assign each row of the boolean indicator Y to one of ``len(sizes)`` subsets.

    Iterative stratification (Sechidis, Tsoumakas and Vlahavas, 2011): labels
    are taken rarest first (among the samples not yet placed); each sample
    holding the label goes to the subset that most lacks that label, ties to
    the one that most lacks samples, then at random. Two changes to the
    paper: a subset first takes the label if it holds none of it yet (so a
    label with at least as many positives as subsets reaches every subset),
    and a full subset takes nothing more (so the sizes are exact). Samples
    with no label fill the remaining places.

    Returns an int array of subset numbers, one per row.
    """
    n_samples, n_labels = Y.shape
    sizes = np.asarray(sizes, dtype=int)
    capacity = sizes.astype(float)
    totals = Y.sum(axis=0)
    wanted = np.outer(sizes / n_samples, totals)  # positives each subset still lacks
    held = np.zeros((len(sizes), n_labels), dtype=int)
    remaining = totals.astype(int)
    assignment = np.full(n_samples, -1, dtype=int)
    order = rng.permutation(n_samples)
    shuffled = Y[order]

    def place(row, keys):
        subset = _pick(np.flatnonzero(capacity > 0), keys, rng)
        assignment[row] = subset
        labels = Y[row]
        wanted[subset, labels] -= 1
        held[subset, labels] += 1
        remaining[labels] -= 1
        capacity[subset] -= 1

    while remaining.any():
        counts = np.where(remaining > 0, remaining, n_samples + 1)
        label = _pick(np.arange(n_labels), [-counts], rng)
        for row in order[shuffled[:, label]]:
            if assignment[row] < 0:
                place(row, [held[:, label] == 0, wanted[:, label], capacity])
    for row in order[assignment[order] < 0]:
        place(row, [capacity])
    _refine_by_swaps(Y, assignment, len(sizes), rng)
    return assignment


def _refine_by_swaps(Y, assignment, n_parts, rng, max_rounds=20, max_rows=1000):
    """Swap samples between subsets while that brings label counts nearer their share.

    The greedy pass fills the subsets to their exact sizes, so the last
    (most frequent) labels absorb what the rarer ones left over. Each swap
    keeps the sizes, lowers the sum over subsets and labels of the squared
    difference between the count and its expected value, and never takes
    the last positive of a label out of a subset.

    Rounds go over each pair of subsets: candidate rows are a random
    subsample of at most ``max_rows`` per subset; the change of every
    candidate swap is computed once per pair, then the best swaps are made
    one after another, each updating the others' changes with two
    matrix-vector products. A round costs a few products of
    ``max_rows x n_labels`` matrices, so the cost grows with the number of
    labels about linearly, and stays bounded in the number of samples.
    """
    n_samples = Y.shape[0]
    Yf = Y.astype(np.float32)
    expected_share = Yf.sum(axis=0, dtype=np.float64) / n_samples
    for _ in range(max_rounds):
        swapped = False
        for i in range(n_parts):
            for j in range(i + 1, n_parts):
                swapped |= _swap_pair(
                    Yf, expected_share, assignment, i, j, rng, max_rows
                )
        if not swapped:
            return


def _swap_pair(Yf, share, assignment, i, j, rng, max_rows):
    """Improving swaps between subsets ``i`` and ``j``; whether any was made."""
    rows_i = np.flatnonzero(assignment == i)
    rows_j = np.flatnonzero(assignment == j)
    if not len(rows_i) or not len(rows_j):
        return False
    a = _subsample(rows_i, max_rows, rng)
    b = _subsample(rows_j, max_rows, rng)
    counts_i = Yf[rows_i].sum(0, dtype=np.float64)
    counts_j = Yf[rows_j].sum(0, dtype=np.float64)
    Ya, Yb = Yf[a], Yf[b]
    # Moving a row of a (from i) to j and a row of b (from j) to i changes
    # i's deviations by d = Y[b] - Y[a] and j's by -d; the sum of squares
    # changes by 2 d.v + 2 |d|^2, with v = dev_i - dev_j.
    v = (counts_i - len(rows_i) * share) - (counts_j - len(rows_j) * share)
    size_a, size_b = Ya.sum(1, dtype=np.float64), Yb.sum(1, dtype=np.float64)
    change = 2 * ((Yb @ v)[None, :] - (Ya @ v)[:, None])
    change += 2 * (size_a[:, None] + size_b[None, :] - 2 * (Ya @ Yb.T))

    def last_labels():
        return (counts_i == 1), (counts_j == 1)

    def forbidden_by(last_i, last_j):
        # Swaps that take a subset's last positive of a label away.
        lost_i = Ya[:, last_i] @ (1 - Yb[:, last_i]).T
        lost_j = (1 - Ya[:, last_j]) @ Yb[:, last_j].T
        return lost_i + lost_j

    last_i, last_j = last_labels()
    forbidden = forbidden_by(last_i, last_j)
    used_a = np.zeros(len(a), dtype=bool)
    used_b = np.zeros(len(b), dtype=bool)

    def blocked_out():
        # The changes, with inf where a swap is forbidden or a row was used.
        blocked = (forbidden > 0) | used_a[:, None] | used_b[None, :]
        return np.where(blocked, np.inf, change)

    score = blocked_out()
    swapped = False
    for _ in range(min(len(a), len(b))):
        k = int(np.argmin(score))
        if not score.flat[k] < -1e-9:
            break
        p, q = np.unravel_index(k, score.shape)
        d = Yb[q] - Ya[p]  # float32 -1/0/1: exact, and no upcast of Ya
        assignment[a[p]], assignment[b[q]] = j, i
        used_a[p] = used_b[q] = True
        swapped = True
        counts_i += d
        counts_j -= d
        # v grew by 2 d; the blocked entries of score stay inf.
        by_b, by_a = 4 * (Yb @ d)[None, :], 4 * (Ya @ d)[:, None]
        for values in (change, score):
            values += by_b
            values -= by_a
        score[p, :] = np.inf
        score[:, q] = np.inf
        new_i, new_j = last_labels()
        flipped_i, flipped_j = new_i != last_i, new_j != last_j
        if flipped_i.any() or flipped_j.any():
            # Only the labels whose "last positive" state changed: add the
            # swaps they now forbid, take out those they no longer do.
            gained = forbidden_by(flipped_i & new_i, flipped_j & new_j)
            lost = forbidden_by(flipped_i & last_i, flipped_j & last_j)
            forbidden += gained - lost
            last_i, last_j = new_i, new_j
            score = blocked_out()
    return swapped


def _subsample(rows, max_rows, rng):
    if len(rows) <= max_rows:
        return rows
    return rng.choice(rows, max_rows, replace=False)


def _iterative_stratified_split(Y, test_size, random_state):
    """Split row indices into train and test, stratified over every label of Y.

    Parameters
    ----------
    Y : array-like of shape (n_samples, n_labels)
        0/1 indicator matrix (multi-label targets).
    test_size : int or float
        Number of test samples (int), or fraction of all samples (float in
        (0, 1), rounded up as in ``train_test_split``).
    random_state : int, RandomState instance or None
        Breaks ties and orders the samples; an int gives reproducible splits.

    Returns
    -------
    train_idx, test_idx : ndarray of int
        Sorted indices that partition ``range(n_samples)``.
    """
    Y = check_indicator(Y)
    n_samples = Y.shape[0]
    n_test = _as_count(test_size, n_samples, "test_size")
    if not 0 < n_test < n_samples:
        raise ValueError(
            f"test_size={test_size!r} gives {n_test} test samples out of "
            f"{n_samples}; both subsets need at least one sample."
        )
    assignment = _iterative_stratify(
        Y, [n_samples - n_test, n_test], check_random_state(random_state)
    )
    return np.flatnonzero(assignment == 0), np.flatnonzero(assignment == 1)


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
    stratify : array-like of shape (n_samples,) or (n_samples, n_labels), \
            default=None
        If not None, class labels: each subset keeps their proportions (as
        closely as the subset sizes allow). A 2-D 0/1 indicator matrix
        (multi-label targets, one column per label) is split by iterative
        stratification (Sechidis et al., 2011): each label keeps its share
        in every subset, and a label with at least as many positives as
        there are non-empty subsets gets one in each when the sizes allow.
        A single column is taken as 1-D labels.
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
    multilabel = False
    if stratify is not None:
        check_not_label_lists(stratify, "stratify")
        if sp.issparse(stratify):
            stratify = stratify.toarray()
        stratify = np.asarray(stratify)
        if stratify.ndim == 2 and stratify.shape[1] == 1:
            stratify = stratify.ravel()
        if len(stratify) != n_samples:
            raise ValueError(
                f"stratify has {len(stratify)} labels for {n_samples} samples."
            )
        if stratify.ndim == 2:
            stratify = check_indicator(stratify, input_name="stratify")
            multilabel = True
    rng = check_random_state(random_state)
    if multilabel:
        assignment = _iterative_stratify(stratify, [n_train, n_val, n_test], rng)
        # Shuffled within each subset, as train_test_split returns its rows.
        train, val, test = (
            rng.permutation(np.flatnonzero(assignment == part)) for part in range(3)
        )
        return _index_all(arrays, train, val, test)

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
    return _index_all(arrays, train, val, test)


def _index_all(arrays, *parts):
    result = []
    for array in arrays:
        result.extend(_safe_indexing(array, idx) for idx in parts)
    return result
