"""Importing a marking key (评分标准及答案) from the sealed examiner package.

The package is opened with the examiner's own age identity and checked against the institution
key the bank holds: an unsigned or re-signed package, one addressed to someone else, a key for a
paper the session does not use, a package already imported and an older version than the one
on file are all refused. The key is stored sealed under the `marking` domain.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.assembly.models import Paper
from examvault.bank import Bank
from examvault.crypto.keyring import Keyring
from examvault.crypto.records import open_fields, row_of, seal_fields
from examvault.errors import ConflictError, IntegrityError, NotFoundError, ValidationError
from examvault.export import package as fmt
from examvault.export.recipient import load_identities, read_file
from examvault.itembank.domain import is_subjective
from examvault.registration.service import get_session
from examvault.scoring.models import MARKING_KEY, MarkingKey

KEY_SUFFIX = "_key.json"


def import_key(bank: Bank, path: Path, *, identity: Path, session_code: str, now: datetime | None = None) -> dict[str, Any]:
    """Open a marking-key package addressed to `identity` and store its key for the session's paper."""
    data = read_file(path, "package")
    identities = load_identities(identity)
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "scoring.key")
        from examvault.custody.service import institution_verify_key

        exam = get_session(session, session_code, lock=True)
        opened = fmt.open_package(data, trusted=institution_verify_key(session), now=now or datetime.now(UTC), identities=identities)
        kind, paper_code, version = opened.outer["kind"], str(opened.outer["paper"]), int(opened.outer["version"])
        if kind != "marking-key":
            raise ValidationError(f"{path.name} is a {kind} package, not a marking key")
        names = [n for n in opened.files if n.endswith(KEY_SUFFIX)]
        if len(names) != 1:
            raise IntegrityError(f"{path.name} holds no machine-readable key ({KEY_SUFFIX}); it was sealed by another system")
        try:
            key = json.loads(bytes(opened.files[names[0]]))
        except ValueError:
            raise IntegrityError(f"{path.name}: the key file inside is not valid JSON") from None
        papers = [p for p in exam.papers.split(",") if p]
        if paper_code not in papers or key.get("paper") != paper_code:
            raise ConflictError(f"{path.name} is the key of {paper_code}; session {session_code} uses {', '.join(papers) or 'no paper'}")
        paper = session.scalars(select(Paper).where(Paper.code == paper_code)).first()
        if paper is None or key.get("form") != paper.form:
            raise ConflictError(f"{path.name}: the key's form {key.get('form')!r} is not form {paper.form if paper else '?'} of {paper_code}")
        package_id = uuid.UUID(str(opened.outer["package_id"]))
        if session.scalars(select(MarkingKey.id).where(MarkingKey.package_id == package_id)).first():
            raise ConflictError(f"package {package_id} was already imported: a replay")
        newest = session.scalar(select(func.max(MarkingKey.version)).where(MarkingKey.paper == paper_code)) or 0
        if version <= newest:
            raise ConflictError(f"{path.name} is version {version} of {paper_code}'s key, but version {newest} is on file: an older key is refused")
        keyring = bank.keyring(session)
        kid = uuid.uuid4()
        items = key.get("items") or []
        session.add(MarkingKey(id=kid, paper=paper_code, form=paper.form, package_id=package_id, version=version, items=len(items),
                               total_points=float(key.get("total_points") or 0), imported_by=actor.username,
                               subjective=sum(1 for i in items if is_subjective(str(i.get("type")))),
                               **seal_fields(keyring, MARKING_KEY, str(kid), version, {"key": json.dumps(key).encode()})))  # fmt: skip
        audit(session, actor, "scoring.key.import", "paper", paper_code, package=str(package_id), version=version, exam_session=session_code)
        return {"paper": paper_code, "form": paper.form, "version": version, "items": len(items), "package": str(package_id)}


def current_key(session: Session, keyring: Keyring, paper: str) -> tuple[MarkingKey, dict[str, Any]]:
    row = session.scalars(select(MarkingKey).where(MarkingKey.paper == paper).order_by(MarkingKey.version.desc()).limit(1)).first()
    if row is None:
        raise NotFoundError(f"no marking key for {paper}: import it with `examvault key import FILE --identity … --session …`")
    return row, json.loads(open_fields(keyring, MARKING_KEY, row_of(MARKING_KEY, row))["key"] or b"{}")
