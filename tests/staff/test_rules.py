"""The assignment rule engine (examvault.staff.rules) and the ID-number helpers, without a database."""

from __future__ import annotations

import copy
import math
from datetime import date, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.errors import ValidationError
from examvault.registration.identity import check_digit, id_number_problem, mask_id
from examvault.staff import rules as R

OCC = "6-31-01-03"
EXAM_DAY = date(2026, 12, 5)


def default_doc() -> dict[str, Any]:
    return yaml.safe_load(R.default_rules_text())


DEFAULT = R.parse_rules(default_doc())
DEFAULT_DUTIES = default_doc()["duties"]


def with_rules(*rules: dict[str, Any]) -> R.RuleSet:
    """The default duties with only the given rules."""
    return R.parse_rules({"duties": DEFAULT_DUTIES, "rules": list(rules)})


def post(duty: str, room_kind: str | None, planned: int) -> R.Post:
    return R.Post("S1", OCC, 3, EXAM_DAY, duty, "R1" if room_kind else None, room_kind, (), planned)


def refused_by(refusals: list[R.Refusal]) -> set[str]:
    return {r.rule for r in refusals}


# ------------------------------------------------------------------ parse_rules


def test_default_rule_file_parses_into_the_documented_rules() -> None:
    ids = [r.id for r in DEFAULT.rules]
    assert ids == [
        "status.active", "role.duty", "credential.valid", "credential.scope", "senior.levels", "avoid.work_unit",
        "avoid.relation", "post.single", "invigilators.per_room", "invigilators.ratio", "panel.odd", "examiners.ratio",
    ]  # fmt: skip
    by_id = {r.id: r for r in DEFAULT.rules}
    assert by_id["status.active"].duties == frozenset(R.DUTIES)  # "all"
    assert by_id["credential.valid"].duties == {"examiner", "chief_examiner", "marker", "supervisor"}
    assert by_id["panel.odd"].duties == {"examiner"}  # a composition rule applies to its own duty
    assert by_id["invigilators.ratio"].params["candidates_per_person"] == 15
    assert DEFAULT.duty_roles["supervisor"] == {"supervisor"}
    assert "invigilator" not in DEFAULT.duty_roles["examiner"]
    # composition rules are picked by duty and room kind
    assert [r.id for r in DEFAULT.composition_rules("invigilator", "theory")] == ["invigilators.per_room", "invigilators.ratio"]
    assert [r.id for r in DEFAULT.composition_rules("examiner", "skill")] == ["panel.odd", "examiners.ratio"]
    assert [r.id for r in DEFAULT.composition_rules("examiner", "defence")] == ["panel.odd"]
    assert DEFAULT.composition_rules("invigilator", "skill") == []
    assert [r.id for r in DEFAULT.person_rules("supervisor")] == ["status.active", "role.duty", "credential.valid", "avoid.relation"]


def _problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        R.parse_rules(doc, "my-rules.yaml")
    text = str(exc.value)
    assert text.startswith("my-rules.yaml: ") and "nothing was changed" in text
    return text.splitlines()[1:]


def test_unknown_kind_is_refused_naming_the_rule() -> None:
    doc = default_doc()
    doc["rules"].append({"id": "extra.check", "name": "额外", "kind": "coin_flip"})
    (line,) = _problems(doc)
    assert line.startswith("rules[13] (extra.check): unknown kind 'coin_flip'")


def test_unknown_duty_is_refused_in_the_duty_map_and_in_a_rule() -> None:
    doc = default_doc()
    doc["duties"]["cleaner"] = ["invigilator"]
    doc["rules"][0]["duties"] = ["invigilator", "cleaner"]
    lines = _problems(doc)
    assert len(lines) == 2
    assert lines[0].startswith("duties.cleaner: unknown duty")
    assert lines[1].startswith("rules[1] (status.active): 'duties' must be 'all' or a list")


def test_missing_duty_and_bad_role_in_the_duty_map() -> None:
    doc = default_doc()
    del doc["duties"]["marker"]
    doc["duties"]["supervisor"] = ["janitor"]
    lines = _problems(doc)
    assert any(x.startswith("duties.marker: missing") for x in lines)
    assert any(x.startswith("duties.supervisor: expected a list of roles") for x in lines)


def test_duplicate_id_is_refused() -> None:
    doc = default_doc()
    doc["rules"].append(copy.deepcopy(doc["rules"][4]))
    (line,) = _problems(doc)
    assert line == "rules[13] (senior.levels): duplicate id"


@pytest.mark.parametrize("missing", ["duty", "rooms", "min"])
def test_composition_rule_without_a_parameter_is_refused(missing: str) -> None:
    rule = {"id": "custom.min", "name": "自定义", "kind": "min_count", "duty": "invigilator", "rooms": ["theory"], "min": 2}
    del rule[missing]
    doc = default_doc()
    doc["rules"].insert(0, rule)
    lines = _problems(doc)
    assert lines and all(x.startswith("rules[1] (custom.min): ") for x in lines)
    expected = {"duty": "'duty' must be a str", "rooms": "'rooms' must be a list", "min": "'min' must be a int"}[missing]
    assert any(expected in x for x in lines)
    if missing == "duty":
        assert any("'duty' must be one of" in x for x in lines)


def test_bad_room_kind_and_non_positive_numbers_are_refused() -> None:
    doc = default_doc()
    doc["rules"][10]["rooms"] = ["skill", "workshop"]  # panel.odd
    doc["rules"][9]["candidates_per_person"] = 0  # invigilators.ratio
    doc["rules"][8]["duty"] = "cleaner"  # invigilators.per_room
    lines = _problems(doc)
    assert len(lines) == 3  # every problem at once
    assert any(x.startswith("rules[11] (panel.odd): 'rooms' must list room kinds") for x in lines)
    assert any(x.startswith("rules[10] (invigilators.ratio): 'candidates_per_person' must be at least 1") for x in lines)
    assert any(x.startswith("rules[9] (invigilators.per_room): 'duty' must be one of") for x in lines)


def test_rule_without_id_and_wrong_shapes() -> None:
    doc = default_doc()
    doc["rules"].append({"kind": "status_active"})
    doc["rules"].append("status.active")
    lines = _problems(doc)
    assert lines == ["rules[13]: 'id' is missing", "rules[14]: expected a mapping"]
    with pytest.raises(ValidationError, match="expected a mapping with 'duties'"):
        R.parse_rules({"rules": []})
    with pytest.raises(ValidationError, match="bad.yaml: not valid YAML/JSON at line 3"):
        R.load_rules_text("duties: {}\nrules: [\n  - {id: x", "bad.yaml")


def test_ratio_with_zero_per_person_is_refused_even_with_a_stray_min_key() -> None:
    doc = default_doc()
    doc["rules"][9] |= {"candidates_per_person": 0, "min": 2}
    with pytest.raises(ValidationError, match=r"rules\[10\] \(invigilators.ratio\)"):
        R.parse_rules(doc)


# ------------------------------------------------------------------ composition properties


@settings(max_examples=150, deadline=None)
@given(minimum=st.integers(1, 9), count=st.integers(0, 60), kind=st.sampled_from(["skill", "defence"]))
def test_odd_panel_accepts_exactly_odd_counts_at_least_min(minimum: int, count: int, kind: str) -> None:
    rules = with_rules({"id": "panel", "name": "奇数", "kind": "odd_panel", "duty": "examiner", "rooms": ["skill", "defence"], "min": minimum})
    refusals = R.check_composition(rules, post("examiner", kind, 10), count)
    assert (refusals == []) == (count % 2 == 1 and count >= minimum)
    assert all(r.rule == "panel" and r.staff is None for r in refusals)
    # another duty or room kind is not judged by it
    assert R.check_composition(rules, post("invigilator", kind, 10), count) == []
    assert R.check_composition(rules, post("examiner", "theory", 10), count) == []


@settings(max_examples=200, deadline=None)
@given(per=st.integers(1, 40), planned=st.integers(0, 300), count=st.integers(0, 40))
def test_ratio_accepts_count_at_least_ceil_n_over_per(per: int, planned: int, count: int) -> None:
    rules = with_rules({"id": "ratio", "name": "比例", "kind": "ratio", "duty": "invigilator", "rooms": ["theory"], "candidates_per_person": per})
    refusals = R.check_composition(rules, post("invigilator", "theory", planned), count)
    assert (refusals == []) == (count >= math.ceil(planned / per))
    if refusals:
        assert f"at least {math.ceil(planned / per)}" in refusals[0].message


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["theory", "skill", "defence"]), planned=st.integers(0, 200))
def test_required_staffing_is_the_smallest_accepted_staffing(kind: str, planned: int) -> None:
    need = R.required_staffing(DEFAULT, kind, planned)
    assert set(need) == {"theory": {"invigilator"}, "skill": {"examiner"}, "defence": {"examiner"}}[kind]
    for duty, n in need.items():
        p = post(duty, kind, planned)
        assert R.check_composition(DEFAULT, p, n) == [], (duty, n)
        assert R.check_composition(DEFAULT, p, n - 1) != [], (duty, n - 1)
    if kind == "theory":
        assert need["invigilator"] == max(2, math.ceil(planned / 15))
    if kind == "skill":
        n = max(3, math.ceil(planned / 5))
        assert need["examiner"] == n + (n % 2 == 0)


@settings(max_examples=300, deadline=None)
@given(
    minimum=st.one_of(st.none(), st.integers(1, 6)),
    per=st.one_of(st.none(), st.integers(1, 30)),
    odd=st.one_of(st.none(), st.integers(1, 6)),
    planned=st.integers(0, 200),
)
def test_required_staffing_for_any_parameters(minimum: int | None, per: int | None, odd: int | None, planned: int) -> None:
    """Whatever parameters an institution sets, the reported requirement passes and one less fails."""
    base = {"duty": "examiner", "rooms": ["skill"]}
    rules = [
        *([{"id": "a", "kind": "min_count", "min": minimum, **base}] if minimum else []),
        *([{"id": "b", "kind": "ratio", "candidates_per_person": per, **base}] if per else []),
        *([{"id": "c", "kind": "odd_panel", "min": odd, **base}] if odd else []),
    ]
    ruleset = with_rules(*rules)
    need = R.required_staffing(ruleset, "skill", planned)
    if not rules:
        assert need == {}
        return
    n = need["examiner"]
    p = post("examiner", "skill", planned)
    assert R.check_composition(ruleset, p, n) == []
    if n > 0:
        assert R.check_composition(ruleset, p, n - 1) != []


# ------------------------------------------------------------------ person rules (pure)


def person(**over: Any) -> R.PersonFacts:
    card = R.CredentialFacts("KP-1", "examiner", OCC, frozenset({3, 4, 5}), EXAM_DAY - timedelta(days=300),
                             EXAM_DAY + timedelta(days=300), False)  # fmt: skip
    values: dict[str, Any] = {"code": "P1", "roles": frozenset({"examiner"}), "status": "active", "status_reason": "",
                              "work_unit": R.normalise_unit("示范技师学院"), "relations": frozenset(), "credentials": (card,)}  # fmt: skip
    return R.PersonFacts(**(values | over))


def test_check_person_names_each_rule() -> None:
    p = post("examiner", "skill", 3)
    cand = R.CandidateFacts("C1", R.normalise_unit("江铃汽车股份有限公司"), "360102198506120011")
    p = R.Post(p.session, p.occupation, p.level, p.exam_date, p.duty, p.room, p.room_kind, (cand,), 1)
    assert R.check_person(DEFAULT, person(), p) == []
    # the unit compares after NFKC, without spaces, case-insensitively
    same = person(work_unit=R.normalise_unit(" 江铃汽车 股份有限公司 "))
    assert refused_by(R.check_person(DEFAULT, same, p)) == {"avoid.work_unit"}
    assert refused_by(R.check_person(DEFAULT, person(relations=frozenset({"360102198506120011"})), p)) == {"avoid.relation"}
    assert refused_by(R.check_person(DEFAULT, person(status="suspended"), p)) == {"status.active"}
    assert refused_by(R.check_person(DEFAULT, person(roles=frozenset({"invigilator"})), p)) == {"role.duty"}
    assert refused_by(R.check_person(DEFAULT, person(other_rooms=("T01",)), p)) == {"post.single"}
    assert R.check_person(DEFAULT, person(other_rooms=("R1",)), p) == []  # the same room is not another room
    level2 = R.Post(p.session, p.occupation, 2, p.exam_date, p.duty, p.room, p.room_kind, (), 0)
    assert refused_by(R.check_person(DEFAULT, person(), level2)) == {"senior.levels", "credential.scope"}
    none = R.check_person(DEFAULT, person(credentials=()), p)
    assert refused_by(none) == {"credential.valid"} and "holds no credential card" in none[0].message


# ------------------------------------------------------------------ ID numbers

PROVINCES = ["11", "12", "13", "31", "32", "36", "44", "50", "65", "71", "81", "82"]


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(PROVINCES)) + draw(st.from_regex(r"[0-9]{4}", fullmatch=True).filter(lambda s: s != "0000"))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date.today()))
    first = f"{region}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return first + check_digit(first)


@settings(max_examples=300, deadline=None)
@given(number=id_numbers(), data=st.data())
def test_valid_ids_pass_and_any_single_digit_change_is_refused(number: str, data: st.DataObject) -> None:
    assert id_number_problem(number) is None
    assert id_number_problem(number.lower()) is None  # a lower-case x is the same number
    pos = data.draw(st.integers(0, 17))
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    new = data.draw(st.sampled_from([c for c in alphabet if c != number[pos]]))
    changed = number[:pos] + new + number[pos + 1 :]
    problem = id_number_problem(changed)
    assert problem is not None
    if _region_ok(changed) and _plausible_date(changed[6:14]):  # nothing else wrong: the check digit catches it
        assert problem.startswith("the check digit is wrong")


ALL_PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
                 "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}  # fmt: skip


def _region_ok(s: str) -> bool:
    return s[:2] in ALL_PROVINCES and s[2:6] != "0000"


def _plausible_date(s: str) -> bool:
    try:
        born = date(int(s[:4]), int(s[4:6]), int(s[6:]))
    except ValueError:
        return False
    return born.year >= 1900 and born <= date.today()


def test_non_ascii_digits_are_not_an_id_number() -> None:
    first = "36010219850612001"
    arabic_indic = "36" + "".join(chr(0x660 + int(c)) for c in first[2:]) + check_digit(first)  # 36٠١٠٢١٩٨٥…5
    assert id_number_problem(arabic_indic) is not None


def test_check_digit_changes_are_named_as_such() -> None:
    first = "11010519491231002"
    good = first + check_digit(first)
    assert good == "11010519491231002X"  # the GB 11643 worked example
    assert id_number_problem(good) is None
    for c in "0123456789":
        assert id_number_problem(first + c) == "the check digit is wrong (GB 11643 MOD 11-2); the number is mistyped"
    changed = "21" + good[2:]
    assert id_number_problem(changed) == "the check digit is wrong (GB 11643 MOD 11-2); the number is mistyped"


@pytest.mark.parametrize(
    ("born", "why"),
    [("19851332", "is not a date"), ("19850230", "is not a date"), ("19850001", "is not a date"),
     ("18991231", "not plausible"), ("20270101", "not plausible")],
)  # fmt: skip
def test_bad_birth_dates_are_refused(born: str, why: str) -> None:
    first = f"360102{born}123"
    number = first + check_digit(first)  # only the date is wrong
    problem = id_number_problem(number, today=date(2026, 6, 1))
    assert problem is not None and why in problem and born in problem.replace("-", "")


def test_birth_date_today_is_plausible() -> None:
    first = "36010220260601123"
    assert id_number_problem(first + check_digit(first), today=date(2026, 6, 1)) is None
    assert id_number_problem(first + check_digit(first), today=date(2026, 5, 31)) is not None


def test_id_shape_and_region_are_refused() -> None:
    assert "17 digits" in (id_number_problem("36010219850612001") or "")
    assert "17 digits" in (id_number_problem("3601021985061200A1") or "")
    first = "99010219850612001"
    assert "region code" in (id_number_problem(first + check_digit(first)) or "")
    first = "36000019850612001"
    assert "region code" in (id_number_problem(first + check_digit(first)) or "")


@given(st.text(alphabet="0123456789X", min_size=9, max_size=30))
def test_mask_id_keeps_only_the_first_and_last_four(s: str) -> None:
    masked = mask_id(s)
    assert len(masked) == len(s)
    assert masked[:4] == s[:4] and masked[-4:] == s[-4:]
    assert set(masked[4:-4]) == {"*"}


def test_mask_id_of_a_real_number_and_short_text() -> None:
    assert mask_id("36010219850612001X") == "3601**********001X"
    assert mask_id("12345678") == "********"
    assert mask_id("") == ""
