"""考生违规违纪: the tiered outcomes of the institution's rules, each with the proctor, the time and the reason.

Tiers, mildest first: a warning (警告); the paper voided (试卷作废) — also what a second warning in
the same part becomes; this sitting's score cancelled (本次成绩取消); the qualification cancelled
(取消认定资格). The proctor is an invigilator or examiner on duty in the candidate's room or station
for the part (or the session's chief examiner); the time falls on the exam day. Once the results
are publicised they are fixed and nothing more is recorded. Results read `effects`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.db import BEIJING, utcnow
from examvault.errors import ConflictError, NotFoundError, ValidationError, check_length
from examvault.registration.intake import PARTS
from examvault.registration.models import Candidate, ExamSession, Seat
from examvault.registration.service import get_session
from examvault.scoring.models import Publicity, Result, Violation
from examvault.staff.models import Assignment, StaffMember

TIERS = {
    "warning": "警告",
    "void-paper": "试卷作废",
    "cancel-sitting": "本次成绩取消",
    "cancel-qualification": "取消认定资格",
}
# notes naming no part
WHOLE_SITTING_NOTES = {t: TIERS[t] for t in ("cancel-sitting", "cancel-qualification")}
PART_NAMES = {"theory": "理论知识", "skill": "操作技能", "defence": "答辩", "review": "综合评审"}
PROCTOR_DUTIES = ("invigilator", "examiner")  # in the candidate's room or station for the part
SESSION_DUTIES = ("chief_examiner",)  # anywhere in the session
REASON_LIMIT = 400


@dataclass(frozen=True)
class Effect:
    """What a candidate's violations do to the result.

    `void_parts`: parts that score 0 (a voided paper; with `cancelled`, every part the candidate sits).
    `cancelled`: this sitting's score is cancelled (status "cancelled", not passed).
    `disqualified`: the qualification is cancelled (status "disqualified", not passed, no certificate).
    `notes`: short notes for the result, in the order things happened.
    """

    void_parts: frozenset[str] = frozenset()
    cancelled: bool = False
    disqualified: bool = False
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> str | None:
        """The result's status these violations impose, if any: "disqualified" over "cancelled"."""
        return "disqualified" if self.disqualified else "cancelled" if self.cancelled else None

    @property
    def blocks_pass(self) -> bool:
        """True when the candidate cannot pass whatever the scores (a voided paper scores 0 and fails too)."""
        return self.cancelled or self.disqualified or bool(self.void_parts)


def _check_inputs(part: str, tier: str, proctor: str, at: datetime, reason: str, now: datetime) -> str:
    if part not in PARTS:
        raise ValidationError(f"--part is one of {', '.join(PARTS)}")
    if tier not in TIERS:
        raise ValidationError(f"--tier is one of {', '.join(TIERS)}")
    if not proctor.strip():
        raise ValidationError("--proctor: the staff code of the invigilator or examiner on duty is required")
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValidationError("--at: a time with its zone (Beijing time when given on the command line)")
    if at > now:
        raise ValidationError(f"--at {at.astimezone(BEIJING):%Y-%m-%d %H:%M} is in the future")
    reason = reason.strip()
    if not reason:
        raise ValidationError("--reason: say what happened (1 to 400 characters)")
    return check_length(reason, REASON_LIMIT, "--reason")


def _proctor_on_duty(session: Session, exam: ExamSession, code: str, room_id: int, at: datetime) -> bool:
    """An open post (or one ended after `at`) as invigilator or examiner in the room, or as the session's chief examiner."""
    q = (select(Assignment.id).join(StaffMember, StaffMember.id == Assignment.staff_id)
         .where(Assignment.session_id == exam.id, StaffMember.code == code,
                or_(Assignment.ended_at.is_(None), Assignment.ended_at > at),
                or_(Assignment.duty.in_(SESSION_DUTIES), Assignment.duty.in_(PROCTOR_DUTIES) & (Assignment.room_id == room_id))))  # fmt: skip
    return session.scalars(q).first() is not None


def record_violation(bank: Bank, session_code: str, ticket: str, *, part: str, tier: str, proctor: str, at: datetime,
                     reason: str, now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Record one violation. A warning where the candidate already has one in the same part is stored
    as "void-paper", escalated (a repeat voids the paper); the answer says so. `now` (default the
    clock) is for a simulated exam day, as in the demo."""
    proctor = proctor.strip()
    reason = _check_inputs(part, tier, proctor, at, reason, now or utcnow())
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "violation.record")
        exam = get_session(session, session_code, lock=True)
        if session.get(Publicity, exam.id) is not None:
            raise ConflictError(
                f"the results of {session_code} are publicised; they are fixed and no violation can be recorded now"
            )
        cand = session.scalars(
            select(Candidate).where(Candidate.ticket == ticket, Candidate.session_id == exam.id)
        ).first()
        if cand is None:
            raise NotFoundError(f"no ticket {ticket} in session {session_code}")
        seat = session.scalars(
            select(Seat).where(Seat.candidate_id == cand.id, Seat.part == part, Seat.session_id == exam.id)
        ).first()
        if seat is None:
            raise ValidationError(
                f"--part: ticket {ticket} does not sit {PARTS[part]} ({part}) in this session"
            )
        if at.astimezone(BEIJING).date() != exam.exam_date:
            raise ValidationError(f"--at: a violation is recorded for the exam day, {exam.exam_date}; "
                                  f"the time given is {at.astimezone(BEIJING):%Y-%m-%d %H:%M} (Beijing)")  # fmt: skip
        if not _proctor_on_duty(session, exam, proctor, seat.room_id, at):
            raise ValidationError(f"--proctor {proctor!r} is not an invigilator or examiner on duty in this candidate's room for "
                                  f"{PARTS[part]}, nor the session's chief examiner")  # fmt: skip
        stored, escalated = tier, False
        if tier == "warning":
            earlier = select(Violation.id).where(Violation.session_id == exam.id, Violation.candidate_id == cand.id,
                                                 Violation.part == part, Violation.tier == "warning")  # fmt: skip
            if session.scalars(earlier).first() is not None:
                stored, escalated = "void-paper", True
        row = Violation(session_id=exam.id, candidate_id=cand.id, part=part, tier=stored, proctor=proctor, at=at, reason=reason,
                        escalated=escalated, recorded_by=actor.username)  # fmt: skip
        session.add(row)
        session.flush()
        # Results computed before this violation no longer hold: they must be computed again before publicity.
        stale = session.execute(delete(Result).where(Result.session_id == exam.id)).rowcount
        audit(
            session,
            actor,
            "violation.record",
            "exam_session",
            session_code,
            ticket=ticket,
            part=part,
            tier=stored,
            escalated=escalated,
        )
        message = f"{PART_NAMES[part]} {TIERS[stored]}"
        if escalated:
            message = f"{PART_NAMES[part]} 再次违纪，警告升级为试卷作废"
        return {"id": row.id, "session": session_code, "ticket": ticket, "part": part, "tier": stored, "requested": tier,
                "escalated": escalated, "proctor": proctor, "at": at.astimezone(BEIJING).isoformat(), "message": message,
                "results_cleared": bool(stale)}  # fmt: skip


def list_violations(bank: Bank, session_code: str) -> list[dict[str, Any]]:
    """The session's violations in the order they happened."""
    with bank.transaction() as session:
        bank.actor(session, "results.read")
        exam = get_session(session, session_code)
        q = (select(Violation, Candidate.ticket).join(Candidate, Candidate.id == Violation.candidate_id)
             .where(Violation.session_id == exam.id).order_by(Violation.at, Violation.id))  # fmt: skip
        return [{"ticket": ticket, "part": v.part, "tier": v.tier, "escalated": v.escalated, "proctor": v.proctor,
                 "at": v.at.astimezone(BEIJING).isoformat(), "reason": v.reason, "recorded_by": v.recorded_by}
                for v, ticket in session.execute(q)]  # fmt: skip


def effects(session: Session, exam: ExamSession) -> dict[uuid.UUID, Effect]:
    """Per candidate with any violation in the session, what it does to the result (see `Effect`)."""
    q = select(Violation).where(Violation.session_id == exam.id).order_by(Violation.at, Violation.id)
    by_candidate: dict[uuid.UUID, list[Violation]] = defaultdict(list)
    for v in session.scalars(q):
        by_candidate[v.candidate_id].append(v)
    if not by_candidate:
        return {}
    seated: dict[uuid.UUID, set[str]] = defaultdict(set)
    for cid, part in session.execute(select(Seat.candidate_id, Seat.part).where(Seat.session_id == exam.id)):
        seated[cid].add(part)
    out = {}
    for cid, vs in by_candidate.items():
        tiers = {v.tier for v in vs}
        cancelled = "cancel-sitting" in tiers
        void = {v.part for v in vs if v.tier == "void-paper"}
        if cancelled:  # every part of this sitting is void
            void |= seated[cid] | {v.part for v in vs}
        notes: list[str] = []
        for v in vs:
            note = WHOLE_SITTING_NOTES.get(v.tier) or f"{PART_NAMES.get(v.part, v.part)} {TIERS[v.tier]}"
            if note not in notes:
                notes.append(note)
        out[cid] = Effect(frozenset(void), cancelled, "cancel-qualification" in tiers, tuple(notes))
    return out
