"""CPU time and peak memory of each post-processing stage on a large cohort, no sampling.

Builds a ``RecoveryModel`` of the categorical-only cohort written by ``post_memory.py``
and gives it a synthetic posterior of the usual size (4 chains x 1000 draws, plausible
values, every variable the summaries read), then times each post-processing stage (CPU
seconds: contention-independent) and reports the process's peak RSS. Measures only the
work after sampling; the numbers of a real fit are the same size.

    PYTHONPATH=src nice -n 10 python benchmarks/post_stages.py /tmp/fdb_post_xxx
"""

from __future__ import annotations

import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr


def fake_posterior(model, chains=4, draws=1000, seed=0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    d = model.data
    coords = {"chain": np.arange(chains), "draw": np.arange(draws),
              d.time_unit: d.grid[1:]}
    data = {"alpha": (("chain", "draw", d.time_unit),
                      rng.normal(np.log(0.08), 0.05, (chains, draws, len(d.widths))))}
    for f in model.factors:
        lv = [str(x) for x in d.levels[f]]
        coords[f] = lv
        b = rng.normal(0, 0.3, len(lv)) + rng.normal(0, 0.02, (chains, draws, len(lv)))
        b -= b.mean(-1, keepdims=True)
        data[f"b_{f}"] = (("chain", "draw", f), b)
        data[f"log_hr_{f}"] = (("chain", "draw", f), b - b[..., :1])
    if model.group:
        lv = [str(x) for x in d.levels[model.group]]
        coords[model.group] = lv
        data[f"u_{model.group}"] = (("chain", "draw", model.group),
                                    rng.normal(0, 0.3, (chains, draws, len(lv))))
    return xr.Dataset(data, coords=coords)


def main(folder: str) -> int:
    import arviz as az

    import footdrop_bayes as fb
    from footdrop_bayes import plots, summaries

    warnings.simplefilter("ignore")
    folder = Path(folder)
    stages = []

    def stage(name, fn):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        stages.append((name, time.process_time() - c0, time.perf_counter() - t0,
                       resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2))
        print(f"{name:<40} CPU {stages[-1][1]:7.1f} s  wall {stages[-1][2]:7.1f} s  "
              f"peak RSS so far {stages[-1][3]:.2f} GB", flush=True)
        return out

    v = stage("read tables", lambda: (pd.read_csv(folder / "visits.csv"),
                                      pd.read_csv(folder / "patients.csv")))
    factors = [c for c in v[1].columns if c != "patient_id"]
    cohort = stage("cohort", lambda: fb.Cohort.from_visits(v[0], v[1], factors=factors,
                                                           covariates=[]))
    model = stage("model data (patterns)", lambda: fb.RecoveryModel(
        cohort, factors=[f for f in factors if f != "clinic"], group="clinic"))
    model.idata = az.InferenceData(posterior=fake_posterior(model))
    model._add_log_likelihood()
    print(model, flush=True)
    stage("LOO (pattern PSIS)", lambda: model.loo(pointwise=True))
    stage("ranking + hazard ratios", lambda: (summaries.factor_ranking(model),
                                             summaries.hazard_ratios(model)))
    stage("recovery probabilities (grid)", lambda: summaries.recovery_probabilities(
        model, times="grid"))
    stage("median recovery times", lambda: summaries.median_recovery_times(model))
    stage("subgroup model-check curves", lambda: [plots.subgroup_recovery_draws(model, f)
                                                  for f in model.factors])
    print(f"total post-processing CPU {sum(s[1] for s in stages[3:]):.1f} s; peak RSS "
          f"{max(s[3] for s in stages):.2f} GB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
