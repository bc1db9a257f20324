"""The foot-drop study re-analysed end to end.

The original study reported, for each factor level, the percentage of patients recovered
by month 6 — after excluding everyone who withdrew — with chi-square tests. This script
puts that table beside two analyses that keep the withdrawn patients:

1. **Kaplan–Meier** (withdrawn patients censored at their last visit) with log-rank tests;
2. the **Bayesian** grouped-time proportional hazards model: recovery probabilities by
   month 6 for each level, averaged over the cohort's other characteristics
   (g-computation), hazard ratios beside Cox's, and the ranking of the factors.

It then prints, level by level, *why* the three numbers differ: exclusion of the withdrawn
(study vs Kaplan–Meier), and adjustment for the other factors plus partial pooling of
small levels (Kaplan–Meier vs the model). The cohort is the bundled **synthetic** one, so
the true effects are known and printed too.

Run::

    python examples/01_study_reanalysis.py [--out DIR]

Outputs (default ``./example_output/01_study_reanalysis``): ``comparison.csv``,
``hazard_ratios.csv``, ``factor_ranking.csv`` and figures ``km_cause.png``,
``recovery_at_6_months.png``, ``hazard_ratios.png``, ``ranking.png``.
Set ``FOOTDROP_EXAMPLE_FAST=1`` for a seconds-long smoke run (tiny, unconverged draws).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from _example import SAMPLER, output_folder

import footdrop_bayes as fb
from footdrop_bayes import classical, plots, summaries


def comparison_table(study: pd.DataFrame, recovery: pd.DataFrame,
                     published: pd.DataFrame) -> pd.DataFrame:
    """Study-style %, Kaplan–Meier % and model % by month 6, one row per factor level."""
    model = (recovery.rename(columns={"term": "factor"})
             .assign(model=lambda d: 100 * d["median"], model_low=lambda d: 100 * d["low"],
                     model_high=lambda d: 100 * d["high"])
             .set_index(["factor", "level"])[["model", "model_low", "model_high"]])
    model = model.rename(index={"all": "overall"}, level="factor")
    pub = (published.assign(factor=lambda d: d["factor"].str.replace(" ", "_"))
           .set_index(["factor", "level"])["recovered_percent"].rename("published"))
    cols = ["n", "withdrawn", "percent_excluding_withdrawn", "percent_km", "percent_km_low",
            "percent_km_high", "p_excluding_withdrawn", "p_logrank"]
    table = study[cols].join(model, how="left").join(pub, how="left")
    return table.rename(columns={"percent_excluding_withdrawn": "study_way",
                                 "percent_km": "km", "percent_km_low": "km_low",
                                 "percent_km_high": "km_high"})


def most_different_mix(cohort: fb.Cohort, factor: str, level: str) -> str:
    """The other factor whose mix differs most between this level and the cohort."""
    cov = cohort.covariates
    at = cov[factor].astype(str) == level
    best = (0.0, "")
    for g in cohort.factors:
        if g == factor:
            continue
        here = cov.loc[at, g].value_counts(normalize=True)
        everyone = cov[g].value_counts(normalize=True)
        diff = here.sub(everyone, fill_value=0)
        tv = 0.5 * diff.abs().sum()                    # total variation distance
        if tv > best[0]:
            lv = diff.idxmax()
            best = (tv, f"{100 * here.get(lv, 0):.0f}% of them have {g} = {lv} "
                        f"(cohort: {100 * everyone[lv]:.0f}%)")
    return best[1]


def explain(table: pd.DataFrame, cohort: fb.Cohort) -> list[str]:
    """Sentences on the largest differences between the three columns."""
    rows = table.drop(index="overall", level="factor")
    excl = rows["study_way"] - rows["km"]
    lines = [f"- Excluding the {int(table.loc[('overall', 'all'), 'withdrawn'])} withdrawn "
             f"patients raises the percentages by {excl.mean():.1f} points on average "
             f"(up to {excl.max():.1f}): each had stayed unrecovered until leaving, so "
             "dropping them leaves the better outlooks behind. Kaplan–Meier keeps them "
             "for as long as they were seen."]
    gap = (rows["model"] - rows["km"]).dropna().abs().sort_values(ascending=False)
    for f, lv in gap.head(4).index:
        r = rows.loc[(f, lv)]
        head = (f"- {f} = {lv} (n = {int(r['n'])}): Kaplan–Meier {r['km']:.0f}%, model "
                f"{r['model']:.0f}% ({r['model_low']:.0f}–{r['model_high']:.0f}). ")
        if r["n"] < 10:
            why = ("So few patients cannot pin down a level effect: partial pooling pulls "
                   "it towards the factor's average (the price is a wide interval, and a "
                   "real but rare effect is shrunk).")
        else:
            why = (f"Its patients are not typical — {most_different_mix(cohort, f, lv)} — "
                   "and the model credits that factor, then averages over the whole "
                   "cohort's mix (g-computation); Kaplan–Meier of the level does not.")
        lines.append(head + why)
    return lines


def main() -> None:
    out = output_folder("01_study_reanalysis", __doc__)
    t0 = time.perf_counter()
    pd.set_option("display.width", 140, "display.max_columns", 20,
                  "display.precision", 2)
    cohort = fb.datasets.load_study_cohort()
    truth = fb.datasets.load_study_truth()
    bands = fb.datasets.STUDY_BANDS
    print(cohort.describe().split("\n\n")[0], "\n")

    # --- classical: the study's way and the censoring-aware way, one table ---------------
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)   # few-events notes, printed below
        study = classical.study_table(cohort, bands=bands)
        cox = classical.cox(cohort)
    # --- Bayesian ----------------------------------------------------------------------
    print(f"fitting the model: {SAMPLER['chains']} chains x {SAMPLER['draws']} draws ...")
    model = fb.RecoveryModel(cohort, sampler_config=SAMPLER).fit(random_seed=20240601)
    d = model.diagnostics()
    print(f"  divergences {d['divergences']}, max R-hat {d['max_rhat']:.3f}, "
          f"min bulk ESS {d['min_ess_bulk']:.0f}, converged: {d['converged']}\n")
    recovery = summaries.recovery_probabilities(model, times=[6])
    hrs = summaries.hazard_ratios(model, per={"age": 10})  # age per 10 years
    ranking = summaries.factor_ranking(model)

    table = comparison_table(study, recovery, fb.datasets.load_published_results())
    table.to_csv(out / "comparison.csv")
    shown = table[["n", "withdrawn", "published", "study_way", "km", "model",
                   "model_low", "model_high"]].dropna(subset=["model"])
    print("Percent recovered by month 6 — published, the study's way on this cohort "
          "(withdrawn excluded), Kaplan–Meier (withdrawn censored), the model "
          "(cohort-averaged, 95% interval):")
    print(shown.round(1).to_string(), "\n")
    print("Why they differ:")
    print("\n".join(explain(table, cohort)), "\n")

    # --- hazard ratios: Bayesian beside Cox, and the truth --------------------------------
    cox_t = cox.table.set_index(["term", "level"])["hr"]
    per = {"age": 10}                       # age per 10 years, delay per month
    hr = hrs.assign(level=hrs["level"].fillna("per month")).set_index(["term", "level"])
    hr = hr[["hr_median", "hr_low", "hr_high", "p_direction"]]
    hr["cox_hr"] = [cox_t.get((t, lv), np.nan) if t in cohort.factors
                    else cox_t[(t, "")] ** per.get(t, 1) for t, lv in hr.index]
    hr["true_hr"] = [np.exp(truth["effects"][t][lv]) if t in cohort.factors
                     else np.exp(truth["effects"][t] * per.get(t, 1)) for t, lv in hr.index]
    hrs.to_csv(out / "hazard_ratios.csv", index=False)
    print("Hazard ratios of recovery (>1 = faster; age per 10 years, delay per month):")
    print(hr.round(2).to_string(), "\n")
    widest = cox.table.assign(ratio=cox.table["hr_high"] / cox.table["hr_low"]).nlargest(
        1, "ratio").iloc[0]
    print(f"Cox's widest interval ({widest['term']} = {widest['level']}: "
          f"{widest['hr_low']:.2f} to {widest['hr_high']:.1f}) comes from cause and site "
          "being nearly collinear — every radiculopathy is at the root:")
    print(pd.crosstab(cohort.covariates["cause"], cohort.covariates["site"]).to_string())
    print("The hierarchical priors keep such estimates finite and honest about what the "
          "data cannot separate; their importances then share the credit.\n")

    ranking.to_csv(out / "factor_ranking.csv", index=False)
    print("Ranking of the prognostic factors (importance = SD of the term's contribution "
          "to the log hazard across patients):")
    print(ranking.round(3).to_string(index=False), "\n")

    # --- figures ------------------------------------------------------------------------
    km = classical.kaplan_meier(cohort, by="cause")
    figs = {
        "km_cause": plots.plot_kaplan_meier(km, p_value=classical.logrank(cohort),
                                            title="Recovery by cause"),
        "recovery_at_6_months": plots.plot_recovery_at_followup(recovery, study),
        "hazard_ratios": plots.plot_hazard_ratios(summaries.hazard_ratios(model), cox.table),
        "ranking": plots.plot_factor_ranking(
            ranking, summaries.rank_distribution(summaries.importance(model))),
    }
    for stem, fig in figs.items():
        plots.save_figure(fig, out / stem, formats=("png",))
    print(f"wrote {len(figs)} figures and 3 tables to {out} "
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
