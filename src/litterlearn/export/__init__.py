"""Export a fitted pipeline for deployment, and load what was exported.

:func:`export` writes a fitted litterlearn estimator, or a pipeline of
litterlearn image steps ending in one, as one inference graph in Keras'
format, a TensorFlow SavedModel, ONNX or LiteRT, with a small JSON file of
what a consumer needs (classes, image size, thresholds, versions).
:func:`load_exported` loads such an artifact with the runtime of its format
(Keras, TensorFlow, onnxruntime or the LiteRT interpreter) and predicts from
images or image files. :func:`inference_model` is the Keras model that every
format is made from.

Importing this module does not import TensorFlow or Keras.
"""

from ._export import export
from ._graph import inference_model
from ._load import ExportedModel, load_exported

__all__ = ["ExportedModel", "export", "inference_model", "load_exported"]
