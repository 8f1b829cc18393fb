"""Merging accumulators of chunks or exams gives the statistics of the concatenated data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.errors import ValidationError
from examvault.stats.classical import Accumulator, ClassicalStatistics

FIELDS = ("n", "n_presented", "n_omitted", "mean", "sd", "p", "r_total", "r_rest", "alpha_if_deleted")
SCALARS = ("alpha", "sem", "total_mean", "total_sd", "implied_total_sd", "n_candidates")


def assert_same(merged: ClassicalStatistics, joint: ClassicalStatistics) -> None:
    for name in FIELDS:
        np.testing.assert_allclose(
            getattr(merged, name), getattr(joint, name), rtol=1e-9, atol=1e-9, err_msg=name
        )
    for name in SCALARS:
        np.testing.assert_allclose(
            getattr(merged, name), getattr(joint, name), rtol=1e-9, atol=1e-9, err_msg=name
        )
    for a, b in zip(merged.categories, joint.categories, strict=True):
        np.testing.assert_array_equal(a.counts, b.counts)
        np.testing.assert_allclose(a.mean_rest, b.mean_rest, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(a.sd_rest, b.sd_rest, rtol=1e-9, atol=1e-9)


@st.composite
def exams(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int], str]:
    seed = draw(st.integers(0, 2**32 - 1))
    rows = draw(st.integers(4, 300))
    items = draw(st.integers(2, 9))
    rng = np.random.default_rng(seed)
    max_points = rng.choice([1, 1, 2, 4], size=items).astype(float)
    ability = rng.standard_normal(rows)
    chance = 1 / (1 + np.exp(-(ability[:, None] - rng.normal(size=items))))
    scores = rng.binomial(max_points.astype(int), chance).astype(float)
    scores[rng.random((rows, items)) < draw(st.sampled_from([0.0, 0.1, 0.4]))] = np.nan
    omitted = rng.random((rows, items)) < draw(st.sampled_from([0.0, 0.05, 0.3]))
    cuts = sorted(draw(st.lists(st.integers(0, rows), max_size=5)))
    policy = draw(st.sampled_from(["wrong", "pairwise"]))
    return scores, omitted, max_points, cuts, policy


@settings(max_examples=60, deadline=None)
@given(exams())
def test_merged_chunks_equal_the_joint_analysis(
    exam: tuple[np.ndarray, np.ndarray, np.ndarray, list[int], str],
) -> None:
    scores, omitted, max_points, cuts, policy = exam
    joint = Accumulator(max_points, missing=policy).add(scores, omitted).statistics()  # type: ignore[arg-type]
    bounds = [0, *cuts, scores.shape[0]]
    parts = [
        Accumulator(max_points, missing=policy).add(scores[a:b], omitted[a:b])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]  # type: ignore[arg-type]
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    assert_same(merged.statistics(), joint)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(5, 200), st.integers(2, 8))
def test_complete_data_matches_plain_numpy(seed: int, rows: int, items: int) -> None:
    rng = np.random.default_rng(seed)
    max_points = rng.choice([1, 3], size=items).astype(float)
    scores = rng.binomial(max_points.astype(int), rng.random(items), size=(rows, items)).astype(float)
    stats = Accumulator(max_points).add(scores).statistics()
    total = scores.sum(axis=1)
    np.testing.assert_allclose(stats.p, scores.mean(axis=0) / max_points, rtol=1e-12)
    variances = scores.var(axis=0, ddof=1)
    if total.var() > 0:
        alpha = items / (items - 1) * (1 - variances.sum() / total.var(ddof=1))
        assert stats.alpha == pytest.approx(alpha, rel=1e-9, abs=1e-9)
        assert stats.sem == pytest.approx(
            total.std(ddof=1) * np.sqrt(max(0.0, 1 - alpha)), rel=1e-9, abs=1e-9
        )
    for j in range(items):
        rest = total - scores[:, j]
        if scores[:, j].var() > 0 and rest.var() > 0:
            assert stats.r_rest[j] == pytest.approx(np.corrcoef(scores[:, j], rest)[0, 1], abs=1e-9)
        else:
            assert np.isnan(stats.r_rest[j])


def test_exams_of_a_different_item_set_do_not_merge() -> None:
    with pytest.raises(ValidationError, match="different item sets"):
        Accumulator([1, 1]).merge(Accumulator([1, 2]))
    with pytest.raises(ValidationError, match="different item sets"):
        Accumulator([1, 1]).merge(Accumulator([1, 1], missing="pairwise"))
