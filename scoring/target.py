"""The target test: has the district reached its 85% satisfaction target?

The plan commits to "85% or more".  That can mean the overall **index** (0–100) or the
overall **satisfied rate** (the share answering 4 or 5); every result says which one was
tested.  A target is written as people say it — ``85`` — and compared on the result's own
scale: an index of 85, or a rate of 0.85.

The test is one-sided (statistics.md): ``t = (θ̂ − target)/SE``, ``p = 1 − F_t(t; df)``.
The verdict is ``met`` when the one-sided 95% lower bound ``θ̂ − t_{df,0.95} SE`` is above
the target, ``not_met`` when the upper bound ``θ̂ + t_{df,0.95} SE`` is below it, and
``inconclusive`` otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special

from .errors import ScoringInputError

__all__ = ["TARGET_METRICS", "VERDICTS", "TargetTest", "target_test", "target_value"]

TARGET_METRICS: tuple[str, ...] = ("index", "satisfied_rate")
VERDICTS: tuple[str, ...] = ("met", "not_met", "inconclusive")


@dataclass(frozen=True)
class TargetTest:
    """Outcome of the one-sided target test.

    Attributes
    ----------
    metric : str
        ``index`` or ``satisfied_rate``.
    target : float
        The target as said (85).
    value : float
        The target on the estimate's scale (85 for the index, 0.85 for a rate).
    estimate, se : float
    df : float
    statistic : float
        ``(estimate − value) / se``.
    p_value : float
        ``P(T > statistic)`` for ``T ~ t_df``: small when the target is met.
    lower_bound, upper_bound : float
        One-sided bounds at ``level``.
    verdict : str
        ``met``, ``not_met`` or ``inconclusive``.
    level : float
    """

    metric: str
    target: float
    value: float
    estimate: float
    se: float
    df: float
    statistic: float
    p_value: float
    lower_bound: float
    upper_bound: float
    verdict: str
    level: float = 0.95


def target_value(target: float, metric: str) -> float:
    """The target on the metric's scale: ``85`` → 85 (index) or 0.85 (rate)."""
    if metric not in TARGET_METRICS:
        raise ScoringInputError(f"target metric must be one of {', '.join(TARGET_METRICS)}, got {metric!r}")
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not math.isfinite(target):
        raise ScoringInputError(f"the target must be a number such as 85, got {target!r}")
    if not 0 < target <= 100:
        raise ScoringInputError(f"the target is written as people say it, between 0 and 100 (e.g. 85); got {target!r}")
    if metric == "satisfied_rate":
        if target <= 1:
            raise ScoringInputError(
                f"--target {target:g} with the satisfied rate: write the target as a percentage (85 for 85%)"
            )
        return target / 100.0
    return float(target)


def target_test(
    estimate: float, se: float, df: float, *, target: float = 85.0, metric: str = "index", level: float = 0.95
) -> TargetTest:
    """One-sided test of ``θ ≥ target`` with its verdict.

    Parameters
    ----------
    estimate, se : float
        The overall index (0–100) or satisfied rate (0–1) and its standard error.
    df : float
        Degrees of freedom of the design.
    target : float
        As people say it (85).
    metric : {"index", "satisfied_rate"}
    level : float
        One-sided confidence level of the bounds (0.95).

    Returns
    -------
    TargetTest

    Examples
    --------
    >>> target_test(86.2, 0.5, 30).verdict
    'met'
    """
    value = target_value(target, metric)
    if not (math.isfinite(estimate) and math.isfinite(se) and se > 0):
        return TargetTest(
            metric,
            float(target),
            value,
            float(estimate),
            float(se),
            df,
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            "inconclusive",
            level,
        )
    statistic = (estimate - value) / se
    if math.isfinite(df):
        p_value, quantile = float(special.stdtr(df, -statistic)), float(special.stdtrit(df, level))
    else:
        p_value, quantile = float(special.ndtr(-statistic)), float(special.ndtri(level))
    lower, upper = estimate - quantile * se, estimate + quantile * se
    verdict = "met" if lower > value else "not_met" if upper < value else "inconclusive"
    return TargetTest(
        metric=metric,
        target=float(target),
        value=value,
        estimate=float(estimate),
        se=float(se),
        df=df,
        statistic=float(statistic),
        p_value=p_value,
        lower_bound=float(lower),
        upper_bound=float(upper),
        verdict=verdict,
        level=level,
    )
