"""Charts of the report: matplotlib figures with Chinese titles and labels.

Every chart is a function of plain data (the results dict, or the objects of
:mod:`scoring.rankings` and :mod:`scoring.drivers`) returning a
:class:`matplotlib.figure.Figure`; :func:`chart_files` renders it as PNG and SVG bytes (a
:class:`Chart`).  The figures are built without pyplot (no global state, no GUI backend).

Text is drawn in the CJK font found by :mod:`scoring.fonts` (Chinese glyphs that fall
back to a Latin font come out as empty boxes); SVG text is converted to paths, so the
files display the same everywhere.  Colours are the Okabe–Ito palette, safe for the
common forms of colour blindness, and every colour-coded meaning is also written out
(legend or label).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from scipy import stats

from .fonts import cjk_font_or_warn, shorten, wrap_chinese
from .questionnaire import DOMAIN_LABELS_ZH

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

    from .drivers import DomainDrivers, Priority
    from .rankings import Placement

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
VERDICT_COLOURS: dict[str, str] = {
    "met": OKABE_ITO["blue"],
    "not_met": OKABE_ITO["vermillion"],
    "inconclusive": OKABE_ITO["orange"],
}
VERDICT_LABELS_ZH: dict[str, str] = {
    "met": "已达到目标",
    "not_met": "未达到目标",
    "inconclusive": "尚无法判断",
}
QUADRANT_COLOURS: dict[str, str] = {
    "concentrate": OKABE_ITO["vermillion"],
    "keep_up": OKABE_ITO["blue"],
    "low_priority": OKABE_ITO["orange"],
    "possible_overkill": OKABE_ITO["sky_blue"],
}
GREY = "#767676"
LIGHT_GREY = "#D9D9D9"
DPI = 150
WIDTH_IN = 8.0


@dataclass(frozen=True)
class Chart:
    """A rendered chart: its PNG and SVG bytes (file names ``<name>.png`` and ``<name>.svg``)."""

    name: str
    title: str
    png: bytes = field(repr=False)
    svg: bytes = field(repr=False)
    description: str = ""


@contextmanager
def chart_style() -> Iterator[None]:
    """matplotlib settings of every chart: the CJK font, sizes, no minus-sign glyph issue."""
    import matplotlib

    font = cjk_font_or_warn()
    families = font.matplotlib_families if font else ["DejaVu Sans"]
    settings: dict[Any, Any] = {
        "font.family": "sans-serif",
        "font.sans-serif": families,
        "axes.unicode_minus": False,  # the Unicode minus is missing from some CJK fonts
        "font.size": 10,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.labelsize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": False,
        "svg.fonttype": "path",
        "svg.hashsalt": "manyi",  # stable element ids: identical runs give identical SVGs
        "figure.dpi": 100,
        "savefig.dpi": DPI,
    }
    with matplotlib.rc_context(settings):
        yield


def _figure(height: float, width: float = WIDTH_IN) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _whole_number_ticks(axis: Any) -> None:
    """Ticks at whole numbers on an index axis (80, 85, 90 — never 82.5 or "100.0")."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 5, 10], integer=True))


def _finite(value: Any) -> TypeGuard[float]:
    """True for a finite int or float (not None, not NaN)."""
    return isinstance(value, (int, float)) and math.isfinite(value)


def _t_quantile(df: Any) -> float:
    if _finite(df) and df > 0:
        return float(stats.t.ppf(0.975, df))
    return float(stats.norm.ppf(0.975))


def _reserve_bottom(figure: Figure, inches: float = 0.28) -> None:
    """Keep a strip at the bottom free of axes for footnotes (constrained layout ignores fig.text)."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    share = inches / figure.get_figheight()
    engine = figure.get_layout_engine()
    if not isinstance(engine, ConstrainedLayoutEngine):
        return
    current = engine.get().get("rect", (0.0, 0.0, 1.0, 1.0))
    if current[1] >= share:  # a taller strip is already kept
        return
    engine.set(rect=(0.0, share, 1.0, 1.0 - share))


def _footnote(figure: Figure, text: str, *, width: int = 52) -> None:
    """A grey note at the bottom left, wrapped to lines of ``width`` characters (52 leave
    room for the illustrative mark at the bottom right of an 8-inch chart)."""
    lines = wrap_chinese(text, width)
    _reserve_bottom(figure, 0.14 * len(lines) + 0.14)
    figure.text(0.005, 0.004, "\n".join(lines), fontsize=7.5, color=GREY, ha="left", va="bottom", linespacing=1.35)


def _illustrative_mark(figure: Figure, illustrative: bool) -> None:
    if illustrative:
        _reserve_bottom(figure)
        figure.text(
            0.995,
            0.004,
            "示意数据，非正式结果",
            fontsize=8,
            color=OKABE_ITO["vermillion"],
            ha="right",
            va="bottom",
            fontweight="bold",
        )


#: A white box behind value labels, so that reference lines do not cross the digits.
_LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85}
VERDICT_MARKERS: dict[str, str] = {"met": "o", "not_met": "s", "inconclusive": "D"}


def _p_text(p_value: float) -> str:
    if p_value < 0.001:
        return "p < 0.001"
    if p_value > 0.999:
        return "p > 0.999"
    return f"p = {p_value:.3f}"


def _verdict_of(low: float, high: float, target: float) -> str:
    if low > target:
        return "met"
    if high < target:
        return "not_met"
    return "inconclusive"


# ---------------------------------------------------------------------------
# Domains


def domain_index_chart(results: Mapping[str, Any], *, target: float = 85.0, illustrative: bool = False) -> Figure:
    """Domain indices with 95% CI bars and the target line, highest first.

    Each point is coloured by how its interval lies against the target (two-sided 95%
    interval: above, below, or straddling it); the legend says which is which.
    """
    domains = results.get("domains") or {}
    rows = sorted(
        ((d, v) for d, v in domains.items() if _finite(v.get("index"))),
        key=lambda item: item[1]["index"],
    )
    figure = _figure(0.42 * max(len(rows), 3) + 1.3)
    axes = figure.add_subplot()
    seen: set[str] = set()
    lows = []
    for y, (_domain, values) in enumerate(rows):
        index, low, high = values["index"], values.get("ci_low", math.nan), values.get("ci_high", math.nan)
        verdict = _verdict_of(low, high, target)
        colour = VERDICT_COLOURS[verdict]
        label = (
            None
            if verdict in seen
            else {
                "met": f"区间整体高于{target:g}",
                "not_met": f"区间整体低于{target:g}",
                "inconclusive": f"区间跨越{target:g}",
            }[verdict]
        )
        seen.add(verdict)
        axes.errorbar(
            index,
            y,
            xerr=[[index - low], [high - index]],
            fmt=VERDICT_MARKERS[verdict],
            color=colour,
            ecolor=colour,
            elinewidth=2,
            capsize=4,
            markersize=6,
            label=label,
        )
        axes.text(high + 0.4, y, f"{index:.1f}", va="center", fontsize=9, bbox=_LABEL_BOX)
        lows.append(low)
    axes.axvline(target, color=OKABE_ITO["black"], linestyle="--", linewidth=1)
    axes.text(target, len(rows) - 0.4, f" 目标 {target:g}", fontsize=9, va="bottom")
    axes.set_yticks(range(len(rows)), [DOMAIN_LABELS_ZH.get(d, d) for d, _ in rows])
    axes.set_ylim(-0.7, len(rows) - 0.1)
    left = min([*lows, target]) if lows else target - 10
    axes.set_xlim(
        max(0.0, math.floor((left - 5) / 5) * 5), min(100.0, max(target, *(v.get("ci_high", 0) for _, v in rows)) + 6)
    )
    _whole_number_ticks(axes.xaxis)
    axes.set_xlabel("满意度指数（0–100），线段为95%置信区间")
    axes.set_title("各领域满意度指数")
    axes.legend(loc="lower right", fontsize=8, frameon=False)
    axes.grid(axis="x", color=LIGHT_GREY, linewidth=0.6)
    axes.set_axisbelow(True)
    _illustrative_mark(figure, illustrative)
    return figure


def satisfied_rate_chart(results: Mapping[str, Any], *, target: float = 85.0, illustrative: bool = False) -> Figure:
    """Domain satisfied rates (answering 4 or 5 on the domain's overall item) with 95% CIs."""
    domains = results.get("domains") or {}
    rows = sorted(
        (
            (d, v["satisfied_rate"])
            for d, v in domains.items()
            if _finite((v.get("satisfied_rate") or {}).get("estimate"))
        ),
        key=lambda item: item[1]["estimate"],
    )
    figure = _figure(0.42 * max(len(rows), 3) + 1.3)
    axes = figure.add_subplot()
    for y, (_domain, rate) in enumerate(rows):
        estimate = 100 * rate["estimate"]
        low, high = 100 * rate.get("ci_low", math.nan), 100 * rate.get("ci_high", math.nan)
        axes.barh(y, estimate, color=OKABE_ITO["sky_blue"], height=0.6)
        axes.errorbar(
            estimate,
            y,
            xerr=[[estimate - low], [high - estimate]],
            fmt="none",
            ecolor=OKABE_ITO["black"],
            elinewidth=1.2,
            capsize=3,
        )
        axes.text(high + 0.8, y, f"{estimate:.1f}%", va="center", fontsize=9, bbox=_LABEL_BOX)
    axes.axvline(target, color=OKABE_ITO["vermillion"], linestyle="--", linewidth=1.2)
    axes.text(target, len(rows) - 0.4, f" 目标 {target:g}%", fontsize=9, va="bottom", color=OKABE_ITO["vermillion"])
    axes.set_yticks(range(len(rows)), [DOMAIN_LABELS_ZH.get(d, d) for d, _ in rows])
    axes.set_ylim(-0.7, len(rows) - 0.1)
    axes.set_xlim(0, 108)
    axes.set_xlabel("满意率（%）：回答“满意”或“非常满意”的比例，误差线为95%置信区间")
    axes.set_title("各领域满意率")
    _illustrative_mark(figure, illustrative)
    return figure


def overall_target_chart(results: Mapping[str, Any], *, illustrative: bool = False) -> Figure:
    """The overall index and overall satisfied rate against the target, with the verdict."""
    overall = results.get("overall") or {}
    target_info = results.get("target") or {}
    target = float(target_info.get("value", 85.0) or 85.0)
    metric = target_info.get("metric", "index")
    verdict = target_info.get("verdict", "inconclusive")
    rate = overall.get("satisfied_rate") or {}
    rows = [
        ("总体满意度指数", overall.get("index"), overall.get("ci_low"), overall.get("ci_high"), metric == "index"),
        (
            "总体满意率（%）",
            100 * rate["estimate"] if _finite(rate.get("estimate")) else None,
            100 * rate["ci_low"] if _finite(rate.get("ci_low")) else None,
            100 * rate["ci_high"] if _finite(rate.get("ci_high")) else None,
            metric == "satisfied_rate",
        ),
    ]
    rows = [row for row in rows if _finite(row[1])]
    figure = _figure(2.6)
    axes = figure.add_subplot()
    for y, (_label, value, low, high, tested) in enumerate(reversed(rows)):
        colour = VERDICT_COLOURS.get(verdict, GREY) if tested else GREY
        axes.errorbar(
            value,
            y,
            xerr=[[value - low], [high - value]],
            fmt="D",
            color=colour,
            ecolor=colour,
            elinewidth=3,
            capsize=6,
            markersize=8,
        )
        note = "（检验对象）" if tested else ""
        axes.text(value, y + 0.2, f"{value:.1f}  [{low:.1f}, {high:.1f}]{note}", ha="center", fontsize=9)
    axes.axvline(target, color=OKABE_ITO["black"], linestyle="--", linewidth=1)
    axes.text(target, len(rows) - 0.45, f" 目标 {target:g}", fontsize=9)
    axes.set_yticks(range(len(rows)), [row[0] for row in reversed(rows)])
    axes.set_ylim(-0.6, len(rows) - 0.2)
    values = [float(v) for row in rows for v in row[1:4] if _finite(v)]
    axes.set_xlim(max(0, min([*values, target]) - 6), min(100, max([*values, target]) + 6))
    _whole_number_ticks(axes.xaxis)
    axes.set_xlabel("得分（0–100）；线段为95%置信区间")
    measure = "指数" if metric == "index" else "满意率"
    axes.set_title(f"总体满意度与{target:g}目标：{VERDICT_LABELS_ZH.get(verdict, verdict)}（检验{measure}）")
    p_value = target_info.get("p_value")
    if _finite(p_value):
        _footnote(figure, f"单侧检验 H0：{measure} ≤ {target:g}，{_p_text(float(p_value))}")
    _illustrative_mark(figure, illustrative)
    return figure


# ---------------------------------------------------------------------------
# Towns


def town_chart(
    results: Mapping[str, Any],
    *,
    town_labels: Mapping[str, str] | None = None,
    target: float = 85.0,
    min_n: int = 30,
    max_cv: float = 0.3,
    illustrative: bool = False,
) -> Figure:
    """Overall index by town with 95% CIs; suppressed towns are shown as such, without a value.

    ``min_n`` and ``max_cv`` are the suppression rule the estimates used (for the note).
    """
    towns = (results.get("subgroups") or {}).get("town") or {}
    labels = town_labels or {}
    t = _t_quantile((results.get("design") or {}).get("df"))
    shown, hidden = [], []
    for code, cells in towns.items():
        cell = (cells or {}).get("overall") or {}
        if cell.get("suppressed") or not _finite(cell.get("index")):
            hidden.append((code, cell, True))
        else:
            shown.append((code, cell, False))
    shown.sort(key=lambda item: item[1]["index"])
    rows = hidden + shown
    figure = _figure(0.4 * max(len(rows), 3) + 1.4)
    axes = figure.add_subplot()
    district = (results.get("overall") or {}).get("index")
    lows, highs = [], []
    for y, (_code, cell, suppressed) in enumerate(rows):
        if suppressed:
            axes.axhspan(y - 0.3, y + 0.3, facecolor="none", edgecolor=LIGHT_GREY, hatch="///", linewidth=0)
            n, cv = cell.get("n"), cell.get("cv")
            if isinstance(n, int) and n < min_n:
                reason = f"样本不足（n = {n}）"
            elif _finite(cv):
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
        index, se = cell["index"], cell.get("se", math.nan)
        low, high = index - t * se, index + t * se
        lows.append(low)
        highs.append(high)
        axes.errorbar(
            index,
            y,
            xerr=[[index - low], [high - index]],
            fmt="o",
            color=OKABE_ITO["blue"],
            ecolor=OKABE_ITO["blue"],
            elinewidth=2,
            capsize=3,
            markersize=5,
        )
        axes.text(high + 0.4, y, f"{index:.1f}（n={cell.get('n', '')}）", va="center", fontsize=8.5, bbox=_LABEL_BOX)
    axes.axvline(target, color=OKABE_ITO["black"], linestyle="--", linewidth=1)
    axes.text(target, len(rows) - 0.45, f" 目标 {target:g}", fontsize=9)
    if _finite(district):
        district = float(district)
        axes.axvline(district, color=OKABE_ITO["green"], linestyle=":", linewidth=1.5)
        axes.text(district, -0.95, f"全区 {district:.1f} ", fontsize=9, color=OKABE_ITO["green"], ha="right")
    axes.set_yticks(range(len(rows)), [labels.get(code, code) for code, _, _ in rows])
    axes.set_ylim(-1.1, len(rows) - 0.2)
    left = min([*lows, target, district if _finite(district) else target]) if lows else 0
    right = max([*highs, target]) if highs else 100
    axes.set_xlim(max(0, math.floor((left - 6) / 5) * 5), min(100, right + 9))
    _whole_number_ticks(axes.xaxis)
    axes.set_xlabel("总体满意度指数（0–100），线段为95%置信区间")
    axes.set_title("各镇（街道、管理区）总体满意度指数")
    _footnote(figure, f"样本量小于{min_n}或变异系数大于{max_cv:g}的镇街不公布估计值。")
    _illustrative_mark(figure, illustrative)
    return figure


# ---------------------------------------------------------------------------
# Trend


def trend_chart(trend: Sequence[Mapping[str, Any]], *, target: float = 85.0, illustrative: bool = False) -> Figure:
    """Overall index across waves with 95% CIs and the target line.

    ``trend`` holds one mapping per wave, oldest first: ``wave``, ``index``, ``ci_low``,
    ``ci_high`` and optionally ``satisfied_rate`` (a proportion).
    """
    points = [p for p in trend if _finite(p.get("index"))]
    figure = _figure(3.4)
    axes = figure.add_subplot()
    x = list(range(len(points)))
    values = [p["index"] for p in points]
    lows = [p.get("ci_low", p["index"]) for p in points]
    highs = [p.get("ci_high", p["index"]) for p in points]
    if points:
        axes.fill_between(x, lows, highs, color=OKABE_ITO["sky_blue"], alpha=0.3, linewidth=0, label="95%置信区间")
        axes.plot(x, values, "-o", color=OKABE_ITO["blue"], linewidth=2, label="总体满意度指数")
        for xi, p in zip(x, points):
            axes.errorbar(
                xi,
                p["index"],
                yerr=[[p["index"] - p.get("ci_low", p["index"])], [p.get("ci_high", p["index"]) - p["index"]]],
                fmt="none",
                ecolor=OKABE_ITO["blue"],
                capsize=4,
            )
            axes.text(
                xi, p.get("ci_high", p["index"]) + 0.5, f"{p['index']:.1f}", ha="center", fontsize=9, bbox=_LABEL_BOX
            )
        rates = [(xi, 100 * p["satisfied_rate"]) for xi, p in zip(x, points) if _finite(p.get("satisfied_rate"))]
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
    axes.set_xticks(x, [str(p.get("wave", "")) for p in points])
    axes.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
    span = [*lows, *highs, target, *(100 * p["satisfied_rate"] for p in points if _finite(p.get("satisfied_rate")))]
    axes.set_ylim(max(0, min(span) - 6), min(100, max(span) + 6))
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


# ---------------------------------------------------------------------------
# Rankings


def rank_chart(placement: Placement, *, level_label: str, district: str = "荆州区") -> Figure:
    """Probability of each rank, the 95% rank interval shaded and the median marked."""
    probabilities = placement.rank_probabilities
    ranks = list(range(1, len(probabilities) + 1))
    low, high = placement.rank_interval
    figure = _figure(3.3)
    axes = figure.add_subplot()
    colours = [OKABE_ITO["blue"] if low <= k <= high else LIGHT_GREY for k in ranks]
    axes.bar(ranks, [100 * p for p in probabilities], color=colours, width=0.7)
    for k, p in zip(ranks, probabilities):
        if p >= 0.005:
            axes.text(k, 100 * p + 1, f"{100 * p:.0f}%", ha="center", fontsize=8.5)
    axes.plot(
        [placement.median_rank],
        [0],
        marker="^",
        markersize=11,
        color=OKABE_ITO["vermillion"],
        clip_on=False,
        zorder=5,
        label=f"排名中位数：第{placement.median_rank}名",
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
    axes.set_title(
        f"{district}{placement.year}年得分在{placement.benchmark_year}年{level_label}"
        f"{placement.n_ranked - 1}个单位中的名次概率"
    )
    from .rankings import INSTRUMENT_CAVEAT, describe_standard_errors

    scope = "" if placement.complete_list else "名单不完整，名次仅指所列单位之间；"
    years = "" if placement.same_year else f"对标单位为{placement.benchmark_year}年结果，年份不同，只作参考；"
    caveat = INSTRUMENT_CAVEAT["zh"] if placement.source == "survey" else ""
    _footnote(
        figure,
        f"{scope}{years}各得分按抽样误差模拟{placement.draws:,}次，{describe_standard_errors(placement)}。{caveat}",
    )
    _illustrative_mark(figure, placement.illustrative)
    return figure


# ---------------------------------------------------------------------------
# Key drivers


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
    from .drivers import QUADRANT_LABELS_ZH

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
    priorities: Sequence[Priority], *, top: int = 12, target: float = 85.0, illustrative: bool = False
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


# ---------------------------------------------------------------------------
# Writing


def chart_files(figure: Figure, name: str, *, title: str = "", description: str = "") -> Chart:
    """Render ``figure`` as PNG (150 dpi) and SVG (text as paths) bytes."""
    png, svg = io.BytesIO(), io.BytesIO()
    with chart_style():
        figure.savefig(png, format="png", dpi=DPI, metadata={"Software": None})
        # The layout is settled by the first save; do not solve it again for the SVG.
        figure.set_layout_engine("none")
        figure.savefig(svg, format="svg", metadata={"Date": None})
    return Chart(name=name, title=title, png=png.getvalue(), svg=svg.getvalue(), description=description)


def draw(builder: Callable[..., Figure], *args: Any, **kwargs: Any) -> Figure:
    """Call a chart ``builder`` inside :func:`chart_style` (fonts are resolved at draw time)."""
    with chart_style():
        return builder(*args, **kwargs)
