"""Watching the collection and the office: a wave's live progress (administrators and
statisticians) and the audit log (administrators)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from scoring.vocabulary import LABELS
from survey.admin.base import ADMIN, STATISTICIAN, bp, roles_required, wave_or_404
from survey.db import get_session
from survey.services import audit
from survey.services.progress import wave_progress

#: Action families offered as a filter (``login``, ``account``, ``wave`` …).
ACTION_FAMILIES = sorted({name.split(".")[0] for name in audit.ACTIONS})

#: The audit log's actions and their families as the screen shows them (never the raw code).
ACTION_LABELS = {
    "login.success": _l("signed in"),
    "login.failure": _l("failed sign-in"),
    "logout": _l("signed out"),
    "account.create": _l("account created"),
    "account.reset_password": _l("password reset"),
    "account.change_password": _l("own password changed"),
    "account.disable": _l("account disabled"),
    "account.enable": _l("account enabled"),
    "wave.create": _l("wave created"),
    "wave.state": _l("wave opened or closed"),
    "wave.window": _l("wave opening times changed"),
    "wave.targets": _l("wave targets set"),
    "wave.settings": _l("wave analysis settings changed"),
    "point.create": _l("collection point created"),
    "point.update": _l("collection point changed"),
    "export": _l("responses exported"),
    "import": _l("responses imported"),
    "import.rejected": _l("import rejected"),
    "publication": _l("results published"),
    "indicator.record": _l("plan indicator value recorded"),
    "indicator.import": _l("plan indicator values imported"),
    "indicator.import.rejected": _l("plan indicator import rejected"),
    "retention.purge": _l("expired responses deleted"),
    "job.succeeded": _l("office job succeeded"),
    "job.failed": _l("office job failed"),
}
FAMILY_LABELS = {
    "account": _l("accounts"),
    "export": _l("exports"),
    "import": _l("imports"),
    "indicator": _l("plan indicators"),
    "job": _l("office jobs"),
    "login": _l("sign-ins"),
    "logout": _l("sign-outs"),
    "point": _l("collection points"),
    "publication": _l("publications"),
    "retention": _l("deleting expired responses"),
    "wave": _l("survey waves"),
}


def audit_value(value: Any) -> Any:
    """An audit detail value as the screen shows it: numbers to 2 decimals, everything else
    as recorded (lists and mappings as JSON)."""
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {key: audit_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [audit_value(item) for item in value]
    return value


@bp.get("/waves/<code>/progress")
@roles_required(ADMIN, STATISTICIAN)
def progress(code: str):
    wave = wave_or_404(code)
    return render_template(
        "admin/progress.html",
        wave=wave,
        progress=wave_progress(get_session(), wave),
        flag_labels=LABELS["exclusion"]["zh"] if _chinese() else LABELS["exclusion"]["en"],
    )


def _chinese() -> bool:
    from survey.web import select_locale

    return select_locale() != "en"


@bp.get("/audit")
@roles_required(ADMIN)
def audit_log():
    action = request.args.get("action", "")
    if action not in audit.ACTIONS and action not in ACTION_FAMILIES:
        action = ""
    username = request.args.get("user", "")[:80]
    page = request.args.get("page", 1, type=int) or 1
    events = audit.list_events(get_session(), action=action or None, username=username or None, page=page)
    return render_template(
        "admin/audit.html",
        page=events,
        action=action,
        username=username,
        families=ACTION_FAMILIES,
        family_labels=FAMILY_LABELS,
        action_labels=ACTION_LABELS,
        audit_value=audit_value,
    )
