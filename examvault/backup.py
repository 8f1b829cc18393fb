"""Backup and restore of a whole bank, ciphertext and wrapped keys included.

The backup is a logical dump (gzip'd JSON lines), so a bank can move between
SQLite and PostgreSQL. It holds no plaintext content and no unwrapped key: a restore
elsewhere opens nothing without the passphrase or the shares, and it refuses to
finish unless they unlock the restored bank and its MAC verifies.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import uuid
import zlib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from examvault import db
from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.errors import ConfigurationError, IntegrityError, ValidationError
from examvault.schema import metadata

FORMAT = "examvault-backup"
VERSION = 1
_MAC_LABEL = "examvault/backup-mac/v1"


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"b": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"da": value.isoformat()}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, (dict, list)):
        return {"j": value}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        ((kind, raw),) = value.items()
        return {
            "b": lambda r: base64.b64decode(r),
            "dt": datetime.fromisoformat,
            "da": date.fromisoformat,
            "d": Decimal,
            "u": uuid.UUID,
            "j": lambda r: r,
        }[kind](raw)
    return value


def _self_parent(table: Table) -> str | None:
    for fk in table.foreign_keys:
        if fk.column.table is table:
            return fk.parent.name
    return None


def _ordered(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parents before children in self-referencing tables (items, outline nodes)."""
    col = _self_parent(table)
    if col is None:
        return rows
    pk = next(iter(table.primary_key.columns)).name
    placed: set[Any] = set()
    out: list[dict[str, Any]] = []
    pending = rows
    while pending:
        ready = [r for r in pending if r[col] is None or r[col] in placed]
        if not ready:
            raise IntegrityError(f"backup: table {table.name} has rows whose parent is missing")
        out.extend(ready)
        placed.update(r[pk] for r in ready)
        pending = [r for r in pending if r[pk] not in placed]
    return out


def backup(bank: Bank, out: Path) -> dict[str, Any]:
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "bank.backup")
        keyring = bank.keyring(session)
        audit(session, user, "bank.backup", "file", out.name)
        session.flush()
        digest = hashlib.sha256()
        counts: dict[str, int] = {}
        tables = metadata.sorted_tables
        header = {
            "format": FORMAT,
            "version": VERSION,
            "bank_id": str(keyring.bank_id),
            "schema_revision": db.current_revision(bank.engine) or db.head_revision(),
            "created_at": db.utcnow().isoformat(),
            "columns": {t.name: [c.name for c in t.columns] for t in tables},
        }
        tmp = out.with_name(out.name + ".part")
        with gzip.open(tmp, "wb") as fh:

            def emit(obj: Any) -> None:
                line = (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
                digest.update(line)
                fh.write(line)

            emit(header)
            for t in tables:
                counts[t.name] = 0
                for row in session.execute(select(t)):
                    emit({"t": t.name, "r": [_encode(v) for v in row]})
                    counts[t.name] += 1
            sha = digest.digest()
            mac = hmac.new(keyring.derive(_MAC_LABEL), sha, "sha256").hexdigest()
            fh.write((json.dumps({"end": True, "rows": counts, "sha256": sha.hex(), "mac": mac}) + "\n").encode())
        tmp.replace(out)
    return {"file": str(out), "rows": counts, "sha256": sha.hex()}


def _read(path: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], dict[str, Any], bytes]:
    if not path.is_file():
        raise ValidationError(f"{path}: no such backup file")
    digest = hashlib.sha256()
    rows: dict[str, list[dict[str, Any]]] = {}
    header: dict[str, Any] | None = None
    trailer: dict[str, Any] | None = None
    try:
        fh: IO[bytes]
        with gzip.open(path, "rb") as fh:
            for n, line in enumerate(fh, start=1):
                if trailer is not None:
                    raise IntegrityError(f"{path.name}: data after the end marker (line {n})")
                obj = json.loads(line)
                if n == 1:
                    if obj.get("format") != FORMAT:
                        raise ValidationError(f"{path.name}: not an examvault backup")
                    header = obj
                elif obj.get("end"):
                    trailer = obj
                    continue
                else:
                    cols = header["columns"][obj["t"]]  # type: ignore[index]
                    rows.setdefault(obj["t"], []).append(dict(zip(cols, [_decode(v) for v in obj["r"]], strict=True)))
                digest.update(line)
    except (OSError, EOFError, zlib.error, json.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
        raise IntegrityError(f"{path.name}: backup is damaged or truncated ({type(exc).__name__})") from None
    if header is None or trailer is None:
        raise IntegrityError(f"{path.name}: backup is truncated (no end marker)")
    sha = digest.digest()
    if not hmac.compare_digest(sha.hex(), trailer.get("sha256", "")):
        raise IntegrityError(f"{path.name}: backup content does not match its checksum")
    return header, rows, trailer, sha


def restore(bank: Bank, path: Path) -> dict[str, Any]:
    """Restore into an empty database; verify with the bank's own keys before committing."""
    header, rows, trailer, sha = _read(path)
    if db.has_bank(bank.engine):
        raise ConfigurationError(f"{bank.engine.url!r} already holds a bank; restore only into an empty database")
    db.upgrade(bank.engine, header["schema_revision"])
    try:
        with bank.transaction() as session:
            for t in reversed(metadata.sorted_tables):  # rows the migrations seed (the custody head) come from the backup
                session.execute(t.delete())
            for t in metadata.sorted_tables:
                batch = _ordered(t, rows.get(t.name, []))
                for i in range(0, len(batch), 2000):
                    session.execute(insert(t), batch[i : i + 2000])
            keyring = bank.keyring(session)  # the restored bank's own passphrase or shares
            expected = hmac.new(keyring.derive(_MAC_LABEL), sha, "sha256").hexdigest()
            if not hmac.compare_digest(expected, trailer.get("mac", "")):
                raise IntegrityError(f"{path.name}: backup MAC does not verify under this bank's key; it was altered")
            _reset_sequences(session)
            user = bank.actor(session, "bank.backup")
            audit(session, user, "bank.restore", "file", path.name, rows=trailer["rows"], bank_id=header["bank_id"])
    except BaseException:
        bank.forget_keys()
        db.drop_schema(bank.engine)
        raise
    db.upgrade(bank.engine)
    return {"file": str(path), "bank_id": header["bank_id"], "rows": trailer["rows"]}


def _reset_sequences(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    for t in metadata.sorted_tables:
        pk = list(t.primary_key.columns)
        if len(pk) == 1 and pk[0].autoincrement is not False and pk[0].type.python_type is int:
            session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{t.name}', '{pk[0].name}'), "
                     f"COALESCE((SELECT MAX({pk[0].name}) FROM {t.name}), 0) + 1, false)")
            )
