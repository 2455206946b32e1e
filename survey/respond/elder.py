"""长辈模式 (large-text mode) of the public pages, and the title's line breaks.

The switch is a plain link (``?elder=1`` / ``?elder=0``): without JavaScript the page
comes back in the other mode and a cookie remembers it for the visit (no ``max_age``: the
browser forgets it when it is closed).  With JavaScript ``enhance.js`` switches the class
on ``<html>`` at once and writes the same cookie, so the cookie is not HttpOnly (it holds
only ``1`` or ``0``).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as HTTPResponse

#: The cookie remembering the mode for the visit (a browser-session cookie: no lifetime).
ELDER_COOKIE = "manyi_elder"
#: The query parameter of the switch link.
ELDER_PARAMETER = "elder"
_VALUES = ("0", "1")

#: Where a Chinese title may break: after a year (2025年度), a place (荆州区), 公共服务,
#: and before 满意度 / 调查 when they are not joined (the rest stays together).
_PHRASE_END = re.compile(r"(?<=年度)|(?<=[区县市镇乡])(?=[^区县市镇乡])|(?<=服务)|(?<=结果)")


def elder_mode() -> bool:
    """Whether this request shows 长辈模式: the switch just used, else the cookie."""
    asked = request.args.get(ELDER_PARAMETER)
    if asked in _VALUES:
        return asked == "1"
    return request.cookies.get(ELDER_COOKIE) == "1"


def title_phrases(title: str) -> list[str]:
    """``title`` cut into the phrases a line may break between (one piece for titles
    without Chinese characters, whose spaces are the break opportunities).

    Examples
    --------
    >>> title_phrases("2025年度荆州区公共服务满意度调查")
    ['2025年度', '荆州区', '公共服务', '满意度调查']
    """
    if not re.search(r"[\u4e00-\u9fff]", title):
        return [title]
    return [part for part in _PHRASE_END.split(title) if part]


def phrase_breaks(title: Any) -> Markup:
    """``title`` escaped, with ``<wbr>`` between its phrases (the ``phrase_breaks`` filter;
    the CSS class ``phrased`` keeps the phrases whole: ``word-break: keep-all``)."""
    return Markup("<wbr>").join(escape(part) for part in title_phrases(str(title)))


def _remember(response: HTTPResponse) -> HTTPResponse:
    asked = request.args.get(ELDER_PARAMETER)
    if asked in _VALUES and request.cookies.get(ELDER_COOKIE) != asked:
        # No max_age: kept for the visit only.  Readable by enhance.js, which writes it too.
        response.set_cookie(ELDER_COOKIE, asked, path="/", samesite="Lax", secure=request.is_secure)
    return response


def init_app(app: Flask) -> None:
    """Register the mode (``elder_mode()`` in templates), the cookie and the title filter."""
    app.after_request(_remember)
    app.add_template_global(elder_mode, "elder_mode")
    app.add_template_filter(phrase_breaks, "phrase_breaks")
