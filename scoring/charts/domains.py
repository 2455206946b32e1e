"""Charts of the domains and the district: each domain's index or satisfied rate with its
interval against the target, and the overall figure against the target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..contract import Results, TargetTest
from ..vocabulary import DOMAIN_LABELS_ZH, UNSTABLE, label
from .base import (
    _LABEL_BOX,
    GREY,
    LIGHT_GREY,
    OKABE_ITO,
    VERDICT_COLOURS,
    VERDICT_MARKERS,
    _figure,
    _footnote,
    _illustrative_mark,
    _number,
    _whole_number_ticks,
    _xerr,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Mark:
    """One domain's figure on a chart: what is drawn and the verdict it is coloured by."""

    domain: str
    label: str
    estimate: float | None
    low: float | None
    high: float | None
    verdict: str  # met, not_met, inconclusive or unstable


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
