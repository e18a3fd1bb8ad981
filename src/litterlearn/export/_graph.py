"""The inference graph of a fitted pipeline, as one Keras model.

The graph starts where :class:`~litterlearn.preprocessing.ImageResizer`
ends: a batch of uint8 images ``(n, height, width, channels)``. Each later
step becomes Keras layers, built from its public fitted attributes:

- :class:`~litterlearn.preprocessing.GrayscaleNormalizer`: ``Rescaling`` to
  [0, 1], the luminance weights as a ``Dense`` layer over the channels, and
  the standardization as a ``Rescaling`` (learned mean and scale) or a
  ``LayerNormalization`` over each image ("image");
- a litterlearn classifier: its own ``model_`` (which holds the input
  scaling and the output activation). In transfer models the backbone's
  preprocessing layer is replaced by Keras' own layers computing the same
  (``Rescaling``, ``Concatenate``, ``Dense``; ``Resizing`` to enlarge, and
  to shrink, the antialiased resize as two ``Dense`` matrices, since ONNX
  and LiteRT lack TensorFlow's op), so that the graph needs no litterlearn
  code to load; a ``Normalization`` inside a backbone (EfficientNet's)
  becomes a ``Rescaling``, which the ONNX converter handles;
- :class:`~litterlearn.preprocessing.PretrainedFeatures`: the same frozen
  backbone, rebuilt from the step's parameters (and seed);
- scikit-learn's ``StandardScaler`` (a ``Rescaling``) and
  ``LogisticRegression`` (a ``Dense`` layer and a softmax).

Samplers (``fit_resample``: augmentation, resampling) act at fit only and
are left out, as are the estimators' training-time augmentation and mixing,
which never enter ``model_``. Any other step is refused with an error naming
it.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from ..utils._modes import LUMA_WEIGHTS

__all__ = ["ExportError", "inference_model"]


class ExportError(ValueError):
    """A step of the pipeline cannot be expressed in the inference graph."""


def _keras():
    from .._keras import import_keras as _import_keras

    return _import_keras()


def _steps(estimator, name=None):
    """``[(name, step), ...]`` of a pipeline, nested pipelines flattened.

    Samplers and "passthrough" steps are left out.
    """
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        out = []
        for step_name, step in estimator.steps:
            if step is None or (isinstance(step, str) and step == "passthrough"):
                continue
            if hasattr(step, "fit_resample"):  # samplers act at fit only
                continue
            full = step_name if name is None else f"{name}__{step_name}"
            out.extend(_steps(step, full))
        return out
    return [(name or type(estimator).__name__.lower(), estimator)]


class _Flow:
    """The tensor between steps: what it holds and how it is laid out.

    ``kind`` is "image" (``shape`` is ``(H, W, C)``) or "features"
    (``shape`` is ``(n_features,)``); ``dtype`` is "uint8" or "float32".
    """

    def __init__(self, x, shape, dtype, kind):
        self.x, self.shape, self.dtype, self.kind = x, tuple(shape), dtype, kind


def _unit_float(flow, name):
    """uint8 images to float32 in [0, 1] (the image contract's scaling)."""
    if flow.dtype == "float32":
        return flow.x
    return _keras().layers.Rescaling(1.0 / 255, name=name)(flow.x)


def _image_input_of(step, step_name, flow, shape, dtype):
    """``flow`` as the images ``step`` was fitted on: ``shape``, ``dtype``."""
    keras = _keras()
    if flow.kind != "image":
        raise ExportError(
            f"Step {step_name!r} ({type(step).__name__}) takes images, but the "
            f"step before it outputs features; it cannot be exported there."
        )
    shape = tuple(int(s) for s in shape)
    if math.prod(shape) != math.prod(flow.shape):
        raise ExportError(
            f"Step {step_name!r} ({type(step).__name__}) was fitted on images "
            f"of shape {shape}, but receives images of shape {flow.shape}."
        )
    x = flow.x
    if shape != flow.shape:
        x = keras.layers.Reshape(shape, name=f"{step_name}_reshape")(x)
    dtype = np.dtype(dtype).name
    if dtype == flow.dtype:
        return x
    if dtype == "uint8":
        raise ExportError(
            f"Step {step_name!r} ({type(step).__name__}) was fitted on uint8 "
            f"images but receives floats from the step before it; refit it on "
            f"that step's output to export the pipeline."
        )
    return keras.layers.Rescaling(1.0 / 255, name=f"{step_name}_rescale")(x)


# ------------------------------------------------------------------ steps


def _standardize(x, mean, scale, name):
    """``(x - mean) / scale`` (per channel or feature) as one ``Rescaling``.

    ``Rescaling`` folds its constants into the graph, which every format
    converts (Keras' ``Normalization`` holds them as captured tensors, which
    the ONNX converter turns into extra graph inputs).
    """
    mean = np.asarray(mean, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    factor, offset = 1.0 / scale, -mean / scale
    if factor.ndim == 0:
        factor, offset = float(factor), float(offset)
    else:
        factor, offset = factor.tolist(), offset.tolist()
    return _keras().layers.Rescaling(factor, offset=offset, name=name)(x)


def _grayscale(step, name, flow):
    keras = _keras()
    layers = keras.layers
    x = _image_input_of(step, name, flow, step.input_image_shape_, flow.dtype)
    flow = _Flow(x, step.input_image_shape_, flow.dtype, "image")
    x = _unit_float(flow, f"{name}_unit")
    h, w, c = step.input_image_shape_
    if c != 1:
        # The luminance of GrayscaleNormalizer as a product over channels
        # (alpha, in 2 and 4 channels, weighs 0).
        if c in (3, 4):
            weights = np.zeros(c, dtype=np.float32)
            weights[:3] = LUMA_WEIGHTS
        elif c == 2:
            weights = np.array([1, 0], dtype=np.float32)
        else:
            weights = np.full(c, 1 / c, dtype=np.float32)
        luma = layers.Dense(1, use_bias=False, name=f"{name}_luminance")
        x = luma(x)
        luma.set_weights([weights.reshape(c, 1)])
    if isinstance(step.standardize, str):
        mode = step.standardize  # "image"
    else:
        mode = "global" if step.standardize else None
    if mode == "global":
        x = _standardize(x, step.mean_, step.scale_, f"{name}_standardize")
    elif mode == "image":
        x = layers.LayerNormalization(
            axis=[1, 2, 3],
            center=False,
            scale=False,
            epsilon=1e-12,
            name=f"{name}_standardize",
        )(x)
    return _Flow(x, (h, w, 1), "float32", "image")


def _backbone_preprocessing(layer, x, name):
    """Keras layers computing as litterlearn's ``BackbonePreprocessing``.

    RGB float32 0..255 (uint8 as is, floats times ``scale``), resized,
    gray repeated to RGB, then the backbone's ``preprocess_input`` mode.
    """
    from .._keras.layers import (
        _CAFFE_MEAN_BGR,
        _TORCH_MEAN,
        _TORCH_STD,
    )

    layers = _keras().layers
    config = layer.get_config()
    mode, scale, size = config["mode"], float(config["scale"]), config["size"]
    x = layers.Rescaling(scale, name=f"{name}_scale")(x)
    if size is not None and tuple(x.shape[1:3]) != tuple(size):
        shrinking = x.shape[1] > size[0] or x.shape[2] > size[1]
        if shrinking:
            x = _antialiased_resize(x, tuple(size), f"{name}_resize")
        else:
            x = layers.Resizing(
                int(size[0]),
                int(size[1]),
                interpolation="bilinear",
                name=f"{name}_resize",
            )(x)
    if x.shape[-1] == 1:
        x = layers.Concatenate(axis=-1, name=f"{name}_rgb")([x, x, x])
    if mode == "caffe":
        # RGB to BGR and minus the ImageNet means: a permutation and a bias,
        # exact in float32.
        flip = layers.Dense(3, name=f"{name}_caffe")
        x = flip(x)
        flip.set_weights(
            [
                np.eye(3, dtype=np.float32)[::-1].copy(),
                -np.asarray(_CAFFE_MEAN_BGR, dtype=np.float32),
            ]
        )
    elif mode == "tf":
        x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name=f"{name}_tf")(x)
    elif mode == "torch":
        x = layers.Rescaling(1.0 / 255, name=f"{name}_unit")(x)
        x = _standardize(x, _TORCH_MEAN, _TORCH_STD, f"{name}_torch")
    return x


def _antialiased_resize(x, size, name):
    """The antialiased bilinear shrink of ``BackbonePreprocessing``, as matrices.

    TensorFlow shrinks with antialiasing by an op (``ScaleAndTranslate``)
    that neither ONNX nor LiteRT has. For a fixed input size the resize is
    linear and separable: ``A_h @ image @ A_w.T`` per channel. The two
    matrices are computed with the same Keras resize, applied to the basis
    images, and become two ``Dense`` layers over the permuted axes.
    """
    keras = _keras()
    layers = keras.layers
    height, width = int(x.shape[1]), int(x.shape[2])

    def matrix(n_in, n_out):
        # Column images e_i of n_in x 1 pixels, resized to n_out x 1.
        basis = np.eye(n_in, dtype=np.float32).reshape(n_in, n_in, 1, 1)
        out = keras.ops.image.resize(
            basis, (n_out, 1), interpolation="bilinear", antialias=True
        )
        return np.asarray(keras.ops.convert_to_numpy(out)).reshape(n_in, n_out)

    rows = layers.Dense(size[0], use_bias=False, name=f"{name}_rows")
    cols = layers.Dense(size[1], use_bias=False, name=f"{name}_columns")
    x = layers.Permute((2, 3, 1), name=f"{name}_hwc_to_wch")(x)  # (W, C, H)
    x = rows(x)  # (W, C, h)
    x = layers.Permute((3, 2, 1), name=f"{name}_wch_to_hcw")(x)  # (h, C, W)
    x = cols(x)  # (h, C, w)
    x = layers.Permute((1, 3, 2), name=f"{name}_hcw_to_hwc")(x)  # (h, w, C)
    rows.set_weights([matrix(height, size[0])])
    cols.set_weights([matrix(width, size[1])])
    return x


def _is_backbone_preprocessing(layer):
    return type(layer).__name__ == "BackbonePreprocessing"


def _normalization_as_rescaling(layer):
    """A ``Normalization`` layer as the ``Rescaling`` computing the same.

    ``(x - mean) / max(sqrt(variance), epsilon)`` per channel. Keras'
    ``Normalization`` holds its statistics as captured tensors, which the
    ONNX converter turns into extra graph inputs (EfficientNet's input
    normalization would make an ONNX graph that cannot run). None when the
    layer is not a plain per-channel normalization.
    """
    keras = _keras()
    axis = tuple(layer.axis)
    n_dims = len(layer.input.shape)
    if layer.invert or len(axis) != 1 or axis[0] not in (-1, n_dims - 1):
        return None
    mean = np.asarray(keras.ops.convert_to_numpy(layer.mean), np.float64).ravel()
    var = np.asarray(keras.ops.convert_to_numpy(layer.variance), np.float64).ravel()
    deviation = np.maximum(np.sqrt(var), keras.config.epsilon())
    return keras.layers.Rescaling(
        (1.0 / deviation).tolist(), offset=(-mean / deviation).tolist(), name=layer.name
    )


def _portable(model, name):
    """``model`` with the layers that do not convert everywhere replaced.

    A clone sharing the model's own layers (the same weights, without its
    training configuration, which the export must not carry), except that
    a ``BackbonePreprocessing`` layer becomes a small model of Keras' own
    layers (see :func:`_backbone_preprocessing`) and a ``Normalization`` a
    ``Rescaling``; nested models (a backbone) are cloned the same way.
    """
    keras = _keras()

    def clone(layer):
        if _is_backbone_preprocessing(layer):
            inputs = keras.Input(shape=tuple(layer.input.shape[1:]), dtype="float32")
            outputs = _backbone_preprocessing(layer, inputs, name)
            return keras.Model(inputs, outputs, name=f"{name}_backbone_preprocessing")
        if isinstance(layer, keras.layers.Normalization):
            return _normalization_as_rescaling(layer) or layer
        return layer

    # A new model on the same graph, uncompiled, then cloned.
    inputs, outputs = model.inputs, model.outputs
    model = keras.Model(
        inputs[0] if len(inputs) == 1 else inputs,
        outputs[0] if len(outputs) == 1 else outputs,
        name=model.name,
    )
    return keras.models.clone_model(model, clone_function=clone, recursive=True)


def _apply_model(model, x, name):
    """``model`` applied to ``x``, made portable (see :func:`_portable`)."""
    return _portable(model, name)(x)


def _classifier(step, name, flow):
    model = step.model_
    x = _image_input_of(step, name, flow, step.image_shape_, step.input_dtype_)
    x = _apply_model(model, x, name)
    activation = None
    with contextlib.suppress(ValueError, AttributeError):
        activation = model.get_layer("output_activation").activation.__name__
    if activation not in ("softmax", "sigmoid"):
        raise ExportError(
            f"Step {name!r} ({type(step).__name__}): the last layer of its "
            f"model_ is not the softmax or sigmoid output litterlearn's "
            f"classifiers end with; it cannot be exported."
        )
    multilabel = activation == "sigmoid"
    thresholds = None
    if multilabel:
        n = len(step.classes_)
        thresholds = np.broadcast_to(
            np.asarray(step.threshold, dtype=np.float64), (n,)
        ).tolist()
    return x, {
        "classes": step.classes_,
        "task": "multi-label" if multilabel else "single-label",
        "thresholds": thresholds,
    }


def _pretrained(step, name, flow):
    from .. import _backbones

    spec = _backbones.get_backbone(step.backbone)
    extractor = step._extractor()  # the backbone the step transforms with
    x = _image_input_of(step, name, flow, step.image_shape_, step.input_dtype_)
    # Input -> BackbonePreprocessing -> backbone(training=False) -> pooling.
    preprocessing = extractor.get_layer("backbone_preprocessing")
    x = _backbone_preprocessing(preprocessing, x, name)
    x = _portable(extractor.get_layer(spec.name), name)(x, training=False)
    x = extractor.layers[-1](x)
    return _Flow(x, (int(step.n_features_out_),), "float32", "features")


def _as_features(flow, name):
    """Rows as scikit-learn steps see them: float32 (uint8 values kept)."""
    layers = _keras().layers
    x = flow.x
    if flow.kind == "image":
        x = layers.Flatten(name=f"{name}_rows")(x)
    if flow.dtype == "uint8":
        x = layers.Rescaling(1.0, name=f"{name}_float")(x)
    return x, (math.prod(flow.shape),)


def _standard_scaler(step, name, flow):
    x, shape = _as_features(flow, name)
    n = shape[0]
    if step.n_features_in_ != n:
        raise ExportError(
            f"Step {name!r} (StandardScaler) was fitted on {step.n_features_in_} "
            f"features but receives {n}."
        )
    mean = step.mean_ if step.with_mean else np.zeros(n)
    scale = step.scale_ if step.with_std else np.ones(n)
    x = _standardize(x, mean, scale, f"{name}_standardize")
    return _Flow(x, (n,), "float32", "features")


def _logistic(step, name, flow):
    layers = _keras().layers
    x, (n,) = _as_features(flow, name)
    classes = np.asarray(step.classes_)
    coef = np.asarray(step.coef_, dtype=np.float64)
    intercept = np.broadcast_to(
        np.asarray(step.intercept_, dtype=np.float64), (coef.shape[0],)
    )
    if coef.shape[1] != n:
        raise ExportError(
            f"Step {name!r} (LogisticRegression) was fitted on {coef.shape[1]} "
            f"features but receives {n}."
        )
    if (
        len(classes) > 2
        and getattr(step, "multi_class", "auto") == "ovr"
        or (len(classes) > 2 and getattr(step, "solver", None) == "liblinear")
    ):
        raise ExportError(
            f"Step {name!r} (LogisticRegression) is one-vs-rest; only the "
            f"multinomial (softmax) model is exported."
        )
    if len(classes) == 2:
        # expit(d) for the second class is softmax([-d/2, d/2]).
        kernel = np.stack([-coef[0] / 2, coef[0] / 2], axis=1)
        bias = np.array([-intercept[0] / 2, intercept[0] / 2])
    else:
        kernel, bias = coef.T, intercept
    dense = layers.Dense(len(classes), name=f"{name}_logits")
    x = dense(x)
    dense.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    x = layers.Activation("softmax", name=f"{name}_softmax")(x)
    return x, {"classes": classes, "task": "single-label", "thresholds": None}


def _kind(step):
    """Which translation applies to ``step`` (None: none)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from ..preprocessing import GrayscaleNormalizer, PretrainedFeatures

    if isinstance(step, GrayscaleNormalizer):
        return "grayscale"
    if isinstance(step, PretrainedFeatures):
        return "pretrained"
    if isinstance(step, StandardScaler):
        return "scaler"
    if isinstance(step, LogisticRegression):
        return "logistic"
    if hasattr(step, "model_") and hasattr(step, "classes_"):
        from ..neural_network._base import _BaseImageClassifier

        if isinstance(step, _BaseImageClassifier):
            return "classifier"
    return None


def _input_shape(kind, step):
    if kind == "grayscale":
        return step.input_image_shape_
    if kind in ("classifier", "pretrained"):
        return step.image_shape_
    return None


def _check_fitted(step, name):
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(step)
    except Exception as exc:
        raise ExportError(
            f"Step {name!r} ({type(step).__name__}) is not fitted; fit the "
            f"pipeline before exporting it."
        ) from exc


def build(estimator):
    """The Keras inference model of ``estimator`` and what it means.

    Returns
    -------
    model : keras.Model
        uint8 images ``(n, H, W, C)`` in, float32 probabilities out.
    info : dict
        "steps" (the class names of the exported steps), "resize" (the
        ImageResizer's parameters, or None), "input_shape", "classes",
        "task" ("single-label" or "multi-label") and "thresholds".
    """
    from ..preprocessing import ImageResizer

    steps = _steps(estimator)
    if not steps:
        raise ExportError("There is nothing to export: the pipeline has no steps.")
    for name, step in steps:
        _check_fitted(step, name)
    resize = None
    if isinstance(steps[0][1], ImageResizer):
        resizer = steps[0][1]
        shape = tuple(int(s) for s in resizer.image_shape_)
        resize = {
            "size": [shape[0], shape[1]],
            "fit_mode": resizer.fit_mode,
            "color": "gray" if shape[2] == 1 else "rgb",
            "background": [int(v) for v in _background(resizer.background)],
        }
        steps = steps[1:]
    else:
        shape = _input_shape(_kind(steps[0][1]), steps[0][1])
        if shape is None:
            raise ExportError(
                f"Step {steps[0][0]!r} ({type(steps[0][1]).__name__}) cannot "
                f"start an exported pipeline: start it with ImageResizer or a "
                f"litterlearn image step."
            )
        shape = tuple(int(s) for s in shape)
    for name, step in steps:
        if isinstance(step, ImageResizer):
            raise ExportError(
                f"Step {name!r} (ImageResizer) must be the first step of an "
                f"exported pipeline."
            )
    keras = _keras()
    inputs = keras.Input(shape=shape, dtype="uint8", name="image")
    flow = _Flow(inputs, shape, "uint8", "image")
    outputs = info = None
    for i, (name, step) in enumerate(steps):
        kind = _kind(step)
        last = i == len(steps) - 1
        if kind is None:
            raise ExportError(
                f"Step {name!r} ({type(step).__name__}) cannot be expressed in "
                f"the exported graph. Exported pipelines hold ImageResizer, "
                f"GrayscaleNormalizer, PretrainedFeatures, StandardScaler and "
                f"end in a litterlearn classifier or a LogisticRegression."
            )
        if kind in ("classifier", "logistic") and not last:
            raise ExportError(
                f"Step {name!r} ({type(step).__name__}) must be the last step "
                f"of an exported pipeline."
            )
        if last and kind not in ("classifier", "logistic"):
            raise ExportError(
                f"The last step, {name!r} ({type(step).__name__}), is not a "
                f"classifier: an exported pipeline ends in a litterlearn "
                f"classifier or a LogisticRegression."
            )
        if kind == "grayscale":
            flow = _grayscale(step, name, flow)
        elif kind == "pretrained":
            flow = _pretrained(step, name, flow)
        elif kind == "scaler":
            flow = _standard_scaler(step, name, flow)
        elif kind == "classifier":
            outputs, info = _classifier(step, name, flow)
        else:
            outputs, info = _logistic(step, name, flow)
    outputs = keras.layers.Activation("linear", dtype="float32", name="probabilities")(
        outputs
    )
    model = keras.Model(inputs, outputs, name="litterlearn_inference")
    random = sorted(
        {
            type(layer).__name__
            for layer in _all_layers(model)
            if type(layer).__name__.startswith("Random")
        }
    )
    if random:
        # Random augmentation layers have no place in inference (and Keras'
        # ONNX export makes an invalid graph of them).
        raise ExportError(
            f"The model holds random augmentation layers ({', '.join(random)}), "
            f"which act in training only; augment with the estimator's "
            f"augmentation parameter or an Augmenter step instead."
        )
    info = {
        "steps": [type(step).__name__ for _, step in _steps(estimator)],
        "resize": resize,
        "input_shape": list(shape),
        **info,
    }
    return model, info


def _all_layers(model):
    """Every layer of ``model``, those of nested models too."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def _background(background):
    from ..preprocessing._resize import _check_background

    return _check_background(background)


def inference_model(estimator):
    """The inference graph of a fitted pipeline, as a Keras model.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A fitted litterlearn classifier, or a fitted pipeline of litterlearn
        image steps (``ImageResizer``, ``GrayscaleNormalizer``,
        ``PretrainedFeatures``, scikit-learn's ``StandardScaler``) ending in
        a litterlearn classifier or a ``LogisticRegression``. Samplers are
        left out (they act at fit only).

    Returns
    -------
    model : keras.Model
        Takes uint8 images ``(n, height, width, channels)`` as
        ``ImageResizer`` makes them (the rows of its output, reshaped) and
        returns float32 probabilities ``(n, n_classes)`` in the order of
        ``classes_``: the pipeline's ``predict_proba`` as one graph.

    Raises
    ------
    ExportError
        A step cannot be expressed in the graph (the message names it), or
        the pipeline is not fitted.

    See Also
    --------
    export : Write the graph (and what it means) for deployment.
    """
    return build(estimator)[0]
