"""Assembly end to end on a real bank: `paper assemble` for target (a) of issue 3.

    python benchmarks/assembly_bank.py [--items 100000] [--eligible 5000] [--runs 5]

A level-3 paper (判断 40 × 0.5 + 单选 140 × 0.5 + 多选 10 × 1) with forms A and B at
≤ 10 % overlap, from a bank of 100,000 encrypted items of which 5,000 are eligible
(active); the other 95,000 are drafts. The outline has 5 top-level ranges and 40
weighted sub-ranges, constrained at both depths, plus X/Y/Z, a difficulty band,
exposure (10 % of the active items were used recently and are ruled out) and enemy
pairs. Target: median ≤ 1 s for the solve.

Printed: the whole service call (`assemble`: reading the blueprint, loading the pool
from the bank, building and solving the model, laying out and storing both papers,
auditing) and its parts, as medians over runs with different seeds. The baseline,
measured in the same process, is loading the eligible pool alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).parent))

import yaml  # noqa: E402
from bench_itembank import CHARS, HEADERS, OCC, PASS, typed_fields  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from examvault.accounts.service import add_user  # noqa: E402
from examvault.assembly import model  # noqa: E402
from examvault.assembly.blueprint import load_blueprint  # noqa: E402
from examvault.assembly.models import Assembly  # noqa: E402
from examvault.assembly.service import assemble, bank_context, build_pool, show_paper  # noqa: E402
from examvault.bank import Bank  # noqa: E402
from examvault.crypto import keyring  # noqa: E402
from examvault.db import utcnow  # noqa: E402
from examvault.itembank.models import Item  # noqa: E402
from examvault.itembank.outlines import import_outline  # noqa: E402
from examvault.itembank.service import import_items  # noqa: E402
from examvault.setup import init_bank  # noqa: E402

TOPS = "ABCDE"
SUBS = "ABCDEFGH"


def outline_rows(rng: random.Random) -> tuple[list[dict[str, str]], list[str]]:
    base = {"职业代码": OCC, "职业名称": "电工", "等级": "3", "类别": "理论"}
    rows: list[dict[str, str]] = []
    points: list[str] = []
    top_weights = [15, 20, 25, 20, 20]
    for t, tw in zip(TOPS, top_weights, strict=True):
        rows.append(base | {"范围代码": t, "范围名称": f"范围{t}", "鉴定比重": str(tw)})
        cuts = sorted(rng.sample(range(1, tw * 4), len(SUBS) - 1))  # sub-weights in quarter percents
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, tw * 4], strict=True)]
        for s, q in zip(SUBS, parts, strict=True):
            code = f"{t}-{s}"
            rows.append(base | {"范围代码": code, "范围名称": f"子范围{code}", "上级范围代码": t, "鉴定比重": f"{q / 4:g}"})
            for k in range(1, 4):
                imp = "X" if rng.random() < 0.8 else ("Y" if rng.random() < 0.75 else "Z")
                rows.append(base | {"范围代码": code, "鉴定点代码": f"{code}-{k:03d}", "鉴定点名称": f"鉴定点{code}{k}", "重要程度": imp})
                points.append(f"{code}-{k:03d}")
    return rows, points


def item_rows(n: int, points: list[str], weights: dict[str, float], rng: random.Random, *, reviewed: bool, start: int) -> list[dict[str, str]]:
    out = []
    point_weights = [weights[p.rsplit("-", 1)[0]] for p in points]
    for i in range(start, start + n):
        point = rng.choices(points, point_weights)[0]
        stem = "".join(rng.choice(CHARS) for _ in range(rng.randint(28, 60)))
        diff = min(5, max(1, round(rng.gauss(3, 1))))
        row = {h: "" for h in HEADERS} | {"职业代码": OCC, "等级": "3", "鉴定点代码": point, "难度": str(diff), "来源": "国家题",
                                           "出题人": "王建国", "审核人": "赵明" if reviewed else "", "解析": "依据相关标准。",
                                           "互斥组": f"E{i // 2}" if i % 20 < 2 else ""}  # fmt: skip
        out.append(row | typed_fields(rng, stem, rng.random(), 0.3, 0.88))
    return out


BLUEPRINT = {
    "id": "bench/3/theory/A", "occupation": OCC, "level": 3, "title": "电工（三级）理论知识考试试卷", "total_points": 100,
    "forms": ["A", "B"], "max_overlap": 0.10,
    "sections": [{"type": "判断", "count": 40, "points": 0.5}, {"type": "单选", "count": 140, "points": 0.5},
                 {"type": "多选", "count": 10, "points": 1}],
    "content": {"from_outline": True, "depth": [1, 2], "tolerance": 0.02},
    "importance": {"X": ">=0.80", "Y": "<=0.15", "Z": "<=0.05"},
    "difficulty": {"mean": [2.6, 3.2]},
    "exposure": {"exclude_used_within_days": 365, "max_uses": 5},
}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--eligible", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(2026)
    work = Path(tempfile.mkdtemp(prefix="ev-asm-"))
    url = f"sqlite:///{work / 'bank.db'}"
    init_bank(url, PASS, institution="bench", admin="admin")

    def bank(user: str) -> Bank:
        return Bank.open(url, actor=user, unlocker=lambda s: keyring.unlock_with_passphrase(s, PASS))

    with bank("admin").transaction() as s:
        add_user(s, "cust", ["custodian", "author"], "bench")
    cust = bank("cust")
    rows, points = outline_rows(rng)
    (work / "outline.json").write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    import_outline(cust, work / "outline.json")
    weights = {r["范围代码"]: float(r["鉴定比重"]) for r in rows if r.get("上级范围代码")}
    t0 = time.perf_counter()
    active_path = work / "active.json"
    active_path.write_text(json.dumps(item_rows(args.eligible, points, weights, rng, reviewed=True, start=0), ensure_ascii=False), "utf-8")
    import_items(cust, active_path, activate=True)
    rest = args.items - args.eligible
    for k in range(0, rest, 20_000):
        path = work / f"draft{k}.json"
        path.write_text(json.dumps(item_rows(min(20_000, rest - k), points, weights, rng, reviewed=False, start=args.eligible + k), ensure_ascii=False), "utf-8")
        import_items(cust, path)
        path.unlink()
    print(f"bank: {args.items:,} items, {args.eligible:,} active (built in {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    with cust.transaction() as s:  # exposure history: 10 % of the active items were used recently
        ids = list(s.scalars(select(Item.id).where(Item.status == "active")))
        used = rng.sample(ids, len(ids) // 10)
        s.execute(update(Item).where(Item.id.in_(used)).values(usage_count=1, last_used_at=utcnow() - timedelta(days=30)))
    bp_path = work / "blueprint.yaml"
    bp_path.write_text(yaml.safe_dump(BLUEPRINT, allow_unicode=True), "utf-8")
    bp = load_blueprint(bp_path)

    totals, solves, loads = [], [], []
    strategies = set()
    pool_size = excluded = 0
    for run in range(args.runs):
        with cust.transaction() as s:  # the baseline: reading the eligible pool alone
            context = bank_context(s, bp)
            t = time.perf_counter()
            pool = build_pool(s, bp, context, utcnow())
            loads.append(time.perf_counter() - t)
            pool_size, excluded = len(pool.items), sum(pool.excluded.values())
        t = time.perf_counter()
        papers = assemble(cust, str(bp_path), seed=1000 + run)
        totals.append(time.perf_counter() - t)
        with cust.transaction() as s:
            a = s.scalars(select(Assembly).order_by(Assembly.created_at.desc()).limit(1)).one()
            solves.append(a.seconds)
            strategies.add(a.strategy)
        a_items = {i["item_id"] for i in show_paper(cust, papers[0]["id"])["items"]}
        b_items = {i["item_id"] for i in show_paper(cust, papers[1]["id"])["items"]}
        print(f"run {run + 1}: assemble {totals[-1]:.3f} s (solve {solves[-1]:.3f} s), shared items {len(a_items & b_items)}", file=sys.stderr)

    def fig(values: list[float]) -> str:
        return f"median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f})"

    print(f"machine: {os.cpu_count()} cores, {model.SOLVER}")
    print(f"(a) level-3 A/B, 190 items each, ≤10 % overlap; bank {args.items:,} items, {args.eligible:,} active, "
          f"{excluded} ruled out by exposure → pool {pool_size}; strategy {', '.join(sorted(strategies))}")  # fmt: skip
    print(f"    solve (HiGHS, both forms in one model): {fig(solves)}   target ≤ 1 s: {'PASS' if statistics.median(solves) <= 1 else 'FAIL'}")
    print(f"    whole `paper assemble` service call:     {fig(totals)}")
    print(f"    baseline, loading the pool alone:        {fig(loads)}")
    cust.close()


if __name__ == "__main__":
    main()
