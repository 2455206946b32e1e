"""The integrity review as plain text (``python -m scoring integrity``).

:func:`review_text` prints what a coordinator needs: which checks ran (and why others
did not), the flagged points and addresses with their q-values and what was unusual in
plain English, and the points with too few responses to test.  Addresses are named by the
first digits of their keyed hash only (:func:`~.section.address_label`).
"""

from __future__ import annotations

from .review import Evidence, IntegrityReview
from .section import address_label, browser_label
from .words import describe, label

__all__ = ["review_text"]


def _unusual(evidence: tuple[Evidence, ...]) -> list[str]:
    return [f"    - {describe(item, 'en')} (p = {item.p_value:.2g})" for item in evidence if item.unusual]


def review_text(review: IntegrityReview) -> str:
    """A readable summary of an :class:`~.review.IntegrityReview` (English)."""
    fdr = review.rules.fdr
    lines = [
        f"Integrity checks (false-discovery rate {fdr:g} across points and across addresses)",
        f"  point checks: {', '.join(label(c, 'en') for c in review.point_checks) or 'none'}",
        f"  address checks: {', '.join(label(c, 'en') for c in review.address_checks) or 'none'}",
        f"  browser checks: {', '.join(label(c, 'en') for c in review.browser_checks) or 'none'}",
    ]
    for check, reason in review.not_run.items():
        lines.append(f"  not run: {label(check, 'en')} — {reason}")
    flagged = review.flagged_points
    lines.append(f"Points tested: {len(review.points)}; flagged: {len(flagged)}")
    for finding in flagged:
        town = f" ({finding.town})" if finding.town else ""
        lines.append(
            f"  {finding.point}{town}: {finding.responses} responses, p = {finding.p_value:.2g}, "
            f"q = {finding.q_value:.2g}"
        )
        lines.extend(_unusual(finding.evidence))
    if review.untested_points:
        small = ", ".join(f"{code} ({n})" for code, n in review.untested_points.items())
        lines.append(f"  too few responses to test (< {review.rules.min_point_responses}): {small}")
    addresses = review.flagged_addresses
    lines.append(f"Addresses tested: {len(review.addresses)}; flagged: {len(addresses)}")
    for address in addresses:
        lines.append(
            f"  {address_label(address.address)}: {address.responses} responses at {address.points} points, "
            f"q = {address.q_value:.2g}"
        )
        lines.extend(_unusual(address.evidence))
    browsers = review.flagged_browsers
    lines.append(f"Browsers tested: {len(review.browsers)}; flagged: {len(browsers)}")
    for browser in browsers:
        lines.append(
            f"  {browser_label(browser.browser)}: {browser.responses} responses at {browser.points} points, "
            f"q = {browser.q_value:.2g}"
        )
        lines.extend(_unusual(browser.evidence))
    screened = sum(review.screened.values())
    if screened:
        reasons = ", ".join(f"{reason} {n}" for reason, n in review.screened.items() if n)
        lines.append(f"Screened out by the quality rules: {screened} ({reasons})")
    lines.append(f"Responses at flagged points or from flagged addresses or browsers: {int(review.flagged_rows.sum())}")
    for exclusion, rows in review.exclusions:
        target = exclusion.target if exclusion.kind == "point" else address_label(exclusion.target)
        lines.append(f"Excluded by the office: {exclusion.kind} {target} ({rows} responses) — {exclusion.reason}")
    return "\n".join(lines)
