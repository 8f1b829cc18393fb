"""Records retention (档案保存期限): paper records are kept 3 years, electronic records 5 years.

One policy per record kind says what the kind is called, whether it is a paper or an
electronic record, how many years it is kept, what the period runs from, how to find the
records whose period has ended, and how to purge a batch of them. A purge leaves a
`RetentionTombstone` per record (for the audit log: one per purged range) holding the
kind, a reference made of codes and ids — never personal data —, the category, the end
date and a SHA-256 digest of what was erased, so the purge stays on record after the
record is gone.

What a purge does, per kind:

- a candidate keeps its code, occupation, level, status and ticket for statistics; its
  sealed personal document and photo are erased (`is_purged` tells callers not to open it);
- decisions, attendance, incidents, findings and checklist ticks are deleted;
- sign-in sheets and answer scripts are paper: the purge records their destruction (销毁)
  as a tombstone, and the rows they hang on stay;
- a custody event keeps only its 32-byte leaf hash, so the Merkle tree, the signed
  checkpoints and `custody verify` still hold; only events under a signed checkpoint are
  purged, since the checkpoint is what vouches for a hash whose event is gone;
- audit events are deleted after one tombstone records the range and a digest of the rows.

Certificates and the certificate ledger are never purged: a certificate is valid for life
and must stay traceable to its issue. The report lists them as permanent.

Retention ends on the anchor date plus N years (29 February → 28 February), in Beijing
time, and a record is due once that date has come. A report may look ahead to a future
date for planning; a purge always works as of today, so nothing goes early.
"""

from __future__ import annotations

import calendar
import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from examvault.accounts.models import AuditEvent
from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.crypto.keyring import Keyring
from examvault.crypto.records import seal_fields
from examvault.crypto.signing import canonical_json
from examvault.custody import merkle
from examvault.custody.models import CustodyCheckpoint, CustodyEvent, CustodyHead, CustodyNode
from examvault.db import BEIJING, beijing_today, bulk_insert, utcnow
from examvault.errors import IntegrityError, ValidationError
from examvault.quality.models import ChecklistEntry, Finding, Incident
from examvault.registration.models import (
    CANDIDATE_PERSONAL,
    Attendance,
    Candidate,
    Certificate,
    CertificateEvent,
    EligibilityDecision,
    ExamSession,
    RetentionTombstone,
    Room,
)
from examvault.scoring.models import Mark, PartScore, Result, Script, Violation

PAPER_YEARS, ELECTRONIC_YEARS = 3, 5
LISTING_LIMIT = 200  # due records listed per kind in a report; the counts are always exact
BATCH = 500  # records per purge batch: bounded statements, bounded memory
PAPER_ROOM_KINDS = ("theory", "skill", "defence")


# ---------------------------------------------------------------- dates


today = beijing_today  # retention ends are days in Beijing


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def latest_anchor(as_of: date, years: int) -> date:
    """The last anchor date whose retention has ended by `as_of`: add_years(d) <= as_of ⇔ d <= this."""
    year = as_of.year - years
    if as_of.month == 2 and as_of.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    if as_of.month == 2 and as_of.day == 28 and calendar.isleap(year) and not calendar.isleap(as_of.year):
        return date(year, 2, 29)  # its end date, 28 February of a common year, has come
    return as_of.replace(year=year)


def _day_of(moment: datetime | date) -> date:
    return moment.astimezone(BEIJING).date() if isinstance(moment, datetime) else moment


def _bound(anchor: date) -> datetime:
    """The first instant (UTC) after the Beijing day `anchor`: a stored time is on or before it iff it is earlier."""
    return datetime.combine(anchor + timedelta(days=1), time(), BEIJING).astimezone(UTC)


def _end(anchor: datetime | date, years: int) -> date:
    return add_years(_day_of(anchor), years)


# ---------------------------------------------------------------- the policy table


@dataclass(frozen=True)
class Due:
    """A record whose retention has ended: its key for the purge, its reference for people, its end date."""

    key: Any
    record: str
    retain_until: date


@dataclass(frozen=True)
class Census:
    total: int  # records held now (not yet purged)
    due: int
    earliest: date | None  # the earliest retention end among them
    note: str = ""


@dataclass
class PurgeContext:
    session: Session
    actor: str
    now: datetime
    policy: Policy | None = None
    tombstones: list[dict[str, Any]] = field(default_factory=list)
    purged: int = 0  # records purged for the current kind
    keyring: Callable[[], Keyring] = field(default=lambda: _no_keyring())  # unlocked on first use

    def tombstone(self, record: str, retain_until: date, digest: str, *, count: int = 1) -> None:
        """Record what is purged; `count` records when one tombstone covers a range."""
        assert self.policy is not None
        self.purged += count
        self.tombstones.append({
            "kind": self.policy.kind, "record": record[:80], "category": self.policy.category, "retain_until": retain_until,
            "digest": digest, "purged_by": self.actor, "purged_at": self.now,
        })  # fmt: skip


def _no_keyring() -> Keyring:
    raise AssertionError("no keyring given to this purge")


@dataclass(frozen=True)
class Policy:
    kind: str
    label: str  # the record's name on Chinese documents
    category: str  # paper | electronic
    years: int | None  # None: kept permanently
    anchor: str  # what the period runs from
    census: Callable[[Session, date], Census]
    due: Callable[[Session, date, int | None], list[Due]]  # due records, oldest first, at most `limit`
    purge_batch: Callable[[PurgeContext, list[Due]], None] | None = None  # None: never purged
    batch: int = BATCH  # records handed to one purge_batch call (0: all at once)


def is_purged(cand: Candidate) -> bool:
    """Whether retention erased this candidate's personal document and photo: there is nothing to open."""
    return cand.purged_at is not None


# ---------------------------------------------------------------- digests


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def row_document(row: Mapping[str, Any]) -> dict[str, Any]:
    """A deleted row as the JSON its digest is taken over: times in ISO 8601 (UTC), UUIDs as text, bytes in hex."""
    return {k: _jsonable(v) for k, v in row.items()}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def erased_digest(*parts: bytes | None) -> str:
    """SHA-256 over the erased fields, each preceded by its length (8 bytes, big-endian; a missing field is empty)."""
    h = hashlib.sha256()
    for part in parts:
        data = bytes(part or b"")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _chunks(rows: Sequence[Due], size: int) -> Iterator[list[Due]]:
    size = size or max(len(rows), 1)
    for i in range(0, len(rows), size):
        yield list(rows[i : i + size])


# ---------------------------------------------------------------- candidates


def _candidate_due_rows(session: Session, as_of: date) -> list[Due]:
    last = latest_anchor(as_of, ELECTRONIC_YEARS)
    placed = session.execute(
        select(Candidate.id, Candidate.code, ExamSession.exam_date)
        .join(ExamSession, ExamSession.id == Candidate.session_id)
        .where(Candidate.purged_at.is_(None), ExamSession.exam_date <= last)
    )
    unplaced = session.execute(
        select(Candidate.id, Candidate.code, Candidate.created_at).where(
            Candidate.purged_at.is_(None), Candidate.session_id.is_(None), Candidate.created_at < _bound(last)
        )
    )
    rows = [Due(cid, code, _end(anchor, ELECTRONIC_YEARS)) for cid, code, anchor in [*placed, *unplaced]]
    return sorted(rows, key=lambda d: (d.retain_until, d.record))


def _candidate_due(session: Session, as_of: date, limit: int | None) -> list[Due]:
    return _candidate_due_rows(session, as_of)[:limit]


def _candidate_census(session: Session, as_of: date) -> Census:
    last = latest_anchor(as_of, ELECTRONIC_YEARS)
    pending = Candidate.purged_at.is_(None)
    n1, d1, m1 = session.execute(
        select(func.count(), func.coalesce(func.sum(case((ExamSession.exam_date <= last, 1), else_=0)), 0), func.min(ExamSession.exam_date))
        .select_from(Candidate)
        .join(ExamSession, ExamSession.id == Candidate.session_id)
        .where(pending)
    ).one()  # fmt: skip
    n2, d2, m2 = session.execute(
        select(func.count(), func.coalesce(func.sum(case((Candidate.created_at < _bound(last), 1), else_=0)), 0), func.min(Candidate.created_at))
        .where(pending, Candidate.session_id.is_(None))
    ).one()  # fmt: skip
    ends = [_end(m, ELECTRONIC_YEARS) for m in (m1, m2) if m is not None]
    return Census(int(n1) + int(n2), int(d1) + int(d2), min(ends) if ends else None)


def _candidate_purge(ctx: PurgeContext, batch: list[Due]) -> None:
    """Erase the sealed personal document and photo. What stays is a sealed empty record under a fresh data key and
    today's primary key, at the next version: key rotation, rewrap and `keys set-min` go on treating the row like any
    other, and nothing of the old data key or ciphertext is left in it."""
    keyring = ctx.keyring()
    ids = [d.key for d in batch]
    rows = {cid: (version, erased_digest(personal, photo)) for cid, version, personal, photo in ctx.session.execute(
        select(Candidate.id, Candidate.version, Candidate.personal, Candidate.photo)
        .where(Candidate.id.in_(ids), Candidate.purged_at.is_(None)))}  # fmt: skip
    if len(rows) != len(ids):
        raise IntegrityError(
            f"candidates changed while they were being purged ({len(rows)} of {len(ids)}); nothing was purged"
        )
    params = []
    for d in batch:
        version, digest = rows[d.key]
        sealed = seal_fields(
            keyring, CANDIDATE_PERSONAL, str(d.key), version + 1, {"personal": b"", "photo": None}
        )
        params.append({"b_id": d.key, "b_version": version, "new_version": version + 1, **sealed})
        ctx.tombstone(d.record, d.retain_until, digest)
    t = Candidate.__table__
    done = ctx.session.execute(
        t.update()
        .where(t.c.id == bindparam("b_id"), t.c.version == bindparam("b_version"))
        .values(version=bindparam("new_version"), key_version=bindparam("key_version"), dek=bindparam("dek"),
                personal=bindparam("personal"), photo=None, purged_at=ctx.now),
        params,
    )  # fmt: skip
    if done.context.dialect.supports_sane_multi_rowcount and done.rowcount != len(params):  # type: ignore[attr-defined]
        raise IntegrityError("candidates changed while they were being purged; nothing was purged")


# ---------------------------------------------------------------- rows deleted outright


@dataclass(frozen=True)
class _Rows:
    """A kind whose records are rows deleted outright, anchored on one of their times."""

    model: Any
    anchor: InstrumentedAttribute[datetime]
    refs: tuple[Any, ...]  # columns the reference is made from (the first is the primary key)
    ref: Callable[[Any], str]
    join: tuple[Any, Any] | None = None  # (entity, on clause) for codes in the reference

    def _select(self, *cols: Any) -> Any:
        q = select(*cols).select_from(self.model)
        return q.outerjoin(*self.join) if self.join else q

    def census(self, years: int) -> Callable[[Session, date], Census]:
        def run(session: Session, as_of: date) -> Census:
            bound = _bound(latest_anchor(as_of, years))
            total, due, first = session.execute(
                select(func.count(), func.coalesce(func.sum(case((self.anchor < bound, 1), else_=0)), 0), func.min(self.anchor))
            ).one()  # fmt: skip
            return Census(int(total), int(due), _end(first, years) if first is not None else None)

        return run

    def due(self, years: int) -> Callable[[Session, date, int | None], list[Due]]:
        def run(session: Session, as_of: date, limit: int | None) -> list[Due]:
            q = self._select(*self.refs, self.anchor).where(self.anchor < _bound(latest_anchor(as_of, years)))
            rows = session.execute(q.order_by(self.anchor, self.refs[0]).limit(limit))
            return [Due(r[0], self.ref(r), _end(r[-1], years)) for r in rows]

        return run

    def purge_batch(self, ctx: PurgeContext, batch: list[Due]) -> None:
        table = self.model.__table__
        pk = table.primary_key.columns.values()[0]
        keys = [d.key for d in batch]
        rows = {r[pk.name]: r for r in ctx.session.execute(select(table).where(pk.in_(keys))).mappings()}
        if len(rows) != len(keys):
            raise IntegrityError(
                f"{table.name}: rows vanished while they were being purged; nothing was purged"
            )
        ctx.session.execute(delete(table).where(pk.in_(keys)))
        for d in batch:
            ctx.tombstone(d.record, d.retain_until, _sha256(canonical_json(row_document(rows[d.key]))))


def _row_policy(kind: str, label: str, anchor_text: str, rows: _Rows) -> Policy:
    years = ELECTRONIC_YEARS
    return Policy(
        kind, label, "electronic", years, anchor_text, rows.census(years), rows.due(years), rows.purge_batch
    )


_DECISIONS = _Rows(EligibilityDecision, EligibilityDecision.decided_at, (EligibilityDecision.id, Candidate.code),
                   lambda r: f"decision {r[0]} for {r[1]}", (Candidate, Candidate.id == EligibilityDecision.candidate_id))  # fmt: skip
_ATTENDANCE = _Rows(Attendance, Attendance.at, (Attendance.id, Candidate.code, Attendance.part),
                    lambda r: f"attendance {r[0]}: {r[1]} {r[2]}", (Candidate, Candidate.id == Attendance.candidate_id))  # fmt: skip
_INCIDENTS = _Rows(Incident, Incident.occurred_at, (Incident.id,), lambda r: f"incident {r[0]}")
_VIOLATIONS = _Rows(Violation, Violation.at, (Violation.id, Candidate.code, Violation.part),
                    lambda r: f"violation {r[0]}: {r[1]} {r[2]}", (Candidate, Candidate.id == Violation.candidate_id))  # fmt: skip
_PANEL_SCORES = _Rows(PartScore, PartScore.recorded_at, (PartScore.id, Candidate.code, PartScore.part),
                      lambda r: f"panel score {r[0]}: {r[1]} {r[2]}", (Candidate, Candidate.id == PartScore.candidate_id))  # fmt: skip
_MARKS = _Rows(Mark, Mark.marked_at, (Mark.id, Script.code, Mark.number),
               lambda r: f"mark {r[0]}: 密封号 {r[1]} item {r[2]}", (Script, Script.id == Mark.script_id))  # fmt: skip
_FINDINGS = _Rows(Finding, Finding.filed_at, (Finding.id, ExamSession.code),
                  lambda r: f"finding {r[0]} in {r[1]}", (ExamSession, ExamSession.id == Finding.session_id))  # fmt: skip
_CHECKS = _Rows(ChecklistEntry, ChecklistEntry.checked_at, (ChecklistEntry.id, ExamSession.code, ChecklistEntry.stage, ChecklistEntry.item),
                lambda r: f"{r[1]} {r[2]}/{r[3]}", (ExamSession, ExamSession.id == ChecklistEntry.session_id))  # fmt: skip


# ---------------------------------------------------------------- paper records: destruction on record


def _purged_refs(session: Session, kind: str) -> set[str]:
    return set(session.scalars(select(RetentionTombstone.record).where(RetentionTombstone.kind == kind)))


def _sheets(session: Session) -> list[tuple[str, date, dict[str, Any]]]:
    """Every room's sign-in sheet: (reference, exam date, what the tombstone's digest is taken over)."""
    rows = session.execute(
        select(ExamSession.code, Room.code, Room.kind, ExamSession.exam_date)
        .join(ExamSession, ExamSession.id == Room.session_id)
        .where(Room.kind.in_(PAPER_ROOM_KINDS))
    )
    return [(f"{s}/{r}", day, {"kind": "sign_in_sheet", "session": s, "room": r, "room_kind": k, "exam_date": day.isoformat()})
            for s, r, k, day in rows]  # fmt: skip


def _scripts(session: Session) -> list[tuple[str, date, dict[str, Any]]]:
    rows = session.execute(select(ExamSession.code, ExamSession.exam_date, ExamSession.papers))
    return [
        (s, day, {"kind": "answer_scripts", "session": s, "papers": papers, "exam_date": day.isoformat()})
        for s, day, papers in rows
    ]


def _paper_policy(
    kind: str,
    label: str,
    anchor_text: str,
    records: Callable[[Session], list[tuple[str, date, dict[str, Any]]]],
) -> Policy:
    years = PAPER_YEARS

    def pending(session: Session) -> list[tuple[str, date, dict[str, Any]]]:
        done = _purged_refs(session, kind)
        return [r for r in records(session) if r[0] not in done]

    def census(session: Session, as_of: date) -> Census:
        rows = pending(session)
        ends = [add_years(day, years) for _, day, _ in rows]
        return Census(len(rows), sum(e <= as_of for e in ends), min(ends) if ends else None)

    def due(session: Session, as_of: date, limit: int | None) -> list[Due]:
        rows = [Due(doc, ref, add_years(day, years)) for ref, day, doc in pending(session)]
        return sorted((d for d in rows if d.retain_until <= as_of), key=lambda d: (d.retain_until, d.record))[
            :limit
        ]

    def purge_batch(ctx: PurgeContext, batch: list[Due]) -> None:
        for d in batch:
            ctx.tombstone(d.record, d.retain_until, _sha256(canonical_json(d.key)))

    return Policy(kind, label, "paper", years, anchor_text, census, due, purge_batch)


# ---------------------------------------------------------------- the custody log


def _checkpointed(session: Session) -> int:
    return int(session.scalar(select(func.max(CustodyCheckpoint.size))) or 0)


def _custody_census(session: Session, as_of: date) -> Census:
    bound = _bound(latest_anchor(as_of, ELECTRONIC_YEARS))
    covered = _checkpointed(session)
    due_cond = CustodyEvent.recorded_at < bound
    total, due, waiting, first = session.execute(
        select(func.count(), func.coalesce(func.sum(case((due_cond & (CustodyEvent.seq < covered), 1), else_=0)), 0),
               func.coalesce(func.sum(case((due_cond & (CustodyEvent.seq >= covered), 1), else_=0)), 0),
               func.min(CustodyEvent.recorded_at)).where(CustodyEvent.purged.is_(False))
    ).one()  # fmt: skip
    note = (f"{waiting} more {'is' if waiting == 1 else 'are'} due but newer than the latest checkpoint; run `examvault custody checkpoint` first"
            if waiting else "")  # fmt: skip
    return Census(int(total), int(due), _end(first, ELECTRONIC_YEARS) if first is not None else None, note)


def _custody_due(session: Session, as_of: date, limit: int | None) -> list[Due]:
    q = select(CustodyEvent.seq, CustodyEvent.recorded_at).where(
        CustodyEvent.purged.is_(False),
        CustodyEvent.recorded_at < _bound(latest_anchor(as_of, ELECTRONIC_YEARS)),
        CustodyEvent.seq < _checkpointed(session),  # the signed checkpoint vouches for the hash that stays
    )
    rows = session.execute(q.order_by(CustodyEvent.seq).limit(limit))
    return [Due(seq, f"custody event {seq}", _end(at, ELECTRONIC_YEARS)) for seq, at in rows]


def _custody_purge(ctx: PurgeContext, batch: list[Due]) -> None:
    """Replace each leaf by its leaf hash, after checking it still matches the tree: evidence is not purged over tampering."""
    seqs = [d.key for d in batch]
    leaves = {seq: bytes(leaf) for seq, leaf in ctx.session.execute(
        select(CustodyEvent.seq, CustodyEvent.leaf).where(CustodyEvent.seq.in_(seqs), CustodyEvent.purged.is_(False)))}  # fmt: skip
    nodes = {ix: bytes(h) for ix, h in ctx.session.execute(
        select(CustodyNode.index, CustodyNode.hash).where(CustodyNode.level == 0, CustodyNode.index.in_(seqs)))}  # fmt: skip
    params = []
    for d in batch:
        leaf = leaves.get(d.key)
        if leaf is None:
            raise IntegrityError(
                f"custody event {d.key} changed while it was being purged; nothing was purged"
            )
        hashed = merkle.leaf_hash(leaf)
        if nodes.get(d.key) != hashed:
            raise IntegrityError(f"custody event {d.key} does not match its tree node: run `examvault custody verify`; "
                                 "nothing was purged")  # fmt: skip
        params.append({"b_seq": d.key, "b_leaf": hashed})
        ctx.tombstone(d.record, d.retain_until, _sha256(leaf))
    t = CustodyEvent.__table__
    ctx.session.execute(
        t.update().where(t.c.seq == bindparam("b_seq")).values(leaf=bindparam("b_leaf"), purged=True), params
    )


# ---------------------------------------------------------------- the audit log


def _audit_census(session: Session, as_of: date) -> Census:
    return _Rows(AuditEvent, AuditEvent.at, (AuditEvent.id,), str).census(ELECTRONIC_YEARS)(session, as_of)


def _audit_due(session: Session, as_of: date, limit: int | None) -> list[Due]:
    """The due audit events as one range: they go together, under one tombstone."""
    bound = _bound(latest_anchor(as_of, ELECTRONIC_YEARS))
    first, last, n, latest = session.execute(
        select(func.min(AuditEvent.id), func.max(AuditEvent.id), func.count(), func.max(AuditEvent.at)).where(AuditEvent.at < bound)
    ).one()  # fmt: skip
    if not n or limit == 0:
        return []
    return [Due((first, last, bound), f"audit_events {first}–{last} ({n})", _end(latest, ELECTRONIC_YEARS))]


def _audit_rows(session: Session, first: int, last: int, bound: datetime) -> Iterable[Mapping[str, Any]]:
    q = (
        select(AuditEvent.__table__)
        .where(AuditEvent.id.between(first, last), AuditEvent.at < bound)
        .order_by(AuditEvent.id)
    )
    return session.execute(q.execution_options(yield_per=2000)).mappings()


def _audit_purge(ctx: PurgeContext, batch: list[Due]) -> None:
    """One tombstone first — range, count, SHA-256 of the canonical JSON array of the rows — then the delete."""
    for d in batch:
        first, last, bound = d.key
        h, n = hashlib.sha256(b"["), 0
        for row in _audit_rows(ctx.session, first, last, bound):
            h.update((b"," if n else b"") + canonical_json(row_document(row)))
            n += 1
        h.update(b"]")
        ctx.tombstone(f"audit_events {first}–{last} ({n})", d.retain_until, h.hexdigest(), count=n)
        bulk_insert(
            ctx.session, RetentionTombstone.__table__, ctx.tombstones
        )  # recorded before anything is deleted
        ctx.tombstones.clear()
        gone = ctx.session.execute(
            delete(AuditEvent).where(AuditEvent.id.between(first, last), AuditEvent.at < bound)
        )
        if gone.rowcount != n:  # type: ignore[attr-defined]
            raise IntegrityError("audit events changed while they were being purged; nothing was purged")


# ---------------------------------------------------------------- kept for life


def _permanent(model: Any) -> Callable[[Session, date], Census]:
    def run(session: Session, as_of: date) -> Census:
        return Census(int(session.scalar(select(func.count()).select_from(model)) or 0), 0, None,
                      "kept permanently: a certificate is valid for life and stays traceable")  # fmt: skip

    return run


def _nothing(session: Session, as_of: date, limit: int | None) -> list[Due]:
    return []


POLICIES: dict[str, Policy] = {p.kind: p for p in (
    Policy("candidate", "考生报名信息", "electronic", ELECTRONIC_YEARS, "the session's exam date (registration time when not placed)",
           _candidate_census, _candidate_due, _candidate_purge),
    _row_policy("eligibility_decision", "资格审核记录", "decided_at", _DECISIONS),
    _row_policy("attendance", "考勤记录", "the time of the door check", _ATTENDANCE),
    _row_policy("incident", "考场情况记录", "when it occurred", _INCIDENTS),
    _row_policy("violation", "考生违纪记录", "when it happened", _VIOLATIONS),
    _row_policy("panel_score", "考评员评分记录", "recorded_at", _PANEL_SCORES),
    _row_policy("mark", "主观题评分记录", "marked_at", _MARKS),
    _row_policy("finding", "督导记录", "filed_at", _FINDINGS),
    _row_policy("checklist_entry", "督导检查记录", "checked_at", _CHECKS),
    _paper_policy("sign_in_sheet", "考场签到表", "the session's exam date; one per theory room, skill station and defence room", _sheets),
    _paper_policy("answer_scripts", "答题卡及试卷", "the session's exam date; one set per session", _scripts),
    Policy("custody_event", "保管链事件", "electronic", ELECTRONIC_YEARS, "recorded_at (only events under a signed checkpoint)",
           _custody_census, _custody_due, _custody_purge),
    Policy("audit_event", "审计日志", "electronic", ELECTRONIC_YEARS, "the event's time", _audit_census, _audit_due, _audit_purge, batch=0),
    Policy("result", "认定成绩", "electronic", None, "permanent", _permanent(Result), _nothing),
    Policy("certificate", "职业技能等级证书", "electronic", None, "permanent", _permanent(Certificate), _nothing),
    Policy("certificate_event", "证书台账", "electronic", None, "permanent", _permanent(CertificateEvent), _nothing),
)}  # fmt: skip


def purgeable() -> list[str]:
    return [k for k, p in POLICIES.items() if p.purge_batch is not None]


# ---------------------------------------------------------------- service


def _entry(policy: Policy, session: Session, as_of: date) -> dict[str, Any]:
    c = policy.census(session, as_of)
    due = policy.due(session, as_of, LISTING_LIMIT)
    return {"kind": policy.kind, "label": policy.label, "category": policy.category, "years": policy.years,
            "permanent": policy.years is None, "anchor": policy.anchor, "total": c.total, "due": c.due,
            "earliest": c.earliest.isoformat() if c.earliest else None, "note": c.note,
            "records": [{"record": d.record, "retain_until": d.retain_until.isoformat()} for d in due]}  # fmt: skip


def _report(session: Session, as_of: date, kinds: Iterable[str]) -> dict[str, Any]:
    entries = [_entry(POLICIES[k], session, as_of) for k in kinds]
    by_category = {cat: {"records": sum(e["total"] for e in entries if e["category"] == cat),
                         "due": sum(e["due"] for e in entries if e["category"] == cat)} for cat in ("paper", "electronic")}  # fmt: skip
    return {"as_of": as_of.isoformat(), "kinds": entries,
            "totals": {"records": sum(e["total"] for e in entries), "due": sum(e["due"] for e in entries), "by_category": by_category}}  # fmt: skip


def retention_report(
    bank: Bank, *, as_of: date | None = None, kinds: Sequence[str] | None = None
) -> dict[str, Any]:
    """What each kind holds, what is due as of `as_of` (today by default; a later date plans ahead), and when the next falls due."""
    chosen = _choose(kinds, purging=False)
    with bank.transaction() as session:
        bank.actor(session, "retention.read")
        return _report(session, as_of or today(), chosen)


def _choose(kinds: Sequence[str] | None, *, purging: bool) -> list[str]:
    if not kinds:
        return purgeable() if purging else list(POLICIES)
    unknown = [k for k in kinds if k not in POLICIES]
    if unknown:
        raise ValidationError(f"{unknown[0]!r} is not a record kind; kinds: {', '.join(POLICIES)}")
    kept = [k for k in kinds if purging and POLICIES[k].purge_batch is None]
    if kept:
        raise ValidationError(f"{kept[0]} records are kept permanently and are never purged")
    return [k for k in POLICIES if k in kinds]  # the table's order: the audit log goes last


def _pinned(bank: Bank, session: Session) -> Keyring:
    keyring = bank.keyring(session)
    keyring.pin(session, "personal")  # idempotent; a concurrent `keys set-min` waits for this purge
    return keyring


def purge(bank: Bank, *, kinds: Sequence[str] | None = None) -> dict[str, Any]:
    """Purge everything due as of today, in one transaction: per kind the erasures and their tombstones (the
    audit log's tombstone before its delete), then one `retention.purge` audit event, too new to be due.

    There is no date to pass: a purge never runs ahead of the calendar. Any failure rolls the whole purge back."""
    chosen = _choose(kinds, purging=True)
    as_of = today()
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "retention.purge")
        # Purges rewrite custody leaves and write tombstones from what they read: two at once wait for each other.
        session.get(CustodyHead, 1, with_for_update=True)
        ctx = PurgeContext(session, user.username, utcnow(), keyring=lambda: _pinned(bank, session))
        counts: dict[str, int] = {}
        for kind in chosen:
            policy = POLICIES[kind]
            assert policy.purge_batch is not None
            ctx.policy, ctx.purged = policy, 0
            due = policy.due(session, as_of, None)
            for batch in _chunks(due, policy.batch):
                policy.purge_batch(ctx, batch)
            bulk_insert(session, RetentionTombstone.__table__, ctx.tombstones)
            counts[kind] = ctx.purged
            ctx.tombstones.clear()
        total = sum(counts.values())
        audit(session, user, "retention.purge", "retention", as_of.isoformat(), counts=counts, total=total)
        return {"as_of": as_of.isoformat(), "purged": counts, "total": total}
