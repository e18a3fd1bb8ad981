"""assess and ``litterlearn assess``: the protocol, the verdict, the report.

Real data only for what the numbers say: scikit-learn's handwritten digits
(1797 real 8x8 scans), saved as an image folder of PNG files.
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.svm import SVC

from litterlearn.__main__ import main
from litterlearn.model_selection import AssessResult, assess, parse_budget


def _digit_pixels():
    digits = load_digits()
    return np.round(digits.images * (255 / 16)).astype(np.uint8), digits.target


@pytest.fixture(scope="module")
def digits_folder(tmp_path_factory):
    """The 1797 digits as 8x8 gray PNG files, one subfolder per digit."""
    from PIL import Image

    images, target = _digit_pixels()
    root = tmp_path_factory.mktemp("digits")
    for i, (image, label) in enumerate(zip(images, target, strict=True)):
        folder = root / f"digit{label}"
        folder.mkdir(exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    return root


@pytest.fixture(scope="module")
def digits_result(digits_folder):
    """The SVC and the small-data CNN on the folder, 2 splits, full size only."""
    return assess(
        digits_folder,
        routes=["svc", "small_data_cnn"],
        image_size=8,
        n_splits=2,
        train_sizes=[1.0],
        verbose=0,
    )


def test_numbers_equal_independent_fits_on_the_same_splits(
    digits_folder, digits_result
):
    from PIL import Image

    from litterlearn.datasets import load_image_folder
    from litterlearn.neural_network import make_small_data_cnn

    files, y = load_image_folder(digits_folder, return_X_y=True)
    X = np.stack([np.asarray(Image.open(f)) for f in files]).reshape(len(y), -1)
    result = digits_result
    assert result.metric == "accuracy"  # 10 balanced classes
    (size,) = result.sizes
    for j in range(2):
        train, test = train_test_split(
            np.arange(len(y)), test_size=0.25, stratify=y, random_state=j
        )
        assert size == len(train)
        np.testing.assert_array_equal(result.splits[j][0][size], np.sort(train))
        np.testing.assert_array_equal(result.splits[j][1], np.sort(test))
        train, test = np.sort(train), np.sort(test)
        svc = GridSearchCV(SVC(), {"C": [1, 10, 100]}, cv=3)
        svc.fit(X[train] / np.float32(255), y[train])
        score = np.mean(svc.predict(X[test] / np.float32(255)) == y[test])
        assert result.scores("svc", size)[j] == pytest.approx(score, abs=1e-12)
        assert score > 0.97  # an RBF SVC is about 0.99 right on these digits
    # The CNN on the first split (one fit: the slowest part of this test).
    cnn = make_small_data_cnn(size, random_state=0).set_params(image_shape=(8, 8, 1))
    train_0, test_0 = result.splits[0][0][size], result.splits[0][1]
    cnn.fit(X[train_0], y[train_0])
    score = np.mean(cnn.predict(X[test_0]) == y[test_0])
    assert result.scores("small_data_cnn", size)[0] == pytest.approx(score, abs=1e-12)
    assert score > 0.95  # measured 0.98


def test_result_table_report_and_verdict(digits_result, tmp_path):
    pd = pytest.importorskip("pandas")
    result = digits_result
    table = result.table
    assert isinstance(table, pd.DataFrame)
    assert len(table) == 4 and set(table.route) == {"svc", "small_data_cnn"}
    assert (table.fit_s > 0).all() and (table.chance < 0.2).all()
    # The verdict names the winner against the baseline, with its interval.
    first = result.verdict.splitlines()[0]
    assert "wins at 1347 training images" in first
    assert "95% interval" in first and "2 paired splits" in first
    html = tmp_path / "report.html"
    md = tmp_path / "report.md"
    assert result.save(html) == [html]
    text = html.read_text()
    assert "data:image/png;base64," in text and "<table>" in text
    assert result.verdict.splitlines()[0].split("(")[0] in text
    written = result.save(md)
    assert written == [md, tmp_path / "report.png"]
    assert "| RBF SVC on pixels |" in md.read_text()


def test_shuffled_labels_no_route_beats_chance():
    X, y = _digit_pixels()
    X, y = X[:600], np.random.default_rng(0).permutation(y[:600])
    result = assess(
        X,
        y,
        routes=["logistic_regression", "svc"],
        image_size=8,
        n_splits=3,
        verbose=0,
    )
    assert len(result.sizes) >= 2  # a learning curve
    assert result.verdict.startswith("No route beats chance.")
    assert result.evidence["beats_chance"] is False
    # The same call on the true labels: both routes are far above chance.
    real = assess(
        *_digit_pixels(),
        routes=["logistic_regression"],
        image_size=8,
        n_splits=2,
        train_sizes=[200],
        verbose=0,
    )
    assert "wins at 200 training images" in real.verdict


class _Broken(ClassifierMixin, BaseEstimator):
    """A route that runs out of memory (or is interrupted) when fitted."""

    def __init__(self, error="memory"):
        self.error = error

    def fit(self, X, y):
        if self.error == "memory":
            raise MemoryError("Unable to allocate 64.0 GiB for an array")
        raise KeyboardInterrupt

    def predict(self, X):  # pragma: no cover
        return np.zeros(len(X))


def test_failing_routes_are_reported_and_the_others_go_on(tmp_path):
    bad_weights = tmp_path / "mobilenet.weights.h5"
    bad_weights.write_bytes(b"not a weights file")
    X, y = _digit_pixels()
    result = assess(
        X[:300],
        y[:300],
        routes=["logistic_regression", "pretrained_features"],
        image_size=8,
        extra_routes={"broken": _Broken()},
        weights=bad_weights,
        transfer_size=32,
        n_splits=2,
        train_sizes=[1.0],
        verbose=0,
    )
    routes = result.routes
    assert routes["logistic_regression"]["status"] == "ran"
    assert routes["pretrained_features"]["status"] == "skipped"
    assert "weights" in routes["pretrained_features"]["reason"]
    assert "weights=PATH" in routes["pretrained_features"]["reason"]  # how to fix
    assert routes["broken"]["status"] == "failed"
    assert "MemoryError" in routes["broken"]["reason"]
    assert {c["route"] for c in result.cells} == {"logistic_regression"}
    assert len(result.cells) == 2
    assert "broken failed (MemoryError" in result.verdict
    assert "Not compared: pretrained features" in result.verdict


def test_interrupt_keeps_finished_cells_and_cache_resumes(tmp_path):
    X, y = _digit_pixels()
    X, y = X[:300], y[:300]
    kwargs = dict(n_splits=2, train_sizes=[1.0], image_size=8, verbose=0)
    kwargs["cache"] = tmp_path / "cache"
    stopped = assess(
        X,
        y,
        routes=["logistic_regression"],
        extra_routes={"stop": _Broken(error="interrupt")},
        **kwargs,
    )
    # The first cell finished before the interruption; it is kept.
    assert stopped.interrupted
    assert [(c["route"], c["split"]) for c in stopped.cells] == [
        ("logistic_regression", 0)
    ]
    assert "interrupted" in stopped.verdict
    resumed = assess(X, y, routes=["logistic_regression"], **kwargs)
    assert not resumed.interrupted
    assert [c["cached"] for c in resumed.cells] == [True, False]
    again = assess(X, y, routes=["logistic_regression"], **kwargs)
    assert [c["cached"] for c in again.cells] == [True, True]
    np.testing.assert_array_equal(
        again.scores("logistic_regression", again.sizes[-1]),
        resumed.scores("logistic_regression", resumed.sizes[-1]),
    )


def test_multilabel_targets_use_macro_f1_and_iterative_stratification():
    X, digit = _digit_pixels()
    Y = np.column_stack([digit % 2 == 0, digit > 4, digit == 0]).astype(int)
    result = assess(
        X[:400],
        Y[:400],
        routes=["logistic_regression"],
        image_size=8,
        n_splits=2,
        train_sizes=[1.0],
        verbose=0,
    )
    assert result.metric == "f1_macro" and result.multilabel
    train, test = result.splits[0][0][result.sizes[0]], result.splits[0][1]
    share = Y[:400][test].mean(axis=0) / Y[:400][train].mean(axis=0)
    assert np.allclose(share, 1, atol=0.15)  # each label keeps its share
    assert result.scores("logistic_regression", result.sizes[0]).min() > 0.5


def test_parse_budget_and_too_small_budget():
    assert parse_budget("10m") == 600 and parse_budget("1h30m") == 5400
    assert parse_budget("2.5s") == 2.5 and parse_budget(None) is None
    for bad in ("soon", "10 minutes", "-5", 0, "5m!"):
        with pytest.raises(ValueError):
            parse_budget(bad)
    X, y = _digit_pixels()
    with pytest.raises(ValueError, match="too small for one fit"):
        assess(X, y, budget="5s", verbose=0)


# --------------------------------------------------------------------------
# The command


@pytest.fixture
def folders(tmp_path, digits_folder):
    """Folders of bad input, by name; and a small good one."""
    import shutil

    made = {}
    made["empty"] = tmp_path / "empty"
    made["empty"].mkdir()
    one = tmp_path / "one"
    shutil.copytree(digits_folder / "digit0", one / "digit0")
    made["one"] = one
    unreadable = tmp_path / "unreadable"
    for label in ("a", "b"):
        shutil.copytree(digits_folder / f"digit{label == 'b':d}", unreadable / label)
    (unreadable / "b" / "broken.png").write_bytes(b"not an image")
    made["unreadable"] = unreadable
    few = tmp_path / "few"
    for label in (0, 1):
        (few / str(label)).mkdir(parents=True)
        for f in sorted((digits_folder / f"digit{label}").iterdir())[:3]:
            shutil.copy(f, few / str(label))
    made["few"] = few
    good = tmp_path / "good"
    for label in (0, 1, 2):
        shutil.copytree(digits_folder / f"digit{label}", good / str(label))
    made["good"] = good
    return made


@pytest.mark.parametrize(
    "args, message",
    [
        (["{empty}"], "has no class subfolders"),
        (["{one}"], "has a single class"),
        (["{unreadable}"], "is not an image file that Pillow can read"),
        (["{few}"], "needs at least 5 images"),
        (["{good}", "--budget", "3s"], "too small for one fit"),
        (["{good}", "--budget", "soon"], "--budget: budget must be a duration"),
        (["{good}/nowhere"], "does not exist"),
        (["{good}", "--weights", "{good}/none.h5"], "is not a file"),
        (["{good}", "--taco", "Bottle"], "not allowed with argument"),
        ([], "one of the arguments PATH --taco is required"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, folders, tmp_path, capsys):
    args = [a.format(**folders) for a in args]
    try:
        status = main(["assess", *args, "--output", str(tmp_path / "out"), "-q"])
    except SystemExit as exc:  # argparse's own checks
        status = exc.code
    out, err = capsys.readouterr()
    assert status == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == ""


def test_command_writes_the_report(folders, tmp_path, capsys):
    out_dir = tmp_path / "out"
    args = [
        "assess",
        str(folders["good"]),
        "--routes",
        "logistic_regression",
        "--image-size",
        "8",
        "--splits",
        "2",
        "--output",
        str(out_dir),
        "-q",
    ]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "logistic regression on pixels wins at" in out
    assert (out_dir / "report.html").exists() and (out_dir / "report.md").exists()
    # A rerun takes every fit from the cache.
    assert main(args) == 0
    assert "fits (" in (out_dir / "report.md").read_text()
    assert "from the cache" in (out_dir / "report.md").read_text()


def test_result_without_pandas_is_arrays(digits_result, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)
    table = digits_result.table
    assert isinstance(table, dict) and table["score"].shape == (4,)
    assert isinstance(digits_result, AssessResult)


class _FakeClock:
    """The time ``assess`` sees: only the fits below make it advance."""

    now = 0.0

    @classmethod
    def perf_counter(cls):
        return cls.now


class _TenSecondsPer100(ClassifierMixin, BaseEstimator):
    """A route whose fit takes 10 s of the fake clock per 100 images."""

    def fit(self, X, y):
        _FakeClock.now += 10 * len(X) / 100
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_budget_runs_the_fits_that_fit_in_order_and_lists_the_rest(monkeypatch):
    import types

    from litterlearn.model_selection import _assess

    monkeypatch.setattr(
        _assess, "time", types.SimpleNamespace(perf_counter=_FakeClock.perf_counter)
    )
    monkeypatch.setattr(_FakeClock, "now", 0.0)
    X, y = _digit_pixels()
    result = assess(
        X[:300],
        y[:300],
        routes=[],
        extra_routes={"slow": _TenSecondsPer100()},
        image_size=8,
        budget=60,
        verbose=0,
    )
    assert result.sizes == [56, 112, 225]
    # A first small fit (5.6 s) gives the cost; then the full size on as
    # many splits as fit (22.5 s each, 5 s kept for the report); the rest
    # of the curve no longer fits.
    done = [(c["size"], c["split"]) for c in result.cells]
    assert done == [(56, 0), (225, 0), (225, 1)]
    left_out = result.routes["slow"]["left_out"]
    assert sorted(left_out) == [
        (56, 1),
        (56, 2),
        (112, 0),
        (112, 1),
        (112, 2),
        (225, 2),
    ]
    assert "The budget left out 6 of the planned fits" in result.verdict


def test_command_on_the_taco_sample_says_it_is_synthetic(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LITTERLEARN_DATA", str(tmp_path / "data"))
    out_dir = tmp_path / "out"
    args = ["assess", "--taco", "Bottle", "--taco-source", "sample",
            "--n-images", "80", "--routes", "logistic_regression",
            "--image-size", "8", "--splits", "2", "--output", str(out_dir), "-q"]  # fmt: skip
    assert main(args) == 0
    report = (out_dir / "report.md").read_text()
    assert "SYNTHETIC sample" in report and "Bottle or not" in report
    assert "balanced accuracy (skewed classes)" in report  # about 21% bottles
    assert main([*args[:2], "Unicorn", *args[3:]]) == 2
    err = capsys.readouterr().err
    assert "--taco" in err and len(err.strip().splitlines()) == 1


def test_command_interrupted_writes_the_report_so_far(
    folders, tmp_path, monkeypatch, capsys
):
    import litterlearn.model_selection as model_selection

    real = model_selection.assess

    def interrupted(*args, **kwargs):  # Ctrl-C during the second fit
        return real(*args, extra_routes={"stop": _Broken("interrupt")}, **kwargs)

    monkeypatch.setattr(model_selection, "assess", interrupted)
    out_dir = tmp_path / "out"
    args = ["assess", str(folders["good"]), "--routes", "logistic_regression",
            "--image-size", "8", "--splits", "2", "--output", str(out_dir), "-q"]  # fmt: skip
    assert main(args) == 130
    err = capsys.readouterr().err
    assert "interrupted; the report holds the 1 fit finished" in err
    assert "The run was interrupted" in (out_dir / "report.html").read_text()
