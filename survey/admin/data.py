"""The wave's responses in and out: exports (CSV, long CSV, XLSX, SPSS, codebook) and
imports of phone and paper responses (administrators and statisticians).

The export and import services load pandas; they are imported when a file is made or
read, not with the app (``create_app`` stays light).

No request here reads or writes a wave's responses in bulk: an import and a whole-wave
export are queued as jobs (:mod:`survey.services.jobs`, run by ``manyi worker``) and
followed on the job's page.  Only the codebook, which reads no responses, is made in
the request.
"""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey.admin import forms
from survey.admin.base import ADMIN, STATISTICIAN, bp, current_account, roles_required, wave_or_404
from survey.admin.jobs import export_folder, upload_folder
from survey.db import get_session
from survey.models import Wave
from survey.services import audit, jobs
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
    """A codebook (no responses read) is made in the request; a whole-wave export of
    responses is queued as an ``export`` job, whose page offers the file."""
    form = forms.ExportForm()
    form.wave.choices = forms.wave_choices(wave_codes(get_session()))
    if form.validate_on_submit():
        db = get_session()
        wave = wave_or_404(form.wave.data)
        partial, comments = bool(form.include_partial.data), bool(form.include_comments.data)
        if form.format.data == "codebook":
            return _codebook_now(wave, partial=partial, comments=comments)
        job = jobs.submit(
            db,
            "export",
            actor=current_account(),
            wave=wave,
            parameters={
                "format": form.format.data,
                "include_partial": partial,
                "include_comments": comments,
                "folder": str(export_folder()),
            },
        )
        db.commit()
        flash(_("The export is being prepared; download it from this page when it is ready."), "success")
        return redirect(url_for(".job_detail", job_id=job.id), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/exports.html", form=form), status


def _codebook_now(wave: Wave, *, partial: bool, comments: bool):
    """The codebook: the wave's columns and labels, a small file made in well under a second."""
    from survey.services.exports import export_wave

    db = get_session()
    exported = export_wave(db, wave, "codebook", include_partial=partial, include_comments=comments)
    audit.record_export(
        db,
        actor=current_account(),
        wave_code=wave.code,
        file_format="codebook",
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


@bp.route("/imports", methods=["GET", "POST"])
@roles_required(ADMIN, STATISTICIAN)
def imports():
    """Check the upload (size, type), keep it under ``instance/uploads/`` and queue an
    ``import`` job; the job's page shows the import report when the worker is done."""
    form = forms.ImportForm()
    form.wave.choices = forms.wave_choices(wave_codes(get_session()))
    if form.validate_on_submit():
        db = get_session()
        wave = wave_or_404(form.wave.data)
        upload = form.file.data
        filename = (upload.filename or "")[:200]
        try:
            saved = jobs.save_upload(upload.stream, upload_folder(), filename=filename)
        except jobs.JobError as error:
            form.file.errors.append(str(error))
            return render_template("admin/imports.html", form=form), 400
        job = jobs.submit(
            db,
            "import",
            actor=current_account(),
            wave=wave,
            parameters={
                "path": str(saved),
                "channel": form.channel.data,
                "filename": filename,
                "new_ids": bool(form.new_ids.data),
            },
        )
        db.commit()
        flash(_("The file is queued for checking and import; this page shows the report when it is done."), "success")
        return redirect(url_for(".job_detail", job_id=job.id), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/imports.html", form=form), status
