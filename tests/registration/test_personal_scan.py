"""Candidates' personal data and photos never reach the database, a log or a temp file in the clear:
registration, seating, tickets and the door check run with planted strings, then the raw bytes are scanned."""

from __future__ import annotations

import logging
import tempfile
import uuid
from datetime import datetime
from pathlib import Path

from examvault.db import BEIJING
from examvault.registration.attendance import record
from examvault.registration.candidates import import_candidates, list_candidates
from examvault.registration.service import create_session
from examvault.registration.sittings import seat_session
from examvault.registration.tickets import print_tickets
from tests.conftest import OCC
from tests.registration.conftest import EXAM_DATE, JPEG, YEAR, id_number, person, write_form
from tests.test_plaintext_scan import _scan, scan_bank, watch_deletions


def test_no_personal_data_in_the_clear(planned, tmp_path: Path, monkeypatch, caplog) -> None:  # noqa: ANN001
    tag = uuid.uuid4().hex[:8]
    name, unit, phone = f"姓名{tag}甲", f"单位{tag}乙", "13912345678"
    photo = JPEG[:2] + b"\xff\xfe\x00\x12" + f"PHOTO{tag}".encode().ljust(16, b"_") + JPEG[2:]  # a JPEG comment segment
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / f"{id_number(1)}.jpg").write_bytes(photo)
    caplog.set_level(logging.DEBUG)
    form = write_form(tmp_path / "form.xlsx", [person(1, 姓名=name, 工作单位=unit, 手机=phone), person(2)])  # the user's own file
    with watch_deletions(tmpdir) as vanished:
        import_candidates(planned, YEAR, form, photos=tmp_path / "photos")
        form.unlink()
        code = "SCAN"
        create_session(planned, code, occupation=OCC, level=3, exam_date=EXAM_DATE, plan_year=YEAR, site_code="360101",
                       times={"theory": "09:00-10:30", "skill": "13:30-16:30"})  # fmt: skip
        seat_session(planned, code)
        out = print_tickets(planned, code, out=tmp_path / "tickets.pdf")
        at = datetime(EXAM_DATE.year, EXAM_DATE.month, EXAM_DATE.day, 8, 50, tzinfo=BEIJING)
        record(planned, code, out["first"]["token"], "theory", at=at, identity="mismatch", note="照片与本人不符")
        assert {r["name"] for r in list_candidates(planned, year=YEAR)} == {name, "考生002"}
    needles = []
    for text in (name, unit, id_number(1)):
        needles += [text.encode(), text.encode("utf-16-le"), text.encode("gb18030")]
    needles += [phone.encode(), f"PHOTO{tag}".encode()]
    scan_bank(planned.engine.url, needles)
    _scan("\n".join(r.getMessage() for r in caplog.records).encode(), needles, "log records")
    for p in tmpdir.rglob("*"):
        if p.is_file():
            _scan(p.read_bytes(), needles, f"temp file {p}")
    for where, data in vanished:
        _scan(data, needles, f"deleted temp file {where}")
    assert (tmp_path / "tickets.pdf").read_bytes().startswith(b"%PDF")  # the ticket is where the name is meant to be
