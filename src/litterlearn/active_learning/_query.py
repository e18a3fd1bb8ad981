"""Uncertainty sampling: ask for the labels the model is least sure of."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)

__all__ = ["suggest_labels"]


def _margin(proba):
    top2 = np.sort(proba, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]  # small: torn between two classes


def _entropy(proba):
    p = np.clip(proba, 1e-12, 1)
    return (p * np.log(p)).sum(axis=1)  # the negative entropy: small is unsure


def _least_confident(proba):
    return proba.max(axis=1)


_SCORES = {"margin": _margin, "entropy": _entropy, "least_confident": _least_confident}


@validate_params(
    {
        "estimator": [HasMethods(["predict_proba"])],
        "X": ["array-like"],
        "y": ["array-like", None],
        "n_labels": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions({*_SCORES, "random"})],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def suggest_labels(
    estimator, X, y=None, *, n_labels=10, strategy="margin", random_state=None
):
    """The images whose labels would teach a fitted classifier most.

    Active learning by uncertainty sampling: the classifier predicts
    probabilities for the unlabelled images, and the ones it is least sure
    of are the ones to label next. Label them, refit, ask again. On most
    data this reaches a given accuracy with fewer labels than labelling at
    random; the first rounds, with a poor model, may gain nothing.

    Parameters
    ----------
    estimator : fitted classifier
        Any classifier with ``predict_proba`` (a litterlearn estimator, or a
        pipeline ending in one), fitted on the images labelled so far.
    X : array-like of shape (n_samples, ...) or list of paths
        The candidate images, in any form the estimator takes.
    y : array-like of shape (n_samples,), default=None
        Labels of ``X``, with ``-1`` for unlabelled images (scikit-learn's
        semi-supervised convention): only those are candidates. None makes
        every image of ``X`` a candidate.
    n_labels : int, default=10
        How many images to suggest (fewer if fewer are candidates).
    strategy : {"margin", "entropy", "least_confident", "random"}, \
            default="margin"
        ``"margin"``: the smallest gap between the two most probable
        classes; ``"entropy"``: the highest entropy of the probabilities;
        ``"least_confident"``: the lowest top probability; ``"random"``:
        uniformly at random (the baseline to compare with). For two classes
        the three uncertainty strategies pick the same images.
    random_state : int, RandomState instance or None, default=None
        Breaks ties between equally uncertain images, and draws the random
        picks.

    Returns
    -------
    indices : ndarray of shape (n_labels,)
        Row indices into ``X`` of the images to label, most uncertain first.

    See Also
    --------
    sklearn.semi_supervised.SelfTrainingClassifier : Uses the unlabelled
        images without asking, labelling the ones the model is sure of.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from litterlearn.active_learning import suggest_labels
    >>> X = np.array([[0.0], [0.1], [0.45], [0.55], [0.9], [1.0]])
    >>> y = np.array([0, -1, -1, -1, -1, 1])
    >>> clf = LogisticRegression().fit(X[y != -1], y[y != -1])
    >>> suggest_labels(clf, X, y, n_labels=2)
    array([2, 3])
    """
    check_is_fitted(estimator)
    n_samples = len(X)
    if y is None:
        candidates = np.arange(n_samples)
    else:
        y = np.asarray(y)
        if y.shape != (n_samples,):
            raise ValueError(
                f"y must have one label per image of X, -1 for unlabelled ones; "
                f"got shape {y.shape} for {n_samples} images."
            )
        candidates = np.flatnonzero(y == -1)
    rng = check_random_state(random_state)
    n_labels = min(n_labels, len(candidates))
    if strategy == "random" or n_labels == 0:
        return rng.choice(candidates, size=n_labels, replace=False)
    X_candidates = (
        [X[i] for i in candidates] if isinstance(X, list) else np.asarray(X)[candidates]
    )
    proba = np.asarray(estimator.predict_proba(X_candidates), dtype=np.float64)
    if proba.ndim != 2 or proba.shape[0] != len(candidates):
        raise ValueError(
            f"suggest_labels needs predict_proba of shape (n_samples, n_classes) "
            f"(single-label classification); got shape {proba.shape}."
        )
    score = _SCORES[strategy](proba)
    # Lowest score first; random keys break ties.
    order = np.lexsort((rng.random(len(score)), score))
    return candidates[order[:n_labels]]
