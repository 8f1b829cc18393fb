"""Flags on constructed items: each fires on the item built to trip it, with its evidence, and nowhere else."""

from __future__ import annotations

import numpy as np
import pytest

from examvault.stats.classical import analyse
from examvault.stats.flags import FlagThresholds, fisher_interval, flag_items, wilson_interval
from examvault.stats.options import analyse_options, score_choices

MISKEYED, EASY, NEGATIVE, HARD = 0, 1, 2, 3
CLEAN = range(4, 20)


def constructed_exam(rows: int, seed: int = 2024) -> tuple[np.ndarray, list[int]]:
    """Four-option responses of `rows` candidates to 20 items; options 1..4, 9 = omitted.

    Item 0 is keyed 1 but really answered by option 2; item 1 is nearly always right; item 2 is
    answered correctly more often by weaker candidates; item 3 almost never; items 4–19 are clean.
    """
    rng = np.random.default_rng(seed)
    ability = rng.standard_normal(rows)
    difficulty = np.linspace(-1.0, 1.0, 20)
    slope = np.full(20, 1.4)
    difficulty[EASY], difficulty[HARD] = -5.0, 4.0
    slope[NEGATIVE] = -1.2
    right = rng.random((rows, 20)) < 1 / (1 + np.exp(-slope * (ability[:, None] - difficulty)))
    key = [1 + j % 4 for j in range(20)]
    true_answer = list(key)
    true_answer[MISKEYED] = 2
    wrong_choice = rng.integers(1, 4, size=(rows, 20))  # one of the three other options
    responses = np.empty((rows, 20), dtype=int)
    for j in range(20):
        others = np.array([o for o in (1, 2, 3, 4) if o != true_answer[j]])
        responses[:, j] = np.where(right[:, j], true_answer[j], others[wrong_choice[:, j] - 1])
    responses[rng.random((rows, 20)) < 0.01] = 9
    return responses, key


def run_flags(rows: int, thresholds: FlagThresholds | None = None) -> list:
    responses, key = constructed_exam(rows)
    scores, omitted = score_choices(responses, key, missing_code=9)
    stats = analyse(scores, np.ones(20), omitted=omitted)
    options = analyse_options(responses, key, missing_code=9)
    return flag_items(stats, options, thresholds)


def test_each_constructed_problem_is_flagged_and_clean_items_are_not() -> None:
    flags = run_flags(2000)
    fired = {(f.item, f.rule) for f in flags}
    assert (MISKEYED, "key_error") in fired
    assert (EASY, "too_easy") in fired
    assert (NEGATIVE, "negative_discrimination") in fired
    assert (HARD, "too_hard") in fired
    assert not any(f.item in CLEAN for f in flags), [f.message for f in flags if f.item in CLEAN]
    assert (NEGATIVE, "low_discrimination") not in fired  # the stronger rule is reported alone


def test_flags_carry_their_evidence() -> None:
    flags = {(f.item, f.rule): f for f in run_flags(2000)}
    easy = flags[(EASY, "too_easy")]
    assert easy.threshold == 0.95 and easy.n >= 1900
    assert easy.ci[0] > 0.95 and easy.ci[0] < easy.value < easy.ci[1]
    assert easy.ci == pytest.approx(wilson_interval(easy.value, easy.n, FlagThresholds().z))
    negative = flags[(NEGATIVE, "negative_discrimination")]
    assert negative.value < 0 and negative.ci[1] < 0 and negative.threshold == 0.0
    assert negative.ci == pytest.approx(fisher_interval(negative.value, negative.n, FlagThresholds().z))
    key_error = flags[(MISKEYED, "key_error")]
    assert key_error.value > 0 and key_error.ci[0] > 0 and "distractor 2" in key_error.message


def test_too_few_responses_raise_nothing() -> None:
    assert run_flags(80) == []  # below the default n ≥ 100, even though the problems are there
    assert run_flags(80, FlagThresholds(min_n=50)) != []


def test_a_point_estimate_past_the_cut_is_not_enough() -> None:
    """p = 0.96 on 150 answers: the Wilson interval still reaches below 0.95, so no flag."""
    scores = np.zeros((150, 2))
    scores[:144, 0] = 1
    scores[:75, 1] = 1
    stats = analyse(scores, np.ones(2))
    assert stats.p[0] == pytest.approx(0.96)
    assert not [f for f in flag_items(stats) if f.rule == "too_easy"]
    low, high = wilson_interval(0.96, 150, FlagThresholds().z)
    assert low < 0.95 < 0.96 < high


def test_interval_helpers() -> None:
    z = FlagThresholds(confidence=0.95).z
    assert z == pytest.approx(1.959964, abs=1e-6)
    low, high = wilson_interval(0.5, 100, z)
    assert (low, high) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    low, high = fisher_interval(0.3, 103, z)
    assert low == pytest.approx(np.tanh(np.arctanh(0.3) - z / 10)) and high == pytest.approx(
        np.tanh(np.arctanh(0.3) + z / 10)
    )
