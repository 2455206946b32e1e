"""The report's layout: which charts are drawn, and what the first page and each section show.

:func:`chart_jobs` lists the charts of a report; :func:`document_context` gathers what
``templates/report.html.j2`` prints — the leaders' page (both verdicts, the words for
readers), the table of contents and the sections of :mod:`scoring.report.sections`.  A
trend chart is drawn only with two waves or more; rankings show this survey's placements
as results.json holds them (the monitoring's own placements of the district are a table
beside them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..contract import Results
from ..explain import (
    figure_text,
    interval_sentence,
    plan_sentence,
    sample_sentence,
    scale_sentence,
    sensitivity_sentence,
    target_text,
    verdict_rule_sentence,
)
from ..vocabulary import label
from .render import ChartJob, Namespace
from .sections import CHINESE_NUMERALS, ReportSection, SectionInputs
from .text import beijing_time, placements_shown, summary_points, town_labels

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..charts import Chart
    from ..questionnaire import QuestionnaireSet
    from .analysis import ReportAnalysis
    from .settings import ReportSettings
    from .tables import ReportTable

__all__ = ["chart_jobs", "document_context", "section_inputs"]


def section_inputs(
    analysis: ReportAnalysis,
    settings: ReportSettings,
    *,
    questionnaires: QuestionnaireSet | None = None,
    suppression: Mapping[str, Any] | None = None,
) -> SectionInputs:
    """What every section reads (tables and charts are added once made)."""
    return SectionInputs(
        results=analysis.typed,
        analysis=analysis,
        settings=settings,
        questionnaires=questionnaires,
        suppression=dict(suppression or {}),
    )


def chart_jobs(inputs: SectionInputs, sections: Sequence[ReportSection] = ()) -> list[ChartJob]:
    """Every chart of the report, in document order: the built-in ones, then the sections'."""
    results = inputs.results
    settings = inputs.settings
    illustrative = settings.illustrative
    rule = inputs.suppression
    jobs = [
        ChartJob(
            "overall_target", "总体满意度与目标", "overall_target_chart", (results,), {"illustrative": illustrative}
        ),
        ChartJob("domain_index", "各领域满意度指数", "domain_index_chart", (results,), {"illustrative": illustrative}),
        ChartJob("satisfied_rates", "各领域满意率", "satisfied_rate_chart", (results,), {"illustrative": illustrative}),
        ChartJob(
            "towns",
            "各镇街总体满意度指数",
            "town_chart",
            (results,),
            {
                "town_labels": town_labels(inputs.questionnaires),
                "min_n": int(rule.get("min_n", 30)),
                "max_cv": float(rule.get("max_cv", 0.3)),
                "illustrative": illustrative,
            },
        ),
    ]
    trend = results.trend or ()
    if sum(1 for point in trend if point.index is not None) >= 2:
        jobs.append(
            ChartJob(
                "trend",
                "总体满意度历年变化",
                "trend_chart",
                (trend,),
                {"target": results.said_target, "illustrative": illustrative},
            )
        )
    rankings = results.rankings
    for placement in placements_shown(results):
        level_label = label("level", placement.level)
        jobs.append(
            ChartJob(
                f"rank_{placement.level}",
                f"{level_label}名次概率",
                "rank_chart",
                (placement,),
                {
                    "level_label": level_label,
                    "district": settings.district,
                    "draws": rankings.draws if rankings else None,
                    "caveat": rankings.caveat_in("zh") if rankings else "",
                },
            )
        )
    drivers = inputs.analysis.drivers
    if drivers is not None:
        jobs.append(
            ChartJob(
                "priorities",
                "重点改进事项",
                "priority_chart",
                (drivers.priorities,),
                {"target": results.said_target, "illustrative": illustrative},
            )
        )
        for domain, domain_drivers in drivers.domains.items():
            jobs.append(
                ChartJob(
                    f"ipa_{domain}",
                    f"{domain_drivers.label}重要性—表现分析",
                    "ipa_chart",
                    (domain_drivers,),
                    {"illustrative": illustrative},
                )
            )
    for section in sections:
        if section.charts is not None:
            jobs.extend(section.charts(inputs))
    return jobs


def _headline_cards(results: Results) -> list[dict[str, Any]]:
    """The leaders' page: one card per tested metric, the plan's first."""
    cards = []
    for position, (metric, test) in enumerate(results.target_tests()):
        figure = figure_text(metric, test.estimate, test.ci_low, test.ci_high)
        value, _, interval = figure.partition("（")
        cards.append(
            {
                "label": ("总体满意度指数" if metric == "index" else "总体满意率")
                + ("（规划目标口径）" if position == 0 else "（对照口径）"),
                "value": value,
                "interval": interval.rstrip("）"),
                "goal": f"{target_text(metric, test.said_target)}目标",
                "verdict": test.shown_verdict,
                "verdict_label": label("verdict", test.shown_verdict),
            }
        )
    return cards


def document_context(
    analysis: ReportAnalysis,
    inputs: SectionInputs,
    sections: Sequence[ReportSection],
    *,
    tables: Mapping[str, ReportTable],
    charts: Mapping[str, Chart],
) -> dict[str, Any]:
    """What the template prints: the leaders' page, the contents and every section."""
    settings = inputs.settings
    results = inputs.results
    full = replace(inputs, tables=tables, charts=charts)
    shown: list[dict[str, Any]] = []
    for section in sections:
        context = section.context(full)
        if context is None:
            continue
        number = CHINESE_NUMERALS[len(shown)] if len(shown) < len(CHINESE_NUMERALS) else str(len(shown) + 1)
        shown.append(
            {
                "key": section.key,
                "title": section.title,
                "heading": f"{number}、{section.title}",
                "template": section.template,
                "c": Namespace(context),
            }
        )
    overall = results.overall
    return {
        "title": settings.title
        or (
            f"{settings.district}{settings.year}年公共服务满意度调查报告"
            if settings.year
            else f"{settings.district}公共服务满意度调查报告（{settings.wave}期）"
        ),
        "district": settings.district,
        "wave": settings.wave,
        "generated": beijing_time(analysis.generated),
        "illustrative": bool(settings.illustrative),
        "n": overall.n if overall else None,
        "cards": _headline_cards(results),
        "plan_sentence": plan_sentence(results),
        "reading": [
            text
            for text in (
                interval_sentence(),
                verdict_rule_sentence(results.said_target),
                sample_sentence(results),
                sensitivity_sentence(results),
                scale_sentence(results),
            )
            if text
        ],
        "summary_points": summary_points(
            results,
            district=settings.district,
            drivers=analysis.drivers,
            comparison=analysis.comparison,
            questionnaires=inputs.questionnaires,
        ),
        "sections": shown,
        "charts": Namespace(charts),
        # Jinja's attribute lookup falls back to items, so tables.<name> works; missing
        # optional tables read as None (StrictUndefined would refuse them).
        "tables": Namespace(tables),
    }
