"""The report's files: bytes in memory (:class:`ReportFiles`), written atomically by the CLIs.

:func:`scoring.report.build_report` returns every file as bytes; only the command lines
write them, with :func:`write_files` — into a staging folder beside the target, then
moved into place one rename per file, so a failure leaves the previous report untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .settings import ReportInputError

__all__ = ["ReportFiles", "check_out_dir", "encode_results", "parse_results", "read_results", "write_files"]


def encode_results(results: Mapping[str, Any]) -> bytes:
    """results.json as written everywhere: UTF-8, indented, no NaN (it must be JSON-safe)."""
    return (json.dumps(results, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8")


def parse_results(text: str | bytes, *, name: str = "results.json") -> dict[str, Any]:
    """Parse a results.json's text and check it is in the estimate contract.

    Raises
    ------
    ReportInputError
        When it is not JSON or lacks ``overall``/``domains`` (``name`` says which file).
    """
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        line = getattr(error, "lineno", None)
        where = f" (line {line})" if line else ""
        raise ReportInputError(f"{name} is not valid JSON{where}: is it a results.json?") from error
    if not isinstance(data, dict) or "overall" not in data or "domains" not in data:
        raise ReportInputError(
            f"{name} has no 'overall' and 'domains': it is not a results.json of 'python -m scoring estimate' or 'report'"
        )
    return data


def read_results(path: str | Path) -> dict[str, Any]:
    """Read a results.json file (e.g. a previous wave's) and check it is in the estimate contract."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ReportInputError(f"cannot read results file {path}: {error.strerror or error}") from error
    return parse_results(raw, name=str(path))


@dataclass(frozen=True)
class ReportFiles:
    """Every file of a report as bytes, by relative name, and the results they encode.

    Attributes
    ----------
    files : mapping of str to bytes
        ``results.json``, ``tables.xlsx``, ``tables/<name>.csv``, ``charts/<name>.png``
        and ``.svg``, ``report.html`` and (unless turned off) ``report.pdf``.
    results : mapping
        The dict ``results.json`` encodes (parsed once, never re-read).
    """

    files: Mapping[str, bytes] = field(repr=False)
    results: Mapping[str, Any] = field(repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.files)

    @property
    def results_json(self) -> bytes:
        return self.files["results.json"]

    @property
    def pdf(self) -> bytes | None:
        return self.files.get("report.pdf")

    @property
    def html(self) -> bytes:
        return self.files["report.html"]

    def under(self, folder: str) -> dict[str, bytes]:
        """The files in ``folder`` (``"tables"``, ``"charts"``), by name."""
        prefix = folder.rstrip("/") + "/"
        return {name: data for name, data in self.files.items() if name.startswith(prefix)}

    def without(self, *names: str) -> dict[str, bytes]:
        """Every file but ``names``."""
        return {name: data for name, data in self.files.items() if name not in names}


def check_out_dir(path: str | Path) -> None:
    """Refuse an output path that is an existing file or a folder that cannot be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ReportInputError(f"--out {path} is a file; give a folder to write the report into")
    if path.exists() and not os.access(path, os.W_OK):
        raise ReportInputError(f"--out {path} is not writable; give a folder you can write to")


def write_files(files: ReportFiles | Mapping[str, bytes], directory: str | Path) -> tuple[Path, ...]:
    """Write the files into ``directory`` atomically; returns their paths.

    Everything is written into a staging folder beside ``directory`` first and moved
    into place at the end (one rename per file), so a failure half-way leaves what was
    there before untouched.  Names are relative paths inside ``directory``; a name that
    would leave it is refused.
    """
    contents = files.files if isinstance(files, ReportFiles) else files
    final = Path(directory)
    check_out_dir(final)
    for name in contents:
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise ReportInputError(f"file name {name!r} would be written outside {final}")
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))
    try:
        for name, data in contents.items():
            path = stage / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        final.mkdir(parents=True, exist_ok=True)
        written = []
        for name in contents:
            target = final / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / name, target)
            written.append(target)
        return tuple(written)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
