"""Seeded (re)initialisation of a model's state, and what a fit can undo.

- :func:`_initialize_weights`: every weight from its layer's initializer,
  re-seeded, except pretrained ones;
- :func:`_reseed_generators`: the seed generators (dropout...);
- :func:`_optimizer_fill` / :func:`_reset_optimizer`: an optimizer's state
  back to its freshly built values;
- :func:`_model_state`: what litterlearn knows about a built model (how it
  was last compiled, its pretrained weights as built), kept beside the model
  without holding it alive;
- :func:`_snapshot` / :func:`_restore`: every variable of a model and its
  optimizer, so a warm-started fit that fails can put them back.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from ._keras import _import_keras, _leaf_layers


class _ModelState:
    """litterlearn's notes on one built model."""

    __slots__ = ("compile_key", "optimizer_fill", "pretrained")

    def __init__(self):
        self.compile_key = None  # what it was last compiled with (see _compile)
        self.optimizer_fill = None  # the optimizer's initial values, or None
        self.pretrained = None  # [(variable, value as built)] of pretrained layers


_STATES = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def _model_state(model):
    with _STATES_LOCK:
        state = _STATES.get(model)
        if state is None:
            state = _STATES[model] = _ModelState()
        return state


def _weights_of_layers(model, names):
    """The weights of the layers of ``model`` named in ``names`` (any depth)."""
    found, seen = [], set()

    def visit(layer):
        if layer.name in names:
            for weight in layer.weights:
                if id(weight) not in seen:
                    seen.add(id(weight))
                    found.append(weight)
            return
        for sub in getattr(layer, "layers", None) or []:
            visit(sub)

    for layer in model.layers:
        visit(layer)
    return found


def _record_pretrained(model, names):
    """Keep the values of the pretrained layers ``names`` as built."""
    weights = _weights_of_layers(model, set(names))
    _model_state(model).pretrained = [(w, np.asarray(w).copy()) for w in weights]


def _restore_pretrained(model):
    for weight, value in _model_state(model).pretrained or ():
        weight.assign(value)


def _initialize_weights(model, seed, skip=()):
    """Initialise every weight of ``model`` from its layer's initializer.

    Each random initializer is re-seeded from ``seed``, so a new model and a
    reused one get identical weights. Weights whose ``id`` is in ``skip``
    (pretrained ones) are left alone. Returns False when a weight has no known
    initializer (the model then cannot be reset exactly, nor reused).
    """
    keras = _import_keras()
    skip = set(skip)
    plan = []
    for layer in _leaf_layers(model):
        for weight in layer.weights:
            if id(weight) in skip:
                continue
            initializer = getattr(layer, f"{weight.name}_initializer", None)
            if initializer is None:
                return False
            plan.append((weight, initializer))
    seeds = np.random.SeedSequence(seed).spawn(len(plan))
    for (weight, initializer), child in zip(plan, seeds, strict=True):
        config = keras.initializers.serialize(initializer)
        if "seed" in config.get("config", {}):
            config["config"]["seed"] = int(child.generate_state(1)[0] >> 1)
        value = keras.initializers.deserialize(config)(weight.shape, dtype=weight.dtype)
        weight.assign(value)
    return True


def _reseed_generators(model, seed):
    """Reset the state of every seed generator (dropout...) from ``seed``."""
    seeds = np.random.SeedSequence(seed)
    for layer in _leaf_layers(model):
        weight_ids = {id(w) for w in layer.weights}
        for variable in layer.variables:
            if id(variable) in weight_ids:
                continue
            child = int(seeds.spawn(1)[0].generate_state(1)[0] >> 1)
            variable.assign(np.array([child, 0], dtype=variable.dtype))


def _optimizer_fill(optimizer):
    """The constant initial value of each optimizer variable, or None.

    A freshly built optimizer's variables (iterations, learning rate,
    moments, loss scale...) are each filled with one value; recording those
    lets a reused model's optimizer be reset exactly.
    """
    fill = []
    for variable in optimizer.variables:
        value = np.asarray(variable)
        if value.size == 0:
            fill.append(0)
            continue
        first = value.flat[0]
        if not np.all(value == first):
            return None
        fill.append(first.item())
    return fill


def _reset_optimizer(optimizer, fill):
    """Put ``optimizer``'s state back to ``fill``; False if it cannot."""
    if optimizer is None or fill is None:
        return False
    variables = optimizer.variables
    if len(variables) != len(fill):
        return False
    for variable, value in zip(variables, fill, strict=True):
        variable.assign(np.full(variable.shape, value, dtype=variable.dtype))
    return True


def _snapshot(model):
    """Every variable of ``model`` and of its optimizer, with its value."""
    variables = list(model.variables)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    return [(v, np.asarray(v).copy()) for v in variables]


def _restore(snapshot):
    for variable, value in snapshot:
        variable.assign(value)
