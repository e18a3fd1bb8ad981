"""The estimator of docs/developers.rst, run as written there.

The page's code block is executed as is: if the contract it describes
changes, this test fails until the page is brought up to date.
"""

import pickle
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

PAGE = Path(__file__).resolve().parents[1] / "docs" / "developers.rst"


@pytest.fixture(scope="module")
def estimator_class():
    text = PAGE.read_text()
    block = re.search(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    code = "\n".join(line[4:] for line in block.group(1).splitlines())
    # A module of its own, so the class pickles as a class of a module does.
    module = types.ModuleType("developers_guide_estimator")
    sys.modules[module.__name__] = module
    exec(compile(code, str(PAGE), "exec"), module.__dict__)
    yield module.PixelSoftmaxClassifier
    del sys.modules[module.__name__]


def _images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 128, (n, 6, 6), dtype=np.uint8)
    y = np.array(["can", "paper"])[np.arange(n) % 2]
    X[y == "paper", :, :3] += 127  # a brighter left half
    return X, y


def test_the_guide_estimator_fits_predicts_and_round_trips(estimator_class):
    X, y = _images()
    clf = estimator_class(max_iter=30, learning_rate_init=0.05, random_state=0)
    assert clf.fit(X, y).score(X, y) > 0.9
    assert set(clf.predict(X)) <= {"can", "paper"}
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(clf)).predict_proba(X), proba
    )
    # Seeded: a clone trains to the very same model (here on a reused one).
    np.testing.assert_array_equal(clone(clf).fit(X, y).predict_proba(X), proba)
    assert clone(clf).set_params(dropout=0.5).get_params()["dropout"] == 0.5


def test_the_guide_estimator_gets_the_base_behaviour(estimator_class):
    X, y = _images()
    clf = estimator_class(max_iter=2, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    # Parameter validation from its constraints, before anything changes.
    with pytest.raises(ValueError, match="dropout"):
        clone(clf).set_params(dropout=2.0).fit(X, y)
    # All or nothing: a rejected refit leaves the fitted estimator as it was.
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(X, np.full(len(y), "can"))
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    # Early stopping, validation data and scikit-learn's tools come with it.
    stopped = estimator_class(max_iter=50, early_stopping=True, n_iter_no_change=2)
    assert stopped.set_params(random_state=0).fit(X, y).n_iter_ <= 50
    assert stopped.best_validation_score_ is not None
    assert len(cross_val_score(clf, X, y, cv=2)) == 2


def test_the_guide_estimator_has_every_shared_parameter(estimator_class):
    from litterlearn.neural_network._base import SHARED_DEFAULTS

    params = estimator_class().get_params()
    assert set(params) == {"dropout", *SHARED_DEFAULTS}
    assert params["max_iter"] == 100  # its own default
    assert estimator_class().fit(*_images()).predict(_images(4)[0]).shape == (4,)


def test_a_knob_lives_in_the_files_the_guide_names():
    # "Adding a training knob": weight_decay is written in these files only.
    src = PAGE.parents[1] / "src" / "litterlearn"
    named = {
        path.relative_to(src).as_posix()
        for path in src.rglob("*.py")
        if "weight_decay" in path.read_text()
    }
    assert named == {
        "neural_network/_base.py",
        "neural_network/_docs.py",
        "neural_network/_fit_data.py",
        "neural_network/_knobs.py",
        "neural_network/_train.py",
    }
    guide = PAGE.read_text()
    for name in named:
        assert name in guide
