"""Recipes: estimators configured for a job, measured in benchmarks/.

A recipe is a function that returns an ordinary, unfitted estimator with
parameters chosen (and measured) for a situation. It changes no default: the
estimators' own defaults reproduce the course's networks.
"""

from __future__ import annotations

import numbers

from ._cnn import CNNImageClassifier
from ._transfer import TransferImageClassifier

__all__ = ["make_small_data_cnn", "make_small_data_transfer", "small_data_epochs"]

# Gradient passes over the images (epochs x images) a fit gets, within
# bounds on the epochs: small sets get more epochs, large ones fewer, so
# the cost of a fit grows slower than the set (benchmarks/bench_small_data.py).
_IMAGE_PASSES = 20_000
_EPOCH_BOUNDS = (15, 60)


def _check_n_samples(n_samples):
    """Raise unless ``n_samples`` is a positive int (a number of images)."""
    whole = isinstance(n_samples, numbers.Integral) and not isinstance(n_samples, bool)
    if not whole or n_samples < 1:
        raise ValueError(
            f"n_samples must be a positive int (the number of training images); "
            f"got {n_samples!r}."
        )


def small_data_epochs(n_samples):
    """Number of epochs :func:`make_small_data_cnn` trains for ``n_samples``.

    About 20000 image passes, bounded to 15..60 epochs: 60 epochs up to 333
    images, 20 for 1000, 15 from about 1300 on.

    Parameters
    ----------
    n_samples : int
        Number of training images.

    Returns
    -------
    epochs : int

    Examples
    --------
    >>> from litterlearn.neural_network import small_data_epochs
    >>> [small_data_epochs(n) for n in (100, 300, 1000, 3000)]
    [60, 60, 20, 15]
    """
    _check_n_samples(n_samples)
    low, high = _EPOCH_BOUNDS
    return int(min(high, max(low, round(_IMAGE_PASSES / n_samples))))


def make_small_data_cnn(n_samples, *, random_state=None):
    """A CNN configured for a few hundred to a few thousand small images.

    The course's CNN (three 16-filter convolutions, flatten, softmax) is
    tuned for 50x50 binary problems. On small multi-class sets of small
    gray images (28x28 Fashion-MNIST and MNIST), this configuration beat
    the best scikit-learn baseline on pixels (a cross-validated RBF SVC or
    logistic regression) at every training size measured from 300 images
    up (``benchmarks/bench_small_data.py``; the user guide's "Deep learning
    on a small dataset" gives the numbers and the reasons):

    - convolutions of 16, 32 and 64 filters, each keeping its input size
      (``padding="same"``), with max pooling between them: more filters
      where the maps are small, so the cost stays near the course's;
    - one hidden layer of 128 units, with dropout 0.5 before it and before
      the output;
    - batches of 32 and :func:`small_data_epochs` epochs (60 for the
      smallest sets, 15 from about 1300 images on);
    - label smoothing 0.1 (``label_smoothing=0.1``): the one-hot targets
      become ``0.9 * one_hot + 0.01`` for 10 classes, so the loss stops
      pushing a class's probability towards 1 on the few training images.
      Of the training knobs measured one at a time on this network
      (``benchmarks/bench_training_recipes.py``: cosine and one-cycle
      schedules, weight decay, label smoothing, MixUp, CutMix), it is the
      one that helped on both datasets, at 50 and 100 images per class, on
      every seed (3 each): at 50 per class +0.9 points on Fashion-MNIST
      (0.801 to 0.810, worst seed +0.7) and +1.2 on MNIST (0.937 to 0.949,
      worst seed +0.5); at 100 per class +1.2 and +0.7. MixUp helped less
      (+0.3 to +0.8, a seed below the recipe in three of the four cells)
      and added nothing on top of label smoothing; the schedules, weight
      decay and CutMix did not help. The comparisons with the baselines above
      were measured before label smoothing joined the recipe.

    No ``BatchNormalization``: with a few gradient steps per epoch (100
    images are 4 batches) its moving statistics lag behind the weights and
    the predictions collapse, and without it the network does as well from
    300 images on.

    It returns an ordinary :class:`CNNImageClassifier`: change anything with
    ``set_params``, tune it in a grid search, put it in a pipeline.

    Parameters
    ----------
    n_samples : int
        Number of training images the estimator will be fitted on; it sets
        ``max_iter`` (see :func:`small_data_epochs`).
    random_state : int, RandomState instance or None, default=None
        The estimator's ``random_state``.

    Returns
    -------
    estimator : CNNImageClassifier
        Unfitted.

    See Also
    --------
    CNNImageClassifier : The estimator, whose defaults are the course's CNN.
    small_data_epochs : The epochs for a training size.

    Examples
    --------
    >>> from litterlearn.neural_network import make_small_data_cnn
    >>> clf = make_small_data_cnn(300, random_state=0)
    >>> clf.get_params()["filters"], clf.max_iter, clf.label_smoothing
    ((16, 32, 64), 60, 0.1)
    """
    return CNNImageClassifier(
        filters=(16, 32, 64),
        padding="same",
        hidden_layer_sizes=(128,),
        dropout=0.5,
        batch_size=32,
        max_iter=small_data_epochs(n_samples),
        label_smoothing=0.1,
        random_state=random_state,
    )


# make_small_data_transfer (benchmarks/bench_small_data_transfer.py): the
# training size from which the whole backbone is fine-tuned after the head,
# the head's epochs (on features computed once) and fine-tuning's epochs and
# rate.
_FINE_TUNE_FROM = 100
_HEAD_EPOCHS = 300
_FINE_TUNE_EPOCHS = 15
_FINE_TUNE_RATE = 1e-4


def make_small_data_transfer(
    n_samples,
    *,
    backbone="mobilenet_v2",
    weights="imagenet",
    input_size=None,
    random_state=None,
):
    """A transfer classifier configured for a few dozen to a few hundred images.

    A pretrained backbone's pooled features, a linear head, then the whole
    backbone fine-tuned at a low rate. With real pretrained MobileNetV2
    weights on Fashion-MNIST at 10 images per class (28x28 images enlarged
    to 160x160 inside the model), it reached 0.773 +- 0.004: 8.4 points
    above the small-data CNN (:func:`make_small_data_cnn`) and 8.3 above an
    RBF SVC on the pixels (worst seed 6.4 and 5.8), and 1.3 above a logistic
    regression on the same frozen features (worst seed 0.8), over 3 seeds;
    at 50 per class, 0.839 +- 0.005: 3.3 points above the CNN (worst seed
    1.7), 5.2 above the SVC and 3.3 above the logistic regression
    (``benchmarks/bench_small_data_transfer.py``; the user guide's "Does
    pretraining help here?"):

    - the head is linear (``hidden_layer_sizes=()``: a softmax regression on
      the features) with the L2 penalty of scikit-learn's
      ``LogisticRegression(C=1)``: ``alpha = 0.5 / n_samples``, since Keras
      adds the penalty to the mean loss where scikit-learn adds it to the
      summed one. It trains 300 epochs on features computed once, so it is
      cheap, and it does what that logistic regression does (0.761 both);
      the estimator's default head (``Dense(256)`` with dropout), or this
      one without the penalty for 100 epochs, trailed it by about a point;
    - from 100 training images on, every layer of the backbone is then
      fine-tuned for 15 epochs at a rate of 1e-4 (``fine_tune_layers="all"``,
      ``fine_tune_learning_rate=1e-4``), BatchNormalization keeping its
      statistics (``fine_tune_batchnorm=False``). This added 1.2 points to
      the head alone at 10 images per class, on every seed (0.7 to 1.7),
      and 2.9 at 50 per class, for many times the fitting time;
      a rate of 3e-4 lost 3.5 points (one seed); fine-tuning only the top
      layers was no better and varied more between seeds. Below 100 images
      the head alone trains: at 5 per class fine-tuning lost a point
      (0.701 against 0.711, worse on 2 seeds of 3), and the head tied the
      logistic regression (0.711 against 0.709) with 7 points over the CNN
      and the SVC.

    It returns an ordinary :class:`TransferImageClassifier`: change anything
    with ``set_params`` (``fine_tune_max_iter=0`` keeps the backbone frozen,
    many times faster), tune it in a grid search, put it in a pipeline.

    Parameters
    ----------
    n_samples : int
        Number of training images the estimator will be fitted on; it sets
        the head's penalty (``alpha``) and whether the backbone is
        fine-tuned (``fine_tune_max_iter``).
    backbone : str, keras.Model, path, ModelBackbone or BackboneSpec, \
default="mobilenet_v2"
        The backbone, as :class:`TransferImageClassifier` takes it; the
        measurements above are MobileNetV2's.
    weights : "imagenet", path or None, default="imagenet"
        Its pretrained weights (``"imagenet"``: Keras' download or cache; a
        path: a local weights file).
    input_size : int, (int, int) or None, default=None
        The side images are resized to inside the model; None: the
        backbone's own (224 for MobileNetV2). Small images gain from being
        enlarged: the frozen features of 28x28 images separated
        Fashion-MNIST's classes 2 points better at 160 than at 96.
    random_state : int, RandomState instance or None, default=None
        The estimator's ``random_state``.

    Returns
    -------
    estimator : TransferImageClassifier
        Unfitted.

    See Also
    --------
    TransferImageClassifier : The estimator.
    make_small_data_cnn : The small-data CNN, trained from scratch.
    litterlearn.preprocessing.PretrainedFeatures : The frozen features for
        a scikit-learn model.

    Examples
    --------
    >>> from litterlearn.neural_network import make_small_data_transfer
    >>> clf = make_small_data_transfer(200, input_size=160, random_state=0)
    >>> clf.hidden_layer_sizes, clf.alpha, clf.fine_tune_max_iter
    ((), 0.0025, 15)
    >>> make_small_data_transfer(50).fine_tune_max_iter
    0
    """
    _check_n_samples(n_samples)
    return TransferImageClassifier(
        backbone,
        weights=weights,
        input_size=input_size,
        hidden_layer_sizes=(),
        alpha=0.5 / n_samples,
        max_iter=_HEAD_EPOCHS,
        fine_tune_max_iter=_FINE_TUNE_EPOCHS if n_samples >= _FINE_TUNE_FROM else 0,
        fine_tune_layers="all",
        fine_tune_learning_rate=_FINE_TUNE_RATE,
        random_state=random_state,
    )
