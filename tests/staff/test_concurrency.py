"""Assignments racing on PostgreSQL: the session row lock makes them take turns, so the rules see
each other's posts (on SQLite every writer is serial already)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from examvault.bank import Bank
from examvault.errors import NotFoundError
from examvault.staff.service import AssignmentRefused, assign, staffing, unassign
from tests.conftest import PG_URL
from tests.custody.test_service import _together
from tests.staff.conftest import Sitting

PG_ONLY = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only (set EXAMVAULT_TEST_PG_URL): SQLite serialises every writer "
                                                  "with BEGIN IMMEDIATE, so only PostgreSQL exercises the session row lock")  # fmt: skip


def _attempt(bank: Bank, session: str, room: str, partner: str, outcomes: list[str]) -> None:
    try:
        assign(bank, session, "invigilator", ["JK1", partner], room=room)
        outcomes.append(room)
    except AssignmentRefused as exc:
        assert {r.rule for r in exc.refusals} == {"post.single"}, exc
        outcomes.append("refused")


@PG_ONLY
def test_one_person_racing_into_two_rooms_gets_one(sitting: Sitting, make_bank: Callable[..., Bank]) -> None:
    a, b = make_bank("kaowu"), make_bank("kaowu")
    for bank in (a, b):  # unlock up front, so the threads start together
        with bank.transaction() as s:
            bank.keyring(s)
    for round_ in range(3):
        outcomes: list[str] = []
        _together([lambda o=outcomes: _attempt(a, sitting.session, "T01", "JK2", o),
                   lambda o=outcomes: _attempt(b, sitting.session, "T02", "JK3", o)])  # fmt: skip
        assert len(outcomes) == 2 and outcomes.count("refused") == 1, (round_, outcomes)
        posts = staffing(sitting.admin, sitting.session)
        holders = [r["room"] for r in posts["rooms"] if "JK1" in r["assigned"].get("invigilator", [])]
        assert holders == [o for o in outcomes if o != "refused"]
        for code in ("JK1", "JK2", "JK3"):
            with contextlib.suppress(NotFoundError):  # the refused pair's partner holds nothing
                unassign(sitting.admin, sitting.session, code, reason="next round")
