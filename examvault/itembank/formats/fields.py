"""Template columns and their aliases, and the row shape every reader produces.

Readers (csv, xlsx, json, 国标 docx) turn a file into `RawRow`s of canonical field
name → text, remembering for each field which column it came from so that an error
can point at "row 12, column E (答案)". Validation happens elsewhere, once.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

# canonical name: (Chinese header, English aliases…)
ITEM_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("题目编号", "code", "item_code", "id"),
    "occupation": ("职业代码", "occupation", "occupation_code"),
    "level": ("等级", "level"),
    "point_code": ("鉴定点代码", "point_code", "point"),
    "type": ("题型", "type", "item_type"),
    "stem": ("题干", "stem"),
    **{f"option_{c.lower()}": (f"选项{c}", f"option_{c.lower()}", f"option{c.lower()}", c) for c in "ABCDEFGH"},
    "answer": ("答案", "answer", "key"),
    "analysis": ("解析", "analysis", "explanation", "rubric", "评分要点"),
    "points": ("分值", "points", "score"),
    "difficulty": ("难度", "difficulty"),
    "source": ("来源", "source"),
    "author": ("出题人", "author"),
    "reviewer": ("审核人", "reviewer"),
    "enemy_group": ("互斥组", "enemy_group", "enemy"),
    "parent_code": ("母题编号", "parent_code", "parent"),
    "images": ("图片", "images", "image", "media"),
}
ITEM_REQUIRED = ("occupation", "level", "type", "stem")

OUTLINE_FIELDS: dict[str, tuple[str, ...]] = {
    "occupation": ("职业代码", "occupation", "occupation_code"),
    "occupation_name": ("职业名称", "occupation_name"),
    "level": ("等级", "level"),
    "kind": ("类别", "kind"),
    "range_code": ("范围代码", "range_code"),
    "range_name": ("范围名称", "range_name"),
    "parent_range": ("上级范围代码", "parent_range", "parent_range_code"),
    "weight": ("鉴定比重", "weight"),
    "point_code": ("鉴定点代码", "point_code"),
    "point_name": ("鉴定点名称", "point_name"),
    "importance": ("重要程度", "importance"),
}
OUTLINE_REQUIRED = ("occupation", "level", "kind", "range_code")

OPTION_FIELDS = tuple(f"option_{c.lower()}" for c in "ABCDEFGH")


def header_key(label: str) -> str:
    return unicodedata.normalize("NFKC", str(label)).strip().lower().replace(" ", "_")


def alias_map(fields: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {header_key(alias): name for name, aliases in fields.items() for alias in aliases}


@dataclass
class RawRow:
    """One record as read from a file, before validation."""

    file: str  # the file's name, for messages
    location: str  # "row 12", "item 3", "paragraph 40"
    values: dict[str, str]  # canonical field → text ("" when empty)
    columns: dict[str, str] = field(default_factory=dict)  # canonical field → "E (答案)" etc.

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def column(self, name: str) -> str:
        return self.columns.get(name, name)
