"""Registration documents: admission tickets (准考证), the seating chart posted at the room door
(考场座位表), the room-preparation notices (考场准备通知单), the annual 公告 and the electronic
职业技能等级证书.

Pure renderers: plain dicts in, PDF bytes (or a `ReportDoc` for `export.report` to render as PDF
and DOCX) out; no database, no files. Ticket batches run to 20,000 candidates, so tickets are
drawn on the reportlab canvas directly: the parts every ticket shares (the frame, labels and the
back page) are drawn once as form XObjects, photos are embedded as they are, and QR codes are
encoded here (`qr_modules`) — for a large batch in a worker process, while this one subsets the
fonts — and drawn as one-bit image masks.
"""

from __future__ import annotations

import io
import math
import multiprocessing
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Any

import numpy as np
from reportlab import rl_config
from reportlab.graphics.barcode.qrencoder import QRErrorCorrectLevel, QRRSBlock
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from examvault.errors import ValidationError
from examvault.export.fonts import FontPair, register_fonts
from examvault.export.report import ReportDoc, Section, Table
from examvault.itembank.domain import LEVEL_NAMES
from examvault.registration.certnumber import KINDS as EVALUATION_KINDS
from examvault.registration.seating import grid as seat_rows
from examvault.registration.seating import position as seat_position  # the layout seating placed people by

PAGE_W, PAGE_H = A4
MARGIN = 20 * mm
CONTENT_W = PAGE_W - 2 * MARGIN
PHOTO_W, PHOTO_H = 35 * mm, 45 * mm  # the 二寸 registration photo
DIGITS = "0123456789"
PHOTO_PLACEHOLDER = "照片"
ASCII = "".join(chr(c) for c in range(0x20, 0x7F))  # codes, dates and times print in the body face
SEAL_RED = colors.Color(0.62, 0.08, 0.08)
HEADER_GREY = colors.Color(0.92, 0.92, 0.92)
QrImage = tuple[int, str]  # a QR code's modules per side, and its rows packed into bytes, as hex


def level_name(level: int | str) -> str:
    """五级/初级工 … 一级/高级技师, from the level number."""
    try:
        return LEVEL_NAMES[int(level)]
    except (KeyError, ValueError):
        raise ValidationError(
            f"level {level!r} is not a level (5 = 五级/初级工 … 1 = 一级/高级技师)"
        ) from None


def _require(record: Mapping[str, Any], keys: Iterable[str], what: str) -> None:
    missing = [k for k in keys if k not in record]
    if missing:
        raise ValidationError(f"{what} lacks {', '.join(missing)}")


def _month(text: str) -> str:
    """2027-05 → 2027年5月; anything else as it is."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    return f"{match[1]}年{int(match[2])}月" if match else text


def _chinese_date(iso: str) -> str:
    """2026-12-20 → 2026年12月20日, the way certificates and notices print dates."""
    year, month, day = iso.split("-")
    return f"{year}年{int(month)}月{int(day)}日"


# ---------------------------------------------------------------------------------- canvas layout


class _Sheet:
    """A canvas with the document's fonts, measured in points from the page's bottom-left corner,
    and the few drawing moves every canvas document here shares."""

    def __init__(self, canvas: Canvas, fonts: FontPair) -> None:
        self.c = canvas
        self.fonts = fonts
        self._block: Any = None  # the open text object of `text_block`, and its current font
        self._block_font: tuple[str, float] | None = None

    def face(self, heading: bool) -> str:
        return self.fonts.heading if heading else self.fonts.body

    @contextmanager
    def text_block(self) -> Iterator[None]:
        """Gather the `text` drawn inside into one text object, shown at the end in the fill colour
        of that moment: a text object per string costs more than the string (a ticket prints ~25)."""
        self._block, self._block_font = self.c.beginText(), None
        try:
            yield
        finally:
            self.c.drawText(self._block)
            self._block = None

    def text(self, x: float, y: float, text: str, size: float, *, heading: bool = False, align: str = "left",
             width: float | None = None, min_size: float = 6) -> None:  # fmt: skip
        """One line at baseline `y`, starting at `x` or centred or right-aligned on it. With `width`,
        the text is aligned in the box [x, x + width] instead and shrunk until it fits: a long place
        name must not run over a table line."""
        face = self.face(heading)
        natural = stringWidth(text, face, size)
        if width is not None:
            if natural > width:  # shrink to fit, down to min_size; widths scale with the size
                fitted = max(min_size, size * width / natural)
                natural *= fitted / size
                size = fitted
            x += {"left": 0, "center": (width - natural) / 2, "right": width - natural}[align]
        elif align != "left":
            x -= natural / (2 if align == "center" else 1)
        if self._block is None:
            self.c.setFont(face, size)
            self.c.drawString(x, y, text)
            return
        if self._block_font != (face, size):
            self._block.setFont(face, size)
            self._block_font = (face, size)
        self._block.setTextOrigin(x, y)
        self._block.textOut(text)

    def spread(
        self, x: float, y: float, text: str, size: float, width: float, *, heading: bool = False
    ) -> None:
        """分散对齐: the characters spread evenly over `width`, as form labels of unequal length
        (姓名, 证件号码) line up on paper."""
        face = self.face(heading)
        if len(text) < 2:
            self.text(x, y, text, size, heading=heading)
            return
        gap = (width - stringWidth(text, face, size)) / (len(text) - 1)
        self.c.setFont(face, size)
        for ch in text:
            self.c.drawString(x, y, ch)
            x += stringWidth(ch, face, size) + gap

    def cell_text(self, x: float, y: float, w: float, h: float, text: str, size: float, *, heading: bool = False,
                  align: str = "center", pad: float = 1.5 * mm) -> None:  # fmt: skip
        """Text vertically centred in the cell whose bottom-left corner is (x, y)."""
        baseline = y + (h - size * 0.72) / 2
        self.text(x + pad, baseline, text, size, heading=heading, align=align, width=w - 2 * pad)

    def grid(
        self, x: float, top: float, widths: Sequence[float], heights: Sequence[float], *, line: float = 0.6
    ) -> None:
        """The lines of a plain table with its top-left corner at (x, top)."""
        c = self.c
        c.setLineWidth(line)
        right, bottom = x + sum(widths), top - sum(heights)
        for y in accumulate(heights, operator.sub, initial=top):
            c.line(x, y, right, y)
        for edge in accumulate(widths, initial=x):
            c.line(edge, top, edge, bottom)

    def field_table(self, x: float, top: float, fields: Sequence[tuple[str, str]], *, label_w: float, row_h: float,
                    size: float) -> float:  # fmt: skip
        """(label, value) pairs two to a row across the content width, labels on grey; returns the
        table's bottom."""
        c = self.c
        value_w = CONTENT_W / 2 - label_w
        rows = math.ceil(len(fields) / 2)
        c.setFillColor(HEADER_GREY)
        for i in range(len(fields)):
            c.rect(x + (i % 2) * CONTENT_W / 2, top - (i // 2 + 1) * row_h, label_w, row_h, stroke=0, fill=1)
        c.setFillColor(colors.black)
        self.grid(x, top, [label_w, value_w] * 2, [row_h] * rows)
        for i, (label, value) in enumerate(fields):
            cell_x, cell_y = x + (i % 2) * CONTENT_W / 2, top - (i // 2 + 1) * row_h
            self.cell_text(cell_x, cell_y, label_w, row_h, label, size, heading=True)
            self.cell_text(cell_x + label_w, cell_y, value_w, row_h, str(value), size, align="left")
        return top - rows * row_h

    def photo(
        self, photo: bytes | None, x: float, y: float, w: float = PHOTO_W, h: float = PHOTO_H, *, what: str
    ) -> None:
        """The photo scaled into the box (x, y, w, h), or 照片 in the middle of it when there is none
        (the caller draws the box: it is part of the form either way)."""
        if photo is None:
            self.text(x, y + h / 2 - 4, PHOTO_PLACEHOLDER, 11, align="center", width=w)
            return
        self.c.drawImage(_photo_reader(photo, what), x, y, w, h, preserveAspectRatio=True, anchor="c")

    def qr(self, text: str, x: float, y: float, size: float) -> None:
        """The QR code of `text` with its bottom-left corner at (x, y); `size` is the symbol without
        its quiet zone, which the caller keeps clear (four modules on each side)."""
        self.qr_image(qr_image(text), x, y, size)

    def qr_image(self, image: QrImage, x: float, y: float, size: float) -> None:
        """A QR code encoded by `qr_image`, drawn as a one-bit image mask, one sample per module, not
        interpolated: the modules print as sharp squares in the fill colour at any resolution.

        A vector path of the dark runs (one `re` per run) renders the same, but its ~20 KB of
        operators per symbol cost ~0.8 ms more per ticket, nearly all of it compressing them: a
        quarter of a 20,000-ticket batch. The mask is ~1.5 KB of hex."""
        n, samples = image
        self.c.saveState()
        self.c.setFillColor(colors.black)
        self.c.transform(size, 0, 0, size, x, y)
        # /D [1 0]: a 1 (dark module) paints; /I false: not interpolated, so never blurred
        self.c.addLiteral(f"BI /IM true /W {n} /H {n} /BPC 1 /D [1 0] /I false /F /AHx ID\n{samples}>\nEI")
        self.c.restoreState()


_NO_LINE_START = set("，。、；：？！）》」』”’…%,.;:?!)")
_UNBREAKABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:/\-]*|.", re.S)


def wrap(text: str, face: str, size: float, width: float) -> list[str]:
    """CJK line breaking: a line may end after any character, but closing punctuation never starts
    a line (it hangs past the margin instead, 标点悬挂) and a run of Latin letters or digits — a
    phone number, 2B — is never split."""
    lines: list[str] = []
    line, used = "", 0.0
    for token in _UNBREAKABLE.findall(text):
        w = stringWidth(token, face, size)
        if line and used + w > width and token[0] not in _NO_LINE_START:
            lines.append(line)
            line, used = "", 0.0
        line += token
        used += w
    return [*lines, line] if line else lines


class _PhotoReader(ImageReader):
    """A JPEG photo goes into the PDF as its own bytes (DCTDecode), and reportlab names each image
    by a digest of its decoded pixels: it would decode every photo of a 20,000-ticket batch only
    to name it. The JPEG bytes name it as well. A PNG is decoded anyway (PDF has no PNG filter)."""

    def getRGBData(self) -> bytes:  # noqa: N802 - reportlab's name
        if self.jpeg_fh():
            self._dataA = None  # no soft mask: JPEG has no alpha
            return self.fp.getvalue()
        return super().getRGBData()


def _photo_reader(photo: bytes, what: str) -> ImageReader:
    try:
        return _PhotoReader(io.BytesIO(photo))
    except OSError:  # PIL's UnidentifiedImageError, re-raised by reportlab with a longer message
        raise ValidationError(f"{what}: the photo is not a JPEG or PNG image") from None


@contextmanager
def _binary_streams() -> Iterator[None]:
    """Write the PDF's streams as binary, not ASCII85 (reportlab's default, a process-wide setting).
    Without reportlab's optional C accelerator, which examvault does not install, ASCII85 costs
    ~20 ms per ticket photo: most of a 20,000-ticket batch. Binary PDF is the norm anyway. The
    setting is restored afterwards; a document rendered meanwhile on another thread is merely
    written one way or the other, both valid."""
    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = saved


def _render_pdf(
    title: str,
    author: str,
    fonts: FontPair,
    draw: Callable[[_Sheet], None],
    pagesize: tuple[float, float] = A4,
) -> bytes:
    """A PDF drawn by `draw` on a fresh canvas; `draw` ends each page with showPage."""
    out = io.BytesIO()
    with _binary_streams():
        c = Canvas(out, pagesize=pagesize, invariant=True, pageCompression=1)
        c.setTitle(title)
        c.setAuthor(author)
        draw(_Sheet(c, fonts))
        c.save()
    return out.getvalue()


# ---------------------------------------------------------------------------------- 准考证

TICKET_FIELDS = ("ticket", "name", "id_number", "gender", "occupation", "occupation_name", "level", "level_name",
                 "session", "site", "parts", "photo", "token")  # fmt: skip
PART_FIELDS = ("name", "date", "start", "end", "place", "room", "seat")
MAX_PARTS = 5  # 理论, 实操, 综合评审… the QR code below the parts still clears the page's foot
TICKET_TITLE = "职业技能等级认定准考证"
QR_CAPTION = "扫码核验（五对照）"
SIGNATURE_LINE = "考生签名：＿＿＿＿＿＿＿＿"
# (label, key[, label, key]) per row; rows 1–5 sit beside the photo, rows 6–7 run the full width
_PERSON_ROWS = (("姓名", "name", "性别", "gender"), ("身份证号", "id_number"), ("准考证号", "ticket"),
                ("职业（工种）", "occupation"), ("申报等级", "level_name"), ("认定批次", "session"), ("考点", "site"))  # fmt: skip
_PHOTO_ROWS = 5
_PART_COLUMNS = (("科目", 38), ("日期", 25), ("时间", 27), ("考场", 20), ("地点", 42), ("座位号", 18))
_TICKET_REMINDERS = (
    "1. 请核对上述信息，如有错误，请于考试前与考点联系更正。",
    "2. 考试时须同时携带本准考证和有效居民身份证，缺一不得入场。",
    "3. 入场时考务人员扫描二维码，核对证件、照片与本人。",
    "4. 考试要求详见背面《考生注意事项》。",
)


class _TicketLayout:
    """Where everything on the front of a ticket goes, in points: the frame, drawn once per batch,
    and the values drawn on every ticket use the same numbers."""

    row_h = 9.6 * mm
    label_w, value_w, label2_w = 27 * mm, 40 * mm, 22 * mm
    photo_col_w = 39 * mm
    title_y = PAGE_H - 24 * mm
    table_top = PAGE_H - 50 * mm
    parts_heading_y = table_top - 7 * row_h - 10 * mm
    parts_top = parts_heading_y - 4 * mm
    parts_header_h = 8.5 * mm
    qr_size = 35 * mm

    @property
    def value2_w(self) -> float:
        return CONTENT_W - self.label_w - self.value_w - self.label2_w - self.photo_col_w

    def row_bottom(self, row: int) -> float:
        return self.table_top - (row + 1) * self.row_h

    def parts_bottom(self, parts: int) -> float:
        return self.parts_top - self.parts_header_h - parts * self.row_h

    def qr_origin(self, parts: int) -> tuple[float, float]:
        return PAGE_W - MARGIN - self.qr_size - 2 * mm, self.parts_bottom(parts) - 14 * mm - self.qr_size


def render_tickets(tickets: list[dict[str, Any]], *, institution: str, notices: list[str],
                   font_tickets: Sequence[Mapping[str, Any]] | None = None) -> bytes:  # fmt: skip
    """Admission tickets (准考证) for duplex printing on A4: per ticket a front page (the candidate,
    the photo, the parts with date, time, room and seat, the QR code of the signed token for the
    door check) and a back page with the numbered `notices` (考生注意事项, given without numbers).
    N tickets make 2N pages; a single ticket is a list of one. `font_tickets` (default: `tickets`) are
    the tickets whose characters the embedded font subset covers: printing one PDF per candidate
    passes the whole batch, so the subset is made once and every file reuses it.

    The ID number prints in full: the ticket is the candidate's own, and the door check compares
    it with the ID card (五对照)."""
    if not tickets:
        raise ValidationError("no tickets to print")
    if not notices:
        raise ValidationError("a ticket's back page needs the 考生注意事项 (notices)")
    for n, t in enumerate(tickets, 1):
        _require(t, TICKET_FIELDS, f"ticket {n}")
        if not 1 <= len(t["parts"]) <= MAX_PARTS:
            raise ValidationError(
                f"ticket {t['ticket']} has {len(t['parts'])} parts; a ticket lists 1 to {MAX_PARTS}"
            )
        for p in t["parts"]:
            _require(p, PART_FIELDS, f"ticket {t['ticket']}, part {p.get('name', '?')}")
    with _QrImages([t["token"] for t in tickets]) as qr_images:  # encoding starts now, alongside the fonts
        fonts = register_fonts(
            _ticket_body_text(font_tickets or tickets, institution, notices), _ticket_heading_text(institution)
        )

        def draw(sheet: _Sheet) -> None:
            _draw_tickets(sheet, tickets, qr_images, institution, notices)

        return _render_pdf(f"{institution} {TICKET_TITLE}", institution, fonts, draw)


def _draw_tickets(sheet: _Sheet, tickets: Sequence[Mapping[str, Any]], qr_images: Iterable[QrImage], institution: str,
                  notices: Sequence[str]) -> None:  # fmt: skip
    c, layout = sheet.c, _TicketLayout()
    c.beginForm("ticket-back")
    _ticket_back(sheet, notices)
    c.endForm()
    fronts: set[int] = set()
    for t, qr in zip(tickets, qr_images, strict=True):
        parts = len(t["parts"])
        if parts not in fronts:  # a form is defined between pages, before anything is drawn on one
            c.beginForm(f"ticket-front-{parts}")
            _ticket_frame(sheet, layout, institution, parts)
            c.endForm()
            fronts.add(parts)
        c.doForm(f"ticket-front-{parts}")
        _ticket_values(sheet, layout, t, qr)
        c.showPage()
        c.doForm("ticket-back")
        c.showPage()


def _ticket_values_text(t: Mapping[str, Any]) -> str:
    printed = [str(t[k]) for k in TICKET_FIELDS if k not in ("level", "parts", "photo", "token")]
    return "".join(printed + [str(p[k]) for p in t["parts"] for k in PART_FIELDS])


def _ticket_body_text(tickets: Sequence[Mapping[str, Any]], institution: str, notices: Sequence[str]) -> str:
    # a set first: 20,000 tickets repeat most characters, and the join stays small
    seen = set().union(*(_ticket_values_text(t) for t in tickets))
    return (
        "".join(seen)
        + "".join(notices)
        + "".join(_TICKET_REMINDERS)
        + SIGNATURE_LINE
        + PHOTO_PLACEHOLDER
        + "（）—"
        + institution
        + ASCII
    )


def _ticket_heading_text(institution: str) -> str:
    labels = [x for row in _PERSON_ROWS for x in row[::2]] + [name for name, _ in _PART_COLUMNS]
    return institution + TICKET_TITLE + "".join(labels) + "考试安排考生注意事项" + QR_CAPTION + DIGITS + ". "


def _ticket_frame(sheet: _Sheet, lay: _TicketLayout, institution: str, parts: int) -> None:
    """What every front page with `parts` parts shares: title, table lines, labels, reminders."""
    c = sheet.c
    sheet.text(MARGIN, lay.title_y, institution, 16, heading=True, align="center", width=CONTENT_W)
    sheet.text(MARGIN, lay.title_y - 12 * mm, TICKET_TITLE, 24, heading=True, align="center", width=CONTENT_W)
    # the person: five rows beside the photo column, two across the full width
    x0, top, h = MARGIN, lay.table_top, lay.row_h
    c.setFillColor(HEADER_GREY)
    for row, labels in enumerate(_PERSON_ROWS):
        y = lay.row_bottom(row)
        c.rect(x0, y, lay.label_w, h, stroke=0, fill=1)
        if len(labels) == 4:
            c.rect(x0 + lay.label_w + lay.value_w, y, lay.label2_w, h, stroke=0, fill=1)
    c.setFillColor(colors.black)
    c.setLineWidth(1.2)
    c.rect(x0, lay.row_bottom(len(_PERSON_ROWS) - 1), CONTENT_W, len(_PERSON_ROWS) * h)
    c.setLineWidth(0.6)
    photo_x = PAGE_W - MARGIN - lay.photo_col_w
    for row, labels in enumerate(_PERSON_ROWS):
        y = lay.row_bottom(row)
        if row:  # the rule above this row stops at the photo column beside the photo
            c.line(x0, y + h, photo_x if row < _PHOTO_ROWS else PAGE_W - MARGIN, y + h)
        c.line(x0 + lay.label_w, y, x0 + lay.label_w, y + h)
        sheet.cell_text(x0, y, lay.label_w, h, labels[0], 10.5, heading=True)
        if len(labels) == 4:
            x2 = x0 + lay.label_w + lay.value_w
            c.line(x2, y, x2, y + h)
            c.line(x2 + lay.label2_w, y, x2 + lay.label2_w, y + h)
            sheet.cell_text(x2, y, lay.label2_w, h, labels[2], 10.5, heading=True)
    c.line(photo_x, top, photo_x, lay.row_bottom(_PHOTO_ROWS - 1))
    # the photo box inside its column; the photo or the 照片 placeholder covers it
    c.setLineWidth(0.4)
    c.rect(*_ticket_photo_box(lay))
    # the parts
    sheet.text(MARGIN, lay.parts_heading_y, "考试安排", 12, heading=True)
    widths = [w * mm for _, w in _PART_COLUMNS]
    c.setFillColor(HEADER_GREY)
    c.rect(MARGIN, lay.parts_top - lay.parts_header_h, CONTENT_W, lay.parts_header_h, stroke=0, fill=1)
    c.setFillColor(colors.black)
    sheet.grid(MARGIN, lay.parts_top, widths, [lay.parts_header_h] + [lay.row_h] * parts)
    x = MARGIN
    for (name, _), w in zip(_PART_COLUMNS, widths, strict=True):
        sheet.cell_text(
            x, lay.parts_top - lay.parts_header_h, w, lay.parts_header_h, name, 10.5, heading=True
        )
        x += w
    # the QR code's caption, the signature and the reminders
    qr_x, qr_y = lay.qr_origin(parts)
    sheet.text(qr_x, qr_y - 6 * mm, QR_CAPTION, 9.5, heading=True, align="center", width=lay.qr_size)
    y = qr_y + lay.qr_size - 4 * mm
    for line in _TICKET_REMINDERS:
        sheet.text(MARGIN, y, line, 10)
        y -= 7 * mm
    sheet.text(MARGIN, qr_y + 2 * mm, SIGNATURE_LINE, 12)


def _ticket_photo_box(lay: _TicketLayout) -> tuple[float, float, float, float]:
    column_h = _PHOTO_ROWS * lay.row_h
    x = PAGE_W - MARGIN - lay.photo_col_w + (lay.photo_col_w - PHOTO_W) / 2
    y = lay.row_bottom(_PHOTO_ROWS - 1) + (column_h - PHOTO_H) / 2
    return x, y, PHOTO_W, PHOTO_H


def _ticket_values(sheet: _Sheet, lay: _TicketLayout, t: Mapping[str, Any], qr: QrImage) -> None:
    """One candidate's values into the frame, and their photo and QR code."""
    with sheet.text_block():
        _ticket_texts(sheet, lay, t)
    x, y, w, h = _ticket_photo_box(lay)
    sheet.photo(t["photo"], x, y, w, h, what=f"ticket {t['ticket']}")
    sheet.qr_image(qr, *lay.qr_origin(len(t["parts"])), lay.qr_size)


def _ticket_texts(sheet: _Sheet, lay: _TicketLayout, t: Mapping[str, Any]) -> None:
    values = {**t, "occupation": f"{t['occupation_name']}（{t['occupation']}）"}
    x_value = MARGIN + lay.label_w
    for row, labels in enumerate(_PERSON_ROWS):
        y = lay.row_bottom(row)
        if len(labels) == 4:
            sheet.cell_text(x_value, y, lay.value_w, lay.row_h, str(values[labels[1]]), 12, align="left")
            x2 = x_value + lay.value_w + lay.label2_w
            sheet.cell_text(x2, y, lay.value2_w, lay.row_h, str(values[labels[3]]), 12, align="left")
            continue
        right = PAGE_W - MARGIN - (lay.photo_col_w if row < _PHOTO_ROWS else 0)
        sheet.cell_text(x_value, y, right - x_value, lay.row_h, str(values[labels[1]]), 12, align="left")
    y = lay.parts_top - lay.parts_header_h
    for p in t["parts"]:
        y -= lay.row_h
        cells = (p["name"], p["date"], f"{p['start']}-{p['end']}", p["room"], p["place"], p["seat"])
        x = MARGIN
        for value, (_, w) in zip(cells, _PART_COLUMNS, strict=True):
            sheet.cell_text(x, y, w * mm, lay.row_h, "—" if value in (None, "") else str(value), 10.5)
            x += w * mm


def _ticket_back(sheet: _Sheet, notices: Sequence[str]) -> None:
    """考生注意事项, numbered, at the largest size from 11 pt down that fits the page."""
    top, bottom = PAGE_H - 40 * mm, 20 * mm
    face, indent = sheet.fonts.body, 7 * mm
    for size in (11, 10.5, 10, 9.5, 9, 8.5, 8):
        leading = size * 1.75
        paragraphs = [wrap(text, face, size, CONTENT_W - indent) for text in notices]
        if sum(len(p) for p in paragraphs) * leading + len(paragraphs) * size * 0.5 <= top - bottom:
            break
    else:
        raise ValidationError(
            "the 考生注意事项 do not fit on the back of the ticket even at 8 pt; shorten them"
        )
    sheet.text(PAGE_W / 2, PAGE_H - 28 * mm, "考生注意事项", 20, heading=True, align="center")
    y = top
    for number, lines in enumerate(paragraphs, 1):
        sheet.text(MARGIN, y, f"{number}.", size, heading=True)
        for line in lines:
            sheet.text(MARGIN + indent, y, line, size)
            y -= leading
        y -= size * 0.5


# ---------------------------------------------------------------------------------- 考场座位表

SESSION_FIELDS = ("code", "occupation", "occupation_name", "level_name", "date", "site", "institution", "part_name",
                  "start", "end")  # fmt: skip
ROOM_FIELDS = ("room", "location", "capacity", "columns", "seats")
SEATING_TITLE = "考场座位表"
PODIUM = "讲　台"
INVIGILATOR_LINE = "监考员（签名）：＿＿＿＿＿＿＿＿　　＿＿＿＿＿＿＿＿　　日期：＿＿＿＿年＿＿月＿＿日"


def render_seating_chart(session: dict[str, Any], rooms: list[dict[str, Any]]) -> bytes:
    """The seating chart posted at each room's door (考场座位表): one A4 page per room, the 讲台 at
    the top and a desk per seat below it, as the candidates see the room when they face the 讲台.

    Seats snake column by column (蛇形排列, `seating.position`, the layout seating places people
    by): seat 1 is front-left — the top-left desk on the page — column 1 runs front to back,
    column 2 back to front, column 3 front to back again, and so on; so seat 6 of a 30-seat room
    in 5 columns is back-left, 7 is beside it and 12 is front of column 2. Each desk shows its seat
    number, the candidate's name and ticket number; desks beyond the last candidate, up to the
    room's capacity, are drawn empty. ID numbers are never printed here, even when a seat record
    carries one."""
    _require(session, SESSION_FIELDS, "the session")
    if not rooms:
        raise ValidationError("no rooms to print a seating chart for")
    for room in rooms:
        _check_room(room)
    pages = [_SeatingPage.of(session, room) for room in rooms]
    heading = "".join(page.heading_text() for page in pages) + DIGITS
    body = "".join(page.body_text() for page in pages)
    fonts = register_fonts(body, heading)

    def draw(sheet: _Sheet) -> None:
        for page, room in zip(pages, rooms, strict=True):
            _seating_page(sheet, page, room)
            sheet.c.showPage()

    return _render_pdf(
        f"{session['institution']} {session['code']} {SEATING_TITLE}", session["institution"], fonts, draw
    )


@dataclass(frozen=True)
class _SeatingPage:
    """Every string one room's chart prints, but the seat numbers: the fonts are subset from these."""

    institution: str
    room_title: str
    header: tuple[tuple[str, str], ...]  # (label, value), two to a row
    legend: str
    occupants: str  # names and ticket numbers on the desks

    @classmethod
    def of(cls, session: Mapping[str, Any], room: Mapping[str, Any]) -> _SeatingPage:
        when = session["date"] + (f" {session['start']}-{session['end']}" if session["start"] else "")
        return cls(
            institution=session["institution"],
            room_title=f"考场：{room['room']}",
            header=(
                ("认定批次", session["code"]),
                ("职业（工种）", f"{session['occupation_name']}（{session['occupation']}）"),
                ("等级", session["level_name"]),
                ("考试科目", session["part_name"]),
                ("考试时间", when),
                ("考场", room["room"]),
                ("地点", room["location"]),
                ("应考人数", f"{len(room['seats'])} 人"),
            ),
            legend=f"座位按蛇形排列：第1列由前向后，第2列由后向前，依此类推，共{room['columns']}列。请考生对号入座。",
            occupants="".join(s["name"] + s["ticket"] for s in room["seats"]),
        )

    def heading_text(self) -> str:
        return (
            self.institution
            + SEATING_TITLE
            + self.room_title
            + PODIUM
            + "".join(label for label, _ in self.header)
        )

    def body_text(self) -> str:
        return (
            "".join(str(value) for _, value in self.header) + self.legend + INVIGILATOR_LINE + self.occupants
        )


def _check_room(room: Mapping[str, Any]) -> None:
    _require(room, ROOM_FIELDS, f"room {room.get('room', '?')}")
    what = f"room {room['room']}"
    if room["columns"] < 1 or room["capacity"] < 1:
        raise ValidationError(f"{what}: capacity and columns must be at least 1")
    numbers = [s["seat"] for s in room["seats"]]
    outside = [n for n in numbers if not 1 <= n <= room["capacity"]]
    if outside:
        raise ValidationError(
            f"{what} seats {room['capacity']}; seat(s) {', '.join(map(str, outside))} are not in it"
        )
    if len(set(numbers)) != len(numbers):
        raise ValidationError(f"{what}: a seat number is given twice")


def _seating_page(sheet: _Sheet, page: _SeatingPage, room: Mapping[str, Any]) -> None:
    c = sheet.c
    for y, text, size in ((20, page.institution, 14), (31, SEATING_TITLE, 24), (42, page.room_title, 18)):
        sheet.text(MARGIN, PAGE_H - y * mm, text, size, heading=True, align="center", width=CONTENT_W)
    top = PAGE_H - 48 * mm
    bottom = sheet.field_table(MARGIN, top, page.header, label_w=24 * mm, row_h=8 * mm, size=10)
    podium_top = bottom - 8 * mm
    c.setLineWidth(1)
    c.roundRect(PAGE_W / 2 - 30 * mm, podium_top - 10 * mm, 60 * mm, 10 * mm, 2 * mm)
    sheet.cell_text(PAGE_W / 2 - 30 * mm, podium_top - 10 * mm, 60 * mm, 10 * mm, PODIUM, 13, heading=True)
    footer_top = 34 * mm
    _desks(sheet, room, top=podium_top - 16 * mm, bottom=footer_top + 6 * mm)
    sheet.text(MARGIN, footer_top, page.legend, 9.5)
    sheet.text(MARGIN, footer_top - 12 * mm, INVIGILATOR_LINE, 11)


def _desks(sheet: _Sheet, room: Mapping[str, Any], *, top: float, bottom: float) -> None:
    """A desk per seat in a `columns`-wide grid between `top` and `bottom`, aisles between the columns."""
    c = sheet.c
    columns, capacity = room["columns"], room["capacity"]
    rows = seat_rows(capacity, columns)
    pitch_x, pitch_y = CONTENT_W / columns, (top - bottom) / rows
    desk_w = min(pitch_x * 0.84, 40 * mm)
    desk_h = min(pitch_y * 0.8, desk_w * 0.72, 26 * mm)  # a desk is wider than deep
    # sizes follow the desk, so a 40-seat room in 8 columns still fits number, name and ticket
    number_size = min(16.0, desk_h * 0.3)
    name_size = min(13.0, desk_h * 0.25)
    ticket_size = min(8.5, desk_h * 0.15)
    pad = 1.2 * mm
    by_seat = {s["seat"]: s for s in room["seats"]}
    for seat in range(1, capacity + 1):
        column, row = seat_position(seat, capacity, columns)
        x = MARGIN + column * pitch_x + (pitch_x - desk_w) / 2
        y = top - row * pitch_y - (pitch_y - desk_h) / 2 - desk_h
        taken = by_seat.get(seat)
        ink = colors.black if taken else colors.grey
        c.setLineWidth(0.8 if taken else 0.5)
        c.setStrokeColor(ink)
        c.setFillColor(ink)
        c.rect(x, y, desk_w, desk_h)
        sheet.text(x + pad, y + desk_h - pad - number_size * 0.75, f"{seat:02d}", number_size, heading=True)
        c.setStrokeColor(colors.black)
        c.setFillColor(colors.black)
        if taken:
            sheet.text(
                x + pad, y + desk_h * 0.3, taken["name"], name_size, align="center", width=desk_w - 2 * pad
            )
            sheet.text(x + pad, y + desk_h * 0.08, taken["ticket"], ticket_size, align="center", width=desk_w - 2 * pad,
                       min_size=4)  # fmt: skip


# ---------------------------------------------------------------------------------- 考场准备通知单


@dataclass(frozen=True)
class _RoomKind:
    """What a preparation notice says for one kind of room."""

    title: str
    staff_key: str  # the room's count of staff needed, in the data
    staff_label: str
    capacity_label: str
    requirements: tuple[str, ...]  # 考场要求
    checklist: tuple[str, ...]  # 准备清单 when the data names no equipment


_ROOM_KINDS = {
    "theory": _RoomKind(
        title="理论考场准备通知单",
        staff_key="invigilators_needed",
        staff_label="应配监考人员",
        capacity_label="座位数",
        requirements=(
            "考场实行单人单桌，座位间距不小于80厘米，座位按蛇形排列并粘贴座位号。",
            "考场门口张贴考场座位表和考场号，考场内张贴考场规则。",
            "考场内配备时钟，时间与北京时间一致；清除与考试内容有关的图表、资料。",
            "考场监控设备运行正常，考试全程录像，录像资料按规定保存。",
            "考生手机等电子通讯设备统一存放在考场外指定位置，不得带入座位。",
            "每个考场监考人员按考生数1:15配备，且不少于2名。",
        ),
        checklist=(
            "考场座位表（张贴于考场门口）",
            "考场号、座位号标签",
            "考场规则",
            "时钟",
            "监控设备（开考前调试）",
            "手机存放袋（箱）",
            "考生签到表",
            "考场记录表",
            "试卷袋启封记录",
            "备用文具（2B铅笔、橡皮、黑色签字笔）",
            "草稿纸",
        ),  # fmt: skip
    ),
    "skill": _RoomKind(
        title="实操考场准备通知单",
        staff_key="examiners_needed",
        staff_label="应配考评员",
        capacity_label="工位数",
        requirements=(
            "各工位编号清楚，工位号与考生抽签号对应；工位之间保持安全距离并设隔离标识。",
            "设备、工具、材料按准备清单的规格和数量配齐到位，开考前逐台调试，保证完好。",
            "落实安全防护：配备劳动防护用品、灭火器材和急救药箱，电气、机械等危险作业设专人监护。",
            "考场监控设备运行正常，操作过程全程录像。",
            "考评员按考生数1:5配备，每个考场不少于3名且为奇数。",
        ),
        checklist=(
            "工位编号牌",
            "设备（按准备清单规格、数量，开考前调试）",
            "工具、量具",
            "考核用材料及备用材料",
            "劳动防护用品",
            "灭火器材、急救药箱",
            "评分记录表",
            "计时器",
            "监控设备",
            "考生签到表",
        ),  # fmt: skip
    ),
}
NOTICE_FIELDS = ("institution", "session", "occupation", "occupation_name", "level_name", "date", "site", "parts", "rooms")  # fmt: skip


def preparation_notice(kind: str, data: dict[str, Any]) -> ReportDoc:
    """The room-preparation notice (理论考场准备通知单 for kind "theory", 实操考场准备通知单 for
    "skill") sent to the site: the rooms with their candidates and the invigilators or examiners
    they need, the requirements every room must meet, and the checklist — `data["equipment"]`
    when given, else the usual one for the kind. Render it with `to_pdf` / `to_docx`."""
    spec = _ROOM_KINDS.get(kind)
    if spec is None:
        raise ValidationError(f"kind {kind!r} is not theory (理论) or skill (实操)")
    _require(data, NOTICE_FIELDS, "the preparation notice")
    rooms = data["rooms"]
    for room in rooms:
        _require(
            room,
            ("room", "location", "capacity", "candidates", spec.staff_key),
            f"room {room.get('room', '?')}",
        )
    counted = ("capacity", "candidates", spec.staff_key)
    rows = [[r["room"], r["location"], *(str(r[k]) for k in counted)] for r in rooms]
    rows.append(["合计", "", *(str(sum(r[k] for r in rooms)) for k in counted)])
    schedule = Table(
        ["考场", "地点", spec.capacity_label, "考生人数", spec.staff_label], rows, [1, 2.2, 1, 1, 1.2]
    )
    equipment = data.get("equipment") or spec.checklist
    checklist = Table(
        ["序号", "物品", "落实情况"],
        [[str(n), item, ""] for n, item in enumerate(equipment, 1)],
        [0.6, 4, 1.2],
    )
    times = "；".join(f"{p['name']} {p['start']}-{p['end']}" for p in data["parts"])
    return ReportDoc(
        title=spec.title,
        institution=data["institution"],
        fields=[
            ("认定批次", data["session"]),
            ("职业（工种）", f"{data['occupation_name']}（{data['occupation']}）"),
            ("等级", data["level_name"]),
            ("考试日期", data["date"]),
            ("考点", data["site"]),
            ("考试时间", times),
        ],
        sections=[
            Section(
                "一、考试安排",
                [
                    f"请考点于考试前一日完成下列考场的准备工作，由考场负责人逐项核对签字（共{len(rooms)}个考场）。"
                ],
                [schedule],
            ),
            Section("二、考场要求", [f"{n}. {text}" for n, text in enumerate(spec.requirements, 1)]),
            Section("三、准备清单", ["以下物品逐项落实后在“落实情况”栏打“√”。"], [checklist]),
        ],
        signatures=["考务负责人（签名）", "考场负责人（签名）"],
        footer=f"{data['session']} {spec.title}",
    )


# ---------------------------------------------------------------------------------- 公告


def announcement(plan: dict[str, Any], institution: str) -> ReportDoc:
    """The 公告 of the annual plan: occupations and levels with fees and sessions, the eligibility
    conditions (申报条件) per occupation and level, the registration window, the sites and the
    other matters. Render it with `to_pdf` / `to_docx`."""
    _require(plan, ("year", "window", "evaluation", "sites", "occupations", "eligibility"), "the plan")
    for n, o in enumerate(plan["occupations"], 1):
        _require(o, ("code", "name", "levels", "fees"), f"the plan's occupation {n}")
    year, occupations, evaluation = plan["year"], plan["occupations"], plan["evaluation"]
    registration = f"{_chinese_date(plan['window']['open'])}至{_chinese_date(plan['window']['close'])}"
    offered = Table(
        ["职业代码", "职业（工种）", "等级", "收费标准（元）", "认定批次"],
        [[o["code"], o["name"], level_name(lv), str(o["fees"].get(str(lv), "—")), "、".join(map(_month, o.get("sessions", [])))]
         for o in occupations for lv in o["levels"]],
        [1.2, 1.2, 1.3, 1.2, 2.1],
    )  # fmt: skip
    conditions = []
    for o in occupations:
        by_level = plan["eligibility"].get(o["code"], {})
        for lv in (lv for lv in o["levels"] if by_level.get(str(lv))):
            conditions.append(f"{o['name']}（{o['code']}）{level_name(lv)}，具备以下条件之一者可申报：")
            conditions += [f"（{n}）{text}" for n, text in enumerate(by_level[str(lv)], 1)]
        unstated = "、".join(level_name(lv) for lv in o["levels"] if not by_level.get(str(lv)))
        if unstated:
            conditions.append(f"{o['name']}（{o['code']}）{unstated}：按国家职业标准规定的申报条件执行。")
    sites = Table(
        ["考点代码", "考点名称", "地址"],
        [[s["code"], s["name"], s.get("address", "")] for s in plan["sites"]],
        [1, 2, 3],
    )
    kind = EVALUATION_KINDS.get(evaluation.get("kind", ""), evaluation.get("kind", ""))
    other = [f"{n}. {text}" for n, text in enumerate(plan.get("notes", []), 1)]
    if plan.get("contact"):
        other.append(f"咨询电话：{plan['contact']}")
    other.append("特此公告。")
    how = ("报名方式：考生向认定考点提交报名申请，如实填写个人信息，提交有效居民身份证、学历证书、职业技能等级证书"
           "（或职业资格证书）及从事本职业（工种）工作年限证明等材料，经资格审核通过后按规定缴费。")  # fmt: skip
    return ReportDoc(
        title=f"{institution}{year}年职业技能等级认定公告",
        institution=institution,
        fields=[
            ("计划名称", plan.get("title", f"{year}年度职业技能等级认定工作计划")),
            ("评价机构", f"{institution}（{kind}，代码{evaluation.get('institution_code', '')}）"),
            ("报名时间", registration),
            ("咨询电话", plan.get("contact", "")),
        ],
        sections=[
            Section(
                "一、认定职业（工种）及等级",
                [
                    f"根据职业技能等级认定工作有关规定，{institution}{year}年开展以下职业（工种）及等级的认定："
                ],
                [offered],
            ),
            Section("二、申报条件", conditions),
            Section(
                "三、报名时间与方式",
                [f"报名时间：{registration}。", how, "资格审核结果和准考证打印时间另行通知。"],
            ),
            Section("四、认定地点", tables=[sites]),
            Section("五、其他事项", other),
        ],
        signatures=[],
        footer=f"{institution}{year}年职业技能等级认定公告",
    )


# ---------------------------------------------------------------------------------- 职业技能等级证书

CERTIFICATE_FIELDS = ("number", "name", "gender", "id_number", "occupation", "occupation_name", "level", "level_name",
                      "issued_on", "institution", "photo", "token")  # fmt: skip
CERTIFICATE_TITLE = "职业技能等级证书"
CERTIFICATE_QR_CAPTION = "扫码验证"
CERTIFICATE_LABELS = ("姓名", "性别", "证件号码", "职业名称", "工种", "职业技能等级", "证书编号", "发证日期", "评价机构")  # fmt: skip


def render_certificate(cert: dict[str, Any]) -> bytes:
    """The electronic 职业技能等级证书: A4 landscape in a double border, the holder's photo (or an
    empty frame), the fields of the national certificate, and the QR code of the verification token.
    工种 prints `cert["work_type"]` when the occupation has one, else a dash; `form_serial`, the
    number of the blank form a paper copy is printed on, prints as 印制编号 when given."""
    _require(cert, CERTIFICATE_FIELDS, "the certificate")
    values = (
        cert["name"],
        cert["gender"],
        cert["id_number"],
        f"{cert['occupation_name']}（{cert['occupation']}）",
        cert.get("work_type") or "—",
        cert["level_name"] or level_name(cert["level"]),
        cert["number"],
        _chinese_date(cert["issued_on"]),
        cert["institution"],
    )
    fields = list(zip(CERTIFICATE_LABELS, values, strict=True))
    statement = f"本证书由{cert['institution']}颁发，可通过扫描二维码查验真伪"
    serial = f"印制编号：{cert['form_serial']}" if cert.get("form_serial") else ""
    fonts = register_fonts(
        "".join(values) + statement + serial + PHOTO_PLACEHOLDER + ASCII,
        CERTIFICATE_TITLE + "".join(CERTIFICATE_LABELS) + CERTIFICATE_QR_CAPTION + "：",
    )

    def draw(sheet: _Sheet) -> None:
        _draw_certificate(sheet, cert, fields, statement, serial)

    return _render_pdf(
        f"{CERTIFICATE_TITLE} {cert['number']}", cert["institution"], fonts, draw, landscape(A4)
    )


def _draw_certificate(sheet: _Sheet, cert: Mapping[str, Any], fields: Sequence[tuple[str, str]], statement: str,
                      serial: str) -> None:  # fmt: skip
    c = sheet.c
    page_w, page_h = landscape(A4)
    _certificate_border(c, page_w, page_h)
    c.setFillColor(SEAL_RED)
    c.setFont(sheet.fonts.heading, 34)
    c.drawCentredString(page_w / 2, page_h - 40 * mm, CERTIFICATE_TITLE, charSpace=8)
    c.setFillColor(colors.black)
    # left: the photo in its frame, the QR code below it
    photo_x, photo_y = 42 * mm, page_h - 58 * mm - PHOTO_H
    c.setLineWidth(0.6)
    c.rect(photo_x - 1 * mm, photo_y - 1 * mm, PHOTO_W + 2 * mm, PHOTO_H + 2 * mm)
    sheet.photo(cert["photo"], photo_x, photo_y, what=f"certificate {cert['number']}")
    qr_size = 32 * mm
    qr_x, qr_y = photo_x + (PHOTO_W - qr_size) / 2, photo_y - 14 * mm - qr_size
    sheet.qr(cert["token"], qr_x, qr_y, qr_size)
    sheet.text(qr_x, qr_y - 6 * mm, CERTIFICATE_QR_CAPTION, 11, heading=True, align="center", width=qr_size)
    # right: the fields, each label spread over one width, each value on a rule
    x_label, label_w = 102 * mm, 30 * mm
    x_value, value_w = x_label + label_w + 6 * mm, 125 * mm
    y = page_h - 62 * mm
    c.setLineWidth(0.4)
    for label, value in fields:
        sheet.spread(x_label, y, label, 13, label_w, heading=True)
        sheet.text(x_label + label_w, y, "：", 13, heading=True)
        sheet.text(x_value, y, value, 14, width=value_w, align="left")
        c.line(x_value, y - 2.2 * mm, x_value + value_w, y - 2.2 * mm)
        y -= 11.5 * mm
    sheet.text(page_w / 2, 24 * mm, statement, 11, align="center")
    if serial:
        sheet.text(page_w - 30 * mm, 24 * mm, serial, 8, align="right")
    c.showPage()


def _certificate_border(c: Canvas, page_w: float, page_h: float) -> None:
    """A heavy outer rule and a fine inner one, with a small diamond at each corner between them."""
    c.setStrokeColor(SEAL_RED)
    c.setFillColor(SEAL_RED)
    outer, inner = 10 * mm, 14 * mm
    c.setLineWidth(3)
    c.rect(outer, outer, page_w - 2 * outer, page_h - 2 * outer)
    c.setLineWidth(0.8)
    c.rect(inner, inner, page_w - 2 * inner, page_h - 2 * inner)
    middle, r = (outer + inner) / 2, 1.6 * mm
    for cx in (middle, page_w - middle):
        for cy in (middle, page_h - middle):
            path = c.beginPath()
            path.moveTo(cx, cy + r)
            path.lineTo(cx + r, cy)
            path.lineTo(cx, cy - r)
            path.lineTo(cx - r, cy)
            path.close()
            c.drawPath(path, stroke=0, fill=1)
    c.setStrokeColor(colors.black)
    c.setFillColor(colors.black)


# ---------------------------------------------------------------------------------- QR codes
#
# reportlab's QrCodeWidget needs 30–50 ms for a token of ticket length (Reed–Solomon and mask
# scoring in pure Python) and draws each dark module as a rectangle of its own: 20,000 tickets would
# take a quarter of an hour for their QR codes alone. The encoder below is the same ISO/IEC 18004
# byte-mode encoding at level M (the tests check it module for module against reportlab's, for
# every mask, and its mask choice against the standard's penalty), in ~0.5 ms: it takes the block
# table from reportlab, keeps each version's fixed patterns, places the data with numpy and scores
# the eight masks at once.


def _gf_tables() -> tuple[list[int], list[int]]:
    exp, log = [0] * 510, [0] * 256
    v = 1
    for i in range(255):
        exp[i] = exp[i + 255] = v
        log[v] = i
        v <<= 1
        if v & 0x100:
            v ^= 0x11D
    return exp, log


_GF_EXP, _GF_LOG = _gf_tables()


def _gf_mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _GF_EXP[_GF_LOG[a] + _GF_LOG[b]]


@cache
def _rs_products(degree: int) -> tuple[int, ...]:
    """For each byte f, the generator polynomial's coefficients times f, packed big-endian into one
    int: one shift, one mask and one XOR then advance the whole Reed–Solomon register."""
    divisor = [0] * (degree - 1) + [1]
    root = 1
    for _ in range(degree):
        for j in range(degree):
            divisor[j] = _gf_mul(divisor[j], root)
            if j + 1 < degree:
                divisor[j] ^= divisor[j + 1]
        root = _gf_mul(root, 2)
    return tuple(int.from_bytes(bytes(_gf_mul(g, f) for g in divisor), "big") for f in range(256))


def _rs_ecc(data: bytes, degree: int) -> bytes:
    products = _rs_products(degree)
    top, full = 8 * (degree - 1), (1 << 8 * degree) - 1
    register = 0
    for byte in data:
        register = ((register << 8) & full) ^ products[byte ^ (register >> top)]
    return register.to_bytes(degree, "big")


def _bch(value: int, bits: int, poly: int) -> int:
    remainder = value
    for _ in range(bits):
        remainder = (remainder << 1) ^ ((remainder >> (bits - 1)) * poly)
    return (value << bits) | remainder


class _QrVersion:
    """What every symbol of one version shares: the function patterns, the data cells in placement
    order, the eight masks (over data cells only) and the format bits of each."""

    def __init__(self, version: int) -> None:
        n = version * 4 + 17
        self.version, self.size = version, n
        self.blocks = [
            (b.totalCount, b.dataCount) for b in QRRSBlock.getRSBlocks(version, QRErrorCorrectLevel.M)
        ]
        self.data_codewords = sum(data for _, data in self.blocks)
        # placement order: codeword i of every block in turn, data first, then error correction
        # (all blocks of a version have the same number of error-correction codewords)
        starts = np.cumsum([0] + [count for _, count in self.blocks[:-1]])
        longest, ecc_len = max(count for _, count in self.blocks), self.blocks[0][0] - self.blocks[0][1]
        data_order = [
            start + i
            for i in range(longest)
            for start, (_, count) in zip(starts, self.blocks, strict=True)
            if i < count
        ]
        ecc_order = [
            self.data_codewords + b * ecc_len + i for i in range(ecc_len) for b in range(len(self.blocks))
        ]
        self.interleave = np.array(data_order + ecc_order)
        self.count_bits = 8 if version <= 9 else 16
        dark = np.zeros((n, n), bool)
        fixed = np.zeros((n, n), bool)

        def put(r: int, c: int, value: bool | int) -> None:
            dark[r, c] = bool(value)
            fixed[r, c] = True

        for i in range(n):  # timing patterns
            put(6, i, i % 2 == 0)
            put(i, 6, i % 2 == 0)
        for cr, cc in ((3, 3), (3, n - 4), (n - 4, 3)):  # finder patterns with their separators
            for r in range(max(cr - 4, 0), min(cr + 5, n)):
                for c in range(max(cc - 4, 0), min(cc + 5, n)):
                    put(r, c, max(abs(r - cr), abs(c - cc)) not in (2, 4))
        centres = self._alignment_centres(version, n)
        finder_corners = (
            {(centres[0], centres[0]), (centres[0], centres[-1]), (centres[-1], centres[0])}
            if centres
            else set()
        )
        for cr in centres:
            for cc in centres:
                if (cr, cc) not in finder_corners:
                    for r in range(cr - 2, cr + 3):
                        for c in range(cc - 2, cc + 3):
                            put(r, c, max(abs(r - cr), abs(c - cc)) != 1)
        # format bits 0–14 in their two copies, (row, column)
        fmt = [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)] + [(8, 14 - i) for i in range(9, 15)]
        fmt += [(8, n - 1 - i) for i in range(8)] + [(n - 15 + i, 8) for i in range(8, 15)]
        for r, c in fmt:
            put(r, c, False)
        self.format_cells = (np.array([r for r, _ in fmt]), np.array([c for _, c in fmt]))
        words = [_bch(mask, 10, 0x537) ^ 0x5412 for mask in range(8)]  # level M is 00 in the format bits
        self.format_bits = np.array([[(w >> (i % 15)) & 1 for i in range(len(fmt))] for w in words], bool)
        put(n - 8, 8, True)  # the dark module
        if version >= 7:
            word = _bch(version, 12, 0x1F25)
            for i in range(18):
                a, b = n - 11 + i % 3, i // 3
                put(b, a, (word >> i) & 1)
                put(a, b, (word >> i) & 1)
        order = []  # two-module columns from the right, zigzagging up and down, skipping column 6
        for right in range(n - 1, 0, -2):
            if right <= 6:
                right -= 1
            upward = (right + 1) & 2 == 0
            for step in range(n):
                r = n - 1 - step if upward else step
                order += [(r, c) for c in (right, right - 1) if not fixed[r, c]]
        self.data_cells = (np.array([r for r, _ in order]), np.array([c for _, c in order]))
        self.function = dark
        r, c = np.indices((n, n))
        masks = (
            (r + c) % 2 == 0, r % 2 == 0, c % 3 == 0, (r + c) % 3 == 0, (r // 2 + c // 3) % 2 == 0,
            (r * c) % 2 + (r * c) % 3 == 0, ((r * c) % 2 + (r * c) % 3) % 2 == 0, ((r + c) % 2 + (r * c) % 3) % 2 == 0,
        )  # fmt: skip
        self.masks = np.stack(masks) & ~fixed

    @staticmethod
    def _alignment_centres(version: int, n: int) -> list[int]:
        if version == 1:
            return []
        count = version // 7 + 2
        step = 26 if version == 32 else (version * 4 + count * 2 + 1) // (count * 2 - 2) * 2
        return [6] + sorted(n - 7 - i * step for i in range(count - 1))

    def fits(self, length: int) -> bool:
        return 4 + self.count_bits + 8 * length <= 8 * self.data_codewords

    def codewords(self, data: bytes) -> np.ndarray:
        """Mode, length, data, terminator and padding, split into blocks, each with its error
        correction, interleaved into placement order."""
        header_and_data = 4 + self.count_bits + 8 * len(data)
        value = (((0b0100 << self.count_bits) | len(data)) << 8 * len(data)) | int.from_bytes(data, "big")
        terminator = min(4, 8 * self.data_codewords - header_and_data)
        bits = header_and_data + terminator + (-(header_and_data + terminator) % 8)
        body = (value << (bits - header_and_data)).to_bytes(bits // 8, "big")
        body += bytes((0xEC, 0x11) * self.data_codewords)[: self.data_codewords - len(body)]
        ecc, at = [], 0
        for total, count in self.blocks:
            ecc.append(_rs_ecc(body[at : at + count], total - count))
            at += count
        return np.frombuffer(body + b"".join(ecc), np.uint8)[self.interleave]


@cache
def _qr_version(version: int) -> _QrVersion:
    return _QrVersion(version)


def qr_modules(text: str, mask: int | None = None) -> np.ndarray:
    """The QR code of `text` (UTF-8, byte mode, error correction level M, the smallest version it
    fits) as a square bool array, True = dark, row 0 at the top, without the quiet zone. The mask
    is the one of least penalty (ISO/IEC 18004 §7.8.3), or `mask` when given."""
    data = text.encode("utf-8")
    layout = next((_qr_version(v) for v in range(1, 41) if _qr_version(v).fits(len(data))), None)
    if layout is None:
        raise ValidationError(f"{len(data)} bytes do not fit in a QR code")
    bits = np.unpackbits(layout.codewords(data)).view(bool)
    cells = np.zeros(len(layout.data_cells[0]), bool)  # remainder bits, if any, stay light
    cells[: len(bits)] = bits
    grid = layout.function.copy()
    grid[layout.data_cells] = cells
    candidates = grid[None] ^ layout.masks
    candidates[:, layout.format_cells[0], layout.format_cells[1]] = layout.format_bits
    best = int(np.argmin(_mask_penalties(candidates))) if mask is None else mask
    return candidates[best]


def _count_per_row(flags: np.ndarray) -> np.ndarray:
    # np.count_nonzero(axis=1) casts and sums: three times slower than a loop over a few long rows
    return np.array([np.count_nonzero(row) for row in flags])


@cache
def _not_last_column(n: int) -> tuple[np.ndarray, np.ndarray]:
    """For a flattened n×n grid: which neighbour pairs (i, i+1) stay on one line, and which 2×2
    blocks from i do not wrap around the right edge."""
    column = np.arange(n * n) % n
    return column[:-1] != n - 1, column[: n * n - n - 1] != n - 1


def _mask_penalties(symbols: np.ndarray) -> np.ndarray:
    """The penalty score of each symbol in the stack: runs of five or more (N1), 2×2 blocks (N2),
    finder-like patterns (N3) and the dark proportion (N4).

    Scoring is most of the cost of a symbol, so it runs on each symbol's rows (and columns) laid
    end to end in one flat line: numpy's cost is per inner loop, and a flat line is one loop where
    n rows are n. Flags at the row ends keep runs and blocks from wrapping into the next row."""
    k, n = len(symbols), symbols.shape[1]
    same_line, block_inside = _not_last_column(n)
    # rows, then columns; bool throughout, as numpy's nonzero on uint8 takes nine times as long
    lines = np.concatenate((symbols, symbols.transpose(0, 2, 1))).reshape(2 * k, n * n)
    same = (lines[:, 1:] == lines[:, :-1]) & same_line
    pair = same[:, :-1] & same[:, 1:]
    five = pair[:, :-2] & pair[:, 2:]  # five equal modules from here
    run_starts = five.copy()
    run_starts[:, 1:] &= ~same[:, :-4]
    n1 = _count_per_row(five) + 2 * _count_per_row(run_starts)  # 3 + (length − 5) per run of 5 or more
    # N3, 1:1:3:1:1 (dark-light-dark×3-light-dark) with four light modules before or after it: find
    # every dark triple, keep those with the rest of the pattern around them, then look either side.
    # Each row gets four light modules at both ends (outside the symbol is light), so looking up to
    # eight modules away from a pattern inside the row never leaves the row.
    padded = np.zeros((2 * k, n, n + 8), bool)
    padded[:, :, 4:-4] = lines.reshape(2 * k, n, n)
    flat = padded.ravel()
    triple = np.flatnonzero(flat[:-2] & flat[1:-1] & flat[2:])  # the 111 of a core would start here
    core = triple[flat[triple - 2] & ~flat[triple - 1] & ~flat[triple + 3] & flat[triple + 4]]
    light_before = ~(flat[core - 6] | flat[core - 5] | flat[core - 4] | flat[core - 3])
    light_after = ~(flat[core + 5] | flat[core + 6] | flat[core + 7] | flat[core + 8])
    matches = light_before.astype(np.int64) + light_after
    n13 = n1 + 40 * np.bincount(core // (n * (n + 8)), weights=matches, minlength=2 * k).astype(np.int64)
    score = n13[:k] + n13[k:]
    grid = lines[:k]
    corner = grid[:, : -n - 1]
    blocks = (
        (corner == grid[:, 1:-n]) & (corner == grid[:, n:-1]) & (corner == grid[:, n + 1 :]) & block_inside
    )
    score += 3 * _count_per_row(blocks)
    # N4: 10 for each full 5 % the dark share strays beyond 45–55 % (n is odd: never exactly 50 %)
    total = n * n
    dark = _count_per_row(grid)
    score += 10 * ((np.abs(dark * 20 - total * 10) + total - 1) // total - 1)
    return score


def qr_image(text: str) -> QrImage:
    """The QR code of `text` as `_Sheet.qr_image` draws it."""
    modules = qr_modules(text)
    return len(modules), np.packbits(modules, axis=1).tobytes().hex()  # rows top to bottom, padded to bytes


def _qr_images(texts: Sequence[str]) -> list[QrImage]:
    return [qr_image(t) for t in texts]


_QR_WORKER_FROM = 1000  # tickets; fewer are done before a worker process has imported numpy and reportlab
_QR_CHUNK = 500


class _QrImages:
    """The QR images of a batch's tokens, in order. Encoding takes ~0.5 ms a ticket — 10 s of a
    20,000-ticket batch — so a large batch has them encoded in a worker process, started before the
    font subsetting, which leaves the second core idle for as long. If the worker cannot start (a
    daemon process may have no children) or fails, the rest is encoded here, where an error in a
    token is raised as it would be without the worker."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._texts = texts
        self._pool: ProcessPoolExecutor | None = None
        self._chunks: dict[int, Future[list[QrImage]]] = {}
        if len(texts) < _QR_WORKER_FROM:
            return
        try:
            # spawn: a fork of a threaded process (a web server, say) can deadlock in the child
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            for start in range(0, len(texts), _QR_CHUNK):
                self._chunks[start] = self._pool.submit(_qr_images, texts[start : start + _QR_CHUNK])
        except Exception:  # whatever stops the worker, the batch is encoded here instead
            self.close()

    def __enter__(self) -> _QrImages:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[QrImage]:
        for start in range(0, len(self._texts), _QR_CHUNK):
            yield from self._chunk(start)

    def _chunk(self, start: int) -> list[QrImage]:
        future = self._chunks.get(start)
        if future is not None:
            try:
                return future.result()
            except Exception:  # the worker broke, or a token is bad: find out here
                self.close()
        return _qr_images(self._texts[start : start + _QR_CHUNK])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool, self._chunks = None, {}
