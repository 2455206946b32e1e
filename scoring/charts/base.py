"""What every chart shares: the palette and verdict colours and markers, the figure size, the
style context, the helpers that write footnotes and the illustrative mark, and the PNG/SVG
files of a figure.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from scipy import stats

from ..fonts import cjk_font_or_warn, wrap_chinese
from ..vocabulary import LABELS, UNSTABLE

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure


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


def _number(value: Any) -> float | None:
    return float(value) if _finite(value) else None


def _xerr(value: float, low: float, high: float) -> list[list[float]]:
    """Error-bar lengths for an interval ``[low, high]`` around ``value`` (never negative,
    even when a stored interval does not bracket its estimate)."""
    return [[max(0.0, value - low)], [max(0.0, high - value)]]


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
