"""Custody events: their types, who must sign them, and the statement files parties exchange. Pure."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from examvault.crypto.signing import SigningKey, VerifyKey, canonical_json
from examvault.errors import ValidationError

EVENT_FORMAT = "examvault.custody/v1"


@dataclass(frozen=True)
class EventType:
    by: str  # "bank": recorded by the bank for one of its users; "party": signed by a registered party
    handover: bool = False  # the counterpart signs too
    copies: bool = False  # carries a copy count


EVENT_TYPES: dict[str, EventType] = {
    "paper.assembled": EventType("bank"),
    "paper.approved": EventType("bank"),
    "paper.rendered": EventType("bank"),
    "package.sealed": EventType("bank"),
    "package.exported": EventType("bank"),
    "printer.received": EventType("party", copies=False),
    "printer.printed": EventType("party", copies=True),
    "printer.spoiled-destroyed": EventType("party", copies=True),
    "printer.packed": EventType("party", copies=True),
    "exam.dispatched": EventType("party", handover=True, copies=True),
    "exam.site-received": EventType("party", handover=True, copies=True),
    "exam.opened": EventType("party"),
    "exam.collected": EventType("party", copies=True),
    "exam.returned": EventType("party", handover=True, copies=True),
    "paper.marked": EventType("bank"),
    "paper.archived": EventType("bank"),
    "paper.destroyed": EventType("bank", copies=True),
    "release.share-presented": EventType("bank"),
    "release.opened": EventType("bank"),
}


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_type(name: str) -> EventType:
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise ValidationError(f"unknown custody event type {name!r}; types are: {', '.join(EVENT_TYPES)}") from None


def new_event(
    type_: str, actor: str, *, counterpart: str | None = None, paper: str | None = None, package: str | None = None,
    details: Mapping[str, Any] | None = None, at: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    event = {
        "format": EVENT_FORMAT, "id": str(uuid.uuid4()), "type": type_, "at": at or now_text(), "actor": actor,
        "counterpart": counterpart, "paper": paper, "package": package, "details": dict(details or {}), "signatures": [],
    }  # fmt: skip
    _check_rules(event, "the event")
    return event


def _check_rules(event: Mapping[str, Any], what: str) -> None:
    """What its type asks of an event: a handover names another party as counterpart; some record a copy count."""
    rule = event_type(str(event["type"]))
    if rule.handover and not event.get("counterpart"):
        raise ValidationError(f"{what}: {event['type']} is a handover and must name its counterpart (--counterpart)")
    if event.get("counterpart") is not None and event["counterpart"] == event["actor"]:
        raise ValidationError(f"{what}: the counterpart of a handover must be another party than the actor")
    copies = event.get("details", {}).get("copies")
    if rule.copies and (not isinstance(copies, int) or isinstance(copies, bool) or copies < 0):
        raise ValidationError(f"{what}: {event['type']} must record a copy count (--copies, a whole number)")


def signed_bytes(event: Mapping[str, Any]) -> bytes:
    """What every signer of an event signs: the event without its signatures and without its place in the log."""
    return canonical_json({k: v for k, v in event.items() if k not in ("signatures", "seq")})


def sign_event(event: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    if key.name not in (event.get("actor"), event.get("counterpart")):
        raise ValidationError(f"key {key.name!r} is neither the actor nor the counterpart of this event")
    others = [s for s in event.get("signatures", []) if s.get("signer") != key.name]
    return dict(event) | {"signatures": [*others, key.sign("custody-event", signed_bytes(event))]}


def parse_statement(text: str, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"{what} is not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(doc, dict) or doc.get("format") != EVENT_FORMAT:
        raise ValidationError(f"{what} is not a custody statement ({EVENT_FORMAT})")
    for field in ("id", "type", "at", "actor"):
        if not isinstance(doc.get(field), str) or not doc[field]:
            raise ValidationError(f"{what}: field {field!r} is missing")
    try:
        uuid.UUID(doc["id"])
        datetime.strptime(doc["at"], "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise ValidationError(f"{what}: 'id' must be a UUID and 'at' a UTC time (YYYY-MM-DDTHH:MM:SSZ)") from None
    event_type(doc["type"])
    if not isinstance(doc.get("signatures", []), list) or not isinstance(doc.get("details", {}), dict):
        raise ValidationError(f"{what}: 'signatures' must be a list and 'details' an object")
    for field, limit in (("actor", 80), ("counterpart", 80), ("paper", 60), ("package", 36)):
        value = doc.get(field)
        if value is not None and (not isinstance(value, str) or not value or len(value) > limit):
            raise ValidationError(f"{what}: field {field!r} must be text of at most {limit} characters")
    if doc.get("package") is not None:
        try:
            uuid.UUID(doc["package"])
        except ValueError:
            raise ValidationError(f"{what}: 'package' must be a package id (a UUID)") from None
    _check_rules(doc, what)
    return doc


def required_signers(event: Mapping[str, Any], institution: str | None) -> list[str]:
    """Party events: the actor, and for a handover the counterpart. Bank events: the institution."""
    rule = event_type(str(event["type"]))
    if rule.by != "party":
        return [institution] if institution else []
    return [str(event["actor"])] + ([str(event["counterpart"])] if rule.handover else [])


def missing_signatures(event: Mapping[str, Any], keys: Mapping[str, VerifyKey], institution: str | None = None) -> list[str]:
    """Required signers whose valid signature the event lacks."""
    message = signed_bytes(event)
    missing = []
    for name in required_signers(event, institution):
        key = keys.get(name)
        if key is None or not any(key.verify("custody-event", message, s) for s in event.get("signatures", [])):
            missing.append(name)
    return missing
