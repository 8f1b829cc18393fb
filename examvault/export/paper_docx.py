"""The paper and its marking key as editable Word documents (python-docx), for experts to review.

Same content as the PDF. Word cannot hold a rotated seal strip in the margin without
drawing objects python-docx does not write, so the seal line is the page header instead:
the candidate's fields above a dotted 密封线 rule, on every page. Page numbers are Word
fields (第 PAGE 页 共 NUMPAGES 页), so they stay right while experts edit.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from examvault.errors import ValidationError
from examvault.export.document import DocItem, PaperDocument, fmt_points, key_text
from examvault.export.paper_pdf import NOTICE, SEAL_FIELDS, SEAL_WARNING
from examvault.itembank import domain

BODY_FONT = "宋体"
HEADING_FONT = "黑体"


def _font(run, name: str = BODY_FONT, size: float = 10.5, bold: bool = False) -> None:  # noqa: ANN001
    run.font.name = name
    run.font.size = Pt(size)
    run.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _para(container, text: str = "", *, size: float = 10.5, font: str = BODY_FONT, bold: bool = False,  # noqa: ANN001
          center: bool = False, after: float = 2):  # noqa: ANN202
    p = container.add_paragraph()
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_after = Pt(after)
    if text:
        _font(p.add_run(text), font, size, bold)
    return p


def _field(paragraph, instruction: str) -> None:  # noqa: ANN001
    """A Word field (PAGE, NUMPAGES) that Word fills in when it lays the pages out."""
    run = paragraph.add_run()
    _font(run, size=9)
    for kind, text in (("begin", None), (None, instruction), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._r.append(el)


def _setup(document, doc: PaperDocument, *, seal: bool) -> None:  # noqa: ANN001
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(22), Mm(18)
    section.top_margin, section.bottom_margin = Mm(25), Mm(18)
    header = section.header
    first = header.paragraphs[0]
    _font(first.add_run(f"{doc.occupation}（{doc.level_label}）理论知识考试试卷 {doc.form_label}　试卷编号：{doc.code}"), size=9)
    if seal:
        _para(header, SEAL_FIELDS, size=9)
        _para(header, f"…………………………密…………封…………线…………（{SEAL_WARNING}）…………………………", size=9, center=True)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(footer.add_run("第 "), size=9)
    _field(footer, "PAGE")
    _font(footer.add_run(" 页 共 "), size=9)
    _field(footer, "NUMPAGES")
    _font(footer.add_run(" 页" + (f"　印制编号：{doc.serial}" if doc.serial else "")), size=9)
    if doc.draft:
        _font(first.add_run("　【样卷 / DRAFT：未经审批】"), size=9, bold=True)


def _table(document, rows: list[list[str]], widths_mm: list[float]) -> None:  # noqa: ANN001
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            cell = table.cell(r, c)
            cell.width = Mm(widths_mm[c])
            p = cell.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            if text:
                _font(p.add_run(text), size=10)


def _title(document, doc: PaperDocument, *extra: str) -> None:  # noqa: ANN001
    _para(document, "职业技能等级认定", size=18, font=HEADING_FONT, center=True)
    _para(document, f"{doc.title}（{doc.form_label}）", size=15, font=HEADING_FONT, center=True)
    for line in extra:
        _para(document, line, size=15, font=HEADING_FONT, center=True)


def _item(document, item: DocItem) -> None:  # noqa: ANN001
    if item.is_set_stem:
        _para(document, item.stem)
    elif item.type == "判断":
        _para(document, f"{item.number}．（　　）{item.stem}")
    elif item.type in domain.SUBJECTIVE_TYPES:
        _para(document, f"{item.number}．{item.stem}（{fmt_points(item.points)}分）")
    else:
        _para(document, f"{item.number}．{item.stem}")
    for img in item.images:
        if img.mime.startswith("image/"):
            try:
                document.add_picture(io.BytesIO(img.data), width=Mm(80))
            except Exception as exc:  # python-docx raises its own or PIL's error for a damaged picture
                raise ValidationError(f"item {item.code} (question {item.number}): image {img.name!r} cannot be read "
                                      f"({type(exc).__name__}); fix the item's 图片 and render again") from None
    if item.options:
        longest = max(len(o) for o in item.options)
        per_line = 4 if longest <= 8 else 2 if longest <= 20 else 1
        labelled = [f"{domain.OPTION_LETTERS[k]}．{o}" for k, o in enumerate(item.options)]
        for k in range(0, len(labelled), per_line):
            _para(document, "　　".join(labelled[k : k + per_line]), after=0)
    if item.type in domain.SUBJECTIVE_TYPES:
        for _ in range(int(min(2 + item.points, 25))):
            _para(document, "", after=0)


def render_paper_docx(doc: PaperDocument) -> bytes:
    document = Document()
    _setup(document, doc, seal=True)
    _title(document, doc)
    _para(document, f"试卷编号：{doc.code}　　考试时间：{doc.duration_minutes}分钟　　满分：{fmt_points(doc.total_points)}分", size=10, center=True)
    _para(document, "注　意　事　项", size=11, font=HEADING_FONT)
    for line in NOTICE:
        _para(document, line.format(minutes=doc.duration_minutes, points=fmt_points(doc.total_points)), size=10, after=0)
    _para(document, "")
    head = ["题号", *[s.numeral for s in doc.sections], "总分", "统分人"]
    _table(document, [head, ["得分", *[""] * (len(head) - 1)]], [170 / len(head)] * len(head))
    for section in doc.sections:
        _para(document, "")
        _table(document, [["得分", ""], ["评分人", ""]], [14, 18])
        _para(document, section.heading, size=11, font=HEADING_FONT, bold=True)
        for item in section.items:
            _item(document, item)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def render_key_docx(doc: PaperDocument) -> bytes:
    document = Document()
    _setup(document, doc, seal=False)
    _title(document, doc, "标准答案及评分标准")
    for section in doc.sections:
        each = f"每题{fmt_points(section.points_each)}分，" if section.points_each is not None else ""
        _para(document, f"{section.title}（{each}满分{fmt_points(section.total)}分）", size=12, font=HEADING_FONT)
        scorable = [i for i in section.items if not i.is_set_stem]
        if section.type in domain.SUBJECTIVE_TYPES:
            for item in scorable:
                _para(document, f"{item.number}．（{fmt_points(item.points)}分）{item.stem}")
                if item.answer:
                    _para(document, f"参考答案：{item.answer}")
                if item.analysis:
                    _para(document, f"评分要点：{item.analysis}")
            _para(document, "评分说明：按要点给分，答出要点意思即可给分；计算题步骤、公式、结果正确酌情给分；未答或答错不给分。")
        else:
            rows: list[list[str]] = []
            for k in range(0, len(scorable), 10):
                chunk = scorable[k : k + 10]
                rows.append([str(i.number) for i in chunk] + [""] * (10 - len(chunk)))
                rows.append([key_text(i) for i in chunk] + [""] * (10 - len(chunk)))
            if rows:
                _table(document, rows, [17] * 10)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
