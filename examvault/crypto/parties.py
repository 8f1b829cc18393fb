"""Parties outside the bank, known by their public keys; and the key files a party makes for itself."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit, get_user
from examvault.bank import Bank
from examvault.crypto import age
from examvault.crypto.models import Party
from examvault.crypto.signing import SigningKey, VerifyKey, check_name
from examvault.db import utcnow
from examvault.errors import ConflictError, NotFoundError, ValidationError

PARTY_ROLES = ("printer", "examiner", "site", "courier", "officer", "approver")
# Which role may receive which kind of package.
RECEIVES = {"paper": ("printer",), "marking-key": ("examiner",), "electronic": ("site",)}


def write_private(path: Path, data: bytes) -> None:
    """A new file only its owner can read; an existing one is never overwritten."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def new_keys(out: Path, passphrase: str) -> dict[str, str]:
    """On the party's own machine, no bank needed: an age identity, a sealed signing key, and the public halves."""
    name = check_name(out.name, "party name (the last part of --out)")
    paths = {k: out.with_name(f"{name}.{k}") for k in ("age-key", "sign-key", "age.pub", "vkey")}
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing:
        raise ConflictError(f"{', '.join(existing)} already exist; keys are never overwritten")
    out.parent.mkdir(parents=True, exist_ok=True)
    identity = age.Identity.generate()
    signing = SigningKey.generate(name)
    sign_text = signing.file_text(passphrase)  # checks the passphrase before anything is written
    write_private(paths["age-key"], identity.file_text().encode())
    write_private(paths["sign-key"], sign_text.encode())
    paths["age.pub"].write_text(f"{identity.recipient()}\n", encoding="utf-8")
    paths["vkey"].write_text(f"{signing.verify_key}\n", encoding="utf-8")
    return {"name": name, "recipient": str(identity.recipient()), "verify_key": str(signing.verify_key)} | {
        k.replace(".", "_").replace("-", "_"): str(p) for k, p in paths.items()
    }


def _summary(p: Party) -> dict[str, Any]:
    return {"name": p.name, "role": p.role, "recipient": p.age_recipient, "verify_key": p.verify_key,
            "display_name": p.display_name, "created_by": p.created_by, "created_at": p.created_at.isoformat(),
            "revoked_at": p.revoked_at.isoformat() if p.revoked_at else None, "revoked_reason": p.revoked_reason}  # fmt: skip


def add_party(bank: Bank, name: str, role: str, *, recipient: str | None, verify_key: str, display_name: str = "") -> dict[str, Any]:
    if role not in PARTY_ROLES:
        raise ValidationError(f"--role {role!r}: roles are {', '.join(PARTY_ROLES)}")
    if name.startswith("examvault-"):
        raise ValidationError(f"party name {name!r}: names starting with 'examvault-' are the institution's")
    vk = VerifyKey.parse(verify_key, "--verify-key")
    if vk.name != name:
        raise ValidationError(f"the verifier key is for {vk.name!r}, not {name!r}: register the party under the name its keys were made for")
    if recipient is not None:
        recipient = str(age.Recipient.parse(recipient, "--recipient"))
    elif role in {r for roles in RECEIVES.values() for r in roles} | {"officer"}:
        raise ValidationError(f"a {role} receives sealed files: give its age recipient (--recipient age1…)")
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "party.manage")
        if session.scalar(select(Party.id).where(Party.name == name)) is not None:
            raise ConflictError(f"party {name!r} is already registered")
        if role == "approver":
            approver = get_user(session, name)
            if "approver" not in approver.roles:
                raise ValidationError(f"user {name!r} is not an approver; an approver's signing key is registered under their user name")
        party = Party(name=name, role=role, age_recipient=recipient, verify_key=str(vk), display_name=display_name, created_by=user.username)
        session.add(party)
        session.flush()
        audit(session, user, "party.add", "party", name, role=role, key_id=vk.key_id)
        return _summary(party)


def revoke_party(bank: Bank, name: str, reason: str) -> dict[str, Any]:
    """From now on the party receives no package and its statements are refused; what it signed before stays verifiable."""
    if not reason.strip():
        raise ValidationError("say why the party is revoked (--reason); it is kept in the audit trail")
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "party.manage")
        p = party(session, name)
        p.revoked_at, p.revoked_reason = utcnow(), reason.strip()
        audit(session, user, "party.revoke", "party", name, reason=p.revoked_reason)
        return _summary(p)


def list_parties(bank: Bank, role: str | None = None) -> list[dict[str, Any]]:
    with bank.transaction() as session:
        bank.actor(session, "party.list")
        q = select(Party).order_by(Party.role, Party.name)
        if role:
            q = q.where(Party.role == role)
        return [_summary(p) for p in session.scalars(q)]


def party(session: Session, name: str, roles: tuple[str, ...] | None = None) -> Party:
    p = session.scalars(select(Party).where(Party.name == name)).first()
    if p is None or p.revoked_at is not None:
        raise NotFoundError(f"no registered party {name!r}" + (" (it was revoked)" if p is not None else "; add it with `examvault party add`"))
    if roles and p.role not in roles:
        raise ValidationError(f"party {name!r} has the role {p.role}; this needs the role {' or '.join(roles)}")
    return p
