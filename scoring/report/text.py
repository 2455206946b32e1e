"""The report's words: numbers as text and the sentences of the report, in Chinese.

Everything a reader of the report sees as text is made here — the leaders' summary
(:func:`summary_points`), the methodology table (:func:`methodology_rows`), the ranking
sentences and times in Beijing time — from the typed results (:mod:`scoring.contract`),
the labels of :mod:`scoring.vocabulary` and the citizens' sentences of
:mod:`scoring.explain`, so that wording is changed in one place.  Method names appear in
Latin letters only once, beside their Chinese (the methodology table).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..contract import Placement, Rankings, Results
from ..explain import figure_text, placement_sentence, target_text, verdict_sentence
from ..vocabulary import BEIJING, DISTRICT, DOMAIN_LABELS_ZH, canonical, label

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..drivers import DriverAnalysis
    from ..planning import WaveComparison
    from ..questionnaire import QuestionnaireSet

__all__ = [
    "BEIJING",
    "METHOD_NAMES",
    "VERDICT_WORDS",
    "beijing_time",
    "domain_label",
    "domain_verdict_counts",
    "estimate_facts",
    "fmt",
    "headline_sentence",
    "methodology_rows",
    "number",
    "p_text",
    "placement_sentence",
    "placements_shown",
    "quality_notes",
    "rankings_intro",
    "summary_points",
    "town_labels",
    "verdict_points",
]

#: The words of a verdict in the report's tables (the vocabulary's, without "目标").
VERDICT_WORDS: dict[str, str] = {
    "met": "已达到",
    "not_met": "未达到",
    "inconclusive": "尚无法判断",
    "unstable": "样本不足，不作判断",
}
#: Method names given once, in Latin letters, beside their Chinese (the methodology table).
METHOD_NAMES: dict[str, str] = {
    "linearization": "泰勒线性化（Taylor linearization），分层、整群；加权后使用校准残差",
    "jackknife": "分层刀切法（jackknife，JKn），每个重复样本重新加权",
    "bootstrap": "自助法（Rao–Wu bootstrap），每个重复样本重新加权",
    "raking": "按人口结构迭代比例加权（raking）",
    "logit": "对数几率区间（logit，与R语言survey包的默认方法一致）",
    "korn_graubard": "Korn–Graubard区间（精确贝塔分布方法）",
    "wilson": "Wilson区间（以有效样本量计算）",
}
#: The design's columns in words.
DESIGN_COLUMNS: dict[str, str] = {
    "point_town": "调查点所在的镇街",
    "town": "受访者居住的镇街",
    "point": "调查点（每个调查点为一个群）",
}


# ---------------------------------------------------------------------------
# Numbers and times


def number(value: Any) -> float:
    """A finite float or NaN (``None`` and non-numbers become NaN)."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return math.nan
    return result if math.isfinite(result) else math.nan


def fmt(value: Any, spec: str = ".1f") -> str:
    """``value`` formatted with ``spec``, or "—" when it is missing."""
    result = number(value)
    return "—" if math.isnan(result) else format(result, spec)


def p_text(p_value: float) -> str:
    """A p-value as printed: p<0.001, p>0.999 or three decimals."""
    if p_value < 0.001:
        return "p<0.001"
    if p_value > 0.999:
        return "p>0.999"
    return f"p={p_value:.3f}"


def beijing_time(moment: _dt.datetime) -> str:
    """``moment`` in Beijing time, saying so: ``2025-07-01 09:30 北京时间（UTC+8）``.

    Raises
    ------
    ValueError
        For a naive datetime (its time zone would be a guess).
    """
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no time zone; give an aware one (e.g. datetime.now(UTC))")
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") + " 北京时间（UTC+8）"


# ---------------------------------------------------------------------------
# Labels


def town_labels(questionnaires: QuestionnaireSet | None) -> dict[str, str]:
    """Town code → Chinese name, from the ``town`` item of the common questionnaire."""
    if questionnaires is not None:
        try:
            item = questionnaires.common.item("town")
        except KeyError:
            return {}
        return {choice.value: choice.label.zh for choice in item.choices}
    # Without a questionnaire folder: the towns of the shipped common.yaml.
    from ..synthetic import DEFAULT_TOWNS

    return dict(DEFAULT_TOWNS)


def domain_label(domain: str, questionnaires: QuestionnaireSet | None = None) -> str:
    """The Chinese name of a domain (from the questionnaires when given)."""
    if questionnaires is not None and domain in questionnaires.domains:
        return questionnaires.domains[domain].title.zh
    return DOMAIN_LABELS_ZH.get(domain, domain)


# ---------------------------------------------------------------------------
# Verdicts


def domain_verdict_counts(results: Results, metric: str) -> dict[str, int]:
    """How many domains are met, not met, inconclusive, or without a verdict (unstable)."""
    counts = {"met": 0, "not_met": 0, "inconclusive": 0, "unstable": 0}
    for _domain, values in results.domain_items():
        counts[values.target_test(metric, results.said_target).shown_verdict] += 1
    return counts


def _counts_text(counts: Mapping[str, int], goal: str) -> str:
    parts = [f"{counts['met']}个已达到{goal}", f"{counts['not_met']}个未达到", f"{counts['inconclusive']}个尚无法判断"]
    if counts["unstable"]:
        parts.append(f"{counts['unstable']}个样本不足、不作判断")
    return "、".join(parts)


# ---------------------------------------------------------------------------
# Rankings


def _se_clause(rankings: Rankings) -> str:
    assumed = rankings.assumed_se if rankings.assumed_se is not None else 1.0
    if assumed == 0:
        return "公布的监测得分中未给出标准误的，视为精确值（假定标准误为0，会使名次区间偏窄）"
    return f"公布的监测得分中未给出标准误的，按假定标准误{assumed:g}分处理"


def rankings_intro(rankings: Rankings) -> str:
    """The paragraph before the placements: how they are computed, the assumed SE, the caveat."""
    years = (
        "只与同一层级、同一年份的公布结果比较"
        if rankings.year_rule != "latest_not_after"
        else "按要求也与往年的公布结果比较（年份不同者逐一注明，只作参考）"
    )
    draws = f"{rankings.draws:,}" if rankings.draws else "—"
    return (
        f"{_se_clause(rankings)}；本区得分按其抽样误差模拟{draws}次，给出每个名次的概率、排名中位数、"
        f"95%排名区间和高于各单位的概率，不给出不带区间的名次。{years}；名次变化只在同一来源的数字之间计算"
        f"（监测公布的名次与本调查的得分不相互比较）。{rankings.caveat_in('zh')}"
    )


# ---------------------------------------------------------------------------
# The leaders' summary


def headline_sentence(results: Results, *, district: str = DISTRICT) -> str:
    """The overall index and satisfied rate, each with its interval."""
    overall = results.overall
    index = overall.index if overall else None
    if math.isnan(number(index)):
        sentence = f"{district}公共服务总体满意度指数：样本不足，不作估计。"
    else:
        sentence = f"{district}公共服务总体满意度指数为{fmt(index)}分（满分100）"
        if overall is not None and not math.isnan(number(overall.ci_low)):
            sentence += f"，95%置信区间{fmt(overall.ci_low)}–{fmt(overall.ci_high)}分"
        sentence += "。"
    rate = overall.satisfied_rate if overall else None
    if rate is not None and not math.isnan(number(rate.estimate)):
        sentence += (
            f"回答“满意”或“非常满意”的居民占{figure_text('satisfied_rate', rate.estimate, rate.ci_low, rate.ci_high)}。"
        )
    return sentence


def verdict_points(results: Results) -> list[str]:
    """One sentence per tested metric: the plan's target first, the other one after it."""
    points = []
    for position, (metric, test) in enumerate(results.target_tests()):
        goal = target_text(metric, test.said_target)
        role = "规划目标" if position == 0 else "对照口径"
        what = label("metric", metric)
        points.append(f"{role}（以{what}检验，{goal}）：{verdict_sentence(metric, test)}")
    return points


def summary_points(
    results: Results | Mapping[str, Any],
    *,
    district: str = DISTRICT,
    rankings: Rankings | None = None,
    drivers: DriverAnalysis | None = None,
    comparison: WaveComparison | None = None,
    questionnaires: QuestionnaireSet | None = None,
) -> list[str]:
    """The sentences of the leaders' summary, in plain Chinese.

    ``rankings`` are the results' own (:class:`scoring.contract.Rankings`): the summary
    says what results.json says.
    """
    results = Results.coerce(results)
    rankings = rankings if rankings is not None else results.rankings
    points = [headline_sentence(results, district=district), *verdict_points(results)]
    target = results.said_target
    if results.domains:
        index_counts = domain_verdict_counts(results, "index")
        rate_counts = domain_verdict_counts(results, "satisfied_rate")
        points.append(
            f"{len(results.domains)}个领域中，按满意度指数：{_counts_text(index_counts, target_text('index', target))}；"
            f"按满意率：{_counts_text(rate_counts, target_text('satisfied_rate', target))}（判断规则同上）。"
        )
    stable = [(d, v) for d, v in results.domain_items() if not math.isnan(number(v.index)) and not v.unstable]
    stable.sort(key=lambda item: number(item[1].index), reverse=True)
    if len(stable) >= 2:
        best = "、".join(f"{domain_label(d, questionnaires)}（{fmt(v.index)}）" for d, v in stable[:2])
        worst = "、".join(f"{domain_label(d, questionnaires)}（{fmt(v.index)}）" for d, v in stable[-2:][::-1])
        points.append(f"满意度指数最高的领域是{best}；最低的是{worst}。")
    if comparison is not None:
        for change in comparison.changes:
            if change.key == "overall.index":
                direction = "上升" if change.difference > 0 else "下降"
                significance = "变化在统计上显著" if change.significant else "变化在统计上不显著（可能只是抽样波动）"
                points.append(
                    f"与{comparison.previous_label}相比，总体满意度指数{direction}{abs(change.difference):.1f}分"
                    f"（95%置信区间{change.ci_low:+.1f}至{change.ci_high:+.1f}分），{significance}。"
                )
    if rankings is not None:
        shown = rankings.shown(source="survey")
        for placement in shown:
            text = f"排名：{placement_sentence(placement)}"
            if placement.illustrative:
                text += "（对标数据为示意数据）"
            points.append(text)
        if shown:
            points.append(rankings.caveat_in("zh"))
    if drivers is not None and drivers.priorities:
        top = "；".join(f"{p.domain_label}：{p.label}" for p in drivers.priorities[:3])
        points.append(f"最需要优先改进的事项（重要性高、表现低）：{top}。")
    return points


def placements_shown(results: Results) -> list[Placement]:
    """The placements the report shows as the district's rank: this survey's latest at
    each level, exactly as results.json holds them."""
    return results.rankings.shown(source="survey") if results.rankings else []


# ---------------------------------------------------------------------------
# Methodology


def estimate_facts(options: Any) -> dict[str, Any]:
    """Facts of the estimate step's options for the methodology table.

    ``options`` is a :class:`scoring.pipeline.EstimateOptions`; the keys are those of
    :func:`methodology_rows`'s ``facts``.
    """
    from pathlib import Path

    margins = options.margins
    if isinstance(margins, (str, Path)):
        margins_text = Path(margins).name
    else:
        margins_text = "（内存中的边际表）" if margins is not None else ""
    if options.domain_weights is None:
        domain_weights = "各领域等权平均，方差含领域间协方差"
    elif options.domain_weights == "derived":
        domain_weights = "领域权重由各领域得分对总体满意度题的相对重要性导出"
    elif isinstance(options.domain_weights, (str, Path)):
        domain_weights = f"领域权重文件 {Path(options.domain_weights).name}"
    else:
        domain_weights = "领域权重由调用者给出"
    return {
        "margins": margins_text,
        "proportion_interval": METHOD_NAMES.get(options.rate_interval, options.rate_interval),
        "domain_weights": domain_weights,
        "suppression": {"min_n": options.suppress_min_n, "max_cv": options.suppress_max_cv},
    }


#: Rows of the methodology table kept in the CSV/XLSX files but not printed (commands and
#: paths are for the statistician's tools, not for the PDF's readers).
MACHINE_ONLY_ROWS: frozenset[str] = frozenset({"运行命令", "数据来源"})


def methodology_rows(
    results: Results | Mapping[str, Any],
    *,
    facts: Mapping[str, Any],
    drivers: DriverAnalysis | None,
    rankings: Rankings | None,
    report_format: str,
) -> list[dict[str, str]]:
    """The methodology table: every choice that affects the figures, from the run itself.

    ``facts`` may hold ``source``, ``settings`` (the analysis settings used, in words), ``margins``, ``domain_weights``,
    ``proportion_interval``, ``suppression`` (``{"min_n", "max_cv"}``), ``previous``
    (the earlier waves compared with) and ``command``.
    """
    results = Results.coerce(results)
    weights, design, overall = results.weights, results.design, results.overall
    rows: list[dict[str, str]] = []

    def add(item: str, content: Any) -> None:
        rows.append({"项目": item, "内容": str(content)})

    if facts.get("source"):
        add("数据来源", facts["source"])
    if facts.get("settings"):
        # Which analysis settings the run used, and where they differ from the wave's (shown).
        add("分析设置", facts["settings"])
    method = str(weights.method if weights and weights.method else "none")
    add("加权方法", METHOD_NAMES.get(canonical("weighting", method), label("weighting", method)))
    if facts.get("margins"):
        add("人口边际文件", facts["margins"])
    add("有效样本量（Kish）", fmt(weights and weights.effective_n, ",.0f"))
    add("加权设计效应", fmt(weights and weights.deff, ".3f"))
    add("权重范围", f"{fmt(weights and weights.min, '.3g')} – {fmt(weights and weights.max, '.3g')}")
    variance = str(design.variance if design and design.variance else "")
    add("方差估计", METHOD_NAMES.get(variance, label("variance", variance) if variance else "—"))
    add("分层", DESIGN_COLUMNS.get(str(design and design.strata), "无") if design and design.strata else "无")
    add("整群（初级抽样单位）", DESIGN_COLUMNS.get(str(design.clusters), "—") if design and design.clusters else "无")
    if design is not None and design.rows_without_cluster is not None:
        add("没有调查点的答卷", "电话、纸质问卷按渠道各成一层，每份答卷单独成群")
    df = design.df if design and design.df is not None else (overall.df if overall else None)
    add("自由度（初级抽样单位数 − 层数）", fmt(df, ".0f"))
    add("指数置信区间", "t分布区间：估计值 ± t(自由度, 0.975) × 标准误")
    add("满意率置信区间", facts.get("proportion_interval", METHOD_NAMES["logit"]))
    add("计分方法", label("mapping_sentence", (results.scale.mapping if results.scale else None) or "linear"))
    add("领域指数", "比率估计，按子总体在全样本设计上估计方差（未回答该领域者贡献0）")
    add("总体指数", facts.get("domain_weights", "各领域等权平均，方差含领域间协方差"))
    if overall is not None and overall.left_out_domains:
        names = "、".join(domain_label(str(entry.domain)) for entry in overall.left_out_domains)
        add("未计入总体指数的领域", f"{names}（样本不足，其余领域的权重按比例放大）")
    rule = facts.get("suppression") or {}
    add(
        "分组结果公布规则",
        f"样本量小于{rule.get('min_n', 30)}或变异系数大于{rule.get('max_cv', 0.3)}的分组估计不予公布",
    )
    tests = results.target_tests()
    plan = tests[0][0] if tests else "index"
    target = results.said_target
    add(
        "目标检验",
        f"目标“{target:g}%以上”，规划目标以{label('metric', plan)}（{target_text(plan, target)}）检验，"
        f"另一口径一并列出；95%置信区间整体高于目标为“已达到”，整体低于目标为“未达到”，包含目标则“尚无法判断”"
        "（相当于每侧2.5%的单侧检验）；样本不足的数字不作判断",
    )
    add("有效问卷", fmt(overall and overall.n, ",.0f"))
    if drivers is not None:
        add(
            "关键驱动因素",
            "约翰逊相对权重（Johnson relative weights，加权成对相关矩阵），重要性与表现的置信区间："
            + drivers.description
            + "；象限以本领域均值划分",
        )
    if rankings is not None:
        assumed = rankings.assumed_se if rankings.assumed_se is not None else 1.0
        add(
            "排名模拟",
            f"各得分按其标准误的正态分布模拟{rankings.draws or 0:,}次，随机种子{rankings.seed}；"
            + (
                f"未公布标准误的监测得分假定标准误{assumed:g}分"
                if assumed > 0
                else "未公布标准误的监测得分视为精确值（假定标准误为0）"
            )
            + "；"
            + ("只比较同一年份" if rankings.year_rule != "latest_not_after" else "按要求也比较不同年份")
            + "；对标文件："
            + (rankings.benchmarks or "—"),
        )
    if facts.get("previous"):
        add("上期结果", facts["previous"])
    version = str(results.version or "").replace("manyi-scoring", "").strip()
    add("软件", f"满意（Manyi）计分引擎 {version}，报告格式 {report_format}")
    if facts.get("command"):
        add("运行命令", facts["command"])
    return rows


def quality_notes(results: Results | Mapping[str, Any], *, notes: Sequence[str]) -> list[str]:
    """Notes of the data-quality section: the analyses' notes and the exclusions to mention."""
    results = Results.coerce(results)
    collected = list(notes)
    for problem in ("duplicate_browser", "ip_burst", "partial"):
        count = (results.excluded or {}).get(problem)
        if count:
            collected.append(f"{label('exclusion', problem)}：{count} 份，未计入。")
    return collected
