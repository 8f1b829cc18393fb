"""Demo: a sitting from registration — the annual plan and its 公告, a registration form with photos
(one bad file refused whole, ineligible applicants refused with their reasons), seating that keeps
colleagues apart, invigilators and examiner panels posted through the rules, tickets with signed QR
codes, and the door check. Scoring, results and certificates follow in the scoring stage."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from openpyxl import Workbook
from rich.console import Console

from examvault.bank import Bank
from examvault.crypto.signing import VerifyKey
from examvault.db import BEIJING, beijing_today
from examvault.errors import ExamvaultError
from examvault.registration.attendance import close_part, record
from examvault.registration.candidates import import_candidates, list_candidates
from examvault.registration.identity import check_digit
from examvault.registration.plan import announce, create_plan
from examvault.registration.service import create_session
from examvault.registration.sittings import preparation_notices, seat_session, seating_chart
from examvault.registration.tickets import print_tickets, verify_ticket
from examvault.staff.service import assign

UNITS = ["国网南昌供电公司", "江铃汽车股份有限公司", "南昌轨道交通集团", "江西洪都航空工业集团", "南昌市政公用集团", "江西铜业集团"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英"]
FORM_HEADERS = ["姓名", "证件类型", "证件号码", "申报职业代码", "申报等级", "性别", "民族", "文化程度", "手机", "工作单位", "本职业工作年限",
                "原证书编号", "原职业", "原等级", "原证书发证日期", "申报条件", "理论知识", "操作技能", "照片"]  # fmt: skip


def _photo(rng: random.Random) -> bytes:
    """A plain 2-inch ID-style portrait placeholder (blue background, a grey head and shoulders)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (295, 413), (67, 142, 219))
    d = ImageDraw.Draw(img)
    tone = rng.choice([(222, 190, 160), (235, 205, 175), (210, 175, 145)])
    d.ellipse((92, 70, 203, 200), fill=tone)
    d.rectangle((125, 190, 170, 235), fill=tone)
    d.ellipse((40, 225, 255, 470), fill=rng.choice([(40, 40, 50), (70, 70, 80), (240, 240, 240)]))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def _applicant(rng: random.Random, n: int, occupation: str, today: date) -> dict[str, str]:
    male = rng.random() < 0.8
    born = date(rng.randrange(1975, 1994), rng.randrange(1, 13), rng.randrange(1, 28))
    first = f"360102{born:%Y%m%d}{rng.randrange(50) * 10 + n % 5 * 2 + (1 if male else 0):03d}"
    number = first + check_digit(first)
    issued = today - timedelta(days=rng.randrange(6 * 365, 9 * 365))
    return {"姓名": rng.choice(SURNAMES) + rng.choice(GIVEN), "证件类型": "居民身份证", "证件号码": number, "申报职业代码": occupation,
            "申报等级": "三级/高级工", "性别": "男" if male else "女", "民族": "汉族", "文化程度": rng.choice(["高中", "技工学校", "大专"]),
            "手机": f"139{rng.randrange(10**8):08d}", "工作单位": rng.choice(UNITS[:3] * 3 + UNITS[3:]), "本职业工作年限": str(rng.randrange(9, 16)),
            "原证书编号": f"S0001360101{issued:%y}4{rng.randrange(1, 999999):06d}", "原职业": occupation, "原等级": "四级",
            "原证书发证日期": issued.isoformat(), "申报条件": "", "理论知识": "新考", "操作技能": "新考", "照片": f"{number}.jpg"}  # fmt: skip


def _write_form(path: Path, rows: list[dict[str, str]]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "报名表"
    ws.append(FORM_HEADERS)
    for r in rows:
        ws.append([r[h] for h in FORM_HEADERS])
    wb.save(path)


def run_registration_stage(bank: Callable[[str], Bank], directory: Path, console: Console, step: int, occupation: str,
                           papers: list[str]) -> tuple[int, str, date]:  # fmt: skip
    rng = random.Random(2027)
    admin = bank("kaowu")
    today = beijing_today()
    exam_date = today  # the sitting runs today, so results, publicity and certificates follow it in this demo
    year = exam_date.year
    out = directory / "registration"
    photos = out / "照片"
    photos.mkdir(parents=True)

    plan = {"year": year, "title": f"{year}年度职业技能等级认定工作计划",
            "window": {"open": (today - timedelta(days=30)).isoformat(), "close": today.isoformat()},
            "evaluation": {"kind": "S", "institution_code": "0001", "province": "36"},
            "sites": [{"code": "360101", "name": "示范技师学院", "address": "南昌市青山湖区示范路1号 实训楼"}],
            "occupations": [{"code": occupation, "levels": [5, 4, 3, 2, 1], "fees": {"5": 150, "4": 200, "3": 250, "2": 400, "1": 500},
                             "sessions": [exam_date.strftime("%Y-%m")]}],
            "contact": "0791-86123456（考务科）", "notes": ["申报材料须真实有效，弄虚作假者取消认定资格。", "报名费按赣发改收费〔2020〕号文件标准收取。"]}  # fmt: skip
    plan_file = out / f"{year}年度认定计划.yaml"
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), "utf-8")
    create_plan(admin, plan_file)
    files = announce(admin, year, out)["files"]
    console.print(f"{step}. annual plan {year}: {occupation} levels 5–1 at site 360101; 公告 → registration/{Path(files[0]).name} and .docx")

    rows = [_applicant(rng, n, occupation, today) for n in range(1, 35)]
    rows[30].update({"本职业工作年限": "3", "原证书编号": "", "原等级": "", "原证书发证日期": ""})  # 3 years, no certificate
    rows[31].update({"原等级": "五级"})  # a level-5 certificate is not enough for level 3
    rows[32].update({"原证书发证日期": (today - timedelta(days=2 * 365)).isoformat(), "本职业工作年限": "4", "文化程度": "高中"})
    for r in rows:
        (photos / r["照片"]).write_bytes(_photo(rng))
    bad = [dict(r) for r in rows[:5]]
    bad[3]["证件号码"] = bad[3]["证件号码"][:17] + ("0" if bad[3]["证件号码"][17] != "0" else "1")
    _write_form(out / "报名表-有误.xlsx", bad)
    try:
        import_candidates(admin, year, out / "报名表-有误.xlsx", photos=photos)
    except ExamvaultError as exc:
        console.print(f"   报名表-有误.xlsx refused whole: {str(exc).splitlines()[-1]}", markup=False)
    _write_form(out / "报名表.xlsx", rows)
    r = import_candidates(admin, year, out / "报名表.xlsx", photos=photos)
    console.print(f"{step + 1}. 报名表.xlsx: {r['registered']} registered with photos (personal data sealed), {r['accepted']} accepted, "
                  f"{r['refused']} refused (不予受理):")  # fmt: skip
    for c in (c for c in r["candidates"] if c["status"] == "refused"):
        console.print(f"     ✗ {c['row']} {c['id']} {c['id_number_masked']}: {c['reason']}", markup=False)

    code = f"{exam_date:%Y%m%d}-电工-3"
    create_session(admin, code, occupation=occupation, level=3, exam_date=exam_date, plan_year=year, site_code="360101",
                   times={"theory": "09:00-10:30", "skill": "13:30-16:30"}, papers=papers)  # fmt: skip
    seated = seat_session(admin, code, capacity={"theory": 16, "skill": 15})
    rooms = ", ".join(f"{x['room']} ({x['candidates']})" for x in seated["rooms"])
    console.print(f"{step + 2}. session {code}: {seated['seated']} seated — {rooms}; colleagues side by side: {seated['same_unit_neighbours']}")
    for room, people in (("理论01", ("JK001", "JK002")), ("理论02", ("JK003", "JK004"))):
        a = assign(admin, code, "invigilator", people, room=room)
        console.print(f"   invigilators for {room} checked against the rules (≥ 2, 1 per 15): {' '.join(a['staff'])}")
    for room, people in (("实操01", ("KP002", "KP003", "KP006")), ("实操02", ("KP007", "KP008", "KP009")),
                         ("实操03", ("KP010", "KP011", "KP012"))):  # fmt: skip
        a = assign(admin, code, "examiner", people, room=room)
        console.print(f"   examiner panel for {room} checked (odd, ≥ 3, 1 per 5, 回避, cards): {' '.join(a['staff'])}")
    seating_chart(admin, code, out / "考场座位表.pdf")
    notices = preparation_notices(admin, code, out)["files"]
    t = print_tickets(admin, code, out=out / "准考证-全部.pdf", split=out / "准考证")
    console.print(f"{step + 3}. {t['tickets']} admission tickets (front, and 考生注意事项 on the back) → registration/准考证-全部.pdf and "
                  f"准考证/ one per candidate; 考场座位表.pdf; {len(notices)} 准备通知单 files")  # fmt: skip

    trust = VerifyKey.parse((directory / "institution.vkey").read_text("utf-8"))
    people = list_candidates(admin, session_code=code)
    ok = verify_ticket(t["first"]["token"], trust, on=exam_date, session_code=code)
    (out / f"ticket-{ok['ticket']}.txt").write_text(t["first"]["token"] + "\n", "utf-8")
    console.print(f"   door check offline (五对照): ticket {ok['ticket']} {ok['name']} {ok['id_masked']} — signature valid, seats "
                  + "; ".join(f"{p} {room} #{seat}" for p, room, seat, _ in ok["seats"]), markup=False)  # fmt: skip
    start = datetime_at(exam_date, 9, 0)
    door = [(people[0]["ticket"], -25, "verified"), (people[1]["ticket"], 12, "verified"), (people[2]["ticket"], 35, "verified"),
            (people[3]["ticket"], -10, "mismatch")] + [(p["ticket"], -rng.randrange(5, 40), "verified") for p in people[4:-2]]  # fmt: skip
    for ticket, minutes, identity in door:
        record(admin, code, ticket, "theory", at=start + timedelta(minutes=minutes), identity=identity)
    closed = close_part(admin, code, "theory", at=start + timedelta(minutes=31))
    console.print(f"   theory entry: {closed.get('present', 0)} on time, {closed.get('late', 0)} late (≤ 30 min, admitted), "
                  f"{closed.get('refused', 0)} refused (35 min late; one 人证不符 → irregularity filed), {closed['absent']} absent")  # fmt: skip

    admin.close()
    return step + 4, code, exam_date


def datetime_at(day: date, hour: int, minute: int) -> Any:
    from datetime import datetime

    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)
