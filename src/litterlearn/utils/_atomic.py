"""All or nothing: a ``fit`` that raises leaves the estimator as it was."""

from __future__ import annotations

import functools

__all__ = ["all_or_nothing"]


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
        before = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    return wrapper
