"""The 国标 Word marker format: reading real .docx files, writing them, and refusing bad ones."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examvault.errors import Issue, ValidationError
from examvault.itembank.formats.fields import OPTION_FIELDS
from examvault.itembank.formats.gb_docx import COLUMNS, read_gb_docx, write_gb_docx

EMPTY = dict.fromkeys(COLUMNS, "")


def item(**values: str) -> dict[str, str]:
    """A full canonical value dict, so assertions compare every field, not just the set ones."""
    return {**EMPTY, **values}


def build(path: Path, paragraphs: list[str]) -> Path:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return path


def issues_of(path: Path) -> list[Issue]:
    with pytest.raises(ValidationError) as caught:
        read_gb_docx(path)
    assert "nothing was imported" in str(caught.value)
    return caught.value.issues


# ---------------------------------------------------------------- writing and reading back

SAMPLE = [
    item(
        point_code="A-B-A-001", type="单选", difficulty="3", consistency="5",
        stem="我国规定的安全电压额定值中，\n下列哪一个不是？", option_a="42V", option_b="36V", option_c="24V",
        option_d="10V", answer="D", analysis="安全电压等级为42、36、24、12、6V。",
        points="1", occupation="6-31-01-03", level="3",
    ),
    item(
        point_code="A-B-A-002", type="判断", difficulty="1", stem="电气设备着火时可以用水扑救。",
        answer="×", points="0.5", occupation="6-31-01-03", level="3",
    ),
    item(
        point_code="B-A-C-010", type="多选", difficulty="4", consistency="2",
        stem="下列属于基本安全用具的有：", option_a="绝缘棒", option_b="绝缘夹钳", option_c="绝缘手套",
        option_d="验电器", option_e="绝缘垫", answer="ABD", points="2", occupation="6-31-01-03", level="3",
    ),
    item(
        point_code="C-A-A-003", type="案例分析", difficulty="5",
        stem="某车间发生触电事故。\n请分析事故原因，\n并提出整改措施。",
        answer="一、未执行停电验电制度。\n二、未装设接地线。", analysis="答出原因得6分；\n答出措施得4分。",
        points="10", occupation="6-31-01-03", level="2",
    ),
]  # fmt: skip


def test_written_file_reads_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "电工题库.docx"
    write_gb_docx([{k: v for k, v in row.items() if v} for row in SAMPLE], path, title="电工（三级）理论知识题库")

    rows = read_gb_docx(path)

    assert [r.values for r in rows] == SAMPLE
    assert {r.file for r in rows} == {"电工题库.docx"}
    assert all(r.columns == COLUMNS for r in rows)
    assert rows[0].column("stem") == "{A} 题干"
    assert rows[0].column("option_c") == "（C） 选项C"
    assert rows[0].column("answer") == "{B} 答案"
    assert rows[0].column("type") == "header 题型"


def test_writer_emits_directives_only_on_change_and_headers_with_type_codes(tmp_path: Path) -> None:
    path = tmp_path / "bank.docx"
    write_gb_docx(SAMPLE, path, title="题库")

    texts = [p.text for p in docx.Document(str(path)).paragraphs]

    assert texts[0] == "题库"
    assert texts[1:5] == ["【职业代码：6-31-01-03】", "【等级：3】", "【分值：1】", "A-B-A-001  B  3  5"]
    assert texts.count("【职业代码：6-31-01-03】") == 1
    assert "【等级：2】" in texts and "【分值：0.5】" in texts
    assert "A-B-A-002  A  1" in texts and "C-A-A-003  I  5" in texts
    assert "（D）10V" in texts and "{B}D" in texts
    assert "{A}我国规定的安全电压额定值中，" in texts and "下列哪一个不是？" in texts
    rows = read_gb_docx(path)
    assert [r.location for r in rows] == [f"item {n} (paragraph {texts.index(h) + 1})" for n, h in enumerate(
        ["A-B-A-001  B  3  5", "A-B-A-002  A  1", "B-A-C-010  C  4  2", "C-A-A-003  I  5"], start=1)]  # fmt: skip


def test_writer_accepts_type_codes_and_refuses_what_would_read_back_differently(tmp_path: Path) -> None:
    path = tmp_path / "x.docx"
    write_gb_docx([item(point_code="A-A-A-001", type="B", difficulty="2", stem="s", option_a="a", answer="A")], path)
    assert read_gb_docx(path)[0].values["type"] == "单选"

    base = item(point_code="A-A-A-001", type="单选", difficulty="2", stem="s", answer="A")
    bad = [
        {**base, "point_code": "1-A"},
        {**base, "type": "组合"},
        {**base, "difficulty": "6"},
        {**base, "stem": "第一行\nA-B-A-002  B  3  1"},
        {**base, "stem": "第一行\n{B}A"},
        {**base, "stem": "第一行\n（A）看起来像选项"},
        {**base, "analysis": "x\n【分值：3】"},
        {**base, "option_a": "甲 （B）乙"},
        {**base, "points": "1】"},
    ]
    for row in bad:
        with pytest.raises(ValueError, match="row 1"):
            write_gb_docx([row], tmp_path / "bad.docx")


# ---------------------------------------------------------------- hand-made documents


def test_hand_made_document_with_every_layout_variant(tmp_path: Path) -> None:
    document = docx.Document()
    add = document.add_paragraph
    add("维修电工（三级/高级工）理论知识试题库")  # title: ignored
    add("说明：本题库依据国家职业技能标准编制。")  # note: ignored
    add("【职业代码：6-31-01-03】")
    add("[等级:3]")
    add("【分值：0.5】")
    table = document.add_table(rows=1, cols=1)
    table.cell(0, 0).text = "A-Z-Z-999  B  3  1"  # inside a table: ignored, not an item
    add("A-B-A-001\tB\u30003  5")  # tab and full-width space between fields
    add("{A}我国安全电压的额定值")
    add("")
    add("有以下几个等级，最高为：")
    add("（A）36V （B）24V （C）12V\u3000（D）42V")
    add("{B} D ")
    add("")
    add("A-B-A-002  判断  2  5")  # Chinese type name in the type position
    add("{A}")
    add("A-B-001 号文件规定的限值是多少？")  # starts like a point code but is stem prose
    add("A-B-A-003 设备 的 额定电压")  # 4 fields, but neither type nor difficulty: prose
    add("{B}√")
    add("【分值：2】")
    add("二、多项选择题")  # section heading after a directive: ignored
    add("B-C-A-004  C  4  3")
    add("{A}下列属于防止直接触电的措施有")
    add("(A)绝缘")
    add("(B)屏护")
    add("（C）间距 (D)接地")
    add("{B}ABC")
    add("{C}绝缘、屏护和间距是直接接触防护措施，")
    add("")
    add("接地属于间接接触防护。")
    add("【等级：2】")
    add("【分值：10】")
    p = add("C-A-A-005  H  5  1")
    p.add_run().add_break()  # soft line break: header and {A} share one paragraph
    p.add_run("{A}分析下列情况。")
    add("一、停电作业未验电；")
    add("二、未挂接地线。")
    add("{B}（1）违反安全规程；")
    add("（2）应先验电再挂地线。")
    add("{C}评分要点：原因4分，措施6分。")
    path = tmp_path / "hand.docx"
    document.save(str(path))

    rows = read_gb_docx(path)

    common = {"occupation": "6-31-01-03", "level": "3"}
    assert [r.values for r in rows] == [
        item(point_code="A-B-A-001", type="单选", difficulty="3", consistency="5", points="0.5", **common,
             stem="我国安全电压的额定值\n有以下几个等级，最高为：",
             option_a="36V", option_b="24V", option_c="12V", option_d="42V", answer="D"),
        item(point_code="A-B-A-002", type="判断", difficulty="2", consistency="5", points="0.5", **common,
             stem="A-B-001 号文件规定的限值是多少？\nA-B-A-003 设备 的 额定电压", answer="√"),
        item(point_code="B-C-A-004", type="多选", difficulty="4", consistency="3", points="2", **common,
             stem="下列属于防止直接触电的措施有", option_a="绝缘", option_b="屏护", option_c="间距",
             option_d="接地", answer="ABC", analysis="绝缘、屏护和间距是直接接触防护措施，\n接地属于间接接触防护。"),
        item(point_code="C-A-A-005", type="综合分析", difficulty="5", consistency="1", points="10",
             occupation="6-31-01-03", level="2", stem="分析下列情况。\n一、停电作业未验电；\n二、未挂接地线。",
             answer="（1）违反安全规程；\n（2）应先验电再挂地线。", analysis="评分要点：原因4分，措施6分。"),
    ]  # fmt: skip
    texts = [p.text for p in document.paragraphs]
    assert [r.location for r in rows] == [
        f"item 1 (paragraph {texts.index('A-B-A-001' + chr(9) + 'B' + chr(0x3000) + '3  5') + 1})",
        f"item 2 (paragraph {texts.index('A-B-A-002  判断  2  5') + 1})",
        f"item 3 (paragraph {texts.index('B-C-A-004  C  4  3') + 1})",
        f"item 4 (paragraph {next(i for i, t in enumerate(texts) if t.startswith('C-A-A-005')) + 1})",
    ]
    assert rows[0].location == "item 1 (paragraph 6)"  # the table's paragraph is not counted


def test_header_without_consistency_code_and_empty_document(tmp_path: Path) -> None:
    path = build(tmp_path / "a.docx", ["A-A-A-001  D  2", "{A}欧姆定律：I = ____ / R", "{B}U"])
    assert read_gb_docx(path)[0].values == item(
        point_code="A-A-A-001", type="填空", difficulty="2", stem="欧姆定律：I = ____ / R", answer="U"
    )
    assert read_gb_docx(build(tmp_path / "b.docx", ["只有标题"])) == []


# ---------------------------------------------------------------- round trip

_ALPHABET = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
    st.sampled_from(list("abcxyzABCDEFGHIVΩμ0123456789 \u3000\t。，、；：？！“”‘’%.+-=/*_<>~#&()（）√×·°")),
)
_OPTION_LIKE = re.compile(r"[（(]\s*[A-HＡ-Ｈ]\s*[）)]")


def _safe_line(text: str) -> bool:
    tokens = text.split()
    # a first field shaped like a point code could be read as a header
    return bool(tokens) and not re.search(r"-\d{3}", tokens[0]) and not _OPTION_LIKE.search(text)


_line = st.text(_ALPHABET, min_size=1, max_size=30).map(str.strip).filter(_safe_line)
_block = st.lists(_line, min_size=1, max_size=3).map("\n".join)
_point_code = st.builds(
    lambda letters, n: "-".join([*letters, f"{n:03d}"]),
    st.lists(st.sampled_from("ABCXYZ"), min_size=1, max_size=4),
    st.integers(0, 999),
)


@st.composite
def _rows(draw: st.DrawFn) -> dict[str, str]:
    n_options = draw(st.integers(0, 8))
    options = {name: draw(_block) if i < n_options else "" for i, name in enumerate(OPTION_FIELDS)}
    return item(
        point_code=draw(_point_code),
        type=draw(st.sampled_from(["判断", "单选", "多选", "填空", "简答", "计算", "论述", "综合分析", "案例分析"])),
        difficulty=str(draw(st.integers(1, 5))),
        consistency=draw(st.sampled_from(["", "1", "5", "12"])),
        stem=draw(_block),
        answer=draw(st.one_of(st.sampled_from(["A", "ABD", "√", "×"]), _block)),
        analysis=draw(st.one_of(st.just(""), _block)),
        points=draw(st.sampled_from(["", "0.5", "1", "2.5", "10"])),
        occupation=draw(st.sampled_from(["", "6-31-01-03", "4-04-05-01"])),
        level=draw(st.sampled_from(["", "3", "5"])),
        **options,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_rows(), min_size=1, max_size=4), title=st.one_of(st.just(""), _line))
def test_round_trip(tmp_path: Path, rows: list[dict[str, str]], title: str) -> None:
    path = tmp_path / "rt.docx"
    write_gb_docx(rows, path, title=title)
    assert [r.values for r in read_gb_docx(path)] == rows


# ---------------------------------------------------------------- structural errors


def test_every_structural_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = build(
        tmp_path / "broken.docx",
        [
            "题库",  # 1
            "{B}A",  # 2: marker before any header
            "A-B-A-001  Z  3  5",  # 3: bad type code
            "{A}机密题干一",  # 4
            "{B}A",  # 5
            "A-B-A-002  B  7  5",  # 6: difficulty out of range
            "{A}机密题干二",  # 7
            "{B}B",  # 8
            "A-B-A-003  B  3  5",  # 9: no {A}
            "{B}C",  # 10
            "A-B-A-004  B  3  5",  # 11: no {B}
            "{A}机密题干四",  # 12
            "A-B-A-005  B  3  5",  # 13
            "机密题干五没有标记",  # 14: text between header and {A}
            "{A}机密题干五",  # 15
            "{B}A",  # 16
            "A-B-A-006  B  3  5",  # 17
            "{A}机密题干六",  # 18
            "（A）甲 （B）乙",  # 19
            "（B）丙",  # 20: repeated
            "{B}A",  # 21
            "A-B-A-007  C  3  5",  # 22
            "{A}机密题干七",  # 23
            "（A）甲",  # 24
            "（C）丙",  # 25: gap
            "（B）乙",  # 26: backwards
            "{B}AC",  # 27
            "A-B-A-008  B  3  5",  # 28
            "{A}机密题干八",  # 29
            "{B}A",  # 30
            "A-B-A-009 B 3 5 多余字段",  # 31: not a header (5 fields), so it continues item 8's answer
            "{A}机密题干九",  # 32: {A} after {B}
            "{B}B",  # 33: {B} repeated
        ],
    )

    issues = issues_of(path)

    assert [(i.location, i.column) for i in issues] == [
        ("paragraph 2", "{B} 答案"),
        ("item 1 (paragraph 3)", "header 题型"),
        ("item 2 (paragraph 6)", "header 难度"),
        ("item 3 (paragraph 9)", "{A} 题干"),
        ("item 4 (paragraph 11)", "{B} 答案"),
        ("item 5 (paragraph 14)", "{A} 题干"),
        ("item 6 (paragraph 20)", "（B） 选项B"),
        ("item 7 (paragraph 25)", "（C） 选项C"),
        ("item 7 (paragraph 26)", "（B） 选项B"),
        ("item 8 (paragraph 32)", "{A} 题干"),
        ("item 8 (paragraph 33)", "{B} 答案"),
    ]
    messages = [i.message for i in issues]
    assert "marker outside any item" in messages[0]
    assert "type code 'Z' is not one of A–I" in messages[1]
    assert "difficulty '7' is not 1..5" in messages[2]
    assert "no {A} marker" in messages[3]
    assert "no {B} marker" in messages[4]
    assert "text between the header line and {A}" in messages[5]
    assert "option (B) is repeated" in messages[6]
    assert "option (C) is out of order; the next option should be (B)" in messages[7]
    assert "option (B) is out of order; the next option should be (D)" in messages[8]
    assert "{A} marker comes after {B}" in messages[9] and "header line" in messages[9]
    assert "{B} marker is repeated" in messages[10]
    assert all(i.file == "broken.docx" for i in issues)
    assert "机密" not in str(ValidationError(issues))  # item content never leaks into messages
    assert "broken.docx, item 7 (paragraph 25), column （C） 选项C: option (C) is out of order" in str(
        ValidationError(issues)
    )


@pytest.mark.parametrize(
    ("paragraphs", "location", "column", "reason"),
    [
        (["A-B-A-001  Q  3  5", "{A}x", "{B}A"], "item 1 (paragraph 1)", "header 题型", "type code 'Q'"),
        (["T", "A-B-A-001  B  0  5", "{A}x", "{B}A"], "item 1 (paragraph 2)", "header 难度", "difficulty '0'"),
        (["A-B-A-001  B  3  5", "{B}A"], "item 1 (paragraph 1)", "{A} 题干", "no {A} marker"),
        (["A-B-A-001  B  3  5", "{A}x", "（A）a"], "item 1 (paragraph 1)", "{B} 答案", "no {B} marker"),
        (["A-B-A-001  B  3  5", "x", "{A}x", "{B}A"], "item 1 (paragraph 2)", "{A} 题干", "text between"),
        (["A-B-A-001  B  3  5", "{A}x", "（A）a （A）b", "{B}A"], "item 1 (paragraph 3)", "（A） 选项A", "repeated"),
        (["A-B-A-001  B  3  5", "{A}x", "（B）b", "{B}B"], "item 1 (paragraph 3)", "（B） 选项B", "out of order"),
    ],
)
def test_each_error_kind_alone(
    tmp_path: Path, paragraphs: list[str], location: str, column: str, reason: str
) -> None:
    [issue] = issues_of(build(tmp_path / "one.docx", paragraphs))
    assert (issue.file, issue.location, issue.column) == ("one.docx", location, column)
    assert reason in issue.message


# ---------------------------------------------------------------- unreadable files


def _unreadable(path: Path) -> str:
    [issue] = issues_of(path)
    assert (issue.file, issue.location, issue.column) == (path.name, "", "")
    assert issue.message.startswith("not a readable .docx file (")
    return issue.message


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "random.docx"
    path.write_bytes(os.urandom(2048))
    assert "not a zip package" in _unreadable(path)


def test_zip_without_document_xml(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "word/document.xml" in _unreadable(path)


def test_docx_with_its_document_part_removed(tmp_path: Path) -> None:
    good = build(tmp_path / "good.docx", ["x"])
    path = tmp_path / "gutted.docx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                dst.writestr(info, src.read(info))
    assert "not a readable .docx file" in _unreadable(path)


def test_legacy_doc(tmp_path: Path) -> None:
    path = tmp_path / "old.doc"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(1024))
    assert ".doc" in _unreadable(path) and "save as .docx" in _unreadable(path)


def test_workbook_renamed(tmp_path: Path) -> None:
    from openpyxl import Workbook

    path = tmp_path / "sheet.docx"
    Workbook().save(path)
    assert "not a Word document" in _unreadable(path)


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in _unreadable(tmp_path / "nope.docx")
