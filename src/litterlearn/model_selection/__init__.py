"""Choosing a model for the data at hand.

:func:`assess` answers "is deep learning worth it for my images?": it
compares classic baselines, the small-data CNN and transfer routes on the
same splits, along a learning curve, and says in plain words what pays.
"""

from ._assess import AssessResult, assess, parse_budget

__all__ = ["AssessResult", "assess", "parse_budget"]
