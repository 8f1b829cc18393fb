"""The supervision report (PDF) and the evaluation work record (DOCX), read back from the files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import docx
import pypdf
import pytest
from PIL import Image

from examvault.errors import PermissionDenied, ValidationError
from examvault.quality.reports import write_report
from examvault.quality.service import advance, file_finding, record_incident, resolve_finding
from tests.quality.conftest import audit_events, staff_rooms, tick_all
from tests.staff.conftest import Sitting

HEADINGS = ["一、督导概况", "二、检查记录", "三、质量控制检查表", "四、考务人员配备与回避", "五、考场情况统计",
            "六、工作人员违规违纪处理", "七、督导意见"]  # fmt: skip
ISSUE = "T02考场座号未张贴"
RESOLUTION = "复查座号已张贴"
VIOLATION = "考生5使用手机查阅资料，已收缴"  # the description names the candidate, as real ones do


def pdf_text(path: Path) -> str:
    """The whole text with whitespace removed: table cells wrap, which splits words across lines."""
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(path).pages))


def pdf_lines(path: Path) -> list[str]:
    return [
        ln.strip() for p in pypdf.PdfReader(path).pages for ln in p.extract_text().splitlines() if ln.strip()
    ]


def docx_cells(path: Path) -> list[list[str]]:
    return [[c.text for c in row.cells] for t in docx.Document(str(path)).tables for row in t.rows]


def record(s: Sitting) -> dict:
    """A staffed sitting with one blocking finding, one clean check and four incidents in two rooms."""
    staff_rooms(s)
    f = file_finding(s.sup, s.session, stage="room_acceptance", supervisor="DD1", checked="理论考场布置", issue=ISSUE,
                     correction="张贴座号并复查", blocking=True)  # fmt: skip
    file_finding(s.sup, s.session, stage="registration_review", supervisor="DD1", checked="报名资格审核记录")
    t01, k01 = s.candidates["T01"], s.candidates["K01"]
    record_incident(
        s.admin,
        s.session,
        kind="violation",
        room="T01",
        candidate=t01[4]["code"],
        description=VIOLATION,
        reported_by="JK1",
    )
    record_incident(
        s.admin,
        s.session,
        kind="absent",
        room="T01",
        candidate=t01[0]["code"],
        description="开考15分钟未到场",
    )
    record_incident(
        s.admin, s.session, kind="absent", room="T01", candidate=t01[1]["code"], description="未到场"
    )
    record_incident(
        s.admin, s.session, kind="late", room="K01", candidate=k01[0]["code"], description="迟到10分钟"
    )
    return f


def section(lines: list[str], heading: str, following: str) -> list[str]:
    return lines[lines.index(heading) + 1 : lines.index(following)]


def test_supervision_report_pdf(supervised: Sitting, tmp_path: Path) -> None:
    s = supervised
    f = record(s)
    early = tmp_path / "early.docx"  # the same document as Word (a PDF costs a font subset: seconds)
    write_report(s.sup, s.session, "supervision", early)
    row = next(r for r in docx_cells(early) if r[0] == str(f["id"]))
    assert row == [str(f["id"]), "考场验收（阻断）", "理论考场布置", ISSUE, "张贴座号并复查", "未整改", "DD1"]
    paragraphs = "".join(p.text for p in docx.Document(str(early)).paragraphs)
    assert "已整改 0 条，未整改 1 条" in paragraphs
    assert opinion(early) == ("尚有 1 条问题未整改，其中 1 条为阻断性问题；"
                              "阻断性问题整改并经督导员确认前，本批次不得进入下一环节。")  # fmt: skip

    resolve_finding(s.sup, f["id"], resolution=RESOLUTION, supervisor="DD1")
    out = tmp_path / "督导报告.pdf"
    r = write_report(s.sup, s.session, "supervision", out)
    assert r["sections"] == HEADINGS and r["kind"] == "supervision" and r["bytes"] == out.stat().st_size
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    assert "职业技能等级认定质量督导报告" in text
    assert s.session in text and "人员DD1" in text  # header: the batch and its supervisor
    positions = [text.index(h) for h in HEADINGS]
    assert positions == sorted(positions)
    assert f"{ISSUE}张贴座号并复查已整改：{RESOLUTION}DD1" in text
    assert "尚有" not in text and "问题均已整改并经督导员确认" in text
    assert "发现问题1条（其中阻断性问题1条），已整改1条，未整改0条" in text
    # Incident counts per room: 缺考, 迟到, 违纪, 异常情况.
    counts = section(pdf_lines(out), "五、考场情况统计", "六、工作人员违规违纪处理")
    assert counts[:5] == ["考场", "缺考", "迟到", "违纪", "异常情况"]
    assert counts[5:] == ["K01", "0", "1", "0", "0", "T01", "2", "0", "1", "0"]
    # The supervision report counts; it never names or identifies a candidate.
    assert VIOLATION not in text and "使用手机" not in text and "开考15分钟未到场" not in text
    assert "考生5" not in text
    assert not any(c["code"] in text for room in s.candidates.values() for c in room)
    assert audit_events(s.admin, "quality.report")[-1]["details"] == {"kind": "supervision", "file": out.name}

    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile", str(out), str(tmp_path / "page1")],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    png = tmp_path / "page1.png"
    assert png.exists() and png.stat().st_size > 5_000
    with Image.open(png) as im:
        assert abs(im.width / im.height - 210 / 297) < 0.02  # an A4 page
        grey = im.convert("L")
        dark = sum(grey.histogram()[:128])
    assert dark > 2_000  # text and table rules were drawn, not a blank page


def test_work_record_docx(supervised: Sitting, tmp_path: Path) -> None:
    s = supervised
    record(s)
    out = tmp_path / "考评工作记录.docx"
    r = write_report(s.admin, s.session, "work-record", out)
    assert r["kind"] == "work-record" and out.stat().st_size == r["bytes"]
    rows = docx_cells(out)
    staff = {row[1]: row for row in rows if len(row) == 6 and re.fullmatch(r"(JK|KP|DD)\d", row[1])}
    assert set(staff) == {"JK1", "JK2", "JK3", "JK4", "KP1", "KP2", "KP3", "DD1"}
    assert staff["JK1"][:4] == ["人员JK1", "JK1", "监考", "T01"]
    assert staff["JK4"][:4] == ["人员JK4", "JK4", "监考", "T02"]
    assert staff["KP2"][:5] == ["人员KP2", "KP2", "考评员", "K01", "KP-0002"]
    assert staff["DD1"][:3] == ["人员DD1", "DD1", "督导"]
    rooms = {
        row[0]: row
        for row in rows
        if row and row[0] in ("T01", "T02", "K01") and len(row) == 6 and row[1].endswith("考场")
    }
    assert rooms["T01"][2:5] == ["20", "18", "2"]  # 应考, 实考, 缺考
    assert rooms["K01"][2:5] == ["10", "10", "0"] and rooms["K01"][5] == "人员KP1、人员KP2、人员KP3"
    incidents = {row[4]: row for row in rows if len(row) == 6 and row[2] in ("缺考", "迟到", "违纪")}
    assert set(incidents) == {VIOLATION, "开考15分钟未到场", "未到场", "迟到10分钟"}  # as recorded
    assert incidents[VIOLATION][1:4] == ["T01", "违纪", s.candidates["T01"][4]["code"]]
    assert incidents[VIOLATION][5] == "JK1"


def test_wrong_kind_suffix_or_role_is_refused(supervised: Sitting, make_bank, tmp_path: Path) -> None:
    s = supervised
    with pytest.raises(ValidationError, match="report kind 'audit' is not one of supervision, work-record"):
        write_report(s.sup, s.session, "audit", tmp_path / "r.pdf")
    with pytest.raises(ValidationError, match=r"r\.txt: the report is written as \.pdf or \.docx"):
        write_report(s.sup, s.session, "supervision", tmp_path / "r.txt")
    with pytest.raises(ValidationError, match=r"the report is written as \.pdf or \.docx"):
        write_report(s.sup, s.session, "work-record", tmp_path / "r")
    with pytest.raises(PermissionDenied, match="may not do quality.report"):
        write_report(make_bank("cust"), s.session, "work-record", tmp_path / "r.docx")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("r")) == []
    assert audit_events(s.admin, "quality.report") == []


def opinion(path: Path) -> str:
    paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
    return paragraphs[paragraphs.index("七、督导意见") + 1]


def test_the_opinion_does_not_claim_a_non_blocking_finding_holds_the_session(
    supervised: Sitting, tmp_path: Path
) -> None:
    s = supervised
    tick_all(s, "registration_review")
    file_finding(s.sup, s.session, stage="registration_review", supervisor="DD1", checked="公示记录", issue="公示照片不清晰",
                 correction="补拍")  # fmt: skip
    advance(s.admin, s.session)  # a non-blocking finding does not hold the stage
    write_report(s.sup, s.session, "supervision", tmp_path / "r.docx")
    text = opinion(tmp_path / "r.docx")
    assert text == "尚有 1 条一般性问题未整改，应按整改要求限期整改，由督导员复查确认。"
    assert "阻断" not in text and "不得进入下一环节" not in text


def test_work_record_counts_each_absent_candidate_once(supervised: Sitting, tmp_path: Path) -> None:
    s = supervised
    c, other = s.candidates["T01"][0]["code"], s.candidates["T01"][1]["code"]
    record_incident(s.admin, s.session, kind="absent", room="T01", candidate=c, description="未到场")
    record_incident(
        s.admin, s.session, kind="absent", room="T01", candidate=c, description="未到场（补记：电话联系未果）"
    )
    write_report(s.admin, s.session, "work-record", tmp_path / "w.docx")
    t01 = next(r for r in docx_cells(tmp_path / "w.docx") if r[0] == "T01" and r[1] == "理论考场")
    assert t01[2:5] == ["20", "19", "1"]
    # Both lines stay in the record as written; a second absent candidate counts as a second.
    lines = [r for r in docx_cells(tmp_path / "w.docx") if len(r) == 6 and r[2] == "缺考"]
    assert [r[4] for r in lines] == ["未到场", "未到场（补记：电话联系未果）"]
    record_incident(s.admin, s.session, kind="absent", room="T01", candidate=other, description="未到场")
    write_report(s.admin, s.session, "work-record", tmp_path / "w2.docx")
    t01 = next(r for r in docx_cells(tmp_path / "w2.docx") if r[0] == "T01" and r[1] == "理论考场")
    assert t01[2:5] == ["20", "18", "2"]


def test_the_work_record_needs_the_incident_permission(
    supervised: Sitting, make_bank, tmp_path: Path
) -> None:
    s = supervised
    record(s)
    out = tmp_path / "w.docx"
    # it lists every incident as recorded, sealed descriptions included: the administrator may write the
    # supervision report but not this one
    with pytest.raises(PermissionDenied, match="may not do quality.incident"):
        write_report(make_bank("admin"), s.session, "work-record", out)
    assert not out.exists() and audit_events(s.admin, "quality.report") == []
    assert (
        write_report(make_bank("admin"), s.session, "supervision", tmp_path / "s.docx")["kind"]
        == "supervision"
    )
    assert write_report(s.sup, s.session, "work-record", out)["kind"] == "work-record"  # a supervisor may
    assert [e["actor"] for e in audit_events(s.admin, "quality.report")] == ["admin", "sup"]


@pytest.mark.parametrize("kind", ["supervision", "work-record"])
def test_an_unwritable_path_is_refused_and_nothing_audited(
    supervised: Sitting, tmp_path: Path, kind: str
) -> None:
    s = supervised
    folder = tmp_path / "a-folder.docx"
    folder.mkdir()
    # a missing folder; a folder where the file would go
    for target in (tmp_path / "no-such-dir" / "r.docx", folder):
        with pytest.raises(ValidationError, match=rf"{target.name}: cannot write the report \("):
            write_report(s.sup, s.session, kind, target)
    assert audit_events(s.admin, "quality.report") == []
