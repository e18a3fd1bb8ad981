"""Check the built HTML docs: run after ``sphinx-build`` (``nox -s docs`` does).

- no page loads a script, stylesheet or font from another host (a CDN);
- no raw LaTeX is left in a page (math is rendered without the network);
- every gallery card has a thumbnail of its own (not sphinx-gallery's
  placeholder), and the gallery follows the course's order;
- every estimator's API page documents fit, predict, predict_proba and score.

Usage: ``python docs/check_html.py [docs/_build/html]``; exits 1 listing the
problems.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "sphinxext"))
from litterlearn_docs import COURSE_ORDER

ESTIMATORS = [
    "litterlearn.neural_network.MLPImageClassifier",
    "litterlearn.neural_network.CNNImageClassifier",
]


class _Assets(HTMLParser):
    """Collects the URLs a page loads (scripts, styles, fonts, images)."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            rel = (attrs.get("rel") or "").lower()
            if any(
                r in rel for r in ("stylesheet", "preload", "icon", "modulepreload")
            ):
                self.urls.append(attrs["href"])
        elif tag == "img" and attrs.get("src"):
            self.urls.append(attrs["src"])


def check(root):
    root = Path(root)
    problems = []
    pages = sorted(root.rglob("*.html"))
    if not pages:
        return [f"no HTML pages under {root}"]
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        parser = _Assets()
        parser.feed(text)
        for url in parser.urls:
            if re.match(r"^(https?:)?//", url):
                problems.append(f"{page.relative_to(root)} loads {url}")
        if re.search(r"\\\\\(|\\alpha|\\frac|\$\$", text) and "mathjax" in text.lower():
            problems.append(f"{page.relative_to(root)} relies on MathJax")
        if ":math:`" in text:
            problems.append(f"{page.relative_to(root)} shows raw :math: markup")
    for css in sorted(root.rglob("*.css")):
        for url in re.findall(
            r"url\(\s*['\"]?((?:https?:)?//[^'\")]+)", css.read_text()
        ):
            problems.append(f"{css.relative_to(root)} loads {url}")

    gallery = root / "auto_examples" / "index.html"
    if not gallery.exists():
        problems.append("no gallery page auto_examples/index.html")
    else:
        text = gallery.read_text(encoding="utf-8")
        cards = re.findall(r'<img[^>]*src="([^"]*)"', text)
        for src in cards:
            if "no_image" in src:
                problems.append(f"a gallery card has the placeholder thumbnail {src}")
        order = re.findall(r'href="(plot_[a-z0-9_]+)\.html"', text)
        order = list(dict.fromkeys(order))
        known = [name for name in order if f"{name}.py" in COURSE_ORDER]
        expected = sorted(known, key=lambda n: COURSE_ORDER.index(f"{n}.py"))
        if known != expected:
            problems.append(f"gallery order {order}, expected the course's {expected}")

    for name in ESTIMATORS:
        page = root / "generated" / f"{name}.html"
        if not page.exists():
            problems.append(f"no API page {page.relative_to(root)}")
            continue
        text = page.read_text(encoding="utf-8")
        for method in ("fit", "predict", "predict_proba", "score", "get_params"):
            if f'id="{name}.{method}"' not in text:
                problems.append(f"{page.name} does not document {method}")
    return problems


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html"
    found = check(folder)
    for line in found:
        print(line)
    print(f"{len(found)} problem(s) in {folder}")
    sys.exit(1 if found else 0)
