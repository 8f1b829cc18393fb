"""Objective scoring at exam scale: 100,000 candidates × the level-3 theory paper's 190 items.

    /work/venv/bin/python benchmarks/scoring.py [--n 100000] [--runs 5] [--seed 7] [--skip-lists]

The form: 判断 40 × 0.5 + 单选 140 × 0.5 (4 options) + 多选 10 × 1 (5 options) = 100 points.
Responses are random but realistic: each cell is the key with probability 0.70, omitted with
0.01, otherwise a wrong answer (the other mark, another letter, another non-empty set of
letters); about 2 % are spelled the way people type (对/错, lower case, `A,C`). Timed, each the
median of --runs:
- encode: `encode_responses`, the string matrix (a numpy str array) → uint16 codes;
- score: `score` on the encoded key and responses alone (target ≤ 2 s), under both 多选 rules;
- encode + score: `score` straight from the strings;
- baseline: a plain `(a == b).sum()` over two uint16 matrices of the same size, in this process.
Once, unless --skip-lists: the same responses as Python lists of str (what a CSV reader gives),
through `score`. Every run is checked against totals computed here from the generated codes.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from examvault.scoring.objective import (  # noqa: E402
    LETTER_TABLE,
    KeyItem,
    MultiRule,
    encode_key,
    encode_responses,
    score,
)

SECTIONS = [("判断", 40, 0.5, 0), ("单选", 140, 0.5, 4), ("多选", 10, 1.0, 5)]
P_CORRECT, P_OMITTED, P_VARIANT = 0.70, 0.01, 0.02


def build(n: int, seed: int) -> tuple[list[KeyItem], np.ndarray, np.ndarray]:
    """(key, responses as a str matrix, expected all-or-nothing totals)."""
    rng = np.random.default_rng(seed)
    key: list[KeyItem] = []
    columns: list[np.ndarray] = []
    expected = np.zeros(n)
    for t, count, points, options in SECTIONS:
        for _ in range(count):
            draw = rng.random(n)
            right, omitted = draw < P_CORRECT, draw >= 1 - P_OMITTED
            variant = rng.random(n) < P_VARIANT
            if t == "判断":
                answer = int(rng.integers(1, 3))
                codes = np.where(right, answer, 3 - answer)
                text = np.where(variant, np.array(["", "对", "错"])[codes], np.array(["", "√", "×"])[codes])
                key.append(KeyItem(len(key) + 1, t, points, "√" if answer == 1 else "×"))
            else:
                if t == "单选":
                    answer = 1 << int(rng.integers(options))
                    wrong = 1 << rng.integers(options - 1, size=n)  # another letter: skip the key's bit
                    wrong = np.where(wrong >= answer, wrong << 1, wrong)
                else:
                    answer = int(rng.choice([m for m in range(1, 1 << options) if m.bit_count() >= 2]))
                    wrong = rng.integers(1, (1 << options) - 1, size=n)  # any other non-empty set
                    wrong = np.where(wrong >= answer, wrong + 1, wrong)
                codes = np.where(right, answer, wrong)
                letters = LETTER_TABLE[codes]
                spelled = np.array([",".join(s).lower() for s in LETTER_TABLE])[codes]
                text = np.where(variant, spelled, letters)
                key.append(KeyItem(len(key) + 1, t, points, str(LETTER_TABLE[answer]), options))
            text = np.where(omitted, "", text)
            expected += np.where(right & ~omitted, points, 0.0)
            columns.append(text.astype("U9"))
    return key, np.stack(columns, axis=1), expected


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-lists", action="store_true")
    args = parser.parse_args()

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPUs ({cpus} usable)"
    )
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    start = time.perf_counter()
    key, text, expected = build(args.n, args.seed)
    m = len(key)
    print(f"form: {m} items ({', '.join(f'{t} {c}' for t, c, _p, _o in SECTIONS)}), {args.n:,} candidates, "
          f"{text.size:,} cells of {text.dtype} ({text.nbytes / 2**20:.0f} MiB); built in {time.perf_counter() - start:.1f} s")  # fmt: skip

    ek = encode_key(key)
    t_encode, er = median_time(lambda: encode_responses(ek, text), args.runs)
    t_score, s = median_time(lambda: score(ek, er), args.runs)
    np.testing.assert_array_equal(s.total, expected)
    t_partial, sp = median_time(
        lambda: score(ek, er, multi_rule=MultiRule("partial", fraction=0.5)), args.runs
    )
    assert (sp.total >= s.total).all() and (sp.total > s.total).any()
    t_both, s2 = median_time(lambda: score(key, text), args.runs)
    np.testing.assert_array_equal(s2.total, expected)

    rng = np.random.default_rng(args.seed + 1)
    a = rng.integers(0, 16, size=(args.n, m), dtype=np.uint16)
    b = np.where(
        rng.random((args.n, m)) < P_CORRECT, a, rng.integers(0, 16, size=(args.n, m), dtype=np.uint16)
    )
    t_base, _ = median_time(lambda: int((a == b).sum()), args.runs)

    print(f"correct share {s.correct.mean():.3f}, mean total {s.total.mean():.2f} / {s.max_points:g}")
    print(f"{'step':<44}{'median s':>10}")
    print(f"{'encode (str matrix → uint16 codes)':<44}{t_encode:>10.3f}")
    print(
        f"{'score alone, 多选 all-or-nothing':<44}{t_score:>10.3f}   target ≤ 2 s: {'met' if t_score <= 2 else 'MISSED'}"
    )
    print(f"{'score alone, 多选 partial 0.5':<44}{t_partial:>10.3f}")
    print(f"{'encode + score (from the str matrix)':<44}{t_both:>10.3f}")
    print(
        f"{'baseline: (a == b).sum(), uint16 same size':<44}{t_base:>10.3f}   score / baseline = {t_score / t_base:.1f}×"
    )
    if not args.skip_lists:
        rows = text.tolist()
        start = time.perf_counter()
        s3 = score(key, rows)
        t_lists = time.perf_counter() - start
        np.testing.assert_array_equal(s3.total, expected)
        print(f"{'encode + score from Python lists (1 run)':<44}{t_lists:>10.3f}")


if __name__ == "__main__":
    main()
