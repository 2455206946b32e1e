"""The time-of-day profile of a collection point against comparable points (``hour_profile``).

A point where residents answer when they pass by has the hours of its kind of point (a
school gate at drop-off and pick-up, a market in the morning, a service hall in office
hours).  Responses entered by one person in a back room, or a farm working through a list,
have hours of their own.  Each tested point's submissions are counted in
:data:`HOUR_BLOCKS` blocks of the day (Beijing time) and compared with the pooled profile
of the :data:`NEIGHBOURS` (4) **other points whose hours are most like its own** (nearest by
X²; a school gate is compared with school gates, a park with parks and sports grounds —
whatever the point's declared kind): Pearson's X² over the blocks, the reference profile
pooled from those points with half a submission added per block.  A point is thus unusual
only when no comparable point keeps hours like it (a farm at 2 a.m., one person entering
responses all evening).

Points of one kind still differ in their hours (opening times, a shift), so X² is divided
by a heterogeneity factor estimated across the points, ``φ = median(X²/df) / median(χ²_df)/df``
(at least 1; the quasi-likelihood dispersion of McCullagh & Nelder, robust to a few
unusual points), and ``p = P(χ²_df ≥ X²/φ)``.  Only keyed hashes and times are read;
the statistic in words is the share of the point's submissions in blocks where comparable
points have few (the hours that make the difference).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _stats

from .inputs import IntegrityInputs

__all__ = ["HOUR_BLOCKS", "hour_profile_check"]

#: Blocks of the day (4 hours each: 0–4, 4–8, … 20–24 Beijing time).
HOUR_BLOCKS = 6
#: The reference of a point: the pooled hours of this many other points most like it.
NEIGHBOURS = 4


def hour_profile_check(
    inputs: IntegrityInputs, rows: np.ndarray, tested: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: the share of its submissions in unusual hours, the share comparable points give, p.

    Parameters
    ----------
    inputs : IntegrityInputs
    rows : ndarray of int
        The submitted rows at a point.
    tested : ndarray of bool
        Per point, whether it is tested.

    Returns
    -------
    (statistic, reference, p_value) : ndarray, ndarray, ndarray
        NaN for untested points.
    """
    n_points = inputs.n_points
    timed = rows[np.isfinite(inputs.local_seconds[rows])]
    point = inputs.point[timed]
    block = np.floor((inputs.local_seconds[timed] % 86400.0) / (86400.0 / HOUR_BLOCKS)).astype(np.int64)
    block = np.clip(block, 0, HOUR_BLOCKS - 1)
    counts = np.zeros((n_points, HOUR_BLOCKS))
    np.add.at(counts, (point, block), 1.0)
    statistic = np.full(n_points, np.nan)
    reference = np.full(n_points, np.nan)
    x2 = np.full(n_points, np.nan)
    df = np.full(n_points, np.nan)
    usable = tested & (counts.sum(axis=1) > 0)
    smoothed = (counts + 0.5) / (counts + 0.5).sum(axis=1, keepdims=True)
    for k in np.flatnonzero(usable):
        candidates = np.flatnonzero(usable & (np.arange(n_points) != k))
        if candidates.size < NEIGHBOURS:
            continue
        # The points whose hours are most like this point's own (X² of its counts against each).
        n = counts[k].sum()
        distance = (((counts[k][None, :] - n * smoothed[candidates]) ** 2) / (n * smoothed[candidates])).sum(axis=1)
        others = candidates[np.argsort(distance, kind="stable")[:NEIGHBOURS]]
        pooled = counts[others].sum(axis=0) + 0.5
        profile = pooled / pooled.sum()
        expected = n * profile
        x2[k] = float(((counts[k] - expected) ** 2 / expected).sum())
        df[k] = HOUR_BLOCKS - 1
        rare = profile < 1.0 / (2 * HOUR_BLOCKS)
        statistic[k] = counts[k][rare].sum() / n
        reference[k] = profile[rare].sum()
    p = np.full(n_points, np.nan)
    done = np.isfinite(x2)
    if done.sum() >= 4:
        ratio = np.median(x2[done] / df[done]) / (_stats.chi2.median(HOUR_BLOCKS - 1) / (HOUR_BLOCKS - 1))
        phi = max(1.0, float(ratio))
        p[done] = _stats.chi2.sf(x2[done] / phi, df[done])
    return statistic, reference, p
