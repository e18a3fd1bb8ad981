"""Sphinx helpers for litterlearn's docs, all working without a network.

- :class:`CourseOrder`: the gallery in the course's order (sphinx-gallery's
  ``within_subsection_order``).
- A math renderer, ``"unicode"``: the few formulas of the docs (some come
  from imbalanced-learn's docstrings) rendered as HTML text with Greek
  letters, subscripts and superscripts. No JavaScript, no CDN, no LaTeX.
- Links to numpy, scikit-learn, imbalanced-learn, Keras and Python objects
  that intersphinx could not resolve (offline, its inventories cannot be
  downloaded): made from each site's URL pattern, so names stay links.
- :func:`empty_inventory`: a local, empty intersphinx inventory that
  intersphinx falls back to when a remote one cannot be reached, so an
  offline build logs a note instead of a warning (``-W`` stays usable).
"""

from __future__ import annotations

import html
import importlib
import inspect
import re
import zlib
from pathlib import Path

from docutils import nodes

#: The gallery's files in the order of the course; files not listed follow,
#: sorted by name.
COURSE_ORDER = [
    "plot_image_basics.py",
    "plot_coco_to_dataset.py",
    "plot_sigmoid_neuron.py",
    "plot_mlp_accuracy_misleads.py",
    "plot_cnn_vs_mlp.py",
    "plot_what_cnn_looks_at.py",
    "plot_fighting_imbalance.py",
    "plot_which_litter.py",
    "plot_test_time_augmentation.py",
    "plot_augmentations.py",
    "plot_transfer_learning_vgg16.py",
    "plot_your_own_images.py",
    "plot_small_data.py",
    "plot_assess_taco.py",
    "plot_training_recipes.py",
    "plot_calibration.py",
    "plot_grid_search.py",
    "plot_grid_search_dask.py",
    "plot_deploying_onnx.py",
]


class CourseOrder:
    """Sort key for sphinx-gallery: the course's order, unknown files last."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = Path(filename).name
        if name in COURSE_ORDER:
            return (0, COURSE_ORDER.index(name), name)
        return (1, 0, name)

    def __repr__(self):
        return f"{type(self).__name__}()"


# ---------------------------------------------------------------------------
# Math as HTML text
# ---------------------------------------------------------------------------

_SYMBOLS = {
    # Greek
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "eta": "η",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Omega": "Ω",
    # operators and relations
    "cdot": "·",
    "times": "×",
    "div": "÷",
    "pm": "±",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "approx": "≈",
    "sim": "∼",
    "in": "∈",
    "infty": "∞",
    "sum": "∑",
    "prod": "∏",
    "partial": "∂",
    "nabla": "∇",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "mid": "|",
    "log": "log",
    "exp": "exp",
    "max": "max",
    "min": "min",
    # spacing
    ",": " ",
    ";": " ",
    "quad": " ",
    "qquad": "  ",
    " ": " ",
}


def _group(text, i):
    """The argument of a command at ``text[i]``: a {...} group or one character."""
    if i < len(text) and text[i] == "{":
        depth = 0
        for j in range(i, len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                return text[i + 1 : j], j + 1
        return text[i + 1 :], len(text)
    if i < len(text) and text[i] == "\\":
        m = re.match(r"\\([A-Za-z]+|.)", text[i:])
        return m.group(0), i + len(m.group(0))
    return text[i : i + 1], i + 1


def latex_to_html(latex):
    """A simple LaTeX formula as HTML text (Greek letters, sub/superscripts).

    >>> latex_to_html(r"\\alpha_{os} = N_{rm} / N_{M}")
    'α<sub>os</sub> = N<sub>rm</sub> / N<sub>M</sub>'
    """
    out, i = [], 0
    while i < len(latex):
        c = latex[i]
        if c in "_^":
            arg, i = _group(latex, i + 1)
            tag = "sub" if c == "_" else "sup"
            out.append(f"<{tag}>{latex_to_html(arg)}</{tag}>")
        elif c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", latex[i:])
            name = m.group(1)
            i += len(m.group(0))
            if name == "frac":
                num, i = _group(latex, i)
                den, i = _group(latex, i)
                out.append(f"({latex_to_html(num)})/({latex_to_html(den)})")
            elif name == "sqrt":
                arg, i = _group(latex, i)
                out.append(f"√({latex_to_html(arg)})")
            elif name in ("mathrm", "text", "operatorname", "mathbf", "mathit"):
                arg, i = _group(latex, i)
                out.append(html.escape(arg))
            elif name in ("left", "right", "big", "Big"):
                continue
            elif name in "{}%$#&":
                out.append(html.escape(name))
            else:
                out.append(_SYMBOLS.get(name, html.escape(name)))
        elif c in "{}":
            i += 1
        else:
            out.append(html.escape(c))
            i += 1
    return "".join(out)


def _visit_math(self, node):
    self.body.append(f'<span class="math llmath">{latex_to_html(node.astext())}</span>')
    raise nodes.SkipNode


def _visit_displaymath(self, node):
    lines = node["latex"].split("\\\\") if node.get("latex") else [node.astext()]
    body = "<br/>".join(latex_to_html(line.strip()) for line in lines)
    self.body.append(f'<div class="math llmath llmath-block"><p>{body}</p></div>')
    raise nodes.SkipNode


# ---------------------------------------------------------------------------
# Links to other projects' docs without their inventories
# ---------------------------------------------------------------------------

_KERAS = {
    "keras.Model": "models/model/",
    "keras.Sequential": "models/sequential/",
    "keras.Input": "layers/core_layers/input/",
    "keras.callbacks.Callback": "callbacks/base_callback/",
    "keras.callbacks.TensorBoard": "callbacks/tensorboard/",
    "keras.callbacks.EarlyStopping": "callbacks/early_stopping/",
    "keras.callbacks.ModelCheckpoint": "callbacks/model_checkpoint/",
    "keras.callbacks.History": "callbacks/",
    "keras.callbacks": "callbacks/",
    "keras.optimizers": "optimizers/",
    "keras.optimizers.Adam": "optimizers/adam/",
    "keras.optimizers.SGD": "optimizers/sgd/",
    "keras.applications": "applications/",
    "keras.layers": "layers/",
    "keras.layers.Layer": "layers/base_layer/",
    "keras.layers.Dense": "layers/core_layers/dense/",
    "keras.layers.Conv2D": "layers/convolution_layers/convolution2d/",
    "keras.layers.BatchNormalization": (
        "layers/normalization_layers/batch_normalization/"
    ),
    "keras.utils.image_dataset_from_directory": (
        "data_loading/image/#image_dataset_from_directory-function"
    ),
}
_PROJECTS = ("python", "numpy", "sklearn", "imblearn", "matplotlib")
_PYTHON_BUILTINS = {"int", "float", "str", "bool", "list", "tuple", "dict", "set"}


def _resolve(target):
    """The object named ``target`` (module, class, function), or None."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def external_url(target):
    """The documentation URL of a numpy/scikit-learn/imbalanced-learn/Keras name.

    >>> external_url("sklearn.pipeline.Pipeline")
    'https://scikit-learn.org/stable/modules/generated/sklearn.pipeline.Pipeline.html'
    >>> external_url("keras.callbacks.TensorBoard")
    'https://keras.io/api/callbacks/tensorboard/'
    """
    target = target.lstrip("~.")
    project, _, name = target.partition(":")
    if name and project in _PROJECTS:
        if project == "python" and name in ("None", "True", "False"):
            return f"https://docs.python.org/3/library/constants.html#{name}"
        if project == "python" and name == "callable":
            return "https://docs.python.org/3/library/functions.html#callable"
        target = name
    if target.startswith("np."):
        target = "numpy." + target[3:]
    if target in _KERAS:
        return "https://keras.io/api/" + _KERAS[target]
    if target in _PYTHON_BUILTINS:
        return f"https://docs.python.org/3/library/functions.html#{target}"
    roots = {
        "sklearn": "https://scikit-learn.org/stable/modules/generated/",
        "imblearn": "https://imbalanced-learn.org/stable/references/generated/",
        "numpy": "https://numpy.org/doc/stable/reference/generated/",
    }
    root = roots.get(target.split(".")[0])
    if root is None or "." not in target:
        return None
    obj = _resolve(target)
    if obj is None or inspect.ismodule(obj):
        if obj is not None and target.startswith("sklearn."):
            return f"https://scikit-learn.org/stable/api/{target}.html"
        return None
    # A method or attribute: its class's page, at its anchor.
    owner, _, _ = target.rpartition(".")
    if inspect.isclass(_resolve(owner)):
        return f"{root}{owner}.html#{target}"
    return f"{root}{target}.html"


#: Labels of other projects' docs that numpydoc's type links and the
#: docstrings inherited from scikit-learn (``set_output``, ``score``,
#: ``get_metadata_routing``, ...) refer to.
_LABELS = {
    "python:bltin-boolean-values": (
        "https://docs.python.org/3/library/stdtypes.html#bltin-boolean-values"
    ),
    "numpy:arrays.scalars": "https://numpy.org/doc/stable/reference/arrays.scalars.html",
    "metadata_routing": "https://scikit-learn.org/stable/metadata_routing.html",
    "df_output_transform": (
        "https://scikit-learn.org/stable/auto_examples/miscellaneous/"
        "plot_set_output.html"
    ),
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "https://scikit-learn.org/stable/auto_examples/miscellaneous/"
        "plot_set_output.html"
    ),
    "accuracy_score": (
        "https://scikit-learn.org/stable/modules/model_evaluation.html#accuracy-score"
    ),
    "r2_score": "https://scikit-learn.org/stable/modules/model_evaluation.html#r2-score",
    "glossary": "https://scikit-learn.org/stable/glossary.html",
}
_GLOSSARIES = {
    "python": "https://docs.python.org/3/glossary.html#term-",
    "numpy": "https://numpy.org/doc/stable/glossary.html#term-",
    "sklearn": "https://scikit-learn.org/stable/glossary.html#term-",
}


def label_url(reftype, target):
    """The URL of another project's label or glossary term, or None.

    >>> label_url("term", "numpy:array_like")
    'https://numpy.org/doc/stable/glossary.html#term-array_like'
    """
    if reftype == "term":
        project, _, term = target.partition(":")
        if not term:
            # litterlearn has no glossary: a bare term comes from a docstring
            # inherited from scikit-learn (``meta-estimator``, ...).
            project, term = "sklearn", project
        if project in _GLOSSARIES:
            return _GLOSSARIES[project] + re.sub(r"\s+", "-", term)
        return None
    if reftype == "ref":
        return _LABELS.get(target)
    return None


def _missing_reference(app, env, node, contnode):
    if node.get("refdomain") == "std":
        url = label_url(node.get("reftype"), node.get("reftarget", ""))
        if url is None:
            return None
        ref = nodes.reference("", "", internal=False, refuri=url, reftitle=url)
        # A :ref: without an explicit title has no text yet: use the label's.
        text = contnode.astext()
        project, sep, name = text.partition(":")
        if not text or (sep and project in _PROJECTS):
            # No title yet (a bare :ref:), or ``numpy:array_like`` as typed:
            # show the label or term without the inventory name.
            text = name if sep else node.get("reftarget", "").rpartition(":")[2]
            contnode = nodes.inline(text, text, classes=["xref", "std"])
        ref.append(contnode)
        return ref
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    url = external_url(target)
    if url is None:
        return None
    ref = nodes.reference("", "", internal=False, refuri=url, reftitle=url)
    text = contnode.astext()
    project, sep, name = text.partition(":")
    if sep and not node.get("refexplicit") and project in _PROJECTS:
        # As intersphinx shows ``python:float``: without the inventory name.
        name = name.removesuffix("()") if name == "callable()" else name
        contnode = contnode.__class__(name, name, classes=contnode["classes"])
    ref.append(contnode)
    return ref


def empty_inventory(folder):
    """Write an empty intersphinx inventory in ``folder``; return its path."""
    path = Path(folder) / "empty-objects.inv"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        b"# Sphinx inventory version 2\n"
        b"# Project: offline fallback\n"
        b"# Version: 0\n"
        b"# The remainder of this file is compressed using zlib.\n"
    )
    path.write_bytes(header + zlib.compress(b""))
    return str(path)


def setup(app):
    app.add_html_math_renderer(
        "unicode", (_visit_math, None), (_visit_displaymath, None)
    )
    # After intersphinx's own handler: only what it could not resolve.
    app.connect("missing-reference", _missing_reference, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
