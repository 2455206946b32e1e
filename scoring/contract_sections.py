"""The results contract's records of the comparison sections: rankings among districts, key
drivers and priorities, change between waves, and the trend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import vocabulary as vocab
from .contract_base import (
    Record,
    _values,
)


@dataclass(frozen=True)
class DistrictFigure(Record):
    estimate: float | None = None
    se: float | None = None
    se_assumed: bool | None = None
    origin: str | None = field(default=None, metadata=_values(*vocab.ORIGINS))
    source: str | None = field(default=None, metadata=_values(*vocab.SOURCES))
    wave: str | None = None


@dataclass(frozen=True)
class RankedUnit(Record):
    unit: str | None = None
    score: float | None = None
    se: float | None = None
    se_used: float | None = None
    se_assumed: bool | None = None
    published_rank: int | None = None
    probability_above: float | None = None
    illustrative: bool | None = None
    source: str | None = None


@dataclass(frozen=True)
class Placement(Record):
    """The district's place among the units of one level and year, from one source."""

    level: str | None = field(default=None, metadata=_values(*vocab.LEVELS))
    year: int | None = None
    benchmark_year: int | None = None
    same_year: bool | None = None
    source: str | None = field(default=None, metadata=_values(*vocab.SOURCES))
    district: DistrictFigure | None = None
    assumed_se: float | None = None
    n_ranked: int | None = None
    rank_probabilities: dict[str, float] | None = None
    median_rank: int | None = None
    rank_interval: list[int] | None = None
    complete_list: bool | None = None
    illustrative: bool | None = None
    units: tuple[RankedUnit, ...] | None = None


@dataclass(frozen=True)
class RankChange(Record):
    level: str | None = field(default=None, metadata=_values(*vocab.LEVELS))
    source: str | None = field(default=None, metadata=_values(*vocab.SOURCES))
    from_year: int | None = None
    to_year: int | None = None
    from_median_rank: int | None = None
    to_median_rank: int | None = None
    from_n_ranked: int | None = None
    to_n_ranked: int | None = None
    median_change: int | None = None
    interval: list[int] | None = None
    probability_improved: float | None = None
    probability_unchanged: float | None = None
    probability_worse: float | None = None


#: The order levels are shown in (nearest first).
LEVEL_ORDER: tuple[str, ...] = ("municipality", "province", "national")


@dataclass(frozen=True)
class Rankings(Record):
    """Every placement and the changes of rank within one source."""

    district: str | None = None
    draws: int | None = None
    seed: int | None = None
    assumed_se: float | None = None
    year_rule: str | None = field(default=None, metadata=_values(*vocab.YEAR_RULES))
    caveat: dict[str, str] | None = None
    benchmarks: str | None = None
    placements: tuple[Placement, ...] | None = None
    changes: tuple[RankChange, ...] | None = None
    notes: list[str] | None = None

    def latest(self, level: str, *, source: str = "survey") -> Placement | None:
        """The placement of the latest year of ``level`` from ``source``."""
        found = [p for p in self.placements or () if p.level == level and p.source == source]
        return max(found, key=lambda p: p.year or 0) if found else None

    def shown(self, *, source: str = "survey") -> list[Placement]:
        """The latest placement of each level from ``source``, nearest level first: the
        placements every output shows as the district's rank (``survey``), or the
        monitoring's own figures for the district (``monitoring``)."""
        return [p for level in LEVEL_ORDER if (p := self.latest(level, source=source)) is not None]

    def caveat_in(self, language: str) -> str:
        return (self.caveat or {}).get(language) or ""


@dataclass(frozen=True)
class DriverItem(Record):
    item: str | None = None
    label: str | None = None
    importance: float | None = None
    importance_se: float | None = None
    importance_ci_low: float | None = None
    importance_ci_high: float | None = None
    importance_share: float | None = None
    share_ci_low: float | None = None
    share_ci_high: float | None = None
    relative_importance: float | None = None
    performance: float | None = None
    performance_se: float | None = None
    performance_ci_low: float | None = None
    performance_ci_high: float | None = None
    n: int | None = None
    quadrant: str | None = field(default=None, metadata=_values(*vocab.QUADRANTS))


@dataclass(frozen=True)
class DriverDomain(Record):
    label: str | None = None
    r_squared: float | None = None
    r_squared_ci_low: float | None = None
    r_squared_ci_high: float | None = None
    n: int | None = None
    importance_mean: float | None = None
    performance_mean: float | None = None
    correlations_repaired: bool | None = None
    items: tuple[DriverItem, ...] | None = None


@dataclass(frozen=True)
class Priority(Record):
    rank: int | None = None
    domain: str | None = None
    domain_label: str | None = None
    item: str | None = None
    label: str | None = None
    relative_importance: float | None = None
    performance: float | None = None
    performance_ci_low: float | None = None
    performance_ci_high: float | None = None
    gap: float | None = None
    score: float | None = None


@dataclass(frozen=True)
class Drivers(Record):
    importance: str | None = None
    correlations: str | None = None
    variance: str | None = None
    replicates: int | None = None
    df: float | None = None
    target: float | None = None
    notes: list[str] | None = None
    domains: dict[str, DriverDomain] | None = None
    priorities: tuple[Priority, ...] | None = None


@dataclass(frozen=True)
class SettingDifference(Record):
    setting: str | None = None
    current: Any = None
    previous: Any = None


@dataclass(frozen=True)
class ChangeEntry(Record):
    scope: str | None = None
    metric: str | None = field(default=None, metadata=_values(*vocab.TARGET_METRICS))
    current: float | None = None
    previous: float | None = None
    difference: float | None = None
    se: float | None = None
    df: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    significant: bool | None = None
    comparable: bool | None = None


@dataclass(frozen=True)
class Change(Record):
    previous: str | None = None
    comparable: bool | None = None
    differences: tuple[SettingDifference, ...] | None = None
    adjustment: str | None = None
    notes: list[str] | None = None
    changes: dict[str, ChangeEntry] | None = None


@dataclass(frozen=True)
class TrendPoint(Record):
    wave: str | None = None
    year: int | None = None
    index: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    se: float | None = None
    satisfied_rate: float | None = None
