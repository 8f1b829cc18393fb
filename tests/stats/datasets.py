"""The public psychometric data sets with published reference values: a copy of the shared
`data/psychometrics` folder kept in `tests/stats/data/` (with its README and attribution), so the
correctness tests run wherever the repository is cloned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"
SAT12_KEY = [
    1,
    4,
    5,
    2,
    3,
    1,
    2,
    1,
    3,
    1,
    2,
    4,
    2,
    1,
    5,
    3,
    4,
    4,
    1,
    4,
    3,
    3,
    4,
    1,
    3,
    5,
    1,
    3,
    1,
    5,
    4,
    5,
]  # README, items 1–32
SAT12_MISSING = 8


def load(name: str) -> np.ndarray:
    """The CSV as a float matrix without its header; skips the test when the shared data are not there."""
    path = DATA / f"{name}.csv"
    if not path.exists():
        pytest.fail(f"psychometric reference data missing at {path}: it ships with the tests")
    return np.genfromtxt(path, delimiter=",", skip_header=1)


def load_patterns(name: str) -> np.ndarray:
    """LSAT-style pattern table expanded to one row per person by its last (frequency) column."""
    table = load(name)
    return np.repeat(table[:, :-1], table[:, -1].astype(np.intp), axis=0)
