"""The tests behind the integrity checks: an outlier test for a point effect, exact
binomial and burst tail bounds, a chi-square test of alike durations, and the
Benjamini–Hochberg step-up procedure.

Every function is pure numpy/scipy over arrays, with one p-value per unit (a point, an
address), so that :mod:`scoring.integrity.points` and :mod:`scoring.integrity.addresses`
read as the statistics they compute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats as _stats

__all__ = [
    "OutlierTest",
    "benjamini_hochberg",
    "binomial_excess",
    "burst_tail",
    "count_outlier_test",
    "max_in_window",
    "outlier_test",
    "robust_tau2",
    "small_variance",
    "spread_scale",
]

#: Normal consistency factor of the MAD.
MAD_NORMAL = 1.4826
#: Units further than this (in standardised deviations) do not enter the estimate of τ² …
TRIM_Z = 3.0
#: … whose estimating equation is corrected for the trimming: Var(Z | |Z| ≤ 3), Z ~ N(0, 1).
TRIMMED_VARIANCE = float(1.0 - 2 * TRIM_Z * _stats.norm.pdf(TRIM_Z) / (2 * _stats.norm.cdf(TRIM_Z) - 1))


@dataclass(frozen=True, eq=False)
class OutlierTest:
    """The outlier test of one statistic across units (see :func:`outlier_test`).

    Attributes
    ----------
    z : ndarray
        Standardised deviation of each unit from the centre: ``(r − μ̃)/√(τ² + v)``.
    p_value : ndarray
        One-sided p-value in the tested direction (NaN for untested units).
    centre : float
        The robust centre μ̃ (median of the units' values).
    tau2 : float
        The robust estimate of the between-unit variance τ² (the point effect).
    df : float
        Degrees of freedom of the t reference.
    """

    z: np.ndarray
    p_value: np.ndarray
    centre: float
    tau2: float
    df: float


def _robust_scale(values: np.ndarray) -> float:
    """The MAD of ``values`` about their median, scaled to a normal SD."""
    return float(MAD_NORMAL * np.median(np.abs(values - np.median(values))))


def _solve_tau2(scale: Callable[[float], float], ceiling: float) -> float:
    """The smallest τ² ≥ 0 at which ``scale(τ²)`` (decreasing in τ²) is at most 1 (bisection)."""
    if scale(0.0) <= 1.0:
        return 0.0
    high = max(ceiling, 1e-12)
    while scale(high) > 1.0:
        high *= 4.0
    low = 0.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        if scale(middle) > 1.0:
            low = middle
        else:
            high = middle
    return high


def _trimmed_scale(d: np.ndarray, v: np.ndarray, w: np.ndarray) -> Callable[[float], float]:
    """τ² ↦ the RMS of the standardised deviations, relative to that of a normal trimmed at ±3."""
    return lambda t: float(np.sqrt(np.mean(d**2 / (v + t * w)) / TRIMMED_VARIANCE))


def robust_tau2(deviation: np.ndarray, variances: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, int]:
    """Robust estimate of the between-unit variance τ² and the number of units it rests on.

    The standardised deviations are ``z = d/√(v + τ² w)`` (``w`` = 1: an additive effect;
    ``w`` = E²: a multiplicative one on a count).  τ² is first the smallest value at which
    the ``z`` have a MAD-scale of 1, then — twice — the value at which the units with
    ``|z| ≤ 3`` have ``mean z² = Var(Z | |Z| ≤ 3) = 0.973``: a trimmed moment estimate,
    robust to a few extreme units and nearly as efficient as the untrimmed one.
    """
    d = np.asarray(deviation, dtype=float)
    v = np.asarray(variances, dtype=float)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float)
    ceiling = float(np.mean(d**2 / np.maximum(w, 1e-12)))
    tau2 = _solve_tau2(lambda t: _robust_scale(d / np.sqrt(v + t * w)), ceiling)
    inside = np.ones(d.size, dtype=bool)
    for _ in range(2):
        inside = np.abs(d / np.sqrt(v + tau2 * w)) <= TRIM_Z
        if inside.sum() < 4:
            break
        tau2 = _solve_tau2(_trimmed_scale(d[inside], v[inside], w[inside]), ceiling)
    return tau2, int(inside.sum())


def outlier_test(values: np.ndarray, variances: np.ndarray, *, tail: str = "upper") -> OutlierTest:
    """Which units lie further from the others than sampling and the unit effect explain.

    The random-effects model of a meta-analysis, one unit (collection point) per "study":
    ``r_p = μ + u_p + e_p`` with ``u_p ~ N(0, τ²)`` the point effect every point has
    (its service, staff, catchment) and ``e_p ~ N(0, v_p)`` the sampling error of its
    respondents.  μ and τ² are estimated **robustly**, so that a few extreme points cannot
    hide themselves by widening τ²: μ̃ is the median of the ``r_p``; τ² is first the
    smallest value for which the standardised deviations ``z_p = (r_p − μ̃)/√(τ² + v_p)``
    have a MAD-scale of 1, then (twice) the value for which the points with ``|z_p| ≤ 3``
    have ``mean z² = Var(Z | |Z| ≤ 3) = 0.973`` — a trimmed moment estimate, nearly as
    efficient as the untrimmed one.  ``z_p`` is referred to a t distribution with the
    number of points inside the trimming less 2 degrees of freedom, for the uncertainty
    of the estimated τ².

    Parameters
    ----------
    values : ndarray
        ``r_p`` per unit.
    variances : ndarray
        ``v_p`` per unit (sampling variance of ``r_p``), positive.
    tail : {"upper", "lower"}
        The direction that is suspicious (unusually positive / unusually uniform).

    Returns
    -------
    OutlierTest

    References
    ----------
    Viechtbauer, W. & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for
    meta-analysis. *Research Synthesis Methods* 1, 112–125.
    Rousseeuw, P. J. & Croux, C. (1993). Alternatives to the median absolute deviation.
    *JASA* 88, 1273–1283.
    """
    if tail not in ("upper", "lower"):
        raise ValueError(f"tail must be 'upper' or 'lower', got {tail!r}")
    values = np.asarray(values, dtype=float)
    variances = np.asarray(variances, dtype=float)
    usable = np.isfinite(values) & np.isfinite(variances) & (variances > 0)
    z = np.full(values.size, np.nan)
    p = np.full(values.size, np.nan)
    if usable.sum() < 4:
        return OutlierTest(z, p, float("nan"), float("nan"), float("nan"))
    r, v = values[usable], variances[usable]
    centre = float(np.median(r))
    deviation = r - centre

    tau2, inside = robust_tau2(deviation, v)
    df = max(2.0, inside - 2.0)
    z[usable] = deviation / np.sqrt(tau2 + v)
    p[usable] = _stats.t.sf(z[usable], df) if tail == "upper" else _stats.t.cdf(z[usable], df)
    return OutlierTest(z, p, centre, tau2, df)


def count_outlier_test(observed: np.ndarray, expected: np.ndarray) -> OutlierTest:
    """Which units have more events than expected, beyond a multiplicative unit effect.

    ``O_p | u_p ~ Poisson(c E_p u_p)`` with ``u_p ~ Gamma(1, φ)``: the count is negative
    binomial with mean ``c E_p`` and variance ``c E_p + φ c² E_p²`` (overdispersion as in
    funnel plots of institutional performance).  ``c = ΣO/ΣE`` over the units, φ by
    :func:`robust_tau2` on the Pearson residuals with ``w = (c E)²``.  The p-value is the
    exact upper tail ``P(X ≥ O_p)`` of that negative binomial — exact for small counts,
    where a normal approximation of a rare event is anti-conservative.

    Parameters
    ----------
    observed, expected : ndarray
        Events and expected events per unit (NaN: not tested).

    References
    ----------
    Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
    *Statistics in Medicine* 24, 1185–1202.
    """
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected, dtype=float)
    usable = np.isfinite(observed) & np.isfinite(expected) & (expected > 0)
    z = np.full(observed.size, np.nan)
    p = np.full(observed.size, np.nan)
    if usable.sum() < 4:
        return OutlierTest(z, p, float("nan"), float("nan"), float("nan"))
    o, e = observed[usable], expected[usable]
    scale = float(o.sum() / e.sum()) if o.sum() > 0 else 1.0
    mean = scale * e
    phi, inside = robust_tau2(o - mean, mean, mean**2)
    z[usable] = (o - mean) / np.sqrt(mean + phi * mean**2)
    if phi > 0:
        size = 1.0 / phi
        tail = _stats.nbinom.sf(o - 1, size, size / (size + mean))
    else:
        tail = _stats.poisson.sf(o - 1, mean)
    p[usable] = np.where(o > 0, tail, 1.0)
    return OutlierTest(z, p, scale, phi, float(max(2, inside - 2)))


def spread_scale(sum_of_squares: np.ndarray, n: np.ndarray, kurtosis: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample variances on the Wilson–Hilferty scale, with their sampling variances.

    ``y = (s² / (1 − 2/(9k)))^{1/3}`` with ``k = n − 1`` is close to normal for a sample
    variance — unlike ``log s``, whose lower tail is long for small samples (the tail
    that says "unusually uniform").  Its sampling variance is ``ȳ² · 2/(9k) · (κ − 1)/2``
    (κ the kurtosis of the values; 2/(9k) for normal data), with ``ȳ`` the median of the
    ``y`` — a point effect on the variance is then a shift of ``y``.

    Returns
    -------
    (y, variance) : ndarray, ndarray
        NaN where ``n < 3``.

    References
    ----------
    Wilson, E. B. & Hilferty, M. M. (1931). The distribution of chi-square. *PNAS* 17,
    684–688.
    """
    n = np.asarray(n, dtype=float)
    k = n - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = 2.0 / (9.0 * k)
        y = np.cbrt(sum_of_squares / k / (1.0 - factor))
    y = np.where(n >= 3, y, np.nan)
    centre = float(np.nanmedian(y)) if np.isfinite(y).any() else float("nan")
    variance = centre**2 * factor * max(kurtosis - 1.0, 0.5) / 2.0
    return y, np.where(n >= 3, variance, np.nan)


def binomial_excess(count: np.ndarray, n: np.ndarray, rate: np.ndarray | float) -> np.ndarray:
    """Exact one-sided p-value ``P(X ≥ count)`` for ``X ~ Binomial(n, rate)``."""
    count = np.asarray(count)
    return np.where(count > 0, _stats.binom.sf(count - 1, n, rate), 1.0)


def max_in_window(times: np.ndarray, window: float) -> int:
    """The most events in any half-open window ``[t, t + window)`` (times in seconds)."""
    if times.size == 0:
        return 0
    ordered = np.sort(times)
    ends = np.searchsorted(ordered, ordered + window, side="left")
    return int((ends - np.arange(ordered.size)).max())


def burst_tail(time_of_day: np.ndarray, days: int, burst: int, window: float) -> float:
    """Upper bound on ``P(max window count ≥ burst)`` when the days are redrawn at random.

    The null: each submission keeps its time of day (a school gate is busy at 7:30 every
    day) while its day is uniform over the ``days`` the point collected.  The busiest
    window starts at some submission *i*; every other submission whose time of day falls
    in ``[h_i, h_i + window)`` (around midnight too) joins it with probability ``1/days``,
    independently.  By the union bound over *i*,

        p ≤ Σ_i P(1 + Binomial(m_i − 1, 1/days) ≥ burst),

    with ``m_i`` the submissions whose time of day falls in the window starting at ``h_i``.
    Valid (conservative) whatever the time-of-day profile.
    """
    if days <= 1 or burst <= 1 or time_of_day.size == 0:
        return 1.0
    tod = np.sort(np.asarray(time_of_day, dtype=float) % 86400.0)
    extended = np.concatenate([tod, tod + 86400.0])
    starts = np.searchsorted(extended, tod, side="left")
    ends = np.searchsorted(extended, tod + window, side="left")
    in_window = ends - starts  # includes the starting submission itself
    tail = _stats.binom.sf(burst - 2, in_window - 1, 1.0 / days)
    return float(min(1.0, tail.sum()))


def small_variance(sum_of_squares: float, df: int, sigma2: float) -> float:
    """``P(χ²_df ≤ SS/σ²)``: are these values more alike than values of variance σ² are?"""
    if df < 1 or sigma2 <= 0:
        return float("nan")
    return float(_stats.chi2.cdf(sum_of_squares / sigma2, df))


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), NaN kept as NaN.

    R: ``p.adjust(p, "BH")``.  A unit is a discovery at false-discovery rate α when its
    q-value is at most α.

    References
    ----------
    Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. *JRSS B* 57,
    289–300.
    """
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.size, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = tested.size
    if m == 0:
        return q
    order = tested[np.argsort(p[tested], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q
