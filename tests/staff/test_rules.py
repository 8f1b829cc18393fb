"""The assignment rule engine (examvault.staff.rules) and the ID-number helpers, without a database."""

from __future__ import annotations

import copy
import dataclasses
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
        "avoid.relation", "post.single", "supervision.independent", "invigilators.per_room", "invigilators.ratio",
        "panel.odd", "examiners.ratio",
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
    assert [r.id for r in DEFAULT.person_rules("supervisor")] == ["status.active", "role.duty", "credential.valid", "avoid.relation",
                                                                   "supervision.independent"]  # fmt: skip
    assert by_id["supervision.independent"].duties == frozenset(R.DUTIES)
    # which card kinds qualify for each duty that needs a card; an invigilator needs none
    assert DEFAULT.duty_cards == {
        "examiner": {"examiner", "senior_examiner", "chief_examiner"}, "marker": {"examiner", "senior_examiner", "chief_examiner"},
        "chief_examiner": {"chief_examiner", "senior_examiner"}, "supervisor": {"supervisor"},
    }  # fmt: skip


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
    assert line.startswith("rules[14] (extra.check): unknown kind 'coin_flip'")


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
    assert line == "rules[14] (senior.levels): duplicate id"


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
    if missing == "duty":  # reported once, as a missing setting: not also as a duty that is not held in rooms
        assert lines == ["rules[1] (custom.min): 'duty' must be a str"]


def test_bad_room_kind_and_non_positive_numbers_are_refused() -> None:
    doc = default_doc()
    doc["rules"][11]["rooms"] = ["skill", "workshop"]  # panel.odd
    doc["rules"][10]["candidates_per_person"] = 0  # invigilators.ratio
    doc["rules"][9]["duty"] = "cleaner"  # invigilators.per_room
    lines = _problems(doc)
    assert len(lines) == 3  # every problem at once
    assert any(x.startswith("rules[12] (panel.odd): 'rooms' must list room kinds") for x in lines)
    assert any(x.startswith("rules[11] (invigilators.ratio): 'candidates_per_person' must be at least 1") for x in lines)
    assert any(x.startswith("rules[10] (invigilators.per_room): 'duty' must be a duty held in rooms: invigilator, examiner")
               for x in lines)  # fmt: skip


def test_rule_without_id_and_wrong_shapes() -> None:
    doc = default_doc()
    doc["rules"].append({"kind": "status_active"})
    doc["rules"].append("status.active")
    lines = _problems(doc)
    assert lines == ["rules[14]: 'id' is missing", "rules[15]: expected a mapping"]
    with pytest.raises(ValidationError, match="expected a mapping with 'duties'"):
        R.parse_rules({"rules": []})
    with pytest.raises(ValidationError, match="bad.yaml: not valid YAML/JSON at line 3"):
        R.load_rules_text("duties: {}\nrules: [\n  - {id: x", "bad.yaml")


def test_ratio_with_zero_per_person_is_refused_even_with_a_stray_min_key() -> None:
    doc = default_doc()
    doc["rules"][10] |= {"candidates_per_person": 0, "min": 2}
    with pytest.raises(ValidationError, match=r"rules\[11\] \(invigilators.ratio\)"):
        R.parse_rules(doc)


def test_a_composition_rule_names_a_duty_held_in_rooms() -> None:
    for duty in ("marker", "chief_examiner", "supervisor"):  # nobody holds these in a room: no room could ever satisfy it
        doc = default_doc()
        doc["rules"].append({"id": "custom.min", "kind": "min_count", "duty": duty, "rooms": ["theory"], "min": 1})
        assert _problems(doc) == ["rules[14] (custom.min): 'duty' must be a duty held in rooms: invigilator, examiner"]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [({"duty": ["invigilator"]}, ["'duty' must be a str"]), ({"duty": 3}, ["'duty' must be a str"]),
     ({"rooms": 5}, ["'rooms' must be a list"]), ({"rooms": "theory"}, ["'rooms' must be a list"]),
     ({"rooms": {"theory": 1}}, ["'rooms' must be a list"]),
     ({"duty": {"x": 1}, "rooms": 7}, ["'duty' must be a str", "'rooms' must be a list"])],
)  # fmt: skip
def test_malformed_duty_or_rooms_are_reported_not_crashed_on(setting: dict[str, Any], expected: list[str]) -> None:
    doc = default_doc()
    doc["rules"].append({"id": "custom.min", "kind": "min_count", "duty": "invigilator", "rooms": ["theory"], "min": 2} | setting)
    assert _problems(doc) == [f"rules[14] (custom.min): {e}" for e in expected]


def test_the_cards_section_is_checked() -> None:
    doc = default_doc()
    doc["cards"] = ["examiner"]
    assert _problems(doc) == ["cards: expected a mapping of duty → card kinds"]
    doc = default_doc()
    doc["cards"]["cleaner"] = ["examiner"]
    doc["cards"]["examiner"] = ["examiner", "invigilator"]  # invigilators hold no card
    doc["cards"]["supervisor"] = []
    doc["cards"]["marker"] = "examiner"
    lines = _problems(doc)
    assert len(lines) == 4
    assert lines[0].startswith("cards.examiner: expected a list of card kinds from examiner, senior_examiner, chief_examiner, supervisor")
    assert lines[1].startswith("cards.marker: expected a list of card kinds")
    assert lines[2].startswith("cards.supervisor: expected a list of card kinds")
    assert lines[3].startswith("cards.cleaner: unknown duty")
    # without a cards section any valid card counts, as before the section existed
    assert with_rules().duty_cards == {}


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


def card_of(kind: str, levels: frozenset[int] = frozenset({1, 2, 3, 4, 5}), occupation: str | None = OCC) -> R.CredentialFacts:
    return R.CredentialFacts(f"{kind}-1", kind, occupation, levels, EXAM_DAY - timedelta(days=300), EXAM_DAY + timedelta(days=300), False)


def at_level(p: R.Post, level: int) -> R.Post:
    return R.Post(p.session, p.occupation, level, p.exam_date, p.duty, p.room, p.room_kind, p.candidates, p.planned_candidates)


def test_only_a_card_of_a_kind_that_qualifies_for_the_duty_counts() -> None:
    supervisor = post("supervisor", None, 0)
    dd = person(roles=frozenset({"supervisor"}), credentials=(card_of("supervisor", frozenset(), None),))
    assert R.check_person(DEFAULT, dd, supervisor) == []
    # an examiner's card does not make a supervisor, however valid it is
    kp = person(roles=frozenset({"supervisor", "examiner"}), credentials=(card_of("examiner"),))
    (refusal,) = R.check_person(DEFAULT, kp, supervisor)
    assert refusal.rule == "credential.valid" and "holds no credential card of kind supervisor" in refusal.message
    # a chief examiner needs a chief or senior examiner's card; a supervisor's card is no examiner's card
    chief = post("chief_examiner", None, 0)
    roles = frozenset({"chief_examiner"})
    assert refused_by(R.check_person(DEFAULT, person(roles=roles, credentials=(card_of("examiner"),)), chief)) == {"credential.valid"}
    assert R.check_person(DEFAULT, person(roles=roles, credentials=(card_of("senior_examiner"),)), chief) == []
    assert R.check_person(DEFAULT, person(roles=roles, credentials=(card_of("chief_examiner"),)), chief) == []
    examiner = post("examiner", "skill", 3)
    assert refused_by(R.check_person(DEFAULT, person(credentials=(card_of("supervisor", frozenset(), None),)), examiner)) == {"credential.valid"}
    # the card that qualifies is found among others
    both = person(roles=frozenset({"supervisor", "examiner"}), credentials=(card_of("examiner"), card_of("supervisor", frozenset(), None)))
    assert R.check_person(DEFAULT, both, supervisor) == [] and R.check_person(DEFAULT, both, examiner) == []
    assert R.usable_credential(both, supervisor, scoped=False, kinds=DEFAULT.duty_cards["supervisor"]).kind == "supervisor"  # type: ignore[union-attr]


def test_senior_levels_needs_a_senior_card_not_only_the_role() -> None:
    level2 = at_level(post("examiner", "skill", 3), 2)
    senior = frozenset({"senior_examiner"})
    # the role alone, with an examiner's card that covers level 2: refused by senior.levels only
    only_examiner_card = R.check_person(DEFAULT, person(roles=senior, credentials=(card_of("examiner"),)), level2)
    assert refused_by(only_examiner_card) == {"senior.levels"}
    assert "holds no valid senior examiner's card" in only_examiner_card[0].message
    assert R.check_person(DEFAULT, person(roles=senior, credentials=(card_of("senior_examiner"),)), level2) == []
    assert R.check_person(DEFAULT, person(roles=frozenset({"chief_examiner", "examiner"}), credentials=(card_of("chief_examiner"),)), level2) == []
    # a senior card that does not cover the level: that is credential.scope's to say, not senior.levels'
    narrow = person(roles=senior, credentials=(card_of("senior_examiner", frozenset({3})),))
    assert refused_by(R.check_person(DEFAULT, narrow, level2)) == {"credential.scope"}
    # an expired senior card is no senior card
    old = R.CredentialFacts("GK-0", "senior_examiner", OCC, frozenset({2}), EXAM_DAY - timedelta(days=900), EXAM_DAY - timedelta(days=1), False)
    assert refused_by(R.check_person(DEFAULT, person(roles=senior, credentials=(old,)), level2)) >= {"senior.levels", "credential.valid"}
    # level 3 is not a senior level: the examiner's card is enough
    assert R.check_person(DEFAULT, person(roles=senior, credentials=(card_of("examiner"),)), at_level(level2, 3)) == []


def test_supervision_is_independent_both_ways() -> None:
    supervisor = post("supervisor", None, 0)
    dd = person(roles=frozenset({"supervisor", "invigilator"}), credentials=(card_of("supervisor", frozenset(), None),))
    refusals = R.check_person(DEFAULT, dataclasses.replace(dd, other_duties=("invigilator",)), supervisor)
    assert refused_by(refusals) == {"supervision.independent"} and "holds another post in session S1" in refusals[0].message
    # the other way: the session's supervisor takes no room
    invigilator = post("invigilator", "theory", 20)
    refusals = R.check_person(DEFAULT, dataclasses.replace(dd, other_duties=("supervisor",)), invigilator)
    assert refused_by(refusals) == {"supervision.independent"} and "is the supervisor of session S1" in refusals[0].message
    # nor a session-wide post or a marking task
    both = person(roles=frozenset({"supervisor", "chief_examiner", "examiner"}), other_duties=("supervisor",),
                  credentials=(card_of("chief_examiner"), card_of("supervisor", frozenset(), None)))  # fmt: skip
    assert refused_by(R.check_person(DEFAULT, both, post("chief_examiner", None, 0))) == {"supervision.independent"}
    assert refused_by(R.check_person(DEFAULT, both, post("marker", None, 0))) == {"supervision.independent"}
    # no other post, or only other posts that are not supervision: fine
    assert R.check_person(DEFAULT, dd, supervisor) == []
    assert R.check_person(DEFAULT, person(other_duties=("marker",)), post("examiner", "skill", 3)) == []


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
    [("19851332", "digits 7–14 are not a birth date"), ("19850230", "digits 7–14 are not a birth date"),
     ("19850001", "digits 7–14 are not a birth date"), ("18991231", "the birth date in it is not plausible"),
     ("20270101", "the birth date in it is not plausible")],
)  # fmt: skip
def test_bad_birth_dates_are_refused(born: str, why: str) -> None:
    first = f"360102{born}123"
    number = first + check_digit(first)  # only the date is wrong
    problem = id_number_problem(number, today=date(2026, 6, 1))
    assert problem == why
    # a mistyped number is still mostly a real person's: the reason quotes none of its digits
    assert born not in problem.replace("-", "") and born[:4] not in problem and "360102" not in problem


def test_birth_date_today_is_plausible() -> None:
    first = "36010220260601123"
    assert id_number_problem(first + check_digit(first), today=date(2026, 6, 1)) is None
    assert id_number_problem(first + check_digit(first), today=date(2026, 5, 31)) is not None


def test_id_shape_and_region_are_refused() -> None:
    assert "17 digits" in (id_number_problem("36010219850612001") or "")
    assert "17 digits" in (id_number_problem("3601021985061200A1") or "")
    for first in ("99010219850612001", "36000019850612001"):
        problem = id_number_problem(first + check_digit(first)) or ""
        assert problem == "its first six digits are not a region code of the right shape"
        assert first[:6] not in problem and first[6:14] not in problem  # no digits quoted


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
