"""Registration end to end: import with eligibility, duplicates, seating, tickets and the door."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from examvault.bank import Bank
from examvault.db import BEIJING
from examvault.errors import ConflictError, IntegrityError, PermissionDenied, ValidationError
from examvault.registration.attendance import attendance, close_part, record
from examvault.registration.candidates import (
    add_candidate,
    import_candidates,
    list_candidates,
    show_candidate,
)
from examvault.registration.models import Candidate, EligibilityDecision, Seat
from examvault.registration.service import create_session
from examvault.registration.sittings import seat_session, ticket_problem
from examvault.registration.tickets import print_tickets, verify_ticket
from tests.conftest import OCC, snapshot
from tests.registration.conftest import EXAM_DATE, HEADERS, JPEG, YEAR, id_number, person, write_form


def test_an_import_registers_accepts_and_refuses_with_the_deciding_rule(planned: Bank, tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / f"{id_number(1)}.jpg").write_bytes(JPEG)
    rows = [person(1), person(2, 本职业工作年限="3", 原证书编号="", 原等级="", 原职业="", 原证书发证日期="")]
    r = import_candidates(planned, YEAR, write_form(tmp_path / "form.xlsx", rows), photos=tmp_path / "photos")
    assert (r["registered"], r["accepted"], r["refused"]) == (2, 1, 1)
    ok, no = r["candidates"]
    assert ok["status"] == "accepted" and ok["rule"] == f"{OCC}/3: a" and ok["photo"]
    assert no["status"] == "refused" and no["rule"] == f"{OCC}/3: none"
    assert "未持有四级/中级工或以上等级证书" in no["reason"] and no["row"] == "row 3"
    shown = show_candidate(planned, no["id"])
    assert shown["decisions"][0]["evidence"]["years"] == 3.0 and not shown["decisions"][0]["eligible"]
    assert shown["decisions"][0]["rules_version"] == 1


def test_list_json_masks_id_numbers_and_full_numbers_need_the_role(planned: Bank, make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    import_candidates(planned, YEAR, write_form(tmp_path / "form.xlsx", [person(1)]))
    (row,) = list_candidates(planned, year=YEAR)
    assert set(row) >= {"id", "name", "id_number_masked", "occupation", "level", "status"}
    assert row["id_number_masked"] == id_number(1)[:4] + "*" * 10 + id_number(1)[-4:]
    assert "id_number" not in row
    assert list_candidates(planned, year=YEAR, full_ids=True)[0]["id_number"] == id_number(1)
    sup = make_bank("sup")
    assert list_candidates(sup, year=YEAR)[0]["name"] == "考生001"
    with pytest.raises(PermissionDenied):
        list_candidates(sup, year=YEAR, full_ids=True)


def test_a_bad_row_anywhere_imports_nothing_and_names_row_and_column(planned: Bank, tmp_path: Path) -> None:
    before = snapshot(planned)
    bad_check = id_number(2)[:17] + str((int(id_number(2)[17]) + 1) % 10 if id_number(2)[17] != "X" else 0)
    rows = [person(1), person(2, 证件号码=bad_check), person(3, 证件号码="360102198502301234"), person(4, 性别="女"),
            person(5, 手机="99999"), person(6, 申报等级="七级")]  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        import_candidates(planned, YEAR, write_form(tmp_path / "form.xlsx", rows))
    text = str(exc.value)
    assert "form.xlsx, row 3, column C (证件号码): the check digit is wrong" in text
    assert "row 4, column C (证件号码): digits 7–14 are not a birth date" in text
    assert "row 5, column F (性别): does not agree with the ID number" in text
    assert "row 6, column I (手机)" in text and "row 7, column E (申报等级)" in text
    assert bad_check not in text and "99999" not in text  # personal data never quoted
    assert snapshot(planned) == before


def test_duplicates_by_id_number_in_the_file_and_against_the_bank(planned: Bank, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"row 3, column C \(证件号码\): this person is registered for"):
        import_candidates(planned, YEAR, write_form(tmp_path / "a.xlsx", [person(1), person(1, 姓名="别名")]))
    import_candidates(planned, YEAR, write_form(tmp_path / "b.xlsx", [person(1)]))
    with pytest.raises(ValidationError, match=r"row 2, column C \(证件号码\): already registered for 6-31-01-03 in \d+ as BM"):
        import_candidates(planned, YEAR, write_form(tmp_path / "c.xlsx", [person(1, 姓名="再报")]))


def test_a_refused_applicant_may_apply_again_corrected(planned: Bank, tmp_path: Path) -> None:
    first = import_candidates(planned, YEAR, write_form(tmp_path / "a.xlsx", [person(1, 原证书发证日期="")]))
    assert first["refused"] == 1
    again = import_candidates(planned, YEAR, write_form(tmp_path / "b.xlsx", [person(1)]))
    assert again["accepted"] == 1


def test_a_registration_number_in_use_is_named_not_a_database_error(planned: Bank, tmp_path: Path) -> None:
    headers = ["报名序号", *HEADERS]
    import_candidates(planned, YEAR, write_form(tmp_path / "a.xlsx", [person(1, 报名序号="R001")], headers))
    with pytest.raises(ValidationError) as exc:
        import_candidates(planned, YEAR, write_form(tmp_path / "b.xlsx", [person(2, 报名序号="R001"), person(3, 报名序号="R9"),
                                                                         person(4, 报名序号="R9")], headers))  # fmt: skip
    assert "row 2, column A (报名序号): registration number R001 is already in use" in str(exc.value)
    assert "row 4, column A (报名序号): registration number R9 repeats row 3" in str(exc.value)


def test_add_one_candidate_and_the_window(planned: Bank, tmp_path: Path) -> None:
    fields = {"name": "王五", "id_number": id_number(9), "occupation": OCC, "level": "3", "gender": "男", "education": "技师学院",
              "years": "7", "prior_certificate": "Z1", "prior_level": "4"}  # fmt: skip
    r = add_candidate(planned, YEAR, fields)
    assert r["status"] == "accepted" and r["rule"] == f"{OCC}/3: b"  # a level-4 certificate and a 技师学院 diploma
    with pytest.raises(ValidationError, match="--education"):
        add_candidate(planned, YEAR, {**fields, "id_number": id_number(10), "education": "幼儿园"})


def _seated(planned: Bank, tmp_path: Path, n: int = 40, **create: object) -> str:
    rows = [person(i, 工作单位=["甲公司", "乙公司", "丙公司", "丁公司"][i % 4 if i % 2 else 0]) for i in range(1, n + 1)]
    import_candidates(planned, YEAR, write_form(tmp_path / "form.xlsx", rows))
    code = f"{YEAR}-05-电工-3"
    create_session(planned, code, occupation=OCC, level=3, exam_date=EXAM_DATE, plan_year=YEAR, site_code="360101",
                   times={"theory": "09:00-10:30", "skill": "13:30-16:30"}, **create)  # type: ignore[arg-type]
    return code


def test_seating_respects_capacity_spreads_units_and_numbers_tickets(planned: Bank, tmp_path: Path) -> None:
    code = _seated(planned, tmp_path, 40)
    r = seat_session(planned, code, capacity={"theory": 15, "skill": 10})
    assert r["seated"] == 40 and r["seats"] == 80
    rooms = {x["room"]: x for x in r["rooms"]}
    assert [rooms[k]["candidates"] for k in ("理论01", "理论02", "理论03")] == [14, 13, 13]  # balanced, not 15/15/10
    assert all(x["candidates"] <= x["capacity"] for x in r["rooms"])
    assert r["same_unit_neighbours"] <= 4  # 甲公司 is half the cohort; sequential seating puts ~20 pairs together
    rows = list_candidates(planned, session_code=code)
    tickets = [x["ticket"] for x in rows]
    assert len(set(tickets)) == 40 and all(ticket_problem(t) is None for t in tickets)
    assert sorted(t[6:11] for t in tickets) == [f"{n:05d}" for n in range(1, 41)]  # numbered in room and seat order
    assert all(t.startswith(f"{YEAR % 100:02d}0013") for t in tickets)  # year, session serial 001, level 3
    with planned.transaction() as s:
        seats = s.execute(select(Seat.room_id, Seat.seat)).all()
    assert len(seats) == len(set(seats))


def test_an_over_full_sitting_is_refused_and_changes_nothing(planned: Bank, tmp_path: Path) -> None:
    from examvault.registration.service import add_room

    code = _seated(planned, tmp_path, 12)
    add_room(planned, code, "理论01", kind="theory", capacity=10)
    add_room(planned, code, "实操01", kind="skill", capacity=20)
    before = snapshot(planned)
    with pytest.raises(ConflictError, match="12 candidates need a theory place and its 1 theory room"):
        seat_session(planned, code)
    assert snapshot(planned) == before


def test_the_ticket_token_verifies_offline_and_fails_when_tampered(planned: Bank, tmp_path: Path) -> None:
    from examvault.crypto.signing import SigningKey, VerifyKey
    from examvault.crypto.tokens import sign_token
    from examvault.custody.service import institution_key

    code = _seated(planned, tmp_path, 3)
    seat_session(planned, code)
    r = print_tickets(planned, code, out=tmp_path / "tickets.pdf", split=tmp_path / "each")
    assert r["tickets"] == 3 and len(list((tmp_path / "each").glob("准考证-*.pdf"))) == 3
    trust = VerifyKey.parse(institution_key(planned))
    token = r["first"]["token"]
    payload = verify_ticket(token, trust, on=EXAM_DATE, session_code=code)
    assert payload["ticket"] == r["first"]["ticket"] and payload["seats"][0][:2] == ["theory", "理论01"]
    body = token.split(".")[1]
    flipped = token.replace(body, body[:10] + ("A" if body[10] != "A" else "B") + body[11:])
    with pytest.raises((IntegrityError, ValidationError)):
        verify_ticket(flipped, trust)
    with pytest.raises(IntegrityError, match="not 20"):
        verify_ticket(token, trust, on=EXAM_DATE + timedelta(days=1))
    other = SigningKey.generate("another-institution")
    with pytest.raises(IntegrityError, match="not signed"):
        verify_ticket(sign_token(other, "ticket", json.loads('{"ticket": "000000000000"}')), trust)


def test_the_door_check_admits_late_up_to_30_minutes_and_marks_the_rest_absent(planned: Bank, tmp_path: Path) -> None:
    code = _seated(planned, tmp_path, 5)
    seat_session(planned, code)
    tickets = [x["ticket"] for x in list_candidates(planned, session_code=code)]
    start = datetime(EXAM_DATE.year, EXAM_DATE.month, EXAM_DATE.day, 9, 0, tzinfo=BEIJING)
    assert record(planned, code, tickets[0], "theory", at=start - timedelta(minutes=20))["status"] == "present"
    late = record(planned, code, tickets[1], "theory", at=start + timedelta(minutes=30))
    assert (late["status"], late["admitted"], late["minutes_late"]) == ("late", True, 30)
    refused = record(planned, code, tickets[2], "theory", at=start + timedelta(minutes=31))
    assert (refused["status"], refused["admitted"]) == ("refused", False)
    swapped = record(planned, code, tickets[3], "theory", at=start - timedelta(minutes=5), identity="mismatch")
    assert swapped["status"] == "refused"
    with pytest.raises(ConflictError, match="already recorded"):
        record(planned, code, tickets[0], "theory", at=start)
    with pytest.raises(ConflictError, match="closes at"):
        close_part(planned, code, "theory", at=start + timedelta(minutes=29))
    closed = close_part(planned, code, "theory", at=start + timedelta(minutes=31))
    assert closed["absent"] == 1
    rooms = attendance(planned, code, part="theory")["rooms"]
    assert sum(x["present"] for x in rooms) == 1 and sum(x["refused"] for x in rooms) == 2 and sum(x["unrecorded"] for x in rooms) == 0
    from examvault.quality.service import list_incidents

    kinds = [i["kind"] for i in list_incidents(planned, code)]
    assert kinds == ["irregularity"]


def test_a_refused_registration_keeps_its_decision(planned: Bank, tmp_path: Path) -> None:
    import_candidates(planned, YEAR, write_form(tmp_path / "f.xlsx", [person(1, 本职业工作年限="1", 原证书发证日期="")]))
    with planned.transaction() as s:
        cand = s.scalars(select(Candidate)).one()
        d = s.scalars(select(EligibilityDecision)).one()
        assert cand.status == "refused" and d.candidate_id == cand.id and not d.eligible
        assert "未填写原证书发证日期" in d.reason


def test_skill_only_candidates_and_a_second_seating_get_distinct_tickets(planned: Bank, tmp_path: Path) -> None:
    from examvault.registration.service import add_room

    rows = [person(1, 理论知识="免考"), *(person(i) for i in range(2, 6))]
    import_candidates(planned, YEAR, write_form(tmp_path / "form.xlsx", rows))
    code = f"{YEAR}-05-电工-3"
    create_session(planned, code, occupation=OCC, level=3, exam_date=EXAM_DATE, plan_year=YEAR, site_code="360101",
                   times={"theory": "09:00-10:30", "skill": "13:30-16:30"})  # fmt: skip
    add_room(planned, code, "理论01", kind="theory", capacity=2)
    add_room(planned, code, "实操01", kind="skill", capacity=2)
    seat_session(planned, code, limit=2)  # fills 实操01 (2) and puts the one theory sitter in 理论01
    add_room(planned, code, "理论02", kind="theory", capacity=5)
    add_room(planned, code, "实操02", kind="skill", capacity=5)
    r = seat_session(planned, code)  # 实操01 is full now: the rest go to the new rooms
    assert r["seated"] == 3
    rows = list_candidates(planned, session_code=code)
    assert len({x["ticket"] for x in rows}) == 5
    skill_only = next(x for x in rows if x["parts"]["theory"] == "免考")
    assert [s["part"] for s in skill_only["seats"]] == ["skill"]


def test_level_two_candidates_sit_defence_and_review_in_one_room(planned: Bank, tmp_path: Path) -> None:
    # the test bank holds a level-3 outline only, so a level-3 cohort stands in: give it the level-2 parts
    import_candidates(planned, YEAR, write_form(tmp_path / "f.xlsx", [person(i) for i in range(1, 4)]))
    with planned.transaction() as s:
        for c in s.scalars(select(Candidate)):
            c.parts = {"theory": "新考", "skill": "新考", "defence": "新考", "review": "新考"}
    code = "L2"
    create_session(planned, code, occupation=OCC, level=3, exam_date=EXAM_DATE, plan_year=YEAR, site_code="360101",
                   times={"theory": "09:00-10:30", "skill": "13:30-16:30", "defence": "08:30-11:30", "review": "14:00-17:00"})  # fmt: skip
    r = seat_session(planned, code)
    assert r["seats"] == 12
    rooms = {x["room"]: x["candidates"] for x in r["rooms"]}
    assert rooms["答辩01"] == 3  # each candidate counted once although seated there for two parts
