"""App-wide web wiring: locale choice, error pages, security headers, the home page,
``/healthz``, and the refusal of input no person sends (NUL, invalid UTF-8)."""

from __future__ import annotations

import time
from urllib.parse import unquote_to_bytes

from flask import Blueprint, Flask, abort, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from werkzeug.exceptions import HTTPException

bp = Blueprint("home", __name__)


class CompiledTemplates(BytecodeCache):
    """Compiled templates kept in memory for the whole process, shared by every app it makes.

    A server makes one app per process, so this changes nothing there; the test suite and
    ``manyi`` commands make many, and each would otherwise compile every template again.
    Jinja checks each template's source checksum, so an edited template is compiled anew.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()

    def clear(self) -> None:
        self._code.clear()


COMPILED_TEMPLATES = CompiledTemplates()

LANGUAGE_COOKIE = "lang"


def select_locale() -> str:
    """Chinese by default; English when asked for (``?lang=en`` or the language cookie)."""
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return asked if asked in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


@bp.get("/")
def index():
    return render_template("home.html")


#: How long one worker trusts its last database write check (``HEALTHZ_CHECK_SECONDS``):
#: a load balancer asking every second costs one write probe per worker every 5 s.
HEALTHZ_CHECK_SECONDS = 5.0


@bp.get("/healthz")
def healthz():
    """``{"status": "ok"}`` while the database takes writes; 503 with ``read-only`` or
    ``unavailable`` otherwise (a server that cannot store a survey is not healthy)."""
    from survey.db import database, write_check

    interval = float(current_app.config.get("HEALTHZ_CHECK_SECONDS", HEALTHZ_CHECK_SECONDS))
    checked_at, check = current_app.extensions.get("manyi_health", (None, None))
    now = time.monotonic()
    if check is None or checked_at is None or now - checked_at >= interval:
        check = write_check(database().engine)
        current_app.extensions["manyi_health"] = (now, check)
    if check.ok:
        return {"status": "ok"}
    return {"status": check.state}, 503


def _error_page(error: HTTPException):
    return render_template("error.html", error=error), error.code


def _csrf_error(error: CSRFError):
    return render_template("error.html", error=error, csrf=True), 400


def _security_headers(response):
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("PREFERRED_URL_SCHEME") == "https":
        headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_S}")
    return response


def _refuse_nul_bytes() -> None:
    """Refuse a NUL byte or text that is not UTF-8 anywhere in the path (404: no page has
    one in its address), the query or the form (400).

    No legitimate input contains either.  PostgreSQL cannot store or even compare text
    containing NUL (psycopg raises ``DataError``), so it must never reach a query.
    Werkzeug keeps an invalid percent-escape of a query or a form (``%FF``) as the
    literal text ``%FF``, and decodes invalid bytes of a path or a multipart form to
    U+FFFD: either would be stored in a comment as if the resident had typed it.
    """
    if "\x00" in request.path or _NOT_UTF8 in request.path:
        abort(404)
    if not _is_utf8_urlencoded(request.query_string):
        abort(400, description=_NOT_UTF8_MESSAGE)
    if request.mimetype == "application/x-www-form-urlencoded" and not _is_utf8_urlencoded(
        request.get_data(cache=True, parse_form_data=False)
    ):
        abort(400, description=_NOT_UTF8_MESSAGE)
    for values in (request.args, request.form if request.mimetype in _FORM_TYPES else None):
        if values is None:
            continue
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400, description="The request contains a NUL character. Go back and try again.")
            if _NOT_UTF8 in key or _NOT_UTF8 in value:
                abort(400, description=_NOT_UTF8_MESSAGE)


def _is_utf8_urlencoded(raw: bytes) -> bool:
    """True when every name and value of ``a=1&b=2`` decodes to UTF-8 after unquoting."""
    if not raw or (raw.isascii() and b"%" not in raw):
        return True
    for pair in raw.split(b"&"):
        for part in pair.split(b"=", 1):
            try:
                unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                return False
    return True


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: What Werkzeug puts in place of bytes that are not UTF-8 (U+FFFD REPLACEMENT CHARACTER).
_NOT_UTF8 = "\ufffd"
_NOT_UTF8_MESSAGE = (
    "The request contains characters that are not valid text (UTF-8). Go back, retype the text and send it again."
)
#: ``Strict-Transport-Security`` max-age when the site is served over HTTPS: one year.
HSTS_MAX_AGE_S = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    # First of all before-request functions: CSRFProtect's reads the form, after which the
    # raw body (needed to tell an invalid escape from typed text) is gone.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_nul_bytes)
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _error_page)
    app.after_request(_security_headers)
    app.jinja_env.globals["select_locale"] = select_locale
