"""The blueprint as a mixed-integer program, solved with HiGHS (highspy).

Pure: units in, selected units per form out. Every blueprint rule is a linear row on
one form's selection x (one binary per unit); forms are parallel, so each form gets
the same rows. Rows across forms carry the overlap limit.

*Random but exact*: the objective is a seeded random weight per unit and form, so
different seeds give different papers while the rows hold on every one. HiGHS is
deterministic for a given model, so the same seed and pool give the same paper.

Two strategies:
- *monolithic*: one model with all forms (needed when forms may overlap);
- *partition* (3 or more forms that may share nothing): a working set for F + spare
  forms, then one form at a time beside a shadow of the forms still to come (see
  `_partition`). Each model is one or two forms' size; if no paper comes out, the
  monolithic model is the fallback while it stays small enough to trust its time limit.

When no paper exists, `diagnose` re-solves with elastic slack on every row and
reports the rows that had to give, by how much, and what the pool holds for them.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import coo_array, csc_array

from examvault.assembly.blueprint import Blueprint
from examvault.assembly.pool import Pool, Unit
from examvault.itembank import domain

# The pybind class, not highspy.Highs: the wrapper's constructor prints a banner on
# stdout, which would corrupt `--json` output.
_Highs = highspy._Highs
# NumPy's generator draws the random objective and the item order, so a re-derivation needs it too.
SOLVER = f"HiGHS {_Highs().version()} (highspy), numpy {np.__version__}"
# Options that matter for the answer are pinned here, so a paper re-derives exactly.
# Feasibility jump costs more than it finds on these models (measured: 0.17 s → 0.10 s).
_OPTIONS = {"output_flag": False, "random_seed": 0, "mip_heuristic_run_feasibility_jump": False}
_EPS = 1e-6
_HARD_PRICE = 1000.0  # per unit of slack on a rule a diagnosis should break only as a last resort
_STRUCTURE_WEIGHT = 10.0
_PAIRWISE_FORMS = 6  # up to this many forms, a diagnosis prices overlap pair by pair
_MONOLITHIC_MAX = 40_000  # unit × form variables beyond which one model for all forms is not attempted


@dataclass
class Row:
    """One linear rule on a single form: lo ≤ Σ coef[u]·x[u] ≤ hi."""

    label: str  # reads in a diagnosis: "section 多选", "range A-C 电工基础 (15%)"
    kind: str  # section | section_points | range | importance | difficulty | difficulty_count | p | information | enemy
    coef: dict[int, float]
    lo: float
    hi: float
    unit: str = "items"  # what the row counts, for messages
    scale: float = 1.0  # one typical item's coefficient: slack is priced in items
    soft: bool = True  # enemies give only as a last resort in a diagnosis
    needed: str = ""
    # A paper's structure (how many items per section) is what a custodian fixes first; a
    # diagnosis bends it only when the supply is short, and shows the statistical rules instead.
    weight: float = 1.0
    per: float = 1.0  # a mean's row sums points × value; messages divide by the points to show the mean


@dataclass
class Solution:
    forms: list[list[int]]  # unit indices per form
    status: str  # optimal | feasible (time or gap limit)
    strategy: str
    seconds: float
    gap: float | None


@dataclass
class Shortfall:
    row: Row
    form: str | None
    needed: str
    reached: float
    short: float  # how far the closest paper is from the row's bounds
    supply: str
    over: bool = False  # the closest paper went above the row's upper bound

    @property
    def message(self) -> str:
        where = f"form {self.form}: " if self.form else ""
        side = "over" if self.over else "short"
        return f"{where}{self.row.label}: needs {self.needed}; the closest paper has {self.reached:g} ({side} by {self.short:g} {self.row.unit}); {self.supply}"


class NoSolution(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class Problem:
    bp: Blueprint
    pool: Pool
    units: list[Unit]
    rows: list[Row] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.units)


def build_rows(bp: Blueprint, pool: Pool, units: list[Unit]) -> list[Row]:
    """Every blueprint rule as rows on one form."""
    rows: list[Row] = []
    total = float(bp.bank_points)
    for n, s in enumerate(bp.sections):
        members = [u for u in units if u.section == n]
        if s.bank_count:
            rows.append(Row(f"section {s.type}", "section", {u.index: u.count for u in members}, s.bank_count, s.bank_count,
                            weight=_STRUCTURE_WEIGHT))  # fmt: skip
            if s.points is None:
                rows.append(Row(f"section {s.type} points", "section_points", {u.index: u.points for u in members},
                                float(s.bank_points), float(s.bank_points), "points", max((u.points for u in members), default=1),
                                weight=_STRUCTURE_WEIGHT))  # fmt: skip
        elif members:
            rows.append(Row(f"section {s.type}", "section", {u.index: 1 for u in members}, 0, 0))
    item_scale = total / max(sum(s.bank_count for s in bp.sections), 1)
    # One pass over the items: points per enclosing range and per importance, for every unit.
    in_range: dict[str, dict[int, float]] = defaultdict(dict)
    by_importance: dict[str, dict[int, float]] = defaultdict(dict)
    for u in units:
        for it, p in zip(u.items, u.paper_points, strict=True):
            for code in it.ranges:
                in_range[code][u.index] = in_range[code].get(u.index, 0.0) + p
            if it.importance:
                by_importance[it.importance][u.index] = by_importance[it.importance].get(u.index, 0.0) + p

    if bp.content is not None:
        shares: dict[str, tuple[str, float]] = {}
        for r in pool.ranges:
            if r.depth in bp.content.depths:
                shares[r.code] = (r.name, r.weight / 100)
        names = {r.code: r.name for r in pool.ranges}
        for code, share in sorted(bp.content.ranges.items()):
            shares[code] = (names.get(code, ""), share)
        tol = bp.content.tolerance
        for code, (name, share) in shares.items():
            label = f"range {code} {name} (weight {share:.0%})".replace("  ", " ")
            rows.append(Row(label, "range", in_range.get(code, {}), max(share - tol, 0) * total, (share + tol) * total, "points", item_scale))
    for level, band in sorted(bp.importance.items()):  # rows in a fixed order: HiGHS's answer depends on it
        rows.append(Row(f"importance {level} (share of points {band})", "importance", by_importance.get(level, {}),
                        band.lo * total if band.lo is not None else 0, band.hi * total if band.hi is not None else total,
                        "points", item_scale))  # fmt: skip

    def weighted(attr) -> dict[int, float]:  # noqa: ANN001
        return {u.index: sum(p * attr(it) for it, p in zip(u.items, u.paper_points, strict=True)) for u in units}

    if bp.difficulty_mean:
        b = bp.difficulty_mean
        rows.append(Row(f"mean planned difficulty {b}", "difficulty", weighted(lambda it: it.difficulty),
                        (b.lo or 1) * total, (b.hi or 5) * total, "mean difficulty", item_scale * 3, per=total))  # fmt: skip
    if bp.p_mean:
        b = bp.p_mean
        rows.append(Row(f"mean p-value {b}", "p", weighted(lambda it: it.effective_p),
                        (b.lo or 0) * total, (b.hi if b.hi is not None else 1) * total, "mean p", item_scale * 0.5, per=total))  # fmt: skip
    tol = bp.difficulty_count_tolerance
    for d, want in sorted(bp.difficulty_counts.items()):
        coef = {u.index: v for u in units if (v := sum(1 for it in u.items if it.difficulty == d))}
        rows.append(Row(f"difficulty {d} ({domain.DIFFICULTY_NAMES[d]}) count {want}±{tol}", "difficulty_count", coef, max(want - tol, 0), want + tol))
    if bp.information:
        info = bp.information
        targets = info.target or _information_target(bp, units, info.theta)
        for theta, target in zip(info.theta, targets, strict=True):
            coef = {u.index: sum(it.information(theta) for it in u.items) for u in units}
            scale = float(np.mean(list(coef.values()))) if coef else 1.0
            rows.append(Row(f"test information at θ={theta:g} (target {target:.2f} ± {info.tolerance:.0%})", "information", coef,
                            target * (1 - info.tolerance), target * (1 + info.tolerance), "information", scale))  # fmt: skip
    groups: dict[str, list[int]] = defaultdict(list)
    for u in units:
        for g in u.enemy_groups:
            groups[g].append(u.index)
    for g, members in sorted(groups.items()):
        if len(members) > 1:
            rows.append(Row(f"enemy group {g}", "enemy", dict.fromkeys(members, 1.0), 0, 1, soft=False))
    for row in rows:
        row.needed = _needed(row)  # as the blueprint asks, before snapping to reachable sums
        _snap_to_lattice(row)
    return rows


def _snap_to_lattice(row: Row) -> None:
    """Pull the bounds in to values a selection can actually sum to.

    With coefficients that are all multiples of a step (0.5-point items), a form's sum
    lies on that lattice; m forms' bounds are then m × the snapped bounds, which is
    exact. Unsnapped, 2 forms may be allowed 21 items of a range whose single-form
    band holds at most 10.
    """
    values = [round(v * 100) for v in row.coef.values()]
    if not values or any(abs(v * 100 - r) > 1e-6 for v, r in zip(row.coef.values(), values, strict=True)):
        return
    step = math.gcd(*values) / 100
    if step <= 0:
        return
    lo, hi = math.ceil(row.lo / step - 1e-9) * step, math.floor(row.hi / step + 1e-9) * step
    if lo <= hi + _EPS:  # a band no sum can hit stays as written: the diagnosis then shows how far off
        row.lo, row.hi = lo, hi


def _information_target(bp: Blueprint, units: list[Unit], thetas: tuple[float, ...]) -> tuple[float, ...]:
    """Per θ: the pool's mean item information for each section, times the section's count."""
    out = []
    for theta in thetas:
        total = 0.0
        for n, s in enumerate(bp.sections):
            members = [u for u in units if u.section == n]
            if members and s.bank_count:
                per_slot = [sum(it.information(theta) for it in u.items) / u.count for u in members]
                total += float(np.mean(per_slot)) * s.bank_count
        out.append(total)
    return tuple(out)


def overlap_limit(bp: Blueprint) -> int:
    return int(np.floor(bp.max_overlap * sum(s.bank_count for s in bp.sections) + _EPS))


# ---------------------------------------------------------------- solving


def _milp(cost: np.ndarray, matrix: coo_array, lo: np.ndarray, hi: np.ndarray, col_lo: np.ndarray, col_hi: np.ndarray,
          integer: np.ndarray, time_limit: float, gap: float) -> tuple[np.ndarray, str, float | None]:  # fmt: skip
    h = _Highs()
    for key, value in (_OPTIONS | {"time_limit": max(float(time_limit), 0.5), "mip_rel_gap": float(gap)}).items():
        h.setOptionValue(key, value)
    a = csc_array(matrix)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, col_lo, col_hi
    lp.row_lower_, lp.row_upper_ = lo, hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = a.shape[1], a.shape[0]
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if status == highspy.HighsModelStatus.kOptimal:
        return np.array(h.getSolution().col_value), "optimal", info.mip_gap
    if info.primal_solution_status == 2:  # a feasible point, stopped by the time limit
        return np.array(h.getSolution().col_value), "feasible", info.mip_gap
    if status == highspy.HighsModelStatus.kTimeLimit:
        raise NoSolution("time limit")
    raise NoSolution("infeasible" if status == highspy.HighsModelStatus.kInfeasible else h.modelStatusToString(status))


class _Builder:
    """Sparse rows for a model whose columns are blocks of unit variables."""

    def __init__(self, ncols: int) -> None:
        self.ncols = ncols
        self.r: list[int] = []
        self.c: list[int] = []
        self.v: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def add(self, coef: dict[int, float], offset: int, lo: float, hi: float) -> int:
        row = len(self.lo)
        for col, val in coef.items():
            self.r.append(row)
            self.c.append(offset + col)
            self.v.append(val)
        self.lo.append(lo)
        self.hi.append(hi)
        return row

    def add_cols(self, k: int) -> int:
        first = self.ncols
        self.ncols += k
        return first

    def matrix(self) -> coo_array:
        return coo_array((self.v, (self.r, self.c)), shape=(len(self.lo), self.ncols))


def solve(problem: Problem, seed: int, *, time_limit: float | None = None, gap: float | None = None) -> Solution:
    bp, n, forms = problem.bp, problem.n, len(problem.bp.forms)
    time_limit = time_limit if time_limit is not None else bp.time_limit
    gap = gap if gap is not None else bp.gap
    rng = np.random.default_rng(seed)
    fixed = _fixed_units(problem)
    started = time.perf_counter()
    if forms >= 3 and overlap_limit(bp) == 0 and not fixed:
        try:
            statuses: list[str] = []
            chosen = _partition(problem, rng, started + time_limit, gap, statuses)
            status = "optimal" if all(s == "optimal" for s in statuses) else "feasible"
            return Solution(chosen, status, "partition", time.perf_counter() - started, None)
        except NoSolution as exc:
            # HiGHS can overrun its time limit several-fold on a monolithic model this size
            # (presolve alone took minutes for 20 forms × 9,200 units), so it is not tried.
            if exc.status == "time limit" or n * forms > _MONOLITHIC_MAX:
                raise
            rng = np.random.default_rng(seed)  # the fallback is reproducible on its own
            time_limit = max(time_limit - (time.perf_counter() - started), 0.5)
    x, status, mip_gap = _monolithic(problem, rng.random((forms, n)) * _slots(problem), fixed, time_limit, gap)
    chosen = [sorted(int(u) for u in np.flatnonzero(x[f * n : (f + 1) * n] > 0.5)) for f in range(forms)]
    return Solution(chosen, status, "monolithic", time.perf_counter() - started, mip_gap)


def _slots(problem: Problem) -> np.ndarray:
    """A set filling three slots draws three items' worth of random weight, so sets compete fairly."""
    return np.array([u.count for u in problem.units], dtype=float)


def _fixed_units(problem: Problem) -> set[int]:
    wanted = set(problem.bp.fixed)
    return {u.index for u in problem.units if u.codes & wanted}


def _monolithic(problem: Problem, weights: np.ndarray, fixed: set[int], time_limit: float, gap: float) -> tuple[np.ndarray, str, float | None]:
    bp, n, forms = problem.bp, problem.n, len(problem.bp.forms)
    b = _Builder(n * forms)
    for f in range(forms):
        for row in problem.rows:
            b.add(row.coef, f * n, row.lo, row.hi)
    limit = overlap_limit(bp)
    if forms > 1 and limit == 0:
        for u in range(n):
            b.add({f * n + u: 1.0 for f in range(forms)}, 0, 0, 1)
    elif forms > 1 and limit < sum(s.bank_count for s in bp.sections):
        counts = {u.index: float(u.count) for u in problem.units}
        for f in range(forms):
            for g in range(f + 1, forms):
                y = b.add_cols(n)
                for u in range(n):  # y ≥ x_f + x_g − 1
                    b.add({f * n + u: 1.0, g * n + u: 1.0, y + u: -1.0}, 0, -np.inf, 1)
                b.add({y + u: c for u, c in counts.items()}, 0, 0, limit)
    total = b.ncols
    cost = np.zeros(total)
    cost[: n * forms] = -weights.reshape(-1)
    col_lo = np.zeros(total)
    for u in fixed:
        col_lo[[f * n + u for f in range(forms)]] = 1
    integer = np.zeros(total)
    integer[: n * forms] = 1  # pair indicators stay continuous: x binary forces them to 0/1
    return _milp(cost, b.matrix(), np.array(b.lo), np.array(b.hi), col_lo, np.ones(total), integer, time_limit, gap)


def _partition(problem: Problem, rng: np.random.Generator, deadline: float, gap: float, statuses: list[str]) -> list[list[int]]:
    """Forms one at a time, each beside a *shadow* of the forms still to come.

    The shadow (van der Linden's shadow test) is the union of the remaining forms,
    held to every bound times their number, so a form is never taken that leaves
    the rest impossible. Solving over the whole pool each time would be slow, so a
    first model picks a working set: what F + spare forms would need, where spare
    forms' worth of items gives the later steps room to move.
    """
    forms = len(problem.bp.forms)
    everyone = list(range(problem.n))
    working = everyone
    for spare in (max(2, math.ceil(forms / 4)), 0):
        try:
            working = _with_shadow(problem, everyone, 0, rng.random(problem.n), deadline, gap, statuses, m=forms + spare)
            break
        except NoSolution as exc:
            if exc.status == "time limit" or spare == 0:
                raise
    out: list[list[int]] = []
    for f in range(forms):
        form = _with_shadow(problem, working, forms - f - 1, rng.random(len(working)), deadline, gap, statuses)
        out.append(sorted(form))
        taken = set(form)
        working = [u for u in working if u not in taken]
    return out


def _with_shadow(problem: Problem, members: list[int], later: int, weights: np.ndarray, deadline: float, gap: float,
                 statuses: list[str], *, m: int = 1) -> list[int]:  # fmt: skip
    """Columns: x (what m forms take now) then z (the shadow of `later` forms)."""
    index = {u: k for k, u in enumerate(members)}
    k = len(members)
    b = _Builder(k * (2 if later else 1))
    for row in problem.rows:
        coef = {index[u]: v for u, v in row.coef.items() if u in index}
        if row.kind == "enemy":  # each form takes at most one of the group
            b.add(coef, 0, 0, m)
            if later:
                b.add(coef, k, 0, later)
            continue
        b.add(coef, 0, m * row.lo, m * row.hi)
        if later:
            b.add(coef, k, later * row.lo, later * row.hi)
    if later:
        for j in range(k):
            b.add({j: 1.0, k + j: 1.0}, 0, 0, 1)
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        raise NoSolution("time limit")
    cost = np.zeros(b.ncols)
    cost[:k] = -weights[:k] * _slots(problem)[members]
    x, status, _gap = _milp(cost, b.matrix(), np.array(b.lo), np.array(b.hi), np.zeros(b.ncols), np.ones(b.ncols),
                            np.ones(b.ncols), remaining, gap)  # fmt: skip
    statuses.append(status)
    return [members[j] for j in np.flatnonzero(x[:k] > 0.5)]


def union_for(problem: Problem, forms: int, *, time_limit: float) -> list[int]:
    """Items that `forms` disjoint forms would hold together: a necessary condition for that many forms."""
    weights = np.random.default_rng(0).random(problem.n)
    return _with_shadow(problem, list(range(problem.n)), 0, weights, time.perf_counter() + time_limit, 0.5, [], m=forms)


# ---------------------------------------------------------------- diagnosis


def diagnose(problem: Problem, *, time_limit: float = 30.0) -> list[Shortfall]:
    """Elastic re-solve: each soft row may give, at a price per item of slack; report what gave."""
    bp, n, forms = problem.bp, problem.n, len(problem.bp.forms)
    if forms >= 3 and overlap_limit(bp) == 0 and n * forms > _MONOLITHIC_MAX:
        return _diagnose_together(problem, time_limit)
    b = _Builder(n * forms)
    price: dict[int, float] = {}
    slack_rows: list[tuple[Row, int | None, int]] = []  # (row, form index, first slack column)
    for f in range(forms):
        for row in problem.rows:
            s = b.add_cols(2)  # s: added to reach lo; s + 1: taken away to stay under hi
            b.add({f * n + u: v for u, v in row.coef.items()} | {s: 1.0, s + 1: -1.0}, 0, row.lo, row.hi)
            # Enemy rows give only when nothing else can (two fixed items that are enemies).
            price[s] = price[s + 1] = row.weight / max(row.scale, _EPS) if row.soft else _HARD_PRICE
            slack_rows.append((row, f, s))
    limit = overlap_limit(bp)
    if forms > 1:
        note = f"max_overlap {bp.max_overlap:.0%}: at most {limit} shared items per pair of forms"
        if limit == 0 or forms > _PAIRWISE_FORMS:
            # Σ_u (forms using u − 1)⁺: exact for disjoint forms, a bound on the pairs otherwise.
            excess = b.add_cols(n)
            for u in range(n):
                b.add({f * n + u: 1.0 for f in range(forms)} | {excess + u: -1.0}, 0, -np.inf, 1)
            allowed = limit * forms * (forms - 1) / 2
            s = b.add_cols(1)
            b.add({excess + u.index: float(u.count) for u in problem.units} | {s: -1.0}, 0, -np.inf, allowed)
            price[s] = 1.0
            slack_rows.append((Row(f"overlap between forms ({note})", "overlap", {}, 0, allowed), None, s))
        else:
            for f in range(forms):
                for g in range(f + 1, forms):
                    y = b.add_cols(n)  # y_u ≥ x_f + x_g − 1: u sits on both forms
                    for u in range(n):
                        b.add({f * n + u: 1.0, g * n + u: 1.0, y + u: -1.0}, 0, -np.inf, 1)
                    s = b.add_cols(1)
                    b.add({y + u.index: float(u.count) for u in problem.units} | {s: -1.0}, 0, -np.inf, limit)
                    price[s] = 1.0
                    label = f"overlap between forms {bp.forms[f]} and {bp.forms[g]} ({note})"
                    slack_rows.append((Row(label, "overlap", {}, 0, limit), None, s))
    cost = np.zeros(b.ncols)
    for col, value in price.items():
        cost[col] = value
    col_lo = np.zeros(b.ncols)
    col_hi = np.full(b.ncols, np.inf)
    col_hi[: n * forms] = 1
    for u in _fixed_units(problem):
        col_lo[[f * n + u for f in range(forms)]] = 1
    integer = np.zeros(b.ncols)
    integer[: n * forms] = 1
    x, _status, _gap = _milp(cost, b.matrix(), np.array(b.lo), np.array(b.hi), col_lo, col_hi, integer, time_limit, 0.0)
    out = []
    for row, f, s in slack_rows:
        if f is None:
            if x[s] > _EPS:
                out.append(Shortfall(row, None, f"at most {row.hi:g} shared items", round(row.hi + x[s], 4),
                                     round(x[s], 4), f"the pool has {n} eligible units for {forms} forms", over=True))  # fmt: skip
            continue
        under, over = x[s], x[s + 1]
        if under > _EPS or over > _EPS:
            reached = sum(v * x[f * n + u] for u, v in row.coef.items())
            out.append(Shortfall(row, bp.forms[f], row.needed or _needed(row), round(reached / row.per, 4), round(max(under, over) / row.per, 4),
                                 _supply(problem, row), over=over > under))  # fmt: skip
    return out


def _diagnose_together(problem: Problem, time_limit: float) -> list[Shortfall]:
    """Disjoint forms, too many to model one by one: what all of them together would need."""
    forms, n = len(problem.bp.forms), problem.n
    b = _Builder(n)
    price: dict[int, float] = {}
    together: list[tuple[Row, int]] = []
    for row in problem.rows:
        whole = Row(f"{row.label}, all {forms} forms together", row.kind, row.coef, forms * row.lo, forms * row.hi,
                    row.unit, row.scale, row.soft, weight=row.weight, per=forms * row.per if row.per != 1 else 1.0)  # fmt: skip
        s = b.add_cols(2)
        b.add(row.coef | {s: 1.0, s + 1: -1.0}, 0, whole.lo, whole.hi)
        price[s] = price[s + 1] = row.weight / max(row.scale, _EPS) if row.soft else _HARD_PRICE
        together.append((whole, s))
    cost = np.zeros(b.ncols)
    for col, value in price.items():
        cost[col] = value
    col_hi = np.full(b.ncols, np.inf)
    col_hi[:n] = 1
    integer = np.zeros(b.ncols)
    integer[:n] = 1
    x, _status, _gap = _milp(cost, b.matrix(), np.array(b.lo), np.array(b.hi), np.zeros(b.ncols), col_hi, integer, time_limit, 0.0)
    out = []
    for row, s in together:
        under, over = x[s], x[s + 1]
        if under > _EPS or over > _EPS:
            reached = sum(v * x[u] for u, v in row.coef.items())
            out.append(Shortfall(row, None, _needed(row), round(reached / row.per, 4), round(max(under, over) / row.per, 4),
                                 _supply(problem, row), over=over > under))  # fmt: skip
    return out


def _needed(row: Row) -> str:
    lo, hi = round(row.lo / row.per, 3), round(row.hi / row.per, 3)
    if abs(hi - lo) < _EPS:
        return f"{lo:g} {row.unit}"
    if lo <= _EPS:
        return f"at most {hi:g} {row.unit}"
    return f"{lo:g}..{hi:g} {row.unit}"


def _supply(problem: Problem, row: Row) -> str:
    by_section: dict[str, int] = defaultdict(int)
    for u in row.coef:
        unit = problem.units[u]
        if row.coef[u]:
            by_section[problem.bp.sections[unit.section].type] += unit.count
    if not by_section:
        return "no active eligible item in the pool counts towards it"
    parts = ", ".join(f"{t} {c}" for t, c in by_section.items())
    return f"active eligible items counting towards it: {parts}"
