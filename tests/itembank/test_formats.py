"""Round trips through the tabular formats: what export writes, import reads back unchanged."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examvault.errors import ValidationError
from examvault.itembank.formats.export import write_items
from examvault.itembank.formats.fields import ITEM_FIELDS, ITEM_REQUIRED
from examvault.itembank.formats.tabular import read_table

# Text a custodian might type: Chinese, ASCII, punctuation, quotes, commas, newlines inside a cell.
cell_text = st.text(
    alphabet=st.sampled_from(list("电压流阻ABCabc0123,;，；“”\"'（）()|/ \n\t√×_-")), max_size=40
).map(str.strip)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json"])
@given(stems=st.lists(cell_text.filter(bool), min_size=1, max_size=8), answers=st.lists(cell_text, min_size=8, max_size=8))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_write_then_read_round_trip(suffix: str, stems: list[str], answers: list[str]) -> None:
    records = [
        {"code": f"C{i}", "occupation": "6-31-01-03", "level": "3", "type": "单选", "stem": s, "answer": answers[i],
         "option_a": answers[-1 - i], "points": "0.5", "media": []}
        for i, s in enumerate(stems)
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"items{suffix}"
        write_items([dict(r) for r in records], path)
        rows = read_table(path, ITEM_FIELDS, ITEM_REQUIRED)
    assert [r.get("stem") for r in rows] == stems
    assert [r.get("answer") for r in rows] == [a for a in answers[: len(stems)]]
    assert [r.get("option_a") for r in rows] == [answers[-1 - i] for i in range(len(stems))]
    assert [r.get("code") for r in rows] == [f"C{i}" for i in range(len(stems))]


def test_csv_rows_are_numbered_as_in_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('职业代码,等级,题型,题干\n6-31-01-03,3,判断,"第一行\n第二行"\n\n6-31-01-03,3,判断,下一题\n', "utf-8")
    rows = read_table(path, ITEM_FIELDS, ITEM_REQUIRED)
    assert [(r.location, r.get("stem")) for r in rows] == [("row 2", "第一行\n第二行"), ("row 5", "下一题")]
    assert rows[0].column("stem") == "D (题干)"


def test_xlsx_header_may_start_below_a_title(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws["A1"] = "电工三级题库（2026年）"
    ws.append([])
    ws.append(["职业代码", "等级", "题型", "题干", "分值"])
    ws.append(["6-31-01-03", 3, "判断", "题目一", 0.5])
    wb.save(tmp_path / "t.xlsx")
    with pytest.raises(ValidationError, match="unknown column '电工三级题库（2026年）'"):
        read_table(tmp_path / "t.xlsx", ITEM_FIELDS, ITEM_REQUIRED)
    ws.delete_rows(1)
    wb.save(tmp_path / "t.xlsx")
    rows = read_table(tmp_path / "t.xlsx", ITEM_FIELDS, ITEM_REQUIRED)
    assert [(r.location, r.get("level"), r.get("points")) for r in rows] == [("row 3", "3", "0.5")]
