"""Every bad input gets one DataError naming the table, the column and the patients."""

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb


@pytest.fixture
def tables():
    visits = pd.DataFrame({"patient_id": ["A", "A", "B", "B", "C", "C"],
                           "month": [0, 2, 0, 6, 0, 3],
                           "recovered": [False, True, False, False, False, True]})
    patients = pd.DataFrame({"patient_id": ["A", "B", "C"], "sex": ["m", "f", "f"],
                             "age": [30.0, 50.0, 70.0]})
    return visits, patients


def build(visits, patients, **kw):
    return fb.Cohort.from_visits(visits, patients, visits_name="v.csv",
                                 patients_name="p.csv", **kw)


def test_dataerror_is_a_valueerror():
    assert issubclass(fb.DataError, ValueError)


def test_missing_column_named_with_hint(tables):
    visits, patients = tables
    with pytest.raises(fb.DataError, match=r"v\.csv: missing column\(s\) 'Month'.*may be 'month'"):
        build(visits, patients, time_col="Month")
    with pytest.raises(fb.DataError, match=r"v\.csv: missing column\(s\) 'recovered'"):
        build(visits.drop(columns="recovered"), patients)
    with pytest.raises(fb.DataError, match=r"p\.csv: missing column\(s\) 'patient_id'"):
        build(visits, patients.rename(columns={"patient_id": "id"}))


def test_empty_tables(tables):
    visits, patients = tables
    with pytest.raises(fb.DataError, match=r"v\.csv: the table is empty"):
        build(visits.iloc[:0], patients)
    with pytest.raises(fb.DataError, match=r"p\.csv: the table is empty"):
        build(visits, patients.iloc[:0])


def test_conflicting_duplicates_raise_identical_ones_warn(tables):
    visits, patients = tables
    conflicting = pd.concat([visits, pd.DataFrame({"patient_id": ["B"], "month": [6],
                                                    "recovered": [True]})])
    with pytest.raises(fb.DataError, match=r"conflicting.*'B'.*\(1 patient\)"):
        build(conflicting, patients)
    identical = pd.concat([visits, visits.iloc[[1]]])
    with pytest.warns(fb.DataWarning, match=r"identical duplicate.*'A'"):
        c = build(identical, patients)
    assert c.intervals.loc["A", "first_recovered"] == 2


@pytest.mark.parametrize("bad,match", [
    (-1, r"negative or infinite times for patients 'B'"),
    ("two", r"non-numeric times for patients 'B'"),
    (np.nan, r"missing times for patients 'B'"),
])
def test_impossible_times(tables, bad, match):
    visits, patients = tables
    visits = visits.astype({"month": object})
    visits.loc[3, "month"] = bad
    with pytest.raises(fb.DataError, match=r"v\.csv: column 'month' has " + match):
        build(visits, patients)


def test_status_neither_boolean_nor_grade(tables):
    visits, patients = tables
    visits = visits.astype({"recovered": object})
    visits.loc[1, "recovered"] = "maybe"
    with pytest.raises(fb.DataError, match=r"'recovered' holds values \('maybe'\).*'A'"):
        build(visits, patients)


def test_grade_without_threshold_asks_for_one(tables):
    visits, patients = tables
    visits["recovered"] = [1, 4, 0, 2, 1, 5]
    with pytest.raises(fb.DataError, match=r"looks like a grade.*recovered_when='>=4'"):
        build(visits, patients)
    with pytest.raises(fb.DataError, match=r"recovered_when='about 4'"):
        build(visits, patients, recovered_when="about 4")


def test_recovery_at_time_zero(tables):
    visits, patients = tables
    visits.loc[2, "recovered"] = True
    with pytest.raises(fb.DataError, match=r"recovery at time 0.*'B'"):
        build(visits, patients)


def test_unknown_patients_in_visits(tables):
    visits, patients = tables
    with pytest.raises(fb.DataError, match=r"not in p\.csv: 'C' \(1 patient\)"):
        build(visits, patients[patients["patient_id"] != "C"])


def test_duplicated_patients_rows(tables):
    visits, patients = tables
    with pytest.raises(fb.DataError, match=r"p\.csv: column 'patient_id' lists patients "
                                           r"more than once: 'A'"):
        build(visits, pd.concat([patients, patients.iloc[[0]]]))


def test_missing_covariates_raise_or_are_dropped_and_reported(tables):
    visits, patients = tables
    patients.loc[1, "age"] = np.nan
    with pytest.raises(fb.DataError, match=r"p\.csv: missing covariate values in 'age': 'B'"):
        build(visits, patients)
    with pytest.warns(fb.DataWarning, match=r"excluded 1 patient.*'age': 'B'"):
        c = build(visits, patients, dropna=True)
    assert "B" not in c.patient_ids
    assert c.excluded.set_index("patient").loc["B", "reason"] == "missing covariate values"


def test_single_level_factor(tables):
    visits, patients = tables
    patients["sex"] = "m"
    with pytest.raises(fb.DataError, match=r"factor 'sex' has a single level \('m'\)"):
        build(visits, patients)


def test_no_events(tables):
    visits, patients = tables
    visits["recovered"] = False
    with pytest.raises(fb.DataError, match=r"no recoveries"):
        build(visits, patients)


def test_many_patients_are_summarised_with_a_count():
    ids = [f"P{i}" for i in range(12)]
    visits = pd.DataFrame({"patient_id": ids, "month": [-1] * 12, "recovered": False})
    patients = pd.DataFrame({"patient_id": ids, "sex": ["m", "f"] * 6})
    with pytest.raises(fb.DataError, match=r"'P0', 'P1', 'P2', 'P3', 'P4' and 7 more "
                                           r"\(12 patients\)"):
        build(visits, patients)


def test_from_durations_rejects_non_integer_times_and_time_zero_events():
    df = pd.DataFrame({"t": [1.5, 2, 3], "e": [1, 0, 1]})
    with pytest.raises(fb.DataError, match=r"whole numbers.*\(1 patient\)"):
        fb.Cohort.from_durations(df, duration_col="t", event_col="e")
    df = pd.DataFrame({"t": [0, 2, 3], "e": [1, 0, 1]})
    with pytest.raises(fb.DataError, match=r"events at time 0"):
        fb.Cohort.from_durations(df, duration_col="t", event_col="e")


def test_inputs_are_not_mutated(tables):
    visits, patients = tables
    before_v, before_p = visits.copy(), patients.copy()
    build(visits, patients)
    pd.testing.assert_frame_equal(visits, before_v)
    pd.testing.assert_frame_equal(patients, before_p)


def test_text_status_names_only_the_bad_rows(tables):
    visits, patients = tables
    visits["recovered"] = visits["recovered"].astype(str)     # as read from a CSV
    visits.loc[3, "recovered"] = "maybe"
    with pytest.raises(fb.DataError, match=r"\('maybe'\).*for patients 'B' \(1 patient\)"):
        build(visits, patients)
    visits.loc[3, "recovered"] = "False"
    assert build(visits, patients).intervals.loc["A", "first_recovered"] == 2
