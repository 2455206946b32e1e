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

from collections.abc import Mapping

from ..questionnaire import QuestionnaireSet
from .files import write_margins_csv, write_responses_csv
from .parameters import (
    AGE_GROUPS,
    CONTAMINATION_KINDS,
    DEFAULT_CROSS_TOWN_SHARE,
    DEFAULT_NO_POINT_CHANNELS,
    DEFAULT_TOWNS,
    PARADATA_COLUMNS,
    PLANT_KINDS,
    POINT_TOWN_COLUMN,
    RESPONSE_FIXED_COLUMNS,
    SEXES,
    STRAIGHT_LINE_MIN_ITEMS,
)
from .population import make_population
from .records import (
    Contamination,
    IntegrityPlants,
    IntegrityTruth,
    ModelParameters,
    SurveyTruth,
    SyntheticPopulation,
    SyntheticSample,
)
from .sample import draw_sample

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


# =====================================================================================
# Result objects


# =====================================================================================
# Validation


# =====================================================================================
# Layout: which items, in which order


# =====================================================================================
# Population


# =====================================================================================
# Truth


# =====================================================================================
# Sample


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
