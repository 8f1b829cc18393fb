"""The custody log through its service functions, on a real bank (docs/package-format.md §3).

Proofs are checked offline with only the institution's verifier key, and tree roots against an
RFC 6962 Merkle Tree Hash written out here, not taken from examvault.custody.merkle. Tampering is
done the way an insider with database access would do it: direct writes to the tables.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from examvault.accounts.service import add_user
from examvault.bank import Bank
from examvault.crypto import age
from examvault.crypto.parties import add_party
from examvault.crypto.signing import SigningKey, VerifyKey, canonical_json
from examvault.custody import merkle
from examvault.custody import service as custody
from examvault.custody.events import missing_signatures, new_event, sign_event, signed_bytes
from examvault.custody.models import CustodyCheckpoint, CustodyEvent, CustodyHead, CustodyNode, InstitutionKey
from examvault.custody.note import Checkpoint, open_note
from examvault.custody.proofs import verify_doc
from examvault.errors import ConflictError, IntegrityError, NotFoundError, PermissionDenied, ValidationError
from tests.conftest import PG_URL, item_row, write_json

PAPER = "P2026-0001-A"

# ---------------------------------------------------------------- an independent Merkle tree


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle Tree Hash of a list of leaves."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)  # the largest power of two smaller than n
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def perfect_subtrees(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every full, aligned subtree: what custody_nodes must hold, no more and no less."""
    out = {}
    level = 0
    while 1 << level <= len(leaves):
        width = 1 << level
        for index in range(len(leaves) // width):
            out[(level, index)] = mth(leaves[index * width : (index + 1) * width])
        level += 1
    return out


# ---------------------------------------------------------------- helpers


def leaves_of(bank: Bank) -> list[bytes]:
    with bank.transaction() as s:
        return [bytes(leaf) for leaf in s.scalars(select(CustodyEvent.leaf).order_by(CustodyEvent.seq))]


def head_size(bank: Bank) -> int:
    with bank.transaction() as s:
        head = s.get(CustodyHead, 1)
        assert head is not None
        return head.size


def mark(bank: Bank, n: int, *, per_transaction: int = 1, type_: str = "paper.marked") -> list[int]:
    """n bank events through `record`, committed `per_transaction` at a time."""
    seqs: list[int] = []
    while len(seqs) < n:
        with bank.transaction(write=True) as s:
            for _ in range(min(per_transaction, n - len(seqs))):
                seqs.append(custody.record(bank, s, type_, "cust", paper=PAPER, details={"n": len(seqs)}))
    return seqs


def signed(event: dict[str, Any], *keys: SigningKey) -> dict[str, Any]:
    for key in keys:
        event = sign_event(event, key)
    return event


def text(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False)


def register_parties(bank: Bank) -> dict[str, SigningKey]:
    keys = {}
    for name, role in (("printer-1", "printer"), ("courier-1", "courier")):
        keys[name] = SigningKey.generate(name)
        add_party(bank, name, role, recipient=str(age.Identity.generate().recipient()), verify_key=str(keys[name].verify_key))
    return keys


def printed(key: SigningKey, copies: int = 64) -> dict[str, Any]:
    return signed(new_event("printer.printed", key.name, paper=PAPER, details={"copies": copies}), key)


def roundtrip(doc: dict[str, Any]) -> dict[str, Any]:
    """What a party gets: the proof as a JSON file."""
    return json.loads(json.dumps(doc))


# ---------------------------------------------------------------- 1. proofs


def test_every_event_has_an_inclusion_proof_and_every_checkpoint_a_consistency_proof(make_bank: Callable[..., Bank]) -> None:
    cust = make_bank("cust")
    trusted = VerifyKey.parse(custody.institution_key(cust))
    assert custody.institution_key(cust) == str(trusted)  # made once, then the same key
    notes = [custody.checkpoint(cust)]  # the empty log
    for batch in (1, 1, 1, 4, 1, 5, 3, 4, 6, 1):  # 27 events in transactions of every shape
        before = head_size(cust)
        assert mark(cust, batch, per_transaction=batch) == list(range(before, before + batch))
        notes.append(custody.checkpoint(cust))
    for i in range(10):  # 10 more by hand, each signed into a checkpoint as it goes in
        r = custody.append_bank_event(cust, "paper.archived", details={"reason": f"r{i}"})
        assert r["seq"] == 27 + i and open_note(r["checkpoint"], trusted).size == 28 + i
        notes.append(r["checkpoint"])
    assert head_size(cust) == 37
    leaves = leaves_of(cust)
    assert [json.loads(leaf)["seq"] for leaf in leaves] == list(range(37))
    assert [e["seq"] for e in custody.list_events(cust)] == list(range(37))

    final = custody.checkpoint(cust)
    assert final == notes[-1]  # one checkpoint per size
    cp = open_note(final, trusted)
    assert cp.size == 37 and cp.root == mth(leaves)
    assert cp.origin == f"{trusted.name}/custody"
    with cust.transaction() as s:
        stored = [(size, bytes(root), note) for size, root, note in s.execute(select(CustodyCheckpoint.size, CustodyCheckpoint.root, CustodyCheckpoint.note))]
        nodes = {(lv, ix): bytes(h) for lv, ix, h in s.execute(select(CustodyNode.level, CustodyNode.index, CustodyNode.hash))}
    assert sorted(size for size, _, _ in stored) == sorted({open_note(n, trusted).size for n in notes})
    assert 0 in {size for size, _, _ in stored}
    for size, root, note in stored:
        opened = open_note(note, trusted)
        assert (opened.size, opened.root) == (size, root) == (size, mth(leaves[:size]))
    assert nodes == perfect_subtrees(leaves)

    for seq in range(37):
        doc = roundtrip(custody.inclusion_proof(cust, seq))
        assert base64.b64decode(doc["leaf"]) == leaves[seq] and doc["checkpoint"] == final
        got = verify_doc(doc, trusted, "proof.json")
        assert (got["verified"], got["index"], got["tree_size"], got["event"]["seq"]) == ("inclusion", seq, 37, seq)
    for note in notes:
        doc = roundtrip(custody.consistency_proof(cust, note))
        assert (doc["old"], doc["new"]) == (note, final)
        got = verify_doc(doc, trusted, "consistency.json")
        assert (got["verified"], got["old_size"], got["new_size"]) == ("consistency", open_note(note, trusted).size, 37)
    assert custody.verify_log(cust) == {"events": 37, "checkpoints": len(stored), "latest_checkpoint": 37,
                                        "not_yet_checkpointed": 0, "root": mth(leaves).hex(), "seen_checkpoint": None, "verified": True}  # fmt: skip


def test_proofs_fail_offline_when_anything_in_them_changes(make_bank: Callable[..., Bank]) -> None:
    cust = make_bank("cust")
    trusted = VerifyKey.parse(custody.institution_key(cust))
    mark(cust, 6, per_transaction=6)
    old = custody.checkpoint(cust)
    mark(cust, 7, per_transaction=7)
    custody.checkpoint(cust)
    leaves = leaves_of(cust)
    good = roundtrip(custody.inclusion_proof(cust, 5))
    verify_doc(good, trusted, "proof")
    flipped = base64.b64encode(bytes([base64.b64decode(good["path"][0])[0] ^ 1]) + base64.b64decode(good["path"][0])[1:]).decode()
    bad_docs = [
        good | {"path": [flipped, *good["path"][1:]]},
        good | {"path": good["path"][:-1]},
        good | {"index": 4},
        good | {"leaf": base64.b64encode(leaves[4]).decode()},
        good | {"leaf": base64.b64encode(leaves[5].replace(b'"n":5', b'"n":6')).decode()},
        good | {"tree_size": 12},
        good | {"checkpoint": good["checkpoint"].replace("\n13\n", "\n12\n")},
    ]
    for bad in bad_docs:
        with pytest.raises(IntegrityError):
            verify_doc(bad, trusted, "proof")
    with pytest.raises(IntegrityError, match="not signed by"):
        verify_doc(good, SigningKey.generate(trusted.name).verify_key, "proof")

    cons = roundtrip(custody.consistency_proof(cust, old))
    verify_doc(cons, trusted, "consistency")
    first = base64.b64decode(cons["path"][0])
    for bad in (cons | {"path": [base64.b64encode(first[:-1] + bytes([first[-1] ^ 1])).decode(), *cons["path"][1:]]},
                cons | {"path": cons["path"][1:]}, cons | {"old": cons["new"], "new": cons["old"]}):  # fmt: skip
        with pytest.raises(IntegrityError):
            verify_doc(bad, trusted, "consistency")

    mark(cust, 1)  # event 13 is not under a checkpoint yet
    with pytest.raises(ConflictError, match="newer than the latest checkpoint"):
        custody.inclusion_proof(cust, 13)
    with pytest.raises(NotFoundError):
        custody.inclusion_proof(cust, 99)
    forged = Checkpoint(f"{trusted.name}/custody", 6, mth(leaves[:6])).sign(SigningKey.generate(trusted.name))
    with pytest.raises(IntegrityError, match="not signed by"):
        custody.consistency_proof(cust, forged)


# ---------------------------------------------------------------- 2. verify_log against tampering


@dataclass
class Log:
    bank: Bank
    trusted: VerifyKey
    notes: dict[int, str]  # genuine checkpoints a party could have saved, by size
    keys: dict[str, SigningKey]


@pytest.fixture
def log13(make_bank: Callable[..., Bank]) -> Log:
    """13 events: bank events around a party statement (4) and a handover (6); checkpoints at 5, 7, 9 and 13."""
    cust = make_bank("cust")
    trusted = VerifyKey.parse(custody.institution_key(cust))
    keys = register_parties(cust)
    notes = {}
    mark(cust, 4, per_transaction=2)
    notes[5] = custody.append_statement(cust, text(printed(keys["printer-1"])), "printed.json")["checkpoint"]
    mark(cust, 1)
    handover = new_event("exam.dispatched", "printer-1", counterpart="courier-1", paper=PAPER, details={"copies": 64})
    notes[7] = custody.append_statement(cust, text(signed(handover, keys["printer-1"], keys["courier-1"])), "dispatched.json")["checkpoint"]
    mark(cust, 2)
    notes[9] = custody.checkpoint(cust)
    mark(cust, 4, per_transaction=4)
    notes[13] = custody.checkpoint(cust)
    assert [open_note(n, trusted).size for n in notes.values()] == [5, 7, 9, 13]
    assert custody.verify_log(cust)["events"] == 13
    return Log(cust, trusted, notes, keys)


def _leaf(s: Session, seq: int) -> bytes:
    return bytes(s.scalars(select(CustodyEvent.leaf).where(CustodyEvent.seq == seq)).one())


def _set_leaf(s: Session, seq: int, leaf: bytes) -> None:
    s.execute(update(CustodyEvent).where(CustodyEvent.seq == seq).values(leaf=leaf))


def _edit(s: Session, seq: int, /, **changes: Any) -> None:
    _set_leaf(s, seq, canonical_json(json.loads(_leaf(s, seq)) | changes))


def _set_head(s: Session, size: int) -> None:
    s.execute(update(CustodyHead).where(CustodyHead.id == 1).values(size=size))


def _rebuild_nodes(s: Session) -> None:
    """Recompute every tree node from the leaves as they now are: a tamperer covering their tracks."""
    s.execute(delete(CustodyNode))
    tree = merkle.MemoryTree()
    for leaf in s.scalars(select(CustodyEvent.leaf).order_by(CustodyEvent.seq)):
        tree.append_hash(merkle.leaf_hash(bytes(leaf)))
    rows = [{"level": lv, "index": ix, "hash": h} for lv, level in enumerate(tree.levels) for ix, h in enumerate(level)]
    s.execute(insert(CustodyNode), rows)


def _truncate(s: Session, size: int, *, drop_checkpoints: bool = False) -> None:
    """Delete events from `size` on, the nodes that cover them, and move the head back."""
    s.execute(delete(CustodyEvent).where(CustodyEvent.seq >= size))
    for lv, ix in list(s.execute(select(CustodyNode.level, CustodyNode.index))):
        if (ix + 1) << lv > size:
            s.execute(delete(CustodyNode).where(CustodyNode.level == lv, CustodyNode.index == ix))
    _set_head(s, size)
    if drop_checkpoints:
        s.execute(delete(CustodyCheckpoint).where(CustodyCheckpoint.size > size))


def _extra_row(s: Session, seq: int) -> None:
    event = new_event("paper.destroyed", "cust", paper=PAPER, details={"copies": 64}) | {"seq": seq}
    s.execute(insert(CustodyEvent).values(seq=seq, event_id=uuid.UUID(event["id"]), type=event["type"], paper=PAPER,
                                          actor="cust", leaf=canonical_json(event)))  # fmt: skip


def _insert_in_the_middle(s: Session, at: int, *, rebuild: bool) -> None:
    seqs = sorted(s.scalars(select(CustodyEvent.seq).where(CustodyEvent.seq >= at)), reverse=True)
    for seq in seqs:  # one row at a time, from the end: the primary key never clashes
        s.execute(update(CustodyEvent).where(CustodyEvent.seq == seq).values(seq=seq + 1))
        _edit(s, seq + 1, seq=seq + 1)
    _extra_row(s, at)
    _set_head(s, 14)
    if rebuild:
        _rebuild_nodes(s)


def _swap(s: Session, a: int, b: int, *, fix_seq: bool = False) -> None:
    la, lb = _leaf(s, a), _leaf(s, b)
    _set_leaf(s, a, lb)
    _set_leaf(s, b, la)
    if fix_seq:
        _edit(s, a, seq=a)
        _edit(s, b, seq=b)


def _change_a_digit(s: Session, seq: int) -> None:
    leaf = _leaf(s, seq)
    i = leaf.index(b'"at":"') + len(b'"at":"') + 3  # the year's last digit: still valid JSON
    _set_leaf(s, seq, leaf[:i] + bytes([leaf[i] ^ 1]) + leaf[i + 1 :])


def _node(s: Session, level: int, index: int, hash_: bytes) -> None:
    s.execute(update(CustodyNode).where(CustodyNode.level == level, CustodyNode.index == index).values(hash=hash_))


def _forge_checkpoint(s: Session, log: Log, size: int, *, replace: bool) -> None:
    leaves = [bytes(leaf) for leaf in s.scalars(select(CustodyEvent.leaf).order_by(CustodyEvent.seq))]
    note = Checkpoint(f"{log.trusted.name}/custody", size, mth(leaves[:size])).sign(SigningKey.generate(log.trusted.name))
    if replace:
        s.execute(update(CustodyCheckpoint).where(CustodyCheckpoint.size == size).values(note=note))
    else:
        s.execute(insert(CustodyCheckpoint).values(size=size, root=mth(leaves[:size]), note=note))


def _strip_signature(s: Session, seq: int, signer: str) -> None:
    event = json.loads(_leaf(s, seq))
    _edit(s, seq, signatures=[sig for sig in event["signatures"] if sig["signer"] != signer])
    _rebuild_nodes(s)


def _resign(s: Session, log: Log, seq: int, **changes: Any) -> None:
    """Edit an event and sign it again with the institution's own key: only a key holder can do this."""
    event = json.loads(_leaf(s, seq)) | changes
    key = custody.institution_signing_key(s, log.bank.keyring(s))
    event["signatures"] = [key.sign("custody-event", signed_bytes(event))]
    _set_leaf(s, seq, canonical_json(event))


def _swap_institution_key(s: Session, log: Log) -> None:
    """Replace the verifier key and re-sign every stored checkpoint with the tamperer's key."""
    forger = SigningKey.generate(log.trusted.name)
    s.execute(update(InstitutionKey).where(InstitutionKey.id == 1).values(verify_key=str(forger.verify_key)))
    for cp in s.scalars(select(CustodyCheckpoint)):
        cp.note = Checkpoint(f"{log.trusted.name}/custody", cp.size, bytes(cp.root)).sign(forger)


NODE_MISMATCH = "tree node [0-9]+/[0-9]+ does not match the events"  # the leaf's node or an ancestor: rows come unordered
TAMPERING: dict[str, tuple[Callable[[Session, Log], None], str]] = {
    "leaf byte flipped": (lambda s, log: _set_leaf(s, 8, _leaf(s, 8)[:-1] + b"]"), "event 8 is not valid JSON"),
    "leaf byte changed, still JSON": (lambda s, log: _change_a_digit(s, 8), "event 8 lacks a valid signature by examvault-"),
    "bank event's actor changed": (lambda s, log: _edit(s, 2, actor="mallory"), "event 2 lacks a valid signature by examvault-"),
    "bank event's actor changed, re-signed by the institution": (lambda s, log: _resign(s, log, 2, actor="mallory"), NODE_MISMATCH),
    "bank event edited, nodes recomputed": (lambda s, log: (_edit(s, 2, actor="mallory"), _rebuild_nodes(s)), "event 2 lacks a valid signature by examvault-"),
    "bank event re-signed, nodes recomputed": (lambda s, log: (_resign(s, log, 2, actor="mallory"), _rebuild_nodes(s)), "stored checkpoint 5 \\(size 5\\) does not match"),
    "party statement's copies changed": (lambda s, log: _edit(s, 4, details={"copies": 640}), "event 4 lacks a valid signature by printer-1"),
    "counterpart's signature stripped": (lambda s, log: _strip_signature(s, 6, "courier-1"), "event 6 lacks a valid signature by courier-1"),
    "middle event deleted": (lambda s, log: s.execute(delete(CustodyEvent).where(CustodyEvent.seq == 6)), "event 6 is missing"),
    "two events swapped": (lambda s, log: _swap(s, 2, 3), "event 2 says it is event 3"),
    "two events swapped, seqs fixed": (lambda s, log: _swap(s, 8, 9, fix_seq=True), NODE_MISMATCH),
    "event inserted and the rest renumbered": (lambda s, log: _insert_in_the_middle(s, 3, rebuild=False), "event 3 lacks a valid signature by examvault-"),
    "event inserted, renumbered, nodes recomputed": (lambda s, log: _insert_in_the_middle(s, 3, rebuild=True), "event 3 lacks a valid signature by examvault-"),
    "event row added at the end": (lambda s, log: _extra_row(s, 13), "event 13 lacks a valid signature by examvault-"),
    "event added at the end, head moved": (lambda s, log: (_extra_row(s, 13), _set_head(s, 14)), "event 13 lacks a valid signature by examvault-"),
    "log truncated under its checkpoint": (lambda s, log: _truncate(s, 10), "stored checkpoint 13 covers 13 events but the log holds 10"),
    "head moved back only": (lambda s, log: _set_head(s, 12), "head says 12 events but 13 are stored"),
    "node hash changed": (lambda s, log: _node(s, 2, 1, hashlib.sha256(b"x").digest()), "tree node 2/1 does not match"),
    "node deleted": (lambda s, log: s.execute(delete(CustodyNode).where(CustodyNode.level == 3, CustodyNode.index == 0)), "tree nodes are missing"),
    "node added": (lambda s, log: s.execute(insert(CustodyNode).values(level=0, index=13, hash=hashlib.sha256(b"x").digest())), "tree node 0/13 does not match"),
    "checkpoint forged": (lambda s, log: _forge_checkpoint(s, log, 11, replace=False), "stored checkpoint 11 is not signed by"),
    "checkpoint replaced by a forged one": (lambda s, log: _forge_checkpoint(s, log, 13, replace=True), "stored checkpoint 13 is not signed by"),
    "checkpoint's size edited": (lambda s, log: s.execute(update(CustodyCheckpoint).where(CustodyCheckpoint.size == 9).values(note=log.notes[9].replace("\n9\n", "\n8\n", 1))), "stored checkpoint 9 is not signed by"),
    "institution key swapped, checkpoints re-signed": (_swap_institution_key, "lacks a valid signature by examvault-"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(TAMPERING))
def test_verify_log_detects(log13: Log, case: str) -> None:
    tamper, message = TAMPERING[case]
    with log13.bank.transaction(write=True) as s:
        tamper(s, log13)
    with pytest.raises(IntegrityError, match=message):
        custody.verify_log(log13.bank, seen_checkpoint=log13.notes[13] if "institution key" in case else None)


def test_a_saved_checkpoint_catches_a_clean_rollback(log13: Log) -> None:
    bank, notes = log13.bank, log13.notes
    assert custody.verify_log(bank, seen_checkpoint=notes[13])["seen_checkpoint"] == 13
    with bank.transaction(write=True) as s:
        _truncate(s, 10, drop_checkpoints=True)
    # Consistent on its own: only someone who saved a later checkpoint can tell.
    assert custody.verify_log(bank)["events"] == 10
    assert custody.verify_log(bank, seen_checkpoint=notes[9])["seen_checkpoint"] == 9
    with pytest.raises(IntegrityError, match="covers 13 events but the log holds 10: the log was truncated or rolled back"):
        custody.verify_log(bank, seen_checkpoint=notes[13])
    with pytest.raises(IntegrityError, match="rolled back"):
        custody.consistency_proof(bank, notes[13])
    with bank.transaction(write=True) as s:
        _truncate(s, 7, drop_checkpoints=True)
    assert custody.verify_log(bank, seen_checkpoint=notes[5])["seen_checkpoint"] == 5
    assert custody.verify_log(bank, seen_checkpoint=notes[7])["seen_checkpoint"] == 7
    with pytest.raises(IntegrityError, match="covers 9 events but the log holds 7"):
        custody.verify_log(bank, seen_checkpoint=notes[9])


def test_a_saved_checkpoint_catches_a_fork(log13: Log) -> None:
    bank, notes, trusted = log13.bank, log13.notes, log13.trusted
    with bank.transaction(write=True) as s:  # a key holder rewrites history before event 5 and hides the evidence
        _resign(s, log13, 1, actor="mallory")
        _rebuild_nodes(s)
        s.execute(delete(CustodyCheckpoint))
    assert custody.verify_log(bank)["events"] == 13  # internally consistent: a fork, not a broken log
    for size in (5, 7, 13):
        with pytest.raises(IntegrityError, match=f"the checkpoint given \\(size {size}\\) does not match the log: its history was rewritten or forked"):
            custody.verify_log(bank, seen_checkpoint=notes[size])
    # The bank signs the forked log when asked; the party holding the old checkpoint still finds out offline.
    forked = custody.checkpoint(bank)
    assert open_note(forked, trusted).size == 13 and forked != notes[13]
    doc = roundtrip(custody.consistency_proof(bank, notes[9]))
    with pytest.raises(IntegrityError, match="does not extend"):
        verify_doc(doc, trusted, "consistency.json")
    with pytest.raises(IntegrityError, match="not signed by"):
        custody.verify_log(bank, seen_checkpoint=Checkpoint(f"{trusted.name}/custody", 13, b"\0" * 32).sign(SigningKey.generate(trusted.name)))
    with pytest.raises(IntegrityError, match="not a signed note"):
        custody.verify_log(bank, seen_checkpoint="examvault-x/custody\n13\n")


def test_verify_log_detects_a_checkpoint_row_holding_another_sizes_note(log13: Log) -> None:
    with log13.bank.transaction(write=True) as s:
        s.execute(update(CustodyCheckpoint).where(CustodyCheckpoint.size == 13).values(note=log13.notes[9]))
    # What goes wrong meanwhile: the latest checkpoint row is "13" but its note is for 9 events,
    # so every inclusion proof the bank hands out no longer verifies.
    with pytest.raises(IntegrityError):
        verify_doc(roundtrip(custody.inclusion_proof(log13.bank, 10)), log13.trusted, "proof")
    with pytest.raises(IntegrityError):
        custody.verify_log(log13.bank)


def test_verify_log_detects_a_forged_bank_event_appended_after_the_last_checkpoint(log13: Log) -> None:
    with log13.bank.transaction(write=True) as s:
        _extra_row(s, 13)
        _set_head(s, 14)
        _rebuild_nodes(s)
    with pytest.raises(IntegrityError, match="event 13 lacks a valid signature by examvault-"):
        custody.verify_log(log13.bank)


def test_verify_log_with_the_trusted_key_catches_a_swapped_institution_key(log13: Log) -> None:
    assert custody.verify_log(log13.bank, trusted=log13.trusted)["verified"]
    with log13.bank.transaction(write=True) as s:
        _swap_institution_key(s, log13)
    with pytest.raises(IntegrityError, match="not the one you trust"):
        custody.verify_log(log13.bank, trusted=log13.trusted)


# ---------------------------------------------------------------- 3. party statements


def test_party_statements_are_checked_before_they_go_in(make_bank: Callable[..., Bank]) -> None:
    cust = make_bank("cust")
    trusted = VerifyKey.parse(custody.institution_key(cust))
    keys = register_parties(cust)
    printer, courier = keys["printer-1"], keys["courier-1"]

    statement = printed(printer)
    r = custody.append_statement(cust, text(statement), "printed.json")
    assert (r["seq"], r["type"], r["actor"], r["counterpart"]) == (0, "printer.printed", "printer-1", None)
    cp = open_note(r["checkpoint"], trusted)
    assert cp.size == 1 and cp.root == mth(leaves_of(cust))
    [stored] = custody.list_events(cust)
    assert stored == statement | {"seq": 0}  # the party's statement, as signed, at its place in the log
    assert missing_signatures(stored, {"printer-1": printer.verify_key}) == []  # checkable with the party's key alone

    def refused(exc: type[Exception], match: str, statement_text: str, **kw: Any) -> None:
        before = (head_size(cust), len(custody.list_events(cust)), len(leaves_of(cust)))
        with pytest.raises(exc, match=match):
            custody.append_statement(cust, statement_text, "statement.json", **kw)
        assert (head_size(cust), len(custody.list_events(cust)), len(leaves_of(cust))) == before

    refused(ConflictError, "already in the log \\(a replay\\)", text(statement))
    refused(ConflictError, "a replay", text(signed(dict(statement), printer)))  # signed afresh, same id
    refused(IntegrityError, "no valid signature by printer-1", text(statement | {"details": {"copies": 640}}))
    refused(IntegrityError, "no valid signature by printer-1", text(statement | {"id": str(uuid.uuid4())}))
    refused(IntegrityError, "no valid signature by printer-1", text(new_event("printer.packed", "printer-1", details={"copies": 64})))
    refused(IntegrityError, "no valid signature by printer-1", text(printed(SigningKey.generate("printer-1"))))  # another key, same name
    refused(NotFoundError, "printer-9 is not a registered party", text(printed(SigningKey.generate("printer-9"))))

    dispatched = new_event("exam.dispatched", "printer-1", counterpart="courier-1", paper=PAPER, details={"copies": 64})
    refused(IntegrityError, "no valid signature by courier-1", text(signed(dispatched, printer)))
    refused(IntegrityError, "no valid signature by printer-1", text(signed(dispatched, courier)))
    stranger = new_event("exam.dispatched", "printer-1", counterpart="courier-9", details={"copies": 64})
    refused(NotFoundError, "courier-9 is not a registered party", text(signed(stranger, printer, SigningKey.generate("courier-9"))))
    no_counterpart = signed(dispatched, printer, courier) | {"counterpart": None}
    refused(ValidationError, "handover", text(no_counterpart))
    both = signed(dispatched, printer, courier)
    r = custody.append_statement(cust, text(both), "dispatched.json")
    assert (r["seq"], r["counterpart"]) == (1, "courier-1")
    assert open_note(r["checkpoint"], trusted).size == 2

    with pytest.raises(ValidationError, match="not an event the bank records"):
        custody.append_bank_event(cust, "printer.printed", details={"copies": 64})
    with pytest.raises(ValidationError, match="not an event the bank records"):
        custody.append_bank_event(cust, "paper.teleported")
    refused(ValidationError, "recorded by the bank, not brought in as statements", text(signed(new_event("paper.assembled", "printer-1"), printer)))
    refused(ValidationError, "not a receipt", text(printed(printer)), receipt=True)
    refused(ValidationError, "unknown custody event type", text(signed(new_event("printer.packed", "printer-1", details={"copies": 1}), printer) | {"type": "printer.teleported"}))
    refused(ValidationError, "not a custody statement", "{}")
    refused(ValidationError, "not JSON", "printed 64 copies")
    refused(NotFoundError, "was not sealed by this bank", text(signed(new_event("printer.packed", "printer-1", package=str(uuid.uuid4()), details={"copies": 64}), printer)))

    assert head_size(cust) == 2
    assert custody.verify_log(cust)["events"] == 2
    for seq in (0, 1):
        verify_doc(roundtrip(custody.inclusion_proof(cust, seq)), trusted, "proof")


@pytest.mark.parametrize("user,reads", [("sup", True), ("printer", False), ("author1", False)])
def test_only_custodians_and_exam_admins_append(make_bank: Callable[..., Bank], user: str, reads: bool) -> None:
    cust = make_bank("cust")
    custody.institution_key(cust)
    keys = register_parties(cust)
    mark(cust, 2)
    custody.checkpoint(cust)
    other = make_bank(user)
    for attempt in (lambda: custody.append_statement(other, text(printed(keys["printer-1"])), "printed.json"),
                    lambda: custody.append_bank_event(other, "paper.marked"),
                    lambda: custody.checkpoint(other)):  # fmt: skip
        with pytest.raises(PermissionDenied):
            attempt()
    assert head_size(cust) == 2 and len(leaves_of(cust)) == 2
    if reads:
        assert len(custody.list_events(other)) == 2
        assert custody.verify_log(other)["events"] == 2
        custody.inclusion_proof(other, 1)
    else:
        for attempt in (lambda: custody.list_events(other), lambda: custody.verify_log(other), lambda: custody.inclusion_proof(other, 1)):
            with pytest.raises(PermissionDenied):
                attempt()

    with make_bank("admin").transaction() as s:
        add_user(s, "examadm", ["exam_admin"], "考务员")
    examadm = make_bank("examadm")
    assert custody.append_statement(examadm, text(printed(keys["printer-1"])), "printed.json")["seq"] == 2
    assert custody.append_bank_event(examadm, "paper.marked")["seq"] == 3


# ---------------------------------------------------------------- 4. concurrency


PG_ONLY = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only (set EXAMVAULT_TEST_PG_URL): SQLite serialises every writer "
                                                  "with BEGIN IMMEDIATE, so only PostgreSQL exercises the custody_head row lock")  # fmt: skip


def _together(targets: list[Callable[[], Any]]) -> list[Any]:
    """Run the callables in threads released at once; return their results, or raise the first error."""
    barrier = threading.Barrier(len(targets))
    results: list[Any] = [None] * len(targets)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = targets[i]()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(targets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]
    return results


@PG_ONLY
def test_concurrent_first_calls_make_one_institution_key(make_bank: Callable[..., Bank]) -> None:
    for _ in range(3):  # a race: try a few fresh starts
        banks = [make_bank("cust") for _ in range(4)]
        for b in banks:
            with b.transaction() as s:
                b.keyring(s)
        keys = _together([lambda b=b: custody.institution_key(b) for b in banks])
        assert len(set(keys)) == 1
        with banks[0].transaction() as s:
            assert len(s.scalars(select(InstitutionKey)).all()) == 1
            s.execute(delete(InstitutionKey))  # start again


@PG_ONLY
def test_concurrent_appends_and_checkpoints_never_fork(make_bank: Callable[..., Bank]) -> None:
    appenders = [make_bank("cust"), make_bank("cust")]
    checkpointers = [make_bank("cust"), make_bank("cust")]
    for b in appenders + checkpointers:  # unlock up front, so the threads start together
        with b.transaction() as s:
            b.keyring(s)
    barrier = threading.Barrier(4)
    seqs: dict[int, list[int]] = {0: [], 1: []}
    errors: list[BaseException] = []
    done = threading.Event()

    def append(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(50):
                if n % 2:
                    seqs[worker].append(custody.append_bank_event(appenders[worker], "paper.marked", details={"worker": worker, "n": n})["seq"])
                else:
                    with appenders[worker].transaction(write=True) as s:
                        seqs[worker].append(custody.record(appenders[worker], s, "paper.marked", "cust", details={"worker": worker, "n": n}))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def checkpoints(bank: Bank) -> None:
        try:
            barrier.wait()
            while not done.is_set():  # the first ones race to make the institution key, then to sign each size
                custody.checkpoint(bank)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(i,)) for i in (0, 1)]
    helpers = [threading.Thread(target=checkpoints, args=(b,)) for b in checkpointers]
    for t in threads + helpers:
        t.start()
    for t in threads:
        t.join(timeout=120)
    done.set()
    for t in helpers:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads + helpers)
    assert not errors, errors
    assert sorted(seqs[0] + seqs[1]) == list(range(100))
    assert all(seqs[w] == sorted(seqs[w]) for w in (0, 1))
    leaves = leaves_of(appenders[0])
    events = [json.loads(leaf) for leaf in leaves]
    assert [e["seq"] for e in events] == list(range(100))
    for w in (0, 1):
        assert [e["details"]["n"] for e in events if e["details"]["worker"] == w] == list(range(50))
    trusted = VerifyKey.parse(custody.institution_key(appenders[0]))
    final = custody.checkpoint(appenders[0])
    assert open_note(final, trusted).root == mth(leaves)
    result = custody.verify_log(appenders[0])
    assert result["events"] == 100 and result["latest_checkpoint"] == 100
    with appenders[0].transaction() as s:
        notes = list(s.scalars(select(CustodyCheckpoint.note)))
    for note in notes:
        verify_doc(roundtrip(custody.consistency_proof(appenders[0], note)), trusted, "consistency")
    for seq in (0, 37, 99):
        verify_doc(roundtrip(custody.inclusion_proof(appenders[0], seq)), trusted, "proof")


# ---------------------------------------------------------------- 5. no item content in the log


def test_custody_leaves_never_carry_item_content(make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    from examvault.assembly.service import approve_paper, assemble
    from examvault.itembank.service import import_items

    with make_bank("admin").transaction() as s:
        add_user(s, "appr2", ["approver"], "吴敏")
    cust = make_bank("cust")
    custody.institution_key(cust)
    points = ["A-A-001", "A-B-001", "A-B-002", "B-A-001", "B-A-002", "B-A-003"]
    rows = []
    for n in range(8):
        common = {"鉴定点代码": points[n % len(points)], "难度": str(1 + n % 5), "审核人": "赵明", "分值": "1",
                  "解析": f"解析第{n}条：导线截面按载流量选择。"}  # fmt: skip
        rows.append(item_row(题型="判断", 题干=f"判断第{n}题：电气设备金属外壳应可靠接地编号{n}。", 答案="√" if n % 2 else "×",
                             选项A="", 选项B="", 选项C="", 选项D="", **common))  # fmt: skip
        rows.append(item_row(题型="单选", 题干=f"单选第{n}题：熔断器在电路中主要起什么保护编号{n}？", 答案="ABCD"[n % 4],
                             选项A=f"短路保护{n}", 选项B=f"过载保护{n}", 选项C=f"欠压保护{n}", 选项D=f"失压保护{n}", **common))  # fmt: skip
    import_items(cust, write_json(tmp_path / "items.json", rows), activate=True)
    blueprint = {"id": "6-31-01-03/3/theory/C1", "occupation": "6-31-01-03", "level": 3, "title": "电工（三级）托管测试卷",
                 "total_points": 6, "forms": ["A"], "sections": [{"type": "判断", "count": 3, "points": 1}, {"type": "单选", "count": 3, "points": 1}]}  # fmt: skip
    path = tmp_path / "bp.yaml"
    path.write_text(yaml.safe_dump(blueprint, allow_unicode=True), "utf-8")
    [paper] = assemble(cust, str(path), seed=7)
    approve_paper(make_bank("appr"), paper["id"])
    approve_paper(make_bank("appr2"), paper["id"])
    custody.append_bank_event(cust, "paper.marked", paper=paper["id"], details={"scripts": 30})

    leaves = leaves_of(cust)
    types = [json.loads(leaf)["type"] for leaf in leaves]
    assert {"paper.assembled", "paper.approved", "paper.marked"} <= set(types)
    secrets = ["题干", "选项", "解析"] + [v for r in rows for k, v in r.items() if k in ("题干", "解析") or (k.startswith("选项") and v)]
    for leaf in leaves:
        decoded = leaf.decode("utf-8")
        assert not [x for x in secrets if x in decoded], decoded
    assert custody.verify_log(cust)["events"] == len(leaves)
