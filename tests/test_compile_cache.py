"""Compile once per model structure: a new cohort of the same structure reuses the model.

The cache serves the numba backend (JAX models are compiled per fit, in seconds, with
their data frozen in): this file compiles the bundled cohort's model with numba twice
(the first compilation, and the fresh one the reused draws are compared with).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.model import compile_cache
from footdrop_bayes.model.build import build_model, data_arrays


def _bootstrap(cohort: fb.Cohort, seed: int) -> fb.Cohort:
    """The recovered patients kept and the others drawn with replacement (new ids): the
    same recoveries per level and month (so the same parameterisation, including any
    mixed split), other patterns."""
    rng = np.random.default_rng(seed)
    event = cohort.intervals["event"].to_numpy().astype(bool)
    kept, other = np.flatnonzero(event), np.flatnonzero(~event)
    pick = np.concatenate([kept, rng.choice(other, other.size, replace=True)])
    ids = pd.Index([f"b{i}" for i in range(len(pick))], name="patient")
    iv = cohort.intervals.iloc[pick].set_axis(ids)
    cov = cohort.covariates.iloc[pick].set_axis(ids)
    return fb.Cohort(iv, cov, factors=list(cohort.factors), numeric=list(cohort.numeric),
                     grid=cohort.grid, follow_up=cohort.follow_up, time_unit=cohort.time_unit)


@pytest.fixture(scope="module")
def resampled(fitted_model):
    """A bootstrap cohort whose model has the fixture's structure (checked)."""
    for seed in range(20):
        cohort = _bootstrap(fitted_model.cohort, seed)
        model = fb.RecoveryModel(cohort, sampler_config=fitted_model.sampler_config)
        same_levels = all(len(model.data.levels[f]) == len(fitted_model.data.levels[f])
                          for f in model.factors)
        if (same_levels and model.parameterization == fitted_model.parameterization
                and model.model.level_split == fitted_model.model.level_split
                and len(model.data.patterns["weight"])
                != len(fitted_model.data.patterns["weight"])):
            return cohort
    pytest.skip("no bootstrap cohort with the fixture's structure")


@pytest.fixture(scope="module")
def numba_model(fitted_model):
    """The fixture's cohort compiled with the numba backend (the fallback without jax)."""
    cfg = fitted_model.sampler_config | {"nutpie_backend": "numba"}
    return fb.RecoveryModel(fitted_model.cohort, sampler_config=cfg).fit(random_seed=1)


def test_same_structure_reuses_the_compiled_model(numba_model, resampled):
    first = numba_model
    cfg = first.sampler_config
    before = compile_cache.cache_info()
    model = fb.RecoveryModel(resampled, sampler_config=cfg)
    assert (len(model.data.patterns["weight"])
            != len(first.data.patterns["weight"])), "pattern count should differ"
    assert model.compile_outlook() == "reused"
    model.fit(random_seed=3)
    assert model.compile_outlook() is None                  # compiled: nothing to pay
    after = compile_cache.cache_info()
    assert model.compile_reused and model.nutpie_backend == first.nutpie_backend
    assert after["compiled"] == before["compiled"]
    assert after["reused"] == before["reused"] + 1
    assert model.compile_time < 1.0
    # the posterior is labelled by the new cohort's coordinates
    f = model.factors[0]
    assert list(model.idata.posterior[f"b_{f}"][f].values) == \
        [str(x) for x in model.data.levels[f]]

    # a fresh compilation of the same model gives the same draws with the same seed
    compile_cache.clear_cache()
    fresh = fb.RecoveryModel(resampled, sampler_config=cfg)
    assert fresh.compile_outlook() == "disk"         # the first fit's manifest
    fresh.fit(random_seed=3)
    assert not fresh.compile_reused
    assert compile_cache.cache_info()["compiled"] == after["compiled"] + 1
    for v in ("alpha", f"b_{f}", "beta", "tau"):
        np.testing.assert_array_equal(model.idata.posterior[v], fresh.idata.posterior[v])
    # and differs from the fit of the original cohort (the data were swapped)
    assert not np.allclose(model.idata.posterior["alpha"].mean(),
                           first.idata.posterior["alpha"].mean(), atol=1e-6)


def test_reused_log_density_is_the_new_cohorts(fitted_model, resampled):
    """with_data's arrays give the log density of the model built on the new cohort."""
    import pymc as pm

    model = fb.RecoveryModel(resampled, sampler_config=fitted_model.sampler_config)
    fresh = build_model(model.data, model.model_config)
    template = fitted_model.model
    rng = np.random.default_rng(0)
    point = {k: v + rng.normal(0, 0.3, np.shape(v))
             for k, v in fresh.initial_point().items()}
    logp_fresh = fresh.compile_logp()(point)
    with template:
        pm.set_data(data_arrays(model.data))
        try:
            logp_swapped = template.compile_logp()(point)
        finally:
            pm.set_data(data_arrays(fitted_model.data))
    assert logp_swapped == pytest.approx(logp_fresh, rel=1e-12)
    assert logp_swapped != pytest.approx(template.compile_logp()(point), rel=1e-6)


def test_structure_key_separates_structures(fitted_model):
    data, cfg, par = fitted_model.data, fitted_model.model_config, \
        fitted_model.parameterization
    key = compile_cache.structure_key(data, cfg, par, "numba")
    assert key == compile_cache.structure_key(data, dict(cfg), dict(par), "numba")
    assert key != compile_cache.structure_key(data, cfg, par, "jax")
    assert key != compile_cache.structure_key(data, cfg | {"beta_sigma": 2.0}, par, "numba")
    flipped = {k: ("centred" if v != "centred" else "non-centred") for k, v in par.items()}
    assert key != compile_cache.structure_key(data, cfg, flipped, "numba")


def test_compile_outlook_tells_a_new_structure_from_a_fresh_machine(fitted_model,
                                                                    monkeypatch, tmp_path):
    import pytensor.link.numba.cache as numba_cache

    from footdrop_bayes.model import cached_wrapper

    cfg = fitted_model.sampler_config | {"nutpie_backend": "numba"}
    # a structure this process has not compiled (another prior), so the disk is asked
    model = fb.RecoveryModel(fitted_model.cohort, sampler_config=cfg,
                             model_config={"beta_sigma": 2.5})
    monkeypatch.setattr(cached_wrapper, "manifest_path", lambda key: tmp_path / "no.json")
    monkeypatch.setattr(numba_cache, "NUMBA_CACHE_PATH", tmp_path)
    assert model.compile_outlook() == "first"                # pytensor's cache empty
    (tmp_path / "op-1234.py311.nbi").write_bytes(b"")
    assert model.compile_outlook() == "new"
    jax = fb.RecoveryModel(fitted_model.cohort,
                           sampler_config=cfg | {"nutpie_backend": "jax"})
    assert jax.compile_outlook() == "jax"
    pymc = fb.RecoveryModel(fitted_model.cohort, sampler_config=cfg | {"sampler": "pymc"})
    assert pymc.compile_outlook() is None
    from footdrop_bayes.analysis import COMPILING

    assert set(COMPILING) == {"first", "new"}


def test_auto_backend_rule_and_fallback_without_jax(monkeypatch):
    resolve = compile_cache.resolve_backend
    assert resolve("numba", 10) == "numba" and resolve("jax", 10**6) == "jax"
    monkeypatch.setattr(compile_cache, "jax_available", lambda: True)
    assert resolve("auto", compile_cache.JAX_MAX_TERMS) == "jax"
    assert resolve("auto", compile_cache.JAX_MAX_TERMS + 1) == "numba"
    short, default_run = compile_cache.JAX_MAX_ITERATIONS, 4 * (1000 + 1000)
    assert resolve("auto", 105, short) == "jax"
    assert resolve("auto", 105, default_run) == "numba"     # sampling outweighs compiling
    monkeypatch.setattr(compile_cache, "jax_available", lambda: False)
    assert resolve("auto", 10) == "numba"


def test_without_jax_installed_auto_means_numba():
    """A fresh interpreter where ``import jax`` fails (jax not installed)."""
    import subprocess
    import sys

    code = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "jax" or name.startswith("jax."):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Block())
from footdrop_bayes.model import compile_cache
assert not compile_cache.jax_available()
print(compile_cache.resolve_backend("auto", 10))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "numba"
