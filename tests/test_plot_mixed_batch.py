"""plot_mixed_batch: a batch next to its MixUp/CutMix mix, with soft labels."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from litterlearn.plotting import plot_mixed_batch


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def flat_images(n=6, size=10):
    """Image i is flat at its own gray value; its label is its own class."""
    values = np.arange(n) * 40 + 15
    X = np.repeat(values[:, None], size * size, axis=1).astype(np.uint8)
    return X, np.arange(n), values


def shares(title, names):
    """{class name: share} from a mixed image's title."""
    out = {}
    for line in title.splitlines():
        share, name = line.split(" ", 1)
        assert name in names
        out[name] = float(share)
    return out


def test_cutmix_titles_give_each_class_its_share_of_the_pixels():
    X, y, values = flat_images()
    names = [f"c{k}" for k in y]
    fig = plot_mixed_batch(
        X, y, cutmix=1.0, n_images=6, random_state=3, target_names=names
    )
    axes = fig.axes
    assert len(axes) == 12
    assert [ax.get_title() for ax in axes[:6]] == names
    mixed_any = False
    for i, ax in enumerate(axes[6:]):
        pixels = np.asarray(ax.images[0].get_array())
        got = shares(ax.get_title(), names)
        assert sum(got.values()) == pytest.approx(1.0, abs=0.011)
        # Every pixel is the image's own value or its partner's, and the
        # title's shares are the shares of the pixels.
        for name, share in got.items():
            fraction = np.mean(pixels == values[names.index(name)])
            assert fraction == pytest.approx(share, abs=0.006)
        assert np.isin(pixels, values).all()
        assert names[i] in got or np.mean(pixels == values[i]) == 0
        mixed_any |= len(got) == 2
    assert mixed_any


def test_mixup_titles_give_the_ratio_of_the_blend():
    X, y, values = flat_images()
    names = [f"c{k}" for k in y]
    fig = plot_mixed_batch(
        X, y, mixup=1.0, n_images=6, random_state=0, target_names=names
    )
    for ax in fig.axes[6:]:
        pixels = np.asarray(ax.images[0].get_array())
        got = shares(ax.get_title(), names)
        blend = sum(s * values[names.index(n)] for n, s in got.items())
        # Flat images blend to a flat image at the titles' mix of the two.
        assert np.ptp(pixels) == 0
        assert pixels.flat[0] == pytest.approx(blend, abs=2.0)


def test_same_seed_same_mix_and_other_seed_another():
    X, y, _ = flat_images()

    def drawn(seed):
        fig = plot_mixed_batch(X, y, mixup=0.4, cutmix=1.0, random_state=seed)
        return [np.asarray(ax.images[0].get_array()).copy() for ax in fig.axes[6:]]

    assert all(np.array_equal(a, b) for a, b in zip(drawn(1), drawn(1), strict=True))
    assert not all(
        np.array_equal(a, b) for a, b in zip(drawn(1), drawn(2), strict=True)
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "mixup > 0 or cutmix > 0"),
        ({"mixup": 0.2, "n_images": 1}, "at least 2 images"),
        ({"mixup": -1.0}, "mixup must be a finite number >= 0"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, match):
    X, y, _ = flat_images()
    with pytest.raises(ValueError, match=match):
        plot_mixed_batch(X, y, **kwargs)


def test_labels_must_match_the_images():
    X, y, _ = flat_images()
    with pytest.raises(ValueError, match="one label per image"):
        plot_mixed_batch(X, y[:3], mixup=0.2)
