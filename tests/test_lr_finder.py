"""The learning-rate finder: a sweep on a copy that suggests a stable rate."""

import math
import pickle

import numpy as np
import pytest
from conftest import TINY_BACKBONE
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

from litterlearn.neural_network import (
    CNNImageClassifier,
    MLPImageClassifier,
    TransferImageClassifier,
    find_learning_rate,
)
from litterlearn.preprocessing import GrayscaleNormalizer


@pytest.fixture(scope="module")
def digits():
    """640 of sklearn's 8x8 digits, floats in [0, 1]; 10 classes."""
    X, y = load_digits(return_X_y=True)
    return (X[:640] / 16).astype(np.float32), y[:640]


def _mlp(**params):
    params = {
        "hidden_layer_sizes": (32,),
        "optimizer": "sgd",
        "batch_size": 32,
        "random_state": 0,
        **params,
    }
    return MLPImageClassifier(**params)


def _fixed_rate_curve(X, y, rate):
    """The per-epoch training losses of 3 epochs at ``rate`` (None: diverged)."""
    try:
        return _mlp(learning_rate_init=rate, max_iter=3).fit(X, y).loss_curve_
    except ValueError as exc:
        assert "diverged" in str(exc)
        return None


def test_the_suggestion_lies_in_the_stable_region(digits):
    X, y = digits
    result = find_learning_rate(_mlp(), X, y, start=1e-4, end=100, num_steps=100)
    assert result.rule == "minimum / 10"
    # The stable region, measured by fits at fixed rates: from the lowest
    # rate whose loss drops by 10% within 3 epochs to the lowest at which
    # the loss rises above where it started (or the fit diverges).
    rates = [10 ** (k / 2) for k in range(-6, 5)]  # 1e-3 .. 100
    curves = {rate: _fixed_rate_curve(X, y, rate) for rate in rates}
    start = curves[rates[0]][0]  # the first epoch at 1e-3: about untrained
    drops = [r for r in rates if curves[r] is not None and curves[r][-1] < 0.9 * start]
    rises = [r for r in rates if curves[r] is None or max(curves[r]) > start]
    assert drops and rises and min(drops) < min(rises)
    assert min(drops) <= result.suggestion < min(rises), (
        result.suggestion,
        {r: c and [round(v, 3) for v in c] for r, c in curves.items()},
    )
    # The sweep covers the rates it says, exponentially, and found a minimum.
    n = len(result.learning_rates)
    np.testing.assert_allclose(
        result.learning_rates, 1e-4 * (1e6 ** (1 / 99)) ** np.arange(n), rtol=1e-9
    )
    assert result.losses.min() < result.losses[0]
    assert result.stop_reason in {"num_steps", "diverged", "estimator stopped"}


def test_losses_are_the_bias_corrected_moving_average(digits):
    X, y = digits
    result = find_learning_rate(_mlp(), X, y, num_steps=30, smoothing=0.9)
    raw = result.raw_losses
    average, expected = 0.0, []
    for i, loss in enumerate(raw):
        average = 0.9 * average + 0.1 * loss
        expected.append(average / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(result.losses, expected, rtol=1e-12)
    assert result.losses[0] == raw[0]
    # Each batch's own loss, not Keras' running mean over the epoch.
    assert len(raw) == 30 and np.ptp(np.diff(raw)) > 0


def test_a_diverging_sweep_stops_at_the_divergence(digits):
    X, y = digits
    result = find_learning_rate(_mlp(), X, y, start=1e-2, end=1e8, num_steps=100)
    assert result.stop_reason in {"diverged", "estimator stopped"}
    assert len(result.learning_rates) < 100
    assert result.losses[-1] > 4 * result.losses.min() or (
        result.stop_reason == "estimator stopped"
    )
    assert np.isfinite(result.raw_losses).all()


class _PoisonWeights:
    """A real Keras callback that makes the output bias NaN before batch 8."""

    def __new__(cls):
        import keras

        class Poison(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 8:
                    bias = self.model.trainable_weights[-1]
                    bias.assign(np.full(bias.shape, np.nan, np.float32))

        return Poison()


def test_nan_losses_stop_the_sweep_cleanly(digits):
    X, y = digits
    result = find_learning_rate(
        _mlp(callbacks=[_PoisonWeights()]),
        X,
        y,
        start=1e-3,
        end=1e-1,
        num_steps=50,
        diverge_factor=None,
    )
    assert result.stop_reason == "non-finite loss"
    assert len(result.raw_losses) == 8  # batches 0..7; batch 8's loss was NaN
    for values in (result.learning_rates, result.losses, result.raw_losses):
        assert np.isfinite(values).all()
    assert math.isfinite(result.suggestion)


def test_the_estimator_is_left_exactly_as_it_was(digits):
    import keras

    X, y = digits
    callbacks = [keras.callbacks.TerminateOnNaN()]
    unfitted = _mlp(callbacks=callbacks)
    before = unfitted.get_params()
    find_learning_rate(unfitted, X, y, num_steps=20)
    assert unfitted.get_params() == before
    assert unfitted.callbacks is callbacks and len(callbacks) == 1
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(unfitted)

    fitted = _mlp(max_iter=2).fit(X, y)
    params, proba = fitted.get_params(), fitted.predict_proba(X)
    model, history = fitted.model_, dict(fitted.history_)
    weights = [w.copy() for w in model.get_weights()]
    find_learning_rate(fitted, X, y, num_steps=20, random_state=3)
    assert fitted.get_params() == params
    assert fitted.model_ is model and fitted.history_ == history
    for a, b in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fitted.predict_proba(X), proba)


@pytest.mark.parametrize("precision", ["float32", "mixed_float16"])
def test_the_rate_is_set_before_every_batch_and_user_callbacks_run(digits, precision):
    # Under mixed_float16 the optimizer is a LossScaleOptimizer around SGD.
    import keras

    X, y = digits
    seen = []

    class RecordRate(keras.callbacks.Callback):
        def __deepcopy__(self, memo):  # fits train with copies: keep this one
            return self

        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(self.model.optimizer.learning_rate))

    estimator = _mlp(callbacks=[RecordRate()], precision=precision)
    result = find_learning_rate(estimator, X, y, start=1e-4, end=1e-2, num_steps=45)
    assert result.stop_reason == "num_steps"  # 45 batches over 3 epochs of 20
    np.testing.assert_allclose(seen, result.learning_rates, rtol=1e-6)


def test_an_optimizer_with_a_schedule_is_swept_at_constant_rates(digits):
    import keras

    X, y = digits
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    estimator = _mlp(optimizer=optimizer)
    result = find_learning_rate(estimator, X, y, num_steps=20)
    assert len(result.learning_rates) == 20
    assert estimator.optimizer is optimizer
    assert keras.optimizers.serialize(optimizer)["config"]["learning_rate"][
        "class_name"
    ] == ("ExponentialDecay")


def test_a_pipeline_is_swept_at_its_final_step(digits):
    X, y = digits
    images = np.round(X * 255).astype(np.uint8)
    pipe = make_pipeline(
        GrayscaleNormalizer(),
        CNNImageClassifier(filters=(4,), batch_size=32, random_state=0),
    )
    result = find_learning_rate(pipe, images, y, num_steps=25)
    assert len(result.learning_rates) == 25
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(pipe.steps[0][1])


def test_transfer_learning_sweeps_the_head_phase():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (48, 16 * 16 * 3), np.uint8)
    y = np.arange(48) % 2
    clf = TransferImageClassifier(
        backbone=TINY_BACKBONE,
        weights=None,
        input_size=16,
        hidden_layer_sizes=(4,),
        batch_size=16,
        fine_tune_max_iter=3,
        random_state=0,
    )
    result = find_learning_rate(clf, X, y, num_steps=9)
    assert len(result.learning_rates) == 9
    assert clf.fine_tune_max_iter == 3


def test_the_result_pickles(digits):
    X, y = digits
    result = find_learning_rate(_mlp(), X, y, num_steps=10)
    again = pickle.loads(pickle.dumps(result))
    for name in ("learning_rates", "losses", "raw_losses"):
        np.testing.assert_array_equal(getattr(again, name), getattr(result, name))
    assert (again.suggestion, again.rule, again.stop_reason) == (
        result.suggestion,
        result.rule,
        result.stop_reason,
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"start": 0}, "start must be"),
        ({"end": float("inf")}, "end must be"),
        ({"start": 1.0, "end": 0.5}, "end must be greater than start"),
        ({"num_steps": 1}, "num_steps must be an int >= 2"),
        ({"smoothing": 1.0}, "smoothing must be"),
        ({"diverge_factor": 1.0}, "diverge_factor must be"),
    ],
)
def test_bad_arguments_are_named(digits, kwargs, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        find_learning_rate(_mlp(), X, y, **kwargs)


def test_other_estimators_are_refused(digits):
    X, y = digits
    with pytest.raises(TypeError, match="LogisticRegression lacks the parameters"):
        find_learning_rate(LogisticRegression(), X, y)


def test_plot_learning_rate_finder_draws_the_sweep_and_marks_the_suggestion(digits):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from litterlearn.plotting import plot_learning_rate_finder

    X, y = digits
    result = find_learning_rate(_mlp(), X, y, start=1e-3, end=10, num_steps=30)
    try:
        ax = plot_learning_rate_finder(result)
        assert ax.get_xscale() == "log"
        raw, smoothed, marker = ax.get_lines()[0], ax.get_lines()[1], ax.get_lines()[3]
        np.testing.assert_array_equal(raw.get_xdata(), result.learning_rates)
        np.testing.assert_array_equal(raw.get_ydata(), result.raw_losses)
        np.testing.assert_array_equal(smoothed.get_ydata(), result.losses)
        assert marker.get_xdata()[0] == result.suggestion
        vertical = ax.get_lines()[2]
        assert list(vertical.get_xdata()) == [result.suggestion] * 2
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[-1] == f"suggestion {result.suggestion:.2g} (minimum / 10)"
        low, high = ax.get_ylim()
        assert low <= result.losses.min() and high >= result.losses.max()

        fig, given = plt.subplots()
        assert plot_learning_rate_finder(result, ax=given) is given
        with pytest.raises(TypeError, match="takes the result of find_learning_rate"):
            plot_learning_rate_finder({"learning_rates": [1e-3]})
    finally:
        plt.close("all")


# TensorFlow converts a tensor through numpy's old __array__ protocol while
# the sweep blows up; pytest.warns re-raises what it does not match.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_the_suggestion_is_a_rate_the_sweep_tried():
    # On 4 images the smoothed loss is lowest at the first step: a tenth of
    # that rate was never tried, so the first rate is suggested, with why.
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (40, 8, 8), dtype=np.uint8)
    y = np.arange(40) % 2
    clf = MLPImageClassifier(hidden_layer_sizes=(4,), random_state=0)
    result = find_learning_rate(clf, X[:4], y[:4], num_steps=10)
    rates = result.learning_rates
    assert result.rule.startswith("first rate")
    assert result.suggestion == rates[0]
    sgd = MLPImageClassifier(hidden_layer_sizes=(4,), optimizer="sgd", random_state=0)
    with pytest.warns(UserWarning, match="recorded only"):
        result = find_learning_rate(sgd, X, y, start=1e20, end=1e30, num_steps=20)
    assert result.learning_rates.min() <= result.suggestion
