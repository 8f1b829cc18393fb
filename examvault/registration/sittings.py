"""From registrations to a sitting: seat the accepted candidates in rooms, number their tickets,
and print what the rooms need — the preparation notices (准备通知单) and the seating charts.

Seating takes the session's rooms of each kind, or makes enough of them at the capacity given
(理论01, 理论02 …; 实操01 …; 答辩01 …). An over-full sitting is refused, naming the shortfall.
Ticket numbers are structured (see `ticket_number`) and issued when the candidate is seated.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.errors import ConflictError, ValidationError
from examvault.itembank.domain import LEVEL_NAMES
from examvault.itembank.models import Occupation
from examvault.registration import seating as S
from examvault.registration.intake import PARTS
from examvault.registration.models import Candidate, ExamSession, Room, Seat
from examvault.registration.service import PART_ROOMS, get_session, open_candidate, placed_per_room
from examvault.staff import rules as R
from examvault.staff.service import current_rules

ROOM_PREFIX = {"theory": "理论", "skill": "实操", "defence": "答辩"}
DEFAULT_CAPACITY = {"theory": 30, "skill": 10, "defence": 10}
DEFAULT_COLUMNS = 5


def luhn(digits: str) -> str:
    """The Luhn check digit: catches any single mistyped digit and most swaps at a door desk."""
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str(-total % 10)


def ticket_number(plan_year: int, serial: int, level: int, sequence: int) -> str:
    """准考证号, 12 digits: plan year (2), the session's serial in that plan (3), level (1), the
    candidate's number in the session (5, in room and seat order), a Luhn check digit (1).

    Unique because a session's serial is unique in its plan year and a candidate's number in its
    session; the room and seat are printed beside it (a number built from them would collide
    between a theory room and a skill station, or break past 99 seats)."""
    if not 1 <= sequence <= 99_999:
        raise ConflictError("a session numbers at most 99,999 tickets; split the cohort over sessions (--limit)")
    body = f"{plan_year % 100:02d}{serial:03d}{level}{sequence:05d}"
    return body + luhn(body)


def ticket_problem(text: str) -> str | None:
    if len(text) != 12 or not text.isascii() or not text.isdigit():
        return "a ticket number has 12 digits"
    if luhn(text[:11]) != text[11]:
        return "the check digit is wrong: the number is mistyped"
    return None


def _rooms_for(session: Session, exam: ExamSession, kind: str, need: int, capacity: int, placed: dict[int, int]) -> list[Room]:
    """The session's rooms of this kind, or new ones enough for `need` candidates."""
    rooms = [r for r in exam.rooms if r.kind == kind]
    if not rooms:
        for n in range(1, math.ceil(need / capacity) + 1):
            room = Room(session_id=exam.id, code=f"{ROOM_PREFIX[kind]}{n:02d}", kind=kind, capacity=capacity, location="")
            session.add(room)
            rooms.append(room)
        session.flush()
        return rooms
    free = sum(r.capacity - placed.get(r.id, 0) for r in rooms)
    if need > free:
        raise ConflictError(f"session {exam.code}: {need} candidates need a {kind} place and its {len(rooms)} {kind} room(s) have "
                            f"{free} free; add rooms with `examvault session room` or seat fewer with --limit")  # fmt: skip
    return rooms


def seat_session(bank: Bank, session_code: str, *, capacity: dict[str, int] | None = None, columns: int = DEFAULT_COLUMNS,
                 limit: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Seat the plan's accepted, not yet seated candidates of the session's occupation and level —
    every part each sits — and give each a ticket number. One transaction: all are seated or none."""
    capacity = {**DEFAULT_CAPACITY, **(capacity or {})}
    if any(c < 1 for c in capacity.values()) or columns < 1:
        raise ValidationError("capacities and --columns are at least 1")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "session.manage")
        exam = get_session(session, session_code, lock=True)
        if exam.plan_year is None or exam.serial is None:
            raise ConflictError(f"session {session_code} was not created from a plan (`session create --plan YEAR`); seat its "
                                "candidates by room with `candidate place`")  # fmt: skip
        if exam.stage == "closed":
            raise ConflictError(f"session {session_code} is closed")
        timed = {p["part"] for p in exam.parts}
        q = select(Candidate).where(Candidate.plan_year == exam.plan_year, Candidate.occupation == exam.occupation,
                                    Candidate.level == exam.level, Candidate.status == "accepted",
                                    Candidate.session_id.is_(None)).order_by(Candidate.code)  # fmt: skip
        q = q.with_for_update(skip_locked=True)  # two sessions seating one cohort at once take different people
        cands = list(session.scalars(q.limit(limit) if limit else q))
        if not cands:
            raise ConflictError(f"no accepted, unseated {exam.occupation} level {exam.level} candidates in the {exam.plan_year} plan")
        sitting = {c.id: [p for p, how in c.parts.items() if how != "免考"] for c in cands}
        untimed = sorted({p for ps in sitting.values() for p in ps} - timed)
        if untimed:
            raise ConflictError(f"session {session_code} has no time for {', '.join(PARTS[p] for p in untimed)}; "
                                "give it with `session create --theory/--skill/--defence/--review HH:MM-HH:MM`")  # fmt: skip
        keyring = bank.keyring(session)
        units = {c.id: _unit(keyring, c) for c in cands}
        placed = placed_per_room(session, exam)
        by_kind: dict[str, list[Candidate]] = defaultdict(list)
        for c in cands:
            for kind in dict.fromkeys(PART_ROOMS[p] for p in sitting[c.id]):
                by_kind[kind].append(c)
        seats_of: dict[uuid.UUID, dict[str, tuple[Room, int]]] = defaultdict(dict)
        rows = []
        for kind, group in by_kind.items():
            rooms = _rooms_for(session, exam, kind, len(group), capacity[kind], placed)
            rooms = [r for r in rooms if r.capacity > placed.get(r.id, 0)]  # full rooms take nobody
            free = [r.capacity - placed.get(r.id, 0) for r in rooms]
            for p in S.seat([c.id for c in group], [units[c.id] for c in group], free, columns):
                room = rooms[p.room]
                number = placed.get(room.id, 0) + p.seat
                seats_of[p.candidate][kind] = (room, number)
        for c in cands:
            for part in sitting[c.id]:
                room, number = seats_of[c.id][PART_ROOMS[part]]
                rows.append(Seat(candidate_id=c.id, session_id=exam.id, room_id=room.id, part=part, seat=number))
        # Ticket numbers run in room and seat order of each candidate's first part, after any issued before.
        order = list(ROOM_PREFIX)
        first = {c.id: min(seats_of[c.id].items(), key=lambda kv: order.index(kv[0]))[1] for c in cands}
        highest = session.scalar(select(func.max(Candidate.ticket)).where(Candidate.session_id == exam.id))
        issued = int(highest[6:11]) if highest else 0  # the sequence digits: numbers are never reused
        for n, c in enumerate(sorted(cands, key=lambda c: (first[c.id][0].code, first[c.id][1])), start=issued + 1):
            c.session_id, c.ticket = exam.id, ticket_number(exam.plan_year, exam.serial, exam.level, n)
        session.add_all(rows)
        session.flush()
        audit(session, actor, "session.seat", "exam_session", session_code, candidates=len(cands), seats=len(rows))
        counts = placed_per_room(session, exam)
        session.refresh(exam)
        return {"session": session_code, "seated": len(cands), "seats": len(rows),
                "rooms": [{"room": r.code, "kind": r.kind, "capacity": r.capacity, "candidates": counts.get(r.id, 0)} for r in exam.rooms],
                "same_unit_neighbours": _neighbours(session, exam, keyring, columns, units)}  # fmt: skip


def _unit(keyring: Any, cand: Candidate) -> str:
    """The work unit as seating compares it; a candidate who gave none is a unit of their own."""
    return R.normalise_unit(open_candidate(keyring, cand).get("work_unit", "")) or f"#{cand.code}"


def _neighbours(session: Session, exam: ExamSession, keyring: Any, columns: int, units: dict[uuid.UUID, str]) -> int:
    """Same-unit pairs side by side or one behind the other over every room of the session: what seating
    minimises. `units` holds those just seated; candidates seated earlier are opened here."""
    index = {r.id: n for n, r in enumerate(exam.rooms)}
    q = select(Seat.room_id, Seat.seat, Candidate).join(Candidate, Candidate.id == Seat.candidate_id).where(Seat.session_id == exam.id)
    placed = {}
    for room_id, number, cand in session.execute(q):
        if cand.id not in units:
            units[cand.id] = _unit(keyring, cand)
        placed[(room_id, number)] = S.Placement(cand.id, index[room_id], number)  # defence and review share a desk
    return S.adjacent_pairs(list(placed.values()), units, [r.capacity for r in exam.rooms], columns)


def occupation_name(session: Session, code: str) -> str:
    return session.scalar(select(Occupation.name).where(Occupation.code == code)) or code


def part_times(exam: ExamSession) -> dict[str, dict[str, str]]:
    return {p["part"]: p for p in exam.parts}


def room_part(exam: ExamSession, room: Room) -> str:
    """The part a room is used for (a defence room may also hold the review)."""
    timed = [p["part"] for p in exam.parts if PART_ROOMS[p["part"]] == room.kind]
    return timed[0] if timed else room.kind


def seating_chart(bank: Bank, session_code: str, out: Path, *, kind: str = "theory", columns: int = DEFAULT_COLUMNS) -> dict[str, Any]:
    """考场座位表 for every room of one kind (theory rooms by default), one page each."""
    from examvault.custody.service import institution_title
    from examvault.registration.documents import render_seating_chart

    with bank.transaction() as session:
        bank.actor(session, "session.manage")
        exam = get_session(session, session_code)
        keyring = bank.keyring(session)
        times = part_times(exam)
        pages = []
        q = select(Seat, Candidate).join(Candidate, Candidate.id == Seat.candidate_id)
        for room in (r for r in exam.rooms if r.kind == kind):
            part = room_part(exam, room)
            seats = [{"seat": s.seat, "ticket": c.ticket or c.code, "name": open_candidate(keyring, c).get("name", "")}
                     for s, c in session.execute(q.where(Seat.room_id == room.id).order_by(Seat.seat))]  # fmt: skip
            header = {"code": exam.code, "occupation": exam.occupation, "occupation_name": occupation_name(session, exam.occupation),
                      "level_name": LEVEL_NAMES[exam.level], "date": exam.exam_date.isoformat(), "site": exam.site,
                      "institution": institution_title(session), "part_name": PARTS.get(part, part),
                      "start": times.get(part, {}).get("start", ""), "end": times.get(part, {}).get("end", "")}  # fmt: skip
            pages.append((header, {"room": room.code, "location": room.location, "capacity": room.capacity, "columns": columns,
                                   "seats": seats}))  # fmt: skip
        if not pages:
            raise ConflictError(f"session {session_code} has no {kind} rooms yet")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(render_seating_chart(pages[0][0], [room for _, room in pages]))
        return {"session": session_code, "rooms": len(pages), "file": str(out)}


def preparation_notices(bank: Bank, session_code: str, out_dir: Path) -> dict[str, Any]:
    """理论考场准备通知单 and 实操考场准备通知单 (PDF and DOCX): rooms, counts and the staff each needs."""
    from examvault.custody.service import institution_title
    from examvault.export.report import to_docx, to_pdf
    from examvault.registration.documents import preparation_notice

    with bank.transaction() as session:
        bank.actor(session, "session.manage")
        exam = get_session(session, session_code)
        _, rules = current_rules(session)
        placed = placed_per_room(session, exam)
        times = part_times(exam)
        files = []
        out_dir.mkdir(parents=True, exist_ok=True)
        for kind, title in (("theory", "理论考场准备通知单"), ("skill", "实操考场准备通知单")):
            rooms = [r for r in exam.rooms if r.kind == kind]
            if not rooms:
                continue
            duty = "invigilator" if kind == "theory" else "examiner"
            data = {"institution": institution_title(session), "session": exam.code, "occupation": exam.occupation,
                    "occupation_name": occupation_name(session, exam.occupation), "level_name": LEVEL_NAMES[exam.level],
                    "date": exam.exam_date.isoformat(), "site": exam.site,
                    "parts": [{"name": PARTS[p], "start": t["start"], "end": t["end"]} for p, t in times.items()
                              if PART_ROOMS[p] == kind],
                    "rooms": [{"room": r.code, "location": r.location, "capacity": r.capacity, "candidates": placed.get(r.id, 0),
                               f"{duty}s_needed": R.required_staffing(rules, kind, placed.get(r.id, 0) or r.capacity).get(duty, 0)}
                              for r in rooms]}  # fmt: skip
            doc = preparation_notice(kind, data)
            for suffix, render in ((".pdf", to_pdf), (".docx", to_docx)):
                path = out_dir / f"{exam.code}-{title}{suffix}"
                path.write_bytes(render(doc))
                files.append(str(path))
        if not files:
            raise ConflictError(f"session {session_code} has no theory rooms or skill stations yet")
        return {"session": session_code, "files": files}

