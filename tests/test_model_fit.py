"""The fitted model: labelled posterior, curves, predictive, LOO, save/load, seeds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import footdrop_bayes as fb


def test_posterior_variables_and_dims(fitted_model):
    post = fitted_model.idata.posterior
    cohort = fitted_model.cohort
    assert post["alpha"].dims == ("chain", "draw", cohort.time_unit)
    np.testing.assert_array_equal(post[cohort.time_unit].values, cohort.grid[1:])
    for f in fitted_model.factors:
        levels = [str(x) for x in cohort.covariates[f].cat.categories]
        assert post[f"b_{f}"].dims == ("chain", "draw", f)
        assert list(post[f].values) == levels
        # effects summing to zero weighted by recoveries per level (the baseline is the
        # recovery-weighted average level); log-HR against the reference (first) level
        e = fitted_model.data.events_per_level(f).to_numpy(float)
        w = xr.DataArray(e / e.sum(), dims=[f], coords={f: post[f].values})
        np.testing.assert_allclose((post[f"b_{f}"] * w).sum(f), 0, atol=1e-8)
        assert float(abs(post[f"b_{f}"].sum(f)).max()) > 1e-6     # not the plain mean
        np.testing.assert_allclose(post[f"log_hr_{f}"].isel({f: 0}), 0, atol=1e-12)
        hr = post[f"b_{f}"] - post[f"b_{f}"].isel({f: 0})
        np.testing.assert_allclose(post[f"log_hr_{f}"], hr)
        assert post[f"sigma_{f}"].dims == ("chain", "draw")
    assert list(post["covariate"].values) == list(fitted_model.covariates)
    sd = fitted_model.covariate_scaling["sd"].to_xarray()
    np.testing.assert_allclose(post["beta"], post["beta_std"] / sd)
    # no patients x draws array: the log-likelihood is per pattern, computed on demand
    assert "log_likelihood" not in fitted_model.idata.groups()
    ll = fitted_model.pattern_log_likelihood()
    assert ll.dims == ("chain", "draw", "pattern")
    assert ll.sizes["pattern"] == len(fitted_model.data.patterns["weight"])
    assert np.isfinite(ll).all() and (ll <= 0).all()
    of = fitted_model.idata.constant_data["pattern_of"]
    assert of.dims == ("patient",) and list(of["patient"].values) == list(cohort.patient_ids)


def test_diagnostics_keys(fitted_model):
    d = fitted_model.diagnostics()
    assert {"divergences", "max_rhat", "min_ess_bulk", "min_ess_tail", "min_bfmi",
            "converged"} <= set(d)
    assert d["divergences"] == int(fitted_model.idata.sample_stats["diverging"].sum())
    assert d["max_rhat"] >= 1.0 and d["min_ess_bulk"] > 0


def test_recovery_curves_match_hand_formula(fitted_model):
    curves = fitted_model.recovery_curves()
    t = fitted_model.cohort.time_unit
    assert curves.dims == ("chain", "draw", "patient", t)
    post = fitted_model.idata.posterior
    eta = fitted_model.linear_predictor()
    widths = np.diff(fitted_model.cohort.grid)
    h0 = (np.exp(post["alpha"]) * widths).cumsum(t)
    expect = 1 - np.exp(-h0 * np.exp(eta))
    np.testing.assert_allclose(curves, expect.transpose(*curves.dims), rtol=1e-10)
    # monotone in time, probabilities (a draw with a very large hazard saturates at 1.0)
    assert (curves.diff(t) >= 0).all() and ((curves >= 0) & (curves <= 1)).all()
    assert float(curves.mean()) > 0 and float(curves.min()) < 1


def test_curves_for_new_profiles(fitted_model):
    cov = fitted_model.cohort.covariates
    profiles = cov.iloc[[3, 7]].copy()
    profiles.index = ["a", "b"]
    own = fitted_model.recovery_curves().isel(patient=[3, 7])
    new = fitted_model.recovery_curves(profiles, times=fitted_model.cohort.grid[1:])
    assert list(new["patient"].values) == ["a", "b"]
    np.testing.assert_allclose(new.values, own.values)
    bad = profiles.copy()
    f = fitted_model.factors[0]
    bad[f] = bad[f].astype(object)
    bad.iloc[0, bad.columns.get_loc(f)] = "no such level"
    with pytest.raises(fb.DataError, match="no such level"):
        fitted_model.recovery_curves(bad)


def test_posterior_predictive_intervals(fitted_model):
    pp = fitted_model.posterior_predictive(random_seed=3)
    grid = fitted_model.cohort.grid
    ev = pp["event"].values
    assert pp["first_recovered"].dims == ("chain", "draw", "patient")
    fr, lu = pp["first_recovered"].values, pp["last_unrecovered"].values
    assert np.isin(fr[ev], grid).all() and np.isin(lu, grid).all()
    assert (fr[ev] > lu[ev]).all() and np.isnan(fr[~ev]).all()
    rt = pp["recovery_time"].values
    assert ((rt[ev] > lu[ev]) & (rt[ev] <= fr[ev])).all()
    # consistent with the model's own recovery probability by the end of the grid
    p_end = fitted_model.recovery_curves().isel({fitted_model.cohort.time_unit: -1})
    assert abs(ev.mean() - float(p_end.mean())) < 0.02
    again = fitted_model.posterior_predictive(random_seed=3)
    np.testing.assert_array_equal(again["recovery_time"], pp["recovery_time"])


def per_patient_loglik(model):
    """The patients x draws log-likelihood, straight from the likelihood formula."""
    from footdrop_bayes.model.likelihood import interval_loglik_numpy

    post, d = model.idata.posterior, model.data
    eta = model.linear_predictor().values
    ll = interval_loglik_numpy(post["alpha"].values, eta, d.widths, d.l_idx, d.r_idx,
                               d.event)
    return xr.DataArray(ll, dims=("chain", "draw", "patient"),
                        coords={"chain": post.chain.values, "draw": post.draw.values,
                                "patient": d.patients.values})


def test_loo_is_per_patient(fitted_model):
    import arviz as az

    loo = fitted_model.loo(pointwise=True)
    ll = per_patient_loglik(fitted_model)
    out = fitted_model.uninformative_patients()
    iv = fitted_model.cohort.intervals
    # the bundled cohort has patients seen only at referral: censored at 0, log-lik == 0
    expected = iv.index[(~iv["event"]) & (iv["last_unrecovered"] == 0)]
    assert len(out) > 0 and sorted(out) == sorted(expected)
    assert (ll.sel(patient=list(out)) == 0).all()
    assert loo.n_excluded == len(out) and sorted(loo.excluded_patients) == sorted(out)
    assert loo.n_data_points == fitted_model.cohort.n_patients - len(out)
    assert np.isfinite(loo.elpd_loo) and np.isfinite(loo.pareto_k).all()
    assert list(loo.pareto_k["patient"].values) == [p for p in ll["patient"].values
                                                    if p not in set(out)]
    # all patients at once: the uninformative ones have infinite/NaN k; the ELPD of
    # the rest is unchanged by leaving them out (their contribution is exactly 0)
    with pytest.warns(UserWarning):
        full = az.loo(az.InferenceData(posterior=fitted_model.idata.posterior,
                                       log_likelihood=ll.to_dataset(name="recovery")),
                      var_name="recovery", pointwise=True)
    k_out = full.pareto_k.sel(patient=list(out)).values
    assert not np.isfinite(k_out).any() or (k_out > 0.7).all()
    elpd_i = full.loo_i.drop_sel(patient=list(out))
    np.testing.assert_allclose(float(elpd_i.sum()), loo.elpd_loo, rtol=1e-10)


def test_save_load_roundtrip(fitted_model, tmp_path):
    path = tmp_path / "model.nc"
    fitted_model.save(path)
    loaded = fb.RecoveryModel.load(path)
    assert loaded.factors == fitted_model.factors
    assert loaded.model_config == fitted_model.model_config
    np.testing.assert_allclose(loaded.recovery_curves(), fitted_model.recovery_curves())
    np.testing.assert_allclose(loaded.pattern_log_likelihood(),
                               fitted_model.pattern_log_likelihood())
    np.testing.assert_allclose(loaded.loo().elpd_loo, fitted_model.loo().elpd_loo,
                               rtol=1e-12)


def test_load_refuses_other_version_and_mismatch(fitted_model, tmp_path):
    import arviz as az

    path = tmp_path / "model.nc"
    fitted_model.save(path)
    idata = az.from_netcdf(path)
    idata.posterior.attrs["library_version"] = "0.0.0"
    idata.to_netcdf(tmp_path / "old.nc")
    with pytest.raises(ValueError, match=r"0\.0\.0"):
        fb.RecoveryModel.load(tmp_path / "old.nc")
    idata = az.from_netcdf(path)
    cfg = json.loads(idata.posterior.attrs["parameterization"])
    cfg["baseline"] = "tampered"
    idata.posterior.attrs["parameterization"] = json.dumps(cfg, sort_keys=True)
    idata.to_netcdf(tmp_path / "other.nc")
    with pytest.raises(ValueError, match="does not match"):
        fb.RecoveryModel.load(tmp_path / "other.nc")


def test_same_seed_same_numbers(fitted_model):
    # refit a copy sharing the compiled model: same seed, identical draws
    model = fb.RecoveryModel(fitted_model.cohort, sampler_config=fitted_model.sampler_config)
    model._model, model._compiled = fitted_model._model, fitted_model._compiled
    model.fit(random_seed=20240601)
    for v in ("alpha", f"b_{fitted_model.factors[0]}", "beta"):
        np.testing.assert_array_equal(model.idata.posterior[v],
                                      fitted_model.idata.posterior[v])
    model.fit(random_seed=7)
    assert not np.array_equal(model.idata.posterior["alpha"],
                              fitted_model.idata.posterior["alpha"])


def test_convergence_warning_and_error():
    from footdrop_bayes.model.diagnostics import check_convergence

    bad = {"divergences": 3, "max_rhat": 1.05, "min_ess_bulk": 120.0, "min_ess_tail": 500.0,
           "min_bfmi": 0.8, "converged": False,
           "failed": ["3 divergent transitions", "max R-hat 1.050 >= 1.01",
                      "min bulk ESS 120 <= 400"]}
    with pytest.warns(fb.ConvergenceWarning, match="target_accept.*draws"):
        check_convergence(bad, "warn")
    with pytest.raises(fb.ConvergenceError, match="3 divergent"):
        check_convergence(bad, "raise")
    check_convergence(bad | {"converged": True, "failed": []}, "raise")


def test_fixture_fit_flags_short_run(fitted_model):
    # 2 x 200 draws cannot reach 400 bulk ESS for every parameter: flagged, not hidden
    d = fitted_model.diagnostics()
    assert d["converged"] == (not d["failed"])
    assert any("ESS" in f for f in d["failed"]) or d["min_ess_bulk"] > 400
