"""Demo: a sitting staffed through the rules — one assignment refused — badges checked at the door,
a sanction, a supervisor's blocking finding that holds the session until resolved, and the reports."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from rich.console import Console

from examvault.bank import Bank
from examvault.crypto.signing import VerifyKey
from examvault.errors import ExamvaultError
from examvault.quality.reports import write_report
from examvault.quality.service import advance, file_finding, record_incident, resolve_finding, tick
from examvault.registration.identity import check_digit
from examvault.registration.service import add_candidates, add_room, create_session
from examvault.staff.badges import issue_badges, revocation_list, verify_badge
from examvault.staff.service import assign, import_staff, record_sanction, staffing

BEIJING = ZoneInfo("Asia/Shanghai")
UNITS = ["国网南昌供电公司", "江铃汽车股份有限公司", "南昌轨道交通集团", "江西洪都航空工业集团", "南昌市政公用集团"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英"]
ROSTER_HEADERS = ["人员编号", "姓名", "证件号码", "工作单位", "手机", "人员类别", "证卡编号", "考评职业代码", "考评等级", "发证日期", "有效期至"]


def _id_number(rng: random.Random, born: datetime) -> str:
    first = f"360102{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first + check_digit(first)


def _roster(rng: random.Random, today: datetime, occupation: str) -> list[list[str]]:
    issued, valid = (today - timedelta(days=400)).date().isoformat(), (today + timedelta(days=3 * 365)).date().isoformat()
    expired = (today - timedelta(days=30)).date().isoformat()
    people = [  # code, name, unit, roles, card?, valid until
        ("KP001", "刘建华", "示范技师学院", "主考,高级考评员", "JX-KP-2024-0001", valid),
        ("KP002", "陈志刚", "示范技师学院", "考评员", "JX-KP-2024-0002", valid),
        ("KP003", "杨丽萍", "南昌工程学院", "考评员", "JX-KP-2024-0003", valid),
        ("KP004", "黄国栋", "国网南昌供电公司", "考评员", "JX-KP-2024-0004", valid),  # same unit as skill candidates
        ("KP005", "赵文斌", "江西电力职业技术学院", "考评员", "JX-KP-2023-0005", expired),
        ("KP006", "吴晓东", "江西机电职业技术学院", "考评员", "JX-KP-2024-0006", valid),
        # the panels of next month's skill stations (registration stage)
        ("KP007", "郑海波", "南昌工程学院", "考评员", "JX-KP-2024-0007", valid),
        ("KP008", "冯丽娟", "江西电力职业技术学院", "考评员", "JX-KP-2024-0008", valid),
        ("KP009", "曹志远", "九江职业技术学院", "考评员", "JX-KP-2024-0009", valid),
        ("KP010", "彭建军", "赣州技师学院", "考评员", "JX-KP-2024-0010", valid),
        ("KP011", "曾晓红", "宜春职业技术学院", "考评员", "JX-KP-2024-0011", valid),
        ("KP012", "肖国平", "江西机电职业技术学院", "考评员", "JX-KP-2024-0012", valid),
        ("JK001", "周敏", "示范技师学院", "监考", "", ""),
        ("JK002", "徐静", "示范技师学院", "监考", "", ""),
        ("JK003", "孙丽", "示范技师学院", "监考", "", ""),
        ("JK004", "马俊", "示范技师学院", "监考", "", ""),
        ("JK005", "朱婷", "示范技师学院", "监考", "", ""),
        ("DD001", "郭文涛", "江西省职业技能鉴定指导中心", "督导员", "JX-DD-2024-0001", valid),
    ]
    rows = []
    for code, name, unit, roles, card, until in people:
        born = datetime(rng.randrange(1968, 1995), rng.randrange(1, 13), rng.randrange(1, 28))
        rows.append([code, name, _id_number(rng, born), unit, f"139{rng.randrange(10**8):08d}", roles, card,
                     occupation if card and not card.startswith("JX-DD") else "", "1-5" if card.startswith("JX-KP") else "",
                     issued if card else "", until])  # fmt: skip
    return rows


def run_staff_stage(bank: Callable[[str], Bank], directory: Path, console: Console, step: int, papers: list[dict[str, Any]],
                    occupation: str) -> tuple[int, str]:  # fmt: skip
    rng = random.Random(2026)
    admin, sup = bank("kaowu"), bank("supervisor")
    today = datetime.now(BEIJING)
    code = f"{today:%Y%m}-电工-3"
    out = directory / "sitting"
    out.mkdir()
    create_session(admin, code, occupation=occupation, level=3, exam_date=today.date(), site="示范技师学院 实训楼",
                   papers=[p["code"] for p in papers])  # fmt: skip
    for room, kind, cap in (("理论01", "theory", 30), ("理论02", "theory", 30), ("实操01", "skill", 10)):
        add_room(admin, code, room, kind=kind, capacity=cap, location="实训楼" + room[-2:] + "室")
    for room, n, units in (("理论01", 28, UNITS[1:]), ("理论02", 26, UNITS[1:]), ("实操01", 10, UNITS[:1])):
        rows = [{"name": rng.choice(SURNAMES) + rng.choice(GIVEN), "work_unit": rng.choice(units),
                 "id_number": _id_number(rng, datetime(rng.randrange(1975, 2004), rng.randrange(1, 13), rng.randrange(1, 28)))}
                for _ in range(n)]  # fmt: skip
        add_candidates(admin, code, rows, room=room)
    console.print(f"{step}. exam session {code}: rooms 理论01 (28), 理论02 (26), 实操01 skill station (10 candidates, all from {UNITS[0]})")

    wb = Workbook()
    ws = wb.active
    ws.title = "考评人员"
    ws.append(ROSTER_HEADERS)
    for row in _roster(rng, today, occupation):
        ws.append(row)
    roster = directory / "input" / "考评人员名册.xlsx"
    wb.save(roster)
    r = import_staff(admin, roster)
    console.print(f"   staff roster imported from {roster.name}: {r['imported']} people (personal data sealed)")

    console.print("   assignments, each checked against the rules (配备与回避规则 v1):")
    attempts: list[tuple[str, tuple[str, ...], str | None]] = [
        ("invigilator", ("JK001", "JK002"), "理论01"),
        ("invigilator", ("JK003", "JK004", "JK005"), "理论02"),
        ("examiner", ("KP002", "KP003", "KP004"), "实操01"),  # KP004 works where the candidates work: refused
        ("examiner", ("KP002", "KP003", "KP005"), "实操01"),  # KP005's card expired: refused
        ("examiner", ("KP002", "KP003", "KP006"), "实操01"),
        ("chief_examiner", ("KP001",), None),
        ("supervisor", ("DD001",), None),
    ]
    for duty, codes, room in attempts:
        try:
            a = assign(admin, code, duty, codes, room=room)
            console.print(f"     ✓ {duty:<14} {room or '(session)':<8} {' '.join(a['staff'])}")
        except ExamvaultError as exc:
            console.print(f"     ✗ {duty:<14} {room or '(session)':<8} {' '.join(codes)} — REFUSED:", markup=False)
            for line in str(exc).splitlines()[1:]:
                console.print(f"         {line}", markup=False)
    s = staffing(admin, code)
    console.print(f"   staffing check: {'every room meets the rules' if s['ok'] else '; '.join(s['problems'])}")

    badges = issue_badges(admin, code, out_path=out / "badges.pdf")
    trust = VerifyKey.parse((directory / "institution.vkey").read_text("utf-8"))
    crl = revocation_list(admin)
    ok = verify_badge(badges[0]["token"], trust, revocations=crl, on=today.date())
    console.print(f"{step + 1}. {len(badges)} badges with signed QR tokens → sitting/badges.pdf; door check offline: {ok['staff']} {ok['name']} valid")
    jk005 = next(b for b in badges if b["staff"] == "JK005")
    record_sanction(admin, "JK005", "removal", "考试期间使用手机，违反监考人员守则", session_code=code)
    crl = revocation_list(admin)
    (out / "revocations.json").write_text(json.dumps(crl, ensure_ascii=False, indent=1), "utf-8")
    (out / "badge-KP001.txt").write_text(next(b for b in badges if b["staff"] == "KP001")["token"] + "\n", "utf-8")
    try:
        verify_badge(jk005["token"], trust, revocations=crl, on=today.date())
    except ExamvaultError as exc:
        console.print(f"   JK005 removed from duty (sanction) → badge refused at the door: {exc}", markup=False)
    try:
        assign(admin, code, "invigilator", ("JK005",), room="理论01")
    except ExamvaultError as exc:
        console.print(f"   and cannot be assigned again: {str(exc).splitlines()[1].strip()}", markup=False)

    for item in ("eligibility", "publicity"):
        tick(sup, code, "registration_review", item, passed=True, supervisor="DD001", note="抽查申报材料，符合申报条件")
    advance(admin, code)
    tick(sup, code, "paper_approval", "paper_custody", passed=True, supervisor="DD001", note="保密室双人双锁，交接记录完整")
    advance(admin, code)
    f = file_finding(sup, code, stage="room_acceptance", supervisor="DD001", checked="理论02考场监控与座位编排",
                     issue="理论02考场后排监控摄像头无画面", correction="更换摄像头并经督导员复查", blocking=True)  # fmt: skip
    for item in ("room_layout", "skill_equipment"):
        tick(sup, code, "room_acceptance", item, passed=True, supervisor="DD001", note="现场查验")
    console.print(f"{step + 2}. supervisor DD001 files blocking finding {f['id']} at room acceptance (考场验收): {f['issue']}")
    try:
        advance(admin, code)
    except ExamvaultError as exc:
        console.print(f"   session advance refused: {str(exc).splitlines()[1]}", markup=False)
    resolve_finding(sup, f["id"], supervisor="DD001", resolution="已更换摄像头，督导员复查画面正常")
    moved = advance(admin, code)
    console.print(f"   finding resolved by the supervisor → session moves {moved['from']} → {moved['to']}")

    start = today.replace(hour=9, minute=0, second=0, microsecond=0)
    record_incident(admin, code, kind="absent", room="理论01", candidate=f"{today:%Y}000003", description="考生未到考", reported_by="JK001", at=start)
    record_incident(admin, code, kind="late", room="理论02", candidate=f"{today:%Y}000031", description="迟到12分钟，准予入场",
                    reported_by="JK003", at=start + timedelta(minutes=12))  # fmt: skip
    record_incident(admin, code, kind="violation", room="理论02", candidate=f"{today:%Y}000040",
                    description="考试中与邻座交谈，经提醒后停止，给予警告", reported_by="JK004", at=start + timedelta(minutes=40))  # fmt: skip
    for kind, name in (("supervision", "督导报告.pdf"), ("supervision", "督导报告.docx"), ("work-record", "考评工作记录.pdf")):
        write_report(sup if kind == "supervision" else admin, code, kind, out / name)
    console.print(f"{step + 3}. 3 exam-room incidents recorded (sealed); reports: sitting/督导报告.pdf, 督导报告.docx, 考评工作记录.pdf")
    for h in (admin, sup):
        h.close()
    return step + 4, code
