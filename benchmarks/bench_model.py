"""Benchmark: RecoveryModel (per-patient interval likelihood, nutpie) vs a naive
person-month Bernoulli PyMC model of the same hierarchy (PyMC's own NUTS).

Run:  python benchmarks/bench_model.py [--sizes 105 1000 5000] [--naive-sizes 105 1000]
      [--pymc-sizes 105] [--collapsed 100000] [--chains 4] [--draws 1000] [--tune 1000]

The naive model at 5,000 patients is not in the defaults: PyMC's NUTS on ~18,000
person-month rows takes far longer than the ~15 min budget (the design note measured
200-430 s for 2 chains; 4 chains x 1000 at 1,000 patients alone took 640 s here).

Prints, per cohort size and model: wall time of sampling, compile time, divergences,
min bulk ESS and min bulk ESS per second of sampling. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pymc as pm
import pytensor.tensor as pt

import footdrop_bayes as fb
from footdrop_bayes.model.build import _baseline, _factor_effects, data_arrays, model_coords
from footdrop_bayes.model.diagnostics import compute_diagnostics


def cohort_of(n: int, seed: int = 5, categorical_only: bool = False):
    if n == 105:
        cohort = fb.datasets.load_study_cohort()
    else:
        visits, patients, _ = fb.simulate_cohort(n, random_seed=seed)
        cohort = fb.Cohort.from_visits(visits, patients, follow_up=6)
    if categorical_only:
        cohort = cohort.subset(list(cohort.factors))
    return cohort


def naive_model(rm: fb.RecoveryModel) -> pm.Model:
    """Same priors and parameterisation; person-period Bernoulli rows, cloglog link."""
    data = rm.data
    pp = rm.cohort.person_period()
    row = rm.cohort.patient_ids.get_indexer(pp["patient"])
    grid = data.grid
    k0 = np.searchsorted(grid, pp["start"].to_numpy())
    k1 = np.searchsorted(grid, pp["stop"].to_numpy())
    codes = {f: data.codes[f][row] for f in data.factors}
    choices = rm.parameterization
    with pm.Model(coords=model_coords(data)) as model:
        alpha = _baseline(data, rm.model_config, choices["baseline"])
        weights = {k: v for k, v in data_arrays(data).items()
                   if k.startswith("factor_weights_")}          # the library's constraint
        eta = _factor_effects(data, rm.model_config, choices, codes, weights)
        if data.covariates:
            beta_std = pm.Normal("beta_std", 0.0, rm.model_config["beta_sigma"],
                                 dims="covariate")
            eta = eta + pt.dot(data.z[row], beta_std)
        h0 = pt.concatenate([pt.zeros((1,)), pt.cumsum(pt.exp(alpha) * data.widths)])
        p = 1 - pt.exp(-(h0[k1] - h0[k0]) * pt.exp(eta))
        pm.Bernoulli("y", p=pt.clip(p, 1e-12, 1 - 1e-12), observed=pp["event"].to_numpy())
    return model


def textbook_model(cohort) -> tuple[pm.Model, int]:
    """The model a PyMC user writes first; returns ``(model, person-period rows)``.

    Person-period Bernoulli rows (:meth:`Cohort.person_period`), complementary log-log
    link, one intercept per grid interval (``Normal(0, 5)``), ``Normal(0, 2.5)``
    coefficients on dummy-coded factors (reference level dropped) and standardised
    numeric covariates, no hierarchy. A row spanning several grid intervals (missed
    visits) has the summed hazard of its intervals.
    """
    import pandas as pd

    pp = cohort.person_period()
    grid = np.asarray(cohort.grid, float)
    k0 = np.searchsorted(grid, pp["start"].to_numpy())
    k1 = np.searchsorted(grid, pp["stop"].to_numpy())
    x = pd.get_dummies(pp[list(cohort.factors)], drop_first=True).astype(float)
    for c in cohort.numeric:
        v = pp[c].to_numpy(float)
        x[c] = (v - v.mean()) / v.std()
    widths = np.diff(grid)
    coords = {"interval": grid[1:].tolist(), "term": list(x.columns)}
    with pm.Model(coords=coords) as model:
        a = pm.Normal("month_intercept", 0.0, 5.0, dims="interval")
        b = pm.Normal("coef", 0.0, 2.5, dims="term")
        h0 = pt.concatenate([pt.zeros((1,)), pt.cumsum(pt.exp(a) * widths)])
        eta = pt.dot(x.to_numpy(), b)
        p = 1 - pt.exp(-(h0[k1] - h0[k0]) * pt.exp(eta))
        pm.Bernoulli("y", p=pt.clip(p, 1e-12, 1 - 1e-12), observed=pp["event"].to_numpy())
    return model, len(pp)


def report(label, n, terms, idata, seconds, compile_s):
    d = compute_diagnostics(idata)
    ess_s = d["min_ess_bulk"] / seconds
    print(f"| {n:>7} | {label:<34} | {terms:>7} | {compile_s:7.1f} | {seconds:8.1f} | "
          f"{d['divergences']:>4} | {d['max_rhat']:.3f} | {d['min_ess_bulk']:7.0f} | "
          f"{ess_s:8.1f} |", flush=True)
    return d, ess_s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="*", default=[105, 1000, 5000])
    ap.add_argument("--naive-sizes", type=int, nargs="*", default=[105, 1000])
    ap.add_argument("--pymc-sizes", type=int, nargs="*", default=[105])
    ap.add_argument("--collapsed", type=int, nargs="*", default=[100_000])
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    scfg = {"chains": args.chains, "draws": args.draws, "tune": args.tune,
            "progressbar": False, "on_convergence_failure": "ignore"}
    import datetime
    import os
    import platform

    print(f"{datetime.date.today()} {platform.machine()} {os.cpu_count()} cores, "
          f"chains={args.chains} draws={args.draws} tune={args.tune}")
    print("| patients | model | lik. terms | compile s | sample s | div | max R-hat | "
          "min bulk ESS | ESS/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sorted(set(args.sizes) | set(args.naive_sizes) | set(args.pymc_sizes)):
        cohort = cohort_of(n)
        rm = fb.RecoveryModel(cohort, sampler_config=scfg)
        if n in args.sizes:
            rm.fit(random_seed=args.seed)
            report("RecoveryModel (nutpie)", n, len(rm.data.patterns["weight"]), rm.idata,
                   rm.idata.posterior.attrs["sampling_time"], rm.compile_time)
        if n in args.pymc_sizes:
            # PyMC's own NUTS on the same model: pytensor C compilation instead of numba
            alt = fb.RecoveryModel(cohort, sampler_config=scfg | {"sampler": "pymc"})
            alt.fit(random_seed=args.seed)
            # pm.sample compiles inside: its "sample s" includes the C compilation
            report("RecoveryModel (pymc NUTS, incl. compile)", n,
                   len(alt.data.patterns["weight"]), alt.idata,
                   alt.idata.posterior.attrs["sampling_time"], float("nan"))
        if n in args.naive_sizes:
            model = naive_model(rm)
            t0 = time.perf_counter()
            with model:
                idata = pm.sample(draws=args.draws, tune=args.tune, chains=args.chains,
                                  cores=min(args.chains, 2), random_seed=args.seed,
                                  progressbar=False, compute_convergence_checks=False,
                                  target_accept=rm.sampler_config["target_accept"])
            seconds = time.perf_counter() - t0
            report("naive person-month Bernoulli (pymc)", n,
                   len(rm.cohort.person_period()), idata, seconds, float("nan"))
    for n in args.collapsed:
        cohort = cohort_of(n, categorical_only=True)
        rm = fb.RecoveryModel(cohort, sampler_config=scfg).fit(random_seed=args.seed)
        report("RecoveryModel, categorical, collapsed", n, len(rm.data.patterns["weight"]),
               rm.idata, rm.idata.posterior.attrs["sampling_time"], rm.compile_time)


if __name__ == "__main__":
    main()
