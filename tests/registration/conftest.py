"""A year's plan and a registration form built in code: level-3 电工 (the outline the test bank holds)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook

from examvault.bank import Bank
from examvault.registration.identity import check_digit
from examvault.registration.plan import create_plan
from tests.conftest import OCC

TODAY = date.today()
YEAR = TODAY.year + 1  # a plan for next year, whose registration window is open now
EXAM_DATE = TODAY + timedelta(days=40)
HEADERS = ["姓名", "证件类型", "证件号码", "申报职业代码", "申报等级", "性别", "民族", "文化程度", "手机", "工作单位", "本职业工作年限",
           "原证书编号", "原职业", "原等级", "原证书发证日期", "申报条件", "理论知识", "操作技能", "照片"]  # fmt: skip
# A tiny valid JPEG (1×1 pixel), the kind of file a registration photo is.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c"
    "20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f00000105010101010101000000"
    "00000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1"
    "082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a7374"
    "75767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1"
    "e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
)


def id_number(n: int, born: str = "19850612", *, male: bool = True) -> str:
    """A valid resident ID; its 17th digit odd for men, even for women."""
    seq = (n % 500) * 2 + (1 if male else 0)
    first = f"360102{born}{seq:03d}"
    return first + check_digit(first)


def plan_doc(**over: Any) -> dict[str, Any]:
    doc = {
        "year": YEAR,
        "title": f"{YEAR}年度职业技能等级认定工作计划",
        "window": {"open": (TODAY - timedelta(days=5)).isoformat(), "close": (TODAY + timedelta(days=20)).isoformat()},
        "evaluation": {"kind": "S", "institution_code": "0001", "province": "36"},
        "sites": [{"code": "360101", "name": "示范技师学院", "address": "南昌市青山湖区示范路1号"}],
        "occupations": [{"code": OCC, "levels": [3], "fees": {"3": 250}, "sessions": [f"{YEAR}-05"]}],
        "contact": "0791-86123456",
        "notes": ["报名材料须真实有效。"],
    }
    doc.update(over)
    return doc


def write_plan(path: Path, **over: Any) -> Path:
    path.write_text(yaml.safe_dump(plan_doc(**over), allow_unicode=True), "utf-8")
    return path


def person(n: int, **over: str) -> dict[str, str]:
    """A level-3 applicant who qualifies by branch a: a level-4 certificate held 6 years."""
    row = {"姓名": f"考生{n:03d}", "证件类型": "居民身份证", "证件号码": id_number(n), "申报职业代码": OCC, "申报等级": "三级",
           "性别": "男", "民族": "汉族", "文化程度": "高中", "手机": f"139{n:08d}", "工作单位": f"单位{n % 3}",
           "本职业工作年限": "8", "原证书编号": f"Z{n:07d}", "原职业": OCC, "原等级": "四级",
           "原证书发证日期": (TODAY - timedelta(days=6 * 366)).isoformat(), "申报条件": "", "理论知识": "", "操作技能": "",
           "照片": ""}  # fmt: skip
    row.update(over)
    return row


def write_form(path: Path, rows: list[dict[str, str]], headers: list[str] = HEADERS) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "报名表"
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h, "") for h in headers])
    wb.save(path)
    return path


@pytest.fixture
def planned(make_bank: Callable[..., Bank], tmp_path: Path) -> Bank:
    """The exam administration's handle on a bank with next year's plan."""
    admin = make_bank("kaowu")
    create_plan(admin, write_plan(tmp_path / "plan.yaml"))
    return admin
