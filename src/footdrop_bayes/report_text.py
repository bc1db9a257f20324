"""``report.md``: the analysis in words, tables and figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import summaries
from .analysis import Analysis
from .classical.cox_output import cox_output_table, not_estimable_note
from .model.diagnostics import advice
from .report_guard import Problems, attempt
from .report_mix import level_rows, mix_notes, terms_phrase


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
        out += ["Excluded patients:", ""]
        out += [f"- {r.patient}: {r.reason}" for r in c.excluded.itertuples()] + [""]
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
        f"Concordance {a.cox.concordance:.3f}; likelihood-ratio test "
        f"χ² = {a.cox.likelihood_ratio['statistic']:.1f} on "
        f"{int(a.cox.likelihood_ratio['df'])} df, "
        f"p {_p_phrase(a.cox.likelihood_ratio['p_value'])}.", "",
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
        "covariates per one unit as recorded.", "", _md(a.hazard_ratios, a.interval), "",
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
            _md(level_rows(a.recovery, c.follow_up), a.interval), "",
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
    ("probability of recovery", _recovery), ("median time to recovery", _medians),
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
