"""Derived posterior variables after sampling (model/expand.py).

nutpie stores the unconstrained draws only (``var_names=[]``); ``expand_posterior`` adds
every derived variable. Its one-call vectorised evaluation must equal the model's own
compiled function evaluated draw by draw, for every model family of the session
fixtures (factors, clinics with weighted constraint, time-varying, smooth terms).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from footdrop_bayes.model.expand import _batched, _per_draw, expand_posterior


def _fake_unconstrained(model, draws=7, seed=0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    data = {}
    for k, v in model.initial_point().items():
        dims = ("chain", "draw", *(f"{k}_dim_{i}" for i in range(np.ndim(v))))
        data[k] = (dims, np.asarray(v) + rng.normal(0, 0.3, (2, draws, *np.shape(v))))
    return xr.Dataset(data)


@pytest.mark.parametrize("fixture", ["fitted_model", "multicentre_model", "tv_model",
                                     "smooth_model"])
def test_batched_expansion_equals_per_draw_evaluation(fixture, request):
    model = request.getfixturevalue(fixture).model
    post = _fake_unconstrained(model)
    inputs = list(model.value_vars)
    outs = list(model.unobserved_value_vars)
    values = [post[v.name].values.reshape((-1, *post[v.name].shape[2:])) for v in inputs]
    batched = _batched(inputs, outs, values)
    per_draw = _per_draw(model, inputs, outs, values)
    for var, a, b in zip(outs, batched, per_draw, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=var.name)
    expanded = expand_posterior(post, model)
    for name in ("alpha", "sigma_rw"):
        assert expanded[name].dims[:2] == ("chain", "draw")


def test_fitted_posterior_keeps_the_derived_names(fitted_model):
    post = fitted_model.idata.posterior
    for name in ["alpha", "beta", "beta_std", "sigma_rw",
                 *[f"{p}_{f}" for f in fitted_model.factors
                   for p in ("b", "sigma", "log_hr")]]:
        assert name in post, name
    assert not [v for v in post.data_vars if v.endswith("__")]
    b = post[f"b_{fitted_model.factors[0]}"]
    np.testing.assert_allclose(post[f"log_hr_{fitted_model.factors[0]}"],
                               b - b.isel({b.dims[-1]: 0}), atol=1e-12)
