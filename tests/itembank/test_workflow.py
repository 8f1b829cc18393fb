from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from examvault.accounts.service import list_audit
from examvault.errors import ConflictError, PermissionDenied
from examvault.itembank.models import Item, Occupation
from examvault.itembank.service import (
    edit_item,
    eligible_item_ids,
    import_items,
    list_items,
    show_item,
    transition,
)
from tests.conftest import item_row, sample_items, write_json


@pytest.fixture
def codes(make_bank, tmp_path: Path) -> list[str]:
    rows = [r | {"出题人": "王建国"} for r in sample_items()]
    return import_items(make_bank("author1"), write_json(tmp_path / "a.json", rows)).codes


def test_full_path_to_active_with_audit(make_bank, codes: list[str]) -> None:
    transition(make_bank("author1"), "submit", codes)
    transition(make_bank("rev"), "approve", codes, comment="内容准确")
    transition(make_bank("appr"), "activate", codes)
    assert {r["status"] for r in list_items(make_bank("cust"))} == {"active"}
    assert show_item(make_bank("cust"), codes[0], with_content=False)["reviewer"] == "赵明"
    with make_bank("sup").transaction() as s:
        trail = [(e.actor, e.action) for e in reversed(list_audit(s, target=codes[0]))]
    assert trail == [("author1", "item.submit"), ("rev", "item.approve"), ("appr", "item.activate")]


def test_author_cannot_review_own_item(make_bank, tmp_path: Path, codes: list[str]) -> None:
    # 王建国 wrote the items; a reviewer account with that display name is still the author.
    from examvault.accounts.service import add_user

    admin = make_bank("admin")
    with admin.transaction() as s:
        add_user(s, "wjg", ["reviewer", "author"], "王建国")
    transition(make_bank("author1"), "submit", codes)
    with pytest.raises(ConflictError, match="an author never reviews their own item"):
        transition(make_bank("wjg"), "approve", codes[:1])
    # the importer of a draft counts as its author too
    mine = import_items(make_bank("wjg"), write_json(tmp_path / "own.json", [item_row(题干="自己录入的题（　）。", 出题人="")])).codes
    transition(make_bank("wjg"), "submit", mine)
    with pytest.raises(ConflictError, match="never reviews"):
        transition(make_bank("wjg"), "approve", mine)
    assert show_item(make_bank("cust"), mine[0], with_content=False)["status"] == "submitted"


def test_wrong_role_and_wrong_state(make_bank, codes: list[str]) -> None:
    with pytest.raises(PermissionDenied):
        transition(make_bank("author1"), "approve", codes)
    with pytest.raises(ConflictError, match="is draft; approve needs submitted"):
        transition(make_bank("rev"), "approve", codes)
    transition(make_bank("author1"), "submit", codes[:2])
    # all or none: one item in the wrong state stops the whole batch
    with pytest.raises(ConflictError, match="3 of 5 items cannot approve"):
        transition(make_bank("rev"), "approve", codes)
    assert [r["status"] for r in list_items(make_bank("cust"))].count("submitted") == 2


def test_only_active_items_are_eligible(make_bank, codes: list[str]) -> None:
    a, b, c, d, e = codes
    transition(make_bank("author1"), "submit", [a, b, c, d])
    transition(make_bank("rev"), "approve", [a, b, c])
    transition(make_bank("appr"), "activate", [a, b])
    transition(make_bank("cust"), "suspend", [b])
    transition(make_bank("cust"), "retire", [e])
    bank = make_bank("cust")
    with bank.transaction() as s:
        occ = s.scalars(select(Occupation.id)).one()
        eligible = eligible_item_ids(s, occ, 3)
        assert [s.get(Item, i).code for i in eligible] == [a]
    transition(make_bank("appr"), "activate", [b])  # a suspended item comes back
    with bank.transaction() as s:
        assert len(eligible_item_ids(s, occ, 3)) == 2


def test_edit_makes_a_version_and_sends_item_back_to_review(make_bank, codes: list[str]) -> None:
    code = codes[0]
    transition(make_bank("author1"), "submit", [code])
    transition(make_bank("rev"), "approve", [code])
    transition(make_bank("appr"), "activate", [code])
    r = edit_item(make_bank("cust"), code, {"答案": "B", "难度": "4"}, note="答案勘误")
    assert r == {"code": code, "version": 2, "status": "draft", "changed": ["answer", "difficulty"]}
    now = show_item(make_bank("cust"), code)
    assert now["content"]["answer"] == "B" and now["difficulty"] == 4
    old = show_item(make_bank("cust"), code, version=1)
    assert old["content"]["answer"] == "A" and old["shown_version"] == 1
    from examvault.errors import ValidationError

    with pytest.raises(ValidationError, match="column 答案: the answer names an option the item does not have"):
        edit_item(make_bank("cust"), code, {"答案": "E"})
    with pytest.raises(ValidationError, match="cannot be edited"):
        edit_item(make_bank("cust"), code, {"职业代码": "1-01-01-01"})


def test_supervisor_sees_metadata_never_content(make_bank, codes: list[str]) -> None:
    sup = make_bank("sup", passphrase=None)
    assert len(list_items(sup)) == 5
    assert "content" not in show_item(sup, codes[0], with_content=False)
    with pytest.raises(PermissionDenied):
        show_item(sup, codes[0])
    with pytest.raises(PermissionDenied):
        list_items(make_bank("printer"))


def test_bulk_transitions_by_filter(make_bank, codes: list[str]) -> None:
    moved = transition(make_bank("author1"), "submit", [], select_filter={"level": 3, "type": "单选"})
    assert [m["code"] for m in moved] == [codes[0]]
    moved = transition(make_bank("author1"), "submit", [], select_filter={"occupation": "6-31-01-03"})
    assert len(moved) == 4  # the rest; the 单选 is already submitted
    transition(make_bank("rev"), "approve", [], select_filter={"point": "A-B-003"})
    assert sorted(r["status"] for r in list_items(make_bank("cust"))) == ["reviewed", "reviewed", "submitted", "submitted", "submitted"]
