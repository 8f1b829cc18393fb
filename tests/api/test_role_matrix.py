"""Every endpoint against every role: the roles the permission matrix allows get past the gate (never 401,
403 or a server error), every other role gets 403 and a problem document with no data in it.

Routes are read from the app itself, so an endpoint added without a permission fails here."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from examvault.accounts.roles import PERMISSIONS, ROLES
from tests.api.conftest import Api

# Answer without a login, by design: the seal's status and unseal, health, logging in, and the console's
# login, unseal page and static files.
PUBLIC = {"/api/v1/sys/health", "/api/v1/sys/ready", "/api/v1/sys/seal-status", "/api/v1/sys/unseal", "/api/v1/auth/login",
          "/", "/console/login", "/console/unseal", "/fonts/{name}"}  # fmt: skip
# Allowed callers change the session itself here; test_service.py covers them.
SESSION_CHANGING = {("POST", "/api/v1/sys/seal"), ("POST", "/console/seal"), ("POST", "/api/v1/auth/logout"),
                    ("POST", "/console/logout"), ("POST", "/api/v1/auth/password")}  # fmt: skip
PROBLEM_KEYS = {"type", "title", "status", "detail"}


def permission_of(route: APIRoute) -> tuple[bool, str | None]:
    for dep in route.dependant.dependencies:
        if hasattr(dep.call, "permission"):
            return True, dep.call.permission
    return False, None


def routes(app: Any, prefix: str = "") -> list[tuple[str, str, APIRoute]]:
    """(method, full path, route), through included routers (FastAPI keeps those as routers of their own)."""
    out = []
    for route in getattr(app, "routes", []):
        if isinstance(route, APIRoute):
            out += [(method, prefix + route.path, route) for method in sorted(route.methods - {"HEAD"})]
        elif hasattr(route, "original_router"):
            out += routes(route.original_router, prefix + route.include_context.prefix)
    return out


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: values.get(m.group(1), "x"), path)


@pytest.fixture
def matrix(api: Api) -> tuple[Api, dict[str, str]]:
    from examvault.itembank.service import import_items
    from tests.conftest import sample_items, write_json

    report = import_items(api.bank_as("cust"), write_json(api.tmp / "items.json", sample_items()))
    for role in ROLES:
        api.add_user(f"only_{role}", [role])
    values = {"code": report.codes[0], "occupation": "6-31-01-03", "level": "3", "seq": "0", "token_id": "1",
              "username": "rev", "job_id": "0" * 32, "ref": "P2026-0001-A", "action": "submit", "number": "1"}  # fmt: skip
    return api, values


def test_every_endpoint_declares_its_permission_or_is_public(api: Api) -> None:
    missing = [(m, p) for m, p, r in routes(api.app) if p not in PUBLIC and not permission_of(r)[0]]
    assert missing == []
    declared = {permission_of(r)[1] for _m, p, r in routes(api.app) if p not in PUBLIC} - {None}
    assert declared <= set(PERMISSIONS)


def test_every_role_on_every_endpoint(matrix: tuple[Api, dict[str, str]]) -> None:
    api, values = matrix
    checked = 0
    for method, path, route in routes(api.app):
        if path in PUBLIC:
            continue
        _has, permission = permission_of(route)
        url = fill(path, values)
        for role in ROLES:
            client = api.as_(f"only_{role}")
            may = permission is None or role in PERMISSIONS[permission]
            if may and (method, path) in SESSION_CHANGING:
                continue
            r = client.request(method, url, json={} if method in ("POST", "PATCH", "PUT") and "/console/" not in url else None,
                               follow_redirects=False)  # fmt: skip
            where = f"{method} {path} as {role} ({permission})"
            if may:
                assert r.status_code not in (401, 403) and r.status_code < 500, f"{where}: {r.status_code} {r.text[:300]}"
            else:
                assert r.status_code == 403, f"{where}: {r.status_code} {r.text[:300]}"
                body = r.json()
                assert set(body) == PROBLEM_KEYS and permission in body["detail"], where
            checked += 1
    assert checked > 500
