"""The wave's responses in and out: exports (CSV, long CSV, XLSX, SPSS, codebook) and
imports of phone and paper responses (administrators and statisticians).

The export and import services load pandas; they are imported when a file is made or
read, not with the app (``create_app`` stays light).
"""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask import current_app, render_template, request
from flask_login import current_user

from survey.admin import forms
from survey.admin.base import ADMIN, STATISTICIAN, bp, current_account, roles_required, wave_or_404
from survey.db import get_session
from survey.services import audit
from survey.services.waves import wave_codes

#: Largest CSV the import screen accepts (the app-wide limit protects the resident pages).
IMPORT_MAX_BYTES = 50 * 1024 * 1024


@bp.url_value_preprocessor
def _allow_large_import(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Raise the body limit for the import upload only, and only for those allowed to
    import.  (URL preprocessors run before the CSRF check reads the body.)"""
    if (
        endpoint == "admin.imports"
        and request.method == "POST"
        and current_user.is_authenticated
        and current_user.role in (ADMIN, STATISTICIAN)
    ):
        request.max_content_length = current_app.config.get("MANYI_IMPORT_MAX_BYTES", IMPORT_MAX_BYTES)
        request.max_form_memory_size = 1024 * 1024


@bp.route("/exports", methods=["GET", "POST"])
@roles_required(ADMIN, STATISTICIAN)
def exports():
    from survey.services.exports import ExportError, export_wave

    form = forms.ExportForm()
    form.wave.choices = forms.wave_choices(wave_codes(get_session()))
    if form.validate_on_submit():
        db = get_session()
        wave = wave_or_404(form.wave.data)
        partial, comments = bool(form.include_partial.data), bool(form.include_comments.data)
        try:
            exported = export_wave(db, wave, form.format.data, include_partial=partial, include_comments=comments)
        except ExportError as error:
            form.format.errors.append(str(error))
            return render_template("admin/exports.html", form=form), 400
        audit.record_export(
            db,
            actor=current_account(),
            wave_code=wave.code,
            file_format=form.format.data,
            rows=exported.rows,
            partial=partial,
            comments=comments,
        )
        db.commit()
        return FlaskResponse(
            exported.data,
            content_type=exported.content_type,
            headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
        )
    status = 400 if request.method == "POST" else 200
    return render_template("admin/exports.html", form=form), status


@bp.route("/imports", methods=["GET", "POST"])
@roles_required(ADMIN, STATISTICIAN)
def imports():
    from survey.services.imports import import_responses

    form = forms.ImportForm()
    form.wave.choices = forms.wave_choices(wave_codes(get_session()))
    if form.validate_on_submit():
        db = get_session()
        wave = wave_or_404(form.wave.data)
        upload = form.file.data
        report = import_responses(
            db,
            wave,
            upload.read(),
            channel=form.channel.data,
            actor=current_account(),
            filename=(upload.filename or "")[:200],
            new_ids=bool(form.new_ids.data),
        )
        # A rejected import stored nothing but its audit record: commit either way.
        db.commit()
        if report.ok:
            return render_template("admin/import_report.html", report=report, form=None)
        return render_template("admin/import_report.html", report=report, form=form), 422
    status = 400 if request.method == "POST" else 200
    return render_template("admin/imports.html", form=form), status
