"""Item response theory core: Rasch/PCM, 2PL and GPCM by marginal maximum likelihood.

Everything here is pure, vectorised numpy over arrays of scored responses: no I/O, no
database. The service layer turns exam feedback into a ``responses`` matrix (candidates ×
items, integer scores 0..max, NaN where an item was not on the candidate's form) and
calls :func:`fit_irt`.

Model (slope–intercept form, as mirt reports it). Item j has categories 0..m_j and

    P(X = k | θ) ∝ exp(k·a_j·θ + d_jk),   d_j0 = 0,

which is the 2PL for m_j = 1 (logit P = a·θ + d) and the generalised partial credit model
for m_j > 1. Step difficulties are b_jk = −(d_jk − d_j,k−1)/a_j, so a dichotomous item has
b = −d/a.

* ``"2pl"`` / ``"gpcm"``: free slopes, θ ~ N(0, 1). (The two names differ only in that
  ``"2pl"`` insists on 0/1 items; a dichotomous item under ``"gpcm"`` is a 2PL item.)
* ``"rasch"``: a = 1 for every item and the latent variance is estimated, θ ~ N(0, σ²)
  (mirt's parameterisation for LSAT6). Polytomous items make it the partial credit model.
  Internally θ = σ·z with z ~ N(0, 1), so the Rasch model is a 2PL whose slopes are all
  equal to σ; this keeps one quadrature grid and makes the M-step a joint Newton step.

Estimation is Bock–Aitkin EM on a fixed grid: 61 equally spaced points on [−6, 6] with
normal-density weights, mirt's default for one dimension, so results are comparable to
mirt's to the third decimal. The E-step is two matrix products per chunk of candidates
(indicator matrix @ log-probability ratios, then indicators.T @ posterior), which is why
a million candidates fit in seconds rather than hours. The M-step is a damped Newton step
per item (the complete-data log-likelihood is concave in (a, d)), with step halving so the
marginal log-likelihood never decreases — the trace is kept on the result to show it.

Missing responses (NaN) drop out of the likelihood: the indicator rows are simply zero, so
forms that share only some items are calibrated on one scale. Frequency weights let
response-pattern tables (LSAT) be fitted without expanding them.

Standard errors come from the observed information: the Hessian of the marginal
log-likelihood, taken by central differences of its analytic gradient (Fisher's identity:
the gradient of the marginal log-likelihood equals the gradient of the EM Q-function at
the current parameters). This costs 2·(number of parameters) E-steps, so it is optional.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import chdtrc

from examvault.errors import ValidationError

Model = Literal["rasch", "2pl", "gpcm"]
FloatArray = NDArray[np.float64]

QUAD_POINTS = 61
QUAD_LIMIT = 6.0


def quadrature(n_points: int = QUAD_POINTS, limit: float = QUAD_LIMIT) -> tuple[FloatArray, FloatArray]:
    """Equally spaced standard-normal grid with normalised weights (mirt's rectangular default)."""
    z = np.linspace(-limit, limit, n_points)
    w = np.exp(-0.5 * z * z)
    return z, w / w.sum()


# --------------------------------------------------------------------------------------
# Data preparation
# --------------------------------------------------------------------------------------


@dataclass
class _Data:
    """Responses as category codes plus the indicator matrices the E-step multiplies."""

    codes: NDArray[np.int16]  # N × J, −1 = missing
    weights: FloatArray  # N
    n_cat: NDArray[np.int64]  # J, categories per item (m_j + 1)
    col_item: NDArray[np.int64]  # C, item of each indicator column (categories ≥ 1)
    col_cat: NDArray[np.int64]  # C, category of each indicator column
    has_missing: bool
    dtype: type
    chunks: list[tuple[NDArray, NDArray | None, FloatArray]] = field(default_factory=list)

    @property
    def n_items(self) -> int:
        return int(self.n_cat.size)

    @property
    def max_cat(self) -> int:
        return int(self.n_cat.max())


def _as_codes(responses: ArrayLike) -> tuple[NDArray[np.int16], bool]:
    x = np.asarray(responses)
    if x.ndim != 2:
        raise ValidationError(f"responses must be a 2-D candidates × items array, got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValidationError("responses are empty: need at least one candidate and one item")
    if np.issubdtype(x.dtype, np.floating):
        missing = np.isnan(x)
        filled = np.where(missing, 0.0, x)
        if np.any(filled != np.round(filled)) or np.any(filled < 0):
            bad = np.argwhere((filled != np.round(filled)) | (filled < 0))[0]
            raise ValidationError(
                f"responses must be integer scores 0..max or NaN; row {bad[0] + 1}, item {bad[1] + 1} holds {x[bad[0], bad[1]]!r}"
            )
        codes = np.where(missing, -1, filled).astype(np.int16)
        return codes, bool(missing.any())
    if not np.issubdtype(x.dtype, np.integer) and x.dtype != np.bool_:
        raise ValidationError(f"responses must be numeric scores, got dtype {x.dtype}")
    if x.size and int(x.min()) < 0:
        raise ValidationError("integer responses must be scores ≥ 0; mark missing responses with NaN in a float array")
    return x.astype(np.int16, copy=False), False


def _prepare(
    responses: ArrayLike, weights: ArrayLike | None, *, dtype: type | None = None, chunk_size: int | None = None
) -> _Data:
    codes, has_missing = _as_codes(responses)
    n, j = codes.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != (n,):
        raise ValidationError(f"weights must have one entry per candidate row ({n}), got {w.shape}")
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValidationError("weights must be finite and ≥ 0 (frequencies of response patterns)")
    n_cat = codes.max(axis=0).astype(np.int64) + 1
    issues: list[str] = []
    for item in range(j):
        if n_cat[item] < 2:
            issues.append(f"item {item + 1}: every observed response is 0 (or none is observed); it carries no information")
            continue
        counts = np.bincount(codes[:, item][codes[:, item] >= 0], weights=w[codes[:, item] >= 0], minlength=n_cat[item])
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            issues.append(
                f"item {item + 1}: no response in category {int(empty[0])} of 0..{int(n_cat[item] - 1)}; "
                "recode its scores to consecutive categories"
            )
    if issues:
        raise ValidationError("; ".join(issues))
    return _build(codes, w, n_cat, has_missing, dtype, chunk_size)


def _build(
    codes: NDArray[np.int16], w: FloatArray, n_cat: NDArray[np.int64], has_missing: bool, dtype: type | None, chunk_size: int | None
) -> _Data:
    """Indicator matrices, stored transposed (columns × candidates) per chunk.

    The transposed, C-contiguous layout lets both E-step products (ratioᵀ @ design and
    design @ posteriorᵀ) run as plain row-major GEMMs, about three times faster than the
    transposed-operand product on OpenBLAS.
    """
    n = codes.shape[0]
    k_max = int(n_cat.max())
    col_item = np.concatenate([np.flatnonzero(n_cat > k) for k in range(1, k_max)])
    col_cat = np.concatenate([np.full(int((n_cat > k).sum()), k) for k in range(1, k_max)])
    n_cols = col_item.size
    if dtype is None:
        dtype = np.float32 if n * n_cols > 5_000_000 else np.float64
    data = _Data(codes, w, n_cat, col_item, col_cat, has_missing, dtype)
    if chunk_size is None:
        chunk_size = max(4096, int(16_000_000 // max(n_cols, 1)))
    for start in range(0, n, chunk_size):
        c = np.ascontiguousarray(codes[start : start + chunk_size].T)  # J × n
        design = np.empty((n_cols, c.shape[1]), dtype=dtype)
        col = 0
        for k in range(1, k_max):
            items = np.flatnonzero(n_cat > k)
            design[col : col + items.size] = c[items] == k
            col += items.size
        obs = (c >= 0).astype(dtype) if has_missing else None
        data.chunks.append((design, obs, w[start : start + chunk_size]))
    return data


# --------------------------------------------------------------------------------------
# Item response functions
# --------------------------------------------------------------------------------------


def _valid(n_cat: NDArray[np.int64]) -> NDArray[np.bool_]:
    return np.arange(int(n_cat.max()))[None, :] < n_cat[:, None]


def _log_probs(beta: FloatArray, valid: NDArray[np.bool_], z: FloatArray) -> FloatArray:
    """log P(X = k | z) as a J × K × Q array; −inf for categories an item does not have.

    ``beta[:, 0]`` is the slope on the standard-normal z scale, ``beta[:, k]`` = d_k (k ≥ 1).
    """
    k = np.arange(valid.shape[1], dtype=np.float64)
    d = beta.copy()
    d[:, 0] = 0.0
    eta = k[None, :, None] * beta[:, 0, None, None] * z[None, None, :] + d[:, :, None]
    eta = np.where(valid[:, :, None], eta, -np.inf)
    mx = eta.max(axis=1, keepdims=True)
    return eta - (mx + np.log(np.exp(eta - mx).sum(axis=1, keepdims=True)))


def _features(z: FloatArray, k_max: int) -> FloatArray:
    """Q × K × K design of the linear predictor: column 0 is k·z (slope), column k is d_k."""
    x = np.zeros((z.size, k_max, k_max))
    x[:, :, 0] = np.arange(k_max)[None, :] * z[:, None]
    for k in range(1, k_max):
        x[:, k, k] = 1.0
    return x


# --------------------------------------------------------------------------------------
# E-step
# --------------------------------------------------------------------------------------


def _e_step(data: _Data, beta: FloatArray, valid: NDArray[np.bool_], z: FloatArray, logw: FloatArray) -> tuple[float, FloatArray]:
    """Marginal log-likelihood at ``beta`` and expected counts r[j, k, q] for the M-step."""
    log_p = _log_probs(beta, valid, z)
    ratio_t = np.ascontiguousarray((log_p[data.col_item, data.col_cat, :] - log_p[data.col_item, 0, :]).T, dtype=data.dtype)
    base = log_p[:, 0, :]  # J × Q
    j, k_max, q = log_p.shape
    r_cols = np.zeros((data.col_item.size, q))
    n_obs = np.zeros((j, q)) if data.has_missing else np.zeros(q)
    const = (base.sum(axis=0) + logw).astype(data.dtype)[:, None]
    base_t = np.ascontiguousarray(base.T, dtype=data.dtype)
    logw_t = logw.astype(data.dtype)[:, None]
    loglik = 0.0
    for design, obs, w in data.chunks:  # design: C × n; everything below is Q × n
        ll = ratio_t @ design
        if obs is None:
            ll += const
        else:
            ll += base_t @ obs
            ll += logw_t
        mx = ll.max(axis=0)
        ll -= mx
        np.exp(ll, out=ll)
        s = ll.sum(axis=0, dtype=np.float64)
        loglik += float(w @ (np.log(s) + mx))
        ll *= (w / s).astype(data.dtype)
        r_cols += design @ ll.T
        if obs is None:
            n_obs += ll.sum(axis=1, dtype=np.float64)
        else:
            n_obs += obs @ ll.T
    r = np.zeros((j, k_max, q))
    r[data.col_item, data.col_cat, :] = r_cols
    total = n_obs if data.has_missing else np.broadcast_to(n_obs, (j, q))
    r[:, 0, :] = total - r[:, 1:, :].sum(axis=1)
    np.maximum(r, 0.0, out=r)  # float32 round-off can leave −1e-6 in an empty cell
    r[~valid] = 0.0
    return loglik, r


# --------------------------------------------------------------------------------------
# M-step
# --------------------------------------------------------------------------------------


def _q_items(beta: FloatArray, r: FloatArray, valid: NDArray[np.bool_], z: FloatArray) -> FloatArray:
    log_p = _log_probs(beta, valid, z)
    return np.where(r > 0, r * np.where(np.isfinite(log_p), log_p, 0.0), 0.0).sum(axis=(1, 2))


def _grad_hess(beta: FloatArray, r: FloatArray, valid: NDArray[np.bool_], z: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Gradient and Hessian of each item's expected complete-data log-likelihood (J × K, J × K × K)."""
    p = np.exp(_log_probs(beta, valid, z))
    n = r.sum(axis=1)  # J × Q
    g = np.einsum("jkq,qkd->jd", r - n[:, None, :] * p, x)
    ex = np.einsum("jkq,qkd->jqd", p, x)
    exx = np.einsum("jkq,qkd,qke->jqde", p, x, x)
    h = -np.einsum("jq,jqde->jde", n, exx - ex[..., :, None] * ex[..., None, :])
    return g, h


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched a⁻¹b; a singular block (a degenerate item, e.g. perfect separation running a slope off)
    takes the least-squares step instead of stopping the fit."""
    try:
        return np.linalg.solve(a, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return (np.linalg.pinv(a) @ b[..., None])[..., 0]


def _m_step(
    beta: FloatArray, r: FloatArray, free: NDArray[np.bool_], valid: NDArray[np.bool_], z: FloatArray, x: FloatArray,
    shared_slope: bool, newton_steps: int = 4, max_step: float = 2.0,
) -> FloatArray:
    """A few damped Newton steps on the concave Q-function; each step is halved until Q does not drop."""
    j, k_max = beta.shape
    eye = np.eye(k_max)
    for _ in range(newton_steps):
        g, h = _grad_hess(beta, r, valid, z, x)
        g = np.where(free, g, 0.0)
        fixed = ~free
        h = np.where(fixed[:, :, None] | fixed[:, None, :], 0.0, h) - eye[None] * fixed[:, :, None]
        if shared_slope:
            a_mat, b_vec, gd = h[:, 1:, 1:], h[:, 1:, 0], g[:, 1:]
            a_inv_b = _solve(a_mat, b_vec)
            a_inv_g = _solve(a_mat, gd)
            denom = h[:, 0, 0].sum() - (b_vec * a_inv_b).sum()
            d_sigma = (-g[:, 0].sum() + (b_vec * a_inv_g).sum()) / denom
            step = np.empty_like(beta)
            step[:, 0] = d_sigma
            step[:, 1:] = -a_inv_g - a_inv_b * d_sigma
            step[:, 1:] = np.where(free[:, 1:], step[:, 1:], 0.0)
            size = np.abs(step).max()
            if size > max_step:
                step *= max_step / size
            q_old = _q_items(beta, r, valid, z).sum()
            alpha = 1.0
            for _ in range(30):
                cand = beta + alpha * step
                if _q_items(cand, r, valid, z).sum() >= q_old - 1e-10 * abs(q_old):
                    beta = cand
                    break
                alpha *= 0.5
            size *= alpha
        else:
            step = _solve(-h, g)
            size_j = np.abs(step).max(axis=1)
            step *= np.minimum(1.0, max_step / np.maximum(size_j, 1e-300))[:, None]
            q_old = _q_items(beta, r, valid, z)
            alpha = np.ones(j)
            pending = np.ones(j, dtype=bool)
            new = beta.copy()
            for _ in range(30):
                cand = beta + alpha[:, None] * step
                ok = pending & (_q_items(cand, r, valid, z) >= q_old - 1e-10 * np.abs(q_old))
                new[ok] = cand[ok]
                pending &= ~ok
                if not pending.any():
                    break
                alpha[pending] *= 0.5
            alpha[pending] = 0.0
            beta = new
            size = float((np.abs(step).max(axis=1) * alpha).max())
        if size < 1e-9:
            break
    return beta


# --------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IRTFit:
    """A calibrated item bank: parameters on the reported θ scale plus what produced them.

    ``a``: slopes (1.0 for Rasch). ``d``: intercepts, J × (K−1), NaN past an item's top
    category; a dichotomous item's intercept is ``d[j, 0]``. ``b``: step difficulties
    −(d_k − d_{k−1})/a. ``difficulty``: item location (mean of its step difficulties; b for a
    0/1 item). ``difficulty_centred``: the same shifted to zero mean over items — what the
    Rasch report shows, because a Rasch scale's origin is arbitrary. SEs are NaN for fixed
    parameters or when ``se=False``.
    """

    model: Model
    n_categories: NDArray[np.int64]
    a: FloatArray
    d: FloatArray
    latent_variance: float
    loglik: float
    loglik_trace: FloatArray
    n_iter: int
    converged: bool
    n_persons: float
    se_a: FloatArray
    se_d: FloatArray
    se_b: FloatArray
    se_latent_variance: float
    covariance: FloatArray | None
    param_names: tuple[str, ...]
    quad_points: FloatArray
    quad_weights: FloatArray
    beta: FloatArray  # internal: slope on the z scale in column 0, d_k in columns k

    @property
    def n_items(self) -> int:
        return int(self.a.size)

    @property
    def n_parameters(self) -> int:
        return len(self.param_names)

    @property
    def b(self) -> FloatArray:
        d_full = np.concatenate([np.zeros((self.n_items, 1)), self.d], axis=1)
        return -(d_full[:, 1:] - d_full[:, :-1]) / self.a[:, None]

    @property
    def difficulty(self) -> FloatArray:
        return np.nanmean(self.b, axis=1)

    @property
    def difficulty_centred(self) -> FloatArray:
        loc = self.difficulty
        return loc - loc.mean()

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + math.log(self.n_persons) * self.n_parameters

    def category_probabilities(self, theta: ArrayLike) -> FloatArray:
        """P(X_j = k | θ) as J × K × len(θ), θ on the reported scale (0 past an item's top category)."""
        th = np.atleast_1d(np.asarray(theta, dtype=np.float64))
        return np.exp(_log_probs(self.beta, _valid(self.n_categories), th / math.sqrt(self.latent_variance)))


# --------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------


def _start_values(data: _Data, model: Model) -> FloatArray:
    """Adjacent-category log-odds of the marginal proportions, slope 1: rough but always finite."""
    j, k_max = data.n_items, data.max_cat
    beta = np.zeros((j, k_max))
    beta[:, 0] = 1.0
    for item in range(j):
        col = data.codes[:, item]
        seen = col >= 0
        counts = np.bincount(col[seen], weights=data.weights[seen], minlength=data.n_cat[item]) + 0.5
        log_counts = np.log(counts)
        beta[item, 1 : data.n_cat[item]] = np.clip(1.2 * (log_counts[1:] - log_counts[0]), -6, 6)
    return beta


def _free_mask(n_cat: NDArray[np.int64]) -> NDArray[np.bool_]:
    free = _valid(n_cat).copy()
    free[:, 0] = True
    return free


def _pack(beta: FloatArray, free: NDArray[np.bool_], shared: bool) -> FloatArray:
    if shared:
        return np.concatenate([[beta[0, 0]], beta[:, 1:][free[:, 1:]]])
    return beta[free]


def _unpack(vec: FloatArray, template: FloatArray, free: NDArray[np.bool_], shared: bool) -> FloatArray:
    beta = template.copy()
    if shared:
        beta[:, 0] = vec[0]
        inner = beta[:, 1:]
        inner[free[:, 1:]] = vec[1:]
        beta[:, 1:] = inner
    else:
        beta[free] = vec
    return beta


def _observed_information(
    data: _Data, beta: FloatArray, free: NDArray[np.bool_], valid: NDArray[np.bool_], z: FloatArray, logw: FloatArray,
    x: FloatArray, shared: bool,
) -> FloatArray:
    """−Hessian of the marginal log-likelihood by central differences of its Fisher-identity gradient."""

    def grad(vec: FloatArray) -> FloatArray:
        b = _unpack(vec, beta, free, shared)
        _, r = _e_step(data, b, valid, z, logw)
        g, _ = _grad_hess(b, r, valid, z, x)
        g = np.where(free, g, 0.0)
        if shared:
            return np.concatenate([[g[:, 0].sum()], g[:, 1:][free[:, 1:]]])
        return g[free]

    vec = _pack(beta, free, shared)
    n_par = vec.size
    hess = np.empty((n_par, n_par))
    for p in range(n_par):
        h = 1e-4 * max(1.0, abs(vec[p]))
        up, down = vec.copy(), vec.copy()
        up[p] += h
        down[p] -= h
        hess[:, p] = (grad(up) - grad(down)) / (2 * h)
    return -(hess + hess.T) / 2


def fit_irt(
    responses: ArrayLike,
    model: Model = "2pl",
    *,
    weights: ArrayLike | None = None,
    se: bool = True,
    tol: float = 1e-5,
    max_iter: int = 2000,
    quad_points: int = QUAD_POINTS,
    quad_limit: float = QUAD_LIMIT,
    dtype: type | None = None,
    chunk_size: int | None = None,
    accelerate: bool = True,
) -> IRTFit:
    """Fit a unidimensional IRT model by marginal maximum likelihood (Bock–Aitkin EM).

    ``responses``: candidates × items, integer scores 0..max (NaN = not presented / missing).
    ``weights``: frequency of each row (pattern tables). ``tol``: stop when no parameter moves
    more than this in one EM cycle (mirt's default is 1e-4; 1e-5 gets the third decimal).
    ``dtype``: float32 is used automatically for large data (over 5·10⁶ indicator cells), which
    halves memory traffic in the E-step; standard errors are always computed in float64.
    ``accelerate``: SQUAREM extrapolation of the EM map (guarded, so the log-likelihood trace
    still never decreases); it cuts the number of E-steps several-fold on large banks.
    ``n_iter`` on the result counts E-steps, including rejected extrapolations.
    """
    if model not in ("rasch", "2pl", "gpcm"):
        raise ValidationError(f"unknown IRT model {model!r}; use 'rasch', '2pl' or 'gpcm'")
    data = _prepare(responses, weights, dtype=dtype, chunk_size=chunk_size)
    if model == "2pl" and data.max_cat > 2:
        poly = np.flatnonzero(data.n_cat > 2) + 1
        raise ValidationError(f"2PL needs 0/1 items, but items {poly.tolist()[:10]} have more categories; use model='gpcm'")
    shared = model == "rasch"
    z, w_q = quadrature(quad_points, quad_limit)
    logw = np.log(w_q)
    valid = _valid(data.n_cat)
    free = _free_mask(data.n_cat)
    x = _features(z, data.max_cat)
    beta = _start_values(data, model)
    trace: list[float] = []
    converged = False
    it = 0

    def em(b: FloatArray) -> tuple[float, FloatArray]:
        nonlocal it
        it += 1
        ll_b, r_b = _e_step(data, b, valid, z, logw)
        return ll_b, _m_step(b, r_b, free, valid, z, x, shared)

    def moved(new: FloatArray, old: FloatArray) -> float:
        return float(np.abs(new - old)[free].max())

    while it < max_iter:
        b0 = beta
        ll0, b1 = em(b0)
        trace.append(ll0)
        if moved(b1, b0) < tol:
            beta, converged = b1, True
            break
        if not accelerate or it >= max_iter:
            beta = b1
            continue
        ll1, b2 = em(b1)
        trace.append(ll1)
        if moved(b2, b1) < tol:
            beta, converged = b2, True
            break
        # SQUAREM (Varadhan & Roland 2008, scheme S3) on the EM map; the extrapolated point
        # is kept only if its log-likelihood is at least that of b1, so the trace stays monotone.
        r_vec, v_vec = b1 - b0, b2 - 2 * b1 + b0
        step = -math.sqrt(float((r_vec[free] ** 2).sum()) / max(float((v_vec[free] ** 2).sum()), 1e-300))
        beta = b2
        if step < -1.0 and it < max_iter:
            jump = b0 - 2 * step * r_vec + step * step * v_vec
            ll_j, b3 = em(jump)
            if math.isfinite(ll_j) and ll_j >= ll1:
                trace.append(ll_j)
                beta = b3
                if moved(b3, jump) < tol:
                    converged = True
                    break
    ll, _ = _e_step(data, beta, valid, z, logw)
    trace.append(ll)

    if shared and beta[0, 0] < 0:  # σ and −σ give the same likelihood; report σ > 0
        beta[:, 0] = -beta[:, 0]
    sigma = float(beta[0, 0]) if shared else 1.0
    j, k_max = beta.shape
    a = np.ones(j) if shared else beta[:, 0].copy()
    d = np.where(valid[:, 1:], beta[:, 1:], np.nan)

    names: list[str] = []
    if shared:
        names.append("sigma")
    for item in range(j):
        if not shared:
            names.append(f"a{item + 1}")
        names += [f"d{item + 1}_{k}" for k in range(1, int(data.n_cat[item]))]

    se_a = np.full(j, np.nan)
    se_d = np.full(d.shape, np.nan)
    se_b = np.full(d.shape, np.nan)
    se_var = math.nan
    cov: FloatArray | None = None
    if se:
        data64 = data if data.dtype == np.float64 else _prepare(responses, weights, dtype=np.float64, chunk_size=chunk_size)
        info = _observed_information(data64, beta, free, valid, z, logw, x, shared)
        try:
            cov = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            cov = np.full(info.shape, np.nan)
        se_all = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        # index of each item's slope and intercepts in the parameter vector
        idx_a = np.full(j, -1)
        idx_d = np.full((j, k_max - 1), -1)
        pos = 0
        if shared:
            se_var = 2.0 * sigma * float(se_all[0])
            pos = 1
        for item in range(j):
            if not shared:
                idx_a[item] = pos
                se_a[item] = se_all[pos]
                pos += 1
            m = int(data.n_cat[item]) - 1
            idx_d[item, :m] = np.arange(pos, pos + m)
            se_d[item, :m] = se_all[pos : pos + m]
            pos += m
        # delta method for b_k = −(d_k − d_{k−1})/a
        for item in range(j):
            for k in range(int(data.n_cat[item]) - 1):
                grad = np.zeros(cov.shape[0])
                grad[idx_d[item, k]] = -1.0 / a[item]
                d_prev = 0.0
                if k > 0:
                    grad[idx_d[item, k - 1]] = 1.0 / a[item]
                    d_prev = d[item, k - 1]
                if not shared:
                    grad[idx_a[item]] = (d[item, k] - d_prev) / a[item] ** 2
                var = float(grad @ cov @ grad)
                se_b[item, k] = math.sqrt(var) if var > 0 else math.nan

    return IRTFit(
        model=model,
        n_categories=data.n_cat,
        a=a,
        d=d,
        latent_variance=sigma**2,
        loglik=ll,
        loglik_trace=np.asarray(trace),
        n_iter=it,
        converged=converged,
        n_persons=float(data.weights.sum()),
        se_a=se_a,
        se_d=se_d,
        se_b=se_b,
        se_latent_variance=se_var,
        covariance=cov,
        param_names=tuple(names),
        quad_points=z,
        quad_weights=w_q,
        beta=beta,
    )


def fit_rasch(responses: ArrayLike, *, weights: ArrayLike | None = None, **kwargs: object) -> IRTFit:
    """Rasch (partial credit for polytomous items): a = 1, latent variance estimated."""
    return fit_irt(responses, "rasch", weights=weights, **kwargs)  # type: ignore[arg-type]


def fit_2pl(responses: ArrayLike, *, weights: ArrayLike | None = None, **kwargs: object) -> IRTFit:
    """Two-parameter logistic model for 0/1 items, θ ~ N(0, 1)."""
    return fit_irt(responses, "2pl", weights=weights, **kwargs)  # type: ignore[arg-type]


def fit_gpcm(responses: ArrayLike, *, weights: ArrayLike | None = None, **kwargs: object) -> IRTFit:
    """Generalised partial credit model; 0/1 items in the same bank are 2PL items."""
    return fit_irt(responses, "gpcm", weights=weights, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Person scores and item fit
# --------------------------------------------------------------------------------------


def _posterior_chunks(fit: IRTFit, data: _Data):  # type: ignore[no-untyped-def]
    """Yield (row slice, posterior over the z grid) per chunk — the E-step without the counts."""
    valid = _valid(fit.n_categories)
    log_p = _log_probs(fit.beta, valid, fit.quad_points)
    ratio = log_p[data.col_item, data.col_cat, :] - log_p[data.col_item, 0, :]
    base = log_p[:, 0, :]
    logw = np.log(fit.quad_weights)
    start = 0
    for design, obs, _w in data.chunks:
        ll = design.T.astype(np.float64) @ ratio + logw
        ll += base.sum(axis=0) if obs is None else obs.T.astype(np.float64) @ base
        ll -= ll.max(axis=1, keepdims=True)
        post = np.exp(ll)
        post /= post.sum(axis=1, keepdims=True)
        yield slice(start, start + design.shape[1]), post
        start += design.shape[1]


def _prepare_for(fit: IRTFit, responses: ArrayLike, weights: ArrayLike | None) -> _Data:
    """Like _prepare, but with the calibration's categories (a form may not reach every category)."""
    codes, has_missing = _as_codes(responses)
    if codes.shape[1] != fit.n_items:
        raise ValidationError(f"responses have {codes.shape[1]} items; the calibration has {fit.n_items}")
    if np.any(codes.max(axis=0) >= fit.n_categories):
        raise ValidationError("responses hold scores above an item's calibrated maximum")
    n = codes.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != (n,):
        raise ValidationError(f"weights must have one entry per candidate row ({n}), got {w.shape}")
    return _build(codes, w, fit.n_categories, has_missing, np.float64, max(1024, int(8_000_000 // max(codes.shape[1], 1))))


def eap(fit: IRTFit, responses: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Expected a posteriori θ and its posterior SD per candidate, on the reported θ scale."""
    data = _prepare_for(fit, responses, None)
    sigma = math.sqrt(fit.latent_variance)
    z = fit.quad_points
    mean = np.empty(data.codes.shape[0])
    sd = np.empty(data.codes.shape[0])
    for rows, post in _posterior_chunks(fit, data):
        m = post @ z
        mean[rows] = sigma * m
        sd[rows] = sigma * np.sqrt(np.maximum(post @ (z * z) - m * m, 0.0))
    return mean, sd


@dataclass(frozen=True)
class InfitOutfit:
    """Rasch-style residual mean squares per item (expected value 1; > 1.3 noisy, < 0.7 too predictable)."""

    infit: FloatArray
    outfit: FloatArray


def infit_outfit(fit: IRTFit, responses: ArrayLike, weights: ArrayLike | None = None) -> InfitOutfit:
    """Infit (information-weighted) and outfit (unweighted) mean squares with EAP θ plugged in.

    θ is each candidate's EAP estimate (not WLE/ML as in Winsteps), so extreme scorers keep a
    finite θ and count; figures are therefore close to, not identical with, Winsteps'. Missing
    responses are skipped. Meaningful for any model here, conventional for Rasch.
    """
    data = _prepare_for(fit, responses, weights)
    theta, _ = eap(fit, responses)
    z = theta / math.sqrt(fit.latent_variance)
    valid = _valid(fit.n_categories)
    k = np.arange(valid.shape[1], dtype=np.float64)
    j = fit.n_items
    sq_resid = np.zeros(j)
    variance = np.zeros(j)
    z2 = np.zeros(j)
    count = np.zeros(j)
    chunk = max(256, 4_000_000 // (j * valid.shape[1]))
    for start in range(0, z.size, chunk):
        zc = z[start : start + chunk]
        p = np.exp(_log_probs(fit.beta, valid, zc))  # J × K × n
        expected = np.einsum("jkn,k->nj", p, k)
        var = np.einsum("jkn,k->nj", p, k * k) - expected**2
        x = data.codes[start : start + chunk].astype(np.float64)
        seen = x >= 0
        w = data.weights[start : start + chunk, None] * seen
        res2 = np.where(seen, (x - expected) ** 2, 0.0)
        sq_resid += (w * res2).sum(axis=0)
        variance += (w * var).sum(axis=0)
        z2 += (w * res2 / np.maximum(var, 1e-12)).sum(axis=0)
        count += w.sum(axis=0)
    return InfitOutfit(infit=sq_resid / variance, outfit=z2 / count)


def lord_wingersky(probs: FloatArray) -> FloatArray:
    """Summed-score likelihood f(s | θ_q) for s = 0..Σm_j by the Lord–Wingersky recursion.

    ``probs``: J × K × Q category probabilities (zeros past an item's top category).
    Returns Q × (S+1); each row sums to 1 because it is the distribution of the summed score
    given θ. Recursing item by item is O(J·S·Q) instead of enumerating 2^J patterns.
    """
    j, k_max, q = probs.shape
    tops = [int(np.flatnonzero(probs[i].max(axis=1) > 0).max()) if probs[i].any() else 0 for i in range(j)]
    f = np.ones((q, 1))
    for i in range(j):
        m = tops[i]
        new = np.zeros((q, f.shape[1] + m))
        for k in range(m + 1):
            new[:, k : k + f.shape[1]] += f * probs[i, k][:, None]
        f = new
    return f


@dataclass(frozen=True)
class SX2:
    """Orlando–Thissen S-X² per item with its degrees of freedom and p-value (NaN when df ≤ 0)."""

    s_x2: FloatArray
    df: NDArray[np.int64]
    p_value: FloatArray


def _collapse_rows(obs: FloatArray, exp: FloatArray, mincell: float) -> tuple[FloatArray, FloatArray]:
    """Merge adjacent score groups until no non-zero expected cell is below ``mincell``.

    The rule follows mirt's ``collapseCells``: groups with no observations are dropped; the
    lowest offending group is merged into its neighbour — the next group if it is the first,
    the previous if it is the last, otherwise whichever neighbour has fewer observations
    (the lower score on a tie).
    """
    keep = obs.sum(axis=1) > 0
    o = [row for row in obs[keep]]
    e = [row for row in exp[keep]]
    while len(e) > 1:
        bad = [i for i, row in enumerate(e) if np.any((row < mincell) & (row != 0))]
        if not bad:
            break
        i = bad[0]
        if i == 0:
            pick = 1
        elif i == len(e) - 1:
            pick = i - 1
        else:
            pick = i - 1 if o[i - 1].sum() <= o[i + 1].sum() else i + 1
        e[pick] = e[pick] + e[i]
        o[pick] = o[pick] + o[i]
        del e[i], o[i]
    return np.array(o), np.array(e)


def s_x2(fit: IRTFit, responses: ArrayLike, weights: ArrayLike | None = None, *, mincell: float = 1.0) -> SX2:
    """Orlando & Thissen's (2000) S-X² item fit on summed-score groups.

    Observed: the share of candidates with summed score s who scored k on item j. Expected:
    ∫ P_jk(θ) f₋ⱼ(s − k | θ) φ(θ) dθ / ∫ f(s | θ) φ(θ) dθ, with f and f₋ⱼ (all items but j)
    from the Lord–Wingersky recursion on the calibration's quadrature grid. Groups s = 0 and
    s = max are left out (they determine the item response); then adjacent groups are merged
    while any expected count is below ``mincell`` (mirt's rule, see _collapse_rows).
    df = non-empty cells − groups − the item's estimated parameters − estimated latent
    parameters (the Rasch variance), as in current mirt. Polytomous items are collapsed over
    score groups only (mirt also merges sparse categories within a group), so polytomous
    values can differ from mirt's. Needs complete responses: summed scores over different
    item sets are not comparable.
    """
    data = _prepare_for(fit, responses, weights)
    if data.has_missing:
        raise ValidationError("S-X² needs complete responses: summed scores over different item sets are not comparable")
    codes, w = data.codes, data.weights
    valid = _valid(fit.n_categories)
    probs = np.exp(_log_probs(fit.beta, valid, fit.quad_points))  # J × K × Q
    wq = fit.quad_weights
    j, k_max, _q = probs.shape
    tops = fit.n_categories - 1
    s_max = int(tops.sum())
    f_all = lord_wingersky(probs)  # Q × (S+1)
    denom = wq @ f_all  # S+1
    total = codes.sum(axis=1)
    n_s = np.bincount(total, weights=w, minlength=s_max + 1)
    stat = np.full(j, np.nan)
    df = np.zeros(j, dtype=np.int64)
    latent_params = 1 if fit.model == "rasch" else 0
    rows = np.arange(1, s_max)  # drop s = 0 and s = max
    for i in range(j):
        others = np.delete(np.arange(j), i)
        f_rest = lord_wingersky(probs[others])  # Q × (S − m_i + 1)
        m = int(tops[i])
        expected = np.zeros((s_max + 1, m + 1))
        for k in range(m + 1):
            expected[k : k + f_rest.shape[1], k] = (wq * probs[i, k]) @ f_rest
        expected /= np.where(denom > 0, denom, 1.0)[:, None]
        expected *= n_s[:, None]
        observed = np.bincount(total * (m + 1) + codes[:, i], weights=w, minlength=(s_max + 1) * (m + 1)).reshape(s_max + 1, m + 1)
        o, e = _collapse_rows(observed[rows], expected[rows], mincell)
        if e.size == 0:
            continue
        nz = e > 0
        stat[i] = float((np.where(nz, (o - e) ** 2 / np.where(nz, e, 1.0), 0.0)).sum())
        n_par = m + (0 if fit.model == "rasch" else 1)
        df[i] = int(nz.sum()) - e.shape[0] - n_par - latent_params
    p = np.where(df > 0, chdtrc(np.maximum(df, 1), np.nan_to_num(stat)), np.nan)
    stat = np.where(df > 0, stat, np.nan)
    return SX2(s_x2=stat, df=df, p_value=p)


__all__: Sequence[str] = (
    "IRTFit",
    "InfitOutfit",
    "SX2",
    "eap",
    "fit_2pl",
    "fit_gpcm",
    "fit_irt",
    "fit_rasch",
    "infit_outfit",
    "lord_wingersky",
    "quadrature",
    "s_x2",
)
