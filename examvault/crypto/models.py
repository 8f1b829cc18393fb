"""Tables of the key hierarchy. Nothing stored here opens anything without the root key."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from examvault.db import Base, UTCDateTime, utcnow


class BankMeta(Base):
    """One row: the bank's identity and the check value of its root key."""

    __tablename__ = "bank_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[uuid.UUID] = mapped_column(Uuid, default=uuid.uuid4)
    institution: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # HMAC of a fixed label under the root key: tells "wrong key" from "corrupt data".
    root_check: Mapped[bytes] = mapped_column(LargeBinary)
    shares_threshold: Mapped[int | None] = mapped_column(Integer)
    shares_count: Mapped[int | None] = mapped_column(Integer)
    shares_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KeySlot(Base):
    """The root key wrapped under a passphrase-derived key."""

    __tablename__ = "key_slots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "passphrase"
    kdf_params: Mapped[dict[str, Any]] = mapped_column(JSON)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_root: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KeyPolicy(Base):
    """Per domain: which version encrypts new records and the lowest one still accepted."""

    __tablename__ = "key_policies"

    domain: Mapped[str] = mapped_column(String(40), primary_key=True)
    primary_version: Mapped[int] = mapped_column(Integer)
    min_version: Mapped[int] = mapped_column(Integer)


class DomainKey(Base):
    __tablename__ = "domain_keys"

    domain: Mapped[str] = mapped_column(String(40), ForeignKey("key_policies.domain"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Emptied when the version is retired below the minimum: crypto-erasure of old copies.
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Party(Base):
    """Someone outside the bank who receives packages or signs custody events: only public keys here."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # printer, examiner, site, courier, officer, approver
    age_recipient: Mapped[str | None] = mapped_column(String(100))
    verify_key: Mapped[str] = mapped_column(String(200))  # signed-note verifier key
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str] = mapped_column(String(400), default="")

