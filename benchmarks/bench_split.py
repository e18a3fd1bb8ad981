"""Cost of the multi-label (iterative) stratified split against the number of labels.

``train_val_test_split(..., stratify=Y)`` with a 0/1 indicator ``Y`` runs
iterative stratification (a greedy pass, then swaps between subsets). Its
cost grows with the number of labels; this script measures it on random
indicators (``--n-samples`` rows, each label on a ``--density`` share of
them) for each count of ``--labels``, next to two baselines run on the same
data in the same process:

- scikit-learn's stratified split on one label (``stratify=Y[:, 0]``, what a
  single-label split costs), as a time ratio;
- an unstratified random split of the same sizes, for quality: the largest
  gap, over labels and the three subsets, between a label's count and its
  expected count (a stratified split keeps it near 1), and the sum of the
  squared gaps (what the swaps lower).

Usage::

    python benchmarks/bench_split.py [--n-samples 3000] [--labels 20,100,500,1000,2000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from litterlearn.datasets import train_val_test_split


def _gaps(Y, parts):
    """Each label's count in each subset minus its expected count."""
    expected_share = Y.sum(axis=0) / len(Y)
    return np.concatenate([Y[p].sum(axis=0) - len(p) * expected_share for p in parts])


def _best_time(call, repeat):
    """Best wall-clock seconds of ``repeat`` calls, the CPU seconds of that
    call (all threads: less sensitive to a shared machine's load), and its
    result."""
    best = None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = call()
        run = (time.perf_counter() - start, time.process_time() - cpu)
        best = run if best is None or run[0] < best[0] else best
    return best[0], best[1], result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--labels", default="20,100,500,1000,2000")
    parser.add_argument("--density", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)

    n = args.n_samples
    ids = np.arange(n)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(
        f"{n} samples, each label on {args.density:.0%} of them; "
        f"val_size=0.1, test_size=0.1; best of {args.repeat}"
    )
    header = (
        "labels",
        "iterative (s)",
        "iterative CPU (s)",
        "1-label sklearn (s)",
        "ratio",
        "ms per label",
        "max gap iterative",
        "max gap random",
        "squared gaps iterative",
        "squared gaps random",
    )
    print(" | ".join(header))
    for n_labels in (int(v) for v in args.labels.split(",")):
        rng = np.random.default_rng(0)
        Y = (rng.random((n, n_labels)) < args.density).astype(np.int8)
        Y[rng.integers(0, n, n_labels), np.arange(n_labels)] = 1  # no empty label
        seconds, cpu, (_, val, test) = _best_time(
            lambda Y=Y: train_val_test_split(ids, stratify=Y, random_state=0),
            args.repeat,
        )
        base, _, _ = _best_time(
            lambda Y=Y: train_val_test_split(ids, stratify=Y[:, 0], random_state=0),
            args.repeat,
        )
        r_train, r_val, r_test = train_val_test_split(ids, random_state=0)
        train = np.setdiff1d(ids, np.concatenate([val, test]))
        ours = _gaps(Y, (train, val, test))
        rand = _gaps(Y, (r_train, r_val, r_test))
        print(
            f"{n_labels} | {seconds:.2f} | {cpu:.2f} | {base:.4f} | {seconds / base:.0f}x | "
            f"{1000 * seconds / n_labels:.1f} | {np.abs(ours).max():.2f} | "
            f"{np.abs(rand).max():.2f} | {(ours**2).sum():.0f} | {(rand**2).sum():.0f}"
        )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
