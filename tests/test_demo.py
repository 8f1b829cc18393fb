"""`examvault demo` is the main job (README, command 1): it must run end to end and show what it claims."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from examvault.crypto.signing import VerifyKey
from examvault.demo.run import run_demo
from examvault.export.recipient import verify_file
from tests.conftest import PG_URL


@pytest.mark.skipif(bool(PG_URL), reason="the demo runs on the embedded SQLite default; the SQLite leg runs it")
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = io.StringIO()
    result = run_demo(tmp_path / "demo", console=Console(file=out, width=200))
    text = out.getvalue()
    demo = Path(result["directory"])
    packages = sorted(p.name for p in (demo / "packages").glob("*.evp"))
    assert packages == ["P2026-0001-A_marking-key_v1.evp", "P2026-0001-A_paper_v1.evp",
                        "P2026-0001-B_marking-key_v1.evp", "P2026-0001-B_paper_v1.evp"]  # fmt: skip
    trusted = VerifyKey.load(demo / "institution.vkey")
    assert verify_file(demo / "packages" / packages[1], trusted)["recipients"][0]["party"] == "printer-1"
    assert (demo / "printer-site" / "P2026-0001-A" / "P2026-0001-A_试卷.pdf").read_bytes().startswith(b"%PDF")
    assert "verified = True" in text
    assert "opening the same package again is refused" in text and "during the exam is refused" in text
    assert text.count("refuses it: the outer signature does not verify") == 2
    assert "ACCEPTED" not in text
    assert not list(demo.rglob("*.partial"))
    # issue 6: the sitting is staffed through the rules, with refusals; a finding holds a stage; reports
    assert "refused by rule avoid.work_unit (本单位回避)" in text and "refused by rule credential.valid" in text
    assert "staffing check: every room meets the rules" in text
    assert "badge refused at the door" in text and "refused by rule status.active" in text
    assert "session advance refused: open blocking finding" in text and "room_acceptance → marking" in text
    sitting = demo / "sitting"
    assert (sitting / "督导报告.pdf").read_bytes().startswith(b"%PDF")
    assert (sitting / "考评工作记录.pdf").read_bytes().startswith(b"%PDF")
    assert (sitting / "督导报告.docx").read_bytes().startswith(b"PK")

    from pypdf import PdfReader

    report = "".join(p.extract_text() for p in PdfReader(sitting / "督导报告.pdf").pages)
    assert "职业技能等级认定质量督导报告" in report and "已整改" in report and "avoid.work_unit" in report
