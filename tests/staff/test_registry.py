"""The personnel registry: roster import (xlsx, csv), listing, status changes, masking,
sealed personal data, the CLI listing and who may assign."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import select

from examvault.bank import Bank
from examvault.cli import cli
from examvault.errors import ConflictError, PermissionDenied, ValidationError
from examvault.registration.identity import check_digit, mask_id
from examvault.staff.models import Assignment
from examvault.staff.service import (
    add_credential,
    add_staff,
    assign,
    declare_relation,
    import_staff,
    list_staff,
    set_status,
    show_staff,
)
from tests.conftest import OCC, PASSPHRASE, snapshot
from tests.staff.conftest import SESSION, Sitting, card, id_number
from tests.test_plaintext_scan import scan_bank

HEADERS = ["人员编号", "姓名", "证件号码", "工作单位", "手机", "人员类别", "证卡编号", "考评职业代码", "考评等级", "发证日期", "有效期至"]
ISSUED = date(2025, 3, 1)
UNTIL = date(2030, 2, 28)
LIST_FIELDS = {"id", "name", "roles", "credential_number", "valid_until", "status"}


def roster_row(code: str, name: str, number: str, roles: str, *, card_no: str = "", levels: str = "3-5",
               issued: Any = ISSUED, until: Any = UNTIL, unit: str = "示范技师学院", phone: str = "13907910001") -> list[Any]:  # fmt: skip
    if not card_no:
        return [code, name, number, unit, phone, roles, "", "", "", "", ""]
    return [code, name, number, unit, phone, roles, card_no, OCC, levels, issued, until]


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        w.writerows([["" if v is None else (v.isoformat() if isinstance(v, date) else v) for v in r] for r in rows])
    return path


def test_import_xlsx_and_csv_then_list(make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    bank = make_bank("kaowu")
    xlsx = write_xlsx(tmp_path / "roster.xlsx", [
        roster_row("KP01", "王考评", id_number(1), "考评员", card_no="KP-2025-001"),  # dates as Excel dates
        roster_row("GK01", "李高级", id_number(2), "高级考评员、主考", card_no="KP-2025-002", levels="三级、二级",
                   issued="2025/03/01", until="2030年2月28日"),
        roster_row("", "赵监考", id_number(3), "监考"),  # no code: the next ST#####
    ])  # fmt: skip
    r = import_staff(bank, xlsx)
    assert r["file"] == "roster.xlsx" and r["imported"] == 3
    assert [s["code"] for s in r["staff"]] == ["KP01", "GK01", "ST00003"]
    r = import_staff(bank, write_csv(tmp_path / "roster.csv", [
        roster_row("DD01", "孙督导", id_number(4), "内部质量督导员", card_no="DD-2025-001"),
        roster_row("JK01", "周监考", id_number(5), "invigilator, 监考员"),
    ]))  # fmt: skip
    assert r["imported"] == 2

    rows = list_staff(bank)
    assert all(set(x) >= LIST_FIELDS for x in rows)
    assert all(uuid.UUID(x["id"]) for x in rows)
    got = {x["code"]: (x["name"], x["roles"], x["credential_number"], x["valid_until"], x["status"]) for x in rows}
    assert got == {
        "DD01": ("孙督导", ["supervisor"], "DD-2025-001", UNTIL.isoformat(), "active"),
        "GK01": ("李高级", ["chief_examiner", "senior_examiner"], "KP-2025-002", UNTIL.isoformat(), "active"),
        "JK01": ("周监考", ["invigilator"], None, None, "active"),
        "KP01": ("王考评", ["examiner"], "KP-2025-001", UNTIL.isoformat(), "active"),
        "ST00003": ("赵监考", ["invigilator"], None, None, "active"),
    }
    assert [x["code"] for x in rows] == sorted(got)  # listed by code
    assert all(id_number(n) not in json.dumps(rows) for n in range(1, 6))  # a list never shows ID numbers
    assert [x["code"] for x in list_staff(bank, role="invigilator")] == ["JK01", "ST00003"]
    assert [x["code"] for x in list_staff(bank, role="senior_examiner")] == ["GK01"]

    shown = show_staff(bank, "GK01")
    (c,) = shown["credentials"]
    assert (c["kind"], c["occupation"], c["levels"], c["issued_on"]) == ("senior_examiner", OCC, [2, 3], ISSUED.isoformat())
    assert shown["phone"] == "13907910001" and shown["work_unit"] == "示范技师学院"
    assert show_staff(bank, "KP01")["credentials"][0]["levels"] == [3, 4, 5]


def _issues(exc: pytest.ExceptionInfo[ValidationError]) -> dict[tuple[str, str], str]:
    return {(i.location, i.column): i.message for i in exc.value.issues}


def _bad_rows() -> list[list[Any]]:
    bad_check = id_number(12)[:-1] + ("0" if id_number(12)[-1] != "0" else "1")
    return [
        roster_row("OK01", "正常人", id_number(11), "考评员", card_no="KP-9001"),  # row 2: fine
        roster_row("BAD1", "号码错", bad_check, "考评员", card_no="KP-9002"),  # row 3
        roster_row("BAD2", "类别错", id_number(13), "清洁工"),  # row 4
        roster_row("BAD3", "日期错", id_number(14), "考评员", card_no="KP-9004", issued=date(2026, 1, 1), until=date(2025, 12, 31)),  # row 5
        roster_row("BAD4", "重复", id_number(11), "监考"),  # row 6: repeats row 2's ID number
    ]


def test_import_with_bad_rows_is_refused_whole(make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    bank = make_bank("kaowu")
    add_staff(bank, code="OLD1", name="老人员", id_number=id_number(20), roles="监考")
    before = snapshot(bank)
    for path in (write_xlsx(tmp_path / "bad.xlsx", _bad_rows()), write_csv(tmp_path / "bad.csv", _bad_rows())):
        with pytest.raises(ValidationError) as exc:
            import_staff(bank, path)
        text = str(exc.value)
        assert text.startswith("4 problems found; nothing was imported:")
        issues = _issues(exc)
        assert set(issues) == {("row 3", "C (证件号码)"), ("row 4", "F (人员类别)"), ("row 5", "K (有效期至)"), ("row 6", "C (证件号码)")}
        assert "check digit" in issues[("row 3", "C (证件号码)")]
        assert "unknown role '清洁工'" in issues[("row 4", "F (人员类别)")]
        assert "expires before it is issued" in issues[("row 5", "K (有效期至)")]
        assert issues[("row 6", "C (证件号码)")] == "repeats row 2"
        assert f"{path.name}, row 3, column C (证件号码): " in text  # each problem names file, row and column
        assert snapshot(bank) == before

    # a person already in the registry, in an otherwise clean file
    again = roster_row("NEW1", "又来了", id_number(20), "监考")
    with pytest.raises(ValidationError) as exc:
        import_staff(bank, write_xlsx(tmp_path / "again.xlsx", [roster_row("OK01", "正常人", id_number(11), "监考"), again]))
    assert _issues(exc) == {("row 3", "C (证件号码)"): "this person is already registered as OLD1"}
    assert snapshot(bank) == before


def test_import_reports_file_and_registry_problems_together(make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    bank = make_bank("kaowu")
    add_staff(bank, code="OLD1", name="老人员", id_number=id_number(20), roles="监考")
    with pytest.raises(ValidationError) as exc:
        import_staff(bank, write_xlsx(tmp_path / "bad.xlsx", [*_bad_rows(), roster_row("NEW1", "又来了", id_number(20), "监考")]))
    assert len(exc.value.issues) == 5
    assert ("row 7", "C (证件号码)") in _issues(exc)


def test_suspend_revoke_reinstate(make_bank: Callable[..., Bank]) -> None:
    bank = make_bank("kaowu")
    today = date.today()
    add_staff(bank, code="KP1", name="王考评", id_number=id_number(1), roles="考评员",
              credential=card("KP-1", issued=today - timedelta(days=100), valid_until=today + timedelta(days=900)))  # fmt: skip
    add_credential(bank, "KP1", number="KP-1B", kind="senior_examiner", occupation=OCC, levels="2-3",
                   issued_on=today - timedelta(days=10), valid_until=today + timedelta(days=1000))  # fmt: skip
    assert list_staff(bank)[0]["credential_number"] == "KP-1B"  # the card valid longest is the current one

    with pytest.raises(ValidationError, match="reason"):
        set_status(bank, "KP1", "suspended", "  ")
    r = set_status(bank, "KP1", "suspended", "培训未完成")
    assert (r["status"], r["cards_revoked"]) == ("suspended", [])
    shown = show_staff(bank, "KP1")
    assert (shown["status"], shown["status_reason"]) == ("suspended", "培训未完成")
    assert all(c["revoked_at"] is None for c in shown["credentials"])  # a suspension keeps the cards
    assert [x["code"] for x in list_staff(bank, status="suspended")] == ["KP1"]
    with pytest.raises(ConflictError, match="already suspended"):
        set_status(bank, "KP1", "suspended", "again")
    assert set_status(bank, "KP1", "active", "培训已完成")["status"] == "active"

    r = set_status(bank, "KP1", "revoked", "违规泄题")
    assert sorted(r["cards_revoked"]) == ["KP-1", "KP-1B"]  # every card
    shown = show_staff(bank, "KP1")
    assert shown["status"] == "revoked"
    assert all(c["revoked_at"] and c["revoked_reason"] == "违规泄题" for c in shown["credentials"])
    assert list_staff(bank)[0]["credential_revoked"] is True
    for status in ("active", "suspended"):
        with pytest.raises(ConflictError, match="revoked person is registered anew"):
            set_status(bank, "KP1", status, "申诉")
    assert list_staff(bank)[0]["status"] == "revoked"
    with pytest.raises(ValidationError):
        set_status(bank, "KP1", "retired", "x")


def test_show_staff_masks_and_personal_data_is_sealed(make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    bank = make_bank("kaowu")
    tag = uuid.uuid4().int % 900 + 100
    name, unit, phone = f"欧阳标记{tag}", f"标记单位{tag}有限公司", f"139{tag:03d}{tag:05d}"
    first = f"36010219720301{tag:03d}"
    number = first + check_digit(first)
    rel_first = f"36010219901101{tag:03d}"
    relation = rel_first + check_digit(rel_first)
    add_staff(bank, code="P1", name=name, id_number=number, roles="考评员", work_unit=unit, phone=phone,
              credential=card("KP-77"))  # fmt: skip
    import_staff(bank, write_xlsx(tmp_path / "r.xlsx", [roster_row("P2", name + "乙", id_number(40), "监考", unit=unit)]))
    declare_relation(bank, "P1", id_number=relation, relation="配偶")

    shown = show_staff(bank, "P1")
    assert shown["name"] == name and shown["work_unit"] == unit
    assert shown["id_number_masked"] == number[:4] + "*" * 10 + number[-4:] == mask_id(number)
    assert shown["declared_relations"] == 1
    dumped = json.dumps(shown, ensure_ascii=False)
    assert number not in dumped and number[4:14] not in dumped and relation not in dumped

    bank.close()
    needles = []
    for s in (name, unit, phone, number, relation, id_number(40)):
        needles += [s.encode(), s.encode("utf-16-le"), s.encode("gb18030")]
    scan_bank(bank.engine.url, needles)


def test_cli_staff_list_json(make_bank: Callable[..., Bank], db_url: str) -> None:
    bank = make_bank("kaowu")
    add_staff(bank, code="KP1", name="王考评", id_number=id_number(1), roles="考评员", credential=card("KP-0001"))
    add_staff(bank, code="JK1", name="赵监考", id_number=id_number(2), roles="监考")
    set_status(bank, "JK1", "suspended", "请假")
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli, ["--db", db_url, "--user", "kaowu", "staff", "list", *args, "--json"],
                               env={"EXAMVAULT_PASSPHRASE": PASSPHRASE})  # fmt: skip
        assert result.exit_code == 0, (result.output, result.exception)
        return json.loads(result.stdout)

    rows = run()
    assert [r["code"] for r in rows] == ["JK1", "KP1"]
    assert all(set(r) >= LIST_FIELDS for r in rows)
    kp = rows[1]
    assert (kp["name"], kp["roles"], kp["credential_number"], kp["status"]) == ("王考评", ["examiner"], "KP-0001", "active")
    assert kp["valid_until"] == card("KP-0001")["valid_until"]
    assert (rows[0]["roles"], rows[0]["credential_number"], rows[0]["status"]) == (["invigilator"], None, "suspended")
    assert [r["code"] for r in run("--status", "suspended")] == ["JK1"]
    assert [r["code"] for r in run("--role", "examiner")] == ["KP1"]
    result = runner.invoke(cli, ["--db", db_url, "--user", "kaowu", "staff", "list", "--json"],
                           env={"EXAMVAULT_PASSPHRASE": "wrong passphrase"})  # fmt: skip
    assert result.exit_code != 0 and "王考评" not in result.output


def test_only_exam_administration_may_assign(sitting: Sitting, make_bank: Callable[..., Bank]) -> None:
    before = snapshot(sitting.admin)
    for user in ("cust", "sup"):
        with pytest.raises(PermissionDenied, match="staff.assign"):
            assign(make_bank(user), SESSION, "invigilator", ["JK1", "JK2"], room="T02")
    with pytest.raises(PermissionDenied):
        list_staff(make_bank("cust"))  # a custodian does not read the personnel registry either
    assert snapshot(sitting.admin) == before
    assert assign(sitting.admin, SESSION, "invigilator", ["JK1", "JK2"], room="T02")["staff"] == ["JK1", "JK2"]
    with sitting.admin.transaction() as s:
        assert len(s.scalars(select(Assignment)).all()) == 2


# ------------------------------------------------------------------ cards, lengths and codes


CARD_HEADERS = ["人员编号", "姓名", "证件号码", "人员类别", "证卡编号", "证卡类别", "考评职业代码", "考评等级", "发证日期", "有效期至", "回避证件号码"]


def _card_row(code: str, n: int, roles: str, *, card_no: str = "", kind: str = "", occupation: str = OCC, levels: str = "3-5",
              relations: str = "") -> list[str]:  # fmt: skip
    dates = [ISSUED.isoformat(), UNTIL.isoformat()] if card_no else ["", ""]
    return [code, f"人员{code}", id_number(n), roles, card_no, kind, occupation if card_no else "", levels if card_no else "", *dates, relations]


def test_import_checks_card_kinds_and_lengths(make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    bank = make_bank("kaowu")
    bad_relation = id_number(99)[:6] + "19851332" + id_number(99)[14:]  # no such birth date
    rows = [
        _card_row("ZK01", 61, "主考", card_no="ZK-2025-01", occupation="", levels=""),  # row 2: a chief's card names its scope
        _card_row("KP02", 62, "考评员", card_no="KP-2025-02", kind="清洁卡"),  # row 3: no such card kind
        _card_row("KP03", 63, "考评员", card_no="KP-2025-03", kind="监考"),  # row 4: a role, but no card kind
        _card_row("JK04", 64, "监考", card_no="JK-2025-04"),  # row 5: invigilators hold no card
        _card_row("X" * 31, 65, "监考"),  # row 6: too long a code
        _card_row("KP06", 66, "考评员", card_no="K" * 41),  # row 7: too long a card number
        _card_row("JK07", 67, "监考", relations=bad_relation),  # row 8: a bad relation ID, its digits not quoted
        _card_row("ZK08", 68, "主考", card_no="ZK-2025-08", levels="1-3"),  # row 9: fine
        _card_row("DD09", 69, "督导员", card_no="DD-2025-09", kind="督导员", occupation="", levels=""),  # row 10: fine, no scope
    ]
    path = tmp_path / "cards.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([CARD_HEADERS, *rows])
    with pytest.raises(ValidationError) as exc:
        import_staff(bank, path)
    issues = {loc: (col, msg) for (loc, col), msg in _issues(exc).items()}
    assert sorted(issues, key=lambda x: int(x.split()[1])) == [f"row {n}" for n in range(2, 9)]
    assert issues["row 2"] == ("G (考评职业代码)", "an examiner's card names the occupation and levels it covers")
    assert issues["row 3"][0] == "F (证卡类别)" and issues["row 3"][1].startswith("'清洁卡' is not a card kind")
    assert issues["row 4"][0] == "F (证卡类别)" and issues["row 4"][1].startswith("'监考' is not a card kind")
    assert issues["row 5"] == ("E (证卡编号)", "invigilators hold no credential card; leave the card columns empty")
    assert issues["row 6"] == ("A (人员编号)", "at most 30 characters")
    assert issues["row 7"][0] == "E (证卡编号)" and "too long" in issues["row 7"][1]
    assert issues["row 8"] == ("K (回避证件号码)", "digits 7–14 are not a birth date")
    assert bad_relation[:4] not in str(exc.value) and "19851332" not in str(exc.value)
    assert list_staff(bank) == []  # nothing imported
    # the good rows alone import, with the card kinds they say
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([CARD_HEADERS, rows[7], rows[8]])
    assert import_staff(bank, path)["imported"] == 2
    assert [c["kind"] for c in show_staff(bank, "ZK08")["credentials"]] == ["chief_examiner"]
    assert [c["kind"] for c in show_staff(bank, "DD09")["credentials"]] == ["supervisor"]


@pytest.mark.parametrize("kind", ["examiner", "senior_examiner", "chief_examiner"])
def test_add_credential_needs_occupation_levels_and_a_number(make_bank: Callable[..., Bank], kind: str) -> None:
    bank = make_bank("kaowu")
    add_staff(bank, code="KP1", name="王考评", id_number=id_number(1), roles="考评员,高级考评员,主考", credential=card("KP-1"))
    days = {"issued_on": date.today(), "valid_until": date.today() + timedelta(days=300)}
    before = snapshot(bank)
    with pytest.raises(ValidationError, match=f"a {kind} card names the occupation and levels it covers: give --occupation and --levels"):
        add_credential(bank, "KP1", number="KP-2", kind=kind, occupation=None, levels="3", **days)
    with pytest.raises(ValidationError, match="give --occupation and --levels"):
        add_credential(bank, "KP1", number="KP-2", kind=kind, occupation=OCC, levels="", **days)
    with pytest.raises(ValidationError, match="--number: the card number is required"):
        add_credential(bank, "KP1", number="  ", kind=kind, occupation=OCC, levels="3", **days)
    with pytest.raises(ValidationError, match="--number has 41 characters; at most 40 are allowed"):
        add_credential(bank, "KP1", number="K" * 41, kind=kind, occupation=OCC, levels="3", **days)
    with pytest.raises(ValidationError, match="card kind 'invigilator' is not one of examiner, senior_examiner, chief_examiner, supervisor"):
        add_credential(bank, "KP1", number="KP-2", kind="invigilator", occupation=OCC, levels="3", **days)
    assert snapshot(bank) == before
    add_credential(bank, "KP1", number="KP-2", kind=kind, occupation=OCC, levels="3", **days)
    # a supervisor's card covers no occupation or level
    add_credential(bank, "KP1", number="DD-2", kind="supervisor", occupation=None, levels="", **days)
    assert sorted(c["number"] for c in show_staff(bank, "KP1")["credentials"]) == ["DD-2", "KP-1", "KP-2"]


def test_reasons_have_a_length_limit(make_bank: Callable[..., Bank]) -> None:
    bank = make_bank("kaowu")
    add_staff(bank, code="JK1", name="赵监考", id_number=id_number(1), roles="监考")
    with pytest.raises(ValidationError, match="--reason has 401 characters; at most 400 are allowed"):
        set_status(bank, "JK1", "suspended", "因" * 401)
    assert set_status(bank, "JK1", "suspended", "因" * 400)["status"] == "suspended"


def test_automatic_staff_codes_skip_codes_already_taken(make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    bank = make_bank("kaowu")
    add_staff(bank, code="ST00002", name="甲", id_number=id_number(1), roles="监考")  # the code the next one would have got
    assert add_staff(bank, name="乙", id_number=id_number(2), roles="监考")["code"] == "ST00003"
    assert add_staff(bank, name="丙", id_number=id_number(3), roles="监考")["code"] == "ST00004"
    # within one file too: an explicit code later in the file is not handed out to an earlier row
    r = import_staff(bank, write_xlsx(tmp_path / "r.xlsx", [roster_row("", "丁", id_number(4), "监考"),
                                                            roster_row("ST00005", "戊", id_number(5), "监考")]))  # fmt: skip
    assert [x["code"] for x in r["staff"]] == ["ST00006", "ST00005"]
    assert [x["code"] for x in list_staff(bank)] == ["ST00002", "ST00003", "ST00004", "ST00005", "ST00006"]


def test_automatic_candidate_codes_skip_codes_already_taken(sitting: Sitting) -> None:
    from examvault.registration.service import add_candidates

    s = sitting
    year = s.candidates["T01"][0]["code"][:4]
    count = sum(len(v) for v in s.candidates.values())  # 46 placed with automatic codes
    taken = f"{year}{count + 2:06d}"  # the code the second automatic one would have got
    (explicit,) = add_candidates(s.admin, SESSION, [{"name": "考生甲", "id_number": id_number(701), "code": taken}])
    assert explicit["code"] == taken
    added = add_candidates(s.admin, SESSION, [{"name": f"考生{n}", "id_number": id_number(n)} for n in (702, 703)])
    assert [c["code"] for c in added] == [f"{year}{count + 3:06d}", f"{year}{count + 4:06d}"]


def test_room_and_session_texts_have_length_limits(sitting: Sitting) -> None:
    from examvault.registration.service import add_room, create_session

    s = sitting
    with pytest.raises(ValidationError, match="a room needs its code"):
        add_room(s.admin, SESSION, "  ", kind="theory", capacity=10)
    with pytest.raises(ValidationError, match="room code has 31 characters; at most 30 are allowed"):
        add_room(s.admin, SESSION, "R" * 31, kind="theory", capacity=10)
    with pytest.raises(ValidationError, match="--location has 101 characters"):
        add_room(s.admin, SESSION, "T09", kind="theory", capacity=10, location="楼" * 101)
    with pytest.raises(ValidationError, match="--site has 101 characters"):
        create_session(s.admin, "S2026-09", occupation=OCC, level=3, exam_date=date.today(), site="点" * 101)
    with pytest.raises(ValidationError, match="--occupation has 21 characters"):
        create_session(s.admin, "S2026-09", occupation="6" * 21, level=3, exam_date=date.today())
