"""The tools data scientists use after ``fit``, run for real on real images.

Each test follows a recipe of the user guide's "Beyond fit" page and asserts
what the recipe promises, on scikit-learn's 8x8 digits (real scanned
digits, as image rows). The libraries are optional (the ``integrations``
extra): a test is skipped when its library is missing.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from litterlearn.metrics import expected_calibration_error, imbalance_report
from litterlearn.neural_network import MLPImageClassifier


@pytest.fixture(scope="module")
def digits():
    """Train (300), calibration (500) and test (497) digits, as [0, 1] rows."""
    data = load_digits()
    X = (data.data / 16).astype(np.float32)
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, data.target, train_size=300, stratify=data.target, random_state=0
    )
    X_cal, X_test, y_cal, y_test = train_test_split(
        X_rest, y_rest, train_size=500, stratify=y_rest, random_state=0
    )
    return X_train, X_cal, X_test, y_train, y_cal, y_test


def small_mlp(**params):
    return MLPImageClassifier(
        hidden_layer_sizes=(64,),
        dropout=0.0,
        learning_rate_init=0.01,
        random_state=0,
        **params,
    )


@pytest.fixture(scope="module")
def overfit(digits):
    """An MLP trained long on 300 digits: accurate, and over-confident."""
    X_train, _, _, y_train, _, _ = digits
    return small_mlp(max_iter=150).fit(X_train, y_train)


def test_temperature_scaling_lowers_the_calibration_error(digits, overfit):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    _, X_cal, X_test, _, y_cal, y_test = digits
    calibrated = CalibratedClassifierCV(
        FrozenEstimator(overfit), method="temperature"
    ).fit(X_cal, y_cal)
    before, after = overfit.predict_proba(X_test), calibrated.predict_proba(X_test)
    # One temperature rescales every logit alike: the predictions stay.
    np.testing.assert_array_equal(before.argmax(1), after.argmax(1))
    ece_before = expected_calibration_error(y_test, before)
    ece_after = expected_calibration_error(y_test, after)
    assert ece_after < 0.75 * ece_before
    # The imbalance report's calibration line says the same.
    report = imbalance_report(y_test, calibrated.predict(X_test), after)
    assert report["ece"] == pytest.approx(ece_after)
    assert (
        report["brier"]
        < imbalance_report(y_test, overfit.predict(X_test), before)["brier"]
    )
    text = imbalance_report(
        y_test, calibrated.predict(X_test), after, output_dict=False
    )
    assert f"ECE {ece_after:.2f}" in text.splitlines()[-1]


def test_mapie_prediction_sets_cover_and_abstain(digits, overfit):
    pytest.importorskip("mapie")
    from mapie.classification import SplitConformalClassifier
    from mapie.metrics.classification import classification_coverage_score

    _, X_cal, X_test, _, y_cal, y_test = digits
    mapie = SplitConformalClassifier(
        estimator=overfit, confidence_level=0.9, prefit=True
    ).conformalize(X_cal, y_cal)
    y_pred, y_sets = mapie.predict_set(X_test)
    sets = y_sets[:, :, 0]
    coverage = classification_coverage_score(y_test, y_sets)[0]
    # Split conformal guarantees 0.9 on average over calibration draws; with
    # 500 calibration and 497 test images one draw lands within a few points.
    assert 0.86 <= coverage <= 0.97
    # Abstain when the set is not a single label: what is left is decided,
    # and more accurate than the whole.
    decided = sets.sum(axis=1) == 1
    assert 0.5 < decided.mean() < 1
    accuracy = (y_pred == y_test).mean()
    assert (y_pred[decided] == y_test[decided]).mean() > accuracy


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_mlflow_logs_epochs_and_searches(digits, tmp_path):
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy")
    from mlflow.keras import MlflowCallback
    from sklearn.model_selection import GridSearchCV

    X_train, _, _, y_train, _, _ = digits
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.tracking.MlflowClient()
    clf = small_mlp(max_iter=3, callbacks=[MlflowCallback()])
    with mlflow.start_run() as run:
        mlflow.log_params({"max_iter": clf.max_iter, "model": "MLP"})
        clf.fit(X_train, y_train)
    logged = client.get_run(run.info.run_id).data
    assert logged.params["max_iter"] == "3"
    assert "optimizer_learning_rate" in logged.params
    losses = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in losses] == [0, 1, 2]
    np.testing.assert_allclose([m.value for m in losses], clf.loss_curve_, rtol=1e-5)
    # The callback travels with the estimator.
    assert isinstance(clone(clf).callbacks[0], MlflowCallback)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(
        restored.predict_proba(X_train[:5]), clf.predict_proba(X_train[:5])
    )

    mlflow.sklearn.autolog(log_models=False, log_datasets=False, silent=True)
    try:
        search = GridSearchCV(
            small_mlp(max_iter=3), {"learning_rate_init": [0.01, 0.001]}, cv=2
        )
        with mlflow.start_run() as run:
            search.fit(X_train, y_train)
    finally:
        mlflow.sklearn.autolog(disable=True)
    logged = client.get_run(run.info.run_id).data
    assert logged.params["best_learning_rate_init"] == str(
        search.best_params_["learning_rate_init"]
    )
    assert logged.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    children = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'",
    )
    assert len(children) == 2


def test_skops_model_card(digits, overfit, tmp_path):
    pytest.importorskip("skops")
    from skops import card

    _, _, X_test, _, _, y_test = digits
    model_card = card.Card(overfit)
    model_card.add_metrics(accuracy=float((overfit.predict(X_test) == y_test).mean()))
    path = tmp_path / "README.md"
    model_card.save(path)
    text = path.read_text()
    assert "MLPImageClassifier" in text
    assert "hidden_layer_sizes" in text
    assert "accuracy" in text
