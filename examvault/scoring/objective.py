"""Objective scoring (判断, 单选, 多选, 填空): the pure, vectorised core. No database, no files.

The key is the form's marking key as sealed for examiners (`<paper>_key.json`): per numbered
item its type, points and the answer *as printed on this form* — choice letters already mapped
through the form's option shuffle, √/× for 判断, and for 填空 either the bank notation
`36V|安全电压/安全特低电压` (blanks split by `|`, accepted alternatives by `/`, which is what
`_key.json` carries) or the printed key's `36V；安全电压 / 安全特低电压` (blanks split by `；`).

Responses are a matrix of strings, one row per candidate and one column per numbered objective
item, each cell what the candidate answered on the form:

- 判断: √ or × (also ✓ ✔ / ✗ ✘ X, 对/错, 正确/错误, T/F, TRUE/FALSE; any case or width, and
  brackets around the mark are ignored). A/B and Y/N are refused: a sheet's convention for them
  is not knowable here.
- 单选 / 多选: option letters in any order, case or width, with spaces, `,`, `;` or `、` between
  them (`ACD`, `a c d`, `A,C,D`, `ＡＣＤ`). A letter named twice, a letter beyond the item's
  options and a second letter for a 单选 are errors, not wrong answers: the import reports them.
- 填空: the blanks in order, separated by `；`, `;` or `|`. Fewer blanks than the item has leave
  the rest unanswered; more is an error.
- empty (or only spaces): omitted, which scores 0.

Rules. 判断 and 单选 are right or wrong. 多选 is all-or-nothing unless `MultiRule("partial")`:
then a correct, proper, non-empty subset of the key earns `fraction × points` and any wrong
letter earns 0. 填空 splits the item's points evenly over its blanks: a candidate matching k of n
blanks earns points × k / n, and is `correct` only with all n. A blank matches one of its
accepted alternatives after NFKC (so full-width = half-width), removing all whitespace and
folding Latin A–Z to lower case — so `10mA` = `10MA`, as the rule asks, although the SI prefixes
m and M differ; Greek (Ω) keeps its case — or, when both read as plain decimal numbers, as equal
Decimals (`0.5` = `.50` = `5e-1`; fractions such as `1/2` are text). Nothing is ever deducted.

Encoding. Choice answers become uint16 bitmasks (bit k = letter k of the form), 判断 becomes 1 (√)
or 2 (×), and 0 is omitted. Each column's distinct cells are found once and only those are
parsed, by the same functions `normalise` and `answer_problem` use; the column is then one
gather. Distinct cells are found without comparing strings where possible: a column of
one-character cells by counting code points (np.bincount), cells of up to three characters as
exact uint64 keys (3 × 21 bits) through np.unique, longer ones as strings through np.unique.
Scoring choice and 判断 items is whole-matrix numpy; 填空 is matched once per distinct
(column, response). A numpy str array is the fast input; Python lists are converted first.

Messages never quote an answer or a response: both are sealed content.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from examvault.assembly.forms import permutation
from examvault.itembank import domain

LETTERS = domain.OPTION_LETTERS  # "ABCDEFGH": bit k of a mask is LETTERS[k]
MAX_OPTIONS = len(LETTERS)
JUDGE_TRUE, JUDGE_FALSE = 1, 2  # 判断 codes; 0 is omitted
OMITTED = 0

# Column kinds in EncodedKey.kinds
JUDGE, SINGLE, MULTI, FILL = 0, 1, 2, 3
_KIND = {"判断": JUDGE, "单选": SINGLE, "多选": MULTI, "填空": FILL}
_NO_MATCH = np.uint16(0xFFFF)  # the key code of a 填空 column: no response code ever equals it

_TRUE = frozenset({"√", "✓", "✔", "对", "正确", "T", "TRUE"})
_FALSE = frozenset({"×", "✗", "✘", "X", "错", "错误", "F", "FALSE"})
_JUDGE_STRIP = re.compile(r"[\s()（）]+")
_CHOICE_SEPARATORS = re.compile(r"[\s,;、]+")  # after NFKC, which folds ，；and the ideographic space
_BLANK_SEPARATORS = re.compile(r"[;|]")  # after NFKC: ；→; ｜→|
_WHITESPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?")  # matched after lower-casing
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# A 填空 key: per blank, the accepted texts and, of those, the ones that read as numbers.
_Accepted = tuple[tuple[frozenset[str], frozenset[Decimal]], ...]
# A 填空 column's distinct responses, each as its normalised blanks.
_Parsed = tuple[tuple[str, ...], ...]

# LETTER_TABLE[mask] → the letters of an 8-bit mask, e.g. LETTER_TABLE[0b1101] == "ACD".
LETTER_TABLE = np.array(
    ["".join(c for k, c in enumerate(LETTERS) if m >> k & 1) for m in range(1 << MAX_OPTIONS)]
)


# ---------------------------------------------------------------- rules and results


@dataclass(frozen=True)
class MultiRule:
    """How a 多选 is marked: all-or-nothing, or `fraction` of its points for a correct proper subset."""

    mode: Literal["all-or-nothing", "partial"] = "all-or-nothing"
    fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.mode not in ("all-or-nothing", "partial"):
            raise ValueError(f"multi rule {self.mode!r} is not all-or-nothing or partial")
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"partial credit {self.fraction} must lie between 0 and 1")


@dataclass(frozen=True)
class KeyItem:
    """One numbered objective item of the form's key. `n_options` is needed for 单选/多选 only."""

    number: int
    type: str
    points: float
    answer: str = field(repr=False)  # the key is sealed content: never in a repr, a log or a traceback
    n_options: int = 0

    @classmethod
    def from_key(cls, entry: Mapping[str, Any], n_options: int = 0) -> KeyItem:
        """An entry of the sealed `_key.json` (number, type, points, answer); the option count comes from the item."""
        return cls(
            int(entry["number"]), str(entry["type"]), float(entry["points"]), str(entry["answer"]), n_options
        )


@dataclass(frozen=True, eq=False)
class EncodedKey:
    """The key as arrays, one entry per column (numbered item, in the order given)."""

    numbers: np.ndarray  # int32 (M,)
    types: tuple[str, ...]
    kinds: np.ndarray  # uint8 (M,): JUDGE, SINGLE, MULTI, FILL
    points: np.ndarray  # float32 (M,)
    codes: np.ndarray = field(repr=False)  # uint16 (M,): choice bitmask, 判断 1/2, 0xFFFF for 填空
    n_options: np.ndarray  # uint8 (M,): 0 for 判断 and 填空
    blanks: tuple[_Accepted | None, ...] = field(repr=False)  # per column; None but for 填空

    def __len__(self) -> int:
        return len(self.kinds)


@dataclass(frozen=True, eq=False)
class EncodedResponses:
    """A response matrix as codes: what `score` works on. Build it with `encode_responses`."""

    codes: np.ndarray = field(
        repr=False
    )  # uint16 (N, M): choice bitmask in the form's letters, 判断 1/2, 0 omitted or 填空
    fills: Mapping[int, tuple[np.ndarray, _Parsed]] = field(
        repr=False
    )  # 填空 column → (inverse (N,), its distinct responses)

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class Scored:
    numbers: np.ndarray  # int32 (M,) the item numbers of the columns
    points: np.ndarray  # float32 (N, M) points earned per cell
    correct: np.ndarray  # bool (N, M) full credit
    omitted: np.ndarray  # bool (N, M)
    chosen: np.ndarray = field(
        repr=False
    )  # uint16 (N, M) options chosen, in the FORM's letters (判断: 1 √, 2 ×; 填空: 0)
    total: np.ndarray  # float64 (N,) = points.sum(axis=1) in float64
    max_points: float


@dataclass(frozen=True)
class ResponseProblem:
    row: int  # 0-based candidate row of the first occurrence
    column: int  # 0-based column
    number: int  # the item number on the form
    count: int  # how many candidates gave this same response in this column
    message: str

    def __str__(self) -> str:
        others = self.count - 1
        more = (
            f" (and {others} more candidate{'s' if others > 1 else ''} with the same answer)"
            if others
            else ""
        )
        return f"candidate row {self.row + 1}, item {self.number}: {self.message}{more}"


class ResponseError(ValueError):
    """Responses that are not answers to the item: every distinct one, located by its first row."""

    def __init__(self, problems: list[ResponseProblem], limit: int = 20) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:limit])
        more = f"\n… and {len(problems) - limit} more" if len(problems) > limit else ""
        noun = "response is" if len(problems) == 1 else "responses are"
        super().__init__(f"{len(problems)} distinct {noun} not valid answers:\n{shown}{more}")


# ---------------------------------------------------------------- one cell


def _type(t: str) -> str:
    value = domain.item_type(t)
    if value not in _KIND:
        raise ValueError(f"item type {value} is not scored here; objective scoring covers {'/'.join(_KIND)}")
    return value


def _span(n_options: int) -> str:
    return f"A–{LETTERS[n_options - 1]}"


@lru_cache(maxsize=65536)
def _judge(text: str) -> tuple[int, str | None]:
    key = _JUDGE_STRIP.sub("", unicodedata.normalize("NFKC", text)).upper()
    if not key:
        return OMITTED, None
    if key in _TRUE:
        return JUDGE_TRUE, None
    if key in _FALSE:
        return JUDGE_FALSE, None
    return OMITTED, "a 判断 answer is √ or × (also 对/错, T/F)"


@lru_cache(maxsize=65536)
def _choice(text: str) -> tuple[int, int, str | None]:
    """(mask, letter count, problem) — the problem independent of the item's option count."""
    mask = count = 0
    for c in _CHOICE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper():
        k = LETTERS.find(c)
        if k < 0:
            return 0, 0, "holds a character that is not an option letter"
        if mask >> k & 1:
            return 0, 0, "names an option twice"
        mask |= 1 << k
        count += 1
    return mask, count, None


def _choice_problem(kind: int, count: int, mask: int, n_options: int) -> str | None:
    if mask >> n_options:
        return f"names a letter beyond this item's options {_span(n_options)}"
    if kind == SINGLE and count > 1:
        return f"names {count} options; a 单选 takes exactly one"
    return None


def _blank_text(text: str) -> str:
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)).translate(_ASCII_LOWER)


@lru_cache(maxsize=65536)
def _fill(text: str) -> tuple[str, ...]:
    """A 填空 response → its normalised blanks, trailing unanswered ones dropped."""
    parts = [_blank_text(p) for p in _BLANK_SEPARATORS.split(unicodedata.normalize("NFKC", text))]
    while parts and not parts[-1]:
        parts.pop()
    return tuple(parts)


def _number(text: str) -> Decimal | None:
    return Decimal(text) if _NUMBER.fullmatch(text) else None


def _check_options(t: str, n_options: int) -> None:
    if t in domain.CHOICE_TYPES and not 2 <= n_options <= MAX_OPTIONS:
        raise ValueError(f"a {t} item has 2–{MAX_OPTIONS} options, not {n_options}")


def answer_problem(
    type: str, text: str | None, n_options: int = 0, *, n_blanks: int | None = None
) -> str | None:
    """Why `text` is not an answer to an item of this type (None when it is, or is omitted).

    `n_options` is the item's option count (单选/多选); `n_blanks`, if known, bounds a 填空 answer.
    The message names no part of the response and reads well after "row 12, item 7: ".
    """
    t = _type(type)
    _check_options(t, n_options)
    text = text or ""
    if t == "判断":
        return _judge(text)[1]
    if t == "填空":
        given = len(_fill(text))
        if n_blanks is not None and given > n_blanks:
            return f"gives {given} blanks; the item has {n_blanks}"
        return None
    mask, count, problem = _choice(text)
    return problem or _choice_problem(_KIND[t], count, mask, n_options)


def normalise(type: str, text: str | None) -> str:
    """The canonical form of a response: √/×, sorted letters, or 填空 blanks joined by `|`; "" when omitted.

    Raises ValueError for what is not an answer of this type at all (the option count, which
    bounds the letters, is `answer_problem`'s business).
    """
    t = _type(type)
    text = text or ""
    if t == "判断":
        code, problem = _judge(text)
        if problem:
            raise ValueError(problem)
        return {OMITTED: "", JUDGE_TRUE: domain.TRUE_MARK, JUDGE_FALSE: domain.FALSE_MARK}[code]
    if t == "填空":
        return "|".join(_fill(text))
    mask, count, problem = _choice(text)
    problem = problem or (_choice_problem(_KIND[t], count, mask, MAX_OPTIONS))
    if problem:
        raise ValueError(problem)
    return str(LETTER_TABLE[mask])


def letters_mask(letters: str) -> int:
    """'ACD' → 0b1101 (any order, case or width)."""
    mask, _count, problem = _choice(letters)
    if problem:
        raise ValueError(problem)
    return mask


# ---------------------------------------------------------------- the key


def _key_blanks(answer: str) -> _Accepted:
    text = unicodedata.normalize("NFKC", answer)
    out = []
    for part in text.split("|") if "|" in text else text.split(";"):
        alts = {a for a in (_blank_text(x) for x in part.split("/")) if a}
        if not alts:
            raise ValueError("a blank of the key is empty")
        out.append((frozenset(alts), frozenset(n for n in map(_number, alts) if n is not None)))
    return tuple(out)


def encode_key(key: Sequence[KeyItem]) -> EncodedKey:
    """The key as arrays. Errors name the item number, never the answer."""
    kinds, codes, blanks = [], [], []
    for item in key:
        try:
            t = _type(item.type)
            _check_options(t, item.n_options)
            if not item.points > 0:
                raise ValueError(f"points {item.points} must be more than 0")
            kind = _KIND[t]
            if kind == JUDGE:
                code, problem = _judge(item.answer)
                if problem or code == OMITTED:
                    raise ValueError("the key of a 判断 is √ or ×")
            elif kind == FILL:
                code = int(_NO_MATCH)
            else:
                code, count, problem = _choice(item.answer)
                problem = problem or _choice_problem(kind, count, code, item.n_options)
                if problem or code == 0:
                    raise ValueError(
                        f"the key is not a valid {t} answer among options {_span(item.n_options)}"
                    )
            blanks.append(_key_blanks(item.answer) if kind == FILL else None)
        except ValueError as exc:
            raise ValueError(f"key item {item.number}: {exc}") from None
        kinds.append(kind)
        codes.append(code)
    return EncodedKey(
        numbers=np.array([i.number for i in key], dtype=np.int32),
        types=tuple(_type(i.type) for i in key),
        kinds=np.array(kinds, dtype=np.uint8),
        points=np.array([i.points for i in key], dtype=np.float32),
        codes=np.array(codes, dtype=np.uint16),
        n_options=np.array(
            [i.n_options if _KIND[_type(i.type)] in (SINGLE, MULTI) else 0 for i in key], dtype=np.uint8
        ),
        blanks=tuple(blanks),
    )


# ---------------------------------------------------------------- the responses


def _text_matrix(responses: Any, columns: int) -> np.ndarray:
    """A fixed-width unicode (N, M) array; None cells become omitted."""
    if isinstance(responses, np.ndarray) and responses.dtype.kind == "U":
        arr = responses
    else:
        obj = np.array(responses, dtype=object)
        if obj.size == 0:
            return np.zeros((0 if obj.ndim < 2 else obj.shape[0], columns), dtype="U1")
        if obj.ndim != 2:
            raise ValueError("responses must be a matrix: one row per candidate, one cell per numbered item")
        obj[np.equal(obj, None)] = ""
        arr = obj.astype(str)
    if arr.ndim != 2 or arr.shape[1] != columns:
        raise ValueError(
            f"responses have {arr.shape[-1] if arr.ndim else 0} columns; the key has {columns} numbered objective items"
        )
    return np.ascontiguousarray(arr)


def _distinct(
    text: np.ndarray, planes: np.ndarray, width: int, first: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """One column's distinct strings and each cell's index into them, without parsing any cell twice.

    `planes` are the column's code points (N, W), `width` its longest cell, `first` its first code
    points, contiguous. One-character cells (every usual 判断 and 单选 answer) are counted by code
    point with np.bincount, no sort; up to three characters are packed exactly into a uint64
    (3 × 21 bits) for np.unique; longer cells are np.unique'd as strings.
    """
    if width == 0:
        return [""], np.zeros(len(text), dtype=np.intp)
    if width == 1 and int(first.max()) < 0x10000:
        present = np.flatnonzero(np.bincount(first))
        index = np.zeros(int(present[-1]) + 1, dtype=np.intp)
        index[present] = np.arange(len(present))
        return [chr(c) if c else "" for c in present], index[first]
    if width > 3:
        uniq, inv = np.unique(text, return_inverse=True)
        return [str(u) for u in uniq], inv
    keys = first.astype(np.uint64)
    for w in range(1, width):
        keys |= planes[:, w].astype(np.uint64) << np.uint64(21 * w)
    uniq, inv = np.unique(keys, return_inverse=True)
    strings = ["".join(chr(int(k) >> 21 * w & 0x1FFFFF) for w in range(width)).rstrip("\0") for k in uniq]
    return strings, inv


def encode_responses(key: Sequence[KeyItem] | EncodedKey, responses: Any) -> EncodedResponses:
    """Codes for a response matrix (a numpy str array is the fast path; lists of str/None work too).

    Raises `ResponseError` listing every distinct response that is not an answer, by row and item.
    """
    ek = key if isinstance(key, EncodedKey) else encode_key(key)
    m = len(ek)
    text = _text_matrix(responses, m)
    n = text.shape[0]
    codes = np.zeros((n, m), dtype=np.uint16)
    fills: dict[int, tuple[np.ndarray, _Parsed]] = {}
    problems: list[ResponseProblem] = []
    if n == 0:
        return EncodedResponses(
            codes, {int(j): (np.zeros(0, np.intp), ()) for j in np.flatnonzero(ek.kinds == FILL)}
        )
    planes = text.dtype.itemsize // 4
    flat = text.view(np.uint32)  # (N, M × planes): each cell's code points, NUL-padded
    used = flat.any(axis=0).reshape(m, planes)
    widths = np.where(used.any(axis=1), planes - np.argmax(used[:, ::-1], axis=1), 0)
    # (M, N) first code points: one transposing copy, after which each column is contiguous
    firsts = np.ascontiguousarray(flat[:, ::planes].T)
    cps = flat.reshape(n, m, planes)
    for j in range(m):
        kind, n_options = int(ek.kinds[j]), int(ek.n_options[j])
        if kind == FILL:
            uniq, inv = np.unique(text[:, j], return_inverse=True)
            parsed = tuple(_fill(str(u)) for u in uniq)
            n_blanks = len(ek.blanks[j] or ())
            bad = [
                (u, f"gives {len(p)} blanks; the item has {n_blanks}")
                for u, p in enumerate(parsed)
                if len(p) > n_blanks
            ]
            fills[j] = (inv, parsed)
        else:
            strings, inv = _distinct(text[:, j], cps[:, j, :], int(widths[j]), firsts[j])
            lut = np.zeros(len(strings), dtype=np.uint16)
            bad = []
            for u, s in enumerate(strings):
                if kind == JUDGE:
                    code, problem = _judge(s)
                else:
                    code, count, problem = _choice(s)
                    problem = problem or _choice_problem(kind, count, code, n_options)
                if problem:
                    bad.append((u, problem))
                else:
                    lut[u] = code
            codes[:, j] = lut[inv]
        for u, message in bad:
            rows = np.flatnonzero(inv == u)
            problems.append(ResponseProblem(int(rows[0]), j, int(ek.numbers[j]), len(rows), message))
    if problems:
        problems.sort(key=lambda p: (p.row, p.column))
        raise ResponseError(problems)
    return EncodedResponses(codes, fills)


# ---------------------------------------------------------------- scoring


def _fill_hits(accepted: _Accepted, parsed: _Parsed) -> np.ndarray:
    """Per distinct response: how many blanks it matched."""
    out = np.zeros(len(parsed), dtype=np.int32)
    for u, given in enumerate(parsed):
        hits = 0
        for (texts, numbers), answer in zip(accepted, given, strict=False):
            if not answer:
                continue
            value = _number(answer) if numbers and answer not in texts else None
            hits += answer in texts or (value is not None and value in numbers)
        out[u] = hits
    return out


def score(
    key: Sequence[KeyItem] | EncodedKey,
    responses: Any,
    *,
    multi_rule: MultiRule = MultiRule(),
) -> Scored:
    """Points per candidate and item. `responses` is a string matrix or an `EncodedResponses`."""
    ek = key if isinstance(key, EncodedKey) else encode_key(key)
    er = responses if isinstance(responses, EncodedResponses) else encode_responses(ek, responses)
    chosen = er.codes
    if chosen.ndim != 2 or chosen.shape[1] != len(ek):
        raise ValueError(
            f"responses have {chosen.shape[-1]} columns; the key has {len(ek)} numbered objective items"
        )
    correct = chosen == ek.codes  # a 填空 column's key code never matches
    points = correct * ek.points
    omitted = chosen == OMITTED
    multi = np.flatnonzero(ek.kinds == MULTI)
    if multi_rule.mode == "partial" and multi.size and multi_rule.fraction > 0:
        given, keyed = chosen[:, multi], ek.codes[multi]
        subset = (given != 0) & (given & ~keyed == 0) & (given != keyed)
        points[:, multi] += subset * (ek.points[multi] * np.float32(multi_rule.fraction))
    for j in np.flatnonzero(ek.kinds == FILL):
        accepted = ek.blanks[j] or ()
        inv, parsed = er.fills[j]
        hits = _fill_hits(accepted, parsed)
        earned = (float(ek.points[j]) * hits / len(accepted)).astype(np.float32)
        points[:, j] = earned[inv]
        correct[:, j] = (hits == len(accepted))[inv]
        omitted[:, j] = np.array([not any(p) for p in parsed], dtype=bool)[inv]
    return Scored(
        numbers=ek.numbers, points=points, correct=correct, omitted=omitted, chosen=chosen,
        total=points.sum(axis=1, dtype=np.float64), max_points=float(ek.points.sum(dtype=np.float64)),
    )  # fmt: skip


# ---------------------------------------------------------------- back to the bank's letters


def _bank_table(option_seed: int | None, n_options: int) -> np.ndarray:
    """table[form mask] → bank mask: display slot j shows bank option permutation[j]."""
    masks = np.arange(1 << MAX_OPTIONS, dtype=np.uint16)
    if option_seed is None or n_options < 2:
        return masks
    beyond = np.uint16(~((1 << n_options) - 1) & 0xFFFF)  # letters past the options (never valid) stay put
    table = masks & beyond
    for slot, original in enumerate(permutation(option_seed, n_options)):
        table |= ((masks >> slot) & 1) << np.uint16(original)
    return table


def to_bank_letters(
    chosen_mask: np.ndarray | int,
    option_seed: int | None | Sequence[int | None],
    n_options: int | Sequence[int],
) -> np.ndarray:
    """A form's chosen-letter masks → the bank's, for statistics on the bank's options.

    One column (`chosen_mask` of shape (N,), scalar seed and option count), or a whole
    `Scored.chosen` (N, M) with one seed and option count per column; a column whose seed is
    None or whose option count is below 2 (判断, 填空, an unshuffled form) is copied unchanged.
    """
    chosen = np.asarray(chosen_mask, dtype=np.uint16)
    if chosen.size and int(chosen.max()) >> MAX_OPTIONS:
        raise ValueError(f"a choice mask has bits beyond the {MAX_OPTIONS} option letters")
    if chosen.ndim < 2:
        if not (option_seed is None or isinstance(option_seed, int)) or not isinstance(n_options, int):
            raise ValueError("one column takes one option seed and one option count")
        return _bank_table(option_seed, n_options)[chosen]
    m = chosen.shape[1]
    seeds = [option_seed] * m if option_seed is None or isinstance(option_seed, int) else list(option_seed)
    counts = [n_options] * m if isinstance(n_options, int) else list(n_options)
    if len(seeds) != m or len(counts) != m:
        raise ValueError(f"the matrix has {m} columns; give one option seed and one option count per column")
    out = chosen.copy()
    for j, (seed, count) in enumerate(zip(seeds, counts, strict=True)):
        if seed is not None and count >= 2:
            out[:, j] = _bank_table(seed, count)[chosen[:, j]]
    return out
