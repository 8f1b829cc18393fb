"""The results export on the scored sitting of tests/scoring/conftest.py: the platform upload (csv, xlsx)
and the 成绩登记表 (PDF), refused before publicity and to a supervisor, audited without personal data.

The sitting's results (tests/scoring/test_scoring_flow.py): person 1 passes at exactly 60/60, 2 fails
the skill part (59.9), 3 fails theory (40.0), 4 is absent from both parts, 5 was refused at the theory
door and sat the skill part, 6 is 免考 in theory and passes.
"""

from __future__ import annotations

import csv
import json
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from examvault.accounts.models import AuditEvent
from examvault.bank import Bank
from examvault.errors import ConflictError, PermissionDenied
from examvault.registration.models import Candidate
from examvault.scoring import calendar
from examvault.scoring.export import export_results, render_register
from examvault.scoring.models import Result
from examvault.scoring.results import publicize, release, show
from tests.registration.conftest import id_number
from tests.scoring.conftest import SESSION, Scoring, run_cli
from tests.scoring.test_scoring_flow import refused, score_everything, window_or_skip

HEADER = ["准考证号", "证件号码", "姓名", "职业代码", "职业名称", "等级", "理论知识", "操作技能", "是否合格", "状态"]
STEM = SESSION  # 2027-05-电工-3-评分: letters, digits and '-' only, kept as it is
FILES = [f"{STEM}_成绩上报.csv", f"{STEM}_成绩上报.xlsx", f"{STEM}_成绩登记表.pdf"]


def publicised(sc: Scoring, today: date) -> calendar.Window:
    """The sitting scored, computed and publicised from today."""
    w = window_or_skip(today)
    score_everything(sc)
    publicize(sc.admin, SESSION)
    return w


def expected(sc: Scoring) -> dict[str, list[str]]:
    """ticket → the upload's row, from `results show` and the registration form's people."""
    def cell(x: dict[str, Any], part: str, n: int) -> str:
        if part == "theory" and n == 6:
            return "免考"
        return "缺考" if x[part] is None else f"{x[part]:.1f}"

    shown = {x["ticket"]: x for x in show(sc.admin, SESSION)["results"]}
    stage = {"publicized": "公示中", "released": "已发布"}
    out = {}
    for n, ticket in sc.tickets.items():
        x = shown[ticket]
        out[ticket] = [ticket, id_number(n), f"考生{n:03d}", "6-31-01-03", _occupation(sc), "三级/高级工", cell(x, "theory", n),
                       cell(x, "skill", n), "合格" if x["passed"] else "不合格", stage.get(x["status"], "缺考")]  # fmt: skip
    return out


def _occupation(sc: Scoring) -> str:
    from examvault.registration.sittings import occupation_name

    with sc.admin.transaction() as session:
        return occupation_name(session, "6-31-01-03")


def audit_rows(bank: Bank, prefix: str = "") -> list[AuditEvent]:
    with bank.transaction() as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)))
        session.expunge_all()
        return rows


def pdf_text(path: Path) -> str:
    """The PDF's text, laid out as printed; pdftotext may drop the narrow space in 第 1 页, so spaces are taken out."""
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    import os
    if os.environ.get("KEEP_REGISTER"):
        import shutil
        shutil.copy(path, os.environ["KEEP_REGISTER"])
        print(text)
    return text


def test_the_export_waits_for_publicity_then_writes_the_upload_and_the_register_with_full_id_numbers(
    scoring: Scoring, today: date, tmp_path: Path
) -> None:
    sc = scoring
    w = window_or_skip(today)
    score_everything(sc)
    out = tmp_path / "上报"
    refused(sc, lambda: export_results(sc.admin, SESSION, out), ConflictError, "not publicised yet")
    assert not out.exists()
    publicize(sc.admin, SESSION)
    refused(sc, lambda: export_results(sc.s.bank("sup"), SESSION, out), PermissionDenied, "results.export")
    assert not out.exists()

    r = export_results(sc.admin, SESSION, out)
    assert (r["stage"], r["released_on"], r["candidates"], r["passed"]) == ("publicized", None, 6, 2)
    assert r["window"] == {"opens": w.opens.isoformat(), "last_day": w.last_day.isoformat(), "release_on": w.release_on.isoformat()}
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # no temporary files left
    assert [Path(r["files"][k]).name for k in ("csv", "xlsx", "pdf")] == FILES
    want = expected(sc)
    assert want[sc.tickets[4]][6:] == ["缺考", "缺考", "不合格", "缺考"]
    assert want[sc.tickets[5]][6:] == ["缺考", "95.0", "不合格", "缺考"]
    assert want[sc.tickets[1]][6:] == ["60.0", "60.0", "合格", "公示中"]

    # csv: UTF-8 with a BOM, one row per candidate in ticket order
    raw = (out / FILES[0]).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == HEADER
    assert rows[1:] == [want[t] for t in sorted(want)]

    # xlsx: one sheet, a bold header, the same rows; scores are numbers to one decimal, ID numbers text
    wb = load_workbook(out / FILES[1])
    assert wb.sheetnames == ["成绩上报"]
    ws = wb.active
    assert [c.value for c in ws[1]] == HEADER and all(c.font.bold for c in ws[1])
    got = [[("" if v is None else (f"{v:.1f}" if isinstance(v, int | float) else v)) for v in row] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert got == [want[t] for t in sorted(want)]
    assert ws["B2"].number_format == "@" and ws["H2"].number_format == "0.0" and ws["G2"].value == "免考"
    assert ws.column_dimensions["B"].width >= 20

    # the register: the title, each candidate's ticket, name and full ID number, the signatures, page numbers
    text = pdf_text(out / FILES[2])
    assert f"{_occupation(sc)}（三级/高级工）职业技能等级认定成绩登记表" in text
    for n, ticket in sc.tickets.items():
        assert ticket in text and f"考生{n:03d}" in text and id_number(n) in text, n
    for words in ("统分人：", "复核人：", "考评组长：", "认定机构（盖章）", "第1页共1页", "公示中", SESSION, "示范技师学院", "理论知识免考"):
        assert words in text.replace(" ", ""), words
    png = tmp_path / "register"
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", str(out / FILES[2]), str(png)], check=True)
    (page,) = tmp_path.glob("register*.png")
    assert page.stat().st_size > 10_000

    # on record, without a name or an ID number
    (event,) = audit_rows(sc.admin, "results.export")
    assert (event.actor, event.target_type, event.target_id) == ("kaowu", "exam_session", SESSION)
    assert event.details == {"candidates": 6, "passed": 2, "stage": "publicized", "files": FILES}
    (identity,) = audit_rows(sc.admin, "candidate.identity.read")
    assert identity.details == {"count": 6, "purpose": "results.export"}
    logged = json.dumps([e.details for e in audit_rows(sc.admin)], ensure_ascii=False) + "".join(e.target_id for e in audit_rows(sc.admin))
    for n in sc.tickets:
        assert id_number(n) not in logged and f"考生{n:03d}" not in logged

    # released: the files say so; exporting again replaces them
    release(sc.admin, SESSION, today=w.release_on)
    r = export_results(sc.admin, SESSION, out)
    assert r["stage"] == "released" and r["released_on"] == today.isoformat()
    rows = list(csv.reader((out / FILES[0]).read_text("utf-8-sig").splitlines()))
    assert {x[-1] for x in rows[1:]} == {"已发布", "缺考"}
    assert "已发布" in pdf_text(out / FILES[2])
    assert len(audit_rows(sc.admin, "results.export")) == 2


def test_results_changed_after_publicity_are_not_exported(scoring: Scoring, today: date, tmp_path: Path) -> None:
    sc = scoring
    publicised(sc, today)
    ids = {c.ticket: c.id for c in sc.rows(Candidate)}
    with sc.admin.engine.begin() as conn:
        conn.execute(update(Result).where(Result.candidate_id == ids[sc.tickets[2]]).values(passed=True))
    refused(sc, lambda: export_results(sc.admin, SESSION, tmp_path / "out"), ConflictError, "differ from those publicised")
    assert not (tmp_path / "out").exists()


def test_a_failure_while_rendering_leaves_no_file_and_no_audit(
    scoring: Scoring, today: date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from examvault.errors import ValidationError
    from examvault.scoring import export

    sc = scoring
    publicised(sc, today)

    def broken(*args: Any) -> bytes:
        raise ValidationError("font EXAMVAULT_FONT has no glyph for 1 character(s)")

    monkeypatch.setattr(export, "render_register", broken)
    refused(sc, lambda: export_results(sc.admin, SESSION, tmp_path / "out"), ValidationError, "no glyph")
    assert not (tmp_path / "out").exists()
    (tmp_path / "a-file").write_text("")
    refused(sc, lambda: export_results(sc.admin, SESSION, tmp_path / "a-file"), ValidationError, "is a file")


def test_the_cli_exports_and_prints_the_files(scoring: Scoring, db_url: str, today: date, tmp_path: Path) -> None:
    sc = scoring
    publicised(sc, today)

    def run(*args: str) -> tuple[int, str, str]:
        user, rest = args[1], args[2:]  # ("--user", NAME, …)
        ran = run_cli(db_url, user, *rest, code=6 if user != "kaowu" else 0)
        return ran.code, ran.stdout, ran.stderr

    code, stdout, stderr = run("--user", "kaowu", "results", "export", SESSION, "--out", str(tmp_path / "a"), "--json")
    assert code == 0, stderr
    r = json.loads(stdout)
    assert (r["stage"], r["candidates"]) == ("publicized", 6) and all(Path(f).is_file() for f in r["files"].values())
    code, _, stderr = run("--user", "kaowu", "results", "export", SESSION, "--out", str(tmp_path / "b"))
    assert code == 0 and "6 results (in publicity until" in stderr
    assert all(f"→ {tmp_path / 'b' / name}" in stderr for name in FILES), stderr
    code, _, stderr = run("--user", "sup", "results", "export", SESSION, "--out", str(tmp_path / "c"))
    assert code == 6 and stderr.startswith("error: ") and "results.export" in stderr and not (tmp_path / "c").exists()


def test_the_register_repeats_its_header_and_numbers_pages_and_shows_defence_and_review(tmp_path: Path) -> None:
    """Pure rendering, 60 candidates of a level-2 sitting: several landscape pages, each with the column
    header, the signature lines and 第 n 页 共 m 页; every candidate once."""
    rows = [{"ticket": f"27001200{n:03d}9", "id_number": f"36010219800101{n:03d}X", "name": "买买提·艾力" if n == 7 else f"考生{n:03d}",
             "cells": ["免考" if n == 1 else "78.5", "81.0", "缺考" if n == 2 else "66.0", "70.0"],
             "passed": "不合格" if n == 2 else "合格", "status": "缺考" if n == 2 else "已发布",
             "note": "理论知识免考" if n == 1 else ("答辩缺考" if n == 2 else "")} for n in range(1, 61)]  # fmt: skip
    header = {"institution": "示范技师学院", "title": "电工（二级/技师）职业技能等级认定成绩登记表", "date": "2027年5月16日",
              "code": "2027-05-电工-2", "site": "示范技师学院", "stage": "已发布（2027年6月1日发布）", "made": "2027年6月2日"}  # fmt: skip
    path = tmp_path / "register.pdf"
    path.write_bytes(render_register(header, ["理论知识", "操作技能", "答辩", "综合评审"], rows))
    pages = [p.replace(" ", "") for p in pdf_text(path).split("\f") if p.strip()]
    assert len(pages) >= 3
    for n, page in enumerate(pages, start=1):
        assert "准考证号" in page and "综合评审" in page and "备注" in page and "统分人：" in page
        assert f"第{n}页共{len(pages)}页" in page
        assert ("（续）" in page) == (n > 1)
    assert all(sum(p.count(f"27001200{n:03d}9") for p in pages) == 1 for n in range(1, 61))
    assert "买买提·艾力" in pages[0] and "36010219800101060X" in pages[-1]


@pytest.mark.parametrize("code, stem", [("2027-05-电工-3", "2027-05-电工-3"), ("2027/05 电工", "2027_05_电工")])
def test_session_codes_become_safe_file_names(code: str, stem: str) -> None:
    from examvault.scoring.export import _file_stem

    assert _file_stem(code) == stem


@pytest.mark.parametrize("parts, scores, status, note, cells, remark", [
    ({"theory": "新考", "skill": "新考"}, {"theory": 60.0, "skill": 61.2}, "scored", "", ["60.0", "61.2"], ""),
    ({"theory": "免考", "skill": "新考"}, {"theory": None, "skill": 72.0}, "scored", "theory 免考", ["免考", "72.0"], "理论知识免考"),
    ({"theory": "新考", "skill": "新考"}, {"theory": None, "skill": 95.0}, "absent", "", ["缺考", "95.0"], "理论知识缺考"),
    ({"theory": "新考", "skill": "新考"}, {"theory": None, "skill": None}, "absent", "", ["缺考", "缺考"], "缺考"),
    ({"theory": "新考", "skill": "新考"}, {"theory": 0.0, "skill": 80.0}, "scored", "理论知识 试卷作废", ["0.0", "80.0"], "理论知识 试卷作废"),
    ({"theory": "新考", "skill": "新考"}, {"theory": None, "skill": None}, "cancelled", "本次成绩取消", ["取消成绩", "取消成绩"], "本次成绩取消"),
    ({"theory": "新考", "skill": "新考"}, {"theory": None, "skill": None}, "disqualified", "", ["取消资格", "取消资格"], "取消资格"),
    ({"theory": "新考"}, {"theory": 70.0}, "scored", "", ["70.0", ""], ""),  # no skill part: blank, not 缺考
])  # fmt: skip
def test_each_part_prints_its_score_or_why_it_has_none(parts: dict[str, str], scores: dict[str, Any], status: str, note: str,
                                                       cells: list[str], remark: str) -> None:  # fmt: skip
    from examvault.scoring.export import _cell, _note

    assert [_cell(p, parts, scores, status) for p in ("theory", "skill")] == cells
    assert _note(parts, scores, status, note, ["theory", "skill"]) == remark
