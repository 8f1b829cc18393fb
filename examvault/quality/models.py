"""Supervision: inspection findings, stage checklists, and exam-room incident records.

Findings describe the process (what was checked, what was wrong, what must change)
and are plaintext, so supervisors read them without the bank's keys; they must not
name candidates. Incidents (考场情况记录) do name candidates: their description is sealed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from examvault.crypto.records import SealedTable, register
from examvault.db import Base, UTCDateTime, utcnow


class Finding(Base):
    __tablename__ = "quality_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    stage: Mapped[str] = mapped_column(String(30))
    supervisor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    checked: Mapped[str] = mapped_column(String(500))
    issue: Mapped[str] = mapped_column(String(1000), default="")  # empty: checked, nothing found
    correction: Mapped[str] = mapped_column(String(1000), default="")
    blocking: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | resolved (| closed: no issue)
    filed_by: Mapped[str] = mapped_column(String(80))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolver_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))  # the supervisor who checked the correction
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str] = mapped_column(String(1000), default="")


class ChecklistEntry(Base):
    __tablename__ = "quality_checks"
    __table_args__ = (UniqueConstraint("session_id", "stage", "item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    stage: Mapped[str] = mapped_column(String(30))
    item: Mapped[str] = mapped_column(String(40))
    passed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(500), default="")
    checked_by: Mapped[str] = mapped_column(String(80))
    supervisor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Incident(Base):
    """One line of the 考场情况记录表: an absence, a late arrival, a violation or an irregularity."""

    __tablename__ = "room_incidents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("exam_rooms.id"))
    candidate_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("candidates.id"))
    kind: Mapped[str] = mapped_column(String(20))  # absent | late | violation | irregularity
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))  # the invigilator on duty
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    key_version: Mapped[int] = mapped_column(Integer)
    dek: Mapped[bytes] = mapped_column(LargeBinary)
    description: Mapped[bytes] = mapped_column(LargeBinary)


INCIDENT_TEXT = register(SealedTable(
    table=Incident.__table__,  # type: ignore[arg-type]
    domain="personal", aad_name="room_incidents", id_column="id", version_column="version", fields=("description",),
))  # fmt: skip
