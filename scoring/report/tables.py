"""The report's tables: one :class:`ReportTable` per table, written as XLSX and CSV bytes.

:func:`result_tables` turns the typed results (:class:`scoring.contract.Results`: the
figures, both target tests, the sensitivity table, the rankings and key drivers as
results.json holds them) and the change against the previous wave into tables with
Chinese headers; :func:`table_files` writes them as ``tables.xlsx`` (one sheet per table)
and ``tables/<name>.csv`` (UTF-8 with a byte-order mark, for Excel), in memory.  Columns of
codes (for machines) are kept in the files and left out of the printed report.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..contract import Headline, Rankings, Results, TargetTest
from ..explain import source_text, target_text
from ..vocabulary import label
from .text import VERDICT_WORDS, domain_label, number, town_labels

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from ..drivers import DriverAnalysis
    from ..planning import WaveComparison
    from ..questionnaire import QuestionnaireSet

__all__ = ["ReportTable", "quality_rows", "ranking_tables", "result_tables", "table_files"]

#: Columns of codes: in the CSV/XLSX files for machines, never printed in the report.
CODE_COLUMNS: tuple[str, ...] = ("代码", "组别代码", "题目代码")


@dataclass(frozen=True)
class ReportTable:
    """One table of the report: its CSV name, sheet name, caption and data.

    ``formats`` maps a column to a Python format spec for the HTML/PDF (``".1f"``,
    ``".0%"``, ``","``; ``"p"`` for a p-value: ``<0.001``); the XLSX and CSV files keep full precision.  ``hidden_rows`` are
    values of the first column whose rows the printed report leaves out (kept in the files).
    """

    name: str
    sheet: str
    caption: str
    frame: pd.DataFrame
    formats: Mapping[str, str] = field(default_factory=dict)
    wrap: bool = False  # long text (paths, hashes, citations) may break anywhere
    hidden_rows: frozenset[str] = frozenset()

    def printed(self) -> pd.DataFrame:
        """The frame as the report prints it: without code columns and hidden rows."""
        frame = self.frame.drop(columns=[c for c in CODE_COLUMNS if c in self.frame.columns])
        if self.hidden_rows and len(frame.columns):
            frame = frame[~frame.iloc[:, 0].isin(self.hidden_rows)]
        return frame


def _table(
    name: str,
    sheet: str,
    caption: str,
    rows: list[dict[str, Any]],
    formats: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    *,
    wrap: bool = False,
    hidden_rows: frozenset[str] = frozenset(),
) -> ReportTable:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(columns) if columns else None)
    return ReportTable(name, sheet, caption, frame, dict(formats or {}), wrap, hidden_rows)


def _yes(value: Any) -> str:
    return "是" if bool(value) else "否"


def _interval(low: Any, high: Any, *, percent: bool = False) -> str:
    """``78.3–80.4`` (or ``87.8%–92.8%``); ``—`` without an interval."""
    scale, unit = (100.0, "%") if percent else (1.0, "")
    low_value, high_value = number(low), number(high)
    if math.isnan(low_value) or math.isnan(high_value):
        return "—"
    return f"{scale * low_value:.1f}{unit}–{scale * high_value:.1f}{unit}"


def _verdict_words(test: TargetTest | None) -> str:
    return VERDICT_WORDS[test.shown_verdict] if test is not None else "—"


def _metric_rows(results: Results) -> list[dict[str, Any]]:
    overall = results.overall
    rate = overall.satisfied_rate if overall else None
    return [
        {
            "指标": "总体满意度指数",
            "估计值": number(overall and overall.index),
            "标准误": number(overall and overall.se),
            "95%下限": number(overall and overall.ci_low),
            "95%上限": number(overall and overall.ci_high),
            "自由度": overall.df if overall else None,
            "样本量": overall.n if overall else None,
        },
        {
            "指标": "总体满意率（%）",
            "估计值": 100 * number(rate and rate.estimate),
            "标准误": 100 * number(rate and rate.se),
            "95%下限": 100 * number(rate and rate.ci_low),
            "95%上限": 100 * number(rate and rate.ci_high),
            "自由度": rate.df if rate else None,
            "样本量": rate.n if rate and rate.n is not None else (overall.n if overall else None),
        },
    ]


def _target_rows(results: Results) -> list[dict[str, Any]]:
    rows = []
    for position, (metric, test) in enumerate(results.target_tests()):
        scale = 100.0 if metric == "satisfied_rate" else 1.0
        rows.append(
            {
                "检验对象": label("metric", metric),
                "是否为规划目标": "是" if position == 0 else "否（对照口径）",
                "目标值": target_text(metric, test.said_target),
                "估计值": scale * number(test.estimate),
                "95%下限": scale * number(test.ci_low),
                "95%上限": scale * number(test.ci_high),
                "检验统计量t": number(test.statistic),
                "单侧p值": number(test.p_value),
                "结论": _verdict_words(test),
            }
        )
    return rows


def _domain_target_rows(results: Results, questionnaires: QuestionnaireSet | None) -> list[dict[str, Any]]:
    target = results.said_target
    rows = []
    for domain, values in results.domain_items():
        index_test = values.target_test("index", target)
        rate_test = values.target_test("satisfied_rate", target)
        rows.append(
            {
                "领域": domain_label(domain, questionnaires),
                "代码": domain,
                "满意度指数": number(index_test.estimate),
                "指数95%区间": _interval(index_test.ci_low, index_test.ci_high),
                "指数结论": _verdict_words(index_test),
                "满意率（%）": 100 * number(rate_test.estimate),
                "满意率95%区间": _interval(rate_test.ci_low, rate_test.ci_high, percent=True),
                "满意率结论": _verdict_words(rate_test),
            }
        )
    return rows


def _headline_row(group: str, name: str, headline: Headline | None) -> dict[str, Any]:
    index = headline.index if headline else None
    rate = headline.satisfied_rate if headline else None
    thin = bool((index and index.unstable) or (rate and rate.unstable))
    return {
        "比较": group,
        "分组": name,
        "样本量": headline.n if headline else None,
        "总体满意度指数": number(index and index.estimate),
        "指数95%区间": _interval(index and index.ci_low, index and index.ci_high),
        "满意率（%）": 100 * number(rate and rate.estimate),
        "满意率95%区间": _interval(rate and rate.ci_low, rate and rate.ci_high, percent=True),
        "说明": "样本不足，区间不可靠或无法计算" if thin else "",
    }


def sensitivity_rows(results: Results, questionnaires: QuestionnaireSet | None = None) -> list[dict[str, Any]]:
    """The sensitivity table: the headline unweighted vs weighted, with and without
    screening, by channel and by point type (``results.sensitivity``)."""
    sensitivity = results.sensitivity
    if sensitivity is None:
        return []
    rows = []
    weighting = sensitivity.weighting
    if weighting is not None:
        rows.append(_headline_row("加权", "不加权", weighting.unweighted))
        if weighting.method not in (None, "none") and weighting.weighted is not None:
            rows.append(_headline_row("加权", label("weighting", weighting.method), weighting.weighted))
    screening = sensitivity.screening
    if screening is not None:
        rows.append(_headline_row("质量筛查", "筛查后（正式结果）", screening.with_screening))
        rows.append(_headline_row("质量筛查", "不筛查", screening.without))
    for channel, headline in (sensitivity.channel or {}).items():
        rows.append(_headline_row("渠道", label("channel", channel), headline))
    for point_type, headline in (sensitivity.point_type or {}).items():
        name = (
            label("point_type", point_type)
            if point_type in ("general", "no_point")
            else f"{domain_label(point_type, questionnaires)}服务点"
        )
        rows.append(_headline_row("调查点类型", name, headline))
    return rows


def result_tables(
    results: Results | Mapping[str, Any],
    *,
    questionnaires: QuestionnaireSet | None = None,
    drivers: DriverAnalysis | None = None,
    comparison: WaveComparison | None = None,
    quality: Sequence[dict[str, Any]] = (),
    methodology: Sequence[dict[str, Any]] = (),
    hidden_methodology_rows: frozenset[str] = frozenset(),
) -> dict[str, ReportTable]:
    """Every table of the report, keyed by CSV name (rankings: the results' own)."""
    results = Results.coerce(results)
    tables: dict[str, ReportTable] = {}
    tables["overall"] = _table(
        "overall",
        "总体结果",
        "总体满意度",
        _metric_rows(results),
        {"估计值": ".1f", "标准误": ".2f", "95%下限": ".1f", "95%上限": ".1f", "样本量": ","},
    )
    tables["target"] = _table(
        "target",
        "目标检验",
        "目标检验：两种口径（结论与95%置信区间一致）",
        _target_rows(results),
        {"估计值": ".1f", "95%下限": ".1f", "95%上限": ".1f", "检验统计量t": ".2f", "单侧p值": "p"},
        columns=[
            "检验对象",
            "是否为规划目标",
            "目标值",
            "估计值",
            "95%下限",
            "95%上限",
            "检验统计量t",
            "单侧p值",
            "结论",
        ],
    )
    tables["domain_targets"] = _table(
        "domain_targets",
        "各领域目标检验",
        "各领域的两种口径（结论与95%置信区间一致；样本不足不作判断）",
        _domain_target_rows(results, questionnaires),
        {"满意度指数": ".1f", "满意率（%）": ".1f"},
        columns=["领域", "代码", "满意度指数", "指数95%区间", "指数结论", "满意率（%）", "满意率95%区间", "满意率结论"],
    )
    domain_rows = []
    for domain, values in results.domain_items():
        domain_rate = values.satisfied_rate
        domain_rows.append(
            {
                "领域": domain_label(domain, questionnaires),
                "代码": domain,
                "满意度指数": number(values.index),
                "标准误": number(values.se),
                "95%下限": number(values.ci_low),
                "95%上限": number(values.ci_high),
                "样本量": values.n,
                "设计效应": number(values.deff),
                "克朗巴赫α": number(values.alpha),
                "满意率（%）": 100 * number(domain_rate and domain_rate.estimate),
                "满意率95%下限": 100 * number(domain_rate and domain_rate.ci_low),
                "满意率95%上限": 100 * number(domain_rate and domain_rate.ci_high),
                "样本是否充足": "否（不作判断）" if values.unstable else "是",
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
    subgroup_rows = []
    town_overall_rows = []
    for variable, levels in (results.subgroups or {}).items():
        for level, cells in (levels or {}).items():
            for scope, cell in (cells or {}).items():
                suppressed = bool(cell.suppressed)
                if variable == "town":
                    group = towns.get(level, level)
                elif variable in ("sex", "age_group"):
                    group = label(variable, level)
                else:
                    group = level
                row = {
                    "分组变量": label("subgroup", variable),
                    "组别": group,
                    "组别代码": level,
                    "领域": "总体" if scope == "overall" else domain_label(scope, questionnaires),
                    "满意度指数": math.nan if suppressed else number(cell.index),
                    "95%下限": math.nan if suppressed else number(cell.ci_low),
                    "95%上限": math.nan if suppressed else number(cell.ci_high),
                    "标准误": math.nan if suppressed else number(cell.se),
                    "样本量": cell.n,
                    "变异系数": math.nan if suppressed else number(cell.cv),
                    "不予公布": _yes(suppressed),
                }
                subgroup_rows.append(row)
                if variable == "town" and scope == "overall":
                    town_overall_rows.append(
                        {
                            k: row[k]
                            for k in ("组别", "组别代码", "满意度指数", "95%下限", "95%上限", "样本量", "不予公布")
                        }
                    )
    subgroup_formats = {
        "满意度指数": ".1f",
        "95%下限": ".1f",
        "95%上限": ".1f",
        "标准误": ".2f",
        "样本量": ",",
        "变异系数": ".3f",
    }
    tables["subgroups"] = _table(
        "subgroups",
        "分组结果",
        "分组结果（镇街、性别、年龄组）",
        subgroup_rows,
        subgroup_formats,
        columns=[
            "分组变量",
            "组别",
            "组别代码",
            "领域",
            "满意度指数",
            "95%下限",
            "95%上限",
            "标准误",
            "样本量",
            "变异系数",
            "不予公布",
        ],
    )
    tables["towns_overall"] = _table(
        "towns_overall",
        "镇街总体",
        "各镇街总体满意度指数及95%置信区间（不予公布者不列数值）",
        town_overall_rows,
        subgroup_formats,
        columns=["组别", "组别代码", "满意度指数", "95%下限", "95%上限", "样本量", "不予公布"],
    )
    tables["sensitivity"] = _table(
        "sensitivity",
        "敏感性分析",
        "总体结果在不同做法下的变化（敏感性分析）",
        sensitivity_rows(results, questionnaires),
        {"样本量": ",", "总体满意度指数": ".1f", "满意率（%）": ".1f"},
        columns=["比较", "分组", "样本量", "总体满意度指数", "指数95%区间", "满意率（%）", "满意率95%区间", "说明"],
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
                    "是否显著": _yes(item.significant),
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
        item_rows = []
        for analysis in drivers.domains.values():
            for driver in analysis.items:
                item_rows.append(
                    {
                        "领域": analysis.label,
                        "题目代码": driver.item,
                        "题目": driver.label,
                        "相对权重": driver.importance,
                        "相对权重标准误": driver.importance_se,
                        "解释份额（%）": 100 * driver.importance_share,
                        "份额95%下限": 100 * driver.share_ci_low,
                        "份额95%上限": 100 * driver.share_ci_high,
                        "相对重要性": driver.relative_importance,
                        "表现指数": driver.performance,
                        "表现95%下限": driver.performance_ci_low,
                        "表现95%上限": driver.performance_ci_high,
                        "样本量": driver.n,
                        "象限": label("quadrant", driver.quadrant),
                        "领域决定系数": analysis.r_squared,
                    }
                )
        tables["drivers"] = _table(
            "drivers",
            "关键驱动因素",
            "各领域题目的重要性与表现",
            item_rows,
            {
                "相对权重": ".3f",
                "相对权重标准误": ".3f",
                "解释份额（%）": ".1f",
                "份额95%下限": ".1f",
                "份额95%上限": ".1f",
                "相对重要性": ".2f",
                "表现指数": ".1f",
                "表现95%下限": ".1f",
                "表现95%上限": ".1f",
                "样本量": ",",
                "领域决定系数": ".2f",
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
    if results.rankings is not None:
        tables.update(ranking_tables(results.rankings))
    tables["methodology"] = _table(
        "methodology",
        "方法说明",
        "本次运行的方法与设置",
        list(methodology),
        columns=["项目", "内容"],
        wrap=True,
        hidden_rows=hidden_methodology_rows,
    )
    tables["inputs"] = _table(
        "inputs",
        "输入文件",
        "输入文件及其校验值（SHA-256）",
        [{"文件": name, "校验值": digest} for name, digest in (results.inputs or {}).items()],
        columns=["文件", "校验值"],
        wrap=True,
    )
    tables["exclusions"] = _table(
        "exclusions",
        "剔除记录",
        "质量筛查剔除的问卷",
        [
            {"原因": label("exclusion", reason), "代码": reason, "份数": count}
            for reason, count in (results.excluded or {}).items()
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


def _se_text(se: float | None, used: float | None) -> str:
    return f"{number(used):g}（假定）" if se is None else f"{se:g}"


def ranking_tables(rankings: Rankings) -> dict[str, ReportTable]:
    """The placements, the units compared with, and the changes of rank (within one
    source), from the rankings as results.json holds them."""
    placement_rows, unit_rows = [], []
    for placement in rankings.placements or ():
        level = label("level", placement.level)
        district = placement.district
        low, high = (list(placement.rank_interval or []) + [None, None])[:2]
        probabilities = list((placement.rank_probabilities or {}).values())
        placement_rows.append(
            {
                "层级": level,
                "本区得分来源": label("origin", district.origin if district else "survey"),
                "本区得分年份": placement.year,
                "对比单位年份": placement.benchmark_year,
                "年份相同": "是" if placement.same_year else "否（按要求比较，只作参考）",
                "本区得分": number(district and district.estimate),
                "本区标准误": _se_text(
                    None if district is None or district.se_assumed else district.se,
                    None if district is None else district.se,
                ),
                "参与排名数": placement.n_ranked,
                "排名中位数": placement.median_rank,
                "95%排名区间": f"第{low}–{high}名",
                "第1名概率": probabilities[0] if probabilities else math.nan,
                "假定标准误": placement.assumed_se,
                "名单完整": "是" if placement.complete_list else "否（仅在所列单位中排名）",
                "示意数据": _yes(placement.illustrative),
            }
        )
        for unit in placement.units or ():
            unit_rows.append(
                {
                    "层级": level,
                    "本区得分来源": label("source", placement.source),
                    "本区得分年份": placement.year,
                    "单位": unit.unit,
                    "公布年份": placement.benchmark_year,
                    "公布得分": unit.score,
                    "标准误": _se_text(unit.se, unit.se_used),
                    "公布名次": unit.published_rank,
                    "本区得分更高的概率": unit.probability_above,
                    "来源": source_text(unit.source, illustrative=bool(unit.illustrative)),
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
                    "层级": label("level", c.level),
                    "来源": label("source", c.source),
                    "从": c.from_year,
                    "到": c.to_year,
                    "原排名中位数": f"第{c.from_median_rank}名（共{c.from_n_ranked}）",
                    "现排名中位数": f"第{c.to_median_rank}名（共{c.to_n_ranked}）",
                    "名次变化中位数": c.median_change,
                    "95%区间": f"{(c.interval or [0, 0])[0]:+d} 至 {(c.interval or [0, 0])[1]:+d}",
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
    results: Results | Mapping[str, Any], item_scores: pd.DataFrame | None, questionnaires: QuestionnaireSet | None
) -> list[dict[str, Any]]:
    results = Results.coerce(results)
    overall_n = number(results.overall and results.overall.n)
    rows = []
    for domain, values in results.domain_items():
        row: dict[str, Any] = {
            "领域": domain_label(domain, questionnaires),
            "样本量": values.n,
            "回答该领域的比例（%）": 100 * number(values.n) / overall_n if overall_n else math.nan,
            "克朗巴赫α": number(values.alpha),
            "设计效应": number(values.deff),
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
