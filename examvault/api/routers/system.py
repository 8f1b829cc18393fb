"""Health, the seal, logins and tokens, users, the audit trail and job progress."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from examvault import db
from examvault.accounts import admin, credentials
from examvault.accounts.roles import ROLES
from examvault.api.deps import SESSION_COOKIE, Caller, client_of, need, server_of
from examvault.api.routers._common import Code, text
from examvault.api.server import Server
from examvault.errors import ExamvaultError, ValidationError

router = APIRouter()


class TooManyAttempts(ExamvaultError):
    http_status = 429


def throttled(request: Request, what: str) -> tuple[Server, str]:
    """The server and the client's address, once the client is within its attempts at `what`."""
    server, client = server_of(request), client_of(request)
    wait = server.logins.allow(f"{what}:{client}")
    if wait:
        raise TooManyAttempts(f"too many {what} attempts from this client; try again in {int(wait) + 1} s")
    return server, client


@router.get("/sys/health", tags=["sys"])
def health() -> dict[str, Any]:
    """Liveness: the process answers, sealed or not."""
    return {"status": "ok"}


@router.get("/sys/ready", tags=["sys"])
def ready(request: Request, response: Response) -> dict[str, Any]:
    """Readiness: unsealed and the database answers (503 otherwise)."""
    server = server_of(request)
    try:
        database = db.has_bank(server.bank.engine)
    except Exception:  # the database being down is the answer, not an error
        database = False
    ok = database and not server.vault.sealed
    response.status_code = 200 if ok else 503
    return {"ready": ok, "sealed": server.vault.sealed, "database": database}


@router.get("/sys/seal-status", tags=["sys"])
def seal_status(request: Request) -> dict[str, Any]:
    return server_of(request).vault.status()


class Unseal(BaseModel):
    share: Annotated[str | None, Field(max_length=2000, pattern=r"^[^\x00]*$", description="one SLIP-39 share (its words, or the share file's text)")] = None
    passphrase: Annotated[str | None, Field(max_length=1024, pattern=r"^[^\x00]*$")] = None

    @model_validator(mode="after")
    def one_of(self) -> Unseal:
        if (self.share is None) == (self.passphrase is None):
            raise ValueError("give exactly one of share or passphrase")
        return self


@router.post("/sys/unseal", tags=["sys"])
def unseal(body: Unseal, request: Request) -> dict[str, Any]:
    """One custodian's share (k of them unseal), or the passphrase. Never logged; audited by index."""
    server, client = throttled(request, "unseal")
    if body.share is not None:
        return server.vault.submit_share(body.share, client=client)
    assert body.passphrase is not None
    return server.vault.unseal_passphrase(body.passphrase, client=client)


@router.post("/sys/seal", tags=["sys"])
def seal(who: Caller = Depends(need("keys.manage"))) -> dict[str, Any]:
    """Forget the root key: the server answers only status and unseal until unsealed again."""
    who.server.seal(who.username)
    return who.server.vault.status()


class Login(BaseModel):
    username: Code
    password: text(1024, 1)


@router.post("/auth/login", tags=["auth"])
def login(body: Login, request: Request) -> dict[str, Any]:
    """A session token (30 minutes idle, 8 hours at most). Five wrong passwords lock the account 15 minutes."""
    server, client = throttled(request, "login")
    token, expires = credentials.login(server.bank, body.username, body.password, client=client)
    return {"token": token, "expires_at": expires.isoformat()}


@router.post("/auth/logout", tags=["auth"])
def logout(response: Response, who: Caller = Depends(need(None))) -> dict[str, Any]:
    credentials.logout(who.bank, who.identity.token_id)
    who.server.end_session(who.identity.token_id)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"logged_out": True}


@router.get("/auth/me", tags=["auth"])
def me(who: Caller = Depends(need(None))) -> dict[str, Any]:
    return {"username": who.username, "roles": sorted(who.identity.roles), "kind": who.identity.kind,
            "expires_at": who.identity.expires_at.isoformat()}  # fmt: skip


class NewToken(BaseModel):
    name: Code
    days: Annotated[int, Field(ge=1, le=366)] = credentials.API_TOKEN_DAYS


@router.post("/auth/tokens", tags=["auth"], status_code=201)
def create_token(body: NewToken, who: Caller = Depends(need(None))) -> dict[str, Any]:
    """An API token for a script, acting as you. Shown once."""
    return credentials.create_api_token(who.bank, body.name, days=body.days)


@router.get("/auth/tokens", tags=["auth"])
def list_tokens(who: Caller = Depends(need(None))) -> list[dict[str, Any]]:
    return credentials.list_api_tokens(who.bank)


@router.delete("/auth/tokens/{token_id}", tags=["auth"])
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], who: Caller = Depends(need(None))) -> dict[str, Any]:
    credentials.revoke_api_token(who.bank, token_id)
    who.server.forget_identities(token_id=token_id)
    return {"revoked": token_id}


class Password(BaseModel):
    username: Code | None = None
    password: text(1024, 1)


@router.post("/auth/password", tags=["auth"])
def set_password(body: Password, who: Caller = Depends(need(None))) -> dict[str, Any]:
    """Your own password, or (admins) anyone's. Ends that user's console sessions."""
    credentials.set_password(who.bank, body.username or who.username, body.password)
    who.server.forget_identities(username=body.username or who.username)
    return {"username": body.username or who.username, "changed": True}


@router.get("/users", tags=["users"])
def users(who: Caller = Depends(need("user.manage"))) -> list[dict[str, Any]]:
    return admin.users(who.bank)


class NewUser(BaseModel):
    username: Code
    roles: Annotated[list[str], Field(min_length=1, max_length=len(ROLES))]
    display_name: text(120) = ""


@router.post("/users", tags=["users"], status_code=201)
def add_user(body: NewUser, who: Caller = Depends(need("user.manage"))) -> dict[str, Any]:
    return admin.create_user(who.bank, body.username, body.roles, body.display_name)


@router.post("/users/{username}/unlock", tags=["users"])
def unlock_user(username: Code, who: Caller = Depends(need("user.manage"))) -> dict[str, Any]:
    credentials.unlock_account(who.bank, username)
    return {"username": username, "unlocked": True}


@router.get("/audit", tags=["audit"])
def audit_trail(
    who: Caller = Depends(need("audit.read")),
    actor: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None,
    action: Annotated[str | None, Query(max_length=60, pattern=r"^[^\x00]*$")] = None,
    target: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    if since is not None and since.tzinfo is None:
        raise ValidationError("since: give a time zone, e.g. 2026-11-28T08:00:00+08:00")
    return admin.audit_trail(who.bank, actor=actor, action=action, target=target, since=since, limit=limit)


@router.get("/jobs/{job_id}", tags=["jobs"])
async def job(job_id: Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f]{1,64}$")],
              who: Caller = Depends(need(None))) -> dict[str, Any]:  # fmt: skip
    """A long action's progress, and its result once done. Only the user who started it sees it."""
    return await run_in_threadpool(lambda: who.server.jobs.get(who.username, job_id).public())
