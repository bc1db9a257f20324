"""Time-varying treatment on simulated switching: truth recovered or not (issue 10).

1,500 simulated patients, true log hazard ratio of current surgery 0.7, monthly visits
for 6 months (5% missed visits, 10% withdrawal), static effects set to 0 so the
time-varying term is the only one. Four fits with the default sampler settings
(4 chains x 1000 draws):

- random switching (15% of unrecovered patients per visit, independent of prognosis);
- switching triggered by non-recovery (confounding by indication: an unrecorded
  prognosis Z ~ N(0, 1) on the log hazard, poor prognosis switched more);
- each again with ``lag=1`` (the model assumes a change acts one visit later than it does).

Alongside: lifelines' CoxTimeVaryingFitter on the same rows. Writes
``benchmarks/time_varying_validation.csv``; run under ``nice -n 10`` (about 2-4 minutes).

    PYTHONPATH=src python benchmarks/time_varying_validation.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import footdrop_bayes as fb
from footdrop_bayes.classical.time_varying import cox_time_varying

ZERO = {"sex": {"female": 0}, "cause": {"trauma": 0, "local compression": 0},
        "site": {"sciatic nerve": 0, "common peroneal nerve": 0, "deep peroneal nerve": 0},
        "lesion_type": {"demyelinating": 0}, "age": 0, "delay": 0}
TRUE_LOG_HR = 0.7


def cohort_for(mechanism: str, lag: int = 0, n: int = 1500, seed: int = 2026):
    """The simulated cohort of one scenario (the same seed for every scenario)."""
    visits, patients, truth = fb.simulate_cohort(
        n, effects=ZERO, switching={"mechanism": mechanism, "log_hr": TRUE_LOG_HR},
        random_seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        cohort = fb.Cohort.from_visits(visits, patients, follow_up=6, factors=[],
                                       covariates=[], time_varying=["treatment"], lag=lag)
    return cohort, truth


def run(mechanism: str, lag: int, sampler_config: dict | None = None) -> dict:
    cohort, truth = cohort_for(mechanism, lag)
    t0 = time.perf_counter()
    model = fb.RecoveryModel(cohort, sampler_config={"progressbar": False,
                                                     "on_convergence_failure": "ignore",
                                                     **(sampler_config or {})})
    model.fit(random_seed=1)
    seconds = time.perf_counter() - t0
    draws = model.idata.posterior["log_hr_treatment"].sel(treatment="surgery").values
    lo, med, hi = np.quantile(draws, [0.025, 0.5, 0.975])
    diag = model.diagnostics()
    cox = cox_time_varying(cohort)
    crow = cox[cox["term"] == "treatment"].iloc[0]
    switched = sum(m is not None for m in truth["switch_month"].values())
    return {"switching": mechanism, "lag": lag, "patients": cohort.n_patients,
            "switched": switched, "recovered": int(cohort.intervals["event"].sum()),
            "likelihood_terms": len(model.data.patterns["weight"]),
            "true_log_hr": TRUE_LOG_HR, "median": med, "low": lo, "high": hi,
            "covered": bool(lo < TRUE_LOG_HR < hi), "divergences": diag["divergences"],
            "max_rhat": diag["max_rhat"], "min_ess_bulk": diag["min_ess_bulk"],
            "cox_log_hr": crow["log_hr"], "cox_se": crow["se"], "seconds": seconds}


def main(argv=None) -> pd.DataFrame:
    rows = [run(m, lag) for m in ("random", "non-recovery") for lag in (0, 1)]
    out = pd.DataFrame(rows)
    path = Path(__file__).with_suffix(".csv")
    out.round(4).to_csv(path, index=False)
    print(out.round(3).to_string(index=False))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
