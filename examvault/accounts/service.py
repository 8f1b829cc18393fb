from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault.accounts.models import AuditEvent, User, UserRole
from examvault.accounts.roles import PERMISSIONS, ROLES, allowed
from examvault.db import bulk_insert, utcnow
from examvault.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError


def get_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise NotFoundError(f"no active user {username!r} in this bank (an admin adds users with `examvault user add`)")
    return user


def require(user: User, permission: str) -> None:
    require_roles(user.username, user.roles, permission)


def require_roles(username: str, roles: frozenset[str], permission: str) -> None:
    if not allowed(roles, permission):
        need = ", ".join(sorted(PERMISSIONS[permission]))
        have = ", ".join(sorted(roles)) or "no roles"
        raise PermissionDenied(f"user {username!r} ({have}) may not do {permission}; it needs one of: {need}")


def add_user(session: Session, username: str, roles: Sequence[str], display_name: str = "") -> User:
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise ValidationError(f"unknown role {bad[0]!r}; roles are {', '.join(ROLES)}")
    if not username or len(username) > 80:
        raise ValidationError("a username must have 1 to 80 characters")
    if session.scalars(select(User).where(User.username == username)).first():
        raise ConflictError(f"user {username!r} already exists")
    user = User(username=username, display_name=display_name, role_rows=[UserRole(role=r) for r in sorted(set(roles))])
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def audit(
    session: Session, actor: User | str, action: str, target_type: str = "", target_id: str = "", **details: Any
) -> None:
    session.add(
        AuditEvent(
            actor=actor if isinstance(actor, str) else actor.username,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
            at=utcnow(),
        )
    )


def audit_many(session: Session, actor: User, rows: list[dict[str, Any]]) -> None:
    """Bulk form for actions that touch thousands of records at once (an import)."""
    if rows:
        now = utcnow()
        base = {"at": now, "actor": actor.username, "action": "", "target_type": "", "target_id": "", "details": {}}
        bulk_insert(session, AuditEvent.__table__, [base | r for r in rows])


def list_audit(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[AuditEvent]:
    q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if actor:
        q = q.where(AuditEvent.actor == actor)
    if action:
        q = q.where(AuditEvent.action.startswith(action))
    if target:
        q = q.where(AuditEvent.target_id == target)
    if since:
        q = q.where(AuditEvent.at >= since)
    return list(session.scalars(q))
