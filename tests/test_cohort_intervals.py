"""Interval tables (lower, upper bounds) as lifelines' fit_interval_censoring reads them."""

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_diabetes, load_mice

import footdrop_bayes as fb

# id  lower upper  meaning                          exact grid {0,2,3,4,5,6}   grid=[0,3,6]
# a   2     5      event in (2, 5]                  (2, 5]                     (0, 6]
# b   3     inf    censored at 3 (before 6)         withdrawn at 3             withdrawn at 3
# c   0     4      before the first look            (0, 4]                     (0, 6]
# d   4     4      observed at 4                    (3, 4]                     (3, 6]
# e   6     NaN    censored at the end              admin censored at 6        at 6
TABLE = pd.DataFrame({"id": list("abcde"), "lo": [2, 3, 0, 4, 6],
                      "hi": [5, np.inf, 4, 4, np.nan], "arm": list("xyxyx"),
                      "age": [50.0, 61, 42, 70, 55]})


def build(df=TABLE, **kw):
    return fb.Cohort.from_intervals(df, lower_col="lo", upper_col="hi", id_col="id",
                                    **kw)


def test_exact_grid_worked_by_hand():
    c = build()
    iv = c.intervals
    np.testing.assert_array_equal(c.grid, [0, 2, 3, 4, 5, 6])
    assert c.follow_up == 6 and c.factors == ("arm",) and c.numeric == ("age",)
    np.testing.assert_array_equal(iv["last_unrecovered"], [2, 3, 0, 3, 6])
    np.testing.assert_array_equal(iv["first_recovered"], [5, np.nan, 4, 4, np.nan])
    assert iv["event"].tolist() == [True, False, True, True, False]
    assert iv["withdrawn"].tolist() == [False, True, False, False, False]
    assert iv["admin_censored"].tolist() == [False, False, False, False, True]
    assert c.roles.loc["arm", "role"] == "factor"


def test_coarse_grid_rounds_outward():
    c = build(grid=[3])
    iv = c.intervals
    np.testing.assert_array_equal(c.grid, [0, 3, 6])
    np.testing.assert_array_equal(iv["last_unrecovered"], [0, 3, 0, 3, 6])
    np.testing.assert_array_equal(iv["first_recovered"], [6, np.nan, 6, 6, np.nan])
    assert any("rounded outward" in n and "'a'" in n for n in c.notes)


def test_follow_up_before_an_upper_bound_censors_that_event():
    with pytest.warns(fb.DataWarning, match=r"upper bound after the end of follow-up .*'a'"):
        c = build(follow_up=4.5)
    assert not c.intervals.loc["a", "event"] and c.intervals.loc["a", "withdrawn"]
    assert c.intervals.loc["a", "last_unrecovered"] == 2
    assert c.intervals.loc["e", "admin_censored"]       # censored after 4.5: at the end
    assert c.intervals.loc["e", "last_unrecovered"] == 4.5


@pytest.mark.parametrize("lo,hi,match", [
    (5, 4, r"t: lower bound 'lo' is above upper bound 'hi' for patients 'b'"),
    (-1, 4, r"t: column 'lo' has negative bounds for patients 'b'"),
    (np.nan, 4, r"t: column 'lo' has missing lower bounds for patients 'b'"),
    ("soon", 4, r"t: column 'lo' has non-numeric bounds for patients 'b'"),
    (0, 0, r"t: events at time 0 .* patients 'b'"),
])
def test_bad_bounds_name_table_column_and_patients(lo, hi, match):
    bad = TABLE.astype({"lo": object, "hi": object})
    bad.loc[1, ["lo", "hi"]] = [lo, hi]
    with pytest.raises(fb.DataError, match=match):
        build(bad, table="t")


def test_hundreds_of_distinct_bounds_always_contain_the_true_time():
    rng = np.random.default_rng(3)
    n = 600
    true = rng.exponential(20, n)
    lower = np.maximum(true - rng.uniform(0, 5, n), 0).round(3)
    upper = (true + rng.uniform(0, 5, n)).round(3)
    upper[true > 40] = np.inf
    lower[true > 40] = np.minimum(lower[true > 40], 40)
    df = pd.DataFrame({"lower": lower, "upper": upper,
                       "arm": rng.choice(["a", "b"], n)})
    for grid in (None, np.arange(0, 60, 5)):
        c = fb.Cohort.from_intervals(df, lower_col="lower", upper_col="upper", grid=grid)
        iv = c.intervals
        ev = iv["event"].to_numpy()
        assert ev.sum() == np.isfinite(upper).sum()
        assert np.all(iv["last_unrecovered"].to_numpy()[ev] < true[ev])
        assert np.all(true[ev] <= iv["first_recovered"].to_numpy()[ev] + 1e-9)
        assert np.all(iv["last_unrecovered"].to_numpy() <= lower + 1e-9)
        assert np.isin(iv["first_recovered"].dropna(), c.grid).all()
        assert np.isin(iv["last_unrecovered"], c.grid).all()
    assert len(np.unique(np.r_[lower, upper[np.isfinite(upper)]])) > 500


def test_diabetes_shape():
    d = load_diabetes()
    c = fb.Cohort.from_intervals(d, lower_col="left", upper_col="right", time_unit="year")
    iv = c.intervals
    exact = (d["left"] == d["right"]).to_numpy()
    assert c.n_patients == 731 and iv["event"].all() and exact.sum() == 595
    # exact observations: one grid step ending at the observed age
    width = (iv["first_recovered"] - iv["last_unrecovered"]).to_numpy()
    prev = c.grid[np.searchsorted(c.grid, d["right"].to_numpy()) - 1]
    np.testing.assert_array_equal(width[exact], d["right"].to_numpy()[exact] - prev[exact])
    np.testing.assert_array_equal(iv["first_recovered"], d["right"])
    assert c.factors == ("gender",) and c.time_unit == "year"


def test_mice_current_status_shape():
    m = load_mice()
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # nothing to warn about
        c = fb.Cohort.from_intervals(m, lower_col="l", upper_col="u", time_unit="day")
    iv = c.intervals
    tumour = np.isfinite(m["u"]).to_numpy()
    assert iv["event"].to_numpy().tolist() == tumour.tolist()
    assert (iv.loc[tumour, "last_unrecovered"] == 0).all()        # present at death
    assert iv["withdrawn"].sum() == (~tumour).sum() == 82
    assert c.roles.loc["Unnamed: 0", "role"] == "ignored"           # the row number
    assert "id-like" in c.roles.loc["Unnamed: 0", "reason"]
    assert c.factors == ("grp",)
