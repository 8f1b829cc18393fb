"""Item statistics over HTTP, on the released sitting of tests/stats/test_feedback.py (160 candidates, form A,
three planted faults): the update runs as a long job and writes each item's figures into the bank (checked
against the simulated answers by hand), the review queue and its decisions; the standalone analysis of an
uploaded csv (JSON, and the PDF and xlsx reports built in memory); key status and the parties."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.api.conftest import Api
from tests.api.test_marking_api import problem
from tests.export.test_sealing import sealable  # noqa: F401  (fixture, by name)
from tests.registration.conftest import planned  # noqa: F401  (fixture, by name)
from tests.stats.test_feedback import (  # noqa: F401  (released: the fixture)
    EASY,
    MISKEYED,
    NEGATIVE,
    SESSION,
    N,
    _answers,
    _code_at,
    _release,
    released,
)

DATA = Path(__file__).parents[1] / "stats" / "data"
S = "/api/v1/stats"


def finished(client: httpx.Client, r: httpx.Response, seconds: float = 60) -> dict[str, Any]:
    """The job's public state once it ends (a 202 answer is polled at its location)."""
    assert r.status_code == 202, r.text
    for _ in range(int(seconds * 20)):
        job = client.get(r.headers["location"]).json()
        if job["state"] != "running":
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"job still running: {job}")


def test_stats_update_over_http_writes_the_items_figures_and_the_review_is_settled(
    api: Api,
    released: dict[str, Any],  # noqa: F811
) -> None:
    admin, s, items = released["admin"], released["s"], released["items"]
    cust, sup, appr = api.as_("cust"), api.as_("sup"), api.as_("appr")
    update = f"{S}/papers/{s.code}/update"
    problem(
        cust.post(f"{update}?wait=30", json={}), 409, "no released session"
    )  # results are analysed once released
    _release(admin)
    problem(sup.post(update, json={}), 403, "stats.update")
    problem(cust.post(update, json={"irt": "3pl"}), 422, "irt")
    problem(cust.post(f"{update}?wait=61", json={}), 422, "wait")
    codes = {n: _code_at(admin, s.code, n, items) for n in range(1, 17)}
    before = cust.get(f"{S}/items/{codes[2]}").json()
    assert (before["p"], before["n"], before["administrations"]) == (None, 0, []), before

    job = finished(cust, cust.post(update, json={"irt": "2pl"}))  # a long job: 202, then polled
    assert job["state"] == "done", job
    r = job["result"]
    planted = {codes[n] for n in (EASY, MISKEYED, NEGATIVE)}
    assert set(r["flagged"]) == planted and r["candidates"] == N and r["sessions"] == [SESSION]
    assert 0 < r["alpha"] < 1 and r["irt"]["model"] == "2pl"

    # each item's p is the share of candidates who gave the key, as simulated (the same seed)
    answers = np.array(_answers(items, np.random.default_rng(7)))
    for it in items:
        n = it["number"]
        h = sup.get(f"{S}/items/{codes[n]}")
        assert h.status_code == 200, h.text
        h = h.json()
        p = float(np.mean(answers[:, n - 1] == str(it["answer"])))
        assert h["p"] == pytest.approx(p, abs=1e-12) and h["n"] == N, (n, h)
        assert len(h["administrations"]) == 1 and h["administrations"][0]["p"] == pytest.approx(p, abs=1e-12)
        assert h["status"] == ("suspended" if n in (EASY, MISKEYED, NEGATIVE) else "active")
    easy = sup.get(f"{S}/items/{codes[EASY]}").json()
    assert easy["p"] == 1.0 and easy["administrations"][0]["flags"][0]["rule"] == "too_easy"
    assert sup.get(f"{S}/items/{codes[NEGATIVE]}").json()["r_rest"] < 0
    problem(
        cust.post(f"{update}?wait=30", json={}), 409, "no released session left"
    )  # a session is counted once

    # the review queue and its decisions, by the roles that may activate or retire
    q = sup.get(f"{S}/reviews")
    assert q.status_code == 200, q.text
    rules = {e["item"]: {f["rule"] for f in e["flags"]} for e in q.json()}
    assert (
        set(rules) == planted
        and "key_error" in rules[codes[MISKEYED]]
        and "negative_discrimination" in rules[codes[NEGATIVE]]
    )
    problem(
        sup.post(f"{S}/items/{codes[EASY]}/decide", json={"decision": "keep", "comment": "保留"}),
        403,
        "item.activate",
    )
    problem(api.as_("kaowu").get(f"{S}/reviews"), 403, "stats.read")
    for body, field in [
        ({"decision": "maybe", "comment": "x"}, "decision"),
        ({"decision": "keep", "comment": ""}, "comment"),
        ({"decision": "keep", "comment": "x" * 401}, "comment"),
        ({"decision": "keep", "comment": "a\x00"}, "comment"),
    ]:
        assert field in [
            e["field"]
            for e in problem(appr.post(f"{S}/items/{codes[EASY]}/decide", json=body), 422)["errors"]
        ]
    d = appr.post(
        f"{S}/items/{codes[EASY]}/decide",
        json={"decision": "keep", "comment": "题目过易但考查基本安全要求，保留"},
    )
    assert d.status_code == 200 and d.json() == {
        "item": codes[EASY],
        "decision": "keep",
        "status": "active",
    }, d.text
    d = cust.post(f"{S}/items/{codes[MISKEYED]}/decide", json={"decision": "retire", "comment": "答案有误"})
    assert d.status_code == 200 and d.json()["status"] == "retired", d.text
    problem(
        appr.post(f"{S}/items/{codes[EASY]}/decide", json={"decision": "keep", "comment": "again"}),
        404,
        "no open statistics review",
    )
    assert [e["item"] for e in sup.get(f"{S}/reviews").json()] == [codes[NEGATIVE]]
    assert sup.get(f"{S}/items/{codes[EASY]}").json()["status"] == "active"
    problem(sup.get(f"{S}/items/NO-SUCH-ITEM"), 404, "no item")


def _post_file(
    client: httpx.Client, data: bytes, name: str = "LSAT7.csv", fmt: str = "json", **form: Any
) -> httpx.Response:
    return client.post(f"{S}/analyze?format={fmt}&wait=30", files={"file": (name, data)}, data=form)


def test_a_response_file_is_analysed_and_reported_in_memory(api: Api) -> None:
    sup = api.as_("sup")
    lsat7 = (DATA / "LSAT7.csv").read_bytes()
    r = _post_file(sup, lsat7)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["n_candidates"] == 1000 and doc["alpha"] == pytest.approx(
        0.4534087354, abs=1e-9
    )  # R psych::alpha
    assert [round(i["p"], 3) for i in doc["items"]] == [0.828, 0.658, 0.772, 0.606, 0.843]
    assert [i["r_drop"] for i in doc["items"]] == pytest.approx(
        [0.245732, 0.246674, 0.313179, 0.222751, 0.174786], abs=1e-6
    )

    pdf = _post_file(sup, lsat7, fmt="pdf", title="LSAT7 试题分析")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-", pdf.text[:200]
    assert pdf.headers["cache-control"] == "no-store" and "LSAT7" in pdf.headers["content-disposition"]
    from pypdf import PdfReader

    assert "LSAT7" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    xlsx = _post_file(sup, lsat7, fmt="xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK", xlsx.text[:200]
    from openpyxl import load_workbook

    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames

    # every problem by row and column, nothing analysed; bounded inputs; never a 500
    bad = _post_file(sup, b"i1,i2,freq\n1,0,3\n2,x,1\n")
    body = problem(bad, 422, "nothing was analysed")
    assert {e["field"] for e in body["errors"]} == {"row 3, A (i1)", "row 3, B (i2)"}, body
    problem(_post_file(sup, lsat7, name="LSAT7.txt"), 422, "must be one of .csv")
    problem(_post_file(sup, b"\x00\x01\x02", name="a.csv"), 422)
    problem(_post_file(sup, b"", name="a.csv"), 422, "empty")
    problem(_post_file(sup, lsat7, group="nope"), 422, "no column named 'nope'")
    problem(_post_file(sup, lsat7, max_points="0"), 422, "max_points")
    problem(_post_file(sup, lsat7, max_points="/etc/passwd"), 422, "max_points")
    problem(_post_file(sup, lsat7, confidence="1"), 422, "confidence")
    problem(_post_file(sup, lsat7, irt="3pl"), 422, "irt")
    problem(_post_file(sup, lsat7, encoding="no-such"), 422, "cannot decode")
    problem(_post_file(sup, lsat7, fmt="docx"), 422, "format")
    problem(_post_file(sup, lsat7, missing_code="8"), 422, "need --key")
    problem(sup.post(f"{S}/analyze", json={"file": "x"}), 422, "file")
    # points from a file held in memory too; a key file turns the cells into raw options
    labels = lsat7.decode().splitlines()[0].split(",")[:5]
    rows = "item,max_points\n" + "".join(f"{label},1\n" for label in labels)
    points = _post_file_with(sup, lsat7, {"max_points_file": ("points.csv", rows.encode())})
    assert points.status_code == 200 and points.json()["alpha"] == pytest.approx(doc["alpha"]), points.text
    keyed = _post_file_with(sup, lsat7, {"key": ("key.csv", b"1,1,1,1,1\n")})
    assert keyed.status_code == 200 and keyed.json()["alpha"] == pytest.approx(doc["alpha"]), keyed.text
    problem(_post_file(api.as_("kaowu"), lsat7), 403, "stats.read")


def _post_file_with(client: httpx.Client, data: bytes, extra: dict[str, tuple[str, bytes]]) -> httpx.Response:
    return client.post(f"{S}/analyze?wait=30", files={"file": ("LSAT7.csv", data), **extra})


def test_key_status_and_parties(api: Api, sealable: Any) -> None:  # noqa: F811
    k = api.as_("cust").get("/api/v1/keys/status")
    assert k.status_code == 200, k.text
    assert {d["domain"] for d in k.json()["domains"]} == {"items", "marking", "packages", "audit", "personal"}
    assert "seed" not in k.text and "wrapped" not in k.text
    problem(api.as_("sup").get("/api/v1/keys/status"), 403, "keys.manage")
    p = api.as_("sup").get("/api/v1/parties")
    assert p.status_code == 200, p.text
    assert {(e["name"], e["role"]) for e in p.json()} >= {
        ("printer-1", "printer"),
        ("examiner-1", "examiner"),
        ("appr", "approver"),
    }
    assert [e["name"] for e in api.as_("kaowu").get("/api/v1/parties?role=examiner").json()] == ["examiner-1"]
    problem(api.as_("kaowu").get("/api/v1/parties?role=wizard"), 422, "role")
    problem(api.as_("author1").get("/api/v1/parties"), 403, "party.list")
