"""The report's section on the plan: results by task and lead unit, the plan's indicators, the 通报.

:func:`accountability_section` computes :func:`scoring.accountability.plan_accountability`
for a report and returns a :class:`PlanSection`: the keys it adds to results.json
(``plan``, ``tasks``, ``lead_units``, ``indicators``), its tables (sheets of tables.xlsx and
CSVs), what the report's partial ``accountability.html.j2`` prints, and — when the report
renders PDFs — the bulletins (:mod:`.bulletin`).  :func:`scoring.report.build_report` calls
it through one hook; nothing else of the report knows about the plan.

Without the plan (a questionnaire set not loaded from a folder or a wave without a pinned
plan) or without the scored responses (results given alone), the keys are ``null`` and the
partial says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .bulletin import STATUS_LABELS_ZH, UNIT_VERDICT_LABELS_ZH, bulletin_files, summary_rows, units_chart_svg
from .tables import ReportTable, _table
from .text import number

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from ..accountability import IndicatorRecord
    from ..drivers import Design
    from ..questionnaire import QuestionnaireSet
    from .analysis import ReportAnalysis
    from .settings import PreviousWave, ReportSettings

__all__ = ["RESULT_KEYS", "SECTION_ID", "SECTION_TITLE", "PlanSection", "accountability_section"]

#: The keys this section adds to results.json (docs/contracts.md).
RESULT_KEYS: tuple[str, ...] = ("plan", "tasks", "lead_units", "indicators")
SECTION_ID = "plan"
SECTION_TITLE = "规划任务与牵头单位：满意度与完成度"
_QUADRANT_LABELS_ZH = {
    "concentrate": "重点改进区",
    "keep_up": "继续保持区",
    "low_priority": "次要改进区",
    "possible_overkill": "过度投入区",
}
_DIRECTION_LABELS_ZH = {"at_least": "不低于", "at_most": "不高于", "equal": "等于"}


@dataclass(frozen=True)
class PlanSection:
    """What the plan section adds to a report.

    Attributes
    ----------
    results : dict
        ``plan``, ``tasks``, ``lead_units``, ``indicators`` (``None`` each when not computed).
    tables : dict of str to ReportTable
        ``plan_lead_units`` (牵头单位), ``plan_summary`` (通报汇总), ``plan_tasks``
        (规划任务), ``plan_task_items`` (任务题目), ``plan_indicators`` (规划指标).
    context : dict
        What ``accountability.html.j2`` prints (``id``, ``title``, ``template`` included).
    reason : str or None
        Why the section is empty, if it is.
    """

    results: dict[str, Any]
    tables: dict[str, ReportTable] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    def files(
        self, *, district: str, wave: str, generated: str, illustrative: bool, font_family: str
    ) -> dict[str, bytes]:
        """The bulletins (``bulletins/<unit>.pdf``, ``bulletins/summary.pdf``), as bytes."""
        if self.reason is not None:
            return {}
        return bulletin_files(
            self.results,
            district=district,
            wave=wave,
            generated=generated,
            illustrative=illustrative,
            font_family=font_family,
        )


def _interval(entry: Mapping[str, Any]) -> str:
    low, high = number(entry.get("ci_low")), number(entry.get("ci_high"))
    return "" if math.isnan(low) or math.isnan(high) else f"{low:.1f}–{high:.1f}"


def _yes(value: Any) -> str:
    return "是" if value else "否"


def _tables(results: Mapping[str, Any]) -> dict[str, ReportTable]:
    tasks = results.get("tasks") or {}
    units = results.get("lead_units") or {}
    indicators = results.get("indicators") or {}
    plan = results.get("plan") or {}
    target = float(plan.get("target") or 85.0)
    unit_names = {code: (unit.get("name") or {}).get("zh", code) for code, unit in units.items()}
    tables: dict[str, ReportTable] = {}

    unit_rows = []
    for code, unit in units.items():
        rank = unit.get("rank") or {}
        change = unit.get("change") or {}
        priorities = unit.get("priorities") or []
        row: dict[str, Any] = {
            "牵头单位": unit_names[code],
            "代码": code,
            "牵头任务": "、".join(str(n) for n in unit.get("tasks") or []),
            "题目数": len(unit.get("items") or []),
            "综合指数": number(unit.get("index")),
            "标准误": number(unit.get("se")),
            "95%下限": number(unit.get("ci_low")),
            "95%上限": number(unit.get("ci_high")),
            "自由度": unit.get("df"),
            "样本量": unit.get("n"),
            "调查点数": unit.get("psus"),
            "不稳定": _yes(unit.get("unstable")),
            f"对照{target:g}分": UNIT_VERDICT_LABELS_ZH.get(None if unit.get("unstable") else unit.get("verdict"), "—"),
            "排名中位数": rank.get("median_rank"),
            "95%排名区间": "–".join(str(v) for v in rank.get("rank_interval") or []),
            "参与排名数": rank.get("n_ranked"),
            "比上期变化": number(change.get("difference")),
            "变化95%区间": _interval(change) if change else "",
            "变化是否显著": _yes(change.get("significant")) if change else "",
            "满意回答比例（%）": 100 * number((unit.get("residents") or {}).get("satisfied_share")),
            "不满意回答比例（%）": 100 * number((unit.get("residents") or {}).get("dissatisfied_share")),
        }
        for position in range(3):
            entry = priorities[position] if position < len(priorities) else {}
            row[f"优先改进{position + 1}"] = (entry.get("label") or {}).get("zh", "") if entry else ""
        unit_rows.append(row)
    tables["plan_lead_units"] = _table(
        "plan_lead_units",
        "牵头单位",
        "各牵头单位综合满意度指数（所牵头任务题目的等权平均）",
        unit_rows,
        {
            "综合指数": ".1f",
            "标准误": ".2f",
            "95%下限": ".1f",
            "95%上限": ".1f",
            "样本量": ",",
            "比上期变化": "+.1f",
            "满意回答比例（%）": ".0f",
            "不满意回答比例（%）": ".0f",
        },
    )

    summary = summary_rows(results)
    tables["plan_summary"] = _table(
        "plan_summary",
        "通报汇总",
        f"各牵头单位满意度汇总（供区领导参阅；对照{target:g}分看95%置信区间）",
        [
            {
                "牵头单位": row["name"],
                "任务数": row["n_tasks"],
                "题目数": row["n_items"],
                "综合指数": row["index"],
                "95%区间": row["interval"],
                f"对照{target:g}分": row["verdict"],
                "排名区间": row["rank"],
                "比上期": row["change"],
                "指标 达标/未达标/无数据": row["indicators"],
                "首要改进事项": row["first_priority"],
            }
            for row in summary
        ],
        columns=[
            "牵头单位",
            "任务数",
            "题目数",
            "综合指数",
            "95%区间",
            f"对照{target:g}分",
            "排名区间",
            "比上期",
            "指标 达标/未达标/无数据",
            "首要改进事项",
        ],
        wrap=True,
    )

    task_rows = []
    item_rows = []
    for key, task in tasks.items():
        figure = task.get("index") or {}
        counts = task.get("indicators") or {}
        task_rows.append(
            {
                "任务": int(key),
                "任务名称": (task.get("title") or {}).get("zh", ""),
                "牵头单位": "、".join(unit_names.get(code, code) for code in task.get("lead_units") or []),
                "题目数": len(task.get("items") or []),
                "任务满意度指数": number(figure.get("index")),
                "标准误": number(figure.get("se")),
                "95%下限": number(figure.get("ci_low")),
                "95%上限": number(figure.get("ci_high")),
                "样本量": figure.get("n"),
                "不稳定": _yes(figure.get("unstable")),
                "指标达标": counts.get("met", 0),
                "指标尚未达标": counts.get("not_yet", 0),
                "指标暂无数据": counts.get("no_data", 0),
            }
        )
        for item in task.get("items") or []:
            priority = item.get("priority") or {}
            item_rows.append(
                {
                    "任务": int(key),
                    "题目代码": item.get("item"),
                    "题目": (item.get("label") or {}).get("zh", ""),
                    "指数": number(item.get("index")),
                    "标准误": number(item.get("se")),
                    "95%下限": number(item.get("ci_low")),
                    "95%上限": number(item.get("ci_high")),
                    "自由度": item.get("df"),
                    "样本量": item.get("n"),
                    "调查点数": item.get("psus"),
                    "不稳定": _yes(item.get("unstable")),
                    "满意比例（%）": 100 * number(item.get("satisfied_share")),
                    "不满意比例（%）": 100 * number(item.get("dissatisfied_share")),
                    "相对重要性": number(priority.get("relative_importance")),
                    "象限": _QUADRANT_LABELS_ZH.get(str(priority.get("quadrant")), ""),
                    "距目标差距": number(priority.get("gap")),
                    "优先度": number(priority.get("score")),
                    "全区优先序号": priority.get("district_rank"),
                }
            )
    index_formats = {"标准误": ".2f", "95%下限": ".1f", "95%上限": ".1f", "样本量": ","}
    tables["plan_tasks"] = _table(
        "plan_tasks",
        "规划任务",
        "各规划任务的满意度（题目等权平均）与量化指标完成情况",
        task_rows,
        {"任务满意度指数": ".1f", **index_formats},
        wrap=True,
    )
    tables["plan_task_items"] = _table(
        "plan_task_items",
        "任务题目",
        "测量各规划任务的题目：指数、区间、样本量与优先度",
        item_rows,
        {
            "指数": ".1f",
            **index_formats,
            "满意比例（%）": ".0f",
            "不满意比例（%）": ".0f",
            "相对重要性": ".2f",
            "距目标差距": ".1f",
            "优先度": ".1f",
        },
        wrap=True,
    )

    indicator_rows = []
    for code, entry in indicators.items():
        task = tasks.get(str(entry.get("task"))) or {}
        figure = task.get("index") or {}
        unit_label = (entry.get("unit") or {}).get("zh", "")
        indicator_rows.append(
            {
                "任务": entry.get("task"),
                "指标代码": code,
                "指标": (entry.get("name") or {}).get("zh", ""),
                "目标": f"{_DIRECTION_LABELS_ZH.get(str(entry.get('direction')), '')}{entry.get('target'):g}{unit_label}",
                "目标年份": entry.get("target_year"),
                "记录值": number(entry.get("value")),
                "记录年份": entry.get("value_year"),
                "来源": entry.get("source") or "",
                "完成情况": STATUS_LABELS_ZH.get(str(entry.get("status")), ""),
                "任务满意度指数": math.nan if figure.get("unstable") else number(figure.get("index")),
                "任务满意度95%区间": "" if figure.get("unstable") else _interval(figure),
            }
        )
    tables["plan_indicators"] = _table(
        "plan_indicators",
        "规划指标",
        "规划量化指标的完成情况（完成度）与同一任务的满意度",
        indicator_rows,
        {"记录值": "g", "任务满意度指数": ".1f"},
        columns=[
            "任务",
            "指标代码",
            "指标",
            "目标",
            "目标年份",
            "记录值",
            "记录年份",
            "来源",
            "完成情况",
            "任务满意度指数",
            "任务满意度95%区间",
        ],
        wrap=True,
    )
    return tables


def footed_table(table: ReportTable | None, footnote: str) -> Any:
    """The HTML of a long ``table`` with ``footnote`` as its footer row.

    A table footer is repeated on every page a table runs over (as its header is), so each
    continuation page of the PDF carries a sentence that says what the table is.
    """
    from markupsafe import Markup, escape

    from .render import table_html

    html = str(table_html(table))
    if not html:
        return Markup("")
    columns = len(table.frame.columns) if table is not None else 1
    footer = f'<tfoot><tr><td class="table-note" colspan="{columns}" style="white-space: normal">{escape(footnote)}</td></tr></tfoot>'
    return Markup(html.replace("</tbody></table>", f"</tbody>{footer}</table>", 1))


def _empty(reason: str) -> PlanSection:
    return PlanSection(
        results=dict.fromkeys(RESULT_KEYS),
        context={"id": SECTION_ID, "title": SECTION_TITLE, "template": "accountability.html.j2", "reason": reason},
        reason=reason,
    )


def accountability_section(
    analysis: ReportAnalysis,
    *,
    settings: ReportSettings,
    questionnaires: QuestionnaireSet | None,
    item_scores: pd.DataFrame | None,
    design: Design | None,
    previous: Sequence[PreviousWave] = (),
    indicators: Sequence[IndicatorRecord] = (),
) -> PlanSection:
    """The plan section of a report (results keys, tables, partial context).

    Parameters
    ----------
    analysis : ReportAnalysis
        The report's analyses (results with ``drivers``).
    settings : ReportSettings
        Wave, year, draws and seed (the rank simulation uses the report's).
    questionnaires : QuestionnaireSet, optional
        With its ``plan`` (loaded from a folder, or the plan a wave pinned).
    item_scores, design : optional
        The analysed responses' item scores and their design.
    previous : sequence of PreviousWave
        Earlier waves; the latest gives each unit's change.
    indicators : sequence of IndicatorRecord
        The plan indicators' recorded values.

    Returns
    -------
    PlanSection
    """
    from ..accountability import plan_accountability

    plan = questionnaires.plan if questionnaires is not None else None
    if plan is None:
        return _empty("本期结果没有关联区实施方案（问卷未随实施方案一起加载），不按任务和牵头单位汇总。")
    if item_scores is None or design is None:
        return _empty("本报告没有受访者明细数据，不能按任务和牵头单位计算满意度。")
    latest = previous[-1] if previous else None
    accountability = plan_accountability(
        plan,
        questionnaires,  # type: ignore[arg-type]  # not None: it holds the plan
        item_scores,
        design,
        results=analysis.results,
        previous=latest.results if latest is not None else None,
        previous_label=latest.wave if latest is not None else None,
        indicators=indicators,
        year=settings.year,
        draws=settings.draws,
        seed=settings.seed,
    )
    results = accountability.to_dict()
    tables = _tables(results)
    target = accountability.target
    units = list(results["lead_units"].values())
    statuses = [entry["status"] for entry in results["indicators"].values()]
    context = {
        "id": SECTION_ID,
        "title": SECTION_TITLE,
        "template": "accountability.html.j2",
        "reason": None,
        "target": f"{target:g}",
        "n_units": len(units),
        "n_ranked": results["plan"]["ranking"]["n_ranked"],
        "n_tasks": len(results["tasks"]),
        "units_chart": units_chart_svg(units, target=target),
        "tables": tables,
        "indicators_table": footed_table(
            tables.get("plan_indicators"),
            "完成情况按区政府办公室记录的数值与方案目标比较；任务满意度指数为对应题目的等权平均。",
        ),
        "tasks_table": footed_table(
            tables.get("plan_tasks"),
            "任务满意度指数为对应题目满意度指数的等权平均，区间为95%置信区间。",
        ),
        "indicator_counts": {status: statuses.count(status) for status in ("met", "not_yet", "no_data")},
        "n_indicators": len(statuses),
        "previous": results["plan"]["previous"],
    }
    return PlanSection(results=results, tables=tables, context=context)
