"""Blind double marking at exam scale: a sitting of --scripts candidates, each script double-marked on
every subjective item, then 统分, 复核, unmasking and results.

    /work/venv/bin/python benchmarks/marking.py [--scripts 2000] [--db sqlite|pg] [--pg-url URL]
        [--items 5] [--disagree 0.02] [--baseline-runs 300] [--seed 7] [--profile STEPS] [--keep]

The sitting is built through the real services, as tests/scoring/test_marking.py builds it, on a
fresh bank (SQLite in a temporary directory, or a PostgreSQL schema of its own, dropped afterwards):
an outline and an item stock are imported, a level-3 paper of one form is assembled (判断 10 × 1,
单选 30 × 1, 多选 5 × 2 = 50 objective points, then --items 简答 of 10 points with four 评分要点
3 + 3 + 2 + 2 each) and approved with two signatures; the marking key is sealed to examiner-1 and
imported from the package. The plan, the registration form (an xlsx of --scripts applicants, every one
sitting the theory part; the skill part is 免考 so that results need no skill panels), the session
and its seating go through import_candidates / create_session / seat_session. The answer sheets
are a generated csv read by the real import_responses; the 密封登记 a generated csv for
seal_scripts (密封号 shuffled against ticket order). Four markers (m1–m4) and a leader mark every
item; each marker has an Ed25519 key registered as an examiner party.

Timed (time.perf_counter; medians where a step repeats):
- setup steps, once each (import_candidates, seat_session, import_responses);
- seal_scripts: one call for every script;
- mark(): every first mark of every script-item, then every second mark (2 × scripts × items calls,
  each one write transaction with an Ed25519 signature): median, p90 and marks per second; the
  --disagree share of script-items is given marks more than the threshold apart, and their third
  marks are timed apart;
- baseline, in this process on the same handle: one write transaction that loads the actor and
  writes one audit row — the bank's per-transaction floor — before and after the marking; and one
  Ed25519 signature / verification of a mark message alone;
- queue() for one marker and status(), before any mark and at the end;
- total(), check() (each re-verifies every mark's signature), unmask() and results.compute: once each.
--profile takes step names (seal, mark, queue, status, total, check, unmask, compute) and runs
those under cProfile, printing where the time goes (their figures are then inflated: marked *).
Nothing is asserted about timings; the counts returned by each step are checked.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import hashlib
import inspect
import io
import json
import os
import platform
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from examvault.accounts.service import add_user, audit  # noqa: E402
from examvault.assembly.service import approve_paper, assemble  # noqa: E402
from examvault.bank import Bank  # noqa: E402
from examvault.crypto import age, keyring  # noqa: E402
from examvault.crypto.parties import add_party  # noqa: E402
from examvault.crypto.signing import SigningKey  # noqa: E402
from examvault.db import utcnow  # noqa: E402
from examvault.export.sealing import seal_package  # noqa: E402
from examvault.itembank.outlines import import_outline  # noqa: E402
from examvault.itembank.service import import_items  # noqa: E402
from examvault.registration.candidates import import_candidates  # noqa: E402
from examvault.registration.identity import check_digit  # noqa: E402
from examvault.registration.models import Candidate, ExamSession  # noqa: E402
from examvault.registration.plan import create_plan  # noqa: E402
from examvault.registration.service import create_session  # noqa: E402
from examvault.registration.sittings import seat_session  # noqa: E402
from examvault.scoring.keys import current_key, import_key  # noqa: E402
from examvault.scoring.marking import (  # noqa: E402
    assign_markers,
    check,
    mark,
    mark_message,
    queue,
    seal_scripts,
    status,
    total,
    unmask,
)
from examvault.scoring.models import Mark  # noqa: E402
from examvault.scoring.responses import import_responses  # noqa: E402
from examvault.scoring.results import compute  # noqa: E402
from examvault.setup import init_bank  # noqa: E402

PASS = "benchmark passphrase 电工"
OCC = "6-31-01-03"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARKERS = ("m1", "m2", "m3", "m4")
LEADER = "lead"
RUBRIC = [3.0, 3.0, 2.0, 2.0]  # 评分要点 of each 10-point 简答
THRESHOLD = 0.2
FORM_HEADERS = ["姓名", "证件类型", "证件号码", "申报职业代码", "申报等级", "性别", "民族", "文化程度", "手机", "工作单位", "本职业工作年限",
                "原证书编号", "原职业", "原等级", "原证书发证日期", "申报条件", "理论知识", "操作技能", "照片"]  # fmt: skip
POINTS = ["A-A-001", "A-A-002", "A-B-001", "A-B-002", "A-B-003", "B-A-001", "B-A-002", "B-A-003"]


# ---------------------------------------------------------------- the bank's content, generated


def outline_rows() -> list[dict[str, str]]:
    """The small level-3 outline of the tests: two top ranges, three leaf ranges, eight points."""
    base = {"职业代码": OCC, "职业名称": "电工", "等级": "3", "类别": "理论"}
    ranges = [("A", "基本要求", "", "30"), ("A-A", "职业道德", "A", "10"), ("A-B", "基础知识", "A", "20"),
              ("B", "相关知识", "", "70"), ("B-A", "继电控制电路装调维修", "B", "70")]  # fmt: skip
    points = [("A-A", "A-A-001", "职业道德基本知识", "X"), ("A-A", "A-A-002", "职业守则", "Y"), ("A-B", "A-B-001", "直流电路", "X"),
              ("A-B", "A-B-002", "交流电路", "X"), ("A-B", "A-B-003", "安全用电", "Z"), ("B-A", "B-A-001", "三相异步电动机控制", "X"),
              ("B-A", "B-A-002", "低压电器", "X"), ("B-A", "B-A-003", "PLC基础", "X")]  # fmt: skip
    return [base | {"范围代码": c, "范围名称": n, "上级范围代码": p, "鉴定比重": w} for c, n, p, w in ranges] + [
        base | {"范围代码": r, "鉴定点代码": c, "鉴定点名称": n, "重要程度": i} for r, c, n, i in points
    ]


def item_rows(counts: dict[str, int]) -> list[dict[str, str]]:
    """Distinct active items spread over the outline's points (as tests/assembly/test_service.py makes them)."""
    rows, n = [], 0
    rubric = "；".join(f"要点{k}（{p:g}分）：第{k}个要点" for k, p in enumerate(RUBRIC, start=1))
    for kind, count in counts.items():
        for _ in range(count):
            n += 1
            point = POINTS[n % len(POINTS)] if n % 3 else ["B-A-001", "B-A-002", "B-A-003"][n % 3]
            row = {"题目编号": "", "职业代码": OCC, "等级": "3", "鉴定点代码": point, "题型": kind,
                   "题干": f"第{n}题：关于{kind}的基准测试题干，编号{n * 7919 % 10007}。", "选项A": "", "选项B": "", "选项C": "",
                   "选项D": "", "答案": "", "解析": "", "分值": "1", "难度": str(1 + n % 5), "来源": "国家题", "出题人": "王建国",
                   "审核人": "赵明", "互斥组": "", "母题编号": "", "图片": ""}  # fmt: skip
            if kind == "判断":
                row["答案"] = "√" if n % 2 else "×"
            elif kind == "单选":
                row |= {"答案": "ABCD"[n % 4], "选项A": f"甲{n}", "选项B": f"乙{n}", "选项C": f"丙{n}", "选项D": f"丁{n}"}
            elif kind == "多选":
                row |= {"答案": ["AB", "ACD", "BDE", "ABCDE"][n % 4], "选项A": f"子{n}", "选项B": f"丑{n}", "选项C": f"寅{n}",
                        "选项D": f"卯{n}", "选项E": f"辰{n}"}  # fmt: skip
            else:
                row |= {"答案": "答案要点见解析。", "解析": rubric, "分值": f"{sum(RUBRIC):g}"}
            rows.append(row)
    return rows


def applicant(n: int, today: date) -> list[str]:
    """A level-3 applicant qualifying by a level-4 certificate held 6 years; the skill part passed before (免考)."""
    born = date(1970, 1, 1) + timedelta(days=n % 9000)
    first = f"{['360102', '360103', '360121', '361002'][n % 4]}{born:%Y%m%d}{(n // 9000) * 2 + 1:03d}"
    row = {"姓名": f"考生{n:05d}", "证件类型": "居民身份证", "证件号码": first + check_digit(first), "申报职业代码": OCC,
           "申报等级": "三级", "性别": "男", "民族": "汉族", "文化程度": "高中", "手机": f"139{n:08d}", "工作单位": f"单位{n % 40}",
           "本职业工作年限": "8", "原证书编号": f"Z{n:07d}", "原职业": OCC, "原等级": "四级",
           "原证书发证日期": (today - timedelta(days=6 * 366)).isoformat(), "理论知识": "", "操作技能": "免考"}  # fmt: skip
    return [row.get(h, "") for h in FORM_HEADERS]


def answer(rng: random.Random, item: dict[str, Any], right: bool) -> str:
    key = str(item["answer"])
    if right:
        return key
    if item["type"] == "判断":
        return "√" if key == "×" else "×"
    letters = "ABCDE"[: int(item.get("options") or 4)]
    if item["type"] == "单选":
        return rng.choice([x for x in letters if x != key])
    wrong = "".join(sorted(rng.sample(letters, rng.randrange(1, len(letters)))))
    return wrong if wrong != key else letters[0]


def marks_for(rng: random.Random, maxima: list[float], quality: float) -> list[float]:
    """A marker's points per marking point, in halves, for an answer of the given quality."""
    return [min(m, max(0.0, round(m * min(1.0, max(0.0, rng.gauss(quality, 0.15))) * 2) / 2)) for m in maxima]


def near(rng: random.Random, marks: list[float], maxima: list[float]) -> list[float]:
    """An independent marker who differs by at most half a point on one marking point (agrees within 20 %)."""
    out = list(marks)
    k = rng.randrange(len(out))
    out[k] = min(maxima[k], max(0.0, out[k] + rng.choice([-0.5, 0.0, 0.5])))
    return out


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


# ---------------------------------------------------------------- timing


class Timer:
    def __init__(self, profile: set[str], top: int) -> None:
        self.profile, self.top = profile, top
        self.rows: list[tuple[str, str, str]] = []
        self.profiles: dict[str, cProfile.Profile] = {}

    def prof(self, step: str) -> cProfile.Profile | None:
        if step not in self.profile:
            return None
        return self.profiles.setdefault(step, cProfile.Profile())

    def once(self, step: str, label: str, fn: Callable[[], Any]) -> tuple[float, Any]:
        p = self.prof(step)
        start = time.perf_counter()
        if p is not None:
            p.enable()
        try:
            result = fn()
        finally:
            if p is not None:
                p.disable()
        took = time.perf_counter() - start
        self.add(label + (" *" if p is not None else ""), took, "s")
        return took, result

    def calls(self, step: str, fns: list[Callable[[], Any]]) -> tuple[list[float], float]:
        """Each call timed alone; the wall time of the whole loop."""
        p = self.prof(step)
        times = []
        loop = time.perf_counter()
        for fn in fns:
            start = time.perf_counter()
            if p is not None:
                p.enable()
            fn()
            if p is not None:
                p.disable()
            times.append(time.perf_counter() - start)
        return times, time.perf_counter() - loop

    def add(self, label: str, value: float, unit: str) -> None:
        if unit == "s":
            shown = f"{value:.3f}"
        elif unit == "ms":
            shown = f"{value * 1000:.2f}"
        elif unit == "µs":
            shown = f"{value * 1e6:.1f}"
        elif unit in ("×", "%"):
            shown = f"{value:.2f}"
        else:
            shown = f"{value:,.0f}"
        self.rows.append((label, shown, unit))

    def table(self) -> str:
        w = max(len(r[0]) for r in self.rows) + 2
        lines = [f"{'step':<{w}}{'figure':>12}  unit", "-" * (w + 20)]
        lines += [f"{label:<{w}}{shown:>12}  {unit}" if label else "" for label, shown, unit in self.rows]
        return "\n".join(lines)

    def dump_profiles(self, out_dir: Path) -> None:
        for step, p in self.profiles.items():
            path = out_dir / f"marking-{step}.prof"
            p.dump_stats(path)
            for key in ("cumulative", "tottime"):
                buf = io.StringIO()
                pstats.Stats(p, stream=buf).strip_dirs().sort_stats(key).print_stats(self.top)
                print(f"\n==== cProfile {step}, by {key} (saved to {path}) ====")
                print("\n".join(line for line in buf.getvalue().splitlines() if line.strip())[:12000])
            buf = io.StringIO()
            pstats.Stats(p, stream=buf).sort_stats("cumulative").print_stats(r"scoring/marking\.py|scoring/results\.py", self.top)
            print(f"\n==== cProfile {step}: examvault/scoring/marking.py and results.py only ====")
            print("\n".join(line for line in buf.getvalue().splitlines() if line.strip()))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------- the bench


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scripts", type=int, default=2000, help="candidates who wrote the paper, one script each (default 2000)")
    ap.add_argument("--db", choices=("sqlite", "pg"), default="sqlite")
    ap.add_argument("--pg-url", default=os.environ.get("EXAMVAULT_BENCH_PG_URL", PG_URL))
    ap.add_argument("--items", type=int, default=5, help="subjective items (10 points, marking points 3+3+2+2)")
    ap.add_argument("--disagree", type=float, default=0.02, help="share of script-items whose two marks disagree (→ a third mark)")
    ap.add_argument("--baseline-runs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--profile", default="", help="comma-separated steps to run under cProfile")
    ap.add_argument("--top", type=int, default=25, help="rows of each cProfile listing")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory / PostgreSQL schema")
    args = ap.parse_args()
    profile = {s.strip() for s in args.profile.split(",") if s.strip()}
    n_scripts, n_items = args.scripts, args.items
    tmp = Path(tempfile.mkdtemp(prefix="ev-marking-bench-"))
    schema = None
    if args.db == "pg":
        schema = f"bench_marking_{uuid.uuid4().hex[:10]}"
        engine = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        url = f"{args.pg_url}{'&' if '?' in args.pg_url else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp / 'bank.db'}"
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    source = Path(__file__).resolve().parent.parent / "examvault" / "scoring" / "marking.py"
    print(f"examvault/scoring/marking.py sha256 {hashlib.sha256(source.read_bytes()).hexdigest()[:12]}")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs ({cpus} usable); "
          f"{args.db} ({url.split('?')[0]}{', schema ' + schema if schema else ''})")  # fmt: skip
    handles: dict[str, Bank] = {}
    try:
        run(args, url, tmp, handles, profile, n_scripts, n_items)
    finally:
        for b in handles.values():
            b.close()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
            if schema:
                engine = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
                with engine.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                engine.dispose()
        else:
            print(f"kept {tmp}" + (f" and schema {schema}" if schema else ""))


def run(args: argparse.Namespace, url: str, tmp: Path, handles: dict[str, Bank], profile: set[str], n_scripts: int, n_items: int) -> None:
    rng = random.Random(args.seed)
    T = Timer(profile, args.top)
    today = date.today()
    year = today.year + 1
    session_code = f"{year}-05-电工-3-阅卷"

    def unlock(s: Any) -> Any:
        return keyring.unlock_with_passphrase(s, PASS)

    def bank(user: str) -> Bank:  # one handle per user: each new handle unlocks the bank again
        if user not in handles:
            handles[user] = Bank.open(url, actor=user, unlocker=unlock)
        return handles[user]

    setup_start = time.perf_counter()
    init_bank(url, PASS, institution="基准测试技师学院", admin="admin")
    with bank("admin").transaction() as s:
        add_user(s, "cust", ["custodian", "author"], "题库管理员")
        add_user(s, "appr", ["approver"], "审批人一")
        add_user(s, "appr2", ["approver"], "审批人二")
        add_user(s, "kaowu", ["exam_admin"], "考务")
        for name in (*MARKERS, LEADER):
            add_user(s, name, ["examiner"], f"评卷员{name}")
    admin = bank("kaowu")

    # the paper: outline, stock, one form assembled and approved with two signatures
    (tmp / "outline.json").write_text(json.dumps(outline_rows(), ensure_ascii=False), "utf-8")
    import_outline(bank("cust"), tmp / "outline.json")
    stock = item_rows({"判断": 30, "单选": 90, "多选": 16, "简答": 3 * n_items})
    (tmp / "stock.json").write_text(json.dumps(stock, ensure_ascii=False), "utf-8")
    import_items(bank("cust"), tmp / "stock.json", activate=True)
    sections = [{"type": "判断", "count": 10, "points": 1}, {"type": "单选", "count": 30, "points": 1},
                {"type": "多选", "count": 5, "points": 2}, {"type": "简答", "count": n_items, "points": sum(RUBRIC)}]  # fmt: skip
    blueprint = {"id": f"{OCC}/3/theory/MARK", "occupation": OCC, "level": 3, "title": "电工（三级）理论知识考试试卷（含主观题）",
                 "total_points": 50 + n_items * sum(RUBRIC), "forms": ["A"], "max_overlap": 0.5, "allow_subjective": True,
                 "sections": sections, "content": {"from_outline": True, "tolerance": 0.15}, "importance": {"X": ">=0.5"},
                 "difficulty": {"mean": [2.0, 4.0]}}  # fmt: skip
    (tmp / "bp.yaml").write_text(yaml.safe_dump(blueprint, allow_unicode=True), "utf-8")
    (paper,) = assemble(bank("cust"), str(tmp / "bp.yaml"), seed=5)
    for name in ("appr", "appr2"):
        key = SigningKey.generate(name)
        add_party(bank("admin"), name, "approver", recipient=None, verify_key=str(key.verify_key))
        approve_paper(bank(name), paper["id"], signer=key)

    # parties: examiner-1 receives the marking key; each marker signs with a key of their own
    signers: dict[str, SigningKey] = {}
    (tmp / "keys").mkdir()
    for name in ("examiner-1", *MARKERS, LEADER):
        identity, key = age.Identity.generate(), SigningKey.generate(name)
        (tmp / "keys" / f"{name}.age-key").write_text(identity.file_text(), "utf-8")
        add_party(bank("admin"), name, "examiner", recipient=str(identity.recipient()), verify_key=str(key.verify_key))
        signers[name] = key

    # the plan, the registration form, the session and its seating
    plan = {"year": year, "window": {"open": (today - timedelta(days=1)).isoformat(), "close": (today + timedelta(days=30)).isoformat()},
            "evaluation": {"kind": "S", "institution_code": "0001", "province": "36"},
            "sites": [{"code": "360101", "name": "基准考点"}], "occupations": [{"code": OCC, "levels": [3], "fees": {"3": 250}}]}  # fmt: skip
    (tmp / "plan.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True), "utf-8")
    create_plan(admin, tmp / "plan.yaml")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("报名表")
    ws.append(FORM_HEADERS)
    for n in range(n_scripts):
        ws.append(applicant(n, today))
    wb.save(tmp / "报名表.xlsx")
    t_reg, reg = T.once("setup", f"setup: import_candidates ({n_scripts} rows, xlsx)", lambda: import_candidates(admin, year, tmp / "报名表.xlsx"))
    assert (reg["registered"], reg["accepted"]) == (n_scripts, n_scripts), {k: v for k, v in reg.items() if k != "candidates"}
    create_session(admin, session_code, occupation=OCC, level=3, exam_date=today - timedelta(days=10), plan_year=year, site_code="360101",
                   papers=[paper["code"]], times={"theory": "09:00-11:00", "skill": "13:30-16:30"})  # fmt: skip
    _, seated = T.once("setup", "setup: seat_session", lambda: seat_session(admin, session_code))
    assert seated["seated"] == n_scripts, seated
    with admin.transaction() as s:
        exam_id = s.scalars(select(ExamSession.id).where(ExamSession.code == session_code)).one()
        tickets = sorted(s.scalars(select(Candidate.ticket).where(Candidate.session_id == exam_id)))
    assert len(tickets) == n_scripts

    # the marking key, sealed to examiner-1 after the exam and imported from the package
    now = utcnow()
    sealed = seal_package(bank("cust"), paper["id"], kind="marking-key", to=["examiner-1"], not_before=now - timedelta(hours=1),
                          expires=now + timedelta(days=7), out_dir=tmp / "packages")  # fmt: skip
    import_key(admin, Path(sealed["file"]), identity=tmp / "keys" / "examiner-1.age-key", session_code=session_code)
    with admin.transaction() as s:
        items = sorted(current_key(s, admin.keyring(s), paper["code"])[1]["items"], key=lambda i: int(i["number"]))
    objective = [i for i in items if "marking_points" not in i]
    subjective = [i for i in items if "marking_points" in i]
    assert len(subjective) == n_items and all(i["marking_points"] == RUBRIC for i in subjective), subjective
    numbers = [int(i["number"]) for i in subjective]

    # the answer sheets (objective part) and the 密封登记 of the booklets
    quality: dict[str, float] = {}
    codes = [str(c) for c in rng.sample(range(100000, 999999), n_scripts)]
    sheet, seals = [], []
    for ticket, code in zip(tickets, codes, strict=True):
        ability = min(0.95, max(0.3, rng.gauss(0.7, 0.12)))
        sheet.append([ticket, "A", *(answer(rng, i, rng.random() < ability) for i in objective)])
        seals.append([ticket, "A", code])
        quality[code] = ability
    write_csv(tmp / "答题卡.csv", ["准考证号", "卷别", *(str(i["number"]) for i in objective)], sheet)
    write_csv(tmp / "密封登记.csv", ["准考证号", "卷别", "密封号"], seals)
    _, resp = T.once("setup", f"setup: import_responses ({n_scripts} sheets × {len(objective)} items)",
                     lambda: import_responses(admin, session_code, tmp / "答题卡.csv"))  # fmt: skip
    assert resp["candidates"] == n_scripts, resp
    setup_total = time.perf_counter() - setup_start
    T.add("setup: whole sitting, bank init to responses", setup_total, "s")
    T.add("", 0, "")

    # ---------------------------------------------------------------- sealing, assigning

    _, r = T.once("seal", f"seal_scripts ({n_scripts} scripts, one call)", lambda: seal_scripts(admin, session_code, tmp / "密封登记.csv"))
    assert r["scripts"] == n_scripts, r
    assign_markers(admin, session_code, numbers, markers=list(MARKERS), leader=LEADER, threshold=THRESHOLD)
    # queue() may take `limit` (the first entries only, the default a marker gets); time the default and, if it
    # takes one, the whole queue (limit=None) too
    limit = inspect.signature(queue).parameters.get("limit")
    default = limit.default if limit is not None else None
    full = {"limit": None} if limit is not None else {}
    _, q0 = T.once("queue", f"queue(m1) before marking, all {n_scripts * n_items} entries",
                   lambda: queue(bank("m1"), session_code, **full))  # fmt: skip
    assert len(q0) == n_scripts * n_items, len(q0)
    if limit is not None:
        _, q0 = T.once("queue", f"queue(m1) before marking, default limit={default}", lambda: queue(bank("m1"), session_code))
        assert len(q0) == min(default, n_scripts * n_items), len(q0)
    _, st0 = T.once("status", "status() before marking", lambda: status(admin, session_code))
    assert sum(i["first"] for i in st0["items"]) == n_scripts * n_items

    # ---------------------------------------------------------------- baselines

    mb = bank("m1")

    def floor_txn() -> None:
        with mb.transaction(write=True) as s:
            actor = mb.actor(s, "marking.mark")
            audit(s, actor, "bench.baseline", "exam_session", session_code)

    def baseline(label: str) -> float:
        for _ in range(10):  # warm up the connection pool and caches
            floor_txn()
        times, _ = T.calls("baseline", [floor_txn] * args.baseline_runs)
        med = statistics.median(times)
        T.add(f"baseline write txn (actor + 1 audit row), {label}: median", med, "ms")
        T.add(f"baseline write txn, {label}: p90", pct(times, 0.9), "ms")
        return med

    base_before = baseline("before marking")
    probe = Mark(number=numbers[0], marker="m1", role="first", points=RUBRIC, total=sum(RUBRIC), reason="", marked_at=now.replace(microsecond=0))
    message = mark_message(session_code, codes[0], paper["code"], numbers[0], probe, None)
    sign_times = []
    for _ in range(1000):
        start = time.perf_counter()
        sig = signers["m1"].sign("mark", message)
        sign_times.append(time.perf_counter() - start)
    vk = signers["m1"].verify_key
    verify_times = []
    for _ in range(1000):
        start = time.perf_counter()
        vk.verify("mark", message, sig)
        verify_times.append(time.perf_counter() - start)
    T.add("Ed25519 sign of one mark message: median", statistics.median(sign_times), "µs")
    T.add("Ed25519 verify of one mark message: median", statistics.median(verify_times), "µs")
    T.add("", 0, "")

    # ---------------------------------------------------------------- double marking

    plan_marks: list[tuple[str, int, list[float], list[float], list[float] | None, int]] = []  # code, number, first, second, third, k
    k = 0
    for code in codes:
        for item in subjective:
            maxima = [float(x) for x in item["marking_points"]]
            if rng.random() < args.disagree:  # one marker gives full marks, the other half of each point: to a third marker
                first, second = maxima, [int(m) / 2 for m in maxima]
                third: list[float] | None = near(rng, first, maxima)
            else:
                first = marks_for(rng, maxima, quality[code])
                second, third = near(rng, first, maxima), None
            plan_marks.append((code, int(item["number"]), first, second, third, k))
            k += 1

    def marker(k: int, offset: int) -> str:
        return MARKERS[(k + offset) % len(MARKERS)]

    def call(code: str, number: int, points: list[float], who: str) -> Callable[[], Any]:
        return lambda: mark(bank(who), session_code, code, number, points, signer=signers[who])

    for who in MARKERS:
        bank(who)  # unlocked handles before timing (a handle's first transaction checks the schema)
    firsts = [call(code, n, f, marker(k, 0)) for code, n, f, _s, _t, k in plan_marks]
    seconds = [call(code, n, s_, marker(k, 1)) for code, n, _f, s_, _t, k in plan_marks]
    thirds = [call(code, n, t, marker(k, 2)) for code, n, _f, _s, t, k in plan_marks if t is not None]
    first_times, first_wall = T.calls("mark", firsts)
    _, mid_queue = T.once("queue", "queue(m1) after the first marks, all", lambda: queue(bank("m1"), session_code, **full))
    if limit is not None:
        T.once("queue", f"queue(m1) after the first marks, limit={default}", lambda: queue(bank("m1"), session_code))
    second_times, second_wall = T.calls("mark", seconds)
    third_times, third_wall = T.calls("mark", thirds) if thirds else ([], 0.0)
    both = first_times + second_times
    label = "*" if "mark" in profile else ""
    T.add(f"mark(): {len(both)} first+second marks, median{label}", statistics.median(both), "ms")
    T.add(f"mark(): first+second, p90{label}", pct(both, 0.9), "ms")
    T.add(f"mark(): first+second, max{label}", max(both), "ms")
    T.add(f"mark(): first marks ({len(first_times)}), median{label}", statistics.median(first_times), "ms")
    T.add(f"mark(): second marks ({len(second_times)}), median{label}", statistics.median(second_times), "ms")
    T.add(f"mark(): first 1000 calls, median{label}", statistics.median(first_times[:1000]), "ms")
    T.add(f"mark(): last 1000 calls, median{label}", statistics.median(second_times[-1000:]), "ms")
    if third_times:
        T.add(f"mark(): third marks ({len(third_times)}), median{label}", statistics.median(third_times), "ms")
    T.add(f"mark(): throughput, first+second loop wall{label}", len(both) / (first_wall + second_wall), "marks/s")
    T.add(f"mark(): wall of all {len(both) + len(third_times)} marks{label}", first_wall + second_wall + third_wall, "s")
    base_after = baseline("after marking")
    base = statistics.median([base_before, base_after])
    T.add("mark() median / baseline median (mean of before, after)", statistics.median(both) / base, "×")
    T.add("mark() median − baseline median", statistics.median(both) - base, "ms")
    T.add("", 0, "")

    # ---------------------------------------------------------------- queue, status, 统分, 复核, unmasking, results

    _, q1 = T.once("queue", "queue(m1) at the end (nothing left)", lambda: queue(bank("m1"), session_code, **full))
    assert q1 == [], q1[:3]
    _, st1 = T.once("status", "status() at the end", lambda: status(admin, session_code))
    assert sum(i["settled"] for i in st1["items"]) == n_scripts * n_items, st1["items"]
    with admin.transaction() as s:
        n_marks = s.scalar(select(func.count()).select_from(Mark))
    _, t = T.once("total", f"total() — {n_marks} signatures verified", lambda: total(bank("m1"), session_code, signer=signers["m1"]))
    assert t["scripts"] == n_scripts, t
    _, c = T.once("check", "check() — the same, by m2", lambda: check(bank("m2"), session_code, signer=signers["m2"]))
    assert c["checked"], c
    _, u = T.once("unmask", f"unmask() — {n_scripts} seals opened, sheets resealed", lambda: unmask(admin, session_code))
    assert u["scripts"] == n_scripts, u
    _, res = T.once("compute", f"results.compute ({n_scripts} candidates)", lambda: compute(admin, session_code))
    assert res["candidates"] == n_scripts, res

    print(f"sitting: {n_scripts} scripts of {paper['code']} ({len(objective)} objective items + {n_items} 简答 of "
          f"{sum(RUBRIC):g} points, 评分要点 {'+'.join(f'{p:g}' for p in RUBRIC)}); markers {', '.join(MARKERS)}, leader {LEADER}, "
          f"threshold {THRESHOLD:.0%}; {len(thirds)} script-items to a third marker; {n_marks} mark rows; "
          f"mean subjective {t['mean']:.2f}; {res['passed']} of {res['candidates']} passed")  # fmt: skip
    print(f"queue(m1) after the first marks held {len(mid_queue)} entries")
    print()
    print(T.table())
    print()
    print("command: " + " ".join([sys.executable, *sys.argv]))
    if T.profiles:
        T.dump_profiles(Path(tempfile.gettempdir()))


if __name__ == "__main__":
    main()
