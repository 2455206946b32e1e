"""Writing a file atomically: into a temporary file beside it, then renamed over it.

A failure (a full disk, an exception while writing, a killed process) leaves either the
old file or none, never half a file.  The one home of this rule: the commands of
``python -m scoring`` and of ``manyi`` write their output files through it (the report's
folder is staged as a whole by :func:`scoring.report.write_files`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["write_atomically", "write_bytes_atomically"]


def write_atomically(path: str | Path, write: Callable[[Any], None], *, mode: str = "w") -> None:
    """Write a file through ``write(handle)`` into a temporary file, then rename it.

    Parameters
    ----------
    path : str or Path
        The file to write; its folder must exist.
    write : callable
        Called once with the open temporary file.
    mode : {"w", "wb"}
        Text (UTF-8, no newline translation) or bytes.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed and renamed below
        mode,
        dir=directory,
        prefix=f".{target.name}.",
        suffix=".tmp",
        delete=False,
        encoding="utf-8" if "b" not in mode else None,
        newline="" if "b" not in mode else None,
    )
    try:
        with handle:
            write(handle)
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def write_bytes_atomically(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`write_atomically` with bytes)."""
    write_atomically(path, lambda handle: handle.write(data), mode="wb")
