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


def test_preprocessing_shares_the_backbone_catalogue_without_the_estimators():
    probe = (
        "import sys, litterlearn.preprocessing\n"
        "print(sorted(m for m in sys.modules if m.startswith('litterlearn.neural')))"
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
    assert "litterlearn.neural_network._backbones" in loaded
    assert "litterlearn.neural_network._base" not in loaded
