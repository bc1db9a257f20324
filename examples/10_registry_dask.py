"""A registry in Parquet files, built out of core with Dask and fitted from its counts.

Registries keep visits in many files, larger than memory. This script:

1. **writes** a simulated registry (20,000 patients; 1,000 in fast mode) as 6 Parquet
   files of visit rows, shuffled, each patient's visits spread over several files, and a
   patients file;
2. builds the cohort with **``engine="dask"``** from the glob ``visits/*.parquet``: the
   intervals, withdrawal and the collapsed (covariate pattern, interval) counts are
   computed by ``dask.dataframe``; only the collapsed table reaches this process;
3. checks it against the **pandas engine** on the same files (``.collapse()`` of the
   per-patient cohort): the same table, patient for patient;
4. **fits** the model on the collapsed cohort and writes hazard ratios, the ranking,
   recovery probabilities, Kaplan–Meier medians and Table 1, all from the counts;
5. shows the **pattern budget** and **``coarsen=``** for a continuous covariate (age);
6. builds a cohort from an **interval table** (one row per patient, lower and upper
   bound) in Parquet files with ``Cohort.from_intervals(..., engine="dask")`` and checks
   it against the pandas engine.

Run::

    python examples/10_registry_dask.py [--out DIR]

Outputs (default ``./example_output/10_registry_dask``): ``patterns.csv``,
``hazard_ratios.csv``, ``factor_ranking.csv``, ``recovery_probabilities.csv``,
``median_recovery.csv``, ``table1.csv``, ``intervals/part*.parquet``.
``FOOTDROP_EXAMPLE_FAST=1`` gives a smoke run.
To use a cluster, pass ``scheduler="tcp://host:8786"`` (see docs/registries.md).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from _example import FAST, SAMPLER, output_folder

import footdrop_bayes as fb

FACTORS = ["sex", "site", "lesion_type", "cause", "treatment"]


def write_registry(folder, n_patients: int, n_files: int = 6, seed: int = 1):
    """Simulated visits dealt at random over ``n_files`` Parquet files, and patients."""
    sim = fb.simulate_cohort(n_patients, random_seed=seed)
    rng = np.random.default_rng(seed)
    visits = sim.visits.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    part = rng.integers(0, n_files, len(visits))
    (folder / "visits").mkdir(parents=True, exist_ok=True)
    for k in range(n_files):
        visits[part == k].to_parquet(folder / "visits" / f"part{k}.parquet", index=False)
    sim.patients.to_parquet(folder / "patients.parquet", index=False)
    return str(folder / "visits" / "*.parquet"), str(folder / "patients.parquet")


def main() -> None:
    out = output_folder("10_registry_dask", __doc__)
    visits, patients = write_registry(out / "registry", 1_000 if FAST else 20_000)
    options = {"follow_up": 6, "factors": FACTORS, "covariates": []}

    # 2. out of core: only the collapsed table comes back
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        cohort = fb.Cohort.from_visits(visits, patients, engine="dask", **options)
        # 3. the pandas engine on the same files, collapsed: the same table
        per_patient = fb.Cohort.from_visits(visits, patients, **options)
        check = per_patient.collapse()
    pd.testing.assert_series_equal(cohort.weights, check.weights)
    pd.testing.assert_frame_equal(cohort.intervals, check.intervals)
    print(f"{cohort.n_patients:,} patients in {len(cohort.intervals):,} distinct "
          "(covariate pattern, interval) rows; the pandas engine agrees")
    cohort.covariates.join(cohort.intervals).assign(patients=cohort.weights).to_csv(
        out / "patterns.csv")

    # 4. the model and the summaries from the counts
    model = fb.RecoveryModel(cohort, sampler_config=SAMPLER).fit(random_seed=2)
    fb.hazard_ratios(model).to_csv(out / "hazard_ratios.csv")
    fb.factor_ranking(model).to_csv(out / "factor_ranking.csv")
    fb.recovery_probabilities(model).to_csv(out / "recovery_probabilities.csv", index=False)
    fb.median_recovery(cohort, by="cause").to_csv(out / "median_recovery.csv")
    cohort.table1().to_csv(out / "table1.csv")
    print(fb.factor_ranking(model).round(3).to_string())

    # 5. a continuous covariate: past the pattern budget, a DataError names the column;
    #    coarsen= rounds it before collapsing
    try:
        fb.Cohort.from_visits(visits, patients, engine="dask", follow_up=6,
                              factors=["cause"], covariates=["delay"], max_patterns=500)
    except fb.DataError as err:
        print(f"\nDataError: {err}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        rounded = fb.Cohort.from_visits(visits, patients, engine="dask", follow_up=6,
                                        factors=["cause"], covariates=["age", "delay"],
                                        coarsen={"age": 5, "delay": 0.5})
    print(f"age to 5 years, delay to 0.5 months: {len(rounded.intervals):,} patterns")

    # 6. an interval table in Parquet files: one row per patient, (lower, upper]
    table = per_patient.covariates.join(per_patient.intervals[
        ["last_unrecovered", "first_recovered"]]).reset_index()
    (out / "intervals").mkdir(exist_ok=True)
    shuffled = table.sample(frac=1.0, random_state=3)
    for k, rows in enumerate(np.array_split(np.arange(len(shuffled)), 3)):
        shuffled.iloc[rows].to_parquet(out / "intervals" / f"part{k}.parquet", index=False)
    spec = {"lower_col": "last_unrecovered", "upper_col": "first_recovered",
            "id_col": "patient", "factors": FACTORS, "covariates": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        from_iv = fb.Cohort.from_intervals(str(out / "intervals" / "*.parquet"),
                                           engine="dask", **spec)
        iv_check = fb.Cohort.from_intervals(str(out / "intervals" / "*.parquet"),
                                            **spec).collapse()
    pd.testing.assert_series_equal(from_iv.weights, iv_check.weights)
    print(f"interval table: {from_iv.n_patients:,} patients in {len(from_iv.intervals):,} "
          "patterns with engine='dask'; the pandas engine agrees")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
