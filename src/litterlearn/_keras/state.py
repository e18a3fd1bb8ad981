"""What litterlearn knows about each built Keras model: one record, one table.

A :class:`ModelState` sits beside a model (in a weak table, so it never keeps
the model alive) and holds every fact the core keeps about it: how it was
last compiled, its optimizer's initial values, its pretrained weights as
built, its traced prediction functions, the training functions traced for
other optimizer settings, its BatchNormalization statistics
step, and (transfer models) its feature extractor and head.
"""

from __future__ import annotations

import threading
import weakref

__all__ = ["ModelState", "model_state"]


class ModelState:
    """litterlearn's notes on one built model."""

    __slots__ = (
        "compile_key",
        "optimizer_fill",
        "pretrained",
        "predict_functions",
        "train_functions",
        "statistics_step",
        "head_split",
        "lock",
    )

    def __init__(self):
        self.compile_key = None  # what it was last compiled with
        self.optimizer_fill = None  # the optimizer's initial values, or None
        self.pretrained = None  # [(variable, value as built)] of pretrained layers
        self.predict_functions = {}  # (image shape, dtype) -> traced function
        # Traced training functions of the current compile, by the optimizer
        # setting they were traced with that is not the current one.
        self.train_functions = {}
        self.statistics_step = None  # (key, forward pass, momentum variable)
        self.head_split = None  # (feature extractor, head model)
        self.lock = threading.Lock()  # guards the lazily made entries above


_STATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def model_state(model):
    """The :class:`ModelState` of ``model`` (made on first use)."""
    with _LOCK:
        state = _STATES.get(model)
        if state is None:
            state = _STATES[model] = ModelState()
        return state
