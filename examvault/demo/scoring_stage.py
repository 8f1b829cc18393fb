"""Demo: the registration stage's sitting scored and certified — both forms' marking keys imported from
the examiner's sealed packages (a replay refused), answer-sheet responses with one bad file refused
whole, the skill panels' score sheets, results, five working days of publicity with an objection,
release, the platform upload and the 成绩登记表, certificates from the released passes, one printed, and the
annual statistics. One candidate warned twice in theory has the paper voided."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from examvault.bank import Bank
from examvault.crypto.signing import VerifyKey
from examvault.errors import ExamvaultError
from examvault.itembank.domain import OPTION_LETTERS
from examvault.registration.annual import write_annual_report
from examvault.registration.attendance import close_part, record
from examvault.registration.candidates import list_candidates
from examvault.registration.certificates import (
    certificate_pdf,
    certificate_qr,
    issue_certificates,
    receive_forms,
    verify_certificate,
)
from examvault.scoring.export import export_results
from examvault.scoring.keys import current_key, import_key
from examvault.scoring.parts import import_part_scores
from examvault.scoring.responses import import_responses
from examvault.scoring.results import compute, object_, publicize, release, resolve_objection, show
from examvault.scoring.violations import record_violation


def _answer(rng: random.Random, item: dict[str, Any], right: bool) -> str:
    key = str(item["answer"])
    if right or item["type"] == "填空":
        return key if right else ""
    if item["type"] == "判断":
        return "√" if key == "×" else "×"
    letters = OPTION_LETTERS[: int(item.get("options") or 4)]
    if item["type"] == "单选":
        return rng.choice([x for x in letters if x != key])
    wrong = set(rng.sample(letters, rng.randrange(1, len(letters))))
    return "".join(sorted(wrong)) if wrong != set(key) else letters[0]


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def run_scoring_stage(bank: Callable[[str], Bank], directory: Path, console: Console, step: int, code: str, exam_day: Any) -> int:
    rng = random.Random(2028)
    admin = bank("kaowu")
    out = directory / "scoring"
    out.mkdir()
    identity = directory / "parties" / "examiner-1" / "examiner-1.age-key"
    keys = {}
    for package in sorted((directory / "packages").glob("*_marking-key_v1.evp")):
        r = import_key(admin, package, identity=identity, session_code=code)
        with admin.transaction() as s:
            keys[r["form"]] = current_key(s, admin.keyring(s), r["paper"])[1]["items"]
    try:
        import_key(admin, package, identity=identity, session_code=code)
    except ExamvaultError as exc:
        console.print(f"{step}. marking keys of forms {' and '.join(sorted(keys))} imported from the examiner's sealed packages; "
                      f"importing one again is refused: {exc}", markup=False)  # fmt: skip

    people = [p for p in list_candidates(admin, session_code=code) if p["status"] == "accepted"]
    with admin.transaction() as s:
        from sqlalchemy import select

        from examvault.registration.models import Attendance, Candidate

        admitted = {t for t, st in s.execute(select(Candidate.ticket, Attendance.status).join(Attendance, Attendance.candidate_id == Candidate.id)
                                             .where(Attendance.part == "theory")) if st in ("present", "late")}  # fmt: skip
    header = ["准考证号", "卷别", *(str(n) for n in range(1, 191))]
    rows = []
    for n, p in enumerate(x for x in people if x["ticket"] in admitted):
        form = "AB"[n % 2]
        ability = min(0.97, max(0.35, rng.gauss(0.74, 0.12)))
        rows.append([p["ticket"], form, *(_answer(rng, i, rng.random() < ability) for i in sorted(keys[form], key=lambda i: i["number"]))])
    bad = [list(r) for r in rows[:4]]
    bad[2][2 + 150] = "AE" if keys[bad[2][1]][150]["type"] == "单选" else "Z"
    _write_csv(out / "答题卡读卡-有误.csv", header, bad)
    try:
        import_responses(admin, code, out / "答题卡读卡-有误.csv")
    except ExamvaultError as exc:
        console.print(f"   答题卡读卡-有误.csv refused whole: {str(exc).splitlines()[-1]}", markup=False)
    _write_csv(out / "答题卡读卡.csv", header, rows)
    r = import_responses(admin, code, out / "答题卡读卡.csv")
    console.print(f"{step + 1}. {r['candidates']} answer sheets scored against the keys ({', '.join(f'{k} {v}' for k, v in r['forms'].items())}); "
                  f"mean {r['mean']:.1f}/100; answers and per-item points sealed for item statistics")  # fmt: skip

    # the afternoon: the skill stations' door and the panels' score sheets (three examiners each)
    skill_start = exam_day_at(exam_day, 13, 30)
    for p in people:
        record(admin, code, p["ticket"], "skill", at=skill_start - timedelta(minutes=10), absent=p["ticket"] not in admitted)
    close_part(admin, code, "skill", at=skill_start + timedelta(minutes=31))
    panels = {"实操01": ("KP002", "KP003", "KP006"), "实操02": ("KP007", "KP008", "KP009"), "实操03": ("KP010", "KP011", "KP012")}
    sheet = []
    for p in people:
        if p["ticket"] not in admitted:
            continue
        station = next(s["room"] for s in p["seats"] if s["part"] == "skill")
        level = rng.gauss(74, 9)
        sheet += [[p["ticket"], examiner, round(min(100, max(0, level + rng.gauss(0, 2.5))), 1)] for examiner in panels[station]]
    _write_csv(out / "操作技能评分记录.csv", ["准考证号", "考评员", "分数"], sheet)
    s = import_part_scores(admin, code, out / "操作技能评分记录.csv", part="skill")
    console.print(f"   skill: {s['scores']} scores from the three-examiner panels of 实操01–03 (each examiner on duty in the candidate's station)")

    # a candidate in 理论01 is warned twice by the invigilator: the repeat voids the theory paper
    cheat = next(p for p in people if p["ticket"] in admitted and any(x["part"] == "theory" and x["room"] == "理论01" for x in p["seats"]))
    record_violation(admin, code, cheat["ticket"], part="theory", tier="warning", proctor="JK001", at=exam_day_at(exam_day, 9, 40),
                     reason="考试中与邻座交头接耳，经制止", now=exam_day_at(exam_day, 12, 0))  # fmt: skip
    v = record_violation(admin, code, cheat["ticket"], part="theory", tier="warning", proctor="JK002", at=exam_day_at(exam_day, 10, 5),
                         reason="再次与邻座交头接耳", now=exam_day_at(exam_day, 12, 0))  # fmt: skip
    console.print(f"   violations: ticket {cheat['ticket']} warned by JK001 at 09:40; warned again by JK002 at 10:05 → {v['tier']} "
                  f"({v['message']}): the theory part scores 0", markup=False)  # fmt: skip
    c = compute(admin, code)
    w = publicize(admin, code)
    console.print(f"{step + 2}. results: {c['candidates']} candidates, {c['passed']} passed (≥ 60 in theory and skill), {c['absent']} absent; "
                  f"publicised {w['opens']} – {w['last_day']} (5 working days, Chinese calendar), release from {w['release_on']}")  # fmt: skip
    try:
        release(admin, code)
    except ExamvaultError as exc:
        console.print(f"   release today is refused: {exc}", markup=False)
    first = next(x for x in show(admin, code)["results"] if x["status"] == "publicized")
    o = object_(admin, code, first["ticket"], "考生对操作技能成绩有异议，申请复核", on=date.fromisoformat(w["opens"]))
    resolve_objection(admin, o["id"], "经考评组复核评分记录，成绩无误")
    released = release(admin, code, today=date.fromisoformat(w["release_on"]))
    console.print(f"   objection {o['id']} recorded on {w['opens']} and settled; the demo then fast-forwards to {w['release_on']}: "
                  f"results released, {released['passed']} passed")  # fmt: skip
    files = export_results(admin, code, out)["files"]
    console.print(f"   platform upload and 成绩登记表 → scoring/{Path(files['csv']).name}, .xlsx and {Path(files['pdf']).name}")

    year = exam_day.year
    receive_forms(admin, f"{year}-01", first_serial=f"JX{year}000001", count=200)
    certs = issue_certificates(admin, code, forms=True)
    number = certs[0]["number"]
    pdf = out / f"证书-{number}.pdf"
    pdf.write_bytes(certificate_pdf(admin, number))
    token = certificate_qr(admin, number)["token"]
    (out / f"certificate-{number}.txt").write_text(token + "\n", "utf-8")
    ok = verify_certificate(token, VerifyKey.parse((directory / "institution.vkey").read_text("utf-8")))
    console.print(f"{step + 3}. {len(certs)} certificates issued from the released passes on numbered blank forms (JX{year}000001…); "
                  f"{number} ({ok['name']}) printed → scoring/{pdf.name}; its QR token verifies offline")  # fmt: skip
    report = write_annual_report(admin, year, directory / "registration" / "annual")
    t = report["totals"]
    console.print(f"   annual statistics {year} → registration/annual/: {t['registered']} registered, {t['sat']} sat, {t['passed']} passed, "
                  f"{t['certificates']} certified")  # fmt: skip
    admin.close()
    return step + 4


def exam_day_at(day: Any, hour: int, minute: int) -> Any:
    from datetime import datetime

    from examvault.db import BEIJING

    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)
