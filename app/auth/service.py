"""Account services: add users, check passwords (argon2), issue and look up tokens, limit login attempts."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.auth.models import ROLES, ApiTokenRow, LoginAttemptRow, UserRow
from bot.storage import utcnow

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verifying against this when the user does not exist keeps the time the same: names do not leak.
    Made on first use: hashing on import cost every process (server, worker, command) 0.1 s of start-up."""
    return _hasher.hash("not a real password")


MIN_PASSWORD = 8


class AccountError(ValueError):
    """A user that cannot be added or changed as asked; the message says why."""


class LoginRateLimitedError(Exception):
    """Too many failed sign-ins for this name from this address; retry after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins: try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


def add_user(session: Session, *, name: str, role: str, password: str) -> User:
    """A new user; the name is unique and the password is stored only as an argon2 hash."""
    name = name.strip()
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if not name:
        raise AccountError("the user name is empty")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if session.scalars(select(UserRow).where(UserRow.name == name)).first() is not None:
        raise AccountError(f"a user named {name!r} already exists")
    row = UserRow(name=name, role=role, password_hash=_hasher.hash(password), active=True)
    session.add(row)
    session.flush()
    return User(row.id, row.name, row.role)


def issue_token(
    session: Session, *, name: str, password: str, address: str, ttl_minutes: int, attempts_per_minute: int
) -> IssuedToken | None:
    """A new bearer token for a correct name and password, None for a wrong one; raises when this name
    from this address failed too often in the last minute."""
    now = utcnow()
    window_start = now - timedelta(minutes=1)
    session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < now - timedelta(hours=1)))
    recent = session.scalars(
        select(func.count())
        .select_from(LoginAttemptRow)
        .where(
            LoginAttemptRow.name == name,
            LoginAttemptRow.address == address,
            LoginAttemptRow.at >= window_start,
        )
    ).one()
    if recent >= attempts_per_minute:
        raise LoginRateLimitedError(60)
    row = session.scalars(select(UserRow).where(UserRow.name == name, UserRow.active.is_(True))).first()
    if not _password_matches(row.password_hash if row else _dummy_hash(), password) or row is None:
        session.add(LoginAttemptRow(name=name[:120], address=address[:64], at=now))
        return None
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(minutes=ttl_minutes)
    session.add(ApiTokenRow(user_id=row.id, token_hash=_digest(token), created_at=now, expires_at=expires))
    return IssuedToken(token, expires, User(row.id, row.name, row.role))


def user_for_token(session: Session, *, token: str) -> User | None:
    """The active user a bearer token belongs to, None if unknown or expired."""
    found = session.execute(
        select(UserRow, ApiTokenRow)
        .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.id)
        .where(ApiTokenRow.token_hash == _digest(token), UserRow.active.is_(True))
    ).first()
    if found is None:
        return None
    user, stored = found.tuple()
    expires = stored.expires_at if stored.expires_at.tzinfo else stored.expires_at.replace(tzinfo=UTC)
    if expires <= utcnow():
        return None
    return User(user.id, user.name, user.role)


def revoke_token(session: Session, *, token: str) -> None:
    """Forget a token (sign out); an unknown token is already as good as revoked."""
    session.execute(delete(ApiTokenRow).where(ApiTokenRow.token_hash == _digest(token)))


def user_names(session: Session, *, roles: tuple[str, ...]) -> list[str]:
    """Names of the active users with one of `roles`, alphabetically (e.g. whom a ticket can go to)."""
    query = select(UserRow.name).where(UserRow.role.in_(roles), UserRow.active.is_(True))
    return list(session.scalars(query.order_by(UserRow.name)))


def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    # Tokens are long and random, so a plain SHA-256 suffices (no need for a slow hash).
    return hashlib.sha256(token.encode()).hexdigest()
