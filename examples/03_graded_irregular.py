"""Graded outcomes (MRC strength 0–5) and irregular visits.

Real clinics rarely record "recovered: yes/no" at exact monthly visits. They grade ankle
dorsiflexion strength on the MRC scale (0 = no contraction ... 5 = normal) and see
patients when they can: visits drift, some are missed, some patients stop coming. This
script

1. takes a simulated cohort's **true recovery times** (``fb.simulate_cohort``) and builds
   such a visits table: visits every 0.5–1.5 months (rounded to a quarter month), 15 % of
   them missed, withdrawal at random, and an MRC grade at each visit (grade 4 or more once
   the patient has recovered, 0–3 before);
2. turns it into recovery intervals with ``fb.Cohort.from_visits(...,
   status_col="mrc", recovered_when=">=4")`` and checks that every true recovery time lies
   in its interval ``(last_unrecovered, first_recovered]``;
3. shows the grid (every distinct visit time), the widths of the intervals, and how the
   threshold defines the outcome (``>=3`` vs ``>=4``);
4. fits the model and compares its hazard ratios with the truth and with a Cox model that
   treats the first recovered visit as the recovery time.

With the default sampler settings this fit (23 narrow grid intervals) may end with a few
divergent transitions and a ``ConvergenceWarning`` that says what to try (a higher
``target_accept``); the diagnostics are printed either way.

Run::

    python examples/03_graded_irregular.py [--out DIR]

Outputs (default ``./example_output/03_graded_irregular``): ``visits.csv`` (the graded,
irregular visits), ``intervals.csv``, ``hazard_ratios.csv`` and ``interval_widths.png``.
``FOOTDROP_EXAMPLE_FAST=1`` gives a seconds-long smoke run.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from _example import SAMPLER, output_folder

import footdrop_bayes as fb
from footdrop_bayes import classical, plots, summaries

N_PATIENTS, FOLLOW_UP, SEED = 250, 6.0, 3
FACTORS, COVARIATES = ["cause", "lesion_type"], ["age", "delay"]



def mrc_grade(t: np.ndarray, recovery_time: float, rng: np.random.Generator) -> np.ndarray:
    """MRC grade at times ``t``: 0–3 rising towards recovery, then 4, and 5 a month on."""
    before = np.minimum(3, np.floor(4 * t / recovery_time + rng.uniform(0, 0.5, t.size)))
    after = np.where(t - recovery_time >= 1.0, 5, 4)
    grade = np.where(t >= recovery_time, after, before).astype(int)
    return np.maximum.accumulate(grade)        # strength does not fall back


def irregular_visits(recovery_time: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Visits every 0.5–1.5 months (quarter-month resolution), missed visits, withdrawal."""
    rows = []
    for pid, t_rec in recovery_time.items():
        gaps = rng.uniform(0.5, 1.5, 12)
        times = np.round(np.concatenate([[0.0], np.cumsum(gaps)]) * 4) / 4
        times = times[times <= FOLLOW_UP]
        if times[-1] < FOLLOW_UP:
            times = np.append(times, FOLLOW_UP)          # the planned final visit
        attended = rng.random(times.size) >= 0.15
        attended[0] = True
        attended[-1] = attended[-1] or rng.random() < 0.9   # most come to the last one
        times = times[attended & (times <= rng.exponential(40.0))]  # ~14 % withdraw
        grade = mrc_grade(times, t_rec, rng)
        seen = np.flatnonzero(grade >= 4)
        stop = seen[0] + 1 if seen.size else times.size   # follow-up ends at recovery
        rows += [(pid, t, g) for t, g in zip(times[:stop], grade[:stop], strict=True)]
    return pd.DataFrame(rows, columns=["patient_id", "month", "mrc"])


def main() -> None:
    out = output_folder("03_graded_irregular", __doc__)
    t0 = time.perf_counter()
    pd.set_option("display.width", 140, "display.float_format", "{:.3f}".format)
    rng = np.random.default_rng(SEED)
    sim = fb.simulate_cohort(N_PATIENTS, random_seed=SEED)
    visits = irregular_visits(sim.truth["recovery_time"], rng)
    patients = sim.patients[["patient_id", *FACTORS, *COVARIATES]]
    visits.to_csv(out / "visits.csv", index=False)
    n_vis = visits.groupby("patient_id").size()
    recovered = visits.loc[visits["mrc"] >= 4, "patient_id"]
    example = n_vis[n_vis.index.isin(recovered)].idxmax()
    print(f"The visits table: patient {example} (true recovery at "
          f"{sim.truth['recovery_time'][example]:.2f} months)")
    print(visits[visits["patient_id"] == example].to_string(index=False))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)   # patients with no visit left
        cohort = fb.Cohort.from_visits(
            visits, patients, status_col="mrc", recovered_when=">=4", follow_up=FOLLOW_UP,
            factors=FACTORS, covariates=COVARIATES,
            reference={"cause": "radiculopathy", "lesion_type": "axonal"})
    iv = cohort.intervals
    iv.to_csv(out / "intervals.csv")
    print(f"\n{cohort}")
    print(f"grid: {len(cohort.grid)} distinct visit times from 0 to {cohort.grid[-1]:g} "
          f"months (every quarter month), so {len(cohort.grid) - 1} baseline intervals")

    # every true recovery time lies in its interval
    t_true = pd.Series(sim.truth["recovery_time"]).loc[iv.index]
    inside = np.where(iv["event"], (t_true > iv["last_unrecovered"])
                      & (t_true <= iv["first_recovered"]), t_true > iv["last_unrecovered"])
    print(f"true recovery time inside (L, R] (or after L when censored): "
          f"{int(inside.sum())} of {len(iv)} patients")
    assert inside.all(), "an interval does not contain its true recovery time"

    width = (iv["first_recovered"] - iv["last_unrecovered"])[iv["event"]]
    print(f"interval widths of the {len(width)} recoveries (months): median "
          f"{width.median():.2f}, 90th percentile {width.quantile(0.9):.2f}, max "
          f"{width.max():.2f}; imputing recovery at the first recovered visit would place "
          f"it on average {(iv['first_recovered'] - t_true)[iv['event']].mean():.2f} months "
          "late")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        lenient = fb.Cohort.from_visits(visits, patients, status_col="mrc",
                                        recovered_when=">=3", follow_up=FOLLOW_UP,
                                        factors=FACTORS, covariates=COVARIATES)
    print(f"the threshold is the outcome's definition: MRC >= 4 gives "
          f"{int(iv['event'].sum())} recoveries, MRC >= 3 gives "
          f"{int(lenient.intervals['event'].sum())} (earlier, too)\n")

    # --- fit; compare with the truth and with Cox on first-recovered-visit times ----------
    print(f"fitting the model: {SAMPLER['chains']} chains x {SAMPLER['draws']} draws ...")
    model = fb.RecoveryModel(cohort, sampler_config=SAMPLER).fit(random_seed=SEED)
    d = model.diagnostics()
    print(f"  divergences {d['divergences']}, max R-hat {d['max_rhat']:.3f}, min bulk ESS "
          f"{d['min_ess_bulk']:.0f}; baseline: {model.parameterization['baseline']}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        cox = classical.cox(cohort).table.set_index(["term", "level"])["hr"]
    hrs = summaries.hazard_ratios(model)
    hrs["cox_hr"] = [cox.get((t, lv if isinstance(lv, str) else ""), np.nan)
                     for t, lv in zip(hrs["term"], hrs["level"], strict=True)]
    eff = sim.truth["effects"]
    hrs["true_hr"] = [np.exp(eff[t][lv] if isinstance(eff[t], dict) else eff[t])
                      for t, lv in zip(hrs["term"], hrs["level"], strict=True)]
    hrs.to_csv(out / "hazard_ratios.csv", index=False)
    print("\nHazard ratios of recovery: model (95% interval), Cox, truth")
    print(hrs.drop(columns="reference").round(3).to_string(index=False))

    with plots.journal_style():
        fig = plots.style.new_figure("single", height=2.2)
        ax = fig.add_subplot()
        ax.hist(width, bins=np.arange(0, width.max() + 0.5, 0.25), color="0.5")
        ax.set_xlabel("Width of the recovery interval (months)")
        ax.set_ylabel("Patients")
    plots.save_figure(fig, out / "interval_widths", formats=("png",))
    print(f"\nwrote visits.csv, intervals.csv, hazard_ratios.csv and interval_widths.png "
          f"to {out} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
