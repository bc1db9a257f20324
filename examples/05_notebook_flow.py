"""A notebook-style flow: fit once, save, load, re-plot and report without refitting.

Sampling is the slow step; everything after it — tables, figures, the whole report — is
computed from the posterior draws. This script does what a notebook session would:

1. **fit** the model of the bundled cohort and ``model.save("model.nc")`` (posterior,
   the cohort's intervals and covariates, both configurations and the library version in
   one NetCDF file);
2. in a "new session", ``fb.RecoveryModel.load("model.nc")`` — no data files, no
   sampling — and check that the loaded model gives the same numbers;
3. **re-plot** from the loaded model: posterior recovery curves by cause over the
   Kaplan–Meier steps, the factor ranking, and a new patient's curve;
4. write the complete **report folder** from the loaded model with
   ``analyse(cohort, model=loaded)`` and ``write_report`` — again without refitting.

Run::

    python examples/05_notebook_flow.py [--out DIR]

Outputs (default ``./example_output/05_notebook_flow``): ``model.nc``, figures
``curves_by_cause.png``, ``ranking.png``, ``new_patient.png`` and the report folder
``report/``. ``FOOTDROP_EXAMPLE_FAST=1`` gives a seconds-long smoke run.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from _example import SAMPLER, output_folder

import footdrop_bayes as fb
from footdrop_bayes import classical, plots, summaries
from footdrop_bayes.analysis import analyse
from footdrop_bayes.report import write_report


def main() -> None:
    out = output_folder("05_notebook_flow", __doc__)
    path = out / "model.nc"

    # --- session 1: fit and save --------------------------------------------------------
    t0 = time.perf_counter()
    cohort = fb.datasets.load_study_cohort()
    model = fb.RecoveryModel(cohort, sampler_config=SAMPLER).fit(random_seed=42)
    fit_seconds = time.perf_counter() - t0
    path.unlink(missing_ok=True)
    model.save(path)
    print(f"fitted in {fit_seconds:.0f} s and saved to {path} "
          f"({path.stat().st_size / 1e6:.1f} MB)")
    before = summaries.factor_ranking(model)
    del model

    # --- session 2: load, check, re-plot --------------------------------------------------
    t1 = time.perf_counter()
    loaded = fb.RecoveryModel.load(path)
    print(f"loaded: {loaded!r}")
    after = summaries.factor_ranking(loaded)
    pd.testing.assert_frame_equal(before, after)
    print("the loaded model's ranking is identical to the fitted model's:")
    print(after.round(3).to_string(index=False), "\n")

    cohort = loaded.cohort                     # rebuilt from the file, no data needed
    # the patients at each level, as they are: the curve to set beside Kaplan–Meier
    curves = plots.subgroup_recovery_draws(loaded, "cause")
    fig = plots.plot_posterior_recovery(curves, classical.kaplan_meier(cohort, by="cause"),
                                        factor="cause")
    plots.save_figure(fig, out / "curves_by_cause", formats=("png",))
    fig = plots.plot_factor_ranking(after, summaries.rank_distribution(
        summaries.importance(loaded)))
    plots.save_figure(fig, out / "ranking", formats=("png",))

    # a new patient: any covariate profile, one row per profile
    new = pd.DataFrame({"sex": ["female"], "site": ["common peroneal nerve"],
                        "lesion_type": ["axonal"], "cause": ["local compression"],
                        "treatment": ["conservative"], "age": [38.0], "delay": [0.5]},
                       index=pd.Index(["new patient"], name="patient"))
    curve = loaded.recovery_curves(new)
    fig = plots.plot_posterior_recovery(curve.rename(patient="profile"), factor="profile")
    plots.save_figure(fig, out / "new_patient", formats=("png",))
    p6 = np.quantile(curve.sel(month=6), [0.025, 0.5, 0.975])
    print(f"new patient (female, 38, local compression of the common peroneal nerve, "
          f"referred after 2 weeks): P(recovered by month 6) = {p6[1]:.2f} "
          f"(95% {p6[0]:.2f}–{p6[2]:.2f})")

    # --- the whole report from the loaded model ------------------------------------------
    analysis = analyse(cohort, model=loaded, bands=fb.datasets.STUDY_BANDS, say=lambda m: None)
    write_report(analysis, out / "report", overwrite=True, say=lambda m: None)
    files = sorted(p.relative_to(out) for p in (out / "report").rglob("*") if p.is_file())
    print(f"\nreport written without refitting: {len(files)} files in {out / 'report'}")
    print(f"session 1 (fit + save): {fit_seconds:.0f} s; session 2 (load, three figures, "
          f"full report): {time.perf_counter() - t1:.0f} s")


if __name__ == "__main__":
    main()
