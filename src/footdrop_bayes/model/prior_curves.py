"""Prior predictive share of the cohort recovered by each time, in bounded memory.

Two ways, chosen by cohort size (``method="auto"``):

- **simulate** (cohorts of at most :data:`SIMULATE_MAX` patients, one row each): the
  same simulation as :meth:`RecoveryModel.prior_predictive` (one recovery time per
  patient and prior draw, the same random stream) reduced draw block by draw block to
  the share recovered by each time, so that at most :data:`MAX_BLOCK` simulated times
  exist at once. Its cost grows with patients x draws.
- **expected** (larger cohorts, and collapsed cohorts whose rows stand for several
  patients): each prior draw's *expected* share, the patients' average probability of
  having recovered, summed over the distinct covariate profiles with their patient
  counts (:func:`~.profiles.weighted_curves`): the cost grows with profiles, not
  patients. It differs from a simulated share only by the simulation's binomial noise,
  whose SD is at most ``0.5 / sqrt(n)`` (0.0035 at 20,000 patients, below the
  figure's resolution). Measured at 1,000,000 patients: the simulation was the largest
  part of the report's figures (docs/performance.md).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from .predictive import simulate_intervals

#: Largest number of (draw x patient) simulated recovery times held at once.
MAX_BLOCK = 5_000_000

#: Largest cohort (patients, one row each) whose prior predictive share is simulated by
#: ``method="auto"``; larger cohorts get each draw's expected share.
SIMULATE_MAX = 20_000


#: PyTensor mode of the prior draws' forward function: few rewrites, Python linker. It
#: is called once per draw on a few dozen parameters, so its compilation dominated: on
#: the bundled cohort the default mode (all rewrites, C linker) took 2.2-3.0 s for 500
#: draws in a fresh process, this one 1.1-1.7 s, with the same draws (same random stream).
PRIOR_MODE = {"linker": "py", "optimizer": "fast_compile"}


def prior_draws(model, draws: int, rng) -> xr.Dataset:
    """Prior draws of the baseline and effects (those of
    :meth:`RecoveryModel.prior_predictive`, which uses this function)."""
    import pymc as pm
    from pytensor.compile.mode import Mode

    names = ["alpha"] + [f"b_{f}" for f in model.factors]
    names += ["beta_std"] if model.covariates else []
    names += [f"u_{model.group}"] if model.group else []
    names += [f"smooth_{t}" for t in getattr(model.data, "smooth", None) or {}]
    with model.model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm.sample_prior_predictive(draws=draws, var_names=names, random_seed=rng,
                                          compile_kwargs={"mode": Mode(**PRIOR_MODE)}
                                          ).prior


def prior_recovery_shares(model, draws: int = 500, *, times=None, random_seed=None,
                          max_block: int | None = None,
                          method: str = "auto") -> xr.DataArray:
    """Share of the cohort's patients recovered by each time, per prior draw.

    With ``method="simulate"``: equal to
    ``plots.prior_curves(model.prior_predictive(draws, random_seed=seed))`` (same seed,
    same numbers) without materialising the per-patient simulation. With
    ``"expected"``: each draw's expected share, by distinct covariate profile (see the
    module docstring). ``"auto"``: simulate up to :data:`SIMULATE_MAX` patients with one
    row each, expected shares otherwise.

    Parameters
    ----------
    model : RecoveryModel
        A model (fitted or not; only its prior and the cohort's covariates are used).
    draws : int
        Prior draws.
    times : array-like, optional
        Default 121 points from 0 to the last grid time.
    random_seed : int, optional
    max_block : int, optional
        Simulated times held at once (default :data:`MAX_BLOCK`).
    method : {"auto", "simulate", "expected"}

    Returns
    -------
    xarray.DataArray
        Dims ``chain, draw, time``: accepted by :func:`~footdrop_bayes.plots.prior_curves`
        and :func:`~footdrop_bayes.plots.plot_prior_predictive`.
    """
    if method not in ("auto", "simulate", "expected"):
        raise ValueError(f"method must be 'auto', 'simulate' or 'expected', not {method!r}")
    data = model.data
    if method == "auto":
        method = "simulate" if (data.row_weight is None
                                and data.n_patients <= SIMULATE_MAX) else "expected"
    rng = np.random.default_rng(random_seed)
    prior = prior_draws(model, draws, rng)
    grid = data.grid
    times = np.linspace(0.0, float(grid[-1]), 121) if times is None else \
        np.asarray(times, float)
    if method == "expected":
        share = _expected_shares(model, prior, times)
    else:
        share = _simulated_shares(model, prior, times, rng, max_block)
    return xr.DataArray(share, dims=("chain", "draw", "time"),
                        coords={"chain": prior.chain.values, "draw": prior.draw.values,
                                "time": times}, name="recovery_share")


def _expected_shares(model, prior: xr.Dataset, times: np.ndarray) -> np.ndarray:
    """Per draw, the patients' mean probability of having recovered by each time."""
    from .profiles import cohort_rows, distinct_profiles, weighted_curves

    rows, z, weight = cohort_rows(model)
    codes, z, _, counts = distinct_profiles(rows, z, weights=weight)
    sums = weighted_curves(model, codes, z, counts, times, draws=prior)
    return sums[:, :, 0, 0, :] / counts.sum()


def _simulated_shares(model, prior: xr.Dataset, times: np.ndarray, rng,
                      max_block: int | None) -> np.ndarray:
    """Per draw, the share of one simulated cohort recovered by each time."""
    grid = model.data.grid
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
    return share
