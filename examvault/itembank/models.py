"""Occupations, outlines (鉴定要素细目表), items and their versions.

Plaintext here is only what assembly and workflow must query: codes, type, points,
difficulty, outline links, status, usage and statistics, and the names of author and
reviewer. Content — stem, options, answer, analysis/rubric, media — lives only as
ciphertext in `item_versions` (see SECURITY.md).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examvault.crypto.records import SealedTable, register
from examvault.db import Base, UTCDateTime, new_id, utcnow


class Occupation(Base):
    __tablename__ = "occupations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # 6-31-01-03
    name: Mapped[str] = mapped_column(String(100))


class Outline(Base):
    """One 鉴定要素细目表 per occupation × level × kind."""

    __tablename__ = "outlines"
    __table_args__ = (UniqueConstraint("occupation_id", "level", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupations.id"))
    level: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))  # theory | skill
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    occupation: Mapped[Occupation] = relationship(lazy="joined")
    nodes: Mapped[list[OutlineNode]] = relationship(
        back_populates="outline", order_by="OutlineNode.position", cascade="all, delete-orphan"
    )


class OutlineNode(Base):
    """A range (鉴定范围, with a weight) or, as a leaf, an assessment point (鉴定点)."""

    __tablename__ = "outline_nodes"
    __table_args__ = (UniqueConstraint("outline_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outline_id: Mapped[int] = mapped_column(ForeignKey("outlines.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("outline_nodes.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    is_point: Mapped[bool] = mapped_column(Boolean, default=False)
    weight: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))  # % of the whole paper; ranges only
    importance: Mapped[str | None] = mapped_column(String(1))  # X / Y / Z; points only
    position: Mapped[int] = mapped_column(Integer, default=0)

    outline: Mapped[Outline] = relationship(back_populates="nodes")


class Item(Base):
    """The item's identity and its current, queryable metadata."""

    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_selection", "occupation_id", "level", "type", "status"),
        Index("ix_items_point", "point_id"),
        # Partial: most items have neither, and an index entry per NULL would only slow imports.
        Index("ix_items_enemy", "enemy_group", sqlite_where=text("enemy_group IS NOT NULL"),
              postgresql_where=text("enemy_group IS NOT NULL")),
        Index("ix_items_parent", "parent_id", sqlite_where=text("parent_id IS NOT NULL"),
              postgresql_where=text("parent_id IS NOT NULL")),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupations.id"))
    level: Mapped[int] = mapped_column(Integer)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("outline_nodes.id"))
    type: Mapped[str] = mapped_column(String(10))
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    difficulty: Mapped[int] = mapped_column(Integer)  # planned, 1..5
    source: Mapped[str] = mapped_column(String(10))
    author: Mapped[str] = mapped_column(String(80), default="")  # 出题人 as written on the item
    reviewer: Mapped[str] = mapped_column(String(80), default="")  # 审核人
    enemy_group: Mapped[str | None] = mapped_column(String(60))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("items.id"))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Empirical statistics, fed back from exams; they replace the plan once known.
    p_value: Mapped[float | None] = mapped_column(Float)
    discrimination: Mapped[float | None] = mapped_column(Float)
    n_responses: Mapped[int] = mapped_column(Integer, default=0)
    irt_a: Mapped[float | None] = mapped_column(Float)  # 2PL slope on the bank's scale
    irt_b: Mapped[float | None] = mapped_column(Float)  # difficulty on the bank's scale (linked through common items)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ItemVersion(Base):
    """One immutable version: a metadata snapshot and the sealed content.

    An edit adds a version; a paper keeps pointing at the version it used.
    """

    __tablename__ = "item_versions"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id"))
    version: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(10))
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    difficulty: Mapped[int] = mapped_column(Integer)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("outline_nodes.id"))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Sealed content: see crypto/envelope.py for the layout and the AAD binding.
    key_version: Mapped[int] = mapped_column(Integer)
    dek: Mapped[bytes] = mapped_column(LargeBinary)
    stem: Mapped[bytes] = mapped_column(LargeBinary)
    options: Mapped[bytes | None] = mapped_column(LargeBinary)
    answer: Mapped[bytes | None] = mapped_column(LargeBinary)
    analysis: Mapped[bytes | None] = mapped_column(LargeBinary)
    media: Mapped[bytes | None] = mapped_column(LargeBinary)


class CodeSequence(Base):
    """Next serial for generated item codes, per prefix; bumped inside the import's transaction."""

    __tablename__ = "code_sequences"

    prefix: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer)


ITEM_CONTENT = register(
    SealedTable(
        table=ItemVersion.__table__,  # type: ignore[arg-type]
        domain="items",
        aad_name="item",
        id_column="item_id",
        version_column="version",
        fields=("stem", "options", "answer", "analysis", "media"),
    )
)
