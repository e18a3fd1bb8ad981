"""MixUp and CutMix of training batches (neural_network._knobs)."""

import math

import numpy as np
import pytest

from litterlearn.neural_network._knobs import mix_batch


def _batch(n=6, h=8, w=10, c=3, dtype=np.uint8):
    """Image i filled with one value per channel; two classes, one-hot."""
    values = np.arange(n * c).reshape(n, 1, 1, c) * 11 % 250
    images = np.broadcast_to(values, (n, h, w, c)).astype(dtype)
    labels = np.arange(n) % 2
    targets = np.eye(2, dtype=np.float32)[labels]
    weights = np.linspace(0.5, 3.0, n)
    return images, targets, weights


def test_mixup_of_a_hand_computed_batch():
    images, targets, weights = _batch()
    alpha = 0.4
    replay = np.random.default_rng(7)
    lam = replay.beta(alpha, alpha)
    perm = replay.permutation(len(images))
    assert (perm != np.arange(len(images))).any()

    got_x, got_t, got_w = mix_batch(
        images, targets, weights, np.random.default_rng(7), mixup=alpha
    )
    exact = lam * images.astype(float) + (1 - lam) * images[perm].astype(float)
    assert got_x.dtype == np.uint8 and got_x.shape == images.shape
    # Mixed in float32, rounded to the nearest integer.
    assert np.abs(got_x - exact).max() <= 0.5 + 1e-3
    np.testing.assert_allclose(got_t, lam * targets + (1 - lam) * targets[perm], 1e-6)
    np.testing.assert_allclose(got_w, lam * weights + (1 - lam) * weights[perm], 1e-6)
    assert got_t.dtype == np.float32 and got_w.dtype == np.float32
    np.testing.assert_allclose(got_t.sum(axis=1), 1.0, rtol=1e-6)
    # Images of different classes mixed: their targets are soft.
    crossed = targets.argmax(1) != targets[perm].argmax(1)
    assert crossed.any()
    assert np.all((got_t[crossed] > 0) & (got_t[crossed] < 1))


def test_cutmix_of_a_hand_computed_batch():
    images, targets, weights = _batch(h=8, w=10)
    alpha = 1.0
    replay = np.random.default_rng(3)
    lam0 = replay.beta(alpha, alpha)
    perm = replay.permutation(len(images))
    cy, cx = replay.integers(8), replay.integers(10)
    cut_h, cut_w = int(8 * math.sqrt(1 - lam0)), int(10 * math.sqrt(1 - lam0))
    y1, y2 = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, 8)
    x1, x2 = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, 10)
    assert (y2 - y1) * (x2 - x1) > 0, "pick a seed whose box is not empty"
    expected = images.copy()
    expected[:, y1:y2, x1:x2] = images[perm, y1:y2, x1:x2]
    lam = 1 - (y2 - y1) * (x2 - x1) / 80  # the share left uncovered

    got_x, got_t, got_w = mix_batch(
        images, targets, weights, np.random.default_rng(3), cutmix=alpha
    )
    np.testing.assert_array_equal(got_x, expected)
    np.testing.assert_allclose(got_t, lam * targets + (1 - lam) * targets[perm], 1e-6)
    np.testing.assert_allclose(got_w, lam * weights + (1 - lam) * weights[perm], 1e-6)
    # Each mixed image holds exactly lam of its own pixels.
    own = (got_x == images).all(axis=-1).mean(axis=(1, 2))
    changed = (images != images[perm]).any(axis=(1, 2, 3))
    np.testing.assert_allclose(own[changed], lam)


def test_with_both_each_method_is_chosen_half_the_time():
    images, targets, _ = _batch(n=4, h=6, w=6, c=1, dtype=np.float32)
    mixup_batches = 0
    for seed in range(200):
        x, t, _ = mix_batch(
            images, targets, None, np.random.default_rng(seed), mixup=1.0, cutmix=1.0
        )
        replay = np.random.default_rng(seed)
        chose_mixup = replay.random() < 0.5
        # MixUp of constant images gives constant images; CutMix pastes a box.
        constant = np.allclose(x, x[:, :1, :1, :])
        moved = not np.array_equal(x, images)
        if moved:
            assert constant == chose_mixup, seed
        mixup_batches += chose_mixup
    assert 70 < mixup_batches < 130


def test_zero_alphas_leave_the_batch_and_the_generator_untouched():
    images, targets, weights = _batch()
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    x, t, w = mix_batch(images, targets, weights, rng)
    assert x is images and t is targets and w is weights
    assert rng.bit_generator.state == state


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("method", ["mixup", "cutmix"])
def test_shapes_and_dtypes_are_kept(dtype, method):
    images, targets, _ = _batch(dtype=dtype)
    if dtype != np.uint8:
        images = images / 255.0
        images = images.astype(dtype)
    x, t, w = mix_batch(
        images, targets, None, np.random.default_rng(1), **{method: 0.5}
    )
    assert x.shape == images.shape and x.dtype == dtype
    assert t.shape == targets.shape and t.dtype == np.float32
    assert w is None
    assert not np.shares_memory(x, images)  # the input is never written
    if dtype != np.uint8:
        assert x.min() >= images.min() and x.max() <= images.max()


def test_multilabel_indicators_mix_per_column():
    images, _, _ = _batch(n=4)
    targets = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0], [1, 1, 0]], np.float32)
    replay = np.random.default_rng(5)
    lam = replay.beta(0.3, 0.3)
    perm = replay.permutation(4)
    _, t, _ = mix_batch(images, targets, None, np.random.default_rng(5), mixup=0.3)
    np.testing.assert_allclose(t, lam * targets + (1 - lam) * targets[perm], 1e-6)


def test_the_same_generator_state_gives_the_same_batch():
    images, targets, weights = _batch()
    runs = [
        mix_batch(
            images, targets, weights, np.random.default_rng(s), mixup=0.4, cutmix=1.0
        )
        for s in (11, 11, 12)
    ]
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(runs[0], runs[2], strict=True))


def test_unit_weights_stay_unit_weights():
    images, targets, _ = _batch()
    weights = np.ones(len(images))
    _, _, w = mix_batch(images, targets, weights, np.random.default_rng(0), cutmix=1)
    np.testing.assert_allclose(w, 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"mixup": -0.1}, ValueError, "mixup must be a finite number >= 0"),
        ({"cutmix": float("nan")}, ValueError, "cutmix must be"),
        ({"mixup": True}, ValueError, "mixup must be"),
        ({"rng": np.random.RandomState(0)}, TypeError, "numpy.random.Generator"),
        ({"rng": 0}, TypeError, "numpy.random.Generator"),
        ({"images": np.zeros((6, 8, 10), np.uint8)}, ValueError, "images must be"),
        ({"images": np.zeros((6, 2, 2, 1), np.int16)}, ValueError, "uint8 or float"),
        ({"targets": np.zeros((5, 2))}, ValueError, "targets must have shape"),
        ({"targets": np.zeros(6)}, ValueError, "targets must have shape"),
        ({"sample_weight": np.ones(5)}, ValueError, "sample_weight must have shape"),
    ],
)
def test_bad_input_is_named(kwargs, error, match):
    images, targets, weights = _batch()
    args = {
        "images": images,
        "targets": targets,
        "sample_weight": weights,
        "rng": np.random.default_rng(0),
        "mixup": 0.5,
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        mix_batch(
            args.pop("images"),
            args.pop("targets"),
            args.pop("sample_weight"),
            args.pop("rng"),
            **args,
        )


# ---------------------------------------------------------- label smoothing
