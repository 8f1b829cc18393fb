"""Classical item statistics from a score matrix, accumulated in chunks and mergeable across exams.

Input. A score matrix, one row per candidate and one column per item, each cell the points the
candidate earned on the item, `0 ≤ score ≤ max_points[item]`. Two different kinds of absence:

- **not presented** — NaN in the matrix. The item was not on the candidate's form (sparse designs:
  forms that share only some items). Such cells are always left out, pairwise: an item's
  statistics are over the candidates who saw it, and a pair of items' covariance over the
  candidates who saw both.
- **omitted** — a True cell in the optional `omitted` mask: the item was presented and the
  candidate left it blank. What happens to it is the `missing` policy:
  - `"wrong"` (default, what the scoring rules do): it scores 0 and counts like any wrong answer;
  - `"pairwise"`: it is left out exactly like a not-presented cell.

The total score `T` of a candidate is the sum of the points they earned on the items they were
presented; omitted items add 0 under either policy. The rest score of item j is `T − x_j`.

Statistics (per item, over the candidates whose cell counts for the item):

- facility `p = mean / max_points` (for a dichotomous item, the proportion correct);
- `r_total`, the item–total Pearson correlation (for 0/1 items the point-biserial), and `r_rest`,
  the corrected (item–rest) correlation, which does not reward an item for correlating with itself;
- Cronbach's alpha over **pairwise covariances**: `alpha = k·c̄ / (v̄ + (k−1)·c̄)` with `v̄` the
  mean item variance and `c̄` the mean covariance over the item pairs seen together by at least
  two candidates. On complete data this is exactly the textbook `k/(k−1)·(1 − Σvᵢ/σ²_T)`, and
  for 0/1 items it is KR-20 (the ddof cancels in the ratio). Pairwise rather than complete cases
  because in a sparse design nobody has all items, and complete cases would discard every omitter;
  a pair never seen together is left out of `c̄` rather than guessed. Alpha-if-item-deleted is the
  same formula without the item;
- SEM `= SD_T × sqrt(1 − alpha)`, where `SD_T² = k·v̄ + k(k−1)·c̄` is the total-score variance
  the covariances imply (the full-length paper). On complete data it is the sample variance of
  the observed totals (ddof 1); in sparse designs observed totals come from forms of different
  length, which is why the implied one is used;
- per score category (0, step, 2·step, … max_points): the count and the mean total and mean rest
  score of the candidates in it; `categories_ordered` is False when the mean rest score of a
  higher category is below that of a lower one (only categories with members are compared);
- the upper–lower (27 %) discrimination index `D = p_upper − p_lower`, only from `analyse`, see
  `upper_lower_groups` for the groups and the handling of ties.

Why raw moments. The `Accumulator` keeps counts, sums, sums of squares and cross-products
(item×item and item×total, masked pairwise) — all additive, so `merge` is addition, chunking is
natural, and one float64 matrix product per chunk does the heavy work. Scores are integers or
multiples of a small step (0.5), so every one of those sums is exact in float64 (below 2⁵³),
whatever the chunking or merge order: merged statistics equal the joint ones to rounding in the
final few divisions. The 27 % index and the option analysis need each candidate's rank in the
whole group, which no fixed set of moments carries, so the accumulator does not offer them: they
are computed per exam by `analyse` and `examvault.stats.options.analyse_options`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from examvault.errors import ValidationError

MissingPolicy = Literal["wrong", "pairwise"]
MISSING_POLICIES: tuple[MissingPolicy, ...] = ("wrong", "pairwise")
DEFAULT_GROUP_FRACTION = 0.27
DEFAULT_CHUNK_ROWS = 32_768
_GRID_TOLERANCE = 1e-9

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CategoryStatistics:
    """One item's score categories: how many candidates earned each score, and how they did overall.

    For a partial-credit item the categories should rise with ability; a category whose members
    have a lower mean rest score than a lower category's members is a marking-scheme problem
    (the rubric rewards the wrong thing, or two 评分要点 are not in order).
    """

    scores: FloatArray  # the category's score: 0, step, 2·step, … max_points
    counts: NDArray[np.int64]
    mean_total: FloatArray  # NaN for an empty category
    mean_rest: FloatArray
    sd_rest: FloatArray  # ddof 1; NaN below two members
    ordered: bool  # mean_rest non-decreasing over the non-empty categories


@dataclass(frozen=True)
class ClassicalStatistics:
    """Classical statistics of one item set. Arrays are per item, in column order; NaN where undefined."""

    missing: MissingPolicy
    max_points: FloatArray
    n_candidates: int  # candidates with at least one counted cell
    n: NDArray[np.int64]  # candidates counted per item (presented, and answered unless policy "wrong")
    n_presented: NDArray[np.int64]
    n_omitted: NDArray[np.int64]
    mean: FloatArray  # mean points
    sd: FloatArray  # ddof 1
    p: FloatArray  # facility, mean / max_points
    r_total: FloatArray
    r_rest: FloatArray
    alpha: float
    alpha_if_deleted: FloatArray
    sem: float
    total_mean: float  # over the observed totals
    total_sd: float  # ddof 1, over the observed totals
    implied_total_sd: float  # from the item covariances; the SD in the SEM
    categories: tuple[CategoryStatistics, ...]
    # 27 % groups, only from `analyse` (None from an Accumulator — see the module docstring)
    group_fraction: float | None = None
    p_upper: FloatArray | None = None
    p_lower: FloatArray | None = None
    upper_lower: FloatArray | None = None  # D = p_upper − p_lower
    n_upper: FloatArray | None = None  # group weight that saw the item (fractional with ties)
    n_lower: FloatArray | None = None

    @property
    def n_items(self) -> int:
        return int(self.max_points.size)

    @property
    def dichotomous(self) -> NDArray[np.bool_]:
        return np.array([c.scores.size == 2 for c in self.categories])


def check_missing_policy(missing: str) -> MissingPolicy:
    if missing not in MISSING_POLICIES:
        raise ValidationError(f"missing policy {missing!r} is not one of {', '.join(MISSING_POLICIES)}")
    return missing  # type: ignore[return-value]


def _score_steps(max_points: FloatArray, score_step: ArrayLike | None) -> FloatArray:
    """Default step: 1 point for an item worth a whole number of points, else the item's points.

    So a 0.5-point 判断 is dichotomous (0 or 0.5) and a 10-point 简答 has categories 0..10. Pass
    `score_step=0.5` when subjective items are marked in half points.
    """
    if score_step is None:
        whole = (max_points >= 1) & (np.abs(max_points - np.rint(max_points)) < _GRID_TOLERANCE)
        return np.where(whole, 1.0, max_points)
    steps = np.broadcast_to(np.asarray(score_step, dtype=np.float64), max_points.shape).copy()
    if np.any(steps <= 0):
        raise ValidationError("score_step must be positive")
    return steps


class Accumulator:
    """Running sufficient statistics of one item set (a paper, or the items several forms share).

    `add` chunks of candidates, `merge` accumulators of other chunks or exams of the same item set,
    then `statistics()`. Merged results equal analysing the concatenated data: everything kept is
    a sum. The 27 % index and option analysis are not mergeable from moments (they need each
    candidate's rank in the combined group), so they are not kept here; use `analyse` per exam.

    State, with `m` the 0/1 "cell counts" mask, `x` the scores with uncounted cells at 0 and `T`
    the totals: `N = mᵀm` (pairwise counts), `S = xᵀm` (`S[i, j]` = sum of item i over those with
    item j), `P = xᵀx`, `mᵀT²`, `xᵀT²`, `ΣT`, `ΣT²`, and, for items with more than two
    categories, per category the count, ΣT and ΣT². Item×total cross-products come for free:
    `xᵀT = P·1` and `mᵀT = 1ᵀS`.
    """

    def __init__(
        self,
        max_points: ArrayLike,
        *,
        missing: MissingPolicy = "wrong",
        score_step: ArrayLike | None = None,
    ) -> None:
        self.max_points: FloatArray = np.atleast_1d(np.asarray(max_points, dtype=np.float64)).copy()
        if self.max_points.ndim != 1 or self.max_points.size == 0:
            raise ValidationError("max_points must be one positive number per item")
        if np.any(~(self.max_points > 0)):
            bad = int(np.flatnonzero(~(self.max_points > 0))[0])
            raise ValidationError(f"item {bad}: max_points must be positive, got {self.max_points[bad]}")
        self.missing = check_missing_policy(missing)
        self.score_step = _score_steps(self.max_points, score_step)
        ratio = self.max_points / self.score_step
        if np.any(np.abs(ratio - np.rint(ratio)) > _GRID_TOLERANCE):
            bad = int(np.flatnonzero(np.abs(ratio - np.rint(ratio)) > _GRID_TOLERANCE)[0])
            raise ValidationError(
                f"item {bad}: max_points {self.max_points[bad]} is not a multiple of the score step {self.score_step[bad]}"
            )
        self.n_categories: NDArray[np.intp] = np.rint(ratio).astype(np.intp) + 1
        self.polytomous: NDArray[np.intp] = np.flatnonzero(self.n_categories > 2)
        counts = self.n_categories[self.polytomous]
        self._category_offsets: NDArray[np.intp] = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
        k = self.max_points.size
        self.n_candidates = 0
        self.sum_total = 0.0
        self.sum_total_sq = 0.0
        self.n_presented = np.zeros(k, dtype=np.int64)
        self.n_omitted = np.zeros(k, dtype=np.int64)
        self.pair_counts = np.zeros((k, k))  # N
        self.pair_sums = np.zeros((k, k))  # S
        self.cross = np.zeros((k, k))  # P
        self.taker_total_sq = np.zeros(k)  # mᵀT²
        self.score_total_sq = np.zeros(k)  # xᵀT²
        n_cells = int(self._category_offsets[-1])
        self.category_count = np.zeros(n_cells)
        self.category_sum_total = np.zeros(n_cells)
        self.category_sum_total_sq = np.zeros(n_cells)

    @property
    def n_items(self) -> int:
        return int(self.max_points.size)

    def add(self, scores: ArrayLike, omitted: ArrayLike | None = None) -> Accumulator:
        """Add a chunk of candidates (rows). Returns self, so calls chain."""
        self._add(*_prepare(scores, omitted, self.max_points, self.missing))
        return self

    def _add(
        self,
        x: FloatArray,
        counted: NDArray[np.bool_] | None,
        presented: NDArray[np.bool_] | None,
        omitted_mask: NDArray[np.bool_] | None,
    ) -> FloatArray:
        """Accumulate a prepared chunk; returns its totals, which `analyse` needs for ranking."""
        self._check_range(x)
        self.n_presented += presented.sum(axis=0) if presented is not None else x.shape[0]
        if omitted_mask is not None:
            self.n_omitted += omitted_mask.sum(axis=0)
        totals = x.sum(axis=1)
        totals_sq = totals * totals
        if counted is None:  # every cell counts: no masked products needed
            rows = x.shape[0]
            column_sums = x.sum(axis=0)
            chunk_cross = x.T @ x
            self.pair_counts += rows
            self.pair_sums += column_sums[:, None]
            self.taker_total_sq += totals_sq.sum()
            self.n_candidates += rows
            self.sum_total += float(totals.sum())
            self.sum_total_sq += float(totals_sq.sum())
        else:
            m = counted.astype(np.float64)
            column_sums = x.sum(axis=0)
            chunk_cross = x.T @ x
            self.pair_counts += m.T @ m
            self.pair_sums += x.T @ m
            self.taker_total_sq += totals_sq @ m
            has_any = counted.any(axis=1)
            self.n_candidates += int(has_any.sum())
            self.sum_total += float(totals[has_any].sum())
            self.sum_total_sq += float(totals_sq[has_any].sum())
        self._check_dichotomous_grid(column_sums, np.diagonal(chunk_cross))
        self.cross += chunk_cross
        self.score_total_sq += totals_sq @ x
        if self.polytomous.size:
            self._add_categories(x, counted, totals)
        return totals

    def merge(self, other: Accumulator) -> Accumulator:
        """Add another accumulator of the same item set into this one (in place). Returns self."""
        if (
            other.max_points.shape != self.max_points.shape
            or np.any(other.max_points != self.max_points)
            or np.any(other.score_step != self.score_step)
            or other.missing != self.missing
        ):
            raise ValidationError(
                "cannot merge accumulators of different item sets (max_points, score_step or missing policy differ)"
            )
        self.n_candidates += other.n_candidates
        self.sum_total += other.sum_total
        self.sum_total_sq += other.sum_total_sq
        for name in (
            "n_presented", "n_omitted", "pair_counts", "pair_sums", "cross", "taker_total_sq", "score_total_sq",
            "category_count", "category_sum_total", "category_sum_total_sq",
        ):  # fmt: skip
            getattr(self, name).__iadd__(getattr(other, name))
        return self

    def _check_range(self, x: FloatArray) -> None:
        if x.shape[0] == 0:
            return
        low, high = x.min(axis=0), x.max(axis=0)
        bad = np.flatnonzero((low < 0) | (high > self.max_points * (1 + _GRID_TOLERANCE)))
        if bad.size:
            j = int(bad[0])
            raise ValidationError(
                f"item {j}: scores must lie in 0..{self.max_points[j]:g}, found {low[j]:g}..{high[j]:g}"
            )

    def _check_dichotomous_grid(self, sums: FloatArray, sums_sq: FloatArray) -> None:
        """0 ≤ x ≤ max makes x² ≤ max·x, with equality only for x ∈ {0, max}: one comparison per item."""
        two = self.n_categories == 2
        gap = self.max_points * sums - sums_sq
        bad = np.flatnonzero(two & (gap > _GRID_TOLERANCE * self.max_points * (sums + 1)))
        if bad.size:
            j = int(bad[0])
            raise ValidationError(
                f"item {j}: a dichotomous item scores 0 or {self.max_points[j]:g}; found other scores"
            )

    def _add_categories(self, x: FloatArray, counted: NDArray[np.bool_] | None, totals: FloatArray) -> None:
        poly = self.polytomous
        ratio = x[:, poly] / self.score_step[poly]
        category = np.rint(ratio)
        valid = np.ones(ratio.shape, dtype=bool) if counted is None else counted[:, poly]
        off_grid = valid & (np.abs(ratio - category) > _GRID_TOLERANCE)
        if off_grid.any():
            j = int(poly[np.flatnonzero(off_grid.any(axis=0))[0]])
            raise ValidationError(
                f"item {j}: scores must be multiples of {self.score_step[j]:g} (set score_step for finer marking)"
            )
        cells = category.astype(np.intp) + self._category_offsets[:-1]
        weights = np.broadcast_to(totals[:, None], cells.shape)
        cells, weights = cells[valid], weights[valid]
        size = self.category_count.size
        self.category_count += np.bincount(cells, minlength=size)
        self.category_sum_total += np.bincount(cells, weights=weights, minlength=size)
        self.category_sum_total_sq += np.bincount(cells, weights=weights * weights, minlength=size)

    def statistics(self) -> ClassicalStatistics:
        """The statistics of everything added and merged so far."""
        n_pair, s_pair, cross = self.pair_counts, self.pair_sums, self.cross
        n = np.diagonal(n_pair).copy()
        sums = np.diagonal(s_pair).copy()
        sums_sq = np.diagonal(cross).copy()
        sum_score_total = cross.sum(axis=1)  # xᵀT
        sum_taker_total = s_pair.sum(axis=0)  # mᵀT
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = sums / n
            var = _centred(n, sums, sums, sums_sq) / (n - 1)
            sd = np.sqrt(var)
            r_total = _correlation(n, sums, sum_taker_total, sums_sq, self.taker_total_sq, sum_score_total)
            rest_sum = sum_taker_total - sums
            rest_sq = self.taker_total_sq - 2 * sum_score_total + sums_sq
            r_rest = _correlation(n, sums, rest_sum, sums_sq, rest_sq, sum_score_total - sums_sq)
            cov = (cross - s_pair * s_pair.T / n_pair) / (n_pair - 1)
        alpha, alpha_if_deleted, implied_var = _alpha(cov, var, n_pair)
        sem = (
            float(np.sqrt(implied_var) * np.sqrt(max(0.0, 1 - alpha))) if np.isfinite(alpha) and implied_var >= 0 else float("nan")
        )
        total_mean, total_sd = _mean_sd(self.n_candidates, self.sum_total, self.sum_total_sq)
        return ClassicalStatistics(
            missing=self.missing,
            max_points=self.max_points.copy(),
            n_candidates=self.n_candidates,
            n=np.rint(n).astype(np.int64),
            n_presented=self.n_presented.copy(),
            n_omitted=self.n_omitted.copy(),
            mean=mean,
            sd=sd,
            p=mean / self.max_points,
            r_total=r_total,
            r_rest=r_rest,
            alpha=alpha,
            alpha_if_deleted=alpha_if_deleted,
            sem=sem,
            total_mean=total_mean,
            total_sd=total_sd,
            implied_total_sd=float(np.sqrt(implied_var)) if implied_var >= 0 else float("nan"),
            categories=tuple(self._categories(n, sums, sum_taker_total, sum_score_total)),
        )

    def _categories(
        self, n: FloatArray, sums: FloatArray, sum_taker_total: FloatArray, sum_score_total: FloatArray
    ) -> Iterator[CategoryStatistics]:
        """Dichotomous items' two categories follow from the moments; the others were counted."""
        where = {int(j): i for i, j in enumerate(self.polytomous)}
        for j in range(self.n_items):
            step = self.score_step[j]
            scores = np.arange(self.n_categories[j]) * step
            if j in where:
                cells = slice(self._category_offsets[where[j]], self._category_offsets[where[j] + 1])
                count = self.category_count[cells]
                sum_t, sum_t2 = self.category_sum_total[cells], self.category_sum_total_sq[cells]
            else:
                top = self.max_points[j]
                right = sums[j] / top
                count = np.array([n[j] - right, right])
                right_t, right_t2 = sum_score_total[j] / top, self.score_total_sq[j] / top
                sum_t = np.array([sum_taker_total[j] - right_t, right_t])
                sum_t2 = np.array([self.taker_total_sq[j] - right_t2, right_t2])
            yield _category_statistics(scores, count, sum_t, sum_t2)


def _category_statistics(
    scores: FloatArray, count: FloatArray, sum_t: FloatArray, sum_t2: FloatArray
) -> CategoryStatistics:
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_total = sum_t / count
        mean_rest = mean_total - scores
        sum_r = sum_t - count * scores
        sum_r2 = sum_t2 - 2 * scores * sum_t + count * scores * scores
        sd_rest = np.sqrt(np.maximum(sum_r2 - sum_r * sum_r / count, 0) / (count - 1))
    sd_rest = np.where(count >= 2, sd_rest, np.nan)
    filled = mean_rest[count > 0]
    return CategoryStatistics(
        scores=scores,
        counts=np.rint(count).astype(np.int64),
        mean_total=np.where(count > 0, mean_total, np.nan),
        mean_rest=np.where(count > 0, mean_rest, np.nan),
        sd_rest=sd_rest,
        ordered=bool(np.all(np.diff(filled) >= -1e-12)),
    )


def _centred(n: FloatArray, sx: FloatArray, sy: FloatArray, sxy: FloatArray) -> FloatArray:
    return sxy - sx * sy / n


def _correlation(
    n: FloatArray, sx: FloatArray, sy: FloatArray, sxx: FloatArray, syy: FloatArray, sxy: FloatArray
) -> FloatArray:
    """Pearson r from raw sums; NaN when either variable is constant or fewer than two cases."""
    with np.errstate(divide="ignore", invalid="ignore"):
        vx, vy = _centred(n, sx, sx, sxx), _centred(n, sy, sy, syy)
        ok = (n >= 2) & (vx > 1e-12 * np.abs(sxx)) & (vy > 1e-12 * np.abs(syy))
        r = _centred(n, sx, sy, sxy) / np.sqrt(vx * vy)
    return np.where(ok, np.clip(r, -1.0, 1.0), np.nan)


def _alpha(cov: FloatArray, var: FloatArray, n_pair: FloatArray) -> tuple[float, FloatArray, float]:
    """Alpha as k·c̄/(v̄ + (k−1)c̄) over defined pairs; the same without each item; the implied total variance."""
    k = var.size
    defined = (n_pair >= 2) & np.isfinite(cov)
    np.fill_diagonal(defined, False)
    c = np.where(defined, cov, 0.0)
    pair_sum, pair_count = c.sum(), defined.sum()
    row_sum, row_count = c.sum(axis=1), defined.sum(axis=1)
    var_sum = var.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = _alpha_formula(k, var_sum / k, pair_sum / pair_count)
        dropped = _alpha_formula(
            k - 1, (var_sum - var) / (k - 1), (pair_sum - 2 * row_sum) / (pair_count - 2 * row_count)
        )
        implied = var_sum + k * (k - 1) * pair_sum / pair_count if pair_count else var_sum
    if k < 2:
        return float("nan"), np.full(k, np.nan), float(implied)
    return float(alpha), np.asarray(dropped, dtype=np.float64), float(implied)


def _alpha_formula(k: int, mean_var: FloatArray | float, mean_cov: FloatArray | float) -> FloatArray:
    value = np.asarray(k * mean_cov / (mean_var + (k - 1) * mean_cov), dtype=np.float64)
    return value if k >= 2 else np.full(value.shape, np.nan)


def _mean_sd(n: int, total: float, total_sq: float) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    mean = total / n
    sd = float(np.sqrt(max(total_sq - total * total / n, 0.0) / (n - 1))) if n >= 2 else float("nan")
    return mean, sd


def _prepare(
    scores: ArrayLike, omitted: ArrayLike | None, max_points: FloatArray, missing: MissingPolicy
) -> tuple[FloatArray, NDArray[np.bool_] | None, NDArray[np.bool_] | None, NDArray[np.bool_] | None]:
    """(x with uncounted cells at 0, counted mask or None if all count, presented or None if all, omitted mask or None)."""
    raw = np.asarray(scores)
    if raw.ndim != 2 or raw.shape[1] != max_points.size:
        raise ValidationError(
            f"scores must be a candidates × {max_points.size} matrix, got shape {raw.shape}"
        )
    x = raw.astype(np.float64, copy=True)
    presented: NDArray[np.bool_] | None = None
    if np.issubdtype(raw.dtype, np.floating):
        not_presented = np.isnan(x)
        if not_presented.any():
            presented = ~not_presented
            x[not_presented] = 0.0
    omitted_mask: NDArray[np.bool_] | None = None
    if omitted is not None:
        omitted_mask = np.asarray(omitted, dtype=bool)
        if omitted_mask.shape != x.shape:
            raise ValidationError(f"omitted mask has shape {omitted_mask.shape}, scores {x.shape}")
        if presented is not None:
            omitted_mask = omitted_mask & presented
        x[omitted_mask] = 0.0
        if not omitted_mask.any():
            omitted_mask = None
    counted = presented
    if missing == "pairwise" and omitted_mask is not None:
        counted = ~omitted_mask if presented is None else presented & ~omitted_mask
    return x, counted, presented, omitted_mask


def _chunks(rows: int, chunk_rows: int) -> Iterator[slice]:
    for start in range(0, rows, chunk_rows):
        yield slice(start, min(start + chunk_rows, rows))


def upper_lower_groups(
    rank_score: ArrayLike, fraction: float = DEFAULT_GROUP_FRACTION
) -> tuple[FloatArray, FloatArray]:
    """Weights (0..1) of each candidate in the upper and lower groups; NaN rank scores are in neither.

    Each group holds exactly `fraction × n` of weight (no rounding of the group size). Candidates
    above the upper cut count fully; those tied *at* the cut share the remaining weight equally.
    So ties are handled deterministically and independently of row order — rank by row position
    would make D depend on how the exam file happened to be sorted — and a tie never pushes the
    group above its size. Same for the lower group from the bottom.
    """
    if not 0 < fraction <= 0.5:
        raise ValidationError(f"group fraction must be in (0, 0.5], got {fraction}")
    score = np.asarray(rank_score, dtype=np.float64)
    valid = ~np.isnan(score)
    ordered = np.sort(score[valid])
    n = ordered.size
    upper, lower = np.zeros(score.shape), np.zeros(score.shape)
    if n == 0:
        return upper, lower
    size = fraction * n
    for weights, cut_index, beyond in (
        (upper, n - int(np.ceil(size)), np.greater),
        (lower, int(np.ceil(size)) - 1, np.less),
    ):
        cut = ordered[cut_index]
        strictly = valid & beyond(score, cut)
        tied = valid & (score == cut)
        weights[strictly] = 1.0
        weights[tied] = (size - strictly.sum()) / tied.sum()
    return upper, lower


def analyse(
    scores: ArrayLike,
    max_points: ArrayLike,
    *,
    omitted: ArrayLike | None = None,
    missing: MissingPolicy = "wrong",
    score_step: ArrayLike | None = None,
    group_fraction: float = DEFAULT_GROUP_FRACTION,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ClassicalStatistics:
    """All classical statistics of one exam's score matrix, including the 27 % index, in chunks.

    Two passes over the rows: the first accumulates the moments and keeps each candidate's total
    and attainable score (8 bytes × 2 per candidate), the second sums the items over the upper and
    lower groups. Candidates are ranked by the *share* of the points attainable on the items they
    were presented (omitted ones included), which on a single form orders them exactly as the raw
    total does and in a sparse design keeps candidates of a longer form from crowding the upper
    group. Integer score matrices (uint8) are accepted and converted per chunk, which keeps memory
    at the size of the input plus a chunk.
    """
    accumulator = Accumulator(max_points, missing=missing, score_step=score_step)
    top = accumulator.max_points
    matrix = np.asarray(scores)
    omitted_all = None if omitted is None else np.asarray(omitted, dtype=bool)
    if matrix.ndim != 2:
        raise ValidationError(f"scores must be a candidates × items matrix, got shape {matrix.shape}")
    rows = matrix.shape[0]
    rank = np.full(rows, np.nan)
    for part in _chunks(rows, chunk_rows):
        omitted_part = None if omitted_all is None else omitted_all[part]
        prepared = _prepare(matrix[part], omitted_part, top, missing)
        totals = accumulator._add(*prepared)
        presented = prepared[2]
        attainable = presented @ top if presented is not None else np.full(totals.size, top.sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            rank[part] = np.where(attainable > 0, totals / attainable, np.nan)
    statistics = accumulator.statistics()
    upper, lower = upper_lower_groups(rank, group_fraction)
    k = top.size
    upper_points, lower_points, upper_weight, lower_weight = (
        np.zeros(k),
        np.zeros(k),
        np.zeros(k),
        np.zeros(k),
    )
    for part in _chunks(rows, chunk_rows):
        omitted_part = None if omitted_all is None else omitted_all[part]
        x, counted, _, _ = _prepare(matrix[part], omitted_part, top, missing)
        upper_points += upper[part] @ x
        lower_points += lower[part] @ x
        if counted is None:
            upper_weight += upper[part].sum()
            lower_weight += lower[part].sum()
        else:
            upper_weight += upper[part] @ counted
            lower_weight += lower[part] @ counted
    with np.errstate(divide="ignore", invalid="ignore"):
        p_upper = upper_points / upper_weight / top
        p_lower = lower_points / lower_weight / top
    return replace(
        statistics,
        group_fraction=group_fraction,
        p_upper=p_upper,
        p_lower=p_lower,
        upper_lower=p_upper - p_lower,
        n_upper=upper_weight,
        n_lower=lower_weight,
    )


def expand_patterns(patterns: ArrayLike, frequencies: Sequence[int] | ArrayLike) -> NDArray[np.float64]:
    """Rows of a response-pattern table repeated by their frequency (LSAT-style data)."""
    return np.repeat(np.asarray(patterns, dtype=np.float64), np.asarray(frequencies, dtype=np.intp), axis=0)
