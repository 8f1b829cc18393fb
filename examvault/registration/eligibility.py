"""Eligibility (申报条件) as data: rules per occupation × level, decided with the evidence. Pure.

A level's conditions are alternative branches ("a level-5 certificate and ≥ 4 years, or ≥ 6 years,
or a technical-school graduate"); the first branch that holds decides, and the decision names it
and the numbers it read. A refusal names, for every branch, the first condition that failed.
The rule file format is described in `data/eligibility.yaml` and docs/registration.md.
"""

from __future__ import annotations

import calendar
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

import yaml

from examvault.errors import ValidationError
from examvault.itembank.domain import LEVEL_NAMES

# 文化程度, with the spellings people use for them.
EDUCATION = ("小学", "初中", "高中", "职业高中", "中等职业学校", "技工学校", "高级技工学校", "技师学院", "高等职业学校",
             "大专", "本科", "硕士研究生", "博士研究生")  # fmt: skip
_EDUCATION_ALIASES = {"中专": "中等职业学校", "中职": "中等职业学校", "职高": "职业高中", "技校": "技工学校", "高级技校": "高级技工学校",
                      "高职": "高等职业学校", "专科": "大专", "大学专科": "大专", "大学本科": "本科", "研究生": "硕士研究生",
                      "硕士": "硕士研究生", "博士": "博士研究生"}  # fmt: skip
CONDITION_KINDS = ("years", "certificate", "years_after_certificate", "education", "declared")


def education(text: str) -> str:
    """The canonical 文化程度, or ValueError."""
    key = "".join(unicodedata.normalize("NFKC", text).split())
    value = _EDUCATION_ALIASES.get(key, key)
    if value not in EDUCATION:
        raise ValueError(f"{text!r} is not a 文化程度 ({'、'.join(EDUCATION)})")
    return value


@dataclass(frozen=True)
class Branch:
    id: str
    text: str
    conditions: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Rules:
    defaults: Mapping[int, tuple[Branch, ...]]
    occupations: Mapping[str, Mapping[int, tuple[Branch, ...]]]
    related: Mapping[str, frozenset[str]]
    employer_min_years: Mapping[int, float]
    note: str = ""

    def branches(self, occupation: str, level: int) -> tuple[Branch, ...]:
        return self.occupations.get(occupation, {}).get(level) or self.defaults.get(level, ())

    def texts(self, occupation: str, level: int) -> list[str]:
        return [b.text for b in self.branches(occupation, level)]


@dataclass(frozen=True)
class Facts:
    """What a registration states; no personal data (the decision keeps these as its evidence)."""

    occupation: str
    level: int
    years: float
    deadline: date  # the registration window's close: years after a certificate are counted to it
    certificate_level: int | None = None
    certificate_occupation: str = ""
    certificate_issued: date | None = None
    education: str = ""
    declared: str = ""

    def evidence(self) -> dict[str, Any]:
        return {"years": self.years, "certificate_level": self.certificate_level,
                "certificate_occupation": self.certificate_occupation or None,
                "certificate_issued": self.certificate_issued.isoformat() if self.certificate_issued else None,
                "education": self.education or None, "declared": self.declared or None}  # fmt: skip


@dataclass(frozen=True)
class Decision:
    eligible: bool
    rule: str  # "6-31-01-03/3: a", "plan 2027: E1", or "6-31-01-03/3: none"
    text: str  # the branch's wording, or the reason nothing held
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return self.text


def _parse_branches(raw: Any, where: str, *, employer: bool = False) -> tuple[Branch, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValidationError(f"{where}: expected a list of branches (each with id, text and all)")
    out = []
    for n, b in enumerate(raw, 1):
        at = f"{where}, branch {n}"
        if not isinstance(b, dict) or not str(b.get("id", "")).strip() or not str(b.get("text", "")).strip():
            raise ValidationError(f"{at}: a branch needs an id and a text")
        if len(str(b["id"])) > 20:
            raise ValidationError(f"{at}: a branch id has at most 20 characters (decisions cite it)")
        conds = b.get("all")
        if not isinstance(conds, list) or not conds:
            raise ValidationError(f"{at} ({b['id']}): `all` lists at least one condition")
        parsed = []
        for c in conds:
            if not isinstance(c, dict) or len(c) != 1 or next(iter(c)) not in CONDITION_KINDS:
                raise ValidationError(f"{at} ({b['id']}): {c!r} is not a condition; one of {', '.join(CONDITION_KINDS)}")
            kind, value = next(iter(c.items()))
            if kind in ("years", "years_after_certificate") and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
                raise ValidationError(f"{at} ({b['id']}): {kind} takes a number of years ≥ 0")
            if kind == "certificate" and value not in LEVEL_NAMES:
                raise ValidationError(f"{at} ({b['id']}): certificate takes a level 1–5")
            if kind in ("education", "declared"):
                if not isinstance(value, list) or not value:
                    raise ValidationError(f"{at} ({b['id']}): {kind} takes a list")
                if kind == "education":
                    try:
                        value = [education(str(v)) for v in value]
                    except ValueError as exc:
                        raise ValidationError(f"{at} ({b['id']}): {exc}") from None
                value = tuple(dict.fromkeys(str(v) for v in value))  # 中专 and 中等职业学校 are one
            parsed.append((kind, value))
        out.append(Branch(str(b["id"]), str(b["text"]), tuple(parsed)))
    if len({b.id for b in out}) != len(out):
        raise ValidationError(f"{where}: branch ids repeat")
    return tuple(out)


def _levels(raw: Any, where: str) -> dict[int, tuple[Branch, ...]]:
    if not isinstance(raw, dict):
        raise ValidationError(f"{where}: expected levels 5..1 as keys")
    out = {}
    for key, branches in raw.items():
        try:
            level = int(key)
        except (TypeError, ValueError):
            level = 0
        if level not in LEVEL_NAMES:
            raise ValidationError(f"{where}: {key!r} is not a level 1–5")
        out[level] = _parse_branches(branches, f"{where}, level {level}")
    return out


def parse_rules(doc: Any, what: str) -> Rules:
    if not isinstance(doc, dict) or "defaults" not in doc:
        raise ValidationError(f"{what}: an eligibility rule file has `defaults` (levels → branches)")
    defaults = _levels(doc["defaults"], f"{what}: defaults")
    missing = [lv for lv in LEVEL_NAMES if lv not in defaults]
    if missing:
        raise ValidationError(f"{what}: defaults lack level(s) {', '.join(map(str, missing))}")
    occupations = {str(code): _levels(levels, f"{what}: occupations.{code}") for code, levels in _mapping(doc, "occupations", what).items()}
    related = {}
    for code, codes in _mapping(doc, "related", what).items():
        if not isinstance(codes, list):
            raise ValidationError(f"{what}: related.{code} lists occupation codes ([6-31-01-02, …])")
        related[str(code)] = frozenset(str(x) for x in codes)
    floor = {}
    for key, years in _mapping(doc.get("employer") or {}, "min_years", f"{what}: employer").items():
        try:
            level, value = int(key), float(years)
        except (TypeError, ValueError):
            level, value = 0, -1.0
        if level not in LEVEL_NAMES or value < 0:
            raise ValidationError(f"{what}: employer.min_years.{key}: a level 1–5 and a number of years ≥ 0")
        floor[level] = value
    return Rules(defaults, occupations, related, floor, str(doc.get("version_note", "")))


def _mapping(doc: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any]:
    value = doc.get(key) or {}
    if not isinstance(value, dict):
        raise ValidationError(f"{what}: `{key}` is a mapping")
    return value


def load_rules_text(text: str, what: str) -> tuple[dict[str, Any], Rules]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError(f"{what}: not valid YAML/JSON" + (f" at line {mark.line + 1}" if mark else "")) from None
    return doc, parse_rules(doc, what)


def default_rules_text() -> str:
    return resources.files("examvault.registration").joinpath("data/eligibility.yaml").read_text("utf-8")


def employer_branches(rules: Rules, raw: Any, where: str) -> dict[int, tuple[Branch, ...]]:
    """An employer's own conditions (from the annual plan), checked against what the rules allow:
    each branch applies to named levels and must still ask for the minimum years at each."""
    if not raw:
        return {}
    if not isinstance(raw, list):
        raise ValidationError(f"{where}: expected a list of conditions (id, text, levels, all)")
    out: dict[int, list[Branch]] = {}
    for n, item in enumerate(raw, 1):
        levels = item.get("levels") if isinstance(item, dict) else None
        if not isinstance(levels, list) or not levels or any(lv not in LEVEL_NAMES for lv in levels):
            raise ValidationError(f"{where}, condition {n}: `levels` lists the levels (1–5) it applies to")
        (branch,) = _parse_branches([{k: v for k, v in item.items() if k != "levels"}], f"{where}, condition {n}")
        years = max((v for k, v in branch.conditions if k in ("years", "years_after_certificate")), default=0)
        for lv in levels:
            floor = rules.employer_min_years.get(lv, 0)
            if years < floor:
                raise ValidationError(f"{where}, condition {branch.id}: level {lv} needs at least {floor:g} years of work even in an "
                                      f"employer's own evaluation (the rules' employer.min_years); it asks for {years:g}")  # fmt: skip
            out.setdefault(lv, []).append(branch)
    return {lv: tuple(bs) for lv, bs in out.items()}


def _years_between(start: date, end: date) -> float:
    """Whole years by the calendar (an anniversary is a full year) plus the part of the current year,
    rounded down to 0.01: a day short of the fifth anniversary is 4.99 years, never 5."""
    full = end.year - start.year - ((end.month, end.day) < (start.month, start.day))
    if full < 0:
        return 0.0
    last = _anniversary(start, start.year + full)
    span = (_anniversary(start, start.year + full + 1) - last).days
    return math.floor(round((full + (end - last).days / span) * 100, 6)) / 100  # round first: 2.29 * 100 is 228.999…


def _anniversary(start: date, year: int) -> date:
    return date(year, 2, 28) if (start.month, start.day) == (2, 29) and not calendar.isleap(year) else start.replace(year=year)


def _check(kind: str, value: Any, facts: Facts, related: frozenset[str]) -> str | None:
    """None when the condition holds, else what failed, with the numbers."""
    if kind == "years":
        return None if facts.years >= value else f"本职业工作年限 {facts.years:g} 年 < {value:g} 年"
    if kind == "certificate":
        if facts.certificate_level is None:
            return f"未持有{LEVEL_NAMES[value]}或以上等级证书"
        if facts.certificate_level > value:
            return f"原证书等级 {LEVEL_NAMES[facts.certificate_level]} 低于 {LEVEL_NAMES[value]}"
        if facts.certificate_occupation and facts.certificate_occupation not in related:
            return f"原证书职业 {facts.certificate_occupation} 不是本职业或相关职业"
        return None
    if kind == "years_after_certificate":
        if facts.certificate_issued is None:
            return "未填写原证书发证日期，无法计算取证后工作年限"
        after = min(_years_between(facts.certificate_issued, facts.deadline), facts.years)
        return None if after >= value else f"取证后工作年限 {after:g} 年 < {value:g} 年"
    if kind == "education":
        return None if facts.education in value else f"文化程度 {facts.education or '未填写'} 不在 {'、'.join(value)} 之列"
    if kind == "declared":
        return None if any(v in facts.declared for v in value) else f"申报条件未声明 {'、'.join(value)}"
    raise AssertionError(kind)


def decide(rules: Rules, facts: Facts, employer: Mapping[int, Sequence[Branch]] | None = None, *, plan_year: int | None = None) -> Decision:
    """The first branch that holds (national rules first, then the employer's own), or a refusal
    listing every branch's first failed condition."""
    related = rules.related.get(facts.occupation, frozenset()) | {facts.occupation}
    evidence = facts.evidence()
    failures: list[tuple[str, str]] = []
    candidates = [(f"{facts.occupation}/{facts.level}: {b.id}", b) for b in rules.branches(facts.occupation, facts.level)]
    candidates += [(f"plan {plan_year}: {b.id}", b) for b in (employer or {}).get(facts.level, ())]
    if not candidates:
        return Decision(False, f"{facts.occupation}/{facts.level}: none", "该职业等级没有申报条件，不受理", evidence)
    for rule, branch in candidates:
        failed = next((f for k, v in branch.conditions if (f := _check(k, v, facts, related))), None)
        if failed is None:
            return Decision(True, rule, branch.text, evidence)
        failures.append((rule.split(": ")[1], failed))
    grouped: dict[str, list[str]] = {}
    for branch_id, failed in failures:  # branches failing for one reason are named together: "a/b/c）…"
        grouped.setdefault(failed, []).append(branch_id)
    text = "；".join(f"{'/'.join(ids)}）{failed}" for failed, ids in grouped.items())
    return Decision(False, f"{facts.occupation}/{facts.level}: none", "不符合申报条件：" + text, evidence)
