"""Power of the target test: how likely a wave of a given size shows the district above the
target, and how many residents a wanted power needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .sample_sizes import (
    DEFAULT_DEFF,
    DEFAULT_SD,
    _validate_positive,
)
from .vocabulary import DEFAULT_TARGET


@dataclass(frozen=True)
class TargetPower:
    """How likely a planned wave is to call the target ``met``.

    Attributes
    ----------
    n : int
        Respondents of the figure tested (all responses for the overall figures).
    metric : str
        ``index`` or ``satisfied_rate``.
    target, expected : float
        As people say them (85, 88).
    value, true_value : float
        The same on the result's scale (85 or 0.85; 88 or 0.88).
    se : float
        The standard error expected: ``√(deff σ² / n)``.
    df : float
        Degrees of freedom assumed (``inf``: normal).
    power : float
        Probability that the 95% interval lies above the target (verdict ``met``).
    probability_not_met : float
        Probability that it lies below (verdict ``not_met``).
    deff, sd : float
    """

    n: int
    metric: str
    target: float
    expected: float
    value: float
    true_value: float
    se: float
    df: float
    power: float
    probability_not_met: float
    deff: float
    sd: float

    @property
    def probability_inconclusive(self) -> float:
        return max(0.0, 1.0 - self.power - self.probability_not_met)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "metric": self.metric,
            "target": self.target,
            "expected": self.expected,
            "se": self.se,
            "df": None if math.isinf(self.df) else self.df,
            "power": self.power,
            "probability_not_met": self.probability_not_met,
            "probability_inconclusive": self.probability_inconclusive,
            "deff": self.deff,
            "sd": self.sd,
        }


def _on_scale(value: float, metric: str, name: str) -> float:
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)):
        raise ValueError(f"{name} must be a number as people say it (e.g. 85), got {value!r}")
    if not 0 < value < 100:
        raise ValueError(f"{name} is written as people say it, between 0 and 100 (e.g. 85), got {value!r}")
    if metric == "satisfied_rate" and value <= 1:
        raise ValueError(f"{name} {value:g} with the satisfied rate: write it as a percentage (88 for 88%)")
    return value / 100.0 if metric == "satisfied_rate" else float(value)


def _power_inputs(
    metric: str, target: float, expected: float, sd: float | None, deff: float, df: float | None, level: float
) -> tuple[float, float, float, float, float]:
    if metric not in ("index", "satisfied_rate"):
        raise ValueError(f"metric must be index or satisfied_rate, got {metric!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    value, true_value = _on_scale(target, metric, "target"), _on_scale(expected, metric, "expected")
    _validate_positive(deff, "deff")
    _validate_positive(sd, "sd")
    if df is not None and not (isinstance(df, (int, float)) and df > 0):
        raise ValueError(f"df must be a positive number (PSUs − strata of the planned wave), got {df!r}")
    if sd is None:
        sd = math.sqrt(true_value * (1 - true_value)) if metric == "satisfied_rate" else DEFAULT_SD
    return value, true_value, float(sd), max(1.0, float(deff)), math.inf if df is None else float(df)


def _power_at(
    n: float, value: float, true_value: float, sd: float, deff: float, df: float, level: float
) -> tuple[float, float, float]:
    """SE, P(interval above the target) and P(interval below it) with ``n`` respondents."""
    se = math.sqrt(deff * sd**2 / n)
    shift = (true_value - value) / se
    if math.isinf(df):
        critical = float(stats.norm.ppf((1 + level) / 2))
        return se, float(stats.norm.sf(critical - shift)), float(stats.norm.cdf(-critical - shift))
    critical = float(stats.t.ppf((1 + level) / 2, df))
    return se, float(stats.nct.sf(critical, df, shift)), float(stats.nct.cdf(-critical, df, shift))


def target_power(
    *,
    n: int,
    expected: float,
    target: float = DEFAULT_TARGET,
    metric: str = "index",
    sd: float | None = None,
    deff: float = DEFAULT_DEFF,
    df: float | None = None,
    level: float = 0.95,
) -> TargetPower:
    """The power of the target test for a planned number of respondents.

    The verdict is ``met`` when the 95% interval lies above the target (statistics.md,
    "Target test"): with ``T = (θ̂ − target)/SE`` that is ``T > t_{df, 0.975}``, and ``T``
    follows a noncentral t with noncentrality ``(θ − target)/SE`` (normal when ``df`` is
    None).

    Parameters
    ----------
    n : int
        Respondents (for the overall figures: all responses).
    expected : float
        The true value the wave is planned for, as people say it (88 → index 88 or 88%).
    target : float
        As people say it (85).
    metric : {"index", "satisfied_rate"}
    sd : float, optional
        SD of respondent scores (index; default 20) — for a rate ``√(p(1 − p))``.
    deff : float
        Design effect (floored at 1).
    df : float, optional
        Degrees of freedom of the planned design (PSUs − strata); None: normal.
    level : float

    Returns
    -------
    TargetPower

    Notes
    -----
    A satisfied rate's verdict reads its logit interval; the power uses the Wald form,
    close to it away from 0 and 1.

    Examples
    --------
    >>> round(target_power(n=1000, expected=87, sd=20, deff=1.5).power, 2)
    0.73
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be a whole number of respondents ≥ 2, got {n!r}")
    value, true_value, use_sd, use_deff, use_df = _power_inputs(metric, target, expected, sd, deff, df, level)
    se, power, below = _power_at(int(n), value, true_value, use_sd, use_deff, use_df, level)
    return TargetPower(
        n=int(n),
        metric=metric,
        target=float(target),
        expected=float(expected),
        value=value,
        true_value=true_value,
        se=se,
        df=use_df,
        power=power,
        probability_not_met=below,
        deff=use_deff,
        sd=use_sd,
    )


def respondents_for_power(
    *,
    power: float = 0.8,
    expected: float,
    target: float = DEFAULT_TARGET,
    metric: str = "index",
    sd: float | None = None,
    deff: float = DEFAULT_DEFF,
    df: float | None = None,
    level: float = 0.95,
) -> int:
    """The fewest respondents for which :func:`target_power` reaches ``power``.

    Raises
    ------
    ValueError
        When ``expected`` is not above ``target`` (no sample makes the verdict likely
        ``met``), or an input is out of range.
    """
    if not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1, got {power!r}")
    value, true_value, use_sd, use_deff, use_df = _power_inputs(metric, target, expected, sd, deff, df, level)
    if true_value <= value:
        raise ValueError(
            f"expected {expected:g} is not above the target {target:g}: no sample size makes 'met' likely; "
            "plan for the precision instead (plan_sample_sizes)"
        )
    z = float(stats.norm.ppf((1 + level) / 2)) + float(stats.norm.ppf(power))
    low, high = 2, max(3, math.ceil(use_deff * use_sd**2 * (z / (true_value - value)) ** 2))
    while _power_at(high, value, true_value, use_sd, use_deff, use_df, level)[1] < power:
        low, high = high, high * 2
        if high > 10**9:
            raise ValueError("the power cannot be reached with these degrees of freedom; plan more PSUs")
    while high - low > 1:
        middle = (low + high) // 2
        if _power_at(middle, value, true_value, use_sd, use_deff, use_df, level)[1] >= power:
            high = middle
        else:
            low = middle
    return high if _power_at(low, value, true_value, use_sd, use_deff, use_df, level)[1] < power else low
