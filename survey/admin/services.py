"""Office operations shared by the admin screens and the ``manyi`` command line.

Each wraps the shared service layer (``survey.services.accounts``, ``survey.services.waves``)
with the audit record and the checks the office needs (the last administrator cannot be
disabled; a point edit is validated like a new point).  The caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scoring.questionnaire import DOMAIN_IDS
from survey.models import CollectionPoint, Town, User, Wave
from survey.services import accounts, audit
from survey.services.accounts import MIN_PASSWORD_LENGTH, AccountError
from survey.services.waves import WaveError


def _actor_fields(actor: User | str) -> dict[str, Any]:
    return {"user": actor} if isinstance(actor, User) else {"username": actor}


# --------------------------------------------------------------------------- accounts


def add_account(session: Session, username: str, role: str, *, actor: User | str) -> tuple[User, str]:
    """Create an account with a generated password; returns the user and the password
    (to be shown once, never stored or logged in clear)."""
    user, password = accounts.create_user(session, username, role)
    audit.record(
        session, "account.create", target=f"account {user.username}", detail={"role": role}, **_actor_fields(actor)
    )
    return user, password


def reset_account_password(session: Session, username: str, *, actor: User | str) -> str:
    """Give an account a new generated password and sign out its sessions."""
    password = accounts.reset_password(session, username)
    audit.record(session, "account.reset_password", target=f"account {username}", **_actor_fields(actor))
    return password


def _active_admins(session: Session) -> int:
    return (
        session.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))) or 0
    )


def set_account_active(session: Session, username: str, active: bool, *, actor: User | str) -> User:
    """Disable (signing out every session of the account) or re-enable an account."""
    user = accounts.find_user(session, username)
    if user is None:
        raise AccountError(f"no account named {username!r}")
    if isinstance(actor, User) and actor.id == user.id and not active:
        raise AccountError("you cannot disable your own account; ask another administrator")
    if not active and user.active and user.role == "admin" and _active_admins(session) <= 1:
        raise AccountError(
            f"{username!r} is the last active administrator; create or enable another administrator first"
        )
    if user.active != active:
        user.active = active
        user.session_version += 1
        audit.record(
            session,
            "account.enable" if active else "account.disable",
            target=f"account {username}",
            **_actor_fields(actor),
        )
    session.flush()
    return user


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """Change the signed-in user's password after checking the current one."""
    if not accounts.verify_password(user, current):
        raise AccountError("the current password is not right; type it again")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the new password must have at least {MIN_PASSWORD_LENGTH} characters")
    if new == current:
        raise AccountError("the new password must differ from the current one")
    user.password_hash = accounts.hash_password(new)
    user.session_version += 1
    audit.record(session, "account.change_password", user=user, target=f"account {user.username}")
    session.flush()


# --------------------------------------------------------------------------- points


def update_point(
    session: Session,
    point: CollectionPoint,
    *,
    town: str,
    place: str,
    focus_domain: str | None,
    active: bool,
    actor: User | str,
) -> CollectionPoint:
    """Change a point's town, place, focus domain or whether it accepts responses.

    The code and token never change: printed posters keep working.
    """
    if session.get(Town, town) is None:
        known = ", ".join(session.scalars(select(Town.code).order_by(Town.sort_order)).all())
        raise WaveError(f"unknown town {town!r}; known towns: {known}")
    place = (place or "").strip()
    if not place:
        raise WaveError("the place name must not be empty (e.g. 区人民医院门诊大厅)")
    if len(place) > 200:
        raise WaveError("the place name is longer than 200 characters; shorten it")
    if focus_domain is not None and focus_domain not in DOMAIN_IDS:
        raise WaveError(f"unknown domain {focus_domain!r}; use one of {', '.join(DOMAIN_IDS)}")
    before = {"town": point.town_code, "place": point.place, "focus_domain": point.focus_domain, "active": point.active}
    after = {"town": town, "place": place, "focus_domain": focus_domain, "active": active}
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changes:
        point.town_code, point.place, point.focus_domain, point.active = town, place, focus_domain, active
        audit.record(
            session,
            "point.update",
            target=f"wave {point.wave.code} point {point.code}",
            detail={"changes": changes},
            **_actor_fields(actor),
        )
    session.flush()
    return point


# --------------------------------------------------------------------------- targets


def validate_targets(session: Session, targets: Mapping[str, Any]) -> dict[str, Any]:
    """Check a targets mapping ``{"total": n, "domains": {...}, "towns": {...}}``.

    Numbers must be whole and not negative; domain and town keys must exist.  Empty
    entries are dropped.  Returns the cleaned mapping.
    """
    unknown_keys = set(targets) - {"total", "domains", "towns", "source"}
    if unknown_keys:
        raise WaveError(f"unknown target entries {sorted(unknown_keys)}; use total, domains and towns")

    def count(value: Any, where: str) -> int:
        if isinstance(value, bool):
            raise WaveError(f"target for {where} must be a whole number, not {value!r}")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise WaveError(f"target for {where} must be a whole number, not {value!r}") from None
        if number != value and str(number) != str(value).strip():
            raise WaveError(f"target for {where} must be a whole number, not {value!r}")
        if number < 0:
            raise WaveError(f"target for {where} must not be negative (got {number})")
        return number

    cleaned: dict[str, Any] = {}
    if targets.get("total") not in (None, ""):
        cleaned["total"] = count(targets["total"], "the whole wave")
    towns = set(session.scalars(select(Town.code)).all())
    for key, known, label in (("domains", set(DOMAIN_IDS), "domain"), ("towns", towns, "town")):
        values = targets.get(key) or {}
        if not isinstance(values, Mapping):
            raise WaveError(f"targets.{key} must map each {label} to a number")
        entries = {}
        for name, value in values.items():
            if name not in known:
                raise WaveError(f"unknown {label} {name!r} in the targets; use one of {', '.join(sorted(known))}")
            if value in (None, ""):
                continue
            entries[name] = count(value, f"{label} {name}")
        if entries:
            cleaned[key] = entries
    if targets.get("source"):
        cleaned["source"] = str(targets["source"])[:200]
    return cleaned


def set_targets(session: Session, wave: Wave, targets: Mapping[str, Any], *, actor: User | str) -> Wave:
    """Store a wave's target sample sizes (validated) and audit the change."""
    cleaned = validate_targets(session, targets)
    wave.targets = cleaned or None
    audit.record(
        session, "wave.targets", target=f"wave {wave.code}", detail={"targets": cleaned}, **_actor_fields(actor)
    )
    session.flush()
    return wave
