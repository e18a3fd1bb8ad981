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


def test_multilabel_demo_reports_every_label_and_saves_its_figures(
    tmp_path, monkeypatch
):
    from litterlearn._demo import N_LABELS, run_demo

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
        task="multilabel",
    )
    text = out.getvalue()
    assert result["task"] == "multilabel" and result["data"] == "synthetic sample"
    labels = result["labels"]
    assert len(labels) == N_LABELS and "Bottle" in labels
    for split in ("validation", "test"):
        report = result["reports"][split]
        assert set(labels) <= set(report)
        assert {"micro avg", "macro avg", "samples avg", "subset_accuracy"} <= set(
            report
        )
        assert f"{split.capitalize()} set" in text
    for label in labels:  # the printed per-label tables name each label
        assert text.count(f"{label} ") >= 2
    assert [p.name for p in result["files"]] == ["training_curves.png", "per_label.png"]
    for path in result["files"]:
        with Image.open(path) as img:
            assert img.format == "PNG" and img.width > 100


def test_the_most_frequent_labels_need_a_few_images_each():
    from litterlearn._demo import most_frequent_labels

    per_image = [{"Bottle", "Can"}, {"Bottle"}, {"Can", "Cup"}, {"Bottle", "Can"}]
    per_image += [{"Cup"}, {"Cup", "Straw"}, {"Lid"}]
    assert most_frequent_labels(per_image, n_labels=2) == [("Bottle", 3), ("Can", 3)]
    # Straw and Lid are in one image each: too few to split and score.
    assert most_frequent_labels(per_image) == [("Bottle", 3), ("Can", 3), ("Cup", 3)]


def test_the_gallery_and_the_demo_use_tacos_real_label_statistics():
    """The example's photo counts are TACO's; the demo picks the same ten."""
    import ast
    import json
    from pathlib import Path

    from litterlearn._demo import most_frequent_labels

    root = Path(__file__).resolve().parents[1]
    coco = json.loads((root / "tests" / "data" / "taco_annotations.json").read_text())
    supercategory = {c["id"]: c["supercategory"] for c in coco["categories"]}
    per_image = {image["id"]: set() for image in coco["images"]}
    for a in coco["annotations"]:
        per_image[a["image_id"]].add(supercategory[a["category_id"]])
    source = (root / "examples" / "plot_which_litter.py").read_text()
    assignment = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        and ast.unparse(node.targets[0]) == "TACO_PHOTOS"
    )
    photos = ast.literal_eval(assignment.value)
    counts = dict(most_frequent_labels(per_image.values(), n_labels=28, min_images=1))
    assert photos == counts and len(photos) == 28
    assert list(photos)[:10] == [n for n, _ in most_frequent_labels(per_image.values())]
