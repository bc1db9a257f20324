"""How much does ``coarsen=`` change the fit? Coarsened against exact, on a simulated cohort.

    nice -n 10 python benchmarks/coarsen_error.py [--patients 3000] [--draws 500]

Simulates a cohort with a continuous age effect (known truth), fits the model on the exact
per-patient cohort and on cohorts with age rounded to 1, 5 and 10 years (collapsed), same
seed and settings, and prints per coefficient the posterior mean and SD of each fit and the
difference from the exact fit in exact-posterior SDs, and the number of likelihood terms.
Results are recorded in docs/registries.md; asserts nothing.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

import footdrop_bayes as fb


def summary(model) -> pd.DataFrame:
    post = model.idata.posterior
    rows = {}
    beta = post["beta"].sel(covariate="age")
    rows["beta_age (per year)"] = (float(beta.mean()), float(beta.std()))
    for f in ("cause", "treatment"):
        b = post[f"b_{f}"]
        for lv in b[f].values[1:]:
            d = b.sel({f: lv}) - b.isel({f: 0})
            rows[f"{f}[{lv}]"] = (float(d.mean()), float(d.std()))
    return pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "sd"])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=3000)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--seed", type=int, default=21)
    args = ap.parse_args(argv)
    sim = fb.simulate_cohort(args.patients, random_seed=args.seed)
    opts = {"follow_up": 6, "factors": ["cause", "treatment"], "covariates": ["age"]}
    cfg = {"chains": 2, "draws": args.draws, "tune": args.draws, "progressbar": False,
           "on_convergence_failure": "ignore"}
    fits = {}
    for step in (None, 1, 5, 10):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cohort = fb.Cohort.from_visits(sim.visits, sim.patients, **opts,
                                           coarsen=None if step is None else {"age": step})
            t = time.perf_counter()
            model = fb.RecoveryModel(cohort, sampler_config=cfg).fit(random_seed=5)
        name = "exact" if step is None else f"age to {step} y"
        fits[name] = summary(model)
        print(f"{name}: {len(model.data.patterns['weight']):,} likelihood terms, "
              f"{time.perf_counter() - t:.0f} s", flush=True)
    exact = fits["exact"]
    table = pd.concat({k: v.assign(diff_in_sd=(v["mean"] - exact["mean"]) / exact["sd"])
                       for k, v in fits.items()}, axis=1)
    print(table.round(4).to_string())
    print("true effects:", {k: sim.truth["effects"][k] for k in ("age", "cause", "treatment")})


if __name__ == "__main__":
    main()
