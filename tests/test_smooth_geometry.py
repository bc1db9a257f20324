"""Smooth terms' geometry and the linear + wiggly split (issue 11, round 3).

The per-coefficient centred / non-centred rule against a per-patient loop and scipy's
log-normal quantile, the centred and non-centred forms against their formulas, and the
split switched off (one penalised smooth, no separate ``beta``). No sampling: the models
are built and evaluated in PyTensor's Python mode.
"""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from scipy import stats

import footdrop_bayes as fb
from footdrop_bayes.model import priors
from footdrop_bayes.model.smooth import (
    build_basis,
    choose_centred,
    coefficient_se,
    scale_floor,
)
from footdrop_bayes.simulate_smooth import inverted_u, simulate_smooth_cohort


@pytest.fixture(scope="module")
def small_and_large():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = []
        for n in (300, 4000):
            v, p, _ = simulate_smooth_cohort(n, curves={"age": inverted_u(40, 15, 1.0)},
                                             random_seed=5)
            out.append(fb.Cohort.from_visits(v, p, follow_up=6, factors=["cause"],
                                             covariates=["age", "delay"]))
    return out


def test_scale_floor_is_the_lognormal_quantile():
    cfg = priors.model_config()
    ref = stats.lognorm(s=cfg["smooth_log_sd"], scale=cfg["smooth_median"]).ppf(0.10)
    assert scale_floor(cfg) == pytest.approx(ref, rel=1e-12)
    assert scale_floor(priors.model_config({"smooth_scale_prior": "halfnormal"})) == 0.0
    with pytest.raises(ValueError, match="smooth_scale_prior"):
        priors.model_config({"smooth_scale_prior": "cauchy"})


def test_coefficient_se_matches_a_loop_over_patients(small_and_large):
    m = fb.RecoveryModel(small_and_large[0], smooth=["age", "delay"])
    d = m.data
    # crude discrete hazard per grid interval, by a loop over patients and intervals
    exit_idx = np.where(d.event, d.r_idx, d.l_idx)
    k = len(d.widths)
    h = np.zeros(k + 1)
    for j in range(1, k + 1):
        at_risk = sum(1 for e in exit_idx if e >= j)
        events = sum(1 for e, r in zip(d.event, d.r_idx, strict=True) if e and r == j)
        h[j] = events / at_risk if at_risk else 0.0
    for term, b in d.smooth.items():
        info = np.zeros(b.size)
        x = d.z[:, d.covariates.index(term)] * b.sd + b.mean
        for i in range(d.n_patients):             # per patient, not per pattern
            expected = h[:exit_idx[i] + 1].sum()
            info += expected * b.design(x[i:i + 1])[0] ** 2
        np.testing.assert_allclose(coefficient_se(d, b) ** -2.0, info, rtol=1e-8,
                                   atol=1e-10 * info.max())


def test_expected_events_sum_to_the_recoveries(small_and_large):
    from footdrop_bayes.model.smooth import expected_events

    d = fb.RecoveryModel(small_and_large[0], smooth=["age"]).data
    pat = d.patterns
    e = expected_events(pat["l_idx"], pat["r_idx"], pat["event"], pat["weight"])
    assert e.sum() == pytest.approx(float(d.event.sum()), rel=1e-10)
    assert np.all(e >= 0)
    # censored at referral: no exposure, no information
    assert np.all(e[(~pat["event"]) & (pat["l_idx"] == 0)] == 0)


def test_rotation_diagonalises_the_information(small_and_large):
    m = fb.RecoveryModel(small_and_large[0], smooth=["age"])
    d, b = m.data, m.data.smooth["age"]
    q = b.params["rotation"]
    np.testing.assert_allclose(q.T @ q, np.eye(b.size), atol=1e-10)
    x = d.z[:, d.covariates.index("age")] * b.sd + b.mean
    rotated = b.design(x)
    from footdrop_bayes.model.smooth import expected_events

    w = expected_events(d.l_idx, d.r_idx, d.event, np.ones(d.n_patients))
    gram = rotated.T @ (w[:, None] * rotated)           # per patient: a different path
    off = gram - np.diag(np.diag(gram))
    assert np.abs(off).max() < 1e-8 * np.abs(gram).max()
    assert np.all(np.diff(np.diag(gram)) <= 1e-9)       # most informed first
    # the same function space as the unrotated basis (the prior is isotropic)
    b.params["rotation"] = None
    try:
        np.testing.assert_allclose(rotated @ q.T, b.design(x), atol=1e-10)
    finally:
        b.params["rotation"] = q


def test_centred_rule_per_coefficient(small_and_large):
    small, large = (fb.RecoveryModel(c, smooth=["age", "delay"]) for c in small_and_large)
    floor = scale_floor(small.model_config)
    for m in (small, large):
        for b in m.data.smooth.values():
            np.testing.assert_array_equal(b.params["centred"],
                                          coefficient_se(m.data, b) <= floor)
    n_small = sum(b.params["centred"].sum() for b in small.data.smooth.values())
    n_large = sum(b.params["centred"].sum() for b in large.data.smooth.values())
    # more data pin more coefficients; the least informed (wiggliest) stay non-centred
    assert n_large > n_small
    assert not any(b.params["centred"][-1] for b in large.data.smooth.values())


def test_centred_choice_forced_and_per_term(small_and_large):
    c = small_and_large[0]
    for choice, expect in (("centred", True), ("non-centred", False)):
        m = fb.RecoveryModel(c, smooth=["age"], model_config={"parameterization": choice})
        assert m.data.smooth["age"].params["centred"].all() == expect
        assert m.data.smooth["age"].params["centred"].any() == expect
    m = fb.RecoveryModel(c, smooth=["age", "delay"], model_config={
        "parameterization": {"smooth_age": "centred"}})
    assert m.data.smooth["age"].params["centred"].all()
    np.testing.assert_array_equal(m.data.smooth["delay"].params["centred"],
                                  choose_centred(m.data, m.data.smooth["delay"],
                                                 priors.model_config()))
    half = fb.RecoveryModel(c, smooth=["age"],
                            model_config={"smooth_scale_prior": "halfnormal"})
    assert not half.data.smooth["age"].params["centred"].any()


@pytest.mark.parametrize("choice", ["centred", "non-centred"])
def test_coefficients_follow_their_form(study_cohort, choice):
    m = fb.RecoveryModel(study_cohort, smooth=["age"],
                         model_config={"parameterization": choice})
    model = m.model
    ip = model.initial_point()
    rng = np.random.default_rng(1)
    ip["smooth_age_z"] = rng.normal(size=ip["smooth_age_z"].shape)
    ip["sigma_smooth_age_z"] = np.array(0.4)
    sigma = 0.4 * np.exp(0.5 * 0.4)
    f = model.compile_fn(model.replace_rvs_by_values([model["smooth_age"],
                                                      model["sigma_smooth_age"]]),
                         inputs=model.value_vars, mode="FAST_COMPILE",
                         on_unused_input="ignore")
    coef, sig = f(ip)
    assert sig == pytest.approx(sigma)
    z = ip["smooth_age_z"]
    np.testing.assert_allclose(coef, z if choice == "centred" else sigma * z)
    # the free vector's prior: N(0, sigma) when centred, N(0, 1) when not
    logp = model.compile_fn(model.logp(vars=[model["smooth_age_z"]], sum=True),
                            inputs=model.value_vars, mode="FAST_COMPILE",
                            on_unused_input="ignore")(ip)
    sd = sigma if choice == "centred" else 1.0
    assert logp == pytest.approx(stats.norm(0, sd).logpdf(z).sum())


@pytest.mark.parametrize("kind", ["pspline", "hsgp"])
def test_unsplit_basis_is_centred_and_holds_the_line(kind):
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(45, 15, 400))
    cfg = priors.model_config({"smooth_basis": kind, "smooth_split": False})
    b = build_basis("age", x, x.mean(), x.std(ddof=1), cfg)
    d = b.design(x)
    assert not b.split
    np.testing.assert_allclose(d.mean(axis=0), 0, atol=1e-10)
    # not detrended: the curve carries its own slope
    assert np.abs((x - x.mean()) @ d).max() > 1.0
    line = x - x.mean()
    resid = line - d @ np.linalg.lstsq(d, line, rcond=None)[0]
    if kind == "pspline":               # the line is exactly in the span
        assert np.abs(resid).max() < 1e-8
        split = build_basis("age", x, x.mean(), x.std(ddof=1),
                            priors.model_config({"smooth_split": True}))
        assert b.size == split.size + 1
    else:                                # a GP represents it approximately
        assert np.abs(resid).max() < 0.05 * np.abs(line).max()


def test_unsplit_term_has_no_separate_beta(study_cohort):
    m = fb.RecoveryModel(study_cohort, covariates=["age", "delay"], smooth=["age"],
                         model_config={"smooth_split": False})
    model = m.model
    assert "beta_std_free" in model.named_vars
    ip = model.initial_point()
    assert ip["beta_std_free"].shape == (1,)
    ip["beta_std_free"] = np.array([0.7])
    beta = model.compile_fn(model.replace_rvs_by_values([model["beta_std"]])[0],
                            inputs=model.value_vars, on_unused_input="ignore",
                            mode="FAST_COMPILE")(ip)
    j = m.data.covariates.index("delay")
    assert beta[m.data.covariates.index("age")] == 0.0 and beta[j] == pytest.approx(0.7)
    assert m.data.smooth["age"].spec()["split"] is False
    # the default keeps beta_std a free N(0, beta_sigma) vector
    assert "beta_std_free" not in fb.RecoveryModel(study_cohort, smooth=["age"]).model


def test_cli_smooth_split_option():
    from footdrop_bayes.cli import _smooth_kwargs, build_parser
    from footdrop_bayes.errors import DataError

    p = build_parser()
    base = ["fit", "--visits", "v.csv", "--patients", "p.csv", "--out", "o"]
    args = p.parse_args([*base, "--smooth", "age", "--smooth-split", "off"])
    assert _smooth_kwargs(args)["model_config"] == {"smooth_split": False}
    args = p.parse_args([*base, "--smooth", "age"])
    assert "model_config" not in _smooth_kwargs(args)
    with pytest.raises(DataError, match="need --smooth"):
        _smooth_kwargs(p.parse_args([*base, "--smooth-split", "off"]))
    with pytest.raises(SystemExit):
        p.parse_args([*base, "--smooth", "age", "--smooth-split", "maybe"])
    assert isinstance(args, argparse.Namespace)


def test_fitted_smooth_model_reports_its_form(smooth_model):
    t = fb.summaries.smooth.smooth_terms_table(smooth_model)
    assert list(t["split"]) == [True, True]
    for r in t.itertuples():
        b = smooth_model.data.smooth[r.term]
        assert r.centred == int(b.params["centred"].sum())
    assert "sigma_smooth_age_z" in smooth_model.idata.posterior
    # the scale's free variable belongs to its term's diagnostics block, not "other"
    from footdrop_bayes.model.blocks import parameter_blocks

    blocks = parameter_blocks(smooth_model.idata)
    assert "sigma_smooth_age_z" in blocks["smooth age"][1]
    assert "other" not in blocks or "sigma_smooth_age_z" not in blocks["other"][1]
