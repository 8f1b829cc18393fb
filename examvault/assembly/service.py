"""Blueprint and paper service functions: one user action, one transaction each.

The CLI and the HTTP API call these and nothing else. The solver sees a `Pool` of
metadata; content is opened only to show a key holder the form's answers.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import secrets
import uuid
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.orm import Session

from examvault.accounts.models import User
from examvault.accounts.roles import allowed
from examvault.accounts.service import audit
from examvault.assembly import model
from examvault.assembly.blueprint import Blueprint, canonical_json, load_blueprint, parse_blueprint
from examvault.assembly.forms import Entry, form_answer, lay_out, permutation
from examvault.assembly.models import PAPER_MOVES, Assembly, ItemUse, Paper, PaperApproval, PaperItem
from examvault.assembly.models import Blueprint as BlueprintRow
from examvault.assembly.pool import Pool, PoolItem, RangeWeight, build_units
from examvault.bank import Bank
from examvault.crypto.records import open_fields
from examvault.crypto.signing import SigningKey
from examvault.custody.service import record
from examvault.db import utcnow
from examvault.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from examvault.itembank import domain
from examvault.itembank.content import ItemContent, unpack
from examvault.itembank.models import (
    ITEM_CONTENT,
    Item,
    ItemVersion,
    Occupation,
    Outline,
    OutlineNode,
)
from examvault.itembank.service import locked_sequence
from examvault.itembank.workflow import ELIGIBLE_STATUS

EXPERT_SOURCE = "专家命题"
WEAK_POINT = 4  # DESIGN: a healthy bank has at least 4 active items per point
MAX_SEED = 2**62


class AssemblyInfeasible(ValidationError):
    """No paper meets the blueprint on this bank; carries what had to give and by how much."""

    def __init__(self, blueprint: str, shortfalls: list[model.Shortfall], supply: list[str]) -> None:
        self.shortfalls = shortfalls
        lines = [f"no paper meets blueprint {blueprint} on this bank; nothing was stored."]
        if shortfalls:
            lines.append("The closest paper breaks these rows:")
            lines += [f"  - {s.message}" for s in shortfalls[:30]]
            if len(shortfalls) > 30:
                lines.append(f"  … and {len(shortfalls) - 30} more")
        lines += supply
        super().__init__("\n".join(lines))

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {"form": s.form, "row": s.row.label, "kind": s.row.kind, "needed": s.needed, "reached": s.reached, "short": s.short}
            for s in self.shortfalls
        ]


# ---------------------------------------------------------------- blueprints


def _occupation_and_outline(session: Session, bp: Blueprint) -> tuple[Occupation, Outline]:
    occupation = session.scalars(select(Occupation).where(Occupation.code == bp.occupation)).first()
    if occupation is None:
        raise ValidationError(f"blueprint {bp.code}, field occupation: no occupation {bp.occupation!r} in the bank (import its outline first)")
    outline = session.scalars(
        select(Outline).where(Outline.occupation_id == occupation.id, Outline.level == bp.level, Outline.kind == bp.kind)
    ).first()
    if outline is None:
        raise ValidationError(
            f"blueprint {bp.code}, field level: occupation {bp.occupation} has no {bp.kind} outline (鉴定要素细目表) for level {bp.level}"
        )
    return occupation, outline


@dataclass(frozen=True)
class _OutlineView:
    ranges: list[RangeWeight]
    points: dict[int, tuple[str, tuple[str, ...], str | None]]  # point id → (code, ranges top→leaf, importance)


@dataclass(frozen=True)
class BankContext:
    """What a blueprint names in the bank, read once per transaction."""

    occupation: Occupation
    outline: Outline
    view: _OutlineView


def _outline_view(session: Session, outline: Outline) -> _OutlineView:
    nodes = list(session.scalars(select(OutlineNode).where(OutlineNode.outline_id == outline.id)))
    by_id = {n.id: n for n in nodes}

    def path(node: OutlineNode) -> tuple[str, ...]:
        out: list[str] = []
        parent = by_id.get(node.parent_id) if node.parent_id else None
        while parent is not None:
            out.append(parent.code)
            parent = by_id.get(parent.parent_id) if parent.parent_id else None
        return tuple(reversed(out))

    ranges = []
    points = {}
    for n in sorted(nodes, key=lambda n: n.position):
        if n.is_point:
            points[n.id] = (n.code, path(n), n.importance)
        elif n.weight is not None:
            ranges.append(RangeWeight(n.code, n.name, len(path(n)) + 1, float(n.weight)))
    return _OutlineView(ranges, points)


def _check_against_bank(session: Session, bp: Blueprint, view: _OutlineView) -> None:
    problems = []
    known = {r.code: r for r in view.ranges}
    if bp.content:
        for code in bp.content.ranges:
            if code not in known:
                problems.append(f"field content.ranges.{code}: the outline has no range {code!r}")
        for depth in bp.content.depths:
            if not any(r.depth == depth for r in view.ranges):
                deepest = max((r.depth for r in view.ranges), default=0)
                problems.append(f"field content.depth: the outline has no weighted ranges at depth {depth} (it goes to depth {deepest})")
    if bp.fixed:
        found = set(session.scalars(select(Item.code).where(Item.code.in_(bp.fixed))))
        problems += [f"field fixed: no item {c!r} in the bank" for c in bp.fixed if c not in found]
    if problems:
        raise ValidationError("\n".join(f"blueprint {bp.code}, {p}" for p in problems))


def _store(session: Session, user: User, bp: Blueprint, occupation: Occupation) -> tuple[BlueprintRow, bool]:
    latest = session.scalars(
        select(BlueprintRow).where(BlueprintRow.code == bp.code).order_by(BlueprintRow.version.desc()).limit(1)
    ).first()
    digest = bp.digest()
    if latest is not None and latest.digest == digest:
        return latest, False
    row = BlueprintRow(
        code=bp.code, version=(latest.version + 1) if latest else 1, occupation_id=occupation.id, level=bp.level,
        kind=bp.kind, title=bp.title, document=canonical_json(bp.document()), digest=digest, created_by=user.username,
    )  # fmt: skip
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except SAIntegrityError:
        raise ConflictError(f"blueprint {bp.code}: another import stored version {row.version} at the same moment; nothing was stored, run it again") from None
    audit(session, user, "blueprint.import", "blueprint", bp.code, version=row.version, digest=digest)
    return row, True


def _parsed(row: BlueprintRow) -> Blueprint:
    return parse_blueprint(json.loads(row.document), f"blueprint {row.code} v{row.version}")


def _stored(session: Session, ref: str, version: int | None = None) -> BlueprintRow:
    code, _, at = ref.partition("@")
    if at and version is None:
        if not at.isdigit():
            raise ValidationError(f"{ref!r}: write a version as ID@N, e.g. {code}@2")
        version = int(at)
    q = select(BlueprintRow).where(BlueprintRow.code == code)
    q = q.where(BlueprintRow.version == version) if version else q.order_by(BlueprintRow.version.desc()).limit(1)
    row = session.scalars(q).first()
    if row is None:
        try:
            row = session.get(BlueprintRow, uuid.UUID(ref))
        except ValueError:
            row = None
    if row is None:
        raise NotFoundError(f"no stored blueprint {ref!r}" + (f" version {version}" if version else "") + " (import it with `examvault blueprint import FILE`)")
    return row


def bank_context(session: Session, bp: Blueprint) -> BankContext:
    """The occupation and outline a blueprint names, after checking its references against them."""
    occupation, outline = _occupation_and_outline(session, bp)
    context = BankContext(occupation, outline, _outline_view(session, outline))
    _check_against_bank(session, bp, context.view)
    return context


def _import_file(session: Session, user: User, path: Path) -> tuple[BlueprintRow, Blueprint, bool]:
    bp = load_blueprint(path)
    row, created = _store(session, user, bp, bank_context(session, bp).occupation)
    return row, bp, created


def _resolve(session: Session, user: User, ref: str, *, store: bool) -> tuple[BlueprintRow | None, Blueprint]:
    """A stored blueprint's id (ID or ID@VERSION), or a YAML/JSON file, imported when `store`."""
    path = Path(ref)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file():
        if store:
            row, bp, _created = _import_file(session, user, path)
            return row, bp
        return None, load_blueprint(path)
    row = _stored(session, ref)
    return row, _parsed(row)


def import_blueprint(bank: Bank, path: Path) -> dict[str, Any]:
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "blueprint.write")
        row, _bp, created = _import_file(session, user, path)
        return _blueprint_summary(row) | {"created": created}


def _blueprint_summary(row: BlueprintRow) -> dict[str, Any]:
    doc = json.loads(row.document)
    return {
        "id": row.code, "version": row.version, "uuid": str(row.id), "occupation": doc["occupation"], "level": row.level,
        "kind": row.kind, "title": row.title, "forms": doc["forms"], "total_points": doc["total_points"],
        "sections": [f"{s['type']} {s['count']}" for s in doc["sections"]], "digest": row.digest,
        "created_by": row.created_by, "created_at": row.created_at.isoformat(),
    }  # fmt: skip


def list_blueprints(bank: Bank) -> list[dict[str, Any]]:
    with bank.transaction() as session:
        bank.actor(session, "blueprint.read")
        rows = session.scalars(select(BlueprintRow).order_by(BlueprintRow.code, BlueprintRow.version))
        return [_blueprint_summary(r) for r in rows]


def show_blueprint(bank: Bank, ref: str, *, version: int | None = None) -> dict[str, Any]:
    with bank.transaction() as session:
        bank.actor(session, "blueprint.read")
        row = _stored(session, ref, version)
        return _blueprint_summary(row) | {"document": json.loads(row.document)}


# ---------------------------------------------------------------- the pool


def build_pool(session: Session, bp: Blueprint, context: BankContext, now: datetime) -> Pool:
    """Active items of the occupation and level, less what exposure rules out, as metadata."""
    view = context.view
    cols = (Item.id, Item.code, Item.current_version, Item.type, Item.points, Item.difficulty, Item.p_value,
            Item.discrimination, Item.point_id, Item.enemy_group, Item.parent_id, Item.source, Item.usage_count,
            Item.last_used_at, Item.status)  # fmt: skip
    mine = (Item.occupation_id == context.occupation.id, Item.level == bp.level)
    rows = session.execute(select(*cols).where(*mine, Item.status == ELIGIBLE_STATUS)).all()
    codes = {r.id: r.code for r in rows}
    # Children not (yet) active break their set; drafts elsewhere in the bank are not read at all.
    unready = set(session.scalars(
        select(Item.parent_id).where(*mine, Item.parent_id.is_not(None), Item.status.not_in((ELIGIBLE_STATUS, "retired")))
    ))  # fmt: skip
    cutoff = now - timedelta(days=bp.exclude_used_within_days) if bp.exclude_used_within_days is not None else None
    excluded: Counter[str] = Counter()
    ok: dict[uuid.UUID, Any] = {}
    for r in rows:
        if r.type != domain.SET_TYPE and r.point_id not in view.points:  # e.g. a point of the skill outline
            excluded[f"not on the {bp.kind} outline"] += 1
        elif r.source == EXPERT_SOURCE and r.code not in bp.fixed:
            excluded["专家命题 (written for one paper)"] += 1
        elif bp.max_uses is not None and r.usage_count >= bp.max_uses:
            excluded[f"used {bp.max_uses}+ times"] += 1
        elif cutoff is not None and r.last_used_at is not None and r.last_used_at > cutoff:
            excluded[f"used within {bp.exclude_used_within_days} days"] += 1
        else:
            ok[r.id] = r
    # A 组合 set is all-or-none: any child that is not eligible takes the whole set out.
    broken = unready | {r.parent_id for r in rows if r.parent_id is not None and r.id not in ok}
    items = []
    for r in ok.values():
        if r.id in broken or (r.parent_id is not None and (r.parent_id in broken or r.parent_id not in ok)):
            excluded["组合 set not wholly eligible"] += 1
            continue
        point = view.points.get(r.point_id) if r.point_id else None
        items.append(PoolItem(
            str(r.id), r.code, r.current_version, r.type, float(r.points), r.difficulty, r.p_value, r.discrimination,
            point[0] if point else None, point[1] if point else (), point[2] if point else None, r.enemy_group,
            codes.get(r.parent_id) if r.parent_id else None, r.source, r.usage_count,
        ))  # fmt: skip
    return Pool(items, view.ranges, now.isoformat(), dict(excluded))


def _problem(bp: Blueprint, pool: Pool) -> tuple[model.Problem, dict[str, str]]:
    units, skipped = build_units(bp, pool)
    return model.Problem(bp, pool, units, model.build_rows(bp, pool, units)), skipped


def _check_fixed(bp: Blueprint, problem: model.Problem, skipped: dict[str, str], pool: Pool) -> None:
    in_units = set().union(*(u.codes for u in problem.units)) if problem.units else set()
    in_pool = {i.code for i in pool.items}
    problems = []
    for code in bp.fixed:
        if code not in in_units:
            why = skipped.get(code) or ("not active, or left out by the exposure rules" if code not in in_pool else "not eligible")
            problems.append(f"blueprint {bp.code}, field fixed: item {code} cannot be placed: {why}")
    fixed_slots = sum(u.count for u in problem.units if u.codes & set(bp.fixed))
    if bp.fixed and len(bp.forms) > 1 and model.overlap_limit(bp) < fixed_slots:
        problems.append(f"blueprint {bp.code}, field fixed: fixed items fill {fixed_slots} slots in every form, but max_overlap allows {model.overlap_limit(bp)} shared slots")
    if problems:
        raise ValidationError("\n".join(problems))


def _supply_lines(bp: Blueprint, problem: model.Problem) -> list[str]:
    lines = ["Eligible units per section (active, not ruled out by exposure):"]
    for n, s in enumerate(bp.sections):
        have = sum(u.count for u in problem.units if u.section == n)
        lines.append(f"  - section {s.type}: {have} eligible for {s.bank_count} per form × {len(bp.forms)} forms")
    return lines


# ---------------------------------------------------------------- check


def check_blueprint(bank: Bank, ref: str, *, time_limit: float = 20.0) -> dict[str, Any]:
    """Coverage before assembling, and whether a paper exists (with the diagnosis when not).

    `feasible` is true, false, or None when the solver ran out of time without deciding.
    """
    with bank.transaction() as session:
        user = bank.actor(session, "blueprint.read")
        row, bp = _resolve(session, user, ref, store=False)
        context = bank_context(session, bp)
        pool = build_pool(session, bp, context, utcnow())
        weak = _weak_points(session, context, bp)
    problem, skipped = _problem(bp, pool)  # the solver runs outside the transaction
    report: dict[str, Any] = {
        "blueprint": bp.code, "version": row.version if row else None, "eligible_items": len(pool.items),
        "excluded": pool.excluded, "not_placeable": len(skipped), "coverage": _coverage(bp, problem),
        "weak_points": weak, "disjoint_forms": _disjoint_forms(problem, time_limit), "notes": [], "shortfalls": [],
    }  # fmt: skip
    try:
        _check_fixed(bp, problem, skipped, pool)
        solution = model.solve(problem, 0, time_limit=time_limit)
        report["feasible"] = True
        report["solve_seconds"] = round(solution.seconds, 3)
    except ValidationError as exc:
        report["feasible"] = False
        report["shortfalls"] = [{"form": None, "row": "fixed", "message": str(exc)}]
    except model.NoSolution as exc:
        if exc.status == "time limit":
            report["feasible"] = None
            report["notes"] = [f"the solver neither found a paper nor proved there is none within {time_limit:g} s"]
            return report
        report["feasible"] = False
        shortfalls, report["notes"] = _diagnose(problem, time_limit)
        report["shortfalls"] = [
            {"form": s.form, "row": s.row.label, "needed": s.needed, "reached": s.reached, "short": s.short, "message": s.message}
            for s in shortfalls
        ]
    return report


def _coverage(bp: Blueprint, problem: model.Problem) -> list[dict[str, Any]]:
    """Eligible items per section × top-level range × importance × difficulty."""
    cells: Counter[tuple[str, str, str, int]] = Counter()
    for u in problem.units:
        section = bp.sections[u.section].type
        for it in u.items:
            cells[(section, it.ranges[0] if it.ranges else "-", it.importance or "-", it.difficulty)] += 1
    return [
        {"section": s, "range": r, "importance": i, "difficulty": d, "items": n}
        for (s, r, i, d), n in sorted(cells.items())
    ]


def _weak_points(session: Session, context: BankContext, bp: Blueprint) -> list[dict[str, Any]]:
    view = context.view
    counts = dict(
        session.execute(
            select(Item.point_id, func.count()).where(
                Item.occupation_id == context.occupation.id, Item.level == bp.level, Item.status == ELIGIBLE_STATUS,
                Item.type != domain.SET_TYPE,
            ).group_by(Item.point_id)
        ).all()
    )  # fmt: skip
    return [
        {"point": code, "importance": importance, "active_items": counts.get(pid, 0)}
        for pid, (code, _r, importance) in sorted(view.points.items(), key=lambda kv: kv[1][0])
        if counts.get(pid, 0) < WEAK_POINT
    ]


def _disjoint_forms(problem: model.Problem, time_limit: float) -> dict[str, Any]:
    """How many disjoint forms the bank could supply.

    `supply_bound`: no rule's supply would last for more. `union_feasible`: the largest m for
    which the solver can choose the items of m forms together, every bound times m — a
    necessary condition; splitting them into forms is what assembling does.
    """
    bound = 10**6
    for row in problem.rows:
        if row.kind == "enemy" or row.lo <= 0:
            continue
        supply = sum(v for v in row.coef.values() if v > 0)
        bound = min(bound, int(supply // row.lo))
    bound = min(bound, 50)
    confirmed, lo, hi = 0, 1, bound  # binary search: if m forms' union exists, so does m − 1's
    while lo <= hi:
        m = (lo + hi) // 2
        try:
            model.union_for(problem, m, time_limit=max(time_limit / 4, 1.0))
            confirmed, lo = m, m + 1
        except model.NoSolution:
            hi = m - 1
    return {"supply_bound": bound, "union_feasible": confirmed}


def _diagnose(problem: model.Problem, time_limit: float) -> tuple[list[model.Shortfall], list[str]]:
    """The elastic diagnosis, or a plain note when even that does not finish in time."""
    try:
        return model.diagnose(problem, time_limit=time_limit), []
    except model.NoSolution:
        return [], [f"(the diagnosis itself did not finish within {time_limit:g} s; the coverage below is what the bank holds)"]


# ---------------------------------------------------------------- assembly


def _paper_codes(session: Session, count: int, now: datetime) -> int:
    seq = locked_sequence(session, f"P{now:%Y}-")
    n = seq.next_value
    seq.next_value = n + count
    return n


def _layout_digest(layouts: dict[str, list[Entry]]) -> str:
    doc = {
        form: [[e.position, e.section, e.type, e.item.id if e.item else None, e.item.version if e.item else None, e.points, e.parent, e.option_seed]
               for e in entries]
        for form, entries in layouts.items()
    }  # fmt: skip
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def _derive(problem: model.Problem, skipped: dict[str, str], seed: int, time_limit: float | None,
            gap: float | None) -> tuple[model.Solution, dict[str, list[Entry]]]:  # fmt: skip
    bp = problem.bp
    _check_fixed(bp, problem, skipped, problem.pool)
    solution = model.solve(problem, seed, time_limit=time_limit, gap=gap)
    layouts = {form: lay_out(bp, problem.units, solution.forms[f], seed, f) for f, form in enumerate(bp.forms)}
    return solution, layouts


def _solver_inputs(seed: int | None, time_limit: float | None, gap: float | None) -> tuple[int, float | None, float | None]:
    problems = []
    if seed is not None and not 0 <= seed <= MAX_SEED:
        problems.append(f"seed {seed} must be 0..{MAX_SEED}")
    if time_limit is not None and not 0 < time_limit <= 3600:
        problems.append(f"time limit {time_limit:g} s must be more than 0 and at most 3600")
    if gap is not None and not 0 <= gap < 1:
        problems.append(f"gap {gap:g} must be a share 0..1")
    if problems:
        raise ValidationError("; ".join(problems))
    return (seed if seed is not None else secrets.randbelow(2**31)), time_limit, gap


def _for_forms(bp: Blueprint, forms: list[str] | None) -> Blueprint:
    if not forms:
        return bp
    labels = [f.strip().upper() for f in forms if f.strip()]
    return parse_blueprint(bp.document() | {"forms": labels}, f"--forms {','.join(forms)}")


def assemble(
    bank: Bank,
    ref: str,
    *,
    forms: list[str] | None = None,
    seed: int | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
) -> list[dict[str, Any]]:
    """Assemble every form in one model and store them as draft papers (all or none).

    The solver runs between two transactions, so it never holds the bank's write lock: the
    second transaction stores the papers only if the bank still offers exactly the pool
    that was solved (same blueprint, same eligible items, same exposure history).
    """
    seed, time_limit, gap = _solver_inputs(seed, time_limit, gap)
    with bank.transaction() as session:
        user = bank.actor(session, "paper.assemble")
        _row, bp = _resolve(session, user, ref, store=False)
        bp = _for_forms(bp, forms)
        context = bank_context(session, bp)
        now = utcnow()
        pool = build_pool(session, bp, context, now)
    limit = time_limit if time_limit is not None else bp.time_limit
    used_gap = gap if gap is not None else bp.gap
    problem, skipped = _problem(bp, pool)
    try:
        solution, layouts = _derive(problem, skipped, seed, limit, used_gap)
    except model.NoSolution as exc:
        if exc.status == "time limit":
            raise ValidationError(
                f"blueprint {bp.code}: the solver found no paper within {limit:g} s; nothing was stored. "
                "Raise solver.time_limit or run `examvault blueprint check` to see the coverage."
            ) from None
        shortfalls, notes = _diagnose(problem, 30.0)
        raise AssemblyInfeasible(bp.code, shortfalls, notes + _supply_lines(bp, problem)) from None
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "paper.assemble")
        row, stored = _resolve(session, user, ref, store=True)
        assert row is not None
        again = build_pool(session, bp, bank_context(session, bp), now)
        if _for_forms(stored, forms).digest() != bp.digest() or again.ranges != pool.ranges or set(again.items) != set(pool.items):
            raise ConflictError(
                f"blueprint {bp.code}: the bank changed while the solver ran (a paper was approved, or an item or the "
                "blueprint changed); nothing was stored. Run the command again."
            )
        snapshot = canonical_json(pool.document()).encode()
        assembly = Assembly(
            blueprint_id=row.id, seed=seed, forms=",".join(bp.forms), solver=model.SOLVER, strategy=solution.strategy,
            solver_status=solution.status, seconds=solution.seconds, time_limit=limit, gap=used_gap,
            snapshot_sha256=hashlib.sha256(snapshot).hexdigest(), snapshot=gzip.compress(snapshot, mtime=0),
            layout_sha256=_layout_digest(layouts), created_by=user.username,
        )  # fmt: skip
        session.add(assembly)
        session.flush()
        serial = _paper_codes(session, 1, now)
        ids = {i.code: uuid.UUID(i.id) for i in pool.items}
        papers = []
        for form, entries in layouts.items():
            paper = Paper(
                code=f"P{now:%Y}-{serial:04d}-{form}", assembly_id=assembly.id, blueprint_id=row.id, form=form,
                total_points=bp.total_points, created_by=user.username,
                entries=[_paper_item(e, ids) for e in entries],
            )  # fmt: skip
            session.add(paper)
            papers.append(paper)
        session.flush()
        audit(session, user, "paper.assemble", "assembly", str(assembly.id), blueprint=bp.code, version=row.version,
              seed=seed, forms=list(bp.forms), papers=[p.code for p in papers], snapshot_sha256=assembly.snapshot_sha256)  # fmt: skip
        for p in papers:
            record(bank, session, "paper.assembled", user.username, paper=p.code,
                   details={"blueprint": bp.code, "blueprint_version": row.version, "seed": seed, "layout_sha256": assembly.layout_sha256})  # fmt: skip
        return [_paper_summary(p) for p in papers]


def _paper_item(e: Entry, ids: dict[str, uuid.UUID]) -> PaperItem:
    it = e.item
    return PaperItem(
        position=e.position, section=e.section, item_id=uuid.UUID(it.id) if it else None, version=it.version if it else None,
        type=e.type, points=Decimal(str(e.points)), point_code=it.point_code if it else None,
        range_codes="/".join(it.ranges) if it else "", importance=it.importance if it else None,
        difficulty=it.difficulty if it else None, parent_item_id=ids.get(e.parent) if e.parent else None,
        option_seed=e.option_seed, expert_slot=it is None,
    )  # fmt: skip


def _paper_summary(p: Paper) -> dict[str, Any]:
    return {
        "id": str(p.id), "code": p.code, "form": p.form, "status": p.status, "blueprint": p.blueprint.code,
        "blueprint_version": p.blueprint.version, "seed": p.assembly.seed, "total_points": float(p.total_points),
        "items": sum(1 for e in p.entries if e.type != domain.SET_TYPE), "open_expert_slots": sum(1 for e in p.entries if e.expert_slot and e.item_id is None),
        "approvals": [a.approver for a in p.approvals], "created_by": p.created_by, "created_at": p.created_at.isoformat(),
    }  # fmt: skip


def _paper(session: Session, ref: str, *, lock: bool = False) -> Paper:
    match = Paper.code == ref
    with contextlib.suppress(ValueError):  # an id works as well as a code
        match = match | (Paper.id == uuid.UUID(ref))
    q = select(Paper).where(match)
    if lock:
        q = q.with_for_update(of=Paper.__table__)
    paper = session.scalars(q).unique().first()
    if paper is None:
        raise NotFoundError(f"no paper {ref!r} (see `examvault paper list`)")
    return paper


def paper_by_ref(session: Session, ref: str) -> Paper:
    """A paper by its code (P2026-0001-A) or id; for the export and later capabilities."""
    return _paper(session, ref)


def blueprint_of(paper: Paper) -> Blueprint:
    return _parsed(paper.blueprint)


def list_papers(bank: Bank, *, status: str | None = None, blueprint: str | None = None) -> list[dict[str, Any]]:
    with bank.transaction() as session:
        bank.actor(session, "paper.list")
        q = select(Paper).order_by(Paper.created_at, Paper.code)
        if status:
            q = q.where(Paper.status == status)
        if blueprint:
            q = q.join(BlueprintRow, BlueprintRow.id == Paper.blueprint_id).where(BlueprintRow.code == blueprint)
        return [_paper_summary(p) for p in session.scalars(q).unique()]


def show_paper(bank: Bank, ref: str) -> dict[str, Any]:
    """The paper's layout; the form's key only for roles allowed to see keys (audited)."""
    with bank.transaction() as session:
        user = bank.actor(session, "paper.list")
        paper = _paper(session, ref)
        bp = _parsed(paper.blueprint)
        with_key = allowed(user.roles, "paper.key")
        ids = {e.item_id for e in paper.entries if e.item_id}
        codes = dict(session.execute(select(Item.id, Item.code).where(Item.id.in_(ids))).all()) if ids else {}
        answers = _form_key(bank, session, paper) if with_key else {}
        items = []
        for e in paper.entries:
            entry: dict[str, Any] = {
                "position": e.position, "section": bp.sections[e.section].type, "section_title": bp.sections[e.section].title,
                "item_id": str(e.item_id) if e.item_id else None, "item_code": codes.get(e.item_id), "version": e.version,
                "type": e.type, "points": float(e.points), "point_code": e.point_code,
                "range_codes": e.range_codes.split("/") if e.range_codes else [], "importance": e.importance,
                "difficulty": e.difficulty, "expert_slot": e.expert_slot,
                "parent": codes.get(e.parent_item_id) if e.parent_item_id and e.parent_item_id != e.item_id else None,
            }  # fmt: skip
            if with_key:
                entry["answer"] = answers.get(e.position)
            items.append(entry)
        shown = _paper_summary(paper) | {
            "title": bp.title, "duration_minutes": bp.duration_minutes,
            "sections": [{"type": s.type, "title": s.title, "count": s.count, "points": float(s.points) if s.points is not None else None,
                          "total": float(s.total), "instructions": s.instructions} for s in bp.sections],
            "solver": paper.assembly.solver, "strategy": paper.assembly.strategy,
            "snapshot_sha256": paper.assembly.snapshot_sha256, "items": items,
        }  # fmt: skip
    if with_key:  # its own short write transaction; nothing is returned unless the read is on record
        with bank.transaction(write=True) as session:
            audit(session, bank.actor(session, "paper.key"), "paper.read_key", "paper", shown["code"])
    return shown


def opened_entries(bank: Bank, session: Session, paper: Paper, fields: tuple[str, ...] | None = None) -> dict[int, ItemContent]:
    """Position → the decrypted content of the item version placed there (one query for the paper)."""
    pinned = {(e.item_id, e.version): e.position for e in paper.entries if e.item_id}
    if not pinned:
        return {}
    v = ItemVersion.__table__
    keyring = bank.keyring(session)
    out = {}
    for row in session.execute(select(v).where(v.c.item_id.in_({i for i, _v in pinned}))).mappings():
        position = pinned.get((row["item_id"], row["version"]))
        if position is not None:
            out[position] = unpack(open_fields(keyring, ITEM_CONTENT, row, fields))
    return out


def form_answer_of(entry: PaperItem, content: ItemContent) -> str:
    """The answer as it reads on this form: choice letters mapped through the form's shuffle."""
    if entry.type in domain.CHOICE_TYPES:
        return form_answer(content.answer, permutation(entry.option_seed, len(content.options)))
    if entry.type in domain.SUBJECTIVE_TYPES:
        return content.answer or content.analysis
    return content.answer


def _form_key(bank: Bank, session: Session, paper: Paper) -> dict[int, Any]:
    opened = opened_entries(bank, session, paper, ("options", "answer", "analysis"))
    return {e.position: form_answer_of(e, opened[e.position]) for e in paper.entries if e.item_id and e.type != domain.SET_TYPE}


# ---------------------------------------------------------------- expert slots and approval


def fill_expert_slot(bank: Bank, ref: str, position: int, item_code: str) -> dict[str, Any]:
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "paper.expert")
        paper = _paper(session, ref, lock=True)
        if paper.status != "draft":
            raise ConflictError(f"paper {paper.code} is {paper.status}; expert slots are filled while it is a draft")
        entry = next((e for e in paper.entries if e.position == position), None)
        if entry is None or not entry.expert_slot:
            slots = [e.position for e in paper.entries if e.expert_slot]
            raise ValidationError(f"paper {paper.code} has no expert slot at position {position}; its expert slots are {slots or 'none'}")
        item = session.scalars(select(Item).where(Item.code == item_code)).first()
        if item is None:
            raise NotFoundError(f"no item {item_code!r} in the bank")
        bp = _parsed(paper.blueprint)
        section = bp.sections[entry.section]
        problems = []
        if item.source != EXPERT_SOURCE:
            problems.append(f"its source is {item.source}, not {EXPERT_SOURCE}")
        if item.type != section.type:
            problems.append(f"it is a {item.type} item and the slot is in the {section.type} section")
        if item.occupation_id != paper.blueprint.occupation_id or item.level != bp.level:
            problems.append(f"it belongs to another occupation or level than the paper (level {bp.level})")
        if Decimal(item.points) != entry.points:
            problems.append(f"it carries {domain.tidy(item.points)} points and the slot {domain.tidy(entry.points)}")
        if item.status == "retired":
            problems.append("it is retired")
        if any(e.item_id == item.id for e in paper.entries if e is not entry):
            problems.append("it is already on this paper")
        others = [e.item_id for e in paper.entries if e.item_id and e is not entry]
        if item.enemy_group and others and session.scalar(
            select(func.count()).where(Item.id.in_(others), Item.enemy_group == item.enemy_group)
        ):  # fmt: skip
            problems.append(f"an item of its enemy group {item.enemy_group} (互斥组) is already on this paper")
        if problems:
            raise ValidationError(f"item {item_code} cannot fill slot {position} of paper {paper.code}: " + "; ".join(problems))
        point = bank_context(session, bp).view.points.get(item.point_id) if item.point_id else None
        entry.item_id, entry.version = item.id, item.current_version
        entry.point_code, entry.range_codes, entry.importance = (point[0], "/".join(point[1]), point[2]) if point else (None, "", None)
        entry.difficulty = item.difficulty
        # An approval covers the paper as it was: changing a slot withdraws every approval given so far.
        withdrawn = [a.approver for a in paper.approvals]
        paper.approvals.clear()
        audit(session, user, "paper.expert_slot", "paper", paper.code, position=position, item=item.code,
              version=item.current_version, approvals_withdrawn=withdrawn)  # fmt: skip
        return _paper_summary(paper) | {"position": position, "item": item.code, "item_status": item.status, "approvals_withdrawn": withdrawn}


def paper_digest(paper: Paper) -> str:
    """What approvers sign: the paper's identity, its blueprint version, and every position's item version, points and option order."""
    doc = {
        "paper_id": str(paper.id), "code": paper.code, "form": paper.form, "blueprint": paper.blueprint.code,
        "blueprint_version": paper.blueprint.version, "blueprint_digest": paper.blueprint.digest,
        "positions": [[e.position, str(e.item_id) if e.item_id else None, e.version, str(e.points), e.option_seed] for e in paper.entries],
    }  # fmt: skip
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def _approval_signature(session: Session, user: User, paper: Paper, signer: SigningKey) -> tuple[str, dict[str, str]]:
    """The approver's own key, registered with the bank under their user name, signs the paper digest."""
    from examvault.crypto.parties import party
    from examvault.export.package import approval_message

    registered = party(session, user.username, ("approver",))
    if str(signer.verify_key) != registered.verify_key:
        raise PermissionDenied(f"the signing key given is not the one registered for approver {user.username!r}")
    digest = paper_digest(paper)
    return digest, signer.sign("approval", approval_message(paper.code, digest))


def approve_paper(bank: Bank, ref: str, *, signer: SigningKey | None = None) -> dict[str, Any]:
    """Two distinct approvers, neither the assembler. The second approval counts the exposure.

    With `signer`, the approval carries the approver's signature over the paper digest; a
    paper is sealed only with two such signatures. An approver who approved without one may
    approve again with their key to add it."""
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "paper.approve")
        paper = _paper(session, ref, lock=True)
        mine = next((a for a in paper.approvals if a.approver == user.username), None)
        if mine is not None and signer is not None and mine.signature is None and paper.status in ("draft", "approved"):
            mine.paper_digest, mine.signature = _approval_signature(session, user, paper, signer)
            audit(session, user, "paper.approve.sign", "paper", paper.code)
            record(bank, session, "paper.approved", user.username, paper=paper.code, details={"signature": mine.signature, "digest": mine.paper_digest})
            return _paper_summary(paper)
        if paper.status != "draft":
            raise ConflictError(f"paper {paper.code} is already {paper.status}")
        if user.username == paper.created_by:
            raise PermissionDenied(f"user {user.username!r} assembled paper {paper.code} and may not approve it")
        if mine is not None:
            raise ConflictError(f"user {user.username!r} has already approved paper {paper.code}; a second, different approver is needed")
        _check_ready(session, paper)
        digest, signature = _approval_signature(session, user, paper, signer) if signer is not None else (None, None)
        paper.approvals.append(PaperApproval(approver=user.username, at=utcnow(), paper_digest=digest, signature=signature))
        session.flush()
        if len({a.approver for a in paper.approvals}) >= 2:
            _count_use(session, paper, _parsed(paper.blueprint))
            paper.status = "approved"
            paper.approved_at = utcnow()
        audit(session, user, "paper.approve", "paper", paper.code, approvals=len(paper.approvals), status=paper.status)
        record(bank, session, "paper.approved", user.username, paper=paper.code,
               details={"signature": signature, "digest": digest, "status": paper.status})  # fmt: skip
        return _paper_summary(paper)


def _check_ready(session: Session, paper: Paper) -> None:
    """Every position holds an active item at the very version on the paper: what the approvers read."""
    open_slots = [e.position for e in paper.entries if e.expert_slot and e.item_id is None]
    if open_slots:
        raise ConflictError(f"paper {paper.code} has open expert slots (专家命题) at positions {open_slots}; fill them with `examvault paper expert`")
    pinned = {e.item_id: e.version for e in paper.entries if e.item_id}
    problems = []
    for code, item_id, status, version in session.execute(
        select(Item.code, Item.id, Item.status, Item.current_version).where(Item.id.in_(list(pinned))).order_by(Item.code)
    ):  # fmt: skip
        if status != ELIGIBLE_STATUS:
            problems.append(f"{code} is {status}")
        elif version != pinned[item_id]:
            problems.append(f"{code} is now version {version}; the paper holds version {pinned[item_id]}")
    if problems:
        raise ConflictError(
            f"paper {paper.code} cannot be approved: every item must be reviewed, active and unchanged since it was placed: "
            + "; ".join(problems[:20]) + (" …" if len(problems) > 20 else "")
            + ". Fill the expert slot again or assemble a new paper."
        )


def _count_use(session: Session, paper: Paper, bp: Blueprint) -> None:
    """Record the use of each item, holding the item rows locked so that two approvals cannot race past a cap."""
    ids = sorted({e.item_id for e in paper.entries if e.item_id})
    if not ids:
        return
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(ids)).order_by(Item.id).with_for_update())}
    uses: dict[uuid.UUID, list[tuple[uuid.UUID, datetime]]] = defaultdict(list)
    for item_id, assembly_id, used_at in session.execute(select(ItemUse.item_id, ItemUse.assembly_id, ItemUse.used_at).where(ItemUse.item_id.in_(ids))):
        uses[item_id].append((assembly_id, used_at))
    now = utcnow()
    cutoff = now - timedelta(days=bp.exclude_used_within_days) if bp.exclude_used_within_days is not None else None
    problems = []
    for item_id in ids:
        item = items[item_id]
        others = [(a, at) for a, at in uses[item_id] if a != paper.assembly_id]
        sibling = len(others) != len(uses[item_id])  # a form assembled together with this one was approved already
        count = len({a for a, _ in others})
        if not sibling and bp.max_uses is not None and count + 1 > bp.max_uses:
            problems.append(f"{item.code} has been used on {count} exams; the blueprint allows {bp.max_uses}")
        last = max((at for _a, at in others), default=None)
        if not sibling and cutoff is not None and last is not None and last > cutoff:
            problems.append(f"{item.code} was used on {last:%Y-%m-%d}, within {bp.exclude_used_within_days} days")
    if problems:
        raise ConflictError(
            f"paper {paper.code} cannot be approved: since it was assembled, other approved papers used its items:\n  "
            + "\n  ".join(problems[:20]) + ("\n  …" if len(problems) > 20 else "") + "\nassemble it again; nothing was changed"
        )
    for item_id in ids:
        item = items[item_id]
        others = {a for a, _ in uses[item_id] if a != paper.assembly_id}
        item.usage_count = len(others) + 1
        item.last_used_at = now
        session.add(ItemUse(item_id=item_id, paper_id=paper.id, assembly_id=paper.assembly_id, used_at=now))


def move_paper(bank: Bank, ref: str, action: str, *, reason: str = "") -> dict[str, Any]:
    """A paper's later life: seal (with its package), use (after the exam), archive."""
    move = PAPER_MOVES[action]
    with bank.transaction(write=True) as session:
        user = bank.actor(session, move.permission)
        paper = _paper(session, ref, lock=True)
        if paper.status not in move.sources:
            raise ConflictError(f"paper {paper.code} is {paper.status}; only a {' or '.join(move.sources)} paper can be {move.target}")
        before, paper.status = paper.status, move.target
        audit(session, user, f"paper.{action}", "paper", paper.code, **{"from": before, "to": move.target, "reason": reason})
        if action == "archive":
            record(bank, session, "paper.archived", user.username, paper=paper.code, details={"reason": reason})
        return _paper_summary(paper)


# ---------------------------------------------------------------- re-derivation


def verify_derivation(bank: Bank, ref: str) -> dict[str, Any]:
    """Re-solve from the stored blueprint version, seed and snapshot; the forms must come out identical."""
    with bank.transaction() as session:
        bank.actor(session, "paper.list")
        paper = _paper(session, ref)
        assembly = paper.assembly
        blob, recorded = assembly.snapshot, assembly.snapshot_sha256
        bp = _parsed(assembly.blueprint)
        bp = parse_blueprint(bp.document() | {"forms": assembly.forms.split(",")}, "assembly")
        stored = [(e.position, str(e.item_id) if e.item_id and not e.expert_slot else None, e.version if not e.expert_slot else None,
                   float(e.points), e.option_seed) for e in paper.entries]  # fmt: skip
        facts = {
            "paper": paper.code, "form": paper.form, "seed": assembly.seed, "blueprint": assembly.blueprint.code,
            "blueprint_version": assembly.blueprint.version, "snapshot_sha256": recorded, "solver_recorded": assembly.solver,
            "solver_now": model.SOLVER, "same_solver": assembly.solver == model.SOLVER, "layout_sha256": assembly.layout_sha256,
        }  # fmt: skip
        seed, limit, gap = assembly.seed, assembly.time_limit, assembly.gap
    # The solver runs outside any transaction; only the audit event is written afterwards.
    try:
        raw = gzip.decompress(blob)
        snapshot_ok = hashlib.sha256(raw).hexdigest() == recorded
        pool = Pool.from_document(json.loads(raw)) if snapshot_ok else None
    except (OSError, EOFError, ValueError, KeyError, TypeError, zlib.error):
        snapshot_ok, pool = False, None
    derived, mine = "not derived: the snapshot is damaged", []
    if pool is not None:
        try:
            _solution, layouts = _derive(*_problem(bp, pool), seed, limit, gap)
            derived, mine = _layout_digest(layouts), layouts[facts["form"]]
        except (model.NoSolution, ValidationError) as exc:
            derived = f"no solution: {exc}"
    rederived = [(e.position, e.item.id if e.item else None, e.item.version if e.item else None, e.points, e.option_seed) for e in mine]
    identical = snapshot_ok and derived == facts["layout_sha256"] and stored == rederived
    with bank.transaction(write=True) as session:
        audit(session, bank.actor(session, "paper.list"), "paper.verify_derivation", "paper", facts["paper"], identical=identical)
    return facts | {"snapshot_intact": snapshot_ok, "layout_rederived": derived, "paper_matches": stored == rederived, "identical": identical}
