"""Assignment rules (配备与回避规则) as data, and the engine that applies them. Pure.

A rule set names which registry roles may serve in each duty and lists rules. Each
rule has an `id` (quoted in every refusal), a Chinese `name`, and a `kind` — one of the
checks below. The institution changes the parameters, the duties and room kinds they
apply to, or drops a rule, without touching code.

Two families:
- person rules judge one person for one post (status, role, credential, scope, avoidance);
- composition rules judge the staffing of a room or station as it would be after the
  change (at least N, a ratio to candidates, an odd panel).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

import yaml

from examvault.errors import ValidationError

DUTIES = ("invigilator", "examiner", "chief_examiner", "marker", "supervisor")
ROOM_DUTIES = ("invigilator", "examiner")  # held in a room or station; the others serve the session or a task
CARD_KINDS = ("examiner", "senior_examiner", "chief_examiner", "supervisor")
SENIOR_CARDS = frozenset({"senior_examiner", "chief_examiner"})
STAFF_ROLES = ("examiner", "senior_examiner", "invigilator", "chief_examiner", "supervisor")
ROOM_KINDS = ("theory", "skill", "defence")

PERSON_KINDS = (
    "status_active", "role_for_duty", "credential_valid", "credential_scope", "senior_for_levels",
    "avoid_same_unit", "avoid_declared_relation", "one_room_per_session", "independent_supervision",
)  # fmt: skip
COMPOSITION_KINDS = ("min_count", "ratio", "odd_panel")
_PARAMS: dict[str, dict[str, type]] = {
    "senior_for_levels": {"levels": list},
    "min_count": {"duty": str, "rooms": list, "min": int},
    "ratio": {"duty": str, "rooms": list, "candidates_per_person": int},
    "odd_panel": {"duty": str, "rooms": list, "min": int},
}


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    kind: str
    duties: frozenset[str]
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.id} ({self.name})"


@dataclass(frozen=True)
class RuleSet:
    duty_roles: Mapping[str, frozenset[str]]
    rules: tuple[Rule, ...]
    duty_cards: Mapping[str, frozenset[str]] = field(default_factory=dict)  # which card kinds qualify for a duty

    def card_kinds(self, duty: str, level: int) -> frozenset[str] | None:
        """The card kinds a post of this duty at this level is served on (None: any kind)."""
        kinds = self.duty_cards.get(duty)
        if any(r.kind == "senior_for_levels" and level in r.params["levels"] for r in self.person_rules(duty)):
            return (kinds or SENIOR_CARDS) & SENIOR_CARDS
        return kinds

    def person_rules(self, duty: str) -> list[Rule]:
        return [r for r in self.rules if r.kind in PERSON_KINDS and duty in r.duties]

    def composition_rules(self, duty: str, room_kind: str | None) -> list[Rule]:
        return [
            r for r in self.rules
            if r.kind in COMPOSITION_KINDS and r.params["duty"] == duty and room_kind in r.params["rooms"]
        ]  # fmt: skip


def default_rules_text() -> str:
    return resources.files("examvault.staff").joinpath("data/rules.yaml").read_text("utf-8")


def parse_rules(doc: Any, what: str = "rule set") -> RuleSet:
    """Check a rule document completely; every problem is reported with the rule's place."""
    problems: list[str] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("duties"), dict) or not isinstance(doc.get("rules"), list):
        raise ValidationError(f"{what}: expected a mapping with 'duties' (duty → roles) and 'rules' (a list)")
    duty_roles: dict[str, frozenset[str]] = {}
    for duty, roles in doc["duties"].items():
        if duty not in DUTIES:
            problems.append(f"duties.{duty}: unknown duty; duties are {', '.join(DUTIES)}")
        elif not isinstance(roles, list) or not roles or any(r not in STAFF_ROLES for r in roles):
            problems.append(f"duties.{duty}: expected a list of roles from {', '.join(STAFF_ROLES)}")
        else:
            duty_roles[duty] = frozenset(roles)
    for duty in DUTIES:
        if duty not in doc["duties"]:
            problems.append(f"duties.{duty}: missing; say which roles may serve as {duty}")
    duty_cards: dict[str, frozenset[str]] = {}
    cards = doc.get("cards", {})
    if not isinstance(cards, dict):
        problems.append("cards: expected a mapping of duty → card kinds")
        cards = {}
    for duty, kinds in cards.items():
        if duty not in DUTIES:
            problems.append(f"cards.{duty}: unknown duty; duties are {', '.join(DUTIES)}")
        elif not isinstance(kinds, list) or not kinds or any(k not in CARD_KINDS for k in kinds):
            problems.append(f"cards.{duty}: expected a list of card kinds from {', '.join(CARD_KINDS)}")
        else:
            duty_cards[duty] = frozenset(kinds)
    rules: list[Rule] = []
    seen: set[str] = set()
    for n, raw in enumerate(doc["rules"], start=1):
        where = f"rules[{n}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        rid, kind = raw.get("id"), raw.get("kind")
        if not isinstance(rid, str) or not rid:
            problems.append(f"{where}: 'id' is missing")
            continue
        where = f"{where} ({rid})"
        if rid in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(rid)
        if kind not in PERSON_KINDS + COMPOSITION_KINDS:
            problems.append(f"{where}: unknown kind {kind!r}; kinds are {', '.join(PERSON_KINDS + COMPOSITION_KINDS)}")
            continue
        params = {k: v for k, v in raw.items() if k not in ("id", "name", "kind", "duties")}
        wanted = _PARAMS.get(kind, {})
        for key in sorted(set(params) - set(wanted)):
            problems.append(f"{where}: '{key}' is not a setting of a {kind} rule" + (f" (it takes {', '.join(wanted)})" if wanted else ""))
        for key, typ in wanted.items():
            value = params.get(key)
            if not isinstance(value, typ) or isinstance(value, bool):
                problems.append(f"{where}: '{key}' must be a {typ.__name__}")
            elif typ is int and value < 1:
                problems.append(f"{where}: '{key}' must be at least 1")
        if kind in COMPOSITION_KINDS:
            duty, rooms = params.get("duty"), params.get("rooms")
            if isinstance(duty, str) and duty not in ROOM_DUTIES:  # a rule nobody could ever satisfy
                problems.append(f"{where}: 'duty' must be a duty held in rooms: {', '.join(ROOM_DUTIES)}")
            if isinstance(rooms, list) and any(r not in ROOM_KINDS for r in rooms):
                problems.append(f"{where}: 'rooms' must list room kinds from {', '.join(ROOM_KINDS)}")
            duties = frozenset([duty]) if isinstance(duty, str) else frozenset()
        else:
            raw_duties = raw.get("duties", "all")
            if raw_duties == "all":
                duties = frozenset(DUTIES)
            elif isinstance(raw_duties, list) and all(d in DUTIES for d in raw_duties):
                duties = frozenset(raw_duties)
            else:
                problems.append(f"{where}: 'duties' must be 'all' or a list from {', '.join(DUTIES)}")
                continue
        rules.append(Rule(rid, str(raw.get("name", rid)), kind, duties, params))
    if problems:
        raise ValidationError(f"{what}: {len(problems)} problem(s); nothing was changed:\n" + "\n".join(problems))
    return RuleSet(duty_roles, tuple(rules), duty_cards)


def load_rules_text(text: str, what: str) -> tuple[dict[str, Any], RuleSet]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ValidationError(f"{what}: not valid YAML/JSON{where}") from None
    return doc, parse_rules(doc, what)


def normalise_unit(text: str) -> str:
    """Work units compare after NFKC, without spaces or brackets' width differences."""
    return "".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


@dataclass(frozen=True)
class CredentialFacts:
    number: str
    kind: str
    occupation: str | None
    levels: frozenset[int]
    issued_on: date
    valid_until: date
    revoked: bool


@dataclass(frozen=True)
class PersonFacts:
    code: str
    roles: frozenset[str]
    status: str
    status_reason: str
    work_unit: str  # normalised
    relations: frozenset[str]  # ID numbers of people the person declared a relation to
    credentials: tuple[CredentialFacts, ...]
    other_rooms: tuple[str, ...] = ()  # rooms of this session where the person already holds a post
    other_duties: tuple[str, ...] = ()  # duties of the person's other open posts in this session


@dataclass(frozen=True)
class CandidateFacts:
    code: str
    work_unit: str  # normalised
    id_number: str


@dataclass(frozen=True)
class Post:
    """Where the person would serve: the session's occupation, level and date, and whom they would face."""

    session: str
    occupation: str
    level: int
    exam_date: date
    duty: str
    room: str | None  # room code, None for session-wide posts and marking tasks
    room_kind: str | None
    candidates: tuple[CandidateFacts, ...]
    planned_candidates: int  # placed candidates, or the room's capacity while nobody is placed yet


@dataclass(frozen=True)
class Refusal:
    rule: str
    name: str
    staff: str | None  # None for a composition rule
    message: str

    def __str__(self) -> str:
        who = f"{self.staff}: " if self.staff else ""
        return f"{who}refused by rule {self.rule} ({self.name}): {self.message}"


def usable_credential(person: PersonFacts, post: Post, *, scoped: bool, kinds: frozenset[str] | None = None) -> CredentialFacts | None:
    """A card valid on the exam date, of a kind that qualifies (when `kinds` is given), covering the
    session's occupation and level (when `scoped`)."""
    for c in person.credentials:
        if c.revoked or not (c.issued_on <= post.exam_date <= c.valid_until):
            continue
        if kinds is not None and c.kind not in kinds:
            continue
        if scoped and (c.occupation not in (None, post.occupation) or post.level not in c.levels):
            continue
        return c
    return None


def check_person(rules: RuleSet, person: PersonFacts, post: Post) -> list[Refusal]:
    out: list[Refusal] = []

    def refuse(rule: Rule, message: str) -> None:
        out.append(Refusal(rule.id, rule.name, person.code, message))

    kinds = rules.duty_cards.get(post.duty)
    serving = rules.card_kinds(post.duty, post.level)  # the cards the post can be served on (senior ones at levels 1–2)
    for rule in rules.person_rules(post.duty):
        k = rule.kind
        if k == "status_active" and person.status != "active":
            refuse(rule, f"the person is {person.status}" + (f" ({person.status_reason})" if person.status_reason else ""))
        elif k == "role_for_duty":
            allowed = rules.duty_roles.get(post.duty, frozenset())
            if not person.roles & allowed:
                refuse(rule, f"serving as {post.duty} needs one of the roles {', '.join(sorted(allowed))}; "
                             f"the person has {', '.join(sorted(person.roles)) or 'none'}")  # fmt: skip
        elif k == "credential_valid":
            if usable_credential(person, post, scoped=False, kinds=kinds) is None:
                refuse(rule, _credential_problem(person, post.exam_date, kinds))
        elif k == "credential_scope":
            # Coverage is judged on the cards the post is served on; with none of those, senior.levels speaks.
            pool = serving if usable_credential(person, post, scoped=False, kinds=serving) else kinds
            if usable_credential(person, post, scoped=False, kinds=kinds) and not usable_credential(person, post, scoped=True, kinds=pool):
                refuse(rule, f"no valid credential covers occupation {post.occupation} level {post.level}")
        elif k == "senior_for_levels":
            senior = (kinds or SENIOR_CARDS) & SENIOR_CARDS
            # Only the card's kind here: whether it covers the occupation and level is credential.scope's.
            if post.level in rule.params["levels"] and not usable_credential(person, post, scoped=False, kinds=senior):
                refuse(rule, f"level {post.level} is evaluated by senior examiners (高级考评员) only; the person holds no "
                             "valid senior examiner's card")  # fmt: skip
        elif k == "avoid_same_unit":
            same = [c.code for c in post.candidates if person.work_unit and c.work_unit == person.work_unit]
            if same:
                refuse(rule, f"works in the same unit as {len(same)} candidate(s) of this post ({_codes(same)})")
        elif k == "avoid_declared_relation":
            related = [c.code for c in post.candidates if c.id_number and c.id_number in person.relations]
            if related:
                refuse(rule, f"declared a relation to candidate(s) {_codes(related)}")
        elif k == "one_room_per_session" and post.room and any(r != post.room for r in person.other_rooms):
            refuse(rule, f"already holds a post in room {', '.join(sorted(set(person.other_rooms)))} of session {post.session}")
        elif k == "independent_supervision":
            if post.duty == "supervisor" and any(d != "supervisor" for d in person.other_duties):
                refuse(rule, f"holds another post in session {post.session}; a supervisor supervises others, not their own work")
            elif post.duty != "supervisor" and "supervisor" in person.other_duties:
                refuse(rule, f"is the supervisor of session {post.session}; a supervisor holds no other post in it")
    return out


def _credential_problem(person: PersonFacts, on: date, kinds: frozenset[str] | None) -> str:
    cards = [c for c in person.credentials if kinds is None or c.kind in kinds]
    if not cards:
        wanted = f" of kind {', '.join(sorted(kinds))}" if kinds else ""
        return f"the person holds no credential card{wanted}"
    live = [c for c in cards if not c.revoked]
    if not live:
        return "every credential card of the person is revoked (撤回证卡)"
    expired = [c for c in live if c.valid_until < on]
    if expired:
        c = max(expired, key=lambda c: c.valid_until)
        return f"credential {c.number} expired on {c.valid_until.isoformat()}, before the exam on {on.isoformat()}"
    c = min(live, key=lambda c: c.issued_on)
    return f"credential {c.number} is valid only from {c.issued_on.isoformat()}"


def _codes(codes: list[str], limit: int = 5) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


def check_composition(rules: RuleSet, post: Post, count: int, *, proposed: bool = True) -> list[Refusal]:
    """The staffing of one room and duty (as it would be, or as it is) against every rule for that room kind."""
    out: list[Refusal] = []
    would = "would have" if proposed else "has"
    for rule in rules.composition_rules(post.duty, post.room_kind):
        where = f"room {post.room}" if post.room else f"session {post.session}"
        if rule.kind == "min_count" and count < rule.params["min"]:
            out.append(Refusal(rule.id, rule.name, None, f"{where} {would} {count} {post.duty}(s); at least {rule.params['min']} are required"))
        elif rule.kind == "ratio":
            per = rule.params["candidates_per_person"]
            need = math.ceil(post.planned_candidates / per)
            if count < need:
                out.append(Refusal(rule.id, rule.name, None,
                                   f"{where} has {post.planned_candidates} candidates and {would} {count} {post.duty}(s); "
                                   f"at 1 per {per} it needs at least {need}"))  # fmt: skip
        elif rule.kind == "odd_panel" and (count < rule.params["min"] or count % 2 == 0):
            out.append(Refusal(rule.id, rule.name, None,
                               f"{where} {would} a panel of {count} {post.duty}(s); it must be an odd number of at least {rule.params['min']}"))  # fmt: skip
    return out


def required_staffing(rules: RuleSet, room_kind: str, planned: int) -> dict[str, int]:
    """The smallest staffing per duty that every composition rule for this room kind accepts."""
    need: dict[str, int] = {}
    for duty in ROOM_DUTIES:  # composition rules name room duties only
        rs = rules.composition_rules(duty, room_kind)
        if rs:
            n = max(math.ceil(planned / r.params["candidates_per_person"]) if r.kind == "ratio" else r.params["min"] for r in rs)
            need[duty] = n + 1 if n % 2 == 0 and any(r.kind == "odd_panel" for r in rs) else n
    return need
