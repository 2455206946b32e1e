"""Checking what is given for a wave's settings before it is stored (:mod:`survey.services.settings`).

* :class:`SettingsInputError` — a setting that cannot be stored, named, with how to fix it;
* :func:`margins_input`, :func:`benchmarks_input` — a margins or benchmarks CSV (its content,
  checked, and the name and SHA-256 of the file it came from);
* :func:`organiser_value`, :func:`contact_phone_value` — the organiser and contact phone shown
  to residents (issue 14).

:mod:`survey.services.settings` re-exports all of them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTACT_PHONE_MAX",
    "ORGANISER_MAX",
    "BenchmarksInput",
    "InputFile",
    "MarginsInput",
    "SettingsInputError",
    "benchmarks_input",
    "contact_phone_value",
    "margins_input",
    "organiser_value",
]


class SettingsInputError(ValueError):
    """A setting that cannot be stored: ``setting`` names it, the message says how to fix it."""

    def __init__(self, setting: str, message: str):
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class InputFile:
    """A file a setting's content came from: its name (never a path) and the SHA-256 of its bytes."""

    name: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "sha256": self.sha256}


@dataclass(frozen=True)
class MarginsInput:
    """Population margins ready to store: the rows (content) and the file they came from."""

    rows: tuple[tuple[str, str, float], ...]
    source: InputFile


@dataclass(frozen=True)
class BenchmarksInput:
    """Published monitoring scores ready to store: one CSV text and the files it combines."""

    csv: str
    sources: tuple[InputFile, ...]


#: The longest organiser name and contact phone stored (the columns' sizes).
ORGANISER_MAX = 120
CONTACT_PHONE_MAX = 20
_PHONE = re.compile(r"^[0-9]+(-[0-9]+)*$")


def organiser_value(value: Any) -> str | None:
    """The organiser name to store (None: show none).

    Raises
    ------
    SettingsInputError
        Longer than :data:`ORGANISER_MAX` characters.
    """
    text = " ".join(str(value or "").split())
    if len(text) > ORGANISER_MAX:
        raise SettingsInputError(
            "organiser", f"{len(text)} characters; at most {ORGANISER_MAX}: shorten the organiser's name"
        )
    return text or None


def contact_phone_value(value: Any) -> str | None:
    """The contact phone to store: digits and dashes only, e.g. ``0716-8888888`` (None: show none).

    Raises
    ------
    SettingsInputError
        Anything but digits separated by single dashes, or longer than :data:`CONTACT_PHONE_MAX`.
    """
    text = str(value or "").strip()
    if not text:
        return None
    if not _PHONE.match(text) or len(text) > CONTACT_PHONE_MAX:
        raise SettingsInputError(
            "contact_phone",
            f"{text!r} is not a phone number: use digits and dashes only, at most {CONTACT_PHONE_MAX} "
            "characters (e.g. 0716-8888888)",
        )
    return text


# --------------------------------------------------------------------------- file contents


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decode(data: bytes, *, setting: str, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SettingsInputError(setting, f"{name} is not UTF-8 (byte {error.start}); save it as UTF-8") from None


def _file_name(name: str) -> str:
    """A file's name without any folder (a name is never a path)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base or "upload.csv"


def margins_input(name: str, data: bytes) -> MarginsInput:
    """The margins of a CSV file (``variable, level, population``), checked.

    Parameters
    ----------
    name : str
        The file's name (any folder is dropped: names, never paths, are stored).
    data : bytes
        Its content.

    Raises
    ------
    SettingsInputError
        (``margins``) not UTF-8, a wrong header, a row that is not three cells, a
        population that is not a number ≥ 0, a level twice, variables whose totals differ.
    """
    from scoring.errors import SettingsError
    from scoring.settings import AnalysisSettings, margins_rows_from_csv

    name = _file_name(name)
    text = _decode(data, setting="margins", name=name)
    try:
        rows = margins_rows_from_csv(text)
        if not rows:
            raise SettingsError("the margins CSV has a header but no rows")
        AnalysisSettings(margins=rows).validate()
    except SettingsError as error:
        raise SettingsInputError("margins", f"{name}: {error}") from None
    return MarginsInput(rows=rows, source=InputFile(name, _sha256(data)))


def benchmarks_input(files: Sequence[tuple[str, bytes]]) -> BenchmarksInput:
    """Benchmarks CSV files (``year, level, unit, score, rank, se, source``) as one CSV text.

    Each file is checked as :func:`scoring.benchmarks.validate_benchmarks` checks it, and
    together they may not give a unit twice for one year and level.

    Raises
    ------
    SettingsInputError
        (``benchmarks``) naming the file, line and column of every problem.
    """
    from scoring.benchmarks import BENCHMARK_COLUMNS, BenchmarkError, combine_benchmarks, validate_benchmarks

    if not files:
        raise SettingsInputError("benchmarks", "no benchmarks file given")
    tables = []
    rows: list[list[str]] = []
    sources = []
    for raw_name, data in files:
        name = _file_name(raw_name)
        text = _decode(data, setting="benchmarks", name=name)
        try:
            tables.append(validate_benchmarks(text, name=name))
        except BenchmarkError as error:
            raise SettingsInputError("benchmarks", str(error)) from None
        reader = csv.reader(io.StringIO(text))
        header: list[str] | None = None
        for record in reader:
            if not record or all(not cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip() for cell in record]
                continue
            cells = dict(zip(header, (cell.strip() for cell in record)))
            rows.append([cells[column] for column in BENCHMARK_COLUMNS])
        sources.append(InputFile(name, _sha256(data)))
    try:
        combine_benchmarks(tables)
    except BenchmarkError as error:
        raise SettingsInputError("benchmarks", str(error)) from None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BENCHMARK_COLUMNS)
    writer.writerows(rows)
    return BenchmarksInput(csv=out.getvalue(), sources=tuple(sources))
