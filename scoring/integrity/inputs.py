"""What the integrity checks read from a responses table, as plain arrays.

:func:`integrity_inputs` takes the validated :class:`~scoring.data.Responses` and the
screening's :class:`~scoring.screening.ScreeningResult` (over the same rows) and returns
:class:`IntegrityInputs`: codes of points, towns, addresses and browsers per row, the
answer matrix, durations and submission times in Beijing time.  Columns that are absent
(``submitted_at``, ``ip_hash`` …) leave their arrays empty of information (NaN, −1), and
the checks that need them say they did not run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data import Responses
from ..screening import STRAIGHT_LINE_FAST_FRACTION, ScreeningResult

__all__ = ["BEIJING_OFFSET_S", "IntegrityInputs", "codes_of", "integrity_inputs"]

#: Beijing time is UTC+8 all year (no daylight saving).
BEIJING_OFFSET_S = 8 * 3600


def codes_of(values: pd.Series | None, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes (−1 for missing or blank) and the distinct non-blank values."""
    if values is None:
        return np.full(n, -1, dtype=np.int64), ()
    codes, uniques = pd.factorize(values.astype("object"), use_na_sentinel=True)
    names = [str(u) for u in uniques]
    blank = np.array([not name.strip() for name in names] + [True])
    codes = np.where(blank[codes], -1, codes)
    kept = [k for k, name in enumerate(names) if name.strip()]
    renumber = np.full(len(names) + 1, -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    return renumber[codes].astype(np.int64), tuple(names[k] for k in kept)


def _beijing_seconds(values: pd.Series | None, n: int) -> np.ndarray:
    """Submission times as seconds since 1970-01-01 00:00 Beijing time (NaN when unknown)."""
    if values is None:
        return np.full(n, np.nan)
    codes, uniques = pd.factorize(values.astype("object"), use_na_sentinel=True)
    parsed = pd.to_datetime(pd.Series(uniques, dtype="object"), utc=True, errors="coerce", format="ISO8601")
    seconds = parsed.to_numpy(dtype="datetime64[s]").astype("int64").astype(float)
    seconds[parsed.isna().to_numpy()] = np.nan
    lookup = np.append(seconds + BEIJING_OFFSET_S, np.nan)
    return np.asarray(lookup[codes])


def _has_any_flag(values: pd.Series | None, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=bool)
    codes, uniques = pd.factorize(values.astype("object"), use_na_sentinel=True)
    has = np.array([any(part.strip() for part in str(u).split(";")) for u in uniques] + [False])
    return np.asarray(has[codes], dtype=bool)


@dataclass(frozen=True, eq=False)
class IntegrityInputs:
    """The arrays the checks read (one entry per row of the responses table).

    Attributes
    ----------
    point : ndarray of int
        Collection point code per row (−1 without a point: phone, paper).
    point_codes : tuple of str
    point_town : ndarray of int
        Per point, the code of the town where it stands (the comparison group; all 0
        without a ``point_town`` column).
    town_codes : tuple of str
    point_type : tuple of str
        Per point, its focus domain (``""`` for a general point or without the column).
    submitted, kept : ndarray of bool
        Not partial; kept by the screening (what the estimate uses).
    answers : ndarray of int8
        Likert codes (0 missing), rows × items.
    scale : ndarray of int
        Scale length K per item.
    duration : ndarray of float
        Seconds (NaN unknown).
    local_seconds : ndarray of float
        Submission time, seconds since the epoch in Beijing time (NaN unknown).
    collection_flagged : ndarray of bool
        Any flag set at collection (``flags`` column).
    fast_straight : ndarray of bool
        Straight-lining (one answer to ≥ 8 aspect items) faster than the screening's
        fraction of the median time.
    age : ndarray of int
        Age-group code per row (−1 unknown): the answer checks compare like with like.
    address, browser : ndarray of int
        Codes of the keyed hashes ``ip_hash``, ``browser_hash`` (−1 missing).
    present : frozenset of str
        Which optional columns the table had (``submitted_at``, ``duration_s``,
        ``point_town``, ``ip_hash``, ``browser_hash``, ``flags``).
    """

    point: np.ndarray = field(repr=False)
    point_codes: tuple[str, ...]
    point_town: np.ndarray = field(repr=False)
    town_codes: tuple[str, ...]
    point_type: tuple[str, ...]
    submitted: np.ndarray = field(repr=False)
    kept: np.ndarray = field(repr=False)
    answers: np.ndarray = field(repr=False)
    scale: np.ndarray = field(repr=False)
    duration: np.ndarray = field(repr=False)
    local_seconds: np.ndarray = field(repr=False)
    collection_flagged: np.ndarray = field(repr=False)
    fast_straight: np.ndarray = field(repr=False)
    age: np.ndarray = field(repr=False)
    address: np.ndarray = field(repr=False)
    address_codes: tuple[str, ...] = field(repr=False)
    browser: np.ndarray = field(repr=False)
    browser_codes: tuple[str, ...] = field(repr=False)
    present: frozenset[str] = frozenset()

    @property
    def n(self) -> int:
        return int(self.point.size)

    @property
    def n_points(self) -> int:
        return len(self.point_codes)


def integrity_inputs(responses: Responses, screening: ScreeningResult) -> IntegrityInputs:
    """The arrays of :class:`IntegrityInputs` from a validated table and its screening."""
    frame = responses.frame
    n = responses.n
    if screening.reason_codes.size != n:
        raise ValueError(f"the screening covers {screening.reason_codes.size} rows but the responses have {n}")

    def column(name: str) -> pd.Series | None:
        return frame[name] if name in frame.columns else None

    point, point_codes = codes_of(column("point"), n)
    row_town, town_codes = codes_of(column("point_town"), n)
    point_town = np.zeros(len(point_codes), dtype=np.int64)
    if town_codes:
        at_point = (point >= 0) & (row_town >= 0)
        if at_point.any():
            # The town each point stands in: its rows' most common point_town.
            pairs = np.unique(np.stack([point[at_point], row_town[at_point]]), axis=1, return_counts=True)
            (points_of_pair, towns_of_pair), counts = pairs
            order = np.lexsort((-counts, points_of_pair))
            first = np.unique(points_of_pair[order], return_index=True)[1]
            point_town[points_of_pair[order][first]] = towns_of_pair[order][first]
    else:
        town_codes = ("",)

    point_type = [""] * len(point_codes)
    if "point_type" in frame.columns and point_codes:
        types, type_codes = codes_of(frame["point_type"], n)
        typed_rows = np.flatnonzero((point >= 0) & (types >= 0))
        for k, row in zip(*np.unique(point[typed_rows], return_index=True)):
            point_type[k] = type_codes[types[typed_rows[row]]]
    duration = frame["duration_s"].to_numpy(dtype=np.float64) if "duration_s" in frame.columns else np.full(n, np.nan)
    fast_fraction = screening.rules.straight_line_fast_fraction or STRAIGHT_LINE_FAST_FRACTION
    fast_straight = np.zeros(n, dtype=bool)
    if screening.median_duration is not None:
        with np.errstate(invalid="ignore"):
            fast_straight = screening.straight_lining & (duration < fast_fraction * screening.median_duration)
    address, address_codes = codes_of(column("ip_hash"), n)
    browser, browser_codes = codes_of(column("browser_hash"), n)
    scale = np.array([responses.instrument.scale_lengths[code] for code in responses.item_codes], dtype=np.int64)
    present = frozenset(
        name
        for name in ("submitted_at", "duration_s", "point_town", "ip_hash", "browser_hash", "flags", "point")
        if name in frame.columns
    )
    return IntegrityInputs(
        point=point,
        point_codes=point_codes,
        point_town=point_town,
        town_codes=town_codes,
        point_type=tuple(point_type),
        submitted=~screening.partial,
        kept=screening.keep.copy(),
        answers=responses.answers,
        scale=scale,
        duration=duration,
        local_seconds=_beijing_seconds(column("submitted_at"), n),
        collection_flagged=_has_any_flag(column("flags"), n),
        fast_straight=np.asarray(fast_straight, dtype=bool),
        age=codes_of(column("age_group"), n)[0],
        address=address,
        address_codes=address_codes,
        browser=browser,
        browser_codes=browser_codes,
        present=present,
    )
