"""Kaplan–Meier and log-rank on collapsed (time, event, level) counts equal per-patient fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from lifelines.utils import group_survival_table_from_events

import footdrop_bayes as fb
from footdrop_bayes import classical
from footdrop_bayes.classical._common import collapse
from footdrop_bayes.classical.km import fit_km


@pytest.fixture(scope="module")
def cohort():
    visits, patients, _ = fb.simulate_cohort(600, n_clinics=3, random_seed=21)
    return fb.Cohort.from_visits(visits, patients, follow_up=6,
                                 factors=["cause", "site", "sex", "clinic"], covariates=["age"])


def test_collapse_counts_every_patient(cohort):
    t, e = cohort.duration.to_numpy(float), cohort.intervals["event"].to_numpy(bool)
    g = cohort.covariates["cause"].cat.codes.to_numpy()
    tt, ee, gg, w = collapse(t, e, g)
    assert len(tt) < len(t) / 5 and w.sum() == len(t)
    rebuilt = pd.DataFrame({"t": np.repeat(tt, w), "e": np.repeat(ee, w),
                            "g": np.repeat(gg, w)}).sort_values(["t", "e", "g"])
    orig = pd.DataFrame({"t": t, "e": e, "g": g}).sort_values(["t", "e", "g"])
    np.testing.assert_array_equal(rebuilt.to_numpy(float), orig.to_numpy(float))


@pytest.mark.parametrize("ci", ["log-log", "log", "plain"])
def test_km_equals_unweighted_lifelines(cohort, ci):
    t, e = cohort.duration.to_numpy(float), cohort.intervals["event"].to_numpy(bool)
    got = fit_km(t, e, cohort.grid, 0.05, ci)
    kmf = KaplanMeierFitter(alpha=0.05).fit(t, e, timeline=cohort.grid)
    np.testing.assert_allclose(got["survival"], kmf.survival_function_.iloc[:, 0],
                               rtol=1e-12)
    if ci == "log-log":
        band = kmf.confidence_interval_survival_function_.to_numpy()
        inside = (got["survival"] < 1) & (got["survival"] > 0)
        np.testing.assert_allclose(got["survival_low"][inside], band[inside, 0], rtol=1e-10)
        np.testing.assert_allclose(got["survival_high"][inside], band[inside, 1], rtol=1e-10)
    # every patient at risk recovered (S = 0): no band; before any recovery: the point 1
    assert got.loc[got["survival"] <= 0, ["survival_low", "survival_high"]].isna().all().all()
    assert (got.loc[got["survival"] >= 1, ["survival_low", "survival_high"]] == 1).all().all()
    assert list(got["at_risk"]) == [int((t >= g).sum()) for g in cohort.grid]
    assert list(got["events"]) == [int(((t == g) & e).sum()) for g in cohort.grid]
    assert list(got["censored"]) == [int(((t == g) & ~e).sum()) for g in cohort.grid]


@pytest.mark.parametrize("weightings", [None, "wilcoxon", "tarone-ware", "peto"])
def test_logrank_equals_unweighted_lifelines(cohort, weightings):
    t, e = cohort.duration.to_numpy(float), cohort.intervals["event"].to_numpy(int)
    got = classical.logrank(cohort, ["cause", "site"], weightings=weightings)
    for f in ("cause", "site"):
        ref = multivariate_logrank_test(t, cohort.covariates[f].cat.codes.to_numpy(), e,
                                        weightings=weightings)
        np.testing.assert_allclose(got.loc[f, "statistic"], ref.test_statistic, rtol=1e-10)
        np.testing.assert_allclose(got.loc[f, "p_value"], ref.p_value, rtol=1e-8,
                                   atol=1e-300)


def test_pairwise_logrank_equals_unweighted_lifelines(cohort):
    t, e = cohort.duration.to_numpy(float), cohort.intervals["event"].to_numpy(int)
    g = cohort.covariates["site"]
    got = classical.pairwise_logrank(cohort, "site", correction="none")
    for (a, b), row in got.iterrows():
        ma, mb = (g == a).to_numpy(), (g == b).to_numpy()
        ref = logrank_test(t[ma], t[mb], e[ma], e[mb])
        np.testing.assert_allclose(row["statistic"], ref.test_statistic, rtol=1e-10)
        assert row["n_a"] == ma.sum() and row["n_b"] == mb.sum()


def test_trend_equals_per_patient_risk_tables(cohort):
    banded = classical.band_covariates(cohort, {"age": ([40, 60], ["<40", "40-59", ">=60"])})
    got = classical.logrank_trend(banded, "age")
    t, e = banded.duration.to_numpy(float), banded.intervals["event"].to_numpy(int)
    codes = banded.covariates["age"].cat.codes.to_numpy()
    uniq, removed, observed, _ = group_survival_table_from_events(codes, t, e)
    cols = [f"removed:{c}" for c in uniq]
    n_jt = (removed[cols].sum(0).to_numpy() - removed[cols].cumsum(0).shift(1).fillna(0))
    n_jt = n_jt.to_numpy(float)
    d_jt = observed[[f"observed:{c}" for c in uniq]].to_numpy(float)
    w = np.asarray(uniq, float)
    n_t, d_t = n_jt.sum(1), d_jt.sum(1)
    keep = d_t > 0
    share = n_jt[keep] / n_t[keep, None]
    u = float(((d_jt[keep] - share * d_t[keep, None]) @ w).sum())
    hyper = d_t[keep] * (n_t[keep] - d_t[keep]) / np.maximum(n_t[keep] - 1, 1)
    var = float((hyper * (share @ w**2 - (share @ w) ** 2)).sum())
    np.testing.assert_allclose(got["observed_minus_expected"], u, rtol=1e-10)
    np.testing.assert_allclose(got["variance"], var, rtol=1e-10)


def test_study_table_logrank_equals_unweighted(cohort):
    tab = classical.study_table(cohort, ["cause"], at=4.0)
    t, e = cohort.duration.to_numpy(float), cohort.intervals["event"].to_numpy(int)
    ref = multivariate_logrank_test(t, cohort.covariates["cause"].cat.codes.to_numpy(), e,
                                    t_0=4.0)
    np.testing.assert_allclose(tab.loc[("cause", "trauma"), "p_logrank"], ref.p_value,
                               rtol=1e-8)


def test_vectorised_schoenfeld_residuals_equal_lifelines(cohort):
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    from footdrop_bayes.classical.cox import design, schoenfeld_residuals

    X, _ = design(cohort, ["cause", "sex"], ["age"])
    t, e = cohort.duration.to_numpy(float), cohort.intervals["event"].to_numpy(int)
    df = X.assign(_duration=t, _event=e)
    cph = CoxPHFitter().fit(df, "_duration", "_event")
    ref = cph.compute_residuals(df, "scaled_schoenfeld")
    got = schoenfeld_residuals(cph, df)
    assert list(got.index) == list(ref.index) and list(got.columns) == list(ref.columns)
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-10, atol=1e-10)
    res = classical.cox(cohort, ["cause", "sex"], ["age"])
    lifelines_ph = proportional_hazard_test(cph, df, time_transform="rank").summary
    np.testing.assert_allclose(res.ph_test["p_value"].to_numpy(),
                               lifelines_ph["p"].reindex(res.ph_test.index).to_numpy(),
                               rtol=1e-8)


@pytest.mark.parametrize("ci", ["log-log", "log", "plain"])
def test_km_band_is_not_estimable_once_everyone_at_risk_recovered(ci):
    """Four patients, all recovered by month 3: 100 % with no band from month 3 (R's
    survfit gives NA there too), a finite band before, the point 1 before month 1."""
    grid = np.arange(7.0)
    got = fit_km(np.array([1.0, 2, 2, 3]), np.ones(4, bool), grid, 0.05, ci)
    assert list(got["survival"]) == pytest.approx([1, 0.75, 0.25, 0, 0, 0, 0])
    assert got.loc[3.0:, ["survival_low", "survival_high"]].isna().all().all()
    inside = got.loc[1.0:2.0]
    assert (inside["survival_low"] < inside["survival"]).all()
    assert (inside["survival"] < inside["survival_high"]).all()
    assert (got.loc[0.0, ["survival_low", "survival_high"]] == 1).all()


def test_km_cells_say_not_estimable():
    import pandas as pd

    from footdrop_bayes.report_text import _km_cell
    from footdrop_bayes.summaries.export import _with_interval

    row = pd.Series({"percent_km": 100.0, "percent_km_low": np.nan,
                     "percent_km_high": np.nan})
    assert _km_cell(row) == "100.0 (CI not estimable)"
    assert _km_cell(pd.Series({"percent_km": 75.0, "percent_km_low": 30.2,
                               "percent_km_high": 96.1})) == "75.0 (30.2–96.1)"
    assert _with_interval([1.0], [np.nan], [np.nan], lambda x: f"{100 * x:.1f}") == \
        ["100.0 (CI not estimable)"]
    from footdrop_bayes.report_text import KM_NOT_ESTIMABLE, study_table_md

    table = pd.DataFrame([{"n": 4, "withdrawn": 0, "recovered": 4, "analysed": 4,
                           "percent_excluding_withdrawn": 100.0,
                           "p_excluding_withdrawn": np.nan, "percent_km": 100.0,
                           "percent_km_low": np.nan, "percent_km_high": np.nan,
                           "p_logrank": 0.2}],
                         index=pd.MultiIndex.from_tuples([("implant", "rare")]))
    md = study_table_md(table, 0.95)
    assert "100.0 (CI not estimable)" in md and md.endswith(KM_NOT_ESTIMABLE)
    table[["percent_km", "percent_km_low", "percent_km_high"]] = [75.0, 33.5, 99.1]
    assert KM_NOT_ESTIMABLE not in study_table_md(table, 0.95)
