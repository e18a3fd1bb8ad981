"""Sphinx configuration for litterlearn's documentation."""

import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import litterlearn

project = "litterlearn"
author = "litterlearn developers"
copyright = "2026, litterlearn developers"
release = litterlearn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {
    "members": True,
    # scikit-learn generates these metadata-routing setters on every estimator.
    "exclude-members": (
        "set_fit_request,set_score_request,set_predict_request,"
        "set_predict_proba_request,set_transform_request,set_partial_fit_request"
    ),
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "**.ipynb_checkpoints"]
html_theme = "alabaster"
html_static_path = []
suppress_warnings = ["config.cache"]

# The transfer-learning example needs VGG16's ImageNet weights: it is run only
# when they are in Keras' cache already (CI has no internet), else rendered
# without running (its page says so).
_VGG16_WEIGHTS = Path(
    os.environ.get("KERAS_HOME", Path.home() / ".keras"),
    "models",
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
)
_EXECUTED_EXAMPLES = (
    r"/plot_" if _VGG16_WEIGHTS.exists() else r"/plot_(?!transfer_learning_vgg16)"
)

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "doc_module": ("litterlearn",),
    "reference_url": {"litterlearn": None},
    "backreferences_dir": "generated",
    "filename_pattern": _EXECUTED_EXAMPLES,
    # Examples that need ImageNet weights or a network are shown, not run.
    "ignore_pattern": r"__init__\.py",
    "expected_failing_examples": [],
    "run_stale_examples": True,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": "True",
    "abort_on_example_error": True,
}

warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg",
)
