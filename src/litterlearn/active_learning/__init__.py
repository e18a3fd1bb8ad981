"""Which images to label next: uncertainty sampling for any classifier."""

from ._query import suggest_labels

__all__ = ["suggest_labels"]
