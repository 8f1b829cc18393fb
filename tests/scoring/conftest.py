"""A scored sitting built in code: the sealed form A of tests/export/test_sealing.py (16 items: 4 判断,
8 单选, 4 多选; 20 points; options shuffled), next year's plan with six candidates (the sixth 免考 in
theory), a session listing the paper, seated with two skill stations of three, and examiner panels:
five in 实操01 and three in 实操02, with cards. The exam was ten days ago.

`Scoring` seals marking keys to the examiner (the bank's custodian does it, as in the export
tests), imports them, writes response and score files, and reads what the bank stores.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from examvault.bank import Bank
from examvault.db import BEIJING, beijing_today
from examvault.export.recipient import open_file
from examvault.registration.candidates import import_candidates
from examvault.registration.models import Candidate, Room, Seat
from examvault.registration.service import create_session
from examvault.registration.sittings import seat_session
from examvault.scoring.keys import import_key
from examvault.staff.service import add_staff, assign
from tests.conftest import Ran, invoke_cli
from tests.export.test_sealing import Sealable, sealable  # noqa: F401  (the fixture, reused by name)
from tests.registration.conftest import YEAR, person, planned, write_form  # noqa: F401  (planned: the fixture)
from tests.staff.conftest import card
from tests.staff.conftest import id_number as staff_id

SESSION = f"{YEAR}-05-电工-3-评分"
EXAM_DAY = beijing_today() - timedelta(days=10)
TIMES = {"theory": "09:00-10:30", "skill": "13:30-16:30"}
PANELS = {"实操01": ("KP1", "KP2", "KP3", "KP4", "KP5"), "实操02": ("KP6", "KP7", "KP8")}
EXEMPT = 6  # person 6 is 免考 in theory: sits the skill part only


def at(hour: int, minute: int = 0) -> datetime:
    """A time on the exam day, Beijing."""
    return datetime(EXAM_DAY.year, EXAM_DAY.month, EXAM_DAY.day, hour, minute, tzinfo=BEIJING)


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def run_cli(db_url: str, user: str, *args: str, code: int = 0, env: dict[str, str] | None = None) -> Ran:
    """`examvault --db … --user USER ARGS` in-process, the bank unlocked by the test passphrase."""
    from tests.conftest import PASSPHRASE

    return invoke_cli("--db", db_url, "--user", user, *args, code=code, env={"EXAMVAULT_PASSPHRASE": PASSPHRASE, **(env or {})})


@dataclass
class Scoring:
    s: Sealable
    admin: Bank  # the exam administration (kaowu)
    tmp: Path
    tickets: dict[int, str]  # person n → ticket
    station: dict[str, str]  # ticket → skill station
    extra_examiners: list[str] = field(default_factory=list)
    _key: dict[str, Any] | None = None

    session = SESSION

    @property
    def paper(self) -> str:
        return self.s.code

    def seal_key(self, **kw: Any) -> dict[str, Any]:
        """A marking-key package of form A sealed to examiner-1 (opens from an hour ago)."""
        return self.s.seal(kind="marking-key", to=("examiner-1",), **kw)

    def import_key(self, path: str | Path, *, bank: Bank | None = None, identity: Path | None = None,
                   session_code: str | None = None, **kw: Any) -> dict[str, Any]:  # fmt: skip
        return import_key(bank or self.admin, Path(path), identity=identity or self.s.examiner.identity_file,
                          session_code=session_code or SESSION, **kw)  # fmt: skip

    def open_key(self, path: str | Path) -> dict[str, Any]:
        """The key JSON as the examiner reads it from a package (recipient side, no bank)."""
        out = self.tmp / f"examiner-view-{Path(path).stem}"
        open_file(Path(path), identity=self.s.examiner.identity_file, trusted=self.s.trusted, out_dir=out,
                  state=self.tmp / f"examiner-state-{Path(path).stem}.json")  # fmt: skip
        return json.loads((out / f"{self.paper}_key.json").read_text("utf-8"))  # type: ignore[no-any-return]

    def key(self) -> dict[str, Any]:
        """A marking key sealed once for the test, as the examiner reads it; `_file` is the package."""
        if self._key is None:
            r = self.seal_key()
            self._key = self.open_key(r["file"]) | {"_file": r["file"]}
        return self._key

    def keyed(self) -> dict[str, Any]:
        """Seal and import the key; the key JSON."""
        key = self.key()
        self.import_key(key["_file"])
        return key

    def items(self) -> list[dict[str, Any]]:
        return sorted(self.key()["items"], key=lambda i: i["number"])

    def responses(self, name: str, rows: list[list[Any]], width: int | None = None) -> Path:
        n = width or len(self.items())
        return write_csv(self.tmp / name, ["准考证号", "卷别", *map(str, range(1, n + 1))], rows)

    def sheet(self, name: str, rows: list[list[Any]]) -> Path:
        return write_csv(self.tmp / name, ["准考证号", "考评员", "分数"], rows)

    def rows(self, model: Any, **where: Any) -> list[Any]:
        with self.admin.transaction() as session:
            q = select(model)
            for k, v in where.items():
                q = q.where(getattr(model, k) == v)
            out = list(session.scalars(q))
            session.expunge_all()
            return out


@pytest.fixture
def scoring(sealable: Sealable, planned: Bank, tmp_path: Path) -> Scoring:  # noqa: F811  (the imported fixtures)
    admin = planned
    people = [person(n, **({"理论知识": "免考"} if n == EXEMPT else {})) for n in range(1, 7)]
    reg = import_candidates(admin, YEAR, write_form(tmp_path / "报名表.xlsx", people))
    assert (reg["registered"], reg["accepted"]) == (6, 6), reg
    codes = [c["id"] for c in reg["candidates"]]
    create_session(admin, SESSION, occupation="6-31-01-03", level=3, exam_date=EXAM_DAY, plan_year=YEAR, site_code="360101",
                   papers=[sealable.code], times=TIMES)  # fmt: skip
    seated = seat_session(admin, SESSION, capacity={"skill": 3})
    assert seated["seated"] == 6
    with admin.transaction() as session:
        by_code = {c.code: c for c in session.scalars(select(Candidate).where(Candidate.code.in_(codes)))}
        tickets = {n: by_code[code].ticket for n, code in enumerate(codes, start=1)}
        station = {by_code[code].ticket: room for code, room in session.execute(
            select(Candidate.code, Room.code).join(Seat, Seat.candidate_id == Candidate.id).join(Room, Room.id == Seat.room_id)
            .where(Seat.part == "skill"))}  # fmt: skip
    assert sorted(station.values()) == ["实操01"] * 3 + ["实操02"] * 3, station
    k = 0
    for room, panel in PANELS.items():
        for code in panel:
            k += 1
            add_staff(admin, code=code, name=f"考评员{code}", id_number=staff_id(700 + k, "19700301"), roles="考评员",
                      credential=card(f"KP-{k:04d}"))  # fmt: skip
        assign(admin, SESSION, "examiner", list(panel), room=room)
    add_staff(
        admin,
        code="KP9",
        name="考评员KP9",
        id_number=staff_id(799, "19700301"),
        roles="考评员",
        credential=card("KP-0009"),
    )
    return Scoring(sealable, admin, tmp_path, tickets, station)


@pytest.fixture
def today() -> date:
    return beijing_today()
