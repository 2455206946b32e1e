"""Publication: every wave's published revisions, a scoring preview (statisticians and
publishers) and publishing (publishers), both with the wave's analysis settings (shown
here, set on the settings screen).  Before publishing, the page says when the settings
differ from those of the previous wave's publication (the change is then published
flagged as not comparable).  The scoring and freezing are
:mod:`survey.services.publication`, run by ``manyi worker`` as a ``publish`` job
(:mod:`survey.services.jobs`): the button queues it and opens the job's page.  The
preview is drawn like the public page."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from survey.admin import forms
from survey.admin.base import ADMIN, PUBLISHER, STATISTICIAN, bp, current_account, roles_required, wave_or_404
from survey.db import get_session
from survey.models import Wave
from survey.results.view import build_page
from survey.services import jobs
from survey.services.progress import submitted_count, wave_overview
from survey.services.publication import (
    PublicationError,
    file_names,
    preview_wave,
    public_results,
    results_of,
    revisions,
    settings_change,
)
from survey.services.questionnaires import wave_questionnaires
from survey.services.settings import wave_settings
from survey.services.waves import town_names
from survey.web import select_locale

#: The settings that must agree for a change between waves to be comparable, as named here
#: (``scoring.planning.COMPARED_SETTINGS``; questionnaire versions are named as they come).
SETTING_LABELS = {
    "target_metric": _l("which figure is the target"),
    "mapping": _l("scale mapping"),
    "margins": _l("population margins"),
    "screening": _l("screening rules"),
    "strata": _l("strata"),
    "cluster": _l("clusters"),
    "unclustered": _l("responses without a collection point"),
    "lonely_psu": _l("towns with a single collection point"),
}
#: Values of the settings shown on the page.
SETTING_VALUES = {
    "linear": _l("linear"),
    "monitoring": _l("monitoring"),
    "linearization": _l("linearization"),
    "jackknife": _l("jackknife"),
    "bootstrap": _l("bootstrap"),
}


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


#: Who sees the publications: the administrator too (it runs the office), though only a
#: statistician or publisher previews and only a publisher publishes (separation of duties).
SEE_PUBLICATIONS = (ADMIN, STATISTICIAN, PUBLISHER)


@bp.get("/publications")
@roles_required(*SEE_PUBLICATIONS)
def publications():
    """Every wave with its published revisions."""
    waves_and_rows = [(row, _publication_rows(row.wave)) for row in wave_overview(get_session())]
    return render_template("admin/publications.html", waves=waves_and_rows)


@bp.get("/waves/<code>/publication")
@roles_required(*SEE_PUBLICATIONS)
def publication(code: str):
    return _publication_page(wave_or_404(code))


def _publication_page(
    wave: Wave,
    *,
    form: forms.PublishForm | None = None,
    preview: Any = None,
    problem: str | None = None,
    status: int = 200,
):
    db = get_session()
    return (
        render_template(
            "admin/publication.html",
            wave=wave,
            rows=_publication_rows(wave),
            form=form or forms.PublishForm(formdata=None),
            preview_form=forms.ActionForm(),
            preview=preview,
            problem=problem,
            settings=wave_settings(db, wave),
            change=settings_change(db, wave),
            setting_labels=SETTING_LABELS,
            setting_values=SETTING_VALUES,
            submitted=submitted_count(db, wave),
        ),
        status,
    )


@bp.post("/waves/<code>/preview")
@roles_required(STATISTICIAN, PUBLISHER)
def preview(code: str):
    """Score the wave now and show the main figures, without publishing anything."""
    wave = wave_or_404(code)
    if not forms.ActionForm().validate_on_submit():
        return _publication_page(wave, status=400)
    db = get_session()
    try:
        results = preview_wave(db, wave)
    except PublicationError as error:
        return _publication_page(wave, problem=str(error), status=400)
    language = select_locale()
    questionnaires = wave_questionnaires(wave)
    page = build_page(
        public_results(results),
        history=[],
        language=language,
        domain_titles={domain: q.title.get(language) for domain, q in questionnaires.domains.items()},
        town_names=town_names(db, language=language),
    )
    return _publication_page(wave, preview=page)


@bp.post("/waves/<code>/publish")
@roles_required(PUBLISHER)
def publish(code: str):
    """Check the form and queue publishing the wave as a job (``manyi worker`` scores and
    freezes the results); the office follows it on the job's page."""
    wave = wave_or_404(code)
    form = forms.PublishForm()
    if not form.validate_on_submit():
        return _publication_page(wave, form=form, status=400)
    db = get_session()
    try:
        job = jobs.submit_publish(db, wave, actor=current_account(), reason=form.reason.data or "")
    except jobs.JobBusy as busy:
        db.rollback()
        flash(_("Wave %(code)s is already being published: this is that job.", code=wave.code), "info")
        return redirect(url_for(".job_detail", job_id=busy.job.id), 303)
    except PublicationError as error:
        db.rollback()
        form.reason.errors.append(str(error))
        return _publication_page(wave, form=form, status=400)
    db.commit()
    flash(_("Publishing wave %(code)s is queued; this page shows its progress.", code=wave.code), "success")
    return redirect(url_for(".job_detail", job_id=job.id), 303)
