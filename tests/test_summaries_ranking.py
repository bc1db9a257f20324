"""Ranking and hazard ratios on fitted models: the shared fit, simulated truths (slow)."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.summaries import (
    drop_term_comparison,
    elpd_difference,
    factor_ranking,
    hazard_ratios,
    importance,
)
from footdrop_bayes.summaries.importance import RANKING_COLUMNS


def test_importance_equals_sd_of_linear_predictor_contrasts(fitted_model):
    """SD over patients of eta(data) - eta(data with the term neutralised)."""
    imp = importance(fitted_model)
    data = fitted_model.cohort.covariates[fitted_model.factors + fitted_model.covariates]
    eta = fitted_model.linear_predictor(data)
    for term in fitted_model.factors + fitted_model.covariates:
        other = data.copy()
        if term in fitted_model.factors:
            cats = data[term].cat.categories
            other[term] = pd.Categorical([cats[0]] * len(data), categories=cats)
        else:
            other[term] = data[term].mean()
        diff = eta - fitted_model.linear_predictor(other)
        expected = diff.std("patient", ddof=0)
        np.testing.assert_allclose(imp.sel(term=term).values, expected.values,
                                   rtol=1e-8, atol=1e-12)


def test_ranking_of_bundled_cohort_matches_its_truth(fitted_model):
    """True importances in the bundled cohort: cause .53, delay .44, age .41,
    lesion_type .31 (4 demyelinating patients), site .15, sex .05, treatment 0."""
    df = factor_ranking(fitted_model, interval=0.9)
    assert list(df.columns) == RANKING_COLUMNS
    assert set(df["term"]) == set(fitted_model.factors + fitted_model.covariates)
    np.testing.assert_allclose(df["p_rank1"].sum(), 1.0)
    assert df["expected_rank"].is_monotonic_increasing
    assert set(df["term"].iloc[:3]) == {"cause", "age", "delay"}
    assert {"treatment", "sex"} <= set(df["term"].iloc[-3:])
    assert df.set_index("term").loc[["treatment", "sex"], "p_rank1"].max() < 0.02
    assert df.attrs["interval"] == 0.9


def test_hazard_ratios_of_fitted_model(fitted_model):
    df = hazard_ratios(fitted_model, per={"age": 10})
    post = fitted_model.idata.posterior
    n_rows = sum(post[f"b_{f}"].sizes[f] - 1 for f in fitted_model.factors)
    assert len(df) == n_rows + len(fitted_model.covariates)
    # agrees with the model's own log_hr_<factor> deterministic
    for f in fitted_model.factors:
        lhr = post[f"log_hr_{f}"]
        for lv in lhr[f].values[1:]:
            row = df[(df["term"] == f) & (df["level"] == str(lv))].iloc[0]
            assert row["reference"] == str(lhr[f].values[0])
            np.testing.assert_allclose(row["hr_median"],
                                       np.exp(float(lhr.sel({f: lv}).median())), rtol=1e-8)
    age = df[df["term"] == "age"].iloc[0]
    assert age["level"] == "per 10" and pd.isna(age["reference"])
    beta = post["beta"].sel(covariate="age").values
    np.testing.assert_allclose(age["hr_median"], np.exp(np.median(10 * beta)))
    # the bundled truth: age -0.025/year -> HR per 10 years 0.78; interval should cover it
    assert age["hr_low"] < np.exp(-0.25) < age["hr_high"]


def test_elpd_difference_matches_arviz_compare():
    rng = np.random.default_rng(3)
    n = 30

    def fake(shift):
        ll = rng.normal(-1.0 - shift, 0.3, (2, 100, n))
        ll[..., 0] = 0.0            # a patient withdrawn at referral: no information
        return az.from_dict(posterior={"mu": rng.normal(size=(2, 100))},
                            log_likelihood={"recovery": ll},
                            dims={"recovery": ["patient"]})

    a, b = fake(0.0), fake(0.2)
    res = elpd_difference(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = az.compare({"a": a, "b": b})
        la, lb = az.loo(a), az.loo(b)
    np.testing.assert_allclose(res["elpd_a"], la.elpd_loo)
    np.testing.assert_allclose(res["elpd_diff"], la.elpd_loo - lb.elpd_loo)
    # R's loo uses the sample variance (ddof=1), ArviZ ddof=0: same up to sqrt(n/(n-1))
    np.testing.assert_allclose(res["se_diff"] * np.sqrt((n - 1) / n), cmp.loc["b", "dse"],
                               rtol=1e-6)
    assert res["elpd_diff"] > 0
    # ArviZ gives the uninformative patient k = inf; it is left out of max_pareto_k
    assert not np.isfinite(la.pareto_k.values[0])
    assert np.isfinite(res["max_pareto_k"]) and res["max_pareto_k"] < 0.7


# ----------------------------------------------------------------------------- slow
SEPARATED = {"cause": {"trauma": 1.5, "local compression": 2.0}, "sex": {"female": 0.6},
             "treatment": {"physiotherapy": 0.0, "surgery": 0.0}, "age": -0.02,
             "delay": 0.0, "lesion_type": {"demyelinating": 0.0},
             "site": {"sciatic nerve": 0.0, "common peroneal nerve": 0.0,
                      "deep peroneal nerve": 0.0}}
SAMPLER = {"chains": 2, "draws": 500, "tune": 500, "progressbar": False,
           "on_convergence_failure": "ignore"}


def separated_cohort(seed, n=300):
    """True importances: cause ~0.8, age ~0.35, sex ~0.3, treatment 0."""
    visits, patients, _ = fb.simulate_cohort(n, effects=SEPARATED, random_seed=seed)
    return fb.Cohort.from_visits(visits, patients, follow_up=6,
                                 factors=["cause", "sex", "treatment"], covariates=["age"])


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_true_order_recovered_on_separated_simulations(seed):
    cohort = separated_cohort(seed)
    model = fb.RecoveryModel(cohort, sampler_config=SAMPLER).fit(random_seed=seed)
    df = factor_ranking(model)
    assert df["term"].iloc[0] == "cause"
    assert df["p_rank1"].iloc[0] > 0.9
    assert df["term"].iloc[-1] == "treatment"
    assert df["expected_rank"].iloc[-1] > 3.5


@pytest.mark.slow
def test_dropping_a_strong_factor_costs_elpd_and_a_null_one_does_not():
    cohort = separated_cohort(7, n=250)
    model = fb.RecoveryModel(cohort, factors=["cause", "treatment"], covariates=[],
                             sampler_config=SAMPLER).fit(random_seed=7)
    df = drop_term_comparison(model, random_seed=8)
    assert list(df.columns) == ["term", "elpd_full", "elpd_without", "elpd_diff", "se_diff",
                                "max_pareto_k"]
    cause, treat = (df.set_index("term").loc[t] for t in ("cause", "treatment"))
    assert cause["elpd_diff"] > 2 * cause["se_diff"]
    assert abs(treat["elpd_diff"]) < 2 * treat["se_diff"] + 1
    assert list(df["term"]) == ["cause", "treatment"]
