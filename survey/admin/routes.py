"""The office's views.  Roles per view: see the table in :mod:`survey.admin`."""

from __future__ import annotations

import datetime as dt
import secrets
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Response as FlaskResponse,
)
from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import (
    session as cookie_session,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash

from scoring.questionnaire import DOMAIN_IDS
from survey.admin import ADMIN, ALL_ROLES, PUBLISHER, STATISTICIAN, bp, forms, roles_required
from survey.admin.planning import PlanningError, plan_targets, published_waves
from survey.admin.progress import wave_progress
from survey.admin.services import (
    add_account,
    change_own_password,
    reset_account_password,
    set_account_active,
    set_targets,
    update_point,
)
from survey.db import get_session
from survey.extensions import limiter
from survey.models import CollectionPoint, Publication, Response, Town, User, Wave, as_utc, utcnow
from survey.privacy import keyed_hash
from survey.results.view import build_page
from survey.services import accounts, audit
from survey.services.accounts import AccountError
from survey.services.exports import ExportError, export_wave
from survey.services.imports import import_responses
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
from survey.services.questionnaires import wave_questionnaires
from survey.services.waves import (
    WaveError,
    add_point,
    close_wave,
    create_wave,
    find_wave,
    open_wave,
    set_wave_state,
)
from survey.web import select_locale

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
#: Largest CSV the import screen accepts (the app-wide limit protects the resident pages).
IMPORT_MAX_BYTES = 50 * 1024 * 1024


# --------------------------------------------------------------------------- plumbing


@bp.after_request
def _no_store(response: FlaskResponse) -> FlaskResponse:
    """Office pages hold personal and unpublished data: never cache them."""
    if request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"
    return response


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


@bp.app_template_filter("local_time")
def local_time(value: dt.datetime | None, with_seconds: bool = False) -> str:
    """A stored UTC time in Beijing time, e.g. ``2025-06-01 09:30``."""
    if value is None:
        return "—"
    return as_utc(value).astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _wave_or_404(code: str) -> Wave:
    wave = find_wave(get_session(), code)
    if wave is None:
        abort(404, description=_("There is no wave %(code)s.", code=code))
    return wave


def _point_or_404(wave: Wave, point_code: str) -> CollectionPoint:
    point = get_session().scalar(
        select(CollectionPoint).where(CollectionPoint.wave_id == wave.id, CollectionPoint.code == point_code)
    )
    if point is None:
        abort(404, description=_("Wave %(wave)s has no collection point %(point)s.", wave=wave.code, point=point_code))
    return point


def _towns() -> list[tuple[str, str]]:
    return [
        (town.code, town.name_zh) for town in get_session().scalars(select(Town).order_by(Town.sort_order, Town.code))
    ]


def _local_to_utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.replace(tzinfo=LOCAL_ZONE).astimezone(dt.UTC)


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the office screens (no open redirect)."""
    if not target or not target.startswith("/admin") or target.startswith("//") or "\\" in target:
        return None
    return target


# --------------------------------------------------------------------------- sign-in


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to check unknown user names against, so both take the same time."""
    return accounts.hash_password(secrets.token_hex(16))


def _login_attempt_key() -> str:
    """Rate-limit key per account name (keyed hash; the typed name is never stored)."""
    typed = (request.form.get("username") or "").strip().lower()
    return "login-account:" + keyed_hash(typed, purpose="login")[:32]


def _client_limit() -> str:
    return current_app.config.get("MANYI_LOGIN_LIMIT", "10 per minute; 50 per hour")


def _account_limit() -> str:
    return current_app.config.get("MANYI_LOGIN_ACCOUNT_LIMIT", "20 per hour")


def _failed_login(_response: FlaskResponse) -> bool:
    return bool(g.get("login_failed"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_client_limit, methods=["POST"], deduct_when=_failed_login)
@limiter.limit(_account_limit, key_func=_login_attempt_key, methods=["POST"], deduct_when=_failed_login)
def login():
    """Sign in.  Failures are throttled per client and per account, and audited."""
    form = forms.LoginForm()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(url_for(".dashboard"))
    if form.validate_on_submit():
        db = get_session()
        username = form.username.data.strip()
        user = accounts.find_user(db, username)
        if user is None:
            check_password_hash(_dummy_hash(), form.password.data)
            valid = False
        else:
            valid = accounts.verify_password(user, form.password.data)
        if valid and user is not None and user.active:
            cookie_session.clear()  # a new session at sign-in (no fixation)
            login_user(user)
            user.last_login_at = utcnow()
            audit.record(db, "login.success", user=user, target=f"account {user.username}")
            db.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for(".dashboard"))
        g.login_failed = True
        reason = "unknown user name" if user is None else ("account disabled" if valid else "wrong password")
        audit.record(
            db,
            "login.failure",
            username=user.username if user is not None else "",
            target=f"account {user.username}" if user is not None else "",
            detail={"reason": reason},
        )
        db.commit()
        form.password.errors.append(_("Wrong user name or password (or the account is disabled)."))
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form), (400 if request.method == "POST" else 200)


@bp.post("/logout")
@roles_required(*ALL_ROLES)
def logout():
    db = get_session()
    audit.record(db, "logout", user=_user(), target=f"account {current_user.username}")
    db.commit()
    logout_user()
    cookie_session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for(".login"))


@bp.route("/password", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
def password():
    """Change one's own password (then the session is renewed)."""
    form = forms.PasswordForm()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        user = _user()
        try:
            change_own_password(db, user, form.current.data, form.new.data)
        except AccountError as error:
            db.rollback()
            form.current.errors.append(str(error))
            status = 400
        else:
            db.commit()
            cookie_session.clear()
            login_user(user)
            flash(_("Your password is changed."), "success")
            return redirect(url_for(".dashboard"))
    elif request.method == "POST":
        status = 400
    return render_template("admin/password.html", form=form), status


# --------------------------------------------------------------------------- dashboard


def _wave_rows() -> list[dict[str, Any]]:
    db = get_session()
    counts = dict(
        db.execute(
            select(Response.wave_id, func.count()).where(Response.state == "submitted").group_by(Response.wave_id)
        ).all()
    )
    revisions = dict(
        db.execute(select(Publication.wave_id, func.max(Publication.revision)).group_by(Publication.wave_id)).all()
    )
    return [
        {"wave": wave, "submitted": int(counts.get(wave.id, 0)), "revision": revisions.get(wave.id)}
        for wave in db.scalars(select(Wave).order_by(Wave.code.desc()))
    ]


@bp.get("/")
@roles_required(*ALL_ROLES)
def dashboard():
    return render_template("admin/dashboard.html", waves=_wave_rows(), action=forms.ActionForm())


# --------------------------------------------------------------------------- accounts


def _accounts_page(
    form: forms.CreateAccountForm | None = None, *, shown: tuple[str, str] | None = None, status: int = 200
):
    users = get_session().scalars(select(User).order_by(User.username)).all()
    return (
        render_template(
            "admin/accounts.html",
            users=users,
            form=form or forms.CreateAccountForm(),
            action=forms.ActionForm(),
            shown=shown,
        ),
        status,
    )


@bp.get("/accounts")
@roles_required(ADMIN)
def accounts_list():
    return _accounts_page()


@bp.post("/accounts")
@roles_required(ADMIN)
def accounts_create():
    form = forms.CreateAccountForm()
    if not form.validate_on_submit():
        return _accounts_page(form, status=400)
    db = get_session()
    try:
        user, new_password = add_account(db, form.username.data.strip(), form.role.data, actor=_user())
    except AccountError as error:
        db.rollback()
        form.username.errors.append(str(error))
        return _accounts_page(form, status=400)
    db.commit()
    # Shown once on this page, never put in a flash message (which would sit in the cookie).
    return _accounts_page(shown=(user.username, new_password))


def _user_or_404(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        abort(404, description=_("There is no such account."))
    return user


@bp.post("/accounts/<int:user_id>/reset-password")
@roles_required(ADMIN)
def accounts_reset(user_id: int):
    user = _user_or_404(user_id)
    db = get_session()
    new_password = reset_account_password(db, user.username, actor=_user())
    db.commit()
    return _accounts_page(shown=(user.username, new_password))


def _set_active(user_id: int, active: bool):
    user = _user_or_404(user_id)
    db = get_session()
    try:
        set_account_active(db, user.username, active, actor=_user())
    except AccountError as error:
        db.rollback()
        flash(str(error), "error")
        return redirect(url_for(".accounts_list")), 303
    db.commit()
    flash(
        _("Account %(name)s enabled.", name=user.username)
        if active
        else _("Account %(name)s disabled; its sessions are signed out.", name=user.username),
        "success",
    )
    return redirect(url_for(".accounts_list")), 303


@bp.post("/accounts/<int:user_id>/disable")
@roles_required(ADMIN)
def accounts_disable(user_id: int):
    return _set_active(user_id, False)


@bp.post("/accounts/<int:user_id>/enable")
@roles_required(ADMIN)
def accounts_enable(user_id: int):
    return _set_active(user_id, True)


# --------------------------------------------------------------------------- waves


@bp.get("/waves")
@roles_required(*ALL_ROLES)
def waves():
    return render_template("admin/waves.html", waves=_wave_rows(), form=forms.WaveForm())


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
                opens_at=_local_to_utc(form.opens_at.data),
                closes_at=_local_to_utc(form.closes_at.data),
                title_zh=(form.title_zh.data or "").strip(),
                title_en=(form.title_en.data or "").strip(),
            )
        except WaveError as error:
            db.rollback()
            form.code.errors.append(str(error))
        else:
            audit.record(db, "wave.create", user=_user(), target=f"wave {wave.code}")
            db.commit()
            flash(_("Wave %(code)s created (draft). Add collection points, then open it.", code=wave.code), "success")
            return redirect(url_for(".wave_detail", code=wave.code), 303)
    return render_template("admin/waves.html", waves=_wave_rows(), form=form), 400


def _plan_form(wave: Wave, **kwargs: Any) -> forms.PlanForm:
    form = forms.PlanForm(**kwargs)
    form.previous_wave.choices = forms.choices([("", "—")]) + forms.wave_choices(
        published_waves(get_session(), before=wave)
    )
    return form


def _wave_page(wave: Wave, *, targets_form=None, plan_form=None, status: int = 200, plan: Any = None):
    towns = _towns()
    if targets_form is None:
        targets_form = forms.targets_form_class(towns)(formdata=None)
        stored = wave.targets or {}
        targets_form.total.data = stored.get("total")
        for domain in DOMAIN_IDS:
            getattr(targets_form, f"domain__{domain}").data = stored.get("domains", {}).get(domain)
        for code, _name in towns:
            getattr(targets_form, f"town__{code}").data = stored.get("towns", {}).get(code)
    return (
        render_template(
            "admin/wave.html",
            wave=wave,
            towns=towns,
            state_form=forms.WaveStateForm(),
            targets_form=targets_form,
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
    return _wave_page(_wave_or_404(code))


@bp.post("/waves/<code>/state")
@roles_required(ADMIN)
def wave_state(code: str):
    wave = _wave_or_404(code)
    form = forms.WaveStateForm()
    if not form.validate_on_submit():
        abort(400, description=_("Choose open, closed or draft."))
    db = get_session()
    before = wave.state
    change = {"open": open_wave, "closed": close_wave}.get(form.state.data)
    try:
        if change is not None:
            change(db, wave)
        else:
            set_wave_state(db, wave, form.state.data)
    except WaveError as error:
        db.rollback()
        flash(str(error), "error")
        return redirect(url_for(".wave_detail", code=wave.code), 303)
    audit.record(db, "wave.state", user=_user(), target=f"wave {wave.code}", detail={"from": before, "to": wave.state})
    db.commit()
    flash(_("Wave %(code)s is now %(state)s.", code=wave.code, state=wave.state), "success")
    return redirect(url_for(".wave_detail", code=wave.code), 303)


@bp.post("/waves/<code>/targets")
@roles_required(ADMIN)
def wave_targets(code: str):
    wave = _wave_or_404(code)
    towns = _towns()
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
        set_targets(db, wave, targets, actor=_user())
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
    wave = _wave_or_404(code)
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
    targets_form = forms.targets_form_class(_towns())(formdata=None)
    targets = planned.targets
    targets_form.total.data = targets.get("total")
    for domain, value in targets.get("domains", {}).items():
        if hasattr(targets_form, f"domain__{domain}"):
            getattr(targets_form, f"domain__{domain}").data = value
    for town, value in targets.get("towns", {}).items():
        if hasattr(targets_form, f"town__{town}"):
            getattr(targets_form, f"town__{town}").data = value
    return _wave_page(wave, targets_form=targets_form, plan_form=form, plan=planned)


# --------------------------------------------------------------------------- points


@bp.route("/waves/<code>/points/new", methods=["GET", "POST"])
@roles_required(ADMIN)
def point_new(code: str):
    wave = _wave_or_404(code)
    form = forms.point_form_class(_towns(), new=True)()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        try:
            point = add_point(
                db,
                wave,
                code=form.code.data.strip(),
                town=form.town.data,
                place=form.place.data,
                focus_domain=form.focus_domain.data or None,
            )
        except WaveError as error:
            db.rollback()
            form.code.errors.append(str(error))
            status = 400
        else:
            audit.record(
                db,
                "point.create",
                user=_user(),
                target=f"wave {wave.code} point {point.code}",
                detail={"town": point.town_code, "place": point.place, "focus_domain": point.focus_domain},
            )
            db.commit()
            flash(_("Collection point %(code)s added.", code=point.code), "success")
            return redirect(url_for(".wave_detail", code=wave.code), 303)
    elif request.method == "POST":
        status = 400
    return render_template("admin/point.html", wave=wave, form=form, point=None), status


@bp.route("/waves/<code>/points/<point_code>", methods=["GET", "POST"])
@roles_required(ADMIN)
def point_edit(code: str, point_code: str):
    wave = _wave_or_404(code)
    point = _point_or_404(wave, point_code)
    form_class = forms.point_form_class(_towns(), new=False)
    form = (
        form_class(obj=None)
        if request.method == "POST"
        else form_class(
            formdata=None,
            town=point.town_code,
            place=point.place,
            focus_domain=point.focus_domain or "",
            active=point.active,
        )
    )
    status = 200
    if form.validate_on_submit():
        db = get_session()
        try:
            update_point(
                db,
                point,
                town=form.town.data,
                place=form.place.data,
                focus_domain=form.focus_domain.data or None,
                active=bool(form.active.data),
                actor=_user(),
            )
        except WaveError as error:
            db.rollback()
            form.place.errors.append(str(error))
            status = 400
        else:
            db.commit()
            flash(_("Collection point %(code)s saved.", code=point.code), "success")
            return redirect(url_for(".wave_detail", code=wave.code), 303)
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "admin/point.html",
            wave=wave,
            form=form,
            point=point,
            survey_url=f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/s/{point.token}",
        ),
        status,
    )


@bp.get("/waves/<code>/points/<point_code>/qr.<fmt>")
@roles_required(ADMIN)
def point_qr(code: str, point_code: str, fmt: str):
    """The point's QR code as PNG or SVG (what the posters carry)."""
    from survey.admin.downloads import qr_code

    wave = _wave_or_404(code)
    point = _point_or_404(wave, point_code)
    if fmt not in ("png", "svg"):
        abort(404, description=_("QR codes come as .png or .svg."))
    data, content_type = qr_code(point, fmt, current_app.config["PUBLIC_BASE_URL"])
    return FlaskResponse(
        data,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{wave.code}-{point.code}.{fmt}"'},
    )


@bp.get("/waves/<code>/points/<point_code>/poster.pdf")
@roles_required(ADMIN)
def point_poster(code: str, point_code: str):
    """The point's printable A4 poster."""
    from survey.admin.downloads import poster_pdf
    from survey.posters import PosterError

    wave = _wave_or_404(code)
    point = _point_or_404(wave, point_code)
    try:
        data = poster_pdf(point, current_app.config["PUBLIC_BASE_URL"])
    except PosterError as error:
        abort(503, description=str(error))
    return FlaskResponse(
        data,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{wave.code}-{point.code}-poster.pdf"'},
    )


# --------------------------------------------------------------------------- progress


@bp.get("/waves/<code>/progress")
@roles_required(ADMIN, STATISTICIAN)
def progress(code: str):
    wave = _wave_or_404(code)
    return render_template("admin/progress.html", wave=wave, progress=wave_progress(get_session(), wave))


# --------------------------------------------------------------------------- audit log


@bp.get("/audit")
@roles_required(ADMIN)
def audit_log():
    action = request.args.get("action", "")
    if action and action not in audit.ACTIONS and action not in {name.split(".")[0] for name in audit.ACTIONS}:
        action = ""
    username = request.args.get("user", "")[:80]
    page = request.args.get("page", 1, type=int) or 1
    events = audit.list_events(get_session(), action=action or None, username=username or None, page=page)
    families = sorted({name.split(".")[0] for name in audit.ACTIONS})
    return render_template("admin/audit.html", page=events, action=action, username=username, families=families)


# --------------------------------------------------------------------------- exports and imports


def _wave_codes() -> list[str]:
    return list(get_session().scalars(select(Wave.code).order_by(Wave.code.desc())))


@bp.route("/exports", methods=["GET", "POST"])
@roles_required(ADMIN, STATISTICIAN)
def exports():
    form = forms.ExportForm()
    form.wave.choices = forms.wave_choices(_wave_codes())
    if form.validate_on_submit():
        db = get_session()
        wave = _wave_or_404(form.wave.data)
        try:
            exported = export_wave(
                db,
                wave,
                form.format.data,
                include_partial=bool(form.include_partial.data),
                include_comments=bool(form.include_comments.data),
            )
        except ExportError as error:
            form.format.errors.append(str(error))
            return render_template("admin/exports.html", form=form), 400
        audit.record(
            db,
            "export",
            user=_user(),
            target=f"wave {wave.code}",
            detail={
                "format": form.format.data,
                "rows": exported.rows,
                "partial": bool(form.include_partial.data),
                "comments": bool(form.include_comments.data),
            },
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
    form = forms.ImportForm()
    form.wave.choices = forms.wave_choices(_wave_codes())
    if form.validate_on_submit():
        db = get_session()
        wave = _wave_or_404(form.wave.data)
        upload = form.file.data
        report = import_responses(
            db,
            wave,
            upload.read(),
            channel=form.channel.data,
            actor=_user(),
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


# --------------------------------------------------------------------------- publication


def _publication_rows(wave: Wave) -> list[dict[str, Any]]:
    rows = []
    for publication in revisions(get_session(), wave):
        results = results_of(publication)
        rows.append(
            {
                "publication": publication,
                "index": (results.get("overall") or {}).get("index"),
                "verdict": (results.get("target") or {}).get("verdict"),
                "files": len(file_names(get_session(), publication)),
            }
        )
    return rows


@bp.get("/publications")
@roles_required(STATISTICIAN, PUBLISHER)
def publications():
    """Every wave with its published revisions."""
    waves_and_rows = [(row, _publication_rows(row["wave"])) for row in _wave_rows()]
    return render_template("admin/publications.html", waves=waves_and_rows)


@bp.get("/waves/<code>/publication")
@roles_required(STATISTICIAN, PUBLISHER)
def publication(code: str):
    return _publication_page(_wave_or_404(code))


def _scoring_form(form_class: type[forms.ScoringForm], wave: Wave, **kwargs: Any) -> forms.ScoringForm:
    """A scoring (or publish) form with the office's margins and benchmarks files; on a
    fresh page the margins named after the wave and every benchmarks file are chosen."""
    form = form_class(**kwargs)
    margins, benchmarks = scoring_inputs(current_app.config["QUESTIONNAIRES_DIR"])
    form.margins.choices = forms.choices([("", _("none (unweighted)"))] + [(name, name) for name in margins])
    form.benchmarks.choices = forms.choices((name, name) for name in benchmarks)
    if kwargs.get("formdata", True) is None:
        form.margins.data = next((name for name in margins if wave.code in name), "")
        form.benchmarks.data = benchmarks
    return form


def _scoring_options(form: forms.ScoringForm) -> PublishOptions:
    folder = current_app.config["QUESTIONNAIRES_DIR"]
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
    submitted = get_session().scalar(
        select(func.count()).select_from(Response).where(Response.wave_id == wave.id, Response.state == "submitted")
    )
    return (
        render_template(
            "admin/publication.html",
            wave=wave,
            rows=_publication_rows(wave),
            form=form or _scoring_form(forms.PublishForm, wave, formdata=None),
            preview_form=preview_form or _scoring_form(forms.ScoringForm, wave, formdata=None, prefix="preview"),
            preview=preview,
            submitted=submitted or 0,
        ),
        status,
    )


@bp.post("/waves/<code>/preview")
@roles_required(STATISTICIAN, PUBLISHER)
def preview(code: str):
    """Score the wave now and show the main figures, without publishing anything."""
    wave = _wave_or_404(code)
    form = _scoring_form(forms.ScoringForm, wave, prefix="preview")
    if not form.validate_on_submit():
        return _publication_page(wave, preview_form=form, status=400)
    try:
        results = preview_wave(get_session(), wave, options=_scoring_options(form))
    except PublicationError as error:
        form.margins.errors.append(str(error))
        return _publication_page(wave, preview_form=form, status=400)
    db = get_session()
    language = select_locale()
    questionnaires = wave_questionnaires(wave)
    page = build_page(
        public_results(results),
        history=[],
        language=language,
        domain_titles={domain: q.title.get(language) for domain, q in questionnaires.domains.items()},
        town_names={
            town.code: (town.name_en if language == "en" else town.name_zh) for town in db.scalars(select(Town))
        },
    )
    return _publication_page(wave, preview_form=form, preview=page)


@bp.post("/waves/<code>/publish")
@roles_required(PUBLISHER)
def publish(code: str):
    """Score the wave and freeze the results as its next revision."""
    wave = _wave_or_404(code)
    form = _scoring_form(forms.PublishForm, wave)
    if not form.validate_on_submit():
        return _publication_page(wave, form=form, status=400)
    db = get_session()
    try:
        publication = publish_wave(
            db, wave, actor=_user(), reason=form.reason.data or "", options=_scoring_options(form)
        )
    except PublicationError as error:
        db.rollback()
        form.reason.errors.append(str(error))
        return _publication_page(wave, form=form, status=400)
    db.commit()
    flash(
        _("Wave %(code)s published (revision %(revision)s).", code=wave.code, revision=publication.revision), "success"
    )
    return redirect(url_for(".publication", code=wave.code), 303)


@bp.errorhandler(HTTPException)
def _office_error(error: HTTPException):
    """Errors inside the office screens say what was wrong in the office's own layout."""
    return render_template("admin/error.html", error=error), error.code
