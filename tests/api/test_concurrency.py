"""Concurrent requests against PostgreSQL: approvals, exposure counts, custody appends (each approval appends
an event) and checkpoints stay right when
many arrive at once (row locks in the service functions). SQLite serialises every writer, so these
run on the PostgreSQL leg."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.api.conftest import Api
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="concurrency is tested on PostgreSQL (EXAMVAULT_TEST_PG_URL); SQLite serialises writers")


def _paper(api: Api, tmp: Path) -> dict[str, Any]:
    from examvault.assembly.service import assemble
    from examvault.itembank.service import import_items
    from tests.assembly.test_service import _blueprint, _items
    from tests.conftest import write_json

    import_items(api.bank_as("cust"), write_json(tmp / "items.json", _items(3, {"判断": 30, "单选": 60, "多选": 15})), activate=True)
    return assemble(api.bank_as("cust"), str(_blueprint(tmp, forms=["A"])), seed=3)[0]


def _clients(api: Api, users: list[str]) -> list[TestClient]:
    out = []
    for user in users:
        token = api.as_(user).headers["authorization"]
        out.append(TestClient(api.app, raise_server_exceptions=False, headers={"authorization": token}))
    return out


def test_concurrent_approvals_count_exposure_once_and_log_every_approval(api: Api, tmp_path: Path) -> None:
    from examvault.itembank.models import Item

    paper = _paper(api, tmp_path)
    for n in range(2, 7):
        api.add_user(f"appr{n}", ["approver"])
    approvers = ["appr", *(f"appr{n}" for n in range(2, 7))]
    clients = _clients(api, approvers)
    with ThreadPoolExecutor(len(clients)) as pool:
        codes = list(pool.map(lambda c: c.post(f"/api/v1/papers/{paper['code']}/approve", json={}).status_code, clients))
    # Exactly two approvals land; every later one finds the paper approved.
    assert sorted(codes) == [200, 200, 409, 409, 409, 409], codes
    shown = api.as_("cust").get(f"/api/v1/papers/{paper['code']}").json()
    assert shown["status"] == "approved" and len(shown["approvals"]) == 2
    with api.bank_as("cust").transaction() as s:
        used = s.scalar(select(func.sum(Item.usage_count)))
    assert used == paper["items"]  # the second approval counted each item's exposure exactly once
    events = api.as_("cust").get("/api/v1/custody/events", params={"paper": paper["code"]}).json()
    assert [e["type"] for e in events].count("paper.approved") == 2
    assert api.as_("cust").post("/api/v1/custody/verify", json={}).json()["ok"] is True


def test_the_same_approver_twice_at_once_approves_once(api: Api, tmp_path: Path) -> None:
    paper = _paper(api, tmp_path)
    clients = _clients(api, ["appr"]) * 4
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda c: c.post(f"/api/v1/papers/{paper['code']}/approve", json={}).status_code, clients))
    assert sorted(codes) == [200, 409, 409, 409], codes
    assert api.as_("cust").get(f"/api/v1/papers/{paper['code']}").json()["approvals"] == ["appr"]


def test_concurrent_checkpoints_keep_one_consistent_log(api: Api, tmp_path: Path) -> None:
    _paper(api, tmp_path)
    clients = _clients(api, ["cust", "kaowu"]) * 6
    with ThreadPoolExecutor(len(clients)) as pool:
        codes = list(pool.map(lambda c: c.post("/api/v1/custody/checkpoint").status_code, clients))
    assert codes == [200] * len(clients)
    events = api.as_("cust").get("/api/v1/custody/events", params={"limit": 5000}).json()
    assert [e["seq"] for e in events] == list(range(len(events)))  # no gap, no duplicate (appends race in the approvals test)
    assert api.as_("sup").post("/api/v1/custody/verify", json={}).json()["ok"] is True
