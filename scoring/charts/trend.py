"""The trend chart: the district's index over the waves, with intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..contract import TrendPoint
from ..vocabulary import DEFAULT_TARGET
from .base import (
    _LABEL_BOX,
    OKABE_ITO,
    _figure,
    _finite,
    _illustrative_mark,
    _whole_number_ticks,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure


def _trend_point(point: TrendPoint | Mapping[str, Any]) -> TrendPoint:
    return point if isinstance(point, TrendPoint) else TrendPoint.from_dict(point, path="trend")


def trend_chart(
    trend: Sequence[TrendPoint | Mapping[str, Any]], *, target: float = DEFAULT_TARGET, illustrative: bool = False
) -> Figure:
    """Overall index across waves with 95% CIs and the target line.

    ``trend`` holds one point per wave, oldest first (``results.json["trend"]``): ``wave``,
    ``index``, ``ci_low``, ``ci_high`` and optionally ``satisfied_rate`` (a proportion).
    """
    points = [p for p in map(_trend_point, trend) if _finite(p.index)]
    figure = _figure(3.4)
    axes = figure.add_subplot()
    x = list(range(len(points)))
    values = [float(p.index) for p in points]  # type: ignore[arg-type]
    lows = [float(p.ci_low) if _finite(p.ci_low) else v for p, v in zip(points, values)]
    highs = [float(p.ci_high) if _finite(p.ci_high) else v for p, v in zip(points, values)]
    if points:
        axes.fill_between(x, lows, highs, color=OKABE_ITO["sky_blue"], alpha=0.3, linewidth=0, label="95%置信区间")
        axes.plot(x, values, "-o", color=OKABE_ITO["blue"], linewidth=2, label="总体满意度指数")
        for xi, value, low, high in zip(x, values, lows, highs):
            axes.errorbar(
                xi, value, yerr=[[value - low], [high - value]], fmt="none", ecolor=OKABE_ITO["blue"], capsize=4
            )
            axes.text(xi, high + 0.5, f"{value:.1f}", ha="center", fontsize=9, bbox=_LABEL_BOX)
        rates = [(xi, 100 * float(p.satisfied_rate)) for xi, p in zip(x, points) if _finite(p.satisfied_rate)]
        if rates:
            axes.plot(
                [r[0] for r in rates],
                [r[1] for r in rates],
                "--s",
                color=OKABE_ITO["orange"],
                linewidth=1.5,
                markersize=5,
                label="总体满意率（%）",
            )
    axes.axhline(target, color=OKABE_ITO["black"], linestyle="--", linewidth=1)
    axes.text(-0.45, target, f"目标 {target:g}", fontsize=9, va="bottom", ha="left", bbox=_LABEL_BOX)
    axes.set_xticks(x, [str(p.wave or "") for p in points])
    axes.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
    span = [*lows, *highs, target, *(100 * float(p.satisfied_rate) for p in points if _finite(p.satisfied_rate))]
    axes.set_ylim(max(0, min(span) - 6), min(104, max(span) + 6))
    _whole_number_ticks(axes.yaxis)
    axes.set_xlabel("调查期次")
    axes.set_ylabel("得分（0–100）")
    title = "总体满意度历年变化"
    if len(points) < 2:
        title += "（目前仅有一期数据）"
    axes.set_title(title)
    axes.legend(loc="lower left", fontsize=8, frameon=False)
    _illustrative_mark(figure, illustrative)
    return figure
