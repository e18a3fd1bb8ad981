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
