"""A collapsed (weighted) cohort gives the per-patient cohort's posterior, tables and tests.

The collapsed cohort (``Cohort.collapse()``, which the Dask engine's cohort equals:
tests/test_cohort_dask.py) holds one row per (covariate pattern, interval) and the number
of patients as its weight. Fitted with the same seed, it must give exactly the per-patient
posterior (the likelihood sees the same weighted patterns); summaries, Kaplan–Meier,
log-rank, Cox and Table 1 must give the per-patient numbers from the counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb


@pytest.fixture(scope="module")
def collapsed_model(categorical_model):
    """The conftest's categorical model refitted on the collapsed cohort, same seed."""
    cohort = categorical_model.cohort.collapse()
    assert cohort.is_collapsed and len(cohort.intervals) < categorical_model.cohort.n_patients
    model = fb.RecoveryModel(cohort, factors=categorical_model.factors, covariates=[],
                             group="clinic", sampler_config={
                                 "chains": 2, "draws": 150, "tune": 150,
                                 "progressbar": False, "on_convergence_failure": "ignore"})
    return model.fit(random_seed=3)


def test_same_posterior_with_the_same_seed(categorical_model, collapsed_model):
    a, b = categorical_model.idata.posterior, collapsed_model.idata.posterior
    for name in ("alpha", "b_cause", "b_sex", "u_clinic", "sigma_clinic"):
        np.testing.assert_array_equal(a[name].values, b[name].values)
    pa, pb = categorical_model.data.patterns, collapsed_model.data.patterns
    np.testing.assert_array_equal(pa["weight"], pb["weight"])
    assert collapsed_model.data.n_patients < categorical_model.data.n_patients


def test_summaries_from_counts_equal_per_patient(categorical_model, collapsed_model):
    pd.testing.assert_frame_equal(fb.factor_ranking(collapsed_model),
                                  fb.factor_ranking(categorical_model))
    pd.testing.assert_frame_equal(fb.hazard_ratios(collapsed_model),
                                  fb.hazard_ratios(categorical_model))
    rp_c = fb.recovery_probabilities(collapsed_model, times=[3, 6])
    rp_p = fb.recovery_probabilities(categorical_model, times=[3, 6])
    pd.testing.assert_frame_equal(rp_c, rp_p, rtol=1e-9)
    assert rp_c.loc[rp_c["term"] == "all", "n"].iloc[0] == 400
    assert collapsed_model.loo()["elpd_loo"] == pytest.approx(
        categorical_model.loo()["elpd_loo"], rel=1e-9)


def test_classical_from_counts_equal_per_patient(categorical_model):
    full = categorical_model.cohort
    small = full.collapse()
    for by in (None, "cause"):
        km_c, km_p = fb.kaplan_meier(small, by=by), fb.kaplan_meier(full, by=by)
        for var in ("recovered", "recovered_low", "at_risk", "events", "censored"):
            np.testing.assert_allclose(km_c[var].values, km_p[var].values)
        pd.testing.assert_frame_equal(fb.median_recovery(small, by=by),
                                      fb.median_recovery(full, by=by))
    pd.testing.assert_frame_equal(fb.logrank(small), fb.logrank(full))
    pd.testing.assert_frame_equal(fb.pairwise_logrank(small, "cause"),
                                  fb.pairwise_logrank(full, "cause"))
    pd.testing.assert_frame_equal(fb.study_table(small, factors=["cause"]),
                                  fb.study_table(full, factors=["cause"]))
    # exact Efron ties on the counts (classical/cox_counts.py; lifelines' weighted Efron
    # would count tied rows, not patients); equal to lifelines' per-patient fit within the
    # latter's default convergence (relative log-likelihood change 1e-9: about 2e-5 here;
    # at tight tolerance to 1e-6, tests/test_classical_cox_counts.py)
    cox_c = fb.cox(small, factors=["cause", "sex"])
    cox_p = fb.cox(full, factors=["cause", "sex"])
    np.testing.assert_allclose(cox_c.table["hr"], cox_p.table["hr"], rtol=1e-4)
    assert not np.allclose(cox_c.table["hr"], 1.0)
    pd.testing.assert_frame_equal(small.table1(), full.table1())
    pd.testing.assert_series_equal(small.counts(), full.counts())


def test_weighted_quantile_is_the_expanded_sample_quantile():
    from footdrop_bayes.cohort_patterns import weighted_quantile

    rng = np.random.default_rng(4)
    x = rng.integers(20, 80, 30).astype(float)
    w = rng.integers(1, 6, 30).astype(float)
    expanded = pd.Series(np.repeat(x, w.astype(int)))
    for q in (0.25, 0.5, 0.75):
        assert weighted_quantile(x, w, q) == pytest.approx(expanded.quantile(q))


def test_saved_collapsed_model_reloads_with_its_weights(collapsed_model, tmp_path):
    """A collapsed cohort's patients per row survive save/load (else every summary after
    loading would count one patient per pattern)."""
    path = tmp_path / "collapsed.nc"
    collapsed_model.save(path)
    loaded = fb.RecoveryModel.load(path)
    assert loaded.cohort.is_collapsed
    np.testing.assert_array_equal(loaded.cohort.weights.to_numpy(),
                                  collapsed_model.cohort.weights.to_numpy())
    assert loaded.cohort.n_patients == collapsed_model.cohort.n_patients == 400
    pd.testing.assert_frame_equal(fb.recovery_probabilities(loaded, times=[6]),
                                  fb.recovery_probabilities(collapsed_model, times=[6]),
                                  rtol=1e-12)


def test_report_states_how_cox_handled_ties_on_counts_and_per_patient(categorical_model):
    """The Cox section of a collapsed cohort's report says the fit is exact on the
    counts (issue 15's Efron on counts); a per-patient report says one row per patient;
    the hazard ratios agree to the fits' convergence tolerance."""
    from types import SimpleNamespace

    from footdrop_bayes.report_text import _cox

    tables = {}
    for cohort, collapsed in ((categorical_model.cohort.collapse(), True),
                              (categorical_model.cohort, False)):
        a = SimpleNamespace(cox=fb.cox(cohort, factors=["cause"]), interval=0.95)
        text = "\n".join(_cox(a, {}))
        assert ("fitted exactly on the collapsed counts" in text) is collapsed
        assert ("one row per patient" in text) is not collapsed
        assert "approximate" not in text
        tables[collapsed] = a.cox.table
    np.testing.assert_allclose(np.log(tables[True]["hr"].to_numpy(float)),
                               np.log(tables[False]["hr"].to_numpy(float)), atol=1e-4)


def test_cox_on_counts_counts_patients_not_rows(categorical_model):
    """A collapsed cohort's Cox result counts patients and recoveries (and its
    collinearity check weights rows by patients) as the per-patient fit does."""
    from footdrop_bayes.classical.cox import design, variance_inflation

    per = categorical_model.cohort
    col = per.collapse()
    assert len(col.intervals) < per.n_patients
    a, b = fb.cox(col, factors=["cause", "sex"]), fb.cox(per, factors=["cause", "sex"])
    assert (a.n_patients, a.n_events) == (b.n_patients, b.n_events)
    assert a.events_per_variable == pytest.approx(b.events_per_variable)
    X_col, _ = design(col, ["cause", "sex"], [])
    X_per, _ = design(per, ["cause", "sex"], [])
    pd.testing.assert_series_equal(variance_inflation(X_col, col.weights.to_numpy(float)),
                                   variance_inflation(X_per), rtol=1e-10)


def test_prior_shares_of_a_collapsed_cohort_count_patients(categorical_model,
                                                           collapsed_model):
    """Rows of a collapsed cohort stand for patients: its prior predictive shares (by
    profile, ``auto``) equal the per-patient cohort's expected shares."""
    from footdrop_bayes.model.prior_curves import prior_recovery_shares

    got = prior_recovery_shares(collapsed_model, 25, random_seed=6)
    want = prior_recovery_shares(categorical_model, 25, random_seed=6, method="expected")
    np.testing.assert_allclose(got.values, want.values, rtol=0, atol=1e-10)


def test_prior_predictive_caption_says_how_the_curves_were_made(categorical_model,
                                                                 collapsed_model):
    from footdrop_bayes.report_figures import _prior_curve_kind

    assert _prior_curve_kind(categorical_model) == "simulated from the prior"
    text = _prior_curve_kind(collapsed_model)
    n = categorical_model.data.n_patients
    assert "expected share" in text and f"{0.5 / n ** 0.5:.4f}" in text
