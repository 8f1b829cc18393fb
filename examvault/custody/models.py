"""The custody log's tables: leaves in order, perfect-subtree hashes, signed checkpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from examvault.crypto.records import SealedTable, register
from examvault.db import Base, UTCDateTime, utcnow


class CustodyEvent(Base):
    """One leaf. `leaf` is the exact byte string hashed into the tree; the other columns index it."""

    __tablename__ = "custody_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    paper: Mapped[str | None] = mapped_column(String(60), index=True)
    package_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    counterpart: Mapped[str | None] = mapped_column(String(80))
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    # Retention: a purged event keeps only its leaf hash in `leaf`, so the tree and checkpoints still verify.
    purged: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustodyNode(Base):
    """Hash of the perfect subtree of leaves [index·2^level, (index+1)·2^level); level 0 = leaf hashes."""

    __tablename__ = "custody_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class CustodyCheckpoint(Base):
    __tablename__ = "custody_checkpoints"

    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustodyHead(Base):
    """One row, locked by every append: appends are serialised, so the tree never forks."""

    __tablename__ = "custody_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer, default=0)


class InstitutionKey(Base):
    """The institution's Ed25519 signing key, sealed under the packages domain key."""

    __tablename__ = "institution_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # the record version bound into the AAD
    verify_key: Mapped[str] = mapped_column(String(200))
    key_version: Mapped[int] = mapped_column(Integer)
    dek: Mapped[bytes] = mapped_column(LargeBinary)
    seed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


INSTITUTION_KEY = register(SealedTable(
    table=InstitutionKey.__table__,  # type: ignore[arg-type]
    domain="packages", aad_name="institution_key", id_column="id", version_column="version", fields=("seed",),
))  # fmt: skip
