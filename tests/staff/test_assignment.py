"""Assignment (考务人员配备) through staff.service.assign: 回避, credentials, composition,
sanctions, rules as data, marker posts and the staffing report.

The `sitting` fixture: session S2026-01 (level 3) with T01 (theory, 20 candidates from
UNIT_A), T02 (theory, 16 from UNIT_C), K01 (skill, 10 from UNIT_B); invigilators JK1-4,
examiners KP1-4, GK1 (senior examiner and chief), DD1 (supervisor)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

from examvault.accounts.models import AuditEvent
from examvault.db import utcnow
from examvault.errors import ConflictError, ValidationError
from examvault.registration.models import ExamSession
from examvault.registration.service import add_candidates, add_room, create_session
from examvault.staff.models import Assignment, Credential, StaffMember
from examvault.staff.rules import default_rules_text
from examvault.staff.service import (
    AssignmentRefused,
    add_credential,
    assign,
    declare_relation,
    record_sanction,
    set_rules,
    set_status,
    show_rules,
    show_staff,
    staffing,
    unassign,
)
from tests.conftest import OCC, snapshot
from tests.staff.conftest import EXAM_DATE, SESSION, UNIT_A, UNIT_B, UNIT_C, Sitting, card, id_number


def refused(s: Sitting, duty: str, codes: Sequence[str], **where: Any) -> AssignmentRefused:
    with pytest.raises(AssignmentRefused) as exc:
        assign(s.admin, where.pop("session", SESSION), duty, codes, **where)
    return exc.value


def broken(exc: AssignmentRefused) -> set[tuple[str | None, str]]:
    """(staff or None for a composition rule, rule id) for every refusal."""
    return {(r.staff, r.rule) for r in exc.refusals}


def place(s: Sitting, room: str, count: int, unit: str, first: int, session: str = SESSION) -> None:
    rows = [{"name": f"考生{n}", "id_number": id_number(n), "work_unit": unit} for n in range(first, first + count)]
    add_candidates(s.admin, session, rows, room=room)


def posts(s: Sitting) -> dict[str, list[tuple[str, str | None, int, bool]]]:
    """staff code → (duty, task, rules version, ended) of every Assignment row."""
    out: dict[str, list[tuple[str, str | None, int, bool]]] = {}
    with s.admin.transaction() as db:
        for a in db.scalars(select(Assignment).order_by(Assignment.id)):
            out.setdefault(a.staff.code, []).append((a.duty, a.task, a.rules_version, a.ended_at is not None))
    return out


# ------------------------------------------------------------------ 回避


def test_same_work_unit_is_avoided(sitting: Sitting) -> None:
    s = sitting
    s.add("KPB", "考评员", unit=UNIT_B, credential=card("KP-B"))
    exc = refused(s, "examiner", ["KP1", "KP2", "KPB"], room="K01")
    assert broken(exc) == {("KPB", "avoid.work_unit")}
    assert "same unit as 10 candidate(s)" in str(exc)
    # the unit compares after normalisation: spaces and full-width forms do not hide it
    s.add("JKA", "监考", unit=" 江铃汽车 股份有限公司 ")
    s.add("JKW", "监考", unit=UNIT_A.replace("汽车", "汽车\u3000"))  # an ideographic space
    assert broken(refused(s, "invigilator", ["JK1", "JKA", "JKW"], room="T01")) == {("JKA", "avoid.work_unit"), ("JKW", "avoid.work_unit")}
    # full-width letters and brackets, and letter case, do not hide it either
    add_room(s.admin, SESSION, "T05", kind="theory", capacity=5)
    place(s, "T05", 2, "ABB（中国）有限公司", first=301)
    s.add("JKF", "监考", unit="ＡＢＢ (中国) 有限公司")
    s.add("JKL", "监考", unit="abb(中国)有限公司")
    assert broken(refused(s, "invigilator", ["JKF", "JKL"], room="T05")) == {("JKF", "avoid.work_unit"), ("JKL", "avoid.work_unit")}
    # the same people are fine where nobody of their unit sits
    assert assign(s.admin, SESSION, "invigilator", ["JKA", "JK1"], room="T02")["post_size"] == 2
    assert assign(s.admin, SESSION, "invigilator", ["KPB", "JK2"], room="T01")["post_size"] == 2


def test_declared_relation_is_avoided(sitting: Sitting) -> None:
    s = sitting
    cand = s.candidates["K01"][3]["code"]
    declare_relation(s.admin, "KP1", id_number=s.candidate_ids[cand], relation="表兄弟")
    with pytest.raises(ConflictError, match="already declared"):
        declare_relation(s.admin, "KP1", id_number=s.candidate_ids[cand].lower(), relation="表兄弟")
    exc = refused(s, "examiner", ["KP1", "KP2", "KP3"], room="K01")
    assert broken(exc) == {("KP1", "avoid.relation")}
    assert cand in str(exc) and s.candidate_ids[cand] not in str(exc)  # the candidate's code, never the ID number
    # an unrelated room is fine; a relation to a T01 candidate blocks only T01
    assert assign(s.admin, SESSION, "invigilator", ["KP1", "JK1"], room="T02")["staff"] == ["KP1", "JK1"]
    declare_relation(s.admin, "JK2", id_number=s.candidate_ids[s.candidates["T01"][0]["code"]], relation="师生")
    assert broken(refused(s, "invigilator", ["JK2", "JK3"], room="T01")) == {("JK2", "avoid.relation")}
    assert assign(s.admin, SESSION, "examiner", ["KP2", "KP3", "KP4"], room="K01")["post_size"] == 3


# ------------------------------------------------------------------ person rules


def test_credential_scope_and_validity(sitting: Sitting) -> None:
    s = sitting
    s.add("KPO", "考评员", credential=card("KP-O", occupation="4-01-02-01"))  # another occupation
    s.add("KPL", "考评员", credential=card("KP-L", levels="4-5"))  # not level 3
    s.add("KPE", "考评员", credential=card("KP-E", valid_until=EXAM_DATE - timedelta(days=1)))
    s.add("KPF", "考评员", credential=card("KP-F", issued=EXAM_DATE + timedelta(days=1)))
    s.add("KPX", "考评员", credential=card("KP-X", valid_until=EXAM_DATE))  # valid through the exam day
    s.add("KPY", "考评员", credential=card("KP-Y", issued=EXAM_DATE, levels="3"))  # valid from the exam day
    exc = refused(s, "examiner", ["KPO", "KPL", "KPE", "KPF", "KPX", "KPY", "KP1"], room="K01")
    assert broken(exc) == {("KPO", "credential.scope"), ("KPL", "credential.scope"), ("KPE", "credential.valid"),
                           ("KPF", "credential.valid")}  # fmt: skip
    msg = {r.staff: r.message for r in exc.refusals}
    assert f"expired on {(EXAM_DATE - timedelta(days=1)).isoformat()}" in msg["KPE"]
    assert f"valid only from {(EXAM_DATE + timedelta(days=1)).isoformat()}" in msg["KPF"]
    assert f"occupation {OCC} level 3" in msg["KPL"]
    # a marker's card is checked the same way; an invigilator needs no card
    assert broken(refused(s, "marker", ["KPO", "KPE"], task="简答题")) == {("KPO", "credential.scope"), ("KPE", "credential.valid")}
    assert assign(s.admin, SESSION, "invigilator", ["KPE", "KPO"], room="T02")["post_size"] == 2

    # a revoked card does not count, a live second card does, and the post records the card used
    with s.admin.transaction() as db:
        db.execute(update(Credential).where(Credential.number == "KP-0002").values(revoked_at=utcnow(), revoked_reason="遗失"))
    exc = refused(s, "examiner", ["KP2", "KP3", "KP4"], room="K01")
    assert broken(exc) == {("KP2", "credential.valid")} and "revoked" in str(exc)
    add_credential(s.admin, "KP2", number="KP-0002B", kind="examiner", occupation=OCC, levels="3",
                   issued_on=EXAM_DATE - timedelta(days=5), valid_until=EXAM_DATE + timedelta(days=5))  # fmt: skip
    assign(s.admin, SESSION, "examiner", ["KP2", "KPX", "KPY"], room="K01")
    with s.admin.transaction() as db:
        used = dict(db.execute(
            select(StaffMember.code, Credential.number).join(Assignment, Assignment.staff_id == StaffMember.id)
            .join(Credential, Credential.id == Assignment.credential_id).where(Assignment.duty == "examiner")
        ).all())  # fmt: skip
    assert used == {"KP2": "KP-0002B", "KPX": "KP-X", "KPY": "KP-Y"}


def test_level_2_session_needs_senior_examiners(sitting: Sitting) -> None:
    s = sitting
    create_session(s.admin, "S2026-02", occupation=OCC, level=2, exam_date=EXAM_DATE)
    add_room(s.admin, "S2026-02", "K21", kind="skill", capacity=5)
    exc = refused(s, "examiner", ["KP1", "KP2", "KP3"], room="K21", session="S2026-02")
    assert broken(exc) == {("KP1", "senior.levels"), ("KP2", "senior.levels"), ("KP3", "senior.levels")}
    assert broken(refused(s, "marker", ["KP1"], task="论文", session="S2026-02")) == {("KP1", "senior.levels")}
    s.add("GK2", "高级考评员", credential=card("GK-2", levels="1-3"))
    s.add("GK3", "高级考评员", credential=card("GK-3", levels="3"))  # senior, but the card does not cover level 2
    assert broken(refused(s, "examiner", ["GK1", "GK2", "GK3"], room="K21", session="S2026-02")) == {("GK3", "credential.scope")}
    s.add("GK4", "高级考评员", credential=card("GK-4", levels="2"))
    assert assign(s.admin, "S2026-02", "examiner", ["GK1", "GK2", "GK4"], room="K21")["post_size"] == 3
    # the same examiners serve the level-3 session as usual
    assert assign(s.admin, SESSION, "examiner", ["KP1", "KP2", "KP3"], room="K01")["post_size"] == 3


def test_status_role_and_one_room_per_session(sitting: Sitting) -> None:
    s = sitting
    set_status(s.admin, "KP4", "suspended", "待查")
    exc = refused(s, "examiner", ["KP1", "KP2", "KP4"], room="K01")
    assert broken(exc) == {("KP4", "status.active")} and "suspended (待查)" in str(exc)
    # wrong roles for the duty
    exc = refused(s, "examiner", ["KP1", "KP2", "JK1"], room="K01")
    assert ("JK1", "role.duty") in broken(exc) and {r.staff for r in exc.refusals} == {"JK1"}
    assert broken(refused(s, "invigilator", ["JK1", "DD1"], room="T02")) == {("DD1", "role.duty")}
    # KP1 is no chief examiner, and an examiner's card is not a card that qualifies for the post (cards: in the rules)
    assert broken(refused(s, "chief_examiner", ["KP1"])) == {("KP1", "role.duty"), ("KP1", "credential.valid")}
    assert broken(refused(s, "supervisor", ["GK1"])) == {("GK1", "role.duty"), ("GK1", "credential.valid")}  # nor a supervisor's card
    assert assign(s.admin, SESSION, "chief_examiner", ["GK1"])["room"] is None
    assert assign(s.admin, SESSION, "supervisor", ["DD1"])["staff"] == ["DD1"]

    # one room (or station) per person per session, across invigilation and examining
    assign(s.admin, SESSION, "invigilator", ["JK1", "JK2"], room="T02")
    exc = refused(s, "invigilator", ["JK1", "JK3"], room="T01")
    assert broken(exc) == {("JK1", "post.single")} and "room T02 of session S2026-01" in str(exc)
    assign(s.admin, SESSION, "examiner", ["KP1", "KP2", "KP3"], room="K01")
    assert broken(refused(s, "invigilator", ["KP1", "JK3"], room="T01")) == {("KP1", "post.single")}
    with pytest.raises(ConflictError, match="already hold"):
        assign(s.admin, SESSION, "invigilator", ["JK1"], room="T02")
    assert assign(s.admin, SESSION, "invigilator", ["JK3"], room="T02")["post_size"] == 3  # more in the same room is fine
    # a chief examiner's session-wide post takes no room: GK1 may also sit on a panel
    set_status(s.admin, "KP4", "active", "查无问题")
    assert assign(s.admin, SESSION, "examiner", ["GK1", "KP4"], room="K01")["post_size"] == 5
    # once a post ends, the person may serve elsewhere
    unassign(s.admin, SESSION, "JK1", reason="调往T01")
    assert assign(s.admin, SESSION, "invigilator", ["JK1", "JK4"], room="T01")["post_size"] == 2


# ------------------------------------------------------------------ composition


def test_examiner_panels_are_odd_and_one_per_five(sitting: Sitting) -> None:
    s = sitting
    for n in range(5, 10):
        s.add(f"KP{n}", "考评员", credential=card(f"KP-X{n}"))
    assert broken(refused(s, "examiner", ["KP1", "KP2"], room="K01")) == {(None, "panel.odd")}
    assert broken(refused(s, "examiner", ["KP1", "KP2", "KP3", "KP4"], room="K01")) == {(None, "panel.odd")}
    assert assign(s.admin, SESSION, "examiner", ["KP1", "KP2", "KP3"], room="K01")["post_size"] == 3
    # the panel is judged as it would be after the change
    exc = refused(s, "examiner", ["KP4"], room="K01")
    assert broken(exc) == {(None, "panel.odd")} and "panel of 4" in str(exc)
    assert assign(s.admin, SESSION, "examiner", ["KP4", "GK1"], room="K01")["post_size"] == 5

    # 16 candidates at 1 per 5 need 4, and an odd panel makes it 5
    add_room(s.admin, SESSION, "K02", kind="skill", capacity=20)
    place(s, "K02", 16, "某电气安装公司", first=101)
    exc = refused(s, "examiner", ["KP5", "KP6", "KP7"], room="K02")
    assert broken(exc) == {(None, "examiners.ratio")} and "16 candidates" in str(exc) and "at least 4" in str(exc)
    assert broken(refused(s, "examiner", ["KP5", "KP6", "KP7", "KP8"], room="K02")) == {(None, "panel.odd")}
    assert assign(s.admin, SESSION, "examiner", ["KP5", "KP6", "KP7", "KP8", "KP9"], room="K02")["post_size"] == 5
    report = {r["room"]: r for r in staffing(s.admin, SESSION)["rooms"]}
    assert report["K02"]["required"] == {"examiner": 5} and report["K02"]["problems"] == []
    assert report["K01"]["required"] == {"examiner": 3}


def test_theory_rooms_need_two_invigilators_and_one_per_fifteen(sitting: Sitting) -> None:
    s = sitting
    exc = refused(s, "invigilator", ["JK1"], room="T01")
    assert broken(exc) == {(None, "invigilators.per_room"), (None, "invigilators.ratio")}
    assert "room T01 would have 1 invigilator(s); at least 2 are required" in str(exc)
    assert assign(s.admin, SESSION, "invigilator", ["JK1", "JK2"], room="T01")["post_size"] == 2
    add_room(s.admin, SESSION, "T03", kind="theory", capacity=40)
    place(s, "T03", 31, "某职业学校", first=201)
    exc = refused(s, "invigilator", ["JK3", "JK4"], room="T03")
    assert broken(exc) == {(None, "invigilators.ratio")} and "31 candidates" in str(exc) and "at least 3" in str(exc)
    assert assign(s.admin, SESSION, "invigilator", ["JK3", "JK4", "KP1"], room="T03")["post_size"] == 3
    # before anyone is placed, the room's capacity is what it must be staffed for
    add_room(s.admin, SESSION, "T04", kind="theory", capacity=31)
    s.add("JK5", "监考")
    s.add("JK6", "监考")
    assert broken(refused(s, "invigilator", ["JK5", "JK6"], room="T04")) == {(None, "invigilators.ratio")}
    # a skill station has no invigilator rules
    assert assign(s.admin, SESSION, "invigilator", ["JK5"], room="K01")["post_size"] == 1


def test_refused_assignment_writes_nothing_but_its_audit_record(sitting: Sitting) -> None:
    s = sitting
    s.add("KPB", "考评员", unit=UNIT_B, credential=card("KP-B"))
    before = snapshot(s.admin)
    exc = refused(s, "examiner", ["JK1", "KPB"], room="K01")
    after = snapshot(s.admin)
    assert {k: v for k, v in after.items() if k != "audit_events"} == {k: v for k, v in before.items() if k != "audit_events"}
    assert len(after["audit_events"]) == len(before["audit_events"]) + 1
    expected = {"role.duty", "credential.valid", "avoid.work_unit", "panel.odd"}
    assert {r.rule for r in exc.refusals} == expected
    text = str(exc)
    assert text.startswith("examiner post in room K01 of session S2026-01 refused; nothing was assigned:")
    for rule in expected:
        assert f"refused by rule {rule} (" in text
    assert "KPB: refused by rule avoid.work_unit (本单位回避)" in text
    with s.admin.transaction() as db:
        ev = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert (ev.action, ev.actor, ev.target_id) == ("staff.assign.refused", "kaowu", SESSION)
    assert ev.details["rules"] == sorted(expected) and ev.details["staff"] == ["JK1", "KPB"] and ev.details["room"] == "K01"


# ------------------------------------------------------------------ sanctions


def test_sanctions_end_posts_and_revoke_cards(sitting: Sitting) -> None:
    s = sitting
    assign(s.admin, SESSION, "invigilator", ["JK1", "JK2"], room="T02")
    assign(s.admin, SESSION, "examiner", ["KP1", "KP2", "KP3"], room="K01")
    r = record_sanction(s.admin, "JK1", "removal", "考场内使用手机", session_code=SESSION)
    assert (r["posts_ended"], r["status"], r["cards_revoked"]) == (1, "suspended", [])
    shown = show_staff(s.admin, "JK1")
    (post,) = shown["assignments"]
    assert (post["session"], post["duty"], post["room"]) == (SESSION, "invigilator", "T02")  # kept in the record
    assert post["ended_at"] and "考场内使用手机" in post["ended_reason"]
    assert [x["tier"] for x in shown["sanctions"]] == ["removal"] and shown["status"] == "suspended"
    assert broken(refused(s, "invigilator", ["JK1", "JK3"], room="T01")) == {("JK1", "status.active")}
    t02 = next(x for x in staffing(s.admin, SESSION)["rooms"] if x["room"] == "T02")
    assert t02["assigned"] == {"invigilator": ["JK2"]}
    assert any("invigilators.per_room" in p and "room T02 has 1 invigilator(s)" in p for p in t02["problems"])

    r = record_sanction(s.admin, "KP2", "warning", "迟到")
    assert (r["posts_ended"], r["cards_revoked"]) == (0, [])
    assert show_staff(s.admin, "KP2")["status"] == "active" and posts(s)["KP2"] == [("examiner", None, 1, False)]

    r = record_sanction(s.admin, "KP1", "credential_revoked", "泄露考题")
    assert (r["posts_ended"], r["cards_revoked"], r["status"]) == (1, ["KP-0001"], "revoked")
    shown = show_staff(s.admin, "KP1")
    assert shown["credential_revoked"] and all(c["revoked_at"] for c in shown["credentials"])
    assert shown["assignments"][0]["ended_at"]
    exc = refused(s, "examiner", ["KP1"], room="K01")  # KP2, KP3 and KP1 again would be a panel of 3
    assert broken(exc) == {("KP1", "status.active"), ("KP1", "credential.valid")}
    assert "every credential card of the person is revoked" in str(exc)

    r = record_sanction(s.admin, "KP3", "reported_to_unit", "违规")
    assert r["report_to"] == "示范技师学院" and r["cards_revoked"] == ["KP-0003"]
    with pytest.raises(ValidationError):
        record_sanction(s.admin, "KP4", "fine", "x")


def test_posts_of_a_closed_session_are_not_ended(sitting: Sitting) -> None:
    s = sitting
    assign(s.admin, SESSION, "invigilator", ["JK1", "JK2"], room="T02")
    create_session(s.admin, "S2026-03", occupation=OCC, level=3, exam_date=EXAM_DATE + timedelta(days=7))
    add_room(s.admin, "S2026-03", "T31", kind="theory", capacity=10)
    assign(s.admin, "S2026-03", "invigilator", ["JK1", "JK3"], room="T31")
    with s.admin.transaction() as db:
        db.execute(update(ExamSession).where(ExamSession.code == SESSION).values(stage="closed"))
    r = record_sanction(s.admin, "JK1", "removal", "违纪")
    assert r["posts_ended"] == 1
    by_session = {a["session"]: a for a in show_staff(s.admin, "JK1")["assignments"]}
    assert by_session[SESSION]["ended_at"] is None and by_session[SESSION]["ended_reason"] == ""
    assert by_session["S2026-03"]["ended_at"] and "违纪" in by_session["S2026-03"]["ended_reason"]
    with pytest.raises(ConflictError, match="closed"):
        assign(s.admin, SESSION, "invigilator", ["JK3", "JK4"], room="T01")
    assert set_status(s.admin, "JK2", "revoked", "x")["posts_ended"] == 0  # nor on revocation


# ------------------------------------------------------------------ rules as data, markers, staffing


def test_rules_are_data_and_each_post_keeps_its_version(sitting: Sitting, tmp_path: Path) -> None:
    s = sitting
    assert show_rules(s.admin)["default"] is True
    assert assign(s.admin, SESSION, "invigilator", ["JK1", "JK2"], room="T02")["rules_version"] == 1
    doc = yaml.safe_load(default_rules_text())
    next(r for r in doc["rules"] if r["id"] == "invigilators.per_room")["min"] = 3
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    assert set_rules(s.admin, path)["version"] == 2
    shown = show_rules(s.admin)
    assert shown["version"] == 2 and shown["default"] is False and shown["created_by"] == "kaowu"

    exc = refused(s, "invigilator", ["JK3", "JK4"], room="T01")
    assert broken(exc) == {(None, "invigilators.per_room")} and "at least 3" in str(exc)
    assert assign(s.admin, SESSION, "invigilator", ["JK3", "JK4", "KP1"], room="T01")["rules_version"] == 2
    # T02 was staffed under v1 and keeps that record; against v2 it is now short
    report = staffing(s.admin, SESSION)
    t02 = next(x for x in report["rooms"] if x["room"] == "T02")
    assert t02["required"] == {"invigilator": 3} and not report["ok"]

    # dropping a rule needs no code: without avoid.work_unit a same-unit invigilator is accepted
    doc["rules"] = [r for r in doc["rules"] if r["id"] != "avoid.work_unit"]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    assert set_rules(s.admin, path)["version"] == 3
    s.add("JKA", "监考", unit=UNIT_A)
    assert assign(s.admin, SESSION, "invigilator", ["JKA"], room="T01")["rules_version"] == 3
    assert {code: [p[2] for p in ps] for code, ps in posts(s).items()} == {"JK1": [1], "JK2": [1], "JK3": [2], "JK4": [2], "KP1": [2], "JKA": [3]}

    # a broken file changes nothing
    path.write_text("duties: {}\nrules:\n  - {id: x, kind: nope}\n", "utf-8")
    with pytest.raises(ValidationError, match=r"rules\[1\] \(x\): unknown kind"):
        set_rules(s.admin, path)
    assert show_rules(s.admin)["version"] == 3


def test_marker_needs_a_task_and_avoids_every_candidate_of_the_session(sitting: Sitting) -> None:
    s = sitting
    with pytest.raises(ValidationError, match="--task"):
        assign(s.admin, SESSION, "marker", ["KP1"])
    with pytest.raises(ValidationError, match="drop --room"):
        assign(s.admin, SESSION, "marker", ["KP1"], room="T01", task="简答题 41-45")
    task = "简答题 41-45"
    s.add("KPC", "考评员", unit=UNIT_C, credential=card("KP-C"))  # T02's candidates come from UNIT_C
    exc = refused(s, "marker", ["KPC", "KP1"], task=task)
    assert broken(exc) == {("KPC", "avoid.work_unit")} and "16 candidate(s)" in str(exc)
    declare_relation(s.admin, "KP2", id_number=s.candidate_ids[s.candidates["T01"][5]["code"]], relation="子女")
    assert broken(refused(s, "marker", ["KP2"], task=task)) == {("KP2", "avoid.relation")}
    assert broken(refused(s, "marker", ["JK1"], task=task)) == {("JK1", "role.duty"), ("JK1", "credential.valid")}
    assert assign(s.admin, SESSION, "marker", ["KP1", "KP3"], task=task)["post_size"] == 2
    # a marking task is not a room: the same people may still sit on a panel
    assign(s.admin, SESSION, "examiner", ["KP1", "KP3", "KP4"], room="K01")
    assert posts(s)["KP1"] == [("marker", task, 1, False), ("examiner", None, 1, False)]
    assert staffing(s.admin, SESSION)["session_posts"] == {f"marker:{task}": ["KP1", "KP3"]}


def test_staffing_reports_each_room_until_all_are_staffed(sitting: Sitting) -> None:
    s = sitting
    report = staffing(s.sup, SESSION)  # supervisors read it too
    assert report["ok"] is False
    rooms = {r["room"]: r for r in report["rooms"]}
    assert {k: (v["kind"], v["candidates"], v["required"]) for k, v in rooms.items()} == {
        "T01": ("theory", 20, {"invigilator": 2}), "T02": ("theory", 16, {"invigilator": 2}), "K01": ("skill", 10, {"examiner": 3}),
    }  # fmt: skip
    assert all(r["problems"] for r in rooms.values())
    assert any("invigilators.per_room" in p for p in rooms["T01"]["problems"])
    assert any("panel.odd" in p for p in rooms["K01"]["problems"])
    assert len(report["problems"]) == sum(len(r["problems"]) for r in rooms.values())

    assign(s.admin, SESSION, "invigilator", ["JK1", "JK2"], room="T01")
    assign(s.admin, SESSION, "invigilator", ["JK3", "JK4"], room="T02")
    report = staffing(s.admin, SESSION)
    assert report["ok"] is False and [r["room"] for r in report["rooms"] if r["problems"]] == ["K01"]
    assign(s.admin, SESSION, "examiner", ["KP1", "KP2", "KP3"], room="K01")
    assign(s.admin, SESSION, "chief_examiner", ["GK1"])
    report = staffing(s.admin, SESSION)
    assert report["ok"] is True and report["problems"] == []
    assert {r["room"]: r["assigned"] for r in report["rooms"]} == {
        "K01": {"examiner": ["KP1", "KP2", "KP3"]}, "T01": {"invigilator": ["JK1", "JK2"]}, "T02": {"invigilator": ["JK3", "JK4"]},
    }  # fmt: skip
    assert report["session_posts"] == {"chief_examiner": ["GK1"]}
    unassign(s.admin, SESSION, "JK4", reason="病假")
    report = staffing(s.admin, SESSION)
    assert report["ok"] is False and [r["room"] for r in report["rooms"] if r["problems"]] == ["T02"]


# ------------------------------------------------------------------ cards per duty, supervision, tasks


def _card_of_post(s: Sitting, code: str, duty: str) -> str | None:
    with s.admin.transaction() as db:
        return db.scalars(
            select(Credential.number).join(Assignment, Assignment.credential_id == Credential.id)
            .join(StaffMember, StaffMember.id == Assignment.staff_id).where(StaffMember.code == code, Assignment.duty == duty)
        ).first()  # fmt: skip


def test_an_examiner_card_does_not_make_a_supervisor(sitting: Sitting) -> None:
    s = sitting
    s.add("DX1", "督导员,考评员", credential=card("KP-DX1"))  # registered as both; the card is an examiner's
    assert [c["kind"] for c in show_staff(s.admin, "DX1")["credentials"]] == ["examiner"]
    exc = refused(s, "supervisor", ["DX1"])
    assert broken(exc) == {("DX1", "credential.valid")} and "holds no credential card of kind supervisor" in str(exc)
    add_credential(s.admin, "DX1", number="DD-X1", kind="supervisor", occupation=None, levels="",
                   issued_on=EXAM_DATE - timedelta(days=30), valid_until=EXAM_DATE + timedelta(days=300))  # fmt: skip
    assert assign(s.admin, SESSION, "supervisor", ["DX1"])["staff"] == ["DX1"]
    assert _card_of_post(s, "DX1", "supervisor") == "DD-X1"  # the post records the card that qualifies, not the first one
    # a chief examiner needs a chief or senior examiner's card: the examiner's card of KP1 is not one
    s.add("ZK1", "主考,考评员", credential=card("KP-ZK1") | {"credential_kind": "考评员"})
    assert broken(refused(s, "chief_examiner", ["ZK1"])) == {("ZK1", "credential.valid")}


def test_a_senior_role_with_only_an_examiner_card_fails_senior_levels(sitting: Sitting) -> None:
    s = sitting
    create_session(s.admin, "S2026-02", occupation=OCC, level=2, exam_date=EXAM_DATE)
    s.add("GX1", "高级考评员", credential=card("KP-GX1") | {"credential_kind": "考评员"})  # the role, an examiner's card
    assert [c["kind"] for c in show_staff(s.admin, "GX1")["credentials"]] == ["examiner"]
    exc = refused(s, "marker", ["GX1"], task="论文", session="S2026-02")
    assert broken(exc) == {("GX1", "senior.levels")} and "holds no valid senior examiner's card" in str(exc)
    add_credential(s.admin, "GX1", number="GK-GX1", kind="senior_examiner", occupation=OCC, levels="2",
                   issued_on=EXAM_DATE - timedelta(days=30), valid_until=EXAM_DATE + timedelta(days=300))  # fmt: skip
    assert assign(s.admin, "S2026-02", "marker", ["GX1"], task="论文")["post_size"] == 1


def test_supervision_is_independent_of_every_other_post(sitting: Sitting) -> None:
    s = sitting
    s.add("DX2", "督导员,监考", credential=card("DD-X2", levels="", occupation="") | {"credential_kind": "督导员"})
    assign(s.admin, SESSION, "invigilator", ["DX2", "JK1"], room="T02")
    # the invigilator of T02 cannot supervise the session
    exc = refused(s, "supervisor", ["DX2"])
    assert broken(exc) == {("DX2", "supervision.independent")} and "holds another post in session S2026-01" in str(exc)
    # and the other way: the supervisor takes no other post
    unassign(s.admin, SESSION, "DX2", reason="改任督导")
    assign(s.admin, SESSION, "supervisor", ["DX2"])
    exc = refused(s, "invigilator", ["DX2", "JK2"], room="T01")
    assert broken(exc) == {("DX2", "supervision.independent")} and "is the supervisor of session S2026-01" in str(exc)
    # another session is another matter
    create_session(s.admin, "S2026-04", occupation=OCC, level=3, exam_date=EXAM_DATE + timedelta(days=1))
    add_room(s.admin, "S2026-04", "T41", kind="theory", capacity=10)
    assert assign(s.admin, "S2026-04", "invigilator", ["DX2", "JK2"], room="T41")["post_size"] == 2


@pytest.mark.parametrize(("duty", "room", "codes"), [("invigilator", "T01", ["JK1", "JK2"]), ("examiner", "K01", ["KP1", "KP2", "KP3"]),
                                                     ("chief_examiner", None, ["GK1"]), ("supervisor", None, ["DD1"])])  # fmt: skip
def test_only_markers_take_a_task(sitting: Sitting, duty: str, room: str | None, codes: list[str]) -> None:
    s = sitting
    before = snapshot(s.admin)
    with pytest.raises(ValidationError, match=rf"only markers are assigned to marking tasks; drop --task for a {duty}"):
        assign(s.admin, SESSION, duty, codes, room=room, task="简答题 41-45")
    assert snapshot(s.admin) == before
    assert assign(s.admin, SESSION, duty, codes, room=room)["task"] is None


def test_a_task_name_has_a_length_limit(sitting: Sitting) -> None:
    s = sitting
    with pytest.raises(ValidationError, match="--task has 81 characters; at most 80 are allowed"):
        assign(s.admin, SESSION, "marker", ["KP1"], task="题" * 81)
    assert assign(s.admin, SESSION, "marker", ["KP1"], task="题" * 80)["post_size"] == 1


# ------------------------------------------------------------------ posts re-judged as things stand


def _staff_all(s: Sitting) -> None:
    assign(s.admin, SESSION, "invigilator", ["JK1", "JK2"], room="T01")
    assign(s.admin, SESSION, "invigilator", ["JK3", "JK4"], room="T02")
    assign(s.admin, SESSION, "examiner", ["KP1", "KP2", "KP3"], room="K01")


def test_a_candidate_placed_after_assignment_breaks_the_staffing(sitting: Sitting) -> None:
    s = sitting
    _staff_all(s)
    report = staffing(s.admin, SESSION)
    assert report["ok"] is True and report["post_conflicts"] == []
    place(s, "T01", 1, "示范技师学院", first=401)  # a candidate from the invigilators' own work unit, placed afterwards
    cand = s.candidates["T01"][0]["code"][:4]
    report = staffing(s.sup, SESSION)
    assert report["ok"] is False
    assert sorted(c.split(":")[0] for c in report["post_conflicts"]) == ["JK1", "JK2"]
    assert all("refused by rule avoid.work_unit (本单位回避)" in c and "same unit as 1 candidate(s)" in c for c in report["post_conflicts"])
    assert cand in report["post_conflicts"][0]  # the candidate's code is named
    assert report["problems"] == report["post_conflicts"]  # the head counts are still fine
    assert all(r["problems"] == [] for r in report["rooms"])
    # the room gets two invigilators of another unit; the conflicted posts end
    s.add("JK5", "监考", unit=UNIT_C)
    s.add("JK6", "监考", unit=UNIT_C)
    assign(s.admin, SESSION, "invigilator", ["JK5", "JK6"], room="T01")
    assert staffing(s.admin, SESSION)["ok"] is False  # JK1 and JK2 still hold their posts
    unassign(s.admin, SESSION, "JK1", reason="本单位考生编入T01，回避")
    unassign(s.admin, SESSION, "JK2", reason="本单位考生编入T01，回避")
    report = staffing(s.admin, SESSION)
    assert report["ok"] is True and report["post_conflicts"] == []


def test_a_relation_declared_after_assignment_is_reported_and_breaks_the_staffing(sitting: Sitting) -> None:
    s = sitting
    _staff_all(s)
    cand = s.candidates["K01"][2]["code"]
    r = declare_relation(s.admin, "KP2", id_number=s.candidate_ids[cand], relation="外甥")
    assert r["staff"] == "KP2" and r["relations"] == 1
    (conflict,) = r["conflicts"]
    assert conflict.startswith("KP2: refused by rule avoid.relation (近亲属及利害关系回避)") and cand in conflict
    assert s.candidate_ids[cand] not in str(r)  # never the candidate's ID number
    report = staffing(s.admin, SESSION)
    assert report["ok"] is False and report["post_conflicts"] == [conflict] and conflict in report["problems"]
    with s.admin.transaction() as db:
        ev = db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.relation.declare")).one()
    assert ev.details == {"conflicts": 1}
    # a relation to nobody in a running session conflicts with nothing
    assert declare_relation(s.admin, "KP1", id_number=id_number(7, "19600101"), relation="配偶")["conflicts"] == []
    # nor does one declared by a person holding no post
    other = s.candidates["T01"][0]["code"]
    assert declare_relation(s.admin, "KP4", id_number=s.candidate_ids[other], relation="表兄弟")["conflicts"] == []
    # once KP2 is replaced, the staffing is sound again
    unassign(s.admin, SESSION, "KP2", reason="与考生存在亲属关系，回避")
    assign(s.admin, SESSION, "examiner", ["KP4"], room="K01")
    assert staffing(s.admin, SESSION)["ok"] is True


def test_staffing_needs_the_bank_unlocked(sitting: Sitting, make_bank: Any) -> None:
    from examvault.errors import UnlockError

    with pytest.raises(UnlockError, match="needs the bank unlocked"):
        staffing(make_bank("kaowu", passphrase=None), SESSION)


def test_a_senior_level_post_records_the_senior_card(sitting: Sitting) -> None:
    s = sitting
    create_session(s.admin, "S2026-02", occupation=OCC, level=2, exam_date=EXAM_DATE)
    s.add("GX1", "高级考评员", credential=card("KP-GX1") | {"credential_kind": "考评员"})  # issued earlier: listed first
    add_credential(s.admin, "GX1", number="GK-GX1", kind="senior_examiner", occupation=OCC, levels="2",
                   issued_on=EXAM_DATE - timedelta(days=30), valid_until=EXAM_DATE + timedelta(days=300))  # fmt: skip
    assign(s.admin, "S2026-02", "marker", ["GX1"], task="论文")
    assert _card_of_post(s, "GX1", "marker") == "GK-GX1"


def test_a_senior_level_post_needs_a_senior_card_that_covers_the_level(sitting: Sitting) -> None:
    s = sitting
    create_session(s.admin, "S2026-02", occupation=OCC, level=2, exam_date=EXAM_DATE)
    s.add("GX1", "高级考评员", credential=card("KP-GX1", levels="1-5") | {"credential_kind": "考评员"})  # covers level 2
    add_credential(s.admin, "GX1", number="GK-GX1", kind="senior_examiner", occupation=OCC, levels="3",  # does not
                   issued_on=EXAM_DATE - timedelta(days=30), valid_until=EXAM_DATE + timedelta(days=300))  # fmt: skip
    exc = refused(s, "marker", ["GX1"], task="论文", session="S2026-02")
    assert broken(exc) and broken(exc) <= {("GX1", "credential.scope"), ("GX1", "senior.levels")}
