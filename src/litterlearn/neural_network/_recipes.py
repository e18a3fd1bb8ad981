"""Recipes: estimators configured for a job, measured in benchmarks/.

A recipe is a function that returns an ordinary, unfitted estimator with
parameters chosen (and measured) for a situation. It changes no default: the
estimators' own defaults reproduce the course's networks.
"""

from __future__ import annotations

import numbers

from ._cnn import CNNImageClassifier

__all__ = ["make_small_data_cnn", "small_data_epochs"]

# Gradient passes over the images (epochs x images) a fit gets, within
# bounds on the epochs: small sets get more epochs, large ones fewer, so
# the cost of a fit grows slower than the set (benchmarks/bench_small_data.py).
_IMAGE_PASSES = 20_000
_EPOCH_BOUNDS = (15, 60)


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
    whole = isinstance(n_samples, numbers.Integral) and not isinstance(n_samples, bool)
    if not whole or n_samples < 1:
        raise ValueError(
            f"n_samples must be a positive int (the number of training images); "
            f"got {n_samples!r}."
        )
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
