"""Key drivers: importance–performance analysis (IPA) of the aspect items of each domain.

For each domain the *importance* of an aspect item is its Johnson (2000) relative weight
for the domain's ``<domain>.overall`` item, computed from respondent-weighted
correlations; its *performance* is the item's index (mean item score, 0–100).  Items are
placed in four quadrants split at the domain's means (statistics.md, "Key drivers"):

=================  =====================  ==========================================
quadrant            Chinese                meaning
=================  =====================  ==========================================
``concentrate``     重点改进区              important and below the domain's mean — fix first
``keep_up``         继续保持区              important and above the mean
``low_priority``    次要改进区              less important, below the mean
``possible_overkill`` 过度投入区            less important, above the mean
=================  =====================  ==========================================

The "concentrate here" items of every domain are ranked into one list — the district's
急难愁盼 — by *relative importance × points missing to the target*.

Relative weights
----------------
With ``R_xx = V Λ V′`` the predictors' correlation matrix and ``r_xy`` their
correlations with the criterion, ``Λ* = V Λ^½ V′``, ``β* = Λ*⁻¹ r_xy`` and
``ε_j = Σ_k (Λ*_jk)² (β*_k)²``; ``Σ_j ε_j = R²``.  The computation is
:func:`scoring.importance.relative_weights` (shared with the engine's derived domain
weights; it reproduces ``iopsych::relWt``, statistics.md).

Uncertainty
-----------
Confidence intervals come from a jackknife over the design's primary sampling units:
the stratified jackknife (JKn) when the design has at most ``max_psus`` PSUs, otherwise
a delete-a-group jackknife (Kott 2001) over ``groups`` random groups of PSUs (of
respondents when the design has no clusters).  Replicate estimates are computed from
per-unit sums of weighted cross-products, so a replicate costs one small matrix product
instead of a pass over the data.  The respondent weights are held at their calibrated
values in every replicate (the scoring engine re-rakes its replicates; here the gain
would be small and the intervals are slightly conservative).

References
----------
Johnson, J. W. (2000). A heuristic method for estimating the relative weight of predictor
variables in multiple regression. *Multivariate Behavioral Research*, 35(1), 1–19.
Martilla, J. A. and James, J. C. (1977). Importance–performance analysis. *Journal of
Marketing*, 41(1), 77–79.
Kott, P. S. (2001). The delete-a-group jackknife. *Journal of Official Statistics*,
17(4), 521–526.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from .importance import relative_weights

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from .questionnaire import QuestionnaireSet

QUADRANTS: tuple[str, ...] = ("concentrate", "keep_up", "low_priority", "possible_overkill")
QUADRANT_LABELS_ZH: dict[str, str] = {
    "concentrate": "重点改进区",
    "keep_up": "继续保持区",
    "low_priority": "次要改进区",
    "possible_overkill": "过度投入区",
}
#: Below this smallest eigenvalue a pairwise correlation matrix is reported as repaired
#: (:func:`scoring.importance.relative_weights` sets negative eigenvalues to zero).
_EIGEN_FLOOR = 1e-8


# ---------------------------------------------------------------------------
# Weighted pairwise moments


@dataclass(frozen=True)
class _Moments:
    """Weighted pairwise-complete sums; each array has shape (..., m, m).

    ``count[i, j] = Σ w m_i m_j``, ``first[i, j] = Σ w x_i m_i m_j``,
    ``second[i, j] = Σ w x_i² m_i m_j``, ``cross[i, j] = Σ w x_i x_j m_i m_j``.
    """

    count: np.ndarray
    first: np.ndarray
    second: np.ndarray
    cross: np.ndarray


def _moments(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Stacked moment matrices (4, m, m) of rows ``values`` (NaN = missing)."""
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    mask = present.astype(np.float64)
    weighted_mask = mask * weights[:, None]
    weighted_values = filled * weights[:, None]
    return np.stack(
        [
            weighted_mask.T @ mask,
            weighted_values.T @ mask,
            (weighted_values * filled).T @ mask,
            weighted_values.T @ filled,
        ]
    )


def _correlations(moments: np.ndarray) -> np.ndarray:
    """Pairwise-complete weighted correlations from stacked moments (..., 4, m, m)."""
    count, first, second, cross = (moments[..., k, :, :] for k in range(4))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_row = first / count
        mean_col = np.swapaxes(first, -1, -2) / count
        covariance = cross / count - mean_row * mean_col
        variance_row = second / count - mean_row**2
        variance_col = np.swapaxes(second, -1, -2) / count - mean_col**2
        correlation = covariance / np.sqrt(variance_row * variance_col)
    m = correlation.shape[-1]
    correlation[..., np.arange(m), np.arange(m)] = 1.0
    return np.clip(correlation, -1.0, 1.0)


def _means(moments: np.ndarray) -> np.ndarray:
    """Weighted mean of each variable over the rows that answered it: (..., m)."""
    count = np.diagonal(moments[..., 0, :, :], axis1=-2, axis2=-1)
    first = np.diagonal(moments[..., 1, :, :], axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return first / count


# ---------------------------------------------------------------------------
# Jackknife over the design's units


@dataclass(frozen=True)
class ReplicatePlan:
    """How the jackknife replicates are formed.

    Attributes
    ----------
    unit_of_row : numpy.ndarray
        Index of the variance unit (PSU or group) of every row.
    coefficients : numpy.ndarray, shape (R, U)
        Replicate r's weight factor for unit u.
    multipliers : numpy.ndarray, shape (R,)
        Factor of each squared deviation in the variance.
    df : int
        Degrees of freedom of the intervals.
    method : str
        ``"JKn"`` (stratified jackknife over PSUs) or ``"DAGJK"`` (delete-a-group).
    description : str
        One line for the methodology section.
    """

    unit_of_row: np.ndarray
    coefficients: np.ndarray
    multipliers: np.ndarray
    df: int
    method: str
    description: str

    @property
    def replicates(self) -> int:
        return int(self.coefficients.shape[0])


def _codes(values: Any, n: int, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != (n,):
        raise ValueError(f"{name} must have one value per row ({n}), got shape {array.shape}")
    _, codes = np.unique(array.astype(str), return_inverse=True)
    return codes


def replicate_plan(
    n: int,
    *,
    strata: Any = None,
    clusters: Any = None,
    max_psus: int = 200,
    groups: int = 100,
    seed: int = 2025,
) -> ReplicatePlan:
    """Jackknife replicates for ``n`` rows of a (stratified, clustered) design.

    Parameters
    ----------
    n : int
        Number of rows.
    strata, clusters : array_like, optional
        Stratum and PSU of each row.  Without clusters every row is its own PSU.
    max_psus : int
        Up to this many PSUs, the stratified jackknife JKn deletes one PSU per replicate
        (``Var = Σ_h (n_h − 1)/n_h Σ_i (θ_(hi) − θ̂)²``, df = #PSU − #strata); strata with a
        single PSU contribute nothing.  Beyond it, the delete-a-group jackknife is used.
    groups : int
        Number of random groups of PSUs for the delete-a-group jackknife
        (``Var = (G − 1)/G Σ_g (θ_(g) − θ̂)²``, df = G − 1).
    seed : int
        Seed of the random assignment of PSUs to groups.

    Returns
    -------
    ReplicatePlan
    """
    if n < 2:
        raise ValueError("at least two rows are needed for a jackknife")
    if groups < 2:
        raise ValueError(f"groups must be at least 2, got {groups}")
    strata_codes = np.zeros(n, dtype=np.int64) if strata is None else _codes(strata, n, "strata")
    if clusters is None:
        psu = np.arange(n)
    else:
        # PSU ids are unique within strata only in some designs: key them by stratum.
        cluster_codes = _codes(clusters, n, "clusters")
        _, psu = np.unique(np.stack([strata_codes, cluster_codes], axis=1), axis=0, return_inverse=True)
        psu = psu.reshape(-1)
    n_psu = int(psu.max()) + 1
    psu_stratum = np.zeros(n_psu, dtype=np.int64)
    psu_stratum[psu] = strata_codes
    if n_psu <= max_psus:
        rows: list[np.ndarray] = []
        multipliers: list[float] = []
        n_strata = int(psu_stratum.max()) + 1
        for stratum in range(n_strata):
            members = np.flatnonzero(psu_stratum == stratum)
            size = len(members)
            if size < 2:
                continue
            for deleted in members:
                coefficient = np.ones(n_psu)
                coefficient[members] = size / (size - 1)
                coefficient[deleted] = 0.0
                rows.append(coefficient)
                multipliers.append((size - 1) / size)
        if not rows:
            raise ValueError("every stratum has a single PSU: the jackknife cannot estimate a variance")
        df = n_psu - len(np.unique(psu_stratum))
        return ReplicatePlan(
            unit_of_row=psu,
            coefficients=np.array(rows),
            multipliers=np.array(multipliers),
            df=max(df, 1),
            method="JKn",
            description=f"分层刀切法（JKn），{n_psu} 个初级抽样单位、{len(rows)} 个重复样本，自由度 {max(df, 1)}",
        )
    group_count = min(groups, n_psu)
    rng = np.random.default_rng(seed)
    # Sort PSUs by stratum, shuffle within, assign groups systematically: every group
    # gets PSUs from every stratum (Kott's recommendation).
    order = np.lexsort((rng.random(n_psu), psu_stratum))
    group_of_psu = np.empty(n_psu, dtype=np.int64)
    group_of_psu[order] = np.arange(n_psu) % group_count
    coefficients = np.ones((group_count, group_count)) * group_count / (group_count - 1)
    np.fill_diagonal(coefficients, 0.0)
    unit = "初级抽样单位" if clusters is not None else "受访者"
    return ReplicatePlan(
        unit_of_row=group_of_psu[psu],
        coefficients=coefficients,
        multipliers=np.full(group_count, (group_count - 1) / group_count),
        df=group_count - 1,
        method="DAGJK",
        description=f"分组刀切法（DAGJK），{n_psu} 个{unit}随机分为 {group_count} 组，自由度 {group_count - 1}",
    )


def _unit_moments(values: np.ndarray, weights: np.ndarray, unit_of_row: np.ndarray, n_units: int) -> np.ndarray:
    """Moments per unit: (U, 4, m, m)."""
    order = np.argsort(unit_of_row, kind="stable")
    bounds = np.searchsorted(unit_of_row[order], np.arange(n_units + 1))
    m = values.shape[1]
    result = np.zeros((n_units, 4, m, m))
    for unit in range(n_units):
        rows = order[bounds[unit] : bounds[unit + 1]]
        if len(rows):
            result[unit] = _moments(values[rows], weights[rows])
    return result


def _jackknife_se(estimate: np.ndarray, replicates: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
    deviations = replicates - estimate[None, ...]
    usable = np.isfinite(deviations)
    squared = np.where(usable, deviations, 0.0) ** 2
    return np.sqrt(np.tensordot(multipliers, squared, axes=(0, 0)))


# ---------------------------------------------------------------------------
# Domains and items


@dataclass(frozen=True)
class DriverDomain:
    """The items of one domain as the driver analysis needs them (codes and labels)."""

    domain: str
    aspects: tuple[str, ...]
    overall: str
    labels: Mapping[str, str]
    label: str


def driver_domains(
    columns: Sequence[str],
    questionnaires: QuestionnaireSet | None = None,
) -> dict[str, DriverDomain]:
    """The domains of a table of item columns: aspect items and ``<domain>.overall``.

    Parameters
    ----------
    columns : sequence of str
        Column names; item columns are ``<domain>.<item>``.
    questionnaires : QuestionnaireSet, optional
        Gives the aspect items and their Chinese labels.  Without it, every
        ``<domain>.<item>`` column other than ``<domain>.overall`` is an aspect item,
        labelled by its code.

    Returns
    -------
    dict
        Domain id → :class:`DriverDomain`, in the fixed domain order, for domains that
        have their overall item and at least two aspect items among ``columns``.
    """
    from .questionnaire import DOMAIN_IDS, DOMAIN_LABELS_ZH

    present = set(columns)
    found: dict[str, DriverDomain] = {}
    if questionnaires is not None:
        for domain, questionnaire in questionnaires.domains.items():
            aspects = tuple(item.code for item in questionnaire.aspect_items if item.code in present)
            overall = f"{domain}.overall"
            if overall not in present or len(aspects) < 2:
                continue
            found[domain] = DriverDomain(
                domain=domain,
                aspects=aspects,
                overall=overall,
                labels={code: questionnaires.item(code).label.zh for code in (*aspects, overall)},
                label=questionnaire.title.zh,
            )
        return found
    by_domain: dict[str, list[str]] = {}
    for column in columns:
        if "." in column:
            by_domain.setdefault(column.split(".", 1)[0], []).append(column)
    ordered = [d for d in DOMAIN_IDS if d in by_domain] + sorted(d for d in by_domain if d not in DOMAIN_IDS)
    for domain in ordered:
        overall = f"{domain}.overall"
        aspects = tuple(code for code in by_domain[domain] if code != overall)
        if overall not in present or len(aspects) < 2:
            continue
        found[domain] = DriverDomain(
            domain=domain,
            aspects=aspects,
            overall=overall,
            labels={code: code.split(".", 1)[1] for code in (*aspects, overall)},
            label=DOMAIN_LABELS_ZH.get(domain, domain),
        )
    return found


def item_score_frame(responses: pd.DataFrame, *, questionnaires: QuestionnaireSet | None = None) -> pd.DataFrame:
    """Item scores 0–100 of the ``<domain>.<item>`` columns of a responses table.

    ``s = (x − 1)/(K − 1) × 100`` with K the item's scale length (from ``questionnaires``,
    else 5); missing stays missing.
    """
    import pandas as pd

    codes = [column for column in responses.columns if "." in column]
    lengths = np.array(
        [questionnaires.scale_length(code) if questionnaires is not None else 5 for code in codes], dtype=np.float64
    )
    answers = responses.loc[:, codes].to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame((answers - 1.0) / (lengths - 1.0) * 100.0, columns=codes, index=responses.index)


@dataclass(frozen=True)
class ItemDriver:
    """Importance and performance of one aspect item.

    Attributes
    ----------
    importance : float
        Johnson's relative weight ε (its part of the domain's R²).
    importance_share : float
        ε / R²: the item's share of the explained variance (the domain's items sum to 1).
    relative_importance : float
        ``importance_share × k`` (k aspect items): 1 is an average item of the domain.
    performance : float
        Item index, 0–100.
    n : int
        Respondents who answered the item and ``<domain>.overall``.
    quadrant : str
        One of :data:`QUADRANTS`.
    """

    domain: str
    item: str
    label: str
    importance: float
    importance_se: float
    importance_ci_low: float
    importance_ci_high: float
    importance_share: float
    share_ci_low: float
    share_ci_high: float
    relative_importance: float
    performance: float
    performance_se: float
    performance_ci_low: float
    performance_ci_high: float
    n: int
    quadrant: str

    def to_dict(self) -> dict[str, Any]:
        """The item's entry in results.json (the domain is the enclosing key there)."""
        fields = asdict(self)
        del fields["domain"]
        return fields


@dataclass(frozen=True)
class DomainDrivers:
    """The IPA of one domain."""

    domain: str
    label: str
    items: tuple[ItemDriver, ...]
    r_squared: float
    r_squared_ci_low: float
    r_squared_ci_high: float
    n: int
    importance_mean: float
    performance_mean: float
    repaired: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "r_squared": self.r_squared,
            "r_squared_ci_low": self.r_squared_ci_low,
            "r_squared_ci_high": self.r_squared_ci_high,
            "n": self.n,
            "importance_mean": self.importance_mean,
            "performance_mean": self.performance_mean,
            "correlations_repaired": self.repaired,
            "items": [item.to_dict() for item in self.items],
        }


@dataclass(frozen=True)
class Priority:
    """One entry of the cross-domain "concentrate here" list (急难愁盼)."""

    rank: int
    domain: str
    domain_label: str
    item: str
    label: str
    relative_importance: float
    performance: float
    performance_ci_low: float
    performance_ci_high: float
    gap: float
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "domain": self.domain,
            "domain_label": self.domain_label,
            "item": self.item,
            "label": self.label,
            "relative_importance": self.relative_importance,
            "performance": self.performance,
            "performance_ci_low": self.performance_ci_low,
            "performance_ci_high": self.performance_ci_high,
            "gap": self.gap,
            "score": self.score,
        }


@dataclass(frozen=True)
class DriverAnalysis:
    """Key drivers of every domain and the ranked priority list."""

    domains: Mapping[str, DomainDrivers]
    priorities: tuple[Priority, ...]
    target: float
    method: str
    replicates: int
    df: int
    description: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "importance": "johnson_relative_weights",
            "correlations": "weighted_pairwise",
            "variance": self.method,
            "replicates": self.replicates,
            "df": self.df,
            "target": self.target,
            "domains": {domain: drivers.to_dict() for domain, drivers in self.domains.items()},
            "priorities": [priority.to_dict() for priority in self.priorities],
            "notes": list(self.notes),
        }


def _quadrant(importance: float, performance: float, importance_mean: float, performance_mean: float) -> str:
    important = importance >= importance_mean
    performing = performance >= performance_mean
    if important:
        return "keep_up" if performing else "concentrate"
    return "possible_overkill" if performing else "low_priority"


def key_drivers(
    item_scores: pd.DataFrame,
    weights: Any,
    *,
    domains: Mapping[str, DriverDomain] | None = None,
    questionnaires: QuestionnaireSet | None = None,
    strata: Any = None,
    clusters: Any = None,
    target: float = 85.0,
    min_respondents: int = 30,
    max_psus: int = 200,
    groups: int = 100,
    seed: int = 2025,
    progress: Callable[[int, int], None] | None = None,
) -> DriverAnalysis:
    """Importance–performance analysis of every domain.

    Parameters
    ----------
    item_scores : pandas.DataFrame
        Item scores 0–100 (NaN = missing) of the responses that were scored (after
        screening), one column per item code; see :func:`item_score_frame` to make
        one from a responses table.
    weights : array_like
        Respondent weights (e.g. the raked weights), one per row.
    domains : mapping, optional
        Domain id → :class:`DriverDomain`; default :func:`driver_domains` of the columns.
    questionnaires : QuestionnaireSet, optional
        Item labels, used by :func:`driver_domains` when ``domains`` is not given.
    strata, clusters : array_like, optional
        The design, for the jackknife (see :func:`replicate_plan`).
    target : float
        The target index (85): the priority of an item grows with the points it misses.
    min_respondents : int
        A domain with fewer respondents answering its overall item is skipped (noted).
    max_psus, groups, seed : int
        Jackknife settings, see :func:`replicate_plan`.
    progress : callable, optional
        Called as ``progress(done, total)`` after each domain.

    Returns
    -------
    DriverAnalysis

    Notes
    -----
    Correlations are weighted Pearson correlations over the respondents who answered
    both items (pairwise complete), because "don't know / not applicable" answers make
    complete cases scarce.  A pairwise matrix that is not positive semi-definite has its
    negative eigenvalues set to zero (the domain is flagged).
    """
    weights = np.asarray(weights, dtype=np.float64)
    n = len(item_scores)
    if weights.shape != (n,):
        raise ValueError(f"weights must have one value per response ({n}), got shape {weights.shape}")
    if np.any(~np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("weights must be finite and non-negative")
    if domains is None:
        domains = driver_domains([str(c) for c in item_scores.columns], questionnaires)
    plan = replicate_plan(n, strata=strata, clusters=clusters, max_psus=max_psus, groups=groups, seed=seed)
    n_units = int(plan.unit_of_row.max()) + 1
    t_quantile = float(stats.t.ppf(0.975, plan.df))
    results: dict[str, DomainDrivers] = {}
    notes: list[str] = []
    total = len(domains)
    for done, (domain, spec) in enumerate(domains.items(), start=1):
        codes = (*spec.aspects, spec.overall)
        scores = item_scores.loc[:, list(codes)].to_numpy(dtype=np.float64, na_value=np.nan)
        answered_overall = ~np.isnan(scores[:, -1])
        respondents = int(np.count_nonzero(answered_overall & (~np.isnan(scores[:, :-1])).any(axis=1)))
        if respondents < min_respondents:
            notes.append(
                f"{spec.label}：仅 {respondents} 人回答了总体满意度题，少于 {min_respondents} 人，未做驱动因素分析"
            )
            if progress:
                progress(done, total)
            continue
        full = _moments(scores, weights)
        per_unit = _unit_moments(scores, weights, plan.unit_of_row, n_units)
        replicate_moments = np.tensordot(plan.coefficients, per_unit, axes=(1, 0))
        stacked = np.concatenate([full[None], replicate_moments])
        correlations = _correlations(stacked)
        k = len(spec.aspects)
        predictors = correlations[:, :k, :k]
        criterion = correlations[:, :k, k]
        if not (np.all(np.isfinite(predictors[0])) and np.all(np.isfinite(criterion[0]))):
            notes.append(f"{spec.label}：有题目无人作答或所有回答相同，无法计算相关系数，未做驱动因素分析")
            if progress:
                progress(done, total)
            continue
        # Replicates where a correlation is undefined (a unit held all answers of an
        # item) are left out of the variance rather than breaking the analysis.
        finite = np.all(np.isfinite(predictors), axis=(1, 2)) & np.all(np.isfinite(criterion), axis=1)
        predictors = np.where(finite[:, None, None], predictors, predictors[0])
        criterion = np.where(finite[:, None], criterion, criterion[0])
        eps = np.stack([relative_weights(p, c).weights for p, c in zip(predictors, criterion)])
        repaired = np.linalg.eigvalsh(predictors[:1]).min(axis=1) < _EIGEN_FLOOR
        r_squared = eps.sum(axis=1)
        shares = eps / r_squared[:, None]
        means = _means(stacked)[:, :k]
        multipliers = plan.multipliers[finite[1:]]
        reps = slice(1, None)
        eps_se = _jackknife_se(eps[0], eps[reps][finite[1:]], multipliers)
        share_se = _jackknife_se(shares[0], shares[reps][finite[1:]], multipliers)
        r2_se = float(_jackknife_se(r_squared[:1], r_squared[reps][finite[1:], None], multipliers)[0])
        performance_se = _jackknife_se(means[0], means[reps][finite[1:]], multipliers)
        if not np.all(finite[1:]):
            notes.append(f"{spec.label}：{int((~finite[1:]).sum())} 个重复样本无法计算相关系数，已从方差估计中略去")
        if repaired[0]:
            notes.append(f"{spec.label}：成对相关矩阵非正定，已做最小特征值修正")
        importance_mean = float(eps[0].mean())
        performance_mean = float(np.mean(means[0]))
        pair_counts = (~np.isnan(scores[:, :k]) & answered_overall[:, None]).sum(axis=0)
        items = []
        for j, code in enumerate(spec.aspects):
            items.append(
                ItemDriver(
                    domain=domain,
                    item=code,
                    label=spec.labels.get(code, code),
                    importance=float(eps[0, j]),
                    importance_se=float(eps_se[j]),
                    importance_ci_low=float(max(eps[0, j] - t_quantile * eps_se[j], 0.0)),
                    importance_ci_high=float(eps[0, j] + t_quantile * eps_se[j]),
                    importance_share=float(shares[0, j]),
                    share_ci_low=float(max(shares[0, j] - t_quantile * share_se[j], 0.0)),
                    share_ci_high=float(min(shares[0, j] + t_quantile * share_se[j], 1.0)),
                    relative_importance=float(shares[0, j] * k),
                    performance=float(means[0, j]),
                    performance_se=float(performance_se[j]),
                    performance_ci_low=float(means[0, j] - t_quantile * performance_se[j]),
                    performance_ci_high=float(means[0, j] + t_quantile * performance_se[j]),
                    n=int(pair_counts[j]),
                    quadrant=_quadrant(float(eps[0, j]), float(means[0, j]), importance_mean, performance_mean),
                )
            )
        results[domain] = DomainDrivers(
            domain=domain,
            label=spec.label,
            items=tuple(items),
            r_squared=float(r_squared[0]),
            r_squared_ci_low=float(max(r_squared[0] - t_quantile * r2_se, 0.0)),
            r_squared_ci_high=float(min(r_squared[0] + t_quantile * r2_se, 1.0)),
            n=respondents,
            importance_mean=importance_mean,
            performance_mean=performance_mean,
            repaired=bool(repaired[0]),
        )
        if progress:
            progress(done, total)
    return DriverAnalysis(
        domains=results,
        priorities=rank_priorities(results, target=target),
        target=float(target),
        method=plan.method,
        replicates=plan.replicates,
        df=plan.df,
        description=plan.description,
        notes=tuple(notes),
    )


def rank_priorities(domains: Mapping[str, DomainDrivers], *, target: float = 85.0) -> tuple[Priority, ...]:
    """The "concentrate here" items of every domain, most urgent first.

    Parameters
    ----------
    domains : mapping of DomainDrivers
    target : float
        The target index.

    Returns
    -------
    tuple of Priority
        Ranked by ``relative importance × max(target − performance, 0)``, then by lower
        performance: an item that matters twice as much as its domain's average item and
        misses the target by 10 points scores 20.
    """
    entries = []
    for drivers in domains.values():
        for item in drivers.items:
            if item.quadrant != "concentrate":
                continue
            gap = max(target - item.performance, 0.0)
            entries.append((item.relative_importance * gap, -item.performance, drivers, item, gap))
    entries.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    return tuple(
        Priority(
            rank=rank,
            domain=item.domain,
            domain_label=drivers.label,
            item=item.item,
            label=item.label,
            relative_importance=item.relative_importance,
            performance=item.performance,
            performance_ci_low=item.performance_ci_low,
            performance_ci_high=item.performance_ci_high,
            gap=gap,
            score=score,
        )
        for rank, (score, _, drivers, item, gap) in enumerate(entries, start=1)
    )
