"""Statistics back into the bank, on a real released sitting: 160 candidates answer form A of the
scoring tests (16 objective items, options shuffled) as a 2PL-like simulation, with three planted
faults — item 1 everyone gets right, item 5 is miskeyed (the able choose one distractor), item 6
discriminates negatively. `stats update` must flag exactly those, suspend them into the review queue,
write p, discrimination and IRT parameters into the bank, refuse to count a session twice, and write
the report. The running sums pool exams exactly; mean–sigma linking recovers a known scale change.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from examvault.bank import Bank
from examvault.errors import ConflictError, PermissionDenied
from examvault.itembank.models import Item
from examvault.registration.candidates import import_candidates
from examvault.registration.models import Candidate, ExamSession
from examvault.registration.service import create_session
from examvault.registration.sittings import seat_session
from examvault.scoring.keys import import_key
from examvault.scoring.responses import import_responses
from examvault.scoring.results import compute, publicize, release
from examvault.stats.models import ItemReview, ItemRunning, ItemStatistic, StatsRun
from examvault.stats.service import (
    decide,
    item_history,
    mean_sigma,
    pooled,
    review_queue,
    running_sums,
    update_paper,
)
from tests.conftest import snapshot
from tests.export.test_sealing import Sealable, sealable  # noqa: F401  (the fixture, by name)
from tests.registration.conftest import YEAR, person, planned, write_form  # noqa: F401  (planned: the fixture)
from tests.scoring.conftest import EXAM_DAY, write_csv

SESSION = f"{YEAR}-05-电工-3-统计"
N = 160
EASY, MISKEYED, NEGATIVE = 1, 5, 6  # item numbers on form A


def _answers(items: list[dict[str, Any]], rng: np.random.Generator, *, shift: float = 0.0, plant: bool = True) -> list[list[str]]:
    theta = rng.normal(shift, 1.0, size=N)
    rows = []
    for t in theta:
        row = []
        for it in items:
            key, n = str(it["answer"]), it["number"] if plant else 0
            letters = "ABCDE"[: int(it.get("options") or 4)]
            if n == EASY:
                row.append(key)
                continue
            if n == MISKEYED:  # the able agree on one distractor: the key is wrong
                row.append(next(x for x in letters if x != key) if t > -0.3 else rng.choice(list(letters)))
                continue
            right = (t < 0) if n == NEGATIVE else rng.random() < 1 / (1 + math.exp(-(1.6 * t - (n % 5 - 2) * 0.4)))
            if right:
                row.append(key)
            elif it["type"] == "判断":
                row.append("×" if key == "√" else "√")
            elif it["type"] == "单选":
                row.append(rng.choice([x for x in letters if x != key]))
            else:
                row.append(letters[0] if key != letters[0] else letters[1])
        rows.append(row)
    return rows


@pytest.fixture
def released(sealable: Sealable, planned: Bank, tmp_path: Path) -> dict[str, Any]:  # noqa: F811  (the imported fixtures)
    admin = planned
    reg = import_candidates(admin, YEAR, write_form(tmp_path / "报名表.xlsx", [person(n, 操作技能="免考") for n in range(1, N + 1)]))
    assert reg["accepted"] == N
    create_session(admin, SESSION, occupation="6-31-01-03", level=3, exam_date=EXAM_DAY, plan_year=YEAR, site_code="360101",
                   papers=[sealable.code], times={"theory": "09:00-10:30"})  # fmt: skip
    seat_session(admin, SESSION, capacity={"theory": 200})
    package = sealable.seal(kind="marking-key", to=("examiner-1",))["file"]
    import_key(admin, Path(package), identity=sealable.examiner.identity_file, session_code=SESSION)
    from examvault.scoring.keys import current_key

    with admin.transaction() as s:
        items = sorted(current_key(s, admin.keyring(s), sealable.code)[1]["items"], key=lambda i: i["number"])
        tickets = sorted(s.scalars(select(Candidate.ticket).where(Candidate.ticket.is_not(None))))
    answers = _answers(items, np.random.default_rng(7))
    write_csv(tmp_path / "答题卡.csv", ["准考证号", "卷别", *map(str, range(1, 17))], [[t, "A", *a] for t, a in zip(tickets, answers, strict=True)])
    import_responses(admin, SESSION, tmp_path / "答题卡.csv")
    return {"admin": admin, "s": sealable, "items": items, "tmp": tmp_path}


def _release(admin: Bank) -> None:
    compute(admin, SESSION)
    w = publicize(admin, SESSION)
    release(admin, SESSION, today=date.fromisoformat(w["release_on"]))


def _code_at(bank: Bank, paper: str, number: int, items: list[dict[str, Any]]) -> str:
    from examvault.assembly.models import Paper, PaperItem

    position = next(i["position"] for i in items if i["number"] == number)
    with bank.transaction() as s:
        pid = s.scalars(select(Paper.id).where(Paper.code == paper)).one()
        item_id = s.scalars(select(PaperItem.item_id).where(PaperItem.paper_id == pid, PaperItem.position == position)).one()
        return str(s.get(Item, item_id).code)  # type: ignore[union-attr]


def test_a_released_sitting_feeds_the_bank_flags_the_planted_faults_and_queues_them(released: dict[str, Any]) -> None:
    admin, s, items = released["admin"], released["s"], released["items"]
    cust = s.bank("cust")
    before = snapshot(admin)
    with pytest.raises(ConflictError, match="no released session"):
        update_paper(cust, s.code)  # results are analysed once released
    assert snapshot(admin) == before
    _release(admin)
    with pytest.raises(PermissionDenied, match="stats.update"):
        update_paper(s.bank("sup"), s.code)

    r = update_paper(cust, s.code, report=released["tmp"] / "报告")
    planted = {_code_at(cust, s.code, n, items) for n in (EASY, MISKEYED, NEGATIVE)}
    assert set(r["flagged"]) == planted, r
    assert r["candidates"] == N and r["sessions"] == [SESSION] and 0 < r["alpha"] < 1
    assert r["irt"]["model"] == "2pl" and not r["linking"]["linked"]  # the first calibration sets the bank's scale

    rules = {f["item"]: {x["rule"] for x in f["flags"]} for f in review_queue(s.bank("sup"))}
    assert set(rules) == planted
    assert "too_easy" in rules[_code_at(cust, s.code, EASY, items)]
    assert "key_error" in rules[_code_at(cust, s.code, MISKEYED, items)]
    assert "negative_discrimination" in rules[_code_at(cust, s.code, NEGATIVE, items)]
    with cust.transaction() as session:
        statuses = {i.code: i.status for i in session.scalars(select(Item).where(Item.code.in_(planted)))}
        assert set(statuses.values()) == {"suspended"}
        stats = list(session.scalars(select(ItemStatistic)))
        assert len(stats) == 16 and session.scalar(select(StatsRun.n_candidates)) == N
        for st_ in stats:
            item, acc = session.get(Item, st_.item_id), session.get(ItemRunning, st_.item_id)
            assert item.p_value == pytest.approx(st_.p, abs=1e-12) and item.n_responses == st_.n == N  # type: ignore[union-attr]
            assert item.discrimination == pytest.approx(st_.r_rest, abs=1e-9)  # type: ignore[union-attr]
            assert acc.exams == 1
            # calibrated on the bank's scale unless every candidate scored the same (no information to fit)
            assert (item.irt_b is not None) == (0 < st_.p < 1), (item.code, st_.p)  # type: ignore[union-attr]
    # the p written is the share of points, item by item, as scored
    h = item_history(cust, _code_at(cust, s.code, EASY, items))
    assert h["p"] == 1.0 and h["administrations"][0]["flags"][0]["n"] == N

    # a session is counted once
    with pytest.raises(ConflictError, match="no released session left"):
        update_paper(cust, s.code)
    # the review: keep or retire, by the roles that may activate or retire
    easy = _code_at(cust, s.code, EASY, items)
    with pytest.raises(PermissionDenied):
        decide(s.bank("sup"), easy, "keep", comment="题目过易但考查基本安全要求，保留")
    assert decide(s.bank("appr"), easy, "keep", comment="题目过易但考查基本安全要求，保留")["status"] == "active"
    assert decide(cust, _code_at(cust, s.code, MISKEYED, items), "retire", comment="答案有误")["status"] == "retired"
    with cust.transaction() as session:
        assert session.scalar(select(ItemReview.decided_by).where(ItemReview.decision == "keep")) == "appr"
    assert len(review_queue(cust)) == 1

    # assembly now draws on what candidates did: the pool's p of an analysed, active item is its empirical p
    import yaml

    from examvault.assembly.blueprint import parse_blueprint
    from examvault.assembly.service import bank_context, build_pool
    from examvault.db import utcnow
    from tests.assembly.test_service import _blueprint

    bp = parse_blueprint(yaml.safe_load(_blueprint(released["tmp"], "pool.yaml").read_text("utf-8")))
    with cust.transaction() as session:
        pool = {i.id: i for i in build_pool(session, bp, bank_context(session, bp), utcnow()).items}
        analysed = list(session.scalars(select(Item).where(Item.p_value.is_not(None), Item.status == "active")))
        assert len(analysed) >= 12
        for item in analysed:
            assert pool[str(item.id)].p == item.p_value and pool[str(item.id)].effective_p == item.p_value

    files = [Path(f) for f in r["files"]]
    assert [f.suffix for f in files] == [".pdf", ".xlsx"] and all(f.stat().st_size > 1000 for f in files)
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(files[0]).pages)
    assert s.code in text


def test_a_second_paper_sharing_items_is_linked_pooled_and_its_drift_reported(released: dict[str, Any], tmp_path: Path) -> None:
    """Form B shares items with form A; its candidates are 0.8 SD abler. Its calibration is linked to
    A's scale through the shared items, their running sums pool both exams, and their p drift shows."""
    from examvault.assembly.service import approve_paper, show_paper
    from examvault.scoring.keys import current_key

    admin, s = released["admin"], released["s"]
    cust = s.bank("cust")
    for name in ("appr", "appr2"):  # before A's faults are suspended: a paper holding a suspended item is not approved
        approve_paper(s.bank(name), s.other["id"], signer=s.approvers[name])
    _release(admin)
    update_paper(cust, s.code)
    other = str(s.other["code"])
    second = f"{YEAR}-06-电工-3-统计"
    reg = import_candidates(admin, YEAR, write_form(tmp_path / "报名表2.xlsx", [person(n, 操作技能="免考") for n in range(N + 1, 2 * N + 1)]))
    assert reg["accepted"] == N
    create_session(admin, second, occupation="6-31-01-03", level=3, exam_date=EXAM_DAY, plan_year=YEAR, site_code="360101",
                   papers=[other], times={"theory": "09:00-10:30"})  # fmt: skip
    seat_session(admin, second, capacity={"theory": 200})
    package = s.seal(str(s.other["id"]), kind="marking-key", to=("examiner-1",))["file"]
    import_key(admin, Path(package), identity=s.examiner.identity_file, session_code=second)
    with admin.transaction() as session:
        items = sorted(current_key(session, admin.keyring(session), other)[1]["items"], key=lambda i: i["number"])
        exam = session.scalars(select(ExamSession.id).where(ExamSession.code == second)).one()
        tickets = sorted(session.scalars(select(Candidate.ticket).where(Candidate.session_id == exam)))
    answers = _answers(items, np.random.default_rng(11), shift=0.8, plant=False)
    write_csv(tmp_path / "答题卡2.csv", ["准考证号", "卷别", *map(str, range(1, 17))], [[t, "B", *a] for t, a in zip(tickets, answers, strict=True)])
    import_responses(admin, second, tmp_path / "答题卡2.csv")
    compute(admin, second)
    w = publicize(admin, second)
    release(admin, second, today=date.fromisoformat(w["release_on"]))

    import uuid

    ids = {uuid.UUID(e["item_id"]) for e in show_paper(cust, s.code)["items"]} & {uuid.UUID(e["item_id"]) for e in show_paper(cust, other)["items"]}
    assert len(ids) >= 3
    with cust.transaction() as session:
        calibrated = set(session.scalars(select(Item.id).where(Item.id.in_(ids), Item.irt_b.is_not(None))))
    r = update_paper(cust, other)
    assert r["sessions"] == [second]
    with cust.transaction() as session:
        runs = {str(a.item_id): a for a in session.scalars(select(ItemRunning))}
        per_item = {}
        for st_ in session.scalars(select(ItemStatistic)):
            per_item.setdefault(str(st_.item_id), []).append(st_)
        for item_id in ids:
            acc, both = runs[str(item_id)], per_item[str(item_id)]
            item = session.get(Item, item_id)
            assert acc.exams == 2 and acc.n == 2 * N and item.n_responses == 2 * N  # type: ignore[union-attr]
            joint = sum(x.p * x.n for x in both) / sum(x.n for x in both)  # one exam's p each, weighted: the pooled p
            assert item.p_value == pytest.approx(joint, abs=1e-12)  # type: ignore[union-attr]
    link = r["linking"]
    # linked through the shared items A calibrated (one B answered all alike would drop out of B's fit)
    assert 3 <= link["common"] <= len(calibrated) and link["linked"] and link["A"] > 0, link
    drifted = {d["item"] for d in r["drift"]}
    assert drifted and all(d["dp"] is None or abs(d["dp"]) > 0.10 or abs(d["db"] or 0) > 0.5 for d in r["drift"])
    assert all(d["dp"] is None or d["dp"] > 0 for d in r["drift"] if d["db"] is None or abs(d["db"]) <= 0.5)  # abler: easier, not harder


halves = st.integers(0, 4).map(lambda k: k / 2)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(halves, min_size=4, max_size=4), min_size=6, max_size=40), st.integers(1, 5))
def test_running_sums_pool_exams_exactly_as_one_joint_analysis(rows: list[list[float]], cut: int) -> None:
    scores = np.array(rows)
    cut = min(cut, len(rows) - 1)
    parts = [running_sums(scores[:cut], 2.0), running_sums(scores[cut:], 2.0)]
    joint = running_sums(scores, 2.0)
    for j in range(4):
        acc = ItemRunning(max_points=1.0, exams=2, **{k: parts[0][k][j] + parts[1][k][j] for k in joint})
        p, r = pooled(acc)
        x = scores[:, j]
        rest = scores.sum(axis=1) - x
        assert p == pytest.approx(x.mean() / 2.0, abs=1e-12)
        if x.std() > 0 and rest.std() > 0:
            assert r == pytest.approx(float(np.corrcoef(x, rest)[0, 1]), abs=1e-9)
        else:
            assert r is None


def test_mean_sigma_recovers_a_known_change_of_scale() -> None:
    b_new = np.array([-1.2, -0.3, 0.4, 1.1, 1.9])
    link = mean_sigma(1.25 * b_new + 0.4, b_new)
    assert link.linked and pytest.approx(1.25) == link.A and pytest.approx(0.4) == link.B
    assert not mean_sigma(b_new[:2], b_new[:2]).linked



def test_a_cancelled_sitting_is_not_evidence_about_the_items(released: dict[str, Any]) -> None:
    from examvault.db import utcnow
    from examvault.scoring.models import Violation

    admin, s = released["admin"], released["s"]
    with admin.transaction(write=True) as session:  # as `violation record` stores it (its checks are tested in tests/scoring)
        cand = session.scalars(select(Candidate).where(Candidate.ticket.is_not(None)).order_by(Candidate.ticket).limit(1)).one()
        session.add(Violation(session_id=cand.session_id, candidate_id=cand.id, part="theory", tier="cancel-sitting", proctor="JK1",
                              at=utcnow(), reason="替考", recorded_by="kaowu"))  # fmt: skip
    _release(admin)
    r = update_paper(s.bank("cust"), s.code, irt=None)
    assert r["candidates"] == N - 1
