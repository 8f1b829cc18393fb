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
    # Ready for the README's console walk-through: a password per user (owner-only), the level-4 blueprint stored.
    passwords = demo / "CONSOLE-PASSWORDS.txt"
    assert passwords.stat().st_mode & 0o077 == 0 and len(passwords.read_text("utf-8").splitlines()) == 12
    assert "blueprint 6-31-01-03/4/theory/2026A v1 stored" in text
    assert packages == ["P2026-0001-A_marking-key_v1.evp", "P2026-0001-A_paper_v1.evp",
                        "P2026-0001-B_marking-key_v1.evp", "P2026-0001-B_paper_v1.evp",
                        "P2026-0002-A_marking-key_v1.evp", "P2026-0002-B_marking-key_v1.evp"]  # fmt: skip
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

    # issue 7: the next sitting is registered from the plan, seated and ticketed; the door is checked
    reg = demo / "registration"
    assert "refused whole:" in text and "the check digit is wrong" in text
    assert "34 registered with photos (personal data sealed), 31 accepted, 3 refused" in text
    assert "colleagues side by side: 0" in text and "signature valid" in text
    assert "1 late (≤ 30 min, admitted), 2 refused" in text
    tickets = PdfReader(reg / "准考证-全部.pdf")
    assert len(tickets.pages) == 2 * 31 and len(list((reg / "准考证").glob("准考证-*.pdf"))) == 31
    assert "考生注意事项" in tickets.pages[1].extract_text()
    chart = "".join(p.extract_text() for p in PdfReader(reg / "考场座位表.pdf").pages)
    assert "考场座位表" in chart and "讲" in chart
    notice = "".join(p.extract_text() for p in PdfReader(next(reg.glob("*理论考场准备通知单.pdf"))).pages)
    assert "理论考场准备通知单" in notice
    from openpyxl import load_workbook

    table = [r for r in load_workbook(next((reg / "annual").glob("*.xlsx"))).active.iter_rows(values_only=True)]
    total = next(r for r in table if r[0] == "合计")
    assert total[3:6] == (34, 31, 3)  # registered, accepted, refused

    # issue 7 with scoring: the sitting is scored, publicised, released, and certificates are issued from it
    import re

    assert "importing one again is refused" in text and "refused whole" in text and "column EW (151)" in text
    assert "release today is refused" in text and "objection 1 recorded" in text
    issued = int(re.search(r"(\d+) certificates issued from the released passes", text)[1])  # type: ignore[index]
    passed = int(re.search(r"results released, (\d+) passed", text)[1])  # type: ignore[index]
    assert issued == passed > 0
    (cert,) = (demo / "scoring").glob("证书-*.pdf")
    printed = "".join(p.extract_text() for p in PdfReader(cert).pages)
    assert "职业技能等级证书" in printed and cert.stem.split("-", 1)[1] in printed.replace(" ", "")
    assert total[9] == passed and total[11] == issued  # the annual table's 合格 and 发证
    assert "warned again by JK002 at 10:05 → void-paper" in text
    upload = (demo / "scoring").glob("*_成绩上报.csv")
    assert sum(1 for row in next(upload).read_text("utf-8-sig").splitlines()[1:] if row.split(",")[-2] == "合格") == passed

    # issue 8: the level-2 paper marked blind, with one arbitration, the totaller refused as checker, then released
    assert re.search(r"script \d+ item \d+ \(计算, 10 points\) marked 10 and 5 — more than 20 % apart — went to the third marker", text)
    assert "cannot also check them (复核人)" in text and "before unmasking, results are refused" in text
    assert re.search(r"the seal opened \(5 scripts joined to their candidates\); results: 6 candidates, \d+ passed, 1 absent", text)
    assert re.search(r"level-2 .*released on \d{4}-\d\d-\d\d", text.replace("\n", " "))

    # issue 9: the released sitting feeds the bank; the simulated export shows flags and curves
    assert re.search(r"stats update --paper P2026-0001-A: 1\d candidates of .*; alpha 0\.\d+", text)
    assert "no released session left to analyse" in text
    assert re.search(r"flagged Q07, Q12, Q23, Q31 → stats/模拟机考_质量分析\.pdf", text)
    report = "".join(p.extract_text() for p in PdfReader(demo / "stats" / "模拟机考_质量分析.pdf").pages)
    assert "特征曲线" in report and "Q31" in report
    assert (demo / "stats" / "P2026-0001-A_质量分析.pdf").stat().st_size > 10_000
