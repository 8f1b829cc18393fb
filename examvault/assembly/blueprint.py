"""Blueprints (组卷方案): parse and validate a YAML/JSON document into a `Blueprint`.

Pure: no database. Everything a document can get wrong without looking at the bank
is caught here and reported at once, each problem naming its field path
(`sections[2].points`). Checks that need the bank — does the occupation exist, do
the named ranges — live in the service. docs/blueprint.md is the schema for users;
keep the two in step.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from examvault.crypto.signing import canonical_json as canonical_bytes
from examvault.errors import Issue, ValidationError
from examvault.itembank import domain

NOTHING_STORED = "nothing was stored"

_TOP_FIELDS = {
    "id", "occupation", "level", "kind", "title", "duration_minutes", "total_points", "forms",
    "max_overlap", "shuffle_options", "shuffle_items", "allow_subjective", "sections", "content",
    "importance", "difficulty", "information", "exposure", "fixed", "solver", "notes",
}  # fmt: skip
_SECTION_FIELDS = {"type", "count", "points", "total", "instructions", "title", "expert_slots", "partial"}
_FORM_LABEL = re.compile(r"^[A-Z][A-Z0-9]{0,3}$")
_BOUND = re.compile(r"^\s*(>=|≥|<=|≤|=|==)?\s*([0-9.]+)\s*(%?)\s*$")
# Planned difficulty 1..5 as the middle of its default p-value band; used for items
# without empirical statistics when a blueprint constrains p (DESIGN: ≥0.8, 0.6–0.8, …).
PLANNED_P = {1: 0.9, 2: 0.7, 3: 0.5, 4: 0.3, 5: 0.1}
SECTION_NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class Band:
    """A closed interval; either end may be open (None)."""

    lo: float | None = None
    hi: float | None = None

    def contains(self, value: float, slack: float = 1e-9) -> bool:
        return (self.lo is None or value >= self.lo - slack) and (self.hi is None or value <= self.hi + slack)

    def __str__(self) -> str:
        if self.lo is not None and self.hi is not None:
            return f"{self.lo:g}..{self.hi:g}" if self.lo != self.hi else f"= {self.lo:g}"
        return f">= {self.lo:g}" if self.lo is not None else f"<= {self.hi:g}"


@dataclass(frozen=True)
class Section:
    type: str
    count: int
    points: Decimal | None  # per item; None = each item keeps its bank points ("own")
    total: Decimal  # the section's points
    instructions: str
    title: str
    expert_slots: int = 0
    partial: Decimal | None = None  # 多选: this fraction of the points for a correct proper subset (none: all or nothing)

    @property
    def bank_count(self) -> int:
        """Slots assembly fills from the bank; expert slots are written for the paper."""
        return self.count - self.expert_slots

    @property
    def bank_points(self) -> Decimal:
        if self.points is None:
            # Expert slots in an "own points" section take an equal share of its total.
            return self.total - self.total * self.expert_slots / self.count
        return self.points * self.bank_count


@dataclass(frozen=True)
class Content:
    depths: tuple[int, ...] = (1,)  # outline depths whose ranges are constrained (1 = top level)
    tolerance: float = 0.02
    ranges: dict[str, float] = field(default_factory=dict)  # explicit shares overriding the outline


@dataclass(frozen=True)
class Information:
    theta: tuple[float, ...]
    tolerance: float
    target: tuple[float, ...] | None  # per form; None = the pool's mean item information × items


@dataclass(frozen=True)
class Blueprint:
    code: str
    occupation: str
    level: int
    kind: str
    title: str
    duration_minutes: int
    total_points: Decimal
    forms: tuple[str, ...]
    max_overlap: float
    shuffle_options: bool
    shuffle_items: bool
    allow_subjective: bool
    sections: tuple[Section, ...]
    content: Content | None
    importance: dict[str, Band]
    difficulty_mean: Band | None
    difficulty_counts: dict[int, int]
    difficulty_count_tolerance: int
    p_mean: Band | None
    information: Information | None
    exclude_used_within_days: int | None
    max_uses: int | None
    fixed: tuple[str, ...]
    time_limit: float
    gap: float
    notes: str = ""

    @property
    def bank_points(self) -> Decimal:
        return sum((s.bank_points for s in self.sections), Decimal(0))

    @property
    def has_expert_slots(self) -> bool:
        return any(s.expert_slots for s in self.sections)

    def document(self) -> dict[str, Any]:
        """The normalised document that is stored; parsing it again gives an equal Blueprint."""
        doc: dict[str, Any] = {
            "id": self.code, "occupation": self.occupation, "level": self.level, "kind": self.kind,
            "title": self.title, "duration_minutes": self.duration_minutes, "total_points": _num(self.total_points),
            "forms": list(self.forms), "max_overlap": self.max_overlap, "shuffle_options": self.shuffle_options,
            "shuffle_items": self.shuffle_items, "allow_subjective": self.allow_subjective,
            "sections": [
                {"type": s.type, "count": s.count, "points": "own" if s.points is None else _num(s.points),
                 "total": _num(s.total), "instructions": s.instructions, "title": s.title,
                 "expert_slots": s.expert_slots, **({"partial": _num(s.partial)} if s.partial is not None else {})}
                for s in self.sections
            ],
            "solver": {"time_limit": self.time_limit, "gap": self.gap},
        }  # fmt: skip
        if self.content:
            doc["content"] = {"from_outline": bool(self.content.depths), "depth": list(self.content.depths) or [1],
                              "tolerance": self.content.tolerance}  # fmt: skip
            if self.content.ranges:
                doc["content"]["ranges"] = dict(self.content.ranges)
        if self.importance:
            doc["importance"] = {k: [b.lo, b.hi] for k, b in self.importance.items()}
        difficulty: dict[str, Any] = {}
        if self.difficulty_mean:
            difficulty["mean"] = [self.difficulty_mean.lo, self.difficulty_mean.hi]
        if self.difficulty_counts:
            difficulty["counts"] = {str(k): v for k, v in sorted(self.difficulty_counts.items())}
        if self.difficulty_count_tolerance:
            difficulty["tolerance"] = self.difficulty_count_tolerance
        if self.p_mean:
            difficulty["p"] = [self.p_mean.lo, self.p_mean.hi]
        if difficulty:
            doc["difficulty"] = difficulty
        if self.information:
            doc["information"] = {"theta": list(self.information.theta), "tolerance": self.information.tolerance}
            if self.information.target is not None:
                doc["information"]["target"] = list(self.information.target)
        exposure = {"exclude_used_within_days": self.exclude_used_within_days, "max_uses": self.max_uses}
        if any(v is not None for v in exposure.values()):
            doc["exposure"] = {k: v for k, v in exposure.items() if v is not None}
        if self.fixed:
            doc["fixed"] = list(self.fixed)
        if self.notes:
            doc["notes"] = self.notes
        return doc

    def digest(self) -> str:
        return hashlib.sha256(canonical_json(self.document()).encode()).hexdigest()


def canonical_json(value: Any) -> str:
    return canonical_bytes(value).decode()


def _num(value: Decimal) -> float | int:
    value = domain.tidy(value)
    return int(value) if value == value.to_integral_value() else float(value)


# ---------------------------------------------------------------- reading


def read_document(path: Path) -> dict[str, Any]:
    """Load YAML or JSON (JSON is YAML, but its errors read better from the json module)."""
    import yaml

    name = str(path)
    if not path.is_file():
        raise ValidationError([Issue(name, "", "", "no such file")], outcome=NOTHING_STORED)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError([Issue(name, f"byte {exc.start}", "", "the file is not UTF-8 text")], outcome=NOTHING_STORED) from None
    try:
        if path.suffix.lower() == ".json":
            doc = json.loads(text)
        else:
            doc = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ValidationError([Issue(name, f"line {exc.lineno}", "", f"not valid JSON: {exc.msg}")], outcome=NOTHING_STORED) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ValidationError([Issue(name, where, "", f"not valid YAML: {problem}")], outcome=NOTHING_STORED) from None
    if not isinstance(doc, dict):
        raise ValidationError([Issue(name, "", "", "a blueprint is a mapping of fields (id, occupation, level, sections, …)")], outcome=NOTHING_STORED)
    return doc


def load_blueprint(path: Path) -> Blueprint:
    """Parsed, then put in the stored (canonical) form: the model's rows follow the document's
    order, and a paper must re-derive from the stored version exactly as it was assembled."""
    bp = parse_blueprint(read_document(path), str(path))
    return parse_blueprint(json.loads(canonical_json(bp.document())), str(path))


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[Issue] = []

    def add(self, where: str, message: str) -> None:
        self.issues.append(Issue(self.source, "", where, message))


def parse_blueprint(doc: dict[str, Any], source: str = "blueprint") -> Blueprint:
    """Validate every field; raise one ValidationError listing all problems."""
    bad = _Problems(source)
    for key in sorted(set(doc) - _TOP_FIELDS, key=str):
        bad.add(str(key), f"unknown field; expected one of {', '.join(sorted(_TOP_FIELDS))}")

    code = _text(doc, "id", bad, required=True)
    if len(code) > 120:
        bad.add("id", f"has {len(code)} characters; at most 120")
    occupation = _text(doc, "occupation", bad, required=True)
    level = _level(doc.get("level"), bad)
    kind = domain.KINDS.get(domain.nfkc(str(doc.get("kind", "theory"))))
    if kind is None:
        bad.add("kind", f"{doc.get('kind')!r} is not theory/skill (理论/技能)")
        kind = "theory"
    title = _text(doc, "title", bad, keep_form=True)
    if len(title) > 200:
        bad.add("title", f"has {len(title)} characters; at most 200")
    title = title or f"{occupation}（{domain.LEVEL_NAMES.get(level, '')}）理论知识考试试卷"
    duration = _int(doc, "duration_minutes", bad, default=90, lo=1, hi=600)
    total_points = _decimal(doc.get("total_points", 100), "total_points", bad) or Decimal(100)
    forms = _forms(doc.get("forms", ["A"]), bad)
    max_overlap = _share(doc.get("max_overlap", 0), "max_overlap", bad)
    shuffle_options = _bool(doc, "shuffle_options", True, bad)
    shuffle_items = _bool(doc, "shuffle_items", True, bad)
    allow_subjective = _bool(doc, "allow_subjective", False, bad)
    sections = _sections(doc.get("sections"), bad)

    if sections and total_points and len(sections) == len(doc.get("sections") or []):  # a refused section would only add noise
        added = sum((s.total for s in sections), Decimal(0))
        if added != total_points:
            parts = " + ".join(f"{s.type} {domain.tidy(s.total)}" for s in sections)
            bad.add("total_points", f"sections add up to {domain.tidy(added)} ({parts}), not {domain.tidy(total_points)}")
    if level is not None and sections:
        _level_rules(level, sections, allow_subjective, bad)

    content = _content(doc.get("content"), bad)
    importance = _importance(doc.get("importance"), bad)
    mean, counts, count_tol, p_band = _difficulty(doc.get("difficulty"), bad)
    if counts and sections and all(s.type != domain.SET_TYPE for s in sections):  # a 组合 slot holds several items
        wanted = sum(counts.values())
        slots = sum(s.bank_count for s in sections)
        if abs(wanted - slots) > count_tol * len(counts):
            bad.add("difficulty.counts", f"counts add up to {wanted} items, but the sections draw {slots} from the bank")
    information = _information(doc.get("information"), forms, bad)
    within, max_uses = _exposure(doc.get("exposure"), bad)
    fixed = _fixed(doc.get("fixed"), bad)
    time_limit, gap = _solver(doc.get("solver"), bad)
    notes = doc.get("notes") or ""
    if not isinstance(notes, str):
        bad.add("notes", "must be text")
        notes = ""

    if bad.issues:
        raise ValidationError(bad.issues, outcome=NOTHING_STORED)
    assert level is not None
    return Blueprint(
        code=code, occupation=occupation, level=level, kind=kind, title=title, duration_minutes=duration,
        total_points=domain.tidy(total_points), forms=forms, max_overlap=max_overlap,
        shuffle_options=shuffle_options, shuffle_items=shuffle_items, allow_subjective=allow_subjective,
        sections=tuple(sections), content=content, importance=importance, difficulty_mean=mean,
        difficulty_counts=counts, difficulty_count_tolerance=count_tol, p_mean=p_band, information=information,
        exclude_used_within_days=within, max_uses=max_uses, fixed=fixed, time_limit=time_limit, gap=gap, notes=notes,
    )  # fmt: skip


def _text(doc: dict[str, Any], key: str, bad: _Problems, *, required: bool = False, keep_form: bool = False) -> str:
    """Codes are NFKC-normalised; a title keeps its full-width （）as printed."""
    value = doc.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            bad.add(key, "is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        bad.add(key, "must be text")
        return ""
    return str(value).strip() if keep_form else domain.nfkc(str(value))


def _level(raw: Any, bad: _Problems) -> int | None:
    if raw is None:
        bad.add("level", "is required (5..1)")
        return None
    try:
        return domain.level(str(raw))
    except ValueError as exc:
        bad.add("level", str(exc))
        return None


def _int(doc: dict[str, Any], key: str, bad: _Problems, *, default: int, lo: int, hi: int) -> int:
    raw = doc.get(key, default)
    if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
        bad.add(key, f"{raw!r} must be a whole number {lo}..{hi}")
        return default
    return raw


def _decimal(raw: Any, where: str, bad: _Problems) -> Decimal | None:
    if isinstance(raw, bool):
        bad.add(where, f"{raw!r} is not a number")
        return None
    try:
        return domain.points(str(raw))
    except ValueError as exc:
        bad.add(where, str(exc))
        return None


def _float(raw: Any, where: str, bad: _Problems) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        bad.add(where, f"{raw!r} is not a number")
        return None
    text = str(raw).strip()
    percent = text.endswith(("%", "％"))
    try:
        number = Decimal(text.rstrip("%％"))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        bad.add(where, f"{raw!r} is not a number")
        return None
    value = float(number)
    return value / 100 if percent else value


def _share(raw: Any, where: str, bad: _Problems) -> float:
    value = _float(raw, where, bad)
    if value is None:
        return 0.0
    if not 0 <= value <= 1:
        bad.add(where, f"{raw!r} must be a share 0..1 (or 0%..100%)")
        return 0.0
    return value


def _bool(doc: dict[str, Any], key: str, default: bool, bad: _Problems) -> bool:
    raw = doc.get(key, default)
    if not isinstance(raw, bool):
        bad.add(key, f"{raw!r} must be true or false")
        return default
    return raw


def _forms(raw: Any, bad: _Problems) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [f.strip() for f in raw.split(",")]
    if not isinstance(raw, list) or not raw:
        bad.add("forms", "must be a list of form labels such as [A, B]")
        return ("A",)
    labels = [str(f).strip().upper() for f in raw]
    for i, label in enumerate(labels):
        if not _FORM_LABEL.match(label):
            bad.add(f"forms[{i}]", f"{raw[i]!r} is not a form label (a capital letter, then up to 3 letters/digits)")
    if len(set(labels)) != len(labels):
        bad.add("forms", "names a form twice")
    if len(labels) > 50:
        bad.add("forms", f"{len(labels)} forms; at most 50 are assembled together")
    return tuple(labels)


def _sections(raw: Any, bad: _Problems) -> list[Section]:
    if not isinstance(raw, list) or not raw:
        bad.add("sections", "is required: a list of {type, count, points} in paper order")
        return []
    out: list[Section] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw):
        where = f"sections[{i}]"
        if not isinstance(entry, dict):
            bad.add(where, "must be a mapping {type, count, points}")
            continue
        for key in sorted(set(entry) - _SECTION_FIELDS, key=str):
            bad.add(f"{where}.{key}", f"unknown field; expected one of {', '.join(sorted(_SECTION_FIELDS))}")
        try:
            kind = domain.item_type(str(entry.get("type", "")))
        except ValueError as exc:
            bad.add(f"{where}.type", str(exc))
            continue
        if kind in seen:
            bad.add(f"{where}.type", f"{kind} already has sections[{seen[kind]}]; each type has one section")
            continue
        seen[kind] = i
        count = entry.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            bad.add(f"{where}.count", f"{count!r} must be a whole number 1..1000")
            continue
        raw_points = entry.get("points")
        points: Decimal | None
        says_own = isinstance(raw_points, str) and raw_points.strip().lower() in ("own", "item")
        own = kind == domain.SET_TYPE or says_own
        if own and raw_points is not None and not says_own:
            bad.add(f"{where}.points", "a 组合 section scores each set by its own points; write points: own and a total")
            continue
        if own:
            points = None
            total = _decimal(entry.get("total"), f"{where}.total", bad) if entry.get("total") is not None else None
            if total is None:
                bad.add(f"{where}.total", "is required when items keep their own points (points: own)")
                continue
        else:
            if raw_points is None:
                bad.add(f"{where}.points", "is required: points per item, or 'own' with a section total")
                continue
            points = _decimal(raw_points, f"{where}.points", bad)
            if points is None:
                continue
            total = points * count
            if entry.get("total") is not None:
                given = _decimal(entry.get("total"), f"{where}.total", bad)
                if given is not None and given != total:
                    bad.add(f"{where}.total", f"{domain.tidy(given)} differs from count × points = {domain.tidy(total)}")
        expert = entry.get("expert_slots", 0)
        if isinstance(expert, bool) or not isinstance(expert, int) or not 0 <= expert <= count:
            bad.add(f"{where}.expert_slots", f"{expert!r} must be a whole number 0..count ({count})")
            expert = 0
        elif expert and kind == domain.SET_TYPE:
            bad.add(f"{where}.expert_slots", "a 组合 section has no expert slots; a set is written and reviewed as a whole")
            expert = 0
        partial = None
        if entry.get("partial") is not None:
            partial = _decimal(entry.get("partial"), f"{where}.partial", bad)
            if kind != "多选":
                bad.add(f"{where}.partial", "partial credit is a 多选 rule (a correct subset of the answer earns part of the points)")
                partial = None
            elif own:
                bad.add(f"{where}.partial", "partial credit needs points per item (the printed rule names the points a correct subset earns)")
                partial = None
            elif partial is not None and not 0 < partial < 1:
                bad.add(f"{where}.partial", f"{domain.tidy(partial)} must be a fraction of the points between 0 and 1 (0.5 = half)")
                partial = None
        instructions = entry.get("instructions") or ""
        title = entry.get("title") or ""
        if not isinstance(instructions, str) or not isinstance(title, str):
            bad.add(where, "title and instructions must be text")
            instructions, title = "", ""
        section = Section(kind, count, points, domain.tidy(total), instructions.strip(), title.strip(), expert, partial)
        slot = section.total / count
        if points is None and expert and slot != slot.quantize(Decimal("0.01")):
            bad.add(f"{where}.expert_slots", f"a total of {section.total} over {count} items gives expert slots {slot:.4f} points; choose a total divisible by the count")
            continue
        out.append(section)
    numbered = []
    for n, s in enumerate(out):
        numbered.append(
            Section(s.type, s.count, s.points, s.total, s.instructions or default_instructions(s),
                    s.title or f"{SECTION_NUMERALS[n] if n < 10 else n + 1}、{_TYPE_TITLES.get(s.type, s.type + '题')}",
                    s.expert_slots, s.partial)
        )  # fmt: skip
    return numbered


_TYPE_TITLES = {"判断": "判断题", "单选": "单项选择题", "多选": "多项选择题", "填空": "填空题", "组合": "综合题"}
_TYPE_INSTRUCTIONS = {
    "判断": "将判断结果填入括号中。正确的填“√”，错误的填“×”。",
    "单选": "选择一个正确的答案，将相应的字母填入题内的括号中。",
    "多选": "选择正确的答案，将相应的字母填入题内的括号中。错选、少选、多选均不得分。",
    "填空": "将正确的答案填在横线上。",
}


def default_instructions(section: Section) -> str:
    head = _TYPE_INSTRUCTIONS.get(section.type, "按要求作答，写出必要的步骤和要点。")
    if section.type == "多选" and section.partial is not None and section.points is not None:
        head = head.replace("错选、少选、多选均不得分。", f"错选、多选不得分；少选且所选正确的，得{domain.tidy(section.points * section.partial)}分。")
    if section.points is None:
        return f"{head}共{section.count}题，满分{domain.tidy(section.total)}分。"
    return f"{head}每题{domain.tidy(section.points)}分，满分{domain.tidy(section.total)}分。"


def _level_rules(level: int, sections: list[Section], allow_subjective: bool, bad: _Problems) -> None:
    subjective = [i for i, s in enumerate(sections) if s.type in domain.SUBJECTIVE_TYPES]
    if level >= 3 and subjective and not allow_subjective:
        for i in subjective:
            bad.add(
                f"sections[{i}].type",
                f"{sections[i].type} is subjective; level {level} theory papers are objective only unless the blueprint says allow_subjective: true",
            )
    if level <= 2 and not subjective:
        bad.add("sections", f"a level {level} paper needs at least one subjective section ({'/'.join(domain.SUBJECTIVE_TYPES)})")
    for i, s in enumerate(sections):
        if s.expert_slots and level >= 3:
            bad.add(f"sections[{i}].expert_slots", f"expert slots (专家命题) are for levels 2 and 1, not level {level}")


def _bound(raw: Any, where: str, bad: _Problems, *, share: bool) -> Band | None:
    """'>=0.80', '<=15%', 0.5 (exact), [lo, hi] (either may be null)."""
    if isinstance(raw, list | tuple):
        if len(raw) != 2:
            bad.add(where, f"{raw!r} must be [low, high]")
            return None
        lo = None if raw[0] is None else _float(raw[0], where, bad)
        hi = None if raw[1] is None else _float(raw[1], where, bad)
        if (raw[0] is not None and lo is None) or (raw[1] is not None and hi is None):
            return None
        band = Band(lo, hi)
    else:
        match = _BOUND.match(str(raw))
        if isinstance(raw, bool) or not match:
            bad.add(where, f"{raw!r} must be like '>=0.80', '<=0.15', a number, or [low, high]")
            return None
        op, number, percent = match.groups()
        try:
            value = float(Decimal(number)) / (100 if percent else 1)
        except InvalidOperation:
            bad.add(where, f"{raw!r} is not a number")
            return None
        band = Band(lo=value) if op in (">=", "≥") else Band(hi=value) if op in ("<=", "≤") else Band(value, value)
    if band.lo is None and band.hi is None:
        bad.add(where, "needs at least one bound")
        return None
    if band.lo is not None and band.hi is not None and band.lo > band.hi:
        bad.add(where, f"low {band.lo:g} is above high {band.hi:g}")
        return None
    if share and any(v is not None and not 0 <= v <= 1 for v in (band.lo, band.hi)):
        bad.add(where, f"{raw!r} must be a share 0..1")
        return None
    return band


def _content(raw: Any, bad: _Problems) -> Content | None:
    if raw is None or raw is False:
        return None
    if not isinstance(raw, dict):
        bad.add("content", "must be a mapping {from_outline, depth, tolerance, ranges}")
        return None
    for key in sorted(set(raw) - {"from_outline", "depth", "tolerance", "ranges"}, key=str):
        bad.add(f"content.{key}", "unknown field; expected from_outline, depth, tolerance or ranges")
    from_outline = raw.get("from_outline", True)
    if not isinstance(from_outline, bool):
        bad.add("content.from_outline", f"{from_outline!r} must be true or false")
        from_outline = True
    depth = raw.get("depth", 1)
    depths = depth if isinstance(depth, list) else [depth]
    if not depths or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 6 for d in depths):
        bad.add("content.depth", f"{depth!r} must be an outline depth 1..6 or a list of them")
        depths = [1]
    tolerance = _share(raw.get("tolerance", 0.02), "content.tolerance", bad)
    ranges: dict[str, float] = {}
    given = raw.get("ranges") or {}
    if not isinstance(given, dict):
        bad.add("content.ranges", "must map range codes to shares, e.g. {A: 0.25}")
    else:
        for code, share in given.items():
            ranges[domain.nfkc(str(code))] = _share(share, f"content.ranges.{code}", bad)
    if not from_outline and not ranges:
        return None
    return Content(tuple(sorted(set(depths))) if from_outline else (), tolerance, ranges)


def _importance(raw: Any, bad: _Problems) -> dict[str, Band]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        bad.add("importance", "must map X/Y/Z to bounds, e.g. {X: '>=0.80'}")
        return {}
    out = {}
    for key, value in raw.items():
        name = str(key).strip().upper()
        if name not in domain.IMPORTANCE:
            bad.add(f"importance.{key}", "importance is X, Y or Z")
            continue
        band = _bound(value, f"importance.{key}", bad, share=True)
        if band:
            out[name] = band
    return out


def _difficulty(raw: Any, bad: _Problems) -> tuple[Band | None, dict[int, int], int, Band | None]:
    if raw is None:
        return None, {}, 0, None
    before = len(bad.issues)
    if not isinstance(raw, dict):
        bad.add("difficulty", "must be a mapping with mean, counts or p")
        return None, {}, 0, None
    for key in sorted(set(raw) - {"mean", "counts", "tolerance", "p"}, key=str):
        bad.add(f"difficulty.{key}", "unknown field; expected mean, counts, tolerance or p")
    mean = _bound(raw["mean"], "difficulty.mean", bad, share=False) if "mean" in raw else None
    if mean and any(v is not None and not 1 <= v <= 5 for v in (mean.lo, mean.hi)):
        bad.add("difficulty.mean", "planned difficulty is on the 1..5 scale")
        mean = None
    p_band = _bound(raw["p"], "difficulty.p", bad, share=True) if "p" in raw else None
    counts: dict[int, int] = {}
    if "counts" in raw:
        if not isinstance(raw["counts"], dict):
            bad.add("difficulty.counts", "must map difficulty (1..5 or 易…难) to a number of items")
        else:
            for key, n in raw["counts"].items():
                try:
                    d = domain.difficulty(str(key))
                except ValueError as exc:
                    bad.add(f"difficulty.counts.{key}", str(exc))
                    continue
                if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                    bad.add(f"difficulty.counts.{key}", f"{n!r} must be a whole number of items")
                    continue
                counts[d] = n
    tol = raw.get("tolerance", 0)
    if isinstance(tol, bool) or not isinstance(tol, int) or tol < 0:
        bad.add("difficulty.tolerance", f"{tol!r} must be a whole number of items")
        tol = 0
    if not (mean or counts or p_band) and len(bad.issues) == before:
        bad.add("difficulty", "give mean, counts or p")
    return mean, counts, tol, p_band


def _information(raw: Any, forms: tuple[str, ...], bad: _Problems) -> Information | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or "theta" not in raw:
        bad.add("information", "must be {theta: [...], tolerance: 0.05, target: [...]}")
        return None
    theta_raw = raw["theta"] if isinstance(raw["theta"], list) else [raw["theta"]]
    theta = [_float(t, "information.theta", bad) for t in theta_raw]
    if not theta or any(t is None or not -4 <= t <= 4 for t in theta):
        bad.add("information.theta", "must be ability points between -4 and 4")
        return None
    tolerance = _share(raw.get("tolerance", 0.05), "information.tolerance", bad)
    target = None
    if raw.get("target") is not None:
        values = raw["target"] if isinstance(raw["target"], list) else [raw["target"]]
        parsed = [_float(v, "information.target", bad) for v in values]
        if len(parsed) != len(theta) or any(v is None or v <= 0 for v in parsed):
            bad.add("information.target", "needs one positive value per theta")
        else:
            target = tuple(v for v in parsed if v is not None)
    return Information(tuple(t for t in theta if t is not None), tolerance, target)


def _exposure(raw: Any, bad: _Problems) -> tuple[int | None, int | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        bad.add("exposure", "must be {exclude_used_within_days: N, max_uses: K}")
        return None, None
    for key in sorted(set(raw) - {"exclude_used_within_days", "max_uses"}, key=str):
        bad.add(f"exposure.{key}", "unknown field; expected exclude_used_within_days or max_uses")
    out: list[int | None] = []
    for key, lo in (("exclude_used_within_days", 0), ("max_uses", 1)):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < lo):
            bad.add(f"exposure.{key}", f"{value!r} must be a whole number ≥ {lo}")
            value = None
        out.append(value)
    return out[0], out[1]


def _fixed(raw: Any, bad: _Problems) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(c, str | int) for c in raw):
        bad.add("fixed", "must be a list of item codes (题目编号)")
        return ()
    codes = [domain.nfkc(str(c)) for c in raw]
    if len(set(codes)) != len(codes):
        bad.add("fixed", "names an item twice")
    return tuple(codes)


def _solver(raw: Any, bad: _Problems) -> tuple[float, float]:
    if raw is None:
        return 60.0, 0.02
    if not isinstance(raw, dict):
        bad.add("solver", "must be {time_limit: seconds, gap: 0.02}")
        return 60.0, 0.02
    time_limit = _float(raw.get("time_limit", 60), "solver.time_limit", bad)
    if time_limit is None:
        time_limit = 60.0
    elif not 0 < time_limit <= 3600:
        bad.add("solver.time_limit", "must be 0..3600 seconds")
    gap = _share(raw.get("gap", 0.02), "solver.gap", bad)
    return time_limit, gap
