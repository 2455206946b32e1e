"""Relative importance: Johnson's relative weights from (weighted) correlations.

Johnson (2000) splits the R² of a linear regression among correlated predictors:
with ``R_xx = VΛV′``, ``Λ* = VΛ^½V′`` (the correlations between the predictors and their
nearest orthogonal counterparts), ``β* = Λ*⁻¹ r_xy`` and ``ε_j = Σ_k (Λ*_jk)² (β*_k)²``;
``Σ ε = R²`` (statistics.md, "Key drivers").

The scoring engine uses it for ``--domain-weights derived``: the importance of each
domain score for the global ``overall`` item, normalised to sum 1.  Correlations are
weighted by the respondent weights and computed pairwise (a resident scores only the
domains she used); a pairwise matrix that is not positive semi-definite has its negative
eigenvalues set to zero.

References
----------
Johnson, J. W. (2000). A heuristic method for estimating the relative weight of
predictor variables in multiple regression. *Multivariate Behavioral Research* 35, 1–19.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RelativeWeights", "pairwise_weighted_correlation", "relative_weights"]


@dataclass(frozen=True, eq=False)
class RelativeWeights:
    """Johnson's relative weights ``ε`` (sum = ``r_squared``) and their shares."""

    weights: np.ndarray
    r_squared: float

    @property
    def shares(self) -> np.ndarray:
        return self.weights / self.r_squared


def relative_weights(predictor_correlation: np.ndarray, criterion_correlation: np.ndarray) -> RelativeWeights:
    """Johnson's relative weights from ``R_xx`` (p × p) and ``r_xy`` (p).

    Examples
    --------
    Uncorrelated predictors: the weights are the squared correlations.

    >>> relative_weights(np.eye(2), np.array([0.3, 0.4])).weights.round(2)
    array([0.09, 0.16])
    """
    r_xx = np.asarray(predictor_correlation, dtype=np.float64)
    r_xy = np.asarray(criterion_correlation, dtype=np.float64)
    if r_xx.ndim != 2 or r_xx.shape[0] != r_xx.shape[1] or r_xy.shape != (r_xx.shape[0],):
        raise ValueError(f"need a square R_xx and one r_xy per predictor, got {r_xx.shape} and {r_xy.shape}")
    eigenvalues, vectors = np.linalg.eigh((r_xx + r_xx.T) / 2)
    root = (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T
    beta = np.linalg.lstsq(root, r_xy, rcond=None)[0]
    weights = (root**2) @ (beta**2)
    return RelativeWeights(weights=weights, r_squared=float(weights.sum()))


def pairwise_weighted_correlation(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted Pearson correlations of the columns, each pair over the rows where both are present."""
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    present = (~np.isnan(values)).astype(np.float64)
    x = np.where(present > 0, values, 0.0)
    weighted_present = present * weights[:, None]
    weighted_x = x * weights[:, None]
    pair_weight = present.T @ weighted_present  # Σ w over rows with i and j
    sum_i = weighted_x.T @ present  # Σ w x_i over rows with i and j
    square_i = (weighted_x * x).T @ present  # Σ w x_i² over rows with i and j
    cross = weighted_x.T @ x  # Σ w x_i x_j
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_i = sum_i / pair_weight
        mean_j = mean_i.T
        covariance = cross / pair_weight - mean_i * mean_j
        variance_i = square_i / pair_weight - mean_i**2
        correlation = covariance / np.sqrt(variance_i * variance_i.T)
    np.fill_diagonal(correlation, 1.0)
    result: np.ndarray = correlation
    return result
