"""Office accounts: create, reset, disable.  Passwords are hashed with scrypt."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from survey.models import ROLES, User

_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,80}$")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A request about accounts that cannot be carried out (message says why)."""


def generate_password() -> str:
    """A random password a person can type: 4 groups of 4 letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def create_user(session: Session, username: str, role: str, password: str | None = None) -> tuple[User, str]:
    """Create an account; returns the user and its password (generated when not given)."""
    if not _USERNAME.match(username or ""):
        raise AccountError(f"user name {username!r} is not allowed: use 2–80 letters, digits, '_', '.' or '-'")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if find_user(session, username):
        raise AccountError(f"an account named {username!r} already exists; use reset-password to change its password")
    password = password or generate_password()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user = User(username=username, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user, password


def reset_password(session: Session, username: str, password: str | None = None) -> str:
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"no account named {username!r}")
    password = password or generate_password()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    user.session_version += 1
    return password
