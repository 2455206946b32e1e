"""Charts of the key-driver analysis: the importance–performance quadrants of a domain's items,
and the priorities of the items across domains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..fonts import shorten, wrap_chinese
from ..vocabulary import DEFAULT_TARGET
from .base import (
    GREY,
    OKABE_ITO,
    QUADRANT_COLOURS,
    _figure,
    _footnote,
    _illustrative_mark,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

    from ..drivers import DomainDrivers, Priority


def ipa_chart(drivers: DomainDrivers, *, illustrative: bool = False) -> Figure:
    """Importance–performance quadrant of one domain.

    x: the item's share of the explained variance (relative weight / R², %), y: the
    item's index; 95% CIs on both; dashed lines at the domain's means; items numbered,
    with the key on the right.
    """
    items = drivers.items
    figure = _figure(4.2)
    grid = figure.add_gridspec(1, 2, width_ratios=(1.35, 1))
    axes = figure.add_subplot(grid[0, 0])
    key_axes = figure.add_subplot(grid[0, 1])
    key_axes.axis("off")
    mean_share = 100 / len(items)
    for number, item in enumerate(items, start=1):
        colour = QUADRANT_COLOURS[item.quadrant]
        x, y = 100 * item.importance_share, item.performance
        axes.errorbar(
            x,
            y,
            xerr=[[x - 100 * item.share_ci_low], [100 * item.share_ci_high - x]],
            yerr=[[y - item.performance_ci_low], [item.performance_ci_high - y]],
            fmt="o",
            color=colour,
            ecolor=colour,
            elinewidth=1,
            alpha=0.9,
            markersize=12,
            capsize=0,
        )
        axes.text(x, y, str(number), ha="center", va="center", fontsize=8, color="white", fontweight="bold")
    axes.axvline(mean_share, color=GREY, linestyle="--", linewidth=1)
    axes.axhline(drivers.performance_mean, color=GREY, linestyle="--", linewidth=1)
    x_low = min(min(100 * i.share_ci_low for i in items), mean_share) - 3
    x_high = max(max(100 * i.share_ci_high for i in items), mean_share) + 3
    y_low = min(min(i.performance_ci_low for i in items), drivers.performance_mean) - 2
    y_high = max(max(i.performance_ci_high for i in items), drivers.performance_mean) + 2
    axes.set_xlim(max(0, x_low), x_high)
    axes.set_ylim(y_low, y_high)
    from ..drivers import QUADRANT_LABELS_ZH

    corners = {
        "concentrate": (0.98, 0.02, "right", "bottom"),
        "keep_up": (0.98, 0.98, "right", "top"),
        "low_priority": (0.02, 0.02, "left", "bottom"),
        "possible_overkill": (0.02, 0.98, "left", "top"),
    }
    for quadrant, (cx, cy, ha, va) in corners.items():
        axes.text(
            cx,
            cy,
            QUADRANT_LABELS_ZH[quadrant],
            transform=axes.transAxes,
            ha=ha,
            va=va,
            fontsize=9,
            color=QUADRANT_COLOURS[quadrant],
            fontweight="bold",
        )
    axes.set_xlabel("重要性：对本领域总体满意度的解释份额（%）")
    axes.set_ylabel("表现：题目满意度指数（0–100）")
    axes.set_title(f"{drivers.label}：重要性—表现分析")
    lines = []
    for number, item in enumerate(items, start=1):
        wrapped = wrap_chinese(item.label, 17) or [item.item]
        if len(wrapped) > 2:  # two lines at most: the rest is cut with an ellipsis
            wrapped = [wrapped[0], shorten("".join(wrapped[1:]), 17)]
        lines.append((number, wrapped, item))
    y = 0.98
    for number, wrapped, item in lines:
        key_axes.text(
            0.0,
            y,
            f"{number}",
            transform=key_axes.transAxes,
            fontsize=8.5,
            va="top",
            color=QUADRANT_COLOURS[item.quadrant],
            fontweight="bold",
        )
        key_axes.text(0.07, y, "\n".join(wrapped), transform=key_axes.transAxes, fontsize=8.5, va="top")
        y -= 0.055 * len(wrapped) + 0.03
    key_axes.text(
        0.0,
        max(y - 0.02, 0.0),
        f"R² = {drivers.r_squared:.2f}，n = {drivers.n:,}",
        transform=key_axes.transAxes,
        fontsize=8.5,
        va="top",
        color=GREY,
    )
    _illustrative_mark(figure, illustrative)
    return figure


def priority_chart(
    priorities: Sequence[Priority], *, top: int = 12, target: float = DEFAULT_TARGET, illustrative: bool = False
) -> Figure:
    """The cross-domain "concentrate here" list (急难愁盼), most urgent at the top."""
    shown = list(priorities[:top])
    figure = _figure(0.45 * max(len(shown), 3) + 1.5)
    axes = figure.add_subplot()
    rows = list(reversed(shown))
    for y, priority in enumerate(rows):
        axes.barh(y, priority.score, color=OKABE_ITO["vermillion"], height=0.6)
        axes.text(
            priority.score,
            y,
            f"  表现 {priority.performance:.1f}，重要性 {priority.relative_importance:.2f}",
            va="center",
            fontsize=8.5,
        )
    axes.set_yticks(
        range(len(rows)), [f"{p.rank}. {p.domain_label}｜{shorten(p.label, 18)}" for p in rows], fontsize=8.5
    )
    axes.set_ylim(-0.7, max(len(rows), 1) - 0.3)
    if rows:
        axes.set_xlim(0, max(p.score for p in rows) * 1.6)
    else:
        axes.text(0.5, 0.5, "没有处于“重点改进区”的事项", transform=axes.transAxes, ha="center", fontsize=11)
        axes.set_yticks([])
    axes.set_xlabel(f"优先度 = 相对重要性 × 距{target:g}分的差距")
    axes.set_title("重点改进事项排序（急难愁盼）")
    _footnote(figure, "相对重要性1表示该领域题目的平均重要性；表现为题目满意度指数。")
    _illustrative_mark(figure, illustrative)
    return figure
