"""Fixtures for the supervision tests: the staff tests' sitting, a supervisor on duty in it,
and helpers to staff its rooms and to put the session at a later stage."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from examvault.accounts.models import AuditEvent
from examvault.bank import Bank
from examvault.quality.service import checklists, tick
from examvault.registration.models import ExamSession
from examvault.staff.service import assign
from tests.staff.conftest import Sitting, sitting  # noqa: F401

# Staffing that satisfies the default rules: two invigilators per theory room, a panel of three on the skill station.
ROOM_STAFF = (("invigilator", "T01", ["JK1", "JK2"]), ("invigilator", "T02", ["JK3", "JK4"]),
              ("examiner", "K01", ["KP1", "KP2", "KP3"]))  # fmt: skip


# The sitting's registered supervisor (督导员); `supervised` puts them on duty in the session.
SUPERVISOR = "DD1"


@pytest.fixture
def supervised(sitting: Sitting) -> Sitting:  # noqa: F811
    """The sitting with DD1 on duty as the session's supervisor."""
    assign(sitting.admin, sitting.session, "supervisor", [SUPERVISOR])
    return sitting


def staff_rooms(s: Sitting, *, skip: str | None = None) -> None:
    """Staff every room by the rules (or every room but `skip`)."""
    for duty, room, codes in ROOM_STAFF:
        if room != skip:
            assign(s.admin, s.session, duty, codes, room=room)


def manual_items(stage: str) -> list[str]:
    return [i["id"] for i in checklists()[stage]["items"] if not i.get("auto")]


def tick_all(s: Sitting, stage: str, *, supervisor: str = SUPERVISOR) -> None:
    """Tick every manual item of `stage` as passed, by a supervisor on duty in the session."""
    for item in manual_items(stage):
        tick(s.sup, s.session, stage, item, passed=True, supervisor=supervisor)


def put_at_stage(bank: Bank, session_code: str, stage: str) -> None:
    """Set the stage directly. Leaving paper_approval legitimately needs an approved paper, which
    this fixture does not build; the gates of the later stages are what these tests exercise."""
    with bank.transaction(write=True) as session:
        exam = session.scalars(select(ExamSession).where(ExamSession.code == session_code)).one()
        exam.stage = stage


def stage_of(bank: Bank, session_code: str) -> str:
    with bank.transaction() as session:
        return session.scalars(select(ExamSession.stage).where(ExamSession.code == session_code)).one()


def audit_events(bank: Bank, action: str) -> list[dict[str, Any]]:
    with bank.transaction() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [{"actor": e.actor, "target_id": e.target_id, "details": e.details} for e in rows]
