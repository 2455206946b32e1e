"""Estimation from cell totals: the weighted totals of every cell, the groups of cells a figure
adds up, ratios of totals with their replicate or linearised variance, and linear combinations
of estimates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sparse

from .design import Factor, SurveyDesign
from .errors import ScoringInputError
from .survey_estimate import (
    Design,
    SurveyEstimate,
    _only_defined,
    full_sample_design,
)
from .variance import ReplicateDesign


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
