"""The target test: has the district reached its 85% satisfaction target?

The plan commits to "85% or more".  That can mean the overall **index** (0–100) or the
overall **satisfied rate** (the share answering 4 or 5): both are always computed and
both verdicts given; the wave's settings say which one is *the* plan's target.  A target
is written as people say it — ``85`` — and compared on the result's own scale: an index
of 85, or a rate of 0.85.

The verdict agrees with the 95% confidence interval shown beside the estimate
(statistics.md, "Target test"): ``met`` when the whole interval lies above the target,
``not_met`` when it lies below, ``inconclusive`` otherwise — a one-sided test at 2.5% each
way.  The statistic is ``t = (θ̂ − target)/SE`` with the one-sided p-value
``1 − F_t(t; df)``; for an index ``p < 0.025`` exactly when the verdict is ``met``.  A
satisfied rate's interval (logit, Korn–Graubard or Wilson) is not symmetric, so its
verdict reads that interval, which is the one shown.

A figure flagged unstable (too few respondents or PSUs, see
:class:`scoring.satisfaction.Stability`) gets no verdict: ``verdict`` is ``None`` with the
reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy import special

from .errors import ScoringInputError
from .vocabulary import DEFAULT_TARGET

__all__ = ["TARGET_METRICS", "VERDICTS", "TargetTest", "target_test", "target_value", "verdict_of_interval"]

TARGET_METRICS: tuple[str, ...] = ("index", "satisfied_rate")
VERDICTS: tuple[str, ...] = ("met", "not_met", "inconclusive")


@dataclass(frozen=True)
class TargetTest:
    """Outcome of the target test of one estimate.

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
        Degrees of freedom of the estimate (its domain's, statistics.md).
    statistic : float
        ``(estimate − value) / se``.
    p_value : float
        One-sided ``P(T > statistic)`` for ``T ~ t_df``: small when the target is met.
    ci_low, ci_high : float
        The two-sided interval at ``level`` that the verdict reads.
    verdict : str or None
        ``met``, ``not_met``, ``inconclusive``; ``None`` when the figure is unstable.
    level : float
    unstable : bool
    reason : str or None
        Why there is no verdict (unstable figures).
    """

    metric: str
    target: float
    value: float
    estimate: float
    se: float
    df: float
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float
    verdict: str | None
    level: float = 0.95
    unstable: bool = False
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the results' ``targets`` entries (NaN becomes None)."""

        def number(value: float) -> float | None:
            return float(value) if value is not None and math.isfinite(value) else None

        return {
            "metric": self.metric,
            "target": number(self.target),
            "value": number(self.value),
            "estimate": number(self.estimate),
            "se": number(self.se),
            "ci_low": number(self.ci_low),
            "ci_high": number(self.ci_high),
            "df": number(self.df),
            "statistic": number(self.statistic),
            "p_value": number(self.p_value),
            "verdict": self.verdict,
            "unstable": self.unstable,
            "reason": self.reason,
        }


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


def verdict_of_interval(low: float, high: float, value: float) -> str:
    """``met`` when ``low > value``, ``not_met`` when ``high < value``, else ``inconclusive``."""
    if math.isfinite(low) and low > value:
        return "met"
    if math.isfinite(high) and high < value:
        return "not_met"
    return "inconclusive"


def _t_quantile(df: float, probability: float) -> float:
    if math.isfinite(df):
        return float(special.stdtrit(df, probability))
    return float(special.ndtri(probability))


def target_test(
    estimate: float,
    se: float,
    df: float,
    *,
    target: float = DEFAULT_TARGET,
    metric: str = "index",
    level: float = 0.95,
    interval: Sequence[float] | None = None,
    unstable_reason: str | None = None,
) -> TargetTest:
    """Test ``θ ≥ target`` with a verdict that agrees with the two-sided interval.

    Parameters
    ----------
    estimate, se : float
        An index (0–100) or satisfied rate (0–1) and its standard error.
    df : float
        Degrees of freedom (the estimate's domain df; ``inf`` for a normal reference).
    target : float
        As people say it (85).
    metric : {"index", "satisfied_rate"}
    level : float
        Level of the two-sided interval (0.95: a one-sided test at 2.5% each way).
    interval : (low, high), optional
        The interval shown beside the estimate (e.g. a rate's logit interval); default
        ``estimate ± t_{df, (1+level)/2} se``.
    unstable_reason : str, optional
        When given, the figure is unstable: no verdict, this reason instead.

    Returns
    -------
    TargetTest

    Examples
    --------
    >>> target_test(86.2, 0.5, 30).verdict
    'met'
    >>> target_test(86.5, 0.8325, 30).verdict   # CI 84.8–88.2 contains 85
    'inconclusive'
    """
    value = target_value(target, metric)
    if not 0 < level < 1:
        raise ScoringInputError(f"the confidence level must be between 0 and 1, got {level!r}")
    estimate, se, df = float(estimate), float(se), float(df)
    defined = math.isfinite(estimate) and math.isfinite(se) and se > 0 and not (math.isfinite(df) and df <= 0)
    if defined:
        statistic = (estimate - value) / se
        p_value = float(special.stdtr(df, -statistic)) if math.isfinite(df) else float(special.ndtr(-statistic))
        half = _t_quantile(df, (1 + level) / 2) * se
        low, high = estimate - half, estimate + half
    else:
        statistic = p_value = low = high = math.nan
    if interval is not None:
        low, high = float(interval[0]), float(interval[1])
    if unstable_reason is not None:
        verdict: str | None = None
    elif defined or interval is not None:
        verdict = verdict_of_interval(low, high, value)
    else:
        verdict = "inconclusive"
    return TargetTest(
        metric=metric,
        target=float(target),
        value=value,
        estimate=estimate,
        se=se,
        df=df,
        statistic=float(statistic),
        p_value=p_value,
        ci_low=float(low),
        ci_high=float(high),
        verdict=verdict,
        level=level,
        unstable=unstable_reason is not None,
        reason=unstable_reason,
    )
