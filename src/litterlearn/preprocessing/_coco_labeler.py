"""Image labels from COCO annotations: one-vs-all (binary) or multi-label."""

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
from ..utils._docstrings import fill_doc
from ..utils._sklearn_compat import StrOptions, _fit_context


def _is_annotations(X):
    return isinstance(X, (str, os.PathLike, Mapping))


def _check_names(names, index, level):
    """Raise if a name is not a ``level`` name of ``index``, with close matches."""
    valid = index.names(level)
    unknown = [n for n in names if n not in valid]
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
        if not close:  # e.g. "bottle" for "Bottle"
            close = [v for v in valid if v.lower() == name.lower()]
        if close:
            hints.append(f"{name!r}: did you mean {' or '.join(map(repr, close))}?")
    other = "category" if level == "supercategory" else "supercategory"
    other_known = [n for n in unknown if n in index.names(other)]
    raise ValueError(
        f"Unknown {level} name(s) {unknown} in {index.source}. "
        + " ".join(hints)
        + (
            f" {other_known} are {other} names: use level={other!r}."
            if other_known
            else ""
        )
        + f" Valid {level} names: {valid}."
    )


# What both labelers read, and the annotations their examples label (image 7
# holds a can, image 8 a bottle and a can).
_fill_doc = fill_doc(
    inputs="""``fit`` reads the annotations (a COCO JSON file, its dict, or the
    Bunch of :func:`~litterlearn.datasets.fetch_taco` /
    :func:`~litterlearn.datasets.load_taco_sample`); ``transform`` maps image
    ids or file names (or paths ending with a file name, such as
    ``Bunch.filenames``)""",
    images_seen="""image_ids_ : ndarray of shape (n_images,)
        Ids of the images seen in ``fit``, in annotation order: int64 when
        every id is an integer, else an object array of the ids exactly as
        written (strings, fractional numbers).
    file_names_ : ndarray of str, shape (n_images,)
        Their ``file_name``.""",
    coco=""">>> coco = {
    ...     "images": [{"id": 7, "file_name": "a.jpg"}, {"id": 8, "file_name": "b.jpg"}],
    ...     "categories": [
    ...         {"id": 0, "name": "Glass bottle", "supercategory": "Bottle"},
    ...         {"id": 1, "name": "Drink can", "supercategory": "Can"}],
    ...     "annotations": [
    ...         {"id": 0, "image_id": 7, "category_id": 1},
    ...         {"id": 1, "image_id": 8, "category_id": 0},
    ...         {"id": 2, "image_id": 8, "category_id": 1}],
    ... }""",
)


class _BaseCocoLabeler(TransformerMixin, BaseEstimator):
    """What the COCO labelers share: reading annotations, and finding images.

    ``fit`` reads the annotations once into a :class:`CocoIndex`; subclasses
    say which names they label (``_names``, validated against an index),
    how (``_label``: one row per image of an index) and what they record of
    those names (``_record``).
    """

    def _names(self, index):
        raise NotImplementedError

    def _label(self, index, names):
        raise NotImplementedError

    def _record(self, names):
        raise NotImplementedError

    def _names_of_other(self, index):
        """The names to label other annotations (given to transform) by."""
        return self._names(index)

    def _params_changed(self):
        fitted = getattr(self, "_fitted_params", None)
        return fitted is not None and self.get_params(deep=False) != fitted

    def _relabel(self):
        """Labels of the fitted images under the parameters as they are now."""
        return self._label(self._index, self._names(self._index))

    @all_or_nothing
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Read the annotations and check the names.

        Parameters
        ----------
        X : str, path-like, dict or Bunch
            COCO annotations: a JSON file, its parsed dict, or a Bunch from
            ``fetch_taco``/``load_taco_sample``.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted labeler.
        """
        if not _is_annotations(X):
            raise TypeError(
                f"{type(self).__name__} is fitted on COCO annotations (a JSON "
                f"path, a dict or a dataset Bunch), got {type(X).__name__}."
            )
        index = index_coco(X)
        names = self._names(index)
        self._record(names)
        self._index = index
        self.image_ids_ = index.image_ids
        self.file_names_ = np.asarray(index.file_names, dtype=str)
        self.labels_ = self._label(index, names)
        self._fitted_params = copy.deepcopy(self.get_params(deep=False))
        return self

    def transform(self, X):
        """Labels of images, aligned with ``X``.

        Parameters
        ----------
        X : array-like of int or str, or COCO annotations
            Image ids (numbers or strings) or file names (or paths that end
            with a file name) of images seen in ``fit``. COCO annotations (path, dict or Bunch)
            instead give the labels of their own images, in their order.

        Returns
        -------
        y : ndarray of int
            One label (row) per image, as in ``labels_``.
        """
        check_is_fitted(self)
        if isinstance(X, (str, os.PathLike)) and not os.path.isfile(X):
            raise ValueError(
                f"transform got the single string {os.fspath(X)!r}, which is no "
                "annotations file. To label images, pass a list of image ids or "
                f"file names: transform([{os.fspath(X)!r}])."
            )
        if _is_annotations(X):
            # These annotations' own names are checked: a name they do not
            # declare would label every image 0 without a word.
            index = index_coco(X)
            return self._label(index, self._names_of_other(index))
        keys = np.asarray(X, dtype=object)
        if keys.ndim != 1:
            raise ValueError(
                f"transform expects a 1-D list of image ids or file names, got "
                f"an array of shape {keys.shape}."
            )
        positions = self._index.positions(keys.tolist())
        if self._params_changed():
            # set_params since fit: label by the parameters as they are now.
            return self._relabel()[positions]
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
        y : ndarray of int
            ``labels_``: one label (row) per image of the annotations.
        """
        return self.fit(X).labels_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


@_fill_doc
class CocoBinaryLabeler(_BaseCocoLabeler):
    """Binary image labels from COCO annotations: 1 if a positive class is present.

    An image is labelled 1 when it has at least one annotation whose
    category (or supercategory, with ``level="supercategory"``) is one of
    ``positive``, else 0. Images without any annotation are 0.

    %(inputs)s to labels aligned with its input;
    ``fit_transform`` labels the images in the order of the annotations'
    ``images`` list.

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
    %(images_seen)s
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
    %(coco)s
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

    def _names(self, index):
        names = (
            [self.positive] if isinstance(self.positive, str) else list(self.positive)
        )
        if not names or not all(isinstance(n, str) for n in names):
            raise ValueError(
                f"positive must be a name or a non-empty list of names, got {self.positive!r}."
            )
        _check_names(names, index, self.level)
        return tuple(names)

    def _record(self, names):
        self.positive_ = names
        self.classes_ = np.array([0, 1])

    def _label(self, index, names):
        positive = frozenset(names)
        return np.fromiter(
            (not positive.isdisjoint(s) for s in index.sets(self.level)),
            dtype=np.int64,
            count=len(index.image_ids),
        )


@_fill_doc
class CocoMultiLabeler(_BaseCocoLabeler):
    """Multi-label image targets from COCO annotations: which classes each image holds.

    Row ``i``, column ``j`` of the output is 1 when image ``i`` has at least
    one annotation whose category (or supercategory, with
    ``level="supercategory"``) is ``classes_[j]``, else 0. Images without
    any annotation are all 0. The result is a 0/1 indicator matrix, the
    multi-label target scikit-learn's classifiers (and litterlearn's) accept.

    It reads the same inputs as :class:`CocoBinaryLabeler`:
    %(inputs)s to rows aligned with its input;
    ``fit_transform`` labels the images in the order of the annotations'
    ``images`` list.

    Parameters
    ----------
    level : {"supercategory", "category"}, default="supercategory"
        Whether the labels are supercategories (TACO's 28, e.g.
        ``"Bottle"``) or categories (TACO's 60, e.g. ``"Glass bottle"``).
    classes : list of str, default=None
        The labels, one column each, in this order. None: every name the
        annotations declare at ``level``, sorted; with
        ``level="supercategory"``, a category declared without a
        supercategory is then an error that names it (its annotations would
        be in no column). Unknown names are an error that lists the valid
        ones.

    Attributes
    ----------
    classes_ : ndarray of str, shape (n_labels,)
        The label of each column.
    %(images_seen)s
    labels_ : ndarray of int, shape (n_images, n_labels)
        Their 0/1 indicator rows.

    See Also
    --------
    CocoBinaryLabeler : One-vs-all labels: does an image hold a class?
    litterlearn.datasets.train_val_test_split : Splits stratified over every
        label of an indicator matrix.
    sklearn.preprocessing.MultiLabelBinarizer : The same indicator from
        sets of labels.

    Notes
    -----
    Like :class:`CocoBinaryLabeler`, it produces the target ``y`` and is not
    a pipeline step; scikit-learn's array-based estimator checks do not
    apply to it (``input_tags.two_d_array=False``). With the columns fixed
    at ``fit``, ``transform`` of other annotations gives the same columns
    and fails if those annotations lack one of the names.

    Examples
    --------
    >>> from litterlearn.preprocessing import CocoMultiLabeler
    %(coco)s
    >>> labeler = CocoMultiLabeler()
    >>> labeler.fit_transform(coco)
    array([[0, 1],
           [1, 1]])
    >>> labeler.classes_.tolist()
    ['Bottle', 'Can']
    >>> labeler.transform(["b.jpg", "/data/a.jpg"])
    array([[1, 1],
           [0, 1]])
    >>> CocoMultiLabeler(classes=["Can"]).fit_transform(coco)
    array([[1],
           [1]])
    """

    _parameter_constraints: dict = {
        "level": [StrOptions({"supercategory", "category"})],
        "classes": [None, list, tuple],
    }

    def __init__(self, *, level="supercategory", classes=None):
        self.level = level
        self.classes = classes

    def _names(self, index):
        if self.classes is None:
            self._check_every_category_has_a_column(index)
            return tuple(index.names(self.level))
        else:
            names = list(self.classes)
            if not names or not all(isinstance(n, str) for n in names):
                raise ValueError(
                    "classes must be None or a non-empty list of names, got "
                    f"{self.classes!r}."
                )
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"classes names {repeated} more than once.")
        _check_names(names, index, self.level)
        return tuple(names)

    def _record(self, names):
        self.classes_ = np.array(names, dtype=str)

    def _label(self, index, names):
        column = {name: j for j, name in enumerate(names)}
        labels = np.zeros((len(index.image_ids), len(names)), dtype=np.int64)
        for i, held in enumerate(index.sets(self.level)):
            labels[i, [column[n] for n in held if n in column]] = 1
        return labels

    def _check_every_category_has_a_column(self, index):
        """With every supercategory a column, a category without one would
        have its annotations left out of every column."""
        lost = index.without_supercategory
        if self.level == "supercategory" and lost:
            raise ValueError(
                f"The categories {lost} in {index.source} have no supercategory, "
                f"so with level='supercategory' their annotations would be in "
                f"no column. Give them a supercategory, use level='category', "
                f"or name the columns with classes=[...]."
            )

    def _names_of_other(self, index):
        if self._params_changed():
            self._relabel()  # raises
        if self.classes is None:
            self._check_every_category_has_a_column(index)
        # The fitted columns, which the other annotations must declare.
        names = self.classes_.tolist()
        _check_names(names, index, self.level)
        return tuple(names)

    def _relabel(self):
        raise ValueError(
            "level or classes changed since fit, so classes_ no longer names "
            "the columns transform would give: call fit again."
        )
