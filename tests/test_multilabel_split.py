"""Iterative stratification of multi-label (indicator) targets, on TACO's labels."""

import json
from pathlib import Path

import numpy as np
import pytest

from litterlearn.datasets import train_val_test_split
from litterlearn.datasets._split import _iterative_stratified_split, _refine_by_swaps

TACO_PATH = Path(__file__).parent / "data" / "taco_annotations.json"


@pytest.fixture(scope="module")
def taco_Y():
    """Which of TACO's 28 supercategories each of its 1500 images holds."""
    taco = json.loads(TACO_PATH.read_text())
    supers = sorted({c["supercategory"] for c in taco["categories"]})
    column = {c["id"]: supers.index(c["supercategory"]) for c in taco["categories"]}
    row = {image["id"]: i for i, image in enumerate(taco["images"])}
    Y = np.zeros((len(row), len(supers)), dtype=np.uint8)
    for a in taco["annotations"]:
        Y[row[a["image_id"]], column[a["category_id"]]] = 1
    return Y


def deviation(Y, part):
    """Per label: positives in ``part`` minus their expected number."""
    return Y[part].sum(axis=0) - Y.sum(axis=0) * len(part) / len(Y)


def test_taco_labels_are_multilabel_and_imbalanced(taco_Y):
    # The data the tests below rely on: rare labels and co-occurrence.
    counts = taco_Y.sum(axis=0)
    assert counts.min() == 2 and counts.max() > 500
    assert (taco_Y.sum(axis=1) > 1).mean() > 0.5


@pytest.mark.parametrize("test_size", [0.2, 75])
def test_every_label_keeps_its_share(taco_Y, test_size):
    n = len(taco_Y)
    train, test = _iterative_stratified_split(taco_Y, test_size, random_state=0)
    n_test = 300 if test_size == 0.2 else 75
    assert len(test) == n_test and len(train) == n - n_test
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    assert train.dtype.kind == "i" and test.dtype.kind == "i"
    # Counts are integers, so a count within 1 of its expected value is a
    # share within 1/len(part) of the label's share overall.
    for part in (train, test):
        assert np.abs(deviation(taco_Y, part)).max() <= 1
    # Every label with two or more positives is on both sides.
    often = taco_Y.sum(axis=0) >= 2
    assert taco_Y[train][:, often].sum(axis=0).min() >= 1
    assert taco_Y[test][:, often].sum(axis=0).min() >= 1
    # A plain random split of the same sizes misses that tolerance by far,
    # so the bound above is something the stratification earns.
    perm = np.random.RandomState(0).permutation(n)
    assert np.abs(deviation(taco_Y, perm[:n_test])).max() > 3


def test_split_is_deterministic_given_random_state(taco_Y):
    first = _iterative_stratified_split(taco_Y, 0.2, random_state=0)
    again = _iterative_stratified_split(taco_Y, 0.2, random_state=0)
    from_instance = _iterative_stratified_split(
        taco_Y, 0.2, random_state=np.random.RandomState(0)
    )
    other = _iterative_stratified_split(taco_Y, 0.2, random_state=1)
    assert np.array_equal(first[1], again[1])
    assert np.array_equal(first[1], from_instance[1])
    assert not np.array_equal(first[1], other[1])
    unseeded = _iterative_stratified_split(taco_Y, 0.2, random_state=None)
    assert len(unseeded[1]) == 300


def test_samples_without_labels_fill_by_size():
    Y = np.zeros((20, 3), dtype=int)
    Y[:6, 0] = 1
    Y[6:10, 1] = 1  # rows 10..19 hold no label
    train, test = _iterative_stratified_split(Y, 5, random_state=0)
    assert len(test) == 5
    assert Y[test, 0].sum() in (1, 2) and Y[test, 1].sum() == 1
    assert len(set(test) & set(range(10, 20))) >= 2


def test_train_val_test_split_with_an_indicator(taco_Y):
    n = len(taco_Y)
    ids = np.arange(n)
    parts = train_val_test_split(ids, taco_Y, stratify=taco_Y, random_state=0)
    i_train, i_val, i_test, Y_train, Y_val, Y_test = parts
    assert (len(i_train), len(i_val), len(i_test)) == (1200, 150, 150)
    assert np.array_equal(np.sort(np.concatenate([i_train, i_val, i_test])), ids)
    # Rows stay aligned with their labels.
    for idx, Y in ((i_train, Y_train), (i_val, Y_val), (i_test, Y_test)):
        assert np.array_equal(taco_Y[idx], Y)
    # Three parts: val and test within 1, so train (their complement) within 2.
    assert np.abs(deviation(taco_Y, i_val)).max() <= 1
    assert np.abs(deviation(taco_Y, i_test)).max() <= 1
    assert np.abs(deviation(taco_Y, i_train)).max() <= 2
    often = taco_Y.sum(axis=0) >= 3
    for Y in (Y_train, Y_val, Y_test):
        assert Y[:, often].sum(axis=0).min() >= 1
    again = train_val_test_split(ids, stratify=taco_Y, random_state=0)
    assert np.array_equal(again[1], i_val)
    # With val_size=0 the validation part is empty and the rest is still exact.
    train, val, test = train_val_test_split(
        ids, val_size=0, test_size=0.25, stratify=taco_Y, random_state=0
    )
    assert (len(train), len(val), len(test)) == (1125, 0, 375)
    assert np.abs(deviation(taco_Y, test)).max() <= 1


def test_a_single_column_is_taken_as_1d_labels():
    y = np.array([0] * 30 + [1] * 10)
    X = np.arange(40)
    as_1d = train_val_test_split(X, stratify=y, random_state=3)
    as_column = train_val_test_split(X, stratify=y[:, None], random_state=3)
    for a, b in zip(as_1d, as_column, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize(
    "Y, message",
    [
        (np.array([[0, 2], [1, 0], [1, 1]]), r"0/1 indicator.*\[2\]"),
        (np.array([[0, np.nan], [1, 0], [1, 1]]), r"0/1 indicator.*nan"),
        (np.array([["a", "b"], ["b", "a"], ["a", "a"]]), r"0/1 indicator.*'a'"),
        (np.array([0, 1, 1]), "2-D 0/1 indicator"),
        (np.zeros((3, 0)), "no label columns"),
    ],
)
def test_bad_indicators_are_named(Y, message):
    with pytest.raises(ValueError, match=message):
        _iterative_stratified_split(Y, 1, random_state=0)
    if Y.ndim == 2 and Y.shape[1] > 1:
        with pytest.raises(ValueError, match=message.replace("0/1", "stratify.*0/1")):
            train_val_test_split(np.arange(3), stratify=Y, val_size=0, test_size=1)


@pytest.mark.parametrize(
    "test_size, message",
    [
        (0, "both subsets need at least one sample"),
        (0.0, "both subsets need at least one sample"),
        (10, r"test_size=10 must be in \[0, 10\)"),
        (1.0, r"test_size=1.0 must be in \[0, 1\)"),
        ("half", "test_size must be an int or a float"),
    ],
)
def test_bad_sizes_are_named(test_size, message):
    Y = np.eye(10, 2, dtype=int)
    with pytest.raises((ValueError, TypeError), match=message):
        _iterative_stratified_split(Y, test_size, random_state=0)


def test_multilabel_sizes_too_large_are_named(taco_Y):
    with pytest.raises(ValueError, match="leave no training"):
        train_val_test_split(taco_Y, val_size=0.5, test_size=0.5, stratify=taco_Y)
    with pytest.raises(ValueError, match="stratify has 10 labels for 1500"):
        train_val_test_split(taco_Y, stratify=taco_Y[:10])


def test_lists_of_labels_per_sample_point_to_multilabelbinarizer():
    import pandas as pd

    labels = [["bottle"], ["can", "bottle"], ["can"], []] * 5
    for given in (labels, pd.Series(labels)):  # a DataFrame column of lists too
        with pytest.raises(ValueError, match="stratify holds a list of labels.*Multi"):
            train_val_test_split(np.arange(20), stratify=given, random_state=0)
    from sklearn.preprocessing import MultiLabelBinarizer

    Y = MultiLabelBinarizer().fit_transform(labels)  # what the message advises
    assert len(train_val_test_split(np.arange(20), stratify=Y, random_state=0)[2]) == 2


@pytest.mark.parametrize("seed", range(4))
def test_swaps_keep_sizes_and_every_label_a_subset_holds(seed):
    # A random assignment of rare and common labels: the swaps must lower
    # the squared gaps without emptying any label from a subset.
    rng = np.random.default_rng(seed)
    Y = np.zeros((200, 150), dtype=bool)
    for label in range(150):
        Y[rng.choice(200, rng.choice([2, 3, 4, 30]), replace=False), label] = True
    assignment = rng.permutation(np.repeat([0, 1, 2], [160, 20, 20]))

    def squared_gaps(parts):
        return sum(
            (deviation(Y, np.flatnonzero(parts == p)) ** 2).sum() for p in range(3)
        )

    before = assignment.copy()
    _refine_by_swaps(Y, assignment, 3, np.random.RandomState(seed))
    assert np.bincount(assignment).tolist() == [160, 20, 20]
    for part in range(3):
        held = Y[before == part].any(axis=0)
        assert Y[assignment == part][:, held].any(axis=0).all()
    assert squared_gaps(assignment) < squared_gaps(before)
