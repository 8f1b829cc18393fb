"""Response files for the standalone analysis (`examvault stats analyze`): read, check, analyse.

One CSV, rows are candidates and columns are items, header in row 1 naming the items. Besides the
items it may hold:

- a frequency column named `freq` (any case, also `频数`): each row is a response pattern given
  by that many candidates, as in the LSAT tables; rows are expanded;
- the grouping column named by `group` (for DIF) and identifier columns named by `ignore`
  (准考证号 and the like): neither is an item.

Cells hold either **item scores** — a number 0..max_points, an empty cell meaning "not presented"
(the item was not on that candidate's form; write 0 for a wrong or blank answer) — or, with a
key, **raw options**: `1`..`5` or `A`..`H` as the candidate answered, a 多选 answer as one token
(`ABD`, compared all-or-none with the key, letters in any order), an empty cell or the
`missing_code` meaning omitted.

The key file is one of: one row `item,key` per item (an optional header row such as `item,key` or
`题号,答案`; an item is named by its column header, or by its 1-based position when no header
matches), a single row of keys in item order, or a single column of keys in item order. The
`max_points` file has the same two-column form, `item,max_points`.

Every problem is reported with the file, the row (as a spreadsheet shows it: the header is row 1)
and the column, all problems at once; nothing is analysed from a file with problems.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from examvault.errors import Issue, ValidationError
from examvault.itembank.formats.tabular import column_letter
from examvault.stats.analysis import Analysis, IRTChoice, analyze
from examvault.stats.flags import FlagThresholds

FREQ_COLUMNS = ("freq", "frequency", "频数")
_HEADER_WORDS = {"item", "items", "题目", "题号", "试题", "题目编号", "key", "答案", "max_points", "maxpoints", "points", "分值", "满分"}
NOT_ANALYSED = "nothing was analysed"


def _fail(issues: list[Issue]) -> ValidationError:
    return ValidationError(issues, outcome=NOT_ANALYSED)


def _read_rows(path: Path, encoding: str | None) -> list[tuple[int, list[str]]]:
    """(row number, stripped cells) of the non-blank rows."""
    from examvault.itembank.formats.tabular import decode_text

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail([Issue(path.name, "", "", f"cannot read the file: {exc.strerror or exc}")]) from None
    text = decode_text(path, data, encoding)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise _fail([Issue(path.name, "", "", f"not a readable CSV file: {exc}")]) from None
    return [(i, [c.strip() for c in row]) for i, row in enumerate(rows, start=1) if any(c.strip() for c in row)]


@dataclass
class ResponseFile:
    """A response file as matrices: the item columns, and the rows expanded by their frequency."""

    path: Path
    labels: list[str]
    columns: list[int]  # file column index of each item
    cells: list[tuple[int, list[str]]]  # (row number, item cells) per data row
    weights: np.ndarray | None
    group: list[str] | None


def read_responses(path: Path, *, group: str | None = None, ignore: tuple[str, ...] = (), encoding: str | None = None) -> ResponseFile:
    rows = _read_rows(path, encoding)
    name = path.name
    if not rows:
        raise _fail([Issue(name, "", "", "the file is empty: a header row naming the items, then one row per candidate")])
    header_row, header = rows[0]
    while header and not header[-1]:
        header.pop()
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for i, label in enumerate(header):
        where = f"{column_letter(i)}"
        if not label:
            issues.append(Issue(name, f"row {header_row}", where, "the header cell is empty: every column needs a name"))
        elif label in seen:
            issues.append(Issue(name, f"row {header_row}", f"{where} ({label})", f"column name repeats column {column_letter(seen[label])}"))
        else:
            seen[label] = i
    freq = next((i for i, label in enumerate(header) if label.lower() in FREQ_COLUMNS), None)
    group_index = None
    if group is not None:
        if group not in seen:
            issues.append(Issue(name, f"row {header_row}", group, f"no column named {group!r} for --group; the columns are {', '.join(header[:12])}"
                                + (" …" if len(header) > 12 else "")))  # fmt: skip
        else:
            group_index = seen[group]
    ignored = set()
    for col in ignore:
        if col not in seen:
            issues.append(Issue(name, f"row {header_row}", col, f"no column named {col!r} to ignore"))
        else:
            ignored.add(seen[col])
    if issues:
        raise _fail(issues)
    special = {i for i in (freq, group_index) if i is not None} | ignored
    columns = [i for i in range(len(header)) if i not in special]
    if not columns:
        raise _fail([Issue(name, f"row {header_row}", "", "no item columns")])
    data = rows[1:]
    if not data:
        raise _fail([Issue(name, "", "", "no candidate rows below the header")])
    weights: list[float] = []
    cells: list[tuple[int, list[str]]] = []
    groups: list[str] = []
    width = len(header)
    for line, row in data:
        if len(row) > width and any(row[width:]):
            issues.append(Issue(name, f"row {line}", column_letter(width), f"the row has {len(row)} cells but the header names {width} columns"))
            continue
        row = row + [""] * (width - len(row))
        if freq is not None:
            text = row[freq]
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and value >= 0 and value == int(value)):
                issues.append(Issue(name, f"row {line}", f"{column_letter(freq)} ({header[freq]})", f"{text!r} is not a frequency (a whole number ≥ 0)"))
                continue
            weights.append(value)
        if group_index is not None:
            groups.append(row[group_index])
        cells.append((line, [row[i] for i in columns]))
    if issues:
        raise _fail(issues)
    return ResponseFile(path, [header[i] for i in columns], columns, cells, np.array(weights) if freq is not None else None,
                        groups if group_index is not None else None)  # fmt: skip


def _where(rf: ResponseFile, item: int) -> str:
    return f"{column_letter(rf.columns[item])} ({rf.labels[item]})"


def score_matrix(rf: ResponseFile, max_points: np.ndarray, score_step: float | None) -> np.ndarray:
    """Item scores as floats (NaN = empty = not presented), every cell checked against its item's range and steps."""
    n, k = len(rf.cells), len(rf.labels)
    x = np.full((n, k), np.nan)
    issues: list[Issue] = []
    steps = _steps(max_points, score_step)
    for r, (line, row) in enumerate(rf.cells):
        for j, text in enumerate(row):
            if not text:
                continue
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                issues.append(Issue(rf.path.name, f"row {line}", _where(rf, j), f"{text!r} is not a score (a number; leave the cell empty if the item was not presented)"))
            elif not 0 <= value <= max_points[j] + 1e-9:
                issues.append(Issue(rf.path.name, f"row {line}", _where(rf, j), f"score {text} is outside 0..{max_points[j]:g}"
                                    + (" (set --max-points)" if max_points[j] == 1 else "")))  # fmt: skip
            elif abs(value / steps[j] - round(value / steps[j])) > 1e-9:
                issues.append(Issue(rf.path.name, f"row {line}", _where(rf, j), f"score {text} is not a multiple of {steps[j]:g}"
                                    + (" (set --score-step for half points)" if steps[j] >= 1 else "")))  # fmt: skip
            else:
                x[r, j] = value
            if len(issues) >= 50:
                raise _fail(issues)
    if issues:
        raise _fail(issues)
    return x


def _steps(max_points: np.ndarray, score_step: float | None) -> np.ndarray:
    """The score grid of `analyze`: 1 point for whole-point items, else the item's points; `score_step` for items worth more than 1."""
    whole = (max_points >= 1) & (np.abs(max_points - np.rint(max_points)) < 1e-9)
    default = np.where(whole, 1.0, max_points)
    return default if score_step is None else np.where(max_points > 1, float(score_step), default)


def _token(text: str) -> str:
    t = text.strip().upper()
    return "".join(sorted(set(t))) if t.isalpha() and t.isascii() else t


def option_matrix(rf: ResponseFile, key: list[str], missing_code: str | None) -> tuple[np.ndarray, np.ndarray, int, dict[int, str] | None]:
    """(codes, key codes, omit code, code → label or None): integer tokens keep their value, others are numbered."""
    missing = {"", _token(missing_code)} if missing_code is not None else {""}
    tokens = [[_token(c) for c in row] for _, row in rf.cells]
    keys = [_token(k) for k in key]
    issues = [Issue(rf.path.name, "key", rf.labels[j], f"the key {key[j]!r} is the missing code") for j, k in enumerate(keys) if k in missing]
    if issues:
        raise _fail(issues)
    vocabulary = sorted({t for row in tokens for t in row if t not in missing} | set(keys))
    if all(_is_int(t) for t in vocabulary):
        values = {t: int(t) for t in vocabulary}
        labels = None
    else:
        values = {t: i for i, t in enumerate(vocabulary, start=1)}
        labels = {i: t for t, i in values.items()}
    omit = min([0, *values.values()]) - 1
    codes = np.array([[omit if t in missing else values[t] for t in row] for row in tokens], dtype=np.int64).reshape(len(tokens), len(rf.labels))
    return codes, np.array([values[k] for k in keys], dtype=np.int64), omit, labels


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def read_item_values(path: Path, labels: list[str], *, what: str, encoding: str | None = None) -> list[str]:
    """One value per item from a key or max-points file (see the module docstring for the layouts)."""
    rows = _read_rows(path, encoding)
    name, k = path.name, len(labels)
    if not rows:
        raise _fail([Issue(name, "", "", f"the file is empty: expected one {what} per item")])
    index = {label: j for j, label in enumerate(labels)}
    trimmed = [(line, [c for c in row]) for line, row in rows]
    for _, row in trimmed:
        while row and not row[-1]:
            row.pop()
    # a single row of values in item order (optionally under a header row naming the items)
    if len(trimmed) == 1 and len(trimmed[0][1]) != 2 or (len(trimmed) == 1 and k == 2 and trimmed[0][1][0] not in index):
        line, row = trimmed[0]
        if len(row) != k:
            raise _fail([Issue(name, f"row {line}", "", f"{len(row)} values for {k} items: a single row must give one {what} per item, in item order")])
        return row
    if len(trimmed) == 2 and len(trimmed[0][1]) == k and k != 2 and set(trimmed[0][1]) == set(labels):
        (_, head), (line, row) = trimmed
        if len(row) != k:
            raise _fail([Issue(name, f"row {line}", "", f"{len(row)} values under {k} item names")])
        return [row[head.index(label)] for label in labels]
    if all(len(row) == 1 for _, row in trimmed):  # a single column in item order
        values = [row[0] for _, row in trimmed]
        if values and values[0].lower() in _HEADER_WORDS:
            values = values[1:]
        if len(values) != k:
            raise _fail([Issue(name, "", "A", f"{len(values)} values in one column for {k} items")])
        return values
    found: dict[int, str] = {}
    issues: list[Issue] = []
    first = True
    for line, row in trimmed:
        if first and row and row[0] not in index and (row[0].lower() in _HEADER_WORDS or (len(row) > 1 and row[1].lower() in _HEADER_WORDS)):
            first = False
            continue
        first = False
        if len(row) != 2:
            issues.append(Issue(name, f"row {line}", "", f"expected two cells, item and {what}; found {len(row)}"))
            continue
        label, value = row
        j = index.get(label)
        if j is None and _is_int(label) and 1 <= int(label) <= k and not any(_is_int(x) for x in labels):
            j = int(label) - 1
        if j is None:
            issues.append(Issue(name, f"row {line}", "A (item)", f"{label!r} is not an item column of the response file"))
        elif j in found:
            issues.append(Issue(name, f"row {line}", "A (item)", f"item {labels[j]} is given twice"))
        elif not value:
            issues.append(Issue(name, f"row {line}", f"B ({what})", f"the {what} of item {labels[j]} is empty"))
        else:
            found[j] = value
    absent = [labels[j] for j in range(k) if j not in found]
    if absent:
        shown = ", ".join(absent[:20]) + (" …" if len(absent) > 20 else "")
        issues.append(Issue(name, "", "", f"no {what} for {len(absent)} item(s): {shown}"))
    if issues:
        raise _fail(issues)
    return [found[j] for j in range(k)]


def parse_max_points(spec: str | None, labels: list[str], encoding: str | None = None) -> np.ndarray:
    """`--max-points`: a number for every item, or a CSV of item,max_points (default: 1 point per item)."""
    k = len(labels)
    if spec is None:
        return np.ones(k)
    try:
        value = float(spec)
    except ValueError:
        value = None  # type: ignore[assignment]
    if value is not None:
        if not (math.isfinite(value) and value > 0):
            raise ValidationError(f"--max-points {spec}: must be a positive number, or a CSV file of item,max_points")
        return np.full(k, value)
    path = Path(spec)
    if not path.is_file():
        raise ValidationError(f"--max-points {spec}: neither a number nor an existing file")
    texts = read_item_values(path, labels, what="max_points", encoding=encoding)
    out = np.empty(k)
    issues = []
    for j, text in enumerate(texts):
        try:
            out[j] = float(text)
        except ValueError:
            out[j] = math.nan
        if not (math.isfinite(out[j]) and out[j] > 0):
            issues.append(Issue(path.name, "", labels[j], f"max_points {text!r} is not a positive number"))
    if issues:
        raise _fail(issues)
    return out


def analyze_file(
    path: Path,
    *,
    key: Path | None = None,
    max_points: str | None = None,
    score_step: float | None = None,
    missing_code: str | None = None,
    missing: str = "wrong",
    irt: IRTChoice | None = None,
    force_irt: bool = False,
    group: str | None = None,
    focal: str | None = None,
    ignore: tuple[str, ...] = (),
    thresholds: FlagThresholds | None = None,
    encoding: str | None = None,
) -> Analysis:
    """Read a response file (and key, max-points file), check every cell, and analyse it."""
    rf = read_responses(path, group=group, ignore=ignore, encoding=encoding)
    top = parse_max_points(max_points, rf.labels, encoding)
    if focal is not None and rf.group is not None and focal not in {g for g in rf.group if g}:
        values = sorted({g for g in rf.group if g})
        raise _fail([Issue(path.name, "", group or "", f"--focal {focal!r} is not a value of the group column; it holds {', '.join(values[:20])}")])
    kwargs: dict[str, Any] = {
        "labels": rf.labels, "missing": missing, "irt": irt, "force_irt": force_irt, "thresholds": thresholds,
        "weights": rf.weights, "group": None if rf.group is None else np.array(rf.group, dtype=object), "focal": focal,
        "score_step": score_step,
    }  # fmt: skip
    if key is not None:
        keys = read_item_values(key, rf.labels, what="key", encoding=encoding)
        codes, key_codes, omit, option_labels = option_matrix(rf, keys, missing_code)
        return analyze(None, top, choices=codes, key=key_codes, missing_code=omit, option_labels=option_labels, **kwargs)
    if missing_code is not None:
        raise ValidationError("--missing-code applies to raw options, which need --key; in a score file an empty cell means not presented")
    return analyze(score_matrix(rf, top, score_step), top, **kwargs)
