"""Tests of the per-examiner marking-quality metrics (examvault.staff.metrics).

The panel fixture is a balanced double-marking design: every two examiners of the panel
co-mark the same number of scripts, so a lenient and a severe examiner shift everyone
else's mean difference by equal and opposite amounts and the normal examiners stay at
zero. That is what lets the test assert *exactly* who is flagged and for what.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections import defaultdict, deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.errors import ValidationError
from examvault.staff.metrics import (
    RULES,
    ExaminerMetrics,
    Mark,
    Thresholds,
    _robust,
    examiner_metrics,
    to_json,
)

MAX = 10.0
ITEMS = 4  # items per script
SCRIPTS_PER_PAIR = 3
NORMAL = ["K01", "K02", "K03", "K04", "K05", "K06"]
LENIENT, SEVERE, FAST, ARBITRATED, ERRATIC, LEADER = "L01", "S01", "F01", "A01", "E01", "Z01"
PANEL = [*NORMAL, LENIENT, SEVERE, FAST, ARBITRATED, ERRATIC]
# Share of max points. Real examiners are never exactly unbiased; the small personal biases of
# the normal ones give the cohort the spread that the robust z measures against.
BIAS = {
    LENIENT: 0.20, SEVERE: -0.20,
    "K01": -0.015, "K02": 0.010, "K03": 0.0, "K04": -0.005, "K05": 0.015, "K06": -0.010,
    FAST: 0.005, ARBITRATED: -0.005, ERRATIC: 0.0,
}  # fmt: skip
NOISE = {ERRATIC: 0.15}  # standard deviation, share of max points; others 0.03
PACE = {  # seconds per item
    "K01": 55, "K02": 60, "K03": 65, "K04": 70, "K05": 58, "K06": 62,
    LENIENT: 61, SEVERE: 66, FAST: 15, ARBITRATED: 64, ERRATIC: 57, LEADER: 60,
}  # fmt: skip
EXPECTED = {
    LENIENT: {"lenient", "disagreement"},  # a +20 % bias is also a large mean |difference|
    SEVERE: {"severe", "disagreement"},
    ERRATIC: {"disagreement"},
    FAST: {"speed"},
    ARBITRATED: {"arbitration_rate"},
}


def panel_marks(seed: int = 20260501, bias: dict[str, float] | None = None) -> list[Mark]:
    """Every pair of PANEL co-marks SCRIPTS_PER_PAIR scripts; one in three of ARBITRATED's go to LEADER."""
    rng = np.random.default_rng(seed)
    bias = BIAS if bias is None else bias
    marks: list[Mark] = []
    n = 0
    for a, b in itertools.combinations(PANEL, 2):
        for k in range(SCRIPTS_PER_PAIR):
            n += 1
            script = f"M{n:04d}"
            for i in range(ITEMS):
                true = rng.uniform(0.3, 0.7) * MAX
                arbitrated = ARBITRATED in (a, b) and k == 0  # first script of each pairing
                pair = [(a, b)[j] for j in rng.permutation(2)]  # who marks first is random
                for who in pair:
                    marks.append(_mark(rng, script, f"Q{i + 1}", who, true, arbitrated, bias[who]))
                if arbitrated:
                    marks.append(_mark(rng, script, f"Q{i + 1}", LEADER, true, True, 0.0, timed=False))
    return marks


def _mark(rng: np.random.Generator, script: str, item: str, who: str, true: float, arbitrated: bool,
          bias: float, timed: bool = True) -> Mark:  # fmt: skip
    raw = true + (bias + rng.normal(0.0, NOISE.get(who, 0.03))) * MAX
    score = float(np.clip(round(raw * 2) / 2, 0.0, MAX))  # half points, as marked on paper
    seconds = max(1.0, PACE[who] * (1 + rng.normal(0.0, 0.1))) if timed else None
    return Mark(script, item, who, score, MAX, seconds, arbitrated)


def by_marker(result: list[ExaminerMetrics]) -> dict[str, ExaminerMetrics]:
    return {e.marker: e for e in result}


def rules(e: ExaminerMetrics) -> set[str]:
    return {str(f["rule"]) for f in e.flags}


@pytest.fixture(scope="module")
def panel() -> list[Mark]:
    return panel_marks()


@pytest.fixture(scope="module")
def panel_result(panel: list[Mark]) -> dict[str, ExaminerMetrics]:
    return by_marker(examiner_metrics(panel))


# ---------------------------------------------------------------- the panel


def test_panel_flags_exactly_the_planted_examiners(panel_result: dict[str, ExaminerMetrics]) -> None:
    got = {m: rules(e) for m, e in panel_result.items() if e.flags}
    assert got == EXPECTED
    assert set(panel_result) == {*PANEL, LEADER}


def test_panel_metrics_have_the_planted_sizes(panel_result: dict[str, ExaminerMetrics]) -> None:
    per_examiner = (len(PANEL) - 1) * SCRIPTS_PER_PAIR * ITEMS
    for m in PANEL:
        assert panel_result[m].pairs == panel_result[m].marks == per_examiner
    assert panel_result[LENIENT].mean_diff == pytest.approx(0.22, abs=0.02)  # +0.20 minus the severe's -0.20/10
    assert panel_result[SEVERE].mean_diff == pytest.approx(-0.22, abs=0.02)
    for m in NORMAL:
        assert abs(panel_result[m].mean_diff or 0) < 0.03
        assert panel_result[m].median_seconds == pytest.approx(PACE[m] * ITEMS, rel=0.1)
    assert panel_result[ARBITRATED].arbitration_rate == pytest.approx(1 / SCRIPTS_PER_PAIR)
    assert panel_result[NORMAL[0]].arbitration_rate == pytest.approx(1 / (len(PANEL) - 1) / SCRIPTS_PER_PAIR)
    assert panel_result[FAST].median_seconds == pytest.approx(PACE[FAST] * ITEMS, rel=0.1)
    # The leader only arbitrates: compared with the pair it settled, never flagged for arbitrating.
    leader = panel_result[LEADER]
    assert leader.pairs == leader.marks == (len(PANEL) - 1) * ITEMS
    assert leader.arbitration_rate is None and leader.median_seconds is None and leader.flags == []


def test_flags_say_what_fired_and_where_the_cut_is(panel_result: dict[str, ExaminerMetrics]) -> None:
    for e in panel_result.values():
        for f in e.flags:
            assert set(f) == {"rule", "value", "cut", "message"} and f["rule"] in RULES
            value, cut = float(f["value"]), float(f["cut"])
            if f["rule"] in ("severe", "speed"):
                assert value < cut
            else:
                assert value > cut
            assert isinstance(f["message"], str) and f["message"]
    lenient = next(f for f in panel_result[LENIENT].flags if f["rule"] == "lenient")
    assert lenient["value"] == panel_result[LENIENT].mean_diff
    assert 0 < float(lenient["cut"]) <= Thresholds().bias_share  # the nearer of the z cut and the absolute limit
    arb = next(f for f in panel_result[ARBITRATED].flags if f["rule"] == "arbitration_rate")
    assert arb["cut"] == Thresholds().arbitration_rate
    assert "33.3% of 120 double-marked items" in str(arb["message"])


def test_bias_is_flagged_by_z_alone() -> None:
    """With the absolute limit out of reach, the robust z alone separates ±12 % from the cohort."""
    marks = panel_marks(bias=BIAS | {LENIENT: 0.12, SEVERE: -0.12})
    res = by_marker(examiner_metrics(marks, Thresholds(bias_share=0.5)))
    lenient = next(f for f in res[LENIENT].flags if f["rule"] == "lenient")
    severe = next(f for f in res[SEVERE].flags if f["rule"] == "severe")
    assert 0 < float(lenient["cut"]) < float(lenient["value"]) < 0.5
    assert -0.5 < float(severe["value"]) < float(severe["cut"]) < 0
    assert "robust z +" in str(lenient["message"]) and "robust z -" in str(severe["message"])
    others = {m: rules(e) & {"lenient", "severe"} for m, e in res.items() if m not in (LENIENT, SEVERE)}
    assert not any(others.values()), others
    # Take the z test away too (a z nobody can reach) and nothing is left to fire.
    neither = by_marker(examiner_metrics(marks, Thresholds(bias_share=0.5, z=1e6)))
    assert not any(rules(e) & {"lenient", "severe"} for e in neither.values())


def test_a_small_bias_is_not_flagged_by_z_below_min_effect() -> None:
    """A 2 % lenient examiner in a tight cohort passes the z cut but not min_effect (3 % by default)."""
    bias = {f"M{k}": 0.002 * ((k % 3) - 1) for k in range(8)} | {"M0": 0.02}
    marks = []
    for a, b in itertools.combinations(sorted(bias), 2):
        for n in range(25):
            script = f"{a}{b}-{n}"
            marks += [Mark(script, "1", who, 2.5 + bias[who] * 5, 5.0) for who in (a, b)]
    loose = by_marker(examiner_metrics(marks, Thresholds(min_effect=0.0)))
    assert "lenient" in rules(loose["M0"])
    default = by_marker(examiner_metrics(marks))
    assert not any(rules(e) & {"lenient", "severe", "disagreement"} for e in default.values())


def test_absolute_bias_limit_flags_when_z_cannot() -> None:
    """Two examiners only: the z cut is out of reach (|z| = 0.67), bias_share still fires."""
    marks = []
    for i in range(25):
        marks += [Mark(f"S{i}", "Q1", "A", 6.0, 10.0), Mark(f"S{i}", "Q1", "B", 4.5, 10.0)]
    res = by_marker(examiner_metrics(marks))
    assert rules(res["A"]) == {"lenient"}
    assert rules(res["B"]) == {"severe"}
    assert res["A"].flags[0]["cut"] == pytest.approx(0.10)
    loose = by_marker(examiner_metrics(marks, Thresholds(bias_share=0.2)))
    assert loose["A"].flags == [] and loose["B"].flags == []


# ---------------------------------------------------------------- min_pairs


def test_examiner_below_min_pairs_is_reported_but_never_flagged(panel: list[Mark]) -> None:
    rng = np.random.default_rng(7)
    novice = []
    for i in range(10):  # 10 pairs, each extreme: +40 %, 5 s, always arbitrated
        partner = NORMAL[i % len(NORMAL)]
        true = round(rng.uniform(1, 5), 1)
        novice += [Mark(f"N{i}", "Q1", partner, true, MAX, 60.0, True),
                   Mark(f"N{i}", "Q1", "X99", true + 4, MAX, 5.0, True)]  # fmt: skip
    res = by_marker(examiner_metrics(panel + novice))
    x = res["X99"]
    assert x.pairs == 10 and x.mean_diff == pytest.approx(0.4)
    assert x.arbitration_rate == 1.0 and x.median_seconds == 5.0
    assert x.flags == []
    # The gate is what kept it quiet: at min_pairs=10 the same examiner is flagged on every rule.
    res10 = by_marker(examiner_metrics(panel + novice, Thresholds(min_pairs=10)))
    assert {"lenient", "disagreement", "arbitration_rate", "speed"} <= rules(res10["X99"])


def test_arbitration_rate_needs_min_pairs_of_first_round_marking() -> None:
    """A leader with 25 arbitrations but only 3 first-round pairs: a rate over 3 accuses nobody."""
    marks = []
    for i in range(25):
        marks += [Mark(f"S{i}", "Q1", "A", 5.0, 10.0, arbitrated=True), Mark(f"S{i}", "Q1", "B", 5.0, 10.0),
                  Mark(f"S{i}", "Q1", "Z", 5.0, 10.0)]  # fmt: skip
    for i in range(3):
        marks += [Mark(f"T{i}", "Q1", "Z", 5.0, 10.0, arbitrated=True), Mark(f"T{i}", "Q1", "C", 5.0, 10.0)]
    res = by_marker(examiner_metrics(marks))
    assert (res["Z"].pairs, res["Z"].arbitration_rate) == (28, 1.0)
    assert res["Z"].flags == []
    assert rules(res["A"]) == rules(res["B"]) == {"arbitration_rate"}
    assert rules(by_marker(examiner_metrics(marks, Thresholds(min_pairs=3)))["Z"]) == {"arbitration_rate"}


def test_examiners_below_min_pairs_do_not_move_the_reference(panel: list[Mark]) -> None:
    """Thirteen wild newcomers marking among themselves leave everyone else's numbers and cuts alone."""
    wild = []
    for i, (a, b) in enumerate(zip(range(13), range(1, 14), strict=True)):
        wild += [Mark(f"W{i}", "Q1", f"Y{a:02d}", 9.0, MAX, 3.0), Mark(f"W{i}", "Q1", f"Y{b:02d}", 1.0, MAX, 3.0)]
    base = by_marker(examiner_metrics(panel))
    with_wild = by_marker(examiner_metrics(panel + wild))
    assert {m: e for m, e in with_wild.items() if not m.startswith("Y")} == base
    assert all(e.flags == [] for m, e in with_wild.items() if m.startswith("Y"))


# ---------------------------------------------------------------- definitions on small data


def test_pairs_and_third_mark_by_hand() -> None:
    marks = [
        Mark("S1", "Q1", "A", 7.0, 10.0, 30.0, True),
        Mark("S1", "Q1", "B", 5.0, 10.0, 40.0, True),
        Mark("S1", "Q1", "C", 8.0, 10.0, None, True),  # arbitration: against (7 + 5) / 2
        Mark("S1", "Q2", "A", 2.0, 4.0, 10.0),
        Mark("S1", "Q2", "B", 3.0, 4.0, 20.0),
        Mark("S2", "Q1", "A", 9.0, 10.0, 50.0),  # single-marked: counts in marks, not pairs
    ]
    res = by_marker(examiner_metrics(marks))
    a, b, c = res["A"], res["B"], res["C"]
    assert (a.marks, a.pairs, b.marks, b.pairs, c.marks, c.pairs) == (3, 2, 2, 2, 1, 1)
    assert a.mean_diff == pytest.approx((0.2 + -0.25) / 2)
    assert b.mean_diff == pytest.approx((-0.2 + 0.25) / 2)
    assert a.mean_abs_diff == b.mean_abs_diff == pytest.approx((0.2 + 0.25) / 2)
    assert c.mean_diff == pytest.approx(0.2) and c.mean_abs_diff == pytest.approx(0.2)
    assert a.arbitration_rate == b.arbitration_rate == pytest.approx(0.5)
    assert c.arbitration_rate is None  # arbitrating is not being arbitrated
    assert a.median_seconds == pytest.approx(45.0)  # S1: 30 + 10, S2: 50
    assert b.median_seconds == pytest.approx(60.0) and c.median_seconds is None
    assert [e.marker for e in examiner_metrics(reversed(marks[3:]))] == ["A", "B"]  # sorted by code


def test_third_mark_is_decided_by_order_within_the_script_item() -> None:
    ab_then_c = [Mark("S1", "Q1", "A", 7.0, 10.0), Mark("S1", "Q1", "B", 5.0, 10.0), Mark("S1", "Q1", "C", 8.0, 10.0)]
    c_first = [ab_then_c[2], *ab_then_c[:2]]  # now C and A are the pair, B the third mark
    res = by_marker(examiner_metrics(c_first))
    assert res["C"].mean_diff == pytest.approx(0.1) and res["A"].mean_diff == pytest.approx(-0.1)
    assert res["B"].mean_diff == pytest.approx(5 / 10 - 7.5 / 10)
    assert by_marker(examiner_metrics(ab_then_c))["B"].mean_diff == pytest.approx(-0.2)


def test_arbitrated_counts_for_the_script_item_when_any_mark_says_so() -> None:
    marks = [Mark("S1", "Q1", "A", 7.0, 10.0, arbitrated=True), Mark("S1", "Q1", "B", 5.0, 10.0),
             Mark("S1", "Q2", "A", 7.0, 10.0), Mark("S1", "Q2", "B", 5.0, 10.0)]  # fmt: skip
    res = by_marker(examiner_metrics(marks))
    assert res["A"].arbitration_rate == res["B"].arbitration_rate == 0.5


def test_script_with_an_untimed_mark_is_left_out_of_the_time() -> None:
    marks = [
        Mark("S1", "Q1", "A", 1, 2, 100.0), Mark("S1", "Q2", "A", 1, 2, None),  # incomplete: skipped
        Mark("S2", "Q1", "A", 1, 2, 30.0), Mark("S2", "Q2", "A", 1, 2, 40.0),
        Mark("S3", "Q1", "A", 1, 2, 80.0), Mark("S4", "Q1", "A", 1, 2, 90.0),
    ]  # fmt: skip
    (a,) = examiner_metrics(marks)
    assert a.median_seconds == pytest.approx(80.0)  # median of 70, 80, 90
    assert a.pairs == 0 and a.mean_diff is None and a.mean_abs_diff is None and a.arbitration_rate is None


def test_no_marks_no_metrics() -> None:
    assert examiner_metrics([]) == []


# ---------------------------------------------------------------- robust scale


def test_robust_scale_falls_back_to_mean_absolute_deviation() -> None:
    assert _robust([1.0, 2.0, 3.0, 4.0, 100.0]) == pytest.approx((3.0, 1.0 * 1.4826))
    assert _robust([1.0, 1.0, 1.0, 1.0, 5.0]) == pytest.approx((1.0, 0.8 * 1.2533))  # MAD 0
    assert _robust([2.0, 2.0, 2.0]) is None
    assert _robust([240.0, 240.0 + 1e-12, 240.0]) is None  # rounding noise is no spread
    assert _robust([]) is None


def _round_robin(pace: dict[str, float], rounds: int = 3) -> list[Mark]:
    """Examiners who always agree, each at a fixed pace: only time can single anyone out."""
    marks, n = [], 0
    for _ in range(rounds):
        for a, b in itertools.combinations(sorted(pace), 2):
            n += 1
            for who in (a, b):
                marks.append(Mark(f"S{n}", "Q1", who, 3.0, 5.0, pace[who]))
    return marks


def test_speed_flag_when_mad_is_zero_uses_the_fallback() -> None:
    pace = {f"K{i}": 60.0 for i in range(6)} | {"F": 10.0}
    res = by_marker(examiner_metrics(_round_robin(pace, rounds=4), Thresholds(min_pairs=20)))
    assert {m: rules(e) for m, e in res.items() if e.flags} == {"F": {"speed"}}
    assert all(e.mean_diff == 0 and e.mean_abs_diff == 0 for e in res.values())


def test_no_spread_no_z_flags() -> None:
    res = examiner_metrics(_round_robin({f"K{i}": 60.0 for i in range(7)}, rounds=4))
    assert all(e.pairs >= 20 and e.flags == [] for e in res)


# ---------------------------------------------------------------- properties


@st.composite
def marking(draw: st.DrawFn, max_markers_per_item: int = 3) -> list[Mark]:
    markers = ["A", "B", "C", "D", "E"]
    marks = []
    for g in range(draw(st.integers(1, 25))):
        script = f"S{draw(st.integers(0, 5))}"
        max_points = draw(st.sampled_from([1.0, 2.0, 4.0, 5.0, 10.0, 15.0]))
        arbitrated = draw(st.booleans())
        who = draw(st.lists(st.sampled_from(markers), min_size=1, max_size=max_markers_per_item, unique=True))
        for m in who:
            score = draw(st.floats(0.0, max_points))
            seconds = draw(st.none() | st.floats(0.0, 900.0))
            marks.append(Mark(script, f"Q{g}", m, score, max_points, seconds, arbitrated and draw(st.booleans())))
    return marks


def _interleave(marks: list[Mark], perm: list[int]) -> list[Mark]:
    """A reordering of `marks` that keeps each script item's marks in their original order."""
    queues: dict[tuple[str, str], deque[Mark]] = defaultdict(deque)
    for m in marks:
        queues[(m.script, m.item)].append(m)
    return [queues[(marks[i].script, marks[i].item)].popleft() for i in perm]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_metrics_do_not_depend_on_the_order_of_marks(data: st.DataObject) -> None:
    marks = data.draw(marking())
    perm = data.draw(st.permutations(range(len(marks))))
    t = Thresholds(min_pairs=1, z=0.5)  # low bars, so flags are compared too
    assert examiner_metrics(_interleave(marks, perm), t) == examiner_metrics(marks, t)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_double_marking_alone_is_invariant_to_any_shuffle(data: st.DataObject) -> None:
    marks = data.draw(marking(max_markers_per_item=2))
    shuffled = data.draw(st.permutations(marks))
    t = Thresholds(min_pairs=1, z=0.5)
    assert examiner_metrics(shuffled, t) == examiner_metrics(marks, t)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from([1.0, 3.0, 10.0]), st.floats(0, 1), st.floats(0, 1), st.none() | st.floats(0, 1)),
        min_size=1, max_size=30,
    ),
)  # fmt: skip
def test_two_markers_on_the_same_pairs_have_opposite_mean_diff(
    rows: list[tuple[float, float, float, float | None]],
) -> None:
    marks = []
    for i, (mp, a, b, c) in enumerate(rows):
        marks += [Mark(f"S{i}", "Q1", "A", a * mp, mp), Mark(f"S{i}", "Q1", "B", b * mp, mp)]
        if c is not None:  # an arbitration afterwards must not disturb the pair
            marks.append(Mark(f"S{i}", "Q1", "C", c * mp, mp, arbitrated=True))
    res = by_marker(examiner_metrics(marks))
    assert res["A"].mean_diff is not None and res["B"].mean_diff is not None
    assert res["A"].mean_diff == -res["B"].mean_diff
    assert res["A"].mean_abs_diff == res["B"].mean_abs_diff
    assert res["A"].pairs == res["B"].pairs == len(rows)


def _reference(marks: list[Mark]) -> dict[str, tuple[int, int, float | None, float | None, float | None, float | None]]:
    """The definitions written out the slow, obvious way."""
    groups: dict[tuple[str, str], list[Mark]] = defaultdict(list)
    for m in marks:
        groups[(m.script, m.item)].append(m)
    diffs: dict[str, list[float]] = defaultdict(list)
    first_round: dict[str, list[bool]] = defaultdict(list)
    for g in groups.values():
        if len(g) < 2:
            continue
        arb = any(m.arbitrated for m in g)
        a, b = g[0].score / g[0].max_points, g[1].score / g[1].max_points
        diffs[g[0].marker].append(a - b)
        diffs[g[1].marker].append(b - a)
        first_round[g[0].marker].append(arb)
        first_round[g[1].marker].append(arb)
        for m in g[2:]:
            diffs[m.marker].append(m.score / m.max_points - (a + b) / 2)
    per_script: dict[str, dict[str, list[float | None]]] = defaultdict(lambda: defaultdict(list))
    for m in marks:
        per_script[m.marker][m.script].append(m.seconds)
    out = {}
    for who in {m.marker for m in marks}:
        d = diffs[who]
        sums = [sum(s for s in v if s is not None) for v in per_script[who].values() if None not in v]
        out[who] = (
            sum(m.marker == who for m in marks),
            len(d),
            statistics.fmean(d) if d else None,
            statistics.fmean(abs(x) for x in d) if d else None,
            sum(first_round[who]) / len(first_round[who]) if first_round[who] else None,
            statistics.median(sums) if sums else None,
        )
    return out


@settings(max_examples=200, deadline=None)
@given(marks=marking())
def test_metrics_match_the_definitions(marks: list[Mark]) -> None:
    got = {e.marker: e for e in examiner_metrics(marks)}
    want = _reference(marks)
    assert set(got) == set(want)
    for who, (n, pairs, md, mad, rate, secs) in want.items():
        e = got[who]
        assert (e.marks, e.pairs) == (n, pairs)
        for value, expected in ((e.mean_diff, md), (e.mean_abs_diff, mad), (e.arbitration_rate, rate),
                                (e.median_seconds, secs)):  # fmt: skip
            assert (value is None) == (expected is None)
            if expected is not None:
                assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)


# ---------------------------------------------------------------- to_json


def test_to_json_is_plain_and_rounded(panel_result: dict[str, ExaminerMetrics]) -> None:
    e = panel_result[LENIENT]
    d = to_json(e)
    assert json.loads(json.dumps(d)) == d
    assert d["mean_diff"] == round(e.mean_diff or 0, 4) and d["mean_diff"] != e.mean_diff
    assert d["median_seconds"] == round(e.median_seconds or 0, 4)
    flags = d["flags"]
    assert isinstance(flags, list)
    for f in flags:
        for key in ("value", "cut"):
            assert f[key] == round(f[key], 4)
    assert {f["rule"] for f in flags} == {"lenient", "disagreement"}
    assert any(f["value"] != round(f["value"], 2) for f in flags)  # 4 places kept, not fewer
    leader = to_json(panel_result[LEADER])
    assert leader["arbitration_rate"] is None and leader["median_seconds"] is None and leader["flags"] == []
    assert type(leader["marks"]) is int and type(leader["mean_diff"]) is float


# ---------------------------------------------------------------- validation


def _issue_text(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(exc.value)


def test_duplicate_mark_is_rejected_naming_it() -> None:
    marks = [Mark("M0007", "Q3", "K12", 4.0, 10.0), Mark("M0007", "Q3", "K12", 5.0, 10.0),
             Mark("M0007", "Q3", "K13", 5.0, 10.0)]  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        examiner_metrics(marks)
    assert len(exc.value.issues) == 1
    assert "script M0007, item Q3, marker K12" in _issue_text(exc) and "2 times" in _issue_text(exc)


@pytest.mark.parametrize(
    ("score", "max_points", "column"),
    [(10.5, 10.0, "score"), (-0.5, 10.0, "score"), (math.nan, 10.0, "score"), (1.0, 0.0, "max_points"),
     (1.0, -5.0, "max_points"), (1.0, math.inf, "max_points")],
)  # fmt: skip
def test_score_out_of_range_is_rejected_naming_it(score: float, max_points: float, column: str) -> None:
    marks = [Mark("M0001", "Q1", "K01", 5.0, 10.0), Mark("M0001", "Q2", "K02", score, max_points)]
    with pytest.raises(ValidationError) as exc:
        examiner_metrics(marks)
    (issue,) = exc.value.issues
    assert issue.location == "script M0001, item Q2, marker K02" and issue.column == column


def test_score_at_the_bounds_is_accepted() -> None:
    res = by_marker(examiner_metrics([Mark("S", "Q", "A", 0.0, 2.0), Mark("S", "Q", "B", 2.0, 2.0)]))
    assert res["A"].mean_diff == -1.0 and res["B"].mean_diff == 1.0


def test_every_problem_is_reported_at_once() -> None:
    marks = [Mark("S1", "Q1", "A", 11.0, 10.0), Mark("S1", "Q1", "B", 5.0, 12.0),
             Mark("S2", "Q1", "A", 1.0, 10.0, seconds=-3.0), Mark("S3", "Q1", "A", 1.0, 10.0),
             Mark("S3", "Q1", "A", 1.0, 10.0)]  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        examiner_metrics(marks)
    columns = sorted(i.column for i in exc.value.issues)
    assert columns == ["", "max_points", "score", "seconds"]
    assert "markers disagree on max_points: A 10.0, B 12.0" in _issue_text(exc)


@pytest.mark.parametrize(
    "kwargs", [{"min_pairs": 0}, {"min_pairs": 2.5}, {"z": 0}, {"z": math.nan}, {"bias_share": -0.1},
               {"arbitration_rate": 1.5}],
)  # fmt: skip
def test_thresholds_that_make_no_sense_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="thresholds"):
        Thresholds(**kwargs)  # type: ignore[arg-type]
