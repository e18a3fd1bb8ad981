"""TransferImageClassifier: a pretrained backbone, a new head, optional fine-tuning.

Transfer learning is configuration on the estimator core's contract
(``_base.py``): the model is a functional graph (the backbone's input stage
-> backbone -> pooling "features" -> head), two :class:`~._train.TrainingPhase`
say what trains when (the first on features computed once when nothing
changes the images between epochs), the backbone's layers are declared
pretrained (so seeded initialisation and model reuse leave them as loaded),
and the weights file is resolved once per fit (:meth:`_fit_resources`).
"""

from __future__ import annotations

import functools
import numbers
import os

import numpy as np
from sklearn.utils.validation import check_memory

from .. import _backbones
from .._keras import import_keras, make_trainable, sublayers
from .._keras.predict import predict
from ..utils._sklearn_compat import HasMethods, Interval, StrOptions
from ._base import (
    _BaseImageClassifier,
    _ImageClassifierMixin,
    parameters,
    shared_parameters,
)
from ._docs import FINE_TUNE_LAYERS_DOC, transfer_doc
from ._mlp import ACTIVATIONS, dense_layers
from ._train import TrainingPhase


@transfer_doc(fine_tune_max_iter=0, fine_tune_what=FINE_TUNE_LAYERS_DOC)
@shared_parameters(max_iter=20)
class TransferImageClassifier(_ImageClassifierMixin, _BaseImageClassifier):
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

    :meth:`partial_fit` trains one epoch a call through the same phases, as
    a longer fit would: from an unfitted classifier, the head on the frozen
    backbone for the first ``max_iter`` calls, then fine-tuning (on past
    ``fine_tune_max_iter``; without it, more head epochs), each phase with
    its optimizer state carried over from call to call.

    Images follow the image contract: any size (resized inside the model to
    ``input_size``), gray (repeated to 3 channels) or RGB, uint8 (0..255) or
    float ([0, 1]) rows or arrays; each backbone's own preprocessing happens
    inside the model, so raw images go in at fit and predict alike.

    Parameters
    ----------
    %(backbone_parameter)s
    %(transfer_parameters)s
    %(training_parameters)s

    %(fitted_attributes)s

    See Also
    --------
    VGGTransferClassifier : The course's model: VGG16, fine-tuning by blocks.
    litterlearn.preprocessing.PretrainedFeatures : The backbone's features
        for any scikit-learn model.

    %(notes)s

    The model's ``precision`` applies to the head; the backbone computes in
    float32. ``model_.get_layer(backbone)`` is the backbone.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.neural_network import TransferImageClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, (8, 20, 20), dtype=np.uint8)  # gray images
    >>> y = np.arange(8) % 2
    >>> clf = TransferImageClassifier("mobilenet_v2", weights=None,
    ...     input_size=32, max_iter=2, random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.phase_starts_, clf.fine_tune_start_
    ({'head': 0}, None)
    """

    _parameter_constraints: dict = {
        **_BaseImageClassifier._parameter_constraints,
        **_backbones.PARAMETER_CONSTRAINTS,
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "fine_tune_max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "fine_tune_layers": [
            None,
            StrOptions({"all"}),
            Interval(numbers.Integral, 0, None, closed="left"),
        ],
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
        **shared,
    ):
        super().__init__(**parameters(locals()))

    # ------------------------------------------------------- configuration

    def _spec(self):
        """The :class:`~litterlearn._backbones.BackboneSpec` of the backbone."""
        return _backbones.get_backbone(self.backbone)

    def _fine_tune_selection(self):
        """Keyword arguments of :func:`_backbones.top_layers` for phase 2."""
        return {"n_layers": self.fine_tune_layers}

    def _size(self):
        return _backbones.resolve_input_size(self._spec(), self.input_size)

    @property
    def fine_tune_start_(self):
        """Index in ``history_`` of the first fine-tuning epoch, or None."""
        return self.phase_starts_.get("fine_tune")

    # --------------------------------------------------------------- hooks

    def _fit_resources(self):
        # Resolved once per fit, before the estimator changes: a missing file
        # or a failed download fails the fit's validation.
        spec = self._spec()
        return {
            "weights_path": _backbones.resolve_weights(spec, self.weights, self._size())
        }

    def _extra_model_key(self, resources):
        # The weights file's identity (path, size, modification time): a
        # reused model restores the pretrained values it was built with.
        return (_backbones.weights_key(resources["weights_path"]),)

    def _input_stage(self, input_shape, input_dtype):
        """Raw images to what the backbone expects, inside the model."""
        if input_shape[-1] not in (1, 3):
            raise ValueError(
                f"{type(self).__name__} takes gray (1 channel) or RGB (3 "
                f"channels) images, which its backbone reads as RGB; got images "
                f"of shape {tuple(input_shape)} ({input_shape[-1]} channels). "
                f"Convert them first, e.g. with ImageResizer(color='rgb') "
                f"or by dropping the alpha channel."
            )
        return [_backbones.preprocessing_layer(self._spec(), input_dtype, self._size())]

    def _build_model(self, input_shape, weights_path=None):
        keras = import_keras()
        features = _backbones.pooled_backbone(
            self._spec(),
            weights_path,
            tuple(input_shape[:2]),
            self.pooling,
            inference=not self.fine_tune_batchnorm,
        )
        head = dense_layers(self, self._regularizer(), prefix="head")
        if self.precision != "float32":
            for layer in head:
                layer.dtype_policy = keras.DTypePolicy(self.precision)

        def network(x):
            x = features(x)
            for layer in head:
                x = layer(x)
            return x

        return network

    def _pretrained_layers(self, model):
        if self.weights is None:
            return set()
        return {self._spec().name}

    def _phases(self):
        spec = self._spec()
        features = functools.partial(
            _features,
            memory=self.memory,
            key=(
                "litterlearn.TransferImageClassifier features v2",
                spec,
                self._size(),
                self.pooling,
            ),
            batch_size=self.batch_size,
        )
        phases = [
            TrainingPhase(
                "head",
                self.max_iter,
                None,
                functools.partial(_freeze_backbone, name=spec.name),
                features=features,
            )
        ]
        if self.fine_tune_max_iter > 0:
            phases.append(
                TrainingPhase(
                    "fine_tune",
                    self.fine_tune_max_iter,
                    self.fine_tune_learning_rate,
                    functools.partial(
                        _unfreeze_top,
                        spec=spec,
                        selection=self._fine_tune_selection(),
                        batchnorm=self.fine_tune_batchnorm,
                    ),
                    rate_factors=functools.partial(
                        _rate_factors,
                        spec=spec,
                        decay=float(self.fine_tune_layer_decay),
                    ),
                )
            )
        return phases


def _freeze_backbone(model, *, name):
    """Phase 1: everything trains but the backbone.

    Every layer's flag is set, at any depth: a reused model comes back with
    the flags its last phase left (fine-tuning's), which setting ``trainable``
    on a functional model does not reach.
    """
    make_trainable(model)
    backbone = model.get_layer(name)
    for layer in [backbone, *sublayers(backbone)]:
        layer.trainable = False


def _unfreeze_top(model, *, spec, selection, batchnorm):
    """Phase 2: the head and the top of the backbone train."""
    keras = import_keras()
    make_trainable(model)
    backbone = model.get_layer(spec.name)
    chosen = {
        id(sub)
        for layer in _backbones.top_layers(spec, backbone, **selection)
        for sub in [layer, *sublayers(layer)]
    }
    # Parents come before their sublayers: a layer holding a chosen one
    # stays trainable (setting a flag reaches every sublayer), and each
    # sublayer then gets its own.
    for layer in sublayers(backbone):
        inside = [layer, *sublayers(layer)]
        wanted = any(id(sub) in chosen for sub in inside)
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = wanted and (batchnorm or not is_bn)


def _rate_factors(model, *, spec, decay):
    """Phase 2 with ``fine_tune_layer_decay``: factor ** depth per block."""
    if decay == 1.0:
        return {}
    backbone = model.get_layer(spec.name)
    depths = _backbones.block_depths(spec, backbone)
    return {
        weight.path: decay ** depths[id(layer)]
        for layer in _backbones._block_layers(backbone)
        if id(layer) in depths
        for weight in layer.trainable_weights
    }


def _features(extractor, images, seeds, resources, *, memory, key, batch_size):
    """The frozen backbone's pooled features of ``images``.

    Through the estimators' order-invariant inference path (an image's
    features do not depend on the images beside it), cached in ``memory``
    by the images, the backbone, its weights (file identity, or the seed of
    random weights), the input size and the pooling.
    """
    path = resources.get("weights_path")
    weights = _backbones.weights_key(path) if path else ("random", seeds.weights)
    try:
        compute = check_memory(memory).cache(
            _compute_features, ignore=["extractor", "batch_size"]
        )
        return compute(
            (*key, import_keras().__version__, weights), images, extractor, batch_size
        )
    except OSError as exc:  # the cache folder cannot be made or written
        raise OSError(
            f"memory={memory!r}: the folder of the feature cache cannot be used "
            f"({exc}). Pass a writable folder, or memory=None to compute the "
            f"features without a cache."
        ) from exc


def _compute_features(key, images, extractor, batch_size):
    """The features of ``images`` (cached by ``key`` and ``images``)."""
    return predict(extractor, images, batch_size).astype(np.float32)
