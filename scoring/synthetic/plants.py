"""Contamination and integrity plants: the bots, straight-liners, duplicates and coached points
that the screening and integrity checks must find, with the truth of what was planted.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .parameters import (
    _BOT_ANSWER_CHANGE,
    _BOT_DURATION_LOG_SD,
    _BOT_TEMPLATE_DOMAINS,
    _SPEEDER_SHARE_RANGE,
    STRAIGHT_LINE_MIN_ITEMS,
)
from .records import (
    IntegrityPlants,
    SyntheticPopulation,
    _Layout,
    _PopulationArrays,
)
from .rows import (
    _Design,
    _Rows,
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
