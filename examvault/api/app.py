"""The FastAPI application: `create_app(url)` builds it, `examvault serve` runs it with uvicorn.

It starts sealed. Until custodians unseal it only the status, health and unseal endpoints (and the
console's unseal page) answer; everything else gets 503. Every answer carries security headers, and
nothing that may hold exam content is cached.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.formparsers import MultiPartParser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from examvault import __version__, db
from examvault.api import problems
from examvault.api.server import Server
from examvault.api.uploads import MAX_UPLOAD
from examvault.bank import Bank

OPEN_WHEN_SEALED = ("/api/v1/sys/health", "/api/v1/sys/seal-status", "/api/v1/sys/unseal", "/console/unseal",
                    "/static/", "/fonts/", "/favicon.ico")  # fmt: skip
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
     b"form-action 'self'; base-uri 'none'"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]  # fmt: skip
_SEALED_BODY = json.dumps({"type": "urn:examvault:problem:Sealed", "title": "sealed", "status": 503,
                           "detail": "the server is sealed: only status and unseal answer until custodians unseal it"}).encode()  # fmt: skip


MAX_BODY = MAX_UPLOAD + 1024 * 1024  # uploads are held in memory: a bound on every request body
_TOO_LARGE = json.dumps({"type": "urn:examvault:problem:413", "title": "too large", "status": 413,
                         "detail": f"the request body is over {MAX_BODY} bytes; uploads may have {MAX_UPLOAD}"}).encode()  # fmt: skip


async def _answer(send: Send, status: int, body: bytes, *extra: tuple[bytes, bytes]) -> None:
    """A problem document straight from the guard, before the app reads anything."""
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()), *extra,
        *SECURITY_HEADERS]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Pure ASGI (no per-request task switch): the sealed gate and the headers on every answer."""

    def __init__(self, app: ASGIApp, server: Server) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        if self.server.vault.sealed and path != "/" and not path.startswith(OPEN_WHEN_SEALED):
            if path.startswith("/console"):
                await send({"type": "http.response.start", "status": 303,
                            "headers": [(b"location", b"/console/unseal"), *SECURITY_HEADERS]})  # fmt: skip
                return await send({"type": "http.response.body", "body": b""})
            return await _answer(send, 503, _SEALED_BODY, (b"retry-after", b"60"))
        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if length.isdigit() and int(length) > MAX_BODY:
            return await _answer(send, 413, _TOO_LARGE)
        secure = scope.get("scheme") == "https"
        received = 0

        async def bounded() -> Message:
            """A body sent without a length is cut off (as a disconnect) once it passes the bound."""
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    return {"type": "http.disconnect"}
            return message

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"cache-control" not in names and not path.startswith(("/static/", "/fonts/")):
                    headers.append((b"cache-control", b"no-store"))
                if secure:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, bounded, with_headers)


def create_app(bank: Bank | str, *, secure_cookies: bool = True) -> FastAPI:
    from examvault.api.console import views as console
    from examvault.api.routers import ROUTERS

    if isinstance(bank, str):
        bank = Bank(db.open_engine(bank, pool_size=20))  # as many as the threads that serve requests
    # Uploads hold plaintext items and personal data: keep every part in memory (Starlette would spool
    # parts over 1 MiB to a temporary file), up to the size an upload may have at all.
    MultiPartParser.spool_max_size = MAX_UPLOAD
    server = Server(bank, secure_cookies=secure_cookies)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        server.close()

    app = FastAPI(
        lifespan=lifespan,
        title="examvault", version=__version__,
        description="Secure item bank and paper assembly for 职业技能等级认定. Every endpoint but status and unseal "
                    "needs the server unsealed and a session or API token; errors are RFC 9457 problem documents.",
        docs_url=None, redoc_url=None,
    )  # fmt: skip
    app.state.server = server
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix="/api/v1")
    console.install(app)
    app.add_middleware(Guard, server=server)

    return app


def openapi_document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def write_openapi(path: Path) -> None:
    app = create_app("sqlite://")
    path.write_text(json.dumps(openapi_document(app), ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")


if __name__ == "__main__":  # python -m examvault.api.app: refresh docs/openapi.json
    write_openapi(Path("docs/openapi.json"))
