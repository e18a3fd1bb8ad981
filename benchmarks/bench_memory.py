"""Memory across fits: RSS growth per fit of CNNImageClassifier, 20 fits.

Fits a new estimator 20 times in one process, dropping the previous one, as
``GridSearchCV`` does in a worker, and prints the growth of the resident
set size (RSS) per fit over fits 5-20 (after warm-up). Each case runs in a
fresh subprocess:

- **same architecture**: every fit has the same parameters (other than
  ``random_state``);
- **changing architectures**: every fit has a different first convolution
  (``filters=(8 + i, 16, 16)``), so no built model can be reused;
- **baseline, reuse off**: same architecture, with litterlearn's reuse of
  built models switched off (what a wrapper that builds a new Keras model
  per fit costs);
- **training knobs alternating**: same architecture, with label smoothing,
  weight decay, the schedule and MixUp changing at every fit (the reused
  model keeps its optimizer, its loss and its traced training functions:
  the knobs change in place).

Keras never gives back the memory of a built model (about 7 MB each for the
course CNN; ``keras.backend.clear_session()`` does not recover it), so the
estimators reuse a built model of the same architecture that no live
estimator holds. Target: at most 2 MB per fit over fits 5-20 with
the same architecture, knobs changing or not.

Run: ``python benchmarks/bench_memory.py [--fits 20] [--n-images 300]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CASES = {
    "same": "same architecture",
    "changing": "changing architectures",
    "no_reuse": "baseline: same architecture, reuse off",
    "knobs": "same architecture, training knobs alternating",
}

# The "knobs" case: each fit takes the next of these (the loss, the weight
# decay, the schedule and the batch mixing change between fits).
KNOBS = [
    {"label_smoothing": 0.1},
    {"label_smoothing": 0.2, "weight_decay": 1e-4},
    {"learning_rate_schedule": "cosine"},
    {"mixup": 0.2},
]


def rss_mb():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_case(case, n_fits, n_images):
    import numpy as np

    from litterlearn.neural_network import CNNImageClassifier, set_model_reuse

    if case == "no_reuse":
        set_model_reuse(False)  # every fit builds a new model
    rng = np.random.default_rng(0)
    X = rng.random((n_images, 2500), dtype=np.float32)
    y = (rng.random(n_images) < 0.21).astype(int)
    rss = []
    clf = None
    for i in range(n_fits):
        filters = (8 + i, 16, 16) if case == "changing" else (16, 16, 16)
        clf = None  # drop the previous estimator, as a search does
        knobs = KNOBS[i % len(KNOBS)] if case == "knobs" else {}
        clf = CNNImageClassifier(filters=filters, max_iter=2, random_state=i, **knobs)
        clf.fit(X, y).predict_proba(X)
        gc.collect()
        rss.append(rss_mb())
    return rss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=20)
    parser.add_argument("--n-images", type=int, default=300)
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # in the subprocess
        print(json.dumps(run_case(args.case, args.fits, args.n_images)))
        return

    print(
        f"{args.fits} fits of CNNImageClassifier (course CNN, 50x50 gray, "
        f"{args.n_images} images, 2 epochs), each case in a fresh process"
    )
    print(
        "\n| case | RSS after fit 1 | after fit 5 | after last | MB per fit, fits 5-last |"
    )
    print("| --- | --- | --- | --- | --- |")
    for case, label in CASES.items():
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--case",
                case,
                "--fits",
                str(args.fits),
                "--n-images",
                str(args.n_images),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rss = json.loads(out.strip().splitlines()[-1])
        per_fit = (rss[-1] - rss[4]) / (len(rss) - 5)
        print(
            f"| {label} | {rss[0]:.0f} MB | {rss[4]:.0f} MB | {rss[-1]:.0f} MB | "
            f"{per_fit:.2f} |"
        )


if __name__ == "__main__":
    main()
