"""A multi-centre cohort: what clinic random intercepts buy over pooling.

A simulated cohort seen at six clinics — three large (up to 40 patients each) and three small
(12, 8 and 5 patients), as in real networks — whose recovery hazards differ (true clinic
effects drawn from N(0, 0.5²) on the log-hazard scale) is analysed three ways:

- **complete pooling** — ignore the clinic: every clinic gets the same effect (0);
- **no pooling** — a Cox model with one coefficient per clinic (each clinic estimated from
  its own patients alone);
- **partial pooling** — ``fb.RecoveryModel(cohort, group="clinic")``: clinic intercepts
  ``u_clinic ~ N(0, sigma_clinic)`` with ``sigma_clinic`` learnt from the data.

Because the data are simulated, each clinic's true effect is known. The script prints the
three sets of estimates beside the truth (all centred to mean zero, since only differences
between clinics are identified), their error against the truth, the posterior of
``sigma_clinic`` against its true value, and a new clinic's predicted recovery (the
population average, with the between-clinic spread in its uncertainty).

Then the library's clinic summaries, as in the report of ``footdrop-bayes fit --group
clinic``: the clinic SD and the median hazard ratio (MHR) against their true values
(``summaries.clinic_variation``), each clinic's hazard ratio against the average clinic
with P(above / below average) (``summaries.clinic_effects``), the caterpillar figure
(``plots.plot_clinic_effects``), the clinic's place in the importance ranking, and the
Cox model stratified by clinic beside the one with cluster-robust errors.

Run::

    python examples/02_multicentre.py [--out DIR]

Outputs (default ``./example_output/02_multicentre``): ``clinic_effects.csv`` and
``clinic_effects.png`` (the library's summaries), ``pooling_comparison.csv`` and
``pooling_comparison.png`` (the three ways against the truth).
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

N_CLINICS, CLINIC_SD, SEED = 6, 0.5, 7
#: Patients kept per clinic: three large centres and three small ones (of ~40 simulated).
CLINIC_SIZES = {"C1": 40, "C2": 40, "C3": 40, "C4": 12, "C5": 8, "C6": 5}



def centred(x: pd.Series) -> pd.Series:
    return x - x.mean()


def clinic_table(model: fb.RecoveryModel, cox: classical.CoxResult, truth: dict,
                 cohort: fb.Cohort) -> pd.DataFrame:
    """Per clinic: truth, no pooling (Cox), partial pooling (posterior), all centred."""
    clinics = list(cohort.covariates["clinic"].cat.categories)
    true = centred(pd.Series(truth["clinic_effects"]).loc[clinics])
    # no pooling: Cox log hazard ratios against the first clinic (0 for it), centred
    coefs = cox.summary.set_index(cox.table["level"])["coef"]
    se = cox.summary.set_index(cox.table["level"])["se(coef)"]
    cox_log = pd.Series([0.0 if c == clinics[0] else coefs[c] for c in clinics], clinics)
    cox_se = pd.Series([np.nan if c == clinics[0] else se[c] for c in clinics], clinics)
    # partial pooling: u_clinic per draw, centred per draw
    u = model.idata.posterior["u_clinic"]
    u = u - u.mean("clinic")
    q = u.quantile([0.025, 0.5, 0.975], dim=("chain", "draw"))
    n = cohort.covariates["clinic"].value_counts().loc[clinics]
    events = cohort.intervals["event"].groupby(cohort.covariates["clinic"],
                                               observed=True).sum().loc[clinics]
    return pd.DataFrame({
        "patients": n, "recoveries": events, "true": true,
        "no_pooling": centred(cox_log),
        "no_pooling_low": centred(cox_log) - 1.96 * cox_se,
        "no_pooling_high": centred(cox_log) + 1.96 * cox_se,
        "partial_pooling": q.sel(quantile=0.5).to_series().loc[clinics],
        "partial_low": q.sel(quantile=0.025).to_series().loc[clinics],
        "partial_high": q.sel(quantile=0.975).to_series().loc[clinics],
    }, index=pd.Index(clinics, name="clinic"))


def plot_clinics(table: pd.DataFrame):
    """Dot-and-interval plot: truth, no pooling and partial pooling per clinic."""
    with plots.journal_style():
        fig = plots.style.new_figure("single", height=2.8)
        ax = fig.add_subplot()
        y = np.arange(len(table))
        ax.axvline(0, color="0.6", lw=0.8, ls="--", label="complete pooling (0)")
        ax.errorbar(table["no_pooling"], y + 0.15,
                    xerr=[table["no_pooling"] - table["no_pooling_low"],
                          table["no_pooling_high"] - table["no_pooling"]],
                    fmt="s", ms=3, color=plots.OKABE_ITO["vermillion"], lw=0.8,
                    label="no pooling (Cox)")
        ax.errorbar(table["partial_pooling"], y - 0.15,
                    xerr=[table["partial_pooling"] - table["partial_low"],
                          table["partial_high"] - table["partial_pooling"]],
                    fmt="o", ms=3, color=plots.OKABE_ITO["blue"], lw=0.8,
                    label="partial pooling (model)")
        ax.plot(table["true"], y, "kx", ms=5, label="truth")
        ax.set_yticks(y, [f"{c} (n={n})" for c, n in table["patients"].items()])
        ax.invert_yaxis()
        ax.set_xlabel("Clinic effect on the log hazard of recovery (centred)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncols=2, frameon=False)
    return fig


def main() -> None:
    out = output_folder("02_multicentre", __doc__)
    t0 = time.perf_counter()
    pd.set_option("display.width", 140, "display.precision", 2)
    visits, patients, truth = fb.simulate_cohort(40 * N_CLINICS, n_clinics=N_CLINICS,
                                                 clinic_sd=CLINIC_SD, random_seed=SEED)
    keep = pd.concat([g.head(CLINIC_SIZES[c]) for c, g in patients.groupby("clinic")])
    patients = keep.reset_index(drop=True)
    visits = visits[visits["patient_id"].isin(patients["patient_id"])]
    cohort = fb.Cohort.from_visits(visits, patients, follow_up=6,
                                   factors=["cause", "clinic"], covariates=["age", "delay"],
                                   reference={"cause": "radiculopathy", "clinic": "C1"})
    print(cohort, "\n")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        cox = classical.cox(cohort)            # clinic as fixed effects: no pooling
    print(f"fitting the model with clinic intercepts: {SAMPLER['chains']} chains x "
          f"{SAMPLER['draws']} draws ...")
    model = fb.RecoveryModel(cohort, group="clinic", sampler_config=SAMPLER)
    model.fit(random_seed=SEED)
    d = model.diagnostics()
    print(f"  divergences {d['divergences']}, max R-hat {d['max_rhat']:.3f}, "
          f"min bulk ESS {d['min_ess_bulk']:.0f}; parameterisation of the clinic "
          f"intercepts: {model.parameterization['clinic']} (split: "
          f"{model.model.level_split.get('clinic', 'none')})")
    if d["retry"]:      # a first run with divergences is sampled again at 0.99
        print("  " + fb.model.diagnostics.retry_sentence(d))
    blocks = fb.model.block_diagnostics(model.idata)
    print("  per parameter block (divergence_shift: where divergent draws sit, in posterior "
          "SDs of the block's log scale):")
    print(blocks[["parameterization", "max_rhat", "min_ess_bulk", "n_missed",
                  "divergence_shift"]].round(3).to_string(), "\n")

    table = clinic_table(model, cox, truth, cohort)
    table.to_csv(out / "pooling_comparison.csv")
    print("Clinic effects on the log hazard of recovery (centred; 95% intervals):")
    print(table.round(2).to_string(), "\n")

    estimates = {"complete pooling": 0.0, "no pooling": table["no_pooling"],
                 "partial pooling": table["partial_pooling"]}
    err = {k: float(np.sqrt(((e - table["true"]) ** 2).mean())) for k, e in estimates.items()}
    print("Root-mean-square error against the true clinic effects:")
    for name, e in err.items():
        print(f"  {name:17s} {e:.3f}")
    width_np = (table["no_pooling_high"] - table["no_pooling_low"]).mean()
    width_pp = (table["partial_high"] - table["partial_low"]).mean()
    print(f"Mean 95% interval width: no pooling {width_np:.2f}, partial pooling "
          f"{width_pp:.2f} (the first clinic, the Cox reference, has none).\n")

    sigma = model.idata.posterior["sigma_clinic"]
    lo, med, hi = np.quantile(sigma, [0.025, 0.5, 0.975])
    print(f"sigma_clinic: posterior median {med:.2f} (95% {lo:.2f}–{hi:.2f}); "
          f"true value {CLINIC_SD}. The hierarchy shrinks each clinic towards the others "
          "by an amount it learns from how different the clinics look.\n")

    # a new clinic (unknown label): the population average, u = 0
    profile = pd.DataFrame({"cause": ["trauma"], "age": [45.0], "delay": [1.5],
                            "clinic": ["a new clinic"]}, index=["new clinic"])
    curve = model.recovery_curves(profile, times=[6]).squeeze()
    rec6 = np.quantile(curve, [0.025, 0.5, 0.975])
    print("A 45-year-old trauma patient referred 1.5 months after onset, at a clinic the "
          f"model has not seen: P(recovered by month 6) = {rec6[1]:.2f} "
          f"(95% {rec6[0]:.2f}–{rec6[2]:.2f}).")
    hrs = summaries.hazard_ratios(model)
    print("\nOther effects (hazard ratios, truth in brackets):")
    for _, r in hrs.iterrows():
        t = truth["effects"][r["term"]]
        true = np.exp(t[r["level"]] if isinstance(t, dict) else t)
        print(f"  {r['term']:6s} {r['level'] if isinstance(r['level'], str) else 'per unit':18s}"
              f" {r['hr_median']:.2f} ({r['hr_low']:.2f}–{r['hr_high']:.2f})  [{true:.2f}]")

    plots.save_figure(plot_clinics(table), out / "pooling_comparison", formats=("png",))
    library_summaries(model, cohort, out)
    print(f"\nwrote clinic_effects.csv, clinic_effects.png, pooling_comparison.csv and "
          f"pooling_comparison.png to {out} ({time.perf_counter() - t0:.0f} s)")


def library_summaries(model: fb.RecoveryModel, cohort: fb.Cohort, out) -> None:
    """The clinic summaries of the report: SD, MHR, each clinic, ranking, Cox by clinic."""
    var = summaries.clinic_variation(model).iloc[0]
    true_mhr = float(summaries.median_hazard_ratio(CLINIC_SD))
    print(f"\nClinic SD {var['sd_median']:.2f} (95% {var['sd_low']:.2f}–"
          f"{var['sd_high']:.2f}; true {CLINIC_SD}); median hazard ratio "
          f"{var['mhr_median']:.2f} (95% {var['mhr_low']:.2f}–{var['mhr_high']:.2f}; true "
          f"{true_mhr:.2f}): two like patients at two clinics picked at random differ in "
          f"their recovery rate by this factor in a typical pair.")
    effects = summaries.clinic_effects(model)
    effects.to_csv(out / "clinic_effects.csv", index=False)
    print("Each clinic against the average clinic (hazard ratio of recovery):")
    print(effects.drop(columns="term").round(2).to_string(index=False))
    ranking = summaries.factor_ranking(model)
    print("\nImportance ranking with the clinic beside the factors:")
    print(ranking[["term", "importance_median", "p_rank1"]].round(2).to_string(index=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        fits = {h: classical.cox(cohort, ["cause"], ["age", "delay"], group="clinic",
                                 group_handling=h) for h in ("strata", "cluster")}
    print("\nCox hazard ratios, stratified by clinic vs cluster-robust errors by clinic:")
    both = pd.concat({h: f.table.set_index(["term", "level"])[["hr", "hr_low", "hr_high"]]
                      for h, f in fits.items()}, axis=1)
    print(both.round(2).to_string())
    fig = plots.plot_clinic_effects(effects, summaries.clinic_variation(model))
    plots.save_figure(fig, out / "clinic_effects", formats=("png",))


if __name__ == "__main__":
    main()
