"""Score sheets of the practical part (操作技能考核评分记录表), the defence and the comprehensive review:
one row per candidate and examiner, each examiner on duty in the candidate's room or station.

An import is all or nothing and names the row and column of every problem; scores already
registered are never overwritten (a second sheet for the same candidate and examiner is refused).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.errors import NOTHING_IMPORTED, ConflictError, Issue, NotFoundError, ValidationError
from examvault.registration.models import Candidate, Seat
from examvault.registration.service import get_session
from examvault.scoring.models import PanelReview, PartScore, Publicity
from examvault.staff.models import Assignment, StaffMember

SHEET_FIELDS: dict[str, tuple[str, ...]] = {
    "ticket": ("准考证号", "ticket"),
    "examiner": ("考评员", "考评员编号", "examiner"),
    "score": ("分数", "成绩", "score"),
}
PARTS = ("skill", "defence", "review")


def import_part_scores(bank: Bank, session_code: str, path: Path, *, part: str = "skill") -> dict[str, Any]:
    from examvault.itembank.formats.tabular import read_table

    if part not in PARTS:
        raise ValidationError(f"--part is one of {', '.join(PARTS)}")
    raws = read_table(path, SHEET_FIELDS, tuple(SHEET_FIELDS), list_key="scores")
    return record_part_scores(bank, session_code, path.name, raws, part=part)


def record_part_scores(bank: Bank, session_code: str, file: str, raws: Iterable[Any], *, part: str) -> dict[str, Any]:
    raws = list(raws)
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "scoring.parts")
        exam = get_session(session, session_code, lock=True)
        cands = {c.ticket: c for c in session.scalars(select(Candidate).where(Candidate.session_id == exam.id))}
        rooms = {cid: room for cid, room in session.execute(select(Seat.candidate_id, Seat.room_id).where(
            Seat.session_id == exam.id, Seat.part == part))}  # fmt: skip
        on_duty = {(code, room) for code, room in session.execute(
            select(StaffMember.code, Assignment.room_id).join(StaffMember, StaffMember.id == Assignment.staff_id).where(
                Assignment.session_id == exam.id, Assignment.duty == "examiner", Assignment.ended_at.is_(None)))}  # fmt: skip
        stored = {(cid, ex) for cid, ex in session.execute(select(PartScore.candidate_id, PartScore.examiner).where(
            PartScore.session_id == exam.id, PartScore.part == part))}  # fmt: skip
        issues: list[Issue] = []
        rows, seen = [], {}
        for raw in raws:
            problems = []
            cand = cands.get(raw.get("ticket"))
            if cand is None:
                problems.append(("ticket", f"no ticket {raw.get('ticket')!r} in session {session_code}"))
            elif cand.id not in rooms:
                problems.append(("ticket", f"this candidate does not sit the {part} part in this session"))
            examiner = raw.get("examiner")
            if cand is not None and cand.id in rooms and (examiner, rooms[cand.id]) not in on_duty:
                problems.append(("examiner", f"{examiner!r} is not an examiner on duty in this candidate's room"))
            try:
                score = float(raw.get("score"))
                if not 0 <= score <= 100 or round(score, 1) != score:
                    raise ValueError
            except ValueError:
                problems.append(("score", "a score from 0 to 100, to one decimal"))
                score = 0.0
            if cand is not None and not problems:
                key = (cand.id, examiner)
                if key in stored:
                    problems.append(("examiner", "this examiner's score for this candidate is already registered"))
                elif key in seen:
                    problems.append(("examiner", f"repeats {seen[key]}"))
                seen.setdefault(key, raw.location)
            issues += [Issue(file, raw.location, raw.column(f), m) for f, m in problems]
            if not problems:
                rows.append(PartScore(session_id=exam.id, candidate_id=cand.id, part=part, examiner=examiner, score=score,  # type: ignore[union-attr]
                                      recorded_by=actor.username))  # fmt: skip
        if issues:
            raise ValidationError(issues, outcome=NOTHING_IMPORTED)
        session.add_all(rows)
        audit(session, actor, "scoring.parts.import", "exam_session", session_code, part=part, file=file, scores=len(rows))
        return {"session": session_code, "part": part, "scores": len(rows), "candidates": len({r.candidate_id for r in rows})}


def review_panel(bank: Bank, session_code: str, ticket: str, *, part: str, score: float, chief: str, reason: str) -> dict[str, Any]:
    """Register the chief examiner's (主考) score for a candidate whose panel spread more than the
    results allow: the review replaces the mean for that part, with the reason on record."""
    from examvault.scoring.results import SPREAD

    if part not in PARTS:
        raise ValidationError(f"--part is one of {', '.join(PARTS)}")
    if not 0 <= score <= 100 or round(score, 1) != score:
        raise ValidationError(f"--score {score:g}: a score from 0 to 100, to one decimal")
    if not reason.strip() or len(reason) > 400:
        raise ValidationError("--reason: what the review found (1–400 characters)")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "scoring.parts")
        exam = get_session(session, session_code, lock=True)
        if session.get(Publicity, exam.id) is not None:
            raise ConflictError(f"the results of {session_code} are publicised; they are fixed")
        cand = session.scalars(select(Candidate).where(Candidate.session_id == exam.id, Candidate.ticket == ticket)).first()
        if cand is None:
            raise NotFoundError(f"no ticket {ticket} in session {session_code}")
        on_duty = session.scalars(select(Assignment.id).join(StaffMember, StaffMember.id == Assignment.staff_id).where(
            Assignment.session_id == exam.id, Assignment.duty == "chief_examiner", StaffMember.code == chief,
            Assignment.ended_at.is_(None))).first()  # fmt: skip
        if on_duty is None:
            raise ValidationError(f"--chief {chief}: not the chief examiner (主考) on duty in session {session_code}")
        scores = list(session.scalars(select(PartScore.score).where(PartScore.candidate_id == cand.id, PartScore.part == part)))
        if len(scores) < 3 or len(scores) % 2 == 0 or max(scores) - min(scores) <= SPREAD:
            raise ConflictError(f"{ticket} {part}: the panel's {len(scores)} score(s) need no review; the chief examiner reviews an odd "
                                f"panel of three or more whose scores spread more than {SPREAD:g} points")  # fmt: skip
        if session.scalars(select(PanelReview.id).where(PanelReview.candidate_id == cand.id, PanelReview.part == part)).first():
            raise ConflictError(f"{ticket} {part} was reviewed already")
        session.add(PanelReview(session_id=exam.id, candidate_id=cand.id, part=part, score=score, chief=chief, reason=reason.strip(),
                                recorded_by=actor.username))  # fmt: skip
        audit(session, actor, "scoring.parts.review", "exam_session", session_code, ticket=ticket, part=part, chief=chief)
        return {"session": session_code, "ticket": ticket, "part": part, "score": score, "panel": sorted(scores)}
