"""The disk-cached log-density wrapper against nutpie's own numba wrapper.

A small model with float and integer data of one and two dimensions (the shapes of the
package's ``pm.Data``) and a dimension whose length is a shared variable in the graph:
the two wrappers give identical log densities, gradients and return codes at random
points and identical draws with the same seed; a second compilation loads the wrapper
from disk; ``with_data`` serves new data of other lengths; the manifest of a structure
skips pytensor's rewriting and falls back to it on any mismatch.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

pm = pytest.importorskip("pymc")
nutpie = pytest.importorskip("nutpie")

from footdrop_bayes.model import cached_wrapper  # noqa: E402

_P = ctypes.POINTER(ctypes.c_double)


def _model(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    group = rng.integers(0, 3, n).astype("int32")
    y = rng.poisson(np.exp(0.3 * x[:, 0] - 0.2 * x[:, 1] + 0.1 * group)).astype("float64")
    with pm.Model(coords={"k": [0, 1], "g": [0, 1, 2]}) as model:
        xd = pm.Data("x", x)
        gd = pm.Data("grp", group)
        yd = pm.Data("y", y)
        beta = pm.Normal("beta", 0, 1, dims="k")
        sigma = pm.HalfNormal("sigma", 1)
        u = pm.Normal("u", 0, sigma, dims="g")
        v = pm.ZeroSumNormal("v", sigma=0.5, dims="g")
        pm.GaussianRandomWalk("walk", sigma=0.5, init_dist=pm.Normal.dist(0, 1),
                              dims="g")                # the dim's length: shared
        eta = (xd * beta).sum(axis=1) + u[gd] + v[gd]
        pm.Potential("lik", (yd * eta - pm.math.exp(eta)).sum())
    return model


def _evaluate(compiled, x):
    grad, logp = np.zeros(compiled.n_dim), np.zeros(())
    code = compiled.compiled_logp_func.ctypes(
        compiled.n_dim, x.ctypes.data_as(_P), grad.ctypes.data_as(_P),
        logp.ctypes.data_as(_P), ctypes.c_void_p(compiled.user_data.ctypes.data))
    return code, float(logp), grad


@pytest.fixture(scope="module")
def pair():
    model = _model()
    ours = cached_wrapper.compile_numba(model, var_names=[])
    assert ours is not None, "the cached wrapper fell back to nutpie's"
    theirs = nutpie.compile_pymc_model(model, backend="numba", var_names=[])
    return model, ours, theirs


def test_log_density_and_gradient_equal_nutpies(pair):
    _, ours, theirs = pair
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = rng.normal(size=ours.n_dim)
        code, logp, grad = _evaluate(ours, x)
        code_n, logp_n, grad_n = _evaluate(theirs, x)
        assert code == code_n == 0
        assert logp == logp_n
        np.testing.assert_array_equal(grad, grad_n)


def test_non_finite_and_wrong_dimension_codes_are_nutpies(pair):
    _, ours, theirs = pair
    x = np.full(ours.n_dim, 800.0)                   # exp overflows: not finite
    assert _evaluate(ours, x)[0] == _evaluate(theirs, x)[0] != 0
    grad, logp = np.zeros(ours.n_dim + 1), np.zeros(())
    x = np.zeros(ours.n_dim + 1)
    code = ours.compiled_logp_func.ctypes(
        ours.n_dim + 1, x.ctypes.data_as(_P), grad.ctypes.data_as(_P),
        logp.ctypes.data_as(_P), ctypes.c_void_p(ours.user_data.ctypes.data))
    assert code == -1


def test_same_seed_same_draws_as_nutpies_wrapper(pair):
    _, ours, theirs = pair
    kw = dict(draws=100, tune=100, chains=2, seed=7, progress_bar=False)
    a, b = nutpie.sample(ours, **kw), nutpie.sample(theirs, **kw)
    for name in ("beta", "u", "sigma_log__"):
        np.testing.assert_array_equal(a.posterior[name].values, b.posterior[name].values)
    assert float(a.posterior["beta"].mean()) != 0.0


def test_second_compilation_loads_the_wrapper_from_disk(pair):
    model, ours, _ = pair
    again = cached_wrapper.compile_numba(model, var_names=[])
    assert cached_wrapper.LAST == {"logp": "cached", "expand": "cached",
                                   "functions": "rewritten", "initial_point": "compiled"}
    x = np.random.default_rng(2).normal(size=ours.n_dim)
    assert _evaluate(again, x)[1] == _evaluate(ours, x)[1]


def test_with_data_serves_data_of_another_length(pair):
    _, ours, _ = pair
    other = _model(n=75, seed=3)
    fresh = cached_wrapper.compile_numba(other, var_names=[])
    swapped = ours.with_data(**{k: v.get_value() for k, v in
                                ((d.name, d) for d in other.data_vars)})
    rng = np.random.default_rng(4)
    for _ in range(5):
        x = rng.normal(size=ours.n_dim)
        assert _evaluate(swapped, x)[1] == pytest.approx(_evaluate(fresh, x)[1], rel=1e-12)
        assert _evaluate(swapped, x)[1] != _evaluate(ours, x)[1]


def test_wrapper_source_reads_each_array_from_nutpies_record():
    offsets = {"a": (0, 2, [4]), "b": (1, 3, [5, 6])}
    src = cached_wrapper.wrapper_source("logp", 3, ["a", "b"], offsets, 7)
    assert "a0 = numba.carray(address(w[0]), (np.intp(w[4]), ), dtype0)" in src
    assert "a1 = numba.carray(address(w[1]), (np.intp(w[5]), np.intp(w[6]), ), dtype1)" in src
    assert "logp_val, grad = fn(x, a0, a1)" in src
    compile(src, "<wrapper>", "exec")


def test_manifest_skips_rewriting_and_gives_the_same_model(pair, tmp_path):
    import json
    import uuid

    model, ours, _ = pair
    key = f"test-{uuid.uuid4()}"                      # a structure no process has seen
    first = cached_wrapper.compile_numba(model, var_names=[], disk_key=key)
    assert cached_wrapper.LAST["functions"] == "rewritten"
    again = cached_wrapper.compile_numba(model, var_names=[], disk_key=key)
    assert cached_wrapper.LAST == {"logp": "cached", "expand": "cached",
                                   "functions": "manifest", "initial_point": "plan"}
    assert again.logp_func is None and again.n_dim == first.n_dim == ours.n_dim
    # the initial point from the manifest's plan is PyMC's compiled function's, exactly
    for seed in (0, 11, 2**63 - 1):
        np.testing.assert_array_equal(again.initial_point_func(seed),
                                      first.initial_point_func(seed))
    assert not np.array_equal(again.initial_point_func(1), again.initial_point_func(2))
    assert "g" in json.loads(cached_wrapper.manifest_path(key).read_text())["layout"]
    rng = np.random.default_rng(5)
    for _ in range(5):
        x = rng.normal(size=ours.n_dim)
        assert _evaluate(again, x)[1:2] == _evaluate(ours, x)[1:2]
        np.testing.assert_array_equal(_evaluate(again, x)[2], _evaluate(ours, x)[2])
    kw = dict(draws=50, tune=50, chains=1, seed=11, progress_bar=False)
    np.testing.assert_array_equal(nutpie.sample(again, **kw).posterior["beta"].values,
                                  nutpie.sample(ours, **kw).posterior["beta"].values)
    # a wrapper numba no longer has, or other var_names: rewritten, never a wrong model
    path = cached_wrapper.manifest_path(key)
    manifest = json.loads(path.read_text())
    manifest["logp"]["key"] = "0" * 64
    path.write_text(json.dumps(manifest))
    rebuilt = cached_wrapper.compile_numba(model, var_names=[], disk_key=key)
    assert cached_wrapper.LAST["functions"] == "rewritten"
    x = rng.normal(size=ours.n_dim)
    assert _evaluate(rebuilt, x)[1] == _evaluate(ours, x)[1]
    cached_wrapper.compile_numba(model, var_names=["sigma"], disk_key=key)
    assert cached_wrapper.LAST["functions"] == "rewritten"
    path.unlink()
