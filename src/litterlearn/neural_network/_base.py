"""The estimator core shared by the image classifiers.

:class:`_BaseImageClassifier` is the scikit-learn estimator around a Keras
model. Read top to bottom, a fit:

1. validates everything it can (images, labels, weights, validation data,
   warm start) before the estimator changes;
2. gets a model: the estimator's own when warm-starting, else a built model
   of the same architecture claimed from the pool (``_pool.py``), else a new
   one; either way (re)initialised from the seed;
3. trains it phase by phase (:class:`TrainingPhase`): set what is trainable,
   compile, train;
4. only then stores the fitted attributes. A fit that raises, for any reason
   (bad input found late, a callback raising, ``KeyboardInterrupt``), leaves
   the estimator as it was: a fitted one predicts exactly as before, an
   unfitted one stays unfitted.

The machinery lives beside it, one job per module: ``_fit_data.py`` (the
checks of a fit's data), ``_targets.py`` (the target: one label per image
or a multi-label indicator; output size and activation, encoding, loss,
class weights, stratification, decoding), ``_phases.py`` (training phases and
what they train on), ``_keras.py`` (lazy Keras import, the layer walker),
``_pool.py`` (reuse of built models), ``_weights.py`` (seeded
initialisation, optimizer reset, snapshots), ``_inputs.py`` (training input
pipelines), ``_mixing.py`` (MixUp and CutMix of a batch), ``_schedules.py``
(learning-rate schedules, weight decay), ``_layer_rates.py`` (learning-rate
factors per variable), ``_training.py`` (what runs at every epoch's end:
BatchNorm statistics, validation, divergence), ``_predict.py`` (the
compiled prediction function), ``_serialization.py`` (pickling in Keras'
format) and ``_docs.py`` (shared docstrings).

The contract for subclasses ("Writing an estimator" in docs/developers.rst)
is six hooks, in the order a fit meets them (and an optional seventh,
:meth:`_rate_factors`, for learning rates per variable):

- :meth:`_input_stage`: layers that prepare raw images inside the model
  (here a ``Rescaling(1/255)`` for uint8 input);
- :meth:`_build_model` (abstract): the network body after the input stage,
  as a list of layers (a ``keras.Sequential``) or a callable /
  ``keras.Model`` applied to the input stage's output (a functional model);
  the base adds the output layer of the fit's target;
- :meth:`_pretrained_layers`: names of the layers whose weights come from a
  pretrained source; seeded initialisation never touches them, and a reused
  model gets their values as built back;
- :meth:`_phases`: the list of :class:`TrainingPhase` (default: one phase,
  ``max_iter`` epochs at the estimator's learning rate, everything
  trainable);
- :meth:`_train_phase`: train one phase on a :class:`PhaseData`; returns a
  ``keras`` ``History`` (whose ``best_epoch`` attribute, when set, is the
  epoch of the phase whose weights were restored) or a dict of per-epoch
  lists;
- :meth:`_custom_objects`: custom Keras classes to find when loading a
  pickled model.

The rest (:meth:`_compile`, :meth:`_learning_rate`, :meth:`_training_input`,
:meth:`_fit_keras`, :meth:`_initialize_weights`) are the base's helpers.
Fitted attributes from the phases: ``history_`` (concatenated over phases,
the same keys in each), ``phase_starts_`` (``{phase name: index of its first
epoch in history_}``) and ``n_iter_`` (epochs over all phases). Early
stopping runs in each phase, on the validation data made once per fit, and
restores the phase's best weights.

Keras (and TensorFlow) are imported the first time a model is built, never
when this module is imported.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import os
import re
import warnings
from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import (
    check_is_fitted,
)

from ..utils._images import (
    rows_to_images,
    validate_images,
)
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
)
from ._distribute import _is_strategy, resolve_strategy, strategy_key
from ._docs import _fill_doc  # noqa: F401  (subclasses import it from here)
from ._fit_data import validate_fit
from ._inputs import _as_model_dtype, _augmented_batches_class, _shuffled_batches
from ._keras import (
    OPTIMIZERS,
    PRECISIONS,
    _import_keras,
    _inner_optimizer,
)
from ._layer_rates import custom_objects as layer_rate_objects
from ._layer_rates import with_rate_factors
from ._phases import (
    PhaseData,
    TrainingPhase,
    _check_phases,
    _make_trainable,
    _new_run_name,
    _PhaseResults,
)
from ._pool import _MODEL_POOL
from ._predict import _predict
from ._schedules import SCHEDULE_CONSTRAINTS, check_weight_decay, make_schedule
from ._serialization import _load_model_bytes, _save_model_bytes
from ._targets import multilabel_objects
from ._training import _epoch_end_callback, _note_best_epoch
from ._weights import (
    _initialize_weights,
    _model_state,
    _optimizer_fill,
    _record_pretrained,
    _reseed_generators,
    _reset_optimizer,
    _restore,
    _restore_pretrained,
    _snapshot,
    _weights_of_layers,
)

__all__ = ["PhaseData", "TrainingPhase"]


class _BaseImageClassifier(BaseEstimator, metaclass=ABCMeta):
    """Base class of the Keras image classifiers; not for direct use.

    Subclasses implement :meth:`_build_model` and list every parameter
    explicitly in their ``__init__`` (keyword-only), passing the shared ones
    on to this ``__init__``.
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "optimizer": [
            StrOptions(set(OPTIMIZERS)),
            HasMethods(["apply_gradients", "get_config"]),
        ],
        "class_weight": [None, dict, StrOptions({"balanced"})],
        "image_shape": [None, tuple, list],
        "augmentation": [None, HasMethods(["augment_batch"])],
        "callbacks": [None, list],
        "precision": [StrOptions(set(PRECISIONS))],
        "distribute": [
            None,
            StrOptions({"auto"}),
            list,
            tuple,
            HasMethods(["scope", "experimental_distribute_dataset"]),
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "threshold": [Interval(numbers.Real, 0, 1, closed="neither"), "array-like"],
        "learning_rate_schedule": SCHEDULE_CONSTRAINTS,
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "label_smoothing": [Interval(numbers.Real, 0, 1, closed="left")],
        "mixup": [Interval(numbers.Real, 0, None, closed="left")],
        "cutmix": [Interval(numbers.Real, 0, None, closed="left")],
    }

    # Parameters that only change how a model is trained, not its layers or
    # optimizer: models built for estimators that differ only in these are
    # interchangeable (see _model_key). Subclasses may extend this.
    # ("distribute" enters the key as the devices it resolves to.)
    _training_params = frozenset(
        {
            "batch_size",
            "learning_rate_init",
            "max_iter",
            "early_stopping",
            "validation_fraction",
            "n_iter_no_change",
            "tol",
            "class_weight",
            "image_shape",
            "augmentation",
            "callbacks",
            "random_state",
            "verbose",
            "warm_start",
            "distribute",
            "threshold",
            "learning_rate_schedule",
            "weight_decay",
            "label_smoothing",
            "mixup",
            "cutmix",
        }
    )

    @abstractmethod
    def __init__(
        self,
        *,
        alpha,
        batch_size,
        learning_rate_init,
        max_iter,
        early_stopping,
        validation_fraction,
        n_iter_no_change,
        tol,
        optimizer,
        class_weight,
        image_shape,
        augmentation,
        callbacks,
        precision,
        random_state,
        verbose,
        warm_start,
        distribute=None,  # defaults, so subclasses may not offer them yet
        threshold=0.5,
        learning_rate_schedule="constant",
        weight_decay=0.0,
        label_smoothing=0.0,
        mixup=0.0,
        cutmix=0.0,
    ):
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.optimizer = optimizer
        self.class_weight = class_weight
        self.image_shape = image_shape
        self.augmentation = augmentation
        self.callbacks = callbacks
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.distribute = distribute
        self.threshold = threshold
        self.learning_rate_schedule = learning_rate_schedule
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.mixup = mixup
        self.cutmix = cutmix

    # ----------------------------------------------------------------- hooks

    @abstractmethod
    def _build_model(self, input_shape):
        """Return the network body, between the input stage and the output.

        The base adds the output: a ``Dense`` layer of one unit per class
        (or label) named "output", then the target's activation (softmax for
        one label per image, sigmoid per label for a multi-label ``y``)
        named "output_activation", computing in float32.

        Parameters
        ----------
        input_shape : tuple of int
            ``(H, W, C)`` of the images leaving the input stage.

        Returns
        -------
        layers : list of keras.layers.Layer, or callable
            A list of new, unbuilt layers, applied in order (the model is a
            ``keras.Sequential``; the base sets the dtype policy of
            ``precision`` on them). Or a callable, such as a ``keras.Model``,
            applied to the input stage's output tensor (the model is then
            functional; such a network sets its layers' dtype policy itself).
            Either way the body's output must be flat, ``(batch, features)``.
        """

    def _input_stage(self, input_shape, input_dtype):
        """Return the layers that prepare raw images inside the model.

        Here: ``Rescaling(1/255)`` when the model is trained on uint8 images,
        nothing for floats (taken as already scaled). Subclasses may add
        layers (e.g. gray to RGB and a pretrained network's preprocessing);
        custom layers must be registered Keras serializables (or listed by
        :meth:`_custom_objects`), so the model pickles in Keras' format
        without code.
        """
        keras = _import_keras()
        if np.dtype(input_dtype) == np.uint8:
            return [keras.layers.Rescaling(1.0 / 255, name="rescale_uint8")]
        return []

    def _pretrained_layers(self, model):
        """Names of the layers of ``model`` whose weights are pretrained.

        Weight (re)initialisation from the seed touches only the other
        layers; a reused model gets the values these layers had when built.
        None here.
        """
        return set()

    def _phases(self):
        """The phases of training, in order (a list of :class:`TrainingPhase`).

        Here one phase, "train": ``max_iter`` epochs at the estimator's own
        learning rate (see :meth:`_learning_rate`), everything trainable.
        """
        return [TrainingPhase("train", self.max_iter, None)]

    def _compile(self, model, phase, target):
        """Compile ``model`` for ``phase`` (after its ``trainable`` function).

        The optimizer comes from ``optimizer`` at the phase's learning rate
        (:meth:`_learning_rate`); the loss and the "accuracy" metric are the
        ``target``'s (see ``_targets.py``). A model already compiled with the
        same optimizer, target and trainable weights is not compiled again
        (which would trace Keras' training function anew, about a second):
        its learning rate is set, and its optimizer state continues.
        Overrides may call ``model.compile`` themselves.
        """
        state = _model_state(model)
        factors = self._rate_factors(model, phase)
        key = self._compile_key(model, target, factors)
        rate = self._learning_rate(phase)
        if state.compile_key == key and getattr(model, "optimizer", None) is not None:
            inner = _inner_optimizer(model.optimizer)
            current = inner.get_config()["learning_rate"]
            # A schedule cannot be assigned over a rate, nor the reverse.
            if isinstance(current, dict) == isinstance(rate, dict):
                if not isinstance(rate, dict):  # the same schedule stays
                    inner.learning_rate = rate
                return
        optimizer = self._make_optimizer(rate)
        if factors:
            optimizer = with_rate_factors(optimizer, factors)
        if self.precision == "mixed_float16":
            optimizer = _import_keras().optimizers.LossScaleOptimizer(optimizer)
        model.compile(
            optimizer=optimizer,
            loss=target.keras_loss(),
            metrics=target.metrics(),
        )
        model.optimizer.build(model.trainable_variables)
        state.compile_key = key
        state.optimizer_fill = _optimizer_fill(model.optimizer)

    def _rate_factors(self, model, phase):
        """Learning-rate factors per variable in ``phase``, by variable path.

        ``{}`` here (one rate for all). Transfer estimators decay the rate
        block by block into the backbone when fine-tuning.
        """
        return {}

    def _train_phase(self, model, phase, data):
        """Train ``model`` for one phase; return Keras' ``History``.

        Parameters
        ----------
        model : keras.Model
            Compiled for ``phase``.
        phase : TrainingPhase
        data : PhaseData
            What the phase trains on: images, encoded labels, sample
            weights, validation data, seeds, the target and the run's name.

        Returns
        -------
        history : keras.callbacks.History or dict
            Per-epoch lists (``history.history`` for a History, whose
            ``best_epoch`` attribute, when set, is the epoch whose weights
            early stopping restored).
        """
        training_input = self._training_input(data)
        steps = training_input.get("steps_per_epoch") or len(training_input["x"])
        epoch_end = _epoch_end_callback(
            model,
            images=data.images,
            batch_size=self.batch_size,
            steps=steps,
            validation=data.validation,
            name=type(self).__name__,
            phase=phase.name,
            learning_rate=self._learning_rate(phase),
        )
        callbacks = [epoch_end, *self._make_callbacks(data)]
        if self.learning_rate_schedule in ("cosine", "one_cycle"):
            callbacks.insert(
                1,
                _schedule_callback(
                    self.learning_rate_schedule,
                    self._learning_rate(phase),
                    steps * int(phase.epochs),
                ),
            )
        history = self._fit_keras(
            model,
            training_input,
            epochs=int(phase.epochs),
            validation_data=data.validation,
            callbacks=callbacks,
        )
        _note_best_epoch(history, callbacks)
        return history

    def _custom_objects(self):
        """Custom Keras classes (by name) to find when a pickled model loads.

        None here; registered serializables are found without this.
        """
        return {}

    def _regularizer(self):
        """The kernel regularizer for ``alpha`` (None when ``alpha == 0``)."""
        if not self.alpha:
            return None
        return _import_keras().regularizers.L2(float(self.alpha))

    # ------------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        """Train the network on images ``X`` with labels ``y``.

        All or nothing: when the fit raises (bad input, a callback raising,
        a diverging loss, ``KeyboardInterrupt``), the estimator is left as
        it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Training images: uint8 (0..255) or float (already scaled).
        y : array-like of shape (n_samples,)
            Class labels (any type; at least two classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-image weights in the loss (multiplied by ``class_weight``).
        X_val : array-like, default=None
            Validation images (same shape as ``X``): the validation loss and
            accuracy are recorded every epoch, and used for early stopping
            instead of holding out part of ``X``.
        y_val : array-like of shape (n_val,), default=None
            Labels of ``X_val``; each must be one of the labels in ``y``.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        with _all_or_nothing(self):
            data = validate_fit(self, X, y, sample_weight, X_val, y_val)
            model, entry, undo = self._model_for_fit(data)
            try:
                result = self._run_phases(model, data)
                self._commit(data, model, result)
            except BaseException:
                undo()
                raise
            if entry is not None:
                _MODEL_POOL.release(entry)
        return self

    # Models: the estimator's own (warm start), a reused one, or a new one.

    def _model_for_fit(self, data):
        """The model to train, its pool entry (or None), and how to undo.

        The undo function puts things back when training fails: a
        warm-started model gets its variables back, a claimed model goes back
        to the pool (free, since the estimator does not hold it).
        """
        if data.warm:
            model = self.model_
            snapshot = _snapshot(model)
            return model, None, lambda: _restore(snapshot)
        entry = _MODEL_POOL.claim(data.key, self)
        if entry is not None:
            if self._reset_model(entry.model, data.seeds):
                return entry.model, entry, lambda: _MODEL_POOL.release(entry)
            _MODEL_POOL.discard(entry)
        model, reusable = self._new_model(data)
        entry = _MODEL_POOL.add(data.key, model, self) if reusable else None
        if entry is None:
            return model, None, lambda: None
        return model, entry, lambda: _MODEL_POOL.release(entry)

    def _new_model(self, data):
        """A new model (built under the strategy's scope), initialised.

        Returns it and whether it can be reset exactly, hence reused.
        """
        # The one place a model is made: under the ``distribute`` strategy's
        # scope, so its weights live on the strategy's devices; Keras then
        # trains and predicts with the strategy the model was built under.
        with self._strategy_scope():
            model = self._make_model(data.image_shape, data.input_dtype, data.target)
        pretrained = self._pretrained_layers(model)
        _record_pretrained(model, pretrained)
        reason = self._initialize_weights(model, data.seeds.weights)
        _reseed_generators(model, data.seeds.layers)
        if reason is not None:
            warnings.warn(
                f"{type(self).__name__}: {reason}; the model is not reproducible "
                f"under random_state, and later fits do not reuse it.",
                UserWarning,
                stacklevel=4,
            )
        return model, reason is None

    def _reset_model(self, model, seeds):
        """Re-initialise a reused model as a new build would (False: cannot)."""
        state = _model_state(model)
        _restore_pretrained(model)
        if self._initialize_weights(model, seeds.weights) is not None:
            return False
        _reseed_generators(model, seeds.layers)
        if not _reset_optimizer(
            getattr(model, "optimizer", None), state.optimizer_fill
        ):
            state.compile_key = None  # the next _compile builds a new optimizer
        return True

    def _initialize_weights(self, model, seed):
        """Initialise the weights of ``model`` from their initializers.

        Each random initializer is re-seeded from ``seed``, so a new model
        and a reused one get identical weights. The weights of
        :meth:`_pretrained_layers` are left alone. Returns None, or the reason
        a weight cannot be seeded (the model is then not reused).
        """
        pretrained = self._pretrained_layers(model)
        skip = set()
        if pretrained:
            skip = {id(w) for w in _weights_of_layers(model, set(pretrained))}
        return _initialize_weights(model, seed, skip)

    def _make_model(self, image_shape, input_dtype, target):
        """Build a new, uncompiled model: input stage, body, then the output."""
        keras = _import_keras()
        name = type(self).__name__
        input_stage = self._input_stage(tuple(image_shape), input_dtype)
        shape = (None, *image_shape)
        for layer in input_stage:
            shape = tuple(layer.compute_output_shape(shape))
        body = self._build_model(tuple(shape[1:]))
        output = self._output_layers(target)
        inputs = keras.Input(shape=tuple(image_shape), dtype=np.dtype(input_dtype).name)
        try:
            if isinstance(body, (list, tuple)):
                model = self._sequential(keras, inputs, [*input_stage, *body, *output])
            else:
                x = inputs
                for layer in input_stage:
                    x = layer(x)
                x = body(x)
                for layer in output:
                    x = layer(x)
                model = keras.Model(inputs, x, name=name)
        except ValueError as exc:
            # Keras' messages carry terminal colour codes.
            message = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
            raise ValueError(
                f"{name} cannot build its network for images of shape "
                f"{tuple(image_shape)}: {message}"
            ) from exc
        except Exception as exc:
            # TensorFlow's out-of-memory error while allocating the weights.
            if type(exc).__name__ != "ResourceExhaustedError":
                raise
            raise MemoryError(
                f"{name}'s network for images of shape {tuple(image_shape)} "
                f"does not fit in memory: its weights could not be allocated. "
                f"Choose smaller layers ({self._size_parameters()}) or "
                f"smaller images."
            ) from exc
        _check_output_shapes(model, image_shape, name)
        return model

    def _output_layers(self, target):
        """The output the base adds after the body: Dense, then activation."""
        keras = _import_keras()
        dense = keras.layers.Dense(
            target.n_outputs, kernel_regularizer=self._regularizer(), name="output"
        )
        if self.precision != "float32":
            dense.dtype_policy = keras.DTypePolicy(self.precision)
        activation = keras.layers.Activation(
            target.activation, name="output_activation", dtype="float32"
        )
        return [dense, activation]

    def _size_parameters(self):
        """The parameters that set the network's size, for error messages."""
        names = ("hidden_layer_sizes", "filters", "input_size")
        return ", ".join(f"{n}={getattr(self, n)!r}" for n in names if hasattr(self, n))

    def _sequential(self, keras, inputs, layers):
        if self.precision != "float32":
            policy = keras.DTypePolicy(self.precision)
            for layer in layers[:-1]:  # the output activation stays float32
                layer.dtype_policy = policy
        model = keras.Sequential(name=type(self).__name__)
        model.add(inputs)
        for layer in layers:
            model.add(layer)
        return model

    def _learning_rate(self, phase):
        """The learning rate of ``phase``, decided here and only here.

        The phase's own rate when it has one (fine-tuning's
        ``fine_tune_learning_rate``, whatever ``optimizer`` is); else that of
        the ``optimizer`` instance (a float, or a schedule as its serialized
        config, a dict), or ``learning_rate_init`` when ``optimizer`` is a
        name. Applied on a new model, a reused one and a warm start alike.
        """
        if not isinstance(self.learning_rate_schedule, str):  # a Keras schedule
            keras = _import_keras()
            return keras.optimizers.schedules.serialize(self.learning_rate_schedule)
        if phase.learning_rate is not None:
            return float(phase.learning_rate)
        if isinstance(self.optimizer, str):
            return float(self.learning_rate_init)
        keras = _import_keras()
        rate = keras.optimizers.serialize(self.optimizer)["config"]["learning_rate"]
        return rate if isinstance(rate, dict) else float(rate)

    def _make_optimizer(self, learning_rate):
        """A new optimizer of ``optimizer`` at ``learning_rate`` (see above)."""
        keras = _import_keras()
        decay = check_weight_decay(self.optimizer, self.weight_decay)
        if isinstance(self.optimizer, str):
            optimizer = keras.optimizers.get(
                {
                    "class_name": self.optimizer,
                    "config": {"learning_rate": learning_rate, **decay},
                }
            )
        else:  # a copy, so the user's instance never holds our variables
            config = keras.optimizers.serialize(self.optimizer)
            config["config"].update(learning_rate=learning_rate, **decay)
            optimizer = keras.optimizers.deserialize(config)
        return optimizer

    def _compile_key(self, model, target, factors=None):
        """What a compiled model depends on: optimizer, loss, trainable weights.

        ``factors``: the per-variable rate factors of :meth:`_rate_factors`.
        """
        trainable = tuple(id(v) for v in model.trainable_variables)
        optimizer = (_optimizer_key(self.optimizer), float(self.weight_decay))
        schedule = self.learning_rate_schedule
        if not isinstance(schedule, str):
            schedule = repr(_import_keras().optimizers.schedules.serialize(schedule))
        factors = tuple(sorted((factors or {}).items()))
        return (
            optimizer,
            schedule,
            factors,
            self.precision,
            target.loss_key,
            trainable,
        )

    def _model_key(self, image_shape, input_dtype, target):
        """What identifies the architecture and optimizer of the model."""
        params = self.get_params(deep=False)
        arch = {k: v for k, v in params.items() if k not in self._training_params}
        arch["optimizer"] = _optimizer_key(arch["optimizer"])
        return (
            type(self).__module__,
            type(self).__qualname__,
            tuple(int(s) for s in image_shape),
            np.dtype(input_dtype).str,
            target.key,
            repr(sorted(arch.items())),
            strategy_key(self._strategy()),
        )

    def _strategy(self):
        """The tf.distribute.Strategy of ``distribute``, or None (default)."""
        return resolve_strategy(getattr(self, "distribute", None))

    def _strategy_scope(self):
        strategy = self._strategy()
        return contextlib.nullcontext() if strategy is None else strategy.scope()

    # Training: the phases, one after the other.

    def _run_phases(self, model, data):
        phases = list(self._phases())
        _check_phases(phases, type(self).__name__)
        history, starts, best = {}, {}, None
        run = _new_run_name()
        for index, phase in enumerate(phases):
            if phase.trainable is None:
                _make_trainable(model)
            else:
                phase.trainable(model)
            # Under the strategy the model was built with (a reused model may
            # come from an estimator holding an equal strategy object).
            with model.distribute_strategy.scope():
                self._compile(model, phase, data.target)
            phase_data = PhaseData(
                images=data.images,
                y=data.y,
                sample_weight=data.sample_weight,
                validation=data.validation,
                seeds=data.seeds.for_phase(index),
                target=data.target,
                # TensorBoard's subfolder of log_dir (see _make_callbacks).
                run=run if len(phases) == 1 else f"{run}/{phase.name}",
            )
            result = self._train_phase(model, phase, phase_data)
            epochs = {
                k: [float(v) for v in values]
                for k, values in getattr(result, "history", result).items()
            }
            start = len(history.get("loss", []))
            if history and set(epochs) != set(history):
                raise ValueError(
                    f"Phase {phase.name!r} recorded {sorted(epochs)}, but earlier "
                    f"phases recorded {sorted(history)}; every phase must record "
                    f"the same metrics."
                )
            for k, values in epochs.items():
                history.setdefault(k, []).extend(values)
            starts[phase.name] = start
            best_epoch = getattr(result, "best_epoch", None)
            if best_epoch is not None:
                best = start + int(best_epoch)
        return _PhaseResults(history, starts, best)

    def _fit_keras(self, model, training_input, *, epochs, validation_data, callbacks):
        """The single call of ``keras.Model.fit``."""
        return model.fit(
            **training_input,
            epochs=epochs,
            validation_data=validation_data,
            callbacks=callbacks,
            verbose=min(int(self.verbose), 2),
        )

    def _training_input(self, data):
        """Turn a phase's data into the Keras input of ``model.fit``.

        The single place where this happens. Returns keyword arguments of
        ``model.fit``: ``{"x": dataset}``, where the dataset yields shuffled
        batches ``(images, y[, sample_weight])`` in a new order every epoch,
        seeded by ``data.seeds.shuffle``. Without augmentation it is a ``tf.data`` pipeline
        gathering batches from the arrays (as Keras does for arrays, but with
        its own seed instead of TensorFlow's global one); with augmentation a
        ``keras.utils.PyDataset`` that augments each batch in every epoch.
        """
        images, y, sample_weight = data.images, data.y, data.sample_weight
        seed = data.seeds.shuffle
        if self.augmentation is not None or self._mixes():
            dataset_cls = _augmented_batches_class()
            return {
                "shuffle": False,
                "x": dataset_cls(
                    images,
                    y,
                    sample_weight,
                    labels=data.target.labels(y),
                    batch_size=self.batch_size,
                    augmentation=self.augmentation,
                    seed=seed,
                    mixup=float(self.mixup),
                    cutmix=float(self.cutmix),
                ),
            }
        arrays = (images, y) if sample_weight is None else (images, y, sample_weight)
        return {
            "x": _shuffled_batches(arrays, self.batch_size, seed),
            "steps_per_epoch": math.ceil(len(images) / self.batch_size),
            "shuffle": False,
        }

    def _mixes(self):
        """Whether training mixes images (MixUp or CutMix) on the fly."""
        return bool(self.mixup or self.cutmix)

    def _make_callbacks(self, data):
        """Fresh copies of the user's callbacks, and early stopping.

        A copy of a ``keras.callbacks.TensorBoard`` writes into a subfolder
        of its ``log_dir`` of its own, named by :func:`_new_run_name`
        (and then by the phase, for estimators of several phases).
        """
        keras = _import_keras()
        callbacks = []
        for callback in self.callbacks or []:
            if not isinstance(callback, keras.callbacks.Callback):
                raise TypeError(
                    f"callbacks must be a list of keras.callbacks.Callback; got "
                    f"{callback!r}."
                )
            try:
                callback = copy.deepcopy(callback)
            except Exception as exc:  # a lock, a file, an open connection...
                raise TypeError(
                    f"callbacks: {type(callback).__name__} cannot be copied "
                    f"({type(exc).__name__}: {exc}). Every fit trains with fresh "
                    f"copies (copy.deepcopy) of the callbacks, so that fits never "
                    f"share their state; give the callback a __deepcopy__, or keep "
                    f"what it must not copy outside it."
                ) from exc
            run = data.run
            if run is not None and isinstance(callback, keras.callbacks.TensorBoard):
                # Each fit (and phase) writes its own run, so that refits and
                # searches never draw over one another in the user's log_dir.
                callback.log_dir = os.path.join(callback.log_dir, *run.split("/"))
            callbacks.append(callback)
        if self.early_stopping and data.validation is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    min_delta=self.tol,
                    patience=self.n_iter_no_change,
                    restore_best_weights=True,
                )
            )
        return callbacks

    # Commit: the fitted attributes, all at once, after training succeeded.

    def _commit(self, data, model, result):
        old = self.history_ if data.warm else {}
        previous = len(old.get("loss", ()))
        n_epochs = len(result.history.get("loss", ()))
        # One entry per epoch in every list: a key that one of the fits did
        # not record (validation in one warm fit, not in the other) is NaN at
        # that fit's epochs.
        history = {
            k: [*old.get(k, [math.nan] * previous)]
            + [*result.history.get(k, [math.nan] * n_epochs)]
            for k in {**old, **result.history}
        }
        self.classes_ = data.classes
        self._target_ = data.target
        self.image_shape_ = data.image_shape
        self.input_dtype_ = data.input_dtype
        self.model_ = model
        self._model_key_ = data.key
        self.history_ = history
        self.phase_starts_ = {
            name: previous + start for name, start in result.starts.items()
        }
        self.n_iter_ = previous + n_epochs
        self.loss_curve_ = history["loss"]
        self.validation_scores_ = history.get("val_accuracy")
        self.best_validation_score_ = None
        if "val_accuracy" in result.history:  # this fit was validated
            if result.best is not None:  # the epoch early stopping restored
                best = previous + result.best
            else:
                val_loss = np.asarray(history["val_loss"])
                best = (
                    int(np.nanargmin(val_loss)) if np.isfinite(val_loss).any() else -1
                )
            self.best_validation_score_ = self.validation_scores_[best]

    # ------------------------------------------------------------ prediction

    def _as_input_dtype(self, rows, dtype=None):
        """Rows in the model's input dtype (see ``input_dtype_``)."""
        return _as_model_dtype(rows, self.input_dtype_ if dtype is None else dtype)

    def _to_model_input(self, rows):
        """Rows to images ``(n, H, W, C)`` of the model's input dtype."""
        return rows_to_images(self._as_input_dtype(rows), self.image_shape_)

    def predict_proba(self, X):
        """Class probabilities of images ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Images of the shape seen in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float64
            Columns in the order of ``classes_``: rows sum to 1 for one label
            per image; for a multi-label fit, each label's own probability.
        """
        check_is_fitted(self)
        rows, _ = validate_images(
            self,
            X,
            reset=False,
            image_shape=self.image_shape,
            fitted_image_shape=self.image_shape_,
        )
        images = self._to_model_input(rows)
        proba = _predict(
            self.model_,
            images,
            self.batch_size,
            distributed=self._strategy() is not None,
        )
        return self._target_.proba(proba)

    def predict(self, X):
        """Predicted class labels of images ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Images of the shape seen in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_``; for a multi-label fit a 0/1 indicator,
            1 where the label's probability is at least ``threshold``.
        """
        return self._decide(self.predict_proba(X))

    def _decide(self, proba):
        """Predictions from probabilities (also for wrappers such as TTA)."""
        check_is_fitted(self)
        return self._target_.decide(proba, self.threshold)

    # -------------------------------------------------------------- pickling

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never touch __dict__
        if _is_strategy(state.get("distribute")):
            raise TypeError(
                f"{type(self).__name__} cannot be pickled or copied while "
                f"distribute holds a tf.distribute.Strategy, which belongs to its "
                f"process. Pass distribute='auto' or a list of device names "
                f"instead, or set_params(distribute=None) before saving."
            )
        model = state.pop("model_", None)
        if model is not None:
            state["_model_keras_bytes"] = _save_model_bytes(model)
        return state

    def __setstate__(self, state):
        data = state.pop("_model_keras_bytes", None)
        super().__setstate__(state)
        if data is not None:
            model = _load_model_bytes(
                data,
                {
                    **multilabel_objects(),
                    **layer_rate_objects(),
                    **self._custom_objects(),
                },
            )
            if getattr(model, "optimizer", None) is not None:
                # Compiled as it was saved: a warm start continues its state.
                _model_state(model).compile_key = self._compile_key(
                    model, self._target_
                )
            self.model_ = model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags


class _ImageClassifierMixin(ClassifierMixin):
    """scikit-learn's ClassifierMixin, saying the classifier is multi-label.

    (ClassifierMixin sets the classifier tags afresh, so the base class, after
    it in the method order, cannot.)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


# --------------------------------------------------------------------------
# Helpers of the fit.


@contextlib.contextmanager
def _all_or_nothing(estimator):
    """Undo every change to ``estimator``'s attributes if the block raises."""
    before = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(before)
        raise


def _schedule_callback(kind, base_rate, total_steps):
    """A callback setting the optimizer's rate at every step of a phase.

    The rate follows :func:`_schedules.make_schedule`'s ``kind`` from the
    phase's first step (counted by the callback, so warm starts and reused
    optimizers restart the schedule with the phase) to its last.
    """
    keras = _import_keras()
    schedule = make_schedule(kind, base_rate, total_steps)

    class _Schedule(keras.callbacks.Callback):
        step = 0

        def on_train_batch_begin(self, batch, logs=None):
            inner = _inner_optimizer(self.model.optimizer)
            inner.learning_rate = float(schedule(self.step))
            self.step += 1

    return _Schedule()


def _optimizer_key(optimizer):
    """What identifies ``optimizer``: its name, or its configuration.

    An instance's own name ("adam_3", numbered by Keras) is left out: equal
    optimizers made apart are interchangeable.
    """
    if isinstance(optimizer, str):
        return optimizer
    config = _import_keras().optimizers.serialize(optimizer)
    config["config"].pop("name", None)
    return repr(config)


def _check_output_shapes(model, image_shape, name):
    for layer in model.layers:
        shape = layer.output.shape
        if any(s is not None and s <= 0 for s in shape[1:]):
            raise ValueError(
                f"{name} cannot build its network for images of shape "
                f"{tuple(image_shape)}: the output of layer {layer.name!r} "
                f"would have shape {tuple(shape[1:])}. Use larger images, a "
                f"smaller kernel_size or pool_size, fewer convolutions, or "
                f'padding="same".'
            )
