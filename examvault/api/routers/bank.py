"""Items, outlines, blueprints, papers and sealing: the custodian's side of the API."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from examvault.api.deps import Caller, need
from examvault.api.routers._common import Code, Note, Ref, Wait, download, long_action, query_text, zipped
from examvault.api.uploads import in_memory_file
from examvault.assembly import service as assembly
from examvault.crypto.signing import SigningKey
from examvault.errors import ValidationError
from examvault.export import sealing
from examvault.export import service as export
from examvault.itembank import outlines
from examvault.itembank import service as items

router = APIRouter()
ItemCode = Annotated[str, Path(max_length=80, pattern=r"^[^\x00/]+$")]
PaperRef = Annotated[str, Path(max_length=200, pattern=r"^[^\x00]+$")]
Q = query_text
Upload = Annotated[UploadFile, File(description="the file, as a custodian would bring it")]


async def _read(upload: UploadFile) -> tuple[str, bytes]:
    return upload.filename or "upload", await upload.read()


# ---------------------------------------------------------------- items


@router.get("/items", tags=["items"])
def list_items(
    who: Caller = Depends(need("item.list")),
    occupation: Annotated[str | None, Q(40)] = None,
    level: Annotated[int | None, Query(ge=1, le=5)] = None,
    type: Annotated[str | None, Q(10)] = None,
    status: Annotated[str | None, Q(20)] = None,
    point: Annotated[str | None, Q(40)] = None,
    q: Annotated[str | None, Q(80)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    total: bool = False,
) -> dict[str, Any]:
    """Item metadata (never content), by code; `q` matches the start of an item or point code; `total=true`
    also counts every match."""
    rows, count = items.search_items(who.bank, occupation=occupation, level=level, type=type, status=status, point=point,
                                     code_prefix=q, limit=limit, offset=offset, with_total=total)  # fmt: skip
    # Answered as is: the rows are JSON-ready, and re-validating 50 of them per request is the search's hot path.
    return JSONResponse({"total": count, "offset": offset, "items": rows})


@router.get("/items/{code}", tags=["items"])
def show_item(code: ItemCode, who: Caller = Depends(need("item.list")),
              content: bool = False, version: Annotated[int | None, Query(ge=1, le=100_000)] = None) -> dict[str, Any]:  # fmt: skip
    """Metadata; with `content=true` the decrypted stem, options, answer and analysis (item.read roles, audited)."""
    return items.show_item(who.bank, code, version=version, with_content=content)


class ItemEdit(BaseModel):
    changes: Annotated[dict[Annotated[str, Field(max_length=20, pattern=r"^[^\x00]*$")],
                            Annotated[str, Field(max_length=20000, pattern=r"^[^\x00]*$")]], Field(min_length=1, max_length=30)]
    note: Note = ""


@router.patch("/items/{code}", tags=["items"])
def edit_item(code: ItemCode, body: ItemEdit, who: Caller = Depends(need("item.write"))) -> dict[str, Any]:
    """A new version (fields by their template names: 题干, 选项A, 答案, 解析, 难度 …); it goes back to review."""
    return items.edit_item(who.bank, code, body.changes, note=body.note)


class Transition(BaseModel):
    codes: Annotated[list[Code], Field(min_length=1, max_length=5000)]
    comment: Note = ""


def _transition(action: str) -> Any:
    def move(body: Transition, who: Caller = Depends(need(items.TRANSITIONS[action].permission))) -> list[dict[str, str]]:
        return items.transition(who.bank, action, body.codes, comment=body.comment)

    move.__doc__ = f"Move items ({action}); all of them or none."
    move.__name__ = f"items_{action}"
    return move


for _action in items.TRANSITIONS:
    router.post(f"/items/{_action}", tags=["items"], name=f"items_{_action}")(_transition(_action))


@router.post("/items/import", tags=["items"])
async def import_items(file: Upload, who: Caller = Depends(need("item.write")), dry_run: bool = False, wait: Wait = 0) -> Any:
    """Import an item file (xlsx, csv, json or 国标 Word). It is held in memory only, never on disk."""
    name, data = await _read(file)

    def run(job: Any) -> Any:
        with in_memory_file(name, data, allowed=(".xlsx", ".csv", ".json", ".docx")) as path:
            return items.import_items(who.bank, path, dry_run=dry_run, progress=job.progress).as_json()

    return await run_in_threadpool(long_action, who, "item.import", run, wait)


# ---------------------------------------------------------------- outlines


@router.get("/outlines/{occupation}/{level}", tags=["outlines"])
def outline(occupation: Annotated[str, Path(max_length=40, pattern=r"^[^\x00]+$")], level: Annotated[int, Path(ge=1, le=5)],
            who: Caller = Depends(need("outline.read")), kind: Literal["theory", "skill"] = "theory") -> dict[str, Any]:  # fmt: skip
    """The 鉴定要素细目表 as a tree, with the active items per point."""
    return outlines.outline_tree(who.bank, occupation, level, kind)


@router.post("/outlines/import", tags=["outlines"])
async def import_outline(file: Upload, who: Caller = Depends(need("outline.write")), dry_run: bool = False) -> Any:
    name, data = await _read(file)

    def run() -> Any:
        with in_memory_file(name, data, allowed=(".xlsx", ".csv", ".json")) as path:
            report = outlines.import_outline(who.bank, path, dry_run=dry_run)
        return {"outlines": report.outlines, "dry_run": report.dry_run}

    return await run_in_threadpool(run)


# ---------------------------------------------------------------- blueprints


@router.get("/blueprints", tags=["blueprints"])
def list_blueprints(who: Caller = Depends(need("blueprint.read"))) -> list[dict[str, Any]]:
    return assembly.list_blueprints(who.bank)


@router.get("/blueprints/{ref:path}", tags=["blueprints"])
def show_blueprint(ref: PaperRef, who: Caller = Depends(need("blueprint.read")),
                   version: Annotated[int | None, Query(ge=1, le=100_000)] = None) -> dict[str, Any]:  # fmt: skip
    return assembly.show_blueprint(who.bank, ref, version=version)


@router.post("/blueprints", tags=["blueprints"], status_code=201)
async def import_blueprint(file: Upload, who: Caller = Depends(need("blueprint.write"))) -> dict[str, Any]:
    """Store a YAML or JSON 组卷方案; a changed document becomes a new version."""
    name, data = await _read(file)

    def run() -> dict[str, Any]:
        with in_memory_file(name, data, allowed=(".yaml", ".yml", ".json")) as path:
            return assembly.import_blueprint(who.bank, path)

    return await run_in_threadpool(run)


class BlueprintRef(BaseModel):
    blueprint: Ref
    time_limit: Annotated[float, Field(gt=0, le=120)] = 20.0


@router.post("/blueprints/check", tags=["blueprints"])
def check_blueprint(body: BlueprintRef, who: Caller = Depends(need("blueprint.read")), wait: Wait = 0) -> Any:
    """Coverage of the bank per section, range, importance and difficulty, and whether a paper exists."""
    return long_action(who, "blueprint.check", lambda job: assembly.check_blueprint(who.bank, body.blueprint, time_limit=body.time_limit), wait)


# ---------------------------------------------------------------- papers


@router.get("/papers", tags=["papers"])
def list_papers(who: Caller = Depends(need("paper.list")), status: Annotated[str | None, Q(20)] = None,
                blueprint: Annotated[str | None, Q(200)] = None) -> list[dict[str, Any]]:  # fmt: skip
    return assembly.list_papers(who.bank, status=status, blueprint=blueprint)


class Assemble(BaseModel):
    blueprint: Ref
    forms: Annotated[list[Annotated[str, Field(max_length=4, pattern=r"^[A-Z]{1,4}$")]] | None, Field(max_length=8)] = None
    seed: Annotated[int | None, Field(ge=0, le=2**31 - 1)] = None
    time_limit: Annotated[float | None, Field(gt=0, le=300)] = None


@router.post("/papers/assemble", tags=["papers"])
def assemble(body: Assemble, who: Caller = Depends(need("paper.assemble")), wait: Wait = 0) -> Any:
    """Assemble every form of a stored blueprint in one model (HiGHS)."""
    return long_action(who, "paper.assemble", lambda job: assembly.assemble(
        who.bank, body.blueprint, forms=body.forms, seed=body.seed, time_limit=body.time_limit), wait)  # fmt: skip


@router.get("/papers/{ref}", tags=["papers"])
def show_paper(ref: PaperRef, who: Caller = Depends(need("paper.list"))) -> dict[str, Any]:
    """The layout; with the form's answers for roles that may see keys (audited)."""
    return assembly.show_paper(who.bank, ref)


@router.get("/papers/{ref}/preview", tags=["papers"])
def preview_paper(ref: PaperRef, who: Caller = Depends(need("paper.key"))) -> dict[str, Any]:
    """The form as candidates will read it, with its key: for checking and approval (audited)."""
    return export.preview_paper(who.bank, ref)


class Approve(BaseModel):
    sign_key: Annotated[str | None, Field(max_length=4000, pattern=r"^[^\x00]*$", description="your signing-key file's text")] = None
    passphrase: Annotated[str | None, Field(max_length=1024, pattern=r"^[^\x00]*$")] = None


@router.post("/papers/{ref}/approve", tags=["papers"])
def approve(ref: PaperRef, body: Approve, who: Caller = Depends(need("paper.approve"))) -> dict[str, Any]:
    """Two distinct approvers, neither the assembler; with a signing key the approval is signed (needed to seal)."""
    signer = None
    if body.sign_key is not None:
        signer = SigningKey.from_file_text(body.sign_key, body.passphrase or "", what="sign_key")
    return assembly.approve_paper(who.bank, ref, signer=signer)


class Move(BaseModel):
    reason: Note = ""


@router.post("/papers/{ref}/archive", tags=["papers"])
def archive(ref: PaperRef, body: Move, who: Caller = Depends(need("paper.archive"))) -> dict[str, Any]:
    return assembly.move_paper(who.bank, ref, "archive", reason=body.reason)


@router.post("/papers/{ref}/render", tags=["papers"])
def render(ref: PaperRef, who: Caller = Depends(need("paper.render")),
           format: Annotated[list[Literal["pdf", "docx"]], Query()] = ["pdf"]) -> Any:  # noqa: B006  # fmt: skip
    """The 试卷, 答题卡 and 标准答案 as a zip, built in memory (custodians only; audited, on the custody log)."""
    doc, files = export.render_for_download(who.bank, ref, formats=tuple(dict.fromkeys(format)))
    return download(zipped(files), f"{doc.code}.zip", "application/zip")


class Seal(BaseModel):
    kind: Annotated[str, Field(max_length=20, pattern=r"^[a-z\-]+$", description="paper, key or electronic")] = "paper"
    to: Annotated[list[Code], Field(min_length=1, max_length=20)]
    not_before: datetime
    expires: datetime


@router.post("/papers/{ref}/seal", tags=["papers"])
def seal(ref: PaperRef, body: Seal, who: Caller = Depends(need("paper.seal"))) -> Any:
    """Seal an approved paper (or its marking key) to registered recipients; answers the .evp package.
    Electronic papers, with officers' shares, are sealed from the CLI, which writes the shares to files."""
    if body.not_before.tzinfo is None or body.expires.tzinfo is None:
        raise ValidationError("not_before, expires: give a time zone, e.g. 2026-12-05T09:00:00+08:00")
    with tempfile.TemporaryDirectory(prefix="examvault-seal-") as tmp:  # the package is ciphertext, signed
        out = sealing.seal_package(who.bank, ref, kind=body.kind, to=list(body.to), not_before=body.not_before,
                                   expires=body.expires, out_dir=FilePath(tmp))  # fmt: skip
        path = next(FilePath(tmp).glob("*.evp"))
        return download(path.read_bytes(), path.name, "application/octet-stream") if out else None


@router.get("/packages", tags=["papers"])
def packages(who: Caller = Depends(need("paper.list")), paper: Annotated[str | None, Q(200)] = None) -> list[dict[str, Any]]:
    return sealing.list_packages(who.bank, paper)
