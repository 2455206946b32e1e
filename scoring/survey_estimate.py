"""An estimate under a design (SurveyEstimate: value, variance, degrees of freedom, confidence
interval) and the t quantiles of its interval.
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

from .design import SurveyDesign
from .variance import ReplicateDesign, linearized_variance

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
