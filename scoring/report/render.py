"""Rendering the report: charts (in parallel), report.html and report.pdf — all in memory.

The PDF is rendered by WeasyPrint from the same HTML: it embeds the CJK font as a subset
with extractable text, which matplotlib's PDF backend cannot do for CFF CJK fonts.
"""

from __future__ import annotations

import base64
import html as _html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .text import fmt

if TYPE_CHECKING:  # pragma: no cover - typing only
    from markupsafe import Markup

    from ..charts import Chart
    from .tables import ReportTable

__all__ = ["TEMPLATES", "ChartJob", "pdf_bytes", "render_charts", "render_html", "table_html"]

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


# ---------------------------------------------------------------------------
# Charts, rendered in parallel


@dataclass(frozen=True)
class ChartJob:
    """One chart to draw: a builder of :mod:`scoring.charts` (by name) and its arguments.

    Plain data only, so that a job can be sent to a worker process.
    """

    name: str
    title: str
    builder: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def _render_chart(job: ChartJob) -> Chart:
    from .. import charts as chart_module

    figure = chart_module.draw(getattr(chart_module, job.builder), *job.args, **job.kwargs)
    return chart_module.chart_files(figure, job.name, title=job.title, description=job.title)


def render_charts(
    jobs: Sequence[ChartJob],
    *,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Chart]:
    """Draw every chart (PNG and SVG bytes); ``workers > 1`` uses that many processes.

    Charts are independent and matplotlib spends its time in Python, so processes (not
    threads) are what make a two-core machine draw twice as fast.  The result is the
    same either way; the order of the returned mapping is the order of ``jobs``.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    rendered: dict[str, Chart] = {}
    if workers <= 1 or len(jobs) < 4 or "fork" not in multiprocessing.get_all_start_methods():
        for done, job in enumerate(jobs, start=1):
            rendered[job.name] = _render_chart(job)
            if progress:
                progress(done, len(jobs))
        return rendered
    # fork: the workers inherit the imported modules and the font cache (no re-import).
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_render_chart, job): job.name for job in jobs}
        for done, future in enumerate(as_completed(futures), start=1):
            rendered[futures[future]] = future.result()
            if progress:
                progress(done, len(jobs))
    return {job.name: rendered[job.name] for job in jobs}


# ---------------------------------------------------------------------------
# HTML


#: The format "spec" of a p-value column: three decimals, "<0.001" and ">0.999" at the ends
#: (never "6.05e-13").
P_VALUE = "p"


def _format_cell(value: Any, spec: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            return "—"
        if spec == P_VALUE:
            return "<0.001" if value < 0.001 else ">0.999" if value > 0.999 else f"{float(value):.3f}"
        try:
            return format(float(value), spec or ".2f")
        except ValueError:
            return f"{float(value):.2f}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        try:
            return format(int(value), spec or "d")
        except ValueError:
            return str(int(value))
    return str(value)


def table_html(table: ReportTable | None) -> Markup:
    """An HTML table of ``table`` (numbers right-aligned and formatted).

    A table of at most :data:`SHORT_TABLE_ROWS` rows is kept in one piece on a page
    (class ``short``), so that it never starts a page alone with a row or two.
    """
    from markupsafe import Markup

    if table is None or table.frame.empty:
        return Markup("")
    frame = table.printed()
    head = "".join(f"<th>{_html.escape(str(column))}</th>" for column in frame.columns)
    body_rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            text = _html.escape(_format_cell(value, table.formats.get(column)))
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        body_rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{_html.escape(table.caption)}</caption>" if table.caption else ""
    classes = [name for name, wanted in (("wrap", table.wrap), ("short", len(frame) <= SHORT_TABLE_ROWS)) if wanted]
    css_class = f' class="{" ".join(classes)}"' if classes else ""
    return Markup(
        f"<table{css_class}>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>"
    )


#: Tables with at most this many rows are never split across pages.
SHORT_TABLE_ROWS = 16


def _image_html(chart: Chart | None) -> Markup:
    from markupsafe import Markup

    if chart is None:
        return Markup("")
    data = base64.b64encode(chart.png).decode("ascii")
    alt = _html.escape(chart.description or chart.title)
    return Markup(f'<img src="data:image/png;base64,{data}" alt="{alt}">')


def _css(font_family: str) -> str:
    return (TEMPLATES / "report.css").read_text(encoding="utf-8").replace("FONT_FAMILY", font_family)


def render_html(context: Mapping[str, Any], *, font_family: str) -> str:
    """Render ``report.html.j2`` with ``context`` (plus the helpers it uses)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup

    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    return template.render(
        **context,
        css=Markup(_css(font_family)),  # our own stylesheet, not user input
        fmt=fmt,
        img=_image_html,
        table=table_html,
    )


def pdf_bytes(html: str) -> bytes:
    """Render ``html`` to an A4 PDF with WeasyPrint (fonts embedded, text extractable)."""
    import logging

    from weasyprint import HTML

    # WeasyPrint logs every CSS property it ignores at WARNING level; the report's
    # screen-only rules are expected, so keep the terminal quiet.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    # The report has no relative references (images are inline): no base URL is needed.
    return bytes(HTML(string=html).write_pdf())


class Namespace(dict[str, Any]):
    """A dict whose missing keys read as ``None`` in templates (optional tables, charts)."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)
