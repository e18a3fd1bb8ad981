"""What litterlearn's command-line tools share (standard library only, so
``litterlearn <command> --help`` stays quick)."""

from __future__ import annotations

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
