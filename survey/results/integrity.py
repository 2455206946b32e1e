"""The public page's integrity section (issue 15).

Reads ``results["integrity"]`` (written by :mod:`scoring.integrity.section`; network
addresses already reduced to counts by :func:`survey.services.publication.public_results`)
and ``results["excluded"]`` (the quality screening) into what the partial
``templates/results/sections/50_integrity.html`` prints: how many responses were screened
and why, which checks ran (in words), the statement, the office's exclusions with their
reasons, and the headline index with every response, without the flagged ones and with the
office's exclusions.  Points are named by their town and type, never by code; addresses
only by counts.  Unknown extra keys are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scoring.explain import finite_number as _number
from scoring.vocabulary import label

__all__ = ["Headline", "IntegritySection", "OfficeExclusion", "integrity_section"]


@dataclass(frozen=True)
class Headline:
    what: str
    index: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    published: bool


@dataclass(frozen=True)
class OfficeExclusion:
    what: str
    reason: str
    responses: int
    flagged: bool | None
    decided: str


@dataclass(frozen=True)
class IntegritySection:
    statement: str
    screened: list[tuple[str, int]]
    flagged_responses: int
    flagged_points: int
    flagged_addresses: int
    tested_points: int
    addresses_checked: bool
    checks: list[str]
    exclusions: list[OfficeExclusion]
    headlines: list[Headline]


def _check_words(check: Mapping[str, Any], language: str) -> str:
    from scoring.integrity.words import CHECK_LABELS

    words = CHECK_LABELS.get(str(check.get("id")))
    if words is not None:
        return words["en" if language == "en" else "zh"]
    if language == "en":
        return str(check.get("description") or "")
    return str(check.get("label_zh") or "")


def _point_type(code: Any, language: str) -> str:
    if not isinstance(code, str) or not code:
        return ""
    words = label("point_type", code, language, default="")
    if words:
        return words
    from scoring.questionnaire import DOMAIN_LABELS_ZH

    if language != "en" and code in DOMAIN_LABELS_ZH:
        return f"{DOMAIN_LABELS_ZH[code]}调查点"
    return ""


def _decided(value: Any) -> str:
    """The date of a decision in Beijing time (``2025-06-01``), or empty."""
    import datetime as dt

    if not isinstance(value, str):
        return ""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()


def _headline(entry: Any, what: str, published: bool) -> Headline | None:
    if not isinstance(entry, Mapping):
        return None
    index = entry.get("index") or {}
    n = entry.get("n")
    return Headline(
        what=what,
        index=_number(index.get("estimate")),
        ci_low=_number(index.get("ci_low")),
        ci_high=_number(index.get("ci_high")),
        n=int(n) if isinstance(n, int) else None,
        published=published,
    )


def integrity_section(
    results: Mapping[str, Any], language: str, *, towns: Mapping[str, str] | None = None
) -> IntegritySection | None:
    """What the section prints, or ``None`` when the results carry no integrity review."""
    part = results.get("integrity")
    if not isinstance(part, Mapping):
        return None
    en = language == "en"
    towns = towns or {}
    types = {
        entry.get("point"): entry.get("point_type")
        for entry in ((part.get("points") or {}).get("results") or [])
        if isinstance(entry, Mapping)
    }
    exclusions = []
    for entry in part.get("exclusions") or []:
        if not isinstance(entry, Mapping):
            continue
        responses = int(entry.get("responses") or 0)
        if entry.get("kind") == "point":
            town = towns.get(str(entry.get("town") or ""), "")
            kind = _point_type(types.get(entry.get("target")), language)
            if en:
                what = f"a collection point{f' ({kind})' if kind else ''}{f' in {town}' if town else ''}"
            else:
                what = (
                    f"{town}的一个收集点{f'（{kind}）' if kind else ''}"
                    if town
                    else f"一个收集点{f'（{kind}）' if kind else ''}"
                )
        else:
            what = "a network address" if en else "一个网络地址"
        exclusions.append(
            OfficeExclusion(
                what=what,
                reason=str(entry.get("reason") or ""),
                responses=responses,
                flagged=entry.get("flagged") if isinstance(entry.get("flagged"), bool) else None,
                decided=_decided(entry.get("decided_at")),
            )
        )
    headline = part.get("headline") or {}
    with_exclusions = part.get("estimate") == "office_exclusions"
    rows = [
        _headline(
            headline.get("all_responses"),
            "every response that passed the screening" if en else "全部通过质量筛查的问卷",
            not with_exclusions,
        ),
        _headline(
            headline.get("without_flagged"),
            "without the flagged points and addresses" if en else "不计被标记为异常的收集点和网络地址",
            False,
        ),
        _headline(
            headline.get("with_office_exclusions"),
            "with the office's exclusions (the published figure)" if en else "按办公室的排除决定（即公布的数字）",
            with_exclusions,
        ),
    ]
    statement = part.get("statement") or {}
    return IntegritySection(
        statement=str(statement.get("en" if en else "zh") or ""),
        screened=[
            (label("exclusion", reason, language), int(count))
            for reason, count in (results.get("excluded") or {}).items()
            if isinstance(count, int) and count
        ],
        flagged_responses=int(part.get("flagged_responses") or 0),
        flagged_points=len(part.get("flagged_points") or []),
        flagged_addresses=len(part.get("flagged_addresses") or []),
        tested_points=int((part.get("points") or {}).get("tested") or 0),
        addresses_checked=any(
            isinstance(check, Mapping) and check.get("scope") == "address" for check in part.get("checks") or []
        ),
        checks=[words for check in part.get("checks") or [] if (words := _check_words(check, language))],
        exclusions=exclusions,
        headlines=[row for row in rows if row is not None],
    )
