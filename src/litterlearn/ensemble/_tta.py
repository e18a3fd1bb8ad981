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
from sklearn.utils.multiclass import type_of_target

from ..utils._atomic import all_or_nothing
from ..utils._docstrings import FITTED_IMAGES, fill_doc
from ..utils._estimators import final_estimator
from ..utils._images import fitted_rows, rows_to_images, validate_images
from ..utils._label_lists import check_not_label_lists
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
    does not, and averaging smooths the classifier's noise. The output has
    the estimator's own form (an array, or a list of per-output arrays as
    scikit-learn's forests give for a multi-label ``y``), averaged over the
    views. With ``n_views=0`` it is exactly the plain classifier.

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
        float32). A multi-label ``y`` works where the estimator takes one;
        its ``threshold`` (litterlearn's networks) may be changed after fit
        with ``set_params(estimator__threshold=...)``, which applies to the
        fitted ``estimator_`` too.
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
    classes_ : ndarray of shape (n_classes,) or list of such arrays
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
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels, or a multi-label 0/1 indicator (or several outputs)
            where the estimator takes one.
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
        check_not_label_lists(y)
        ndim = _ndim(X)
        estimator = clone(self.estimator).fit(
            self._in_layout(rows, shape, ndim), y, **fit_params
        )
        # (after the estimator's own checks of y: NaN, inf...)
        target_type = type_of_target(y, input_name="y")
        self.estimator_ = estimator
        self._layout_ndim = ndim
        self._target_type = target_type
        self.classes_ = estimator.classes_
        self.image_shape_ = shape
        return self

    @fill_doc(fitted_images=FITTED_IMAGES)
    def predict_proba(self, X):
        """Class probabilities averaged over each image and its views.

        %(fitted_images)s

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), or list of such arrays
            The estimator's kind of output, averaged over the views: columns
            in the order of ``classes_``; for a multi-label fit, each label's
            own probability, or one array per label (or output) where the
            estimator returns a list, as scikit-learn's forests and
            neighbours do.
        """
        inputs = self._inputs(X)
        if self.n_views == 0:
            return self.estimator_.predict_proba(inputs[0])
        parts = [self._mean_over_views(chunk, *inputs[1:]) for chunk in inputs[0]]
        if isinstance(parts[0], list):
            return [np.concatenate(column) for column in zip(*parts, strict=True)]
        return np.concatenate(parts)

    @fill_doc(fitted_images=FITTED_IMAGES)
    def predict(self, X):
        """Predictions from the averaged probabilities.

        %(fitted_images)s

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The class with the highest averaged probability, from
            ``classes_``. For a multi-label fit, a 0/1 indicator: 1 where a
            label's averaged probability is at least the final estimator's
            ``threshold`` (litterlearn's networks), or above 0.5 (scikit-learn's
            rule); for a list of per-output probabilities, each output's most
            probable class. With ``n_views=0``, the estimator's own
            ``predict``.
        """
        if self.n_views == 0:
            return self.estimator_.predict(self._inputs(X)[0])
        proba = self.predict_proba(X)
        if isinstance(proba, list):  # one array per output
            return np.stack(
                [
                    np.asarray(classes)[np.argmax(p, axis=1)]
                    for classes, p in zip(self.classes_, proba, strict=True)
                ],
                axis=1,
            )
        if self._target_type == "multilabel-indicator":
            return self._indicator(proba)
        if self._target_type == "multiclass-multioutput":
            raise TypeError(
                f"{type(self.estimator_).__name__}.predict_proba returns one "
                f"array for a multi-output y of several classes per output; "
                f"test-time augmentation needs one array per output (a list), "
                f"as scikit-learn's multi-output classifiers return."
            )
        return self.classes_[np.argmax(proba, axis=1)]

    def set_params(self, **params):
        """Set the parameters of this estimator.

        A ``threshold`` of the wrapped estimator (``estimator__threshold``,
        or ``estimator__<step>__threshold`` in a Pipeline) decides its
        predictions from probabilities and needs no refit, so it is also set
        on the fitted ``estimator_`` and applies at once. Other parameters of
        ``estimator`` take effect at the next :meth:`fit`, as in
        scikit-learn's meta-estimators.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        super().set_params(**params)
        no_refit = {
            key.removeprefix("estimator__"): value
            for key, value in params.items()
            if key.startswith("estimator__") and key.endswith("__threshold")
        }
        if no_refit and hasattr(self, "estimator_"):
            self.estimator_.set_params(**no_refit)
        return self

    def _inputs(self, X):
        """``X`` validated: the estimator's input for ``n_views=0``, else
        chunks of images with the layout and the views' seed and augmenter."""
        rows, shape = fitted_rows(self, X)
        ndim = self._layout_ndim
        if self.n_views == 0:
            return (self._in_layout(rows, shape, ndim),)
        self._check_augmenter()
        augmenter = (
            self.augmenter if self.augmenter is not None else default_augmenter()
        )
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        images = rows_to_images(rows, shape)
        step = max(1, _CHUNK_VALUES // ((self.n_views + 1) * max(1, rows.shape[1])))
        chunks = [images[start : start + step] for start in range(0, len(images), step)]
        return chunks, shape, ndim, augmenter, seed

    def _mean_over_views(self, batch, shape, ndim, augmenter, seed):
        """The estimator's probabilities of ``batch``, averaged over each
        image and its views: an array, or a list of arrays where the
        estimator returns one array per output."""
        n_copies = self.n_views + 1
        views = np.empty((len(batch), n_copies, *shape), dtype=batch.dtype)
        views[:, 0] = batch
        for i, image in enumerate(batch):
            views[i, 1:] = self._views(augmenter, image, seed)
        views = views.reshape((len(batch) * n_copies, *shape))
        proba = self.estimator_.predict_proba(self._in_layout(views, shape, ndim))

        def mean(p):
            return np.asarray(p).reshape(len(batch), n_copies, -1).mean(axis=1)

        if isinstance(proba, list):
            return [mean(p) for p in proba]
        return mean(proba)

    def _indicator(self, proba):
        """A 0/1 indicator from averaged per-label probabilities."""
        final = final_estimator(self.estimator_)
        params = final.get_params(deep=False) if hasattr(final, "get_params") else {}
        threshold = params.get("threshold")
        if threshold is None:  # scikit-learn's rule (LabelBinarizer)
            return (proba > 0.5).astype(np.int64)
        n_labels = proba.shape[1]
        values = np.asarray(threshold, dtype=np.float64)
        if values.ndim > 1 or values.size not in (1, n_labels):
            raise ValueError(
                f"The threshold of {type(final).__name__} has {values.size} "
                f"values, but it was fitted on {n_labels} labels; give one "
                f"threshold, or one per label."
            )
        if not np.all((values > 0) & (values < 1)):
            raise ValueError(
                f"The threshold of {type(final).__name__} must be a float in "
                f"(0, 1), or one such float per label; got {threshold!r}."
            )
        return (proba >= values).astype(np.int64)

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
