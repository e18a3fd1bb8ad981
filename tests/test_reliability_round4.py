"""Reliability: memory and console across fits whose knobs change, and
clear errors for inputs the estimators cannot take."""

import gc
import os
import pathlib
import subprocess
import sys

import numpy as np

from litterlearn.neural_network import MLPImageClassifier, set_model_reuse

SRC = str(pathlib.Path(__file__).parents[1] / "src")
rng = np.random.default_rng(0)
X = rng.integers(0, 256, (24, 8, 8), dtype=np.uint8)
y = np.arange(24) % 2
KNOBS = [
    {"label_smoothing": 0.1},
    {"label_smoothing": 0.2, "weight_decay": 1e-4},
    {"mixup": 0.2},
    {"learning_rate_schedule": "cosine"},
]


def make(**params):
    defaults = dict(hidden_layer_sizes=(4,), max_iter=1, batch_size=8, random_state=0)
    return MLPImageClassifier(**{**defaults, **params})


def test_changing_knobs_keep_the_reused_models_traced_training_function():
    # Each traced training function holds memory TensorFlow never gives back:
    # a reused model traces once per weight decay, not at every fit.
    functions = []
    for i in range(8):
        clf = make(**KNOBS[i % 4]).fit(X, y)
        functions.append(clf.model_.train_function)
        del clf
        gc.collect()
    assert len({id(f) for f in functions}) == 2  # weight decay off, and on
    # ... and the knobs act as on a new model.
    reused = make(**KNOBS[1]).fit(X, y).predict_proba(X)
    set_model_reuse(False)
    try:
        new = make(**KNOBS[1]).fit(X, y).predict_proba(X)
    finally:
        set_model_reuse(True)
    np.testing.assert_allclose(reused, new, rtol=0, atol=1e-6)


RETRACING_SCRIPT = """
import numpy as np
from litterlearn.neural_network import MLPImageClassifier
rng = np.random.default_rng(0)
X = rng.integers(0, 256, (24, 8, 8), dtype=np.uint8); y = np.arange(24) % 2
fits = [dict(hidden_layer_sizes=(4 + i,)) for i in range(6)]  # new models
fits += [dict(label_smoothing=0.1 * (i % 2), batch_size=5 + i) for i in range(4)]
for params in fits:
    params = {"hidden_layer_sizes": (4,), "batch_size": 16, **params}
    MLPImageClassifier(max_iter=1, random_state=0, **params).fit(X, y).predict(X)
"""


def test_fits_of_new_models_and_changing_knobs_print_no_retracing_warning():
    # In a fresh process: TensorFlow warns twice at most per function code.
    out = subprocess.run(
        [sys.executable, "-c", RETRACING_SCRIPT],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "retracing" not in out.stderr + out.stdout
