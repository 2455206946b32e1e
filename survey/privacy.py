"""Keyed hashes for anything that could identify a resident, and the client's address.

Raw IP addresses and browser ids are never stored: only HMAC-SHA256 digests.  Each
purpose has its own key, derived from one secret with HMAC (``key = HMAC(secret,
"manyi:" + purpose)``, a PRF-based key derivation in the manner of HKDF-Expand), so a
hash made for one purpose (the audit log's addresses, :data:`AUDIT_ADDRESS`) can never be
matched against a hash made for another (the responses' addresses,
:data:`RESPONSE_ADDRESS`; the rate-limit counters, :data:`RATE_LIMIT_ADDRESS`).

The hashes are **pseudonymous, not anonymous**: whoever holds the secret can hash every
IPv4 address (2³² of them) and so reverse an address hash.  The secret is the app's
``SECRET_KEY`` unless ``MANYI_PSEUDONYM_KEY_FILE`` names a key file kept away from the
database and its backups (``deploy/manyi.env.example``, ``docs/deploy.md``).  Changing
the secret makes old and new hashes incomparable: choose the key file before the first
wave and keep it.

The client's address is ``request.remote_addr``.  Behind a reverse proxy it is the
proxy's unless :func:`init_app` installs Werkzeug's ``ProxyFix`` for the number of
proxies in ``MANYI_TRUSTED_PROXIES`` (nginx in ``deploy/``: 1).  Either way the
forwarding headers are removed from the request before the app sees it, so no part of
the app or its libraries (Flask-Login's "strong" session protection reads
``X-Forwarded-For`` directly) can be told a client's address by the client.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

#: Purposes whose hashes are compared with each other (one key each).
RESPONSE_ADDRESS = "ip"  # the name predates the split: existing responses' hashes stay comparable
AUDIT_ADDRESS = "audit-ip"
RATE_LIMIT_ADDRESS = "ratelimit-ip"

#: Request headers through which a proxy reports the client; never read by the app itself.
FORWARDING_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)
#: Shortest pseudonym key accepted (bytes of the file's content).
MIN_PSEUDONYM_KEY_BYTES = 32


class PrivacySettingError(ValueError):
    """A privacy or proxy setting that cannot be used (the message says how to fix it)."""


def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of ``value`` under the key derived for ``purpose`` (hex digest)."""
    key = hmac.new(_secret(), f"manyi:{purpose}".encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _secret() -> bytes:
    secret = current_app.extensions.get("manyi_pseudonym_key") or current_app.config["SECRET_KEY"]
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def client_address() -> str:
    """The client's address as the app sees it (see the module docstring for proxies)."""
    if not has_request_context():
        return "-"
    return request.remote_addr or "-"


def client_key() -> str:
    """Rate-limit key: a keyed hash of the client address, never the address itself."""
    return keyed_hash(client_address(), purpose=RATE_LIMIT_ADDRESS)[:32]


# --------------------------------------------------------------------------- settings


def _validate_trusted_proxies(value: Any) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) > 10:
        raise PrivacySettingError(
            f"MANYI_TRUSTED_PROXIES is {value!r}; give the number of reverse proxies in front of Manyi as a whole "
            "number from 0 to 10 (0: none, X-Forwarded-For is ignored; 1: the nginx of deploy/)"
        )
    return int(text)


def _read_pseudonym_key(path_text: str) -> bytes:
    path = Path(path_text)
    try:
        mode = path.stat().st_mode
        key = path.read_bytes().strip()
    except OSError as error:
        raise PrivacySettingError(
            f"MANYI_PSEUDONYM_KEY_FILE is {path_text!r}, which cannot be read ({error.strerror}); create it with "
            f"`(umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' > {path_text})` "
            "and make it readable by the service only"
        ) from error
    if mode & (stat.S_IWGRP | stat.S_IRWXO):
        raise PrivacySettingError(
            f"MANYI_PSEUDONYM_KEY_FILE {path_text!r} has mode {stat.S_IMODE(mode):04o}: others may read or change "
            f"it; run `chmod 0640 {path_text}` (owner root, group of the service) or `chmod 0600`"
        )
    if len(key) < MIN_PSEUDONYM_KEY_BYTES:
        raise PrivacySettingError(
            f"MANYI_PSEUDONYM_KEY_FILE {path_text!r} holds {len(key)} bytes; a key needs at least "
            f"{MIN_PSEUDONYM_KEY_BYTES} (e.g. 64 hex digits from `python3 -c 'import secrets; "
            "print(secrets.token_hex(32))'`)"
        )
    return key


class ForwardedClient:
    """WSGI middleware: take the client's address and scheme from ``trusted_proxies``
    proxies (Werkzeug's ``ProxyFix``), then drop every forwarding header.

    With ``trusted_proxies == 0`` the headers are only dropped: a client that sends
    ``X-Forwarded-For`` itself changes nothing.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], *, trusted_proxies: int) -> None:
        self.trusted_proxies = trusted_proxies
        self.wsgi_app = wsgi_app
        self.entry: Callable[..., Iterable[bytes]] = self._without_forwarding_headers
        if trusted_proxies:
            self.entry = ProxyFix(
                self._without_forwarding_headers,
                x_for=trusted_proxies,
                x_proto=trusted_proxies,
                x_host=0,
                x_port=0,
                x_prefix=0,
            )

    def _without_forwarding_headers(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        for name in FORWARDING_HEADERS:
            environ.pop(name, None)
        return self.wsgi_app(environ, start_response)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.entry(environ, start_response)


def init_app(app: Flask) -> None:
    """Install the trusted-proxy handling and load the pseudonym key (if one is configured).

    Raises :class:`PrivacySettingError` for a bad ``TRUSTED_PROXIES`` or key file, so that
    a misconfigured server refuses to start rather than hash or limit wrongly.
    """
    trusted = _validate_trusted_proxies(app.config.get("TRUSTED_PROXIES", 0))
    app.config["TRUSTED_PROXIES"] = trusted
    app.wsgi_app = ForwardedClient(app.wsgi_app, trusted_proxies=trusted)  # type: ignore[method-assign]
    key_file = app.config.get("PSEUDONYM_KEY_FILE") or os.environ.get("MANYI_PSEUDONYM_KEY_FILE")
    if key_file:
        app.extensions["manyi_pseudonym_key"] = _read_pseudonym_key(str(key_file))
