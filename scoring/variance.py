"""Design-based variance: linearization with calibration residuals, and replicate designs.

Linearization
-------------
An estimator is linearized into influence values ``z_k`` (``θ̂ − θ ≈ Σ_k w_k z_k``).  The
variance is that of a weighted total under the design — stratified, clustered, with the
with-replacement approximation for the PSUs:

    Var = Σ_h (1 − f_h) n_h/(n_h − 1) Σ_i (t_hi − t̄_h)²,   t_hi = Σ_{k ∈ PSU hi} e_k.

After calibration (raking or post-stratification) ``e_k`` are the calibration residuals

    e_k = w_k (z_k − x_k′β̂),   β̂ = (Σ d_k x_k x_k′)⁻¹ Σ d_k x_k z_k,

with ``x_k`` the dummies of every margin, ``d_k`` the weights *before* calibration and
``w_k`` after — R's variance for ``calibrate(calfun = "raking")`` and, with equal ``d_k``,
for ``rake()`` and ``postStratify()``.  Without calibration ``e_k = w_k z_k``.

All sums run over the design's cells (:mod:`scoring.design`), where ``g = w/d`` and
``x`` are constant: the functions here take the cells' ``d``-weighted totals of the
influence values, ``Z_c = Σ_{k∈c} d_k z_k``.

Replicates
----------
:class:`ReplicateDesign` holds replicate weights built from PSU factors — the stratified
jackknife JKn (:func:`jackknife_design`) or the Rao–Wu rescaling bootstrap
(:func:`bootstrap_design`) — and **re-calibrates every replicate** to the margins of the
full-sample calibration.  The variance is ``scale Σ_r rscale_r (θ̂_r − c)²`` with ``c``
the full-sample estimate (``mse=True``, the formula of statistics.md) or the mean of the
replicates (``mse=False``, R's default).

References
----------
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
Rao, J. N. K. and Wu, C. F. J. (1988). Resampling inference with complex survey data.
*JASA* 83, 231–241.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sparse

from .design import SurveyDesign
from .errors import DesignError
from .weighting import calibrate_cells, calibration_columns

__all__ = [
    "ReplicateDesign",
    "bootstrap_design",
    "calibration_residuals",
    "jackknife_design",
    "linearized_variance",
    "replicate_design",
]

#: A jackknife has one replicate per PSU; beyond this many it is refused (use
#: linearization or the bootstrap).
MAX_JACKKNIFE_REPLICATES = 5000
#: R's tolerance below which a stratum's sampling fraction counts as 1 (no variance).
_FULLY_SAMPLED = 1e-7


def _calibration_matrix(design: SurveyDesign) -> sparse.csr_matrix:
    """The calibration variables of every cell: one-hot dummies of every margin, or for a
    margin with refusers its share variables (:func:`scoring.weighting.calibration_columns`)."""
    if design.calibration is None:
        raise ValueError("the design has no calibration: rake the weights before asking for calibrated variances")
    return calibration_columns(design.cells.level_codes, design.calibration.margins)


@dataclass(frozen=True, eq=False)
class _Basis:
    """What every linearized variance on one design shares, built once per design: a run
    asks for a few hundred variances (domains, items, subgroups) on the same design.

    ``s`` below is the variance scale ``(1 − f_h) n_h/(n_h − 1)`` of each PSU's stratum.
    """

    psu_scale: np.ndarray  # s per PSU
    centre: np.ndarray  # per PSU: centre at its stratum's mean (False in a lonely stratum)
    centring: np.ndarray  # per stratum: s_h / n_h, 0 for a lonely stratum
    to_psu: sparse.csr_matrix  # A G: PSU totals of cell values times g_c (PSUs × cells)
    x: sparse.csr_matrix | None = None  # calibration variables per cell (cells × levels)
    normal: np.ndarray | None = None  # x′ diag(d) x (levels × levels)
    dummies: np.ndarray | None = None  # M = A G diag(d) x (PSUs × levels)
    scaled_dummies: np.ndarray | None = None  # diag(s) M
    dummy_square: np.ndarray | None = None  # M′ diag(s) M
    stratum_dummies: np.ndarray | None = None  # stratum totals of M (strata × levels)


_BASES: weakref.WeakKeyDictionary[SurveyDesign, _Basis] = weakref.WeakKeyDictionary()


def _basis(design: SurveyDesign) -> _Basis:
    basis = _BASES.get(design)
    if basis is None:
        basis = _make_basis(design)
        _BASES[design] = basis
    return basis


def _make_basis(design: SurveyDesign) -> _Basis:
    stratum_scale, lonely = _scales_by_stratum(design)
    n_h = np.maximum(design.psu_per_stratum, 1).astype(np.float64)
    to_psu = sparse.csr_matrix(design.psu_aggregator @ sparse.diags(design.cell_adjustment))
    common = {
        "psu_scale": stratum_scale[design.psu_stratum],
        "centre": ~lonely[design.psu_stratum],
        "centring": np.where(lonely, 0.0, stratum_scale / n_h),
        "to_psu": to_psu,
    }
    if design.calibration is None:
        return _Basis(**common)
    x = _calibration_matrix(design)
    base = design.cells.base_total
    dummies = np.asarray((to_psu @ sparse.diags(base) @ x).toarray())
    scaled = dummies * common["psu_scale"][:, None]
    return _Basis(
        **common,
        x=x,
        normal=np.asarray((x.T @ sparse.diags(base) @ x).toarray()),
        dummies=dummies,
        scaled_dummies=scaled,
        dummy_square=dummies.T @ scaled,
        stratum_dummies=np.asarray(design.stratum_aggregator @ dummies),
    )


def _fit(basis: _Basis, right: np.ndarray) -> np.ndarray:
    """``β̂`` of the calibration fit from ``x′Z`` (levels × K).

    The dummies of several margins are collinear (each margin sums to one); the fitted
    values ``x′β̂`` are unique, so a minimum-norm least-squares solution is enough.
    """
    assert basis.normal is not None
    return np.asarray(np.linalg.lstsq(basis.normal, right, rcond=None)[0])


def calibration_residuals(design: SurveyDesign, influence: np.ndarray) -> np.ndarray:
    """Cell totals of ``e_k`` from cell totals ``Z_c = Σ_{k∈c} d_k z_k`` (C × K).

    Without calibration this is ``g_c Z_c``; after calibration the fit ``x′β̂`` uses the
    weights *before* calibration, ``d_k``, as R does (statistics.md, "Variance").
    """
    influence = np.asarray(influence, dtype=np.float64)
    adjustment = design.cell_adjustment[:, None]
    if design.calibration is None:
        return np.asarray(adjustment * influence)
    basis = _basis(design)
    assert basis.x is not None
    beta = _fit(basis, basis.x.T @ influence)
    return np.asarray(adjustment * (influence - design.cells.base_total[:, None] * (basis.x @ beta)))


def _scales_by_stratum(design: SurveyDesign) -> tuple[np.ndarray, np.ndarray]:
    """Per stratum: the variance scale ``(1 − f_h) n_h/(n_h − 1)`` and whether it has one PSU."""
    n_h = design.psu_per_stratum.astype(np.float64)
    if design.population_psus is None:
        keep = np.ones_like(n_h)
    else:
        keep = np.where(np.isinf(design.population_psus), 1.0, (design.population_psus - n_h) / design.population_psus)
        keep = np.where(keep < _FULLY_SAMPLED, 0.0, keep)
    lonely = n_h == 1
    if lonely.any() and design.lonely_psu == "fail":
        stratum = design.strata.levels[int(np.flatnonzero(lonely)[0])]
        raise DesignError(
            f"stratum {stratum!r} has only one PSU, so its variance cannot be estimated; merge it with a similar "
            "stratum, or use --lonely-psu adjust (centre it at the population mean, as R's survey.lonely.psu='adjust')"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(lonely, keep, keep * n_h / (n_h - 1))
    return scale, lonely


def linearized_variance(design: SurveyDesign, influence: Any, *, full: bool = False) -> np.ndarray:
    """Design variance of ``Σ w_k z_k`` from cell totals of ``d_k z_k``.

    Parameters
    ----------
    design : SurveyDesign
    influence : ndarray or sparse matrix, shape (C, K)
        ``Z_c = Σ_{k∈c} d_k z_k`` for K estimates.  Sparse influence (subgroup tables)
        takes :func:`_sparse_linearized_variance`, which never forms a dense C × K array.
    full : bool
        Return the K × K covariance matrix instead of the K variances.

    Returns
    -------
    ndarray
        Shape (K,) or (K, K).

    Raises
    ------
    DesignError
        A stratum with a single PSU when ``design.lonely_psu == "fail"``.
    """
    if sparse.issparse(influence):
        if not full:
            return _sparse_linearized_variance(design, sparse.csr_matrix(influence))
        influence = influence.toarray()
    basis = _basis(design)
    residuals = calibration_residuals(design, influence)
    totals = np.asarray(design.psu_aggregator @ residuals)
    sums = np.asarray(design.stratum_aggregator @ totals)
    means = sums / np.maximum(design.psu_per_stratum, 1)[:, None]
    deviations = totals - np.where(basis.centre[:, None], means[design.psu_stratum], 0.0)
    if full:
        return np.asarray((deviations * basis.psu_scale[:, None]).T @ deviations)
    return np.asarray((basis.psu_scale[:, None] * deviations**2).sum(axis=0))


def _sparse_linearized_variance(design: SurveyDesign, influence: sparse.csr_matrix) -> np.ndarray:
    """The variances of :func:`linearized_variance` from sparse influence, term by term.

    With PSU totals ``T = S − Mβ`` — ``S = A G Z`` the PSU totals of the adjusted influence
    (sparse), ``M = A G B X`` those of the calibration dummies (PSUs × levels, small) —
    ``Σ_h s_h Σ_{i∈h} (T_i − T̄_h)² = Σ_i s_i T_i² − Σ_h s_h n_h T̄_h²`` (no centring term for
    a lonely stratum) and ``Σ_i s_i T_i² = Σ s S² − 2 β′(M′sS) + β′(M′sM)β``, every
    product sparse or levels-sized.
    """
    basis = _basis(design)
    totals = sparse.csr_matrix(basis.to_psu @ influence)  # S, PSUs × K
    squares = np.asarray(totals.multiply(totals).T @ basis.psu_scale).ravel()
    stratum_totals = np.asarray((design.stratum_aggregator @ totals).toarray())
    if basis.x is not None:
        assert basis.scaled_dummies is not None and basis.dummy_square is not None
        assert basis.stratum_dummies is not None
        beta = _fit(basis, np.asarray((basis.x.T @ influence).toarray()))
        cross = np.asarray(totals.T @ basis.scaled_dummies).T  # levels × K
        squares = (
            squares - 2 * np.einsum("lk,lk->k", beta, cross) + np.einsum("lk,lk->k", beta, basis.dummy_square @ beta)
        )
        stratum_totals = stratum_totals - basis.stratum_dummies @ beta
    return np.asarray(squares - basis.centring @ stratum_totals**2, dtype=np.float64)


# ---------------------------------------------------------------------------- replicates


@dataclass(frozen=True, eq=False)
class ReplicateDesign:
    """A design with replicate weights (R: ``svrep.design``), each replicate re-calibrated.

    Attributes
    ----------
    design : SurveyDesign
        The full-sample design (its weights give the point estimates).
    method : str
        ``jackknife``, ``bootstrap`` or ``replicate`` (factors given by the caller).
    psu_factors : ndarray, shape (P, R)
        Factor applied to the weights ``d_k`` of each PSU in each replicate.
    scale : float
    rscales : ndarray, shape (R,)
        ``Var = scale Σ_r rscales_r (θ̂_r − c)²``.
    mse : bool
        Centre at the full-sample estimate (True) or the mean of the replicates.
    cell_adjustments : ndarray, shape (C, R)
        Replicate weight over ``d_k`` in every cell (after re-calibration).
    """

    design: SurveyDesign
    method: str
    psu_factors: np.ndarray = field(repr=False)
    scale: float
    rscales: np.ndarray = field(repr=False)
    mse: bool
    cell_adjustments: np.ndarray = field(repr=False)

    @property
    def n_replicates(self) -> int:
        return int(self.rscales.size)

    @property
    def degrees_of_freedom(self) -> int:
        """Number of PSUs minus number of strata, as for the full-sample design."""
        return self.design.degrees_of_freedom

    @property
    def weights(self) -> np.ndarray:
        return self.design.weights

    @cached_property
    def replicate_cell_weights(self) -> np.ndarray:
        """``Σ w_rk`` per cell and replicate (C × R)."""
        return np.asarray(self.cell_adjustments * self.design.cells.base_total[:, None])

    def replicate_weights(self) -> np.ndarray:
        """Row-level replicate weights, n × R (memory: 8 n R bytes)."""
        design = self.design
        return np.asarray(design.base_weights[:, None] * self.cell_adjustments[design.cells.of_row])

    def variance(self, replicates: np.ndarray, estimate: np.ndarray, *, full: bool = False) -> np.ndarray:
        """Replicate variance of estimates (``replicates`` is R × K, ``estimate`` K)."""
        replicates = np.asarray(replicates, dtype=np.float64)
        if self.mse:
            centre = np.asarray(estimate, dtype=np.float64)
        else:
            centre = replicates[self.rscales > 0].mean(axis=0)
        deviations = replicates - centre
        if full:
            return np.asarray(self.scale * (deviations * self.rscales[:, None]).T @ deviations)
        return np.asarray(self.scale * (self.rscales[:, None] * deviations**2).sum(axis=0))

    def describe(self) -> str:
        return f"{self.method} with {self.n_replicates} replicates, {self.design.describe()}"


def replicate_design(
    design: SurveyDesign,
    psu_factors: np.ndarray,
    *,
    scale: float,
    rscales: np.ndarray | float = 1.0,
    mse: bool = True,
    method: str = "replicate",
    replicate_names: list[str] | None = None,
) -> ReplicateDesign:
    """A replicate design from PSU factors; every replicate is calibrated again.

    Parameters
    ----------
    design : SurveyDesign
        The full-sample design, calibrated or not.
    psu_factors : ndarray, shape (P, R)
        Multipliers of ``d_k`` per PSU (in the order of ``design.clusters.levels``).
    scale, rscales, mse
        See :class:`ReplicateDesign`.
    method : str
        A label.
    replicate_names : list of str, optional
        Names of the replicates, for error messages.

    Raises
    ------
    RakingError
        When a replicate leaves a margin level without weight (naming the replicate).
    """
    factors = np.asarray(psu_factors, dtype=np.float64)
    if factors.ndim != 2 or factors.shape[0] != design.n_psu:
        raise DesignError(f"psu_factors must have one row per PSU ({design.n_psu}), got shape {factors.shape}")
    n_replicates = factors.shape[1]
    rscales = np.broadcast_to(np.asarray(rscales, dtype=np.float64), (n_replicates,)).copy()
    cells = design.cells
    cell_factors = factors[cells.psu]
    if design.calibration is None:
        adjustments = cell_factors * design.cell_adjustment[:, None]
    else:
        calibration = design.calibration
        start = cell_factors * cells.base_total[:, None]

        def describe(column: int) -> str:
            name = replicate_names[column] if replicate_names else f"replicate {column + 1}"
            return f"the {method} {name}"

        weights, _ = calibrate_cells(
            start,
            start,
            cells.level_codes,
            calibration.margins,
            trimming=calibration.trimming,
            tolerance=calibration.tolerance,
            max_iterations=calibration.max_iterations,
            describe_column=describe,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            adjustments = np.where(cells.base_total[:, None] > 0, weights / cells.base_total[:, None], 0.0)
    return ReplicateDesign(
        design=design,
        method=method,
        psu_factors=factors,
        scale=float(scale),
        rscales=rscales,
        mse=bool(mse),
        cell_adjustments=adjustments,
    )


def jackknife_design(design: SurveyDesign, *, mse: bool = True) -> ReplicateDesign:
    """Stratified delete-one-PSU jackknife, JKn (R: ``as.svrepdesign(type="JKn")``).

    Replicate *hi* drops PSU *i* of stratum *h* and multiplies the other PSUs of the
    stratum by ``n_h/(n_h − 1)``; ``rscale = (1 − f_h)(n_h − 1)/n_h``.  With one stratum
    this is JK1.  A stratum with one PSU fails, or with ``lonely_psu="adjust"`` gets R's
    treatment (its replicate zeroes it and scales every other PSU by ``H/(H − 1)``).
    Every replicate is re-calibrated to the design's margins.
    """
    n_psu = design.n_psu
    if n_psu > MAX_JACKKNIFE_REPLICATES:
        own = (
            f", {design.unclustered_rows:,} of them responses without a collection point"
            if design.unclustered_rows
            else ""
        )
        raise DesignError(
            f"the jackknife needs one replicate per PSU and this design has {n_psu:,} PSUs{own}; "
            "give --cluster, or use linearization or the bootstrap"
        )
    n_h = design.psu_per_stratum
    n_strata = design.n_strata
    strata = design.psu_stratum
    if design.population_psus is None:
        keep = np.ones(n_strata)
    else:
        keep = np.where(np.isinf(design.population_psus), 1.0, 1 - n_h / design.population_psus)
    factors = np.ones((n_psu, n_psu))
    rscales = np.zeros(n_psu)
    for psu in range(n_psu):
        h = strata[psu]
        if n_h[h] == 1:
            if design.lonely_psu == "fail":
                raise DesignError(
                    f"stratum {design.strata.levels[h]!r} has only one PSU; the jackknife cannot drop it. "
                    "Merge strata or use --lonely-psu adjust"
                )
            factors[:, psu] = np.where(strata == h, 0.0, n_strata / (n_strata - 1))
            rscales[psu] = (n_strata - 1) / n_strata
            continue
        factors[strata == h, psu] = n_h[h] / (n_h[h] - 1)
        factors[psu, psu] = 0.0
        rscales[psu] = keep[h] * (n_h[h] - 1) / n_h[h]
    return replicate_design(
        design,
        factors,
        scale=1.0,
        rscales=rscales,
        mse=mse,
        method="jackknife",
        replicate_names=[f"replicate without PSU {name!r}" for name in design.clusters.levels],
    )


def bootstrap_design(
    design: SurveyDesign, *, replicates: int = 500, seed: int = 0, mse: bool = True
) -> ReplicateDesign:
    """Rao–Wu rescaling bootstrap (R: ``as.svrepdesign(type="subbootstrap")``).

    In every replicate and stratum, ``n_h − 1`` PSUs are drawn with replacement; a PSU
    drawn ``m`` times has its weights multiplied by ``m n_h/(n_h − 1)``.  Variance
    ``1/(R − 1) Σ_r (θ̂_r − c)²``.  Every replicate is re-calibrated.

    Parameters
    ----------
    design : SurveyDesign
    replicates : int
        Number of replicates (statistics.md asks for at least 500).
    seed : int
        Seed of numpy's default generator: the same seed gives the same replicates.
    mse : bool
        Centre at the full-sample estimate.
    """
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) or replicates < 2:
        raise DesignError(f"the bootstrap needs at least 2 replicates (500 or more recommended), got {replicates!r}")
    if design.population_psus is not None:
        raise DesignError("the Rao–Wu bootstrap here does not use a finite population correction; use the jackknife")
    n_h = design.psu_per_stratum
    lonely = np.flatnonzero(n_h < 2)
    if lonely.size:
        raise DesignError(
            f"stratum {design.strata.levels[lonely[0]]!r} has only one PSU; the bootstrap needs at least two per "
            "stratum (merge strata, or use the jackknife with --lonely-psu adjust)"
        )
    rng = np.random.default_rng(seed)
    factors = np.empty((design.n_psu, int(replicates)))
    for h in range(design.n_strata):
        members = np.flatnonzero(design.psu_stratum == h)
        size = members.size
        counts = rng.multinomial(size - 1, np.full(size, 1.0 / size), size=int(replicates))
        factors[members] = counts.T * (size / (size - 1))
    return replicate_design(
        design,
        factors,
        scale=1.0 / (int(replicates) - 1),
        rscales=1.0,
        mse=mse,
        method="bootstrap",
        replicate_names=[f"replicate {r + 1}" for r in range(int(replicates))],
    )
