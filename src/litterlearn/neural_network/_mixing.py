"""Batch mixing (MixUp, CutMix) and label smoothing, on soft targets.

Both work on a training batch as NumPy arrays, without Keras, so that the
estimators apply them on the fly in their input pipeline:

- :func:`mix_batch`: MixUp (Zhang et al., 2018) or CutMix (Yun et al., 2019)
  of a batch with a random permutation of itself: images of different
  classes mix (as may two of the same), targets and sample weights mix in
  the same proportion;
- :func:`smooth_targets`: label smoothing of one-hot targets, as Keras'
  ``CategoricalCrossentropy(label_smoothing=...)`` does it.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["mix_batch", "smooth_targets"]


def _check_alpha(value, name):
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"{name} must be a finite number >= 0 (the alpha of the Beta "
            f"distribution of the mixing ratio; 0 turns it off); got {value!r}."
        )
    return float(value)


def mix_batch(images, targets, sample_weight, rng, *, mixup=0.0, cutmix=0.0):
    """MixUp or CutMix one training batch with a permutation of itself.

    Per batch: when both ``mixup`` and ``cutmix`` are > 0, one of the two is
    chosen, each with probability 1/2; the mixing ratio ``lam`` is drawn
    from ``Beta(alpha, alpha)`` of the chosen method; each image's partner
    is the image at the same place in a random permutation of the batch.

    - MixUp: ``x = lam * x + (1 - lam) * x[perm]``. uint8 images are mixed
      in float32, rounded to the nearest integer and stored back as uint8
      (so a pixel is off by at most 0.5 from the exact mix); float images
      keep their dtype.
    - CutMix: a box of area ``(1 - lam) * H * W`` (sides ``sqrt(1 - lam)``
      times the image's), centred on a uniformly drawn pixel and clipped to
      the image, is pasted from the partner at the same place (one box for
      the whole batch). ``lam`` then becomes the share of the image left
      uncovered, ``1 - box area / (H * W)``, as in the CutMix paper.

    Targets mix as the images: ``t = lam * t + (1 - lam) * t[perm]``, and so
    do the sample weights, ``w = lam * w + (1 - lam) * w[perm]``: a mixed
    image is ``lam`` of its own image and ``1 - lam`` of its partner, so it
    counts in the loss as that mix of the two images' weights. With class
    weights folded into ``w``, a minority image keeps its share of the weight
    in every mix, and the expected weight of each original image over the
    permutations is unchanged.

    The random draws, in order, all from ``rng``: the choice of method
    (``rng.random() < 0.5`` picks MixUp; only when both are on), ``lam``
    (``rng.beta(alpha, alpha)``), the permutation
    (``rng.permutation(batch_size)``), and, for CutMix, the box centre
    (``rng.integers(H)`` then ``rng.integers(W)``). The same ``rng`` state
    gives the same batch. With both alphas 0, nothing is drawn and the
    inputs are returned as they are.

    Parameters
    ----------
    images : ndarray of shape (batch_size, H, W, C)
        uint8 (0..255) or float.
    targets : ndarray of shape (batch_size, n_outputs)
        One-hot, soft, or 0/1 multi-label indicator targets.
    sample_weight : ndarray of shape (batch_size,) or None
    rng : numpy.random.Generator
    mixup, cutmix : float, default=0.0
        The alpha of the Beta distribution of ``lam`` for each method
        (1: ``lam`` uniform; small: ``lam`` near 0 or 1, mild mixes); 0
        turns the method off.

    Returns
    -------
    images : ndarray
        Same shape and dtype as the input.
    targets : ndarray of float32
        Same shape as the input.
    sample_weight : ndarray of float32, or None
        None when the input was None.
    """
    mixup = _check_alpha(mixup, "mixup")
    cutmix = _check_alpha(cutmix, "cutmix")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)); "
            f"got {type(rng).__name__}."
        )
    images = np.asarray(images)
    targets = np.asarray(targets)
    if images.ndim != 4:
        raise ValueError(
            f"images must be a batch of shape (batch_size, H, W, C); got shape "
            f"{images.shape}."
        )
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"images must be uint8 or float; got {images.dtype}.")
    n = len(images)
    if targets.ndim != 2 or len(targets) != n:
        raise ValueError(
            f"targets must have shape (batch_size, n_outputs) = ({n}, k) for "
            f"{n} images; got shape {targets.shape}."
        )
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
        if sample_weight.shape != (n,):
            raise ValueError(
                f"sample_weight must have shape ({n},) for {n} images; got "
                f"shape {sample_weight.shape}."
            )
    if not mixup and not cutmix:
        return images, targets, sample_weight
    # Both on: a fair coin decides (the first draw); else the one that is.
    use_mixup = bool(rng.random() < 0.5) if mixup and cutmix else bool(mixup)
    lam = float(rng.beta(mixup, mixup) if use_mixup else rng.beta(cutmix, cutmix))
    perm = rng.permutation(n)
    if use_mixup:
        mixed = _mixup_images(images, perm, lam)
    else:
        mixed, lam = _cutmix_images(images, perm, lam, rng)
    targets = targets.astype(np.float32, copy=False)
    targets = (lam * targets + (1 - lam) * targets[perm]).astype(np.float32)
    if sample_weight is not None:
        weight = sample_weight.astype(np.float32, copy=False)
        sample_weight = (lam * weight + (1 - lam) * weight[perm]).astype(np.float32)
    return mixed, targets, sample_weight


def _mixup_images(images, perm, lam):
    if images.dtype == np.uint8:
        x = images.astype(np.float32)
        mixed = np.float32(lam) * x + np.float32(1 - lam) * x[perm]
        return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    lam = images.dtype.type(lam)
    return (lam * images + (1 - lam) * images[perm]).astype(images.dtype)


def _cutmix_box(height, width, lam, rng):
    """The box ``(y1, y2, x1, x2)`` of CutMix for ``lam``, clipped."""
    ratio = math.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy, cx = int(rng.integers(height)), int(rng.integers(width))
    y1, y2 = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, height)
    x1, x2 = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, width)
    return int(y1), int(y2), int(x1), int(x2)


def _cutmix_images(images, perm, lam, rng):
    height, width = images.shape[1:3]
    y1, y2, x1, x2 = _cutmix_box(height, width, lam, rng)
    mixed = images.copy()
    mixed[:, y1:y2, x1:x2] = images[perm, y1:y2, x1:x2]
    lam = 1.0 - (y2 - y1) * (x2 - x1) / (height * width)
    return mixed, lam


def smooth_targets(targets_onehot, label_smoothing, *, multilabel=False):
    """Label smoothing: ``(1 - eps) * t + eps / K``, Keras' definition.

    With ``K`` the number of classes (columns), this is what
    ``keras.losses.CategoricalCrossentropy(label_smoothing=eps)`` does to its
    targets. With ``multilabel=True`` each column is a binary target of its
    own (``K = 2``: ``(1 - eps) * t + eps / 2``), as in Keras'
    ``BinaryCrossentropy(label_smoothing=eps)``.

    Parameters
    ----------
    targets_onehot : ndarray of shape (n_samples, K)
        One-hot (or soft) targets.
    label_smoothing : float
        ``eps`` in ``[0, 1)``; 0 returns the targets (as float32).
    multilabel : bool, default=False

    Returns
    -------
    targets : ndarray of float32, shape (n_samples, K)
    """
    if (
        not isinstance(label_smoothing, numbers.Real)
        or isinstance(label_smoothing, bool)
        or not 0 <= label_smoothing < 1
    ):
        raise ValueError(
            f"label_smoothing must be a number in [0, 1); got {label_smoothing!r}."
        )
    targets = np.asarray(targets_onehot, dtype=np.float32)
    if targets.ndim != 2:
        raise ValueError(
            f"targets must have shape (n_samples, n_classes); got shape "
            f"{targets.shape}."
        )
    k = 2 if multilabel else targets.shape[1]
    eps = np.float32(label_smoothing)
    return (1 - eps) * targets + eps / np.float32(k)
