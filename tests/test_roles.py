"""No quiet surprises in the covariates: inferred roles, near-duplicate levels, relevel."""

import warnings

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.covariates import describe_roles, explain_roles

N = 30
RNG = np.random.default_rng(0)
PATIENTS = pd.DataFrame({
    "patient_id": [f"P{i:03d}" for i in range(N)],
    "referral_date": pd.date_range("2024-01-01", periods=N, freq="3D").strftime("%Y-%m-%d"),
    "onset": pd.date_range("2023-12-01", periods=N, freq="2D"),
    "hospital_number": RNG.permutation(np.arange(10_000, 10_000 + 7 * N, 7)),
    "row": np.arange(1, N + 1),
    "initials": [f"X{i}Y" for i in range(N)],
    "cause": ["trauma", "compression", "radiculopathy"] * (N // 3),
    "age": RNG.integers(20, 80, N).astype(float),
    "diabetic": [True, False] * (N // 2),
})


def visits_for(patients):
    ids = patients["patient_id"]
    return pd.DataFrame({"patient_id": np.repeat(ids, 2), "month": [0, 3] * len(ids),
                         "recovered": [0, 1] * len(ids)})


def test_dates_and_ids_are_never_factors_and_the_reason_is_given():
    roles = explain_roles(PATIENTS, exclude=["patient_id"])
    assert roles["role"].to_dict() == {
        "referral_date": "ignored", "onset": "ignored", "hospital_number": "ignored",
        "row": "ignored", "initials": "ignored", "cause": "factor", "age": "numeric",
        "diabetic": "factor"}
    assert "dates" in roles.loc["referral_date", "reason"]
    assert "name 'hospital_number'" in roles.loc["hospital_number", "reason"]
    assert "consecutive" in roles.loc["row", "reason"]
    assert "a different value for each of the 30 patients" in roles.loc["initials", "reason"]
    line = describe_roles(roles)
    assert line.startswith("inferred factors: cause, diabetic; numeric covariates: age")
    assert "not used: referral_date (holds dates" in line


def test_small_tables_keep_distinct_values_as_factors():
    small = PATIENTS.head(4)[["patient_id", "initials"]]
    assert explain_roles(small, exclude=["patient_id"])["role"].tolist() == ["factor"]


def test_from_visits_records_the_inferred_roles():
    c = fb.Cohort.from_visits(visits_for(PATIENTS), PATIENTS)
    assert c.factors == ("cause", "diabetic") and c.numeric == ("age",)
    assert c.roles.loc["referral_date", "role"] == "ignored"


def test_near_duplicate_levels_warn_naming_levels_and_patients():
    p = PATIENTS.copy()
    p.loc[3, "cause"] = "Trauma"
    p.loc[6, "cause"] = "trauma "
    with pytest.warns(fb.DataWarning) as rec:
        c = fb.Cohort.from_visits(visits_for(p), p, factors=["cause"], covariates=[],
                                  patients_name="p.csv")
    msg = next(str(w.message) for w in rec if "differ only in case" in str(w.message))
    assert "p.csv: column 'cause'" in msg
    assert "'trauma', 'Trauma', 'trauma '" in msg
    assert "'P003', 'P006' (2 patients)" in msg
    assert len(c.covariates["cause"].cat.categories) == 5       # nothing merged silently


def test_no_warning_for_clean_levels():
    with warnings.catch_warnings():
        warnings.simplefilter("error", fb.DataWarning)
        fb.Cohort.from_visits(visits_for(PATIENTS), PATIENTS, factors=["cause"],
                              covariates=[])


def test_relevel_returns_a_cohort_with_new_references():
    c = fb.Cohort.from_visits(visits_for(PATIENTS), PATIENTS, factors=["cause", "diabetic"],
                              covariates=["age"])
    assert c.covariates["cause"].cat.categories[0] == "compression"   # tie: sort order
    r = c.relevel({"cause": "trauma", "diabetic": "yes"})
    assert list(r.covariates["cause"].cat.categories) == ["trauma", "compression",
                                                           "radiculopathy"]
    assert r.covariates["diabetic"].cat.categories[0] == "yes"
    assert c.covariates["cause"].cat.categories[0] == "compression"   # original unchanged
    assert (r.covariates["cause"].astype(str) == c.covariates["cause"].astype(str)).all()
    pd.testing.assert_frame_equal(r.intervals, c.intervals)
    with pytest.raises(fb.DataError, match="'injury' is not a level of 'cause'; its levels "
                                           "are compression, radiculopathy, trauma"):
        c.relevel({"cause": "injury"})
    with pytest.raises(fb.DataError, match="'age' is not a factor"):
        c.relevel({"age": 40})


def test_a_column_both_factor_and_group_is_an_error():
    p = PATIENTS.assign(clinic=["north", "south", "east"] * (N // 3))
    c = fb.Cohort.from_visits(visits_for(p), p, factors=["cause", "clinic"], covariates=[])
    with pytest.raises(fb.DataError, match="'clinic' is given both as group= and in "
                                           "factors="):
        fb.RecoveryModel(c, factors=["cause", "clinic"], group="clinic")
    m = fb.RecoveryModel(c, group="clinic")           # the default factors leave it out
    assert m.factors == ["cause"]
