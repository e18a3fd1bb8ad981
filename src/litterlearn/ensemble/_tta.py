"""TestTimeAugmentationClassifier: average predictions over augmented views."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    clone,
)
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..utils._atomic import all_or_nothing
from ..utils._images import rows_to_images, validate_images
from ..utils._sklearn_compat import HasMethods, Interval, _fit_context

__all__ = ["TestTimeAugmentationClassifier"]

# The views of a chunk of images are predicted in one call; chunks hold about
# this many values (64 MB of float32), which bounds the memory of the views.
_CHUNK_VALUES = 1 << 24


def default_augmenter():
    """The default views: small shifts and zooms, no flip, no rotation.

    Shifts of up to 5% of the height and width and zooms of up to 5% keep the
    class of any image; flips do not always (a mirrored digit or letter may be
    another, or none), so they are left to the user who knows the data.
    """
    from ..preprocessing import Augmenter

    return Augmenter(horizontal_flip=False, rotation=0.0, shift=0.05, zoom=0.05)


class TestTimeAugmentationClassifier(
    ClassifierMixin, MetaEstimatorMixin, BaseEstimator
):
    """Average a classifier's probabilities over augmented views of each image.

    :meth:`fit` fits a clone of ``estimator``. :meth:`predict_proba` averages
    its ``predict_proba`` over each image and ``n_views`` augmented copies of
    it (test-time augmentation): a prediction that holds when the image is
    shifted, zoomed or flipped a little is more trustworthy than one that
    does not, and averaging smooths the classifier's noise. With
    ``n_views=0`` it is exactly the plain classifier.

    Each view is made by ``augmenter.augment_batch`` from a generator seeded
    by ``random_state``; every image gets its views from the same seed, so an
    image's prediction depends neither on the other images in the batch nor
    on their order, and with an :class:`~litterlearn.preprocessing.Augmenter`
    view ``v`` applies the same transformation to every image.

    Parameters
    ----------
    estimator : classifier
        A classifier with ``predict_proba`` that takes images, e.g.
        :class:`~litterlearn.neural_network.CNNImageClassifier`, or any
        scikit-learn classifier (or Pipeline) on image rows. It receives
        images in the layout ``X`` had in :meth:`fit` (rows, or ``(n, H,
        W[, C])`` arrays), with the image contract's dtypes (uint8 or
        float32).
    augmenter : object with an ``augment_batch`` method, default=None
        Makes the views, e.g. a :class:`~litterlearn.preprocessing.Augmenter`;
        it must keep the class of an image. None uses
        ``Augmenter(horizontal_flip=False, rotation=0, shift=0.05,
        zoom=0.05)``: shifts and zooms of up to 5%, which keep the class of
        any image. Flips are not in the default because they change the class
        of some images (digits, text); where mirror images keep the class
        (photos of litter), ``Augmenter(rotation=0, shift=0.05, zoom=0.05)``
        adds them. Same-class mixing needs labels and is refused.
    n_views : int, default=8
        Number of augmented views averaged with the original image.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of the rows; one entry may be -1. None
        infers it from the input (see the image contract).
    random_state : int, RandomState instance or None, default=None
        Seeds the views. With an int, every call makes the same views; with
        None, each call draws new ones.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone of ``estimator``.
    classes_ : ndarray of shape (n_classes,)
        The class labels (``estimator_.classes_``).
    n_features_in_ : int
        Number of features (``H*W*C``) seen in :meth:`fit`.
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in :meth:`fit`.

    See Also
    --------
    litterlearn.preprocessing.Augmenter : The transformations of the views.
    litterlearn.inspection.grad_cam : Where the wrapped CNN looks.

    Notes
    -----
    Prediction costs ``n_views + 1`` times the plain classifier's. Whether
    it pays depends on the data and on whether the classifier was trained
    with similar augmentation; see ``benchmarks/bench_tta.py`` and its
    results in ``benchmarks/README.md``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from litterlearn.ensemble import TestTimeAugmentationClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = (X / 16).astype(np.float32)  # 8x8 gray images as rows, in [0, 1]
    >>> tta = TestTimeAugmentationClassifier(
    ...     LogisticRegression(max_iter=2000), n_views=4, random_state=0
    ... ).fit(X[:1000], y[:1000])
    >>> tta.predict_proba(X[1000:1003]).shape
    (3, 10)
    >>> plain = tta.set_params(n_views=0).predict_proba(X[1000:1003])
    >>> bool(np.allclose(plain, tta.estimator_.predict_proba(X[1000:1003])))
    True
    """

    # Its name starts with "Test": tell pytest it is not a test class, for
    # the test modules of anyone who imports it.
    __test__ = False

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "augmenter": [None, HasMethods(["augment_batch"])],
        "n_views": [Interval(Integral, 0, None, closed="left")],
        "image_shape": [None, tuple, list],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        *,
        augmenter=None,
        n_views=8,
        image_shape=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.augmenter = augmenter
        self.n_views = n_views
        self.image_shape = image_shape
        self.random_state = random_state

    @all_or_nothing
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` on images ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Training images; passed on in the same layout (at prediction too,
            whatever the layout of the images to predict).
        y : array-like of shape (n_samples,)
            Class labels.
        **fit_params : dict
            Passed to ``estimator.fit`` (e.g. ``sample_weight``, or ``X_val``
            and ``y_val`` for litterlearn's networks).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        self._check_augmenter()
        rows, shape = validate_images(self, X, reset=True, image_shape=self.image_shape)
        ndim = _ndim(X)
        estimator = clone(self.estimator).fit(
            self._in_layout(rows, shape, ndim), y, **fit_params
        )
        self.estimator_ = estimator
        self._layout_ndim = ndim
        self.classes_ = estimator.classes_
        self.image_shape_ = shape
        return self

    def predict_proba(self, X):
        """Class probabilities averaged over each image and its views.

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Images of the shape seen in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        rows, shape = validate_images(
            self,
            X,
            reset=False,
            image_shape=self.image_shape,
            fitted_image_shape=self.image_shape_,
        )
        ndim = self._layout_ndim
        if self.n_views == 0:
            return self.estimator_.predict_proba(self._in_layout(rows, shape, ndim))
        self._check_augmenter()
        augmenter = (
            self.augmenter if self.augmenter is not None else default_augmenter()
        )
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        images = rows_to_images(rows, shape)
        n_copies = self.n_views + 1
        step = max(1, _CHUNK_VALUES // (n_copies * max(1, rows.shape[1])))
        parts = []
        for start in range(0, len(images), step):
            batch = images[start : start + step]
            views = np.empty((len(batch), n_copies, *shape), dtype=images.dtype)
            views[:, 0] = batch
            for i, image in enumerate(batch):
                views[i, 1:] = self._views(augmenter, image, seed)
            views = views.reshape((len(batch) * n_copies, *shape))
            proba = np.asarray(
                self.estimator_.predict_proba(self._in_layout(views, shape, ndim))
            )
            parts.append(proba.reshape(len(batch), n_copies, -1).mean(axis=1))
        return np.concatenate(parts)

    def predict(self, X):
        """Class with the highest averaged probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Images of the shape seen in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        check_is_fitted(self)
        proba = self.predict_proba(X)
        decide = getattr(self.estimator_, "_decide", None)
        if decide is not None:  # litterlearn's networks: multi-label too
            return decide(proba)
        return self.classes_[np.argmax(proba, axis=1)]

    def _views(self, augmenter, image, seed):
        """``n_views`` augmented copies of one image, from the same seed."""
        copies = np.repeat(image[None], self.n_views, axis=0)
        out = np.asarray(
            augmenter.augment_batch(copies, None, np.random.default_rng(seed))
        )
        if out.shape != copies.shape:
            raise ValueError(
                f"augmenter.augment_batch must return images of the shape it was "
                f"given, {copies.shape}; got {out.shape} from {augmenter!r}."
            )
        if out.dtype != copies.dtype:
            # A cast would be silently wrong: float 0..1 views of uint8
            # images would become 0/1, nearly black.
            raise ValueError(
                f"augmenter.augment_batch must return images of the dtype it was "
                f"given ({copies.dtype}, in that dtype's range: 0..255 for "
                f"uint8); got {out.dtype} from {augmenter!r}."
            )
        return out

    def _check_augmenter(self):
        if getattr(self.augmenter, "mixing", 0):
            raise ValueError(
                "The augmenter's mixing blends images of the same class, which "
                "needs labels that test images do not have; set mixing=0 for "
                "test-time augmentation."
            )

    @staticmethod
    def _in_layout(rows, shape, ndim):
        """Images as rows (2D input) or as ``(n, H, W[, C])`` arrays."""
        if ndim == 3:
            return rows.reshape((len(rows), *shape[:2]))
        if ndim == 4:
            return rows.reshape((len(rows), *shape))
        return rows.reshape((len(rows), -1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags


def _ndim(X):
    ndim = getattr(X, "ndim", None)
    return int(ndim) if ndim is not None else np.asarray(X).ndim
