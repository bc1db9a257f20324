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
