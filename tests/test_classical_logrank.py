"""Log-rank tests against lifelines, Holm by hand, the trend test by brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_waltons
from lifelines.statistics import logrank_test, multivariate_logrank_test, pairwise_logrank_test

import footdrop_bayes as fb
from footdrop_bayes.classical import Bands, adjust_p, logrank, logrank_trend, pairwise_logrank

AGE = {"age": Bands([40, 60], ["<40", "40–59", "≥60"])}


def test_two_groups_match_lifelines():
    df = load_waltons()
    cohort = fb.Cohort.from_durations(df, duration_col="T", event_col="E", factors=["group"],
                                      covariates=[])
    a, b = df[df["group"] == "control"], df[df["group"] == "miR-137"]
    ref = logrank_test(a["T"], b["T"], a["E"], b["E"])
    got = logrank(cohort, "group").loc["group"]
    assert got["statistic"] == pytest.approx(ref.test_statistic, rel=1e-10)
    assert got["p_value"] == pytest.approx(ref.p_value, rel=1e-10)
    assert got["df"] == 1 and got["n_levels"] == 2


def test_k_sample_and_pairwise_match_lifelines(study_cohort):
    t, e = study_cohort.duration, study_cohort.intervals["event"]
    site = study_cohort.covariates["site"].astype(str)
    ref = multivariate_logrank_test(t, site, e)
    got = logrank(study_cohort)
    assert list(got.index) == list(study_cohort.factors)
    assert got.loc["site", "statistic"] == pytest.approx(ref.test_statistic, rel=1e-10)
    assert got.loc["site", "df"] == 3
    pw = pairwise_logrank(study_cohort, "site", correction="none")
    ref_pw = pairwise_logrank_test(t, site, e).summary
    assert len(pw) == 6
    for (a, b), row in pw.iterrows():
        key = (a, b) if (a, b) in ref_pw.index else (b, a)
        assert row["p_value"] == pytest.approx(ref_pw.loc[key, "p"], rel=1e-10)
        assert row["p_adjusted"] == row["p_value"]
    assert pw.index.names == ["level_a", "level_b"]
    assert pw.index[0][0] == "root"  # pairs follow the factor's level order


def test_holm_by_hand():
    np.testing.assert_allclose(adjust_p([0.01, 0.04, 0.03], "holm"), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(adjust_p([0.01, 0.04, 0.5], "bonferroni"), [0.03, 0.12, 1.0])
    np.testing.assert_allclose(adjust_p([0.01, 0.04, 0.03], "fdr_bh"), [0.03, 0.04, 0.04])
    with pytest.raises(fb.DataError, match="correction"):
        adjust_p([0.1], "sidak")


def test_pairwise_holm_not_below_raw(study_cohort):
    pw = pairwise_logrank(study_cohort, "cause")
    assert (pw["p_adjusted"] >= pw["p_value"]).all()
    assert pw["p_adjusted"].min() == pytest.approx(min(1, 3 * pw["p_value"].min()))


def _cox_score_statistic(t, e, z):
    """Brute-force Cox score test at beta = 0 (no tied times)."""
    u = info = 0.0
    for i in np.flatnonzero(e):
        risk = z[t >= t[i]]
        u += z[i] - risk.mean()
        info += risk.var()
    return u**2 / info


def test_trend_equals_cox_score_test_without_ties():
    rng = np.random.default_rng(3)
    n = 60
    score = rng.integers(0, 3, n)
    t = rng.permutation(np.arange(1, n + 1))  # distinct times: no ties
    e = rng.random(n) < 0.7
    df = pd.DataFrame({"t": t, "e": e, "dose": pd.Categorical(
        np.array(["low", "mid", "high"])[score], categories=["low", "mid", "high"],
        ordered=True)})
    cohort = fb.Cohort.from_durations(df, duration_col="t", event_col="e", factors=["dose"],
                                      covariates=[])
    got = logrank_trend(cohort, "dose")
    ref = _cox_score_statistic(t.astype(float), e, score.astype(float))
    assert got["statistic"] == pytest.approx(ref, rel=1e-10)
    # the same scores given explicitly, then rescaled: the test is invariant
    again = logrank_trend(cohort, "dose", scores={"low": 10, "mid": 12, "high": 14})
    assert again["statistic"] == pytest.approx(ref, rel=1e-10)


def test_trend_two_levels_is_logrank_and_bounded_by_k_sample(study_cohort):
    lt = logrank_trend(study_cohort, "lesion_type")
    assert lt["statistic"] == pytest.approx(
        logrank(study_cohort, "lesion_type").loc["lesion_type", "statistic"], rel=1e-10)
    assert lt["z"] > 0  # demyelinating (score 1) recovers faster
    res = logrank(study_cohort, bands=AGE)
    assert "age" in res.index
    assert np.isnan(res.loc["cause", "trend_p_value"])
    assert 0 < res.loc["age", "trend_statistic"] <= res.loc["age", "statistic"] + 1e-12
    trend = logrank_trend(study_cohort, "age", bands=AGE)
    assert trend["z"] < 0  # older patients recover more slowly in the bundled cohort
    with pytest.raises(fb.DataError, match="not ordered"):
        logrank_trend(study_cohort, "site")
    with pytest.raises(fb.DataError, match="scores missing"):
        logrank_trend(study_cohort, "site", scores={"root": 0})
