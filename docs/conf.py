"""Sphinx configuration for litterlearn's documentation."""

import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "docs" / "sphinxext"))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

from litterlearn_docs import empty_inventory

import litterlearn

project = "litterlearn"
author = "litterlearn developers"
copyright = "2026, litterlearn developers"
release = litterlearn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "litterlearn_docs",  # docs/sphinxext: gallery order, math, offline links
]

autosummary_generate = True
autodoc_default_options = {
    "members": True,
    # fit, predict, predict_proba, score, get_params, ... come from base
    # classes; an API page lists every public method, as scikit-learn's do.
    "inherited-members": True,
    # scikit-learn generates these metadata-routing setters on every estimator.
    # set_fit_request stays: it is how a Pipeline passes X_val and y_val.
    "exclude-members": (
        "set_score_request,set_predict_request,"
        "set_predict_proba_request,set_transform_request,set_partial_fit_request"
    ),
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Parameter types become links (numpy, scikit-learn, Python, ...).
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "Bunch": "sklearn.utils.Bunch",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "Augmenter": "litterlearn.preprocessing.Augmenter",
    "ImageResizer": "litterlearn.preprocessing.ImageResizer",
    "keras.Model": "keras.Model",
    "ndarray": "numpy.ndarray",
}
numpydoc_xref_ignore = {
    "of",
    "those",
    "each",
    "same",
    "as",
    "or",
    "and",
    "shape",
    "default",
    "optional",
    "instance",
    "array-like",
    "sparse",
    "matrix",
    "n_samples",
    "n_features",
    "n_classes",
    "H",
    "W",
    "C",
    "n",
}
# The page's table of contents lists "fit()", not "CNNImageClassifier.fit()".
toc_object_entries_show_parents = "hide"
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "**.ipynb_checkpoints"]
suppress_warnings = ["config.cache"]

# Math without MathJax: no page loads a script from a CDN, and formulas read
# the same offline (docs/sphinxext/litterlearn_docs.py).
html_math_renderer = "unicode"

# Links to other projects. Online, intersphinx uses their inventories;
# offline it falls back to an empty local one (a note, not a warning, so the
# -W build passes) and litterlearn_docs links the names by URL pattern.
# LITTERLEARN_DOCS_OFFLINE=1 skips the download attempts.
_EMPTY_INV = empty_inventory(ROOT / "docs" / "_build" / "inventories")
_INVENTORIES = (
    (_EMPTY_INV,) if os.environ.get("LITTERLEARN_DOCS_OFFLINE") else (None, _EMPTY_INV)
)
intersphinx_mapping = {
    name: (url, _INVENTORIES)
    for name, url in {
        "python": "https://docs.python.org/3/",
        "numpy": "https://numpy.org/doc/stable/",
        "sklearn": "https://scikit-learn.org/stable/",
        "imblearn": "https://imbalanced-learn.org/stable/",
        "matplotlib": "https://matplotlib.org/stable/",
    }.items()
}
intersphinx_timeout = 5

# The pydata theme, as scikit-learn, imbalanced-learn and pandas use. Every
# asset it needs (fonts, icons) ships with it; nothing comes from a CDN.
html_theme = "pydata_sphinx_theme"
html_title = f"litterlearn {release}"
html_static_path = ["_static"]
html_css_files = ["litterlearn.css"]
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 5,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# Pages of code get the width: no left navigation on the examples (the
# gallery's index has it), the install page or the home page.
html_sidebars = {"install": [], "index": [], "auto_examples/plot_*": []}
html_show_sourcelink = False

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
    # The course's order (docs/sphinxext/litterlearn_docs.py), not the alphabet.
    "within_subsection_order": "litterlearn_docs.CourseOrder",
    # Examples without a figure (or not executed) get this, not a placeholder.
    "default_thumb_file": str(ROOT / "docs" / "_static" / "default_thumb.png"),
    "plot_gallery": "True",
    "abort_on_example_error": True,
    # Its timing pages load jQuery and DataTables from a CDN.
    "write_computation_times": False,
}

warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg",
)
