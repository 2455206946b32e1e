"""Satisfaction by group: the domain-level index and rate estimators, the subgroup tables (sex,
age group, town, channel), and the headlines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .design import Factor
from .estimation import (
    CellGroups,
    Design,
    SurveyEstimate,
    linear_combination,
    ratio_from_totals,
    t_interval,
)
from .proportions import ProportionIntervals, proportion_intervals
from .satisfaction_results import (
    Headline,
    IndexResult,
    RateResult,
    Stability,
    SubgroupResult,
    Suppression,
    _integer_text,
)
from .survey_estimate import full_sample_design

OVERALL = "overall"


_MISSING_LEVEL = "\x00missing"


def _group_factor(values: pd.Series | np.ndarray) -> Factor:
    """Levels of a grouping variable; rows without a value go to a hidden last level."""
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    levels = tuple(str(u) for u in uniques)
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(levels), codes)
        levels = levels + (_MISSING_LEVEL,)
    return Factor(codes, levels)


def _index_results(
    estimate: SurveyEstimate,
    df: np.ndarray,
    psus: np.ndarray,
    counts: np.ndarray,
    stability: Stability,
    level: float,
) -> list[IndexResult]:
    low, high = t_interval(estimate.estimate, estimate.se, df, level)
    deff = estimate.deff
    results = []
    for k in range(len(estimate)):
        reason = stability.reason(int(counts[k]), int(psus[k]), float(df[k]))
        results.append(
            IndexResult(
                index=float(estimate.estimate[k]),
                se=float(estimate.se[k]),
                ci_low=float(low[k]),
                ci_high=float(high[k]),
                n=int(counts[k]),
                deff=float(deff[k]),
                df=float(df[k]),
                psus=int(psus[k]),
                unstable=reason is not None,
                reason=reason,
            )
        )
    return results


def _rate_results(
    rates: ProportionIntervals, df: np.ndarray, psus: np.ndarray, stability: Stability
) -> list[RateResult]:
    counts = rates.counts if rates.counts is not None else np.zeros(len(rates.names), dtype=np.int64)
    results = []
    for j in range(len(rates.names)):
        reason = stability.reason(int(counts[j]), int(psus[j]), float(df[j]))
        results.append(
            RateResult(
                estimate=float(rates.estimate[j]),
                se=float(rates.se[j]),
                ci_low=float(rates.ci_low[j]),
                ci_high=float(rates.ci_high[j]),
                n=int(counts[j]),
                df=float(df[j]),
                psus=int(psus[j]),
                unstable=reason is not None,
                reason=reason,
            )
        )
    return results


def _level_df(design: Design, grouping: CellGroups, refined: np.ndarray, variable: str) -> tuple[np.ndarray, ...]:
    """PSUs and df of every (level, column) of ``refined`` (R × K) totals: arrays of shape (G·K,)."""
    base = full_sample_design(design)
    (members,) = grouping.sparse_group_totals([refined], variable)
    psus, _, df = base.member_degrees_of_freedom(members)
    return psus, df


def _subgroup_results(
    design: Design,
    grouping: CellGroups,
    variables: Sequence[str],
    refined_totals: np.ndarray,
    refined_counts: np.ndarray,
    refined_rows: np.ndarray,
    domains: Sequence[str],
    coefficients: np.ndarray,
    suppression: Suppression,
    stability: Stability,
    level: float,
) -> tuple[SubgroupResult, ...]:
    """Every domain index and the overall index within each level of each group variable.

    ``refined_totals`` holds the numerators then the denominators of the domain indices
    per refined cell; a group's estimates are domain estimates on the full design, with
    the df of the PSUs and strata holding the group's respondents.  The totals are sparse
    (a design cell holds one level), so a town table costs its non-zeros.
    """
    n_domains = len(domains)
    components = coefficients > 0
    results = []
    for variable in variables:
        factor = grouping.groups[variable]
        numerator, denominator = grouping.sparse_group_totals(
            [refined_totals[:, :n_domains], refined_totals[:, n_domains:]], variable
        )
        counts = np.rint(grouping.level_totals(refined_counts, variable)).astype(np.int64)
        estimate = ratio_from_totals(
            design,
            numerator,
            denominator,
            names=tuple(f"{level}:{d}" for level in factor.levels for d in domains),
            counts=counts.ravel(),
        )
        cell_psus, cell_df = _level_df(design, grouping, refined_counts, variable)
        low, high = t_interval(estimate.estimate, estimate.se, cell_df, level)
        # Undefined when a domain with a weight has no respondent in the level.
        overall = linear_combination(
            estimate, np.kron(np.eye(factor.n_levels), coefficients[:, None]), names=factor.levels
        )
        level_psus, level_df = _level_df(design, grouping, refined_rows[:, None], variable)
        overall_low, overall_high = t_interval(overall.estimate, overall.se, level_df, level)
        level_sizes = np.bincount(factor.codes, minlength=factor.n_levels)
        for g, level_name in enumerate(factor.levels):
            if level_name == _MISSING_LEVEL:
                continue
            weak = []
            for d, domain in enumerate(domains):
                j = g * n_domains + d
                cell = _subgroup(
                    variable,
                    level_name,
                    domain,
                    estimate.estimate[j],
                    estimate.se[j],
                    (low[j], high[j]),
                    int(counts[g, d]),
                    int(cell_psus[j]),
                    float(cell_df[j]),
                    suppression,
                    stability,
                )
                if components[d] and cell.unstable:
                    weak.append(domain)
                results.append(cell)
            results.append(
                _subgroup(
                    variable,
                    level_name,
                    OVERALL,
                    overall.estimate[g],
                    overall.se[g],
                    (overall_low[g], overall_high[g]),
                    int(level_sizes[g]),
                    int(level_psus[g]),
                    float(level_df[g]),
                    suppression,
                    stability,
                    weak_components=weak,
                )
            )
    return tuple(results)


def _subgroup(
    variable: str,
    level: str,
    domain: str,
    index: float,
    se: float,
    interval: tuple[float, float],
    n: int,
    psus: int,
    df: float,
    suppression: Suppression,
    stability: Stability,
    *,
    weak_components: Sequence[str] = (),
) -> SubgroupResult:
    index, se = float(index), float(se)
    if not math.isfinite(index):
        se = math.nan
    cv = se / abs(index) if math.isfinite(index) and index != 0 and math.isfinite(se) else math.nan
    reason = stability.reason(n, psus, df)
    unstable = reason is not None
    reasons = [reason] if reason else []
    if weak_components:
        reasons.append(f"unstable component: {', '.join(weak_components)}")
    if suppression.suppressed(n, cv) and not unstable:
        reasons.append(
            f"{n} respondents (fewer than {suppression.min_n})"
            if n < suppression.min_n
            else f"CV {_integer_text(round(cv, 3)) if math.isfinite(cv) else 'undefined'} (above {suppression.max_cv:g})"
        )
    suppressed = bool(reasons)
    return SubgroupResult(
        variable=variable,
        level=level,
        domain=domain,
        index=index,
        se=se,
        n=n,
        cv=cv,
        suppressed=suppressed,
        ci_low=float(interval[0]) if math.isfinite(index) else math.nan,
        ci_high=float(interval[1]) if math.isfinite(index) else math.nan,
        df=df,
        psus=psus,
        unstable=unstable,
        reason="; ".join(reasons) or None,
    )


def _headlines(
    design: Design,
    grouping: CellGroups,
    names: Sequence[tuple[str, str]],
    refined_totals: np.ndarray,
    refined_rows: np.ndarray,
    rate: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    coefficients: np.ndarray,
    stability: Stability,
    interval_method: str,
    level: float,
) -> dict[str, dict[str, Headline]]:
    """The overall index (the district's domain weights) and satisfied rate within each level."""
    base = full_sample_design(design)
    n_domains = coefficients.size
    result: dict[str, dict[str, Headline]] = {}
    for name, key in names:
        factor = grouping.groups[key]
        numerator, denominator = grouping.sparse_group_totals(
            [refined_totals[:, :n_domains], refined_totals[:, n_domains:]], key
        )
        estimate = ratio_from_totals(
            design,
            numerator,
            denominator,
            names=tuple(f"{level}:{d}" for level in factor.levels for d in range(n_domains)),
        )
        overall = linear_combination(
            estimate, np.kron(np.eye(factor.n_levels), coefficients[:, None]), names=factor.levels
        )
        sizes = np.bincount(factor.codes, minlength=factor.n_levels)
        psus, df = _level_df(design, grouping, refined_rows[:, None], key)
        indices = _index_results(overall, df.astype(float), psus, sizes, stability, level)
        rates: list[RateResult | None] = [None] * factor.n_levels
        if rate is not None:
            satisfied, answered, answered_rows = (column[:, None] for column in rate)
            satisfied_totals, answered_totals = grouping.sparse_group_totals([satisfied, answered], key)
            rate_psus, _, rate_df = base.member_degrees_of_freedom(answered_totals)
            answered_counts = np.rint(grouping.level_totals(answered_rows, key)[:, 0]).astype(np.int64)
            intervals = proportion_intervals(
                ratio_from_totals(
                    design,
                    satisfied_totals,
                    answered_totals,
                    names=factor.levels,
                    statistic="mean",
                    counts=answered_counts,
                ),
                method=interval_method,
                level=level,
                df=rate_df,
            )
            rates = list(_rate_results(intervals, rate_df, rate_psus, stability))
        result[name] = {
            level_name: Headline(name, level_name, indices[g], rates[g], int(sizes[g]))
            for g, level_name in enumerate(factor.levels)
            if level_name != _MISSING_LEVEL
        }
    return result
