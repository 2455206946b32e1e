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

from .contract import Placement as PlacementRecord
from .contract import Results, TargetTest, TrendPoint
from .fonts import cjk_font_or_warn, shorten, wrap_chinese
from .vocabulary import DEFAULT_TARGET, DISTRICT, DOMAIN_LABELS_ZH, LABELS, UNSTABLE, label

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
    UNSTABLE: "#767676",
}
#: The verdict labels of the charts (the vocabulary's).
VERDICT_LABELS_ZH: dict[str, str] = dict(LABELS["verdict"]["zh"])
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
VERDICT_MARKERS: dict[str, str] = {"met": "o", "not_met": "s", "inconclusive": "D", UNSTABLE: "o"}


def _p_text(p_value: float) -> str:
    if p_value < 0.001:
        return "p < 0.001"
    if p_value > 0.999:
        return "p > 0.999"
    return f"p = {p_value:.3f}"


# ---------------------------------------------------------------------------
# Verdict marks: the colour of a figure is its verdict (the 95% interval against the
# target), never its point estimate; an unstable figure is grey, without a verdict.


@dataclass(frozen=True)
class Mark:
    """One domain's figure on a chart: what is drawn and the verdict it is coloured by."""

    domain: str
    label: str
    estimate: float | None
    low: float | None
    high: float | None
    verdict: str  # met, not_met, inconclusive or unstable


def _number(value: Any) -> float | None:
    return float(value) if _finite(value) else None


def _xerr(value: float, low: float, high: float) -> list[list[float]]:
    """Error-bar lengths for an interval ``[low, high]`` around ``value`` (never negative,
    even when a stored interval does not bracket its estimate)."""
    return [[max(0.0, value - low)], [max(0.0, high - value)]]


def domain_marks(results: Results | Mapping[str, Any], metric: str, *, target: float | None = None) -> list[Mark]:
    """Every domain's ``metric`` (index 0–100, or satisfied rate in %) with its interval and
    the verdict of its target test, lowest first (domains without a figure first)."""
    results = Results.coerce(results)
    said = results.said_target if target is None else target
    scale = 100.0 if metric == "satisfied_rate" else 1.0
    marks = []
    for domain, values in results.domain_items():
        test: TargetTest = values.target_test(metric, said)
        estimate, low, high = (_number(test.estimate), _number(test.ci_low), _number(test.ci_high))
        marks.append(
            Mark(
                domain,
                DOMAIN_LABELS_ZH.get(domain, domain),
                None if estimate is None else scale * estimate,
                None if low is None else scale * low,
                None if high is None else scale * high,
                test.shown_verdict if estimate is not None else UNSTABLE,
            )
        )
    return sorted(marks, key=lambda mark: (mark.estimate is not None, mark.estimate or 0.0))


def _verdict_legend(verdict: str, target: str) -> str:
    rule = {
        "met": f"区间整体高于{target}",
        "not_met": f"区间整体低于{target}",
        "inconclusive": f"区间包含{target}",
        UNSTABLE: "",
    }[verdict]
    words = label("verdict", verdict)
    return f"{words}（{rule}）" if rule else words


def _marks_chart(
    marks: Sequence[Mark], *, target: float, unit: str, title: str, xlabel: str, illustrative: bool, bars: bool
) -> Figure:
    figure = _figure(0.42 * max(len(marks), 3) + 1.5)
    axes = figure.add_subplot()
    seen: set[str] = set()
    values = [target]
    for y, mark in enumerate(marks):
        colour = VERDICT_COLOURS[mark.verdict]
        legend = None if mark.verdict in seen else _verdict_legend(mark.verdict, f"{target:g}{unit}")
        seen.add(mark.verdict)
        if mark.estimate is None:
            axes.text(
                0.02, y, "样本不足，无数据", transform=axes.get_yaxis_transform(), va="center", fontsize=9, color=GREY
            )
            continue
        low = mark.low if mark.low is not None else mark.estimate
        high = mark.high if mark.high is not None else mark.estimate
        values += [low, high, mark.estimate]
        unstable = mark.verdict == UNSTABLE
        if bars:
            axes.barh(
                y,
                mark.estimate,
                color="white" if unstable else colour,
                edgecolor=colour,
                hatch="///" if unstable else None,
                height=0.6,
                label=legend,
            )
            axes.errorbar(
                mark.estimate,
                y,
                xerr=_xerr(mark.estimate, low, high),
                fmt="none",
                ecolor=OKABE_ITO["black"],
                elinewidth=1.2,
                capsize=3,
            )
        else:
            axes.errorbar(
                mark.estimate,
                y,
                xerr=_xerr(mark.estimate, low, high),
                fmt=VERDICT_MARKERS[mark.verdict],
                color=colour,
                ecolor=colour,
                elinewidth=2,
                capsize=4,
                markersize=6,
                markerfacecolor="white" if unstable else colour,
                linestyle="none",
                label=legend,
            )
        text = f"{mark.estimate:.1f}{unit}" + ("　样本不足，不作判断" if unstable else "")
        axes.text(high + 0.6, y, text, va="center", fontsize=8.5, bbox=_LABEL_BOX, color=GREY if unstable else "black")
    axes.axvline(target, color=OKABE_ITO["black"], linestyle="--", linewidth=1)
    axes.text(target, len(marks) - 0.4, f" 目标 {target:g}{unit}", fontsize=9, va="bottom")
    axes.set_yticks(range(len(marks)), [mark.label for mark in marks])
    axes.set_ylim(-0.7, len(marks) - 0.1)
    left = 0.0 if bars else max(0.0, math.floor((min(values) - 5) / 5) * 5)
    # Room on the right for the value labels (and the unstable note).
    right = min(100.0, max(values)) + (22 if any(m.verdict == UNSTABLE for m in marks) else 8)
    axes.set_xlim(left, right)
    _whole_number_ticks(axes.xaxis)
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    axes.legend(loc="lower right", fontsize=8, frameon=True, facecolor="white", edgecolor="none", framealpha=0.9)
    axes.grid(axis="x", color=LIGHT_GREY, linewidth=0.6)
    axes.set_axisbelow(True)
    _footnote(figure, "颜色按95%置信区间与目标的关系判断，不按点估计；样本不足的领域不作判断（灰色）。")
    _illustrative_mark(figure, illustrative)
    return figure


def domain_index_chart(
    results: Results | Mapping[str, Any], *, target: float | None = None, illustrative: bool = False
) -> Figure:
    """Domain indices with 95% CI bars and the target line, highest at the top.

    Each domain is coloured (and shaped) by its verdict — how its 95% interval lies against
    the target — never by the point estimate; unstable domains are grey, open and marked
    "样本不足，不作判断".
    """
    results = Results.coerce(results)
    said = results.said_target if target is None else target
    return _marks_chart(
        domain_marks(results, "index", target=said),
        target=said,
        unit="",
        title="各领域满意度指数",
        xlabel="满意度指数（0–100），线段为95%置信区间",
        illustrative=illustrative,
        bars=False,
    )


def satisfied_rate_chart(
    results: Results | Mapping[str, Any], *, target: float | None = None, illustrative: bool = False
) -> Figure:
    """Domain satisfied rates (answering 4 or 5 on the domain's overall item) with 95% CIs,
    coloured by the verdict of each rate against the target (as a percentage)."""
    results = Results.coerce(results)
    said = results.said_target if target is None else target
    return _marks_chart(
        domain_marks(results, "satisfied_rate", target=said),
        target=said,
        unit="%",
        title="各领域满意率",
        xlabel="满意率（%）：回答“满意”或“非常满意”的比例，误差线为95%置信区间",
        illustrative=illustrative,
        bars=True,
    )


def overall_target_chart(results: Results | Mapping[str, Any], *, illustrative: bool = False) -> Figure:
    """The overall index and the overall satisfied rate against the target, each with its
    own verdict (colour and words); the plan's metric is marked."""
    results = Results.coerce(results)
    tests = results.target_tests()
    if not tests and results.overall is not None:  # results without a target test
        tests = [("index", TargetTest(metric="index", estimate=results.overall.index))]
    figure = _figure(2.8)
    axes = figure.add_subplot()
    rows = []
    for position, (metric, test) in enumerate(tests):
        scale = 100.0 if metric == "satisfied_rate" else 1.0
        estimate = _number(test.estimate)
        low, high = _number(test.ci_low), _number(test.ci_high)
        role = "规划目标" if position == 0 else "对照"
        name = "总体满意度指数" if metric == "index" else "总体满意率（%）"
        rows.append((f"{name}\n（{role}）", metric, test, estimate, low, high, scale))
    values: list[float] = []
    for y, (_name, metric, test, estimate, low, high, scale) in enumerate(reversed(rows)):
        verdict = test.shown_verdict
        colour = VERDICT_COLOURS[verdict]
        if estimate is None:
            axes.text(0.5, y, "无数据", transform=axes.get_yaxis_transform(), ha="center", color=GREY)
            continue
        value = scale * estimate
        low_v = scale * low if low is not None else value
        high_v = scale * high if high is not None else value
        values += [value, low_v, high_v]
        axes.errorbar(
            value,
            y,
            xerr=_xerr(value, low_v, high_v),
            fmt=VERDICT_MARKERS[verdict],
            color=colour,
            ecolor=colour,
            elinewidth=3,
            capsize=6,
            markersize=8,
            markerfacecolor="white" if verdict == UNSTABLE else colour,
        )
        unit = "%" if metric == "satisfied_rate" else ""
        axes.text(
            value,
            y + 0.22,
            f"{value:.1f}{unit}  [{low_v:.1f}, {high_v:.1f}]  {label('verdict', verdict)}",
            ha="center",
            fontsize=9,
            color=colour if verdict != UNSTABLE else GREY,
        )
    target = results.said_target
    axes.axvline(target, color=OKABE_ITO["black"], linestyle="--", linewidth=1)
    axes.text(target, len(rows) - 0.45, f" 目标 {target:g}（指数）/ {target:g}%（满意率）", fontsize=8.5)
    axes.set_yticks(range(len(rows)), [row[0] for row in reversed(rows)])
    axes.set_ylim(-0.6, len(rows) - 0.2)
    span = [*values, target]
    axes.set_xlim(max(0, min(span) - 6), min(104, max(span) + 6))
    _whole_number_ticks(axes.xaxis)
    axes.set_xlabel("指数（0–100）或满意率（%）；线段为95%置信区间")
    axes.set_title(f"总体满意度与“{target:g}%以上”的目标：两种口径")
    _footnote(figure, "判断规则：95%置信区间整体高于目标为已达到，整体低于为未达到，包含目标为尚无法判断。")
    _illustrative_mark(figure, illustrative)
    return figure


# ---------------------------------------------------------------------------
# Towns


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


# ---------------------------------------------------------------------------
# Trend


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


# ---------------------------------------------------------------------------
# Rankings


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
    from .explain import standard_error_clause
    from .rankings import INSTRUMENT_CAVEAT

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
