"""Demo: a level-2 (技师) sitting of the paper with subjective sections, marked blind — its marking keys
sealed to the examiner and imported, 补考 candidates' answer sheets scored by machine, the booklets'
密封登记, markers and a group leader per item, double marking with one arbitration (a third mark),
统分 and 复核 by two examiners (the totaller refused as checker), unmasking, results with the
objective and subjective halves, publicity and release."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from rich.console import Console

from examvault.accounts.service import add_user
from examvault.bank import Bank
from examvault.crypto.parties import add_party, new_keys
from examvault.crypto.signing import SigningKey
from examvault.db import utcnow
from examvault.demo.custody_stage import KEY_PASSPHRASE
from examvault.demo.registration_stage import FORM_HEADERS, _applicant, _photo
from examvault.demo.scoring_stage import _answer, _write_csv, exam_day_at
from examvault.errors import ExamvaultError
from examvault.export.sealing import seal_package
from examvault.registration.attendance import close_part, record
from examvault.registration.candidates import import_candidates, list_candidates
from examvault.registration.service import create_session
from examvault.registration.sittings import seat_session
from examvault.scoring.keys import current_key, import_key
from examvault.scoring.marking import assign_markers, check, mark, queue, seal_scripts, status, total, unmask
from examvault.scoring.responses import import_responses
from examvault.scoring.results import compute, publicize, release, show

MARKERS = {"pj01": "评卷员 邓建平", "pj02": "评卷员 程丽", "pj03": "评卷员 谢国强", "pjzz": "评卷组长 刘建华"}
PARTS_L2 = {"理论知识": "补考", "操作技能": "免考", "答辩": "免考", "综合评审": "免考"}


def _marks(rng: random.Random, maxima: list[float], quality: float) -> list[float]:
    """A marker's points per marking point, in halves, for an answer of the given quality."""
    return [min(m, max(0.0, round(m * min(1.0, max(0.0, rng.gauss(quality, 0.15))) * 2) / 2)) for m in maxima]


def _second(rng: random.Random, first: list[float], maxima: list[float]) -> list[float]:
    """An independent second marker who differs by at most half a point on one marking point."""
    out = list(first)
    k = rng.randrange(len(out))
    out[k] = min(maxima[k], max(0.0, out[k] + rng.choice([-0.5, 0.0, 0.5])))
    return out


def run_blind_stage(bank: Callable[[str], Bank], directory: Path, console: Console, step: int, occupation: str,
                    papers: list[str], exam_day: date) -> int:  # fmt: skip
    rng = random.Random(2029)
    admin = bank("kaowu")
    out = directory / "marking"
    (out / "照片").mkdir(parents=True)
    year = exam_day.year

    # the markers: examiner accounts with their own signing keys, registered as examiner parties
    with bank("admin").transaction() as s:
        for name, display in MARKERS.items():
            add_user(s, name, ["examiner"], display)
    signers: dict[str, SigningKey] = {}
    for name in MARKERS:
        keys = new_keys(directory / "parties" / name / name, KEY_PASSPHRASE)
        add_party(bank("admin"), name, "examiner", recipient=keys["recipient"], verify_key=Path(keys["vkey"]).read_text("utf-8"))
        signers[name] = SigningKey.load(Path(keys["sign_key"]), KEY_PASSPHRASE)

    # six holders of a level-3 certificate retake the level-2 theory paper (补考); the other parts were passed before
    rows = []
    for n in range(1, 7):
        r = _applicant(rng, 40 + n, occupation, exam_day)
        issued = exam_day - timedelta(days=rng.randrange(5 * 365, 8 * 365))
        r |= {"申报等级": "二级/技师", "原等级": "三级", "原证书编号": f"S0001360101{issued:%y}3{rng.randrange(1, 999999):06d}",
              "原证书发证日期": issued.isoformat(), "本职业工作年限": str(rng.randrange(14, 20)), **PARTS_L2}  # fmt: skip
        (out / "照片" / r["照片"]).write_bytes(_photo(rng))
        rows.append(r)
    headers = [*FORM_HEADERS, "答辩", "综合评审"]
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append([r[h] for h in headers])
    wb.save(out / "报名表-技师补考.xlsx")
    reg = import_candidates(admin, year, out / "报名表-技师补考.xlsx", photos=out / "照片")
    code = f"{exam_day:%Y%m%d}-电工-2"
    create_session(admin, code, occupation=occupation, level=2, exam_date=exam_day, plan_year=year, site_code="360101",
                   times={"theory": "09:00-11:00"}, papers=papers)  # fmt: skip
    seated = seat_session(admin, code, capacity={"theory": 30})
    people = [p for p in list_candidates(admin, session_code=code) if p["status"] == "accepted"]
    start = exam_day_at(exam_day, 9, 0)
    for p in people[:-1]:
        record(admin, code, p["ticket"], "theory", at=start - timedelta(minutes=rng.randrange(5, 30)))
    close_part(admin, code, "theory", at=start + timedelta(minutes=31))
    console.print(f"{step}. level-2 sitting {code}: {reg['accepted']} holders of a level-3 certificate retake the theory paper "
                  f"(补考; skill, defence and review carried as 免考), {seated['seated']} seated, {len(people) - 1} at the door")  # fmt: skip

    # the marking keys, sealed to the examiner after the exam and imported
    custodian = bank("custodian")
    now = utcnow()
    identity = directory / "parties" / "examiner-1" / "examiner-1.age-key"
    keys = {}
    for paper in papers:
        sealed = seal_package(custodian, paper, kind="marking-key", to=["examiner-1"], not_before=now - timedelta(seconds=1),
                              expires=now + timedelta(days=60), out_dir=directory / "packages")  # fmt: skip
        r = import_key(admin, Path(sealed["file"]), identity=identity, session_code=code)
        with admin.transaction() as s:
            keys[r["form"]] = current_key(s, admin.keyring(s), r["paper"])[1]["items"]
    objective = {f: sorted((i for i in items if "marking_points" not in i), key=lambda i: i["number"]) for f, items in keys.items()}
    subjective = {f: sorted((i for i in items if "marking_points" in i), key=lambda i: i["number"]) for f, items in keys.items()}
    numbers = [i["number"] for i in subjective["A"]]

    # the answer sheets (objective items) and the sealing staff's 密封登记 of the booklets
    present = people[:-1]
    width = len(objective["A"])
    sheet, seals, quality = [], [], {}
    codes = rng.sample(range(100000, 999999), len(present))
    for n, p in enumerate(present):
        form = "AB"[n % 2]
        ability = min(0.95, max(0.4, rng.gauss(0.72, 0.12)))
        sheet.append([p["ticket"], form, *(_answer(rng, i, rng.random() < ability) for i in objective[form])])
        seals.append([p["ticket"], form, str(codes[n])])
        quality[str(codes[n])] = ability
    _write_csv(out / "答题卡读卡-技师.csv", ["准考证号", "卷别", *map(str, range(1, width + 1))], sheet)
    r = import_responses(admin, code, out / "答题卡读卡-技师.csv")
    _write_csv(out / "密封登记.csv", ["准考证号", "卷别", "密封号"], seals)
    sealed_scripts = seal_scripts(admin, code, out / "密封登记.csv")
    assign_markers(admin, code, numbers, markers=["pj01", "pj02", "pj03"], leader="pjzz")
    console.print(f"{step + 1}. {r['candidates']} answer sheets scored by machine ({width} objective items); "
                  f"{sealed_scripts['scripts']} booklets sealed with 密封号 (the mapping sealed in the bank); items {numbers[0]}–{numbers[-1]} "
                  f"(简答, 计算, 论述) assigned to markers pj01–pj03, leader pjzz, threshold 20 % of each item's points")  # fmt: skip

    # double marking: pj01 and pj02 mark every item of every script independently, point by point
    by_code = {s[2]: s[1] for s in seals}
    arbitrated, entries = None, 0
    for seal, form in sorted(by_code.items()):
        for item in subjective[form]:
            maxima = [float(x) for x in item["marking_points"]]
            first = _marks(rng, maxima, quality[seal])
            second = _second(rng, first, maxima)
            if arbitrated is None and item["points"] >= 10:  # one script's 计算: one marker gives full marks, the other half
                first, second = maxima, [math.floor(m) / 2 for m in maxima]
                arbitrated = (seal, item, first, second)
            mark(bank("pj01"), code, seal, item["number"], first, signer=signers["pj01"])
            mark(bank("pj02"), code, seal, item["number"], second, signer=signers["pj02"])
            entries += 2
    assert arbitrated is not None
    waiting = queue(bank("pj03"), code)
    seal, item, first, second = arbitrated
    number, a, b = item["number"], sum(first), sum(second)
    mark(bank("pj03"), code, seal, number, _second(rng, first, [float(x) for x in item["marking_points"]]), signer=signers["pj03"])
    st = status(admin, code)
    settled = sum(i["settled"] for i in st["items"])
    console.print(f"{step + 2}. double marking: {entries + 1} signed marks for {settled} script-items; script {seal} item {number} "
                  f"({item['type']}, {item['points']:g} points) marked {a:g} and {b:g} — more than 20 % apart — went to the third marker "
                  f"(pj03's queue: {len(waiting)}), whose mark settles it with the nearer one")  # fmt: skip

    t = total(bank("pj01"), code, signer=signers["pj01"])
    try:
        check(bank("pj01"), code, signer=signers["pj01"])
    except ExamvaultError as exc:
        console.print(f"   统分 by pj01 (mean {t['mean']:.1f}); pj01 as 复核人 is refused: {exc}", markup=False)
    check(bank("pj02"), code, signer=signers["pj02"])
    try:
        compute(admin, code)
    except ExamvaultError as exc:
        console.print(f"   before unmasking, results are refused: {str(exc).splitlines()[-1]}", markup=False)
    u = unmask(admin, code)
    c = compute(admin, code)
    w = publicize(admin, code)
    released = release(admin, code, today=date.fromisoformat(w["release_on"]))
    best = max((x for x in show(admin, code)["results"] if x["theory"] is not None), key=lambda x: x["theory"])
    console.print(f"{step + 3}. 复核 by pj02 agrees; the seal opened ({u['scripts']} scripts joined to their candidates); results: "
                  f"{c['candidates']} candidates, {c['passed']} passed, {c['absent']} absent (best theory {best['theory']:g} = objective + "
                  f"subjective, of 100); publicised {w['opens']} – {w['last_day']}, released on {released['released_on']}")  # fmt: skip
    admin.close()
    custodian.close()
    return step + 4

