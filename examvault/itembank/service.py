"""Item service functions: import, list, show, edit, workflow transitions, export.

Each public function is one user action and one transaction; the CLI and the HTTP
API call these and nothing else.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Float, String, cast, func, or_, select, type_coerce
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.orm import Session

from examvault.accounts.models import User
from examvault.accounts.service import audit, audit_many, require
from examvault.bank import Bank
from examvault.crypto.records import open_fields, seal_fields
from examvault.db import bulk_insert, new_id, utcnow
from examvault.errors import NOTHING_IMPORTED, ConflictError, Issue, NotFoundError, ValidationError
from examvault.itembank import domain
from examvault.itembank.content import ItemContent, pack, unpack
from examvault.itembank.dedupe import DuplicatePair, find_duplicates
from examvault.itembank.formats.fields import (
    ITEM_FIELDS,
    ITEM_REQUIRED,
    OPTION_FIELDS,
    RawRow,
    alias_map,
    header_key,
)
from examvault.itembank.formats.tabular import read_table
from examvault.itembank.models import (
    ITEM_CONTENT,
    CodeSequence,
    Item,
    ItemVersion,
    Occupation,
    Outline,
    OutlineNode,
)
from examvault.itembank.validate import BankView, ItemDraft, PointRef, check_sets, validate_row
from examvault.itembank.workflow import TRANSITIONS

Progress = Callable[[int, int], None]
_CHUNK = 5000


# ---------------------------------------------------------------- reading files


def read_item_rows(path: Path, encoding: str | None = None) -> list[RawRow]:
    if path.suffix.lower() == ".docx":
        from examvault.itembank.formats.gb_docx import read_gb_docx

        if not path.is_file():
            raise ValidationError([Issue(str(path), "", "", "no such file")], outcome=NOTHING_IMPORTED)
        return read_gb_docx(path)
    return read_table(path, ITEM_FIELDS, ITEM_REQUIRED, encoding=encoding)


def _chunks(values: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _bank_view(session: Session, rows: list[RawRow], exclude_code: str | None = None) -> BankView:
    occupations = {code: oid for code, oid in session.execute(select(Occupation.code, Occupation.id))}
    wanted = {occupations[c] for c in {r.get("occupation").strip() for r in rows} if c in occupations}
    points: dict[tuple[int, int], dict[str, PointRef]] = {}
    if wanted:
        q = (
            select(Outline.occupation_id, Outline.level, Outline.kind, OutlineNode.code, OutlineNode.id, OutlineNode.is_point)
            .join(OutlineNode, OutlineNode.outline_id == Outline.id)
            .where(Outline.occupation_id.in_(wanted))
            .order_by(Outline.kind.asc())  # "skill" < "theory": theory comes last and wins a shared code
        )
        for occ, lvl, _kind, code, nid, is_point in session.execute(q):
            points.setdefault((occ, lvl), {})[code] = PointRef(nid, is_point)
    file_codes = sorted({r.get("code").strip() for r in rows if r.get("code").strip()} - {exclude_code or ""})
    in_use: set[str] = set()
    for chunk in _chunks(file_codes):
        in_use.update(session.scalars(select(Item.code).where(Item.code.in_(chunk))))
    parent_codes = sorted({r.get("parent_code").strip() for r in rows if r.get("parent_code").strip()})
    set_parents: dict[str, tuple[int, int]] = {}
    for chunk in _chunks(parent_codes):
        for code, occ, lvl in session.execute(
            select(Item.code, Item.occupation_id, Item.level).where(Item.code.in_(chunk), Item.type == domain.SET_TYPE)
        ):
            set_parents[code] = (occ, lvl)
    return BankView(occupations, points, in_use, set_parents)


def _validate(
    file: str, rows: list[RawRow], view: BankView, base_dir: Path | None, activate: bool, progress: Progress | None,
    importer: frozenset[str] = frozenset(),
) -> list[tuple[RawRow, ItemDraft]]:
    issues: list[Issue] = []
    drafts: list[tuple[RawRow, ItemDraft]] = []
    for n, row in enumerate(rows, start=1):
        result = validate_row(row, view, base_dir, activate=activate, importer=importer)
        if isinstance(result, list):
            issues.extend(result)
        else:
            drafts.append((row, result))
        if progress and n % 1000 == 0:
            progress(n, len(rows))
    issues.extend(check_sets(drafts, view))
    if not rows:
        issues.append(Issue(file, "", "", "the file holds no items"))
    if issues:
        raise ValidationError(issues, outcome=NOTHING_IMPORTED)
    return drafts


# ---------------------------------------------------------------- content access


def _content_of(draft: ItemDraft) -> ItemContent:
    return ItemContent(
        stem=draft.stem,
        options=draft.options,
        answer=draft.answer,
        analysis=draft.analysis,
        media=draft.media,
    )


def decrypt_version(bank: Bank, session: Session, row: Any, fields: tuple[str, ...] | None = None) -> ItemContent:
    return unpack(open_fields(bank.keyring(session), ITEM_CONTENT, row, fields))


def _stems_in_bank(bank: Bank, session: Session, occupation_ids: set[int]) -> list[tuple[str, str]]:
    """Current stems of the bank's items for these occupations, for duplicate checks."""
    if not occupation_ids:
        return []
    v = ItemVersion.__table__
    q = (
        select(Item.code, v.c.item_id, v.c.version, v.c.key_version, v.c.dek, v.c.stem)
        .join(v, (v.c.item_id == Item.id) & (v.c.version == Item.current_version))
        .where(Item.occupation_id.in_(occupation_ids), Item.status != "retired", Item.type != domain.SET_TYPE)
    )
    out = []
    for row in session.execute(q).mappings():
        out.append((row["code"], decrypt_version(bank, session, row, ("stem",)).stem))
    return out


# ---------------------------------------------------------------- import


@dataclass
class ImportReport:
    file: str
    rows: int
    imported: int
    activated: int
    by_type: dict[str, int]
    duplicates: list[DuplicatePair]
    codes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["duplicates"] = [asdict(p) for p in self.duplicates]
        return d


_PARALLEL_DEDUPE_MIN = 20_000


@contextmanager
def _duplicates_meanwhile(
    new: list[tuple[str, str]], existing: list[tuple[str, str]]
) -> Iterator[Callable[[], list[DuplicatePair]]]:
    """Start the duplicate check; yield a function that waits for its result.

    On a large import the check (pure: stems in, pairs out) runs in a worker process on the
    second core while this process seals and inserts. The worker comes from a fork server,
    so it inherits none of this process's memory — no keys, no database connections; the
    stems reach it over a pipe, never a file. It is shut down however the import ends.
    """
    if len(new) + len(existing) < _PARALLEL_DEDUPE_MIN or "forkserver" not in multiprocessing.get_all_start_methods():
        found = find_duplicates(new, existing)
        yield lambda: found
        return
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"))
    try:
        yield pool.submit(find_duplicates, new, existing).result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _allocate_codes(session: Session, drafts: list[ItemDraft], occ_codes: dict[int, str]) -> None:
    """Give every draft without a 题目编号 the next free code `<occupation>-L<level>-NNNNN`."""
    needed = Counter((d.occupation_id, d.level) for d in drafts if d.code is None)
    taken = {d.code for d in drafts if d.code}
    for (occ, lvl), count in needed.items():
        prefix = f"{occ_codes[occ]}-L{lvl}-"
        seq = locked_sequence(session, prefix)
        in_bank = set(session.scalars(select(Item.code).where(Item.code.startswith(prefix))))
        fresh: list[str] = []
        n = seq.next_value
        while len(fresh) < count:
            code = f"{prefix}{n:05d}"
            n += 1
            if code not in in_bank and code not in taken:
                fresh.append(code)
        seq.next_value = n
        it = iter(fresh)
        for d in drafts:
            if d.code is None and (d.occupation_id, d.level) == (occ, lvl):
                d.code = next(it)


def locked_sequence(session: Session, prefix: str) -> CodeSequence:
    """The serial counter for a code prefix, locked for this transaction (created on first use)."""
    seq = session.get(CodeSequence, prefix, with_for_update=True)
    if seq is None:
        # Two first users may race to create the counter: one insert wins, the other
        # waits on it, fails in its savepoint, and then locks the winner's row.
        try:
            with session.begin_nested():
                session.add(CodeSequence(prefix=prefix, next_value=1))
        except SAIntegrityError:
            pass
        seq = session.get(CodeSequence, prefix, with_for_update=True, populate_existing=True)
        assert seq is not None
    return seq


def import_items(
    bank: Bank,
    path: Path,
    *,
    dry_run: bool = False,
    activate: bool = False,
    encoding: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate a whole file, then store every item in one transaction — or none."""
    rows = read_item_rows(path, encoding)
    with ExitStack() as stack, bank.transaction(commit=not dry_run, write=True) as session:
        user = bank.actor(session, "item.write")
        if activate:
            require(user, "item.activate")
        view = _bank_view(session, rows)
        pairs = _validate(path.name, rows, view, path.parent, activate, progress, frozenset(user.names()))
        drafts = [d for _r, d in pairs]
        keyring = bank.keyring(session)  # unlock before any write, so a wrong key changes nothing
        keyring.pin(session, ITEM_CONTENT.domain)
        existing = _stems_in_bank(bank, session, {d.occupation_id for d in drafts})
        stems = [(d.code or f"{path.name} {d.location}", d.stem) for d in drafts if d.type != domain.SET_TYPE]
        duplicates = stack.enter_context(_duplicates_meanwhile(stems, existing))
        occ_codes = {oid: code for code, oid in view.occupations.items()}
        _allocate_codes(session, drafts, occ_codes)
        now = utcnow()
        ids = {d.code: new_id() for d in drafts}
        # Sets first: children refer to their parent row.
        drafts.sort(key=lambda d: d.type != domain.SET_TYPE)
        item_rows: list[dict[str, Any]] = []
        version_rows: list[dict[str, Any]] = []
        activated: list[str] = []
        for n, d in enumerate(drafts, start=1):
            assert d.code is not None and d.points is not None
            item_id = ids[d.code]
            status = "active" if activate and d.reviewer else "draft"
            if status == "active":
                activated.append(d.code)
            parent_id = ids.get(d.parent_code) if d.parent_code else None
            if d.parent_code and parent_id is None:
                parent_id = session.scalars(select(Item.id).where(Item.code == d.parent_code)).one()
            item_rows.append(
                {
                    "id": item_id, "code": d.code, "occupation_id": d.occupation_id, "level": d.level,
                    "point_id": d.point_id, "type": d.type, "points": d.points, "difficulty": d.difficulty,
                    "source": d.source, "author": d.author, "reviewer": d.reviewer, "enemy_group": d.enemy_group,
                    "parent_id": parent_id, "status": status, "current_version": 1, "created_by": user.username,
                    "created_at": now, "updated_at": now, "n_responses": 0, "usage_count": 0,
                }
            )  # fmt: skip
            sealed = seal_fields(keyring, ITEM_CONTENT, str(item_id), 1, pack(_content_of(d)))
            version_rows.append(
                {
                    "id": new_id(), "item_id": item_id, "version": 1, "type": d.type, "points": d.points,
                    "difficulty": d.difficulty, "point_id": d.point_id, "created_by": user.username,
                    "created_at": now, **sealed,
                }
            )  # fmt: skip
            if progress and n % 1000 == 0:
                progress(len(rows) + n, 2 * len(rows))
        bulk_insert(session, Item.__table__, item_rows)
        bulk_insert(session, ItemVersion.__table__, version_rows)
        audit(
            session, user, "item.import", "file", path.name,
            items=len(drafts), activated=len(activated), dry_run=dry_run,
            first_code=drafts[0].code if drafts else None, last_code=drafts[-1].code if drafts else None,
        )  # fmt: skip
        audit_many(
            session,
            user,
            [
                {"action": "item.activate", "target_type": "item", "target_id": c, "details": {"via": "import --activate"}}
                for c in activated
            ],
        )
        if progress:
            progress(2 * len(rows), 2 * len(rows))
        pairs_found = duplicates()
    if dry_run:
        # The dry run compared the file with decrypted bank stems; that read stays on record.
        with bank.transaction(write=True) as session:
            audit(session, bank.actor(session), "item.import_dry_run", "file", path.name,
                  items=len(drafts), duplicates=len(pairs_found), compared_with_bank=len(existing))  # fmt: skip
    return ImportReport(
        file=path.name,
        rows=len(rows),
        imported=len(drafts),
        activated=len(activated),
        by_type=dict(Counter(d.type for d in drafts)),
        duplicates=pairs_found,
        codes=[d.code for d in drafts if d.code],
        dry_run=dry_run,
    )


# ---------------------------------------------------------------- listing


def _list_query(
    occupation: str | None, level: int | None, type_: str | None, status: str | None, point: str | None,
    *, detail: bool = False,
) -> Any:
    """Item metadata, filtered. `detail` adds the columns only `item show` needs: the
    listing stays narrow because it is read 100,000 rows at a time."""
    n = OutlineNode.__table__
    i = Item.__table__
    o = Occupation.__table__
    columns = [
        type_coerce(i.c.id, String).label("id"), i.c.code, o.c.code.label("occupation"), i.c.level,
        n.c.code.label("point_code"), i.c.type, cast(i.c.points, Float).label("points"), i.c.difficulty,
        i.c.status, i.c.source, i.c.current_version.label("version"), i.c.usage_count, i.c.p_value,
    ]  # fmt: skip
    if detail:
        columns += [i.c.enemy_group, i.c.last_used_at, i.c.discrimination, i.c.n_responses]
    q = select(*columns).join(o, o.c.id == i.c.occupation_id).outerjoin(n, n.c.id == i.c.point_id).order_by(i.c.code)
    if occupation:
        q = q.where(o.c.code == occupation)
    if level is not None:
        q = q.where(i.c.level == level)
    if type_:
        try:
            q = q.where(i.c.type == domain.item_type(type_))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
    if status:
        q = q.where(i.c.status == status)
    if point:
        q = q.where(n.c.code == point)
    return q


def _uuid_text(raw: Any) -> str:
    """The id as canonical UUID text, from SQLite's 32-hex storage or PostgreSQL's uuid."""
    if isinstance(raw, str) and len(raw) == 32:
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    return str(raw)


def _meta_rows(result: Any) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts. Tuples and zip, not RowMapping, and the id read without
    building a UUID object: this is `item list`'s hot path."""
    keys = list(result.keys())
    out = []
    for row in result.all():
        d = dict(zip(keys, row, strict=True))
        d["id"] = _uuid_text(d["id"])
        if d.get("last_used_at") is not None:
            d["last_used_at"] = d["last_used_at"].isoformat()
        out.append(d)
    return out


def list_items(
    bank: Bank,
    *,
    occupation: str | None = None,
    level: int | None = None,
    type: str | None = None,
    status: str | None = None,
    point: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Metadata only — never content, so every role that sees the bank may list it."""
    rows, _total = search_items(bank, occupation=occupation, level=level, type=type, status=status, point=point, limit=limit)
    return rows


def search_items(
    bank: Bank,
    *,
    occupation: str | None = None,
    level: int | None = None,
    type: str | None = None,
    status: str | None = None,
    point: str | None = None,
    code_prefix: str | None = None,
    limit: int | None = 50,
    offset: int = 0,
    with_total: bool = False,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of item metadata and how many match in all: the console's and the API's search.
    `code_prefix` matches the start of the item code or of its point code (content is encrypted,
    so it is never searched). Counting every match costs a scan, so only `with_total` asks for it."""
    if status and status not in domain.STATUSES:
        raise ValidationError(f"status: unknown {status!r}; statuses are {', '.join(domain.STATUSES)}")
    with bank.transaction() as session:
        bank.permit(session, "item.list")
        q = _list_query(occupation, level, type, status, point)
        if code_prefix:
            like = code_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            # The point match as a subquery on the outline (a few hundred rows): an OR across the join
            # would read and sort every item.
            points = select(OutlineNode.id).where(OutlineNode.code.like(like, escape="\\"))
            q = q.where(or_(Item.code.like(like, escape="\\"), Item.point_id.in_(points)))
        total = session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) if with_total else None
        return _meta_rows(session.execute(q.limit(limit).offset(offset) if limit else q.offset(offset))), total


# ---------------------------------------------------------------- show / edit


def _item(session: Session, code: str) -> Item:
    item = session.scalars(select(Item).where(Item.code == code)).first()
    if item is None:
        raise NotFoundError(f"no item {code!r} in the bank")
    return item


def _version_row(session: Session, item: Item, version: int | None = None) -> Any:
    v = ItemVersion.__table__
    row = session.execute(
        select(v).where(v.c.item_id == item.id, v.c.version == (version or item.current_version))
    ).mappings().first()
    if row is None:
        raise NotFoundError(f"item {item.code} has no version {version}")
    return row


def content_json(content: ItemContent) -> dict[str, Any]:
    return {
        "stem": content.stem,
        "options": {domain.OPTION_LETTERS[i]: o for i, o in enumerate(content.options)},
        "answer": content.answer,
        "analysis": content.analysis,
        "media": [{"name": m.name, "mime": m.mime, "bytes": len(m.data)} for m in content.media],
    }


def show_item(bank: Bank, code: str, *, version: int | None = None, with_content: bool = True) -> dict[str, Any]:
    """Metadata for any bank role; decrypted content only for roles allowed to read it, audited."""
    with bank.transaction() as session:
        user = bank.actor(session, "item.list")
        item = _item(session, code)
        meta = _meta_rows(session.execute(_list_query(None, None, None, None, None, detail=True).where(Item.id == item.id)))[0]
        meta |= {"author": item.author, "reviewer": item.reviewer, "created_by": item.created_by,
                 "created_at": item.created_at.isoformat(), "updated_at": item.updated_at.isoformat()}  # fmt: skip
        if item.parent_id:
            meta["parent"] = session.scalars(select(Item.code).where(Item.id == item.parent_id)).one()
        if item.type == domain.SET_TYPE:
            meta["children"] = list(session.scalars(select(Item.code).where(Item.parent_id == item.id).order_by(Item.code)))
        meta["versions"] = [
            {"version": v, "created_at": at.isoformat(), "created_by": by, "key_version": kv}
            for v, at, by, kv in session.execute(
                select(ItemVersion.version, ItemVersion.created_at, ItemVersion.created_by, ItemVersion.key_version)
                .where(ItemVersion.item_id == item.id)
                .order_by(ItemVersion.version)
            )
        ]
        if with_content:
            require(user, "item.read")
            row = _version_row(session, item, version)
            meta["shown_version"] = row["version"]
            meta["content"] = content_json(decrypt_version(bank, session, row))
            audit(session, user, "item.read", "item", item.code, version=row["version"])
        return meta


EDITABLE = ("point_code", "type", "stem", *OPTION_FIELDS, "answer", "analysis", "points", "difficulty", "source",
            "author", "enemy_group", "images")  # fmt: skip


def _row_from_item(item: Item, content: ItemContent, occ_code: str, point_code: str) -> dict[str, str]:
    values = {
        "code": "", "occupation": occ_code, "level": str(item.level), "point_code": point_code, "type": item.type,
        "stem": content.stem, "answer": content.answer, "analysis": content.analysis, "points": str(item.points),
        "difficulty": str(item.difficulty), "source": item.source, "author": item.author, "reviewer": "",
        "enemy_group": item.enemy_group or "", "parent_code": "",
    }  # fmt: skip
    for i, opt in enumerate(content.options):
        values[OPTION_FIELDS[i]] = opt
    return values


def edit_item(bank: Bank, code: str, changes: dict[str, str], *, note: str = "", base_dir: Path | None = None) -> dict[str, Any]:
    """Make a new version. An edited item goes back to draft and through review again."""
    aliases = alias_map(ITEM_FIELDS)
    canonical: dict[str, str] = {}
    for key, value in changes.items():
        name = aliases.get(header_key(key))
        if name is None or name not in EDITABLE:
            raise ValidationError(f"field {key!r} cannot be edited; editable: {', '.join(ITEM_FIELDS[f][0] for f in EDITABLE)}")
        canonical[name] = value
    if not canonical:
        raise ValidationError("nothing to change: give at least one --set FIELD=VALUE")
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "item.write")
        require(user, "item.read")
        item = _item(session, code)
        if item.status == "retired":
            raise ConflictError(f"item {code} is retired; retired items are not edited")
        if item.type == domain.SET_TYPE and "type" in canonical:
            raise ValidationError("a 组合 set cannot change type")
        current = decrypt_version(bank, session, _version_row(session, item))
        occ_code = session.scalars(select(Occupation.code).where(Occupation.id == item.occupation_id)).one()
        point_code = session.scalars(select(OutlineNode.code).where(OutlineNode.id == item.point_id)).first() or ""
        values = _row_from_item(item, current, occ_code, point_code)
        if "type" in canonical or any(f in canonical for f in OPTION_FIELDS):
            for f in OPTION_FIELDS:
                values.setdefault(f, "")
        values |= canonical
        row = RawRow(f"item {code}", "edit", values, {k: ITEM_FIELDS[k][0] for k in values})
        view = _bank_view(session, [row])
        result = validate_row(row, view, base_dir)
        if isinstance(result, list):
            raise ValidationError(result)
        if item.type == domain.SET_TYPE:
            result.points = item.points
        new_content = _content_of(result)
        if "images" not in canonical:
            new_content.media = current.media
        version = item.current_version + 1
        keyring = bank.keyring(session)
        keyring.pin(session, ITEM_CONTENT.domain)
        sealed = seal_fields(keyring, ITEM_CONTENT, str(item.id), version, pack(new_content))
        assert result.points is not None
        session.add(
            ItemVersion(
                item_id=item.id, version=version, type=result.type, points=result.points,
                difficulty=result.difficulty, point_id=result.point_id, created_by=user.username, **sealed,
            )
        )  # fmt: skip
        previous_status = item.status
        item.current_version = version
        item.type, item.points, item.difficulty, item.point_id = result.type, result.points, result.difficulty, result.point_id
        item.source, item.author, item.enemy_group = result.source, result.author, result.enemy_group
        item.updated_at = utcnow()
        if item.status in ("submitted", "reviewed", "active", "suspended"):
            item.status = "draft"
            item.reviewer = ""
        audit(session, user, "item.edit", "item", code, version=version, fields=sorted(canonical), note=note,
              status_before=previous_status, status_after=item.status)  # fmt: skip
        return {"code": code, "version": version, "status": item.status, "changed": sorted(canonical)}


# ---------------------------------------------------------------- workflow


def _authored_by(item: Item, user: User) -> bool:
    return bool(user.names() & {item.author, item.created_by})


def transition(
    bank: Bank,
    action: str,
    codes: list[str],
    *,
    comment: str = "",
    select_filter: dict[str, Any] | None = None,
) -> list[dict[str, str]]:
    """Move items through the workflow, all of them or none; each move is an audit event."""
    rule = TRANSITIONS[action]
    with bank.transaction(write=True) as session:
        user = bank.actor(session, rule.permission)
        items: list[Item] = []
        if codes:
            found = {i.code: i for chunk in _chunks(codes) for i in session.scalars(select(Item).where(Item.code.in_(chunk)))}
            missing = [c for c in codes if c not in found]
            if missing:
                raise NotFoundError(f"no item {missing[0]!r} in the bank" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
            items = [found[c] for c in dict.fromkeys(codes)]
        elif select_filter is not None:
            f = select_filter
            picked = [r["code"] for r in session.execute(
                _list_query(f.get("occupation"), f.get("level"), f.get("type"), None, f.get("point"))
                .where(Item.status.in_(rule.sources))
            ).mappings()]  # fmt: skip
            items = [i for chunk in _chunks(picked) for i in session.scalars(select(Item).where(Item.code.in_(chunk)))]
        if not items:
            raise ValidationError(f"no items to {action}: name item codes, or select with --all and filters")
        problems = []
        for item in items:
            if item.status not in rule.sources:
                problems.append(f"{item.code} is {item.status}; {action} needs {'/'.join(sorted(rule.sources))}")
            elif rule.permission == "item.review" and _authored_by(item, user):
                problems.append(f"{item.code}: {user.username} wrote or entered this item; an author never reviews their own item")
        if problems:
            raise ConflictError(f"{len(problems)} of {len(items)} items cannot {action}; nothing changed:\n" + "\n".join(problems[:50]))
        now = utcnow()
        out = []
        events = []
        for item in items:
            before = item.status
            item.status = rule.target
            item.updated_at = now
            if action == "approve":
                item.reviewer = user.display_name or user.username
            events.append({"action": f"item.{action}", "target_type": "item", "target_id": item.code,
                           "details": {"from": before, "to": rule.target, "comment": comment} if comment else {"from": before, "to": rule.target}})  # fmt: skip
            out.append({"code": item.code, "from": before, "to": rule.target})
        audit_many(session, user, events)
        return out


# ---------------------------------------------------------------- export


def export_items(
    bank: Bank,
    out: Path,
    *,
    occupation: str | None = None,
    level: int | None = None,
    type: str | None = None,
    status: str | None = None,
    point: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Decrypt into the import template (xlsx, csv or json by suffix), for custodians.

    The attempt is audited in its own transaction before anything is decrypted, so even a
    failed export leaves a trace.
    """
    from examvault.itembank.formats.export import write_items

    if status and status not in domain.STATUSES:
        raise ValidationError(f"unknown status {status!r}; statuses are {', '.join(domain.STATUSES)}")
    filters = {"occupation": occupation, "level": level, "type": type, "status": status, "point": point}
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "item.export")
        bank.keyring(session)
        audit(session, user, "item.export", "file", out.name, filter=filters)
    with bank.transaction() as session:
        v = ItemVersion.__table__
        q = _list_query(occupation, level, type, status, point, detail=True).add_columns(
            Item.author, Item.reviewer, Item.parent_id, v.c.item_id, v.c.key_version, v.c.dek,
            v.c.stem, v.c.options, v.c.answer, v.c.analysis, v.c.media, v.c.version.label("v"),
        ).join(v, (v.c.item_id == Item.id) & (v.c.version == Item.current_version))  # fmt: skip
        rows = session.execute(q).mappings().all()
        parents = dict(session.execute(select(Item.id, Item.code).where(Item.type == domain.SET_TYPE)).all())
        records = []
        for n, r in enumerate(rows, start=1):
            c = decrypt_version(bank, session, {**r, "version": r["v"]})
            rec = {
                "code": r["code"], "occupation": r["occupation"], "level": str(r["level"]),
                "point_code": r["point_code"] or "", "type": r["type"], "stem": c.stem, "answer": c.answer,
                "analysis": c.analysis, "points": str(domain.tidy(Decimal(str(r["points"])))), "difficulty": str(r["difficulty"]),
                "source": r["source"], "author": r["author"], "reviewer": r["reviewer"],
                "enemy_group": r["enemy_group"] or "", "parent_code": parents.get(r["parent_id"], ""),
                "media": c.media,
            }  # fmt: skip
            for i, opt in enumerate(c.options):
                rec[OPTION_FIELDS[i]] = opt
            records.append(rec)
            if progress and n % 1000 == 0:
                progress(n, len(rows))
    write_items(records, out)
    return {"file": str(out), "items": len(records)}


def eligible_item_ids(session: Session, occupation_id: int, level: int) -> list[uuid.UUID]:
    """The pool assembly draws from: active items only, whatever else is in the bank."""
    from examvault.itembank.workflow import ELIGIBLE_STATUS

    return list(
        session.scalars(
            select(Item.id).where(Item.occupation_id == occupation_id, Item.level == level, Item.status == ELIGIBLE_STATUS)
        )
    )
