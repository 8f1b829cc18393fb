"""Per-examiner marking-quality metrics from blind double marking (双评), for the supervisor (督导员).

Subjective answers are marked twice, blind, by two examiners (考评员); when the two marks
are too far apart a third examiner or the group leader arbitrates (仲裁). Comparing each
examiner with whoever marked the same script item shows bias and disagreement without
any "true" score: the other marker is the reference, and over many pairs the reference's
own error averages out. Pure: marks in, metrics out; nothing is read or written.

Definitions (scores are taken as a share of the item's max points, so items of
different size weigh alike):

- *pair*: a mark whose (script, item) carries at least one other marker's mark.
  The first two marks of a (script, item) — in the order given, which callers keep as
  the order of marking — are compared with each other. Any later mark (the third mark
  of an arbitration, a leader's decision) is compared with the mean of the first two;
  it never changes the first two markers' numbers. So an arbitrator is measured against
  the pair it settled, and the pair is not measured against its arbitrator.
- ``mean_diff``: mean of (own - other) / max_points over the examiner's pairs. Above 0
  the examiner is lenient (给分偏松), below 0 severe (给分偏严). For two examiners who
  share exactly the same pairs the two values are exact negatives.
- ``mean_abs_diff``: mean of |own - other| / max_points. It rises with bias and with
  erratic marking alike, so a strongly lenient or severe examiner usually also shows
  "disagreement".
- ``arbitration_rate``: share of the examiner's first-round pairs (as one of the first two
  markers) whose (script, item) was arbitrated — a (script, item) counts as arbitrated
  when any of its marks says so. The arbitrator's own marks are left out: every one of
  them is arbitrated by definition and says nothing about the arbitrator. None when the
  examiner only arbitrated.
- ``median_seconds``: per script, the sum of the examiner's seconds over the items they
  marked on it; then the median over scripts. A script where any of the examiner's marks
  has no time is left out rather than counted short, since a short sum would look fast.

Flags are raised only for examiners with at least ``min_pairs`` pairs (for
"arbitration_rate": first-round pairs), and the z-scores compare only those examiners
with each other: a handful of pairs says too little to accuse anyone, and lets no
newcomer drag the reference. The robust z is (x - median) / scale with scale =
MAD x 1.4826; when the MAD is 0 (most examiners identical) the mean absolute deviation
from the median x 1.2533 is used, and when that is 0 too nobody is an outlier and no
z-flag is raised. Each flag's ``cut`` is in the same unit as its ``value``: the value
beyond which the rule fires.

- "lenient" / "severe": robust z of mean_diff beyond +z / -z, or |mean_diff| above
  ``bias_share`` (an absolute limit that holds even when a whole cohort drifts).
- "disagreement": robust z of mean_abs_diff above +z.
- "arbitration_rate": arbitration_rate above ``thresholds.arbitration_rate``.
- "speed": robust z of median_seconds below -z (suspiciously fast); slow is not flagged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from examvault.errors import Issue, ValidationError

RULES = ("lenient", "severe", "disagreement", "arbitration_rate", "speed")

Flag = dict[str, str | float]

_MAD_TO_SD = 1.4826  # MAD of a normal sample x this estimates its standard deviation
_MEAN_AD_TO_SD = 1.2533  # sqrt(pi/2): the same for the mean absolute deviation
# A scale this small against the values is rounding noise, not spread: treat it as 0, or
# examiners whose metrics differ only in the last bit would be "outliers".
_REL_EPS = 1e-9
_SOURCE = "marks"


@dataclass(frozen=True)
class Mark:
    script: str  # coded script id (密封号)
    item: str  # item / position id
    marker: str  # staff code
    score: float
    max_points: float
    seconds: float | None = None  # time spent on this mark, if known
    arbitrated: bool = False  # True if this (script, item) needed a third mark / leader decision


@dataclass(frozen=True)
class Thresholds:
    min_pairs: int = 20  # fewer double-marked pairs: metrics reported, never flagged
    z: float = 2.5  # robust z (median/MAD*1.4826) cut across examiners
    bias_share: float = 0.10  # |mean signed diff| / max_points beyond this is flagged regardless of z
    arbitration_rate: float = 0.15  # flag if the examiner's arbitration rate exceeds this
    # A z flag on a bias or disagreement smaller than this share of the points is noise a supervisor
    # cannot act on: in a simulated cohort of 200 sound examiners, z alone flagged 7.
    min_effect: float = 0.03

    def __post_init__(self) -> None:
        """Refuse settings that would silently flag everyone or no one."""
        problems = []
        if isinstance(self.min_pairs, bool) or not isinstance(self.min_pairs, int) or self.min_pairs < 1:
            problems.append(f"min_pairs must be a whole number ≥ 1, not {self.min_pairs!r}")
        if not (math.isfinite(self.z) and self.z > 0):
            problems.append(f"z must be > 0, not {self.z!r}")
        if not (math.isfinite(self.bias_share) and self.bias_share > 0):
            problems.append(f"bias_share must be > 0, not {self.bias_share!r}")
        if not (math.isfinite(self.min_effect) and self.min_effect >= 0):
            problems.append(f"min_effect must be ≥ 0, not {self.min_effect!r}")
        if not (math.isfinite(self.arbitration_rate) and 0 <= self.arbitration_rate <= 1):
            problems.append(f"arbitration_rate must be between 0 and 1, not {self.arbitration_rate!r}")
        if problems:
            raise ValidationError("thresholds: " + "; ".join(problems))


@dataclass
class ExaminerMetrics:
    marker: str
    marks: int
    pairs: int  # marks of this examiner whose (script, item) has another marker's mark
    mean_diff: float | None  # mean of (own - other) / max_points over pairs (>0 lenient, <0 severe)
    mean_abs_diff: float | None  # mean |own - other| / max_points
    arbitration_rate: float | None  # share of own first-round pairs that were arbitrated
    median_seconds: float | None  # median over scripts of the seconds summed per script
    flags: list[Flag] = field(default_factory=list)  # {"rule", "value", "cut", "message"}


def examiner_metrics(marks: Iterable[Mark], thresholds: Thresholds = Thresholds()) -> list[ExaminerMetrics]:
    """Metrics and flags for every examiner in `marks`, sorted by staff code.

    The result depends on the order of `marks` only through the order of marks within
    one (script, item), which decides who is a first marker and who arbitrated; any other
    reordering gives identical numbers, bit for bit, because the sums run in a canonical order.
    """
    ms = list(marks)
    if not ms:
        return []
    scripts, s_code = _encode([m.script for m in ms])
    items, i_code = _encode([m.item for m in ms])
    markers, k_code = _encode([m.marker for m in ms])
    score = np.array([m.score for m in ms], dtype=float)
    max_points = np.array([m.max_points for m in ms], dtype=float)
    timed = np.array([m.seconds is not None for m in ms], dtype=bool)
    seconds = np.array([0.0 if m.seconds is None else m.seconds for m in ms], dtype=float)
    arbitrated = np.array([bool(m.arbitrated) for m in ms], dtype=bool)
    group = np.unique(s_code * len(items) + i_code, return_inverse=True)[1].reshape(-1)

    _validate(ms, group, k_code, score, max_points, timed, seconds)

    n = len(ms)
    sizes = np.bincount(group)
    order = np.argsort(group, kind="stable")  # within a group: the order given
    starts = np.cumsum(sizes) - sizes
    pos = np.empty(n, dtype=np.intp)
    pos[order] = np.arange(n) - starts[group[order]]

    # max_points agrees within a script item (validated), so share - other share is (own - other) / max_points.
    share = score / max_points
    first = np.full(len(sizes), np.nan)
    second = np.full(len(sizes), np.nan)
    first[group[pos == 0]] = share[pos == 0]
    second[group[pos == 1]] = share[pos == 1]
    paired = sizes[group] >= 2
    other = np.where(pos == 0, second[group], np.where(pos == 1, first[group], (first[group] + second[group]) / 2))
    diff = np.where(paired, share - other, 0.0)
    first_round = paired & (pos < 2)
    group_arbitrated = np.bincount(group, weights=arbitrated.astype(float)) > 0
    was_arbitrated = group_arbitrated[group]

    # Canonical order (marker, then script item) so every sum below is independent of input order.
    canon = np.lexsort((group, k_code))
    k = k_code[canon]
    diff, paired, first_round, was_arbitrated = diff[canon], paired[canon], first_round[canon], was_arbitrated[canon]
    s, timed, seconds = s_code[canon], timed[canon], seconds[canon]

    n_k = len(markers)
    n_marks = np.bincount(k, minlength=n_k)
    n_pairs = np.bincount(k[paired], minlength=n_k)
    sum_diff = np.bincount(k[paired], weights=diff[paired], minlength=n_k)
    sum_abs = np.bincount(k[paired], weights=np.abs(diff[paired]), minlength=n_k)
    n_first = np.bincount(k[first_round], minlength=n_k)
    n_arbitrated = np.bincount(k[first_round & was_arbitrated], minlength=n_k)
    medians = _median_script_seconds(k, s, len(scripts), timed, seconds, n_k)

    result = []
    for j in range(n_k):
        p = int(n_pairs[j])
        result.append(ExaminerMetrics(
            marker=str(markers[j]),
            marks=int(n_marks[j]),
            pairs=p,
            mean_diff=float(sum_diff[j] / p) if p else None,
            mean_abs_diff=float(sum_abs[j] / p) if p else None,
            arbitration_rate=float(n_arbitrated[j] / n_first[j]) if n_first[j] else None,
            median_seconds=medians[j],
            flags=[],
        ))  # fmt: skip
    eligible = [e for e in result if e.pairs >= thresholds.min_pairs]
    first_round_pairs = {str(markers[j]): int(n_first[j]) for j in range(n_k)}
    _flag(eligible, first_round_pairs, thresholds)
    return result


def to_json(m: ExaminerMetrics) -> dict[str, object]:
    """Plain types only, rounded to 4 places: what a report or the HTTP API can emit as is."""
    return {
        "marker": m.marker,
        "marks": int(m.marks),
        "pairs": int(m.pairs),
        "mean_diff": _round(m.mean_diff),
        "mean_abs_diff": _round(m.mean_abs_diff),
        "arbitration_rate": _round(m.arbitration_rate),
        "median_seconds": _round(m.median_seconds),
        "flags": [
            {key: _round(v) if isinstance(v, float) else v for key, v in flag.items()} for flag in m.flags
        ],
    }


# ---------------------------------------------------------------- internals


def _encode(values: list[str]) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    """Sorted distinct values and each value's index: codes that do not depend on input order."""
    uniq, inverse = np.unique(np.array(values, dtype=object), return_inverse=True)
    return uniq, inverse.reshape(-1)


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _where(m: Mark) -> str:
    return f"script {m.script}, item {m.item}, marker {m.marker}"


def _validate(
    ms: list[Mark],
    group: NDArray[np.intp],
    k_code: NDArray[np.intp],
    score: NDArray[np.float64],
    max_points: NDArray[np.float64],
    timed: NDArray[np.bool_],
    seconds: NDArray[np.float64],
) -> None:
    """Collect every bad mark before raising, so one correction round fixes the whole batch."""
    issues: list[Issue] = []
    with np.errstate(invalid="ignore"):
        bad_max = ~(np.isfinite(max_points) & (max_points > 0))
        bad_score = ~bad_max & ~(np.isfinite(score) & (score >= 0) & (score <= max_points))
        bad_seconds = timed & ~(np.isfinite(seconds) & (seconds >= 0))
    for i in np.flatnonzero(bad_max):
        issues.append(Issue(_SOURCE, _where(ms[i]), "max_points", f"max_points {ms[i].max_points!r} is not > 0"))
    for i in np.flatnonzero(bad_score):
        m = ms[i]
        issues.append(Issue(_SOURCE, _where(m), "score", f"score {m.score!r} is outside 0..{m.max_points!r}"))
    for i in np.flatnonzero(bad_seconds):
        issues.append(Issue(_SOURCE, _where(ms[i]), "seconds", f"seconds {ms[i].seconds!r} is not ≥ 0"))

    # The same marker twice on one script item would pair the marker with itself.
    key = group * (int(k_code.max()) + 1) + k_code
    _, first_index, counts = np.unique(key, return_index=True, return_counts=True)
    for i, c in zip(first_index[counts > 1], counts[counts > 1], strict=True):
        issues.append(Issue(
            _SOURCE, _where(ms[i]), "", f"marked {int(c)} times; a marker marks a script item once",
        ))  # fmt: skip

    # Different max_points within one script item would make the two shares incomparable.
    ok = ~bad_max
    if ok.any():
        hi = np.full(int(group.max()) + 1, -np.inf)
        lo = np.full(int(group.max()) + 1, np.inf)
        np.maximum.at(hi, group[ok], max_points[ok])
        np.minimum.at(lo, group[ok], max_points[ok])
        for g in np.flatnonzero(hi > lo):
            members = [ms[i] for i in np.flatnonzero(group == g)]
            listed = ", ".join(f"{m.marker} {m.max_points!r}" for m in members)
            where = f"script {members[0].script}, item {members[0].item}, markers {', '.join(m.marker for m in members)}"
            issues.append(Issue(_SOURCE, where, "max_points", f"markers disagree on max_points: {listed}"))
    if issues:
        raise ValidationError(issues, outcome="no metrics were computed")


def _median_script_seconds(
    k: NDArray[np.intp],
    s: NDArray[np.intp],
    n_scripts: int,
    timed: NDArray[np.bool_],
    seconds: NDArray[np.float64],
    n_k: int,
) -> list[float | None]:
    key = k * n_scripts + s
    uniq, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    total = np.bincount(inverse, weights=np.where(timed, seconds, 0.0))
    complete = np.bincount(inverse, weights=(~timed).astype(float)) == 0
    owner = uniq // n_scripts  # sorted marker-major, so each marker's scripts are one slice
    bounds = np.searchsorted(owner, np.arange(n_k + 1))
    out: list[float | None] = []
    for j in range(n_k):
        sl = slice(bounds[j], bounds[j + 1])
        vals = total[sl][complete[sl]]
        out.append(float(np.median(vals)) if len(vals) else None)
    return out


def _robust(values: list[float]) -> tuple[float, float] | None:
    """(centre, scale) of the robust z, or None when the examiners do not spread at all."""
    if not values:
        return None
    x = np.array(values, dtype=float)
    centre = float(np.median(x))
    dev = np.abs(x - centre)
    floor = _REL_EPS * max(1.0, abs(centre))
    scale = float(np.median(dev)) * _MAD_TO_SD
    if scale <= floor:
        scale = float(np.mean(dev)) * _MEAN_AD_TO_SD
    return (centre, scale) if scale > floor else None


def _flag(eligible: list[ExaminerMetrics], first_round_pairs: dict[str, int], t: Thresholds) -> None:
    n = len(eligible)

    def z_text(value: float, robust: tuple[float, float] | None) -> str:
        if robust is None:
            return "no spread among examiners to score a z"
        return f"robust z {(value - robust[0]) / robust[1]:+.1f} against {n} examiners"

    bias = _robust([e.mean_diff for e in eligible if e.mean_diff is not None])
    spread = _robust([e.mean_abs_diff for e in eligible if e.mean_abs_diff is not None])
    speed = _robust([e.median_seconds for e in eligible if e.median_seconds is not None])
    # "lenient" fires when either test does: beyond the z cut or beyond bias_share. Either
    # test firing is the same as passing the nearer of the two cuts, so that one is reported.
    # The z cut is never nearer to zero than min_effect.
    lenient_cut = t.bias_share if bias is None else min(t.bias_share, max(bias[0] + t.z * bias[1], t.min_effect))
    severe_cut = -t.bias_share if bias is None else max(-t.bias_share, min(bias[0] - t.z * bias[1], -t.min_effect))

    for e in eligible:
        if e.mean_diff is not None:
            md = e.mean_diff
            if md > lenient_cut:
                e.flags.append(_make(
                    "lenient", md, lenient_cut,
                    f"marks {md:+.1%} of max points above the other marker on average "
                    f"(cut {lenient_cut:+.1%}; {z_text(md, bias)}; absolute limit ±{t.bias_share:.0%})",
                ))  # fmt: skip
            if md < severe_cut:
                e.flags.append(_make(
                    "severe", md, severe_cut,
                    f"marks {md:+.1%} of max points below the other marker on average "
                    f"(cut {severe_cut:+.1%}; {z_text(md, bias)}; absolute limit ±{t.bias_share:.0%})",
                ))  # fmt: skip
        if e.mean_abs_diff is not None and spread is not None:
            cut = spread[0] + max(t.z * spread[1], t.min_effect)
            if e.mean_abs_diff > cut:
                e.flags.append(_make(
                    "disagreement", e.mean_abs_diff, cut,
                    f"differs from the other marker by {e.mean_abs_diff:.1%} of max points on average "
                    f"(cut {cut:.1%}; {z_text(e.mean_abs_diff, spread)})",
                ))  # fmt: skip
        rate = e.arbitration_rate
        if rate is not None and first_round_pairs[e.marker] >= t.min_pairs and rate > t.arbitration_rate:
            e.flags.append(_make(
                "arbitration_rate", rate, t.arbitration_rate,
                f"{rate:.1%} of {first_round_pairs[e.marker]} double-marked items went to arbitration "
                f"(limit {t.arbitration_rate:.0%})",
            ))  # fmt: skip
        if e.median_seconds is not None and speed is not None:
            cut = speed[0] - t.z * speed[1]
            if e.median_seconds < cut:
                e.flags.append(_make(
                    "speed", e.median_seconds, cut,
                    f"median {e.median_seconds:.0f} s per script, suspiciously fast "
                    f"(cut {cut:.0f} s; {z_text(e.median_seconds, speed)})",
                ))  # fmt: skip


def _make(rule: str, value: float, cut: float, message: str) -> Flag:
    return {"rule": rule, "value": float(value), "cut": float(cut), "message": message}
