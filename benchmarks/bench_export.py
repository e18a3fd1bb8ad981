"""Exported models: ONNX and LiteRT latency against ``predict_proba``; sizes.

The course pipeline (``ImageResizer(50, color="gray")``,
``GrayscaleNormalizer(standardize=True)``, the course CNN) is fitted on the
TACO sample and exported in every format. On the same uint8 images (what
``ImageResizer`` makes), predictions of 1 and of 256 images are timed:

- **predict_proba**: the fitted pipeline after its resizer
  (``pipe[1:].predict_proba(rows)``: normalizer and CNN, in litterlearn);
- **onnxruntime**: ``session.run`` on the exported ONNX graph;
- **LiteRT**: the LiteRT interpreter on the exported ``.tflite`` file.

Each is timed ``--repeat`` times after a warm-up call; the best time counts
(the machine is shared). Printed: milliseconds, the ratio of
``predict_proba`` to each runtime (above 1: the runtime is faster), the
largest difference of probabilities, the size of each artifact and the
load average while it ran.

Run: ``python benchmarks/bench_export.py [--repeat 20]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from sklearn.pipeline import make_pipeline

from litterlearn.datasets import load_taco_sample
from litterlearn.export import export
from litterlearn.neural_network import CNNImageClassifier
from litterlearn.preprocessing import (
    CocoBinaryLabeler,
    GrayscaleNormalizer,
    ImageResizer,
)

SUFFIX = {"keras": ".keras", "tf_saved_model": "", "onnx": ".onnx", "litert": ".tflite"}


def best_time(function, repeat):
    function()  # warm-up: tracing, first-call allocations
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def size_of(path):
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def onnx_runner(path):
    import onnxruntime

    session = onnxruntime.InferenceSession(
        os.fspath(path), providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name
    return lambda images: session.run(None, {name: images})[0]


def litert_runner(path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.fspath(path))
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]
    shape = [None]

    def run(images):
        if shape[0] != images.shape:
            interpreter.resize_tensor_input(source, images.shape)
            interpreter.allocate_tensors()
            shape[0] = images.shape
        interpreter.set_tensor(source, images)
        interpreter.invoke()
        return interpreter.get_tensor(target)

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    sample = load_taco_sample(n_images=300)
    y = CocoBinaryLabeler("Bottle").fit_transform(sample.annotations)
    pipe = make_pipeline(
        ImageResizer(50, color="gray"),
        GrayscaleNormalizer(standardize=True),
        CNNImageClassifier(class_weight="balanced", max_iter=2, random_state=0),
    ).fit(sample.filenames, y)
    rows = pipe[0].transform(sample.filenames)[:256]
    images = rows.reshape(len(rows), 50, 50, 1)
    rest = pipe[1:]

    folder = Path(tempfile.mkdtemp())
    paths = {}
    for fmt, suffix in SUFFIX.items():
        paths[fmt] = folder / f"model{suffix or '_saved_model'}"
        start = time.perf_counter()
        export(pipe, paths[fmt], format=fmt)
        print(f"export {fmt}: {time.perf_counter() - start:.1f} s")
    runners = {
        "onnxruntime": onnx_runner(paths["onnx"]),
        "LiteRT": litert_runner(paths["litert"]),
    }

    print(
        f"\ncourse CNN, 50x50 gray uint8 images; {platform.machine()}, "
        f"{os.cpu_count()} cores; load average at start "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(
        "| images | predict_proba (ms) | onnxruntime (ms) | LiteRT (ms) "
        "| predict_proba / onnxruntime | predict_proba / LiteRT | max diff |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n in (1, 256):
        batch_rows, batch = rows[:n], images[:n]
        base = best_time(lambda r=batch_rows: rest.predict_proba(r), args.repeat)
        times = {
            name: best_time(lambda b=batch, f=run: f(b), args.repeat)
            for name, run in runners.items()
        }
        expected = rest.predict_proba(batch_rows)
        diff = max(
            float(np.abs(run(batch) - expected).max()) for run in runners.values()
        )
        print(
            f"| {n} | {base * 1e3:.2f} | {times['onnxruntime'] * 1e3:.2f} "
            f"| {times['LiteRT'] * 1e3:.2f} | {base / times['onnxruntime']:.1f} "
            f"| {base / times['LiteRT']:.1f} | {diff:.1e} |"
        )
    print(
        f"load average at end {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n"
        "\n| format | size (kB) |\n| --- | --- |"
    )
    for fmt, path in paths.items():
        print(f"| {fmt} | {size_of(path) / 1e3:.0f} |")


if __name__ == "__main__":
    main()
