"""Sealing a paper, its marking key or an electronic paper into a package: the bank side. One action each.

The documents are rendered in memory and go straight into the encrypted payload: no
plaintext file is written on the custodian's machine by sealing.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shamir_mnemonic import MnemonicError
from shamir_mnemonic.share import Share
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.assembly.models import Paper
from examvault.assembly.service import paper_by_ref, paper_digest
from examvault.bank import Bank
from examvault.crypto import age, shares
from examvault.crypto.models import Party
from examvault.crypto.parties import RECEIVES, party, write_private
from examvault.crypto.signing import VerifyKey
from examvault.custody.service import institution_signing_key, institution_verify_key, record, sign_checkpoint
from examvault.db import utcnow
from examvault.errors import ConflictError, UnlockError, ValidationError
from examvault.export import package as fmt
from examvault.export.document import DocItem, PaperDocument
from examvault.export.models import Package
from examvault.export.recipient import read_file, write_files
from examvault.export.service import render_files
from examvault.itembank import domain


@dataclass(frozen=True)
class RoomCopies:
    site: str
    room: str
    copies: int


def copies_doc(rooms: list[RoomCopies], spares: int) -> dict[str, Any]:
    if spares < 0 or any(r.copies < 1 for r in rooms):
        raise ValidationError("copies per room must be at least 1 and spares at least 0")
    seen = set()
    for r in rooms:
        if (r.site, r.room) in seen:
            raise ValidationError(f"--copies names {r.site}/{r.room} twice")
        seen.add((r.site, r.room))
    return {"rooms": [{"site": r.site, "room": r.room, "copies": r.copies} for r in rooms], "spares": spares,
            "total": sum(r.copies for r in rooms) + spares}  # fmt: skip


def _signed_approvals(session: Session, paper: Paper) -> list[dict[str, Any]]:
    """The approvals that carry a valid signature, by a registered approver key, over this very paper."""
    digest = paper_digest(paper)
    message = fmt.approval_message(paper.code, digest)
    out, problems = [], []
    for a in paper.approvals:
        registered = session.scalars(select(Party).where(Party.name == a.approver, Party.role == "approver")).first()
        if a.signature is None or registered is None:
            problems.append(f"{a.approver} approved without a signature (approve again with --sign-key)")
            continue
        vk = VerifyKey.parse(registered.verify_key)
        if a.paper_digest != digest or not vk.verify("approval", message, a.signature):
            problems.append(f"{a.approver}'s signature is not over the paper as it is now")
            continue
        out.append({"approver": a.approver, "verify_key": str(vk), "signature": a.signature})
    if len({e["verify_key"] for e in out}) < fmt.APPROVALS_NEEDED:
        raise ConflictError(
            f"paper {paper.code} needs {fmt.APPROVALS_NEEDED} signed approvals by distinct approvers to be sealed; "
            + ("; ".join(problems) if problems else f"it has {len(out)}")
        )
    return out


def _marking_points(item: DocItem) -> dict[str, list[float]]:
    """A subjective item's 评分要点 as numbers, for marks entered point by point; one point of the whole
    item when the rubric does not add up to the item's points."""
    if item.type not in domain.SUBJECTIVE_TYPES:
        return {}
    points = [float(p) for p in domain.rubric_points(item.analysis)]
    return {"marking_points": points if points and abs(sum(points) - item.points) < 1e-9 else [float(item.points)],
            "rubric": item.analysis}  # the 评分要点 as written, for the marking screen


def _key_json(doc: PaperDocument) -> bytes:
    """The marking key for machines (scoring imports it): every numbered item's answer as printed on this form."""
    items = [{"number": i.number, "position": i.position, "type": i.type, "points": i.points, "answer": i.answer,
              "options": len(i.options), **_marking_points(i), **({"partial": s.partial} if s.partial and i.type == "多选" else {})}
             for s in doc.sections for i in s.items if i.number is not None]  # fmt: skip
    return json.dumps({"paper": doc.code, "form": doc.form, "total_points": doc.total_points, "items": items},
                      ensure_ascii=False, indent=1).encode()  # fmt: skip


def _files_for(bank: Bank, code: str, kind: str) -> dict[str, bytes]:
    """Rendered in memory: the paper and its answer sheet for printers and sites; the key documents for examiners."""
    if kind == "marking-key":
        doc, files = render_files(bank, code, parts=("key",))
        files[f"{doc.code}_key.json"] = _key_json(doc)
        return files
    return render_files(bank, code, parts=("paper", "sheet"))[1]


def seal_package(
    bank: Bank,
    ref: str,
    *,
    kind: str,
    to: list[str],
    not_before: datetime,
    expires: datetime,
    out_dir: Path,
    rooms: list[RoomCopies] | None = None,
    spares: int = 0,
    release: tuple[int, int] | None = None,
    shares_dir: Path | None = None,
    officers: list[str] | None = None,
) -> dict[str, Any]:
    if kind not in fmt.KINDS:
        raise ValidationError(f"--kind {kind!r}: kinds are {', '.join(fmt.KINDS)}")
    if not to:
        raise ValidationError("name at least one recipient (--to)")
    if expires <= not_before:
        raise ValidationError("--expires must be after the package may be opened (--not-before / --exam-end)")
    if (kind == "electronic") != (release is not None):
        raise ValidationError("an electronic paper needs --release K-of-N, and only an electronic paper takes it")
    if release is not None and shares_dir is None:
        raise ValidationError("--release needs --shares-out DIR for the officers' share files")
    if officers and (release is None or len(officers) != release[1] or len(set(officers)) != len(officers)):
        raise ValidationError(f"name one distinct --officer per share: --release {release[0] if release else 'K'}-of-N needs N officers")
    copies = copies_doc(rooms or [], spares)
    package_id = uuid.uuid4()
    not_before, expires = not_before.replace(microsecond=0), expires.replace(microsecond=0)  # the package says seconds
    # Step 1, on record before anything is decrypted: who seals what, to whom.
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "paper.seal")
        paper = paper_by_ref(session, ref)
        if paper.status not in ("approved", "sealed"):
            raise ConflictError(f"paper {paper.code} is {paper.status}; only an approved paper can be sealed")
        approvals = _signed_approvals(session, paper)
        recipients = []
        for name in dict.fromkeys(to):
            p = party(session, name, RECEIVES[kind])
            assert p.age_recipient is not None
            recipients.append({"party": p.name, "role": p.role, "fingerprint": fmt.fingerprint(p.age_recipient), "recipient": p.age_recipient})
        version = (session.scalar(select(func.max(Package.version)).where(Package.paper_id == paper.id, Package.kind == kind)) or 0) + 1
        officer_recipients = [(o, party(session, o, ("officer",)).age_recipient) for o in officers or []]
        issuer = institution_signing_key(session, bank.keyring(session))
        code, form, title = paper.code, paper.form, paper.blueprint.title
        paper_doc = {"id": str(paper.id), "code": code, "form": form, "title": title, "digest": paper_digest(paper)}
        audit(session, user, "package.seal", "paper", code, package=str(package_id), kind=kind, version=version, to=[r["party"] for r in recipients])
    files = _files_for(bank, code, kind)
    common = {"package_id": str(package_id), "kind": kind, "version": version, "not_before": fmt.utc_text(not_before),
              "expires": fmt.utc_text(expires), "issuer": issuer.name, "sealed_at": fmt.utc_text(utcnow())}  # fmt: skip
    public_recipients = [{k: r[k] for k in ("party", "role", "fingerprint")} for r in recipients]
    release_key = secrets.token_bytes(32) if release else None
    release_doc = {"threshold": release[0], "shares": release[1], "officers": list(officers or [])} if release else None
    manifest = common | {"paper": paper_doc, "recipients": public_recipients, "copies": copies, "approvals": approvals, "release": release_doc}
    outer = common | {"paper": code, "form": form, "recipients": [{"party": r["party"], "fingerprint": r["fingerprint"]} for r in recipients],
                      "release": release_doc}  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{code}_{kind}_v{version}.evp"
    partial = path.with_name(path.name + ".partial")
    share_files: list[Path] = []
    try:
        out = open(partial, "xb")  # noqa: SIM115 - closed by the with below; a file of another seal is never touched
    except FileExistsError:
        raise ConflictError(f"{partial} exists: another seal of {code} is running, or one was interrupted (delete the file)") from None
    try:
        with out:
            # An electronic paper opens only with the officers' shares: its site holds no key to it alone.
            age_recipients = [] if kind == "electronic" else [age.Recipient.parse(r["recipient"]) for r in recipients]
            sealed = fmt.seal(out, issuer=issuer, outer=outer, manifest=manifest, files=files,
                              recipients=age_recipients, release_key=release_key)  # fmt: skip
        if release_key and release and shares_dir:
            share_files = _write_shares(shares_dir, code, version, package_id, release_key, release, officer_recipients)
        # Step 2: the package goes on record, and into the custody log, only once its file exists.
        with bank.transaction(write=True) as session:
            user = bank.actor(session, "paper.seal")
            paper = paper_by_ref(session, code)
            pkg = Package(id=package_id, paper_id=paper.id, kind=kind, version=version, recipients=public_recipients,
                          not_before=not_before, expires=expires, copies=copies, files=sealed.files,
                          manifest_sha256=sealed.manifest_sha256, payload_sha256=sealed.payload_sha256, bytes=sealed.bytes,
                          release=release_doc, created_by=user.username)  # fmt: skip
            session.add(pkg)
            if paper.status == "approved" and kind != "marking-key":
                paper.status = "sealed"
            session.flush()
            details = {"kind": kind, "version": version, "to": [r["party"] for r in recipients], "manifest_sha256": sealed.manifest_sha256}
            record(bank, session, "package.sealed", user.username, paper=code, package=str(package_id), details=details | {"copies": copies["total"]})
            record(bank, session, "package.exported", user.username, paper=code, package=str(package_id),
                   details={"file": path.name, "bytes": sealed.bytes, "payload_sha256": sealed.payload_sha256})  # fmt: skip
            note = sign_checkpoint(bank, session)
        os.replace(partial, path)
    except SAIntegrityError:
        partial.unlink(missing_ok=True)
        for share in share_files:
            share.unlink(missing_ok=True)
        raise ConflictError(f"{code} was sealed as {kind} v{version} by someone else meanwhile; nothing was kept, run the command again") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        for share in share_files:  # shares of a package that was never recorded would open nothing
            share.unlink(missing_ok=True)
        raise
    return {"package": str(package_id), "paper": code, "kind": kind, "version": version, "file": str(path), "bytes": sealed.bytes,
            "to": [r["party"] for r in recipients], "not_before": common["not_before"], "expires": common["expires"],
            "copies": copies["total"], "payload_sha256": sealed.payload_sha256, "share_files": [str(p) for p in share_files],
            "checkpoint": note}  # fmt: skip


def _write_shares(out_dir: Path, code: str, version: int, package_id: uuid.UUID, key: bytes, release: tuple[int, int],
                  officers: list[tuple[str, str | None]]) -> list[Path]:  # fmt: skip
    """One file per officer. Named officers get their share age-encrypted to their own recipient, so a
    share file read in transit reveals nothing; without officers the files are plain, mode 0600."""
    threshold, count = release
    mnemonics = shares.split(key, count, threshold)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{code}_v{version}_release-share"
    paths = [out_dir / (f"{stem}-{i}-of-{count}_{officers[i - 1][0]}.txt.age" if officers else f"{stem}-{i}-of-{count}.txt")
             for i in range(1, count + 1)]  # fmt: skip
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise ConflictError(f"{existing[0]} already exists; release shares are never overwritten")
    for i, (path, words) in enumerate(zip(paths, mnemonics, strict=True), start=1):
        text = f"# examvault release share {i} of {count}, threshold {threshold}, package {package_id} ({code} v{version})\n{words}\n"
        write_private(path, age.encrypt(text.encode(), [age.Recipient.parse(str(officers[i - 1][1]))]) if officers else text.encode())
    return paths


def read_share(path: Path, identities: list[age.Identity]) -> shares.ShareText:
    """A share file as an officer presents it: plain, or age-encrypted to them (opened with their identity)."""
    data = read_file(path, "share")
    if data.startswith(age.VERSION_LINE):
        try:
            data = age.decrypt(data, identities)
        except age.NoIdentityMatches:
            raise UnlockError(f"{path.name} is encrypted to its officer: give that officer's identity (--identity officer.age-key)") from None
        except age.AgeError:
            raise UnlockError(f"{path.name} is damaged: it does not decrypt") from None
    return shares.ShareText(str(path), data.decode("utf-8", "replace"))


def list_packages(bank: Bank, paper: str | None = None) -> list[dict[str, Any]]:
    with bank.transaction() as session:
        bank.actor(session, "paper.list")
        q = select(Package, Paper.code).join(Paper, Paper.id == Package.paper_id).order_by(Package.created_at)
        if paper:
            q = q.where(Paper.code == paper_by_ref(session, paper).code)
        return [{"package": str(p.id), "paper": code, "kind": p.kind, "version": p.version, "to": [r["party"] for r in p.recipients],
                 "not_before": fmt.utc_text(p.not_before), "expires": fmt.utc_text(p.expires), "bytes": p.bytes,
                 "copies": p.copies.get("total", 0), "created_by": p.created_by, "created_at": p.created_at.isoformat()}
                for p, code in session.execute(q)]  # fmt: skip


def release_package(bank: Bank, path: Path, share_texts: list[shares.ShareText], out_dir: Path, *, now: datetime | None = None) -> dict[str, Any]:
    """Open an electronic paper with K officers' shares. Every share presented goes into the custody log first,
    in its own transaction, so an attempt that fails is on record too."""
    data = read_file(path, "package")
    with bank.transaction() as session:
        bank.actor(session, "package.release")
        trusted = institution_verify_key(session)
    outer = fmt.verify(data, trusted)
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "package.release")
        for item in share_texts:
            try:
                share = Share.from_mnemonic(shares.mnemonic_of(item.text))
                facts: dict[str, Any] = {"share": share.index + 1, "set": share.identifier, "well_formed": True}
            except MnemonicError:
                facts = {"share": None, "well_formed": False}
            record(bank, session, "release.share-presented", user.username, paper=outer.doc["paper"], package=outer.package_id,
                   details=facts | {"file": Path(item.label).name})  # fmt: skip
        audit(session, user, "package.release.attempt", "package", outer.package_id, shares=len(share_texts))
    fmt.check_window(outer.doc, now or utcnow())
    key = shares.combine(share_texts, purpose="release this package")
    opened = fmt.open_package(data, trusted=trusted, now=now or utcnow(), release_key=key)
    files = write_files(opened, out_dir)
    with bank.transaction(write=True) as session:
        user = bank.actor(session, "package.release")
        record(bank, session, "release.opened", user.username, paper=outer.doc["paper"], package=outer.package_id,
               details={"shares": len(share_texts), "out": str(out_dir)})  # fmt: skip
        sign_checkpoint(bank, session)
    return {"package": outer.package_id, "paper": outer.doc["paper"], "released": True, "files": files}
