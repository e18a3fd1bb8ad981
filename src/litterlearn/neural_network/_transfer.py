"""TransferImageClassifier: a pretrained backbone, a new head, optional fine-tuning.

Transfer learning is configuration on the estimator core's training contract
(``_base.py``): the model is a functional graph (input stage -> backbone ->
pooling -> head), two :class:`~._base.TrainingPhase` say what trains when,
the backbone's layers are declared pretrained (so seeded initialisation and
model reuse leave them as loaded), and :meth:`_train_phase` trains the head
of a frozen backbone on features computed once instead of once per epoch.
"""

from __future__ import annotations

import dataclasses
import numbers
import os
import re
import weakref
from abc import abstractmethod

import numpy as np
from sklearn.utils.validation import check_memory

from ..utils._sklearn_compat import HasMethods, Interval, StrOptions
from . import _backbones
from ._base import (
    TrainingPhase,
    _BaseImageClassifier,
    _fill_doc,
    _ImageClassifierMixin,
    _import_keras,
)
from ._keras import _sublayers
from ._mlp import ACTIVATIONS, _positive_ints
from ._phases import _make_trainable
from ._weights import _model_state, _reset_optimizer

# The head model (features in, probabilities out) and the feature extractor
# (images in, features out) of each built model, sharing its layers; kept
# beside the model rather than on it (Keras would track them as sublayers).
_SPLITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _set_max_iter_default(default):
    """Adapt the shared docstring blocks to the transfer classifiers.

    ``max_iter`` has its own default here, and ``phase_starts_`` is described
    by the class (two phases), not by the shared single-phase text.
    """

    def decorate(cls):
        shared = "max_iter : int, default=200"
        assert shared in cls.__doc__, cls.__name__
        doc = cls.__doc__.replace(shared, f"max_iter : int, default={default}")
        entries = re.findall(
            r"\n    phase_starts_ : dict of str to int\n(?:        .*\n)+", doc
        )
        if len(entries) > 1:  # the shared entry first, then the class's own
            doc = doc.replace(entries[0], "\n", 1)
        cls.__doc__ = doc
        return cls

    return decorate


_FINE_TUNE_LAYERS_DOC = """\
    fine_tune_layers : int, "all" or None, default=None
        How much of the backbone phase 2 unfreezes, from the top: that many
        layers with weights (BatchNormalization layers count), "all" of
        them, or None for the backbone's top block (VGG: block5; ResNet50:
        the conv5 stage; MobileNetV2: block 16 and the last convolution;
        EfficientNetB0: block 7 and the top convolution; DenseNet121: the
        conv5 dense block)."""


def _transfer_doc(fine_tune_max_iter, fine_tune_what):
    """Fill ``%(transfer_parameters)s``, the parameters of every transfer
    classifier, before :func:`_fill_doc` fills the shared blocks."""

    def decorate(cls):
        text = _TRANSFER_DOCS.replace(
            "%(fine_tune_max_iter)s", str(fine_tune_max_iter)
        ).replace("    %(fine_tune_what)s", fine_tune_what)
        text = text[4:] if text.startswith("    ") else text
        cls.__doc__ = cls.__doc__.replace("%(transfer_parameters)s", text)
        return cls

    return decorate


_TRANSFER_DOCS = """\
    weights : "imagenet", path or None, default="imagenet"
        "imagenet": Keras' ImageNet weights, which Keras downloads into its
        cache (``$KERAS_HOME/models``, by default ``~/.keras/models``) on
        first use, or finds there. Offline, pre-fetch the file on a machine
        with internet and copy it there or pass its path: the error of a
        failed download says how. A path: a weights file of the backbone
        without its top (the file Keras caches, or one saved with
        ``save_weights``). None: random weights, seeded by ``random_state``.
    input_size : int, (int, int) or None, default=None
        ``(height, width)`` the images are resized to inside the model
        (bilinear), at least 32. None: the backbone's default, 224, the size
        of its ImageNet training. Smaller is faster; features of small
        objects may suffer.
    pooling : {"avg", "max"}, default="avg"
        Global pooling of the backbone's last feature map into the head's
        input.
    hidden_layer_sizes : array-like of int, default=(256,)
        Units of each dense hidden layer of the new head; ``()`` gives a
        softmax regression on the pooled features.
    activation : str, default="relu"
        Activation of the head's hidden layers (as in
        :class:`MLPImageClassifier`).
    dropout : float, default=0.5
        Dropout rate after each hidden layer of the head (0 for none).
    fine_tune_max_iter : int, default=%(fine_tune_max_iter)s
        Epochs of phase 2, fine-tuning; 0 trains the head only.
    %(fine_tune_what)s
    fine_tune_learning_rate : float, default=1e-5
        Learning rate of phase 2 (a fresh optimizer of the same kind), also
        when ``optimizer`` is an instance (whose own rate or schedule applies
        to phase 1). Keep it small: large steps destroy the pretrained
        features.
    fine_tune_layer_decay : float in (0, 1], default=1.0
        Layer-wise rate decay in phase 2 (timm's layer decay, fastai's
        discriminative rates): the head and the top block of the backbone
        train at ``fine_tune_learning_rate``, and each deeper block of the
        unfrozen backbone at this factor times the rate of the block above
        (blocks as the backbone names them: VGG's ``block5``, ResNet's
        ``conv5``...). 1.0: one rate for all.
    fine_tune_batchnorm : bool, default=False
        False: the backbone's BatchNormalization layers stay frozen in both
        phases, in inference mode (their moving statistics, scale and offset
        never change; Keras' transfer-learning advice, since a few small
        batches give poor statistics). True: those in the unfrozen top train
        in phase 2 (scale, offset and statistics of the training batches).
    memory : None, str or joblib.Memory, default=None
        Where to cache the backbone's features across fits (as in
        ``Pipeline``), keyed on the images, the backbone, its weights (file
        and modification time, or seed) and the input size: a grid search
        over head parameters computes them once. Within one fit they are
        computed once anyway."""


class _BaseTransferClassifier(_ImageClassifierMixin, _BaseImageClassifier):
    """Base of the transfer classifiers; not for direct use.

    Subclasses say which backbone (:meth:`_spec`) and how much of it phase 2
    unfreezes (:meth:`_fine_tune_selection`), and list every parameter in
    their ``__init__``.
    """

    _parameter_constraints: dict = {
        **_BaseImageClassifier._parameter_constraints,
        "weights": [None, str, os.PathLike],
        "input_size": [
            None,
            Interval(numbers.Integral, 1, None, closed="left"),
            tuple,
            list,
        ],
        "pooling": [StrOptions(set(_backbones.POOLINGS))],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "fine_tune_max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "fine_tune_learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "fine_tune_batchnorm": ["boolean"],
        "fine_tune_layer_decay": [Interval(numbers.Real, 0, 1, closed="right")],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
    }

    # Parameters that change what trains, or for how long, but not the
    # network: models of estimators that differ only in these are reused.
    _training_params = _BaseImageClassifier._training_params | {
        "fine_tune_max_iter",
        "fine_tune_layers",
        "fine_tune_blocks",
        "fine_tune_learning_rate",
        "fine_tune_layer_decay",
        "memory",
    }

    @abstractmethod
    def __init__(
        self,
        *,
        weights,
        input_size,
        pooling,
        hidden_layer_sizes,
        activation,
        dropout,
        fine_tune_max_iter,
        fine_tune_learning_rate,
        fine_tune_batchnorm,
        memory,
        fine_tune_layer_decay=1.0,
        **shared,
    ):
        self.weights = weights
        self.input_size = input_size
        self.pooling = pooling
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.fine_tune_max_iter = fine_tune_max_iter
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.fine_tune_batchnorm = fine_tune_batchnorm
        self.fine_tune_layer_decay = fine_tune_layer_decay
        self.memory = memory
        super().__init__(**shared)

    # ------------------------------------------------------- configuration

    @abstractmethod
    def _spec(self):
        """The :class:`_backbones.BackboneSpec` of the backbone."""

    def _size(self):
        return _backbones.resolve_input_size(self._spec(), self.input_size)

    def _weights_path(self):
        """The local weights file (downloaded for "imagenet"), or None."""
        return _backbones.resolve_weights(self._spec(), self.weights, self._size())

    @abstractmethod
    def _fine_tune_selection(self):
        """Keyword arguments of :func:`_backbones.top_layers` for phase 2."""

    # --------------------------------------------------------------- hooks

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        """Train the head on the frozen backbone, then fine-tune its top.

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Training images: uint8 (0..255) or float ([0, 1]); gray or RGB.
        y : array-like of shape (n_samples,)
            Class labels (any type; at least two classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-image weights in the loss (multiplied by ``class_weight``).
        X_val : array-like, default=None
            Validation images, evaluated every epoch of both phases (and used
            by early stopping instead of holding out part of ``X``).
        y_val : array-like of shape (n_val,), default=None
            Labels of ``X_val``.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        super().fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val)
        self.fine_tune_start_ = self.phase_starts_.get("fine_tune")
        return self

    def _model_key(self, image_shape, input_dtype, target):
        # The weights file's identity (path, size, modification time) too: a
        # reused model restores the pretrained values it was built with.
        # Resolving the weights here makes a missing file or a failed
        # download fail before the estimator changes.
        key = super()._model_key(image_shape, input_dtype, target)
        return (*key, _backbones.weights_key(self._weights_path()))

    def _input_stage(self, input_shape, input_dtype):
        """Raw images to what the backbone expects, inside the model.

        One ``BackbonePreprocessing`` layer: uint8 0..255 kept, floats times
        255, resized to ``input_size``, gray repeated to RGB, then the
        backbone's own ``preprocess_input``.
        """
        if input_shape[-1] not in (1, 3):
            raise ValueError(
                f"{type(self).__name__} takes gray (1 channel) or RGB (3 "
                f"channels) images, which its backbone reads as RGB; got images "
                f"of shape {tuple(input_shape)} ({input_shape[-1]} channels). "
                f"Convert them first, e.g. with ImageResizer(color='rgb') "
                f"or by dropping the alpha channel."
            )
        spec = self._spec()
        layer_cls = _backbones.preprocessing_layer_class()
        scale = 1.0 if np.dtype(input_dtype) == np.uint8 else 255.0
        return [
            layer_cls(
                spec.preprocessing,
                scale=scale,
                size=self._size(),
                name="backbone_preprocessing",
            )
        ]

    def _build_model(self, input_shape):
        keras = _import_keras()
        layers = keras.layers
        spec = self._spec()
        backbone = _backbones.build_backbone(
            spec, self._weights_path(), tuple(input_shape[:2])
        )
        pool = getattr(layers, _backbones.POOLINGS[self.pooling])(name="features")
        sizes = _positive_ints(self.hidden_layer_sizes, "hidden_layer_sizes")
        regularizer = self._regularizer()
        head = []
        for i, units in enumerate(sizes):
            head.append(
                layers.Dense(
                    units,
                    activation=ACTIVATIONS[self.activation],
                    kernel_regularizer=regularizer,
                    name=f"head_dense_{i}",
                )
            )
            if self.dropout:
                head.append(layers.Dropout(self.dropout, name=f"head_dropout_{i}"))
        if self.precision != "float32":
            for layer in head:
                layer.dtype_policy = keras.DTypePolicy(self.precision)

        def network(x):
            # Inference mode (Keras' transfer-learning guide): BatchNorm uses
            # its moving statistics whether or not the layer is trainable,
            # and the backbone's own dropout is off. With
            # fine_tune_batchnorm the layers' trainable flags decide.
            mode = {} if self.fine_tune_batchnorm else {"training": False}
            x = backbone(x, **mode)
            x = pool(x)
            for layer in head:
                x = layer(x)
            return x

        return network

    def _pretrained_layers(self, model):
        if self.weights is None:
            return set()
        return {self._spec().name}

    def _custom_objects(self):
        cls = _backbones.preprocessing_layer_class()
        return {"litterlearn>BackbonePreprocessing": cls}

    def _phases(self):
        phases = [TrainingPhase("head", self.max_iter, None, self._freeze_backbone)]
        if self.fine_tune_max_iter > 0:
            phases.append(
                TrainingPhase(
                    "fine_tune",
                    self.fine_tune_max_iter,
                    self.fine_tune_learning_rate,
                    self._unfreeze_top,
                )
            )
        return phases

    def _freeze_backbone(self, model):
        """Phase 1: everything trains but the backbone.

        Every layer's flag is set, at any depth: a reused model comes back
        with the flags its last phase left (fine-tuning's), which setting
        ``trainable`` on a functional model does not reach.
        """
        _make_trainable(model)
        backbone = model.get_layer(self._spec().name)
        for layer in [backbone, *_sublayers(backbone)]:
            layer.trainable = False

    def _unfreeze_top(self, model):
        """Phase 2: the head and the top of the backbone train."""
        keras = _import_keras()
        spec = self._spec()
        _make_trainable(model)
        backbone = model.get_layer(spec.name)
        top = {
            id(layer)
            for layer in _backbones.top_layers(
                spec, backbone, **self._fine_tune_selection()
            )
        }
        for layer in backbone.layers:
            is_bn = isinstance(layer, keras.layers.BatchNormalization)
            layer.trainable = id(layer) in top and (
                self.fine_tune_batchnorm or not is_bn
            )

    def _rate_factors(self, model, phase):
        """Phase 2 with ``fine_tune_layer_decay``: factor ** depth per block."""
        decay = float(self.fine_tune_layer_decay)
        if phase.name != "fine_tune" or decay == 1.0:
            return {}
        backbone = model.get_layer(self._spec().name)
        depths = _backbones.block_depths(self._spec(), backbone)
        return {
            weight.path: decay ** depths[id(layer)]
            for layer in backbone.layers
            if id(layer) in depths
            for weight in layer.trainable_weights
        }

    def _train_phase(self, model, phase, data):
        """Phase 1 on a frozen backbone: train the head on features.

        Without on-the-fly augmentation or mixing the images are the same in
        every epoch, so the frozen backbone's features are too: they are computed
        once (or found in ``memory``) and the head model, which shares the
        head's layers with ``model``, trains on them through the same
        training input and callbacks as any phase. Other phases train
        ``model`` on the images.
        """
        if phase.name != "head" or self.augmentation is not None or self._mixes():
            return super()._train_phase(model, phase, data)
        extractor, head = self._split(model)
        features = self._features(extractor, data.images, data.seeds)
        validation = data.validation
        if validation is not None:
            validation = (
                self._features(extractor, validation[0], data.seeds),
                *validation[1:],
            )
        self._compile(head, phase, data.target)
        # Every fit starts the head's optimizer afresh (the full model's is
        # reset by the core; the head model beside it is ours).
        state = _model_state(head)
        if not _reset_optimizer(head.optimizer, state.optimizer_fill):
            state.compile_key = None
            self._compile(head, phase, data.target)
        return super()._train_phase(
            head,
            phase,
            dataclasses.replace(data, images=features, validation=validation),
        )

    # ------------------------------------------------------------ features

    def _split(self, model):
        """The feature extractor and the head model of ``model`` (cached)."""
        split = _SPLITS.get(model)
        if split is None:
            keras = _import_keras()
            features = model.get_layer("features")
            extractor = keras.Model(
                model.inputs, features.output, name="feature_extractor"
            )
            inputs = keras.Input(shape=tuple(features.output.shape[1:]))
            x = inputs
            after = False
            for layer in model.layers:
                if after:
                    x = layer(x)
                after = after or layer is features
            head = keras.Model(inputs, x, name="head")
            split = _SPLITS[model] = (extractor, head)
        return split

    def _features_key(self, images, seeds):
        spec = self._spec()
        path = self._weights_path()
        return (
            "litterlearn.TransferImageClassifier features v1",
            _import_keras().__version__,
            spec,
            _backbones.weights_key(path) if path else ("random", seeds.weights),
            self._size(),
            self.pooling,
        )

    def _features(self, extractor, images, seeds):
        try:
            memory = check_memory(self.memory)
            compute = memory.cache(
                _compute_features, ignore=["extractor", "batch_size"]
            )
            return compute(
                self._features_key(images, seeds), images, extractor, self.batch_size
            )
        except OSError as exc:  # the cache folder cannot be made or written
            raise OSError(
                f"memory={self.memory!r}: the folder of the feature cache "
                f"cannot be used ({exc}). Pass a writable folder, or "
                f"memory=None to compute the features without a cache."
            ) from exc


@_set_max_iter_default(20)
@_fill_doc
@_transfer_doc(0, _FINE_TUNE_LAYERS_DOC)
class TransferImageClassifier(_BaseTransferClassifier):
    """Image classifier on a pretrained ``keras.applications`` backbone.

    The backbone (without its top) turns each image into a feature map,
    which is pooled and fed to a new dense head. Training runs in two
    phases, as in Keras' transfer-learning guide and fastai's ``fine_tune``:

    1. "head": the backbone is frozen and the head trains for ``max_iter``
       epochs at ``learning_rate_init``. Without on-the-fly ``augmentation``
       the backbone's features are computed once (optionally cached across
       fits with ``memory``) and only the head trains on them, which is
       many times faster than passing every image through the backbone in
       every epoch, with the same result.
    2. "fine_tune" (when ``fine_tune_max_iter > 0``): the top of the backbone
       is unfrozen and the whole trains for ``fine_tune_max_iter`` epochs at
       ``fine_tune_learning_rate``. ``fine_tune_start_`` is the epoch of
       ``history_`` where it begins.

    Images follow the image contract: any size (resized inside the model to
    ``input_size``), gray (repeated to 3 channels) or RGB, uint8 (0..255) or
    float ([0, 1]) rows or arrays; each backbone's own preprocessing happens
    inside the model, so raw images go in at fit and predict alike.

    Parameters
    ----------
    backbone : str or BackboneSpec, default="vgg16"
        "vgg16", "vgg19", "resnet50", "mobilenet_v2", "efficientnet_b0" or
        "densenet121": the ``keras.applications`` network, without its top;
        or a ``litterlearn.neural_network.BackboneSpec`` describing another
        network (its constructor, preprocessing, sizes and blocks).
    %(transfer_parameters)s
    %(training_parameters)s

    Attributes
    ----------
    %(fitted_attributes)s
    phase_starts_ : dict of str to int
        Index in ``history_`` of the first epoch of each phase: "head" and,
        with fine-tuning, "fine_tune".
    fine_tune_start_ : int or None
        Index in ``history_`` of the first fine-tuning epoch; None without
        fine-tuning.

    See Also
    --------
    VGGTransferClassifier : The course's model: VGG16, fine-tuning by blocks.
    litterlearn.preprocessing.PretrainedFeatures : The backbone's features
        for any scikit-learn model.

    Notes
    -----
    %(notes)s

    The model's ``precision`` applies to the head; the backbone computes in
    float32. ``model_.get_layer(backbone)`` is the backbone.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.neural_network import TransferImageClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, (8, 20, 20), dtype=np.uint8)  # gray images
    >>> y = np.arange(8) %% 2
    >>> clf = TransferImageClassifier("mobilenet_v2", weights=None,
    ...     input_size=32, max_iter=2, random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.phase_starts_, clf.fine_tune_start_
    ({'head': 0}, None)
    """

    _parameter_constraints: dict = {
        **_BaseTransferClassifier._parameter_constraints,
        "backbone": [StrOptions(set(_backbones.BACKBONES)), _backbones.BackboneSpec],
        "fine_tune_layers": [
            None,
            StrOptions({"all"}),
            Interval(numbers.Integral, 0, None, closed="left"),
        ],
    }

    def __init__(
        self,
        backbone="vgg16",
        *,
        weights="imagenet",
        input_size=None,
        pooling="avg",
        hidden_layer_sizes=(256,),
        activation="relu",
        dropout=0.5,
        fine_tune_max_iter=0,
        fine_tune_layers=None,
        fine_tune_learning_rate=1e-5,
        fine_tune_batchnorm=False,
        fine_tune_layer_decay=1.0,
        memory=None,
        alpha=0.0,
        batch_size=32,
        learning_rate_init=0.001,
        max_iter=20,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        optimizer="adam",
        class_weight=None,
        image_shape=None,
        augmentation=None,
        callbacks=None,
        precision="float32",
        distribute=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        threshold=0.5,
        learning_rate_schedule="constant",
        weight_decay=0.0,
        label_smoothing=0.0,
        mixup=0.0,
        cutmix=0.0,
    ):
        self.backbone = backbone
        self.fine_tune_layers = fine_tune_layers
        super().__init__(
            weights=weights,
            input_size=input_size,
            pooling=pooling,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            dropout=dropout,
            fine_tune_max_iter=fine_tune_max_iter,
            fine_tune_learning_rate=fine_tune_learning_rate,
            fine_tune_batchnorm=fine_tune_batchnorm,
            fine_tune_layer_decay=fine_tune_layer_decay,
            memory=memory,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            optimizer=optimizer,
            class_weight=class_weight,
            image_shape=image_shape,
            augmentation=augmentation,
            callbacks=callbacks,
            precision=precision,
            distribute=distribute,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            threshold=threshold,
            learning_rate_schedule=learning_rate_schedule,
            weight_decay=weight_decay,
            label_smoothing=label_smoothing,
            mixup=mixup,
            cutmix=cutmix,
        )

    def _spec(self):
        return _backbones.get_backbone(self.backbone)

    def _fine_tune_selection(self):
        return {"n_layers": self.fine_tune_layers}


def _compute_features(key, images, extractor, batch_size):
    """The backbone's pooled features of ``images`` (cached by ``key`` and
    ``images`` when the estimator has a ``memory``)."""
    return np.asarray(
        extractor.predict(images, batch_size=batch_size, verbose=0), dtype=np.float32
    )
