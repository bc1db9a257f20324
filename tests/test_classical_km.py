"""Kaplan–Meier recovery curves against lifelines and a hand-worked example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_waltons
from lifelines.utils import median_survival_times

import footdrop_bayes as fb
from footdrop_bayes.classical import at_risk_table, kaplan_meier, median_recovery


@pytest.fixture(scope="module")
def waltons():
    df = load_waltons()
    cohort = fb.Cohort.from_durations(df, duration_col="T", event_col="E", factors=["group"],
                                      covariates=[], reference={"group": "control"})
    return df, cohort


@pytest.fixture(scope="module")
def tiny():
    """Six patients: events at 1, 2, 3, 5; censored at 2 and 4."""
    df = pd.DataFrame({"t": [1, 2, 2, 3, 4, 5], "e": [1, 1, 0, 1, 0, 1],
                       "arm": ["a"] * 6})
    df.loc[0, "arm"] = "b"  # a second level so the factor is valid; overall curve used
    return fb.Cohort.from_durations(df, duration_col="t", event_col="e", factors=["arm"],
                                    covariates=[])


def test_waltons_matches_lifelines(waltons):
    df, cohort = waltons
    ds = kaplan_meier(cohort, by="group")
    assert ds["recovered"].dims == ("group", "time")
    assert list(ds["group"].values) == ["control", "miR-137"]
    for level in ["control", "miR-137"]:
        sub = df[df["group"] == level]
        kmf = KaplanMeierFitter().fit(sub["T"], sub["E"])
        times = kmf.timeline
        got = ds.sel(group=level, time=times)
        np.testing.assert_allclose(got["recovered"], 1 - kmf.survival_function_.iloc[:, 0],
                                   atol=1e-12)
        band = kmf.confidence_interval_survival_function_
        # lifelines' band, except where every patient at risk recovered (S = 0): there
        # lifelines gives the zero-width (0, 0) and we give NaN, "not estimable", as R
        left = (kmf.survival_function_.iloc[:, 0] > 0).to_numpy()
        np.testing.assert_allclose(got["recovered_high"][left], 1 - band.iloc[left, 0],
                                   atol=1e-12)
        np.testing.assert_allclose(got["recovered_low"][left], 1 - band.iloc[left, 1],
                                   atol=1e-12)
        assert np.isnan(got["recovered_low"][~left]).all()
        assert np.isnan(got["recovered_high"][~left]).all()
        et = kmf.event_table
        np.testing.assert_array_equal(got["at_risk"].sel(time=et.index), et["at_risk"])
        np.testing.assert_array_equal(got["events"].sel(time=et.index), et["observed"])
        np.testing.assert_array_equal(got["censored"].sel(time=et.index), et["censored"])
        med = median_recovery(cohort, by="group").loc[level]
        assert med["median"] == kmf.median_survival_time_
        ci = median_survival_times(kmf.confidence_interval_)
        assert med["median_low"] == ci.iloc[0, 0]
        assert med["median_high"] == ci.iloc[0, 1]


def test_tiny_hand_computed(tiny):
    ds = kaplan_meier(tiny, ci="plain")
    s = np.array([1, 5 / 6, 2 / 3, 4 / 9, 4 / 9, 0.0])
    np.testing.assert_allclose(ds["recovered"].values, 1 - s, atol=1e-12)
    np.testing.assert_array_equal(ds["at_risk"].values, [6, 6, 5, 3, 2, 1])
    np.testing.assert_array_equal(ds["events"].values, [0, 1, 1, 1, 0, 1])
    np.testing.assert_array_equal(ds["censored"].values, [0, 0, 1, 0, 1, 0])
    # Greenwood at t = 3: 1/30 + 1/20 + 1/6 = 1/4, so sd(log S) = 1/2
    z = 1.959963984540054
    lo_s, hi_s = 4 / 9 * (1 - z / 2), 4 / 9 * (1 + z / 2)
    assert ds["recovered_low"].sel(time=3).item() == pytest.approx(1 - hi_s)
    assert ds["recovered_high"].sel(time=3).item() == pytest.approx(1 - lo_s)
    log = kaplan_meier(tiny, ci="log").sel(time=3)
    assert log["recovered_low"].item() == pytest.approx(1 - min(1, 4 / 9 * np.exp(z / 2)))
    assert log["recovered_high"].item() == pytest.approx(1 - 4 / 9 * np.exp(-z / 2))
    # everyone recovered at t = 5: 100 %, band not estimable (Greenwood divides by
    # n - d = 0; R's survfit gives NA), neither a zero-width [100, 100] nor [0, 0]
    for ci in ("log-log", "log", "plain"):
        end = kaplan_meier(tiny, ci=ci).sel(time=5)
        assert end["recovered"].item() == 1.0
        assert np.isnan(end["recovered_low"].item()) and np.isnan(end["recovered_high"].item())
    med = median_recovery(tiny, ci="plain").loc["all"]
    assert med["median"] == 3.0
    assert med["summary"].startswith("3 (")


def test_alpha_widens_band(tiny):
    narrow = kaplan_meier(tiny, alpha=0.5).sel(time=3)
    wide = kaplan_meier(tiny, alpha=0.01).sel(time=3)
    assert wide["recovered_low"] < narrow["recovered_low"] < narrow["recovered"]
    assert wide["recovered_high"] > narrow["recovered_high"] > narrow["recovered"]


def test_visits_censor_withdrawn_at_last_unrecovered_visit():
    visits = pd.DataFrame({
        "patient_id": ["A", "A", "A", "B", "B", "B", "C", "C", "C", "C"],
        "month": [0, 1, 3, 0, 1, 2, 0, 1, 2, 3],
        "recovered": [0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
    })
    patients = pd.DataFrame({"patient_id": ["A", "B", "C"], "sex": ["m", "f", "m"]})
    cohort = fb.Cohort.from_visits(visits, patients, follow_up=3, factors=["sex"],
                                   covariates=[])
    ds = kaplan_meier(cohort)
    # A: recovery recorded at 3 (missed visit at 2); B withdrawn, censored at 2; C admin at 3
    assert ds["events"].sel(month=3).item() == 1
    assert ds["censored"].sel(month=2).item() == 1
    assert ds["censored"].sel(month=3).item() == 1
    assert ds["at_risk"].sel(month=3).item() == 2
    # S(3) = 1 - 1/2 (A and C at risk at 3, A recovers)
    assert ds["recovered"].sel(month=3).item() == pytest.approx(0.5)
    assert median_recovery(cohort).loc["all", "median"] == 3.0


def test_median_not_reached(waltons):
    _, cohort = waltons
    med = median_recovery(cohort.subset(["group"]), by="group")
    assert np.isfinite(med["median"]).all()
    df = pd.DataFrame({"t": [2, 3, 4, 4, 4, 4], "e": [1, 1, 0, 0, 0, 0],
                       "g": ["x", "y"] * 3})
    c = fb.Cohort.from_durations(df, duration_col="t", event_col="e", factors=["g"],
                                 covariates=[])
    m = median_recovery(c)
    assert m.loc["all", "median"] == np.inf
    assert m.loc["all", "summary"] == "not reached"


def test_at_risk_table_matches_dataset(study_cohort):
    ds = kaplan_meier(study_cohort, by="site")
    table = at_risk_table(study_cohort, by="site")
    assert table.index.name == "site" and table.columns.name == "month"
    np.testing.assert_array_equal(table.to_numpy(),
                                  ds["at_risk"].transpose("site", "month").to_numpy())
    assert (table[0.0] == study_cohort.covariates["site"].value_counts()
            .reindex(table.index)).all()
    assert at_risk_table(study_cohort, times=[6]).loc["all", 6.0] == ds["at_risk"].sel(
        month=6).sum().item()


def test_bad_inputs(study_cohort):
    with pytest.raises(fb.DataError, match="confidence band"):
        kaplan_meier(study_cohort, ci="arcsine")
    with pytest.raises(fb.DataError, match="bands"):
        kaplan_meier(study_cohort, by="age")
    with pytest.raises(fb.DataError, match="unknown factor"):
        kaplan_meier(study_cohort, by="clinic")
    ds = kaplan_meier(study_cohort, by="age",
                      bands={"age": fb.classical.Bands([40, 60], ["<40", "40–59", "≥60"])})
    assert list(ds["age"].values) == ["<40", "40–59", "≥60"]
