"""The estimator that makes the predictions: through Pipelines and wrappers.

A Pipeline predicts with its last step; a meta-estimator such as
:class:`~litterlearn.ensemble.TestTimeAugmentationClassifier` or
scikit-learn's ``SelfTrainingClassifier`` with its fitted ``estimator_``.
Code that needs a property of that estimator (its decision ``threshold``,
its Keras model) walks down with :func:`final_estimator` instead of asking
the outer object for private methods it may not have.
"""

from __future__ import annotations

__all__ = ["final_estimator", "final_estimator_and_input"]

# Pipelines in meta-estimators in pipelines...: deeper nesting than this is
# a cycle, not a model.
_MAX_DEPTH = 16


def final_estimator(estimator):
    """The estimator at the end of ``estimator``'s Pipelines and wrappers.

    Parameters
    ----------
    estimator : estimator
        An estimator, a Pipeline (scikit-learn's or imbalanced-learn's), or a
        fitted meta-estimator with an ``estimator_``; nested in any order.

    Returns
    -------
    final : estimator
        The last step of each Pipeline, the ``estimator_`` of each wrapper,
        until an estimator that is neither.
    """
    from sklearn.pipeline import Pipeline

    current = estimator
    for _ in range(_MAX_DEPTH):
        if isinstance(current, Pipeline):
            current = current.steps[-1][1]
        elif hasattr(current, "estimator_"):
            current = current.estimator_
        else:
            break
    return current


def final_estimator_and_input(estimator, X):
    """The final estimator, and ``X`` as it reaches it.

    Each Pipeline's steps before the last transform ``X``; samplers and
    ``"passthrough"`` steps leave it as it is, as imbalanced-learn's Pipeline
    does outside ``fit``. A wrapper passes ``X`` on unchanged.
    """
    from sklearn.pipeline import Pipeline

    current = estimator
    for _ in range(_MAX_DEPTH):
        if isinstance(current, Pipeline):
            for _, step in current.steps[:-1]:
                if step is None or step == "passthrough":
                    continue
                if not hasattr(step, "fit_resample"):  # samplers act at fit only
                    X = step.transform(X)
            current = current.steps[-1][1]
        elif hasattr(current, "estimator_"):
            current = current.estimator_
        else:
            break
    return current, X
