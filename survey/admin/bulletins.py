"""The lead units' bulletins (通报) of a published wave: the list with each unit's composite
index, and the PDFs to download (statisticians and publishers).

The bulletins are files of the publication (``bulletins/<unit>.pdf`` and
``bulletins/summary.pdf``, made by the report when the wave is scored for publishing): this
screen reads the newest revision, so what the office sends to a unit is exactly what was
published.
"""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask import abort, render_template
from flask_babel import gettext as _

from survey.admin.base import PUBLISHER, STATISTICIAN, bp, roles_required, wave_or_404
from survey.db import get_session
from survey.services.publication import file_names, get_file, latest_publication, results_of

BULLETIN_FOLDER = "bulletins"


def _unit_rows(results: dict[str, Any], names: set[str]) -> list[dict[str, Any]]:
    rows = []
    for code, unit in (results.get("lead_units") or {}).items():
        rank = unit.get("rank") or {}
        interval = rank.get("rank_interval") or []
        rows.append(
            {
                "code": code,
                "name": (unit.get("name") or {}).get("zh", code),
                "tasks": unit.get("tasks") or [],
                "index": None if unit.get("suppressed") else unit.get("index"),
                "ci_low": None if unit.get("suppressed") else unit.get("ci_low"),
                "ci_high": None if unit.get("suppressed") else unit.get("ci_high"),
                "verdict": None if unit.get("unstable") else unit.get("verdict"),
                "rank": "–".join(str(v) for v in interval) if interval else None,
                "n_ranked": rank.get("n_ranked"),
                "file": f"{BULLETIN_FOLDER}/{code}.pdf" in names,
            }
        )
    return rows


@bp.get("/waves/<code>/bulletins")
@roles_required(STATISTICIAN, PUBLISHER)
def bulletins(code: str):
    """Every lead unit of the newest publication with its bulletin."""
    wave = wave_or_404(code)
    db = get_session()
    publication = latest_publication(db, wave)
    rows: list[dict[str, Any]] = []
    summary = False
    if publication is not None:
        names = {name for name in file_names(db, publication) if name.startswith(f"{BULLETIN_FOLDER}/")}
        rows = _unit_rows(results_of(publication), names)
        summary = f"{BULLETIN_FOLDER}/summary.pdf" in names
    return render_template("admin/bulletins.html", wave=wave, publication=publication, rows=rows, summary=summary)


@bp.get("/waves/<code>/bulletins/<unit>.pdf")
@roles_required(STATISTICIAN, PUBLISHER)
def bulletin_download(code: str, unit: str):
    """One bulletin (or ``summary``) of the newest publication, as a PDF download."""
    wave = wave_or_404(code)
    db = get_session()
    publication = latest_publication(db, wave)
    stored = get_file(db, publication, f"{BULLETIN_FOLDER}/{unit}.pdf") if publication is not None else None
    if stored is None:
        abort(404, description=_("Wave %(code)s has no published bulletin %(unit)s.", code=wave.code, unit=unit))
    filename = f"manyi-{wave.code}-r{publication.revision}-tongbao-{unit}.pdf"  # type: ignore[union-attr]
    return FlaskResponse(
        stored.data,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
