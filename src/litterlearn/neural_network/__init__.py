"""Keras image classifiers with the scikit-learn API.

Importing this module does not import TensorFlow or Keras; they are imported
when a model is first built.
"""

from .._backbones import BackboneSpec, ModelBackbone, WeightsUnavailableError
from .._keras.pool import clear_model_pool, model_pool_info, set_model_reuse
from ._cnn import CNNImageClassifier
from ._lr_finder import LearningRateFinderResult, find_learning_rate
from ._mlp import MLPImageClassifier
from ._recipes import (
    make_small_data_cnn,
    make_small_data_transfer,
    small_data_epochs,
)
from ._transfer import TransferImageClassifier
from ._vgg import VGGTransferClassifier

__all__ = [
    "BackboneSpec",
    "CNNImageClassifier",
    "LearningRateFinderResult",
    "MLPImageClassifier",
    "ModelBackbone",
    "TransferImageClassifier",
    "VGGTransferClassifier",
    "WeightsUnavailableError",
    "clear_model_pool",
    "find_learning_rate",
    "make_small_data_cnn",
    "make_small_data_transfer",
    "model_pool_info",
    "set_model_reuse",
    "small_data_epochs",
]
