"""The personnel registry and assignment service.

Every post — invigilator in a room, examiner on a skill-test panel, marker on a marking
task, chief examiner or supervisor of a session — is made by `assign`, which checks the
current rule set (rules.py). Registration's room staffing and scoring's marker assignment
(issues 7 and 8) are to call this same function, so there is one place where 回避 is enforced.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault import rulesets
from examvault.accounts.models import User
from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.crypto.keyring import Keyring
from examvault.crypto.records import open_document, seal_document
from examvault.db import free_codes, utcnow
from examvault.errors import (
    NOTHING_IMPORTED,
    ConflictError,
    Issue,
    NotFoundError,
    ValidationError,
    check_length,
)
from examvault.itembank import domain
from examvault.registration.identity import id_number_problem, mask_id, phone_problem
from examvault.registration.models import Candidate, ExamSession, Room
from examvault.registration.service import (
    candidate_documents,
    get_room,
    get_session,
    placed_per_room,
    seated_documents,
)
from examvault.staff import rules as R
from examvault.staff.models import (
    STAFF_PERSONAL,
    Assignment,
    Credential,
    RuleSet,
    Sanction,
    StaffMember,
    Training,
)

ROLE_LABELS = {
    "考评员": "examiner", "高级考评员": "senior_examiner", "监考": "invigilator", "监考员": "invigilator",
    "监考人员": "invigilator", "主考": "chief_examiner", "主考人": "chief_examiner", "督导员": "supervisor",
    "质量督导员": "supervisor", "内部质量督导员": "supervisor",
} | {r: r for r in R.STAFF_ROLES}  # fmt: skip
DUTY_NAMES = {"invigilator": "监考", "examiner": "考评员", "chief_examiner": "主考", "marker": "阅卷",
              "supervisor": "督导"}  # fmt: skip
STATUS_NAMES = {"active": "在岗", "suspended": "暂停", "revoked": "取消资格"}
SANCTION_TIERS = ("warning", "removal", "credential_revoked", "reported_to_unit")
SANCTION_NAMES = {"warning": "警告", "removal": "暂停考评工作", "credential_revoked": "撤回证卡",
                  "reported_to_unit": "通报所在单位"}  # fmt: skip

IMPORT_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("人员编号", "编号", "code"),
    "name": ("姓名", "name"),
    "id_number": ("证件号码", "身份证号", "身份证号码", "id_number"),
    "work_unit": ("工作单位", "单位", "work_unit"),
    "phone": ("手机", "联系电话", "phone"),
    "roles": ("人员类别", "角色", "roles"),
    "credential_number": ("证卡编号", "证书编号", "credential_number"),
    "credential_kind": ("证卡类别", "credential_kind"),
    "occupation": ("考评职业代码", "职业代码", "occupation"),
    "levels": ("考评等级", "等级", "levels"),
    "issued_on": ("发证日期", "issued_on"),
    "valid_until": ("有效期至", "valid_until"),
    "relations": ("回避证件号码", "relations"),
}


class AssignmentRefused(ConflictError):
    """An assignment broke one or more rules. Nothing was assigned; each refusal names its rule."""

    def __init__(self, refusals: Sequence[R.Refusal], what: str) -> None:
        self.refusals = list(refusals)
        super().__init__(f"{what} refused; nothing was assigned:\n" + "\n".join(str(r) for r in self.refusals))


# ------------------------------------------------------------------ parsing helpers


def parse_roles(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[,，、;；/\s]+", text or "") if p.strip()]
    bad = [p for p in parts if p not in ROLE_LABELS]
    if bad or not parts:
        raise ValueError(f"unknown role {bad[0]!r}" if bad else "no role given")
    return sorted({ROLE_LABELS[p] for p in parts})


def parse_levels(text: str) -> list[int]:
    """`3,4,5`, `3-5`, `三级、高级技师`: a range, or any level the item bank's import accepts."""
    out: set[int] = set()
    for part in re.split(r"[,，、;；\s]+", (text or "").strip()):
        m = re.fullmatch(r"([1-5])\s*[-~～—]\s*([1-5])", part)
        if m:
            lo, hi = sorted((int(m[1]), int(m[2])))
            out.update(range(lo, hi + 1))
        elif part:
            out.add(domain.level(part))
    return sorted(out)


def parse_date(text: str) -> date:
    s = (text or "").strip().split(" ")[0].split("T")[0]
    for pattern in (r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{4})/(\d{1,2})/(\d{1,2})", r"(\d{4})(\d{2})(\d{2})",
                    r"(\d{4})年(\d{1,2})月(\d{1,2})日"):  # fmt: skip
        m = re.fullmatch(pattern, s)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                break
    raise ValueError(f"{text!r} is not a date like 2026-12-05")


# ------------------------------------------------------------------ rules


def current_rules(session: Session, actor: str | None = None) -> tuple[int, R.RuleSet]:
    """The newest rule set; on first use the packaged default becomes version 1 (when writing)."""
    return rulesets.current(session, RuleSet, parse=R.parse_rules, what="rule set", actor=actor,
                            default=lambda: R.load_rules_text(R.default_rules_text(), "default rules"))


def show_rules(bank: Bank) -> dict[str, Any]:
    with bank.transaction() as session:
        bank.actor(session, "staff.read")
        row = rulesets.newest(session, RuleSet)
        if row is None:
            doc, _ = R.load_rules_text(R.default_rules_text(), "default rules")
            return {"version": 1, "default": True, "rules": doc}
        return {"version": row.version, "default": False, "digest": row.digest, "created_by": row.created_by,
                "created_at": row.created_at.isoformat(), "rules": row.body}  # fmt: skip


def set_rules(bank: Bank, path: Path) -> dict[str, Any]:
    doc, _ = R.load_rules_text(rulesets.read_rule_file(path, "rule file"), str(path))
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "staff.manage")
        version, digest = rulesets.add_version(session, RuleSet, doc, actor.username, current_rules(session, actor.username)[0])
        audit(session, actor, "staff.rules.set", "staff_rule_set", str(version), digest=digest)
        return {"version": version, "digest": digest, "rules": len(doc["rules"])}


# ------------------------------------------------------------------ registry


def get_staff(session: Session, code: str) -> StaffMember:
    person = session.scalars(select(StaffMember).where(StaffMember.code == code)).first()
    if person is None:
        raise NotFoundError(f"no staff member {code!r} in the registry")
    return person


def open_staff(keyring: Keyring, person: StaffMember) -> dict[str, Any]:
    return open_document(keyring, STAFF_PERSONAL, person, "personal")


def _reseal(keyring: Keyring, person: StaffMember, doc: Mapping[str, Any]) -> None:
    person.version += 1
    values = seal_document(keyring, STAFF_PERSONAL, str(person.id), person.version, "personal", doc)
    for k, v in values.items():
        setattr(person, k, v)


@dataclass
class _Row:
    where: str
    values: dict[str, Any]
    columns: dict[str, str]

    def column(self, name: str) -> str:
        return self.columns.get(name, IMPORT_FIELDS[name][0])


def _check_rows(file: str, rows: list[Any]) -> tuple[list[_Row], list[Issue]]:
    """Validate every row completely; problems name the row and the column."""
    issues: list[Issue] = []
    good: list[_Row] = []
    for raw in rows:
        v: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        v["code"] = raw.get("code")
        if len(v["code"]) > 30:
            problems.append(("code", "at most 30 characters"))
        v["name"] = raw.get("name")
        if not v["name"]:
            problems.append(("name", "required"))
        v["id_number"] = raw.get("id_number").upper()
        if p := id_number_problem(v["id_number"]):
            problems.append(("id_number", p))
        v["work_unit"] = raw.get("work_unit")
        v["phone"] = raw.get("phone")
        if v["phone"] and (p := phone_problem(v["phone"])):
            problems.append(("phone", p))
        try:
            v["roles"] = parse_roles(raw.get("roles"))
        except ValueError as exc:
            problems.append(("roles", f"{exc}; roles are {', '.join(sorted(ROLE_LABELS))}"))
            v["roles"] = []
        v["relations"] = [x.strip().upper() for x in re.split(r"[,，;；、\s]+", raw.get("relations")) if x.strip()]
        for rel in v["relations"]:
            if p := id_number_problem(rel):
                problems.append(("relations", p))
        number = raw.get("credential_number")
        v["credential"] = None
        if number:
            cred: dict[str, Any] = {"number": number, "occupation": raw.get("occupation") or None}
            stated = raw.get("credential_kind")
            cred["kind"] = ROLE_LABELS.get(stated, "") if stated else _card_kind(v["roles"])
            if cred["kind"] not in R.CARD_KINDS:
                problems.append(("credential_kind" if stated else "credential_number",
                                 f"{stated!r} is not a card kind ({', '.join(R.CARD_KINDS)})" if stated
                                 else "invigilators hold no credential card; leave the card columns empty"))  # fmt: skip
            if len(number) > 40 or len(cred["occupation"] or "") > 20:
                problems.append(("credential_number" if len(number) > 40 else "occupation", "too long (card number ≤ 40, occupation ≤ 20)"))
            for name in ("issued_on", "valid_until"):
                try:
                    cred[name] = parse_date(raw.get(name))
                except ValueError as exc:
                    problems.append((name, str(exc)))
            try:
                cred["levels"] = parse_levels(raw.get("levels"))
            except ValueError as exc:
                problems.append(("levels", str(exc)))
            if cred.get("issued_on") and cred.get("valid_until") and cred["valid_until"] < cred["issued_on"]:
                problems.append(("valid_until", "the card expires before it is issued"))
            if cred["kind"] in SCOPED_CARDS and (not cred["occupation"] or not cred.get("levels")):
                problems.append(("occupation" if not cred["occupation"] else "levels",
                                 "an examiner's card names the occupation and levels it covers"))  # fmt: skip
            v["credential"] = cred
        elif set(v["roles"]) & {"examiner", "senior_examiner", "chief_examiner", "supervisor"}:
            problems.append(("credential_number", "examiners, chief examiners and supervisors hold a credential card"))
        issues += [Issue(file, raw.location, raw.column(f), m) for f, m in problems]
        if not problems:
            good.append(_Row(raw.location, v, raw.columns))
    return good, issues


SCOPED_CARDS = ("examiner", "senior_examiner", "chief_examiner")  # cards that name the occupation and levels they cover


def _card_kind(roles: Iterable[str]) -> str:
    for kind in ("senior_examiner", "examiner", "chief_examiner", "supervisor"):
        if kind in roles:
            return kind
    return "invigilator"


def import_staff(bank: Bank, path: Path) -> dict[str, Any]:
    """Import a staff roster (xlsx, csv or json). All or nothing, with row-precise errors."""
    from examvault.itembank.formats.tabular import read_table

    raw = read_table(path, IMPORT_FIELDS, ("name", "id_number", "roles"), list_key="staff")
    rows, issues = _check_rows(path.name, raw)
    return _add_people(bank, path.name, rows, issues)


def add_staff(bank: Bank, *, name: str, id_number: str, roles: str, work_unit: str = "", phone: str = "",
              code: str = "", credential: Mapping[str, str] | None = None, relations: str = "") -> dict[str, Any]:  # fmt: skip
    from examvault.itembank.formats.fields import RawRow

    values = {"code": code, "name": name, "id_number": id_number, "roles": roles, "work_unit": work_unit,
              "phone": phone, "relations": relations, **(credential or {})}  # fmt: skip
    rows, issues = _check_rows("staff add", [RawRow("staff add", "", {k: str(v or "").strip() for k, v in values.items()})])
    return _add_people(bank, "staff add", rows, issues)["staff"][0]  # type: ignore[no-any-return]


def _add_people(bank: Bank, file: str, rows: list[_Row], issues: list[Issue]) -> dict[str, Any]:
    seen_ids: dict[str, str] = {}
    seen_cards: dict[str, str] = {}
    seen_codes: dict[str, str] = {}
    for row in rows:
        v = row.values
        for key, seen, label in ((v["id_number"], seen_ids, "id_number"), (v["code"], seen_codes, "code"),
                                 ((v["credential"] or {}).get("number"), seen_cards, "credential_number")):  # fmt: skip
            if key and key in seen:
                issues.append(Issue(file, row.where, row.column(label), f"repeats {seen[key]}"))
            elif key:
                seen[key] = row.where
    # The registry's checks run even when the file has problems: every problem is reported at once.
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "staff.manage")
        keyring = bank.keyring(session)
        keyring.pin(session, "personal")
        known = {open_staff(keyring, p)["id_number"]: p.code for p in session.scalars(select(StaffMember))}
        cards = set(session.scalars(select(Credential.number).where(Credential.number.in_(list(seen_cards)))))
        codes = set(session.scalars(select(StaffMember.code).where(StaffMember.code.in_(list(seen_codes)))))
        for row in rows:
            v = row.values
            if v["id_number"] in known:
                issues.append(Issue(file, row.where, row.column("id_number"), f"this person is already registered as {known[v['id_number']]}"))
            if v["credential"] and v["credential"]["number"] in cards:
                issues.append(Issue(file, row.where, row.column("credential_number"), "this card number is already registered"))
            if v["code"] in codes:
                issues.append(Issue(file, row.where, row.column("code"), "this staff code is already taken"))
        if issues:
            raise ValidationError(issues, outcome=NOTHING_IMPORTED)
        taken = set(session.scalars(select(StaffMember.code))) | {r.values["code"] for r in rows if r.values["code"]}
        codes = free_codes(lambda n: f"ST{n:05d}", taken)
        added = []
        for row in rows:
            v = row.values
            sid = uuid.uuid4()
            code = v["code"] or next(codes)
            doc = {"name": v["name"], "id_number": v["id_number"], "work_unit": v["work_unit"], "phone": v["phone"],
                   "relations": [{"id_number": r, "relation": ""} for r in v["relations"]]}  # fmt: skip
            person = StaffMember(id=sid, code=code, roles=",".join(v["roles"]), created_by=actor.username,
                                 **seal_document(keyring, STAFF_PERSONAL, str(sid), 1, "personal", doc))  # fmt: skip
            session.add(person)
            if v["credential"]:
                c = v["credential"]
                session.add(Credential(staff_id=sid, number=c["number"], kind=c["kind"], occupation=c["occupation"],
                                       levels=",".join(map(str, c["levels"])), issued_on=c["issued_on"],
                                       valid_until=c["valid_until"]))  # fmt: skip
            added.append({"code": code, "roles": v["roles"], "credential_number": (v["credential"] or {}).get("number")})
        session.flush()
        audit(session, actor, "staff.import", "staff", file, count=len(added), codes=[a["code"] for a in added])
        return {"file": file, "imported": len(added), "staff": added}


def add_credential(bank: Bank, code: str, *, number: str, kind: str, occupation: str | None, levels: str,
                   issued_on: date, valid_until: date) -> dict[str, Any]:  # fmt: skip
    if kind not in R.CARD_KINDS:
        raise ValidationError(f"card kind {kind!r} is not one of {', '.join(R.CARD_KINDS)}")
    check_length(number.strip(), 40, "--number")
    if not number.strip():
        raise ValidationError("--number: the card number is required")
    try:
        level_list = parse_levels(levels)
    except ValueError as exc:
        raise ValidationError(f"--levels: {exc}") from None
    if kind in SCOPED_CARDS and (not occupation or not level_list):
        raise ValidationError(f"a {kind} card names the occupation and levels it covers: give --occupation and --levels")
    check_length(occupation or "", 20, "--occupation")
    if valid_until < issued_on:
        raise ValidationError("--valid-until is before --issued-on")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "staff.manage")
        person = get_staff(session, code)
        if session.scalars(select(Credential.id).where(Credential.number == number)).first():
            raise ConflictError(f"credential card {number!r} is already registered")
        session.add(Credential(staff_id=person.id, number=number, kind=kind, occupation=occupation,
                               levels=",".join(map(str, level_list)), issued_on=issued_on, valid_until=valid_until))  # fmt: skip
        audit(session, actor, "staff.credential.add", "staff", code, number=number, valid_until=valid_until.isoformat())
        return {"staff": code, "credential_number": number, "valid_until": valid_until.isoformat()}


def add_training(bank: Bank, code: str, *, on: date, title: str, hours: float, result: str) -> dict[str, Any]:
    if not title.strip():
        raise ValidationError("a training record needs its title")
    check_length(title.strip(), 200, "--title")
    check_length(result, 40, "--result")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "staff.manage")
        person = get_staff(session, code)
        session.add(Training(staff_id=person.id, on=on, title=title.strip(), hours=hours, result=result, recorded_by=actor.username))
        audit(session, actor, "staff.training.add", "staff", code, on=on.isoformat(), hours=hours)
        return {"staff": code, "on": on.isoformat(), "title": title, "hours": hours, "result": result}


def declare_relation(bank: Bank, code: str, *, id_number: str, relation: str) -> dict[str, Any]:
    """A declared relation (近亲属、师生、利害关系) to a person by ID number: that person is then avoided."""
    number = id_number.strip().upper()
    if p := id_number_problem(number):
        raise ValidationError(f"--id-number: {p}")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "staff.manage")
        keyring = bank.keyring(session)
        keyring.pin(session, "personal")
        person = get_staff(session, code)
        doc = open_staff(keyring, person)
        if any(r["id_number"] == number for r in doc.get("relations", [])):
            raise ConflictError(f"{code} has already declared a relation to {mask_id(number)}")
        doc.setdefault("relations", []).append({"id_number": number, "relation": relation})
        _reseal(keyring, person, doc)
        session.flush()
        # The declaration stands even when it conflicts with a post already held: the conflict is
        # reported here and holds the session at room acceptance until the post is changed.
        _, rules = current_rules(session)
        conflicts = [str(r) for exam in _running_sessions(session, person) for r in post_conflicts(session, keyring, exam, rules)
                     if r.staff == code]  # fmt: skip
        audit(session, actor, "staff.relation.declare", "staff", code, conflicts=len(conflicts))  # never the other person's number
        return {"staff": code, "relations": len(doc["relations"]), "conflicts": conflicts}


def _running_sessions(session: Session, person: StaffMember) -> list[ExamSession]:
    # IN, not JOIN … DISTINCT: PostgreSQL cannot compare the session's JSON columns for DISTINCT.
    posts = select(Assignment.session_id).where(Assignment.staff_id == person.id, Assignment.ended_at.is_(None))
    q = select(ExamSession).where(ExamSession.id.in_(posts), ExamSession.stage != "closed").order_by(ExamSession.exam_date)
    return list(session.scalars(q))


def _current_card(person: StaffMember) -> Credential | None:
    live = [c for c in person.credentials if c.revoked_at is None]
    pool = live or person.credentials
    return max(pool, key=lambda c: (c.valid_until, c.id)) if pool else None


def _summary(person: StaffMember, doc: Mapping[str, Any]) -> dict[str, Any]:
    card = _current_card(person)
    return {
        "id": str(person.id), "code": person.code, "name": doc.get("name", ""), "roles": sorted(person.role_set),
        "credential_number": card.number if card else None,
        "valid_until": card.valid_until.isoformat() if card else None,
        "credential_revoked": bool(card and card.revoked_at), "status": person.status,
    }  # fmt: skip


def list_staff(bank: Bank, *, role: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    with bank.transaction() as session:
        bank.actor(session, "staff.read")
        keyring = bank.keyring(session)
        q = select(StaffMember).order_by(StaffMember.code)
        if status:
            q = q.where(StaffMember.status == status)
        people = [p for p in session.scalars(q) if not role or role in p.role_set]
        return [_summary(p, open_staff(keyring, p)) for p in people]


def show_staff(bank: Bank, code: str) -> dict[str, Any]:
    with bank.transaction() as session:
        actor = bank.actor(session, "staff.read")
        keyring = bank.keyring(session)
        person = get_staff(session, code)
        doc = open_staff(keyring, person)
        sessions = {e.id: e.code for e in session.scalars(select(ExamSession))}
        rooms = {r.id: r.code for r in session.scalars(select(Room))}
        posts = session.scalars(select(Assignment).where(Assignment.staff_id == person.id).order_by(Assignment.assigned_at))
        sanctions = session.scalars(select(Sanction).where(Sanction.staff_id == person.id).order_by(Sanction.recorded_at))
        audit(session, actor, "staff.read", "staff", code)
        return _summary(person, doc) | {
            "id_number_masked": mask_id(doc.get("id_number", "")), "work_unit": doc.get("work_unit", ""),
            "phone": doc.get("phone", ""), "declared_relations": len(doc.get("relations", [])),
            "status_reason": person.status_reason,
            "credentials": [{"number": c.number, "kind": c.kind, "occupation": c.occupation, "levels": sorted(c.level_set),
                             "issued_on": c.issued_on.isoformat(), "valid_until": c.valid_until.isoformat(),
                             "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
                             "revoked_reason": c.revoked_reason} for c in person.credentials],
            "training": [{"on": t.on.isoformat(), "title": t.title, "hours": t.hours, "result": t.result} for t in person.training],
            "assignments": [{"session": sessions.get(a.session_id), "duty": a.duty, "room": rooms.get(a.room_id) if a.room_id else None,
                             "task": a.task, "assigned_at": a.assigned_at.isoformat(),
                             "ended_at": a.ended_at.isoformat() if a.ended_at else None, "ended_reason": a.ended_reason}
                            for a in posts],
            "sanctions": [{"tier": s.tier, "reason": s.reason, "recorded_by": s.recorded_by,
                           "recorded_at": s.recorded_at.isoformat()} for s in sanctions],
        }  # fmt: skip


def _end_open_posts(session: Session, person: StaffMember, reason: str, exam: ExamSession | None = None) -> int:
    """End the person's posts in sessions still running; closed sessions' posts stay as they were."""
    q = select(Assignment).join(ExamSession, ExamSession.id == Assignment.session_id).where(
        Assignment.staff_id == person.id, Assignment.ended_at.is_(None), ExamSession.stage != "closed")
    if exam is not None:
        q = q.where(Assignment.session_id == exam.id)
    now = utcnow()
    ended = 0
    for post in session.scalars(q):
        post.ended_at, post.ended_reason = now, reason
        ended += 1
    return ended


def _revoke_cards(person: StaffMember, reason: str) -> list[str]:
    now = utcnow()
    out = []
    for c in person.credentials:
        if c.revoked_at is None:
            c.revoked_at, c.revoked_reason = now, reason
            out.append(c.number)
    return out


def set_status(bank: Bank, code: str, status: str, reason: str) -> dict[str, Any]:
    """suspend (暂停), revoke (取消资格, 撤回证卡) or reinstate a person. Past posts stay in the record."""
    if status not in ("active", "suspended", "revoked"):
        raise ValidationError(f"status {status!r} is not active, suspended or revoked")
    if not reason.strip():
        raise ValidationError("give the reason (--reason); it is kept with the record")
    check_length(reason, 400, "--reason")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "staff.manage")
        person = get_staff(session, code)
        if person.status == "revoked" and status != "revoked":
            raise ConflictError(f"{code} is revoked; a revoked person is registered anew with a new card")
        if person.status == status:
            raise ConflictError(f"{code} is already {status}")
        return _apply_status(session, actor, person, status, reason)


def _apply_status(session: Session, actor: User, person: StaffMember, status: str, reason: str,
                  exam: ExamSession | None = None) -> dict[str, Any]:  # fmt: skip
    person.status, person.status_reason, person.status_changed_at = status, reason, utcnow()
    ended = _end_open_posts(session, person, f"{STATUS_NAMES[status]}：{reason}", exam) if status != "active" else 0
    revoked = _revoke_cards(person, reason) if status == "revoked" else []
    audit(session, actor, f"staff.{status}", "staff", person.code, reason=reason, posts_ended=ended, cards_revoked=revoked)
    return {"staff": person.code, "status": status, "posts_ended": ended, "cards_revoked": revoked}


def record_sanction(bank: Bank, code: str, tier: str, reason: str, *, session_code: str | None = None) -> dict[str, Any]:
    """A discipline record. removal ends the person's open posts and suspends them; credential_revoked
    and reported_to_unit also revoke every card. Each tier includes the effects of the ones below it."""
    if tier not in SANCTION_TIERS:
        raise ValidationError(f"sanction {tier!r} is not one of {', '.join(SANCTION_TIERS)}")
    if not reason.strip():
        raise ValidationError("give the reason (--reason): the rule broken and what happened")
    check_length(reason, 400, "--reason")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "staff.discipline")
        person = get_staff(session, code)
        exam = get_session(session, session_code) if session_code else None
        session.add(Sanction(staff_id=person.id, session_id=exam.id if exam else None, tier=tier, reason=reason,
                             recorded_by=actor.username))  # fmt: skip
        out: dict[str, Any] = {"staff": code, "tier": tier, "posts_ended": 0, "cards_revoked": []}
        rank = SANCTION_TIERS.index(tier)
        if rank >= 2 and person.status != "revoked":
            out |= _apply_status(session, actor, person, "revoked", f"{SANCTION_NAMES[tier]}: {reason}")
        elif rank == 1 and person.status == "active":
            out |= _apply_status(session, actor, person, "suspended", f"{SANCTION_NAMES[tier]}: {reason}")
        if tier == "reported_to_unit":
            keyring = bank.keyring(session)
            out["report_to"] = open_staff(keyring, person).get("work_unit", "")
        audit(session, actor, "staff.sanction", "staff", code, tier=tier, exam_session=session_code)
        return out | {"tier": tier}


# ------------------------------------------------------------------ assignment


def _person_facts(keyring: Keyring, person: StaffMember, others: Sequence[Assignment], rooms: Mapping[int, str]) -> R.PersonFacts:
    """The person as the rules see them; `others` are their other open posts in the session."""
    doc = open_staff(keyring, person)
    other_rooms = tuple(rooms[a.room_id] for a in others if a.room_id and a.duty in R.ROOM_DUTIES)
    creds = tuple(
        R.CredentialFacts(c.number, c.kind, c.occupation, c.level_set, c.issued_on, c.valid_until, c.revoked_at is not None)
        for c in person.credentials
    )
    return R.PersonFacts(person.code, person.role_set, person.status, person.status_reason, R.normalise_unit(doc.get("work_unit", "")),
                         frozenset(r["id_number"] for r in doc.get("relations", [])), creds, other_rooms,
                         tuple(a.duty for a in others))  # fmt: skip


def _candidates(session: Session, keyring: Keyring, exam: ExamSession, room: Room | None = None) -> list[tuple[int | None, R.CandidateFacts]]:
    """(room id, the candidate as the rules see them) for the session's or one room's candidates, each opened once."""
    if room is not None:
        return [(room.id, _facts(c, d)) for c, d in candidate_documents(session, keyring, exam, room)]
    return [(room_id, _facts(c, d)) for room_id, c, d in seated_documents(session, keyring, exam)]


def _facts(cand: Candidate, doc: Mapping[str, Any]) -> R.CandidateFacts:
    return R.CandidateFacts(cand.code, R.normalise_unit(doc.get("work_unit", "")), doc.get("id_number", ""))


def _post(exam: ExamSession, duty: str, room: Room | None, candidates: tuple[R.CandidateFacts, ...] = (),
          placed: int | None = None) -> R.Post:  # fmt: skip
    """The post as the rules see it: whom it faces and how many are planned (`placed`, else the candidates
    given; the room's capacity while nobody is placed yet)."""
    planned = (len(candidates) if placed is None else placed) or (room.capacity if room else 0)
    return R.Post(exam.code, exam.occupation, exam.level, exam.exam_date, duty, room.code if room else None,
                  room.kind if room else None, candidates, planned)  # fmt: skip


def _open_posts(session: Session, exam: ExamSession) -> list[Assignment]:
    return list(session.scalars(select(Assignment).where(Assignment.session_id == exam.id, Assignment.ended_at.is_(None))))


def _same_post(a: Assignment, duty: str, room: Room | None, task: str | None) -> bool:
    return a.duty == duty and a.room_id == (room.id if room else None) and (a.task or None) == (task or None)


def _target(session: Session, exam: ExamSession, duty: str, room_code: str | None, task: str | None) -> Room | None:
    if duty not in R.DUTIES:
        raise ValidationError(f"duty {duty!r} is not one of {', '.join(R.DUTIES)}")
    if duty in R.ROOM_DUTIES and not room_code:
        raise ValidationError(f"an {duty} serves in a room or station: give --room")
    if duty == "marker" and not task:
        raise ValidationError("a marker is assigned to a marking task: give --task (e.g. '简答题 41-45')")
    if duty not in R.ROOM_DUTIES and room_code:
        raise ValidationError(f"a {duty} serves the whole session; drop --room")
    if duty != "marker" and task:
        raise ValidationError(f"only markers are assigned to marking tasks; drop --task for a {duty}")
    if task:
        check_length(task, 80, "--task")
    return get_room(session, exam, room_code) if room_code else None


def assign(bank: Bank, session_code: str, duty: str, staff_codes: Sequence[str], *, room: str | None = None,
           task: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Put people on one post, all or none. Person rules judge each person; composition rules
    judge the post's staffing as it would be afterwards, so a panel is staffed in one call."""
    what = f"{duty} post" + (f" in room {room}" if room else "") + (f" for task {task!r}" if task else "") + f" of session {session_code}"
    if not staff_codes:
        raise ValidationError("name at least one staff member")
    if len(set(staff_codes)) != len(staff_codes):
        raise ValidationError("a staff member is named twice")
    try:
        with bank.transaction(write=True) as session:
            actor = bank.actor(session, "staff.assign")
            keyring = bank.keyring(session)
            exam = get_session(session, session_code, lock=True)  # one assignment per session at a time
            if exam.stage == "closed":
                raise ConflictError(f"session {session_code} is closed; its posts are part of the record")
            target = _target(session, exam, duty, room, task)
            version, rules = current_rules(session, actor.username)
            open_posts = _open_posts(session, exam)
            holding = [a for a in open_posts if _same_post(a, duty, target, task)]
            people = [get_staff(session, c) for c in staff_codes]
            already = [p.code for p in people if any(a.staff_id == p.id for a in holding)]
            if already:
                raise ConflictError(f"{', '.join(already)} already hold(s) this post")
            post = _post(exam, duty, target, tuple({f.code: f for _, f in _candidates(session, keyring, exam, target)}.values()))
            rooms = {r.id: r.code for r in exam.rooms}
            refusals: list[R.Refusal] = []
            facts = {}
            for person in people:
                facts[person.code] = _person_facts(keyring, person, [a for a in open_posts if a.staff_id == person.id], rooms)
                refusals += R.check_person(rules, facts[person.code], post)
            if target is not None:
                refusals += R.check_composition(rules, post, len(holding) + len(people))
            if refusals:
                raise AssignmentRefused(refusals, what)
            cards = {c.number: c.id for p in people for c in p.credentials}
            made = []
            for person in people:
                card = R.usable_credential(facts[person.code], post, scoped=duty in ("examiner", "chief_examiner", "marker"),
                                           kinds=rules.card_kinds(duty, exam.level))  # fmt: skip
                session.add(Assignment(session_id=exam.id, staff_id=person.id, duty=duty, room_id=target.id if target else None,
                                       task=task, credential_id=cards[card.number] if card else None,
                                       rules_version=version, assigned_by=actor.username))  # fmt: skip
                made.append(person.code)
            session.flush()
            audit(session, actor, "staff.assign", "exam_session", session_code, duty=duty, room=room, task=task,
                  staff=made, rules_version=version)  # fmt: skip
            return {"session": session_code, "duty": duty, "room": room, "task": task, "staff": made,
                    "post_size": len(holding) + len(made), "rules_version": version}  # fmt: skip
    except AssignmentRefused as exc:
        with bank.transaction(write=True) as session:  # the refusal itself is part of the record
            audit(session, bank.actor(session), "staff.assign.refused", "exam_session", session_code, duty=duty, room=room,
                  task=task, staff=list(staff_codes), rules=sorted({r.rule for r in exc.refusals}))  # fmt: skip
        raise


def unassign(bank: Bank, session_code: str, staff_code: str, *, reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise ValidationError("give the reason (--reason)")
    check_length(reason, 400, "--reason")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "staff.assign")
        exam = get_session(session, session_code)
        person = get_staff(session, staff_code)
        ended = _end_open_posts(session, person, reason, exam)
        if not ended:
            raise NotFoundError(f"{staff_code} holds no open post in session {session_code}")
        audit(session, actor, "staff.unassign", "exam_session", session_code, staff=staff_code, reason=reason)
        return {"session": session_code, "staff": staff_code, "posts_ended": ended}


def post_conflicts(session: Session, keyring: Keyring, exam: ExamSession, rules: R.RuleSet) -> list[R.Refusal]:
    """Every open post judged again by the person rules, as things stand now: candidates placed,
    relations declared, cards expired or rules changed since the assignment all show here."""
    posts = _open_posts(session, exam)
    if not posts:
        return []
    rooms = {r.id: r for r in exam.rooms}
    codes = {r.id: r.code for r in exam.rooms}
    # Each candidate is opened once: room posts see their room, session-wide posts everyone.
    everyone = _candidates(session, keyring, exam)
    by_room: dict[int | None, list[R.CandidateFacts]] = defaultdict(list)
    for room_id, facts in everyone:
        by_room[room_id].append(facts)
    session_wide = tuple({f.code: f for _, f in everyone}.values())  # a candidate seated for two parts counts once
    out: list[R.Refusal] = []
    for a in posts:
        room = rooms.get(a.room_id) if a.room_id else None
        post = _post(exam, a.duty, room, tuple(by_room.get(a.room_id, ())) if room else session_wide)
        others = [o for o in posts if o.staff_id == a.staff_id and o.id != a.id]
        out += R.check_person(rules, _person_facts(keyring, a.staff, others, codes), post)
    return out


def staffing_report(session: Session, exam: ExamSession, keyring: Keyring | None = None) -> dict[str, Any]:
    """Each room's staffing against the composition rules and, with the keys, every open post against
    the person rules (回避 and cards as they stand now)."""
    _, rules = current_rules(session)
    posts = _open_posts(session, exam)
    by_room: dict[int | None, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for a in posts:
        by_room[a.room_id][a.duty if not a.task else f"{a.duty}:{a.task}"].append(a.staff.code)
    rooms = []
    problems: list[str] = []
    placed = placed_per_room(session, exam)
    for room in exam.rooms:
        post = _post(exam, "invigilator", room, placed=placed.get(room.id, 0))
        need = R.required_staffing(rules, room.kind, post.planned_candidates)
        have = {d: sorted(v) for d, v in by_room.get(room.id, {}).items()}
        room_problems = []
        for duty in need:
            room_problems += [str(r) for r in R.check_composition(rules, replace(post, duty=duty), len(have.get(duty, [])), proposed=False)]
        problems += room_problems
        rooms.append({"room": room.code, "kind": room.kind, "candidates": post.planned_candidates, "required": need,
                      "assigned": have, "problems": room_problems})  # fmt: skip
    session_posts = {d: sorted(v) for d, v in by_room.get(None, {}).items()}
    conflicts = [str(r) for r in post_conflicts(session, keyring, exam, rules)] if keyring is not None else None
    problems += conflicts or []
    return {"session": exam.code, "rooms": rooms, "session_posts": session_posts, "post_conflicts": conflicts,
            "problems": problems, "ok": not problems}  # fmt: skip


def staffing(bank: Bank, session_code: str) -> dict[str, Any]:
    """Needs the bank unlocked: avoidance is judged on sealed work units and ID numbers."""
    with bank.transaction() as session:
        bank.actor(session, "session.read")
        return staffing_report(session, get_session(session, session_code), bank.keyring(session))


def on_duty(session: Session, exam: ExamSession, keyring: Keyring) -> list[dict[str, Any]]:
    """Who served, for the work record: every post of the session, open or ended, with names."""
    rooms = {r.id: r.code for r in exam.rooms}
    cards = {c.id: c.number for c in session.scalars(select(Credential))}
    out = []
    for a in session.scalars(select(Assignment).where(Assignment.session_id == exam.id).order_by(Assignment.duty, Assignment.room_id, Assignment.id)):
        doc = open_staff(keyring, a.staff)
        out.append({"staff": a.staff.code, "name": doc.get("name", ""), "duty": a.duty, "room": rooms.get(a.room_id) if a.room_id else None,
                    "task": a.task, "credential_number": cards.get(a.credential_id) if a.credential_id else None,
                    "ended_at": a.ended_at, "ended_reason": a.ended_reason, "work_unit": doc.get("work_unit", "")})  # fmt: skip
    return out


# ------------------------------------------------------------------ examiner metrics from a marking table

MARK_FIELDS: dict[str, tuple[str, ...]] = {
    "script": ("密封号", "script"),
    "item": ("题号", "item"),
    "marker": ("评分人", "考评员", "marker"),
    "score": ("得分", "score"),
    "max_points": ("满分", "max_points"),
    "seconds": ("用时秒", "seconds"),
    "arbitrated": ("仲裁", "arbitrated"),
}


def read_marks(path: Path) -> list[Any]:
    """A marking table (csv/xlsx/json, one mark per row) as metrics.Mark; row-precise errors."""
    from examvault.itembank.formats.tabular import read_table
    from examvault.staff.metrics import Mark

    rows = read_table(path, MARK_FIELDS, ("script", "item", "marker", "score", "max_points"), list_key="marks")
    marks, issues = [], []
    for r in rows:
        try:
            nums = {f: float(r.get(f)) for f in ("score", "max_points")}
            seconds = float(r.get("seconds")) if r.get("seconds") else None
        except ValueError:
            issues.append(Issue(path.name, r.location, "", "得分, 满分 and 用时秒 must be numbers"))
            continue
        try:  # 是/否, 1/0, Y/N, √/×: read as the item bank reads a 判断 answer
            arbitrated = bool(r.get("arbitrated")) and domain.judgement(r.get("arbitrated")) == domain.TRUE_MARK
        except ValueError:
            issues.append(Issue(path.name, r.location, r.column("arbitrated"), "expected 是/否 or 1/0"))
            continue
        marks.append(Mark(r.get("script"), r.get("item"), r.get("marker"), nums["score"], nums["max_points"], seconds, arbitrated))
    if issues:
        raise ValidationError(issues, outcome="nothing was computed")
    return marks
