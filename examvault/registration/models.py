"""Exam sessions (认定批次), their rooms and stations, and the candidates placed in them.

Personal data — name, ID number, work unit, phone — lives only inside the sealed
`personal` JSON under the `personal` domain key. Plaintext is what placement and
staffing query: occupation, level, session, room, seat and status.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examvault.crypto.records import SealedTable, register
from examvault.db import Base, UTCDateTime, new_id, utcnow


class ExamSession(Base):
    __tablename__ = "exam_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # 2026-12-电工-3
    occupation: Mapped[str] = mapped_column(String(20), index=True)
    level: Mapped[int] = mapped_column(Integer)
    exam_date: Mapped[date] = mapped_column(Date)
    site: Mapped[str] = mapped_column(String(100), default="")
    papers: Mapped[str] = mapped_column(String(400), default="")  # paper codes used, comma-separated
    stage: Mapped[str] = mapped_column(String(30), default="registration_review")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rooms: Mapped[list[Room]] = relationship(order_by="Room.code", back_populates="session")


class Room(Base):
    """A theory room (理论考场), a skill-test station (实操考位/考场) or a defence/review panel room."""

    __tablename__ = "exam_rooms"
    __table_args__ = (UniqueConstraint("session_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    code: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(10))  # theory | skill | defence
    capacity: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(100), default="")

    session: Mapped[ExamSession] = relationship(back_populates="rooms")


class Candidate(Base):
    __tablename__ = "candidates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(30), unique=True)  # registration number
    occupation: Mapped[str] = mapped_column(String(20), index=True)
    level: Mapped[int] = mapped_column(Integer)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("exam_rooms.id"), index=True)
    seat: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="registered")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bound into the AAD; bumped on every change
    key_version: Mapped[int] = mapped_column(Integer)
    dek: Mapped[bytes] = mapped_column(LargeBinary)
    personal: Mapped[bytes] = mapped_column(LargeBinary)


CANDIDATE_PERSONAL = register(SealedTable(
    table=Candidate.__table__,  # type: ignore[arg-type]
    domain="personal", aad_name="candidates", id_column="id", version_column="version", fields=("personal",),
))  # fmt: skip
