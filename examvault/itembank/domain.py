"""The vocabulary of the bank: levels, item types, difficulty, answers. Pure functions only.

Every normaliser raises `ValueError` with a message that reads well after
"row 12, column 答案: ", so the import code can locate it. Messages quote metadata
values (a level, a difficulty) but never an answer: answers are item content.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache

LEVEL_NAMES = {5: "五级/初级工", 4: "四级/中级工", 3: "三级/高级工", 2: "二级/技师", 1: "一级/高级技师"}
_LEVEL_ALIASES = {
    **{str(k): k for k in LEVEL_NAMES},
    **{f"{k}级": k for k in LEVEL_NAMES},
    "五级": 5, "初级": 5, "初级工": 5, "四级": 4, "中级": 4, "中级工": 4, "三级": 3, "高级": 3, "高级工": 3,
    "二级": 2, "技师": 2, "一级": 1, "高级技师": 1,
    **{name: k for k, name in LEVEL_NAMES.items()},  # "三级/高级工", as documents print it
}  # fmt: skip

OBJECTIVE_TYPES = ("判断", "单选", "多选", "填空")
SUBJECTIVE_TYPES = ("简答", "计算", "论述", "综合分析", "案例分析")
SET_TYPE = "组合"
ITEM_TYPES = (*OBJECTIVE_TYPES, *SUBJECTIVE_TYPES, SET_TYPE)
CHOICE_TYPES = ("单选", "多选")

_TYPE_ALIASES = {
    **{t: t for t in ITEM_TYPES},
    **{f"{t}题": t for t in ITEM_TYPES},
    "单项选择": "单选", "单项选择题": "单选", "多项选择": "多选", "多项选择题": "多选", "判断正误": "判断",
    "综合分析题": "综合分析", "案例分析题": "案例分析", "组合题": "组合", "案例": "案例分析",
    "true_false": "判断", "truefalse": "判断", "tf": "判断", "judge": "判断", "judgement": "判断",
    "single": "单选", "single_choice": "单选", "multiple": "多选", "multiple_choice": "多选", "multi": "多选",
    "fill": "填空", "fill_in": "填空", "blank": "填空", "short": "简答", "short_answer": "简答",
    "calculation": "计算", "calc": "计算", "essay": "论述", "analysis": "综合分析",
    "comprehensive": "综合分析", "case": "案例分析", "case_analysis": "案例分析", "set": "组合", "group": "组合",
}  # fmt: skip

DIFFICULTY_NAMES = {1: "易", 2: "较易", 3: "中等", 4: "较难", 5: "难"}
_DIFFICULTY_ALIASES = {**{str(k): k for k in DIFFICULTY_NAMES}, **{v: k for k, v in DIFFICULTY_NAMES.items()}}

SOURCES = ("国家题", "省题", "机构题", "专家命题")
IMPORTANCE = ("X", "Y", "Z")
KINDS = {"理论": "theory", "技能": "skill", "theory": "theory", "skill": "skill", "理论知识": "theory", "操作技能": "skill"}

STATUSES = ("draft", "submitted", "reviewed", "active", "suspended", "retired")

TRUE_MARK, FALSE_MARK = "√", "×"
_TRUE = {"√", "✓", "✔", "对", "正确", "是", "T", "TRUE", "Y", "YES", "1"}
_FALSE = {"×", "✗", "✘", "X", "错", "错误", "否", "F", "FALSE", "N", "NO", "0"}
OPTION_LETTERS = "ABCDEFGH"

_RUBRIC_POINT = re.compile(r"[（(]\s*(\d+(?:\.\d+)?)\s*分\s*[)）]")
_BLANK_MARK = re.compile(r"_{2,}|＿{2,}")


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


@lru_cache(maxsize=4096)  # a bank repeats a few dozen distinct values 100,000 times
def level(raw: str) -> int:
    value = _LEVEL_ALIASES.get(nfkc(raw).replace(" ", ""))
    if value is None:
        raise ValueError(f"level {raw!r} is not one of 5..1 (五级/初级工 … 一级/高级技师)")
    return value


@lru_cache(maxsize=4096)  # a bank repeats a few dozen distinct values 100,000 times
def item_type(raw: str) -> str:
    key = nfkc(raw)
    value = _TYPE_ALIASES.get(key) or _TYPE_ALIASES.get(key.lower())
    if value is None:
        raise ValueError(f"item type {raw!r} is not one of {'/'.join(ITEM_TYPES)}")
    return value


@lru_cache(maxsize=4096)  # a bank repeats a few dozen distinct values 100,000 times
def difficulty(raw: str) -> int:
    key = nfkc(raw)
    if key.endswith(".0"):
        key = key[:-2]
    value = _DIFFICULTY_ALIASES.get(key)
    if value is None:
        raise ValueError(f"difficulty {raw!r} is not 1..5 or 易/较易/中等/较难/难")
    return value


@lru_cache(maxsize=4096)  # a bank repeats a few dozen distinct values 100,000 times
def points(raw: str) -> Decimal:
    try:
        value = Decimal(nfkc(raw))
    except InvalidOperation:
        raise ValueError(f"points {raw!r} is not a number") from None
    if not value.is_finite() or value <= 0 or value > 100:
        raise ValueError(f"points {raw!r} must be more than 0 and at most 100")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"points {raw!r} has more than two decimals")
    return tidy(value)


def tidy(value: Decimal) -> Decimal:
    """10.00 → 10, 0.50 → 0.5 (Decimal.normalize would give 1E+1)."""
    value = value.quantize(Decimal("0.01"))
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


@lru_cache(maxsize=4096)  # a bank repeats a few dozen distinct values 100,000 times
def source(raw: str) -> str:
    key = nfkc(raw)
    if not key:
        return "机构题"
    for s in SOURCES:
        if key in (s, s.removesuffix("题"), s + "目"):
            return s
    raise ValueError(f"source {raw!r} is not one of {'/'.join(SOURCES)}")


@lru_cache(maxsize=4096)  # a bank repeats a few dozen distinct values 100,000 times
def judgement(raw: str) -> str:
    key = nfkc(raw).upper().strip("()（） ")
    if key in _TRUE:
        return TRUE_MARK
    if key in _FALSE:
        return FALSE_MARK
    raise ValueError("a 判断 answer must be √ or × (also 对/错, T/F)")


@lru_cache(maxsize=4096)  # a bank repeats a few dozen distinct values 100,000 times
def choice_letters(raw: str) -> str:
    """'b, d,a' → 'ABD'. Order-insensitive, duplicates rejected."""
    letters = [c for c in nfkc(raw).upper() if c not in " ,，、;；"]
    for c in letters:
        if c not in OPTION_LETTERS:
            raise ValueError("the answer holds a character that is not an option letter A–H")
    if len(set(letters)) != len(letters):
        raise ValueError("the answer names an option twice")
    return "".join(sorted(letters))


def blanks(raw: str) -> list[list[str]]:
    """'36V|安全电压/安全特低电压' → [['36V'], ['安全电压', '安全特低电压']]."""
    out = []
    for i, blank in enumerate(nfkc(raw).split("|"), start=1):
        alts = [a.strip() for a in blank.split("/") if a.strip()]
        if not alts:
            raise ValueError(f"blank {i} of the answer is empty")
        out.append(alts)
    return out


def count_blanks(stem: str) -> int:
    return len(_BLANK_MARK.findall(stem))


def rubric_points(rubric: str) -> list[Decimal]:
    """The points of each marking point in '要点1（3分）…；要点2（2分）…'."""
    return [Decimal(m) for m in _RUBRIC_POINT.findall(nfkc(rubric).replace("（", "(").replace("）", ")"))]


def is_subjective(t: str) -> bool:
    return t in SUBJECTIVE_TYPES
