"""Seeded (re)initialisation of a model's state, and what a fit can undo.

- :func:`_initialize_weights`: every weight from its layer's initializer,
  re-seeded, except pretrained ones;
- :func:`_reseed_generators`: the seed generators (dropout...);
  :func:`_generator_states` reads their states, which Keras' saving format
  leaves out, so that a pickled model's dropout goes on where it was;
- :func:`_optimizer_fill` / :func:`_reset_optimizer`: an optimizer's state
  back to its freshly built values;
- :func:`_snapshot` / :func:`_restore`: every variable of a model and its
  optimizers, so a warm-started or partial fit that fails can put them back.
"""

from __future__ import annotations

import numpy as np

from . import import_keras, leaf_layers, sublayers
from .state import model_state


def _weights_of_layers(model, names):
    """The weights of the layers of ``model`` named in ``names`` (any depth)."""
    found = {}
    for layer in sublayers(model):
        if layer.name in names:
            found.update((id(weight), weight) for weight in layer.weights)
    return list(found.values())


def _record_pretrained(model, names):
    """Keep the values of the pretrained layers ``names`` as built."""
    weights = _weights_of_layers(model, set(names))
    model_state(model).pretrained = [(w, np.asarray(w).copy()) for w in weights]


def _restore_pretrained(model):
    for weight, value in model_state(model).pretrained or ():
        weight.assign(value)


# How the seeded initialiser finds the initializer of a weight: the name of
# the weight (as Keras names it) -> the attribute of its layer that holds the
# initializer. Listed, not guessed from the name: some layers break the
# ``<weight>_initializer`` pattern.
_INITIALIZER_ATTRIBUTES = {
    "kernel": "kernel_initializer",
    "bias": "bias_initializer",
    "depthwise_kernel": "depthwise_initializer",  # SeparableConv
    "pointwise_kernel": "pointwise_initializer",  # SeparableConv
    "gamma": "gamma_initializer",  # BatchNormalization, LayerNormalization
    "beta": "beta_initializer",
    "moving_mean": "moving_mean_initializer",
    "moving_variance": "moving_variance_initializer",
    "embeddings": "embeddings_initializer",
}
# Layers whose weights follow another rule, by layer class name in Keras:
# a weight -> the attribute holding its initializer, or None for statistics
# that are constants of the layer (set when it is built or adapted, never
# changed by training), which the initialiser leaves as they are.
_LAYER_INITIALIZER_ATTRIBUTES = {
    # DepthwiseConv names its kernel "kernel" but keeps depthwise_initializer.
    "DepthwiseConv1D": {"kernel": "depthwise_initializer"},
    "DepthwiseConv2D": {"kernel": "depthwise_initializer"},
    "Normalization": {"mean": None, "variance": None, "count": None},
    # ConvNeXt's layer scale (one weight, numbered by Keras) starts at the
    # constant ``init_values``; "*" is any weight of the layer.
    "LayerScale": {"*": "init_values"},
}


def _initializer_plan(model, skip):
    """``[(weight, initializer)]`` for the weights of ``model`` not in ``skip``.

    Returns ``(plan, None)``, or ``(None, reason)`` naming the first weight
    whose initializer is not known (see ``_INITIALIZER_ATTRIBUTES``).
    """
    plan = []
    for layer in leaf_layers(model):
        special = {}
        for cls in type(layer).__mro__:
            special = _LAYER_INITIALIZER_ATTRIBUTES.get(cls.__name__, special)
            if special:
                break
        for weight in layer.weights:
            if id(weight) in skip:
                continue
            if weight.name in special or "*" in special:
                attribute = special.get(weight.name, special.get("*"))
                if attribute is None:
                    continue  # a constant of the layer
            else:
                attribute = _INITIALIZER_ATTRIBUTES.get(weight.name)
            initializer = getattr(layer, attribute, None) if attribute else None
            if isinstance(initializer, (int, float)):  # a constant start
                initializer = import_keras().initializers.Constant(initializer)
            if initializer is None:
                return None, (
                    f"the weight {weight.name!r} of layer {layer.name!r} "
                    f"({type(layer).__name__}) has no initializer litterlearn "
                    f"knows, so it cannot be seeded from random_state"
                )
            plan.append((weight, initializer))
    return plan, None


def _initialize_weights(model, seed, skip=()):
    """Initialise every weight of ``model`` from its layer's initializer.

    Each random initializer is re-seeded from ``seed``, so a new model and a
    reused one get identical weights. Weights whose ``id`` is in ``skip``
    (pretrained ones) and layer constants (a ``Normalization``'s statistics)
    are left alone. Returns None, or (touching nothing) the reason a weight
    cannot be seeded: the model is then neither reproducible nor reusable.
    """
    keras = import_keras()
    plan, reason = _initializer_plan(model, set(skip))
    if reason is not None:
        return reason
    seeds = np.random.SeedSequence(seed).spawn(len(plan))
    for (weight, initializer), child in zip(plan, seeds, strict=True):
        config = keras.initializers.serialize(initializer)
        if "seed" in config.get("config", {}):
            config["config"]["seed"] = int(child.generate_state(1)[0] >> 1)
        value = keras.initializers.deserialize(config)(weight.shape, dtype=weight.dtype)
        weight.assign(value)
    return None


def _reseed_generators(model, seed):
    """Reset the state of every seed generator (dropout...) from ``seed``.

    A seed generator's state is the variable Keras names
    ``seed_generator_state``; other variables that are not weights are left
    alone.
    """
    seeds = np.random.SeedSequence(seed)
    for variable in _generators(model):
        child = int(seeds.spawn(1)[0].generate_state(1)[0] >> 1)
        variable.assign(np.array([child, 0], dtype=variable.dtype))


def _generators(model):
    """The state variables of the seed generators of ``model``, in order."""
    for layer in leaf_layers(model):
        weight_ids = {id(w) for w in layer.weights}
        for variable in layer.variables:
            if (
                id(variable) not in weight_ids
                and variable.name == "seed_generator_state"
            ):
                yield variable


def _generator_states(model, states=None):
    """The seed generators' states of ``model``; or set them to ``states``."""
    if states is None:
        return [np.asarray(v).copy() for v in _generators(model)]
    for variable, value in zip(_generators(model), states, strict=True):
        variable.assign(value)
    return states


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
    """Every variable of ``model`` and of its optimizers, with its value.

    Its optimizers: its own, and its head model's (which trains the head on
    features computed once, and shares the head's layers with ``model``).
    """
    variables = list(model.variables)
    head = model_state(model).head_split
    for owner in (model, head[1] if head is not None else None):
        if getattr(owner, "optimizer", None) is not None:
            variables += list(owner.optimizer.variables)
    return [(v, np.asarray(v).copy()) for v in variables]


def _restore(snapshot):
    for variable, value in snapshot:
        variable.assign(value)
