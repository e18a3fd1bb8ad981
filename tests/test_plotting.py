"""Plotting helpers draw the right grids (Agg backend, no display)."""

import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from litterlearn.plotting import plot_augmentations, plot_images
from litterlearn.preprocessing import Augmenter


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_images_one_axes_per_image_with_titles():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (10, 6 * 9 * 3), np.uint8)
    labels = np.array([0, 1] * 5)
    preds = labels.copy()
    preds[3] = 0
    fig = plot_images(X, (6, 9, 3), labels=labels, predictions=preds, n_cols=4)
    assert len(fig.axes) == 10  # a 3x4 grid, the 2 spare cells removed
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[3] == "y=1 pred=0"
    wrong = [ax for ax in fig.axes if ax.title.get_color() == "tab:red"]
    assert wrong == [fig.axes[3]]
    assert all(len(ax.images) == 1 for ax in fig.axes)
    assert fig.axes[0].images[0].get_array().shape == (6, 9, 3)


@pytest.mark.parametrize(
    "X, shape",
    [
        (np.zeros((3, 16), np.float32), None),  # gray rows, inferred 4x4
        (np.zeros((3, 5, 7)), None),  # 3D
        (np.ones((3, 5, 7, 1), np.float32) * 4, None),  # floats outside [0, 1]
    ],
)
def test_plot_images_accepts_rows_and_arrays(X, shape):
    fig = plot_images(X, shape)
    assert len(fig.axes) == 3


def test_plot_images_max_images_and_existing_figure():
    fig = plt.figure()
    out = plot_images(np.zeros((50, 64), np.uint8), max_images=12, n_cols=6, fig=fig)
    assert out is fig and len(fig.axes) == 12


def test_plot_images_checks_label_length():
    with pytest.raises(ValueError, match="labels has 2 entries for 3 images"):
        plot_images(np.zeros((3, 16), np.uint8), labels=[0, 1])


def test_plot_augmentations_grid_of_originals_and_copies():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 10, 12, 3), np.uint8)
    aug = Augmenter(rotation=30, brightness=0.2, mixing=0.5)
    fig = plot_augmentations(
        aug, images, y=[0, 0, 1, 1, 0, 1], n_images=3, n_copies=4, random_state=0
    )
    assert len(fig.axes) == 3 * 5
    assert fig.axes[0].get_title() == "original y=0"
    assert fig.axes[1].get_title() == "copy 1"
    original = fig.axes[0].images[0].get_array()
    copy = fig.axes[1].images[0].get_array()
    np.testing.assert_array_equal(original, images[0])
    assert not np.array_equal(copy, images[0])


def test_plot_augmentations_uses_the_augmenters_image_shape():
    rows = np.zeros((4, 5 * 8), np.uint8)
    fig = plot_augmentations(Augmenter(image_shape=(5, 8)), rows, n_copies=2)
    assert len(fig.axes) == 4 * 3
    assert fig.axes[0].images[0].get_array().shape == (5, 8)


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install litterlearn\[plot\]"):
        plot_images(np.zeros((1, 16), np.uint8))


def test_plot_history_training_and_validation_curves():
    from litterlearn.plotting import plot_history

    hist = {
        "loss": [3.0, 2.0, 1.0],
        "val_loss": [3.5, 2.5, 2.0],
        "auc": [0.5, 0.6, 0.7],
    }
    fig = plot_history(hist)
    loss_ax, auc_ax = fig.axes
    assert loss_ax.get_title() == "loss" and auc_ax.get_title() == "auc"
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    assert set(lines) == {"training", "validation"}
    np.testing.assert_array_equal(lines["validation"].get_ydata(), hist["val_loss"])
    np.testing.assert_array_equal(lines["training"].get_xdata(), [1, 2, 3])
    assert len(plot_history(hist, metrics=["auc"]).axes) == 1
    with pytest.raises(ValueError, match="Unknown metrics"):
        plot_history(hist, metrics=["precision"])
    with pytest.raises(TypeError, match="plot_history needs"):
        plot_history([1, 2, 3])


def test_plot_channel_histograms_counts_every_pixel():
    from litterlearn.plotting import plot_channel_histograms

    img = np.zeros((4, 5, 3), np.uint8)
    img[..., 0] = 200
    ax = plot_channel_histograms(img, bins=8)
    # One histogram (a set of bars) per channel, each counting all 20 pixels.
    assert len(ax.patches) == 3 * 8
    heights = np.array([p.get_height() for p in ax.patches]).reshape(3, 8)
    np.testing.assert_array_equal(heights.sum(axis=1), [20, 20, 20])
    assert heights[0, 200 * 8 // 256] == 20  # red all in the bin of 200
    gray_ax = plot_channel_histograms(np.ones((3, 3), np.float32))
    assert [t.get_text() for t in gray_ax.get_legend().get_texts()] == ["gray"]
    with pytest.raises(ValueError, match="one image"):
        plot_channel_histograms(np.zeros((2, 3, 3, 3)))
