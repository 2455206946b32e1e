"""QR codes and printable A4 posters for collection points.

A point's QR code encodes its survey URL (``PUBLIC_BASE_URL`` + ``/s/<token>``) with
error correction level M, so a slightly scuffed or badly lit poster still scans.  The
poster is rendered from HTML by WeasyPrint: the QR code as a vector image, a one-line
invitation in Chinese and English, the place and the wave, in a CJK font (Noto Sans CJK
SC, embedded), so it prints the same on any office printer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from survey.models import CollectionPoint, Wave

QR_FORMATS = ("png", "svg", "pdf")
#: Pixels (png) or user units (svg, pdf) per QR module: about 3 cm wide for a short URL.
QR_SCALE = 10
POSTER_STYLESHEET = Path(__file__).resolve().parent / "static" / "css" / "poster.css"


class PosterError(RuntimeError):
    """A poster could not be rendered (the message says what to install or change)."""


def qr_code(url: str) -> segno.QRCode:
    """The QR code of ``url`` (error correction M; never a Micro QR, which phones can't read)."""
    return segno.make(url, error="m", micro=False, boost_error=False)


def write_qr(url: str, path: Path, fmt: str) -> Path:
    """Write the QR code of ``url`` to ``path`` as ``png``, ``svg`` or ``pdf``."""
    if fmt not in QR_FORMATS:
        raise ValueError(f"unknown QR format {fmt!r}; use one of {', '.join(QR_FORMATS)}")
    qr_code(url).save(str(path), kind=fmt, scale=QR_SCALE, border=4)
    return path


@dataclass(frozen=True)
class PosterTexts:
    """The poster's wording in both languages (from the translation catalogue)."""

    invitation_zh: str
    invitation_en: str
    details_zh: str
    details_en: str
    place_label_zh: str
    place_label_en: str
    organiser_label_zh: str = ""
    organiser_label_en: str = ""
    phone_label_zh: str = ""
    phone_label_en: str = ""
    example_zh: str = ""
    example_en: str = ""


_INVITATION = _l("Scan the code to take the public-service satisfaction survey")
#: The same time estimate as the welcome page (每项约1分钟，全部约需2至4分钟).
_DETAILS = _l("Anonymous · about 1 minute per service, 2 to 4 minutes in all · no name or phone number asked")
_PLACE_LABEL = _l("Collection point")
_ORGANISER_LABEL = _l("Organiser")
_PHONE_LABEL = _l("Questions? Call")
_EXAMPLE = _l("example number")


def _both(message: Any) -> tuple[str, str]:
    """A catalogue string in Chinese and in English (the poster shows both)."""
    texts = []
    for language in ("zh", "en"):
        with force_locale(language):
            texts.append(str(message))
    return texts[0], texts[1]


def poster_texts() -> PosterTexts:
    invitation, details, place_label = _both(_INVITATION), _both(_DETAILS), _both(_PLACE_LABEL)
    organiser, phone, example = _both(_ORGANISER_LABEL), _both(_PHONE_LABEL), _both(_EXAMPLE)
    return PosterTexts(
        invitation[0],
        invitation[1],
        details[0],
        details[1],
        place_label[0],
        place_label[1],
        organiser[0],
        organiser[1],
        phone[0],
        phone[1],
        example[0],
        example[1],
    )


def poster_html(point: CollectionPoint, wave: Wave, url: str) -> str:
    """The poster as HTML (rendered to PDF by :func:`poster_pdf`), with the wave's organiser
    and contact phone when they are set (:func:`survey.services.settings.public_contact`)."""
    from survey.db import get_session
    from survey.services.settings import public_contact

    contact = public_contact(get_session(), wave)
    return render_template(
        "respond/poster.html",
        texts=poster_texts(),
        point=point,
        town=point.town,
        wave=wave,
        url=url,
        contact=contact,
        qr_svg=qr_code(url).svg_data_uri(scale=QR_SCALE, border=4),
    )


def poster_pdf(point: CollectionPoint, wave: Wave, url: str) -> bytes:
    """An A4 poster for ``point`` as PDF bytes."""
    try:
        from weasyprint import CSS, HTML
    except OSError as error:  # WeasyPrint loads Pango at import time
        raise PosterError(
            f"WeasyPrint cannot start ({error}); install Pango, e.g. 'apt-get install libpango-1.0-0 libpangoft2-1.0-0'"
        ) from error
    html = poster_html(point, wave, url)
    return HTML(string=html, base_url=current_app.root_path).write_pdf(
        stylesheets=[CSS(filename=str(POSTER_STYLESHEET))]
    )


def write_point_files(point: CollectionPoint, wave: Wave, url: str, out_dir: Path, fmt: str) -> list[Path]:
    """Write ``<code>-qr.<fmt>`` and ``<code>-poster.pdf`` for ``point`` into ``out_dir``."""
    qr_path = write_qr(url, out_dir / f"{point.code}-qr.{fmt}", fmt)
    poster_path = out_dir / f"{point.code}-poster.pdf"
    poster_path.write_bytes(poster_pdf(point, wave, url))
    return [qr_path, poster_path]
