"""Shared utilities: the image contract (rows <-> images, dtype rules), and
the one-time TensorFlow configuration of a process."""

from ._images import (
    as_image_dtype,
    check_image_shape,
    images_to_rows,
    infer_image_shape,
    resolve_image_shape,
    rows_to_images,
    to_unit_float,
    validate_images,
)
from ._joblib_dask import fix_joblib_dask_backend
from ._tensorflow import configure_tensorflow

__all__ = [
    "as_image_dtype",
    "check_image_shape",
    "configure_tensorflow",
    "fix_joblib_dask_backend",
    "images_to_rows",
    "infer_image_shape",
    "resolve_image_shape",
    "rows_to_images",
    "to_unit_float",
    "validate_images",
]
