"""Records retention: the report's due counts per kind, a purge that erases exactly what is due and
leaves tombstones with the right digests, and a custody log that still verifies afterwards.

Records are made old by writing their dates directly, as the brief's fixtures do: sessions held six
years ago (electronic and paper due), five years ago to the day (due), five years less a day (not
due), four years ago (paper due, electronic not) and next month. Digests are recomputed here from
the rows as they were before the purge, not through the module's own helpers.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import sys
import time as clock
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from examvault.accounts.models import AuditEvent
from examvault.bank import Bank
from examvault.cli import cli, main
from examvault.crypto.records import open_fields, row_of
from examvault.crypto.service import rewrap_domain, rotate, set_minimum
from examvault.crypto.signing import VerifyKey, canonical_json
from examvault.custody import merkle
from examvault.custody import service as custody
from examvault.custody.models import CustodyCheckpoint, CustodyEvent, CustodyNode
from examvault.custody.proofs import verify_doc
from examvault.db import bulk_insert
from examvault.errors import IntegrityError, NotFoundError, PermissionDenied, ValidationError
from examvault.quality.models import ChecklistEntry, Finding, Incident
from examvault.registration import retention
from examvault.registration.models import (
    CANDIDATE_PERSONAL,
    Attendance,
    Candidate,
    CertificateEvent,
    EligibilityDecision,
    ExamSession,
    RetentionTombstone,
)
from examvault.registration.retention import add_years, is_purged, latest_anchor, purge, retention_report
from examvault.registration.retention_cli import retention_group
from examvault.registration.service import add_candidates, add_room, create_session, open_candidate
from examvault.scoring.models import Mark, PartScore, Script, Violation
from examvault.staff.models import StaffMember
from examvault.staff.service import add_staff
from tests.conftest import OCC, PASSPHRASE, snapshot
from tests.staff.conftest import id_number

BEIJING = ZoneInfo("Asia/Shanghai")
TODAY = retention.today()
EDGE = latest_anchor(TODAY, 5)  # five years ago to the day: due today
SESSIONS = {  # code → exam date
    "S-OLD": add_years(TODAY, -6),
    "S-EDGE": EDGE,
    "S-EDGE1": EDGE + timedelta(days=1),  # its five years end tomorrow
    "S-MID": add_years(TODAY, -4),  # paper records due (3 years), electronic not (5)
    "S-NEW": TODAY + timedelta(days=30),
}
PAPER = "P2026-0001-A"

# What is due today, per kind, in the world the fixture builds.
DUE_TODAY = {
    "candidate": 5,  # S-OLD ×3, S-EDGE ×1, one unplaced registration made six years ago
    "eligibility_decision": 2,  # six years old; 23:30 Beijing time on the edge day (not the 00:30 the day after)
    "attendance": 1,
    "incident": 1,
    "finding": 1,
    "checklist_entry": 1,
    "violation": 1,
    "panel_score": 1,
    "mark": 1,
    "sign_in_sheet": 3,  # S-OLD T01 and K01, S-MID T01
    "answer_scripts": 4,  # every session but S-NEW
    "custody_event": 4,  # seqs 1, 2, 5 and 7, under checkpoints; 11 is due too but under none
    "audit_event": 4,
    "result": 0,  # kept for life
    "certificate": 0,
    "certificate_event": 0,  # six years old, kept for life
}
PURGED_SEQS = [1, 2, 5, 7]
CHANGED = {"candidates", "eligibility_decisions", "attendance", "room_incidents", "quality_findings", "quality_checks", "violations", "part_scores", "marks",
           "custody_events", "audit_events", "retention_tombstones"}  # fmt: skip


def moment(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A time on a Beijing calendar day."""
    return datetime.combine(day, time(hour, minute), BEIJING)


@dataclass
class World:
    kaowu: Bank
    adm: Bank
    sup: Bank
    cust: Bank
    trusted: VerifyKey
    notes: dict[int, str]  # custody checkpoints by size
    candidates: dict[str, list[str]] = field(default_factory=dict)  # session (or "unplaced") → codes
    due: dict[str, list[Any]] = field(default_factory=dict)  # kind → primary keys of the due records
    not_due: dict[str, list[Any]] = field(default_factory=dict)


def _set(s: Session, model: Any, key: Any, **values: Any) -> None:
    pk = model.__table__.primary_key.columns.values()[0]
    s.execute(update(model).where(pk == key).values(**values))


def _cand(s: Session, code: str) -> Candidate:
    return s.scalars(select(Candidate).where(Candidate.code == code)).one()


@pytest.fixture
def world(make_bank: Callable[..., Bank]) -> World:
    kaowu, adm, sup, cust = make_bank("kaowu"), make_bank("adm"), make_bank("sup"), make_bank("cust")
    trusted = VerifyKey.parse(custody.institution_key(cust))
    w = World(kaowu, adm, sup, cust, trusted, {})
    n = 0
    for code, count in (("S-OLD", 3), ("S-EDGE", 1), ("S-EDGE1", 1), ("S-MID", 2), ("S-NEW", 3)):
        create_session(
            kaowu, code, occupation=OCC, level=3, exam_date=TODAY + timedelta(days=60), site="测试考点"
        )
        rows = []
        for _ in range(count):
            n += 1
            rows.append({"name": f"考生{n}", "id_number": id_number(n), "work_unit": "示范技师学院"})
        w.candidates[code] = [c["code"] for c in add_candidates(kaowu, code, rows)]
    for code, room, kind in (("S-OLD", "T01", "theory"), ("S-OLD", "K01", "skill"), ("S-MID", "T01", "theory"),
                             ("S-NEW", "T01", "theory")):  # fmt: skip
        add_room(kaowu, code, room, kind=kind, capacity=10)
    add_staff(kaowu, code="JK1", name="监考甲", id_number=id_number(601, "19750301"), roles="监考")

    with cust.transaction(write=True) as s:  # the custody log: 12 events, checkpoints at 6 and 10
        for i in range(6):
            custody.record(cust, s, "paper.marked", "cust", paper=PAPER, details={"n": i})
    w.notes[6] = custody.checkpoint(cust)
    with cust.transaction(write=True) as s:
        for i in range(6, 10):
            custody.record(cust, s, "paper.marked", "cust", paper=PAPER, details={"n": i})
    w.notes[10] = custody.checkpoint(cust)
    with cust.transaction(write=True) as s:
        for i in range(10, 12):
            custody.record(cust, s, "paper.marked", "cust", paper=PAPER, details={"n": i})

    old, mid = moment(SESSIONS["S-OLD"]), moment(SESSIONS["S-MID"])
    recent = moment(TODAY - timedelta(days=3))
    with kaowu.transaction(write=True) as s:
        sessions = {e.code: e for e in s.scalars(select(ExamSession))}
        for code, day in SESSIONS.items():
            sessions[code].exam_date = day
        unplaced_old, unplaced_new = (_cand(s, c) for c in w.candidates["S-NEW"][:2])
        unplaced_old.session_id, unplaced_old.created_at = None, old
        unplaced_new.session_id = None
        w.candidates["unplaced"] = [unplaced_old.code, unplaced_new.code]
        w.candidates["S-NEW"] = w.candidates["S-NEW"][2:]
        photographed = _cand(s, w.candidates["S-OLD"][0])
        photographed.photo = os.urandom(3000)  # stands in for a sealed photo: the purge never opens it
        by_code = {c.code: c for c in s.scalars(select(Candidate))}
        o1, edge, mid1 = (by_code[w.candidates[k][0]] for k in ("S-OLD", "S-EDGE", "S-MID"))
        decisions = [EligibilityDecision(candidate_id=c.id, rules_version=1, rule=f"{OCC}/3: b", eligible=True,
                                         evidence={"years": 6}, reason="满足条件", decided_by="kaowu", decided_at=at)
                     for c, at in ((o1, old), (edge, moment(EDGE, 23, 30)), (edge, moment(EDGE + timedelta(days=1), 0, 30)),
                                   (mid1, mid))]  # fmt: skip
        attendance = [Attendance(candidate_id=c.id, session_id=c.session_id, part="theory", status="present", identity="verified",
                                 at=at, recorded_by="kaowu") for c, at in ((o1, old), (mid1, recent))]  # fmt: skip
        s_old, s_mid = sessions["S-OLD"].id, sessions["S-MID"].id
        incidents = [Incident(id=uuid.uuid4(), session_id=sid, candidate_id=o1.id, kind="late", occurred_at=at, recorded_by="kaowu",
                              key_version=1, dek=os.urandom(60), description=os.urandom(80)) for sid, at in ((s_old, old), (s_mid, recent))]  # fmt: skip
        staff_id = s.scalars(select(StaffMember.id)).one()
        findings = [Finding(session_id=sid, stage="registration_review", supervisor_id=staff_id, checked="报名材料抽查",
                            filed_by="sup", filed_at=at) for sid, at in ((s_old, old), (s_mid, mid))]  # fmt: skip
        checks = [ChecklistEntry(session_id=sid, stage="registration_review", item="eligibility", passed=True,
                                 checked_by="sup", supervisor_id=staff_id, checked_at=at) for sid, at in ((s_old, old), (s_mid, recent))]  # fmt: skip
        violations = [Violation(session_id=c.session_id, candidate_id=c.id, part="theory", tier="warning", proctor="JK1", at=at,
                                reason="交头接耳", recorded_by="kaowu") for c, at in ((o1, old), (mid1, recent))]  # fmt: skip
        panel_scores = [PartScore(session_id=c.session_id, candidate_id=c.id, part="skill", examiner="KP1", score=70.0, recorded_by="kaowu",
                                  recorded_at=at) for c, at in ((o1, old), (mid1, recent))]  # fmt: skip
        script = Script(id=uuid.uuid4(), session_id=s_old, code="80001", paper="P", sealed_by="kaowu", key_version=1, dek=os.urandom(60),
                        candidate=os.urandom(80))  # fmt: skip
        marks = [Mark(script_id=script.id, number=41, marker="pj01", role="first", points=[3.0], total=3.0, marked_at=at, signature={})
                 for at in (old, recent)]  # fmt: skip
        s.add(script)
        s.flush()
        s.add_all([*decisions, *attendance, *incidents, *findings, *checks, *violations, *panel_scores, *marks])
        s.add(CertificateEvent(action="forms.received", reason="", actor="kaowu", at=old))
        s.flush()
        for kind, rows in (("eligibility_decision", decisions), ("attendance", attendance), ("incident", incidents),
                           ("finding", findings), ("checklist_entry", checks), ("violation", violations), ("panel_score", panel_scores),
                           ("mark", marks)):  # fmt: skip
            cut = 2 if kind == "eligibility_decision" else 1
            w.due[kind], w.not_due[kind] = [r.id for r in rows[:cut]], [r.id for r in rows[cut:]]
        w.due["candidate"] = [c.id for c in by_code.values() if c.code in
                              {*w.candidates["S-OLD"], *w.candidates["S-EDGE"], w.candidates["unplaced"][0]}]  # fmt: skip
        w.not_due["candidate"] = [c.id for c in by_code.values() if c.id not in w.due["candidate"]]
        for seq in [*PURGED_SEQS, 11]:
            _set(s, CustodyEvent, seq, recorded_at=old)
        w.due["custody_event"] = PURGED_SEQS
        audit_ids = list(s.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
        for i in audit_ids[:4]:
            _set(s, AuditEvent, i, at=old)
        _set(s, AuditEvent, audit_ids[4], at=mid)
        w.due["audit_event"] = audit_ids[:4]
    assert custody.verify_log(cust)["events"] == 12
    return w


def due_counts(report: dict[str, Any]) -> dict[str, int]:
    return {e["kind"]: e["due"] for e in report["kinds"]}


# ---------------------------------------------------------------- dates


def test_retention_ends_n_years_on_and_latest_anchor_is_its_inverse() -> None:
    assert add_years(date(2024, 2, 29), 5) == date(2029, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert add_years(date(2023, 3, 1), 3) == date(2026, 3, 1)
    day = date(2027, 1, 1)
    while day < date(2034, 1, 1):  # every day, across leap years, for periods that keep and break Feb 29
        for years in (3, 4, 5):
            last = latest_anchor(day, years)
            assert add_years(last, years) <= day < add_years(last + timedelta(days=1), years), (day, years)
        day += timedelta(days=1)


# ---------------------------------------------------------------- the report


def test_report_counts_what_is_due_per_kind(world: World) -> None:
    before = snapshot(world.kaowu)
    r = retention_report(world.kaowu)
    assert r["as_of"] == TODAY.isoformat()
    assert due_counts(r) == DUE_TODAY
    kinds = {e["kind"]: e for e in r["kinds"]}
    assert {k: (e["category"], e["years"]) for k, e in kinds.items()} == {
        "candidate": ("electronic", 5), "eligibility_decision": ("electronic", 5), "attendance": ("electronic", 5),
        "incident": ("electronic", 5), "finding": ("electronic", 5), "checklist_entry": ("electronic", 5),
        "sign_in_sheet": ("paper", 3), "answer_scripts": ("paper", 3), "custody_event": ("electronic", 5),
        "audit_event": ("electronic", 5), "certificate": ("electronic", None), "certificate_event": ("electronic", None),
        "violation": ("electronic", 5), "panel_score": ("electronic", 5), "mark": ("electronic", 5), "result": ("electronic", None),
    }  # fmt: skip
    assert kinds["candidate"]["label"] == "考生报名信息" and kinds["sign_in_sheet"]["label"] == "考场签到表"
    assert (
        kinds["candidate"]["total"] == 10
        and kinds["custody_event"]["total"] == 12
        and kinds["sign_in_sheet"]["total"] == 4
    )
    assert kinds["candidate"]["earliest"] == add_years(SESSIONS["S-OLD"], 5).isoformat()
    assert kinds["answer_scripts"]["earliest"] == add_years(SESSIONS["S-OLD"], 3).isoformat()
    assert {d["record"] for d in kinds["candidate"]["records"]} == {*world.candidates["S-OLD"], *world.candidates["S-EDGE"],
                                                                     world.candidates["unplaced"][0]}  # fmt: skip
    assert {d["record"] for d in kinds["sign_in_sheet"]["records"]} == {"S-OLD/T01", "S-OLD/K01", "S-MID/T01"}
    assert [d["record"] for d in kinds["custody_event"]["records"]] == [
        f"custody event {s}" for s in PURGED_SEQS
    ]
    assert "1 more is due but newer than the latest checkpoint" in kinds["custody_event"]["note"]
    assert kinds["audit_event"]["records"][0]["record"] == (
        f"audit_events {world.due['audit_event'][0]}–{world.due['audit_event'][-1]} (4)"
    )
    cert = kinds["certificate_event"]
    assert (cert["total"], cert["due"], cert["permanent"], cert["earliest"]) == (1, 0, True, None)
    edge = next(d for d in kinds["candidate"]["records"] if d["record"] == world.candidates["S-EDGE"][0])
    assert edge["retain_until"] == add_years(EDGE, 5).isoformat() <= TODAY.isoformat()
    assert r["totals"]["due"] == sum(DUE_TODAY.values())
    assert r["totals"]["by_category"]["paper"] == {"records": 9, "due": 7}
    assert due_counts(retention_report(world.sup)) == DUE_TODAY  # supervisors watch
    with pytest.raises(PermissionDenied):
        retention_report(world.cust)

    tomorrow = due_counts(retention_report(world.kaowu, as_of=TODAY + timedelta(days=1)))
    assert (
        tomorrow["candidate"] == 6 and tomorrow["answer_scripts"] == 4
    )  # S-EDGE1's candidate falls due tomorrow
    later = retention_report(
        world.kaowu, as_of=add_years(TODAY, 6)
    )  # planning ahead: everything held is due by then
    for e in later["kinds"]:
        if e["kind"] == "custody_event":
            assert (e["due"], e["total"]) == (10, 12) and "2 more are due" in e["note"]
        elif e["years"] is not None:
            assert e["due"] == e["total"] > 0, e["kind"]
    assert snapshot(world.kaowu) == before  # a report changes nothing


# ---------------------------------------------------------------- the purge


def _doc(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if isinstance(v, datetime):
            v = v.astimezone(UTC).isoformat()
        elif isinstance(v, date):
            v = v.isoformat()
        elif isinstance(v, uuid.UUID):
            v = str(v)
        elif isinstance(v, bytes | memoryview):
            v = bytes(v).hex()
        out[k] = v
    return out


def _rows(bank: Bank, model: Any, keys: list[Any]) -> dict[Any, dict[str, Any]]:
    table = model.__table__
    pk = table.primary_key.columns.values()[0]
    with bank.transaction() as s:
        return {r[pk.name]: dict(r) for r in s.execute(select(table).where(pk.in_(keys))).mappings()}


def _erased(*parts: bytes | None) -> str:
    data = b"".join(len(p or b"").to_bytes(8, "big") + (p or b"") for p in parts)
    return hashlib.sha256(data).hexdigest()


def _tombstones(bank: Bank) -> list[RetentionTombstone]:
    with bank.transaction() as s:
        return list(s.scalars(select(RetentionTombstone).order_by(RetentionTombstone.id)))


def _minus(rows: list[tuple[Any, ...]], keys: list[Any]) -> list[tuple[Any, ...]]:
    gone = {repr(k) for k in keys}
    return [r for r in rows if r[0] not in gone]


ROW_KINDS = {"eligibility_decision": EligibilityDecision, "attendance": Attendance, "incident": Incident,
             "finding": Finding, "checklist_entry": ChecklistEntry, "violation": Violation, "panel_score": PartScore, "mark": Mark}  # fmt: skip
TABLES = {"eligibility_decision": "eligibility_decisions", "attendance": "attendance", "incident": "room_incidents",
          "finding": "quality_findings", "checklist_entry": "quality_checks", "violation": "violations", "panel_score": "part_scores", "mark": "marks"}  # fmt: skip


def test_purge_erases_only_what_is_due_and_leaves_tombstones(world: World) -> None:
    before = snapshot(world.adm)
    cands = _rows(world.adm, Candidate, world.due["candidate"] + world.not_due["candidate"])
    rows = {k: _rows(world.adm, m, world.due[k]) for k, m in ROW_KINDS.items()}
    audit_rows = _rows(world.adm, AuditEvent, world.due["audit_event"])
    with world.adm.transaction() as s:
        leaves = {seq: bytes(leaf) for seq, leaf in s.execute(select(CustodyEvent.seq, CustodyEvent.leaf))}

    r = purge(world.adm)
    expected = {k: n for k, n in DUE_TODAY.items() if not k.startswith("certificate") and k != "result"}
    assert r == {"as_of": TODAY.isoformat(), "purged": expected, "total": sum(expected.values())}
    after = snapshot(world.adm)

    # Untouched: every other table, and every record not due.
    assert {t: v for t, v in after.items() if t not in CHANGED} == {
        t: v for t, v in before.items() if t not in CHANGED
    }
    assert _minus(after["candidates"], world.due["candidate"]) == _minus(
        before["candidates"], world.due["candidate"]
    )
    for kind, table in TABLES.items():
        assert after[table] == _minus(before[table], world.due[kind]), kind
        assert len(after[table]) == len(world.not_due[kind]) > 0
    assert _minus(after["custody_events"], PURGED_SEQS) == _minus(before["custody_events"], PURGED_SEQS)
    own = [r for r in after["audit_events"] if "'retention.purge'" in r]
    assert len(own) == 1 and [r for r in after["audit_events"] if r not in own] == _minus(
        before["audit_events"], world.due["audit_event"]
    )

    # Candidates: sealed bytes gone (an empty record sealed afresh at the next version), statistics kept.
    with world.adm.transaction() as s:
        kr = world.adm.keyring(s)
        for cid in world.due["candidate"]:
            c = s.get(Candidate, cid)
            assert c is not None and is_purged(c)
            assert open_candidate(kr, c)["purged"] is True  # a placeholder, not a decryption error
            assert (c.photo, c.version, c.key_version) == (
                None,
                cands[cid]["version"] + 1,
                kr.primary["personal"],
            )
            assert len(c.personal) < 40 and bytes(c.dek) != bytes(cands[cid]["dek"])
            assert open_fields(kr, CANDIDATE_PERSONAL, row_of(CANDIDATE_PERSONAL, c)) == {
                "personal": b"",
                "photo": None,
            }
            assert (c.code, c.occupation, c.level, c.status, c.ticket) == tuple(
                cands[cid][k] for k in ("code", "occupation", "level", "status", "ticket")
            )
        for cid in world.not_due["candidate"]:
            c = s.get(Candidate, cid)
            assert c is not None and not is_purged(c) and open_candidate(kr, c)["name"].startswith("考生")

    # Tombstones: one per record (one for the audit range), with digests of what went.
    stones = _tombstones(world.adm)
    by_kind: dict[str, list[RetentionTombstone]] = {}
    for t in stones:
        by_kind.setdefault(t.kind, []).append(t)
        assert t.purged_by == "adm" and t.category == (
            "paper" if t.kind in ("sign_in_sheet", "answer_scripts") else "electronic"
        )
    assert {k: len(v) for k, v in by_kind.items()} == {
        k: (1 if k == "audit_event" else n) for k, n in expected.items()
    }
    code_of = {c["code"]: c for c in cands.values()}
    anchors = {world.candidates["S-EDGE"][0]: EDGE} | dict.fromkeys(
        [*world.candidates["S-OLD"], world.candidates["unplaced"][0]], SESSIONS["S-OLD"]
    )
    assert {t.record: t.retain_until for t in by_kind["candidate"]} == {
        code: add_years(day, 5) for code, day in anchors.items()
    }
    for t in by_kind["candidate"]:
        c = code_of[t.record]
        assert t.digest == _erased(c["personal"], c["photo"])
    assert any(code_of[t.record]["photo"] for t in by_kind["candidate"])  # the photo's bytes are in a digest
    for kind in ROW_KINDS:
        assert sorted(t.digest for t in by_kind[kind]) == sorted(
            hashlib.sha256(canonical_json(_doc(row))).hexdigest() for row in rows[kind].values()), kind  # fmt: skip
    assert {t.record for t in by_kind["sign_in_sheet"]} == {"S-OLD/T01", "S-OLD/K01", "S-MID/T01"}
    assert {t.record: t.retain_until for t in by_kind["answer_scripts"]} == {
        code: add_years(day, 3) for code, day in SESSIONS.items() if code != "S-NEW"}  # fmt: skip
    assert {t.record: t.digest for t in by_kind["custody_event"]} == {
        f"custody event {s}": hashlib.sha256(leaves[s]).hexdigest() for s in PURGED_SEQS}  # fmt: skip
    (audit_stone,) = by_kind["audit_event"]
    ids = world.due["audit_event"]
    assert audit_stone.record == f"audit_events {ids[0]}–{ids[-1]} (4)"
    assert (
        audit_stone.digest == hashlib.sha256(canonical_json([_doc(audit_rows[i]) for i in ids])).hexdigest()
    )
    assert audit_stone.retain_until == add_years(SESSIONS["S-OLD"], 5)

    # The purge's own audit event, and nothing left due.
    with world.adm.transaction() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purge"))
        assert (event.actor, event.target_id, event.details["counts"], event.details["total"]) == (
            "adm", TODAY.isoformat(), expected, sum(expected.values()))  # fmt: skip
    left = due_counts(retention_report(world.adm))
    assert left == dict.fromkeys(DUE_TODAY, 0)
    assert purge(world.adm)["total"] == 0  # a second purge finds nothing and writes no tombstone
    assert len(_tombstones(world.adm)) == len(stones)


def test_a_purge_of_one_kind_touches_only_that_kind(world: World) -> None:
    before = snapshot(world.adm)
    assert purge(world.adm, kinds=["attendance"])["purged"] == {"attendance": 1}
    after = snapshot(world.adm)
    assert after["attendance"] == _minus(before["attendance"], world.due["attendance"])
    assert [t.kind for t in _tombstones(world.adm)] == ["attendance"]
    same = set(before) - {"attendance", "retention_tombstones", "audit_events"}
    assert {t: after[t] for t in same} == {t: before[t] for t in same}
    assert due_counts(retention_report(world.adm)) == DUE_TODAY | {"attendance": 0}
    with pytest.raises(ValidationError, match="kept permanently"):
        purge(world.adm, kinds=["certificate"])
    with pytest.raises(ValidationError, match="'photos' is not a record kind"):
        purge(world.adm, kinds=["photos"])


@pytest.mark.parametrize("user", ["kaowu", "sup"])
def test_only_an_administrator_purges(world: World, user: str) -> None:
    before = snapshot(world.adm)
    with pytest.raises(PermissionDenied, match="retention.purge"):
        purge(world.kaowu if user == "kaowu" else world.sup)
    assert snapshot(world.adm) == before


@pytest.mark.parametrize("failing", ["candidate", "custody_event", "audit_event"])
def test_a_purge_that_fails_midway_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """The failing kind does its work first (the audit log's tombstone and delete included), then fails."""
    before = snapshot(world.adm)
    policy = retention.POLICIES[failing]
    real = policy.purge_batch
    assert real is not None

    def fail_after(ctx: retention.PurgeContext, batch: list[retention.Due]) -> None:
        real(ctx, batch)
        ctx.session.flush()
        raise RuntimeError("disk full")

    monkeypatch.setitem(retention.POLICIES, failing, dataclasses.replace(policy, purge_batch=fail_after))
    with pytest.raises(RuntimeError, match="disk full"):
        purge(world.adm)
    assert snapshot(world.adm) == before


def test_many_candidates_are_purged_in_batches(world: World) -> None:
    """1,203 registrations from six years ago: more than two batches, each with its tombstone."""
    with world.adm.transaction(write=True) as s:
        exam = s.scalars(select(ExamSession).where(ExamSession.code == "S-OLD")).one()
        rows = [{"id": uuid.uuid4(), "code": f"B{i:07d}", "occupation": OCC, "level": 3, "session_id": exam.id, "status": "accepted",
                 "parts": {}, "created_at": moment(SESSIONS["S-OLD"]), "version": 1, "key_version": 1, "dek": os.urandom(60),
                 "personal": os.urandom(200), "photo": None} for i in range(1203)]  # fmt: skip
        bulk_insert(s, Candidate.__table__, rows)
    started = clock.perf_counter()
    r = purge(world.adm, kinds=["candidate"])
    elapsed = clock.perf_counter() - started
    assert r["purged"] == {"candidate": 1203 + DUE_TODAY["candidate"]}
    with world.adm.transaction() as s:
        kr = world.adm.keyring(s)
        erased = {
            c.code: (
                open_fields(kr, CANDIDATE_PERSONAL, row_of(CANDIDATE_PERSONAL, c))["personal"],
                c.version,
            )
            for c in s.scalars(select(Candidate).where(Candidate.code.like("B%")))
        }
    assert set(erased.values()) == {(b"", 2)} and len(erased) == 1203
    stones = {t.record: t.digest for t in _tombstones(world.adm)}
    assert all(stones[r["code"]] == _erased(r["personal"], None) for r in rows)
    assert elapsed < 30, elapsed  # seconds; a per-row loop with ORM objects takes far longer on PostgreSQL


def test_keys_rotate_rewrap_and_retire_after_a_purge(world: World) -> None:
    """A purged candidate is still a well-formed sealed row: rotation and `keys set-min` are not stuck on it."""
    purge(world.adm, kinds=["candidate"])
    with world.adm.transaction(write=True) as s:
        s.execute(delete(Incident))  # the fixture's incidents hold random bytes, not sealed text
    new = rotate(world.adm, "personal")["personal"]
    assert rewrap_domain(world.adm, "personal")["personal"] > 0
    set_minimum(world.adm, "personal", new)
    with world.adm.transaction() as s:
        kr = world.adm.keyring(s)
        for c in s.scalars(select(Candidate)):
            assert c.key_version == new
            opened = open_candidate(kr, c)
            assert (
                opened.get("purged") is True
                if c.id in world.due["candidate"]
                else opened["name"].startswith("考生")
            )


# ---------------------------------------------------------------- the custody log after a purge


def test_custody_log_still_verifies_after_a_purge_in_the_middle(world: World) -> None:
    bank = world.cust
    verified = custody.verify_log(bank, trusted=world.trusted, seen_checkpoint=world.notes[6])
    with bank.transaction() as s:
        leaves = {seq: bytes(leaf) for seq, leaf in s.execute(select(CustodyEvent.seq, CustodyEvent.leaf))}
    purge(world.adm, kinds=["custody_event"])

    after = custody.verify_log(bank, trusted=world.trusted, seen_checkpoint=world.notes[6])
    assert after == verified  # same events, checkpoints and root
    with bank.transaction() as s:
        rows = {
            seq: (bytes(leaf), purged)
            for seq, leaf, purged in s.execute(
                select(CustodyEvent.seq, CustodyEvent.leaf, CustodyEvent.purged)
            )
        }
    for seq, (leaf, purged) in rows.items():
        if seq in PURGED_SEQS:
            assert purged and leaf == hashlib.sha256(b"\x00" + leaves[seq]).digest()
        else:
            assert not purged and leaf == leaves[seq]
    assert not rows[11][1]  # due, but no checkpoint covers it yet

    assert [e["seq"] for e in custody.list_events(bank)] == [s for s in range(12) if s not in PURGED_SEQS]
    shown = custody.list_events(bank, include_purged=True)
    assert [e["seq"] for e in shown] == list(range(12))
    assert [e for e in shown if e["seq"] in PURGED_SEQS] == [{"seq": s, "purged": True} for s in PURGED_SEQS]

    for seq in (0, 3, 6, 9):  # receipts for the events kept still verify offline, purged neighbours and all
        doc = json.loads(json.dumps(custody.inclusion_proof(bank, seq)))
        assert base64.b64decode(doc["leaf"]) == leaves[seq]
        assert verify_doc(doc, world.trusted, "proof.json")["index"] == seq
    with pytest.raises(NotFoundError, match="custody event 2 was purged under retention"):
        custody.inclusion_proofs(bank, [3, 2])
    consistency = json.loads(json.dumps(custody.consistency_proof(bank, world.notes[6])))
    assert verify_doc(consistency, world.trusted, "consistency.json")["new_size"] == 10

    custody.checkpoint(bank)  # now event 11 is covered, and the next purge takes it
    assert purge(world.adm, kinds=["custody_event"])["purged"] == {"custody_event": 1}
    assert custody.verify_log(bank, trusted=world.trusted, seen_checkpoint=world.notes[10])["events"] == 12


def _flip(s: Session, seq: int) -> None:
    leaf = bytes(s.scalars(select(CustodyEvent.leaf).where(CustodyEvent.seq == seq)).one())
    _set(s, CustodyEvent, seq, leaf=bytes([leaf[0] ^ 1]) + leaf[1:])


def _rebuild_nodes(s: Session) -> None:
    s.execute(delete(CustodyNode))
    tree = merkle.MemoryTree()
    for leaf, purged in s.execute(select(CustodyEvent.leaf, CustodyEvent.purged).order_by(CustodyEvent.seq)):
        tree.append_hash(bytes(leaf) if purged else merkle.leaf_hash(bytes(leaf)))
    s.execute(
        insert(CustodyNode),
        [
            {"level": lv, "index": ix, "hash": h}
            for lv, level in enumerate(tree.levels)
            for ix, h in enumerate(level)
        ],
    )


def _purge_by_hand(s: Session, seq: int) -> None:
    """What a purge does, done to an event no checkpoint covers: its hash is genuine, but nobody signed for it."""
    leaf = bytes(s.scalars(select(CustodyEvent.leaf).where(CustodyEvent.seq == seq)).one())
    _set(s, CustodyEvent, seq, leaf=merkle.leaf_hash(leaf), purged=True)


TAMPERING: dict[str, tuple[Callable[[Session], None], str]] = {
    "purged hash changed": (lambda s: _flip(s, 5), "tree node [0-9]+/[0-9]+ does not match the events"),
    "purged hash changed, nodes recomputed": (lambda s: (_flip(s, 5), _rebuild_nodes(s)), "stored checkpoint 6 \\(size 6\\) does not match"),
    "purged hash cut short": (lambda s: _set(s, CustodyEvent, 2, leaf=b"\x00" * 31), "event 2 is marked purged but holds 31 bytes"),
    "purged mark removed": (lambda s: _set(s, CustodyEvent, 7, purged=False), "event 7 is not valid JSON"),
    "event past the checkpoints purged by hand": (lambda s: _purge_by_hand(s, 11), "event 11 is marked purged but no signed checkpoint covers it"),
    "purged event deleted": (lambda s: s.execute(delete(CustodyEvent).where(CustodyEvent.seq == 1)), "event 1 is missing"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(TAMPERING))
def test_verify_log_catches_tampering_with_purged_events(world: World, case: str) -> None:
    purge(world.adm, kinds=["custody_event"])
    custody.verify_log(world.cust)
    tamper, message = TAMPERING[case]
    with world.cust.transaction(write=True) as s:
        tamper(s)
    with pytest.raises(IntegrityError, match=message):
        custody.verify_log(world.cust)


def test_a_purge_refuses_a_custody_event_that_no_longer_matches_its_tree_node(world: World) -> None:
    with world.cust.transaction(write=True) as s:
        leaf = bytes(s.scalars(select(CustodyEvent.leaf).where(CustodyEvent.seq == 5)).one())
        _set(s, CustodyEvent, 5, leaf=leaf.replace(b'"n":5', b'"n":6'))
    before = snapshot(world.adm)
    with pytest.raises(IntegrityError, match="custody event 5 does not match its tree node"):
        purge(world.adm)
    assert snapshot(world.adm) == before
    with world.adm.transaction() as s:
        assert s.scalar(select(CustodyCheckpoint.size).order_by(CustodyCheckpoint.size.desc()).limit(1)) == 10


# ---------------------------------------------------------------- the CLI


def _run(db_url: str, user: str, *args: str) -> tuple[int, str, str]:
    """As the installed command runs: main() maps errors to a message and an exit code."""
    if "retention" not in cli.commands:  # until examvault/cli.py registers the group
        cli.add_command(retention_group)
    env = {"EXAMVAULT_PASSPHRASE": PASSPHRASE, "EXAMVAULT_USER": None, "EXAMVAULT_DB": None}
    with CliRunner().isolation(env=env) as (stdout, stderr, _):
        try:
            main(["--db", db_url, "--user", user, "retention", *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        sys.stdout.flush()
        sys.stderr.flush()
        return code, stdout.getvalue().decode(), stderr.getvalue().decode()


def test_retention_cli(world: World, db_url: str) -> None:
    code, out, err = _run(db_url, "sup", "report")
    assert code == 0, err
    assert "考生报名信息" in out and "答题卡及试卷" in out and "permanent" in out
    assert f"{sum(DUE_TODAY.values())} of" in err and "newer than the latest checkpoint" in err
    code, out, err = _run(db_url, "sup", "report", "--records", "--kind", "sign_in_sheet")
    assert code == 0 and "S-OLD/K01" in out and "S-NEW/T01" not in out
    code, out, _ = _run(
        db_url, "kaowu", "report", "--json", "--as-of", (TODAY + timedelta(days=1)).isoformat()
    )
    assert code == 0 and json.loads(out)["as_of"] == (TODAY + timedelta(days=1)).isoformat()
    code, _, err = _run(db_url, "kaowu", "report", "--as-of", "明天")
    assert code == ValidationError.exit_code and "--as-of" in err

    before = snapshot(world.adm)
    code, _, err = _run(db_url, "adm", "purge")
    total = sum(DUE_TODAY.values())
    assert code == ValidationError.exit_code and f"{total} records would be purged" in err and "--yes" in err
    code, _, err = _run(db_url, "kaowu", "purge", "--yes")
    assert code == PermissionDenied.exit_code and "retention.purge" in err
    assert snapshot(world.adm) == before
    code, out, err = _run(db_url, "adm", "purge", "--kind", "sign_in_sheet", "--yes")
    assert code == 0 and "考场签到表" in out and "销毁" in err
    code, out, _ = _run(db_url, "adm", "purge", "--yes", "--json")
    assert code == 0 and json.loads(out)["total"] == total - DUE_TODAY["sign_in_sheet"]
    code, _, err = _run(db_url, "adm", "purge")
    assert code == 0 and "nothing is due" in err
