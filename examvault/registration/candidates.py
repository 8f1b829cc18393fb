"""Registration (报名): import or add candidates to a year's plan, decide eligibility, list them.

An import is one transaction and all or nothing: any row with a bad field, or an ID number
registered twice for one occupation, and nothing is registered. A row that is well-formed
but ineligible is registered as refused, with its decision — the rule and evidence that
decided it — so the applicant can be told why.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.crypto.records import seal_fields
from examvault.crypto.signing import canonical_json
from examvault.db import beijing_today, bulk_insert, free_codes, utcnow
from examvault.errors import NOTHING_IMPORTED, ConflictError, Issue, NotFoundError, ValidationError
from examvault.itembank.domain import LEVEL_NAMES
from examvault.registration import eligibility as E
from examvault.registration.identity import mask_id
from examvault.registration.intake import IMPORT_FIELDS, REQUIRED, Registration, check_row
from examvault.registration.models import (
    CANDIDATE_PERSONAL,
    Candidate,
    EligibilityDecision,
    ExamSession,
    Room,
    Seat,
)
from examvault.registration.plan import current_eligibility, get_plan
from examvault.registration.service import open_candidate


def import_candidates(bank: Bank, year: int, path: Path, *, photos: Path | None = None, late: bool = False,
                      encoding: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Register the candidates in a registration form file (xlsx, csv or json) to the plan of `year`."""
    from examvault.itembank.formats.tabular import read_table

    raws = read_table(path, IMPORT_FIELDS, REQUIRED, encoding=encoding, list_key="candidates")
    folders = [photos] if photos else [path.parent]
    return _register(bank, year, path.name, raws, folders, late=late)


def add_candidate(bank: Bank, year: int, fields: Mapping[str, str], *, photo: Path | None = None, late: bool = False) -> dict[str, Any]:
    """Register one candidate; `fields` use the import's field names (name, id_number, occupation…)."""
    from examvault.itembank.formats.fields import RawRow

    unknown = sorted(set(fields) - set(IMPORT_FIELDS))
    if unknown:
        raise ValidationError(f"unknown field(s) {', '.join(unknown)}")
    values = {k: str(v or "").strip() for k, v in fields.items()}
    if photo is not None:
        values["photo"] = photo.name
    columns = {k: f"--{k.replace('_', '-')}" for k in IMPORT_FIELDS}
    out = _register(bank, year, "candidate add", [RawRow("candidate add", "", values, columns)],
                    [photo.parent] if photo else [], late=late)  # fmt: skip
    return out["candidates"][0]  # type: ignore[no-any-return]


def _register(bank: Bank, year: int, file: str, raws: list[Any], folders: list[Path], *, late: bool) -> dict[str, Any]:
    today = beijing_today()
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "candidate.manage")
        plan_row = get_plan(session, year)
        plan = plan_row.body
        window = plan["window"]
        if not late and not window["open"] <= today.isoformat() <= window["close"]:
            raise ConflictError(f"registration for {year} is open {window['open']} to {window['close']}; today is {today} "
                                "(pass --late to register outside the window, which is recorded)")  # fmt: skip
        issues: list[Issue] = []
        rows: list[Registration] = []
        for raw in raws:
            reg, found = check_row(raw, plan, folders, today=today)
            issues += found
            if reg is not None:
                rows.append(reg)
        issues += _duplicates(session, bank, file, rows, year)
        if issues:
            raise ValidationError(issues, outcome=NOTHING_IMPORTED)
        version, rules = current_eligibility(session, actor.username)
        employer = E.employer_branches(rules, plan.get("employer_conditions"), f"the {year} plan")
        keyring = bank.keyring(session)
        keyring.pin(session, "personal")
        taken = set(session.scalars(select(Candidate.code)))
        issues = _code_clashes(file, rows, taken)
        if issues:
            raise ValidationError(issues, outcome=NOTHING_IMPORTED)
        taken |= {r.code for r in rows if r.code}
        codes = free_codes(lambda k: f"BM{year}{k:06d}", taken)
        now = utcnow()
        candidates, decisions, out = [], [], []
        for reg in rows:
            cid = uuid.uuid4()
            decision = E.decide(rules, reg.facts, employer, plan_year=year)
            code = reg.code or next(codes)
            sealed = seal_fields(keyring, CANDIDATE_PERSONAL, str(cid), 1, {"personal": canonical_json(reg.doc), "photo": reg.photo})
            candidates.append({"id": cid, "code": code, "occupation": reg.occupation, "level": reg.level, "session_id": None,
                               "status": "accepted" if decision.eligible else "refused", "plan_year": year, "ticket": None,
                               "parts": reg.parts, "created_at": now, "purged_at": None, "version": 1, **sealed})  # fmt: skip
            decisions.append({"candidate_id": cid, "rules_version": version, "rule": decision.rule, "eligible": decision.eligible,
                              "evidence": decision.evidence, "reason": decision.text[:400], "decided_by": actor.username,
                              "decided_at": now})  # fmt: skip
            out.append({"row": reg.where, "id": code, "occupation": reg.occupation, "level": reg.level,
                        "id_number_masked": mask_id(reg.doc["id_number"]), "status": candidates[-1]["status"],
                        "rule": decision.rule, "reason": decision.text, "photo": reg.photo is not None})  # fmt: skip
        bulk_insert(session, Candidate.__table__, candidates)
        bulk_insert(session, EligibilityDecision.__table__, decisions)
        accepted = sum(1 for c in candidates if c["status"] == "accepted")
        audit(session, actor, "candidate.register", "exam_plan", str(year), file=file, count=len(rows), accepted=accepted,
              refused=len(rows) - accepted, rules_version=version, late=not window["open"] <= today.isoformat() <= window["close"])  # fmt: skip
        return {"file": file, "plan": year, "registered": len(rows), "accepted": accepted, "refused": len(rows) - accepted,
                "rules_version": version, "candidates": out}  # fmt: skip


def _code_clashes(file: str, rows: list[Registration], taken: set[str]) -> list[Issue]:
    """报名序号 given in the file must be new: to the bank and within the file."""
    seen: dict[str, str] = {}
    issues = []
    for r in rows:
        if not r.code:
            continue
        if r.code in taken:
            issues.append(Issue(file, r.where, r.columns["code"], f"registration number {r.code} is already in use"))
        elif r.code in seen:
            issues.append(Issue(file, r.where, r.columns["code"], f"registration number {r.code} repeats {seen[r.code]}"))
        seen.setdefault(r.code, r.where)
    return issues


def _duplicates(session: Session, bank: Bank, file: str, rows: list[Registration], year: int) -> list[Issue]:
    """The same ID number twice for one occupation in a year — in the file, or already registered."""
    seen: dict[tuple[str, str], str] = {}
    issues = []
    for r in rows:
        key = (r.doc["id_number"], r.occupation)
        if key in seen:
            issues.append(Issue(file, r.where, r.columns["id_number"], f"this person is registered for {r.occupation} on {seen[key]} as well"))
        seen.setdefault(key, r.where)
    occupations = {r.occupation for r in rows}
    if not rows:
        return issues
    keyring = bank.keyring(session)
    # A refused application may be made again, corrected; an accepted one only once.
    q = select(Candidate).where(Candidate.plan_year == year, Candidate.occupation.in_(occupations), Candidate.status == "accepted",
                                Candidate.purged_at.is_(None))  # fmt: skip
    columns = {r.where: r.columns["id_number"] for r in rows}
    for cand in session.scalars(q):
        key = (open_candidate(keyring, cand)["id_number"], cand.occupation)
        if key in seen:
            issues.append(Issue(file, seen[key], columns[seen[key]], f"already registered for {cand.occupation} in {year} as {cand.code}"))
    return issues


def get_candidate(session: Session, code: str) -> Candidate:
    cand = session.scalars(select(Candidate).where(Candidate.code == code)).first()
    if cand is None:
        raise NotFoundError(f"no candidate {code!r}")
    return cand


def _seats(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    out: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for i in range(0, len(ids), 500):
        q = select(Seat.candidate_id, Seat.part, Room.code, Seat.seat).join(Room, Room.id == Seat.room_id).where(Seat.candidate_id.in_(ids[i : i + 500]))
        for cid, part, room, seat in session.execute(q.order_by(Seat.part)):
            out.setdefault(cid, []).append({"part": part, "room": room, "seat": seat})
    return out


def list_candidates(bank: Bank, *, year: int | None = None, session_code: str | None = None, status: str | None = None,
                    occupation: str | None = None, level: int | None = None, full_ids: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """Candidates with masked ID numbers; the full number only to roles allowed it (audited)."""
    with bank.transaction() as session:
        actor = bank.actor(session, "candidate.identity" if full_ids else "candidate.read")
        keyring = bank.keyring(session)
        q = select(Candidate, ExamSession.code).outerjoin(ExamSession, ExamSession.id == Candidate.session_id)
        if year is not None:
            q = q.where(Candidate.plan_year == year)
        if session_code:
            q = q.where(ExamSession.code == session_code)
        for col, value in ((Candidate.status, status), (Candidate.occupation, occupation), (Candidate.level, level)):
            if value is not None:
                q = q.where(col == value)
        rows = session.execute(q.order_by(Candidate.code)).all()
        seats = _seats(session, [c.id for c, _ in rows])
        out = []
        for cand, exam_code in rows:
            doc = open_candidate(keyring, cand)
            item = {"id": cand.code, "name": doc.get("name", ""), "id_number_masked": mask_id(doc.get("id_number", "")),
                    "occupation": cand.occupation, "level": cand.level, "level_name": LEVEL_NAMES.get(cand.level, ""),
                    "status": cand.status, "plan": cand.plan_year, "session": exam_code, "ticket": cand.ticket,
                    "parts": cand.parts, "seats": seats.get(cand.id, [])}  # fmt: skip
            if full_ids:
                item["id_number"] = doc.get("id_number", "")
            out.append(item)
        if full_ids:
            with bank.transaction(write=True) as w:  # reading full ID numbers is itself on record
                audit(w, actor.username, "candidate.identity.read", "candidates", session_code or str(year or ""), count=len(out))
        return out


def show_candidate(bank: Bank, code: str) -> dict[str, Any]:
    """One candidate with the eligibility decisions that were made, newest first."""
    with bank.transaction() as session:
        bank.actor(session, "candidate.read")
        cand = get_candidate(session, code)
        doc = open_candidate(bank.keyring(session), cand)
        decisions = session.scalars(select(EligibilityDecision).where(EligibilityDecision.candidate_id == cand.id)
                                    .order_by(EligibilityDecision.id.desc()))  # fmt: skip
        exam = session.get(ExamSession, cand.session_id) if cand.session_id else None
        return {"id": cand.code, "name": doc.get("name", ""), "id_number_masked": mask_id(doc.get("id_number", "")),
                "gender": doc.get("gender", ""), "education": doc.get("education", ""), "occupation": cand.occupation,
                "level": cand.level, "status": cand.status, "plan": cand.plan_year, "session": exam.code if exam else None,
                "ticket": cand.ticket, "parts": cand.parts, "photo": cand.photo is not None,
                "seats": _seats(session, [cand.id]).get(cand.id, []),
                "decisions": [{"rule": d.rule, "eligible": d.eligible, "reason": d.reason, "evidence": d.evidence,
                               "rules_version": d.rules_version, "decided_by": d.decided_by, "decided_at": d.decided_at.isoformat()}
                              for d in decisions]}  # fmt: skip


def registration_counts(session: Session, year: int) -> dict[tuple[str, int, str], int]:
    q = select(Candidate.occupation, Candidate.level, Candidate.status, func.count()).where(Candidate.plan_year == year)
    return {(o, lv, s): n for o, lv, s, n in session.execute(q.group_by(Candidate.occupation, Candidate.level, Candidate.status))}
