"""Placing the district among published monitoring results, said honestly.

Published monitoring scores (全国/全省/全市公共服务质量监测) usually come without standard
errors; the district's own index has one.  A bare rank ("第 3 名") hides that uncertainty,
so this module never returns one alone (statistics.md, "Rankings"):

* every figure is drawn from its sampling distribution, θ* ~ N(θ̂, SE²) — the district's
  with its survey SE, a published score with its ``se`` when the benchmarks file gives one
  and otherwise with an **assumed SE** (``assumed_se``, a setting stated beside every
  ranking; 0 only when asked for, and then said);
* the result is the probability of every rank, the median rank, a 95% rank interval and
  the probability of being above each unit;
* by default the district is compared only with units of the **same level and the same
  year** as its figure; other years are compared only when asked (``other_years=True``),
  and each such placement says so;
* a **change of rank** is computed only between two figures of the same source: the
  monitoring's own figures for the district (rows of the benchmarks file naming it) with
  each other, this survey's waves with each other — never the monitoring's 2024 rank
  against this survey's 2025 index;
* :data:`INSTRUMENT_CAVEAT` says, once, that the district's figure comes from a different
  instrument than the monitoring's.

Reading the benchmarks file is :mod:`scoring.benchmarks`.

References
----------
Mogstad, M., Romano, J. P., Shaikh, A. M. and Wilhelm, D. (2023). Inference for ranks
with applications to mobility across neighbourhoods and academic achievement across
countries. *Review of Economic Studies*.  (Simultaneous rank sets; R package
``csranks``.  The intervals here are marginal, for one district.)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .benchmarks import LEVEL_LABELS_ZH, Benchmark, BenchmarkTable

__all__ = [
    "DEFAULT_ASSUMED_SE",
    "DISTRICT",
    "INSTRUMENT_CAVEAT",
    "MIN_DRAWS",
    "SOURCES",
    "DistrictScore",
    "Placement",
    "PlacementChange",
    "Rankings",
    "UnitComparison",
    "describe_placement",
    "describe_standard_errors",
    "place_among",
    "placement_change",
    "rank_district",
]

#: Default name of the district in benchmark files and reports.
DISTRICT = "荆州区"
#: Minimum number of simulation draws (statistics.md).
MIN_DRAWS = 10_000
#: SE assumed for a published score that comes without one, in index points.  A city's
#: monitoring sample of a few hundred residents gives an SE of about one point; with 0 a
#: ranking would pretend the published figures are exact (issue 11: the municipal rank
#: interval widens from 2–4 to 1–6 with an SE of 1).
DEFAULT_ASSUMED_SE = 1.0
#: Where a district figure comes from: this survey (its waves) or the monitoring itself.
SOURCES: tuple[str, ...] = ("survey", "monitoring")
#: The one sentence on the instrument difference, in both languages of the public page.
INSTRUMENT_CAVEAT: dict[str, str] = {
    "zh": "本区得分来自本次满意度调查，所用问卷、抽样和计分方法与监测机构不同，与公布的监测得分只能大致比较，名次仅供参考。",
    "en": (
        "The district's figure comes from this survey, whose questionnaire, sampling and scoring differ from the "
        "monitoring's; compared with published monitoring scores it is indicative only."
    ),
}


@dataclass(frozen=True)
class DistrictScore:
    """The district's figure in one year: a survey estimate, or a published monitoring score.

    Attributes
    ----------
    year : int
    estimate : float
    se : float
        The standard error used in the simulation (for a published score without one,
        the assumed SE; see ``se_assumed``).
    origin : str
        ``"survey"`` (this wave), ``"previous"`` (an earlier wave of this survey) or
        ``"published"`` (a row of the benchmarks file naming the district).
    se_assumed : bool
        True when ``se`` is the assumed SE, not a published or estimated one.
    wave : str, optional
        The survey wave's code (survey figures).
    """

    year: int
    estimate: float
    se: float
    origin: str = "survey"
    se_assumed: bool = False
    wave: str | None = None

    @property
    def source(self) -> str:
        """``"monitoring"`` for a published figure, ``"survey"`` for this survey's waves."""
        return "monitoring" if self.origin == "published" else "survey"


@dataclass(frozen=True)
class UnitComparison:
    """The district against one unit: P(district's score > the unit's score).

    ``se`` is the published SE (``None`` when not published); ``se_used`` the SE the
    simulation drew the unit's score with (the assumed SE when none was published).
    """

    unit: str
    score: float
    se: float | None
    se_used: float
    published_rank: int | None
    source: str
    illustrative: bool
    probability_above: float

    @property
    def se_assumed(self) -> bool:
        return self.se is None


@dataclass(frozen=True)
class Placement:
    """The district's place among the units of one level and year.

    Attributes
    ----------
    level : str
    year : int
        The year of the district's figure.
    benchmark_year : int
        The year of the published units it is compared with: ``year`` itself unless a
        comparison with other years was asked for.
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
    assumed_se : float
        The SE given to published scores without one.
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
    assumed_se: float
    rank_draws: np.ndarray = field(repr=False, compare=False)

    @property
    def n_ranked(self) -> int:
        """Number of places: the units plus the district."""
        return len(self.units) + 1

    @property
    def same_year(self) -> bool:
        """True when the units' figures are of the district figure's year."""
        return self.benchmark_year == self.year

    @property
    def source(self) -> str:
        """The source of the district's figure (``survey`` or ``monitoring``)."""
        return self.district.source

    @property
    def any_se_assumed(self) -> bool:
        """True when some figure of this placement is drawn with the assumed SE."""
        return self.district.se_assumed or any(unit.se_assumed for unit in self.units)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "year": self.year,
            "benchmark_year": self.benchmark_year,
            "same_year": self.same_year,
            "source": self.source,
            "district": {
                "estimate": self.district.estimate,
                "se": self.district.se,
                "se_assumed": self.district.se_assumed,
                "origin": self.district.origin,
                "source": self.district.source,
                "wave": self.district.wave,
            },
            "assumed_se": self.assumed_se,
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
                    "se_used": unit.se_used,
                    "se_assumed": unit.se_assumed,
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
    """Change in the district's rank between two years of one level and one source.

    Negative = moved up.  ``median_change`` and ``interval`` are in places;
    ``probability_improved`` is P(rank in ``to_year`` < rank in ``from_year``).  The two
    placements are simulated independently (independent samples).
    """

    level: str
    source: str
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
            "source": self.source,
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
    """Every placement (level × source × year) and the changes within each source.

    Attributes
    ----------
    district : str
    placements : tuple of Placement
        Ordered by level, then source, then year.
    changes : tuple of PlacementChange
        Between consecutive years of one level and one source only.
    draws, seed : int
    assumed_se : float
        SE given to published scores without one.
    other_years : bool
        Whether figures of other years were allowed into a comparison.
    benchmarks : str
        Name of the benchmarks table.
    notes : tuple of str
        What was left out and why (Chinese).
    """

    district: str
    placements: tuple[Placement, ...]
    changes: tuple[PlacementChange, ...]
    draws: int
    seed: int
    assumed_se: float = DEFAULT_ASSUMED_SE
    other_years: bool = False
    benchmarks: str = ""
    notes: tuple[str, ...] = ()

    @property
    def year_rule(self) -> str:
        """``"same_year"`` (default) or ``"latest_not_after"`` (other years allowed)."""
        return "latest_not_after" if self.other_years else "same_year"

    def latest(self, level: str, *, source: str = "survey") -> Placement | None:
        """The placement of the latest year of ``level`` from ``source``, or ``None``."""
        candidates = [p for p in self.placements if p.level == level and p.source == source]
        return max(candidates, key=lambda p: p.year) if candidates else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "draws": self.draws,
            "seed": self.seed,
            "assumed_se": self.assumed_se,
            "year_rule": self.year_rule,
            "caveat": dict(INSTRUMENT_CAVEAT),
            "benchmarks": self.benchmarks,
            "placements": [p.to_dict() for p in self.placements],
            "changes": [c.to_dict() for c in self.changes],
            "notes": list(self.notes),
        }


def _validate_draws(draws: int) -> None:
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < MIN_DRAWS:
        raise ValueError(f"draws must be a whole number ≥ {MIN_DRAWS} (statistics.md), got {draws!r}")


def _validate_assumed_se(assumed_se: float) -> None:
    if isinstance(assumed_se, bool) or not isinstance(assumed_se, (int, float, np.floating)):
        raise ValueError(f"assumed_se must be a number of index points, e.g. 1.0; got {assumed_se!r}")
    if not (math.isfinite(assumed_se) and assumed_se >= 0):
        raise ValueError(
            f"assumed_se must be a finite number ≥ 0 (index points; 0 treats published scores as exact), "
            f"got {assumed_se!r}"
        )


def place_among(
    district: DistrictScore,
    units: Sequence[Benchmark],
    *,
    level: str,
    benchmark_year: int | None = None,
    assumed_se: float = DEFAULT_ASSUMED_SE,
    draws: int = MIN_DRAWS,
    seed: int = 2025,
) -> Placement:
    """Simulate the district's rank among ``units``.

    Parameters
    ----------
    district : DistrictScore
        The district's figure and the SE it is drawn with.
    units : sequence of Benchmark
        The competing units (one level, one year).  Each is drawn with its published
        ``se``, or with ``assumed_se`` when none was published.
    level : str
        The level, for the result.
    benchmark_year : int, optional
        Year of ``units`` (default: the district's year).
    assumed_se : float
        SE of a published score without one (index points, ≥ 0; stated in the result).
    draws : int
        Number of simulation draws, ≥ 10,000.
    seed : int
        Seed of the random generator; the same seed gives the same result.

    Returns
    -------
    Placement

    Raises
    ------
    ValueError
        Too few draws, a negative or non-finite assumed SE, or a district figure that is
        not finite with an SE ≥ 0.

    Notes
    -----
    Rank 1 is the highest score.  Exact ties (possible only when both scores have SE 0)
    are broken at random, so a district tied with such a unit is above it with
    probability one half.
    """
    _validate_draws(draws)
    _validate_assumed_se(assumed_se)
    if not math.isfinite(district.estimate) or not (district.se >= 0):
        raise ValueError(
            f"the district's estimate must be finite with se ≥ 0, got {district.estimate!r} ± {district.se!r}"
        )
    rng = np.random.default_rng(seed)
    theta = district.estimate + district.se * rng.standard_normal(draws)
    ordered = sorted(units, key=lambda row: (-row.score, row.unit))
    scores = np.array([row.score for row in ordered], dtype=np.float64)
    spread = np.array([assumed_se if row.se is None else row.se for row in ordered], dtype=np.float64)
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
            se_used=float(spread[j]),
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
        assumed_se=float(assumed_se),
        rank_draws=ranks,
    )


def placement_change(before: Placement, after: Placement) -> PlacementChange:
    """The change in rank from ``before`` to ``after`` (independent simulations).

    Raises
    ------
    ValueError
        When the placements are of different levels or of different sources (a change
        between the monitoring's figure and this survey's is not a change of rank).
    """
    if before.level != after.level:
        raise ValueError(f"cannot compare placements of different levels ({before.level} vs {after.level})")
    if before.source != after.source:
        raise ValueError(
            f"cannot compute a change of rank between figures of different sources ({before.source} {before.year} "
            f"vs {after.source} {after.year}): a survey index and a monitoring score are different instruments"
        )
    difference = after.rank_draws - before.rank_draws
    low, median, high = np.quantile(difference, [0.025, 0.5, 0.975], method="inverted_cdf")
    return PlacementChange(
        level=after.level,
        source=after.source,
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


def _stream_seed(seed: int, level: str, year: int, source: str) -> int:
    """A seed per (level, year, source), so a placement does not depend on which others are run."""
    key = f"{seed}:{level}:{year}" if source == "survey" else f"{seed}:{level}:{year}:{source}"
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _years_text(years: Sequence[int]) -> str:
    return "、".join(str(year) for year in years) or "无"


def rank_district(
    scores: Iterable[DistrictScore],
    benchmarks: BenchmarkTable,
    *,
    district: str = DISTRICT,
    assumed_se: float = DEFAULT_ASSUMED_SE,
    other_years: bool = False,
    draws: int = MIN_DRAWS,
    seed: int = 2025,
) -> Rankings:
    """Place the district at every level and year the benchmarks allow.

    Parameters
    ----------
    scores : iterable of DistrictScore
        The district's survey figures (this wave, earlier waves of this survey).  Rows
        of the benchmarks file naming ``district`` add the monitoring's own figures for
        the district; they are placed separately (source ``monitoring``).
    benchmarks : BenchmarkTable
    district : str
        The district's name as written in the ``unit`` column.
    assumed_se : float
        SE of a published score without one, in index points (≥ 0).
    other_years : bool
        False (default): a figure is compared only with units of its own year; a year
        without published units is left out, with a note.  True: with the latest
        published year not after it, and the placement says the years differ.
    draws, seed : int
        Simulation size (≥ 10,000) and seed.

    Returns
    -------
    Rankings
        One placement per level, source and year that has comparable units; changes of
        rank only between consecutive years of one level and one source.

    Raises
    ------
    ValueError
        Too few draws or a bad ``assumed_se``.
    """
    _validate_draws(draws)
    _validate_assumed_se(assumed_se)
    survey_scores = sorted((score for score in scores if score.source == "survey"), key=lambda score: score.year)
    placements: list[Placement] = []
    changes: list[PlacementChange] = []
    notes: list[str] = []
    for level in benchmarks.levels():
        label = LEVEL_LABELS_ZH.get(level, level)
        years = benchmarks.years(level)
        monitoring = [
            DistrictScore(row.year, row.score, assumed_se if row.se is None else row.se, "published", row.se is None)
            for row in sorted(benchmarks.rows, key=lambda row: row.year)
            if row.level == level and row.unit == district
        ]
        for source, figures in (("monitoring", monitoring), ("survey", survey_scores)):
            placed: list[Placement] = []
            for figure in figures:
                if other_years:
                    candidates = [year for year in years if year <= figure.year]
                    benchmark_year = max(candidates) if candidates else None
                else:
                    benchmark_year = figure.year if figure.year in years else None
                if benchmark_year is None:
                    if source == "survey":
                        notes.append(
                            f"{label}：对标文件中没有{figure.year}年"
                            + ("及更早" if other_years else "")
                            + f"的公布结果（现有{_years_text(years)}年），本区{figure.year}年得分未参与排名。"
                            + ("" if other_years else "与其他年份的公布结果比较须明确选择，且只作参考。")
                        )
                    continue
                units = [row for row in benchmarks.units(level, benchmark_year) if row.unit != district]
                if not units:
                    continue
                placement = place_among(
                    figure,
                    units,
                    level=level,
                    benchmark_year=benchmark_year,
                    assumed_se=assumed_se,
                    draws=draws,
                    seed=_stream_seed(seed, level, figure.year, source),
                )
                if not placement.same_year:
                    notes.append(
                        f"{label}：本区{figure.year}年得分与{benchmark_year}年的公布结果比较，年份不同（按要求比较），只作参考。"
                    )
                placed.append(placement)
            placements.extend(placed)
            for before, after in zip(placed, placed[1:]):
                changes.append(placement_change(before, after))
    return Rankings(
        district=district,
        placements=tuple(placements),
        changes=tuple(changes),
        draws=int(draws),
        seed=int(seed),
        assumed_se=float(assumed_se),
        other_years=bool(other_years),
        benchmarks=benchmarks.name,
        notes=tuple(notes),
    )


def describe_standard_errors(placement: Placement) -> str:
    """How the published figures' uncertainty entered the simulation (one Chinese clause)."""
    if not placement.any_se_assumed:
        return "公布得分均带有标准误，按其标准误模拟"
    if placement.assumed_se == 0:
        return "未公布标准误的得分视为精确值（假定标准误为0）"
    return f"未公布标准误的得分按假定标准误{placement.assumed_se:g}分模拟"


def describe_placement(placement: Placement) -> str:
    """One sentence in Chinese: the median rank with its 95% interval, never a bare rank.

    It names the units' year and level, says when the years differ, and states the SE
    assumed for published scores without one.
    """
    low, high = placement.rank_interval
    scope = "" if placement.complete_list else "（仅在文件所列单位中）"
    where = (
        f"{placement.benchmark_year}年{LEVEL_LABELS_ZH.get(placement.level, placement.level)}"
        f"公布的{placement.n_ranked - 1}个单位"
    )
    interval = f"95%区间为第{low}名（排名确定）" if low == high else f"95%区间为第{low}–{high}名"
    years = "" if placement.same_year else f"（注意：对比的是{placement.benchmark_year}年结果，年份不同，只作参考）"
    return (
        f"与{where}相比{scope}，排名中位数为第{placement.median_rank}名（共{placement.n_ranked}名），{interval}"
        f"；{describe_standard_errors(placement)}{years}。"
    )
