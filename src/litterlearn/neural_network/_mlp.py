"""MLPImageClassifier: a multilayer perceptron on image pixels."""

from __future__ import annotations

import numbers

from .._keras import import_keras
from ..utils._sklearn_compat import Interval, StrOptions
from ._base import (
    _BaseImageClassifier,
    _ImageClassifierMixin,
    parameters,
    shared_parameters,
)
from ._docs import fill_doc

# scikit-learn's activation names, mapped to Keras'; Keras names pass through.
ACTIVATIONS = {
    "identity": "linear",
    "logistic": "sigmoid",
    "linear": "linear",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "elu": "elu",
    "selu": "selu",
    "gelu": "gelu",
    "swish": "swish",
}


@fill_doc()
@shared_parameters()
class MLPImageClassifier(_ImageClassifierMixin, _BaseImageClassifier):
    """Multilayer perceptron image classifier (a Keras model).

    The images are flattened and fed to fully connected hidden layers, each
    followed by dropout, and an output layer: softmax over the classes, or a
    sigmoid per label when ``y`` is a multi-label indicator. The defaults
    reproduce the course's MLP for 50x50x1 images and 2 classes: ``Flatten ->
    Dense(128, relu) -> Dropout(0.5) -> Dense(2) -> softmax``.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(128,)
        Number of units of each hidden layer; ``()`` gives a softmax
        (multinomial logistic) regression on the pixels.
    activation : str, default="relu"
        Activation of the hidden layers: "relu", "tanh", "logistic" (or
        "sigmoid"), "identity" (or "linear"), "leaky_relu", "elu", "selu",
        "gelu" or "swish".
    dropout : float, default=0.5
        Dropout rate after each hidden layer (0 for none).
    %(training_parameters)s

    %(fitted_attributes)s

    See Also
    --------
    CNNImageClassifier : A convolutional network, usually better on images.
    sklearn.neural_network.MLPClassifier : The scikit-learn MLP on any data.

    %(notes)s

    Examples
    --------
    >>> from litterlearn.neural_network import MLPImageClassifier
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((60, 8, 8), dtype=np.float32)  # 60 gray 8x8 images
    >>> y = np.array(["dark", "bright"])[np.arange(60) % 2]
    >>> X[y == "bright"] += 0.5
    >>> clf = MLPImageClassifier(hidden_layer_sizes=(16,), max_iter=20,
    ...                          learning_rate_init=0.01, random_state=0)
    >>> clf.fit(X, y).classes_
    array(['bright', 'dark'], dtype='<U6')
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    >>> [type(layer).__name__ for layer in clf.model_.layers]
    ['Flatten', 'Dense', 'Dropout', 'Dense', 'Activation']
    """

    _parameter_constraints: dict = {
        **_BaseImageClassifier._parameter_constraints,
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(128,),
        activation="relu",
        dropout=0.5,
        **shared,
    ):
        super().__init__(**parameters(locals()))

    def _build_model(self, input_shape):
        keras = import_keras()
        layers = keras.layers
        return [layers.Flatten(), *dense_layers(self, self._regularizer())]


def dense_layers(estimator, regularizer, prefix=None):
    """The hidden layers of ``hidden_layer_sizes``: Dense, then Dropout.

    Each Dense layer has the estimator's ``activation`` and ``regularizer``
    and is followed by ``Dropout(dropout)`` when ``dropout`` is not 0; with a
    ``prefix``, the layers are named ``{prefix}_dense_{i}`` and
    ``{prefix}_dropout_{i}``.
    """
    layers = import_keras().layers
    sizes = _positive_ints(estimator.hidden_layer_sizes, "hidden_layer_sizes")
    stack = []
    for i, units in enumerate(sizes):
        dense, dropout = (
            ({"name": f"{prefix}_dense_{i}"}, {"name": f"{prefix}_dropout_{i}"})
            if prefix
            else ({}, {})
        )
        stack.append(
            layers.Dense(
                units,
                activation=ACTIVATIONS[estimator.activation],
                kernel_regularizer=regularizer,
                **dense,
            )
        )
        if estimator.dropout:
            stack.append(layers.Dropout(estimator.dropout, **dropout))
    return stack


def _positive_ints(values, name, *, allow_empty=True):
    """Validate a sequence of positive integers (layer sizes, filters)."""
    if isinstance(values, numbers.Integral):
        values = (values,)
    values = tuple(values)
    if not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
        for v in values
    ) or (not values and not allow_empty):
        raise ValueError(
            f"{name} must be a sequence of positive integers"
            f"{'' if allow_empty else ' (at least one)'}; got {values!r}."
        )
    return tuple(int(v) for v in values)
