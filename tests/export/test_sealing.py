"""Sealed packages end to end: sealing in the bank, opening on the recipient's side, receipts, release.

docs/package-format.md is the spec. The bank side is `examvault.export.sealing`; the recipient
side (`examvault.export.recipient`) needs no bank, only its own keys and the institution's
verifier key. Papers are kept small (16 items) because every seal renders the paper.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from examvault.accounts.service import add_user
from examvault.assembly.models import PaperApproval
from examvault.assembly.service import approve_paper, assemble, paper_by_ref, paper_digest, show_paper
from examvault.bank import Bank
from examvault.crypto import age
from examvault.crypto.parties import add_party
from examvault.crypto.shares import ShareText, mnemonic_of
from examvault.crypto.signing import SigningKey, VerifyKey
from examvault.custody.events import new_event, sign_event, signed_bytes
from examvault.custody.proofs import verify_doc
from examvault.custody.service import (
    append_statement,
    inclusion_proof,
    institution_key,
    list_events,
    verify_log,
)
from examvault.db import utcnow
from examvault.errors import (
    ConflictError,
    ExamvaultError,
    IntegrityError,
    NotFoundError,
    PermissionDenied,
    UnlockError,
    ValidationError,
)
from examvault.export.models import Package
from examvault.export.package import PackageRejected, approval_message, fingerprint
from examvault.export.recipient import open_file, receipt, verify_file
from examvault.export.sealing import RoomCopies, list_packages, release_package, seal_package
from examvault.export.service import render_files
from examvault.itembank.service import import_items
from tests.assembly.test_service import _blueprint, _items
from tests.conftest import write_json

KEY_SUFFIX = "_标准答案及评分标准."


@dataclass
class Holder:
    """A party outside the bank: its age identity (as a key file on its machine) and its signing key."""

    name: str
    identity: age.Identity
    key: SigningKey
    identity_file: Path


@dataclass
class Sealable:
    bank: Callable[..., Bank]
    tmp: Path
    paper: dict[str, Any]  # form A: approved by appr and appr2, both with registered keys
    other: dict[str, Any]  # form B: still a draft
    approvers: dict[str, SigningKey]
    printer: Holder
    examiner: Holder
    trusted: VerifyKey
    marker: str  # in every item stem: plaintext that must never leave the bank outside a package
    now: datetime

    @property
    def code(self) -> str:
        return str(self.paper["code"])

    def holder(self, name: str, role: str) -> Holder:
        identity, key = age.Identity.generate(), SigningKey.generate(name)
        keys = self.tmp / "keys"
        keys.mkdir(exist_ok=True)
        path = keys / f"{name}.age-key"
        path.write_text(identity.file_text(), "utf-8")
        add_party(self.bank("admin"), name, role, recipient=str(identity.recipient()), verify_key=str(key.verify_key))
        return Holder(name, identity, key, path)

    def seal(self, ref: str | None = None, *, kind: str = "paper", to: tuple[str, ...] = ("printer-1",), user: str = "cust",
             not_before: datetime | None = None, expires: datetime | None = None, out_dir: Path | None = None,
             **kw: Any) -> dict[str, Any]:  # fmt: skip
        return seal_package(self.bank(user), ref or str(self.paper["id"]), kind=kind, to=list(to),
                            not_before=not_before or self.now - timedelta(hours=1), expires=expires or self.now + timedelta(days=7),
                            out_dir=out_dir or self.tmp / "packages", **kw)  # fmt: skip

    def open(self, path: str | Path, out: str, *, who: Holder | None = None, state: str = "state.json",
             now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
        holder = who or self.printer
        return open_file(Path(path), identity=holder.identity_file, trusted=self.trusted, out_dir=self.tmp / out,
                         state=self.tmp / state, now=now)  # fmt: skip

    def status(self, ref: str | None = None) -> str:
        return str(show_paper(self.bank("cust"), ref or str(self.paper["id"]))["status"])


@pytest.fixture
def sealable(make_bank: Callable[..., Bank], tmp_path: Path) -> Sealable:
    return make_sealable(make_bank, tmp_path)


OBJECTIVE_SECTIONS = [{"type": "判断", "count": 4, "points": 1}, {"type": "单选", "count": 8, "points": 1}, {"type": "多选", "count": 4, "points": 2}]


def make_sealable(make_bank: Callable[..., Bank], tmp_path: Path, *, subjective: int = 0, partial: float | None = None) -> Sealable:
    """Form A of a 20-point paper (4 判断, 8 单选, 4 多选), approved with signatures; with `subjective`,
    that many 5-point 简答 (marking points 3 + 2) follow; with `partial`, 多选 gives that fraction for a correct subset."""
    marker = f"封存明文标记{uuid.uuid4().hex[:10]}"
    with make_bank("admin").transaction() as s:
        add_user(s, "appr2", ["approver"], "吴敏")
    rows = _items(3, {"判断": 40, "单选": 60, "多选": 16, **({"简答": 3 * subjective} if subjective else {})})
    for row in rows:
        row["题干"] = marker + row["题干"]
    stock = write_json(tmp_path / "stock.json", rows)
    import_items(make_bank("cust"), stock, activate=True)
    stock.unlink()  # the user's own file; it is not the bank's to keep
    sections = [dict(x) for x in OBJECTIVE_SECTIONS] + ([{"type": "简答", "count": subjective, "points": 5}] if subjective else [])
    if partial is not None:
        sections[2]["partial"] = partial
    blueprint = _blueprint(tmp_path, forms=["A", "B"], total_points=20 + 5 * subjective, max_overlap=0.5, sections=sections,
                           **({"allow_subjective": True} if subjective else {}))  # fmt: skip
    paper, other = assemble(make_bank("cust"), str(blueprint), seed=5)
    approvers = {}
    for name in ("appr", "appr2"):
        approvers[name] = SigningKey.generate(name)
        add_party(make_bank("admin"), name, "approver", recipient=None, verify_key=str(approvers[name].verify_key))
        approve_paper(make_bank(name), paper["id"], signer=approvers[name])
    trusted = VerifyKey.parse(institution_key(make_bank("cust")))
    handles: dict[str, Bank] = {}

    def bank(user: str = "cust") -> Bank:  # one handle per user: each new one would unlock the bank again
        if user not in handles:
            handles[user] = make_bank(user)
        return handles[user]

    s = Sealable(bank, tmp_path, paper, other, approvers, None, None, trusted, marker, utcnow().replace(microsecond=0))  # type: ignore[arg-type]
    s.printer = s.holder("printer-1", "printer")
    s.examiner = s.holder("examiner-1", "examiner")
    assert s.status() == "approved" and s.status(other["id"]) == "draft"
    return s


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _package_rows(bank: Bank) -> int:
    with bank.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Package)) or 0)


def _events(bank: Bank, **kw: Any) -> list[dict[str, Any]]:
    return list_events(bank, **kw)


def _zip_parts(data: bytes) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


# ---------------------------------------------------------------- 1. sealing a paper for the printer


def test_sealed_paper_is_listed_logged_and_opens_to_the_rendered_files(sealable: Sealable) -> None:
    s, cust = sealable, sealable.bank("cust")
    rooms = [RoomCopies("第一中学", "第1考场", 30), RoomCopies("第一中学", "第2考场", 28)]
    r = s.seal(rooms=rooms, spares=4)
    path = Path(r["file"])
    assert path.parent == s.tmp / "packages" and path.suffix == ".evp" and path.is_file()
    assert _files_in(s.tmp / "packages") == [path.name]  # no .partial left behind
    assert (r["paper"], r["kind"], r["version"], r["to"], r["copies"]) == (s.code, "paper", 1, ["printer-1"], 62)
    assert r["bytes"] == path.stat().st_size

    listed = list_packages(cust)
    assert [(p["package"], p["paper"], p["kind"], p["version"], p["to"], p["copies"], p["bytes"]) for p in listed] == [
        (r["package"], s.code, "paper", 1, ["printer-1"], 62, r["bytes"])
    ]
    assert list_packages(cust, paper=s.code) == listed and list_packages(cust, paper=s.other["code"]) == []
    assert s.status() == "sealed"

    events = _events(cust, package=r["package"])
    assert [e["type"] for e in events] == ["package.sealed", "package.exported"]
    sealed_ev, exported_ev = events
    assert sealed_ev["paper"] == exported_ev["paper"] == s.code and sealed_ev["actor"] == "cust"
    assert sealed_ev["details"]["to"] == ["printer-1"] and sealed_ev["details"]["copies"] == 62
    assert (sealed_ev["details"]["kind"], sealed_ev["details"]["version"]) == ("paper", 1)
    assert exported_ev["details"] == {"file": path.name, "bytes": r["bytes"], "payload_sha256": r["payload_sha256"]}
    for e in events:  # spec §3: events the bank records itself are signed by the institution key
        assert [s.trusted.verify("custody-event", signed_bytes(e), sig) for sig in e["signatures"]] == [True], e["type"]

    courier = verify_file(path, s.trusted)  # what a courier learns without opening it
    assert courier["payload_sha256"] == r["payload_sha256"] and courier["package_id"] == r["package"]
    assert courier["recipients"] == [{"party": "printer-1", "fingerprint": fingerprint(s.printer.identity.recipient())}]
    assert s.marker not in json.dumps(courier, ensure_ascii=False)

    opened = s.open(path, "printer-out")
    assert opened["package"] == r["package"] and sorted(opened["approved_by"]) == ["appr", "appr2"]
    assert opened["copies"]["total"] == 62 and opened["copies"]["spares"] == 4
    out = s.tmp / "printer-out"
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    listed_files = {f["name"]: f for f in manifest["files"]}
    assert set(_files_in(out)) == set(listed_files) | {"manifest.json"}
    for name, entry in listed_files.items():
        data = (out / name).read_bytes()
        assert (len(data), _sha(data)) == (entry["bytes"], entry["sha256"]), name

    _doc, rendered = render_files(cust, s.code)
    expected = {n for n in rendered if KEY_SUFFIX not in n}
    assert set(listed_files) == expected  # the paper, answer sheet and its map; never the marking key
    assert {f"{s.code}_试卷.pdf", f"{s.code}_试卷.docx", f"{s.code}_答题卡.pdf", f"{s.code}_答题卡.json"} == expected
    for name in expected:  # rendering is deterministic, so the package holds exactly what the bank renders…
        if name.endswith(".docx"):  # …except the zip timestamps of a .docx: compare its parts instead
            assert _zip_parts((out / name).read_bytes()) == _zip_parts(rendered[name]), name
        else:
            assert (out / name).read_bytes() == rendered[name], name

    with cust.transaction() as session:
        digest = paper_digest(paper_by_ref(session, s.code))
    assert manifest["paper"]["digest"] == digest and manifest["paper"]["code"] == s.code
    assert manifest["recipients"] == [{"party": "printer-1", "role": "printer", "fingerprint": fingerprint(s.printer.identity.recipient())}]
    assert manifest["copies"]["rooms"] == [{"site": "第一中学", "room": "第1考场", "copies": 30}, {"site": "第一中学", "room": "第2考场", "copies": 28}]
    for a in manifest["approvals"]:
        vk = s.approvers[a["approver"]].verify_key
        assert a["verify_key"] == str(vk) and vk.verify("approval", approval_message(s.code, digest), a["signature"])

    from docx import Document
    from pypdf import PdfReader

    pdf_text = "".join(page.extract_text() for page in PdfReader(out / f"{s.code}_试卷.pdf").pages)
    assert s.code in pdf_text and "样卷" not in pdf_text  # an approved paper, not a draft
    docx_text = "\n".join(p.text for p in Document(str(out / f"{s.code}_试卷.docx")).paragraphs)
    assert s.marker in docx_text


@pytest.mark.skipif(shutil.which("age") is None, reason="no age binary")
def test_the_standard_age_tool_opens_a_sealed_package(sealable: Sealable) -> None:
    s = sealable
    r = s.seal()
    plain = subprocess.run([shutil.which("age") or "age", "-d", "-i", str(s.printer.identity_file), r["file"]],
                           capture_output=True, timeout=60, check=True).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
        members = tar.getmembers()
        manifest_bytes = tar.extractfile("manifest.json").read()  # type: ignore[union-attr]
        signature = json.loads(tar.extractfile("manifest.sig").read())  # type: ignore[union-attr]
    names = [m.name for m in members]
    manifest = json.loads(manifest_bytes)
    files = [f["name"] for f in manifest["files"]]
    assert sorted(names) == sorted(["manifest.json", "manifest.sig", *files]) and len(names) == len(set(names))
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.mode == 0o644 and m.isfile() for m in members)
    assert _sha(manifest_bytes) == verify_file(Path(r["file"]), s.trusted)["manifest_sha256"]
    assert s.trusted.verify("manifest", manifest_bytes, signature)
    if shutil.which("tar"):
        listing = subprocess.run(["tar", "-tf", "-"], input=plain, capture_output=True, timeout=60, check=True).stdout.decode()
        assert sorted(listing.splitlines()) == sorted(names)
    # the examiner's identity is not among the recipients
    denied = subprocess.run([shutil.which("age") or "age", "-d", "-i", str(s.examiner.identity_file), r["file"]], capture_output=True, timeout=60)
    assert denied.returncode != 0 and not denied.stdout
    # docs/package-format.md §2 "Payload": manifest.json, then manifest.sig, then the files, in that order.
    assert names == [*files, "manifest.json", "manifest.sig"], "tar member order differs from docs/package-format.md §2"


# ---------------------------------------------------------------- 2. what sealing refuses


def _assert_nothing_sealed(s: Sealable, out: Path, status: str = "approved") -> None:
    cust = s.bank("cust")
    assert _package_rows(cust) == 0 and list_packages(cust) == []
    assert _files_in(out) == []
    assert not [e for e in _events(cust) if e["type"].startswith("package.")]
    assert s.status() == status


def test_sealing_refuses_bad_requests_and_leaves_nothing(sealable: Sealable) -> None:
    s = sealable
    out = s.tmp / "refused"
    cases: list[tuple[str, type[ExamvaultError], str, dict[str, Any]]] = [
        ("paper to the examiner", ValidationError, "examiner-1.*is a examiner|examiner-1.*printer", {"to": ("examiner-1",)}),
        ("marking key to the printer", ValidationError, "printer-1", {"kind": "marking-key", "to": ("printer-1",)}),
        ("unknown recipient", NotFoundError, "printer-9", {"to": ("printer-9",)}),
        ("one good, one unknown recipient", NotFoundError, "nobody", {"to": ("printer-1", "nobody")}),
        ("draft paper", ConflictError, "draft", {"ref": str(s.other["id"])}),
        ("expires before not_before", ValidationError, "expires", {"not_before": s.now + timedelta(days=2), "expires": s.now + timedelta(days=1)}),
        ("expires at not_before", ValidationError, "expires", {"not_before": s.now, "expires": s.now}),
        ("an approver may not seal", PermissionDenied, "appr", {"user": "appr"}),
        ("an author may not seal", PermissionDenied, "author1", {"user": "author1"}),
        ("no recipient", ValidationError, "recipient", {"to": ()}),
        ("unknown kind", ValidationError, "kind", {"kind": "exam"}),
        ("release on a paper package", ValidationError, "release", {"release": (2, 3), "shares_dir": s.tmp / "shares"}),
        ("unknown paper", NotFoundError, "P2099", {"ref": "P2099-0001-A"}),
    ]
    for what, error, pattern, kwargs in cases:
        with pytest.raises(error, match=pattern):
            s.seal(out_dir=out, **kwargs)
        _assert_nothing_sealed(s, out)
        assert _files_in(s.tmp / "shares") == [], what
    # and, for contrast, the same paper seals
    s.seal(out_dir=out)
    assert _package_rows(s.bank("cust")) == 1 and len(_files_in(out)) == 1


def test_sealing_needs_two_signatures_by_the_registered_approver_keys(sealable: Sealable) -> None:
    s = sealable
    b_ref, out = str(s.other["id"]), s.tmp / "refused"

    impostor = SigningKey.generate("appr")  # the right name, not the registered key
    with pytest.raises(PermissionDenied, match="not the one registered for approver 'appr'"):
        approve_paper(s.bank("appr"), b_ref, signer=impostor)
    assert show_paper(s.bank("cust"), b_ref)["approvals"] == []

    approve_paper(s.bank("appr"), b_ref, signer=s.approvers["appr"])
    approve_paper(s.bank("appr2"), b_ref)  # approved, but without a signature
    assert s.status(b_ref) == "approved"
    with pytest.raises(ConflictError, match="appr2 approved without a signature") as refused:
        s.seal(b_ref, out_dir=out)
    assert "appr approved" not in str(refused.value)
    _assert_nothing_sealed(s, out)
    assert s.status(b_ref) == "approved"

    # A stored signature that is not over this paper (here: over another digest) does not count either.
    approve_paper(s.bank("appr2"), b_ref, signer=s.approvers["appr2"])
    cust = s.bank("cust")
    with cust.transaction() as session:
        paper_b = paper_by_ref(session, s.other["code"])
        forged = s.approvers["appr"].sign("approval", approval_message(paper_b.code, "0" * 64))
        good = next(a.signature for a in paper_b.approvals if a.approver == "appr")
        session.execute(update(PaperApproval).where(PaperApproval.paper_id == paper_b.id, PaperApproval.approver == "appr").values(signature=forged))
    with pytest.raises(ConflictError, match="appr's signature is not over the paper"):
        s.seal(b_ref, out_dir=out)
    _assert_nothing_sealed(s, out)

    with cust.transaction() as session:
        session.execute(update(PaperApproval).where(PaperApproval.paper_id == paper_b.id, PaperApproval.approver == "appr").values(signature=good))
    r = s.seal(b_ref, out_dir=out)  # two good signatures: it seals
    assert r["paper"] == s.other["code"] and _files_in(out) == [Path(r["file"]).name]
    assert s.status(b_ref) == "sealed"


def test_a_seal_that_fails_after_writing_the_file_leaves_no_package(sealable: Sealable, monkeypatch: pytest.MonkeyPatch) -> None:
    from examvault.accounts.service import list_audit
    from examvault.export import sealing

    s, out = sealable, sealable.tmp / "broken"
    real_record = sealing.record

    def failing_record(*args: Any, **kw: Any) -> int:
        if "package.exported" in args:  # the file is written; the bank's record of it is not
            raise RuntimeError("the database went away")
        return real_record(*args, **kw)

    monkeypatch.setattr(sealing, "record", failing_record)
    with pytest.raises(RuntimeError):
        s.seal(out_dir=out)
    _assert_nothing_sealed(s, out)  # no row, no .evp, no .partial, the paper still approved
    with s.bank("admin").transaction() as session:  # the attempt itself is on record (step 1)
        assert [a.target_id for a in list_audit(session, action="package.seal")] == [s.code]
    monkeypatch.setattr(sealing, "record", real_record)
    assert s.seal(out_dir=out)["version"] == 1  # the failed attempt used up no version


# ---------------------------------------------------------------- 3. the recipient's checks


def test_recipient_refuses_another_identity_the_wrong_time_and_a_replay(sealable: Sealable) -> None:
    s = sealable
    not_before, expires = s.now - timedelta(hours=1), s.now + timedelta(days=2)
    r = s.seal(not_before=not_before, expires=expires)
    path, state = Path(r["file"]), s.tmp / "state.json"

    with pytest.raises(PackageRejected, match="addressed to printer-1"):
        s.open(path, "as-examiner", who=s.examiner)
    with pytest.raises(PackageRejected, match="may not be opened before"):
        s.open(path, "too-early", now=not_before - timedelta(seconds=1))
    with pytest.raises(PackageRejected, match="expired"):
        s.open(path, "too-late", now=expires + timedelta(seconds=1))
    for refused in ("as-examiner", "too-early", "too-late"):
        assert not (s.tmp / refused).exists()
    assert not state.exists()  # nothing refused is remembered

    first = s.open(path, "first", now=not_before)  # the window includes its first second…
    assert first["package"] == r["package"]
    assert json.loads(state.read_text("utf-8"))["packages"].keys() == {r["package"]}
    with pytest.raises(PackageRejected, match="already opened.*replay"):
        s.open(path, "second", now=expires)  # …and its last
    assert not (s.tmp / "second").exists()
    # a second recipient state (another machine) is not this one's business: it opens there
    assert s.open(path, "elsewhere", state="other-state.json")["package"] == r["package"]


def test_an_older_version_is_refused_after_a_newer_one(sealable: Sealable) -> None:
    s = sealable
    v1, v2 = s.seal(), s.seal()
    assert (v1["version"], v2["version"]) == (1, 2) and v1["package"] != v2["package"]
    assert Path(v1["file"]).name.endswith("_v1.evp") and Path(v2["file"]).name.endswith("_v2.evp")
    assert [(p["version"], p["package"]) for p in list_packages(s.bank("cust"))] == [(1, v1["package"]), (2, v2["package"])]

    assert s.open(v2["file"], "v2", state="a.json")["version"] == 2
    with pytest.raises(PackageRejected, match="version 1 .*version 2 was already opened.*old version"):
        s.open(v1["file"], "v1", state="a.json")  # never opened here, but older
    assert not (s.tmp / "v1").exists()

    assert s.open(v1["file"], "b-v1", state="b.json")["version"] == 1  # in order, both open
    assert s.open(v2["file"], "b-v2", state="b.json")["version"] == 2


# ---------------------------------------------------------------- 4. the marking key


def test_marking_key_holds_the_key_documents_and_opens_only_after_the_exam(sealable: Sealable) -> None:
    s = sealable
    exam_end = s.now + timedelta(hours=3)
    r = s.seal(kind="marking-key", to=("examiner-1",), not_before=exam_end, expires=exam_end + timedelta(days=30))
    assert (r["kind"], r["version"], r["to"]) == ("marking-key", 1, ["examiner-1"])
    assert s.status() == "approved"  # a marking key does not seal the paper itself
    assert Path(r["file"]).name == f"{s.code}_marking-key_v1.evp"

    with pytest.raises(PackageRejected, match="may not be opened before"):
        s.open(r["file"], "early", who=s.examiner, now=exam_end - timedelta(minutes=1))
    with pytest.raises(PackageRejected, match="addressed to examiner-1"):
        s.open(r["file"], "printer", now=exam_end + timedelta(minutes=1))
    assert not (s.tmp / "early").exists() and not (s.tmp / "printer").exists()

    opened = s.open(r["file"], "key", who=s.examiner, now=exam_end + timedelta(minutes=1))
    assert opened["kind"] == "marking-key"
    out = s.tmp / "key"
    names = set(_files_in(out)) - {"manifest.json"}
    assert names == {f"{s.code}_标准答案及评分标准.pdf", f"{s.code}_标准答案及评分标准.docx", f"{s.code}_key.json"}
    assert not any("试卷" in n or "答题卡" in n for n in names)

    key = json.loads((out / f"{s.code}_key.json").read_text("utf-8"))
    assert key["paper"] == s.code and key["form"] == "A" and key["total_points"] == 20
    shown = {i["position"]: i for i in show_paper(s.bank("cust"), str(s.paper["id"]))["items"]}
    assert sorted(i["position"] for i in key["items"]) == sorted(shown)
    for item in key["items"]:
        expect = shown[item["position"]]
        assert item["type"] == expect["type"] in ("判断", "单选", "多选")
        assert item["answer"] and item["answer"] == expect["answer"], item
        assert item["points"] == expect["points"]
        allowed = {"判断": {"√", "×"}, "单选": set("ABCD"), "多选": set("ABCDE")}[item["type"]]
        assert set(item["answer"]) <= allowed
        if item["type"] == "多选":
            assert len(item["answer"]) >= 2
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["kind"] == "marking-key" and manifest["recipients"][0]["role"] == "examiner"
    for f in manifest["files"]:
        assert _sha((out / f["name"]).read_bytes()) == f["sha256"]


# ---------------------------------------------------------------- 5. receipts


def test_printer_receipt_goes_into_the_log_and_forged_receipts_do_not(sealable: Sealable) -> None:
    s, cust = sealable, sealable.bank("cust")
    r = s.seal(rooms=[RoomCopies("第一中学", "第1考场", 30)])
    path = Path(r["file"])
    doc = receipt(path, identity=s.printer.identity_file, sign_key=s.printer.key, trusted=s.trusted, copies=30)
    assert (doc["type"], doc["actor"], doc["package"], doc["paper"]) == ("printer.received", "printer-1", r["package"], s.code)
    assert doc["details"]["payload_sha256"] == r["payload_sha256"]

    logged = append_statement(cust, json.dumps(doc, ensure_ascii=False), "receipt", receipt=True)
    assert (logged["type"], logged["actor"]) == ("printer.received", "printer-1")
    proof = json.loads(json.dumps(inclusion_proof(cust, logged["seq"])))  # as the printer keeps it: a file
    checked = verify_doc(proof, s.trusted, "receipt-proof.json")  # offline: only institution.vkey
    assert checked["verified"] == "inclusion" and checked["index"] == logged["seq"]
    assert checked["event"]["id"] == doc["id"] and checked["event"]["details"] == doc["details"]
    tampered = dict(proof, index=proof["index"] - 1)
    with pytest.raises(IntegrityError):
        verify_doc(tampered, s.trusted, "tampered proof")
    with pytest.raises(IntegrityError):
        verify_doc(proof, s.printer.key.verify_key, "proof against the wrong key")

    with pytest.raises(ConflictError, match="replay"):
        append_statement(cust, json.dumps(doc, ensure_ascii=False), "receipt again", receipt=True)

    # The printer's own signature, but over a different file.
    other = receipt(path, identity=s.printer.identity_file, sign_key=s.printer.key, trusted=s.trusted, copies=30)
    other["details"]["payload_sha256"] = "0" * 64
    other = sign_event(dict(other, signatures=[]), s.printer.key)
    with pytest.raises(IntegrityError, match="different file"):
        append_statement(cust, json.dumps(other), "altered receipt", receipt=True)

    # The examiner cannot receipt the printer's package: not in its own name…
    base = receipt(path, identity=s.printer.identity_file, sign_key=s.printer.key, trusted=s.trusted, copies=30)
    as_examiner = sign_event(new_event("printer.received", "examiner-1", paper=s.code, package=r["package"], details=base["details"]),
                             s.examiner.key)  # fmt: skip
    with pytest.raises(IntegrityError, match="not sealed to examiner-1"):
        append_statement(cust, json.dumps(as_examiner), "examiner's receipt", receipt=True)
    # …nor in the printer's name with the examiner's key
    forged = dict(base, signatures=[s.examiner.key.sign("custody-event", signed_bytes(base))])
    with pytest.raises(IntegrityError, match="no valid signature by printer-1"):
        append_statement(cust, json.dumps(forged), "forged receipt", receipt=True)
    # and the recipient tool will not sign for a package opened under another party's identity
    with pytest.raises(ValidationError, match="examiner-1"):
        receipt(path, identity=s.printer.identity_file, sign_key=s.examiner.key, trusted=s.trusted, copies=30)

    received = _events(cust, type_="printer.received")
    assert [e["id"] for e in received] == [doc["id"]]
    assert verify_log(cust)["verified"] is True


def test_a_receipt_naming_another_paper_is_refused(sealable: Sealable) -> None:
    s, cust = sealable, sealable.bank("cust")
    r = s.seal()
    doc = receipt(Path(r["file"]), identity=s.printer.identity_file, sign_key=s.printer.key, trusted=s.trusted, copies=1)
    doc = sign_event(dict(doc, paper=s.other["code"], signatures=[]), s.printer.key)
    with pytest.raises(IntegrityError):
        append_statement(cust, json.dumps(doc, ensure_ascii=False), "receipt for the wrong paper", receipt=True)


# ---------------------------------------------------------------- 6. electronic papers, released by shares


def _shares(paths: list[str]) -> list[ShareText]:
    return [ShareText(p, Path(p).read_text("utf-8")) for p in paths]


def _corrupt(share: ShareText) -> ShareText:
    """Change one word of the mnemonic to another word of the SLIP-39 list."""
    from shamir_mnemonic.wordlist import WORDLIST

    words = mnemonic_of(share.text).split()
    i = len(words) // 2
    words[i] = next(w for w in WORDLIST if w != words[i])
    return ShareText(share.label + " (mistyped)", " ".join(words))


def test_electronic_paper_is_released_only_by_enough_good_shares_and_every_attempt_is_logged(sealable: Sealable) -> None:
    s, cust = sealable, sealable.bank("cust")
    s.holder("site-1", "site")
    not_before = s.now - timedelta(minutes=5)
    with pytest.raises(ValidationError, match="site"):
        s.seal(kind="electronic", to=("printer-1",), release=(2, 3), shares_dir=s.tmp / "shares")
    r = s.seal(kind="electronic", to=("site-1",), release=(2, 3), shares_dir=s.tmp / "shares", not_before=not_before)
    assert len(r["share_files"]) == 3 and _files_in(s.tmp / "shares") == sorted(Path(p).name for p in r["share_files"])
    for p in r["share_files"]:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
        assert r["package"] in Path(p).read_text("utf-8").splitlines()[0]
    one, two, three = _shares(r["share_files"])
    path = Path(r["file"])

    def presented() -> list[dict[str, Any]]:
        return _events(cust, package=r["package"], type_="release.share-presented")

    attempts: list[tuple[list[ShareText], type[ExamvaultError], str, dict[str, Any]]] = [
        ([one], UnlockError, "2 shares are needed", {}),
        ([_corrupt(one), two], UnlockError, "corrupt or mistyped", {}),
        ([two, two], UnlockError, "same share", {}),
        ([one, three], PackageRejected, "may not be opened before", {"now": not_before - timedelta(seconds=1)}),
    ]
    logged = 0
    for given, error, pattern, kw in attempts:
        with pytest.raises(error, match=pattern):
            release_package(cust, path, given, s.tmp / "released", **kw)
        logged += len(given)
        events = presented()
        assert len(events) == logged, pattern  # the failed attempt is on record all the same
        assert [e["details"]["file"] for e in events[-len(given):]] == [Path(g.label).name for g in given]
        assert not (s.tmp / "released").exists()
    assert [e["details"]["well_formed"] for e in presented()] == [True, False, True, True, True, True, True]
    assert not _events(cust, package=r["package"], type_="release.opened")
    assert all(s.trusted.verify("custody-event", signed_bytes(e), e["signatures"][0]) for e in presented())

    done = release_package(cust, path, [three, one], s.tmp / "released")
    assert done["released"] is True and done["package"] == r["package"]
    out = s.tmp / "released"
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["kind"] == "electronic" and manifest["release"] == {"threshold": 2, "shares": 3, "officers": []}
    assert {f["name"] for f in manifest["files"]} == set(_files_in(out)) - {"manifest.json"}
    assert any(f["name"].endswith("_试卷.pdf") for f in manifest["files"])
    assert not any(KEY_SUFFIX in f["name"] for f in manifest["files"])
    for f in manifest["files"]:
        assert _sha((out / f["name"]).read_bytes()) == f["sha256"]
    assert len(presented()) == logged + 2
    assert len(_events(cust, package=r["package"], type_="release.opened")) == 1
    assert verify_log(cust)["verified"] is True


def test_shares_of_one_electronic_package_do_not_release_another(sealable: Sealable) -> None:
    s, cust = sealable, sealable.bank("cust")
    s.holder("site-1", "site")
    first = s.seal(kind="electronic", to=("site-1",), release=(2, 3), shares_dir=s.tmp / "shares-1")
    second = s.seal(kind="electronic", to=("site-1",), release=(2, 3), shares_dir=s.tmp / "shares-2")
    assert second["version"] == 2
    with pytest.raises(PackageRejected, match="release key does not open this package"):
        release_package(cust, Path(second["file"]), _shares(first["share_files"][:2]), s.tmp / "out")
    with pytest.raises(UnlockError, match="different splits"):
        release_package(cust, Path(second["file"]), _shares([first["share_files"][0], second["share_files"][1]]), s.tmp / "out")
    assert not (s.tmp / "out").exists()
    assert len(_events(cust, package=second["package"], type_="release.share-presented")) == 4
    paper = s.seal()
    with pytest.raises(PackageRejected, match="not an electronic paper"):
        release_package(cust, Path(paper["file"]), _shares(second["share_files"][:2]), s.tmp / "out")
    assert release_package(cust, Path(second["file"]), _shares(second["share_files"][1:]), s.tmp / "out2")["released"]


def test_an_electronic_paper_can_be_sealed_again_into_the_same_shares_folder(sealable: Sealable) -> None:
    s = sealable
    s.holder("site-1", "site")
    first = s.seal(kind="electronic", to=("site-1",), release=(2, 3), shares_dir=s.tmp / "shares")
    second = s.seal(kind="electronic", to=("site-1",), release=(2, 3), shares_dir=s.tmp / "shares")
    assert second["version"] == 2 and not set(first["share_files"]) & set(second["share_files"])


# ---------------------------------------------------------------- 7. no plaintext outside the packages


def _needles(marker: str) -> list[bytes]:
    from tests.test_plaintext_scan import _needles as needles

    return needles({"stem": marker})


def test_sealing_leaves_no_plaintext_outside_the_package(sealable: Sealable, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_plaintext_scan import _scan, scan_bank, watch_deletions

    s = sealable
    tmpdir = s.tmp / "tmpdir"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    with watch_deletions(s.tmp) as vanished:
        s.holder("site-1", "site")
        paper = s.seal(rooms=[RoomCopies("第一中学", "第1考场", 30)])
        key = s.seal(kind="marking-key", to=("examiner-1",))
        s.seal(kind="electronic", to=("site-1",), release=(2, 3), shares_dir=s.tmp / "shares")
        doc = receipt(Path(paper["file"]), identity=s.printer.identity_file, sign_key=s.printer.key, trusted=s.trusted, copies=30)
        append_statement(s.bank("cust"), json.dumps(doc, ensure_ascii=False), "receipt", receipt=True)
        list_packages(s.bank("cust"))

    needles = _needles(s.marker)
    scan_bank(s.bank("cust").engine.url, needles)
    opened_dirs = {s.tmp / "printer-out", s.tmp / "examiner-out"}
    for p in s.tmp.rglob("*"):  # packages, shares, key files, the temp dir: everything but what a recipient opens
        if p.is_file():
            _scan(p.read_bytes(), needles, str(p))
    for name, data in vanished:
        _scan(data, needles, f"deleted file {name}")

    # The marker is real: it is in the documents once a recipient opens them.
    from docx import Document

    s.open(paper["file"], "printer-out")
    s.open(key["file"], "examiner-out", who=s.examiner, state="examiner.json")
    paper_doc = Document(str(s.tmp / "printer-out" / f"{s.code}_试卷.docx"))
    assert s.marker in "\n".join(p.text for p in paper_doc.paragraphs)
    assert all(d.exists() for d in opened_dirs)


def test_the_site_alone_cannot_open_an_electronic_paper(sealable: Sealable) -> None:
    """Only the officers' shares open it: the site's own identity does not, with our tool or with age."""
    s = sealable
    site = s.holder("site-9", "site")
    r = s.seal(kind="electronic", to=("site-9",), release=(2, 3), shares_dir=s.tmp / "shares9")
    with pytest.raises(PackageRejected, match="addressed to site-9, not to this identity"):
        s.open(r["file"], "site-tries", who=site)
    if shutil.which("age"):
        denied = subprocess.run(["age", "-d", "-i", str(site.identity_file), r["file"]], capture_output=True, timeout=60)
        assert denied.returncode != 0 and not denied.stdout


def test_release_shares_encrypted_to_named_officers(sealable: Sealable) -> None:
    """Each officer's share travels age-encrypted to that officer: read in transit it shows no word of the mnemonic."""
    from examvault.export.sealing import read_share

    s, cust = sealable, sealable.bank("cust")
    s.holder("site-7", "site")
    officers = [s.holder(f"officer-{i}", "officer") for i in (1, 2, 3)]
    with pytest.raises(ValidationError, match="one distinct --officer per share"):
        s.seal(kind="electronic", to=("site-7",), release=(2, 3), shares_dir=s.tmp / "enc", officers=["officer-1", "officer-2"])
    with pytest.raises(ValidationError, match="officer"):
        s.seal(kind="electronic", to=("site-7",), release=(2, 3), shares_dir=s.tmp / "enc", officers=["officer-1", "officer-2", "site-7"])
    r = s.seal(kind="electronic", to=("site-7",), release=(2, 3), shares_dir=s.tmp / "enc", officers=[o.name for o in officers])
    files = [Path(f) for f in r["share_files"]]
    assert [f.name.split("_")[-1] for f in files] == ["officer-1.txt.age", "officer-2.txt.age", "officer-3.txt.age"]
    for f, officer in zip(files, officers, strict=True):
        raw = f.read_bytes()
        assert raw.startswith(b"age-encryption.org/v1\n") and b"examvault release share" not in raw
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        text_ = read_share(f, [officer.identity]).text
        assert f"package {r['package']}" in text_
        with pytest.raises(UnlockError, match="give that officer's identity"):
            read_share(f, [officers[(officers.index(officer) + 1) % 3].identity])
        if shutil.which("age"):
            plain = subprocess.run(["age", "-d", "-i", str(officer.identity_file), str(f)], capture_output=True, timeout=60)
            assert plain.returncode == 0 and plain.stdout.decode() == text_
    presented = [read_share(files[0], [officers[0].identity]), read_share(files[2], [officers[2].identity])]
    assert release_package(cust, Path(r["file"]), presented, s.tmp / "released")["released"]


def test_a_revoked_party_receives_nothing_more_but_its_past_signatures_still_verify(sealable: Sealable) -> None:
    from examvault.crypto.parties import revoke_party

    s, cust = sealable, sealable.bank("cust")
    r = s.seal()
    doc = receipt(Path(r["file"]), identity=s.printer.identity_file, sign_key=s.printer.key, trusted=s.trusted, copies=1)
    append_statement(cust, json.dumps(doc, ensure_ascii=False), "receipt", receipt=True)
    with pytest.raises(ValidationError, match="say why"):
        revoke_party(s.bank("admin"), "printer-1", " ")
    with pytest.raises(PermissionDenied):
        revoke_party(s.bank("appr"), "printer-1", "leaked a paper")
    assert revoke_party(s.bank("admin"), "printer-1", "leaked a paper")["revoked_reason"] == "leaked a paper"
    with pytest.raises(NotFoundError, match="revoked"):
        s.seal()
    later = sign_event(new_event("printer.printed", "printer-1", paper=s.code, package=r["package"], details={"copies": 1}), s.printer.key)
    with pytest.raises(NotFoundError, match="not a registered party"):
        append_statement(cust, json.dumps(later, ensure_ascii=False), "printed.json")
    assert verify_log(cust)["verified"] is True  # the receipt it signed before stays verifiable
