"""Placing the district among published monitoring results, with honest rank intervals.

Published monitoring scores (全国/全省/全市公共服务质量监测) come without standard errors;
the district's own index has one.  A bare rank ("第 3 名") hides that uncertainty, so
this module never returns one alone: it simulates the district's score from its sampling
distribution, θ* ~ N(θ̂, SE²), holding published scores fixed unless the benchmarks
file gives their ``se``, and reports the probability of every rank, the median rank, a
95% rank interval and the probability of being above each unit (statistics.md,
"Rankings").  With several years it reports the change in placement.

The benchmarks file is a CSV in the contract of ``docs/contracts.md``:
``year, level, unit, score, rank, se, source`` — ``level`` ∈ national, province,
municipality; ``rank`` and ``se`` may be empty; ``source`` is required (no figure
without a citation).  :func:`read_benchmarks` validates it and names the row and column
of every problem.

References
----------
Mogstad, M., Romano, J. P., Shaikh, A. M. and Wilhelm, D. (2023). Inference for ranks
with applications to mobility across neighbourhoods and academic achievement across
countries. *Review of Economic Studies*.  (Simultaneous rank sets; R package
``csranks``.  The intervals here are marginal, for one district.)
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ScoringInputError

BENCHMARK_COLUMNS: tuple[str, ...] = ("year", "level", "unit", "score", "rank", "se", "source")
LEVELS: tuple[str, ...] = ("national", "province", "municipality")
LEVEL_LABELS_ZH: dict[str, str] = {
    "national": "全国监测",
    "province": "全省监测",
    "municipality": "全市监测",
}
#: Default name of the district in benchmark files and reports.
DISTRICT = "荆州区"
#: Minimum number of simulation draws (statistics.md).
MIN_DRAWS = 10_000
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
        Standard error of the published score, when given (else it is held fixed).
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
        if len(problems) > before:
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


# ---------------------------------------------------------------------------
# Placement


@dataclass(frozen=True)
class DistrictScore:
    """The district's score in one year: a survey estimate with its SE, or a published figure.

    Attributes
    ----------
    year : int
    estimate : float
    se : float
        0 for a published figure without a standard error (held fixed).
    origin : str
        ``"survey"`` (this wave), ``"previous"`` (an earlier wave's results) or
        ``"published"`` (a row of the benchmarks file naming the district).
    """

    year: int
    estimate: float
    se: float
    origin: str = "survey"


@dataclass(frozen=True)
class UnitComparison:
    """The district against one unit: P(district's score > the unit's score)."""

    unit: str
    score: float
    se: float | None
    published_rank: int | None
    source: str
    illustrative: bool
    probability_above: float


@dataclass(frozen=True)
class Placement:
    """The district's place among the units of one level and year.

    Attributes
    ----------
    level : str
    year : int
        The year of the district's score.
    benchmark_year : int
        The year of the published units it is compared with (the latest one not after
        ``year``; monitoring results are published a year late).
    district : DistrictScore
    units : tuple of UnitComparison
        Competing units, highest published score first (the district's own row, if the
        file has one, is not a competitor).
    rank_probabilities : tuple of float
        ``rank_probabilities[k - 1]`` = P(rank = k), k = 1 … len(units) + 1.
    median_rank : int
    rank_interval : tuple of int
        Central 95% interval of the simulated rank.
    draws, seed : int
    complete_list : bool
        False when published ranks show that the file lists only some of the ranked
        units (e.g. rank 5 with only 3 rows): the rank is then *among the listed units*.
    illustrative : bool
        True when any compared figure is illustrative.
    rank_draws : numpy.ndarray
        The simulated ranks (kept for the change in placement; not serialised).
    """

    level: str
    year: int
    benchmark_year: int
    district: DistrictScore
    units: tuple[UnitComparison, ...]
    rank_probabilities: tuple[float, ...]
    median_rank: int
    rank_interval: tuple[int, int]
    draws: int
    seed: int
    complete_list: bool
    illustrative: bool
    rank_draws: np.ndarray = field(repr=False, compare=False)

    @property
    def n_ranked(self) -> int:
        """Number of places: the units plus the district."""
        return len(self.units) + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "year": self.year,
            "benchmark_year": self.benchmark_year,
            "district": {
                "estimate": self.district.estimate,
                "se": self.district.se,
                "origin": self.district.origin,
            },
            "n_ranked": self.n_ranked,
            "rank_probabilities": {str(k + 1): p for k, p in enumerate(self.rank_probabilities)},
            "median_rank": self.median_rank,
            "rank_interval": list(self.rank_interval),
            "complete_list": self.complete_list,
            "illustrative": self.illustrative,
            "units": [
                {
                    "unit": unit.unit,
                    "score": unit.score,
                    "se": unit.se,
                    "published_rank": unit.published_rank,
                    "probability_above": unit.probability_above,
                    "illustrative": unit.illustrative,
                    "source": unit.source,
                }
                for unit in self.units
            ],
        }


@dataclass(frozen=True)
class PlacementChange:
    """Change in the district's rank between two years of one level (negative = moved up).

    ``median_change`` and ``interval`` are in places; ``probability_improved`` is
    P(rank in ``to_year`` < rank in ``from_year``).  The two placements are simulated
    independently (independent samples).
    """

    level: str
    from_year: int
    to_year: int
    from_median_rank: int
    to_median_rank: int
    from_n_ranked: int
    to_n_ranked: int
    median_change: int
    interval: tuple[int, int]
    probability_improved: float
    probability_unchanged: float
    probability_worse: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "from_year": self.from_year,
            "to_year": self.to_year,
            "from_median_rank": self.from_median_rank,
            "to_median_rank": self.to_median_rank,
            "from_n_ranked": self.from_n_ranked,
            "to_n_ranked": self.to_n_ranked,
            "median_change": self.median_change,
            "interval": list(self.interval),
            "probability_improved": self.probability_improved,
            "probability_unchanged": self.probability_unchanged,
            "probability_worse": self.probability_worse,
        }


@dataclass(frozen=True)
class Rankings:
    """Every placement (level × year) and the changes between consecutive years."""

    district: str
    placements: tuple[Placement, ...]
    changes: tuple[PlacementChange, ...]
    draws: int
    seed: int
    benchmarks: str = ""
    notes: tuple[str, ...] = ()

    def latest(self, level: str) -> Placement | None:
        """The placement of the latest year of ``level``, or ``None``."""
        candidates = [p for p in self.placements if p.level == level]
        return max(candidates, key=lambda p: p.year) if candidates else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "draws": self.draws,
            "seed": self.seed,
            "benchmarks": self.benchmarks,
            "placements": [p.to_dict() for p in self.placements],
            "changes": [c.to_dict() for c in self.changes],
            "notes": list(self.notes),
        }


def _validate_draws(draws: int) -> None:
    if not isinstance(draws, (int, np.integer)) or draws < MIN_DRAWS:
        raise ValueError(f"draws must be a whole number ≥ {MIN_DRAWS} (statistics.md), got {draws!r}")


def place_among(
    district: DistrictScore,
    units: Sequence[Benchmark],
    *,
    level: str,
    benchmark_year: int | None = None,
    draws: int = MIN_DRAWS,
    seed: int = 2025,
) -> Placement:
    """Simulate the district's rank among ``units``.

    Parameters
    ----------
    district : DistrictScore
        The district's score and its SE (0 = fixed).
    units : sequence of Benchmark
        The competing units (one level, one year).  Their scores are fixed unless their
        ``se`` is given, in which case they are drawn too.
    level : str
        The level, for the result.
    benchmark_year : int, optional
        Year of ``units`` (default: the district's year).
    draws : int
        Number of simulation draws, ≥ 10,000.
    seed : int
        Seed of the random generator; the same seed gives the same result.

    Returns
    -------
    Placement

    Notes
    -----
    Rank 1 is the highest score.  Exact ties (possible only when both scores are held
    fixed) are broken at random, so a district tied with one fixed unit is above it with
    probability one half.
    """
    _validate_draws(draws)
    if not math.isfinite(district.estimate) or not (district.se >= 0):
        raise ValueError(
            f"the district's estimate must be finite with se ≥ 0, got {district.estimate!r} ± {district.se!r}"
        )
    rng = np.random.default_rng(seed)
    theta = district.estimate + district.se * rng.standard_normal(draws)
    ordered = sorted(units, key=lambda row: (-row.score, row.unit))
    scores = np.array([row.score for row in ordered], dtype=np.float64)
    spread = np.array([row.se or 0.0 for row in ordered], dtype=np.float64)
    unit_draws = scores[None, :] + spread[None, :] * rng.standard_normal((draws, len(ordered)))
    tie_break = rng.random((draws, len(ordered))) < 0.5
    above = (theta[:, None] > unit_draws) | ((theta[:, None] == unit_draws) & tie_break)
    ranks = 1 + (~above).sum(axis=1)
    n_ranked = len(ordered) + 1
    counts = np.bincount(ranks, minlength=n_ranked + 1)[1:]
    probabilities = tuple(float(c) / draws for c in counts)
    low, median, high = np.quantile(ranks, [0.025, 0.5, 0.975], method="inverted_cdf")
    published = [row.rank for row in ordered if row.rank is not None]
    complete = not published or max(published) <= n_ranked
    comparisons = tuple(
        UnitComparison(
            unit=row.unit,
            score=row.score,
            se=row.se,
            published_rank=row.rank,
            source=row.source,
            illustrative=row.illustrative,
            probability_above=float(above[:, j].mean()),
        )
        for j, row in enumerate(ordered)
    )
    return Placement(
        level=level,
        year=district.year,
        benchmark_year=district.year if benchmark_year is None else benchmark_year,
        district=district,
        units=comparisons,
        rank_probabilities=probabilities,
        median_rank=int(median),
        rank_interval=(int(low), int(high)),
        draws=int(draws),
        seed=int(seed),
        complete_list=bool(complete),
        illustrative=any(row.illustrative for row in ordered),
        rank_draws=ranks,
    )


def placement_change(before: Placement, after: Placement) -> PlacementChange:
    """The change in rank from ``before`` to ``after`` (independent simulations)."""
    if before.level != after.level:
        raise ValueError(f"cannot compare placements of different levels ({before.level} vs {after.level})")
    difference = after.rank_draws - before.rank_draws
    low, median, high = np.quantile(difference, [0.025, 0.5, 0.975], method="inverted_cdf")
    return PlacementChange(
        level=after.level,
        from_year=before.year,
        to_year=after.year,
        from_median_rank=before.median_rank,
        to_median_rank=after.median_rank,
        from_n_ranked=before.n_ranked,
        to_n_ranked=after.n_ranked,
        median_change=int(median),
        interval=(int(low), int(high)),
        probability_improved=float((difference < 0).mean()),
        probability_unchanged=float((difference == 0).mean()),
        probability_worse=float((difference > 0).mean()),
    )


def _stream_seed(seed: int, level: str, year: int) -> int:
    """A seed per (level, year), so a placement does not depend on which others are run."""
    digest = hashlib.sha256(f"{seed}:{level}:{year}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def rank_district(
    scores: Iterable[DistrictScore],
    benchmarks: BenchmarkTable,
    *,
    district: str = DISTRICT,
    draws: int = MIN_DRAWS,
    seed: int = 2025,
) -> Rankings:
    """Place the district at every level and year the benchmarks allow.

    Parameters
    ----------
    scores : iterable of DistrictScore
        The district's survey estimates (this wave, earlier waves).  Rows of the
        benchmarks file naming ``district`` add published scores for their years; for a
        year with both, the published figure is used for past years (it is the official
        placement) and the survey estimate for the latest year.
    benchmarks : BenchmarkTable
    district : str
        The district's name as written in the ``unit`` column.
    draws, seed : int
        Simulation size (≥ 10,000) and seed.

    Returns
    -------
    Rankings
        One placement per level and district year that has published units of the same
        or an earlier year; changes between consecutive placements of each level.
    """
    _validate_draws(draws)
    survey_scores = {score.year: score for score in scores}
    latest_survey_year = max(survey_scores) if survey_scores else None
    placements: list[Placement] = []
    changes: list[PlacementChange] = []
    notes: list[str] = []
    for level in benchmarks.levels():
        years = benchmarks.years(level)
        published = {
            row.year: DistrictScore(row.year, row.score, row.se or 0.0, "published")
            for row in benchmarks.rows
            if row.level == level and row.unit == district
        }
        district_scores: dict[int, DistrictScore] = dict(published)
        for year, score in survey_scores.items():
            if year not in district_scores or year == latest_survey_year:
                district_scores[year] = score
        level_placements: list[Placement] = []
        for year in sorted(district_scores):
            candidates = [y for y in years if y <= year]
            if not candidates:
                notes.append(f"{level}: no published figures up to {year}; the {year} score is not placed")
                continue
            benchmark_year = max(candidates)
            units = [row for row in benchmarks.units(level, benchmark_year) if row.unit != district]
            if not units:
                continue
            placement = place_among(
                district_scores[year],
                units,
                level=level,
                benchmark_year=benchmark_year,
                draws=draws,
                seed=_stream_seed(seed, level, year),
            )
            level_placements.append(placement)
        placements.extend(level_placements)
        for before, after in zip(level_placements, level_placements[1:]):
            changes.append(placement_change(before, after))
    return Rankings(
        district=district,
        placements=tuple(placements),
        changes=tuple(changes),
        draws=int(draws),
        seed=int(seed),
        benchmarks=benchmarks.name,
        notes=tuple(notes),
    )


def describe_placement(placement: Placement) -> str:
    """One sentence in Chinese: the median rank with its 95% interval, never a bare rank."""
    low, high = placement.rank_interval
    scope = "" if placement.complete_list else "（仅在文件所列单位中）"
    where = f"{placement.benchmark_year}年{LEVEL_LABELS_ZH.get(placement.level, placement.level)}公布的{placement.n_ranked - 1}个单位"
    if low == high:
        interval = f"95%区间为第{low}名（排名确定）"
    else:
        interval = f"95%区间为第{low}–{high}名"
    return f"与{where}相比{scope}，排名中位数为第{placement.median_rank}名（共{placement.n_ranked}名），{interval}。"
