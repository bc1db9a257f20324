"""``report.md``: the analysis in words, tables and figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import summaries
from .analysis import Analysis
from .model.diagnostics import advice


def _md(df: pd.DataFrame, interval: float | None = None) -> str:
    return summaries.to_markdown(summaries.format_table(df, interval=interval))


def _plain_md(df: pd.DataFrame) -> str:
    df = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    return summaries.to_markdown(df.astype(str).replace({"nan": ""}))


def _pct(x: float) -> str:
    return "" if pd.isna(x) else f"{x:.1f}"


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
            f"% Kaplan–Meier ({lvl} CI), withdrawn censored":
                f"{_pct(r['percent_km'])} ({_pct(r['percent_km_low'])}–"
                f"{_pct(r['percent_km_high'])})",
            "p (log-rank)": _p(r["p_logrank"]),
        })
    return summaries.to_markdown(pd.DataFrame(rows))


def diagnostics_md(d: dict) -> str:
    """A plain-language verdict on convergence, with the numbers."""
    verdict = ("**The sampler converged**: no divergent transitions, R-hat below 1.01 and "
               "effective sample sizes above 400 for every parameter."
               if d["converged"] else
               "**The sampler did not meet the convergence thresholds** ("
               + "; ".join(d.get("failed", [])) + "). Treat the Bayesian results as "
               "provisional. What to try: " + advice(d) + ".")
    nums = (f"Divergences: {d['divergences']}; max R-hat: {d['max_rhat']:.3f}; "
            f"min bulk ESS: {d['min_ess_bulk']:.0f}; min tail ESS: {d['min_ess_tail']:.0f}; "
            f"min E-BFMI: {d.get('min_bfmi', np.nan):.2f}.")
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


def report_markdown(a: Analysis, captions: dict) -> str:
    """Compose ``report.md`` for an analysis; ``captions`` maps figure stems to captions."""
    c, lvl = a.cohort, f"{100 * a.interval:g}%"
    counts = c.counts()
    out = [
        "# Recovery analysis", "",
        f"{counts['patients']} patients followed for {c.follow_up:g} {c.time_unit}s: "
        f"{counts['recovered']} recovered, {counts['withdrawn']} withdrew before the end of "
        f"follow-up (kept in the analysis, censored at their last visit) and "
        f"{counts['admin_censored']} had not recovered by the end of follow-up.", "",
    ]
    if counts["excluded"]:
        out += ["Excluded patients:", ""]
        out += [f"- {r.patient}: {r.reason}" for r in c.excluded.itertuples()] + [""]
    out += ["## Patients", "", "Table 1: characteristics by outcome (n (%) of the column; "
            "mean ± SD and median [IQR]).", "", _plain_md(c.table1()), ""]
    out += ["## Classical analysis", "",
            "### Recovery by the end of follow-up, two ways", "",
            "The original study excluded everyone who withdrew and compared percentages with "
            "chi-square tests. Beside it, the Kaplan–Meier estimate keeps withdrawn patients "
            "as censored at their last visit; where withdrawal is unbalanced between groups "
            "the two differ, and only the second is unbiased when withdrawal is "
            "non-informative.", "", study_table_md(a.study_table, a.interval), "",
            figure_md(captions, "kaplan_meier"),
            "### Cox proportional-hazards regression", "",
            f"Hazard ratios of recovery ({lvl} Wald CI; HR > 1 means faster recovery). "
            f"Concordance {a.cox.concordance:.3f}; likelihood-ratio test "
            f"χ² = {a.cox.likelihood_ratio['statistic']:.1f} on "
            f"{int(a.cox.likelihood_ratio['df'])} df, "
            f"p {_p_phrase(a.cox.likelihood_ratio['p_value'])}.", "",
            _md(a.cox.table, a.interval), "",
            "Proportional-hazards check (scaled Schoenfeld residuals):", "",
            _plain_md(a.cox.ph_verdict.assign(p_value=a.cox.ph_verdict["p_value"].map(_p))),
            ""]
    out += ["## Bayesian hierarchical model", "",
            "A grouped-time proportional-hazards (complementary log-log) model of each "
            "patient's recovery interval, with partially pooled level effects per factor, "
            "standardised numeric covariates and a smoothed baseline hazard "
            "(see the documentation's model page).", "",
            "### Diagnostics", "", diagnostics_md(a.diagnostics), "",
            figure_md(captions, "trace"), figure_md(captions, "energy"),
            "### Which factors predict recovery", "",
            f"Importance = the SD across patients of a term's contribution to the log "
            f"hazard, per posterior draw; medians with {lvl} credible intervals, the "
            f"probability that each term is the most important, and its expected rank. "
            + leader_sentence(a.ranking),
            "", _md(a.ranking, a.interval), "", figure_md(captions, "factor_ranking"),
            "### Hazard ratios", "",
            f"Posterior medians with {lvl} credible intervals and P(HR > 1); numeric "
            "covariates per one unit as recorded.", "", _md(a.hazard_ratios, a.interval), "",
            figure_md(captions, "forest"),
            "### Probability of recovery", "",
            "By the end of follow-up, per level, averaged over the cohort's other "
            "characteristics (g-computation: every patient set to the level in turn), next "
            "to the observed Kaplan–Meier value." + gcomp_caution(a), "",
            _md(a.recovery[np.isclose(a.recovery["time"], c.follow_up)], a.interval), "",
            figure_md(captions, "recovery_by_level"),
            figure_md(captions, "posterior_curves"),
            "### Median time to recovery", "", _md(a.medians, a.interval), "",
            figure_md(captions, "prior_predictive")]
    out += withdrawal_section(a, captions)
    if a.warnings:
        out += ["## Warnings raised during the analysis", ""]
        out += [f"- {w}" for w in a.warnings] + [""]
    return "\n".join(out)


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
