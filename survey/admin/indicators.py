"""The plan's indicators: every task indicator with its target and the values recorded per
year (every office role), and recording a value or importing a CSV file (administrators and
publishers — the office).

Reads and writes go through :mod:`survey.services.indicators`, which checks every value (a
known code, a year, a number, a source) and writes the audit record; ``manyi indicators
import`` is the same service from the command line.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from survey.admin import forms
from survey.admin.base import ADMIN, PUBLISHER, STATISTICIAN, bp, current_account, roles_required
from survey.db import get_session
from survey.services.indicators import IndicatorError, import_values, indicator_rows, record_value
from survey.web import select_locale

#: Who records values (the office); every office role may look.
RECORDING_ROLES = (ADMIN, PUBLISHER)


def _page(
    *,
    form: forms.IndicatorValueForm | None = None,
    import_form: forms.IndicatorImportForm | None = None,
    problems: list[str] | None = None,
    status: int = 200,
):
    language = select_locale()
    plan, rows = indicator_rows(get_session(), language=language)
    form = form or forms.IndicatorValueForm()
    form.code.choices = forms.choices(
        (row.code, f"{row.task:02d} · {row.name} ({row.target}, {row.target_year})") for row in rows
    )
    years = sorted({year for row in rows for year in row.values})
    return (
        render_template(
            "admin/indicators.html",
            plan=plan,
            rows=rows,
            years=years,
            form=form,
            import_form=import_form or forms.IndicatorImportForm(),
            problems=problems or [],
            recording_roles=RECORDING_ROLES,
        ),
        status,
    )


@bp.get("/indicators")
@roles_required(ADMIN, STATISTICIAN, PUBLISHER)
def indicators():
    return _page()


@bp.post("/indicators/record")
@roles_required(*RECORDING_ROLES)
def indicators_record():
    """Record one indicator's value for one year (replacing the value recorded before)."""
    form = forms.IndicatorValueForm()
    rows = indicator_rows(get_session())[1]
    form.code.choices = forms.choices((row.code, row.code) for row in rows)
    if not form.validate_on_submit():
        return _page(form=form, status=400)
    db = get_session()
    try:
        entry = record_value(
            db,
            code=form.code.data,
            year=form.year.data,
            value=form.value.data,
            source=form.source.data,
            note=form.note.data or "",
            actor=current_account(),
        )
    except IndicatorError as error:
        db.rollback()
        for field, message in error.fields or [("value", str(error))]:
            getattr(form, field).errors.append(message)
        return _page(form=form, status=400)
    db.commit()
    shown = format(entry.value, "g")
    flash(_("Recorded %(code)s for %(year)s: %(value)s.", code=entry.code, year=entry.year, value=shown))
    return redirect(url_for(".indicators"), 303)


@bp.post("/indicators/import")
@roles_required(*RECORDING_ROLES)
def indicators_import():
    """Record every value of a CSV file, or none (each problem named by row and column)."""
    import_form = forms.IndicatorImportForm()
    if not import_form.validate_on_submit():
        return _page(import_form=import_form, status=400)
    upload = import_form.file.data
    db = get_session()
    try:
        result = import_values(db, upload.read(), actor=current_account(), name=(upload.filename or "upload.csv")[:200])
    except IndicatorError as error:
        db.commit()  # the audit record of the refusal, and nothing else
        return _page(import_form=import_form, problems=[str(error)], status=422)
    db.commit()
    flash(
        _(
            "%(rows)s values read: %(added)s new, %(replaced)s replaced, %(unchanged)s already recorded as they are.",
            rows=result.rows,
            added=len(result.added),
            replaced=len(result.replaced),
            unchanged=result.unchanged,
        )
    )
    return redirect(url_for(".indicators"), 303)
