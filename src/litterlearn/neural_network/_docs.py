"""Docstring text shared by every classifier, written once.

Each class docstring holds ``%(name)s`` placeholders, filled by
:func:`fill_doc` with the blocks below and the class's own slots
(imbalanced-learn's ``Substitution`` pattern). Filling is plain text
replacement, not ``%`` formatting, so docstrings need no escaping; under
``python -OO`` (no docstrings) it does nothing.
"""

import re

from ..utils._docstrings import BACKBONE_PARAMETER
from ..utils._docstrings import fill_doc as _fill_doc

_DOCS = {
    "training_parameters": """\
    alpha : float, default=0.0
        L2 penalty on the kernels of the dense and convolution layers (Keras'
        ``L2`` regularizer): ``alpha * sum(kernel ** 2)`` is added to the loss.
    batch_size : int, default=32
        Number of images per gradient step and per prediction batch.
    learning_rate_init : float, default=0.001
        Learning rate of the optimizer when ``optimizer`` is a name.
    max_iter : int, default=%(max_iter)s
        Maximum number of epochs (passes over the training data).
    early_stopping : bool, default=False
        Whether to stop training when the validation loss stops improving.
        The validation data are ``X_val, y_val`` passed to :meth:`fit` or,
        without them, a stratified, seeded ``validation_fraction`` of the
        training data, held out before Keras sees it. Training stops when the
        validation loss has not improved by at least ``tol`` for
        ``n_iter_no_change`` epochs, and the weights of the best epoch are
        restored.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping (when no
        ``X_val`` is given). Must be in (0, 1).
    n_iter_no_change : int, default=10
        Number of epochs without improvement before early stopping.
    tol : float, default=1e-4
        Minimum decrease of the validation loss that counts as improvement.
    optimizer : str or keras.optimizers.Optimizer, default="adam"
        Name of a Keras optimizer ("adam", "adamw", "adamax", "nadam", "sgd",
        "rmsprop", "adagrad", "adadelta"), created with learning rate
        ``learning_rate_init``; or an optimizer instance, whose configuration
        (learning rate or schedule included) is copied for every fit, refits
        and reused models alike; ``learning_rate_init`` is then unused.
        Training phases with a rate of their own (fine-tuning) use it with a
        copy of the instance. Any Keras optimizer class works (``Lamb``,
        ``Lion``...); a ``LossScaleOptimizer`` trains with a copy of the
        optimizer it wraps, under its loss scaling.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, ``{label: weight}`` (labels not
        listed weigh 1); "balanced" weighs each class inversely to its
        frequency in the training data, as in scikit-learn. Multiplies
        ``sample_weight``.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of the input rows; one entry may be -1.
        None infers a square gray or RGB image from the number of features
        (see the image contract); 3D and 4D input carries its shape.
    augmentation : object with an ``augment_batch`` method, default=None
        On-the-fly augmentation of the training images, e.g. a
        ``litterlearn.preprocessing.Augmenter``. In every epoch each training
        batch of images ``(batch, H, W, C)``, in the training dtype (uint8
        0..255 or float32), is replaced by ``augmentation.augment_batch(images,
        labels, rng)``, which must return an array of the same shape and
        dtype. ``labels`` are the batch's labels (as in ``y``) and ``rng`` a
        :class:`numpy.random.Generator` seeded from ``random_state``, the epoch
        and the batch: every epoch sees fresh augmentations and a seeded fit
        is reproducible. Validation images and predictions are never
        augmented.
    callbacks : list of keras.callbacks.Callback, default=None
        Extra Keras callbacks. Every fit uses fresh copies; the objects
        passed are never attached to a model.
    precision : {"float32", "mixed_float16", "mixed_bfloat16"}, \
default="float32"
        Keras dtype policy of the model's layers: "mixed_float16" (NVIDIA
        GPUs, with loss scaling) and "mixed_bfloat16" (recent GPUs, TPUs and
        CPUs) compute in 16 bits with float32 weights. The output layer
        always computes in float32. The policy is set on this model's layers
        only, never globally.
    distribute : None, "auto", list of str or tf.distribute.Strategy, \
default=None
        Devices to train on. None: TensorFlow's default, one device (the
        first GPU, else the CPU). "auto": all GPUs, with a
        ``tf.distribute.MirroredStrategy``, when there are several, else the
        default. A list of device names (e.g. ``["/gpu:0", "/gpu:1"]``): a
        ``MirroredStrategy`` over them. A ``tf.distribute.Strategy``: that
        strategy (an estimator holding one cannot be pickled or sent to other
        processes; use "auto" or device names there). The model is built
        under the strategy and Keras trains and predicts with it; each
        ``batch_size`` batch is split among the devices (scale it, and
        perhaps ``learning_rate_init``, with their number).
    random_state : int, RandomState instance or None, default=None
        Seeds everything random in a fit: the weights, dropout, the shuffling
        of batches, the validation split and the augmentation. With an int,
        two fits on the CPU give identical models (GPU kernels may not be
        deterministic).
    verbose : int, default=0
        0: silent; 1: Keras' progress bar; 2: one line per epoch.
    warm_start : bool, default=False
        When True and already fitted, :meth:`fit` continues training the
        current model (weights and optimizer state) for ``max_iter`` more
        epochs, on data with the same image shape and classes. Its batches
        (order, augmentation, mixing) go on from the epochs trained before,
        so with an integer ``random_state`` and a constant rate, a fit of
        ``a`` epochs then a warm one of ``b`` trains as a fit of ``a + b``
        (with training knobs changed in between: as ``partial_fit`` calls
        changing them after epoch ``a``).
    threshold : float or array-like of shape (n_labels,), default=0.5
        Multi-label fits only (``y`` a 0/1 indicator): :meth:`predict` sets
        a label where its probability is at least this, one value for all
        labels or one per label. Changing it needs no refit
        (``set_params(threshold=...)``); tune it on validation data, per
        label to the best F1, with
        :func:`litterlearn.metrics.tune_thresholds`. Unused with one label
        per image (``predict`` is the most probable class).
    learning_rate_schedule : {"constant", "cosine", "one_cycle"} or \
keras.optimizers.schedules.LearningRateSchedule, default="constant"
        How the learning rate moves during each training phase, step by
        step, from the phase's rate ``r`` (``learning_rate_init``, or the
        phase's own, such as ``fine_tune_learning_rate``). "constant": ``r``
        throughout. "cosine": ``r * (1 + cos(pi * s / T)) / 2`` at step ``s``
        of the phase's ``T`` steps (``max_iter`` times the batches per
        epoch; early stopping may end it sooner). "one_cycle": a linear
        warm-up from ``r / 25`` to ``r`` over the first 30% of the steps,
        then a cosine annealing to ``r / 1e4`` (fastai's ``fit_one_cycle``).
        Each phase, and each warm-started fit, runs its schedule anew. A Keras
        ``LearningRateSchedule`` is given to the optimizer as it is (it counts
        the optimizer's steps), in every phase without a rate of its own: a
        phase's own rate (``fine_tune_learning_rate``) always wins. A
        schedule in two places (here and in an ``optimizer`` instance) is an
        error. Fits and pickling rebuild a schedule from its configuration:
        its class must be one of Keras' or registered with
        ``keras.saving.register_keras_serializable``.
    weight_decay : float, default=0.0
        Decoupled weight decay (as AdamW; Loshchilov and Hutter): before
        each step every trained weight ``w`` becomes ``w - lr * weight_decay
        * w``, whatever the loss, unlike ``alpha``'s L2 penalty, which Adam
        rescales. Every Keras optimizer takes it; an optimizer instance whose
        class does not gets a clear error. 0 keeps the optimizer's own.
    label_smoothing : float in [0, 1), default=0.0
        Softens the training targets as Keras does: one label per image,
        the one-hot target ``t`` becomes ``(1 - e) * t + e / n_classes``; a
        multi-label indicator, ``(1 - e) * t + e / 2``. Applied to the
        training and validation loss alike.
    mixup : float, default=0.0
        MixUp (Zhang et al., 2018) of training batches on the fly when
        positive: with ``lam`` drawn from ``Beta(mixup, mixup)`` for each
        batch, every image is mixed with another of the batch,
        ``lam * x + (1 - lam) * x'``, and so are their targets (soft
        targets, whatever their classes) and sample weights (class weights
        included). Training only: validation and prediction see the images
        as they are; seeded by ``random_state``. With both ``mixup`` and
        ``cutmix``, each batch uses one of the two, at random.
    cutmix : float, default=0.0
        CutMix (Yun et al., 2019) when positive: a box covering a
        ``1 - lam`` share of each image (``lam`` from ``Beta(cutmix,
        cutmix)``) is pasted from another image of the batch, and targets
        and weights mix by the box's actual area. As ``mixup``, training
        only and seeded. Transfer estimators then train their head on the
        images rather than on features computed once.""",
    "fitted_attributes": """\
    Attributes
    ----------
    model_ : keras.Model
        The trained Keras model; it maps images ``(n, H, W, C)`` of dtype
        ``input_dtype_`` to class probabilities.
    classes_ : ndarray of shape (n_classes,)
        The class labels, in the order of the columns of ``predict_proba``;
        for a multi-label fit, the label (column) indices ``0..n_labels-1``.
    n_features_in_ : int
        Number of features of the input rows (``H*W*C``).
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in :meth:`fit`.
    input_dtype_ : numpy.dtype
        dtype the model was trained on: uint8 (0..255, rescaled by 1/255 in
        the model's input stage) or float32 (used as is). Images of the other
        dtype are converted at prediction (uint8 / 255, or float * 255
        rounded to uint8).
    history_ : dict of str to list of float
        Keras' per-epoch history: "loss", "accuracy" and, with validation
        data, "val_loss", "val_accuracy"; over all training phases, and
        extended by warm-started fits and ``partial_fit``. For a multi-label fit "accuracy" is
        the share of (image, label) entries predicted right at 0.5.
    %(phase_starts)s
    loss_curve_ : list of float
        Training loss per epoch (``history_["loss"]``).
    validation_scores_ : list of float or None
        Validation accuracy per epoch (``history_["val_accuracy"]``), or None
        without validation data. After warm-started fits of which only some
        had validation data, the epochs of the others are NaN, in every
        validation list of ``history_``.
    best_validation_score_ : float or None
        Validation accuracy of the best epoch: the one whose weights early
        stopping restored, else the one with the lowest validation loss.
        None when the last fit had no validation data.
    n_iter_ : int
        Number of epochs run (in total, over warm-started fits and
        ``partial_fit`` calls, one epoch each).""",
    "notes": """\
    Notes
    -----
    The model is built the first time it is needed, so importing
    ``litterlearn`` never imports TensorFlow. Every :meth:`fit` starts from
    freshly initialised weights and optimizer state (unless ``warm_start``);
    :meth:`partial_fit` trains one more epoch of the current model.
    A fit is all or nothing: when it raises (bad input, a callback raising, a
    diverging loss, ``KeyboardInterrupt``), the estimator is left as it was.
    A training loss that turns non-finite stops the fit with a ValueError.

    To save memory and time, a fit reuses an already built model of the same
    architecture that no fit is using and no live estimator holds (Keras
    never returns the memory of a built model), re-initialised exactly as a
    new one; fits running at once in threads never share a model. A Keras
    model taken from ``model_`` may therefore be re-initialised and trained
    by a later fit once its estimator is refitted or deleted: keep the
    estimator, or switch reuse off with
    :func:`~litterlearn.neural_network.set_model_reuse`.

    Batch normalization layers predict with statistics recomputed over the
    whole training set after training (and after every epoch when there is
    validation data), not with Keras' moving averages, which are stale after
    the few steps per epoch of a small dataset.

    The first model built in a process configures TensorFlow's CPU threads
    and GPU memory growth with
    :func:`~litterlearn.utils.configure_tensorflow`'s defaults, unless it was
    called before (``configure_tensorflow(n_threads=0,
    gpu_memory_growth=False)`` keeps TensorFlow's own settings).

    Pickling (and ``joblib``, ``copy.deepcopy``) stores the Keras model in
    Keras' own ``.keras`` format, never as pickled code, and loads it in
    Keras' safe mode: a network holding a ``Lambda`` layer (Python code) or an
    unregistered custom layer is refused when pickled, with a ``TypeError``
    naming the layer.""",
}


FINE_TUNE_LAYERS_DOC = """\
    fine_tune_layers : int, "all" or None, default=None
        How much of the backbone phase 2 unfreezes, from the top: that many
        layers with weights (BatchNormalization layers count), "all" of
        them, or None for the backbone's top block (VGG: block5; ResNet50:
        the conv5 stage; MobileNetV2: block 16 and the last convolution;
        EfficientNetB0: block 7 and the top convolution; DenseNet121: the
        conv5 dense block)."""

FINE_TUNE_BLOCKS_DOC = """\
    fine_tune_blocks : int, default=1
        How many of VGG16's five convolutional blocks phase 2 unfreezes, from
        the top: 1 is block5 (its three 3x3 convolutions with 512 filters),
        5 is the whole backbone, 0 only the head."""

_DOCS["backbone_parameter"] = BACKBONE_PARAMETER
_DOCS["transfer_parameters"] = """\
    weights : "imagenet", path or None, default="imagenet"
        "imagenet": Keras' ImageNet weights, which Keras downloads into its
        cache (``$KERAS_HOME/models``, by default ``~/.keras/models``) on
        first use, or finds there. Offline, pre-fetch the file on a machine
        with internet and copy it there or pass its path: the error of a
        failed download says how. A path: a weights file of the backbone
        without its top (the file Keras caches, or one saved with
        ``save_weights``). None: random weights, seeded by ``random_state``.
    input_size : int, (int, int) or None, default=None
        ``(height, width)`` the images are resized to inside the model
        (bilinear), at least 32. None: the backbone's default, 224, the size
        of its ImageNet training. Smaller is faster; features of small
        objects may suffer.
    pooling : {"avg", "max", "cls"}, default="avg"
        Global pooling of the backbone's last feature map into the head's
        input. For a transformer (a KerasHub ViT, DeiT or DINOv2 preset),
        "cls" takes the class token, "avg" and "max" pool the patch tokens.
    hidden_layer_sizes : array-like of int, default=(256,)
        Units of each dense hidden layer of the new head; ``()`` gives a
        softmax regression on the pooled features.
    activation : str, default="relu"
        Activation of the head's hidden layers (as in
        :class:`MLPImageClassifier`).
    dropout : float, default=0.5
        Dropout rate after each hidden layer of the head (0 for none).
    fine_tune_max_iter : int, default=%(fine_tune_max_iter)s
        Epochs of phase 2, fine-tuning; 0 trains the head only.
    %(fine_tune_what)s
    fine_tune_learning_rate : float, default=1e-5
        Learning rate of phase 2 (a fresh optimizer of the same kind), also
        when ``optimizer`` is an instance (whose own rate or schedule applies
        to phase 1). Keep it small: large steps destroy the pretrained
        features.
    fine_tune_layer_decay : float in (0, 1], default=1.0
        Layer-wise rate decay in phase 2 (timm's layer decay, fastai's
        discriminative rates): the head and the top block of the backbone
        train at ``fine_tune_learning_rate``, and each deeper block of the
        unfrozen backbone at this factor times the rate of the block above
        (blocks as the backbone names them: VGG's ``block5``, ResNet's
        ``conv5``...). 1.0: one rate for all.
    fine_tune_batchnorm : bool, default=False
        False: the backbone's BatchNormalization layers stay frozen in both
        phases, in inference mode (their moving statistics, scale and offset
        never change; Keras' transfer-learning advice, since a few small
        batches give poor statistics). True: those in the unfrozen top train
        in phase 2 (scale, offset and statistics of the training batches).
    memory : None, str or joblib.Memory, default=None
        Where to cache the backbone's features across fits (as in
        ``Pipeline``), keyed on the images, the backbone, its weights (file
        and modification time, or seed) and the input size: a grid search
        over head parameters computes them once. Within one fit they are
        computed once anyway."""

_DOCS["max_iter"] = "200"
_DOCS["phase_starts"] = """\
    phase_starts_ : dict of str to int
        Index in ``history_`` of the first epoch of each training phase of
        the last fit, by phase name (MLP and CNN train in one phase,
        "train": ``{"train": 0}``, later with warm starts; ``partial_fit``
        calls keep the phases begun before)."""
TRANSFER_PHASE_STARTS = """\
    phase_starts_ : dict of str to int
        Index in ``history_`` of the first epoch of each phase: "head" and,
        with fine-tuning, "fine_tune" (``partial_fit`` calls go through the
        phases as a fit would, and keep the phases begun before).
    fine_tune_start_ : int or None
        Index in ``history_`` of the first fine-tuning epoch; None without
        fine-tuning."""

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def fill_doc(**slots):
    """Fill the ``%(name)s`` placeholders of a class docstring.

    The shared blocks above, and ``slots`` (a class's own text or defaults),
    which may hold placeholders in turn (resolved here first); the filling
    itself is ``litterlearn.utils._docstrings.fill_doc``'s. A block starts at
    the placeholder's indentation (four spaces).
    """
    blocks = {k: str(v) for k, v in {**_DOCS, **slots}.items()}
    for _ in range(len(blocks)):  # blocks inside blocks, to any depth
        nested = {k: _PLACEHOLDER.sub(_filler(blocks), v) for k, v in blocks.items()}
        if nested == blocks:
            break
        blocks = nested
    return _fill_doc(**{k: _block(v) for k, v in blocks.items()})


def _filler(blocks):
    """The text of a placeholder match (kept as is when no block has it)."""
    return lambda match: _block(blocks.get(match.group(1), match.group(0)))


def _block(text):
    return text[4:] if text.startswith("    ") else text


def transfer_doc(*, fine_tune_max_iter, fine_tune_what):
    """:func:`fill_doc` for a transfer classifier: its defaults and phases."""
    return fill_doc(
        max_iter=20,
        fine_tune_max_iter=fine_tune_max_iter,
        fine_tune_what=fine_tune_what,
        phase_starts=TRANSFER_PHASE_STARTS,
    )
