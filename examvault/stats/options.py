"""Option (distractor) analysis of choice items from the raw responses and the key.

Responses are a candidates × items matrix of integer option codes as recorded (1..5, or the
uint16 codes of `examvault.scoring.objective` for single-choice items), with one code meaning
"omitted" and optionally another meaning "not presented" (the item was not on that candidate's
form). A good distractor is chosen mostly by weaker candidates: its share falls from the lower to
the upper group and its point-biserial against the rest score is negative. A distractor that
correlates better than the key usually means the key is wrong (or the item has two answers).

Per item, over the item's analysis set — the candidates presented with it, minus the omitters
under the `"pairwise"` missing policy; under `"wrong"` an omission is a wrong answer, so shares of
the options plus `omitted_share` sum to 1:

- `share`, and `share_upper`/`share_lower` in the 27 % groups (`classical.upper_lower_groups`,
  ranked by the share of attainable points, fractional weights for ties at the cut);
- `r_rest`: the point-biserial of "chose this option" with the rest score (total minus the item);
- `mean_total`: the mean total score of the option's choosers.

Not mergeable across exams from moments (the groups depend on the whole cohort), so this runs per
exam; it is two bincounts per item per statistic, vectorised over candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from examvault.errors import ValidationError
from examvault.stats.classical import (
    DEFAULT_GROUP_FRACTION,
    MissingPolicy,
    check_missing_policy,
    upper_lower_groups,
)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class OptionStatistics:
    """One choice item's options; arrays run over `codes` (the options, never the omit code)."""

    item: int
    key: int
    codes: NDArray[np.int64]
    n: int  # candidates in the item's analysis set
    n_presented: int
    counts: NDArray[np.int64]
    share: FloatArray
    share_upper: FloatArray
    share_lower: FloatArray
    r_rest: FloatArray  # point-biserial of choosing the option with the rest score
    mean_total: FloatArray  # of the option's choosers; NaN if nobody chose it
    omitted_count: int
    omitted_share: float  # of the candidates presented with the item

    @property
    def key_index(self) -> int:
        return int(np.flatnonzero(self.codes == self.key)[0])

    def best_distractor(self) -> int | None:
        """Index (into `codes`) of the distractor with the highest r_rest; None if none has one."""
        r = np.where(self.codes == self.key, np.nan, self.r_rest)
        return None if np.all(np.isnan(r)) else int(np.nanargmax(r))


def score_choices(
    responses: ArrayLike,
    key: Sequence[int] | ArrayLike,
    *,
    missing_code: int | None = None,
    not_presented_code: int | None = None,
    points: ArrayLike = 1.0,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """(scores, omitted) for `classical.analyse`: `points` if the code is the key, else 0; NaN if not presented."""
    codes = np.asarray(responses)
    answers = np.asarray(key)
    if codes.ndim != 2 or answers.shape != (codes.shape[1],):
        raise ValidationError(
            f"responses {codes.shape} and key {answers.shape} do not match: one key code per item (column)"
        )
    worth = np.broadcast_to(np.asarray(points, dtype=np.float64), answers.shape)
    scores = np.where(codes == answers, worth, 0.0)
    omitted = codes == missing_code if missing_code is not None else np.zeros(codes.shape, dtype=bool)
    if not_presented_code is not None:
        scores[codes == not_presented_code] = np.nan
    return scores, omitted


def analyse_options(
    responses: ArrayLike,
    key: Sequence[int] | ArrayLike,
    *,
    missing_code: int | None = None,
    not_presented_code: int | None = None,
    missing: MissingPolicy = "wrong",
    option_codes: Sequence[int] | None = None,
    points: ArrayLike = 1.0,
    totals: ArrayLike | None = None,
    group_fraction: float = DEFAULT_GROUP_FRACTION,
) -> tuple[OptionStatistics, ...]:
    """Option statistics for every item of the response matrix.

    `option_codes` defaults to every code seen or keyed (other than the omit and not-presented
    codes); a response outside an explicit list is refused. `totals` lets the caller rank and
    correlate against the whole paper's score (subjective items included); by default the total
    is the points earned on these items, and candidates are ranked by its share of the points
    attainable on the items they were presented.
    """
    policy = check_missing_policy(missing)
    codes = np.asarray(responses)
    answers = np.asarray(key).astype(np.int64)
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValidationError("responses must be integer option codes")
    scores, omitted = score_choices(
        codes, answers, missing_code=missing_code, not_presented_code=not_presented_code, points=points
    )
    presented = ~np.isnan(scores)
    earned = np.where(presented, scores, 0.0)
    worth = np.broadcast_to(np.asarray(points, dtype=np.float64), answers.shape)
    if totals is None:
        total = earned.sum(axis=1)
        attainable = presented @ worth
        with np.errstate(divide="ignore", invalid="ignore"):
            rank = np.where(attainable > 0, total / attainable, np.nan)
    else:
        total = np.asarray(totals, dtype=np.float64)
        if total.shape != (codes.shape[0],):
            raise ValidationError(
                f"totals must be one number per candidate ({codes.shape[0]}), got shape {total.shape}"
            )
        rank = total
    upper, lower = upper_lower_groups(rank, group_fraction)
    special = {c for c in (missing_code, not_presented_code) if c is not None}
    options = _option_codes(codes, answers, special, option_codes)
    results = []
    for j in range(codes.shape[1]):
        column = codes[:, j]
        shown = presented[:, j]
        blank = omitted[:, j] & shown
        in_set = shown & ~blank if policy == "pairwise" else shown
        chosen = in_set & ~blank
        index = np.searchsorted(options, column[chosen])
        index = np.minimum(index, options.size - 1)
        if np.any(options[index] != column[chosen]):
            bad = int(column[chosen][options[index] != column[chosen]][0])
            raise ValidationError(
                f"item {j}: response code {bad} is not one of the option codes {options.tolist()}"
            )
        rest = total - earned[:, j]
        results.append(
            _item_options(
                j, int(answers[j]), options, index, chosen, in_set, blank, shown, rest, total, upper, lower
            )
        )
    return tuple(results)


def _option_codes(
    codes: NDArray[np.integer], answers: NDArray[np.int64], special: set[int], given: Sequence[int] | None
) -> NDArray[np.int64]:
    if given is not None:
        options = np.unique(np.asarray(given, dtype=np.int64))
    else:
        seen = np.unique(codes).astype(np.int64)
        options = np.union1d(seen[~np.isin(seen, list(special))], answers)
    missing_keys = answers[~np.isin(answers, options)]
    if missing_keys.size:
        raise ValidationError(
            f"key code {int(missing_keys[0])} is not one of the option codes {options.tolist()}"
        )
    return options


def _item_options(
    item: int,
    key: int,
    options: NDArray[np.int64],
    index: NDArray[np.intp],
    chosen: NDArray[np.bool_],
    in_set: NDArray[np.bool_],
    blank: NDArray[np.bool_],
    shown: NDArray[np.bool_],
    rest: FloatArray,
    total: FloatArray,
    upper: FloatArray,
    lower: FloatArray,
) -> OptionStatistics:
    size = options.size
    n = int(in_set.sum())
    counts = np.bincount(index, minlength=size).astype(np.float64)
    rest_set = rest[in_set]
    sum_rest, sum_rest_sq = rest_set.sum(), (rest_set * rest_set).sum()
    sum_rest_by_option = np.bincount(index, weights=rest[chosen], minlength=size)
    sum_total_by_option = np.bincount(index, weights=total[chosen], minlength=size)
    upper_by_option = np.bincount(index, weights=upper[chosen], minlength=size)
    lower_by_option = np.bincount(index, weights=lower[chosen], minlength=size)
    upper_all, lower_all = upper[in_set].sum(), lower[in_set].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        share = counts / n
        covariance = sum_rest_by_option - counts * sum_rest / n
        spread = (counts - counts * counts / n) * (sum_rest_sq - sum_rest * sum_rest / n)
        r_rest = np.where(spread > 0, covariance / np.sqrt(spread), np.nan)
        mean_total = np.where(counts > 0, sum_total_by_option / counts, np.nan)
        presented = int(shown.sum())
        omitted_count = int(blank.sum())
        return OptionStatistics(
            item=item,
            key=key,
            codes=options.copy(),
            n=n,
            n_presented=presented,
            counts=counts.astype(np.int64),
            share=share,
            share_upper=upper_by_option / upper_all,
            share_lower=lower_by_option / lower_all,
            r_rest=np.clip(r_rest, -1.0, 1.0),
            mean_total=mean_total,
            omitted_count=omitted_count,
            omitted_share=omitted_count / presented if presented else float("nan"),
        )
