"""Cox partial likelihood on collapsed rows (classical/cox_counts.py) equals per patient.

Checked against lifelines' per-patient Efron fit of the expanded cohort (coefficients,
standard errors, log partial likelihood, likelihood-ratio statistic), against brute-force
per-patient loops of the Efron and Breslow log partial likelihoods at arbitrary
coefficients, and through :func:`footdrop_bayes.cox` on a collapsed cohort against the
same cohort per patient.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

import footdrop_bayes as fb
from footdrop_bayes.classical.cox_counts import (
    CountsCoxFitter,
    _Problem,
    describe_ties,
    fit_cox_counts,
)

TIGHT = {"precision": 1e-12, "r_precision": 1e-15}


def _cohort(n=1500, seed=1):
    """Patients with grouped (heavily tied) recovery times, 3 dummies and a stratum."""
    rng = np.random.default_rng(seed)
    a, b, g = rng.integers(0, 3, n), rng.integers(0, 2, n), rng.integers(0, 3, n)
    X = np.c_[a == 1, a == 2, b == 1].astype(float)
    lin = X @ [0.5, -0.4, 0.3] + 0.2 * g
    T = np.ceil(rng.exponential(np.exp(-lin)) * 4)
    C = rng.integers(1, 8, n)
    return pd.DataFrame(X, columns=["a1", "a2", "b1"]).assign(
        t=np.minimum(T, C), e=(T <= C).astype(int), g=g)


def _counts(df, strata):
    return df.groupby(["a1", "a2", "b1", "t", "e", *strata]).size().reset_index(name="w")


def _brute(df, beta, ties):
    """Per-patient log partial likelihood, one loop step per event time."""
    x, t, e = df[["a1", "a2", "b1"]].to_numpy(), df["t"].to_numpy(), df["e"].to_numpy()
    r = np.exp(x @ beta)
    ll = 0.0
    for tau in np.unique(t[e == 1]):
        dead = (t == tau) & (e == 1)
        d, risk, dsum = dead.sum(), r[t >= tau].sum(), r[dead].sum()
        ll += (x[dead] @ beta).sum()
        for ell in range(d):
            ll -= np.log(risk - (ell / d if ties == "efron" else 0.0) * dsum)
    return ll


@pytest.mark.parametrize("strata", [[], ["g"]])
def test_efron_on_counts_equals_lifelines_per_patient(strata):
    df = _cohort()
    per_patient = df if strata else df.drop(columns="g")
    cph = CoxPHFitter().fit(per_patient, "t", "e", strata=strata or None,
                            fit_options=TIGHT)
    cnt = _counts(df, strata)
    assert len(cnt) < len(df) / 5
    fit = fit_cox_counts(cnt[["a1", "a2", "b1"]], cnt["t"], cnt["e"], cnt["w"],
                         cnt["g"] if strata else None)
    np.testing.assert_allclose(fit.params, cph.params_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(fit.standard_errors, cph.standard_errors_.to_numpy(),
                               rtol=1e-6)
    assert fit.log_likelihood == pytest.approx(cph.log_likelihood_, abs=1e-8)
    lr = cph.log_likelihood_ratio_test().test_statistic
    assert 2 * (fit.log_likelihood - fit.null_log_likelihood) == pytest.approx(lr, rel=1e-8)
    # lifelines' own weighted fit of the same counts is not the per-patient fit
    weighted = CoxPHFitter().fit(cnt.drop(columns=strata), "t", "e", weights_col="w")
    if not strata:
        assert np.abs(weighted.params_.to_numpy() - cph.params_.to_numpy()).max() > 1e-3


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_likelihood_gradient_and_hessian_equal_brute_force(ties):
    df = _cohort(n=300, seed=2).drop(columns="g")
    cnt = _counts(df, [])
    prob = _Problem(cnt[["a1", "a2", "b1"]], cnt["t"], cnt["e"], cnt["w"], None, ties)
    beta = np.array([0.3, -0.7, 0.2])
    ll, grad, hess = prob.evaluate(beta)
    assert ll == pytest.approx(_brute(df, beta, ties), rel=1e-12)
    h = 1e-5
    eye = np.eye(3)
    num_grad = [(_brute(df, beta + h * u, ties) - _brute(df, beta - h * u, ties)) / (2 * h)
                for u in eye]
    np.testing.assert_allclose(grad, num_grad, rtol=1e-6)
    num_hess = np.array([(prob.evaluate(beta + h * u)[1] - prob.evaluate(beta - h * u)[1])
                         / (2 * h) for u in eye])
    np.testing.assert_allclose(hess, num_hess, rtol=1e-6, atol=1e-6)


def test_cox_of_a_collapsed_cohort_equals_per_patient(categorical_model):
    full = categorical_model.cohort
    small = full.collapse()
    for kwargs in ({"factors": ["cause", "sex"]},
                   {"factors": ["cause", "sex"], "group": "clinic"}):
        cox_c, cox_p = fb.cox(small, **kwargs), fb.cox(full, **kwargs)
        assert isinstance(cox_c.fitter, CountsCoxFitter)
        # the per-patient fit stops at lifelines' default convergence (about 2e-5 here)
        np.testing.assert_allclose(cox_c.summary["coef"], cox_p.summary["coef"], atol=1e-4)
        np.testing.assert_allclose(cox_c.summary["se(coef)"], cox_p.summary["se(coef)"],
                                   rtol=1e-5)
        np.testing.assert_allclose(cox_c.summary["z"], cox_p.summary["z"], rtol=1e-4)
        assert cox_c.likelihood_ratio["statistic"] == pytest.approx(
            cox_p.likelihood_ratio["statistic"], rel=1e-6)
        assert "exactly on the collapsed counts" in describe_ties(cox_c)
        assert "one row per patient" in describe_ties(cox_p)


def test_separation_falls_back_to_lifelines_with_a_warning():
    df = _cohort(n=400, seed=3).drop(columns="g")
    df.loc[df["a2"] == 1, "e"] = 0            # level a2 never recovers: coefficient -> -inf
    cnt = _counts(df, [])
    with pytest.warns(UserWarning, match="exact Cox fit on counts failed"):
        fitter = CountsCoxFitter().fit(cnt, "t", "e", weights_col="w")
    assert fitter.fallback is not None and fitter.params_["a2"] < -3
