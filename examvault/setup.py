"""Creating a bank: schema, key hierarchy and first user, as one step."""

from __future__ import annotations

from typing import Any

from examvault import db
from examvault.accounts.service import add_user, audit
from examvault.crypto import keyring
from examvault.errors import ConflictError


def init_bank(
    url: str,
    passphrase: str,
    *,
    institution: str = "",
    admin: str = "admin",
    admin_roles: list[str] | None = None,
    schema: str | None = None,
) -> dict[str, Any]:
    roles = admin_roles or ["admin", "custodian"]
    keyring.check_passphrase(passphrase)  # fail before anything is created
    engine = db.open_engine(url, schema=schema)
    try:
        if db.has_bank(engine):
            raise ConflictError(f"{url} already holds a bank; use `examvault db upgrade` to migrate it")
        db.upgrade(engine)
        try:
            with db.transaction(db.session_factory(engine), write=True) as session:
                kr = keyring.create(session, passphrase, institution)
                add_user(session, admin, roles)
                audit(session, admin, "bank.init", "bank", str(kr.bank_id), institution=institution)
        except BaseException:
            db.drop_schema(engine)  # a half-made bank would refuse every later `init`
            raise
        return {"bank_id": str(kr.bank_id)}
    finally:
        engine.dispose()
