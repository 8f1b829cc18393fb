"""Mantel–Haenszel differential item functioning with the ETS A/B/C classes.

An item shows DIF when candidates of equal ability but from different groups (say, two
training centres, or candidates sitting in a minority language) have different chances of
answering it correctly. Mantel–Haenszel compares the groups within strata of equal matching
score, so a genuine ability difference between the groups is not mistaken for DIF.

Matching: by default the total score *including* the studied item, as ETS does — Holland &
Thayer (1988) showed that under the Rasch model the MH odds ratio is exactly 1 for a
DIF-free item only when the studied item is part of the matching score. ``matching="rest"``
uses the rest score instead.

Reported per item:

* α_MH = Σ_k A_k D_k / T_k ÷ Σ_k B_k C_k / T_k (A/B: reference right/wrong, C/D: focal
  right/wrong in stratum k of size T_k); α > 1 means the item favours the reference group;
* MH D-DIF = −2.35 ln α_MH (ETS delta scale; negative = harder for the focal group);
* its standard error 2.35·√Var(ln α_MH) with the Robins–Breslow–Greenland variance (the
  Phillips–Holland estimator is algebraically the same);
* the MH χ² with continuity correction (1 df) and its p-value;
* the ETS class: **A** if |D| < 1 or the χ² is not significant at ``alpha``; **C** if
  |D| ≥ 1.5 and |D| is significantly greater than 1 (one-sided z = (|D| − 1)/SE above the
  1 − ``alpha`` normal quantile, Zwick 2012); **B** otherwise. ``+``/``−`` in ``direction``
  says which group the item favours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import chdtrc, ndtri

from examvault.errors import ValidationError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MantelHaenszelDIF:
    """Per-item Mantel–Haenszel DIF results (arrays of length n_items)."""

    alpha_mh: FloatArray
    d_dif: FloatArray
    se_d_dif: FloatArray
    chi2: FloatArray
    p_value: FloatArray
    ets_class: tuple[str, ...]
    direction: tuple[str, ...]  # "favours reference", "favours focal" or "" for class A
    n_reference: int
    n_focal: int


def mantel_haenszel(
    responses: ArrayLike,
    group: ArrayLike,
    *,
    focal: object,
    reference: object | None = None,
    matching: Literal["total", "rest"] = "total",
    alpha: float = 0.05,
) -> MantelHaenszelDIF:
    """Mantel–Haenszel DIF for every 0/1 item against a focal group.

    ``group`` labels each candidate; rows whose label is ``focal`` form the focal group and,
    unless ``reference`` is given, every other row the reference group (rows matching
    neither are left out). Responses must be complete 0/1 scores: with missing responses the
    total score would compare candidates on different item sets.
    """
    x = np.asarray(responses, dtype=np.float64)
    if x.ndim != 2:
        raise ValidationError(f"responses must be a 2-D candidates × items array, got shape {x.shape}")
    if np.isnan(x).any() or not np.isin(x, (0.0, 1.0)).all():
        raise ValidationError("Mantel–Haenszel DIF needs complete 0/1 scored responses (no NaN, no partial credit)")
    g = np.asarray(group)
    if g.shape != (x.shape[0],):
        raise ValidationError(f"group must have one label per candidate ({x.shape[0]}), got shape {g.shape}")
    is_focal = g == focal
    is_ref = ~is_focal if reference is None else g == reference
    if not is_focal.any() or not is_ref.any():
        raise ValidationError(f"both groups need candidates: {int(is_ref.sum())} reference, {int(is_focal.sum())} focal")
    if matching not in ("total", "rest"):
        raise ValidationError(f"matching must be 'total' or 'rest', not {matching!r}")
    keep = is_focal | is_ref
    x, is_focal = x[keep], is_focal[keep]
    n_items = x.shape[1]
    total = x.sum(axis=1).astype(np.int64)
    n_strata = n_items + 1

    alpha_mh = np.full(n_items, np.nan)
    se = np.full(n_items, np.nan)
    chi2 = np.full(n_items, np.nan)
    for j in range(n_items):
        score = total - x[:, j].astype(np.int64) if matching == "rest" else total
        # 2×2 table per stratum, built with one bincount over (stratum, group, response)
        cell = (score * 2 + is_focal) * 2 + x[:, j].astype(np.int64)
        t = np.bincount(cell, minlength=n_strata * 4).reshape(n_strata, 2, 2).astype(np.float64)
        a_, b_ = t[:, 0, 1], t[:, 0, 0]  # reference right, wrong
        c_, d_ = t[:, 1, 1], t[:, 1, 0]  # focal right, wrong
        n = a_ + b_ + c_ + d_
        use = (n > 1) & (a_ + b_ > 0) & (c_ + d_ > 0)
        a_, b_, c_, d_, n = a_[use], b_[use], c_[use], d_[use], n[use]
        r_k = a_ * d_ / n
        s_k = b_ * c_ / n
        r, s = r_k.sum(), s_k.sum()
        if r > 0 and s > 0:
            alpha_mh[j] = r / s
            p_k = (a_ + d_) / n
            q_k = (b_ + c_) / n
            var_log = (p_k * r_k).sum() / (2 * r * r) + (p_k * s_k + q_k * r_k).sum() / (2 * r * s) + (q_k * s_k).sum() / (2 * s * s)
            se[j] = 2.35 * math.sqrt(var_log)
        n_ref, n_foc = a_ + b_, c_ + d_
        m1, m0 = a_ + c_, b_ + d_
        expected = n_ref * m1 / n
        variance = n_ref * n_foc * m1 * m0 / (n * n * (n - 1))
        if variance.sum() > 0:
            chi2[j] = (max(abs(a_.sum() - expected.sum()) - 0.5, 0.0)) ** 2 / variance.sum()
    d_dif = -2.35 * np.log(alpha_mh)
    p_value = chdtrc(1, chi2)
    z_crit = float(ndtri(1 - alpha))
    classes: list[str] = []
    direction: list[str] = []
    for j in range(n_items):
        dd, sig = abs(d_dif[j]), bool(p_value[j] < alpha)
        if not np.isfinite(dd) or dd < 1.0 or not sig:
            cls = "A"
        elif dd >= 1.5 and (dd - 1.0) / se[j] > z_crit:
            cls = "C"
        else:
            cls = "B"
        classes.append(cls)
        direction.append("" if cls == "A" else ("favours reference" if d_dif[j] < 0 else "favours focal"))
    return MantelHaenszelDIF(
        alpha_mh=alpha_mh,
        d_dif=d_dif,
        se_d_dif=se,
        chi2=chi2,
        p_value=p_value,
        ets_class=tuple(classes),
        direction=tuple(direction),
        n_reference=int((~is_focal).sum()),
        n_focal=int(is_focal.sum()),
    )


__all__: Sequence[str] = ("MantelHaenszelDIF", "mantel_haenszel")
