"""Classical statistics against published reference values and against plain numpy on the same data."""

from __future__ import annotations

import numpy as np
import pytest

from examvault.errors import ValidationError
from examvault.stats.classical import Accumulator, analyse, expand_patterns, upper_lower_groups
from examvault.stats.flags import flag_items
from examvault.stats.options import score_choices
from tests.stats.datasets import DATA, SAT12_KEY, SAT12_MISSING, load, load_patterns


def plain_alpha(x: np.ndarray) -> float:
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def plain_rest_correlations(x: np.ndarray) -> np.ndarray:
    total = x.sum(axis=1)
    return np.array([np.corrcoef(x[:, j], total - x[:, j])[0, 1] for j in range(x.shape[1])])


def test_the_reference_data_ship_with_the_tests() -> None:
    assert {p.name for p in DATA.glob("*.csv")} == {"LSAT6.csv", "LSAT7.csv", "SAT12.csv", "Science.csv"}


def test_lsat7_matches_the_published_values() -> None:
    x = load_patterns("LSAT7")
    assert x.shape == (1000, 5)
    stats = analyse(x, np.ones(5))
    assert stats.alpha == pytest.approx(0.4534087354, abs=1e-7)
    assert stats.p.tolist() == [0.828, 0.658, 0.772, 0.606, 0.843]
    np.testing.assert_allclose(stats.r_rest, [0.245732, 0.246674, 0.313179, 0.222751, 0.174786], atol=1e-5)
    total = x.sum(axis=1)
    np.testing.assert_allclose(
        stats.r_total, [np.corrcoef(x[:, j], total)[0, 1] for j in range(5)], atol=1e-12
    )
    assert stats.sem == pytest.approx(total.std(ddof=1) * np.sqrt(1 - stats.alpha), rel=1e-12)
    assert stats.implied_total_sd == pytest.approx(stats.total_sd, rel=1e-12)
    for j in range(5):  # alpha-if-deleted is the alpha of the other four items
        assert stats.alpha_if_deleted[j] == pytest.approx(plain_alpha(np.delete(x, j, axis=1)), abs=1e-12)


def test_lsat6_matches_the_published_values() -> None:
    x = load_patterns("LSAT6")
    stats = analyse(x, np.ones(5))
    assert stats.alpha == pytest.approx(0.2949971922, abs=1e-7)
    assert stats.p.tolist() == [0.924, 0.709, 0.553, 0.763, 0.870]
    np.testing.assert_allclose(stats.r_rest, plain_rest_correlations(x), atol=1e-12)


def test_expand_patterns_repeats_rows_by_frequency() -> None:
    table = load("LSAT7")
    assert expand_patterns(table[:, :5], table[:, 5]).shape == (1000, 5)


def test_sat12_alpha_with_missing_scored_wrong() -> None:
    raw = load("SAT12").astype(int)
    scores, omitted = score_choices(raw, SAT12_KEY, missing_code=SAT12_MISSING)
    stats = analyse(scores, np.ones(32), omitted=omitted)
    independent = (raw == np.array(SAT12_KEY)).astype(float)  # 8 never equals a key, so it is wrong
    assert stats.alpha == pytest.approx(plain_alpha(independent), abs=1e-3)
    assert stats.alpha == pytest.approx(0.798, abs=0.01)
    assert stats.n_omitted.sum() == (raw == SAT12_MISSING).sum()
    np.testing.assert_allclose(stats.r_rest, plain_rest_correlations(independent), atol=1e-12)


def test_sat12_pairwise_leaves_omitters_out_of_each_item() -> None:
    raw = load("SAT12").astype(int)
    scores, omitted = score_choices(raw, SAT12_KEY, missing_code=SAT12_MISSING)
    stats = analyse(scores, np.ones(32), omitted=omitted, missing="pairwise")
    answered = raw != SAT12_MISSING
    correct = raw == np.array(SAT12_KEY)
    np.testing.assert_array_equal(stats.n, answered.sum(axis=0))
    np.testing.assert_allclose(stats.p, correct.sum(axis=0) / answered.sum(axis=0), rtol=1e-15)
    total = correct.sum(axis=1).astype(float)
    j = 3  # an item with omitters: correlation over those who answered it
    assert (~answered[:, j]).sum() > 0
    rows = answered[:, j]
    expected = np.corrcoef(correct[rows, j], total[rows] - correct[rows, j])[0, 1]
    assert stats.r_rest[j] == pytest.approx(expected, abs=1e-12)
    assert 0.7 < stats.alpha < 0.85


def test_science_partial_credit_categories() -> None:
    """Science is scored 1–4; subtracting 1 gives the 0..3 scale with max_points 3 this package expects."""
    x = load("Science") - 1
    stats = analyse(x, np.full(4, 3.0))
    assert stats.alpha == pytest.approx(plain_alpha(x), abs=1e-12)
    total = x.sum(axis=1)
    for j, categories in enumerate(stats.categories):
        np.testing.assert_array_equal(categories.scores, [0, 1, 2, 3])
        np.testing.assert_array_equal(categories.counts, np.bincount(x[:, j].astype(int), minlength=4))
        expected = [total[x[:, j] == c].mean() - c for c in range(4)]
        np.testing.assert_allclose(categories.mean_rest, expected, atol=1e-12)
        assert categories.ordered
    assert not stats.dichotomous.any()
    assert [f for f in flag_items(stats) if f.rule == "category_order"] == []


def test_disordered_categories_are_flagged() -> None:
    """An item on which the middle category is earned by the weakest candidates."""
    rng = np.random.default_rng(5)
    ability = rng.standard_normal(3000)
    others = (rng.random((3000, 10)) < 1 / (1 + np.exp(-ability[:, None]))).astype(float)
    odd = np.where(ability < -0.5, 1.0, np.where(ability < 0.5, 0.0, 2.0))
    stats = analyse(np.column_stack([others, odd]), [1] * 10 + [2])
    assert not stats.categories[10].ordered
    assert all(c.ordered for c in stats.categories[:10])
    flags = [f for f in flag_items(stats) if f.rule == "category_order"]
    assert [f.item for f in flags] == [10]
    assert flags[0].value < 0 and flags[0].ci[1] < 0


def test_sparse_forms_are_analysed_together() -> None:
    """Two forms share items 2–4; NaN (not presented) is left out pairwise, never scored 0."""
    rng = np.random.default_rng(11)
    ability = rng.standard_normal(800)
    full = (rng.random((800, 7)) < 1 / (1 + np.exp(-ability[:, None]))).astype(float)
    x = full.copy()
    x[:400, 5:] = np.nan  # form A: items 0–4
    x[400:, :2] = np.nan  # form B: items 2–6
    stats = analyse(x, np.ones(7))
    np.testing.assert_array_equal(stats.n, [400, 400, 800, 800, 800, 400, 400])
    np.testing.assert_allclose(stats.p, np.nanmean(x, axis=0), rtol=1e-14)
    total = np.nansum(x, axis=1)
    for j in range(7):
        seen = ~np.isnan(x[:, j])
        expected = np.corrcoef(x[seen, j], total[seen] - x[seen, j])[0, 1]
        assert stats.r_rest[j] == pytest.approx(expected, abs=1e-12)
    assert 0 < stats.alpha < 1  # items 0–1 and 5–6 never meet: their covariance is left out, not guessed
    assert np.isfinite(stats.alpha_if_deleted).all()
    assert stats.n_candidates == 800 and stats.n_presented.tolist() == stats.n.tolist()


def test_upper_lower_groups_share_ties_at_the_cut() -> None:
    totals = np.array([10, 9, 9, 9, 5, 4, 3, 1, 1, 0], dtype=float)
    upper, lower = upper_lower_groups(totals, 0.27)  # 2.7 candidates in each group
    assert upper.sum() == pytest.approx(2.7) and lower.sum() == pytest.approx(2.7)
    np.testing.assert_allclose(upper, [1, 1.7 / 3, 1.7 / 3, 1.7 / 3, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(lower, [0, 0, 0, 0, 0, 0, 0, 0.85, 0.85, 1])  # 0 fully, the two 1s share 1.7
    order = np.random.default_rng(1).permutation(10)
    shuffled_upper, _ = upper_lower_groups(totals[order], 0.27)
    np.testing.assert_allclose(shuffled_upper, upper[order])
    with pytest.raises(ValidationError):
        upper_lower_groups(totals, 0.6)


def test_upper_lower_index_on_distinct_totals_matches_a_plain_count() -> None:
    rng = np.random.default_rng(3)
    x = (rng.random((1000, 8)) < rng.random(8)).astype(float)
    x = x[np.lexsort(x.T[::-1])]
    stats = analyse(x, np.ones(8), chunk_rows=97)
    total = x.sum(axis=1)
    upper, lower = upper_lower_groups(total)
    expected = (upper @ x) / upper.sum() - (lower @ x) / lower.sum()
    np.testing.assert_allclose(stats.upper_lower, expected, atol=1e-12)
    assert np.all(stats.p_upper >= stats.p_lower - 0.2)
    permuted = analyse(x[rng.permutation(1000)], np.ones(8), chunk_rows=130)
    np.testing.assert_allclose(permuted.upper_lower, stats.upper_lower, atol=1e-12)


def test_invalid_scores_are_refused_with_the_item() -> None:
    with pytest.raises(ValidationError, match="item 1"):
        Accumulator([1, 2]).add(np.array([[1.0, 3.0]]))
    with pytest.raises(ValidationError, match="item 0: a dichotomous item"):
        Accumulator([1, 2]).add(np.array([[0.5, 1.0], [1.0, 2.0]]))
    with pytest.raises(ValidationError, match="multiples"):
        Accumulator([1, 2]).add(np.array([[1.0, 1.5]]))
    with pytest.raises(ValidationError, match="missing policy"):
        Accumulator([1], missing="skip")  # type: ignore[arg-type]
    half = Accumulator([0.5, 3], score_step=[0.5, 0.5]).add(np.array([[0.5, 1.5], [0.0, 3.0]])).statistics()
    assert half.categories[0].scores.tolist() == [0, 0.5] and half.categories[1].counts.tolist() == [
        0,
        0,
        0,
        1,
        0,
        0,
        1,
    ]
