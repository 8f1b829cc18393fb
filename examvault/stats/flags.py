"""Item flags that carry their evidence: a flag fires only when the data are clear about it.

A point estimate past a cut is not enough: with 40 candidates an item's p of 0.97 is compatible
with a true 0.85, and retiring items on noise empties a bank. So a rule fires only when

- the item has at least `min_n` counted responses (default 100), and
- the whole confidence interval (default 95 %) lies beyond the cut:
  - facility of a dichotomous item — Wilson score interval (good near 0 and 1, where the Wald
    interval fails); of a partial-credit item — the normal interval of the mean, mean ± z·sd/√n,
    divided by max_points;
  - correlations — Fisher-z interval, tanh(atanh r ± z/√(n−3));
  - key error (a distractor's point-biserial with the rest score beats the key's) — Zou's (2007)
    interval for the difference of two overlapping dependent correlations (both with the rest
    score), built from their Fisher-z intervals and the correlation of the two choice indicators,
    −√(p_d·p_k / ((1−p_d)(1−p_k))) because a candidate chooses one option;
  - category order (a partial-credit item whose higher category has a lower mean rest score than
    the next lower non-empty category) — the normal interval of the difference of the two means
    (Welch standard error).

  - misfit (an IRT item's infit or outfit mean square outside 0.7–1.3) — mean squares computed
    with estimated abilities are biased low on short papers (about 0.75 on five fitting items), so
    each is first divided by its mean over exams simulated from the fitted model (same candidates,
    same design; `examvault.stats.analysis`), and the interval is that ratio ± z·SD/mean with the
    simulated SD. On a long paper the mean is close to 1 and this is the textbook rule;
  - DIF class C — the ETS rule as `examvault.stats.dif` applies it: |MH D-DIF| ≥ 1.5 and |D|
    significantly above 1 (one-sided, at 1 − confidence), which is the two-sided
    (1 − 2·(1 − confidence)) interval D ± z·SE lying wholly beyond ±1; that interval is recorded.

Rules and defaults (`FlagThresholds`): `too_hard` p < 0.10, `too_easy` p > 0.95,
`low_discrimination` corrected r < 0.20, `negative_discrimination` corrected r < 0 (when it fires
`low_discrimination` is not repeated), `key_error`, `category_order`, `misfit` infit or outfit
MSQ < 0.70 or > 1.30, `dif` ETS class C. Each `Flag` records the rule, the estimate, its interval,
the cut, n, and a message for the custodian.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from examvault.stats.classical import ClassicalStatistics
from examvault.stats.options import OptionStatistics


@dataclass(frozen=True)
class FlagThresholds:
    """The cuts, the evidence a flag needs, and the confidence of its interval."""

    p_low: float = 0.10
    p_high: float = 0.95
    r_rest_low: float = 0.20
    r_rest_negative: float = 0.0
    min_n: int = 100
    confidence: float = 0.95
    msq_low: float = 0.7
    msq_high: float = 1.3

    @property
    def z(self) -> float:
        return NormalDist().inv_cdf(0.5 + self.confidence / 2)


@dataclass(frozen=True)
class Flag:
    """One rule that fired on one item, with the numbers that made it fire."""

    item: int
    rule: str  # too_hard, too_easy, low_discrimination, negative_discrimination, key_error, category_order, misfit, dif
    value: float
    ci: tuple[float, float]
    threshold: float
    n: int
    message: str


def wilson_interval(p: float, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if n <= 0 or not np.isfinite(p):
        return float("nan"), float("nan")
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(centre - half), float(centre + half)


def fisher_interval(r: float, n: int, z: float) -> tuple[float, float]:
    """Fisher-z interval of a correlation; NaN below four cases."""
    if n <= 3 or not np.isfinite(r):
        return float("nan"), float("nan")
    centre = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    half = z / np.sqrt(n - 3)
    return float(np.tanh(centre - half)), float(np.tanh(centre + half))


def overlapping_difference_interval(
    r1: float, r2: float, r12: float, n: int, z: float
) -> tuple[float, float]:
    """Zou (2007) interval of r1 − r2, where r1 = corr(A, B), r2 = corr(A, C), r12 = corr(B, C)."""
    l1, u1 = fisher_interval(r1, n, z)
    l2, u2 = fisher_interval(r2, n, z)
    c = ((r12 - r1 * r2 / 2) * (1 - r1 * r1 - r2 * r2 - r12 * r12) + r12**3) / ((1 - r1 * r1) * (1 - r2 * r2))
    d = r1 - r2
    lower = d - np.sqrt(max((r1 - l1) ** 2 + (u2 - r2) ** 2 - 2 * c * (r1 - l1) * (u2 - r2), 0.0))
    upper = d + np.sqrt(max((u1 - r1) ** 2 + (r2 - l2) ** 2 - 2 * c * (u1 - r1) * (r2 - l2), 0.0))
    return float(lower), float(upper)


def flag_items(
    statistics: ClassicalStatistics,
    options: Sequence[OptionStatistics] | None = None,
    thresholds: FlagThresholds | None = None,
    labels: Sequence[str] | None = None,
) -> list[Flag]:
    """Every flag the evidence supports, item by item in column order.

    `Flag.item` is the column index; `labels` (item codes, one per column) only name the items in
    the messages, which otherwise say "column j".
    """
    cuts = thresholds or FlagThresholds()
    names = list(labels) if labels is not None else [f"column {j}" for j in range(statistics.n_items)]
    z = cuts.z
    flags: list[Flag] = []
    dichotomous = statistics.dichotomous
    for j in range(statistics.n_items):
        n = int(statistics.n[j])
        if n < cuts.min_n:
            continue
        flags.extend(_facility_flags(statistics, j, names[j], n, bool(dichotomous[j]), cuts, z))
        flags.extend(_discrimination_flags(float(statistics.r_rest[j]), j, names[j], n, cuts, z))
        if not dichotomous[j]:
            flags.extend(_category_flags(statistics, j, names[j], n, z))
    for item in options or ():
        if item.n >= cuts.min_n:
            flags.extend(
                _key_error_flags(
                    item, names[item.item] if item.item < len(names) else f"column {item.item}", z
                )
            )
    flags.sort(key=lambda f: f.item)
    return flags


def _facility_flags(
    statistics: ClassicalStatistics,
    j: int,
    name: str,
    n: int,
    dichotomous: bool,
    cuts: FlagThresholds,
    z: float,
) -> list[Flag]:
    p = float(statistics.p[j])
    if not np.isfinite(p):
        return []
    if dichotomous:
        low, high = wilson_interval(p, n, z)
    else:
        half = z * float(statistics.sd[j]) / np.sqrt(n) / float(statistics.max_points[j])
        low, high = p - half, p + half
    if high < cuts.p_low:
        return [
            Flag(
                j,
                "too_hard",
                p,
                (low, high),
                cuts.p_low,
                n,
                f"{name}: p = {p:.3f} (95% CI {low:.3f}–{high:.3f}) is below {cuts.p_low}: too hard",
            )
        ]
    if low > cuts.p_high:
        return [
            Flag(
                j,
                "too_easy",
                p,
                (low, high),
                cuts.p_high,
                n,
                f"{name}: p = {p:.3f} (CI {low:.3f}–{high:.3f}) is above {cuts.p_high}: too easy",
            )
        ]
    return []


def _discrimination_flags(r: float, j: int, name: str, n: int, cuts: FlagThresholds, z: float) -> list[Flag]:
    low, high = fisher_interval(r, n, z)
    if not np.isfinite(high):
        return []
    if high < cuts.r_rest_negative:
        message = f"{name}: corrected item-total r = {r:.3f} (CI {low:.3f}–{high:.3f}) is negative: stronger candidates do worse on it"
        return [Flag(j, "negative_discrimination", r, (low, high), cuts.r_rest_negative, n, message)]
    if high < cuts.r_rest_low:
        message = f"{name}: corrected item-total r = {r:.3f} (CI {low:.3f}–{high:.3f}) is below {cuts.r_rest_low}: it barely discriminates"
        return [Flag(j, "low_discrimination", r, (low, high), cuts.r_rest_low, n, message)]
    return []


def _category_flags(statistics: ClassicalStatistics, j: int, name: str, n: int, z: float) -> list[Flag]:
    categories = statistics.categories[j]
    filled = np.flatnonzero(categories.counts >= 2)
    flags = []
    for a, b in zip(filled[:-1], filled[1:], strict=True):
        difference = float(categories.mean_rest[b] - categories.mean_rest[a])
        se = float(
            np.sqrt(
                categories.sd_rest[a] ** 2 / categories.counts[a]
                + categories.sd_rest[b] ** 2 / categories.counts[b]
            )
        )
        low, high = difference - z * se, difference + z * se
        if high < 0:
            sa, sb = categories.scores[a], categories.scores[b]
            message = (
                f"{name}: candidates scoring {sb:g} have a lower mean rest score than those scoring {sa:g} "
                f"(difference {difference:.2f}, CI {low:.2f}–{high:.2f}): check the marking scheme"
            )
            flags.append(Flag(j, "category_order", difference, (low, high), 0.0, n, message))
    return flags


def _key_error_flags(item: OptionStatistics, name: str, z: float) -> list[Flag]:
    distractor = item.best_distractor()
    keyed = item.key_index
    if distractor is None:
        return []
    r_d, r_k = float(item.r_rest[distractor]), float(item.r_rest[keyed])
    p_d, p_k = float(item.share[distractor]), float(item.share[keyed])
    if not (np.isfinite(r_d) and np.isfinite(r_k) and 0 < p_d < 1 and 0 < p_k < 1) or r_d <= r_k:
        return []
    r_choices = -np.sqrt(p_d * p_k / ((1 - p_d) * (1 - p_k)))
    low, high = overlapping_difference_interval(r_d, r_k, float(r_choices), item.n, z)
    if low <= 0:
        return []
    code = int(item.codes[distractor])
    message = (
        f"{name}: distractor {code} correlates better with the rest score than the key {item.key} "
        f"(r {r_d:.3f} vs {r_k:.3f}, difference CI {low:.3f}–{high:.3f}): check the key"
    )
    return [Flag(item.item, "key_error", r_d - r_k, (low, high), 0.0, item.n, message)]


def misfit_flags(
    items: Sequence[int],
    statistic: str,
    msq: Sequence[float],
    expected: Sequence[float],
    spread: Sequence[float],
    n: Sequence[int],
    thresholds: FlagThresholds | None = None,
    labels: Sequence[str] | None = None,
) -> list[Flag]:
    """`misfit` flags for one mean square (`statistic` "infit" or "outfit") of the IRT-calibrated columns `items`.

    `msq[i]`, its mean `expected[i]` and SD `spread[i]` when the model holds, and the response
    count `n[i]` belong to column `items[i]`. The flag's value is msq/expected, its interval
    value ± z·spread/expected; it fires when n ≥ min_n and the interval lies wholly below
    `msq_low` or above `msq_high`.
    """
    cuts = thresholds or FlagThresholds()
    z = cuts.z
    flags = []
    for i, j in enumerate(items):
        raw, mean, sd, count = float(msq[i]), float(expected[i]), float(spread[i]), int(n[i])
        if count < cuts.min_n or not (np.isfinite(raw) and np.isfinite(sd) and mean > 0):
            continue
        value = raw / mean
        low, high = value - z * sd / mean, value + z * sd / mean
        name = labels[j] if labels is not None else f"column {j}"
        evidence = f"{statistic} mean square {raw:.2f}, {mean:.2f} expected when the model fits: ratio {value:.2f} (CI {low:.2f}–{high:.2f})"
        if low > cuts.msq_high:
            message = f"{name}: {evidence} is above {cuts.msq_high}: responses are noisier than the model expects"
            flags.append(Flag(j, "misfit", value, (low, high), cuts.msq_high, count, message))
        elif high < cuts.msq_low:
            message = f"{name}: {evidence} is below {cuts.msq_low}: responses are more predictable than the model expects"
            flags.append(Flag(j, "misfit", value, (low, high), cuts.msq_low, count, message))
    return flags


DIF_CLASS_C = 1.5  # |MH D-DIF| of ETS class C
_DIF_NEGLIGIBLE = 1.0  # the bound |D| must clear significantly


def dif_flags(
    items: Sequence[int],
    d_dif: Sequence[float],
    se: Sequence[float],
    ets_class: Sequence[str],
    n: int,
    thresholds: FlagThresholds | None = None,
    labels: Sequence[str] | None = None,
) -> list[Flag]:
    """`dif` flags for the columns `items` whose Mantel–Haenszel ETS class is C, with n ≥ min_n candidates.

    The class is decided by `examvault.stats.dif.mantel_haenszel` (run it with
    `alpha = 1 − confidence`); the flag records D ± z·SE with z the one-sided quantile, the
    interval the class-C test is equivalent to (it lies wholly beyond ±1).
    """
    cuts = thresholds or FlagThresholds()
    if n < cuts.min_n:
        return []
    z = NormalDist().inv_cdf(cuts.confidence)
    flags = []
    for i, j in enumerate(items):
        if ets_class[i] != "C":
            continue
        value, spread = float(d_dif[i]), float(se[i])
        low, high = value - z * spread, value + z * spread
        name = labels[j] if labels is not None else f"column {j}"
        side = "harder for the focal group" if value < 0 else "easier for the focal group"
        message = (
            f"{name}: Mantel–Haenszel D-DIF = {value:.2f} (SE {spread:.2f}, interval {low:.2f}–{high:.2f}): ETS class C, "
            f"|D| ≥ {DIF_CLASS_C} and significantly above {_DIF_NEGLIGIBLE}; {side} at equal total score"
        )
        flags.append(Flag(j, "dif", value, (low, high), DIF_CLASS_C if value > 0 else -DIF_CLASS_C, n, message))
    return flags
