"""Predictive quantities from parameter draws: recovery curves and simulated intervals.

Everything here works on arrays of draws labelled ``(chain, draw, ...)`` and returns
labelled xarray objects; the randomness of simulations comes from ``random_seed``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def cumulative_baseline(alpha: np.ndarray, grid: np.ndarray, times: np.ndarray) -> np.ndarray:
    """H0 at ``times`` for baseline log-hazard rates ``alpha`` of shape (..., K).

    Between grid points the hazard is constant, so H0 is linear in time; beyond the last
    grid point the last interval's rate is carried forward.
    """
    widths = np.diff(grid)
    rates = np.exp(np.asarray(alpha, float))
    h0 = np.concatenate([np.zeros(rates.shape[:-1] + (1,)),
                         np.cumsum(rates * widths, axis=-1)], axis=-1)
    times = np.asarray(times, float)
    k = np.clip(np.searchsorted(grid, times, side="left"), 1, len(grid) - 1)
    start = grid[k - 1]
    return np.take(h0, k - 1, axis=-1) + np.take(rates, k - 1, axis=-1) * (times - start)


def recovery_probability(alpha: xr.DataArray, eta: xr.DataArray, grid: np.ndarray,
                         times, time_dim: str) -> xr.DataArray:
    """P(recovered by t) = 1 - exp(-H0(t) exp(eta)), dims (chain, draw, patient, time)."""
    times = np.asarray(times, float)
    h0 = cumulative_baseline(alpha.values, grid, times)          # (chain, draw, T)
    rel = np.exp(eta.values)                                      # (chain, draw, patient)
    p = -np.expm1(-h0[:, :, None, :] * rel[:, :, :, None])
    return xr.DataArray(p, dims=("chain", "draw", "patient", time_dim),
                        coords={"chain": eta["chain"].values, "draw": eta["draw"].values,
                                "patient": eta["patient"].values, time_dim: times},
                        name="recovery_probability")


def simulate_intervals(alpha: np.ndarray, eta: np.ndarray, grid: np.ndarray, *,
                       random_seed=None) -> dict:
    """Simulate recovery intervals on the grid for every draw and patient.

    Recovery times follow the piecewise-constant hazard exp(alpha_k + eta); a recovery is
    seen at the first grid point at or after it, so the interval is (L, R] on the grid.
    Patients not recovered by the last grid point are censored there (R = NaN).

    Parameters
    ----------
    alpha : ndarray, shape (chain, draw, K)
    eta : ndarray, shape (chain, draw, patient)

    Returns
    -------
    dict of ndarray, shape (chain, draw, patient)
        ``recovery_time`` (inf if beyond follow-up), ``last_unrecovered``,
        ``first_recovered`` (NaN if censored), ``event``.
    """
    rng = np.random.default_rng(random_seed)
    widths = np.diff(grid)
    rates = np.exp(alpha)                                          # (c, d, K)
    h0 = np.concatenate([np.zeros(rates.shape[:-1] + (1,)),
                         np.cumsum(rates * widths, axis=-1)], axis=-1)
    e = rng.exponential(size=eta.shape) / np.exp(eta)              # H0(T) = E / exp(eta)
    c, d, _ = eta.shape
    t = np.full(eta.shape, np.inf)
    idx = np.empty(eta.shape, dtype=np.int64)
    for i in range(c):
        for j in range(d):
            k = np.searchsorted(h0[i, j], e[i, j], side="left")   # first grid pt with H0>=E
            idx[i, j] = k
            inside = k < len(grid)
            kk = np.clip(k, 1, len(grid) - 1)
            t_ij = grid[kk - 1] + (e[i, j] - h0[i, j, kk - 1]) / rates[i, j, kk - 1]
            t[i, j] = np.where(inside, t_ij, np.inf)
    event = idx < len(grid)
    r_idx = np.minimum(idx, len(grid) - 1)
    first = np.where(event, grid[r_idx], np.nan)
    last = np.where(event, grid[np.maximum(r_idx - 1, 0)], grid[-1])
    return {"recovery_time": t, "last_unrecovered": last, "first_recovered": first,
            "event": event}


def intervals_dataset(sim: dict, chains, draws, patients) -> xr.Dataset:
    """Label simulated intervals as an xarray Dataset with dims (chain, draw, patient)."""
    coords = {"chain": np.asarray(chains), "draw": np.asarray(draws),
              "patient": np.asarray(patients)}
    return xr.Dataset({k: (("chain", "draw", "patient"), v) for k, v in sim.items()},
                      coords=coords)
