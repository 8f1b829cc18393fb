"""Admission tickets (准考证): the signed token in their QR code, the PDFs, and the door check.

The token is `crypto.tokens` kind "ticket", signed by the institution key: it carries the ticket
number, the candidate's name and masked ID number, the session, date and each part's room and
seat. At the door (五对照: person, ID card, photo, seat, ticket) a clerk verifies it offline with
the institution's verifier key and compares it with the ID card and the person; the attendance
record is then written with `attendance.record`.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.crypto.signing import VerifyKey
from examvault.crypto.tokens import open_token, sign_token
from examvault.errors import ConflictError, IntegrityError, NotFoundError, ValidationError
from examvault.itembank.domain import LEVEL_NAMES
from examvault.registration.identity import mask_id
from examvault.registration.intake import PARTS
from examvault.registration.models import Candidate, ExamSession, Room, Seat
from examvault.registration.service import candidate_photo, get_session, open_candidate
from examvault.registration.sittings import occupation_name, part_times, ticket_problem


def candidate_notices(session: Session, exam: ExamSession) -> list[str]:
    """考生注意事项: the plan's own, else the institution's defaults (data/candidate_notices.yaml)."""
    from examvault.registration.models import ExamPlan

    plan = session.get(ExamPlan, exam.plan_year) if exam.plan_year else None
    if plan and plan.body.get("notices_for_candidates"):
        return [str(x) for x in plan.body["notices_for_candidates"]]
    text = resources.files("examvault.registration").joinpath("data/candidate_notices.yaml").read_text("utf-8")
    return [str(x) for x in yaml.safe_load(text)]


def _tickets(session: Session, bank: Bank, exam: ExamSession, codes: tuple[str, ...]) -> list[dict[str, Any]]:
    from examvault.custody.service import institution_signing_key

    keyring = bank.keyring(session)
    key = institution_signing_key(session, keyring)
    q = select(Candidate).where(Candidate.session_id == exam.id, Candidate.ticket.is_not(None))
    if codes:
        q = q.where((Candidate.code.in_(codes)) | (Candidate.ticket.in_(codes)))
    cands = list(session.scalars(q.order_by(Candidate.ticket)))
    if codes and len(cands) != len(set(codes)):
        found = {c.code for c in cands} | {c.ticket for c in cands}
        raise NotFoundError(f"not seated in session {exam.code}: {', '.join(c for c in codes if c not in found)}")
    if not cands:
        raise ConflictError(f"session {exam.code} has nobody seated yet (`examvault session seat {exam.code}`)")
    seats: dict[Any, list[tuple[Seat, Room]]] = {}
    for seat, room in session.execute(select(Seat, Room).join(Room, Room.id == Seat.room_id).where(Seat.session_id == exam.id)):
        seats.setdefault(seat.candidate_id, []).append((seat, room))
    times = part_times(exam)
    occ_name = occupation_name(session, exam.occupation)
    order = list(PARTS)
    out = []
    for c in cands:
        doc = open_candidate(keyring, c)
        placed = sorted(seats.get(c.id, []), key=lambda sr: order.index(sr[0].part))
        parts = [{"part": s.part, "name": PARTS[s.part], "date": exam.exam_date.isoformat(), "start": times[s.part]["start"],
                  "end": times[s.part]["end"], "place": r.location or exam.site, "room": r.code, "seat": s.seat}
                 for s, r in placed]  # fmt: skip
        payload = {"ticket": c.ticket, "candidate": c.code, "name": doc.get("name", ""), "id_masked": mask_id(doc.get("id_number", "")),
                   "session": exam.code, "occupation": exam.occupation, "level": exam.level, "valid_on": exam.exam_date.isoformat(),
                   "seats": [[p["part"], p["room"], p["seat"], p["start"]] for p in parts]}  # fmt: skip
        out.append({"ticket": c.ticket, "candidate": c.code, "name": doc.get("name", ""), "id_number": doc.get("id_number", ""),
                    "gender": doc.get("gender", ""), "occupation": exam.occupation, "occupation_name": occ_name,
                    "level": exam.level, "level_name": LEVEL_NAMES[exam.level], "session": exam.code, "site": exam.site,
                    "parts": parts, "photo": candidate_photo(keyring, c), "token": sign_token(key, "ticket", payload)})  # fmt: skip
    return out


def print_tickets(bank: Bank, session_code: str, *, out: Path | None = None, split: Path | None = None,
                  candidates: tuple[str, ...] = ()) -> dict[str, Any]:  # fmt: skip
    """The batch PDF (`out`) and/or one PDF per candidate (`split`, named by ticket number): front
    and back of each ticket, for duplex printing. Printing is audited; ID numbers print in full."""
    from examvault.custody.service import institution_title
    from examvault.registration.documents import render_tickets

    if out is None and split is None:
        raise ValidationError("give --out FILE (the batch PDF), --split DIR (one PDF per candidate), or both")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "ticket.issue")
        exam = get_session(session, session_code)
        tickets = _tickets(session, bank, exam, candidates)
        institution, notices = institution_title(session), candidate_notices(session, exam)
        # Rendered in memory and written only once the print is on record: a failure leaves no PDF
        # with ID numbers and photos behind, unaudited.
        pdfs: list[tuple[Path, bytes]] = []
        if out is not None:
            pdfs.append((out, render_tickets(tickets, institution=institution, notices=notices)))
        if split is not None:
            pdfs += [(split / f"准考证-{t['ticket']}.pdf", render_tickets([t], institution=institution, notices=notices, font_tickets=tickets))
                     for t in tickets]  # fmt: skip
        audit(session, actor, "ticket.print", "exam_session", session_code, count=len(tickets))
    files = []
    for path, data in pdfs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(str(path))
    return {"session": session_code, "tickets": len(tickets), "files": files if len(files) <= 20 else [*files[:20], "…"],
            "first": {k: tickets[0][k] for k in ("ticket", "token")}}  # fmt: skip


def verify_ticket(token: str, trusted: VerifyKey, *, on: date | None = None, session_code: str | None = None) -> dict[str, Any]:
    """The offline door check: signed by the institution, a ticket, for this day (and session). What it
    returns is what the clerk compares with the ID card and the person."""
    payload = open_token(trusted, token, "ticket")
    if problem := ticket_problem(str(payload.get("ticket", ""))):
        raise IntegrityError(f"the token's ticket number is not valid: {problem}")
    if on is not None and payload.get("valid_on") != on.isoformat():
        raise IntegrityError(f"this ticket is for {payload.get('valid_on')}, not {on.isoformat()}")
    if session_code and payload.get("session") != session_code:
        raise IntegrityError(f"this ticket is for session {payload.get('session')}, not {session_code}")
    return payload
