"""Item statistics at scale. Section `classical`: 1,000,000 candidates × 100 items (target ≤ 3 s, ≤ 1.5 GB).

    /work/venv/bin/python benchmarks/stats.py classical [--n 1000000] [--items 100] [--runs 3] [--seed 7] [--chunk-rows 32768]

The scores are a uint8 matrix (100 MB at full size) built column by column from a 2PL-like
model: 90 dichotomous items and 10 partial-credit items scored 0..4. Timed, each the median of
--runs:
- analyse: `classical.analyse` — everything classical: p, item–total and item–rest r, alpha,
  alpha-if-deleted, SEM, category counts and means, and the 27 % upper–lower index (two chunked passes);
- accumulate: the moments alone, `Accumulator.add` per chunk and `statistics()`, as a service
  merging exams would run;
- options: `options.analyse_options` on 4-option responses of the first --option-items items (per-exam only).
On a shared machine run it with OPENBLAS_NUM_THREADS=1: with two cores and other heavy processes,
OpenBLAS's spinning worker threads make the chunk products several times slower (measured: analyse
1.2 s single-threaded against 6.5 s with the default threads while two other benchmarks ran).
Peak memory is measured in a separate, untimed run of `analyse` with tracemalloc (numpy reports its
buffers to it), plus the input matrix; the process's ru_maxrss is printed too.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from examvault.stats.classical import DEFAULT_CHUNK_ROWS, Accumulator, analyse  # noqa: E402
from examvault.stats.options import analyse_options  # noqa: E402

POLYTOMOUS_ITEMS, POLYTOMOUS_MAX = 10, 4


def build(n: int, items: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 scores, max_points): the last POLYTOMOUS_ITEMS items are partial credit 0..4."""
    rng = np.random.default_rng(seed)
    ability = rng.standard_normal(n).astype(np.float32)
    max_points = np.ones(items)
    max_points[items - POLYTOMOUS_ITEMS :] = POLYTOMOUS_MAX
    scores = np.empty((n, items), dtype=np.uint8)
    for j in range(items):
        chance = 1 / (1 + np.exp(-1.2 * (ability - np.float32(rng.normal()))))
        if max_points[j] == 1:
            scores[:, j] = rng.random(n, dtype=np.float32) < chance
        else:
            scores[:, j] = rng.binomial(POLYTOMOUS_MAX, chance)
    return scores, max_points


def build_options(scores: np.ndarray, items: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """4-option codes consistent with the 0/1 scores of the first `items` items; 9 = omitted (1 %)."""
    rng = np.random.default_rng(seed + 1)
    key = rng.integers(1, 5, size=items)
    wrong = (key + rng.integers(1, 4, size=scores[:, :items].shape) - 1) % 4 + 1
    codes = np.where(scores[:, :items] == 1, key, wrong).astype(np.int16)
    codes[rng.random(codes.shape) < 0.01] = 9
    return codes, key


def timed(runs: int, work: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def accumulate(scores: np.ndarray, max_points: np.ndarray, chunk_rows: int) -> object:
    accumulator = Accumulator(max_points)
    for start in range(0, scores.shape[0], chunk_rows):
        accumulator.add(scores[start : start + chunk_rows])
    return accumulator.statistics()


def classical(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    scores, max_points = build(args.n, args.items, args.seed)
    print(
        f"built {args.n:,} × {args.items} uint8 scores ({scores.nbytes / 2**20:.0f} MiB) in {time.perf_counter() - start:.1f} s"
    )

    seconds, result = timed(args.runs, lambda: analyse(scores, max_points, chunk_rows=args.chunk_rows))
    print(
        f"analyse     median of {args.runs}: {seconds:6.2f} s   (target ≤ 3 s)   alpha {result.alpha:.4f}, SEM {result.sem:.3f}"
    )  # type: ignore[attr-defined]
    seconds, _ = timed(args.runs, lambda: accumulate(scores, max_points, args.chunk_rows))
    print(f"accumulate  median of {args.runs}: {seconds:6.2f} s")

    tracemalloc.start()
    analyse(scores, max_points, chunk_rows=args.chunk_rows)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = peak + scores.nbytes
    print(
        f"peak memory of analyse: {peak / 2**20:.0f} MiB traced + {scores.nbytes / 2**20:.0f} MiB input = {total / 2**20:.0f} MiB (target ≤ 1536 MiB)"
    )

    if args.option_items:
        codes, key = build_options(scores, args.option_items, args.seed)
        seconds, _ = timed(args.runs, lambda: analyse_options(codes, key, missing_code=9))
        per_100 = seconds * 100 / args.option_items
        print(
            f"options     median of {args.runs}: {seconds:6.2f} s for {args.option_items} items (≈ {per_100:.1f} s per 100 items)"
        )
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process ru_maxrss {maxrss:.0f} MiB (includes building the data and the option codes)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("section", choices=["classical"], nargs="?", default="classical")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    parser.add_argument(
        "--option-items", type=int, default=20, help="items in the option-analysis figure; 0 skips it"
    )
    args = parser.parse_args()
    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, {platform.machine()}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}"
    )
    {"classical": classical}[args.section](args)


if __name__ == "__main__":
    main()
