"""Scoring's tables: imported marking keys, scored responses, part scores, results and their publicity.

Keys and per-item responses are sealed under the `marking` domain key: a scored response says
which answers were right, which is the answer key of items the bank will use again.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from examvault.crypto.records import SealedTable, register
from examvault.db import Base, UTCDateTime, new_id, utcnow


class MarkingKey(Base):
    """A form's marking key as imported from a sealed examiner package (the newest version counts)."""

    __tablename__ = "marking_keys"
    __table_args__ = (UniqueConstraint("paper", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    paper: Mapped[str] = mapped_column(String(60), index=True)  # the form's paper code, e.g. P2026-0001-A
    form: Mapped[str] = mapped_column(String(4))
    package_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)  # a package is imported once
    version: Mapped[int] = mapped_column(Integer)
    items: Mapped[int] = mapped_column(Integer)
    total_points: Mapped[float] = mapped_column(Float)
    imported_by: Mapped[str] = mapped_column(String(80))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    key_version: Mapped[int] = mapped_column(Integer)
    dek: Mapped[bytes] = mapped_column(LargeBinary)
    key: Mapped[bytes] = mapped_column(LargeBinary)  # the key JSON as packaged


MARKING_KEY = register(SealedTable(
    table=MarkingKey.__table__,  # type: ignore[arg-type]
    domain="marking", aad_name="marking_keys", id_column="id", version_column="version", fields=("key",),
))  # fmt: skip


class ScoredResponse(Base):
    """One candidate's objective answers on one form, as imported and scored."""

    __tablename__ = "scored_responses"
    __table_args__ = (UniqueConstraint("candidate_id", "paper"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("candidates.id"), index=True)
    paper: Mapped[str] = mapped_column(String(60), index=True)
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("marking_keys.id"))
    source: Mapped[str] = mapped_column(String(10))  # cbt | omr
    objective: Mapped[float] = mapped_column(Float)  # the objective total
    imported_by: Mapped[str] = mapped_column(String(80))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    key_version: Mapped[int] = mapped_column(Integer)
    dek: Mapped[bytes] = mapped_column(LargeBinary)
    # {"answers": [...], "points": [...], "bank_choices": [...]} by position: what statistics read
    detail: Mapped[bytes] = mapped_column(LargeBinary)


SCORED_RESPONSE = register(SealedTable(
    table=ScoredResponse.__table__,  # type: ignore[arg-type]
    domain="marking", aad_name="scored_responses", id_column="id", version_column="version", fields=("detail",),
))  # fmt: skip


class PartScore(Base):
    """One examiner's score for one candidate in a skill test, defence or comprehensive review (0–100)."""

    __tablename__ = "part_scores"
    __table_args__ = (UniqueConstraint("candidate_id", "part", "examiner"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("candidates.id"), index=True)
    part: Mapped[str] = mapped_column(String(10))  # skill | defence | review
    examiner: Mapped[str] = mapped_column(String(30))  # staff code, on duty for the part's room
    score: Mapped[float] = mapped_column(Float)
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Result(Base):
    """A candidate's result in a session: each part's score, pass, and where it stands."""

    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("session_id", "candidate_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("candidates.id"), index=True)
    parts: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"theory": 78.5, "skill": 81.0, …}; None for a part not sat
    passed: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))  # scored | absent | cancelled | void
    note: Mapped[str] = mapped_column(String(200), default="")
    computed_by: Mapped[str] = mapped_column(String(80))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Publicity(Base):
    """The 成绩公示 of a session: 5 working days by the Chinese calendar, then release."""

    __tablename__ = "result_publicity"

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), primary_key=True)
    opens: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    release_on: Mapped[date] = mapped_column(Date)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the results as publicised: release needs them unchanged
    publicized_by: Mapped[str] = mapped_column(String(80))
    publicized_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(80))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Objection(Base):
    """An objection (异议) raised during the publicity window, and how it was settled."""

    __tablename__ = "result_objections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("candidates.id"))
    raised_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(400))
    recorded_by: Mapped[str] = mapped_column(String(80))
    resolution: Mapped[str] = mapped_column(String(400), default="")
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
