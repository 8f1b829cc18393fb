"""Blueprints, assembly runs, papers and item usage.

A paper row holds metadata only: which item version sits at which position, with
what points and option seed. The content stays sealed in `item_versions`; a form's
key is computed from it when a key holder asks (see forms.py). What a paper was
built from — the blueprint version, the seed, the solver and the eligible-item
snapshot — is kept on its `Assembly` so an auditor can re-derive it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examvault.db import Base, UTCDateTime, new_id, utcnow

PAPER_STATUSES = ("draft", "approved", "sealed", "used", "archived")


@dataclass(frozen=True)
class PaperMove:
    sources: tuple[str, ...]
    target: str
    permission: str


# draft → approved is `approve_paper` (two approvers). The rest, in one place: sealing comes
# with the packages (issue 5); a draft nobody will approve is archived rather than deleted.
PAPER_MOVES = {
    "seal": PaperMove(("approved",), "sealed", "paper.seal"),
    "use": PaperMove(("sealed",), "used", "paper.use"),
    "archive": PaperMove(("draft", "used"), "archived", "paper.archive"),
}


class Blueprint(Base):
    """One version of a 组卷方案; a changed document under the same id is a new version."""

    __tablename__ = "blueprints"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupations.id"))
    level: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    document: Mapped[str] = mapped_column(Text)  # normalised JSON; parse_blueprint(json.loads(...)) gives it back
    digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assembly(Base):
    """One solver run: the forms assembled together, and everything needed to re-derive them."""

    __tablename__ = "assemblies"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    blueprint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("blueprints.id"), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    forms: Mapped[str] = mapped_column(String(300))  # "A,B": up to 50 labels of up to 4 characters
    solver: Mapped[str] = mapped_column(String(80))
    strategy: Mapped[str] = mapped_column(String(20))
    solver_status: Mapped[str] = mapped_column(String(20))
    seconds: Mapped[float] = mapped_column(Float)
    time_limit: Mapped[float] = mapped_column(Float)
    gap: Mapped[float] = mapped_column(Float)
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    # gzip of the pool's canonical JSON; metadata only. Deferred: listings never need it.
    snapshot: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    layout_sha256: Mapped[str] = mapped_column(String(64))  # of every form's entries, in order
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    blueprint: Mapped[Blueprint] = relationship(lazy="joined")


class Paper(Base):
    __tablename__ = "papers"
    __table_args__ = (UniqueConstraint("assembly_id", "form"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(60), unique=True)  # P2026-0001-A
    assembly_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assemblies.id"))
    blueprint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("blueprints.id"), index=True)
    form: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    total_points: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assembly: Mapped[Assembly] = relationship(lazy="joined")
    blueprint: Mapped[Blueprint] = relationship(lazy="joined")
    entries: Mapped[list[PaperItem]] = relationship(order_by="PaperItem.position", cascade="all, delete-orphan")
    approvals: Mapped[list[PaperApproval]] = relationship(order_by="PaperApproval.at", cascade="all, delete-orphan")


class PaperItem(Base):
    """A position on a form: the item version there, as it was when the paper was assembled."""

    __tablename__ = "paper_items"

    paper_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    section: Mapped[int] = mapped_column(Integer)  # index into the blueprint's sections
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("items.id"), index=True)  # None: an open expert slot
    version: Mapped[int | None] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(10))
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    point_code: Mapped[str | None] = mapped_column(String(40))
    range_codes: Mapped[str] = mapped_column(String(200), default="")  # "A/A-B/A-B-C", top to leaf
    importance: Mapped[str | None] = mapped_column(String(1))
    difficulty: Mapped[int | None] = mapped_column(Integer)
    parent_item_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the 组合 set this belongs to
    option_seed: Mapped[int | None] = mapped_column(BigInteger)
    expert_slot: Mapped[bool] = mapped_column(default=False)


class PaperApproval(Base):
    __tablename__ = "paper_approvals"
    __table_args__ = (UniqueConstraint("paper_id", "approver"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    approver: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The approver's Ed25519 signature over the paper digest; sealed packages carry it.
    paper_digest: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ItemUse(Base):
    """An item on an approved paper. Forms assembled together count as one use of an item."""

    __tablename__ = "item_uses"
    __table_args__ = (UniqueConstraint("item_id", "paper_id"), Index("ix_item_uses_item", "item_id", "assembly_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id"))
    paper_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("papers.id"))
    assembly_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assemblies.id"))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
