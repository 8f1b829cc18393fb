"""Attendance and the door check (入场核验): present, late (admitted up to 30 minutes after the start),
refused (later than that: no entry) and absent, with the identity check (五对照) for each.

A failed identity check refuses entry and files an irregularity in the 考场情况记录 (quality
incidents), where violations are handled; results read attendance to mark 缺考.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.crypto.signing import VerifyKey
from examvault.db import BEIJING, utcnow
from examvault.errors import ConflictError, NotFoundError, ValidationError
from examvault.registration.intake import PARTS
from examvault.registration.models import Attendance, Candidate, Room, Seat
from examvault.registration.service import get_session
from examvault.registration.sittings import part_times

LATE_LIMIT_MINUTES = 30  # 考试开始30分钟后不得入场
STATUSES = {"present": "正常入场", "late": "迟到入场", "refused": "拒绝入场", "absent": "缺考"}
IDENTITY = {"verified": "核验一致", "mismatch": "人证不符", "unchecked": "未核验"}


def _start(exam: Any, part: str) -> datetime:
    times = part_times(exam)
    if part not in times:
        raise ValidationError(f"session {exam.code} has no {PARTS.get(part, part)} ({part}); its parts: {', '.join(times) or 'none'}")
    hh, mm = times[part]["start"].split(":")
    return datetime(exam.exam_date.year, exam.exam_date.month, exam.exam_date.day, int(hh), int(mm), tzinfo=BEIJING)


def record(bank: Bank, session_code: str, ticket: str, part: str, *, at: datetime | None = None, identity: str = "verified",
           absent: bool = False, note: str = "", trusted: VerifyKey | None = None) -> dict[str, Any]:  # fmt: skip
    """Record one candidate at the door. `ticket` is the ticket number or the scanned QR token
    (verified against `trusted`, the institution key, when given; else the bank's own)."""
    if identity not in IDENTITY:
        raise ValidationError(f"--identity is one of {', '.join(IDENTITY)}")
    if len(note) > 200:
        raise ValidationError("--note: at most 200 characters")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "attendance.record")
        exam = get_session(session, session_code, lock=True)
        if ticket.startswith("EV1."):
            from examvault.custody.service import institution_verify_key
            from examvault.registration.tickets import verify_ticket

            ticket = verify_ticket(ticket, trusted or institution_verify_key(session), session_code=session_code)["ticket"]
        cand = session.scalars(select(Candidate).where(Candidate.ticket == ticket, Candidate.session_id == exam.id)).first()
        if cand is None:
            raise NotFoundError(f"no ticket {ticket} in session {session_code}")
        seat = session.scalars(select(Seat).where(Seat.candidate_id == cand.id, Seat.part == part)).first()
        if seat is None:
            raise ValidationError(f"ticket {ticket} does not sit {PARTS.get(part, part)} in this session")
        if session.scalars(select(Attendance.id).where(Attendance.candidate_id == cand.id, Attendance.part == part)).first():
            raise ConflictError(f"ticket {ticket} is already recorded for {part}; the door record is written once")
        start, when = _start(exam, part), at or utcnow()
        if not absent and when.astimezone(BEIJING).date() != exam.exam_date:  # an absence may be entered afterwards
            raise ValidationError(f"the door is checked on the exam day, {exam.exam_date}; the time given is {when.astimezone(BEIJING):%Y-%m-%d %H:%M}")
        late = max(0, math.ceil((when - start).total_seconds() / 60))
        if absent:
            status, identity = "absent", "unchecked"
        elif identity == "mismatch":
            status = "refused"
        else:
            status = "present" if late == 0 else ("late" if late <= LATE_LIMIT_MINUTES else "refused")
        session.add(Attendance(candidate_id=cand.id, session_id=exam.id, part=part, status=status, identity=identity,
                               minutes_late=0 if absent else late, at=when, recorded_by=actor.username, note=note))  # fmt: skip
        room = session.get(Room, seat.room_id)
        if identity == "mismatch":
            from examvault.quality.service import add_incident

            keyring = bank.keyring(session)
            add_incident(session, keyring, actor.username, exam, kind="irregularity", room=room, candidate=cand, at=when,
                         description=f"入场身份核验人证不符，拒绝入场（{PARTS.get(part, part)}）。{note}")  # fmt: skip
        audit(session, actor, "attendance.record", "exam_session", session_code, ticket=ticket, part=part, status=status, identity=identity)
        reason = {"late": f"迟到 {late} 分钟，准予入场", "refused": "人证不符，不得入场" if identity == "mismatch"
                  else f"迟到 {late} 分钟，超过 {LATE_LIMIT_MINUTES} 分钟，不得入场"}.get(status, STATUSES[status])  # fmt: skip
        return {"ticket": ticket, "candidate": cand.code, "part": part, "room": room.code if room else None, "seat": seat.seat,
                "status": status, "identity": identity, "minutes_late": 0 if absent else late, "admitted": status in ("present", "late"),
                "message": reason}  # fmt: skip


def close_part(bank: Bank, session_code: str, part: str, *, at: datetime | None = None) -> dict[str, Any]:
    """At the 30-minute mark: everyone seated for the part with no door record is absent (缺考).
    Refused before then — the door is still open to the late."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "attendance.record")
        exam = get_session(session, session_code, lock=True)
        start = _start(exam, part)
        when = at or utcnow()
        if when < start + timedelta(minutes=LATE_LIMIT_MINUTES):
            opens = (start + timedelta(minutes=LATE_LIMIT_MINUTES)).astimezone(BEIJING)
            raise ConflictError(f"entry to {PARTS.get(part, part)} closes at {opens:%Y-%m-%d %H:%M} (30 minutes after the start); "
                                "until then late candidates may still come")  # fmt: skip
        seated = select(Seat.candidate_id).where(Seat.session_id == exam.id, Seat.part == part)
        recorded = select(Attendance.candidate_id).where(Attendance.session_id == exam.id, Attendance.part == part)
        missing = list(session.scalars(seated.where(Seat.candidate_id.not_in(recorded))))
        session.add_all(Attendance(candidate_id=cid, session_id=exam.id, part=part, status="absent", identity="unchecked",
                                   at=when, recorded_by=actor.username, note="入场截止未到") for cid in missing)  # fmt: skip
        audit(session, actor, "attendance.close", "exam_session", session_code, part=part, absent=len(missing))
        return {"session": session_code, "part": part, "absent": len(missing), **attendance_counts(session, exam.id, part)}


def attendance_counts(session: Any, session_id: Any, part: str | None = None) -> dict[str, int]:
    q = select(Attendance.status, func.count()).where(Attendance.session_id == session_id)
    if part:
        q = q.where(Attendance.part == part)
    return {s: n for s, n in session.execute(q.group_by(Attendance.status))}


def attendance(bank: Bank, session_code: str, *, part: str | None = None) -> dict[str, Any]:
    """Per room and part: seated, present, late, refused, absent, not yet recorded; and the records."""
    with bank.transaction() as session:
        bank.actor(session, "session.read")
        exam = get_session(session, session_code)
        q = (select(Seat.part, Room.code, Seat.seat, Candidate.ticket, Attendance)
             .join(Room, Room.id == Seat.room_id).join(Candidate, Candidate.id == Seat.candidate_id)
             .outerjoin(Attendance, (Attendance.candidate_id == Seat.candidate_id) & (Attendance.part == Seat.part))
             .where(Seat.session_id == exam.id).order_by(Seat.part, Room.code, Seat.seat))  # fmt: skip
        if part:
            q = q.where(Seat.part == part)
        rooms: dict[tuple[str, str], dict[str, int]] = {}
        records = []
        for p, room, number, ticket, a in session.execute(q):
            counts = rooms.setdefault((p, room), {"seated": 0, **{s: 0 for s in STATUSES}, "unrecorded": 0})
            counts["seated"] += 1
            counts[a.status if a else "unrecorded"] += 1
            records.append({"part": p, "room": room, "seat": number, "ticket": ticket, "status": a.status if a else None,
                            "identity": a.identity if a else None, "minutes_late": a.minutes_late if a else None})  # fmt: skip
        return {"session": session_code, "rooms": [{"part": p, "room": r, **c} for (p, r), c in rooms.items()], "records": records}
