"""Outlines (鉴定要素细目表): import with validation, and the tree for display."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.errors import NOTHING_IMPORTED, Issue, NotFoundError, ValidationError
from examvault.itembank import domain
from examvault.itembank.formats.fields import OUTLINE_FIELDS, OUTLINE_REQUIRED, RawRow
from examvault.itembank.formats.tabular import read_table
from examvault.itembank.models import Item, ItemVersion, Occupation, Outline, OutlineNode

_TOLERANCE = Decimal("0.01")


@dataclass
class _Node:
    code: str
    name: str
    parent: str | None
    weight: Decimal | None
    importance: str | None
    is_point: bool
    row: RawRow


@dataclass
class _Parsed:
    occupation: str
    occupation_name: str
    level: int
    kind: str
    nodes: dict[str, _Node]


@dataclass
class OutlineReport:
    outlines: list[dict[str, Any]]
    dry_run: bool


def _parse(rows: list[RawRow]) -> tuple[dict[tuple[str, int, str], _Parsed], list[Issue]]:
    issues: list[Issue] = []
    outlines: dict[tuple[str, int, str], _Parsed] = {}

    def bad(row: RawRow, name: str, message: str) -> None:
        issues.append(Issue(row.file, row.location, row.column(name) if name else "", message))

    for row in rows:
        try:
            level = domain.level(row.get("level"))
        except ValueError as exc:
            bad(row, "level", str(exc))
            continue
        kind = domain.KINDS.get(row.get("kind").strip())
        if kind is None:
            bad(row, "kind", f"类别 {row.get('kind')!r} must be 理论 or 技能")
            continue
        occ = row.get("occupation").strip()
        key = (occ, level, kind)
        parsed = outlines.setdefault(key, _Parsed(occ, row.get("occupation_name").strip(), level, kind, {}))
        if not parsed.occupation_name:
            parsed.occupation_name = row.get("occupation_name").strip()
        range_code = row.get("range_code").strip()
        point_code = row.get("point_code").strip()
        if point_code:
            importance = row.get("importance").strip().upper()
            if importance not in domain.IMPORTANCE:
                bad(row, "importance", f"重要程度 {row.get('importance')!r} must be X, Y or Z")
            if not row.get("point_name").strip():
                bad(row, "point_name", "鉴定点名称 is missing")
            if point_code in parsed.nodes:
                bad(row, "point_code", f"code {point_code!r} is defined twice ({parsed.nodes[point_code].row.location})")
                continue
            parsed.nodes[point_code] = _Node(
                point_code, row.get("point_name").strip(), range_code, None, importance, True, row
            )
        else:
            if not row.get("range_name").strip():
                bad(row, "range_name", "范围名称 is missing (a row without 鉴定点代码 defines a range)")
            weight = None
            try:
                weight = Decimal(domain.nfkc(row.get("weight").rstrip("%％")))
                if not weight.is_finite() or not 0 <= weight <= 100:
                    raise InvalidOperation
            except InvalidOperation:
                bad(row, "weight", f"鉴定比重 {row.get('weight')!r} must be a percentage 0..100")
            if range_code in parsed.nodes:
                bad(row, "range_code", f"code {range_code!r} is defined twice ({parsed.nodes[range_code].row.location})")
                continue
            parsed.nodes[range_code] = _Node(
                range_code, row.get("range_name").strip(), row.get("parent_range").strip() or None, weight, None, False, row
            )

    for parsed in outlines.values():
        children: dict[str | None, list[_Node]] = defaultdict(list)
        for node in parsed.nodes.values():
            parent = parsed.nodes.get(node.parent) if node.parent else None
            if node.parent and (parent is None or parent.is_point):
                col = "range_code" if node.is_point else "parent_range"
                what = "its range" if node.is_point else "its parent range"
                bad(node.row, col, f"{what} {node.parent!r} is not defined as a range in this outline")
            if node.is_point and not node.parent:
                bad(node.row, "range_code", "an assessment point needs 范围代码 (its range)")
            children[node.parent].append(node)
        top = [n for n in children[None] if not n.is_point]
        if not top:
            first = next(iter(parsed.nodes.values()), None)
            if first:
                bad(first.row, "", f"outline {parsed.occupation} level {parsed.level} has no top-level range")
            continue
        total = sum((n.weight or Decimal(0) for n in top), Decimal(0))
        if abs(total - 100) > _TOLERANCE:
            bad(top[0].row, "weight", f"top-level ranges' 鉴定比重 add up to {total}, not 100")
        for node in parsed.nodes.values():
            kids = children.get(node.code, [])
            sub = [k for k in kids if not k.is_point]
            if sub and any(k.is_point for k in kids):
                bad(node.row, "range_code", f"range {node.code!r} holds both sub-ranges and points; points belong to leaf ranges")
            if sub and node.weight is not None:
                s = sum((k.weight or Decimal(0) for k in sub), Decimal(0))
                if abs(s - node.weight) > _TOLERANCE:
                    bad(node.row, "weight", f"sub-ranges of {node.code!r} add up to {s}%, not its {node.weight}%")
            if not node.is_point and not kids:
                bad(node.row, "range_code", f"range {node.code!r} has neither sub-ranges nor assessment points")
    return outlines, issues


def import_outline(bank: Bank, path: Path, *, dry_run: bool = False, encoding: str | None = None) -> OutlineReport:
    rows = read_table(path, OUTLINE_FIELDS, OUTLINE_REQUIRED, encoding=encoding, list_key="outline")
    parsed, issues = _parse(rows)
    if issues:
        raise ValidationError(issues, outcome=NOTHING_IMPORTED)
    summaries = []
    with bank.transaction(commit=not dry_run, write=True) as session:
        user = bank.actor(session, "outline.write")
        for p in parsed.values():
            summaries.append(_store(session, p))
        for s in summaries:
            audit(session, user, "outline.import", "outline", f"{s['occupation']}/{s['level']}/{s['kind']}", file=path.name, **s)
    return OutlineReport(summaries, dry_run)


def _store(session: Session, p: _Parsed) -> dict[str, Any]:
    occ = session.scalars(select(Occupation).where(Occupation.code == p.occupation)).first()
    if occ is None:
        occ = Occupation(code=p.occupation, name=p.occupation_name or p.occupation)
        session.add(occ)
        session.flush()
    elif p.occupation_name and occ.name != p.occupation_name:
        occ.name = p.occupation_name
    outline = session.scalars(
        select(Outline).where(Outline.occupation_id == occ.id, Outline.level == p.level, Outline.kind == p.kind)
    ).first()
    existing: dict[str, OutlineNode] = {}
    dropped: list[OutlineNode] = []
    if outline is None:
        outline = Outline(occupation_id=occ.id, level=p.level, kind=p.kind)
        session.add(outline)
        session.flush()
    else:
        outline.revision += 1
        existing = {n.code: n for n in session.scalars(select(OutlineNode).where(OutlineNode.outline_id == outline.id))}
        dropped = [n for code, n in existing.items() if code not in p.nodes]
        _refuse_dropping_used(session, dropped, next(iter(p.nodes.values())).row.file)
    nodes: dict[str, OutlineNode] = {}
    for pos, node in enumerate(p.nodes.values()):
        row = existing.get(node.code) or OutlineNode(outline_id=outline.id, code=node.code)
        row.name, row.weight, row.importance, row.is_point, row.position = (
            node.name, node.weight, node.importance, node.is_point, pos,
        )
        session.add(row)
        nodes[node.code] = row
    session.flush()
    # Re-parent everything that stays before anything goes: a kept point may have lived
    # under a range that this revision removes.
    for node in p.nodes.values():
        nodes[node.code].parent_id = nodes[node.parent].id if node.parent else None
    for n in dropped:
        n.parent_id = None
    session.flush()
    for n in dropped:
        session.delete(n)
    session.flush()
    points = [n for n in p.nodes.values() if n.is_point]
    imp = {k: sum(1 for n in points if n.importance == k) for k in domain.IMPORTANCE}
    return {
        "occupation": p.occupation,
        "level": p.level,
        "kind": p.kind,
        "revision": outline.revision,
        "ranges": len(p.nodes) - len(points),
        "points": len(points),
        "importance": imp,
    }


def _refuse_dropping_used(session: Session, dropped: list[OutlineNode], file: str) -> None:
    """A point that any item, or any earlier version of one, points at cannot disappear."""
    if not dropped:
        return
    ids = [n.id for n in dropped]
    for table, column in ((Item, Item.point_id), (ItemVersion, ItemVersion.point_id)):
        used = session.execute(
            select(OutlineNode.code, func.count())
            .join(table, column == OutlineNode.id)
            .where(OutlineNode.id.in_(ids))
            .group_by(OutlineNode.code)
        ).first()
        if used:
            code, n = used
            what = "items use" if table is Item else "item versions use"
            raise ValidationError(
                [Issue(file, "", "鉴定点代码",
                       f"point {code!r} is missing from the new outline but {n} {what} it; keep it or move the items first")],
                outcome=NOTHING_IMPORTED,
            )  # fmt: skip


def find_outline(session: Session, occupation: str, level: int, kind: str = "theory") -> Outline:
    outline = session.scalars(
        select(Outline)
        .join(Occupation)
        .where(Occupation.code == occupation, Outline.level == level, Outline.kind == kind)
    ).first()
    if outline is None:
        raise NotFoundError(f"no {kind} outline for {occupation} level {level}")
    return outline


def outline_tree(bank: Bank, occupation: str, level: int, kind: str = "theory") -> dict[str, Any]:
    """The outline as a nested tree, with the number of active items per point."""
    with bank.transaction() as session:
        bank.actor(session, "outline.read")
        outline = find_outline(session, occupation, level, kind)
        counts = dict(
            session.execute(
                select(Item.point_id, func.count())
                .where(Item.status == "active", Item.point_id.is_not(None))
                .group_by(Item.point_id)
            ).all()
        )
        nodes = {n.id: n for n in outline.nodes}
        out: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
        for n in outline.nodes:
            entry: dict[str, Any] = {"code": n.code, "name": n.name}
            if n.is_point:
                entry |= {"importance": n.importance, "active_items": int(counts.get(n.id, 0))}
            else:
                entry |= {"weight": float(n.weight) if n.weight is not None else None}
            entry["_id"] = n.id
            out[n.parent_id].append(entry)

        def build(entry: dict[str, Any]) -> dict[str, Any]:
            node_id = entry.pop("_id")
            if not nodes[node_id].is_point:
                kids = [build(k) for k in out.get(node_id, [])]
                key = "points" if kids and "importance" in kids[0] else "ranges"
                entry[key] = kids
            return entry

        return {
            "occupation": outline.occupation.code,
            "occupation_name": outline.occupation.name,
            "level": outline.level,
            "kind": outline.kind,
            "revision": outline.revision,
            "ranges": [build(e) for e in out[None]],
        }
