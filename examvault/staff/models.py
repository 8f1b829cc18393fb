"""The personnel registry: examiners, invigilators, chief examiners and supervisors,
their credential cards, training, assignments, sanctions and the assignment rules.

Personal data (name, ID number, work unit, phone, declared relations) is sealed in
`personal` under the `personal` domain key. Roles, status, credential numbers and
validity are plaintext: door checks and assignment query them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examvault.crypto.records import SealedTable, register
from examvault.db import Base, UTCDateTime, new_id, utcnow


class StaffMember(Base):
    __tablename__ = "staff"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(30), unique=True)  # 人员编号
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated, sorted
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | suspended | revoked
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    key_version: Mapped[int] = mapped_column(Integer)
    dek: Mapped[bytes] = mapped_column(LargeBinary)
    personal: Mapped[bytes] = mapped_column(LargeBinary)

    credentials: Mapped[list[Credential]] = relationship(order_by="Credential.issued_on", back_populates="staff")
    training: Mapped[list[Training]] = relationship(order_by="Training.on")

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


STAFF_PERSONAL = register(SealedTable(
    table=StaffMember.__table__,  # type: ignore[arg-type]
    domain="personal", aad_name="staff", id_column="id", version_column="version", fields=("personal",),
))  # fmt: skip


class Credential(Base):
    """A credential card (考评员证卡 / 督导员证卡). `occupation` None: not bound to one occupation."""

    __tablename__ = "staff_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # examiner | senior_examiner | supervisor | chief_examiner
    occupation: Mapped[str | None] = mapped_column(String(20))
    levels: Mapped[str] = mapped_column(String(20), default="")  # "3,4,5"
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str] = mapped_column(String(500), default="")

    staff: Mapped[StaffMember] = relationship(back_populates="credentials")

    @property
    def level_set(self) -> frozenset[int]:
        return frozenset(int(v) for v in self.levels.split(",") if v)


class Training(Base):
    __tablename__ = "staff_training"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    hours: Mapped[float] = mapped_column(Float, default=0)
    result: Mapped[str] = mapped_column(String(40), default="")  # 合格 / 不合格
    recorded_by: Mapped[str] = mapped_column(String(80))


class RuleSet(Base):
    """Versioned assignment rules (配备与回避规则). The newest version applies; each assignment keeps its version."""

    __tablename__ = "staff_rule_sets"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[dict] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assignment(Base):
    """A post: a person on duty for a session, a room/station, or a marking task. Never deleted."""

    __tablename__ = "staff_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    duty: Mapped[str] = mapped_column(String(20))  # invigilator | examiner | chief_examiner | marker | supervisor
    room_id: Mapped[int | None] = mapped_column(ForeignKey("exam_rooms.id"), index=True)
    task: Mapped[str | None] = mapped_column(String(80))  # a marking task, e.g. "简答题 41-45"
    credential_id: Mapped[int | None] = mapped_column(ForeignKey("staff_credentials.id"))
    rules_version: Mapped[int] = mapped_column(Integer)
    assigned_by: Mapped[str] = mapped_column(String(80))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str] = mapped_column(String(500), default="")

    staff: Mapped[StaffMember] = relationship(lazy="joined")


class Sanction(Base):
    """A discipline record (工作人员违规违纪处理). The tier's effects are applied when it is recorded."""

    __tablename__ = "staff_sanctions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("exam_sessions.id"))
    tier: Mapped[str] = mapped_column(String(20))  # warning | removal | credential_revoked | reported_to_unit
    reason: Mapped[str] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
