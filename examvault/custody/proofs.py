"""Self-contained proof files, verified offline with only the institution's verifier key. Pure."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from examvault.crypto.signing import VerifyKey
from examvault.custody import merkle
from examvault.custody.note import Checkpoint, open_note
from examvault.errors import IntegrityError, ValidationError

INCLUSION = "examvault.inclusion/v1"
CONSISTENCY = "examvault.consistency/v1"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _path(doc: Mapping[str, Any]) -> list[bytes]:
    try:
        return [base64.b64decode(p, validate=True) for p in doc["path"]]
    except (KeyError, TypeError, binascii.Error, ValueError):
        raise IntegrityError("the proof's path is not a list of base64 hashes") from None


def inclusion_doc(leaf: bytes, index: int, size: int, path: list[bytes], note: str) -> dict[str, Any]:
    return {"format": INCLUSION, "leaf": _b64(leaf), "index": index, "tree_size": size, "path": [_b64(p) for p in path], "checkpoint": note}


def consistency_doc(old_note: str, new_note: str, path: list[bytes]) -> dict[str, Any]:
    return {"format": CONSISTENCY, "old": old_note, "new": new_note, "path": [_b64(p) for p in path]}


def verify_inclusion_doc(doc: Mapping[str, Any], trusted: VerifyKey) -> dict[str, Any]:
    checkpoint = open_note(str(doc.get("checkpoint", "")), trusted)
    try:
        leaf = base64.b64decode(doc["leaf"], validate=True)
        index, size = int(doc["index"]), int(doc["tree_size"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise IntegrityError("the inclusion proof is malformed") from None
    if size != checkpoint.size:
        raise IntegrityError(f"the proof is for a tree of {size} events but the checkpoint covers {checkpoint.size}")
    if not merkle.verify_inclusion(leaf, index, size, _path(doc), checkpoint.root):
        raise IntegrityError(f"event {index} is NOT in the log the checkpoint signs (wrong leaf, index or path)")
    return {"verified": "inclusion", "index": index, "tree_size": size, "origin": checkpoint.origin, "event": json.loads(leaf)}


def verify_consistency_doc(doc: Mapping[str, Any], trusted: VerifyKey) -> dict[str, Any]:
    old = open_note(str(doc.get("old", "")), trusted, "the older checkpoint")
    new = open_note(str(doc.get("new", "")), trusted, "the newer checkpoint")
    if old.origin != new.origin:
        raise IntegrityError("the two checkpoints are from different logs")
    if new.size < old.size:
        raise IntegrityError(f"the log was rolled back: {old.size} events before, {new.size} now")
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, _path(doc)):
        raise IntegrityError(f"the log of {new.size} events does not extend the one of {old.size} (a fork or a rewrite)")
    return {"verified": "consistency", "old_size": old.size, "new_size": new.size, "origin": new.origin}


def verify_doc(doc: Any, trusted: VerifyKey, what: str) -> dict[str, Any]:
    kind = doc.get("format") if isinstance(doc, dict) else None
    if kind == INCLUSION:
        return verify_inclusion_doc(doc, trusted)
    if kind == CONSISTENCY:
        return verify_consistency_doc(doc, trusted)
    raise ValidationError(f"{what} is not a proof file ({INCLUSION} or {CONSISTENCY})")


__all__ = ["Checkpoint", "consistency_doc", "inclusion_doc", "verify_doc"]
