"""Quality screening: which responses are left out of the scoring, and why.

Reasons, in the order they are checked (a response is counted under the first that
applies, so the counts add up to the number excluded):

``partial``
    ``state`` is ``partial``: the resident left before submitting.  Always excluded
    (docs/contracts.md), even with screening off.
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
    The same answer on every one of at least 8 answered aspect items.

Screening is on by default; ``enabled=False`` (``--no-screening``) keeps everything but
the partial responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data import Responses

__all__ = ["SCREENING_REASONS", "SPEEDER_FRACTION", "STRAIGHT_LINE_MIN_ITEMS", "ScreeningResult", "screen_responses"]

SCREENING_REASONS: tuple[str, ...] = ("partial", "duplicate_browser", "ip_burst", "speeder", "straight_liner")
#: Flags set at collection that exclude a response from scoring.
COLLECTION_FLAGS: tuple[str, ...] = ("duplicate_browser", "ip_burst")
#: A speeder took less than this fraction of the median duration.
SPEEDER_FRACTION = 1 / 3
#: A straight-liner gives one answer to at least this many answered aspect items.
STRAIGHT_LINE_MIN_ITEMS = 8


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
        The median the speeder rule used.
    """

    reason_codes: np.ndarray = field(repr=False)
    excluded: Mapping[str, int]
    enabled: bool
    median_duration: float | None

    @property
    def keep(self) -> np.ndarray:
        return self.reason_codes == 0

    @property
    def reason(self) -> np.ndarray:
        """The reason each row was excluded, ``""`` when kept."""
        return np.array(("",) + SCREENING_REASONS, dtype=object)[self.reason_codes]

    @property
    def n_kept(self) -> int:
        return int((self.reason_codes == 0).sum())


def _has_flag(series: pd.Series, flag: str) -> np.ndarray:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    has = np.array([flag in {part.strip() for part in str(u).split(";")} for u in uniques] + [False])
    return has[codes]


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
    return (answered >= min_items) & (lowest == highest)


def screen_responses(responses: Responses, *, enabled: bool = True) -> ScreeningResult:
    """Apply the screening rules (see the module notes).

    Parameters
    ----------
    responses : Responses
    enabled : bool
        Quality screening on (default) or off (``--no-screening``).

    Returns
    -------
    ScreeningResult
    """
    frame = responses.frame
    codes = np.zeros(responses.n, dtype=np.int8)

    def mark(rows: np.ndarray, name: str) -> None:
        codes[rows & (codes == 0)] = SCREENING_REASONS.index(name) + 1

    if "state" in frame.columns:
        mark((frame["state"].astype("object") == "partial").to_numpy(dtype=bool), "partial")
    median = None
    if enabled:
        if "flags" in frame.columns:
            for flag in COLLECTION_FLAGS:
                mark(_has_flag(frame["flags"], flag), flag)
        if "duration_s" in frame.columns:
            duration = frame["duration_s"].to_numpy(dtype=np.float64)
            eligible = (codes == 0) & ~np.isnan(duration)
            if eligible.any():
                median = float(np.median(duration[eligible]))
                with np.errstate(invalid="ignore"):
                    mark(duration < SPEEDER_FRACTION * median, "speeder")
        mark(straight_liners(responses), "straight_liner")
    counts = np.bincount(codes, minlength=len(SCREENING_REASONS) + 1)
    excluded = {name: int(count) for name, count in zip(SCREENING_REASONS, counts[1:])}
    return ScreeningResult(reason_codes=codes, excluded=excluded, enabled=enabled, median_duration=median)
