"""The service's own rules: the seal, logins, tokens, the console's CSRF check, headers and problem documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from examvault.accounts.credentials import MAX_FAILURES
from examvault.accounts.models import AuthToken, User
from examvault.crypto.service import split_root
from tests.api.conftest import PASSWORD, Api
from tests.conftest import PASSPHRASE


def _audit(api: Api, action: str) -> list[dict]:
    from examvault.accounts.admin import audit_trail

    return audit_trail(api.bank_as("sup"), action=action)


def test_a_sealed_server_answers_only_status_health_and_unseal(sealed_api: Api) -> None:
    c = sealed_api.anon
    assert c.get("/api/v1/sys/health").json() == {"status": "ok"}
    assert c.get("/api/v1/sys/seal-status").json()["sealed"] is True
    for method, path in [("get", "/api/v1/items"), ("post", "/api/v1/auth/login"), ("get", "/openapi.json"),
                         ("get", "/api/v1/sys/ready"), ("get", "/api/v1/audit")]:  # fmt: skip
        r = getattr(c, method)(path)
        assert r.status_code == 503 and r.json()["title"] == "sealed", (path, r.text)
    r = c.get("/console/items", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/unseal"
    assert "服务已密封" in c.get("/console/unseal").text


def test_unseal_with_k_shares_one_request_each_then_seal_forgets(sealed_api: Api) -> None:
    words = split_root(sealed_api.bank_as("cust"), 3, 2)
    c = sealed_api.anon
    r = c.post("/api/v1/sys/unseal", json={"share": words[0]})
    assert r.json() == {"sealed": True, "threshold": 2, "progress": 1, "timeout_seconds": 600}
    assert c.post("/api/v1/sys/unseal", json={"share": words[0]}).status_code == 409  # the same share twice
    assert c.get("/api/v1/items").status_code == 503
    assert c.post("/api/v1/sys/unseal", json={"share": words[2]}).json()["sealed"] is False
    cust = sealed_api.as_("cust")
    assert cust.get("/api/v1/items").status_code == 200
    # Audited by index and progress; the words appear nowhere in the audit trail.
    shares = _audit(sealed_api, "vault.share")
    assert [e["details"]["index"] for e in reversed(shares)] == [1, 3]
    assert not any(words[0].split()[3] in str(e) for e in _audit(sealed_api, "vault"))
    # Seal: only custodians/admins; afterwards everything but status is refused again.
    assert sealed_api.as_("rev").post("/api/v1/sys/seal").status_code == 403
    assert cust.post("/api/v1/sys/seal").json()["sealed"] is True
    assert cust.get("/api/v1/items").status_code == 503


def test_bad_shares_and_passphrases_are_refused_and_reset_progress(sealed_api: Api) -> None:
    words = split_root(sealed_api.bank_as("cust"), 3, 2)
    other = split_root(sealed_api.bank_as("cust"), 3, 2)  # a second split: its shares do not mix with the first's
    c = sealed_api.anon
    mangled = words[1].split()
    mangled[5] = "academic" if mangled[5] != "academic" else "acid"
    r = c.post("/api/v1/sys/unseal", json={"share": " ".join(mangled)})
    assert r.status_code == 401 and "corrupt or mistyped" in r.json()["detail"] and mangled[5] not in r.text
    c.post("/api/v1/sys/unseal", json={"share": words[0]})
    r = c.post("/api/v1/sys/unseal", json={"share": other[1]})
    assert r.status_code == 401 and "different split" in r.json()["detail"]
    assert c.get("/api/v1/sys/seal-status").json()["progress"] == 0
    assert c.post("/api/v1/sys/unseal", json={"passphrase": "not the passphrase"}).status_code == 401
    r = c.post("/api/v1/sys/unseal", json={"share": words[0], "passphrase": PASSPHRASE})
    assert r.status_code == 422 and "exactly one" in r.text
    assert c.get("/api/v1/sys/seal-status").json()["sealed"] is True


def test_unseal_progress_times_out(sealed_api: Api) -> None:
    words = split_root(sealed_api.bank_as("cust"), 3, 2)
    sealed_api.app.state.server.vault.timeout = 0.0
    c = sealed_api.anon
    c.post("/api/v1/sys/unseal", json={"share": words[0]})
    assert c.get("/api/v1/sys/seal-status").json()["progress"] == 0


def test_login_lockout_after_five_wrong_passwords_and_generic_messages(api: Api) -> None:
    c = api.anon
    unknown = c.post("/api/v1/auth/login", json={"username": "nobody", "password": "x" * 12})
    wrong = c.post("/api/v1/auth/login", json={"username": "rev", "password": "x" * 12})
    assert unknown.status_code == wrong.status_code == 401 and unknown.json()["detail"] == wrong.json()["detail"]
    for _ in range(MAX_FAILURES - 1):
        c.post("/api/v1/auth/login", json={"username": "rev", "password": "y" * 12})
    locked = c.post("/api/v1/auth/login", json={"username": "rev", "password": PASSWORD})
    assert locked.status_code == 423 and "locked" in locked.json()["detail"]
    assert _audit(api, "auth.lockout")
    assert api.as_("adm").post("/api/v1/users/rev/unlock").status_code == 200
    assert c.post("/api/v1/auth/login", json={"username": "rev", "password": PASSWORD}).status_code == 200


def test_login_attempts_per_client_are_rate_limited(api: Api) -> None:
    api.app.state.server.logins.limit = 3
    codes = [api.anon.post("/api/v1/auth/login", json={"username": "rev", "password": "z" * 12}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_api_tokens_are_stored_hashed_act_as_their_user_and_can_be_revoked(api: Api) -> None:
    cust = api.as_("cust")
    made = cust.post("/api/v1/auth/tokens", json={"name": "nightly export", "days": 7})
    assert made.status_code == 201
    token = made.json()["token"]
    with api.bank_as("cust").transaction() as s:
        hashes = list(s.scalars(select(AuthToken.token_hash)))
        assert token not in hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    script = TestClient(api.app, headers={"authorization": f"Bearer {token}"})
    assert script.get("/api/v1/auth/me").json()["username"] == "cust"
    token_id = cust.get("/api/v1/auth/tokens").json()[0]["id"]
    assert api.as_("rev").delete(f"/api/v1/auth/tokens/{token_id}").status_code == 404  # not theirs
    assert cust.delete(f"/api/v1/auth/tokens/{token_id}").status_code == 200
    assert script.get("/api/v1/auth/me").status_code == 401


def test_passwords_are_argon2id_and_a_new_password_ends_sessions(api: Api) -> None:
    rev = api.as_("rev")
    with api.bank_as("cust").transaction() as s:
        stored = s.scalars(select(User.password_hash).where(User.username == "rev")).one()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and PASSWORD not in stored
    short = rev.post("/api/v1/auth/password", json={"password": "short"})
    assert short.status_code == 422 and "at least" in short.json()["detail"]
    assert rev.post("/api/v1/auth/password", json={"username": "cust", "password": "another-password-1"}).status_code == 403
    assert rev.post("/api/v1/auth/password", json={"password": "another-password-1"}).status_code == 200
    assert rev.get("/api/v1/auth/me").status_code == 401


def test_console_forms_need_the_csrf_token_and_cookies_are_locked_down(api: Api) -> None:
    c = TestClient(api.app, base_url="https://testserver")  # Secure cookies travel over https only
    page = c.get("/console/login")
    login_csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = c.post("/console/login", data={"username": "cust", "password": PASSWORD, "csrf": login_csrf}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    home = c.get("/console")
    assert home.status_code == 200 and "题库" in home.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)
    forged = c.post("/console/logout", data={"csrf": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403 and c.get("/console").status_code == 200
    assert c.post("/console/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert c.get("/console", follow_redirects=False).headers["location"].startswith("/console/login")


def test_security_headers_and_no_store(api: Api) -> None:
    r = api.as_("cust").get("/api/v1/items")
    h = r.headers
    assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in h["content-security-policy"] and h["cache-control"] == "no-store"
    assert api.anon.get("/api/v1/sys/seal-status").headers["referrer-policy"] == "no-referrer"


def test_errors_are_problem_documents_naming_the_field(api: Api) -> None:
    cust = api.as_("cust")
    r = cust.get("/api/v1/items", params={"level": 9})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "level"
    r = cust.patch("/api/v1/items/X", json={"changes": {"题干": "a\x00b"}})
    assert r.status_code == 422 and "changes" in r.json()["errors"][0]["field"]
    r = api.anon.get("/api/v1/items")
    assert r.status_code == 401 and r.json()["title"] == "not logged in"


def test_an_uploaded_item_file_never_reaches_the_disk(api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import tempfile

    from tests.conftest import item_row

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    marker = "上传明文标记九三七"
    rows = [item_row(题干=marker + "三相异步电动机采用Y-△降压启动时，启动电流是直接启动时的（　）。")]
    r = api.as_("cust").post("/api/v1/items/import", params={"wait": 30},
                             files={"file": ("新题.json", json.dumps(rows, ensure_ascii=False).encode(), "application/json")})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 1
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert marker.encode() not in path.read_bytes(), path
    bad = api.as_("cust").post("/api/v1/items/import", params={"wait": 30}, files={"file": ("题.exe", b"x", "application/octet-stream")})
    assert bad.status_code == 422 and "题.exe" in bad.json()["detail"]


def test_item_plaintext_reaches_no_log_and_no_problem_document(api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Through the API and the console, an item's content goes to the custodian who asked, and nowhere
    else: not to any logger (at DEBUG, uvicorn's and the app's included) and not into an error."""
    import json
    import logging

    from tests.conftest import item_row

    caplog.set_level(logging.DEBUG)
    marker = "日志明文标记四一七"
    rows = [item_row(题干=marker + "三相异步电动机采用Y-△降压启动时，启动电流是直接启动时的（　）。", 答案="A")]
    cust = api.as_("cust")
    code = cust.post("/api/v1/items/import", params={"wait": 30}, files={"file": ("题.json", json.dumps(rows, ensure_ascii=False).encode())}).json()["codes"][0]
    shown = cust.get(f"/api/v1/items/{code}", params={"content": True})
    assert marker in shown.json()["content"]["stem"]  # the custodian does see it
    assert marker in cust.get(f"/console/items/{code}").text
    refused = api.as_("sup").get(f"/api/v1/items/{code}", params={"content": True})
    assert refused.status_code == 403 and marker not in refused.text
    bad = cust.patch(f"/api/v1/items/{code}", json={"changes": {"答案": marker}})  # an invalid answer naming the text
    assert bad.status_code == 422 and marker not in bad.text
    assert marker not in caplog.text


def test_a_body_beyond_the_upload_limit_is_refused_unread(api: Api) -> None:
    from examvault.api.uploads import MAX_UPLOAD

    big = b"0" * (MAX_UPLOAD + 2 * 1024 * 1024)
    r = api.as_("cust").post("/api/v1/items/import", files={"file": ("题.json", big, "application/json")})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert api.as_("cust").get("/api/v1/items", params={"total": True}).json()["total"] == 0
