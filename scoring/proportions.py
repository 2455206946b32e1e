"""Confidence intervals for proportions estimated from complex surveys.

A satisfied rate is a domain mean of a 0/1 indicator; its Wald interval misbehaves near
0 and 1, so rates get one of these intervals (statistics.md, "Proportions"):

* ``logit`` (default) — a t interval on the logit scale, back-transformed; R's
  ``svyciprop(method = "logit")``.  With linearization the logit's variance is the delta
  method's ``Var(p̂)/(p̂(1 − p̂))²`` (what R's ``svyglm`` gives); with a replicate design it
  is the replicate variance of ``logit(p̂_r)``, as R refits each replicate.
* ``korn_graubard`` — the Clopper–Pearson interval at the effective sample size
  ``p̂(1 − p̂)/Var(p̂)`` times ``(t_{n−1}/t_df)²``; R's ``svyciprop(method = "beta")``.
* ``wilson`` — Wilson's score interval at the effective sample size, with the critical
  value ``t_{df}``.

At ``p̂ = 0`` or ``1`` the design variance is zero; the logit and Wilson intervals then
fall back to Korn–Graubard with the effective sample size set to the number of
respondents (Korn & Graubard's own recommendation).

References
----------
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions with small
expected number of positive counts estimated from survey data. *Survey Methodology* 24,
193–201.
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
inference. *JASA* 22, 209–212.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from .estimation import SurveyEstimate, t_quantile
from .variance import ReplicateDesign

__all__ = [
    "INTERVAL_METHODS",
    "ProportionIntervals",
    "korn_graubard_interval",
    "logit_interval",
    "proportion_intervals",
    "wilson_interval",
]

INTERVAL_METHODS: tuple[str, ...] = ("logit", "korn_graubard", "wilson")


@dataclass(frozen=True, eq=False)
class ProportionIntervals:
    """Proportions with standard errors and confidence intervals (arrays, one per estimate)."""

    names: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    method: str
    level: float
    df: float | np.ndarray
    counts: np.ndarray | None = field(default=None, repr=False)


def logit_interval(
    p: np.ndarray, logit_variance: np.ndarray, df: float | np.ndarray, *, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """``expit(logit(p) ± t_df √Var(logit p))``."""
    p = np.asarray(p, dtype=np.float64)
    quantile = t_quantile(level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = special.logit(p)
        half = quantile * np.sqrt(logit_variance)
    return special.expit(centre - half), special.expit(centre + half)


def korn_graubard_interval(
    p: np.ndarray, variance: np.ndarray, n: np.ndarray, df: float | np.ndarray, *, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Korn–Graubard (Clopper–Pearson at the effective sample size), as R's ``method="beta"``."""
    p = np.asarray(p, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    n = np.broadcast_to(np.asarray(n, dtype=np.float64), p.shape)
    degrees = np.broadcast_to(np.asarray(df, dtype=np.float64), p.shape)
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        n_effective = np.where(variance > 0, p * (1 - p) / variance, n)
        ratio = special.stdtrit(n - 1, alpha / 2) / special.stdtrit(np.where(degrees > 0, degrees, np.nan), alpha / 2)
        n_effective = np.where(np.isfinite(degrees), n_effective * ratio**2, n_effective)
        low = np.where(p > 0, special.betaincinv(n_effective * p, n_effective * (1 - p) + 1, alpha / 2), 0.0)
        high = np.where(p < 1, special.betaincinv(n_effective * p + 1, n_effective * (1 - p), 1 - alpha / 2), 1.0)
    return low, high


def wilson_interval(
    p: np.ndarray,
    variance: np.ndarray,
    df: float | np.ndarray,
    *,
    level: float = 0.95,
    n: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's score interval at ``n_eff = p(1 − p)/Var(p̂)`` with critical value ``t_df``."""
    p = np.asarray(p, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    quantile = t_quantile(level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        fallback = np.nan if n is None else np.asarray(n, dtype=np.float64)
        n_effective = np.where(variance > 0, p * (1 - p) / variance, fallback)
        z2 = quantile**2
        centre = (p + z2 / (2 * n_effective)) / (1 + z2 / n_effective)
        half = quantile / (1 + z2 / n_effective) * np.sqrt(p * (1 - p) / n_effective + z2 / (4 * n_effective**2))
    return centre - half, centre + half


def proportion_intervals(
    estimate: SurveyEstimate,
    *,
    method: str = "logit",
    level: float = 0.95,
    df: float | np.ndarray | None = None,
) -> ProportionIntervals:
    """Confidence intervals for estimated proportions (R: ``svyciprop``).

    Parameters
    ----------
    estimate : SurveyEstimate
        Means of 0/1 indicators (e.g. from :func:`scoring.estimation.survey_mean`).
    method : {"logit", "korn_graubard", "wilson"}
    level : float
    df : float or ndarray, optional
        Degrees of freedom, one per proportion (their domains', as R's default
        ``svyciprop(..., df = degf(subset))``) or one for all; default the design's.

    Returns
    -------
    ProportionIntervals
    """
    if method not in INTERVAL_METHODS:
        raise ValueError(f"method must be one of {', '.join(INTERVAL_METHODS)}, got {method!r}")
    p = estimate.estimate
    variance = estimate.variance
    if df is None:
        df = estimate.df
    counts = estimate.counts if estimate.counts is not None else np.full(p.shape, np.nan)
    boundary = (p <= 0) | (p >= 1)
    kg_low, kg_high = korn_graubard_interval(p, variance, counts, df, level=level)
    if method == "korn_graubard":
        low, high = kg_low, kg_high
    elif method == "wilson":
        low, high = wilson_interval(p, variance, df, level=level, n=counts)
        low, high = np.where(boundary, kg_low, low), np.where(boundary, kg_high, high)
    else:
        if isinstance(estimate.design, ReplicateDesign) and estimate.replicates is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                replicate_logits = special.logit(estimate.replicates)
                logit_variance = estimate.design.variance(
                    np.where(np.isfinite(replicate_logits), replicate_logits, 0.0), special.logit(p)
                )
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                logit_variance = variance / (p * (1 - p)) ** 2
        low, high = logit_interval(p, logit_variance, df, level=level)
        low, high = np.where(boundary, kg_low, low), np.where(boundary, kg_high, high)
    undefined = ~np.isfinite(p)
    return ProportionIntervals(
        names=estimate.names,
        estimate=p,
        se=np.sqrt(variance),
        ci_low=np.where(undefined, np.nan, low),
        ci_high=np.where(undefined, np.nan, high),
        method=method,
        level=level,
        df=df,
        counts=estimate.counts,
    )
