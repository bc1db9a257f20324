"""Post-processing on weighted patterns equals the per-patient computation (1e-10)."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pytest
import xarray as xr

from footdrop_bayes.model import loo as pattern_loo
from test_model_fit import per_patient_loglik


def arviz_loo(model, **kwargs):
    """az.loo on the expanded patients x draws matrix, uninformative patients left out."""
    ll = per_patient_loglik(model)
    keep = ~ll["patient"].isin(model.uninformative_patients().values)
    idata = az.InferenceData(posterior=model.idata.posterior,
                             log_likelihood=ll.isel(patient=keep).to_dataset(name="recovery"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.loo(idata, var_name="recovery", **kwargs)


def test_cohort_collapses(categorical_model):
    n_pat = len(categorical_model.data.patterns["weight"])
    assert n_pat < categorical_model.data.n_patients / 2
    assert categorical_model.data.patterns["weight"].sum() == categorical_model.data.n_patients


def test_pattern_loglik_is_every_patients_term(categorical_model):
    m = categorical_model
    ll = m.pattern_log_likelihood()
    per_patient = per_patient_loglik(m)
    expanded = ll.isel(pattern=m.data.pattern_of).values
    np.testing.assert_allclose(expanded, per_patient.values, rtol=1e-12, atol=1e-14)
    sub = m.pattern_log_likelihood([3, 0])
    np.testing.assert_array_equal(sub.values, ll.isel(pattern=[3, 0]).values)


@pytest.mark.parametrize("scale", ["log", "deviance"])
def test_loo_equals_arviz_on_the_patient_matrix(categorical_model, scale):
    m = categorical_model
    ref = arviz_loo(m, pointwise=True, scale=scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = m.loo(pointwise=True, scale=scale)
    for key in ("elpd_loo", "se", "p_loo"):
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-10, atol=1e-10)
    for key in ("n_data_points", "n_samples", "warning", "good_k", "scale"):
        assert got[key] == ref[key]
    np.testing.assert_allclose(got.loo_i.values, ref.loo_i.values, rtol=1e-10)
    np.testing.assert_allclose(got.pareto_k.values, ref.pareto_k.values, rtol=1e-10)
    assert list(got.loo_i["patient"].values) == list(ref.loo_i["patient"].values)
    assert got.n_patterns < got.n_data_points
    assert got.max_pareto_k == pytest.approx(float(ref.pareto_k.max()))


def test_loo_is_accepted_by_arviz_compare(categorical_model):
    m = categorical_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = m.loo(pointwise=True)
        cmp = az.compare({"patterns": ours, "patients": arviz_loo(m, pointwise=True)})
    np.testing.assert_allclose(cmp["elpd_loo"].to_numpy(), ours.elpd_loo, rtol=1e-10)
    assert cmp["elpd_diff"].abs().max() < 1e-8


def test_blocks_do_not_change_loo(categorical_model, monkeypatch):
    m = categorical_model
    whole = m.loo(pointwise=True)
    monkeypatch.setattr(pattern_loo, "MAX_BLOCK", 1)        # one pattern per block
    m._loo_cache = None
    blocks = m.loo(pointwise=True)
    m._loo_cache = None
    np.testing.assert_allclose(blocks.elpd_loo, whole.elpd_loo, rtol=1e-12)
    np.testing.assert_allclose(blocks.pareto_k, whole.pareto_k, rtol=1e-12)


def test_weighted_elpd_by_hand():
    rng = np.random.default_rng(0)
    loo_j, lppd_j = rng.normal(-1, 0.5, 5), rng.normal(-0.9, 0.5, 5)
    w = np.array([1, 4, 2, 7, 3])
    expanded = np.repeat(loo_j, w)
    res = pattern_loo.weighted_elpd(loo_j, lppd_j, w)
    np.testing.assert_allclose(res["elpd_loo"], expanded.sum(), rtol=1e-13)
    np.testing.assert_allclose(res["se"], np.sqrt(w.sum() * np.var(expanded)), rtol=1e-12)
    np.testing.assert_allclose(res["p_loo"], np.repeat(lppd_j, w).sum() - expanded.sum())
    assert res["n_data_points"] == w.sum()


def test_posterior_file_has_no_draws_by_patient_arrays(categorical_model, tmp_path):
    path = tmp_path / "m.nc"
    categorical_model.save(path)
    idata = az.from_netcdf(str(path))
    assert "log_likelihood" not in idata.groups()
    n = categorical_model.data.n_patients
    for group in idata.groups():
        ds = idata[group]
        for name, var in ds.data_vars.items():
            assert not ({"chain", "draw"} <= set(var.dims) and "patient" in var.dims), name
    cd = idata.constant_data
    w = cd["pattern_weight"].values
    assert w.sum() == n and cd["pattern_of"].sizes["patient"] == n
    np.testing.assert_array_equal(np.bincount(cd["pattern_of"].values), w)
    assert isinstance(cd, xr.Dataset)


# ------------------------------------------------------------------ g-computation, curves
def patient_curves(model, set_factor=None, level=None, times=None):
    """Every patient's own recovery curve per draw, plain numpy (patients x draws)."""
    post, d = model.idata.posterior, model.data
    grid = d.grid
    times = grid[1:] if times is None else np.asarray(times, float)
    alpha = post["alpha"].values
    h0 = np.concatenate([np.zeros(alpha.shape[:2] + (1,)),
                         np.cumsum(np.exp(alpha) * np.diff(grid), axis=-1)], axis=-1)
    t_idx = [int(np.flatnonzero(np.isclose(grid, t))[0]) for t in times]
    eta = np.zeros(alpha.shape[:2] + (d.n_patients,))
    for f in model.factors:
        code = d.codes[f] if f != set_factor else np.full(d.n_patients, level)
        eta += post[f"b_{f}"].values[..., code]
    if model.group:
        eta += post[f"u_{model.group}"].values[..., d.codes[model.group]]
    if model.covariates:
        eta += np.einsum("cdk,nk->cdn", post["beta_std"].values, d.z)
    return 1 - np.exp(-h0[:, :, None, t_idx] * np.exp(eta)[..., None])   # (c, d, n, T)


@pytest.mark.parametrize("model_name", ["categorical_model", "fitted_model"])
def test_level_draws_equal_per_patient_brute_force(model_name, request):
    from footdrop_bayes.summaries import gcomp

    model = request.getfixturevalue(model_name)
    draws = gcomp.level_recovery_draws(model, times="grid")
    for f in model.factors:
        for k, lv in enumerate(model.data.levels[f]):
            expected = patient_curves(model, f, k).mean(axis=2)
            np.testing.assert_allclose(draws[f].sel({f: str(lv)}).values, expected,
                                       rtol=1e-10, atol=1e-13)
    overall = gcomp.overall_recovery_draws(model, times="grid")
    np.testing.assert_allclose(overall.values, patient_curves(model).mean(axis=2),
                               rtol=1e-10, atol=1e-13)


def test_subgroup_draws_equal_per_patient_brute_force(categorical_model):
    from footdrop_bayes.plots import subgroup_recovery_draws

    m = categorical_model
    curves = patient_curves(m)
    for factor in ("cause", "clinic"):
        got = subgroup_recovery_draws(m, factor)
        g = m.cohort.covariates[factor]
        for lv in g.cat.categories:
            mask = (g == lv).to_numpy()
            np.testing.assert_allclose(got.sel({factor: str(lv)}).values,
                                       curves[:, :, mask].mean(axis=2), rtol=1e-10)


def test_small_blocks_and_the_cache_do_not_change_results(categorical_model, monkeypatch):
    from footdrop_bayes.summaries import gcomp, median_recovery_times

    m = categorical_model
    whole = gcomp.level_recovery_draws(m, times="grid")["cause"]
    assert gcomp.level_recovery_draws(m, times="grid")["cause"] is whole      # cached
    medians = median_recovery_times(m)
    monkeypatch.setattr(gcomp, "MAX_BLOCK", 1)              # one profile per block
    m.__dict__.pop("_gcomp_cache", None)
    blocks = gcomp.level_recovery_draws(m, times="grid")["cause"]
    xr.testing.assert_allclose(whole, blocks)
    m.__dict__.pop("_gcomp_cache", None)
    again = median_recovery_times(m)
    np.testing.assert_allclose(again[["median", "low", "high"]].to_numpy(float),
                               medians[["median", "low", "high"]].to_numpy(float))


def test_prior_shares_equal_the_per_patient_simulation(fitted_model, monkeypatch):
    from footdrop_bayes.model import prior_curves
    from footdrop_bayes.plots import prior_curves as curves_of

    expected = curves_of(fitted_model.prior_predictive(40, random_seed=8))
    monkeypatch.setattr(prior_curves, "MAX_BLOCK", 3 * fitted_model.data.n_patients)
    got = prior_curves.prior_recovery_shares(fitted_model, 40, random_seed=8)
    assert got.dims == ("chain", "draw", "time")
    np.testing.assert_array_equal(curves_of(got).values, expected.values)
    np.testing.assert_array_equal(curves_of(got)["time"].values, expected["time"].values)


def _per_patient_expected_shares(model, draws, seed, times):
    """The patients' mean prior probability of recovery by each time, patient by patient."""
    from footdrop_bayes.model.predictive import cumulative_baseline
    from footdrop_bayes.model.prior_curves import prior_draws

    prior = prior_draws(model, draws, np.random.default_rng(seed))
    eta = model._eta(prior, model.data.codes, model.data.z)            # (c, d, patients)
    h0 = cumulative_baseline(prior["alpha"].values, model.data.grid, times)
    w = np.ones(eta.shape[-1]) if model.data.row_weight is None else model.data.row_weight
    p = -np.expm1(-h0[:, :, None, :] * np.exp(eta)[..., None])
    return np.einsum("cdnt,n->cdt", p, w) / w.sum()


@pytest.mark.parametrize("which", ["fitted_model", "multicentre_model"])
def test_expected_prior_shares_equal_the_per_patient_average(which, request):
    from footdrop_bayes.model.prior_curves import prior_recovery_shares

    model = request.getfixturevalue(which)
    got = prior_recovery_shares(model, 30, random_seed=4, method="expected")
    want = _per_patient_expected_shares(model, 30, 4, got["time"].values)
    np.testing.assert_allclose(got.values, want, rtol=0, atol=1e-10)


def test_simulated_prior_shares_scatter_around_the_expected_ones(fitted_model):
    from footdrop_bayes.model.prior_curves import prior_recovery_shares

    sim = prior_recovery_shares(fitted_model, 60, random_seed=5, method="simulate").values
    exp = prior_recovery_shares(fitted_model, 60, random_seed=5, method="expected").values
    n = fitted_model.data.n_patients
    # the simulated share is a mean of n independent recoveries with mean `exp`
    sd = np.sqrt(np.clip(exp * (1 - exp), 1e-12, None) / n)
    assert (np.abs(sim - exp) <= 5 * sd + 1.0 / n).all()   # each draw and time
    assert np.abs((sim - exp).mean()) < 0.01          # no bias over 60 draws x 121 times
    assert np.abs(sim - exp).max() > 0                # two different computations


def test_auto_prior_shares_use_profiles_above_the_simulation_limit(fitted_model, monkeypatch):
    from footdrop_bayes.model import prior_curves

    monkeypatch.setattr(prior_curves, "SIMULATE_MAX", fitted_model.data.n_patients - 1)
    auto = prior_curves.prior_recovery_shares(fitted_model, 20, random_seed=2)
    exp = prior_curves.prior_recovery_shares(fitted_model, 20, random_seed=2,
                                             method="expected")
    np.testing.assert_array_equal(auto.values, exp.values)
    with pytest.raises(ValueError, match="method"):
        prior_curves.prior_recovery_shares(fitted_model, 5, method="exact")


def test_unique_rows_equals_numpy_unique_axis0():
    from footdrop_bayes._rows import unique_rows

    rng = np.random.default_rng(4)
    n = 5000
    cols = [rng.integers(-1, 3, n), rng.normal(size=n).round(1), rng.integers(0, 2, n),
            rng.choice([0.5, 1.5, 2.5], n), rng.normal(size=n).round(2)]
    table = np.column_stack(cols).astype(float)
    uniq, inverse, counts = np.unique(table, axis=0, return_inverse=True, return_counts=True)
    first, inv, cnt = unique_rows(cols)
    np.testing.assert_array_equal(table[first], uniq)
    np.testing.assert_array_equal(inv, inverse.ravel())
    np.testing.assert_array_equal(cnt, counts)
