"""What the report shows for each mix of terms (factors, numeric covariates, group, none).

A model may have any mix of terms: numeric covariates only, one factor, factors only, a
clinic group only, or nothing at all (a Bayesian baseline curve beside Kaplan–Meier).
This module decides, per figure, what applies, draws the cohort-level stand-ins where a
per-level figure has no levels, and says in words what is not shown and why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from . import classical
from .classical.bands import band_covariates
from .cohort import Cohort
from .summaries.gcomp import overall_recovery_draws

#: Label of the single level of the whole-cohort panels.
ALL_PATIENTS = "all patients"


def terms_phrase(a) -> str:
    """The model's mix of terms in words (``"2 factors and 1 numeric covariate"``)."""
    m = a.model
    parts = []
    for n, word in ((len(m.factors), "factor"), (len(m.covariates), "numeric covariate")):
        if n:
            parts.append(f"{n} {word}{'s' if n > 1 else ''}")
    if m.group:
        parts.append(f"random intercepts by {m.group!r}")
    return " and ".join(parts) if parts else "no terms (the baseline hazard alone)"


def mix_notes(a) -> list[str]:
    """Tables and figures that do not apply to this model's terms, in words."""
    m, notes = a.model, []
    if not m.factors:
        notes.append("no factors: no level-wise recovery table, level-wise posterior "
                     "curves or level-wise median times; the cohort as a whole is shown "
                     + ("(and numeric covariates in bands in the classical figures)"
                        if a.bands else "instead"))
    if not m.factors and not m.covariates:
        notes.append("no factors or numeric covariates: no hazard ratios, no Cox regression, "
                     "no factor ranking and no forest plot; the Bayesian baseline recovery "
                     "curve is shown beside the Kaplan–Meier curve")
    elif len(m.factors) + len(m.covariates) == 1:
        notes.append("a single term: its ranking is trivial (rank 1 in every draw); the "
                     "ranking figure is not drawn")
    if not m.covariates:
        notes.append("no numeric covariates: no per-unit hazard ratios")
    return notes


def whole_cohort(cohort: Cohort) -> Cohort:
    """The cohort with one factor ``"cohort"`` whose single level is every patient."""
    cov = cohort.covariates.assign(cohort=pd.Categorical(
        [ALL_PATIENTS] * cohort.n_patients, categories=[ALL_PATIENTS]))
    return Cohort(cohort.intervals, cov, factors=("cohort",), numeric=(),
                  grid=cohort.grid, follow_up=cohort.follow_up, time_unit=cohort.time_unit,
                  excluded=cohort.excluded)


def overall_curve_draws(model) -> xr.DataArray:
    """The model's cohort-average recovery curve as one-level draws (dim ``cohort``)."""
    da = overall_recovery_draws(model, times="grid")
    da = da.expand_dims({"cohort": [ALL_PATIENTS]})
    return da.transpose("chain", "draw", "cohort", ...).rename("recovery_probability")


def band_curve_draws(model, cohort_banded: Cohort, column: str) -> xr.DataArray:
    """Model curves averaged over the patients in each band of a numeric covariate."""
    from .summaries._common import model_data
    from .summaries.gcomp import averaged_recovery

    data = model_data(model)
    labels = cohort_banded.covariates[column].reindex(data.index)
    parts, names = [], []
    for lv in labels.cat.categories:
        rows = data[(labels == lv).to_numpy()]
        if len(rows):
            parts.append(averaged_recovery(model, rows, model.cohort.grid[1:]))
            names.append(str(lv))
    out = xr.concat(parts, dim=pd.Index(names, name=column), coords="minimal")
    return out.transpose("chain", "draw", column, ...)


def posterior_curve_panels(a, kms: dict) -> tuple[dict, dict]:
    """Curves and Kaplan–Meier results of the model-check figure (see :func:`curve_note`).

    Factors: one panel per factor (each level's own patients). No factors: the whole
    cohort, then each numeric covariate in its bands. With ``clinic_curves`` a last
    panel per clinic.
    """
    from .plots import subgroup_recovery_draws

    model = a.model
    group = getattr(model, "group", None)
    clinics = [group] if group and a.options.get("clinic_curves") else []
    if model.factors:
        curves = {f: subgroup_recovery_draws(model, f) for f in model.factors}
        km = {f: kms[f] for f in model.factors}
    else:
        alpha = 1 - a.interval
        curves = {"cohort": overall_curve_draws(model)}
        km = {"cohort": classical.kaplan_meier(whole_cohort(a.cohort), by="cohort",
                                               alpha=alpha)}
        banded = [c for c in model.covariates if c in a.bands]
        if banded:
            cb = band_covariates(a.cohort, {c: a.bands[c] for c in banded})
            for c in banded:
                curves[c] = band_curve_draws(model, cb, c)
                km[c] = kms[c] if c in kms else classical.kaplan_meier(cb, by=c,
                                                                       alpha=alpha)
    for g in clinics:       # analyse(..., clinic_curves=True), CLI --clinic-curves
        curves[g] = subgroup_recovery_draws(model, g)
        km[g] = kms[g]
    return curves, km


def curve_note(a) -> str:
    """The model-check figure's caption addition when the model has no factors."""
    if a.model.factors:
        return ""
    banded = [c for c in a.model.covariates if c in a.bands]
    return (" No factors: the first panel is the model's cohort-average (baseline) curve "
            "beside the Kaplan–Meier curve of all patients"
            + ("; the others group the patients by bands of the numeric covariates."
               if banded else "."))


def has_terms(a) -> bool:
    """Whether the model has any factor or numeric covariate."""
    return bool(a.model.factors or a.model.covariates)


def level_rows(recovery: pd.DataFrame, time: float) -> pd.DataFrame:
    """Rows of the recovery table at ``time`` (all terms, or only ``all`` if no factors)."""
    if recovery.empty or "time" not in recovery:
        return recovery
    return recovery[np.isclose(recovery["time"], time)]
