"""The annual plan (年度认定计划) and its 公告, and the eligibility rules it announces.

A plan is a YAML/JSON document (docs/registration.md): the year, the registration window,
the evaluation's numbering (Y employer / S social organisation, institution and province codes),
the sites with their 6-digit codes, the occupations and levels with fees and sittings, and —
for an employer's own evaluation — the employer's conditions within what the rules allow.
Occupations and levels must be on file: the bank holds a theory outline for each.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault import rulesets
from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.db import BEIJING, utcnow
from examvault.errors import ConflictError, NotFoundError, ValidationError
from examvault.itembank import domain
from examvault.itembank.models import Occupation, Outline
from examvault.registration import eligibility as E
from examvault.registration.identity import PROVINCES
from examvault.registration.models import EligibilityRuleSet, ExamPlan

EVALUATION_KINDS = {"Y": "用人单位自主评价", "S": "社会培训评价组织评价"}


def _date(value: Any, where: str) -> str:
    try:
        return value.isoformat() if isinstance(value, date) else date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValidationError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def parse_plan(doc: Any, what: str, rules: E.Rules) -> dict[str, Any]:
    """The plan as stored: every field checked, levels as numbers, dates as ISO text. Pure."""
    if not isinstance(doc, dict):
        raise ValidationError(f"{what}: a plan is a mapping (year, window, evaluation, sites, occupations)")

    def need(key: str) -> Any:
        if key not in doc or doc[key] in (None, "", [], {}):
            raise ValidationError(f"{what}: field {key!r} is required")
        return doc[key]

    year = need("year")
    if not isinstance(year, int) or not 2000 <= year <= 2099:
        raise ValidationError(f"{what}: year {year!r} is not a year 2000–2099")
    window = need("window")
    if not isinstance(window, dict):
        raise ValidationError(f"{what}: window has open and close dates")
    opens, closes = _date(window.get("open"), f"{what}: window.open"), _date(window.get("close"), f"{what}: window.close")
    if closes < opens:
        raise ValidationError(f"{what}: the registration window closes ({closes}) before it opens ({opens})")
    ev = need("evaluation")
    kind = str(ev.get("kind", "")) if isinstance(ev, dict) else ""
    if kind not in EVALUATION_KINDS:
        raise ValidationError(f"{what}: evaluation.kind is Y (employer) or S (social training/evaluation organisation)")
    inst, prov = str(ev.get("institution_code", "")), str(ev.get("province", ""))
    if not re.fullmatch(r"[0-9]{4}", inst):
        raise ValidationError(f"{what}: evaluation.institution_code is 4 digits (positions 2–5 of certificate numbers)")
    if prov not in PROVINCES:
        raise ValidationError(f"{what}: evaluation.province {prov!r} is not a province code (GB/T 2260, e.g. 36 江西)")
    sites = []
    for n, s in enumerate(need("sites"), 1):
        code = str((s or {}).get("code", "")) if isinstance(s, dict) else ""
        if not re.fullmatch(r"[0-9]{6}", code) or not str(s.get("name", "")).strip():
            raise ValidationError(f"{what}: sites[{n}] needs a 6-digit code and a name")
        sites.append({"code": code, "name": str(s["name"]).strip(), "address": str(s.get("address", "")).strip()})
    if len({s["code"] for s in sites}) != len(sites):
        raise ValidationError(f"{what}: site codes repeat")
    occupations = []
    for n, o in enumerate(need("occupations"), 1):
        where = f"{what}: occupations[{n}]"
        if not isinstance(o, dict) or not str(o.get("code", "")).strip():
            raise ValidationError(f"{where}: needs a code (e.g. 6-31-01-03)")
        raw_levels = o.get("levels") or []
        if not isinstance(raw_levels, list) or not isinstance(o.get("fees") or {}, dict):
            raise ValidationError(f"{where}: levels is a list (e.g. [5, 4, 3]) and fees a mapping of level to yuan")
        try:
            levels = sorted({domain.level(str(x)) for x in raw_levels}, reverse=True)
        except ValueError as exc:
            raise ValidationError(f"{where}: {exc}") from None
        if not levels:
            raise ValidationError(f"{where}: levels lists the levels offered")
        fees = {}
        for key, fee in (o.get("fees") or {}).items():
            try:
                amount = float(fee)
                if not 0 <= amount < 100_000:  # also refuses NaN and infinity
                    raise ValueError
                fees[str(domain.level(str(key)))] = int(amount) if amount.is_integer() else amount
            except (TypeError, ValueError):
                raise ValidationError(f"{where}: fee {key!r}: {fee!r} is not a level and an amount in yuan") from None
        missing = [lv for lv in levels if str(lv) not in fees]
        if missing:
            raise ValidationError(f"{where}: no fee for level(s) {', '.join(map(str, missing))}")
        occupations.append({"code": str(o["code"]).strip(), "levels": levels, "fees": fees,
                            "sessions": [str(x) for x in o.get("sessions") or []]})  # fmt: skip
    raw_employer = doc.get("employer_conditions") or []
    if raw_employer and kind != "Y":
        raise ValidationError(f"{what}: employer_conditions apply only to an employer's own evaluation (evaluation.kind Y)")
    E.employer_branches(rules, raw_employer, f"{what}: employer_conditions")
    return {"year": year, "title": str(doc.get("title") or f"{year}年度职业技能等级认定工作计划"),
            "window": {"open": opens, "close": closes},
            "evaluation": {"kind": kind, "institution_code": inst, "province": prov}, "sites": sites,
            "occupations": occupations, "employer_conditions": raw_employer,
            "contact": str(doc.get("contact", "")), "notes": [str(x) for x in doc.get("notes") or []],
            "notices_for_candidates": [str(x) for x in doc.get("notices_for_candidates") or []]}  # fmt: skip


def current_eligibility(session: Session, actor: str | None = None) -> tuple[int, E.Rules]:
    """The newest eligibility rules; on first use the packaged national defaults become version 1."""
    return rulesets.current(session, EligibilityRuleSet, parse=E.parse_rules, what="eligibility rules", actor=actor,
                            default=lambda: E.load_rules_text(E.default_rules_text(), "default eligibility rules"))


def set_eligibility_rules(bank: Bank, path: Path) -> dict[str, Any]:
    doc, _ = E.load_rules_text(rulesets.read_rule_file(path, "eligibility rule file"), str(path))
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "eligibility.rules")
        version, digest = rulesets.add_version(session, EligibilityRuleSet, doc, actor.username,
                                               current_eligibility(session, actor.username)[0])  # fmt: skip
        audit(session, actor, "eligibility.rules.set", "eligibility_rule_set", str(version), digest=digest)
        return {"version": version, "digest": digest}


def show_eligibility_rules(bank: Bank) -> dict[str, Any]:
    with bank.transaction() as session:
        bank.actor(session, "plan.read")
        version, _ = current_eligibility(session)
        row = session.get(EligibilityRuleSet, version)
        body = row.body if row else yaml.safe_load(E.default_rules_text())
        return {"version": version, "stored": row is not None, "rules": body}


def _on_file(session: Session, plan: dict[str, Any], what: str) -> None:
    """Every occupation and level offered has a theory outline in the bank; names come from it."""
    names = dict(session.execute(select(Occupation.code, Occupation.name)).all())
    outlines = set(session.execute(select(Occupation.code, Outline.level).join(Outline, Outline.occupation_id == Occupation.id)
                                   .where(Outline.kind == "theory")).all())  # fmt: skip
    for o in plan["occupations"]:
        if o["code"] not in names:
            raise ValidationError(f"{what}: occupation {o['code']} is not on file (import its outline first)")
        missing = [lv for lv in o["levels"] if (o["code"], lv) not in outlines]
        if missing:
            raise ValidationError(f"{what}: occupation {o['code']} has no theory outline for level(s) {', '.join(map(str, missing))}")
        o["name"] = names[o["code"]]


def create_plan(bank: Bank, path: Path, *, replace: bool = False) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(rulesets.read_rule_file(path, "plan"))
    except yaml.YAMLError:
        raise ValidationError(f"{path}: not valid YAML/JSON") from None
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "plan.manage")
        _, rules = current_eligibility(session, actor.username)
        plan = parse_plan(doc, str(path), rules)
        _on_file(session, plan, str(path))
        digest = rulesets.digest_of(plan)
        row = session.get(ExamPlan, plan["year"])
        if row is not None:
            if row.announced_at is not None:
                raise ConflictError(f"the {plan['year']} plan was announced on {row.announced_at.astimezone(BEIJING):%Y-%m-%d}; "
                                    "an announced plan is not replaced")  # fmt: skip
            if not replace:
                raise ConflictError(f"a plan for {plan['year']} exists; pass --replace to replace it before it is announced")
            row.body, row.digest = plan, digest
        else:
            session.add(ExamPlan(year=plan["year"], body=plan, digest=digest, created_by=actor.username))
        audit(session, actor, "plan.create", "exam_plan", str(plan["year"]), digest=digest, replaced=row is not None)
        return plan_summary(plan, None)


def get_plan(session: Session, year: int) -> ExamPlan:
    row = session.get(ExamPlan, year)
    if row is None:
        raise NotFoundError(f"no plan for {year} (create it with `examvault plan create FILE`)")
    return row


def plan_summary(plan: dict[str, Any], announced: Any) -> dict[str, Any]:
    return {**plan, "announced_at": announced.astimezone(BEIJING).isoformat() if announced else None}  # Beijing time, shown


def show_plan(bank: Bank, year: int) -> dict[str, Any]:
    with bank.transaction() as session:
        bank.actor(session, "plan.read")
        row = get_plan(session, year)
        _, rules = current_eligibility(session)
        out = plan_summary(row.body, row.announced_at)
        out["eligibility"] = _eligibility_texts(row.body, rules)
        return out


def _eligibility_texts(plan: dict[str, Any], rules: E.Rules) -> dict[str, dict[str, list[str]]]:
    employer = E.employer_branches(rules, plan.get("employer_conditions"), "plan")
    return {o["code"]: {str(lv): rules.texts(o["code"], lv) + [f"（用人单位条件）{b.text}" for b in employer.get(lv, ())]
                        for lv in o["levels"]} for o in plan["occupations"]}  # fmt: skip


def announce(bank: Bank, year: int, out_dir: Path) -> dict[str, Any]:
    """Render the 公告 as PDF and DOCX, and mark the plan announced (it is then fixed)."""
    from examvault.custody.service import institution_title
    from examvault.export.report import to_docx, to_pdf
    from examvault.registration.documents import announcement

    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "plan.manage")
        row = get_plan(session, year)
        _, rules = current_eligibility(session, actor.username)
        doc = announcement({**row.body, "eligibility": _eligibility_texts(row.body, rules)}, institution_title(session))
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [out_dir / f"{year}年职业技能等级认定公告.pdf", out_dir / f"{year}年职业技能等级认定公告.docx"]
        paths[0].write_bytes(to_pdf(doc))
        paths[1].write_bytes(to_docx(doc))
        if row.announced_at is None:
            row.announced_at = utcnow()
        audit(session, actor, "plan.announce", "exam_plan", str(year), digest=row.digest)
        return {"year": year, "files": [str(p) for p in paths], "announced_at": row.announced_at.astimezone(BEIJING).isoformat()}
