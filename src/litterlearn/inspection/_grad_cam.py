"""Grad-CAM: where in an image a convolutional classifier found its evidence.

Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization" (ICCV 2017). For a convolution's feature maps
``A_k`` and a class score ``s_c`` taken *before* the output activation (the
softmax of a single-label network, the sigmoids of a multi-label one), each
map is weighted by the mean of ``d s_c / d A_k`` over its positions; the
heatmap is ``relu(sum_k w_k A_k)``, upsampled to the image and scaled to
[0, 1].

The network is run layer by layer in eager mode with the chosen layer's
output watched by a ``tf.GradientTape``, and the softmax or sigmoid at its
end replaced by the identity (or, for a last ``Dense`` layer with a built-in
softmax or sigmoid, by ``inputs @ kernel + bias``). Nothing of the
estimator's model is changed, so predictions running at the same time in
other threads are unaffected. This works for ``keras.Sequential`` and
functional models and finds convolutions inside nested models (a
``keras.applications`` backbone is one).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._keras import import_keras, import_tensorflow, sublayers
from ..utils._estimators import final_estimator_and_input
from ..utils._images import as_model_dtype, validate_images
from ..utils._sklearn_compat import run_through_graph

__all__ = ["grad_cam"]

_CONV_CLASSES = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D")
_BATCH = 64


def grad_cam(estimator, X, *, target=None, layer=None):
    """Grad-CAM heatmaps: the image regions that raise a class's score.

    For each image, the feature maps of a convolution are weighted by the
    average gradient of the class score *before the softmax* (the gradients of
    a saturated softmax output vanish and localize barely better than chance),
    summed, rectified, upsampled to the classifier's image size and scaled so
    that each map's maximum is 1.

    A multi-label classifier (fitted on a 0/1 indicator, one sigmoid per
    label) is explained one label at a time: ``target`` is the label (a
    column index, as in its ``classes_``) and its score is taken before
    that label's sigmoid, so each map shows where the network sees that
    label, whatever else the image holds.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        A fitted litterlearn neural-network classifier whose ``model_`` (a
        Keras model) has a 2D convolution, e.g.
        :class:`~litterlearn.neural_network.CNNImageClassifier`; or a
        :class:`~sklearn.pipeline.Pipeline` (scikit-learn's or
        imbalanced-learn's) ending in one, in which case ``X`` first goes
        through the preceding steps' ``transform`` (samplers are skipped);
        or a meta-estimator whose fitted ``estimator_`` is one of those
        (e.g. :class:`~litterlearn.ensemble.TestTimeAugmentationClassifier`).
    X : array-like
        Images as the estimator takes them: rows ``(n_samples, H*W*C)``,
        ``(n, H, W)`` or ``(n, H, W, C)`` arrays, or whatever the pipeline's
        first step accepts (e.g. file paths for an ``ImageResizer``).
    target : None, a class label, or array-like of shape (n_samples,)
        The class whose score is explained: None for each image's predicted
        class (for a multi-label classifier, its most probable label); one
        label (from ``classes_``) for all images; or one label per image.
    layer : None, str or keras.layers.Layer, default=None
        The layer whose feature maps are weighted; a name is looked up in the
        model and in nested models. It must output feature maps
        ``(batch, h, w, channels)``. None takes the last convolution, together
        with the layers right after it that keep its feature map size (its
        batch normalization and activation, a residual addition), but not a
        pooling.

    Returns
    -------
    heatmaps : ndarray of shape (n_samples, H, W), float32
        Values in [0, 1], ``(H, W)`` being the classifier's image size
        (``image_shape_[:2]``). Each map's maximum is 1, unless no region
        raises the score (then the map is all zeros).

    Raises
    ------
    ValueError
        If the network has no convolution (e.g. ``MLPImageClassifier``), the
        layer is not found or does not output feature maps, or a target is
        not a class.
    TypeError
        If the estimator has no fitted Keras model.

    See Also
    --------
    litterlearn.plotting.plot_grad_cam : Draw heatmaps over their images.

    Notes
    -----
    Needs Keras' TensorFlow backend (litterlearn's default). The heatmap of the
    last convolution is coarse (9x9 for the course CNN on 50x50 images) and is
    stretched over the whole image, so its peaks can sit a few pixels off
    where "valid" convolutions and pooling shift the feature grid.

    References
    ----------
    .. [1] R. R. Selvaraju, M. Cogswell, A. Das, R. Vedantam, D. Parikh and
       D. Batra, "Grad-CAM: Visual Explanations from Deep Networks via
       Gradient-based Localization", ICCV 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from litterlearn.inspection import grad_cam
    >>> from litterlearn.neural_network import CNNImageClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 12, 12), dtype=np.float32) * 0.2
    >>> y = np.arange(40) % 2
    >>> X[y == 1, 2:6, 2:6] = 1.0  # class 1: a bright square
    >>> clf = CNNImageClassifier(filters=(4,), padding="same", global_pooling="max",
    ...                          max_iter=5, random_state=0).fit(X, y)
    >>> heatmaps = grad_cam(clf, X[:3])
    >>> heatmaps.shape, heatmaps.dtype
    ((3, 12, 12), dtype('float32'))
    >>> bool(heatmaps.min() >= 0 and heatmaps.max() <= 1)
    True
    """
    clf, X = _final_classifier(estimator, X)
    keras = import_keras()
    model = clf.model_
    images = _model_input(clf, X)
    classes = np.asarray(clf.classes_)
    target_idx = _target_indices(target, classes, len(images))
    leaves = list(sublayers(model))
    conv = _resolve_layer(layer, model, leaves, type(clf).__name__)
    head = _output_head(model)
    out_hw = tuple(int(s) for s in clf.image_shape_[:2])
    maps = [
        _batch_grad_cam(
            keras,
            model,
            images[start : start + _BATCH],
            None if target_idx is None else target_idx[start : start + _BATCH],
            conv,
            head,
            out_hw,
        )
        for start in range(0, len(images), _BATCH)
    ]
    return np.concatenate(maps) if maps else np.zeros((0, *out_hw), np.float32)


# --------------------------------------------------------------------------
# The estimator and its input.


def _final_classifier(estimator, X):
    """Walk Pipelines and meta-estimators down to the Keras classifier.

    Returns the classifier and ``X`` transformed by the steps before it.
    """
    current, X = final_estimator_and_input(estimator, X)
    if hasattr(current, "fit") and not hasattr(current, "model_"):
        check_is_fitted(current)  # a NotFittedError for unfitted litterlearn models
    if not hasattr(current, "model_") or not hasattr(current, "classes_"):
        raise TypeError(
            f"grad_cam needs a fitted litterlearn neural-network classifier (with "
            f"a Keras model_ and classes_), or a Pipeline ending in one; got "
            f"{type(current).__name__}."
        )
    return current, X


def _model_input(clf, X):
    """Images ``(n, H, W, C)`` in the dtype the model was trained on."""
    rows, shape = validate_images(
        clf,
        X,
        reset=False,
        image_shape=getattr(clf, "image_shape", None),
        fitted_image_shape=clf.image_shape_,
    )
    dtype = getattr(clf, "input_dtype_", None)
    if dtype is None:
        dtype = clf.model_.inputs[0].dtype
    rows = as_model_dtype(rows, np.dtype(dtype))
    return rows.reshape((len(rows), *shape))


def _target_indices(target, classes, n):
    """Column indices of the target classes, or None for the predicted ones."""
    if target is None:
        return None
    labels = np.asarray(target, dtype=object if classes.dtype == object else None)
    if labels.ndim == 0:
        labels = np.full(n, labels.item(), dtype=object)
    elif labels.shape != (n,):
        raise ValueError(
            f"target must be None, one class label, or one label per image "
            f"({n}); got an array of shape {labels.shape}."
        )
    index = {c: i for i, c in enumerate(classes.tolist())}
    out = np.empty(n, dtype=np.intp)
    for i, label in enumerate(labels.tolist()):
        if isinstance(label, np.generic):
            label = label.item()
        if label not in index:
            raise ValueError(
                f"target {label!r} is not a class of the classifier; its classes "
                f"are {classes.tolist()}."
            )
        out[i] = index[label]
    return out


# --------------------------------------------------------------------------
# The network.


def _contains(model, layer):
    return any(sub is layer for sub in sublayers(model))


def _is_conv(layer):
    return any(cls.__name__ in _CONV_CLASSES for cls in type(layer).__mro__)


def _feature_map_shape(layer):
    try:
        shape = tuple(layer.output.shape)
    except (AttributeError, ValueError):
        return None
    return shape if len(shape) == 4 else None


def _resolve_layer(layer, model, leaves, name):
    convs = [sub for sub in leaves if _is_conv(sub)]
    if layer is None and any(type(sub).__name__ == "TokenPooling" for sub in leaves):
        raise ValueError(
            f"grad_cam needs a backbone with a spatial feature map; the backbone "
            f"of {name} is a transformer, whose output is tokens (its only "
            f"convolution cuts the image into patches and sees no class). Use a "
            f"convolutional backbone, or name a layer with layer= to see its map "
            f"anyway."
        )
    if layer is None:
        if not convs:
            raise ValueError(
                f"grad_cam needs a network with a 2D convolution; the network of "
                f"{name} has none (its layers: "
                f"{[type(sub).__name__ for sub in leaves]}). Grad-CAM weighs a "
                f"convolution's feature maps, which a network on flattened pixels "
                f"(such as MLPImageClassifier) does not have."
            )
        chosen = convs[-1]
        hw = _feature_map_shape(chosen)[1:3]
        # The layers right after it that keep the map size (batch
        # normalization, activation, residual addition): their output is the
        # convolution's, finished. Not across nested model boundaries.
        container = _container_of(model, chosen)
        siblings = list(getattr(container, "layers", []))
        for sub in siblings[siblings.index(chosen) + 1 :]:
            shape = _feature_map_shape(sub)
            if shape is None or shape[1:3] != hw or _is_pooling(sub):
                break
            chosen = sub
        return chosen
    if isinstance(layer, str):
        found = [sub for sub in leaves if sub.name == layer]
        if not found:
            raise ValueError(
                f"layer {layer!r} is not in the network of {name}; its "
                f"convolutions are {[c.name for c in convs]}."
            )
        layer = found[0]
    elif not any(sub is layer for sub in leaves):
        raise ValueError(
            f"layer {getattr(layer, 'name', layer)!r} is not a layer of the "
            f"network of {name}; its convolutions are {[c.name for c in convs]}."
        )
    if _feature_map_shape(layer) is None:
        raise ValueError(
            f"layer {layer.name!r} does not output feature maps (batch, height, "
            f"width, channels); choose a convolution, e.g. one of "
            f"{[c.name for c in convs]}."
        )
    return layer


def _is_pooling(layer):
    return "Pooling" in type(layer).__name__


def _container_of(model, layer):
    for sub in [model, *sublayers(model)]:
        if any(child is layer for child in getattr(sub, "layers", None) or []):
            return sub
    return model


#: The output activations whose input is the class scores (logits): the
#: softmax of single-label networks, the sigmoids of multi-label ones. Both
#: are monotonic per class, so a score's gradient explains its probability.
_OUTPUT_ACTIVATIONS = ("softmax", "sigmoid")


def _output_head(model):
    """The last layer, which must apply the softmax or the sigmoid.

    An ``Activation`` layer, or a ``Dense`` layer with it built in.
    """
    last = model
    while getattr(last, "layers", None):
        last = last.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    if activation not in _OUTPUT_ACTIVATIONS or type(last).__name__ not in (
        "Activation",
        "Dense",
    ):
        raise ValueError(
            f"grad_cam needs the class scores before the output activation, but "
            f"the network ends with {type(last).__name__} {last.name!r}, not a "
            f"softmax or sigmoid Activation or a Dense layer with "
            f"activation='softmax' or 'sigmoid'."
        )
    return last


def _batch_grad_cam(keras, model, images, target_idx, conv, head, out_hw):
    tf = import_tensorflow()

    captured = {}

    def replace(op):
        if op is conv:

            def watched(*args, **kwargs):
                out = op(*args, **_inference(kwargs))
                tape.watch(out)
                captured["maps"] = out
                return out

            return watched
        if op is head:
            if type(op).__name__ == "Activation":
                # logits: skip the softmax (or the sigmoids)
                return lambda x, *args, **kwargs: x

            def logits(x, *args, **kwargs):
                kernel = tf.convert_to_tensor(op.kernel)
                x = tf.cast(x, kernel.dtype)
                out = keras.ops.matmul(x, kernel)
                if op.use_bias:
                    out = out + tf.convert_to_tensor(op.bias)
                return out

            return logits
        if _contains(op, conv) or _contains(op, head):
            return lambda *args, **kwargs: _run(op, args[0], replace)
        return lambda *args, **kwargs: op(*args, **_inference(kwargs))

    x = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        logits = tf.cast(_run(model, x, replace), tf.float32)
        if target_idx is None:
            target_idx = np.asarray(tf.argmax(logits, axis=1))
        score = tf.gather(logits, tf.constant(target_idx, tf.int32), batch_dims=1)
    maps = captured["maps"]
    grads = tf.cast(tape.gradient(score, maps), tf.float32)
    maps = tf.cast(maps, tf.float32)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, out_hw, method="bilinear")[..., 0].numpy()
    peak = cam.reshape(len(cam), -1).max(axis=1)
    scale = np.where(peak > 0, 1.0 / np.where(peak > 0, peak, 1.0), 0.0)
    cam = cam * scale.astype(np.float32)[:, None, None]
    return np.clip(cam, 0.0, 1.0).astype(np.float32)


def _inference(kwargs):
    """Call kwargs with ``training=False`` (Keras drops it where unused)."""
    return {**kwargs, "training": False}


def _run(model, x, replace):
    """Run ``model`` on ``x`` eagerly, each layer ``op`` through ``replace(op)``.

    Sequential models are chains of layers. Functional models run through
    Keras' own graph executor (``Functional._run_through_graph``, the loop of
    ``Functional.call``) with ``replace`` as its per-operation hook.
    """
    outputs = None
    if type(model).__name__ != "Sequential":
        outputs = run_through_graph(
            model, [_cast(x, model.inputs[0].dtype)], operation_fn=replace
        )
    if outputs is None:
        for sub in model.layers:
            x = replace(sub)(x)
        return x
    if isinstance(outputs, list | tuple) and len(outputs) == 1:
        outputs = outputs[0]
    return outputs


def _cast(x, dtype):
    tf = import_tensorflow()

    dtype = tf.as_dtype(dtype)
    return x if x.dtype == dtype else tf.cast(x, dtype)
