"""Browser plants on a synthetic wave: households sharing a phone, a farm reusing one browser.

:func:`scoring.synthetic.generate_survey` gives every response its own browser.  The
browser checks (:mod:`.browsers`) need the two cases they must tell apart, planted here by
post-processing its ``responses`` table (the generator itself is left alone):

* :func:`share_browsers` — families: groups of 2–4 responses **at one point** share a
  browser (the collection side allows up to 4 per phone); their answers stay their own;
* :func:`plant_browser_farm` — a farm: ``responses`` copies of random submitted rows at
  random points, all from one new browser, whose answers are those of one template row with
  each answer redrawn from the copied row's own with probability ``1 − alike``.

Keyed hashes are drawn as 64 random hex digits, like the generator's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BrowserPlants", "plant_browser_farm", "share_browsers"]


@dataclass(frozen=True)
class BrowserPlants:
    """What was planted: the farm's browser hash (``None`` without a farm) and its rows' ids."""

    farm_browser: str | None
    farm_response_ids: tuple[str, ...]
    household_browsers: tuple[str, ...]


def _hash(rng: np.random.Generator) -> str:
    return "".join(f"{byte:02x}" for byte in rng.integers(0, 256, size=32))


def _submitted_at_point(frame: pd.DataFrame) -> np.ndarray:
    at_point = frame["point"].notna().to_numpy() if "point" in frame.columns else np.zeros(len(frame), dtype=bool)
    if "state" in frame.columns:
        at_point &= (frame["state"].astype("object") != "partial").to_numpy()
    return np.flatnonzero(at_point)


def share_browsers(frame: pd.DataFrame, *, households: int, seed: int) -> tuple[pd.DataFrame, BrowserPlants]:
    """Give ``households`` groups of 2–4 responses at one point one browser each (a family's phone).

    Parameters
    ----------
    frame : DataFrame
        A responses table with ``point`` and ``browser_hash`` (generator paradata).
    households : int
        Groups to form (fewer when the points run out of rows).
    seed : int

    Returns
    -------
    (DataFrame, BrowserPlants)
        A copy of the table, and the browsers now shared.
    """
    if "browser_hash" not in frame.columns:
        raise ValueError("share_browsers needs a 'browser_hash' column; generate the wave with paradata=True")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 15, 3]))
    out = frame.copy()
    rows = _submitted_at_point(out)
    rng.shuffle(rows)
    by_point: dict[str, list[int]] = {}
    for row in rows:
        by_point.setdefault(str(out["point"].iat[row]), []).append(int(row))
    points = list(by_point)
    column = out.columns.get_loc("browser_hash")
    shared: list[str] = []
    for _ in range(households):
        candidates = [p for p in points if len(by_point[p]) >= 2]
        if not candidates:
            break
        members = by_point[candidates[int(rng.integers(len(candidates)))]]
        size = min(int(rng.integers(2, 5)), len(members))
        browser = _hash(rng)
        for _ in range(size):
            out.iat[members.pop(), column] = browser
        shared.append(browser)
    return out, BrowserPlants(None, (), tuple(shared))


def plant_browser_farm(
    frame: pd.DataFrame, *, responses: int, seed: int, alike: float = 0.9, item_columns: list[str] | None = None
) -> tuple[pd.DataFrame, BrowserPlants]:
    """Add ``responses`` rows from one browser at random points, their answers alike.

    Parameters
    ----------
    frame : DataFrame
        A responses table of the contract with ``browser_hash``.
    responses : int
        Rows the farm adds (≥ 1).
    seed : int
    alike : float
        Probability that an answer is the template's (else the copied row's own).
    item_columns : list of str, optional
        The item columns (default: columns with a dot in their name, ``domain.item``).

    Returns
    -------
    (DataFrame, BrowserPlants)
    """
    if responses < 1:
        raise ValueError(f"a browser farm needs at least one response, got {responses!r}")
    if not 0 <= alike <= 1:
        raise ValueError(f"alike must be a probability in [0, 1], got {alike!r}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 15, 4]))
    rows = _submitted_at_point(frame)
    copies = frame.iloc[rng.choice(rows, size=responses, replace=True)].copy()
    items = item_columns or [c for c in frame.columns if "." in c]
    template = frame.iloc[int(rng.choice(rows))][items]
    keep = rng.random((responses, len(items))) < alike
    answers = copies[items].to_numpy(dtype=object)
    template_values = template.to_numpy(dtype=object)
    answered = pd.notna(answers)
    use = keep & answered & pd.notna(template_values)[None, :]
    answers = np.where(use, np.broadcast_to(template_values, answers.shape), answers)
    copies[items] = pd.DataFrame(answers, index=copies.index, columns=items).astype(frame[items].dtypes.to_dict())
    browser = _hash(rng)
    copies["browser_hash"] = browser
    if "response_id" in copies.columns:
        copies["response_id"] = [f"farm-{seed}-{k}" for k in range(responses)]
    ids = tuple(str(v) for v in copies["response_id"]) if "response_id" in copies.columns else ()
    return pd.concat([frame, copies], ignore_index=True), BrowserPlants(browser, ids, ())
