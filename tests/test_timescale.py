"""Visit dates and explicit time units, with answers worked out by hand."""

import warnings

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.timescale import UNIT_DAYS, is_date_column, time_unit_name, visit_times

# patient A referred 2024-01-10; visits 0, 91 and 182 days later
# patient B referred 2024-02-01; visits at 0 and 35 days
VISITS = pd.DataFrame({
    "patient_id": ["A", "A", "A", "B", "B"],
    "date": ["2024-01-10", "2024-04-10", "2024-07-10", "2024-02-01", "2024-03-07"],
    "recovered": [0, 0, 1, 0, 1],
})
PATIENTS = pd.DataFrame({"patient_id": ["A", "B"], "referral": ["2024-01-10", "2024-02-01"],
                         "sex": ["f", "m"]})
DAYS = np.array([0, 91, 182, 0, 35.0])


@pytest.mark.parametrize("unit", ["day", "week", "month", "year"])
def test_iso_text_dates_become_time_since_the_origin(unit):
    t, dated = visit_times(VISITS, "date", "patient_id", "v", patients=PATIENTS,
                           origin_col="referral", time_unit=unit)
    assert dated
    np.testing.assert_allclose(t, DAYS / UNIT_DAYS[unit])


def test_month_is_days_over_30_4375():
    t, _ = visit_times(VISITS, "date", "patient_id", "v", time_unit="month")
    assert t.iloc[1] == pytest.approx(91 / 30.4375)
    assert UNIT_DAYS["month"] == 365.25 / 12


def test_datetime_values_equal_iso_text_and_first_visit_is_the_default_origin():
    as_dt = VISITS.assign(date=pd.to_datetime(VISITS["date"]))
    t1, _ = visit_times(as_dt, "date", "patient_id", "v", time_unit="day")
    t2, _ = visit_times(VISITS, "date", "patient_id", "v", time_unit="day")
    np.testing.assert_allclose(t1, DAYS)   # here every first visit is on the referral date
    np.testing.assert_allclose(t1, t2)


def test_origin_column_shifts_times():
    later = PATIENTS.assign(referral=["2024-01-01", "2024-02-01"])   # A referred 9 days earlier
    t, _ = visit_times(VISITS, "date", "patient_id", "v", patients=later,
                       origin_col="referral", time_unit="day")
    np.testing.assert_allclose(t, DAYS + np.array([9, 9, 9, 0, 0]))


def test_cohort_from_dates_on_the_monthly_schedule():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        c = fb.Cohort.from_visits(VISITS, PATIENTS, time_col="date", origin_col="referral",
                                  factors=["sex"], covariates=[])
    # A: 0, 2.99, 5.98 months -> 0, 3, 6; B: 0, 1.15 -> 0, 1
    assert c.time_unit == "month" and c.follow_up == 6
    np.testing.assert_array_equal(c.grid, [0, 1, 3, 6])
    assert c.intervals.loc["A", ["last_unrecovered", "first_recovered"]].tolist() == [3, 6]
    assert c.intervals.loc["B", ["last_unrecovered", "first_recovered"]].tolist() == [0, 1]
    assert any("moved to their scheduled time" in n for n in c.notes)


@pytest.mark.parametrize("bad,match", [
    ("2023-12-31", r"v: column 'date' has visit dates before the origin \(p column "
                   r"'referral'\) for patients 'A'"),
    ("soon", r"v: column 'date' has values \('soon'\) that are neither numbers nor dates"
             r".*patients 'A'"),
    ("3", r"v: column 'date' mixes numbers \(for patients 'A' \(1 patient\)\) with dates "
          r"\(for patients 'A', 'B'"),
])
def test_bad_dates_name_table_column_and_patients(bad, match):
    visits = VISITS.copy()
    visits.loc[1, "date"] = bad
    with pytest.raises(fb.DataError, match=match):
        fb.Cohort.from_visits(visits, PATIENTS, time_col="date", origin_col="referral",
                              visits_name="v", patients_name="p")


def test_missing_origin_dates_and_origin_with_numbers_are_errors():
    no_origin = PATIENTS.assign(referral=["2024-01-10", None])
    with pytest.raises(fb.DataError, match=r"p: column 'referral' has missing origin dates "
                                           r"for patients 'B'"):
        fb.Cohort.from_visits(VISITS, no_origin, time_col="date", origin_col="referral",
                              patients_name="p")
    numeric = VISITS.assign(date=DAYS / 30)
    with pytest.raises(fb.DataError, match=r"holds numbers .* origin_col='referral' cannot"):
        fb.Cohort.from_visits(numeric, PATIENTS, time_col="date", origin_col="referral")
    with pytest.raises(fb.DataError, match="time_unit must be one of day, week, month, year"):
        fb.Cohort.from_visits(VISITS, PATIENTS, time_col="date", time_unit="fortnight")


def test_time_unit_is_named_never_taken_from_the_column():
    v = pd.DataFrame({"patient_id": list("AABB"), "visit_weeks": [0, 3, 0, 6],
                      "recovered": [0, 1, 0, 0]})
    p = pd.DataFrame({"patient_id": list("AB"), "sex": list("fm")})
    c = fb.Cohort.from_visits(v, p, time_col="visit_weeks")
    assert c.time_unit == "month"            # the documented default, not "visit_weeks"
    c = fb.Cohort.from_visits(v, p, time_col="visit_weeks", time_unit="weeks")
    assert c.time_unit == "week"
    assert "(6 weeks)" in c.describe()
    assert time_unit_name("Months") == "month"
    with pytest.raises(fb.DataError, match="time_unit must be a name"):
        time_unit_name("6 months")


def test_date_detection():
    assert is_date_column(pd.Series(["2024-01-01", "2024-02-29"]))
    assert is_date_column(pd.Series(pd.to_datetime(["2024-01-01"])))
    assert not is_date_column(pd.Series(["trauma", "2024-01-01"]))
    assert not is_date_column(pd.Series(["1", "2"]))
    assert not is_date_column(pd.Series([1.5, 2.0]))
