"""Exam administration: sessions, the plan, candidates, tickets and the door, scoring and results,
violations, certificates and the staff registry. Thin faces over the registration, scoring and staff
services, which check permissions again and run one transaction each.

Files that carry personal data (registration forms, answer sheets, score sheets) are read from memory
only; what the services write to a folder (tickets, the results export) goes to a private temporary
folder — in memory (/dev/shm) where the system has it — and is deleted as soon as it has been read.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from examvault.api.deps import Caller, need
from examvault.api.routers._common import Wait, download, long_action, query_text, text, zipped
from examvault.api.uploads import in_memory_file
from examvault.crypto.signing import VerifyKey
from examvault.db import beijing_today
from examvault.errors import Issue, ValidationError
from examvault.registration import attendance as door
from examvault.registration import candidates as regs
from examvault.registration import certificates as certs
from examvault.registration import plan as plans
from examvault.registration import service as sessions
from examvault.registration import tickets
from examvault.registration.certnumber import parse_number
from examvault.scoring import export as scoring_export
from examvault.scoring import parts as part_scores
from examvault.scoring import responses as answer_sheets
from examvault.scoring import results, violations
from examvault.staff import service as staff

router = APIRouter()

_NO_NUL_OR_SLASH = r"^[^\x00/]+$"
SessionCode = Annotated[
    str, Path(max_length=40, pattern=_NO_NUL_OR_SLASH, description="the session code, e.g. 2026-12-电工-3")
]
CandidateCode = Annotated[
    str, Path(max_length=30, pattern=_NO_NUL_OR_SLASH, description="the registration number")
]
CertNumber = Annotated[
    str, Path(max_length=40, pattern=_NO_NUL_OR_SLASH, description="the 22-character certificate number")
]
StaffCode = Annotated[str, Path(max_length=30, pattern=_NO_NUL_OR_SLASH)]
Year = Annotated[int, Path(ge=2000, le=2100)]
Q = query_text
Upload = Annotated[
    UploadFile, File(description="the file (xlsx, csv or json); held in memory only, never on disk")
]
Encoding = Annotated[
    str | None,
    Query(max_length=20, pattern=r"^[A-Za-z0-9_\-]+$", description="a csv file's encoding, e.g. gb18030"),
]
Part = Literal["theory", "skill", "defence", "review"]
PanelPart = Literal["skill", "defence", "review"]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
Ticket = text(20, 1)
Reason = text(400, 1)
Token = text(4000, 1)
TrustedKey = Annotated[
    str | None,
    Field(
        max_length=400,
        pattern=r"^[^\x00]*$",
        description="the institution's verifier key as you hold it (default: this bank's)",
    ),
]
TABLES = (".xlsx", ".csv", ".json")


def _aware(value: datetime | None, field: str) -> datetime | None:
    """A time with its zone, within reason: a naive time is ambiguous, and a year far away overflows."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            [Issue("request", field, "", "give a time zone, e.g. 2026-12-12T09:05:00+08:00")]
        )
    if not 2000 <= value.year <= 2100:
        raise ValidationError([Issue("request", field, "", "a time between the years 2000 and 2100")])
    return value


def _scratch() -> tempfile.TemporaryDirectory[str]:
    """A private folder for files a service writes: in memory where the system has /dev/shm."""
    shm = "/dev/shm"
    where = shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None
    return tempfile.TemporaryDirectory(prefix="examvault-", dir=where)


def _trusted(who: Caller, given: str | None) -> VerifyKey:
    if given:
        return VerifyKey.parse(given, "trusted_key")
    from examvault.custody.service import institution_verify_key

    with who.bank.transaction() as session:
        return institution_verify_key(session)


def _opened(check: Any) -> Any:
    """A token's damaged JSON can nest deeply enough to exhaust the parser: that is a damaged token."""
    try:
        return check()
    except RecursionError:
        raise ValidationError([Issue("request", "token", "", "the token's text is damaged")]) from None


async def _upload(who: Caller, kind: str, file: UploadFile, wait: float, fn: Any) -> Any:
    """Read the upload into memory and run `fn(path, job)` on an in-memory file as a job."""
    name, data = file.filename or "upload", await file.read()

    def run(job: Any) -> Any:
        with in_memory_file(name, data, allowed=TABLES) as path:
            try:
                return fn(path, job)
            except (UnicodeDecodeError, RecursionError) as exc:  # the readers miss a UTF-16 file cut short
                why = "cannot be decoded" if isinstance(exc, UnicodeDecodeError) else "nests too deeply"
                issue = Issue(path.name, "", "", f"the file {why}; nothing was imported")
                raise ValidationError([issue]) from None

    return await run_in_threadpool(long_action, who, kind, run, wait)


# ---------------------------------------------------------------- sessions and the plan


@router.get("/sessions", tags=["sessions"])
def list_sessions(who: Caller = Depends(need("session.read"))) -> list[dict[str, Any]]:
    """Every session by date: stage, papers, rooms and how many candidates."""
    return sessions.list_sessions(who.bank)


@router.get("/sessions/{code}", tags=["sessions"])
def show_session(code: SessionCode, who: Caller = Depends(need("session.read"))) -> dict[str, Any]:
    return sessions.show_session(who.bank, code)


@router.get("/plans/{year}", tags=["sessions"])
def show_plan(year: Year, who: Caller = Depends(need("plan.read"))) -> dict[str, Any]:
    """The year's plan (年度认定计划) with the eligibility texts per occupation and level."""
    return plans.show_plan(who.bank, year)


# ---------------------------------------------------------------- candidates


@router.get("/candidates", tags=["candidates"])
def list_candidates(
    who: Caller = Depends(need("candidate.read")),
    plan: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    session: Annotated[str | None, Q(40)] = None,
    status: Annotated[str | None, Query(max_length=20, pattern=r"^[a-z]+$")] = None,
    occupation: Annotated[str | None, Q(20)] = None,
    level: Annotated[int | None, Query(ge=1, le=5)] = None,
    full_ids: Annotated[
        bool, Query(description="full ID numbers (candidate.identity roles only; audited)")
    ] = False,
) -> list[dict[str, Any]]:
    """Candidates with masked ID numbers, by registration number."""
    return regs.list_candidates(
        who.bank,
        year=plan,
        session_code=session,
        status=status,
        occupation=occupation,
        level=level,
        full_ids=full_ids,
    )


@router.get("/candidates/{code}", tags=["candidates"])
def show_candidate(code: CandidateCode, who: Caller = Depends(need("candidate.read"))) -> dict[str, Any]:
    """One candidate with the eligibility decisions made and the evidence they read."""
    return regs.show_candidate(who.bank, code)


@router.post("/candidates/import", tags=["candidates"])
async def import_candidates(
    file: Upload,
    plan: Annotated[int, Query(ge=2000, le=2100, description="the plan year")],
    who: Caller = Depends(need("candidate.manage")),
    late: bool = False,
    encoding: Encoding = None,
    wait: Wait = 0,
) -> Any:
    """Register the candidates of a registration form (报名表). All or nothing; every problem names its row and
    column. The form carries personal data: it is held in memory only."""
    return await _upload(
        who,
        "candidate.import",
        file,
        wait,
        lambda path, job: regs.import_candidates(who.bank, plan, path, late=late, encoding=encoding),
    )


# ---------------------------------------------------------------- tickets and the door


class TicketPrint(BaseModel):
    candidates: Annotated[
        list[text(30, 1)], Field(max_length=1000, description="registration or ticket numbers; none: all")
    ] = []


@router.post("/sessions/{code}/tickets", tags=["tickets"])
def print_tickets(
    code: SessionCode, body: TicketPrint | None = None, who: Caller = Depends(need("ticket.issue"))
) -> Any:
    """The admission tickets (准考证) as one PDF, front and back for duplex printing. Audited."""
    wanted = tuple(body.candidates) if body else ()
    with _scratch() as tmp:  # the PDF carries ID numbers and photos: read back and deleted at once
        out = FilePath(tmp) / "tickets.pdf"
        tickets.print_tickets(who.bank, code, out=out, candidates=wanted)
        data = out.read_bytes()
    return download(data, f"准考证-{code}.pdf", "application/pdf")


class TicketCheck(BaseModel):
    token: Token
    on: Day | None = Field(None, description="the exam day to check against (default today, Beijing)")
    session: text(40) | None = None
    trusted_key: TrustedKey = None


@router.post("/tickets/verify", tags=["tickets"])
def verify_ticket(body: TicketCheck, who: Caller = Depends(need("candidate.read"))) -> dict[str, Any]:
    """The door check of a ticket's QR token: signed by the institution, a ticket, for this day (and session).
    Answers what the clerk compares with the ID card and the person."""
    trusted = _trusted(who, body.trusted_key)
    return _opened(
        lambda: tickets.verify_ticket(
            body.token, trusted, on=body.on or beijing_today(), session_code=body.session or None
        )
    )


class DoorRecord(BaseModel):
    ticket: Annotated[
        str,
        Field(
            min_length=1,
            max_length=4000,
            pattern=r"^[^\x00]*$",
            description="the ticket number, or the scanned QR token",
        ),
    ]
    part: Part = "theory"
    at: datetime | None = Field(
        None, description="when the candidate came to the door, with its zone (default now)"
    )
    identity: Literal["verified", "mismatch", "unchecked"] = "verified"
    absent: bool = False
    note: text(200) = ""


@router.post("/sessions/{code}/attendance", tags=["attendance"])
def record_attendance(
    code: SessionCode, body: DoorRecord, who: Caller = Depends(need("attendance.record"))
) -> dict[str, Any]:
    """Record one candidate at the door: present, late (≤ 30 minutes), refused or absent."""
    at = _aware(body.at, "at")
    return _opened(
        lambda: door.record(
            who.bank,
            code,
            body.ticket,
            body.part,
            at=at,
            identity=body.identity,
            absent=body.absent,
            note=body.note,
        )
    )


class DoorClose(BaseModel):
    part: Part = "theory"
    at: datetime | None = Field(None, description="when entry closed, with its zone (default now)")


@router.post("/sessions/{code}/attendance/close", tags=["attendance"])
def close_attendance(
    code: SessionCode, body: DoorClose, who: Caller = Depends(need("attendance.record"))
) -> dict[str, Any]:
    """Entry closed: everyone seated for the part with no door record is absent (缺考)."""
    return door.close_part(who.bank, code, body.part, at=_aware(body.at, "at"))


@router.get("/sessions/{code}/attendance", tags=["attendance"])
def show_attendance(
    code: SessionCode, who: Caller = Depends(need("session.read")), part: Part | None = None
) -> dict[str, Any]:
    """Per room and part: seated, present, late, refused, absent, not yet recorded; and the records."""
    return door.attendance(who.bank, code, part=part)


# ---------------------------------------------------------------- answer sheets and score sheets


@router.post("/sessions/{code}/responses/import", tags=["scoring"])
async def import_responses(
    code: SessionCode,
    file: Upload,
    who: Caller = Depends(need("scoring.responses")),
    source: Literal["omr", "cbt"] = "omr",
    encoding: Encoding = None,
    wait: Wait = 0,
) -> Any:
    """Candidates' objective answers (columns 准考证号, 卷别, 1…N), scored on import. All or nothing."""
    return await _upload(
        who,
        "responses.import",
        file,
        wait,
        lambda path, job: answer_sheets.import_responses(
            who.bank, code, path, source=source, encoding=encoding
        ),
    )


@router.post("/sessions/{code}/scores/import", tags=["scoring"])
async def import_part_scores(
    code: SessionCode,
    file: Upload,
    who: Caller = Depends(need("scoring.parts")),
    part: PanelPart = "skill",
    wait: Wait = 0,
) -> Any:
    """A panel's score sheet (columns 准考证号, 考评员, 分数): one row per candidate and examiner on duty."""
    return await _upload(
        who,
        "scores.import",
        file,
        wait,
        lambda path, job: part_scores.import_part_scores(who.bank, code, path, part=part),
    )


class PanelReview(BaseModel):
    ticket: Ticket
    part: PanelPart = "skill"
    score: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False, description="0–100, one decimal")]
    chief: text(30, 1)
    reason: Reason


@router.post("/sessions/{code}/scores/review", tags=["scoring"])
def review_panel(
    code: SessionCode, body: PanelReview, who: Caller = Depends(need("scoring.parts"))
) -> dict[str, Any]:
    """The chief examiner's (主考) score for a panel whose scores spread more than 20 points."""
    return part_scores.review_panel(
        who.bank, code, body.ticket, part=body.part, score=body.score, chief=body.chief, reason=body.reason
    )


# ---------------------------------------------------------------- violations


class ViolationRecord(BaseModel):
    ticket: Ticket
    part: Part
    tier: Literal["warning", "void-paper", "cancel-sitting", "cancel-qualification"]
    proctor: text(30, 1)
    at: datetime = Field(description="when it happened, with its zone")
    reason: Reason


@router.post("/sessions/{code}/violations", tags=["violations"], status_code=201)
def record_violation(
    code: SessionCode, body: ViolationRecord, who: Caller = Depends(need("violation.record"))
) -> dict[str, Any]:
    """Record one violation (考生违规违纪); a repeated warning in a part voids the paper.
    Refused once the results are publicised."""
    at = _aware(body.at, "at") or body.at
    return violations.record_violation(
        who.bank,
        code,
        body.ticket,
        part=body.part,
        tier=body.tier,
        proctor=body.proctor,
        at=at,
        reason=body.reason,
    )


@router.get("/sessions/{code}/violations", tags=["violations"])
def list_violations(code: SessionCode, who: Caller = Depends(need("results.read"))) -> list[dict[str, Any]]:
    return violations.list_violations(who.bank, code)


# ---------------------------------------------------------------- results


@router.post("/sessions/{code}/results/compute", tags=["results"])
def compute_results(code: SessionCode, who: Caller = Depends(need("results.compute"))) -> dict[str, Any]:
    """Compute every seated candidate's result; refused, naming what is missing, until every part
    is scored."""
    return results.compute(who.bank, code)


@router.get("/sessions/{code}/results", tags=["results"])
def show_results(code: SessionCode, who: Caller = Depends(need("results.read"))) -> dict[str, Any]:
    """Per candidate: each part, passed, status; the stage (computed → publicized → released) and
    the publicity window."""
    return results.show(who.bank, code)


class Publicize(BaseModel):
    start: Day | None = Field(None, description="the day the notice goes up (default today)")


@router.post("/sessions/{code}/results/publicize", tags=["results"])
def publicize_results(
    code: SessionCode, body: Publicize | None = None, who: Caller = Depends(need("results.publicize"))
) -> dict[str, Any]:
    """Post the results for 5 working days (Chinese calendar); they are then fixed."""
    return results.publicize(who.bank, code, start=body.start if body else None)


class Objection(BaseModel):
    ticket: Ticket
    reason: Reason


@router.post("/sessions/{code}/results/objections", tags=["results"], status_code=201)
def object_to_result(
    code: SessionCode, body: Objection, who: Caller = Depends(need("results.publicize"))
) -> dict[str, Any]:
    """Record an objection (异议) while the results are publicised."""
    return results.object_(who.bank, code, body.ticket, body.reason)


class Resolution(BaseModel):
    resolution: Reason


@router.post("/objections/{objection_id}/resolve", tags=["results"])
def resolve_objection(
    objection_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: Resolution,
    who: Caller = Depends(need("results.publicize")),
) -> dict[str, Any]:
    return results.resolve_objection(who.bank, objection_id, body.resolution)


@router.post("/sessions/{code}/results/release", tags=["results"])
def release_results(code: SessionCode, who: Caller = Depends(need("results.release"))) -> dict[str, Any]:
    """Release: refused before the window has run, with an objection open, or if the results changed."""
    return results.release(who.bank, code)


@router.post("/sessions/{code}/results/export", tags=["results"])
def export_results(code: SessionCode, who: Caller = Depends(need("results.export"))) -> Any:
    """The platform upload (成绩上报 csv, xlsx) and the score register (成绩登记表 PDF) as a zip. They carry full
    ID numbers (needs candidate.identity too); audited."""
    with _scratch() as tmp:  # written by the service, read back and deleted before the answer goes out
        r = scoring_export.export_results(who.bank, code, FilePath(tmp) / "out")
        files = {FilePath(p).name: FilePath(p).read_bytes() for p in r["files"].values()}
    return download(zipped(files), f"{code}_成绩.zip", "application/zip")


# ---------------------------------------------------------------- certificates


@router.get("/certificates", tags=["certificates"])
def list_certificates(
    who: Caller = Depends(need("certificate.read")),
    session: Annotated[str | None, Q(40)] = None,
    status: Literal["issued", "voided", "replaced", "revoked"] | None = None,
) -> list[dict[str, Any]]:
    """Certificates by number; the holder named by candidate code (no personal data)."""
    return certs.list_certificates(who.bank, session_code=session, status=status)


@router.get("/certificates/ledger", tags=["certificates"])
def certificate_ledger(
    who: Caller = Depends(need("certificate.read")),
    number: Annotated[str | None, Q(40)] = None,
    serial: Annotated[str | None, Q(20)] = None,
) -> list[dict[str, Any]]:
    """The ledger (证书台账): every issue, void, reissue, revocation and blank-form movement; for one number
    (with those linked by reissue) or one blank form."""
    return certs.ledger(who.bank, number=number, serial=serial)


class CertificateCheck(BaseModel):
    token: Token
    trusted_key: TrustedKey = None
    ledger: bool = Field(
        True, description="also require the certificate to be issued in this bank's ledger now"
    )


@router.post("/certificates/verify", tags=["certificates"])
def verify_certificate(
    body: CertificateCheck, who: Caller = Depends(need("certificate.read"))
) -> dict[str, Any]:
    """Check a certificate's QR text: signed by the institution, well formed, and (by default)
    still issued in this bank's ledger."""
    trusted = _trusted(who, body.trusted_key)
    found = _opened(lambda: certs.verify_certificate(body.token, trusted))
    if not body.ledger:
        return found
    entry = certs.check_certificate(who.bank, found["number"])
    return _opened(lambda: certs.verify_certificate(body.token, trusted, ledger=entry))


@router.get("/certificate-numbers/{number}", tags=["certificates"])
def check_number(number: CertNumber, who: Caller = Depends(need("certificate.read"))) -> dict[str, Any]:
    """A certificate number's form: its fields, or what is wrong at which character."""
    return parse_number(number)


class CertificateIssue(BaseModel):
    on: Day | None = Field(None, description="issue date (default today, Beijing)")
    forms: bool = Field(False, description="each certificate takes the next blank form in stock")


@router.post("/sessions/{code}/certificates", tags=["certificates"])
def issue_certificates(
    code: SessionCode, body: CertificateIssue | None = None, who: Caller = Depends(need("certificate.issue"))
) -> list[dict[str, Any]]:
    """Issue certificates to the candidates with released passing results (a second run issues
    only what is new)."""
    body = body or CertificateIssue()
    return certs.issue_certificates(who.bank, code, on=body.on, forms=body.forms)


@router.get("/certificates/{number}", tags=["certificates"])
def show_certificate(number: CertNumber, who: Caller = Depends(need("certificate.read"))) -> dict[str, Any]:
    """The certificate's status now (the reason, what replaced it) and its history across
    reissues. Audited."""
    return certs.check_certificate(who.bank, number)


@router.get("/certificates/{number}/token", tags=["certificates"])
def certificate_token(number: CertNumber, who: Caller = Depends(need("certificate.issue"))) -> dict[str, Any]:
    """The signed QR text of an issued certificate. Audited."""
    return certs.certificate_qr(who.bank, number)


@router.get("/certificates/{number}/pdf", tags=["certificates"])
def certificate_pdf(number: CertNumber, who: Caller = Depends(need("certificate.issue"))) -> Any:
    """The certificate as printed, built in memory. Audited."""
    pdf = certs.certificate_pdf(who.bank, number)
    return download(pdf, f"证书-{number.strip()}.pdf", "application/pdf")


class CertificateReason(BaseModel):
    reason: Reason


@router.post("/certificates/{number}/void", tags=["certificates"])
def void_certificate(
    number: CertNumber, body: CertificateReason, who: Caller = Depends(need("certificate.issue"))
) -> dict[str, Any]:
    """Void a certificate misprinted at issue (作废); its blank form is spoiled."""
    return certs.void_certificate(who.bank, number, body.reason)


class CertificateReissue(BaseModel):
    reason: Reason
    form: text(20, 1) | None = Field(None, description="the blank form the new certificate is printed on")


@router.post("/certificates/{number}/reissue", tags=["certificates"])
def reissue_certificate(
    number: CertNumber, body: CertificateReissue, who: Caller = Depends(need("certificate.issue"))
) -> dict[str, Any]:
    """补发 a lost or damaged certificate under a new number; the old one is replaced."""
    return certs.reissue_certificate(who.bank, number, body.reason, form_serial=body.form)


@router.post("/certificates/{number}/revoke", tags=["certificates"])
def revoke_certificate(
    number: CertNumber, body: CertificateReason, who: Caller = Depends(need("certificate.revoke"))
) -> dict[str, Any]:
    """撤销, as the institution's penalties require (e.g. 考试舞弊被查实)."""
    return certs.revoke_certificate(who.bank, number, body.reason)


# ---------------------------------------------------------------- staff


@router.get("/staff", tags=["staff"])
def list_staff(
    who: Caller = Depends(need("staff.read")),
    role: Annotated[str | None, Q(20)] = None,
    status: Literal["active", "suspended", "revoked"] | None = None,
) -> list[dict[str, Any]]:
    """Examiners, invigilators, chief examiners and supervisors: roles, current card and status."""
    return staff.list_staff(who.bank, role=role, status=status)


@router.get("/staff/{code}", tags=["staff"])
def show_staff(code: StaffCode, who: Caller = Depends(need("staff.read"))) -> dict[str, Any]:
    """One person: masked ID number, cards, training, posts and sanctions. Audited."""
    return staff.show_staff(who.bank, code)
