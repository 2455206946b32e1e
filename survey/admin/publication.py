"""Publication: every wave's published revisions, a scoring preview (statisticians and
publishers) and publishing (publishers).  The scoring and freezing are
:mod:`survey.services.publication`; the preview is drawn like the public page."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from survey.admin import forms
from survey.admin.base import PUBLISHER, STATISTICIAN, bp, current_account, roles_required, wave_or_404
from survey.db import get_session
from survey.models import Wave
from survey.results.view import build_page
from survey.services.progress import submitted_count, wave_overview
from survey.services.publication import (
    PublicationError,
    PublishOptions,
    file_names,
    input_path,
    preview_wave,
    public_results,
    publish_wave,
    results_of,
    revisions,
    scoring_inputs,
)
from survey.services.questionnaires import QuestionnairesNotFound, questionnaires_dir, wave_questionnaires
from survey.services.waves import town_names
from survey.web import select_locale


def _publication_rows(wave: Wave) -> list[dict[str, Any]]:
    db = get_session()
    rows = []
    for publication in revisions(db, wave):
        results = results_of(publication)
        rows.append(
            {
                "publication": publication,
                "index": (results.get("overall") or {}).get("index"),
                "verdict": (results.get("target") or {}).get("verdict"),
                "files": len(file_names(db, publication)),
            }
        )
    return rows


@bp.get("/publications")
@roles_required(STATISTICIAN, PUBLISHER)
def publications():
    """Every wave with its published revisions."""
    waves_and_rows = [(row, _publication_rows(row.wave)) for row in wave_overview(get_session())]
    return render_template("admin/publications.html", waves=waves_and_rows)


@bp.get("/waves/<code>/publication")
@roles_required(STATISTICIAN, PUBLISHER)
def publication(code: str):
    return _publication_page(wave_or_404(code))


def _inputs() -> tuple[list[str], list[str]]:
    """The margins and benchmarks files the office keeps beside the questionnaires (none
    when no questionnaire folder is configured)."""
    try:
        return scoring_inputs(questionnaires_dir(current_app.config))
    except QuestionnairesNotFound:
        return [], []


def _scoring_form(form_class: type[forms.ScoringForm], wave: Wave, **kwargs: Any) -> forms.ScoringForm:
    """A scoring (or publish) form with the office's margins and benchmarks files; on a
    fresh page the margins named after the wave and every benchmarks file are chosen."""
    form = form_class(**kwargs)
    margins, benchmarks = _inputs()
    form.margins.choices = forms.choices([("", _("none (unweighted)"))] + [(name, name) for name in margins])
    form.benchmarks.choices = forms.choices((name, name) for name in benchmarks)
    if kwargs.get("formdata", True) is None:
        form.margins.data = next((name for name in margins if wave.code in name), "")
        form.benchmarks.data = benchmarks
    return form


def _scoring_options(form: forms.ScoringForm) -> PublishOptions:
    folder = questionnaires_dir(current_app.config)
    return PublishOptions(
        margins=input_path(folder, "margins", form.margins.data) if form.margins.data else None,
        benchmarks=tuple(input_path(folder, "benchmarks", name) for name in form.benchmarks.data or ()),
        variance=form.variance.data,
    )


def _publication_page(
    wave: Wave,
    *,
    form: forms.PublishForm | None = None,
    preview_form: forms.ScoringForm | None = None,
    preview: Any = None,
    status: int = 200,
):
    return (
        render_template(
            "admin/publication.html",
            wave=wave,
            rows=_publication_rows(wave),
            form=form or _scoring_form(forms.PublishForm, wave, formdata=None),
            preview_form=preview_form or _scoring_form(forms.ScoringForm, wave, formdata=None, prefix="preview"),
            preview=preview,
            submitted=submitted_count(get_session(), wave),
        ),
        status,
    )


@bp.post("/waves/<code>/preview")
@roles_required(STATISTICIAN, PUBLISHER)
def preview(code: str):
    """Score the wave now and show the main figures, without publishing anything."""
    wave = wave_or_404(code)
    form = _scoring_form(forms.ScoringForm, wave, prefix="preview")
    if not form.validate_on_submit():
        return _publication_page(wave, preview_form=form, status=400)
    db = get_session()
    try:
        results = preview_wave(db, wave, options=_scoring_options(form))
    except PublicationError as error:
        form.margins.errors.append(str(error))
        return _publication_page(wave, preview_form=form, status=400)
    language = select_locale()
    questionnaires = wave_questionnaires(wave)
    page = build_page(
        public_results(results),
        history=[],
        language=language,
        domain_titles={domain: q.title.get(language) for domain, q in questionnaires.domains.items()},
        town_names=town_names(db, language=language),
    )
    return _publication_page(wave, preview_form=form, preview=page)


@bp.post("/waves/<code>/publish")
@roles_required(PUBLISHER)
def publish(code: str):
    """Score the wave and freeze the results as its next revision."""
    wave = wave_or_404(code)
    form = _scoring_form(forms.PublishForm, wave)
    if not form.validate_on_submit():
        return _publication_page(wave, form=form, status=400)
    db = get_session()
    try:
        published = publish_wave(
            db, wave, actor=current_account(), reason=form.reason.data or "", options=_scoring_options(form)
        )
    except PublicationError as error:
        db.rollback()
        form.reason.errors.append(str(error))
        return _publication_page(wave, form=form, status=400)
    db.commit()
    flash(_("Wave %(code)s published (revision %(revision)s).", code=wave.code, revision=published.revision), "success")
    return redirect(url_for(".publication", code=wave.code), 303)
