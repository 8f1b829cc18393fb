"""Exam sessions, rooms and candidates: the sitting that staff are assigned to.

This is the core the registration issue grows (eligibility, tickets, certificates);
here it holds what staffing and supervision need: a session with its occupation,
level and date, its rooms and stations, and who sits where.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.crypto.keyring import Keyring
from examvault.crypto.records import open_document, open_fields, row_of, seal_document
from examvault.db import free_codes
from examvault.errors import ConflictError, NotFoundError, ValidationError, check_length
from examvault.registration.identity import id_number_problem, mask_id, phone_problem
from examvault.registration.models import CANDIDATE_PERSONAL, Candidate, ExamPlan, ExamSession, Room, Seat
from examvault.staff.rules import ROOM_KINDS

STAGES = ("registration_review", "paper_approval", "room_acceptance", "marking", "result_registration", "closed")


def get_session(session: Session, code: str, *, lock: bool = False) -> ExamSession:
    """`lock` serialises writers on one session (FOR UPDATE on PostgreSQL; SQLite writers are serial already)."""
    q = select(ExamSession).where(ExamSession.code == code)
    row = session.scalars(q.with_for_update() if lock else q).first()
    if row is None:
        raise NotFoundError(f"no exam session {code!r} (create it with `examvault session create`)")
    return row


def get_room(session: Session, exam: ExamSession, code: str) -> Room:
    room = session.scalars(select(Room).where(Room.session_id == exam.id, Room.code == code)).first()
    if room is None:
        have = ", ".join(r.code for r in exam.rooms) or "none yet"
        raise NotFoundError(f"session {exam.code} has no room {code!r} (rooms: {have})")
    return room


PART_ROOMS = {"theory": "theory", "skill": "skill", "defence": "defence", "review": "defence"}  # the room kind a part sits in


def parse_times(part: str, text: str) -> tuple[str, str]:
    """`09:00-10:30` → ("09:00", "10:30")."""
    m = re.fullmatch(r"\s*([0-2]?\d):([0-5]\d)\s*[-–~至]\s*([0-2]?\d):([0-5]\d)\s*", text)
    if not m or int(m[1]) > 23 or int(m[3]) > 23 or (int(m[1]), int(m[2])) >= (int(m[3]), int(m[4])):
        raise ValidationError(f"--{part} {text!r}: give the start and end as HH:MM-HH:MM, the end after the start")
    return f"{int(m[1]):02d}:{m[2]}", f"{int(m[3]):02d}:{m[4]}"


def create_session(
    bank: Bank, code: str, *, occupation: str, level: int, exam_date: date, site: str = "", papers: Iterable[str] = (),
    plan_year: int | None = None, site_code: str = "", times: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A sitting. With a plan year it draws on that plan's registrations: the occupation and level must
    be offered, the site is one of the plan's (by its 6-digit code), and it gets the next serial of the
    year, which ticket numbers carry. `times` gives each part's HH:MM-HH:MM on the exam date."""
    parts = [{"part": p, "start": a, "end": b} for p, (a, b) in ((p, parse_times(p, t)) for p, t in (times or {}).items())]
    unknown = [p["part"] for p in parts if p["part"] not in PART_ROOMS]
    if unknown:
        raise ValidationError(f"part {unknown[0]!r} is not one of {', '.join(PART_ROOMS)}")
    if not code or len(code) > 40:
        raise ValidationError("a session code must have 1 to 40 characters")
    check_length(occupation, 20, "--occupation")
    check_length(site, 100, "--site")
    check_length(",".join(papers), 400, "--paper")
    if level not in (1, 2, 3, 4, 5):
        raise ValidationError(f"level {level} is not a level (5 = 五级/初级工 … 1 = 一级/高级技师)")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "session.manage")
        if session.scalars(select(ExamSession.id).where(ExamSession.code == code)).first():
            raise ConflictError(f"exam session {code!r} already exists")
        serial = None
        if plan_year is not None:
            from examvault.registration.plan import get_plan

            get_plan(session, plan_year)
            plan = session.get(ExamPlan, plan_year, with_for_update=True).body  # serials are taken one session at a time
            offered = {o["code"]: o["levels"] for o in plan["occupations"]}
            if level not in offered.get(occupation, []):
                raise ValidationError(f"the {plan_year} plan does not offer {occupation} level {level}")
            sites = {s["code"]: s for s in plan["sites"]}
            if site_code not in sites:
                raise ValidationError(f"--site-code {site_code!r} is not one of the {plan_year} plan's sites ({', '.join(sites)})")
            site = site or sites[site_code]["name"]
            serial = 1 + (session.scalar(select(func.max(ExamSession.serial)).where(ExamSession.plan_year == plan_year)) or 0)
            if serial > 999:
                raise ConflictError(f"the {plan_year} plan has 999 sessions; ticket numbers hold three digits for the session")
        exam = ExamSession(code=code, occupation=occupation, level=level, exam_date=exam_date, site=site,
                           papers=",".join(papers), created_by=actor.username, plan_year=plan_year, site_code=site_code,
                           serial=serial, parts=parts)  # fmt: skip
        session.add(exam)
        session.flush()
        audit(session, actor, "session.create", "exam_session", code, occupation=occupation, level=level,
              exam_date=exam_date.isoformat())  # fmt: skip
        return session_summary(session, exam)


def add_room(bank: Bank, session_code: str, code: str, *, kind: str, capacity: int, location: str = "") -> dict[str, Any]:
    if kind not in ROOM_KINDS:
        raise ValidationError(f"room kind {kind!r} is not one of {', '.join(ROOM_KINDS)}")
    if capacity < 1:
        raise ValidationError(f"room {code}: capacity must be at least 1")
    if not code.strip():
        raise ValidationError("a room needs its code")
    check_length(code, 30, "room code")
    check_length(location, 100, "--location")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "session.manage")
        exam = get_session(session, session_code)
        if any(r.code == code for r in exam.rooms):
            raise ConflictError(f"session {session_code} already has a room {code!r}")
        room = Room(session_id=exam.id, code=code, kind=kind, capacity=capacity, location=location)
        session.add(room)
        session.flush()
        audit(session, actor, "session.room.add", "exam_session", session_code, room=code, kind=kind, capacity=capacity)
        return {"session": session_code, "room": code, "kind": kind, "capacity": capacity, "location": location}


def _candidate_problems(row: Mapping[str, str]) -> list[tuple[str, str]]:
    problems = []
    if not row.get("name", "").strip():
        problems.append(("name", "required"))
    problem = id_number_problem(row.get("id_number", ""))
    if problem:
        problems.append(("id_number", problem))
    if row.get("phone") and (problem := phone_problem(row["phone"])):
        problems.append(("phone", problem))
    if len(row.get("code") or "") > 30:
        problems.append(("code", "at most 30 characters"))
    return problems


def add_candidates(bank: Bank, session_code: str, rows: list[Mapping[str, str]], *, room: str | None = None) -> list[dict[str, Any]]:
    """Place candidates in a session (and a room). All or nothing; each problem names its row and field."""
    issues = [f"candidate {n}, field {f}: {m}" for n, r in enumerate(rows, 1) for f, m in _candidate_problems(r)]
    numbers = [r.get("id_number", "").strip().upper() for r in rows]
    issues += [f"candidate {n}: the ID number repeats an earlier row" for n, v in enumerate(numbers, 1) if v in numbers[: n - 1]]
    if issues:
        raise ValidationError("nothing was added:\n" + "\n".join(issues))
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "candidate.manage")
        keyring = bank.keyring(session)
        keyring.pin(session, "personal")
        exam = get_session(session, session_code)
        target = get_room(session, exam, room) if room else None
        known = {doc["id_number"] for doc in (d for _, d in candidate_documents(session, keyring, exam))}
        dup = [n for n, v in enumerate(numbers, 1) if v in known]
        if dup:
            raise ConflictError(f"candidate {dup[0]}: this ID number is already registered for session {session_code}; nothing was added")
        seated = 0
        if target is not None:
            seated = session.scalar(select(func.max(Seat.seat)).where(Seat.room_id == target.id)) or 0
            if seated + len(rows) > target.capacity:
                raise ConflictError(f"room {room} seats {target.capacity}; {seated} are placed and {len(rows)} more do not fit")
        taken = set(session.scalars(select(Candidate.code))) | {r["code"] for r in rows if r.get("code")}
        codes = free_codes(lambda k: f"{exam.exam_date:%Y}{k:06d}", taken)
        out = []
        for n, (row, number) in enumerate(zip(rows, numbers, strict=True), start=1):
            cid = uuid.uuid4()
            doc = {"name": row["name"].strip(), "id_number": number, "work_unit": row.get("work_unit", "").strip(),
                   "phone": row.get("phone", "").strip()}  # fmt: skip
            code = row.get("code") or next(codes)
            cand = Candidate(id=cid, code=code, occupation=exam.occupation, level=exam.level, session_id=exam.id, status="accepted",
                             parts={target.kind: "新考"} if target else {},
                             **seal_document(keyring, CANDIDATE_PERSONAL, str(cid), 1, "personal", doc))  # fmt: skip
            session.add(cand)
            if target is not None:
                session.add(Seat(candidate_id=cid, session_id=exam.id, room_id=target.id, part=target.kind, seat=seated + n))
            out.append({"code": code, "room": room, "seat": seated + n if target else None, "id_number_masked": mask_id(number)})
        session.flush()
        audit(session, actor, "candidate.add", "exam_session", session_code, count=len(rows), room=room)
        return out


PURGED = "（已按保存期限销毁）"


def open_candidate(keyring: Keyring, cand: Candidate) -> dict[str, Any]:
    """The sealed personal document; after a retention purge, a placeholder that says so."""
    if cand.purged_at is not None:
        return {"name": PURGED, "id_number": "", "work_unit": "", "phone": "", "gender": "", "purged": True}
    return open_document(keyring, CANDIDATE_PERSONAL, cand, "personal")


def candidate_photo(keyring: Keyring, cand: Candidate) -> bytes | None:
    if cand.photo is None or cand.purged_at is not None:
        return None
    return open_fields(keyring, CANDIDATE_PERSONAL, row_of(CANDIDATE_PERSONAL, cand), ("photo",))["photo"]


def candidate_documents(session: Session, keyring: Keyring, exam: ExamSession, room: Room | None = None) -> list[tuple[Candidate, dict[str, Any]]]:
    """The session's candidates (or one room's, in seat order), each opened."""
    if room is not None:
        q = select(Candidate).join(Seat, Seat.candidate_id == Candidate.id).where(Seat.room_id == room.id).order_by(Seat.seat)
    else:
        q = select(Candidate).where(Candidate.session_id == exam.id).order_by(Candidate.code)
    return [(c, open_candidate(keyring, c)) for c in session.scalars(q)]


def seated_documents(session: Session, keyring: Keyring, exam: ExamSession) -> list[tuple[int | None, Candidate, dict[str, Any]]]:
    """(room id, candidate, opened document) per seat — a candidate with a theory desk and a skill station
    appears in both rooms — and (None, …) for those not seated yet. Each candidate is opened once."""
    seats: dict[uuid.UUID, list[int]] = {}
    for cid, room_id in session.execute(select(Seat.candidate_id, Seat.room_id).where(Seat.session_id == exam.id).order_by(Seat.room_id, Seat.seat)):
        seats.setdefault(cid, []).append(room_id)
    return [(room_id, c, d) for c, d in candidate_documents(session, keyring, exam) for room_id in seats.get(c.id, [None])]


def placed_per_room(session: Session, exam: ExamSession) -> dict[int, int]:
    """How many candidates sit in each room."""
    q = select(Seat.room_id, func.count(distinct(Seat.candidate_id))).where(Seat.session_id == exam.id).group_by(Seat.room_id)
    return dict(session.execute(q).all())  # type: ignore[arg-type]


def session_summary(session: Session, exam: ExamSession) -> dict[str, Any]:
    counts = placed_per_room(session, exam)
    return {
        "code": exam.code, "occupation": exam.occupation, "level": exam.level, "exam_date": exam.exam_date.isoformat(),
        "site": exam.site, "stage": exam.stage, "papers": [p for p in exam.papers.split(",") if p],
        "plan": exam.plan_year, "site_code": exam.site_code, "serial": exam.serial, "parts": exam.parts,
        "candidates": session.scalar(select(func.count()).where(Candidate.session_id == exam.id)) or 0,
        "rooms": [{"code": r.code, "kind": r.kind, "capacity": r.capacity, "location": r.location,
                   "candidates": counts.get(r.id, 0)} for r in exam.rooms],
    }  # fmt: skip


def list_sessions(bank: Bank) -> list[dict[str, Any]]:
    with bank.transaction() as session:
        bank.actor(session, "session.read")
        return [session_summary(session, e) for e in session.scalars(select(ExamSession).order_by(ExamSession.exam_date, ExamSession.code))]


def show_session(bank: Bank, code: str) -> dict[str, Any]:
    with bank.transaction() as session:
        bank.actor(session, "session.read")
        return session_summary(session, get_session(session, code))
