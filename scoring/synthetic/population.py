"""The synthetic population: questionnaire layout, the answering model (latent satisfaction →
answers), points, towns, and the true scores.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ..questionnaire import DOMAIN_IDS, OUTSIDE_DISTRICT, QuestionnaireSet
from .parameters import (
    _AGE_EFFECT,
    _AGE_SHARES_RURAL,
    _AGE_SHARES_URBAN,
    _ALWAYS_PRESENT_KINDS,
    _CUTPOINTS_5,
    _DEFAULT_USAGE,
    _DISTRICT_INSTITUTION_PULL,
    _DISTRICT_PLACES,
    _DOMAIN_BASE_LATENT,
    _DRIVER_STRENGTH,
    _MALE_SHARE,
    _OVERALL_OFFSET,
    _PERSON_GENERAL_SHARE,
    _POINT_KINDS,
    _POINT_SHARED_SHARE,
    _SD,
    _SELECTION_BY_AGE,
    _SELECTION_BY_SEX,
    _SEX_EFFECT,
    _TOWN_RELATIVE_SIZE,
    _URBAN_POINT_PULL,
    _USAGE_BY_AGE,
    AGE_GROUPS,
    DEFAULT_CROSS_TOWN_SHARE,
    DEFAULT_TOWNS,
    SEXES,
    _PointKind,
)
from .records import (
    ModelParameters,
    SurveyTruth,
    SyntheticPopulation,
    _DomainLayout,
    _Layout,
    _PopulationArrays,
    _validate_int,
    _validate_share,
    _validate_towns,
)


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
        parameters=parameters,
        _layout=layout,
        _arrays=arrays,
        _truth=functools.partial(_compute_truth, layout, arrays),
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


def _compute_truth(layout: _Layout, arrays: _PopulationArrays) -> SurveyTruth:
    """Exact expected statistics of the finite population (see the module docstring)."""
    resident_cell = np.repeat(np.arange(arrays.cell_size.size), arrays.cell_size)
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
