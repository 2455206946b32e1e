"""Design-based estimators: totals, means, ratios and their linear combinations.

These read like R's ``survey`` package: each takes a design
(:class:`~scoring.design.SurveyDesign` for linearization, or
:class:`~scoring.variance.ReplicateDesign` for jackknife/bootstrap) and returns a
:class:`SurveyEstimate` holding the estimates and what their variance needs — the
influence values (linearization) or the replicate estimates.

=======================  ======================================
here                     R
=======================  ======================================
:func:`survey_total`     ``svytotal(~y, design)``
:func:`survey_mean`      ``svymean(~y, subset(design, domain))``
:func:`survey_ratio`     ``svyratio(~y, ~x, design)``
:func:`linear_combination`  ``svycontrast(stat, coefficients)``
=======================  ======================================

Domains (subpopulations) are always estimated on the full design: rows outside the
domain contribute zeros, nothing is dropped, so the variance keeps every PSU of every
stratum (statistics.md, "Domain index").

Missing values: ``na_rm=True`` treats rows with a missing value as outside the domain
(R's ``na.rm=TRUE`` on a calibrated design); otherwise they are an error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .design import Factor
from .errors import ScoringInputError
from .estimation_cells import (
    CellGroups,
    _by_factor,
    _by_names,
    _flatten,
    _missing,
    _row_counts,
    _values,
    cell_groups,
    cell_totals,
    linear_combination,
    ratio_from_totals,
)
from .survey_estimate import Design, SurveyEstimate, t_interval, t_quantile

__all__ = [
    "CellGroups",
    "Design",
    "SurveyEstimate",
    "cell_groups",
    "cell_totals",
    "linear_combination",
    "ratio_from_totals",
    "survey_mean",
    "survey_ratio",
    "survey_total",
    "t_interval",
    "t_quantile",
]


# ---------------------------------------------------------------------------- core


# ---------------------------------------------------------------------------- public estimators


def survey_total(
    design: Design,
    values: str | Sequence[str] | np.ndarray,
    *,
    names: Sequence[str] | None = None,
    by: str | Factor | None = None,
    na_rm: bool = False,
) -> SurveyEstimate:
    """Population totals ``Σ w_k y_k`` (R: ``svytotal``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    values : str, sequence of str, or ndarray (n,) / (n, K)
        Columns of the design's data, or arrays.
    names : sequence of str, optional
    by : str or Factor, optional
        Estimate within each level of a grouping variable (R: ``svyby``).
    na_rm : bool
        Leave out missing values (they contribute zero).
    """
    array, labels = _values(design, values, names)
    missing = _missing(array, na_rm, "values")
    array = np.where(missing, 0.0, array)
    factor = _by_factor(design, by)
    totals = _flatten(cell_totals(design, array, by=factor), factor)
    counts = _row_counts((~missing).astype(np.float64), factor)
    return ratio_from_totals(
        design,
        totals,
        None,
        names=_by_names(labels, factor, by if isinstance(by, str) else None),
        statistic="total",
        counts=counts,
    )


def survey_mean(
    design: Design,
    values: str | Sequence[str] | np.ndarray,
    *,
    domain: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    by: str | Factor | None = None,
    na_rm: bool = False,
) -> SurveyEstimate:
    """Means ``Σ w y / Σ w`` over the whole population or a domain (R: ``svymean``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    values : str, sequence of str, or ndarray (n,) / (n, K)
    domain : ndarray of bool, shape (n,), optional
        The subpopulation; estimated on the full design (R: ``subset(design, domain)``).
    names : sequence of str, optional
    by : str or Factor, optional
        Estimate within each level of a grouping variable (R: ``svyby``).
    na_rm : bool
        Rows with a missing value are outside the domain of that variable.

    Returns
    -------
    SurveyEstimate
        With ``deff`` as R's ``svymean(..., deff=TRUE)`` on the subset.
    """
    array, labels = _values(design, values, names)
    missing = _missing(array, na_rm, "values")
    member = ~missing
    if domain is not None:
        domain = np.asarray(domain, dtype=bool)
        if domain.shape != (array.shape[0],):
            raise ScoringInputError(f"domain must be one boolean per row ({array.shape[0]})")
        member &= domain[:, None]
    indicator = member.astype(np.float64)
    numerator = np.where(member, array, 0.0)
    factor = _by_factor(design, by)
    stacked = np.concatenate([numerator, indicator, numerator * np.where(member, array, 0.0)], axis=1)
    totals = cell_totals(design, stacked, by=factor)
    k = array.shape[1]
    parts: tuple[np.ndarray, ...]
    if factor is None:
        parts = totals[:, :k], totals[:, k : 2 * k], totals[:, 2 * k :]
    else:
        parts = (totals[..., :k], totals[..., k : 2 * k], totals[..., 2 * k :])
        parts = tuple(_flatten(p, factor) for p in parts)
    return ratio_from_totals(
        design,
        parts[0],
        parts[1],
        names=_by_names(labels, factor, by if isinstance(by, str) else None),
        statistic="mean",
        counts=_row_counts(indicator, factor),
        squares=parts[2],
    )


def survey_ratio(
    design: Design,
    numerator: str | Sequence[str] | np.ndarray,
    denominator: str | Sequence[str] | np.ndarray,
    *,
    names: Sequence[str] | None = None,
    by: str | Factor | None = None,
    na_rm: bool = False,
) -> SurveyEstimate:
    """Ratios of population totals ``Σ w y / Σ w x``, pairwise by column (R: ``svyratio``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    numerator, denominator : str, sequence of str, or ndarray
        The same number of columns; ratio *k* is numerator *k* over denominator *k*.
    names : sequence of str, optional
    by : str or Factor, optional
    na_rm : bool
        Leave out rows where either value is missing.
    """
    top, top_names = _values(design, numerator, None)
    bottom, bottom_names = _values(design, denominator, None)
    if top.shape != bottom.shape:
        raise ScoringInputError(
            f"numerator has {top.shape[1]} column(s) and denominator {bottom.shape[1]}; they pair up"
        )
    missing = _missing(top, na_rm, "numerator") | _missing(bottom, na_rm, "denominator")
    top, bottom = np.where(missing, 0.0, top), np.where(missing, 0.0, bottom)
    labels = tuple(names or (f"{a}/{b}" for a, b in zip(top_names, bottom_names)))
    factor = _by_factor(design, by)
    totals = cell_totals(design, np.concatenate([top, bottom], axis=1), by=factor)
    k = top.shape[1]
    upper, lower = (
        (totals[:, :k], totals[:, k:])
        if factor is None
        else (_flatten(totals[..., :k], factor), _flatten(totals[..., k:], factor))
    )
    return ratio_from_totals(
        design,
        upper,
        lower,
        names=_by_names(labels, factor, by if isinstance(by, str) else None),
        statistic="ratio",
        counts=_row_counts((~missing).astype(np.float64), factor),
    )
