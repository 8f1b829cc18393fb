"""Turn raw import rows into validated item drafts, collecting every problem.

Pure: the caller passes in what it knows of the bank (occupations, outline points,
codes in use), so the same checks serve import, dry-run and edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from examvault.errors import Issue
from examvault.itembank import domain
from examvault.itembank.content import MediaFile
from examvault.itembank.formats.fields import ITEM_FIELDS, OPTION_FIELDS, RawRow

MAX_IMAGE_BYTES = 5 * 1024 * 1024
_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}
_CODE_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,59}$")


@dataclass(frozen=True)
class PointRef:
    id: int
    is_point: bool


@dataclass
class BankView:
    """What validation needs to know about the bank."""

    occupations: dict[str, int]  # code → id
    points: dict[tuple[int, int], dict[str, PointRef]]  # (occupation id, level) → code → node
    codes_in_use: set[str]
    set_parents: dict[str, tuple[int, int]]  # code of a 组合 item in the bank → (occupation id, level)


@dataclass
class ItemDraft:
    location: str
    code: str | None
    occupation_id: int
    level: int
    point_id: int | None
    type: str
    stem: str
    options: list[str]
    answer: str  # canonical notation: "B", "ABD", "√", "36V|安全电压/安全特低电压", or reference text
    analysis: str
    points: Decimal | None  # None for a 组合 parent until its children are summed
    difficulty: int
    source: str
    author: str
    reviewer: str
    enemy_group: str | None
    parent_code: str | None
    media: list[MediaFile] = field(default_factory=list)


def _canonical_answer(t: str, raw: str, options: list[str], stem: str) -> str:
    if t == "判断":
        return domain.judgement(raw)
    if t in domain.CHOICE_TYPES:
        letters = domain.choice_letters(raw)
        if not letters:
            raise ValueError("answer is missing")
        valid = domain.OPTION_LETTERS[: len(options)]
        for c in letters:
            if c not in valid:
                raise ValueError(f"the answer names an option the item does not have (it has {valid[0]}–{valid[-1]})")
        if t == "单选" and len(letters) != 1:
            raise ValueError(f"a 单选 has exactly one key; the answer names {len(letters)}")
        if t == "多选" and len(letters) < 2:
            raise ValueError("a 多选 needs at least 2 keys; the answer names 1")
        return letters
    if t == "填空":
        blanks = domain.blanks(raw)
        marked = domain.count_blanks(stem)
        if marked and marked != len(blanks):
            raise ValueError(f"the stem has {marked} blanks (______) but the answer gives {len(blanks)}")
        return "|".join("/".join(alts) for alts in blanks)
    return raw.strip()


def _read_media(row: RawRow, base_dir: Path | None, issues: list[Issue]) -> list[MediaFile]:
    raw = row.get("images")
    if not raw:
        return []
    out = []
    for name in [n.strip() for n in re.split(r"[|;；,，]", raw) if n.strip()]:
        col = row.column("images")
        path = (base_dir / name) if base_dir else Path(name)
        if not path.is_file():
            issues.append(Issue(row.file, row.location, col, f"image {name!r} not found next to the import file"))
            continue
        data = path.read_bytes()
        if len(data) > MAX_IMAGE_BYTES:
            issues.append(Issue(row.file, row.location, col, f"image {name!r} is larger than 5 MiB"))
            continue
        mime = next((m for magic, m in _IMAGE_MAGIC.items() if data.startswith(magic)), None)
        if mime is None:
            issues.append(Issue(row.file, row.location, col, f"image {name!r} is not a PNG, JPEG or GIF"))
            continue
        out.append(MediaFile(name=Path(name).name, mime=mime, data=data))
    return out


def validate_row(
    row: RawRow, bank: BankView, base_dir: Path | None, *, activate: bool = False, importer: frozenset[str] = frozenset()
) -> ItemDraft | list[Issue]:
    issues: list[Issue] = []

    def bad(name: str, message: str) -> None:
        issues.append(Issue(row.file, row.location, row.column(name) if name else "", message))

    def parse(name: str, fn, *, required: bool = True):  # type: ignore[no-untyped-def]
        raw = row.get(name)
        if not raw.strip():
            if required:
                bad(name, f"{ITEM_FIELDS[name][0]} is missing")
            return None
        try:
            return fn(raw)
        except ValueError as exc:
            bad(name, str(exc))
            return None

    t = parse("type", domain.item_type)
    level = parse("level", domain.level)
    occ_code = row.get("occupation").strip()
    occ_id = bank.occupations.get(occ_code)
    if not occ_code:
        bad("occupation", "职业代码 is missing")
    elif occ_id is None:
        bad("occupation", f"unknown occupation {occ_code!r}; import its outline first")
    stem = row.get("stem").strip()
    if not stem:
        bad("stem", "题干 is missing")
    is_set = t == domain.SET_TYPE
    pts = parse("points", domain.points, required=not is_set)
    diff = parse("difficulty", domain.difficulty, required=not is_set)
    src = parse("source", domain.source, required=False) or "机构题"

    options = [row.get(f).strip() for f in OPTION_FIELDS]
    while options and not options[-1]:
        options.pop()
    if "" in options:
        gap = domain.OPTION_LETTERS[options.index("")]
        bad(OPTION_FIELDS[options.index("")], f"option {gap} is empty but later options are filled")

    point_id = None
    point_code = row.get("point_code").strip()
    if occ_id is not None and level is not None:
        known = bank.points.get((occ_id, level), {})
        if not point_code:
            if not is_set:
                bad("point_code", "鉴定点代码 is missing")
        elif point_code not in known:
            where = f"the {occ_code} level-{level} outline" if known else f"any outline for {occ_code} level {level}"
            bad("point_code", f"unknown assessment-point code {point_code!r} (not in {where})")
        elif not known[point_code].is_point:
            bad("point_code", f"{point_code!r} is a range (鉴定范围), not an assessment point (鉴定点)")
        else:
            point_id = known[point_code].id

    answer_raw = row.get("answer")
    answer = ""
    analysis = row.get("analysis").strip()
    if t is not None:
        if t in domain.CHOICE_TYPES:
            if len(options) < 2:
                bad("option_a", f"a {t} needs at least 2 options (选项A, 选项B, …)")
        elif options:
            bad("option_a", f"a {t} item has no options, but 选项A… are filled")
        if is_set:
            if answer_raw.strip():
                bad("answer", "a 组合 set has no answer of its own; its child items carry the answers")
        elif not answer_raw.strip() and not (domain.is_subjective(t) and analysis):
            bad("answer", "答案 is missing")
        elif not (t in domain.CHOICE_TYPES and len(options) < 2):
            try:
                answer = _canonical_answer(t, answer_raw, options, stem)
            except ValueError as exc:
                bad("answer", str(exc))
        if domain.is_subjective(t) and pts is not None:
            marks = domain.rubric_points(analysis)
            if not marks:
                bad("analysis", "a subjective item needs 评分要点 with points in 解析, e.g. 要点1（3分）…")
            elif sum(marks) != pts:
                bad("analysis", f"评分要点 points add up to {domain.tidy(sum(marks))}, but the item is worth {pts}")

    code = row.get("code").strip() or None
    if code is not None:
        if not _CODE_OK.match(code):
            bad("code", f"item code {code!r} may hold only letters, digits and - _ . / (at most 60)")
        elif code in bank.codes_in_use:
            bad("code", f"item code {code!r} is already in the bank; change it with `examvault item edit`")

    author = row.get("author").strip()
    reviewer = row.get("reviewer").strip()
    if activate and reviewer and author and reviewer == author:
        bad("reviewer", f"审核人 {reviewer!r} is also the 出题人; an author never reviews their own item")
    elif activate and reviewer in importer:
        bad("reviewer", f"审核人 {reviewer!r} is the person importing; --activate needs a review by someone else")

    media = _read_media(row, base_dir, issues)
    if issues or t is None or level is None or occ_id is None or (diff is None and not is_set):
        return issues or [Issue(row.file, row.location, "", "row could not be read")]
    return ItemDraft(
        location=row.location,
        code=code,
        occupation_id=occ_id,
        level=level,
        point_id=point_id,
        type=t,
        stem=stem,
        options=options,
        answer=answer,
        analysis=analysis,
        points=pts,
        difficulty=diff if diff is not None else 3,
        source=src,
        author=author,
        reviewer=reviewer,
        enemy_group=row.get("enemy_group").strip() or None,
        parent_code=row.get("parent_code").strip() or None,
        media=media,
    )


def check_sets(drafts: list[tuple[RawRow, ItemDraft]], bank: BankView) -> list[Issue]:
    """Cross-row rules: unique codes in the file, children under a real 组合, set points."""
    issues: list[Issue] = []
    first_seen: dict[str, str] = {}
    sets_here = {d.code: d for _r, d in drafts if d.type == domain.SET_TYPE and d.code}
    for row, d in drafts:
        if d.code:
            if d.code in first_seen:
                issues.append(Issue(row.file, row.location, row.column("code"), f"item code {d.code!r} repeats {first_seen[d.code]}"))
            else:
                first_seen[d.code] = row.location
        if d.type == domain.SET_TYPE and not d.code:
            issues.append(Issue(row.file, row.location, row.column("code"), "a 组合 set needs a 题目编号 so its children can name it"))
        if d.parent_code:
            where = row.column("parent_code")
            if d.type == domain.SET_TYPE:
                issues.append(Issue(row.file, row.location, where, "a 组合 set cannot sit inside another set"))
            elif d.parent_code in sets_here:
                parent = sets_here[d.parent_code]
                if (parent.occupation_id, parent.level) != (d.occupation_id, d.level):
                    issues.append(Issue(row.file, row.location, where, "a child item must have its set's occupation and level"))
            elif d.parent_code in bank.set_parents:
                if bank.set_parents[d.parent_code] != (d.occupation_id, d.level):
                    issues.append(Issue(row.file, row.location, where, "a child item must have its set's occupation and level"))
            else:
                issues.append(Issue(row.file, row.location, where, f"母题编号 {d.parent_code!r} is not a 组合 set in this file or the bank"))
    for row, parent in [(r, d) for r, d in drafts if d.type == domain.SET_TYPE and d.code]:
        children = [d for _r, d in drafts if d.parent_code == parent.code]
        total = sum((c.points or Decimal(0) for c in children), Decimal(0))
        if not children:
            issues.append(Issue(row.file, row.location, "", f"组合 set {parent.code!r} has no child items (母题编号)"))
        elif parent.points is not None and parent.points != total:
            issues.append(
                Issue(row.file, row.location, row.column("points"), f"分值 {parent.points} differs from its children's total {domain.tidy(total)}")
            )
        else:
            parent.points = domain.tidy(total)
            if parent.point_id is None:
                parent.point_id = next((c.point_id for c in children if c.point_id), None)
            parent.difficulty = round(sum(c.difficulty for c in children) / len(children)) if children else 3
    return issues
