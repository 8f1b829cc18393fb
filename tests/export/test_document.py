"""The renderers on documents built in code: images, keys for 填空, damaged pictures."""

from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage
from pypdf import PdfReader

from examvault.errors import ValidationError
from examvault.export.document import DocItem, DocSection, Image, PaperDocument, key_text
from examvault.export.paper_docx import render_paper_docx
from examvault.export.paper_pdf import render_key_pdf, render_paper_pdf


def _doc(images: list[Image]) -> PaperDocument:
    items = [DocItem(1, 1, "判断", 1, "图示电路中灯泡会亮。", images=images, answer="√", code="C1"),
             DocItem(2, 2, "填空", 1, "安全电压等级有42V、______、24V。", answer="36V/36伏", code="C2")]  # fmt: skip
    return PaperDocument("电工", "6-31-01-03", 3, "A", "P2026-0001-A", 90, 2,
                         [DocSection("一、判断题", "判断", "每题1分，满分1分。", 1, 1, items[:1]),
                          DocSection("二、填空题", "填空", "每题1分，满分1分。", 1, 1, items[1:])], draft=False)  # fmt: skip


def _png() -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (120, 60), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_images_are_placed_and_fill_in_keys_list_alternatives() -> None:
    doc = _doc([Image("电路.png", "image/png", _png())])
    pdf = PdfReader(io.BytesIO(render_paper_pdf(doc)))
    assert any(page.images for page in pdf.pages)
    assert key_text(doc.sections[1].items[0]) == "36V / 36伏"
    key = "".join(p.extract_text() for p in PdfReader(io.BytesIO(render_key_pdf(doc))).pages)
    assert "36V/36伏" in "".join(key.split())
    assert render_paper_docx(doc)  # the DOCX takes the picture too


@pytest.mark.parametrize("render", [render_paper_pdf, render_paper_docx])
def test_a_damaged_picture_is_a_located_error(render) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError, match=r"item C1 \(question 1\): image '坏图.png' cannot be read"):
        render(_doc([Image("坏图.png", "image/png", b"not a picture")]))
