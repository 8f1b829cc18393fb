from __future__ import annotations

from pathlib import Path

import pytest

from examvault.errors import PermissionDenied, ValidationError
from examvault.itembank.outlines import import_outline, outline_tree
from examvault.itembank.service import import_items, transition
from tests.conftest import OCC, outline_rows, sample_items, snapshot, write_json


def _refused(bank, path: Path, *texts: str) -> None:
    before = snapshot(bank)
    with pytest.raises(ValidationError) as exc:
        import_outline(bank, path)
    for t in texts:
        assert t in str(exc.value), str(exc.value)
    assert snapshot(bank) == before


def test_tree_and_counts(make_bank, tmp_path: Path) -> None:
    bank = make_bank("cust")
    codes = import_items(bank, write_json(tmp_path / "i.json", sample_items())).codes
    transition(bank, "submit", codes)
    transition(make_bank("rev"), "approve", codes)
    transition(bank, "activate", codes)
    tree = outline_tree(make_bank("sup"), OCC, 3)
    a, b = tree["ranges"]
    assert (a["code"], a["weight"], [r["code"] for r in a["ranges"]]) == ("A", 30.0, ["A-A", "A-B"])
    points = {p["code"]: p["active_items"] for r in a["ranges"] + b["ranges"] for p in r["points"]}
    assert points == {"A-A-001": 0, "A-A-002": 0, "A-B-001": 0, "A-B-002": 0, "A-B-003": 2,
                      "B-A-001": 1, "B-A-002": 1, "B-A-003": 1}  # fmt: skip


def test_weights_must_add_up(make_bank, tmp_path: Path) -> None:
    rows = outline_rows(4)
    rows[0]["鉴定比重"] = "35"
    _refused(make_bank("cust"), write_json(tmp_path / "o.json", rows), "top-level ranges' 鉴定比重 add up to 105, not 100",
             "sub-ranges of 'A' add up to 30%, not its 35%")  # fmt: skip


def test_point_under_unknown_range_and_bad_importance(make_bank, tmp_path: Path) -> None:
    rows = outline_rows(4)
    rows[-1]["范围代码"] = "B-Z"
    rows[-2]["重要程度"] = "W"
    _refused(make_bank("cust"), write_json(tmp_path / "o.json", rows),
             "o.json, item 13, column 范围代码: its range 'B-Z' is not defined",
             "o.json, item 12, column 重要程度: 重要程度 'W' must be X, Y or Z")  # fmt: skip


def test_reimport_updates_and_protects_used_points(make_bank, tmp_path: Path) -> None:
    bank = make_bank("cust")
    import_items(bank, write_json(tmp_path / "i.json", sample_items()))
    rows = outline_rows()
    rows[5]["鉴定点名称"] = "职业道德基本知识（修订）"
    report = import_outline(bank, write_json(tmp_path / "o.json", rows))
    assert report.outlines[0]["revision"] == 2
    assert outline_tree(bank, OCC, 3)["ranges"][0]["ranges"][0]["points"][0]["name"] == "职业道德基本知识（修订）"
    without_used = [r for r in rows if r.get("鉴定点代码") != "B-A-001"]
    with pytest.raises(ValidationError, match="point 'B-A-001' is missing from the new outline but 1 items use it"):
        import_outline(bank, write_json(tmp_path / "o2.json", without_used))
    assert import_outline(bank, write_json(tmp_path / "o3.json", [r for r in rows if r.get("鉴定点代码") != "A-A-002"]))


def test_only_custodians_import_outlines(make_bank, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        import_outline(make_bank("author1"), write_json(tmp_path / "o.json", outline_rows(2)))


def test_reimport_can_restructure_ranges(make_bank, tmp_path: Path) -> None:
    bank = make_bank("cust")
    import_items(bank, write_json(tmp_path / "i.json", sample_items()))
    rows = [r for r in outline_rows() if r["范围代码"] != "B-A" or r.get("鉴定点代码")]
    # B-A (a range) disappears; its points move to a new range B-B with the same weight.
    rows.append(rows[0] | {"范围代码": "B-B", "范围名称": "电气控制", "上级范围代码": "B", "鉴定比重": "70"})
    for r in rows:
        if r.get("鉴定点代码", "").startswith("B-A-"):
            r["范围代码"] = "B-B"
    report = import_outline(bank, write_json(tmp_path / "o.json", rows))
    assert report.outlines[0]["revision"] == 2
    b = outline_tree(bank, OCC, 3)["ranges"][1]
    assert [r["code"] for r in b["ranges"]] == ["B-B"]
    assert [p["code"] for p in b["ranges"][0]["points"]] == ["B-A-001", "B-A-002", "B-A-003"]
