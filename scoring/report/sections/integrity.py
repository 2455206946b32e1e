"""The report's 数据真实性 (integrity) section, from ``results["integrity"]`` (docs/integrity.md).

It says which checks ran, how many responses the screening left out and why, which
collection points (and network addresses, browsers) were flagged with the evidence in
plain Chinese, the office's exclusions with their reasons, and the headline — index and
satisfied rate — with every response, without the flagged ones and with the office's
exclusions.  Tables and text only; no hash is printed beyond the first digits the results
already carry.  Without an ``integrity`` section (review off, older results) the report
leaves it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...vocabulary import label as vocabulary_label
from ..tables import ReportTable, _table
from ..text import fmt, p_text, town_labels
from . import ReportSection, SectionInputs

__all__ = ["SECTIONS", "integrity_context", "integrity_tables"]

SCOPES_ZH = {"point": "收集点", "address": "网络地址", "browser": "浏览器"}
#: Screening reasons the shared vocabulary does not name.
REASONS_ZH = {"outside_district": "不在本区范围内"}
HEADLINES_ZH = (
    ("all_responses", "全部问卷"),
    ("without_flagged", "不含被标记的问卷"),
    ("with_office_exclusions", "按办公室决定排除后"),
)


def _section(inputs: SectionInputs) -> Mapping[str, Any] | None:
    section = inputs.results.section("integrity")
    return section if isinstance(section, Mapping) else None


def _reason_zh(reason: str) -> str:
    return REASONS_ZH.get(reason) or vocabulary_label("exclusion", reason, "zh", default="其他原因")


def _headline_rows(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    headline = section.get("headline") or {}
    rows = []
    for key, name in HEADLINES_ZH:
        value = headline.get(key)
        if not isinstance(value, Mapping):
            continue
        index = value.get("index") or {}
        rate = value.get("satisfied_rate") or {}
        rows.append(
            {
                "口径": name,
                "满意度指数": index.get("estimate"),
                "指数95%置信区间": f"{fmt(index.get('ci_low'))}–{fmt(index.get('ci_high'))}",
                "满意率": rate.get("estimate"),
                "问卷数": value.get("n"),
            }
        )
    return rows


def integrity_tables(inputs: SectionInputs) -> Mapping[str, ReportTable]:
    """The section's tables (also in tables.xlsx and tables/*.csv); empty without a review."""
    section = _section(inputs)
    if section is None:
        return {}
    checks = [
        {"范围": SCOPES_ZH.get(check.get("scope"), "其他"), "检查项目": check.get("label_zh")}
        for check in section.get("checks") or []
    ]
    screening = section.get("screening") or {}
    reasons = [
        {"剔除原因": _reason_zh(reason), "问卷数": n} for reason, n in (screening.get("reasons") or {}).items() if n
    ]
    towns = town_labels(inputs.questionnaires)
    flagged = []
    for point in section.get("flagged_points") or []:
        evidence = [item for item in point.get("evidence") or [] if item.get("unusual")]
        flagged.append(
            {
                "收集点": point.get("point"),
                "所在镇（街道）": towns.get(point.get("town") or "", "—"),
                "问卷数": point.get("responses"),
                "调整后显著性": p_text(float(point.get("q_value") or 0.0)),
                "异常之处": "；".join(item.get("what_zh") or "" for item in evidence) or "多项检查综合异常",
            }
        )
    for scope, key, name in (("address", "flagged_addresses", "address"), ("browser", "flagged_browsers", "browser")):
        for unit in section.get(key) or []:
            evidence = [item for item in unit.get("evidence") or [] if item.get("unusual")]
            flagged.append(
                {
                    "收集点": f"{SCOPES_ZH[scope]} {unit.get(name)}",
                    "所在镇（街道）": f"涉及{unit.get('points')}个收集点",
                    "问卷数": unit.get("responses"),
                    "调整后显著性": p_text(float(unit.get("q_value") or 0.0)),
                    "异常之处": "；".join(item.get("what_zh") or "" for item in evidence) or "多项检查综合异常",
                }
            )
    exclusions = [
        {
            "对象": f"{SCOPES_ZH.get(item.get('kind'), '其他')} {item.get('target')}",
            "理由": item.get("reason"),
            "排除问卷数": item.get("responses"),
            "是否曾被标记": "是" if item.get("flagged") else ("否" if item.get("flagged") is False else "—"),
        }
        for item in section.get("exclusions") or []
    ]
    tables = {
        "integrity_checks": _table("integrity_checks", "真实性检查项目", "本期运行的数据真实性检查", checks),
        "integrity_screening": _table(
            "integrity_screening",
            "质量筛查剔除",
            "质量筛查剔除的问卷（按原因）",
            reasons,
            columns=["剔除原因", "问卷数"],
        ),
        "integrity_flagged": _table(
            "integrity_flagged",
            "被标记的收集点",
            "被标记为异常的收集点、网络地址和浏览器",
            flagged,
            columns=["收集点", "所在镇（街道）", "问卷数", "调整后显著性", "异常之处"],
            wrap=True,
        ),
        "integrity_exclusions": _table(
            "integrity_exclusions",
            "办公室排除决定",
            "办公室的排除决定及理由",
            exclusions,
            columns=["对象", "理由", "排除问卷数", "是否曾被标记"],
            wrap=True,
        ),
        "integrity_headline": _table(
            "integrity_headline",
            "真实性口径比较",
            "满意度指数与满意率：全部问卷、不含被标记问卷、按办公室决定排除后",
            _headline_rows(section),
            formats={"满意度指数": ".1f", "满意率": ".1%"},
            columns=["口径", "满意度指数", "指数95%置信区间", "满意率", "问卷数"],
        ),
    }
    return tables


def integrity_context(inputs: SectionInputs) -> Mapping[str, Any] | None:
    """What the partial prints; ``None`` (no section) when the results carry no review."""
    section = _section(inputs)
    if section is None:
        return None
    counts = section.get("counts") or {}
    screening = section.get("screening") or {}
    points = section.get("points") or {}
    statement = section.get("statement") or {}
    return {
        "statement": statement.get("zh"),
        "points_tested": counts.get("points_tested", points.get("tested")),
        "points_flagged": counts.get("points_flagged", len(section.get("flagged_points") or [])),
        "addresses_tested": counts.get("addresses_tested"),
        "browsers_tested": counts.get("browsers_tested"),
        "screened": screening.get("screened"),
        "responses": screening.get("responses"),
        "fdr": (section.get("rules") or {}).get("fdr"),
        "has_flagged": bool(
            section.get("flagged_points") or section.get("flagged_addresses") or section.get("flagged_browsers")
        ),
        "has_exclusions": bool(section.get("exclusions")),
        "checks": inputs.tables.get("integrity_checks"),
        "screening": inputs.tables.get("integrity_screening"),
        "flagged": inputs.tables.get("integrity_flagged"),
        "exclusions": inputs.tables.get("integrity_exclusions"),
        "headline": inputs.tables.get("integrity_headline"),
    }


SECTIONS: tuple[ReportSection, ...] = (
    ReportSection("integrity", "数据真实性", 95, integrity_context, tables=integrity_tables),
)
