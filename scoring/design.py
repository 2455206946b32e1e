"""Survey designs: strata, clusters and weights, in the manner of R's ``svydesign``.

A :class:`SurveyDesign` knows who was sampled how: the stratum and primary sampling unit
(PSU, "cluster") of every response, the weights before calibration (``d_k``) and after
(``w_k``), the finite population correction if any, and — once calibrated by
:func:`scoring.weighting.rake` or :func:`scoring.weighting.post_stratify` — the margins it
was calibrated to.  Estimators (:mod:`scoring.estimation`) take a design, as ``svymean``
and ``svyratio`` do.

Cells
-----
Every design groups its rows into *cells*: rows that share a PSU and, after calibration,
the levels of every calibration margin.  Within a cell the calibration adjustment
``g = w/d`` is constant, so every weighted total the estimators need is
``Σ_k w_k y_k = Σ_c g_c Σ_{k∈c} d_k y_k``, and the linearization and replicate variances
(including the calibration residuals and the re-raking of every replicate) can be
computed from the cells' ``d``-weighted totals — exactly, not approximately.  A million
responses fall into a few thousand cells; that is what makes the engine fast.

Clusters are nested in strata (R's ``nest=TRUE``): a PSU is a (stratum, cluster) pair,
so with strata that vary within a cluster a cluster counts as one PSU per stratum.

The design of what Manyi collects
---------------------------------
:func:`collection_design` builds the design statistics.md prescribes for Manyi's data:
the PSU is the collection point; the strata are the *point's* town (``point_town``) or
none — never the resident's town of residence, which would split one point's respondents
into several independent-looking PSUs (in simulation 95% intervals then covered 83%);
rows without a point (phone, paper) form one stratum per channel (``channel:<channel>``)
with each respondent its own PSU.  Residence town is a raking margin and a subgroup only.

Degrees of freedom
------------------
``#PSU − #strata`` for the whole sample; for a domain or subgroup the PSUs and strata
that hold at least one of its members (R: ``degf(subset(design, …))``), see
:func:`member_degrees_of_freedom`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sparse

from .errors import DesignError

if TYPE_CHECKING:
    from .calibration import Calibration

__all__ = [
    "LONELY_PSU_OPTIONS",
    "UNCLUSTERED_RULES",
    "Cells",
    "Factor",
    "SurveyDesign",
    "codes_without_blanks",
    "collection_design",
    "member_degrees_of_freedom",
    "survey_design",
]

#: How a stratum with a single PSU is handled: ``"fail"`` raises :class:`DesignError`;
#: ``"adjust"`` centres its PSU total at zero, the population mean of the influence
#: values, as R's ``options(survey.lonely.psu = "adjust")``.
LONELY_PSU_OPTIONS: tuple[str, ...] = ("fail", "adjust")
#: What :func:`collection_design` does with rows that have no cluster (no collection
#: point: phone, paper): ``"channel_strata"`` — one stratum per channel, each row its own
#: PSU; ``"fail"`` — an error naming the first such row.
UNCLUSTERED_RULES: tuple[str, ...] = ("channel_strata", "fail")
#: Prefix of the strata of rows without a point (``channel:phone``).
CHANNEL_STRATUM_PREFIX = "channel:"


@dataclass(frozen=True, eq=False)
class Factor:
    """A categorical variable: integer ``codes`` (one per row) into ``levels``."""

    codes: np.ndarray
    levels: tuple[str, ...]

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @classmethod
    def from_values(cls, values: Any, *, name: str, sort: bool = True) -> Factor:
        """Factorize ``values`` (missing values are an error naming ``name`` and the row)."""
        series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
        codes, uniques = pd.factorize(series, sort=sort, use_na_sentinel=True)
        if (codes < 0).any():
            row = int(np.flatnonzero(codes < 0)[0])
            raise DesignError(
                f"column {name!r} has a missing value in row {row + 1}; every response needs a {name} "
                "for this design (fill it in or drop the row)"
            )
        return cls(np.asarray(codes, dtype=np.int64), tuple(str(u) for u in uniques))


@dataclass(frozen=True, eq=False)
class Cells:
    """Rows grouped by PSU and calibration levels (see the module notes).

    Attributes
    ----------
    of_row : ndarray of int, shape (n,)
        The cell of every row.
    psu : ndarray of int, shape (C,)
        The PSU of every cell.
    base_total : ndarray, shape (C,)
        ``Σ d_k`` over the cell's rows.
    level_codes : ndarray of int, shape (C, M)
        The level of each of the ``M`` calibration margins (``M = 0`` before calibration).
    """

    of_row: np.ndarray
    psu: np.ndarray
    base_total: np.ndarray
    level_codes: np.ndarray

    @property
    def n_cells(self) -> int:
        return int(self.psu.size)

    def aggregator(self, base_weights: np.ndarray, by: np.ndarray | None = None, n_by: int = 1) -> sparse.csr_matrix:
        """Sparse ``(C·n_by) × n`` matrix summing ``d_k``-weighted rows into (cell, group)."""
        n = self.of_row.size
        key = self.of_row if by is None else self.of_row * n_by + by
        return sparse.csr_matrix(
            (np.asarray(base_weights, dtype=np.float64), (key, np.arange(n))),
            shape=(self.n_cells * (1 if by is None else n_by), n),
        )


def build_cells(
    psu: np.ndarray, base_weights: np.ndarray, level_codes: np.ndarray, level_sizes: tuple[int, ...]
) -> Cells:
    """Group rows by PSU and calibration level codes (``level_codes`` is n × M)."""
    key = psu.astype(np.int64)
    for m, size in enumerate(level_sizes):
        key = key * size + level_codes[:, m]
    codes, uniques = pd.factorize(key, sort=True)
    of_row = np.asarray(codes, dtype=np.int64)
    # One row of every cell (which one does not matter: they share PSU and levels).
    representative = np.zeros(uniques.size, dtype=np.int64)
    representative[of_row] = np.arange(of_row.size)
    return Cells(
        of_row=of_row,
        psu=psu[representative],
        base_total=np.bincount(of_row, weights=base_weights, minlength=uniques.size),
        level_codes=level_codes[representative],
    )


@dataclass(frozen=True, eq=False)
class SurveyDesign:
    """A survey design: the data, its strata, clusters and weights (R: ``svydesign``).

    Build one with :func:`survey_design`; calibrate it with
    :func:`scoring.weighting.rake` or :func:`scoring.weighting.post_stratify`, which return
    a new design.

    Attributes
    ----------
    data : DataFrame
        The variables, one row per response (R: ``design$variables``).
    base_weights : ndarray
        ``d_k``, the weights before calibration.
    strata : Factor
        Stratum of every row (a single level when the design is not stratified).
    clusters : Factor
        PSU of every row (each row its own PSU when the design is not clustered).
    psu_stratum : ndarray of int
        The stratum of every PSU.
    population_psus : ndarray or None
        Population number of PSUs per stratum (the finite population correction), or
        ``None`` for sampling with replacement.
    lonely_psu : str
        ``"fail"`` or ``"adjust"`` (see :data:`LONELY_PSU_OPTIONS`).
    strata_variable, cluster_variable : str or None
        The columns the strata and clusters came from.
    cells : Cells
    cell_adjustment : ndarray
        ``g_c = w/d`` per cell (ones before calibration).
    calibration : Calibration or None
        The margins the weights were calibrated to.
    unclustered_rule : str or None
        ``"channel_strata"`` when rows without a cluster value were put in strata of
        their own (:func:`collection_design`), else None.
    unclustered_rows : int
        How many rows that rule applied to.
    unclustered_strata : tuple of str
        The strata it made (``channel:phone`` …).
    clusters_split : int
        Clusters (collection points) whose rows fall in more than one stratum, each
        counted as one PSU per stratum: not 0 when the strata are not the point's town.
    """

    data: pd.DataFrame = field(repr=False)
    base_weights: np.ndarray = field(repr=False)
    strata: Factor = field(repr=False)
    clusters: Factor = field(repr=False)
    psu_stratum: np.ndarray = field(repr=False)
    population_psus: np.ndarray | None = field(repr=False)
    lonely_psu: str
    strata_variable: str | None
    cluster_variable: str | None
    cells: Cells = field(repr=False)
    cell_adjustment: np.ndarray = field(repr=False)
    calibration: Calibration | None = field(default=None, repr=False)
    unclustered_rule: str | None = None
    unclustered_rows: int = 0
    unclustered_strata: tuple[str, ...] = ()
    clusters_split: int = 0

    @cached_property
    def weights(self) -> np.ndarray:
        """The analysis weights ``w_k = d_k g_{c(k)}``."""
        return np.asarray(self.base_weights * self.cell_adjustment[self.cells.of_row])

    @property
    def n_rows(self) -> int:
        return int(self.base_weights.size)

    @property
    def n_strata(self) -> int:
        return self.strata.n_levels

    @property
    def n_psu(self) -> int:
        return self.clusters.n_levels

    @cached_property
    def psu_per_stratum(self) -> np.ndarray:
        return np.bincount(self.psu_stratum, minlength=self.n_strata)

    @property
    def degrees_of_freedom(self) -> int:
        """Number of PSUs minus number of strata (R: ``degf``)."""
        return self.n_psu - self.n_strata

    @property
    def is_calibrated(self) -> bool:
        return self.calibration is not None

    @cached_property
    def stratum_aggregator(self) -> sparse.csr_matrix:
        """Sparse strata × PSUs matrix of ones: ``stratum_aggregator @ psu_values`` gives stratum totals."""
        return sparse.csr_matrix(
            (np.ones(self.n_psu), (self.psu_stratum, np.arange(self.n_psu))), shape=(self.n_strata, self.n_psu)
        )

    @cached_property
    def psu_aggregator(self) -> sparse.csr_matrix:
        """Sparse PSUs × cells matrix of ones: ``psu_aggregator @ cell_values`` gives PSU totals."""
        cells = self.cells
        return sparse.csr_matrix(
            (np.ones(cells.n_cells), (cells.psu, np.arange(cells.n_cells))), shape=(self.n_psu, cells.n_cells)
        )

    def member_degrees_of_freedom(self, cell_members: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """PSUs, strata and df of domains given per-cell member totals (C × K, > 0 where a member is).

        See :func:`member_degrees_of_freedom`.
        """
        if sparse.issparse(cell_members):
            has = sparse.csr_matrix(self.psu_aggregator @ (sparse.csr_matrix(cell_members) > 0).astype(np.float64))
            return member_degrees_of_freedom(self, has > 0)
        members = np.asarray(cell_members, dtype=np.float64)
        if members.ndim == 1:
            members = members[:, None]
        return member_degrees_of_freedom(self, np.asarray(self.psu_aggregator @ (members > 0)) > 0)

    def summary(self) -> dict[str, Any]:
        """What the results' ``design`` section says about the design (JSON-safe)."""
        lonely = int((self.psu_per_stratum == 1).sum())
        return {
            "strata": self.strata_variable,
            "clusters": self.cluster_variable,
            "rows_without_cluster": (
                None
                if self.unclustered_rule is None
                else {
                    "rule": self.unclustered_rule,
                    "rows": int(self.unclustered_rows),
                    "strata": list(self.unclustered_strata),
                    "description": "rows without a collection point form one stratum per channel "
                    "(channel:<channel>), each respondent its own PSU",
                }
            ),
            "clusters_split_by_strata": int(self.clusters_split),
            "lonely_psu": self.lonely_psu,
            "lonely_strata": lonely,
            "n_psu": int(self.n_psu),
            "n_strata": int(self.n_strata),
            "df": int(self.degrees_of_freedom),
        }

    @cached_property
    def aggregator(self) -> sparse.csr_matrix:
        """Sparse cells × rows matrix of ``d_k``: ``aggregator @ y`` gives cell totals."""
        return self.cells.aggregator(self.base_weights)

    @cached_property
    def cell_weights(self) -> np.ndarray:
        """``Σ w_k`` per cell."""
        return np.asarray(self.cell_adjustment * self.cells.base_total)

    def with_cells(self, cells: Cells, cell_adjustment: np.ndarray, calibration: Calibration | None) -> SurveyDesign:
        """A copy on new cells with new adjustments (used by calibration)."""
        return replace(self, cells=cells, cell_adjustment=cell_adjustment, calibration=calibration)

    def describe(self) -> str:
        strata = f"{self.n_strata} strata ({self.strata_variable})" if self.strata_variable else "no strata"
        clusters = f"{self.n_psu} clusters ({self.cluster_variable})" if self.cluster_variable else "no clusters"
        calibrated = f", calibrated by {self.calibration.method}" if self.calibration else ""
        return f"survey design: {self.n_rows} rows, {strata}, {clusters}, df {self.degrees_of_freedom}{calibrated}"


def _column(data: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in data.columns:
        raise DesignError(
            f"the {what} column {name!r} is not in the data; available columns: {', '.join(map(str, data.columns[:20]))}"
            + (" …" if len(data.columns) > 20 else "")
        )
    return data[name]


def _validate_weights(data: pd.DataFrame, weights: str | np.ndarray | None) -> np.ndarray:
    n = len(data)
    if weights is None:
        return np.ones(n)
    if isinstance(weights, str):
        values = pd.to_numeric(_column(data, weights, "weights"), errors="coerce").to_numpy(dtype=np.float64)
        name = weights
    else:
        values = np.asarray(weights, dtype=np.float64)
        name = "weights"
        if values.shape != (n,):
            raise DesignError(f"weights must have one value per row ({n}), got shape {values.shape}")
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DesignError(
            f"{name} must be positive numbers; row {row + 1} has {values[row]!r}. "
            "Give every response a positive weight (or drop the column to use 1)"
        )
    return np.asarray(values)


def survey_design(
    data: pd.DataFrame,
    *,
    strata: str | None = None,
    cluster: str | None = None,
    weights: str | np.ndarray | None = None,
    fpc: str | np.ndarray | None = None,
    lonely_psu: str = "fail",
) -> SurveyDesign:
    """Describe how ``data`` was sampled (R: ``svydesign(ids, strata, weights, fpc, nest=TRUE)``).

    Parameters
    ----------
    data : DataFrame
        One row per response.
    strata : str, optional
        Column of the strata (e.g. ``"town"``).  Without it the design has one stratum.
    cluster : str, optional
        Column of the primary sampling units (e.g. ``"point"``), nested in strata.
        Without it every row is its own PSU.
    weights : str or array, optional
        Column (or array) of the sampling weights ``d_k``; default 1.
    fpc : str or array, optional
        Finite population correction: the population number of PSUs in the row's
        stratum (values > 1) or the sampling fraction (values ≤ 1), as R's ``fpc``.
    lonely_psu : {"fail", "adjust"}
        What the variance does with a stratum of a single PSU.

    Returns
    -------
    SurveyDesign

    Raises
    ------
    DesignError
        For a missing column, a missing stratum or cluster value, a non-positive weight,
        or an fpc that varies within a stratum or is smaller than the sample.

    Examples
    --------
    >>> design = survey_design(frame, strata="town", cluster="point")   # doctest: +SKIP
    """
    if not isinstance(data, pd.DataFrame):
        raise DesignError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if lonely_psu not in LONELY_PSU_OPTIONS:
        raise DesignError(f"lonely_psu must be one of {', '.join(LONELY_PSU_OPTIONS)}, got {lonely_psu!r}")
    n = len(data)
    if n == 0:
        raise DesignError("the data have no rows; nothing to estimate")
    data = data.reset_index(drop=True)
    base_weights = _validate_weights(data, weights)

    if strata is None:
        strata_factor = Factor(np.zeros(n, dtype=np.int64), ("all",))
    else:
        strata_factor = Factor.from_values(_column(data, strata, "strata"), name=strata)

    if cluster is None:
        cluster_codes = np.arange(n, dtype=np.int64)
        cluster_levels = tuple(str(k + 1) for k in range(n))
        psu_stratum = strata_factor.codes.copy()
    else:
        raw = Factor.from_values(_column(data, cluster, "cluster"), name=cluster)
        pairs = strata_factor.codes * raw.n_levels + raw.codes
        codes, uniques = pd.factorize(pairs, sort=True)
        cluster_codes = np.asarray(codes, dtype=np.int64)
        psu_stratum = (uniques // raw.n_levels).astype(np.int64)
        cluster_levels = tuple(
            f"{strata_factor.levels[s]}/{raw.levels[c]}" if strata is not None else raw.levels[c]
            for s, c in zip(uniques // raw.n_levels, uniques % raw.n_levels)
        )
    if cluster is not None and len(cluster_levels) == 1:
        raise DesignError(f"the design has only one cluster ({cluster_levels[0]}); a variance needs at least two PSUs")

    population_psus = None
    if fpc is not None:
        population_psus = _population_psus(data, fpc, strata_factor, psu_stratum)

    cells = build_cells(cluster_codes, base_weights, np.zeros((n, 0), dtype=np.int64), ())
    return SurveyDesign(
        data=data,
        base_weights=base_weights,
        strata=strata_factor,
        clusters=Factor(cluster_codes, cluster_levels),
        psu_stratum=psu_stratum,
        population_psus=population_psus,
        lonely_psu=lonely_psu,
        strata_variable=strata,
        cluster_variable=cluster,
        cells=cells,
        cell_adjustment=np.ones(cells.n_cells),
    )


def codes_without_blanks(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Sorted level codes of ``series`` with -1 for missing or blank text, and the level names.

    One factorization, one check per distinct value (a million rows have a few hundred).
    """
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    names = [str(u) for u in uniques]
    blank = np.array([not name.strip() for name in names] + [True])
    compact = np.cumsum(~blank) - 1
    compact[blank] = -1
    codes = np.asarray(codes, dtype=np.int64)
    return compact[np.where(codes < 0, len(names), codes)], [name for name, b in zip(names, blank[:-1]) if not b]


def collection_design(
    data: pd.DataFrame,
    *,
    strata: str | None = "point_town",
    cluster: str = "point",
    channel: str = "channel",
    response_id: str = "response_id",
    weights: str | np.ndarray | None = None,
    lonely_psu: str = "adjust",
    unclustered: str = "channel_strata",
) -> SurveyDesign:
    """The design of what Manyi collects (statistics.md, "The design of what Manyi collects").

    The PSU is the collection point (``cluster``); the strata are the point's town
    (``strata="point_town"``, the default) or none (``strata=None``).  Rows without a
    point — phone and paper responses — form one stratum per channel, named
    ``channel:<channel>`` (``channel:unknown`` when the channel is not given), with each
    respondent its own PSU (labelled by ``response_id``).  As R::

        stratum <- ifelse(point == "", paste0("channel:", channel), point_town)
        psu     <- ifelse(point == "", response_id, point)
        svydesign(ids = ~psu, strata = ~stratum, weights = ~1, data = ..., nest = TRUE)

    Parameters
    ----------
    data : DataFrame
        The responses (contract columns).
    strata : str or None
        Column of the point's town; None for no strata among the points.
    cluster : str
        Column of the collection point; empty or missing means "no point".
    channel : str
        Column of the channel (qr, phone, paper); may be absent.
    response_id : str
        Column labelling the rows that are their own PSU.
    weights : str or array, optional
        Design weights ``d_k``; default 1.
    lonely_psu : {"fail", "adjust"}
    unclustered : {"channel_strata", "fail"}
        What to do with rows without a point (see :data:`UNCLUSTERED_RULES`).

    Returns
    -------
    SurveyDesign
        With ``strata_variable``/``cluster_variable`` the given columns and
        ``unclustered_rule``, ``unclustered_rows``, ``unclustered_strata`` describing the
        rows without a point.

    Raises
    ------
    DesignError
        A missing column; a row with a point but no point town (naming the row and how
        to fix it); a point standing in two towns; rows without a point under
        ``unclustered="fail"``; fewer than two PSUs.

    Examples
    --------
    >>> design = collection_design(frame)   # strata point_town, PSU point, phone rows apart  # doctest: +SKIP
    """
    if not isinstance(data, pd.DataFrame):
        raise DesignError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if lonely_psu not in LONELY_PSU_OPTIONS:
        raise DesignError(f"lonely_psu must be one of {', '.join(LONELY_PSU_OPTIONS)}, got {lonely_psu!r}")
    if unclustered not in UNCLUSTERED_RULES:
        raise DesignError(
            f"rows without a collection point: the rule must be one of {', '.join(UNCLUSTERED_RULES)}, "
            f"got {unclustered!r}"
        )
    n = len(data)
    if n == 0:
        raise DesignError("the data have no rows; nothing to estimate")
    data = data.reset_index(drop=True)
    base_weights = _validate_weights(data, weights)

    point_codes, point_names = codes_without_blanks(_column(data, cluster, "cluster"))
    no_point = point_codes < 0
    pointed = ~no_point
    if no_point.any() and unclustered == "fail":
        row = int(np.flatnonzero(no_point)[0])
        raise DesignError(
            f"row {row + 1} has no {cluster!r} (a phone or paper response?); give every response a collection "
            "point, or let rows without one form their own stratum per channel"
        )

    # Strata of the rows with a point: the point's town (or one stratum).
    if strata is None:
        stratum_codes = np.zeros(n, dtype=np.int64)
        stratum_names = ["all"]
    else:
        stratum_codes, stratum_names = codes_without_blanks(_column(data, strata, "strata"))
        lacking = pointed & (stratum_codes < 0)
        if lacking.any():
            row = int(np.flatnonzero(lacking)[0])
            raise DesignError(
                f"row {row + 1} has the collection point {str(data[cluster].iloc[row])!r} but no {strata!r}; "
                f"every response at a point needs the town where the point stands ({strata}) — export it again "
                "with the point's town, or use no strata"
            )
    # Strata of the rows without a point: one per channel ("unknown" when not given).
    channel_names: list[str] = []
    if no_point.any():
        if channel in data.columns:
            channel_codes, channel_levels = codes_without_blanks(data[channel])
        else:
            channel_codes, channel_levels = np.full(n, -1, dtype=np.int64), []
        channel_levels = [*channel_levels, "unknown"]
        channel_codes = np.where(channel_codes < 0, len(channel_levels) - 1, channel_codes)
        used_channels = np.unique(channel_codes[no_point])
        channel_names = [CHANNEL_STRATUM_PREFIX + channel_levels[c] for c in used_channels]
        position = np.zeros(len(channel_levels), dtype=np.int64)
        position[used_channels] = np.arange(used_channels.size)
        stratum_codes = np.where(no_point, position[channel_codes] + len(stratum_names), stratum_codes)
    level_names = stratum_names + channel_names
    # Unused levels (the one stratum "all" when no row has a point) drop out here.
    used, stratum_codes = np.unique(stratum_codes, return_inverse=True)
    strata_factor = Factor(stratum_codes.astype(np.int64), tuple(level_names[u] for u in used))

    # PSUs: the point, or the row itself; nested in strata.
    n_points = len(point_names)
    own = np.cumsum(no_point) - 1
    raw = np.where(no_point, n_points + own, point_codes)
    n_raw = n_points + int(no_point.sum())
    pairs = strata_factor.codes * n_raw + raw
    codes, uniques = pd.factorize(pairs, sort=True)
    cluster_codes = np.asarray(codes, dtype=np.int64)
    psu_stratum = (uniques // n_raw).astype(np.int64)
    raw_of_psu = uniques % n_raw
    unclustered_rows = np.flatnonzero(no_point)
    ids = (
        data[response_id].iloc[unclustered_rows].astype(str).to_numpy()
        if response_id in data.columns
        else (unclustered_rows + 1).astype(str)
    )
    # Labels "stratum/point" (or "point" without strata) and "channel:phone/<response_id>",
    # built per PSU with array operations (a PSU of its own per phone row can be 100,000 PSUs).
    stratum_of_psu = np.asarray(strata_factor.levels, dtype=object)[psu_stratum]
    names = np.empty(raw_of_psu.size, dtype=object)
    at_point = raw_of_psu < n_points
    names[at_point] = np.asarray(point_names, dtype=object)[raw_of_psu[at_point]]
    names[~at_point] = np.asarray(ids, dtype=object)[raw_of_psu[~at_point] - n_points]
    prefixed = ~at_point if strata is None else np.ones(raw_of_psu.size, dtype=bool)
    names[prefixed] = stratum_of_psu[prefixed] + "/" + names[prefixed]
    labels = names.tolist()
    if len(labels) < 2:
        raise DesignError("the design has only one PSU; a variance needs at least two collection points or responses")
    # Clusters nest in strata (R's nest=TRUE): a point whose rows carry several strata
    # becomes several PSUs — what residence-town strata do; counted for the summary.
    _, psus_per_point = np.unique(raw_of_psu[raw_of_psu < n_points], return_counts=True)
    split = int((psus_per_point > 1).sum())
    cells = build_cells(cluster_codes, base_weights, np.zeros((n, 0), dtype=np.int64), ())
    return SurveyDesign(
        data=data,
        base_weights=base_weights,
        strata=strata_factor,
        clusters=Factor(cluster_codes, tuple(labels)),
        psu_stratum=psu_stratum,
        population_psus=None,
        lonely_psu=lonely_psu,
        strata_variable=strata,
        cluster_variable=cluster,
        cells=cells,
        cell_adjustment=np.ones(cells.n_cells),
        unclustered_rule=unclustered if no_point.any() else None,
        unclustered_rows=int(no_point.sum()),
        unclustered_strata=tuple(channel_names),
        clusters_split=split,
    )


def member_degrees_of_freedom(
    design: SurveyDesign, psu_has_member: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PSUs, strata and degrees of freedom of domains (R: ``degf(subset(design, …))``).

    Parameters
    ----------
    design : SurveyDesign
    psu_has_member : ndarray of bool or sparse matrix, shape (P, K)
        Whether PSU *p* holds at least one member of domain *k* (non-zero entries).

    Returns
    -------
    psus, strata, df : ndarray of int, shape (K,)
        PSUs holding a member, strata holding a member, and ``psus − strata``.
    """
    if sparse.issparse(psu_has_member):
        has = sparse.csr_matrix(psu_has_member, dtype=np.float64)
        has.eliminate_zeros()
        psus = np.asarray(has.getnnz(axis=0), dtype=np.int64)
        by_stratum = sparse.csr_matrix(design.stratum_aggregator @ has)
        by_stratum.eliminate_zeros()
        strata = np.asarray(by_stratum.getnnz(axis=0), dtype=np.int64)
        return psus, strata, psus - strata
    dense = np.asarray(psu_has_member, dtype=bool)
    if dense.ndim == 1:
        dense = dense[:, None]
    psus = dense.sum(axis=0).astype(np.int64)
    counts = design.stratum_aggregator @ dense.astype(np.float64)
    strata = (np.asarray(counts) > 0).sum(axis=0).astype(np.int64)
    return psus, strata, psus - strata


def _population_psus(data: pd.DataFrame, fpc: str | np.ndarray, strata: Factor, psu_stratum: np.ndarray) -> np.ndarray:
    name = fpc if isinstance(fpc, str) else "fpc"
    values = (
        pd.to_numeric(_column(data, fpc, "fpc"), errors="coerce").to_numpy(np.float64)
        if isinstance(fpc, str)
        else np.asarray(fpc, dtype=np.float64)
    )
    if values.shape != (len(data),) or not np.isfinite(values).all() or (values <= 0).any():
        raise DesignError(f"{name} must be one positive number per row")
    if (values > 1).any() and (values < 1).any():
        raise DesignError(f"{name} mixes population sizes (> 1) and sampling fractions (< 1); use one kind")
    low = np.full(strata.n_levels, np.inf)
    high = np.full(strata.n_levels, -np.inf)
    np.minimum.at(low, strata.codes, values)
    np.maximum.at(high, strata.codes, values)
    varying = np.flatnonzero(low != high)
    if varying.size:
        raise DesignError(
            f"{name} varies within stratum {strata.levels[varying[0]]!r}; it must be constant per stratum"
        )
    sampled = np.bincount(psu_stratum, minlength=strata.n_levels)
    # As R's as.fpc: values > 1 are population sizes, otherwise sampling fractions.
    population = low if (values > 1).any() else sampled / low
    too_small = np.flatnonzero(population < sampled - 1e-9)
    if too_small.size:
        h = too_small[0]
        raise DesignError(
            f"{name} says stratum {strata.levels[h]!r} has {population[h]:g} PSUs in the population "
            f"but {sampled[h]} were sampled"
        )
    return population
