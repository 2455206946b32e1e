"""The report's layout: which charts are drawn, and what each section of the document shows.

:func:`chart_jobs` lists the charts of a report; :func:`document_context` gathers what
``templates/report.html.j2`` prints — sections, tables, charts and sentences.  A trend
chart is drawn only with two waves or more; rankings show this survey's placements (the
monitoring's own placements of the district are a table beside them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..benchmarks import LEVEL_LABELS_ZH
from ..charts import VERDICT_LABELS_ZH
from .render import ChartJob, Namespace
from .tables import ReportTable
from .text import beijing_time, placement_sentence, quality_notes, rankings_intro, summary_points, town_labels

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..charts import Chart
    from ..questionnaire import QuestionnaireSet
    from ..rankings import Placement
    from .analysis import ReportAnalysis
    from .settings import ReportSettings

__all__ = ["LEVEL_ORDER", "SECTIONS", "chart_jobs", "document_context", "survey_placements"]

#: Levels in the order the report shows them.
LEVEL_ORDER: tuple[str, ...] = ("municipality", "province", "national")
SECTIONS: tuple[tuple[str, str], ...] = (
    ("domains", "一、各领域满意度"),
    ("towns", "二、各镇（街道、管理区）结果"),
    ("change", "三、与上期比较及历年趋势"),
    ("drivers", "四、重点改进事项（关键驱动因素）"),
    ("rankings", "五、监测排名对比"),
    ("methodology", "六、方法说明"),
    ("quality", "七、数据质量"),
)


def _target_value(results: Mapping[str, Any]) -> float:
    """The target as people say it (85 for an index of 85 or a satisfied rate of 85%)."""
    target = results.get("target") or {}
    value = float(target.get("value") or 85.0)
    return 100 * value if target.get("metric") == "satisfied_rate" and value <= 1 else value


def survey_placements(analysis: ReportAnalysis) -> list[tuple[str, Placement]]:
    """This survey's latest placement at each level, with its chart name, in :data:`LEVEL_ORDER`."""
    if analysis.rankings is None:
        return []
    found = []
    for level in LEVEL_ORDER:
        placement = analysis.rankings.latest(level, source="survey")
        if placement is not None:
            found.append((f"rank_{level}", placement))
    return found


def chart_jobs(
    analysis: ReportAnalysis,
    settings: ReportSettings,
    *,
    questionnaires: QuestionnaireSet | None = None,
    suppression: Mapping[str, Any] | None = None,
) -> list[ChartJob]:
    """Every chart of the report, in document order."""
    results = analysis.results
    target = _target_value(results)
    illustrative = settings.illustrative
    rule = dict(suppression or {})
    jobs = [
        ChartJob(
            "overall_target", "总体满意度与目标", "overall_target_chart", (results,), {"illustrative": illustrative}
        ),
        ChartJob(
            "domain_index",
            "各领域满意度指数",
            "domain_index_chart",
            (results,),
            {"target": target, "illustrative": illustrative},
        ),
        ChartJob(
            "satisfied_rates",
            "各领域满意率",
            "satisfied_rate_chart",
            (results,),
            {"target": target, "illustrative": illustrative},
        ),
        ChartJob(
            "towns",
            "各镇街总体满意度指数",
            "town_chart",
            (results,),
            {
                "town_labels": town_labels(questionnaires),
                "target": target,
                "min_n": int(rule.get("min_n", 30)),
                "max_cv": float(rule.get("max_cv", 0.3)),
                "illustrative": illustrative,
            },
        ),
    ]
    if sum(1 for point in analysis.trend if point.get("index") is not None) >= 2:
        jobs.append(
            ChartJob(
                "trend",
                "总体满意度历年变化",
                "trend_chart",
                (analysis.trend,),
                {"target": target, "illustrative": illustrative},
            )
        )
    for name, placement in survey_placements(analysis):
        label = LEVEL_LABELS_ZH.get(placement.level, placement.level)
        jobs.append(
            ChartJob(
                name,
                f"{label}名次概率",
                "rank_chart",
                (placement,),
                {"level_label": label, "district": settings.district},
            )
        )
    if analysis.drivers is not None:
        jobs.append(
            ChartJob(
                "priorities",
                "重点改进事项",
                "priority_chart",
                (analysis.drivers.priorities,),
                {"target": target, "illustrative": illustrative},
            )
        )
        for domain, drivers in analysis.drivers.domains.items():
            jobs.append(
                ChartJob(
                    f"ipa_{domain}",
                    f"{drivers.label}重要性—表现分析",
                    "ipa_chart",
                    (drivers,),
                    {"illustrative": illustrative},
                )
            )
    return jobs


def _units_table(tables: Mapping[str, ReportTable], placement: Placement) -> ReportTable | None:
    units = tables.get("rank_units")
    if units is None or units.frame.empty:
        return None
    frame = units.frame
    level = LEVEL_LABELS_ZH.get(placement.level, placement.level)
    chosen = frame[
        (frame["层级"] == level) & (frame["本区得分来源"] == "本调查") & (frame["本区得分年份"] == placement.year)
    ]
    return ReportTable(
        f"rank_units_{placement.level}",
        "",
        f"{level}：与各单位的比较",
        chosen.drop(columns=["层级", "本区得分来源", "本区得分年份"]),
        units.formats,
        wrap=True,
    )


def _monitoring_table(tables: Mapping[str, ReportTable]) -> ReportTable | None:
    placements = tables.get("rankings")
    if placements is None or placements.frame.empty:
        return None
    frame = placements.frame
    chosen = frame[frame["本区得分来源"] == "监测公布得分"]
    if chosen.empty:
        return None
    columns = ["层级", "本区得分年份", "本区得分", "本区标准误", "排名中位数", "95%排名区间", "参与排名数"]
    return ReportTable(
        "rank_monitoring",
        "",
        "监测公布的本区得分在当年公布结果中的名次（与本调查的得分分开计算）",
        chosen.loc[:, columns],
        placements.formats,
    )


def document_context(
    analysis: ReportAnalysis,
    settings: ReportSettings,
    *,
    tables: Mapping[str, ReportTable],
    charts: Mapping[str, Chart],
    questionnaires: QuestionnaireSet | None = None,
    suppression: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What the template prints, section by section."""
    results = analysis.results
    rankings = analysis.rankings
    drivers = analysis.drivers
    comparison = analysis.comparison
    target = results.get("target") or {}
    verdict = target.get("verdict", "inconclusive")
    rule = dict(suppression or {})
    placements = [
        {
            "title": f"{LEVEL_LABELS_ZH.get(placement.level, placement.level)}（{placement.benchmark_year}年公布结果）",
            "sentence": placement_sentence(placement),
            "illustrative": placement.illustrative,
            "chart": charts.get(name),
            "table": _units_table(tables, placement),
        }
        for name, placement in survey_placements(analysis)
    ]
    notes: Sequence[str] = list(drivers.notes if drivers else ())
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
        "overall": {k: (results.get("overall") or {}).get(k) for k in ("index", "ci_low", "ci_high", "n")},
        "target": {"verdict": verdict},
        "target_value": f"{_target_value(results):g}",
        "verdict_label": VERDICT_LABELS_ZH.get(verdict, verdict),
        "summary_points": summary_points(
            results,
            district=settings.district,
            rankings=rankings,
            drivers=drivers,
            comparison=comparison,
            questionnaires=questionnaires,
        ),
        "charts": Namespace(charts),
        "ipa_charts": [chart for name, chart in charts.items() if name.startswith("ipa_")],
        "sections": [{"id": key, "title": title} for key, title in SECTIONS],
        # Jinja's attribute lookup falls back to items, so tables.<name> works; missing
        # optional tables read as None (StrictUndefined would refuse them).
        "tables": Namespace(tables),
        "change_rows": comparison is not None and bool(comparison.changes),
        "previous_label": comparison.previous_label if comparison is not None else "",
        "trend_points": sum(1 for point in analysis.trend if point.get("index") is not None),
        "drivers": drivers is not None and bool(drivers.domains),
        "rankings": rankings is not None,
        "rankings_intro": rankings_intro(rankings) if rankings is not None else "",
        "rankings_notes": list(rankings.notes) if rankings is not None else [],
        "placements": placements,
        "monitoring_table": _monitoring_table(tables),
        "suppression_n": rule.get("min_n", 30),
        "suppression_cv": rule.get("max_cv", 0.3),
        "quality_notes": quality_notes(results, notes=notes),
    }
