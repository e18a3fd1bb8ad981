"""GrayscaleNormalizer: numpy parameter values, channel counts, bad input."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.model_selection import ParameterGrid

from litterlearn.preprocessing import GrayscaleNormalizer


@pytest.fixture
def rgb(rng):
    return rng.integers(0, 256, (5, 6, 6, 3), dtype=np.uint8)


def test_numpy_true_standardizes_like_python_true(rgb):
    expected = GrayscaleNormalizer(standardize=True).fit_transform(rgb)
    assert abs(expected.mean()) < 1e-5 and abs(expected.std() - 1) < 1e-4
    out = GrayscaleNormalizer(standardize=np.True_).fit_transform(rgb)
    assert_allclose(out, expected)
    # ParameterGrid hands out numpy booleans when given an array of options.
    for params in ParameterGrid({"standardize": np.array([True, False])}):
        normalizer = GrayscaleNormalizer(**params).fit(rgb)
        reference = GrayscaleNormalizer(standardize=bool(params["standardize"]))
        assert_allclose(normalizer.transform(rgb), reference.fit_transform(rgb))
        assert (normalizer.mean_ is None) == (not params["standardize"])


def test_gray_alpha_ignores_the_alpha():
    la = np.zeros((2, 3, 3, 2), np.uint8)
    la[..., 0] = 102  # gray 0.4
    la[1, ..., 1] = 255  # one opaque image, one transparent
    out = GrayscaleNormalizer().fit_transform(la)
    assert_allclose(out, 0.4, atol=1e-6)


def test_rgba_ignores_the_alpha_too(rgb):
    rgba = np.concatenate([rgb, np.zeros_like(rgb[..., :1])], axis=-1)
    # The same float32 weighted sum of three channels, read from arrays of
    # another layout: vectorised kernels may round it differently by a few
    # ulp (float32 eps is 1.2e-7) on some CPUs; a value taken from the alpha
    # channel would be off by far more.
    eps = np.finfo(np.float32).eps
    assert_allclose(
        GrayscaleNormalizer().fit_transform(rgba),
        GrayscaleNormalizer().fit_transform(rgb),
        rtol=8 * eps,
        atol=8 * eps,
    )


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match=r"different shapes.*X\[1\]"):
        GrayscaleNormalizer().fit([np.zeros((4, 4)), np.zeros((5, 5))])
    with pytest.raises(ValueError, match="float32"):
        GrayscaleNormalizer().fit(np.full((2, 16), -1e300))
