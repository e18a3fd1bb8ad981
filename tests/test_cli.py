"""The ``litterlearn`` command line: versions, help, one-line errors, quiet output."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import litterlearn
from litterlearn.__main__ import build_parser, main

SRC = str(Path(litterlearn.__file__).parents[1])


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args, env=None, timeout=300):
    """Run ``python -m litterlearn ARGS`` as a user would, TF's log level unset."""
    env = {**os.environ, "PYTHONPATH": SRC, **(env or {})}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # set by conftest; a user has none
    return subprocess.run(
        [sys.executable, "-m", "litterlearn", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.fixture
def taco_mirror(monkeypatch, tmp_path):
    """A TACO mirror on 127.0.0.1 serving the real annotations and small images."""
    from test_datasets import TacoServer

    server = TacoServer()
    monkeypatch.setenv("LITTERLEARN_TACO_URL", server.url)
    monkeypatch.setenv("LITTERLEARN_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("LITTERLEARN_DEMO_SOURCE", raising=False)
    yield server
    server.close()


def test_version():
    proc = _cli("--version")
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"litterlearn {litterlearn.__version__} (scikit-learn ")
    assert "keras" in first


def _options(parser):
    sub = next(a for a in parser._actions if a.dest == "command")
    for prog, p in [("litterlearn", parser), *sub.choices.items()]:
        for action in p._actions:
            if action.dest in ("help", "version", "command"):
                continue
            yield prog, action


def test_every_option_has_help_with_its_default():
    options = list(_options(build_parser()))
    assert {a.option_strings[-1] for _, a in options if a.option_strings} >= {
        "--source",
        "--n-images",
        "--epochs",
        "--image-size",
        "--output",
        "--timeout",
        "--task",
        "--quiet",
        "--verbose",
    }
    for prog, action in options:
        assert action.help and "(default: " in action.help, (prog, action.dest)
    # ... and the help screen shows the values, not the placeholders.
    text = build_parser()._subparsers._group_actions[0].choices["demo"].format_help()
    for shown in ("(default: 30)", "(default: 300)", "(default: 10.0)"):
        assert shown in " ".join(text.split()), shown


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "-1"], "--epochs must be at least 1; got -1"),
        (["--epochs", "0"], "--epochs must be at least 1; got 0"),
        (["--epochs", "many"], "argument --epochs: invalid int value: 'many'"),
        (["--n-images", "0"], "--n-images must be from 20 to 1500; got 0"),
        (["--n-images", "12"], "--n-images must be from 20 to 1500; got 12"),
        (["--n-images", "1501"], "--n-images must be from 20 to 1500; got 1501"),
        (["--image-size", "8"], "--image-size must be from 16 to 1024; got 8"),
        (["--timeout", "0"], "--timeout must be a positive, finite number"),
        (["--timeout", "inf"], "--timeout must be a positive, finite number"),
        (["--timeout", "nan"], "--timeout must be a positive, finite number"),
        (["--source", "flickr"], "argument --source: invalid choice: 'flickr'"),
        (["--task", "colour"], "argument --task: invalid choice: 'colour'"),
        (["--output", "{file}/figures"], "--output '{file}/figures' is not a writable"),
        (["--quiet", "-v"], "not allowed with argument"),
    ],
)
def test_bad_values_are_refused_before_any_work(
    args, message, taco_mirror, tmp_path, capsys
):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    args = [a.format(file=a_file) for a in args]
    message = message.format(file=a_file)
    if "--output" not in args:
        args += ["--output", str(tmp_path / "out")]
    try:
        status = main(["demo", *args])
    except SystemExit as exc:  # argparse's own checks
        status = exc.code
    out, err = capsys.readouterr()
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--help" in err  # says where the valid values are
    # Nothing was done: no request reached TACO, no fallback, no folder made.
    assert not taco_mirror.counts
    assert out == ""
    assert not (tmp_path / "out").exists()


def test_source_taco_unreachable_is_one_line(tmp_path):
    proc = _cli(
        "demo",
        "--source",
        "taco",
        "--timeout",
        "1",
        "--output",
        str(tmp_path / "out"),
        env={
            "LITTERLEARN_TACO_URL": f"http://127.0.0.1:{_closed_port()}",
            "LITTERLEARN_DATA": str(tmp_path / "data"),
        },
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("litterlearn demo: error: TACO could not be reached")
    assert "--source sample" in lines[0] and len(lines[0]) < 400
    assert "Falling back" not in proc.stdout


@pytest.mark.parametrize("source", ["auto", "taco", "sample"])
@pytest.mark.parametrize("data", ["{file}", "{file}/under"])
def test_an_unusable_data_folder_is_one_line_not_a_network_failure(
    source, data, taco_mirror, tmp_path, capsys, monkeypatch
):
    # LITTERLEARN_DATA names a file, or a folder under a file: a problem of
    # this machine, not of TACO (which is up), and no fallback can cure it.
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    monkeypatch.setenv("LITTERLEARN_DATA", data.format(file=a_file))
    status = main(
        ["demo", "--source", source, "--epochs", "1", "--image-size", "16"]
        + ["--n-images", "20", "--output", str(tmp_path / "out"), "--quiet"]
    )
    out, err = capsys.readouterr()
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("litterlearn demo: error: the data folder cannot be")
    assert "LITTERLEARN_DATA" in lines[0]
    assert "could not be reached" not in out + err and "Falling back" not in out
    assert not taco_mirror.counts  # nothing was asked of the mirror


def test_small_subset_from_a_mirror_reports_both_classes(taco_mirror, tmp_path, capsys):
    # 20 TACO images: the validation and test sets have 2 images each and
    # here no bottle; the reports still name both classes (labels passed).
    status = main(
        [
            "demo",
            "--n-images",
            "20",
            "--epochs",
            "1",
            "--image-size",
            "16",
            "--output",
            str(tmp_path / "out"),
            "--quiet",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "Using real TACO: 20 images." in out
    assert out.count("bottle ") >= 2 and out.count("other ") >= 2
    assert "single class" in out
    assert "Epoch" not in out  # --quiet: no progress
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "confusion_matrix.png",
        "grad_cam.png",
        "training_curves.png",
    ]


@pytest.mark.slow
def test_default_console_is_quiet(tmp_path):
    """No TensorFlow, absl or pooch log lines and no long lines by default."""
    proc = _cli(
        "demo",
        "--n-images",
        "40",
        "--epochs",
        "2",
        "--image-size",
        "16",
        "--timeout",
        "1",
        "--output",
        str(tmp_path / "out"),
        env={
            "LITTERLEARN_TACO_URL": f"http://127.0.0.1:{_closed_port()}",
            "LITTERLEARN_DATA": str(tmp_path / "data"),
            "LITTERLEARN_DEMO_SOURCE": "auto",
            # oneDNN on: TensorFlow then prints its start-up notice on every
            # x86-64 CPU, whatever TF_CPP_MIN_LOG_LEVEL says (off or unset,
            # only on some); the demo must hide it all the same.
            "TF_ENABLE_ONEDNN_OPTS": "1",
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "Falling back to the offline SYNTHETIC sample" in proc.stdout
    assert "Epoch 2/2" in proc.stdout  # one line per epoch (not a terminal)
    assert max(len(line) for line in proc.stdout.splitlines()) < 200, [
        line for line in proc.stdout.splitlines() if len(line) >= 200
    ]
