"""All or nothing: a ``fit`` that raises leaves the estimator as it was."""

from __future__ import annotations

import contextlib
import functools

__all__ = ["AtomicFitTransformMixin", "all_or_nothing", "restored_on_error"]


@contextlib.contextmanager
def restored_on_error(obj):
    """Undo every change to ``obj``'s attributes if the block raises."""
    before = dict(obj.__dict__)
    try:
        yield
    except BaseException:
        obj.__dict__.clear()
        obj.__dict__.update(before)
        raise


def all_or_nothing(method):
    """Decorate a ``fit``-like method so that it undoes its changes if it raises.

    The estimator's attributes are restored (shallowly: fitted attributes are
    replaced by a fit, never changed in place) on any exception, including
    ``KeyboardInterrupt``, so a rejected or interrupted refit leaves a fitted
    object predicting and transforming exactly as before, and an unfitted
    one unfitted.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with restored_on_error(self):
            return method(self, *args, **kwargs)

    return wrapper


class AtomicFitTransformMixin:
    """``fit_transform`` under :func:`all_or_nothing`, for transformers.

    Put it left of ``TransformerMixin``: a transformer whose ``transform``
    fails right after ``fit`` then keeps its previous fitted state too.
    """

    @all_or_nothing
    def fit_transform(self, X, y=None, **fit_params):
        """Fit to ``X``, then transform it; if either fails, nothing changes.

        Parameters
        ----------
        X : array-like or sequence of paths
            As for :meth:`fit` and :meth:`transform`.
        y : None
            Ignored.
        **fit_params : dict
            Passed to :meth:`fit`.

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_features_out)
        """
        return super().fit_transform(X, y, **fit_params)
