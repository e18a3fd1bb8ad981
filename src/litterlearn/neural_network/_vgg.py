"""VGGTransferClassifier: the course's transfer-learning model (VGG16)."""

from __future__ import annotations

import numbers

from ..utils._sklearn_compat import Interval
from ._base import _BaseImageClassifier, parameters, shared_parameters
from ._docs import FINE_TUNE_BLOCKS_DOC, transfer_doc
from ._transfer import TransferImageClassifier


@transfer_doc(fine_tune_max_iter=10, fine_tune_what=FINE_TUNE_BLOCKS_DOC)
@shared_parameters(max_iter=20)
class VGGTransferClassifier(TransferImageClassifier):
    """The course's transfer-learning model: VGG16 with a new dense head.

    :class:`TransferImageClassifier` with ``backbone="vgg16"`` and VGG's
    vocabulary for fine-tuning (``fine_tune_blocks``). The defaults follow
    the course: VGG16 with ImageNet weights, without its top; a new head
    ``GlobalAveragePooling -> Dense(256, relu) -> Dropout(0.5) -> Dense(n,
    softmax)`` trained for ``max_iter`` epochs on the frozen backbone; then
    ``fine_tune_max_iter`` epochs of fine-tuning the top convolutional block
    (block5) with the head, at the small ``fine_tune_learning_rate``.

    VGG16 has no BatchNormalization, so ``fine_tune_batchnorm`` changes
    nothing here.

    Parameters
    ----------
    %(transfer_parameters)s
    %(training_parameters)s

    %(fitted_attributes)s

    See Also
    --------
    TransferImageClassifier : The same on other backbones.
    CNNImageClassifier : The course's small CNN, trained from scratch.

    %(notes)s

    ``weights="imagenet"`` downloads 58 MB (``vgg16_weights_tf_dim_ordering_
    tf_kernels_notop.h5``) into Keras' cache on first use.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.neural_network import VGGTransferClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((8, 32, 32, 3), dtype=np.float32)
    >>> y = np.array(["other", "bottle"])[np.arange(8) % 2]
    >>> clf = VGGTransferClassifier(weights=None, input_size=32, max_iter=1,
    ...                             fine_tune_max_iter=1, random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    >>> clf.fine_tune_start_
    1
    """

    _parameter_constraints: dict = {
        **{
            k: v
            for k, v in TransferImageClassifier._parameter_constraints.items()
            if k not in ("backbone", "fine_tune_layers")
        },
        "fine_tune_blocks": [Interval(numbers.Integral, 0, 5, closed="both")],
    }

    def __init__(
        self,
        *,
        weights="imagenet",
        input_size=None,
        pooling="avg",
        hidden_layer_sizes=(256,),
        activation="relu",
        dropout=0.5,
        fine_tune_max_iter=10,
        fine_tune_blocks=1,
        fine_tune_learning_rate=1e-5,
        fine_tune_batchnorm=False,
        fine_tune_layer_decay=1.0,
        memory=None,
        **shared,
    ):
        # TransferImageClassifier's own __init__ takes the generic names.
        _BaseImageClassifier.__init__(self, **parameters(locals()))

    backbone = "vgg16"  # not a parameter here: always VGG16

    def _fine_tune_selection(self):
        return {"n_blocks": self.fine_tune_blocks}
