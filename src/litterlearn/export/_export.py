"""Write the inference graph of a fitted pipeline in a deployment format."""

from __future__ import annotations

import json
import os
import pathlib
import shutil

import numpy as np

from ._graph import ExportError, build

__all__ = ["FORMATS", "export", "metadata_path"]

# Format -> the suffix its file must have ("" for a folder).
FORMATS = {
    "keras": ".keras",
    "tf_saved_model": "",
    "onnx": ".onnx",
    "litert": ".tflite",
}

# Version of the metadata layout, raised when a field changes meaning.
METADATA_VERSION = 1
METADATA_NAME = "litterlearn.json"

# The packages each format's export needs, for the error when one is missing.
_EXPORT_NEEDS = {"onnx": "tf2onnx and onnx"}


def metadata_path(path):
    """Where the metadata of the artifact at ``path`` is.

    Inside a folder (SavedModel) as ``litterlearn.json``; beside a file as
    the file's name plus ``.json`` (``model.onnx.json``).
    """
    path = pathlib.Path(path)
    if path.is_dir() or path.suffix == "":
        return path / METADATA_NAME
    return path.with_name(path.name + ".json")


def format_of(path):
    """The format a path names by its suffix (a folder: tf_saved_model)."""
    suffix = pathlib.Path(path).suffix.lower()
    for fmt, fmt_suffix in FORMATS.items():
        if fmt_suffix and suffix == fmt_suffix:
            return fmt
    return "tf_saved_model"


def _json_value(value):
    """A class label as JSON has it (numpy scalars to Python)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _versions():
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    versions = {"litterlearn": __version__}
    for dist in ("keras", "tensorflow", "tensorflow-cpu", "scikit-learn"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return versions


def export(estimator, path, *, format=None, classes=None, overwrite=False):
    """Export a fitted pipeline for deployment: one graph and its metadata.

    The graph takes uint8 images as ``ImageResizer`` makes them (its fitted
    size, gray or RGB) and holds every later step and the output activation
    (see :func:`inference_model`); it returns float32 probabilities in the
    order of the classes. A small JSON file says what a consumer needs: the
    classes, the image size and how ``ImageResizer`` fitted images to it,
    the thresholds of a multi-label classifier, and the versions of
    litterlearn, Keras and TensorFlow. Load the artifact with
    :func:`load_exported`, or with the format's own runtime.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A fitted litterlearn classifier, or a fitted pipeline of litterlearn
        image steps ending in one (or in a ``LogisticRegression`` after
        ``PretrainedFeatures`` and ``StandardScaler``). Samplers are left out.
    path : str or path-like
        Where to write the model: a ``.keras`` file, a folder (SavedModel),
        an ``.onnx`` file or a ``.tflite`` file (LiteRT). The metadata goes
        beside a file (``model.onnx.json``) or inside the folder
        (``litterlearn.json``).
    format : {"keras", "tf_saved_model", "onnx", "litert"}, default=None
        None: by the suffix of ``path`` (no known suffix: a SavedModel).
        "keras" is Keras' own format (loaded with Keras);
        "tf_saved_model" a TensorFlow SavedModel (endpoint ``serve``); "onnx"
        needs ``tf2onnx`` and ``onnx`` to write and ``onnxruntime`` to run;
        "litert" (formerly TFLite) runs with the LiteRT interpreter
        (``ai-edge-litert``). ``pip install litterlearn[export]`` brings them.
    classes : array-like of shape (n_classes,), default=None
        Names for the probability columns, written instead of the
        classifier's ``classes_``: e.g. the ``classes_`` of the
        ``CocoMultiLabeler`` that made a multi-label ``y`` (whose columns
        the classifier knows only as 0, 1, ...).
    overwrite : bool, default=False
        Replace an existing artifact at ``path``; otherwise that is an error.

    Returns
    -------
    metadata : dict
        What was written to the JSON file.

    Raises
    ------
    ExportError
        A step cannot be expressed in the graph (the message names it).
    ImportError
        The packages the format needs to be written are not installed.

    See Also
    --------
    load_exported : Load an exported artifact and predict with it.
    inference_model : The Keras model that is exported.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from litterlearn.neural_network import MLPImageClassifier
    >>> from litterlearn.export import export, load_exported
    >>> X = np.random.default_rng(0).integers(0, 256, (20, 8, 8, 1), np.uint8)
    >>> y = np.arange(20) % 2
    >>> clf = MLPImageClassifier(hidden_layer_sizes=(4,), max_iter=1,
    ...                          random_state=0).fit(X, y)
    >>> folder = tempfile.mkdtemp()
    >>> meta = export(clf, os.path.join(folder, "clf.keras"))
    >>> meta["classes"], meta["input"]["shape"]
    ([0, 1], [8, 8, 1])
    >>> exported = load_exported(os.path.join(folder, "clf.keras"))
    >>> bool(np.abs(exported.predict_proba(X) - clf.predict_proba(X)).max() < 1e-5)
    True
    """
    if format is None:
        format = format_of(path)
    if format not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}; got {format!r}.")
    path = pathlib.Path(path)
    suffix = FORMATS[format]
    if suffix and path.suffix.lower() != suffix:
        raise ValueError(
            f"A {format!r} export is a file ending in {suffix!r}; got {str(path)!r}."
        )
    if not suffix and path.suffix.lower() in {s for s in FORMATS.values() if s}:
        raise ValueError(
            f"A 'tf_saved_model' export is a folder; {str(path)!r} names a "
            f"{path.suffix} file (pass format={format_of(path)!r}?)."
        )
    meta_path = metadata_path(path) if suffix else path / METADATA_NAME
    exists = path.exists() or (suffix and meta_path.exists())
    if exists and not overwrite:
        raise FileExistsError(
            f"{str(path)!r} exists; pass overwrite=True to replace it."
        )
    model, info = build(estimator)
    if classes is not None:
        classes = np.asarray(classes)
        if classes.shape != (len(info["classes"]),):
            raise ValueError(
                f"classes has shape {classes.shape}, but the model has "
                f"{len(info['classes'])} outputs; give one name per output."
            )
        info["classes"] = classes
    if format == "litert":
        _check_litert_precision(model)
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    _write(model, path, format)
    metadata = {
        "litterlearn_export": METADATA_VERSION,
        "format": format,
        "model": path.name,
        "input": {
            "shape": info["input_shape"],
            "dtype": "uint8",
            "color": "gray" if info["input_shape"][-1] == 1 else "rgb",
        },
        "resize": info["resize"],
        "output": {"dtype": "float32", "activation": _activation(info["task"])},
        "task": info["task"],
        "classes": [_json_value(c) for c in np.asarray(info["classes"]).tolist()],
        "thresholds": info["thresholds"],
        "steps": info["steps"],
        "versions": _versions(),
    }
    text = json.dumps(metadata, indent=2, allow_nan=False)
    if format == "onnx":
        _embed_onnx_metadata(path, text)
    meta_path.write_text(text + "\n", encoding="utf-8")
    return metadata


def _check_litert_precision(model):
    """LiteRT's interpreter cannot run the float16 ops of a mixed-precision net."""
    from ._graph import _all_layers

    low = {
        layer.compute_dtype
        for layer in _all_layers(model)
        if getattr(layer, "compute_dtype", "float32") in ("float16", "bfloat16")
    }
    if low:
        raise ExportError(
            f"The network computes in {' and '.join(sorted(low))} (a mixed "
            f"precision), which the LiteRT interpreter cannot run; refit with "
            f"precision='float32' for LiteRT, or export to 'onnx', 'keras' or "
            f"'tf_saved_model'."
        )


def _activation(task):
    return "sigmoid" if task == "multi-label" else "softmax"


def _write(model, path, format):
    if format == "keras":
        model.save(path)
        return
    if format == "onnx":
        for module in ("tf2onnx", "onnx"):
            try:
                __import__(module)
            except ImportError as exc:
                raise ImportError(
                    f"Exporting to ONNX needs {_EXPORT_NEEDS['onnx']}: pip install "
                    f"'litterlearn[export]' (missing: {module})."
                ) from exc
    os.makedirs(path.parent, exist_ok=True)
    # Keras' ONNX export wants a model that has been called once.
    model(np.zeros((1, *model.inputs[0].shape[1:]), dtype=np.uint8))
    try:
        model.export(os.fspath(path), format=format, verbose=False)
    except ExportError:
        raise
    except Exception:
        # A half-written artifact is no artifact.
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()
        raise


def _embed_onnx_metadata(path, text):
    """The metadata also inside the ONNX file (``metadata_props``)."""
    import onnx

    proto = onnx.load(os.fspath(path))
    entry = proto.metadata_props.add()
    entry.key = "litterlearn"
    entry.value = text
    onnx.save(proto, os.fspath(path))
