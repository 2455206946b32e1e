"""The plan-accountability records (index figures, item priorities, task and indicator results,
lead units' ranks and changes) and the fixed rules they state: weighting, priority, ranking.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: How a task's or a lead unit's composite index is weighted (written into results.json).
WEIGHTING = (
    "equal weight per item: the mean of the indices of the distinct aspect items that measure the task (or the "
    "tasks the unit leads); unstable items are left out and the weights of the others renormalised (with no "
    "stable item every item with respondents is used and the composite is unstable); variance of the linearized "
    "combination on the design (covariances between items included), df and n of the residents who answered at "
    "least one of its items"
)


#: How the three items to fix first are chosen.
PRIORITY_RULE = (
    "the unit's stable items below the target, ranked by relative importance (key drivers; 1 without them) × "
    "points missing to the target, then by lower index"
)


#: How ranks among lead units are simulated.
RANKING_METHOD = "joint_normal_design_covariance"


_RANKING_DESCRIPTION = (
    "θ* drawn from the joint normal distribution of the stable units' composite indices with their design "
    "covariance (shared items and respondents), rank 1 = highest; median rank and 95% rank interval"
)


_MIN_DRAWS = 10_000


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class IndexFigure:
    """An index (0–100) with its interval, n, PSUs, df, stability and suppression.

    ``unstable`` follows :class:`scoring.satisfaction.Stability`; ``suppressed`` (withheld
    from the public) is unstable, fewer than ``suppress_min_n`` respondents, or a CV above
    ``suppress_max_cv``.
    """

    index: float
    se: float
    ci_low: float
    ci_high: float
    df: int
    n: int
    psus: int
    unstable: bool
    unstable_reason: str | None
    suppressed: bool
    suppression_reason: str | None

    @property
    def cv(self) -> float:
        if not (math.isfinite(self.index) and math.isfinite(self.se)) or self.index == 0:
            return math.nan
        return self.se / abs(self.index)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": _finite_or_none(self.index),
            "se": _finite_or_none(self.se),
            "ci_low": _finite_or_none(self.ci_low),
            "ci_high": _finite_or_none(self.ci_high),
            "df": int(self.df),
            "n": int(self.n),
            "psus": int(self.psus),
            "cv": _finite_or_none(self.cv),
            "unstable": bool(self.unstable),
            "unstable_reason": self.unstable_reason,
            "suppressed": bool(self.suppressed),
            "suppression_reason": self.suppression_reason,
        }


@dataclass(frozen=True)
class ItemPriority:
    """How urgent an item is: relative importance × points missing to the target.

    ``relative_importance`` and ``quadrant`` come from the key drivers (None without them);
    ``district_rank`` is the item's place in the district's priority list, if it is there.
    """

    relative_importance: float | None
    quadrant: str | None
    gap: float
    score: float
    district_rank: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "relative_importance": None
            if self.relative_importance is None
            else _finite_or_none(self.relative_importance),
            "quadrant": self.quadrant,
            "gap": _finite_or_none(self.gap),
            "score": _finite_or_none(self.score),
            "district_rank": self.district_rank,
        }


@dataclass(frozen=True)
class ItemResult:
    """One aspect item: its figure, the tasks it measures, what residents answered, its priority."""

    item: str
    domain: str
    label_zh: str
    label_en: str
    tasks: tuple[int, ...]
    figure: IndexFigure
    satisfied_share: float
    dissatisfied_share: float
    priority: ItemPriority

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "domain": self.domain,
            "label": {"zh": self.label_zh, "en": self.label_en},
            "tasks": list(self.tasks),
            **self.figure.to_dict(),
            "satisfied_share": _finite_or_none(self.satisfied_share),
            "dissatisfied_share": _finite_or_none(self.dissatisfied_share),
            "priority": self.priority.to_dict(),
        }


@dataclass(frozen=True)
class IndicatorRecord:
    """A yearly value of a plan indicator, as the office records it.

    ``code`` is the indicator's code in the plan (``t01.preschool_enrolment``), ``year`` the
    calendar year the value stands for, ``value`` a number in the indicator's unit,
    ``source`` where it comes from (required: no figure without a citation).
    """

    code: str
    year: int
    value: float
    source: str
    note: str = ""


@dataclass(frozen=True)
class IndicatorProgress:
    """A plan indicator against its target: the value used and ``met``/``not_yet``/``no_data``."""

    code: str
    task: int | None
    name_zh: str
    name_en: str
    target: float
    unit_zh: str
    unit_en: str
    direction: str
    target_year: int
    measure: str
    value: float | None
    value_year: int | None
    source: str | None
    note: str | None
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "task": self.task,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "target": self.target,
            "unit": {"zh": self.unit_zh, "en": self.unit_en},
            "direction": self.direction,
            "target_year": self.target_year,
            "measure": self.measure,
            "value": self.value,
            "value_year": self.value_year,
            "source": self.source,
            "note": self.note,
            "status": self.status,
        }


@dataclass(frozen=True)
class TaskResult:
    """One plan task: the items that measure it, a task index, its indicators."""

    number: int
    domain: str
    title_zh: str
    title_en: str
    lead_units: tuple[str, ...]
    items: tuple[str, ...]
    left_out_items: tuple[tuple[str, str], ...]
    figure: IndexFigure | None
    indicators: tuple[str, ...]
    measured_by_survey: bool

    def to_dict(self, items: Mapping[str, ItemResult], progress: Mapping[str, IndicatorProgress]) -> dict[str, Any]:
        statuses = [progress[code].status for code in self.indicators if code in progress]
        return {
            "number": self.number,
            "domain": self.domain,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "lead_units": list(self.lead_units),
            "measured_by_survey": self.measured_by_survey,
            "items": [items[code].to_dict() for code in self.items],
            "left_out_items": [{"item": item, "reason": reason} for item, reason in self.left_out_items],
            "index": None if self.figure is None else self.figure.to_dict(),
            "indicators": {
                "codes": list(self.indicators),
                "met": statuses.count("met"),
                "not_yet": statuses.count("not_yet"),
                "no_data": statuses.count("no_data"),
            },
        }


@dataclass(frozen=True)
class UnitRank:
    """A lead unit's simulated rank among the stable lead units (1 = highest composite)."""

    median_rank: int
    rank_interval: tuple[int, int]
    n_ranked: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_rank": self.median_rank,
            "rank_interval": list(self.rank_interval),
            "n_ranked": self.n_ranked,
        }


@dataclass(frozen=True)
class UnitChange:
    """The change of a unit's composite against the previous wave (independent samples).

    ``comparable`` is false when the unit's items differ between the waves (the plan or the
    questionnaires changed); ``significant`` reads the Holm-adjusted p-value across units.
    """

    previous: str
    current: float
    previous_index: float
    difference: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    significant: bool
    comparable: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "previous": self.previous,
            "current": _finite_or_none(self.current),
            "previous_index": _finite_or_none(self.previous_index),
            "difference": _finite_or_none(self.difference),
            "se": _finite_or_none(self.se),
            "df": _finite_or_none(self.df),
            "ci_low": _finite_or_none(self.ci_low),
            "ci_high": _finite_or_none(self.ci_high),
            "p_value": _finite_or_none(self.p_value),
            "p_adjusted": _finite_or_none(self.p_adjusted),
            "significant": bool(self.significant),
            "comparable": bool(self.comparable),
        }


@dataclass(frozen=True)
class LeadUnitResult:
    """A lead unit: its tasks, items, composite index, verdict, priorities, rank and change."""

    code: str
    name_zh: str
    name_en: str
    tasks: tuple[int, ...]
    items: tuple[str, ...]
    left_out_items: tuple[tuple[str, str], ...]
    figure: IndexFigure
    verdict: str | None
    priorities: tuple[str, ...]
    respondents: int
    satisfied_share: float
    dissatisfied_share: float
    rank: UnitRank | None = None
    change: UnitChange | None = None

    def to_dict(self, items: Mapping[str, ItemResult]) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "tasks": list(self.tasks),
            "items": list(self.items),
            "left_out_items": [{"item": item, "reason": reason} for item, reason in self.left_out_items],
            **self.figure.to_dict(),
            "verdict": self.verdict,
            "priorities": [items[code].to_dict() for code in self.priorities],
            "residents": {
                "n": int(self.respondents),
                "satisfied_share": _finite_or_none(self.satisfied_share),
                "dissatisfied_share": _finite_or_none(self.dissatisfied_share),
            },
            "rank": None if self.rank is None else self.rank.to_dict(),
            "change": None if self.change is None else self.change.to_dict(),
        }


@dataclass(frozen=True)
class PlanAccountability:
    """Everything :func:`plan_accountability` computed; :meth:`to_dict` gives the results keys.

    ``to_dict()`` returns ``plan`` (what was done and how), ``tasks`` (by task number as
    text), ``lead_units`` (by unit code, in the plan's order) and ``indicators`` (by code):
    docs/contracts.md, "Plan tasks and lead units".
    """

    plan_version: str
    plan_document: str
    plan_title_zh: str
    year: int | None
    target: float
    items: Mapping[str, ItemResult] = field(repr=False)
    tasks: tuple[TaskResult, ...] = field(repr=False)
    units: tuple[LeadUnitResult, ...] = field(repr=False)
    indicators: tuple[IndicatorProgress, ...] = field(repr=False)
    draws: int = _MIN_DRAWS
    seed: int = 2025
    previous: str | None = None
    notes: tuple[str, ...] = ()
    unit_covariance: np.ndarray | None = field(default=None, repr=False, compare=False)

    def covariance(self, first: str, second: str) -> float:
        """The design covariance of two lead units' composite indices (what the rank simulation draws from)."""
        if self.unit_covariance is None:
            raise KeyError("no covariance was computed")
        codes = [unit.code for unit in self.units]
        return float(self.unit_covariance[codes.index(first), codes.index(second)])

    def unit(self, code: str) -> LeadUnitResult:
        for unit in self.units:
            if unit.code == code:
                return unit
        raise KeyError(f"no lead unit {code!r} in the results; lead units: {', '.join(u.code for u in self.units)}")

    def task(self, number: int) -> TaskResult:
        for task in self.tasks:
            if task.number == number:
                return task
        raise KeyError(f"no task {number} in the results")

    def to_dict(self) -> dict[str, Any]:
        progress = {indicator.code: indicator for indicator in self.indicators}
        ranked = [unit.code for unit in self.units if unit.rank is not None]
        return {
            "plan": {
                "version": self.plan_version,
                "document": self.plan_document,
                "title": self.plan_title_zh,
                "year": self.year,
                "target": self.target,
                "weighting": WEIGHTING,
                "priority_rule": PRIORITY_RULE,
                "ranking": {
                    "method": RANKING_METHOD,
                    "description": _RANKING_DESCRIPTION,
                    "draws": self.draws,
                    "seed": self.seed,
                    "n_ranked": len(ranked),
                    "not_ranked": [
                        {"unit": unit.code, "reason": unit.figure.unstable_reason or "unstable"}
                        for unit in self.units
                        if unit.rank is None
                    ],
                },
                "previous": self.previous,
                "notes": list(self.notes),
            },
            "tasks": {str(task.number): task.to_dict(self.items, progress) for task in self.tasks},
            "lead_units": {unit.code: unit.to_dict(self.items) for unit in self.units},
            "indicators": {indicator.code: indicator.to_dict() for indicator in self.indicators},
        }
