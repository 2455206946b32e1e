"""The ``integrity`` section of the results (docs/contracts.md, docs/integrity.md).

:func:`integrity_results` turns an :class:`~.review.IntegrityReview` into plain data: the
checks that ran (and those that could not), every tested point with its p- and q-value,
the flagged points and addresses with their evidence in plain words, what was flagged at
collection, the office's exclusions with their reasons, and the headline — overall index
and satisfied rate — with every response, without the flagged ones, and with the office's
exclusions applied.  The estimate step gives it a function that computes a headline for any
selection of rows, raked like the estimate itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import ScoringInputError
from .addresses import ADDRESS_CHECKS
from .browsers import BROWSER_CHECKS, HOUSEHOLD_ALLOWANCE, MIN_BROWSER_RESPONSES
from .points import POINT_CHECKS
from .review import AddressFinding, BrowserFinding, Evidence, IntegrityReview, PointFinding
from .words import describe, label

__all__ = ["ADDRESS_PREFIX", "METHOD", "address_label", "browser_label", "integrity_results"]

#: Hex digits of an address's keyed hash shown anywhere (never the whole hash, never an address).
ADDRESS_PREFIX = 12
METHOD = (
    "Each collection point is compared with the other points of its town on the same items (answers) and with "
    "every point (timing, flags); a point effect is expected and estimated robustly, so only deviations beyond it "
    "and beyond sampling error count. Each point's checks are combined by Bonferroni, and points are flagged when "
    "their Benjamini-Hochberg q-value is at most the false-discovery rate; network addresses (keyed hashes) seen "
    "at two or more points are tested the same way for alike answers and alike answering times, and browsers (keyed "
    "hashes) with three or more responses for more completions than a household's and for alike answers. Flagged "
    "responses "
    "stay in the estimate unless the office excludes them; the headline is shown with and without them."
)

Headline = Callable[[np.ndarray], Mapping[str, Any]]


def address_label(address_hash: str) -> str:
    """How an address is named in results and on screens: the first digits of its keyed hash."""
    return address_hash[:ADDRESS_PREFIX]


def browser_label(browser_hash: str) -> str:
    """How a browser is named in results and on screens: the first digits of its keyed hash."""
    return browser_hash[:ADDRESS_PREFIX]


def _number(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _evidence(items: tuple[Evidence, ...], *, unusual_only: bool) -> list[dict[str, Any]]:
    return [
        {
            "check": item.check,
            "units": item.units,
            "statistic": _number(item.statistic),
            "reference": _number(item.reference),
            "p_value": _number(item.p_value),
            "unusual": item.unusual,
            "what": describe(item, "en"),
            "what_zh": describe(item, "zh"),
        }
        for item in items
        if item.unusual or not unusual_only
    ]


def _point(finding: PointFinding, *, evidence: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "point": finding.point,
        "town": finding.town or None,
        "point_type": finding.point_type or None,
        "responses": finding.responses,
        "kept": finding.kept,
        "p_value": _number(finding.p_value),
        "q_value": _number(finding.q_value),
        "flagged": finding.flagged,
    }
    if evidence:
        entry["evidence"] = _evidence(finding.evidence, unusual_only=False)
    return entry


def _address(finding: AddressFinding) -> dict[str, Any]:
    return {
        "address": address_label(finding.address),
        "responses": finding.responses,
        "points": finding.points,
        "towns": finding.towns,
        "p_value": _number(finding.p_value),
        "q_value": _number(finding.q_value),
        "flagged": finding.flagged,
        "evidence": _evidence(finding.evidence, unusual_only=False),
    }


def _browser(finding: BrowserFinding) -> dict[str, Any]:
    return {
        "browser": browser_label(finding.browser),
        "responses": finding.responses,
        "points": finding.points,
        "p_value": _number(finding.p_value),
        "q_value": _number(finding.q_value),
        "flagged": finding.flagged,
        "evidence": _evidence(finding.evidence, unusual_only=False),
    }


def _screening(review: IntegrityReview) -> dict[str, Any]:
    """How many responses were screened out, and why (counts only)."""
    reasons = {reason: int(n) for reason, n in review.screened.items()}
    return {
        "responses": int(review.kept_rows.size),
        "kept": int(review.kept_rows.sum()),
        "screened": int(sum(reasons.values())),
        "reasons": reasons,
    }


def _statement(section: Mapping[str, Any], language: str) -> str:
    flagged = section["flagged_points"]
    addresses = section["flagged_addresses"]
    browsers = section.get("flagged_browsers") or []
    screened = section["screening"]["screened"]
    excluded = [e for e in section["exclusions"] if e["responses"]]
    tested = section["points"]["tested"]
    n_checks = len(section["checks"])
    if language == "en":
        parts = [f"{n_checks} integrity checks ran over {tested} collection points"]
        parts.append(
            f"{len(flagged)} point(s) flagged as unusual" if flagged else "no collection point was flagged as unusual"
        )
        if addresses:
            parts.append(f"{len(addresses)} network address(es) sent alike responses across points")
        if browsers:
            parts.append(f"{len(browsers)} browser(s) sent more or more alike responses than a household would")
        parts.append(f"{screened} response(s) were screened out by the quality rules")
        parts.append(
            f"the office excluded {len(excluded)} point(s) or address(es), with the reasons given"
            if excluded
            else "the office excluded nothing"
        )
        return "; ".join(parts) + "."
    parts = [f"对{tested}个收集点进行了{n_checks}项数据真实性检查"]
    parts.append(f"{len(flagged)}个收集点被标记为异常" if flagged else "没有收集点被标记为异常")
    if addresses:
        parts.append(f"{len(addresses)}个网络地址在多个收集点提交了雷同问卷")
    if browsers:
        parts.append(f"{len(browsers)}个浏览器提交的问卷份数超出一户所需或答案雷同")
    parts.append(f"质量筛查剔除了{screened}份问卷")
    parts.append(f"办公室排除了{len(excluded)}项（理由见下）" if excluded else "办公室未排除任何收集点")
    return "；".join(parts) + "。"


def integrity_results(
    review: IntegrityReview,
    *,
    estimate_headline: Mapping[str, Any] | None = None,
    headline: Headline | None = None,
) -> dict[str, Any]:
    """The ``integrity`` section (docs/contracts.md).

    Parameters
    ----------
    review : IntegrityReview
        Over every row of the responses (before the office's exclusions).
    estimate_headline : mapping, optional
        The headline (``{index{…}, satisfied_rate{…}, n}``) of the estimate itself — with
        the office's exclusions applied when there are any; without it (the review alone,
        ``python -m scoring integrity``) the headlines are null.
    headline : callable, optional
        ``headline(keep)`` → the headline of the rows where ``keep`` is true (over the
        review's rows), raked like the estimate; without it the other headlines are null.

    Returns
    -------
    dict
    """
    problems: list[str] = []

    def other(keep: np.ndarray) -> Mapping[str, Any] | None:
        if headline is None:
            return None
        try:
            return dict(headline(keep))
        except ScoringInputError as error:  # e.g. raking fails without the flagged rows
            problems.append(str(error))
            return None

    excluded = bool(review.excluded_rows.any())
    flagged = bool(review.flagged_rows.any())
    kept = review.kept_rows
    estimate = dict(estimate_headline) if estimate_headline is not None else None
    all_responses = other(kept) if excluded else estimate
    without_flagged = other(kept & ~review.flagged_rows & ~review.excluded_rows) if flagged else None
    checks = (
        [
            {"id": check, "scope": "point", "description": POINT_CHECKS[check], "label_zh": label(check, "zh")}
            for check in review.point_checks
        ]
        + [
            {"id": check, "scope": "address", "description": ADDRESS_CHECKS[check], "label_zh": label(check, "zh")}
            for check in review.address_checks
        ]
        + [
            {"id": check, "scope": "browser", "description": BROWSER_CHECKS[check], "label_zh": label(check, "zh")}
            for check in review.browser_checks
        ]
    )
    exclusions = []
    for exclusion, rows in review.exclusions:
        target = exclusion.target if exclusion.kind == "point" else address_label(exclusion.target)
        finding = review.point(exclusion.target) if exclusion.kind == "point" else None
        exclusions.append(
            {
                "kind": exclusion.kind,
                "target": target,
                "town": finding.town if finding is not None else None,
                "reason": exclusion.reason,
                "decided_at": exclusion.decided_at,
                "responses": rows,
                "flagged": bool(finding.flagged) if finding is not None else None,
            }
        )
    section: dict[str, Any] = {
        "rules": review.rules.to_dict(),
        "method": METHOD,
        "checks": checks,
        "not_run": [{"check": check, "reason": reason} for check, reason in review.not_run.items()],
        "points": {
            "tested": len(review.points),
            "min_responses": review.rules.min_point_responses,
            "untested": [{"point": code, "responses": n} for code, n in review.untested_points.items()],
            "results": [_point(finding, evidence=False) for finding in review.points],
            "flagged": len(review.flagged_points),
        },
        "flagged_points": [_point(finding, evidence=True) for finding in review.flagged_points],
        "addresses": {
            "tested": len(review.addresses),
            "min_responses": review.rules.min_address_responses,
            "flagged": len(review.flagged_addresses),
        },
        "flagged_addresses": [_address(finding) for finding in review.flagged_addresses],
        "browsers": {
            "tested": len(review.browsers),
            "min_responses": MIN_BROWSER_RESPONSES,
            "household_allowance": HOUSEHOLD_ALLOWANCE,
            "flagged": len(review.flagged_browsers),
        },
        "flagged_browsers": [_browser(finding) for finding in review.flagged_browsers],
        "flagged_responses": int(review.flagged_rows.sum()),
        "screening": _screening(review),
        "counts": {
            "checks_run": len(review.point_checks) + len(review.address_checks) + len(review.browser_checks),
            "points_tested": len(review.points),
            "points_flagged": len(review.flagged_points),
            "addresses_tested": len(review.addresses),
            "addresses_flagged": len(review.flagged_addresses),
            "browsers_tested": len(review.browsers),
            "browsers_flagged": len(review.flagged_browsers),
            "responses_screened": int(sum(review.screened.values())),
            "responses_flagged": int(review.flagged_rows.sum()),
            "responses_excluded_by_office": int(review.excluded_rows.sum()),
        },
        "collection": dict(review.collection),
        "exclusions": exclusions,
        "estimate": "office_exclusions" if excluded else "all_responses",
        "headline": {
            "all_responses": all_responses,
            "without_flagged": without_flagged,
            "with_office_exclusions": estimate if excluded else None,
        },
        "problems": problems,
    }
    section["statement"] = {"en": _statement(section, "en"), "zh": _statement(section, "zh")}
    return section
