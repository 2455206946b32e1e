"""The report's tables: one :class:`ReportTable` per table, written as XLSX and CSV bytes.

:func:`result_tables` turns the results (and the rankings, drivers and change against the
previous wave) into tables with Chinese headers; :func:`table_files` writes them as
``tables.xlsx`` (one sheet per table) and ``tables/<name>.csv`` (UTF-8 with a byte-order
mark, for Excel), in memory.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..benchmarks import LEVEL_LABELS_ZH
from .text import EXCLUSION_LABELS_ZH, domain_label, number, target_tests, town_labels

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from ..drivers import DriverAnalysis
    from ..planning import WaveComparison
    from ..questionnaire import QuestionnaireSet
    from ..rankings import Rankings

__all__ = ["ReportTable", "quality_rows", "ranking_tables", "result_tables", "table_files"]


@dataclass(frozen=True)
class ReportTable:
    """One table of the report: its CSV name, sheet name, caption and data.

    ``formats`` maps a column to a Python format spec for the HTML/PDF (``".1f"``,
    ``".0%"``, ``","``); the XLSX and CSV files keep full precision.
    """

    name: str
    sheet: str
    caption: str
    frame: pd.DataFrame
    formats: Mapping[str, str] = field(default_factory=dict)
    wrap: bool = False  # long text (paths, hashes, citations) may break anywhere


def _table(
    name: str,
    sheet: str,
    caption: str,
    rows: list[dict[str, Any]],
    formats: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    *,
    wrap: bool = False,
) -> ReportTable:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(columns) if columns else None)
    return ReportTable(name, sheet, caption, frame, dict(formats or {}), wrap)


def _suppressed_flag(value: Any) -> str:
    return "是" if bool(value) else "否"


def result_tables(
    results: Mapping[str, Any],
    *,
    questionnaires: QuestionnaireSet | None = None,
    rankings: Rankings | None = None,
    drivers: DriverAnalysis | None = None,
    comparison: WaveComparison | None = None,
    quality: Sequence[dict[str, Any]] = (),
    methodology: Sequence[dict[str, Any]] = (),
) -> dict[str, ReportTable]:
    """Every table of the report, keyed by CSV name."""
    tables: dict[str, ReportTable] = {}
    overall = results.get("overall") or {}
    rate = overall.get("satisfied_rate") or {}
    target = results.get("target") or {}
    tables["overall"] = _table(
        "overall",
        "总体结果",
        "总体满意度",
        [
            {
                "指标": "总体满意度指数",
                "估计值": number(overall.get("index")),
                "标准误": number(overall.get("se")),
                "95%下限": number(overall.get("ci_low")),
                "95%上限": number(overall.get("ci_high")),
                "自由度": overall.get("df"),
                "样本量": overall.get("n"),
            },
            {
                "指标": "总体满意率（%）",
                "估计值": 100 * number(rate.get("estimate")),
                "标准误": 100 * number(rate.get("se")),
                "95%下限": 100 * number(rate.get("ci_low")),
                "95%上限": 100 * number(rate.get("ci_high")),
                "自由度": overall.get("df"),
                "样本量": overall.get("n"),
            },
        ],
        {"估计值": ".1f", "标准误": ".2f", "95%下限": ".1f", "95%上限": ".1f", "样本量": ","},
    )
    verdict_words = {
        "met": "已达到",
        "not_met": "未达到",
        "inconclusive": "尚无法判断",
        "unstable": "不作判断（估计不稳定）",
    }
    entries = target_tests(results)
    tested = entries[0][0] if entries else target.get("metric", "index")
    tables["target"] = _table(
        "target",
        "目标检验",
        "目标检验（结论与95%置信区间一致）",
        [
            {
                "检验对象": "满意度指数" if metric == "index" else "满意率",
                "是否为规划目标": "是" if metric == tested else "否（供参考）",
                "目标值": entry.get("target", entry.get("value")),
                "估计值": number(entry.get("estimate")),
                "检验统计量t": number(entry.get("statistic")),
                "单侧p值": number(entry.get("p_value")),
                "结论": verdict_words.get(str(entry.get("verdict") or "unstable"), str(entry.get("verdict"))),
            }
            for metric, entry in entries
        ],
        {"估计值": ".3g", "检验统计量t": ".2f", "单侧p值": ".3g"},
    )
    domain_rows = []
    for domain, values in (results.get("domains") or {}).items():
        domain_rate = values.get("satisfied_rate") or {}
        domain_rows.append(
            {
                "领域": domain_label(domain, questionnaires),
                "代码": domain,
                "满意度指数": number(values.get("index")),
                "标准误": number(values.get("se")),
                "95%下限": number(values.get("ci_low")),
                "95%上限": number(values.get("ci_high")),
                "样本量": values.get("n"),
                "设计效应": number(values.get("deff")),
                "克朗巴赫α": number(values.get("alpha")),
                "满意率（%）": 100 * number(domain_rate.get("estimate")),
                "满意率95%下限": 100 * number(domain_rate.get("ci_low")),
                "满意率95%上限": 100 * number(domain_rate.get("ci_high")),
            }
        )
    tables["domains"] = _table(
        "domains",
        "各领域",
        "各领域满意度指数与满意率",
        domain_rows,
        {
            "满意度指数": ".1f",
            "标准误": ".2f",
            "95%下限": ".1f",
            "95%上限": ".1f",
            "样本量": ",",
            "设计效应": ".2f",
            "克朗巴赫α": ".2f",
            "满意率（%）": ".1f",
            "满意率95%下限": ".1f",
            "满意率95%上限": ".1f",
        },
    )
    towns = town_labels(questionnaires)
    group_names = {"town": "镇街", "sex": "性别", "age_group": "年龄组"}
    level_names = {"male": "男", "female": "女"}
    subgroup_rows = []
    town_overall_rows = []
    for variable, levels in (results.get("subgroups") or {}).items():
        for level, cells in (levels or {}).items():
            for scope, cell in (cells or {}).items():
                cell = cell or {}
                suppressed = bool(cell.get("suppressed"))
                row = {
                    "分组变量": group_names.get(variable, variable),
                    "组别": towns.get(level, level) if variable == "town" else level_names.get(level, level),
                    "组别代码": level,
                    "领域": "总体" if scope == "overall" else domain_label(scope, questionnaires),
                    "满意度指数": math.nan if suppressed else number(cell.get("index")),
                    "标准误": math.nan if suppressed else number(cell.get("se")),
                    "样本量": cell.get("n"),
                    "变异系数": number(cell.get("cv")),
                    "不予公布": _suppressed_flag(suppressed),
                }
                subgroup_rows.append(row)
                if variable == "town" and scope == "overall":
                    town_overall_rows.append(
                        {
                            k: row[k]
                            for k in ("组别", "组别代码", "满意度指数", "标准误", "样本量", "变异系数", "不予公布")
                        }
                    )
    subgroup_formats = {"满意度指数": ".1f", "标准误": ".2f", "样本量": ",", "变异系数": ".3f"}
    tables["subgroups"] = _table(
        "subgroups",
        "分组结果",
        "分组结果（镇街、性别、年龄组）",
        subgroup_rows,
        subgroup_formats,
        columns=["分组变量", "组别", "组别代码", "领域", "满意度指数", "标准误", "样本量", "变异系数", "不予公布"],
    )
    tables["towns_overall"] = _table(
        "towns_overall",
        "镇街总体",
        "各镇街总体满意度指数（不予公布者不列数值）",
        town_overall_rows,
        subgroup_formats,
        columns=["组别", "组别代码", "满意度指数", "标准误", "样本量", "变异系数", "不予公布"],
    )
    if comparison is not None:
        rows = []
        for item in comparison.changes:
            scale = 100.0 if item.metric == "satisfied_rate" else 1.0
            rows.append(
                {
                    "范围": item.label,
                    "指标": "满意度指数" if item.metric == "index" else "满意率（百分点）",
                    "本期": scale * item.current,
                    "上期": scale * item.previous,
                    "变化": scale * item.difference,
                    "标准误": scale * item.se,
                    "95%下限": scale * item.ci_low,
                    "95%上限": scale * item.ci_high,
                    "双侧p值": item.p_value,
                    "是否显著": "是" if item.significant else "否",
                }
            )
        tables["change"] = _table(
            "change",
            "与上期比较",
            f"与{comparison.previous_label}相比",
            rows,
            {
                "本期": ".1f",
                "上期": ".1f",
                "变化": "+.1f",
                "标准误": ".2f",
                "95%下限": "+.1f",
                "95%上限": "+.1f",
                "双侧p值": ".3g",
            },
        )
    if drivers is not None:
        from ..drivers import QUADRANT_LABELS_ZH

        item_rows = []
        for analysis in drivers.domains.values():
            for driver in analysis.items:
                item_rows.append(
                    {
                        "领域": analysis.label,
                        "题目代码": driver.item,
                        "题目": driver.label,
                        "相对权重ε": driver.importance,
                        "ε标准误": driver.importance_se,
                        "解释份额（%）": 100 * driver.importance_share,
                        "份额95%下限": 100 * driver.share_ci_low,
                        "份额95%上限": 100 * driver.share_ci_high,
                        "相对重要性": driver.relative_importance,
                        "表现指数": driver.performance,
                        "表现95%下限": driver.performance_ci_low,
                        "表现95%上限": driver.performance_ci_high,
                        "样本量": driver.n,
                        "象限": QUADRANT_LABELS_ZH[driver.quadrant],
                        "领域R²": analysis.r_squared,
                    }
                )
        tables["drivers"] = _table(
            "drivers",
            "关键驱动因素",
            "各领域题目的重要性与表现",
            item_rows,
            {
                "相对权重ε": ".3f",
                "ε标准误": ".3f",
                "解释份额（%）": ".1f",
                "份额95%下限": ".1f",
                "份额95%上限": ".1f",
                "相对重要性": ".2f",
                "表现指数": ".1f",
                "表现95%下限": ".1f",
                "表现95%上限": ".1f",
                "样本量": ",",
                "领域R²": ".2f",
            },
        )
        tables["priorities"] = _table(
            "priorities",
            "重点改进事项",
            "重点改进事项（急难愁盼）",
            [
                {
                    "序号": p.rank,
                    "领域": p.domain_label,
                    "题目": p.label,
                    "相对重要性": p.relative_importance,
                    "表现指数": p.performance,
                    "表现95%区间": f"{p.performance_ci_low:.1f}–{p.performance_ci_high:.1f}",
                    "距目标差距": p.gap,
                    "优先度": p.score,
                }
                for p in drivers.priorities
            ],
            {"相对重要性": ".2f", "表现指数": ".1f", "距目标差距": ".1f", "优先度": ".1f"},
            columns=["序号", "领域", "题目", "相对重要性", "表现指数", "表现95%区间", "距目标差距", "优先度"],
        )
    if rankings is not None:
        tables.update(ranking_tables(rankings))
    tables["methodology"] = _table(
        "methodology", "方法说明", "本次运行的方法与设置", list(methodology), columns=["项目", "内容"], wrap=True
    )
    inputs = results.get("inputs") or {}
    tables["inputs"] = _table(
        "inputs",
        "输入文件",
        "输入文件及其SHA-256校验值",
        [{"文件": name, "SHA-256": digest} for name, digest in inputs.items()],
        columns=["文件", "SHA-256"],
        wrap=True,
    )
    excluded = results.get("excluded") or {}
    tables["exclusions"] = _table(
        "exclusions",
        "剔除记录",
        "质量筛查剔除的问卷",
        [
            {"原因": EXCLUSION_LABELS_ZH.get(reason, reason), "代码": reason, "份数": count}
            for reason, count in excluded.items()
        ],
        {"份数": ","},
        columns=["原因", "代码", "份数"],
    )
    tables["quality"] = _table(
        "quality",
        "数据质量",
        "各领域作答情况",
        list(quality),
        {
            "回答该领域的比例（%）": ".1f",
            "题目平均缺失率（%）": ".1f",
            "克朗巴赫α": ".2f",
            "样本量": ",",
            "设计效应": ".2f",
        },
    )
    return tables


_SOURCE_LABELS_ZH = {"survey": "本调查", "monitoring": "监测公布"}
_ORIGIN_LABELS_ZH = {"survey": "本次调查", "previous": "往期调查", "published": "监测公布得分"}


def _se_text(se: float | None, used: float) -> str:
    return f"{used:g}（假定）" if se is None else f"{se:g}"


def ranking_tables(rankings: Rankings) -> dict[str, ReportTable]:
    """The placements, the units compared with, and the changes of rank (within one source)."""
    placement_rows, unit_rows = [], []
    for placement in rankings.placements:
        level = LEVEL_LABELS_ZH.get(placement.level, placement.level)
        placement_rows.append(
            {
                "层级": level,
                "本区得分来源": _ORIGIN_LABELS_ZH.get(placement.district.origin, placement.district.origin),
                "本区得分年份": placement.year,
                "对比单位年份": placement.benchmark_year,
                "年份相同": "是" if placement.same_year else "否（按要求比较，只作参考）",
                "本区得分": placement.district.estimate,
                "本区标准误": _se_text(
                    None if placement.district.se_assumed else placement.district.se, placement.district.se
                ),
                "参与排名数": placement.n_ranked,
                "排名中位数": placement.median_rank,
                "95%排名区间": f"第{placement.rank_interval[0]}–{placement.rank_interval[1]}名",
                "第1名概率": placement.rank_probabilities[0],
                "假定标准误": placement.assumed_se,
                "名单完整": "是" if placement.complete_list else "否（仅在所列单位中排名）",
                "示意数据": "是" if placement.illustrative else "否",
            }
        )
        for unit in placement.units:
            unit_rows.append(
                {
                    "层级": level,
                    "本区得分来源": _SOURCE_LABELS_ZH.get(placement.source, placement.source),
                    "本区得分年份": placement.year,
                    "单位": unit.unit,
                    "公布年份": placement.benchmark_year,
                    "公布得分": unit.score,
                    "标准误": _se_text(unit.se, unit.se_used),
                    "公布名次": unit.published_rank,
                    "本区得分更高的概率": unit.probability_above,
                    "来源": unit.source,
                }
            )
    tables = {
        "rankings": _table(
            "rankings",
            "排名",
            "排名概率与95%排名区间",
            placement_rows,
            {"本区得分": ".1f", "第1名概率": ".0%", "假定标准误": "g"},
            columns=[
                "层级",
                "本区得分来源",
                "本区得分年份",
                "对比单位年份",
                "年份相同",
                "本区得分",
                "本区标准误",
                "参与排名数",
                "排名中位数",
                "95%排名区间",
                "第1名概率",
                "假定标准误",
                "名单完整",
                "示意数据",
            ],
        ),
        "rank_units": _table(
            "rank_units",
            "对标单位",
            "与各对标单位的比较",
            unit_rows,
            {"公布得分": ".2f", "公布名次": ".0f", "本区得分更高的概率": ".0%"},
            columns=[
                "层级",
                "本区得分来源",
                "本区得分年份",
                "单位",
                "公布年份",
                "公布得分",
                "标准误",
                "公布名次",
                "本区得分更高的概率",
                "来源",
            ],
            wrap=True,
        ),
    }
    if rankings.changes:
        tables["rank_changes"] = _table(
            "rank_changes",
            "名次变化",
            "名次变化（同一来源的数字之间；负数表示名次上升）",
            [
                {
                    "层级": LEVEL_LABELS_ZH.get(c.level, c.level),
                    "来源": _SOURCE_LABELS_ZH.get(c.source, c.source),
                    "从": c.from_year,
                    "到": c.to_year,
                    "原排名中位数": f"第{c.from_median_rank}名（共{c.from_n_ranked}）",
                    "现排名中位数": f"第{c.to_median_rank}名（共{c.to_n_ranked}）",
                    "名次变化中位数": c.median_change,
                    "95%区间": f"{c.interval[0]:+d} 至 {c.interval[1]:+d}",
                    "名次上升概率": c.probability_improved,
                    "名次不变概率": c.probability_unchanged,
                    "名次下降概率": c.probability_worse,
                }
                for c in rankings.changes
            ],
            {"名次上升概率": ".0%", "名次不变概率": ".0%", "名次下降概率": ".0%", "名次变化中位数": "+d"},
        )
    return tables


def quality_rows(
    results: Mapping[str, Any], item_scores: pd.DataFrame | None, questionnaires: QuestionnaireSet | None
) -> list[dict[str, Any]]:
    domains = results.get("domains") or {}
    overall_n = number((results.get("overall") or {}).get("n"))
    rows = []
    for domain, values in domains.items():
        row: dict[str, Any] = {
            "领域": domain_label(domain, questionnaires),
            "样本量": values.get("n"),
            "回答该领域的比例（%）": 100 * number(values.get("n")) / overall_n if overall_n else math.nan,
            "克朗巴赫α": number(values.get("alpha")),
            "设计效应": number(values.get("deff")),
        }
        if item_scores is not None:
            columns = [c for c in item_scores.columns if str(c).startswith(f"{domain}.") and c != f"{domain}.overall"]
            if columns:
                block = item_scores[columns].to_numpy(dtype=np.float64, na_value=np.nan)
                answering = ~np.all(np.isnan(block), axis=1)
                if answering.any():
                    row["题目平均缺失率（%）"] = 100 * float(np.isnan(block[answering]).mean())
        rows.append(row)
    return rows


def table_files(tables: Mapping[str, ReportTable]) -> dict[str, bytes]:
    """``tables.xlsx`` (one sheet per table) and ``tables/<name>.csv``, as bytes by file name."""
    import pandas as pd
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    files: dict[str, bytes] = {}
    workbook = io.BytesIO()
    with pd.ExcelWriter(workbook, engine="openpyxl") as writer:
        for table in tables.values():
            table.frame.to_excel(writer, sheet_name=table.sheet[:31], index=False)
            sheet = writer.sheets[table.sheet[:31]]
            sheet.freeze_panes = "A2"
            for cell in sheet[1]:
                cell.font = Font(bold=True)
                cell.fill = PatternFill("solid", fgColor="F2F6FA")
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for index, column in enumerate(table.frame.columns, start=1):
                values = [str(column)] + [str(v) for v in table.frame[column].head(200).tolist()]
                # CJK characters are about twice as wide as Latin ones.
                width = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in value) for value in values)
                sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
    files["tables.xlsx"] = workbook.getvalue()
    for table in tables.values():
        # The byte-order mark makes Excel (the office's tool) read the Chinese headers as UTF-8.
        files[f"tables/{table.name}.csv"] = table.frame.to_csv(index=False).encode("utf-8-sig")
    return files
