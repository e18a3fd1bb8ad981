"""Exported pipelines predict as the pipeline did, in each format's own runtime.

Five tiny pipelines are fitted once (module fixtures) and exported once in
every format; two fresh Python processes then load every artifact with the
format's runtime alone (Keras and TensorFlow in one; onnxruntime and the
LiteRT interpreter, without TensorFlow or litterlearn, in the other) and
their probabilities are compared with the pipeline's ``predict_proba`` on
the same real images (the TACO sample's files and scikit-learn's digits).
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from conftest import TINY_BACKBONE
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from litterlearn.datasets import load_taco_sample
from litterlearn.export import export, inference_model, load_exported
from litterlearn.export._export import FORMATS
from litterlearn.export._graph import ExportError
from litterlearn.export._load import UnsafeModelError
from litterlearn.neural_network import (
    CNNImageClassifier,
    MLPImageClassifier,
    TransferImageClassifier,
)
from litterlearn.preprocessing import (
    Augmenter,
    CocoBinaryLabeler,
    CocoMultiLabeler,
    GrayscaleNormalizer,
    ImageResizer,
    PretrainedFeatures,
)

ATOL = 1e-5


def tiny_normalized_vgg(
    *, include_top=False, weights=None, input_shape=(16, 16, 3), name=None
):
    """conftest's tiny VGG with a Keras ``Normalization`` first, as EfficientNet."""
    import keras

    assert not include_top and weights is None
    inputs = keras.Input(input_shape)
    x = keras.layers.Normalization(
        mean=[0.1, -0.2, 0.3], variance=[4.0, 2.25, 1.0], name="stem_normalization"
    )(inputs)
    x = keras.layers.Conv2D(
        8, 3, padding="same", activation="relu", name="block1_conv1"
    )(x)
    x = keras.layers.MaxPooling2D(2, name="block1_pool")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", name="block2_conv1")(x)
    x = keras.layers.BatchNormalization(name="block2_bn")(x)
    x = keras.layers.Activation("relu", name="block2_relu")(x)
    return keras.Model(inputs, x, name=name or "tiny_normalized_vgg")


TORCH_BACKBONE = dataclasses.replace(
    TINY_BACKBONE,
    name="tiny_normalized_vgg",
    constructor=tiny_normalized_vgg,
    preprocessing="torch",
)
SUFFIX = {"keras": ".keras", "tf_saved_model": "", "onnx": ".onnx", "litert": ".tflite"}
LABELS = ["Bottle", "Can", "Cigarette"]


def _runtime_missing(module):
    try:
        __import__(module)
    except ImportError as exc:
        return f"{module} is not installed: {exc}"
    return None


@pytest.fixture(scope="module")
def taco():
    sample = load_taco_sample(n_images=40)
    y = CocoBinaryLabeler("Bottle").fit_transform(sample.annotations)
    Y = CocoMultiLabeler(classes=LABELS).fit_transform(sample.annotations)
    return sample.filenames, y, Y


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    X = np.rint(data.images[:150] * (255 / 16)).astype(np.uint8)
    return X, data.target[:150]


def _pipelines(taco, digits):
    """name -> (fitted estimator, model input images, inputs for predict_proba)."""
    files, y, Y = taco
    X_digits, y_digits = digits
    out = {}

    # No ImageResizer: the graph starts at the normalizer's input images.
    mlp = make_pipeline(
        GrayscaleNormalizer(standardize=True),
        MLPImageClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0),
    ).fit(X_digits, y_digits)
    out["mlp_digits"] = (mlp, X_digits[..., None], X_digits)

    # Multi-label CNN with BatchNormalization on gray images standardized
    # one by one, per-label thresholds.
    cnn_bn = make_pipeline(
        ImageResizer(20, color="gray"),
        GrayscaleNormalizer(standardize="image"),
        CNNImageClassifier(
            filters=(4,),
            batch_normalization=True,
            max_iter=2,
            random_state=0,
            threshold=[0.3, 0.5, 0.7],
        ),
    ).fit(files, Y)
    out["cnn_bn_multilabel"] = (cnn_bn, None, files)

    # RGB uint8 straight into a CNN without BatchNormalization, cropped, with
    # a sampler (left out of the export) and training-time augmentation.
    cnn = make_imb_pipeline(
        ImageResizer(18, fit_mode="crop"),
        Augmenter(random_state=0),
        CNNImageClassifier(
            filters=(4,),
            max_iter=1,
            random_state=0,
            augmentation=Augmenter(random_state=0),
        ),
    ).fit(files, y)
    out["cnn_rgb"] = (cnn, None, files)

    # RGB to gray in the graph, then the backbone's own preprocessing
    # ("torch": ImageNet means and deviations), resizing to 24x24, and a
    # Normalization layer inside the backbone (whose captured statistics
    # the ONNX converter would turn into extra inputs).
    transfer = make_pipeline(
        ImageResizer(16),
        GrayscaleNormalizer(),
        TransferImageClassifier(
            TORCH_BACKBONE,
            weights=None,
            input_size=24,
            hidden_layer_sizes=(),
            max_iter=1,
            random_state=0,
        ),
    ).fit(files, y)
    out["transfer"] = (transfer, None, files)

    # The backbone shrinks 24x24 images to 16x16 with antialiasing (an op
    # ONNX and LiteRT lack, exported as two matrices).
    baseline = make_pipeline(
        ImageResizer(24),
        PretrainedFeatures(TINY_BACKBONE, weights=None, input_size=16, random_state=0),
        StandardScaler(),
        LogisticRegression(max_iter=200),
    ).fit(files, y)
    out["pretrained_logistic"] = (baseline, None, files)
    return out


@pytest.fixture(scope="module")
def exported(taco, digits, tmp_path_factory):
    """Every pipeline exported in every format, with the expected outputs."""
    root = tmp_path_factory.mktemp("exported")
    cases = []
    for name, (estimator, images, X) in _pipelines(taco, digits).items():
        if images is None:  # the resizer's uint8 output, as images
            resizer = estimator[0]
            images = resizer.transform(X).reshape(len(X), *resizer.image_shape_)
        expected = estimator.predict_proba(X)
        # Probabilities that move with the input, or the comparison would
        # prove nothing.
        assert expected.std(axis=0).max() > 1e-3, name
        np.save(root / f"{name}_images.npy", images)
        np.save(root / f"{name}_expected.npy", expected)
        artifacts = {}
        for fmt in FORMATS:
            path = root / f"{name}{SUFFIX[fmt]}"
            if fmt == "tf_saved_model":
                path = root / f"{name}_saved_model"
            export(estimator, path, format=fmt)
            artifacts[fmt] = str(path)
        cases.append(
            {
                "name": name,
                "estimator": estimator,
                "X": X,
                "images": str(root / f"{name}_images.npy"),
                "expected": str(root / f"{name}_expected.npy"),
                "artifacts": artifacts,
            }
        )
    return root, cases


def _run_fresh(script, root):
    """Run ``script`` in a fresh Python; return the JSON it prints last."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _compare(root, cases, formats, outputs):
    for case in cases:
        expected = np.load(case["expected"])
        for fmt in formats:
            got = np.load(outputs[f"{case['name']}:{fmt}"])
            assert got.shape == expected.shape, (case["name"], fmt)
            diff = np.abs(got - expected).max()
            assert diff <= ATOL, f"{case['name']} in {fmt}: max abs diff {diff:.2e}"


def _manifest(root, cases, formats):
    manifest = [
        {
            "name": case["name"],
            "format": fmt,
            "path": case["artifacts"][fmt],
            "images": case["images"],
            "out": str(root / f"{case['name']}_{fmt}_out.npy"),
        }
        for case in cases
        for fmt in formats
    ]
    (root / f"manifest_{'_'.join(formats)}.json").write_text(json.dumps(manifest))
    return f"manifest_{'_'.join(formats)}.json"


def test_keras_and_saved_model_in_a_fresh_process(exported):
    root, cases = exported
    formats = ["keras", "tf_saved_model"]
    manifest = _manifest(root, cases, formats)
    script = f"""
        import json, os, sys
        import numpy as np
        import keras
        import tensorflow as tf
        root = sys.argv[1]
        outputs = {{}}
        for item in json.load(open(os.path.join(root, {manifest!r}))):
            images = np.load(item["images"])
            if item["format"] == "keras":
                model = keras.saving.load_model(item["path"], safe_mode=True)
                proba = model.predict(images, verbose=0)
            else:
                loaded = tf.saved_model.load(item["path"])
                proba = loaded.serve(tf.constant(images))
            np.save(item["out"], np.asarray(proba))
            outputs[item["name"] + ":" + item["format"]] = item["out"]
        # The graphs hold Keras' own layers only: litterlearn was not needed.
        assert "litterlearn" not in sys.modules
        print(json.dumps(outputs))
    """
    _compare(root, cases, formats, _run_fresh(script, root))


def test_onnx_and_litert_in_a_fresh_process_without_tensorflow(exported):
    for module in ("onnxruntime", "ai_edge_litert"):
        if reason := _runtime_missing(module):
            pytest.skip(reason)
    root, cases = exported
    formats = ["onnx", "litert"]
    manifest = _manifest(root, cases, formats)
    script = f"""
        import json, os, sys
        import numpy as np
        import onnxruntime
        from ai_edge_litert.interpreter import Interpreter
        root = sys.argv[1]
        outputs = {{}}
        for item in json.load(open(os.path.join(root, {manifest!r}))):
            images = np.load(item["images"])
            if item["format"] == "onnx":
                session = onnxruntime.InferenceSession(
                    item["path"], providers=["CPUExecutionProvider"]
                )
                name = session.get_inputs()[0].name
                proba = session.run(None, {{name: images}})[0]
            else:
                interpreter = Interpreter(model_path=item["path"])
                source = interpreter.get_input_details()[0]["index"]
                interpreter.resize_tensor_input(source, images.shape)
                interpreter.allocate_tensors()
                interpreter.set_tensor(source, images)
                interpreter.invoke()
                target = interpreter.get_output_details()[0]["index"]
                proba = interpreter.get_tensor(target)
            np.save(item["out"], np.asarray(proba))
            outputs[item["name"] + ":" + item["format"]] = item["out"]
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules
        print(json.dumps(outputs))
    """
    _compare(root, cases, formats, _run_fresh(script, root))


def test_load_exported_predicts_files_as_the_pipeline(exported):
    """The loader decodes files as the pipeline's ImageResizer did."""
    _, cases = exported
    case = next(c for c in cases if c["name"] == "cnn_bn_multilabel")
    estimator, files = case["estimator"], case["X"]
    for fmt in ("onnx", "keras"):
        model = load_exported(case["artifacts"][fmt])
        proba = model.predict_proba_files(files)
        assert np.abs(proba - estimator.predict_proba(files)).max() <= ATOL
        np.testing.assert_array_equal(
            model.decide(estimator.predict_proba(files)), estimator.predict(files)
        )


def test_metadata_says_what_a_consumer_needs(exported):
    _, cases = exported
    by_name = {c["name"]: c for c in cases}
    meta = load_exported(by_name["cnn_bn_multilabel"]["artifacts"]["onnx"]).metadata
    assert meta["task"] == "multi-label"
    assert meta["thresholds"] == [0.3, 0.5, 0.7]
    assert meta["input"] == {"shape": [20, 20, 1], "dtype": "uint8", "color": "gray"}
    assert meta["resize"] == {
        "size": [20, 20],
        "fit_mode": "pad",
        "color": "gray",
        "background": [0, 0, 0],
    }
    assert meta["versions"]["litterlearn"]
    assert meta["versions"]["keras"]
    rgb = json.loads(_read(by_name["cnn_rgb"]["artifacts"]["keras"] + ".json"))
    # The sampler is not part of the exported steps.
    assert rgb["steps"] == ["ImageResizer", "CNNImageClassifier"]
    assert rgb["resize"]["fit_mode"] == "crop"
    assert rgb["task"] == "single-label" and rgb["thresholds"] is None
    digits_meta = load_exported(by_name["mlp_digits"]["artifacts"]["litert"]).metadata
    assert digits_meta["classes"] == list(range(10))
    assert digits_meta["resize"] is None
    saved = by_name["transfer"]["artifacts"]["tf_saved_model"]
    assert os.path.isfile(os.path.join(saved, "litterlearn.json"))


def test_exported_graph_holds_no_random_or_litterlearn_layers(exported):
    _, cases = exported
    for case in cases:
        model = inference_model(case["estimator"])
        names = set()
        stack = list(model.layers)
        while stack:
            layer = stack.pop()
            names.add(type(layer).__name__)
            stack.extend(getattr(layer, "layers", []))
        assert not {n for n in names if n.startswith("Random")}, case["name"]
        assert "BackbonePreprocessing" not in names, case["name"]


def test_class_names_replace_the_output_indices(exported, tmp_path):
    _, cases = exported
    estimator = next(c for c in cases if c["name"] == "cnn_bn_multilabel")["estimator"]
    meta = export(estimator, tmp_path / "m.keras", classes=LABELS)
    assert meta["classes"] == LABELS
    with pytest.raises(ValueError, match="one name per output"):
        export(estimator, tmp_path / "n.keras", classes=["a", "b"])


def test_unexportable_steps_are_named(taco, tmp_path):
    files, y, _ = taco
    pca = make_pipeline(
        ImageResizer(8, color="gray"),
        GrayscaleNormalizer(),
        PCA(3),
        LogisticRegression(),
    ).fit(files, y)
    with pytest.raises(ExportError, match=r"'pca' \(PCA\) cannot be expressed"):
        export(pca, tmp_path / "pca.keras")
    assert not (tmp_path / "pca.keras").exists()
    unfitted = make_pipeline(ImageResizer(8), CNNImageClassifier())
    with pytest.raises(ExportError, match="not fitted"):
        export(unfitted, tmp_path / "u.onnx")


def test_export_refuses_to_overwrite_and_checks_suffixes(exported, tmp_path):
    _, cases = exported
    estimator = cases[0]["estimator"]
    export(estimator, tmp_path / "m.onnx")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export(estimator, tmp_path / "m.onnx")
    export(estimator, tmp_path / "m.onnx", overwrite=True)
    with pytest.raises(ValueError, match="ending in '.tflite'"):
        export(estimator, tmp_path / "m.onnx", format="litert")
    with pytest.raises(ValueError, match="format must be one of"):
        export(estimator, tmp_path / "m.bin", format="pickle")


def test_exported_model_checks_its_input(exported):
    _, cases = exported
    model = load_exported(cases[0]["artifacts"]["onnx"])  # digits, 8x8 gray
    with pytest.raises(ValueError, match=r"shape \(8, 8, 1\)"):
        model.predict_proba(np.zeros((2, 9, 9, 1), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        model.predict_proba(np.zeros((2, 8, 8, 1), np.float32))
    rows = np.zeros((2, 64), np.uint8)
    assert model.predict_proba(rows).shape == (2, 10)
    assert model.predict(rows).shape == (2,)


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _rewrite_keras_config(src, dst, edit):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                data = edit(data.decode()).encode()
            zout.writestr(item, data)


def test_keras_files_load_in_safe_mode(exported, tmp_path):
    """A Lambda layer or an unknown custom object is refused, not run."""
    import keras

    _, cases = exported
    source = cases[0]["artifacts"]["keras"]
    meta = _read(source + ".json")

    inputs = keras.Input((8, 8, 1), dtype="uint8")
    x = keras.layers.Lambda(lambda t: keras.ops.cast(t, "float32") * 2.0)(inputs)
    lam = tmp_path / "lambda.keras"
    keras.Model(inputs, keras.layers.Flatten()(x)).save(lam)
    (tmp_path / "lambda.keras.json").write_text(meta)
    with pytest.raises(UnsafeModelError, match="Lambda layer"):
        load_exported(lam)

    unknown = tmp_path / "unknown.keras"
    _rewrite_keras_config(
        source,
        unknown,
        lambda text: text.replace('"class_name": "Flatten"', '"class_name": "Evil"'),
    )
    (tmp_path / "unknown.keras.json").write_text(meta)
    with pytest.raises(UnsafeModelError, match="custom Keras object"):
        load_exported(unknown)


def test_files_without_metadata_are_not_exports(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a model exported by litterlearn"):
        load_exported(tmp_path / "model.onnx")
    with pytest.raises(FileNotFoundError):
        load_exported(tmp_path / "nothing.keras")


# ------------------------------------------------------------- command line


def _csv(text):
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


def test_predict_command_names_unreadable_files_and_predicts_the_rest(
    exported, tmp_path, capsys
):
    from litterlearn.__main__ import main

    _, cases = exported
    case = next(c for c in cases if c["name"] == "cnn_bn_multilabel")
    model = tmp_path / "labels.onnx"
    export(case["estimator"], model, classes=LABELS)
    files = list(case["X"][:3])
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("not an image")
    broken = folder / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    missing = str(tmp_path / "missing.png")
    status = main(["predict", str(model), *files, str(folder), missing])
    out, err = capsys.readouterr()
    assert status == 1
    rows = _csv(out)
    assert [r["file"] for r in rows] == [*files, str(broken), missing]
    expected = case["estimator"].predict_proba(files)
    got = np.array([[float(r[f"proba_{c}"]) for c in LABELS] for r in rows[:3]])
    assert np.abs(got - expected).max() <= 2e-6  # printed to 6 digits
    predicted = case["estimator"].predict(files)
    for row, indicator in zip(rows[:3], predicted, strict=True):
        names = [c for c, on in zip(LABELS, indicator, strict=True) if on]
        assert row["labels"] == ";".join(names) and row["error"] == ""
    assert "broken.jpg" in rows[3]["error"] and rows[4]["error"] == "no such file"
    assert rows[3]["proba_Bottle"] == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "3 images predicted, 2 could not be read" in lines[0]
    assert "broken.jpg" in lines[0] and "missing.png" in lines[0]


def test_predict_and_export_commands_load_pickles_only_when_trusted(
    exported, tmp_path, capsys
):
    import joblib

    from litterlearn.__main__ import main

    _, cases = exported
    case = next(c for c in cases if c["name"] == "cnn_rgb")
    pickled = tmp_path / "pipe.joblib"
    joblib.dump(case["estimator"], pickled)
    files = list(case["X"][:2])
    for argv in (
        ["predict", str(pickled), *files],
        ["export", str(pickled), str(tmp_path / "m.onnx")],
    ):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert out == "" and len(err.strip().splitlines()) == 1
        assert "--trust-pickle" in err and "run any code" in err
    assert not (tmp_path / "m.onnx").exists()

    assert main(["predict", str(pickled), *files, "--trust-pickle"]) == 0
    rows = _csv(capsys.readouterr()[0])
    expected = case["estimator"].predict_proba(files)
    got = np.array([[float(r["proba_0"]), float(r["proba_1"])] for r in rows])
    assert np.abs(got - expected).max() <= 2e-6

    argv = ["export", str(pickled), str(tmp_path / "m.onnx"), "--trust-pickle"]
    assert main(argv) == 0
    assert "wrote" in capsys.readouterr()[0]
    assert main(["predict", str(tmp_path / "m.onnx"), *files]) == 0
    exported_rows = _csv(capsys.readouterr()[0])
    assert [r["label"] for r in exported_rows] == [r["label"] for r in rows]
    # Exporting again over it is bad input, one line.
    assert main(argv) == 2
    assert "overwrite" in capsys.readouterr()[1]


def test_commands_refuse_bad_input_in_one_line(taco, tmp_path, capsys):
    import joblib

    from litterlearn.__main__ import main

    files, y, _ = taco
    pca = make_pipeline(ImageResizer(8), PCA(2), LogisticRegression()).fit(files, y)
    joblib.dump(pca, tmp_path / "pca.joblib")
    (tmp_path / "plain.keras").write_bytes(b"PK not really")
    cases = [
        (["export", str(tmp_path / "pca.joblib"), str(tmp_path / "p.onnx")], "PCA"),
        (["predict", str(tmp_path / "none.onnx"), "a.jpg"], "does not exist"),
        (["predict", str(tmp_path / "plain.keras"), "a.jpg"], "not a model exported"),
        (["predict", str(tmp_path / "none.onnx"), "a.jpg", "--batch-size", "0"], ""),
    ]
    for argv, message in cases:
        if "export" in argv:
            argv = [*argv, "--trust-pickle"]
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse's own checks
            status = exc.code
        _, err = capsys.readouterr()
        assert status == 2, argv
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err


def test_predict_command_runs_onnx_without_tensorflow(exported, tmp_path):
    """``litterlearn predict`` on an ONNX model starts without TensorFlow."""
    if reason := _runtime_missing("onnxruntime"):
        pytest.skip(reason)
    _, cases = exported
    case = next(c for c in cases if c["name"] == "cnn_rgb")
    files = [str(f) for f in case["X"][:2]]
    script = """
        import json, sys
        from litterlearn.__main__ import main
        status = main(["predict", sys.argv[1], *sys.argv[2:], "-o", "out.csv"])
        heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
        print(json.dumps({"status": status, "heavy": heavy}))
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)]
        + [case["artifacts"]["onnx"], *files],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "status": 0,
        "heavy": [],
    }
    rows = _csv((tmp_path / "out.csv").read_text())
    expected = case["estimator"].predict_proba(files)
    got = np.array([[float(r["proba_0"]), float(r["proba_1"])] for r in rows])
    assert np.abs(got - expected).max() <= 2e-6


def test_random_augmentation_layers_never_reach_an_export(digits, tmp_path):
    """A network holding Keras' random layers is refused, not exported."""
    import keras

    class FlippingCNN(CNNImageClassifier):
        def _input_stage(self, input_shape, input_dtype):
            stage = super()._input_stage(input_shape, input_dtype)
            return [*stage, keras.layers.RandomFlip("horizontal", seed=0)]

    X, y = digits
    clf = FlippingCNN(filters=(2,), max_iter=1, random_state=0).fit(X[:40], y[:40])
    with pytest.raises(ExportError, match=r"random augmentation layers \(RandomFlip\)"):
        export(clf, tmp_path / "flip.onnx")
    assert not (tmp_path / "flip.onnx").exists()


def test_mixed_precision_is_refused_by_litert_only(digits, tmp_path):
    """LiteRT's interpreter cannot run float16 ops: refused before writing."""
    X, y = digits
    clf = CNNImageClassifier(
        filters=(2,), max_iter=1, random_state=0, precision="mixed_float16"
    ).fit(X[:40], y[:40])
    with pytest.raises(ExportError, match="computes in float16"):
        export(clf, tmp_path / "m.tflite")
    assert not (tmp_path / "m.tflite").exists()
    export(clf, tmp_path / "m.keras")
    proba = load_exported(tmp_path / "m.keras").predict_proba(X[:40])
    assert np.abs(proba - clf.predict_proba(X[:40])).max() <= ATOL


def test_onnx_files_carry_their_metadata_inside(exported, tmp_path):
    """An ONNX file copied without its JSON still loads: the metadata is inside."""
    if reason := _runtime_missing("onnxruntime"):
        pytest.skip(reason)
    _, cases = exported
    source = cases[0]["artifacts"]["onnx"]
    alone = tmp_path / "alone.onnx"
    shutil.copyfile(source, alone)
    model = load_exported(alone)
    assert model.metadata == json.loads(_read(source + ".json"))
    images = np.load(cases[0]["images"])
    assert (
        np.abs(model.predict_proba(images) - np.load(cases[0]["expected"])).max()
        <= ATOL
    )
