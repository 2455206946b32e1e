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

from scoring import explain
from scoring.contract import Results, TargetTest
from scoring.vocabulary import DOMAIN_IDS, DOMAIN_LABELS_EN, DOMAIN_LABELS_ZH, label

#: Width of the domain chart's scale in SVG user units.
SCALE_WIDTH = 200.0


#: One way of reading and printing numbers for the report and the page (:mod:`scoring.explain`).
_number = explain.finite_number
fmt = explain.number_text
fmt_percent = explain.percent_text


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
    verdict: str = "unstable"
    verdict_label: str = ""


@dataclass(frozen=True)
class TownRow:
    code: str
    label: str
    index: float | None
    n: int | None
    suppressed: bool
    suppressed_domains: list[str]
    #: The 95% confidence interval of the town's overall index (None when withheld).
    ci_low: float | None = None
    ci_high: float | None = None


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
    language: str = "zh"

    @property
    def sources_line(self) -> str:
        """``来源：示意数据`` / ``Sources: illustrative figures``."""
        if self.language == "zh":
            return "来源：" + "；".join(self.sources)
        return "Sources: " + "; ".join(self.sources)


@dataclass(frozen=True)
class TargetRow:
    """One reading of the target (index or satisfied rate): its sentence and verdict."""

    metric: str
    role: str
    sentence: str
    verdict: str


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
    targets: list[TargetRow] = field(default_factory=list)
    plan_sentence: str = ""
    interval_sentence: str = ""
    rule_sentence: str = ""
    sample_sentence: str = ""
    sensitivity_sentence: str | None = None
    scale_sentence: str = ""
    caveat: str = ""


def verdict_sentence(
    verdict: str | None,
    *,
    metric: str,
    target: float,
    estimate: float | None,
    low: float | None,
    high: float | None,
    language: str = "zh",
) -> str:
    """The verdict on the target in plain words, agreeing with the interval beside it
    (:func:`scoring.explain.verdict_sentence`; never "95% sure")."""
    value = target / 100 if metric == "satisfied_rate" else target
    test = TargetTest(
        metric=metric,
        target=target,
        value=value,
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        verdict=verdict,
        unstable=verdict is None,
    )
    return explain.verdict_sentence(metric, test, language)


def domain_labels(titles: Mapping[str, str], language: str) -> dict[str, str]:
    """Domain id → label in ``language`` (Chinese labels are fixed; others from the questionnaires)."""
    if language == "zh":
        return dict(DOMAIN_LABELS_ZH)
    return {domain: titles.get(domain) or DOMAIN_LABELS_EN[domain] for domain in DOMAIN_IDS}


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


def _placements(results: Results, language: str) -> list[Placement]:
    """This survey's placements exactly as results.json holds them (``source == "survey"``),
    each with its rank interval, the assumed standard error and its sources."""
    if results.rankings is None:
        return []
    out = []
    for placement in results.rankings.shown(source="survey"):
        level = placement.level or ""
        sources = sorted(
            {
                explain.source_text(unit.source, illustrative=bool(placement.illustrative), language=language)
                for unit in placement.units or ()
                if unit.source
            }
        )
        out.append(
            Placement(
                level,
                label("level_units", level, language),
                explain.placement_sentence(placement, language),
                bool(placement.illustrative),
                sources,
                language,
            )
        )
    return out


def _methodology(results: Results, raw: Mapping[str, Any], language: str) -> list[tuple[str, str]]:
    """The methods in plain words (no codes, no test statistics)."""
    weights, design, overall = results.weights, results.design, results.overall
    method = label("weighting", weights.method if weights else "none", language)
    effective = fmt(weights.effective_n if weights else None, 0)
    variance = label("variance", design.variance if design else "linearization", language)
    rows = [
        (_("Responses scored"), str(overall.n if overall and overall.n is not None else "—")),
        (_("Weighting"), _("%(method)s; effective sample size about %(n)s", method=method, n=effective)),
        (_("Margin of error"), variance),
    ]
    suppression = raw.get("suppression") or {}
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


def page_has_rankings(results: Results) -> bool:
    """True when the page shows at least one of this survey's placements."""
    return bool(results.rankings and results.rankings.shown(source="survey"))


def build_page(
    results: Mapping[str, Any],
    *,
    history: Sequence[Mapping[str, Any]],
    language: str,
    domain_titles: Mapping[str, str],
    town_names: Mapping[str, str],
    item_labels: Mapping[str, str] | None = None,
) -> ResultsPage:
    """The page model of one publication.

    Parameters
    ----------
    results
        The public results (suppressed cells already withheld).
    history
        The overall index of every published wave (``wave, index, ci_low, ci_high``),
        oldest first, this one included.
    item_labels
        Item code → its words in ``language`` (the priority list of the English page).
    """
    typed = Results.coerce(results)
    overall = results.get("overall") or {}
    rate = overall.get("satisfied_rate") or {}
    target = typed.said_target
    metric = typed.plan_metric
    tests = typed.target_tests()
    plan_test = tests[0][1] if tests else TargetTest(metric=metric, target=target)
    domains = results.get("domains") or {}
    scale = _scale(domains, target)
    labels = domain_labels(domain_titles, language)
    page = ResultsPage(
        wave=str((results.get("report") or {}).get("wave") or ""),
        target=target,
        metric=metric,
        verdict=plan_test.shown_verdict,
        verdict_sentence=explain.verdict_sentence(metric, plan_test, language),
        overall_index=_number(overall.get("index")),
        overall_low=_number(overall.get("ci_low")),
        overall_high=_number(overall.get("ci_high")),
        overall_rate=_number(rate.get("estimate")),
        overall_rate_low=_number(rate.get("ci_low")),
        overall_rate_high=_number(rate.get("ci_high")),
        n=overall.get("n"),
        illustrative=typed.illustrative,
        scale=scale,
        target_x=scale.x(target),
    )
    for position, (test_metric, test) in enumerate(tests):
        role = _("The plan's target") if position == 0 else _("For comparison")
        role += "：" if language == "zh" else ": "
        page.targets.append(
            TargetRow(test_metric, role, explain.verdict_sentence(test_metric, test, language), test.shown_verdict)
        )
    page.plan_sentence = explain.plan_sentence(typed, language)
    page.interval_sentence = explain.interval_sentence(language)
    page.rule_sentence = explain.verdict_rule_sentence(target, language)
    page.sample_sentence = explain.sample_sentence(typed, language)
    page.sensitivity_sentence = explain.sensitivity_sentence(typed, language)
    page.scale_sentence = explain.scale_sentence(typed, language)
    page.caveat = typed.rankings.caveat_in(language) if typed.rankings and page_has_rankings(typed) else ""
    for domain, typed_domain in typed.domain_items():
        values = domains[domain] or {}
        domain_rate = values.get("satisfied_rate") or {}
        index = _number(values.get("index"))
        ci_low, ci_high = _number(values.get("ci_low")), _number(values.get("ci_high"))
        verdict = typed_domain.target_test(metric, target).shown_verdict
        if index is None:
            verdict = "unstable"
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
                verdict == "met",
                verdict,
                label("verdict", verdict, language),
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
                None if cell.get("suppressed") else _number(cell.get("ci_low")),
                None if cell.get("suppressed") else _number(cell.get("ci_high")),
            )
        )
    page.trend = _trend(history, target)
    page.placements = _placements(typed, language)
    for priority in ((results.get("drivers") or {}).get("priorities") or [])[:10]:
        domain = priority.get("domain", "")
        page.priorities.append(
            PriorityRow(
                int(priority.get("rank") or 0),
                labels.get(domain, priority.get("domain_label", domain)),
                # The item's words in the page's language (results.json keeps the Chinese).
                (item_labels or {}).get(str(priority.get("item", "")))
                or str(priority.get("label", priority.get("item", ""))),
                _number(priority.get("performance")),
                _number(priority.get("performance_ci_low")),
                _number(priority.get("performance_ci_high")),
                _number(priority.get("relative_importance")),
            )
        )
    page.methodology = _methodology(typed, results, language)
    page.excluded = [
        (label("exclusion", reason, language), int(count))
        for reason, count in (results.get("excluded") or {}).items()
        if isinstance(count, int) and count
    ]
    return page
