"""The learning-rate range test (Smith, 2017; fastai's ``lr_find``).

:func:`find_learning_rate` trains a copy of an estimator for a few batches
while the learning rate grows exponentially from ``start`` to ``end``, one
rate per batch, records the loss of every batch, and suggests a rate from the
curve. It uses the estimators' public API only: ``sklearn.base.clone``,
``set_params`` and ``fit``, with one more Keras callback that sets the rate
before each batch and stops the fit when the loss blows up.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings

import numpy as np
from sklearn.base import clone

from .._keras import DivergenceError, import_keras

__all__ = ["LearningRateFinderResult", "find_learning_rate"]

RULE = "minimum / 10"
# When the minimum lies within a decade of the start: a rate it swept.
FIRST_RATE_RULE = "first rate (minimum within a decade of start)"
# Fewer recorded steps than this: the suggestion comes with a warning.
MIN_STEPS = 5


@dataclasses.dataclass(frozen=True, eq=False)
class LearningRateFinderResult:
    """What :func:`find_learning_rate` found.

    Attributes
    ----------
    learning_rates : ndarray of shape (n_steps,)
        The rate of each recorded batch, growing exponentially.
    losses : ndarray of shape (n_steps,)
        The smoothed training loss: a bias-corrected exponential moving
        average of ``raw_losses`` (as fastai's).
    raw_losses : ndarray of shape (n_steps,)
        Each batch's own training loss (before its step).
    suggestion : float
        The suggested learning rate (see ``rule``).
    rule : str
        How ``suggestion`` was chosen: "minimum / 10", a tenth of the rate
        at which the smoothed loss is lowest; or, when that rate was not
        swept (the minimum lies within a decade of ``start``), "first rate
        (minimum within a decade of start)": sweep from a smaller start.
    stop_reason : str
        Why the sweep ended: "num_steps" (all steps ran), "diverged" (the
        smoothed loss rose above ``diverge_factor`` times its minimum),
        "non-finite loss" (a batch's loss was NaN or infinite: it is not
        recorded) or "estimator stopped" (the estimator's own divergence
        check ended the fit).
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    suggestion: float
    rule: str
    stop_reason: str


class _Sweep:
    """The state of one sweep, shared by the callback and its copies."""

    def __init__(self, start, end, num_steps, smoothing, diverge_factor):
        self.start, self.end, self.num_steps = start, end, num_steps
        self.smoothing, self.diverge_factor = smoothing, diverge_factor
        self.rates, self.raw, self.smoothed = [], [], []
        self.average, self.best = 0.0, math.inf
        self.stop_reason = None

    def rate(self, step):
        if self.num_steps == 1:
            return self.start
        return self.start * (self.end / self.start) ** (step / (self.num_steps - 1))

    def record(self, rate, loss):
        """Record one batch; return True when the sweep must stop."""
        if not math.isfinite(loss):
            self.stop_reason = "non-finite loss"
            return True
        beta = self.smoothing
        average = beta * self.average + (1 - beta) * loss
        smoothed = average / (1 - beta ** (len(self.raw) + 1))
        if not math.isfinite(smoothed):
            self.stop_reason = "non-finite loss"
            return True
        self.average = average
        self.rates.append(rate)
        self.raw.append(loss)
        self.smoothed.append(smoothed)
        self.best = min(self.best, smoothed)
        if self.diverge_factor is not None and smoothed > self.diverge_factor * (
            self.best
        ):
            self.stop_reason = "diverged"
            return True
        if len(self.raw) >= self.num_steps:
            self.stop_reason = "num_steps"
            return True
        return False


def _check_real(value, name, low, *, closed_low=False, high=None):
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value >= low if closed_low else value > low)
        and (high is None or value < high)
    )
    if not ok:
        bound = f">= {low}" if closed_low else f"> {low}"
        if high is not None:
            bound += f" and < {high}"
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}.")
    return float(value)


def _fit_steps_before_final(estimator, X, y):
    """A copy of the final estimator, and ``X, y`` as they reach it.

    The steps before it are fitted (copies of them, with ``fit_transform``,
    or ``fit_resample`` for samplers) on ``X, y``.
    """
    from sklearn.pipeline import Pipeline

    estimator = clone(estimator)
    while isinstance(estimator, Pipeline):
        for _, step in estimator.steps[:-1]:
            if step is None or step == "passthrough":
                continue
            if hasattr(step, "fit_resample"):
                X, y = step.fit_resample(X, y)
            else:
                X = step.fit_transform(X, y)
        estimator = estimator.steps[-1][1]
    return estimator, X, y


_NEEDED = ("callbacks", "max_iter", "early_stopping", "learning_rate_init")


def find_learning_rate(
    estimator,
    X,
    y,
    *,
    start=1e-7,
    end=10.0,
    num_steps=100,
    smoothing=0.98,
    diverge_factor=4.0,
    random_state=None,
):
    """Sweep learning rates on a copy of ``estimator`` and suggest one.

    The learning-rate range test (Smith, 2017) as fastai's ``lr_find``: a
    copy of the estimator trains on ``X, y`` for ``num_steps`` batches while
    the learning rate grows exponentially from ``start`` to ``end``; the
    training loss of every batch is recorded and smoothed. The sweep stops
    early when the smoothed loss exceeds ``diverge_factor`` times its
    minimum, or a batch's loss is not finite (that batch is not recorded).

    The estimator passed in is left exactly as it was, fitted or not: the
    sweep trains ``sklearn.base.clone(estimator)``, with ``early_stopping``
    off, ``max_iter`` enough epochs for ``num_steps`` batches, the user's
    ``callbacks`` plus the sweep's own, and (for transfer learning) the head
    phase only (``fine_tune_max_iter=0``). An ``optimizer`` instance is
    copied with a constant rate in place of its own.

    The suggestion ("minimum / 10") is a tenth of the rate at which the
    smoothed loss is lowest. At the minimum the loss is about to blow up;
    a decade lower it still falls steeply: fastai's first rule and Smith's
    advice. It depends only on where the minimum lies, so it is robust to
    the noise of the loss of small batches, where the rule of the steepest
    slope differentiates that noise.

    Parameters
    ----------
    estimator : estimator or Pipeline
        One of litterlearn's Keras classifiers (``MLPImageClassifier``,
        ``CNNImageClassifier``, ``TransferImageClassifier``,
        ``VGGTransferClassifier``), or a Pipeline ending in one: the steps
        before it are fitted on copies (``fit_transform``, or
        ``fit_resample`` for samplers) and the sweep trains the last one on
        their output.
    X : array-like
        Training images, as for the estimator's ``fit``.
    y : array-like
        Labels, as for the estimator's ``fit``.
    start, end : float, default=1e-7, 10.0
        The first and the last learning rate of the sweep (``end`` is
        reached at step ``num_steps``).
    num_steps : int, default=100
        Batches in the sweep (over as many epochs as needed).
    smoothing : float, default=0.98
        ``beta`` of the moving average of the loss, in ``[0, 1)``: the
        smoothed loss at step ``i`` is ``a_i / (1 - beta ** (i + 1))`` with
        ``a_i = beta * a_(i-1) + (1 - beta) * loss_i``, ``a_(-1) = 0``.
    diverge_factor : float or None, default=4.0
        Stop when the smoothed loss exceeds this many times its minimum
        (``> 1``); None: only ``num_steps`` and a non-finite loss stop it.
    random_state : int, RandomState instance or None, default=None
        Given to the copy's ``random_state`` (weights, shuffling); None
        keeps the estimator's own.

    Returns
    -------
    result : LearningRateFinderResult
        ``learning_rates``, ``losses`` (smoothed), ``raw_losses``,
        ``suggestion``, ``rule`` and ``stop_reason``; plot it with
        :func:`litterlearn.plotting.plot_learning_rate_finder`.

    See Also
    --------
    litterlearn.plotting.plot_learning_rate_finder : The loss against the rate.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from litterlearn.neural_network import MLPImageClassifier, find_learning_rate
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPImageClassifier(hidden_layer_sizes=(32,), optimizer="sgd",
    ...                          random_state=0)
    >>> result = find_learning_rate(clf, X / 16, y, start=1e-4, end=100)
    >>> result.rule
    'minimum / 10'
    >>> bool(1e-4 < result.suggestion < 100)
    True
    >>> clf = clf.set_params(learning_rate_init=result.suggestion)
    """
    start = _check_real(start, "start", 0)
    end = _check_real(end, "end", 0)
    if end <= start:
        raise ValueError(f"end must be greater than start; got {start=}, {end=}.")
    if (
        not isinstance(num_steps, numbers.Integral)
        or isinstance(num_steps, bool)
        or num_steps < 2
    ):
        raise ValueError(f"num_steps must be an int >= 2; got {num_steps!r}.")
    smoothing = _check_real(smoothing, "smoothing", 0, closed_low=True, high=1)
    if diverge_factor is not None:
        diverge_factor = _check_real(diverge_factor, "diverge_factor", 1)

    final, X, y = _fit_steps_before_final(estimator, X, y)
    params = final.get_params(deep=False)
    missing = [name for name in _NEEDED if name not in params]
    if missing or not hasattr(final, "fit"):
        raise TypeError(
            f"find_learning_rate needs one of litterlearn's Keras classifiers "
            f"(or a Pipeline ending in one); {type(final).__name__} lacks the "
            f"parameters {missing}."
        )
    n_samples = len(y)
    batch_size = int(params.get("batch_size") or 1)
    steps_per_epoch = max(1, n_samples // batch_size)  # at most this many short
    settings = {
        "early_stopping": False,
        "max_iter": math.ceil(num_steps / steps_per_epoch),
        "learning_rate_init": start,
        "warm_start": False,
    }
    if params.get("fine_tune_max_iter"):
        settings["fine_tune_max_iter"] = 0
    if "learning_rate_schedule" in params:
        settings["learning_rate_schedule"] = "constant"
    if random_state is not None:
        settings["random_state"] = random_state
    optimizer = params.get("optimizer")
    if optimizer is not None and not isinstance(optimizer, str):
        import_keras()
        from .._keras.optimizers import copy_optimizer

        settings["optimizer"] = copy_optimizer(optimizer, learning_rate=start)
    sweep = _Sweep(start, end, int(num_steps), smoothing, diverge_factor)
    from .._keras.callbacks import LearningRateSweep

    callback = LearningRateSweep(sweep)
    settings["callbacks"] = [*(params["callbacks"] or []), callback]
    final.set_params(**{k: v for k, v in settings.items() if k in params})

    try:
        final.fit(X, y)
    except DivergenceError:
        # The estimator's own check stops a fit whose epoch's loss blew up
        # (the sweep stops the fit at that batch, but the epoch is judged).
        if not sweep.raw:
            raise
        if sweep.stop_reason is None:
            sweep.stop_reason = "estimator stopped"
    if not sweep.raw:
        raise ValueError(
            f"find_learning_rate recorded no finite loss (stop: "
            f"{sweep.stop_reason}); try a smaller start."
        )
    rates = np.asarray(sweep.rates)
    losses = np.asarray(sweep.smoothed)
    best = int(np.argmin(losses))
    suggestion = float(rates[best] / 10)
    stop = sweep.stop_reason or "fit ended"
    rule = RULE
    if suggestion < rates[0]:
        # Only rates the sweep tried are suggested.
        suggestion = float(rates[0])
        rule = FIRST_RATE_RULE
    if len(rates) < MIN_STEPS:
        warnings.warn(
            f"find_learning_rate recorded only {len(rates)} steps (stop: {stop}), "
            f"too few for a reliable suggestion: sweep more steps (num_steps, "
            f"more images) or from a smaller start.",
            UserWarning,
            stacklevel=2,
        )
    return LearningRateFinderResult(
        learning_rates=rates,
        losses=losses,
        raw_losses=np.asarray(sweep.raw),
        suggestion=suggestion,
        rule=rule,
        stop_reason=stop,
    )
