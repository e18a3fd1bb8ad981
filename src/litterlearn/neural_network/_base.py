"""The face of the Keras image classifiers: what scikit-learn sees.

:class:`_BaseImageClassifier` holds the parameters and their constraints, the
``fit`` template, prediction, pickling and tags, in that order. A fit:

1. validates everything (``_fit_data.validate_fit``) before the estimator
   changes, into a frozen ``FitData`` and a ``TrainingPlan``;
2. gets a model (``_model.py``): the estimator's own when warm-starting, a
   built model of the same architecture from the pool, else a new one;
   either way (re)initialised from the seed;
3. trains it phase by phase (``_train.run_phases``);
4. only then stores the fitted attributes. A fit that raises, for any reason,
   leaves the estimator as it was.

The contract for subclasses ("Writing an estimator" in the developer guide)
is a few hooks, all about what the network is: :meth:`_build_model` (the
body, required), :meth:`_input_stage`, :meth:`_pretrained_layers`,
:meth:`_phases`, :meth:`_fit_resources` with :meth:`_extra_model_key`, and
:meth:`_custom_objects`. Keras (and TensorFlow) are imported the first time a
model is built, never when this module is imported or a fit's input is
rejected.
"""

from __future__ import annotations

import inspect
import math
import numbers
from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .._keras import OPTIMIZERS, PRECISIONS, import_keras
from .._keras.distribute import _is_strategy, resolve_strategy
from .._keras.pool import MODEL_POOL
from .._keras.predict import predict
from ..utils._atomic import restored_on_error
from ..utils._images import fitted_images
from ..utils._sklearn_compat import HasMethods, Interval, StrOptions, _fit_context
from ._fit_data import validate_fit
from ._knobs import SCHEDULE_CONSTRAINTS
from ._model import model_for_fit, pickled_model, pop_pickled_model, unpickled_model
from ._train import TrainingPhase, run_phases

# The training parameters every Keras classifier shares, with their defaults
# (the subclasses list them in their ``__init__``, in this order).
SHARED_DEFAULTS = {
    "alpha": 0.0,
    "batch_size": 32,
    "learning_rate_init": 0.001,
    "max_iter": 200,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "n_iter_no_change": 10,
    "tol": 1e-4,
    "optimizer": "adam",
    "class_weight": None,
    "image_shape": None,
    "augmentation": None,
    "callbacks": None,
    "precision": "float32",
    "distribute": None,
    "random_state": None,
    "verbose": 0,
    "warm_start": False,
    "threshold": 0.5,
    "learning_rate_schedule": "constant",
    "weight_decay": 0.0,
    "label_smoothing": 0.0,
    "mixup": 0.0,
    "cutmix": 0.0,
}


def parameters(values):
    """An ``__init__``'s ``locals()`` as its parameters (``**shared`` merged)."""
    values = {k: v for k, v in values.items() if k not in ("self", "__class__")}
    shared = values.pop("shared", {})
    return {**values, **shared}


def shared_parameters(**defaults):
    """Give a classifier's ``__init__`` the shared parameters, explicitly.

    The class writes ``def __init__(self, *, <its own parameters>,
    **shared)``; this decorator gives that ``__init__`` the signature
    scikit-learn reads (``get_params``, ``clone``, ``help``): the class's own
    parameters, then every shared one (``SHARED_DEFAULTS``, or ``defaults``
    where the class has its own), keyword-only, and no ``**shared``. So a
    new shared parameter is written once, here, not in every estimator.
    """

    def decorate(cls):
        own = inspect.signature(cls.__init__).parameters.values()
        shared = {**SHARED_DEFAULTS, **defaults}
        signature = inspect.Signature(
            [p for p in own if p.kind is not p.VAR_KEYWORD]
            + [
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value)
                for name, value in shared.items()
            ]
        )
        cls.__init__.__signature__ = signature
        cls._shared_defaults = shared
        return cls

    return decorate


class _BaseImageClassifier(BaseEstimator, metaclass=ABCMeta):
    """Base class of the Keras image classifiers; not for direct use.

    Subclasses implement :meth:`_build_model` and list their parameters in
    their ``__init__`` (keyword-only), passing them to this ``__init__``,
    which stores each under its own name. The shared parameters are either
    listed too, or come from :func:`shared_parameters`; the base's defaults
    (``SHARED_DEFAULTS``) stand for those a subclass does not offer.
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

    # Parameters outside the model's key: estimators that differ only in
    # these build interchangeable models (see ``_model.model_key``).
    # Subclasses may extend it ("distribute" enters the key as its devices).
    _training_params = frozenset(SHARED_DEFAULTS) - {"alpha", "optimizer", "precision"}

    _shared_defaults = SHARED_DEFAULTS

    def __init__(self, **params):
        # Stores the parameters, as scikit-learn's __init__ do; the shared
        # parameters a subclass does not list keep their defaults.
        unknown = set(params) - set(SHARED_DEFAULTS) - set(self._get_param_names())
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected keyword "
                f"arguments {sorted(unknown)}."
            )
        for name, value in {**self._shared_defaults, **params}.items():
            setattr(self, name, value)

    # ----------------------------------------------------------------- hooks

    @abstractmethod
    def _build_model(self, input_shape):
        """Return the network body, between the input stage and the output.

        The base adds the output: a ``Dense`` layer of one unit per class
        (or label) named "output", then the target's activation named
        "output_activation", computing in float32. Keyword arguments, if
        any, are the estimator's :meth:`_fit_resources`.

        Returns
        -------
        layers : list of keras.layers.Layer, or callable
            A list of new layers (a ``keras.Sequential``; the base sets the
            ``precision`` policy on them), or a callable such as a
            ``keras.Model`` applied to the input stage's output (a functional
            model). Either way the body's output must be flat.
        """

    def _input_stage(self, input_shape, input_dtype):
        """Layers that prepare raw images inside the model.

        Here ``Rescaling(1/255)`` for uint8 images, nothing for floats.
        """
        if np.dtype(input_dtype) == np.uint8:
            return [import_keras().layers.Rescaling(1.0 / 255, name="rescale_uint8")]
        return []

    def _pretrained_layers(self, model):
        """Names of the layers of ``model`` whose weights are pretrained.

        Seeded initialisation leaves them alone; a reused model gets their
        values as built back. None here.
        """
        return set()

    def _phases(self):
        """The phases of training (a list of :class:`TrainingPhase`).

        Here one phase, "train": ``max_iter`` epochs at the estimator's own
        learning rate, everything trainable.
        """
        return [TrainingPhase("train", self.max_iter, None)]

    def _fit_resources(self):
        """What a fit resolves once and passes to :meth:`_build_model`.

        A dict of keyword arguments (a weights file, say); ``{}`` here.
        """
        return {}

    def _extra_model_key(self, resources):
        """What the model depends on besides the parameters (a tuple)."""
        return ()

    def _custom_objects(self):
        """Custom Keras classes (by name) to find when a pickled model loads.

        None here; registered serializables are found without this.
        """
        return {}

    def _regularizer(self):
        """The kernel regularizer for ``alpha`` (None when ``alpha == 0``)."""
        if not self.alpha:
            return None
        return import_keras().regularizers.L2(float(self.alpha))

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
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_labels)
            Class labels (any type; at least two classes), or a 0/1
            indicator (dense or sparse) of labels per image (multi-label).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-image weights in the loss (multiplied by ``class_weight``).
        X_val : array-like, default=None
            Validation images (same shape as ``X``): the validation loss and
            accuracy are recorded every epoch, and used for early stopping
            instead of holding out part of ``X``.
        y_val : array-like of shape (n_val,) or (n_val, n_labels), default=None
            Labels of ``X_val``, of the kind of ``y``.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        return self._train(X, y, sample_weight, X_val, y_val)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train one more epoch on images ``X``, continuing the current model.

        As ``MLPClassifier.partial_fit``: the first call builds the model;
        each trains one epoch over ``X`` from the current weights and
        optimizer state (``n_iter_`` counts epochs; ``warm_start`` and
        ``early_stopping`` play no part): the epoch, batch order and rate a
        ``fit`` of the same phases would train next (a transfer classifier's
        frozen-backbone head phase for ``max_iter`` epochs, fine-tuning, then
        more of the last phase). So with an integer ``random_state``, ``k``
        calls train as a ``fit`` of ``k`` epochs. All or nothing, as ``fit``.

        Parameters
        ----------
        X, y, sample_weight
            As for :meth:`fit`; ``y`` may hold only some of the classes.
        classes : array-like of shape (n_classes,), default=None
            Every class any call's ``y`` may hold (``np.unique(y_all)``):
            required on the first call, unless ``y`` is a multi-label
            indicator (its labels are its columns); later calls may omit it.

        Returns
        -------
        self : object
            The classifier, one epoch further.
        """
        return self._train(X, y, sample_weight, partial=True, classes=classes)

    def _train(self, X, y, sample_weight, X_val=None, y_val=None, **part):
        """The fit template, all or nothing (``part``: a partial fit's)."""
        with restored_on_error(self):
            data, plan = validate_fit(self, X, y, sample_weight, X_val, y_val, **part)
            model, entry, undo = model_for_fit(self, data)
            try:
                result = run_phases(model, plan, data)
                self._commit(data, model, result)
            except BaseException:
                undo()
                raise
            if entry is not None:
                MODEL_POOL.release(entry)
        return self

    def _commit(self, data, model, result):
        """The fitted attributes, all at once, after training succeeded."""
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
        begun = self.phase_starts_ if data.partial and data.warm else {}
        self.phase_starts_ = begun | {
            name: previous + start
            for name, start in result.starts.items()
            if name not in begun  # a partial fit's phase may go on
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

    def predict_proba(self, X):
        """Class probabilities of images ``X``.

        Parameters
        ----------
        X : array-like
            Images as rows ``(n_samples, H*W*C)`` or arrays ``(n, H, W)``,
            ``(n, H, W, C)``, of the image shape the classifier was fitted on.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float64
            Columns in the order of ``classes_``: rows sum to 1 for one label
            per image; for a multi-label fit, each label's own probability.
        """
        images = fitted_images(self, X)
        strategy = resolve_strategy(self.distribute)
        outputs = predict(
            self.model_, images, self.batch_size, distributed=strategy is not None
        )
        return self._target_.proba(outputs)

    def predict(self, X):
        """Predicted class labels of images ``X`` (as :meth:`predict_proba`'s).

        Parameters
        ----------
        X : array-like
            Images, as for :meth:`predict_proba`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_``; for a multi-label fit a 0/1 indicator,
            1 where the label's probability is at least ``threshold``.
        """
        proba = self.predict_proba(X)
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
            state.update(pickled_model(model, self._custom_objects()))
        return state

    def __setstate__(self, state):
        pickled = pop_pickled_model(state)
        super().__setstate__(state)
        if pickled is not None:
            self.model_ = unpickled_model(pickled, self._custom_objects())


class _ImageClassifierMixin(ClassifierMixin):
    """scikit-learn's ClassifierMixin, saying the classifier is multi-label.

    (ClassifierMixin sets the classifier tags afresh, so the base class, after
    it in the method order, cannot.)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
