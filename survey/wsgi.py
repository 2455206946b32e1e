"""The WSGI entry point for production servers: ``gunicorn --config deploy/gunicorn.conf.py
survey.wsgi:app`` behind the nginx of ``deploy/nginx/`` (see ``docs/deploy.md``).

Configuration comes from the environment (``MANYI_INSTANCE_PATH``, ``MANYI_DATABASE_URL``,
``MANYI_RATELIMIT_STORAGE_URI``, ``MANYI_PUBLIC_BASE_URL``, ``MANYI_TRUSTED_PROXIES``,
``MANYI_PSEUDONYM_KEY_FILE``) and the instance folder's ``config.py``, exactly as for
``manyi`` (see :func:`survey.create_app`).  Each gunicorn worker imports this module and
builds its own app; the workers share nothing in memory (the database and, with Redis,
the rate-limit counters are shared; ``deploy/gunicorn.conf.py`` refuses several workers
without Redis).  The client's address is the one nginx saw, through ProxyFix
(:mod:`survey.privacy`), never a header the client sent.

:class:`ChunkedBodyLimit` gives request bodies sent without a ``Content-Length``
(``Transfer-Encoding: chunked``) the same size limit as the others.  Werkzeug only
enforces ``MAX_CONTENT_LENGTH`` up front when the length is declared; a chunked body
is cut at the limit instead, so an oversized one would be read as a shorter form rather
than refused with 413 (found by ``benchmarks/fuzz.py``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from survey import create_app
from survey.admin.data import IMPORT_MAX_BYTES

#: The one route that accepts larger bodies (the office's import upload; see survey.admin).
LARGE_BODY_PATHS = ("/admin/imports",)


class ChunkedBodyLimit:
    """WSGI middleware: read a chunked body up to the limit, then hand the app a body
    with a ``Content-Length`` — the real one, or one over the limit so that the app
    answers with its own 413 page.  Bodies with a declared length pass untouched."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], *, limit: int, large_limit: int) -> None:
        self.wsgi_app = wsgi_app
        self.limit = limit
        self.large_limit = large_limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            limit = self.large_limit if environ.get("PATH_INFO") in LARGE_BODY_PATHS else self.limit
            body = environ["wsgi.input"].read(limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"]  # Werkzeug ignores the length of a chunked body
        return self.wsgi_app(environ, start_response)


def _install_body_limit(application: Flask) -> Flask:
    limit = int(application.config.get("MAX_CONTENT_LENGTH") or 0)
    if limit:
        large = int(application.config.get("MANYI_IMPORT_MAX_BYTES") or IMPORT_MAX_BYTES)
        application.wsgi_app = ChunkedBodyLimit(application.wsgi_app, limit=limit, large_limit=max(limit, large))  # type: ignore[method-assign]
    return application


app: Flask = _install_body_limit(create_app())
