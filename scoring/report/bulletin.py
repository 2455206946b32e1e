"""The 通报 (notification) of each lead unit, and the summary for the district's leaders, as PDF.

The plan's section （四）强化监督评价 asks that monitoring results be notified to the units
responsible and used in their annual assessment.  :func:`bulletin_files` renders, from the
``lead_units``, ``tasks`` and ``indicators`` of results.json (:mod:`scoring.accountability`):

* ``bulletins/<unit code>.pdf`` — one or two A4 pages in Chinese that a bureau chief reads
  in two minutes: the unit's composite index and its interval against the target, its
  rank interval among lead units, the change against the previous wave, a chart of its
  items against the target with their intervals, the three items to fix first, its tasks
  with the plan's indicators, and what the residents who answered its items said — in
  numbers only, never a comment;
* ``bulletins/summary.pdf`` — every lead unit on one table for the district's leadership.

Every bulletin is laid out once in one HTML document (WeasyPrint) and the pages of each are
written as their own PDF, so 25 files cost one layout.  The Chinese font is embedded as a
subset with extractable text.  Charts are inline SVG (text stays text).
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..fonts import find_cjk_font, shorten
from .render import TEMPLATES

if TYPE_CHECKING:  # pragma: no cover - typing only
    from markupsafe import Markup

__all__ = [
    "BULLETIN_FOLDER",
    "STATUS_LABELS_ZH",
    "SUMMARY_NAME",
    "UNIT_VERDICT_LABELS_ZH",
    "bulletin_files",
    "bulletin_name",
    "items_chart_svg",
    "units_chart_svg",
]

#: Where the bulletins go among the report's files.
BULLETIN_FOLDER = "bulletins"
SUMMARY_NAME = f"{BULLETIN_FOLDER}/summary.pdf"
#: A composite's verdict against the target (agreeing with its 95% interval), in words.
UNIT_VERDICT_LABELS_ZH: dict[str | None, str] = {
    "met": "已达到",
    "not_met": "未达到",
    "inconclusive": "尚无法判断",
    None: "样本不足，不作判断",
}
#: An indicator's progress against its target.
STATUS_LABELS_ZH: dict[str, str] = {"met": "已达标", "not_yet": "尚未达标", "no_data": "暂无数据"}
_COLOURS = {"met": "#0072B2", "not_met": "#D55E00", "inconclusive": "#B07800", None: "#8C8C8C"}


def bulletin_name(unit_code: str) -> str:
    """``bulletins/<unit code>.pdf``."""
    return f"{BULLETIN_FOLDER}/{unit_code}.pdf"


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _f(value: Any, spec: str = ".1f") -> str:
    number = _number(value)
    return "—" if number is None else format(number, spec)


def _percent(value: Any) -> str:
    number = _number(value)
    return "—" if number is None else f"{100 * number:.0f}%"


def _verdict_of(entry: Mapping[str, Any], target: float) -> str | None:
    """Verdict of a figure by its interval (None when unstable)."""
    if entry.get("unstable"):
        return None
    low, high = _number(entry.get("ci_low")), _number(entry.get("ci_high"))
    if low is not None and low > target:
        return "met"
    if high is not None and high < target:
        return "not_met"
    return "inconclusive"


# ---------------------------------------------------------------------------
# Charts (inline SVG)


def _scale_low(entries: Sequence[Mapping[str, Any]], target: float) -> float:
    lows = [_number(e.get("ci_low")) for e in entries] + [_number(e.get("index")) for e in entries]
    finite = [value for value in lows if value is not None]
    low = min([*finite, target]) - 5
    return max(0.0, math.floor(low / 10) * 10)


def _forest_svg(
    rows: Sequence[tuple[str, Mapping[str, Any]]], *, target: float, label_width: int, title: str
) -> Markup:
    """A dot-and-interval chart: one row per (label, figure), the target as a dashed line.

    Colour says the verdict by the interval (blue above the target, vermillion below,
    ochre when it contains the target); a grey hollow dot is an unstable figure.
    """
    from markupsafe import Markup

    width, right, row_height, top = 640, 70, 22, 34
    plot_left, plot_right = label_width, width - right
    low = _scale_low([entry for _, entry in rows], target)
    span = 100.0 - low

    def x(value: float) -> float:
        return round(plot_left + (min(max(value, low), 100.0) - low) / span * (plot_right - plot_left), 1)

    height = top + row_height * len(rows) + 30
    font = find_cjk_font()
    family = font.svg_family if font is not None else "sans-serif"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="forest" viewBox="0 0 {width} {height}" '
        f'width="100%" font-family="{_html.escape(family)}" role="img" aria-label="{_html.escape(title)}">'
    ]
    tick = math.ceil(low / 10) * 10
    while tick <= 100:
        parts.append(
            f'<line x1="{x(tick)}" x2="{x(tick)}" y1="{top - 6}" y2="{height - 26}" stroke="#E3E3E3"/>'
            f'<text x="{x(tick)}" y="{height - 12}" font-size="10" text-anchor="middle" fill="#555">{tick}</text>'
        )
        tick += 10
    parts.append(
        f'<line x1="{x(target)}" x2="{x(target)}" y1="{top - 14}" y2="{height - 26}" stroke="#B3261E" '
        f'stroke-dasharray="4 3" stroke-width="1.2"/>'
        f'<text x="{x(target)}" y="{top - 18}" font-size="10" text-anchor="middle" fill="#B3261E">'
        f"目标{target:g}</text>"
    )
    for position, (label, entry) in enumerate(rows):
        y = top + row_height * position + row_height / 2
        verdict = _verdict_of(entry, target)
        colour = _COLOURS[verdict]
        parts.append(
            f'<text x="{plot_left - 8}" y="{y + 4}" font-size="11" text-anchor="end" fill="#1A1A1A">'
            f"{_html.escape(label)}</text>"
        )
        index = _number(entry.get("index"))
        if entry.get("suppressed") and entry.get("unstable") and index is None:
            parts.append(f'<text x="{plot_left + 4}" y="{y + 4}" font-size="10" fill="#8C8C8C">样本不足</text>')
            continue
        if index is None:
            parts.append(f'<text x="{plot_left + 4}" y="{y + 4}" font-size="10" fill="#8C8C8C">无数据</text>')
            continue
        ci_low, ci_high = _number(entry.get("ci_low")), _number(entry.get("ci_high"))
        if ci_low is not None and ci_high is not None:
            parts.append(
                f'<line x1="{x(ci_low)}" x2="{x(ci_high)}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"/>'
            )
        fill = "#FFFFFF" if verdict is None else colour
        parts.append(
            f'<circle cx="{x(index)}" cy="{y}" r="4.5" fill="{fill}" stroke="{colour}" stroke-width="1.5"/>'
            f'<text x="{plot_right + 8}" y="{y + 4}" font-size="11" fill="#1A1A1A">{index:.1f}'
            f"{'（样本不足）' if verdict is None else ''}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def items_chart_svg(items: Sequence[Mapping[str, Any]], *, target: float) -> Markup:
    """A unit's (or task's) items against the target with their 95% intervals."""
    rows = [(shorten(str((entry.get("label") or {}).get("zh") or entry.get("item")), 18), entry) for entry in items]
    return _forest_svg(rows, target=target, label_width=250, title=f"各题目满意度指数与目标{target:g}")


def units_chart_svg(units: Sequence[Mapping[str, Any]], *, target: float) -> Markup:
    """Every lead unit's composite index against the target with its 95% interval."""
    rows = [(str((entry.get("name") or {}).get("zh") or entry.get("code")), entry) for entry in units]
    return _forest_svg(rows, target=target, label_width=190, title=f"各牵头单位综合满意度指数与目标{target:g}")


# ---------------------------------------------------------------------------
# Words


def rank_text(unit: Mapping[str, Any]) -> str:
    """``第3–9位（共24个单位，中位第5位）`` or why there is no rank."""
    rank = unit.get("rank")
    if not isinstance(rank, Mapping):
        return "样本不足，不参与排名"
    low, high = rank["rank_interval"]
    span = f"第{low}位" if low == high else f"第{low}–{high}位"
    return f"{span}（共{rank['n_ranked']}个单位参与，中位第{rank['median_rank']}位）"


def change_text(unit: Mapping[str, Any], previous: str | None) -> str:
    """The change against the previous wave in words."""
    entry = unit.get("change")
    if not isinstance(entry, Mapping):
        return "无可比较的上期结果" if previous is None else f"与{previous}期无可比较的结果"
    difference = _number(entry.get("difference"))
    interval = f"95%置信区间 {_f(entry.get('ci_low'), '+.1f')}～{_f(entry.get('ci_high'), '+.1f')}"
    reading = "变化显著" if entry.get("significant") else "变化不显著（可能是抽样误差）"
    caveat = "；两期题目不同，仅供参考" if not entry.get("comparable") else ""
    return f"比{entry.get('previous')}期 {_f(difference, '+.1f')}（{interval}，{reading}{caveat}）"


def residents_sentence(unit: Mapping[str, Any]) -> str:
    residents = unit.get("residents") or {}
    n = residents.get("n") or 0
    if not n:
        return "本期没有受访居民回答本单位牵头任务的题目。"
    return (
        f"共有 {n:,} 位受访居民回答了本单位牵头任务的题目（使用过相关服务）；"
        f"在他们的回答中，{_percent(residents.get('satisfied_share'))} 为“满意”或“非常满意”，"
        f"{_percent(residents.get('dissatisfied_share'))} 为“不满意”或“非常不满意”。"
    )


def _headline(unit: Mapping[str, Any], target: float) -> dict[str, Any]:
    verdict = unit.get("verdict") if not unit.get("unstable") else None
    return {
        "index": _f(unit.get("index")),
        "interval": f"{_f(unit.get('ci_low'))}–{_f(unit.get('ci_high'))}",
        "verdict": verdict or "unstable",
        "verdict_label": UNIT_VERDICT_LABELS_ZH.get(verdict, "尚无法判断"),
        "target": f"{target:g}",
    }


# ---------------------------------------------------------------------------
# Rendering


def _unit_context(
    unit: Mapping[str, Any], results: Mapping[str, Any], *, target: float, previous: str | None
) -> dict[str, Any]:
    tasks = results.get("tasks") or {}
    indicators = results.get("indicators") or {}
    items_by_code: dict[str, Mapping[str, Any]] = {}
    task_rows = []
    indicator_rows = []
    for number in unit.get("tasks") or []:
        task = tasks.get(str(number)) or {}
        for item in task.get("items") or []:
            items_by_code.setdefault(str(item.get("item")), item)
        figure = task.get("index") or {}
        counts = task.get("indicators") or {}
        task_rows.append(
            {
                "number": number,
                "title": (task.get("title") or {}).get("zh", ""),
                "index": "样本不足" if figure.get("unstable") else _f(figure.get("index")),
                "interval": "—"
                if figure.get("unstable")
                else f"{_f(figure.get('ci_low'))}–{_f(figure.get('ci_high'))}",
                "indicators": (
                    f"{counts.get('met', 0)}/{counts.get('not_yet', 0)}/{counts.get('no_data', 0)}"
                    if counts.get("codes")
                    else "—"
                ),
                "shared": len(task.get("lead_units") or []) > 1,
            }
        )
        for code in counts.get("codes") or []:
            entry = indicators.get(code) or {}
            unit_name = (entry.get("unit") or {}).get("zh", "")
            value = _number(entry.get("value"))
            indicator_rows.append(
                {
                    "task": number,
                    "name": (entry.get("name") or {}).get("zh", code),
                    "target": f"{'≤' if entry.get('direction') == 'at_most' else '≥'}{entry.get('target'):g}{unit_name}"
                    f"（{entry.get('target_year')}年）",
                    "value": "—" if value is None else f"{value:g}{unit_name}（{entry.get('value_year')}年）",
                    "status": entry.get("status", "no_data"),
                    "status_label": STATUS_LABELS_ZH.get(str(entry.get("status")), "暂无数据"),
                }
            )
    items = [items_by_code[code] for code in unit.get("items") or [] if code in items_by_code]
    priorities = [
        {
            "label": (entry.get("label") or {}).get("zh", entry.get("item")),
            "index": _f(entry.get("index")),
            "interval": f"{_f(entry.get('ci_low'))}–{_f(entry.get('ci_high'))}",
            "gap": _f((entry.get("priority") or {}).get("gap")),
            "importance": _f((entry.get("priority") or {}).get("relative_importance"), ".2f"),
            "tasks": "、".join(str(number) for number in entry.get("tasks") or []),
        }
        for entry in unit.get("priorities") or []
    ]
    return {
        "code": unit.get("code"),
        "name": (unit.get("name") or {}).get("zh", unit.get("code")),
        "headline": _headline(unit, target),
        "unstable": bool(unit.get("unstable")),
        "rank": rank_text(unit),
        "change": change_text(unit, previous),
        "tasks_text": "、".join(f"任务{number}" for number in unit.get("tasks") or []),
        "n_tasks": len(unit.get("tasks") or []),
        "n_items": len(unit.get("items") or []),
        "residents": residents_sentence(unit),
        "chart": items_chart_svg(items, target=target),
        "priorities": priorities,
        "task_rows": task_rows,
        "indicator_rows": indicator_rows,
        "left_out": [entry.get("item") for entry in unit.get("left_out_items") or []],
    }


def summary_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per lead unit for the leaders' summary, highest composite first (unstable last)."""
    target = float((results.get("plan") or {}).get("target") or 85.0)
    previous = (results.get("plan") or {}).get("previous")
    units = list((results.get("lead_units") or {}).values())
    units.sort(key=lambda u: (bool(u.get("unstable")), -(_number(u.get("index")) or 0.0), str(u.get("code"))))
    rows = []
    for unit in units:
        priorities = unit.get("priorities") or []
        first = (priorities[0].get("label") or {}).get("zh") if priorities else None
        change = unit.get("change") or {}
        counts = {"met": 0, "not_yet": 0, "no_data": 0}
        for number in unit.get("tasks") or []:
            task_counts = ((results.get("tasks") or {}).get(str(number)) or {}).get("indicators") or {}
            for key in counts:
                counts[key] += int(task_counts.get(key) or 0)
        rows.append(
            {
                "code": unit.get("code"),
                "name": (unit.get("name") or {}).get("zh", unit.get("code")),
                "n_tasks": len(unit.get("tasks") or []),
                "n_items": len(unit.get("items") or []),
                "n": unit.get("n"),
                "index": "样本不足" if unit.get("unstable") else _f(unit.get("index")),
                "interval": "—" if unit.get("unstable") else f"{_f(unit.get('ci_low'))}–{_f(unit.get('ci_high'))}",
                "verdict": UNIT_VERDICT_LABELS_ZH.get(None if unit.get("unstable") else unit.get("verdict"), "—"),
                "verdict_code": "unstable" if unit.get("unstable") else unit.get("verdict"),
                "rank": "—"
                if not isinstance(unit.get("rank"), Mapping)
                else (
                    lambda r: (
                        f"{r['rank_interval'][0]}–{r['rank_interval'][1]}"
                        if r["rank_interval"][0] != r["rank_interval"][1]
                        else str(r["rank_interval"][0])
                    )
                )(unit["rank"]),
                "change": "—"
                if not change
                else f"{_f(change.get('difference'), '+.1f')}{'*' if change.get('significant') else ''}",
                "indicators": f"{counts['met']}/{counts['not_yet']}/{counts['no_data']}",
                "first_priority": shorten(first, 12) if first else "—",
                "target": target,
                "previous": previous,
            }
        )
    return rows


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def bulletin_html(
    results: Mapping[str, Any],
    *,
    district: str,
    wave: str,
    generated: str,
    illustrative: bool,
    font_family: str,
) -> str:
    """One HTML document: the leaders' summary, then every lead unit's bulletin (each from a new page)."""
    from markupsafe import Markup

    plan = results.get("plan") or {}
    target = float(plan.get("target") or 85.0)
    previous = plan.get("previous")
    year = plan.get("year") or (results.get("report") or {}).get("year")
    units = list((results.get("lead_units") or {}).values())
    css = (TEMPLATES / "bulletin.css").read_text(encoding="utf-8").replace("FONT_FAMILY", font_family)
    return str(
        _environment()
        .get_template("bulletin.html.j2")
        .render(
            css=Markup(css),  # our own stylesheet
            district=district,
            wave=wave,
            year=year,
            generated=generated,
            illustrative=illustrative,
            weighted=str((results.get("weights") or {}).get("method") or "none") not in ("none", "unweighted"),
            target=f"{target:g}",
            plan_document=plan.get("document") or "",
            previous=previous,
            n_units=len(units),
            n_ranked=(plan.get("ranking") or {}).get("n_ranked") or 0,
            summary=summary_rows(results),
            summary_chart=units_chart_svg(units, target=target),
            units=[_unit_context(unit, results, target=target, previous=previous) for unit in units],
        )
    )


def bulletin_files(
    results: Mapping[str, Any],
    *,
    district: str,
    wave: str,
    generated: str,
    illustrative: bool,
    font_family: str,
) -> dict[str, bytes]:
    """``bulletins/summary.pdf`` and ``bulletins/<unit>.pdf`` for every lead unit, as bytes.

    Parameters
    ----------
    results : mapping
        A results dict with ``plan``, ``tasks``, ``lead_units`` and ``indicators``
        (:meth:`scoring.accountability.PlanAccountability.to_dict`).
    district, wave : str
    generated : str
        When the report was made, as printed (Beijing time).
    illustrative : bool
        Mark every page as illustrative (demo or synthetic data).
    font_family : str
        CSS font-family of the Chinese font.

    Returns
    -------
    dict of str to bytes
        Empty when the results have no lead units.
    """
    import logging

    from weasyprint import HTML

    if not results.get("lead_units"):
        return {}
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    html = bulletin_html(
        results, district=district, wave=wave, generated=generated, illustrative=illustrative, font_family=font_family
    )
    document = HTML(string=html).render()
    anchors = {"summary": SUMMARY_NAME}
    anchors.update({f"bulletin-{code}": bulletin_name(code) for code in results["lead_units"]})
    # A section's anchor is listed on every page it spans: its first page is where it starts.
    first_pages: dict[str, int] = {}
    for number, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor in anchors:
                first_pages.setdefault(anchors[anchor], number)
    starts = sorted((number, name) for name, number in first_pages.items())
    files: dict[str, bytes] = {}
    for position, (first, name) in enumerate(starts):
        last = starts[position + 1][0] if position + 1 < len(starts) else len(document.pages)
        files[name] = bytes(document.copy(document.pages[first:last]).write_pdf())
    return files
