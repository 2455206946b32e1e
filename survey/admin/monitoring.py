"""Watching the collection and the office: a wave's live progress (administrators and
statisticians) and the audit log (administrators)."""

from __future__ import annotations

from flask import render_template, request

from survey.admin.base import ADMIN, STATISTICIAN, bp, roles_required, wave_or_404
from survey.db import get_session
from survey.services import audit
from survey.services.progress import wave_progress

#: Action families offered as a filter (``login``, ``account``, ``wave`` …).
ACTION_FAMILIES = sorted({name.split(".")[0] for name in audit.ACTIONS})


@bp.get("/waves/<code>/progress")
@roles_required(ADMIN, STATISTICIAN)
def progress(code: str):
    wave = wave_or_404(code)
    return render_template("admin/progress.html", wave=wave, progress=wave_progress(get_session(), wave))


@bp.get("/audit")
@roles_required(ADMIN)
def audit_log():
    action = request.args.get("action", "")
    if action not in audit.ACTIONS and action not in ACTION_FAMILIES:
        action = ""
    username = request.args.get("user", "")[:80]
    page = request.args.get("page", 1, type=int) or 1
    events = audit.list_events(get_session(), action=action or None, username=username or None, page=page)
    return render_template("admin/audit.html", page=events, action=action, username=username, families=ACTION_FAMILIES)
