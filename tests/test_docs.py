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
    "plotting",
    "inspection",
    "ensemble",
    "utils",
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
