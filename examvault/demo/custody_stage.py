"""Demo: parties and their keys, sealed packages to a printer and an examiner, the recipients' side with no
database, a receipt back into the custody log, proofs, and a tampered copy refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from examvault.bank import Bank
from examvault.crypto.parties import add_party, new_keys
from examvault.crypto.signing import SigningKey, VerifyKey
from examvault.custody.proofs import verify_doc
from examvault.custody.service import (
    append_statement,
    checkpoint,
    inclusion_proof,
    institution_key,
    verify_log,
)
from examvault.db import utcnow
from examvault.errors import ExamvaultError
from examvault.export.recipient import open_file, receipt, verify_file
from examvault.export.sealing import RoomCopies, seal_package

# The demo's parties keep their key files under one passphrase, written beside them.
KEY_PASSPHRASE = "demo-signing-key-passphrase"
PARTIES = {"approver": "approver", "approver2": "approver", "printer-1": "printer", "examiner-1": "examiner"}


def setup_parties(bank: Callable[[str], Bank], directory: Path, console: Console, step: int) -> tuple[int, dict[str, SigningKey]]:
    """Each party makes its keys 'on its own machine' (a folder of its own) and hands over the public halves."""
    custodian = bank("custodian")
    vk = institution_key(custodian)
    (directory / "institution.vkey").write_text(vk + "\n", "utf-8")
    signers = {}
    for name, role in PARTIES.items():
        keys = new_keys(directory / "parties" / name / name, KEY_PASSPHRASE)
        add_party(bank("admin"), name, role, recipient=keys["recipient"] if role != "approver" else None,
                  verify_key=Path(keys["vkey"]).read_text("utf-8"))  # fmt: skip
        signers[name] = SigningKey.load(Path(keys["sign_key"]), KEY_PASSPHRASE)
    (directory / "parties" / "KEY-PASSPHRASE.txt").write_text(KEY_PASSPHRASE + "\n", "utf-8")
    console.print(f"{step}. institution signing key {vk.split('+')[0]} (verifier key in institution.vkey); parties made their own keys in "
                  f"{directory / 'parties'} and registered the public halves: " + ", ".join(f"{n} ({r})" for n, r in PARTIES.items()))  # fmt: skip
    custodian.close()
    return step + 1, signers


def run_custody_stage(bank: Callable[[str], Bank], directory: Path, console: Console, step: int, papers: list[dict[str, Any]]) -> int:
    custodian = bank("custodian")
    out = directory / "packages"
    now = utcnow()
    sealed = []
    for p in papers:
        sealed.append(seal_package(custodian, p["id"], kind="paper", to=["printer-1"], not_before=now - timedelta(minutes=1),
                                   expires=now + timedelta(days=30), out_dir=out, spares=4,
                                   rooms=[RoomCopies("示范技师学院", "第1考场", 30), RoomCopies("示范技师学院", "第2考场", 28)]))  # fmt: skip
        # The exam ended a moment ago: the examiners may open the marking key now, not before.
        sealed.append(seal_package(custodian, p["id"], kind="marking-key", to=["examiner-1"], not_before=now - timedelta(seconds=1),
                                   expires=now + timedelta(days=60), out_dir=out))  # fmt: skip
    console.print(f"{step}. sealed (sign → age-encrypt → sign) into {out}:")
    for s in sealed:
        copies = f", {s['copies']} copies" if s["copies"] else ""
        console.print(f"   {Path(s['file']).name}: to {', '.join(s['to'])}, {s['bytes']:,} bytes{copies}, opens {s['not_before']} (UTC)", markup=False)
    step += 1

    # The recipients' machines: only their own keys, institution.vkey and the .evp files. No database.
    trusted = VerifyKey.load(directory / "institution.vkey")
    site = directory / "printer-site"
    site.mkdir()
    state = site / "opened.json"
    printer_keys = directory / "parties" / "printer-1"
    paper_a = Path(sealed[0]["file"])
    courier = verify_file(paper_a, trusted)
    console.print(f"{step}. in {site} (no database): the courier's check of {paper_a.name} without opening it: signed by "
                  f"{courier['signed_by']}, for {courier['paper']} → {', '.join(r['party'] for r in courier['recipients'])}")  # fmt: skip
    opened = open_file(paper_a, identity=printer_keys / "printer-1.age-key", trusted=trusted, out_dir=site / courier["paper"], state=state)
    console.print(f"   printer-1 opened it: approved by {' and '.join(opened['approved_by'])}, {len(opened['files'])} files, "
                  f"{opened['copies']['total']} copies to print ({', '.join(r['room'] + ' ' + str(r['copies']) for r in opened['copies']['rooms'])} "
                  f"+ {opened['copies']['spares']} spares)")  # fmt: skip
    signer = SigningKey.load(printer_keys / "printer-1.sign-key", KEY_PASSPHRASE)
    doc = receipt(paper_a, identity=printer_keys / "printer-1.age-key", sign_key=signer, trusted=trusted, copies=opened["copies"]["total"])
    receipt_file = site / f"{paper_a.name}.receipt.json"
    receipt_file.write_text(json.dumps(doc, ensure_ascii=False, indent=1), "utf-8")
    examiner_dir = directory / "examiner-site"
    key_pkg = Path(sealed[1]["file"])
    try:  # the examiner's clock an hour earlier: the exam is still running
        open_file(key_pkg, identity=directory / "parties" / "examiner-1" / "examiner-1.age-key", trusted=trusted,
                  out_dir=examiner_dir / "too-early", state=examiner_dir / "opened.json", now=now - timedelta(hours=1))  # fmt: skip
    except ExamvaultError as exc:
        console.print(f"   the marking key opened during the exam is refused: {exc}", markup=False)
    key_opened = open_file(key_pkg, identity=directory / "parties" / "examiner-1" / "examiner-1.age-key", trusted=trusted,
                           out_dir=examiner_dir / key_pkg.stem, state=examiner_dir / "opened.json")  # fmt: skip
    console.print(f"   examiner-1 opened the marking key in {examiner_dir}: {', '.join(Path(f['file']).name for f in key_opened['files'])}")
    try:
        open_file(paper_a, identity=printer_keys / "printer-1.age-key", trusted=trusted, out_dir=site / "again", state=state)
    except ExamvaultError as exc:
        console.print(f"   opening the same package again is refused: {exc}", markup=False)
    step += 1

    logged = append_statement(custodian, receipt_file.read_text("utf-8"), str(receipt_file), receipt=True)
    proof = inclusion_proof(custodian, logged["seq"])
    (site / "receipt-proof.json").write_text(json.dumps(proof, ensure_ascii=False, indent=1), "utf-8")
    offline = verify_doc(proof, trusted, "receipt-proof.json")
    note = checkpoint(custodian)
    report = verify_log(custodian, seen_checkpoint=note)
    console.print(f"{step}. custody import-receipt: event {logged['seq']} ({logged['type']} by {logged['actor']}); its inclusion proof "
                  f"verifies offline at the printer against checkpoint {offline['tree_size']}; custody verify: {report['events']} events, "
                  f"{report['checkpoints']} signed checkpoints, verified = {report['verified']}")  # fmt: skip
    step += 1

    tampered = site / f"tampered-{paper_a.name}"
    data = bytearray(paper_a.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    console.print(f"{step}. one bit flipped in a copy of {paper_a.name}:")
    for what, action in (("package verify", lambda: verify_file(tampered, trusted)),
                         ("package open", lambda: open_file(tampered, identity=printer_keys / "printer-1.age-key", trusted=trusted,
                                                            out_dir=site / "tampered", state=state))):  # fmt: skip
        try:
            action()
            console.print(f"   {what} ACCEPTED a tampered copy — this must not happen")
        except ExamvaultError as exc:
            console.print(f"   {what} refuses it: {exc}", markup=False)
    custodian.close()
    return step + 1
