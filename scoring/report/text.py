"""The report's words: labels, numbers as text and the sentences of the report, in Chinese.

Everything a reader of the report sees as text is made here — the leaders' summary
(:func:`summary_points`), the methodology table (:func:`methodology_rows`), the ranking
sentences, the labels of codes (weighting, variance, exclusions) and times in Beijing
time — so that wording is changed in one place.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..benchmarks import LEVEL_LABELS_ZH
from ..charts import VERDICT_LABELS_ZH
from ..questionnaire import DOMAIN_LABELS_ZH
from ..rankings import INSTRUMENT_CAVEAT, describe_placement, describe_standard_errors

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..drivers import DriverAnalysis
    from ..planning import WaveComparison
    from ..questionnaire import QuestionnaireSet
    from ..rankings import Placement, Rankings

__all__ = [
    "BEIJING",
    "EXCLUSION_LABELS_ZH",
    "VARIANCE_LABELS_ZH",
    "VERDICT_LABELS_ZH",
    "WEIGHT_LABELS_ZH",
    "beijing_time",
    "domain_label",
    "estimate_facts",
    "fmt",
    "methodology_rows",
    "number",
    "p_text",
    "placement_sentence",
    "quality_notes",
    "rankings_intro",
    "summary_points",
    "town_labels",
]

#: Beijing time (China Standard Time, UTC+8, no daylight saving): every time a reader sees.
BEIJING = _dt.timezone(_dt.timedelta(hours=8), "北京时间")

EXCLUSION_LABELS_ZH: dict[str, str] = {
    "speeders": "答题过快（用时不足中位数的三分之一）",
    "speeder": "答题过快（用时不足中位数的三分之一）",
    "straight_liners": "直线作答（8题以上答案完全相同）",
    "straight_liner": "直线作答（8题以上答案完全相同）",
    "duplicate_browser": "同一浏览器重复提交",
    "ip_burst": "同一网络地址在同一调查点短时间内大量提交（疑似刷票）",
    "partial": "未完成问卷",
}
VARIANCE_LABELS_ZH: dict[str, str] = {
    "linearization": "泰勒线性化（分层、整群；校准后使用校准残差）",
    "jackknife": "分层刀切法 JKn（每个重复样本重新加权）",
    "bootstrap": "Rao–Wu 自助法（每个重复样本重新加权）",
}
WEIGHT_LABELS_ZH: dict[str, str] = {
    "none": "不加权",
    "unweighted": "不加权",
    "poststratify": "事后分层",
    "post_stratification": "事后分层",
    "poststratification": "事后分层",
    "rake": "按人口边际迭代加权（raking）",
    "raking": "按人口边际迭代加权（raking）",
}
#: The verdict in words; it agrees with the 95% interval shown beside it (statistics.md).
VERDICT_SENTENCES: dict[str, str] = {
    "met": "95%置信区间整体高于{target}，可以认为已达到“{target}以上”的目标。",
    "not_met": "95%置信区间整体低于{target}，可以认为尚未达到“{target}以上”的目标。",
    "inconclusive": "95%置信区间包含{target}，现有样本还不能确定是否达到“{target}以上”的目标。",
    "unstable": "样本量不足，估计不稳定，不对“{target}以上”的目标作判断。",
}
#: The two metrics a target can be tested on (``targets{index, satisfied_rate}``).
TARGET_METRICS: tuple[str, ...] = ("index", "satisfied_rate")


def target_tests(results: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The target tests of the results, the plan's metric first: ``targets{index,
    satisfied_rate}`` when the results have both, else the one ``target``."""
    target = results.get("target") or {}
    both = results.get("targets")
    if isinstance(both, Mapping):
        chosen = both.get("metric") or target.get("metric", "index")
        tests = [(metric, both[metric]) for metric in TARGET_METRICS if isinstance(both.get(metric), Mapping)]
        if tests:
            return sorted(tests, key=lambda test: test[0] != chosen)
    return [(target.get("metric", "index"), target)] if target else []


_ORIGIN_LABELS_ZH: dict[str, str] = {"survey": "本次调查", "previous": "往期调查", "published": "监测公布得分"}


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


def _target_text(target: Mapping[str, Any]) -> tuple[str, str]:
    """The target as people say it and its unit: ("85", "分") or ("85", "%")."""
    value = target.get("value", 85)
    metric = target.get("metric", "index")
    if metric == "satisfied_rate" and isinstance(value, (int, float)) and value <= 1:
        value = 100 * value
    text = f"{value:g}" if isinstance(value, (int, float)) else str(value)
    return text, ("分" if metric == "index" else "%")


# ---------------------------------------------------------------------------
# Rankings


def rankings_intro(rankings: Rankings) -> str:
    """The paragraph before the placements: how they are computed, the assumed SE, the caveat."""
    if rankings.assumed_se == 0:
        published = "公布的监测得分中未给出标准误的，视为精确值（假定标准误为0，会使名次区间偏窄）"
    else:
        published = f"公布的监测得分中未给出标准误的，按假定标准误{rankings.assumed_se:g}分处理"
    years = (
        "只与同一层级、同一年份的公布结果比较"
        if not rankings.other_years
        else "按要求也与往年的公布结果比较（年份不同者逐一注明，只作参考）"
    )
    return (
        f"{published}；本区得分按其抽样误差模拟{rankings.draws:,}次，给出每个名次的概率、排名中位数、"
        f"95%排名区间和高于各单位的概率，不给出不带区间的名次。{years}；名次变化只在同一来源的数字之间计算"
        f"（监测公布的名次与本调查的得分不相互比较）。{INSTRUMENT_CAVEAT['zh']}"
    )


def placement_sentence(placement: Placement) -> str:
    """The district's figure and its placement in one sentence."""
    origin = _ORIGIN_LABELS_ZH.get(placement.district.origin, placement.district.origin)
    return f"本区{placement.year}年得分（{origin}，{placement.district.estimate:.1f}）" + describe_placement(placement)


# ---------------------------------------------------------------------------
# The leaders' summary


def _verdict_sentences(results: Mapping[str, Any]) -> list[str]:
    """One sentence per tested metric: the plan's target first, the other one after it."""
    target = results.get("target") or {}
    tests = target_tests(results)
    points = []
    if len(tests) > 1:
        for position, (metric, entry) in enumerate(tests):
            verdict = entry.get("verdict") or "unstable"
            text, unit = _target_text({**entry, "metric": metric})
            measured = "满意度指数" if metric == "index" else "满意率"
            role = "（规划目标所检验的指标）" if position == 0 else "（另一指标，供参考）"
            points.append(
                f"以{measured}衡量“{text}{unit}以上”的目标{role}："
                + VERDICT_SENTENCES.get(verdict, "").format(target=f"{text}{unit}")
            )
        return points
    verdict = target.get("verdict") or "unstable"
    text, unit = _target_text(target)
    measured = "满意度指数" if target.get("metric", "index") == "index" else "满意率"
    p_value = number(target.get("p_value"))
    p_part = f"（以{measured}检验，单侧{p_text(p_value)}）" if not math.isnan(p_value) else f"（以{measured}检验）"
    sentence = VERDICT_SENTENCES.get(verdict, "").format(target=f"{text}{unit}")
    return [f"关于“{text}{unit}以上”的目标：{sentence}{p_part}"]


def summary_points(
    results: Mapping[str, Any],
    *,
    district: str,
    rankings: Rankings | None,
    drivers: DriverAnalysis | None,
    comparison: WaveComparison | None,
    questionnaires: QuestionnaireSet | None = None,
) -> list[str]:
    """The sentences of the leaders' summary, in plain Chinese."""
    overall = results.get("overall") or {}
    points = []
    index_sentence = (
        f"{district}公共服务总体满意度指数为{fmt(overall.get('index'))}分（满分100），"
        f"95%置信区间为{fmt(overall.get('ci_low'))}–{fmt(overall.get('ci_high'))}分。"
    )
    rate = overall.get("satisfied_rate") or {}
    if not math.isnan(number(rate.get("estimate"))):
        index_sentence += (
            f"回答“满意”或“非常满意”的居民占{fmt(100 * number(rate.get('estimate')))}%"
            f"（95%置信区间{fmt(100 * number(rate.get('ci_low')))}%–{fmt(100 * number(rate.get('ci_high')))}%）。"
        )
    points.append(index_sentence)
    points.extend(_verdict_sentences(results))
    domains = results.get("domains") or {}
    ranked = sorted(
        ((d, v) for d, v in domains.items() if not math.isnan(number(v.get("index")))),
        key=lambda item: item[1]["index"],
        reverse=True,
    )
    if len(ranked) >= 2:
        best = "、".join(f"{domain_label(d, questionnaires)}（{fmt(v['index'])}）" for d, v in ranked[:2])
        worst = "、".join(f"{domain_label(d, questionnaires)}（{fmt(v['index'])}）" for d, v in ranked[-2:][::-1])
        points.append(f"满意度最高的领域是{best}；最低的是{worst}。")
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
        placed = False
        for level in ("municipality", "province", "national"):
            placement = rankings.latest(level)
            if placement is None:
                continue
            placed = True
            if placement.complete_list:
                text = f"排名：本区{placement.year}年得分{describe_placement(placement)}"
            else:
                # The published list is partial (ranks from other lists): a rank among the
                # listed units would mislead; say how likely the district is above each.
                above = "；".join(
                    f"高于{u.unit}（{u.score:g}）的概率为{100 * u.probability_above:.0f}%" for u in placement.units[:4]
                )
                text = (
                    f"与{placement.benchmark_year}年{LEVEL_LABELS_ZH.get(placement.level, placement.level)}"
                    f"公布的数字相比：本区{placement.year}年得分{above}（{describe_standard_errors(placement)}）。"
                )
            if placement.illustrative:
                text += "（对标数据为示意数据）"
            points.append(text)
        if placed:
            points.append(INSTRUMENT_CAVEAT["zh"])
    if drivers is not None and drivers.priorities:
        top = "；".join(f"{p.domain_label}：{p.label}" for p in drivers.priorities[:3])
        points.append(f"最需要优先改进的事项（重要性高、表现低）：{top}。")
    return points


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
        "proportion_interval": {
            "logit": "logit区间（与R survey包svyciprop默认一致）",
            "korn_graubard": 'Korn–Graubard区间（svyciprop method="beta"）',
            "wilson": "Wilson区间（以有效样本量计算）",
        }.get(options.rate_interval, options.rate_interval),
        "domain_weights": domain_weights,
        "suppression": {"min_n": options.suppress_min_n, "max_cv": options.suppress_max_cv},
    }


def methodology_rows(
    results: Mapping[str, Any],
    *,
    facts: Mapping[str, Any],
    drivers: DriverAnalysis | None,
    rankings: Rankings | None,
    report_format: str,
) -> list[dict[str, str]]:
    """The methodology table: every choice that affects the figures, from the run itself.

    ``facts`` may hold ``source``, ``margins``, ``domain_weights``,
    ``proportion_interval``, ``suppression`` (``{"min_n", "max_cv"}``), ``previous``
    (the earlier waves compared with) and ``command``.
    """
    weights = results.get("weights") or {}
    design = results.get("design") or {}
    overall = results.get("overall") or {}
    target = results.get("target") or {}
    rows: list[dict[str, str]] = []

    def add(item: str, content: Any) -> None:
        rows.append({"项目": item, "内容": str(content)})

    if facts.get("source"):
        add("数据来源", facts["source"])
    method = str(weights.get("method", ""))
    add("加权方法", WEIGHT_LABELS_ZH.get(method, method or "—"))
    if facts.get("margins"):
        add("人口边际文件", facts["margins"])
    add("有效样本量（Kish）", fmt(weights.get("effective_n"), ",.0f"))
    add("加权设计效应", fmt(weights.get("deff"), ".3f"))
    add("权重范围", f"{fmt(weights.get('min'), '.3g')} – {fmt(weights.get('max'), '.3g')}")
    variance = str(design.get("variance", ""))
    add("方差估计", VARIANCE_LABELS_ZH.get(variance, variance or "—"))
    add("分层变量", design.get("strata") or "无")
    add("整群（初级抽样单位）变量", design.get("clusters") or "无")
    add("自由度（初级抽样单位数 − 层数）", design.get("df", overall.get("df", "—")))
    add("指数置信区间", "t分布区间：估计值 ± t(df, 0.975) × 标准误")
    add("满意率置信区间", facts.get("proportion_interval", "logit区间（与R survey包svyciprop默认一致）"))
    add("领域指数", "比率估计，按子总体在全样本设计上估计方差（未回答该领域者贡献0）")
    add("总体指数", facts.get("domain_weights", "各领域等权平均，方差含领域间协方差"))
    rule = facts.get("suppression") or {}
    add(
        "分组结果公布规则",
        f"样本量小于{rule.get('min_n', 30)}或变异系数大于{rule.get('max_cv', 0.3)}的分组估计不予公布",
    )
    text, unit = _target_text(target)
    add(
        "目标检验",
        f"目标{text}{unit}，检验{'满意度指数' if target.get('metric', 'index') == 'index' else '满意率'}；"
        "95%置信区间整体高于目标为“已达到”，整体低于目标为“未达到”，包含目标则“尚无法判断”",
    )
    add("有效问卷", fmt(overall.get("n"), ",.0f"))
    if drivers is not None:
        add(
            "关键驱动因素",
            "Johnson相对权重（加权成对相关矩阵），重要性与表现的置信区间："
            + drivers.description
            + "；象限以本领域均值划分",
        )
    if rankings is not None:
        add(
            "排名模拟",
            f"各得分按 θ* ~ N(θ̂, SE²) 模拟{rankings.draws:,}次，随机种子{rankings.seed}；"
            + (
                f"未公布标准误的监测得分假定标准误{rankings.assumed_se:g}分"
                if rankings.assumed_se > 0
                else "未公布标准误的监测得分视为精确值（假定标准误为0）"
            )
            + "；"
            + ("只比较同一年份" if not rankings.other_years else "按要求也比较不同年份")
            + "；对标："
            + (rankings.benchmarks or "—"),
        )
    if facts.get("previous"):
        add("上期结果", facts["previous"])
    add("软件", f"Manyi scoring {results.get('version', '')}，报告格式 {report_format}")
    if facts.get("command"):
        add("运行命令", facts["command"])
    return rows


def quality_notes(results: Mapping[str, Any], *, notes: Sequence[str]) -> list[str]:
    """Notes of the data-quality section: the analyses' notes and the exclusions to mention."""
    collected = list(notes)
    for problem in ("duplicate_browser", "ip_burst", "partial"):
        count = (results.get("excluded") or {}).get(problem)
        if count:
            collected.append(f"{EXCLUSION_LABELS_ZH.get(problem, problem)}：{count} 份，未计入。")
    return collected
