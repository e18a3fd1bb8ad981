"""Opt-in fix of joblib's Dask backend: report a dead worker instead of hanging.

joblib's ``DaskDistributedBackend`` (joblib 1.6) turns the errors that happen
*in* a task into results that joblib re-raises, but an error of the task
itself, such as distributed's ``KilledWorker`` when a worker process died
while running it (out of memory, a segfault in native code, a preempted HPC
job), only sets a future that nothing waits on: the completion callback is
never called, and ``Parallel``, hence ``GridSearchCV(...).fit``, waits
forever. The subclass here calls the callback with the exception, so joblib
aborts the other tasks and raises it.

Nothing happens on import: :func:`fix_joblib_dask_backend` swaps the
subclass in for joblib's "dask" backend when the user calls it (lazily:
distributed is imported only when the "dask" backend is first used, as joblib
itself does). Tasks that succeed, or raise, take joblib's own path.
"""

from __future__ import annotations

import asyncio

_FIXED_CLASSES = {}


def _fixed_backend(base):
    """The subclass of joblib's ``DaskDistributedBackend`` class ``base``."""
    cls = _FIXED_CLASSES.get(base)
    if cls is not None:
        return cls

    class DaskDistributedBackend(base):
        __doc__ = base.__doc__
        _litterlearn_fixed = True

        async def _collect(self):
            if not (hasattr(self, "_results") and hasattr(self, "_callbacks")):
                return await super()._collect()  # a joblib we do not know
            while self._continue:
                async for future, result in self.waiting_futures:
                    cf_future = self._results.pop(future)
                    callback = self._callbacks.pop(future)
                    if future.status == "error":
                        _, exc, _ = result
                        cf_future.set_exception(exc)
                        # joblib's callback re-raises an exception it is given
                        # and registers the task as failed: Parallel aborts.
                        callback(exc)
                    else:
                        cf_future.set_result(result)
                        callback(result)
                await asyncio.sleep(0.01)

    DaskDistributedBackend.__module__ = __name__
    DaskDistributedBackend.__qualname__ = "DaskDistributedBackend"
    _FIXED_CLASSES[base] = DaskDistributedBackend
    return DaskDistributedBackend


def _register_fixed():
    import joblib

    from ._sklearn_compat import joblib_dask_backend_class

    joblib.register_parallel_backend(
        "dask", _fixed_backend(joblib_dask_backend_class())
    )


def fix_joblib_dask_backend():
    """Make joblib's "dask" backend report a dead worker instead of hanging.

    With joblib's Dask backend (``joblib.parallel_backend("dask")``), a
    search whose worker process dies during a task (out of memory, a crash
    in native code, a preempted HPC job) waits forever, up to at least
    joblib 1.6: the task's error reaches no one. After this call, joblib's
    "dask" backend is a subclass that passes that error on, so the search
    raises ``distributed.KilledWorker`` naming the task. Nothing else
    changes. It changes joblib for the whole process, which is why
    litterlearn never calls it by itself. Calling it again does nothing;
    distributed is imported only when the "dask" backend is first used.

    Examples
    --------
    >>> from litterlearn.utils import fix_joblib_dask_backend
    >>> fix_joblib_dask_backend()
    """
    try:
        from joblib import parallel
    except ImportError:  # pragma: no cover - scikit-learn requires joblib
        return
    backends = getattr(parallel, "BACKENDS", {})
    external = getattr(parallel, "EXTERNAL_BACKENDS", None)
    current = backends.get("dask")
    if current is not None:  # the "dask" backend was used already
        if not getattr(current, "_litterlearn_fixed", False):
            _register_fixed()
        return
    if external is None or "dask" not in external:
        return
    original = external["dask"]
    if getattr(original, "_litterlearn_fixed", False):
        return

    def register():
        original()
        _register_fixed()

    register._litterlearn_fixed = True
    external["dask"] = register
