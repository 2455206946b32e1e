"""The one vocabulary of the product: every code Manyi writes and the words people read for it.

Defined once; the scoring engine, the report, the charts, the public pages and the admin
screens import these names (issue 13, "One vocabulary").  A code is what a file or a
result holds (``met``, ``straight_liner``, ``phone``); a label is what a person reads, in
Chinese (``zh``) or English (``en``).  :func:`label` turns one into the other, and
:func:`public_codes` lists every code a public page must never show raw.

Also here: the defaults that were written in many places (the 85 target, the district,
the rank draws, the SE assumed for published scores), Beijing time, and the one rule for
numbers that JSON cannot hold (NaN and infinities become ``null``, :func:`json_safe`).

This module imports nothing heavier than the standard library: the web app reads it
without loading pandas or scipy.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AGE_GROUPS",
    "BEIJING",
    "CHANNELS",
    "DEFAULT_ASSUMED_SE",
    "DEFAULT_TARGET",
    "DISTRICT",
    "DOMAIN_IDS",
    "DOMAIN_LABELS_EN",
    "DOMAIN_LABELS_ZH",
    "EXCLUSION_REASONS",
    "LABELS",
    "LANGUAGES",
    "LEVELS",
    "MAPPINGS",
    "MIN_DRAWS",
    "ORIGINS",
    "POINT_TYPES",
    "QUADRANTS",
    "SEXES",
    "SOURCES",
    "SUBGROUP_VARIABLES",
    "TARGET_METRICS",
    "TIME_ZONE",
    "TIME_ZONE_TEXT",
    "UNSTABLE",
    "VARIANCE_METHODS",
    "VERDICTS",
    "WEIGHT_METHODS",
    "YEAR_RULES",
    "canonical",
    "json_safe",
    "label",
    "public_codes",
    "shown_verdict",
]

#: The languages of every label (Chinese first: the district's language).
LANGUAGES: tuple[str, ...] = ("zh", "en")

# ---------------------------------------------------------------------------
# The 12 domains

#: The 12 domains of the national public-service quality monitoring, in their fixed
#: order (product.md).  Ids are the keys of every file and result.
DOMAIN_IDS: tuple[str, ...] = (
    "education",
    "employment",
    "healthcare",
    "social_security",
    "utilities",
    "environment",
    "transport",
    "public_safety",
    "culture",
    "sports",
    "elderly_care",
    "government_services",
)

DOMAIN_LABELS_ZH: dict[str, str] = {
    "education": "公共教育",
    "employment": "公共就业",
    "healthcare": "医疗服务",
    "social_security": "社会保障",
    "utilities": "公用事业",
    "environment": "生态环境",
    "transport": "公共交通",
    "public_safety": "公共安全",
    "culture": "公共文化",
    "sports": "公共体育",
    "elderly_care": "养老服务",
    "government_services": "政务服务",
}
#: The English titles of the questionnaire files (``title.en``), for pages without them.
DOMAIN_LABELS_EN: dict[str, str] = {
    "education": "Public education",
    "employment": "Public employment services",
    "healthcare": "Medical services",
    "social_security": "Social security",
    "utilities": "Public utilities",
    "environment": "Environment",
    "transport": "Public transport",
    "public_safety": "Public safety",
    "culture": "Public cultural services",
    "sports": "Public sports services",
    "elderly_care": "Elderly care",
    "government_services": "Government services",
}

# ---------------------------------------------------------------------------
# Defaults said once

#: The plan's target as people say it: an index of 85, or a satisfied rate of 85%.
DEFAULT_TARGET = 85.0

#: How many people one phone may answer for in a wave (the resident and family members):
#: the collection side's limit (survey/respond/drafts.py) and the browser check's allowance
#: (scoring/integrity/browsers.py).
HOUSEHOLD_SIZE = 4
#: The district's name as in the benchmarks' ``unit`` column and on every report.
DISTRICT = "荆州区"
#: The fewest draws of the rank simulation (statistics.md, "Rankings").
MIN_DRAWS = 10_000
#: SE (index points) given to a published monitoring score that comes without one.  A
#: city's published index rests on a few thousand respondents, whose SE with a design
#: effect of about 2 is 0.5–1 point; 1.0 errs on the side of wider rank intervals.
DEFAULT_ASSUMED_SE = 1.0

# ---------------------------------------------------------------------------
# Codes

#: The two metrics the 85 target can be tested on (``targets{index, satisfied_rate}``).
TARGET_METRICS: tuple[str, ...] = ("index", "satisfied_rate")
#: Verdicts of a target test; they agree with the 95% interval shown beside the estimate.
VERDICTS: tuple[str, ...] = ("met", "not_met", "inconclusive")
#: What a page shows instead of a verdict for an unstable figure (``verdict: null``).
UNSTABLE = "unstable"
#: How item answers become 0–100 scores (statistics.md, "The scale mapping").
MAPPINGS: tuple[str, ...] = ("linear", "monitoring")
#: How variances are computed: Taylor linearization, or replicate weights (every replicate re-raked).
VARIANCE_METHODS: tuple[str, ...] = ("linearization", "jackknife", "bootstrap")
#: How the respondents were weighted (``weights.method``).
WEIGHT_METHODS: tuple[str, ...] = ("none", "raking", "post_stratification")
#: Why a response was left out by screening (``excluded``), first reason wins.
EXCLUSION_REASONS: tuple[str, ...] = ("partial", "duplicate_browser", "ip_burst", "speeder", "straight_liner")
#: How a response reached the survey.
CHANNELS: tuple[str, ...] = ("qr", "phone", "paper")
#: The monitoring levels of published figures (benchmarks' ``level``).
LEVELS: tuple[str, ...] = ("national", "province", "municipality")
#: Where a district figure of a ranking comes from.
SOURCES: tuple[str, ...] = ("survey", "monitoring")
#: A district figure's origin: this wave, an earlier wave, or the monitoring's own figure.
ORIGINS: tuple[str, ...] = ("survey", "previous", "published")
#: Which published years a ranking compares with.
YEAR_RULES: tuple[str, ...] = ("same_year", "latest_not_after")
#: Importance–performance quadrants of the key-driver analysis.
QUADRANTS: tuple[str, ...] = ("concentrate", "keep_up", "low_priority", "possible_overkill")
#: The sensitivity table's point types besides the domains (a point's focus domain).
POINT_TYPES: tuple[str, ...] = ("general", "no_point")
#: The subgroups of every results file.
SUBGROUP_VARIABLES: tuple[str, ...] = ("town", "sex", "age_group")
#: Sexes and age groups of the responses contract (their words are in ``common.yaml``).
SEXES: tuple[str, ...] = ("male", "female")
AGE_GROUPS: tuple[str, ...] = ("18-29", "30-44", "45-59", "60+")

# ---------------------------------------------------------------------------
# Labels: kind → language → code → words

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "domain": {"zh": DOMAIN_LABELS_ZH, "en": DOMAIN_LABELS_EN},
    "verdict": {
        "zh": {
            "met": "已达到目标",
            "not_met": "未达到目标",
            "inconclusive": "尚无法判断",
            UNSTABLE: "样本不足，不作判断",
        },
        "en": {
            "met": "target met",
            "not_met": "target not met",
            "inconclusive": "cannot tell yet",
            UNSTABLE: "too few responses for a verdict",
        },
    },
    "metric": {
        "zh": {"index": "满意度指数", "satisfied_rate": "满意率"},
        "en": {"index": "satisfaction index", "satisfied_rate": "satisfied rate"},
    },
    "mapping": {
        "zh": {"linear": "线性计分", "monitoring": "监测计分"},
        "en": {"linear": "linear scoring", "monitoring": "monitoring scoring"},
    },
    # One plain sentence per mapping, written on every output beside the figures.
    "mapping_sentence": {
        "zh": {
            "linear": "计分方法：每道题“非常不满意”计0分、“非常满意”计100分，中间各档等距（“满意”计75分）。",
            "monitoring": "计分方法：按全国公共服务质量监测的读法，“非常不满意”计20分、“非常满意”计100分"
            "（“满意”计80分），与监测得分口径一致。",
        },
        "en": {
            "linear": "Scoring: each answer counts from 0 (very dissatisfied) to 100 (very satisfied) in equal "
            "steps (satisfied = 75).",
            "monitoring": "Scoring: as the national public-service monitoring reads its scale, very dissatisfied "
            "counts 20 and very satisfied 100 (satisfied = 80), comparable with the monitoring's scores.",
        },
    },
    "variance": {
        "zh": {
            "linearization": "泰勒线性化",
            "jackknife": "分层刀切法",
            "bootstrap": "自助法",
        },
        "en": {"linearization": "Taylor linearization", "jackknife": "jackknife", "bootstrap": "bootstrap"},
    },
    "weighting": {
        "zh": {"none": "不加权", "raking": "按人口结构加权（迭代比例加权）", "post_stratification": "事后分层加权"},
        "en": {
            "none": "unweighted",
            "raking": "weighted to the population (raking)",
            "post_stratification": "post-stratified",
        },
    },
    "exclusion": {
        "zh": {
            "partial": "未完成问卷",
            "duplicate_browser": "同一浏览器重复提交",
            "ip_burst": "同一网络地址短时间内大量提交",
            "speeder": "答题过快（用时不到中位数的三分之一）",
            "straight_liner": "答题过快且答案全部相同（8题以上同一答案，用时不到中位数的一半）",
        },
        "en": {
            "partial": "unfinished questionnaires",
            "duplicate_browser": "repeat submissions from one browser",
            "ip_burst": "bursts of submissions from one network address",
            "speeder": "answered too fast",
            "straight_liner": "answered fast with the same answer to every question",
        },
    },
    "channel": {
        "zh": {"qr": "扫码填写", "phone": "电话访问", "paper": "纸质问卷"},
        "en": {"qr": "scanned a QR code", "phone": "telephone interviews", "paper": "paper questionnaires"},
    },
    "level": {
        "zh": {"national": "全国监测", "province": "全省监测", "municipality": "全市监测"},
        "en": {
            "national": "national monitoring",
            "province": "provincial monitoring",
            "municipality": "municipal monitoring",
        },
    },
    # The units a level ranks the district among.
    "level_units": {
        "zh": {"national": "全国", "province": "湖北省各市（州）", "municipality": "荆州市各县（市、区）"},
        "en": {
            "national": "the country",
            "province": "prefectures of Hubei",
            "municipality": "counties and districts of Jingzhou",
        },
    },
    "source": {
        "zh": {"survey": "本调查", "monitoring": "监测公布"},
        "en": {"survey": "this survey", "monitoring": "published by the monitoring"},
    },
    "origin": {
        "zh": {"survey": "本次调查", "previous": "往期调查", "published": "监测公布得分"},
        "en": {"survey": "this survey", "previous": "an earlier wave", "published": "the monitoring's published score"},
    },
    "year_rule": {
        "zh": {"same_year": "只与同一年份的公布结果比较", "latest_not_after": "也与往年的公布结果比较（只作参考）"},
        "en": {
            "same_year": "compared with published figures of the same year only",
            "latest_not_after": "also compared with earlier years' figures (indicative only)",
        },
    },
    "quadrant": {
        "zh": {
            "concentrate": "重点改进区",
            "keep_up": "继续保持区",
            "low_priority": "次要改进区",
            "possible_overkill": "过度投入区",
        },
        "en": {
            "concentrate": "concentrate here",
            "keep_up": "keep up the good work",
            "low_priority": "low priority",
            "possible_overkill": "possible overkill",
        },
    },
    "point_type": {
        "zh": {"general": "综合调查点", "no_point": "无调查点（电话、纸质）"},
        "en": {"general": "general points", "no_point": "no point (telephone, paper)"},
    },
    "subgroup": {
        "zh": {"town": "镇街", "sex": "性别", "age_group": "年龄组"},
        "en": {"town": "town", "sex": "sex", "age_group": "age group"},
    },
    "sex": {"zh": {"male": "男", "female": "女"}, "en": {"male": "male", "female": "female"}},
    "age_group": {
        "zh": {"18-29": "18–29岁", "30-44": "30–44岁", "45-59": "45–59岁", "60+": "60岁及以上"},
        "en": {"18-29": "18–29", "30-44": "30–44", "45-59": "45–59", "60+": "60 and over"},
    },
    "district": {"zh": {DISTRICT: DISTRICT}, "en": {DISTRICT: "Jingzhou District"}},
}
# Older results name some codes differently; their words are the same.
_ALIASES: dict[str, dict[str, str]] = {
    "exclusion": {"speeders": "speeder", "straight_liners": "straight_liner"},
    "weighting": {
        "rake": "raking",
        "unweighted": "none",
        "poststratify": "post_stratification",
        "poststratification": "post_stratification",
    },
}


def label(kind: str, code: Any, language: str = "zh", *, default: str | None = None) -> str:
    """The words for ``code`` of ``kind`` in ``language``.

    Parameters
    ----------
    kind : str
        A key of :data:`LABELS` (``"verdict"``, ``"exclusion"``, ``"channel"``, …).
    code : str or None
        The code as written in a results file; ``None`` for a verdict means unstable.
    language : {"zh", "en"}
    default : str, optional
        Returned for an unknown code (default: the code itself, which a test of every page
        then catches).

    Raises
    ------
    KeyError
        For an unknown ``kind`` or ``language`` (a programming error, not data).
    """
    if kind not in LABELS:
        raise KeyError(f"no labels of kind {kind!r}; kinds: {', '.join(LABELS)}")
    if language not in LANGUAGES:
        raise KeyError(f"no labels in language {language!r}; languages: {', '.join(LANGUAGES)}")
    if kind == "verdict" and code is None:
        code = UNSTABLE
    words = LABELS[kind][language]
    text = canonical(kind, code)
    if text in words:
        return words[text]
    return default if default is not None else text


def canonical(kind: str, code: Any) -> str:
    """The current spelling of ``code`` (older results wrote ``rake``, ``speeders``, …)."""
    text = str(code)
    return _ALIASES.get(kind, {}).get(text, text)


def shown_verdict(verdict: str | None, *, unstable: bool = False) -> str:
    """The verdict a page shows: the test's own, or :data:`UNSTABLE` when it has none."""
    if unstable or verdict is None or verdict not in VERDICTS:
        return UNSTABLE
    return verdict


def public_codes() -> frozenset[str]:
    """Every code a public page must never show raw: domain ids, verdicts, metrics,
    exclusion reasons, channels, levels, sources, origins, quadrants, point types, design
    and variance names, weighting methods and mappings (a test reads the page against it)."""
    from_labels = {
        code
        for kind, languages in LABELS.items()
        if kind not in ("district", "sex", "age_group")
        for code in languages["en"]
    }
    return frozenset(
        from_labels
        | set(_ALIASES["exclusion"])
        | {"rake", "point_town", "channel_strata", "adjust", "logit", "korn_graubard", "wilson"}
    )


# ---------------------------------------------------------------------------
# Time

#: The district's time zone (IANA name), for Flask-Babel and zoneinfo.
TIME_ZONE = "Asia/Shanghai"
#: Beijing time (China Standard Time, UTC+8, no daylight saving): every time a reader sees.
BEIJING = _dt.timezone(_dt.timedelta(hours=8), "北京时间")
#: How results files name the zone of their times.
TIME_ZONE_TEXT = "Asia/Shanghai (UTC+8)"


# ---------------------------------------------------------------------------
# Numbers for JSON


def json_safe(value: Any) -> Any:
    """Plain JSON data: NaN and infinities become ``None``; numpy scalars and arrays become
    Python numbers and lists; mappings get string keys; tuples become lists."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, int):
        return int(value)
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays, without importing numpy
    if callable(tolist):
        return json_safe(tolist())
    return value
