"""Keras image classifiers with the scikit-learn API.

Importing this module does not import TensorFlow or Keras; they are imported
when a model is first built.
"""

from ..utils import _joblib_dask
from ._cnn import CNNImageClassifier
from ._mlp import MLPImageClassifier
from ._recipes import make_small_data_cnn, small_data_epochs

# A worker that dies during a search on a Dask cluster is reported (joblib's
# Dask backend would wait forever); see utils/_joblib_dask.py.
_joblib_dask.install()

__all__ = [
    "CNNImageClassifier",
    "MLPImageClassifier",
    "make_small_data_cnn",
    "small_data_epochs",
]
