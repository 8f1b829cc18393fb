"""parse_blueprint: values, the stored document round trip, field-path errors, level rules, fuzzing."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examvault.assembly.blueprint import Band, Blueprint, parse_blueprint, read_document
from examvault.errors import ValidationError

OCC = "6-31-01-03"


def level3() -> dict[str, Any]:
    """DESIGN's level-3 example, plus the optional fields it leaves out."""
    return {
        "id": f"{OCC}/3/theory/2026A",
        "occupation": OCC,
        "level": 3,
        "kind": "theory",
        "title": "电工（三级）理论知识考试试卷",
        "duration_minutes": 90,
        "total_points": 100,
        "forms": ["A", "B"],
        "max_overlap": 0.10,
        "shuffle_options": True,
        "sections": [
            {"type": "判断", "count": 40, "points": 0.5},
            {"type": "单选", "count": 140, "points": 0.5},
            {"type": "多选", "count": 10, "points": 1},
        ],
        "content": {"from_outline": True, "tolerance": 0.02},
        "importance": {"X": ">=0.80", "Y": "<=0.15", "Z": "<=0.05"},
        "difficulty": {"mean": [2.6, 3.2]},
        "exposure": {"exclude_used_within_days": 365, "max_uses": 5},
    }


def rich() -> dict[str, Any]:
    """Every optional field set, so the round trip has something to lose."""
    doc = level3()
    doc.update(
        forms=["A", "B", "C2"],
        shuffle_items=False,
        difficulty={"mean": [2.6, 3.2], "counts": {"易": 19, "2": 38, "中等": 76, "4": 38, "难": 19}, "tolerance": 2,
                    "p": [0.55, 0.75]},  # fmt: skip
        content={"from_outline": True, "depth": [1, 2], "tolerance": "3%", "ranges": {"A-B": 0.25}},
        information={"theta": [-1, 0, 1], "tolerance": 0.1, "target": [10, 12, 10]},
        fixed=["I000001", "I000002"],
        solver={"time_limit": 30, "gap": 0.01},
        notes="2026 春季",
    )
    return doc


def issues_of(doc: dict[str, Any]) -> list:
    with pytest.raises(ValidationError) as exc:
        parse_blueprint(doc, "bp.yaml")
    assert exc.value.issues, "a ValidationError from the parser carries its issues"
    return exc.value.issues


def issue_at(doc: dict[str, Any], path: str, *fragments: str) -> Any:
    """The issue naming `path`; its text (as a custodian reads it) names the field and says why."""
    issues = issues_of(doc)
    found = [i for i in issues if i.column == path]
    assert found, f"no issue at {path}: {[str(i) for i in issues]}"
    text = str(found[0])
    assert path in text and "bp.yaml" in text
    for fragment in fragments:
        assert fragment in found[0].message, found[0].message
    return found[0]


# ---------------------------------------------------------------- valid documents


def test_level3_example_values() -> None:
    bp = parse_blueprint(level3())
    assert (bp.code, bp.occupation, bp.level, bp.kind) == (f"{OCC}/3/theory/2026A", OCC, 3, "theory")
    assert bp.title == "电工（三级）理论知识考试试卷"  # a title keeps its full-width brackets as printed
    assert bp.duration_minutes == 90 and bp.total_points == Decimal(100)
    assert bp.forms == ("A", "B") and bp.max_overlap == pytest.approx(0.10)
    assert bp.shuffle_options and bp.shuffle_items and not bp.allow_subjective
    assert [(s.type, s.count, s.points, s.total) for s in bp.sections] == [
        ("判断", 40, Decimal("0.5"), Decimal(20)),
        ("单选", 140, Decimal("0.5"), Decimal(70)),
        ("多选", 10, Decimal(1), Decimal(10)),
    ]
    assert [s.title for s in bp.sections] == ["一、判断题", "二、单项选择题", "三、多项选择题"]
    assert "每题0.5分，满分20分" in bp.sections[0].instructions
    assert bp.bank_points == Decimal(100) and not bp.has_expert_slots
    assert bp.content is not None and bp.content.depths == (1,) and bp.content.tolerance == pytest.approx(0.02)
    assert bp.importance == {"X": Band(0.8, None), "Y": Band(None, 0.15), "Z": Band(None, 0.05)}
    assert bp.difficulty_mean == Band(2.6, 3.2) and bp.difficulty_counts == {} and bp.p_mean is None
    assert (bp.exclude_used_within_days, bp.max_uses) == (365, 5)
    assert bp.fixed == () and bp.information is None
    assert (bp.time_limit, bp.gap) == (60.0, 0.02)


def test_rich_document_values() -> None:
    bp = parse_blueprint(rich())
    assert bp.forms == ("A", "B", "C2") and not bp.shuffle_items
    assert bp.difficulty_counts == {1: 19, 2: 38, 3: 76, 4: 38, 5: 19} and bp.difficulty_count_tolerance == 2
    assert bp.p_mean == Band(0.55, 0.75)
    assert bp.content is not None
    assert bp.content.depths == (1, 2) and bp.content.tolerance == pytest.approx(0.03)
    assert bp.content.ranges == {"A-B": 0.25}
    assert bp.information is not None and bp.information.theta == (-1.0, 0.0, 1.0)
    assert bp.information.target == (10.0, 12.0, 10.0) and bp.information.tolerance == pytest.approx(0.1)
    assert bp.fixed == ("I000001", "I000002") and (bp.time_limit, bp.gap) == (30.0, 0.01)
    assert bp.notes == "2026 春季"


def test_aliases_and_string_forms() -> None:
    doc = level3()
    doc.update(level="高级工", kind="理论", forms="a, b", max_overlap="10%")
    doc["sections"][0]["type"] = "判断题"
    doc["sections"][1]["type"] = "单项选择题"
    bp = parse_blueprint(doc)
    assert (bp.level, bp.kind, bp.forms) == (3, "theory", ("A", "B"))
    assert bp.max_overlap == pytest.approx(0.10)
    assert [s.type for s in bp.sections] == ["判断", "单选", "多选"]
    assert bp == parse_blueprint(level3())


def test_set_section_keeps_own_points() -> None:
    doc = level3()
    doc.update(level=2, total_points=100)
    doc["sections"] = [
        {"type": "单选", "count": 60, "points": 1},
        {"type": "组合", "count": 2, "total": 20},
        {"type": "简答", "count": 4, "points": 5, "expert_slots": 1},
    ]
    bp = parse_blueprint(doc)
    sets, short = bp.sections[1], bp.sections[2]
    assert sets.points is None and sets.total == Decimal(20) and sets.bank_points == Decimal(20)
    assert short.bank_count == 3 and short.bank_points == Decimal(15)
    assert bp.bank_points == Decimal(95) and bp.has_expert_slots


@pytest.mark.parametrize("make", [level3, rich])
def test_document_round_trips(make) -> None:  # noqa: ANN001
    bp = parse_blueprint(make())
    doc = bp.document()
    json.dumps(doc)  # storable as JSON
    again = parse_blueprint(json.loads(json.dumps(doc)))
    assert again == bp
    assert again.digest() == bp.digest() == parse_blueprint(make()).digest()
    assert again.document() == doc
    assert len(bp.digest()) == 64


def test_digest_changes_with_content() -> None:
    doc = level3()
    doc["max_overlap"] = 0.2
    assert parse_blueprint(doc).digest() != parse_blueprint(level3()).digest()


def test_default_title_round_trips() -> None:
    doc = level3()
    del doc["title"]
    bp = parse_blueprint(doc)
    assert bp.title == f"{OCC}（三级/高级工）理论知识考试试卷"
    assert parse_blueprint(bp.document()) == bp


# Round-trip and number edge cases found while writing these tests (fixed in blueprint.py).

def test_explicit_ranges_only_round_trip() -> None:
    doc = level3()
    doc["content"] = {"from_outline": False, "ranges": {"A": 0.3, "B": 0.7}}
    bp = parse_blueprint(doc)
    assert parse_blueprint(bp.document()) == bp


def test_count_tolerance_without_counts_round_trips() -> None:
    doc = level3()
    doc["difficulty"] = {"mean": [2.6, 3.2], "tolerance": 2}
    bp = parse_blueprint(doc)
    assert parse_blueprint(bp.document()) == bp


@pytest.mark.parametrize("field", ["max_overlap", "importance"])
def test_signalling_nan_is_a_validation_error(field: str) -> None:
    doc = level3()
    doc[field] = "sNaN" if field == "max_overlap" else {"X": ["sNaN", None]}
    issues_of(doc)


# ---------------------------------------------------------------- bad documents


def _set(doc: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_DELETE = object()

BAD = [
    # (path in the document, value, field path in the issue, fragments of the message)
    (("sections", 1, "points"), "abc", "sections[1].points", ("not a number",)),
    (("sections", 1, "points"), 0, "sections[1].points", ("more than 0",)),
    (("sections", 1, "points"), 0.125, "sections[1].points", ("two decimals",)),
    (("sections", 2, "points"), _DELETE, "sections[2].points", ("is required",)),
    (("sections", 0, "count"), 0, "sections[0].count", ("1..1000",)),
    (("sections", 0, "count"), "40", "sections[0].count", ("whole number",)),
    (("sections", 0, "count"), True, "sections[0].count", ("whole number",)),
    (("sections", 2, "type"), "作文", "sections[2].type", ("作文",)),
    (("sections", 2, "type"), "判断题", "sections[2].type", ("already has sections[0]",)),
    (("sections", 0, "weight"), 3, "sections[0].weight", ("unknown field",)),
    (("sections", 0, "total"), 25, "sections[0].total", ("25", "count × points = 20")),
    (("sections", 1), "单选 140", "sections[1]", ("mapping",)),
    (("sections",), [], "sections", ("is required",)),
    (("total_points",), "lots", "total_points", ("not a number",)),
    (("importance", "W"), ">=0.1", "importance.W", ("X, Y or Z",)),
    (("importance", "X"), ">=1.5", "importance.X", ("share 0..1",)),
    (("importance", "X"), "about 0.8", "importance.X", ("must be like",)),
    (("importance", "Y"), [0.3, 0.1], "importance.Y", ("above high",)),
    (("importance", "Y"), [None, None], "importance.Y", ("at least one bound",)),
    (("importance", "Y"), [0.1, 0.2, 0.3], "importance.Y", ("[low, high]",)),
    (("importance",), ">=0.8", "importance", ("X/Y/Z",)),
    (("forms",), ["1A", "B"], "forms[0]", ("form label",)),
    (("forms",), ["A", "bcdef"], "forms[1]", ("form label",)),
    (("forms",), ["A", "a"], "forms", ("twice",)),
    (("forms",), [], "forms", ("list of form labels",)),
    (("forms",), [f"F{i}" for i in range(51)], "forms", ("at most 50",)),
    (("colour",), "blue", "colour", ("unknown field",)),
    (("id",), _DELETE, "id", ("is required",)),
    (("occupation",), "  ", "occupation", ("is required",)),
    (("level",), 6, "level", ("not one of 5..1",)),
    (("level",), _DELETE, "level", ("is required",)),
    (("kind",), "oral", "kind", ("theory/skill",)),
    (("duration_minutes",), 0, "duration_minutes", ("1..600",)),
    (("max_overlap",), 1.5, "max_overlap", ("share 0..1",)),
    (("max_overlap",), "much", "max_overlap", ("not a number",)),
    (("shuffle_options",), "yes", "shuffle_options", ("true or false",)),
    (("content", "depth"), 7, "content.depth", ("1..6",)),
    (("content", "weights"), {}, "content.weights", ("unknown field",)),
    (("content", "tolerance"), 2, "content.tolerance", ("share 0..1",)),
    (("content", "ranges"), ["A"], "content.ranges", ("map range codes",)),
    (("content",), "outline", "content", ("mapping",)),
    (("difficulty", "mean"), [3.2, 2.6], "difficulty.mean", ("above high",)),
    (("difficulty", "mean"), [0.5, 3.2], "difficulty.mean", ("1..5 scale",)),
    (("difficulty", "spread"), 1, "difficulty.spread", ("unknown field",)),
    (("difficulty", "counts"), {"极难": 3}, "difficulty.counts.极难", ("1..5",)),
    (("difficulty", "counts"), {"1": -1}, "difficulty.counts.1", ("whole number",)),
    (("difficulty", "counts"), {"1": 50, "3": 50}, "difficulty.counts", ("add up to 100", "draw 190")),
    (("difficulty", "tolerance"), -1, "difficulty.tolerance", ("whole number",)),
    (("difficulty",), {}, "difficulty", ("mean, counts or p",)),
    (("exposure", "max_uses"), 0, "exposure.max_uses", ("≥ 1",)),
    (("exposure", "forever"), True, "exposure.forever", ("unknown field",)),
    (("fixed",), ["I1", "I1"], "fixed", ("twice",)),
    (("fixed",), "I1", "fixed", ("list of item codes",)),
    (("information",), {"target": [1]}, "information", ("theta",)),
    (("information",), {"theta": [9]}, "information.theta", ("-4 and 4",)),
    (("information",), {"theta": [0, 1], "target": [5]}, "information.target", ("one positive value per theta",)),
    (("solver",), {"time_limit": 5000}, "solver.time_limit", ("0..3600",)),
    (("notes",), ["a"], "notes", ("text",)),
]


@pytest.mark.parametrize(("path", "value", "field", "fragments"), BAD, ids=[f"{b[2]}={b[1]!r}"[:60] for b in BAD])
def test_bad_field_is_named(path: tuple, value: Any, field: str, fragments: tuple[str, ...]) -> None:
    issue_at(_set(level3(), path, value), field, *fragments)


def test_points_not_adding_up_reports_the_sums() -> None:
    doc = level3()
    doc["sections"][1]["points"] = 0.6  # 单选 140 × 0.6 = 84
    issue = issue_at(doc, "total_points")
    assert issue.message == "sections add up to 114 (判断 20 + 单选 84 + 多选 10), not 100"
    doc = level3()
    doc["total_points"] = 90
    assert issue_at(doc, "total_points").message == "sections add up to 100 (判断 20 + 单选 70 + 多选 10), not 90"


def test_every_problem_is_reported_at_once() -> None:
    doc = level3()
    doc.update(colour="blue", max_overlap=2, forms=["A", "1"])
    doc["importance"]["Q"] = ">=0.1"
    doc["sections"][0]["count"] = -1
    columns = {i.column for i in issues_of(doc)}
    assert {"colour", "max_overlap", "forms[1]", "importance.Q", "sections[0].count"} <= columns
    with pytest.raises(ValidationError) as exc:
        parse_blueprint(doc, "bp.yaml")
    assert "nothing was stored" in str(exc.value)


# ---------------------------------------------------------------- level rules


def _with_short_answer(level: int, **extra: Any) -> dict[str, Any]:
    doc = level3()
    doc.update(level=level, **extra)
    doc["sections"][1]["count"] = 120  # 60 points; the 简答 section brings 10
    doc["sections"].append({"type": "简答", "count": 2, "points": 5})
    return doc


def test_level3_subjective_needs_allow_subjective() -> None:
    issue = issue_at(_with_short_answer(3), "sections[3].type", "简答", "allow_subjective")
    assert "level 3" in issue.message
    bp = parse_blueprint(_with_short_answer(3, allow_subjective=True))
    assert bp.allow_subjective and bp.sections[3].type == "简答"


@pytest.mark.parametrize("level", [2, 1])
def test_levels_2_and_1_need_a_subjective_section(level: int) -> None:
    doc = level3()
    doc["level"] = level
    issue_at(doc, "sections", f"level {level}", "subjective")
    assert parse_blueprint(_with_short_answer(level)).level == level


def test_expert_slots_only_at_levels_2_and_1() -> None:
    doc = _with_short_answer(3, allow_subjective=True)
    doc["sections"][3]["expert_slots"] = 1
    issue_at(doc, "sections[3].expert_slots", "levels 2 and 1", "level 3")
    doc["level"] = 2
    assert parse_blueprint(doc).sections[3].bank_count == 1
    doc["sections"][3]["expert_slots"] = 3
    issue_at(doc, "sections[3].expert_slots", "0..count (2)")


# ---------------------------------------------------------------- files


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bp.yaml"
    path.write_text("id: x\nlevel: 3\n  bad: indent\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        read_document(path)
    (issue,) = exc.value.issues
    assert issue.location == "line 3" and "not valid YAML" in issue.message
    assert str(path) in str(exc.value) and "line 3" in str(exc.value)


def test_json_error_names_the_line_and_yaml_loads(tmp_path: Path) -> None:
    bad = tmp_path / "bp.json"
    bad.write_text('{\n"id": "x",\n"level": 3,,\n}', encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        read_document(bad)
    assert exc.value.issues[0].location == "line 3"
    good = tmp_path / "good.yaml"
    good.write_text("\ufeffid: x\nlevel: 3\n", encoding="utf-8")  # a BOM is tolerated
    assert read_document(good) == {"id": "x", "level": 3}
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="mapping of fields"):
        read_document(listing)
    with pytest.raises(ValidationError, match="no such file"):
        read_document(tmp_path / "missing.yaml")


# ---------------------------------------------------------------- fuzzing

_INTERESTING = st.sampled_from(
    ["", " ", "own", "item", "50%", "５０％", ">=0.8", "≤15%", "= 0.5", "1e999", "-1e999", "nan", "sNaN", "-Infinity", "inf", "-0", "1_0",
     "０.５", "A", "a, b", "判断", "组合", "简答", "易", "三级", "技能", "0.001", "100.00", "1.2.3", "[1, 2]"]
)  # fmt: skip
_SCALARS = (
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8) | _INTERESTING
)  # fmt: skip
JSONISH = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6) | _INTERESTING, inner, max_size=4),
    max_leaves=12,
)
_TOP = sorted({*level3(), *rich(), "allow_subjective", "shuffle_items"})
_SECTION_KEYS = ["type", "count", "points", "total", "instructions", "title", "expert_slots"]


def _outcome_is_clean(doc: Any) -> None:
    try:
        bp = parse_blueprint(doc)
    except ValidationError as exc:
        assert exc.issues and all(isinstance(i.column, str) for i in exc.issues)
        return
    assert isinstance(bp, Blueprint)


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.dictionaries(st.sampled_from(_TOP) | st.text(max_size=6), JSONISH, max_size=10))
def test_fuzz_arbitrary_documents(doc: dict[str, Any]) -> None:
    _outcome_is_clean(doc)


@_FUZZ
@given(
    base=st.sampled_from([level3, rich]),
    top=st.dictionaries(st.sampled_from(_TOP), JSONISH, max_size=3),
    section=st.tuples(st.integers(0, 2), st.dictionaries(st.sampled_from(_SECTION_KEYS), JSONISH, max_size=3)),
)
def test_fuzz_mutated_valid_documents(base, top: dict[str, Any], section: tuple[int, dict[str, Any]]) -> None:  # noqa: ANN001
    """Close to a valid document, so the fuzzer reaches the deep checks, not just 'id is required'."""
    doc = copy.deepcopy(base())
    doc.update(top)
    if isinstance(doc.get("sections"), list) and len(doc["sections"]) > section[0]:
        entry = doc["sections"][section[0]]
        if isinstance(entry, dict):
            entry.update(section[1])
    _outcome_is_clean(doc)


@settings(max_examples=60, deadline=None)
@given(
    forms=st.lists(st.sampled_from(["A", "B", "C", "D1", "Z9"]), min_size=1, max_size=4, unique=True),
    overlap=st.sampled_from([0, 0.05, 0.2, 0.5, 1]),
    counts=st.tuples(st.integers(1, 60), st.integers(1, 60), st.integers(1, 20)),
    points=st.tuples(st.sampled_from(["0.5", "1", "1.5", "2"]), st.sampled_from(["0.5", "1", "2"])),
    shuffle=st.booleans(),
    x=st.floats(0.5, 0.9).map(lambda v: round(v, 2)),
    band=st.tuples(st.floats(1, 3), st.floats(3, 5)).map(lambda t: [round(t[0], 2), round(t[1], 2)]),
)
def test_round_trip_property(forms, overlap, counts, points, shuffle, x, band) -> None:  # noqa: ANN001
    p1, p3 = (Decimal(p) for p in points)
    total = counts[0] * p1 + counts[1] * p1 + counts[2] * p3
    if total > 100:  # total_points is at most 100
        return
    doc = {
        "id": "T/1", "occupation": OCC, "level": 4, "title": "题", "total_points": str(total), "forms": forms,
        "max_overlap": overlap, "shuffle_options": shuffle,
        "sections": [{"type": "判断", "count": counts[0], "points": str(p1)},
                     {"type": "单选", "count": counts[1], "points": str(p1)},
                     {"type": "多选", "count": counts[2], "points": str(p3)}],
        "importance": {"X": f">={x}"}, "difficulty": {"mean": band},
    }  # fmt: skip
    bp = parse_blueprint(doc)
    again = parse_blueprint(json.loads(json.dumps(bp.document())))
    assert again == bp and again.digest() == bp.digest()
    assert bp.bank_points == total


def test_multi_partial_credit_is_a_multi_section_fraction_that_round_trips_and_reaches_the_instructions() -> None:
    doc = level3()
    multi = next(i for i, s in enumerate(doc["sections"]) if s["type"] == "多选")
    doc["sections"][multi]["partial"] = 0.5
    bp = parse_blueprint(doc)
    section = bp.sections[multi]
    assert section.partial == Decimal("0.5")
    assert f"少选且所选正确的，得{section.points * Decimal('0.5'):g}分" in section.instructions
    assert parse_blueprint(json.loads(json.dumps(bp.document()))) == bp
    issue_at(_set(doc, ("sections", multi, "partial"), 1.5), f"sections[{multi}].partial", "between 0 and 1")
    single = next(i for i, s in enumerate(doc["sections"]) if s["type"] == "单选")
    issue_at(_set(doc, ("sections", single, "partial"), 0.5), f"sections[{single}].partial", "多选 rule")
