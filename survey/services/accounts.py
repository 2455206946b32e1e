"""Office accounts: create, reset, disable, enable, change one's own password.

Passwords are hashed with scrypt (werkzeug's ``scrypt:32768:8:1``; the setting
``PASSWORD_HASH_METHOD`` may name other scrypt parameters, which the test suite uses to
make its thousands of accounts cheaply).  The office operations (:func:`add_account`,
:func:`reset_account_password`, :func:`set_account_active`, :func:`change_own_password`)
validate, change and write the audit record, for the admin screens and the ``manyi
users`` commands alike; the caller commits.  :func:`create_user` and :func:`reset_password`
are the unaudited steps they are made of (also used by test fixtures).
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache

from flask import current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from survey.models import ROLES, User, utcnow
from survey.services import audit
from survey.services.audit import Actor
from survey.services.passwords import DEFAULT_PASSWORD_HASH_METHOD, password_problem
from survey.services.passwords import MIN_PASSWORD_LENGTH as MIN_PASSWORD_LENGTH  # the forms use it

_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,80}$")


class AccountError(ValueError):
    """A request about accounts that cannot be carried out (message says why)."""


def generate_password() -> str:
    """A random password a person can type: 4 groups of 4 letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def password_hash_method() -> str:
    """The app's ``PASSWORD_HASH_METHOD`` (an scrypt method), else the default."""
    if has_app_context():
        method = str(current_app.config.get("PASSWORD_HASH_METHOD") or DEFAULT_PASSWORD_HASH_METHOD)
        if not method.startswith("scrypt:"):
            raise ValueError(
                f"PASSWORD_HASH_METHOD {method!r} is not scrypt; use e.g. {DEFAULT_PASSWORD_HASH_METHOD!r}"
            )
        return method
    return DEFAULT_PASSWORD_HASH_METHOD


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=password_hash_method())


def verify_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session) -> list[User]:
    """Every account, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def _validate_password(password: str, *, username: str) -> None:
    """Refuse a weak password chosen by a person (length, common list, user name)."""
    problem = password_problem(password, username=username)
    if problem is not None:
        raise AccountError(problem)


# --------------------------------------------------------------------------- unaudited steps


def create_user(session: Session, username: str, role: str, password: str | None = None) -> tuple[User, str]:
    """Create an account; returns the user and its password (generated when not given)."""
    if not _USERNAME.match(username or ""):
        raise AccountError(f"user name {username!r} is not allowed: use 2–80 letters, digits, '_', '.' or '-'")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if find_user(session, username):
        raise AccountError(f"an account named {username!r} already exists; use reset-password to change its password")
    if password is None:
        password = generate_password()
    else:
        _validate_password(password, username=username)
    user = User(username=username, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user, password


def reset_password(session: Session, username: str, password: str | None = None) -> str:
    """Set a new (generated) password and sign out every session of the account."""
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"no account named {username!r}")
    if password is None:
        password = generate_password()
    else:
        _validate_password(password, username=username)
    user.password_hash = hash_password(password)
    user.session_version += 1
    return password


# --------------------------------------------------------------------------- office operations


def add_account(session: Session, username: str, role: str, *, actor: Actor) -> tuple[User, str]:
    """Create an account with a generated password; returns the user and the password
    (to be shown once, never stored or logged in clear)."""
    user, password = create_user(session, username, role)
    audit.record(
        session, "account.create", actor=actor, target=audit.account_target(user.username), detail={"role": role}
    )
    return user, password


def reset_account_password(session: Session, username: str, *, actor: Actor) -> str:
    """Give an account a new generated password and sign out its sessions."""
    password = reset_password(session, username)
    audit.record(session, "account.reset_password", actor=actor, target=audit.account_target(username))
    return password


def _lock_active_admins(session: Session) -> int:
    """How many administrators are active, counted after locking their rows until the
    transaction ends.

    Two administrators disabling each other at the same moment must not both succeed.
    The rows are locked with a write that changes nothing: a row lock on PostgreSQL,
    where the second request then waits for the first to commit and counts one
    administrator fewer; the database's write lock on SQLite, where ``FOR UPDATE`` does
    not exist.
    """
    still_admin = (User.role == "admin", User.active.is_(True))
    session.execute(update(User).where(*still_admin).values(active=True).execution_options(synchronize_session=False))
    return session.scalar(select(func.count()).select_from(User).where(*still_admin)) or 0


def set_account_active(session: Session, username: str, active: bool, *, actor: Actor) -> User:
    """Disable (signing out every session of the account) or re-enable an account.

    Refused for one's own account and for the last active administrator.
    """
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"no account named {username!r}")
    if isinstance(actor, User) and actor.id == user.id and not active:
        raise AccountError("you cannot disable your own account; ask another administrator")
    if not active and user.role == "admin":
        active_admins = _lock_active_admins(session)
        session.refresh(user)  # as committed now, not as read before the lock
        if user.active and active_admins <= 1:
            raise AccountError(
                f"{username!r} is the last active administrator; create or enable another administrator first"
            )
    if user.active != active:
        user.active = active
        user.session_version += 1
        audit.record(
            session,
            "account.enable" if active else "account.disable",
            actor=actor,
            target=audit.account_target(username),
        )
    session.flush()
    return user


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    """A hash to check unknown user names against, so both take the same time."""
    return generate_password_hash(secrets.token_hex(16), method=method)


def sign_in(session: Session, username: str, password: str) -> User | None:
    """The account when ``username`` and ``password`` let it in now, else None; the
    attempt is recorded either way (a failure with why: unknown name, wrong password,
    disabled account).  The caller commits."""
    user = find_user(session, username)
    if user is None:
        check_password_hash(_dummy_hash(password_hash_method()), password)
        valid = False
    else:
        valid = verify_password(user, password)
    if valid and user is not None and user.active:
        user.last_login_at = utcnow()
        audit.record(session, "login.success", actor=user, target=audit.account_target(user.username))
        return user
    reason = "unknown user name" if user is None else ("account disabled" if valid else "wrong password")
    audit.record(
        session,
        "login.failure",
        username=user.username if user is not None else "",
        target=audit.account_target(user.username) if user is not None else "",
        detail={"reason": reason},
    )
    return None


def sign_out(session: Session, user: User) -> None:
    """End every session of ``user`` on the server (its session version moves on, so a
    saved session cookie no longer loads the account) and record it.  The caller commits
    and clears the cookie."""
    user.session_version += 1
    audit.record(session, "logout", actor=user, target=audit.account_target(user.username))
    session.flush()


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """Change the signed-in user's password after checking the current one."""
    if not verify_password(user, current):
        raise AccountError("the current password is not right; type it again")
    problem = password_problem(new, username=user.username)
    if problem is not None:
        raise AccountError(f"new password: {problem}")
    if new == current:
        raise AccountError("the new password must differ from the current one")
    user.password_hash = hash_password(new)
    user.session_version += 1
    audit.record(session, "account.change_password", actor=user, target=audit.account_target(user.username))
    session.flush()
