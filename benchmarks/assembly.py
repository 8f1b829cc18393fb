"""Paper assembly performance: the MIP against the targets, beside rejection sampling.

    /work/venv/bin/python benchmarks/assembly.py [--runs 5] [--scenarios a,b,c] [--quick] [--skip-monolithic]

Targets (issue text), each the median wall time of `model.solve` over --runs seeds:
- (a) a level-3 paper, 判断 40 × 0.5 + 单选 140 × 0.5 + 多选 10 × 1 = 100 points, forms A and B
  (max_overlap 0.10), from a 100,000-item bank of which 5,000 are eligible; ~45 outline ranges
  (depths 1 and 2), X/Y/Z shares, a difficulty mean band, an exposure rule applied before the pool
  is built, enemy pairs: <= 1 s;
- (b) 10 forms × 50 items from 3,000, ±5 % difficulty and information bands, no overlap, enemies
  and 4-item 组合 sets drawn as testlets in the 单选 section: <= 3 s;
- (c) 20 forms × 60 items from 10,000, the same kinds of rule: <= 15 s. The monolithic model
  (all forms in one MIP) is timed once beside it, capped at 120 s, as the baseline.
(b) and (c) also hold the top-level outline ranges to ±3 % and X >= 0.80, Y <= 0.15, Z <= 0.05,
as a real blueprint would.

Pure: no database. The banks are synthetic and deterministic (numpy, fixed seed). Every solved
form is checked by a checker written here from the PoolItems, independent of `model.build_rows`.
The rejection-sampling column draws each section's units uniformly at random (counts only; a
组合 set is one unit) and reports the share of draws that meet every single-form rule: what
the solver buys. Setup (build_units + build_rows) is reported apart from the solve.

A full run takes about 5 minutes on 2 cores, most of it the monolithic baseline of (c); use
--skip-monolithic or --quick (1 run, 200 draws, baseline capped at 15 s) for a smoke check.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy  # noqa: E402

from examvault.assembly import model  # noqa: E402
from examvault.assembly.blueprint import Blueprint, parse_blueprint  # noqa: E402
from examvault.assembly.pool import Pool, PoolItem, RangeWeight, Unit, build_units  # noqa: E402
from examvault.itembank import domain  # noqa: E402

BANK_SEED = 20240611
AS_OF = "2025-06-01T00:00:00+00:00"
OCC = "6-31-01-03"
TOP_NAMES = ("职业道德", "基础知识", "专业知识", "安全文明生产", "相关法律法规")
SLACK = 1e-6


# ---------------------------------------------------------------- synthetic banks


def integer_split(total: int, probs: np.ndarray, minimum: int) -> list[int]:
    """Whole percentages summing to total, each >= minimum, by largest remainder."""
    spare = total - minimum * len(probs)
    raw = probs / probs.sum() * spare
    out = np.floor(raw).astype(int)
    for k in np.argsort(-(raw - out))[: spare - int(out.sum())]:
        out[k] += 1
    return [int(v) + minimum for v in out]


@dataclass
class Outline:
    ranges: list[RangeWeight]
    subs: list[RangeWeight]  # depth 2, the ranges items sit in
    parent: dict[str, str]  # sub code → top code
    points: dict[str, list[tuple[str, str]]]  # sub code → [(point code, importance)]


def make_outline(rng: np.random.Generator, tops: int = 5, subs: tuple[int, int] = (6, 10)) -> Outline:
    top_w = integer_split(100, rng.dirichlet(np.full(tops, 2.0)), minimum=12)
    ranges: list[RangeWeight] = []
    sub_ranges: list[RangeWeight] = []
    parent: dict[str, str] = {}
    points: dict[str, list[tuple[str, str]]] = {}
    for i, w in enumerate(top_w):
        code = "ABCDEFGH"[i]
        ranges.append(RangeWeight(code, TOP_NAMES[i % len(TOP_NAMES)], 1, float(w)))
        k = int(rng.integers(subs[0], subs[1] + 1))
        for j, sw in enumerate(integer_split(w, rng.dirichlet(np.full(k, 2.5)), minimum=1)):
            sub = RangeWeight(f"{code}-{j + 1:02d}", f"{TOP_NAMES[i % len(TOP_NAMES)]}{j + 1}", 2, float(sw))
            ranges.append(sub)
            sub_ranges.append(sub)
            parent[sub.code] = code
            n_points = int(rng.integers(3, 8))
            imp = rng.choice(["X", "Y", "Z"], size=n_points, p=[0.80, 0.15, 0.05])
            points[sub.code] = [(f"{sub.code}-{p + 1:03d}", str(imp[p])) for p in range(n_points)]
    return Outline(ranges, sub_ranges, parent, points)


@dataclass
class Bank:
    pool: Pool
    notes: list[str] = field(default_factory=list)


def make_items(rng: np.random.Generator, outline: Outline, n: int, type_share: dict[str, float], bank_points: dict[str, float],
               *, stats: bool, prefix: str, n_sets: int = 0) -> tuple[list[PoolItem], int, int]:  # fmt: skip
    """n scorable items (set children included) plus n_sets 组合 parents; ~10% of items in enemy pairs."""
    weights = np.array([s.weight for s in outline.subs]) * rng.lognormal(0, 0.25, len(outline.subs))
    weights /= weights.sum()
    types = list(type_share)
    tprob = np.array([type_share[t] for t in types])
    singles = n - 4 * n_sets
    sub_idx = rng.choice(len(outline.subs), size=n, p=weights)
    type_idx = rng.choice(len(types), size=n, p=tprob / tprob.sum())
    diff = np.clip(np.rint(rng.normal(3.0, 0.9, n)), 1, 5).astype(int)
    # p-value follows the planned difficulty, with noise; point-biserial discrimination ~0.4.
    planned = np.array([0.0, 0.9, 0.7, 0.5, 0.3, 0.1])
    pval = np.clip(planned[diff] * 0.6 + 0.2 + rng.normal(0, 0.08, n), 0.08, 0.95)
    disc = np.clip(rng.normal(0.40, 0.13, n), 0.08, 0.80)
    point_pick = rng.random(n)
    # Enemies: ~10% of the scorable items, paired within their sub-range (same topic).
    chosen = rng.permutation(n)[: n // 10]
    by_sub: dict[int, list[int]] = {}
    for k in chosen:
        by_sub.setdefault(int(sub_idx[k]), []).append(int(k))
    enemy: dict[int, str] = {}
    pairs = 0
    for members in by_sub.values():
        for a, b in zip(members[0::2], members[1::2], strict=False):
            pairs += 1
            enemy[a] = enemy[b] = f"{prefix}E{pairs:05d}"
    items: list[PoolItem] = []
    for k in range(n):
        in_set = k >= singles
        s = set_no = None
        if in_set:
            set_no = (k - singles) // 4
            s = singles + 4 * set_no  # the set's first child fixes its topic
        sub = outline.subs[int(sub_idx[s if s is not None else k])]
        pts = outline.points[sub.code]
        point, importance = pts[int(point_pick[s if s is not None else k] * len(pts))]
        kind = "单选" if in_set else types[int(type_idx[k])]
        items.append(PoolItem(
            id=f"{prefix}-{k:06d}", code=f"{prefix}{k:06d}", version=1, type=kind, points=bank_points[kind],
            difficulty=int(diff[k]), p=round(float(pval[k]), 3) if stats else None,
            discrimination=round(float(disc[k]), 3) if stats else None, point_code=point,
            ranges=(outline.parent[sub.code], sub.code), importance=importance, enemy_group=enemy.get(k),
            parent=f"{prefix}S{set_no:05d}" if in_set else None, source="国家题", uses=0,
        ))  # fmt: skip
    for set_no in range(n_sets):
        kids = items[singles + 4 * set_no : singles + 4 * set_no + 4]
        items.append(PoolItem(
            id=f"{prefix}-S{set_no:05d}", code=f"{prefix}S{set_no:05d}", version=1, type=domain.SET_TYPE,
            points=sum(k.points for k in kids), difficulty=round(sum(k.difficulty for k in kids) / 4), p=None,
            discrimination=None, point_code=kids[0].point_code, ranges=kids[0].ranges, importance=kids[0].importance,
            enemy_group=None, parent=None, source="国家题", uses=0,
        ))  # fmt: skip
    return items, n_sets, pairs


def bank_a(seed: int) -> tuple[Bank, dict[str, Any]]:
    """100,000 items over 20 occupations × 5 levels; 5,000 in occupation OCC at level 3."""
    rng = np.random.default_rng(seed)
    total, eligible_n = 100_000, 5_000
    within, max_uses = 180, 8
    # The whole bank as columns: which (occupation, level) each item is in, and its usage.
    group = rng.permutation(np.concatenate([np.zeros(eligible_n, int), rng.integers(1, 100, total - eligible_n)]))
    uses = rng.poisson(1.6, total)
    days_ago = np.where(uses > 0, rng.integers(1, 1500, total), 10**6)
    started = time.perf_counter()
    eligible = np.flatnonzero(group == 0)
    # The service's rule, in its order: max_uses first, then last use inside the window.
    worn = uses[eligible] >= max_uses
    recent = (days_ago[eligible] < within) & ~worn
    keep = eligible[~recent & ~worn]
    filter_s = time.perf_counter() - started
    outline = make_outline(rng)
    items, _, pairs = make_items(rng, outline, eligible_n, {"判断": 0.28, "单选": 0.60, "多选": 0.12},
                                 {"判断": 0.5, "单选": 0.5, "多选": 1.0}, stats=False, prefix="A")  # fmt: skip
    keep_pos = {int(k) for k in np.searchsorted(eligible, keep)}
    pool_items = [_with_uses(it, int(uses[eligible[k]])) for k, it in enumerate(items) if k in keep_pos]
    excluded = {f"used {max_uses}+ times": int(worn.sum()), f"used within {within} days": int(recent.sum())}
    pool = Pool(pool_items, outline.ranges, AS_OF, excluded)
    intact = sum(1 for g in Counter(i.enemy_group for i in pool_items if i.enemy_group).values() if g > 1)
    bank = Bank(pool)
    bank.notes.append(
        f"bank {total:,} items; {eligible_n:,} eligible (occupation {OCC}, level 3; {pairs} enemy pairs); exposure rule "
        f"excluded {sum(excluded.values()):,} ({', '.join(f'{k}: {v:,}' for k, v in excluded.items())}) in "
        f"{filter_s * 1000:.0f} ms; pool {len(pool_items):,} items, {intact} enemy pairs still whole"
    )
    doc = {
        "id": "BENCH-A", "occupation": OCC, "level": 3, "forms": ["A", "B"], "max_overlap": 0.10,
        "sections": [{"type": "判断", "count": 40, "points": 0.5}, {"type": "单选", "count": 140, "points": 0.5},
                     {"type": "多选", "count": 10, "points": 1}],
        "content": {"from_outline": True, "depth": [1, 2], "tolerance": 0.02},
        "importance": {"X": ">=0.80", "Y": "<=0.15", "Z": "<=0.05"},
        "difficulty": {"mean": [2.6, 3.2]},
        "exposure": {"exclude_used_within_days": within, "max_uses": max_uses},
    }  # fmt: skip
    return bank, doc


def _with_uses(item: PoolItem, uses: int) -> PoolItem:
    row = item.row()
    row[-1] = uses
    return PoolItem.from_row(row)


def bank_bc(seed: int, n_items: int, forms: int, sections: list[tuple[str, int, float]], n_sets: int, code: str) -> tuple[Bank, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    outline = make_outline(rng)
    scorable = n_items - n_sets  # parents count towards the bank's items
    items, sets, pairs = make_items(rng, outline, scorable, {"判断": 0.28, "单选": 0.60, "多选": 0.12},
                                    {"判断": 1.0, "单选": 1.0, "多选": 2.0}, stats=True, prefix=code, n_sets=n_sets)  # fmt: skip
    pool = Pool(items, outline.ranges, AS_OF)
    bank = Bank(pool)
    bank.notes.append(
        f"bank {len(items):,} items ({sets} 组合 sets × 4 单选 children, {pairs} enemy pairs); all eligible, "
        "p-values and discrimination for every scorable item"
    )
    doc = {
        "id": f"BENCH-{code}", "occupation": OCC, "level": 3, "forms": [f"F{k + 1}" for k in range(forms)],
        "max_overlap": 0,
        "sections": [{"type": t, "count": c, "points": p} for t, c, p in sections],
        "content": {"from_outline": True, "depth": 1, "tolerance": 0.03},
        "importance": {"X": ">=0.80", "Y": "<=0.15", "Z": "<=0.05"},
        "difficulty": {"mean": [2.85, 3.15]},
        "information": {"theta": [-1, 0, 1], "tolerance": 0.05},
    }  # fmt: skip
    return bank, doc


# ---------------------------------------------------------------- independent checker


@dataclass
class Check:
    """A blueprint's single-form rules, recomputed from PoolItems (not from model.build_rows)."""

    bp: Blueprint
    pool: Pool
    units: list[Unit]
    names: list[str] = field(default_factory=list)  # one per column of `matrix`
    kinds: list[str] = field(default_factory=list)
    lo: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hi: np.ndarray = field(default_factory=lambda: np.zeros(0))
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # unit × rule
    enemy: list[frozenset[str]] = field(default_factory=list)
    by_section: list[list[int]] = field(default_factory=list)
    targets: dict[float, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bp = self.bp
        section_of = {s.type: n for n, s in enumerate(bp.sections)}
        paper_points = {s.type: float(s.points) for s in bp.sections if s.points is not None}
        total = float(sum(s.count * float(s.points) for s in bp.sections if s.points is not None))
        cols: list[tuple[str, str, float, float, Any]] = []  # name, kind, lo, hi, item → contribution

        def pts(it: PoolItem) -> float:
            return paper_points[it.type]

        for s in bp.sections:
            cols.append((f"count {s.type}", "section", s.count, s.count, lambda it, t=s.type: 1.0 if it.type == t else 0.0))
        if bp.content:
            tol = bp.content.tolerance
            for r in self.pool.ranges:
                if r.depth in bp.content.depths:
                    w = r.weight / 100
                    cols.append((f"range {r.code}", "content", (w - tol) * total, (w + tol) * total,
                                 lambda it, c=r.code: pts(it) if c in it.ranges else 0.0))  # fmt: skip
        for level, band in bp.importance.items():
            lo = band.lo * total if band.lo is not None else -math.inf
            hi = band.hi * total if band.hi is not None else math.inf
            cols.append((f"importance {level}", "importance", lo, hi, lambda it, k=level: pts(it) if it.importance == k else 0.0))
        if bp.difficulty_mean:
            b = bp.difficulty_mean
            cols.append(("difficulty mean", "difficulty", (b.lo or 1) * total, (b.hi or 5) * total, lambda it: pts(it) * it.difficulty))
        if bp.information:
            # Target: per section, the mean information per slot over the section's eligible draws
            # (a set's children share its slots), × the section's count.
            for theta in bp.information.theta:
                target = 0.0
                for n, s in enumerate(bp.sections):
                    per_slot = []
                    for u in self.units:
                        if u.section == n:
                            per_slot.append(sum(it.information(theta) for it in u.items) / len(u.items))
                    target += float(np.mean(per_slot)) * s.count
                self.targets[theta] = target
                tol = bp.information.tolerance
                cols.append((f"information θ={theta:g}", "information", target * (1 - tol), target * (1 + tol),
                             lambda it, t=theta: it.information(t)))  # fmt: skip
        self.names = [c[0] for c in cols]
        self.kinds = [c[1] for c in cols]
        self.lo = np.array([c[2] for c in cols]) - SLACK
        self.hi = np.array([c[3] for c in cols]) + SLACK
        self.matrix = np.array([[sum(c[4](it) for it in u.items) for c in cols] for u in self.units])
        self.enemy = [frozenset(i.enemy_group for i in (*u.items, u.parent) if i is not None and i.enemy_group) for u in self.units]
        self.by_section = [[u.index for u in self.units if section_of[u.items[0].type] == n] for n in range(len(bp.sections))]

    def rules(self, selected: list[int]) -> dict[str, bool]:
        """Which rule kinds one form meets."""
        sums = self.matrix[selected].sum(axis=0)
        ok = (sums >= self.lo) & (sums <= self.hi)
        out = {k: bool(ok[[i for i, kind in enumerate(self.kinds) if kind == k]].all()) for k in dict.fromkeys(self.kinds)}
        groups = [g for u in selected for g in self.enemy[u]]
        out["enemies"] = len(groups) == len(set(groups))
        out["distinct"] = len(selected) == len(set(selected))
        return out

    def forms_valid(self, forms: list[list[int]]) -> tuple[bool, list[str]]:
        problems = []
        for f, sel in enumerate(forms):
            for kind, ok in self.rules(sel).items():
                if not ok:
                    problems.append(f"form {self.bp.forms[f]}: {kind}")
            for u in sel:  # a set on a form carries all its children
                unit = self.units[u]
                if unit.parent is not None:
                    kids = [i for i in self.pool.items if i.parent == unit.parent.code]
                    if {k.code for k in kids} != {i.code for i in unit.items}:
                        problems.append(f"form {self.bp.forms[f]}: set {unit.parent.code} incomplete")
        limit = math.floor(self.bp.max_overlap * sum(s.count for s in self.bp.sections) + 1e-9)
        codes = [{i.code for u in sel for i in self.units[u].items} for sel in forms]
        for f in range(len(forms)):
            for g in range(f + 1, len(forms)):
                shared = len(codes[f] & codes[g])
                if shared > limit:
                    problems.append(f"forms {self.bp.forms[f]}/{self.bp.forms[g]} share {shared} items > {limit}")
        return not problems, problems

    def draw(self, rng: np.random.Generator) -> list[int]:
        """One uniform random paper: each section's units in random order, taken while they fit."""
        out: list[int] = []
        for n, s in enumerate(self.bp.sections):
            room = s.count
            for u in rng.permutation(self.by_section[n]):
                size = len(self.units[u].items)
                if size <= room:
                    out.append(int(u))
                    room -= size
                    if room == 0:
                        break
        return out


# ---------------------------------------------------------------- running


@dataclass
class Outcome:
    label: str
    pool: int
    shape: str
    strategy: str
    times: list[float]
    target: float
    valid: bool
    problems: list[str]
    accepted: int
    draws: int
    per_rule: dict[str, int]
    setup: float
    monolithic: str | None = None


def scenario(label: str, bank: Bank, doc: dict[str, Any], target: float, args: argparse.Namespace, *, monolithic: bool) -> Outcome:
    bp = parse_blueprint(doc, f"scenario {label}")
    t = time.perf_counter()
    units, skipped = build_units(bp, bank.pool)
    rows = model.build_rows(bp, bank.pool, units)
    setup = time.perf_counter() - t
    problem = model.Problem(bp, bank.pool, units, rows)
    check = Check(bp, bank.pool, units)
    items = sum(s.count for s in bp.sections)
    kinds = Counter(r.kind for r in rows)
    print(f"\n({label}) {len(bp.forms)} forms × {items} items, max_overlap {bp.max_overlap:g}")
    for note in bank.notes:
        print(f"  {note}")
    print(f"  {len(units):,} units ({sum(1 for u in units if u.parent):,} sets), {len(skipped)} items skipped; "
          f"{len(rows)} rows per form: {', '.join(f'{k} {v}' for k, v in kinds.items())}; setup {setup:.2f} s")  # fmt: skip
    if check.targets:
        print("  information targets: " + ", ".join(f"θ={k:g}: {v:.2f}" for k, v in check.targets.items()))

    times, strategies, problems = [], set(), []
    for run in range(args.runs):
        t = time.perf_counter()
        sol = model.solve(problem, seed=1000 + run)
        times.append(time.perf_counter() - t)
        strategies.add(sol.strategy)
        ok, bad = check.forms_valid(sol.forms)
        problems.extend(f"seed {1000 + run}: {p}" for p in bad)
        print(f"  run {run + 1}: seed {1000 + run}, {sol.strategy}, {sol.status}, {times[-1]:.2f} s, forms valid: {'yes' if ok else 'NO'}")

    mono = None
    if monolithic:
        cap = 15.0 if args.quick else 120.0
        weights = np.random.default_rng(1000).random((len(bp.forms), problem.n))
        t = time.perf_counter()
        try:
            x, status, gap = model._monolithic(problem, weights, set(), cap, bp.gap)
            spent = time.perf_counter() - t
            n = problem.n
            forms = [sorted(int(u) for u in np.flatnonzero(x[f * n : (f + 1) * n] > 0.5)) for f in range(len(bp.forms))]
            ok, _ = check.forms_valid(forms)
            hit = spent >= cap * 0.98
            gap_text = f", gap {gap:.3f}" if gap is not None else ""
            mono = (f"{spent:.1f} s ({status}{gap_text}{'; stopped at the time limit' if hit else ''}), "
                    f"forms valid: {'yes' if ok else 'NO'}")  # fmt: skip
        except model.NoSolution as exc:
            spent = time.perf_counter() - t
            mono = f"did not finish: no paper when HiGHS stopped ({exc.status}) after {spent:.1f} s wall"
            if spent > cap * 1.1:  # HiGHS checks its clock between phases, not inside every one
                mono += f", {spent / cap:.1f}× its {cap:.0f} s time limit"
        print(f"  monolithic model, one run (seed 1000, cap {cap:.0f} s): {mono}")

    rng = np.random.default_rng(BANK_SEED + 1)
    draws = args.draws
    accepted = 0
    per_rule: Counter[str] = Counter()
    for _ in range(draws):
        verdict = check.rules(check.draw(rng))
        per_rule.update(k for k, ok in verdict.items() if ok)
        accepted += all(verdict.values())
    return Outcome(label, len(bank.pool.items), f"{len(bp.forms)} × {items}", "/".join(sorted(strategies)), times, target,
                   not problems, problems, accepted, draws, dict(per_rule), setup, mono)  # fmt: skip


def report(outcomes: list[Outcome]) -> None:
    print("\nsummary (solve wall time over runs; rejection = share of random single papers meeting every rule)")
    head = f"{'':4} {'pool':>7}  {'forms×items':<11} {'strategy':<11} {'median':>7} {'min':>6} {'max':>6}  {'target':<7} {'':4}  {'valid':<5}  rejection sampling"
    print(head)
    print("-" * len(head))
    for o in outcomes:
        med = statistics.median(o.times)
        upper = f" (< {3 / o.draws:.2%} at 95%)" if o.accepted == 0 else ""
        print(f"({o.label})  {o.pool:>7,}  {o.shape:<11} {o.strategy:<11} {med:6.2f}s {min(o.times):5.2f}s {max(o.times):5.2f}s  "
              f"<= {o.target:g} s {'PASS' if med <= o.target else 'FAIL'}  {'yes' if o.valid else 'NO':<5}  "
              f"{o.accepted / o.draws:.2%} of {o.draws:,}{upper}")  # fmt: skip
        rules = ", ".join(f"{k} {v / o.draws:.1%}" for k, v in o.per_rule.items() if k not in ("section", "distinct"))
        print(f"{'':6}rejection sampling, each rule alone: {rules}")
        if o.monolithic:
            print(f"{'':6}monolithic baseline: {o.monolithic}")
        for p in o.problems[:10]:
            print(f"{'':6}INVALID: {p}")
    print(f"\nall forms valid: {'yes' if all(o.valid for o in outcomes) else 'no'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scenarios", default="a,b,c")
    ap.add_argument("--quick", action="store_true", help="1 run, 200 draws, monolithic capped at 15 s")
    ap.add_argument("--skip-monolithic", action="store_true")
    ap.add_argument("--draws", type=int, default=2000)
    args = ap.parse_args()
    if args.quick:
        args.runs, args.draws = 1, 200
    wanted = [s.strip().lower() for s in args.scenarios.split(",") if s.strip()]
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {sys.version.split()[0]}, {model.SOLVER}, "
          f"numpy {np.__version__}, scipy {scipy.__version__}")  # fmt: skip
    print(f"runs {args.runs} per scenario (seeds 1000..{999 + args.runs}); {args.draws:,} rejection-sampling draws; bank seed {BANK_SEED}")
    outcomes = []
    if "a" in wanted:
        bank, doc = bank_a(BANK_SEED)
        outcomes.append(scenario("a", bank, doc, 1.0, args, monolithic=False))
    if "b" in wanted:
        bank, doc = bank_bc(BANK_SEED + 2, 3_000, 10, [("判断", 10, 1), ("单选", 30, 2), ("多选", 10, 3)], 60, "B")
        outcomes.append(scenario("b", bank, doc, 3.0, args, monolithic=False))
    if "c" in wanted:
        bank, doc = bank_bc(BANK_SEED + 3, 10_000, 20, [("判断", 15, 1), ("单选", 35, 2), ("多选", 10, 1.5)], 200, "C")
        outcomes.append(scenario("c", bank, doc, 15.0, args, monolithic=not args.skip_monolithic))
    report(outcomes)


if __name__ == "__main__":
    main()
