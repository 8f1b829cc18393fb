"""Uploaded files handed to the file-reading service functions without touching the disk.

Item and outline files are plaintext exam content, so an upload is kept in an anonymous in-memory
file (memfd). The readers pick the format by the name's suffix, so a private directory holds one
symlink named after the upload that points at the memfd: the disk holds a link, never the content.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from examvault.errors import ValidationError

MAX_UPLOAD = 64 * 1024 * 1024


def safe_name(name: str, default: str) -> str:
    base = re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", Path(name or "").name)[:120].lstrip(".")
    return base or default


@contextmanager
def in_memory_file(name: str, data: bytes, *, allowed: tuple[str, ...]) -> Iterator[Path]:
    filename = safe_name(name, "upload")
    if Path(filename).suffix.lower() not in allowed:
        raise ValidationError(f"file {filename!r}: its type must be one of {', '.join(allowed)}")
    if len(data) > MAX_UPLOAD:
        raise ValidationError(f"file {filename!r}: {len(data)} bytes; at most {MAX_UPLOAD} are accepted")
    fd = os.memfd_create(filename, os.MFD_CLOEXEC)
    folder = tempfile.mkdtemp(prefix="examvault-upload-")
    try:
        os.write(fd, data)
        link = Path(folder) / filename
        link.symlink_to(f"/proc/{os.getpid()}/fd/{fd}")
        yield link
    finally:
        os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)
