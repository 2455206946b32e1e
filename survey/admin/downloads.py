"""QR codes and posters of collection points for the admin screens.

The drawing is :mod:`survey.posters` (shared with ``manyi qr``); this module only turns
its output into bytes for a download.
"""

from __future__ import annotations

import io

from survey import posters
from survey.models import CollectionPoint
from survey.services.waves import survey_url

QR_CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def qr_code(point: CollectionPoint, fmt: str, base_url: str) -> tuple[bytes, str]:
    """The QR code of ``point``'s survey URL as PNG or SVG bytes, with its content type."""
    if fmt not in QR_CONTENT_TYPES:
        raise ValueError(f"unknown QR format {fmt!r}; use png or svg")
    buffer = io.BytesIO()
    posters.qr_code(survey_url(base_url, point)).save(buffer, kind=fmt, scale=posters.QR_SCALE, border=4)
    return buffer.getvalue(), QR_CONTENT_TYPES[fmt]


def poster_pdf(point: CollectionPoint, base_url: str) -> bytes:
    """The printable A4 poster of ``point`` (PDF)."""
    return posters.poster_pdf(point, point.wave, survey_url(base_url, point))
