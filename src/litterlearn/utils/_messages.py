"""Pieces of error messages that several modules write."""

from __future__ import annotations


def first_few(items, show=str, n=5):
    """The first ``n`` of ``items`` for an error message, and how many more.

    >>> first_few([3, 8, 9, 11, 12, 15, 20])
    '3, 8, 9, 11, 12 and 2 more'
    >>> first_few(["a.jpg"], show=repr)
    "'a.jpg'"
    """
    shown = ", ".join(show(item) for item in items[:n])
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return shown + more
