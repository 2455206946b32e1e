"""Wave-level checks of browsers: one browser, more completions than a household, alike answers.

The collection side lets one phone submit for up to :data:`HOUSEHOLD_ALLOWANCE` (4)
members of a family; a browser that completes far more — or whose completions are far more
alike than residents of the same points — is a farm reusing a browser, or one person
answering for many.  Only the keyed hash of the browser-id cookie is read (``browser_hash``);
nothing here can tell a person or a device.  A browser is **tested** when it submitted at
least :data:`MIN_BROWSER_RESPONSES` (3) responses (one or two is what families do every day).

``browser_completions``
    The number of submitted responses of the browser.  Null: a household browser's extra
    completions (beyond its first) are Poisson with mean :data:`HOUSEHOLD_EXTRA` (1 — one
    further family member on average, a generous figure: most browsers submit once), so
    ``p = P(N ≥ n)`` with ``N − 1 ~ Poisson(1)``; a family of
    four gives ``p ≈ 0.08`` (never a discovery), ten completions ``p ≈ 10⁻⁶``.
``browser_answers``
    As for addresses (:mod:`.addresses`): the share of item pairs answered alike among the
    browser's responses, against Monte Carlo draws of random submitted responses **of the same
    points** (the browser's responses away from a point are drawn from the wave's responses
    without a point).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy import stats as _stats

from ..vocabulary import HOUSEHOLD_SIZE
from .addresses import FIRST_REPLICATES, FUTILITY_EXCEEDANCES, REPLICATE_BATCH, _agreement
from .inputs import IntegrityInputs

__all__ = [
    "BROWSER_CHECKS",
    "HOUSEHOLD_ALLOWANCE",
    "HOUSEHOLD_EXTRA",
    "MIN_BROWSER_RESPONSES",
    "BrowserChecks",
    "run_browser_checks",
]

BROWSER_CHECKS: Mapping[str, str] = MappingProxyType(
    {
        "browser_completions": "completions from one browser, against a household's (up to 4 family members per phone)",
        "browser_answers": "share of item pairs answered alike among one browser's responses, against random "
        "responses of the same points",
    }
)
#: Family members one phone may answer for at collection (survey/respond).
HOUSEHOLD_ALLOWANCE = HOUSEHOLD_SIZE
#: Mean extra completions of a household browser under the null (Poisson).
HOUSEHOLD_EXTRA = 1.0
#: A browser with fewer submitted responses is not tested.
MIN_BROWSER_RESPONSES = 3


@dataclass(frozen=True, eq=False)
class BrowserChecks:
    """The tested browsers (codes into ``inputs.browser_codes``) and each check's outcome."""

    browsers: np.ndarray = field(repr=False)
    responses: np.ndarray = field(repr=False)
    points: np.ndarray = field(repr=False)
    statistics: Mapping[str, np.ndarray] = field(repr=False)
    references: Mapping[str, np.ndarray] = field(repr=False)
    p_values: Mapping[str, np.ndarray] = field(repr=False)
    not_run: Mapping[str, str] = field(default_factory=dict)


def completions_tail(n: np.ndarray) -> np.ndarray:
    """``P(N ≥ n)`` for ``N − 1 ~ Poisson(HOUSEHOLD_EXTRA)``: a browser's completions under the null."""
    n = np.asarray(n, dtype=float)
    return np.asarray(np.where(n <= 1, 1.0, _stats.poisson.sf(n - 2, HOUSEHOLD_EXTRA)))


def run_browser_checks(inputs: IntegrityInputs, *, max_replicates: int, seed: int) -> BrowserChecks:
    """Test every browser with :data:`MIN_BROWSER_RESPONSES` or more submitted responses.

    Parameters
    ----------
    inputs : IntegrityInputs
    max_replicates : int
        Most Monte Carlo replicates of one browser's answer test.
    seed : int
        Seed of those replicates (the same data and seed give the same p-values).

    Returns
    -------
    BrowserChecks
    """
    empty = np.zeros(0, dtype=np.int64)
    if "browser_hash" not in inputs.present:
        reason = "the responses have no 'browser_hash' column"
        return BrowserChecks(empty, empty, empty, {}, {}, {}, {c: reason for c in BROWSER_CHECKS})
    rows = np.flatnonzero(inputs.submitted & (inputs.browser >= 0))
    browser = inputs.browser[rows]
    n_browsers = len(inputs.browser_codes)
    responses = np.bincount(browser, minlength=n_browsers)
    tested = np.flatnonzero(responses >= MIN_BROWSER_RESPONSES)
    if tested.size == 0:
        reason = f"no browser submitted {MIN_BROWSER_RESPONSES} or more responses"
        return BrowserChecks(empty, empty, empty, {}, {}, {}, {c: reason for c in BROWSER_CHECKS})
    point_of_row = inputs.point[rows]
    pairs = np.unique(np.stack([browser, point_of_row]), axis=1)
    points = np.bincount(pairs[0][pairs[1] >= 0], minlength=n_browsers)

    order = np.argsort(browser, kind="stable")
    starts = np.searchsorted(browser[order], np.arange(n_browsers + 1))
    members = [rows[order[starts[b] : starts[b + 1]]] for b in tested]

    # Null draws: rows of the same point (point −1: the wave's rows away from a point).
    pool = np.flatnonzero(inputs.submitted)
    slot = inputs.point[pool] + 1
    pool_order = pool[np.argsort(slot, kind="stable")]
    pool_starts = np.searchsorted(np.sort(slot), np.arange(inputs.n_points + 2))
    max_code = int(inputs.scale.max()) if inputs.scale.size else 5
    rng = np.random.default_rng(np.random.SeedSequence([seed, 15, 2]))

    agreement = np.full(tested.size, np.nan)
    usual = np.full(tested.size, np.nan)
    p_answers = np.full(tested.size, np.nan)
    for k, group in enumerate(members):
        observed = float(_agreement(inputs.answers[group][None, :, :], max_code)[0])
        if not np.isfinite(observed):
            continue
        member_slots = inputs.point[group] + 1
        low = pool_starts[member_slots]
        size = pool_starts[member_slots + 1] - low
        exceed, drawn, null_sum = 0, 0, 0.0
        batch = FIRST_REPLICATES
        while drawn < max_replicates:
            count = min(batch, max_replicates - drawn)
            picks = pool_order[low[None, :] + np.floor(rng.random((count, group.size)) * size[None, :]).astype(int)]
            null = _agreement(inputs.answers[picks], max_code)
            exceed += int((null >= observed).sum())
            null_sum += float(np.nansum(null))
            drawn += count
            if exceed >= FUTILITY_EXCEEDANCES:
                break
            batch = REPLICATE_BATCH
        agreement[k], usual[k] = observed, null_sum / drawn
        p_answers[k] = (1 + exceed) / (1 + drawn)

    counts = responses[tested]
    return BrowserChecks(
        browsers=tested,
        responses=counts,
        points=points[tested],
        statistics={"browser_completions": counts.astype(float), "browser_answers": agreement},
        references={"browser_completions": np.full(tested.size, float(HOUSEHOLD_ALLOWANCE)), "browser_answers": usual},
        p_values={"browser_completions": completions_tail(counts), "browser_answers": p_answers},
    )
