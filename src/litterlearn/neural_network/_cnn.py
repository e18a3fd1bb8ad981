"""CNNImageClassifier: a small convolutional network."""

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
from ._mlp import ACTIVATIONS, _positive_ints, dense_layers

# "same" for the first convolution, "valid" for the others.
_DEFAULT_PADDING = ("same", "valid", "valid")


@fill_doc()
@shared_parameters()
class CNNImageClassifier(_ImageClassifierMixin, _BaseImageClassifier):
    """Convolutional neural network image classifier (a Keras model).

    A stack of 2D convolutions, with max pooling between consecutive
    convolutions, then a flattening (or global pooling) stage, optional
    fully connected hidden layers, and a softmax output. The defaults
    reproduce the course's CNN for 50x50x1 images and 2 classes::

        Conv2D(16, 3x3, padding="same", relu) -> MaxPool(2)
        -> Conv2D(16, 3x3, relu) -> MaxPool(2) -> Conv2D(16, 3x3, relu)
        -> Flatten -> Dense(2) -> softmax

    Parameters
    ----------
    filters : array-like of int, default=(16, 16, 16)
        Number of filters of each convolution (at least one).
    kernel_size : int or tuple of 2 int, default=3
        Size of the convolution kernels.
    pool_size : int or tuple of 2 int, default=2
        Size of the max pooling between consecutive convolutions.
    padding : {"same", "valid"} or tuple of those, default=("same", "valid", \
"valid")
        Padding of the convolutions: one for all, or one per convolution
        (the last entry repeats for further convolutions; more entries than
        convolutions are an error, except in the default, which means "same"
        for the first convolution, "valid" for the others, however many there
        are). "same" keeps the feature map size; "valid" shrinks it by
        ``kernel_size - 1``.
    global_pooling : {None, "avg", "max"}, default=None
        None flattens the last feature maps (the dense layer then depends on
        the image size); "avg" or "max" pools each map to one value, so the
        network has the same weights for any image size. With
        ``padding="same"`` and a single convolution, images of any size, even
        1 pixel, work.
    hidden_layer_sizes : array-like of int, default=()
        Units of fully connected hidden layers before the output layer.
    activation : str, default="relu"
        Activation of the convolutions and hidden layers (as in
        :class:`MLPImageClassifier`).
    dropout : float, default=0.0
        Dropout rate before each fully connected layer (0 for none).
    batch_normalization : bool, default=False
        Whether to normalize each convolution's output (before its
        activation) with ``BatchNormalization``.
    %(training_parameters)s

    %(fitted_attributes)s

    See Also
    --------
    MLPImageClassifier : A multilayer perceptron on the pixels.

    %(notes)s

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.neural_network import CNNImageClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((60, 8, 8), dtype=np.float32)  # 60 gray 8x8 images
    >>> y = np.arange(60) % 2
    >>> X[y == 1, :, :4] += 0.5  # class 1: a brighter left half
    >>> clf = CNNImageClassifier(filters=(4,), global_pooling="max", max_iter=20,
    ...                          learning_rate_init=0.01, random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:3]).shape
    (3, 2)
    >>> [type(layer).__name__ for layer in clf.model_.layers]
    ['Conv2D', 'GlobalMaxPooling2D', 'Dense', 'Activation']

    The default network, on 50x50 gray images as in the course:

    >>> X50 = rng.random((8, 2500), dtype=np.float32)
    >>> clf = CNNImageClassifier(max_iter=1, random_state=0).fit(X50, [0, 1] * 4)
    >>> [type(layer).__name__ for layer in clf.model_.layers]  # doctest: +NORMALIZE_WHITESPACE
    ['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'Flatten',
     'Dense', 'Activation']
    """

    _parameter_constraints: dict = {
        **_BaseImageClassifier._parameter_constraints,
        "filters": ["array-like"],
        "kernel_size": [Interval(numbers.Integral, 1, None, closed="left"), tuple],
        "pool_size": [Interval(numbers.Integral, 1, None, closed="left"), tuple],
        "padding": [StrOptions({"same", "valid"}), tuple, list],
        "global_pooling": [None, StrOptions({"avg", "max"})],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "batch_normalization": ["boolean"],
    }

    def __init__(
        self,
        *,
        filters=(16, 16, 16),
        kernel_size=3,
        pool_size=2,
        padding=_DEFAULT_PADDING,
        global_pooling=None,
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        batch_normalization=False,
        **shared,
    ):
        super().__init__(**parameters(locals()))

    def _paddings(self, n_convs):
        paddings = (self.padding,) if isinstance(self.padding, str) else self.padding
        paddings = tuple(paddings)
        if not paddings or not set(paddings) <= {"same", "valid"}:
            raise ValueError(
                f'padding must be "same", "valid", or a tuple of those; got '
                f"{self.padding!r}."
            )
        if len(paddings) > n_convs and paddings != _DEFAULT_PADDING:
            raise ValueError(
                f"padding has {len(paddings)} entries for {n_convs} "
                f"convolution(s) (filters={self.filters!r}); give one padding, "
                f"or at most one per convolution."
            )
        return (paddings + paddings[-1:] * n_convs)[:n_convs]

    def _build_model(self, input_shape):
        keras = import_keras()
        layers = keras.layers
        filters = _positive_ints(self.filters, "filters", allow_empty=False)
        paddings = self._paddings(len(filters))
        activation = ACTIVATIONS[self.activation]
        regularizer = self._regularizer()
        kernel_size = _pair(self.kernel_size, "kernel_size")
        pool_size = _pair(self.pool_size, "pool_size")

        stack = []
        for i, (n_filters, padding) in enumerate(zip(filters, paddings, strict=True)):
            if i:
                stack.append(layers.MaxPooling2D(pool_size))
            if self.batch_normalization:
                stack += [
                    layers.Conv2D(
                        n_filters,
                        kernel_size,
                        padding=padding,
                        kernel_regularizer=regularizer,
                    ),
                    layers.BatchNormalization(),
                    layers.Activation(activation),
                ]
            else:
                stack.append(
                    layers.Conv2D(
                        n_filters,
                        kernel_size,
                        padding=padding,
                        activation=activation,
                        kernel_regularizer=regularizer,
                    )
                )
        if self.global_pooling == "avg":
            stack.append(layers.GlobalAveragePooling2D())
        elif self.global_pooling == "max":
            stack.append(layers.GlobalMaxPooling2D())
        else:
            stack.append(layers.Flatten())
        if self.dropout:  # dropout before the first hidden layer too
            stack.append(layers.Dropout(self.dropout))
        return stack + dense_layers(self, regularizer)  # the base adds the output layer


def _pair(value, name):
    if isinstance(value, numbers.Integral):
        value = (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
        for v in value
    ):
        raise ValueError(
            f"{name} must be a positive int or a pair of them; got {value!r}."
        )
    return tuple(int(v) for v in value)
