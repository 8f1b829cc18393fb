"""Reader and writer for the 国标 Word item-bank marker format.

Item banks kept for the national certification system circulate as Word files in
which every item is a header line (``A-B-A-001  B  3  5``: 鉴定点代码, 题型, 难度,
一致性代码) followed by ``{A}`` stem, ``（A）``… options, ``{B}`` answer and an
optional ``{C}`` rubric. Points, occupation and level are not on the header line;
they are set by directive paragraphs such as ``【分值：0.5】`` that hold until changed.

The reader turns such a file into `RawRow`s exactly like the tabular readers do,
so that validation happens once, elsewhere. It only judges structure — a header it
cannot read, a missing marker, options out of order — and reports every such
problem at once, located by item number and paragraph, because a custodian fixing
a 400-item file in Word needs the whole list, not one error per attempt. Messages
never quote item content: the file may hold a live, confidential bank.

Decisions the format leaves open, made here:

* A paragraph holding soft line breaks (Shift+Enter) is read as several lines that
  share its paragraph number; otherwise a header and its ``{A}`` typed on one
  paragraph with a line break would be unreadable.
* A line is a header only if it has 3 or 4 whitespace-separated fields, the first
  is a whole point code, and either the type is recognisable or the difficulty is
  a number. That keeps stem prose that happens to begin with a point code out,
  while still catching headers with a wrong type code or difficulty. A header that
  is missed anyway is caught later: its ``{A}`` then lands inside the previous
  item and is reported as out of order.
* Markers and options are recognised only at the start of a line. Options are
  recognised only between ``{A}`` and ``{B}``: answers and rubrics often number
  their points ``(A)``. A new option on the same line must be preceded by
  whitespace. A line after an option that is not itself a marker continues that
  option.
* A directive ends the item above it. Plain text after a directive and before the
  next header (a section heading such as 二、单选题) is ignored like a title;
  a ``{A}``/``{B}``/``{C}`` there is reported, since its header is missing.
* Directives take effect for items whose header line comes after them.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from examvault.errors import NOTHING_IMPORTED, Issue, ValidationError
from examvault.itembank.formats.fields import OPTION_FIELDS, RawRow

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument


# The header carries a letter; the bank and validation speak in Chinese type names.
TYPE_CODES: dict[str, str] = dict(
    zip(
        "ABCDEFGHI",
        ("判断", "单选", "多选", "填空", "简答", "计算", "论述", "综合分析", "案例分析"),
        strict=True,
    )
)
_TYPE_BY_NAME: dict[str, str] = {
    **{name: name for name in TYPE_CODES.values()},
    **{f"{name}题": name for name in TYPE_CODES.values()},
}
_CODE_BY_TYPE: dict[str, str] = {name: code for code, name in TYPE_CODES.items()}

_POINT_CODE = re.compile(r"[A-Z](?:-[A-Z])*-\d{3}", re.ASCII)
_MARKER = re.compile(r"[{｛]\s*([ABCＡＢＣ])\s*[}｝]")
_OPTION = re.compile(r"[（(]\s*([A-HＡ-Ｈ])\s*[）)]")
_NEXT_OPTION = re.compile(r"(?<=\s)[（(]\s*[A-HＡ-Ｈ]\s*[）)]")
_DIRECTIVE = re.compile(r"[【\[［]\s*(分值|职业代码|等级)\s*[：:]\s*(.*?)\s*[】\]］]")
_DIRECTIVE_FIELD = {"分值": "points", "职业代码": "occupation", "等级": "level"}

_MARKER_FIELD = {"A": "stem", "B": "answer", "C": "analysis"}
_MARKER_LABEL = {name: "{" + letter + "}" for letter, name in _MARKER_FIELD.items()}
_LETTERS = "ABCDEFGH"
# Labels name the marker a custodian will search for in Word, not a spreadsheet column.
COLUMNS: dict[str, str] = {
    "point_code": "header 鉴定点代码",
    "type": "header 题型",
    "difficulty": "header 难度",
    "consistency": "header 一致性代码",
    "stem": "{A} 题干",
    **{name: f"（{name[-1].upper()}） 选项{name[-1].upper()}" for name in OPTION_FIELDS},
    "answer": "{B} 答案",
    "analysis": "{C} 解析/评分要点",
    "points": "【分值】",
    "occupation": "【职业代码】",
    "level": "【等级】",
}


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _type_name(token: str) -> str | None:
    key = _nfkc(token)
    if len(key) == 1:
        return TYPE_CODES.get(key.upper())
    return _TYPE_BY_NAME.get(key)


def _header_fields(line: str) -> list[str] | None:
    """The header's fields, or None when the line should be read as ordinary text."""
    tokens = line.split()
    if not 3 <= len(tokens) <= 4 or not _POINT_CODE.fullmatch(_nfkc(tokens[0])):
        return None
    level = _nfkc(tokens[2])
    if _type_name(tokens[1]) is None and not (level.isascii() and level.isdigit()):
        return None
    return tokens


def _directive(line: str) -> tuple[str, str] | None:
    m = _DIRECTIVE.fullmatch(line)
    return (_DIRECTIVE_FIELD[m.group(1)], m.group(2).strip()) if m else None


def _marker(line: str) -> tuple[str, str] | None:
    """(field, rest of the line) for a line opening with {A}, {B} or {C}."""
    m = _MARKER.match(line)
    return (_MARKER_FIELD[_nfkc(m.group(1))], line[m.end() :].strip()) if m else None


def _options(line: str) -> list[tuple[str, str]] | None:
    """[(letter, text)…] for a line opening with an option marker, split at later markers."""
    if not _OPTION.match(line):
        return None
    starts = [0, *(m.start() for m in _NEXT_OPTION.finditer(line))]
    out = []
    for begin, end in zip(starts, [*starts[1:], len(line)], strict=True):
        m = _OPTION.match(line, begin)
        assert m is not None  # every start is a marker by construction
        out.append((_nfkc(m.group(1)), line[m.end() : end].strip()))
    return out


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based paragraph number, stripped line) for the body's paragraphs, tables left out."""
    from docx import Document
    from docx.opc.exceptions import OpcError
    from lxml.etree import XMLSyntaxError

    def unreadable(reason: str) -> ValidationError:
        return ValidationError(
            [Issue(path.name, "", "", f"not a readable .docx file ({reason})")], outcome=NOTHING_IMPORTED
        )

    if not path.is_file():
        raise unreadable("no such file")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(bytes.fromhex("D0CF11E0A1B11AE1")):
        raise unreadable(
            "it is a legacy Word 97-2003 .doc or another OLE file; open it in Word and save as .docx"
        )
    if not zipfile.is_zipfile(path):
        raise unreadable("it is not a zip package, as every .docx is; the file is damaged or of another kind")
    try:
        paragraphs = Document(str(path)).paragraphs
    except KeyError:
        raise unreadable("the zip package holds no Word document part (word/document.xml)") from None
    except ValueError:
        raise unreadable("the package is not a Word document; is it an .xlsx or .pptx renamed?") from None
    except XMLSyntaxError as exc:
        raise unreadable(f"a part of the package is not well-formed XML: {exc}") from None
    except (OpcError, zipfile.BadZipFile, OSError) as exc:
        raise unreadable(f"the zip package is damaged: {type(exc).__name__}") from None
    for number, paragraph in enumerate(paragraphs, start=1):
        for line in paragraph.text.split("\n"):
            if line.strip():
                yield number, line.strip()


@dataclass
class _Item:
    number: int
    paragraph: int
    values: dict[str, str]
    seen: list[str] = field(default_factory=list)  # markers in the order met
    current: str = ""  # field that plain text continues ("" before {A})
    last_option: int = -1  # highest option letter met, as an index
    open_option: int = -1  # option that a continuation line extends
    options: set[int] = field(default_factory=set)
    parts: dict[str, list[str]] = field(default_factory=dict)

    def where(self, paragraph: int | None = None) -> str:
        return f"item {self.number} (paragraph {self.paragraph if paragraph is None else paragraph})"

    def add(self, name: str, text: str) -> None:
        if text:
            self.parts.setdefault(name, []).append(text)


def read_gb_docx(path: Path) -> list[RawRow]:
    """Read a 国标 marker-format .docx into one `RawRow` per item.

    Raises `ValidationError` listing every structural problem, so one round of
    fixes in Word is enough.
    """
    file = path.name
    issues: list[Issue] = []
    scope = {"points": "", "occupation": "", "level": ""}
    items: list[_Item] = []
    item: _Item | None = None

    def close(done: _Item | None) -> None:
        if done is None:
            return
        if "stem" not in done.seen:
            issues.append(
                Issue(file, done.where(), COLUMNS["stem"], "item has no {A} marker, so it has no stem")
            )
        if "answer" not in done.seen:
            issues.append(
                Issue(file, done.where(), COLUMNS["answer"], "item has no {B} marker, so it has no answer")
            )
        for name, texts in done.parts.items():
            done.values[name] = "\n".join(texts)

    for p, line in _lines(path):
        directive = _directive(line)
        if directive is not None:
            close(item)
            item = None
            scope[directive[0]] = directive[1]
            continue
        tokens = _header_fields(line)
        if tokens is not None:
            close(item)
            item = _start_item(file, len(items) + 1, p, tokens, scope, issues)
            items.append(item)
            continue
        marker = _marker(line)
        if item is None:
            if marker is not None:
                label = _MARKER_LABEL[marker[0]]
                issues.append(
                    Issue(file, f"paragraph {p}", COLUMNS[marker[0]],
                          f"{label} marker outside any item; the header line above it is missing or unreadable")
                )  # fmt: skip
            continue  # titles, section headings and notes between items
        if marker is not None:
            _enter(file, item, p, marker[0], issues)
            item.add(marker[0], marker[1])
            continue
        options = _options(line) if item.current in ("stem", "option") else None
        if options is not None:
            _take_options(file, item, p, options, issues)
        elif item.current == "":
            issues.append(
                Issue(file, item.where(p), COLUMNS["stem"],
                      "text between the header line and {A}; the stem must start with {A}")
            )  # fmt: skip
        elif item.current == "option":
            item.add(OPTION_FIELDS[item.open_option], line)
        else:
            item.add(item.current, line)
    close(item)
    if issues:
        raise ValidationError(issues, outcome=NOTHING_IMPORTED)
    return [RawRow(file, it.where(), it.values, dict(COLUMNS)) for it in items]


def _start_item(
    file: str, number: int, paragraph: int, tokens: list[str], scope: dict[str, str], issues: list[Issue]
) -> _Item:
    values = {name: "" for name in COLUMNS}
    values.update(scope)
    values["point_code"] = _nfkc(tokens[0])
    values["consistency"] = _nfkc(tokens[3]) if len(tokens) == 4 else ""
    item = _Item(number, paragraph, values)
    name = _type_name(tokens[1])
    if name is None:
        issues.append(
            Issue(file, item.where(), COLUMNS["type"],
                  f"type code {_nfkc(tokens[1])!r} is not one of A–I or {'/'.join(TYPE_CODES.values())}")
        )  # fmt: skip
    values["type"] = name or _nfkc(tokens[1])
    level = _nfkc(tokens[2])
    if level.isascii() and level.isdigit() and 1 <= int(level) <= 5:
        values["difficulty"] = str(int(level))
    else:
        values["difficulty"] = level
        issues.append(Issue(file, item.where(), COLUMNS["difficulty"], f"difficulty {level!r} is not 1..5"))
    return item


def _enter(file: str, item: _Item, paragraph: int, name: str, issues: list[Issue]) -> None:
    """Switch to the field a marker opens, reporting markers repeated or out of A, B, C order."""
    order = list(_MARKER_FIELD.values())
    label = _MARKER_LABEL[name]
    later = [m for m in item.seen if order.index(m) > order.index(name)]
    if later:  # most often a header line that was mistyped, so say that rather than "repeated"
        after = _MARKER_LABEL[later[0]]
        issues.append(
            Issue(file, item.where(paragraph), COLUMNS[name],
                  f"{label} marker comes after {after}; is the header line of a new item missing or malformed?")
        )  # fmt: skip
    elif name in item.seen:
        issues.append(
            Issue(file, item.where(paragraph), COLUMNS[name], f"{label} marker is repeated in this item")
        )
    if name not in item.seen:
        item.seen.append(name)
    item.current = name


def _take_options(
    file: str, item: _Item, paragraph: int, options: list[tuple[str, str]], issues: list[Issue]
) -> None:
    """Record options, reporting a letter met twice or one that breaks the A, B, C… run."""
    for letter, text in options:
        index = _LETTERS.index(letter)
        name = OPTION_FIELDS[index]
        item.current = "option"
        if index in item.options:
            issues.append(Issue(file, item.where(paragraph), COLUMNS[name], f"option ({letter}) is repeated"))
            continue  # later lines continue the earlier option: the file is rejected anyway
        if index != item.last_option + 1:
            after = (
                f"the next option should be ({_LETTERS[item.last_option + 1]})"
                if item.last_option < 7
                else "no option may follow (H)"
            )
            issues.append(
                Issue(
                    file, item.where(paragraph), COLUMNS[name], f"option ({letter}) is out of order; {after}"
                )
            )
        item.options.add(index)
        item.open_option = index
        item.last_option = max(item.last_option, index)
        item.add(name, text)


# ---------------------------------------------------------------- writer


def write_gb_docx(rows: list[dict[str, str]], path: Path, *, title: str = "") -> None:
    """Write items in the marker format so that `read_gb_docx` reads back the same values.

    Content that would be misread (a stem line that looks like a header, a marker or
    an option) is refused with `ValueError` rather than written into a file that
    would import differently from what was meant.
    """
    from docx import Document
    from docx.oxml.ns import qn

    doc = Document()
    normal = doc.styles["Normal"].element
    normal.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")  # else Word picks per machine
    if title.strip():
        doc.add_heading(title.strip(), level=0)
    scope = {"occupation": "", "level": "", "points": ""}
    labels = {"occupation": "职业代码", "level": "等级", "points": "分值"}
    for n, row in enumerate(rows, start=1):
        where = f"row {n}"
        for name, label in labels.items():
            value = _text(row, name)
            if value != scope[name]:
                if "\n" in value or any(c in value for c in "】]］"):
                    raise ValueError(f"{where}: {label} {value!r} cannot be written inside a directive")
                doc.add_paragraph(f"【{label}：{value}】")
                scope[name] = value
        doc.add_paragraph(_header_line(row, where))
        _write_field(doc, "{A}", _text(row, "stem"), where, "stem", options_follow=True)
        present = [i for i, name in enumerate(OPTION_FIELDS) if _text(row, name)]
        for index in range(present[-1] + 1 if present else 0):
            letter, text = _LETTERS[index], _text(row, OPTION_FIELDS[index])
            if _NEXT_OPTION.search(text.split("\n", 1)[0].strip()):
                raise ValueError(
                    f"{where}: option {letter} holds an option marker such as （B） and would be split"
                )
            _write_field(doc, f"（{letter}）", text, where, f"option {letter}", options_follow=True)
        _write_field(doc, "{B}", _text(row, "answer"), where, "answer", options_follow=False)
        if _text(row, "analysis"):
            _write_field(doc, "{C}", _text(row, "analysis"), where, "analysis", options_follow=False)
        doc.add_paragraph("")
    doc.save(str(path))


def _text(row: dict[str, str], name: str) -> str:
    return str(row.get(name, "") or "").strip()


def _header_line(row: dict[str, str], where: str) -> str:
    code = _nfkc(_text(row, "point_code"))
    if not _POINT_CODE.fullmatch(code):
        raise ValueError(f"{where}: point code {code!r} is not of the form A-B-A-001")
    name = _type_name(_text(row, "type"))
    if name is None:
        raise ValueError(f"{where}: type {_text(row, 'type')!r} has no 国标 type code (A–I)")
    level = _nfkc(_text(row, "difficulty"))
    if not (level.isascii() and level.isdigit() and 1 <= int(level) <= 5):
        raise ValueError(f"{where}: difficulty {level!r} is not 1..5")
    fields = [code, _CODE_BY_TYPE[name], str(int(level))]
    consistency = _nfkc(_text(row, "consistency"))
    if consistency:
        if len(consistency.split()) != 1:
            raise ValueError(f"{where}: consistency code {consistency!r} holds whitespace")
        fields.append(consistency)
    return "  ".join(fields)


def _write_field(
    doc: DocxDocument, marker: str, text: str, where: str, what: str, *, options_follow: bool
) -> None:
    """Marker and first line share a paragraph, as people type it; further lines get their own."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    doc.add_paragraph(marker + (lines[0] if lines else ""))
    for line in lines[1:]:
        if _misread(line, options_follow):
            raise ValueError(
                f"{where}: a line of the {what} would be read as a header, directive, marker or option"
            )
        doc.add_paragraph(line)


def _misread(line: str, options_follow: bool) -> bool:
    if _header_fields(line) is not None or _directive(line) is not None or _marker(line) is not None:
        return True
    return options_follow and _OPTION.match(line) is not None
