"""Long actions (import, assembly, rendering, statistics) run in a worker thread and report progress.

A request waits up to `wait` seconds; an action done by then answers at once (200), otherwise the
answer is 202 with a job to poll (`GET /api/v1/jobs/{id}`). Jobs are kept in memory, visible only to
the user who started them, and forgotten an hour after they end.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from examvault.errors import ExamvaultError, NotFoundError

Progress = Callable[[int, int], None]
KEEP = 3600.0


@dataclass
class Job:
    id: str
    owner: str
    kind: str
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    result: Any = None
    error: ExamvaultError | None = None
    ended: float | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "state": self.state, "done": self.done, "total": self.total}
        if self.state == "done":
            out["result"] = self.result
        if self.error is not None:
            out["error"] = {"status": self.error.http_status, "detail": str(self.error)}
        return out


class Jobs:
    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="examvault-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, owner: str, kind: str, fn: Callable[[Job], Any]) -> Job:
        job = Job(uuid.uuid4().hex, owner, kind)
        with self._lock:
            now = time.monotonic()
            for key in [k for k, j in self._jobs.items() if j.ended and now - j.ended > KEEP]:
                del self._jobs[key]
            self._jobs[job.id] = job

        def run() -> None:
            try:
                job.result = fn(job)
                job.state = "done"
            except ExamvaultError as exc:
                job.error, job.state = exc, "failed"
            except Exception as exc:  # the job's thread must not die silently; the log has the rest
                job.error, job.state = ExamvaultError(f"internal error in {kind} ({type(exc).__name__})"), "failed"
                job.error.http_status = 500
                import logging

                logging.getLogger("examvault.api").error("job %s failed", kind, exc_info=exc)
            finally:
                job.ended = time.monotonic()
                job.finished.set()

        self._pool.submit(run)
        return job

    def get(self, owner: str, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            raise NotFoundError(f"no job {job_id} of yours (jobs are kept an hour after they end)")
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
