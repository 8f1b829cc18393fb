"""Passwords, lockout, console sessions and API tokens: how a person or a script proves who it is
to the HTTP service. The CLI (`examvault user password`, `examvault token …`) and the API call these.

- Passwords: Argon2id with the OWASP minimum (m = 19 MiB, t = 2, p = 1), argon2-cffi's encoded form,
  rehashed on login when the parameters are raised.
- Lockout: `MAX_FAILURES` wrong passwords in a row lock the account for `LOCKOUT`; kept in the
  database, so every server instance sees it.
- Tokens: 256 random bits; only their SHA-256 is stored. A console session lapses after
  `SESSION_IDLE` without use and `SESSION_MAX` after login; API tokens at their expiry date.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from examvault.accounts.models import AuthToken, User, UserRole
from examvault.accounts.service import audit, get_user
from examvault.bank import Bank
from examvault.db import utcnow
from examvault.errors import ExamvaultError, NotFoundError, PermissionDenied, ValidationError

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_PASSWORD = 10
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=8)
TOUCH_EVERY = timedelta(seconds=60)  # last use is written at most this often: a read is not a write
API_TOKEN_DAYS = 90
# A hash to check against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash("examvault: no such user")


class LoginFailed(ExamvaultError):
    """Wrong name or password, an expired or revoked token: the same message for all, on purpose."""

    exit_code = 6
    http_status = 401


class AccountLocked(ExamvaultError):
    exit_code = 6
    http_status = 423


@dataclass(frozen=True)
class Identity:
    """Who a request acts as. Roles are read from the database on every request, so a role taken
    away takes effect at once."""

    username: str
    roles: frozenset[str]
    token_id: int
    kind: str  # session | api
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"password: at least {MIN_PASSWORD} characters are needed, {len(password)} given")
    if len(password) > 1024:
        raise ValidationError("password: at most 1024 characters")


def set_password(bank: Bank, username: str, password: str) -> None:
    """An admin sets anyone's password; a user their own. Every session of that user ends."""
    _check_password(password)
    with bank.transaction(write=True) as session:
        actor = bank.actor(session)
        if actor.username != username and "admin" not in actor.roles:
            raise PermissionDenied(f"user {actor.username!r} may set only their own password; an admin sets others'")
        user = get_user(session, username)
        user.password_hash = HASHER.hash(password)
        user.failed_logins = 0
        user.locked_until = None
        session.execute(
            update(AuthToken).where(AuthToken.user_id == user.id, AuthToken.kind == "session", AuthToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )  # fmt: skip
        audit(session, actor, "user.password", "user", username)


def _new_token(session: Session, user: User, kind: str, name: str, expires_at: datetime) -> str:
    token = f"ev{kind[0]}_{secrets.token_urlsafe(32)}"
    session.add(AuthToken(user_id=user.id, kind=kind, name=name, token_hash=_digest(token), expires_at=expires_at))
    return token


def login(bank: Bank, username: str, password: str, *, client: str = "") -> tuple[str, datetime]:
    """A console session token for a right password. Failures count towards the lockout even when
    the action fails, so they are committed in a transaction of their own."""
    now = utcnow()
    with bank.transaction(write=True) as session:
        user = session.scalars(select(User).where(User.username == username).with_for_update()).first()
        if user is None or not user.active or not user.password_hash:
            with contextlib.suppress(VerificationError):  # spent only so that a wrong name takes as long
                HASHER.verify(_DUMMY_HASH, password + "\0")
            audit(session, username[:80] or "?", "auth.fail", "user", username[:80], client=client, reason="unknown or no password")
            failure: ExamvaultError = LoginFailed("wrong username or password")
        elif user.locked_until and user.locked_until > now:
            audit(session, user, "auth.fail", "user", username, client=client, reason="locked")
            failure = AccountLocked(f"account {username!r} is locked after {MAX_FAILURES} wrong passwords; "
                                    f"try again after {user.locked_until:%H:%M} UTC or ask an admin to reset it")  # fmt: skip
        else:
            try:
                HASHER.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                user.failed_logins += 1
                locked = user.failed_logins >= MAX_FAILURES
                if locked:
                    user.locked_until = now + LOCKOUT
                    user.failed_logins = 0
                audit(session, user, "auth.lockout" if locked else "auth.fail", "user", username, client=client,
                      reason="wrong password")  # fmt: skip
                failure = LoginFailed("wrong username or password")
            else:
                if HASHER.check_needs_rehash(user.password_hash):
                    user.password_hash = HASHER.hash(password)
                user.failed_logins = 0
                user.locked_until = None
                expires = now + SESSION_IDLE
                token = _new_token(session, user, "session", client[:80], expires)
                audit(session, user, "auth.login", "user", username, client=client)
                return token, expires
    raise failure


def authenticate(bank: Bank, token: str) -> Identity:
    """The identity behind a bearer token or session cookie, sliding a session's idle expiry."""
    if not token or len(token) > 100:
        raise LoginFailed("no valid session or API token: log in first")
    now = utcnow()
    with bank.transaction() as session:
        row = session.execute(
            select(AuthToken.id, AuthToken.kind, AuthToken.created_at, AuthToken.expires_at, AuthToken.last_used_at,
                   AuthToken.revoked_at, AuthToken.user_id, User.username, User.active)
            .join(User, User.id == AuthToken.user_id)
            .where(AuthToken.token_hash == _digest(token))
        ).first()  # fmt: skip
        if row is None or row.revoked_at is not None or row.expires_at <= now or not row.active:
            raise LoginFailed("the session has ended or the token is not valid: log in again")
        roles = frozenset(session.scalars(select(UserRole.role).where(UserRole.user_id == row.user_id)))
    expires = row.expires_at
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        values: dict[str, datetime] = {"last_used_at": now}
        if row.kind == "session":
            expires = values["expires_at"] = min(now + SESSION_IDLE, row.created_at + SESSION_MAX)
        with bank.transaction(write=True) as session:
            session.execute(update(AuthToken).where(AuthToken.id == row.id).values(**values))
    return Identity(row.username, roles, row.id, row.kind, expires)


def logout(bank: Bank, token_id: int) -> None:
    with bank.transaction(write=True) as session:
        user = bank.actor(session)
        session.execute(update(AuthToken).where(AuthToken.id == token_id).values(revoked_at=utcnow()))
        audit(session, user, "auth.logout", "user", user.username)


def create_api_token(bank: Bank, name: str, *, days: int = API_TOKEN_DAYS) -> dict[str, str]:
    """A token for a script acting as the calling user. It is shown once; the bank keeps its hash."""
    if not 1 <= days <= 366:
        raise ValidationError(f"days: an API token lives 1 to 366 days, {days} asked")
    if not name or len(name) > 80:
        raise ValidationError("name: 1 to 80 characters, saying what the script is for")
    with bank.transaction(write=True) as session:
        user = bank.actor(session)
        expires = utcnow() + timedelta(days=days)
        token = _new_token(session, user, "api", name, expires)
        audit(session, user, "auth.token.create", "user", user.username, name=name, days=days)
        return {"token": token, "name": name, "expires_at": expires.isoformat()}


def list_api_tokens(bank: Bank) -> list[dict[str, str | int | None]]:
    with bank.transaction() as session:
        user = bank.actor(session)
        rows = session.scalars(
            select(AuthToken).where(AuthToken.user_id == user.id, AuthToken.kind == "api").order_by(AuthToken.id)
        )
        return [
            {"id": t.id, "name": t.name, "created_at": t.created_at.isoformat(), "expires_at": t.expires_at.isoformat(),
             "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
             "revoked": t.revoked_at is not None}
            for t in rows
        ]  # fmt: skip


def revoke_api_token(bank: Bank, token_id: int) -> None:
    """Users revoke their own tokens; an admin anyone's."""
    with bank.transaction(write=True) as session:
        user = bank.actor(session)
        token = session.get(AuthToken, token_id)
        if token is None or token.kind != "api" or (token.user_id != user.id and "admin" not in user.roles):
            raise NotFoundError(f"no API token {token_id} of yours")
        token.revoked_at = token.revoked_at or utcnow()
        audit(session, user, "auth.token.revoke", "token", str(token_id))


def unlock_account(bank: Bank, username: str) -> None:
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "user.manage")
        user = get_user(session, username)
        user.failed_logins = 0
        user.locked_until = None
        audit(session, actor, "user.unlock", "user", username)
