"""Eligibility (申报条件) as data, tested without a bank: every national branch at every level,
the years counted after a certificate, related occupations, refusals that name each branch's
failure, malformed rule files, an employer's own conditions, and a property against an oracle
written from the rule file's documented meaning."""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import re
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.errors import ValidationError
from examvault.registration import eligibility as E
from tests.conftest import OCC

RAW = yaml.safe_load(E.default_rules_text())
_, RULES = E.load_rules_text(E.default_rules_text(), "default eligibility rules")
DEADLINE = date(2027, 6, 30)  # the registration window's close
RELATED = "6-31-01-02"  # 维修电工, related to 电工 in the packaged rules
UNRELATED = "4-01-01-01"


def years_ago(n: int) -> date:
    return DEADLINE.replace(year=DEADLINE.year - n)


def facts(level: int, **kw: Any) -> E.Facts:
    base: dict[str, Any] = {"occupation": OCC, "level": level, "years": 0.0, "deadline": DEADLINE}
    return E.Facts(**(base | kw))


def text_of(level: int, branch: str) -> str:
    return next(b["text"] for b in RAW["defaults"][level] if b["id"] == branch)


def rules_doc(**levels: Any) -> dict[str, Any]:
    """A copy of the packaged rules with some default levels replaced (keys like l3=[...])."""
    doc = copy.deepcopy(RAW)
    for key, branches in levels.items():
        doc["defaults"][int(key[1:])] = branches
    return doc


# ------------------------------------------------------------------ every national branch, at each level

# (level, branch, facts that qualify by exactly that branch, facts that miss it by one year or one level)
BRANCHES = [
    (5, "a", dict(years=1), dict(years=0)),
    (5, "b", dict(declared="本人学徒期满，有师傅证明"), dict(declared="学徒未满")),
    (4, "a", dict(years=5, certificate_level=5, certificate_issued=years_ago(4)),
     dict(years=5, certificate_level=5, certificate_issued=years_ago(3))),
    (4, "a", dict(years=4, certificate_level=5, certificate_issued=years_ago(9)),
     dict(years=3, certificate_level=5, certificate_issued=years_ago(9))),  # capped by the declared years
    (4, "b", dict(years=6), dict(years=5)),
    (4, "c", dict(education="技工学校"), dict(education="高中")),
    (4, "c", dict(education="中等职业学校"), dict(education="初中")),  # the rule file writes 中专
    (3, "a", dict(years=5, certificate_level=4, certificate_issued=years_ago(5)),
     dict(years=5, certificate_level=4, certificate_issued=years_ago(4))),
    (3, "a", dict(years=9, certificate_level=4, certificate_issued=years_ago(5)),
     dict(years=9, certificate_level=5, certificate_issued=years_ago(5))),  # one level short
    (3, "b", dict(certificate_level=4, education="技师学院"), dict(certificate_level=5, education="技师学院")),
    (3, "c", dict(years=2, certificate_level=4, certificate_issued=years_ago(2), education="本科"),
     dict(years=2, certificate_level=4, certificate_issued=years_ago(1), education="本科")),
    (2, "a", dict(years=4, certificate_level=3, certificate_issued=years_ago(4)),
     dict(years=4, certificate_level=4, certificate_issued=years_ago(4))),
    (2, "b", dict(years=3, certificate_level=3, certificate_issued=years_ago(1), education="高级技工学校"),
     dict(years=2, certificate_level=3, certificate_issued=years_ago(1), education="高级技工学校")),
    (2, "c", dict(years=2, declared="预备技师", education="技师学院"), dict(years=1, declared="预备技师", education="技师学院")),
    (1, "a", dict(years=4, certificate_level=2, certificate_issued=years_ago(4)),
     dict(years=4, certificate_level=3, certificate_issued=years_ago(4))),
    (1, "a", dict(years=4, certificate_level=1, certificate_issued=years_ago(4)),
     dict(years=4, certificate_level=2, certificate_issued=years_ago(3))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("level", "branch", "ok", "miss"),
    BRANCHES,
    ids=[f"L{lv}{b}-{n}" for n, (lv, b, *_) in enumerate(BRANCHES)],
)
def test_each_national_branch_accepts_who_qualifies_and_refuses_one_short(
    level: int, branch: str, ok: dict, miss: dict
) -> None:
    yes = E.decide(RULES, facts(level, **ok))
    assert yes.eligible
    assert (yes.rule, yes.text) == (f"{OCC}/{level}: {branch}", text_of(level, branch))
    no = E.decide(RULES, facts(level, **miss))
    assert not no.eligible
    assert no.rule == f"{OCC}/{level}: none" and no.text.startswith("不符合申报条件：")


def test_every_level_has_the_national_branches() -> None:
    assert {lv: [b.id for b in RULES.branches(OCC, lv)] for lv in (5, 4, 3, 2, 1)} == {
        5: ["a", "b"], 4: ["a", "b", "c"], 3: ["a", "b", "c"], 2: ["a", "b", "c"], 1: ["a"]}  # fmt: skip
    assert RULES.texts("9-99-99-99", 3) == [
        text_of(3, x) for x in "abc"
    ]  # any occupation falls back on the defaults


def test_the_first_branch_that_holds_decides() -> None:
    both = facts(4, years=10, certificate_level=5, certificate_issued=years_ago(5), education="技工学校")
    assert E.decide(RULES, both).rule == f"{OCC}/4: a"
    assert E.decide(RULES, facts(4, years=10, education="技工学校")).rule == f"{OCC}/4: b"


# ------------------------------------------------------------------ years after a certificate

AFTER4 = E.parse_rules(
    rules_doc(
        l4=[{"id": "t", "text": "取证后4年", "all": [{"certificate": 5}, {"years_after_certificate": 4}]}]
    ),
    "t",
)


def test_years_after_a_certificate_count_from_its_issue_date_to_the_deadline() -> None:
    assert E.decide(AFTER4, facts(4, years=30, certificate_level=5, certificate_issued=years_ago(4))).eligible
    # the same certificate counted to a deadline a year and a day earlier: 2.99 years, rounded down
    early = E.Facts(OCC, 4, 30.0, DEADLINE - timedelta(days=366), 5, "", years_ago(4))
    refused = E.decide(AFTER4, early)
    assert not refused.eligible and "取证后工作年限 2.99 年 < 4 年" in refused.text
    # a certificate issued after the deadline counts nothing
    future = E.decide(
        AFTER4, facts(4, years=30, certificate_level=5, certificate_issued=DEADLINE + timedelta(days=10))
    )
    assert not future.eligible and "取证后工作年限 0 年 < 4 年" in future.text
    missing = E.decide(AFTER4, facts(4, years=30, certificate_level=5))
    assert not missing.eligible and "未填写原证书发证日期，无法计算取证后工作年限" in missing.text


def test_years_after_a_certificate_are_capped_by_the_declared_years() -> None:
    held_ten = facts(4, certificate_level=5, certificate_issued=years_ago(10))
    for declared, ok in ((3.0, False), (3.99, False), (4.0, True), (25.0, True)):
        d = E.decide(AFTER4, dataclasses.replace(held_ten, years=declared))
        assert d.eligible is ok, declared
        if not ok:
            assert f"取证后工作年限 {declared:g} 年 < 4 年" in d.text


def test_a_day_short_of_the_anniversary_is_not_yet_the_years() -> None:
    """Calendar anniversaries, not days / 365.25 rounded: 2024-07-01 → 2027-06-30 is 1094 days, not 3 years."""
    rules = E.parse_rules(
        rules_doc(
            l4=[{"id": "t", "text": "取证后3年", "all": [{"certificate": 5}, {"years_after_certificate": 3}]}]
        ),
        "t",
    )
    on_the_day = facts(4, years=30, certificate_level=5, certificate_issued=years_ago(3))
    assert E.decide(rules, on_the_day).eligible
    two_days_short = facts(
        4, years=30, certificate_level=5, certificate_issued=years_ago(3) + timedelta(days=2)
    )
    assert not E.decide(rules, two_days_short).eligible
    a_day_short = facts(4, years=30, certificate_level=5, certificate_issued=years_ago(3) + timedelta(days=1))
    assert not E.decide(rules, a_day_short).eligible
    d = E.decide(rules, dataclasses.replace(a_day_short, deadline=DEADLINE + timedelta(days=1)))
    assert d.eligible  # the anniversary itself is the full years
    leap = facts(
        4, years=30, certificate_level=5, certificate_issued=date(2024, 2, 29), deadline=date(2027, 2, 28)
    )
    assert E.decide(rules, leap).eligible  # a 29 February certificate's anniversary is the 28th
    assert not E.decide(rules, dataclasses.replace(leap, deadline=date(2027, 2, 27))).eligible


# ------------------------------------------------------------------ related occupations


@pytest.mark.parametrize("held", [OCC, RELATED, "6-31-01-01", "6-29-08-03", ""])
def test_a_certificate_in_this_or_a_related_occupation_counts(held: str) -> None:
    d = E.decide(
        RULES,
        facts(3, years=6, certificate_level=4, certificate_occupation=held, certificate_issued=years_ago(6)),
    )
    assert d.eligible and d.rule == f"{OCC}/3: a"


def test_a_certificate_in_an_unrelated_occupation_does_not_count() -> None:
    d = E.decide(
        RULES,
        facts(
            3, years=6, certificate_level=4, certificate_occupation=UNRELATED, certificate_issued=years_ago(6)
        ),
    )
    assert not d.eligible  # all three level-3 branches ask for the certificate, and fail on it together
    assert d.text == f"不符合申报条件：a/b/c）原证书职业 {UNRELATED} 不是本职业或相关职业"


# ------------------------------------------------------------------ refusals


def test_a_refusal_names_each_branch_and_its_first_failed_condition() -> None:
    """Each branch is named with the first condition it failed; branches failing alike are named together."""
    d = E.decide(
        RULES, facts(3, years=10, certificate_level=4, certificate_issued=years_ago(3), education="高中")
    )
    assert not d.eligible and d.rule == f"{OCC}/3: none"
    assert d.text == ("不符合申报条件："
                      "a）取证后工作年限 3 年 < 5 年；"
                      "b）文化程度 高中 不在 高级技工学校、技师学院、高等职业学校、大专 之列；"
                      "c）文化程度 高中 不在 大专、本科、硕士研究生、博士研究生 之列")  # fmt: skip
    d = E.decide(RULES, facts(3, years=10, certificate_level=5, certificate_issued=years_ago(8)))
    assert d.text == "不符合申报条件：a/b/c）原证书等级 五级/初级工 低于 四级/中级工"
    d = E.decide(
        RULES, facts(3, years=10, certificate_level=4, certificate_issued=years_ago(1), education="本科")
    )
    assert d.text == ("不符合申报条件：a）取证后工作年限 1 年 < 5 年；b）文化程度 本科 不在 高级技工学校、技师学院、高等职业学校、大专 之列；"
                      "c）取证后工作年限 1 年 < 2 年")  # fmt: skip
    d = E.decide(RULES, facts(5, years=0.5))
    assert d.text == "不符合申报条件：a）本职业工作年限 0.5 年 < 1 年；b）申报条件未声明 学徒期满"
    d = E.decide(RULES, facts(1, years=20))
    assert d.text == "不符合申报条件：a）未持有二级/技师或以上等级证书"


def test_a_level_without_branches_is_refused_as_such() -> None:
    rules = E.Rules({}, {}, {}, {})
    d = E.decide(rules, facts(3, years=30))
    assert (d.eligible, d.rule, d.text) == (False, f"{OCC}/3: none", "该职业等级没有申报条件，不受理")


def test_an_occupation_may_replace_a_levels_branches() -> None:
    doc = rules_doc()
    doc["occupations"] = {OCC: {3: [{"id": "s", "text": "电工三级特别条件", "all": [{"years": 12}]}]}}
    rules = E.parse_rules(doc, "t")
    assert E.decide(rules, facts(3, years=12)).rule == f"{OCC}/3: s"
    assert E.decide(rules, facts(3, years=12, occupation=RELATED)).rule == f"{RELATED}/3: none"
    assert E.decide(rules, facts(4, years=6)).rule == f"{OCC}/4: b"  # other levels keep the defaults


# ------------------------------------------------------------------ malformed rule files


def _with_branch(level: int, **branch: Any) -> dict[str, Any]:
    return rules_doc(**{f"l{level}": [{"id": "a", "text": "条件", "all": [{"years": 1}]} | branch]})


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_with_branch(3, all=[{"years": 1}, {"salary": 5000}]), "r.yaml: defaults, level 3, branch 1 (a): {'salary': 5000} is not a condition"),
        (_with_branch(4, all=[{"years": 1, "certificate": 5}]), "r.yaml: defaults, level 4, branch 1 (a): "),
        (_with_branch(2, all=[{"certificate": 6}]), "r.yaml: defaults, level 2, branch 1 (a): certificate takes a level 1–5"),
        (_with_branch(2, all=[{"years": -1}]), "r.yaml: defaults, level 2, branch 1 (a): years takes a number of years ≥ 0"),
        (_with_branch(2, all=[{"years_after_certificate": "4"}]), "level 2, branch 1 (a): years_after_certificate takes a number"),
        (_with_branch(4, all=[{"education": ["幼儿园"]}]), "r.yaml: defaults, level 4, branch 1 (a): '幼儿园' is not a 文化程度"),
        (_with_branch(4, all=[{"declared": "学徒期满"}]), "r.yaml: defaults, level 4, branch 1 (a): declared takes a list"),
        (_with_branch(5, all=[]), "r.yaml: defaults, level 5, branch 1 (a): `all` lists at least one condition"),
        (_with_branch(5, text=""), "r.yaml: defaults, level 5, branch 1: a branch needs an id and a text"),
        (rules_doc(l7=[{"id": "a", "text": "t", "all": [{"years": 1}]}]), "r.yaml: defaults: 7 is not a level 1–5"),
        ({"defaults": {k: v for k, v in RAW["defaults"].items() if k != 2}}, "r.yaml: defaults lack level(s) 2"),
        ({"defaults": {k: v for k, v in RAW["defaults"].items() if k > 3}}, "r.yaml: defaults lack level(s) 3, 2, 1"),
        (rules_doc(l4=[{"id": "a", "text": "x", "all": [{"years": 1}]}, {"id": "a", "text": "y", "all": [{"years": 2}]}]),
         "r.yaml: defaults, level 4: branch ids repeat"),
        (rules_doc(l4=[]), "r.yaml: defaults, level 4: expected a list of branches"),
        ({"occupations": {}}, "r.yaml: an eligibility rule file has `defaults`"),
        ([1, 2], "r.yaml: an eligibility rule file has `defaults`"),
        (dict(rules_doc(), occupations={OCC: {0: [{"id": "a", "text": "t", "all": [{"years": 1}]}]}}),
         f"r.yaml: occupations.{OCC}: 0 is not a level 1–5"),
        (dict(rules_doc(), occupations={OCC: {3: [{"id": "a", "text": "t", "all": [{"years": 1}]}, {"id": "a", "text": "u", "all": [{"years": 2}]}]}}),
         f"r.yaml: occupations.{OCC}, level 3: branch ids repeat"),
    ],
    ids=["unknown-kind", "two-kinds-in-one", "certificate-6", "negative-years", "years-as-text", "unknown-education",
         "declared-not-list", "empty-all", "no-text", "level-7", "missing-level-2", "missing-three-levels", "repeated-ids",
         "no-branches", "no-defaults", "not-a-mapping", "occupation-level-0", "occupation-repeated-ids"],
)  # fmt: skip
def test_parse_rules_rejects_malformed_files_naming_the_place(doc: Any, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        E.parse_rules(doc, "r.yaml")
    assert message in str(exc.value)


def test_load_rules_text_names_the_line_of_a_yaml_error() -> None:
    with pytest.raises(ValidationError, match=r"r.yaml: not valid YAML/JSON at line 3"):
        E.load_rules_text("defaults: {}\nrelated: {}\nversion_note: a: b\noccupations: {}\n", "r.yaml")


def test_a_non_numeric_employer_floor_is_a_located_validation_error() -> None:
    with pytest.raises(ValidationError, match="employer"):
        E.parse_rules(dict(rules_doc(), employer={"min_years": {3: "三年"}}), "r.yaml")


def test_a_related_entry_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(ValidationError, match="related"):
        E.parse_rules(dict(rules_doc(), related={OCC: RELATED}), "r.yaml")


def test_occupations_that_are_not_a_mapping_are_refused() -> None:
    with pytest.raises(ValidationError, match="occupations"):
        E.parse_rules(dict(rules_doc(), occupations=[OCC]), "r.yaml")


# ------------------------------------------------------------------ an employer's own conditions

YEAR = 2027


def employer(*conds: dict[str, Any]) -> dict[int, tuple[E.Branch, ...]]:
    return E.employer_branches(RULES, list(conds), "plan.yaml: employer_conditions")


def test_the_packaged_employer_floors() -> None:
    assert RULES.employer_min_years == {5: 0.0, 4: 2.0, 3: 3.0, 2: 4.0, 1: 5.0}


@pytest.mark.parametrize(("level", "floor"), [(4, 2), (3, 3), (2, 4), (1, 5)])
def test_an_employer_condition_below_the_floor_is_refused(level: int, floor: int) -> None:
    with pytest.raises(ValidationError) as exc:
        employer({"id": "E1", "text": "本单位工作", "levels": [level], "all": [{"years": floor - 1}]})
    assert str(exc.value) == (f"plan.yaml: employer_conditions, condition E1: level {level} needs at least {floor} years of work "
                              f"even in an employer's own evaluation (the rules' employer.min_years); it asks for {floor - 1}")  # fmt: skip
    at_floor = employer({"id": "E1", "text": "本单位工作", "levels": [level], "all": [{"years": floor}]})
    assert [b.id for b in at_floor[level]] == ["E1"]


def test_an_employer_condition_is_checked_at_every_level_it_names() -> None:
    with pytest.raises(ValidationError, match="condition E2: level 3 needs at least 3 years"):
        employer({"id": "E2", "text": "本单位工作2年", "levels": [5, 4, 3], "all": [{"years": 2}]})
    with pytest.raises(
        ValidationError, match="condition E3: level 4 needs at least 2 years .* it asks for 0"
    ):
        employer({"id": "E3", "text": "持证即可", "levels": [4], "all": [{"certificate": 5}]})
    ok = employer({"id": "E4", "text": "取证后3年", "levels": [4, 3], "all": [{"certificate": 4}, {"years_after_certificate": 3}]},
                  {"id": "E5", "text": "学徒", "levels": [5], "all": [{"declared": ["学徒"]}]})  # fmt: skip
    assert {lv: [b.id for b in bs] for lv, bs in ok.items()} == {4: ["E4"], 3: ["E4"], 5: ["E5"]}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"id": "E1", "text": "t", "all": [{"years": 5}]}, "condition 1: `levels` lists the levels (1–5)"),
        (
            {"id": "E1", "text": "t", "levels": [6], "all": [{"years": 5}]},
            "condition 1: `levels` lists the levels (1–5)",
        ),
        (
            {"id": "E1", "text": "t", "levels": [3], "all": [{"wage": 5}]},
            "condition 1, branch 1 (E1): {'wage': 5} is not a condition",
        ),
    ],
)
def test_malformed_employer_conditions_are_located(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(f"plan.yaml: employer_conditions, {message}")):
        employer(raw)


def test_employer_conditions_are_a_list_or_nothing() -> None:
    with pytest.raises(ValidationError, match="plan.yaml: expected a list of conditions"):
        E.employer_branches(RULES, {"id": "E1"}, "plan.yaml")
    assert E.employer_branches(RULES, None, "plan.yaml") == E.employer_branches(RULES, [], "plan.yaml") == {}


def test_an_accepted_employer_branch_decides_with_the_plan_rule() -> None:
    own = employer(
        {"id": "E1", "text": "在本企业从事本职业工作3年（含）以上", "levels": [3], "all": [{"years": 3}]}
    )
    d = E.decide(RULES, facts(3, years=3), own, plan_year=YEAR)
    assert (d.eligible, d.rule, d.text) == (True, f"plan {YEAR}: E1", "在本企业从事本职业工作3年（含）以上")
    # the national rules come first
    national = facts(3, years=6, certificate_level=4, certificate_issued=years_ago(6))
    assert E.decide(RULES, national, own, plan_year=YEAR).rule == f"{OCC}/3: a"
    # and a refusal lists the employer's branch too
    d = E.decide(RULES, facts(3, years=2.5), own, plan_year=YEAR)
    assert not d.eligible
    assert (
        d.text == "不符合申报条件：a/b/c）未持有四级/中级工或以上等级证书；E1）本职业工作年限 2.5 年 < 3 年"
    )
    # only at the levels the condition names
    assert E.decide(RULES, facts(4, years=3), own, plan_year=YEAR).rule == f"{OCC}/4: none"


# ------------------------------------------------------------------ 文化程度


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("中专", "中等职业学校"), ("中职", "中等职业学校"), ("职高", "职业高中"), ("技校", "技工学校"), ("高级技校", "高级技工学校"),
     ("高职", "高等职业学校"), ("专科", "大专"), ("大学专科", "大专"), ("大学本科", "本科"), ("研究生", "硕士研究生"),
     ("硕士", "硕士研究生"), ("博士", "博士研究生"), (" 中 专 ", "中等职业学校"), ("本科", "本科"), ("技师学院", "技师学院"),
     ("高\u3000中", "高中")],
)  # fmt: skip
def test_education_normalises_what_people_write(raw: str, canonical: str) -> None:
    assert E.education(raw) == canonical


def test_every_canonical_education_is_itself() -> None:
    assert [E.education(x) for x in E.EDUCATION] == list(E.EDUCATION)


@pytest.mark.parametrize("raw", ["幼儿园", "", "大学", "Bachelor", "中专毕业"])
def test_education_refuses_what_it_does_not_know(raw: str) -> None:
    with pytest.raises(ValueError, match="is not a 文化程度"):
        E.education(raw)


# ------------------------------------------------------------------ the property, against an independent oracle


def _add_years(d: date, n: int) -> date:
    try:
        return d.replace(year=d.year + n)
    except ValueError:  # 29 February
        return d.replace(year=d.year + n, day=28)


def _oracle_holds(kind: str, value: Any, f: E.Facts) -> bool:
    """The conditions as the rule file documents them, read from the raw YAML."""
    related = {f.occupation, *RAW.get("related", {}).get(f.occupation, [])}
    if kind == "years":
        return f.years >= value
    if kind == "certificate":
        return (
            f.certificate_level is not None
            and f.certificate_level <= value
            and (not f.certificate_occupation or f.certificate_occupation in related)
        )
    if (
        kind == "years_after_certificate"
    ):  # whole calendar years from the issue date to the deadline, and declared
        return (
            f.certificate_issued is not None
            and _add_years(f.certificate_issued, value) <= f.deadline
            and f.years >= value
        )
    if kind == "education":
        return f.education in {E.education(str(v)) for v in value}
    if kind == "declared":
        return any(str(v) in f.declared for v in value)
    raise AssertionError(kind)


def _oracle(f: E.Facts, own: list[dict[str, Any]]) -> str | None:
    """The first branch that holds, as a rule string, or None."""
    raw_levels = RAW.get("occupations", {}).get(f.occupation, {}) or {}
    branches = [
        (f"{f.occupation}/{f.level}: {b['id']}", b)
        for b in raw_levels.get(f.level) or RAW["defaults"][f.level]
    ]
    branches += [(f"plan {YEAR}: {b['id']}", b) for b in own if f.level in b["levels"]]
    for rule, b in branches:
        if all(_oracle_holds(k, v, f) for c in b["all"] for k, v in c.items()):
            return rule
    return None


@st.composite
def _deadline_and_issued(draw: st.DrawFn) -> tuple[date, date | None]:
    """A deadline, and an issue date: none, any day, or on, a day before or a day after an anniversary."""
    deadline = draw(st.dates(date(2020, 1, 1), date(2032, 12, 31)))
    issued = draw(st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2033, 12, 31)),
                            st.builds(lambda n, d: _add_years(deadline, -n) + timedelta(days=d), st.integers(0, 8),
                                      st.sampled_from([-1, 0, 1]))))  # fmt: skip
    return deadline, issued


OWN = [
    {"id": "E1", "text": "本企业工作3年", "levels": [3, 4], "all": [{"years": 3}]},
    {
        "id": "E2",
        "text": "本企业持证后4年",
        "levels": [2],
        "all": [{"certificate": 3}, {"years_after_certificate": 4}],
    },
    {"id": "E3", "text": "本企业学徒", "levels": [5], "all": [{"declared": ["企业学徒"]}]},
]


@settings(max_examples=300, deadline=None)
@given(
    level=st.integers(1, 5),
    occupation=st.sampled_from([OCC, RELATED, UNRELATED]),
    years=st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 2.99, 3.0, 4.0, 5.0, 5.5, 6.0, 8.0, 12.0]),
    cert=st.one_of(st.none(), st.integers(1, 5)),
    cert_occ=st.sampled_from(["", OCC, RELATED, "6-29-08-03", UNRELATED]),
    dates=_deadline_and_issued(),
    education=st.sampled_from(("", *E.EDUCATION)),
    declared=st.sampled_from(["", "学徒期满", "预备技师", "学徒期满、预备技师", "企业学徒", "其他"]),
    with_employer=st.booleans(),
)
def test_decide_is_eligible_iff_some_branch_holds(level: int, occupation: str, years: float, cert: int | None, cert_occ: str,
                                                  dates: tuple[date, date | None], education: str, declared: str, with_employer: bool) -> None:  # fmt: skip
    deadline, issued = dates
    f = E.Facts(occupation, level, years, deadline, cert, cert_occ, issued, education, declared)
    own = OWN if with_employer else []
    d = E.decide(RULES, f, E.employer_branches(RULES, own, "plan") if own else None, plan_year=YEAR)
    expected = _oracle(f, own)
    assert d.eligible == (expected is not None)
    assert d.rule == (expected or f"{occupation}/{level}: none")
    assert d.evidence == f.evidence()
    assert d.evidence == {"years": years, "certificate_level": cert, "certificate_occupation": cert_occ or None,
                          "certificate_issued": issued.isoformat() if issued else None, "education": education or None,
                          "declared": declared or None}  # fmt: skip
    if not d.eligible:  # every branch named once, with its failure; one failure text per group
        names = [b.id for b in RULES.branches(occupation, level)] + [
            b["id"] for b in own if level in b["levels"]
        ]
        groups = [g.split("）", 1) for g in d.text.removeprefix("不符合申报条件：").split("；")]
        named = [x for ids, _ in groups for x in ids.split("/")]
        assert sorted(named) == sorted(names)
        assert len({why for _, why in groups}) == len(groups)


# ------------------------------------------------------------------ the packaged rules ship with the package


def test_the_packaged_rule_files_are_in_the_package_data() -> None:
    root = Path(E.__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-data"][
        "examvault"
    ]
    data = sorted(
        p.relative_to(root / "examvault").as_posix()
        for p in (root / "examvault" / "registration" / "data").iterdir()
    )
    assert "registration/data/eligibility.yaml" in data
    assert [f for f in data if not any(fnmatch.fnmatch(f, g) for g in globs)] == []
