"""Published monitoring scores: reading and validating the benchmarks file.

The benchmarks file is a CSV in the contract of ``docs/contracts.md``:
``year, level, unit, score, rank, se, source`` — ``level`` ∈ national, province,
municipality (which monitoring published the figure); ``rank`` and ``se`` may be empty;
``source`` is required (no figure without a citation).  :func:`validate_benchmarks`
checks the text and names the line and column of every problem; :func:`read_benchmarks`
reads a file; :func:`combine_benchmarks` joins several files into one
:class:`BenchmarkTable`, the value :func:`scoring.rankings.rank_district` and the report take.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ScoringInputError

__all__ = [
    "BENCHMARK_COLUMNS",
    "LEVELS",
    "LEVEL_LABELS_ZH",
    "Benchmark",
    "BenchmarkError",
    "BenchmarkTable",
    "combine_benchmarks",
    "read_benchmarks",
    "validate_benchmarks",
]

BENCHMARK_COLUMNS: tuple[str, ...] = ("year", "level", "unit", "score", "rank", "se", "source")
LEVELS: tuple[str, ...] = ("national", "province", "municipality")
LEVEL_LABELS_ZH: dict[str, str] = {
    "national": "全国监测",
    "province": "全省监测",
    "municipality": "全市监测",
}
_ILLUSTRATIVE_MARKERS = ("illustrative", "示意", "虚构", "演示")


class BenchmarkError(ScoringInputError):
    """A benchmarks file is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[str], *, name: str = "benchmarks"):
        self.problems = tuple(problems)
        self.name = name
        super().__init__(f"{len(self.problems)} problem(s) in {name}:\n" + "\n".join(f"  {p}" for p in self.problems))


@dataclass(frozen=True)
class Benchmark:
    """One published (or illustrative) monitoring score.

    Attributes
    ----------
    year, level, unit, score : int, str, str, float
        As in the file; ``score`` on the 0–100 scale.
    rank : int or None
        The published rank, when given.
    se : float or None
        Standard error of the published score, when given (else the ranking assumes one,
        :data:`scoring.rankings.DEFAULT_ASSUMED_SE`).
    source : str
        The citation.
    line : int
        Line of the CSV file (the header is line 1), for messages.
    """

    year: int
    level: str
    unit: str
    score: float
    rank: int | None
    se: float | None
    source: str
    line: int = 0

    @property
    def illustrative(self) -> bool:
        """True when the source says the figure is illustrative (not published)."""
        text = self.source.lower()
        return any(marker in text for marker in _ILLUSTRATIVE_MARKERS)


@dataclass(frozen=True)
class BenchmarkTable:
    """A validated benchmarks file."""

    rows: tuple[Benchmark, ...]
    name: str = "benchmarks"
    sha256: str = ""

    def levels(self) -> tuple[str, ...]:
        present = {row.level for row in self.rows}
        return tuple(level for level in LEVELS if level in present)

    def years(self, level: str) -> tuple[int, ...]:
        return tuple(sorted({row.year for row in self.rows if row.level == level}))

    def units(self, level: str, year: int) -> tuple[Benchmark, ...]:
        return tuple(row for row in self.rows if row.level == level and row.year == year)

    @property
    def illustrative(self) -> bool:
        """True when any row is illustrative."""
        return any(row.illustrative for row in self.rows)


def _parse_csv(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    import csv

    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for record in reader:
        line = reader.line_num
        if not record or all(not cell.strip() for cell in record):
            continue
        if header is None:
            header = [cell.strip().lstrip("\ufeff") for cell in record]
            continue
        rows.append((line, record))
    return header or [], rows


def validate_benchmarks(text: str, *, name: str = "benchmarks") -> BenchmarkTable:
    """Parse and validate the text of a benchmarks CSV.

    Parameters
    ----------
    text : str
        The file's content (UTF-8 decoded).
    name : str
        File name used in messages.

    Returns
    -------
    BenchmarkTable

    Raises
    ------
    BenchmarkError
        Listing every problem with its line and column: a missing or unknown column, a
        year that is not a whole number, an unknown level, an empty unit or source, a
        score that is not a number in [0, 100], a rank that is not a positive whole
        number, a negative ``se``, the same unit twice in one year and level.
    """
    header, records = _parse_csv(text)
    problems: list[str] = []
    if not header:
        raise BenchmarkError([f"{name} is empty; it needs the header {','.join(BENCHMARK_COLUMNS)}"], name=name)
    missing = [column for column in BENCHMARK_COLUMNS if column not in header]
    unknown = [column for column in header if column not in BENCHMARK_COLUMNS]
    if missing:
        problems.append(
            f"line 1: missing column(s) {', '.join(missing)}; the header must be {','.join(BENCHMARK_COLUMNS)}"
        )
    if unknown:
        problems.append(f"line 1: unknown column(s) {', '.join(unknown)}; allowed: {','.join(BENCHMARK_COLUMNS)}")
    if problems:
        raise BenchmarkError(problems, name=name)
    if not records:
        raise BenchmarkError([f"{name} has a header but no rows"], name=name)
    position = {column: header.index(column) for column in BENCHMARK_COLUMNS}
    rows: list[Benchmark] = []
    seen: dict[tuple[int, str, str], int] = {}
    for line, record in records:
        if len(record) != len(header):
            problems.append(
                f"line {line}: {len(record)} fields, expected {len(header)} (quote values that contain commas)"
            )
            continue
        cell = {column: record[position[column]].strip() for column in BENCHMARK_COLUMNS}
        before = len(problems)

        def bad(column: str, why: str, line: int = line) -> None:
            problems.append(f"line {line}, column {column}: {why}")

        year = None
        try:
            year = int(cell["year"])
            if not 1900 <= year <= 2200:
                bad("year", f"{cell['year']!r} is not a plausible year")
        except ValueError:
            bad("year", f"{cell['year']!r} is not a whole-number year, e.g. 2024")
        if cell["level"] not in LEVELS:
            bad("level", f"{cell['level']!r} is not one of {', '.join(LEVELS)}")
        if not cell["unit"]:
            bad("unit", "is empty; name the city, district or province")
        score = math.nan
        try:
            score = float(cell["score"])
            if not (0.0 <= score <= 100.0):
                bad("score", f"{cell['score']!r} is outside 0–100 (monitoring scores are on a 0–100 scale)")
        except ValueError:
            bad("score", f"{cell['score']!r} is not a number" if cell["score"] else "is empty; every row needs a score")
        rank = None
        if cell["rank"]:
            try:
                rank = int(cell["rank"])
                if rank < 1:
                    raise ValueError
            except ValueError:
                bad("rank", f"{cell['rank']!r} is not a positive whole number (leave it empty when not published)")
        se = None
        if cell["se"]:
            try:
                se = float(cell["se"])
                if not se >= 0 or not math.isfinite(se):
                    raise ValueError
            except ValueError:
                bad("se", f"{cell['se']!r} is not a non-negative number (leave it empty when not published)")
        if not cell["source"]:
            bad("source", "is empty; every figure needs its citation (or 'illustrative' for made-up figures)")
        if len(problems) > before or year is None:
            continue
        key = (year, cell["level"], cell["unit"])
        if key in seen:
            problems.append(
                f"line {line}: {cell['unit']!r} appears twice for {year} {cell['level']} (also line {seen[key]})"
            )
            continue
        seen[key] = line
        rows.append(Benchmark(year, cell["level"], cell["unit"], score, rank, se, cell["source"], line))
    if problems:
        raise BenchmarkError(problems, name=name)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return BenchmarkTable(tuple(rows), name=name, sha256=digest)


def read_benchmarks(path: str | Path) -> BenchmarkTable:
    """Read and validate a benchmarks CSV file (see :func:`validate_benchmarks`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise BenchmarkError([f"cannot read {path}: {error.strerror or error}"], name=str(path)) from error
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BenchmarkError([f"{path} is not UTF-8 (byte {error.start}); save it as UTF-8"], name=path.name) from error
    table = validate_benchmarks(text, name=path.name)
    return BenchmarkTable(table.rows, name=path.name, sha256=hashlib.sha256(raw).hexdigest())


def combine_benchmarks(tables: Sequence[BenchmarkTable]) -> BenchmarkTable:
    """One table from several benchmark files (e.g. national, provincial, municipal).

    Raises
    ------
    BenchmarkError
        When the same unit appears for the same year and level in two files.
    """
    if len(tables) == 1:
        return tables[0]
    seen: dict[tuple[int, str, str], str] = {}
    problems: list[str] = []
    rows: list[Benchmark] = []
    for table in tables:
        for row in table.rows:
            key = (row.year, row.level, row.unit)
            if key in seen:
                problems.append(
                    f"{table.name} line {row.line}: {row.unit!r} {row.year} {row.level} is also in {seen[key]}"
                )
                continue
            seen[key] = f"{table.name} line {row.line}"
            rows.append(row)
    name = " + ".join(table.name for table in tables)
    if problems:
        raise BenchmarkError(problems, name=name)
    digest = hashlib.sha256("".join(table.sha256 for table in tables).encode()).hexdigest()
    return BenchmarkTable(tuple(rows), name=name, sha256=digest)
