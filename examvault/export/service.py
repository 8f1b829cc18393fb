"""Render a paper: open its items' content, lay the form out, write the files. One action."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from examvault.accounts.service import audit
from examvault.assembly.forms import permutation
from examvault.assembly.models import Paper
from examvault.assembly.service import blueprint_of, form_answer_of, opened_entries, paper_by_ref
from examvault.bank import Bank
from examvault.custody.service import record
from examvault.errors import ValidationError
from examvault.export.document import DocItem, DocSection, Image, PaperDocument
from examvault.itembank import domain
from examvault.itembank.models import Item, Occupation

FORMATS = ("pdf", "docx")


def build_document(bank: Bank, session: Any, paper: Paper, *, serial: str = "") -> PaperDocument:
    bp = blueprint_of(paper)
    occupation = session.scalars(select(Occupation).where(Occupation.id == paper.blueprint.occupation_id)).one()
    ids = [e.item_id for e in paper.entries if e.item_id]
    codes = dict(session.execute(select(Item.id, Item.code).where(Item.id.in_(ids))).all()) if ids else {}
    sections = [DocSection(s.title, s.type, s.instructions, float(s.total), float(s.points) if s.points is not None else None, [],
                           float(s.partial) if s.partial is not None else None) for s in bp.sections]  # fmt: skip
    open_slots = [e.position for e in paper.entries if e.item_id is None]
    if open_slots:
        raise ValidationError(f"paper {paper.code}: expert slot {open_slots[0]} is still open; fill it before rendering")
    opened = opened_entries(bank, session, paper)
    number = 0
    for e in paper.entries:
        content = opened[e.position]
        perm = permutation(e.option_seed, len(content.options))
        is_stem = e.type == domain.SET_TYPE
        if not is_stem:
            number += 1
        sections[e.section].items.append(DocItem(
            number=None if is_stem else number, position=e.position, type=e.type, points=float(e.points),
            stem=content.stem, options=[content.options[k] for k in perm], answer=content.answer if is_stem or e.type in domain.SUBJECTIVE_TYPES else form_answer_of(e, content),
            analysis=content.analysis, images=[Image(m.name, m.mime, m.data) for m in content.media], code=codes.get(e.item_id, ""),
        ))  # fmt: skip
    return PaperDocument(
        occupation=occupation.name, occupation_code=occupation.code, level=bp.level, form=paper.form, code=paper.code,
        duration_minutes=bp.duration_minutes, total_points=float(paper.total_points),
        sections=[s for s in sections if s.items], draft=paper.status == "draft", serial=serial,
    )  # fmt: skip


def render_paper(bank: Bank, ref: str, out_dir: Path, *, formats: tuple[str, ...] = FORMATS, serial: str = "") -> dict[str, Any]:
    """Write the paper, answer sheet and marking key; a paper not yet approved is marked 样卷 / DRAFT."""
    _render_on_record(bank, ref, formats, serial, str(out_dir))
    doc, files = render_files(bank, ref, formats=formats, serial=serial)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        (out_dir / name).write_bytes(data)
        written.append({"file": str(out_dir / name), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return {"paper": doc.code, "draft": doc.draft, "files": written}


def _render_on_record(bank: Bank, ref: str, formats: tuple[str, ...], serial: str, where: str) -> None:
    """On record before anything is decrypted, so even a failed render leaves a trace."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValidationError(f"--format {','.join(unknown or formats)!r}: formats are {', '.join(FORMATS)}")
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "paper.render")  # before the paper is looked up: no hints to other roles
        code = paper_by_ref(session, ref).code
        audit(session, user, "paper.render", "paper", code, formats=list(formats), out_dir=where, serial=serial)
        record(bank, session, "paper.rendered", user.username, paper=code, details={"formats": list(formats), "serial": serial})


def render_for_download(bank: Bank, ref: str, *, formats: tuple[str, ...] = ("pdf",)) -> tuple[PaperDocument, dict[str, bytes]]:
    """The same documents as `render_paper`, kept in memory for an HTTP download."""
    _render_on_record(bank, ref, formats, "", "(download)")
    return render_files(bank, ref, formats=formats)


PARTS = ("paper", "key", "sheet")  # the 试卷, the 标准答案及评分标准, the 答题卡 with its bubble map


def render_files(bank: Bank, ref: str, *, formats: tuple[str, ...] = FORMATS, serial: str = "",
                 parts: tuple[str, ...] = PARTS) -> tuple[PaperDocument, dict[str, bytes]]:  # fmt: skip
    """The paper's documents in memory, by file name. The caller has put the rendering on record."""
    from examvault.export.answer_sheet import render_answer_sheet
    from examvault.export.paper_docx import render_key_docx, render_paper_docx
    from examvault.export.paper_pdf import render_key_pdf, render_paper_pdf

    with bank.transaction() as session:
        bank.actor(session, "paper.render")
        doc = build_document(bank, session, paper_by_ref(session, ref), serial=serial)
    renderers = {"pdf": (render_paper_pdf, render_key_pdf), "docx": (render_paper_docx, render_key_docx)}
    files: dict[str, bytes] = {}
    for fmt in formats:
        paper_renderer, key_renderer = renderers[fmt]
        if "paper" in parts:
            files[f"{doc.code}_试卷.{fmt}"] = paper_renderer(doc)
        if "key" in parts:
            files[f"{doc.code}_标准答案及评分标准.{fmt}"] = key_renderer(doc)
        if fmt == "pdf" and "sheet" in parts:  # the answer sheet is for printing only, with its bubble map beside it
            sheet, layout = render_answer_sheet(doc)
            files[f"{doc.code}_答题卡.pdf"] = sheet
            files[f"{doc.code}_答题卡.json"] = json.dumps(layout, ensure_ascii=False, indent=1).encode()
    return doc, files


def preview_paper(bank: Bank, ref: str) -> dict[str, Any]:
    """The form as candidates will read it, for the console's preview: what custodians check and approvers
    approve. Plaintext leaves the bank only in the answer, never to a file; the read is audited first."""
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "paper.key")
        paper = paper_by_ref(session, ref)
        audit(session, user, "paper.preview", "paper", paper.code)
    with bank.transaction() as session:
        doc = build_document(bank, session, paper_by_ref(session, ref))
    return {
        "code": doc.code, "form": doc.form, "occupation": doc.occupation, "level": doc.level, "draft": doc.draft,
        "duration_minutes": doc.duration_minutes, "total_points": doc.total_points,
        "sections": [
            {"title": s.title, "type": s.type, "instructions": s.instructions, "total": s.total,
             "items": [{"number": i.number, "type": i.type, "points": i.points, "stem": i.stem, "options": i.options,
                        "answer": i.answer, "code": i.code} for i in s.items]}
            for s in doc.sections
        ],
    }  # fmt: skip
