"""Option (distractor) analysis on SAT12 and on constructed responses."""

from __future__ import annotations

import numpy as np
import pytest

from examvault.errors import ValidationError
from examvault.stats.classical import analyse, upper_lower_groups
from examvault.stats.flags import flag_items
from examvault.stats.options import analyse_options, score_choices
from tests.stats.datasets import SAT12_KEY, SAT12_MISSING, load


@pytest.fixture(scope="module")
def sat12() -> np.ndarray:
    return load("SAT12").astype(int)


def test_sat12_option_shares_and_correlations(sat12: np.ndarray) -> None:
    options = analyse_options(sat12, SAT12_KEY, missing_code=SAT12_MISSING)
    scores, omitted = score_choices(sat12, SAT12_KEY, missing_code=SAT12_MISSING)
    classical = analyse(scores, np.ones(32), omitted=omitted)
    total = scores.sum(axis=1)
    for j, item in enumerate(options):
        assert item.codes.tolist() == [1, 2, 3, 4, 5]
        assert item.share.sum() + item.omitted_share == pytest.approx(
            1.0
        )  # policy "wrong": omitters are in the set
        k = item.key_index
        # choosing the key is the item score, so its point-biserial with the rest is the item-rest r
        assert item.r_rest[k] == pytest.approx(classical.r_rest[j], abs=1e-12)
        assert item.share[k] == pytest.approx(classical.p[j], abs=1e-12)
        assert item.share_upper[k] == pytest.approx(classical.p_upper[j], abs=1e-12)
        assert item.share_lower[k] == pytest.approx(classical.p_lower[j], abs=1e-12)
        chooser = sat12[:, j] == item.codes[0]
        if chooser.any():
            assert item.mean_total[0] == pytest.approx(total[chooser].mean())
    keyed_best = sum(
        item.best_distractor() is None or item.r_rest[item.best_distractor()] < item.r_rest[item.key_index]
        for item in options
    )
    assert keyed_best >= 30  # a sane key: almost everywhere the key correlates best


def test_sat12_key_error_flags_only_the_doubtful_item(sat12: np.ndarray) -> None:
    """mirt's documentation doubts item 32's key (5; maybe 3). That is the only key error flagged."""
    options = analyse_options(sat12, SAT12_KEY, missing_code=SAT12_MISSING)
    scores, omitted = score_choices(sat12, SAT12_KEY, missing_code=SAT12_MISSING)
    flags = flag_items(
        analyse(scores, np.ones(32), omitted=omitted), options, labels=[f"Item.{j + 1}" for j in range(32)]
    )
    key_errors = [f for f in flags if f.rule == "key_error"]
    assert [f.item for f in key_errors] == [31]
    assert "distractor 3" in key_errors[0].message and key_errors[0].message.startswith("Item.32")
    assert key_errors[0].ci[0] > 0 and key_errors[0].n == 600
    fixed_key = [*SAT12_KEY[:31], 3]
    refixed = analyse_options(sat12, fixed_key, missing_code=SAT12_MISSING)
    fixed_scores, fixed_omitted = score_choices(sat12, fixed_key, missing_code=SAT12_MISSING)
    refixed_flags = flag_items(analyse(fixed_scores, np.ones(32), omitted=fixed_omitted), refixed)
    assert [f for f in refixed_flags if f.rule == "key_error"] == []
    assert refixed[31].r_rest[refixed[31].key_index] > 0.2


def test_pairwise_policy_leaves_omitters_out_of_the_shares(sat12: np.ndarray) -> None:
    options = analyse_options(sat12, SAT12_KEY, missing_code=SAT12_MISSING, missing="pairwise")
    for j, item in enumerate(options):
        answered = (sat12[:, j] != SAT12_MISSING).sum()
        assert item.n == answered and item.n_presented == 600
        assert item.share.sum() == pytest.approx(1.0)


def test_not_presented_and_unknown_codes() -> None:
    responses = np.array([[1, 2], [2, 0], [1, 9], [3, 2], [1, 1]])
    options = analyse_options(responses, [1, 2], missing_code=9, not_presented_code=0)
    assert options[1].n_presented == 4 and options[1].omitted_count == 1 and options[1].n == 4
    assert options[1].counts.tolist() == [1, 2, 0]
    with pytest.raises(ValidationError, match="response code 4"):
        analyse_options(np.array([[4], [1]]), [1], option_codes=[1, 2, 3])
    with pytest.raises(ValidationError, match="key code 7"):
        analyse_options(np.array([[1], [2]]), [7], option_codes=[1, 2, 3])


def test_external_totals_rank_the_groups() -> None:
    responses = np.array([[1], [2], [1], [3], [1], [2]])
    totals = np.array([90.0, 10.0, 80.0, 20.0, 70.0, 50.0])
    item = analyse_options(responses, [1], totals=totals, group_fraction=0.5)[0]
    upper, lower = upper_lower_groups(totals, 0.5)
    assert item.share_upper.tolist() == [1.0, 0.0, 0.0] and upper.sum() == 3
    assert item.share_lower[0] == 0.0 and lower.sum() == 3
    assert item.mean_total.tolist() == [80.0, 30.0, 20.0]
