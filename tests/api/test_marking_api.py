"""Blind double marking over HTTP, on the sitting of tests/scoring/test_marking.py (form A with two 5-point
简答, numbers 17 and 18, marking points 3 + 2; persons 1–3 write it, their booklets sealed as 80001–80003).

Exam administration uploads the 密封登记 and assigns markers; each marker opens their signing key once per
login session, reads their queue and the marking screen (密封号, item, 评分要点 — never a candidate),
and enters marks point by point; status and history show the signed marks; 统分 ≠ 复核; unmasking last.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from examvault.crypto.signing import SigningKey
from examvault.scoring.responses import import_responses
from tests.api.conftest import Api, give_passwords
from tests.registration.conftest import planned  # noqa: F401  (fixture, by name)
from tests.scoring.conftest import SESSION, Scoring, scoring, write_csv  # noqa: F401  (scoring: the fixture)
from tests.scoring.test_marking import (  # noqa: F401  (sealable: form A with two 简答, the fixture)
    LEADER,
    MARKERS,
    SEALS,
    Blind,
    objective_items,
    prepared,
    sealable,
)
from tests.scoring.test_scoring_flow import all_right, door, mixed, sixty

SIGN_PASS = "签名口令-marking-api"
M = f"/api/v1/marking/{SESSION}"


def problem(r: httpx.Response, status: int, match: str = "") -> dict[str, Any]:
    """A problem document with that status, whose detail says `match`; it carries no data."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert set(body) <= {"type", "title", "status", "detail", "errors"} and body["status"] == status, body
    assert match in body["detail"], body
    return body


def load_key(api: Api, b: Blind, user: str) -> httpx.Response:
    return api.as_(user).post(
        "/api/v1/marking/signing-key",
        json={"sign_key": b.keys[user].file_text(SIGN_PASS), "passphrase": SIGN_PASS},
    )


def marks(api: Api, user: str, seal: str, number: int, points: list[Any], reason: str = "") -> httpx.Response:
    return api.as_(user).post(
        f"{M}/scripts/{seal}/items/{number}/marks", json={"points": points, "reason": reason}
    )


def ready(api: Api, b: Blind) -> None:
    give_passwords(api.bank_as, [*MARKERS, LEADER])
    for user in (*MARKERS, LEADER):
        assert load_key(api, b, user).status_code == 200


def test_markers_mark_blind_through_http_with_their_held_keys_and_the_seal_opens_last(
    api: Api,
    scoring: Scoring,  # noqa: F811
) -> None:
    sc = scoring
    sc.keyed()
    door(sc)
    items = objective_items(sc)
    answers = {1: sixty(items), 2: all_right(items), 3: mixed(items)[0]}
    write_csv(
        sc.tmp / "答题卡.csv",
        ["准考证号", "卷别", *map(str, range(1, 17))],
        [[sc.tickets[n], "A", *a] for n, a in answers.items()],
    )
    import_responses(sc.admin, SESSION, sc.tmp / "答题卡.csv")
    b = Blind(sc)
    give_passwords(api.bank_as, [*MARKERS, LEADER])
    kaowu, m1, m2, m3 = api.as_("kaowu"), api.as_("m1"), api.as_("m2"), api.as_("m3")
    tickets = set(sc.tickets.values())

    # the sealing staff's register, uploaded by exam administration: checked whole, then sealed
    bad = "准考证号,卷别,密封号\n" + "\n".join(
        [f"{sc.tickets[1]},A,80001", f"{sc.tickets[4]},A,80009", f"{sc.tickets[2]},A,8x"]
    )
    body = problem(kaowu.post(f"{M}/seal", files={"file": ("密封登记.csv", bad.encode())}), 422, "nothing")
    assert {e["field"] for e in body["errors"]} == {"row 3, A (准考证号)", "row 4, C (密封号)"}, body
    register = "准考证号,卷别,密封号\n" + "\n".join(f"{sc.tickets[n]},A,{code}" for n, code in SEALS.items())
    problem(m1.post(f"{M}/seal", files={"file": ("密封登记.csv", register.encode())}), 403, "marking.seal")
    problem(
        kaowu.post(f"{M}/seal", files={"file": ("密封登记.txt", register.encode())}), 422, "must be one of"
    )
    r = kaowu.post(f"{M}/seal", files={"file": ("密封登记.csv", register.encode())})
    assert r.status_code == 200 and r.json() == {"session": SESSION, "scripts": 3, "total": 3}, r.text
    problem(
        m1.post(f"{M}/assign", json={"items": [17, 18], "markers": ["m1", "m2", "m3"], "leader": LEADER}),
        403,
        "marking.assign",
    )
    problem(
        kaowu.post(f"{M}/assign", json={"items": [17], "markers": ["m1"], "leader": LEADER}), 422, "markers"
    )
    r = kaowu.post(f"{M}/assign", json={"items": [17, 18], "markers": list(MARKERS), "leader": LEADER})
    assert r.status_code == 200 and r.json()["items"] == [f"{sc.paper}#17", f"{sc.paper}#18"], r.text

    # no key held: marks are refused, telling the examiner what to do; then the key, never echoed back
    problem(marks(api, "m1", "80001", 17, [2, 1]), 409, "load your signing key first")
    assert m1.get("/api/v1/marking/signing-key").json() == {"loaded": False}
    r = load_key(api, b, "m1")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "loaded": True,
        "name": "m1",
        "key_id": b.keys["m1"].verify_key.key_id,
        "verify_key": str(b.keys["m1"].verify_key),
    }
    assert m1.get("/api/v1/marking/signing-key").json()["key_id"] == b.keys["m1"].verify_key.key_id

    # the queue and the marking screen: coded scripts, the item's 评分要点, the marker's role
    q = m1.get(f"{M}/queue")
    assert q.status_code == 200, q.text
    assert q.json() == [
        {"script": s, "number": n, "as": "first", "marking_points": [3.0, 2.0]}
        for s in sorted(SEALS.values())
        for n in (17, 18)
    ]
    screen = m1.get(f"{M}/scripts/80002/items/18")
    assert screen.status_code == 200, screen.text
    assert screen.json() | {"answer_note": ""} == {
        "session": SESSION,
        "script": "80002",
        "number": 18,
        "as": "first",
        "as_label": "一评",
        "points": 5.0,
        "marking_points": [{"point": 1, "max": 3.0}, {"point": 2, "max": 2.0}],
        "answer": None,
        "answer_note": "",
        # the 评分要点 as written, from the sealed marking key (its reference answer is empty in this fixture)
        "reference": {"number": 18, "answer": "", "rubric": "要点1（3分）：原理；要点2（2分）：步骤。"},
    }
    problem(m1.get(f"{M}/scripts/99999/items/17"), 404, "not in your queue")

    # both markers, point by point; person 3's item 17 is 3.5 apart → a third marker
    plan = {
        (1, 17): ([2, 1], [2.5, 1]),
        (1, 18): ([1, 1], [1, 0.5]),
        (2, 17): ([3, 2], [3, 2]),
        (2, 18): ([3, 2], [2.5, 1.5]),
        (3, 17): ([3, 2], [1, 0.5]),
        (3, 18): ([2, 1], [2, 2]),
    }
    seen = [q.text, screen.text]
    for (n, item), (first, _) in plan.items():
        r = marks(api, "m1", SEALS[n], item, first)
        assert r.status_code == 200 and r.json() == {
            "script": SEALS[n],
            "number": item,
            "role": "first",
            "total": sum(first),
            "changed": False,
        }, r.text
        seen.append(r.text)
    assert m1.get(f"{M}/queue").json() == []
    assert load_key(api, b, "m2").status_code == 200
    q2 = m2.get(f"{M}/queue")
    assert [(e["script"], e["number"], e["as"]) for e in q2.json()] == [
        (s, n, "second") for s in sorted(SEALS.values()) for n in (17, 18)
    ]
    assert "m1" not in q2.text and "total" not in q2.text  # another marker's marks are not shown
    for (n, item), (_, second) in plan.items():
        r = marks(api, "m2", SEALS[n], item, second)
        assert r.status_code == 200 and r.json()["role"] == "second", r.text
    # a change needs a reason, and keeps the history
    problem(marks(api, "m2", "80001", 17, [3, 1]), 422, "a change says why")
    r = marks(api, "m2", "80001", 17, [3, 1], reason="要点1漏看，补给分")
    assert r.status_code == 200 and r.json()["changed"] is True, r.text
    # markers never see the marks on a script, nor its candidate
    problem(m1.get(f"{M}/scripts/80001/history"), 403, "markers mark blind")
    assert load_key(api, b, "m3").status_code == 200
    q3 = m3.get(f"{M}/queue")
    assert q3.json() == [{"script": "80003", "number": 17, "as": "third", "marking_points": [3.0, 2.0]}], (
        q3.text
    )
    seen += [q2.text, q3.text, m3.get(f"{M}/scripts/80003/items/17").text]
    r = marks(api, "m3", "80003", 17, [2.5, 1.5])  # 4 is within 1 of the second's 5: averaged with it
    assert r.status_code == 200 and r.json()["role"] == "third", r.text

    # status and history, for exam administration: what was entered, each signature valid
    st = kaowu.get(f"{M}/status")
    assert st.status_code == 200, st.text
    assert [(i["number"], i["settled"], i["third"], i["awaiting_leader"]) for i in st.json()["items"]] == [
        (17, 3, 0, 0),
        (18, 3, 0, 0),
    ]
    assert st.json()["scripts"] == 3 and st.json()["total"] is None
    h = kaowu.get(f"{M}/scripts/80001/history")
    assert h.status_code == 200, h.text
    rows = [
        (m["number"], m["marker"], m["role"], m["points"], m["current"], m["signature_valid"])
        for m in h.json()["marks"]
    ]
    assert rows == [
        (17, "m1", "first", [2.0, 1.0], True, True),
        (17, "m2", "second", [2.5, 1.0], False, True),
        (17, "m2", "second", [3.0, 1.0], True, True),
        (18, "m1", "first", [1.0, 1.0], True, True),
        (18, "m2", "second", [1.0, 0.5], True, True),
    ]
    assert h.json()["items"] == {
        "17": {"score": 3.5, "how": "两评平均", "needs": None},
        "18": {"score": 1.75, "how": "两评平均", "needs": None},
    }
    h3 = kaowu.get(f"{M}/scripts/80003/history").json()
    assert h3["items"]["17"] == {"score": 4.5, "how": "三评与相近一评平均", "needs": None}
    assert all(m["signature_valid"] for m in h3["marks"])
    lead = api.as_(LEADER).get(f"{M}/scripts/80003/history")  # the group leader sees the items they lead
    assert lead.status_code == 200 and len(lead.json()["marks"]) == 5, lead.text
    seen += [st.text, h.text]

    # the seal stays closed: no candidate anywhere, unmasking refused until 统分 and 复核
    assert not any(t in text for text in seen for t in tickets)
    problem(kaowu.post(f"{M}/unmask"), 409, "not totalled")
    t = m1.post(f"{M}/total")
    assert t.status_code == 200 and t.json()["scripts"] == 3, t.text
    assert t.json()["mean"] == pytest.approx(((3.5 + 1.75) + (5 + 4.5) + (4.5 + 3.5)) / 3)
    problem(marks(api, "m1", "80001", 17, [3, 2], reason="复查"), 409, "marks are fixed")
    problem(m1.post(f"{M}/check"), 403, "cannot also check")
    m2.delete("/api/v1/marking/signing-key")
    problem(m2.post(f"{M}/check"), 409, "load your signing key first")
    assert load_key(api, b, "m2").status_code == 200
    c = m2.post(f"{M}/check")
    assert c.status_code == 200 and c.json()["checked"] is True and c.json()["totaller"] == "m1", c.text
    problem(m1.post(f"{M}/unmask"), 403, "marking.unmask")
    u = kaowu.post(f"{M}/unmask")
    assert u.status_code == 200 and u.json() == {"session": SESSION, "scripts": 3}, u.text
    done = kaowu.get(f"{M}/status").json()
    assert done["total"]["by"] == "m1" and done["check"]["by"] == "m2" and done["unmask"]["by"] == "kaowu"


def test_wrong_roles_get_403_and_bad_input_422_naming_the_field(
    api: Api,
    scoring: Scoring,  # noqa: F811
) -> None:
    sc = scoring
    b = prepared(sc)
    ready(api, b)
    m1 = api.as_("m1")
    # roles: the permission is named, and no data comes back
    for user, method, path, permission in [
        ("sup", "post", f"{M}/scripts/80001/items/17/marks", "marking.mark"),
        ("cust", "get", f"{M}/queue", "marking.mark"),
        ("cust", "get", f"{M}/status", "marking.read"),
        ("kaowu", "post", f"{M}/total", "marking.total"),
        ("kaowu", "post", "/api/v1/marking/signing-key", "marking.mark"),
    ]:
        kw = {"json": {"points": [1, 1], "sign_key": "x", "passphrase": "x"}} if method == "post" else {}
        problem(getattr(api.as_(user), method)(path, **kw), 403, permission)
    problem(api.anon.get(f"{M}/queue"), 401)

    # points: each within its marking point, in half points, as many as the item has
    problem(marks(api, "m1", "80001", 17, [3.5, 0]), 422, "marking point 1 of item 17: 3.5 is not 0–3")
    problem(marks(api, "m1", "80001", 17, [1.25, 0]), 422, "half points")
    problem(marks(api, "m1", "80001", 17, [3]), 422, "2 marking point")
    for points, field in [
        (["x", 1], "points.0"),
        ([1, -1], "points.1"),
        ([], "points"),
        ([1] * 51, "points"),
        ("3,1", "points"),
        ([1, True], "points.1"),
    ]:
        body = problem(marks(api, "m1", "80001", 17, points), 422)
        assert field in [e["field"] for e in body["errors"]], (points, body)
    for raw in (b'{"points": [NaN, 1]}', b'{"points": [Infinity, 1]}', b'{"points": [1e999, 1]}'):
        r = m1.post(
            f"{M}/scripts/80001/items/17/marks", content=raw, headers={"content-type": "application/json"}
        )
        assert "points.0" in [e["field"] for e in problem(r, 422)["errors"]], raw
    assert "reason" in [
        e["field"] for e in problem(marks(api, "m1", "80001", 17, [1, 1], reason="坏\x00"), 422)["errors"]
    ]
    assert "reason" in [
        e["field"] for e in problem(marks(api, "m1", "80001", 17, [1, 1], reason="长" * 401), 422)["errors"]
    ]
    problem(
        m1.post(
            f"{M}/scripts/80001/items/17/marks", content=b"{", headers={"content-type": "application/json"}
        ),
        422,
    )
    # paths: the 密封号, the item number and the session code are bounded
    for path, field in [
        (f"{M}/scripts/8-01/items/17/marks", "seal_code"),
        (f"{M}/scripts/80001/items/0/marks", "number"),
        (f"{M}/scripts/80001/items/x/marks", "number"),
        (f"{M}/scripts/{'9' * 17}/items/17/marks", "seal_code"),
        ("/api/v1/marking/bad%00code/scripts/80001/items/17/marks", "session_code"),
    ]:
        body = problem(m1.post(path, json={"points": [1, 1]}), 422)
        assert field in [e["field"] for e in body["errors"]], (path, body)
    problem(marks(api, "m1", "99999", 17, [1, 1]), 404, "no script with 密封号 99999")
    problem(m1.get("/api/v1/marking/no-such-session/queue"), 404)
    problem(m1.get(f"{M}/queue?limit=0"), 422, "limit")
    problem(
        api.as_("kaowu").post(f"{M}/assign", json={"items": [17], "markers": ["m1", "m2"], "leader": "m1"}),
        422,
        "also a marker",
    )
    problem(
        api.as_("kaowu").post(
            f"{M}/assign", json={"items": [17], "markers": ["m1", "m2"], "leader": LEADER, "threshold": 0}
        ),
        422,
    )
    problem(
        api.as_("kaowu").post(f"{M}/seal?encoding=no-such", files={"file": ("a.csv", b"x")}),
        422,
        "cannot decode",
    )

    # signing keys: only your own, only with its passphrase, and no file makes the server work without bound
    def load(user: str, text: str, passphrase: str = SIGN_PASS) -> httpx.Response:
        return api.as_(user).post(
            "/api/v1/marking/signing-key", json={"sign_key": text, "passphrase": passphrase}
        )

    good = b.keys["m2"].file_text(SIGN_PASS)
    problem(load("m2", good, "wrong passphrase"), 401, "wrong passphrase")
    problem(load("m1", good), 422, "'m2''s")
    problem(load("m1", "not a key"), 422, "not an examvault signing-key file")
    problem(load("m1", "[" * 3000), 422, "not an examvault signing-key file")
    for kdf in (
        {"kdf": "argon2id", "memory_kib": 2**31, "iterations": 2, "lanes": 1},
        {"kdf": "argon2id", "memory_kib": 19456, "iterations": 10**9, "lanes": 1},
        {"kdf": "scrypt", "n": 2**30, "r": 8, "p": 1},
        {"kdf": "argon2id", "memory_kib": "lots", "iterations": 2, "lanes": 1},
        {"kdf": "argon2id", "memory_kib": 1, "iterations": 2, "lanes": 1},
        {"kdf": "scrypt", "n": 3, "r": 8, "p": 1},
    ):
        doc = json.loads(good) | {"kdf": kdf}
        problem(load("m2", json.dumps(doc)), 422)
    problem(load("m1", "x" * 4001), 422, "sign_key")
    problem(load("m1", "a\x00b"), 422, "sign_key")
    # a key of the right name that is not the one registered: refused at the first mark, nothing stored
    assert load("m1", SigningKey.generate("m1").file_text(SIGN_PASS)).status_code == 200
    problem(marks(api, "m1", "80001", 17, [1, 1]), 403, "not the one registered")
    assert api.as_("kaowu").get(f"{M}/scripts/80001/history").json()["marks"] == []
