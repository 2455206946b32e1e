"""The generator's records (parameters, truth, population, sample, contamination and integrity
plants) and the checks of their options.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .parameters import (
    _DRIVER_STRENGTH,
    _OVERALL_OFFSET,
    _PERSON_GENERAL_SHARE,
    CONTAMINATION_KINDS,
    DEFAULT_NO_POINT_CHANNELS,
)


@dataclass(frozen=True)
class Contamination:
    """Shares of planted low-quality rows, for screening tests (all 0 by default).

    Parameters
    ----------
    speeders : float
        Share of rows whose duration is below a quarter of the median (the screening rule
        is "below a third"); their answers are random.
    straight_liners : float
        Share of rows giving one answer to all of at least
        :data:`STRAIGHT_LINE_MIN_ITEMS` answered aspect items (they tick extra services if
        needed to reach that many items).
    duplicate_browser : float
        Share of rows that copy an earlier clean row and carry the flag
        ``duplicate_browser`` in ``flags``.
    partial : float
        Share of rows with ``state`` ``partial``: the resident left after some of her
        domain pages; later domains, ``overall`` and the demographics are missing.

    Notes
    -----
    Planted rows are chosen at random among the drawn rows and the kinds are disjoint,
    so the clean rows remain a sample from the same design: screening that removes
    exactly the planted rows leaves data for which the truth is still the estimand.
    Clean rows are never speeders (their durations are floored at 0.4 × median), but a
    very satisfied clean respondent can straight-line by chance; tests of the screening
    rule should compare with :attr:`SyntheticSample.planted` accordingly.
    """

    speeders: float = 0.0
    straight_liners: float = 0.0
    duplicate_browser: float = 0.0
    partial: float = 0.0

    def __post_init__(self) -> None:
        for kind in CONTAMINATION_KINDS:
            share = getattr(self, kind)
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
                raise ValueError(f"contamination {kind} must be a share in [0, 1), got {share!r}")
        if self.total > 0.5:
            raise ValueError(f"contamination shares add up to {self.total:.3g}; keep their sum at most 0.5")

    @property
    def total(self) -> float:
        return float(sum(getattr(self, kind) for kind in CONTAMINATION_KINDS))


@dataclass(frozen=True)
class IntegrityPlants:
    """Coached points and a bot farm to plant in a sample (issue 15); nothing by default.

    Parameters
    ----------
    coached_points : tuple of str
        Codes of drawn collection points where residents were coached.
    random_coached_points : int
        Further coached points, chosen at random among the drawn points (other than
        ``coached_points``) with the sample seed.
    coached_responses : int
        Coached residents per coached point (the scenario of issue 15 is ≥ 30).  They are
        extra residents of the point's catchment with ordinary demographics, usage,
        durations and times of day.
    coached_top_share : float
        Share of the coached answers that are the top category K (非常满意); the others
        are K − 1 (满意).
    bot_responses : int
        Responses of the bot farm (0: no farm).
    bot_addresses : int
        Size of the farm's pool of addresses, used in turn.

    Notes
    -----
    Planted rows count in ``n_responses`` and are never chosen for contamination.  A
    drawn point can be chosen with ``sample.sampled_points["code"]`` of a sample drawn with
    the same arguments and seed but without plants, or with ``random_coached_points``.
    """

    coached_points: tuple[str, ...] = ()
    random_coached_points: int = 0
    coached_responses: int = 40
    coached_top_share: float = 0.6
    bot_responses: int = 0
    bot_addresses: int = 8

    def __post_init__(self) -> None:
        points = self.coached_points
        if isinstance(points, str) or not isinstance(points, (tuple, list)):
            raise ValueError(f"coached_points must be a tuple of point codes, got {points!r}")
        if not all(isinstance(code, str) and code for code in points) or len(set(points)) != len(points):
            raise ValueError(f"coached_points must be distinct point codes (e.g. ('hosp-01',)), got {points!r}")
        object.__setattr__(self, "coached_points", tuple(points))
        _validate_int(self.random_coached_points, "random_coached_points", minimum=0)
        _validate_int(self.coached_responses, "coached_responses", minimum=1)
        _validate_int(self.bot_responses, "bot_responses", minimum=0)
        _validate_int(self.bot_addresses, "bot_addresses", minimum=1)
        share = self.coached_top_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ValueError(f"coached_top_share must be a share in [0, 1], got {share!r}")

    @property
    def n_coached_points(self) -> int:
        return len(self.coached_points) + self.random_coached_points

    @property
    def planted_rows(self) -> int:
        """Rows the plants add to the sample."""
        return self.n_coached_points * self.coached_responses + self.bot_responses


@dataclass(frozen=True, eq=False)
class IntegrityTruth:
    """What was planted in a sample (:class:`IntegrityPlants`), for detection tests.

    Attributes
    ----------
    coached_points : tuple of str
        Codes of the coached points (explicit ones first, then the random ones).
    coached_rows : ndarray of bool
        Per row, a coached response (also ``sample.planted["coached"]``).
    bot_rows : ndarray of bool
        Per row, a bot-farm response (also ``sample.planted["bot_farm"]``).
    bot_points : tuple of str
        The points the farm posted to (sorted).
    bot_addresses : tuple of str
        The ``ip_hash`` values of the farm's pool.
    """

    coached_points: tuple[str, ...]
    coached_rows: np.ndarray = field(repr=False)
    bot_rows: np.ndarray = field(repr=False)
    bot_points: tuple[str, ...] = ()
    bot_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelParameters:
    """The generating model's parameters (what the estimators should rediscover).

    Attributes
    ----------
    cutpoints : tuple of float
        Latent cutpoints of the five-point scale (other lengths K use K − 1 equally
        spaced cutpoints over the same range).
    item_offset : dict
        ``δ_j`` per aspect item code (negative: a weaker aspect).
    aspect_importance : dict
        ``β_j`` per aspect item code; they sum to 1 within a domain and say how strongly
        the item's own variation drives ``<domain>.overall`` (the key-driver truth).
    domain_importance : dict
        Weights of the domains in the global ``overall`` item (sum 1).
    missing_rate : dict
        "Don't know" probability per domain (all its items) and for ``overall``.
    usage_probability : dict
        ``{domain: {age_group: probability}}`` before the point's focus domain is forced.
    selection_by_sex, selection_by_age : dict
        Multiplicative response propensities within a point.
    standard_deviations : dict
        The latent-scale standard deviations (town, point, person, item noise, …).
    """

    cutpoints: tuple[float, ...]
    item_offset: Mapping[str, float]
    aspect_importance: Mapping[str, float]
    domain_overall_offset: Mapping[str, float]
    domain_importance: Mapping[str, float]
    missing_rate: Mapping[str, float]
    usage_probability: Mapping[str, Mapping[str, float]]
    selection_by_sex: Mapping[str, float]
    selection_by_age: Mapping[str, float]
    standard_deviations: Mapping[str, float]
    person_general_share: float = _PERSON_GENERAL_SHARE
    driver_strength: float = _DRIVER_STRENGTH
    overall_offset: float = _OVERALL_OFFSET


@dataclass(frozen=True)
class SurveyTruth:
    """True values of the survey statistics in the finite population (see module docs).

    Indices are on 0–100; rates are proportions (0–1), as in result files.

    Attributes
    ----------
    domain_index, domain_satisfied_rate : dict
        Per domain id.
    overall_index : float
        Equal-weight mean of the domain indices.
    overall_satisfied_rate : float
        Share answering 4 or 5 on the global ``overall`` item.
    item_index : dict
        Per Likert item code (aspects, ``<domain>.overall`` and ``overall``): mean item
        score among those who would answer it.
    domain_users : dict
        Residents who used each domain (the domain's subpopulation size).
    population : int
        Residents in the population (or group).
    by_group : dict
        ``{(variable, level): SurveyTruth}`` for variable ∈ town, sex, age_group; the
        nested truths have an empty ``by_group``.
    """

    domain_index: Mapping[str, float]
    domain_satisfied_rate: Mapping[str, float]
    overall_index: float
    overall_satisfied_rate: float
    item_index: Mapping[str, float]
    domain_users: Mapping[str, int]
    population: int
    by_group: Mapping[tuple[str, str], SurveyTruth] = field(default_factory=dict, repr=False)

    def table(self) -> pd.DataFrame:
        """All truths as a tidy table: ``variable, level, statistic, domain, value``.

        ``variable`` and ``level`` are ``"all"`` for the whole population; ``statistic`` is
        ``index`` or ``satisfied_rate``; ``domain`` is a domain id or ``overall``.
        """
        rows = []
        groups = [(("all", "all"), self), *self.by_group.items()]
        for (variable, level), truth in groups:
            for domain, value in truth.domain_index.items():
                rows.append((variable, level, "index", domain, value))
            rows.append((variable, level, "index", "overall", truth.overall_index))
            for domain, value in truth.domain_satisfied_rate.items():
                rows.append((variable, level, "satisfied_rate", domain, value))
            rows.append((variable, level, "satisfied_rate", "overall", truth.overall_satisfied_rate))
        return pd.DataFrame(rows, columns=["variable", "level", "statistic", "domain", "value"])


@dataclass(frozen=True)
class _DomainLayout:
    domain: str
    item_codes: tuple[str, ...]  # questionnaire order, aspects and overall
    aspect_codes: tuple[str, ...]
    aspect_weights: tuple[float, ...]
    overall_code: str
    scale_length: int


@dataclass(frozen=True)
class _Layout:
    domains: tuple[_DomainLayout, ...]
    overall_code: str
    overall_scale_length: int
    towns: tuple[tuple[str, str], ...]

    @property
    def domain_ids(self) -> tuple[str, ...]:
        return tuple(d.domain for d in self.domains)

    @property
    def item_columns(self) -> tuple[str, ...]:
        return tuple(code for d in self.domains for code in d.item_codes) + (self.overall_code,)


@dataclass(frozen=True, eq=False)
class _PopulationArrays:
    """The finite population, cell by cell (cell = point × residence town × sex × age group)."""

    cell_point: np.ndarray  # (C,) point index of each cell (the point the residents use)
    cell_town: np.ndarray  # (C,) town of residence
    cell_sex: np.ndarray  # (C,)
    cell_age: np.ndarray  # (C,)
    cell_size: np.ndarray  # (C,) residents
    cell_start: np.ndarray  # (C,) first resident of the cell (residents sorted by cell)
    cell_latent: np.ndarray  # (C, D) fixed part F of the latent satisfaction
    usage: np.ndarray  # (N, D) bool: resident used the domain
    point_town: np.ndarray  # (P,) town where the point stands
    point_focus: np.ndarray  # (P,) domain index of the focus domain, −1 for none
    cross_town_share: float  # share of residents using a point of another town
    item_offset: tuple[np.ndarray, ...]  # per domain, (J_d,) aspect offsets δ
    aspect_importance: tuple[np.ndarray, ...]  # per domain, (J_d,) β
    domain_overall_offset: np.ndarray  # (D,) c_d
    domain_importance: np.ndarray  # (D,) a_d
    missing_rate: np.ndarray  # (D,)
    overall_missing_rate: float


@dataclass(frozen=True, eq=False)
class SyntheticPopulation:
    """A finite population of residents with known true satisfaction.

    Attributes
    ----------
    seed : int
        The population seed.
    size : int
        Number of residents.
    domains : tuple of str
        Domain ids, in DOMAIN_IDS order.
    item_columns : tuple of str
        The Likert columns of the responses table, in order.
    towns : tuple of str
        Town codes (where residents live and where points stand).
    cross_town_share : float
        Share of the residents whose point stands in another town than theirs.
    points : DataFrame
        Collection points: ``code, town, place, focus_domain, kind, catchment`` (``town`` =
        where the point stands; catchment = residents who use the point, from any town).
    margins : DataFrame
        Population counts ``variable, level, population`` for town, sex and age_group
        (the margins contract).
    cells : DataFrame
        Residents per ``point, point_town, town, sex, age_group`` (``town`` = residence),
        non-empty cells only.
    truth : SurveyTruth
        Computed on first use (the integrity review's simulations need none).
    parameters : ModelParameters
    """

    seed: int
    size: int
    domains: tuple[str, ...]
    item_columns: tuple[str, ...]
    towns: tuple[str, ...]
    cross_town_share: float
    points: pd.DataFrame = field(repr=False)
    margins: pd.DataFrame = field(repr=False)
    cells: pd.DataFrame = field(repr=False)
    parameters: ModelParameters = field(repr=False)
    _layout: _Layout = field(repr=False)
    _arrays: _PopulationArrays = field(repr=False)
    _truth: Callable[[], SurveyTruth] = field(repr=False)

    @cached_property
    def truth(self) -> SurveyTruth:
        return self._truth()


@dataclass(frozen=True, eq=False)
class SyntheticSample:
    """A sample drawn from a :class:`SyntheticPopulation`.

    Attributes
    ----------
    responses : DataFrame
        The responses table in the contract (see :func:`draw_sample`).
    population : SyntheticPopulation
        Where the sample came from (``sample.population.truth`` is the truth).
    seed : int
    wave : str
    sampled_points : DataFrame
        The drawn points: ``code, town, place, focus_domain, kind, catchment, responses``.
    town_allocation : dict
        Ordinary responses at a point allocated to each point's town (the strata), before
        plants and contamination.
    selection_weights : ndarray
        Per row, the inverse of the resident's expected number of appearances in the
        sample, the at-a-point part averaged over the draw of points (drawn points in
        town / points in town): the true design weight, which raking should reproduce up
        to a constant when all points are taken.  NaN for bot-farm rows (no resident).
    person_index : ndarray
        Per row, the resident (position in the population) who answered; −1 for bot-farm
        rows.
    planted : dict
        ``{kind: boolean mask over rows}`` for each contamination kind and each of
        :data:`PLANT_KINDS` (all False when nothing was planted); the kinds are disjoint.
    integrity : IntegrityTruth
        The coached points and the bot farm that were planted.
    """

    responses: pd.DataFrame = field(repr=False)
    population: SyntheticPopulation = field(repr=False)
    seed: int
    wave: str
    sampled_points: pd.DataFrame = field(repr=False)
    town_allocation: Mapping[str, int] = field(repr=False)
    selection_weights: np.ndarray = field(repr=False)
    person_index: np.ndarray = field(repr=False)
    planted: Mapping[str, np.ndarray] = field(repr=False)
    integrity: IntegrityTruth = field(repr=False)

    @property
    def truth(self) -> SurveyTruth:
        return self.population.truth


def _validate_int(value: object, name: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return int(value)


def _validate_contamination(contamination: Contamination | Mapping[str, float] | None) -> Contamination | None:
    if contamination is None or isinstance(contamination, Contamination):
        return contamination
    if isinstance(contamination, Mapping):
        unknown = set(contamination) - set(CONTAMINATION_KINDS)
        if unknown:
            raise ValueError(
                f"contamination has unknown kind(s) {sorted(unknown)}; use {', '.join(CONTAMINATION_KINDS)}"
            )
        return Contamination(**contamination)
    raise ValueError(f"contamination must be a Contamination, a mapping of shares or None, got {contamination!r}")


def _validate_share(value: object, name: str, *, maximum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value <= maximum:
        raise ValueError(f"{name} must be a share between 0 and {maximum:g}, got {value!r}")
    return float(value)


def _validate_no_point_channels(channels: Mapping[str, float] | None, channel: str) -> dict[str, float]:
    if channels is None:
        return dict(DEFAULT_NO_POINT_CHANNELS)
    if not isinstance(channels, Mapping):
        raise ValueError(
            f"no_point_channels must map channel names to shares, e.g. {{'phone': 0.06, 'paper': 0.04}}, "
            f"got {channels!r}"
        )
    shares = {}
    for name, share in channels.items():
        if not isinstance(name, str) or not name or name == channel:
            raise ValueError(
                f"no_point_channels: {name!r} is not a channel name other than the points' channel {channel!r}; "
                "use e.g. 'phone' or 'paper'"
            )
        shares[name] = _validate_share(share, f"no_point_channels[{name!r}]", maximum=0.5)
    if sum(shares.values()) > 0.5:
        raise ValueError(f"no_point_channels add up to {sum(shares.values()):.3g}; keep their sum at most 0.5")
    return shares


def _validate_integrity(integrity: IntegrityPlants | Mapping[str, object] | None) -> IntegrityPlants:
    if integrity is None:
        return IntegrityPlants()
    if isinstance(integrity, IntegrityPlants):
        return integrity
    if isinstance(integrity, Mapping):
        known = set(IntegrityPlants.__dataclass_fields__)
        unknown = set(integrity) - known
        if unknown:
            raise ValueError(f"integrity has unknown key(s) {sorted(unknown)}; use {', '.join(sorted(known))}")
        values: dict[str, Any] = dict(integrity)
        if isinstance(values.get("coached_points"), list):
            values["coached_points"] = tuple(values["coached_points"])
        return IntegrityPlants(**values)
    raise ValueError(f"integrity must be an IntegrityPlants, a mapping or None, got {integrity!r}")


def _validate_towns(towns: object, layout: _Layout) -> _Layout:
    """The layout restricted to ``towns`` (codes of the layout's towns, in the layout's order)."""
    codes = [code for code, _ in layout.towns]
    if isinstance(towns, str) or not isinstance(towns, (tuple, list)) or not towns:
        raise ValueError(
            f"towns must be a non-empty sequence of town codes such as ('xicheng', 'jinan'), got {towns!r}"
        )
    unknown = [town for town in towns if town not in codes]
    if unknown or len(set(towns)) != len(towns):
        raise ValueError(f"towns must be distinct codes of {', '.join(codes)}; got {list(towns)!r}")
    chosen = tuple(pair for pair in layout.towns if pair[0] in set(towns))
    return _Layout(layout.domains, layout.overall_code, layout.overall_scale_length, chosen)


def _validate_period(period: tuple[str, str] | None, wave: str) -> tuple[_dt.date, _dt.date]:
    if period is None:
        match = re.match(r"^(\d{4})", wave)
        if not match:
            raise ValueError(f"wave {wave!r} does not start with a year; give period=('YYYY-MM-DD', 'YYYY-MM-DD')")
        year = int(match.group(1))
        return _dt.date(year, 4, 1), _dt.date(year, 6, 30)
    try:
        start, end = (_dt.date.fromisoformat(str(day)) for day in period)
    except (TypeError, ValueError) as error:
        raise ValueError(f"period must be two ISO dates ('YYYY-MM-DD', 'YYYY-MM-DD'), got {period!r}") from error
    if end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start}); swap the dates")
    return start, end
