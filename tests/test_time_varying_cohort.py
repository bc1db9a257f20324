"""Time-varying covariates in the cohort: timing rule, lag, views and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.errors import DataError, DataWarning

LEVELS = ["physio", "surgery"]


def _tables():
    visits = pd.DataFrame({
        "patient_id": [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4],
        "month": [1, 2, 3, 4, 1, 2, 4, 1, 2, 3, 4, 1, 2, 3, 4],
        "recovered": [0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1],
        # patient 1 switches at month 2; 2 at month 2 then misses month 3;
        # 3 never switches; 4 switches at month 3, the visit that finds it recovered
        "treatment": ["physio", "surgery", "surgery", "surgery", "physio", "surgery",
                      "surgery", "physio", "physio", "physio", "physio", "physio",
                      "physio", "surgery", "surgery"]})
    patients = pd.DataFrame({"patient_id": [1, 2, 3, 4], "site": ["a", "b", "a", "b"],
                             "treatment": pd.Categorical(["physio"] * 4, LEVELS)})
    return visits, patients


def _cohort(**kw):
    visits, patients = _tables()
    return fb.Cohort.from_visits(visits, patients, factors=["site"], follow_up=4,
                                 time_varying=["treatment"], **kw)


def test_paths_follow_the_timing_rule():
    c = _cohort()
    assert c.time_varying == ("treatment",)
    assert "treatment" not in c.factors
    p = c.time_varying_paths["treatment"]   # intervals (0,1], (1,2], (2,3], (3,4]
    np.testing.assert_array_equal(p[0], [0, 0, 1, 1])   # recorded at 2: acts on (2, 3]
    np.testing.assert_array_equal(p[1], [0, 0, 1, 1])   # missed month 3: carried forward
    np.testing.assert_array_equal(p[2], [0, 0, 0, 0])
    # recorded at month 3, where recovery was first seen: never acts on (2, 3]
    np.testing.assert_array_equal(p[3], [0, 0, 0, 1])
    assert list(c.covariates["treatment"]) == ["physio"] * 4


def test_lag_delays_every_change_by_whole_visits():
    p = _cohort(lag=1).time_varying_paths["treatment"]
    np.testing.assert_array_equal(p[0], [0, 0, 0, 1])
    np.testing.assert_array_equal(p[3], [0, 0, 0, 0])
    with pytest.raises(DataError, match="lag"):
        _cohort(lag=-1)


def test_visit_at_time_zero_gives_the_baseline_without_a_patients_column():
    visits, patients = _tables()
    zero = pd.DataFrame({"patient_id": [1, 2, 3, 4], "month": 0, "recovered": 0,
                         "treatment": ["surgery", "physio", "physio", "physio"]})
    visits = pd.concat([zero, visits])
    c = fb.Cohort.from_visits(visits, patients.drop(columns="treatment"), factors=["site"],
                              follow_up=4, time_varying=["treatment"])
    assert c.time_varying_paths["treatment"][0, 0] == \
        c.time_varying_levels["treatment"].index("surgery")
    assert c.covariates.loc[1, "treatment"] == "surgery"


def test_person_period_long_and_path_views():
    c = _cohort()
    pp = c.person_period()
    row = pp[(pp["patient"] == 1) & (pp["start"] == 2)]
    assert row["treatment"].item() == "surgery" and row["event"].item() == 1
    assert pp.loc[(pp["patient"] == 4) & (pp["stop"] == 3), "treatment"].item() == "physio"
    long = c.to_lifelines_long()
    p1 = long[long["patient"] == 1]
    assert p1[["start", "stop", "event"]].to_numpy().tolist() == [[0, 2, 0], [2, 3, 1]]
    assert list(p1["treatment"]) == ["physio", "surgery"]
    # patient 4 recovers at 3 on physio: one row, its change comes after
    p4 = long[long["patient"] == 4]
    assert p4[["start", "stop", "event"]].to_numpy().tolist() == [[0, 3, 1]]
    paths = c.time_varying_path_table()
    p4 = paths[paths["patient"] == 4]
    assert p4[["start", "stop"]].to_numpy().tolist() == [[0, 3], [3, 4]]
    assert list(p4["value"]) == ["physio", "surgery"]


def test_subset_keeps_the_paths():
    c = _cohort().subset(["site"])
    assert c.time_varying == ("treatment",)
    assert c.time_varying_paths["treatment"].shape == (4, 4)


def test_missing_values_raise_naming_the_table_and_patients():
    visits, patients = _tables()
    visits.loc[5, "treatment"] = None
    with pytest.raises(DataError, match=r"visits: column 'treatment'.*missing.*2 \(1 patient"):
        fb.Cohort.from_visits(visits, patients, factors=["site"], follow_up=4,
                              time_varying=["treatment"])
    visits, patients = _tables()
    patients["treatment"] = pd.Categorical(["physio", None, "physio", "physio"], LEVELS)
    with pytest.raises(DataError, match=r"patients: no baseline value.*2 \(1 patient"):
        fb.Cohort.from_visits(visits, patients, factors=["site"], follow_up=4,
                              time_varying=["treatment"])


def test_unknown_level_raises():
    visits, patients = _tables()
    visits.loc[2, "treatment"] = "surgrey"
    with pytest.raises(DataError, match=r"\['surgrey'\].*not levels of the baseline"):
        fb.Cohort.from_visits(visits, patients, factors=["site"], follow_up=4,
                              time_varying=["treatment"])


def test_levels_first_seen_at_visits_are_added_but_near_spellings_raise():
    visits, patients = _tables()
    patients["treatment"] = patients["treatment"].astype(str)       # not declared
    c = fb.Cohort.from_visits(visits, patients, factors=["site"], follow_up=4,
                              time_varying=["treatment"])
    assert c.time_varying_levels["treatment"] == ["physio", "surgery"]
    visits.loc[2, "treatment"] = "Physio "
    with pytest.raises(DataError, match=r"\['Physio '\].*only in case or spacing"):
        fb.Cohort.from_visits(visits, patients, factors=["site"], follow_up=4,
                              time_varying=["treatment"])


def test_conflicting_values_at_one_visit_and_missing_column_raise():
    visits, patients = _tables()
    extra = visits.iloc[[0]].assign(treatment="surgery")
    with pytest.raises(DataError, match="different values at the same visit"):
        fb.Cohort.from_visits(pd.concat([visits, extra]), patients, factors=["site"],
                              follow_up=4, time_varying=["treatment"])
    with pytest.raises(DataError, match="not found"):
        fb.Cohort.from_visits(visits, patients, factors=["site"], follow_up=4,
                              time_varying=["drug"])


def test_a_column_that_never_varies_becomes_a_baseline_factor():
    visits, patients = _tables()
    visits["treatment"] = "physio"
    with pytest.warns(DataWarning, match="never change"):
        c = fb.Cohort.from_visits(visits, patients, factors=["site"], follow_up=4,
                                  time_varying=["treatment"])
    assert c.time_varying == ()
    assert "treatment" in c.factors


def test_simulated_switching_records_the_switch_at_the_visit():
    visits, patients, truth = fb.simulate_cohort(200, switching="random", random_seed=4)
    c = fb.Cohort.from_visits(visits, patients, factors=[], covariates=[],
                              time_varying=["treatment"])
    ids = c.patient_ids
    surgery = c.time_varying_levels["treatment"].index("surgery")
    switched = [i for i, m in truth["switch_month"].items() if m is not None]
    assert switched
    for pid in switched[:20]:
        m = truth["switch_month"][pid]
        path = c.time_varying_paths["treatment"][ids.get_loc(pid)]
        assert path[m] == surgery and path[m - 1] != surgery
    with pytest.raises(ValueError, match="mechanism"):
        fb.simulate_cohort(10, switching="sometimes")
