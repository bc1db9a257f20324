"""Bundled datasets.

``study_visits.csv`` / ``study_patients.csv``: a **synthetic** cohort of 105 foot-drop
patients, simulated by ``scripts/make_study_cohort.py`` with effects chosen so that its
marginals resemble the published study (``shared/reference``). No real patient's data.
"""

from __future__ import annotations

import json
from importlib import resources

import pandas as pd

from ..cohort import Cohort
from .rossi import ROSSI_COVARIATES as ROSSI_COVARIATES
from .rossi import load_rossi_visits as load_rossi_visits
from .stanford import STANFORD_COVARIATES as STANFORD_COVARIATES
from .stanford import load_stanford_visits as load_stanford_visits

STUDY_FACTORS = ["sex", "site", "lesion_type", "cause", "treatment"]
STUDY_COVARIATES = ["age", "delay"]
STUDY_REFERENCE = {"sex": "male", "site": "root", "lesion_type": "axonal",
                   "cause": "radiculopathy", "treatment": "conservative"}


def _path(name: str):
    return resources.files(__name__).joinpath(name)


def load_study_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic study cohort as raw tables: ``(visits, patients)``."""
    with _path("study_visits.csv").open() as fv, _path("study_patients.csv").open() as fp:
        return pd.read_csv(fv), pd.read_csv(fp)


def load_study_truth() -> dict:
    """The parameters the synthetic study cohort was simulated from."""
    with _path("study_truth.json").open() as f:
        return json.load(f)


def load_study_cohort() -> Cohort:
    """The synthetic 105-patient study cohort as a :class:`~footdrop_bayes.Cohort`.

    Factors ``sex, site, lesion_type, cause, treatment`` with the study's natural reference
    levels (male, root, axonal, radiculopathy, conservative); numeric ``age`` (years) and
    ``delay`` (months from onset to referral); follow-up 6 months.
    """
    visits, patients = load_study_tables()
    return Cohort.from_visits(visits, patients, id_col="patient_id", time_col="month",
                              status_col="recovered", follow_up=6, factors=STUDY_FACTORS,
                              covariates=STUDY_COVARIATES, reference=STUDY_REFERENCE,
                              visits_name="study_visits.csv",
                              patients_name="study_patients.csv")


def load_published_results() -> pd.DataFrame:
    """The original study's published marginal figures (percent recovered by level)."""
    with _path("published_results.csv").open() as f:
        return pd.read_csv(f)


def study_style_marginals(cohort: Cohort) -> pd.DataFrame:
    """Percent recovered by the end of follow-up per factor level, withdrawn excluded.

    This is the original study's analysis (it excluded everyone who withdrew); see
    :mod:`footdrop_bayes.classical` for the censoring-aware estimate beside it.
    """
    keep = ~cohort.intervals["withdrawn"]
    rec = cohort.intervals.loc[keep, "event"]
    cov = cohort.covariates.loc[keep]
    rows = [("overall", "all", 100 * rec.mean(), len(rec))]
    for f in cohort.factors:
        for lv in cov[f].cat.categories:
            sel = rec[cov[f] == lv]
            rows.append((f, str(lv), 100 * sel.mean() if len(sel) else float("nan"), len(sel)))
    return pd.DataFrame(rows, columns=["factor", "level", "recovered_percent", "n"])


#: Units of the study's numeric covariates, for labels ("HR per year").
STUDY_UNITS = {"age": "year", "delay": "month"}

#: Clinically sensible bands of the study's numeric covariates, for tables and KM curves.
STUDY_BANDS = {"age": ([40, 60], ["<40", "40–59", "≥60"], "left"),
               "delay": ([1, 3], ["≤1", "1–3", ">3"], "right")}
