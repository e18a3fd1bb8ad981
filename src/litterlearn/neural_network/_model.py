"""The model of a fit: its key, how it is built, got and reset.

A fit trains the estimator's own model (warm start), a built model of the same
architecture claimed from the pool (``litterlearn._keras.pool``), re-initialised
exactly as a new one, or a new model. Building one is always: the estimator's
input stage, its body (``_build_model``), then the output the fit's target
needs (a ``Dense`` "output" and the target's activation,
"output_activation", in float32).
"""

from __future__ import annotations

import contextlib
import re
import warnings

import numpy as np

from .._keras import import_keras
from .._keras.distribute import resolve_strategy, strategy_key
from .._keras.pool import MODEL_POOL
from .._keras.serialization import load_model_bytes, save_model_bytes
from .._keras.state import model_state
from .._keras.weights import (
    _generator_states,
    _initialize_weights,
    _record_pretrained,
    _reseed_generators,
    _reset_optimizer,
    _restore,
    _restore_pretrained,
    _snapshot,
    _weights_of_layers,
)
from ._train import compiled_state, optimizer_key


def model_key(est, image_shape, input_dtype, target, resources):
    """What identifies the architecture and optimizer of a fit's model."""
    params = est.get_params(deep=False)
    arch = {k: v for k, v in params.items() if k not in est._training_params}
    arch["optimizer"] = optimizer_key(arch["optimizer"])
    return (
        type(est).__module__,
        type(est).__qualname__,
        tuple(int(s) for s in image_shape),
        np.dtype(input_dtype).str,
        target.key,
        repr(sorted(arch.items())),
        strategy_key(resolve_strategy(params.get("distribute"))),
        est._extra_model_key(resources),
    )


def model_for_fit(est, data):
    """The model to train, its pool entry (or None), and how to undo.

    The undo function puts things back when training fails: a warm-started
    model gets its variables back (its optimizer's too), a claimed model goes
    back to the pool (free, since the estimator does not hold it).
    """
    if data.warm:
        model = est.model_
        snapshot = _snapshot(model)
        put_back_compile = compiled_state(model, est._target_)

        def undo():
            put_back_compile()
            _restore(snapshot)

        return model, None, undo
    entry = MODEL_POOL.claim(data.key, est)
    if entry is not None:
        if reset_model(est, entry.model, data.seeds):
            return entry.model, entry, lambda: MODEL_POOL.release(entry)
        MODEL_POOL.discard(entry)
    model, reusable = new_model(est, data)
    entry = MODEL_POOL.add(data.key, model, est) if reusable else None
    if entry is None:
        return model, None, lambda: None
    return model, entry, lambda: MODEL_POOL.release(entry)


def new_model(est, data):
    """A new model (built under the strategy's scope), initialised.

    Returns it and whether it can be reset exactly, hence reused.
    """
    # The one place a model is made: under the ``distribute`` strategy's
    # scope, so its weights live on the strategy's devices; Keras then trains
    # and predicts with the strategy the model was built under.
    strategy = resolve_strategy(est.distribute)
    scope = contextlib.nullcontext() if strategy is None else strategy.scope()
    with scope:
        model = build_model(est, data)
    _record_pretrained(model, est._pretrained_layers(model))
    reason = initialize_weights(est, model, data.seeds.weights)
    _reseed_generators(model, data.seeds.generators)
    if reason is not None:
        warnings.warn(
            f"{type(est).__name__}: {reason}; the model is not reproducible "
            f"under random_state, and later fits do not reuse it.",
            UserWarning,
            stacklevel=5,
        )
    return model, reason is None


def reset_model(est, model, seeds):
    """Re-initialise a reused model as a new build would (False: cannot)."""
    state = model_state(model)
    _restore_pretrained(model)
    if initialize_weights(est, model, seeds.weights) is not None:
        return False
    _reseed_generators(model, seeds.generators)
    if not _reset_optimizer(getattr(model, "optimizer", None), state.optimizer_fill):
        state.compile_key = None  # the next compile builds a new optimizer
    return True


def initialize_weights(est, model, seed):
    """Initialise the weights of ``model`` but the pretrained ones from ``seed``.

    Returns None, or the reason a weight cannot be seeded.
    """
    pretrained = est._pretrained_layers(model)
    skip = set()
    if pretrained:
        skip = {id(w) for w in _weights_of_layers(model, set(pretrained))}
    return _initialize_weights(model, seed, skip)


def build_model(est, data):
    """Build a new, uncompiled model: input stage, body, then the output."""
    keras = import_keras()
    name = type(est).__name__
    image_shape, input_dtype = data.image_shape, data.input_dtype
    input_stage = est._input_stage(tuple(image_shape), input_dtype)
    shape = (None, *image_shape)
    for layer in input_stage:
        shape = tuple(layer.compute_output_shape(shape))
    body = est._build_model(tuple(shape[1:]), **data.resources)
    output = output_layers(est, data.target)
    inputs = keras.Input(shape=tuple(image_shape), dtype=np.dtype(input_dtype).name)
    try:
        if isinstance(body, (list, tuple)):
            model = _sequential(keras, est, inputs, [*input_stage, *body, *output])
        else:
            x = inputs
            for layer in [*input_stage, body, *output]:
                x = layer(x)
            model = keras.Model(inputs, x, name=name)
    except ValueError as exc:
        # Keras' messages carry terminal colour codes.
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
        raise ValueError(
            f"{name} cannot build its network for images of shape "
            f"{tuple(image_shape)}: {message}"
        ) from exc
    except Exception as exc:
        # TensorFlow's out-of-memory error while allocating the weights.
        if type(exc).__name__ != "ResourceExhaustedError":
            raise
        names = ("hidden_layer_sizes", "filters", "input_size")
        sizes = ", ".join(f"{n}={getattr(est, n)!r}" for n in names if hasattr(est, n))
        raise MemoryError(
            f"{name}'s network for images of shape {tuple(image_shape)} does not "
            f"fit in memory: its weights could not be allocated. Choose smaller "
            f"layers ({sizes}) or smaller images."
        ) from exc
    _check_output_shapes(model, image_shape, name)
    return model


def output_layers(est, target):
    """The output the base adds after the body: Dense, then activation."""
    keras = import_keras()
    dense = keras.layers.Dense(
        target.n_outputs, kernel_regularizer=est._regularizer(), name="output"
    )
    if est.precision != "float32":
        dense.dtype_policy = keras.DTypePolicy(est.precision)
    activation = keras.layers.Activation(
        target.activation, name="output_activation", dtype="float32"
    )
    return [dense, activation]


def _sequential(keras, est, inputs, layers):
    if est.precision != "float32":
        policy = keras.DTypePolicy(est.precision)
        for layer in layers[:-1]:  # the output activation stays float32
            layer.dtype_policy = policy
    model = keras.Sequential(name=type(est).__name__)
    model.add(inputs)
    for layer in layers:
        model.add(layer)
    return model


def _check_output_shapes(model, image_shape, name):
    for layer in model.layers:
        shape = layer.output.shape
        if any(s is not None and s <= 0 for s in shape[1:]):
            raise ValueError(
                f"{name} cannot build its network for images of shape "
                f"{tuple(image_shape)}: the output of layer {layer.name!r} "
                f"would have shape {tuple(shape[1:])}. Use larger images, a "
                f"smaller kernel_size or pool_size, fewer convolutions, or "
                f'padding="same".'
            )


# --------------------------------------------------------------- pickling

_PICKLED = ("_model_keras_bytes", "_model_compile_key", "_model_generators")


def pickled_model(model, custom_objects):
    """The entries of an estimator's pickled state that carry its model.

    The model as ``.keras`` bytes (refused, with what to do, when Keras' safe
    loading could not load it back), its compile key and the states of its
    random generators.
    """
    return {
        "_model_keras_bytes": save_model_bytes(model, custom_objects),
        "_model_compile_key": model_state(model).compile_key,
        "_model_generators": _generator_states(model),
    }


def pop_pickled_model(state):
    """Remove :func:`pickled_model`'s entries from ``state``; them, or None."""
    entries = [state.pop(key, None) for key in _PICKLED]
    return None if entries[0] is None else entries


def unpickled_model(pickled, custom_objects):
    """The model of :func:`pop_pickled_model`'s entries."""
    data, compile_key, generators = pickled
    model = load_model_bytes(data, custom_objects)
    if generators is not None:  # dropout goes on where it was
        _generator_states(model, generators)
    if getattr(model, "optimizer", None) is not None:
        # Compiled as it was saved: a warm start goes on with its optimizer's
        # state unless a knob changed.
        model_state(model).compile_key = compile_key
    return model
