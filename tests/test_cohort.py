"""Intervals from hand-made visit tables whose answers are worked out by hand."""

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb


def make(visits_rows, patients=None, **kw):
    visits = pd.DataFrame(visits_rows, columns=["patient_id", "month", "recovered"])
    if patients is None:
        ids = sorted(visits["patient_id"].unique())
        patients = pd.DataFrame({"patient_id": ids,
                                 "sex": ["m", "f"] * (len(ids) // 2) + ["m"] * (len(ids) % 2),
                                 "age": np.linspace(30, 70, len(ids))})
    kw.setdefault("follow_up", 6)
    return fb.Cohort.from_visits(visits, patients, **kw)


# patient A: recovered at 3 after unrecovered at 0,1,2          -> (2, 3], event
# patient B: missed visits 2 and 3, recovered at 4              -> (1, 4], event
# patient C: withdrew after month 2, never recovered            -> (2, inf), withdrawn
# patient D: recovered at the first follow-up visit             -> (0, 1], event
# patient E: seen at every visit, never recovered               -> (6, inf), admin censored
# patient F: no month-0 row, recovered at 2 after unrecovered 1 -> (1, 2]
ROWS = (
    [("A", m, m >= 3) for m in (0, 1, 2, 3)]
    + [("B", 0, False), ("B", 1, False), ("B", 4, True)]
    + [("C", 0, False), ("C", 1, False), ("C", 2, False)]
    + [("D", 0, False), ("D", 1, True)]
    + [("E", m, False) for m in range(7)]
    + [("F", 1, False), ("F", 2, True)]
)
EXPECTED = pd.DataFrame({
    "last_unrecovered": [2.0, 1, 2, 0, 6, 1],
    "first_recovered": [3.0, 4, np.nan, 1, np.nan, 2],
    "event": [True, True, False, True, False, True],
    "withdrawn": [False, False, True, False, False, False],
    "admin_censored": [False, False, False, False, True, False],
}, index=pd.Index(list("ABCDEF"), name="patient"))


@pytest.fixture(scope="module")
def cohort():
    return make(ROWS)


def test_intervals_worked_by_hand(cohort):
    got = cohort.intervals.loc[EXPECTED.index, EXPECTED.columns]
    pd.testing.assert_frame_equal(got, EXPECTED)


def test_row_order_does_not_matter(cohort):
    shuffled = pd.DataFrame(ROWS).sample(frac=1, random_state=3).to_numpy().tolist()
    got = make(shuffled).intervals.loc[EXPECTED.index, EXPECTED.columns]
    pd.testing.assert_frame_equal(got, EXPECTED)


def test_grid_and_durations(cohort):
    np.testing.assert_array_equal(cohort.grid, np.arange(7.0))
    assert cohort.duration.to_dict() == {"A": 3, "B": 4, "C": 2, "D": 1, "E": 6, "F": 2}


def test_visit_after_recovery_does_not_change_interval_and_warns():
    rows = [("A", 0, False), ("A", 2, True), ("A", 3, False), ("B", 0, False), ("B", 6, False)]
    with pytest.warns(fb.DataWarning, match=r"after a recovery.*'A'"):
        c = make(rows)
    assert c.intervals.loc["A", ["last_unrecovered", "first_recovered"]].tolist() == [0, 2]


def test_grades_with_threshold_and_callable():
    rows = [("A", 0, 1), ("A", 1, 3), ("A", 2, 4), ("B", 0, 0), ("B", 3, 5), ("C", 0, 2),
            ("C", 6, 3)]
    for rule in (">=4", lambda s: s >= 4):
        c = make(rows, recovered_when=rule)
        iv = c.intervals
        assert iv.loc["A", "last_unrecovered"] == 1 and iv.loc["A", "first_recovered"] == 2
        assert iv.loc["B", "last_unrecovered"] == 0 and iv.loc["B", "first_recovered"] == 3
        assert not iv.loc["C", "event"] and iv.loc["C", "admin_censored"]


def test_zero_one_status_equals_boolean():
    as_int = [(p, m, int(r)) for p, m, r in ROWS]
    pd.testing.assert_frame_equal(make(as_int).intervals, make(ROWS).intervals)


def test_follow_up_defaults_to_last_visit_and_later_visits_warn():
    rows = [("A", 0, False), ("A", 4, True), ("B", 0, False), ("B", 5, False)]
    assert make(rows, follow_up=None).follow_up == 5
    with pytest.warns(fb.DataWarning, match=r"after the end of follow-up"):
        c = make(rows + [("B", 8, False)], follow_up=6)
    assert c.intervals.loc["B", "withdrawn"]


def test_patients_without_visits_are_excluded_and_named():
    patients = pd.DataFrame({"patient_id": list("ABCZ"), "sex": list("mfmf")})
    rows = [r for r in ROWS if r[0] in "ABC"]
    with pytest.warns(fb.DataWarning, match=r"no visits.*'Z'"):
        c = make(rows, patients=patients)
    assert list(c.excluded["patient"]) == ["Z"]
    assert c.n_patients == 3


def test_covariate_types_and_reference_levels():
    patients = pd.DataFrame({"patient_id": list("ABCDEF"),
                             "site": ["root", "root", "root", "sciatic", "deep", "deep"],
                             "age": [30, 40, 50, 60, 70, 80]})
    c = make(ROWS, patients=patients)
    assert c.factors == ("site",) and c.numeric == ("age",)
    assert list(c.covariates["site"].cat.categories) == ["root", "deep", "sciatic"]
    c2 = make(ROWS, patients=patients, reference={"site": "sciatic"})
    assert list(c2.covariates["site"].cat.categories) == ["sciatic", "deep", "root"]
    assert c.covariates["age"].dtype == float


def test_lifelines_format(cohort):
    df = cohort.to_lifelines()
    assert list(df.columns[:2]) == ["duration", "event"]
    assert df.loc["B", "duration"] == 4 and df.loc["C", "duration"] == 2
    assert not df.loc["C", "event"]


def test_person_period_rows(cohort):
    pp = cohort.person_period()
    b = pp[pp["patient"] == "B"][["start", "stop", "event"]].to_numpy().tolist()
    assert b == [[0, 1, 0], [1, 4, 1]]       # the missed visits make one wide event row
    e = pp[pp["patient"] == "E"]
    assert len(e) == 6 and e["event"].sum() == 0
    assert pp["event"].sum() == cohort.intervals["event"].sum()


def test_counts_and_table1(cohort):
    counts = cohort.counts()
    assert counts[["patients", "recovered", "withdrawn", "admin_censored"]].tolist() == [6, 4, 1, 1]
    t1 = cohort.table1()
    assert t1.loc[("patients", ""), "all"] == "6"
    assert t1.loc[("patients", ""), "withdrawn"] == "1"
    assert "sex" in t1.index.get_level_values(0)
    assert "recovered" in cohort.describe()


def test_from_durations_on_integer_grid():
    df = pd.DataFrame({"t": [3, 5, 5, 2], "e": [1, 0, 1, 0], "g": list("abab")})
    c = fb.Cohort.from_durations(df, duration_col="t", event_col="e")
    iv = c.intervals
    assert iv["last_unrecovered"].tolist() == [2, 5, 4, 2]
    assert iv["first_recovered"].fillna(-1).tolist() == [3, -1, 5, -1]
    assert iv["withdrawn"].tolist() == [False, False, False, True]
    np.testing.assert_array_equal(c.grid, np.arange(6.0))
    pd.testing.assert_series_equal(c.duration, df["t"].astype(float), check_names=False,
                                   check_index=False)
    assert c.factors == ("g",)


def test_subset_keeps_patients(cohort):
    s = cohort.subset(["age"])
    assert s.factors == () and s.numeric == ("age",)
    assert s.intervals.equals(cohort.intervals)


def test_patients_seen_only_at_referral_are_kept_and_named():
    rows = [*ROWS, ("G", 0, False)]
    with pytest.warns(fb.DataWarning, match=r"only at referral.*'G'"):
        c = make(rows)
    assert c.intervals.loc["G", "withdrawn"] and c.intervals.loc["G", "last_unrecovered"] == 0


def test_reference_level_of_an_integer_coded_factor():
    df = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 1, 0, 1], "fin": [0, 1, 0, 1]})
    c = fb.Cohort.from_durations(df, duration_col="t", event_col="e", factors=["fin"],
                                 reference={"fin": 1})
    assert list(c.covariates["fin"].cat.categories) == ["1", "0"]
