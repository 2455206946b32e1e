"""The satisfaction results as records — rates, indices, domains, overall, subgroups, headlines,
stability and suppression — and as the results dictionary of the contract (docs/contracts.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import ScoringInputError
from .estimation import (
    SurveyEstimate,
)
from .proportions import ProportionIntervals
from .target import TargetTest

SUBGROUP_VARIABLES: tuple[str, ...] = ("town", "sex", "age_group")


#: How the overall index treats an unstable domain (written into results).
UNSTABLE_DOMAIN_RULE = (
    "unstable domains are left out of the overall index and the weights of the other domains renormalised "
    "to sum 1; if no domain is stable, every domain with respondents is used and the overall index is "
    "flagged unstable; a subgroup's overall cell is suppressed when one of its domains is unstable"
)


def _validate_count(value: Any, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ScoringInputError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")


@dataclass(frozen=True)
class Suppression:
    """Subgroup cells are suppressed when ``n < min_n`` or ``CV > max_cv`` (or unstable)."""

    min_n: int = 30
    max_cv: float = 0.3

    def __post_init__(self) -> None:
        if self.min_n < 0 or not self.max_cv > 0:
            raise ValueError(f"suppression needs min_n ≥ 0 and max_cv > 0, got {self.min_n}, {self.max_cv}")

    def suppressed(self, n: int, cv: float) -> bool:
        return n < self.min_n or not math.isfinite(cv) or cv > self.max_cv


@dataclass(frozen=True)
class Stability:
    """When a figure is too thin to carry a verdict (statistics.md, "Degrees of freedom").

    A domain, satisfied rate or subgroup cell is **unstable** when it rests on fewer than
    ``min_n`` respondents or fewer than ``min_psus`` PSUs (collection points; a phone or
    paper respondent is a PSU of her own), or has no degrees of freedom.  Defaults and why
    (docs/statistics.md, "Stability"):

    * ``min_n = 30`` — below it a ratio's sampling distribution is visibly skewed and
      its linearized SE biased (the customary floor, also NCHS's for proportions);
    * ``min_psus = 5`` — the variance of a figure is estimated from its PSU totals: with
      five PSUs in one stratum (df 4) the SE itself is uncertain by about
      ``1/√(2 df) ≈ 35%`` and ``t_{4, 0.975} = 2.78``; with fewer the interval mostly
      reflects the t multiplier and a verdict would rest on two or three point totals.
    """

    min_n: int = 30
    min_psus: int = 5

    def __post_init__(self) -> None:
        _validate_count(self.min_n, "min_n (minimum respondents for a stable figure)", 1)
        _validate_count(self.min_psus, "min_psus (minimum PSUs for a stable figure)", 2)

    def reason(self, n: int, psus: int, df: float) -> str | None:
        """Why a figure with ``n`` respondents in ``psus`` PSUs and ``df`` is unstable (None if stable)."""
        reasons = []
        if n < self.min_n:
            reasons.append(f"{n} respondents (fewer than {self.min_n})")
        if psus < self.min_psus:
            reasons.append(f"{psus} PSUs (fewer than {self.min_psus})")
        if not (math.isfinite(df) and df >= 1):
            reasons.append(f"{_integer_text(df)} degrees of freedom (an interval needs at least 1)")
        return "; ".join(reasons) or None


def _integer_text(value: float) -> str:
    return str(int(value)) if math.isfinite(value) and value == int(value) else f"{value:g}"


@dataclass(frozen=True)
class RateResult:
    """A satisfied rate (proportion 0–1) with SE, interval, respondents, df and stability."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    df: float = math.nan
    psus: int = 0
    unstable: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class IndexResult:
    """An index (0–100) with SE, t interval, respondents, design effect, df and stability."""

    index: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    deff: float = math.nan
    df: float = math.nan
    psus: int = 0
    unstable: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class DomainResult:
    """One domain: its index, Cronbach's alpha, the satisfied rate of ``<domain>.overall``,
    its weight in the overall index (0 when left out) and its target tests."""

    domain: str
    index: IndexResult
    alpha: float
    satisfied_rate: RateResult | None
    weight: float = 0.0
    targets: Mapping[str, TargetTest | None] | None = None


@dataclass(frozen=True)
class OverallResult:
    """The overall index ``Σ a_d θ_d`` and the satisfied rate of the global ``overall`` item.

    ``domain_weights`` are the weights used (renormalised over the stable domains);
    ``left_out`` lists ``(domain, reason)`` of the domains that had a weight but were
    left out.
    """

    index: IndexResult
    df: int
    satisfied_rate: RateResult | None
    domain_weights: Mapping[str, float]
    left_out: tuple[tuple[str, str], ...] = ()
    targets: Mapping[str, TargetTest | None] | None = None


@dataclass(frozen=True)
class SubgroupResult:
    """One cell of a subgroup table (a domain or ``overall`` within one level)."""

    variable: str
    level: str
    domain: str
    index: float
    se: float
    n: int
    cv: float
    suppressed: bool
    ci_low: float = math.nan
    ci_high: float = math.nan
    df: float = math.nan
    psus: int = 0
    unstable: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Headline:
    """The overall index and satisfied rate within one level of a grouping (channel, point type)."""

    variable: str
    level: str
    index: IndexResult
    satisfied_rate: RateResult | None
    n: int


@dataclass(frozen=True, eq=False)
class SatisfactionEstimates:
    """Everything :func:`estimate_satisfaction` computes.

    Attributes
    ----------
    domains : mapping
        ``{domain_id: DomainResult}`` in domain order.
    overall : OverallResult
    subgroups : tuple of SubgroupResult
    target : TargetTest or None
        The test of the wave's chosen metric (``targets[target_metric]``).
    targets : mapping or None
        ``{"index": TargetTest, "satisfied_rate": TargetTest or None}`` of the overall
        figures (None when no target was given).
    target_metric : str
    df : int
        The whole design's degrees of freedom.
    level : float
    interval_method : str
    stability : Stability
    headlines : mapping
        ``{variable: {level: Headline}}`` for the headline groups.
    domain_index : SurveyEstimate
        The domain indices with their full covariance (for rankings, reports).
    rates : ProportionIntervals
    """

    domains: Mapping[str, DomainResult]
    overall: OverallResult
    subgroups: tuple[SubgroupResult, ...]
    target: TargetTest | None
    df: int
    level: float
    interval_method: str
    domain_index: SurveyEstimate = field(repr=False)
    rates: ProportionIntervals = field(repr=False)
    targets: Mapping[str, TargetTest | None] | None = None
    target_metric: str = "index"
    stability: Stability = field(default_factory=Stability)
    headlines: Mapping[str, Mapping[str, Headline]] = field(default_factory=dict)

    def subgroup_table(self) -> pd.DataFrame:
        """The subgroup results as a tidy table."""
        return pd.DataFrame([vars(s) for s in self.subgroups])


def _number(value: float | int | None) -> float | int | None:
    """JSON-safe: NaN and infinities become null."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def _df(value: float) -> int | None:
    """Degrees of freedom are whole numbers here (PSUs − strata); null when undefined."""
    return int(value) if math.isfinite(value) else None


def _rate_dict(rate: RateResult | None) -> dict[str, Any] | None:
    if rate is None:
        return None
    return {
        "estimate": _number(rate.estimate),
        "se": _number(rate.se),
        "ci_low": _number(rate.ci_low),
        "ci_high": _number(rate.ci_high),
        "df": _df(rate.df),
        "n": int(rate.n),
        "psus": int(rate.psus),
        "unstable": bool(rate.unstable),
        "unstable_reason": rate.reason,
    }


def _index_dict(index: IndexResult) -> dict[str, Any]:
    return {
        "index": _number(index.index),
        "se": _number(index.se),
        "ci_low": _number(index.ci_low),
        "ci_high": _number(index.ci_high),
        "df": _df(index.df),
        "n": int(index.n),
        "psus": int(index.psus),
    }


def _targets_dict(targets: Mapping[str, TargetTest | None] | None) -> dict[str, Any] | None:
    if targets is None:
        return None
    return {metric: (None if test is None else test.to_dict()) for metric, test in targets.items()}


def headline_dict(headline: Headline) -> dict[str, Any]:
    """One row of the sensitivity table: ``{index{…}, satisfied_rate{…}, n}``."""
    index = headline.index
    return {
        "index": {
            "estimate": _number(index.index),
            "se": _number(index.se),
            "ci_low": _number(index.ci_low),
            "ci_high": _number(index.ci_high),
            "df": _df(index.df),
            "unstable": bool(index.unstable),
            "unstable_reason": index.reason,
        },
        "satisfied_rate": _rate_dict(headline.satisfied_rate),
        "n": int(headline.n),
    }


def headline_of(estimates: SatisfactionEstimates) -> Headline:
    """The whole sample's headline (overall index and satisfied rate) as a :class:`Headline`."""
    overall = estimates.overall
    return Headline("all", "all", overall.index, overall.satisfied_rate, int(overall.index.n))


def results_dict(
    estimates: SatisfactionEstimates,
    *,
    weights: Mapping[str, Any],
    design: Mapping[str, Any],
    excluded: Mapping[str, int],
    inputs: Mapping[str, str],
    version: str,
    scale: Mapping[str, Any] | None = None,
    sensitivity: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The results JSON (docs/contracts.md lists every key).

    ``overall``, ``domains``, ``target``, ``targets``, ``scale``, ``weights``, ``design``,
    ``excluded``, ``subgroups``, ``sensitivity``, ``settings``, ``inputs``, ``version``.
    Indices are 0–100, rates proportions; undefined numbers are ``null``; ``target`` and
    ``targets`` are ``null`` when no target was tested.
    """
    overall = estimates.overall
    result: dict[str, Any] = {
        "overall": {
            **_index_dict(overall.index),
            "df": int(overall.df),
            "unstable": bool(overall.index.unstable),
            "unstable_reason": overall.index.reason,
            "domain_weights": {domain: _number(weight) for domain, weight in overall.domain_weights.items()},
            "left_out_domains": [{"domain": domain, "reason": reason} for domain, reason in overall.left_out],
            "unstable_domain_rule": UNSTABLE_DOMAIN_RULE,
            "satisfied_rate": _rate_dict(overall.satisfied_rate),
        },
        "domains": {
            domain: {
                **_index_dict(r.index),
                "deff": _number(r.index.deff),
                "alpha": _number(r.alpha),
                "unstable": bool(r.index.unstable),
                "unstable_reason": r.index.reason,
                "weight": _number(r.weight),
                "satisfied_rate": _rate_dict(r.satisfied_rate),
                "targets": _targets_dict(r.targets),
            }
            for domain, r in estimates.domains.items()
        },
        "target": None if estimates.target is None else estimates.target.to_dict(),
        "targets": None
        if estimates.targets is None
        else {"metric": estimates.target_metric, **(_targets_dict(estimates.targets) or {})},
        "scale": dict(scale) if scale is not None else None,
        "weights": {key: _number(value) if not isinstance(value, str) else value for key, value in weights.items()},
        "design": dict(design),
        "excluded": {reason: int(count) for reason, count in excluded.items()},
        "subgroups": {},
        "sensitivity": dict(sensitivity) if sensitivity is not None else None,
        "settings": dict(settings) if settings is not None else None,
        "inputs": dict(inputs),
        "version": version,
    }
    subgroups: dict[str, dict[str, dict[str, Any]]] = {v: {} for v in SUBGROUP_VARIABLES}
    for s in estimates.subgroups:
        subgroups.setdefault(s.variable, {}).setdefault(s.level, {})[s.domain] = {
            "index": _number(s.index),
            "se": _number(s.se),
            "ci_low": _number(s.ci_low),
            "ci_high": _number(s.ci_high),
            "df": _df(s.df),
            "n": int(s.n),
            "psus": int(s.psus),
            "cv": _number(s.cv),
            "unstable": bool(s.unstable),
            "suppressed": bool(s.suppressed),
            "reason": s.reason,
        }
    result["subgroups"] = subgroups
    return result
