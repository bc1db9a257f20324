"""Make the bundled synthetic study cohort (src/footdrop_bayes/datasets/study_*.csv).

The original study's patient-level data were never published; only marginal percentages
(shared/reference/seed_published_results.csv). This script simulates 105-patient cohorts
from the library's simulator with the default effects (``simulate.DEFAULT_EFFECTS``, chosen
so that 6-month recovery by cause, lesion type and site resembles the published figures)
and keeps the seed whose study-style marginals (withdrawn patients excluded, as the study
did) are closest to the published ones. The result is SYNTHETIC.

Run: python scripts/make_study_cohort.py [--seeds 400]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import footdrop_bayes as fb

OUT = Path(__file__).resolve().parents[1] / "src" / "footdrop_bayes" / "datasets"

#: published 6-month recovery percentages (shared/reference/seed_published_results.csv)
PUBLISHED = {
    ("overall", "all"): 56.2,
    ("site", "root"): 44.1, ("site", "sciatic nerve"): 75.0,
    ("site", "common peroneal nerve"): 75.0, ("site", "deep peroneal nerve"): 88.9,
    ("lesion_type", "axonal"): 53.5, ("lesion_type", "demyelinating"): 100.0,
    ("cause", "trauma"): 75.6, ("cause", "radiculopathy"): 38.6,
    ("cause", "local compression"): 85.7,
}
#: the abstract does not say how many withdrew; aim for about one in eight
EXPECTED_WITHDRAWN = 13
SETTINGS = dict(follow_up=6, withdrawal_rate=0.12, missed_visit_rate=0.05)


def study_marginals(visits, patients) -> dict:
    """Percent recovered by the end of follow-up per level, withdrawn patients excluded."""
    last = visits.groupby("patient_id").agg(rec=("recovered", "max"), last=("month", "max"))
    completed = last[last["rec"] | (last["last"] >= SETTINGS["follow_up"])]
    df = patients.set_index("patient_id").join(completed, how="inner")
    out = {("overall", "all"): 100 * df["rec"].mean()}
    for factor, level in PUBLISHED:
        if factor != "overall":
            sel = df.loc[df[factor] == level, "rec"]
            out[(factor, level)] = 100 * sel.mean() if len(sel) else np.nan
    return out


def distance(sim) -> float:
    m = study_marginals(sim.visits, sim.patients)
    err = [(m[k] - v) / 10 for k, v in PUBLISHED.items()]
    sex = sim.patients["sex"].value_counts()
    last = sim.visits.groupby("patient_id").agg(rec=("recovered", "max"), last=("month", "max"))
    withdrawn = int((~last["rec"] & (last["last"] < SETTINGS["follow_up"])).sum())
    err += [(sex.get("male", 0) - 61) / 1, (sim.patients["age"].mean() - 45) / 2,
            (withdrawn - EXPECTED_WITHDRAWN) / 3]
    # group sizes implied by the published percentages (e.g. 85.7% = 12/14, 100% of ~6)
    p = sim.patients
    err += [((p["lesion_type"] == "demyelinating").sum() - 6) / 2,
            ((p["cause"] == "local compression").sum() - 18) / 3,
            ((p["site"] == "deep peroneal nerve").sum() - 9) / 2]
    return float(np.nansum(np.square(err))) if not np.isnan(err).any() else np.inf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3000)
    args = parser.parse_args()
    scores = [(distance(fb.simulate_cohort(105, random_seed=s, **SETTINGS)), s)
              for s in range(args.seeds)]
    best, seed = min(scores)
    sim = fb.simulate_cohort(105, random_seed=seed, **SETTINGS)
    sim.visits.to_csv(OUT / "study_visits.csv", index=False)
    sim.patients.to_csv(OUT / "study_patients.csv", index=False)
    truth = {**sim.truth, "settings": SETTINGS, "selection_distance": best}
    (OUT / "study_truth.json").write_text(json.dumps(truth, indent=1))
    print(f"seed {seed} (distance {best:.2f}); marginals vs published:")
    for k, v in study_marginals(sim.visits, sim.patients).items():
        print(f"  {k[0]:12s} {k[1]:22s} {v:6.1f}  published {PUBLISHED[k]:6.1f}")


if __name__ == "__main__":
    main()
