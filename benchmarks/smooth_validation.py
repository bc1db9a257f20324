"""Validation of smooth terms against known curves (issue 11; docs/validation_model.md).

Usage (under ``nice``, one run at a time)::

    PYTHONPATH=src nice -n 10 python benchmarks/smooth_validation.py \\
        --cohorts 10 --patients 600 --linear 3

- ``--cohorts`` simulated cohorts with an inverted-U age effect (optimum 40, width 15,
  depth 1: log HR -1 at 25 and 55 against 40) and a linear delay effect, each fitted with
  ``smooth=["age", "delay"]``: share of 60 ages whose 95% band covers the true curve, the
  posterior median's peak, divergences;
- ``--linear`` cohorts with the default *linear* age effect (-0.025 per year), fitted
  smooth and linear: the true line inside the smooth band, the LOO difference
  smooth - linear and its SE.

Results go to ``benchmarks/smooth_validation.csv`` (one row per fit).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import footdrop_bayes as fb
from footdrop_bayes.simulate_smooth import curve_check, inverted_u, simulate_smooth_cohort
from footdrop_bayes.summaries.compare import elpd_difference

OUT = Path(__file__).with_name("smooth_validation.csv")


def sampler(chains, draws):
    return {"chains": chains, "draws": draws, "tune": draws, "progressbar": False,
            "on_convergence_failure": "ignore"}


def _centred(m):
    """Centred basis coefficients per smooth term (the data-driven rule)."""
    return {f"centred_{t}": int(b.params["centred"].sum()) for t, b in m.data.smooth.items()}


def cohort(n, seed, curve):
    curves = {"age": curve} if curve is not None else {"delay": lambda d: -0.35 * (d - 1.5)}
    v, p, _ = simulate_smooth_cohort(n, curves=curves, random_seed=seed)
    return fb.Cohort.from_visits(v, p, follow_up=6, factors=["cause", "lesion_type"],
                                 covariates=["age", "delay"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cohorts", type=int, default=10)
    ap.add_argument("--linear", type=int, default=3)
    ap.add_argument("--patients", type=int, default=600)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=500)
    a = ap.parse_args()
    rows = []
    for seed in range(101, 101 + a.linear):
        c = cohort(a.patients, seed, None)

        def line(x):
            return -0.025 * x
        m = fb.RecoveryModel(c, smooth=["age"],
                             sampler_config=sampler(a.chains, a.draws)).fit(random_seed=seed)
        lin = fb.RecoveryModel(c, sampler_config=sampler(a.chains, a.draws)).fit(
            random_seed=seed)
        res = elpd_difference(m, lin, names=("smooth", "linear"))
        d = m.diagnostics()
        row = {"truth": "linear", "seed": seed, "patients": a.patients, **_centred(m),
               **curve_check(m, "age", line), "divergences": d["divergences"],
               "max_rhat": round(d["max_rhat"], 4), "min_ess_bulk": round(d["min_ess_bulk"]),
               "elpd_diff": round(res["elpd_diff"], 2), "se_diff": round(res["se_diff"], 2)}
        print(row, flush=True)
        rows.append(row)
    u = inverted_u(40, 15, 1.0)
    for seed in range(1, a.cohorts + 1):
        c = cohort(a.patients, seed, u)
        t0 = time.perf_counter()
        m = fb.RecoveryModel(c, smooth=["age", "delay"],
                             sampler_config=sampler(a.chains, a.draws)).fit(random_seed=seed)
        d = m.diagnostics()
        row = {"truth": "inverted-U", "seed": seed, "patients": a.patients, **_centred(m),
               **curve_check(m, "age", u), "divergences": d["divergences"],
               "max_rhat": round(d["max_rhat"], 4), "min_ess_bulk": round(d["min_ess_bulk"]),
               "seconds": round(time.perf_counter() - t0, 1)}
        print(row, flush=True)
        rows.append(row)
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with OUT.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    inv = [r for r in rows if r["truth"] == "inverted-U"]
    if inv:
        print("inverted-U: mean coverage", sum(r["coverage"] for r in inv) / len(inv),
              "cohorts with coverage >= 0.8:", sum(r["coverage"] >= 0.8 for r in inv),
              "of", len(inv), "peaks:", [round(r["peak"]) for r in inv])


if __name__ == "__main__":
    main()
