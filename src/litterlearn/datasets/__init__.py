"""Datasets: TACO through pooch, an offline synthetic sample, your own images, splits."""

from ._base import get_data_home
from ._folder import load_image_folder
from ._sample import load_taco_sample
from ._split import train_val_test_split
from ._taco import fetch_taco

__all__ = [
    "fetch_taco",
    "get_data_home",
    "load_image_folder",
    "load_taco_sample",
    "train_val_test_split",
]
