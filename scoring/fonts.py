"""Chinese text in charts and the PDF report: CJK font discovery and line breaking.

Chinese titles drawn in a font without CJK glyphs come out as empty boxes ("tofu"), a
defect that is easy to miss in a test and obvious to a reader.  :func:`find_cjk_font`
looks, in order of preference, for Noto Sans CJK, Source Han Sans, WenQuanYi, SimHei
and Microsoft YaHei among the fonts matplotlib knows, and warns clearly when none is
installed.  The same family name is given to the HTML/PDF stylesheet, so the charts and
the report text use one face.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

#: Families tried in order.  The Simplified Chinese faces come first: the Japanese,
#: Korean and Traditional faces of the same collections draw some characters in other
#: regional forms.
PREFERRED_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Source Han Sans",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
)

#: Families always appended after the CJK one: Latin glyphs and symbols that a CJK
#: face may lack (matplotlib falls back glyph by glyph along this list).
LATIN_FALLBACK: tuple[str, ...] = ("DejaVu Sans",)

INSTALL_HINT = (
    "install a Chinese font, e.g. 'apt-get install fonts-noto-cjk' (Debian/Ubuntu) or "
    "'dnf install google-noto-sans-cjk-fonts', then delete matplotlib's font cache "
    "(~/.cache/matplotlib) so that it is found"
)


class MissingCJKFontWarning(UserWarning):
    """No Chinese font was found: Chinese text in charts will show as empty boxes."""


@dataclass(frozen=True)
class CJKFont:
    """The font chosen for Chinese text.

    Attributes
    ----------
    family : str
        Family name as matplotlib and fontconfig know it, e.g. ``"Noto Sans CJK SC"``.
    path : str
        The font file (a ``.ttc`` collection or a single ``.otf``/``.ttf``).
    """

    family: str
    path: str

    @property
    def matplotlib_families(self) -> list[str]:
        """The ``font.family`` list for matplotlib: the CJK face, then Latin fallbacks."""
        return [self.family, *LATIN_FALLBACK]

    @property
    def _family_names(self) -> list[str]:
        """This face first, then the other preferred ones."""
        return [self.family, *(f for f in PREFERRED_FAMILIES if f != self.family)]

    @property
    def css_family(self) -> str:
        """A CSS ``font-family`` value naming the CJK face first."""
        return ", ".join(f'"{name}"' for name in self._family_names) + ", sans-serif"

    @property
    def svg_family(self) -> str:
        """The same list for an SVG ``font-family`` attribute, unquoted (WeasyPrint's SVG
        text splits it at commas): without it SVG text falls back to the system's
        ``sans-serif``, and every PDF embeds two more fonts."""
        return ",".join([*self._family_names, "sans-serif"])


@lru_cache(maxsize=1)
def find_cjk_font() -> CJKFont | None:
    """The first installed family of :data:`PREFERRED_FAMILIES`, or ``None``.

    Returns
    -------
    CJKFont or None
        ``None`` when no Chinese font is installed; :func:`cjk_font_or_warn` turns that
        into a warning.

    Notes
    -----
    matplotlib's font list is used (it is what will draw the charts); it reads every
    face of a ``.ttc`` collection, so the SC face of Noto Sans CJK is found by name.
    """
    from matplotlib import font_manager

    regular: dict[str, str] = {}
    any_weight: dict[str, str] = {}
    for entry in font_manager.fontManager.ttflist:
        any_weight.setdefault(entry.name, entry.fname)
        if entry.weight in (400, "normal", "regular") and entry.style == "normal":
            regular.setdefault(entry.name, entry.fname)
    for family in PREFERRED_FAMILIES:
        path = regular.get(family) or any_weight.get(family)
        if path:
            return CJKFont(family=family, path=path)
    return None


def cjk_font_or_warn() -> CJKFont | None:
    """:func:`find_cjk_font`, warning with :class:`MissingCJKFontWarning` when none is found."""
    font = find_cjk_font()
    if font is None:
        warnings.warn(
            "no Chinese (CJK) font found — tried "
            + ", ".join(PREFERRED_FAMILIES)
            + "; Chinese text in charts and the PDF will show as empty boxes. To fix: "
            + INSTALL_HINT,
            MissingCJKFontWarning,
            stacklevel=2,
        )
    return font


# ---------------------------------------------------------------------------
# Line breaking

#: Characters that must not begin a line of Chinese text (closing punctuation), and that
#: must not end one (opening brackets and quotes) — the usual line-breaking rules (禁则).
NO_LINE_START = "、，。；：？！）】》」』”’…—·%"
NO_LINE_END = "（【《「『“‘"


def shorten(text: str, limit: int = 16) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (long item wording)."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wrap_chinese(text: str, width: int) -> list[str]:
    """Wrap ``text`` into lines of at most about ``width`` characters, by the rules of
    Chinese typesetting: a line never starts with closing punctuation (、，。）…) and never
    ends with an opening bracket — the character is carried to the line where it belongs.

    Examples
    --------
    >>> wrap_chinese("社区、村里的居家养老服务（日间照料、上门服务等）", 17)
    ['社区、村里的居家养老服务（日间照', '料、上门服务等）']
    """
    text = " ".join(text.split())
    lines: list[str] = []
    while len(text) > width:
        cut = width
        # Move the break back while the next line would start with closing punctuation or
        # this line would end with an opening bracket (never below half a line).
        while cut > width // 2 and (text[cut] in NO_LINE_START or text[cut - 1] in NO_LINE_END):
            cut -= 1
        if text[cut] in NO_LINE_START or text[cut - 1] in NO_LINE_END:
            cut = width + 1  # a run of punctuation: keep it on this line instead
            while cut < len(text) and text[cut] in NO_LINE_START:
                cut += 1
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        lines.append(text)
    return lines
