"""考生违规违纪 on the scored sitting of tests/scoring/conftest.py: tiers recorded with the proctor, time and
reason; a repeated warning voids the paper; refusals name the field and leave the bank as it was;
nothing is recorded once results are publicised; the CLI; and what results read (`effects`).

Two invigilators, JK1 and JK2, are put on 理论01 (the one theory room) here; the skill stations have
their examiner panels from the fixture (实操01: KP1–KP5, 实操02: KP6–KP8); KP9 holds no post.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from examvault.accounts.models import AuditEvent
from examvault.db import BEIJING
from examvault.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from examvault.registration.models import Candidate
from examvault.registration.service import get_session
from examvault.scoring.models import Publicity, Violation
from examvault.scoring.violations import Effect, effects, list_violations, record_violation
from examvault.staff.service import add_staff, assign
from tests.scoring.conftest import EXAM_DAY, EXEMPT, PANELS, SESSION, Ran, Scoring, at, run_cli
from tests.scoring.test_scoring_flow import refused
from tests.staff.conftest import id_number as staff_id

INVIGILATORS = ("JK1", "JK2")


@pytest.fixture
def sc(scoring: Scoring) -> Scoring:
    for k, code in enumerate(INVIGILATORS, start=1):
        add_staff(scoring.admin, code=code, name=f"监考员{code}", id_number=staff_id(820 + k, "19750601"), roles="监考",
                  work_unit="示范技师学院")  # fmt: skip
    assign(scoring.admin, SESSION, "invigilator", list(INVIGILATORS), room="理论01")
    return scoring


def examiner(sc: Scoring, n: int) -> str:
    """The first examiner of person n's skill station."""
    return PANELS[sc.station[sc.tickets[n]]][0]


def other_station_examiner(sc: Scoring, n: int) -> str:
    mine = sc.station[sc.tickets[n]]
    return next(panel[0] for room, panel in PANELS.items() if room != mine)


def violate(sc: Scoring, n: int, part: str = "theory", tier: str = "warning", *, proctor: str = "JK1",
            when: datetime | None = None, reason: str = "携带手机进入考场", bank: Any = None) -> dict[str, Any]:  # fmt: skip
    return record_violation(bank or sc.admin, SESSION, sc.tickets[n], part=part, tier=tier, proctor=proctor, at=when or at(9, 40),
                            reason=reason)  # fmt: skip


def test_warnings_are_recorded_and_a_repeat_voids_the_paper(sc: Scoring) -> None:
    first = violate(sc, 1, when=at(9, 20), reason="交头接耳")
    assert (first["tier"], first["escalated"], first["message"]) == ("warning", False, "理论知识 警告")
    skill = violate(sc, 1, "skill", proctor=examiner(sc, 1), when=at(14, 5), reason="未按规程操作")
    assert (skill["tier"], skill["escalated"]) == ("warning", False)  # another part: not a repeat
    other = violate(sc, 2, when=at(9, 25), proctor="JK2")
    assert (other["tier"], other["escalated"]) == ("warning", False)  # another candidate: not a repeat

    again = violate(sc, 1, when=at(9, 50), reason="再次交头接耳")
    assert (again["tier"], again["requested"], again["escalated"]) == ("void-paper", "warning", True)
    assert "试卷作废" in again["message"]

    rows = list_violations(sc.s.bank("sup"), SESSION)  # supervisors read them (results.read)
    assert [(r["ticket"], r["part"], r["tier"], r["escalated"], r["proctor"]) for r in rows] == [
        (sc.tickets[1], "theory", "warning", False, "JK1"),
        (sc.tickets[2], "theory", "warning", False, "JK2"),
        (sc.tickets[1], "theory", "void-paper", True, "JK1"),
        (sc.tickets[1], "skill", "warning", False, examiner(sc, 1)),
    ]
    assert rows[0]["at"] == at(9, 20).isoformat() and rows[0]["at"].endswith("+08:00")
    assert [r["reason"] for r in rows] == ["交头接耳", "携带手机进入考场", "再次交头接耳", "未按规程操作"]
    assert all(r["recorded_by"] == "kaowu" for r in rows)
    stored = sc.rows(Violation, candidate_id=sc.rows(Violation, tier="void-paper")[0].candidate_id)
    assert all(v.at.utcoffset() == timedelta(0) for v in stored)  # kept in UTC

    events = sc.rows(AuditEvent, action="violation.record")
    assert len(events) == 4 and all(e.target_id == SESSION for e in events)
    assert {e.details["tier"] for e in events} == {"warning", "void-paper"}
    text = json.dumps([e.details for e in events], ensure_ascii=False)
    assert "交头接耳" not in text and "手机" not in text and "考生" not in text  # no reason, no names


def test_an_explicit_tier_is_stored_as_given(sc: Scoring) -> None:
    violate(sc, 3, tier="warning")
    r = violate(sc, 3, tier="cancel-sitting", when=at(10, 0), reason="由他人代考")
    assert (r["tier"], r["escalated"]) == ("cancel-sitting", False)  # only a warning escalates
    r = violate(sc, 3, "skill", "void-paper", proctor=examiner(sc, 3), when=at(14, 0))
    assert (r["tier"], r["escalated"]) == ("void-paper", False)


def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(sc: Scoring) -> None:
    violate(sc, 1)  # a first warning: a refusal must not count as a repeat either
    exempt = sc.tickets[EXEMPT]
    naive = datetime(EXAM_DAY.year, EXAM_DAY.month, EXAM_DAY.day, 9, 40)
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"ticket": "999999999999"}, NotFoundError, f"no ticket 999999999999 in session {SESSION}"),
        ({"session_code": "no-such-session"}, NotFoundError, "no exam session"),
        # KP9 holds no post; JK1 invigilates the theory room, not a station; examiners are not in the theory room
        ({"proctor": "KP9"}, ValidationError, "--proctor 'KP9' is not an invigilator or examiner on duty"),
        ({"proctor": "NOBODY"}, ValidationError, "--proctor 'NOBODY'"),
        ({"proctor": " "}, ValidationError, "--proctor: .* is required"),
        ({"part": "skill", "proctor": "JK1"}, ValidationError, "--proctor 'JK1'"),
        ({"part": "skill", "proctor": other_station_examiner(sc, 1)}, ValidationError, "--proctor"),
        ({"proctor": examiner(sc, 1)}, ValidationError, "--proctor"),
        # the day before; a minute past midnight, the next day in Beijing; no zone; tomorrow
        ({"at": at(9, 40) - timedelta(days=1)}, ValidationError, f"--at: .*the exam day, {EXAM_DAY}"),
        ({"at": at(23, 59) + timedelta(minutes=2)}, ValidationError, "--at: .*the exam day"),
        ({"at": naive}, ValidationError, "--at: a time with its zone"),
        ({"at": datetime.now(BEIJING) + timedelta(days=1)}, ValidationError, "--at .* in the future"),
        ({"tier": "expelled"}, ValidationError, "--tier is one of warning, void-paper"),
        ({"part": "lunch"}, ValidationError, "--part is one of"),
        # person 6 is 免考 in theory; nobody sits a defence in this level-3 sitting
        ({"ticket": exempt}, ValidationError, f"--part: ticket {exempt} does not sit"),
        ({"part": "defence"}, ValidationError, "--part: .* does not sit"),
        ({"reason": "   "}, ValidationError, "--reason"),
        ({"reason": "违" * 401}, ValidationError, "--reason has 401 characters"),
    ]

    def attempt(session_code: str, ticket: str, **kw: Any) -> dict[str, Any]:
        return record_violation(sc.admin, session_code, ticket, **kw)

    for change, exc, match in cases:
        args = {"session_code": SESSION, "ticket": sc.tickets[1], "part": "theory", "tier": "warning", "proctor": "JK1",
                "at": at(9, 40), "reason": "夹带"} | change  # fmt: skip
        refused(sc, lambda a=args: attempt(**a), exc, match)
    assert len(sc.rows(Violation)) == 1
    assert violate(sc, 1, reason="违" * 400)["escalated"] is True  # 400 is fine; and now it is the repeat


def test_the_candidates_own_room_is_asked_and_the_whole_panel_may_report(sc: Scoring) -> None:
    n = 1
    for code in PANELS[sc.station[sc.tickets[n]]]:
        assert violate(sc, n, "skill", "void-paper", proctor=code, when=at(14, 0))["tier"] == "void-paper"
    assert violate(sc, n, proctor="JK2")["proctor"] == "JK2"


def test_nothing_is_recorded_once_results_are_publicised(sc: Scoring) -> None:
    violate(sc, 1)
    with sc.admin.transaction(write=True) as session:
        exam = get_session(session, SESSION)
        session.add(Publicity(session_id=exam.id, opens=EXAM_DAY, last_day=EXAM_DAY, release_on=EXAM_DAY, digest="0" * 64,
                              publicized_by="kaowu"))  # fmt: skip
    refused(sc, lambda: violate(sc, 2), ConflictError, "publicised; they are fixed")
    assert len(list_violations(sc.admin, SESSION)) == 1


def test_only_the_exam_administration_records(sc: Scoring) -> None:
    refused(sc, lambda: violate(sc, 1, bank=sc.s.bank("sup")), PermissionDenied, "violation.record")
    refused(sc, lambda: violate(sc, 1, bank=sc.s.bank("cust")), PermissionDenied, "violation.record")
    with pytest.raises(PermissionDenied, match="results.read"):
        list_violations(sc.s.bank("cust"), SESSION)


def test_effects_per_tier(sc: Scoring) -> None:
    violate(sc, 1)  # a warning only
    violate(sc, 2, when=at(9, 10))
    violate(sc, 2, when=at(9, 30))  # the repeat: theory voided
    violate(sc, 3, "skill", "cancel-sitting", proctor=examiner(sc, 3), when=at(14, 0), reason="由他人代考")
    violate(sc, 4, "theory", "cancel-qualification", when=at(9, 15), reason="组织作弊")
    violate(sc, 5, "skill", "void-paper", proctor=examiner(sc, 5), when=at(14, 30))
    person = {c.id: n for c in sc.rows(Candidate) for n, t in sc.tickets.items() if c.ticket == t}
    with sc.admin.transaction() as session:
        got = {person[cid]: e for cid, e in effects(session, get_session(session, SESSION)).items()}
    assert got == {
        1: Effect(frozenset(), False, False, ("理论知识 警告",)),
        2: Effect(frozenset({"theory"}), False, False, ("理论知识 警告", "理论知识 试卷作废")),
        3: Effect(frozenset({"theory", "skill"}), True, False, ("本次成绩取消",)),
        4: Effect(frozenset(), False, True, ("取消认定资格",)),
        5: Effect(frozenset({"skill"}), False, False, ("操作技能 试卷作废",)),
    }  # person 6: none, so not listed
    assert [got[n].status for n in (1, 2, 3, 4, 5)] == [None, None, "cancelled", "disqualified", None]
    assert [got[n].blocks_pass for n in (1, 2, 3, 4, 5)] == [False, True, True, True, True]


def test_no_violations_no_effects(sc: Scoring) -> None:
    with sc.admin.transaction() as session:
        assert effects(session, get_session(session, SESSION)) == {}


def test_the_cli_records_and_lists(sc: Scoring, db_url: str) -> None:
    def run(*args: str, code: int = 0) -> Ran:
        return run_cli(db_url, "kaowu", *args, code=code)

    t1, day = sc.tickets[1], EXAM_DAY.isoformat()

    def record(
        *extra: str,
        ticket: str = t1,
        proctor: str = "JK1",
        tier: str = "warning",
        time: str = "09:40",
        code: int = 0,
    ) -> Ran:
        return run("violation", "record", SESSION, ticket, "--part", "theory", "--tier", tier, "--proctor", proctor,
                   "--at", f"{day} {time}", "--reason", "夹带", *extra, code=code)  # fmt: skip

    assert f"{t1}: 理论知识 警告" in record().stderr
    r = json.loads(record("--json", time="09:55").stdout)
    assert (r["tier"], r["escalated"], r["at"]) == ("void-paper", True, at(9, 55).isoformat())
    assert record(time="25:00", code=3).stderr.startswith("error: --at")
    assert "error: --proctor 'KP9'" in record(proctor="KP9", code=3).stderr
    record(tier="expelled", code=2)  # click refuses the choice
    assert "no ticket 000" in record(ticket="000", code=4).stderr

    rows = json.loads(run("violation", "list", SESSION, "--json").stdout)
    assert [(x["ticket"], x["tier"], x["escalated"]) for x in rows] == [(t1, "warning", False), (t1, "void-paper", True)]  # fmt: skip
    p = run("violation", "list", SESSION)
    assert "void-paper" in p.stdout and f"{day} 09:55" in p.stdout


def test_results_apply_each_tier(sc: Scoring) -> None:
    from examvault.scoring.results import show
    from tests.scoring.test_scoring_flow import score_everything

    violate(sc, 1, when=at(9, 20), reason="交头接耳")
    violate(sc, 1, when=at(9, 50), reason="再次交头接耳")  # a repeat: the theory paper is voided
    violate(sc, 2, "skill", proctor=examiner(sc, 2), when=at(14, 5), reason="未按规程操作")  # a warning only
    violate(sc, 3, "theory", "cancel-qualification", when=at(9, 30), reason="替考")
    violate(sc, EXEMPT, "skill", "cancel-sitting", proctor=examiner(sc, EXEMPT), when=at(14, 0), reason="抄袭他人作品")
    r = score_everything(sc)
    assert (r["candidates"], r["passed"]) == (6, 0)  # without violations persons 1 and 6 pass (test_scoring_flow.EXPECTED)
    rows = {x["ticket"]: x for x in show(sc.admin, SESSION)["results"]}
    one, two, three, six = (rows[sc.tickets[n]] for n in (1, 2, 3, EXEMPT))
    assert (one["theory"], one["skill"], one["passed"], one["status"]) == (0.0, 60.0, False, "computed")
    assert "理论知识 试卷作废" in one["note"]
    assert (two["theory"], two["skill"], two["passed"], two["status"]) == (100.0, 59.9, False, "computed")
    assert "操作技能 警告" in two["note"]
    assert (three["theory"], three["skill"], three["passed"], three["status"]) == (None, None, False, "disqualified")
    assert (six["skill"], six["passed"], six["status"]) == (None, False, "cancelled")
    assert "本次成绩取消" in six["note"]


def test_a_violation_after_results_were_computed_sends_them_back_to_be_computed(sc: Scoring) -> None:
    from examvault.scoring.models import Result
    from examvault.scoring.results import compute, publicize
    from tests.scoring.test_scoring_flow import score_everything

    score_everything(sc)
    assert len(sc.rows(Result)) == 6
    r = violate(sc, 1, "theory", "cancel-qualification", when=at(9, 30), reason="替考")
    assert r["results_cleared"] and sc.rows(Result) == []
    refused(sc, lambda: publicize(sc.admin, SESSION), ConflictError, "compute the results")
    compute(sc.admin, SESSION)
    assert next(x for x in sc.rows(Result) if x.status == "disqualified").passed is False
