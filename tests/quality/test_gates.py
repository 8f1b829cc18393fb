"""Stage gates: a session leaves a stage only with its checklist complete and no open blocking
finding on it or an earlier stage; and who may file, tick and resolve."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from examvault.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from examvault.quality.models import ChecklistEntry, Finding
from examvault.quality.service import (
    StageBlocked,
    advance,
    checklist,
    file_finding,
    list_findings,
    resolve_finding,
    tick,
)
from examvault.registration.service import add_candidates, create_session
from examvault.staff.models import StaffMember
from examvault.staff.service import assign, declare_relation, unassign
from tests.conftest import OCC, snapshot
from tests.quality.conftest import audit_events, manual_items, put_at_stage, staff_rooms, stage_of, tick_all
from tests.staff.conftest import EXAM_DATE, UNIT_C, Sitting, card, id_number

REG, PAPER, ROOMS, MARKING = "registration_review", "paper_approval", "room_acceptance", "marking"


def blocked(s: Sitting) -> StageBlocked:
    with pytest.raises(StageBlocked) as exc:
        advance(s.admin, s.session)
    return exc.value


def stage_state(s: Sitting, stage: str) -> dict:
    return next(st for st in checklist(s.sup, s.session)["stages"] if st["stage"] == stage)


def entry_supervisors(s: Sitting) -> dict[tuple[str, str], str]:
    """(stage, item) → the staff code of the supervisor recorded on each checklist entry."""
    with s.admin.transaction() as session:
        rows = session.execute(select(ChecklistEntry.stage, ChecklistEntry.item, StaffMember.code)
                               .join(StaffMember, StaffMember.id == ChecklistEntry.supervisor_id))  # fmt: skip
        return {(stage, item): code for stage, item, code in rows}


def resolver_of(s: Sitting, finding_id: int) -> str | None:
    with s.admin.transaction() as session:
        return session.scalars(select(StaffMember.code).join(Finding, Finding.resolver_id == StaffMember.id)
                               .where(Finding.id == finding_id)).first()  # fmt: skip


def ready_for_room_acceptance(s: Sitting) -> None:
    """At room_acceptance with every room staffed and every manual item ticked: nothing holds it."""
    put_at_stage(s.admin, s.session, ROOMS)
    staff_rooms(s)
    tick_all(s, ROOMS)


def file_blocking(s: Sitting, stage: str = ROOMS, issue: str = "T02考场座号未张贴") -> dict:
    return file_finding(s.sup, s.session, stage=stage, supervisor="DD1", checked="考场布置", issue=issue,
                        correction="张贴座号并复查", blocking=True)  # fmt: skip


# ------------------------------------------------------------------ checklists


def test_unticked_items_block_and_the_refusal_changes_nothing_but_the_audit(supervised: Sitting) -> None:
    s = supervised
    before = snapshot(s.admin)
    exc = blocked(s)
    msg = str(exc)
    assert f"session {s.session} cannot leave stage {REG} (报名资格审核)" in msg
    assert f"checklist {REG}/eligibility (申报条件逐人审核，审核意见与依据有记录): not yet checked" in msg
    assert f"checklist {REG}/publicity (审核合格名单已公示，异议已处理): not yet checked" in msg
    assert len(exc.reasons) == 2
    assert stage_of(s.admin, s.session) == REG
    after = snapshot(s.admin)
    assert {t for t in after if after[t] != before[t]} == {"audit_events"}  # only the refusal is recorded
    assert len(after["audit_events"]) == len(before["audit_events"]) + 1
    refused = audit_events(s.admin, "session.advance.refused")
    assert refused == [{"actor": "kaowu", "target_id": s.session, "details": {"reasons": exc.reasons}}]
    assert audit_events(s.admin, "session.advance") == []


def test_a_failed_item_blocks_with_its_note_then_ticking_lets_the_session_advance(
    supervised: Sitting,
) -> None:
    s = supervised
    tick(s.sup, s.session, REG, "eligibility", passed=True, supervisor="DD1")
    with pytest.raises(ValidationError, match=r"a failed check says what failed \(--note\)"):
        tick(s.sup, s.session, REG, "publicity", passed=False, supervisor="DD1")
    tick(s.sup, s.session, REG, "publicity", passed=False, note="公示期未满5个工作日", supervisor="DD1")
    exc = blocked(s)
    assert exc.reasons == [
        f"checklist {REG}/publicity (审核合格名单已公示，异议已处理): failed — 公示期未满5个工作日"
    ]
    assert stage_of(s.admin, s.session) == REG

    # Re-ticking replaces the failed result.
    tick(s.sup, s.session, REG, "publicity", passed=True, supervisor="DD1")
    items = {i["id"]: i for i in stage_state(s, REG)["items"]}
    assert items["publicity"]["passed"] is True and items["publicity"]["checked_by"] == "sup"
    assert advance(s.admin, s.session) == {"session": s.session, "from": REG, "to": PAPER, "name": "试卷审批"}
    assert stage_of(s.admin, s.session) == PAPER
    state = checklist(s.sup, s.session)
    assert state["stage"] == PAPER
    assert [st["state"] for st in state["stages"]][:3] == ["done", "current", "later"]
    moved = audit_events(s.admin, "session.advance")
    assert [e["details"] for e in moved] == [{"stage_from": REG, "stage_to": PAPER}]


def test_tick_refuses_unknown_and_automatic_items_and_non_supervisors(supervised: Sitting) -> None:
    s = supervised
    with pytest.raises(
        ValidationError, match=r"paper_approval/papers_approved is computed from the bank .*cannot be ticked"
    ):
        tick(s.sup, s.session, PAPER, "papers_approved", passed=True, supervisor="DD1")
    with pytest.raises(ValidationError, match=r"room_acceptance/staffing is computed from the bank"):
        tick(s.sup, s.session, ROOMS, "staffing", passed=True, supervisor="DD1")
    with pytest.raises(ValidationError, match=r"stage registration_review has no checklist item 'nonsense'"):
        tick(s.sup, s.session, REG, "nonsense", passed=True, supervisor="DD1")
    with pytest.raises(ValidationError, match=r"stage 'closed' is not one of"):
        tick(s.sup, s.session, "closed", "eligibility", passed=True, supervisor="DD1")
    with pytest.raises(PermissionDenied, match="may not do quality.check"):
        tick(s.admin, s.session, REG, "eligibility", passed=True, supervisor="DD1")
    papers = {i["id"]: i for i in stage_state(s, PAPER)["items"]}
    assert papers["papers_approved"]["checked_by"] == "auto" and papers["papers_approved"]["passed"] is False
    assert stage_state(s, REG)["items"][0]["passed"] is None  # the refused tick wrote nothing


def test_paper_approval_fails_without_an_attached_paper(supervised: Sitting) -> None:
    s = supervised
    tick_all(s, REG)
    advance(s.admin, s.session)
    tick_all(s, PAPER)  # paper custody ticked: only the automatic check is left
    exc = blocked(s)
    assert exc.reasons == [f"checklist {PAPER}/papers_approved (本批次试卷均经两名审批人签名审批): "
                           "failed — no paper is attached to this session"]  # fmt: skip
    assert stage_of(s.admin, s.session) == PAPER

    # A session naming a paper that is not in the bank (let alone approved) is held as well.
    create_session(
        s.admin,
        "S2026-02",
        occupation=OCC,
        level=3,
        exam_date=EXAM_DATE + timedelta(days=7),
        papers=["P-NONE"],
    )
    assign(s.admin, "S2026-02", "supervisor", ["DD1"])  # ticks are by a supervisor on duty in that session
    tick(s.sup, "S2026-02", REG, "eligibility", passed=True, supervisor="DD1")
    tick(s.sup, "S2026-02", REG, "publicity", passed=True, supervisor="DD1")
    advance(s.admin, "S2026-02")
    tick(s.sup, "S2026-02", PAPER, "paper_custody", passed=True, supervisor="DD1")
    with pytest.raises(StageBlocked) as exc2:
        advance(s.admin, "S2026-02")
    assert exc2.value.reasons == [f"checklist {PAPER}/papers_approved (本批次试卷均经两名审批人签名审批): "
                                  "failed — not approved: P-NONE (missing)"]  # fmt: skip


def test_staffing_is_checked_automatically_until_every_room_is_staffed(supervised: Sitting) -> None:
    s = supervised
    put_at_stage(s.admin, s.session, ROOMS)
    tick_all(s, ROOMS)
    exc = blocked(s)
    assert len(exc.reasons) == 1 and exc.reasons[0].startswith(
        f"checklist {ROOMS}/staffing (考务人员配备符合配备与回避规则): failed — "
    )

    staff_rooms(s, skip="K01")
    exc = blocked(s)
    assert len(exc.reasons) == 1 and "room K01" in exc.reasons[0] and "panel.odd" in exc.reasons[0]
    assert "room T01" not in exc.reasons[0] and "room T02" not in exc.reasons[0]

    assign(s.admin, s.session, "examiner", ["KP1", "KP2", "KP3"], room="K01")
    staffing = next(i for i in stage_state(s, ROOMS)["items"] if i["id"] == "staffing")
    assert staffing == {"id": "staffing", "text": "考务人员配备符合配备与回避规则", "auto": True, "passed": True,
                        "note": "3 room(s) staffed by the rules", "checked_by": "auto"}  # fmt: skip

    unassign(s.admin, s.session, "JK2", reason="临时请假")  # an ended post no longer counts
    exc = blocked(s)
    assert len(exc.reasons) == 1 and "room T01" in exc.reasons[0]
    assign(s.admin, s.session, "invigilator", ["JK2"], room="T01")
    assert advance(s.admin, s.session)["to"] == MARKING
    # Once left, a stage's automatic check is recorded as passed, not recomputed from today's posts.
    unassign(s.admin, s.session, "JK4", reason="阅卷阶段不再监考")
    staffing = next(i for i in stage_state(s, ROOMS)["items"] if i["id"] == "staffing")
    assert staffing["passed"] is True and "T02" not in staffing["note"]


# ------------------------------------------------------------------ findings


def test_a_blocking_finding_holds_the_stage_until_a_supervisor_resolves_it(supervised: Sitting) -> None:
    s = supervised
    ready_for_room_acceptance(s)
    f = file_blocking(s)
    assert (f["stage"], f["status"], f["blocking"], f["supervisor"], f["filed_by"]) == (
        ROOMS,
        "open",
        True,
        "DD1",
        "sup",
    )
    exc = blocked(s)
    assert exc.reasons == [f"open blocking finding {f['id']} on stage {ROOMS} (考场验收)"]
    assert f"open blocking finding {f['id']}" in str(exc)
    assert stage_of(s.admin, s.session) == ROOMS
    assert stage_state(s, ROOMS)["open_blocking_findings"] == [f["id"]]
    assert [x["id"] for x in list_findings(s.admin, s.session, open_only=True)] == [f["id"]]

    with pytest.raises(PermissionDenied, match="may not do quality.file"):
        resolve_finding(s.admin, f["id"], resolution="考务自己说改好了", supervisor="DD1")
    with pytest.raises(ValidationError, match=r"--resolution"):
        resolve_finding(s.sup, f["id"], resolution="  ", supervisor="DD1")
    with pytest.raises(NotFoundError, match="no finding 99999"):
        resolve_finding(s.sup, 99999, resolution="复查", supervisor="DD1")
    assert blocked(s).reasons == exc.reasons  # none of those refusals resolved it

    r = resolve_finding(s.sup, f["id"], resolution="复查已张贴", supervisor="DD1")
    assert (r["status"], r["resolved_by"], r["resolution"]) == ("resolved", "sup", "复查已张贴") and r[
        "resolved_at"
    ]
    with pytest.raises(ConflictError, match=f"finding {f['id']} is resolved, not open"):
        resolve_finding(s.sup, f["id"], resolution="再次复查", supervisor="DD1")
    assert list_findings(s.admin, s.session, open_only=True) == []
    assert stage_state(s, ROOMS)["open_blocking_findings"] == []
    assert advance(s.admin, s.session)["to"] == MARKING


def test_a_non_blocking_finding_does_not_hold_the_stage(supervised: Sitting) -> None:
    s = supervised
    ready_for_room_acceptance(s)
    f = file_finding(s.sup, s.session, stage=ROOMS, supervisor="DD1", checked="监控设备", issue="K01一路摄像头角度偏",
                     correction="调整角度")  # fmt: skip
    ok = file_finding(s.sup, s.session, stage=ROOMS, supervisor="DD1", checked="T01座号")
    assert (f["status"], f["blocking"]) == ("open", False)
    assert (ok["status"], ok["issue"], ok["blocking"]) == ("closed", "", False)  # checked, nothing found
    with pytest.raises(ConflictError, match=f"finding {ok['id']} is closed, not open"):
        resolve_finding(s.sup, ok["id"], resolution="无", supervisor="DD1")
    assert stage_state(s, ROOMS)["open_blocking_findings"] == []
    assert advance(s.admin, s.session)["to"] == MARKING
    assert [x["id"] for x in list_findings(s.admin, s.session, open_only=True)] == [f["id"]]


def test_an_open_blocking_finding_on_an_earlier_stage_still_blocks(supervised: Sitting) -> None:
    s = supervised
    ready_for_room_acceptance(s)
    early = file_blocking(s, REG, issue="3名考生工作年限证明缺失")
    # Filed ahead of time: it holds marking, not room acceptance.
    ahead = file_blocking(s, MARKING, issue="阅卷场所未落实")
    exc = blocked(s)
    assert exc.reasons == [f"open blocking finding {early['id']} on stage {REG} (报名资格审核)"]
    resolve_finding(s.sup, early["id"], resolution="已补齐证明", supervisor="DD1")
    assert advance(s.admin, s.session)["to"] == MARKING
    tick_all(s, MARKING)
    assert blocked(s).reasons == [f"open blocking finding {ahead['id']} on stage {MARKING} (阅卷评分)"]


# ------------------------------------------------------------------ who may file


def test_only_a_supervisor_on_duty_files(sitting: Sitting) -> None:
    s = sitting
    kw = {"stage": REG, "checked": "报名材料", "issue": "缺照片", "correction": "补交照片", "blocking": True}
    with pytest.raises(ValidationError) as exc:
        file_finding(s.sup, s.session, supervisor="DD1", **kw)
    assert str(exc.value) == (f"DD1 is not a supervisor on duty in session {s.session}; assign them first "
                              f"(`examvault staff assign {s.session} --duty supervisor DD1`)")  # fmt: skip
    assign(s.admin, s.session, "invigilator", ["JK1", "JK2"], room="T01")
    # On duty, but not as supervisor.
    with pytest.raises(ValidationError, match="JK1 is not a supervisor on duty"):
        file_finding(s.sup, s.session, supervisor="JK1", **kw)
    with pytest.raises(NotFoundError, match="no staff member 'XX9'"):
        file_finding(s.sup, s.session, supervisor="XX9", **kw)
    assert list_findings(s.sup, s.session) == []

    assign(s.admin, s.session, "supervisor", ["DD1"])
    with pytest.raises(PermissionDenied, match=r"user 'kaowu' \(exam_admin\) may not do quality.file"):
        file_finding(s.admin, s.session, supervisor="DD1", **kw)
    with pytest.raises(PermissionDenied, match="may not do quality.file"):
        file_finding(s.admin, s.session, supervisor="DD1", stage=REG, checked="报名材料")
    f = file_finding(s.sup, s.session, supervisor="DD1", **kw)
    assert f["supervisor"] == "DD1" and f["status"] == "open"

    unassign(s.admin, s.session, "DD1", reason="调离")
    with pytest.raises(ValidationError, match="DD1 is not a supervisor on duty"):
        file_finding(s.sup, s.session, supervisor="DD1", **kw)
    assert [x["id"] for x in list_findings(s.sup, s.session)] == [f["id"]]


def test_a_finding_must_say_what_was_found_and_what_to_correct(supervised: Sitting) -> None:
    s = supervised
    base = {"stage": ROOMS, "supervisor": "DD1"}
    with pytest.raises(ValidationError, match=r"a blocking finding states the issue found \(--issue\)"):
        file_finding(s.sup, s.session, checked="考场", blocking=True, **base)
    with pytest.raises(ValidationError, match=r"a blocking finding states the issue found"):
        file_finding(s.sup, s.session, checked="考场", issue="   ", correction="x", blocking=True, **base)
    with pytest.raises(
        ValidationError, match=r"a finding with an issue states the correction required \(--correction\)"
    ):
        file_finding(s.sup, s.session, checked="考场", issue="座号未张贴", **base)
    with pytest.raises(ValidationError, match=r"a finding with an issue states the correction required"):
        file_finding(s.sup, s.session, checked="考场", issue="座号未张贴", blocking=True, **base)
    with pytest.raises(ValidationError, match=r"say what was checked \(--checked\)"):
        file_finding(s.sup, s.session, checked=" ", **base)
    with pytest.raises(ValidationError, match=r"stage 'closed' is not one of"):
        file_finding(s.sup, s.session, checked="考场", stage="closed", supervisor="DD1")
    assert list_findings(s.sup, s.session) == []
    assert audit_events(s.admin, "quality.finding") == []


def test_the_last_stage_closes_the_session(supervised: Sitting) -> None:
    s = supervised
    put_at_stage(s.admin, s.session, "result_registration")
    assert blocked(s).reasons[0].startswith("checklist result_registration/totals_checked")
    tick_all(s, "result_registration")
    assert advance(s.admin, s.session) == {
        "session": s.session,
        "from": "result_registration",
        "to": "closed",
        "name": "已结束",
    }
    with pytest.raises(ConflictError, match=f"session {s.session} is closed"):
        advance(s.admin, s.session)
    assert stage_of(s.admin, s.session) == "closed"
    assert all(st["state"] == "done" for st in checklist(s.sup, s.session)["stages"])
    with pytest.raises(ConflictError, match="is closed; its supervision record is final"):
        tick_all(s, "result_registration")


def test_ticking_needs_a_supervisor_on_duty_in_the_session(sitting: Sitting) -> None:
    s = sitting  # nobody is assigned as supervisor of this session
    with pytest.raises(ValidationError) as exc:
        tick(s.sup, s.session, REG, "eligibility", passed=True, supervisor="DD1")
    assert str(exc.value) == (f"DD1 is not a supervisor on duty in session {s.session}; assign them first "
                              f"(`examvault staff assign {s.session} --duty supervisor DD1`)")  # fmt: skip
    assign(s.admin, s.session, "invigilator", ["JK1", "JK2"], room="T01")
    before = snapshot(s.admin)
    # On duty, but not as supervisor.
    with pytest.raises(ValidationError, match="JK1 is not a supervisor on duty.*assign them first"):
        tick(s.sup, s.session, REG, "eligibility", passed=True, supervisor="JK1")
    with pytest.raises(NotFoundError, match="no staff member 'XX9'"):
        tick(s.sup, s.session, REG, "eligibility", passed=True, supervisor="XX9")
    assert snapshot(s.admin) == before  # a refused tick writes nothing
    assert stage_state(s, REG)["items"][0]["passed"] is None
    assert audit_events(s.admin, "quality.check") == []

    assign(s.admin, s.session, "supervisor", ["DD1"])
    assert tick(s.sup, s.session, REG, "eligibility", passed=True, supervisor="DD1") == {
        "session": s.session, "stage": REG, "item": "eligibility", "passed": True, "note": "", "supervisor": "DD1"}  # fmt: skip
    assert stage_state(s, REG)["items"][0]["passed"] is True

    unassign(s.admin, s.session, "DD1", reason="调离")  # an ended post no longer ticks
    with pytest.raises(ValidationError, match="DD1 is not a supervisor on duty"):
        tick(s.sup, s.session, REG, "publicity", passed=True, supervisor="DD1")
    assert stage_state(s, REG)["items"][1]["passed"] is None
    assert len(audit_events(s.admin, "quality.check")) == 1


def test_the_checklist_entry_records_the_supervisor(supervised: Sitting) -> None:
    s = supervised
    s.add("DD2", "督导员", credential=card("DD-0002", levels="", occupation=""))
    tick(s.sup, s.session, REG, "eligibility", passed=True, supervisor="DD1")
    tick(s.sup, s.session, REG, "publicity", passed=False, note="公示期未满", supervisor="DD1")
    assert entry_supervisors(s) == {(REG, "eligibility"): "DD1", (REG, "publicity"): "DD1"}

    assign(s.admin, s.session, "supervisor", ["DD2"])
    # A re-tick records who re-checked.
    tick(s.sup, s.session, REG, "publicity", passed=True, supervisor="DD2")
    assert entry_supervisors(s) == {(REG, "eligibility"): "DD1", (REG, "publicity"): "DD2"}
    assert [e["details"] for e in audit_events(s.admin, "quality.check")] == [
        {"stage": REG, "item": "eligibility", "passed": True, "supervisor": "DD1"},
        {"stage": REG, "item": "publicity", "passed": False, "supervisor": "DD1"},
        {"stage": REG, "item": "publicity", "passed": True, "supervisor": "DD2"},
    ]
    assert {e["actor"] for e in audit_events(s.admin, "quality.check")} == {"sup"}


def test_resolving_needs_a_supervisor_on_duty_in_the_session(supervised: Sitting) -> None:
    s = supervised
    s.add("DD2", "督导员", credential=card("DD-0002", levels="", occupation=""))
    ready_for_room_acceptance(s)
    f = file_blocking(s)
    # A registered supervisor who is not on duty in this session may not close it.
    with pytest.raises(ValidationError) as exc:
        resolve_finding(s.sup, f["id"], resolution="复查已张贴", supervisor="DD2")
    assert str(exc.value) == (f"DD2 is not a supervisor on duty in session {s.session}; assign them first "
                              f"(`examvault staff assign {s.session} --duty supervisor DD2`)")  # fmt: skip
    with pytest.raises(ValidationError, match="JK1 is not a supervisor on duty"):  # on duty as invigilator
        resolve_finding(s.sup, f["id"], resolution="复查已张贴", supervisor="JK1")
    with pytest.raises(NotFoundError, match="no staff member 'XX9'"):
        resolve_finding(s.sup, f["id"], resolution="复查已张贴", supervisor="XX9")
    assert [x["id"] for x in list_findings(s.admin, s.session, open_only=True)] == [f["id"]]
    assert blocked(s).reasons == [f"open blocking finding {f['id']} on stage {ROOMS} (考场验收)"]
    assert audit_events(s.admin, "quality.finding.resolve") == []

    assign(s.admin, s.session, "supervisor", ["DD2"])  # any supervisor on duty may check the correction
    r = resolve_finding(s.sup, f["id"], resolution="复查已张贴", supervisor="DD2")
    assert (r["status"], r["supervisor"]) == ("resolved", "DD1")  # the finding stays DD1's
    assert resolver_of(s, f["id"]) == "DD2"
    assert audit_events(s.admin, "quality.finding.resolve") == [
        {"actor": "sup", "target_id": str(f["id"]), "details": {"supervisor": "DD2"}}]  # fmt: skip
    assert advance(s.admin, s.session)["to"] == MARKING


def test_a_closed_session_takes_no_more_supervision(supervised: Sitting) -> None:
    s = supervised
    put_at_stage(s.admin, s.session, "result_registration")
    tick_all(s, "result_registration")
    f = file_blocking(s, "result_registration", issue="成绩登记表缺考评员签名")
    put_at_stage(s.admin, s.session, "closed")
    before = snapshot(s.admin)
    closed = f"session {s.session} is closed; its supervision record is final"
    with pytest.raises(ConflictError, match=closed):
        tick(s.sup, s.session, "result_registration", manual_items("result_registration")[0], passed=False,
             note="复核", supervisor="DD1")  # fmt: skip
    with pytest.raises(ConflictError, match=closed):
        file_finding(s.sup, s.session, stage="result_registration", supervisor="DD1", checked="成绩汇总")
    with pytest.raises(ConflictError, match=closed):
        resolve_finding(s.sup, f["id"], resolution="已补签", supervisor="DD1")
    assert snapshot(s.admin) == before  # nothing was written, not even an audit line
    assert [x["status"] for x in list_findings(s.admin, s.session)] == ["open"]


# ------------------------------------------------------------------ posts re-judged at room acceptance


def test_a_candidate_placed_after_assignment_holds_room_acceptance(supervised: Sitting) -> None:
    s = supervised
    ready_for_room_acceptance(s)
    # late registration: a candidate from the invigilators' own work unit is placed in T01
    add_candidates(
        s.admin,
        s.session,
        [{"name": "补报考生", "id_number": id_number(451), "work_unit": "示范技师学院"}],
        room="T01",
    )
    exc = blocked(s)
    (reason,) = exc.reasons
    assert reason.startswith(f"checklist {ROOMS}/staffing (考务人员配备符合配备与回避规则): failed — ")
    assert (
        "JK1: refused by rule avoid.work_unit" in reason and "JK2: refused by rule avoid.work_unit" in reason
    )
    staffing = next(i for i in stage_state(s, ROOMS)["items"] if i["id"] == "staffing")
    assert staffing["passed"] is False and "avoid.work_unit" in staffing["note"]
    assert stage_of(s.admin, s.session) == ROOMS
    # T01 gets invigilators of another unit; the conflicted posts end
    s.add("JK5", "监考", unit=UNIT_C)
    s.add("JK6", "监考", unit=UNIT_C)
    assign(s.admin, s.session, "invigilator", ["JK5", "JK6"], room="T01")
    for code in ("JK1", "JK2"):
        unassign(s.admin, s.session, code, reason="本单位考生编入T01，回避")
    assert advance(s.admin, s.session)["to"] == MARKING


def test_a_relation_declared_after_assignment_holds_room_acceptance(supervised: Sitting) -> None:
    s = supervised
    ready_for_room_acceptance(s)
    cand = s.candidates["K01"][1]["code"]
    assert declare_relation(s.admin, "KP1", id_number=s.candidate_ids[cand], relation="舅甥")["conflicts"]
    (reason,) = blocked(s).reasons
    assert "KP1: refused by rule avoid.relation" in reason and cand in reason
    assert s.candidate_ids[cand] not in reason
    unassign(s.admin, s.session, "KP1", reason="与考生存在亲属关系，回避")
    assign(s.admin, s.session, "examiner", ["KP4"], room="K01")
    assert advance(s.admin, s.session)["to"] == MARKING


def test_finding_and_check_texts_have_length_limits(supervised: Sitting) -> None:
    s = supervised
    base = {"stage": ROOMS, "supervisor": "DD1"}
    with pytest.raises(ValidationError, match="--checked has 501 characters; at most 500 are allowed"):
        file_finding(s.sup, s.session, checked="查" * 501, **base)
    with pytest.raises(ValidationError, match="--issue has 1001 characters; at most 1000 are allowed"):
        file_finding(s.sup, s.session, checked="考场", issue="问" * 1001, correction="改", **base)
    with pytest.raises(ValidationError, match="--correction has 1001 characters"):
        file_finding(s.sup, s.session, checked="考场", issue="问", correction="改" * 1001, **base)
    with pytest.raises(ValidationError, match="--note has 501 characters; at most 500 are allowed"):
        tick(s.sup, s.session, REG, "eligibility", passed=False, note="注" * 501, supervisor="DD1")
    f = file_finding(s.sup, s.session, checked="查" * 500, issue="问" * 1000, correction="改" * 1000, **base)
    with pytest.raises(ValidationError, match="--resolution has 1001 characters; at most 1000 are allowed"):
        resolve_finding(s.sup, f["id"], resolution="复" * 1001, supervisor="DD1")
    assert resolve_finding(s.sup, f["id"], resolution="复" * 1000, supervisor="DD1")["status"] == "resolved"
    assert [x["id"] for x in list_findings(s.sup, s.session)] == [f["id"]]
