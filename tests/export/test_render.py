"""Rendered papers and marking keys: real PDFs, opened and read back."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader

from examvault.accounts.service import add_user
from examvault.assembly.service import approve_paper, assemble, show_paper
from examvault.bank import Bank
from examvault.errors import PermissionDenied, ValidationError
from examvault.export.service import render_paper
from examvault.itembank.outlines import import_outline
from examvault.itembank.service import import_items, show_item
from tests.assembly.test_service import _blueprint, _items
from tests.conftest import outline_rows, write_json


@pytest.fixture
def bank_with_papers(make_bank: Callable[..., Bank], tmp_path: Path) -> Callable[..., Bank]:
    with make_bank("admin").transaction() as s:
        add_user(s, "appr2", ["approver"], "吴敏")
    import_items(make_bank("cust"), write_json(tmp_path / "stock.json", _items(3, {"判断": 80, "单选": 160, "多选": 30})), activate=True)
    return make_bank


def _text(pdf: Path) -> str:
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "\x00" not in text, f"{pdf.name} prints a character its font subset lacks"
    return text


def _squash(text: str) -> str:
    return "".join(text.split())


def _render(bank: Bank, paper_id: str, out: Path) -> tuple[Path, Path]:
    files = [Path(f["file"]) for f in render_paper(bank, paper_id, out)["files"]]
    return files[0], files[1]


def test_paper_pdf_holds_every_item_in_order_with_headings_and_seal_line(bank_with_papers: Callable[..., Bank], tmp_path: Path) -> None:
    cust = bank_with_papers("cust")
    paper = assemble(cust, str(_blueprint(tmp_path)), seed=3)[0]
    pdf, key = _render(cust, paper["id"], tmp_path / "out")
    text = _squash(_text(pdf))
    shown = show_paper(cust, paper["id"])
    at = 0
    for entry in shown["items"]:
        stem = _squash(show_item(cust, entry["item_code"], with_content=True)["content"]["stem"])
        found = text.find(stem, at)
        assert found >= 0, f"position {entry['position']} missing or out of order"
        at = found + len(stem)
    for heading in ("一、判断题（第1题～第10题。", "每题1分，满分10分。）", "二、单项选择题（第11题～第35题。",
                    "三、多项选择题（第36题～第40题。", "每题2分，满分10分。）"):  # fmt: skip
        assert _squash(heading) in text
    for field in ("姓名", "准考证号", "单位", "密封线内不要答题", "注意事项", "题号", "总分", "统分人", "评分人"):
        assert field in text
    assert "样卷/DRAFT" in text  # not approved yet
    assert f"第1页共{len(PdfReader(pdf).pages)}页" in text
    assert "标准答案及评分标准" in _squash(_text(key))


def test_fonts_are_embedded_and_output_is_stable(bank_with_papers: Callable[..., Bank], tmp_path: Path) -> None:
    cust = bank_with_papers("cust")
    paper = assemble(cust, str(_blueprint(tmp_path)), seed=4)[0]
    first, _key = _render(cust, paper["id"], tmp_path / "a")
    second, _key = _render(cust, paper["id"], tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()  # same paper, same bytes (and so the same page count)
    reader = PdfReader(first)
    fonts = {}
    for page in reader.pages:
        for name, ref in page["/Resources"]["/Font"].items():
            fonts[name] = ref.get_object()
    assert fonts
    for font in fonts.values():
        descendants = font.get("/DescendantFonts")
        target = descendants[0].get_object() if descendants else font
        descriptor = target["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, f"{font['/BaseFont']} is not embedded"
        assert "+" in str(font["/BaseFont"])  # a subset


def test_approved_paper_has_no_draft_mark_and_the_key_matches_paper_show(bank_with_papers: Callable[..., Bank], tmp_path: Path) -> None:
    for paper in assemble(bank_with_papers("cust"), str(_blueprint(tmp_path)), seed=5):  # every form
        approve_paper(bank_with_papers("appr"), paper["id"])
        approve_paper(bank_with_papers("appr2"), paper["id"])
        pdf, key = _render(bank_with_papers("cust"), paper["id"], tmp_path / paper["form"])
        assert "DRAFT" not in _text(pdf)
        key_text = _squash(_text(key))
        items = show_paper(bank_with_papers("cust"), paper["id"])["items"]
        # Each section's grid lists ten numbers, then their ten answers; read them back in that order.
        expected = ""
        for section in dict.fromkeys(i["section"] for i in items):
            mine = [i for i in items if i["section"] == section]
            for k in range(0, len(mine), 10):
                chunk = mine[k : k + 10]
                expected += "".join(str(i["position"]) for i in chunk) + "".join(i["answer"] for i in chunk)
        for heading in ("一、判断题（每题1分，满分10分）", "二、单项选择题（每题1分，满分25分）", "三、多项选择题（每题2分，满分10分）"):
            key_text = key_text.replace(heading, "")
        assert expected in key_text, f"form {paper['form']}"


def test_first_pages_render_to_a_non_blank_png(bank_with_papers: Callable[..., Bank], tmp_path: Path) -> None:
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) is not installed; .ci/run installs it")
    from PIL import Image

    paper = assemble(bank_with_papers("cust"), str(_blueprint(tmp_path)), seed=6)[0]
    for pdf in _render(bank_with_papers("cust"), paper["id"], tmp_path / "out"):
        png = tmp_path / f"{pdf.stem}"
        subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(png)], check=True)
        image = Image.open(f"{png}.png").convert("L")
        dark = sum(image.histogram()[:128]) / (image.width * image.height)
        assert 0.01 < dark < 0.5, f"{pdf.name}: {dark:.1%} dark pixels"


def test_two_hundred_items_and_a_level_two_paper_render(bank_with_papers: Callable[..., Bank], tmp_path: Path) -> None:
    cust = bank_with_papers("cust")
    big = _blueprint(tmp_path, name="big.yaml", id="BIG", total_points=100, forms=["A"],
                     sections=[{"type": "判断", "count": 60, "points": 0.5}, {"type": "单选", "count": 120, "points": 0.5},
                               {"type": "多选", "count": 20, "points": 0.5}])  # fmt: skip
    paper = assemble(cust, str(big), seed=1)[0]
    pdf, _key = _render(cust, paper["id"], tmp_path / "big")
    assert "200．" in _text(pdf)  # the last of 200 numbered questions is printed
    import_outline(cust, write_json(tmp_path / "o2.json", outline_rows(2)))
    import_items(cust, write_json(tmp_path / "l2.json", _items(2, {"判断": 10, "单选": 10, "简答": 4}, start=800)), activate=True)
    l2 = _blueprint(tmp_path, name="l2.yaml", id="L2", level=2, total_points=25, forms=["A"],
                    sections=[{"type": "判断", "count": 5, "points": 1}, {"type": "单选", "count": 10, "points": 1},
                              {"type": "简答", "count": 2, "points": 5}])  # fmt: skip
    paper2 = assemble(cust, str(l2), seed=1)[0]
    pdf2, key2 = _render(cust, paper2["id"], tmp_path / "l2")
    assert "四、简答题" not in _text(pdf2) and "三、简答题" in _squash(_text(pdf2))
    assert "评分要点" in _text(key2) and "要点1（3分）" in _squash(_text(key2))


def test_rendering_is_for_custodians_and_a_missing_glyph_is_an_error(bank_with_papers: Callable[..., Bank], tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    paper = assemble(bank_with_papers("cust"), str(_blueprint(tmp_path)), seed=7)[0]
    with pytest.raises(PermissionDenied):
        render_paper(bank_with_papers("appr"), paper["id"], tmp_path / "x")
    import reportlab

    latin_only = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    monkeypatch.setenv("EXAMVAULT_FONT", str(latin_only))
    with pytest.raises(ValidationError, match=r"Vera.ttf has no glyph for \d+ character"):
        render_paper(bank_with_papers("cust"), paper["id"], tmp_path / "y")
    assert not (tmp_path / "y").exists() or not any((tmp_path / "y").iterdir())


def test_docx_reopens_with_every_item_and_the_key(bank_with_papers: Callable[..., Bank], tmp_path: Path) -> None:
    from docx import Document

    cust = bank_with_papers("cust")
    paper = assemble(cust, str(_blueprint(tmp_path)), seed=9)[0]
    result = render_paper(cust, paper["id"], tmp_path / "out", formats=("docx",), serial="B07-0042")
    files = {Path(f["file"]).name: Path(f["file"]) for f in result["files"]}
    assert set(files) == {f"{paper['code']}_试卷.docx", f"{paper['code']}_标准答案及评分标准.docx"}
    document = Document(str(files[f"{paper['code']}_试卷.docx"]))
    text = "\n".join(p.text for p in document.paragraphs)
    shown = show_paper(cust, paper["id"])
    for entry in shown["items"]:
        stem = show_item(cust, entry["item_code"])["content"]["stem"]
        assert f"{entry['position']}．" in text and stem in text
    header = "\n".join(p.text for p in document.sections[0].header.paragraphs)
    assert "姓名" in header and "密" in header and "样卷 / DRAFT" in header
    footer = document.sections[0].footer.paragraphs[0]
    assert "PAGE" in footer._p.xml and "NUMPAGES" in footer._p.xml and "B07-0042" in footer.text
    key = Document(str(files[f"{paper['code']}_标准答案及评分标准.docx"]))
    cells = [c.text for t in key.tables for row in t.rows for c in row.cells]
    assert [i["answer"] for i in shown["items"]] == [c for c in cells if c and not c.isdigit()]


def test_answer_sheet_and_its_bubble_map(bank_with_papers: Callable[..., Bank], tmp_path: Path) -> None:
    import json

    cust = bank_with_papers("cust")
    paper = assemble(cust, str(_blueprint(tmp_path)), seed=10)[0]
    result = render_paper(cust, paper["id"], tmp_path / "out", formats=("pdf",))
    files = {Path(f["file"]).name: Path(f["file"]) for f in result["files"]}
    sheet, layout_file = files[f"{paper['code']}_答题卡.pdf"], files[f"{paper['code']}_答题卡.json"]
    assert "答题卡" in _squash(_text(sheet)) and "准考证号" in _text(sheet)
    layout = json.loads(layout_file.read_text("utf-8"))
    assert len(layout["pages"]) == len(PdfReader(sheet).pages)
    width, height = layout["pages"][0]["size"]
    assert len(layout["pages"][0]["ticket"]) == 14 * 10
    items = [i for page in layout["pages"] for i in page["items"]]
    shown = show_paper(cust, paper["id"])["items"]
    assert [i["position"] for i in items] == [i["position"] for i in shown]  # every objective item, in order
    for item, entry in zip(items, shown, strict=True):
        expected = ["√", "×"] if entry["type"] == "判断" else list("ABCDE"[: 5 if entry["type"] == "多选" else 4])
        assert [b["choice"] for b in item["bubbles"]] == expected
    for page in layout["pages"]:
        assert len(page["fiducials"]) == 4
        marks = [b for i in page["items"] for b in i["bubbles"]] + page["ticket"]
        for b in marks:
            assert b["r"] < b["x"] < width - b["r"] and b["r"] < b["y"] < height - b["r"]
            for f in page["fiducials"]:  # no bubble sits on a fiducial
                assert not (f["x"] - b["r"] < b["x"] < f["x"] + f["size"] + b["r"] and f["y"] - b["r"] < b["y"] < f["y"] + f["size"] + b["r"])
        centres = [(round(b["x"]), round(b["y"])) for b in marks]
        assert len(centres) == len(set(centres))  # no two bubbles in one place
