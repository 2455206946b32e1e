"""The chart of the towns: each town's index with its interval, the district's figure beside
them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..contract import Results
from .base import (
    _LABEL_BOX,
    GREY,
    LIGHT_GREY,
    OKABE_ITO,
    _figure,
    _finite,
    _footnote,
    _illustrative_mark,
    _number,
    _t_quantile,
    _whole_number_ticks,
    _xerr,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure


def town_chart(
    results: Results | Mapping[str, Any],
    *,
    town_labels: Mapping[str, str] | None = None,
    target: float | None = None,
    min_n: int = 30,
    max_cv: float = 0.3,
    illustrative: bool = False,
) -> Figure:
    """Overall index by town with 95% CIs; suppressed towns are shown as such, without a value.

    ``min_n`` and ``max_cv`` are the suppression rule the estimates used (for the note).
    Towns carry no verdict (the target is the district's): every town is drawn alike.
    """
    results = Results.coerce(results)
    target = results.said_target if target is None else target
    labels = town_labels or {}
    shown, hidden = [], []
    for code, cells in results.subgroup("town").items():
        cell = cells.get("overall")
        if cell is None or cell.suppressed or not _finite(cell.index):
            hidden.append((code, cell))
        else:
            shown.append((code, cell))
    shown.sort(key=lambda item: float(item[1].index))  # type: ignore[arg-type]
    rows = hidden + shown
    figure = _figure(0.4 * max(len(rows), 3) + 1.4)
    axes = figure.add_subplot()
    district = _number(results.overall.index if results.overall else None)
    lows, highs = [], []
    for y, (_code, cell) in enumerate(rows):
        if cell is None or cell.suppressed or not _finite(cell.index):
            axes.axhspan(y - 0.3, y + 0.3, facecolor="none", edgecolor=LIGHT_GREY, hatch="///", linewidth=0)
            n, cv = (cell.n, cell.cv) if cell is not None else (None, None)
            if isinstance(n, int) and n < min_n:
                reason = f"样本不足（{n}份）"
            elif _finite(cv) and cv > max_cv:
                reason = f"精度不足（变异系数 {cv:.2f}）"
            else:
                reason = "样本不足"
            axes.text(
                0.5,
                y,
                f"{reason}，不予公布",
                transform=axes.get_yaxis_transform(),
                ha="center",
                va="center",
                fontsize=9,
                color=GREY,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
            )
            continue
        index = float(cell.index)
        if _finite(cell.ci_low) and _finite(cell.ci_high) and cell.ci_low <= index <= cell.ci_high:
            low, high = float(cell.ci_low), float(cell.ci_high)
        elif _finite(cell.se):
            half = _t_quantile(cell.df) * float(cell.se)
            low, high = index - half, index + half
        else:
            low = high = index
        lows.append(low)
        highs.append(high)
        axes.errorbar(
            index,
            y,
            xerr=_xerr(index, low, high),
            fmt="o",
            color=OKABE_ITO["blue"],
            ecolor=OKABE_ITO["blue"],
            elinewidth=2,
            capsize=3,
            markersize=5,
        )
        axes.text(high + 0.4, y, f"{index:.1f}（{cell.n}份）", va="center", fontsize=8.5, bbox=_LABEL_BOX)
    axes.axvline(target, color=OKABE_ITO["black"], linestyle="--", linewidth=1)
    axes.text(target, len(rows) - 0.45, f" 目标 {target:g}", fontsize=9)
    if district is not None:
        axes.axvline(district, color=OKABE_ITO["green"], linestyle=":", linewidth=1.5)
        axes.text(district, -0.95, f"全区 {district:.1f} ", fontsize=9, color=OKABE_ITO["green"], ha="right")
    axes.set_yticks(range(len(rows)), [labels.get(code, code) for code, _ in rows])
    axes.set_ylim(-1.1, len(rows) - 0.2)
    left = min([*lows, target, district if district is not None else target]) if lows else 0
    right = max([*highs, target]) if highs else 100
    axes.set_xlim(max(0, math.floor((left - 6) / 5) * 5), min(100, right + 9))
    _whole_number_ticks(axes.xaxis)
    axes.set_xlabel("总体满意度指数（0–100），线段为95%置信区间")
    axes.set_title("各镇（街道、管理区）总体满意度指数")
    _footnote(figure, f"样本量小于{min_n}或变异系数大于{max_cv:g}、或有领域样本不足的镇街不公布估计值。")
    _illustrative_mark(figure, illustrative)
    return figure
