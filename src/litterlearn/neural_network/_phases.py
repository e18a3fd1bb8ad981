"""Training phases: what a phase is, what it trains on, and how phases check.

- :class:`TrainingPhase`: one phase (name, epochs, learning rate, what is
  trainable), as ``_phases()`` returns them;
- :class:`PhaseData`: what a phase trains on, passed to ``_train_phase``;
- :class:`_PhaseResults`: the history of all phases of a fit;
- the run name of a fit (TensorBoard's log subfolder).
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers
import os
import time
from collections.abc import Callable

import numpy as np

from ._keras import _sublayers
from ._training import _Seeds

__all__ = ["PhaseData", "TrainingPhase"]


@dataclasses.dataclass(frozen=True)
class TrainingPhase:
    """One phase of training: how long, how fast, and what is trainable.

    Parameters
    ----------
    name : str
        Name of the phase (e.g. "train", "head", "fine_tune"), the key of
        ``phase_starts_``.
    epochs : int
        Maximum number of epochs (early stopping may end the phase sooner).
    learning_rate : float or None
        Learning rate of the optimizer in this phase. None: the estimator's
        own rate, that of the ``optimizer`` instance (a float or a schedule)
        when ``optimizer`` is an instance, else ``learning_rate_init``.
    trainable : callable or None, default=None
        Called on the model before the phase is compiled, to set the layers'
        ``trainable`` flags. None: every layer is trainable.
    """

    name: str
    epochs: int
    learning_rate: float | None
    trainable: Callable | None = None


@dataclasses.dataclass(frozen=True)
class PhaseData:
    """What one training phase trains on (the data of :meth:`_train_phase`).

    Attributes
    ----------
    images : ndarray of shape (n, H, W, C)
        Training images, in the model's input dtype.
    y : ndarray of shape (n,) or (n, 2 * n_labels)
        Training targets as the target encodes them: indices into
        ``target.classes`` (one label per image), or a multi-label
        indicator followed by each entry's weight.
    sample_weight : ndarray of shape (n,) or None
        Per-image weights (class weights included).
    validation : tuple or None
        ``(images, y[, sample_weight])`` evaluated every epoch.
    seeds : _Seeds
        This phase's seeds (``seeds.shuffle`` orders its batches).
    target : object
        The fit's target (``_targets.py``): classes, loss, activation;
        ``target.labels(y)`` gives the labels as in the user's ``y``.
    run : str or None
        Name of this fit's (and phase's) run, TensorBoard's log subfolder.
    """

    images: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None
    validation: tuple | None
    seeds: _Seeds
    target: object
    run: str | None = None

    @property
    def classes(self):
        return self.target.classes


@dataclasses.dataclass
class _PhaseResults:
    history: dict
    starts: dict
    best: int | None


_RUN_COUNTER = itertools.count()


def _new_run_name():
    """A run folder name unique per fit: time, process id and a counter.

    The process id and counter keep it unique across fits in threads and
    in joblib's worker processes that start in the same second.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"fit-{stamp}-pid{os.getpid()}-{next(_RUN_COUNTER)}"


def _check_phases(phases, name):
    if not phases or not all(isinstance(p, TrainingPhase) for p in phases):
        raise TypeError(
            f"{name}._phases() must return a non-empty list of TrainingPhase."
        )
    names = [p.name for p in phases]
    if len(set(names)) != len(names):
        raise ValueError(f"{name}: phase names must be unique; got {names}.")
    for phase in phases:
        if not isinstance(phase.epochs, numbers.Integral) or phase.epochs < 1:
            raise ValueError(
                f"{name}: phase {phase.name!r} needs at least 1 epoch; got "
                f"{phase.epochs!r}."
            )


def _make_trainable(layer):
    """Make ``layer`` and all its sublayers trainable.

    (``model.trainable = True`` does not reach the layers of a functional
    model.)
    """
    for sub in [layer, *_sublayers(layer)]:
        sub.trainable = True
