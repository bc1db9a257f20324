"""The time-varying part of an analysis: its results, tables, figures and report section.

Computed by :func:`time_varying_analysis` when the model has time-varying terms
(``Cohort.from_visits(..., time_varying=[...])``, CLI ``--time-varying``); each piece is
guarded (a failing piece is left out with a warning, never loses the fit).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

CONFOUNDING = (
    "**Confounding by indication.** The hazard ratio of the current treatment compares "
    "patient-months on one treatment with patient-months on the other. If treatment was "
    "changed *because* a patient was not improving, the patients switched are those with a "
    "poorer prognosis, and the hazard ratio mixes the effect of the treatment with the "
    "reason it was given: it is then biased (on simulated switching triggered by "
    "non-recovery, a true log hazard ratio of 0.7 came out below 0; see the documentation's "
    "time-varying page). The regimes are causal contrasts only if, given the "
    "model's covariates, the decision to switch did not depend on prognosis (no unmeasured "
    "confounding). Otherwise use a design that handles it: marginal structural models with "
    "inverse-probability-of-treatment weights (Hernán, Brumback & Robins 2000), recipe in "
    "the documentation. In ICH E9(R1) terms a treatment change is an intercurrent event.")


@dataclass
class TimeVaryingResults:
    """Results of the time-varying terms of a fitted model."""

    names: list
    lag: int
    hazard_ratios: pd.DataFrame
    importance: pd.DataFrame
    regimes: pd.DataFrame
    cox: pd.DataFrame
    switched: pd.DataFrame = field(default_factory=pd.DataFrame)

    def write(self, out: Path) -> None:
        """``time_varying_regimes.csv``, ``time_varying_cox.csv``,
        ``time_varying_importance.csv``, ``time_varying_paths.csv``."""
        out = Path(out)
        self.regimes.to_csv(out / "time_varying_regimes.csv", index=False)
        self.cox.to_csv(out / "time_varying_cox.csv", index=False)
        self.importance.to_csv(out / "time_varying_importance.csv", index=False)
        self.switched.to_csv(out / "time_varying_paths.csv", index=False)


def _guard(what: str, fn, empty):
    try:
        return fn()
    except Exception as exc:          # a late failure must not lose the fit
        warnings.warn(f"time-varying {what} failed and is left out: "
                      f"{type(exc).__name__}: {exc}", stacklevel=3)
        return empty


def time_varying_analysis(model, *, interval: float = 0.95) -> TimeVaryingResults:
    """Hazard ratios, person-time importance, static regimes and Cox for the model's terms."""
    from .classical.time_varying import cox_time_varying
    from .summaries import time_varying as stv

    cohort = model.cohort
    hrs = _guard("hazard ratios", lambda: stv.time_varying_hazard_ratios(model, interval),
                 pd.DataFrame())
    imp = _guard("importance", lambda: stv.time_varying_importance(model, interval),
                 pd.DataFrame())
    regimes = _guard("regimes", lambda: stv.regime_table(stv.regime_recovery(model),
                                                          interval), pd.DataFrame())
    cox = _guard("Cox regression", lambda: cox_time_varying(
        cohort, factors=[f for f in model.factors], covariates=model.covariates),
        pd.DataFrame())
    paths = _guard("paths", lambda: cohort.time_varying_path_table(), pd.DataFrame())
    return TimeVaryingResults(names=list(model.time_varying), lag=int(cohort.lag),
                              hazard_ratios=hrs, importance=imp, regimes=regimes, cox=cox,
                              switched=paths)


def _fmt_hr(r) -> str:
    return f"{r['hr_median']:.2f} ({r['hr_low']:.2f}–{r['hr_high']:.2f})"


def time_varying_section(a, captions: dict) -> list[str]:
    """``report.md`` section of the time-varying terms (empty if none)."""
    from .report_text import figure_md

    tv = getattr(a, "time_varying", None)
    if tv is None:
        return []
    c, lvl = a.cohort, f"{100 * a.interval:g}%"
    names = ", ".join(tv.names)
    paths = tv.switched
    n_changed = (int(paths.groupby("patient").size().gt(1).sum())
                 if not paths.empty else 0)
    lines = [
        f"## Treatment that changes at visits: {names}", "",
        f"{names} was recorded at every visit; the value recorded at a visit applies from "
        f"that visit to the next (a missed visit carries the last value forward; a change "
        f"recorded at the visit that found recovery does not act before it)"
        + (f", with every change delayed by {tv.lag} visit(s) (--lag)" if tv.lag else "")
        + f". {n_changed} of {c.n_patients} patients changed during follow-up. The "
        f"recovery probabilities by level and the model-check curves above hold {names} "
        f"at each patient's baseline value for the whole follow-up (the regime \"never "
        f"switch\"); other regimes are below.", "",
        "### Hazard ratio of the current value", "",
        f"Posterior medians with {lvl} credible intervals; Cox regression with "
        f"time-varying covariates (lifelines CoxTimeVaryingFitter) alongside.", "",
        "| term | level | reference | Bayesian HR | P(HR > 1) | Cox HR |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in tv.hazard_ratios.iterrows():
        cox = tv.cox[(tv.cox.get("term") == r["term"]) & (tv.cox.get("level") == r["level"])] \
            if not tv.cox.empty else pd.DataFrame()
        cox_txt = (f"{cox['hr'].iloc[0]:.2f} ({cox['hr_low'].iloc[0]:.2f}–"
                   f"{cox['hr_high'].iloc[0]:.2f})" if len(cox) else "–")
        lines.append(f"| {r['term']} | {r['level']} | {r['reference']} | {_fmt_hr(r)} | "
                     f"{r['p_direction']:.2f} | {cox_txt} |")
    if not tv.cox.empty:
        lines += ["", f"Cox limits: {tv.cox.attrs.get('limits', '')}."]
    if not tv.importance.empty:
        lines += ["", "Importance over person-time (SD of the term's contribution to the log "
                  "hazard across the patient-months at risk): " + "; ".join(
                      f"{r['term']} {r['median']:.2f} ({r['low']:.2f}–{r['high']:.2f})"
                      for _, r in tv.importance.iterrows()) + "."]
    if not tv.regimes.empty:
        last = tv.regimes[tv.regimes["time"] == tv.regimes["time"].max()]
        lines += ["", "### Static regimes (g-computation)", "",
                  f"Probability of recovery by {last['time'].iloc[0]:g} {c.time_unit}s, "
                  f"averaged over the cohort, had every patient followed each regime "
                  f"(posterior medians, {lvl} intervals; every time in "
                  f"`time_varying_regimes.csv`):", "",
                  "| regime | recovered |", "| --- | --- |"]
        lines += [f"| {r['regime']} | {100 * r['median']:.0f}% ({100 * r['low']:.0f}–"
                  f"{100 * r['high']:.0f}%) |" for _, r in last.iterrows()]
    lines += ["", CONFOUNDING, "", figure_md(captions, "swimmer"),
              figure_md(captions, "regime_curves")]
    return lines


def time_varying_drawers(a) -> dict:
    """Figures of the time-varying terms: swimmer plot and regime curves."""
    tv = getattr(a, "time_varying", None)
    if tv is None:
        return {}
    from .plots.swimmer import plot_regime_curves, plot_swimmer

    lvl = f"{100 * a.interval:g}%"
    name = tv.names[0]
    out = {"swimmer": (
        lambda: plot_swimmer(a.cohort, variable=name),
        f"Swimmer plot: one bar per patient (a random sample of at most 60), coloured by "
        f"{name} over follow-up; triangles mark the visit that found recovery, crosses "
        f"withdrawal.")}
    if not tv.regimes.empty:
        out["regime_curves"] = (
            lambda: plot_regime_curves(tv.regimes, time_unit=a.cohort.time_unit),
            f"Cohort-averaged probability of recovery under static regimes of {name} "
            f"(g-computation; posterior medians with {lvl} credible bands). Causal only "
            f"without confounding by indication.")
    return out
