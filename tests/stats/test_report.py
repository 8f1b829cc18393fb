"""The custodian's report: `stats analyze --out x.pdf|x.xlsx` writes documents that open, say what was flagged, and show the pictures."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from examvault.stats.analysis import analyze
from examvault.stats.report import render_pdf, render_xlsx
from tests.stats.test_analysis import _constructed_files, _dif_file, run_cli

TITLE = "电工（三级）理论知识 试题分析"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("report")
    data, keys = _constructed_files(tmp, rows=500)
    return tmp, data, keys


def test_pdf_report_opens_names_the_flagged_items_and_has_pictures(files: tuple[Path, Path, Path]) -> None:
    from pypdf import PdfReader

    tmp, data, keys = files
    out = tmp / "report.pdf"
    ran = run_cli("stats", "analyze", str(data), "--key", str(keys), "--id", "准考证号", "--2pl", "--out", str(out),
                  "--title", TITLE, "--subtitle", "2026 年 5 月 第二批")  # fmt: skip
    assert ran.stdout == "" and "report written" in ran.stderr
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    assert reader.metadata is not None and reader.metadata.title == TITLE
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert TITLE in text and "试卷概况" in text and "选项" in text and "IRT" in text
    for label in ("Q01", "Q02", "Q03", "Q04"):  # the flagged items, in the tables and on the curves' page
        assert label in text
    assert "疑似答案错误" in text and "过易" in text and "负区分" in text and "过难" in text
    assert f"共 {len(reader.pages)} 页" in text
    images = [image for page in reader.pages for image in page.images]
    assert len(images) >= 2  # the histogram and at least one page of item characteristic curves
    assert all(image.image.width > 300 for image in images)
    assert not (tmp / "report.pdf.partial").exists()


def test_xlsx_report_has_the_expected_sheets(files: tuple[Path, Path, Path]) -> None:
    from openpyxl import load_workbook

    tmp, data, keys = files
    out = tmp / "report.xlsx"
    run_cli("stats", "analyze", str(data), "--key", str(keys), "--id", "准考证号", "--rasch", "--out", str(out))
    wb = load_workbook(out)
    assert wb.sheetnames == ["概况", "题目", "标记", "选项", "IRT"]
    items = wb["题目"]
    assert [c.value for c in items[1]][:3] == ["题目", "满分", "人数"] and items.max_row == 21
    rows = {r[0]: r for r in items.iter_rows(min_row=2, values_only=True)}
    assert "过易" in rows["Q02"][11] and not rows["Q05"][11]
    assert rows["Q02"][6] > 0.95
    flags = [r for r in wb["标记"].iter_rows(min_row=2, values_only=True)]
    assert ("Q01", "key_error") in {(r[0], r[1]) for r in flags}
    options = list(wb["选项"].iter_rows(min_row=2, values_only=True))
    assert {r[1] for r in options if r[0] == "Q01"} == {"A", "B", "C", "D", "未答"}
    assert sum(1 for r in options if r[2] == "✓") == 20
    assert wb["IRT"].cell(row=2, column=1).value == "Q01"
    assert len(wb["概况"]._images) == 1  # the histogram


def test_a_report_without_options_or_flags_still_renders(tmp_path: Path) -> None:
    """Scores only, nothing flagged: no distractor pages and no curves, but the summary and the item table."""
    from pypdf import PdfReader

    rng = np.random.default_rng(1)
    x = (rng.random((60, 4)) < 0.6).astype(float)
    result = analyze(x, 1, labels=["甲1", "甲2", "甲3", "甲4"])
    assert result.flags == []
    reader = PdfReader(io.BytesIO(render_pdf(result, title="小样本")))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "没有题目被标记" in text and "甲4" in text and "选项（干扰项）分析" not in text
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(render_xlsx(result, title="小样本")))
    assert wb.sheetnames == ["概况", "题目", "标记", "选项"]


def test_dif_results_are_in_both_reports(tmp_path: Path) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader

    path = _dif_file(tmp_path)
    out = tmp_path / "dif.pdf"
    run_cli("stats", "analyze", str(path), "--group", "考点", "--out", str(out))
    text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    assert "项目功能差异" in text and "DIF C类" in text and "I6" in text
    run_cli("stats", "analyze", str(path), "--group", "考点", "--out", str(tmp_path / "dif.xlsx"))
    wb = load_workbook(tmp_path / "dif.xlsx")
    assert "DIF" in wb.sheetnames
    classes = {r[0]: r[6] for r in wb["DIF"].iter_rows(min_row=2, max_row=21, values_only=True)}
    assert classes["I6"] == "C"
