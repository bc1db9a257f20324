"""``report.md``: the analysis in words, tables and figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import summaries
from .analysis import Analysis
from .classical.cox import describe_group_handling
from .classical.cox_output import cox_output_table, not_estimable_note
from .model.diagnostics import advice, format_rhat, retry_sentence, where
from .options import per_phrase
from .report_guard import Problems, attempt
from .report_mix import level_rows, mix_notes, terms_phrase
from .summaries.export import CI_NOT_ESTIMABLE


def _md(df: pd.DataFrame, interval: float | None = None) -> str:
    return summaries.to_markdown(summaries.format_table(df, interval=interval))


def _plain_md(df: pd.DataFrame) -> str:
    df = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    return summaries.to_markdown(df.astype(str).replace({"nan": ""}))


def _pct(x: float) -> str:
    return "" if pd.isna(x) else f"{x:.1f}"


def _km_cell(r) -> str:
    """Kaplan–Meier percentage and its CI; "CI not estimable" at 100 % (fit_km)."""
    if pd.isna(r["percent_km"]):
        return ""
    if pd.isna(r["percent_km_low"]) or pd.isna(r["percent_km_high"]):
        return f"{_pct(r['percent_km'])} ({CI_NOT_ESTIMABLE})"
    return (f"{_pct(r['percent_km'])} ({_pct(r['percent_km_low'])}–"
            f"{_pct(r['percent_km_high'])})")


#: under a table with a Kaplan–Meier cell "CI not estimable" (classical.km)
KM_NOT_ESTIMABLE = (f"{CI_NOT_ESTIMABLE}: every patient still at risk had recovered "
                    "(Kaplan–Meier 100 %), where Greenwood's variance is undefined (R's "
                    "survfit gives NA); it does not mean certainty - see the curve's band "
                    "before that time and the number of patients.")


def _km_note(md: str) -> str:
    """``md`` followed by :data:`KM_NOT_ESTIMABLE` when one of its cells needs it."""
    return md + "\n\n" + KM_NOT_ESTIMABLE if CI_NOT_ESTIMABLE in md else md


def _p(x: float) -> str:
    return "" if pd.isna(x) else ("<0.001" if x < 0.001 else f"{x:.3f}")


def _p_phrase(x: float) -> str:
    return "< 0.001" if x < 0.001 else f"= {x:.3f}"


def study_table_md(t: pd.DataFrame, interval: float) -> str:
    """The study-style and censoring-aware columns side by side."""
    lvl = f"{100 * interval:g}%"
    rows = []
    for (factor, level), r in t.iterrows():
        rows.append({
            "Factor": factor, "Level": level, "n": int(r["n"]),
            "Withdrawn": int(r["withdrawn"]),
            "Recovered / analysed (withdrawn excluded)": f"{int(r['recovered'])}/"
                                                         f"{int(r['analysed'])}",
            "% (withdrawn excluded)": _pct(r["percent_excluding_withdrawn"]),
            "p (study's test)": _p(r["p_excluding_withdrawn"]),
            f"% Kaplan–Meier ({lvl} CI), withdrawn censored": _km_cell(r),
            "p (log-rank)": _p(r["p_logrank"]),
        })
    return _km_note(summaries.to_markdown(pd.DataFrame(rows)))


def diagnostics_md(d: dict) -> str:
    """A plain-language verdict on convergence, with the numbers."""
    verdict = ("**The sampler converged**: no divergent transitions, R-hat below 1.01 and "
               "effective sample sizes above 400 for every parameter."
               if d["converged"] else
               "**The sampler did not meet the convergence thresholds** ("
               + "; ".join(d.get("failed", [])) + "). Treat the Bayesian results as "
               "provisional. " + (where(d) + ". " if where(d) else "")
               + "What to try: " + advice(d) + ".")
    retried = retry_sentence(d)
    if retried:
        verdict += " " + retried + "."
    nums = (f"Divergences: {d['divergences']}; max R-hat: {format_rhat(d['max_rhat'])}; "
            f"min bulk ESS: {d['min_ess_bulk']:.0f}; min tail ESS: {d['min_ess_tail']:.0f}; "
            f"min E-BFMI: {d.get('min_bfmi', np.nan):.2f}.")
    par = (d.get("settings") or {}).get("parameterization") or {}
    if par:
        nums += (" Parameterisation of each block (chosen from the recoveries per level "
                 "unless set; mixed: well-pinned levels centred, weak ones non-centred): "
                 + "; ".join(f"{k} {v}" for k, v in par.items()) + ".")
    return verdict + "\n\n" + nums


def leader_sentence(ranking: pd.DataFrame) -> str:
    """Name the most important term, or the terms that share the lead."""
    by_p = ranking.sort_values("p_rank1", ascending=False)
    first, second = by_p.iloc[0], by_p.iloc[1] if len(by_p) > 1 else None
    if second is not None and second["p_rank1"] > 0.5 * first["p_rank1"]:
        return (f"No single leader: **{first['term']}** and **{second['term']}** share the "
                f"lead (P(rank 1) = {100 * first['p_rank1']:.0f}% and "
                f"{100 * second['p_rank1']:.0f}%).")
    return (f"Most important: **{first['term']}** (P(rank 1) = "
            f"{100 * first['p_rank1']:.0f}%).")


def gcomp_caution(a: Analysis) -> str:
    """A caution when collinear factors make g-computation average over unseen profiles."""
    if not any("collinear" in w for w in a.cox.warnings):
        return ""
    return (" **Caution:** some factors are nested or collinear (see the Cox warnings): "
            "setting every patient to one level then averages over combinations that do not "
            "occur in the data (e.g. a root lesion from local compression), so these "
            "adjusted probabilities can differ from the observed ones for reasons of design, "
            "not of fit. The model-check figure below (each patient's own characteristics) "
            "compares like with like.")


def figure_md(captions: dict, stem: str) -> str:
    if stem not in captions:
        return ""
    return f"![{captions[stem]}](figures/{stem}.png)\n\n*Figure: {captions[stem]}*\n\n"


def _intro(a: Analysis, captions: dict) -> list[str]:
    c = a.cohort
    counts = c.counts()
    out = [
        "# Recovery analysis", "",
        f"{counts['patients']} patients followed for {c.follow_up:g} {c.time_unit}s: "
        f"{counts['recovered']} recovered, {counts['withdrawn']} withdrew before the end of "
        f"follow-up (kept in the analysis, censored at their last visit) and "
        f"{counts['admin_censored']} had not recovered by the end of follow-up. "
        f"Model terms: {terms_phrase(a)}.", "",
    ]
    if counts["excluded"]:
        from .errors import format_ids

        out += ["Excluded patients (every one, with the reason, in `excluded_patients.csv`):",
                ""]
        reasons = c.excluded.groupby("reason", sort=False)["patient"]
        out += [f"- {reason}: {format_ids(ids)}" for reason, ids in reasons] + [""]
    notes = getattr(c, "notes", ())
    if notes:
        out += ["How the data were read:", ""] + [f"- {n}" for n in notes] + [""]
    return out


def _patients(a: Analysis, captions: dict) -> list[str]:
    return ["## Patients", "", "Table 1: characteristics by outcome (n (%) of the column; "
            "mean ± SD and median [IQR]).", "", _plain_md(a.cohort.table1()), ""]


def _classical(a: Analysis, captions: dict) -> list[str]:
    return ["## Classical analysis", "",
            "### Recovery by the end of follow-up, two ways", "",
            "The original study excluded everyone who withdrew and compared percentages with "
            "chi-square tests. Beside it, the Kaplan–Meier estimate keeps withdrawn patients "
            "as censored at their last visit; where withdrawal is unbalanced between groups "
            "the two differ, and only the second is unbiased when withdrawal is "
            "non-informative.", "", study_table_md(a.study_table, a.interval), "",
            figure_md(captions, "kaplan_meier")]


def _cox(a: Analysis, captions: dict) -> list[str]:
    lvl = f"{100 * a.interval:g}%"
    out = ["### Cox proportional-hazards regression", ""]
    if a.cox.table.empty:
        reason = (a.cox.warnings[0] if a.cox.warnings else
                  "No factors or numeric covariates: no Cox regression (the Kaplan–Meier "
                  "curve is the classical estimate of the whole cohort).")
        return out + [reason, ""]
    table = cox_output_table(a.cox)
    note = not_estimable_note(a.cox.table, ~table["estimable"])
    return out + [
        f"Hazard ratios of recovery ({lvl} Wald CI; HR > 1 means faster recovery). "
        + (f"Concordance {a.cox.concordance:.3f}" if a.cox.concordance == a.cox.concordance
         else "Concordance not computed (collapsed cohort)") + "; likelihood-ratio test "
        f"χ² = {a.cox.likelihood_ratio['statistic']:.1f} on "
        f"{int(a.cox.likelihood_ratio['df'])} df, "
        f"p {_p_phrase(a.cox.likelihood_ratio['p_value'])}." + cox_clinic_sentence(a)
        + cox_ties_sentence(a), "",
        _md(table, a.interval), "", *([note, ""] if note else []),
        "Proportional-hazards check (scaled Schoenfeld residuals):", "",
        _plain_md(a.cox.ph_verdict.assign(p_value=a.cox.ph_verdict["p_value"].map(_p))),
        ""]


def _bayes_intro(a: Analysis, captions: dict) -> list[str]:
    return ["## Bayesian hierarchical model", "",
            "A grouped-time proportional-hazards (complementary log-log) model of each "
            "patient's recovery interval, with partially pooled level effects per factor, "
            "standardised numeric covariates and a smoothed baseline hazard "
            "(see the documentation's model page).", "",
            "### Diagnostics", "", diagnostics_md(a.diagnostics), "",
            figure_md(captions, "trace"), figure_md(captions, "energy")]


def _ranking(a: Analysis, captions: dict) -> list[str]:
    lvl = f"{100 * a.interval:g}%"
    out = ["### Which factors predict recovery", ""]
    if a.ranking.empty:
        return out + ["No factors or numeric covariates in the model: nothing to rank.", ""]
    lead = (leader_sentence(a.ranking) if len(a.ranking) > 1 else
            f"The model has one term, **{a.ranking['term'].iloc[0]}**: its rank is 1 in "
            "every draw; its importance is still a measure of its size.")
    return out + [
        f"Importance = the SD across patients of a term's contribution to the log "
        f"hazard, per posterior draw; medians with {lvl} credible intervals, the "
        f"probability that each term is the most important, and its expected rank. "
        + lead, "", _md(a.ranking, a.interval), "", figure_md(captions, "factor_ranking")]


def _hazard_ratios(a: Analysis, captions: dict) -> list[str]:
    lvl = f"{100 * a.interval:g}%"
    out = ["### Hazard ratios", ""]
    if a.hazard_ratios.empty:
        return out + ["No factors or numeric covariates in the model: no hazard ratios "
                      "(and no forest plot).", ""]
    return out + [
        f"Posterior medians with {lvl} credible intervals and P(HR > 1); numeric "
        f"covariates {per_phrase(a.options.get('per'))}.", "",
        _md(a.hazard_ratios, a.interval), "",
        figure_md(captions, "forest")]


def _recovery(a: Analysis, captions: dict) -> list[str]:
    c = a.cohort
    if a.model.factors:
        text = ("By the end of follow-up, per level, averaged over the cohort's other "
                "characteristics (g-computation: every patient set to the level in turn), "
                "next to the observed Kaplan–Meier value." + gcomp_caution(a))
    else:
        text = ("No factors: no level-wise recovery table. By the end of follow-up, for the "
                "cohort as it is (the average of every patient's predicted curve), next to "
                "the observed Kaplan–Meier value.")
    return ["### Probability of recovery", "", text, "",
            _km_note(_md(level_rows(a.recovery, c.follow_up), a.interval)), "",
            figure_md(captions, "recovery_by_level"),
            figure_md(captions, "posterior_curves")]


def _medians(a: Analysis, captions: dict) -> list[str]:
    head = ["### Median time to recovery", ""]
    if not a.model.factors:
        head += ["No factors: the median of the cohort as a whole only.", ""]
    return head + [_md(a.medians, a.interval), "", figure_md(captions, "prior_predictive")]


def _warnings(a: Analysis, captions: dict) -> list[str]:
    if not a.warnings:
        return []
    return (["## Warnings raised during the analysis", ""]
            + [f"- {w}" for w in a.warnings] + [""])


#: The sections of ``report.md`` in order: (name, function of (analysis, captions)).
REPORT_SECTIONS = [
    ("introduction", _intro), ("patients", _patients), ("classical analysis", _classical),
    ("Cox regression", _cox), ("Bayesian model and diagnostics", _bayes_intro),
    ("factor ranking", _ranking), ("hazard ratios", _hazard_ratios),
    ("clinics", lambda a, captions: clinic_section(a, captions)),
    ("probability of recovery", _recovery), ("median time to recovery", _medians),
    ("withdrawal sensitivity", lambda a, captions: withdrawal_section(a, captions)),
    ("time-varying terms", lambda a, captions: _time_varying_section(a, captions)),
    ("smooth terms", lambda a, captions: _smooth_section(a, captions)),
    ("warnings", _warnings),
]


def report_markdown(a: Analysis, captions: dict, *, problems: Problems | None = None) -> str:
    """Compose ``report.md`` for an analysis; ``captions`` maps figure stems to captions.

    With ``problems`` (:class:`~footdrop_bayes.report_guard.Problems`) a section that
    fails is left out and named at the end of the report, and the parts that do not apply
    to the model's terms are listed; without it the first failure raises.
    """
    if problems is not None:
        for note in mix_notes(a):
            problems.note(note)
    out: list[str] = []
    for name, section in REPORT_SECTIONS:
        part = attempt(f"report section {name!r}", lambda s=section: s(a, captions),
                       problems)
        out += part or []
    return "\n".join(out)


def cox_clinic_sentence(a: Analysis) -> str:
    """How the Cox model handled the clinic (with a leading space), or ``""``."""
    text = describe_group_handling(a.cox) if getattr(a.cox, "group", None) else ""
    return f" {text}" if text else ""


def _hr_phrase(r, lvl: str) -> str:
    return (f"{r['level']} (HR {r['hr_median']:.2f}, {lvl} CrI {r['hr_low']:.2f}–"
            f"{r['hr_high']:.2f}; {int(r['n_patients'])} patients)")


def clinic_words(a: Analysis) -> list[str]:
    """The clinic SD, the median hazard ratio and the clinics credibly off the average."""
    from .summaries.clinics import credible_clinics

    eff, var, lvl = a.clinic_effects, a.clinic_variation.iloc[0], f"{100 * a.interval:g}%"
    g = str(eff["term"].iloc[0])
    sizes = eff["n_patients"]
    out = [
        f"Patients were seen at {len(eff)} {g}s ({int(sizes.min())} to {int(sizes.max())} "
        f"patients each). The model gives each {g} its own effect on the hazard of "
        f"recovery, partially pooled: a {g} with few patients is pulled towards the "
        f"average {g} by as much as its patients leave undetermined.", "",
        f"- **How much {g}s differ.** SD of the {g} effects on the log hazard "
        f"{var['sd_median']:.2f} ({lvl} CrI {var['sd_low']:.2f}–{var['sd_high']:.2f}); "
        f"as a median hazard ratio (MHR) **{var['mhr_median']:.2f}** ({lvl} CrI "
        f"{var['mhr_low']:.2f}–{var['mhr_high']:.2f}): for two patients with the same "
        f"characteristics treated at two {g}s picked at random, the one at the faster "
        f"{g} recovers at {var['mhr_median']:.2f} times the rate of the other in a "
        f"typical pair (half of such pairs differ more). An MHR of 1 would mean no "
        f"difference between {g}s; it reads on the same scale as the hazard ratios of "
        f"the factors above.",
    ]
    above, below = credible_clinics(eff)
    rows = eff.set_index("level", drop=False)
    if not above and not below:
        out.append(f"- **No {g} is credibly faster or slower than the average {g}**: "
                   f"every {lvl} interval of a {g}'s hazard ratio includes 1.")
    for names, word in ((above, "faster"), (below, "slower")):
        if names:
            out.append(f"- **Credibly {word} than the average {g}** (the whole {lvl} "
                       f"interval {'above' if word == 'faster' else 'below'} 1): "
                       + "; ".join(_hr_phrase(rows.loc[n], lvl) for n in names) + ".")
    out.append(f"- P(above average) and P(below average) in the table are the posterior "
               f"probabilities that a {g} recovers its patients faster or slower than the "
               f"average {g}, other characteristics equal.")
    from .summaries.clinics import reference_sentence

    out.append(f"- {reference_sentence(eff, g)}")
    out.append(f"- The {g} enters the importance ranking above as one more term (the SD "
               f"across patients of their {g}'s effect), beside the factors.")
    if g in a.logrank.index:
        r = a.logrank.loc[g]
        out.append(f"- Observed recovery by {g} (not adjusted for the patients' "
                   f"characteristics): log-rank χ² = {r['statistic']:.1f} on "
                   f"{int(r['df'])} df, p {_p_phrase(r['p_value'])}; the Kaplan–Meier "
                   f"figure has a panel by {g}.")
    if getattr(a.cox, "group", None):
        out.append("- Classical side: " + describe_group_handling(a.cox))
    return out


def _average(effects) -> str:
    from .summaries.clinics import average_label

    return average_label(effects, str(effects["term"].iloc[0]))


def clinic_section(a: Analysis, captions: dict) -> list[str]:
    """The report's "Clinics / centres" section (empty without a group)."""
    if a.clinic_effects is None or a.clinic_variation is None:
        return []
    return ["### Clinics / centres", "", *clinic_words(a), "",
            f"Each {a.clinic_effects['term'].iloc[0]} against the "
            f"{_average(a.clinic_effects)} (hazard ratio of recovery):", "",
            _md(a.clinic_effects, a.interval), "",
            figure_md(captions, "clinic_effects")]
def _pct_cell(m: float, lo: float | None = None, hi: float | None = None) -> str:
    if pd.isna(m):
        return ""
    if lo is None:
        return f"{100 * m:.1f}"
    return f"{100 * m:.1f} ({100 * lo:.1f}–{100 * hi:.1f})"


def withdrawal_comparison_md(t: pd.DataFrame, interval: float) -> str:
    """Recovery by the end of follow-up four ways: the study's, censored, the extremes."""
    lvl = f"{100 * interval:g}%"
    rows = []
    for r in t.itertuples():
        rows.append({
            "Factor": r.term, "Level": r.level, "n": r.n, "Withdrawn": r.withdrawn,
            "% withdrawn excluded (study)": _pct_cell(r.excluded),
            f"% withdrawn censored, δ = 0 ({lvl} CrI)":
                _pct_cell(r.censored_median, r.censored_low, r.censored_high),
            "% never recover after withdrawal, δ = −∞":
                _pct_cell(r.never_median, r.never_low, r.never_high),
            "% recover at withdrawal, δ = +∞":
                _pct_cell(r.always_median, r.always_low, r.always_high),
        })
    return summaries.to_markdown(pd.DataFrame(rows))


def tipping_md(tip: pd.DataFrame) -> list[str]:
    """The tipping points in sentences; contrasts that never tip summed up in one line."""
    if tip is None or not len(tip):
        return ["No factor has two levels to compare."]
    out = [f"- {r.text}" for r in tip.itertuples() if pd.notna(r.tipping_delta)]
    steady = tip.groupby(["term", "level", "reference"], sort=False)["tipping_delta"]
    steady = [k for k, v in steady if v.isna().all()]
    if steady:
        held = "; ".join(f"{f} = {lv} vs {ref}" for f, lv, ref in steady)
        out.append(f"- Whatever withdrawn patients did after withdrawing (from never "
                   f"recovering to recovering at once), the conclusion does not change "
                   f"for: {held}.")
    return out


def withdrawal_section(a: Analysis, captions: dict) -> list[str]:
    """``report.md`` section of the withdrawal sensitivity analysis (empty if not run)."""
    w = getattr(a, "withdrawal", None)
    if w is None:
        return []
    c, lvl = a.cohort, f"{100 * a.interval:g}%"
    n_w = int(c.counts()["withdrawn"])
    return [
        "## Withdrawal sensitivity: what if withdrawal was not random?", "",
        f"{n_w} of {c.n_patients} patients withdrew before the end of follow-up. The "
        f"analysis above censors them at their last visit, which assumes that after "
        f"withdrawing they would have recovered like comparable patients who stayed "
        f"(missing at random). That cannot be checked from the data. Here the hazard of "
        f"recovery after withdrawal is multiplied by exp(δ): δ = 0 is the analysis above, "
        f"δ < 0 means withdrawn patients recover less (δ = −∞: never), δ > 0 more "
        f"(δ = +∞: at once). The estimand is the probability of recovery by "
        f"{c.follow_up:g} {c.time_unit}s had every patient been followed, per level "
        f"averaged over the cohort (each level's own withdrawn patients carry the "
        f"assumption); see the documentation's withdrawal page.", "",
        f"Recovery by {c.follow_up:g} {c.time_unit}s four ways: the study's percentage "
        f"(withdrawn excluded), and the model's with withdrawn patients censored and at "
        f"the two extremes (posterior medians, {lvl} credible intervals).", "",
        withdrawal_comparison_md(w.comparison, a.interval), "",
        "### Tipping points", "",
        f"A conclusion is a {lvl} credible interval of the difference in recovery by "
        f"{c.follow_up:g} {c.time_unit}s (level − reference) that excludes 0; its tipping "
        f"point is the δ, nearest 0 on each side, at which that changes.", "",
        *tipping_md(w.tipping), "",
        figure_md(captions, "withdrawal_sensitivity"),
    ]


def _time_varying_section(a: Analysis, captions: dict) -> list[str]:
    from .report_time_varying import time_varying_section

    return time_varying_section(a, captions)


def _smooth_section(a: Analysis, captions: dict) -> list[str]:
    from .report_smooth import smooth_section

    return smooth_section(a, captions)


def cox_ties_sentence(a: Analysis) -> str:
    """How the Cox model handled tied recoveries (with a leading space), or ``""``."""
    from .classical.cox_counts import describe_ties

    text = describe_ties(a.cox)
    return f" {text}" if text else ""
