"""The multi-label example of docs/user_guide/imbalance.rst, run as written there."""

import re
from pathlib import Path

import numpy as np

PAGE = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "imbalance.rst"


def test_the_multilabel_example_runs_and_says_what_the_page_says(tmp_path, monkeypatch):
    monkeypatch.setenv("LITTERLEARN_DATA", str(tmp_path))
    section = PAGE.read_text().split("Several labels per image\n", 1)[1]
    block = re.search(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", section)
    code = "\n".join(line[4:] for line in block.group(1).splitlines())
    namespace = {"print": lambda *args: None}
    exec(compile(code, str(PAGE), "exec"), namespace)
    Y, Y_train, Y_test, Y_bal = (
        namespace[k] for k in ("Y", "Y_train", "Y_test", "Y_bal")
    )
    assert Y.shape == (300, 5) and set(np.unique(Y)) == {0, 1}
    assert (len(Y_train), len(Y_test)) == (180, 60)
    # Every label in the test part, near its share; balanced after resampling.
    expected = Y.sum(axis=0) * len(Y_test) / len(Y)
    assert np.abs(Y_test.sum(axis=0) - expected).max() <= 1
    assert Y_bal.sum(axis=0).min() == Y_train.sum(axis=0).max()
