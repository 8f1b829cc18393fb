"""The results export (成绩上报与成绩登记表): the upload to the skills-evaluation platform (csv and xlsx:
ticket, ID number, name, occupation, level, each part's score, pass) and the score register
(成绩登记表, A4 landscape PDF) that the scorers, the checker and the chief examiner sign and the
institution stamps.

Only fixed results are exported: once publicised (成绩公示) and still as publicised (the digest taken
at publicity); each file says whether they are released or still in publicity. Both carry full ID
numbers — the platform matches people by them, and the register is the institution's internal
record of who scored what, archived, never posted (the posted notice is `results publicize`'s) — so
the export needs `candidate.identity` as well as `results.export`, and is audited like any reading
of full ID numbers. Everything is rendered in memory within one transaction that also records the
export; the files are written once that is on record, all or none.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from examvault.accounts.service import audit, require
from examvault.bank import Bank
from examvault.db import BEIJING, beijing_today
from examvault.errors import ConflictError, ValidationError
from examvault.itembank.domain import LEVEL_NAMES
from examvault.registration.models import Candidate
from examvault.registration.service import get_session, open_candidate
from examvault.registration.sittings import occupation_name
from examvault.scoring.models import Publicity, Result
from examvault.scoring.results import _digest, _publicity, _rows

PART_NAMES = {"theory": "理论知识", "skill": "操作技能", "defence": "答辩", "review": "综合评审"}
ALWAYS = ("theory", "skill")  # columns every upload has; 答辩 and 综合评审 only when a candidate has them
# A result's status → its label; a scored result is labelled by the stage of the whole session.
STATUS_LABELS = {"absent": "缺考", "cancelled": "取消成绩", "disqualified": "取消资格", "void": "成绩无效"}
STAGE_LABELS = {"publicized": "公示中", "released": "已发布"}
EXEMPT = "免考"
ABSENT = "缺考"
UPLOAD_HEAD = ["准考证号", "证件号码", "姓名", "职业代码", "职业名称", "等级"]
REGISTER_HEAD = ["序号", "准考证号", "姓名", "证件号码"]
SIGNERS = ("统分人", "复核人", "考评组长")
_COMPUTED_NOTE = re.compile(r"(theory|skill|defence|review) 免考")  # what `results compute` notes; printed in Chinese instead


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _file_stem(code: str) -> str:
    """A session code as part of a file name: letters (any script), digits, '-', '_' and '.'; '_' for anything else."""
    stem = re.sub(r"[^\w.-]", "_", code).strip("._") or "session"
    return stem[:80]


def _cell(part: str, cand_parts: dict[str, str], scores: dict[str, Any], status: str) -> str:
    """A part's score to one decimal, 免考, 缺考, the status's label for a part struck out, or '' for a part not taken."""
    if part not in cand_parts and part not in scores:
        return ""
    if cand_parts.get(part) == EXEMPT:
        return EXEMPT
    score = scores.get(part)
    if score is not None:
        return f"{score:.1f}"
    return ABSENT if status == "absent" else STATUS_LABELS.get(status, "—")


def _note(cand_parts: dict[str, str], scores: dict[str, Any], status: str, note: str, parts: list[str]) -> str:
    """备注: parts 免考, the parts missed (缺考, or 理论知识缺考 when another part was sat), a status's label, other notes."""
    out = [f"{PART_NAMES[p]}{EXEMPT}" for p in parts if cand_parts.get(p) == EXEMPT]
    if status == "absent":
        sat = [p for p in parts if p in cand_parts and cand_parts[p] != EXEMPT]
        missed = [p for p in sat if scores.get(p) is None]
        out.append("、".join(PART_NAMES[p] for p in missed) + ABSENT if 0 < len(missed) < len(sat) else ABSENT)
    other = [x.strip() for x in note.split("；") if x.strip() and not _COMPUTED_NOTE.fullmatch(x.strip())]
    if status in STATUS_LABELS and status != "absent" and not any("取消" in x for x in other):  # violations note 本次成绩取消 themselves
        out.append(STATUS_LABELS[status])
    return "；".join(out + other)


def export_results(bank: Bank, session_code: str, out_dir: Path) -> dict[str, Any]:
    """Write `<SESSION>_成绩上报.csv`, `<SESSION>_成绩上报.xlsx` and `<SESSION>_成绩登记表.pdf` into `out_dir`.

    Refused until the results are publicised, or if they changed since. Needs `results.export` and
    `candidate.identity` (the files carry full ID numbers); audited, without personal data.
    """
    from examvault.custody.service import institution_title

    if out_dir.exists() and not out_dir.is_dir():
        raise ValidationError(f"--out {out_dir} is a file; give a folder to write into")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "results.export")
        require(actor, "candidate.identity")  # full ID numbers, as `candidate list --full-ids`
        exam = get_session(session, session_code)
        pub = _publicity(session, exam)
        if pub is None:
            raise ConflictError(f"the results of {session_code} are not publicised yet; the upload and the score register are of "
                                "fixed results (`examvault results publicize` first)")  # fmt: skip
        results = _rows(session, exam)
        if _digest(results) != pub.digest:
            raise ConflictError(f"the results of {session_code} differ from those publicised; they must be publicised again before export")
        keyring = bank.keyring(session)
        cands = {c.code: c for c in session.scalars(select(Candidate).join(Result, Result.candidate_id == Candidate.id)
                                                    .where(Result.session_id == exam.id))}  # fmt: skip
        stage = "released" if pub.released_at else "publicized"
        names = {code: occupation_name(session, code) for code in {exam.occupation, *(c.occupation for c in cands.values())}}
        parts = [p for p in PART_NAMES if p in ALWAYS or any(p in c.parts for c in cands.values()) or any(p in r for r in results)]
        rows = []
        for r in results:
            c = cands[r["candidate"]]
            doc = open_candidate(keyring, c)
            scores = {p: r.get(p) for p in PART_NAMES if p in r}
            rows.append({"ticket": r["ticket"] or "", "id_number": doc.get("id_number", ""), "name": doc.get("name", ""),
                         "occupation": c.occupation, "occupation_name": names[c.occupation], "level": LEVEL_NAMES.get(c.level, str(c.level)),
                         "cells": [_cell(p, c.parts, scores, r["status"]) for p in parts], "passed": "合格" if r["passed"] else "不合格",
                         "status": STAGE_LABELS[stage] if r["status"] == "scored" else STATUS_LABELS.get(r["status"], r["status"]),
                         "note": _note(c.parts, scores, r["status"], r.get("note") or "", parts)})  # fmt: skip
        released_on = pub.released_at.astimezone(BEIJING).date() if pub.released_at else None
        header = {"institution": institution_title(session), "title": f"{names[exam.occupation]}（{LEVEL_NAMES.get(exam.level, exam.level)}）"
                  "职业技能等级认定成绩登记表", "date": _cn_date(exam.exam_date), "code": exam.code, "site": exam.site or exam.site_code or "—",
                  "stage": _stage_text(pub, released_on), "made": _cn_date(beijing_today())}  # fmt: skip
        columns = [*UPLOAD_HEAD, *(PART_NAMES[p] for p in parts), "是否合格", "状态"]
        stem = _file_stem(exam.code)
        rendered = {f"{stem}_成绩上报.csv": _csv(columns, rows), f"{stem}_成绩上报.xlsx": _xlsx(columns, rows, header),
                    f"{stem}_成绩登记表.pdf": render_register(header, [PART_NAMES[p] for p in parts], rows)}  # fmt: skip
        passed = sum(1 for r in results if r["passed"])
        audit(session, actor, "candidate.identity.read", "candidates", session_code, count=len(rows), purpose="results.export")
        audit(session, actor, "results.export", "exam_session", session_code, candidates=len(rows), passed=passed, stage=stage,
              files=list(rendered))  # fmt: skip
        out = {"session": session_code, "stage": stage, "released_on": released_on.isoformat() if released_on else None,
               "window": {"opens": pub.opens.isoformat(), "last_day": pub.last_day.isoformat(), "release_on": pub.release_on.isoformat()},
               "candidates": len(rows), "passed": passed}  # fmt: skip
    written = _write_all(out_dir, rendered)
    return out | {"files": {kind: str(path) for kind, path in zip(("csv", "xlsx", "pdf"), written, strict=True)}}


def _stage_text(pub: Publicity, released_on: date | None) -> str:
    window = f"公示期{_cn_date(pub.opens)}至{_cn_date(pub.last_day)}"
    return f"已发布（{_cn_date(released_on)}发布；{window}）" if released_on else f"公示中（{window}，{_cn_date(pub.release_on)}起可发布）"


def _write_all(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Each file written beside its final name, then all renamed: a failure leaves none of them half-written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    temps: list[Path] = []
    try:
        for name, data in files.items():
            tmp = out_dir / f".{name}.part"
            temps.append(tmp)
            tmp.write_bytes(data)
        return [tmp.replace(out_dir / name) for tmp, name in zip(temps, files, strict=True)]
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------- 成绩上报 (csv, xlsx)


def _text(value: str) -> str:
    """A cell a spreadsheet must not read as a formula (a name such as =HYPERLINK(…) is text)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _upload_row(r: dict[str, Any]) -> list[str]:
    return [_text(r["ticket"]), _text(r["id_number"]), _text(r["name"]), r["occupation"], r["occupation_name"], r["level"], *r["cells"],
            r["passed"], r["status"]]  # fmt: skip


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    w.writerows(_upload_row(r) for r in rows)
    return buf.getvalue().encode("utf-8-sig")  # the BOM: Excel then reads UTF-8, not the system code page


def _xlsx(columns: list[str], rows: list[dict[str, Any]], header: dict[str, str]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "成绩上报"
    wb.properties.title = f"{header['code']} 成绩上报（{header['stage']}）"
    wb.properties.creator = header["institution"]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E8E8E8")
        cell.alignment = Alignment(horizontal="center", vertical="center")
    first_part, last_part = len(UPLOAD_HEAD), len(columns) - 2  # the score columns, 0-based [first, last)
    for r in rows:
        values: list[Any] = _upload_row(r)
        for i in range(first_part, last_part):
            if re.fullmatch(r"\d+\.\d", values[i]):
                values[i] = float(values[i])
        ws.append(values)
    for row in ws.iter_rows(min_row=2):
        for i, cell in enumerate(row):
            # ID numbers and tickets stay text: as numbers Excel would print 3.6E+17 and drop the last digits
            cell.number_format = "0.0" if first_part <= i < last_part and isinstance(cell.value, float) else "@"
            if i >= first_part:
                cell.alignment = Alignment(horizontal="center")
    widths = {"准考证号": 16, "证件号码": 22, "姓名": 12, "职业代码": 13, "职业名称": 16, "等级": 14}
    for i, name in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(name, 11)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------- 成绩登记表 (PDF)


def _register_columns(parts: list[str]) -> tuple[list[str], list[float]]:
    """The register's columns and widths in mm (267 mm between the margins of landscape A4)."""
    from reportlab.lib.units import mm

    head = [*REGISTER_HEAD, *parts, "总评", "备注"]
    fixed = [12, 30, 26, 44, *([22] * len(parts)), 18]
    return head, [w * mm for w in [*fixed, 267 - sum(fixed)]]


def render_register(header: dict[str, str], parts: list[str], rows: list[dict[str, Any]]) -> bytes:
    """The 成绩登记表: title, the sitting's particulars, one row per candidate (the header repeated on every
    page), and on every page the signature lines and 第 n 页 共 m 页."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_LEFT
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Spacer, Table, TableStyle

    from examvault.export.fonts import register_fonts
    from examvault.export.paper_pdf import numbered_canvas

    head, widths = _register_columns(parts)
    margin = 15 * mm  # the page's sides; the columns fill the 267 mm between
    passed = sum(1 for r in rows if r["passed"] == "合格")
    absent = sum(1 for r in rows if r["status"] == ABSENT)
    particulars = [f"认定机构：{header['institution']}", f"考试日期：{header['date']}", f"场次：{header['code']}", f"考点：{header['site']}"]
    summary = f"成绩状态：{header['stage']}　　考生{len(rows)}人，合格{passed}人，不合格{len(rows) - passed}人（其中缺考{absent}人）"
    signatures = "　　".join(f"{s}：" for s in SIGNERS) + "认定机构（盖章）年月日" + f"制表日期：{header['made']}（续）"
    cells = "".join(r["ticket"] + r["name"] + r["id_number"] + "".join(r["cells"]) + r["passed"] + r["note"] for r in rows)
    body_text = "".join(particulars) + summary + signatures + header["title"] + cells + "第页共" + "0123456789-.—：（）；、 "  # the title again: continuation pages run it in the body face
    fonts = register_fonts(body_text, header["title"] + "".join(head))

    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    page_w, page_h = landscape(A4)
    title = ParagraphStyle("title", fontName=fonts.heading, fontSize=18, leading=24, alignment=TA_CENTER, spaceAfter=4 * mm)
    line = ParagraphStyle("line", fontName=fonts.body, fontSize=10, leading=14)
    cell = ParagraphStyle("cell", fontName=fonts.body, fontSize=9.5, leading=12, alignment=TA_CENTER, wordWrap="CJK")
    note = ParagraphStyle("note", parent=cell, fontSize=8.5, leading=10.5, alignment=TA_LEFT)
    data: list[list[Any]] = [head]
    for i, r in enumerate(rows, start=1):
        data.append([str(i), r["ticket"], Paragraph(esc(r["name"]), cell), r["id_number"], *r["cells"], r["passed"], Paragraph(esc(r["note"]), note)])
    table = Table(data, colWidths=widths, repeatRows=1, rowHeights=[9 * mm] + [None] * len(rows))
    n = len(head)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), fonts.heading, 10), ("FONT", (0, 1), (-1, -1), fonts.body, 9.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)), ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BOX", (0, 0), (-1, -1), 1.2, colors.black), ("LINEBELOW", (0, 0), (-1, 0), 1, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (0, 0), (n - 2, -1), "CENTER"), ("ALIGN", (n - 1, 0), (n - 1, 0), "CENTER"),
        ("TOPPADDING", (0, 1), (-1, -1), 3.5), ("BOTTOMPADDING", (0, 1), (-1, -1), 3.5)]))  # fmt: skip
    info = Table([particulars, [Paragraph(esc(summary), line), "", "", f"制表日期：{header['made']}"]],
                 colWidths=[w * mm for w in (92, 52, 70, 53)])  # fmt: skip
    info.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), fonts.body, 10), ("SPAN", (0, 1), (2, 1)), ("ALIGN", (3, 1), (3, 1), "RIGHT"),
                              ("LEFTPADDING", (0, 0), (0, -1), 0), ("RIGHTPADDING", (3, 0), (3, -1), 0),
                              ("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]))  # fmt: skip

    def footer(c: Any, page: int, pages: int) -> None:
        right = page_w - margin
        c.saveState()
        if page > 1:  # a continuation page: the table's header repeats; say whose register it is
            c.setFont(fonts.body, 9)
            c.drawString(margin, page_h - 9 * mm, f"{header['title']}（续）")
            c.drawRightString(right, page_h - 9 * mm, f"场次：{header['code']}")
        c.setFont(fonts.body, 10.5)
        x, y = margin, 20 * mm
        for label in SIGNERS:
            c.drawString(x, y, f"{label}：")
            start = x + c.stringWidth(f"{label}：", fonts.body, 10.5)
            c.setLineWidth(0.6)
            c.line(start + 1, y - 2, start + 34 * mm, y - 2)
            x = start + 44 * mm
        c.drawRightString(right - 12 * mm, y, "认定机构（盖章）")
        c.drawRightString(right - 6 * mm, y - 8 * mm, "年　　月　　日")
        c.setFont(fonts.body, 9)
        c.drawCentredString(page_w / 2, 7 * mm, f"第 {page} 页 共 {pages} 页")
        c.restoreState()

    out = io.BytesIO()
    frame = Frame(margin, 32 * mm, page_w - 2 * margin, page_h - 46 * mm, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    pdf = BaseDocTemplate(out, pagesize=(page_w, page_h), pageTemplates=[PageTemplate("register", [frame])], title=header["title"],
                          author=header["institution"], subject=header["code"], invariant=True)  # fmt: skip
    pdf.build([Paragraph(esc(header["title"]), title), info, Spacer(1, 2 * mm), table], canvasmaker=numbered_canvas(footer))
    return out.getvalue()


