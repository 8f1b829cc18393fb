"""Blind double marking on a real sitting: form A of a 30-point paper — the 16 objective items of the
scoring tests (20 points) and two 5-point 简答 (numbers 17 and 18, marking points 3 + 2) — sealed
scripts, markers per item, signed marks and their history, arbitration exactly at the threshold,
统分 ≠ 复核, the seal kept closed until then, and the theory score from both halves.

The candidates of tests/scoring/conftest.py sit it: persons 1–3 write the theory paper (4 is absent,
5 refused at the door, 6 免考).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from examvault.accounts.service import add_user
from examvault.bank import Bank
from examvault.crypto.records import open_fields, row_of
from examvault.crypto.signing import SigningKey
from examvault.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from examvault.scoring.marking import (
    assign_markers,
    check,
    history,
    mark,
    queue,
    seal_scripts,
    settle,
    status,
    total,
    unmask,
)
from examvault.scoring.models import SCORED_RESPONSE, Mark, ScoredResponse, Script
from examvault.scoring.parts import import_part_scores
from examvault.scoring.responses import import_responses
from examvault.scoring.results import compute, show
from tests.export.test_sealing import Sealable, make_sealable
from tests.scoring.conftest import SESSION, Scoring, run_cli, write_csv
from tests.scoring.test_scoring_flow import SKILL, all_right, door, mixed, refused, sheet_rows, sixty

MARKERS = ("m1", "m2", "m3")
LEADER = "lead"
SEALS = {1: "80001", 2: "80002", 3: "80003"}  # person → 密封号 stamped on the booklet


@pytest.fixture
def sealable(make_bank: Callable[..., Bank], tmp_path: Path) -> Sealable:
    """Overrides the conftest's paper: the same objective part plus two 5-point 简答."""
    return make_sealable(make_bank, tmp_path, subjective=2)


class Blind:
    def __init__(self, sc: Scoring) -> None:
        self.sc = sc
        self.keys: dict[str, SigningKey] = {}
        with sc.s.bank("admin").transaction() as s:
            for name in (*MARKERS, LEADER):
                add_user(s, name, ["examiner"], f"考评员{name}")
        for name in (*MARKERS, LEADER):
            self.keys[name] = sc.s.holder(name, "examiner").key

    def bank(self, name: str) -> Bank:
        return self.sc.s.bank(name)

    def mark(self, who: str, person: int, number: int, points: list[float], **kw: Any) -> dict[str, Any]:
        return mark(self.bank(who), SESSION, SEALS[person], number, points, signer=self.keys[who], **kw)


def objective_items(sc: Scoring) -> list[dict[str, Any]]:
    return [i for i in sc.items() if i["type"] != "简答"]


def prepared(sc: Scoring) -> Blind:
    """Key imported, door recorded, answer sheets of persons 1–3 read, scripts sealed, markers assigned."""
    key = sc.keyed()
    assert [(i["number"], i["marking_points"]) for i in key["items"] if i["type"] == "简答"] == [(17, [3.0, 2.0]), (18, [3.0, 2.0])]
    door(sc)
    items = objective_items(sc)
    answers = {1: sixty(items), 2: all_right(items), 3: mixed(items)[0]}
    write_csv(sc.tmp / "答题卡.csv", ["准考证号", "卷别", *map(str, range(1, 17))], [[sc.tickets[n], "A", *a] for n, a in answers.items()])
    assert import_responses(sc.admin, SESSION, sc.tmp / "答题卡.csv")["candidates"] == 3
    seal_file = write_csv(sc.tmp / "密封登记.csv", ["准考证号", "卷别", "密封号"], [[sc.tickets[n], "A", code] for n, code in SEALS.items()])
    assert seal_scripts(sc.admin, SESSION, seal_file) == {"session": SESSION, "scripts": 3, "total": 3}
    blind = Blind(sc)
    assign_markers(sc.admin, SESSION, [17, 18], markers=list(MARKERS), leader=LEADER)
    return blind


# ---------------------------------------------------------------- arbitration, pure


def test_arbitration_triggers_only_beyond_the_threshold_exactly() -> None:
    # 5 points × 20 % = 1 point: marks 1 apart agree, 1.5 apart go to a third marker
    assert settle({"first": 3.0, "second": 4.0}, 5, 0.2) == settle({"first": 4.0, "second": 3.0}, 5, 0.2)
    assert settle({"first": 3.0, "second": 4.0}, 5, 0.2).score == 3.5
    assert settle({"first": 3.0, "second": 4.5}, 5, 0.2).needs == "third"
    # 15 points × 20 % = 3 exactly, which floats make 3.0000000000000004: still exactly 3
    assert settle({"first": 10.0, "second": 13.0}, 15, 0.2).needs is None
    assert settle({"first": 10.0, "second": 13.5}, 15, 0.2).needs == "third"
    # the third mark joins the nearer of the two when within the threshold; otherwise the leader decides
    assert settle({"first": 1.0, "second": 4.0, "third": 3.0}, 5, 0.2).score == 3.5
    assert settle({"first": 0.0, "second": 5.0, "third": 2.5}, 5, 0.2).needs == "leader"
    # a third mark equally near both (1.5 from 1 and from 4, within 2.5): the mean of the three
    equal = settle({"first": 1.0, "second": 4.0, "third": 2.5}, 5, 0.5)
    assert (equal.needs, equal.score, equal.how) == (None, 2.5, "三评平均")
    decided = settle({"first": 0.0, "second": 5.0, "third": 2.5, "leader": 2.0}, 5, 0.2)
    assert (decided.needs, decided.score, decided.how) == (None, 2.0, "组长裁定")
    assert settle({}, 5, 0.2).needs == "first" and settle({"first": 2.0}, 5, 0.2).needs == "second"


halves = st.integers(0, 20).map(lambda k: k / 2)


@given(a=halves, b=halves, c=halves, fraction=st.sampled_from([0.1, 0.2, 0.25, 0.3]))
def test_settling_agrees_with_the_rule_for_any_marks(a: float, b: float, c: float, fraction: float) -> None:
    points = 10.0
    limit = points * fraction
    two = settle({"first": a, "second": b}, points, fraction)
    if abs(a - b) <= limit + 1e-9:
        assert (two.needs, two.score) == (None, (a + b) / 2)
    else:
        assert two.needs == "third"
        three = settle({"first": a, "second": b, "third": c}, points, fraction)
        assert three.needs == "leader" or min(a, b, c) <= (three.score or 0) <= max(a, b, c)
        if min(abs(c - a), abs(c - b)) > limit + 1e-9:
            assert three.needs == "leader"


# ---------------------------------------------------------------- the whole blind flow


def test_blind_double_marking_from_seal_to_results(scoring: Scoring) -> None:
    sc = scoring
    b = prepared(sc)
    # double marking: persons 1 and 2 agree within 1 point; person 3's item 17 goes to a third marker
    # and then the leader; item 18 of person 3 is exactly 1 point apart: no arbitration
    plan = {(1, 17): ([2, 1], [2.5, 1]), (1, 18): ([1, 1], [1, 0.5]), (2, 17): ([3, 2], [3, 2]), (2, 18): ([3, 2], [2.5, 1.5]),
            (3, 17): ([3, 2], [1, 0.5]), (3, 18): ([2, 1], [2, 2])}  # fmt: skip
    for (n, item), (first, second) in plan.items():
        assert b.mark("m1", n, item, first)["role"] == "first"
        assert b.mark("m2", n, item, second)["role"] == "second"
    assert queue(b.bank("m3"), SESSION) == [{"script": "80003", "number": 17, "as": "third", "marking_points": [3.0, 2.0]}]
    assert queue(b.bank(LEADER), SESSION) == [{"script": "80003", "number": 17, "as": "leader", "marking_points": [3.0, 2.0]}]
    refused(sc, lambda: b.mark("m3", 1, 17, [2, 1]), ConflictError, "double-marked and settled")
    refused(sc, lambda: b.mark(LEADER, 1, 17, [2, 1]), ConflictError, "not in dispute")
    assert b.mark("m3", 3, 17, [3, 0])["role"] == "third"  # 3: 1.5 from 1.5 and 2 from 5 → still disputed
    refused(sc, lambda: b.mark("m3", 3, 17, [3, 2]), ValidationError, "a change says why")
    assert b.mark(LEADER, 3, 17, [2, 1])["role"] == "leader"

    # the seal stays closed: status, queues and history show 密封号 only, unmasking is refused
    tickets = set(sc.tickets.values())
    shown = json.dumps([status(sc.admin, SESSION), queue(b.bank("m1"), SESSION), history(sc.admin, SESSION, "80003")], ensure_ascii=False)
    assert not any(t in shown for t in tickets)
    assert all(s.candidate_id is None for s in sc.rows(Script))
    refused(sc, lambda: unmask(sc.admin, SESSION), ConflictError, "stays closed .* not totalled")
    refused(sc, lambda: compute(sc.admin, SESSION), ConflictError, "subjective items are not marked")

    # 统分 and 复核 by two different examiners
    t = total(b.bank("m1"), SESSION, signer=b.keys["m1"])
    refused(sc, lambda: unmask(sc.admin, SESSION), ConflictError, "not checked")
    refused(sc, lambda: check(b.bank("m1"), SESSION, signer=b.keys["m1"]), PermissionDenied, "cannot also check")
    refused(sc, lambda: b.mark("m1", 1, 17, [3, 2], reason="复查"), ConflictError, "totalled; marks are fixed")
    assert check(b.bank("m2"), SESSION, signer=b.keys["m2"])["checked"]
    assert unmask(sc.admin, SESSION)["scripts"] == 3
    refused(sc, lambda: unmask(sc.admin, SESSION), ConflictError, "already unmasked")

    # scores by hand: person 1 (2.5+3.5... per item mean) — item 17: (3 + 3.5)/2, item 18: (2 + 1.5)/2
    expected_subjective = {1: (3 + 3.5) / 2 + (2 + 1.5) / 2, 2: 5 + (5 + 4) / 2, 3: 3 + (3 + 4) / 2}
    assert t["mean"] == pytest.approx(sum(expected_subjective.values()) / 3)
    by_person = {n: next(r for r in sc.rows(ScoredResponse) if r.candidate_id == cid) for n, cid in _ids(sc).items() if n in SEALS}
    assert {n: r.subjective for n, r in by_person.items()} == expected_subjective
    with sc.admin.transaction() as s:
        detail = json.loads(open_fields(sc.admin.keyring(s), SCORED_RESPONSE, row_of(SCORED_RESPONSE, s.get(ScoredResponse, by_person[3].id)))["detail"])
    assert [(x["number"], x["points"]) for x in detail["subjective"]] == [(17, 3.0), (18, 3.5)]
    import_part_scores(sc.admin, SESSION, sc.sheet("评分记录.csv", sheet_rows(sc, SKILL)), part="skill")
    compute(sc.admin, SESSION)
    theory = {x["ticket"]: x["theory"] for x in show(sc.admin, SESSION)["results"]}
    objective = {1: 12.0, 2: 20.0, 3: 8.0}  # the scoring tests' hand-computed objective points of 20
    for n, subj in expected_subjective.items():
        assert theory[sc.tickets[n]] == int((objective[n] + subj) * 1000 / 30) / 10, n


def _ids(sc: Scoring) -> dict[int, Any]:
    from examvault.registration.models import Candidate

    by_ticket = {c.ticket: c.id for c in sc.rows(Candidate)}
    return {n: by_ticket[t] for n, t in sc.tickets.items()}


def test_marks_are_entered_point_by_point_by_assigned_markers_with_their_own_keys_and_changes_keep_history(scoring: Scoring) -> None:
    sc = scoring
    b = prepared(sc)
    refused(sc, lambda: b.mark("m1", 1, 17, [3.5, 0]), ValidationError, "marking point 1 of item 17: 3.5 is not 0–3")
    refused(sc, lambda: b.mark("m1", 1, 17, [1.25, 0]), ValidationError, "half points")
    refused(sc, lambda: b.mark("m1", 1, 17, [3]), ValidationError, "2 marking point")
    refused(sc, lambda: mark(b.bank("m1"), SESSION, "99999", 17, [1, 1], signer=b.keys["m1"]), NotFoundError, "no script with 密封号 99999")
    refused(sc, lambda: b.mark("m1", 1, 5, [1]), NotFoundError, "item 5 .* no markers")
    refused(sc, lambda: mark(b.bank("m1"), SESSION, "80001", 17, [1, 1], signer=b.keys["m2"]), PermissionDenied, "not the one registered")
    refused(sc, lambda: mark(sc.admin, SESSION, "80001", 17, [1, 1], signer=b.keys["m1"]), PermissionDenied, "marking.mark")
    with sc.s.bank("admin").transaction() as s:
        add_user(s, "m9", ["examiner"], "未分配")
    refused(sc, lambda: mark(b.bank("m9"), SESSION, "80001", 17, [1, 1], signer=b.keys["m1"]), PermissionDenied, "not assigned")

    b.mark("m1", 1, 17, [2, 1])
    b.mark("m1", 1, 17, [3, 1], reason="漏看第二段，要点1补给分")
    b.mark("m2", 1, 17, [3, 2])
    h = history(sc.admin, SESSION, "80001")
    rows = [(m["marker"], m["role"], m["total"], m["current"], m["reason"], m["signature_valid"]) for m in h["marks"]]
    assert rows == [("m1", "first", 3.0, False, "", True), ("m1", "first", 4.0, True, "漏看第二段，要点1补给分", True),
                    ("m2", "second", 5.0, True, "", True)]  # fmt: skip
    assert h["items"][17] == {"score": 4.5, "how": "两评平均", "needs": None}
    refused(sc, lambda: history(b.bank("m1"), SESSION, "80001"), PermissionDenied, "markers mark blind")
    assert history(b.bank(LEADER), SESSION, "80001")["script"] == "80001"


def test_a_mark_altered_in_the_database_stops_totalling(scoring: Scoring) -> None:
    sc = scoring
    b = prepared(sc)
    for n in SEALS:
        for item in (17, 18):
            b.mark("m1", n, item, [2, 1])
            b.mark("m2", n, item, [2, 1.5])
    with sc.admin.transaction(write=True) as s:
        s.execute(update(Mark).where(Mark.marker == "m2", Mark.number == 18).values(total=4.0, points=[2.5, 1.5]))
    refused(sc, lambda: total(b.bank("m1"), SESSION, signer=b.keys["m1"]), ConflictError, "signature does not verify")


def test_the_mapping_is_sealed_and_the_seal_file_is_checked_whole(scoring: Scoring) -> None:
    sc = scoring
    b = prepared(sc)
    scripts = sc.rows(Script)
    assert sorted(s.code for s in scripts) == sorted(SEALS.values())
    for s in scripts:
        assert s.candidate_id is None
        assert not any(t.encode() in s.candidate for t in sc.tickets.values())
    bad = write_csv(sc.tmp / "密封登记-有误.csv", ["准考证号", "卷别", "密封号"],
                    [[sc.tickets[1], "A", "80009"], [sc.tickets[4], "A", "80010"], [sc.tickets[6], "A", "8x"], ["000000000000", "B", "80001"]])  # fmt: skip
    msg = refused(sc, lambda: seal_scripts(sc.admin, SESSION, bad), ValidationError, "nothing")
    assert "row 2, column A (准考证号): this candidate's script is already registered" in msg
    assert "row 3, column A (准考证号): this candidate was recorded absent" in msg
    assert "row 4, column A (准考证号): this candidate does not sit the theory part" in msg
    assert "row 4, column C (密封号): a 密封号 is 4–16 digits" in msg
    assert "row 5, column C (密封号): this 密封号 is already registered" in msg
    assert "row 5, column B (卷别): form 'B'" in msg
    refused(sc, lambda: seal_scripts(b.bank("m1"), SESSION, bad), PermissionDenied, "marking.seal")
    refused(sc, lambda: assign_markers(sc.admin, SESSION, [17], markers=["m1"], leader=LEADER), ValidationError, "at least two")
    refused(sc, lambda: assign_markers(sc.admin, SESSION, [17], markers=["m1", "m2"], leader="m1"), ValidationError, "also a marker")
    refused(sc, lambda: assign_markers(sc.admin, SESSION, [3], markers=["m1", "m2"], leader=LEADER), ValidationError, "not subjective")
    refused(sc, lambda: assign_markers(sc.admin, SESSION, [17], markers=["m1", "kaowu"], leader=LEADER), ValidationError, "not an examiner")


def test_the_cli_marks_blind_and_unmasks(scoring: Scoring, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = scoring
    b = prepared(sc)
    keys = {}
    for name, key in b.keys.items():
        keys[name] = sc.tmp / f"{name}.sign-key"
        keys[name].write_text(key.file_text("签名口令-marking"), "utf-8")

    def run(user: str, *args: str, code: int = 0) -> str:
        ran = run_cli(db_url, user, *args, code=code, env={"EXAMVAULT_SIGN_PASSPHRASE": "签名口令-marking"})
        return ran.stdout + ran.stderr

    for seal in SEALS.values():
        for item in ("17", "18"):
            run("m1", "marking", "mark", SESSION, seal, item, "--points", "2,1", "--sign-key", str(keys["m1"]))
            run("m2", "marking", "mark", SESSION, seal, item, "--points", "2.5,1", "--sign-key", str(keys["m2"]))
    assert json.loads(run("m3", "marking", "queue", SESSION, "--json")) == []
    assert "cannot also check" in run("m1", "marking", "total", SESSION, "--sign-key", str(keys["m1"])) + run(
        "m1", "marking", "check", SESSION, "--sign-key", str(keys["m1"]), code=6)
    run("m2", "marking", "check", SESSION, "--sign-key", str(keys["m2"]))
    assert "3 scripts unmasked" in run("kaowu", "marking", "unmask", SESSION)
    st_ = json.loads(run("kaowu", "marking", "status", SESSION, "--json"))
    assert [i["settled"] for i in st_["items"]] == [3, 3] and st_["check"]["by"] == "m2"
    assert {s.candidate_id for s in sc.rows(Script)} == {v for n, v in _ids(sc).items() if n in SEALS}


def test_swapping_two_scripts_sealed_candidates_is_detected_at_unmasking(scoring: Scoring) -> None:
    """An insider who swaps the sealed mapping of two scripts in the database (to give one candidate
    another's marks) is caught: each envelope is bound to its own script's id."""
    from examvault.errors import IntegrityError

    sc = scoring
    b = prepared(sc)
    for n in SEALS:
        for item in (17, 18):
            b.mark("m1", n, item, [3, 2] if n == 2 else [0, 0])
            b.mark("m2", n, item, [3, 2] if n == 2 else [0, 0.5])
    total(b.bank("m1"), SESSION, signer=b.keys["m1"])
    check(b.bank("m2"), SESSION, signer=b.keys["m2"])
    one, two = (next(s for s in sc.rows(Script) if s.code == SEALS[n]) for n in (1, 2))
    with sc.admin.transaction(write=True) as s:
        s.execute(update(Script).where(Script.id == one.id).values(candidate=two.candidate, dek=two.dek))
        s.execute(update(Script).where(Script.id == two.id).values(candidate=one.candidate, dek=one.dek))
    refused(sc, lambda: unmask(sc.admin, SESSION), IntegrityError, "scripts .* integrity check failed")
    assert all(s.candidate_id is None for s in sc.rows(Script))
