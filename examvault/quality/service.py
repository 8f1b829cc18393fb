"""Supervision and quality control: findings, stage checklists and gates, incident records.

A session moves through STAGES one at a time with `advance`. It cannot leave a stage
while that stage's checklist is incomplete, or while any blocking finding on it or an
earlier stage is open. Only a supervisor closes a finding, after checking the correction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.assembly.models import Paper
from examvault.bank import Bank
from examvault.crypto.keyring import Keyring
from examvault.crypto.records import open_fields, row_of, seal_fields
from examvault.db import utcnow
from examvault.errors import ConflictError, NotFoundError, ValidationError, check_length
from examvault.quality.models import INCIDENT_TEXT, ChecklistEntry, Finding, Incident
from examvault.registration.models import Candidate, ExamSession, Room, Seat
from examvault.registration.service import STAGES, get_room, get_session
from examvault.staff.models import Assignment, StaffMember
from examvault.staff.service import get_staff, staffing_report

INCIDENT_KINDS = {"absent": "缺考", "late": "迟到", "violation": "违纪", "irregularity": "异常情况"}
STAGE_NAMES = {"closed": "已结束"}


class StageBlocked(ConflictError):
    """The session cannot leave its stage yet; the message lists every reason."""

    def __init__(self, message: str, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(message)


@cache
def checklists() -> dict[str, Any]:
    doc = yaml.safe_load(resources.files("examvault.quality").joinpath("data/checklists.yaml").read_text("utf-8"))
    assert set(doc) == set(STAGES[:-1]), "a checklist per stage"
    return doc  # type: ignore[no-any-return]


def stage_name(stage: str) -> str:
    return checklists()[stage]["name"] if stage in checklists() else STAGE_NAMES.get(stage, stage)


def _check_stage(stage: str) -> None:
    if stage not in checklists():
        raise ValidationError(f"stage {stage!r} is not one of {', '.join(checklists())}")


def _supervisor_on_duty(session: Session, exam: ExamSession, code: str) -> StaffMember:
    """Supervision is done by a registered supervisor on duty in this session, in a running session."""
    if exam.stage == "closed":
        raise ConflictError(f"session {exam.code} is closed; its supervision record is final")
    person = get_staff(session, code)
    post = session.scalars(select(Assignment.id).where(
        Assignment.session_id == exam.id, Assignment.staff_id == person.id, Assignment.duty == "supervisor",
        Assignment.ended_at.is_(None))).first()  # fmt: skip
    if post is None:
        raise ValidationError(f"{code} is not a supervisor on duty in session {exam.code}; assign them first "
                              f"(`examvault staff assign {exam.code} --duty supervisor {code}`)")  # fmt: skip
    return person


def file_finding(bank: Bank, session_code: str, *, stage: str, supervisor: str, checked: str, issue: str = "",
                 correction: str = "", blocking: bool = False) -> dict[str, Any]:  # fmt: skip
    """An inspection record. With no issue it records that the check passed; a blocking issue
    needs the correction required, and holds the session at this stage until resolved."""
    _check_stage(stage)
    if not checked.strip():
        raise ValidationError("say what was checked (--checked)")
    if blocking and not issue.strip():
        raise ValidationError("a blocking finding states the issue found (--issue)")
    for text, limit, what in ((checked, 500, "--checked"), (issue, 1000, "--issue"), (correction, 1000, "--correction")):
        check_length(text.strip(), limit, what)
    if issue.strip() and not correction.strip():
        raise ValidationError("a finding with an issue states the correction required (--correction)")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "quality.file")
        exam = get_session(session, session_code)
        person = _supervisor_on_duty(session, exam, supervisor)
        f = Finding(session_id=exam.id, stage=stage, supervisor_id=person.id, checked=checked.strip(), issue=issue.strip(),
                    correction=correction.strip(), blocking=blocking, status="open" if issue.strip() else "closed",
                    filed_by=actor.username)  # fmt: skip
        session.add(f)
        session.flush()
        audit(session, actor, "quality.finding", "exam_session", session_code, finding=f.id, stage=stage, blocking=blocking)
        return _finding_json(f, person.code)


def resolve_finding(bank: Bank, finding_id: int, *, resolution: str, supervisor: str) -> dict[str, Any]:
    """A supervisor on duty in the finding's session closes it, having checked the correction."""
    if not resolution.strip():
        raise ValidationError("say how the correction was verified (--resolution)")
    check_length(resolution.strip(), 1000, "--resolution")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "quality.file")
        f = session.get(Finding, finding_id, with_for_update=True)
        if f is None:
            raise NotFoundError(f"no finding {finding_id}")
        if f.status != "open":
            raise ConflictError(f"finding {finding_id} is {f.status}, not open")
        exam = session.get(ExamSession, f.session_id)
        assert exam is not None
        person = _supervisor_on_duty(session, exam, supervisor)
        f.status, f.resolved_by, f.resolved_at, f.resolution = "resolved", actor.username, utcnow(), resolution.strip()
        f.resolver_id = person.id
        audit(session, actor, "quality.finding.resolve", "finding", str(finding_id), supervisor=supervisor)
        return _finding_json(f, session.get(StaffMember, f.supervisor_id).code)  # type: ignore[union-attr]


def _finding_json(f: Finding, supervisor: str) -> dict[str, Any]:
    return {"id": f.id, "stage": f.stage, "stage_name": stage_name(f.stage), "supervisor": supervisor, "checked": f.checked,
            "issue": f.issue, "correction": f.correction, "blocking": f.blocking, "status": f.status,
            "filed_by": f.filed_by, "filed_at": f.filed_at.isoformat(), "resolved_by": f.resolved_by,
            "resolved_at": f.resolved_at.isoformat() if f.resolved_at else None, "resolution": f.resolution}  # fmt: skip


def findings(session: Session, exam: ExamSession) -> list[dict[str, Any]]:
    codes = dict(session.execute(select(StaffMember.id, StaffMember.code)).all())
    rows = session.scalars(select(Finding).where(Finding.session_id == exam.id).order_by(Finding.id))
    return [_finding_json(f, codes[f.supervisor_id]) for f in rows]


def list_findings(bank: Bank, session_code: str, *, open_only: bool = False) -> list[dict[str, Any]]:
    with bank.transaction() as session:
        bank.actor(session, "session.read")
        rows = findings(session, get_session(session, session_code))
        return [f for f in rows if f["status"] == "open"] if open_only else rows


def tick(bank: Bank, session_code: str, stage: str, item: str, *, passed: bool, supervisor: str, note: str = "") -> dict[str, Any]:
    """A supervisor's tick on one manual checklist item (re-ticking replaces the earlier result)."""
    _check_stage(stage)
    spec = {i["id"]: i for i in checklists()[stage]["items"]}
    if item not in spec:
        raise ValidationError(f"stage {stage} has no checklist item {item!r} (items: {', '.join(spec)})")
    if spec[item].get("auto"):
        raise ValidationError(f"{stage}/{item} is computed from the bank ({spec[item]['auto']}); it cannot be ticked")
    if not passed and not note.strip():
        raise ValidationError("a failed check says what failed (--note)")
    check_length(note.strip(), 500, "--note")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "quality.check")
        exam = get_session(session, session_code)
        person = _supervisor_on_duty(session, exam, supervisor)
        row = session.scalars(select(ChecklistEntry).where(
            ChecklistEntry.session_id == exam.id, ChecklistEntry.stage == stage, ChecklistEntry.item == item)).first()  # fmt: skip
        if row is None:
            row = ChecklistEntry(session_id=exam.id, stage=stage, item=item)
            session.add(row)
        row.passed, row.note, row.checked_by, row.checked_at, row.supervisor_id = passed, note.strip(), actor.username, utcnow(), person.id
        audit(session, actor, "quality.check", "exam_session", session_code, stage=stage, item=item, passed=passed, supervisor=supervisor)
        return {"session": session_code, "stage": stage, "item": item, "passed": passed, "note": note, "supervisor": supervisor}


def _auto(session: Session, exam: ExamSession, kind: str, keyring: Keyring, staffing: dict[str, Any] | None) -> tuple[bool, str]:
    if kind == "staffing":  # head counts, and every post's 回避 as things stand now
        report = staffing or staffing_report(session, exam, keyring)
        return report["ok"], "; ".join(report["problems"][:3]) or f"{len(report['rooms'])} room(s) staffed by the rules"
    if kind == "papers_approved":
        codes = [c for c in exam.papers.split(",") if c]
        if not codes:
            return False, "no paper is attached to this session"
        status = dict(session.execute(select(Paper.code, Paper.status).where(Paper.code.in_(codes))).all())
        bad = [f"{c} ({status.get(c, 'missing')})" for c in codes if status.get(c) not in ("approved", "sealed", "used")]
        return not bad, ("not approved: " + ", ".join(bad)) if bad else f"{len(codes)} paper(s) approved"
    raise ValidationError(f"unknown automatic check {kind!r} in the checklists")


def checklist_state(session: Session, exam: ExamSession, keyring: Keyring, staffing: dict[str, Any] | None = None,
                    through: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Every stage's checklist, or the stages up to `through`. `staffing`: a staffing report the caller
    already has (it opens every candidate: made once)."""
    ticks = {(e.stage, e.item): e for e in session.scalars(select(ChecklistEntry).where(ChecklistEntry.session_id == exam.id))}
    open_blocking = [f for f in session.scalars(select(Finding).where(
        Finding.session_id == exam.id, Finding.status == "open", Finding.blocking.is_(True)))]  # fmt: skip
    current = STAGES.index(exam.stage)
    out = []
    stages = list(checklists().items())
    for n, (stage, spec) in enumerate(stages[: STAGES.index(through) + 1] if through else stages):
        items = []
        for item in spec["items"]:
            if item.get("auto"):
                ok, note = _auto(session, exam, item["auto"], keyring, staffing) if n >= current else (True, "离开该环节时已通过")
                items.append({"id": item["id"], "text": item["text"], "auto": True, "passed": ok, "note": note, "checked_by": "auto"})
            else:
                e = ticks.get((stage, item["id"]))
                items.append({"id": item["id"], "text": item["text"], "auto": False, "passed": e.passed if e else None,
                              "note": e.note if e else "", "checked_by": e.checked_by if e else None})  # fmt: skip
        out.append({"stage": stage, "name": spec["name"], "state": "done" if n < current else "current" if n == current else "later",
                    "items": items, "open_blocking_findings": [f.id for f in open_blocking if f.stage == stage]})  # fmt: skip
    return out


def checklist(bank: Bank, session_code: str) -> dict[str, Any]:
    with bank.transaction() as session:
        bank.actor(session, "session.read")
        exam = get_session(session, session_code)
        return {"session": exam.code, "stage": exam.stage, "stages": checklist_state(session, exam, bank.keyring(session))}


def advance(bank: Bank, session_code: str) -> dict[str, Any]:
    """Move the session to its next stage, or refuse with every reason it cannot."""
    try:
        return _advance(bank, session_code)
    except StageBlocked as exc:
        with bank.transaction(write=True) as session:  # the refusal itself is part of the record
            audit(session, bank.actor(session), "session.advance.refused", "exam_session", session_code, reasons=exc.reasons)
        raise


def _advance(bank: Bank, session_code: str) -> dict[str, Any]:
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "session.advance")
        exam = get_session(session, session_code, lock=True)
        if exam.stage == "closed":
            raise ConflictError(f"session {session_code} is closed")
        current = STAGES.index(exam.stage)
        reasons = []
        for n, stage in enumerate(checklist_state(session, exam, bank.keyring(session), through=exam.stage)):
            reasons += [f"open blocking finding {fid} on stage {stage['stage']} ({stage['name']})" for fid in stage["open_blocking_findings"]]
            if n == current:
                reasons += [f"checklist {stage['stage']}/{i['id']} ({i['text']}): "
                            + ("not yet checked" if i["passed"] is None else f"failed — {i['note']}")
                            for i in stage["items"] if not i["passed"]]  # fmt: skip
        if reasons:
            raise StageBlocked(f"session {session_code} cannot leave stage {exam.stage} ({stage_name(exam.stage)}):\n" + "\n".join(reasons), reasons)
        before, exam.stage = exam.stage, STAGES[current + 1]
        audit(session, actor, "session.advance", "exam_session", session_code, stage_from=before, stage_to=exam.stage)
        return {"session": session_code, "from": before, "to": exam.stage, "name": stage_name(exam.stage)}


def record_incident(bank: Bank, session_code: str, *, kind: str, description: str, room: str | None = None,
                    candidate: str | None = None, reported_by: str | None = None, at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """One line of the 考场情况记录表. The description is sealed: it may name the candidate."""
    if kind not in INCIDENT_KINDS:
        raise ValidationError(f"incident kind {kind!r} is not one of {', '.join(INCIDENT_KINDS)}")
    if not description.strip():
        raise ValidationError("describe what happened (--description)")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "quality.incident")
        keyring = bank.keyring(session)
        keyring.pin(session, "personal")
        exam = get_session(session, session_code)
        if exam.stage == "closed":
            raise ConflictError(f"session {session_code} is closed; its incident record is final")
        target = get_room(session, exam, room) if room else None
        cand = None
        if candidate:
            cand = session.scalars(select(Candidate).where(Candidate.code == candidate, Candidate.session_id == exam.id)).first()
            if cand is None:
                raise NotFoundError(f"no candidate {candidate!r} in session {session_code}")
            rooms = set(session.scalars(select(Seat.room_id).where(Seat.candidate_id == cand.id)))
            if target is not None and target.id not in rooms:
                raise ValidationError(f"candidate {candidate} does not sit in room {room}")
            if target is None and len(rooms) == 1:
                target = session.get(Room, rooms.pop())
        reporter = get_staff(session, reported_by) if reported_by else None
        if reporter is not None and not session.scalars(select(Assignment.id).where(
                Assignment.session_id == exam.id, Assignment.staff_id == reporter.id)).first():  # fmt: skip
            raise ValidationError(f"{reported_by} held no post in session {session_code}; the reporter is the invigilator or examiner on duty")
        iid = add_incident(session, keyring, actor.username, exam, kind=kind, description=description, room=target, candidate=cand,
                           reported_by=reporter.id if reporter else None, at=at)  # fmt: skip
        audit(session, actor, "quality.incident", "exam_session", session_code, kind=kind, room=room, candidate=candidate)
        return {"id": str(iid), "session": session_code, "kind": kind, "room": room, "candidate": candidate}


def add_incident(session: Session, keyring: Keyring, actor: str, exam: ExamSession, *, kind: str, description: str,
                 room: Room | None, candidate: Candidate | None, reported_by: uuid.UUID | None = None,
                 at: datetime | None = None) -> uuid.UUID:  # fmt: skip
    """Write one sealed incident in the caller's transaction (the door check files identity mismatches here)."""
    iid = uuid.uuid4()
    session.add(Incident(id=iid, session_id=exam.id, room_id=room.id if room else None, candidate_id=candidate.id if candidate else None,
                         kind=kind, occurred_at=at or utcnow(), reported_by=reported_by, recorded_by=actor,
                         **seal_fields(keyring, INCIDENT_TEXT, str(iid), 1, {"description": description.strip().encode()})))  # fmt: skip
    return iid


def incidents(session: Session, exam: ExamSession, keyring: Keyring) -> list[dict[str, Any]]:
    rooms = {r.id: r.code for r in exam.rooms}
    cands = dict(session.execute(select(Candidate.id, Candidate.code).where(Candidate.session_id == exam.id)).all())
    staff = dict(session.execute(select(StaffMember.id, StaffMember.code)).all())
    out = []
    for i in session.scalars(select(Incident).where(Incident.session_id == exam.id).order_by(Incident.occurred_at)):
        text = open_fields(keyring, INCIDENT_TEXT, row_of(INCIDENT_TEXT, i))["description"] or b""
        out.append({"id": str(i.id), "kind": i.kind, "kind_name": INCIDENT_KINDS[i.kind], "room": rooms.get(i.room_id),
                    "candidate": cands.get(i.candidate_id), "occurred_at": i.occurred_at.isoformat(),
                    "reported_by": staff.get(i.reported_by), "recorded_by": i.recorded_by, "description": text.decode()})  # fmt: skip
    return out


def list_incidents(bank: Bank, session_code: str) -> list[dict[str, Any]]:
    with bank.transaction() as session:
        actor = bank.actor(session, "quality.incident")
        exam = get_session(session, session_code)
        rows = incidents(session, exam, bank.keyring(session))
        audit(session, actor, "quality.incident.read", "exam_session", session_code, count=len(rows))
        return rows
