"""Keras image classifiers with the scikit-learn API.

Importing this module does not import TensorFlow or Keras; they are imported
when a model is first built. Its names load on first use, so that the
backbone catalogue (``_backbones``), which ``preprocessing`` shares, loads
without the estimators.
"""

import importlib

_WHERE = {
    "BackboneSpec": "._backbones",
    "CNNImageClassifier": "._cnn",
    "MLPImageClassifier": "._mlp",
    "TransferImageClassifier": "._transfer",
    "VGGTransferClassifier": "._vgg",
    "clear_model_pool": "._pool",
    "find_learning_rate": "._lr_finder",
    "model_pool_info": "._pool",
    "set_model_reuse": "._pool",
    "make_small_data_cnn": "._recipes",
    "small_data_epochs": "._recipes",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*__all__, *globals()})
