"""The eligible-item snapshot: what assembly sees of the bank, and nothing more.

Pure. A `Pool` is metadata only (no item content), so it can be stored beside a paper
and hashed; `examvault paper verify-derivation` re-solves from the stored pool.
Items are grouped into *units*: a single item, or a 组合 set with its children, which
is drawn all-or-none and kept together.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from examvault.assembly.blueprint import PLANNED_P, Blueprint, canonical_json
from examvault.itembank import domain

_NORMAL = NormalDist()
_D = 1.702  # logistic ≈ normal-ogive scaling


@dataclass(frozen=True)
class PoolItem:
    id: str
    code: str
    version: int
    type: str
    points: float  # the bank's points; a section with fixed points overrides them on the paper
    difficulty: int  # planned 1..5
    p: float | None  # empirical, once statistics exist
    discrimination: float | None
    point_code: str | None
    ranges: tuple[str, ...]  # enclosing outline ranges, top level first
    importance: str | None
    enemy_group: str | None
    parent: str | None  # code of the 组合 set this item belongs to
    source: str
    uses: int

    def row(self) -> list[Any]:
        return [self.id, self.code, self.version, self.type, self.points, self.difficulty, self.p,
                self.discrimination, self.point_code, list(self.ranges), self.importance, self.enemy_group,
                self.parent, self.source, self.uses]  # fmt: skip

    @classmethod
    def from_row(cls, row: list[Any]) -> PoolItem:
        (id_, code, version, type_, points, difficulty, p, disc, point, ranges, importance, enemy, parent, source, uses) = row
        return cls(id_, code, version, type_, points, difficulty, p, disc, point, tuple(ranges), importance, enemy, parent, source, uses)

    @property
    def effective_p(self) -> float:
        return self.p if self.p is not None else PLANNED_P[self.difficulty]

    def information(self, theta: float) -> float:
        """2PL item information from classical statistics (Lord's normal-ogive conversion).

        Items without statistics get r = 0.7 (a ≈ 0.98) and b from their planned difficulty.
        """
        r = min(max(self.discrimination if self.discrimination is not None else 0.7, 0.05), 0.95)
        a = r / math.sqrt(1 - r * r)
        p = min(max(self.effective_p, 0.01), 0.99)
        b = _NORMAL.inv_cdf(1 - p) / r
        prob = 1 / (1 + math.exp(-_D * a * (theta - b)))
        return (_D * a) ** 2 * prob * (1 - prob)


@dataclass(frozen=True)
class RangeWeight:
    code: str
    name: str
    depth: int
    weight: float  # % of the paper's points


@dataclass
class Pool:
    items: list[PoolItem]
    ranges: list[RangeWeight]
    as_of: str  # ISO time the exposure filter was applied at
    excluded: dict[str, int] = field(default_factory=dict)  # reason → items left out (for `check`)

    def document(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "ranges": [[r.code, r.name, r.depth, r.weight] for r in self.ranges],
            "items": [i.row() for i in sorted(self.items, key=lambda i: i.code)],
        }

    def digest(self) -> str:
        return hashlib.sha256(canonical_json(self.document()).encode()).hexdigest()

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Pool:
        return cls(
            [PoolItem.from_row(r) for r in doc["items"]],
            [RangeWeight(c, n, d, w) for c, n, d, w in doc["ranges"]],
            doc["as_of"],
        )


@dataclass
class Unit:
    """What the model selects: one item, or a whole 组合 set (parent first, then children)."""

    index: int
    section: int
    items: tuple[PoolItem, ...]  # scorable items: the item itself, or the set's children
    parent: PoolItem | None
    count: int  # slots it fills in its section: 1, or the number of children in a typed section
    paper_points: tuple[float, ...]  # per scorable item, as printed on the paper

    @property
    def key(self) -> str:
        return self.parent.code if self.parent else self.items[0].code

    @property
    def points(self) -> float:
        return sum(self.paper_points)

    @property
    def codes(self) -> set[str]:
        return {i.code for i in self.items} | ({self.parent.code} if self.parent else set())

    @property
    def enemy_groups(self) -> set[str]:
        members = (*self.items, self.parent) if self.parent else self.items
        return {i.enemy_group for i in members if i and i.enemy_group}


def build_units(bp: Blueprint, pool: Pool) -> tuple[list[Unit], dict[str, str]]:
    """Units per section, and why each left-out item was left out (code → reason)."""
    by_type = {s.type: n for n, s in enumerate(bp.sections)}
    set_section = by_type.get(domain.SET_TYPE)
    children: dict[str, list[PoolItem]] = {}
    parents: dict[str, PoolItem] = {}
    for item in pool.items:
        if item.type == domain.SET_TYPE:
            parents[item.code] = item
        elif item.parent:
            children.setdefault(item.parent, []).append(item)
    units: list[Unit] = []
    skipped: dict[str, str] = {}
    subjective_ok = bp.level <= 2 or bp.allow_subjective

    def section_points(section: int, item: PoolItem) -> float | None:
        s = bp.sections[section]
        if s.points is None:
            return item.points
        if item.type in domain.SUBJECTIVE_TYPES and float(s.points) != item.points:
            return None  # a rubric is written for the item's own points
        return float(s.points)

    for item in sorted(pool.items, key=lambda i: i.code):
        if item.type == domain.SET_TYPE or item.parent:
            continue
        n = by_type.get(item.type)
        if n is None:
            skipped[item.code] = f"no {item.type} section"
            continue
        pts = section_points(n, item)
        if pts is None:
            skipped[item.code] = f"{item.points:g} points, the section gives {bp.sections[n].points}"
            continue
        units.append(Unit(len(units), n, (item,), None, 1, (pts,)))
    for code, parent in sorted(parents.items()):
        kids = sorted(children.get(code, []), key=lambda i: i.code)
        if not kids:
            skipped[code] = "组合 set without active children"
            continue
        if not subjective_ok and any(k.type in domain.SUBJECTIVE_TYPES for k in kids):
            skipped[code] = "组合 set with subjective children in an objective paper"
            continue
        kid_types = {k.type for k in kids}
        if set_section is not None:
            units.append(Unit(len(units), set_section, tuple(kids), parent, 1, tuple(k.points for k in kids)))
        elif len(kid_types) == 1 and (n := by_type.get(kid_types.pop())) is not None:
            pts_list = [section_points(n, k) for k in kids]
            if any(p is None for p in pts_list):
                skipped[code] = "组合 set whose children's points differ from the section's"
                continue
            units.append(Unit(len(units), n, tuple(kids), parent, len(kids), tuple(p for p in pts_list if p is not None)))
        else:
            skipped[code] = "组合 set with no 组合 section to sit in"
    orphans = {i.code for k in set(children) - set(parents) for i in children[k]}
    for code in orphans:
        skipped[code] = "its 组合 set is not active"
    return units, skipped
