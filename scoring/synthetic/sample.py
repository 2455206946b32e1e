"""Drawing a sample from the synthetic population: the design (towns, points, channels), who
answers, and their answers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .paradata import (
    _assemble_responses,
    _draw_moments,
    _format_times,
    _paradata,
)
from .parameters import (
    _DRIVER_STRENGTH,
    _DURATION_BASE_S,
    _DURATION_FLOOR_SHARE,
    _DURATION_LOG_SD,
    _DURATION_PER_DOMAIN_S,
    _OVERALL_OFFSET,
    _PERSON_GENERAL_SHARE,
    _SD,
    _SELECTION_BY_AGE,
    _SELECTION_BY_SEX,
    _TOWN_ALLOCATION_POWER,
    _WAVE_CODE,
    CONTAMINATION_KINDS,
    PLANT_KINDS,
    STRAIGHT_LINE_MIN_ITEMS,
)
from .plants import (
    _add_plants,
    _bot_usage,
    _plant_contamination,
    _plant_integrity,
    _straight_liner_usage,
)
from .population import (
    _cutpoints,
    _largest_remainder,
)
from .records import (
    Contamination,
    IntegrityPlants,
    IntegrityTruth,
    SyntheticPopulation,
    SyntheticSample,
    _Layout,
    _PopulationArrays,
    _validate_contamination,
    _validate_int,
    _validate_integrity,
    _validate_no_point_channels,
    _validate_period,
)
from .rows import (
    _Design,
)


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
