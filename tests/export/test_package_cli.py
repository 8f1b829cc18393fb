"""The recipient-side CLI as a party runs it, in real processes: `keys new`, `package verify/open/receipt`.

None of these commands needs a bank: only the party's own key files and institution.vkey.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from examvault.crypto import age
from examvault.crypto.parties import add_party
from examvault.crypto.signing import SigningKey, VerifyKey
from examvault.custody.service import append_statement, list_events
from examvault.errors import UnlockError
from tests.conftest import cli_walkthrough
from tests.export.test_sealing import Sealable, sealable  # noqa: F401 - the fixture

SIGN_PASSPHRASE = "printer-9 passphrase 印刷"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMVAULT_")}
    return env | {"HOME": str(tmp / "home")} | extra


def run(args: list[str], env: dict[str, str], cwd: Path, *, ok: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "examvault", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
                       input=stdin)  # fmt: skip
    if ok:
        assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout
    return p


def _one_line_error(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    return lines[0]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_new_writes_two_private_and_two_public_files(tmp_path: Path) -> None:
    env = _env(tmp_path, EXAMVAULT_SIGN_PASSPHRASE=SIGN_PASSPHRASE)
    out = tmp_path / "party" / "printer-9"
    p = run(["keys", "new", "--out", str(out), "--json"], env, tmp_path)
    made = json.loads(p.stdout)
    files = {suffix: out.with_name(f"printer-9.{suffix}") for suffix in ("age-key", "sign-key", "age.pub", "vkey")}
    assert sorted(x.name for x in out.parent.iterdir()) == sorted(f.name for f in files.values())
    assert _mode(files["age-key"]) == 0o600 and _mode(files["sign-key"]) == 0o600

    identities = age.Identity.parse_file(files["age-key"].read_text("utf-8"))
    recipient = files["age.pub"].read_text("utf-8").strip()
    assert [str(i.recipient()) for i in identities] == [recipient] == [made["recipient"]]
    assert f"# public key: {recipient}" in files["age-key"].read_text("utf-8")
    vkey = VerifyKey.load(files["vkey"])
    assert vkey.name == "printer-9" and str(vkey) == made["verify_key"]
    key = SigningKey.load(files["sign-key"], SIGN_PASSPHRASE)
    assert key.verify_key == vkey
    with pytest.raises(UnlockError):
        SigningKey.load(files["sign-key"], SIGN_PASSPHRASE + "x")
    assert SIGN_PASSPHRASE not in files["sign-key"].read_text("utf-8")

    before = {n: f.read_bytes() for n, f in files.items()}
    again = run(["keys", "new", "--out", str(out)], env, tmp_path, ok=False)
    assert "never overwritten" in _one_line_error(again)
    assert {n: f.read_bytes() for n, f in files.items()} == before

    no_pass = run(["keys", "new", "--out", str(tmp_path / "other" / "courier-1")], _env(tmp_path), tmp_path, ok=False, stdin="")
    assert "passphrase" in _one_line_error(no_pass)
    short = run(["keys", "new", "--out", str(tmp_path / "other" / "courier-1")], _env(tmp_path, EXAMVAULT_SIGN_PASSPHRASE="short"),
                tmp_path, ok=False)  # fmt: skip
    assert "8 characters" in _one_line_error(short)
    assert not (tmp_path / "other").exists() or not any((tmp_path / "other").iterdir())


@cli_walkthrough
def test_package_verify_open_and_receipt_from_the_command_line(sealable: Sealable, tmp_path: Path) -> None:  # noqa: F811
    s = sealable
    env = _env(tmp_path, EXAMVAULT_SIGN_PASSPHRASE=SIGN_PASSPHRASE)
    party = tmp_path / "printer-9-machine"
    run(["keys", "new", "--out", str(party / "printer-9")], env, tmp_path)
    add_party(s.bank("admin"), "printer-9", "printer", recipient=(party / "printer-9.age.pub").read_text("utf-8").strip(),
              verify_key=(party / "printer-9.vkey").read_text("utf-8"))  # fmt: skip
    r = s.seal(to=("printer-1", "printer-9"))
    trust = tmp_path / "institution.vkey"
    trust.write_text(str(s.trusted) + "\n", "utf-8")
    evp = Path(r["file"])

    checked = json.loads(run(["package", "verify", str(evp), "--trust", str(trust), "--json"], env, tmp_path).stdout)
    assert checked["verified"] is True and checked["package_id"] == r["package"] and checked["payload_sha256"] == r["payload_sha256"]
    assert [x["party"] for x in checked["recipients"]] == ["printer-1", "printer-9"]
    assert run(["package", "verify", str(evp)], env | {"EXAMVAULT_TRUST": str(trust)}, tmp_path).returncode == 0

    data = evp.read_bytes()
    flipped = tmp_path / "flipped.evp"
    flipped.write_bytes(data[:-100] + bytes([data[-100] ^ 1]) + data[-99:])
    truncated = tmp_path / "truncated.evp"
    truncated.write_bytes(data[: len(data) - 1000])
    for bad in (flipped, truncated):
        p = run(["package", "verify", str(bad), "--trust", str(trust)], env, tmp_path, ok=False)
        assert p.returncode == 8 and "outer signature does not verify" in _one_line_error(p)
        assert not p.stdout
    wrong_trust = run(["package", "verify", str(evp), "--trust", str(party / "printer-9.vkey")], env, tmp_path, ok=False)
    assert "not by the trusted key printer-9" in _one_line_error(wrong_trust)
    no_trust = run(["package", "verify", str(evp)], env, tmp_path, ok=False)
    assert "--trust" in _one_line_error(no_trust)

    opened_dir, state = tmp_path / "opened", tmp_path / "opened.json"
    open_args = ["package", "open", str(evp), "--identity", str(party / "printer-9.age-key"), "--trust", str(trust), "--state", str(state)]
    opened = json.loads(run([*open_args, "--out", str(opened_dir), "--json"], env, tmp_path).stdout)
    assert opened["package"] == r["package"] and sorted(opened["approved_by"]) == ["appr", "appr2"]
    assert (opened_dir / f"{s.code}_试卷.pdf").is_file()
    replay = run([*open_args, "--out", str(tmp_path / "again")], env, tmp_path, ok=False)
    assert replay.returncode == 8 and "replay" in _one_line_error(replay)
    tampered_open = run(["package", "open", str(flipped), "--identity", str(party / "printer-9.age-key"), "--trust", str(trust),
                         "--state", str(tmp_path / "s2.json"), "--out", str(tmp_path / "t")], env, tmp_path, ok=False)  # fmt: skip
    _one_line_error(tampered_open)
    assert not (tmp_path / "t").exists()

    receipt_file = tmp_path / "receipt.json"
    run(["package", "receipt", str(evp), "--identity", str(party / "printer-9.age-key"), "--sign-key", str(party / "printer-9.sign-key"),
         "--trust", str(trust), "--copies", "40", "--out", str(receipt_file)], env, tmp_path)  # fmt: skip
    doc = json.loads(receipt_file.read_text("utf-8"))
    assert (doc["type"], doc["actor"], doc["details"]["copies"]) == ("printer.received", "printer-9", 40)
    wrong_pass = run(["package", "receipt", str(evp), "--identity", str(party / "printer-9.age-key"), "--sign-key",
                      str(party / "printer-9.sign-key"), "--trust", str(trust), "--copies", "40", "--out", str(tmp_path / "r2.json")],
                     env | {"EXAMVAULT_SIGN_PASSPHRASE": "not the passphrase"}, tmp_path, ok=False)  # fmt: skip
    assert wrong_pass.returncode == 7 and "wrong passphrase" in _one_line_error(wrong_pass)
    assert not (tmp_path / "r2.json").exists()

    cust = s.bank("cust")
    logged = append_statement(cust, receipt_file.read_text("utf-8"), str(receipt_file), receipt=True)
    assert (logged["type"], logged["actor"]) == ("printer.received", "printer-9")
    assert [e["id"] for e in list_events(cust, type_="printer.received")] == [doc["id"]]
