"""The printed paper and its marking key as PDF (reportlab), in the 职业技能等级认定 layout.

Every page: the seal line (密封线) with 姓名 / 准考证号 / 单位 down the left margin,
"第 x 页 共 y 页" and the paper code in the footer, and — for a paper that is not
approved — a 样卷 / DRAFT watermark. Page one: the title block, 注意事项 and the score
table. Each section: its 得分 / 评分人 box and a heading with the question range, the
rule and the points. Fonts are subset and embedded (fonts.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    CondPageBreak,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from examvault.errors import ValidationError
from examvault.export.document import DocItem, DocSection, PaperDocument, fmt_points, key_text
from examvault.export.fonts import FontPair, register_fonts
from examvault.itembank import domain

PAGE_W, PAGE_H = A4
LEFT = 34 * mm  # the seal-line strip takes the left margin
RIGHT = 16 * mm
TOP = 18 * mm
BOTTOM = 18 * mm
SEAL_X = 24 * mm
NOTICE = (
    "1. 考试时间：{minutes}分钟，满分{points}分。",
    "2. 请在试卷标封处填写姓名、准考证号和所在单位的名称。",
    "3. 请仔细阅读答题要求，在规定位置填写答案。",
    "4. 不要在试卷上乱写乱画，不要在标封区填写无关的内容。",
)
SEAL_FIELDS = "姓名：________________　　准考证号：________________________　　单位：________________________"
SEAL_WARNING = "密封线内不要答题"
SEAL_INNER = "考  生  答  题  不  准  超  过  此  线（" + SEAL_WARNING + "）"
DRAFT_MARK = "样卷 / DRAFT"
# Every fixed string the layout prints, so the font subset covers them.
LABELS = ("职业技能等级认定注意事项题号总分统分人得分评分人考试时间分钟试卷编号第页共印制编号标准答案及评分标准参考答案评分要点"
          "评分说明按要点给分答出要点意思即可给分未答或答错不给分客观题计算题步骤公式结果正确酌情卷×√（）：．，。、～"
          + "".join(NOTICE) + SEAL_FIELDS + SEAL_INNER + DRAFT_MARK + "密封线一二三四五六七八九十"
          + "".join(chr(c) for c in range(0x20, 0x7F)))  # fmt: skip
ANSWER_SPACE_PER_POINT = 6 * mm
# What the heading font prints besides titles and section headings.
HEADING_LABELS = ("职业技能等级认定注意事项标准答案及评分标准答题卡每题满分共第（）、，。：～　" + DRAFT_MARK + "".join(chr(c) for c in range(0x20, 0x7F)))


class _Styles:
    def __init__(self, fonts: FontPair) -> None:
        self.fonts = fonts
        base = {"fontName": fonts.body, "fontSize": 10.5, "leading": 16, "wordWrap": "CJK"}
        self.body = ParagraphStyle("body", **base)
        self.option = ParagraphStyle("option", **base | {"leftIndent": 0})
        self.title0 = ParagraphStyle("t0", **base | {"fontName": fonts.heading, "fontSize": 18, "leading": 26, "alignment": TA_CENTER})
        self.title1 = ParagraphStyle("t1", **base | {"fontName": fonts.heading, "fontSize": 15, "leading": 22, "alignment": TA_CENTER})
        self.meta = ParagraphStyle("meta", **base | {"alignment": TA_CENTER, "fontSize": 10})
        self.notice_head = ParagraphStyle("nh", **base | {"fontName": fonts.heading, "fontSize": 11})
        self.notice = ParagraphStyle("n", **base | {"fontSize": 10, "leading": 15, "leftIndent": 8 * mm})
        self.section = ParagraphStyle("sec", **base | {"fontName": fonts.heading, "fontSize": 11, "leading": 17, "alignment": TA_LEFT})
        self.cell = ParagraphStyle("cell", **base | {"fontSize": 10, "leading": 13, "alignment": TA_CENTER})
        self.key_head = ParagraphStyle("kh", **base | {"fontName": fonts.heading, "fontSize": 12, "leading": 18})


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br/>")


def numbered_canvas(decorate: Callable[[rl_canvas.Canvas, int, int], None], *, font: str | None = None) -> type[rl_canvas.Canvas]:
    """A canvas that holds its pages until the end, so `decorate(canvas, page, total)` can write
    "第 x 页 共 y 页" on each. With `font`, it starts in that embedded font: reportlab's default
    (Helvetica) would be a font the PDF does not carry."""

    class NumberedCanvas(rl_canvas.Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if font is not None:
                kwargs["initialFontName"] = font
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                decorate(self, self._pageNumber, total)
                super().showPage()
            super().save()

    return NumberedCanvas


def _decorate(c: rl_canvas.Canvas, doc: PaperDocument, fonts: FontPair, page: int, total: int, with_seal: bool) -> None:
    c.saveState()
    c.setFont(fonts.body, 9)
    footer = f"第 {page} 页 共 {total} 页"
    c.drawCentredString(PAGE_W / 2 + (LEFT - RIGHT) / 2, 10 * mm, footer)
    c.drawRightString(PAGE_W - RIGHT, 10 * mm, f"试卷编号：{doc.code}")
    c.drawString(LEFT, PAGE_H - 11 * mm, f"{doc.occupation}（{doc.level_label}）理论知识考试试卷 {doc.form_label}")
    if doc.serial:
        c.drawString(LEFT, 10 * mm, f"印制编号：{doc.serial}")
    if with_seal:
        _seal_line(c, fonts)
    if doc.draft:
        _watermark(c, fonts, DRAFT_MARK, 54, 0.13)
    if doc.serial:
        _watermark(c, fonts, doc.serial, 20, 0.06, offset=-70 * mm)
    c.restoreState()


def _seal_line(c: rl_canvas.Canvas, fonts: FontPair) -> None:
    """密封线: a dashed line down the left margin, the candidate's fields outside it."""
    c.setStrokeColor(colors.black)
    c.setLineWidth(0.6)
    c.setDash(4, 3)
    c.line(SEAL_X, BOTTOM, SEAL_X, PAGE_H - TOP)
    c.setDash()
    mid = (PAGE_H - TOP + BOTTOM) / 2
    c.setFont(fonts.body, 10.5)
    for k, ch in enumerate("密封线"):  # the words sit on the line, on a white ground
        y = mid + (1 - k) * 70 * mm
        c.setFillColor(colors.white)
        c.rect(SEAL_X - 3 * mm, y - 3 * mm, 6 * mm, 6 * mm, stroke=0, fill=1)
        c.setFillColor(colors.black)
        c.drawCentredString(SEAL_X, y - 1.3 * mm, ch)
    c.saveState()
    c.translate(14 * mm, mid)
    c.rotate(90)
    c.setFont(fonts.body, 10)
    c.drawCentredString(0, 0, SEAL_FIELDS)
    c.restoreState()
    c.saveState()
    c.translate(SEAL_X + 5 * mm, mid)
    c.rotate(90)
    c.setFont(fonts.body, 9)
    c.drawCentredString(0, 0, SEAL_INNER)
    c.restoreState()


def _watermark(c: rl_canvas.Canvas, fonts: FontPair, text: str, size: float, alpha: float, offset: float = 0) -> None:
    c.saveState()
    c.setFillColor(colors.grey)
    c.setFillAlpha(alpha)
    c.translate(PAGE_W / 2 + 8 * mm, PAGE_H / 2 + offset)
    c.rotate(40)
    c.setFont(fonts.heading, size)
    c.drawCentredString(0, 0, text)
    c.restoreState()


def _grid(data: list[list[Any]], widths: list[float], style: _Styles, header_rows: int = 1) -> Table:
    t = Table(data, colWidths=widths, rowHeights=[8 * mm] * len(data))
    t.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("FONTNAME", (0, 0), (-1, -1), style.fonts.body),
        ("FONTSIZE", (0, 0), (-1, -1), 10),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))  # fmt: skip
    return t


def _score_table(doc: PaperDocument, style: _Styles) -> Table:
    numerals = [s.numeral for s in doc.sections]
    head = ["题号", *numerals, "总分", "统分人"]
    width = (PAGE_W - LEFT - RIGHT) / len(head)
    return _grid([head, ["得分", *[""] * (len(head) - 1)]], [width] * len(head), style)


def _section_box(style: _Styles) -> Table:
    return _grid([["得分", ""], ["评分人", ""]], [14 * mm, 18 * mm], style)


def _options(item: DocItem, style: _Styles) -> Table | None:
    if not item.options:
        return None
    texts = [f"{domain.OPTION_LETTERS[k]}．{_esc(o)}" for k, o in enumerate(item.options)]
    longest = max(len(o) for o in item.options)
    per_row = 4 if longest <= 8 else 2 if longest <= 20 else 1
    width = (PAGE_W - LEFT - RIGHT - 8 * mm) / per_row
    rows = [texts[k : k + per_row] for k in range(0, len(texts), per_row)]
    rows[-1] += [""] * (per_row - len(rows[-1]))
    t = Table([[Paragraph(cell, style.option) if cell else "" for cell in row] for row in rows], colWidths=[width] * per_row)
    t.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), style.fonts.body), ("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                           ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("VALIGN", (0, 0), (-1, -1), "TOP")]))  # fmt: skip
    t.hAlign = "LEFT"
    return t


def _images(item: DocItem) -> list[Any]:
    out = []
    for img in item.images:
        if not img.mime.startswith("image/"):
            continue
        try:
            flowable = Image(io.BytesIO(img.data))
        except Exception as exc:  # reportlab raises whatever PIL raises for a damaged picture
            raise ValidationError(f"item {item.code} (question {item.number}): image {img.name!r} cannot be read "
                                  f"({type(exc).__name__}); fix the item's 图片 and render again") from None
        scale = min(1.0, (90 * mm) / flowable.drawWidth, (60 * mm) / flowable.drawHeight)
        flowable.drawWidth *= scale
        flowable.drawHeight *= scale
        flowable.hAlign = "LEFT"
        out.append(flowable)
    return out


def _item_flowables(item: DocItem, style: _Styles) -> list[Any]:
    if item.is_set_stem:
        return [Paragraph(_esc(item.stem), style.body), *_images(item)]
    if item.type == "判断":
        text = f"{item.number}．（　　）{_esc(item.stem)}"
    elif item.type in domain.SUBJECTIVE_TYPES:
        text = f"{item.number}．{_esc(item.stem)}（{fmt_points(item.points)}分）"
    else:
        text = f"{item.number}．{_esc(item.stem)}"
    parts: list[Any] = [Paragraph(text, style.body), *_images(item)]
    options = _options(item, style)
    if options is not None:
        parts.append(options)
    if item.type in domain.SUBJECTIVE_TYPES:
        parts.append(Spacer(1, min(10 * mm + item.points * ANSWER_SPACE_PER_POINT, 150 * mm)))
    return [KeepTogether(parts)]


def _section_flowables(section: DocSection, style: _Styles) -> list[Any]:
    head = Table([[_section_box(style), Paragraph(_esc(section.heading), style.section)]],
                 colWidths=[36 * mm, PAGE_W - LEFT - RIGHT - 36 * mm])  # fmt: skip
    head.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), style.fonts.body), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                              ("LEFTPADDING", (0, 0), (-1, -1), 0)]))  # fmt: skip
    # A heading never ends a page: it needs room for itself and a first item below it.
    out: list[Any] = [CondPageBreak(45 * mm), Spacer(1, 3 * mm), head, Spacer(1, 2 * mm)]
    for item in section.items:
        out += [*_item_flowables(item, style), Spacer(1, 1.5 * mm)]
    return out


def _build(doc: PaperDocument, story_for: Callable[[_Styles], list[Any]], *, with_seal: bool, title: str) -> bytes:
    fonts = register_fonts(doc.all_text() + LABELS, doc.heading_text() + HEADING_LABELS)
    style = _Styles(fonts)
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=LEFT if with_seal else RIGHT + 6 * mm, rightMargin=RIGHT, topMargin=TOP,
        bottomMargin=BOTTOM, title=title, author=doc.institution or "examvault", subject=doc.code, creator="examvault",
        invariant=True,  # no timestamps or random ids: the same paper renders to the same bytes
    )  # fmt: skip
    template.build(story_for(style), canvasmaker=numbered_canvas(lambda c, page, total: _decorate(c, doc, fonts, page, total, with_seal), font=fonts.body))
    return buffer.getvalue()


def render_paper_pdf(doc: PaperDocument) -> bytes:
    def story(style: _Styles) -> list[Any]:
        out: list[Any] = [
            Paragraph("职业技能等级认定", style.title0),
            Paragraph(f"{_esc(doc.title)}（{doc.form_label}）", style.title1),
            Paragraph(f"试卷编号：{doc.code}　　考试时间：{doc.duration_minutes}分钟　　满分：{fmt_points(doc.total_points)}分", style.meta),
            Spacer(1, 4 * mm),
            Paragraph("注　意　事　项", style.notice_head),
            *[Paragraph(line.format(minutes=doc.duration_minutes, points=fmt_points(doc.total_points)), style.notice) for line in NOTICE],
            Spacer(1, 4 * mm),
            _score_table(doc, style),
        ]  # fmt: skip
        for section in doc.sections:
            out += _section_flowables(section, style)
        return out

    return _build(doc, story, with_seal=True, title=f"{doc.title} {doc.form_label}")


def render_key_pdf(doc: PaperDocument) -> bytes:
    """标准答案及评分标准: objective answers in grids, subjective reference answers and marking points."""

    def story(style: _Styles) -> list[Any]:
        out: list[Any] = [
            Paragraph("职业技能等级认定", style.title0),
            Paragraph(f"{_esc(doc.title)}（{doc.form_label}）", style.title1),
            Paragraph("标准答案及评分标准", style.title1),
            Paragraph(f"试卷编号：{doc.code}", style.meta),
            Spacer(1, 4 * mm),
        ]
        for section in doc.sections:
            scorable = [i for i in section.items if not i.is_set_stem]
            each = f"每题{fmt_points(section.points_each)}分，" if section.points_each is not None else ""
            out.append(Paragraph(f"{_esc(section.title)}（{each}满分{fmt_points(section.total)}分）", style.key_head))
            if section.type in domain.SUBJECTIVE_TYPES:
                for item in scorable:
                    out.append(Paragraph(f"{item.number}．（{fmt_points(item.points)}分）{_esc(item.stem)}", style.body))
                    if item.answer:
                        out.append(Paragraph(f"参考答案：{_esc(item.answer)}", style.body))
                    if item.analysis:
                        out.append(Paragraph(f"评分要点：{_esc(item.analysis)}", style.body))
                    out.append(Spacer(1, 2 * mm))
                out.append(Paragraph("评分说明：按要点给分，答出要点意思即可给分；计算题步骤、公式、结果正确酌情给分；未答或答错不给分。", style.body))
            else:
                per_row = 10
                width = (PAGE_W - 2 * RIGHT - 6 * mm) / per_row
                rows: list[list[Any]] = []
                for k in range(0, len(scorable), per_row):
                    chunk = scorable[k : k + per_row]
                    rows.append([str(i.number) for i in chunk] + [""] * (per_row - len(chunk)))
                    rows.append([Paragraph(_esc(key_text(i)), style.cell) for i in chunk] + [""] * (per_row - len(chunk)))
                table = Table(rows, colWidths=[width] * per_row)
                table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("FONTNAME", (0, 0), (-1, -1), style.fonts.body),
                                           ("ALIGN", (0, 0), (-1, -1), "CENTER"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                           *[("BACKGROUND", (0, r), (-1, r), colors.HexColor("#eeeeee")) for r in range(0, len(rows), 2)]]))  # fmt: skip
                out.append(table)
            out.append(Spacer(1, 4 * mm))
        return out

    return _build(doc, story, with_seal=False, title=f"{doc.title} {doc.form_label} 标准答案及评分标准")


