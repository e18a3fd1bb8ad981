"""GrayscaleNormalizer: RGB rows to luminance in [0, 1]."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._atomic import AtomicFitTransformMixin, all_or_nothing
from ..utils._images import fitted_rows, to_unit_float, validate_images
from ..utils._modes import LUMA_WEIGHTS
from ..utils._sklearn_compat import StrOptions, _fit_context


class GrayscaleNormalizer(AtomicFitTransformMixin, TransformerMixin, BaseEstimator):
    """Convert image rows to luminance scaled to [0, 1], optionally standardized.

    RGB rows become gray with the ITU-R 601-2 weights used by Pillow's
    ``convert("L")`` (``L = 0.299 R + 0.587 G + 0.114 B``); 1-channel rows are
    only scaled. The alpha of RGBA and of gray-alpha (LA, 2 channels) input
    is ignored. uint8 input is divided by 255; float input is taken as
    already scaled. The output is float32 rows ``(n_samples, H*W)``.

    Parameters
    ----------
    standardize : bool or {"image"}, default=False
        False: output luminance in [0, 1]. True: subtract the mean and divide
        by the standard deviation of all pixels of the training set (learned
        in ``fit``). "image": standardize each image by its own statistics
        (nothing learned).
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of the input rows; one entry may be -1.
        None infers it from the input (see the image contract).

    Attributes
    ----------
    n_features_in_ : int
        Number of input features (``H*W*C``).
    input_image_shape_ : tuple of int
        ``(H, W, C)`` of the input seen in ``fit``.
    image_shape_ : tuple of int
        ``(H, W, 1)``, the shape of the output rows.
    mean_ : float or None
        Mean luminance of the training pixels (``standardize=True`` only).
    scale_ : float or None
        Standard deviation used to scale (``standardize=True`` only).

    See Also
    --------
    ImageResizer : Decode and resize images to uint8 rows.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.preprocessing import GrayscaleNormalizer
    >>> rgb = np.array([[255, 0, 0, 255, 255, 255, 0, 0, 0, 0, 0, 255]], np.uint8)
    >>> GrayscaleNormalizer().fit_transform(rgb)  # a 2x2 RGB image
    array([[0.299, 1.   , 0.   , 0.114]], dtype=float32)
    """

    _parameter_constraints: dict = {
        "standardize": ["boolean", StrOptions({"image"})],
        "image_shape": [None, tuple, list],
    }

    def __init__(self, *, standardize=False, image_shape=None):
        self.standardize = standardize
        self.image_shape = image_shape

    @all_or_nothing
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the input shape (and statistics if ``standardize=True``).

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Images, uint8 (0..255) or float (already scaled).
        y : None
            Ignored.

        Returns
        -------
        self : GrayscaleNormalizer
        """
        rows, shape = validate_images(self, X, reset=True, image_shape=self.image_shape)
        self.input_image_shape_ = shape
        self.image_shape_ = (shape[0], shape[1], 1)
        self.mean_ = self.scale_ = None
        if self._standardize() == "global":
            gray = self._luminance(rows)
            self.mean_ = float(gray.mean(dtype=np.float64))
            std = float(gray.std(dtype=np.float64))
            self.scale_ = std if std > 0 else 1.0
        return self

    def _standardize(self):
        """None, "global" or "image", for any truthy value (np.True_ too)."""
        if isinstance(self.standardize, str):
            return self.standardize
        return "global" if self.standardize else None

    def _luminance(self, rows):
        h, w, c = self.input_image_shape_
        gray = to_unit_float(rows)
        if c == 1:
            return gray
        images = gray.reshape(len(rows), h * w, c)
        if c == 2:  # gray and alpha (LA): the alpha is ignored
            return np.ascontiguousarray(images[..., 0])
        if c in (3, 4):  # RGB, or RGBA whose alpha is ignored
            return images[..., :3] @ LUMA_WEIGHTS
        # Any other channel count: the plain mean of the channels.
        return images.mean(axis=-1, dtype=np.float32)

    def transform(self, X):
        """Convert rows to float32 luminance.

        Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Images of the shape seen in ``fit``.

        Returns
        -------
        Xt : ndarray of shape (n_samples, H*W), float32
        """
        rows, _ = fitted_rows(self, X, fitted_shape_attr="input_image_shape_")
        gray = self._luminance(rows)
        mode = self._standardize()
        if mode == "global":
            gray = (gray - np.float32(self.mean_)) / np.float32(self.scale_)
        elif mode == "image":
            mean = gray.mean(axis=1, keepdims=True)
            std = gray.std(axis=1, keepdims=True)
            gray = (gray - mean) / np.where(std > 0, std, 1).astype(np.float32)
        return np.ascontiguousarray(gray, dtype=np.float32)

    def get_feature_names_out(self, input_features=None):
        """Output feature names ``grayscalenormalizer0`` ... (one per pixel)."""
        check_is_fitted(self)
        h, w, _ = self.image_shape_
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(h * w)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
