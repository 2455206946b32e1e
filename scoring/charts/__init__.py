"""Charts of the report: matplotlib figures with Chinese titles and labels.

One module per chart family — :mod:`~scoring.charts.domains` (domains and the overall
target), :mod:`~scoring.charts.towns`, :mod:`~scoring.charts.trend`,
:mod:`~scoring.charts.rankings`, :mod:`~scoring.charts.drivers` (importance–performance,
priorities) — over :mod:`~scoring.charts.base` (palette, style, files); this package
re-exports them all.

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

from .base import (
    DPI,
    GREY,
    LIGHT_GREY,
    OKABE_ITO,
    QUADRANT_COLOURS,
    VERDICT_COLOURS,
    VERDICT_LABELS_ZH,
    VERDICT_MARKERS,
    WIDTH_IN,
    Chart,
    chart_files,
    chart_style,
    draw,
)
from .domains import (
    Mark,
    domain_index_chart,
    domain_marks,
    overall_target_chart,
    satisfied_rate_chart,
)
from .drivers import (
    ipa_chart,
    priority_chart,
)
from .rankings import (
    rank_chart,
)
from .towns import (
    town_chart,
)
from .trend import (
    trend_chart,
)

__all__ = [
    "DPI",
    "GREY",
    "LIGHT_GREY",
    "OKABE_ITO",
    "QUADRANT_COLOURS",
    "VERDICT_COLOURS",
    "VERDICT_LABELS_ZH",
    "VERDICT_MARKERS",
    "WIDTH_IN",
    "Chart",
    "Mark",
    "chart_files",
    "chart_style",
    "domain_index_chart",
    "domain_marks",
    "draw",
    "ipa_chart",
    "overall_target_chart",
    "priority_chart",
    "rank_chart",
    "satisfied_rate_chart",
    "town_chart",
    "trend_chart",
]


# ---------------------------------------------------------------------------
# Verdict marks: the colour of a figure is its verdict (the 95% interval against the
# target), never its point estimate; an unstable figure is grey, without a verdict.


# ---------------------------------------------------------------------------
# Towns


# ---------------------------------------------------------------------------
# Trend


# ---------------------------------------------------------------------------
# Rankings


# ---------------------------------------------------------------------------
# Key drivers


# ---------------------------------------------------------------------------
# Writing
