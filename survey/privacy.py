"""Keyed hashes for anything that could identify a resident.

Raw IP addresses and browser ids are never stored: only HMAC-SHA256 digests under a key
derived from the app's secret, so they cannot be reversed by a dictionary of addresses
without the key, and they change when the key changes.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, has_request_context, request


def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of ``value`` under a key derived from ``SECRET_KEY`` for ``purpose``."""
    secret = current_app.config["SECRET_KEY"]
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    key = hmac.new(secret, f"manyi:{purpose}".encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def client_address() -> str:
    """The client's address as seen by the app (behind a proxy: configure ProxyFix)."""
    if not has_request_context():
        return "-"
    return request.remote_addr or "-"


def client_key() -> str:
    """Rate-limit key: a keyed hash of the client address, never the address itself."""
    return keyed_hash(client_address(), purpose="ip")[:32]
