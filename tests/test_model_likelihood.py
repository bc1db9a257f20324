"""The interval likelihood and the model graph, checked without sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest

import footdrop_bayes as fb
from footdrop_bayes.model import DEFAULT_MODEL_CONFIG, DEFAULT_SAMPLER_CONFIG
from footdrop_bayes.model.build import build_model, choose_parameterization
from footdrop_bayes.model.likelihood import interval_loglik, interval_loglik_numpy, prepare
from footdrop_bayes.model.priors import model_config, sampler_config


@pytest.fixture(scope="module")
def small_cohort():
    """Every visit attended, so person-period rows are one grid interval each."""
    visits, patients, _ = fb.simulate_cohort(60, missed_visit_rate=0.0, random_seed=5)
    return fb.Cohort.from_visits(visits, patients, follow_up=6)


def _loglik_fn():
    a, e = pt.dvector("alpha"), pt.dvector("eta")
    w, li, ri = pt.dvector("w"), pt.lvector("l"), pt.lvector("r")
    ev = pt.bvector("ev")
    h0 = pt.concatenate([pt.zeros((1,)), pt.cumsum(pt.exp(a) * w)])
    rel = pt.exp(e)
    d = pt.switch(ev, (h0[ri] - h0[li]) * rel, 1.0)
    out = -h0[li] * rel + pt.switch(ev, pt.log1mexp(-d), 0.0)
    return pytensor.function([a, e, w, li, ri, ev], out)


def _person_period_loglik(cohort, alpha, eta):
    """Direct Bernoulli cloglog log-likelihood from person-period rows, per patient."""
    pp = cohort.person_period()
    k = np.searchsorted(cohort.grid, pp["stop"].to_numpy()) - 1
    assert (np.searchsorted(cohort.grid, pp["start"].to_numpy()) == k).all()
    eta_row = pd.Series(eta, index=cohort.patient_ids).loc[pp["patient"]].to_numpy()
    width = pp["stop"].to_numpy() - pp["start"].to_numpy()
    p = 1 - np.exp(-np.exp(alpha[k] + eta_row) * width)     # inverse cloglog
    y = pp["event"].to_numpy()
    ll = y * np.log(p) + (1 - y) * np.log1p(-p)
    sums = pd.Series(ll).groupby(pp["patient"].to_numpy()).sum()
    return sums.reindex(cohort.patient_ids, fill_value=0.0)  # no rows: censored at 0


def test_interval_likelihood_equals_person_period_bernoulli(small_cohort):
    data = prepare(small_cohort, [], [], collapse=False)
    rng = np.random.default_rng(1)
    alpha = rng.normal(-2, 0.5, len(data.widths))
    eta = rng.normal(0, 1, data.n_patients)
    direct = _person_period_loglik(small_cohort, alpha, eta).to_numpy()
    args = (data.widths, data.l_idx, data.r_idx, data.event)
    ours = interval_loglik_numpy(alpha, eta, *args)
    np.testing.assert_allclose(ours, direct, rtol=0, atol=1e-8)
    fn = pytensor.function([], interval_loglik(pt.as_tensor(alpha), pt.as_tensor(eta), *args))
    np.testing.assert_allclose(fn(), direct, rtol=0, atol=1e-8)


def test_missed_visits_give_wider_intervals():
    visits, patients, _ = fb.simulate_cohort(200, missed_visit_rate=0.3, random_seed=2)
    cohort = fb.Cohort.from_visits(visits, patients, follow_up=6)
    data = prepare(cohort, [], [])
    assert ((data.r_idx - data.l_idx)[data.event] > 1).any()
    # an interval spanning several grid steps is their product of survivals
    alpha = np.log([0.1, 0.2, 0.15, 0.1, 0.05, 0.1])
    ll = interval_loglik_numpy(alpha, np.zeros(1), data.widths, np.array([1]),
                               np.array([4]), np.array([True]))
    s = np.exp(-np.cumsum(np.r_[0, np.exp(alpha)]))
    np.testing.assert_allclose(ll, np.log(s[1] - s[4]), atol=1e-12)


def test_log1mexp_is_stable_at_extremes():
    fn = _loglik_fn()
    w = np.ones(2)
    for d, expect in ((1e-12, np.log(1e-12)), (50.0, -np.exp(-50.0))):
        val = fn(np.log([d, 1.0]), np.zeros(1), w, np.array([0]), np.array([1]),
                 np.array([1], dtype=np.int8))
        np.testing.assert_allclose(val, expect, rtol=1e-9)
        np.testing.assert_allclose(
            interval_loglik_numpy(np.log([d, 1.0]), np.zeros(1), w, np.array([0]),
                                  np.array([1]), np.array([True])), expect, rtol=1e-9)


def _potential(model, point):
    [out] = model.replace_rvs_by_values([model["loglik"]])
    fn = model.compile_fn(out, inputs=model.value_vars, on_unused_input="ignore")
    return float(fn(point))


def test_collapsed_equals_uncollapsed():
    visits, patients, _ = fb.simulate_cohort(300, random_seed=8)
    cohort = fb.Cohort.from_visits(visits, patients, follow_up=6,
                                   factors=["sex", "cause", "lesion_type"], covariates=[])
    cfg = model_config()
    collapsed = prepare(cohort, cohort.factors, [])
    full = prepare(cohort, cohort.factors, [], collapse=False)
    assert len(collapsed.patterns["weight"]) < 0.5 * cohort.n_patients
    assert collapsed.patterns["weight"].sum() == cohort.n_patients
    m1, m2 = build_model(collapsed, cfg), build_model(full, cfg)
    rng = np.random.default_rng(0)
    point = {k: v + rng.normal
(0, 0.3, np.shape(v)) for k, v in m1.initial_point().items()}
    a, b = _potential(m1, point), _potential(m2, point)
    assert np.isfinite(a) and a < 0
    np.testing.assert_allclose(a, b, rtol=1e-10)
    # and the per-patient expansion sums to the collapsed value
    assert np.array_equal(collapsed.patterns["event"][collapsed.pattern_of], collapsed.event)


@pytest.fixture(scope="module")
def study_model(study_cohort):
    return fb.RecoveryModel(study_cohort)


def test_logp_and_gradient_finite_at_initial_point(study_model):
    model = study_model.model
    ip = model.initial_point()
    assert np.isfinite(model.compile_logp()(ip))
    grad = model.compile_dlogp()(ip)
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0


def test_coords_and_dims(study_model, study_cohort):
    model = study_model.model
    t = study_cohort.time_unit
    assert model.coords[t] == tuple(study_cohort.grid[1:])
    assert model.named_vars_to_dims["alpha"] == (t,)
    for f in study_cohort.factors:
        levels = tuple(str(x) for x in study_cohort.covariates[f].cat.categories)
        assert model.coords[f] == levels
        assert model.named_vars_to_dims[f"b_{f}"] == (f,)
        assert model.named_vars_to_dims[f"log_hr_{f}"] == (f,)
        assert f"sigma_{f}" in model.named_vars
    assert model.coords["covariate"] == tuple(study_cohort.numeric)
    assert model.named_vars_to_dims["beta"] == ("covariate",)
    scaling = study_model.covariate_scaling
    np.testing.assert_allclose(scaling.loc["age", "mean"], study_cohort.covariates["age"].mean())
    np.testing.assert_allclose(scaling.loc["age", "sd"], study_cohort.covariates["age"].std())


def test_group_intercepts_and_missing_group():
    visits, patients, _ = fb.simulate_cohort(150, n_clinics=4, random_seed=3)
    cohort = fb.Cohort.from_visits(visits, patients, follow_up=6,
                                   factors=["cause", "clinic"], covariates=["age"])
    m = fb.RecoveryModel(cohort, group="clinic")
    assert m.factors == ["cause"] and m.group == "clinic"
    model = m.model
    assert model.named_vars_to_dims["u_clinic"] == ("clinic",)
    assert len(model.coords["clinic"]) == 4
    assert np.isfinite(model.compile_logp()(model.initial_point()))


def test_parameterization_follows_information(study_cohort):
    from footdrop_bayes.model.build import (
        BASELINE_QUANTILE,
        baseline_step_se,
        centred_min_events,
        rw_floor,
        scale_floor,
    )

    cfg = model_config()
    # the threshold comes from the prior: log-rate SE 1/sqrt(e) below the 1% quantile of
    # sigma_f = tau * lambda_f (log-normal; checked against Monte Carlo draws)
    rng = np.random.default_rng(0)
    draws = cfg["tau_median"] * np.exp(cfg["tau_log_sd"] * rng.normal(size=200_000)
                                       + cfg["lambda_log_sd"] * rng.normal(size=200_000))
    assert abs(scale_floor(cfg) - np.quantile(draws, 0.01)) < 0.01
    threshold = centred_min_events(cfg)
    assert threshold == int(np.ceil(scale_floor(cfg) ** -2)) == 21
    small = prepare(study_cohort, study_cohort.factors, [])
    choice = choose_parameterization(small, cfg)
    for f in small.factors:
        events = small.events_per_level(f)
        expect = ("centred" if events.min() >= threshold else "mixed"
                  if events.max() >= threshold else "non-centred")
        assert choice[f] == expect, f
    assert choice["baseline"] == "non-centred"       # 2 recoveries in month 5
    always = model_config({"centred_min_events": 0})
    assert set(choose_parameterization(small, always).values()) == {"centred"}
    forced = choose_parameterization(small, model_config(
        {"parameterization": {"cause": "centred"}}))
    assert forced["cause"] == "centred"
    assert all(forced[f] == choice[f] for f in small.factors if f != "cause")
    visits, patients, _ = fb.simulate_cohort(5000, random_seed=1)
    big = fb.Cohort.from_visits(visits, patients, follow_up=6)
    big_data = prepare(big, ["cause", "treatment"], [])
    big_choice = choose_parameterization(big_data, cfg)
    # lots of events in every level: centred, with or without an effect (the zero-avoiding
    # scale prior leaves no funnel at sigma -> 0 for the null factor treatment). The
    # baseline: 209 recoveries in month 6 give a last step SE of 0.094, below the 10% prior
    # quantile of sigma_rw (0.13): centred (measured: 0 divergences, 3x the ESS/s)
    assert big_choice == {"cause": "centred", "treatment": "centred",
                          "baseline": "centred"}
    assert baseline_step_se(big_data).max() < rw_floor(cfg, BASELINE_QUANTILE)
    e = big_data.events_per_interval()
    np.testing.assert_allclose(baseline_step_se(big_data),
                               np.sqrt(1 / e[1:] + 1 / e[:-1]))
    rw_draws = cfg["rw_median"] * np.exp(cfg["rw_log_sd"] * rng.normal(size=200_000))
    assert abs(rw_floor(cfg) - np.quantile(rw_draws, 0.01)) < 0.005
    # ten times the events: every step SE below the floor -> centred
    from dataclasses import replace
    tenfold = replace(big_data, event=np.repeat(big_data.event, 10),
                      r_idx=np.repeat(big_data.r_idx, 10))
    assert baseline_step_se(tenfold).max() < rw_floor(cfg)
    only_baseline = model_config({"parameterization": {"cause": "centred",
                                                       "treatment": "centred"}})
    assert choose_parameterization(tenfold, only_baseline)["baseline"] == "centred"
    # the centred model: free effects b_cause_raw (zero-sum), b_cause the recovery-weighted
    # shift of them (factor_weights="events"); plain b_cause with equal weights
    model = build_model(prepare(big, ["cause"], []), cfg)
    assert "b_cause_raw" in {v.name for v in model.free_RVs}
    assert "b_cause" in {v.name for v in model.deterministics}
    eq = build_model(prepare(big, ["cause"], []), model_config({"factor_weights": "equal"}))
    assert "b_cause" in {v.name for v in eq.free_RVs}


def test_configs_merge_without_mutation():
    before = dict(DEFAULT_MODEL_CONFIG), dict(DEFAULT_SAMPLER_CONFIG)
    cfg = model_config({"tau_median": 0.3})
    assert cfg["tau_median"] == 0.3 and DEFAULT_MODEL_CONFIG["tau_median"] == 0.7
    assert sampler_config({"draws": 10})["draws"] == 10
    assert (dict(DEFAULT_MODEL_CONFIG), dict(DEFAULT_SAMPLER_CONFIG)) == before
    with pytest.raises(ValueError, match="tau_mediann"):
        model_config({"tau_mediann": 1})
    with pytest.raises(ValueError, match="sampler"):
        sampler_config({"sampler": "gibbs"})
    user = {"draws": 5}
    fb.RecoveryModel(fb.datasets.load_study_cohort(), sampler_config=user)
    assert user == {"draws": 5}


def test_bad_arguments(study_cohort):
    with pytest.raises(fb.DataError, match="nope"):
        fb.RecoveryModel(study_cohort, factors=["nope"])
    with pytest.raises(fb.DataError, match="group"):
        fb.RecoveryModel(study_cohort, group="clinic")
    m = fb.RecoveryModel(study_cohort)
    with pytest.raises(RuntimeError, match="fit"):
        m.recovery_curves()


def test_profile_sum_equals_the_per_pattern_likelihood():
    """The sampler's potential (summed by covariate profile) against the per-pattern
    numpy formula at a random point: factors, numeric covariates and clinics, with
    missed visits (intervals over several grid steps) and withdrawals."""
    sim = fb.simulate_cohort(400, n_clinics=3, missed_visit_rate=0.2, random_seed=11)
    cohort = fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6)
    rm = fb.RecoveryModel(cohort, factors=["sex", "cause"], covariates=["age"],
                          group="clinic")
    model, data = rm.model, rm.data
    pat = data.patterns
    assert len(pat["weight"]) > 300 and pat["event"].sum() > 100
    rng = np.random.default_rng(3)
    point = {k: v + rng.normal(0, 0.3, np.shape(v))
             for k, v in model.initial_point().items()}
    names = ["loglik", "alpha", "b_sex", "b_cause", "beta_std", "u_clinic"]
    outs = model.replace_rvs_by_values([model[n] for n in names])
    fn = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore",
                          point_fn=False)
    ll, alpha, b_sex, b_cause, beta_std, u = fn(**point)
    eta = (b_sex[pat["codes"]["sex"]] + b_cause[pat["codes"]["cause"]]
           + pat["z"] @ beta_std + u[pat["codes"]["clinic"]])
    direct = interval_loglik_numpy(alpha, eta, data.widths, pat["l_idx"], pat["r_idx"],
                                   pat["event"])
    assert np.isfinite(ll) and ll < 0
    np.testing.assert_allclose(float(ll), float(np.sum(pat["weight"] * direct)), rtol=1e-10)
