"""One-time TensorFlow configuration of a process: CPU threads, GPU memory.

litterlearn calls :func:`configure_tensorflow` itself, with its defaults, the
first time a process builds a model (``litterlearn._keras.import_keras``),
so every process that trains, a Dask or joblib worker included, is configured
exactly once, before TensorFlow initialises its runtime. TensorFlow is
imported inside the functions, never when this module is imported, and only
through :func:`_import_tensorflow_quietly`, which keeps its C++ start-up lines off
the console.
"""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import re
import sys
import tempfile
import threading

_LOCK = threading.RLock()
_CONFIGURED = False


# TensorFlow's C++ logging (absl) writes lines such as
#   I0000 00:00:1796157673.340157   14595 port.cc:153] oneDNN custom operations ...
# straight to the process's stderr while TensorFlow is imported, before absl
# is initialised; some of them (the oneDNN notice) ignore TF_CPP_MIN_LOG_LEVEL.
_LOG_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+ +\d+ [^\]\s]+\] ")
_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called"
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
# litterlearn's default when the user has not set TF_CPP_MIN_LOG_LEVEL:
# errors only, as TensorFlow's level 2.
DEFAULT_TF_LOG_LEVEL = 2


def _user_log_level():
    value = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return 0  # TensorFlow reads an unparsable level as 0 (log everything)


def filter_start_up_lines(text, level):
    r"""The lines of ``text`` TensorFlow's logging would print at ``level``.

    Log lines (and the lines that continue them) below ``level`` (0 info,
    1 warnings, 2 errors, 3 fatal) are dropped, as is absl's notice that logs
    go to stderr (a warning); every other line is kept.

    Examples
    --------
    >>> text = (
    ...     "WARNING: All log messages before absl::InitializeLog() is called "
    ...     "are written to STDERR\n"
    ...     "I0000 00:00:1.5   9 port.cc:153] oneDNN custom operations are on.\n"
    ...     "To enable them, ...\n"
    ...     "E0000 00:00:1.6   9 cuda.cc:1] no GPU\n"
    ...     "a line of the user's\n"
    ... )
    >>> print(filter_start_up_lines(text, 2), end="")
    E0000 00:00:1.6   9 cuda.cc:1] no GPU
    a line of the user's
    >>> filter_start_up_lines(text, 0) == text
    True
    """
    kept = []
    dropping = False
    for line in text.splitlines(keepends=True):
        if line.startswith(_ABSL_NOTICE):
            if level <= 1:
                kept.append(line)
            dropping = False
            continue
        match = _LOG_LINE.match(line)
        if match:
            dropping = _SEVERITY[match.group(1)] < level
        if not dropping:  # a kept log line, its continuation, or other text
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def _quiet_start_up():
    """Keep TensorFlow's start-up log lines below the log level off stderr.

    The level is ``TF_CPP_MIN_LOG_LEVEL`` when the user set it, else 2
    (errors only). While TensorFlow is imported, file descriptor 2 goes to a
    temporary file; afterwards the lines at or above the level (and anything
    else written meanwhile) are written to stderr. ``TF_CPP_MIN_LOG_LEVEL``
    is set for the import only when the user has not set it, and removed
    again: the environment is left as it was. Numerical settings (oneDNN
    included) are not touched.
    """
    user_level = _user_log_level()
    level = DEFAULT_TF_LOG_LEVEL if user_level is None else user_level
    if level <= 0:
        yield
        return
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()  # what Python buffered goes out before, in order
    try:
        saved_fd = os.dup(2)
    except OSError:  # no stderr to redirect (a daemon): nothing to hide
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        if user_level is None:
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = str(DEFAULT_TF_LOG_LEVEL)
        try:
            yield
        finally:
            if user_level is None:
                os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            kept = filter_start_up_lines(text, level)
            if kept:
                os.write(2, kept.encode("utf-8"))


def _requested_keras_backend():
    """The backend Keras would load if imported now, and where that comes from.

    Read as Keras reads it when first imported: the ``KERAS_BACKEND``
    environment variable when set and not empty, else the ``"backend"`` of
    ``keras.json`` in Keras' home (``$KERAS_HOME``, else ``~/.keras``, or
    ``/tmp/.keras`` when the home folder is not writable), else TensorFlow.
    """
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name, f"the environment variable KERAS_BACKEND={name}"
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    path = os.path.expanduser(os.path.join(home, "keras.json"))
    try:
        with open(path) as file:
            config = json.load(file)
    except (OSError, ValueError):
        return "tensorflow", None
    name = config.get("backend", "tensorflow") if isinstance(config, dict) else None
    if not isinstance(name, str):
        return "tensorflow", None
    return name, f'Keras\' configuration file {path!r} ("backend": {name!r})'


def keras_backend_error(backend=None):
    """litterlearn's error for a Keras that does not (or would not) run on
    TensorFlow, or None when it does.

    ``backend`` is the backend of an imported Keras; None checks, before Keras
    is imported, the backend it would load. Keras' own errors for a backend
    whose package is missing (``No module named 'jax'``) or unknown
    (``Unable to import backend : name``) name neither the variable that
    chose it nor what litterlearn needs, so the choice is read first.
    """
    if backend is None:
        if "keras" in sys.modules and hasattr(sys.modules["keras"], "backend"):
            backend, source = sys.modules["keras"].backend.backend(), None
        else:
            backend, source = _requested_keras_backend()
    else:
        source = None
    if backend == "tensorflow":
        return None
    if source is None:
        source = "the KERAS_BACKEND environment variable or Keras' keras.json"
        runs = f"Keras runs on {backend!r} in this process (chosen by {source})"
    else:
        runs = f"Keras is set to the {backend!r} backend by {source}"
    return RuntimeError(
        f"litterlearn's models need Keras' TensorFlow backend, but {runs}. Set "
        f"KERAS_BACKEND=tensorflow (it overrides keras.json) before Keras is "
        f"first imported in the process."
    )


def _import_tensorflow_quietly():
    """Import and return ``tensorflow`` (and Keras), quietly the first time.

    See :func:`_quiet_start_up` for what is hidden and what is kept.
    """
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    error = keras_backend_error()
    if error is not None:
        raise error
    with _LOCK, _quiet_start_up():
        import keras  # noqa: F401  (it imports TensorFlow's modules it needs)
        import tensorflow as tf
    return tf


def _dask_worker_threads():
    """The number of threads of the Dask worker running this code, or None."""
    if "distributed" not in sys.modules:  # not a Dask worker: don't import it
        return None
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:
        return None
    state = getattr(worker, "state", worker)
    return int(state.nthreads)


def _default_n_threads():
    threads = _dask_worker_threads()
    if threads is not None:
        return threads
    value = os.environ.get("OMP_NUM_THREADS", "")
    try:
        threads = int(value.split(",")[0])
    except ValueError:
        return 0
    return max(threads, 0)


def configure_tensorflow(*, n_threads=None, gpu_memory_growth=True):
    """Configure TensorFlow for this process: CPU threads and GPU memory growth.

    litterlearn calls this itself, with the defaults, the first time a process
    builds a model, so you rarely need to. Call it to choose other settings
    before the first model is built: TensorFlow fixes them when it
    initialises, on its first operation. Calling it again with the settings
    in effect does nothing, so every worker of a cluster may call it.

    Parameters
    ----------
    n_threads : int or None, default=None
        Number of threads of each of TensorFlow's two CPU thread pools (within
        an operation, and between independent operations); 0 leaves
        TensorFlow's default (as many as there are cores). None chooses: in a
        Dask worker, the worker's number of threads (``nthreads``), so that
        worker processes sharing a machine do not oversubscribe its cores;
        elsewhere the ``OMP_NUM_THREADS`` environment variable when it is set
        (joblib sets it to ``cores // n_jobs`` in its worker processes);
        otherwise 0.
    gpu_memory_growth : bool, default=True
        Whether each GPU allocates memory as needed rather than all of it at
        start, so that several processes (search workers) can share a GPU.
        Nothing to do without GPUs.

    Returns
    -------
    settings : dict
        The settings in effect: ``"intra_op_threads"`` and
        ``"inter_op_threads"`` (0 means TensorFlow's default), ``"gpus"`` (the
        names of the visible GPUs) and ``"gpu_memory_growth"`` (one bool per
        GPU).

    Raises
    ------
    RuntimeError
        When TensorFlow is already initialised with other settings.

    Examples
    --------
    >>> from litterlearn.utils import configure_tensorflow
    >>> settings = configure_tensorflow()  # what litterlearn does by itself
    >>> sorted(settings)
    ['gpu_memory_growth', 'gpus', 'inter_op_threads', 'intra_op_threads']

    On a Dask cluster, each worker configures itself on its first fit, with
    as many TensorFlow threads as the worker has threads. To choose another
    number on the workers running now::

        client.run(configure_tensorflow, n_threads=4)
    """
    global _CONFIGURED
    if n_threads is not None and (
        not isinstance(n_threads, numbers.Integral)
        or isinstance(n_threads, bool)
        or n_threads < 0
    ):
        raise ValueError(
            f"n_threads must be None or an int >= 0 (0: TensorFlow's default); "
            f"got {n_threads!r}."
        )
    tf = _import_tensorflow_quietly()

    with _LOCK:
        threads = _default_n_threads() if n_threads is None else int(n_threads)
        threading_config = tf.config.threading
        try:
            threading_config.set_intra_op_parallelism_threads(threads)
            threading_config.set_inter_op_parallelism_threads(threads)
        except RuntimeError as exc:
            current = threading_config.get_intra_op_parallelism_threads()
            # An automatic choice defers to a TensorFlow that is already
            # running (initialised by the user's code or an earlier fit); an
            # explicit, different request cannot be honoured: say so.
            if n_threads is not None and threads != current:
                raise RuntimeError(
                    f"TensorFlow is already initialised in this process with "
                    f"{current} intra-op and "
                    f"{threading_config.get_inter_op_parallelism_threads()} "
                    f"inter-op threads, and cannot change to {threads}. Call "
                    f"configure_tensorflow before the first model is built or "
                    f"TensorFlow is first used in the process."
                ) from exc
        gpus = tf.config.list_physical_devices("GPU")
        for gpu in gpus:
            if tf.config.experimental.get_memory_growth(gpu) == gpu_memory_growth:
                continue
            try:
                tf.config.experimental.set_memory_growth(gpu, gpu_memory_growth)
            except (RuntimeError, ValueError) as exc:
                raise RuntimeError(
                    f"TensorFlow has already initialised {gpu.name}, so its memory "
                    f"growth cannot change to {gpu_memory_growth}. Call "
                    f"configure_tensorflow before TensorFlow is first used in "
                    f"the process."
                ) from exc
        _CONFIGURED = True
        return {
            "intra_op_threads": threading_config.get_intra_op_parallelism_threads(),
            "inter_op_threads": threading_config.get_inter_op_parallelism_threads(),
            "gpus": [gpu.name for gpu in gpus],
            "gpu_memory_growth": [
                bool(tf.config.experimental.get_memory_growth(gpu)) for gpu in gpus
            ],
        }


def _configure_tensorflow_once():
    """litterlearn's own call: the defaults, once per process, never failing.

    Does nothing when the process was configured already (by an explicit
    :func:`configure_tensorflow` call), and keeps TensorFlow's settings when
    the user's own TensorFlow code initialised it first.
    """
    global _CONFIGURED
    if _CONFIGURED:
        return
    with _LOCK:
        if _CONFIGURED:
            return
        try:
            configure_tensorflow()
        except ImportError:  # another Keras backend: nothing to configure
            pass
        except RuntimeError:  # initialised by the user's code: its settings stand
            pass
        _CONFIGURED = True
