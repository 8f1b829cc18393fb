"""schemathesis against the published OpenAPI document: generated requests to every operation, as a user
holding every role, and not one server error (5xx) is the bar. Bounded examples per operation keep it
inside CI's time; it runs on both legs (SQLite and PostgreSQL: NUL bytes and over-long text only fail
on the latter)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from examvault.accounts.roles import ROLES
from tests.conftest import PASSPHRASE, bank_url

# Operations that end the session or the seal the fuzzing runs under; test_service.py covers them.
EXCLUDED = r"^/api/v1/(sys/seal|auth/logout|auth/password)$"
EXAMPLES = int(os.environ.get("EXAMVAULT_FUZZ_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One bank for the whole module (named db_url so the PostgreSQL leg runs it too)."""
    yield from bank_url(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def served(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    from fastapi.testclient import TestClient

    from examvault.accounts.credentials import set_password
    from examvault.accounts.service import add_user
    from examvault.api.app import create_app
    from examvault.bank import Bank
    from examvault.crypto import keyring
    from examvault.itembank.outlines import import_outline
    from examvault.itembank.service import import_items
    from examvault.setup import init_bank
    from tests.conftest import outline_rows, sample_items, write_json

    init_bank(db_url, PASSPHRASE, institution="测试技师学院", admin="admin")
    bank = Bank.open(db_url, actor="admin", unlocker=lambda s: keyring.unlock_with_passphrase(s, PASSPHRASE))
    with bank.transaction() as s:
        add_user(s, "everyone", list(ROLES), "全部角色")
    set_password(bank, "everyone", "fuzzing-password-123")
    tmp = Path(tmp_path_factory.mktemp("fuzzfiles"))
    everyone = Bank.open(db_url, actor="everyone", unlocker=lambda s: keyring.unlock_with_passphrase(s, PASSPHRASE))
    import_outline(everyone, write_json(tmp / "outline.json", outline_rows()))
    import_items(everyone, write_json(tmp / "items.json", sample_items()))
    app = create_app(db_url)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/api/v1/sys/unseal", json={"passphrase": PASSPHRASE}).status_code == 200
        token = client.post("/api/v1/auth/login", json={"username": "everyone", "password": "fuzzing-password-123"}).json()["token"]
        yield app, {"authorization": f"Bearer {token}"}
    for b in (bank, everyone):
        b.close()


def test_no_server_errors(served: tuple[Any, dict[str, str]]) -> None:
    """Every operation, each with hypothesis-generated cases from its schema (schemathesis's strategies;
    its pytest plugin is not used, it does not run under this pytest)."""
    from hypothesis import given

    app, headers = served
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path_regex=EXCLUDED)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 90
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)  # fmt: skip
        def call(case: Any) -> None:
            if case.query and "wait" in case.query:  # long jobs: answer at once, never sit out a generated wait
                case.query["wait"] = 0
            response = case.call(headers=headers)
            case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])

        call()
