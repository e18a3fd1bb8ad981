"""The Keras callbacks of a training phase, defined once at module level.

- :class:`EpochEnd`: first in every phase; recomputes BatchNormalization
  statistics (see ``batchnorm.py``) and stops a diverging fit with a
  :class:`~litterlearn._keras.DivergenceError`;
- :class:`PhaseSchedule`: sets the optimizer's learning rate before every
  step from a rate function of the phase's step (the one writer of the rate
  during training);
- :class:`LearningRateSweep`: a schedule that also records each batch's
  loss, for the learning-rate finder.

This module imports Keras: import it inside the functions that train.
"""

from __future__ import annotations

import math

import keras

from . import DivergenceError, inner_optimizer
from .batchnorm import recompute_batch_statistics

# An epoch's training loss this many times that of its phase's first batch
# (the loss before any step) means the weights blew up (a learning rate far
# too high): no fit that trains does that, so the fit stops with an error, as
# for a loss that is not finite. Relative, so that large sample weights (a
# large loss from the start) pass.
DIVERGENCE_FACTOR = 1e3


class EpochEnd(keras.callbacks.Callback):
    """The callback that runs first, around every epoch's end.

    - With trainable BatchNormalization ``layers``: recompute their
      statistics over ``images``. With validation data (``every_epoch``),
      after every epoch's last step (``steps`` per epoch), before Keras
      evaluates the epoch, so the validation loss, early stopping and the
      weights it restores use the statistics the model predicts with;
      without, once, when the phase ends.
    - A training loss that is not finite, or grew above
      ``DIVERGENCE_FACTOR`` times the phase's first batch's, raises a
      :class:`DivergenceError` that says what to try.
    """

    def __init__(
        self, *, layers, images, batch_size, steps, every_epoch, name, phase, rate
    ):
        super().__init__()
        self.layers = layers
        self.images = images
        self.batch_size = batch_size
        self.steps = steps
        self.every_epoch = every_epoch and bool(layers)
        self.name = name
        self.phase = phase
        self.rate = rate  # how the phase's learning rate reads in a message
        self.first_loss = None  # of the phase's first batch, before any step

    def _recompute(self):
        recompute_batch_statistics(
            self.model, self.layers, self.images, self.batch_size
        )

    def on_train_batch_end(self, batch, logs=None):
        if self.first_loss is None and "loss" in (logs or {}):
            self.first_loss = float(logs["loss"])
        if self.every_epoch and batch == self.steps - 1:
            self._recompute()  # the epoch's last step: Keras evaluates next

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        if self.first_loss is None:
            self.first_loss = loss
        if not math.isfinite(loss):
            what = ""
        elif self.first_loss > 0 and loss > DIVERGENCE_FACTOR * self.first_loss:
            what = (
                f", over {DIVERGENCE_FACTOR:g} times that of the phase's first "
                f"batch ({self.first_loss:.4g})"
            )
        else:
            return
        raise DivergenceError(
            f"{self.name} diverged: the training loss is {loss:.4g} after epoch "
            f"{epoch + 1} of phase {self.phase!r}{what} (learning rate "
            f"{self.rate}). Try a lower learning_rate_init (or the phase's own "
            f"rate), inputs scaled to [0, 1] (floats) or uint8 images (scaled "
            f"inside the model), or smaller class_weight / sample_weight values."
        )

    def on_train_end(self, logs=None):
        if self.layers and not self.every_epoch:
            self._recompute()


class PhaseSchedule(keras.callbacks.Callback):
    """Set the optimizer's rate to ``rate(step)`` before each step of a phase.

    ``step`` counts the phase's own steps from ``first_step`` (0: warm starts
    and reused optimizers restart the schedule with the phase; a partial fit
    goes on where its phase is).
    """

    def __init__(self, rate, first_step=0):
        super().__init__()
        self.rate = rate
        self.step = first_step
        self.current = None

    def on_train_batch_begin(self, batch, logs=None):
        self.current = float(self.rate(self.step))
        inner_optimizer(self.model.optimizer).learning_rate = self.current
        self.step += 1


class LearningRateSweep(PhaseSchedule):
    """The finder's schedule, recording each batch's loss into ``sweep``.

    Keras logs the running mean of the epoch's loss at each batch; the
    batch's own loss is the change of the loss tracker's total over the
    change of its count (the images), read before and after the batch.
    """

    def __init__(self, sweep):
        super().__init__(sweep.rate)
        self.sweep = sweep

    def __deepcopy__(self, memo):
        # The estimators train with copies of their callbacks: this one
        # must record into the same sweep.
        return self

    def _totals(self):
        for metric in self.model.metrics:
            if metric.name == "loss" and hasattr(metric, "count"):
                ops = keras.ops
                return (
                    float(ops.convert_to_numpy(metric.total)),
                    float(ops.convert_to_numpy(metric.count)),
                )
        return None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_batches = 0

    def on_train_batch_begin(self, batch, logs=None):
        super().on_train_batch_begin(batch, logs)
        self.before = self._totals()

    def on_train_batch_end(self, batch, logs=None):
        after = self._totals()
        mean = float((logs or {}).get("loss", math.nan))
        if after is not None and self.before is not None:
            count = after[1] - self.before[1]
            loss = (after[0] - self.before[0]) / count if count else math.nan
            if not math.isfinite(after[0]):
                loss = after[0]
        else:  # the running mean of equal batches
            seen = self.epoch_batches
            loss = mean * (seen + 1) - getattr(self, "last_mean", 0.0) * seen
        self.last_mean, self.epoch_batches = mean, self.epoch_batches + 1
        if self.sweep.record(self.current, loss):
            self.model.stop_training = True
