"""Encrypted records in the database: which tables hold them, and how they are sealed,
opened and rewrapped.

A table that stores ciphertext registers a `SealedTable`; rewrap and the key-version
census then work on every such table without knowing what the fields mean.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from examvault.crypto.envelope import open_record, seal_record
from examvault.crypto.keyring import Keyring
from examvault.db import transaction


@dataclass(frozen=True)
class SealedTable:
    table: Table
    domain: str
    aad_name: str  # the table's name inside the associated data
    id_column: str  # record id bound into the AAD
    version_column: str  # record version bound into the AAD
    fields: tuple[str, ...]
    pk_column: str = "id"
    key_version_column: str = "key_version"
    dek_column: str = "dek"


_REGISTRY: dict[str, SealedTable] = {}


def register(spec: SealedTable) -> SealedTable:
    _REGISTRY[spec.table.name] = spec
    return spec


def registered(domain: str | None = None) -> list[SealedTable]:
    import examvault.schema  # noqa: F401 - every model module registers its sealed tables on import

    return [s for s in _REGISTRY.values() if domain is None or s.domain == domain]


def seal_fields(
    keyring: Keyring, spec: SealedTable, record_id: str, version: int, fields: Mapping[str, bytes | None]
) -> dict[str, Any]:
    """Column values (key version, wrapped data key, one blob per field) for a new row."""
    key_version, domain_key = keyring.primary_key(spec.domain)
    wrapped, blobs = seal_record(domain_key, spec.aad_name, record_id, version, key_version, fields)
    return {spec.key_version_column: key_version, spec.dek_column: wrapped, **blobs}


def row_of(spec: SealedTable, obj: Any) -> dict[str, Any]:
    """The columns `open_fields` reads, from an ORM object of the sealed table."""
    names = (spec.id_column, spec.version_column, spec.key_version_column, spec.dek_column, *spec.fields)
    return {name: getattr(obj, name) for name in names}


def open_fields(
    keyring: Keyring, spec: SealedTable, row: Mapping[str, Any], fields: tuple[str, ...] | None = None
) -> dict[str, bytes | None]:
    key_version = row[spec.key_version_column]
    return open_record(
        keyring.key(spec.domain, key_version),
        spec.aad_name,
        str(row[spec.id_column]),
        row[spec.version_column],
        key_version,
        row[spec.dek_column],
        {name: row[name] for name in (fields or spec.fields)},
    )


def census(session: Session, domain: str) -> dict[str, dict[int, int]]:
    """How many records of each table use each key version."""
    out: dict[str, dict[int, int]] = {}
    for spec in registered(domain):
        col = spec.table.c[spec.key_version_column]
        rows = session.execute(select(col, func.count()).group_by(col))
        out[spec.table.name] = {int(v): int(n) for v, n in rows}
    return out


def rewrap(
    factory: sessionmaker[Session],
    keyring: Keyring,
    domain: str,
    *,
    batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Re-encrypt every record below the primary version, one short transaction per batch.

    Short batches keep the bank usable while this runs. A row changed meanwhile is
    skipped by the guarded UPDATE and picked up by the next pass.
    """
    done = 0
    for spec in registered(domain):
        t = spec.table
        kv = t.c[spec.key_version_column]
        while True:
            with transaction(factory, write=True) as session:
                keyring.pin(session, domain)
                primary = keyring.primary[domain]
                rows = session.execute(select(t).where(kv < primary).limit(batch_size)).mappings().all()
                if not rows:
                    break
                for row in rows:
                    plain = open_fields(keyring, spec, row)
                    values = seal_fields(keyring, spec, str(row[spec.id_column]), int(row[spec.version_column]), plain)
                    session.execute(
                        update(t)
                        .where(t.c[spec.pk_column] == row[spec.pk_column], kv == row[spec.key_version_column])
                        .values(**values)
                    )
                done += len(rows)
            if on_batch:
                on_batch(len(rows))
    return done


def seal_document(
    keyring: Keyring, spec: SealedTable, record_id: str, version: int, field: str, doc: Mapping[str, Any]
) -> dict[str, Any]:
    """A whole record of personal data as one sealed JSON field: adding a field needs no migration."""
    from examvault.crypto.signing import canonical_json

    return seal_fields(keyring, spec, record_id, version, {field: canonical_json(doc)})


def open_document(keyring: Keyring, spec: SealedTable, obj: Any, field: str) -> dict[str, Any]:
    """The JSON document sealed in `field` of an ORM object (see `seal_document`)."""
    import json

    raw = open_fields(keyring, spec, row_of(spec, obj), (field,))[field]
    return json.loads(raw) if raw else {}
