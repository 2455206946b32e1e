"""The integrity review of a wave: run the checks, control false discoveries, find the rows.

:func:`review_integrity` runs the point checks (:mod:`.points`) and the address checks
(:mod:`.addresses`), combines each unit's checks (Bonferroni: ``p = min(1, m · min p_c)``
over the ``m`` checks that ran for it), adjusts across units by Benjamini–Hochberg and
flags those with a q-value at most ``fdr``.  It also applies the office's
:class:`Exclusion` decisions (which rows they remove) — the checks themselves always run
on every row, so a flag never disappears because the office acted on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data import Responses
from ..errors import ScoringInputError
from ..screening import ScreeningResult
from .addresses import ADDRESS_CHECKS, AddressChecks, run_address_checks
from .browsers import BROWSER_CHECKS, BrowserChecks, run_browser_checks
from .inputs import IntegrityInputs, integrity_inputs
from .points import POINT_CHECKS, PointChecks, run_point_checks
from .stats import benjamini_hochberg

__all__ = [
    "EXCLUSION_KINDS",
    "AddressFinding",
    "BrowserFinding",
    "Evidence",
    "Exclusion",
    "IntegrityReview",
    "IntegrityRules",
    "PointFinding",
    "review_integrity",
]

EXCLUSION_KINDS = ("point", "address")
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class IntegrityRules:
    """How the integrity review runs.

    Parameters
    ----------
    enabled : bool
        Run the review (the ``integrity`` section is ``null`` otherwise).
    fdr : float
        False-discovery rate controlled across points and across addresses (BH).
    min_point_responses : int
        A point with fewer submitted responses is not tested (listed as such).
    min_address_responses : int
        An address is tested when it sent this many responses at two or more points.
    max_replicates : int
        Most Monte Carlo replicates of one address's answer test.
    seed : int
        Seed of those replicates.
    """

    enabled: bool = True
    fdr: float = 0.05
    min_point_responses: int = 10
    min_address_responses: int = 5
    max_replicates: int = 2999
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ScoringInputError(f"integrity 'enabled' must be true or false, got {self.enabled!r}")
        fdr = self.fdr
        if isinstance(fdr, bool) or not isinstance(fdr, (int, float)) or not 0 < fdr < 0.5:
            raise ScoringInputError(f"integrity fdr must be a rate between 0 and 0.5 (e.g. 0.05), got {fdr!r}")
        for name, minimum in (
            ("min_point_responses", 5),
            ("min_address_responses", 3),
            ("max_replicates", 99),
            ("seed", 0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ScoringInputError(f"integrity {name} must be a whole number ≥ {minimum}, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "fdr": float(self.fdr),
            "min_point_responses": self.min_point_responses,
            "min_address_responses": self.min_address_responses,
            "max_replicates": self.max_replicates,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Exclusion:
    """The office's decision to leave a point's (or an address's) responses out of the estimate.

    Parameters
    ----------
    kind : {"point", "address"}
    target : str
        The point code, or the address's keyed hash (``ip_hash``).
    reason : str
        Why, in the office's words (published with the results).
    decided_at : str, optional
        When (ISO 8601).
    """

    kind: str
    target: str
    reason: str
    decided_at: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in EXCLUSION_KINDS:
            raise ScoringInputError(
                f"an exclusion's kind must be one of {', '.join(EXCLUSION_KINDS)}, got {self.kind!r}"
            )
        if not isinstance(self.target, str) or not self.target.strip():
            raise ScoringInputError(f"an exclusion needs the {self.kind} it excludes; got {self.target!r}")
        reason = self.reason.strip() if isinstance(self.reason, str) else ""
        if not reason:
            raise ScoringInputError(
                f"the exclusion of {self.kind} {self.target!r} needs a reason; say why it is left out"
            )
        if len(reason) > MAX_REASON_LENGTH:
            raise ScoringInputError(
                f"the reason for excluding {self.kind} {self.target!r} is {len(reason)} characters; "
                f"keep it under {MAX_REASON_LENGTH}"
            )
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "target", self.target.strip())


@dataclass(frozen=True)
class Evidence:
    """One check's result at one unit."""

    check: str
    units: str
    statistic: float | None
    reference: float | None
    p_value: float
    unusual: bool


@dataclass(frozen=True)
class PointFinding:
    """A tested point: its combined p- and q-value, whether it is flagged, and each check."""

    point: str
    town: str
    point_type: str
    responses: int
    kept: int
    p_value: float
    q_value: float
    flagged: bool
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class AddressFinding:
    """A tested address (keyed hash) and what its responses look like."""

    address: str
    responses: int
    points: int
    towns: int
    p_value: float
    q_value: float
    flagged: bool
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class BrowserFinding:
    """A tested browser (keyed hash of its browser-id cookie) and what its responses look like."""

    browser: str
    responses: int
    points: int
    p_value: float
    q_value: float
    flagged: bool
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, eq=False)
class IntegrityReview:
    """The outcome of :func:`review_integrity` over the rows of one responses table.

    Attributes
    ----------
    rules : IntegrityRules
    point_checks, address_checks : tuple of str
        The checks that ran.
    not_run : dict
        ``{check: reason}`` for checks that could not run.
    points : tuple of PointFinding
        Every tested point, in the table's order of points.
    untested_points : dict
        ``{point: submitted responses}`` of the points with too few to test.
    addresses : tuple of AddressFinding
    flagged_rows : ndarray of bool
        Rows at flagged points or from flagged addresses.
    excluded_rows : ndarray of bool
        Rows the office's exclusions remove.
    kept_rows : ndarray of bool
        Rows the screening keeps (over every row).
    exclusions : tuple of (Exclusion, int)
        Each decision with the number of rows it matched.
    collection : dict
        Counts at collection: ``flags{flag: n}``, ``repeat_browsers``,
        ``responses_from_repeat_browsers``, ``addresses``, ``most_from_one_address``.
    inputs : IntegrityInputs
        The arrays the checks read (plots of the office's page use them).
    browser_checks : tuple of str
        The browser checks that ran.
    browsers : tuple of BrowserFinding
        Every tested browser (wave-wide, :mod:`.browsers`).
    screened : dict
        ``{reason: rows}`` the screening left out (every reason, zero included).
    """

    rules: IntegrityRules
    point_checks: tuple[str, ...]
    address_checks: tuple[str, ...]
    not_run: Mapping[str, str]
    points: tuple[PointFinding, ...]
    untested_points: Mapping[str, int]
    addresses: tuple[AddressFinding, ...]
    flagged_rows: np.ndarray = field(repr=False)
    excluded_rows: np.ndarray = field(repr=False)
    kept_rows: np.ndarray = field(repr=False)
    exclusions: tuple[tuple[Exclusion, int], ...]
    collection: Mapping[str, Any]
    inputs: IntegrityInputs = field(repr=False)
    browser_checks: tuple[str, ...] = ()
    browsers: tuple[BrowserFinding, ...] = ()
    screened: Mapping[str, int] = field(default_factory=dict)

    @property
    def flagged_browsers(self) -> tuple[BrowserFinding, ...]:
        return tuple(finding for finding in self.browsers if finding.flagged)

    @property
    def flagged_points(self) -> tuple[PointFinding, ...]:
        return tuple(finding for finding in self.points if finding.flagged)

    @property
    def flagged_addresses(self) -> tuple[AddressFinding, ...]:
        return tuple(finding for finding in self.addresses if finding.flagged)

    def point(self, code: str) -> PointFinding | None:
        """The finding of one point (None when it was not tested)."""
        return next((finding for finding in self.points if finding.point == code), None)


def _combine(p_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit (rows of ``p_values``, checks in columns): Bonferroni over its checks, the count."""
    finite = np.isfinite(p_values)
    m = finite.sum(axis=1)
    smallest = np.where(finite, p_values, np.inf).min(axis=1, initial=np.inf)
    combined = np.where(m > 0, np.minimum(1.0, m * smallest), np.nan)
    return combined, m


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _findings(
    checks: Sequence[str],
    units_of: Mapping[str, str],
    statistics: np.ndarray,
    references: np.ndarray,
    p_values: np.ndarray,
    fdr: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[Evidence, ...]]]:
    """Combined p, q, flagged and the evidence of every unit (rows) over the checks (columns)."""
    combined, m = _combine(p_values)
    q = benjamini_hochberg(combined)
    flagged = np.isfinite(q) & (q <= fdr)
    cutoff = float(combined[flagged].max()) if flagged.any() else -1.0
    evidence = []
    for k in range(p_values.shape[0]):
        items = []
        for c, check in enumerate(checks):
            p = p_values[k, c]
            if not np.isfinite(p):
                continue
            items.append(
                Evidence(
                    check=check,
                    units=units_of[check],
                    statistic=_number(statistics[k, c]),
                    reference=_number(references[k, c]),
                    p_value=float(p),
                    unusual=bool(flagged[k] and min(1.0, m[k] * p) <= cutoff),
                )
            )
        evidence.append(tuple(items))
    return combined, q, flagged, evidence


def _point_findings(inputs: IntegrityInputs, checks: PointChecks, fdr: float) -> tuple[PointFinding, ...]:
    tested = np.flatnonzero(checks.tested)
    outcomes = checks.outcomes
    if not outcomes or tested.size == 0:
        return ()
    names = [o.check for o in outcomes]
    stack = np.column_stack
    combined, q, flagged, evidence = _findings(
        names,
        {o.check: o.units for o in outcomes},
        stack([o.statistic[tested] for o in outcomes]),
        stack([o.reference[tested] for o in outcomes]),
        stack([o.p_value[tested] for o in outcomes]),
        fdr,
    )
    return tuple(
        PointFinding(
            point=inputs.point_codes[point],
            town=inputs.town_codes[inputs.point_town[point]],
            point_type=inputs.point_type[point],
            responses=int(checks.responses[point]),
            kept=int(checks.kept[point]),
            p_value=float(combined[k]),
            q_value=float(q[k]),
            flagged=bool(flagged[k]),
            evidence=evidence[k],
        )
        for k, point in enumerate(tested)
        if np.isfinite(combined[k])
    )


def _address_findings(inputs: IntegrityInputs, checks: AddressChecks, fdr: float) -> tuple[AddressFinding, ...]:
    if checks.addresses.size == 0:
        return ()
    names = [name for name in ADDRESS_CHECKS if name in checks.p_values]
    stack = np.column_stack
    combined, q, flagged, evidence = _findings(
        names,
        {"similar_answers": "share", "similar_durations": "ratio"},
        stack([checks.statistics[name] for name in names]),
        stack([checks.references[name] for name in names]),
        stack([checks.p_values[name] for name in names]),
        fdr,
    )
    return tuple(
        AddressFinding(
            address=inputs.address_codes[address],
            responses=int(checks.responses[k]),
            points=int(checks.points[k]),
            towns=int(checks.towns[k]),
            p_value=float(combined[k]),
            q_value=float(q[k]),
            flagged=bool(flagged[k]),
            evidence=evidence[k],
        )
        for k, address in enumerate(checks.addresses)
        if np.isfinite(combined[k])
    )


def _browser_findings(inputs: IntegrityInputs, checks: BrowserChecks, fdr: float) -> tuple[BrowserFinding, ...]:
    if checks.browsers.size == 0:
        return ()
    names = [name for name in BROWSER_CHECKS if name in checks.p_values]
    stack = np.column_stack
    combined, q, flagged, evidence = _findings(
        names,
        {"browser_completions": "count", "browser_answers": "share"},
        stack([checks.statistics[name] for name in names]),
        stack([checks.references[name] for name in names]),
        stack([checks.p_values[name] for name in names]),
        fdr,
    )
    return tuple(
        BrowserFinding(
            browser=inputs.browser_codes[browser],
            responses=int(checks.responses[k]),
            points=int(checks.points[k]),
            p_value=float(combined[k]),
            q_value=float(q[k]),
            flagged=bool(flagged[k]),
            evidence=evidence[k],
        )
        for k, browser in enumerate(checks.browsers)
        if np.isfinite(combined[k])
    )


def _collection(responses: Responses, inputs: IntegrityInputs) -> dict[str, Any]:
    flags: dict[str, int] = {}
    if "flags" in responses.frame.columns:
        column = responses.frame["flags"].astype("object")
        counts = column[inputs.submitted].value_counts()
        for value, count in counts.items():
            for flag in {part.strip() for part in str(value).split(";") if part.strip()}:
                flags[flag] = flags.get(flag, 0) + int(count)
    submitted = inputs.submitted
    browsers = np.bincount(inputs.browser[submitted & (inputs.browser >= 0)], minlength=len(inputs.browser_codes))
    addresses = np.bincount(inputs.address[submitted & (inputs.address >= 0)], minlength=len(inputs.address_codes))
    return {
        "flags": dict(sorted(flags.items())),
        "browsers": int((browsers > 0).sum()) if "browser_hash" in inputs.present else None,
        "repeat_browsers": int((browsers > 1).sum()) if "browser_hash" in inputs.present else None,
        "responses_from_repeat_browsers": int(browsers[browsers > 1].sum())
        if "browser_hash" in inputs.present
        else None,
        "addresses": int((addresses > 0).sum()) if "ip_hash" in inputs.present else None,
        "most_from_one_address": int(addresses.max(initial=0)) if "ip_hash" in inputs.present else None,
    }


def _exclusion_rows(
    responses: Responses, exclusions: Iterable[Exclusion]
) -> tuple[np.ndarray, list[tuple[Exclusion, int]]]:
    frame = responses.frame
    rows = np.zeros(responses.n, dtype=bool)
    matched = []
    for exclusion in exclusions:
        column = "point" if exclusion.kind == "point" else "ip_hash"
        if column in frame.columns:
            hit = (frame[column].astype("object") == exclusion.target).to_numpy(dtype=bool)
        else:
            hit = np.zeros(responses.n, dtype=bool)
        rows |= hit
        matched.append((exclusion, int(hit.sum())))
    return rows, matched


def review_integrity(
    responses: Responses,
    screening: ScreeningResult,
    *,
    rules: IntegrityRules | None = None,
    exclusions: Sequence[Exclusion] = (),
) -> IntegrityReview:
    """Run the integrity checks over every row and apply the office's exclusions.

    Parameters
    ----------
    responses : Responses
        The validated table (every row, before any exclusion).
    screening : ScreeningResult
        Its screening (the answer checks read the rows the estimate keeps).
    rules : IntegrityRules, optional
    exclusions : sequence of Exclusion
        The office's decisions in force.

    Returns
    -------
    IntegrityReview

    Examples
    --------
    >>> responses = validate_responses(frame, questionnaires)              # doctest: +SKIP
    >>> review = review_integrity(responses, screen_responses(responses))  # doctest: +SKIP
    >>> [f.point for f in review.flagged_points]                           # doctest: +SKIP
    ['police-05']
    """
    rules = rules or IntegrityRules()
    exclusions = tuple(exclusions)
    for exclusion in exclusions:
        if not isinstance(exclusion, Exclusion):
            raise ScoringInputError(f"exclusions must be Exclusion objects, got {exclusion!r}")
    inputs = integrity_inputs(responses, screening)
    point_checks = run_point_checks(inputs, min_responses=rules.min_point_responses)
    address_checks = run_address_checks(
        inputs,
        min_responses=rules.min_address_responses,
        max_replicates=rules.max_replicates,
        seed=rules.seed,
    )
    browser_checks = run_browser_checks(inputs, max_replicates=rules.max_replicates, seed=rules.seed)
    points = _point_findings(inputs, point_checks, rules.fdr)
    addresses = _address_findings(inputs, address_checks, rules.fdr)
    browsers = _browser_findings(inputs, browser_checks, rules.fdr)

    flagged_rows = np.zeros(inputs.n, dtype=bool)
    flagged_point_codes = [inputs.point_codes.index(f.point) for f in points if f.flagged]
    if flagged_point_codes:
        flagged_rows |= np.isin(inputs.point, flagged_point_codes)
    flagged_address_codes = [inputs.address_codes.index(f.address) for f in addresses if f.flagged]
    if flagged_address_codes:
        flagged_rows |= np.isin(inputs.address, flagged_address_codes)
    flagged_browser_codes = [inputs.browser_codes.index(f.browser) for f in browsers if f.flagged]
    if flagged_browser_codes:
        flagged_rows |= np.isin(inputs.browser, flagged_browser_codes)
    excluded_rows, matched = _exclusion_rows(responses, exclusions)

    not_run = dict(point_checks.not_run)
    not_run.update(address_checks.not_run)
    not_run.update(browser_checks.not_run)
    untested = {
        inputs.point_codes[k]: int(point_checks.responses[k])
        for k in np.flatnonzero(~point_checks.tested & (point_checks.responses > 0))
    }
    return IntegrityReview(
        rules=rules,
        point_checks=tuple(check for check in POINT_CHECKS if check not in not_run),
        address_checks=tuple(check for check in ADDRESS_CHECKS if check not in not_run),
        not_run=not_run,
        points=points,
        untested_points=untested,
        addresses=addresses,
        flagged_rows=flagged_rows,
        excluded_rows=excluded_rows,
        kept_rows=screening.keep.copy(),
        exclusions=tuple(matched),
        collection=_collection(responses, inputs),
        inputs=inputs,
        browser_checks=tuple(check for check in BROWSER_CHECKS if check not in not_run),
        browsers=browsers,
        screened=dict(screening.excluded),
    )
