"""The report's built-in sections: targets, domains, towns, the sample, change, key drivers,
rankings, methodology and data quality (orders 10 … 90).

Each context function reads the typed results (:class:`scoring.contract.Results`), the
report's tables and charts by name, and the words of :mod:`scoring.explain`; the partial
``scoring/templates/sections/<key>.html.j2`` prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...explain import (
    interval_sentence,
    placement_sentence,
    plan_sentence,
    sample_sentence,
    scale_sentence,
    sensitivity_sentence,
    verdict_rule_sentence,
)
from ...vocabulary import label
from ..tables import ReportTable
from ..text import domain_label, quality_notes, rankings_intro
from . import ReportSection, SectionInputs

__all__ = ["SECTIONS"]


def _targets(inputs: SectionInputs) -> Mapping[str, Any]:
    results = inputs.results
    return {
        "plan": plan_sentence(results),
        "interval": interval_sentence(),
        "rule": verdict_rule_sentence(results.said_target),
        "chart": inputs.charts.get("overall_target"),
        "table": inputs.tables.get("target"),
        "domain_table": inputs.tables.get("domain_targets"),
    }


def _domains(inputs: SectionInputs) -> Mapping[str, Any]:
    results = inputs.results
    overall = results.overall
    left_out = (
        [domain_label(str(entry.domain), inputs.questionnaires) for entry in (overall.left_out_domains or ())]
        if overall
        else []
    )
    unstable = [domain_label(d, inputs.questionnaires) for d, values in results.domain_items() if values.unstable]
    return {
        "scale": scale_sentence(results),
        "index_chart": inputs.charts.get("domain_index"),
        "rate_chart": inputs.charts.get("satisfied_rates"),
        "table": inputs.tables.get("domains"),
        "unstable": "、".join(unstable),
        "left_out": "、".join(left_out),
    }


def _towns(inputs: SectionInputs) -> Mapping[str, Any]:
    return {
        "chart": inputs.charts.get("towns"),
        "table": inputs.tables.get("towns_overall"),
        "min_n": inputs.suppression.get("min_n", 30),
        "max_cv": inputs.suppression.get("max_cv", 0.3),
    }


def _sample(inputs: SectionInputs) -> Mapping[str, Any]:
    results = inputs.results
    screening = results.sensitivity.screening if results.sensitivity else None
    return {
        "sample": sample_sentence(results),
        "sensitivity": sensitivity_sentence(results),
        "table": inputs.tables.get("sensitivity"),
        "screening_problem": bool(screening and screening.problem),
    }


def _change(inputs: SectionInputs) -> Mapping[str, Any]:
    comparison = inputs.analysis.comparison
    points = sum(1 for point in inputs.results.trend or () if point.index is not None)
    return {
        "rows": comparison is not None and bool(comparison.changes),
        "previous_label": comparison.previous_label if comparison is not None else "",
        "table": inputs.tables.get("change"),
        "trend_chart": inputs.charts.get("trend") if points >= 2 else None,
    }


def _drivers(inputs: SectionInputs) -> Mapping[str, Any]:
    drivers = inputs.analysis.drivers
    return {
        "drivers": drivers is not None and bool(drivers.domains),
        "target": f"{inputs.results.said_target:g}",
        "chart": inputs.charts.get("priorities"),
        "table": inputs.tables.get("priorities"),
        "ipa_charts": [chart for name, chart in inputs.charts.items() if name.startswith("ipa_")],
    }


def _units_table(tables: Mapping[str, ReportTable], level: str, year: int | None) -> ReportTable | None:
    units = tables.get("rank_units")
    if units is None or units.frame.empty:
        return None
    frame = units.frame
    level_label = label("level", level)
    chosen = frame[
        (frame["层级"] == level_label)
        & (frame["本区得分来源"] == label("source", "survey"))
        & (frame["本区得分年份"] == year)
    ]
    return ReportTable(
        f"rank_units_{level}",
        "",
        f"{level_label}：与各单位的比较",
        chosen.drop(columns=["层级", "本区得分来源", "本区得分年份"]),
        units.formats,
        wrap=True,
    )


def _monitoring_table(tables: Mapping[str, ReportTable]) -> ReportTable | None:
    placements = tables.get("rankings")
    if placements is None or placements.frame.empty:
        return None
    frame = placements.frame
    chosen = frame[frame["本区得分来源"] == label("origin", "published")]
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


def _rankings(inputs: SectionInputs) -> Mapping[str, Any]:
    rankings = inputs.results.rankings
    if rankings is None:
        return {"rankings": False}
    blocks = [
        {
            "title": f"{label('level', placement.level)}（{placement.benchmark_year}年公布结果）",
            "sentence": placement_sentence(placement),
            "illustrative": bool(placement.illustrative),
            "chart": inputs.charts.get(f"rank_{placement.level}"),
            "table": _units_table(inputs.tables, str(placement.level), placement.year),
        }
        for placement in rankings.shown(source="survey")
    ]
    return {
        "rankings": True,
        "intro": rankings_intro(rankings),
        "placements": blocks,
        "monitoring_table": _monitoring_table(inputs.tables),
        "changes_table": inputs.tables.get("rank_changes"),
        "notes": list(rankings.notes or ()),
    }


def _methodology(inputs: SectionInputs) -> Mapping[str, Any]:
    return {"table": inputs.tables.get("methodology"), "inputs": inputs.tables.get("inputs")}


def _quality(inputs: SectionInputs) -> Mapping[str, Any]:
    drivers = inputs.analysis.drivers
    return {
        "exclusions": inputs.tables.get("exclusions"),
        "table": inputs.tables.get("quality"),
        "notes": quality_notes(inputs.results, notes=list(drivers.notes if drivers else ())),
    }


SECTIONS: tuple[ReportSection, ...] = (
    ReportSection("targets", "目标检验：满意度指数与满意率", 10, _targets),
    ReportSection("domains", "各领域满意度", 20, _domains),
    ReportSection("towns", "各镇（街道、管理区）结果", 30, _towns),
    ReportSection("sample", "样本来源与敏感性分析", 40, _sample),
    ReportSection("change", "与上期比较及历年趋势", 50, _change),
    ReportSection("drivers", "重点改进事项（关键驱动因素）", 60, _drivers),
    ReportSection("rankings", "监测排名对比", 70, _rankings),
    ReportSection("methodology", "方法说明", 80, _methodology),
    ReportSection("quality", "数据质量", 90, _quality),
)
