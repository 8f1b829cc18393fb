"""Rule sets kept as versioned documents in the bank (staffing rules, eligibility rules): the newest
applies, the packaged default becomes version 1 on first use, and every decision cites its version."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault.crypto.signing import canonical_json
from examvault.errors import ValidationError

T = TypeVar("T")


def digest_of(doc: Any) -> str:
    return hashlib.sha256(canonical_json(doc)).hexdigest()


def newest(session: Session, model: Any) -> Any:
    return session.scalars(select(model).order_by(model.version.desc()).limit(1)).first()


def current(session: Session, model: Any, *, parse: Callable[[Any, str], T], default: Callable[[], tuple[dict[str, Any], T]],
            what: str, actor: str | None = None) -> tuple[int, T]:  # fmt: skip
    """The newest version, parsed; without one, the default — stored as version 1 when `actor` writes."""
    row = newest(session, model)
    if row is not None:
        return row.version, parse(row.body, f"{what} v{row.version}")
    doc, parsed = default()
    if actor:
        session.add(model(version=1, body=doc, digest=digest_of(doc), created_by=actor))
        session.flush()
    return 1, parsed


def add_version(session: Session, model: Any, doc: dict[str, Any], actor: str, current_version: int) -> tuple[int, str]:
    version, digest = current_version + 1, digest_of(doc)
    session.add(model(version=version, body=doc, digest=digest, created_by=actor))
    return version, digest


def read_rule_file(path: Path, what: str) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: cannot read the {what} ({type(exc).__name__})") from None
