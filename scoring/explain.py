"""Plain words for citizens about a results file, in Chinese and English.

The public page, the admin preview and the report say the same things the same way: what
a 95% interval means (never "95% sure"), what the target is and which of its two readings
is *the* plan's, each verdict in a sentence that agrees with the interval beside it, that
the residents chose themselves and were weighted to the population, how much the headline
moves without the weighting, and how answers became scores.  Every function takes a
:class:`scoring.contract.Results` (or a part of it) and a language (``"zh"`` or ``"en"``)
and returns text; nothing here formats HTML.

Only the standard library, :mod:`scoring.vocabulary` and :mod:`scoring.contract` are
imported: the web app uses this module without loading pandas or scipy.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .contract import Headline, Placement, Results, TargetTest
from .vocabulary import DEFAULT_TARGET, label

__all__ = [
    "figure_text",
    "finite_number",
    "interval_sentence",
    "number_text",
    "percent_text",
    "placement_sentence",
    "plan_sentence",
    "sample_sentence",
    "scale_sentence",
    "sensitivity_sentence",
    "source_text",
    "standard_error_clause",
    "target_text",
    "verdict_rule_sentence",
    "verdict_sentence",
]


def finite_number(value: Any) -> float | None:
    """A finite float, or None (missing, null, NaN, not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def number_text(value: Any, digits: int = 1) -> str:
    """An index as printed (``79.3``), or ``—`` when there is none."""
    number = finite_number(value)
    return "—" if number is None else f"{number:.{digits}f}"


def percent_text(value: Any, digits: int = 1) -> str:
    """A proportion as a percentage (``0.906`` → ``90.6%``), or ``—``."""
    number = finite_number(value)
    return "—" if number is None else f"{100 * number:.{digits}f}%"


def _value_text(metric: str, value: Any) -> str:
    return percent_text(value) if metric == "satisfied_rate" else number_text(value)


def figure_text(metric: str, estimate: Any, low: Any, high: Any, language: str = "zh") -> str:
    """``79.3（95%置信区间78.3–80.4）`` or ``79.3 (95% confidence interval 78.3–80.4)``."""
    value = _value_text(metric, estimate)
    if finite_number(low) is None or finite_number(high) is None:
        return value
    interval = f"{_value_text(metric, low)}–{_value_text(metric, high)}"
    if language == "zh":
        return f"{value}（95%置信区间{interval}）"
    return f"{value} (95% confidence interval {interval})"


def target_text(metric: str, target: float | None = None, language: str = "zh") -> str:
    """The target as people say it: ``85分``/``85%`` (``85``/``85%`` in English)."""
    said = DEFAULT_TARGET if target is None else float(target)
    if metric == "satisfied_rate":
        return f"{said:g}%"
    return f"{said:g}分" if language == "zh" else f"{said:g}"


def _measure(metric: str, language: str, *, overall: bool = True) -> str:
    if language == "zh":
        words = {"index": "满意度指数", "satisfied_rate": "满意率"}[metric]
        return f"总体{words}" if overall else words
    words = {"index": "satisfaction index", "satisfied_rate": "satisfied rate"}[metric]
    return f"the overall {words}" if overall else f"the {words}"


def verdict_sentence(metric: str, test: TargetTest, language: str = "zh", *, overall: bool = True) -> str:
    """The estimate, its interval and the verdict in one sentence that agrees with the interval.

    The verdict reads the 95% interval: above the target → met, below → not met,
    containing it → cannot tell yet; an unstable figure gets no verdict.
    """
    what = _measure(metric, language, overall=overall)
    goal = target_text(metric, test.said_target, language)
    figure = figure_text(metric, test.estimate, test.ci_low, test.ci_high, language)
    verdict = test.shown_verdict
    if language == "zh":
        start = f"{what}为{figure}"
        end = {
            "met": f"，区间整体高于{goal}：已达到“{goal}以上”的目标。",
            "not_met": f"，区间整体低于{goal}：未达到“{goal}以上”的目标。",
            "inconclusive": f"，区间包含{goal}：现有样本还不能确定是否达到“{goal}以上”的目标。",
            "unstable": "，但样本不足，不作判断。",
        }[verdict]
        return start + end
    start = f"{what[0].upper()}{what[1:]} is {figure}"
    end = {
        "met": f"; the interval lies above {goal}: the target of {goal} or more is met.",
        "not_met": f"; the interval lies below {goal}: the target of {goal} or more is not met.",
        "inconclusive": f"; the interval includes {goal}: the survey cannot yet tell whether the target of {goal} "
        "is met.",
        "unstable": "; too few responses for a verdict.",
    }[verdict]
    return start + end


def plan_sentence(results: Results, language: str = "zh") -> str:
    """Which reading of "85%" is the plan's target, and why the other is shown too."""
    plan = results.plan_metric
    other = "satisfied_rate" if plan == "index" else "index"
    target = results.said_target
    if language == "zh":
        return (
            f"规划目标是“公共服务质量总体满意度达到{target:g}%以上”。本期按设置以{_measure(plan, 'zh')}"
            f"（{target_text(plan, target, 'zh')}）检验这一目标；“{target:g}%”也常被理解为{_measure(other, 'zh')}"
            f"（{target_text(other, target, 'zh')}），两种读法可能得出不同结论，所以两者一并列出，供对照。"
        )
    return (
        f"The plan's target is an overall public-service satisfaction of {target:g}% or more. This wave tests it "
        f'on {_measure(plan, "en")} ({target_text(plan, target, "en")}), as its settings say; "{target:g}%" is '
        f"also read as {_measure(other, 'en')} ({target_text(other, target, 'en')}), and the two readings can "
        "disagree, so both are shown side by side."
    )


def interval_sentence(language: str = "zh") -> str:
    """What a 95% confidence interval means, without "95% sure"."""
    if language == "zh":
        return (
            "95%置信区间的意思：用同样的方法反复抽样调查，按这种方法算出的区间，每100次中约有95次会包含全区的真实值。"
            "区间越窄，估计越精确；区间只反映抽样误差。"
        )
    return (
        "A 95% confidence interval: if the survey were repeated many times in the same way, about 95 in 100 of the "
        "intervals computed like this one would contain the district's true value. A narrower interval means a more "
        "precise estimate; the interval reflects sampling error only."
    )


def verdict_rule_sentence(target: float = DEFAULT_TARGET, language: str = "zh") -> str:
    """The rule every verdict follows."""
    if language == "zh":
        return (
            f"判断规则：95%置信区间整体高于{target:g}为“已达到目标”，整体低于{target:g}为“未达到目标”，"
            f"包含{target:g}为“尚无法判断”；样本不足的数字不作判断。"
        )
    return (
        f"The rule: a 95% interval wholly above {target:g} means the target is met, wholly below means it is not "
        f"met, and an interval that includes {target:g} means we cannot tell yet; figures resting on too few "
        "responses get no verdict."
    )


def _channels(results: Results, language: str) -> str:
    channels = list((results.sensitivity.channel or {}) if results.sensitivity else {})
    if not channels:
        return ""
    names = [label("channel", channel, language) for channel in channels]
    return ("、" if language == "zh" else ", ").join(names)


def sample_sentence(results: Results, language: str = "zh") -> str:
    """The residents chose themselves; the figures are weighted to the population."""
    method = results.weights.method if results.weights else None
    weighted = method not in (None, "none", "unweighted")
    channels = _channels(results, language)
    if language == "zh":
        who = "受访者是在学校、医院、办事大厅等服务场所扫码自愿参加的居民" + (
            f"（本期渠道：{channels}）" if channels else ""
        )
        how = (
            "，不是随机抽取的样本。计算时按全区人口的镇街、性别和年龄结构加权，并假定加权后受访者与同类居民相当；"
            if weighted
            else "，不是随机抽取的样本。本期没有按人口结构加权；"
        )
        return who + how + "置信区间只反映抽样误差，不反映自愿参加可能带来的偏差。"
    who = "The respondents are residents who chose to scan a QR code at a school, hospital or service hall" + (
        f" (channels this wave: {channels})" if channels else ""
    )
    how = (
        "; they are not a random sample. The figures are weighted to the district's population by town, sex and age, "
        "assuming that, after weighting, those who answered are like the residents they stand for; "
        if weighted
        else "; they are not a random sample. This wave was not weighted to the population; "
    )
    return who + how + "the intervals reflect sampling error only, not the bias self-selection may bring."


def _headline_pair(headline: Headline | None) -> tuple[float | None, float | None]:
    if headline is None:
        return None, None
    index = finite_number(headline.index.estimate) if headline.index else None
    rate = finite_number(headline.satisfied_rate.estimate) if headline.satisfied_rate else None
    return index, rate


def sensitivity_sentence(results: Results, language: str = "zh") -> str | None:
    """One line on how much the headline moves with the weighting (``None`` without it)."""
    sensitivity = results.sensitivity
    if sensitivity is None or sensitivity.weighting is None:
        return None
    weighting = sensitivity.weighting
    raw_index, raw_rate = _headline_pair(weighting.unweighted)
    index, rate = _headline_pair(weighting.weighted)
    if raw_index is None or index is None:
        return None
    if weighting.method in (None, "none"):
        if language == "zh":
            return f"本期未按人口结构加权：总体满意度指数{number_text(raw_index)}是受访者的简单平均。"
        return f"This wave was not weighted: the overall index of {number_text(raw_index)} is the respondents' average."
    if language == "zh":
        text = f"不加权时总体满意度指数为{number_text(raw_index)}，按人口结构加权后为{number_text(index)}"
        if raw_rate is not None and rate is not None:
            text += f"；满意率分别为{percent_text(raw_rate)}和{percent_text(rate)}"
        return text + "。两者相差越大，结果越依赖加权。"
    text = f"Unweighted, the overall index is {number_text(raw_index)}; weighted to the population it is {number_text(index)}"
    if raw_rate is not None and rate is not None:
        text += f" (satisfied rate {percent_text(raw_rate)} and {percent_text(rate)})"
    return text + ". The larger the gap, the more the result leans on the weighting."


def scale_sentence(results: Results, language: str = "zh") -> str:
    """How answers became 0–100 scores (the wave's scale mapping), in one plain sentence."""
    mapping = (results.scale.mapping if results.scale else None) or "linear"
    return label("mapping_sentence", mapping, language)


_ILLUSTRATIVE = re.compile(r"^\s*(illustrative|示意)", re.IGNORECASE)


def source_text(source: str | None, *, illustrative: bool = False, language: str = "zh") -> str:
    """A benchmark's source as a reader sees it: illustrative figures say so, in words."""
    text = (source or "").strip()
    if illustrative or _ILLUSTRATIVE.match(text):
        return "示意数据" if language == "zh" else "illustrative figures"
    return text


def standard_error_clause(placement: Placement, language: str = "zh") -> str:
    """How the published figures' uncertainty entered the rank simulation (the assumed SE,
    stated beside every ranking)."""
    assumed = placement.assumed_se if placement.assumed_se is not None else 1.0
    any_assumed = bool(placement.district and placement.district.se_assumed) or any(
        unit.se_assumed for unit in placement.units or ()
    )
    if language == "zh":
        if not any_assumed:
            return "公布得分均带有标准误，按其标准误模拟"
        if assumed == 0:
            return "未公布标准误的得分视为精确值（假定标准误为0）"
        return f"未公布标准误的得分按假定标准误{assumed:g}分模拟"
    if not any_assumed:
        return "every published score came with its standard error"
    if assumed == 0:
        return "published scores without a standard error were taken as exact (assumed standard error 0)"
    unit = "point" if assumed == 1 else "points"
    return f"published scores without a standard error were given an assumed standard error of {assumed:g} {unit}"


def placement_sentence(placement: Placement, language: str = "zh") -> str:
    """The district's figure and its place among one level's published units, with the 95%
    rank interval (never a bare rank) and the standard errors used.

    The same sentence is printed on the public page and in the report, from the placement
    as results.json holds it.
    """
    district = placement.district
    estimate = number_text(district.estimate if district else None)
    origin = label("origin", district.origin if district and district.origin else "survey", language)
    n_ranked = placement.n_ranked or 0
    low, high = (list(placement.rank_interval or []) + [None, None])[:2]
    level = placement.level or ""
    if language == "zh":
        scope = "" if placement.complete_list is not False else "（仅在文件所列单位中）"
        interval = f"95%区间为第{low}名（排名确定）" if low == high else f"95%区间为第{low}–{high}名"
        years = (
            ""
            if placement.same_year is not False
            else f"（注意：对比的是{placement.benchmark_year}年结果，年份不同，只作参考）"
        )
        return (
            f"本区{placement.year}年得分（{origin}，{estimate}）与{placement.benchmark_year}年"
            f"{label('level', level)}公布的{label('level_units', level)}{n_ranked - 1}个单位相比{scope}，"
            f"排名中位数为第{placement.median_rank}名（共{n_ranked}名），{interval}；"
            f"{standard_error_clause(placement)}{years}。"
        )
    scope = "" if placement.complete_list is not False else " (among the listed units only)"
    interval = f"rank {low} with certainty" if low == high else f"95% interval: rank {low} to {high}"
    years = (
        ""
        if placement.same_year is not False
        else f" (note: compared with {placement.benchmark_year} figures, a different year: indicative only)"
    )
    return (
        f"The district's {placement.year} figure ({origin}, {estimate}) against the {n_ranked - 1} "
        f"{label('level_units', level, 'en')} published by the {label('level', level, 'en')} for "
        f"{placement.benchmark_year}{scope}: median rank {placement.median_rank} of {n_ranked} ({interval}); "
        f"{standard_error_clause(placement, 'en')}{years}."
    )
