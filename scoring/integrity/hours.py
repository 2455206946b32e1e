"""The time-of-day profile of a collection point, day against day (``hour_profile``).

A point where residents answer when they pass by keeps the hours of its kind of point (a
school gate at drop-off and pick-up, a market in the morning) **every day**.  Responses
entered by one person in a back room, or a farm working through a list, come in a session
at hours of their own, on some days.  Each tested point's submissions are counted in a
table of its collection days × :data:`HOUR_BLOCKS` blocks of the day (Beijing time), and
Pearson's X² of that table is compared with its permutation distribution: the blocks are
shuffled among the point's own submissions, which keeps the point's hours and its days as
they are (an exact conditional test of "the same hours every day"; Monte Carlo,
``p = (1 + #{X²* ≥ X²})/(1 + R)``, replicates added while p stays small, as for addresses).

Why not against the town's other points: points of different kinds keep different hours by
design (a park in the evening, a hospital in office hours), and a kind of point may have
no peer in a town or even in a wave — a comparison between points flags the parks, not
the farms (measured: 20% of clean simulated waves had a false point that way).  A point's
own days are its fairest reference.  Assumption: a point's hours do not change from day to
day (weekdays and weekends alike); a point open only on some days at other hours can be
flagged, and the office then records why it keeps it.  A whole wave entered at odd hours
every day is the business of ``night`` and of the answer checks.
"""

from __future__ import annotations

import numpy as np

from .inputs import IntegrityInputs

__all__ = ["HOUR_BLOCKS", "MAX_REPLICATES", "hour_profile_check"]

#: Blocks of the day (4 hours each: 0–4, 4–8, … 20–24 Beijing time).
HOUR_BLOCKS = 6
#: Most permutation replicates per point (the smallest p-value is 1/(1 + this)).
MAX_REPLICATES = 19_999
FIRST_REPLICATES = 199
REPLICATE_BATCH = 2_000
#: Draws stop once this many replicates reach the observed X² (clearly ordinary).
FUTILITY_EXCEEDANCES = 10


def _x2(cells: np.ndarray, n_cells: int, days: int, counts_shape: tuple[int, int]) -> np.ndarray:
    """X² of a days × blocks table per replicate (``cells``: replicates × rows of cell codes)."""
    replicates = cells.shape[0]
    offsets = (np.arange(replicates) * n_cells)[:, None]
    table = np.bincount((cells + offsets).ravel(), minlength=replicates * n_cells).reshape(replicates, *counts_shape)
    n = table[0].sum()
    rows = table.sum(axis=2, keepdims=True)
    columns = table.sum(axis=1, keepdims=True)
    expected = rows * columns / n
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(expected > 0, (table - expected) ** 2 / expected, 0.0)
    return np.asarray(terms.sum(axis=(1, 2)))


def hour_profile_check(
    inputs: IntegrityInputs, rows: np.ndarray, tested: np.ndarray, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: the share of submissions on its most unusual day's hours, the usual share, p.

    Parameters
    ----------
    inputs : IntegrityInputs
    rows : ndarray of int
        The submitted rows at a point.
    tested : ndarray of bool
        Per point, whether it is tested.
    seed : int
        Seed of the permutations (the same data and seed give the same p-values).

    Returns
    -------
    (statistic, reference, p_value) : ndarray, ndarray, ndarray
        ``statistic``: the share of the point's submissions that fall, on their day, in
        blocks of the day the point's other days rarely use (expected < 1 in the table);
        ``reference``: the same share expected under the permutation null (its mean);
        NaN for untested points and points seen on one day only.
    """
    n_points = inputs.n_points
    timed = rows[np.isfinite(inputs.local_seconds[rows])]
    point = inputs.point[timed]
    seconds = inputs.local_seconds[timed]
    block = np.clip(np.floor((seconds % 86400.0) / (86400.0 / HOUR_BLOCKS)).astype(np.int64), 0, HOUR_BLOCKS - 1)
    day = np.floor(seconds / 86400.0).astype(np.int64)
    order = np.argsort(point, kind="stable")
    starts = np.searchsorted(point[order], np.arange(n_points + 1))
    statistic = np.full(n_points, np.nan)
    reference = np.full(n_points, np.nan)
    p = np.full(n_points, np.nan)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 15, 5]))
    for k in np.flatnonzero(tested):
        members = order[starts[k] : starts[k + 1]]
        if members.size < 2:
            continue
        days = np.unique(day[members], return_inverse=True)[1]
        n_days = int(days.max()) + 1
        blocks = block[members]
        if n_days < 2 or np.unique(blocks).size < 2:
            continue
        shape = (n_days, HOUR_BLOCKS)
        n_cells = n_days * HOUR_BLOCKS
        observed = float(_x2((days * HOUR_BLOCKS + blocks)[None, :], n_cells, n_days, shape)[0])
        exceed, drawn = 0, 0
        batch = FIRST_REPLICATES
        while drawn < MAX_REPLICATES:
            count = min(batch, MAX_REPLICATES - drawn)
            shuffled = rng.permuted(np.broadcast_to(blocks, (count, blocks.size)), axis=1)
            null = _x2(days[None, :] * HOUR_BLOCKS + shuffled, n_cells, n_days, shape)
            exceed += int((null >= observed - 1e-9).sum())
            drawn += count
            if exceed >= FUTILITY_EXCEEDANCES:
                break
            batch = REPLICATE_BATCH
        p[k] = (1 + exceed) / (1 + drawn)
        # In words: submissions made at hours the point's other days hardly use.
        table = np.zeros(shape)
        np.add.at(table, (days, blocks), 1.0)
        n = table.sum()
        day_totals = table.sum(axis=1, keepdims=True)
        other = table.sum(axis=0, keepdims=True) - table  # the point's other days, per block
        other_share = other / np.maximum(n - day_totals, 1.0)
        rare = other_share < 1.0 / (2 * HOUR_BLOCKS)
        statistic[k] = float(table[rare].sum() / n)
        reference[k] = float((day_totals * other_share)[rare].sum() / n)
    return statistic, reference, p
