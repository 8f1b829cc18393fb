"""Item statistics back into the bank (examvault/stats/service.py), the standalone analysis of an uploaded
response file (examvault/stats/files.py) with its report built in memory, and — read-only — the bank's
key versions and the registered parties."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from examvault.api.deps import Caller, need
from examvault.api.routers._common import Wait, download, long_action, text
from examvault.api.uploads import in_memory_file, safe_name
from examvault.crypto import parties
from examvault.crypto import service as crypto
from examvault.errors import ValidationError
from examvault.stats import service
from examvault.stats.flags import FlagThresholds

router = APIRouter()
PaperCode = Annotated[str, Path(max_length=200, pattern=r"^[^\x00/]+$", description="the paper (form) code")]
ItemCode = Annotated[str, Path(max_length=80, pattern=r"^[^\x00/]+$")]
NoNul = r"^[^\x00]*$"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------- the bank's own statistics


class Update(BaseModel):
    irt: Literal["2pl", "rasch", "none"] = "2pl"


@router.post("/stats/papers/{paper}/update", tags=["stats"])
def update(
    paper: PaperCode, body: Update, who: Caller = Depends(need("stats.update")), wait: Wait = 0
) -> Any:
    """Analyse the paper's released, not yet analysed sessions and feed p, discrimination and IRT parameters
    back into the bank; flagged items are suspended into the review queue. A long job."""
    irt_model: Any = None if body.irt == "none" else body.irt
    return long_action(
        who, "stats.update", lambda job: service.update_paper(who.bank, paper, irt=irt_model), wait
    )


@router.get("/stats/reviews", tags=["stats"])
def reviews(who: Caller = Depends(need("stats.read"))) -> list[dict[str, Any]]:
    """Open reviews: each suspended item with the rules that fired and their numbers."""
    return service.review_queue(who.bank)


class Decision(BaseModel):
    decision: Literal["keep", "retire"]
    comment: text(400, 1)


@router.post("/stats/items/{code}/decide", tags=["stats"])
def decide(code: ItemCode, body: Decision, who: Caller = Depends(need("stats.read"))) -> dict[str, Any]:
    """Settle an item's review: keep (active again; by the roles that may activate items) or retire (by the
    roles that may retire them)."""
    return service.decide(who.bank, code, body.decision, comment=body.comment)


@router.get("/stats/items/{code}", tags=["stats"])
def item_history(code: ItemCode, who: Caller = Depends(need("stats.read"))) -> dict[str, Any]:
    """An item's figures in every administration, and what the bank holds now."""
    return service.item_history(who.bank, code)


# ---------------------------------------------------------------- a response file, analysed on its own


def _thresholds(min_n: int | None, confidence: float | None, cuts: dict[str, float | None]) -> FlagThresholds:
    changes: dict[str, Any] = {k: v for k, v in cuts.items() if v is not None}
    if min_n is not None:
        changes["min_n"] = min_n
    if confidence is not None:
        changes["confidence"] = confidence
    return replace(FlagThresholds(), **changes)


Cut = Annotated[float | None, Form(ge=-1, le=3, allow_inf_nan=False)]
FormText = lambda n: Form(max_length=n, pattern=NoNul)  # noqa: E731


@router.post("/stats/analyze", tags=["stats"])
async def analyze(
    file: Annotated[UploadFile, File(description="the response csv: rows are candidates, columns items")],
    who: Caller = Depends(need("stats.read")),
    key: Annotated[UploadFile | None, File(description="answer key csv: the file holds raw options")] = None,
    max_points_file: Annotated[UploadFile | None, File(description="a csv of item,max_points")] = None,
    max_points: Annotated[
        float | None, Form(gt=0, le=1000, allow_inf_nan=False, description="points of every item")
    ] = None,
    score_step: Annotated[float | None, Form(gt=0, le=100, allow_inf_nan=False)] = None,
    missing_code: Annotated[str | None, Form(max_length=20, pattern=NoNul)] = None,
    missing: Annotated[Literal["wrong", "pairwise"], Form()] = "wrong",
    irt: Annotated[Literal["none", "rasch", "2pl"], Form()] = "none",
    force_irt: Annotated[bool, Form()] = False,
    group: Annotated[str | None, FormText(200)] = None,
    focal: Annotated[str | None, FormText(200)] = None,
    ignore: Annotated[list[str] | None, Form(max_length=50)] = None,
    min_n: Annotated[int | None, Form(ge=1, le=10_000_000)] = None,
    confidence: Annotated[float | None, Form(gt=0, lt=1, allow_inf_nan=False)] = None,
    p_low: Cut = None,
    p_high: Cut = None,
    r_rest_low: Cut = None,
    r_rest_negative: Cut = None,
    msq_low: Cut = None,
    msq_high: Cut = None,
    encoding: Annotated[str | None, Form(max_length=20, pattern=r"^[A-Za-z0-9_\-]+$")] = None,
    title: Annotated[str | None, FormText(200)] = None,
    subtitle: Annotated[str, FormText(400)] = "",
    format: Annotated[
        Literal["json", "pdf", "xlsx"], Query(description="the analysis as JSON, or its report")
    ] = "json",
    wait: Wait = 0,
) -> Any:
    """Analyse an uploaded response file as `examvault stats analyze` does: classical statistics, distractors
    (with a key), Rasch or 2PL, DIF (with a group column) and flags with their evidence. The files are held
    in memory only; the PDF or xlsx report is built in memory. JSON may run as a long job (`wait`)."""
    if max_points is not None and max_points_file is not None:
        raise ValidationError("max_points, max_points_file: give one of them")
    for name in ignore or []:
        if len(name) > 200 or "\x00" in name:
            raise ValidationError("ignore: column names of at most 200 characters, without NUL")
    uploads = {"file": (file.filename or "responses.csv", await file.read())}
    if key is not None:
        uploads["key"] = (key.filename or "key.csv", await key.read())
    if max_points_file is not None:
        uploads["max_points"] = (max_points_file.filename or "max_points.csv", await max_points_file.read())
    cuts = _thresholds(
        min_n,
        confidence,
        {
            "p_low": p_low,
            "p_high": p_high,
            "r_rest_low": r_rest_low,
            "r_rest_negative": r_rest_negative,
            "msq_low": msq_low,
            "msq_high": msq_high,
        },
    )
    stem = FilePath(safe_name(uploads["file"][0], "responses.csv")).stem
    heading = title or f"试题分析报告：{stem}"

    def run(job: Any = None) -> Any:
        with ExitStack() as stack:
            paths = {
                k: stack.enter_context(in_memory_file(n, d, allowed=(".csv",)))
                for k, (n, d) in uploads.items()
            }
            points = (
                str(paths["max_points"])
                if "max_points" in paths
                else (None if max_points is None else repr(max_points))
            )
            analysis = _analyze_file(
                paths["file"],
                key=paths.get("key"),
                max_points=points,
                score_step=score_step,
                missing_code=missing_code,
                missing=missing,
                irt=None if irt == "none" else irt,
                force_irt=force_irt,
                group=group,
                focal=focal,
                ignore=tuple(ignore or ()),
                thresholds=cuts,
                encoding=encoding,
            )
        if format == "json":
            return analysis.to_json()
        from examvault.stats.report import render_pdf, render_xlsx

        if format == "pdf":
            return download(
                render_pdf(analysis, title=heading, subtitle=subtitle),
                f"{stem}_分析报告.pdf",
                "application/pdf",
            )
        return download(render_xlsx(analysis, title=heading), f"{stem}_分析报告.xlsx", XLSX)

    if format == "json":
        return await run_in_threadpool(long_action, who, "stats.analyze", run, wait)
    return await run_in_threadpool(run)


def _analyze_file(path: FilePath, **kw: Any) -> Any:
    from examvault.stats.files import analyze_file

    return analyze_file(path, **kw)


# ---------------------------------------------------------------- keys and parties (read-only)


@router.get("/keys/status", tags=["keys"])
def key_status(who: Caller = Depends(need("keys.manage"))) -> dict[str, Any]:
    """Key versions per domain and how many records use each; no key material."""
    return crypto.key_status(who.bank)


@router.get("/parties", tags=["parties"])
def list_parties(
    who: Caller = Depends(need("party.list")),
    role: Annotated[Literal[parties.PARTY_ROLES] | None, Query()] = None,
) -> list[dict[str, Any]]:  # type: ignore[valid-type]
    """Registered parties (printers, examiners, sites, couriers, officers, approvers) by their public keys."""
    return parties.list_parties(who.bank, role)
