"""What the public results page shows, computed from a frozen results.json.

Pure functions over plain data (no request, no database): the template receives
ready-made rows, sentences and chart geometry.  Charts are inline SVG drawn from
coordinates computed here, so the page needs no script and no image request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from scoring.questionnaire import DOMAIN_IDS, DOMAIN_LABELS_ZH

LEVEL_LABELS = {
    "municipality": ("荆州市各县（市、区）", "counties and districts of Jingzhou"),
    "province": ("湖北省各市（州）", "prefectures of Hubei"),
    "national": ("全国", "national"),
}
#: Width of the domain chart's scale in SVG user units.
SCALE_WIDTH = 200.0


def _number(value: Any) -> float | None:
    """A finite float, or None (missing, null, NaN)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt(value: Any, digits: int = 1) -> str:
    number = _number(value)
    return "—" if number is None else f"{number:.{digits}f}"


def fmt_percent(value: Any, digits: int = 1) -> str:
    number = _number(value)
    return "—" if number is None else f"{100 * number:.{digits}f}%"


@dataclass(frozen=True)
class Scale:
    """Index points → x on the domain chart (``low`` … 100)."""

    low: float
    high: float = 100.0

    def x(self, value: float | None) -> float:
        if value is None:
            return 0.0
        clipped = min(max(value, self.low), self.high)
        return round((clipped - self.low) / (self.high - self.low) * SCALE_WIDTH, 1)

    @property
    def ticks(self) -> list[tuple[float, int]]:
        step = 10
        first = int(math.ceil(self.low / step) * step)
        return [(self.x(value), value) for value in range(first, int(self.high) + 1, step)]


@dataclass(frozen=True)
class DomainRow:
    domain: str
    label: str
    index: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    rate: float | None
    rate_low: float | None
    rate_high: float | None
    x_index: float
    x_low: float
    x_high: float
    meets_target: bool


@dataclass(frozen=True)
class TownRow:
    code: str
    label: str
    index: float | None
    n: int | None
    suppressed: bool
    suppressed_domains: list[str]


@dataclass(frozen=True)
class TrendPoint:
    wave: str
    index: float | None
    ci_low: float | None
    ci_high: float | None
    x: float = 0.0
    y: float = 0.0
    y_low: float = 0.0
    y_high: float = 0.0


@dataclass(frozen=True)
class Trend:
    points: list[TrendPoint]
    target_y: float
    ticks: list[tuple[float, int]]
    path: str
    width: int = 320
    height: int = 170


@dataclass(frozen=True)
class Placement:
    level: str
    label: str
    sentence: str
    illustrative: bool
    sources: list[str]


@dataclass(frozen=True)
class PriorityRow:
    rank: int
    domain_label: str
    label: str
    performance: float | None
    performance_low: float | None
    performance_high: float | None
    relative_importance: float | None


@dataclass
class ResultsPage:
    """Everything ``results/year.html`` shows."""

    wave: str
    target: float
    metric: str
    verdict: str
    verdict_sentence: str
    overall_index: float | None
    overall_low: float | None
    overall_high: float | None
    overall_rate: float | None
    overall_rate_low: float | None
    overall_rate_high: float | None
    n: int | None
    illustrative: bool
    scale: Scale
    target_x: float
    domains: list[DomainRow] = field(default_factory=list)
    towns: list[TownRow] = field(default_factory=list)
    trend: Trend | None = None
    placements: list[Placement] = field(default_factory=list)
    priorities: list[PriorityRow] = field(default_factory=list)
    methodology: list[tuple[str, str]] = field(default_factory=list)
    excluded: list[tuple[str, int]] = field(default_factory=list)


def verdict_sentence(
    verdict: str, *, metric: str, target: float, estimate: float | None, low: float | None, high: float | None
) -> str:
    """The verdict on the target in plain words."""
    if metric == "satisfied_rate":
        what = _("The overall satisfied rate")
        value, interval = fmt_percent(estimate), f"{fmt_percent(low)}–{fmt_percent(high)}"
        goal = f"{target:g}%"
    else:
        what = _("The overall satisfaction index")
        value, interval = fmt(estimate), f"{fmt(low)}–{fmt(high)}"
        goal = f"{target:g}"
    start = _(
        "%(what)s is %(value)s (95%% confidence interval %(interval)s).", what=what, value=value, interval=interval
    )
    if verdict == "met":
        end = _(
            "The target of %(goal)s or more is met: we can be 95%% sure the true value is above %(goal)s.", goal=goal
        )
    elif verdict == "not_met":
        end = _(
            "The target of %(goal)s or more is not met: we can be 95%% sure the true value is below %(goal)s.",
            goal=goal,
        )
    else:
        end = _(
            "We cannot yet tell whether the target of %(goal)s is met: the interval includes %(goal)s, so the survey cannot "
            "separate the result from the target.",
            goal=goal,
        )
    return f"{start} {end}"


def domain_labels(titles: Mapping[str, str], language: str) -> dict[str, str]:
    """Domain id → label in ``language`` (Chinese labels are fixed; others from the questionnaires)."""
    if language == "zh":
        return dict(DOMAIN_LABELS_ZH)
    return {domain: titles.get(domain, DOMAIN_LABELS_ZH[domain]) for domain in DOMAIN_IDS}


def _scale(domains: Mapping[str, Any], target: float) -> Scale:
    lows = [_number(values.get("ci_low")) for values in domains.values()]
    lowest = min([value for value in lows if value is not None] + [target])
    return Scale(low=max(0.0, math.floor((lowest - 5) / 10) * 10))


def _trend(history: Sequence[Mapping[str, Any]], target: float) -> Trend | None:
    points = [point for point in history if _number(point.get("index")) is not None]
    if not points:
        return None
    width, height, left, right, top, bottom = 320, 170, 34, 12, 12, 28
    values = [_number(p.get("ci_low")) or _number(p.get("index")) for p in points] + [target]
    low = max(0.0, math.floor((min(values) - 5) / 5) * 5)
    high = 100.0

    def y(value: float | None) -> float:
        value = low if value is None else min(max(value, low), high)
        return round(top + (high - value) / (high - low) * (height - top - bottom), 1)

    step = (width - left - right) / max(1, len(points) - 1) if len(points) > 1 else 0
    built = []
    for position, point in enumerate(points):
        x = round(left + position * step if len(points) > 1 else (left + width - right) / 2, 1)
        index = _number(point.get("index"))
        ci_low, ci_high = _number(point.get("ci_low")), _number(point.get("ci_high"))
        built.append(
            TrendPoint(
                str(point.get("wave")),
                index,
                ci_low,
                ci_high,
                x,
                y(index),
                y(ci_low if ci_low is not None else index),
                y(ci_high if ci_high is not None else index),
            )
        )
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(built))
    tick_step = 10 if high - low > 20 else 5
    first = int(math.ceil(low / tick_step) * tick_step)
    ticks = [(y(value), value) for value in range(first, int(high) + 1, tick_step)]
    return Trend(built, y(target), ticks, path, width, height)


def _placements(rankings: Mapping[str, Any] | None, language: str) -> list[Placement]:
    if not rankings:
        return []
    latest: dict[str, Mapping[str, Any]] = {}
    for placement in rankings.get("placements") or []:
        level = placement.get("level")
        if level and (level not in latest or placement.get("year", 0) >= latest[level].get("year", 0)):
            latest[level] = placement
    out = []
    for level in ("municipality", "province", "national"):
        placement = latest.get(level)
        if placement is None:
            continue
        zh, en = LEVEL_LABELS.get(level, (level, level))
        label = en if language == "en" else zh
        low, high = (placement.get("rank_interval") or [None, None])[:2]
        n_ranked = placement.get("n_ranked")
        if low == high:
            interval = _("rank %(low)s with certainty", low=low)
        else:
            interval = _("95%% interval: rank %(low)s to %(high)s", low=low, high=high)
        sentence = _(
            "Among the %(units)s units of %(label)s published for %(year)s, the district's median rank is %(median)s of %(n)s (%(interval)s).",
            units=(n_ranked or 1) - 1,
            label=label,
            year=placement.get("benchmark_year"),
            median=placement.get("median_rank"),
            n=n_ranked,
            interval=interval,
        )
        if not placement.get("complete_list", True):
            sentence += " " + _("The published list is incomplete: the rank is among the listed units only.")
        sources = sorted({str(unit.get("source")) for unit in placement.get("units") or [] if unit.get("source")})
        out.append(Placement(level, label, sentence, bool(placement.get("illustrative")), sources))
    return out


def _methodology(results: Mapping[str, Any]) -> list[tuple[str, str]]:
    weights = results.get("weights") or {}
    design = results.get("design") or {}
    overall = results.get("overall") or {}
    target = results.get("target") or {}
    rows = [
        (_("Responses scored"), str(overall.get("n", "—"))),
        (
            _("Weighting"),
            f"{weights.get('method', '—')} · {_('effective sample size')} {fmt(weights.get('effective_n'), 0)} · {_('design effect')} {fmt(weights.get('deff'), 2)}",
        ),
        (
            _("Variance"),
            f"{design.get('variance', '—')} · {_('strata')} {design.get('strata', '—')} · {_('clusters')} {design.get('clusters', '—')} · df {design.get('df', '—')}",
        ),
        (
            _("Target test"),
            f"{target.get('metric', '—')} ≥ {target.get('value', '—')} · t = {fmt(target.get('statistic'), 2)} · p = {fmt(target.get('p_value'), 3)}",
        ),
        (_("Scoring engine version"), str(results.get("version", "—"))),
    ]
    suppression = results.get("suppression") or {}
    rows.append(
        (
            _("Suppression"),
            _(
                "cells with fewer than %(n)s responses or a CV above %(cv)s are not published",
                n=suppression.get("min_n", 30),
                cv=suppression.get("max_cv", 0.3),
            ),
        )
    )
    return rows


def build_page(
    results: Mapping[str, Any],
    *,
    history: Sequence[Mapping[str, Any]],
    language: str,
    domain_titles: Mapping[str, str],
    town_names: Mapping[str, str],
) -> ResultsPage:
    """The page model of one publication.

    Parameters
    ----------
    results
        The public results (suppressed cells already withheld).
    history
        The overall index of every published wave (``wave, index, ci_low, ci_high``),
        oldest first, this one included.
    """
    overall = results.get("overall") or {}
    rate = overall.get("satisfied_rate") or {}
    target_info = results.get("target") or {}
    target = _number(target_info.get("value")) or 85.0
    metric = str(target_info.get("metric") or "index")
    verdict = str(target_info.get("verdict") or "inconclusive")
    if metric == "satisfied_rate":
        estimate, low, high = _number(rate.get("estimate")), _number(rate.get("ci_low")), _number(rate.get("ci_high"))
    else:
        estimate, low, high = (
            _number(overall.get("index")),
            _number(overall.get("ci_low")),
            _number(overall.get("ci_high")),
        )
    domains = results.get("domains") or {}
    scale = _scale(domains, target)
    labels = domain_labels(domain_titles, language)
    page = ResultsPage(
        wave=str((results.get("report") or {}).get("wave") or ""),
        target=target,
        metric=metric,
        verdict=verdict,
        verdict_sentence=verdict_sentence(verdict, metric=metric, target=target, estimate=estimate, low=low, high=high),
        overall_index=_number(overall.get("index")),
        overall_low=_number(overall.get("ci_low")),
        overall_high=_number(overall.get("ci_high")),
        overall_rate=_number(rate.get("estimate")),
        overall_rate_low=_number(rate.get("ci_low")),
        overall_rate_high=_number(rate.get("ci_high")),
        n=overall.get("n"),
        illustrative=bool((results.get("report") or {}).get("illustrative")),
        scale=scale,
        target_x=scale.x(target),
    )
    for domain in [d for d in DOMAIN_IDS if d in domains] + [d for d in domains if d not in DOMAIN_IDS]:
        values = domains[domain] or {}
        domain_rate = values.get("satisfied_rate") or {}
        index = _number(values.get("index"))
        ci_low, ci_high = _number(values.get("ci_low")), _number(values.get("ci_high"))
        page.domains.append(
            DomainRow(
                domain,
                labels.get(domain, domain),
                index,
                ci_low,
                ci_high,
                values.get("n"),
                _number(domain_rate.get("estimate")),
                _number(domain_rate.get("ci_low")),
                _number(domain_rate.get("ci_high")),
                scale.x(index),
                scale.x(ci_low if ci_low is not None else index),
                scale.x(ci_high if ci_high is not None else index),
                index is not None and index >= target,
            )
        )
    for code, cells in ((results.get("subgroups") or {}).get("town") or {}).items():
        cells = cells or {}
        cell = cells.get("overall") or {}
        suppressed_domains = [
            labels.get(scope, scope)
            for scope, values in cells.items()
            if scope != "overall" and (values or {}).get("suppressed")
        ]
        page.towns.append(
            TownRow(
                code,
                town_names.get(code, code),
                None if cell.get("suppressed") else _number(cell.get("index")),
                cell.get("n"),
                bool(cell.get("suppressed")),
                suppressed_domains,
            )
        )
    page.trend = _trend(history, target)
    page.placements = _placements(results.get("rankings"), language)
    for priority in ((results.get("drivers") or {}).get("priorities") or [])[:10]:
        domain = priority.get("domain", "")
        page.priorities.append(
            PriorityRow(
                int(priority.get("rank") or 0),
                labels.get(domain, priority.get("domain_label", domain)),
                str(priority.get("label", priority.get("item", ""))),
                _number(priority.get("performance")),
                _number(priority.get("performance_ci_low")),
                _number(priority.get("performance_ci_high")),
                _number(priority.get("relative_importance")),
            )
        )
    page.methodology = _methodology(results)
    page.excluded = [(str(reason), int(count)) for reason, count in (results.get("excluded") or {}).items() if count]
    return page
