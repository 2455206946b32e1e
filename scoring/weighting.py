"""Weighting: post-stratification, raking, trimming and weight diagnostics.

Calibration takes a design whose weights ``d_k`` come from the sampling (1 by default,
or a ``base_weight`` column) and returns a new design whose weights ``w_k`` reproduce
known population counts:

* :func:`post_stratify` — one (possibly cross-classified) variable, R's ``postStratify``;
* :func:`rake` — several margins by iterative proportional fitting to relative
  convergence ``max |total/population − 1| ≤ 1e-10``, R's ``rake`` (and
  ``calibrate(calfun = "raking")``, which has the same fixed point);
* optional trimming: the adjustment ``w_k / d_k`` is kept within ``[lower, upper]``
  times its mean ``N / Σ d``, re-raking after each trim until both hold.

Errors name the margin and level: a level in the data but not in the margins, a level
with a population but no responses (an empty cell), margins whose totals disagree, and
non-convergence.

Residents who declined to give a raking variable (``refused``, 不愿回答) are kept: the
margin becomes a :class:`RefusalMargin` (see :func:`rake`, Notes, and docs/statistics.md,
"Residents who decline a question").

The returned design remembers its calibration, so that the variance uses the
calibration residuals (:mod:`scoring.variance`) and every replicate of a replicate
design is calibrated again.

References
----------
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling.
*JASA* 87, 376–382.
Kalton, G. and Flores-Cervantes, I. (2003). Weighting methods. *Journal of Official
Statistics* 19, 81–97.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sparse

from .calibration import (
    CROSS,
    Calibration,
    Margin,
    RefusalMargin,
    Trimming,
)
from .design import SurveyDesign, build_cells
from .errors import DesignError, MarginsError, RakingError
from .questionnaire import REFUSED

__all__ = [
    "REFUSED",
    "Calibration",
    "Margin",
    "RefusalMargin",
    "Trimming",
    "WeightDiagnostics",
    "calibration_columns",
    "margins_from_frame",
    "margins_with_refusals",
    "post_stratify",
    "rake",
    "weight_diagnostics",
]

#: Default relative convergence of raking: max |weighted total / population − 1|.
RAKING_TOLERANCE = 1e-10
RAKING_MAX_ITERATIONS = 1000
#: Margins must agree on the population total to this relative precision.
TOTAL_AGREEMENT = 1e-9


@dataclass(frozen=True)
class WeightDiagnostics:
    """Summary of the analysis weights.

    Attributes
    ----------
    method : str
        ``none``, ``post_stratification`` or ``raking`` (``+trimming`` when trimmed).
    n : int
        Number of weights.
    total : float
    effective_n : float
        Kish's ``(Σw)² / Σw²``.
    deff : float
        Weighting design effect ``n Σw² / (Σw)²``.
    min, max : float
    """

    method: str
    n: int
    total: float
    effective_n: float
    deff: float
    min: float
    max: float


# ---------------------------------------------------------------------------- margins


def margins_from_frame(frame: pd.DataFrame, *, name: str = "margins") -> tuple[Margin, ...]:
    """Margins from a table with columns ``variable, level, population`` (the contract).

    Raises
    ------
    MarginsError
        Naming the row and column of any problem.
    """
    expected = ["variable", "level", "population"]
    columns = [str(c).strip() for c in frame.columns]
    if columns != expected:
        raise MarginsError(
            f"{name} must have exactly the columns {', '.join(expected)} (in that order); got {', '.join(columns)}"
        )
    margins: dict[str, dict[str, float]] = {}
    for row, (variable, level, population) in enumerate(frame.itertuples(index=False, name=None), start=1):
        where = f"{name} row {row}"
        if pd.isna(variable) or not str(variable).strip():
            raise MarginsError(f"{where}: 'variable' is empty")
        if pd.isna(level) or not str(level).strip():
            raise MarginsError(f"{where}: 'level' is empty for variable {variable!r}")
        variable, level = str(variable).strip(), _as_text(level).strip()
        count = pd.to_numeric(pd.Series([population]), errors="coerce").iloc[0]
        if pd.isna(count) or not np.isfinite(count) or count < 0:
            raise MarginsError(f"{where}: population for {variable}={level} must be a number ≥ 0, got {population!r}")
        levels = margins.setdefault(variable, {})
        if level in levels:
            raise MarginsError(f"{where}: {variable}={level} is listed twice")
        levels[level] = float(count)
    if not margins:
        raise MarginsError(f"{name} has no rows")
    return tuple(Margin(v, tuple(levels), tuple(levels.values())) for v, levels in margins.items())


def _as_text(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def margin_codes(data: pd.DataFrame, margin: Margin) -> np.ndarray:
    """The margin level of every row (codes into ``margin.levels``).

    Raises
    ------
    MarginsError
        When a column is missing, a row has no value, or a value is not a level of the
        margin (naming the level and the first row that has it).
    """
    variables = margin.variables
    for variable in variables:
        if variable not in data.columns:
            raise MarginsError(
                f"the margins name the variable {variable!r}, which is not a column of the responses; "
                "use a column name (town, sex, age_group) or remove it from the margins"
            )
    component_levels = [sorted({level.split(CROSS)[j] for level in margin.levels}) for j in range(len(variables))]
    if any(len(level.split(CROSS)) != len(variables) for level in margin.levels):
        raise MarginsError(
            f"margin {margin.variable!r}: every level must have {len(variables)} parts joined by '{CROSS}'"
        )
    n = len(data)
    key = np.zeros(n, dtype=np.int64)
    unknown = np.zeros(n, dtype=bool)
    for variable, levels in zip(variables, component_levels):
        codes, uniques = pd.factorize(data[variable], use_na_sentinel=True)
        missing = codes < 0
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise MarginsError(
                f"column {variable!r} is empty in row {row + 1} (response_id {_response_id(data, row)}), "
                f"but the weights are calibrated on {variable}; fill it in or drop the response"
            )
        index = {level: position for position, level in enumerate(levels)}
        lookup = np.array([index.get(_as_text(u), -1) for u in uniques], dtype=np.int64)
        component = lookup[codes]
        unknown |= component < 0
        key = key * len(levels) + np.maximum(component, 0)
    radix = [len(levels) for levels in component_levels]
    lookup = np.full(int(np.prod(radix)), -1, dtype=np.int64)
    for position, level in enumerate(margin.levels):
        combined = 0
        for part, levels, size in zip(level.split(CROSS), component_levels, radix):
            combined = combined * size + levels.index(part)
        lookup[combined] = position
    codes = np.where(unknown, -1, lookup[key])
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        value = CROSS.join(_as_text(data[v].iloc[row]) for v in variables)
        raise MarginsError(
            f"{margin.variable} level {value!r} occurs in the responses (first in row {row + 1}, response_id "
            f"{_response_id(data, row)}) but not in the margins; add it to the margins file or correct the data"
        )
    return codes


def _response_id(data: pd.DataFrame, row: int) -> str:
    return repr(str(data["response_id"].iloc[row])) if "response_id" in data.columns else "unknown"


def _holds(series: pd.Series, value: str) -> bool:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return value in series.cat.categories and bool((series == value).any())
    return bool((series.astype("object") == value).any())


def margins_with_refusals(data: pd.DataFrame, margins: Sequence[Margin]) -> tuple[Margin, ...]:
    """The margins, with a :class:`RefusalMargin` for each variable some rows refused.

    A margin whose levels already include :data:`REFUSED` (the office gave a population
    for it) is used as given.

    Raises
    ------
    MarginsError
        When a refused variable is part of a cross-classified margin (``sex:age_group``):
        rake on the variables as separate margins instead.
    """
    out: list[Margin] = []
    for margin in margins:
        if isinstance(margin, RefusalMargin) or REFUSED in margin.levels:
            out.append(margin)
            continue
        refused = [v for v in margin.variables if v in data.columns and _holds(data[v], REFUSED)]
        if not refused:
            out.append(margin)
            continue
        if len(margin.variables) > 1:
            raise MarginsError(
                f"some responses have {refused[0]}={REFUSED!r} (不愿回答), but the margin {margin.variable!r} "
                f"cross-classifies it; rake on {', '.join(margin.variables)} as separate margins, which handle "
                "refusals one variable at a time"
            )
        out.append(RefusalMargin(margin.variable, (*margin.levels, REFUSED), (*margin.population, 0.0)))
    return tuple(out)


def _prepare_margins(
    data: pd.DataFrame, base_weights: np.ndarray, margins: Sequence[Margin]
) -> tuple[tuple[Margin, ...], np.ndarray]:
    """Validate margins against the data: codes (n × M) into the levels kept."""
    if not margins:
        raise MarginsError("no margins given; calibration needs at least one variable with population counts")
    names = [m.variable for m in margins]
    duplicated = {v for v in names if names.count(v) > 1}
    if duplicated:
        raise MarginsError(f"margin {sorted(duplicated)[0]!r} is given twice")
    totals = [m.total for m in margins]
    if max(totals) <= 0:
        raise MarginsError("the margins' populations are all zero")
    if (max(totals) - min(totals)) > TOTAL_AGREEMENT * max(totals):
        listing = ", ".join(f"{m.variable} {m.total:,.0f}" for m in margins)
        raise MarginsError(
            f"the margins do not add up to the same population ({listing}); raking cannot meet all of them — "
            "make the totals agree"
        )
    kept_margins, columns = [], []
    for margin in margins:
        codes = margin_codes(data, margin)
        counts = np.bincount(codes, minlength=len(margin.levels))
        population = np.asarray(margin.population)
        refusal = isinstance(margin, RefusalMargin)
        for position, (level, count, pop) in enumerate(zip(margin.levels, counts, population)):
            if refusal and position == len(margin.levels) - 1:
                continue  # the refusers: no population of their own
            if count > 0 and pop == 0:
                raise MarginsError(
                    f"{margin.variable} level {level!r} has {count} responses but population 0 in the margins; "
                    "give its population or correct the data"
                )
            if count == 0 and pop > 0:
                raise RakingError(
                    f"empty cell: {margin.variable} level {level!r} has population {pop:,.0f} in the margins but no "
                    "responses; merge it with a neighbouring level in the margins (and the data) or collect responses"
                )
        keep = counts > 0
        if not keep.all():
            remap = np.cumsum(keep) - 1
            codes = remap[codes]
            margin = type(margin)(
                margin.variable, tuple(np.asarray(margin.levels, dtype=object)[keep]), tuple(population[keep])
            )
        kept_margins.append(margin)
        columns.append(codes)
    return tuple(kept_margins), np.column_stack(columns).astype(np.int64)


# ---------------------------------------------------------------------------- raking core


def _indicators(level_codes: np.ndarray, level_sizes: Sequence[int]) -> list[sparse.csr_matrix]:
    """For each margin, the sparse (levels × cells) indicator matrix."""
    n_cells = level_codes.shape[0]
    return [
        sparse.csr_matrix((np.ones(n_cells), (level_codes[:, m], np.arange(n_cells))), shape=(size, n_cells))
        for m, size in enumerate(level_sizes)
    ]


def rake_cells(
    start: np.ndarray,
    level_codes: np.ndarray,
    margins: Sequence[Margin],
    *,
    tolerance: float = RAKING_TOLERANCE,
    max_iterations: int = RAKING_MAX_ITERATIONS,
    describe_column: Callable[[int], str] | None = None,
) -> tuple[np.ndarray, int]:
    """Iterative proportional fitting of cell weights, several columns at once.

    Parameters
    ----------
    start : ndarray, shape (C, R)
        Starting cell weights, one column per weighting (the full sample or a replicate).
    level_codes : ndarray of int, shape (C, M)
        The level of every margin for every cell.
    margins : sequence of Margin
    tolerance, max_iterations
        Stop when every margin of every column is met to ``tolerance`` (relative).
    describe_column : callable, optional
        Names column *r* in error messages (e.g. a replicate).

    Returns
    -------
    weights : ndarray, shape (C, R)
    iterations : int
        Full sweeps over the margins.
    """
    weights = np.array(start, dtype=np.float64, copy=True)
    indicators = _indicators(level_codes, [len(m.levels) for m in margins])
    populations = [np.asarray(m.population, dtype=np.float64)[:, None] for m in margins]
    for iteration in range(1, max_iterations + 1):
        worst, worst_margin = 0.0, None
        for m, (indicator, population) in enumerate(zip(indicators, populations)):
            totals = indicator @ weights
            refusal = isinstance(margins[m], RefusalMargin)
            wanted = population[:-1] if refusal else population
            empty = (totals[: len(wanted)] <= 0) & (wanted > 0)
            if empty.any():
                level, column = (int(i) for i in np.argwhere(empty)[0])
                where = f" in {describe_column(column)}" if describe_column else ""
                raise RakingError(
                    f"empty cell{where}: {margins[m].variable} level {margins[m].levels[level]!r} has no weight left; "
                    "merge it with a neighbouring level or use another variance method"
                )
            if refusal:
                ratio, gap = _refusal_step(totals, margins[m])  # type: ignore[arg-type]
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(population > 0, population / totals, 0.0)
                gap = float(np.max(np.abs(totals[population[:, 0] > 0] / population[population[:, 0] > 0] - 1)))
            if gap > worst:
                worst, worst_margin = gap, m
            weights *= ratio[level_codes[:, m], :]
        if worst <= tolerance:
            return weights, iteration
    name = margins[worst_margin].variable if worst_margin is not None else "?"
    raise RakingError(
        f"raking did not converge after {max_iterations} iterations (margin {name} still off by "
        f"{worst:.3g} relative); the margins may be impossible to meet together — check for combinations of "
        "levels without responses, or merge small levels"
    )


def _refusal_step(totals: np.ndarray, margin: RefusalMargin) -> tuple[np.ndarray, float]:
    """One raking step on a margin with refusers: the factors of its levels and how far
    the current weights are from it (see :func:`rake`, Notes).

    ``totals`` (L+1 × R) are the weighted totals of the answered levels and, last, of the
    refusers.  The answered levels are brought to their population shares among those who
    answered; the refusers are multiplied by the share-weighted geometric mean of those
    factors; then everyone by the one number that makes the total the population.
    """
    answered_levels, refusers = totals[:-1], totals[-1]
    shares = margin.shares[:, None]
    answered = answered_levels.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.where(shares > 0, shares * answered / answered_levels, 0.0)
        mean = np.exp(np.sum(np.where(shares > 0, shares * np.log(factors), 0.0), axis=0))
        scale = margin.total / (answered + refusers * mean)
        used = shares[:, 0] > 0
        gap = max(
            float(np.max(np.abs(answered_levels[used] / (shares[used] * answered) - 1))),
            float(np.max(np.abs((answered + refusers) / margin.total - 1))),
        )
    return np.vstack([factors * scale, (mean * scale)[None, :]]), gap


def calibration_columns(level_codes: np.ndarray, margins: Sequence[Margin]) -> sparse.csr_matrix:
    """The calibration variables ``x_k`` of every cell (cells × columns), for the residuals.

    An ordinary margin gives the dummies of its levels.  A :class:`RefusalMargin` gives,
    for each answered level, ``z_l = I_l − q_l · I_answered`` (0 for the refusers: their
    shares are met, not their counts), and an intercept is added for the population total.
    These are the variables whose known totals (the populations, 0 for every ``z_l``, N)
    the raking meets: R's ``calibrate(design, ~z, population, calfun = "raking")``.
    """
    n_cells = level_codes.shape[0]
    blocks: list[sparse.csr_matrix] = []
    refusals = False
    for m, margin in enumerate(margins):
        size = len(margin.levels)
        codes = level_codes[:, m]
        dummies = sparse.csr_matrix((np.ones(n_cells), (np.arange(n_cells), codes)), shape=(n_cells, size))
        if isinstance(margin, RefusalMargin):
            refusals = True
            answered = (codes < size - 1).astype(np.float64)
            blocks.append(sparse.csr_matrix(dummies[:, :-1].toarray() - answered[:, None] * margin.shares[None, :]))
        else:
            blocks.append(dummies)
    if refusals:
        blocks.append(sparse.csr_matrix(np.ones((n_cells, 1))))
    return sparse.hstack(blocks, format="csr")


def calibrate_cells(
    start: np.ndarray,
    base: np.ndarray,
    level_codes: np.ndarray,
    margins: Sequence[Margin],
    *,
    trimming: Trimming | None,
    tolerance: float = RAKING_TOLERANCE,
    max_iterations: int = RAKING_MAX_ITERATIONS,
    describe_column: Callable[[int], str] | None = None,
) -> tuple[np.ndarray, int]:
    """Rake ``start`` (C × R) and, with ``trimming``, trim and re-rake until both hold.

    ``base`` (C × R) are the uncalibrated weights the adjustment is measured against.
    """
    weights, iterations = rake_cells(
        start, level_codes, margins, tolerance=tolerance, max_iterations=max_iterations, describe_column=describe_column
    )
    if trimming is None:
        return weights, iterations
    population = margins[0].total
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_adjustment = population / base.sum(axis=0)
        positive = base > 0
        lower, upper = trimming.lower * (1 - 1e-6), trimming.upper * (1 + 1e-6)
        for _ in range(trimming.max_rounds):
            ratio = np.where(positive, weights / base, 1.0) / mean_adjustment
            if ((ratio >= lower) & (ratio <= upper) | ~positive).all():
                return weights, iterations
            clipped = np.clip(ratio, trimming.lower, trimming.upper) * mean_adjustment * base
            weights, more = rake_cells(
                clipped,
                level_codes,
                margins,
                tolerance=tolerance,
                max_iterations=max_iterations,
                describe_column=describe_column,
            )
            iterations += more
    raise RakingError(
        f"trimming to [{trimming.lower:g}, {trimming.upper:g}] times the mean adjustment and re-raking did not "
        f"converge in {trimming.max_rounds} rounds; widen the bounds"
    )


# ---------------------------------------------------------------------------- public


def rake(
    design: SurveyDesign,
    margins: Iterable[Margin] | pd.DataFrame,
    *,
    trimming: Trimming | None = None,
    tolerance: float = RAKING_TOLERANCE,
    max_iterations: int = RAKING_MAX_ITERATIONS,
    method: str | None = None,
) -> SurveyDesign:
    """Calibrate the weights to population margins by raking (R: ``rake``).

    Parameters
    ----------
    design : SurveyDesign
        An uncalibrated design; its weights are the ``d_k``.
    margins : iterable of Margin, or DataFrame ``variable, level, population``
        The population counts.  Levels must match the data exactly.
    trimming : Trimming, optional
        Bounds on the adjustment, enforced by trimming and re-raking.
    tolerance : float
        Relative convergence, ``max |total/population − 1|`` (default 1e-10).
    max_iterations : int
        Sweeps over the margins before giving up.

    Returns
    -------
    SurveyDesign
        The calibrated design; its variance uses the calibration residuals.

    Raises
    ------
    MarginsError, RakingError
        Naming the margin and level (unknown level, empty cell, totals that disagree,
        non-convergence).

    Notes
    -----
    **Refusers.**  A resident may answer 不愿回答 (:data:`REFUSED`) to a raking variable.
    Such a margin is met among those who answered it: the weighted shares of its levels
    equal the population shares ``q_l``, and the weights add up to the population total.
    The refusers take the margin's *mean adjustment*, the geometric mean of the answered
    levels' factors weighted by ``q_l``, and keep the factors of the margins they did
    answer.  This is calibration (``w_k = d_k exp(x_k′λ)``) on the variables
    :func:`calibration_columns` gives — ``z_l = I_l − q_l I_answered`` with known total 0,
    and the intercept with total N — so the variance uses their residuals, and R gives the
    same weights with ``calibrate(design, ~z…, population = c(N, 0, …), calfun = "raking")``
    (``tests/scoring/r/refused_raking.R``).

    Examples
    --------
    >>> raked = rake(design, read_margins("margins.csv"))         # doctest: +SKIP
    """
    if design.is_calibrated:
        raise DesignError("the design is already calibrated; calibrate the uncalibrated design instead")
    if isinstance(margins, pd.DataFrame):
        margins = margins_from_frame(margins)
    margins = tuple(margins)
    if method is None:
        method = "post_stratification" if len(margins) == 1 else "raking"
    margins = margins_with_refusals(design.data, margins)
    kept, row_codes = _prepare_margins(design.data, design.base_weights, margins)
    sizes = tuple(len(m.levels) for m in kept)
    cells = build_cells(design.clusters.codes, design.base_weights, row_codes, sizes)
    base = cells.base_total[:, None]
    weights, iterations = calibrate_cells(
        base, base, cells.level_codes, kept, trimming=trimming, tolerance=tolerance, max_iterations=max_iterations
    )
    calibration = Calibration(
        method=method,
        margins=kept,
        trimming=trimming,
        tolerance=tolerance,
        max_iterations=max_iterations,
        iterations=iterations,
    )
    return design.with_cells(cells, weights[:, 0] / cells.base_total, calibration)


def post_stratify(
    design: SurveyDesign, margin: Margin | pd.DataFrame, *, trimming: Trimming | None = None
) -> SurveyDesign:
    """Post-stratify on one variable (R: ``postStratify``).

    ``margin`` is a :class:`Margin` — its variable may be a cross-classification such as
    ``sex:age_group`` — or a margins table with a single variable.  See :func:`rake`.
    """
    margins = margins_from_frame(margin) if isinstance(margin, pd.DataFrame) else (margin,)
    if len(margins) != 1:
        raise MarginsError(
            f"post-stratification uses one variable, got {len(margins)} ({', '.join(m.variable for m in margins)}); "
            "cross-classify them (e.g. 'sex:age_group') or rake instead"
        )
    return rake(design, margins, trimming=trimming, method="post_stratification")


def weight_diagnostics(design: SurveyDesign | np.ndarray, *, method: str | None = None) -> WeightDiagnostics:
    """Kish effective sample size, weighting design effect, and the range of the weights."""
    if isinstance(design, SurveyDesign):
        weights = design.weights
        if method is None:
            method = "none" if design.calibration is None else design.calibration.method
            if design.calibration is not None and design.calibration.trimming is not None:
                method += "+trimming"
    else:
        weights = np.asarray(design, dtype=np.float64)
        method = method or "none"
    total = float(weights.sum())
    squares = float(np.dot(weights, weights))
    n = int(weights.size)
    return WeightDiagnostics(
        method=method,
        n=n,
        total=total,
        effective_n=total**2 / squares,
        deff=n * squares / total**2,
        min=float(weights.min()),
        max=float(weights.max()),
    )
