"""Staffing, badges and supervision reports: what a sitting of realistic size costs.

    /work/venv/bin/python benchmarks/staff.py [--candidates 100,1000,3000] [--staff 1000] [--runs 7] [--db URL]

For each session size N (candidates placed in one session, N/30 theory rooms):
- assign (marker): one `assign` call putting one examiner on a marking task. A marking post is
  checked for avoidance against every candidate of the session, so this is the worst case:
  every candidate's sealed record is opened (work unit, ID number) and compared.
- assign (invigilators): two invigilators into one 30-candidate room (the common case).
- staffing: the whole session's staffing check (composition rules only, no keys).
- baseline: `show_session`, an empty read-only service call, in the same process.
Then, once:
- staff import: a --staff row xlsx roster, all-or-nothing (sealing every person's data).
- badges: issue_badges for everyone on duty; verify_badge offline per token with a revocation
  list of --staff entries (median µs).
- reports: supervision PDF, work record PDF and DOCX for the largest session.

Medians over --runs with min–max. The machine is noisy (2 cores): compare within one run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook  # noqa: E402

from examvault.accounts.service import add_user  # noqa: E402
from examvault.bank import Bank  # noqa: E402
from examvault.crypto import keyring  # noqa: E402
from examvault.crypto.signing import VerifyKey  # noqa: E402
from examvault.custody.service import institution_key  # noqa: E402
from examvault.quality.reports import write_report  # noqa: E402
from examvault.registration.identity import check_digit  # noqa: E402
from examvault.registration.service import add_candidates, add_room, create_session, show_session  # noqa: E402
from examvault.setup import init_bank  # noqa: E402
from examvault.staff.badges import issue_badges, revocation_list, verify_badge  # noqa: E402
from examvault.staff.service import assign, import_staff, staffing, set_status  # noqa: E402

PASS = "benchmark passphrase 电工"
OCC = "6-31-01-03"
EXAM = date.today() + timedelta(days=20)


def _id(n: int, born: str) -> str:
    first = f"360102{born}{n % 1000:03d}"
    return first + check_digit(first)


def _born(n: int) -> str:
    d = date(1960, 1, 1) + timedelta(days=n // 1000)
    return f"{d:%Y%m%d}"


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def fmt(t: tuple[float, float, float], unit: float = 1e3, label: str = "ms") -> str:
    return f"{t[0] * unit:9.2f} {label} (min {t[1] * unit:.2f}, max {t[2] * unit:.2f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", default="100,1000,3000")
    ap.add_argument("--staff", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.candidates.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="ev-staff-bench-"))
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    print(f"python {platform.python_version()} on {platform.machine()}, {url.split(':')[0]}; runs {args.runs}")
    init_bank(url, PASS, institution="基准测试学院", admin="admin")

    def unlock(s: Any) -> Any:
        return keyring.unlock_with_passphrase(s, PASS)

    setup = Bank.open(url, actor="admin", unlocker=unlock)
    with setup.transaction() as s:
        add_user(s, "kaowu", ["exam_admin"], "考务")
        add_user(s, "sup", ["supervisor"], "督导")
    admin, sup = Bank.open(url, actor="kaowu", unlocker=unlock), Bank.open(url, actor="sup", unlocker=unlock)
    institution_key(Bank.open(url, actor="admin", unlocker=unlock))

    # the roster: examiners with cards, invigilators, one supervisor
    wb = Workbook()
    ws = wb.active
    ws.append(["人员编号", "姓名", "证件号码", "工作单位", "人员类别", "证卡编号", "考评职业代码", "考评等级", "发证日期", "有效期至"])
    for n in range(args.staff):
        role = "考评员" if n % 2 == 0 else "监考"
        card = (f"KP-{n:06d}", OCC, "1-5", "2025-01-01", "2030-12-31") if role == "考评员" else ("", "", "", "", "")
        ws.append([f"P{n:05d}", f"人员{n}", _id(n, _born(n + 7_000_000)), f"单位{n % 50}", role, *card])
    ws.append(["D00001", "督导员", _id(999, "19700101"), "督导中心", "督导员", "DD-000001", "", "", "2025-01-01", "2030-12-31"])
    roster = tmp / "roster.xlsx"
    wb.save(roster)
    t0 = time.perf_counter()
    r = import_staff(admin, roster)
    print(f"staff import, {r['imported']} rows from xlsx: {time.perf_counter() - t0:.2f} s")

    examiners = [f"P{n:05d}" for n in range(0, args.staff, 2)]
    invigilators = [f"P{n:05d}" for n in range(1, args.staff, 2)]
    print(f"\n{'candidates':>10}  {'what':<22} median")
    largest = ""
    offset = 0
    for size in sizes:
        code = f"B{size}"
        create_session(admin, code, occupation=OCC, level=3, exam_date=EXAM)
        rooms = -(-size // 30)  # 30 a room, the last takes the rest
        for k in range(rooms):
            add_room(admin, code, f"R{k:03d}", kind="theory", capacity=30 if k < rooms - 1 else size - 30 * (rooms - 1))
        for k in range(rooms):
            count = 30 if k < rooms - 1 else size - 30 * (rooms - 1)
            rows = [{"name": f"考生{offset + i}", "id_number": _id(offset + i, _born(offset + i)), "work_unit": f"企业{i % 40}"}
                    for i in range(count)]  # fmt: skip
            offset += count
            add_candidates(admin, code, rows, room=f"R{k:03d}")
        task = iter(range(10_000))
        marker = iter(examiners)
        inv = iter(invigilators)
        room = iter(range(rooms))
        base = timed(lambda code=code: show_session(admin, code), args.runs)
        mark = timed(lambda code=code, task=task, marker=marker: assign(admin, code, "marker", [next(marker)], task=f"T{next(task)}"), args.runs)
        runs = min(args.runs, rooms)
        invig = timed(lambda code=code, inv=inv, room=room: assign(admin, code, "invigilator", [next(inv), next(inv)], room=f"R{next(room):03d}"), runs)
        staff = timed(lambda code=code: staffing(admin, code), args.runs)
        print(f"{size:>10}  {'baseline show_session':<22} {fmt(base)}")
        print(f"{size:>10}  {'assign marker':<22} {fmt(mark)}   {mark[0] / size * 1e6:.0f} µs per candidate")
        print(f"{size:>10}  {'assign 2 invigilators':<22} {fmt(invig)}   ({runs} runs)")
        print(f"{size:>10}  {'staffing check':<22} {fmt(staff)}")
        largest = code

    assign(admin, largest, "supervisor", ["D00001"])
    t0 = time.perf_counter()
    badges = issue_badges(admin, largest)
    t_issue = time.perf_counter() - t0
    on_duty = {b["staff"] for b in badges}
    for code in [c for c in invigilators if c not in on_duty][-50:]:  # people off duty: the badges stay valid
        set_status(admin, code, "suspended", "benchmark")
    crl = revocation_list(admin)
    trust = VerifyKey.parse(institution_key(Bank.open(url, actor="admin", unlocker=unlock)))
    tokens = [b["token"] for b in badges]
    per = timed(lambda: [verify_badge(t, trust, revocations=crl, on=EXAM) for t in tokens], args.runs)
    print(f"\nbadges: {len(badges)} issued in {t_issue:.2f} s; verify offline (signature, date, list of "
          f"{len(crl['list']['staff'])} people) {per[0] / len(tokens) * 1e6:.0f} µs per token, median of {args.runs}")
    for kind, name in (("supervision", "s.pdf"), ("work-record", "w.pdf"), ("work-record", "w.docx")):
        t = timed(lambda kind=kind, name=name: write_report(sup if kind == "supervision" else admin, largest, kind, tmp / name), 3)
        print(f"report {kind:<12} {name.split('.')[1]:<4} for {largest}: {fmt(t)}")


if __name__ == "__main__":
    main()
