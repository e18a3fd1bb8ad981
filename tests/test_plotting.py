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
    assert titles[3] == "1\npred: 0"
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
    assert fig.axes[0].get_title() == "original: 0"
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


def _boxes(fig, texts):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts if t.get_text()]


def _assert_no_overlap(fig, texts):
    boxes = _boxes(fig, texts)
    assert boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)


def test_plot_images_class_names_and_titles_that_do_not_overlap():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (16, 20 * 20 * 3), np.uint8)
    labels = np.array([0, 1] * 8)
    preds = np.roll(labels, 1)
    names = ["other litter", "plastic bottle"]
    fig = plot_images(
        X, labels=labels, predictions=preds, target_names=names, title="TACO sample"
    )
    assert fig.axes[1].get_title() == "plastic bottle\npred: other litter"
    assert fig._suptitle.get_text() == "TACO sample"
    # Every title (and the figure's) fits without running into another one
    # or into a neighbouring image.
    texts = [ax.title for ax in fig.axes] + [fig._suptitle]
    _assert_no_overlap(fig, texts)
    renderer = fig.canvas.get_renderer()
    images = [ax.get_window_extent(renderer) for ax in fig.axes]
    for title in _boxes(fig, texts):
        assert sum(title.overlaps(img) for img in images) == 0
    # A dict maps any labels; a list needs integer labels.
    fig = plot_images(X[:2], labels=["a", "b"], target_names={"a": "can"})
    assert [ax.get_title() for ax in fig.axes] == ["can", "b"]
    with pytest.raises(ValueError, match="label 5 is not an index"):
        plot_images(X[:1], labels=[5], target_names=names)


def test_plot_augmentations_class_names():
    X = np.zeros((2, 8 * 8), np.uint8)
    fig = plot_augmentations(
        Augmenter(), X, y=[1, 0], n_copies=1, target_names=["other", "bottle"]
    )
    assert fig.axes[0].get_title() == "original: bottle"
    assert fig.axes[2].get_title() == "original: other"


def test_plot_history_labels_axes_and_names_model_and_data():
    from litterlearn.plotting import plot_history

    hist = {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7], "accuracy": [0.5, 0.8]}
    fig = plot_history(hist, title="CNN on the TACO sample")
    assert fig._suptitle.get_text() == "CNN on the TACO sample"
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss (cross-entropy)", "accuracy"]
    assert {ax.get_xlabel() for ax in fig.axes} == {"epoch"}
    _assert_no_overlap(fig, [fig._suptitle] + [ax.title for ax in fig.axes])


def test_channel_histograms_of_a_non_finite_image_say_so():
    from litterlearn.plotting import plot_channel_histograms

    image = np.full((4, 4), np.nan, np.float32)
    with pytest.raises(ValueError, match="finite pixel values.*16 NaN"):
        plot_channel_histograms(image)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"losses": [0.7, np.nan, 0.5]}, "losses hold 1 value.*not finite.*nan"),
        ({"raw_losses": [0.7, np.inf, 0.5]}, "raw_losses hold 1 value.*inf"),
        ({"learning_rates": [-1e-3, 1e-2, 1e-1]}, "must be positive.*from -0.001"),
        ({"suggestion": 0.0}, "must be positive.*suggestion 0"),
    ],
)
def test_a_learning_rate_result_that_cannot_be_drawn_is_named(change, message):
    from types import SimpleNamespace

    from litterlearn.plotting import plot_learning_rate_finder

    fields = {
        "learning_rates": [1e-3, 1e-2, 1e-1],
        "losses": [0.7, 0.6, 0.5],
        "raw_losses": [0.7, 0.6, 0.5],
        "suggestion": 1e-2,
        "rule": "minimum / 10",
    }
    assert plot_learning_rate_finder(SimpleNamespace(**fields)) is not None
    plt.close("all")
    with pytest.raises(ValueError, match=message):
        plot_learning_rate_finder(SimpleNamespace(**{**fields, **change}))
    plt.close("all")
