"""Who is asking and may they: the one place the HTTP service checks identity and permission.

`need("item.read")` is the whole permission check of an endpoint: it reads the token (a bearer
token for scripts, the session cookie for the console, which must then carry the CSRF token on
anything that changes state), asks the permission matrix of `accounts.roles`, and hands the
endpoint a `Bank` acting as that user. The service functions check the same matrix again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from examvault.accounts.credentials import Identity, LoginFailed, authenticate
from examvault.accounts.roles import PERMISSIONS
from examvault.accounts.service import require_roles
from examvault.api.server import Server
from examvault.bank import Bank
from examvault.errors import PermissionDenied

SESSION_COOKIE = "ev_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def server_of(request: Request) -> Server:
    return request.app.state.server


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


@dataclass
class Caller:
    identity: Identity
    bank: Bank
    server: Server
    token: str
    via_cookie: bool

    @property
    def username(self) -> str:
        return self.identity.username


def _token(request: Request) -> tuple[str, bool]:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip(), False
    return request.cookies.get(SESSION_COOKIE, ""), True


async def caller(request: Request) -> Caller:
    server = server_of(request)
    token, via_cookie = _token(request)
    if not token:
        raise LoginFailed("not logged in: send `Authorization: Bearer TOKEN` (POST /api/v1/auth/login gives one)")
    identity = server.cached_identity(token)
    if identity is None:
        identity = await run_in_threadpool(authenticate, server.bank, token)
        server.remember_identity(token, identity)
    if via_cookie and request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not given and request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            given = str((await request.form()).get("csrf", ""))
        if not server.csrf_ok(token, given):
            raise PermissionDenied("the console form is stale or forged (CSRF token missing or wrong); reload the page")
    return Caller(identity, server.user_bank(identity), server, token, via_cookie)


def need(permission: str | None) -> Callable[..., Any]:
    """A dependency admitting the roles that hold `permission` (None: any logged-in user)."""
    if permission is not None and permission not in PERMISSIONS:
        raise KeyError(permission)

    async def check(who: Caller = Depends(caller)) -> Caller:
        if permission is not None:
            require_roles(who.username, who.identity.roles, permission)
        return who

    check.permission = permission  # type: ignore[attr-defined]  # read by the role-matrix test and the docs
    return check
