"""Shared docstring text, written once and filled in where it is used."""


def fill_doc(**blocks):
    """Replace each ``%(name)s`` in a function's docstring by ``blocks[name]``.

    Plain text replacement (braces and percent signs elsewhere in the
    docstring are left alone); a docstring of None, as under ``python -OO``,
    stays None.

    Parameters
    ----------
    **blocks : str
        The text of each placeholder. Lines after the first carry their own
        indentation, that of the docstring they go into.

    Returns
    -------
    decorate : callable
        Takes a function, fills its ``__doc__`` and returns the function.
    """

    def decorate(func):
        doc = func.__doc__
        if doc is not None:
            for name, text in blocks.items():
                doc = doc.replace(f"%({name})s", text)
            func.__doc__ = doc
        return func

    return decorate


# The parameter of a method that takes images of the fitted shape (a
# method's docstring, indented 8 spaces).
FITTED_IMAGES = """Parameters
        ----------
        X : array-like of shape (n_samples, H*W*C), (n, H, W) or (n, H, W, C)
            Images of the shape seen in :meth:`fit`."""

# The ``backbone`` parameter of the estimators built on a pretrained network
# (a class docstring, indented 4 spaces).
BACKBONE_PARAMETER = """backbone : str, keras.Model, path, ModelBackbone or BackboneSpec, \
default="vgg16"
        The name of a ``keras.applications`` constructor, without its top:
        "vgg16", "vgg19", "resnet50", "mobilenet_v2", "efficientnet_b0",
        "densenet121", or any other, as written or in snake case
        ("ConvNeXtTiny", "convnext_tiny", "EfficientNetV2B0", ...); its
        preprocessing, minimum size and features are read from Keras. Or
        your own ``keras.Model`` or the path of a ``.keras`` file (loaded in
        Keras' safe mode; ``weights="imagenet"`` keeps its own weights), or
        a ``litterlearn.neural_network.ModelBackbone`` to cut it at a layer
        and say what its inputs expect; or a
        ``litterlearn.neural_network.BackboneSpec`` describing another
        network (its constructor, preprocessing, sizes and blocks)."""
