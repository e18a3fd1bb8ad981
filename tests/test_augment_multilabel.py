"""Augmenter with a multi-label (0/1 indicator) target, on TACO's labels."""

import json
from pathlib import Path

import numpy as np
import pytest
from imblearn.pipeline import make_pipeline
from sklearn.neighbors import KNeighborsClassifier

from litterlearn.neural_network import MLPImageClassifier
from litterlearn.preprocessing import Augmenter

TACO_PATH = Path(__file__).parent / "data" / "taco_annotations.json"
# Every transformation off: a copy is its source, so sources can be found.
OFF = dict(horizontal_flip=False, rotation=0, shift=0)


@pytest.fixture(scope="module")
def taco_Y():
    """Which of TACO's 28 supercategories each of its 1500 images holds."""
    taco = json.loads(TACO_PATH.read_text())
    supers = sorted({c["supercategory"] for c in taco["categories"]})
    column = {c["id"]: supers.index(c["supercategory"]) for c in taco["categories"]}
    row = {image["id"]: i for i, image in enumerate(taco["images"])}
    Y = np.zeros((len(row), len(supers)), dtype=np.int64)
    for a in taco["annotations"]:
        Y[row[a["image_id"]], column[a["category_id"]]] = 1
    return Y


def distinct_images(n, seed=0):
    """n 4x4 gray images (as rows), no two alike."""
    X = np.random.default_rng(seed).integers(0, 256, (n, 16), dtype=np.uint8)
    assert len({r.tobytes() for r in X}) == n
    return X


def sources_of(X, X_res):
    """The original row each resampled row is a copy of."""
    where = {r.tobytes(): i for i, r in enumerate(X)}
    return np.array([where[r.tobytes()] for r in X_res[len(X) :]])


def test_every_label_reaches_the_most_frequent_one(taco_Y):
    X = distinct_images(len(taco_Y))
    counts = taco_Y.sum(axis=0)
    aug = Augmenter(**OFF, random_state=0)
    X_res, Y_res = aug.fit_resample(X, taco_Y)
    n = len(X)
    assert np.array_equal(X_res[:n], X) and np.array_equal(Y_res[:n], taco_Y)
    assert Y_res.dtype == taco_Y.dtype and Y_res.shape[1] == 28
    # Each label now has at least as many positives as the most frequent had.
    assert Y_res.sum(axis=0).min() >= counts.max()
    # A copy carries its source's labels.
    sources = sources_of(X, X_res)
    assert np.array_equal(Y_res[n:], taco_Y[sources])
    # What each label lacked, and no copy beyond what was lacking.
    deficits = {j: int(counts.max() - c) for j, c in enumerate(counts) if c < 522}
    assert aug.sampling_strategy_ == deficits
    assert len(sources) <= sum(deficits.values())
    # The frequent labels end within a third of the target.
    assert Y_res.sum(axis=0).max() < 4 / 3 * counts.max()


def test_sources_avoid_frequent_labels_then_are_used_evenly():
    # Label 0 is frequent (20 images); label 1 is on 4 images of their own
    # and on 2 images that also hold label 0.
    Y = np.array([[1, 0]] * 20 + [[0, 1]] * 4 + [[1, 1]] * 2)
    X = distinct_images(len(Y))
    X_res, Y_res = Augmenter(**OFF, random_state=0).fit_resample(X, Y)
    assert Y_res.sum(axis=0).tolist() == [22, 22]  # label 0 did not grow
    uses = np.bincount(sources_of(X, X_res), minlength=len(Y))
    assert uses[20:24].tolist() == [4, 4, 4, 4]
    assert uses[24:].sum() == 0 and uses[:20].sum() == 0
    # With 21 to add from 4 clean sources, each is used 5 or 6 times.
    Y = np.array([[1, 0]] * 25 + [[0, 1]] * 4 + [[1, 1]] * 2)
    X = distinct_images(len(Y))
    X_res, Y_res = Augmenter(**OFF, random_state=0).fit_resample(X, Y)
    uses = np.bincount(sources_of(X, X_res), minlength=len(Y))
    assert sorted(uses[25:29].tolist()) == [5, 5, 5, 6] and uses[29:].sum() == 0


def test_frequent_labels_grow_less_than_by_naive_copies(taco_Y):
    # Copying, for each label, random images that hold it until it reaches
    # the most frequent label inflates the frequent labels that co-occur.
    # Preferring images without already-frequent labels keeps them lower.
    counts = taco_Y.sum(axis=0)
    rng = np.random.default_rng(0)
    naive = taco_Y.sum(axis=0).copy()
    for label in np.argsort(counts):
        lack = counts.max() - naive[label]
        if lack > 0:
            holders = np.flatnonzero(taco_Y[:, label])
            naive += taco_Y[rng.choice(holders, lack)].sum(axis=0)
    _, Y_res = Augmenter(**OFF, random_state=0).fit_resample(
        distinct_images(len(taco_Y)), taco_Y
    )
    ours = Y_res.sum(axis=0)
    assert (ours - counts.max()).sum() < 0.5 * (naive - counts.max()).sum()
    assert len(Y_res) < taco_Y.shape[0] + (naive.sum() - counts.sum()) / 1.5


def test_is_deterministic_given_random_state(taco_Y):
    X = distinct_images(len(taco_Y))
    Y = taco_Y[:300]
    X = X[:300]
    first = Augmenter(random_state=0).fit_resample(X, Y)
    again = Augmenter(random_state=0).fit_resample(X, Y)
    other = Augmenter(random_state=1).fit_resample(X, Y)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_sampling_strategies_name_label_columns(taco_Y):
    X = distinct_images(len(taco_Y))
    counts = taco_Y.sum(axis=0)
    _, Y_res = Augmenter(**OFF, sampling_strategy="minority").fit_resample(X, taco_Y)
    raised = Y_res.sum(axis=0)
    assert counts.argmin() == 1 and raised[1] >= counts.max()
    _, Y_res = Augmenter(**OFF, sampling_strategy=0.2).fit_resample(X, taco_Y)
    assert Y_res.sum(axis=0).min() >= np.ceil(0.2 * counts.max())
    X_res, Y_res = Augmenter(**OFF, sampling_strategy={2: 10}).fit_resample(X, taco_Y)
    assert Y_res[:, 2].sum() == 10 and len(Y_res) == len(taco_Y) + 3
    assert (Y_res[len(taco_Y) :, 2] == 1).all()
    # n_copies copies every image first; {} then adds nothing.
    X_res, Y_res = Augmenter(n_copies=1, sampling_strategy={}).fit_resample(
        X[:50], taco_Y[:50]
    )
    assert np.array_equal(Y_res, np.concatenate([taco_Y[:50]] * 2))
    # A callable gets the (enlarged) indicator and returns the targets.
    seen = []

    def strategy(Y):
        seen.append(Y.shape)
        return {16: int(Y[:, 16].sum()) + 4}

    _, Y_res = Augmenter(n_copies=1, sampling_strategy=strategy).fit_resample(
        X[:50], taco_Y[:50]
    )
    assert seen == [(100, 28)]
    assert Y_res[:, 16].sum() == 2 * taco_Y[:50, 16].sum() + 4


@pytest.mark.parametrize(
    "strategy, message",
    [
        ({28: 10}, r"label columns 0..27; got 28"),
        ({"Bottle": 10}, r"label columns 0..27; got 'Bottle'"),
        ({16: 100}, r"label 16 for 100 positives, but it has 522 already"),
        (lambda Y: [1, 2], r"must return a dict \{label column"),
    ],
)
def test_bad_strategies_are_named_and_change_nothing(taco_Y, strategy, message):
    X = distinct_images(len(taco_Y))
    aug = Augmenter(random_state=0).fit(X[:20], np.arange(20) % 2)
    before = dict(vars(aug))
    aug.set_params(sampling_strategy=strategy)
    with pytest.raises((ValueError, TypeError), match=message):
        aug.fit_resample(X, taco_Y)
    assert aug.sampling_strategy_ == before["sampling_strategy_"]
    assert aug.n_features_in_ == 16


def test_a_label_no_image_holds_cannot_be_raised():
    Y = np.array([[1, 0], [1, 0], [0, 0]])
    with pytest.raises(ValueError, match="no image holds it"):
        Augmenter(sampling_strategy={1: 2}).fit_resample(distinct_images(3), Y)
    # By default it is left out: nothing to copy for it.
    _, Y_res = Augmenter().fit_resample(distinct_images(3), Y)
    assert np.array_equal(Y_res, Y)


def test_a_target_that_is_not_an_indicator_is_named():
    X = distinct_images(3)
    with pytest.raises(ValueError, match=r"0/1 indicator.*\[2\]"):
        Augmenter().fit_resample(X, np.array([[0, 2], [1, 0], [1, 1]]))
    with pytest.raises(ValueError, match="missing labels"):
        Augmenter().fit_resample(X, np.array([[0, np.nan], [1, 0], [1, 1]]))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Augmenter().fit_resample(X, np.array([[0, 1], [1, 0]]))


def test_mixing_blends_only_images_with_identical_labels():
    # Each set of labels has its own band of constant images; blending
    # across sets would leave the band.
    rows = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    bands = np.array([10, 80, 150, 220])
    group = np.repeat(np.arange(4), 25)
    values = bands[group] + np.tile(np.arange(0, 25, 1), 4)
    images = np.broadcast_to(values[:, None, None, None], (100, 4, 4, 1))
    images = images.astype(np.uint8)
    Y = rows[group]
    aug = Augmenter(**OFF, mixing=1.0)
    out = aug.augment_batch(images, Y, random_state=0)
    flat = out.reshape(100, -1)
    assert (flat == flat[:, :1]).all()
    lo, hi = bands[group], bands[group] + 24
    assert ((flat[:, 0] >= lo) & (flat[:, 0] <= hi)).all()
    assert (flat[:, 0] != images[:, 0, 0, 0]).mean() > 0.5  # mixing happened
    # An image alone with its labels is blended with itself: unchanged.
    lone = Y.copy()
    lone[group == 2] = [0, 0]  # band 150 takes band 220's labels ...
    lone[0] = [1, 1]  # ... and image 0 is the only one with [1, 1]
    out = aug.augment_batch(images, lone, random_state=0)
    assert np.array_equal(out[0], images[0])
    # Float indicator rows (as a network's targets may be) work the same.
    out = aug.augment_batch(images, Y.astype(np.float32), random_state=0)
    assert (
        (out.reshape(100, -1)[:, 0] >= lo) & (out.reshape(100, -1)[:, 0] <= hi)
    ).all()


def test_mixing_in_fit_resample_keeps_labels():
    X = np.repeat(np.arange(0, 250, 50, dtype=np.uint8)[:, None], 16, axis=1)
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1]])
    X_res, Y_res = Augmenter(
        **OFF, mixing=1.0, n_copies=10, sampling_strategy={}
    ).fit_resample(X, Y)
    new, labels = X_res[5:, 0], Y_res[5:]
    assert new[(labels == [1, 0]).all(1)].max() <= 50
    assert new[(labels == [0, 1]).all(1)].min() >= 100
    assert new[(labels == [0, 1]).all(1)].max() <= 150
    assert (new[(labels == [1, 1]).all(1)] == 200).all()


def test_in_an_imblearn_pipeline_with_a_multilabel_classifier(taco_Y):
    X = distinct_images(400)
    Y = taco_Y[:400]
    pipe = make_pipeline(Augmenter(random_state=0), KNeighborsClassifier(3))
    pipe.fit(X, Y)
    assert pipe.predict(X[:10]).shape == (10, 28)


def test_one_hot_is_a_multilabel_indicator_as_the_estimators_read_it():
    # One reading of a 2-D y in the whole pipeline (scikit-learn's
    # type_of_target): the estimators fit a one-hot y with a sigmoid per
    # label, and Augmenter keeps every label column, even one that no image
    # of this fold holds; its images are those of the class labels.
    X = distinct_images(10)
    labels = np.array([0] * 6 + [1] * 4)
    one_hot = np.eye(3, dtype=int)[labels]  # label 2: no image here
    X_1d, y_1d = Augmenter(random_state=0).fit_resample(X, labels)
    X_oh, Y_oh = Augmenter(random_state=0).fit_resample(X, one_hot)
    assert Y_oh.shape == (len(y_1d), 3)
    assert np.array_equal(X_oh, X_1d)
    assert np.array_equal(Y_oh, np.eye(3, dtype=int)[y_1d])
    clf = MLPImageClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0)
    assert clf.fit(X_oh, Y_oh).predict_proba(X[:2]).shape == (2, 3)


def test_a_continuous_target_is_still_refused():
    with pytest.raises(ValueError, match="Unknown label type"):
        Augmenter().fit_resample(distinct_images(20), np.linspace(0, 1, 20))


def test_imbalanced_learn_samplers_refuse_a_multilabel_y():
    # What the user guide says: imbalanced-learn's own samplers cannot take
    # an indicator y, so per-label balancing is Augmenter's or class weights.
    from imblearn.over_sampling import SMOTE, RandomOverSampler

    Y = np.array([[1, 0], [1, 1], [0, 1], [0, 0]] * 5)
    for sampler in (RandomOverSampler(), SMOTE(k_neighbors=1)):
        with pytest.raises(ValueError, match="Multilabel and multioutput targets"):
            sampler.fit_resample(distinct_images(20), Y)
