"""Cox regression against lifelines on the Rossi data; coding, checks and warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi
from lifelines.statistics import proportional_hazard_test

import footdrop_bayes as fb
from footdrop_bayes.classical import (
    Bands,
    FewEventsWarning,
    SeparationWarning,
    band_covariates,
    cox,
)
from footdrop_bayes.classical.cox import TABLE_COLUMNS

ROSSI_COLS = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
#: lifelines' documented coefficients for the Rossi recidivism data (Efron ties)
PUBLISHED = {"fin": -0.3794, "age": -0.0574, "race": 0.3139, "wexp": -0.1498,
             "mar": -0.4337, "paro": -0.0849, "prio": 0.0915}


@pytest.fixture(scope="module")
def rossi():
    df = load_rossi()
    cohort = fb.Cohort.from_durations(df, duration_col="week", event_col="arrest",
                                      factors=[], covariates=ROSSI_COLS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewEventsWarning)
        warnings.simplefilter("error", SeparationWarning)
        res = cox(cohort)
    return df, res, CoxPHFitter().fit(df, "week", "arrest")


def test_rossi_coefficients_match_lifelines_and_published(rossi):
    _, res, ref = rossi
    assert list(res.table.columns) == TABLE_COLUMNS
    assert list(res.table["term"]) == ROSSI_COLS
    assert (res.table["level"] == "").all() and (res.table["reference"] == "").all()
    coef = np.log(res.table.set_index("term")["hr"])
    for name, value in PUBLISHED.items():
        assert round(coef[name], 4) == pytest.approx(round(ref.params_[name], 4), abs=1e-12)
        assert coef[name] == pytest.approx(value, abs=5e-5)
    t = res.table.set_index("term")
    np.testing.assert_allclose(t["hr_low"], ref.summary.loc[ROSSI_COLS, "exp(coef) lower 95%"])
    np.testing.assert_allclose(t["p_value"], ref.summary.loc[ROSSI_COLS, "p"])
    assert res.concordance == pytest.approx(ref.concordance_index_, abs=1e-10)
    lr = ref.log_likelihood_ratio_test()
    assert res.likelihood_ratio["statistic"] == pytest.approx(lr.test_statistic, rel=1e-8)
    assert res.likelihood_ratio["df"] == 7
    assert res.n_events == 114 and res.n_patients == 432
    assert res.events_per_variable == pytest.approx(114 / 7)


def test_rossi_ph_test_and_verdicts(rossi):
    df, res, ref = rossi
    ph = proportional_hazard_test(ref, df, time_transform="rank").summary
    got = res.ph_test.set_index("term")
    np.testing.assert_allclose(got.loc[ROSSI_COLS, "p_value"], ph.loc[ROSSI_COLS, "p"])
    # lifelines' own documentation flags age and wexp on these data
    assert res.ph_verdict.loc["age", "verdict"].startswith("evidence that")
    assert res.ph_verdict.loc["wexp", "verdict"].startswith("evidence that")
    assert res.ph_verdict.loc["fin", "verdict"].startswith("no evidence")


def test_factor_coding_matches_manual_dummies():
    df = load_rossi()
    df["fin_group"] = np.where(df["fin"] == 1, "aid", "no aid")
    cohort = fb.Cohort.from_durations(df, duration_col="week", event_col="arrest",
                                      factors=["fin_group"], covariates=["age", "prio"],
                                      reference={"fin_group": "no aid"})
    cohort = band_covariates(cohort, {"prio": Bands([2, 5], ["0-1", "2-4", "5+"])})
    res = cox(cohort)
    rows = res.table.reset_index()
    assert list(zip(rows["term"], rows["level"], rows["reference"], strict=True)) == [
        ("fin_group", "aid", "no aid"), ("prio", "2-4", "0-1"), ("prio", "5+", "0-1"),
        ("age", "", "")]
    raw = pd.DataFrame({"week": df["week"], "arrest": df["arrest"], "fin": df["fin"],
                        "p24": ((df["prio"] >= 2) & (df["prio"] < 5)).astype(float),
                        "p5": (df["prio"] >= 5).astype(float), "age": df["age"]})
    ref = CoxPHFitter().fit(raw, "week", "arrest").params_
    np.testing.assert_allclose(np.log(rows["hr"]), ref[["fin", "p24", "p5", "age"]],
                               atol=1e-6)
    assert res.table.index[0] == "fin_group[aid]"
    assert set(res.ph_verdict.index) == {"fin_group", "prio", "age"}
    prio = res.ph_test[res.ph_test["term"] == "prio"]["p_value"]
    assert res.ph_verdict.loc["prio", "p_value"] == pytest.approx(min(1, 2 * prio.min()))


@pytest.mark.filterwarnings("ignore::footdrop_bayes.classical.SeparationWarning")
def test_few_events_per_variable_warns():
    vis, pat, _ = fb.simulate_cohort(40, random_seed=2)
    cohort = fb.Cohort.from_visits(vis, pat, follow_up=6,
                                   factors=["cause", "site", "treatment"],
                                   covariates=["age", "delay"])
    with pytest.warns(FewEventsWarning, match="events per variable") as rec:
        res = cox(cohort)
    assert issubclass(rec[0].category, fb.DataWarning)
    assert res.events_per_variable < 10
    assert any("events per variable" in m for m in res.warnings)


def _separated(outcome_of_c: int):
    rng = np.random.default_rng(0)
    n = 90
    group = np.array(["a", "b", "c"])[np.arange(n) % 3]
    t = rng.integers(1, 7, n)
    e = rng.random(n) < 0.6
    e[group == "c"] = bool(outcome_of_c)
    t[group == "c"] = 6 if not outcome_of_c else t[group == "c"]
    df = pd.DataFrame({"t": t, "e": e, "group": group})
    return fb.Cohort.from_durations(df, duration_col="t", event_col="e", factors=["group"],
                                    covariates=[], reference={"group": "a"})


@pytest.mark.filterwarnings("ignore::lifelines.exceptions.ConvergenceWarning")
def test_separation_no_events_warns():
    with pytest.warns(SeparationWarning, match="no recoveries at level 'c'"):
        res = cox(_separated(0))
    assert res.table.loc["group[c]", "hr"] < 0.01
    assert not any("no recoveries at level 'b'" in m for m in res.warnings)


@pytest.mark.filterwarnings("ignore::lifelines.exceptions.ConvergenceWarning")
def test_separation_only_events_warns():
    with pytest.warns(SeparationWarning, match="every patient at level 'c'"):
        cox(_separated(1))


def test_unknown_covariate_and_empty_model(study_cohort):
    with pytest.raises(fb.DataError, match="numeric covariate"):
        cox(study_cohort, factors=[], covariates=["height"])
    with pytest.raises(fb.DataError, match="unknown factor"):
        cox(study_cohort, factors=["clinic"])
    with pytest.raises(fb.DataError, match="at least one"):
        cox(study_cohort, factors=[], covariates=[])


def test_nested_factors_warn_about_collinearity(study_cohort):
    with pytest.warns(fb.classical.CollinearityWarning, match=r"\['cause', 'site'\]"):
        fb.classical.cox(study_cohort, ["site", "cause"], [])


def test_independent_factors_do_not_warn_about_collinearity(study_cohort):
    with warnings.catch_warnings():
        warnings.simplefilter("error", fb.classical.CollinearityWarning)
        res = fb.classical.cox(study_cohort, ["sex", "treatment"], ["age"])
    assert not any("collinear" in w for w in res.warnings)
    assert list(res.table["term"]) == ["sex", "treatment", "treatment", "age"]
