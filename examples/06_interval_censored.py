"""Interval tables: lifelines' interval-censored datasets through ``Cohort.from_intervals``.

Many users hold one row per patient with a lower and an upper bound on the event time
(lifelines' ``fit_interval_censoring``, R's icenReg, SAS ``PROC ICLIFETEST``).
``fb.Cohort.from_intervals`` reads that table the same way: the event lies in
``(lower, upper]``; an infinite or missing upper bound is right-censoring at the lower
bound; ``lower == 0`` means the event came before the first look; ``lower == upper`` is an
event observed at that time (counted in the grid interval ending there).

Two public datasets shipped with lifelines:

- ``load_diabetes()``: 731 patients with type 1 diabetes, age at diabetic nephropathy
  (``left``, ``right`` in years since onset of diabetes; 595 rows with ``left == right``,
  no censoring), by ``gender`` (Borch-Johnsen et al. 1985);
- ``load_mice()``: 144 mice, **current-status** data on lung tumours (``l``, ``u`` in
  days: a tumour found at death on day ``u`` is ``(0, u]``; none at death on day ``l`` is
  right-censored at ``l``), by environment ``grp`` (``ce`` conventional, ``ge``
  germ-free; Hoel and Walburg 1972).

For each, the script fits the Bayesian model and compares

1. the log hazard ratio with lifelines' Weibull fit to the same intervals
   (``WeibullAFTFitter().fit_interval_censoring``; the Weibull AFT model is also a PH
   model, with PH coefficient ``-beta_AFT * rho``, SE by the delta method) and with the
   maximum-likelihood fit of the library's own grouped-time PH likelihood (same baseline
   grid, no priors);
2. the cohort's cumulative probability of the event with lifelines' Turnbull
   non-parametric estimate (``KaplanMeierFitter().fit_interval_censoring``) and with the
   naive Kaplan-Meier on the upper bounds.

The mice are fitted twice: on the exact grid (every distinct bound: 126 intervals) and
coarsened to 25-day breakpoints with ``grid=`` (bounds rounded outward: 41 intervals).
docs/validation.md gives the numbers and why they differ.

Run::

    python examples/06_interval_censored.py [--out DIR]

Outputs (default ``./example_output/06_interval_censored``): ``log_hazard_ratios.csv``,
``curves.csv`` and ``curves.png``. ``FOOTDROP_EXAMPLE_FAST=1`` gives a seconds-long smoke
run.
"""

from __future__ import annotations

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _example import SAMPLER, output_folder
from lifelines import KaplanMeierFitter, WeibullAFTFitter
from lifelines.datasets import load_diabetes, load_mice
from scipy.optimize import minimize

import footdrop_bayes as fb
from footdrop_bayes import classical
from footdrop_bayes.model.likelihood import interval_loglik_numpy


def weibull_ph(df: pd.DataFrame, lower: str, upper: str, term: str) -> tuple[float, float]:
    """PH log hazard ratio of ``term`` (0/1) from lifelines' interval-censored Weibull fit."""
    data = df[[lower, upper, term]].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = WeibullAFTFitter().fit_interval_censoring(data, lower, upper)
    b, r = w.params_[("lambda_", term)], w.params_[("rho_", "Intercept")]
    rho = np.exp(r)
    cov = w.variance_matrix_.loc[[("lambda_", term), ("rho_", "Intercept")],
                                 [("lambda_", term), ("rho_", "Intercept")]].to_numpy()
    grad = np.array([-rho, -b * rho])
    return float(-b * rho), float(np.sqrt(grad @ cov @ grad))


def grouped_time_mle(cohort: fb.Cohort, factor: str) -> tuple[float, float]:
    """Maximum likelihood of the library's own likelihood: log HR of the non-reference
    level of a two-level factor, with its SE from the numerical Hessian."""
    grid = cohort.grid
    iv = cohort.intervals
    ev = iv["event"].to_numpy()
    l_idx = np.searchsorted(grid, iv["last_unrecovered"].to_numpy())
    r_idx = np.where(ev, np.searchsorted(grid, iv["first_recovered"].fillna(0).to_numpy()),
                     l_idx)
    x = (cohort.covariates[factor].cat.codes.to_numpy() == 1).astype(float)
    widths, k = np.diff(grid), len(grid) - 1
    # intervals where the log-likelihood cannot pin the baseline get a tiny ridge
    start = np.full(k + 1, np.log(ev.sum() / (iv["last_unrecovered"].sum() + 1.0)))
    start[-1] = 0.0

    def nll(theta):       # theta (..., k + 1): vectorised over leading axes
        ll = interval_loglik_numpy(theta[..., :k], theta[..., k:] * x, widths, l_idx,
                                   r_idx, ev)
        return -ll.sum(-1) + 1e-4 * np.sum(theta[..., :k] ** 2, -1)

    fit = minimize(nll, start, method="L-BFGS-B", options={"maxiter": 20000})
    return float(fit.x[k]), float(np.sqrt(np.linalg.inv(_hessian(nll, fit.x))[k, k]))


def _hessian(f, x, h=1e-4):
    """Central finite-difference Hessian of a vectorised ``f`` (one batched call)."""
    n = len(x)
    e = np.eye(n) * h
    i, j = np.triu_indices(n)
    pts = np.stack([x + e[i] + e[j], x + e[i] - e[j], x - e[i] + e[j], x - e[i] - e[j]])
    v = f(pts)
    hess = np.zeros((n, n))
    hess[i, j] = (v[0] - v[1] - v[2] + v[3]) / (4 * h * h)
    return hess + np.triu(hess, 1).T


def turnbull(df: pd.DataFrame, lower: str, upper: str, times) -> np.ndarray:
    """lifelines' Turnbull NPMLE of P(event by t), at the times ``t`` of the grid.

    lifelines reports S just before each time of its index (``NPMLE_estimate_upper``:
    the mass of a Turnbull interval ending there not yet counted), so P(event by t),
    every interval ending at or before t counted, is 1 minus that column at the first
    index time after t. Checked: so read, the estimate's log-likelihood under the
    library's likelihood equals the grid MLE's (docs/validation.md).
    """
    up = df[upper].astype(float).fillna(np.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km = KaplanMeierFitter().fit_interval_censoring(df[lower].astype(float), up)
    sf = km.survival_function_
    idx = np.searchsorted(sf.index.to_numpy(), np.asarray(times, float), side="right")
    s = np.where(idx < len(sf), sf["NPMLE_estimate_upper"].to_numpy()[np.minimum(
        idx, len(sf) - 1)], sf["NPMLE_estimate_lower"].to_numpy()[-1])
    return 1 - s


def analyse(name: str, df, lower, upper, factor, level, unit, grid=None):
    """Fit the model to one dataset; return (hazard-ratio row, curve table)."""
    t0 = time.perf_counter()
    reference = next(lv for lv in df[factor].unique() if lv != level)
    cohort = fb.Cohort.from_intervals(df, lower_col=lower, upper_col=upper,
                                      factors=[factor], covariates=[], time_unit=unit,
                                      reference={factor: reference}, grid=grid, table=name)
    print(f"{name}: {cohort!r}; grid of {len(cohort.grid) - 1} intervals")
    model = fb.RecoveryModel(cohort, sampler_config=SAMPLER).fit(random_seed=6)
    d = model.diagnostics()
    draws = model.idata.posterior[f"log_hr_{factor}"].sel({factor: str(level)})
    wb, wb_se = weibull_ph(df.assign(_x=(df[factor] == level).astype(float)), lower, upper,
                           "_x")
    mle, mle_se = grouped_time_mle(cohort, factor)
    row = {"dataset": name, "term": f"{factor}={level} vs {reference}",
           "bayes_mean": float(draws.mean()), "bayes_sd": float(draws.std()),
           "mle_same_model": mle, "mle_se": mle_se, "weibull_ph": wb, "weibull_se": wb_se,
           "divergences": d["divergences"], "max_rhat": d["max_rhat"],
           "seconds": time.perf_counter() - t0}
    times = cohort.grid[1:]
    curve = model.recovery_curves(times=times).mean("patient")
    km = classical.kaplan_meier(cohort)["recovered"]
    curves = pd.DataFrame({
        "dataset": name, "time": times, "bayes": curve.mean(("chain", "draw")).values,
        "bayes_low": curve.quantile(0.025, ("chain", "draw")).values,
        "bayes_high": curve.quantile(0.975, ("chain", "draw")).values,
        "turnbull": turnbull(df, lower, upper, times),
        "km_upper_bounds": km.sel({cohort.time_unit: times}, method="ffill").values})
    return row, curves


def main() -> None:
    out = output_folder("06_interval_censored", __doc__)
    t0 = time.perf_counter()
    pd.set_option("display.width", 160, "display.float_format", "{:.3f}".format)
    diabetes, mice = load_diabetes(), load_mice()
    runs = [analyse("diabetes", diabetes, "left", "right", "gender", "male", "year"),
            analyse("mice", mice, "l", "u", "grp", "ge", "day"),
            analyse("mice_25d", mice, "l", "u", "grp", "ge", "day",
                    grid=np.arange(0, 1100, 25))]
    table = pd.DataFrame([r for r, _ in runs]).set_index("dataset")
    table["bayes_minus_mle_in_se"] = (table["bayes_mean"] - table["mle_same_model"]) \
        / table["mle_se"]
    table["bayes_minus_weibull_in_se"] = (table["bayes_mean"] - table["weibull_ph"]) \
        / table["weibull_se"]
    table.to_csv(out / "log_hazard_ratios.csv")
    print("\nLog hazard ratios: posterior mean (SD), ML of the same likelihood, Weibull PH")
    print(table.drop(columns=["seconds"]).to_string())

    curves = pd.concat([c for _, c in runs], ignore_index=True)
    curves.to_csv(out / "curves.csv", index=False)
    print("\nCumulative probability of the event: largest |difference| from Turnbull")
    for name, c in curves.groupby("dataset", sort=False):
        print(f"  {name}: model {np.abs(c['bayes'] - c['turnbull']).max():.3f}, "
              f"KM on upper bounds {np.abs(c['km_upper_bounds'] - c['turnbull']).max():.3f}")

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
    for ax, (name, c) in zip(axes, curves.groupby("dataset", sort=False), strict=True):
        ax.fill_between(c["time"], c["bayes_low"], c["bayes_high"], step="post", alpha=0.25)
        ax.step(c["time"], c["bayes"], where="post", label="model (cohort average)")
        ax.step(c["time"], c["turnbull"], where="post", label="Turnbull (lifelines)")
        ax.step(c["time"], c["km_upper_bounds"], where="post", ls=":",
                label="KM on upper bounds")
        ax.set_title(name)
        ax.set_xlabel("years" if name == "diabetes" else "days")
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("P(event by t)")
    axes[0].legend(fontsize="small")
    fb.plots.save_figure(fig, out / "curves", formats=("png",))
    print(f"\nwrote log_hazard_ratios.csv, curves.csv and curves.png to {out} "
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
