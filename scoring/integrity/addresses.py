"""Wave-level checks of network addresses: one address, many points, alike responses.

A bot farm rotates a few addresses across many points, with a fresh browser each time and
at a plausible pace, so no point and no hour looks unusual.  What gives it away is the
*address* across the whole wave: the responses from one address are far more alike —
in their answers and in their answering times — than responses from the same points are.

Only the keyed hash of an address is read (``ip_hash``); nothing here can tell an address
itself.  An address is **tested** when it sent at least ``min_responses`` submitted
responses at two or more points (a point's public Wi-Fi is one address for everyone there,
which the point-level checks already cover).

``similar_answers``
    The share of item pairs answered alike, over every pair of the address's responses
    and every item both answered.  Its null distribution comes from Monte Carlo: each of
    the address's responses is replaced by a random submitted response **of the same
    point**, so that point effects (and a point's focus domain) are part of the null.
    ``p = (1 + #{replicates ≥ observed}) / (1 + replicates)``; replicates are added (up to
    ``max_replicates``) only while the p-value stays small.
``similar_durations``
    The spread of the answering times (log seconds after the number of items answered,
    the residuals of one regression over the wave) against the wave's robust spread
    (1.4826 × MAD): ``P(χ²_{n−1} ≤ SS/σ²)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .inputs import IntegrityInputs
from .stats import MAD_NORMAL, small_variance

__all__ = ["ADDRESS_CHECKS", "AddressChecks", "duration_residuals", "run_address_checks"]

ADDRESS_CHECKS: Mapping[str, str] = MappingProxyType(
    {
        "similar_answers": "share of item pairs answered alike among one address's responses, against random "
        "responses of the same points",
        "similar_durations": "spread of one address's answering times against the wave's",
    }
)
FIRST_REPLICATES = 199
REPLICATE_BATCH = 1000
#: Monte Carlo stops once this many replicates reach the observed agreement (the p-value is
#: then at least 10/replicates, far from a discovery) — the futility rule of sequential
#: Monte Carlo tests (Besag & Clifford 1991).
FUTILITY_EXCEEDANCES = 10


@dataclass(frozen=True, eq=False)
class AddressChecks:
    """The tested addresses (codes into ``inputs.address_codes``) and each check's outcome."""

    addresses: np.ndarray = field(repr=False)
    responses: np.ndarray = field(repr=False)
    points: np.ndarray = field(repr=False)
    towns: np.ndarray = field(repr=False)
    statistics: Mapping[str, np.ndarray] = field(repr=False)
    references: Mapping[str, np.ndarray] = field(repr=False)
    p_values: Mapping[str, np.ndarray] = field(repr=False)
    replicates: np.ndarray = field(repr=False)
    not_run: Mapping[str, str] = field(default_factory=dict)


def duration_residuals(inputs: IntegrityInputs, rows: np.ndarray) -> np.ndarray:
    """Log answering time after the number of items answered (NaN without a time)."""
    duration = inputs.duration[rows]
    usable = np.isfinite(duration) & (duration > 0)
    residual = np.full(rows.size, np.nan)
    if usable.sum() < 3:
        return residual
    log_duration = np.log(duration[usable])
    items = np.log1p((inputs.answers[rows[usable]] > 0).sum(axis=1))
    design = np.column_stack([np.ones(items.size), items])
    coefficients, *_ = np.linalg.lstsq(design, log_duration, rcond=None)
    residual[usable] = log_duration - design @ coefficients
    return residual


def _agreement(groups: np.ndarray, max_code: int) -> np.ndarray:
    """Share of item pairs answered alike, per group (groups: replicates × members × items)."""
    agree = np.zeros(groups.shape[0])
    for code in range(1, max_code + 1):
        count = (groups == code).sum(axis=1, dtype=np.int64)
        agree += (count * (count - 1) // 2).sum(axis=1)
    answered = (groups > 0).sum(axis=1, dtype=np.int64)
    pairs = (answered * (answered - 1) // 2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, agree / pairs, np.nan)


def run_address_checks(
    inputs: IntegrityInputs,
    *,
    min_responses: int,
    max_replicates: int,
    seed: int,
) -> AddressChecks:
    """Test every address with ``min_responses`` or more submitted responses at two or more points.

    Parameters
    ----------
    inputs : IntegrityInputs
    min_responses : int
    max_replicates : int
        Most Monte Carlo replicates for one address; the smallest p-value is
        ``1/(1 + max_replicates)``.  Draws stop early once ten replicates reach the
        observed agreement.
    seed : int
        Seed of the Monte Carlo draws (the same data and seed give the same p-values).
    """
    empty = np.zeros(0, dtype=np.int64)
    if "ip_hash" not in inputs.present:
        reason = "the responses have no 'ip_hash' column"
        return AddressChecks(empty, empty, empty, empty, {}, {}, {}, empty, {c: reason for c in ADDRESS_CHECKS})
    rows = np.flatnonzero(inputs.submitted & (inputs.point >= 0) & (inputs.address >= 0))
    address = inputs.address[rows]
    n_addresses = len(inputs.address_codes)
    responses = np.bincount(address, minlength=n_addresses)
    pairs = np.unique(np.stack([address, inputs.point[rows]]), axis=1)
    points = np.bincount(pairs[0], minlength=n_addresses)
    town_pairs = np.unique(np.stack([address, inputs.point_town[inputs.point[rows]]]), axis=1)
    towns = np.bincount(town_pairs[0], minlength=n_addresses)
    tested = np.flatnonzero((responses >= min_responses) & (points >= 2))
    if tested.size == 0:
        reason = f"no address sent {min_responses} or more responses at two or more points"
        return AddressChecks(empty, empty, empty, empty, {}, {}, {}, empty, {c: reason for c in ADDRESS_CHECKS})

    order = np.argsort(address, kind="stable")
    starts = np.searchsorted(address[order], np.arange(n_addresses + 1))
    members = [rows[order[starts[a] : starts[a + 1]]] for a in tested]

    # Rows of each point, for the null draws.
    point_rows = np.flatnonzero(inputs.submitted & (inputs.point >= 0))
    point_order = point_rows[np.argsort(inputs.point[point_rows], kind="stable")]
    point_starts = np.searchsorted(inputs.point[point_order], np.arange(inputs.n_points + 1))
    max_code = int(inputs.scale.max()) if inputs.scale.size else 5
    rng = np.random.default_rng(np.random.SeedSequence([seed, 15]))

    agreement = np.full(tested.size, np.nan)
    usual = np.full(tested.size, np.nan)
    p_answers = np.full(tested.size, np.nan)
    replicates = np.zeros(tested.size, dtype=np.int64)
    for k, group in enumerate(members):
        observed = float(_agreement(inputs.answers[group][None, :, :], max_code)[0])
        if not np.isfinite(observed):
            continue
        agreement[k] = observed
        member_points = inputs.point[group]
        low, size = point_starts[member_points], point_starts[member_points + 1] - point_starts[member_points]
        exceed, drawn, null_sum = 0, 0, 0.0
        batch = FIRST_REPLICATES
        while drawn < max_replicates:
            count = min(batch, max_replicates - drawn)
            picks = point_order[low[None, :] + np.floor(rng.random((count, group.size)) * size[None, :]).astype(int)]
            null = _agreement(inputs.answers[picks], max_code)
            exceed += int((null >= observed).sum())
            null_sum += float(np.nansum(null))
            drawn += count
            if exceed >= FUTILITY_EXCEEDANCES:  # clearly ordinary: more draws would not change that
                break
            batch = REPLICATE_BATCH
        agreement[k], usual[k] = observed, null_sum / drawn
        p_answers[k] = (1 + exceed) / (1 + drawn)
        replicates[k] = drawn

    residual_rows = np.flatnonzero(inputs.submitted & (inputs.point >= 0))
    residual = np.full(inputs.n, np.nan)
    residual[residual_rows] = duration_residuals(inputs, residual_rows)
    finite = residual[np.isfinite(residual)]
    sigma = MAD_NORMAL * float(np.median(np.abs(finite - np.median(finite)))) if finite.size >= 3 else float("nan")
    spread = np.full(tested.size, np.nan)
    p_durations = np.full(tested.size, np.nan)
    for k, group in enumerate(members):
        values = residual[group]
        values = values[np.isfinite(values)]
        if values.size < 3 or not np.isfinite(sigma) or sigma <= 0:
            continue
        sum_of_squares = float(((values - values.mean()) ** 2).sum())
        spread[k] = np.expm1(np.sqrt(sum_of_squares / (values.size - 1)))
        p_durations[k] = small_variance(sum_of_squares, values.size - 1, sigma**2)
    not_run: dict[str, str] = {}
    if not np.isfinite(p_durations).any():
        not_run["similar_durations"] = "no answering times ('duration_s') to compare"
    return AddressChecks(
        addresses=tested,
        responses=responses[tested],
        points=points[tested],
        towns=towns[tested],
        statistics={"similar_answers": agreement, "similar_durations": spread},
        references={
            "similar_answers": usual,
            "similar_durations": np.full(tested.size, np.expm1(sigma) if np.isfinite(sigma) else np.nan),
        },
        p_values={"similar_answers": p_answers, "similar_durations": p_durations},
        replicates=replicates,
        not_run=not_run,
    )
