"""The dashboard and the waves: list, create, open or close, target sample sizes and the
planner that suggests them."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from scoring.questionnaire import DOMAIN_IDS
from survey.admin import forms
from survey.admin.base import ADMIN, ALL_ROLES, bp, current_account, roles_required, wave_or_404
from survey.db import get_session
from survey.localtime import local_to_utc
from survey.models import Wave
from survey.services.planning import PlanningError, plan_targets, published_waves
from survey.services.progress import wave_headlines, wave_overview
from survey.services.waves import (
    WaveError,
    close_wave,
    create_wave,
    open_wave,
    set_targets,
    set_wave_state,
    town_choices,
)


@bp.get("/")
@roles_required(*ALL_ROLES)
def dashboard():
    return render_template("admin/dashboard.html", waves=wave_headlines(get_session()), action=forms.ActionForm())


@bp.get("/waves")
@roles_required(*ALL_ROLES)
def waves():
    return render_template("admin/waves.html", waves=wave_overview(get_session()), form=forms.WaveForm())


@bp.post("/waves")
@roles_required(ADMIN)
def waves_create():
    form = forms.WaveForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            wave = create_wave(
                db,
                form.code.data.strip(),
                opens_at=local_to_utc(form.opens_at.data),
                closes_at=local_to_utc(form.closes_at.data),
                title_zh=form.title_zh.data or "",
                title_en=form.title_en.data or "",
                actor=current_account(),
            )
        except WaveError as error:
            db.rollback()
            form.code.errors.append(str(error))
        else:
            db.commit()
            flash(_("Wave %(code)s created (draft). Add collection points, then open it.", code=wave.code), "success")
            return redirect(url_for(".wave_detail", code=wave.code), 303)
    return render_template("admin/waves.html", waves=wave_overview(get_session()), form=form), 400


def _plan_form(wave: Wave, **kwargs: Any) -> forms.PlanForm:
    form = forms.PlanForm(**kwargs)
    form.previous_wave.choices = forms.choices([("", "—")]) + forms.wave_choices(
        published_waves(get_session(), before=wave)
    )
    return form


def _filled_targets_form(towns: list[tuple[str, str]], targets: dict[str, Any]) -> Any:
    """The targets form showing ``targets`` (stored, or suggested by the planner)."""
    form = forms.targets_form_class(towns)(formdata=None)
    form.total.data = targets.get("total")
    for domain, value in targets.get("domains", {}).items():
        if hasattr(form, f"domain__{domain}"):
            getattr(form, f"domain__{domain}").data = value
    for town, value in targets.get("towns", {}).items():
        if hasattr(form, f"town__{town}"):
            getattr(form, f"town__{town}").data = value
    return form


def _wave_page(wave: Wave, *, targets_form=None, plan_form=None, status: int = 200, plan: Any = None):
    towns = town_choices(get_session())
    return (
        render_template(
            "admin/wave.html",
            wave=wave,
            towns=towns,
            state_form=forms.WaveStateForm(),
            targets_form=targets_form or _filled_targets_form(towns, wave.targets or {}),
            plan_form=plan_form or _plan_form(wave, formdata=None),
            plan=plan,
            survey_base=current_app.config["PUBLIC_BASE_URL"].rstrip("/"),
            domain_ids=DOMAIN_IDS,
        ),
        status,
    )


@bp.get("/waves/<code>")
@roles_required(ADMIN)
def wave_detail(code: str):
    return _wave_page(wave_or_404(code))


@bp.post("/waves/<code>/state")
@roles_required(ADMIN)
def wave_state(code: str):
    wave = wave_or_404(code)
    form = forms.WaveStateForm()
    if not form.validate_on_submit():
        abort(400, description=_("Choose open, closed or draft."))
    db = get_session()
    try:
        if form.state.data == "open":
            open_wave(db, wave, actor=current_account())
        elif form.state.data == "closed":
            close_wave(db, wave, actor=current_account())
        else:
            set_wave_state(db, wave, form.state.data, actor=current_account())
    except WaveError as error:
        db.rollback()
        flash(str(error), "error")
        return redirect(url_for(".wave_detail", code=wave.code), 303)
    db.commit()
    flash(_("Wave %(code)s is now %(state)s.", code=wave.code, state=wave.state), "success")
    return redirect(url_for(".wave_detail", code=wave.code), 303)


@bp.post("/waves/<code>/targets")
@roles_required(ADMIN)
def wave_targets(code: str):
    wave = wave_or_404(code)
    towns = town_choices(get_session())
    form = forms.targets_form_class(towns)()
    if not form.validate_on_submit():
        return _wave_page(wave, targets_form=form, status=400)
    targets = {
        "total": form.total.data,
        "domains": {domain: getattr(form, f"domain__{domain}").data for domain in DOMAIN_IDS},
        "towns": {town: getattr(form, f"town__{town}").data for town, _name in towns},
        "source": request.form.get("source", "")[:200] or "entered on the wave page",
    }
    db = get_session()
    try:
        set_targets(db, wave, targets, actor=current_account())
    except WaveError as error:
        db.rollback()
        form.total.errors.append(str(error))
        return _wave_page(wave, targets_form=form, status=400)
    db.commit()
    flash(_("Targets of wave %(code)s saved.", code=wave.code), "success")
    return redirect(url_for(".wave_detail", code=wave.code), 303)


@bp.post("/waves/<code>/plan")
@roles_required(ADMIN)
def wave_plan(code: str):
    """Compute targets with the planner and show them for saving."""
    wave = wave_or_404(code)
    form = _plan_form(wave)
    if not form.validate_on_submit():
        return _wave_page(wave, plan_form=form, status=400)
    try:
        planned = plan_targets(
            get_session(),
            wave,
            half_width=float(form.half_width.data),
            deff=float(form.deff.data) if form.deff.data is not None else None,
            sd=float(form.sd.data) if form.sd.data is not None else None,
            previous_wave=form.previous_wave.data or None,
        )
    except PlanningError as error:
        form.half_width.errors.append(str(error))
        return _wave_page(wave, plan_form=form, status=400)
    targets_form = _filled_targets_form(town_choices(get_session()), planned.targets)
    return _wave_page(wave, targets_form=targets_form, plan_form=form, plan=planned)
