"""Cost of the withdrawal sensitivity analysis at scale (no MCMC: a synthetic posterior).

Simulates cohorts with informative withdrawal, builds a ``RecoveryModel`` whose posterior
is ``chains x draws`` copies of the true parameters plus noise (so the cost is that of a
real posterior of that size), and times ``summaries.withdrawal_analysis`` (the sensitivity
table, differences, the tipping-point search and the four-way comparison), with the peak
memory traced by ``tracemalloc``. Prints one line per cohort size.

    python benchmarks/bench_withdrawal.py --sizes 105 1000 5000 --draws 1000 --chains 4
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import arviz as az
import numpy as np
import xarray as xr

import footdrop_bayes as fb
from footdrop_bayes.summaries import withdrawal as W


def synthetic_model(n: int, chains: int, draws: int, seed: int = 0):
    sim = fb.simulate_cohort(n, random_seed=seed, withdrawal={
        "delta": -np.inf, "rate": {"treatment": {"surgery": 0.5}}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohort = fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6)
    m = fb.RecoveryModel(cohort)
    rng = np.random.default_rng(seed)
    eff = sim.truth["effects"]

    def noisy(x):
        x = np.asarray(x, float)
        return x + 0.1 * rng.standard_normal((chains, draws) + x.shape)

    post = {f"b_{f}": (("chain", "draw", f), noisy([eff[f][str(lv)]
                                                    for lv in m.data.levels[f]]))
            for f in m.factors}
    sc = m.covariate_scaling.loc[m.covariates]
    post["beta_std"] = (("chain", "draw", "covariate"),
                        noisy([eff[c] for c in m.covariates] * sc["sd"].to_numpy()))
    post["alpha"] = (("chain", "draw", "interval"),
                     noisy(np.log(sim.truth["baseline_hazard"])))
    m.idata = az.InferenceData(posterior=xr.Dataset(
        post, coords={"chain": np.arange(chains), "draw": np.arange(draws)}))
    return m


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[105, 1000, 5000])
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=1000)
    args = p.parse_args()
    for n in args.sizes:
        m = synthetic_model(n, args.chains, args.draws)
        n_w = int(m.cohort.intervals["withdrawn"].sum())
        tracemalloc.start()
        t = time.perf_counter()
        w = W.withdrawal_analysis(m)
        seconds = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(f"{n:>6} patients ({n_w} withdrawn), {args.chains}x{args.draws} draws: "
              f"{seconds:6.1f} s, peak {peak:6.0f} MB traced; "
              f"{len(w.table)} table rows, {len(w.tipping)} tipping rows")


if __name__ == "__main__":
    main()
