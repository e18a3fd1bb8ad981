"""PretrainedFeatures: images in, a frozen pretrained backbone's features out."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state

# The catalogue and the Keras layer sit below the estimators: importing them
# loads neither Keras nor the estimators.
from .. import _backbones
from .._keras.pool import MODEL_POOL
from .._keras.predict import predict
from ..utils._docstrings import BACKBONE_PARAMETER, FITTED_IMAGES, fill_doc
from ..utils._images import fitted_images, validate_images
from ..utils._sklearn_compat import Interval, _fit_context


@fill_doc(backbone_parameter=BACKBONE_PARAMETER)
class PretrainedFeatures(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Turn images into the features of a frozen pretrained network.

    Each image goes through a ``keras.applications`` backbone without its top
    (with the backbone's own preprocessing, inside the model) and its last
    feature map is pooled to one row of ``n_features`` numbers. So any
    scikit-learn model can learn from ImageNet features:
    ``make_pipeline(PretrainedFeatures(), LogisticRegression())`` is the
    small-data baseline. Images follow the image contract: any size (resized
    inside the model to ``input_size``), gray or RGB, uint8 (0..255) or float
    (taken in [0, 1]) rows or arrays.

    Nothing is learned: :meth:`fit` only validates and records the input
    shape; the backbone is built on the first :meth:`transform`. Built
    backbones are shared by every instance with the same backbone, weights,
    sizes and pooling (the last 4 are kept), which changes no result but
    saves rebuilding them in a grid search. Images are processed ``batch_size`` at a time, so
    memory stays bounded by one batch of the backbone's activations.

    Parameters
    ----------
    %(backbone_parameter)s
    weights : "imagenet", path or None, default="imagenet"
        "imagenet": Keras' ImageNet weights, downloaded by Keras into its
        cache (``$KERAS_HOME/models``) or found there; offline, pre-fetch the
        file (the error says how) or pass its path. A path: a weights file of
        the backbone without its top. None: random weights (seeded by
        ``random_state``), a baseline for what pretraining brings.
    input_size : int, (int, int) or None, default=None
        ``(height, width)`` images are resized to inside the model; at least
        32. None: the backbone's default, 224 (the size of its ImageNet
        training). Smaller is faster.
    pooling : {"avg", "max", "cls"}, default="avg"
        Global pooling of the last feature map. For a transformer (a KerasHub
        ViT, DeiT or DINOv2 preset), "cls" takes the class token, "avg" and
        "max" pool the patch tokens.
    batch_size : int, default=32
        Images per forward pass.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of the input rows (see the image contract).
    random_state : int, RandomState instance or None, default=None
        Seeds the random weights when ``weights=None``; unused otherwise.

    Attributes
    ----------
    n_features_in_ : int
        Number of input features (``H*W*C``).
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in :meth:`fit`.
    input_dtype_ : numpy.dtype
        dtype seen in :meth:`fit` (uint8 or float32); images of the other
        dtype are converted at :meth:`transform`.
    weights_seed_ : int or None
        Seed of the random weights (``weights=None``), drawn from
        ``random_state`` in :meth:`fit`; None with pretrained weights.
    n_features_out_ : int
        Number of output features, the backbone's channels (512 for VGG,
        2048 for ResNet50, 1280 for MobileNetV2 and EfficientNetB0, 1024 for
        DenseNet121), read from the built backbone for the others.

    See Also
    --------
    litterlearn.neural_network.TransferImageClassifier : Train a head on the
        backbone (and fine-tune it) end to end.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.preprocessing import PretrainedFeatures
    >>> X = np.random.default_rng(0).integers(0, 256, (4, 20, 20, 3), np.uint8)
    >>> features = PretrainedFeatures("mobilenet_v2", weights=None, input_size=32,
    ...                               random_state=0)
    >>> features.fit_transform(X).shape
    (4, 1280)
    """

    _parameter_constraints: dict = {
        **_backbones.PARAMETER_CONSTRAINTS,
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "image_shape": [None, tuple, list],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        backbone="vgg16",
        *,
        weights="imagenet",
        input_size=None,
        pooling="avg",
        batch_size=32,
        image_shape=None,
        random_state=None,
    ):
        self.backbone = backbone
        self.weights = weights
        self.input_size = input_size
        self.pooling = pooling
        self.batch_size = batch_size
        self.image_shape = image_shape
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and images; record the input shape.

        Nothing is learned. The weights file is checked (or downloaded) here,
        so a missing file fails at ``fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Images, uint8 (0..255) or float (in [0, 1]).
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        spec = _backbones.get_backbone(self.backbone)
        size = _backbones.resolve_input_size(spec, self.input_size)
        # Weights first: a failed download leaves the step unfitted.
        path = _backbones.resolve_weights(spec, self.weights, size)
        rows, shape = validate_images(self, X, reset=True, image_shape=self.image_shape)
        self.weights_seed_ = None
        if self.weights is None:
            rng = check_random_state(self.random_state)
            self.weights_seed_ = int(rng.randint(np.iinfo(np.int32).max))
        self.image_shape_ = shape
        self.input_dtype_ = rows.dtype
        self._weights_path_ = path
        self.n_features_out_ = spec.n_features
        if self.n_features_out_ is None:  # read from the built backbone
            self.n_features_out_ = int(self._extractor().output_shape[-1])
        return self

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def _extractor(self):
        """The Keras feature extractor of the fitted parameters.

        Shared by every PretrainedFeatures with the same backbone, weights
        (file and its modification time), sizes, pooling and input dtype: a
        model is fully defined by these, so sharing it changes no result, and
        a grid search or cross-validation does not rebuild the backbone per
        fit. Kept in the model pool, under its switch
        (:func:`~litterlearn.neural_network.set_model_reuse`).
        """
        spec = _backbones.get_backbone(self.backbone)
        size = _backbones.resolve_input_size(spec, self.input_size)
        path = self._weights_path_
        key = (
            spec,
            _backbones.weights_key(path),
            size,
            self.pooling,
            tuple(self.image_shape_),
            np.dtype(self.input_dtype_).str,
            self.weights_seed_,
        )
        return MODEL_POOL.extractor(
            key,
            lambda: _backbones.build_feature_extractor(
                spec,
                weights_path=path,
                size=size,
                image_shape=self.image_shape_,
                input_dtype=self.input_dtype_,
                pooling=self.pooling,
                seed=self.weights_seed_,
            ),
        )

    @fill_doc(fitted_images=FITTED_IMAGES)
    def transform(self, X):
        """Features of images ``X``.

        %(fitted_images)s

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out_), float32
        """
        images = fitted_images(self, X)
        model = self._extractor()
        # The estimators' inference path: batch_size images per call, each
        # image through the backbone alone, so an image's features do not
        # depend on the images it is transformed with (batched CPU kernels
        # round a row by its position in the batch).
        features = predict(model, images, self.batch_size)
        return features.reshape(len(images), -1).astype(np.float32)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
