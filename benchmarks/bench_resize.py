"""Benchmark ImageResizer against the naive Pillow loop on phone-size JPEGs.

Generates photo-like 3264x2448 JPEGs (smooth gradients, texture, noise,
quality 90) in a temporary folder, then, on the same files:

- times ``ImageResizer(size, fit_mode="stretch", n_jobs=2)`` and the naive
  loop ``Image.open(p).convert(mode).resize(size)`` (stretch, so both give
  the same geometry), and prints images/s and the ratio;
- compares both outputs with a careful full-resolution reference: full
  decode, luminance (ITU-R 601-2) in float, LANCZOS in floating point
  without any reduction shortcut; prints the mean absolute difference in
  grey levels (0..255).

Two cases: 50x50 gray and 224x224 RGB. Target: on 2 cores, at
least 4x the naive loop at 50x50 gray, with a mean difference under 2 grey
levels.

Run: ``python benchmarks/bench_resize.py [--n-images 16] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from litterlearn.preprocessing import ImageResizer

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def make_photo(rng, height=2448, width=3264):
    """A photo-like uint8 RGB image: gradients, shapes, texture, noise."""
    yy = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    xx = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    img = np.empty((height, width, 3), dtype=np.float32)
    for c in range(3):
        a, b, d = rng.uniform(-60, 60, 3)
        fx, fy, phase = rng.uniform(0.5, 2.5), rng.uniform(0.5, 2.5), rng.uniform(0, 6)
        img[..., c] = (
            128 + a * xx + b * yy + d * np.sin(6.28 * (fx * xx + fy * yy) + phase)
        )

    def upsampled_noise(factor, amplitude):
        small = rng.normal(0, 1, (height // factor, width // factor, 3))
        small = ((small - small.min()) / np.ptp(small) * 255).astype(np.uint8)
        big = Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)
        return (np.asarray(big, dtype=np.float32) - 128) * (amplitude / 128)

    img += upsampled_noise(64, 50)  # shading
    img = _draw_objects(rng, img)  # sharp-edged things: litter on the ground
    img += upsampled_noise(3, 40)  # texture (gravel, grass, fabric)
    img += rng.normal(0, 6, img.shape).astype(np.float32)  # sensor noise
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_objects(rng, img, n_objects=12):
    height, width, _ = img.shape
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(n_objects):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        w, h = rng.uniform(100, 900, 2)
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x, y, x + w, y + h), fill=colour)
    return np.asarray(canvas, dtype=np.float32)


def make_files(folder, n_images, seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n_images):
        path = Path(folder) / f"photo_{i:03d}.jpg"
        Image.fromarray(make_photo(rng)).save(path, quality=90)
        paths.append(str(path))
    return paths


def reference(path, size, gray):
    """Full decode, float luminance, full LANCZOS per channel in mode "F"."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
    planes = [rgb @ LUMA] if gray else [rgb[..., k] for k in range(3)]
    out = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(p)).resize(
                size, Image.Resampling.LANCZOS
            )
        )
        for p in planes
    ]
    return np.stack(out, axis=-1).reshape(-1)


def naive(paths, size, gray):
    mode = "L" if gray else "RGB"
    return np.stack(
        [
            np.asarray(Image.open(p).convert(mode).resize(size)).reshape(-1)
            for p in paths
        ]
    )


def best_time(func, repeat):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def run_case(paths, side, gray, repeat, n_jobs):
    size = (side, side)
    resizer = ImageResizer(
        side, fit_mode="stretch", color="gray" if gray else "rgb", n_jobs=n_jobs
    ).fit(paths)
    # Interleaved, best of `repeat`: load from other processes hits both alike.
    t_ours = t_naive = float("inf")
    for _ in range(repeat):
        t, ours = best_time(lambda: resizer.transform(paths), 1)
        t_ours = min(t_ours, t)
        t, base = best_time(lambda: naive(paths, size, gray), 1)
        t_naive = min(t_naive, t)
    ref = np.stack([reference(p, size, gray) for p in paths])
    n = len(paths)
    label = f"{side}x{side} {'gray' if gray else 'RGB'}"
    mad_ours = np.abs(ours.astype(np.float32) - ref).mean()
    mad_naive = np.abs(base.astype(np.float32) - ref).mean()
    print(
        f"{label:>12}: ImageResizer(n_jobs={n_jobs}) {n / t_ours:6.1f} img/s, "
        f"naive loop {n / t_naive:6.1f} img/s, ratio {t_naive / t_ours:4.2f}x | "
        f"mean |diff| from reference: ImageResizer {mad_ours:.2f}, "
        f"naive {mad_naive:.2f} grey levels"
    )
    return t_naive / t_ours, mad_ours


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load:.2f}, Pillow {Image.__version__}"
    )
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        paths = make_files(folder, args.n_images)
        mb = sum(os.path.getsize(p) for p in paths) / len(paths) / 1e6
        print(
            f"{args.n_images} JPEGs 3264x2448, quality 90, {mb:.1f} MB each "
            f"(generated in {time.perf_counter() - start:.0f} s)"
        )
        t_full, _ = best_time(lambda: _load(paths[0]), args.repeat)
        t_draft, _ = best_time(lambda: _load(paths[0], ("L", (408, 306))), args.repeat)
        print(
            f"one image, one thread: full decode {t_full * 1e3:.0f} ms, "
            f"1/8 draft gray decode {t_draft * 1e3:.0f} ms"
        )
        ratio, mad = run_case(paths, 50, True, args.repeat, args.n_jobs)
        run_case(paths, 224, False, args.repeat, args.n_jobs)
    verdict = "met" if ratio >= 4 and mad < 2 else "NOT met"
    print(f"target (>= 4x naive at 50x50 gray, mean |diff| < 2): {verdict}")
    if hasattr(os, "getloadavg"):
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")


def _load(path, draft=None):
    with Image.open(path) as im:
        if draft:
            im.draft(*draft)
        im.load()


if __name__ == "__main__":
    main()
