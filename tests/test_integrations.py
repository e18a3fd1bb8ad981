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
    """Train (300), calibration (500) and test (997) digits, as [0, 1] rows."""
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
        estimator=overfit, confidence_level=0.95, prefit=True
    ).conformalize(X_cal, y_cal)
    y_pred, y_sets = mapie.predict_set(X_test)
    sets = y_sets[:, :, 0]
    coverage = classification_coverage_score(y_test, y_sets)[0]
    # Split conformal guarantees 0.95 on average over calibration draws; with
    # 500 calibration and 997 test images one draw lands within a few points.
    assert 0.92 <= coverage <= 0.98
    # Abstain unless the set is a single label: some images are sent away,
    # and on the rest the model is more accurate than on all of them.
    decided = sets.sum(axis=1) == 1
    assert (sets.sum(axis=1) > 1).any()
    assert 0.5 < decided.mean() < 1
    accuracy = (y_pred == y_test).mean()
    assert (y_pred[decided] == y_test[decided]).mean() > accuracy


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_mlflow_logs_epochs_and_searches(digits, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy")
    from mlflow.keras import MlflowCallback
    from sklearn.model_selection import GridSearchCV

    X_train, _, _, y_train, _, _ = digits
    # The store and the artifacts (MLflow's default: ./mlruns) in tmp_path.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.tracking.MlflowClient()
    experiment = client.create_experiment(
        "digits", artifact_location=(tmp_path / "artifacts").as_uri()
    )
    clf = small_mlp(max_iter=3, callbacks=[MlflowCallback()])
    with mlflow.start_run(experiment_id=experiment) as run:
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
        with mlflow.start_run(experiment_id=experiment) as run:
            search.fit(X_train, y_train)
    finally:
        mlflow.sklearn.autolog(disable=True)
    logged = client.get_run(run.info.run_id).data
    assert logged.params["best_learning_rate_init"] == str(
        search.best_params_["learning_rate_init"]
    )
    assert logged.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    children = client.search_runs(
        [experiment],
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


def test_uncertainty_picks_beat_random_picks(digits):
    from litterlearn.active_learning import suggest_labels

    X_pool = np.concatenate(digits[:2])
    y_pool = np.concatenate(digits[3:5])
    X_test, y_test = digits[2], digits[5]
    scores = {"margin": [], "random": []}
    for seed in range(3):
        start = np.random.default_rng(seed).choice(len(y_pool), 20, replace=False)
        for strategy, curve in scores.items():
            y = np.full(len(y_pool), -1)
            y[start] = y_pool[start]
            for _ in range(3):
                labelled = y != -1
                clf = small_mlp(max_iter=30).fit(X_pool[labelled], y[labelled])
                ask = suggest_labels(
                    clf, X_pool, y, n_labels=20, strategy=strategy, random_state=seed
                )
                assert (y[ask] == -1).all() and len(set(ask)) == 20
                y[ask] = y_pool[ask]  # the oracle answers
            labelled = y != -1
            clf = small_mlp(max_iter=30).fit(X_pool[labelled], y[labelled])
            curve.append(clf.score(X_test, y_test))
    # 80 labels each: the uncertain ones teach more, on average over seeds.
    assert np.mean(scores["margin"]) > np.mean(scores["random"]) + 0.01


def test_cleanlab_finds_flipped_labels(tmp_path):
    pytest.importorskip("cleanlab")
    from cleanlab.filter import find_label_issues
    from PIL import Image
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline

    from litterlearn.preprocessing import GrayscaleNormalizer, ImageResizer

    data = load_digits()
    images, y = data.images[:500], data.target[:500].copy()
    files = []
    for i, image in enumerate(images):  # the digits as PNG files
        files.append(str(tmp_path / f"{i:03d}.png"))
        Image.fromarray((image * 255 / 16).astype(np.uint8)).save(files[-1])
    rng = np.random.default_rng(0)
    flipped = rng.choice(len(y), 25, replace=False)
    y[flipped] = (y[flipped] + rng.integers(1, 10, len(flipped))) % 10
    model = make_pipeline(
        ImageResizer(8, color="gray"), GrayscaleNormalizer(), small_mlp(max_iter=40)
    )
    proba = cross_val_predict(model, files, y, cv=3, method="predict_proba")
    issues = find_label_issues(y, proba, return_indices_ranked_by="self_confidence")
    found = np.isin(flipped, issues).mean()
    precision = np.isin(issues, flipped).mean()
    assert found >= 0.7  # most flipped labels are flagged,
    # and a flag is far likelier a flipped label than a random image (5%).
    assert precision > 5 * len(flipped) / len(y)


def test_successive_halving_over_epochs(digits):
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    X_train, _, X_test, y_train, _, y_test = digits
    search = HalvingGridSearchCV(
        small_mlp(),
        {"learning_rate_init": [0.03, 0.01, 0.001, 0.0001]},
        resource="max_iter",
        min_resources=5,
        max_resources=20,
        factor=2,
        cv=2,
        random_state=0,
    ).fit(X_train, y_train)
    # Four candidates for 5 epochs, two for 10, one for 20: each round
    # trains the survivors longer.
    assert search.n_candidates_ == [4, 2, 1]
    assert search.n_resources_ == [5, 10, 20]
    assert search.best_estimator_.max_iter == 20
    assert search.best_params_["learning_rate_init"] in (0.03, 0.01)
    assert search.score(X_test, y_test) > 0.8


def test_optuna_prunes_trials_epoch_by_epoch(digits):
    optuna = pytest.importorskip("optuna")

    X_train, X_val, _, y_train, y_val, _ = digits

    def objective(trial):
        clf = small_mlp().set_params(
            learning_rate_init=trial.suggest_float("lr", 1e-5, 3e-2, log=True)
        )
        for epoch in range(6):
            clf.partial_fit(X_train, y_train, classes=np.arange(10))
            score = clf.score(X_val, y_val)
            trial.report(score, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )
    study.optimize(objective, n_trials=6)
    states = [t.state for t in study.trials]
    # Trials that trail the median after two epochs stop there.
    assert optuna.trial.TrialState.PRUNED in states
    assert study.best_value > 0.8
