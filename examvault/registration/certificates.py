"""Certificates (职业技能等级证书): blank-form stock, numbering, issue, void, reissue (补发),
revocation (撤销), the signed QR token, and the ledger (证书台账) that traces every move.

Each public function is one transaction and one audit event. The holder's name, ID number
and gender are sealed like a candidate's personal data; nothing personal goes into the
ledger, the audit log or an error message. Numbers are never reused: a voided, replaced or
revoked number keeps its row and its history.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from examvault.accounts.models import User
from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.crypto.keyring import Keyring
from examvault.crypto.records import open_document, open_fields, row_of, seal_document
from examvault.crypto.signing import VerifyKey
from examvault.crypto.tokens import open_token, sign_token
from examvault.custody.service import institution_signing_key, institution_title
from examvault.db import BEIJING, beijing_today, bulk_insert, utcnow
from examvault.errors import (
    ConfigurationError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    ValidationError,
    check_length,
)
from examvault.registration.certnumber import (
    MAX_SERIAL,
    PREFIX_LENGTH,
    field_problem,
    format_number,
    next_status,
    number_prefix,
    number_problem,
    parse_number,
)
from examvault.registration.identity import gender_of, mask_id
from examvault.registration.models import (
    CANDIDATE_PERSONAL,
    CERTIFICATE_HOLDER,
    Candidate,
    Certificate,
    CertificateEvent,
    CertificateForm,
    ExamPlan,
    ExamSession,
)
from examvault.registration.service import get_session, open_candidate

CERTIFICATE = "certificate"  # the token kind
# Registration review accepts a candidate; issue_certificate also needs them placed in the session.
ELIGIBLE = ("accepted",)
MAX_FORMS = 100_000  # blank forms in one delivery
_FORM_SERIAL = re.compile(r"([A-Za-z0-9-]*?)([0-9]+)")


class CertificateRefused(IntegrityError):
    """The certificate must not be accepted: voided, replaced, revoked, or not in the ledger given."""


_today = beijing_today  # issue dates are days in Beijing


def _reason(reason: str, what: str = "--reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(f"{what} is required: say why, for the ledger")
    return check_length(reason, 400, what)


def _event(session: Session, actor: User, action: str, *, number: str | None = None, form_serial: str | None = None,
           reason: str = "") -> None:  # fmt: skip
    session.add(CertificateEvent(action=action, number=number, form_serial=form_serial, reason=reason[:400],
                                 actor=actor.username, at=utcnow()))  # fmt: skip


# ---------------------------------------------------------------- blank forms (空白证书)


def _form_range(first: str, count: int) -> tuple[str, str, list[str]]:
    """(prefix, last serial, every serial) of `count` consecutive forms from `first`."""
    first = first.strip()
    m = _FORM_SERIAL.fullmatch(first)
    if not m or len(first) > 20:
        raise ValidationError(
            f"form serial {first!r}: expected up to 20 letters, digits or '-' ending in digits, e.g. JX2026000001"
        )
    if not 1 <= count <= MAX_FORMS:
        raise ValidationError(f"--count {count}: a delivery has 1 to {MAX_FORMS} forms")
    prefix, tail = m[1], m[2]
    start, width = int(tail), len(tail)
    if len(str(start + count - 1)) > width:
        raise ValidationError(
            f"{count} forms from {first} run past the {width}-digit numbering of the serials"
        )
    serials = [f"{prefix}{n:0{width}d}" for n in range(start, start + count)]
    return prefix, serials[-1], serials


def receive_forms(bank: Bank, batch: str, first_serial: str, count: int) -> dict[str, Any]:
    """Blank forms with consecutive printed serials enter stock. Overlaps with any serial already
    received are refused whole, naming the first clash."""
    batch = check_length((batch or "").strip(), 40, "batch")
    if not batch:
        raise ValidationError("a delivery of blank forms needs its batch name")
    prefix, last, serials = _form_range(first_serial, count)
    first = serials[0]
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "certificate.issue")
        had = session.scalar(select(func.count()).where(CertificateForm.batch == batch))
        if had:
            raise ConflictError(
                f"batch {batch} was already received ({had} forms); name this delivery differently"
            )
        q = (
            select(CertificateForm.serial)
            .where(CertificateForm.serial >= first, CertificateForm.serial <= last)
            .where(func.length(CertificateForm.serial) == len(first))
            .order_by(CertificateForm.serial)
        )
        wanted = set(serials)
        clash = next((s for s in session.scalars(q) if s in wanted), None)
        if clash is not None:
            raise ConflictError(
                f"blank form {clash} was already received; nothing was received from {first}–{last}"
            )
        now = utcnow()
        bulk_insert(session, CertificateForm.__table__,
                    [{"serial": s, "batch": batch, "status": "stock", "certificate": None, "received_at": now} for s in serials])  # fmt: skip
        _event(session, actor, "forms.received", form_serial=first, reason=f"count {count}")
        audit(
            session,
            actor,
            "certificate.forms.receive",
            "certificate_forms",
            batch,
            first=first,
            last=last,
            count=count,
        )
        return {"batch": batch, "first": first, "last": last, "count": count}


def _form(session: Session, serial: str) -> CertificateForm:
    form = session.get(CertificateForm, serial.strip(), with_for_update=True)
    if form is None:
        raise NotFoundError(
            f"no blank form {serial!r} (forms enter stock with `examvault certificate forms receive`)"
        )
    return form


def spoil_form(bank: Bank, serial: str, reason: str) -> dict[str, Any]:
    """A blank misprinted or damaged before use: stock → spoiled (作废空白证书)."""
    reason = _reason(reason)
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "certificate.issue")
        form = _form(session, serial)
        if form.status != "stock":
            raise ConflictError(f"blank form {form.serial} is {form.status}, not in stock"
                                + (f" (certificate {form.certificate}: void that certificate instead)" if form.certificate else ""))  # fmt: skip
        form.status = "spoiled"
        _event(session, actor, "form.spoiled", form_serial=form.serial, reason=reason)
        audit(session, actor, "certificate.form.spoil", "certificate_form", form.serial, reason=reason)
        return {"serial": form.serial, "batch": form.batch, "status": form.status}


def _use_form(session: Session, serial: str, number: str) -> CertificateForm:
    form = _form(session, serial)
    if form.status != "stock":
        raise ConflictError(f"blank form {form.serial} is {form.status}, not in stock"
                            + (f" (it carries certificate {form.certificate})" if form.certificate else ""))  # fmt: skip
    form.status, form.certificate = "used", number
    return form


def form_stock(bank: Bank) -> list[dict[str, Any]]:
    """Per delivery: first and last serial, and how many forms are in stock, used and spoiled."""
    with bank.transaction() as session:
        bank.actor(session, "certificate.read")
        q = select(CertificateForm.batch, CertificateForm.status, func.count(), func.min(CertificateForm.serial),
                   func.max(CertificateForm.serial), func.min(CertificateForm.received_at)).group_by(
                       CertificateForm.batch, CertificateForm.status)  # fmt: skip
        out: dict[str, dict[str, Any]] = {}
        for batch, status, n, lo, hi, at in session.execute(q):
            row = out.setdefault(batch, {"batch": batch, "first": lo, "last": hi, "received": 0, "stock": 0, "used": 0,
                                         "spoiled": 0, "received_at": at})  # fmt: skip
            row["received"] += n
            row[status] = row.get(status, 0) + n
            row["first"], row["last"] = min(row["first"], lo), max(row["last"], hi)
            row["received_at"] = min(row["received_at"], at)
        rows = sorted(out.values(), key=lambda r: (r["received_at"], r["batch"]))
        return [r | {"received_at": r["received_at"].isoformat(timespec="seconds")} for r in rows]


# ---------------------------------------------------------------- numbering


def numbering(session: Session, exam: ExamSession) -> dict[str, str]:
    """The fixed part of a session's certificate numbers: the plan's evaluation codes and the session's site."""
    if exam.plan_year is None:
        raise ConflictError(f"session {exam.code} belongs to no annual plan; certificate numbers take the evaluation "
                            "institution's codes from the plan (body.evaluation)")  # fmt: skip
    plan = session.get(ExamPlan, exam.plan_year)
    ev = (plan.body or {}).get("evaluation") if plan is not None else None
    if not isinstance(ev, Mapping):
        raise ConflictError(f"plan {exam.plan_year} sets no certificate numbering: its body needs "
                            'evaluation = {"kind": "S" or "Y", "institution_code": "4 digits", "province": "2 digits"}')  # fmt: skip
    given = {"kind": "kind", "institution": "institution_code", "province": "province"}
    config = {field: str(ev.get(key) or "") for field, key in given.items()} | {"site": exam.site_code or ""}
    problems = [
        f"plan {exam.plan_year} evaluation.{key}: {p}"
        for field, key in given.items()
        if (p := field_problem(field, config[field]))
    ]
    if (p := field_problem("site", config["site"])) is not None:
        problems.append(
            f"session {exam.code} site_code: {p}"
            if config["site"]
            else f"session {exam.code} has no 6-digit site code"
        )
    if problems:
        raise ConflictError("cannot number certificates: " + "; ".join(problems))
    return config


def _lock_key(prefix: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"examvault.certificate:{prefix}".encode()).digest()[:8], "big", signed=True
    )


def next_serial(session: Session, prefix: str) -> int:
    """The next serial of `prefix` (the highest ever used + 1, so numbers are never reused).

    On PostgreSQL a transaction-scoped advisory lock on the prefix makes concurrent issues take
    turns until commit, so the second reads the first one's number; SQLite writers are serial
    already. The unique constraint on the number stays the last line."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(prefix)})
    top = session.scalar(select(func.max(Certificate.number)).where(
        Certificate.number >= f"{prefix}000001", Certificate.number <= f"{prefix}{MAX_SERIAL}"))  # fmt: skip
    return int(top[PREFIX_LENGTH:]) + 1 if top else 1


def _allocate(session: Session, config: Mapping[str, str], year: int, level: int) -> str:
    prefix = number_prefix(
        config["kind"], config["institution"], config["province"], config["site"], year, level
    )
    return format_number(config["kind"], config["institution"], config["province"], config["site"], year, level,
                         next_serial(session, prefix))  # fmt: skip


# ---------------------------------------------------------------- issue


def _start_of(day: date) -> datetime:
    """A certificate's issue date is a Beijing calendar date, stored as that day's first instant."""
    return datetime.combine(day, time(0), BEIJING)


def issued_on(cert: Certificate) -> date:
    return cert.issued_at.astimezone(BEIJING).date()


def open_holder(keyring: Keyring, cert: Certificate) -> dict[str, Any]:
    if cert.purged_at is not None:
        raise ConflictError(f"certificate {cert.number}: the holder's personal data was erased (retention) on "
                            f"{cert.purged_at.astimezone(BEIJING).date().isoformat()}")  # fmt: skip
    return open_document(keyring, CERTIFICATE_HOLDER, cert, "holder")


def _holders(session: Session, keyring: Keyring, occupation: str, level: int) -> dict[str, str]:
    """ID number → number of every issued certificate of this occupation and level (opened here only)."""
    q = select(Certificate).where(Certificate.occupation == occupation, Certificate.level == level,
                                  Certificate.status == "issued", Certificate.purged_at.is_(None))  # fmt: skip
    return {
        open_document(keyring, CERTIFICATE_HOLDER, c, "holder")["id_number"]: c.number
        for c in session.scalars(q)
    }


def _new_certificate(session: Session, keyring: Keyring, actor: User, *, number: str, holder: Mapping[str, Any],
                     candidate_id: uuid.UUID | None, session_id: uuid.UUID | None, occupation: str, level: int, on: date,
                     form_serial: str | None, replaces: str | None) -> Certificate:  # fmt: skip
    cid = uuid.uuid4()
    cert = Certificate(id=cid, number=number, candidate_id=candidate_id, session_id=session_id, occupation=occupation,
                       level=level, status="issued", form_serial=form_serial, replaces=replaces, reason="",
                       issued_by=actor.username, issued_at=_start_of(on), version=1,
                       **seal_document(keyring, CERTIFICATE_HOLDER, str(cid), 1, "holder", holder))  # fmt: skip
    session.add(cert)
    return cert


def _check_day(exam: ExamSession, on: date) -> None:
    if on > _today():
        raise ValidationError(
            f"issue date {on.isoformat()} is in the future; a certificate is dated when it is issued"
        )
    if on < exam.exam_date:
        raise ValidationError(
            f"issue date {on.isoformat()} is before session {exam.code}'s exam on {exam.exam_date.isoformat()}"
        )


def issue_certificate(session: Session, actor: User, keyring: Keyring, exam: ExamSession, candidate: Candidate, *, on: date,
                      form_serial: str | None = None, holders: dict[str, str] | None = None) -> Certificate:  # fmt: skip
    """Issue one certificate inside the caller's transaction. Whether the candidate passed is the
    caller's business (`released_passes`); this checks the candidate, numbers the certificate, seals
    the holder, takes the blank form and writes the ledger.

    `holders` (ID number → number, from `_holders`) saves a batch from opening every issued
    certificate again for each candidate; it is updated here."""
    if candidate.session_id != exam.id:
        raise ConflictError(f"candidate {candidate.code} is not placed in session {exam.code}")
    if candidate.status not in ELIGIBLE:
        raise ConflictError(
            f"candidate {candidate.code} is {candidate.status}; certificates go to accepted candidates only"
        )
    if candidate.purged_at is not None:
        raise ConflictError(
            f"candidate {candidate.code}: personal data was erased (retention); no certificate can be made"
        )
    _check_day(exam, on)
    config = numbering(session, exam)
    keyring.pin(session, "personal")
    # The prefix lock comes first: two issues for one candidate then see each other's certificate.
    number = _allocate(session, config, on.year, exam.level)
    # This registration's certificate: held (issued), or taken away (revoked) — neither is issued again.
    # A voided one was a misprint, and a replaced one has its successor (issued, found here).
    held = session.execute(select(Certificate.number, Certificate.status).where(
        Certificate.candidate_id == candidate.id, Certificate.occupation == exam.occupation,
        Certificate.level == exam.level, Certificate.status.in_(("issued", "revoked")))).first()  # fmt: skip
    if held is not None:
        raise ConflictError(f"candidate {candidate.code} already holds certificate {held.number} ({exam.occupation}, "
                            f"level {exam.level})" if held.status == "issued" else
                            f"candidate {candidate.code}: certificate {held.number} ({exam.occupation}, level {exam.level}) "
                            "was revoked; it is not issued again to this registration")  # fmt: skip
    doc = open_candidate(keyring, candidate)
    if holders is None:
        holders = _holders(session, keyring, exam.occupation, exam.level)
    if doc["id_number"] in holders:
        raise ConflictError(f"candidate {candidate.code}: the same person (ID number) already holds certificate "
                            f"{holders[doc['id_number']]} ({exam.occupation}, level {exam.level})")  # fmt: skip
    if form_serial is not None:
        form_serial = _use_form(session, form_serial, number).serial
    holder = {
        "name": doc["name"],
        "id_number": doc["id_number"],
        "gender": doc.get("gender") or gender_of(doc["id_number"]),
    }
    cert = _new_certificate(session, keyring, actor, number=number, holder=holder, candidate_id=candidate.id,
                            session_id=exam.id, occupation=exam.occupation, level=exam.level, on=on,
                            form_serial=form_serial, replaces=None)  # fmt: skip
    session.flush()
    _event(session, actor, "issued", number=number, form_serial=form_serial, reason=f"session {exam.code}")
    holders[doc["id_number"]] = number
    return cert


def released_on(session: Session, exam: ExamSession) -> date | None:
    from examvault.scoring.models import Publicity

    pub = session.get(Publicity, exam.id)
    return pub.released_at.astimezone(BEIJING).date() if pub and pub.released_at else None


def released_passes(session: Session, exam: ExamSession) -> list[Candidate]:
    """The one seam to scoring: the candidates of `exam` whose results are released and passing.
    A certificate is never made on anything less."""
    # Scoring builds on registration, so it is imported here, late.
    from examvault.scoring.results import released_passes as from_results

    return from_results(session, exam)


def issue_certificates(
    bank: Bank, session_code: str, *, on: date | None = None, forms: bool = False
) -> list[dict[str, Any]]:
    """Issue a certificate to every candidate of the session with a released pass, numbered in
    candidate order; with `forms`, each takes the next blank form in stock. Candidates who already
    hold their certificate (or had it revoked) are skipped, so a second run issues only what the
    first did not."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "certificate.issue")
        exam = get_session(session, session_code, lock=True)
        day = on or _today()
        _check_day(exam, day)
        numbering(session, exam)  # refuse before anything is opened
        passes = released_passes(session, exam)
        released = released_on(session, exam)
        if released is not None and day < released:
            raise ValidationError(f"issue date {day.isoformat()} is before the results were released on {released.isoformat()}")
        done = set(session.scalars(select(Certificate.candidate_id).where(
            Certificate.session_id == exam.id, Certificate.status.in_(("issued", "revoked")))))  # fmt: skip
        todo = sorted((c for c in passes if c.id not in done), key=lambda c: c.code)
        blanks: list[str | None] = [None] * len(todo)
        if forms and todo:
            blanks = list(session.scalars(select(CertificateForm.serial).where(CertificateForm.status == "stock")
                                          .order_by(CertificateForm.received_at, CertificateForm.serial).limit(len(todo))
                                          .with_for_update(skip_locked=True)))  # fmt: skip
            if len(blanks) < len(todo):
                raise ConflictError(
                    f"{len(todo)} certificates to issue but {len(blanks)} blank forms in stock; receive more forms first"
                )
        keyring = bank.keyring(session)
        holders = _holders(session, keyring, exam.occupation, exam.level)
        out = []
        for cand, blank in zip(todo, blanks, strict=True):
            cert = issue_certificate(
                session, actor, keyring, exam, cand, on=day, form_serial=blank, holders=holders
            )
            out.append(_summary(cert, exam.code, cand.code))
        audit(session, actor, "certificate.issue", "exam_session", exam.code, count=len(out), skipped=len(passes) - len(todo),
              numbers=[r["number"] for r in out])  # fmt: skip
        return out


# ---------------------------------------------------------------- void, reissue, revoke


def _get(session: Session, number: str, *, lock: bool = False) -> Certificate:
    number = parse_number(number)["number"]
    q = select(Certificate).where(Certificate.number == number)
    cert = session.scalars(q.with_for_update() if lock else q).first()
    if cert is None:
        raise NotFoundError(f"no certificate {number} in this bank")
    return cert


def _summary(cert: Certificate, session_code: str | None, candidate_code: str | None) -> dict[str, Any]:
    return {"number": cert.number, "status": cert.status, "occupation": cert.occupation, "level": cert.level,
            "issued_on": issued_on(cert).isoformat(), "session": session_code, "candidate": candidate_code,
            "form_serial": cert.form_serial, "replaces": cert.replaces, "reason": cert.reason}  # fmt: skip


def _codes(session: Session, cert: Certificate) -> tuple[str | None, str | None]:
    exam = session.get(ExamSession, cert.session_id) if cert.session_id else None
    cand = session.get(Candidate, cert.candidate_id) if cert.candidate_id else None
    return (exam.code if exam else None), (cand.code if cand else None)


def void_certificate(bank: Bank, number: str, reason: str) -> dict[str, Any]:
    """A certificate misprinted at issue (作废): issued → voided, and its blank form is spoiled."""
    reason = _reason(reason)
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "certificate.issue")
        cert = _get(session, number, lock=True)
        cert.status, cert.reason = next_status(cert.status, "void", cert.number), reason
        _event(session, actor, "voided", number=cert.number, form_serial=cert.form_serial, reason=reason)
        if cert.form_serial:
            form = _form(session, cert.form_serial)
            form.status = "spoiled"
            _event(
                session,
                actor,
                "form.spoiled",
                number=cert.number,
                form_serial=form.serial,
                reason=f"voided with the certificate: {reason}",
            )
        audit(
            session,
            actor,
            "certificate.void",
            "certificate",
            cert.number,
            reason=reason,
            form_serial=cert.form_serial,
        )
        return _summary(cert, *_codes(session, cert))


def reissue_certificate(
    bank: Bank, number: str, reason: str, *, form_serial: str | None = None
) -> dict[str, Any]:
    """补发 for a lost or damaged certificate: the old number is replaced, and the same holder gets a
    new number (same institution, province, site and level; this year, the prefix's next serial)."""
    reason = _reason(reason)
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "certificate.issue")
        keyring = bank.keyring(session)
        old = _get(session, number, lock=True)
        old.status, old.reason = next_status(old.status, "reissue", old.number), reason
        holder = open_holder(keyring, old)
        keyring.pin(session, "personal")
        p, day = parse_number(old.number), _today()
        new_number = _allocate(session, {"kind": p["kind"], "institution": p["institution"], "province": p["province"],
                                         "site": p["site"]}, day.year, old.level)  # fmt: skip
        if form_serial is not None:
            form_serial = _use_form(session, form_serial, new_number).serial
        new = _new_certificate(session, keyring, actor, number=new_number, holder=holder, candidate_id=old.candidate_id,
                               session_id=old.session_id, occupation=old.occupation, level=old.level, on=day,
                               form_serial=form_serial, replaces=old.number)  # fmt: skip
        session.flush()
        _event(session, actor, "reissued", number=old.number, form_serial=old.form_serial, reason=reason)
        _event(session, actor, "reissued", number=new.number, form_serial=form_serial, reason=reason)
        audit(
            session,
            actor,
            "certificate.reissue",
            "certificate",
            old.number,
            new=new.number,
            reason=reason,
            form_serial=form_serial,
        )
        return _summary(new, *_codes(session, new)) | {"replaced": old.number}


def revoke_certificate(bank: Bank, number: str, reason: str) -> dict[str, Any]:
    """撤销, as the institution's penalties require (e.g. 考试舞弊被查实): issued → revoked, with the reason."""
    reason = _reason(reason)
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "certificate.revoke")
        cert = _get(session, number, lock=True)
        cert.status, cert.reason = next_status(cert.status, "revoke", cert.number), reason
        _event(session, actor, "revoked", number=cert.number, form_serial=cert.form_serial, reason=reason)
        audit(session, actor, "certificate.revoke", "certificate", cert.number, reason=reason)
        return _summary(cert, *_codes(session, cert))


# ---------------------------------------------------------------- tokens and checks


def certificate_token(session: Session, keyring: Keyring, cert: Certificate) -> str:
    """The QR text printed on the certificate, signed by the institution: number, occupation, level,
    issue date and the holder's name as printed, the ID number masked. Ed25519 is deterministic,
    so the same certificate always gives the same token."""
    if cert.status != "issued":
        raise ConflictError(
            f"certificate {cert.number} is {cert.status}; only an issued certificate carries a token"
        )
    holder = open_holder(keyring, cert)
    payload = {"number": cert.number, "occupation": cert.occupation, "level": cert.level,
               "issued_on": issued_on(cert).isoformat(), "name": holder["name"],
               "id_number_masked": mask_id(holder["id_number"]), "replaces": cert.replaces}  # fmt: skip
    return sign_token(institution_signing_key(session, keyring), CERTIFICATE, payload)


def _ledger_entry(ledger: Mapping[str, Any], number: str) -> Mapping[str, Any]:
    if "status" in ledger and "number" in ledger:  # one `check_certificate` result
        if ledger["number"] != number:
            raise ValidationError(
                f"the ledger entry given is for certificate {ledger['number']}, not {number}"
            )
        return ledger
    entry = ledger.get(number)  # number → `check_certificate` result
    if not isinstance(entry, Mapping):
        raise CertificateRefused(f"certificate {number} is not in the ledger given")
    return entry


def verify_certificate(
    token: str, trusted: VerifyKey, *, ledger: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The offline check of a certificate's QR text: signed by `trusted`, a certificate token, a
    well-formed number; with `ledger` (a `check_certificate` result, or number → result) the
    certificate must still be issued there. Without it the result says status was not checked."""
    payload = open_token(trusted, token, CERTIFICATE)
    number = str(payload.get("number", ""))
    if (problem := number_problem(number)) is not None:
        raise IntegrityError(f"the token's certificate number is malformed: {problem}")
    result = {
        k: payload.get(k)
        for k in ("number", "occupation", "level", "issued_on", "name", "id_number_masked", "replaces")
    }
    result |= {"signer": payload.get("signer"), "status_checked": False}
    if ledger is not None:
        entry = _ledger_entry(ledger, number)
        status = entry.get("status")
        if status != "issued":
            why = f": {entry['reason']}" if entry.get("reason") else ""
            by = f"; replaced by {entry['replaced_by']}" if entry.get("replaced_by") else ""
            raise CertificateRefused(f"certificate {number} is {status}{why}{by}")
        result |= {"status": "issued", "status_checked": True}
    return result


def _chain(session: Session, cert: Certificate) -> list[str]:
    """The numbers linked by reissue, oldest first: what it replaced, and what replaced it."""
    back, n = [], cert.replaces
    while n and n not in back:
        back.append(n)
        n = session.scalar(select(Certificate.replaces).where(Certificate.number == n))
    forward, n = [], cert.number
    while (
        n := session.scalar(select(Certificate.number).where(Certificate.replaces == n))
    ) and n not in forward:
        forward.append(n)
    return [*reversed(back), cert.number, *forward]


def _event_row(e: CertificateEvent) -> dict[str, Any]:
    return {"id": e.id, "action": e.action, "number": e.number, "form_serial": e.form_serial, "reason": e.reason,
            "actor": e.actor, "at": e.at.isoformat(timespec="seconds")}  # fmt: skip


def check_certificate(bank: Bank, number: str) -> dict[str, Any]:
    """The online check: the certificate's status now (with the reason, and the number that replaced
    it) and its history from the ledger, across every reissue."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "certificate.read")
        cert = _get(session, number)
        chain = _chain(session, cert)
        after = chain[chain.index(cert.number) + 1 :]
        history = session.scalars(
            select(CertificateEvent).where(CertificateEvent.number.in_(chain)).order_by(CertificateEvent.id)
        )
        audit(session, actor, "certificate.check", "certificate", cert.number)
        return _summary(cert, *_codes(session, cert)) | {
            "replaced_by": after[0] if after else None,
            "chain": chain,
            "history": [_event_row(e) for e in history],
        }


def certificate_qr(bank: Bank, number: str) -> dict[str, Any]:
    """The signed QR text of an issued certificate (for a reprint or an online display)."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "certificate.issue")
        cert = _get(session, number)
        token = certificate_token(session, bank.keyring(session), cert)
        audit(session, actor, "certificate.token", "certificate", cert.number)
        return {"number": cert.number, "token": token}


def certificate_document(session: Session, keyring: Keyring, cert: Certificate) -> dict[str, Any]:
    """What the printed certificate shows: the dict `documents.render_certificate` takes."""
    from examvault.itembank.domain import LEVEL_NAMES
    from examvault.itembank.models import Occupation

    holder = open_holder(keyring, cert)
    token = certificate_token(session, keyring, cert)
    photo = None
    cand = session.get(Candidate, cert.candidate_id) if cert.candidate_id else None
    if cand is not None and cand.photo is not None and cand.purged_at is None:
        photo = open_fields(keyring, CANDIDATE_PERSONAL, row_of(CANDIDATE_PERSONAL, cand), ("photo",))[
            "photo"
        ]
    name = session.scalar(select(Occupation.name).where(Occupation.code == cert.occupation))
    return {"number": cert.number, "name": holder["name"], "gender": holder.get("gender", ""),
            "id_number": holder["id_number"], "occupation": cert.occupation, "occupation_name": name or cert.occupation,
            "level": cert.level, "level_name": LEVEL_NAMES[cert.level], "issued_on": issued_on(cert).isoformat(),
            "institution": institution_title(session), "photo": photo, "token": token, "form_serial": cert.form_serial}  # fmt: skip


def certificate_pdf(bank: Bank, number: str) -> bytes:
    """The certificate as printed, rendered by registration.documents."""
    try:
        from examvault.registration.documents import render_certificate
    except ModuleNotFoundError as exc:
        if exc.name != "examvault.registration.documents":
            raise
        raise ConfigurationError(
            "certificate rendering (examvault.registration.documents) is not installed"
        ) from None
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "certificate.issue")
        cert = _get(session, number)
        pdf = render_certificate(certificate_document(session, bank.keyring(session), cert))
        audit(session, actor, "certificate.pdf", "certificate", cert.number)
        return pdf


# ---------------------------------------------------------------- listings


def list_certificates(
    bank: Bank, *, session_code: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Certificates by number, without personal data: the holder is named by the candidate code."""
    from examvault.registration.certnumber import STATUSES

    if status is not None and status not in STATUSES:
        raise ValidationError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    with bank.transaction() as session:
        bank.actor(session, "certificate.read")
        q = (
            select(Certificate, ExamSession.code, Candidate.code)
            .outerjoin(ExamSession, ExamSession.id == Certificate.session_id)
            .outerjoin(Candidate, Candidate.id == Certificate.candidate_id)
            .order_by(Certificate.number)
        )
        if session_code is not None:
            q = q.where(Certificate.session_id == get_session(session, session_code).id)
        if status is not None:
            q = q.where(Certificate.status == status)
        rows = session.execute(q).all()
        replaced_by = dict(
            session.execute(
                select(Certificate.replaces, Certificate.number).where(Certificate.replaces.is_not(None))
            ).all()
        )
        return [_summary(c, s, k) | {"replaced_by": replaced_by.get(c.number)} for c, s, k in rows]


def ledger(bank: Bank, *, number: str | None = None, serial: str | None = None) -> list[dict[str, Any]]:
    """The ledger (证书台账), oldest first. For a number: every event of it and of the numbers
    linked to it by reissue. For a blank form: its delivery and every event naming it."""
    with bank.transaction() as session:
        bank.actor(session, "certificate.read")
        q = select(CertificateEvent).order_by(CertificateEvent.id)
        if number is not None:
            q = q.where(CertificateEvent.number.in_(_chain(session, _get(session, number))))
        if serial is not None:
            form = session.get(CertificateForm, serial.strip())
            if form is None:
                raise NotFoundError(f"no blank form {serial!r}")
            first = session.scalar(
                select(func.min(CertificateForm.serial)).where(CertificateForm.batch == form.batch)
            )
            q = q.where(or_(CertificateEvent.form_serial == form.serial,
                            (CertificateEvent.action == "forms.received") & (CertificateEvent.form_serial == first)))  # fmt: skip
        return [_event_row(e) for e in session.scalars(q)]
