"""The report's opening says what was excluded (grouped, every id in a CSV) and how the
data were read (the cohort's notes), without listing every patient in the text."""

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd

import footdrop_bayes as fb
from footdrop_bayes import report_text
from footdrop_bayes.datasets import load_study_tables


def _cohort_with_exclusions_and_notes():
    visits, patients = load_study_tables()
    patients = patients.copy()
    missing = patients["patient_id"].iloc[:12].tolist()
    patients.loc[patients["patient_id"].isin(missing), "age"] = np.nan
    late = visits.groupby("patient_id").tail(1).iloc[:3].copy()
    late["month"] = late["month"] + 5          # beyond the end of follow-up: ignored, noted
    visits = pd.concat([visits, late], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohort = fb.Cohort.from_visits(visits, patients, id_col="patient_id",
                                       time_col="month", status_col="recovered",
                                       dropna=True, follow_up=6)
    return cohort, missing


def test_intro_groups_exclusions_and_gives_the_notes():
    cohort, missing = _cohort_with_exclusions_and_notes()
    assert len(cohort.excluded) == len(missing) and cohort.notes
    model = SimpleNamespace(factors=["cause"], covariates=["age"], group=None)
    text = "\n".join(report_text._intro(SimpleNamespace(cohort=cohort, model=model), {}))
    assert "excluded_patients.csv" in text
    assert "missing covariate values" in text and f"({len(missing)} patients)" in text
    # grouped: at most five ids in the text, not one line per patient
    assert sum(str(p) in text for p in missing) <= 5
    assert "How the data were read" in text
    assert all(n in text for n in cohort.notes)
