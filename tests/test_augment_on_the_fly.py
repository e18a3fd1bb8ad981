"""On-the-fly augmentation: the Augmenter as an estimator's ``augmentation``.

Keras really trains a tiny CNN on 8x8 to 12x12 gray images in every test. The
augmenter is the library's real :class:`~litterlearn.preprocessing.Augmenter`,
subclassed only to record what it was given and what it returned.
"""

import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline as make_imb_pipeline

from litterlearn.neural_network import CNNImageClassifier
from litterlearn.preprocessing import Augmenter

SIDE = 12


class RecordingAugmenter(Augmenter):
    """The real Augmenter, keeping each batch it got and what it returned."""

    def augment_batch(self, images, y=None, random_state=None):
        out = super().augment_batch(images, y, random_state)
        if not hasattr(self, "calls_"):
            self.calls_ = []
        self.calls_.append((images.copy(), np.asarray(y).copy(), out.copy()))
        return out


def cnn(**params):
    return CNNImageClassifier(
        **{
            "filters": (4,),
            "padding": "same",
            "global_pooling": "max",
            "learning_rate_init": 0.02,
            "batch_size": 16,
            "max_iter": 3,
            "random_state": 0,
            **params,
        }
    )


def unique_images(n=40, side=SIDE, dtype=np.uint8, seed=0):
    """Random gray images, all different; class 1 brighter on the left."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 200, size=(n, side, side, 1)).astype(np.uint8)
    y = (np.arange(n) % 4 == 0).astype(int)  # 1 in 4 positive
    X[y == 1, :, : side // 2] += 55
    if dtype != np.uint8:
        X = X.astype(dtype) / 255
    return X, y


def training_epochs(aug, n_batches):
    """The recorded calls grouped by epoch, without Keras' first peeks.

    Keras reads the first batches once before training to learn their shapes
    (``get_tf_dataset``); each training epoch then asks for every batch once.
    """
    calls = aug.calls_
    n_peeks = len(calls) % n_batches
    calls = calls[n_peeks:]
    return [calls[i : i + n_batches] for i in range(0, len(calls), n_batches)]


def key(image):
    return image.tobytes()


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_fresh_augmentations_every_epoch_in_training_only(dtype):
    X, y = unique_images(40, dtype=dtype)
    aug = RecordingAugmenter()
    clf = cnn(augmentation=aug, max_iter=3).fit(X, y)

    epochs = training_epochs(aug, n_batches=3)  # 16 + 16 + 8 images
    assert len(epochs) == 3 == clf.n_iter_
    versions = {key(x): [] for x in X}
    for epoch in epochs:
        seen = [key(x) for images, _, _ in epoch for x in images]
        assert sorted(seen) == sorted(versions)  # every image once per epoch
        for images, labels, out in epoch:
            assert out.dtype == images.dtype == X.dtype
            assert out.shape == images.shape
            for x, label, x_aug in zip(images, labels, out, strict=True):
                versions[key(x)].append(key(x_aug))
                assert label == y[[key(v) for v in X].index(key(x))]
    # Each image was transformed differently in each of the 3 epochs.
    assert all(len(set(v)) == 3 for v in versions.values())
    assert all(key(x) not in versions[key(x)] for x in X)

    n_calls = len(aug.calls_)
    clf.predict_proba(X)
    clf.score(X, y)
    assert len(aug.calls_) == n_calls  # never at prediction


def test_validation_images_are_never_augmented():
    X, y = unique_images(40)
    aug = RecordingAugmenter()
    clf = cnn(augmentation=aug, early_stopping=True, validation_fraction=0.25)
    clf.fit(X, y)
    augmented = {key(x) for images, _, _ in aug.calls_ for x in images}
    assert len(augmented) == 30  # the 75% trained on
    X_val, y_val = unique_images(8, seed=1)
    aug.calls_.clear()
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    augmented = {key(x) for images, _, _ in aug.calls_ for x in images}
    assert augmented == {key(x) for x in X}  # all of X, none of X_val
    assert len(clf.validation_scores_) == clf.n_iter_


def test_seeded_fits_are_identical_and_seeds_differ():
    X, y = unique_images(40)
    fits = []
    for seed in (0, 0, 1):
        aug = RecordingAugmenter()
        clf = cnn(augmentation=aug, random_state=seed).fit(X, y)
        fits.append(([out for _, _, out in aug.calls_], clf.predict_proba(X)))
    (out_a, proba_a), (out_b, proba_b), (out_c, _) = fits
    assert len(out_a) == len(out_b)
    for a, b in zip(out_a, out_b, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(proba_a, proba_b)
    # The estimator's random_state seeds the augmentation.
    assert not all(np.array_equal(a, c) for a, c in zip(out_a, out_c, strict=False))


def test_the_model_learns_from_the_augmented_images():
    # The class is which half is brighter; random left-right flips make the
    # two classes indistinguishable, so the flips must reach the training.
    rng = np.random.default_rng(0)
    X = rng.random((48, 8, 8), dtype=np.float32) * 0.5
    y = np.arange(48) % 2
    X[y == 1, :, :4] += 0.5
    X[y == 0, :, 4:] += 0.5
    params = {"max_iter": 25, "learning_rate_init": 0.05}
    plain = cnn(**params).fit(X, y)
    flipped = cnn(
        **params,
        augmentation=Augmenter(horizontal_flip=True, rotation=0, shift=0),
    ).fit(X, y)
    assert plain.score(X, y) > 0.9
    assert flipped.score(X, y) < 0.75
    # Trained on both orientations of each image, it tells them apart no more.
    gap = np.abs(flipped.predict_proba(X) - flipped.predict_proba(X[:, :, ::-1]))
    assert (
        gap.mean()
        < 0.5
        * np.abs(plain.predict_proba(X) - plain.predict_proba(X[:, :, ::-1])).mean()
    )


def test_after_an_oversampler_duplicates_get_different_augmentations():
    X, y = unique_images(40)
    aug = RecordingAugmenter(rotation=20, shift=0.15)
    pipe = make_imb_pipeline(
        RandomOverSampler(random_state=0), cnn(augmentation=aug, max_iter=2)
    ).fit(X.reshape(40, -1), y)
    first_epoch = training_epochs(aug, n_batches=4)[0]  # 60 rows, batches of 16
    labels = np.concatenate([labels for _, labels, _ in first_epoch])
    assert np.bincount(labels).tolist() == [30, 30]  # balanced before augmenting
    for epoch in training_epochs(aug, n_batches=4):
        outputs = {}
        for images, _, out in epoch:
            for x, x_aug in zip(images, out, strict=True):
                outputs.setdefault(key(x), []).append(key(x_aug))
        duplicated = [v for v in outputs.values() if len(v) > 1]
        assert len(duplicated) > 0  # the minority rows, copied by the sampler
        assert all(len(set(v)) == len(v) for v in duplicated)
    n_calls = len(aug.calls_)
    assert pipe.predict(X.reshape(40, -1)).shape == (40,)
    assert len(aug.calls_) == n_calls


def test_composes_with_class_weight():
    # Labels unrelated to the images: only the weights move the probabilities.
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, size=(48, 8, 8), dtype=np.uint8)
    y = np.where(np.arange(48) % 6 == 0, "rare", "common")
    params = {"max_iter": 6, "augmentation": Augmenter()}
    plain = cnn(**params).fit(X, y)
    balanced = cnn(**params, class_weight="balanced").fit(X, y)
    rare = list(plain.classes_).index("rare")
    assert (
        balanced.predict_proba(X)[:, rare].mean()
        > plain.predict_proba(X)[:, rare].mean() + 0.1
    )


def test_same_class_mixing_gets_the_labels():
    # "other" images are black, "bottle" images white: blending across the
    # classes would show as grey.
    y = np.array(["bottle", "other", "other", "other"] * 8)
    X = np.where(y == "bottle", 255, 0).astype(np.uint8)[:, None, None]
    X = np.broadcast_to(X, (32, 8, 8)).copy()
    aug = RecordingAugmenter(horizontal_flip=False, rotation=0, shift=0, mixing=1.0)
    cnn(augmentation=aug, max_iter=1).fit(X, y)
    assert aug.calls_
    for images, labels, out in aug.calls_:
        assert set(labels) == {"bottle", "other"}  # the user's labels
        np.testing.assert_array_equal(out, images)
