"""Learning-rate schedules and the weight-decay check (neural_network._schedules)."""

import math
import pickle
import subprocess
import sys

import numpy as np
import pytest

from litterlearn.neural_network._schedules import (
    SCHEDULES,
    check_schedule,
    check_weight_decay,
    make_schedule,
    schedule_classes,
)


def _rates(schedule, steps):
    return np.array([float(schedule(step)) for step in steps])


def _cosine(base, total, s):
    s = min(max(s, 0), total)
    return base * 0.5 * (1 + math.cos(math.pi * s / total))


def _one_cycle(base, total, fraction, s):
    s = min(max(s, 0), total)
    warmup = fraction * total
    low, final = base / 25, base / 1e4
    if s < warmup:
        return low + (base - low) * s / warmup
    p = (s - warmup) / (total - warmup)
    return final + (base - final) * 0.5 * (1 + math.cos(math.pi * p))


def test_constant_is_the_base_rate_itself():
    assert make_schedule("constant", 0.01, 100) == 0.01
    assert isinstance(make_schedule("constant", 1, 100), float)


def test_cosine_reaches_its_documented_rates():
    base, total = 0.1, 40
    schedule = make_schedule("cosine", base, total)
    steps = [0, 10, 20, 39, 40, 55]
    got = _rates(schedule, steps)
    np.testing.assert_allclose(got[[0, 2, 4]], [base, base / 2, 0.0], atol=1e-8)
    np.testing.assert_allclose(
        got, [_cosine(base, total, s) for s in steps], rtol=1e-6, atol=1e-8
    )
    assert got[5] == got[4]  # holds its final rate after the phase


@pytest.mark.parametrize("fraction", [0.3, 0.2, 0.0])
def test_one_cycle_reaches_its_documented_rates(fraction):
    base, total = 0.02, 100
    schedule = make_schedule("one_cycle", base, total, warmup_fraction=fraction)
    warmup = round(fraction * total)
    middle = (warmup + total) // 2  # the middle of the annealing
    steps = [0, warmup // 2, warmup, middle, total - 1, total, total + 10]
    got = _rates(schedule, steps)
    expected = [_one_cycle(base, total, fraction, s) for s in steps]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)
    start = base if fraction == 0 else base / 25
    np.testing.assert_allclose(got[0], start, rtol=1e-6)
    np.testing.assert_allclose(got[2], base, rtol=1e-6)  # the peak, end of warm-up
    np.testing.assert_allclose(got[3], (base + base / 1e4) / 2, rtol=1e-5)
    np.testing.assert_allclose(got[5:], base / 1e4, rtol=1e-5)
    assert np.all(np.diff(got[2:6]) < 0)  # annealing all the way down


def test_start_step_shifts_the_schedule():
    plain = make_schedule("cosine", 0.1, 20)
    shifted = make_schedule("cosine", 0.1, 20, start_step=30)
    np.testing.assert_allclose(
        _rates(shifted, [30, 40, 50]), _rates(plain, [0, 10, 20])
    )
    np.testing.assert_allclose(_rates(shifted, [0, 29]), 0.1)  # before it starts


def test_a_keras_schedule_is_returned_as_is():
    import keras

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert make_schedule(schedule, 0.5, 100) is schedule
    assert check_schedule(schedule) is schedule


@pytest.mark.parametrize("value", ["linear", "Cosine", None, 0.1, object()])
def test_check_schedule_names_the_valid_options(value):
    with pytest.raises(ValueError, match="learning_rate_schedule must be one of") as e:
        check_schedule(value)
    for name in SCHEDULES:
        assert repr(name) in str(e.value)
    assert "LearningRateSchedule" in str(e.value)
    with pytest.raises(ValueError, match="must be one of"):
        make_schedule(value, 0.1, 10)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"base_rate": 0.0}, "base_rate"),
        ({"base_rate": float("nan")}, "base_rate"),
        ({"total_steps": 0}, "total_steps"),
        ({"total_steps": 2.5}, "total_steps"),
        ({"warmup_fraction": 1.0}, "warmup_fraction"),
        ({"warmup_fraction": -0.1}, "warmup_fraction"),
        ({"start_step": -1}, "start_step"),
    ],
)
def test_bad_schedule_arguments_are_named(kwargs, match):
    args = {"base_rate": 0.1, "total_steps": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_schedule("one_cycle", **args)


def test_check_schedule_of_a_name_does_not_import_keras():
    code = (
        "import sys\n"
        "from litterlearn.neural_network._schedules import check_schedule\n"
        "check_schedule('cosine')\n"
        "assert 'keras' not in sys.modules, 'keras imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("kind", ["cosine", "one_cycle"])
def test_schedules_serialize_round_trip(kind):
    import keras

    schedule = make_schedule(kind, 0.05, 30, warmup_fraction=0.2, start_step=3)
    config = keras.optimizers.schedules.serialize(schedule)
    assert config["registered_name"].startswith("litterlearn>")
    again = keras.optimizers.schedules.deserialize(config)
    assert type(again) is type(schedule)
    assert again.get_config() == schedule.get_config()
    steps = [0, 3, 9, 20, 33, 40]
    np.testing.assert_allclose(_rates(again, steps), _rates(schedule, steps))
    again = pickle.loads(pickle.dumps(schedule))
    assert again.get_config() == schedule.get_config()


def test_a_model_trained_with_a_schedule_saves_and_loads_in_a_fresh_process(
    tmp_path,
):
    # The estimators pickle their model as Keras-format bytes
    # (_serialization); a fresh process has not defined the schedule classes.
    import keras

    from litterlearn.neural_network import MLPImageClassifier
    from litterlearn.neural_network._serialization import _save_model_bytes

    rng = np.random.default_rng(0)
    X = rng.random((24, 16), dtype=np.float32)
    y = np.arange(24) % 2
    schedule = make_schedule("one_cycle", 0.05, 6)
    clf = MLPImageClassifier(
        hidden_layer_sizes=(4,),
        max_iter=2,
        batch_size=8,
        optimizer=keras.optimizers.SGD(learning_rate=schedule),
        random_state=0,
    ).fit(X, y)
    (tmp_path / "model.keras").write_bytes(_save_model_bytes(clf.model_))
    X = X.reshape(24, 4, 4, 1)  # the model takes images
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "proba.npy", clf.model_.predict(X, verbose=0))
    code = f"""
import pathlib
import numpy as np
from litterlearn.neural_network._serialization import _load_model_bytes
model = _load_model_bytes(pathlib.Path({str(tmp_path / "model.keras")!r}).read_bytes())
X = np.load({str(tmp_path / "X.npy")!r})
proba = np.load({str(tmp_path / "proba.npy")!r})
np.testing.assert_allclose(model.predict(X, verbose=0), proba, atol=1e-6)
import keras
rate = keras.optimizers.serialize(model.optimizer)["config"]["learning_rate"]
assert rate["registered_name"] == "litterlearn>OneCycle", rate
assert rate["config"] == CONFIG, rate
assert int(model.optimizer.iterations) == 6
# Training goes on along the schedule.
np.testing.assert_allclose(float(model.optimizer.learning_rate), RATE, rtol=1e-6)
"""
    code = code.replace("CONFIG", repr(schedule.get_config()))
    code = code.replace("RATE", repr(float(schedule(6))))
    subprocess.run([sys.executable, "-c", code], check=True)


def test_schedule_classes_are_defined_once():
    assert schedule_classes() is schedule_classes()
    names = [cls.__name__ for cls in schedule_classes()]
    assert names == ["CosineAnnealing", "OneCycle"]


# ------------------------------------------------------------ weight decay


@pytest.mark.parametrize("name", ["adam", "sgd", "adamw", "rmsprop"])
def test_weight_decay_for_optimizer_names(name):
    assert check_weight_decay(name, 0.01) == {"weight_decay": 0.01}
    assert check_weight_decay(name, 0) == {}
    assert check_weight_decay(name, None) == {}


def test_the_returned_decay_is_decoupled_from_the_gradient():
    import keras

    kwargs = check_weight_decay("sgd", 0.5)
    optimizer = keras.optimizers.get(
        {"class_name": "sgd", "config": {"learning_rate": 0.1, **kwargs}}
    )
    w = keras.Variable(np.full(3, 2.0, np.float32))
    optimizer.apply_gradients([(keras.ops.zeros(3), w)])
    # No gradient, yet the weight shrinks by learning_rate * weight_decay.
    np.testing.assert_allclose(np.asarray(w), 2.0 * (1 - 0.1 * 0.5), rtol=1e-6)


def test_weight_decay_for_optimizer_instances():
    import keras

    adamw = keras.optimizers.AdamW(learning_rate=1e-3)
    assert check_weight_decay(adamw, 0.05) == {"weight_decay": 0.05}
    wrapped = keras.optimizers.LossScaleOptimizer(keras.optimizers.AdamW())
    assert check_weight_decay(wrapped, 0.05) == {"weight_decay": 0.05}
    assert check_weight_decay(keras.optimizers.SGD(), 1e-4) == {"weight_decay": 1e-4}


def test_an_optimizer_without_weight_decay_is_named():
    import keras

    class PlainSGD(keras.optimizers.SGD):
        def __init__(self, learning_rate=0.01, name="plain_sgd"):
            super().__init__(learning_rate=learning_rate, name=name)

    class DroppingSGD(keras.optimizers.SGD):
        def __init__(self, learning_rate=0.01, **kwargs):
            kwargs.pop("weight_decay", None)
            super().__init__(learning_rate=learning_rate, **kwargs)

    for cls in (PlainSGD, DroppingSGD):
        with pytest.raises(
            ValueError, match=f"optimizer {cls.__name__} .*weight_decay"
        ):
            check_weight_decay(cls(), 0.01)
        assert check_weight_decay(cls(), 0) == {}  # nothing asked, nothing refused


@pytest.mark.parametrize("value", [-0.1, float("inf"), "0.1", True])
def test_bad_weight_decay_values(value):
    with pytest.raises(ValueError, match="weight_decay must be"):
        check_weight_decay("adam", value)


def test_unknown_optimizer_name():
    with pytest.raises(ValueError, match="Unknown optimizer 'adamx'"):
        check_weight_decay("adamx", 0.1)


def test_schedule_constraints_validate_an_estimator_parameter():
    import keras
    from sklearn.base import BaseEstimator

    from litterlearn.neural_network._schedules import SCHEDULE_CONSTRAINTS
    from litterlearn.utils._sklearn_compat import InvalidParameterError, _fit_context

    class WithSchedule(BaseEstimator):
        _parameter_constraints = {"learning_rate_schedule": SCHEDULE_CONSTRAINTS}

        def __init__(self, learning_rate_schedule="constant"):
            self.learning_rate_schedule = learning_rate_schedule

        @_fit_context(prefer_skip_nested_validation=True)
        def fit(self, X=None, y=None):
            check_schedule(self.learning_rate_schedule)
            return self

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    for value in (*SCHEDULES, schedule):
        WithSchedule(value).fit()
    with pytest.raises(InvalidParameterError, match="'one_cycle'"):
        WithSchedule("linear").fit()
    # An object with the methods of a schedule but not one: check_schedule.
    with pytest.raises(ValueError, match="must be one of"):
        WithSchedule(keras.layers.Dense(2)).fit()
