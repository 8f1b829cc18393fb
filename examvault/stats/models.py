"""Item statistics fed back from exams: each administration's figures per item, the running sums
that pool them across exams, the paper-level run, and the review queue flagged items go to.

Statistics are numbers about items, not item content: nothing here is sealed. The per-item running
sums make each exam an increment — merging them equals analysing every exam's responses together.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from examvault.db import Base, UTCDateTime, utcnow


class StatsRun(Base):
    """One analysis of one paper's responses: the paper-level figures and what it changed."""

    __tablename__ = "stats_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper: Mapped[str] = mapped_column(String(60), index=True)
    sessions: Mapped[list[str]] = mapped_column(JSON)  # the sessions whose responses were read
    n_candidates: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)  # alpha, sem, mean, sd, IRT model and linking constants, drift
    computed_by: Mapped[str] = mapped_column(String(80))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ItemStatistic(Base):
    """One item's figures in one administration (a paper's analysed responses)."""

    __tablename__ = "item_statistics"
    __table_args__ = (UniqueConstraint("item_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("stats_runs.id"), index=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    p: Mapped[float | None] = mapped_column(Float)
    r_total: Mapped[float | None] = mapped_column(Float)
    r_rest: Mapped[float | None] = mapped_column(Float)
    ul_index: Mapped[float | None] = mapped_column(Float)
    alpha_if_deleted: Mapped[float | None] = mapped_column(Float)
    irt: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # model, a, b (bank scale), raw a/d, standard errors, infit/outfit
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # each rule that fired, with its numbers


class ItemRunning(Base):
    """Running sums of an item's scores and its rest scores over every analysed exam."""

    __tablename__ = "item_running"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id"), primary_key=True)
    max_points: Mapped[float] = mapped_column(Float)
    exams: Mapped[int] = mapped_column(Integer, default=0)
    n: Mapped[float] = mapped_column(Float, default=0.0)
    sum_x: Mapped[float] = mapped_column(Float, default=0.0)
    sum_xx: Mapped[float] = mapped_column(Float, default=0.0)
    sum_r: Mapped[float] = mapped_column(Float, default=0.0)
    sum_rr: Mapped[float] = mapped_column(Float, default=0.0)
    sum_xr: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ItemReview(Base):
    """A flagged item, suspended from assembly until a reviewer decides: keep (reactivate) or retire."""

    __tablename__ = "item_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("stats_runs.id"))
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(10))  # keep | retire
    comment: Mapped[str] = mapped_column(String(400), default="")
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)



