"""One exam's item analysis in one call: classical statistics, distractors, IRT, DIF and the flags.

`analyze` is what both faces use — `examvault stats analyze FILE.csv` on a file, and the service
on the responses in the bank — and `Analysis` is everything it found, as plain data, which
`examvault.stats.report` renders and `Analysis.to_json` serialises. No I/O here.

Choices made for the custodian's one-stop analysis (the building blocks document the rest):

- **Input.** Either an n×k matrix of item scores (NaN = not presented; an `omitted` mask for
  blanks) with `max_points` per item, or `choices` (integer option codes) with `key`, scored by
  `options.score_choices` with `max_points` as the points of a right answer; then the option
  (distractor) analysis runs too. `weights` are integer frequencies of pattern rows (the LSAT
  tables): rows are expanded, so every statistic is per candidate.
- **IRT** (`irt="rasch"` or `"2pl"`) is fitted on every item on which at least two different
  scores were given (others are left out, with a note). An item's categories are its score
  divided by its score step (`score_step`; by default 1 point for whole-point items and the
  item's points for others, so a 0.5-point 判断 is 0/1; a single `score_step` applies to the items
  worth more than one point). Half-point marking of a subjective item (`score_step=0.5`)
  therefore *doubles* its scores: a 10-point item marked in halves has categories 0..20. Scores
  nobody was given are skipped (categories are renumbered consecutively over the scores given,
  as mirt does), since an empty category carries no information. With polytomous items present, `"rasch"` becomes
  the partial credit model and `"2pl"` the generalised partial credit model (a note says so).
  Not-presented cells are missing in the likelihood; omitted ones score 0 under the `"wrong"`
  policy and are missing under `"pairwise"`. With fewer than `thresholds.min_n` candidates the
  fit is skipped with a note — the misfit flag could not fire, and parameters from a few dozen
  candidates mislead — unless `force_irt=True`.
- **DIF** (`group`, one label per candidate) is Mantel–Haenszel on the dichotomous items,
  matched on their total, for candidates with complete answers to them and a non-empty label.
  The focal group is `focal`, by default the *second* distinct label in sorted order; everyone
  else with a label is the reference group (with two labels: the first).
- **Flags**: `flags.flag_items` (classical and key error), plus `misfit` from the IRT infit and
  outfit mean squares, plus `dif` for ETS class C — see `examvault.stats.flags`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from examvault.errors import ValidationError
from examvault.stats.classical import ClassicalStatistics, analyse, check_missing_policy
from examvault.stats.dif import MantelHaenszelDIF, mantel_haenszel
from examvault.stats.flags import Flag, FlagThresholds, dif_flags, flag_items, misfit_flags
from examvault.stats.irt import InfitOutfit, IRTFit, eap, fit_irt, infit_outfit
from examvault.stats.options import OptionStatistics, analyse_options, score_choices

FloatArray = NDArray[np.float64]
IRTChoice = Literal["rasch", "2pl"]


@dataclass
class Analysis:
    """Everything one analysis found; pure data. Arrays run over the items (columns) or candidates (rows)."""

    labels: list[str]
    max_points: np.ndarray
    totals: np.ndarray  # candidate totals (points earned; omitted and not-presented items add 0)
    classical: ClassicalStatistics
    options: dict[int, OptionStatistics]  # by item index, where raw options were analysed
    irt: IRTFit | None
    irt_items: list[int]  # the columns the IRT model was fitted on, in its item order
    fit: InfitOutfit | None  # infit/outfit of irt_items, in the same order
    dif: dict[int, MantelHaenszelDIF]  # by item index: that item's one-item slice of the MH result
    flags: list[Flag]
    missing: str
    notes: list[str]
    # what the report draws from (the curves need the per-candidate data)
    scores: np.ndarray | None = None  # candidates × items, points earned, NaN = not counted
    choices: np.ndarray | None = None  # candidates × items option codes, where raw options were analysed
    omit_code: int | None = None  # the code of an omitted answer in `choices`
    theta: np.ndarray | None = None  # EAP ability per candidate when IRT was fitted
    # infit mean, infit SD, outfit mean, outfit SD of the mean squares in exams simulated from the fit
    fit_reference: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    fit_n: np.ndarray | None = None  # responses per IRT item
    thresholds: FlagThresholds = field(default_factory=FlagThresholds)
    option_labels: dict[int, str] | None = None  # option code → what the file said (A, B, …)
    dif_focal: str | None = None
    dif_reference: list[str] = field(default_factory=list)
    irt_model: str | None = None  # the model fitted: rasch (PCM), 2pl or gpcm

    @property
    def n_candidates(self) -> int:
        return int(self.classical.n_candidates)

    @property
    def n_items(self) -> int:
        return len(self.labels)

    def flags_for(self, item: int) -> list[Flag]:
        return [f for f in self.flags if f.item == item]

    @property
    def flagged_items(self) -> list[int]:
        return sorted({f.item for f in self.flags})

    def option_label(self, code: int) -> str:
        if self.option_labels and code in self.option_labels:
            return self.option_labels[code]
        return str(code)

    def irt_rows(self) -> list[dict[str, Any]]:
        """Per calibrated item: parameters and SEs as the report and JSON show them."""
        fit = self.irt
        if fit is None:
            return []
        rows = []
        difficulty = fit.difficulty_centred
        for i, j in enumerate(self.irt_items):
            m = int(fit.n_categories[i]) - 1
            row: dict[str, Any] = {"item": self.labels[j], "categories": m + 1}
            if fit.model == "rasch":
                row["difficulty"] = json_number(difficulty[i])
                # difficulty = −d_m/m for a Rasch item (the mean of its step difficulties telescopes)
                row["se_difficulty"] = json_number(fit.se_d[i, m - 1] / m)
                if m > 1:
                    row["steps"] = [json_number(b) for b in fit.b[i, :m]]
                    row["se_steps"] = [json_number(s) for s in fit.se_b[i, :m]]
            else:
                row["a"] = json_number(fit.a[i])
                row["se_a"] = json_number(fit.se_a[i])
                if m == 1:
                    row["d"] = json_number(fit.d[i, 0])
                    row["se_d"] = json_number(fit.se_d[i, 0])
                    row["b"] = json_number(fit.b[i, 0])
                    row["se_b"] = json_number(fit.se_b[i, 0])
                else:
                    row["d"] = [json_number(v) for v in fit.d[i, :m]]
                    row["se_d"] = [json_number(v) for v in fit.se_d[i, :m]]
                    row["b"] = [json_number(v) for v in fit.b[i, :m]]
                    row["se_b"] = [json_number(v) for v in fit.se_b[i, :m]]
            if self.fit is not None:
                row["infit"] = json_number(self.fit.infit[i])
                row["outfit"] = json_number(self.fit.outfit[i])
            if self.fit_reference is not None:
                in_mean, in_sd, out_mean, out_sd = self.fit_reference
                row["infit_model"] = {"mean": json_number(in_mean[i]), "sd": json_number(in_sd[i])}
                row["outfit_model"] = {"mean": json_number(out_mean[i]), "sd": json_number(out_sd[i])}
            rows.append(row)
        return rows

    def to_json(self) -> dict[str, Any]:
        """The `stats analyze --json` document: plain floats, NaN as null."""
        c = self.classical
        items = []
        for j, label in enumerate(self.labels):
            entry: dict[str, Any] = {
                "item": label,
                "max_points": json_number(self.max_points[j]),
                "n": int(c.n[j]),
                "n_omitted": int(c.n_omitted[j]),
                "mean": json_number(c.mean[j]),
                "sd": json_number(c.sd[j]),
                "p": json_number(c.p[j]),
                "r_total": json_number(c.r_total[j]),
                "r_drop": json_number(c.r_rest[j]),
                "ul_index": json_number(c.upper_lower[j]) if c.upper_lower is not None else None,
                "alpha_if_deleted": json_number(c.alpha_if_deleted[j]),
                "flags": [flag_json(f) for f in self.flags_for(j)],
            }
            if j in self.options:
                entry.update(_options_json(self.options[j], self.option_label))
            items.append(entry)
        doc: dict[str, Any] = {
            "n_candidates": self.n_candidates,
            "n_items": self.n_items,
            "max_total": json_number(float(np.sum(self.max_points))),
            "total_mean": json_number(c.total_mean),
            "total_sd": json_number(c.total_sd),
            "alpha": json_number(c.alpha),
            "sem": json_number(c.sem),
            "missing": self.missing,
            "thresholds": {
                "p_low": self.thresholds.p_low, "p_high": self.thresholds.p_high, "r_drop_low": self.thresholds.r_rest_low,
                "r_drop_negative": self.thresholds.r_rest_negative, "msq_low": self.thresholds.msq_low,
                "msq_high": self.thresholds.msq_high, "min_n": self.thresholds.min_n, "confidence": self.thresholds.confidence,
            },  # fmt: skip
            "items": items,
            "irt": None,
            "dif": None,
            "notes": list(self.notes),
        }
        if self.irt is not None:
            fit = self.irt
            doc["irt"] = {
                "model": self.irt_model or fit.model,
                "n_persons": json_number(fit.n_persons),
                "loglik": json_number(fit.loglik),
                "converged": bool(fit.converged),
                "iterations": int(fit.n_iter),
                "latent_variance": json_number(fit.latent_variance),
                "se_latent_variance": json_number(fit.se_latent_variance),
                "items": self.irt_rows(),
            }
        if self.dif:
            first = next(iter(self.dif.values()))
            doc["dif"] = {
                "focal": self.dif_focal,
                "reference": self.dif_reference,
                "n_focal": first.n_focal,
                "n_reference": first.n_reference,
                "items": [
                    {
                        "item": self.labels[j], "alpha_mh": json_number(r.alpha_mh[0]), "d_dif": json_number(r.d_dif[0]),
                        "se_d_dif": json_number(r.se_d_dif[0]), "chi2": json_number(r.chi2[0]), "p_value": json_number(r.p_value[0]),
                        "ets_class": r.ets_class[0], "direction": r.direction[0],
                    }  # fmt: skip
                    for j, r in sorted(self.dif.items())
                ],
            }
        return doc


def json_number(value: Any) -> float | None:
    """A figure as JSON holds it: None for a missing or non-finite value (NaN → null)."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def flag_json(f: Flag) -> dict[str, Any]:
    return {"rule": f.rule, "value": json_number(f.value), "ci": [json_number(f.ci[0]), json_number(f.ci[1])],
            "threshold": json_number(f.threshold), "n": int(f.n), "message": f.message}  # fmt: skip


def _options_json(o: OptionStatistics, name: Any) -> dict[str, Any]:
    return {
        "key": name(o.key),
        "omitted": {"count": o.omitted_count, "share": json_number(o.omitted_share)},
        "options": [
            {
                "option": name(int(code)), "key": bool(code == o.key), "count": int(o.counts[i]), "share": json_number(o.share[i]),
                "share_upper": json_number(o.share_upper[i]), "share_lower": json_number(o.share_lower[i]), "r_drop": json_number(o.r_rest[i]),
                "mean_total": json_number(o.mean_total[i]),
            }  # fmt: skip
            for i, code in enumerate(o.codes)
        ],
    }


def _steps(max_points: FloatArray, score_step: ArrayLike | None) -> FloatArray | None:
    """A single step applies to the items worth more than one point; per-item steps are taken as given."""
    if score_step is None:
        return None
    steps = np.asarray(score_step, dtype=np.float64)
    if steps.ndim == 0:
        whole = (max_points >= 1) & (np.abs(max_points - np.rint(max_points)) < 1e-9)
        default = np.where(whole, 1.0, max_points)
        return np.where(max_points > 1, float(steps), default)
    return steps


def _expand(weights: ArrayLike, rows: int) -> NDArray[np.intp]:
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != (rows,):
        raise ValidationError(f"weights must be one frequency per row ({rows}), got shape {w.shape}")
    if np.any(~np.isfinite(w)) or np.any(w < 0) or np.any(w != np.rint(w)):
        bad = int(np.flatnonzero(~np.isfinite(w) | (w < 0) | (w != np.rint(w)))[0])
        raise ValidationError(f"row {bad + 1}: a frequency must be a whole number ≥ 0, got {w[bad]!r}")
    return np.repeat(np.arange(rows), w.astype(np.intp))


def analyze(
    scores: ArrayLike | None,
    max_points: ArrayLike,
    *,
    labels: list[str] | None = None,
    omitted: ArrayLike | None = None,
    choices: ArrayLike | None = None,
    key: ArrayLike | None = None,
    missing_code: int | None = None,
    missing: str = "wrong",
    irt: IRTChoice | None = None,
    group: ArrayLike | None = None,
    focal: object | None = None,
    thresholds: FlagThresholds | None = None,
    weights: ArrayLike | None = None,
    score_step: ArrayLike | None = None,
    not_presented_code: int | None = None,
    force_irt: bool = False,
    irt_se: bool = True,
    option_labels: dict[int, str] | None = None,
) -> Analysis:
    """Analyse one exam: see the module docstring for the choices it makes."""
    policy = check_missing_policy(missing)
    cuts = thresholds or FlagThresholds()
    if irt not in (None, "rasch", "2pl"):
        raise ValidationError(f"irt must be 'rasch', '2pl' or None, not {irt!r}")
    notes: list[str] = []
    if choices is not None:
        if key is None:
            raise ValidationError("raw option codes need a key (one key code per item)")
        codes = np.asarray(choices)
        if codes.ndim != 2:
            raise ValidationError(f"choices must be a candidates × items matrix, got shape {codes.shape}")
        k = codes.shape[1]
    else:
        if scores is None:
            raise ValidationError("give either scores, or choices with a key")
        matrix = np.asarray(scores, dtype=np.float64)
        if matrix.ndim != 2:
            raise ValidationError(f"scores must be a candidates × items matrix, got shape {matrix.shape}")
        k = matrix.shape[1]
    top = np.broadcast_to(np.asarray(max_points, dtype=np.float64), (k,)).copy()
    names = list(labels) if labels is not None else [f"item {j + 1}" for j in range(k)]
    if len(names) != k:
        raise ValidationError(f"{len(names)} labels for {k} items")
    rows = codes.shape[0] if choices is not None else matrix.shape[0]
    take = _expand(weights, rows) if weights is not None else None
    labels_group = None if group is None else np.asarray(group, dtype=object)
    if labels_group is not None and labels_group.shape != (rows,):
        raise ValidationError(f"group must be one label per candidate ({rows}), got shape {labels_group.shape}")
    if take is not None:
        labels_group = None if labels_group is None else labels_group[take]
    options: dict[int, OptionStatistics] = {}
    if choices is not None:
        codes = codes if take is None else codes[take]
        answers = np.asarray(key).astype(np.int64)
        x, mask = score_choices(codes, answers, missing_code=missing_code, not_presented_code=not_presented_code, points=top)
        stats_options = analyse_options(codes, answers, missing_code=missing_code, not_presented_code=not_presented_code,
                                        missing=policy, points=top)  # fmt: skip
        options = {o.item: o for o in stats_options}
    else:
        x = matrix if take is None else matrix[take]
        mask = None if omitted is None else np.asarray(omitted, dtype=bool)
        if mask is not None and take is not None:
            mask = mask[take]
    classical = analyse(x, top, omitted=mask, missing=policy, score_step=_steps(top, score_step))
    earned = np.where(np.isnan(x), 0.0, x)
    if mask is not None:
        earned = np.where(mask, 0.0, earned)
    totals = earned.sum(axis=1)
    counted = earned.copy()
    counted[np.isnan(x)] = np.nan
    if mask is not None and policy == "pairwise":
        counted[mask] = np.nan
    flags = flag_items(classical, list(options.values()), cuts, names)

    analysis = Analysis(
        labels=names, max_points=top, totals=totals, classical=classical, options=options, irt=None, irt_items=[],
        fit=None, dif={}, flags=flags, missing=policy, notes=notes, scores=counted, thresholds=cuts,
        option_labels=option_labels, choices=codes if choices is not None else None,
        omit_code=missing_code if choices is not None else None,
    )  # fmt: skip
    if irt is not None:
        _fit_irt(analysis, irt, force_irt, irt_se)
    if labels_group is not None:
        _dif(analysis, labels_group, focal)
    analysis.flags.sort(key=lambda f: f.item)
    return analysis


# ---------------------------------------------------------------------------------- IRT


def _categories(analysis: Analysis) -> tuple[FloatArray, NDArray[np.intp]]:
    """Each item's score step and top category (score / step), from the classical categories."""
    cats = analysis.classical.categories
    step = np.array([c.scores[1] - c.scores[0] for c in cats])
    top = np.array([c.scores.size - 1 for c in cats], dtype=np.intp)
    return step, top


def _fit_irt(analysis: Analysis, requested: IRTChoice, force: bool, with_se: bool) -> None:
    notes, cuts = analysis.notes, analysis.thresholds
    n = analysis.n_candidates
    if n < cuts.min_n and not force:
        notes.append(f"IRT not fitted: {n} candidates, fewer than the {cuts.min_n} a flag needs (force it to fit anyway)")
        return
    assert analysis.scores is not None
    step, top = _categories(analysis)
    grid = np.rint(analysis.scores / step)  # NaN stays NaN
    codes = np.full(grid.shape, np.nan)
    usable, recoded, left_out = [], [], []
    for j in range(analysis.n_items):
        column = grid[:, j]
        seen = ~np.isnan(column)
        values = np.unique(column[seen])
        if values.size < 2:
            left_out.append(j)
            continue
        # consecutive categories over the scores actually given (as mirt does): an empty category has no information
        codes[seen, j] = np.searchsorted(values, column[seen])
        if values.size < top[j] + 1:
            recoded.append(j)
        usable.append(j)
    if left_out:
        shown = ", ".join(analysis.labels[j] for j in left_out[:10]) + (" …" if len(left_out) > 10 else "")
        notes.append(f"left out of IRT (everyone who answered got the same score): {shown}")
    if recoded:
        shown = ", ".join(analysis.labels[j] for j in recoded[:10]) + (" …" if len(recoded) > 10 else "")
        notes.append(f"IRT categories are the scores actually given; some possible scores were never given on: {shown}")
    if len(usable) < 2:
        notes.append("IRT not fitted: fewer than two items can be calibrated")
        return
    top = np.array([np.nanmax(codes[:, j]) if j in usable else 0 for j in range(analysis.n_items)], dtype=np.intp)
    poly = [j for j in usable if top[j] > 1]
    model: str = requested
    if poly and requested == "2pl":
        model = "gpcm"
        notes.append(f"{len(poly)} polytomous items: the generalised partial credit model was fitted (2PL for the 0/1 items)")
    elif poly:
        notes.append(f"{len(poly)} polytomous items: the partial credit model was fitted (Rasch for the 0/1 items)")
    if poly and np.any(step[poly] < 1):
        notes.append("half-point marking: IRT categories are scores divided by the score step (doubled for half points)")
    responses = codes[:, usable]
    fit = fit_irt(responses, model, se=with_se)  # type: ignore[arg-type]
    if not fit.converged:
        notes.append(f"the IRT fit did not converge in {fit.n_iter} EM cycles; read its parameters with care")
    analysis.irt, analysis.irt_items, analysis.irt_model = fit, usable, "pcm" if model == "rasch" and poly else model
    analysis.fit = infit_outfit(fit, responses)
    theta, _ = eap(fit, responses)
    analysis.theta = theta
    count = (~np.isnan(responses)).sum(axis=0)
    reference = _msq_reference(fit, responses)
    analysis.fit_reference, analysis.fit_n = reference, count
    in_mean, in_sd, out_mean, out_sd = reference
    for statistic, msq, mean, sd in (("infit", analysis.fit.infit, in_mean, in_sd), ("outfit", analysis.fit.outfit, out_mean, out_sd)):
        analysis.flags.extend(misfit_flags(usable, statistic, msq, mean, sd, count, cuts, analysis.labels))
    _one_misfit_flag_per_item(analysis)


def _one_misfit_flag_per_item(analysis: Analysis) -> None:
    """Infit and outfit often fire together; keep the one further from its cut (both stay in the JSON's irt)."""
    best: dict[int, Flag] = {}
    for f in analysis.flags:
        if f.rule == "misfit":
            distance = abs(f.value - f.threshold)
            if f.item not in best or distance > abs(best[f.item].value - best[f.item].threshold):
                best[f.item] = f
    analysis.flags[:] = [f for f in analysis.flags if f.rule != "misfit" or best[f.item] is f]


MSQ_REPLICATES = 25


def _msq_reference(fit: IRTFit, responses: FloatArray, replicates: int = MSQ_REPLICATES) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """What infit and outfit look like when the model holds: their mean and SD over simulated exams.

    Mean squares computed with estimated abilities are biased low, the more so the shorter the
    test (EAP θ from five items is pulled towards the mean and absorbs part of every residual:
    on five fitting Rasch items the outfit averages about 0.75), so the textbook 0.7–1.3 cuts
    would flag good items of a short paper as "too predictable". Each replicate draws abilities
    from the fitted latent distribution, simulates responses with the fitted item parameters and
    the same not-presented cells, and computes the mean squares exactly as for the real data.
    Deterministic (fixed seed). Returns (infit mean, infit SD, outfit mean, outfit SD) per item.
    """
    rng = np.random.default_rng(20240917)
    missing = np.isnan(responses)
    n = responses.shape[0]
    infit, outfit = [], []
    for _ in range(replicates):
        theta = rng.normal(0.0, math.sqrt(fit.latent_variance), n)
        simulated = np.empty(responses.shape)
        chunk = max(256, 4_000_000 // (fit.n_items * int(fit.n_categories.max())))
        for start in range(0, n, chunk):
            p = fit.category_probabilities(theta[start : start + chunk])  # J × K × m
            cumulative = np.cumsum(p, axis=1)
            u = rng.random((p.shape[0], 1, p.shape[2]))
            simulated[start : start + chunk] = (u > cumulative).sum(axis=1).T
        simulated = np.minimum(simulated, fit.n_categories - 1)  # round-off in the last cumulative sum
        simulated[missing] = np.nan
        result = infit_outfit(fit, simulated)
        infit.append(result.infit)
        outfit.append(result.outfit)
    a, b = np.array(infit), np.array(outfit)
    return a.mean(axis=0), a.std(axis=0, ddof=1), b.mean(axis=0), b.std(axis=0, ddof=1)


# ---------------------------------------------------------------------------------- DIF


def _dif(analysis: Analysis, group: NDArray[np.object_], focal: object | None) -> None:
    notes = analysis.notes
    text = np.array(["" if g is None or (isinstance(g, float) and math.isnan(g)) else str(g).strip() for g in group], dtype=object)
    values = sorted(set(text) - {""})
    if len(values) < 2:
        notes.append(f"DIF not analysed: the group labels have {len(values)} distinct value(s); two are needed")
        return
    chosen = values[1] if focal is None else str(focal)
    if chosen not in values:
        raise ValidationError(f"focal group {chosen!r} is not one of the group labels: {', '.join(values[:20])}")
    assert analysis.scores is not None
    step, top = _categories(analysis)
    items = [j for j in range(analysis.n_items) if top[j] == 1]
    if len(items) < 2:
        notes.append("DIF not analysed: it needs at least two dichotomous items")
        return
    if len(items) < analysis.n_items:
        notes.append(f"DIF: {analysis.n_items - len(items)} polytomous items are neither studied nor part of the matching score")
    right = analysis.scores[:, items] / analysis.max_points[items]
    complete = ~np.isnan(right).any(axis=1) & (text != "")
    left_out = int((~complete).sum())
    if left_out:
        notes.append(f"DIF: {left_out} candidates left out (no group label, or an item not answered under the pairwise policy / not presented)")
    result = mantel_haenszel(right[complete], text[complete], focal=chosen, alpha=1 - analysis.thresholds.confidence)
    analysis.dif_focal = chosen
    analysis.dif_reference = [v for v in values if v != chosen]
    for i, j in enumerate(items):
        analysis.dif[j] = MantelHaenszelDIF(
            alpha_mh=result.alpha_mh[i : i + 1], d_dif=result.d_dif[i : i + 1], se_d_dif=result.se_d_dif[i : i + 1],
            chi2=result.chi2[i : i + 1], p_value=result.p_value[i : i + 1], ets_class=result.ets_class[i : i + 1],
            direction=result.direction[i : i + 1], n_reference=result.n_reference, n_focal=result.n_focal,
        )  # fmt: skip
    analysis.flags.extend(
        dif_flags(items, result.d_dif, result.se_d_dif, result.ets_class, result.n_reference + result.n_focal,
                  analysis.thresholds, analysis.labels)  # fmt: skip
    )


__all__ = ("Analysis", "analyze")
