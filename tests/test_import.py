"""Importing litterlearn is cheap and quiet: no TensorFlow or Keras, no
environment changes, and a first fit prints only what ``verbose`` asks for.

Each case runs one fresh interpreter (TensorFlow's start-up happens once per
process), which imports every subpackage, then fits a tiny CNN.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

SCRIPT = """
import json, os, sys
sys.path.insert(0, {src!r})
before = dict(os.environ)
import litterlearn
first = sorted(sys.modules)
import litterlearn.datasets, litterlearn.preprocessing, litterlearn.neural_network
import litterlearn.ensemble, litterlearn.inspection, litterlearn.metrics
import litterlearn.utils, litterlearn.plotting, litterlearn.export
import litterlearn.model_selection, litterlearn.active_learning
from litterlearn.preprocessing import ImageResizer, GrayscaleNormalizer
from litterlearn.neural_network import CNNImageClassifier, MLPImageClassifier
from litterlearn.ensemble import TestTimeAugmentationClassifier
TestTimeAugmentationClassifier(CNNImageClassifier()), MLPImageClassifier()
HEAVY = ("tensorflow", "keras", "tf_keras", "torch", "jax", "matplotlib", "dask",
         "distributed")
heavy = sorted(name for name in sys.modules if name.split(".")[0] in HEAVY)
heavy_first = sorted(name for name in first if name.split(".")[0] in HEAVY)
import_kept = dict(os.environ) == before

import numpy as np
rng = np.random.default_rng(0)
X = rng.random((16, 8, 8), dtype=np.float32)
y = np.arange(16) % 2
error = None
try:
    CNNImageClassifier(filters=(2,), max_iter=1, random_state=0).fit(X, y).predict(X)
except RuntimeError as exc:
    error = str(exc)
# TensorFlow's own import sets a few variables of its own (TF2_BEHAVIOR, ...);
# litterlearn's would be these two.
ours = ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")
fit_kept = all(os.environ.get(k) == before.get(k) for k in ours)
import keras
print(json.dumps({{
    "heavy": heavy, "heavy_first": heavy_first, "import_kept": import_kept,
    "fit_kept": fit_kept, "backend": keras.backend.backend(), "error": error,
}}))
"""


def _run(*, log_level=None, onednn=None, keras_backend=None):
    env = {
        k: v
        for k, v in os.environ.items()
        # set by conftest or the user's shell; each case sets its own
        if k not in ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")
    }
    for key, value in [
        ("TF_CPP_MIN_LOG_LEVEL", log_level),
        ("TF_ENABLE_ONEDNN_OPTS", onednn),
        ("KERAS_BACKEND", keras_backend),
    ]:
        if value is not None:
            env[key] = value
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(src=SRC)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-1]), out.stderr, lines[:-1]


# TensorFlow's start-up lines depend on the CPU and on oneDNN: with
# TF_ENABLE_ONEDNN_OPTS=1 every x86-64 TensorFlow prints absl's notice and
# "oneDNN custom operations are on" at import whatever TF_CPP_MIN_LOG_LEVEL
# says; unset, it does so on CPUs where oneDNN is on by default; with 0 it
# prints the CPU-instructions line below level 2 only. The three settings
# cover every machine's case.
@pytest.mark.parametrize(
    "onednn, keras_backend", [(None, None), ("0", "tensorflow"), ("1", None)]
)
def test_import_and_fit_are_quiet_and_leave_the_environment(onednn, keras_backend):
    result, stderr, stdout = _run(onednn=onednn, keras_backend=keras_backend)
    assert stderr == ""
    assert stdout == []  # verbose=0: not a line
    # Import time is dominated by these (seconds each); litterlearn and its
    # estimators are usable without them until a model is built or a plot drawn.
    assert result["heavy"] == []
    assert result["heavy_first"] == []
    # A user's Keras backend choice (or its absence) is left as it is.
    assert result["import_kept"] and result["fit_kept"], result
    assert result["backend"] == "tensorflow"
    assert result["error"] is None


def test_a_log_level_the_user_set_is_obeyed():
    result, stderr, _ = _run(log_level="0", onednn="1")
    assert result["error"] is None
    # TensorFlow logs at the user's level: the oneDNN notice comes through.
    assert "oneDNN custom operations are on" in stderr


def test_another_keras_backend_is_named_not_overridden():
    pytest.importorskip("jax")
    result, _, _ = _run(keras_backend="jax")
    assert result["import_kept"] and result["fit_kept"], result
    assert result["backend"] == "jax"
    assert "KERAS_BACKEND=tensorflow" in result["error"]


@pytest.mark.parametrize("backend", ["torch", "bogus"])
def test_a_keras_backend_that_cannot_load_gets_litterlearns_message(backend):
    # Keras' own errors here ("No module named 'torch'", "Unable to import
    # backend : bogus") say neither what chose the backend nor what to do.
    script = (
        "import numpy as np\n"
        "from litterlearn.neural_network import MLPImageClassifier\n"
        "X = np.zeros((4, 4, 4), dtype=np.float32)\n"
        "MLPImageClassifier(max_iter=1).fit(X, [0, 1, 0, 1])\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC, "KERAS_BACKEND": backend}
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: litterlearn's models need Keras' TensorF")
    assert f"KERAS_BACKEND={backend}" in last
    assert "KERAS_BACKEND=tensorflow" in last
