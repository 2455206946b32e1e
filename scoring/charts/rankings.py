"""The rank chart: the district's place among the units of a monitoring level, with the interval
of its rank.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..contract import Placement as PlacementRecord
from ..vocabulary import DISTRICT
from .base import (
    LIGHT_GREY,
    OKABE_ITO,
    _figure,
    _footnote,
    _illustrative_mark,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

    from ..rankings import Placement


def _placement_record(placement: PlacementRecord | Placement | Mapping[str, Any]) -> PlacementRecord:
    """A placement as results.json holds it (from an engine object or a dict)."""
    if isinstance(placement, PlacementRecord):
        return placement
    data = placement if isinstance(placement, Mapping) else placement.to_dict()
    return PlacementRecord.from_dict(data, path="placement")


def rank_chart(
    placement: PlacementRecord | Placement | Mapping[str, Any],
    *,
    level_label: str,
    district: str = DISTRICT,
    draws: int | None = None,
    caveat: str | None = None,
) -> Figure:
    """Probability of each rank, the 95% rank interval shaded and the median marked.

    ``placement`` is read as results.json holds it, so the chart shows what the file says;
    ``draws`` is the simulation's size and ``caveat`` the instrument sentence (default:
    :data:`scoring.rankings.INSTRUMENT_CAVEAT`).
    """
    from ..explain import standard_error_clause
    from ..rankings import INSTRUMENT_CAVEAT

    record = _placement_record(placement)
    probabilities = [float(p) for p in (record.rank_probabilities or {}).values()]
    ranks = list(range(1, len(probabilities) + 1))
    low, high = (list(record.rank_interval or []) + [None, None])[:2]
    figure = _figure(3.3)
    axes = figure.add_subplot()
    colours = [
        OKABE_ITO["blue"] if low is not None and high is not None and low <= k <= high else LIGHT_GREY for k in ranks
    ]
    axes.bar(ranks, [100 * p for p in probabilities], color=colours, width=0.7)
    for k, p in zip(ranks, probabilities):
        if p >= 0.005:
            axes.text(k, 100 * p + 1, f"{100 * p:.0f}%", ha="center", fontsize=8.5)
    if record.median_rank is not None:
        axes.plot(
            [record.median_rank],
            [0],
            marker="^",
            markersize=11,
            color=OKABE_ITO["vermillion"],
            clip_on=False,
            zorder=5,
            label=f"排名中位数：第{record.median_rank}名",
        )
        axes.legend(loc="upper left", fontsize=9, frameon=False)
    axes.set_xticks(
        ranks,
        [f"第{k}名" for k in ranks],
        fontsize=8.5 if len(ranks) <= 12 else 7,
        rotation=0 if len(ranks) <= 12 else 45,
    )
    axes.set_ylim(0, 112)
    axes.set_ylabel("概率（%）")
    axes.set_xlabel(f"{district}的名次（蓝色为95%排名区间：第{low}–{high}名）")
    n_ranked = record.n_ranked or len(ranks)
    axes.set_title(
        f"{district}{record.year}年得分在{record.benchmark_year}年{level_label}{n_ranked - 1}个单位中的名次概率"
    )
    scope = "" if record.complete_list is not False else "名单不完整，名次仅指所列单位之间；"
    years = "" if record.same_year is not False else f"对标单位为{record.benchmark_year}年结果，年份不同，只作参考；"
    simulated = f"各得分按抽样误差模拟{draws:,}次，" if draws else "各得分按抽样误差模拟，"
    note = (INSTRUMENT_CAVEAT["zh"] if caveat is None else caveat) if record.source == "survey" else ""
    _footnote(figure, f"{scope}{years}{simulated}{standard_error_clause(record)}。{note}")
    _illustrative_mark(figure, bool(record.illustrative))
    return figure
