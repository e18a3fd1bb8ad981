"""The shared Keras machinery of the image classifiers (DESIGN.md section 3.1).

Everything Keras-related lives here, once: parameter validation, the image
contract, label encoding, the seeded internal validation split, class and
sample weights, turning training data into a Keras input, the single call to
``keras.Model.fit``, early stopping, fitted attributes, prediction, pickling
in Keras' own format, and the reuse of already built models across fits.

Subclasses only say which layers they want (:meth:`_build_model`). The hooks
meant for subclasses (``VGGTransferClassifier``, scale-out) are, in the order
a fit meets them:

- :meth:`_input_stage`: the layers that prepare raw images inside the model
  (here a ``Rescaling(1/255)`` for uint8 input);
- :meth:`_build_model`: the layers after the input stage (abstract);
- :meth:`_initialize_weights`: (re)initialise the weights of a new or reused
  model from a seed;
- :meth:`_training_input`: the single place where training data becomes a
  Keras input (a seeded ``tf.data`` pipeline, or a ``keras.utils.PyDataset``
  that calls ``augmentation.augment_batch`` per batch and epoch);
- :meth:`_train`: the training schedule (one phase here), which calls
- :meth:`_fit_keras`: the single call site of ``keras.Model.fit``.

Keras (and TensorFlow) are imported the first time a model is built, never
when this module is imported.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import numbers
import os
import pathlib
import tempfile
import threading
import weakref
from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from ..utils._images import rows_to_images, to_unit_float, validate_images
from ..utils._tensorflow import _configure_tensorflow_once
from ._distribute import _is_strategy, resolve_strategy, strategy_key

# Keras 3 picks its backend when first imported; litterlearn needs TensorFlow
# unless the user chose otherwise before importing us.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

OPTIMIZERS = frozenset(
    {"adam", "adamw", "adamax", "nadam", "sgd", "rmsprop", "adagrad", "adadelta"}
)
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")

# --------------------------------------------------------------------------
# Lazy Keras import and one-time TensorFlow configuration.


def _import_keras():
    """Import and return ``keras``, configuring TensorFlow once per process.

    Before TensorFlow initialises (on its first operation, not on import),
    :func:`litterlearn.utils.configure_tensorflow` sets its CPU threads (a
    Dask worker's own thread count, or joblib's ``OMP_NUM_THREADS`` in its
    workers) and GPU memory growth, so that several processes
    (``GridSearchCV(n_jobs=...)`` or Dask workers) can share the cores and a
    GPU instead of the first one grabbing all its memory. Harmless on CPU.
    """
    _configure_tensorflow_once()
    import keras

    return keras


# --------------------------------------------------------------------------
# Reuse of built models.
#
# Every newly built Keras model costs memory that Keras never gives back
# (about 7 MB measured, not recovered by ``clear_session``), and a new model
# must trace its training function again (about 1 s). Refitting a model that
# is already built costs neither. So fits of the same architecture reuse a
# built model that no live estimator holds any more, re-initialising its
# weights, seed generators and optimizer state exactly as a new build would.
# Ownership is tracked with weak references: a model is free when its owner
# is garbage or no longer holds it as ``model_``. Two live fitted estimators
# never share a model.


class _PoolEntry:
    __slots__ = ("key", "model", "owner", "optimizer_fill", "last_used", "nbytes")

    def __init__(self, key, model, owner, optimizer_fill, nbytes):
        self.key = key
        self.model = model
        self.owner = weakref.ref(owner)
        self.optimizer_fill = optimizer_fill
        self.nbytes = nbytes
        self.last_used = 0

    def is_free_for(self, owner):
        current = self.owner()
        if current is None or current is owner:
            return True
        return current.__dict__.get("model_") is not self.model


class _ModelPool:
    """Built models by architecture key, each with a weak reference to its owner.

    At most ``max_free`` free models (and ``max_free_bytes`` of their weights
    and optimizer state) are kept for reuse; the least recently used beyond
    that are dropped, so changing architectures do not pile up models.
    """

    def __init__(self, max_free=8, max_free_bytes=512 * 2**20):
        self.max_free = max_free
        self.max_free_bytes = max_free_bytes
        self._entries = []
        self._lock = threading.Lock()
        self._clock = itertools.count(1)

    def acquire(self, key, owner):
        """Take a free model of architecture ``key`` for ``owner``, or None."""
        with self._lock:
            for entry in self._entries:
                if entry.key == key and entry.is_free_for(owner):
                    entry.owner = weakref.ref(owner)
                    entry.last_used = next(self._clock)
                    return entry
        return None

    def register(self, key, model, owner, optimizer_fill):
        nbytes = 12 * sum(math.prod(v.shape) for v in model.weights)
        entry = _PoolEntry(key, model, owner, optimizer_fill, nbytes)
        with self._lock:
            entry.last_used = next(self._clock)
            self._entries.append(entry)
            self._prune()
        return entry

    def discard(self, entry):
        with self._lock:
            if entry in self._entries:
                self._entries.remove(entry)

    def _prune(self):
        free = [e for e in self._entries if e.is_free_for(None)]
        free.sort(key=lambda e: e.last_used, reverse=True)
        kept, kept_bytes = 0, 0
        for entry in free:
            if (
                kept < self.max_free
                and kept_bytes + entry.nbytes <= self.max_free_bytes
            ):
                kept += 1
                kept_bytes += entry.nbytes
            else:
                self._entries.remove(entry)

    def clear(self):
        """Forget every model (they are freed once no estimator holds them)."""
        with self._lock:
            self._entries.clear()

    def __len__(self):
        return len(self._entries)


_MODEL_POOL = _ModelPool()


# --------------------------------------------------------------------------
# Docstrings: parameter and attribute text shared by every classifier,
# written once and substituted into each class docstring (``%(name)s``).

_DOCS = {
    "training_parameters": """\
    alpha : float, default=0.0
        L2 penalty on the kernels of the dense and convolution layers (Keras'
        ``L2`` regularizer): ``alpha * sum(kernel ** 2)`` is added to the loss.
    batch_size : int, default=32
        Number of images per gradient step and per prediction batch.
    learning_rate_init : float, default=0.001
        Learning rate of the optimizer when ``optimizer`` is a name.
    max_iter : int, default=200
        Maximum number of epochs (passes over the training data).
    early_stopping : bool, default=False
        Whether to stop training when the validation loss stops improving.
        The validation data are ``X_val, y_val`` passed to :meth:`fit` or,
        without them, a stratified, seeded ``validation_fraction`` of the
        training data, held out before Keras sees it. Training stops when the
        validation loss has not improved by at least ``tol`` for
        ``n_iter_no_change`` epochs, and the weights of the best epoch are
        restored.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping (when no
        ``X_val`` is given). Must be in (0, 1).
    n_iter_no_change : int, default=10
        Number of epochs without improvement before early stopping.
    tol : float, default=1e-4
        Minimum decrease of the validation loss that counts as improvement.
    optimizer : str or keras.optimizers.Optimizer, default="adam"
        Name of a Keras optimizer ("adam", "adamw", "adamax", "nadam", "sgd",
        "rmsprop", "adagrad", "adadelta"), created with learning rate
        ``learning_rate_init``; or an optimizer instance, whose configuration
        (learning rate included) is copied for every fit.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, ``{label: weight}`` (labels not
        listed weigh 1); "balanced" weighs each class inversely to its
        frequency in the training data, as in scikit-learn. Multiplies
        ``sample_weight``.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of the input rows; one entry may be -1.
        None infers a square gray or RGB image from the number of features
        (see the image contract); 3D and 4D input carries its shape.
    augmentation : object with an ``augment_batch`` method, default=None
        On-the-fly augmentation of the training images, e.g. a
        ``litterlearn.preprocessing.Augmenter``. In every epoch each training
        batch of images ``(batch, H, W, C)``, in the training dtype (uint8
        0..255 or float32), is replaced by ``augmentation.augment_batch(images,
        labels, rng)``, which must return an array of the same shape and
        dtype. ``labels`` are the batch's labels (as in ``y``) and ``rng`` a
        :class:`numpy.random.Generator` seeded from ``random_state``, the epoch
        and the batch: every epoch sees fresh augmentations and a seeded fit
        is reproducible. Validation images and predictions are never
        augmented.
    callbacks : list of keras.callbacks.Callback, default=None
        Extra Keras callbacks. Every fit uses fresh copies; the objects
        passed are never attached to a model.
    precision : {"float32", "mixed_float16", "mixed_bfloat16"}, \
default="float32"
        Keras dtype policy of the model's layers: "mixed_float16" (NVIDIA
        GPUs, with loss scaling) and "mixed_bfloat16" (recent GPUs, TPUs and
        CPUs) compute in 16 bits with float32 weights. The output layer
        always computes in float32. The policy is set on this model's layers
        only, never globally.
    distribute : None, "auto", list of str or tf.distribute.Strategy, \
default=None
        Devices to train on. None: TensorFlow's default, one device (the
        first GPU, else the CPU). "auto": all GPUs, with a
        ``tf.distribute.MirroredStrategy``, when there are several, else the
        default. A list of device names (e.g. ``["/gpu:0", "/gpu:1"]``): a
        ``MirroredStrategy`` over them. A ``tf.distribute.Strategy``: that
        strategy (an estimator holding one cannot be pickled or sent to other
        processes; use "auto" or device names there). The model is built
        under the strategy and Keras trains and predicts with it; each
        ``batch_size`` batch is split among the devices (scale it, and
        perhaps ``learning_rate_init``, with their number).
    random_state : int, RandomState instance or None, default=None
        Seeds everything random in a fit: the weights, dropout, the shuffling
        of batches, the validation split and the augmentation. With an int,
        two fits on the CPU give identical models (GPU kernels may not be
        deterministic).
    verbose : int, default=0
        0: silent; 1: Keras' progress bar; 2: one line per epoch.
    warm_start : bool, default=False
        When True and already fitted, :meth:`fit` continues training the
        current model (weights and optimizer state) for ``max_iter`` more
        epochs, on data with the same image shape and classes.""",
    "fitted_attributes": """\
    model_ : keras.Model
        The trained Keras model; it maps images ``(n, H, W, C)`` of dtype
        ``input_dtype_`` to class probabilities.
    classes_ : ndarray of shape (n_classes,)
        The class labels, in the order of the columns of ``predict_proba``.
    n_features_in_ : int
        Number of features of the input rows (``H*W*C``).
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in :meth:`fit`.
    input_dtype_ : numpy.dtype
        dtype the model was trained on: uint8 (0..255, rescaled by 1/255 in
        the model's input stage) or float32 (used as is). Images of the other
        dtype are converted at prediction (uint8 / 255, or float * 255
        rounded to uint8).
    history_ : dict of str to list of float
        Keras' per-epoch history: "loss", "accuracy" and, with validation
        data, "val_loss", "val_accuracy". Extended by warm-started fits.
    loss_curve_ : list of float
        Training loss per epoch (``history_["loss"]``).
    validation_scores_ : list of float or None
        Validation accuracy per epoch, or None without validation data.
    best_validation_score_ : float or None
        Validation accuracy of the best epoch: the one whose weights early
        stopping restored, else the one with the lowest validation loss.
        None without validation data.
    n_iter_ : int
        Number of epochs run (in total, over warm-started fits).""",
    "notes": """\
    The model is built the first time it is needed, so importing
    ``litterlearn`` never imports TensorFlow. Every :meth:`fit` starts from
    freshly initialised weights and optimizer state (unless ``warm_start``).
    To save memory and time, a fit reuses an already built model of the same
    architecture that no live estimator holds any more (Keras never returns
    the memory of a built model), re-initialised exactly as a new one.

    Pickling (and ``joblib``, ``copy.deepcopy``) stores the Keras model in
    Keras' own ``.keras`` format, never as pickled code.""",
}


def _fill_doc(cls):
    """Substitute the shared ``%(name)s`` blocks into a class docstring."""
    # Placeholders sit at the docstring's indentation (so formatters leave the
    # docstring alone); the blocks carry that indentation on every line.
    blocks = {
        name: text[4:] if text.startswith("    ") else text
        for name, text in _DOCS.items()
    }
    cls.__doc__ = cls.__doc__ % blocks
    return cls


# --------------------------------------------------------------------------
# The base estimator.


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
        distribute=None,  # a default, so subclasses may not offer it yet
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

    # ----------------------------------------------------------------- hooks

    @abstractmethod
    def _build_model(self, input_shape, n_outputs):
        """Return the layers of the network, after the input stage.

        Parameters
        ----------
        input_shape : tuple of int
            ``(H, W, C)`` of the images leaving the input stage.
        n_outputs : int
            Number of classes; the last layer must output that many
            probabilities (softmax).

        Returns
        -------
        layers : list of keras.layers.Layer
            New, unbuilt layers, applied in order. The base sets the dtype
            policy (``precision``) on them; the last one computes in float32.
        """

    def _input_stage(self, input_shape, input_dtype):
        """Return the layers that prepare raw images inside the model.

        Here: ``Rescaling(1/255)`` when the model is trained on uint8 images,
        nothing for floats (taken as already scaled). Subclasses may add
        layers (e.g. gray to RGB and a pretrained network's preprocessing);
        custom layers must be registered Keras serializables, so the model
        pickles in Keras' format without code.
        """
        keras = _import_keras()
        if np.dtype(input_dtype) == np.uint8:
            return [keras.layers.Rescaling(1.0 / 255, name="rescale_uint8")]
        return []

    def _regularizer(self):
        """The kernel regularizer for ``alpha`` (None when ``alpha == 0``)."""
        if not self.alpha:
            return None
        return _import_keras().regularizers.L2(float(self.alpha))

    # ------------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        """Train the network on images ``X`` with labels ``y``.

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
        warm = self.warm_start and hasattr(self, "model_")
        rows, shape = validate_images(
            self,
            X,
            reset=not warm,
            image_shape=self.image_shape,
            fitted_image_shape=self.image_shape_ if warm else None,
        )
        y = self._validate_y(y, rows)
        sample_weight = self._validate_sample_weight(sample_weight, rows)
        classes, y_enc = np.unique(y, return_inverse=True)
        self._check_classes(classes, y_enc, sample_weight)
        if warm:
            self._check_warm_start(classes)
            rows = self._as_input_dtype(rows)
        self.classes_ = classes
        self.image_shape_ = shape
        self.input_dtype_ = rows.dtype
        y_enc = y_enc.astype(np.int32)

        seeds = _Seeds(self.random_state)
        validation = None
        if X_val is not None or y_val is not None:
            validation = self._validation_data(X_val, y_val)
        elif self.early_stopping:
            rows, y_enc, sample_weight, validation = self._split_validation(
                rows, y_enc, sample_weight, seeds.split
            )
        sample_weight = self._combine_class_weight(y_enc, sample_weight)

        key = self._model_key(shape, rows.dtype, len(classes))
        if warm:
            model = self.model_
            self._set_learning_rate(model)
        else:
            model = self._acquire_model(key, shape, rows.dtype, len(classes), seeds)
        self.model_ = model
        self._model_key_ = key

        images = rows_to_images(rows, shape)
        history = self._train(model, images, y_enc, sample_weight, validation, seeds)
        self._record_history(history, warm)
        return self

    def _validate_y(self, y, rows):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target "
                f"y is None."
            )
        y = column_or_1d(y, warn=True)
        check_consistent_length(rows, y)
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        check_classification_targets(y)
        return y

    def _validate_sample_weight(self, sample_weight, rows):
        if sample_weight is None:
            return None
        return _check_sample_weight(
            sample_weight, rows, dtype=np.float32, ensure_non_negative=True
        )

    def _check_classes(self, classes, y_enc, sample_weight):
        name = type(self).__name__
        if len(classes) < 2:
            raise ValueError(
                f"{name} needs samples of at least 2 classes in y; got only one "
                f"class: {classes[0]!r}."
            )
        if sample_weight is not None:
            weighted = np.bincount(y_enc, weights=sample_weight, minlength=len(classes))
            if np.count_nonzero(weighted > 0) < 2:
                raise ValueError(
                    f"{name} needs at least 2 classes with a positive total "
                    f"sample_weight; got {dict(zip(classes.tolist(), weighted.tolist(), strict=True))}."
                )

    def _check_warm_start(self, classes):
        if not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start can only continue training on the same classes as "
                f"the previous fit, {self.classes_.tolist()}; got {classes.tolist()}."
            )
        key = self._model_key(self.image_shape_, self.input_dtype_, len(classes))
        if key != getattr(self, "_model_key_", key):
            raise ValueError(
                "warm_start=True, but parameters that define the network changed "
                "since the previous fit; set warm_start=False to build a new model."
            )

    def _validation_data(self, X_val, y_val):
        if X_val is None or y_val is None:
            raise ValueError("Pass both X_val and y_val, or neither.")
        rows, _ = validate_images(
            self,
            X_val,
            reset=False,
            image_shape=self.image_shape,
            fitted_image_shape=self.image_shape_,
        )
        y_val = column_or_1d(y_val, warn=True)
        check_consistent_length(rows, y_val)
        unknown = np.setdiff1d(np.unique(y_val), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y_val has labels not in y: {unknown.tolist()}; the classes are "
                f"{self.classes_.tolist()}."
            )
        y_enc = np.searchsorted(self.classes_, y_val).astype(np.int32)
        return self._to_model_input(rows), y_enc

    def _split_validation(self, rows, y_enc, sample_weight, seed):
        counts = np.bincount(y_enc)
        n_val = math.ceil(self.validation_fraction * len(y_enc))
        if counts.min() < 2 or n_val < len(counts) or len(y_enc) - n_val < len(counts):
            raise ValueError(
                f"early_stopping holds out a stratified validation_fraction="
                f"{self.validation_fraction} of the training data, which needs at "
                f"least 2 samples of each class and a validation set with room for "
                f"every class; got class counts {counts.tolist()} in "
                f"{len(y_enc)} samples. Pass X_val and y_val, raise "
                f"validation_fraction, or set early_stopping=False."
            )
        idx_train, idx_val = train_test_split(
            np.arange(len(y_enc)),
            test_size=self.validation_fraction,
            stratify=y_enc,
            random_state=seed,
        )
        idx_train.sort()
        idx_val.sort()
        validation = (
            rows_to_images(rows[idx_val], self.image_shape_),
            y_enc[idx_val],
        )
        if sample_weight is not None:
            validation = (*validation, sample_weight[idx_val])
            sample_weight = sample_weight[idx_train]
        return rows[idx_train], y_enc[idx_train], sample_weight, validation

    def _combine_class_weight(self, y_enc, sample_weight):
        if self.class_weight is None:
            return sample_weight
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight has labels that are not classes of y: "
                    f"{sorted(unknown, key=str)}; the classes are "
                    f"{self.classes_.tolist()}."
                )
        if isinstance(self.class_weight, str):  # "balanced"
            per_class = compute_class_weight(
                "balanced", classes=np.arange(len(self.classes_)), y=y_enc
            )
        else:
            per_class = np.array(
                [self.class_weight.get(c, 1.0) for c in self.classes_.tolist()],
                dtype=np.float64,
            )
        weights = per_class.astype(np.float32)[y_enc]
        return weights if sample_weight is None else weights * sample_weight

    # ---------------------------------------------------------------- models

    def _model_key(self, image_shape, input_dtype, n_outputs):
        """What identifies the architecture and optimizer of the model."""
        params = self.get_params(deep=False)
        arch = {k: v for k, v in params.items() if k not in self._training_params}
        if not isinstance(arch.get("optimizer"), str):
            keras = _import_keras()
            arch["optimizer"] = repr(keras.optimizers.serialize(arch["optimizer"]))
        return (
            type(self).__module__,
            type(self).__qualname__,
            tuple(int(s) for s in image_shape),
            np.dtype(input_dtype).str,
            int(n_outputs),
            repr(sorted(arch.items())),
            strategy_key(self._strategy()),
        )

    def _strategy(self):
        """The tf.distribute.Strategy of ``distribute``, or None (default)."""
        return resolve_strategy(getattr(self, "distribute", None))

    def _acquire_model(self, key, image_shape, input_dtype, n_outputs, seeds):
        """A freshly initialised, compiled model: reused if possible, else new."""
        entry = _MODEL_POOL.acquire(key, self)
        if entry is not None:
            if self._reset_model(entry.model, entry.optimizer_fill, seeds):
                return entry.model
            _MODEL_POOL.discard(entry)
        # The one place a model is made: under the ``distribute`` strategy's
        # scope, so its weights and optimizer state live on the strategy's
        # devices; Keras then trains and predicts with the strategy the model
        # was built under (``model.distribute_strategy``).
        strategy = self._strategy()
        with contextlib.nullcontext() if strategy is None else strategy.scope():
            model = self._make_model(image_shape, input_dtype, n_outputs)
        fill = _optimizer_fill(model.optimizer)
        initialized = self._initialize_weights(model, seeds.weights)
        _reseed_generators(model, seeds.layers)
        if initialized and fill is not None:
            _MODEL_POOL.register(key, model, self, fill)
        return model

    def _make_model(self, image_shape, input_dtype, n_outputs):
        """Build and compile a new model (its optimizer built too)."""
        keras = _import_keras()
        input_stage = self._input_stage(tuple(image_shape), input_dtype)
        shape = (None, *image_shape)
        for layer in input_stage:
            shape = tuple(layer.compute_output_shape(shape))
        body = self._build_model(tuple(shape[1:]), n_outputs)
        layers = [*input_stage, *body]
        if self.precision != "float32":
            policy = keras.DTypePolicy(self.precision)
            for layer in layers[:-1]:
                layer.dtype_policy = policy
            layers[-1].dtype_policy = keras.DTypePolicy("float32")
        model = keras.Sequential(name=type(self).__name__)
        model.add(
            keras.Input(shape=tuple(image_shape), dtype=np.dtype(input_dtype).name)
        )
        try:
            for layer in layers:
                model.add(layer)
        except ValueError as exc:
            raise ValueError(
                f"{type(self).__name__} cannot build its network for images of "
                f"shape {tuple(image_shape)}: {exc}"
            ) from exc
        _check_output_shapes(model, image_shape, type(self).__name__)
        model.compile(
            optimizer=self._make_optimizer(),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        model.optimizer.build(model.trainable_variables)
        return model

    def _make_optimizer(self):
        keras = _import_keras()
        if isinstance(self.optimizer, str):
            optimizer = keras.optimizers.get(
                {
                    "class_name": self.optimizer,
                    "config": {"learning_rate": float(self.learning_rate_init)},
                }
            )
        else:  # a copy, so the user's instance never holds our variables
            optimizer = keras.optimizers.deserialize(
                keras.optimizers.serialize(self.optimizer)
            )
        if self.precision == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    def _set_learning_rate(self, model):
        if isinstance(self.optimizer, str):
            optimizer = model.optimizer
            inner = getattr(optimizer, "inner_optimizer", optimizer)
            inner.learning_rate = float(self.learning_rate_init)

    def _reset_model(self, model, optimizer_fill, seeds):
        """Re-initialise weights, seeds and optimizer as a new build would.

        Returns False when the model cannot be reset exactly (then it is not
        reused).
        """
        if optimizer_fill is None or not self._initialize_weights(model, seeds.weights):
            return False
        _reseed_generators(model, seeds.layers)
        variables = model.optimizer.variables
        if len(variables) != len(optimizer_fill):
            return False
        for variable, fill in zip(variables, optimizer_fill, strict=True):
            variable.assign(np.full(variable.shape, fill, dtype=variable.dtype))
        self._set_learning_rate(model)
        return True

    def _initialize_weights(self, model, seed):
        """Initialise every weight of ``model`` from its layer's initializer.

        Each random initializer is re-seeded from ``seed``, so a new model and
        a reused one get identical weights. Returns False when a weight has
        no known initializer (the model is then not reused). Subclasses with
        pretrained weights override this (e.g. to reload them).
        """
        keras = _import_keras()
        seed_seq = np.random.SeedSequence(seed)
        plan = []
        for layer in _leaf_layers(model):
            for weight in layer.weights:
                initializer = getattr(layer, f"{weight.name}_initializer", None)
                if initializer is None:
                    return False
                plan.append((weight, initializer))
        for (weight, initializer), child in zip(
            plan, seed_seq.spawn(len(plan)), strict=True
        ):
            config = keras.initializers.serialize(initializer)
            if "seed" in config.get("config", {}):
                config["config"]["seed"] = int(child.generate_state(1)[0] >> 1)
            value = keras.initializers.deserialize(config)(
                weight.shape, dtype=weight.dtype
            )
            weight.assign(value)
        return True

    # -------------------------------------------------------------- training

    def _train(self, model, images, y, sample_weight, validation, seeds):
        """Train ``model``: one phase of ``max_iter`` epochs here.

        Subclasses with several phases (e.g. transfer learning) call
        :meth:`_fit_keras` once per phase. Returns Keras' ``History``.
        """
        callbacks = self._make_callbacks(validation is not None)
        history = self._fit_keras(
            model,
            self._training_input(images, y, sample_weight, seeds.shuffle),
            epochs=self.max_iter,
            validation_data=validation,
            callbacks=callbacks,
        )
        _note_best_epoch(history, callbacks)
        return history

    def _fit_keras(self, model, training_input, *, epochs, validation_data, callbacks):
        """The single call of ``keras.Model.fit``."""
        return model.fit(
            **training_input,
            epochs=epochs,
            validation_data=validation_data,
            callbacks=callbacks,
            verbose=min(int(self.verbose), 2),
        )

    def _training_input(self, images, y, sample_weight, seed):
        """Turn the training data into the Keras input of ``model.fit``.

        The single place where this happens. Returns keyword arguments of
        ``model.fit``: ``{"x": dataset}``, where the dataset yields shuffled
        batches ``(images, y[, sample_weight])`` in a new order every epoch,
        seeded by ``seed``. Without augmentation it is a ``tf.data`` pipeline
        gathering batches from the arrays (as Keras does for arrays, but with
        its own seed instead of TensorFlow's global one); with augmentation a
        ``keras.utils.PyDataset`` that augments each batch in every epoch.
        """
        if self.augmentation is not None:
            dataset_cls = _augmented_batches_class()
            labels = self.classes_[y]
            return {
                "shuffle": False,
                "x": dataset_cls(
                    images,
                    y,
                    sample_weight,
                    labels=labels,
                    batch_size=self.batch_size,
                    augmentation=self.augmentation,
                    seed=seed,
                ),
            }
        arrays = (images, y) if sample_weight is None else (images, y, sample_weight)
        return {
            "x": _shuffled_batches(arrays, self.batch_size, seed),
            "steps_per_epoch": math.ceil(len(images) / self.batch_size),
            "shuffle": False,
        }

    def _make_callbacks(self, has_validation):
        keras = _import_keras()
        callbacks = []
        for callback in self.callbacks or []:
            if not isinstance(callback, keras.callbacks.Callback):
                raise TypeError(
                    f"callbacks must be a list of keras.callbacks.Callback; got "
                    f"{callback!r}."
                )
            callbacks.append(copy.deepcopy(callback))
        if self.early_stopping and has_validation:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    min_delta=self.tol,
                    patience=self.n_iter_no_change,
                    restore_best_weights=True,
                )
            )
        return callbacks

    def _record_history(self, history, warm):
        new = {k: [float(v) for v in values] for k, values in history.history.items()}
        n_epochs = len(new.get("loss", []))
        previous = self.n_iter_ if warm and getattr(self, "history_", None) else 0
        if warm and getattr(self, "history_", None):
            merged = {k: list(v) for k, v in self.history_.items()}
            for k, values in new.items():
                merged.setdefault(k, []).extend(values)
            self.history_ = merged
            self.n_iter_ = self.n_iter_ + n_epochs
        else:
            self.history_ = new
            self.n_iter_ = n_epochs
        self.loss_curve_ = self.history_["loss"]
        if "val_accuracy" in self.history_:
            self.validation_scores_ = self.history_["val_accuracy"]
            best = getattr(history, "best_epoch", None)
            if best is not None:  # the epoch early stopping restored
                best += previous
            else:
                val_loss = np.asarray(self.history_["val_loss"])
                best = (
                    int(np.nanargmin(val_loss)) if np.isfinite(val_loss).any() else -1
                )
            self.best_validation_score_ = self.validation_scores_[best]
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None

    # ------------------------------------------------------------ prediction

    def _as_input_dtype(self, rows):
        """Rows in the model's input dtype (see ``input_dtype_``)."""
        if rows.dtype == self.input_dtype_:
            return rows
        if self.input_dtype_ == np.uint8:
            return np.clip(np.rint(rows * np.float32(255)), 0, 255).astype(np.uint8)
        return to_unit_float(rows)

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
            Columns in the order of ``classes_``.
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
        proba = np.asarray(
            self.model_.predict(images, batch_size=self.batch_size, verbose=0),
            dtype=np.float64,
        )
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predicted class labels of images ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Images of the shape seen in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

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
        if data is not None:
            state["model_"] = _load_model_bytes(data)
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags


# --------------------------------------------------------------------------
# Helpers.


class _Seeds:
    """Independent seeds for one fit, all drawn from ``random_state``."""

    def __init__(self, random_state):
        root = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        (self.weights, self.layers, self.shuffle, self.split) = (
            int(s >> 1) for s in np.random.SeedSequence(root).generate_state(4)
        )


def _note_best_epoch(history, callbacks):
    """Record on ``history`` the epoch whose weights early stopping restored."""
    for callback in callbacks:
        if (
            type(callback).__name__ == "EarlyStopping"
            and callback.restore_best_weights
            and callback.best_weights is not None
        ):
            history.best_epoch = int(callback.best_epoch)


def _leaf_layers(layer):
    sublayers = getattr(layer, "layers", None)
    if not sublayers:
        yield layer
        return
    for sub in sublayers:
        yield from _leaf_layers(sub)


def _reseed_generators(model, seed):
    """Reset the state of every seed generator (dropout...) from ``seed``."""
    seeds = np.random.SeedSequence(seed)
    for layer in _leaf_layers(model):
        weight_ids = {id(w) for w in layer.weights}
        for variable in layer.variables:
            if id(variable) in weight_ids:
                continue
            child = int(seeds.spawn(1)[0].generate_state(1)[0] >> 1)
            variable.assign(np.array([child, 0], dtype=variable.dtype))


def _optimizer_fill(optimizer):
    """The constant initial value of each optimizer variable, or None.

    A freshly built optimizer's variables (iterations, learning rate,
    moments, loss scale...) are each filled with one value; recording those
    lets a reused model's optimizer be reset exactly.
    """
    fill = []
    for variable in optimizer.variables:
        value = np.asarray(variable)
        if value.size == 0:
            fill.append(0)
            continue
        first = value.flat[0]
        if not np.all(value == first):
            return None
        fill.append(first.item())
    return fill


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


def _shuffled_batches(arrays, batch_size, seed):
    """An endless tf.data pipeline of shuffled batches of ``arrays``.

    Each run of ``ceil(n / batch_size)`` batches is one epoch, in a new order
    seeded by ``seed``. As Keras does for arrays, only indices are shuffled
    and each batch is gathered from the whole arrays. Being endless (with
    ``steps_per_epoch`` given to ``fit``), one iterator serves all epochs,
    which saves Keras creating a new one per epoch.

    The order of epoch ``e`` is a stateless shuffle seeded by ``(seed, e)``,
    not ``Dataset.shuffle``'s reshuffling, whose seed state tf.distribute
    loses when it rewrites the pipeline for its devices (seeded fits under a
    ``distribute`` strategy would then differ from run to run).
    """
    import tensorflow as tf

    n = len(arrays[0])
    data = tuple(tf.convert_to_tensor(a) for a in arrays)

    def epoch_order(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64),
            seed=tf.stack([tf.constant(seed, dtype=tf.int64), epoch]),
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    indices = tf.data.Dataset.range(np.iinfo(np.int64).max).flat_map(epoch_order)
    dataset = tf.data.Dataset.zip(indices, tf.data.Dataset.from_tensors(data).repeat())

    def gather(idx, tensors):
        return tuple(tf.gather(t, idx) for t in tensors)

    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


_AUGMENTED_BATCHES = None


def _augmented_batches_class():
    """The PyDataset class of augmented batches (defined once Keras is loaded)."""
    global _AUGMENTED_BATCHES
    if _AUGMENTED_BATCHES is not None:
        return _AUGMENTED_BATCHES
    keras = _import_keras()

    class _AugmentedBatches(keras.utils.PyDataset):
        """Shuffled training batches, augmented afresh in every epoch.

        Batch ``b`` of epoch ``e`` is augmented with a generator seeded by
        ``(seed, e, b)``, so the result does not depend on the order or
        thread in which Keras asks for batches.
        """

        def __init__(
            self, images, y, sample_weight, *, labels, batch_size, augmentation, seed
        ):
            super().__init__()
            self.images = images
            self.y = y
            self.sample_weight = sample_weight
            self.labels = labels
            self.batch_size = batch_size
            self.augmentation = augmentation
            self.seed = seed
            self.epoch = 0
            self._order = self._permutation()

        def _permutation(self):
            rng = np.random.default_rng([self.seed, self.epoch])
            return rng.permutation(len(self.images))

        def __len__(self):
            return math.ceil(len(self.images) / self.batch_size)

        def on_epoch_begin(self):
            self._order = self._permutation()

        def on_epoch_end(self):
            self.epoch += 1

        def __getitem__(self, index):
            idx = self._order[index * self.batch_size : (index + 1) * self.batch_size]
            batch = self.images[idx]
            rng = np.random.default_rng([self.seed, self.epoch, index])
            out = self.augmentation.augment_batch(batch, self.labels[idx], rng)
            out = np.asarray(out)
            if out.shape != batch.shape or out.dtype != batch.dtype:
                raise ValueError(
                    f"augmentation.augment_batch must return images of the shape "
                    f"and dtype it was given, {batch.shape} {batch.dtype}; got "
                    f"{out.shape} {out.dtype} from {self.augmentation!r}."
                )
            if self.sample_weight is None:
                return out, self.y[idx]
            return out, self.y[idx], self.sample_weight[idx]

    _AUGMENTED_BATCHES = _AugmentedBatches
    return _AugmentedBatches


def _save_model_bytes(model):
    """The model as the bytes of a ``.keras`` file (Keras' own format)."""
    _import_keras()
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()


def _load_model_bytes(data):
    """Load a model from ``.keras`` bytes (never unpickling code)."""
    keras = _import_keras()
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "model.keras"
        path.write_bytes(data)
        return keras.saving.load_model(path, safe_mode=True)
