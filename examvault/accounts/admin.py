"""User and audit actions on a bank, for the CLI and the HTTP API alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from examvault.accounts.service import add_user, audit, list_audit, list_users
from examvault.bank import Bank


def create_user(bank: Bank, username: str, roles: Sequence[str], display_name: str = "") -> dict[str, Any]:
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "user.manage")
        user = add_user(session, username, roles, display_name)
        audit(session, actor, "user.add", "user", username, roles=sorted(user.roles))
        return {"username": user.username, "name": user.display_name, "roles": sorted(user.roles)}


def users(bank: Bank) -> list[dict[str, Any]]:
    with bank.transaction() as session:
        bank.actor(session, "user.manage")
        return [
            {"username": u.username, "name": u.display_name, "roles": sorted(u.roles), "active": u.active}
            for u in list_users(session)
        ]


def audit_trail(
    bank: Bank,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Audit events, newest first; supervisors and admins only."""
    with bank.transaction() as session:
        bank.actor(session, "audit.read")
        return [
            {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "target_type": e.target_type,
             "target_id": e.target_id, "details": e.details}
            for e in list_audit(session, actor=actor, action=action, target=target, since=since, limit=limit)
        ]  # fmt: skip
