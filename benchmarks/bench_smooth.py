"""Smooth terms: P-spline vs HSGP basis, and smooth vs linear sampling time (issue 11).

Usage (one measurement at a time, under ``nice``; numba backend, default priors)::

    PYTHONPATH=src nice -n 10 python benchmarks/bench_smooth.py bases --patients 1000
    PYTHONPATH=src nice -n 10 python benchmarks/bench_smooth.py speed --patients 5000

``bases``: one simulated cohort (inverted-U age effect, optimum 40; linear delay), fitted
with ``smooth=["age", "delay"]`` and each basis: divergences, max R-hat, min bulk ESS over
the smooth terms' parameters, ``beta`` and ``alpha``, sampling seconds and ESS per second.
``speed``: the same cohort fitted linear and with two smooth terms (default basis):
sampling time ratio. Results are appended to ``benchmarks/smooth_results.csv``.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import arviz as az
import numpy as np

import footdrop_bayes as fb
from footdrop_bayes.simulate_smooth import inverted_u, simulate_smooth_cohort

OUT = Path(__file__).with_name("smooth_results.csv")


def cohort(n: int, seed: int):
    v, p, _ = simulate_smooth_cohort(n, curves={"age": inverted_u(40, 15, 1.0)},
                                     random_seed=seed)
    return fb.Cohort.from_visits(v, p, follow_up=6, factors=["cause", "lesion_type"],
                                 covariates=["age", "delay"])


def fit(coh, smooth, basis, chains, draws, seed):
    m = fb.RecoveryModel(coh, smooth=smooth, model_config={"smooth_basis": basis},
                         sampler_config={"chains": chains, "draws": draws, "tune": draws,
                                         "progressbar": False, "nutpie_backend": "numba",
                                         "on_convergence_failure": "ignore"})
    t0 = time.perf_counter()
    m.fit(random_seed=seed)
    wall = time.perf_counter() - t0
    d = m.diagnostics()
    names = ["beta", "alpha"] + [v for v in m.idata.posterior.data_vars
                                 if "smooth" in v]
    ess = az.ess(m.idata.posterior, var_names=names).to_array()
    ess_min = float(np.nanmin(ess.values))
    st = float(m.idata.posterior.attrs["sampling_time"])
    return {"smooth": "+".join(smooth) or "linear", "basis": basis if smooth else "",
            "divergences": int(d["divergences"]), "max_rhat": round(float(d["max_rhat"]), 4),
            "min_ess_bulk": round(ess_min), "sampling_s": round(st, 1),
            "compile_s": round(float(m.compile_time or 0), 1), "wall_s": round(wall, 1),
            "ess_per_s": round(ess_min / st, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["bases", "speed"])
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    coh = cohort(a.patients, a.seed)
    runs = ([(["age", "delay"], b) for b in ("pspline", "hsgp")] if a.what == "bases"
            else [([], "pspline"), (["age", "delay"], "pspline")])
    rows = []
    for smooth, basis in runs:
        row = {"what": a.what, "patients": a.patients, "chains": a.chains,
               "draws": a.draws, "seed": a.seed, **fit(coh, smooth, basis, a.chains,
                                                      a.draws, a.seed)}
        print(row, flush=True)
        rows.append(row)
    new = not OUT.exists()
    with OUT.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        if new:
            w.writeheader()
        w.writerows(rows)
    if a.what == "speed":
        print("ratio smooth / linear sampling time:",
              round(rows[1]["sampling_s"] / rows[0]["sampling_s"], 2))


if __name__ == "__main__":
    main()
