"""Results (认定结果): compute each candidate's parts and pass, publicise them for 5 working days by
the Chinese calendar, record objections, and release.

Every part is out of 100; passing means ≥ 60 in every part the candidate sat (a part 免考 was
passed before and is carried). The theory part is the objective total of the form plus, on a
paper with subjective items, their blind-marked total once unmasked, scaled to 100 when the
paper's total is not 100. A practical, defence or review part is the mean of its examiners'
scores, from an odd number ≥ 3 of them, once their spread is checked (≤ SPREAD points; a wider
spread goes back to the chief examiner, whose reviewed score then counts). An absent candidate,
or one refused at the door, has no score for that part and does not pass. Violations apply
(violations.py): a voided paper scores 0; a cancelled sitting or qualification has no scores and
does not pass. Results are fixed once publicised: release needs the same results (a digest taken
at publicity), no open objection, and the window to have run.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.db import BEIJING, beijing_today, utcnow
from examvault.errors import ConflictError, NotFoundError, ValidationError
from examvault.registration.models import Attendance, Candidate, ExamSession
from examvault.registration.service import get_session
from examvault.scoring import calendar
from examvault.scoring.models import (
    MarkingKey,
    Objection,
    PanelReview,
    PartScore,
    Publicity,
    Result,
    ScoredResponse,
)
from examvault.scoring.violations import Effect, effects

PASS_MARK = 60.0
SPREAD = 20.0  # the widest spread of examiners' scores for one candidate and part that is averaged without review
ABSENT = ("absent", "refused")


def _digest(rows: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _publicity(session: Session, exam: ExamSession) -> Publicity | None:
    return session.get(Publicity, exam.id)


def combine(scores: list[float]) -> tuple[float | None, str]:
    """A panel's scores → the part's score (the mean), or None with the reason it cannot be combined."""
    if len(scores) < 3 or len(scores) % 2 == 0:
        return None, f"{len(scores)} examiner score(s); a panel is an odd number, at least 3"
    if max(scores) - min(scores) > SPREAD:
        return None, f"examiners' scores spread {max(scores) - min(scores):g} points (> {SPREAD:g}): the chief examiner reviews them"
    return _tenths(sum(scores) / len(scores)), ""


def _tenths(score: float) -> float:
    """Scores are kept to one decimal, rounded down: 59.97 is 59.9, never a pass."""
    return math.floor(round(score * 10, 6)) / 10


def compute(bank: Bank, session_code: str) -> dict[str, Any]:
    """Compute every seated candidate's result. Refused, naming what is missing, until every part is scored."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "results.compute")
        exam = get_session(session, session_code, lock=True)
        if _publicity(session, exam) is not None:
            raise ConflictError(f"the results of {session_code} are publicised; they are fixed (settle objections, then release)")
        cands = list(session.scalars(select(Candidate).where(Candidate.session_id == exam.id).order_by(Candidate.ticket)))
        if not cands:
            raise ConflictError(f"session {session_code} has no candidates")
        attendance = {(a.candidate_id, a.part): a.status for a in session.scalars(select(Attendance).where(Attendance.session_id == exam.id))}
        # Each answer sheet is scaled by the total of the key it was scored against.
        # A paper with subjective items adds their blind-marked total, joined to the candidate on unmasking.
        theory = {cid: (objective, subjective, blind, total) for cid, objective, subjective, blind, total in session.execute(
            select(ScoredResponse.candidate_id, ScoredResponse.objective, ScoredResponse.subjective, MarkingKey.subjective,
                   MarkingKey.total_points)
            .join(MarkingKey, MarkingKey.id == ScoredResponse.key_id).where(ScoredResponse.session_id == exam.id))}  # fmt: skip
        reviewed = {(r.candidate_id, r.part): r.score for r in session.scalars(select(PanelReview).where(PanelReview.session_id == exam.id))}
        panels: dict[tuple[uuid.UUID, str], list[float]] = defaultdict(list)
        for p in session.scalars(select(PartScore).where(PartScore.session_id == exam.id)):
            panels[(p.candidate_id, p.part)].append(p.score)
        missing: list[str] = []
        rows = []
        violations = effects(session, exam)
        for c in cands:
            parts: dict[str, Any] = {}
            status, notes = "scored", []
            effect = violations.get(c.id, Effect())
            for part, how in c.parts.items():
                if how == "免考":
                    parts[part] = None
                    notes.append(f"{part} 免考")
                    continue
                if effect.status is not None:  # the sitting's scores are cancelled: none is counted, none is awaited
                    parts[part] = None
                    continue
                if part in effect.void_parts:  # the paper was voided (a repeated warning, or by the rules): 0
                    parts[part] = 0.0
                    continue
                if attendance.get((c.id, part)) in ABSENT:
                    parts[part] = None
                    status = "absent"
                    continue
                if part == "theory":
                    if c.id not in theory:
                        missing.append(f"{c.ticket or c.code}: no theory responses")
                        continue
                    objective, subjective, blind, total = theory[c.id]
                    if not total:
                        missing.append(f"{c.ticket}: the key it was scored against has no total points")
                        continue
                    if blind and subjective is None:
                        missing.append(f"{c.ticket}: the subjective items are not marked, checked and unmasked yet (`examvault marking`)")
                        continue
                    parts[part] = _tenths((objective + (subjective or 0.0)) * 100 / total)
                elif (c.id, part) in reviewed:  # the chief examiner's score after reviewing a wide spread
                    parts[part] = reviewed[(c.id, part)]
                    notes.append(f"{part} 主考复核")
                else:
                    score, why = combine(panels.get((c.id, part), []))
                    if score is None:
                        missing.append(f"{c.ticket or c.code} {part}: {why}")
                        continue
                    parts[part] = score
            sat = [parts.get(p) for p, how in c.parts.items() if how != "免考"]
            if not c.parts:
                missing.append(f"{c.ticket or c.code}: no part is recorded for this candidate (placed outside registration)")
            status = effect.status or status
            notes += effect.notes
            passed = status == "scored" and not effect.blocks_pass and bool(sat) and all(s is not None and s >= PASS_MARK for s in sat)
            rows.append({"candidate_id": c.id, "parts": parts, "passed": passed, "status": status, "note": "；".join(notes)[:200]})
        if missing:
            more = f"\n… and {len(missing) - 20} more" if len(missing) > 20 else ""
            raise ConflictError(f"results of {session_code} cannot be computed yet:\n" + "\n".join(missing[:20]) + more)
        session.execute(delete(Result).where(Result.session_id == exam.id))
        now = utcnow()
        session.add_all(Result(session_id=exam.id, computed_by=actor.username, computed_at=now, **r) for r in rows)
        passed = sum(1 for r in rows if r["passed"])
        audit(session, actor, "results.compute", "exam_session", session_code, candidates=len(rows), passed=passed)
        return {"session": session_code, "candidates": len(rows), "passed": passed,
                "absent": sum(1 for r in rows if r["status"] == "absent")}  # fmt: skip


def _rows(session: Session, exam: ExamSession) -> list[dict[str, Any]]:
    q = select(Result, Candidate.ticket, Candidate.code).join(Candidate, Candidate.id == Result.candidate_id)
    return [{"ticket": ticket, "candidate": code, **{p: s for p, s in r.parts.items()}, "passed": r.passed, "status": r.status,
             "note": r.note} for r, ticket, code in session.execute(q.where(Result.session_id == exam.id).order_by(Candidate.ticket))]  # fmt: skip


def show(bank: Bank, session_code: str) -> dict[str, Any]:
    """Per candidate: ticket, theory and each other part sat, passed, status (scored → publicized → released)."""
    with bank.transaction() as session:
        bank.actor(session, "results.read")
        exam = get_session(session, session_code)
        pub = _publicity(session, exam)
        stage = "released" if pub and pub.released_at else ("publicized" if pub else "computed")
        rows = _rows(session, exam)
        for r in rows:
            r["theory"] = r.get("theory")
            if r["status"] == "scored":
                r["status"] = stage
        window = None if pub is None else {"opens": pub.opens.isoformat(), "last_day": pub.last_day.isoformat(),
                                           "release_on": pub.release_on.isoformat()}  # fmt: skip
        return {"session": session_code, "stage": stage, "window": window, "results": rows}


def publicize(bank: Bank, session_code: str, *, start: date | None = None) -> dict[str, Any]:
    """Open the 5-working-day 成绩公示 from `start` (default today); the results are then fixed."""
    today = beijing_today()
    start = start or today
    if start < today:
        raise ValidationError(f"publicity cannot start in the past ({start}); it starts today or later")
    window = calendar.publicity_window(start)
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "results.publicize")
        exam = get_session(session, session_code, lock=True)
        if _publicity(session, exam) is not None:
            raise ConflictError(f"the results of {session_code} are already publicised")
        rows = _rows(session, exam)
        if not rows:
            raise ConflictError(f"compute the results of {session_code} first (`examvault results compute`)")
        session.add(Publicity(session_id=exam.id, opens=window.opens, last_day=window.last_day, release_on=window.release_on,
                              digest=_digest(rows), publicized_by=actor.username))  # fmt: skip
        audit(session, actor, "results.publicize", "exam_session", session_code, opens=window.opens.isoformat(),
              last_day=window.last_day.isoformat(), release_on=window.release_on.isoformat())  # fmt: skip
        return {"session": session_code, "opens": window.opens.isoformat(), "last_day": window.last_day.isoformat(),
                "release_on": window.release_on.isoformat(), "candidates": len(rows)}  # fmt: skip


def _candidate(session: Session, exam: ExamSession, ticket: str) -> Candidate:
    cand = session.scalars(select(Candidate).where(Candidate.ticket == ticket, Candidate.session_id == exam.id)).first()
    if cand is None:
        raise NotFoundError(f"no ticket {ticket} in session {exam.code}")
    return cand


def object_(bank: Bank, session_code: str, ticket: str, reason: str, *, on: date | None = None) -> dict[str, Any]:
    """Record an objection (异议) — only while the publicity window is open."""
    if not reason.strip() or len(reason) > 400:
        raise ValidationError("--reason: what the objection is about (1–400 characters)")
    day = on or beijing_today()
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "results.publicize")
        exam = get_session(session, session_code, lock=True)
        pub = _publicity(session, exam)
        if pub is None or not pub.opens <= day <= pub.last_day:
            when = f"{pub.opens} to {pub.last_day}" if pub else "not opened yet"
            raise ConflictError(f"objections are taken while the results are publicised ({when}); {day} is outside")
        cand = _candidate(session, exam, ticket)
        obj = Objection(session_id=exam.id, candidate_id=cand.id, raised_on=day, reason=reason.strip(), recorded_by=actor.username)
        session.add(obj)
        session.flush()
        audit(session, actor, "results.object", "exam_session", session_code, ticket=ticket, objection=obj.id)
        return {"id": obj.id, "session": session_code, "ticket": ticket, "raised_on": day.isoformat()}


def resolve_objection(bank: Bank, objection_id: int, resolution: str) -> dict[str, Any]:
    if not resolution.strip() or len(resolution) > 400:
        raise ValidationError("--resolution: how the objection was settled (1–400 characters)")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "results.publicize")
        obj = session.get(Objection, objection_id)
        if obj is None:
            raise NotFoundError(f"no objection {objection_id}")
        if obj.resolved_at is not None:
            raise ConflictError(f"objection {objection_id} was settled on {obj.resolved_at.astimezone(BEIJING):%Y-%m-%d}")
        obj.resolution, obj.resolved_by, obj.resolved_at = resolution.strip(), actor.username, utcnow()
        audit(session, actor, "results.objection.resolve", "objection", str(objection_id))
        return {"id": objection_id, "resolved": True}


def release(bank: Bank, session_code: str, *, today: date | None = None) -> dict[str, Any]:
    """Release after the window: refused before `release_on`, with an objection open, or if results changed."""
    day = today or beijing_today()
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "results.release")
        exam = get_session(session, session_code, lock=True)
        pub = _publicity(session, exam)
        if pub is None:
            raise ConflictError(f"the results of {session_code} were not publicised; publicity comes before release")
        if pub.released_at is not None:
            raise ConflictError(f"the results of {session_code} were released on {pub.released_at.astimezone(BEIJING):%Y-%m-%d}")
        if day < pub.release_on:
            raise ConflictError(f"the results are publicised until {pub.last_day} (5 working days); release from {pub.release_on}")
        open_ = session.scalars(select(Objection.id).where(Objection.session_id == exam.id, Objection.resolved_at.is_(None))).all()
        if open_:
            raise ConflictError(f"objection(s) {', '.join(map(str, open_))} are not settled")
        if _digest(_rows(session, exam)) != pub.digest:
            raise ConflictError("the results differ from those publicised; they must be publicised again")
        pub.released_by, pub.released_at = actor.username, utcnow()
        passed = session.scalars(select(Result.id).where(Result.session_id == exam.id, Result.passed.is_(True))).all()
        audit(session, actor, "results.release", "exam_session", session_code, passed=len(passed))
        return {"session": session_code, "released_on": day.isoformat(), "passed": len(passed)}


def released_passes(session: Session, exam: ExamSession) -> list[Candidate]:
    """The candidates whose passing results are released: who may be certified (registration's seam)."""
    pub = _publicity(session, exam)
    if pub is None or pub.released_at is None:
        raise ConflictError(f"no released results for session {exam.code}: results are computed, publicised and released "
                            "with `examvault results`")  # fmt: skip
    q = select(Candidate).join(Result, Result.candidate_id == Candidate.id).where(Result.session_id == exam.id, Result.passed.is_(True))
    return list(session.scalars(q.order_by(Candidate.ticket)))
