"""What litterlearn's command-line tools share (standard library only, so
``litterlearn <command> --help`` stays quick)."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path


def writable_folder(output, error):
    """Create ``output`` if needed and prove a file can be written there.

    Returns the folder as a Path; raises ``error`` (the tool's own argument
    error) naming ``--output`` and the reason when it cannot be written.
    """
    folder = Path(output).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".litterlearn-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise error(
            f"--output {str(folder)!r} is not a writable folder ({reason})"
        ) from None
    return folder


def one_line(exc, limit=None, *, name_type=True):
    """An exception as one line: its message with runs of white space made
    one space, cut to ``limit`` characters, after its type's name.

    >>> one_line(ValueError("bad\\n  value"))
    'ValueError: bad value'
    >>> one_line(OSError("x" * 50), limit=12, name_type=False)
    'xxxxxxxxx...'
    """
    text = " ".join(str(exc).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    if not name_type:
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclasses.dataclass
class CommandErrors:
    """Turn a command's failure into one line on stderr and an exit status.

    Used as ``with CommandErrors(prog, ...) as errors: <the work>``, then
    ``if errors.status is not None: return errors.status``. An exception of
    a ``usage`` class (bad input) prints ``{prog}: error: {message}`` and
    gives 2; of a ``failure`` class, the same and 1; ``KeyboardInterrupt``
    prints ``{prog}: {interrupted}`` and gives 130. Any other exception
    propagates, unless ``unexpected`` is true: then it too is one line (with
    its type's name) and gives 1.

    Parameters
    ----------
    prog : str
        The command as the user typed it (``"litterlearn demo"``).
    usage, failure : exception class or tuple of them, default=()
    see_help : bool, default=False
        Add ``(see {prog} --help)`` to usage errors.
    interrupted : str, default="interrupted"
    unexpected : bool, default=False
    """

    prog: str
    usage: type | tuple = ()
    failure: type | tuple = ()
    see_help: bool = False
    interrupted: str = "interrupted"
    unexpected: bool = False
    status: int | None = dataclasses.field(default=None, init=False)

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        if kind is None:
            return False
        if issubclass(kind, self.usage):
            hint = f" (see {self.prog} --help)" if self.see_help else ""
            self._say(f"error: {exc}{hint}", 2)
        elif issubclass(kind, self.failure):
            self._say(f"error: {one_line(exc, name_type=False)}", 1)
        elif issubclass(kind, KeyboardInterrupt):
            self._say(self.interrupted, 130)
        elif self.unexpected and issubclass(kind, Exception):
            self._say(f"error: {one_line(exc)}", 1)
        return self.status is not None

    def _say(self, text, status):
        print(f"{self.prog}: {text}", file=sys.stderr)
        self.status = status
