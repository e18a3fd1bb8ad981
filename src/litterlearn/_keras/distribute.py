"""The ``distribute`` parameter: training on several devices with tf.distribute.

The base builds and compiles every new model inside ``strategy.scope()`` of
the strategy resolved here; Keras then trains and predicts with the strategy
the model was built under (``model.distribute_strategy``). TensorFlow is
imported inside the functions only.
"""

from __future__ import annotations

import threading

from . import import_tensorflow

_LOCK = threading.Lock()
_MIRRORED = {}  # device names -> the process's MirroredStrategy over them


def _is_strategy(value):
    """Whether ``value`` is a ``tf.distribute.Strategy`` (without importing TF)."""
    return any(
        cls.__name__ in {"Strategy", "StrategyBase"}
        and cls.__module__.startswith("tensorflow.")
        for cls in type(value).__mro__
    )


def resolve_strategy(distribute):
    """The ``tf.distribute.Strategy`` that ``distribute`` asks for, or None.

    None means TensorFlow's default strategy: one device, the first GPU if
    there is one, else the CPU.

    - None: None.
    - "auto": a ``MirroredStrategy`` over all visible GPUs when there are at
      least two, else None.
    - a list or tuple of device names: a ``MirroredStrategy`` over them.
    - a ``tf.distribute.Strategy``: itself (None for the default strategy).

    One ``MirroredStrategy`` is made per process and set of devices, and
    reused.
    """
    if distribute is None:
        return None
    tf = import_tensorflow()

    if _is_strategy(distribute):
        return None if distribute is tf.distribute.get_strategy() else distribute
    if isinstance(distribute, str):  # "auto" (the parameter constraints say so)
        gpus = [device.name for device in tf.config.list_logical_devices("GPU")]
        if len(gpus) < 2:
            return None
        devices = tuple(gpus)
    else:
        devices = tuple(distribute)
        if not devices or not all(isinstance(d, str) for d in devices):
            raise ValueError(
                f"distribute must be None, 'auto', a tf.distribute.Strategy or a "
                f"non-empty list of device names such as ['/gpu:0', '/gpu:1']; "
                f"got {distribute!r}."
            )
    with _LOCK:
        strategy = _MIRRORED.get(devices)
        if strategy is None:
            strategy = _new_mirrored_strategy(tf, devices)
            _MIRRORED[devices] = strategy
    return strategy


def _new_mirrored_strategy(tf, devices):
    available = [device.name for device in tf.config.list_logical_devices()]
    try:
        strategy = tf.distribute.MirroredStrategy(list(devices))
    except (AssertionError, ValueError) as exc:  # duplicates, malformed names
        raise ValueError(
            f"distribute={list(devices)!r} is not a valid set of devices: {exc} "
            f"The devices of this process are {available}."
        ) from exc

    def kind_and_index(name):
        spec = tf.DeviceSpec.from_string(name)
        return (spec.device_type or "").upper(), spec.device_index or 0

    have = {kind_and_index(name) for name in available}
    missing = [
        d for d in strategy.extended.worker_devices if kind_and_index(d) not in have
    ]
    if missing:
        raise ValueError(
            f"distribute={list(devices)!r} names devices this process does not "
            f"have: {missing}. Its devices are {available}; distribute='auto' "
            f"uses all GPUs when there are several."
        )
    return strategy


def strategy_key(strategy):
    """What identifies ``strategy`` for the reuse of built models.

    Two strategies of the same class over the same devices build
    interchangeable models: Keras trains each with the strategy it was built
    under.
    """
    if strategy is None:
        return None
    try:
        devices = tuple(strategy.extended.worker_devices)
    except (AttributeError, NotImplementedError, RuntimeError):
        devices = ("id", id(strategy))  # unknown devices: this object only
    return (type(strategy).__qualname__, devices, int(strategy.num_replicas_in_sync))
