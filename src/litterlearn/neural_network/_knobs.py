"""The training knobs' arithmetic, without Keras: schedules, decay, mixing.

- :func:`schedule_rate`: the learning rate of "cosine" and "one_cycle" at a
  step of a phase (the callback that applies it lives in the Keras layer);
- :func:`check_schedule` and :func:`check_weight_decay`: validation of
  ``learning_rate_schedule`` and ``weight_decay``;
- :func:`mix_batch`: MixUp (Zhang et al., 2018) or CutMix (Yun et al., 2019)
  of a batch with a random permutation of itself: images of different
  classes mix (as may two of the same), targets and sample weights mix in
  the same proportion;
- :func:`batch_transform`: what a training batch goes through on the fly
  (augmentation, then mixing), seeded per epoch and batch; the training plan
  hands it to the data pipeline.

The schedule formulas, with ``s`` the phase's step (from 0), ``T`` the phase's number of steps and ``r`` the base
rate; ``s`` is clipped to ``[0, T]``, so each schedule holds its final rate
after ``T``:

- "cosine" (Loshchilov and Hutter's SGDR, one cycle, no restart):
  ``r * (1 + cos(pi * s / T)) / 2``; ``r`` at step 0, ``r / 2`` at ``T / 2``,
  0 at ``T``.
- "one_cycle" (Smith's one-cycle policy, with the rates of fastai's
  ``fit_one_cycle``: ``div=25``, ``div_final=1e4``, ``pct_start=0.3``): with
  ``W = warmup_fraction * T``, a linear warm-up
  ``r / 25 + (r - r / 25) * s / W`` for ``s < W``, then a cosine annealing
  ``r / 1e4 + (r - r / 1e4) * (1 + cos(pi * (s - W) / (T - W))) / 2``;
  ``r / 25`` at step 0, ``r`` at ``W``, ``r / 1e4`` at ``T``. (fastai warms
  up along a half cosine; the linear warm-up is Smith's and PyTorch's
  ``OneCycleLR(anneal_strategy="linear")`` one.)
"""

from __future__ import annotations

import inspect
import math
import numbers

import numpy as np

from ..utils._sklearn_compat import HasMethods, StrOptions

__all__ = [
    "SCHEDULES",
    "SCHEDULE_CONSTRAINTS",
    "batch_transform",
    "check_schedule",
    "check_weight_decay",
    "mix_batch",
    "schedule_rate",
]

SCHEDULES = ("constant", "cosine", "one_cycle")
# For an estimator's ``_parameter_constraints``: the names, or an object with
# a schedule's methods (without importing Keras); :func:`check_schedule`
# then checks that such an object is a Keras ``LearningRateSchedule``.
SCHEDULE_CONSTRAINTS = [
    StrOptions(set(SCHEDULES)),
    HasMethods(["__call__", "get_config"]),
]

# fastai's fit_one_cycle: start at base / 25, end at base / 1e4, warm up 30%.
ONE_CYCLE_DIV = 25.0
ONE_CYCLE_DIV_FINAL = 1e4
ONE_CYCLE_WARMUP = 0.3


def schedule_rate(kind, base_rate, step, total_steps):
    """The rate of schedule ``kind`` ("cosine", "one_cycle") at ``step``."""
    s = min(max(float(step), 0.0), float(total_steps))
    if kind == "cosine":
        return base_rate * 0.5 * (1.0 + math.cos(math.pi * s / total_steps))
    low = base_rate / ONE_CYCLE_DIV
    final = base_rate / ONE_CYCLE_DIV_FINAL
    warmup = ONE_CYCLE_WARMUP * total_steps
    if s < warmup:
        return low + (base_rate - low) * s / warmup
    cosine = 0.5 * (1.0 + math.cos(math.pi * (s - warmup) / (total_steps - warmup)))
    return final + (base_rate - final) * cosine


def check_schedule(value, name="learning_rate_schedule"):
    """Return ``value`` if it is a valid schedule parameter, else raise.

    Valid: one of "constant", "cosine", "one_cycle", or a Keras
    ``LearningRateSchedule`` instance (whose class is then judged without
    importing Keras: a user who made one has Keras loaded).
    """
    if isinstance(value, str) and value in SCHEDULES:
        return value
    if not isinstance(value, str) and any(
        cls.__name__ == "LearningRateSchedule" for cls in type(value).__mro__
    ):
        return value
    options = ", ".join(repr(s) for s in SCHEDULES)
    raise ValueError(
        f"{name} must be one of {options} or a "
        f"keras.optimizers.schedules.LearningRateSchedule instance; got "
        f"{value!r}."
    )


def check_weight_decay(optimizer, weight_decay):
    """What to pass ``optimizer`` for decoupled weight decay ``weight_decay``.

    Keras 3 optimizers take ``weight_decay`` in their constructor and apply
    it decoupled from the gradient, as AdamW does (Loshchilov and Hutter):
    each step, before the update, every trained variable ``w`` becomes
    ``w - learning_rate * weight_decay * w``, whatever the loss.

    Parameters
    ----------
    optimizer : str or keras.optimizers.Optimizer
        An optimizer name of the estimators' ``optimizer`` parameter (all of
        Keras' optimizers take it), or an instance (a ``LossScaleOptimizer``
        is judged by the optimizer it wraps).
    weight_decay : float
        ``>= 0``. 0 (or None) asks for nothing: the optimizer keeps its own
        (Keras' ``AdamW`` has one by default).

    Returns
    -------
    kwargs : dict
        Keyword arguments for the optimizer's constructor (equally, entries
        for its ``get_config()`` before ``from_config``):
        ``{"weight_decay": weight_decay}``, or ``{}`` for 0.

    Raises
    ------
    ValueError
        For a negative or non-finite ``weight_decay``, or an optimizer class
        that does not take ``weight_decay``.
    """
    weight_decay = _non_negative(
        0.0 if weight_decay is None else weight_decay, "weight_decay"
    )
    if not weight_decay:
        return {}
    if isinstance(optimizer, str):
        # Every optimizer the estimators take by name is a Keras optimizer,
        # and every Keras optimizer takes weight_decay: nothing to import.
        return {"weight_decay": float(weight_decay)}
    instance = getattr(optimizer, "inner_optimizer", optimizer)
    cls = type(instance)
    kwargs = {"weight_decay": float(weight_decay)}
    label = cls.__name__
    reason = _weight_decay_refused(cls, instance, kwargs)
    if reason:
        raise ValueError(
            f"weight_decay={weight_decay!r} cannot be applied: the optimizer "
            f"{label} ({cls.__module__}.{cls.__qualname__}) {reason}. Use an "
            f"optimizer that takes weight_decay (every Keras optimizer does, "
            f"e.g. 'adamw' or 'sgd'), or weight_decay=0."
        )
    return kwargs


def _weight_decay_refused(cls, instance, kwargs):
    """Why ``cls`` cannot take ``kwargs`` (a phrase), or None."""
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # no signature: try it below
        parameters = {}
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    if parameters and "weight_decay" not in parameters and not takes_kwargs:
        return "does not take a weight_decay argument"
    if instance is None:
        return None
    # Rebuild the instance with the decay, as an estimator would, to be sure
    # the class keeps it (a **kwargs constructor may drop it).
    config = {**instance.get_config(), **kwargs}
    try:
        rebuilt = cls.from_config(config)
    except TypeError as exc:
        return f"cannot be rebuilt with weight_decay ({exc})"
    if getattr(rebuilt, "weight_decay", None) != kwargs["weight_decay"]:
        return "does not keep a weight_decay argument"
    return None


def _non_negative(value, name, what=""):
    """``value`` as a float if it is a finite number >= 0, else a clear error."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0{what}; got {value!r}.")
    return float(value)


def _check_alpha(value, name):
    what = " (the alpha of the Beta distribution of the mixing ratio; 0 turns it off)"
    return _non_negative(value, name, what)


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
    return mix_arrays(images, targets, sample_weight, rng, mixup=mixup, cutmix=cutmix)


def mix_arrays(images, targets, sample_weight, rng, *, mixup, cutmix):
    """:func:`mix_batch` on arrays already checked (the training batches)."""
    if not mixup and not cutmix:
        return images, targets, sample_weight
    # Both on: a fair coin decides (the first draw); else the one that is.
    use_mixup = bool(rng.random() < 0.5) if mixup and cutmix else bool(mixup)
    lam = float(rng.beta(mixup, mixup) if use_mixup else rng.beta(cutmix, cutmix))
    perm = rng.permutation(len(images))
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


def batch_transform(
    batch,
    index,
    targets,
    weights,
    epoch,
    number,
    *,
    plan_seed,
    augmentation,
    labels,
    mixup,
    cutmix,
):
    """One training batch augmented, then mixed: the plan's batch transform.

    ``index`` are the batch's rows in the training set and ``labels`` the
    training labels as in the user's ``y``; the augmentation of batch
    ``number`` of ``epoch`` draws from a generator seeded by ``(plan_seed,
    epoch, number)``, the mixing from one of its own, so a seeded fit is
    reproducible whatever order Keras asks for batches in.
    """
    out = batch
    if augmentation is not None:
        rng = np.random.default_rng([plan_seed, epoch, number])
        out = np.asarray(augmentation.augment_batch(batch, labels[index], rng))
        if out.shape != batch.shape or out.dtype != batch.dtype:
            raise ValueError(
                f"augmentation.augment_batch must return images of the shape "
                f"and dtype it was given, {batch.shape} {batch.dtype}; got "
                f"{out.shape} {out.dtype} from {augmentation!r}."
            )
    if mixup or cutmix:
        rng = np.random.default_rng([plan_seed, epoch, number, 1])
        return mix_arrays(out, targets, weights, rng, mixup=mixup, cutmix=cutmix)
    return out, targets, weights
