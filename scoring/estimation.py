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
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sparse
from scipy import special

from .design import Factor, SurveyDesign
from .errors import ScoringInputError
from .variance import ReplicateDesign, linearized_variance

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

Design = SurveyDesign | ReplicateDesign


def full_sample_design(design: Design) -> SurveyDesign:
    """The full-sample :class:`SurveyDesign` of a design or replicate design."""
    return design.design if isinstance(design, ReplicateDesign) else design


@dataclass(frozen=True, eq=False)
class SurveyEstimate:
    """Estimates with their design-based variance.

    Attributes
    ----------
    names : tuple of str
    estimate : ndarray, shape (K,)
    design : SurveyDesign or ReplicateDesign
    statistic : str
        ``total``, ``mean``, ``ratio`` or ``contrast``.
    influence : ndarray or sparse matrix, shape (C, K), optional
        Cell totals of ``d_k z_k`` (linearization).  Sparse for subgroup tables, where
        each cell touches one level: the variances then cost the non-zeros, not C × K.
    replicates : ndarray, shape (R, K), optional
        Replicate estimates (replicate designs).
    srs_variance : ndarray, optional
        Variance under simple random sampling of the same size (for ``deff``).
    counts : ndarray, optional
        Unweighted number of rows behind each estimate.
    """

    names: tuple[str, ...]
    estimate: np.ndarray
    design: Design = field(repr=False)
    statistic: str = "estimate"
    influence: np.ndarray | sparse.spmatrix | None = field(default=None, repr=False)
    replicates: np.ndarray | None = field(default=None, repr=False)
    srs_variance: np.ndarray | None = field(default=None, repr=False)
    counts: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.names)

    def _defined(self) -> np.ndarray:
        return np.asarray(np.isfinite(self.estimate))

    @cached_property
    def variance(self) -> np.ndarray:
        """Design variances, shape (K,) (NaN where the estimate is undefined)."""
        defined = self._defined()
        if self.replicates is not None:
            values = self.replicates
            assert isinstance(self.design, ReplicateDesign), "replicate estimates come from a replicate design"
            variance = self.design.variance(np.where(np.isfinite(values), values, 0.0), self.estimate)
            # A replicate where an estimate is undefined (its domain lost all weight) is
            # left out for that estimate, as R's svrVar drops NA replicates.
            for k in np.flatnonzero(defined & ~np.isfinite(values).all(axis=0)):
                variance[k] = _variance_dropping_nan(self.design, values[:, k], self.estimate[k])
        else:
            influence = _only_defined(self.influence, defined)
            variance = linearized_variance(full_sample_design(self.design), influence)
        return np.where(self._defined(), np.maximum(variance, 0.0), np.nan)

    @cached_property
    def covariance(self) -> np.ndarray:
        """Design covariance matrix, shape (K, K)."""
        if self.replicates is not None:
            values = np.where(np.isfinite(self.replicates), self.replicates, 0.0)
            assert isinstance(self.design, ReplicateDesign), "replicate estimates come from a replicate design"
            covariance = self.design.variance(values, self.estimate, full=True)
        else:
            influence = _only_defined(self.influence, self._defined())
            if sparse.issparse(influence):
                influence = influence.toarray()
            covariance = linearized_variance(full_sample_design(self.design), influence, full=True)
        undefined = ~self._defined()
        covariance[undefined, :] = np.nan
        covariance[:, undefined] = np.nan
        return covariance

    @property
    def se(self) -> np.ndarray:
        return np.asarray(np.sqrt(self.variance))

    @property
    def cv(self) -> np.ndarray:
        """Coefficient of variation ``se / |estimate|``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(self.se / np.abs(self.estimate))

    @property
    def df(self) -> int:
        """Degrees of freedom: PSUs minus strata."""
        return self.design.degrees_of_freedom

    @property
    def deff(self) -> np.ndarray:
        """Design effect ``Var / Var_SRS`` (R: ``deff=TRUE``); NaN when not computed."""
        if self.srs_variance is None:
            return np.full(len(self), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(self.variance / self.srs_variance)

    def confint(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """``estimate ± t_{df, (1+level)/2} se`` (statistics.md: index CIs)."""
        quantile = t_quantile(level, self.df)
        return self.estimate - quantile * self.se, self.estimate + quantile * self.se

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no estimate named {name!r}; have {', '.join(self.names[:10])}") from None

    def select(self, names: Sequence[str]) -> SurveyEstimate:
        """The estimates named ``names``, in that order."""
        positions = [self.index(n) for n in names]
        return _take(self, positions)

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        low, high = self.confint(level)
        return pd.DataFrame(
            {"estimate": self.estimate, "se": self.se, "ci_low": low, "ci_high": high, "deff": self.deff},
            index=pd.Index(self.names, name="name"),
        )


def _variance_dropping_nan(design: ReplicateDesign, values: np.ndarray, estimate: float) -> float:
    """Replicate variance of one estimate, leaving out replicates where it is undefined (as R)."""
    keep = np.isfinite(values)
    if not keep.any():
        return np.nan
    trimmed = ReplicateDesign(
        design=design.design,
        method=design.method,
        psu_factors=design.psu_factors[:, keep],
        scale=design.scale,
        rscales=design.rscales[keep],
        mse=design.mse,
        cell_adjustments=design.cell_adjustments[:, keep],
    )
    return float(trimmed.variance(values[keep, None], np.array([estimate]))[0])


def _only_defined(influence: Any, defined: np.ndarray) -> Any:
    """The influence with the columns of undefined estimates set to zero (dense or sparse)."""
    if sparse.issparse(influence):
        return sparse.csr_matrix(influence @ sparse.diags(defined.astype(np.float64)))
    return np.where(defined[None, :], influence, 0.0)


def _take(estimate: SurveyEstimate, positions: Sequence[int]) -> SurveyEstimate:
    positions = list(positions)

    def pick(array: Any, axis: int) -> Any:
        if array is None:
            return None
        if sparse.issparse(array):
            return sparse.csr_matrix(sparse.csc_matrix(array)[:, positions])
        return np.take(array, positions, axis=axis)

    return SurveyEstimate(
        names=tuple(estimate.names[p] for p in positions),
        estimate=estimate.estimate[positions],
        design=estimate.design,
        statistic=estimate.statistic,
        influence=pick(estimate.influence, 1),
        replicates=pick(estimate.replicates, 1),
        srs_variance=pick(estimate.srs_variance, 0),
        counts=pick(estimate.counts, 0),
    )


def t_quantile(level: float, df: float | np.ndarray) -> Any:
    """Two-sided critical value ``t_{df, (1 + level)/2}`` (normal when df is infinite).

    ``df`` may be an array (one per estimate: domain degrees of freedom); df ≤ 0 gives NaN
    (no interval without degrees of freedom, as R's ``qt``).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    probability = (1 + level) / 2
    if np.ndim(df) == 0:
        value = float(df)
        if not np.isfinite(value):
            return float(special.ndtri(probability))
        return float(special.stdtrit(value, probability)) if value > 0 else float("nan")
    degrees = np.asarray(df, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        finite = np.where(degrees > 0, special.stdtrit(np.where(degrees > 0, degrees, 1.0), probability), np.nan)
    return np.where(np.isinf(degrees), special.ndtri(probability), finite)


def t_interval(
    estimate: np.ndarray, se: np.ndarray, df: float | np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """``estimate ± t_{df, (1+level)/2} se`` with one df per estimate (or one for all)."""
    quantile = t_quantile(level, df)
    estimate = np.asarray(estimate, dtype=np.float64)
    half = quantile * np.asarray(se, dtype=np.float64)
    return estimate - half, estimate + half


# ---------------------------------------------------------------------------- core


def cell_totals(design: Design, values: np.ndarray, *, by: Factor | None = None) -> np.ndarray:
    """``d_k``-weighted totals of row values per design cell.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    values : ndarray, shape (n,) or (n, K)
        Finite values, one row per response.
    by : Factor, optional
        A grouping of the rows; the result then has a group axis.

    Returns
    -------
    ndarray
        Shape (C, K), or (C, G, K) with ``by``.
    """
    base = full_sample_design(design)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.shape[0] != base.n_rows:
        raise ScoringInputError(f"values have {values.shape[0]} rows but the design has {base.n_rows}")
    if by is None:
        return np.asarray(base.aggregator @ values)
    totals = np.asarray(base.cells.aggregator(base.base_weights, by.codes, by.n_levels) @ values)
    return totals.reshape(base.cells.n_cells, by.n_levels, values.shape[1])


@dataclass(frozen=True, eq=False)
class CellGroups:
    """Design cells refined by grouping variables (town, sex, …).

    One pass over the rows per value column (:meth:`totals`) then gives both the design
    cells' totals (:meth:`cell_totals`) and every group's (:meth:`group_totals`) — the
    subgroup tables cost no further pass over a million rows.
    """

    design: SurveyDesign = field(repr=False)
    of_row: np.ndarray = field(repr=False)
    cell: np.ndarray = field(repr=False)
    groups: dict[str, Factor] = field(repr=False)
    group_codes: dict[str, np.ndarray] = field(repr=False)

    @property
    def n_refined(self) -> int:
        return int(self.cell.size)

    def totals(self, values: np.ndarray) -> np.ndarray:
        """``d_k``-weighted totals per refined cell: shape (R,) for (n,) values, (R, K) for (n, K)."""
        values = np.asarray(values, dtype=np.float64)
        weights = self.design.base_weights
        if values.ndim == 1:
            return np.bincount(self.of_row, weights=weights * values, minlength=self.n_refined)
        return np.column_stack(
            [
                np.bincount(self.of_row, weights=weights * values[:, k], minlength=self.n_refined)
                for k in range(values.shape[1])
            ]
        )

    def counts(self, indicator: np.ndarray) -> np.ndarray:
        """Unweighted row counts per refined cell where ``indicator`` holds."""
        return np.bincount(self.of_row, weights=np.asarray(indicator, dtype=np.float64), minlength=self.n_refined)

    def cell_totals(self, refined: np.ndarray) -> np.ndarray:
        """Design-cell totals (C, K) from refined totals (R, K)."""
        summer = sparse.csr_matrix(
            (np.ones(self.n_refined), (self.cell, np.arange(self.n_refined))),
            shape=(self.design.cells.n_cells, self.n_refined),
        )
        return np.asarray(summer @ refined)

    def sparse_group_totals(self, refined: Sequence[np.ndarray], variable: str) -> list[sparse.csr_matrix]:
        """Totals per design cell and (level of ``variable``, column), sparse.

        Parameters
        ----------
        refined : sequence of ndarray, each shape (R, K)
            Refined-cell totals of the same K columns (e.g. numerators and denominators).
        variable : str

        Returns
        -------
        list of scipy.sparse.csr_matrix, each shape (C, G·K)
            Column ``g·K + k`` holds level *g*, column *k*; the matrices share one
            sparsity pattern (the design cells holding rows of each level), as
            :func:`ratio_from_totals` needs.  A cell holds one level of a variable that is
            constant within cells (a raking margin, a point's channel or type), so these
            are G times smaller than :meth:`group_totals`.
        """
        factor = self.groups[variable]
        n_levels = factor.n_levels
        pairs, pair_of_refined = np.unique(self.cell * n_levels + self.group_codes[variable], return_inverse=True)
        summer = sparse.csr_matrix(
            (np.ones(self.n_refined), (pair_of_refined.ravel(), np.arange(self.n_refined))),
            shape=(pairs.size, self.n_refined),
        )
        width = np.asarray(refined[0]).reshape(self.n_refined, -1).shape[1]
        rows = np.repeat(pairs // n_levels, width)
        columns = ((pairs % n_levels)[:, None] * width + np.arange(width)[None, :]).ravel()
        shape = (self.design.cells.n_cells, n_levels * width)
        return [
            sparse.csr_matrix(
                (np.asarray(summer @ np.asarray(values).reshape(self.n_refined, -1)).ravel(), (rows, columns)),
                shape=shape,
            )
            for values in refined
        ]

    def level_totals(self, refined: np.ndarray, variable: str) -> np.ndarray:
        """Totals per level of ``variable`` (G × K) from refined totals (R × K)."""
        factor = self.groups[variable]
        values = np.asarray(refined, dtype=np.float64).reshape(self.n_refined, -1)
        return np.column_stack(
            [
                np.bincount(self.group_codes[variable], weights=values[:, k], minlength=factor.n_levels)
                for k in range(values.shape[1])
            ]
        )

    def group_totals(self, refined: np.ndarray, variable: str) -> np.ndarray:
        """Totals per design cell and level of ``variable``: (C, G, K)."""
        factor = self.groups[variable]
        n_cells = self.design.cells.n_cells
        summer = sparse.csr_matrix(
            (
                np.ones(self.n_refined),
                (self.cell * factor.n_levels + self.group_codes[variable], np.arange(self.n_refined)),
            ),
            shape=(n_cells * factor.n_levels, self.n_refined),
        )
        return np.asarray(summer @ refined).reshape(n_cells, factor.n_levels, -1)


def cell_groups(design: Design, groups: dict[str, Factor]) -> CellGroups:
    """Refine the design's cells by the levels of ``groups`` (row-level factors)."""
    base = full_sample_design(design)
    key = base.cells.of_row.astype(np.int64)
    for factor in groups.values():
        key = key * factor.n_levels + factor.codes
    codes, uniques = pd.factorize(key, sort=True)
    of_row = np.asarray(codes, dtype=np.int64)
    remainder = np.asarray(uniques, dtype=np.int64)
    group_codes = {}
    for name, factor in reversed(list(groups.items())):
        group_codes[name] = remainder % factor.n_levels
        remainder = remainder // factor.n_levels
    return CellGroups(design=base, of_row=of_row, cell=remainder, groups=dict(groups), group_codes=group_codes)


def ratio_from_totals(
    design: Design,
    numerator: np.ndarray,
    denominator: np.ndarray | None,
    *,
    names: Sequence[str],
    statistic: str = "ratio",
    counts: np.ndarray | None = None,
    squares: np.ndarray | None = None,
) -> SurveyEstimate:
    """Ratios ``Σ w y / Σ w x`` (or totals when ``denominator`` is None) from cell totals.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    numerator, denominator : ndarray, shape (C, K)
        Cell totals of ``d_k y_k`` and ``d_k x_k`` (:func:`cell_totals`).
    names : sequence of str
    statistic : str
    counts : ndarray, optional
        Unweighted rows behind each estimate (reported, and used by ``deff``).
    squares : ndarray, shape (C, K), optional
        Cell totals of ``d_k x_k y_k²`` for a domain mean (``x`` the domain indicator):
        gives the design effect as R's ``svymean(..., deff=TRUE)`` on the subset.

    Returns
    -------
    SurveyEstimate
    """
    base = full_sample_design(design)
    if sparse.issparse(numerator):
        return _sparse_ratio(design, numerator, denominator, names=names, statistic=statistic, counts=counts)
    numerator = np.asarray(numerator, dtype=np.float64)
    adjustment = base.cell_adjustment
    numerator_total = adjustment @ numerator
    if denominator is None:
        estimate = numerator_total
        denominator_total = None
    else:
        denominator = np.asarray(denominator, dtype=np.float64)
        denominator_total = adjustment @ denominator
        with np.errstate(divide="ignore", invalid="ignore"):
            estimate = np.where(denominator_total > 0, numerator_total / denominator_total, np.nan)

    influence = replicates = None
    if isinstance(design, ReplicateDesign):
        replicate_numerator = design.cell_adjustments.T @ numerator
        if denominator is None:
            replicates = replicate_numerator
        else:
            replicate_denominator = design.cell_adjustments.T @ denominator
            with np.errstate(divide="ignore", invalid="ignore"):
                replicates = np.where(replicate_denominator > 0, replicate_numerator / replicate_denominator, np.nan)
    elif denominator is None:
        influence = numerator
    else:
        assert denominator_total is not None, "a ratio has a denominator total"
        safe_estimate = np.where(np.isfinite(estimate), estimate, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            influence = np.where(
                denominator_total > 0, (numerator - safe_estimate * denominator) / denominator_total, 0.0
            )

    srs_variance = None
    if squares is not None and denominator_total is not None and counts is not None:
        weighted_squares = adjustment @ np.asarray(squares, dtype=np.float64)
        n = np.asarray(counts, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            population_variance = (weighted_squares - denominator_total * estimate**2) / denominator_total * n / (n - 1)
            srs_variance = population_variance * (denominator_total - n) / (denominator_total * n)
            srs_variance = np.where(denominator_total >= n, srs_variance, np.nan)
    return SurveyEstimate(
        names=tuple(names),
        estimate=np.asarray(estimate, dtype=np.float64),
        design=design,
        statistic=statistic,
        influence=influence,
        replicates=replicates,
        srs_variance=srs_variance,
        counts=None if counts is None else np.asarray(counts),
    )


def _sparse_ratio(
    design: Design,
    numerator: sparse.spmatrix,
    denominator: sparse.spmatrix | None,
    *,
    names: Sequence[str],
    statistic: str,
    counts: np.ndarray | None,
) -> SurveyEstimate:
    """:func:`ratio_from_totals` on sparse cell totals sharing one sparsity pattern.

    The influence keeps the pattern (a cell outside a domain has zero influence), so the
    variances of a subgroup table cost its non-zeros (:func:`linearized_variance`).
    """
    base = full_sample_design(design)
    numerator = sparse.csr_matrix(numerator, dtype=np.float64)
    adjustment = base.cell_adjustment
    numerator_total = np.asarray(numerator.T @ adjustment).ravel()
    influence: sparse.spmatrix | None = None
    replicates = None
    if denominator is None:
        estimate = numerator_total
        if isinstance(design, ReplicateDesign):
            replicates = np.asarray(numerator.T @ design.cell_adjustments).T
        else:
            influence = numerator
    else:
        denominator = sparse.csr_matrix(denominator, dtype=np.float64)
        if not (
            np.array_equal(numerator.indptr, denominator.indptr)
            and np.array_equal(numerator.indices, denominator.indices)
        ):
            raise ValueError("sparse numerator and denominator totals must share one sparsity pattern")
        denominator_total = np.asarray(denominator.T @ adjustment).ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            estimate = np.where(denominator_total > 0, numerator_total / denominator_total, np.nan)
        if isinstance(design, ReplicateDesign):
            top = np.asarray(numerator.T @ design.cell_adjustments).T
            bottom = np.asarray(denominator.T @ design.cell_adjustments).T
            with np.errstate(divide="ignore", invalid="ignore"):
                replicates = np.where(bottom > 0, top / bottom, np.nan)
        else:
            columns = numerator.indices
            safe_estimate = np.where(np.isfinite(estimate), estimate, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(denominator_total > 0, 1.0 / denominator_total, 0.0)
            data = (numerator.data - safe_estimate[columns] * denominator.data) * scale[columns]
            influence = sparse.csr_matrix((data, numerator.indices, numerator.indptr), shape=numerator.shape)
    return SurveyEstimate(
        names=tuple(names),
        estimate=np.asarray(estimate, dtype=np.float64),
        design=design,
        statistic=statistic,
        influence=influence,
        replicates=replicates,
        counts=None if counts is None else np.asarray(counts),
    )


def _times(values: Any, matrix: np.ndarray) -> Any:
    """``values @ matrix``, through a sparse product when the matrix is mostly zeros (the
    per-level combinations of subgroup tables: a block-diagonal matrix); sparse values
    stay sparse."""
    mostly_zero = matrix.size >= 1024 and np.count_nonzero(matrix) <= 0.1 * matrix.size
    if sparse.issparse(values):
        return sparse.csr_matrix(values @ (sparse.csr_matrix(matrix) if mostly_zero else matrix))
    if mostly_zero:
        return np.asarray((sparse.csr_matrix(matrix.T) @ values.T).T)
    return values @ matrix


def linear_combination(
    estimate: SurveyEstimate, coefficients: np.ndarray, *, names: Sequence[str] | None = None
) -> SurveyEstimate:
    """Linear combinations ``A′θ̂`` with their variance (R: ``svycontrast``).

    Parameters
    ----------
    estimate : SurveyEstimate
        K estimates.
    coefficients : ndarray, shape (K,) or (K, Q)
        One column per combination.
    names : sequence of str, optional

    Returns
    -------
    SurveyEstimate
        Its influence (or replicates) are the same combinations of the inputs', so the
        covariances between the inputs are included (statistics.md, "Overall index").
    """
    matrix = np.asarray(coefficients, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.shape[0] != len(estimate):
        raise ValueError(f"coefficients need {len(estimate)} rows (one per estimate), got {matrix.shape[0]}")
    if names is None:
        names = tuple(f"contrast{q + 1}" for q in range(matrix.shape[1]))
    # An undefined input (NaN) makes undefined only the combinations that use it: it must
    # not reach the others through NaN × 0 in the product (issue 10, bug 4).
    defined = np.isfinite(estimate.estimate)
    combined = np.where(defined, estimate.estimate, 0.0) @ matrix
    undefined = ((~defined).astype(float) @ (matrix != 0)) > 0
    combined = np.where(undefined, np.nan, combined)
    influence = replicates = None
    if estimate.influence is not None:
        influence = _times(_only_defined(estimate.influence, defined), matrix)
    if estimate.replicates is not None:
        finite = np.isfinite(estimate.replicates) & defined[None, :]
        replicates = _times(np.where(finite, estimate.replicates, 0.0), matrix)
        # A replicate where a used input is undefined is undefined for that combination.
        lost = _times((~finite & defined[None, :]).astype(float), (matrix != 0).astype(float)) > 0
        replicates = np.where(lost, np.nan, replicates)
    return SurveyEstimate(
        names=tuple(names),
        estimate=combined,
        design=estimate.design,
        statistic="contrast",
        influence=influence,
        replicates=replicates,
    )


# ---------------------------------------------------------------------------- public estimators


def _values(
    design: Design, values: str | Sequence[str] | np.ndarray, names: Sequence[str] | None
) -> tuple[np.ndarray, tuple[str, ...]]:
    data = full_sample_design(design).data
    if isinstance(values, str):
        values = [values]
    if isinstance(values, (list, tuple)) and all(isinstance(v, str) for v in values):
        missing = [v for v in values if v not in data.columns]
        if missing:
            raise ScoringInputError(f"no column {missing[0]!r} in the design's data")
        array = np.column_stack([pd.to_numeric(data[v], errors="raise").to_numpy(np.float64) for v in values])
        return array, tuple(names or values)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    return array, tuple(names or (f"x{k + 1}" for k in range(array.shape[1])))


def _missing(array: np.ndarray, na_rm: bool, what: str) -> np.ndarray:
    missing = np.isnan(array)
    if missing.any() and not na_rm:
        row = int(np.flatnonzero(missing.any(axis=1))[0])
        raise ScoringInputError(
            f"{what} has missing values (first in row {row + 1}); pass na_rm=True to leave them out"
        )
    return np.asarray(missing)


def _by_factor(design: Design, by: str | Factor | None) -> Factor | None:
    if by is None or isinstance(by, Factor):
        return by
    data = full_sample_design(design).data
    if by not in data.columns:
        raise ScoringInputError(f"no column {by!r} in the design's data")
    return Factor.from_values(data[by], name=by)


def _by_names(names: Sequence[str], by: Factor | None, variable: str | None) -> tuple[str, ...]:
    if by is None:
        return tuple(names)
    return tuple(f"{name}[{variable or 'by'}={level}]" for level in by.levels for name in names)


def _flatten(totals: np.ndarray, by: Factor | None) -> np.ndarray:
    return totals if by is None else totals.reshape(totals.shape[0], -1)


def _row_counts(indicator: np.ndarray, by: Factor | None) -> np.ndarray:
    if by is None:
        return np.asarray(indicator.sum(axis=0))
    return np.stack(
        [np.bincount(by.codes, weights=indicator[:, k], minlength=by.n_levels) for k in range(indicator.shape[1])],
        axis=1,
    ).ravel()


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
