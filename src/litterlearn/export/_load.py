"""Load an exported artifact with its format's runtime, and predict with it.

Each format loads with its own runtime and nothing more: a ``.keras`` file
with Keras (in safe mode), a SavedModel with TensorFlow, an ONNX file with
onnxruntime and a LiteRT file with the LiteRT interpreter. ONNX and LiteRT
never import TensorFlow or Keras.
"""

from __future__ import annotations

import json
import os
import pathlib
import zipfile

import numpy as np

from ._export import FORMATS, METADATA_NAME, metadata_path

__all__ = ["ExportedModel", "UnsafeModelError", "load_exported"]

# Pip packages of the runtimes, for the error when one is missing.
_RUNTIME_PACKAGES = {
    "keras": "keras and tensorflow",
    "tf_saved_model": "tensorflow",
    "onnx": "onnxruntime",
    "litert": "ai-edge-litert",
}


class UnsafeModelError(ValueError):
    """A ``.keras`` file that Keras' safe mode refuses to load."""


def read_metadata(path):
    """The metadata of the artifact at ``path`` (a dict), or an error."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No exported model at {str(path)!r}.")
    meta = metadata_path(path) if not path.is_dir() else path / METADATA_NAME
    if meta.is_file():
        text = meta.read_text(encoding="utf-8")
    elif path.suffix.lower() == ".onnx":
        text = _onnx_metadata(path)
    else:
        text = None
    if text is None:
        raise ValueError(
            f"{str(path)!r} is not a model exported by litterlearn: its metadata "
            f"({meta.name}) is missing. Export the fitted pipeline with "
            f"litterlearn.export.export (or 'litterlearn export')."
        )
    try:
        metadata = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"The metadata of {str(path)!r} is not JSON: {exc}") from exc
    if not isinstance(metadata, dict) or "litterlearn_export" not in metadata:
        raise ValueError(
            f"{str(path)!r}: its metadata is not litterlearn's export metadata."
        )
    if metadata.get("format") not in FORMATS:
        raise ValueError(
            f"{str(path)!r}: unknown format {metadata.get('format')!r} in its metadata."
        )
    return metadata


def _onnx_metadata(path):
    """The metadata embedded in an ONNX file, read with onnxruntime."""
    try:
        import onnxruntime
    except ImportError:
        return None
    try:
        session = onnxruntime.InferenceSession(
            os.fspath(path), providers=["CPUExecutionProvider"]
        )
    except Exception:
        return None
    return session.get_modelmeta().custom_metadata_map.get("litterlearn")


def _missing_runtime(fmt, exc):
    return ImportError(
        f"Running a {fmt!r} model needs {_RUNTIME_PACKAGES[fmt]}: pip install "
        f"'litterlearn[export]' ({type(exc).__name__}: {exc})."
    )


# ------------------------------------------------------------------ runtimes


def _load_keras(path):
    try:
        from .._keras import import_keras as _import_keras

        keras = _import_keras()
    except ImportError as exc:
        raise _missing_runtime("keras", exc) from exc
    try:
        model = keras.saving.load_model(os.fspath(path), safe_mode=True, compile=False)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if "Lambda" in message or "safe_mode" in message:
            raise UnsafeModelError(
                f"Refusing to load {str(path)!r}: it holds a Lambda layer (or "
                f"other Python code), which Keras' safe mode does not run. An "
                f"export made by litterlearn never does; load only files you "
                f"trust with keras.saving.load_model(..., safe_mode=False)."
            ) from exc
        if "Could not locate" in message or "Could not deserialize" in message:
            raise UnsafeModelError(
                f"Refusing to load {str(path)!r}: it needs a custom Keras object "
                f"that this Keras does not know ({_first_line(message)}). An "
                f"export made by litterlearn holds only Keras' own layers."
            ) from exc
        raise

    def run(images):
        return np.asarray(model(images, training=False), dtype=np.float32)

    return run


def _first_line(text):
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _load_saved_model(path):
    try:
        from .._keras import import_tensorflow as _import_tensorflow

        tf = _import_tensorflow()
    except ImportError as exc:
        raise _missing_runtime("tf_saved_model", exc) from exc
    loaded = tf.saved_model.load(os.fspath(path))
    serve = loaded.serve

    def run(images):
        return np.asarray(serve(tf.constant(images)), dtype=np.float32)

    run.loaded = loaded  # keeps the variables alive
    return run


def _load_onnx(path):
    try:
        import onnxruntime
    except ImportError as exc:
        raise _missing_runtime("onnx", exc) from exc
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(
        os.fspath(path), options, providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name

    def run(images):
        return np.asarray(session.run(None, {name: images})[0], dtype=np.float32)

    return run


def _litert_interpreter(path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise _missing_runtime("litert", exc) from exc
    return Interpreter(model_path=os.fspath(path))


def _load_litert(path):
    interpreter = _litert_interpreter(path)
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]
    state = {"shape": None}

    def run(images):
        if state["shape"] != images.shape:
            interpreter.resize_tensor_input(source, images.shape, strict=True)
            interpreter.allocate_tensors()
            state["shape"] = images.shape
        interpreter.set_tensor(source, images)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(target), dtype=np.float32)

    return run


_LOADERS = {
    "keras": _load_keras,
    "tf_saved_model": _load_saved_model,
    "onnx": _load_onnx,
    "litert": _load_litert,
}


# ---------------------------------------------------------------- the model


class ExportedModel:
    """An exported pipeline, loaded with the runtime of its format.

    Made by :func:`load_exported`. Predicts from uint8 images of the exported
    size (as ``ImageResizer`` makes them) or from image files, which it
    decodes and resizes as the pipeline's ``ImageResizer`` did.

    Attributes
    ----------
    path : pathlib.Path
        The model file (or SavedModel folder).
    format : str
        "keras", "tf_saved_model", "onnx" or "litert".
    metadata : dict
        The export's metadata (see :func:`export`).
    classes_ : ndarray
        The class labels, in the order of the probability columns.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the images the model takes.
    thresholds_ : ndarray or None
        Per-label thresholds of a multi-label model; None otherwise.
    batch_size : int
        Images per call of the runtime.
    """

    def __init__(self, path, metadata, run, batch_size=64):
        self.path = pathlib.Path(path)
        self.metadata = metadata
        self.format = metadata["format"]
        self.classes_ = np.asarray(metadata["classes"])
        self.image_shape_ = tuple(int(s) for s in metadata["input"]["shape"])
        thresholds = metadata.get("thresholds")
        self.thresholds_ = None if thresholds is None else np.asarray(thresholds)
        self.batch_size = int(batch_size)
        self._run = run

    @property
    def multilabel(self):
        """Whether each image may have any number of the labels."""
        return self.metadata.get("task") == "multi-label"

    def __repr__(self):
        return (
            f"ExportedModel({str(self.path)!r}, format={self.format!r}, "
            f"classes={len(self.classes_)}, image_shape={self.image_shape_})"
        )

    def _images(self, X):
        X = np.asarray(X)
        h, w, c = self.image_shape_
        if X.dtype != np.uint8:
            if X.dtype.kind not in "iu" or X.size and (X.min() < 0 or X.max() > 255):
                raise ValueError(
                    f"The exported model takes uint8 images (0..255), as "
                    f"ImageResizer makes them; got dtype {X.dtype}."
                )
            X = X.astype(np.uint8)
        if X.ndim == 2 and X.shape[1] == h * w * c:  # rows
            X = X.reshape(len(X), h, w, c)
        elif X.ndim == 3 and c == 1 and X.shape[1:] == (h, w):
            X = X[..., None]
        if X.shape[1:] != (h, w, c):
            raise ValueError(
                f"The exported model takes images of shape {(h, w, c)} (or rows "
                f"of {h * w * c} values); got an array of shape {X.shape}."
            )
        return np.ascontiguousarray(X)

    def predict_proba(self, X):
        """Class probabilities of uint8 images ``X``.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C) or (n, H*W*C), uint8
            Images of the exported size, as ``ImageResizer`` makes them.

        Returns
        -------
        proba : ndarray of shape (n, n_classes), float32
        """
        images = self._images(X)
        n_classes = len(self.classes_)
        if len(images) == 0:
            return np.zeros((0, n_classes), dtype=np.float32)
        outputs = [
            self._run(images[start : start + self.batch_size])
            for start in range(0, len(images), self.batch_size)
        ]
        return np.concatenate(outputs).reshape(len(images), n_classes)

    def decide(self, proba):
        """Predictions from probabilities: a label, or a 0/1 indicator row."""
        proba = np.asarray(proba)
        if self.multilabel:
            return (proba >= self.thresholds_).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict(self, X):
        """Predicted labels of uint8 images ``X`` (indicator rows if multi-label)."""
        return self.decide(self.predict_proba(X))

    def resizer(self):
        """The ``ImageResizer`` that makes this model's input from files.

        Its parameters are the exported pipeline's own (size, fit mode,
        colour, background). A model exported without an ``ImageResizer``
        gets the default fit mode ("pad") at the exported size.
        """
        from ..preprocessing import ImageResizer

        h, w, c = self.image_shape_
        resize = self.metadata.get("resize") or {}
        return ImageResizer(
            (h, w),
            fit_mode=resize.get("fit_mode", "pad"),
            color="gray" if c == 1 else "rgb",
            background=tuple(resize.get("background", (0, 0, 0))),
        ).fit(["unused"])

    def read_images(self, paths):
        """Decode and resize image files to this model's uint8 input."""
        h, w, c = self.image_shape_
        rows = self.resizer().transform([os.fspath(p) for p in paths])
        return rows.reshape(len(rows), h, w, c)

    def predict_proba_files(self, paths):
        """Class probabilities of image files (decoded as the pipeline did)."""
        return self.predict_proba(self.read_images(paths))


def load_exported(path, *, batch_size=64):
    """Load a model written by :func:`export`, with its format's runtime.

    A ``.keras`` file loads with Keras in safe mode: a file holding a Lambda
    layer or a custom object Keras does not know is refused
    (:class:`UnsafeModelError`). ONNX and LiteRT files load with onnxruntime
    and the LiteRT interpreter, without importing TensorFlow.

    Parameters
    ----------
    path : str or path-like
        The model file (``.keras``, ``.onnx``, ``.tflite``) or SavedModel
        folder; its metadata must be beside it (or inside the folder).
    batch_size : int, default=64
        Images per call of the runtime.

    Returns
    -------
    model : ExportedModel

    See Also
    --------
    export : Export a fitted pipeline.
    """
    metadata = read_metadata(path)
    fmt = metadata["format"]
    path = pathlib.Path(path)
    if fmt == "keras" and not zipfile.is_zipfile(path):
        raise ValueError(f"{str(path)!r} is not a .keras file (a zip archive).")
    run = _LOADERS[fmt](path)
    return ExportedModel(path, metadata, run, batch_size=batch_size)
