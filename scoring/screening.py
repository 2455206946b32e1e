"""Quality screening: which responses are left out of the scoring, and why.

Reasons, in the order they are checked (a response is counted under the first that
applies, so the counts add up to the number excluded):

``partial``
    ``state`` is ``partial``: the resident left before submitting.  Always excluded
    (docs/contracts.md), even with screening off.
``outside_district``
    ``town`` is ``outside`` (不在荆州区居住): the resident does not live in the district, so
    the district's estimates are not about her.  Counted, and always excluded, even with
    screening off: it is the survey's scope, not a judgement on the answers.
``duplicate_browser``
    ``flags`` contains ``duplicate_browser``: a repeat submission from the same browser,
    flagged at collection.
``ip_burst``
    ``flags`` contains ``ip_burst``: one of unusually many completions from the same
    (hashed) address at the same collection point within an hour — a bot flood, flagged
    at collection.
``speeder``
    ``duration_s`` below a third of the median duration (the median of the responses
    not already excluded, with a known duration).
``straight_liner``
    The same answer on every one of at least 8 answered aspect items **and** a second
    signal: a time below half the median.  Straight-lining alone is not evidence of a bad
    response — a resident who is satisfied with everything answers all 5s — and it can
    only happen to residents who answered two or more domains, so excluding it alone
    removes satisfied residents selectively (issue 10: 94 of 2,000 clean responses, the
    overall index moved from 72.60 to 71.32).  The other signals (a duplicate browser, an
    address burst, a speeder under a third of the median) exclude a response on their own
    and are counted under their own reason first.

Screening is on by default; ``ScreeningRules(enabled=False)`` (``--no-screening``) keeps
everything but the partial responses and the residents outside the district.  The rules are part of a wave's analysis settings
(:mod:`scoring.settings`) and are written into every results file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from .data import OUTSIDE_DISTRICT, Responses
from .errors import ScoringInputError

__all__ = [
    "ALWAYS_EXCLUDED",
    "COLLECTION_FLAGS",
    "SCREENING_REASONS",
    "SPEEDER_FRACTION",
    "STRAIGHT_LINE_FAST_FRACTION",
    "STRAIGHT_LINE_MIN_ITEMS",
    "ScreeningResult",
    "ScreeningRules",
    "screen_responses",
    "straight_liners",
]

SCREENING_REASONS: tuple[str, ...] = (
    "partial",
    "outside_district",
    "duplicate_browser",
    "ip_burst",
    "speeder",
    "straight_liner",
)
#: Reasons that exclude a response whatever the rules (the survey's scope, not quality).
ALWAYS_EXCLUDED: tuple[str, ...] = ("partial", "outside_district")
#: Flags set at collection that exclude a response from scoring.
COLLECTION_FLAGS: tuple[str, ...] = ("duplicate_browser", "ip_burst")
#: A speeder took less than this fraction of the median duration.
SPEEDER_FRACTION = 1 / 3
#: A straight-liner gives one answer to at least this many answered aspect items.
STRAIGHT_LINE_MIN_ITEMS = 8
#: … and is excluded only when also faster than this fraction of the median duration.
STRAIGHT_LINE_FAST_FRACTION = 1 / 2


@dataclass(frozen=True)
class ScreeningRules:
    """The screening rules of a wave (see the module notes).

    Parameters
    ----------
    enabled : bool
        Quality screening on; partial responses are excluded regardless.
    collection_flags : tuple of str
        Collection flags that exclude a response (a subset of :data:`COLLECTION_FLAGS`).
    speeder_fraction : float
        A response faster than this fraction of the median is a speeder (0 turns it off).
    straight_line_min_items : int
        Straight-lining needs at least this many answered aspect items, all one answer.
    straight_line_fast_fraction : float or None
        A straight-liner is excluded only when also faster than this fraction of the
        median (0 never excludes straight-lining).  ``None`` is the rule before issue 10 —
        straight-lining alone excludes — kept only to reproduce results made with it; it
        removes satisfied residents selectively.
    """

    enabled: bool = True
    collection_flags: tuple[str, ...] = COLLECTION_FLAGS
    speeder_fraction: float = SPEEDER_FRACTION
    straight_line_min_items: int = STRAIGHT_LINE_MIN_ITEMS
    straight_line_fast_fraction: float | None = STRAIGHT_LINE_FAST_FRACTION

    def __post_init__(self) -> None:
        object.__setattr__(self, "collection_flags", tuple(self.collection_flags))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`~scoring.errors.ScoringInputError` naming a bad rule."""
        if not isinstance(self.enabled, bool):
            raise ScoringInputError(f"screening 'enabled' must be true or false, got {self.enabled!r}")
        unknown = [flag for flag in self.collection_flags if flag not in COLLECTION_FLAGS]
        if unknown:
            raise ScoringInputError(
                f"screening collection flag {unknown[0]!r} is not one the collection sets; "
                f"use some of {', '.join(COLLECTION_FLAGS)}"
            )
        for name in ("speeder_fraction", "straight_line_fast_fraction"):
            value = getattr(self, name)
            if value is None and name == "straight_line_fast_fraction":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ScoringInputError(
                    f"screening {name} must be a fraction of the median time from 0 (off) to below 1, got {value!r}"
                )
        items = self.straight_line_min_items
        if isinstance(items, bool) or not isinstance(items, int) or items < 2:
            raise ScoringInputError(f"screening straight_line_min_items must be a whole number ≥ 2, got {items!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "collection_flags": list(self.collection_flags),
            "speeder_fraction": float(self.speeder_fraction),
            "straight_line_min_items": int(self.straight_line_min_items),
            "straight_line_fast_fraction": (
                None if self.straight_line_fast_fraction is None else float(self.straight_line_fast_fraction)
            ),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ScreeningRules:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ScoringInputError(f"unknown screening rule {unknown[0]!r}; the rules are {', '.join(sorted(known))}")
        defaults = cls()
        return cls(
            enabled=values.get("enabled", defaults.enabled),
            collection_flags=tuple(values.get("collection_flags", defaults.collection_flags)),
            speeder_fraction=values.get("speeder_fraction", defaults.speeder_fraction),
            straight_line_min_items=values.get("straight_line_min_items", defaults.straight_line_min_items),
            straight_line_fast_fraction=values.get("straight_line_fast_fraction", defaults.straight_line_fast_fraction),
        )

    def describe(self) -> str:
        if not self.enabled:
            return "screening off (partial responses excluded)"
        straight = (
            "straight-lining alone"
            if self.straight_line_fast_fraction is None
            else f"straight-lining only when faster than {self.straight_line_fast_fraction:.2g} × median time"
        )
        return (
            f"excluded: partial, {', '.join(self.collection_flags) or 'no collection flags'}, "
            f"faster than {self.speeder_fraction:.2g} × median time, {straight} "
            f"(≥ {self.straight_line_min_items} items)"
        )


@dataclass(frozen=True, eq=False)
class ScreeningResult:
    """Which rows are kept, and the exclusions counted by reason.

    Attributes
    ----------
    reason_codes : ndarray of int8
        0 for a kept row, else 1 + the position of its reason in :data:`SCREENING_REASONS`.
    excluded : mapping
        ``{reason: count}`` for every reason of :data:`SCREENING_REASONS`.
    enabled : bool
        Whether quality screening was on (partial responses are excluded regardless).
    median_duration : float or None
        The median the speed rules used.
    straight_lining : ndarray of bool
        Rows that straight-lined (whether or not that excluded them).
    rules : ScreeningRules
    """

    reason_codes: np.ndarray = field(repr=False)
    excluded: Mapping[str, int]
    enabled: bool
    median_duration: float | None
    straight_lining: np.ndarray = field(repr=False)
    rules: ScreeningRules = field(default_factory=ScreeningRules)

    @property
    def keep(self) -> np.ndarray:
        return np.asarray(self.reason_codes == 0)

    @property
    def reason(self) -> np.ndarray:
        """The reason each row was excluded, ``""`` when kept."""
        return np.asarray(np.array(("",) + SCREENING_REASONS, dtype=object)[self.reason_codes])

    @property
    def n_kept(self) -> int:
        return int((self.reason_codes == 0).sum())

    @property
    def partial(self) -> np.ndarray:
        """Rows excluded as partial (excluded even with screening off)."""
        return np.asarray(self.reason_codes == SCREENING_REASONS.index("partial") + 1, dtype=bool)

    @property
    def always_excluded(self) -> np.ndarray:
        """Rows excluded whatever the rules: partial responses and residents outside the
        district (:data:`ALWAYS_EXCLUDED`) — what "without screening" still leaves out."""
        codes = [SCREENING_REASONS.index(reason) + 1 for reason in ALWAYS_EXCLUDED]
        return np.isin(self.reason_codes, codes)


def _has_flag(series: pd.Series, flag: str) -> np.ndarray:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    has = np.array([flag in {part.strip() for part in str(u).split(";")} for u in uniques] + [False])
    return np.asarray(has[codes])


def _has_value(series: pd.Series, value: str) -> np.ndarray:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    has = np.array([str(u) == value for u in uniques] + [False])
    return np.asarray(has[codes])


def straight_liners(responses: Responses, *, min_items: int = STRAIGHT_LINE_MIN_ITEMS) -> np.ndarray:
    """Rows giving the same answer to all of at least ``min_items`` answered aspect items."""
    codes = responses.item_codes
    n = responses.n
    lowest = np.full(n, np.iinfo(np.int8).max, dtype=np.int8)
    highest = np.zeros(n, dtype=np.int8)
    answered = np.zeros(n, dtype=np.int16)
    for code in responses.instrument.aspect_codes:
        column = responses.answers[:, codes.index(code)]
        present = column > 0
        np.minimum(lowest, np.where(present, column, lowest), out=lowest)
        np.maximum(highest, column, out=highest)
        answered += present
    return np.asarray((answered >= min_items) & (lowest == highest))


def screen_responses(
    responses: Responses, *, enabled: bool | None = None, rules: ScreeningRules | None = None
) -> ScreeningResult:
    """Apply the screening rules (see the module notes).

    Parameters
    ----------
    responses : Responses
    enabled : bool, optional
        Shorthand for ``rules=ScreeningRules(enabled=...)`` (``--no-screening``).  The
        reasons of :data:`ALWAYS_EXCLUDED` apply either way.
    rules : ScreeningRules, optional
        Default :class:`ScreeningRules`.

    Returns
    -------
    ScreeningResult
    """
    if rules is None:
        rules = ScreeningRules()
    if enabled is not None and enabled != rules.enabled:
        rules = replace(rules, enabled=enabled)
    frame = responses.frame
    codes = np.zeros(responses.n, dtype=np.int8)

    def mark(rows: np.ndarray, name: str) -> None:
        codes[rows & (codes == 0)] = SCREENING_REASONS.index(name) + 1

    if "state" in frame.columns:
        mark((frame["state"].astype("object") == "partial").to_numpy(dtype=bool), "partial")
    if "town" in frame.columns:
        mark(_has_value(frame["town"], OUTSIDE_DISTRICT), "outside_district")
    straight = straight_liners(responses, min_items=rules.straight_line_min_items)
    median = None
    if rules.enabled:
        if "flags" in frame.columns:
            for flag in rules.collection_flags:
                mark(_has_flag(frame["flags"], flag), flag)
        if "duration_s" in frame.columns:
            duration = frame["duration_s"].to_numpy(dtype=np.float64)
            eligible = (codes == 0) & ~np.isnan(duration)
            if eligible.any():
                median = float(np.median(duration[eligible]))
                with np.errstate(invalid="ignore"):
                    mark(duration < rules.speeder_fraction * median, "speeder")
        if rules.straight_line_fast_fraction is None:
            mark(straight, "straight_liner")
        elif median is not None:
            with np.errstate(invalid="ignore"):
                fast = frame["duration_s"].to_numpy(dtype=np.float64) < rules.straight_line_fast_fraction * median
            mark(straight & fast, "straight_liner")
    counts = np.bincount(codes, minlength=len(SCREENING_REASONS) + 1)
    excluded = {name: int(count) for name, count in zip(SCREENING_REASONS, counts[1:])}
    return ScreeningResult(
        reason_codes=codes,
        excluded=excluded,
        enabled=rules.enabled,
        median_duration=None if median is None or not math.isfinite(median) else median,
        straight_lining=straight,
        rules=rules,
    )
