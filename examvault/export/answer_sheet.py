"""答题卡: an answer sheet for the objective items, and a machine-readable map of its bubbles.

Drawn with the reportlab canvas at fixed positions, so the JSON layout written beside it
says exactly where every mark is: the four corner fiducials, the 准考证号 bubble grid,
and each objective item's choice bubbles. Coordinates are PDF points from the page's
bottom-left corner, which an optical reader can map through the fiducials. Subjective
items are answered on the paper itself.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas

from examvault.export.document import PaperDocument
from examvault.export.fonts import register_fonts
from examvault.export.paper_pdf import HEADING_LABELS
from examvault.itembank import domain

PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
FIDUCIAL = 6 * mm
BUBBLE_R = 2.1 * mm
TICKET_DIGITS = 14
LABELS = ("　填空题、主观题请在试卷上作答。职业技能等级认定理论知识考试答题卡试卷编号姓名单位准考证号填涂说明用2B铅笔将对应选项涂满涂黑修改时用橡皮擦干净"
          "正确填涂错误主观题请在试卷上作答判断题单项选择题多项选择题一二三四五六七八九十、（）：√×第页共卷"
          + "".join(chr(c) for c in range(0x20, 0x7F)))  # fmt: skip
COLUMNS = 4  # item blocks across the page


def _choices(item_type: str, options: int) -> list[str]:
    if item_type == "判断":
        return [domain.TRUE_MARK, domain.FALSE_MARK]
    return list(domain.OPTION_LETTERS[: max(options, 2)])


def render_answer_sheet(doc: PaperDocument) -> tuple[bytes, dict[str, Any]]:
    """The sheet as PDF bytes, and its layout (page size, fiducials, ticket grid, item bubbles)."""
    fonts = register_fonts(doc.all_text() + LABELS, doc.heading_text() + HEADING_LABELS + "第题～")
    out = io.BytesIO()
    c = rl_canvas.Canvas(out, pagesize=A4, invariant=True, initialFontName=fonts.body)
    c.setTitle(f"{doc.title} {doc.form_label} 答题卡")
    layout: dict[str, Any] = {"paper": doc.code, "form": doc.form, "unit": "pt, origin bottom-left", "pages": []}
    objective = [(s, i) for s in doc.sections if s.type in domain.OBJECTIVE_TYPES and s.type != "填空" for i in s.items if not i.is_set_stem]
    page, y = _new_page(c, doc, fonts, layout, first=True)
    col_w = (PAGE_W - 2 * MARGIN) / COLUMNS
    current = None
    col = 0
    row_h = 6.5 * mm
    for section, item in objective:
        if section is not current:
            if col:
                y -= row_h
                col = 0
            if y < MARGIN + 30 * mm:
                c.showPage()
                page, y = _new_page(c, doc, fonts, layout, first=False)
            y -= 4 * mm
            c.setFont(fonts.heading, 10.5)
            first, last = section.numbers
            c.drawString(MARGIN, y, f"{section.title}（第{first}题～第{last}题）")
            y -= row_h
            current = section
        if y < MARGIN + 12 * mm:
            c.showPage()
            page, y = _new_page(c, doc, fonts, layout, first=False)
            y -= row_h
        x = MARGIN + col * col_w
        c.setFont(fonts.body, 9)
        c.drawRightString(x + 8 * mm, y - 1.2 * mm, str(item.number))
        bubbles = []
        for k, label in enumerate(_choices(item.type, len(item.options))):
            bx = x + 12 * mm + k * 5.6 * mm
            c.setStrokeColor(colors.black)
            c.circle(bx, y, BUBBLE_R, stroke=1, fill=0)
            c.setFont(fonts.body, 6)
            c.drawCentredString(bx, y - 0.8 * mm, label)
            bubbles.append({"choice": label, "x": round(bx, 2), "y": round(y, 2), "r": round(BUBBLE_R, 2)})
        page["items"].append({"number": item.number, "position": item.position, "type": item.type, "bubbles": bubbles})
        col += 1
        if col == COLUMNS:
            col = 0
            y -= row_h
    c.setFont(fonts.body, 9)
    if any(s.type in domain.SUBJECTIVE_TYPES or s.type == "填空" for s in doc.sections):
        c.drawString(MARGIN, max(y - 2 * row_h, MARGIN + 8 * mm), "填空题、主观题请在试卷上作答。")
    c.showPage()
    c.save()
    return out.getvalue(), layout


def _new_page(c: rl_canvas.Canvas, doc: PaperDocument, fonts: Any, layout: dict[str, Any], *, first: bool) -> tuple[dict[str, Any], float]:
    """Draw a page's fixed parts; return its layout entry and where the items may start."""
    number = len(layout["pages"]) + 1
    page: dict[str, Any] = {"page": number, "size": [round(PAGE_W, 2), round(PAGE_H, 2)], "fiducials": [], "ticket": [], "items": []}
    layout["pages"].append(page)
    c.setFillColor(colors.black)
    for fx, fy in ((MARGIN / 2, MARGIN / 2), (PAGE_W - MARGIN / 2 - FIDUCIAL, MARGIN / 2),
                   (MARGIN / 2, PAGE_H - MARGIN / 2 - FIDUCIAL), (PAGE_W - MARGIN / 2 - FIDUCIAL, PAGE_H - MARGIN / 2 - FIDUCIAL)):  # fmt: skip
        c.rect(fx, fy, FIDUCIAL, FIDUCIAL, stroke=0, fill=1)
        page["fiducials"].append({"x": round(fx, 2), "y": round(fy, 2), "size": round(FIDUCIAL, 2)})
    c.setFont(fonts.heading, 15)
    top = PAGE_H - MARGIN - 8 * mm
    c.drawCentredString(PAGE_W / 2, top, f"职业技能等级认定　{doc.title}（{doc.form_label}）答题卡")
    c.setFont(fonts.body, 9)
    c.drawString(MARGIN, top - 7 * mm, f"试卷编号：{doc.code}")
    c.drawRightString(PAGE_W - MARGIN, top - 7 * mm, f"第 {number} 页")
    if doc.draft:
        c.setFont(fonts.heading, 9)
        c.drawCentredString(PAGE_W / 2, top - 7 * mm, "样卷 / DRAFT")
    if not first:
        return page, top - 12 * mm
    c.setFont(fonts.body, 10)
    c.drawString(MARGIN, top - 15 * mm, "姓名：____________________　　单位：________________________________")
    c.drawString(MARGIN, top - 22 * mm, "填涂说明：用2B铅笔将对应选项涂满涂黑，修改时用橡皮擦干净。")
    grid_top = top - 30 * mm
    c.drawString(MARGIN, grid_top, "准考证号")
    for d in range(TICKET_DIGITS):
        x = MARGIN + 20 * mm + d * 6.2 * mm
        c.rect(x - 2.6 * mm, grid_top - 1.5 * mm, 5.2 * mm, 5.5 * mm, stroke=1, fill=0)  # the written digit
        for digit in range(10):
            y = grid_top - 7 * mm - digit * 5 * mm
            c.circle(x, y, BUBBLE_R * 0.9, stroke=1, fill=0)
            c.setFont(fonts.body, 6)
            c.drawCentredString(x, y - 0.8 * mm, str(digit))
            page["ticket"].append({"column": d, "digit": digit, "x": round(x, 2), "y": round(y, 2), "r": round(BUBBLE_R * 0.9, 2)})
    return page, grid_top - 7 * mm - 10 * 5 * mm
