"""``litterlearn demo``: falls back to the sample, trains, reports, saves PNGs."""

import io
import socket
import subprocess
import sys

from PIL import Image


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_falls_back_to_the_sample_and_saves_its_figures(tmp_path, monkeypatch):
    from litterlearn._demo import run_demo

    # TACO "cannot be reached": a mirror on a port where nothing listens.
    monkeypatch.setenv("LITTERLEARN_TACO_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("LITTERLEARN_DATA", str(tmp_path / "data"))
    out = io.StringIO()
    result = run_demo(
        n_images=100,
        epochs=2,
        image_size=24,
        output=tmp_path / "out",
        timeout=1,
        verbose=0,
        out=out,
    )
    text = out.getvalue()
    assert "TACO could not be reached" in text and "SYNTHETIC" in text
    assert result["data"] == "synthetic sample"
    for split in ("validation", "test"):
        report = result["reports"][split]
        assert {"other", "bottle", "balanced_accuracy"} <= set(report)
        assert f"{split.capitalize()} set" in text
    for path in result["files"]:
        with Image.open(path) as img:
            assert img.format == "PNG" and img.width > 100


def test_cli_help_lists_the_demo():
    import os
    from pathlib import Path

    import litterlearn

    src = str(Path(litterlearn.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.run(
        [sys.executable, "-m", "litterlearn", "demo", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert "--epochs" in proc.stdout and "--source" in proc.stdout
