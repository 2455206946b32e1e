"""Synthetic survey data with a known truth: a finite population, a clustered sample, answers.

This module feeds the demo (``manyi demo`` loads its output into the database), the
scoring engine's tests (they compare estimates with :attr:`SyntheticPopulation.truth`)
and the benchmarks (up to 1,000,000 responses).  It is pure: numpy, pandas and
``scipy.special.ndtr`` (the normal CDF the truth needs exactly); no Flask, no database.

The population
--------------
A finite population of adult residents of the district, each living in one town
(the ``town`` choices of ``common.yaml``), of one sex and one age group.  Town sizes and
age structures are **illustrative, not census figures** (streets are larger and
younger than the rural towns).  Every resident belongs to the catchment of one
collection point (hospital, school, service hall, bus stop, …); catchments differ in
age make-up (the elderly gather at hospitals and care centres, parents at schools).
A share of the residents (``cross_town_share``, default 25%) use a point that stands
in **another town** than the one they live in, drawn with a pull towards the district
institutions of the district seat (区人民医院, 区政务服务中心, 客运站) and the urban
streets: the point's town (``point_town``) and the resident's town of residence
(``town``) then differ.  The points are the clusters (PSUs) of the design; the
points' towns are its strata; the residence town is a raking margin and a subgroup.

Each resident used some of the 12 domains in the last 12 months: usage is drawn once,
with probabilities that depend on domain and age group (elderly care mostly 60+,
education mostly 30–44), and the focus domain of her point is always used.

Satisfaction with domain *d* is a latent normal variable

    y*_d = F[cell, d] + u_d,      u_d = σ_u (√ρ g + √(1−ρ) v_d),

where ``cell`` = (point, residence town, sex, age group) and the fixed part ``F`` is a
domain baseline + residence-town effect + sex effect + age-group effect + **point random
effect** of the point she uses, shared by its users from every town (which makes the
intra-cluster correlation a few percent); ``g`` is a personal general factor shared by
all domains and ``v_d`` a personal domain factor.  The personal part is drawn when the
resident is interviewed, so a resident's *expected* answers depend only on her cell
and her usage; this is what makes the truth exact and cheap (below).

Answers
-------
Aspect item *j* of domain *d*: ``x = 1 + #{c : y*_d + δ_j + ε_j > τ_c}`` (ordinal Likert
1..K through cutpoints ``τ`` on the latent scale; ``δ_j`` an item offset, ``ε_j`` item
noise).  ``<domain>.overall`` is driven by the aspect items,
``y*_d + c_d + Σ_j β_j δ_j + λ Σ_j β_j ε_j + noise``, with item importances ``β_j``
(so key-driver analysis finds the items that matter, see
:attr:`ModelParameters.aspect_importance`).  The global ``overall`` item is driven by
the domains the resident used, weighted by domain importances.  "Don't know / not
applicable" answers are missing completely at random, with one probability for all the
items of a domain.  Durations are lognormal and grow with the number of domains.

Selection
---------
Not a simple random sample.  In each town a fixed number of points is drawn with equal
probability (``sampled_points_per_town``); at the drawn points, respondents are drawn
with propensity ``a[residence town] × b[sex] × c[age group]``: ``a`` ∝ population^−½ so
that a town's sample is ∝ √(town population) (small towns are over-represented), women
and older people answer more often (older people are also over-represented at
hospitals because hospital catchments are older).  The rows at a point are allocated
to the points' towns in proportion to the expected number of respondents there, then
drawn within each of these strata.  Responses **without a point** (``no_point_channels``,
default 6% ``phone`` and 4% ``paper``) come from the whole population with the same
propensities; their ``point`` and ``point_town`` are empty.  Draws are with
replacement: a resident drawn twice gives two independent interviews (rare at realistic
sizes; it lets a million responses come from half a million residents without changing
the estimand).  A resident's expected number of appearances in the sample, averaged
over the draw of points, is therefore ``a[town] × b[sex] × c[age group]`` times a
constant — a product of main effects of exactly the three raking variables.  Raking to
the town/sex/age margins fits that log-linear form, so the raked weights converge to
the inverse selection intensities and a raked ratio estimator is consistent for the
truth when every point is taken (``sampled_points_per_town=None``).  When points are
subsampled, the estimator is design-consistent as the number of drawn points grows;
the point effects of the drawn points are the between-PSU variance that the clustered
variance estimator measures — with strata = the points' towns and PSU = point, not
strata = residence town (which splits one point's respondents into several "PSUs").
Unweighted estimates are biased (older people are more satisfied and
over-represented).

Paradata and integrity plants
-----------------------------
``submitted_at`` follows the hours of each kind of point (school gates at drop-off and
pick-up, markets in the morning, service halls in office hours, parks in the evening;
phone calls and the entry of paper forms in office hours); rows are in submission
order.  With ``paradata=True`` (implied by integrity plants) the table gains
``ip_hash`` and ``browser_hash``: pseudonymous 64-hex tokens standing for the app's keyed
hashes of the client address and of the browser-id cookie (never real addresses).
Residents use mobile data (a pool of carrier addresses per town, shared by chance) or
the point's public Wi-Fi (hospitals, halls, care centres, libraries, offices); every
browser is distinct except that a ``duplicate_browser`` row carries its source's
browser.  Phone and paper rows have neither.

:class:`IntegrityPlants` plants, with a known truth (:attr:`SyntheticSample.integrity`
and the ``coached`` / ``bot_farm`` masks of :attr:`SyntheticSample.planted`):

* **coached points** — at chosen (or randomly chosen drawn) points, a chosen number of
  extra residents of the point's catchment, with ordinary demographics, usage,
  durations and times of day, answer every item they answer with 满意 / 非常满意
  (K − 1 or K, mostly K);
* **a bot farm** — responses posted to randomly chosen drawn points, rotating through a
  small pool of addresses (a fresh browser each time), in daytime hours over the
  whole period, with durations within a few percent of one another and answers copied
  from one template with a few items changed by one step.

Planted rows count in ``n_responses``; removing them (the masks) leaves a sample from the
design, for which the truth is the estimand.

The truth
---------
:attr:`SyntheticPopulation.truth` holds the statistics defined in
``docs/statistics.md`` (item score ``(x − 1)/(K − 1) × 100``; respondent domain score =
weighted mean of the answered aspect items; domain index = mean domain score over the
residents who used the domain; satisfied rate = share answering the top two categories
(4 or 5 on the five-point scale); overall index = equal-weight mean of the domain
indices), evaluated as **expected values over the answering process for the finite
population**:

    θ_d = Σ_i U_id E[S_id] / Σ_i U_id.

This is exactly what a consistent design-based estimator targets: the weights make the
sample represent the residents (each counted once), and averaging over respondents
averages over the answering process (item noise, personal factors, don't-know answers),
so the estimator converges to the population mean of each resident's expected answer.
Because don't-know answers are missing completely at random with a probability that is
the same for everyone, "has a domain score" and "answered ``<domain>.overall``" are
independent of everything else and cancel from the ratios; the expected domain score of
a respondent is ``Σ_j c_j E[s_j]`` with ``c_j`` the expected share of item *j* in the
weighted mean of a random non-empty set of answered items (computed by enumerating the
≤ 2⁸ answer patterns).  ``E[s_j]`` and the satisfied rates are sums of normal CDFs at
the cutpoints, evaluated per cell (points × 2 × 4 cells) and per resident for the
global item — exact up to floating point, in milliseconds.

Examples
--------
>>> population, sample = generate_survey(2000, seed=1)          # doctest: +SKIP
>>> sample.responses.shape                                       # doctest: +SKIP
>>> population.truth.domain_index["healthcare"]                  # doctest: +SKIP
>>> write_responses_csv(sample.responses, "responses.csv")       # doctest: +SKIP
>>> write_margins_csv(population.margins, "margins.csv")         # doctest: +SKIP

For the scoring engine's consistency tests take every point
(``draw_sample(population, n, sampled_points_per_town=None)``); for realistic
confidence-interval coverage keep the default (4 of 8 points per town) and repeat over
sample seeds.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from .questionnaire import DOMAIN_IDS, OUTSIDE_DISTRICT, QuestionnaireSet

__all__ = [
    "AGE_GROUPS",
    "CONTAMINATION_KINDS",
    "DEFAULT_CROSS_TOWN_SHARE",
    "DEFAULT_NO_POINT_CHANNELS",
    "DEFAULT_TOWNS",
    "PARADATA_COLUMNS",
    "PLANT_KINDS",
    "POINT_TOWN_COLUMN",
    "RESPONSE_FIXED_COLUMNS",
    "SEXES",
    "STRAIGHT_LINE_MIN_ITEMS",
    "Contamination",
    "IntegrityPlants",
    "IntegrityTruth",
    "ModelParameters",
    "SurveyTruth",
    "SyntheticPopulation",
    "SyntheticSample",
    "draw_sample",
    "generate_survey",
    "make_population",
    "write_margins_csv",
    "write_responses_csv",
]

SEXES: tuple[str, ...] = ("male", "female")
AGE_GROUPS: tuple[str, ...] = ("18-29", "30-44", "45-59", "60+")
#: The fixed leading columns of the responses contract (docs/contracts.md), in order.
RESPONSE_FIXED_COLUMNS: tuple[str, ...] = (
    "response_id",
    "wave",
    "channel",
    "point",
    "town",
    "sex",
    "age_group",
    "duration_s",
    "submitted_at",
)
CONTAMINATION_KINDS: tuple[str, ...] = ("speeders", "straight_liners", "duplicate_browser", "partial")
#: A straight-liner gives the same answer to at least this many answered aspect items.
STRAIGHT_LINE_MIN_ITEMS = 8
#: Integrity plants (issue 15), keys of :attr:`SyntheticSample.planted` besides the contamination kinds.
PLANT_KINDS: tuple[str, ...] = ("coached", "bot_farm")
#: Declared column: the town where the row's collection point stands (empty without a point).
POINT_TOWN_COLUMN = "point_town"
#: Pseudonymous paradata columns written with ``paradata=True`` (keyed hashes, 64 hex digits).
PARADATA_COLUMNS: tuple[str, ...] = ("ip_hash", "browser_hash")
#: Share of residents whose collection point stands outside their town of residence.
DEFAULT_CROSS_TOWN_SHARE = 0.25
#: Shares of responses without a point, by channel (phone interviews, paper forms).
DEFAULT_NO_POINT_CHANNELS: Mapping[str, float] = MappingProxyType({"phone": 0.06, "paper": 0.04})

#: Towns, streets and management areas of common.yaml (code, Chinese name); used when no
#: questionnaire set is given.
DEFAULT_TOWNS: tuple[tuple[str, str], ...] = (
    ("xicheng", "西城街道"),
    ("dongcheng", "东城街道"),
    ("chengnan", "城南街道"),
    ("yingcheng", "郢城街道"),
    ("jinan", "纪南镇"),
    ("chuandian", "川店镇"),
    ("mashan", "马山镇"),
    ("balingshan", "八岭山镇"),
    ("libu", "李埠镇"),
    ("mishi", "弥市镇"),
    ("taihugang", "太湖港管理区"),
    ("lingjiaohu", "菱角湖管理区"),
)

# --- Illustrative population structure (not census figures) -------------------------
_TOWN_RELATIVE_SIZE = {
    "xicheng": 1.6,
    "dongcheng": 1.5,
    "chengnan": 1.3,
    "yingcheng": 1.0,
    "jinan": 0.9,
    "chuandian": 0.7,
    "mashan": 0.8,
    "balingshan": 0.6,
    "libu": 0.8,
    "mishi": 0.6,
    "taihugang": 0.35,
    "lingjiaohu": 0.3,
}
_AGE_SHARES_URBAN = (0.20, 0.28, 0.28, 0.24)
_AGE_SHARES_RURAL = (0.13, 0.22, 0.32, 0.33)
_MALE_SHARE = 0.51

# --- Satisfaction model ---------------------------------------------------------------
_DOMAIN_BASE_LATENT = {
    "education": 0.55,
    "employment": 0.15,
    "healthcare": 0.30,
    "social_security": 0.45,
    "utilities": 0.60,
    "environment": 0.40,
    "transport": 0.25,
    "public_safety": 0.70,
    "culture": 0.50,
    "sports": 0.35,
    "elderly_care": 0.20,
    "government_services": 0.75,
}
_AGE_EFFECT = (-0.25, -0.12, 0.0, 0.30)  # older residents are more satisfied
_SEX_EFFECT = (0.0, 0.04)
_CUTPOINTS_5 = (-2.3, -1.6, -0.7, 0.8)
_SD = {
    "town": 0.15,
    "town_domain": 0.08,
    "sex_domain": 0.04,
    "age_domain": 0.08,
    "point": 0.22,
    "person": 0.8,
    "item_noise": 1.0,
    "item_offset": 0.3,
    "domain_overall_noise": 0.6,
    "overall_noise": 0.7,
}
_POINT_SHARED_SHARE = 0.5  # share of the point effect's variance common to all domains
_PERSON_GENERAL_SHARE = 0.4  # ρ: share of the personal variance common to all domains
_DRIVER_STRENGTH = 1.5  # λ: how strongly <domain>.overall follows the aspect items
_OVERALL_OFFSET = 0.0

# --- Usage: P(used domain in last 12 months | age group), illustrative ----------------
_USAGE_BY_AGE = {
    "education": (0.25, 0.65, 0.30, 0.12),
    "employment": (0.40, 0.30, 0.20, 0.04),
    "healthcare": (0.55, 0.60, 0.70, 0.85),
    "social_security": (0.35, 0.45, 0.55, 0.75),
    "utilities": (0.70, 0.80, 0.80, 0.75),
    "environment": (0.45, 0.50, 0.50, 0.45),
    "transport": (0.60, 0.50, 0.45, 0.50),
    "public_safety": (0.35, 0.40, 0.40, 0.35),
    "culture": (0.35, 0.30, 0.25, 0.30),
    "sports": (0.40, 0.30, 0.25, 0.25),
    "elderly_care": (0.03, 0.08, 0.15, 0.50),
    "government_services": (0.45, 0.60, 0.55, 0.40),
}
_DEFAULT_USAGE = (0.4, 0.4, 0.4, 0.4)

# --- Selection: response propensity within a point (multiplicative) -----------------
_SELECTION_BY_SEX = (1.0, 1.35)
_SELECTION_BY_AGE = (0.55, 0.85, 1.2, 1.7)
_TOWN_ALLOCATION_POWER = 0.5  # n_town ∝ population ** power

# --- Durations ------------------------------------------------------------------------
_DURATION_BASE_S = 45.0
_DURATION_PER_DOMAIN_S = 30.0
_DURATION_LOG_SD = 0.35
_DURATION_FLOOR_SHARE = 0.4  # clean durations stay above 0.4 × median …
_SPEEDER_SHARE_RANGE = (0.08, 0.25)  # … speeders fall below 0.25 × median (rule: 1/3)

# --- Cross-town residents: pull of a point on residents of other towns ----------------
_DISTRICT_INSTITUTION_PULL = 5.0  # the district seat's hospital, service hall, coach station
_URBAN_POINT_PULL = 2.0  # other points of the streets (街道)

# --- Times of day: (start hour, end hour, weight) windows, China time -------------------
_OFFICE_HOURS = ((9.0, 12.0, 0.55), (13.5, 17.5, 0.45))
_TIME_OF_DAY: Mapping[str, tuple[tuple[float, float, float], ...]] = {
    "hospital": ((7.5, 11.5, 0.65), (13.5, 17.0, 0.35)),
    "school": ((7.2, 8.2, 0.45), (11.3, 12.3, 0.1), (16.0, 17.8, 0.45)),
    "service_hall": _OFFICE_HOURS,
    "bus_stop": ((6.5, 9.0, 0.4), (9.0, 16.5, 0.2), (16.5, 19.5, 0.4)),
    "elderly_care": ((8.5, 11.5, 0.6), (14.5, 17.0, 0.4)),
    "market": ((6.0, 10.0, 0.75), (16.0, 18.5, 0.25)),
    "social_security": _OFFICE_HOURS,
    "employment": _OFFICE_HOURS,
    "culture": ((9.0, 12.0, 0.35), (14.0, 17.5, 0.4), (18.5, 20.5, 0.25)),
    "sports": ((6.0, 8.5, 0.4), (18.0, 21.5, 0.6)),
    "park": ((6.0, 9.0, 0.35), (9.0, 17.0, 0.2), (18.0, 21.5, 0.45)),
    "utility_office": _OFFICE_HOURS,
    "police_station": _OFFICE_HOURS,
    "community": ((8.5, 11.5, 0.4), (14.5, 17.5, 0.3), (19.0, 21.0, 0.3)),
    "phone": ((9.0, 12.0, 0.45), (14.0, 17.5, 0.35), (18.5, 20.5, 0.2)),
    "paper": _OFFICE_HOURS,  # forms entered by staff
    "bot_farm": ((8.0, 21.0, 1.0),),  # plausible: daytime, spread over the period
}

# --- Paradata -----------------------------------------------------------------------
_WIFI_KINDS = frozenset(
    {"hospital", "service_hall", "elderly_care", "culture", "social_security", "utility_office", "police_station"}
)
_WIFI_SHARE = 0.3  # at a point with public Wi-Fi, share of residents using it
_MOBILE_ADDRESSES_PER_TOWN = 2000  # carrier (NAT) addresses seen in a town

# --- Integrity plants ---------------------------------------------------------------
_BOT_DURATION_LOG_SD = 0.04  # bots: durations within a few percent of one another …
_BOT_ANSWER_CHANGE = 0.1  # … answers copied from a template, 10% of items moved by one step
_BOT_TEMPLATE_DOMAINS = 2  # template domains ticked besides the point's focus domain


@dataclass(frozen=True)
class _PointKind:
    prefix: str
    kind: str
    focus_domain: str | None
    street_place: str
    rural_place: str
    catchment_weight: float
    age_attraction: tuple[float, float, float, float]


# The first four kinds are present in every town; the others are drawn per town.
_POINT_KINDS: tuple[_PointKind, ...] = (
    _PointKind(
        "hosp", "hospital", "healthcare", "{town}社区卫生服务中心", "{town}卫生院门诊大厅", 1.5, (0.6, 0.8, 1.1, 1.8)
    ),
    _PointKind(
        "school", "school", "education", "{town}实验小学校门口", "{town}中心小学校门口", 1.0, (0.5, 2.2, 0.8, 0.4)
    ),
    _PointKind(
        "hall",
        "service_hall",
        "government_services",
        "{town}党群服务中心便民大厅",
        "{town}便民服务中心",
        1.2,
        (0.9, 1.2, 1.1, 0.8),
    ),
    _PointKind("bus", "bus_stop", "transport", "{town}公交站台", "{town}客运站候车室", 1.0, (1.8, 1.0, 0.8, 0.9)),
    _PointKind(
        "elder", "elderly_care", "elderly_care", "{town}社区养老服务中心", "{town}敬老院", 0.6, (0.2, 0.4, 0.9, 3.0)
    ),
    _PointKind("market", "market", None, "{town}农贸市场", "{town}农贸市场", 1.2, (0.6, 0.9, 1.2, 1.4)),
    _PointKind(
        "social",
        "social_security",
        "social_security",
        "{town}社保服务窗口",
        "{town}社保服务站",
        0.7,
        (0.6, 0.9, 1.3, 1.4),
    ),
    _PointKind("job", "employment", "employment", "{town}就业服务站", "{town}劳动保障所", 0.6, (2.2, 1.4, 0.7, 0.2)),
    _PointKind("culture", "culture", "culture", "{town}图书馆分馆", "{town}综合文化站", 0.6, (1.0, 0.9, 1.0, 1.2)),
    _PointKind("sports", "sports", "sports", "{town}全民健身广场", "{town}全民健身中心", 0.6, (1.4, 1.0, 0.9, 1.0)),
    _PointKind("park", "park", "environment", "{town}滨河公园", "{town}湿地公园", 0.7, (1.1, 1.1, 0.9, 1.0)),
    _PointKind(
        "water", "utility_office", "utilities", "{town}供水供电营业厅", "{town}供电所营业厅", 0.6, (0.8, 1.1, 1.1, 1.0)
    ),
    _PointKind(
        "police",
        "police_station",
        "public_safety",
        "{town}派出所户籍窗口",
        "{town}派出所户籍窗口",
        0.6,
        (1.2, 1.1, 0.9, 0.8),
    ),
    _PointKind("square", "community", None, "{town}社区居委会", "{town}村民广场", 0.8, (0.8, 0.9, 1.0, 1.4)),
)
_ALWAYS_PRESENT_KINDS = 4
# District-level institutions stand in the first street (the district seat).
_DISTRICT_PLACES = {"hosp": "区人民医院门诊大厅", "hall": "区政务服务中心大厅", "bus": "荆州区客运站候车厅"}

_WAVE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_CHINA_OFFSET = "+08:00"


# =====================================================================================
# Result objects


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
    truth: SurveyTruth = field(repr=False)
    parameters: ModelParameters = field(repr=False)
    _layout: _Layout = field(repr=False)
    _arrays: _PopulationArrays = field(repr=False)


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


# =====================================================================================
# Validation


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


# =====================================================================================
# Layout: which items, in which order


def _default_layout() -> _Layout:
    domains = []
    for domain in DOMAIN_IDS:
        aspects = tuple(f"{domain}.q{k}" for k in range(1, 6))
        domains.append(
            _DomainLayout(domain, aspects + (f"{domain}.overall",), aspects, (1.0,) * 5, f"{domain}.overall", 5)
        )
    return _Layout(tuple(domains), "overall", 5, DEFAULT_TOWNS)


def _layout_from_questionnaires(questionnaires: QuestionnaireSet) -> _Layout:
    domains = []
    for domain in DOMAIN_IDS:
        questionnaire = questionnaires.domains.get(domain)
        if questionnaire is None:
            continue
        likert = [item for item in questionnaire.items if item.kind == "likert" and item.role in ("aspect", "overall")]
        aspects = [item for item in likert if item.role == "aspect"]
        overall = [item for item in likert if item.role == "overall"]
        if not aspects or len(overall) != 1:
            raise ValueError(
                f"questionnaire {domain!r} needs aspect items and one '{domain}.overall' item to be simulated"
            )
        lengths = {questionnaires.scale_length(item.code) for item in likert}
        if len(lengths) != 1 or min(lengths) < 3:
            raise ValueError(
                f"questionnaire {domain!r}: all its Likert items must share one scale of at least 3 points "
                f"to be simulated, found lengths {sorted(lengths)}"
            )
        domains.append(
            _DomainLayout(
                domain=domain,
                item_codes=tuple(item.code for item in likert),
                aspect_codes=tuple(item.code for item in aspects),
                aspect_weights=tuple(float(item.weight) for item in aspects),
                overall_code=overall[0].code,
                scale_length=lengths.pop(),
            )
        )
    if not domains:
        raise ValueError("the questionnaire set has no domain questionnaires; nothing to simulate")
    try:
        town_item = questionnaires.common.item("town")
        towns = tuple((c.value, c.label.zh) for c in town_item.choices if c.value != OUTSIDE_DISTRICT) or DEFAULT_TOWNS
    except KeyError:
        towns = DEFAULT_TOWNS
    try:
        overall_length = questionnaires.scale_length("overall")
    except KeyError:
        overall_length = 5
    if overall_length < 3:
        raise ValueError("the global 'overall' item needs a scale of at least 3 points to be simulated")
    return _Layout(tuple(domains), "overall", overall_length, towns)


def _cutpoints(scale_length: int) -> np.ndarray:
    if scale_length == 5:
        return np.array(_CUTPOINTS_5)
    return np.linspace(_CUTPOINTS_5[0], _CUTPOINTS_5[-1], scale_length - 1)


def _answered_mean_coefficients(weights: tuple[float, ...], missing_rate: float) -> np.ndarray:
    """Expected share of each item in the weighted mean of a random non-empty answered set.

    Items are missing independently with probability ``missing_rate``; the respondent's
    domain score is ``Σ_{j∈R} w_j s_j / Σ_{j∈R} w_j`` over the answered set R.  Returns
    ``c_j = E[w_j 1{j∈R} / Σ_{k∈R} w_k | R ≠ ∅]`` (sums to 1).
    """
    weight = np.asarray(weights, dtype=float)
    count = weight.size
    patterns = ((np.arange(1, 2**count)[:, None] >> np.arange(count)) & 1).astype(bool)
    answered = patterns.sum(axis=1)
    probability = (1 - missing_rate) ** answered * missing_rate ** (count - answered)
    probability /= probability.sum()
    shares = patterns * weight
    shares /= shares.sum(axis=1, keepdims=True)
    return np.asarray(probability @ shares)


def _expected_item_score(mean: np.ndarray, sd: float | np.ndarray, cutpoints: np.ndarray) -> np.ndarray:
    """E[(x − 1)/(K − 1) × 100] for x = 1 + #{c : N(mean, sd²) > τ_c}."""
    exceed = ndtr((np.asarray(mean)[..., None] - cutpoints) / np.asarray(sd)[..., None])
    return np.asarray(exceed.sum(axis=-1) * (100.0 / len(cutpoints)))


def _satisfied_probability(mean: np.ndarray, sd: float | np.ndarray, cutpoints: np.ndarray) -> np.ndarray:
    """P(x ≥ K − 1): the top two categories (4 or 5 on the five-point scale)."""
    return np.asarray(ndtr((np.asarray(mean) - cutpoints[-2]) / sd))


def _largest_remainder(expected: np.ndarray, total: int) -> np.ndarray:
    """Round non-negative ``expected`` to integers summing to ``total`` (Hamilton's method)."""
    scaled = expected / expected.sum() * total
    counts = np.floor(scaled).astype(np.int64)
    shortfall = total - counts.sum()
    if shortfall:
        order = np.argsort(-(scaled - counts), kind="stable")
        counts[order[:shortfall]] += 1
    return np.asarray(counts)


# =====================================================================================
# Population


def make_population(
    questionnaires: QuestionnaireSet | None = None,
    *,
    seed: int = 0,
    size: int = 500_000,
    points_per_town: int = 8,
    cross_town_share: float = DEFAULT_CROSS_TOWN_SHARE,
    towns: tuple[str, ...] | None = None,
) -> SyntheticPopulation:
    """Build a finite population of residents with known true satisfaction.

    Parameters
    ----------
    questionnaires : QuestionnaireSet, optional
        Items, item weights, scales and towns to simulate.  Without it, each domain gets
        five aspect items ``<domain>.q1..q5`` and ``<domain>.overall`` on a five-point
        scale, and the towns of :data:`DEFAULT_TOWNS`.
    seed : int
        Population seed (points, effects, usage); independent of the sample seed.
    size : int
        Number of adult residents (illustrative; default 500,000).
    points_per_town : int
        Collection points per town (1–14): a hospital, a school, a service hall and a bus
        stop in every town, the others drawn per town.
    cross_town_share : float
        Share of the residents (0–0.9, default 0.25) who use a point standing in another
        town than the one they live in (in every town × sex × age group, up to rounding).
        Needs at least two towns.
    towns : tuple of str, optional
        Simulate only these town codes (e.g. three towns for a small fixture).

    Returns
    -------
    SyntheticPopulation
        With ``points``, ``margins``, ``cells``, ``truth`` and ``parameters``.
    """
    seed = _validate_int(seed, "seed", minimum=0)
    size = _validate_int(size, "size", minimum=1_000)
    points_per_town = _validate_int(points_per_town, "points_per_town", minimum=1, maximum=len(_POINT_KINDS))
    cross_town_share = _validate_share(cross_town_share, "cross_town_share", maximum=0.9)
    layout = _layout_from_questionnaires(questionnaires) if questionnaires is not None else _default_layout()
    if towns is not None:
        layout = _validate_towns(towns, layout)
    if cross_town_share > 0 and len(layout.towns) < 2:
        raise ValueError("cross_town_share needs at least two towns; give more towns or cross_town_share=0")
    points_rng, people_rng, effects_rng, usage_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    domain_ids = layout.domain_ids
    town_codes = tuple(code for code, _ in layout.towns)
    n_domains, n_towns = len(domain_ids), len(town_codes)

    points, point_town, point_kind = _make_points(layout, points_per_town, points_rng)
    n_points = len(point_town)
    point_focus = np.array(
        [domain_ids.index(k.focus_domain) if k.focus_domain in domain_ids else -1 for k in point_kind], dtype=np.int64
    )

    # Residents per town × sex × age group, then per point (catchments differ in age): a
    # share of each group uses a point of another town, pulled towards the district seat.
    town_counts = _town_sex_age_counts(layout.towns, size)
    catchment_weight = np.array([k.catchment_weight for k in point_kind]) * points_rng.lognormal(0.0, 0.3, n_points)
    age_attraction = np.array([k.age_attraction for k in point_kind])  # (P, A)
    pull = _cross_town_pull(points, layout)
    counts = np.zeros((n_points, n_towns, len(SEXES), len(AGE_GROUPS)), dtype=np.int64)
    for town in range(n_towns):
        local = np.flatnonzero(point_town == town)
        foreign = np.flatnonzero(point_town != town)
        for age in range(len(AGE_GROUPS)):
            local_attraction = catchment_weight[local] * age_attraction[local, age]
            foreign_attraction = catchment_weight[foreign] * age_attraction[foreign, age] * pull[foreign]
            for sex in range(len(SEXES)):
                residents = int(town_counts[town, sex, age])
                away = int(round(residents * cross_town_share))
                counts[local, town, sex, age] = people_rng.multinomial(
                    residents - away, local_attraction / local_attraction.sum()
                )
                if away:
                    counts[foreign, town, sex, age] = people_rng.multinomial(
                        away, foreign_attraction / foreign_attraction.sum()
                    )
    cell_point, cell_town, cell_sex, cell_age = (a.ravel() for a in np.indices(counts.shape))
    cell_size = counts.ravel()
    cell_start = np.cumsum(cell_size) - cell_size
    resident_cell = np.repeat(np.arange(cell_size.size), cell_size)
    resident_age = cell_age[resident_cell]

    parameters, model = _draw_model(layout, effects_rng)
    cell_latent = _cell_latent(layout, model, cell_town, cell_sex, cell_age, cell_point, n_points, n_towns, effects_rng)

    usage_table = np.array([_USAGE_BY_AGE.get(d, _DEFAULT_USAGE) for d in domain_ids], dtype=np.float32).T  # (A, D)
    usage = usage_rng.random((size, n_domains), dtype=np.float32) < usage_table[resident_age]
    resident_focus = point_focus[cell_point[resident_cell]]
    has_focus = np.flatnonzero(resident_focus >= 0)
    usage[has_focus, resident_focus[has_focus]] = True
    unused = np.flatnonzero(~usage.any(axis=1))
    if unused.size:  # everyone used something: draw one domain by its usage probability
        cumulative = np.cumsum(usage_table[resident_age[unused]], axis=1)
        pick = usage_rng.random(unused.size) * cumulative[:, -1]
        usage[unused, np.minimum((cumulative < pick[:, None]).sum(axis=1), n_domains - 1)] = True

    arrays = _PopulationArrays(
        cell_point=cell_point,
        cell_town=cell_town,
        cell_sex=cell_sex,
        cell_age=cell_age,
        cell_size=cell_size,
        cell_start=cell_start,
        cell_latent=cell_latent,
        usage=usage,
        point_town=point_town,
        point_focus=point_focus,
        cross_town_share=cross_town_share,
        **model,
    )
    truth = _compute_truth(layout, arrays, resident_cell)
    points["catchment"] = np.bincount(cell_point, weights=cell_size, minlength=n_points).astype(np.int64)
    margins = pd.DataFrame(
        [("town", code, int(town_counts[t].sum())) for t, code in enumerate(town_codes)]
        + [("sex", sex, int(town_counts[:, s].sum())) for s, sex in enumerate(SEXES)]
        + [("age_group", age, int(town_counts[:, :, a].sum())) for a, age in enumerate(AGE_GROUPS)],
        columns=["variable", "level", "population"],
    )
    occupied = cell_size > 0
    town_names = np.asarray(town_codes, dtype=object)
    cells = pd.DataFrame(
        {
            "point": points["code"].to_numpy()[cell_point[occupied]],
            "point_town": town_names[point_town[cell_point[occupied]]],
            "town": town_names[cell_town[occupied]],
            "sex": np.asarray(SEXES, dtype=object)[cell_sex[occupied]],
            "age_group": np.asarray(AGE_GROUPS, dtype=object)[cell_age[occupied]],
            "population": cell_size[occupied],
        }
    )
    return SyntheticPopulation(
        seed=seed,
        size=size,
        domains=domain_ids,
        item_columns=layout.item_columns,
        towns=town_codes,
        cross_town_share=cross_town_share,
        points=points,
        margins=margins,
        cells=cells,
        truth=truth,
        parameters=parameters,
        _layout=layout,
        _arrays=arrays,
    )


def _make_points(
    layout: _Layout, points_per_town: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, list[_PointKind]]:
    rows: list[tuple[str, str, str, str | None, str]] = []
    point_town: list[int] = []
    point_kind: list[_PointKind] = []
    number = {kind.prefix: 0 for kind in _POINT_KINDS}
    first_street = next((i for i, (_, name) in enumerate(layout.towns) if name.endswith("街道")), 0)
    optional = np.arange(_ALWAYS_PRESENT_KINDS, len(_POINT_KINDS))
    for town, (code, name) in enumerate(layout.towns):
        chosen = list(range(_ALWAYS_PRESENT_KINDS))
        extra = max(0, points_per_town - _ALWAYS_PRESENT_KINDS)
        chosen = chosen[:points_per_town] + sorted(rng.choice(optional, size=extra, replace=False).tolist())
        for index in chosen:
            kind = _POINT_KINDS[index]
            number[kind.prefix] += 1
            if town == first_street and kind.prefix in _DISTRICT_PLACES:
                place = _DISTRICT_PLACES[kind.prefix]
            else:
                place = (kind.street_place if name.endswith("街道") else kind.rural_place).format(town=name)
            focus = kind.focus_domain if kind.focus_domain in layout.domain_ids else None
            rows.append((f"{kind.prefix}-{number[kind.prefix]:02d}", code, place, focus, kind.kind))
            point_town.append(town)
            point_kind.append(kind)
    points = pd.DataFrame(rows, columns=["code", "town", "place", "focus_domain", "kind"])
    return points, np.array(point_town, dtype=np.int64), point_kind


def _cross_town_pull(points: pd.DataFrame, layout: _Layout) -> np.ndarray:
    """Relative pull of each point on residents of other towns (district seat, streets)."""
    street = {code for code, name in layout.towns if name.endswith("街道")}
    district = points["place"].isin(set(_DISTRICT_PLACES.values())).to_numpy()
    urban = points["town"].isin(street).to_numpy()
    return np.where(district, _DISTRICT_INSTITUTION_PULL, np.where(urban, _URBAN_POINT_PULL, 1.0))


def _town_sex_age_counts(towns: tuple[tuple[str, str], ...], size: int) -> np.ndarray:
    expected = []
    for code, name in towns:
        relative = _TOWN_RELATIVE_SIZE.get(code, 0.8)
        ages = np.array(_AGE_SHARES_URBAN if name.endswith("街道") else _AGE_SHARES_RURAL)
        sexes = np.array([_MALE_SHARE, 1 - _MALE_SHARE])
        expected.append(relative * sexes[:, None] * ages[None, :])
    return _largest_remainder(np.array(expected).ravel(), size).reshape(len(towns), len(SEXES), len(AGE_GROUPS))


def _draw_model(layout: _Layout, rng: np.random.Generator) -> tuple[ModelParameters, dict[str, Any]]:
    offsets, importances = [], []
    item_offset: dict[str, float] = {}
    aspect_importance: dict[str, float] = {}
    for domain in layout.domains:
        count = len(domain.aspect_codes)
        offset = rng.normal(0.0, _SD["item_offset"], count)
        importance = rng.gamma(1.5, 1.0, count) + 0.05
        importance /= importance.sum()
        offsets.append(offset.astype(np.float32))
        importances.append(importance.astype(np.float32))
        item_offset.update(zip(domain.aspect_codes, offset.tolist()))
        aspect_importance.update(zip(domain.aspect_codes, importance.tolist()))
    n_domains = len(layout.domains)
    domain_overall_offset = rng.normal(0.0, 0.1, n_domains)
    domain_importance = rng.gamma(4.0, 1.0, n_domains)
    domain_importance /= domain_importance.sum()
    missing_rate = rng.uniform(0.02, 0.07, n_domains)
    overall_missing_rate = 0.01
    ids = layout.domain_ids
    parameters = ModelParameters(
        cutpoints=_CUTPOINTS_5,
        item_offset=item_offset,
        aspect_importance=aspect_importance,
        domain_overall_offset=dict(zip(ids, domain_overall_offset.tolist())),
        domain_importance=dict(zip(ids, domain_importance.tolist())),
        missing_rate={**dict(zip(ids, missing_rate.tolist())), layout.overall_code: overall_missing_rate},
        usage_probability={d: dict(zip(AGE_GROUPS, _USAGE_BY_AGE.get(d, _DEFAULT_USAGE))) for d in ids},
        selection_by_sex=dict(zip(SEXES, _SELECTION_BY_SEX)),
        selection_by_age=dict(zip(AGE_GROUPS, _SELECTION_BY_AGE)),
        standard_deviations=dict(_SD),
    )
    model = dict(
        item_offset=tuple(offsets),
        aspect_importance=tuple(importances),
        domain_overall_offset=domain_overall_offset,
        domain_importance=domain_importance,
        missing_rate=missing_rate,
        overall_missing_rate=overall_missing_rate,
    )
    return parameters, model


def _cell_latent(
    layout: _Layout,
    model: Mapping[str, Any],
    cell_town: np.ndarray,
    cell_sex: np.ndarray,
    cell_age: np.ndarray,
    cell_point: np.ndarray,
    n_points: int,
    n_towns: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fixed part F[cell, d]: baseline + town + sex + age group + point random effect."""
    ids = layout.domain_ids
    n_domains = len(ids)
    base = np.array([_DOMAIN_BASE_LATENT.get(d, 0.45) for d in ids])
    town = rng.normal(0, _SD["town"], n_towns)[:, None] + rng.normal(0, _SD["town_domain"], (n_towns, n_domains))
    sex = np.array(_SEX_EFFECT)[:, None] + rng.normal(0, _SD["sex_domain"], (len(SEXES), n_domains))
    age = np.array(_AGE_EFFECT)[:, None] + rng.normal(0, _SD["age_domain"], (len(AGE_GROUPS), n_domains))
    shared = np.sqrt(_POINT_SHARED_SHARE)
    point = _SD["point"] * (
        shared * rng.normal(0, 1, n_points)[:, None] + np.sqrt(1 - shared**2) * rng.normal(0, 1, (n_points, n_domains))
    )
    return np.asarray(base + town[cell_town] + sex[cell_sex] + age[cell_age] + point[cell_point])


# =====================================================================================
# Truth


def _compute_truth(layout: _Layout, arrays: _PopulationArrays, resident_cell: np.ndarray) -> SurveyTruth:
    """Exact expected statistics of the finite population (see the module docstring)."""
    person_sd = _SD["person"]
    noise_sd = _SD["item_noise"]
    occupied = np.flatnonzero(arrays.cell_size)
    # Users of each domain per cell (residents are sorted by cell).
    users = np.zeros(arrays.cell_latent.shape, dtype=np.float64)
    users[occupied] = np.add.reduceat(arrays.usage, arrays.cell_start[occupied], axis=0, dtype=np.int64)

    # Per cell sums, weighted by users: domain score, satisfied, item scores.
    score_sum, satisfied_sum, item_sum = {}, {}, {}
    for d, domain in enumerate(layout.domains):
        cutpoints = _cutpoints(domain.scale_length)
        latent = arrays.cell_latent[:, d]
        offsets = arrays.item_offset[d].astype(np.float64)
        importance = arrays.aspect_importance[d].astype(np.float64)
        coefficients = _answered_mean_coefficients(domain.aspect_weights, float(arrays.missing_rate[d]))
        item_sd = np.hypot(person_sd, noise_sd)
        aspect_scores = _expected_item_score(latent[:, None] + offsets, item_sd, cutpoints)  # (C, J)
        overall_mean = latent + arrays.domain_overall_offset[d] + importance @ offsets
        overall_sd = np.sqrt(
            person_sd**2 + (_DRIVER_STRENGTH * noise_sd) ** 2 * (importance**2).sum() + _SD["domain_overall_noise"] ** 2
        )
        score_sum[domain.domain] = users[:, d] * (aspect_scores @ coefficients)
        satisfied_sum[domain.domain] = users[:, d] * _satisfied_probability(overall_mean, overall_sd, cutpoints)
        for j, code in enumerate(domain.aspect_codes):
            item_sum[code] = users[:, d] * aspect_scores[:, j]
        item_sum[domain.overall_code] = users[:, d] * _expected_item_score(overall_mean, overall_sd, cutpoints)

    # The global item depends on each resident's usage pattern: evaluated per resident.
    used = arrays.usage
    importance = arrays.domain_importance
    weight_total = used @ importance
    mean = _OVERALL_OFFSET + (used * arrays.cell_latent[resident_cell]) @ importance / weight_total
    spread = person_sd**2 * (
        _PERSON_GENERAL_SHARE + (1 - _PERSON_GENERAL_SHARE) * (used @ importance**2) / weight_total**2
    )
    sd = np.sqrt(spread + _SD["overall_noise"] ** 2)
    cutpoints = _cutpoints(layout.overall_scale_length)
    overall_satisfied = np.bincount(resident_cell, _satisfied_probability(mean, sd, cutpoints), arrays.cell_size.size)
    overall_score = np.bincount(resident_cell, _expected_item_score(mean, sd, cutpoints), arrays.cell_size.size)

    def assemble(cells: np.ndarray, with_groups: bool) -> SurveyTruth:
        domain_users = {d.domain: float(users[cells, i].sum()) for i, d in enumerate(layout.domains)}
        population = float(arrays.cell_size[cells].sum())

        def ratio(total: float, count: float) -> float:
            return float(total / count) if count > 0 else float("nan")

        domain_index = {d: ratio(score_sum[d][cells].sum(), domain_users[d]) for d in domain_users}
        item_index = {}
        for d in layout.domains:
            for code in (*d.aspect_codes, d.overall_code):
                item_index[code] = ratio(item_sum[code][cells].sum(), domain_users[d.domain])
        item_index[layout.overall_code] = ratio(overall_score[cells].sum(), population)
        by_group = {}
        if with_groups:
            for variable, codes, levels in (
                ("town", arrays.cell_town, [code for code, _ in layout.towns]),
                ("sex", arrays.cell_sex, SEXES),
                ("age_group", arrays.cell_age, AGE_GROUPS),
            ):
                for position, level in enumerate(levels):
                    by_group[(variable, level)] = assemble(np.flatnonzero(codes == position), False)
        return SurveyTruth(
            domain_index=domain_index,
            domain_satisfied_rate={d: ratio(satisfied_sum[d][cells].sum(), domain_users[d]) for d in domain_users},
            overall_index=float(np.mean(list(domain_index.values()))),
            overall_satisfied_rate=ratio(overall_satisfied[cells].sum(), population),
            item_index=item_index,
            domain_users={d: int(round(n)) for d, n in domain_users.items()},
            population=int(round(population)),
            by_group=by_group,
        )

    return assemble(np.arange(arrays.cell_size.size), True)


# =====================================================================================
# Sample


def draw_sample(
    population: SyntheticPopulation,
    n_responses: int = 2000,
    *,
    seed: int = 1,
    sampled_points_per_town: int | None = 4,
    wave: str = "2025",
    channel: str = "qr",
    period: tuple[str, str] | None = None,
    contamination: Contamination | Mapping[str, float] | None = None,
    no_point_channels: Mapping[str, float] | None = None,
    integrity: IntegrityPlants | Mapping[str, object] | None = None,
    paradata: bool | None = None,
) -> SyntheticSample:
    """Draw a stratified, clustered, unequal-probability sample and its answers.

    Parameters
    ----------
    population : SyntheticPopulation
    n_responses : int
        Rows in the responses table (responses without a point, planted contamination
        and integrity plants included).
    seed : int
        Sample seed: the same population and seed give identical output.
    sampled_points_per_town : int or None
        Points drawn per town (equal probability, without replacement); ``None`` takes
        every point (then the raked estimator is consistent for the truth as n grows).
    wave : str
        Wave code written to every row (letters, digits, ``_ . -``).
    channel : str
        Channel of the rows collected at a point; the app knows ``qr`` (the default),
        ``phone`` and ``paper``.
    period : (str, str), optional
        First and last day of collection (ISO dates); default April–June of the wave's
        year.  Times of day follow the hours of each kind of point (module docs).
    contamination : Contamination or mapping, optional
        Shares of planted speeders, straight-liners, duplicate-browser and partial rows,
        among the ordinary rows collected at a point; when given, the table gains
        ``state`` and ``flags`` columns.
    no_point_channels : mapping, optional
        Shares of the rows collected without a point, by channel (default
        :data:`DEFAULT_NO_POINT_CHANNELS`: 6% ``phone``, 4% ``paper``; ``{}`` for none).
        These rows have an empty ``point`` and ``point_town``.
    integrity : IntegrityPlants or mapping, optional
        Coached points and a bot farm to plant (issue 15); see :class:`IntegrityPlants`.
    paradata : bool, optional
        Add the columns ``ip_hash`` and ``browser_hash`` (:data:`PARADATA_COLUMNS`);
        default: only when integrity plants are asked for.

    Returns
    -------
    SyntheticSample
        ``responses`` has the contract's fixed columns (``response_id, wave, channel,
        point, town, sex, age_group, duration_s, submitted_at``), then one float64
        column per Likert item (domains in DOMAIN_IDS order, items in questionnaire
        order, then ``overall``; NaN = not used / don't know), then ``services_used``
        (``;``-joined domain ids) and ``point_town`` (the town where the point stands;
        ``town`` is the residence answer), with contamination ``state`` and ``flags``
        (missing when there is no flag), with paradata ``ip_hash`` and ``browser_hash``.
        ``point``, ``point_town``, ``ip_hash`` and ``browser_hash`` are missing on rows
        without a point.  Rows are in submission order.
    """
    n_responses = _validate_int(n_responses, "n_responses", minimum=1)
    seed = _validate_int(seed, "seed", minimum=0)
    if sampled_points_per_town is not None:
        sampled_points_per_town = _validate_int(sampled_points_per_town, "sampled_points_per_town", minimum=1)
    if not isinstance(wave, str) or not _WAVE_CODE.match(wave):
        raise ValueError(f"wave must be a code of letters, digits, '_', '.' or '-' (e.g. '2025'), got {wave!r}")
    if not isinstance(channel, str) or not channel:
        raise ValueError(f"channel must be a non-empty string such as 'qr', got {channel!r}")
    start, end = _validate_period(period, wave)
    contamination = _validate_contamination(contamination)
    no_point = _validate_no_point_channels(no_point_channels, channel)
    plants = _validate_integrity(integrity)
    if paradata is None:
        paradata = plants.planted_rows > 0
    elif not isinstance(paradata, bool):
        raise ValueError(f"paradata must be True, False or None, got {paradata!r}")
    layout, arrays = population._layout, population._arrays
    if (
        contamination
        and contamination.straight_liners > 0
        and sum(len(d.aspect_codes) for d in layout.domains) < STRAIGHT_LINE_MIN_ITEMS
    ):
        raise ValueError(
            f"straight-liners need at least {STRAIGHT_LINE_MIN_ITEMS} aspect items in the questionnaires; "
            "set contamination straight_liners=0"
        )
    point_codes = population.points["code"].to_numpy()
    unknown = [code for code in plants.coached_points if code not in set(point_codes)]
    if unknown:
        raise ValueError(f"coached_points {unknown} are not collection points of the population; use codes of points")

    streams = np.random.SeedSequence(seed).spawn(8)
    design_rng, answers_rng, missing_rng, duration_rng, time_rng, contamination_rng, plants_rng, paradata_rng = (
        np.random.default_rng(s) for s in streams
    )
    n = n_responses
    no_point_counts = [int(round(share * n)) for share in no_point.values()]
    n_ordinary = n - sum(no_point_counts) - plants.planted_rows
    if n_ordinary < 1:
        raise ValueError(
            f"n_responses={n} leaves no ordinary response at a point ({sum(no_point_counts)} without a point, "
            f"{plants.planted_rows} planted); draw more responses or plant fewer"
        )
    design = _draw_design(population, n_ordinary, no_point_counts, sampled_points_per_town, design_rng)
    rows = _add_plants(population, design, plants, plants_rng, design_rng)

    # Submission times by the hours of each kind of point or channel; rows in that order.
    days = (end - start).days + 1
    point_kinds = population.points["kind"].to_numpy(dtype=object)
    time_kind = np.where(
        rows.at_point, point_kinds[arrays.cell_point[rows.cell_of_row]], np.array([channel, *no_point])[rows.channel]
    ).astype(object)
    time_kind[rows.bot] = "bot_farm"
    moments = _draw_moments(time_kind, days, time_rng)
    rows = rows.reordered(np.argsort(moments, kind="stable"))
    moments = np.sort(moments, kind="stable")

    row_usage = arrays.usage[np.maximum(rows.person_index, 0)]  # (n, D) bool, a copy
    if rows.bot.any():
        row_usage[rows.bot] = _bot_usage(layout, arrays, rows, plants_rng)

    planted = {kind: np.zeros(n, dtype=bool) for kind in (*CONTAMINATION_KINDS, *PLANT_KINDS)}
    planted["coached"] = rows.coached.copy()
    planted["bot_farm"] = rows.bot.copy()
    ordinary_at_point = np.flatnonzero(rows.at_point & ~rows.coached & ~rows.bot)
    if contamination:
        counts = [int(round(getattr(contamination, kind) * n)) for kind in CONTAMINATION_KINDS]
        if sum(counts) > ordinary_at_point.size:
            raise ValueError(
                f"contamination asks for {sum(counts)} rows but only {ordinary_at_point.size} ordinary rows were "
                "collected at a point; lower the shares or the responses without a point"
            )
        chosen = contamination_rng.permutation(ordinary_at_point)[: sum(counts)]
        for kind, chosen_rows in zip(CONTAMINATION_KINDS, np.split(chosen, np.cumsum(counts)[:-1])):
            planted[kind][chosen_rows] = True
        straight_rows = np.flatnonzero(planted["straight_liners"])
        row_usage[straight_rows] = _straight_liner_usage(layout, row_usage[straight_rows], contamination_rng)

    cell_of_row, person_index, selection_weights = rows.cell_of_row, rows.person_index, rows.selection_weights
    answers, column_of = _draw_answers(layout, arrays, cell_of_row, row_usage, answers_rng, missing_rng)

    n_used = row_usage.sum(axis=1)
    median = _DURATION_BASE_S + _DURATION_PER_DOMAIN_S * n_used
    durations = median * np.exp(_DURATION_LOG_SD * duration_rng.standard_normal(n))
    typical = float(np.median(durations[~rows.bot]))
    durations = np.maximum(durations, _DURATION_FLOOR_SHARE * typical)

    duplicate_source = np.zeros(0, dtype=np.int64)
    if contamination:
        duplicate_source = _plant_contamination(
            layout,
            arrays,
            planted,
            answers,
            column_of,
            row_usage,
            cell_of_row,
            person_index,
            selection_weights,
            durations,
            typical,
            contamination_rng,
            source_rows=rows.at_point & ~np.any([planted[kind] for kind in planted], axis=0),
        )
    _plant_integrity(layout, plants, rows, answers, row_usage, durations, median, plants_rng)
    durations = np.round(durations, 1)

    extra: dict[str, np.ndarray] = {}
    bot_addresses: tuple[str, ...] = ()
    if paradata:
        extra, bot_addresses = _paradata(population, rows, planted, duplicate_source, plants, paradata_rng)
    responses = _assemble_responses(
        population,
        layout,
        answers,
        row_usage,
        rows,
        durations,
        planted,
        extra,
        wave=wave,
        channels=np.array([channel, *no_point], dtype=object)[rows.channel],
        seed=seed,
        submitted_at=_format_times(start, days, moments),
        with_quality_columns=contamination is not None,
    )
    sampled_points = population.points.iloc[design.sampled_point_ids].reset_index(drop=True)
    sampled_points["responses"] = (
        responses["point"].value_counts().reindex(sampled_points["code"], fill_value=0).to_numpy()
    )
    integrity_truth = IntegrityTruth(
        coached_points=tuple(point_codes[rows.coached_point_ids]),
        coached_rows=planted["coached"],
        bot_rows=planted["bot_farm"],
        bot_points=tuple(sorted(set(responses.loc[planted["bot_farm"], "point"]))),
        bot_addresses=bot_addresses,
    )
    return SyntheticSample(
        responses=responses,
        population=population,
        seed=seed,
        wave=wave,
        sampled_points=sampled_points,
        town_allocation=dict(zip(population.towns, design.allocation.tolist())),
        selection_weights=selection_weights,
        person_index=person_index,
        planted=planted,
        integrity=integrity_truth,
    )


@dataclass(frozen=True, eq=False)
class _Design:
    """The ordinary rows of a sample: residents drawn at the drawn points and without a point."""

    cell_of_row: np.ndarray  # (n,) cell of the resident
    channel: np.ndarray  # (n,) 0 = at a point (the points' channel), k = k-th no-point channel
    sampled_point_ids: np.ndarray  # drawn points
    allocation: np.ndarray  # (T,) rows at a point per point's town
    intensity: np.ndarray  # (C,) selection intensity of each cell (residents × propensity)
    cell_weight: np.ndarray  # (C,) true design weight of a resident of each cell


@dataclass(frozen=True, eq=False)
class _Rows:
    """Every row of a sample, before answers: who, where, by which channel, planted or not."""

    cell_of_row: np.ndarray
    person_index: np.ndarray  # −1 for bot-farm rows
    selection_weights: np.ndarray  # NaN for bot-farm rows
    channel: np.ndarray
    coached: np.ndarray  # bool
    bot: np.ndarray  # bool
    coached_point_ids: np.ndarray

    @property
    def at_point(self) -> np.ndarray:
        return np.asarray(self.channel == 0)

    def reordered(self, order: np.ndarray) -> _Rows:
        return _Rows(
            cell_of_row=self.cell_of_row[order],
            person_index=self.person_index[order],
            selection_weights=self.selection_weights[order],
            channel=self.channel[order],
            coached=self.coached[order],
            bot=self.bot[order],
            coached_point_ids=self.coached_point_ids,
        )


def _draw_design(
    population: SyntheticPopulation,
    n_at_points: int,
    no_point_counts: list[int],
    points_per_town: int | None,
    rng: np.random.Generator,
) -> _Design:
    """Points drawn per town (the strata); residents ∝ a[town] b[sex] c[age] at them and without a point."""
    arrays = population._arrays
    n_towns = len(population.towns)
    town_population = np.bincount(arrays.cell_town, weights=arrays.cell_size, minlength=n_towns)
    town_propensity = np.zeros(n_towns)
    inhabited = town_population > 0
    town_propensity[inhabited] = town_population[inhabited] ** (_TOWN_ALLOCATION_POWER - 1)
    per_resident = (
        town_propensity[arrays.cell_town]
        * np.array(_SELECTION_BY_SEX)[arrays.cell_sex]
        * np.array(_SELECTION_BY_AGE)[arrays.cell_age]
    )
    intensity = arrays.cell_size * per_resident

    drawn = np.zeros(arrays.point_town.size, dtype=bool)
    drawn_fraction = np.ones(n_towns)
    point_ids = []
    for town in range(n_towns):
        town_points = np.flatnonzero(arrays.point_town == town)
        take = len(town_points) if points_per_town is None else min(points_per_town, len(town_points))
        chosen = np.sort(rng.choice(town_points, size=take, replace=False))
        drawn[chosen] = True
        drawn_fraction[town] = take / len(town_points)
        point_ids.append(chosen)

    cell_point_town = arrays.point_town[arrays.cell_point]
    at_drawn = drawn[arrays.cell_point] & (arrays.cell_size > 0)
    stratum_intensity = np.bincount(cell_point_town[at_drawn], weights=intensity[at_drawn], minlength=n_towns)
    if stratum_intensity.sum() <= 0:
        raise ValueError("the drawn points have no residents; use a larger population")
    allocation = _largest_remainder(stratum_intensity, n_at_points)
    cells_drawn = []
    for town in range(n_towns):
        if allocation[town] == 0:
            continue
        cells = np.flatnonzero(at_drawn & (cell_point_town == town))
        draws = rng.multinomial(allocation[town], intensity[cells] / intensity[cells].sum())
        cells_drawn.append(np.repeat(cells, draws))
    n_no_point = sum(no_point_counts)
    total_intensity = intensity.sum()
    if n_no_point:
        occupied = np.flatnonzero(arrays.cell_size > 0)
        draws = rng.multinomial(n_no_point, intensity[occupied] / total_intensity)
        cells_drawn.append(rng.permutation(np.repeat(occupied, draws)))
    channel = np.repeat(np.arange(len(no_point_counts) + 1), [n_at_points, *no_point_counts])

    # A resident's expected appearances: at her point (averaged over the draw of points)
    # plus without a point; the inverse is her true design weight.
    with np.errstate(invalid="ignore", divide="ignore"):
        at_point_rate = np.where(stratum_intensity > 0, allocation / stratum_intensity, 0.0)
        expected = per_resident * (
            drawn_fraction[cell_point_town] * at_point_rate[cell_point_town] + n_no_point / total_intensity
        )
        cell_weight = np.where(expected > 0, 1.0 / expected, np.nan)
    return _Design(
        cell_of_row=np.concatenate(cells_drawn),
        channel=channel,
        sampled_point_ids=np.concatenate(point_ids),
        allocation=allocation,
        intensity=intensity,
        cell_weight=cell_weight,
    )


def _add_plants(
    population: SyntheticPopulation,
    design: _Design,
    plants: IntegrityPlants,
    plants_rng: np.random.Generator,
    design_rng: np.random.Generator,
) -> _Rows:
    """The ordinary rows plus coached residents (at their points) and bot-farm rows."""
    arrays = population._arrays
    point_codes = population.points["code"].to_numpy()
    sampled = design.sampled_point_ids
    explicit = np.array([np.flatnonzero(point_codes == code)[0] for code in plants.coached_points], dtype=np.int64)
    not_drawn = [code for code, point in zip(plants.coached_points, explicit) if point not in set(sampled)]
    if not_drawn:
        raise ValueError(
            f"coached_points {not_drawn} were not drawn in this sample; choose among sample.sampled_points['code'] "
            "of the same seed, use random_coached_points, or take every point (sampled_points_per_town=None)"
        )
    candidates = np.setdiff1d(sampled, explicit)
    if plants.random_coached_points > candidates.size:
        raise ValueError(
            f"random_coached_points={plants.random_coached_points} but only {candidates.size} other points were drawn"
        )
    chosen = np.sort(plants_rng.choice(candidates, size=plants.random_coached_points, replace=False))
    coached_point_ids = np.concatenate([explicit, chosen]).astype(np.int64)

    occupied = arrays.cell_size > 0
    coached_cells = []
    for point in coached_point_ids:
        cells = np.flatnonzero((arrays.cell_point == point) & occupied)
        draws = plants_rng.multinomial(
            plants.coached_responses, design.intensity[cells] / design.intensity[cells].sum()
        )
        coached_cells.append(np.repeat(cells, draws))
    bot_cells = []
    if plants.bot_responses:
        bot_points = plants_rng.choice(sampled, size=plants.bot_responses)
        for point, count in zip(*np.unique(bot_points, return_counts=True)):
            cells = np.flatnonzero((arrays.cell_point == point) & occupied)
            draws = plants_rng.multinomial(count, arrays.cell_size[cells] / arrays.cell_size[cells].sum())
            bot_cells.append(np.repeat(cells, draws))

    n_ordinary = design.cell_of_row.size
    coached = np.concatenate([np.zeros(0, dtype=np.int64), *coached_cells])
    bots = np.concatenate([np.zeros(0, dtype=np.int64), *bot_cells])
    cell_of_row = np.concatenate([design.cell_of_row, coached, bots])
    residents = np.concatenate([design.cell_of_row, coached])
    person_index = np.concatenate(
        [
            arrays.cell_start[residents]
            + np.floor(design_rng.random(residents.size) * arrays.cell_size[residents]).astype(np.int64),
            np.full(bots.size, -1, dtype=np.int64),
        ]
    )
    selection_weights = np.concatenate([design.cell_weight[residents], np.full(bots.size, np.nan)])
    n = cell_of_row.size
    kind = np.repeat([0, 1, 2], [n_ordinary, coached.size, bots.size])
    return _Rows(
        cell_of_row=cell_of_row,
        person_index=person_index,
        selection_weights=selection_weights,
        channel=np.concatenate([design.channel, np.zeros(n - n_ordinary, dtype=np.int64)]),
        coached=kind == 1,
        bot=kind == 2,
        coached_point_ids=coached_point_ids,
    )


def _bot_usage(layout: _Layout, arrays: _PopulationArrays, rows: _Rows, rng: np.random.Generator) -> np.ndarray:
    """The farm ticks the same template domains everywhere, plus the focus domain of the point."""
    n_domains = len(layout.domains)
    template = np.zeros(n_domains, dtype=bool)
    template[rng.choice(n_domains, size=min(_BOT_TEMPLATE_DOMAINS, n_domains), replace=False)] = True
    bot_rows = np.flatnonzero(rows.bot)
    usage = np.repeat(template[None, :], bot_rows.size, axis=0)
    focus = arrays.point_focus[arrays.cell_point[rows.cell_of_row[bot_rows]]]
    has_focus = focus >= 0
    usage[np.flatnonzero(has_focus), focus[has_focus]] = True
    return usage


def _straight_liner_usage(layout: _Layout, used: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add random domains to the used ones until at least STRAIGHT_LINE_MIN_ITEMS aspects."""
    aspects = np.array([len(d.aspect_codes) for d in layout.domains])
    key = rng.random(used.shape) - used  # used domains first, then a random order
    order = np.argsort(key, axis=1)
    sorted_used = np.take_along_axis(used, order, axis=1)
    sorted_aspects = aspects[order]
    before = np.cumsum(sorted_aspects, axis=1) - sorted_aspects
    include = np.zeros_like(used)
    np.put_along_axis(include, order, sorted_used | (before < STRAIGHT_LINE_MIN_ITEMS), axis=1)
    return include


def _draw_answers(
    layout: _Layout,
    arrays: _PopulationArrays,
    cell_of_row: np.ndarray,
    row_usage: np.ndarray,
    answers_rng: np.random.Generator,
    missing_rng: np.random.Generator,
) -> tuple[np.ndarray, dict[str, int]]:
    """Likert answers (items × rows, float64, NaN = missing) for the domains each row used."""
    n = cell_of_row.size
    columns = layout.item_columns
    column_of = {code: k for k, code in enumerate(columns)}
    answers = np.full((len(columns), n), np.nan)
    person_sd = np.float32(_SD["person"])
    general = answers_rng.standard_normal(n, dtype=np.float32) * np.float32(np.sqrt(_PERSON_GENERAL_SHARE))
    own_share = np.float32(np.sqrt(1 - _PERSON_GENERAL_SHARE))
    overall_sum = np.zeros(n, dtype=np.float32)
    overall_weight = np.zeros(n, dtype=np.float32)
    for d, domain in enumerate(layout.domains):
        rows = np.flatnonzero(row_usage[:, d])
        if rows.size == 0:
            continue
        cutpoints = _cutpoints(domain.scale_length).astype(np.float32)
        latent = arrays.cell_latent[cell_of_row[rows], d].astype(np.float32)
        latent += person_sd * (general[rows] + own_share * answers_rng.standard_normal(rows.size, dtype=np.float32))
        offsets = arrays.item_offset[d]
        importance = arrays.aspect_importance[d]
        noise = answers_rng.standard_normal((offsets.size, rows.size), dtype=np.float32)
        noise *= np.float32(_SD["item_noise"])
        aspect_latent = latent + offsets[:, None] + noise
        overall_latent = latent + np.float32(arrays.domain_overall_offset[d] + float(importance @ offsets))
        overall_latent += np.float32(_DRIVER_STRENGTH) * (importance @ noise)
        overall_latent += np.float32(_SD["domain_overall_noise"]) * answers_rng.standard_normal(
            rows.size, dtype=np.float32
        )
        missing = missing_rng.random((offsets.size + 1, rows.size), dtype=np.float32) < arrays.missing_rate[d]
        for j, code in enumerate(domain.aspect_codes):
            values = np.searchsorted(cutpoints, aspect_latent[j]).astype(np.float64) + 1.0
            values[missing[j]] = np.nan
            answers[column_of[code], rows] = values
        values = np.searchsorted(cutpoints, overall_latent).astype(np.float64) + 1.0
        values[missing[-1]] = np.nan
        answers[column_of[domain.overall_code], rows] = values
        overall_sum[rows] += np.float32(arrays.domain_importance[d]) * latent
        overall_weight[rows] += np.float32(arrays.domain_importance[d])

    cutpoints = _cutpoints(layout.overall_scale_length).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall_latent = np.float32(_OVERALL_OFFSET) + overall_sum / overall_weight
    overall_latent += np.float32(_SD["overall_noise"]) * answers_rng.standard_normal(n, dtype=np.float32)
    values = np.searchsorted(cutpoints, overall_latent).astype(np.float64) + 1.0
    values[missing_rng.random(n, dtype=np.float32) < arrays.overall_missing_rate] = np.nan
    answers[column_of[layout.overall_code]] = values
    return answers, column_of


def _plant_contamination(
    layout: _Layout,
    arrays: _PopulationArrays,
    planted: Mapping[str, np.ndarray],
    answers: np.ndarray,
    column_of: Mapping[str, int],
    row_usage: np.ndarray,
    cell_of_row: np.ndarray,
    person_index: np.ndarray,
    selection_weights: np.ndarray,
    durations: np.ndarray,
    typical_duration: float,
    rng: np.random.Generator,
    *,
    source_rows: np.ndarray,
) -> np.ndarray:
    """Overwrite the planted rows in place (answers, usage, cells, durations).

    Duplicates copy a clean row of ``source_rows`` (collected at a point); returns the
    source of each duplicate (in the order of the duplicate rows).
    """
    overall_column = column_of[layout.overall_code]

    rows = np.flatnonzero(planted["straight_liners"])
    if rows.size:
        value = rng.choice(np.array([5.0, 4.0, 3.0, 1.0]), size=rows.size, p=[0.55, 0.2, 0.2, 0.05])
        for d, domain in enumerate(layout.domains):
            in_domain = row_usage[rows, d]
            value_in_domain = np.minimum(value[in_domain], domain.scale_length)
            for code in (*domain.aspect_codes, domain.overall_code):
                answers[column_of[code], rows[in_domain]] = value_in_domain
        answers[overall_column, rows] = np.minimum(value, layout.overall_scale_length)

    rows = np.flatnonzero(planted["speeders"])
    if rows.size:
        lengths = np.array(
            [d.scale_length for d in layout.domains for _ in d.item_codes] + [layout.overall_scale_length], dtype=float
        )
        block = answers[:, rows]
        answered = ~np.isnan(block)
        random_answer = np.floor(rng.random(block.shape) * lengths[:, None]) + 1.0
        block[answered] = random_answer[answered]
        answers[:, rows] = block
        low, high = _SPEEDER_SHARE_RANGE
        durations[rows] = typical_duration * rng.uniform(low, high, rows.size)

    rows = np.flatnonzero(planted["partial"])
    if rows.size:
        used = row_usage[rows]
        rank = np.cumsum(used, axis=1) - 1  # page order among the used domains …
        focus = arrays.point_focus[arrays.cell_point[cell_of_row[rows]]]
        has_focus = focus >= 0
        focus_rank = np.where(has_focus, rank[np.arange(rows.size), np.maximum(focus, 0)], -1)
        # … with the point's focus domain first.
        is_focus = np.arange(used.shape[1])[None, :] == focus[:, None]
        rank = np.where(is_focus, 0, np.where(rank < focus_rank[:, None], rank + 1, rank))
        n_used = used.sum(axis=1)
        pages_done = np.floor(rng.random(rows.size) * n_used).astype(np.int64)  # 0 … n_used − 1
        dropped = used & (rank >= pages_done[:, None])
        for d, domain in enumerate(layout.domains):
            gone = rows[dropped[:, d]]
            for code in domain.item_codes:
                answers[column_of[code], gone] = np.nan
        answers[overall_column, rows] = np.nan
        durations[rows] *= (pages_done + 0.5) / (n_used + 1)

    rows = np.flatnonzero(planted["duplicate_browser"])
    source = np.zeros(0, dtype=np.int64)
    if rows.size:
        clean = np.flatnonzero(source_rows)
        if clean.size == 0:
            raise ValueError("contamination leaves no clean row to duplicate; lower the shares")
        earlier = np.searchsorted(clean, rows)  # clean rows submitted before each duplicate
        source = clean[np.floor(rng.random(rows.size) * np.maximum(earlier, 1)).astype(np.int64)]
        answers[:, rows] = answers[:, source]
        row_usage[rows] = row_usage[source]
        cell_of_row[rows] = cell_of_row[source]
        person_index[rows] = person_index[source]
        selection_weights[rows] = selection_weights[source]
    return source


def _plant_integrity(
    layout: _Layout,
    plants: IntegrityPlants,
    rows: _Rows,
    answers: np.ndarray,
    row_usage: np.ndarray,
    durations: np.ndarray,
    median: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Coached rows answer K − 1 or K wherever they answer; bots copy a template (in place)."""
    lengths = np.array(
        [d.scale_length for d in layout.domains for _ in d.item_codes] + [layout.overall_scale_length], dtype=float
    )
    coached = np.flatnonzero(rows.coached)
    if coached.size:
        block = answers[:, coached]
        answered = ~np.isnan(block)
        top = rng.random(block.shape) < plants.coached_top_share
        coached_answer = np.where(top, lengths[:, None], lengths[:, None] - 1.0)
        block[answered] = coached_answer[answered]
        answers[:, coached] = block

    bots = np.flatnonzero(rows.bot)
    if bots.size:
        template = lengths - rng.choice(np.array([0.0, 1.0, 2.0]), size=lengths.size, p=[0.5, 0.4, 0.1])
        block = np.repeat(template[:, None], bots.size, axis=1)
        changed = rng.random(block.shape) < _BOT_ANSWER_CHANGE
        step = np.where(rng.random(block.shape) < 0.5, -1.0, 1.0)
        block = np.where(changed, np.clip(block + step, 1.0, lengths[:, None]), block)
        item_domain = np.array([d for d, domain in enumerate(layout.domains) for _ in domain.item_codes])
        used = row_usage[bots][:, item_domain].T  # (domain items, bots)
        block[: item_domain.size][~used] = np.nan
        answers[:, bots] = block
        # The farm's script takes the same time whatever the pages, give or take a few percent.
        farm_duration = float(np.median(median[bots]))
        durations[bots] = farm_duration * np.exp(_BOT_DURATION_LOG_SD * rng.standard_normal(bots.size))


def _ascii_digits(buffer: np.ndarray, start: int, values: np.ndarray, width: int) -> None:
    remaining = values.astype(np.int64)
    for position in range(start + width - 1, start - 1, -1):
        buffer[:, position] = 48 + remaining % 10
        remaining //= 10


def _ascii_strings(buffer: np.ndarray) -> np.ndarray:
    return buffer.view(f"S{buffer.shape[1]}").ravel().astype(f"U{buffer.shape[1]}")


def _response_ids(wave: str, seed: int, n: int) -> np.ndarray:
    """``<wave>-s<seed>-<row number>``: unique within a sample, distinct across seeds."""
    prefix = f"{wave}-s{seed}-".encode("ascii")
    width = max(6, len(str(n)))
    buffer = np.empty((n, len(prefix) + width), dtype=np.uint8)
    buffer[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    _ascii_digits(buffer, len(prefix), np.arange(1, n + 1), width)
    return _ascii_strings(buffer)


def _draw_moments(time_kind: np.ndarray, days: int, rng: np.random.Generator) -> np.ndarray:
    """Seconds since the first day's midnight: a uniform day, a time of day by kind of point."""
    n = time_kind.size
    moments = rng.integers(0, days, n).astype(np.int64) * 86400
    for kind in sorted(set(time_kind.tolist())):
        rows = np.flatnonzero(time_kind == kind)
        windows = np.array(_TIME_OF_DAY.get(kind, _OFFICE_HOURS))
        which = rng.choice(len(windows), size=rows.size, p=windows[:, 2] / windows[:, 2].sum())
        hours = windows[which, 0] + rng.random(rows.size) * (windows[which, 1] - windows[which, 0])
        moments[rows] += np.minimum(np.floor(hours * 3600), 86399).astype(np.int64)
    return moments


def _format_times(start: _dt.date, days: int, moments: np.ndarray) -> np.ndarray:
    """ISO-8601 local times (``YYYY-MM-DDTHH:MM:SS+08:00``) of the moments."""
    n = moments.size
    day, second = np.divmod(moments, 86400)
    dates = np.array(
        [list((start + _dt.timedelta(days=k)).isoformat().encode() + b"T") for k in range(days)], dtype=np.uint8
    )
    buffer = np.empty((n, 25), dtype=np.uint8)
    buffer[:, :11] = dates[day]
    _ascii_digits(buffer, 11, second // 3600, 2)
    buffer[:, 13] = ord(":")
    _ascii_digits(buffer, 14, second // 60 % 60, 2)
    buffer[:, 16] = ord(":")
    _ascii_digits(buffer, 17, second % 60, 2)
    buffer[:, 19:] = np.frombuffer(_CHINA_OFFSET.encode(), dtype=np.uint8)
    return _ascii_strings(buffer)


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_tokens(count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random 64-hex-digit tokens (stand-ins for keyed SHA-256 hashes), as objects."""
    raw = rng.integers(0, 256, size=(count, 32), dtype=np.uint8)
    buffer = np.empty((count, 64), dtype=np.uint8)
    buffer[:, 0::2] = _HEX_DIGITS[raw >> 4]
    buffer[:, 1::2] = _HEX_DIGITS[raw & 15]
    return _ascii_strings(buffer).astype(object)


def _paradata(
    population: SyntheticPopulation,
    rows: _Rows,
    planted: Mapping[str, np.ndarray],
    duplicate_source: np.ndarray,
    plants: IntegrityPlants,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """``ip_hash`` and ``browser_hash`` per row (missing without a point), and the farm's addresses."""
    arrays = population._arrays
    n = rows.cell_of_row.size
    point = arrays.cell_point[rows.cell_of_row]
    point_town = arrays.point_town[point]
    kinds = population.points["kind"].to_numpy(dtype=object)
    has_wifi = np.array([kind in _WIFI_KINDS for kind in kinds], dtype=bool)
    n_towns = len(population.towns)

    mobile = _hex_tokens(n_towns * _MOBILE_ADDRESSES_PER_TOWN, rng).reshape(n_towns, _MOBILE_ADDRESSES_PER_TOWN)
    wifi = _hex_tokens(kinds.size, rng)
    ip_hash = mobile[point_town, rng.integers(0, _MOBILE_ADDRESSES_PER_TOWN, n)]
    on_wifi = has_wifi[point] & (rng.random(n) < _WIFI_SHARE)
    ip_hash[on_wifi] = wifi[point[on_wifi]]
    browser_hash = _hex_tokens(n, rng)
    duplicates = np.flatnonzero(planted["duplicate_browser"])
    browser_hash[duplicates] = browser_hash[duplicate_source]

    bot_addresses: tuple[str, ...] = ()
    bots = np.flatnonzero(rows.bot)
    if bots.size:
        pool = _hex_tokens(plants.bot_addresses, rng)
        ip_hash[bots] = pool[np.arange(bots.size) % pool.size]  # in turn, in submission order
        bot_addresses = tuple(pool.tolist())
    without_point = ~rows.at_point
    ip_hash[without_point] = None
    browser_hash[without_point] = None
    return {"ip_hash": ip_hash, "browser_hash": browser_hash}, bot_addresses


def _assemble_responses(
    population: SyntheticPopulation,
    layout: _Layout,
    answers: np.ndarray,
    row_usage: np.ndarray,
    rows: _Rows,
    durations: np.ndarray,
    planted: Mapping[str, np.ndarray],
    paradata: Mapping[str, np.ndarray],
    *,
    wave: str,
    channels: np.ndarray,
    seed: int,
    submitted_at: np.ndarray,
    with_quality_columns: bool,
) -> pd.DataFrame:
    arrays = population._arrays
    cell_of_row = rows.cell_of_row
    n = cell_of_row.size
    # The Likert block becomes the frame's float64 block without a copy.
    frame = pd.DataFrame(answers.T, columns=list(layout.item_columns), copy=False)
    partial = planted["partial"]
    without_point = ~rows.at_point

    def labels(values: tuple[str, ...], codes: np.ndarray, blank: np.ndarray | None = None) -> np.ndarray:
        out = np.asarray(values, dtype=object)[codes]
        if blank is not None and blank.any():
            out[blank] = None
        return np.asarray(out)

    point_codes = tuple(population.points["code"])
    point_of_row = arrays.cell_point[cell_of_row]
    fixed = {
        "response_id": _response_ids(wave, seed, n),
        "wave": np.full(n, wave, dtype=object),
        "channel": channels,
        "point": labels(point_codes, point_of_row, without_point),
        "town": labels(population.towns, arrays.cell_town[cell_of_row], partial),
        "sex": labels(SEXES, arrays.cell_sex[cell_of_row], partial),
        "age_group": labels(AGE_GROUPS, arrays.cell_age[cell_of_row], partial),
        "duration_s": durations.astype(np.float64),
        "submitted_at": submitted_at,
    }
    for position, (name, values) in enumerate(fixed.items()):
        frame.insert(position, name, values)

    # services_used: at most 2**12 distinct patterns, so join each pattern once.
    pattern = row_usage.astype(np.int64) @ (1 << np.arange(row_usage.shape[1], dtype=np.int64))
    distinct, inverse = np.unique(pattern, return_inverse=True)
    domain_ids = layout.domain_ids
    joined = np.array(
        [";".join(d for k, d in enumerate(domain_ids) if p >> k & 1) for p in distinct.tolist()], dtype=object
    )
    extra = {
        "services_used": joined[inverse.ravel()],
        POINT_TOWN_COLUMN: labels(population.towns, arrays.point_town[point_of_row], without_point),
    }
    if with_quality_columns:
        extra["state"] = np.where(partial, "partial", "submitted").astype(object)
        flags = np.full(n, None, dtype=object)
        flags[planted["duplicate_browser"]] = "duplicate_browser"
        extra["flags"] = flags
    extra.update(paradata)
    for name, values in extra.items():
        frame.insert(frame.shape[1], name, values)
    return frame


# =====================================================================================
# Convenience and files


def generate_survey(
    n_responses: int = 2000,
    *,
    seed: int = 1,
    population_seed: int = 0,
    questionnaires: QuestionnaireSet | None = None,
    population_size: int = 500_000,
    points_per_town: int = 8,
    sampled_points_per_town: int | None = 4,
    wave: str = "2025",
    contamination: Contamination | Mapping[str, float] | None = None,
    cross_town_share: float = DEFAULT_CROSS_TOWN_SHARE,
    towns: tuple[str, ...] | None = None,
    no_point_channels: Mapping[str, float] | None = None,
    integrity: IntegrityPlants | Mapping[str, object] | None = None,
    paradata: bool | None = None,
) -> tuple[SyntheticPopulation, SyntheticSample]:
    """Build a population and draw one sample from it: ``(population, sample)``.

    See :func:`make_population` and :func:`draw_sample` for the parameters.
    """
    population = make_population(
        questionnaires,
        seed=population_seed,
        size=population_size,
        points_per_town=points_per_town,
        cross_town_share=cross_town_share,
        towns=towns,
    )
    sample = draw_sample(
        population,
        n_responses,
        seed=seed,
        sampled_points_per_town=sampled_points_per_town,
        wave=wave,
        contamination=contamination,
        no_point_channels=no_point_channels,
        integrity=integrity,
        paradata=paradata,
    )
    return population, sample


def write_responses_csv(responses: pd.DataFrame, path: str | Path, *, chunk_rows: int = 100_000) -> Path:
    """Write a responses table as the contract's CSV (UTF-8, header, empty = missing).

    Likert answers are written as integers (``4``, not ``4.0``); the table is written in
    chunks so that a million rows need little extra memory.

    Parameters
    ----------
    responses : DataFrame
        A responses table, e.g. ``sample.responses``.
    path : str or Path
        Target file (overwritten).
    chunk_rows : int
        Rows per chunk.

    Returns
    -------
    Path
    """
    chunk_rows = _validate_int(chunk_rows, "chunk_rows", minimum=1)
    missing = [column for column in RESPONSE_FIXED_COLUMNS if column not in responses.columns]
    if missing:
        raise ValueError(f"responses lack the contract's column(s) {missing}; pass a table from draw_sample")
    target = Path(path)
    answer_columns = [
        column
        for column in responses.columns
        if column not in RESPONSE_FIXED_COLUMNS and pd.api.types.is_float_dtype(responses[column])
    ]
    with target.open("w", encoding="utf-8", newline="") as handle:
        for first in range(0, max(len(responses), 1), chunk_rows):
            chunk = responses.iloc[first : first + chunk_rows]
            as_text = {}
            for column in answer_columns:
                text = _small_integers_as_text(chunk[column].to_numpy())
                if text is not None:
                    as_text[column] = text
            if as_text:
                chunk = chunk.assign(**as_text)
            chunk.to_csv(handle, index=False, header=first == 0, float_format="%.10g", lineterminator="\n")
    return target


_SMALL_INTEGER_TEXT = np.array(["", *(str(k) for k in range(101))], dtype=object)


def _small_integers_as_text(values: np.ndarray) -> np.ndarray | None:
    """Answer codes 0–100 as text ("4", "" for missing) — twice as fast as float formatting.

    Returns None when the column holds anything else (it is then written as floats).
    """
    present = values[~np.isnan(values)]
    if present.size and (present.min() < 0 or present.max() > 100 or (present != np.round(present)).any()):
        return None
    return np.asarray(_SMALL_INTEGER_TEXT[np.nan_to_num(values, nan=-1.0).astype(np.int64) + 1])


def write_margins_csv(margins: pd.DataFrame, path: str | Path) -> Path:
    """Write population margins as the contract's CSV ``variable,level,population``."""
    expected = ["variable", "level", "population"]
    if list(margins.columns) != expected:
        raise ValueError(f"margins must have exactly the columns {expected}, got {list(margins.columns)}")
    target = Path(path)
    margins.to_csv(target, index=False, encoding="utf-8", lineterminator="\n")
    return target
