"""The catalogue of pretrained backbones, written once.

The sources: every ``keras.applications`` constructor by name (six of them
with a table entry naming their ImageNet file, the others read from Keras);
a brought Keras model or ``.keras`` file (:class:`ModelBackbone`); a
KerasHub preset name or local preset directory (optional dependency). Each
becomes a :class:`BackboneSpec`, so the estimators handle all alike.

Used by :class:`~litterlearn.neural_network.TransferImageClassifier`,
:class:`~litterlearn.neural_network.VGGTransferClassifier` and
:class:`~litterlearn.preprocessing.PretrainedFeatures`. For each backbone the
catalogue knows:

- the ``keras.applications`` constructor (built without its top);
- its input preprocessing (Keras' ``preprocess_input`` modes "caffe", "tf",
  "torch", or none), applied *inside* the model by one registered
  serializable layer (:func:`preprocessing_layer`), that also turns gray into
  RGB, rescales by the input dtype and resizes;
- its default and minimum input sizes and the number of features it outputs
  after global pooling;
- how its layers group into blocks (for "fine-tune the top N blocks");
- the file of its ImageNet weights without the top: the name it has in
  Keras' cache (``$KERAS_HOME/models``, by default ``~/.keras/models``), the
  URL Keras downloads it from and Keras' checksum.

Weights are resolved by :func:`resolve_weights`: ``"imagenet"`` goes through
Keras' own download (``keras.utils.get_file``, the same call, cache and file
as ``keras.applications``), a path loads a local file, None leaves random
weights. A failed download raises :class:`WeightsUnavailableError`, which
says how to pre-fetch the file on a machine with internet.

Keras is imported only when a backbone is built.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import hashlib
import numbers
import os
import re
import threading
import urllib.error
import warnings
from collections.abc import Callable

import numpy as np

from ._keras import import_keras
from ._keras.weights import _initialize_weights
from .utils._sklearn_compat import HasMethods, Interval, StrOptions, keras_home

__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "ModelBackbone",
    "check_batchnorm",
    "WeightsUnavailableError",
    "application_names",
    "get_backbone",
    "resolve_input_size",
    "resolve_weights",
    "PARAMETER_CONSTRAINTS",
    "POOLINGS",
    "WEIGHTS_URL_ENV",
    "block_depths",
    "build_backbone",
    "build_feature_extractor",
    "keras_cache_dir",
    "pooled_backbone",
    "preprocessing_layer",
    "top_layers",
    "weights_key",
]

# The URL Keras' applications download ImageNet weights from; a mirror (a
# plain HTTP directory holding the same file names) may replace it for
# clusters whose nodes have no internet.
WEIGHTS_URL_ENV = "LITTERLEARN_WEIGHTS_URL"


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """What litterlearn knows about one ``keras.applications`` backbone.

    Attributes
    ----------
    name : str
        The catalogue name, e.g. ``"vgg16"``.
    constructor : str or callable
        Name of the ``keras.applications`` function, e.g. ``"VGG16"``, or a
        callable with the same keyword arguments (``include_top``,
        ``weights``, ``input_shape``, ``name``) that returns a new Keras model
        of the body: how a network outside ``keras.applications`` joins the
        catalogue's machinery (a spec can be passed as ``backbone=``).
    preprocessing : {"caffe", "tf", "torch", "none"}
        The mode of the backbone's ``preprocess_input`` (inputs 0..255 RGB):
        "caffe" flips RGB to BGR and subtracts the ImageNet channel means;
        "tf" scales to [-1, 1]; "torch" scales to [0, 1] and standardizes
        with the ImageNet means and standard deviations; "none" passes
        0..255 through (the model preprocesses itself, e.g. EfficientNet).
    default_size : int
        Input size of the ImageNet weights (used when ``input_size=None``).
    min_size : int
        Smallest input height and width Keras accepts for the backbone.
    n_features : int or None
        Number of channels of the last feature map (features after pooling);
        None: read from the built backbone.
    block_pattern : str
        Regular expression whose first matching group, matched at the start
        of a layer name, names the layer's block; consecutive layers of the
        same block form one block (layers that match nothing join the block
        before them).
    weights_file : str or None
        File name of the ImageNet weights without the top in Keras' cache.
        ``{rows}`` is replaced by the input size for backbones whose
        weights depend on it (MobileNetV2). None: Keras' constructor finds
        and downloads its own file (``weights="imagenet"`` is passed to it).
    weights_url : str or None
        Directory URL Keras downloads ``weights_file`` from.
    weights_hash : str or None
        Keras' checksum of the file (None where Keras has none).
    block_end_pattern : str or None, default=None
        For networks whose layers are not named by block (Inception): a
        regular expression matching the whole name of the layer that ends
        each block; it replaces ``block_pattern``.
    """

    name: str
    constructor: str | Callable
    preprocessing: str
    default_size: int
    min_size: int
    n_features: int | None
    block_pattern: str
    weights_file: str | None
    weights_url: str | None
    weights_hash: str | None
    block_end_pattern: str | None = None

    def __repr__(self):
        # Short and the same in every process (no function addresses): it
        # names the estimator's parameter in reprs and test ids.
        return (
            f"BackboneSpec(name={self.name!r}, constructor={self.constructor_name!r})"
        )

    @property
    def constructor_name(self):
        """The constructor's name, as a user would type it after ``keras.applications.``."""
        if isinstance(self.constructor, str):
            return self.constructor
        return getattr(self.constructor, "__qualname__", repr(self.constructor))

    def weights_filename(self, size):
        """The cache file name of the ImageNet weights at input ``size``.

        ``size`` is an int or ``(height, width)``; like Keras, MobileNetV2
        uses the file of a square size in (96, 128, 160, 192, 224), else 224.
        """
        if not isinstance(size, numbers.Integral):
            height, width = size
            size = height if height == width else 224
        rows = size if size in (96, 128, 160, 192, 224) else 224
        return self.weights_file.format(rows=rows)


_GCS = "https://storage.googleapis.com/tensorflow/keras-applications/"

# The built-in names: (name, constructor, preprocessing, feature count,
# Keras module (its stages, below), ImageNet weights file without the top,
# the directory Keras downloads it from, Keras' checksum of it).
# fmt: off
_BUILT_IN = [
    ("vgg16", "VGG16", "caffe", 512, "vgg16",
     "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", _GCS + "vgg16/",
     "6d6bbae143d832006294945121d1f1fc"),
    ("vgg19", "VGG19", "caffe", 512, "vgg19",
     "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", _GCS + "vgg19/",
     "253f8cb515780f3b799900260a226db6"),
    ("resnet50", "ResNet50", "caffe", 2048, "resnet",
     "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", _GCS + "resnet/",
     "4d473c1dd8becc155b73f8504c6f6626"),
    ("mobilenet_v2", "MobileNetV2", "tf", 1280, "mobilenet_v2",
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5",
     _GCS + "mobilenet_v2/", None),
    ("efficientnet_b0", "EfficientNetB0", "none", 1280, "efficientnet",
     "efficientnetb0_notop.h5", "https://storage.googleapis.com/keras-applications/",
     "50bc09e76180e00e4465e1a485ddc09d"),
    ("densenet121", "DenseNet121", "torch", 1024, "densenet",
     "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5", _GCS + "densenet/",
     "30ee3e1110167f948a6b9946edeeb738"),
]
# fmt: on


# Global pooling of a feature map; "cls" takes a transformer's class token
# (a transformer's "avg" and "max" pool its patch tokens).
POOLINGS = {
    "avg": "GlobalAveragePooling2D",
    "max": "GlobalMaxPooling2D",
    "cls": None,
}


# Every other ``keras.applications`` constructor is found by its name, and
# what the catalogue needs is read from Keras: the preprocessing (its
# module's ``preprocess_input`` applied to probe pixels), the minimum size
# (the constructor refuses a 1x1 input with its minimum, before building
# anything), the feature count (the built backbone). Keras cannot say, without
# downloading the ImageNet file, the size the weights were trained at, nor
# how layer names group into stages: those two are tables, by constructor and
# by Keras module.
_DEFAULT_SIZES = {
    "Xception": 299,
    "InceptionV3": 299,
    "InceptionResNetV2": 299,
    "NASNetLarge": 331,
    "EfficientNetB1": 240,
    "EfficientNetB2": 260,
    "EfficientNetB3": 300,
    "EfficientNetB4": 380,
    "EfficientNetB5": 456,
    "EfficientNetB6": 528,
    "EfficientNetB7": 600,
    "EfficientNetV2B1": 240,
    "EfficientNetV2B2": 260,
    "EfficientNetV2B3": 300,
    "EfficientNetV2S": 384,
    "EfficientNetV2M": 480,
    "EfficientNetV2L": 480,
}

# The stages of each ``keras.applications`` module, as its layer names say
# them: (block_pattern, block_end_pattern).
_MODULE_BLOCKS = {
    **dict.fromkeys(("vgg16", "vgg19", "xception"), (r"(block\d+)_", None)),
    **dict.fromkeys(("resnet", "resnet_v2"), (r"(conv\d+)_", None)),
    **dict.fromkeys(("efficientnet", "efficientnet_v2"), (r"(block\d+|stem)", None)),
    "densenet": (r"(conv\d+|pool\d+)", None),
    "mobilenet": (r"conv_[dp]w_(\d+)|(conv1)", None),
    "mobilenet_v2": (r"(block_\d+|expanded_conv|Conv1)", None),
    "mobilenet_v3": (r"(expanded_conv(?:_\d+)?_|conv_1|conv)", None),
    # A ConvNeXt stage opens with the downsampling before its blocks (the
    # stem before stage 0): the stage's layers match nothing and join it.
    "convnext": (r".*?_(stem|downsampling_block_\d+)", None),
    "inception_v3": ("", r"mixed\d+"),
    "inception_resnet_v2": ("", r"mixed_\w+|block\d+_\d+_ac|conv_7b_ac"),
    "nasnet": ("", r"normal_concat_\d+|reduction_concat_\w+"),
}
_GENERIC_BLOCKS = (r"(block_?\d+|stage_?\d+|conv\d+)", None)


def _keras_spec(
    name,
    constructor,
    preprocessing,
    n_features,
    module,
    weights_file=None,
    weights_url=None,
    weights_hash=None,
    *,
    default_size=224,
    min_size=32,
):
    """A ``keras.applications`` backbone's spec; its stages from its module."""
    block_pattern, block_end_pattern = _MODULE_BLOCKS.get(module, _GENERIC_BLOCKS)
    return BackboneSpec(
        name=name,
        constructor=constructor,
        preprocessing=preprocessing,
        default_size=default_size,
        min_size=min_size,
        n_features=n_features,
        block_pattern=block_pattern,
        weights_file=weights_file,
        weights_url=weights_url,
        weights_hash=weights_hash,
        block_end_pattern=block_end_pattern,
    )


BACKBONES: dict[str, BackboneSpec] = {row[0]: _keras_spec(*row) for row in _BUILT_IN}

_PROBE = np.array([[[[10.0, 100.0, 250.0]]]], dtype=np.float32)


def _normalized(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _applications():
    """``{normalized name: constructor name}`` of ``keras.applications``."""
    keras = import_keras()
    apps = keras.applications
    return {
        _normalized(n): n
        for n in dir(apps)
        if n[:1].isupper() and callable(getattr(apps, n))
    }


def application_names():
    """The constructor names of every ``keras.applications`` backbone.

    Each may be passed as ``backbone=``, as written (``"ConvNeXtTiny"``) or in
    any case with underscores (``"convnext_tiny"``).
    """
    return sorted(_applications().values())


def _application_module(constructor):
    """The public ``keras.applications`` module of a constructor."""
    keras = import_keras()
    return getattr(keras.applications, constructor.__module__.rsplit(".", 1)[-1])


def preprocessing_mode(constructor):
    """The ``preprocess_input`` mode of a ``keras.applications`` constructor.

    Read from Keras: the module's ``preprocess_input`` is applied to probe
    pixels and compared with each mode of :class:`BackbonePreprocessing`.
    """
    module = _application_module(constructor)
    expected = np.asarray(module.preprocess_input(_PROBE.copy()))
    for mode, got in _mode_outputs().items():
        if np.allclose(got, expected, rtol=1e-4, atol=1e-3):
            return mode
    raise ValueError(
        f"The preprocessing of keras.applications.{constructor.__name__} is none "
        f"of {tuple(_mode_outputs())}; describe it with a BackboneSpec."
    )


@functools.lru_cache(maxsize=1)
def _mode_outputs():
    """What :class:`BackbonePreprocessing` makes of the probe, per mode."""
    from ._keras.layers import MODES, BackbonePreprocessing

    return {mode: np.asarray(BackbonePreprocessing(mode)(_PROBE)) for mode in MODES}


def minimum_size(constructor):
    """The smallest input side a ``keras.applications`` constructor accepts.

    Keras checks the input shape before building a layer: asked for a 1x1
    input, the constructor refuses with its minimum.
    """
    try:
        constructor(include_top=False, weights=None, input_shape=(1, 1, 3))
    except ValueError as exc:
        match = re.search(r"at least (\d+)x(\d+)", str(exc))
        if match:
            return max(int(match.group(1)), int(match.group(2)))
    return 32


@functools.cache
def _application_spec(constructor_name):
    keras = import_keras()
    constructor = getattr(keras.applications, constructor_name)
    return _keras_spec(
        _normalized(constructor_name),
        constructor_name,
        preprocessing_mode(constructor),
        None,
        constructor.__module__.rsplit(".", 1)[-1],
        default_size=_DEFAULT_SIZES.get(constructor_name, 224),
        min_size=minimum_size(constructor),
    )


# ------------------------------------------------------------ brought models


@dataclasses.dataclass(frozen=True)
class ModelBackbone:
    """A backbone you bring: a Keras model, or a ``.keras`` file.

    Pass it as ``backbone=`` when the model needs cutting or its inputs a
    preprocessing; a plain ``keras.Model`` or the path of a ``.keras`` file
    may be passed as ``backbone=`` directly (uncut, ``preprocessing="none"``).

    Parameters
    ----------
    model : keras.Model, str or path
        The network, or the path of a ``.keras`` file, loaded in Keras' safe
        mode (a file holding a ``Lambda`` layer or a custom class Keras does
        not know is refused). The estimator trains a copy: the model you
        pass is never changed.
    layer : str, default=None
        Name of the layer whose output is the backbone's: the network is cut
        there (e.g. before a classifier's own head). None: the model's output.
        It must be a feature map ``(batch, h, w, channels)`` (pooled by
        ``pooling``) or a feature vector ``(batch, n)``.
    preprocessing : {"none", "tf", "torch", "caffe"}, default="none"
        What the network expects of its RGB input: "none" passes 0..255
        (a network that preprocesses itself, e.g. with a ``Rescaling``
        layer); "tf" scales to [-1, 1]; "torch" and "caffe" are Keras'
        ``preprocess_input`` modes of those names.
    input_size : int, default=None
        The side the network was trained at (the default of
        ``input_size=None``); None: the model's input size if fixed, else
        224.
    """

    model: object
    layer: str | None = None
    preprocessing: str = "none"
    input_size: int | None = None


class _BroughtModel:
    """The constructor of a brought backbone: a copy of the model, at a size.

    Equal to another when the network (architecture and weights, or the
    file's identity) and the cut are: that identifies models in caches.
    """

    def __init__(self, model, fingerprint, layer):
        self.model = model
        self.fingerprint = fingerprint
        self.layer = layer
        self.__qualname__ = "ModelBackbone"

    def __eq__(self, other):
        return isinstance(other, _BroughtModel) and (
            (self.fingerprint, self.layer) == (other.fingerprint, other.layer)
        )

    def __hash__(self):
        return hash((self.fingerprint, self.layer))

    def __repr__(self):
        return f"ModelBackbone({self.model.name!r}, layer={self.layer!r})"

    def __call__(self, *, include_top=False, weights=None, input_shape, name):
        """A copy of the (cut) model on a new input of ``input_shape``.

        ``weights="imagenet"``: the model's own weights; None: new ones.
        """
        keras = import_keras()
        source = self.model
        if self.layer is not None:
            source = keras.Model(source.input, source.get_layer(self.layer).output)
        inputs = keras.Input(tuple(input_shape))
        copy = keras.models.clone_model(
            source,
            input_tensors=[inputs] if isinstance(source.input, list) else inputs,
            recursive=True,
        )
        if weights is not None:
            copy.set_weights(source.get_weights())
        return keras.Model(copy.input, copy.output, name=name)


def _model_fingerprint(model):
    """sha256 of a model's architecture and weights."""
    import json

    digest = hashlib.sha256()
    digest.update(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
    for value in model.get_weights():
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def _load_keras_file(path, _stat):
    """The model of a ``.keras`` file, in Keras' safe mode (cached by
    the file's identity ``_stat``)."""
    keras = import_keras()
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except (ValueError, TypeError) as exc:
        lam = "Lambda" in str(exc)
        raise ValueError(
            f"backbone={path!r} cannot be loaded in Keras' safe mode: {exc}\n"
            + (
                "A Lambda layer's Python code is not loaded from a file (it could "
                "run anything). Rebuild the network without it, or, if you trust "
                "the file, load it yourself with keras.saving.load_model(path, "
                "safe_mode=False) and pass the model."
                if lam
                else "A custom layer must be importable and registered with "
                "keras.saving.register_keras_serializable() before the file is "
                "loaded; or load the model yourself and pass it."
            )
        ) from exc


def _brought_spec(backbone):
    """The :class:`BackboneSpec` of a brought model (a :class:`ModelBackbone`)."""
    keras = import_keras()
    source = backbone.model
    if isinstance(source, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(source))
        if not os.path.isfile(path):
            raise ValueError(
                f"backbone={os.fspath(source)!r} is not a file, a catalogue name or "
                f"a keras.applications constructor name."
            )
        if not path.endswith(".keras"):
            raise ValueError(
                f"backbone={os.fspath(source)!r}: a model file must be a .keras "
                f"file (Keras' format, saved with model.save('name.keras'))."
            )
        stat = os.stat(path)
        identity = (path, stat.st_size, stat.st_mtime_ns)
        model = _load_keras_file(path, identity)
        fingerprint = repr(identity)
    elif isinstance(source, keras.Model):
        model, fingerprint = source, _model_fingerprint(source)
    else:
        raise ValueError(
            f"ModelBackbone's model must be a keras.Model or the path of a .keras "
            f"file; got {type(source).__name__}."
        )
    layer = backbone.layer
    if layer is not None:
        names = [sub.name for sub in model.layers]
        if layer not in names:
            close = difflib.get_close_matches(layer, names, n=3)
            raise ValueError(
                f"backbone: the model {model.name!r} has no layer {layer!r}"
                + (f"; did you mean {close}?" if close else ".")
            )
    if backbone.preprocessing not in ("none", "tf", "torch", "caffe"):
        raise ValueError(
            f"backbone: preprocessing must be 'none', 'tf', 'torch' or 'caffe'; "
            f"got {backbone.preprocessing!r}."
        )
    output = model.get_layer(layer).output if layer else model.output
    if len(output.shape) not in (2, 4):
        raise ValueError(
            f"backbone: the output of {model.name!r}"
            f"{f' at layer {layer!r}' if layer else ''} has shape "
            f"{tuple(output.shape)}; a backbone outputs feature maps "
            f"(batch, h, w, channels) or feature vectors (batch, n)."
        )
    shape = model.input_shape
    fixed = shape[1] if len(shape) == 4 and shape[1] == shape[2] else None
    return BackboneSpec(
        name=model.name,
        constructor=_BroughtModel(model, fingerprint, layer),
        preprocessing=backbone.preprocessing,
        default_size=int(backbone.input_size or fixed or 224),
        min_size=1,
        n_features=int(output.shape[-1]),
        block_pattern=r"(block_?\d+|stage_?\d+|conv\d+)",
        weights_file=None,
        weights_url=None,
        weights_hash=None,
    )


def _is_brought(spec):
    return isinstance(spec.constructor, _BroughtModel)


def check_batchnorm(spec):
    """Warn when a brought model's BatchNormalization was never trained.

    Statistics at their initial values (moving mean 0, variance 1) are not
    those of any data: a frozen backbone in inference mode would normalise
    with them silently.
    """
    keras = import_keras()
    if not _is_brought(spec):
        return
    untrained = [
        layer.name
        for layer in _all_layers(spec.constructor.model)
        if isinstance(layer, keras.layers.BatchNormalization)
        and np.all(np.asarray(layer.moving_mean) == 0)
        and np.all(np.asarray(layer.moving_variance) == 1)
    ]
    if untrained:
        warnings.warn(
            f"The BatchNormalization statistics of backbone {spec.name!r} are "
            f"still at their initial values (moving mean 0, variance 1) in "
            f"{len(untrained)} layer(s), e.g. {untrained[0]!r}: the model was "
            f"never trained in training mode, so a frozen backbone would "
            f"normalise with statistics of no data. Pass the trained model, or "
            f"let them learn: fine_tune_batchnorm=True with fine-tuning "
            f"(fine_tune_max_iter > 0, fine_tune_layers='all').",
            UserWarning,
            stacklevel=3,
        )


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


# ------------------------------------------------------------ KerasHub presets

HUB_PREFIXES = ("hub:", "kaggle://", "hf://", "modelscope://", "gs://")
HUB_INSTALL = (
    "pip install 'litterlearn[hub]' && pip install --no-deps 'keras-hub>=0.32'"
)


def import_keras_hub():
    """KerasHub, or an ImportError saying how to install it."""
    import_keras()
    try:
        import keras_hub
    except ImportError as exc:
        raise ImportError(
            f"KerasHub presets as backbones need keras-hub (Python 3.11 or "
            f"later), which is not installed: {exc}. Install it next to "
            f"TensorFlow without a second TensorFlow:\n    {HUB_INSTALL}\n"
            f"(keras-hub's tensorflow-text dependency would pull the full "
            f"tensorflow wheel; vision presets do not need it)."
        ) from exc
    return keras_hub


def _is_hub_preset(name):
    if not isinstance(name, (str, os.PathLike)):
        return False
    text = os.fspath(name)
    if text.startswith(HUB_PREFIXES):
        return True
    return os.path.isdir(text) and os.path.isfile(os.path.join(text, "config.json"))


class _HubPreset:
    """The constructor of a KerasHub backbone: the preset's backbone at a
    size, after the preset's own image converter (when it has one)."""

    def __init__(self, preset, identity=None):
        self.preset = preset
        # A local directory's files (size, modification time): a preset saved
        # again is another backbone for the caches.
        self.identity = identity
        self.__qualname__ = "keras_hub.models.Backbone.from_preset"

    def __eq__(self, other):
        return isinstance(other, _HubPreset) and (self.preset, self.identity) == (
            other.preset,
            other.identity,
        )

    def __hash__(self):
        return hash((self.preset, self.identity))

    def __repr__(self):
        return f"KerasHubPreset({self.preset!r})"

    def __call__(self, *, include_top=False, weights=None, input_shape, name):
        keras = import_keras()
        hub = import_keras_hub()
        try:
            backbone = hub.models.Backbone.from_preset(
                self.preset,
                image_shape=tuple(input_shape),
                load_weights=weights is not None,
            )
        except Exception as exc:  # kagglehub and requests raise many kinds
            if os.path.isdir(self.preset):
                raise
            raise WeightsUnavailableError(_hub_offline_help(self.preset, exc)) from exc
        # CLIP and SigLIP: the vision tower (images to tokens).
        backbone = getattr(backbone, "vision_encoder", None) or backbone
        inputs = keras.Input(tuple(input_shape), name="images")
        x = inputs
        converter = _hub_converter(self.preset, input_shape[:2])
        if converter is not None:
            x = converter(x)
        if isinstance(backbone.input, dict):  # e.g. {"images": ...}
            x = {key: x for key in backbone.input}
        return keras.Model(inputs, backbone(x), name=name)


def _hub_converter(preset, size):
    hub = import_keras_hub()
    try:
        return hub.layers.ImageConverter.from_preset(preset, image_size=tuple(size))
    except FileNotFoundError:  # a backbone saved without its converter
        return None


def _hub_offline_help(preset, exc):
    name = preset[4:] if preset.startswith("hub:") else preset
    return (
        f"Could not load the KerasHub preset {name!r}: {exc}\n"
        f"To work offline, save the preset to a local directory on a machine "
        f"with internet:\n"
        f'    python -c "import keras_hub; keras_hub.models.Backbone.from_preset('
        f"'{name}').save_to_preset('{os.path.basename(name.rstrip('/'))}'); "
        f"keras_hub.layers.ImageConverter.from_preset('{name}').save_to_preset("
        f"'{os.path.basename(name.rstrip('/'))}')\"\n"
        f"copy that directory to this machine and pass its path as backbone=."
    )


def _hub_spec(preset):
    """The :class:`BackboneSpec` of a KerasHub preset (name or directory)."""
    import_keras_hub()  # a clear error when it is not installed
    path = preset[4:] if preset.startswith("hub:") else preset
    default, identity = 224, None
    if os.path.isdir(path):
        import json

        identity = tuple(
            (entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
            for entry in sorted(os.scandir(path), key=lambda e: e.name)
            if entry.is_file()
        )

        with open(os.path.join(path, "config.json")) as f:
            config = json.load(f).get("config", {})
        # The backbone's image size, or its vision tower's (CLIP, SigLIP).
        tower = config.get("vision_encoder", {}).get("config", {})
        shape = config.get("image_shape") or tower.get("image_shape") or [None]
        default = int(shape[0] or 224)
    return BackboneSpec(
        name=re.sub(r"[^A-Za-z0-9_]", "_", os.path.basename(path.rstrip("/"))),
        constructor=_HubPreset(path, identity),
        preprocessing="none",
        default_size=default,
        min_size=1,
        n_features=None,
        block_pattern=r".*?(layers_\d+|embeddings|stage_?\d+|stack\d+|block\d+|stem)",
        weights_file=None,
        weights_url=None,
        weights_hash=None,
    )


# The constraints of the parameters naming a backbone, shared by every
# estimator that takes one.
PARAMETER_CONSTRAINTS = {
    "backbone": [
        str,
        os.PathLike,
        BackboneSpec,
        ModelBackbone,
        HasMethods(["get_layer"]),
    ],
    "weights": [None, str, os.PathLike],
    "input_size": [
        None,
        Interval(numbers.Integral, 1, None, closed="left"),
        tuple,
        list,
    ],
    "pooling": [StrOptions(set(POOLINGS))],
}


def get_backbone(name):
    """Return the :class:`BackboneSpec` of backbone ``name``.

    ``name`` is a catalogue name ("vgg16", ...) or the name of any
    ``keras.applications`` constructor, as written (``"ConvNeXtTiny"``) or
    in any case with underscores (``"convnext_tiny"``). A
    :class:`BackboneSpec` given as ``name`` is returned as it is.

    Examples
    --------
    >>> get_backbone("vgg16").constructor
    'VGG16'
    >>> get_backbone("efficientnet_v2_b0").constructor
    'EfficientNetV2B0'
    """
    if isinstance(name, BackboneSpec):
        return name
    if isinstance(name, ModelBackbone):
        return _brought_spec(name)
    if _is_hub_preset(name):
        return _hub_spec(os.fspath(name))
    if isinstance(name, os.PathLike) or (
        isinstance(name, str) and name.endswith(".keras")
    ):
        return _brought_spec(ModelBackbone(name))
    if not isinstance(name, str) and hasattr(name, "get_layer"):
        return _brought_spec(ModelBackbone(name))
    if isinstance(name, str) and name in BACKBONES:
        return BACKBONES[name]
    if isinstance(name, str):
        constructor = _applications().get(_normalized(name))
        if constructor is not None:
            for spec in BACKBONES.values():  # "VGG16" is "vgg16"
                if spec.constructor == constructor:
                    return spec
            return _application_spec(constructor)
    close = difflib.get_close_matches(
        _normalized(str(name)), list(_applications()), n=3, cutoff=0.6
    )
    hint = (
        f" Did you mean {', '.join(repr(_applications()[c]) for c in close)}?"
        if close
        else ""
    )
    raise ValueError(
        f"Unknown backbone {name!r}; backbone must be one of {sorted(BACKBONES)}, "
        f"the name of a keras.applications constructor (e.g. 'ConvNeXtTiny', "
        f"'EfficientNetV2B0', 'MobileNetV3Small'), a keras.Model, the path of a "
        f".keras file, a ModelBackbone or a BackboneSpec.{hint}"
    )


def resolve_input_size(spec, input_size):
    """``(height, width)`` the backbone sees, from an ``input_size`` parameter.

    None gives the backbone's default size (that of its ImageNet weights); an
    int gives a square; a pair gives ``(height, width)``. Both must be at
    least the backbone's minimum (32 for the catalogue's backbones).

    Examples
    --------
    >>> resolve_input_size(get_backbone("vgg16"), None)
    (224, 224)
    >>> resolve_input_size(get_backbone("vgg16"), (48, 64))
    (48, 64)
    """
    if input_size is None:
        return (spec.default_size, spec.default_size)
    if isinstance(input_size, numbers.Integral) and not isinstance(input_size, bool):
        size = (int(input_size), int(input_size))
    else:
        try:
            size = tuple(input_size)
        except TypeError:
            size = ()
        if len(size) != 2 or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size
        ):
            raise ValueError(
                f"input_size must be None, an int or a pair (height, width) of "
                f"ints; got {input_size!r}."
            )
        size = tuple(int(s) for s in size)
    if min(size) < spec.min_size:
        raise ValueError(
            f"input_size={input_size!r} is too small for backbone {spec.name!r}: "
            f"height and width must be at least {spec.min_size} (images are "
            f"resized to input_size inside the model, so small images work with "
            f"input_size={spec.min_size} or more)."
        )
    return size


class WeightsUnavailableError(OSError):
    """The pretrained weights of a backbone could not be downloaded or read."""


def keras_cache_dir():
    """Where Keras caches downloaded weights: ``$KERAS_HOME/models``.

    ``KERAS_HOME`` defaults to ``~/.keras`` (Keras falls back to
    ``/tmp/.keras`` when that is not writable).
    """
    import_keras()
    home = os.path.expanduser(keras_home())
    if not os.access(home, os.W_OK):
        home = os.path.join("/tmp", ".keras")
    return os.path.join(home, "models")


def _prefetch_help(spec, size):
    if spec.weights_file is None:
        return (
            f"To work offline, run on a machine with internet:\n"
            f'    python -c "import keras; keras.applications.'
            f"{spec.constructor_name}(include_top=False, weights='imagenet')\"\n"
            f"and copy the file it saves under ~/.keras/models ($KERAS_HOME/models)"
            f" into {keras_cache_dir()} on this machine (weights='imagenet' then "
            f"finds it in Keras' cache)."
        )
    fname = spec.weights_filename(size)
    return (
        f"To work offline, pre-fetch the file on a machine with internet:\n"
        f'    python -c "import keras; keras.applications.{spec.constructor_name}('
        f"include_top=False, weights='imagenet'"
        + (
            # The square size of the file's name: the file Keras downloads
            # depends on it (an int in the file name, not the pair ``size``).
            f", input_shape=({rows}, {rows}, 3)"
            if (rows := _weights_file_rows(spec, fname)) is not None
            else ""
        )
        + f')"\n'
        f"which saves ~/.keras/models/{fname} (under $KERAS_HOME/models when "
        f"KERAS_HOME is set). Copy it into {keras_cache_dir()} on this machine "
        f"(weights='imagenet' then finds it in Keras' cache), or pass its path "
        f"as weights='/path/to/{fname}'. A mirror directory holding the file "
        f"can also be named by the {WEIGHTS_URL_ENV} environment variable."
    )


def _weights_file_rows(spec, fname):
    """The input size in the weights file name ``fname``, or None."""
    if "{rows}" not in spec.weights_file:
        return None
    prefix, suffix = spec.weights_file.split("{rows}")
    return int(fname[len(prefix) : len(fname) - len(suffix)])


def _close_http_errors(exc):
    """Close the HTTP responses held by ``exc``'s chain (Keras leaves them open)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, urllib.error.HTTPError):
            exc.close()
        exc = exc.__cause__ or exc.__context__


@contextlib.contextmanager
def _download_errors(spec, size, source, note=""):
    """A failed ImageNet download as one WeightsUnavailableError.

    The message names the backbone, where the file came from (``source``),
    Keras' own error, ``note`` and how to pre-fetch the file.
    """
    try:
        yield
    except Exception as exc:  # Keras raises a bare Exception
        _close_http_errors(exc)
        raise WeightsUnavailableError(
            f"Could not download the ImageNet weights of backbone {spec.name!r} "
            f"{source}: {exc}\n{note}{_prefetch_help(spec, size)}"
        ) from exc


def resolve_weights(spec, weights, size=None):
    """The local weights file of a ``weights`` parameter, or None.

    ``"imagenet"`` is downloaded through Keras' own ``keras.utils.get_file``
    into Keras' cache (``$KERAS_HOME/models``), or found there; a path must
    be an existing file; None means random weights.

    Raises
    ------
    WeightsUnavailableError
        The download failed (no internet) or the file does not exist. The
        message names the backbone, Keras' cache and how to pre-fetch.
    """
    if weights is None:
        return None
    size = spec.default_size if size is None else size
    if isinstance(weights, str) and weights == "imagenet" and _is_brought(spec):
        check_batchnorm(spec)
        return IMAGENET  # the brought model's own weights
    if isinstance(weights, str) and weights == "imagenet" and not spec.weights_file:
        # Keras' constructor knows its own file: it is downloaded (or found in
        # Keras' cache) when the backbone is built.
        return IMAGENET
    if isinstance(weights, str) and weights == "imagenet":
        keras = import_keras()
        fname = spec.weights_filename(size)
        base = os.environ.get(WEIGHTS_URL_ENV) or spec.weights_url
        mirrored = base != spec.weights_url
        with _download_errors(
            spec,
            size,
            f"({fname}) from {'the mirror ' if mirrored else ''}{base}",
            f"Keras caches weights in {keras_cache_dir()} ($KERAS_HOME/models)"
            " and did not find them there.\n",
        ):
            return keras.utils.get_file(
                fname,
                base.rstrip("/") + "/" + fname,
                cache_subdir="models",
                # A mirror's copy is checked against Keras' hash too.
                file_hash=spec.weights_hash,
            )
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise WeightsUnavailableError(
            f"weights={weights!r} for backbone {spec.name!r} is not a file. Pass "
            f"'imagenet', None, or the path of the weights file of "
            f"keras.applications.{spec.constructor_name} without its top.\n"
            f"{_prefetch_help(spec, size)}"
        )
    return path


# What resolve_weights returns for Keras' ImageNet weights of a constructor
# whose file the catalogue does not name: the constructor downloads it.
IMAGENET = "imagenet"


def weights_key(path):
    """What identifies the content of a weights file (for caches), or None."""
    if path is None:
        return None
    if path == IMAGENET:
        return (IMAGENET, import_keras().__version__)
    stat = os.stat(path)
    return (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)


def _short_error(exc):
    """Keras' load error without the dumps it appends (every variable's values,
    the list of every layer that failed); the whole text stays on the chained
    exception."""
    text = str(exc)
    for tail in ("Target variable:", "List of objects that could not be loaded"):
        text = text.split(tail, 1)[0]
    text = " ".join(text.split()).rstrip(". ")
    return text if len(text) <= 600 else text[:600] + " ..."


# catch_warnings swaps process-wide state: one weights load at a time in it.
_LOAD_LOCK = threading.Lock()


def _load_weights(spec, model, path):
    """Load the weights file ``path`` into ``model``, or raise one clear error.

    Keras warns once per part of the model it finds no match for in the file
    ("Skipping nested container ...": about a hundred for another network's
    file) before it raises; those warnings are dropped when the load fails
    (the error says it once) and passed on when it succeeds.
    """
    try:
        with _LOAD_LOCK, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.load_weights(path)
    except Exception as exc:  # h5py and Keras raise many kinds
        if isinstance(spec.constructor, str):
            network = f"keras.applications.{spec.constructor_name} without its top"
        else:
            network = f"{spec.constructor_name}(include_top=False)"
        if spec.weights_file:
            example = (
                f"{spec.weights_filename(spec.default_size)} from Keras' cache or "
            )
        else:
            example = ""
        raise ValueError(
            f"Cannot load the weights file {path!r} into backbone {spec.name!r} "
            f"({network}): {_short_error(exc)}. The file must hold the weights of that "
            f"network (not of another architecture), e.g. {example}a file "
            f"saved with backbone.save_weights('name.weights.h5')."
        ) from exc
    for warning in caught:
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno
        )
    if spec.constructor_name.startswith("EfficientNetB"):
        _efficientnet_imagenet_scaling(model)


def _efficientnet_imagenet_scaling(model):
    """Make a loaded EfficientNet compute as Keras' ``weights="imagenet"`` one.

    With ``weights="imagenet"`` Keras inserts ``Rescaling(1 / sqrt(std))``
    after the input ``Normalization`` (keras-team/keras#49930); built with
    other weights it does not, so the ImageNet file loaded into it would see
    differently scaled inputs. Dividing by ``sqrt(std)`` after dividing by
    ``sqrt(variance)`` is dividing by ``sqrt(variance * std)``: the
    Normalization's variance is set to that when it holds the ImageNet
    file's values (``std ** 2``), and left alone otherwise (a file saved
    from an already corrected backbone).
    """
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
    for layer in model.layers:
        if type(layer).__name__ == "Normalization":
            variance = np.asarray(layer.variance).reshape(-1)
            if variance.shape == (3,) and np.allclose(variance, std**2, rtol=1e-4):
                layer.variance.assign(np.reshape(variance * std, layer.variance.shape))
            return


def build_backbone(spec, weights_path, size, *, seed=None, name=None):
    """A new ``keras.applications`` backbone without its top.

    Parameters
    ----------
    spec : BackboneSpec
    weights_path : str or None
        From :func:`resolve_weights`. None: random weights, initialised from
        ``seed`` (each layer's own initializer, reseeded).
    size : tuple (height, width)
    seed : int or None
    name : str, default=None
        Name of the backbone model (the catalogue name by default).
    """
    keras = import_keras()
    constructor = spec.constructor
    generic = isinstance(constructor, str) and spec.name not in BACKBONES
    if isinstance(constructor, str):
        constructor = getattr(keras.applications, constructor)
    kwargs = {"include_top": False, "input_shape": (*size, 3)}
    if not generic:  # some constructors read their name (EfficientNetV2)
        kwargs["name"] = name or spec.name
    if weights_path == IMAGENET and isinstance(
        constructor, (_BroughtModel, _HubPreset)
    ):
        # Its own weights (a brought model's, a preset's): the constructor
        # explains its own failures.
        model = constructor(weights="imagenet", **kwargs)
    elif weights_path == IMAGENET:
        source = f"(keras.applications.{spec.constructor_name})"
        with _download_errors(spec, size, source):
            model = constructor(weights="imagenet", **kwargs)
    else:
        model = constructor(weights=None, **kwargs)
    if model.name != (name or spec.name):
        # The same layers, under the name the estimators look it up by.
        model = keras.Model(model.input, model.output, name=name or spec.name)
    if weights_path is None:
        if seed is not None:
            reason = _initialize_weights(model, seed)
            if reason is not None:  # every catalogue backbone is seeded
                raise RuntimeError(f"Backbone {spec.name!r}: {reason}.")
    elif weights_path != IMAGENET:
        _load_weights(spec, model, weights_path)
    return model


def preprocessing_layer(spec, input_dtype, size):
    """The backbone's input stage: a ``BackbonePreprocessing`` layer.

    Raw images of ``input_dtype`` (uint8 0..255 kept, floats times 255),
    resized to ``size``, gray repeated to RGB, then the backbone's own
    ``preprocess_input``.
    """
    from ._keras.layers import BackbonePreprocessing

    scale = 1.0 if np.dtype(input_dtype) == np.uint8 else 255.0
    return BackbonePreprocessing(
        spec.preprocessing, scale=scale, size=size, name="backbone_preprocessing"
    )


def pooled_backbone(spec, weights_path, size, pooling, *, seed=None, inference=True):
    """The one pooled-feature graph: ``x -> pooling(backbone(x))``.

    Returns a callable applied to the preprocessed images' tensor, whose
    global pooling layer is named "features". With ``inference`` (Keras'
    transfer-learning guide) the backbone runs with ``training=False``:
    BatchNormalization uses its moving statistics whether or not the layer
    is trainable, and the backbone's own dropout is off; otherwise the
    layers' trainable flags decide.
    """
    keras = import_keras()
    backbone = build_backbone(spec, weights_path, size, seed=seed)
    rank = len(backbone.output.shape)
    if rank == 2:  # already a feature vector
        pool = keras.layers.Identity(name="features")
    elif rank == 3:  # a transformer's tokens
        from ._keras.layers import TokenPooling

        pool = TokenPooling(pooling, _n_patches(backbone, size), name="features")
    elif POOLINGS[pooling] is None:
        raise ValueError(
            f"pooling={pooling!r} takes the class token of a transformer "
            f"backbone; backbone {spec.name!r} outputs feature maps: use "
            f"pooling='avg' or 'max'."
        )
    else:
        pool = getattr(keras.layers, POOLINGS[pooling])(name="features")
    mode = {"training": False} if inference else {}

    def network(x):
        return pool(backbone(x, **mode))

    return network


def _n_patches(backbone, size):
    """How many of a transformer's tokens are patches (None: all but one)."""
    from ._keras import sublayers

    for layer in [backbone, *sublayers(backbone)]:
        patch = getattr(layer, "patch_size", None)
        if isinstance(patch, int) and patch > 0:
            return (size[0] // patch) * (size[1] // patch)
        if isinstance(patch, (tuple, list)) and len(patch) == 2:
            return (size[0] // patch[0]) * (size[1] // patch[1])
    return None


def build_feature_extractor(
    spec, *, weights_path, size, image_shape, input_dtype, pooling="avg", seed=None
):
    """Images of ``image_shape`` and ``input_dtype`` in, pooled features out.

    ``Input -> BackbonePreprocessing -> backbone(training=False) ->
    pooling``: :func:`preprocessing_layer` and :func:`pooled_backbone`, as in
    the transfer classifiers' models.
    """
    keras = import_keras()
    inputs = keras.Input(shape=tuple(image_shape), dtype=np.dtype(input_dtype).name)
    x = preprocessing_layer(spec, input_dtype, size)(inputs)
    x = pooled_backbone(spec, weights_path, size, pooling, seed=seed)(x)
    return keras.Model(inputs, x, name=f"{spec.name}_features")


def _block_layers(model):
    """The layers blocks are made of: ``model.layers``, with nested models
    (a KerasHub backbone inside its wrapper; not a ``Sequential`` stage)
    and stacks of layers of one class (a transformer's encoder layers)
    opened."""
    keras = import_keras()
    found = []
    for layer in model.layers:
        subs = [sub for sub in getattr(layer, "layers", None) or [] if sub.weights]
        nested = isinstance(layer, keras.Model) and not isinstance(
            layer, keras.Sequential
        )
        stack = len(subs) >= 2 and len({type(sub) for sub in subs}) == 1
        if nested or (stack and not isinstance(layer, keras.Sequential)):
            found.extend(_block_layers(layer))
        else:
            found.append(layer)
    return found


def _blocks(spec, backbone):
    """The weighted layers of ``backbone`` grouped into blocks, bottom first."""
    if spec.block_end_pattern:
        # Each block ends at a named layer; weighted layers after the last
        # end join the top block.
        end = re.compile(spec.block_end_pattern)
        blocks, current = [], []
        for layer in _block_layers(backbone):
            if layer.weights:
                current.append(layer)
            if end.fullmatch(layer.name) and current:
                blocks.append(current)
                current = []
        if current:
            if blocks:
                blocks[-1].extend(current)
            else:
                blocks.append(current)
        return blocks
    pattern = re.compile(spec.block_pattern)
    blocks, current = [], None
    for layer in _block_layers(backbone):
        match = pattern.match(layer.name)
        name = next((g for g in match.groups() if g), None) if match else None
        name = name or current
        if name is None:
            continue
        if name != current:
            blocks.append([])
            current = name
        if layer.weights:
            blocks[-1].append(layer)
    return [block for block in blocks if block]


def block_depths(spec, backbone):
    """``{id(layer): depth}`` of the weighted layers: 0 in the top block,
    1 in the block below it, and so on (layers before the first block are
    in the bottom block)."""
    blocks = _blocks(spec, backbone)
    depths = {
        id(layer): len(blocks) - 1 - i
        for i, block in enumerate(blocks)
        for layer in block
    }
    for layer in _block_layers(backbone):  # weighted layers before any block
        if layer.weights and id(layer) not in depths:
            depths[id(layer)] = len(blocks) - 1 if blocks else 0
    return depths


def top_layers(spec, backbone, *, n_layers=None, n_blocks=None):
    """The backbone layers with weights that fine-tuning unfreezes.

    Parameters
    ----------
    n_layers : int or "all", default=None
        That many layers with weights, counted from the top ("all": every
        one).
    n_blocks : int, default=None
        The layers of that many blocks (see ``block_pattern``), from the top.
        With both None, the top block.

    Returns
    -------
    layers : list of keras.layers.Layer
        Bottom first.
    """
    weighted = [layer for layer in _block_layers(backbone) if layer.weights]
    if n_layers == "all":
        return weighted
    if n_layers is not None:
        return weighted[len(weighted) - min(int(n_layers), len(weighted)) :]
    blocks = _blocks(spec, backbone)
    n_blocks = 1 if n_blocks is None else min(int(n_blocks), len(blocks))
    chosen = blocks[len(blocks) - n_blocks :] if n_blocks else []
    return [layer for block in chosen for layer in block]
