"""Reuse of built Keras models across fits: the model pool and its switch.

Every newly built Keras model costs memory that Keras never gives back (not
recovered by ``keras.backend.clear_session``; ``benchmarks/bench_memory.py``
measures it), and a new model must trace its training function again. A fit therefore reuses an already built model of
the same architecture when one is free, re-initialising its weights, seed
generators and optimizer state exactly as a new build would: same seed, same
predictions.

A model is *free* when no fit is using it and the estimator that last
trained it is garbage or holds another model as ``model_`` (it was refitted,
or its fit failed). A fit *claims* a free model under the pool's lock, and
the claim lasts until the fit has stored the model as ``model_`` or failed:
fits running at once in threads never get the same model, and two live
fitted estimators never share one.

The pool also keeps the last few feature extractors of
``PretrainedFeatures`` (a backbone and its pooling, fully defined by their
key, so sharing one changes no result), under the same switch.

What it means for you: a Keras model object taken from ``clf.model_`` stays
the estimator's only while ``clf`` holds it. Once ``clf`` is refitted or
deleted, the object may be re-initialised and trained by another fit. Keep the
estimator, save the model (``model.save``), copy it
(``keras.models.clone_model`` and ``set_weights``), or switch reuse off with
:func:`set_model_reuse`.
"""

from __future__ import annotations

import collections
import itertools
import math
import threading
import weakref

__all__ = ["clear_model_pool", "model_pool_info", "set_model_reuse"]


class _PoolEntry:
    __slots__ = ("key", "model", "owner", "claimed", "last_used", "nbytes")

    def __init__(self, key, model, owner, nbytes):
        self.key = key
        self.model = model
        self.owner = weakref.ref(owner)
        self.claimed = True
        self.nbytes = nbytes
        self.last_used = 0

    def is_free(self):
        if self.claimed:
            return False
        owner = self.owner()
        return owner is None or owner.__dict__.get("model_") is not self.model


class _ModelPool:
    """Built models by architecture key, each claimed by one fit at a time.

    At most ``max_free`` free models (and ``max_free_bytes`` of their weights
    and optimizer state) are kept for reuse; the least recently used beyond
    that are dropped, so changing architectures do not pile up models.
    """

    def __init__(self, max_free=8, max_free_bytes=512 * 2**20, max_extractors=4):
        self.max_free = max_free
        self.max_free_bytes = max_free_bytes
        self.max_extractors = max_extractors
        self.enabled = True
        self._entries = []
        self._extractors = collections.OrderedDict()
        self._extractor_lock = threading.Lock()  # building one takes a while
        self._lock = threading.Lock()
        self._clock = itertools.count(1)

    def claim(self, key, owner):
        """Claim a free model of architecture ``key`` for ``owner``'s fit.

        Returns its entry (to :meth:`release` when the fit ends), or None.
        """
        with self._lock:
            if not self.enabled:
                return None
            for entry in self._entries:
                if entry.key == key and entry.is_free():
                    entry.claimed = True
                    entry.owner = weakref.ref(owner)
                    entry.last_used = next(self._clock)
                    return entry
        return None

    def add(self, key, model, owner):
        """Keep a newly built model, claimed by ``owner``'s fit; or None."""
        nbytes = 12 * sum(math.prod(v.shape) for v in model.weights)
        with self._lock:
            if not self.enabled:
                return None
            entry = _PoolEntry(key, model, owner, nbytes)
            entry.last_used = next(self._clock)
            self._entries.append(entry)
            self._prune()
        return entry

    def release(self, entry):
        """End a fit's claim: the model is free unless its owner holds it."""
        with self._lock:
            entry.claimed = False
            self._prune()

    def discard(self, entry):
        with self._lock:
            if entry in self._entries:
                self._entries.remove(entry)

    def _prune(self):
        free = [e for e in self._entries if e.is_free()]
        free.sort(key=lambda e: e.last_used, reverse=True)
        kept, kept_bytes = 0, 0
        for entry in free:
            if (
                kept < self.max_free
                and kept_bytes + entry.nbytes <= self.max_free_bytes
            ):
                kept += 1
                kept_bytes += entry.nbytes
            else:
                self._entries.remove(entry)

    def extractor(self, key, build):
        """The feature extractor of ``key``: kept, or ``build()`` (and kept)."""
        with self._extractor_lock:
            model = self._extractors.pop(key, None)
            if model is None:
                model = build()
            if self.enabled:
                self._extractors[key] = model  # most recently used last
                while len(self._extractors) > self.max_extractors:
                    self._extractors.popitem(last=False)
            return model

    def clear(self):
        with self._lock:
            n = len(self._entries)
            self._entries.clear()
        with self._extractor_lock:
            n += len(self._extractors)
            self._extractors.clear()
        return n

    def info(self):
        with self._lock:
            free = [e for e in self._entries if e.is_free()]
            return {
                "enabled": self.enabled,
                "n_models": len(self._entries),
                "n_free": len(free),
                "free_bytes": sum(e.nbytes for e in free),
            }


MODEL_POOL = _ModelPool()


def set_model_reuse(enabled):
    """Switch the reuse of built Keras models across fits on or off.

    On (the default), a fit reuses a built model of the same architecture
    that no fit is using and no live estimator holds, re-initialised exactly
    as a new one (the same ``random_state`` gives the same predictions), so
    memory stays flat over a search. Off, every fit builds a new model, and
    the models kept for reuse are dropped. The setting is process-wide and
    safe to change while fits run in threads (those already started keep the
    model they have).

    Parameters
    ----------
    enabled : bool
        Whether fits reuse built models.

    Returns
    -------
    previous : bool
        The setting before the call, to restore it later.

    See Also
    --------
    clear_model_pool : Drop the models kept for reuse.
    model_pool_info : What the pool holds now.

    Notes
    -----
    A Keras model object taken from an estimator's ``model_`` belongs to the
    estimator only while the estimator holds it: once the estimator is
    refitted or deleted, a later fit may re-initialise and train that object.
    Keep the estimator, save or copy the model, or switch reuse off.

    Examples
    --------
    >>> from litterlearn.neural_network import set_model_reuse
    >>> previous = set_model_reuse(False)  # every fit builds its own model
    >>> _ = set_model_reuse(previous)
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be True or False; got {enabled!r}.")
    with MODEL_POOL._lock:
        previous = MODEL_POOL.enabled
        MODEL_POOL.enabled = enabled
    if not enabled:
        MODEL_POOL.clear()
    return previous


def clear_model_pool():
    """Forget every built model kept for reuse.

    Models held by fitted estimators stay theirs; the others, and the
    feature extractors kept for ``PretrainedFeatures``, are freed by Python
    once nothing else refers to them (Keras keeps part of the memory
    of every model it built, whatever happens).

    Returns
    -------
    n_models : int
        The number of models the pool held, in use or free, and of feature
        extractors.

    See Also
    --------
    set_model_reuse : Switch the reuse of built models on or off.

    Examples
    --------
    >>> from litterlearn.neural_network import clear_model_pool
    >>> n_dropped = clear_model_pool()
    """
    return MODEL_POOL.clear()


def model_pool_info():
    """What the pool of built models holds now.

    Returns
    -------
    info : dict
        ``"enabled"`` (see :func:`set_model_reuse`), ``"n_models"`` (models
        known to the pool: in use by fits or estimators, or free),
        ``"n_free"`` (models a fit may reuse now) and ``"free_bytes"``
        (an estimate of the memory of their weights and optimizer state).

    See Also
    --------
    set_model_reuse : Switch the reuse of built models on or off.
    clear_model_pool : Drop the models kept for reuse.

    Examples
    --------
    >>> from litterlearn.neural_network import model_pool_info
    >>> sorted(model_pool_info())
    ['enabled', 'free_bytes', 'n_free', 'n_models']
    """
    return MODEL_POOL.info()
