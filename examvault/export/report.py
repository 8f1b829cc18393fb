"""Administrative documents — supervision reports, work records, notices — as PDF and DOCX.

A `ReportDoc` says what the document holds (a title, a header of fields, headed
sections of paragraphs and tables, a signature block); the two renderers lay out
the same content, so the Word file a supervisor edits matches the PDF filed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from examvault.export.paper_docx import BODY_FONT as DOCX_BODY
from examvault.export.paper_docx import HEADING_FONT, _font, _para


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    widths: list[float] | None = None  # relative column widths

    def text(self) -> str:
        return "".join(self.columns) + "".join("".join(r) for r in self.rows)


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass
class ReportDoc:
    title: str
    institution: str
    fields: list[tuple[str, str]]  # the header table: 认定批次, 职业（工种）, 等级, 日期…
    sections: list[Section]
    signatures: list[str]  # 督导员（签名）, 主考（签名）…
    footer: str = ""

    def field_rows(self) -> list[list[str]]:
        """The header fields two to a row: label, value, label, value."""
        flat = [x for pair in self.fields for x in pair]
        return [(flat[i : i + 4] + [""] * 4)[:4] for i in range(0, len(flat), 4)]

    def signature_lines(self) -> list[str]:
        return [f"{sig}：＿＿＿＿＿＿＿＿　　　　日期：＿＿＿＿年＿＿月＿＿日" for sig in self.signatures]

    def body_text(self) -> str:
        parts = [self.institution, self.footer, *(a + b for a, b in self.fields), *self.signature_lines(), "第页　"]
        for s in self.sections:
            parts += [*s.paragraphs, *(t.text() for t in s.tables)]
        return "".join(parts) + "0123456789-—:.%/ "

    def heading_text(self) -> str:
        return self.title + "".join(s.heading for s in self.sections)


def to_pdf(doc: ReportDoc) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as RLTable

    from examvault.export.fonts import register_fonts

    everything = doc.body_text() + doc.heading_text()  # table headers and field labels use the heading face
    fonts = register_fonts(everything, everything)
    body = ParagraphStyle("body", fontName=fonts.body, fontSize=10.5, leading=16, wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=body, fontSize=9, leading=12)
    head_cell = ParagraphStyle("head", parent=cell, fontName=fonts.heading)
    title = ParagraphStyle("title", fontName=fonts.heading, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=4 * mm)
    sub = ParagraphStyle("sub", parent=body, alignment=TA_CENTER, spaceAfter=4 * mm)
    heading = ParagraphStyle("h", fontName=fonts.heading, fontSize=12, leading=18, spaceBefore=4 * mm, spaceAfter=2 * mm)
    width = A4[0] - 40 * mm
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                       ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)])  # fmt: skip

    def table(t: Table) -> RLTable:
        rel = t.widths or [1.0] * len(t.columns)
        widths = [width * w / sum(rel) for w in rel]
        data = [[Paragraph(c, head_cell) for c in t.columns]] + [[Paragraph(_escape(v), cell) for v in r] for r in t.rows]
        rl = RLTable(data, colWidths=widths, repeatRows=1)
        rl.setStyle(grid)
        rl.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92))]))
        return rl

    story: list = [Paragraph(_escape(doc.title), title), Paragraph(_escape(doc.institution), sub)]  # type: ignore[type-arg]
    header = [[Paragraph(_escape(x), cell if j % 2 else head_cell) for j, x in enumerate(row)] for row in doc.field_rows()]
    ht = RLTable(header, colWidths=[width * w for w in (0.17, 0.33, 0.17, 0.33)])
    ht.setStyle(grid)
    story.append(ht)
    for s in doc.sections:
        story.append(Paragraph(_escape(s.heading), heading))
        story += [Paragraph(_escape(p), body) for p in s.paragraphs]
        for t in s.tables:
            story += [table(t), Spacer(1, 2 * mm)]
    story.append(Spacer(1, 10 * mm))
    story += [Paragraph(_escape(line), body) for line in doc.signature_lines()]

    def page(c, d) -> None:  # noqa: ANN001
        c.setFont(fonts.body, 8)
        c.drawCentredString(A4[0] / 2, 10 * mm, f"{doc.footer}　第 {d.page} 页")

    out = io.BytesIO()
    pdf = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
                            title=doc.title, author=doc.institution, invariant=True)  # fmt: skip
    pdf.build(story, onFirstPage=page, onLaterPages=page)
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br/>")


def to_docx(doc: ReportDoc) -> bytes:
    from docx import Document
    from docx.shared import Mm

    d = Document()
    sec = d.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.left_margin = sec.right_margin = Mm(20)

    def table(columns: list[str], rows: list[list[str]], header: bool = True) -> None:
        t = d.add_table(rows=0, cols=len(columns))
        t.style = "Table Grid"
        for r, values in enumerate(([columns] if header else []) + rows):
            cells = t.add_row().cells
            for c, v in enumerate(values):
                _font(cells[c].paragraphs[0].add_run(v), HEADING_FONT if header and r == 0 else DOCX_BODY, 9)

    _para(d, doc.title, size=18, font=HEADING_FONT, center=True)
    _para(d, doc.institution, center=True)
    table(["", "", "", ""], doc.field_rows(), header=False)
    for s in doc.sections:
        _para(d, s.heading, size=12, font=HEADING_FONT)
        for p in s.paragraphs:
            _para(d, p)
        for t in s.tables:
            table(t.columns, t.rows)
    _para(d)
    for line in doc.signature_lines():
        _para(d, line)
    if doc.footer:
        _font(sec.footer.paragraphs[0].add_run(doc.footer), DOCX_BODY, 8)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()
