"""`examvault quality …` and `examvault session advance` through click, on the sitting's bank."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pypdf
from click.testing import CliRunner, Result

from examvault.cli import cli, main
from examvault.errors import PermissionDenied, ValidationError
from examvault.quality.service import StageBlocked
from tests.conftest import PASSPHRASE
from tests.staff.conftest import Sitting

SUP = ("--supervisor", "DD1")  # the supervisor on duty (the `supervised` fixture)
ENV = {"EXAMVAULT_PASSPHRASE": PASSPHRASE, "EXAMVAULT_USER": None, "EXAMVAULT_DB": None}


def run(db_url: str, user: str, *args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(cli, ["--db", db_url, "--user", user, *args], env=ENV)
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def run_main(db_url: str, user: str, *args: str) -> tuple[int, str, str]:
    """As the installed command runs: main() maps errors to a message and an exit code."""
    with CliRunner().isolation(env=ENV) as (stdout, stderr, _):
        try:
            main(["--db", db_url, "--user", user, *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        sys.stdout.flush()
        sys.stderr.flush()
        return code, stdout.getvalue().decode(), stderr.getvalue().decode()


def test_quality_cli(supervised: Sitting, db_url: str, tmp_path: Path) -> None:
    s = supervised
    filed = run(db_url, "sup", "quality", "file", s.session, "--stage", "registration_review", "--supervisor", "DD1",
                "--checked", "报名材料抽查", "--issue", "2名考生缺工作年限证明", "--correction", "补交证明", "--blocking", "--json")  # fmt: skip
    finding = json.loads(filed.stdout)
    assert (finding["status"], finding["blocking"], finding["issue"]) == (
        "open",
        True,
        "2名考生缺工作年限证明",
    )
    check = ("quality", "check", s.session, "registration_review")
    missing = run(db_url, "sup", *check, "eligibility", "--pass", ok=False)
    assert missing.exit_code == 2 and "Missing option '--supervisor'" in missing.output
    code, _, stderr = run_main(db_url, "sup", *check, "eligibility", "--pass", "--supervisor", "JK1")
    assert code == ValidationError.exit_code and "JK1 is not a supervisor on duty" in stderr
    assert "Traceback" not in stderr
    for item in ("eligibility", "publicity"):
        run(db_url, "sup", *check, item, "--pass", *SUP)

    state = json.loads(run(db_url, "sup", "quality", "checklist", s.session, "--json").stdout)
    assert state["session"] == s.session and state["stage"] == "registration_review"
    current = state["stages"][0]
    assert (current["stage"], current["state"], current["open_blocking_findings"]) == (
        "registration_review",
        "current",
        [finding["id"]],
    )
    assert [i["passed"] for i in current["items"]] == [True, True]

    refused = run(db_url, "kaowu", "session", "advance", s.session, ok=False)
    assert refused.exit_code != 0 and isinstance(refused.exception, StageBlocked)
    code, stdout, stderr = run_main(db_url, "kaowu", "session", "advance", s.session)
    assert code == StageBlocked.exit_code == 5 and stdout == ""
    assert f"error: session {s.session} cannot leave stage registration_review" in stderr
    assert f"open blocking finding {finding['id']} on stage registration_review (报名资格审核)" in stderr
    assert "Traceback" not in stderr

    resolve = ("quality", "resolve", str(finding["id"]))
    denied = run(db_url, "kaowu", *resolve, *SUP, "--resolution", "已补", ok=False)
    assert denied.exit_code != 0 and isinstance(denied.exception, PermissionDenied)
    missing = run(db_url, "sup", *resolve, "--resolution", "已补", ok=False)
    assert missing.exit_code == 2 and "Missing option '--supervisor'" in missing.output
    run(db_url, "sup", *resolve, *SUP, "--resolution", "证明已补交并核对")
    findings = json.loads(run(db_url, "sup", "quality", "findings", s.session, "--json").stdout)
    assert [(f["id"], f["status"], f["resolved_by"]) for f in findings] == [
        (finding["id"], "resolved", "sup")
    ]
    again = run(db_url, "sup", *resolve, *SUP, "--resolution", "再次", ok=False)
    assert again.exit_code != 0 and "is resolved, not open" in str(again.exception)

    moved = json.loads(run(db_url, "kaowu", "session", "advance", s.session, "--json").stdout)
    assert (moved["from"], moved["to"]) == ("registration_review", "paper_approval")

    out = tmp_path / "r.pdf"
    report = json.loads(
        run(
            db_url,
            "sup",
            "quality",
            "report",
            s.session,
            "--kind",
            "supervision",
            "--out",
            str(out),
            "--json",
        ).stdout
    )
    assert report["file"] == str(out) and out.stat().st_size == report["bytes"]
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(out).pages))
    assert (
        "职业技能等级认定质量督导报告" in text
        and "2名考生缺工作年限证明" in text
        and "已整改：证明已补交并核对" in text
    )

    bad = run(
        db_url,
        "sup",
        "quality",
        "report",
        s.session,
        "--kind",
        "audit",
        "--out",
        str(tmp_path / "x.pdf"),
        ok=False,
    )
    assert bad.exit_code == 2 and "'audit' is not one of" in bad.output and not (tmp_path / "x.pdf").exists()
    code, _, stderr = run_main(
        db_url,
        "sup",
        "quality",
        "report",
        s.session,
        "--kind",
        "work-record",
        "--out",
        str(tmp_path / "x.txt"),
    )
    assert (
        code == ValidationError.exit_code
        and "the report is written as .pdf or .docx" in stderr
        and "Traceback" not in stderr
    )
