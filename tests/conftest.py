"""Fixtures that build small banks in code, on SQLite or — with EXAMVAULT_TEST_PG_URL — PostgreSQL.

Each PostgreSQL test gets a schema of its own (search_path in the URL), dropped afterwards.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from examvault.accounts.service import add_user
from examvault.bank import Bank
from examvault.crypto import keyring
from examvault.setup import init_bank

PASSPHRASE = "correct horse battery staple 电工"
PG_URL = os.environ.get("EXAMVAULT_TEST_PG_URL")
OCC = "6-31-01-03"

USERS = {
    "cust": (["custodian", "author"], "李秀梅"),
    "author1": (["author"], "王建国"),
    "rev": (["reviewer"], "赵明"),
    "rev2": (["reviewer"], "孙丽华"),
    "appr": (["approver"], "周强"),
    "sup": (["supervisor"], "督导员"),
    "printer": (["printer"], "印刷厂"),
    "kaowu": (["exam_admin"], "考务"),
    "adm": (["admin"], "系统管理员"),
}


# A long command-line walk-through: the CLI is a thin face, so the SQLite leg runs it and the service
# functions under it are tested on PostgreSQL by their own tests (this keeps the two legs within CI's time).
cli_walkthrough = pytest.mark.skipif(bool(PG_URL), reason="a CLI walk-through: the SQLite leg runs it; its services run on PostgreSQL in their own tests")


def pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    # synchronous_commit off: a test database need not wait for the disk at each commit (a crash loses only
    # the last moments of a throwaway schema); the leg is bound by those waits, not by the CPU.
    return f"{base}{sep}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    yield from bank_url(tmp_path)


def bank_url(tmp_path: Path) -> Iterator[str]:
    """A SQLite file in `tmp_path`, or with EXAMVAULT_TEST_PG_URL a PostgreSQL schema of its own, dropped after."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'bank.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"options": "-csynchronous_commit=off"})
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_schema_url(PG_URL, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def outline_rows(level: int = 3) -> list[dict[str, str]]:
    """A small but well-formed outline: two top ranges, three leaf ranges, eight points."""
    base = {"职业代码": OCC, "职业名称": "电工", "等级": str(level), "类别": "理论"}

    def rng(code: str, name: str, parent: str, weight: str) -> dict[str, str]:
        return base | {"范围代码": code, "范围名称": name, "上级范围代码": parent, "鉴定比重": weight}

    def pt(rcode: str, code: str, name: str, imp: str) -> dict[str, str]:
        return base | {"范围代码": rcode, "鉴定点代码": code, "鉴定点名称": name, "重要程度": imp}

    return [
        rng("A", "基本要求", "", "30"),
        rng("A-A", "职业道德", "A", "10"),
        rng("A-B", "基础知识", "A", "20"),
        rng("B", "相关知识", "", "70"),
        rng("B-A", "继电控制电路装调维修", "B", "70"),
        pt("A-A", "A-A-001", "职业道德基本知识", "X"),
        pt("A-A", "A-A-002", "职业守则", "Y"),
        pt("A-B", "A-B-001", "直流电路", "X"),
        pt("A-B", "A-B-002", "交流电路", "X"),
        pt("A-B", "A-B-003", "安全用电", "Z"),
        pt("B-A", "B-A-001", "三相异步电动机控制", "X"),
        pt("B-A", "B-A-002", "低压电器", "X"),
        pt("B-A", "B-A-003", "PLC基础", "X"),
    ]


def item_row(**over: str) -> dict[str, str]:
    row = {
        "题目编号": "", "职业代码": OCC, "等级": "3", "鉴定点代码": "B-A-001", "题型": "单选",
        "题干": "三相异步电动机采用Y-△降压启动时，启动电流是直接启动时的（　）。",
        "选项A": "1/3", "选项B": "1/2", "选项C": "1/√3", "选项D": "√3", "答案": "A", "解析": "Y接时线电流为△接时的1/3。",
        "分值": "0.5", "难度": "3", "来源": "国家题", "出题人": "王建国", "审核人": "", "互斥组": "", "母题编号": "", "图片": "",
    }  # fmt: skip
    row.update(over)
    return row


def sample_items() -> list[dict[str, str]]:
    """One of each kind, with distinct stems."""
    return [
        item_row(),
        item_row(题型="判断", 题干="电流互感器二次侧严禁开路。", 答案="√", 选项A="", 选项B="", 选项C="", 选项D="", 鉴定点代码="A-B-003"),
        item_row(题型="多选", 题干="低压断路器具有的保护功能有（　）。", 选项E="欠压保护", 答案="ABE",
                 选项A="短路保护", 选项B="过载保护", 选项C="漏电保护（所有型号）", 选项D="相序保护", 鉴定点代码="B-A-002", 分值="1"),
        item_row(题型="填空", 题干="我国规定的安全电压额定值的等级有42V、______、24V、12V和6V。", 答案="36V/36伏",
                 选项A="", 选项B="", 选项C="", 选项D="", 鉴定点代码="A-B-003", 分值="1"),
        item_row(题型="简答", 题干="简述PLC的扫描工作过程。", 答案="输入采样、程序执行、输出刷新三个阶段。",
                 解析="要点1（2分）：输入采样；要点2（2分）：程序执行；要点3（1分）：输出刷新。",
                 选项A="", 选项B="", 选项C="", 选项D="", 鉴定点代码="B-A-003", 分值="5", 等级="3"),
    ]  # fmt: skip


def write_json(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    return path


@pytest.fixture
def make_bank(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Bank]]:
    """Create a bank with users and the sample outline; return a factory of per-user handles."""
    init_bank(db_url, PASSPHRASE, institution="测试技师学院", admin="admin")
    handles: list[Bank] = []
    setup = Bank.open(db_url, actor="admin", unlocker=lambda s: keyring.unlock_with_passphrase(s, PASSPHRASE))
    with setup.transaction() as session:
        for name, (roles, display) in USERS.items():
            add_user(session, name, roles, display)
    setup.close()

    def bank_as(user: str = "cust", passphrase: str | None = PASSPHRASE, unlocker: Any = None) -> Bank:
        if unlocker is None and passphrase is not None:
            unlocker = lambda s: keyring.unlock_with_passphrase(s, passphrase)  # noqa: E731
        b = Bank.open(db_url, actor=user, unlocker=unlocker)
        handles.append(b)
        return b

    from examvault.itembank.outlines import import_outline

    import_outline(bank_as("cust"), write_json(tmp_path / "outline.json", outline_rows()))
    yield bank_as
    for b in handles:
        b.close()


def snapshot(bank: Bank) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for 'the bank is exactly as it was' assertions."""
    from examvault.schema import metadata

    out = {}
    with bank.engine.connect() as conn:
        for t in metadata.sorted_tables:
            out[t.name] = sorted(tuple(map(repr, r)) for r in conn.execute(t.select()))
    return out


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL leg, run what touches the database: a test that never asks for `db_url`
    (directly or through `make_bank` and the fixtures built on it) behaves the same on both legs,
    and the SQLite leg runs it. This keeps the two legs, side by side on two cores, inside CI's time."""
    if not PG_URL:
        return
    same = pytest.mark.skip(reason="independent of the database (no db_url fixture): the SQLite leg runs it")
    for item in items:
        if "db_url" not in getattr(item, "fixturenames", ()):
            item.add_marker(same)


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


def invoke_cli(*args: str, code: int = 0, env: dict[str, str | None] | None = None) -> Ran:
    """`examvault ARGS` in-process, with no bank or user from the environment unless `env` gives them;
    the exit code must be `code`, and no traceback shows."""
    from click.testing import CliRunner

    from examvault.cli import main

    with CliRunner().isolation(env={"EXAMVAULT_DB": None, "EXAMVAULT_USER": None, **(env or {})}) as (stdout, stderr, _):
        try:
            main(list(args))
            got = 0
        except SystemExit as exc:
            got = int(exc.code or 0)
        sys.stdout.flush()
        sys.stderr.flush()
        ran = Ran(got, stdout.getvalue().decode(), stderr.getvalue().decode())
    assert ran.code == code, ran
    assert "Traceback" not in ran.stdout + ran.stderr
    return ran
