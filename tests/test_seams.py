"""The seams of the package: private names of the libraries it builds on.

scikit-learn, Keras, imbalanced-learn and joblib do not promise to keep their
private modules and names. litterlearn imports them in one module,
``litterlearn.utils._sklearn_compat``, so that a release moving one breaks
that module only, and one reading shows every dependency on them.
"""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "litterlearn"
COMPAT = SRC / "utils" / "_sklearn_compat.py"
LIBRARIES = {"sklearn", "keras", "imblearn", "joblib"}


def _private_imports(path):
    """``(line, what)`` of each import of a private name of ``LIBRARIES``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules = [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [(node.module, [alias.name for alias in node.names])]
        else:
            continue
        for module, names in modules:
            parts = module.split(".")
            if parts[0] not in LIBRARIES:
                continue
            private = [p for p in parts[1:] if p.startswith("_") or p == "src"]
            private += [n for n in names if n.startswith("_")]
            if private:
                found.append((node.lineno, f"{module}: {', '.join(private)}"))
    return found


# Modules that still import private names directly, to be routed through
# the compatibility module; a module leaves this list once it is.
NOT_YET_ROUTED: set[str] = set()


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(SRC.rglob("*.py")) if p != COMPAT],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_private_library_names_are_imported_in_one_module(path):
    found = _private_imports(path)
    name = str(path.relative_to(SRC))
    if name in NOT_YET_ROUTED:
        assert found, f"{name} is routed now: remove it from NOT_YET_ROUTED"
        return
    assert not found, (
        f"{name} imports private names {found}; import them from "
        f"litterlearn.utils._sklearn_compat (add them there)."
    )


def test_the_scan_finds_private_imports(tmp_path):
    module = tmp_path / "module.py"
    module.write_text(
        "from sklearn.base import _fit_context, clone\n"
        "import keras.src.backend\n"
        "from sklearn.utils import check_array\n"
        "def f():\n"
        "    from joblib._dask import DaskDistributedBackend\n"
    )
    assert _private_imports(module) == [
        (1, "sklearn.base: _fit_context"),
        (2, "keras.src.backend: src"),
        (5, "joblib._dask: _dask"),
    ]


def test_the_import_rule_holds():
    # utils <- _keras <- _backbones <- {neural_network, preprocessing,
    # inspection} <- {ensemble, plotting, _demo}: the catalogue and the
    # Keras layer sit below the estimators, so the transformers and
    # inspection load no estimator module, and nothing loads Keras itself.
    probe = (
        "import sys, litterlearn.preprocessing, litterlearn.inspection\n"
        "print(sorted(m for m in sys.modules if m.startswith(('litterlearn.', 'keras'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC.parent)},
    )
    loaded = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    assert "litterlearn._backbones" in loaded and "litterlearn._keras" in loaded
    assert not [m for m in loaded if m.startswith("litterlearn.neural_network")]
    assert not [m for m in loaded if m.startswith("keras")]


@pytest.mark.parametrize(
    "package, forbidden",
    [
        ("utils", ("_keras", "_backbones", "neural_network", "preprocessing")),
        ("_keras", ("_backbones", "neural_network", "preprocessing", "inspection")),
        ("_backbones.py", ("neural_network", "preprocessing", "inspection")),
        ("preprocessing", ("neural_network", "inspection", "ensemble", "plotting")),
        ("inspection", ("neural_network", "ensemble", "plotting")),
        ("neural_network", ("inspection", "ensemble", "plotting", "_demo")),
    ],
)
def test_no_import_runs_back_up_the_layers(package, forbidden):
    root = SRC / package
    files = [root] if root.suffix == ".py" else sorted(root.rglob("*.py"))
    for path in files:
        where = path.relative_to(SRC).parent.parts  # the module's package
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = where[: len(where) - (node.level - 1)]
                target = [*base, *(node.module or "").split(".")]
                names = [target[0]] if target[0] else [a.name for a in node.names]
                assert not set(names) & set(forbidden), (
                    f"{path.relative_to(SRC)} imports {node.module!r} "
                    f"(level {node.level})"
                )
