"""Refit many cohorts of one structure: the model compiles once per process.

A bootstrap (or cross-validation, a sensitivity analysis, a simulation study) refits the
same model to new data again and again. ``RecoveryModel.fit`` compiles a model structure
once per process (:mod:`footdrop_bayes.model.compile_cache`): a cohort with the same
factors and levels, covariates, grid, follow-up and centred / non-centred choices only
swaps the data arrays of the compiled model, in milliseconds.

This script fits the bundled cohort, then refits it to bootstrap resamples of its
patients (drawn with replacement), and records for every fit whether the compiled model
was reused, the compile and sampling seconds, and the posterior median hazard ratio of
every level. The spread of those medians over resamples is the bootstrap's view of how
much the estimate depends on which patients happened to be recruited.

Run::

    python examples/09_bootstrap_compile_once.py [--out DIR]

Outputs (default ``./example_output/09_bootstrap_compile_once``): ``fits.csv`` (one row
per fit: reused, compile and sampling seconds) and ``bootstrap_hazard_ratios.csv`` (per
level: the full-cohort median HR and the 2.5%, 50% and 97.5% bootstrap quantiles of the
median). ``FOOTDROP_EXAMPLE_FAST=1`` gives a short smoke run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _example import FAST, SAMPLER, output_folder

import footdrop_bayes as fb
from footdrop_bayes import summaries
from footdrop_bayes.model import compile_cache

#: nutpie's numba backend even in fast mode: compiling once is what this example shows
#: (the JAX backend, the default for small models, compiles in seconds per fit instead)
CONFIG = SAMPLER | {"nutpie_backend": "numba"} | (
    {"sampler": "nutpie", "chains": 2, "draws": 100, "tune": 100} if FAST else {})
RESAMPLES = 2 if FAST else 20


def resample(cohort: fb.Cohort, rng: np.random.Generator) -> fb.Cohort:
    """The cohort's patients drawn with replacement (new ids)."""
    pick = rng.integers(0, cohort.n_patients, cohort.n_patients)
    ids = pd.Index([f"R{i:04d}" for i in range(len(pick))], name="patient")
    return fb.Cohort(cohort.intervals.iloc[pick].set_axis(ids),
                     cohort.covariates.iloc[pick].set_axis(ids),
                     factors=list(cohort.factors), numeric=list(cohort.numeric),
                     grid=cohort.grid, follow_up=cohort.follow_up,
                     time_unit=cohort.time_unit)


def fit_row(name: str, model: fb.RecoveryModel) -> dict:
    return {"fit": name, "patterns": len(model.data.patterns["weight"]),
            "reused": model.compile_reused, "backend": model.nutpie_backend,
            "compile_s": round(model.compile_time, 3),
            "sample_s": round(model.idata.posterior.attrs["sampling_time"], 2)}


def main() -> None:
    out = output_folder("09_bootstrap_compile_once", __doc__)
    rng = np.random.default_rng(2024)
    cohort = fb.datasets.load_study_cohort()
    full = fb.RecoveryModel(cohort, sampler_config=CONFIG).fit(random_seed=1)
    rows, medians = [fit_row("full", full)], []
    for b in range(RESAMPLES):
        model = fb.RecoveryModel(resample(cohort, rng), sampler_config=CONFIG)
        if any(len(model.data.levels[f]) != len(full.data.levels[f])
               for f in model.factors):
            print(f"resample {b}: a level is missing, skipped (another structure)")
            continue
        model.fit(random_seed=100 + b)
        rows.append(fit_row(f"resample {b}", model))
        hr = summaries.hazard_ratios(model)
        medians.append(hr.set_index(["term", "level"])["hr_median"].rename(b))
    fits = pd.DataFrame(rows)
    fits.to_csv(out / "fits.csv", index=False)
    ref = summaries.hazard_ratios(full).set_index(["term", "level"])["hr_median"]
    boot = pd.concat(medians, axis=1)
    table = pd.DataFrame({"hr_median_full": ref,
                          "boot_q025": boot.quantile(0.025, axis=1),
                          "boot_median": boot.median(axis=1),
                          "boot_q975": boot.quantile(0.975, axis=1)}).reset_index()
    table.round(3).to_csv(out / "bootstrap_hazard_ratios.csv", index=False)
    print(fits.to_string(index=False))
    print(f"compile cache: {compile_cache.cache_info()}")
    print(f"wrote {out / 'fits.csv'} and {out / 'bootstrap_hazard_ratios.csv'}")


if __name__ == "__main__":
    main()
