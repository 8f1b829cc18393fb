from __future__ import annotations

import json
import os
import secrets
import shutil
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from examvault.accounts.service import add_user
from examvault.backup import backup
from examvault.bank import Bank
from examvault.crypto import keyring
from examvault.crypto.service import rewrap_domain, rotate, split_root
from examvault.crypto.shares import write_share_files
from examvault.errors import ConfigurationError, ValidationError
from examvault.itembank import domain
from examvault.itembank.formats.export import write_xlsx
from examvault.itembank.formats.fields import ITEM_FIELDS, OUTLINE_FIELDS
from examvault.itembank.outlines import import_outline, outline_tree
from examvault.itembank.service import import_items, list_items, show_item, transition
from examvault.setup import init_bank

OCCUPATION = "6-31-01-03"
USERS = {  # username: (roles, display name)
    "custodian": (["custodian", "author"], "题库管理员 李秀梅"),
    "author": (["author"], "命题专家 王建国"),
    "reviewer": (["reviewer"], "审核专家 钱学明"),
    "approver": (["approver"], "审批人 冯国庆"),
    "approver2": (["approver"], "审批人 周丽"),
    "supervisor": (["supervisor"], "质量督导 韩雪"),
    "kaowu": (["exam_admin"], "考务 陈红"),
}


def _console_passwords(admin: Bank, directory: Path, console: Console, step: int) -> int:
    """Every demo user gets a password for the web console and the API, written (owner-only) beside the bank."""
    from examvault.accounts.admin import users
    from examvault.accounts.credentials import set_password

    lines = []
    for u in users(admin):
        password = "-".join(secrets.token_hex(2) for _ in range(4))
        set_password(admin, u["username"], password)
        lines.append(f"{u['username']:<12} {password}   # {', '.join(u['roles'])}")
    path = directory / "CONSOLE-PASSWORDS.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    console.print(f"{step}. web console: a password for each of the {len(lines)} users in {path.name} (Argon2id in the bank)")
    return step + 1


def _data(name: str) -> list[dict[str, str]]:
    text = resources.files("examvault.demo").joinpath("data", name).read_text("utf-8")
    return json.loads(text)


def _write_xlsx(path: Path, fields: dict[str, tuple[str, ...]], rows: list[dict[str, str]], sheet: str) -> None:
    headers = [v[0] for v in fields.values()]
    write_xlsx(path, headers, [[r.get(h, "") for h in headers] for r in rows], sheet)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    import csv

    headers = [v[0] for v in ITEM_FIELDS.values()]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=headers, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def _write_docx(path: Path, rows: list[dict[str, str]]) -> None:
    from examvault.itembank.formats.fields import alias_map, header_key
    from examvault.itembank.formats.gb_docx import write_gb_docx

    aliases = alias_map(ITEM_FIELDS)
    canon = [{aliases[header_key(k)]: v for k, v in r.items() if header_key(k) in aliases} for r in rows]
    write_gb_docx(canon, path, title="电工（五级/初级工）理论知识 题库样本（国标格式）")


def _input_files(inputs: Path) -> list[tuple[Path, str, bool]]:
    """Write the sample as the files custodians bring; return (file, who imports, --activate)."""
    outline = [r for level in (5, 4, 3, 2, 1) for r in _data(f"outline_L{level}.json")]
    _write_xlsx(inputs / "电工_鉴定要素细目表.xlsx", OUTLINE_FIELDS, outline, "细目表")
    l3 = _data("items_L3_part1.json") + _data("items_L3_part2.json")
    _write_xlsx(inputs / "电工三级_题库_已审.xlsx", ITEM_FIELDS, l3, "题目")
    _write_docx(inputs / "电工五级_题库_国标格式.docx", _data("items_L5.json"))
    _write_csv(inputs / "电工四级_题库.csv", _data("items_L4.json"))
    (inputs / "电工二级一级_题库.json").write_text(
        json.dumps(_data("items_L2.json") + _data("items_L1.json"), ensure_ascii=False, indent=1), "utf-8"
    )
    return [
        (inputs / "电工三级_题库_已审.xlsx", "custodian", True),  # migrated, already reviewed
        (inputs / "电工五级_题库_国标格式.docx", "author", False),
        (inputs / "电工四级_题库.csv", "author", False),
        (inputs / "电工二级一级_题库.json", "author", False),
    ]


def run_demo(directory: Path, *, force: bool = False, console: Console | None = None) -> dict[str, Any]:
    console = console or Console(stderr=True)
    if directory.exists() and any(directory.iterdir()):
        if not force:
            raise ConfigurationError(f"{directory} exists and is not empty; pass --force or choose another --dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    inputs = directory / "input"
    inputs.mkdir()
    passphrase = "-".join(secrets.token_hex(3) for _ in range(5))
    (directory / "DEMO-PASSPHRASE.txt").write_text(passphrase + "\n", "utf-8")
    url = f"sqlite:///{(directory / 'examvault.db').resolve()}"

    console.rule("[bold]examvault demo — 电工 (6-31-01-03)")
    info = init_bank(url, passphrase, institution="示范技师学院 职业技能等级认定中心", admin="admin")
    console.print(f"1. created the encrypted bank {info['bank_id']} in {directory}/examvault.db")

    def bank(user: str) -> Bank:
        return Bank.open(url, actor=user, unlocker=lambda s: keyring.unlock_with_passphrase(s, passphrase))

    admin = bank("admin")
    with admin.transaction() as s:
        for name, (roles, display) in USERS.items():
            add_user(s, name, roles, display)
    people = ", ".join(f"{u} ({'/'.join(r)})" for u, (r, _d) in USERS.items())
    console.print(f"2. users: {people}")

    files = _input_files(inputs)
    rep = import_outline(bank("custodian"), inputs / "电工_鉴定要素细目表.xlsx")
    console.print("3. outlines (鉴定要素细目表) from xlsx: " + "; ".join(
        f"level {o['level']}: {o['points']} points" for o in rep.outlines))  # fmt: skip

    console.print("4. items, through every import format:")
    imported: dict[str, list[str]] = {}
    dup_pairs = 0
    for path, who, activate in files:
        r = import_items(bank(who), path, activate=activate)
        imported[path.name] = r.codes
        dup_pairs += len(r.duplicates)
        kinds = ", ".join(f"{t} {n}" for t, n in sorted(r.by_type.items(), key=lambda kv: domain.ITEM_TYPES.index(kv[0])))
        console.print(f"   {path.name:<28} {r.imported:>4} items ({kinds})" + (f", {r.activated} active on arrival" if activate else ""))
    console.print(f"   near/exact duplicate stem pairs reported: {dup_pairs}")
    l4 = _data("items_L4.json")
    bad_rows = [dict(next(r for r in l4 if r["题型"] == "单选")), dict(l4[0]), dict(l4[1])]
    bad_rows[0]["答案"] = "E"  # 单选 answer that is not one of its options
    bad_rows[1]["鉴定点代码"] = "B-Z-Z-999"  # unknown assessment point
    bad_rows[2]["难度"] = "很难"
    _write_csv(inputs / "有错误的题库.csv", bad_rows)
    try:
        import_items(bank("author"), inputs / "有错误的题库.csv", dry_run=True)
    except ValidationError as exc:
        console.print("   a file with mistakes is refused whole, every problem located:")
        for issue in exc.issues:
            console.print(f"     {issue}", markup=False)

    console.print("5. review workflow for the new items: author submits → reviewer approves → approver activates")
    transition(bank("author"), "submit", [], select_filter={"occupation": OCCUPATION})
    transition(bank("reviewer"), "approve", [], select_filter={"occupation": OCCUPATION}, comment="内容、答案经复核无误")
    moved = transition(bank("approver"), "activate", [], select_filter={"occupation": OCCUPATION})
    console.print(f"   {len(moved)} items activated; every step is an audit event")

    items = list_items(bank("supervisor"))
    t = Table("等级", *domain.ITEM_TYPES, "合计", title="Active items by level and type (metadata only)")
    for level in (5, 4, 3, 2, 1):
        c = Counter(r["type"] for r in items if r["level"] == level and r["status"] == "active")
        t.add_row(domain.LEVEL_NAMES[level], *[str(c.get(k, "")) for k in domain.ITEM_TYPES], str(sum(c.values())))
    console.print(t)
    thin = []
    for level in (5, 4, 3, 2, 1):
        tree = outline_tree(bank("custodian"), OCCUPATION, level)

        def walk(entries: list[dict[str, Any]], level: int = level) -> None:
            for e in entries:
                if "importance" in e and e["active_items"] < 4:
                    thin.append(f"L{level} {e['code']}")
                walk(e.get("ranges", []) + e.get("points", []))

        walk(tree["ranges"])
    console.print(f"   assessment points with fewer than 4 active items: {len(thin)}" + (f" ({', '.join(thin[:8])}…)" if thin else ""))

    single = next(r["code"] for r in items if r["level"] == 3 and r["type"] == "单选")
    sample = show_item(bank("custodian"), single)
    c = sample["content"]
    console.print(f"6. one item, decrypted for the custodian (an audited read): {sample['code']} [{sample['type']}]")
    console.print(f"   {c['stem']}", markup=False)
    console.print("   " + "  ".join(f"（{k}）{v}" for k, v in c["options"].items()), markup=False)
    console.print(f"   答案：{c['answer']}", markup=False)

    custodian = bank("custodian")
    shares = directory / "shares"
    write_share_files(shares, split_root(custodian, 5, 3), 3)
    v = rotate(custodian, "items")["items"]
    n = rewrap_domain(custodian, "items")["items"]
    console.print(f"7. keys: root key split 3-of-5 into {shares}/; items key rotated to v{v} and {n} records rewrapped")
    from examvault.demo.assembly_stage import run_assembly_stage
    from examvault.demo.custody_stage import run_custody_stage, setup_parties

    step, signers = setup_parties(bank, directory, console, 8)
    step, papers, papers_l2 = run_assembly_stage(bank, directory, console, step, signers)
    paper_code = papers[0]["code"]
    step = run_custody_stage(bank, directory, console, step, papers)
    from examvault.demo.staff_stage import run_staff_stage

    step, sitting = run_staff_stage(bank, directory, console, step, papers, OCCUPATION)
    from examvault.demo.registration_stage import run_registration_stage

    step, next_sitting, next_day = run_registration_stage(bank, directory, console, step, OCCUPATION,
                                                         [p["code"] for p in papers if p["code"].startswith(paper_code[:-1])])
    from examvault.demo.scoring_stage import run_scoring_stage

    step = run_scoring_stage(bank, directory, console, step, next_sitting, next_day)
    from examvault.demo.blind_stage import run_blind_stage

    step = run_blind_stage(bank, directory, console, step, OCCUPATION, [p["code"] for p in papers_l2], next_day)
    from examvault.demo.stats_stage import run_stats_stage

    step = run_stats_stage(bank, directory, console, step, [p["code"] for p in papers])
    step = _console_passwords(admin, directory, console, step)
    b = backup(custodian, directory / "bank-backup.evb")
    console.print(f"{step}. encrypted backup with wrapped keys: {b['file']} ({sum(b['rows'].values())} rows)")
    for h in (admin, custodian):
        h.close()

    console.rule("[bold]the web console")
    console.print(
        f"examvault --db {directory}/examvault.db serve     # then open http://127.0.0.1:8000/console\n"
        "unseal: paste three of shares/share-*-of-5.txt (or DEMO-PASSPHRASE.txt); log in as custodian with the\n"
        "password in CONSOLE-PASSWORDS.txt; approvers, examiners (pj01…) and the supervisor have theirs there too",
        markup=False,
    )
    console.rule("[bold]try it")
    console.print(
        f"cd {directory}\n"
        "export EXAMVAULT_PASSPHRASE=$(cat DEMO-PASSPHRASE.txt) EXAMVAULT_USER=custodian\n"
        "examvault item list --level 3 --type 多选\n"
        "examvault blueprint check blueprints/blueprint_impossible.yaml\n"
        "examvault paper list\n"
        f"examvault paper show {paper_code}\n"
        "examvault paper assemble 6-31-01-03/3/theory/2026A --forms A,B --seed 7 --json\n"
        f"examvault outline show {OCCUPATION} 3\n"
        f"examvault item show {sample['code']}\n"
        f"examvault --share shares/share-1-of-5.txt --share shares/share-3-of-5.txt --share shares/share-5-of-5.txt item show {sample['code']}\n"
        "EXAMVAULT_USER=supervisor examvault audit list --limit 20   # (supervisor: audit.read)\n"
        "examvault custody list && examvault custody verify\n"
        f"cd printer-site && examvault package verify ../packages/{paper_code}_paper_v1.evp --trust ../institution.vkey\n"
        f"age -d -i ../parties/printer-1/printer-1.age-key ../packages/{paper_code}_paper_v1.evp | tar tvf -\n"
        "examvault custody verify receipt-proof.json --trust ../institution.vkey\n"
        f"cd .. && export EXAMVAULT_USER=kaowu && examvault staff list && examvault staff staffing {sitting}\n"
        f"EXAMVAULT_USER=supervisor examvault quality checklist {sitting} && examvault quality incidents {sitting}\n"
        "examvault staff verify-badge @sitting/badge-KP001.txt --trust institution.vkey --revocations sitting/revocations.json\n"
        f"examvault candidate list --session {next_sitting} && examvault attendance show {next_sitting}\n"
        "examvault ticket verify @$(ls registration/ticket-*.txt) --trust institution.vkey --on "
        f"{next_day.isoformat()}\n"
        f"examvault results show {next_sitting} && examvault results export {next_sitting} --out results\n"
        f"examvault marking status {next_day:%Y%m%d}-电工-2 && examvault marking history {next_day:%Y%m%d}-电工-2 $(tail -1 marking/密封登记.csv | cut -d, -f3)\n"
        f"examvault results show {next_day:%Y%m%d}-电工-2",
        markup=False,
    )
    return {"directory": str(directory), "items": len(items), "bank_id": info["bank_id"]}
