"""What a rendered paper says, independent of PDF or DOCX. Pure.

Built by the export service from a paper and its opened content: options already in
this form's shuffled order, and the form's key. Renderers only lay it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from examvault.itembank import domain


@dataclass(frozen=True)
class Image:
    name: str
    mime: str
    data: bytes


@dataclass
class DocItem:
    number: int | None  # the question number; None for the shared stem of a 组合 set
    position: int
    type: str
    points: float
    stem: str
    options: list[str] = field(default_factory=list)  # in this form's order
    images: list[Image] = field(default_factory=list)
    answer: str = ""  # this form's key
    analysis: str = ""  # 解析 / 评分要点
    code: str = ""  # bank item code, for the key's cross-reference

    @property
    def is_set_stem(self) -> bool:
        return self.number is None


@dataclass
class DocSection:
    title: str  # 一、判断题
    type: str
    instructions: str  # 将判断结果填入括号中。…每题0.5分，满分20分。
    total: float
    points_each: float | None
    items: list[DocItem]
    partial: float | None = None  # 多选: the fraction of the points for a correct proper subset

    @property
    def numbers(self) -> tuple[int, int]:
        numbered = [i.number for i in self.items if i.number is not None]
        return (min(numbered), max(numbered)) if numbered else (0, 0)

    @property
    def heading(self) -> str:
        first, last = self.numbers
        span = f"第{first}题～第{last}题。" if first != last else f"第{first}题。"
        return f"{self.title}（{span}{self.instructions}）"

    @property
    def numeral(self) -> str:
        return self.title.split("、", 1)[0]


@dataclass
class PaperDocument:
    occupation: str  # 电工
    occupation_code: str
    level: int
    form: str
    code: str  # P2026-0001-A
    duration_minutes: int
    total_points: float
    sections: list[DocSection]
    draft: bool  # not approved: every page carries 样卷 / DRAFT
    serial: str = ""  # per-copy serial for tracing a leaked copy to its print batch
    institution: str = ""

    @property
    def level_label(self) -> str:
        """'高级工/三级' — the name people use, then the level."""
        number, name = domain.LEVEL_NAMES[self.level].split("/")
        return f"{name}/{number}"

    @property
    def title(self) -> str:
        return f"{self.occupation}（{self.level_label}）理论知识考试试卷"

    @property
    def form_label(self) -> str:
        return f"{self.form}卷"

    def heading_text(self) -> str:
        return "".join([self.title, self.form_label, self.serial, *(s.heading for s in self.sections), *(s.title for s in self.sections)])

    def all_text(self) -> str:
        parts = [self.occupation, self.code, self.serial, self.institution, self.title]
        for s in self.sections:
            parts += [s.heading]
            for i in s.items:
                parts += [i.stem, *i.options, i.answer, i.analysis, i.code]
        return "".join(parts)


def key_text(item: DocItem) -> str:
    """The answer as a key prints it: 填空 blanks with their accepted alternatives."""
    if item.type == "填空" and item.answer:
        return "；".join(" / ".join(alts) for alts in domain.blanks(item.answer))
    return item.answer


def fmt_points(value: float) -> str:
    return f"{value:g}"
