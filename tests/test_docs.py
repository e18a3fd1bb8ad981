"""The API reference lists every public name (docs stay true to the code)."""

import importlib
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"
SUBPACKAGES = [
    "datasets",
    "preprocessing",
    "neural_network",
    "metrics",
    "model_selection",
    "plotting",
    "inspection",
    "ensemble",
    "export",
    "utils",
    "active_learning",
]


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_api_reference_lists_every_public_name(sub):
    try:
        module = importlib.import_module(f"litterlearn.{sub}")
    except ModuleNotFoundError:
        pytest.skip(f"litterlearn.{sub} does not exist yet")
    if not hasattr(module, "__all__"):
        pytest.skip(f"litterlearn.{sub} exports nothing yet")
    listed = API.read_text()
    missing = [n for n in module.__all__ if f"{sub}.{n}\n" not in listed]
    assert not missing, f"docs/api.rst lacks {missing}"


# The docs' own Sphinx helpers (docs/sphinxext) work without a network.
DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLES = DOCS.parent / "examples"


@pytest.fixture(scope="module")
def docs_ext():
    import sys

    sys.path.insert(0, str(DOCS / "sphinxext"))
    try:
        yield importlib.import_module("litterlearn_docs")
    finally:
        sys.path.remove(str(DOCS / "sphinxext"))


def test_gallery_follows_the_course_and_places_every_example(docs_ext):
    examples = [p.name for p in EXAMPLES.glob("plot_*.py")]
    unplaced = [name for name in examples if name not in docs_ext.COURSE_ORDER]
    assert not unplaced, f"add {unplaced} to COURSE_ORDER in docs/sphinxext"
    key = docs_ext.CourseOrder(str(EXAMPLES))
    files = ["zzz_new.py", "plot_grid_search.py", "plot_image_basics.py", "a_new.py"]
    files += ["plot_cnn_vs_mlp.py", "plot_sigmoid_neuron.py"]
    assert sorted((str(EXAMPLES / f) for f in files), key=key) == [
        str(EXAMPLES / f)
        for f in [
            "plot_image_basics.py",
            "plot_sigmoid_neuron.py",
            "plot_cnn_vs_mlp.py",
            "plot_grid_search.py",
            "a_new.py",  # unknown files last, by name
            "zzz_new.py",
        ]
    ]


def test_math_renders_as_text(docs_ext):
    # imbalanced-learn's sampling_strategy text, shown on the Augmenter page.
    html = docs_ext.latex_to_html(r"\alpha_{os} = N_{rm} / N_{M}")
    assert html == "α<sub>os</sub> = N<sub>rm</sub> / N<sub>M</sub>"
    assert docs_ext.latex_to_html(r"\frac{a}{b^2} \leq x < y") == (
        "(a)/(b<sup>2</sup>) ≤ x &lt; y"
    )


def test_links_to_other_projects_without_their_inventories(docs_ext):
    url = docs_ext.external_url
    assert url("sklearn.pipeline.Pipeline") == (
        "https://scikit-learn.org/stable/modules/generated/sklearn.pipeline.Pipeline.html"
    )
    assert url("sklearn.model_selection.GridSearchCV.fit").endswith(
        "sklearn.model_selection.GridSearchCV.html#sklearn.model_selection.GridSearchCV.fit"
    )
    assert url("imblearn.over_sampling.SMOTE") == (
        "https://imbalanced-learn.org/stable/references/generated/"
        "imblearn.over_sampling.SMOTE.html"
    )
    assert url("np.ndarray").startswith("https://numpy.org/doc/stable/reference/")
    assert url("keras.callbacks.TensorBoard") == (
        "https://keras.io/api/callbacks/tensorboard/"
    )
    assert url("sklearn.no_such_thing.Foo") is None
    assert url("litterlearn.datasets.fetch_taco") is None  # ours: Sphinx resolves


def test_check_html_finds_cdn_scripts_and_placeholders(tmp_path):
    import subprocess
    import sys

    page = tmp_path / "index.html"
    page.write_text(
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js">'
        "</script><p>ok</p>"
    )
    (tmp_path / "auto_examples").mkdir()
    (tmp_path / "auto_examples" / "index.html").write_text(
        '<img src="../_static/no_image.png" alt="thumb">'
        '<a href="plot_grid_search.html"></a><a href="plot_image_basics.html"></a>'
    )
    proc = subprocess.run(
        [sys.executable, str(DOCS / "check_html.py"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "index.html loads https://cdn.jsdelivr.net" in proc.stdout
    assert "placeholder thumbnail" in proc.stdout
    assert "gallery order" in proc.stdout
    assert "no API page" in proc.stdout


ROOT = Path(__file__).resolve().parents[1]
# Text a reader of the repository cannot follow: files that are not in it
# (the project's design notes and reviews live elsewhere) and issue numbers
# (of this project's tracker, or another project's, "#" and digits). Written in
# pieces so that this file does not match itself.
_OUTSIDE = [
    r"\b(?:DESIGN|STYLE|CONTRACT|DEVELOPERS)" + r"\.md\b",
    r"\.\./" + r"shared\b",
    r"\breviews/" + r"[\w-]+\.md\b",
    r"\b[Ii]ssues?" + r"[ -]#?\d+\b",
    r"(?<![\w&/])#" + r"\d{2,6}\b(?![0-9a-fA-F])",
]


def _project_text_files():
    for pattern in (
        "README.md",
        "noxfile.py",
        "pyproject.toml",
        ".ci/*",
        "src/**/*.py",
        "src/**/*.txt",
        "docs/*.rst",
        "docs/*.py",
        "docs/user_guide/*.rst",
        "docs/sphinxext/*.py",
        "docs/_templates/**/*",
        "examples/*.py",
        "examples/*.txt",
        "benchmarks/*.py",
        "benchmarks/*.md",
        "tests/*.py",
        "tests/*.md",
    ):
        yield from (p for p in ROOT.glob(pattern) if p.is_file())


def test_no_text_cites_files_outside_the_repository_or_issue_numbers():
    import re

    found = []
    pattern = re.compile("|".join(_OUTSIDE))
    for path in sorted(set(_project_text_files())):
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_scan_finds_what_it_is_for():
    import re

    pattern = re.compile("|".join(_OUTSIDE))
    for text in [
        "see DESIGN" + ".md section 3",
        "fixed in issue " + "11",
        "imbalanced-learn gets it wrong (#" + "1180)",
        "as in ../" + "shared/data",
    ]:
        assert pattern.search(text), text
    for text in ["color='#1f77b4'", "&#8212;", "step 11 of the issue tracker"]:
        assert not pattern.search(text), text
