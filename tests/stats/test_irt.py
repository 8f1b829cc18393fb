"""IRT calibration against mirt's published values, plus properties EM must keep.

Reference numbers come from tests/stats/data/README.md (a copy of the shared data folder; mirt's own tests).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examvault.errors import ValidationError
from examvault.stats.dif import mantel_haenszel
from examvault.stats.irt import eap, fit_2pl, fit_gpcm, fit_irt, fit_rasch, infit_outfit, lord_wingersky, s_x2
from tests.stats.datasets import DATA


def _load(name: str) -> np.ndarray:
    return np.loadtxt(DATA / name, delimiter=",", skiprows=1)


@pytest.fixture(scope="module")
def lsat7() -> tuple[np.ndarray, np.ndarray]:
    table = _load("LSAT7.csv")
    return table[:, :5], table[:, 5]


@pytest.fixture(scope="module")
def lsat7_fit(lsat7: tuple[np.ndarray, np.ndarray]):  # type: ignore[no-untyped-def]
    x, freq = lsat7
    return fit_2pl(x, weights=freq)


def test_lsat7_2pl_matches_mirt(lsat7_fit) -> None:  # type: ignore[no-untyped-def]
    fit = lsat7_fit
    assert fit.converged
    np.testing.assert_allclose(fit.a, [0.988, 1.081, 1.706, 0.7651, 0.7358], atol=0.01)
    np.testing.assert_allclose(fit.d[:, 0], [1.8561, 0.808, 1.8043, 0.486, 1.8545], atol=0.01)
    assert fit.loglik == pytest.approx(-2658.805, abs=0.01)
    np.testing.assert_allclose(fit.b[:, 0], -fit.d[:, 0] / fit.a)
    assert fit.n_persons == 1000


def test_lsat7_standard_errors_agree_with_a_second_numerical_route(lsat7, lsat7_fit) -> None:  # type: ignore[no-untyped-def]
    """The SEs (gradient differences) must match a Hessian from second differences of the log-likelihood itself."""
    x, freq = lsat7
    fit = lsat7_fit
    beta = fit.beta.copy()

    def loglik(item: int, col: int, h: float) -> float:
        from examvault.stats import irt

        b = beta.copy()
        b[item, col] += h
        data = irt._prepare(x, freq)
        z, w = irt.quadrature()
        return irt._e_step(data, b, irt._valid(data.n_cat), z, np.log(w))[0]

    h = 1e-3
    for item in (0, 2):
        second = (loglik(item, 1, h) - 2 * loglik(item, 1, 0.0) + loglik(item, 1, -h)) / h**2
        # the diagonal of the information is a lower bound on 1/SE²; with the full inverse it is SE ≥ 1/√info
        assert fit.se_d[item, 0] >= 1 / np.sqrt(-second) * 0.999
    assert np.all((fit.se_a > 0.05) & (fit.se_a < 0.5))
    assert np.all(np.isfinite(fit.se_b[:, 0]))


def test_lsat7_s_x2_matches_mirt(lsat7, lsat7_fit) -> None:  # type: ignore[no-untyped-def]
    x, freq = lsat7
    fit_stats = s_x2(lsat7_fit, x, freq)
    np.testing.assert_allclose(fit_stats.s_x2, [4.749, 14.451, 1.270, 5.237, 0.941], atol=0.01)
    # 5 items: score groups 1..4, none collapsed, minus 2 item parameters
    assert fit_stats.df.tolist() == [2, 2, 2, 2, 2]
    assert fit_stats.p_value[1] < 0.001 < fit_stats.p_value[0]


def test_lsat6_rasch_matches_mirt() -> None:
    table = _load("LSAT6.csv")
    fit = fit_rasch(table[:, :5], weights=table[:, 5])
    np.testing.assert_allclose(fit.d[:, 0], [2.73, 0.999, 0.24, 1.306, 2.099], atol=0.01)
    assert fit.latent_variance == pytest.approx(0.57, abs=0.01)
    assert np.all(fit.a == 1.0)
    centred = fit.difficulty_centred
    assert centred.mean() == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(centred, -fit.d[:, 0] + fit.d[:, 0].mean())
    assert 0 < fit.se_latent_variance < 0.3
    mean_squares = infit_outfit(fit, table[:, :5], table[:, 5])
    assert np.all((mean_squares.infit > 0.7) & (mean_squares.infit < 1.3))


def test_science_gpcm_converges_monotonically() -> None:
    x = _load("Science.csv") - 1  # scores 1–4 → 0..3
    fit = fit_gpcm(x)
    assert fit.converged
    assert np.all(np.diff(fit.loglik_trace) >= -1e-8 * abs(fit.loglik))
    assert fit.n_categories.tolist() == [4, 4, 4, 4]
    assert np.all(fit.a > 0.3) and np.all(fit.a < 4)
    assert np.all(np.isfinite(fit.d)) and np.all(np.isfinite(fit.se_d))
    # the fitted model reproduces each item's mean score
    theta = fit.quad_points
    probs = fit.category_probabilities(theta)
    model_mean = np.einsum("jkq,k,q->j", probs, np.arange(4), fit.quad_weights)
    np.testing.assert_allclose(model_mean, x.mean(axis=0), atol=0.02)


def test_missing_responses_are_skipped_not_scored_wrong() -> None:
    """Two forms sharing half their items calibrate on one scale; NaN cells are not zeros."""
    rng = np.random.default_rng(3)
    n, j = 3000, 12
    a = rng.uniform(0.8, 1.8, j)
    d = rng.normal(0, 1, j)
    theta = rng.normal(size=n)
    x = (rng.random((n, j)) < 1 / (1 + np.exp(-(theta[:, None] * a + d)))).astype(float)
    x[: n // 2, 9:] = np.nan  # form A lacks items 10–12
    x[n // 2 :, :3] = np.nan  # form B lacks items 1–3
    fit = fit_2pl(x, se=False)
    assert np.abs(fit.a - a).max() < 0.35
    assert np.abs(fit.d[:, 0] - d).max() < 0.25
    theta_hat, sd = eap(fit, x)
    assert np.corrcoef(theta_hat, theta)[0, 1] > 0.8
    assert np.all(sd > 0)


def test_invalid_responses_are_refused_with_the_item() -> None:
    with pytest.raises(ValidationError, match="item 2"):
        fit_2pl(np.array([[0, 0], [1, 0], [1, 0]]))
    with pytest.raises(ValidationError, match="gpcm"):
        fit_2pl(np.array([[0, 2], [1, 1], [1, 0]]))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), model=st.sampled_from(["rasch", "2pl", "gpcm"]), accelerate=st.booleans())
def test_log_likelihood_never_decreases(seed: int, model: str, accelerate: bool) -> None:
    rng = np.random.default_rng(seed)
    n, j = int(rng.integers(40, 200)), int(rng.integers(3, 8))
    top = 1 if model == "2pl" else 2
    theta = rng.normal(size=(n, 1))
    x = np.clip(np.floor(rng.normal(theta + rng.normal(0, 0.5, j), 1.0) + 1), 0, top)
    x[:top + 1, :] = np.arange(top + 1)[:, None]  # every category observed in every item
    x[rng.random(x.shape) < 0.05] = np.nan
    x[: top + 1, :] = np.arange(top + 1)[:, None]
    fit = fit_irt(x, model, se=False, max_iter=300, accelerate=accelerate)  # type: ignore[arg-type]
    trace = fit.loglik_trace
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[:-1]))


@given(st.lists(st.tuples(st.floats(-3, 3), st.integers(1, 3)), min_size=1, max_size=8), st.floats(-3, 3))
def test_lord_wingersky_is_a_distribution_with_the_right_mean(items: list[tuple[float, int]], theta: float) -> None:
    k_max = max(m for _, m in items) + 1
    probs = np.zeros((len(items), k_max, 1))
    for i, (d, m) in enumerate(items):
        eta = np.arange(m + 1) * (theta + d * 0.3) + np.linspace(0, d, m + 1)
        p = np.exp(eta - eta.max())
        probs[i, : m + 1, 0] = p / p.sum()
    f = lord_wingersky(probs)
    assert f.shape == (1, sum(m for _, m in items) + 1)
    assert f.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(f >= 0)
    expected_score = float((probs[:, :, 0] * np.arange(k_max)).sum())
    assert float(f[0] @ np.arange(f.shape[1])) == pytest.approx(expected_score, abs=1e-9)


# ------------------------------------------------------------------------------------
# Mantel–Haenszel DIF
# ------------------------------------------------------------------------------------


def _dif_data(seed: int = 20240601) -> tuple[np.ndarray, np.ndarray]:
    """4000 candidates, 20 Rasch items; the focal group is 0.5 SD weaker, item 7 is 1.2 logits harder for it."""
    rng = np.random.default_rng(seed)
    n, j = 4000, 20
    group = np.where(rng.random(n) < 0.5, "ref", "focal")
    theta = rng.normal(size=n) - 0.5 * (group == "focal")
    b = np.linspace(-1.5, 1.5, j)
    shift = np.zeros((n, j))
    shift[group == "focal", 6] = 1.2
    x = (rng.random((n, j)) < 1 / (1 + np.exp(-(theta[:, None] - b - shift)))).astype(np.int8)
    return x, group


def test_mh_flags_the_dif_item_as_c_and_the_clean_items_as_a() -> None:
    x, group = _dif_data()
    result = mantel_haenszel(x, group, focal="focal")
    assert result.ets_class[6] == "C"
    assert result.direction[6] == "favours reference"
    assert result.d_dif[6] < -1.5
    clean = [c for i, c in enumerate(result.ets_class) if i != 6]
    # every clean item is A here; with 19 items a stray B would be possible but not a C
    assert clean.count("A") >= 18 and "C" not in clean
    assert np.all(np.abs(np.delete(result.d_dif, 6)) < 1.0)
    assert result.n_reference + result.n_focal == 4000
    assert np.all(result.se_d_dif > 0)


def test_mh_without_dif_matches_hand_computed_odds_ratio() -> None:
    # one stratum, so α_MH is the plain odds ratio AD/BC
    x = np.array([[1, 1]] * 30 + [[0, 1]] * 10 + [[1, 1]] * 20 + [[0, 1]] * 20)
    x[:, 1] = 1  # total score = item 1 + 1: strata split by item 1, so use rest-score matching
    group = np.array(["r"] * 40 + ["f"] * 40)
    result = mantel_haenszel(x, group, focal="f", matching="rest")
    assert result.alpha_mh[0] == pytest.approx((30 * 20) / (10 * 20))
    assert result.d_dif[0] == pytest.approx(-2.35 * np.log(3.0))


def test_mh_rejects_missing_and_one_group() -> None:
    x, group = _dif_data()
    with pytest.raises(ValidationError, match="both groups"):
        mantel_haenszel(x, np.full(group.shape, "ref"), focal="focal")
    xf = x.astype(float)
    xf[0, 0] = np.nan
    with pytest.raises(ValidationError, match="complete"):
        mantel_haenszel(xf, group, focal="focal")
