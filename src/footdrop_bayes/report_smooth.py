"""The report's smooth-term section and figures (issue 11).

:func:`smooth_section` is ``report.md``'s "Smooth (non-linear) effects" section;
:func:`smooth_drawers` adds one partial-effect figure per smooth term
(``figures/partial_<term>.png``/``.pdf``) to the report's figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _basis_name(t: pd.DataFrame) -> str:
    names = {"pspline": "a P-spline: cubic B-splines with a random-walk prior",
             "hsgp": "a Hilbert-space Gaussian process"}
    kinds = list(dict.fromkeys(t["basis"])) if len(t) else []
    return " / ".join(names.get(k, k) for k in kinds) or "a penalised basis"


def _split_words(t: pd.DataFrame, basis: str) -> str:
    """How the smooth terms enter: line + wiggly part (split) or one penalised smooth."""
    split = list(t["split"]) if "split" in t else [True] * len(t)
    words = []
    if any(split):
        words.append(
            f"{'Each' if all(split) else 'A split term'} enters the log hazard as a "
            f"straight line plus a penalised wiggly part ({basis}, centred so that it "
            "averages zero over the cohort and without linear trend); σ is the typical "
            "size of the departure from the line (log hazard ratio): near 0, the curve "
            "is its line. ")
    if not all(split):
        whole = ", ".join(str(x) for x, sp in zip(t["term"], split, strict=True) if not sp)
        words.append(
            f"Not split ({whole}): one penalised smooth ({basis}, centred so that it "
            "averages zero over the cohort), its slope penalised with its wiggles; σ is "
            "the typical size of the whole effect (log hazard ratio). ")
    return "".join(words)


def _terms_md(t: pd.DataFrame) -> str:
    rows = ["| term | basis | basis size | data range | reference (median) | wiggliness σ |",
            "| --- | --- | --- | --- | --- | --- |"]
    for r in t.itertuples():
        rows.append(f"| {r.term} | {r.basis} | {r.basis_size} | {r.min:g} – {r.max:g} | "
                    f"{r.reference:g} | {_fmt(r.sigma_median)} ({_fmt(r.sigma_low)} – "
                    f"{_fmt(r.sigma_high)}) |")
    return "\n".join(rows)


def _hr_md(hr: pd.DataFrame, terms) -> str:
    rows = ["| term | value | against | hazard ratio | interval | P(HR > 1) |",
            "| --- | --- | --- | --- | --- | --- |"]
    sel = hr[hr["term"].isin(terms)]
    for r in sel.itertuples():
        rows.append(f"| {r.term} | {r.level} | {r.reference} | {r.hr_median:.2f} | "
                    f"{r.hr_low:.2f} – {r.hr_high:.2f} | {r.p_direction:.2f} |")
    return "\n".join(rows)


def _recovery_md(rec: pd.DataFrame, unit: str) -> str:
    rows = [f"| term | value | by {unit} | recovery | interval |",
            "| --- | --- | --- | --- | --- |"]
    for r in rec.itertuples():
        rows.append(f"| {r.term} | {r.value:g} | {r.time:g} | {100 * r.recovery_median:.0f}% "
                    f"| {100 * r.recovery_low:.0f}% – {100 * r.recovery_high:.0f}% |")
    return "\n".join(rows)


def comparison_words(c: pd.DataFrame) -> list[str]:
    """One sentence per row of ``smooth_comparison.csv``."""
    out = []
    for r in c.itertuples():
        what = ("all smooth terms" if r.term == "all" else f"{r.term} as a curve")
        z = r.elpd_diff / r.se_diff if r.se_diff > 0 else np.inf * np.sign(r.elpd_diff)
        if z > 2:
            verdict = "the curvature is supported (more than 2 SE better than the line)"
        elif z < -2:
            verdict = "the line predicts better (by more than 2 SE)"
        else:
            verdict = "the data do not distinguish curve and line (within 2 SE)"
        out.append(f"- {what} against linear: ELPD difference {r.elpd_diff:.1f} "
                   f"(SE {r.se_diff:.1f}): {verdict}.")
    return out


def smooth_section(a, captions: dict) -> list[str]:
    """``report.md`` section on smooth terms (empty when the model has none)."""
    s = getattr(a, "smooth", None)
    if s is None:
        return []
    from .report_text import figure_md

    lvl = f"{100 * a.interval:g}%"
    terms = list(a.model.smooth)
    unit = a.cohort.time_unit
    out = [
        "## Smooth (non-linear) effects", "",
        f"Smooth terms: {', '.join(terms)}. " + _split_words(s.terms, _basis_name(s.terms))
        + "The other numeric covariates are linear. "
        "Curves are defined on the data range only; values outside it are refused.", "",
    ]
    if len(s.terms):
        out += [_terms_md(s.terms), ""]
    out += [f"Hazard ratios between values of each smooth term ({lvl} credible "
            f"intervals): a curve has no single hazard ratio per unit.", "",
            _hr_md(a.hazard_ratios, terms), ""]
    if len(s.recovery):
        out += [f"Probability of recovery by {a.cohort.follow_up:g} {unit}s with every "
                f"patient set to the value (g-computation, other characteristics as "
                f"observed):", "", _recovery_md(s.recovery, unit), ""]
    if s.comparison is not None and len(s.comparison):
        out += ["Is the curvature supported? Leave-one-patient-out cross-validation "
                "(PSIS-LOO) of the smooth model against refits with the term linear:", "",
                *comparison_words(s.comparison), ""]
    elif s.comparison is None:
        out += ["(The LOO comparison with the linear model was not run.)", ""]
    for t in terms:
        out.append(figure_md(captions, f"partial_{t}"))
    if s.failed:
        out += ["", "Left out: " + "; ".join(s.failed)]
    return out + [""]


def smooth_drawers(a) -> dict:
    """Figure stem -> (draw function, caption) for each smooth term's partial effect."""
    s = getattr(a, "smooth", None)
    if s is None or s.partial is None or not len(s.partial):
        return {}
    from . import plots

    lvl = f"{100 * a.interval:g}%"
    out = {}
    for t in a.model.smooth:
        unit = (a.units or {}).get(t)
        out[f"partial_{t}"] = (
            lambda t=t, unit=unit: plots.plot_partial_effect(
                s.partial, t, observed=a.cohort.covariates[t], unit=unit,
                interval=a.interval),
            f"Partial effect of {t}: log hazard ratio of recovery against the cohort median "
            f"(dot), all else equal; posterior median with {lvl} credible band over the "
            f"data range, observed values as a rug. Right axis: hazard ratio.")
    return out
