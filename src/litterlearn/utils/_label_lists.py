"""Refuse labels given as one list per sample, pointing to MultiLabelBinarizer."""

from __future__ import annotations

from collections.abc import Set

import numpy as np

__all__ = ["check_not_label_lists"]


def check_not_label_lists(y, input_name="y"):
    """Raise a ``ValueError`` if ``y`` holds one list (or set) of labels per sample.

    ``[["bottle"], ["can", "bottle"], []]`` is how multi-label data is often
    written down, but estimators (and NumPy) take a 0/1 indicator matrix,
    one column per label; NumPy's own error for such ragged lists ("an
    inhomogeneous shape") does not say so. Equal-length lists of numbers
    are an indicator already and pass (as do lists of one label name each,
    a column of labels); a pandas Series (or object array) of lists is
    checked as a list.

    Parameters
    ----------
    y : object
        The target, as the user gave it.
    input_name : str, default="y"
        Its name in the message.
    """
    if isinstance(y, (str, bytes)) or not hasattr(y, "__iter__"):
        return
    shape = getattr(y, "shape", None)
    kind = getattr(getattr(y, "dtype", None), "kind", None)
    if shape is not None and (len(shape) != 1 or kind != "O"):
        return  # arrays of numbers, DataFrames, sparse matrices: rectangular
    try:
        items = list(y)
    except TypeError:
        return
    lists = [v for v in items if isinstance(v, (list, tuple, Set, np.ndarray))]
    if not lists:
        return
    sets = any(isinstance(v, Set) for v in lists)
    widths = {len(v) for v in lists}
    ragged = len(lists) < len(items) or len(widths) > 1
    # Equal-length lists of several label names: label sets too.
    names = widths != {1} and any(isinstance(x, str) for v in lists for x in v)
    if sets or ragged or names:
        raise ValueError(
            f"{input_name} holds a list of labels per sample (e.g. "
            f"{lists[0]!r:.60}); pass a 0/1 indicator matrix instead, one column "
            f"per label: MultiLabelBinarizer().fit_transform({input_name}) from "
            f"sklearn.preprocessing makes one (its classes_ name the columns)."
        )
