"""Paradata of the synthetic responses — ids, times, durations, network and device tokens — and
the assembly of the response table.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .parameters import (
    _CHINA_OFFSET,
    _MOBILE_ADDRESSES_PER_TOWN,
    _OFFICE_HOURS,
    _TIME_OF_DAY,
    _WIFI_KINDS,
    _WIFI_SHARE,
    AGE_GROUPS,
    POINT_TOWN_COLUMN,
    SEXES,
)
from .records import (
    IntegrityPlants,
    SyntheticPopulation,
    _Layout,
)
from .rows import (
    _Rows,
)


def _ascii_digits(buffer: np.ndarray, start: int, values: np.ndarray, width: int) -> None:
    remaining = values.astype(np.int64)
    for position in range(start + width - 1, start - 1, -1):
        buffer[:, position] = 48 + remaining % 10
        remaining //= 10


def _ascii_strings(buffer: np.ndarray) -> np.ndarray:
    return buffer.view(f"S{buffer.shape[1]}").ravel().astype(f"U{buffer.shape[1]}")


def _response_ids(wave: str, seed: int, n: int) -> np.ndarray:
    """``<wave>-s<seed>-<row number>``: unique within a sample, distinct across seeds."""
    prefix = f"{wave}-s{seed}-".encode("ascii")
    width = max(6, len(str(n)))
    buffer = np.empty((n, len(prefix) + width), dtype=np.uint8)
    buffer[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    _ascii_digits(buffer, len(prefix), np.arange(1, n + 1), width)
    return _ascii_strings(buffer)


def _draw_moments(time_kind: np.ndarray, days: int, rng: np.random.Generator) -> np.ndarray:
    """Seconds since the first day's midnight: a uniform day, a time of day by kind of point."""
    n = time_kind.size
    moments = rng.integers(0, days, n).astype(np.int64) * 86400
    for kind in sorted(set(time_kind.tolist())):
        rows = np.flatnonzero(time_kind == kind)
        windows = np.array(_TIME_OF_DAY.get(kind, _OFFICE_HOURS))
        which = rng.choice(len(windows), size=rows.size, p=windows[:, 2] / windows[:, 2].sum())
        hours = windows[which, 0] + rng.random(rows.size) * (windows[which, 1] - windows[which, 0])
        moments[rows] += np.minimum(np.floor(hours * 3600), 86399).astype(np.int64)
    return moments


def _format_times(start: _dt.date, days: int, moments: np.ndarray) -> np.ndarray:
    """ISO-8601 local times (``YYYY-MM-DDTHH:MM:SS+08:00``) of the moments."""
    n = moments.size
    day, second = np.divmod(moments, 86400)
    dates = np.array(
        [list((start + _dt.timedelta(days=k)).isoformat().encode() + b"T") for k in range(days)], dtype=np.uint8
    )
    buffer = np.empty((n, 25), dtype=np.uint8)
    buffer[:, :11] = dates[day]
    _ascii_digits(buffer, 11, second // 3600, 2)
    buffer[:, 13] = ord(":")
    _ascii_digits(buffer, 14, second // 60 % 60, 2)
    buffer[:, 16] = ord(":")
    _ascii_digits(buffer, 17, second % 60, 2)
    buffer[:, 19:] = np.frombuffer(_CHINA_OFFSET.encode(), dtype=np.uint8)
    return _ascii_strings(buffer)


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_tokens(count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random 64-hex-digit tokens (stand-ins for keyed SHA-256 hashes), as objects."""
    raw = rng.integers(0, 256, size=(count, 32), dtype=np.uint8)
    buffer = np.empty((count, 64), dtype=np.uint8)
    buffer[:, 0::2] = _HEX_DIGITS[raw >> 4]
    buffer[:, 1::2] = _HEX_DIGITS[raw & 15]
    return _ascii_strings(buffer).astype(object)


def _paradata(
    population: SyntheticPopulation,
    rows: _Rows,
    planted: Mapping[str, np.ndarray],
    duplicate_source: np.ndarray,
    plants: IntegrityPlants,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """``ip_hash`` and ``browser_hash`` per row (missing without a point), and the farm's addresses."""
    arrays = population._arrays
    n = rows.cell_of_row.size
    point = arrays.cell_point[rows.cell_of_row]
    point_town = arrays.point_town[point]
    kinds = population.points["kind"].to_numpy(dtype=object)
    has_wifi = np.array([kind in _WIFI_KINDS for kind in kinds], dtype=bool)
    n_towns = len(population.towns)

    mobile = _hex_tokens(n_towns * _MOBILE_ADDRESSES_PER_TOWN, rng).reshape(n_towns, _MOBILE_ADDRESSES_PER_TOWN)
    wifi = _hex_tokens(kinds.size, rng)
    ip_hash = mobile[point_town, rng.integers(0, _MOBILE_ADDRESSES_PER_TOWN, n)]
    on_wifi = has_wifi[point] & (rng.random(n) < _WIFI_SHARE)
    ip_hash[on_wifi] = wifi[point[on_wifi]]
    browser_hash = _hex_tokens(n, rng)
    duplicates = np.flatnonzero(planted["duplicate_browser"])
    browser_hash[duplicates] = browser_hash[duplicate_source]

    bot_addresses: tuple[str, ...] = ()
    bots = np.flatnonzero(rows.bot)
    if bots.size:
        pool = _hex_tokens(plants.bot_addresses, rng)
        ip_hash[bots] = pool[np.arange(bots.size) % pool.size]  # in turn, in submission order
        bot_addresses = tuple(pool.tolist())
    without_point = ~rows.at_point
    ip_hash[without_point] = None
    browser_hash[without_point] = None
    return {"ip_hash": ip_hash, "browser_hash": browser_hash}, bot_addresses


def _assemble_responses(
    population: SyntheticPopulation,
    layout: _Layout,
    answers: np.ndarray,
    row_usage: np.ndarray,
    rows: _Rows,
    durations: np.ndarray,
    planted: Mapping[str, np.ndarray],
    paradata: Mapping[str, np.ndarray],
    *,
    wave: str,
    channels: np.ndarray,
    seed: int,
    submitted_at: np.ndarray,
    with_quality_columns: bool,
) -> pd.DataFrame:
    arrays = population._arrays
    cell_of_row = rows.cell_of_row
    n = cell_of_row.size
    # The Likert block becomes the frame's float64 block without a copy.
    frame = pd.DataFrame(answers.T, columns=list(layout.item_columns), copy=False)
    partial = planted["partial"]
    without_point = ~rows.at_point

    def labels(values: tuple[str, ...], codes: np.ndarray, blank: np.ndarray | None = None) -> np.ndarray:
        out = np.asarray(values, dtype=object)[codes]
        if blank is not None and blank.any():
            out[blank] = None
        return np.asarray(out)

    point_codes = tuple(population.points["code"])
    point_of_row = arrays.cell_point[cell_of_row]
    fixed = {
        "response_id": _response_ids(wave, seed, n),
        "wave": np.full(n, wave, dtype=object),
        "channel": channels,
        "point": labels(point_codes, point_of_row, without_point),
        "town": labels(population.towns, arrays.cell_town[cell_of_row], partial),
        "sex": labels(SEXES, arrays.cell_sex[cell_of_row], partial),
        "age_group": labels(AGE_GROUPS, arrays.cell_age[cell_of_row], partial),
        "duration_s": durations.astype(np.float64),
        "submitted_at": submitted_at,
    }
    for position, (name, values) in enumerate(fixed.items()):
        frame.insert(position, name, values)

    # services_used: at most 2**12 distinct patterns, so join each pattern once.
    pattern = row_usage.astype(np.int64) @ (1 << np.arange(row_usage.shape[1], dtype=np.int64))
    distinct, inverse = np.unique(pattern, return_inverse=True)
    domain_ids = layout.domain_ids
    joined = np.array(
        [";".join(d for k, d in enumerate(domain_ids) if p >> k & 1) for p in distinct.tolist()], dtype=object
    )
    extra = {
        "services_used": joined[inverse.ravel()],
        POINT_TOWN_COLUMN: labels(population.towns, arrays.point_town[point_of_row], without_point),
    }
    if with_quality_columns:
        extra["state"] = np.where(partial, "partial", "submitted").astype(object)
        flags = np.full(n, None, dtype=object)
        flags[planted["duplicate_browser"]] = "duplicate_browser"
        extra["flags"] = flags
    extra.update(paradata)
    for name, values in extra.items():
        frame.insert(frame.shape[1], name, values)
    return frame
