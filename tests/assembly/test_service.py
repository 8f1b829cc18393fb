"""Blueprints and papers through the service functions, on a real encrypted bank."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, update

from examvault.accounts.service import add_user
from examvault.assembly.forms import permutation, to_bank_answer
from examvault.assembly.models import Assembly, Paper, PaperItem
from examvault.assembly.service import (
    AssemblyInfeasible,
    approve_paper,
    assemble,
    check_blueprint,
    fill_expert_slot,
    import_blueprint,
    list_papers,
    show_blueprint,
    show_paper,
    verify_derivation,
)
from examvault.bank import Bank
from examvault.errors import ConflictError, PermissionDenied, ValidationError
from examvault.itembank.models import Item
from examvault.itembank.service import import_items, show_item, transition
from tests.conftest import item_row, outline_rows, snapshot, write_json

POINTS = ["A-A-001", "A-A-002", "A-B-001", "A-B-002", "A-B-003", "B-A-001", "B-A-002", "B-A-003"]


def _items(level: int, counts: dict[str, int], *, start: int = 0) -> list[dict[str, str]]:
    """Distinct, active-on-arrival items spread over the outline's points; importance follows the point."""
    rows = []
    n = start
    for kind, count in counts.items():
        for _ in range(count):
            n += 1
            point = POINTS[n % len(POINTS)] if n % 3 else ["B-A-001", "B-A-002", "B-A-003"][n % 3]
            base = {"题干": f"第{n}题：关于{kind}的测试题干，编号{n * 7919 % 10007}。", "鉴定点代码": point, "等级": str(level),
                    "难度": str(1 + n % 5), "审核人": "赵明", "分值": "1"}  # fmt: skip
            if kind == "判断":
                rows.append(item_row(题型="判断", 答案="√" if n % 2 else "×", 选项A="", 选项B="", 选项C="", 选项D="", **base))
            elif kind == "单选":
                rows.append(item_row(题型="单选", 答案="ABCD"[n % 4], 选项A=f"甲{n}", 选项B=f"乙{n}", 选项C=f"丙{n}", 选项D=f"丁{n}", **base))
            elif kind == "多选":
                rows.append(item_row(题型="多选", 答案=["AB", "ACD", "BDE", "ABCDE"][n % 4], 选项A=f"子{n}", 选项B=f"丑{n}",
                                     选项C=f"寅{n}", 选项D=f"卯{n}", 选项E=f"辰{n}", **base))  # fmt: skip
            else:  # subjective
                rows.append(item_row(题型=kind, 答案="", 选项A="", 选项B="", 选项C="", 选项D="",
                                     解析="要点1（3分）：原理；要点2（2分）：步骤。", **(base | {"分值": "5"})))  # fmt: skip
    return rows


def _level_two(make_bank: Callable[..., Bank], tmp_path: Path, counts: dict[str, int], start: int) -> Bank:
    """The level-2 outline and active items, and a second approver; returns the custodian's handle."""
    from examvault.itembank.outlines import import_outline

    with make_bank("admin").transaction() as s:
        add_user(s, "appr2", ["approver"], "吴敏")
    cust = make_bank("cust")
    import_outline(cust, write_json(tmp_path / "o2.json", outline_rows(2)))
    import_items(cust, write_json(tmp_path / "l2.json", _items(2, counts, start=start)), activate=True)
    return cust


def _expert_row(n: int, **over: str) -> dict[str, str]:
    """A 10-point 论述 written for one paper (专家命题)."""
    return _items(2, {"论述": 1}, start=n)[0] | {"来源": "专家命题", "分值": "10", "解析": "要点1（5分）：原理；要点2（5分）：措施。"} | over


@pytest.fixture
def stocked(make_bank: Callable[..., Bank], tmp_path: Path) -> Callable[..., Bank]:
    with make_bank("admin").transaction() as s:
        add_user(s, "appr2", ["approver"], "吴敏")
        add_user(s, "asm", ["assembler", "approver"], "组卷员")
    import_items(make_bank("cust"), write_json(tmp_path / "stock.json", _items(3, {"判断": 40, "单选": 60, "多选": 16})), activate=True)
    return make_bank


def _blueprint(tmp_path: Path, name: str = "bp.yaml", **over: Any) -> Path:
    doc: dict[str, Any] = {
        "id": "6-31-01-03/3/theory/T1", "occupation": "6-31-01-03", "level": 3, "title": "电工（三级）理论知识考试试卷",
        "total_points": 45, "forms": ["A", "B"], "max_overlap": 0.2,
        "sections": [{"type": "判断", "count": 10, "points": 1}, {"type": "单选", "count": 25, "points": 1},
                     {"type": "多选", "count": 5, "points": 2}],
        "content": {"from_outline": True, "tolerance": 0.1},
        "importance": {"X": ">=0.6"},
        "difficulty": {"mean": [2.0, 4.0]},
    }  # fmt: skip
    doc |= over
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    return path


def _layout(bank: Bank, paper_id: str) -> list[tuple[int, str | None, int | None]]:
    return [(i["position"], i["item_id"], i["version"]) for i in show_paper(bank, paper_id)["items"]]


def test_forms_meet_the_blueprint_and_the_seed_reproduces_them(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    cust = stocked("cust")
    papers = assemble(cust, str(_blueprint(tmp_path)), seed=11)
    assert [p["form"] for p in papers] == ["A", "B"]
    shown = {p["form"]: show_paper(cust, p["id"]) for p in papers}
    for p in shown.values():
        items = p["items"]
        assert [i["position"] for i in items] == list(range(1, 41))
        assert [i["section"] for i in items] == ["判断"] * 10 + ["单选"] * 25 + ["多选"] * 5
        assert sum(i["points"] for i in items) == p["total_points"] == 45
        assert {"id", "form", "blueprint", "seed", "total_points", "items"} <= set(p)
        for i in items:
            assert {"position", "section", "item_id", "version", "type", "points", "point_code", "range_codes",
                    "importance", "difficulty", "answer"} <= set(i)  # fmt: skip
            assert i["range_codes"][0] == i["point_code"][0] and i["point_code"].startswith(i["range_codes"][-1])
        x_share = sum(i["points"] for i in items if i["importance"] == "X") / 45
        assert x_share >= 0.6
    shared = {i["item_id"] for i in shown["A"]["items"]} & {i["item_id"] for i in shown["B"]["items"]}
    assert len(shared) <= 8  # 20 % of 40 slots
    again = assemble(cust, "6-31-01-03/3/theory/T1", seed=11)
    assert [_layout(cust, p["id"]) for p in again] == [_layout(cust, p["id"]) for p in papers]
    other = assemble(cust, "6-31-01-03/3/theory/T1", seed=12)
    assert _layout(cust, other[0]["id"]) != _layout(cust, papers[0]["id"])


def test_perfect_answer_sheet_scores_full_marks_on_every_form(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    cust = stocked("cust")
    for paper in assemble(cust, str(_blueprint(tmp_path)), seed=3):
        shown = show_paper(cust, paper["id"])
        with cust.transaction() as s:
            seeds = dict(s.execute(select(PaperItem.position, PaperItem.option_seed).where(PaperItem.paper_id == Paper.id, Paper.code == shown["code"])).all())
        score = 0.0
        shuffled = 0
        for entry in shown["items"]:
            content = show_item(cust, entry["item_code"])["content"]
            options = list(content["options"].values())
            perm = permutation(seeds[entry["position"]], len(options))
            shuffled += perm != sorted(perm)
            if entry["type"] == "判断":
                sheet = content["answer"]
            else:  # a candidate who knows the right option texts marks the letters they appear under on this form
                right = {content["options"][c] for c in content["answer"]}
                sheet = "".join("ABCDEFGH"[j] for j, original in enumerate(perm) if options[original] in right)
                assert to_bank_answer(sheet, perm) == content["answer"]
            score += entry["points"] if sheet == entry["answer"] else 0
        assert score == 45
        assert shuffled > 10  # the options really were shuffled


def test_keys_only_for_key_holders_and_reading_them_is_audited(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    paper = assemble(stocked("cust"), str(_blueprint(tmp_path)), seed=1)[0]
    seen = show_paper(stocked("sup"), paper["id"])
    assert all("answer" not in i for i in seen["items"])
    with pytest.raises(PermissionDenied):
        show_paper(stocked("printer"), paper["id"])
    assert all(i["answer"] for i in show_paper(stocked("appr"), paper["id"])["items"])
    from examvault.accounts.admin import audit_trail

    events = audit_trail(stocked("sup"), action="paper.read_key")
    assert [e["actor"] for e in events] == ["appr"]


def test_two_distinct_approvers_neither_the_assembler(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    papers = assemble(stocked("asm"), str(_blueprint(tmp_path)), seed=5)
    a, b = papers
    with pytest.raises(PermissionDenied, match="assembled"):
        approve_paper(stocked("asm"), a["id"])
    assert approve_paper(stocked("appr"), a["id"])["status"] == "draft"
    with pytest.raises(ConflictError, match="second, different approver"):
        approve_paper(stocked("appr"), a["id"])
    with stocked("cust").transaction() as s:
        assert s.scalar(select(Item.usage_count).where(Item.usage_count > 0).limit(1)) is None  # not counted yet
    assert approve_paper(stocked("appr2"), a["id"])["status"] == "approved"
    approve_paper(stocked("appr"), b["id"])
    approve_paper(stocked("appr2"), b["id"])
    with pytest.raises(ConflictError, match="already approved"):
        approve_paper(stocked("appr"), a["id"])
    ids = {i["item_id"] for p in papers for i in show_paper(stocked("cust"), p["id"])["items"]}
    with stocked("cust").transaction() as s:
        counts = {str(i): c for i, c in s.execute(select(Item.id, Item.usage_count).where(Item.usage_count > 0))}
    assert set(counts) == ids
    assert set(counts.values()) == {1}  # forms assembled together are one use, even for shared items


def test_exposure_cap_holds_at_approval_and_in_later_pools(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    path = _blueprint(tmp_path, forms=["A"], exposure={"max_uses": 1})
    first = assemble(stocked("cust"), str(path), seed=1)[0]
    second = assemble(stocked("cust"), str(path), seed=2)[0]  # drawn before the first was approved
    approve_paper(stocked("appr"), first["id"])
    approve_paper(stocked("appr2"), first["id"])
    approve_paper(stocked("appr"), second["id"])
    before = snapshot(stocked("cust"))
    with pytest.raises(ConflictError, match="used on 1 exams; the blueprint allows 1"):
        approve_paper(stocked("appr2"), second["id"])
    assert snapshot(stocked("cust")) == before
    used = {i["item_id"] for i in show_paper(stocked("cust"), first["id"])["items"]}
    third = assemble(stocked("cust"), str(path), seed=3)
    assert not used & {i["item_id"] for i in show_paper(stocked("cust"), third[0]["id"])["items"]}


def test_concurrent_approvals_cannot_pass_the_cap(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    """Two connections give the deciding approval at once; the item rows are locked, so one must lose."""
    path = _blueprint(tmp_path, forms=["A"], exposure={"max_uses": 1})
    papers = [assemble(stocked("cust"), str(path), seed=s)[0] for s in (1, 2)]
    items = [{i["item_id"] for i in show_paper(stocked("cust"), p["id"])["items"]} for p in papers]
    assert items[0] & items[1], "the two papers must share items for the race to matter"
    for p in papers:
        approve_paper(stocked("appr"), p["id"])
    handles = [stocked("appr2"), stocked("appr2")]
    barrier = threading.Barrier(2)
    outcome: list[str] = []

    def go(handle: Bank, paper_id: str) -> None:
        barrier.wait()
        try:
            approve_paper(handle, paper_id)
            outcome.append("approved")
        except ConflictError:
            outcome.append("refused")

    threads = [threading.Thread(target=go, args=(h, p["id"])) for h, p in zip(handles, papers, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcome) == ["approved", "refused"]
    with stocked("cust").transaction() as s:
        assert s.scalar(select(Item.usage_count).order_by(Item.usage_count.desc()).limit(1)) == 1


def test_starved_bank_gets_a_diagnosis_and_nothing_is_stored(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    path = _blueprint(tmp_path, total_points=75, forms=["A"],
                      sections=[{"type": "判断", "count": 10, "points": 1}, {"type": "单选", "count": 25, "points": 1},
                                {"type": "多选", "count": 20, "points": 2}])  # fmt: skip
    cust = stocked("cust")
    before = snapshot(cust)
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble(cust, str(path), seed=1)
    shortfalls = {s.row.label: s for s in caught.value.shortfalls}
    assert shortfalls["section 多选"].short == 4  # 16 multiple-choice items in the bank for 20 slots
    assert "section 多选: 16 eligible for 20 per form × 1 forms" in str(caught.value)
    assert snapshot(cust) == before
    report = check_blueprint(cust, str(path))
    assert report["feasible"] is False and any("多选" in s["message"] for s in report["shortfalls"])


def test_check_reports_coverage_weak_points_and_disjoint_forms(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    report = check_blueprint(stocked("cust"), str(_blueprint(tmp_path)))
    assert report["feasible"] is True
    assert sum(c["items"] for c in report["coverage"]) == 116
    assert {c["section"] for c in report["coverage"]} == {"判断", "单选", "多选"}
    assert report["weak_points"] == []
    # 多选: 16 items, 5 a form → at most 3 disjoint forms; 单选 60/25 → 2.
    assert report["disjoint_forms"]["supply_bound"] == 2
    assert report["disjoint_forms"]["union_feasible"] in (1, 2)


def test_bad_blueprints_are_refused_before_solving(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    cust = stocked("cust")
    before = snapshot(cust)
    with pytest.raises(ValidationError, match="no occupation '9-99-99-99'"):
        import_blueprint(cust, _blueprint(tmp_path, occupation="9-99-99-99"))
    with pytest.raises(ValidationError, match="sections add up to 45"):
        import_blueprint(cust, _blueprint(tmp_path, total_points=100))
    with pytest.raises(ValidationError, match="level 3 theory papers are objective only"):
        import_blueprint(cust, _blueprint(tmp_path, sections=[{"type": "判断", "count": 35, "points": 1}, {"type": "简答", "count": 2, "points": 5}]))
    with pytest.raises(ValidationError, match="no range 'Q'"):
        assemble(cust, str(_blueprint(tmp_path, content={"ranges": {"Q": 0.5}})), seed=1)
    with pytest.raises(ValidationError, match="no item 'NOPE'"):
        assemble(cust, str(_blueprint(tmp_path, fixed=["NOPE"])), seed=1)
    assert snapshot(cust) == before


def test_blueprints_are_versioned(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    cust = stocked("cust")
    assert import_blueprint(cust, _blueprint(tmp_path))["created"] is True
    assert import_blueprint(cust, _blueprint(tmp_path))["created"] is False
    assert import_blueprint(cust, _blueprint(tmp_path, max_overlap=0.3))["version"] == 2
    assert show_blueprint(cust, "6-31-01-03/3/theory/T1", version=1)["document"]["max_overlap"] == 0.2
    assert show_blueprint(cust, "6-31-01-03/3/theory/T1")["document"]["max_overlap"] == 0.3
    papers = assemble(cust, "6-31-01-03/3/theory/T1@1", seed=1)
    assert {p["blueprint_version"] for p in papers} == {1}
    assert len(list_papers(stocked("sup"), blueprint="6-31-01-03/3/theory/T1")) == 2


def test_fixed_items_appear_in_every_form(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    with stocked("cust").transaction() as s:
        codes = list(s.scalars(select(Item.code).where(Item.type == "单选").order_by(Item.code).limit(3)))
    papers = assemble(stocked("cust"), str(_blueprint(tmp_path, fixed=codes)), seed=9)
    for p in papers:
        assert set(codes) <= {i["item_code"] for i in show_paper(stocked("cust"), p["id"])["items"]}


def test_verify_derivation_and_tampered_snapshot(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    cust = stocked("cust")
    paper = assemble(cust, str(_blueprint(tmp_path)), seed=21)[1]
    result = verify_derivation(stocked("sup"), paper["id"])
    assert result["identical"] and result["snapshot_intact"] and result["same_solver"]
    with cust.transaction() as s:
        assembly = s.scalars(select(Assembly)).one()
        import gzip

        doc = json.loads(gzip.decompress(assembly.snapshot))
        doc["items"] = doc["items"][1:]  # an item quietly dropped from the pool
        s.execute(update(Assembly).values(snapshot=gzip.compress(json.dumps(doc).encode())))
    tampered = verify_derivation(stocked("sup"), paper["id"])
    assert not tampered["snapshot_intact"] and not tampered["identical"]


def test_level_two_paper_with_expert_slot(make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    cust = _level_two(make_bank, tmp_path, {"判断": 12, "单选": 14, "简答": 6}, 500)
    expert = _expert_row(900, 审核人="")
    code = import_items(make_bank("author1"), write_json(tmp_path / "expert.json", [expert])).codes[0]
    path = _blueprint(tmp_path, id="6-31-01-03/2/theory/T2", level=2, total_points=35, forms=["A"],
                      sections=[{"type": "判断", "count": 5, "points": 1}, {"type": "单选", "count": 10, "points": 1},
                                {"type": "简答", "count": 2, "points": 5}, {"type": "论述", "count": 1, "points": 10, "expert_slots": 1}])  # fmt: skip
    paper = assemble(cust, str(path), seed=4)[0]
    assert paper["open_expert_slots"] == 1
    slot = next(i for i in show_paper(cust, paper["id"])["items"] if i["expert_slot"])
    assert slot["section"] == "论述" and slot["item_id"] is None and slot["points"] == 10
    with pytest.raises(ConflictError, match="open expert slots"):
        approve_paper(make_bank("appr"), paper["id"])
    with cust.transaction() as s:
        bank_item = s.scalars(select(Item.code).where(Item.type == "简答").limit(1)).one()
    with pytest.raises(ValidationError, match="not 专家命题"):
        fill_expert_slot(cust, paper["id"], slot["position"], bank_item)
    fill_expert_slot(cust, paper["id"], slot["position"], code)
    with pytest.raises(ConflictError, match="must be reviewed, active and unchanged"):
        approve_paper(make_bank("appr"), paper["id"])
    transition(make_bank("author1"), "submit", [code])
    transition(make_bank("rev"), "approve", [code])
    transition(make_bank("appr"), "activate", [code])
    approve_paper(make_bank("appr"), paper["id"])
    assert approve_paper(make_bank("appr2"), paper["id"])["status"] == "approved"
    shown = show_paper(cust, paper["id"])
    assert {i["type"] for i in shown["items"]} >= {"简答", "论述"}
    # 专家命题 items are written for one paper: the automatic pool never draws them.
    again = assemble(cust, str(_blueprint(tmp_path, name="b2.yaml", id="6-31-01-03/2/theory/T3", level=2, total_points=25, forms=["A"],
                                          sections=[{"type": "判断", "count": 5, "points": 1}, {"type": "单选", "count": 10, "points": 1},
                                                    {"type": "论述", "count": 1, "points": 10, "expert_slots": 1}])), seed=1)  # fmt: skip
    assert code not in {i["item_code"] for i in show_paper(cust, again[0]["id"])["items"]}


def test_paper_lifecycle_moves_only_along_its_edges(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    from examvault.assembly.service import move_paper

    a, b = assemble(stocked("cust"), str(_blueprint(tmp_path)), seed=2)
    with pytest.raises(ConflictError, match="only a sealed paper can be used"):
        move_paper(stocked("cust"), a["id"], "use")
    with pytest.raises(PermissionDenied):
        move_paper(stocked("appr"), b["id"], "archive")
    assert move_paper(stocked("cust"), b["id"], "archive", reason="superseded")["status"] == "archived"
    with pytest.raises(ConflictError, match="already archived"):
        approve_paper(stocked("appr"), b["id"])
    approve_paper(stocked("appr"), a["id"])
    approve_paper(stocked("appr2"), a["id"])
    with pytest.raises(ConflictError, match="only a draft or used paper can be archived"):
        move_paper(stocked("cust"), a["id"], "archive")
    assert move_paper(stocked("cust"), a["id"], "seal")["status"] == "sealed"
    assert move_paper(stocked("cust"), a["id"], "use")["status"] == "used"
    assert move_paper(stocked("cust"), a["id"], "archive")["status"] == "archived"


def test_approval_covers_the_paper_as_the_approvers_saw_it(make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    """A refilled slot withdraws approvals; an item edited or suspended since it was placed blocks approval."""
    from examvault.itembank.service import edit_item

    cust = _level_two(make_bank, tmp_path, {"判断": 8, "单选": 8, "简答": 4}, 700)
    experts = [_expert_row(950 + k, 审核人="赵明", 互斥组=f"X{k}") for k in range(2)]
    e1, e2 = import_items(cust, write_json(tmp_path / "expert.json", experts), activate=True).codes
    path = _blueprint(tmp_path, id="6-31-01-03/2/theory/T4", level=2, total_points=25, forms=["A"],
                      sections=[{"type": "判断", "count": 5, "points": 1}, {"type": "单选", "count": 5, "points": 1},
                                {"type": "简答", "count": 1, "points": 5}, {"type": "论述", "count": 1, "points": 10, "expert_slots": 1}])  # fmt: skip
    paper = assemble(cust, str(path), seed=8)[0]
    slot = next(i["position"] for i in show_paper(cust, paper["id"])["items"] if i["expert_slot"])
    fill_expert_slot(cust, paper["id"], slot, e1)
    approve_paper(make_bank("appr"), paper["id"])
    refilled = fill_expert_slot(cust, paper["id"], slot, e2)
    assert refilled["approvals_withdrawn"] == ["appr"] and refilled["approvals"] == []
    assert approve_paper(make_bank("appr2"), paper["id"])["status"] == "draft"  # appr's approval no longer counts
    edit_item(cust, e2, {"解析": "要点1（5分）：原理；要点2（5分）：改进措施。"}, note="修订")
    with pytest.raises(ConflictError, match=f"{e2} is draft"):
        approve_paper(make_bank("appr"), paper["id"])
    bank_item = next(i["item_code"] for i in show_paper(cust, paper["id"])["items"] if i["type"] == "判断")
    fill_expert_slot(cust, paper["id"], slot, e1)
    transition(cust, "suspend", [bank_item])
    with pytest.raises(ConflictError, match=f"{bank_item} is suspended"):
        approve_paper(make_bank("appr"), paper["id"])


def test_authors_and_reviewers_cannot_see_which_items_are_on_a_paper(stocked: Callable[..., Bank], tmp_path: Path) -> None:
    paper = assemble(stocked("cust"), str(_blueprint(tmp_path)), seed=1)[0]
    for who in ("author1", "rev"):
        with pytest.raises(PermissionDenied):
            show_paper(stocked(who), paper["id"])
        with pytest.raises(PermissionDenied):
            list_papers(stocked(who))


def test_a_bank_change_while_solving_stores_nothing(stocked: Callable[..., Bank], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The solver runs outside any transaction; if the pool changed meanwhile, the papers are not stored."""
    from examvault.assembly import service

    cust = stocked("cust")
    real = service._derive

    def derive_while_someone_suspends(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        with cust.transaction() as s:
            code = s.scalars(select(Item.code).where(Item.type == "判断").limit(1)).one()
        transition(stocked("cust"), "suspend", [code])
        return result

    monkeypatch.setattr(service, "_derive", derive_while_someone_suspends)
    before = len(list_papers(cust))
    with pytest.raises(ConflictError, match="the bank changed while the solver ran"):
        assemble(cust, str(_blueprint(tmp_path)), seed=1)
    assert len(list_papers(cust)) == before
    with cust.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Assembly)) == 0
