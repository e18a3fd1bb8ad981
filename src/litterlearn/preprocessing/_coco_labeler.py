"""CocoBinaryLabeler: one-vs-all image labels from COCO annotations."""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..datasets._coco import index_coco
from ..utils._atomic import all_or_nothing
from ..utils._sklearn_compat import StrOptions, _fit_context


def _is_annotations(X):
    return isinstance(X, (str, os.PathLike, Mapping))


class CocoBinaryLabeler(TransformerMixin, BaseEstimator):
    """Binary image labels from COCO annotations: 1 if a positive class is present.

    An image is labelled 1 when it has at least one annotation whose
    category (or supercategory, with ``level="supercategory"``) is one of
    ``positive``, else 0. Images without any annotation are 0.

    ``fit`` reads the annotations (a COCO JSON file, its dict, or the Bunch
    of :func:`~litterlearn.datasets.fetch_taco` /
    :func:`~litterlearn.datasets.load_taco_sample`); ``transform`` maps image
    ids or file names (or paths ending with a file name, such as
    ``Bunch.filenames``) to labels aligned with its input; ``fit_transform``
    labels the images in the order of the annotations' ``images`` list.

    Parameters
    ----------
    positive : str or list of str
        Name(s) of the positive class(es) at ``level``, e.g. ``"Bottle"``
        or ``["Can", "Bottle"]``. Unknown names are an error that lists the
        valid ones.
    level : {"supercategory", "category"}, default="supercategory"
        Whether ``positive`` names supercategories (TACO's 28, e.g.
        ``"Bottle"``) or categories (TACO's 60, e.g. ``"Glass bottle"``).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``[0, 1]``.
    positive_ : tuple of str
        The positive names, as given.
    image_ids_ : ndarray of shape (n_images,)
        Ids of the images seen in ``fit``, in annotation order.
    file_names_ : ndarray of str, shape (n_images,)
        Their ``file_name``.
    labels_ : ndarray of int, shape (n_images,)
        Their labels, 0 or 1.

    See Also
    --------
    litterlearn.datasets.fetch_taco : The TACO dataset with its annotations.
    litterlearn.datasets.load_taco_sample : An offline sample in TACO's format.

    Notes
    -----
    The labeler learns nothing from pixels and is not a pipeline step: it
    produces the target ``y``. Its input is a COCO annotations object, not an
    array of samples, so scikit-learn's array-based estimator checks do not
    apply to it (its tags say so: ``input_tags.two_d_array=False``).

    Examples
    --------
    >>> from litterlearn.preprocessing import CocoBinaryLabeler
    >>> coco = {
    ...     "images": [{"id": 7, "file_name": "a.jpg"}, {"id": 8, "file_name": "b.jpg"}],
    ...     "categories": [
    ...         {"id": 0, "name": "Glass bottle", "supercategory": "Bottle"},
    ...         {"id": 1, "name": "Drink can", "supercategory": "Can"}],
    ...     "annotations": [
    ...         {"id": 0, "image_id": 7, "category_id": 1},
    ...         {"id": 1, "image_id": 8, "category_id": 0}],
    ... }
    >>> labeler = CocoBinaryLabeler("Bottle")
    >>> labeler.fit_transform(coco)
    array([0, 1])
    >>> labeler.transform(["b.jpg", "a.jpg", "/data/b.jpg"])
    array([1, 0, 1])
    >>> labeler.transform([8, 7])
    array([1, 0])
    """

    _parameter_constraints: dict = {
        "positive": [str, list, tuple],
        "level": [StrOptions({"supercategory", "category"})],
    }

    def __init__(self, positive, *, level="supercategory"):
        self.positive = positive
        self.level = level

    def _positive_names(self, index):
        names = (
            [self.positive] if isinstance(self.positive, str) else list(self.positive)
        )
        if not names or not all(isinstance(n, str) for n in names):
            raise ValueError(
                f"positive must be a name or a non-empty list of names, got {self.positive!r}."
            )
        valid = index.names(self.level)
        unknown = [n for n in names if n not in valid]
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
                if not close:  # e.g. "bottle" for "Bottle"
                    close = [v for v in valid if v.lower() == name.lower()]
                if close:
                    hints.append(
                        f"{name!r}: did you mean {' or '.join(map(repr, close))}?"
                    )
            other = "category" if self.level == "supercategory" else "supercategory"
            other_known = [n for n in unknown if n in index.names(other)]
            raise ValueError(
                f"Unknown {self.level} name(s) {unknown} in {index.source}. "
                + " ".join(hints)
                + (
                    f" {other_known} are {other} names: use level={other!r}."
                    if other_known
                    else ""
                )
                + f" Valid {self.level} names: {valid}."
            )
        return tuple(names)

    def _label(self, index, names=None):
        positive = frozenset(self.positive_ if names is None else names)
        return np.fromiter(
            (not positive.isdisjoint(s) for s in index.sets(self.level)),
            dtype=np.int64,
            count=len(index.image_ids),
        )

    @all_or_nothing
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Read the annotations and check the positive names.

        Parameters
        ----------
        X : str, path-like, dict or Bunch
            COCO annotations: a JSON file, its parsed dict, or a Bunch from
            ``fetch_taco``/``load_taco_sample``.
        y : None
            Ignored.

        Returns
        -------
        self : CocoBinaryLabeler
        """
        if not _is_annotations(X):
            raise TypeError(
                "CocoBinaryLabeler is fitted on COCO annotations (a JSON path, "
                f"a dict or a dataset Bunch), got {type(X).__name__}."
            )
        index = index_coco(X)
        self.positive_ = self._positive_names(index)
        self._index = index
        self.classes_ = np.array([0, 1])
        self.image_ids_ = index.image_ids
        self.file_names_ = np.asarray(index.file_names, dtype=str)
        self.labels_ = self._label(index)
        self._fitted_params = (copy.deepcopy(self.positive), self.level)
        return self

    def transform(self, X):
        """Labels of images, aligned with ``X``.

        Parameters
        ----------
        X : array-like of int or str, or COCO annotations
            Image ids or file names (or paths that end with a file name) of
            images seen in ``fit``. COCO annotations (path, dict or Bunch)
            instead give the labels of their own images, in their order.

        Returns
        -------
        y : ndarray of int, shape (n_samples,)
            1 where the image contains a positive class, else 0.
        """
        check_is_fitted(self)
        if isinstance(X, (str, os.PathLike)) and not os.path.isfile(X):
            raise ValueError(
                f"transform got the single string {os.fspath(X)!r}, which is no "
                "annotations file. To label images, pass a list of image ids or "
                f"file names: transform([{os.fspath(X)!r}])."
            )
        if _is_annotations(X):
            # These annotations' own names are checked: a positive name they
            # do not declare would label every image 0 without a word.
            index = index_coco(X)
            return self._label(index, self._positive_names(index))
        keys = np.asarray(X, dtype=object)
        if keys.ndim != 1:
            raise ValueError(
                f"transform expects a 1-D list of image ids or file names, got "
                f"an array of shape {keys.shape}."
            )
        positions = self._index.positions(keys.tolist())
        fitted = getattr(self, "_fitted_params", (self.positive, self.level))
        if (self.positive, self.level) != fitted:
            # set_params since fit: label by the parameters as they are now.
            labels = self._label(self._index, self._positive_names(self._index))
            return labels[positions]
        return self.labels_[positions]

    def fit_transform(self, X, y=None):
        """Fit, then return the labels in the order of the annotations' images.

        Parameters
        ----------
        X : str, path-like, dict or Bunch
            COCO annotations.
        y : None
            Ignored.

        Returns
        -------
        y : ndarray of int, shape (n_images,)
        """
        return self.fit(X).labels_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
