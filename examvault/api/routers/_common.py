"""What the routers share: bounded text types (no NUL, which PostgreSQL refuses), long-job answers,
and file downloads that are never cached."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import JSONResponse, Response
from pydantic import StringConstraints

from examvault.api.deps import Caller
from examvault.api.jobs import Job

NO_NUL = r"^[^\x00]*$"


def text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, StringConstraints(max_length=max_length, min_length=min_length, pattern=NO_NUL)]


def query_text(max_length: int) -> Any:
    """A text query parameter: bounded, no NUL."""
    return Query(max_length=max_length, pattern=NO_NUL)


Code = text(80, 1)
Ref = text(200, 1)
Note = text(2000)
Wait = Annotated[float, Query(ge=0, le=60, description="seconds to wait for the result before answering 202 with a job")]


def long_action(who: Caller, kind: str, fn: Callable[[Job], Any], wait: float) -> Any:
    """Run `fn` as a job; its result if it ends within `wait` seconds (its error raised as ours)."""
    job = who.server.jobs.start(who.username, kind, fn)
    if job.finished.wait(wait):
        if job.error is not None:
            raise job.error
        return job.result
    return JSONResponse(job.public(), status_code=202, headers={"location": f"/api/v1/jobs/{job.id}"})


def download(data: bytes, filename: str, media_type: str) -> Response:
    from urllib.parse import quote

    return Response(data, media_type=media_type, headers={
        "content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}", "cache-control": "no-store"})  # fmt: skip


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    return buf.getvalue()
