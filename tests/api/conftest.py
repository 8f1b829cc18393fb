"""An HTTP service over a small bank: the app in-process (httpx through Starlette's TestClient), unsealed
with the passphrase, and every test user with a password.

`api.as_(user)` is a client logged in as that user (bearer token); `api.anon` has no token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from examvault.accounts.credentials import set_password
from examvault.api.app import create_app
from examvault.bank import Bank
from tests.conftest import PASSPHRASE, USERS

PASSWORD = "一个足够长的口令-2026"


@dataclass
class Api:
    app: Any
    bank_as: Callable[..., Bank]
    tmp: Path
    anon: TestClient
    _clients: dict[str, TestClient] = field(default_factory=dict)

    def as_(self, user: str) -> TestClient:
        if user not in self._clients:
            r = self.anon.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            client = TestClient(self.app, raise_server_exceptions=False)
            client.headers["authorization"] = f"Bearer {r.json()['token']}"
            self._clients[user] = client
        return self._clients[user]

    def unseal(self) -> None:
        r = self.anon.post("/api/v1/sys/unseal", json={"passphrase": PASSPHRASE})
        assert r.status_code == 200 and r.json()["sealed"] is False, r.text

    def add_user(self, name: str, roles: list[str], display: str = "") -> None:
        from examvault.accounts.admin import create_user

        create_user(self.bank_as("adm"), name, roles, display)
        set_password(self.bank_as("adm"), name, PASSWORD)


def give_passwords(bank_as: Callable[..., Bank], names: list[str]) -> None:
    admin = bank_as("adm")
    for name in names:
        set_password(admin, name, PASSWORD)


@pytest.fixture
def sealed_api(make_bank: Callable[..., Bank], tmp_path: Path) -> Iterator[Api]:
    """The service as it starts: sealed."""
    give_passwords(make_bank, [*USERS, "admin"])
    app = create_app(make_bank("adm").engine.url.render_as_string(hide_password=False))
    with TestClient(app, raise_server_exceptions=False) as anon:
        yield Api(app, make_bank, tmp_path, anon)


@pytest.fixture
def api(sealed_api: Api) -> Api:
    sealed_api.unseal()
    return sealed_api
