"""Prior predictive share of the cohort recovered by each time, in bounded memory.

The same simulation as :meth:`RecoveryModel.prior_predictive` (one recovery time per
patient and prior draw, the same random stream) reduced draw block by draw block to the
share of the cohort recovered by each time, so a large cohort never needs a patients x
draws array: at most :data:`MAX_BLOCK` simulated times exist at once.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from .predictive import simulate_intervals

#: Largest number of (draw x patient) simulated recovery times held at once.
MAX_BLOCK = 5_000_000


def prior_draws(model, draws: int, rng) -> xr.Dataset:
    """Prior draws of the baseline and effects (as :meth:`RecoveryModel.prior_predictive`)."""
    import pymc as pm

    names = ["alpha"] + [f"b_{f}" for f in model.factors]
    names += ["beta_std"] if model.covariates else []
    names += [f"u_{model.group}"] if model.group else []
    names += [f"smooth_{t}" for t in getattr(model.data, "smooth", None) or {}]
    with model.model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm.sample_prior_predictive(draws=draws, var_names=names,
                                          random_seed=rng).prior


def prior_recovery_shares(model, draws: int = 500, *, times=None, random_seed=None,
                          max_block: int | None = None) -> xr.DataArray:
    """Share of the cohort's patients recovered by each time, per prior draw.

    Equal to ``plots.prior_curves(model.prior_predictive(draws, random_seed=seed))``
    (same seed, same numbers) without materialising the per-patient simulation.

    Parameters
    ----------
    model : RecoveryModel
        A model (fitted or not; only its prior and the cohort's covariates are used).
    draws : int
        Prior draws.
    times : array-like, optional
        Default 121 points from 0 to the last grid time.
    random_seed : int, optional

    Returns
    -------
    xarray.DataArray
        Dims ``chain, draw, time``: accepted by :func:`~footdrop_bayes.plots.prior_curves`
        and :func:`~footdrop_bayes.plots.plot_prior_predictive`.
    """
    rng = np.random.default_rng(random_seed)
    prior = prior_draws(model, draws, rng)
    grid = model.data.grid
    times = np.linspace(0.0, float(grid[-1]), 121) if times is None else \
        np.asarray(times, float)
    n = model.data.n_patients
    alpha = prior["alpha"].values
    c, d = alpha.shape[:2]
    share = np.zeros((c, d, len(times)))
    step = max(1, int(max_block or MAX_BLOCK) // max(1, n))
    for ci in range(c):
        for start in range(0, d, step):
            sl = slice(start, min(d, start + step))
            block = prior.isel(chain=[ci], draw=sl)
            eta = model._eta(block, model.data.codes, model.data.z)
            rt = simulate_intervals(block["alpha"].values, eta, grid,
                                    random_seed=rng)["recovery_time"]
            # share with recovery time <= t: count times falling at or below each t
            k = np.searchsorted(times, rt[0], side="left")          # first t >= time
            counts = np.stack([np.bincount(row, minlength=len(times) + 1)[:len(times)]
                               for row in k])
            share[ci, sl] = np.cumsum(counts, axis=-1) / n
    return xr.DataArray(share, dims=("chain", "draw", "time"),
                        coords={"chain": prior.chain.values, "draw": prior.draw.values,
                                "time": times}, name="recovery_share")
