"""VGGTransferClassifier: the course's transfer-learning model (VGG16)."""

from __future__ import annotations

import numbers

from ..utils._sklearn_compat import Interval
from . import _backbones
from ._base import _fill_doc
from ._transfer import _BaseTransferClassifier, _set_max_iter_default, _transfer_doc

_FINE_TUNE_BLOCKS_DOC = """\
    fine_tune_blocks : int, default=1
        How many of VGG16's five convolutional blocks phase 2 unfreezes, from
        the top: 1 is block5 (its three 3x3 convolutions with 512 filters),
        5 is the whole backbone, 0 only the head."""


@_set_max_iter_default(20)
@_fill_doc
@_transfer_doc(10, _FINE_TUNE_BLOCKS_DOC)
class VGGTransferClassifier(_BaseTransferClassifier):
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
    TransferImageClassifier : The same on other backbones.
    CNNImageClassifier : The course's small CNN, trained from scratch.

    Notes
    -----
    %(notes)s

    ``weights="imagenet"`` downloads 58 MB (``vgg16_weights_tf_dim_ordering_
    tf_kernels_notop.h5``) into Keras' cache on first use.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.neural_network import VGGTransferClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((8, 32, 32, 3), dtype=np.float32)
    >>> y = np.array(["other", "bottle"])[np.arange(8) %% 2]
    >>> clf = VGGTransferClassifier(weights=None, input_size=32, max_iter=1,
    ...                             fine_tune_max_iter=1, random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    >>> clf.fine_tune_start_
    1
    """

    _parameter_constraints: dict = {
        **_BaseTransferClassifier._parameter_constraints,
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
        self.fine_tune_blocks = fine_tune_blocks
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
        return _backbones.get_backbone("vgg16")

    def _fine_tune_selection(self):
        return {"n_blocks": self.fine_tune_blocks}
