"""A small sitting built in code: a level-3 session dated in the future, two theory rooms,
one skill station, candidates from known work units, and a staff roster with cards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from examvault.bank import Bank
from examvault.registration.identity import check_digit
from examvault.registration.service import add_candidates, add_room, create_session
from examvault.staff.service import add_staff
from tests.conftest import OCC

EXAM_DATE = date.today() + timedelta(days=30)
SESSION = "S2026-01"
UNIT_A, UNIT_B, UNIT_C = "江铃汽车股份有限公司", "国网南昌供电公司", "南昌轨道交通集团"


def id_number(n: int, born: str = "19850612") -> str:
    """A valid 18-digit resident ID (GB 11643 check digit), distinct per n."""
    first = f"360102{born}{n % 1000:03d}"
    return first + check_digit(first)


def card(number: str, *, levels: str = "1-5", valid_until: date | None = None, issued: date | None = None,
         occupation: str = OCC) -> dict[str, str]:  # fmt: skip
    return {"credential_number": number, "occupation": occupation, "levels": levels,
            "issued_on": (issued or EXAM_DATE - timedelta(days=400)).isoformat(),
            "valid_until": (valid_until or EXAM_DATE + timedelta(days=700)).isoformat()}  # fmt: skip


@dataclass
class Sitting:
    admin: Bank
    sup: Bank
    session: str
    candidates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # room → placed candidates
    candidate_ids: dict[str, str] = field(default_factory=dict)  # candidate code → ID number
    staff: dict[str, str] = field(default_factory=dict)  # staff code → ID number

    def add(self, code: str, roles: str, *, unit: str = "示范技师学院", credential: dict[str, str] | None = None, n: int = 0) -> str:
        number = id_number(500 + (n or len(self.staff) + 1), "19750301")
        add_staff(self.admin, code=code, name=f"人员{code}", id_number=number, roles=roles, work_unit=unit, credential=credential)
        self.staff[code] = number
        return code


@pytest.fixture
def sitting(make_bank: Callable[..., Bank]) -> Sitting:
    admin, sup = make_bank("kaowu"), make_bank("sup")
    create_session(admin, SESSION, occupation=OCC, level=3, exam_date=EXAM_DATE, site="测试考点")
    add_room(admin, SESSION, "T01", kind="theory", capacity=30)
    add_room(admin, SESSION, "T02", kind="theory", capacity=30)
    add_room(admin, SESSION, "K01", kind="skill", capacity=10)
    s = Sitting(admin, sup, SESSION)
    n = 0
    for room, count, unit in (("T01", 20, UNIT_A), ("T02", 16, UNIT_C), ("K01", 10, UNIT_B)):
        rows = []
        for _ in range(count):
            n += 1
            rows.append({"name": f"考生{n}", "id_number": id_number(n), "work_unit": unit})
        placed = add_candidates(admin, SESSION, rows, room=room)
        s.candidates[room] = placed
        for p, r in zip(placed, rows, strict=True):
            s.candidate_ids[p["code"]] = r["id_number"]
    s.add("JK1", "监考")
    s.add("JK2", "监考")
    s.add("JK3", "监考")
    s.add("JK4", "监考")
    s.add("KP1", "考评员", credential=card("KP-0001"))
    s.add("KP2", "考评员", credential=card("KP-0002"))
    s.add("KP3", "考评员", credential=card("KP-0003"))
    s.add("KP4", "考评员", credential=card("KP-0004"))
    s.add("GK1", "高级考评员,主考", credential=card("KP-0005"))
    s.add("DD1", "督导员", credential=card("DD-0001", levels="", occupation=""))
    return s
