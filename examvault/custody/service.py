"""The custody log in the bank: appends, checkpoints, proofs and the full check. One transaction per action.

Events the bank records itself are signed with the institution's key; statements from
parties carry the parties' own signatures, checked before they go in. Signed checkpoints
cover the whole tree.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.crypto.keyring import Keyring
from examvault.crypto.models import BankMeta, Party
from examvault.crypto.records import open_fields, row_of, seal_fields
from examvault.crypto.signing import SigningKey, VerifyKey, canonical_json
from examvault.custody import merkle
from examvault.custody.events import (
    EVENT_TYPES,
    missing_signatures,
    new_event,
    parse_statement,
    required_signers,
    signed_bytes,
)
from examvault.custody.models import (
    INSTITUTION_KEY,
    CustodyCheckpoint,
    CustodyEvent,
    CustodyHead,
    CustodyNode,
    InstitutionKey,
)
from examvault.custody.note import Checkpoint, open_note
from examvault.custody.proofs import consistency_doc, inclusion_doc
from examvault.errors import ConflictError, IntegrityError, NotFoundError, ValidationError

# ---------------------------------------------------------------- the institution's key


def institution_name(session: Session) -> str:
    meta = session.get(BankMeta, 1)
    assert meta is not None
    return f"examvault-{meta.bank_id.hex[:8]}"


def institution_title(session: Session) -> str:
    """The institution's name as given at `examvault init`, for document headings."""
    meta = session.get(BankMeta, 1)
    return (meta.institution if meta else "") or "职业技能等级认定机构"


def origin(session: Session) -> str:
    return f"{institution_name(session)}/custody"


def institution_verify_key(session: Session) -> VerifyKey:
    row = session.get(InstitutionKey, 1)
    if row is None:
        raise NotFoundError("the institution has no signing key yet; run `examvault institution key`")
    return VerifyKey.parse(row.verify_key)


def institution_signing_key(session: Session, keyring: Keyring) -> SigningKey:
    """Open the key (making it the first time): it never leaves memory unsealed."""
    row = session.get(InstitutionKey, 1)
    if row is None:
        session.get(CustodyHead, 1, with_for_update=True)  # two first uses at once make one key
        row = session.get(InstitutionKey, 1, populate_existing=True)
    if row is None:
        key = SigningKey.generate(institution_name(session))
        values = seal_fields(keyring, INSTITUTION_KEY, "1", 1, {"seed": key.seed})
        session.add(InstitutionKey(id=1, version=1, verify_key=str(key.verify_key), **values))
        session.flush()
        return key
    seed = open_fields(keyring, INSTITUTION_KEY, row_of(INSTITUTION_KEY, row))["seed"]
    assert seed is not None
    key = SigningKey(institution_name(session), seed)
    if str(key.verify_key) != row.verify_key:
        raise IntegrityError("the institution's signing key does not match its recorded verifier key")
    return key


def institution_key(bank: Bank) -> str:
    """The verifier key that printers, examiners, couriers and auditors trust."""
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "custody.read")
        created = session.get(InstitutionKey, 1) is None
        key = institution_signing_key(session, bank.keyring(session))
        if created:
            audit(session, user, "institution.key", "institution", key.name, verify_key=str(key.verify_key))
        return str(key.verify_key)


# ---------------------------------------------------------------- appending


def _append(session: Session, events: Iterable[dict[str, Any]]) -> list[int]:
    """Append under the head row's lock: the log has one order and never forks."""
    head = session.get(CustodyHead, 1, with_for_update=True)
    if head is None:
        raise IntegrityError("the custody log has no head row; the database was not migrated")
    size = head.size
    frontier: dict[tuple[int, int], bytes] = {}
    seqs, rows, nodes = [], [], []
    events = list(events)
    ids = [uuid.UUID(e["id"]) for e in events]
    if len(set(ids)) != len(ids):
        raise ConflictError("the same custody event id appears twice in one append")
    for i in range(0, len(ids), 500):  # one query per 500 events, not one per event
        replayed = session.scalars(select(CustodyEvent.event_id).where(CustodyEvent.event_id.in_(ids[i : i + 500]))).first()
        if replayed is not None:
            raise ConflictError(f"custody event {replayed} is already in the log (a replay)")
    for event in events:
        leaf = canonical_json(dict(event) | {"seq": size})
        h = merkle.leaf_hash(leaf)
        made = [(0, size, h)]
        level, index = 0, size
        while index & 1:
            left = frontier.get((level, index - 1))
            if left is None:
                left = session.get(CustodyNode, (level, index - 1)).hash  # type: ignore[union-attr]
            h = merkle.node_hash(left, h)
            level, index = level + 1, index >> 1
            made.append((level, index, h))
        for lv, ix, hh in made:
            frontier[(lv, ix)] = hh
            nodes.append({"level": lv, "index": ix, "hash": hh})
        rows.append({
            "seq": size, "event_id": uuid.UUID(event["id"]), "type": event["type"], "paper": event.get("paper"),
            "package_id": uuid.UUID(event["package"]) if event.get("package") else None, "actor": event["actor"],
            "counterpart": event.get("counterpart"), "leaf": leaf,
        })  # fmt: skip
        seqs.append(size)
        size += 1
    if rows:
        session.execute(CustodyEvent.__table__.insert(), rows)
        session.execute(CustodyNode.__table__.insert(), nodes)
        head.size = size
        session.flush()
    return seqs


def record(bank: Bank, session: Session, type_: str, actor: str, **fields: Any) -> int:
    """An event the bank records, in the same transaction as the action it records, signed by the institution.

    Signing needs the bank unlocked: whoever can write the database but not unlock it cannot
    forge an event that `custody verify` accepts."""
    key = institution_signing_key(session, bank.keyring(session))
    event = new_event(type_, actor, **fields)
    return _append(session, [event | {"signatures": [key.sign("custody-event", signed_bytes(event))]}])[0]


def _parties(session: Session, names: Iterable[str]) -> dict[str, VerifyKey]:
    rows = session.scalars(select(Party).where(Party.name.in_(list(names)), Party.revoked_at.is_(None)))
    return {p.name: VerifyKey.parse(p.verify_key) for p in rows}


def append_statement(bank: Bank, text: str, what: str, *, receipt: bool = False) -> dict[str, Any]:
    """A signed statement from parties (a receipt, a print run, a handover) into the log."""
    event = parse_statement(text, what)
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "custody.append")
        rule = EVENT_TYPES[event["type"]]
        if rule.by != "party":
            raise ValidationError(f"{what}: {event['type']} events are recorded by the bank, not brought in as statements")
        if receipt and event["type"] != "printer.received":
            raise ValidationError(f"{what} is a {event['type']} statement, not a receipt")
        signers = required_signers(event, None)  # parse_statement made sure a handover names its counterpart
        keys = _parties(session, signers)
        unknown = [n for n in signers if n not in keys]
        if unknown:
            raise NotFoundError(f"{what}: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a registered party (or revoked)")
        missing = missing_signatures(event, keys)
        if missing:
            raise IntegrityError(f"{what}: no valid signature by {', '.join(missing)} (the statement was altered, or signed with another key)")
        if event.get("package"):
            _check_package_reference(session, event, what, receipt=receipt)
        seq = _append(session, [event])[0]
        audit(session, user, "custody.append", "custody", str(seq), type=event["type"], by=event["actor"])
        note = sign_checkpoint(bank, session)
        return {"seq": seq, "type": event["type"], "actor": event["actor"], "counterpart": event.get("counterpart"), "checkpoint": note}


def _check_package_reference(session: Session, event: Mapping[str, Any], what: str, *, receipt: bool) -> None:
    from examvault.export.models import Package

    try:
        package = session.get(Package, uuid.UUID(str(event["package"])))
    except ValueError:
        package = None
    if package is None:
        raise NotFoundError(f"{what}: package {event['package']} was not sealed by this bank")
    from examvault.assembly.models import Paper

    code = session.scalar(select(Paper.code).where(Paper.id == package.paper_id))
    if event.get("paper") not in (None, code):
        raise IntegrityError(f"{what}: package {package.id} holds paper {code}, not {event['paper']}")
    if receipt:
        details = event.get("details") or {}
        if event["actor"] not in {r["party"] for r in package.recipients}:
            raise IntegrityError(f"{what}: package {package.id} was not sealed to {event['actor']}")
        if (details.get("manifest_sha256"), details.get("payload_sha256"), details.get("version"), details.get("kind")) != (
            package.manifest_sha256, package.payload_sha256, package.version, package.kind
        ):
            raise IntegrityError(f"{what}: the receipt is for a different file than package {package.id} as sealed")


def append_bank_event(bank: Bank, type_: str, *, paper: str | None = None, package: str | None = None,
                      details: Mapping[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """An institution-side event a user records by hand (marked, destroyed, archived…)."""
    from examvault.assembly.service import paper_by_ref

    rule = EVENT_TYPES.get(type_)
    if rule is None or rule.by != "bank":
        raise ValidationError(f"{type_!r} is not an event the bank records; bring party events in as signed statements (`custody append FILE`)")
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "custody.append")
        code = paper_by_ref(session, paper).code if paper else None
        seq = record(bank, session, type_, user.username, paper=code, package=package, details=details)
        audit(session, user, "custody.append", "custody", str(seq), type=type_)
        return {"seq": seq, "type": type_, "checkpoint": sign_checkpoint(bank, session)}


# ---------------------------------------------------------------- reading


@lru_cache(maxsize=256)
def _nodes_sql(count: int) -> Any:
    """One primary-key probe per node, OR'ed, for `count` nodes. Written as SQL text and kept per count:
    building the same condition through the ORM costs more than the query, and a row-value IN makes
    SQLite scan the table."""
    where = " OR ".join(f'(level = :l{i} AND "index" = :i{i})' for i in range(count))
    return text(f'SELECT level, "index", hash FROM custody_nodes WHERE {where}')


def _prefetched(session: Session, compute: Any) -> Any:
    """Run `compute(node_lookup)` twice: first recording which tree nodes it reads (the proof's shape does
    not depend on their values), then over those nodes, fetched in a few queries."""
    needed: set[tuple[int, int]] = set()

    def record_only(level: int, index: int) -> bytes:
        needed.add((level, index))
        return bytes(32)

    compute(record_only)
    keys = sorted(needed)
    nodes: dict[tuple[int, int], bytes] = {}
    for i in range(0, len(keys), 200):  # a bounded statement per 200 nodes
        part = keys[i : i + 200]
        params = {f"{p}{j}": v for j, (lv, ix) in enumerate(part) for p, v in (("l", lv), ("i", ix))}
        nodes.update(((lv, ix), h) for lv, ix, h in session.execute(_nodes_sql(len(part)), params))

    def node(level: int, index: int) -> bytes:
        try:
            return nodes[(level, index)]
        except KeyError:
            raise IntegrityError(f"the custody log is missing tree node {level}/{index}") from None

    return compute(node)


def _size(session: Session) -> int:
    head = session.get(CustodyHead, 1)
    return head.size if head else 0


def sign_checkpoint(bank: Bank, session: Session) -> str:
    """Sign the current tree head, in the caller's transaction (idempotent per size)."""
    size = _size(session)
    existing = session.get(CustodyCheckpoint, size)
    if existing is not None:
        return existing.note
    root = _prefetched(session, lambda node: merkle.root(node, size))
    note = Checkpoint(origin(session), size, root).sign(institution_signing_key(session, bank.keyring(session)))
    session.add(CustodyCheckpoint(size=size, root=root, note=note))
    session.flush()
    return note


def checkpoint(bank: Bank) -> str:
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "custody.append")
        session.get(CustodyHead, 1, with_for_update=True)  # one signer per size: concurrent checkpoints wait
        note = sign_checkpoint(bank, session)
        audit(session, user, "custody.checkpoint", "custody", str(_size(session)))
        return note


def list_events(bank: Bank, *, paper: str | None = None, package: str | None = None, type_: str | None = None,
                limit: int = 500, include_purged: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """The events, oldest first. An event purged under retention keeps only its leaf hash: it is left out,
    or with `include_purged` shown as {"seq": n, "purged": true}."""
    with bank.transaction() as session:
        bank.actor(session, "custody.read")
        q = select(CustodyEvent).order_by(CustodyEvent.seq)
        if not include_purged:
            q = q.where(CustodyEvent.purged.is_(False))
        if paper:
            q = q.where(CustodyEvent.paper == paper)
        if package:
            try:
                q = q.where(CustodyEvent.package_id == uuid.UUID(package))
            except ValueError:
                raise ValidationError(f"--package {package!r} is not a package id (a UUID, as `package list` shows)") from None
        if type_:
            q = q.where(CustodyEvent.type == type_)
        return [{"seq": e.seq, "purged": True} if e.purged else json.loads(e.leaf) for e in session.scalars(q.limit(limit))]


def _latest_checkpoint(session: Session, size: int | None = None) -> CustodyCheckpoint:
    q = select(CustodyCheckpoint).order_by(CustodyCheckpoint.size.desc())
    if size is not None:
        q = q.where(CustodyCheckpoint.size == size)
    cp = session.scalars(q.limit(1)).first()
    if cp is None:
        raise NotFoundError("no checkpoint " + (f"of size {size}" if size is not None else "yet") + "; run `examvault custody checkpoint`")
    return cp


def inclusion_proof(bank: Bank, seq: int) -> dict[str, Any]:
    """A receipt a party can keep: the event, its audit path and the signed checkpoint it is under."""
    return inclusion_proofs(bank, [seq])[0]


def inclusion_proofs(bank: Bank, seqs: list[int]) -> list[dict[str, Any]]:
    """Many proofs in one transaction, under the latest checkpoint (an auditor checking a whole paper's history)."""
    with bank.transaction() as session:
        bank.actor(session, "custody.read")
        cp = _latest_checkpoint(session)
        newer = [s for s in seqs if not 0 <= s < cp.size]
        if newer:
            size = _size(session)  # only on this path: the common case costs no extra query
            unknown = [s for s in newer if not 0 <= s < size]
            if unknown:
                raise NotFoundError(f"no custody event {unknown[0]}")
            raise ConflictError(f"event {newer[0]} is newer than the latest checkpoint ({cp.size} events); run `examvault custody checkpoint`")
        leaves: dict[int, bytes] = {}
        purged: list[int] = []
        for i in range(0, len(seqs), 500):
            rows = session.execute(select(CustodyEvent.seq, CustodyEvent.leaf, CustodyEvent.purged).where(CustodyEvent.seq.in_(seqs[i : i + 500])))
            for seq, leaf, gone in rows:
                leaves[seq] = leaf
                if gone:
                    purged.append(seq)
        if purged:
            raise NotFoundError(f"custody event {min(purged)} was purged under retention: only its leaf hash is kept, so it has no "
                                "inclusion proof any more (the log and its checkpoints still verify)")  # fmt: skip
        paths = _prefetched(session, lambda node: [merkle.inclusion_path(node, s, cp.size) for s in seqs])
        return [inclusion_doc(leaves[s], s, cp.size, path, cp.note) for s, path in zip(seqs, paths, strict=True)]


def consistency_proof(bank: Bank, seen_note: str) -> dict[str, Any]:
    """Prove to whoever saved `seen_note` (a checkpoint they were given earlier) that today's log extends it."""
    with bank.transaction() as session:
        bank.actor(session, "custody.read")
        old = open_note(seen_note, institution_verify_key(session), "the checkpoint given")
        new = _latest_checkpoint(session)
        if new.size < old.size:
            raise IntegrityError(f"the checkpoint given covers {old.size} events but the latest one only {new.size}: the log was rolled back")
        path = _prefetched(session, lambda node: merkle.consistency_path(node, old.size, new.size))
        return consistency_doc(seen_note, new.note, path)


def verify_log(bank: Bank, *, seen_checkpoint: str | None = None, trusted: VerifyKey | None = None) -> dict[str, Any]:
    """Everything the bank can check about its own log; raises on the first thing that does not hold.

    `trusted` is the institution's verifier key as the caller holds it: without it, the key
    stored in the bank is taken, and a swapped key would go unnoticed."""
    with bank.transaction() as session:
        bank.actor(session, "custody.read")
        stored_key = institution_verify_key(session)
        if trusted is not None and str(trusted) != str(stored_key):
            raise IntegrityError("the institution key stored in the bank is not the one you trust: it was replaced")
        trusted = trusted or stored_key
        size = _size(session)
        tree = merkle.MemoryTree()
        count = 0
        party_keys = {p.name: VerifyKey.parse(p.verify_key) for p in session.scalars(select(Party))} | {trusted.name: trusted}
        last_purged: int | None = None
        for seq, leaf, purged in session.execute(select(CustodyEvent.seq, CustodyEvent.leaf, CustodyEvent.purged).order_by(CustodyEvent.seq)):
            if seq != count:
                raise IntegrityError(f"custody event {count} is missing (the log jumps to {seq}): an event was deleted")
            if purged:  # retention kept only the leaf hash: the tree nodes and signed checkpoints vouch for it
                if len(leaf) != 32:
                    raise IntegrityError(f"custody event {seq} is marked purged but holds {len(leaf)} bytes, not a 32-byte leaf hash: it was edited")
                tree.append_hash(bytes(leaf))
                last_purged = seq
                count += 1
                continue
            try:
                event = json.loads(leaf)
            except ValueError:
                raise IntegrityError(f"custody event {seq} is not valid JSON: it was edited") from None
            if event.get("seq") != seq:
                raise IntegrityError(f"custody event {seq} says it is event {event.get('seq')}: events were reordered")
            missing = missing_signatures(event, party_keys, trusted.name)
            if missing:
                raise IntegrityError(f"custody event {seq} lacks a valid signature by {', '.join(missing)}: it was edited")
            tree.append_hash(merkle.leaf_hash(leaf))
            count += 1
        if count != size:
            raise IntegrityError(f"the log head says {size} events but {count} are stored: the log was truncated or padded")
        stored = 0
        for lv, ix, h in session.execute(select(CustodyNode.level, CustodyNode.index, CustodyNode.hash)):
            stored += 1
            if lv >= len(tree.levels) or ix >= len(tree.levels[lv]) or tree.levels[lv][ix] != h:
                raise IntegrityError(f"tree node {lv}/{ix} does not match the events: an event was edited, inserted or reordered")
        if stored != sum(len(level) for level in tree.levels):
            raise IntegrityError("tree nodes are missing: the log was truncated")
        checkpoints = list(session.scalars(select(CustodyCheckpoint).order_by(CustodyCheckpoint.size)))
        for cp in checkpoints:
            if _check_checkpoint(cp.note, trusted, tree, size, f"stored checkpoint {cp.size}") != Checkpoint(origin(session), cp.size, cp.root):
                raise IntegrityError(f"stored checkpoint {cp.size} holds the note of another tree: checkpoints were swapped")
        seen = _check_checkpoint(seen_checkpoint, trusted, tree, size, "the checkpoint given").size if seen_checkpoint else None
        latest = checkpoints[-1].size if checkpoints else 0
        if last_purged is not None and last_purged >= latest:
            # A purge only touches events under a signed checkpoint: past it, a bare hash is vouched for by nobody.
            raise IntegrityError(f"custody event {last_purged} is marked purged but no signed checkpoint covers it (the latest covers "
                                 f"{latest} events): it was edited")  # fmt: skip
        return {"events": size, "checkpoints": len(checkpoints), "latest_checkpoint": latest, "not_yet_checkpointed": size - latest,
                "root": merkle.root(tree.node, size).hex(), "seen_checkpoint": seen, "verified": True}  # fmt: skip


def _check_checkpoint(note: str, trusted: VerifyKey, tree: merkle.MemoryTree, size: int, what: str) -> Checkpoint:
    cp = open_note(note, trusted, what)
    if cp.size > size:
        raise IntegrityError(f"{what} covers {cp.size} events but the log holds {size}: the log was truncated or rolled back")
    if merkle.root(tree.node, cp.size) != cp.root:
        raise IntegrityError(f"{what} (size {cp.size}) does not match the log: its history was rewritten or forked")
    return cp
