"""Problem documents (RFC 9457) for every error: the field and the reason, never a traceback.

`ExamvaultError` carries its own status; pydantic's validation errors become 422 with one entry per
field; anything unexpected becomes a bare 500 whose details stay in the server's log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from examvault.errors import ExamvaultError, ValidationError

log = logging.getLogger("examvault.api")
MEDIA_TYPE = "application/problem+json"

TITLES = {400: "bad request", 401: "not logged in", 403: "forbidden", 404: "not found", 405: "method not allowed",
          409: "conflict", 413: "too large", 415: "unsupported media type", 422: "invalid input", 423: "locked",
          429: "too many requests", 500: "internal error", 503: "sealed"}  # fmt: skip


def problem(status: int, detail: str, *, errors: list[dict[str, str]] | None = None, kind: str = "",
            headers: dict[str, str] | None = None) -> JSONResponse:  # fmt: skip
    body: dict[str, Any] = {"type": f"urn:examvault:problem:{kind or status}", "title": TITLES.get(status, "error"),
                            "status": status, "detail": detail}  # fmt: skip
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def install(app: FastAPI) -> None:
    @app.exception_handler(ExamvaultError)
    async def _examvault(_: Request, exc: ExamvaultError) -> JSONResponse:
        errors = None
        if isinstance(exc, ValidationError) and exc.issues:
            errors = [{"field": (f"{i.location}, {i.column}" if i.column else i.location) or i.file, "reason": i.message}
                      for i in exc.issues[:200]]  # fmt: skip
        return problem(exc.http_status, str(exc), errors=errors, kind=type(exc).__name__)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(tuple(e.get("loc", ()))), "reason": str(e.get("msg", "invalid"))} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        return problem(422, detail or "invalid input", errors=errors, kind="RequestValidationError")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(sa_exc.IntegrityError)
    async def _clash(_: Request, exc: sa_exc.IntegrityError) -> JSONResponse:
        return problem(409, "the change clashed with a concurrent one or a unique rule; nothing was changed, try again")

    @app.exception_handler(sa_exc.DataError)
    async def _data(_: Request, exc: sa_exc.DataError) -> JSONResponse:
        return problem(422, "a value does not fit its column (too long, out of range or malformed); nothing was changed")

    @app.exception_handler(sa_exc.OperationalError)
    async def _db_down(_: Request, exc: sa_exc.OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return problem(503, "the database is unavailable or busy; nothing was changed, try again", headers={"retry-after": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
        return problem(500, "internal error; the server's log has the details")
