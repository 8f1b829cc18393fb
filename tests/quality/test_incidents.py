"""Exam-room incidents (考场情况记录表): recorded against a room and a candidate who sits there,
read back decrypted, and never stored as plaintext."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from examvault.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from examvault.quality.service import list_incidents, record_incident
from examvault.staff.service import assign, unassign
from tests.conftest import snapshot
from tests.quality.conftest import audit_events, put_at_stage
from tests.staff.conftest import Sitting
from tests.test_plaintext_scan import scan_bank


def test_record_and_list_incidents(sitting: Sitting) -> None:
    s = sitting
    t01, t02, k01 = (s.candidates[r][0]["code"] for r in ("T01", "T02", "K01"))
    at = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)  # recorded the next day
    r = record_incident(
        s.admin,
        s.session,
        kind="absent",
        room="T01",
        candidate=t01,
        description="开考15分钟后未到场，按缺考处理",
    )
    assert r == {"id": r["id"], "session": s.session, "kind": "absent", "room": "T01", "candidate": t01}
    record_incident(
        s.sup, s.session, kind="late", room="K01", candidate=k01, description="迟到10分钟，允许入场", at=at
    )
    # No room given: the candidate's room is used. The reporter is an invigilator on duty in the session.
    assign(s.admin, s.session, "invigilator", ["JK3", "JK4"], room="T02")
    record_incident(
        s.admin,
        s.session,
        kind="violation",
        candidate=t02,
        reported_by="JK3",
        description="考试中使用手机，已收缴并记录",
    )
    record_incident(
        s.admin, s.session, kind="irregularity", room="T02", description="T02考场空调故障，延时5分钟"
    )

    rows = list_incidents(s.sup, s.session)
    assert len(rows) == 4
    late = rows[0]  # ordered by when it happened: the back-dated one first
    assert (late["kind"], late["kind_name"], late["room"], late["candidate"]) == ("late", "迟到", "K01", k01)
    assert datetime.fromisoformat(late["occurred_at"]) == at and late["recorded_by"] == "sup"
    by_kind = {x["kind"]: x for x in rows}
    assert by_kind["absent"] | {"occurred_at": None} == {
        "id": r["id"], "kind": "absent", "kind_name": "缺考", "room": "T01", "candidate": t01, "occurred_at": None,
        "reported_by": None, "recorded_by": "kaowu", "description": "开考15分钟后未到场，按缺考处理"}  # fmt: skip
    assert (by_kind["violation"]["room"], by_kind["violation"]["reported_by"]) == ("T02", "JK3")
    assert by_kind["violation"]["description"] == "考试中使用手机，已收缴并记录"
    assert (by_kind["irregularity"]["candidate"], by_kind["irregularity"]["kind_name"]) == (None, "异常情况")
    assert [e["details"]["kind"] for e in audit_events(s.admin, "quality.incident")] == [
        "absent",
        "late",
        "violation",
        "irregularity",
    ]
    assert audit_events(s.admin, "quality.incident.read")[-1]["details"] == {"count": 4}


def test_incidents_refused(sitting: Sitting, make_bank) -> None:
    s = sitting
    in_t01 = s.candidates["T01"][0]["code"]
    with pytest.raises(ValidationError, match=f"candidate {in_t01} does not sit in room T02"):
        record_incident(
            s.admin, s.session, kind="violation", room="T02", candidate=in_t01, description="夹带"
        )
    with pytest.raises(NotFoundError, match=f"no candidate '9999999999' in session {s.session}"):
        record_incident(
            s.admin, s.session, kind="absent", room="T01", candidate="9999999999", description="未到"
        )
    with pytest.raises(NotFoundError):
        record_incident(s.admin, s.session, kind="absent", room="X99", candidate=in_t01, description="未到")
    with pytest.raises(
        ValidationError, match="incident kind 'cheating' is not one of absent, late, violation, irregularity"
    ):
        record_incident(s.admin, s.session, kind="cheating", room="T01", candidate=in_t01, description="夹带")
    with pytest.raises(ValidationError, match=r"describe what happened \(--description\)"):
        record_incident(s.admin, s.session, kind="late", room="T01", candidate=in_t01, description="  ")
    with pytest.raises(PermissionDenied, match="may not do quality.incident"):
        record_incident(
            make_bank("cust"), s.session, kind="late", room="T01", candidate=in_t01, description="迟到"
        )
    with pytest.raises(PermissionDenied, match="may not do quality.incident"):
        list_incidents(make_bank("cust"), s.session)
    assert list_incidents(s.admin, s.session) == []
    assert audit_events(s.admin, "quality.incident") == []


def test_the_reporter_held_a_post_in_the_session(sitting: Sitting) -> None:
    s = sitting
    assign(s.admin, s.session, "invigilator", ["JK1", "JK2"], room="T01")
    cand = s.candidates["T01"][2]["code"]
    kw = {"kind": "violation", "room": "T01", "candidate": cand, "description": "夹带小抄，已收缴"}
    # Registered, but with no post in this session: not the invigilator on duty.
    with pytest.raises(ValidationError) as exc:
        record_incident(s.admin, s.session, reported_by="JK3", **kw)
    assert str(exc.value) == (f"JK3 held no post in session {s.session}; "
                              "the reporter is the invigilator or examiner on duty")  # fmt: skip
    with pytest.raises(ValidationError, match=f"DD1 held no post in session {s.session}"):
        record_incident(s.admin, s.session, reported_by="DD1", **kw)
    with pytest.raises(NotFoundError, match="no staff member 'XX9'"):
        record_incident(s.admin, s.session, reported_by="XX9", **kw)
    assert list_incidents(s.admin, s.session) == []
    assert audit_events(s.admin, "quality.incident") == []

    r = record_incident(s.admin, s.session, reported_by="JK1", **kw)  # the invigilator on duty in T01
    # An ended post still counts: a report written up after the invigilator was relieved names them.
    unassign(s.admin, s.session, "JK2", reason="临时请假")
    late = kw | {"kind": "late", "description": "迟到5分钟"}
    record_incident(s.admin, s.session, reported_by="JK2", **late)
    rows = {x["id"]: x for x in list_incidents(s.admin, s.session)}
    assert rows[r["id"]]["reported_by"] == "JK1"
    assert sorted(x["reported_by"] for x in rows.values()) == ["JK1", "JK2"]


def test_the_description_is_not_stored_in_plaintext(sitting: Sitting) -> None:
    s = sitting
    tag = uuid.uuid4().hex[:12]
    marker = f"情况说明标记{tag}"
    cand = s.candidates["T01"][4]["code"]
    record_incident(
        s.admin,
        s.session,
        kind="violation",
        room="T01",
        candidate=cand,
        description=f"考生5交头接耳 {marker}",
    )
    assert [i["description"] for i in list_incidents(s.admin, s.session)] == [f"考生5交头接耳 {marker}"]
    # The ASCII tag alone catches any encoding that keeps ASCII (JSON's \u escapes of the Chinese part, say).
    needles = [
        tag.encode(),
        marker.encode(),
        marker.encode("utf-16-le"),
        marker.encode("gb18030"),
        marker.encode().hex().encode(),
    ]
    url = s.admin.engine.url
    scan_bank(url, needles)
    with pytest.raises(AssertionError, match="plaintext"):  # the scan does see what is stored in the clear
        scan_bank(url, [f"{s.session}".encode()])


def test_a_closed_session_takes_no_more_incidents(sitting: Sitting) -> None:
    s = sitting
    cand = s.candidates["T01"][3]["code"]
    record_incident(s.admin, s.session, kind="late", room="T01", candidate=cand, description="迟到5分钟")
    put_at_stage(s.admin, s.session, "closed")
    before = snapshot(s.admin)
    for bank in (s.admin, s.sup):
        with pytest.raises(
            ConflictError, match=f"session {s.session} is closed; its incident record is final"
        ):
            record_incident(
                bank, s.session, kind="absent", room="T01", candidate=cand, description="补记：未到场"
            )
    assert snapshot(s.admin) == before  # nothing written, not even an audit line
    assert [i["kind"] for i in list_incidents(s.admin, s.session)] == ["late"]  # the record is still read
