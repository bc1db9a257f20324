"""Group parameterisation rule (no sampling), diagnostics per block, and comparisons that
refuse quietly-broken fits."""

from __future__ import annotations

import json
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.model.build import (
    choose_parameterization,
    group_floor,
    group_min_events,
    group_min_groups,
    levels_centred,
)
from footdrop_bayes.model.diagnostics import _free_vars, advice, compute_diagnostics, where
from footdrop_bayes.model.likelihood import prepare
from footdrop_bayes.model.priors import model_config


# ----------------------------------------------------------------------------- the rule
def _clinic_data(n, j, sizes, seed=1):
    sim = fb.simulate_cohort(n, n_clinics=j, clinic_sizes=sizes, clinic_sd=0.3,
                             random_seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohort = fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6)
    return prepare(cohort, ["cause"], [], "clinic")


def test_group_thresholds_come_from_the_prior():
    cfg = model_config()
    rng = np.random.default_rng(1)
    draws = cfg["group_median"] * np.exp(cfg["group_log_sd"] * rng.normal(size=200_000))
    assert abs(group_floor(cfg) - np.quantile(draws, 0.01)) < 0.003
    assert group_min_events(cfg) == int(np.ceil(group_floor(cfg) ** -2)) == 114
    # the number of groups does not enter the default rule (measured: 4 clinics of
    # 5,000 patients sample cleanly centred, docs/validation_model.md); it can be asked for
    assert group_min_groups(cfg) == 1
    assert group_min_groups(model_config({"centred_min_groups": 3})) == 3


def test_levels_centred_is_the_one_rule():
    assert levels_centred([200, 150, 300], 114, 1)
    assert not levels_centred([200, 150, 300], 114, 10)      # too few groups
    assert not levels_centred([200] * 9 + [100], 114, 10)     # one group too small
    assert levels_centred([120] * 10, 114, 10)


@pytest.mark.parametrize("n, j, sizes, expected", [
    (5000, 3, "balanced", "centred"),         # ~1,000 events per clinic: pinned
    (5000, 4, "balanced", "centred"),         # however few the clinics
    (1000, 11, "balanced", "non-centred"),    # 11 clinics, ~55 events each: < 114
    (5000, 10, "balanced", "centred"),        # ~300 events each
    (5000, 50, "unbalanced", "mixed"),        # clinics of 1 patient beside pinned ones
    (600, 2, "unbalanced", "mixed"),          # 1 patient beside 599
])
def test_group_parameterization_rule(n, j, sizes, expected):
    data = _clinic_data(n, j, sizes)
    cfg = model_config()
    events = data.events_per_level("clinic")
    assert len(events) == j
    choice = choose_parameterization(data, cfg)
    assert choice["clinic"] == expected
    assert (expected == "centred") == (j >= group_min_groups(cfg)
                                       and events.min() >= group_min_events(cfg))
    assert (expected == "mixed") == (events.min() < group_min_events(cfg)
                                     <= events.max())
    # the factor next to it keeps the factors' 21-event rule
    cause = data.events_per_level("cause")
    assert choice["cause"] == ("centred" if cause.min() >= 21 else "mixed"
                               if cause.max() >= 21 else "non-centred")


def test_group_rule_overrides():
    data = _clinic_data(5000, 3, "balanced")
    assert choose_parameterization(data, model_config())["clinic"] == "centred"
    assert choose_parameterization(
        data, model_config({"centred_min_groups": 4}))["clinic"] == "non-centred"
    assert choose_parameterization(data, model_config(
        {"parameterization": {"clinic": "non-centred"}}))["clinic"] == "non-centred"
    # a split block is mixed under "auto" unless too few groups are asked for
    split = _clinic_data(600, 2, "unbalanced")
    assert choose_parameterization(split, model_config())["clinic"] == "mixed"
    assert choose_parameterization(
        split, model_config({"centred_min_groups": 3}))["clinic"] == "non-centred"
    assert choose_parameterization(split, model_config(
        {"parameterization": {"clinic": "non-centred"}}))["clinic"] == "non-centred"


@pytest.mark.parametrize("choice", ["centred", "non-centred"])
def test_group_effects_sum_to_zero_weighted_by_recoveries(choice):
    """u = v - (w . v) for the equal-weight zero-sum v: weighted sum 0, contrasts of v."""
    from footdrop_bayes.model.build import build_model, data_arrays, level_weights

    data = _clinic_data(600, 2, "unbalanced")
    events = data.events_per_level("clinic").to_numpy()
    w = data_arrays(data)["group_weights"]
    np.testing.assert_allclose(w, events / events.sum())
    assert w.min() < 0.01                              # 1 patient beside 599
    np.testing.assert_allclose(level_weights([0, 0, 0]), [1 / 3] * 3)
    cfg = model_config({"parameterization": {"clinic": choice}})
    model = build_model(data, cfg)
    raw = "u_clinic_raw" if choice == "centred" else "u_clinic_z"
    assert raw in {v.name for v in model.free_RVs}
    assert "u_clinic" in {v.name for v in model.deterministics}
    inputs = [model[raw], model["sigma_clinic_z"]]
    fn = model.compile_fn(model["u_clinic"], inputs=inputs, on_unused_input="ignore")
    sigma = model.compile_fn(model["sigma_clinic"], inputs=[model["sigma_clinic_z"]],
                             on_unused_input="ignore")
    rng = np.random.default_rng(4)
    for _ in range(3):
        v = rng.normal(size=2)
        v -= v.mean()                                  # a point of the zero-sum space
        sz = np.array(rng.normal())
        u = fn({raw: v, "sigma_clinic_z": sz})
        scale = 1.0 if choice == "centred" else float(sigma({"sigma_clinic_z": sz}))
        assert abs(w @ u) < 1e-12
        np.testing.assert_allclose(u[1] - u[0], scale * (v[1] - v[0]))
        # the large clinic stands almost at the baseline: its effect is ~w_small * contrast
        big = int(np.argmax(w))
        assert abs(u[big]) <= w.min() * abs(u[1] - u[0]) + 1e-12
    # equal weights: the plain zero-sum effects of 0.1 (no extra variable)
    eq = build_model(data, model_config({"group_weights": "equal",
                                         "parameterization": {"clinic": choice}}))
    names = {v.name for v in eq.free_RVs}
    assert ("u_clinic" if choice == "centred" else "u_clinic_z") in names
    assert "u_clinic_raw" not in names


@pytest.mark.parametrize("choice", ["centred", "non-centred"])
def test_factor_effects_take_the_groups_code_path(choice):
    """Factors use level_effects with recovery weights too (factor_weights='events')."""
    from footdrop_bayes.model.build import build_model, data_arrays

    data = _clinic_data(600, 2, "unbalanced")
    f = data.factors[0]
    events = data.events_per_level(f).to_numpy(float)
    w = data_arrays(data)[f"factor_weights_{f}"]
    np.testing.assert_allclose(w, events / events.sum())
    model = build_model(data, model_config({"parameterization": {f: choice}}))
    raw = f"b_{f}_raw" if choice == "centred" else f"z_{f}"
    assert raw in {v.name for v in model.free_RVs}
    fn = model.compile_fn(model[f"b_{f}"], inputs=[model[raw], model["tau_z"],
                                                   model["lambda_z"]],
                          on_unused_input="ignore")
    rng = np.random.default_rng(5)
    v = rng.normal(size=len(w))
    v -= v.mean()
    b = fn({raw: v, "tau_z": np.array(0.0), "lambda_z": np.zeros(len(data.factors))})
    assert abs(w @ b) < 1e-12 and abs(b.sum()) > 1e-6
    scale = 1.0 if choice == "centred" else 0.7          # tau_median, lambda = 1
    np.testing.assert_allclose(np.diff(b), scale * np.diff(v))
    eq = build_model(data, model_config({"factor_weights": "equal",
                                         "parameterization": {f: choice}}))
    names = {v.name for v in eq.free_RVs}
    assert f"b_{f}_raw" not in names
    with pytest.raises(ValueError, match="factor_weights"):
        model_config({"factor_weights": "patients"})


def test_group_scale_is_lognormal_in_the_model():
    data = _clinic_data(300, 3, "balanced")
    from footdrop_bayes.model.build import build_model

    model = build_model(data, model_config())
    names = {v.name for v in model.free_RVs}
    assert "sigma_clinic_z" in names and "u_clinic_z" in names
    assert "sigma_clinic" in {v.name for v in model.deterministics}
    fn = model.compile_fn(model["sigma_clinic"], inputs=[model["sigma_clinic_z"]],
                          on_unused_input="ignore")
    np.testing.assert_allclose(fn({"sigma_clinic_z": np.array(-2.326)}), group_floor(
        model_config()), rtol=1e-3)


def test_simulated_clinic_sizes():
    sim = fb.simulate_cohort(5000, n_clinics=50, clinic_sizes="unbalanced", clinic_sd=0.0,
                             random_seed=2)
    sizes = sim.patients["clinic"].value_counts()
    assert len(sizes) == 50 and sizes.min() == 1 and sizes.max() > 500
    assert set(sim.truth["clinic_effects"].values()) == {0.0}
    bal = fb.simulate_cohort(150, n_clinics=3, clinic_sizes="balanced", random_seed=2)
    assert sorted(bal.patients["clinic"].value_counts()) == [50, 50, 50]
    given = fb.simulate_cohort(10, n_clinics=2, clinic_sizes=[3, 7], random_seed=2)
    assert given.patients["clinic"].value_counts().to_dict() == {"C2": 7, "C1": 3}
    with pytest.raises(ValueError, match="summing to 10"):
        fb.simulate_cohort(10, n_clinics=2, clinic_sizes=[3, 3], random_seed=2)
    # the default (random assignment) is unchanged: same cohort as before the option
    a = fb.simulate_cohort(200, n_clinics=4, random_seed=3).patients
    b = fb.simulate_cohort(200, n_clinics=4, random_seed=3, clinic_sizes="random").patients
    pd.testing.assert_frame_equal(a, b)


# ----------------------------------------------------------------------------- blocks
def _synthetic(kind: str, parameterization: str, target_accept=0.99, seed=0):
    """Hand-built posterior with divergences placed where ``kind`` says."""
    rng = np.random.default_rng(seed)
    c, d = 4, 500
    log_s = rng.normal(np.log(0.3), 0.5, (c, d))
    if kind == "small":        # funnel: divergences at the smallest clinic scales
        div = log_s < np.quantile(log_s, 0.02)
    elif kind == "large":      # ridge: at the largest
        div = log_s > np.quantile(log_s, 0.98)
    else:                      # unrelated to any parameter
        div = rng.random((c, d)) < 0.02
    post = {"sigma_clinic": np.exp(log_s),
            "u_clinic": np.exp(log_s)[..., None] * rng.normal(size=(c, d, 3)),
            "b_cause": rng.normal(size=(c, d, 3)),
            "sigma_cause": np.exp(rng.normal(-0.3, 0.3, (c, d))),
            "beta_std": rng.normal(size=(c, d, 2)),
            "alpha": rng.normal(size=(c, d, 6)),
            "sigma_rw": np.exp(rng.normal(-1.3, 0.3, (c, d)))}
    # one baseline parameter whose chains disagree: R-hat and ESS fail there only
    post["alpha"][..., 2] += np.arange(c)[:, None] * 1.0
    idata = az.from_dict(
        posterior=post, sample_stats={"diverging": div},
        coords={"clinic": ["A", "B", "C"], "cause": list("xyz"), "month": list(range(1, 7)),
                "covariate": ["age", "delay"]},
        dims={"u_clinic": ["clinic"], "b_cause": ["cause"], "alpha": ["month"],
              "beta_std": ["covariate"]})
    idata.posterior.attrs.update({
        "factors": json.dumps(["cause"]), "group": json.dumps("clinic"),
        "parameterization": json.dumps({"cause": "non-centred", "clinic": parameterization,
                                        "baseline": "non-centred"}),
        "sampler_config": json.dumps({"target_accept": target_accept, "tune": 1000,
                                      "draws": 500, "chains": 4})})
    return idata, int(div.sum())


def test_divergences_at_small_scale_point_to_the_centred_clinic_block():
    idata, n_div = _synthetic("small", "centred")
    d = compute_diagnostics(idata)
    assert d["divergences"] == n_div > 0
    table = pd.DataFrame(d["by_block"]).set_index("block")
    assert list(table.index) == ["cause", "clinic", "covariates", "baseline"]
    assert table.loc["clinic", "divergence_shift"] < -1.5
    assert table.drop(index="clinic")["divergence_shift"].abs().max() < 0.75
    assert d["culprit"] == "clinic"
    assert table.loc["clinic", "scale_median_divergent"] < table.loc["clinic",
                                                                     "scale_median"]
    text = where(d)
    assert "'clinic' (centred)" in text and "sigma_clinic" in text
    tips = advice(d)
    assert "--parameterization clinic=non-centred" in tips
    assert "model_config={'parameterization': {'clinic': 'non-centred'}}" in tips
    # target_accept 0.99 is in force: never advised again
    assert "target_accept" not in tips and "--target-accept" not in tips
    assert "--tune 2000" in tips
    json.dumps(d)     # the diagnostics dict goes to diagnostics.json


def test_rhat_text_shows_which_side_of_the_threshold_it_is_on():
    from footdrop_bayes.model.diagnostics import format_rhat

    assert format_rhat(1.0043) == "1.004"
    assert format_rhat(1.0102) == "1.0102"         # "1.010" would read as below 1.01
    assert format_rhat(1.0098) == "1.0098"
    assert format_rhat(1.00996) == "1.00996"       # "1.0100" would read as 1.01 too
    assert format_rhat(1.01004) == "1.01004"
    assert format_rhat(1.01) == "1.010"            # exactly the threshold
    assert format_rhat(1.234) == "1.234" and format_rhat(float("nan")) == "nan"


def test_rhat_and_ess_attributed_to_the_parameter_that_misses():
    idata, _ = _synthetic("small", "centred")
    d = compute_diagnostics(idata)
    table = pd.DataFrame(d["by_block"]).set_index("block")
    assert table.loc["baseline", "worst_rhat_parameter"] == "alpha[3]"
    assert table.loc["baseline", "max_rhat"] == pytest.approx(d["max_rhat"])
    assert table.loc["baseline", "n_missed"] == 1
    assert (table.drop(index="baseline")["n_missed"] == 0).all()
    assert "block 'baseline' (1 parameter(s): alpha[3])" in where(d)
    assert "--draws 1000" in advice(d)
    # parameter counts add up to the posterior's scalar parameters
    assert table["parameters"].sum() == sum(
        int(np.prod(idata.posterior[v].shape[2:])) for v in idata.posterior.data_vars)


def test_divergences_at_large_scale_of_a_noncentred_block_advise_centred():
    idata, _ = _synthetic("large", "non-centred", target_accept=0.95)
    d = compute_diagnostics(idata)
    assert d["culprit"] == "clinic"
    tips = advice(d)
    assert "--parameterization clinic=centred" in tips
    # 0.95 is in force: the advice is 0.99, not 0.95
    assert "--target-accept 0.99" in tips and "to 0.95" not in tips


@pytest.mark.parametrize("kind, other", [("small", "non-centred"), ("large", "centred")])
def test_divergences_in_a_mixed_block_advise_the_whole_block_form(kind, other):
    """A mixed block has a centred part (funnel at small scales) and a non-centred one
    (ridge at large scales): the advice is the whole-block form against the side."""
    idata, _ = _synthetic(kind, "mixed")
    d = compute_diagnostics(idata)
    assert d["culprit"] == "clinic"
    tips = advice(d)
    assert f"--parameterization clinic={other}" in tips
    assert f"'clinic': '{other}'" in tips


def test_scattered_divergences_blame_no_block():
    idata, n_div = _synthetic("random", "centred")
    d = compute_diagnostics(idata)
    assert n_div > 0 and d["culprit"] is None
    assert "not concentrated in one block" in where(d)
    assert "--parameterization" not in advice(d)


def test_diagnostics_equal_arviz_with_its_numba_variance(fitted_model):
    """compute_diagnostics uses numpy's variance inside ArviZ (no per-process numba
    compilation): the same R-hat and ESS as ArviZ's default, and the flag restored."""
    from arviz.utils import Numba

    idata = fitted_model.idata
    before = Numba.numba_flag
    d = compute_diagnostics(idata)
    assert Numba.numba_flag == before
    assert Numba.numba_flag                  # numba is installed: ArviZ's default path
    names = _free_vars(idata)
    rhat = az.rhat(idata, var_names=names, method="rank")
    ess = az.ess(idata, var_names=names, method="bulk")
    assert d["max_rhat"] == pytest.approx(
        max(float(np.nanmax(rhat[v])) for v in names), rel=1e-12)
    assert d["min_ess_bulk"] == pytest.approx(
        min(float(np.nanmin(ess[v])) for v in names), rel=1e-12)


def test_fitted_model_diagnostics_by_block(fitted_model):
    d = fitted_model.diagnostics()
    table = pd.DataFrame(d["by_block"]).set_index("block")
    assert set(fitted_model.factors) <= set(table.index)
    assert {"baseline", "factor scales"} <= set(table.index)
    for f in fitted_model.factors:
        assert table.loc[f, "parameterization"] == fitted_model.parameterization[f]
    missed_any = (table["n_missed"] > 0).any()
    assert missed_any == any("R-hat" in f or "ESS" in f for f in d["failed"])
    assert table["max_rhat"].max() == pytest.approx(d["max_rhat"])
    assert table["min_ess_bulk"].min() == pytest.approx(d["min_ess_bulk"])
    assert d["settings"]["draws"] == 200 and d["settings"]["chains"] == 2
    if not d["converged"]:
        # 2 chains in force: advise 4 (CLI and Python), never the settings in force
        tips = advice(d)
        assert "--chains 4" in tips and "--draws 400" in tips


# ----------------------------------------------------------------------------- compare
def test_loo_of_a_failed_fit_warns_and_strict_raises(fitted_model):
    assert not fitted_model.diagnostics()["converged"]     # under-sampled on purpose
    with pytest.warns(fb.ConvergenceWarning, match="this model failed its convergence"):
        res = fitted_model.loo()
    assert np.isfinite(res.elpd_loo)
    with pytest.raises(fb.ConvergenceError, match="PSIS-LOO"):
        fitted_model.loo(strict=True)


def _as_inference_data(model):
    """The model's posterior with a per-patient log-likelihood group (small cohorts)."""
    import arviz as az
    import xarray as xr

    ll = model.pattern_log_likelihood().values[..., model.data.pattern_of]
    post = model.idata.posterior
    da = xr.DataArray(ll, dims=("chain", "draw", "patient"),
                      coords={"chain": post.chain.values, "draw": post.draw.values,
                              "patient": model.data.patients.values})
    return az.InferenceData(posterior=post, sample_stats=model.idata.sample_stats,
                            log_likelihood=da.to_dataset(name="recovery"))


def test_elpd_difference_names_the_failed_fit(fitted_model):
    same = _as_inference_data(fitted_model)
    with pytest.warns(fb.ConvergenceWarning, match="full failed its convergence"):
        res = fb.summaries.elpd_difference(fitted_model, same, names=("full", "same"))
    assert res["elpd_diff"] == pytest.approx(0.0)
    with pytest.raises(fb.ConvergenceError, match=r"full failed.*same failed"):
        fb.summaries.elpd_difference(fitted_model, same, strict=True,
                                     names=("full", "same"))


def test_drop_term_comparison_strict_refuses_before_refitting(fitted_model):
    class NoRefit:
        def __init__(self, *a, **k):
            raise AssertionError("refitted a model although the full fit had failed")

    with pytest.raises(fb.ConvergenceError, match="full model failed"):
        fb.summaries.drop_term_comparison(fitted_model, terms=["sex"], strict=True,
                                          model_class=NoRefit)


def test_high_pareto_k_patients_are_named():
    rng = np.random.default_rng(5)
    n = 40
    ids = [f"P{i:02d}" for i in range(n)]

    def fake(outlier):
        ll = rng.normal(-1.0, 0.1, (2, 200, n))
        if outlier:   # one patient's log-likelihood driven by a few draws: k >> 0.7
            ll[..., 7] = -1.0 - 40 * rng.pareto(0.6, (2, 200))
        return az.from_dict(posterior={"mu": rng.normal(size=(2, 200))},
                            log_likelihood={"recovery": ll},
                            coords={"patient": ids}, dims={"recovery": ["patient"]})

    good, bad = fake(False), fake(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fb.ConvergenceWarning)
        fb.summaries.elpd_difference(good, good)        # no sample stats, good k: silent
    with pytest.warns(fb.ConvergenceWarning, match=r"fit_b has Pareto k > 0.7 for 'P07'"):
        res = fb.summaries.elpd_difference(good, bad)
    assert res["high_k_patients"] == {"fit_a": [], "fit_b": ["P07"]}
    with pytest.raises(fb.ConvergenceError, match="P07"):
        fb.summaries.elpd_difference(good, bad, strict=True)
