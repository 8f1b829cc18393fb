"""Exam administration through HTTP: the scored sitting of tests/scoring/conftest.py (six candidates, a sealed
form A, two skill stations) driven from the door to the results export, certificates issued and checked, a
registration form uploaded, and the refusals: forbidden roles get a bare 403, bad input a 422 naming the
field.

The services themselves are tested in tests/registration and tests/scoring; here only what the HTTP face adds:
routing, permissions, bounded input, uploads held in memory, downloads and problem documents.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import tempfile
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from examvault.crypto.signing import SigningKey
from examvault.registration.tickets import print_tickets
from examvault.scoring import calendar
from examvault.scoring.results import release
from tests.api.conftest import Api
from tests.registration.conftest import YEAR, id_number, person, write_form
from tests.scoring.conftest import (  # noqa: F401  (the fixtures, by name)
    EXAM_DAY,
    EXEMPT,
    PANELS,
    SESSION,
    Scoring,
    at,
    planned,
    scoring,
    sealable,
    today,
)
from tests.scoring.test_scoring_flow import (
    EXPECTED,
    SKILL,
    responses_of,
    sheet_rows,
    theory_answers,
    window_or_skip,
)

V1 = "/api/v1"
PROBLEM_KEYS = {"type", "title", "status", "detail"}


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.headers["content-type"].startswith("application/json") else r.content


def problem(r: Any, status: int, *, field: str | None = None, says: str = "") -> dict[str, Any]:
    """A problem document with this status; with `field`, one of its errors names it."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert PROBLEM_KEYS <= set(body) <= PROBLEM_KEYS | {"errors"}, body
    if field is not None:
        assert field in {e["field"] for e in body.get("errors", [])}, body
    assert says in body["detail"], body
    return body


def forbidden(r: Any, permission: str) -> None:
    """403, saying which permission, and carrying no data: only the problem's own fields."""
    body = problem(r, 403, says=permission)
    assert "errors" not in body and "考生" not in r.text, body


def upload(name: str, data: bytes) -> dict[str, Any]:
    return {"file": (name, data, "application/octet-stream")}


def leftovers() -> set[str]:
    """The service's private folders for files it writes (tickets, the results export)."""
    out = set()
    for where in ("/dev/shm", tempfile.gettempdir()):
        if os.path.isdir(where):
            out |= {f"{where}/{n}" for n in os.listdir(where) if n.startswith("examvault-")}
    return out


def test_a_sitting_from_the_door_to_the_results_export_and_certificates(
    api: Api,
    scoring: Scoring,  # noqa: F811  (the imported fixtures)
    today: date,  # noqa: F811
) -> None:
    """One sitting for both halves: the examiner's sealed key (the fixtures' costliest step) is made once."""
    w = window_or_skip(today)
    sitting(api, scoring, today, w)
    certificates(api, scoring, today, w)


def sitting(api: Api, sc: Scoring, day: date, w: calendar.Window) -> None:
    kaowu, sup = api.as_("kaowu"), api.as_("sup")
    t = sc.tickets
    s = f"{V1}/sessions/{SESSION}"

    # sessions, the plan, candidates and staff
    listed = {x["code"]: x for x in ok(kaowu.get(f"{V1}/sessions"))}
    assert (listed[SESSION]["candidates"], listed[SESSION]["papers"]) == (6, [sc.paper])
    shown = ok(sup.get(s))
    assert (shown["level"], shown["exam_date"], shown["plan"]) == (3, EXAM_DAY.isoformat(), YEAR)
    assert sorted(r["code"] for r in shown["rooms"] if r["kind"] == "skill") == ["实操01", "实操02"]
    assert ok(kaowu.get(f"{V1}/plans/{YEAR}"))["year"] == YEAR
    cands = ok(sup.get(f"{V1}/candidates", params={"session": SESSION, "level": 3}))
    assert sorted(c["ticket"] for c in cands) == sorted(t.values())
    assert all("id_number" not in c and "*" in c["id_number_masked"] for c in cands)
    first = next(c for c in cands if c["ticket"] == t[1])
    one = ok(sup.get(f"{V1}/candidates/{first['id']}"))
    assert (one["name"], one["session"], one["status"]) == ("考生001", SESSION, "accepted")
    assert one["decisions"] and one["decisions"][0]["eligible"] is True
    examiners = {p["code"] for p in ok(sup.get(f"{V1}/staff", params={"role": "examiner"}))}
    assert {*PANELS["实操01"], *PANELS["实操02"], "KP9"} <= examiners
    kp1 = ok(sup.get(f"{V1}/staff/KP1"))
    assert kp1["name"] == "考评员KP1" and "*" in kp1["id_number_masked"]
    assert {(a["session"], a["duty"], a["room"]) for a in kp1["assignments"]} == {
        (SESSION, "examiner", "实操01")
    }

    # tickets: the PDF built in a private folder that is gone afterwards; the QR token checked at the door
    before = leftovers()
    r = kaowu.post(f"{s}/tickets", json={"candidates": [t[1]]})
    assert ok(r).startswith(b"%PDF") and leftovers() == before
    assert (r.headers["content-type"], r.headers["cache-control"]) == ("application/pdf", "no-store")
    problem(kaowu.post(f"{s}/tickets", json={"candidates": ["BM0"]}), 404, says="not seated")
    token = print_tickets(sc.admin, SESSION, out=sc.tmp / "t.pdf", candidates=(t[1],))["first"]["token"]
    checked = ok(
        sup.post(
            f"{V1}/tickets/verify", json={"token": token, "on": EXAM_DAY.isoformat(), "session": SESSION}
        )
    )
    assert (checked["ticket"], checked["name"], checked["session"]) == (t[1], "考生001", SESSION)
    problem(
        sup.post(f"{V1}/tickets/verify", json={"token": token, "on": day.isoformat()}),
        422,
        says="this ticket is for",
    )
    problem(
        sup.post(f"{V1}/tickets/verify", json={"token": token[:-6] + "AAAAAA", "on": EXAM_DAY.isoformat()}),
        422,
    )

    # the door: the scanned token, 5 minutes late; person 4 absent; person 5 refused, 45 minutes late
    door = ok(
        kaowu.post(f"{s}/attendance", json={"ticket": token, "part": "theory", "at": at(9, 5).isoformat()})
    )
    assert (door["ticket"], door["status"], door["minutes_late"], door["admitted"]) == (t[1], "late", 5, True)
    for part in ("theory", "skill"):
        assert (
            ok(kaowu.post(f"{s}/attendance", json={"ticket": t[4], "part": part, "absent": True}))["status"]
            == "absent"
        )
    assert (
        ok(kaowu.post(f"{s}/attendance", json={"ticket": t[5], "at": at(9, 45).isoformat()}))["status"]
        == "refused"
    )
    problem(
        kaowu.post(f"{s}/attendance", json={"ticket": t[5], "at": at(9, 46).isoformat()}),
        409,
        says="written once",
    )
    room = ok(sup.get(f"{s}/attendance", params={"part": "theory"}))["rooms"]
    assert (
        sum(r["late"] for r in room) == 1
        and sum(r["refused"] for r in room) == 1
        and sum(r["absent"] for r in room) == 1
    )

    # a warning in the skill station, from an examiner on duty there
    n = next(k for k in (1, 2, 3) if sc.station[t[k]] == "实操01")
    v = ok(
        kaowu.post(
            f"{s}/violations",
            json={
                "ticket": t[n],
                "part": "skill",
                "tier": "warning",
                "proctor": "KP1",
                "at": at(14).isoformat(),
                "reason": "考试中交头接耳",
            },
        ),
        201,
    )
    assert (v["tier"], v["escalated"]) == ("warning", False)
    assert [(x["ticket"], x["tier"], x["proctor"]) for x in ok(sup.get(f"{s}/violations"))] == [
        (t[n], "warning", "KP1")
    ]

    # answer sheets and score sheets, uploaded (held in memory), then the results
    sc.keyed()  # the examiner's sealed marking key: imported with the examiner's identity file, not over HTTP
    sheet = sc.responses("答题卡.csv", responses_of(sc, theory_answers(sc))).read_bytes()
    r = ok(kaowu.post(f"{s}/responses/import", params={"wait": 30}, files=upload("答题卡.csv", sheet)))
    assert (r["candidates"], r["forms"]) == (3, {sc.paper: 3}), r
    scores = sc.sheet("评分记录.csv", sheet_rows(sc, SKILL)).read_bytes()
    r = ok(
        kaowu.post(
            f"{s}/scores/import", params={"wait": 30, "part": "skill"}, files=upload("评分.csv", scores)
        )
    )
    assert (r["scores"], r["candidates"]) == (15, 5)
    problem(
        kaowu.post(
            f"{s}/scores/review", json={"ticket": t[1], "score": 70, "chief": "KP9", "reason": "复核"}
        ),
        422,
        says="chief examiner",
    )
    forbidden(sup.post(f"{s}/results/compute"), "results.compute")
    assert ok(kaowu.post(f"{s}/results/compute")) == {
        "session": SESSION,
        "candidates": 6,
        "passed": 2,
        "absent": 2,
    }
    got = ok(sup.get(f"{s}/results"))
    assert (got["stage"], got["window"]) == ("computed", None)
    rows = {x["ticket"]: x for x in got["results"]}
    for k, (theory, skill, passed, status) in EXPECTED.items():
        x = rows[t[k]]
        assert (x["theory"], x["skill"], x["passed"]) == (theory, skill, passed), k
        assert x["status"] == ("computed" if status == "scored" else status), k
    assert rows[t[EXEMPT]]["note"] == "theory 免考"

    # publicity, an objection settled, release refused until the window has run; the export
    p = ok(kaowu.post(f"{s}/results/publicize", json={}))
    assert (p["opens"], p["release_on"], p["candidates"]) == (
        w.opens.isoformat(),
        w.release_on.isoformat(),
        6,
    )
    assert ok(sup.get(f"{s}/results"))["stage"] == "publicized"
    problem(
        kaowu.post(
            f"{s}/violations",
            json={
                "ticket": t[2],
                "part": "skill",
                "tier": "warning",
                "proctor": "KP1",
                "at": at(14).isoformat(),
                "reason": "x",
            },
        ),
        409,
        says="publicised",
    )
    objection = kaowu.post(f"{s}/results/objections", json={"ticket": t[2], "reason": "对操作技能评分有异议"})
    if w.opens <= day:  # the window opens on a working day: today, or the next one
        o = ok(objection, 201)
        assert o["ticket"] == t[2] and o["raised_on"] == day.isoformat()
        settled = ok(
            kaowu.post(f"{V1}/objections/{o['id']}/resolve", json={"resolution": "复核后维持原成绩"})
        )
        assert settled == {"id": o["id"], "resolved": True}
        again = kaowu.post(f"{V1}/objections/{o['id']}/resolve", json={"resolution": "again"})
        problem(again, 409, says="was settled")
    else:
        problem(objection, 409, says=f"{day} is outside")
    problem(kaowu.post(f"{s}/results/release"), 409, says=f"release from {w.release_on}")
    before = leftovers()
    zipped = zipfile.ZipFile(io.BytesIO(ok(kaowu.post(f"{s}/results/export"))))
    assert leftovers() == before
    names = sorted(zipped.namelist())
    assert [n.rsplit("_", 1)[1] for n in names] == ["成绩上报.csv", "成绩上报.xlsx", "成绩登记表.pdf"]
    upload_rows = list(csv.reader(io.StringIO(zipped.read(names[0]).decode("utf-8-sig"))))
    # the platform upload carries full ID numbers
    assert id_number(1) in {c for row in upload_rows for c in row}
    forbidden(sup.post(f"{s}/results/export"), "results.export")


def certificates(api: Api, sc: Scoring, day: date, w: calendar.Window) -> None:
    """After `sitting`: the results publicised, an objection settled."""
    kaowu, sup, adm = api.as_("kaowu"), api.as_("sup"), api.as_("adm")
    problem(kaowu.post(f"{V1}/sessions/{SESSION}/certificates"), 409, says="no released results")
    # five working days cannot pass in a test: the service releases, given the day
    release(sc.admin, SESSION, today=w.release_on)
    assert ok(sup.get(f"{V1}/sessions/{SESSION}/results"))["stage"] == "released"

    issued = ok(kaowu.post(f"{V1}/sessions/{SESSION}/certificates", json={}))
    assert len(issued) == 2 and {c["status"] for c in issued} == {"issued"}
    assert ok(kaowu.post(f"{V1}/sessions/{SESSION}/certificates")) == []  # a second run issues nothing new
    listed = ok(sup.get(f"{V1}/certificates", params={"session": SESSION, "status": "issued"}))
    assert sorted(c["number"] for c in listed) == sorted(c["number"] for c in issued)
    a, b = sorted(c["number"] for c in issued)
    assert a.startswith(f"S000136360101{day.year % 100:02d}3")

    fields = ok(sup.get(f"{V1}/certificate-numbers/{a}"))
    assert (fields["kind"], fields["province"], fields["site"], fields["level"]) == ("S", "36", "360101", 3)
    problem(sup.get(f"{V1}/certificate-numbers/S0001"), 422)
    shown = ok(sup.get(f"{V1}/certificates/{a}"))
    assert (shown["status"], shown["replaced_by"], [e["action"] for e in shown["history"]]) == (
        "issued",
        None,
        ["issued"],
    )

    token = ok(kaowu.get(f"{V1}/certificates/{a}/token"))["token"]
    genuine = ok(sup.post(f"{V1}/certificates/verify", json={"token": token}))
    assert (genuine["number"], genuine["level"], genuine["status_checked"], genuine["status"]) == (
        a,
        3,
        True,
        "issued",
    )
    assert genuine["name"] in ("考生001", "考生006") and "*" in genuine["id_number_masked"]
    offline = ok(sup.post(f"{V1}/certificates/verify", json={"token": token, "ledger": False}))
    assert offline["status_checked"] is False
    assert ok(kaowu.get(f"{V1}/certificates/{a}/pdf")).startswith(b"%PDF")
    forbidden(sup.get(f"{V1}/certificates/{a}/pdf"), "certificate.issue")

    forbidden(
        sup.post(f"{V1}/certificates/{b}/revoke", json={"reason": "考试舞弊被查实"}), "certificate.revoke"
    )
    assert (
        ok(adm.post(f"{V1}/certificates/{b}/revoke", json={"reason": "考试舞弊被查实"}))["status"]
        == "revoked"
    )
    problem(kaowu.get(f"{V1}/certificates/{b}/token"), 409, says="revoked")
    assert ok(kaowu.post(f"{V1}/certificates/{a}/void", json={"reason": "姓名印错"}))["status"] == "voided"
    problem(sup.post(f"{V1}/certificates/verify", json={"token": token}), 422, says="voided")
    problem(kaowu.post(f"{V1}/certificates/{a}/void", json={"reason": "again"}), 409)
    ledger = ok(sup.get(f"{V1}/certificates/ledger", params={"number": b}))
    assert [e["action"] for e in ledger] == ["issued", "revoked"]
    assert [c["number"] for c in ok(sup.get(f"{V1}/certificates", params={"status": "revoked"}))] == [b]


def test_a_registration_form_uploaded_and_every_refusal_a_problem(
    api: Api,
    planned: Any,  # noqa: F811  (the imported fixture)
    tmp_path: Path,
) -> None:
    kaowu, sup, cust, printer = (api.as_(u) for u in ("kaowu", "sup", "cust", "printer"))
    form = write_form(tmp_path / "报名表.xlsx", [person(n) for n in (1, 2, 3)]).read_bytes()

    # forbidden: a bare 403, and nothing registered
    forbidden(
        printer.post(
            f"{V1}/candidates/import", params={"plan": YEAR, "wait": 30}, files=upload("f.xlsx", form)
        ),
        "candidate.manage",
    )
    forbidden(cust.get(f"{V1}/candidates"), "candidate.read")
    forbidden(printer.get(f"{V1}/sessions"), "session.read")
    forbidden(cust.get(f"{V1}/staff"), "staff.read")
    forbidden(cust.get(f"{V1}/certificates"), "certificate.read")
    forbidden(sup.post(f"{V1}/sessions/X/attendance", json={"ticket": "1"}), "attendance.record")
    assert ok(sup.get(f"{V1}/candidates")) == []

    r = ok(
        kaowu.post(
            f"{V1}/candidates/import", params={"plan": YEAR, "wait": 30}, files=upload("报名表.xlsx", form)
        )
    )
    assert (r["file"], r["registered"], r["accepted"], r["refused"]) == ("报名表.xlsx", 3, 3, 0)
    rows = ok(sup.get(f"{V1}/candidates", params={"plan": YEAR, "status": "accepted"}))
    assert [c["name"] for c in rows] == ["考生001", "考生002", "考生003"] and all(
        "id_number" not in c for c in rows
    )
    forbidden(sup.get(f"{V1}/candidates", params={"full_ids": True}), "candidate.identity")
    full = ok(kaowu.get(f"{V1}/candidates", params={"full_ids": True}))
    assert [c["id_number"] for c in full] == [id_number(n) for n in (1, 2, 3)]
    again = problem(
        kaowu.post(
            f"{V1}/candidates/import", params={"plan": YEAR, "wait": 30}, files=upload("报名表.xlsx", form)
        ),
        422,
        says="nothing was imported",
    )
    assert len(again["errors"]) == 3 and all("already registered" in e["reason"] for e in again["errors"])
    problem(
        kaowu.post(
            f"{V1}/candidates/import", params={"plan": YEAR, "wait": 30}, files=upload("form.txt", form)
        ),
        422,
        says="must be one of",
    )

    # bad input: 422 naming the field, before any service runs
    bad = [
        (kaowu.get, f"{V1}/candidates", {"params": {"level": 9}}, "level"),
        (kaowu.get, f"{V1}/candidates", {"params": {"session": "a\x00b"}}, "session"),
        (kaowu.get, f"{V1}/plans/1999", {}, "year"),
        (
            kaowu.post,
            f"{V1}/candidates/import",
            {"params": {"plan": 99999}, "files": upload("f.xlsx", form)},
            "plan",
        ),
        (
            kaowu.post,
            f"{V1}/candidates/import",
            {"params": {"plan": YEAR, "encoding": "utf 8"}, "files": upload("f.csv", b"")},
            "encoding",
        ),
        (
            kaowu.post,
            f"{V1}/sessions/S/attendance",
            {"json": {"ticket": "1", "at": "2026-12-12T09:05:00"}},
            "at",
        ),
        (
            kaowu.post,
            f"{V1}/sessions/S/attendance",
            {"json": {"ticket": "1", "at": "0001-01-01T00:00:00+14:00"}},
            "at",
        ),
        (kaowu.post, f"{V1}/sessions/S/attendance", {"json": {"ticket": "1", "part": "lunch"}}, "part"),
        (kaowu.post, f"{V1}/sessions/S/attendance", {"json": {"ticket": "1\x00"}}, "ticket"),
        (
            kaowu.post,
            f"{V1}/sessions/S/violations",
            {
                "json": {
                    "ticket": "1",
                    "part": "skill",
                    "tier": "bogus",
                    "proctor": "K",
                    "at": "2026-12-12T09:00:00+08:00",
                    "reason": "r",
                }
            },
            "tier",
        ),
        (
            kaowu.post,
            f"{V1}/sessions/S/violations",
            {
                "json": {
                    "ticket": "1",
                    "part": "skill",
                    "tier": "warning",
                    "proctor": "K",
                    "at": "2026-12-12T09:00",
                    "reason": "r",
                }
            },
            "at",
        ),
        (kaowu.post, f"{V1}/sessions/S/results/publicize", {"json": {"start": "2026-13-01"}}, "start"),
        (kaowu.post, f"{V1}/sessions/S/results/publicize", {"json": {"start": "9999-12-31"}}, "start"),
        (
            kaowu.post,
            f"{V1}/sessions/S/results/objections",
            {"json": {"ticket": "1", "reason": "x" * 401}},
            "reason",
        ),
        (kaowu.post, f"{V1}/objections/0/resolve", {"json": {"resolution": "ok"}}, "objection_id"),
        (
            kaowu.post,
            f"{V1}/sessions/S/scores/review",
            {"json": {"ticket": "1", "score": 101, "chief": "C", "reason": "r"}},
            "score",
        ),
        (
            kaowu.post,
            f"{V1}/sessions/S/scores/import",
            {"params": {"part": "theory"}, "files": upload("f.csv", b"")},
            "part",
        ),
        (
            kaowu.post,
            f"{V1}/sessions/S/responses/import",
            {"params": {"source": "ocr"}, "files": upload("f.csv", b"")},
            "source",
        ),
        (kaowu.post, f"{V1}/sessions/S/certificates", {"json": {"on": "1900-01-01"}}, "on"),
        (kaowu.post, f"{V1}/certificates/verify", {"json": {"token": ""}}, "token"),
        (kaowu.post, f"{V1}/tickets/verify", {"json": {"token": "x" * 4001}}, "token"),
        (kaowu.get, f"{V1}/sessions/{'x' * 41}", {}, "code"),
        (kaowu.get, f"{V1}/certificates", {"params": {"status": "lost"}}, "status"),
        (kaowu.get, f"{V1}/staff", {"params": {"status": "gone"}}, "status"),
    ]
    for call, url, kw, field in bad:
        problem(call(url, **kw), 422, field=field)

    # what the services refuse: still a problem document, never a 500
    problem(
        kaowu.post(f"{V1}/tickets/verify", json={"token": "x"}), 404, says="no signing key"
    )  # none made yet
    key = str(SigningKey.generate("某技师学院").verify_key)
    deep = "EV1." + base64.urlsafe_b64encode(b"[" * 2900).decode().rstrip("=") + ".AAAA"
    for token in ("garbage", deep, "EV1.!!.!!", "EV1.e30.AAAA"):
        problem(kaowu.post(f"{V1}/tickets/verify", json={"token": token, "trusted_key": key}), 422)
        problem(kaowu.post(f"{V1}/certificates/verify", json={"token": token, "trusted_key": key}), 422)
    problem(kaowu.post(f"{V1}/sessions/S/attendance", json={"ticket": deep}), 404)
    problem(kaowu.post(f"{V1}/tickets/verify", json={"token": "x", "trusted_key": "not a key"}), 422)
    problem(kaowu.get(f"{V1}/sessions/NOPE"), 404)
    problem(kaowu.get(f"{V1}/candidates/NOPE"), 404)
    problem(kaowu.get(f"{V1}/staff/NOPE"), 404)
    problem(kaowu.get(f"{V1}/plans/2001"), 404)
    problem(kaowu.get(f"{V1}/certificates/S000136360101263000001"), 404)
    problem(kaowu.get(f"{V1}/certificates/ABC"), 422)
    problem(kaowu.post(f"{V1}/sessions/NOPE/results/compute"), 404)
    problem(kaowu.post(f"{V1}/sessions/NOPE/tickets"), 404)
    problem(kaowu.post(f"{V1}/sessions/NOPE/results/export"), 404)
    problem(
        kaowu.post(
            f"{V1}/sessions/NOPE/violations",
            json={
                "ticket": "1",
                "part": "skill",
                "tier": "warning",
                "proctor": "K",
                "reason": "r",
                "at": (datetime.now().astimezone() + timedelta(days=1)).isoformat(),
            },
        ),
        422,
        says="future",
    )
    problem(kaowu.post(f"{V1}/objections/2147483647/resolve", json={"resolution": "ok"}), 404)
    problem(
        kaowu.post(
            f"{V1}/sessions/S/scores/import", params={"wait": 30}, files=upload("f.csv", b"\xff\xfe\x00")
        ),
        422,
    )
    problem(kaowu.get(f"{V1}/certificates/ledger", params={"serial": "NOPE"}), 404)
