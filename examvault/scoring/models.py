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
    subjective: Mapped[int] = mapped_column(Integer, default=0)  # subjective items: marked blind, not from answer sheets
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
    subjective: Mapped[float | None] = mapped_column(Float)  # the blind-marked total, joined on unmasking
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


class Script(Base):
    """A theory answer booklet with subjective items, known to markers only by its 密封号 (seal code).

    Which candidate wrote it is sealed (`candidate`, under the `marking` key) and read back only by
    `marking unmask`, once every script's marks are totalled and checked; `candidate_id` stays
    empty until then, so no query can join a code to a name before unmasking.
    """

    __tablename__ = "scripts"
    __table_args__ = (UniqueConstraint("session_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))  # 密封号
    paper: Mapped[str] = mapped_column(String(60))  # the form's paper code: which key marks it
    subjective: Mapped[float | None] = mapped_column(Float)  # the subjective total, set when totalled
    candidate_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("candidates.id"))  # set on unmasking only
    sealed_by: Mapped[str] = mapped_column(String(80))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    key_version: Mapped[int] = mapped_column(Integer)
    dek: Mapped[bytes] = mapped_column(LargeBinary)
    candidate: Mapped[bytes] = mapped_column(LargeBinary)  # {"candidate_id", "ticket"}, sealed


SCRIPT = register(SealedTable(
    table=Script.__table__,  # type: ignore[arg-type]
    domain="marking", aad_name="scripts", id_column="id", version_column="version", fields=("candidate",),
))  # fmt: skip


class MarkingItem(Base):
    """A subjective item of a session's paper, with its markers, group leader and double-marking threshold."""

    __tablename__ = "marking_items"
    __table_args__ = (UniqueConstraint("session_id", "paper", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    paper: Mapped[str] = mapped_column(String(60))
    number: Mapped[int] = mapped_column(Integer)  # the question number on this form
    points: Mapped[float] = mapped_column(Float)
    marking_points: Mapped[list[float]] = mapped_column(JSON)  # the most each 评分要点 earns, from the key
    markers: Mapped[list[str]] = mapped_column(JSON)  # user names; two of them mark each script independently
    leader: Mapped[str] = mapped_column(String(80))  # 题组长: decides when marks still disagree
    threshold: Mapped[float] = mapped_column(Float)  # a fraction of `points`: marks further apart go to arbitration
    assigned_by: Mapped[str] = mapped_column(String(80))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mark(Base):
    """One marker's signed marks for one item of one script. A change is a new row; the old one is superseded."""

    __tablename__ = "marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    script_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scripts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    marker: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(10))  # first | second | third | leader
    points: Mapped[list[float]] = mapped_column(JSON)  # per marking point
    total: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(400), default="")  # why a mark was changed
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signature: Mapped[dict[str, Any]] = mapped_column(JSON)  # the marker's Ed25519 signature over the entry
    superseded_by: Mapped[int | None] = mapped_column(Integer)


class MarkingSignoff(Base):
    """统分 (total) and 复核 (check) of a session's scripts: signed, by two different people."""

    __tablename__ = "marking_signoffs"
    __table_args__ = (UniqueConstraint("session_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # total | check | unmask
    username: Mapped[str] = mapped_column(String(80))
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of every script's code and total
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Violation(Base):
    """考生违规违纪: a tiered outcome recorded by a proctor; results apply it."""

    __tablename__ = "violations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("candidates.id"), index=True)
    part: Mapped[str] = mapped_column(String(10))
    tier: Mapped[str] = mapped_column(String(24))  # warning | void-paper | cancel-sitting | cancel-qualification
    proctor: Mapped[str] = mapped_column(String(30))  # staff code of the invigilator or examiner on duty
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it happened
    reason: Mapped[str] = mapped_column(String(400))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)  # a repeated warning, voided as the rules say
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PanelReview(Base):
    """The chief examiner's (主考) score after reviewing a panel whose scores spread too widely."""

    __tablename__ = "panel_reviews"
    __table_args__ = (UniqueConstraint("candidate_id", "part"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("candidates.id"), index=True)
    part: Mapped[str] = mapped_column(String(10))
    score: Mapped[float] = mapped_column(Float)
    chief: Mapped[str] = mapped_column(String(30))  # staff code of the session's chief examiner
    reason: Mapped[str] = mapped_column(String(400))
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
