"""Treatment that changes at visits: the truth recovered, and confounding by indication.

This script:

1. **simulates** two 600-patient cohorts in which treatment changes from conservative to
   surgery at monthly visits, with a true log hazard ratio of current surgery of 0.7:
   switching at **random** (15% of unrecovered patients per visit), and switching
   **triggered by non-recovery** (patients with an unrecorded poor prognosis are switched
   more: confounding by indication);
2. builds each cohort with ``time_varying=["treatment"]`` (the value recorded at a visit
   acts from that visit to the next) and fits the model (``RecoveryModel`` returns the
   time-varying model);
3. puts the posterior hazard ratio of the current treatment and lifelines'
   ``CoxTimeVaryingFitter`` beside the truth: recovered under random switching, biased
   when switching is triggered by non-recovery;
4. computes recovery under **static regimes** (never switch, surgery from month 0 or 3,
   as observed) by g-computation, and draws the **swimmer plot**.

Run::

    python examples/11_time_varying_treatment.py [--out DIR]

Outputs (default ``./example_output/11_time_varying_treatment``): ``truth_vs_estimates.csv``,
``regimes.csv``, ``swimmer.png`` and ``regimes.png``. ``FOOTDROP_EXAMPLE_FAST=1`` gives a
smoke run.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from _example import SAMPLER, output_folder

import footdrop_bayes as fb
from footdrop_bayes import plots
from footdrop_bayes.classical.time_varying import cox_time_varying
from footdrop_bayes.plots.swimmer import plot_regime_curves
from footdrop_bayes.summaries import time_varying as stv

TRUE_LOG_HR = 0.7


def fit(mechanism: str):
    sim = fb.simulate_cohort(600, random_seed=10, switching={"mechanism": mechanism,
                                                             "log_hr": TRUE_LOG_HR})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)   # patients seen only at referral
        cohort = fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6,
                                       factors=["cause", "lesion_type"],
                                       covariates=["age", "delay"],
                                       time_varying=["treatment"])
    model = fb.RecoveryModel(cohort, sampler_config=SAMPLER).fit(random_seed=1)
    return cohort, model


def main() -> None:
    out = output_folder("11_time_varying_treatment", __doc__)
    rows, models = [], {}
    for mechanism in ("random", "non-recovery"):
        cohort, model = fit(mechanism)
        models[mechanism] = model
        draws = model.idata.posterior["log_hr_treatment"].sel(treatment="surgery").values
        lo, med, hi = np.quantile(draws, [0.025, 0.5, 0.975])
        cox = cox_time_varying(cohort).set_index(["term", "level"]).loc[
            ("treatment", "surgery")]
        rows.append({"switching": mechanism, "true_log_hr": TRUE_LOG_HR,
                     "bayes_median": med, "bayes_low": lo, "bayes_high": hi,
                     "cox_log_hr": cox["log_hr"], "cox_se": cox["se"],
                     "divergences": model.diagnostics()["divergences"]})
    table = pd.DataFrame(rows)
    table.to_csv(out / "truth_vs_estimates.csv", index=False)
    print("Log hazard ratio of current surgery against conservative treatment:")
    print(table.round(3).to_string(index=False))

    model = models["random"]
    curves = stv.regime_recovery(model, {"never switch": "never switch",
                                         "surgery from 0": ("surgery", 0.0),
                                         "surgery from 3": ("surgery", 3.0),
                                         "as observed": "as observed"})
    regimes = stv.regime_table(curves)
    regimes.to_csv(out / "regimes.csv", index=False)
    print("\nRecovery by month 6 under static regimes (random switching):")
    print(regimes[regimes["time"] == 6].round(3).to_string(index=False))
    plots.save_figure(plot_regime_curves(regimes), out / "regimes", formats=("png",))
    plots.save_figure(fb.plot_swimmer(model.cohort), out / "swimmer", formats=("png",))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
