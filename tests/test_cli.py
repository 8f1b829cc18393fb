"""The CLI end to end, as a user runs it: real processes, real files, exit codes and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE, cli_walkthrough, outline_rows, sample_items, write_json


def run(args: list[str], env: dict[str, str], cwd: Path, *, ok: bool = True) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "examvault", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if ok:
        assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    return p


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMVAULT_")}
    env |= {"EXAMVAULT_DB": db_url, "EXAMVAULT_PASSPHRASE": PASSPHRASE, "EXAMVAULT_USER": "admin"}
    run(["init", "--institution", "测试"], env, tmp_path)
    run(["user", "add", "cust", "--role", "custodian", "--role", "author", "--name", "李秀梅"], env, tmp_path)
    run(["user", "add", "rev", "--role", "reviewer", "--name", "赵明"], env, tmp_path)
    env["EXAMVAULT_USER"] = "cust"
    run(["outline", "import", str(write_json(tmp_path / "outline.json", outline_rows()))], env, tmp_path)
    return env


def test_import_list_show_json(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = write_json(tmp_path / "items.json", sample_items())
    report = json.loads(run(["item", "import", str(path), "--json"], cli_env, tmp_path).stdout)
    assert report["imported"] == 5 and len(report["codes"]) == 5
    listing = run(["item", "list", "--level", "3", "--json"], cli_env, tmp_path)
    items = json.loads(listing.stdout)  # stdout is one JSON document and nothing else
    assert len(items) == 5
    required = {"id", "code", "occupation", "level", "point_code", "type", "points", "difficulty", "status"}
    assert all(required <= set(i) for i in items)
    assert "三相异步电动机" not in listing.stdout  # never content
    only_single = json.loads(run(["item", "list", "--type", "单选", "--json"], cli_env, tmp_path).stdout)
    assert [i["type"] for i in only_single] == ["单选"]
    shown = json.loads(run(["item", "show", items[0]["code"], "--json"], cli_env, tmp_path).stdout)
    assert shown["content"]["stem"]
    audit = json.loads(run(["--user", "admin", "audit", "list", "--action", "item.read", "--json"], cli_env, tmp_path).stdout)
    assert audit[0]["actor"] == "cust" and audit[0]["target_id"] == items[0]["code"]


def test_bad_input_gives_a_located_message_and_no_traceback(cli_env: dict[str, str], tmp_path: Path) -> None:
    bad = write_json(tmp_path / "bad.json", [sample_items()[0] | {"答案": "E"}])
    p = run(["item", "import", str(bad)], cli_env, tmp_path, ok=False)
    assert p.returncode == 3
    assert "bad.json, item 1, column 答案: the answer names an option the item does not have (it has A–D)" in p.stderr
    assert json.loads(run(["item", "list", "--json"], cli_env, tmp_path).stdout) == []
    p = run(["item", "import", str(tmp_path / "missing.xlsx")], cli_env, tmp_path, ok=False)
    assert p.returncode == 3 and "no such file" in p.stderr


def test_wrong_passphrase_and_role(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = write_json(tmp_path / "items.json", sample_items())
    p = run(["item", "import", str(path)], cli_env | {"EXAMVAULT_PASSPHRASE": "wrong one!"}, tmp_path, ok=False)
    assert p.returncode == 7 and "wrong passphrase" in p.stderr
    p = run(["--user", "rev", "item", "import", str(path)], cli_env, tmp_path, ok=False)
    assert p.returncode == 6 and "may not do item.write" in p.stderr
    p = run(["--user", "nobody", "item", "list"], cli_env, tmp_path, ok=False)
    assert "no active user 'nobody'" in p.stderr


def test_shares_via_cli(cli_env: dict[str, str], tmp_path: Path) -> None:
    run(["item", "import", str(write_json(tmp_path / "i.json", sample_items()))], cli_env, tmp_path)
    run(["keys", "split", "--shares", "5", "--threshold", "3", "--out-dir", "sh"], cli_env, tmp_path)
    files = sorted((tmp_path / "sh").iterdir())
    assert len(files) == 5 and oct(files[0].stat().st_mode & 0o777) == "0o600"
    env = {k: v for k, v in cli_env.items() if k != "EXAMVAULT_PASSPHRASE"}
    code = json.loads(run(["item", "list", "--json"], env, tmp_path).stdout)[0]["code"]
    shares = [a for f in files[1:4] for a in ("--share", str(f))]
    assert json.loads(run([*shares, "item", "show", code, "--json"], env, tmp_path).stdout)["content"]["stem"]
    p = run([*shares[:4], "item", "show", code], env, tmp_path, ok=False)
    assert p.returncode == 7 and "3 shares are needed to unlock this bank; 2 given" in p.stderr
    corrupt = tmp_path / "corrupt.txt"
    words = files[0].read_text().splitlines()[-1].split()
    words[10] = "zero" if words[10] != "zero" else "acid"
    corrupt.write_text(" ".join(words))
    p = run([*shares[:4], "--share", str(corrupt), "item", "show", code], env, tmp_path, ok=False)
    assert p.returncode == 7 and "share corrupt.txt is corrupt" in p.stderr


def test_keys_rotate_rewrap_set_min(cli_env: dict[str, str], tmp_path: Path) -> None:
    run(["item", "import", str(write_json(tmp_path / "i.json", sample_items()))], cli_env, tmp_path)
    run(["keys", "rotate", "--domain", "items"], cli_env, tmp_path)
    p = run(["keys", "set-min", "--domain", "items", "--version", "2"], cli_env, tmp_path, ok=False)
    assert "run `examvault keys rewrap` first" in p.stderr
    run(["keys", "rewrap", "--domain", "items"], cli_env, tmp_path)
    run(["keys", "set-min", "--domain", "items", "--version", "2"], cli_env, tmp_path)
    status = json.loads(run(["keys", "status", "--json"], cli_env, tmp_path).stdout)
    items = next(d for d in status["domains"] if d["domain"] == "items")
    assert items["min_version"] == 2 and items["records"]["item_versions"] == {"2": 5}
    assert [v["state"] for v in items["versions"]] == ["retired", "primary"]
    code = json.loads(run(["item", "list", "--json"], cli_env, tmp_path).stdout)[0]["code"]
    assert json.loads(run(["item", "show", code, "--json"], cli_env, tmp_path).stdout)["content"]["stem"]


def test_backup_and_restore_elsewhere(cli_env: dict[str, str], tmp_path: Path) -> None:
    run(["item", "import", str(write_json(tmp_path / "i.json", sample_items()))], cli_env, tmp_path)
    # people and a session too: date columns and sealed personal data survive the round trip
    run(["--user", "admin", "user", "add", "kw", "--role", "exam_admin"], cli_env, tmp_path)
    kw = cli_env | {"EXAMVAULT_USER": "kw"}
    run(["session", "create", "S1", "--occupation", "6-31-01-03", "--level", "3", "--date", "2027-03-05"], kw, tmp_path)
    run(["staff", "add", "--code", "KP1", "--name", "刘建华", "--id-number", "360102198506120015", "--roles", "考评员",
         "--card", "KP-1", "--card-occupation", "6-31-01-03", "--card-levels", "3-5", "--card-issued", "2025-01-01",
         "--card-valid-until", "2029-12-31"], kw, tmp_path)  # fmt: skip
    run(["backup", "bank.evb"], cli_env, tmp_path)
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    p = run(["--db", target, "restore", "bank.evb"], cli_env | {"EXAMVAULT_PASSPHRASE": "wrong one!"}, tmp_path, ok=False)
    assert p.returncode == 7 and "wrong passphrase" in p.stderr
    run(["--db", target, "restore", "bank.evb"], cli_env, tmp_path)
    items = json.loads(run(["--db", target, "item", "list", "--json"], cli_env, tmp_path).stdout)
    assert len(items) == 5
    assert json.loads(run(["--db", target, "item", "show", items[0]["code"], "--json"], cli_env, tmp_path).stdout)["content"]
    staff = json.loads(run(["--db", target, "staff", "show", "KP1", "--json"], kw, tmp_path).stdout)
    assert (staff["name"], staff["valid_until"], staff["credentials"][0]["levels"]) == ("刘建华", "2029-12-31", [3, 4, 5])
    assert json.loads(run(["--db", target, "session", "show", "S1", "--json"], kw, tmp_path).stdout)["exam_date"] == "2027-03-05"
    p = run(["--db", target, "restore", "bank.evb"], cli_env, tmp_path, ok=False)
    assert "already holds a bank" in p.stderr
    # a flipped byte anywhere in the compressed file is caught
    data = bytearray((tmp_path / "bank.evb").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "tampered.evb").write_bytes(bytes(data))
    p = run(["--db", f"sqlite:///{tmp_path / 'x.db'}", "restore", "tampered.evb"], cli_env, tmp_path, ok=False)
    assert p.returncode == 8 and ("damaged" in p.stderr or "checksum" in p.stderr)


def test_change_passphrase(cli_env: dict[str, str], tmp_path: Path) -> None:
    p = run(["keys", "passphrase"], cli_env, tmp_path, ok=False)
    assert p.returncode == 7 and "EXAMVAULT_NEW_PASSPHRASE" in p.stderr  # never silently reuse the old one
    run(["keys", "passphrase"], cli_env | {"EXAMVAULT_NEW_PASSPHRASE": "another passphrase 2026"}, tmp_path)
    assert run(["item", "list"], cli_env, tmp_path).returncode == 0  # listing needs no unlock
    p = run(["item", "import", str(write_json(tmp_path / "i.json", sample_items()))], cli_env, tmp_path, ok=False)
    assert "wrong passphrase" in p.stderr
    run(["item", "import", str(tmp_path / "i.json")], cli_env | {"EXAMVAULT_PASSPHRASE": "another passphrase 2026"}, tmp_path)


@cli_walkthrough
def test_blueprint_and_paper_commands(cli_env: dict[str, str], tmp_path: Path) -> None:
    import yaml

    from tests.assembly.test_service import _items

    run(["--user", "admin", "user", "add", "appr", "--role", "approver"], cli_env, tmp_path)
    run(["--user", "admin", "user", "add", "appr2", "--role", "approver"], cli_env, tmp_path)
    stock = write_json(tmp_path / "stock.json", _items(3, {"判断": 30, "单选": 40, "多选": 12}))
    run(["item", "import", str(stock), "--activate"], cli_env, tmp_path)
    doc = {"id": "BP1", "occupation": "6-31-01-03", "level": 3, "total_points": 30, "forms": ["A", "B"], "max_overlap": 0.3,
           "sections": [{"type": "判断", "count": 10, "points": 1}, {"type": "单选", "count": 10, "points": 1},
                        {"type": "多选", "count": 5, "points": 2}],
           "content": {"tolerance": 0.15}, "importance": {"X": ">=0.5"}}  # fmt: skip
    bp = tmp_path / "bp.yaml"
    bp.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    run(["blueprint", "import", str(bp)], cli_env, tmp_path)
    listed = json.loads(run(["blueprint", "list", "--json"], cli_env, tmp_path).stdout)
    assert [(b["id"], b["version"]) for b in listed] == [("BP1", 1)]
    check = json.loads(run(["blueprint", "check", "BP1", "--json"], cli_env, tmp_path).stdout)
    assert check["feasible"] is True and check["disjoint_forms"]["supply_bound"] == 2

    papers = json.loads(run(["paper", "assemble", "BP1", "--forms", "A,B", "--seed", "42", "--json"], cli_env, tmp_path).stdout)
    assert [p["form"] for p in papers] == ["A", "B"] and all(p["id"] for p in papers)
    shown = json.loads(run(["paper", "show", papers[0]["id"], "--json"], cli_env, tmp_path).stdout)
    assert {"id", "form", "blueprint", "seed", "total_points", "items"} <= set(shown) and shown["seed"] == 42
    assert len(shown["items"]) == 25 and all(i["answer"] for i in shown["items"])  # cust holds keys
    hidden = json.loads(run(["--user", "appr", "paper", "show", papers[0]["id"], "--json"], cli_env, tmp_path).stdout)
    assert all(i["answer"] for i in hidden["items"])  # approvers check the key too
    run(["paper", "verify-derivation", papers[1]["id"]], cli_env, tmp_path)
    p = run(["paper", "approve", papers[0]["id"]], cli_env, tmp_path, ok=False)
    assert p.returncode == 6 and "paper.approve" in p.stderr
    run(["--user", "appr", "paper", "approve", papers[0]["id"]], cli_env, tmp_path)
    run(["--user", "appr2", "paper", "approve", papers[0]["id"]], cli_env, tmp_path)
    statuses = {p["form"]: p["status"] for p in json.loads(run(["paper", "list", "--json"], cli_env, tmp_path).stdout)}
    assert statuses == {"A": "approved", "B": "draft"}

    starved = tmp_path / "starved.yaml"
    starved.write_text(yaml.safe_dump(doc | {"id": "BP2", "total_points": 50,
                                             "sections": doc["sections"][:2] + [{"type": "多选", "count": 15, "points": 2}]},
                                      allow_unicode=True), "utf-8")  # fmt: skip
    p = run(["blueprint", "check", str(starved)], cli_env, tmp_path, ok=False)
    assert p.returncode == 3 and "NOT feasible" in p.stdout and "section 多选" in p.stdout
    p = run(["paper", "assemble", str(starved), "--seed", "1"], cli_env, tmp_path, ok=False)
    assert p.returncode == 3 and "no paper meets blueprint BP2" in p.stderr and "section 多选: needs 15 items" in p.stderr
    assert len(json.loads(run(["paper", "list", "--json"], cli_env, tmp_path).stdout)) == 2
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: X\nsections: [\n", "utf-8")
    p = run(["blueprint", "import", str(broken)], cli_env, tmp_path, ok=False)
    assert p.returncode == 3 and "broken.yaml, line" in p.stderr and "not valid YAML" in p.stderr
