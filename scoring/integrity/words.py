"""What the integrity checks found, in plain Chinese and plain English.

One sentence per check from its statistic and reference (:class:`~.review.Evidence`):
the results file carries both (``what``, ``what_zh``), the report prints the Chinese, the
office's page and the public page the one of their language.  No codes, no jargon: a
reader sees what was unusual and against what.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from .review import Evidence

__all__ = ["CHECK_LABELS", "describe", "label"]

#: Short names of the checks, ``{check: {"zh": …, "en": …}}``.
CHECK_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "top_answers": {"zh": "满意回答比例", "en": "share of satisfied answers"},
        "all_positive": {"zh": "全部答满意的受访者比例", "en": "residents satisfied with everything"},
        "mean_score": {"zh": "平均得分", "en": "mean score"},
        "score_spread": {"zh": "答案一致程度", "en": "uniform answers"},
        "burst": {"zh": "短时间集中提交", "en": "many completions within an hour"},
        "night": {"zh": "夜间提交", "en": "night-time submissions"},
        "similar_durations": {"zh": "答题用时过于接近", "en": "answering times alike"},
        "fast_straight_lining": {"zh": "快速且答案全部相同", "en": "fast straight-lining"},
        "collection_flags": {"zh": "收集时被标记", "en": "flagged at collection"},
        "similar_answers": {"zh": "答案雷同", "en": "answers alike"},
        "hour_profile": {"zh": "提交时段分布", "en": "time-of-day profile"},
        "browser_completions": {"zh": "同一浏览器提交份数", "en": "completions per browser"},
        "browser_answers": {"zh": "同一浏览器答案雷同", "en": "answers alike from one browser"},
    }
)


def label(check: str, language: str = "zh") -> str:
    """The short name of a check in ``language`` (``zh`` or ``en``)."""
    names = CHECK_LABELS.get(check)
    if names is None:
        raise KeyError(f"unknown integrity check {check!r}")
    return names["en" if language == "en" else "zh"]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _count(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


Sentence = Callable[[Evidence], str]

_ZH: Mapping[str, Sentence] = {
    "top_answers": lambda e: (
        f"{_percent(e.statistic)}的回答为满意或非常满意，同镇其他收集点相同题目通常为{_percent(e.reference)}"
    ),
    "all_positive": lambda e: (
        f"{_percent(e.statistic)}的受访者所有题目都答满意或非常满意，通常为{_percent(e.reference)}"
    ),
    "mean_score": lambda e: f"题目平均得分{_points(e.statistic)}分，同镇其他收集点相同题目为{_points(e.reference)}分",
    "score_spread": lambda e: f"受访者得分的离散程度为{_points(e.statistic)}分，通常约{_points(e.reference)}分",
    "burst": lambda e: f"一小时内集中提交{_count(e.statistic)}份，收集点最忙的一小时通常为{_count(e.reference)}份",
    "night": lambda e: f"{_percent(e.statistic)}在夜间23时至次日5时提交，通常不超过{_percent(e.reference)}",
    "similar_durations": lambda e: f"答题用时彼此相差约{_percent(e.statistic)}，通常相差约{_percent(e.reference)}",
    "fast_straight_lining": lambda e: (
        f"{_percent(e.statistic)}的问卷所有题目答案相同且用时很短，通常不超过{_percent(e.reference)}"
    ),
    "collection_flags": lambda e: (
        f"{_percent(e.statistic)}的问卷在收集时被标记（同一浏览器重复提交或同一网络地址集中提交），"
        f"通常不超过{_percent(e.reference)}"
    ),
    "hour_profile": lambda e: (
        f"{_percent(e.statistic)}的问卷在同类收集点很少提交的时段提交，同类收集点通常为{_percent(e.reference)}"
    ),
    "browser_completions": lambda e: (
        f"同一浏览器提交了{_count(e.statistic)}份问卷，一部手机最多可为{_count(e.reference)}名家庭成员作答"
    ),
    "browser_answers": lambda e: (
        f"同一浏览器的问卷之间{_percent(e.statistic)}的题目答案相同，同一收集点的随机问卷为{_percent(e.reference)}"
    ),
    "similar_answers": lambda e: (
        f"同一网络地址的问卷之间{_percent(e.statistic)}的题目答案相同，同一收集点的随机问卷为{_percent(e.reference)}"
    ),
}
_EN: Mapping[str, Sentence] = {
    "top_answers": lambda e: (
        f"{_percent(e.statistic)} of answers are satisfied or very satisfied, where the town's other points "
        f"give {_percent(e.reference)} for the same items"
    ),
    "all_positive": lambda e: (
        f"{_percent(e.statistic)} of respondents answered every item satisfied or very satisfied, "
        f"where {_percent(e.reference)} is usual"
    ),
    "mean_score": lambda e: (
        f"mean item score {_points(e.statistic)}, where the town's other points give {_points(e.reference)} "
        "for the same items"
    ),
    "score_spread": lambda e: (
        f"respondents' scores spread by {_points(e.statistic)} points, where about {_points(e.reference)} is usual"
    ),
    "burst": lambda e: (
        f"{_count(e.statistic)} completions within one hour, where a point's busiest hour usually has "
        f"{_count(e.reference)}"
    ),
    "night": lambda e: (
        f"{_percent(e.statistic)} submitted between 23:00 and 05:00, where at most {_percent(e.reference)} is usual"
    ),
    "similar_durations": lambda e: (
        f"answering times differ by about {_percent(e.statistic)}, where about {_percent(e.reference)} is usual"
    ),
    "fast_straight_lining": lambda e: (
        f"{_percent(e.statistic)} gave the same answer to every item and answered fast, where at most "
        f"{_percent(e.reference)} is usual"
    ),
    "collection_flags": lambda e: (
        f"{_percent(e.statistic)} flagged at collection (a repeat browser or a burst from one address), where "
        f"at most {_percent(e.reference)} is usual"
    ),
    "hour_profile": lambda e: (
        f"{_percent(e.statistic)} submitted at hours when points of the same kind receive few responses, "
        f"where {_percent(e.reference)} is usual"
    ),
    "browser_completions": lambda e: (
        f"{_count(e.statistic)} responses from one browser, where one phone may answer for up to "
        f"{_count(e.reference)} family members"
    ),
    "browser_answers": lambda e: (
        f"{_percent(e.statistic)} of items answered alike between this browser's responses, where random "
        f"responses of the same points agree on {_percent(e.reference)}"
    ),
    "similar_answers": lambda e: (
        f"{_percent(e.statistic)} of items answered alike between this address's responses, where random "
        f"responses of the same points agree on {_percent(e.reference)}"
    ),
}


def describe(evidence: Evidence, language: str = "zh") -> str:
    """One plain sentence: what the check saw at the unit, against what is usual."""
    sentences = _EN if language == "en" else _ZH
    sentence = sentences.get(evidence.check)
    if sentence is None:
        raise KeyError(f"unknown integrity check {evidence.check!r}")
    return sentence(evidence)
