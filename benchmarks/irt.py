"""IRT calibration timings: a large 2PL, and the Rasch fit against a plain reference EM.

Run:  /work/venv/bin/python benchmarks/irt.py [--n 1000000] [--items 100] [--runs 3]

Prints the median of ``--runs`` runs for each figure. The reference Rasch implementation
below is deliberately plain — a Python loop over candidates in the E-step and a scalar
Newton loop per item in the M-step — and is used only to check that the vectorised code
lands on the same maximum (it fits the same model: a = 1, latent variance free, the same
61-point grid), and to show what the vectorisation buys.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from examvault.stats.irt import fit_2pl, fit_rasch, quadrature


def simulate_2pl(n: int, n_items: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """0/1 responses (int8) from a 2PL, generated in blocks so memory stays at the int8 matrix."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.6, 2.0, n_items)
    d = rng.normal(0.0, 1.0, n_items)
    x = np.empty((n, n_items), dtype=np.int8)
    for start in range(0, n, 100_000):
        theta = rng.standard_normal(min(100_000, n - start)).astype(np.float32)
        eta = theta[:, None] * a.astype(np.float32) + d.astype(np.float32)
        x[start : start + theta.size] = rng.random(eta.shape, dtype=np.float32) < 1.0 / (1.0 + np.exp(-eta))
    return x, a, d


def reference_rasch(x: np.ndarray, tol: float = 1e-5, max_iter: int = 5000) -> tuple[np.ndarray, float]:
    """Plain Bock–Aitkin EM for the Rasch model with free latent variance.

    θ = σ·z on the standard-normal grid; E-step person by person, M-step one item at a time
    (Newton on d_j with σ fixed) and then σ (Newton with the d's fixed) — an ECM scheme that
    converges to the same maximum as the joint Newton step in examvault.stats.irt.
    """
    z, w = quadrature()
    n, n_items = x.shape
    p_plus = x.mean(axis=0)
    d = np.log(p_plus / (1 - p_plus))
    sigma = 1.0
    for _ in range(max_iter):
        # E-step: expected number right (r1) and number answering (nq) at each grid point
        r1 = np.zeros((n_items, z.size))
        nq = np.zeros(z.size)
        for i in range(n):
            p = 1.0 / (1.0 + np.exp(-(sigma * z[None, :] + d[:, None])))
            like = np.prod(np.where(x[i][:, None] == 1, p, 1.0 - p), axis=0) * w
            post = like / like.sum()
            nq += post
            r1 += x[i][:, None] * post[None, :]
        old = np.append(d, sigma)
        # M-step, items one at a time
        for j in range(n_items):
            for _ in range(20):
                p = 1.0 / (1.0 + np.exp(-(sigma * z + d[j])))
                grad = float((r1[j] - nq * p).sum())
                hess = -float((nq * p * (1 - p)).sum())
                d[j] -= grad / hess
                if abs(grad / hess) < 1e-10:
                    break
        for _ in range(20):
            p = 1.0 / (1.0 + np.exp(-(sigma * z[None, :] + d[:, None])))
            grad = float(((r1 - nq * p) * z).sum())
            hess = -float((nq * p * (1 - p) * z * z).sum())
            sigma -= grad / hess
            if abs(grad / hess) < 1e-10:
                break
        if np.abs(np.append(d, sigma) - old).max() < tol:
            break
    return d, sigma * sigma


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="candidates in the 2PL run")
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rasch-n", type=int, default=2000)
    parser.add_argument("--rasch-items", type=int, default=40)
    parser.add_argument("--skip-2pl", action="store_true")
    args = parser.parse_args(argv)
    print("command:", " ".join([sys.executable, *sys.argv]))

    if not args.skip_2pl:
        x, a, d = simulate_2pl(args.n, args.items)
        t, fit = median_time(lambda: fit_2pl(x, se=False, tol=1e-4), args.runs)
        assert hasattr(fit, "a")
        print(
            f"2PL  {args.n:>9,} × {args.items} items: median {t:7.2f} s over {args.runs} runs; "
            f"{fit.n_iter} E-steps ({t / fit.n_iter:.2f} s each), converged={fit.converged}, "
            f"max |â − a| = {np.abs(fit.a - a).max():.3f}, max |d̂ − d| = {np.abs(fit.d[:, 0] - d).max():.3f}"
        )
        del x

    rng = np.random.default_rng(11)
    b = rng.normal(0, 1, args.rasch_items)
    theta = rng.normal(0, math.sqrt(0.8), args.rasch_n)
    xr = (rng.random((args.rasch_n, args.rasch_items)) < 1 / (1 + np.exp(-(theta[:, None] - b)))).astype(np.int8)
    t_fast, fit = median_time(lambda: fit_rasch(xr, se=False, tol=1e-6), args.runs)
    t_ref, ref = median_time(lambda: reference_rasch(xr, tol=1e-6), args.runs)
    d_ref, var_ref = ref  # type: ignore[misc]
    diff = max(float(np.abs(fit.d[:, 0] - d_ref).max()), abs(fit.latent_variance - var_ref))
    print(
        f"Rasch {args.rasch_n:,} × {args.rasch_items} items: vectorised median {t_fast:.3f} s, "
        f"plain reference median {t_ref:.3f} s (×{t_ref / t_fast:.0f}); "
        f"max parameter difference {diff:.2e} (latent variance {fit.latent_variance:.4f} vs {var_ref:.4f})"
    )


if __name__ == "__main__":
    main()
