"""``import litterlearn`` is cheap: no TensorFlow, no Keras, well under a second."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

PROBE = """
import json, sys, time
sys.path.insert(0, {src!r})
start = time.perf_counter()
import litterlearn
seconds = time.perf_counter() - start
import litterlearn.preprocessing
from litterlearn.preprocessing import ImageResizer, GrayscaleNormalizer
from litterlearn.neural_network import CNNImageClassifier, MLPImageClassifier
CNNImageClassifier(), MLPImageClassifier()
from litterlearn.ensemble import TestTimeAugmentationClassifier
from litterlearn.inspection import grad_cam
TestTimeAugmentationClassifier(CNNImageClassifier())
heavy = sorted(
    name for name in sys.modules
    if name.split(".")[0] in ("tensorflow", "keras", "tf_keras", "torch", "jax")
)
print(json.dumps({{"seconds": seconds, "heavy": heavy}}))
"""


@pytest.fixture(scope="module")
def probe():
    """Import litterlearn in a fresh interpreter (once for this module)."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(src=SRC)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_does_not_load_tensorflow_or_keras(probe):
    assert probe["heavy"] == []


def test_import_takes_well_under_a_second(probe):
    # A requirement, not a benchmark: the bound is generous on purpose.
    assert probe["seconds"] < 1.0


QUIET_FIT = """
import os, sys
sys.path.insert(0, {src!r})
import numpy as np
import litterlearn
from litterlearn.neural_network import CNNImageClassifier
rng = np.random.default_rng(0)
X = rng.random((16, 8, 8), dtype=np.float32)
y = np.arange(16) % 2
CNNImageClassifier(filters=(2,), max_iter=1, random_state=0).fit(X, y).predict(X)
print(os.environ["TF_CPP_MIN_LOG_LEVEL"])
"""


@pytest.mark.parametrize("user_level", [None, "0"])
def test_import_and_fit_print_nothing_unless_the_user_set_a_log_level(user_level):
    import os

    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # set by conftest; a user has none
    if user_level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = user_level
    out = subprocess.run(
        [sys.executable, "-c", QUIET_FIT.format(src=SRC)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    if user_level is None:
        # TensorFlow's C++ start-up lines are hidden by litterlearn's default.
        assert out.stderr == ""
        assert out.stdout == "2\n"
    else:  # the user's choice is kept, and TensorFlow logs at it
        assert out.stdout == "0\n"
        assert "cpu_feature_guard" in out.stderr
