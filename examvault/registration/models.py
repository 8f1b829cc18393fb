"""Exam sessions (认定批次), their rooms and stations, and the candidates placed in them.

Personal data — name, ID number, work unit, phone — lives only inside the sealed
`personal` JSON under the `personal` domain key. Plaintext is what placement and
staffing query: occupation, level, session, room, seat and status.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examvault.crypto.records import SealedTable, register
from examvault.db import Base, UTCDateTime, new_id, utcnow


class ExamPlan(Base):
    """The annual plan (年度认定计划): occupations and levels, eligibility, window, sites, fees.

    Public information, kept as the validated document it was created from; announcing it
    renders the 公告."""

    __tablename__ = "exam_plans"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EligibilityRuleSet(Base):
    """Versioned eligibility rules (申报条件) per occupation × level; each decision keeps its version."""

    __tablename__ = "eligibility_rule_sets"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    plan_year: Mapped[int | None] = mapped_column(ForeignKey("exam_plans.year"), index=True)
    site_code: Mapped[str] = mapped_column(String(6), default="")  # the plan's 6-digit site code
    serial: Mapped[int | None] = mapped_column(Integer)  # the session's number within its plan year: part of ticket numbers
    # [{"part": "theory", "start": "09:00", "end": "10:30"}, …]: each part on the exam date, Beijing time
    parts: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
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
    status: Mapped[str] = mapped_column(String(20), default="registered")  # registered | accepted | refused | withdrawn
    plan_year: Mapped[int | None] = mapped_column(ForeignKey("exam_plans.year"), index=True)
    ticket: Mapped[str | None] = mapped_column(String(20), unique=True)  # 准考证号, once seated
    # {"theory": "新考", "skill": "补考"}: the parts sat, and whether each is a first attempt or a retake
    parts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # retention: personal data and photo erased
    version: Mapped[int] = mapped_column(Integer, default=1)  # bound into the AAD; bumped on every change
    key_version: Mapped[int] = mapped_column(Integer)
    dek: Mapped[bytes] = mapped_column(LargeBinary)
    personal: Mapped[bytes] = mapped_column(LargeBinary)
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed JPEG/PNG bytes


CANDIDATE_PERSONAL = register(SealedTable(
    table=Candidate.__table__,  # type: ignore[arg-type]
    domain="personal", aad_name="candidates", id_column="id", version_column="version", fields=("personal", "photo"),
))  # fmt: skip


class Seat(Base):
    """Where a candidate sits one part: a theory-room desk, a skill-test station place, a defence slot."""

    __tablename__ = "seats"
    __table_args__ = (UniqueConstraint("room_id", "part", "seat"), UniqueConstraint("candidate_id", "part"))  # defence and review share a room

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("candidates.id"), index=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("exam_rooms.id"), index=True)
    part: Mapped[str] = mapped_column(String(10))  # theory | skill | defence | review
    seat: Mapped[int] = mapped_column(Integer)


class EligibilityDecision(Base):
    """Why a registration was accepted or refused: the rule that decided it and the evidence it read."""

    __tablename__ = "eligibility_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("candidates.id"), index=True)
    rules_version: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(80))  # "6-31-01-03/3: b" — occupation/level: the branch that decided
    eligible: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)  # years, prior level, education, condition — no personal data
    reason: Mapped[str] = mapped_column(String(400))
    decided_by: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attendance(Base):
    """The door check (五对照) and attendance per candidate and part: present, late, absent, refused entry."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("candidate_id", "part"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("candidates.id"), index=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    part: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # present | late | absent | refused
    identity: Mapped[str] = mapped_column(String(10))  # verified | mismatch | unchecked
    minutes_late: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(String(200), default="")


class CertificateForm(Base):
    """A blank certificate form (空白证书) in stock: received, used by a certificate, or spoiled."""

    __tablename__ = "certificate_forms"

    serial: Mapped[str] = mapped_column(String(20), primary_key=True)  # the number printed on the blank
    batch: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="stock")  # stock | used | spoiled
    certificate: Mapped[str | None] = mapped_column(String(22))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Certificate(Base):
    """A 职业技能等级证书. The holder's name and ID number are sealed like a candidate's."""

    __tablename__ = "certificates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(22), unique=True)
    candidate_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("candidates.id"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    occupation: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="issued")  # issued | voided | replaced | revoked
    form_serial: Mapped[str | None] = mapped_column(String(20))
    replaces: Mapped[str | None] = mapped_column(String(22))  # the number this one reissues
    reason: Mapped[str] = mapped_column(String(400), default="")  # why voided, replaced or revoked
    issued_by: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    key_version: Mapped[int] = mapped_column(Integer)
    dek: Mapped[bytes] = mapped_column(LargeBinary)
    holder: Mapped[bytes] = mapped_column(LargeBinary)


CERTIFICATE_HOLDER = register(SealedTable(
    table=Certificate.__table__,  # type: ignore[arg-type]
    domain="personal", aad_name="certificates", id_column="id", version_column="version", fields=("holder",),
))  # fmt: skip


class CertificateEvent(Base):
    """The certificate ledger (证书台账): every issue, void, reissue and revocation, and every blank form movement."""

    __tablename__ = "certificate_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(20), index=True)  # forms.received | issued | voided | reissued | revoked | form.spoiled
    number: Mapped[str | None] = mapped_column(String(22), index=True)
    form_serial: Mapped[str | None] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(String(400), default="")
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RetentionTombstone(Base):
    """What a retention purge removed: the kind, the record, its category and end date, and a digest of
    what was erased, so the purge itself stays on record after the record is gone."""

    __tablename__ = "retention_tombstones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    record: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(10))  # paper | electronic
    retain_until: Mapped[date] = mapped_column(Date)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the erased bytes (ciphertext or leaf)
    purged_by: Mapped[str] = mapped_column(String(80))
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
