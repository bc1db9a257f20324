"""Calibration of the recovery model: coverage of known effects and SBC (Talts et al. 2018).

The drivers live in ``benchmarks/recovery_coverage.py`` and ``benchmarks/sbc.py`` (their
full-size results are in docs/validation_model.md); the slow tests here run smaller
versions. The fast tests check that the SBC's model and simulator are the library's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from footdrop_bayes.model.build import build_model
from footdrop_bayes.model.likelihood import interval_loglik_numpy
from footdrop_bayes.model.priors import model_config

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sbc = _load("sbc")


def _small_data(rng, n=60):
    codes, z = sbc.design(n, rng)
    eta = rng.normal(0.0, 0.5, n)
    return sbc.model_data(codes, z, *sbc.simulate_intervals(np.full(6, -1.5), eta, rng))


def test_sbc_model_log_density_equals_build_model():
    """The pm.Data model refitted in the SBC has build_model's log density (non-centred)."""
    rng = np.random.default_rng(3)
    data = _small_data(rng)
    ours = sbc.sbc_model(data)
    lib = build_model(data, model_config({"parameterization": "non-centred"}))
    assert sorted(v.name for v in ours.value_vars) == sorted(v.name for v in lib.value_vars)
    f_ours, f_lib = ours.compile_logp(), lib.compile_logp()
    start = ours.initial_point()
    for _ in range(3):
        point = {k: rng.normal(0.0, 0.7, np.shape(v)) for k, v in start.items()}
        assert f_ours(point) == pytest.approx(f_lib(point), rel=1e-10, abs=1e-8)
    # new data through pm.set_data gives the library's density for those data
    other = _small_data(rng)
    with ours:
        pm.set_data(sbc.data_updates(other))
    lib2 = build_model(other, model_config({"parameterization": "non-centred"}))
    point = {k: rng.normal(0.0, 0.5, np.shape(v)) for k, v in start.items()}
    assert ours.compile_logp()(point) == pytest.approx(lib2.compile_logp()(point), rel=1e-10)


def test_sbc_simulator_matches_the_likelihood():
    """Frequencies of simulated (L, R] (every visit attended) equal exp(log-likelihood)."""
    rng = np.random.default_rng(5)
    alpha = np.log([0.3, 0.2, 0.2, 0.1, 0.15, 0.1])
    n = 40000
    eta = np.full(n, 0.4)
    l_idx, r_idx, event = sbc.simulate_intervals(alpha, eta, rng, withdraw=0.0, miss=0.0)
    assert np.all(r_idx[event] == l_idx[event] + 1)
    assert np.all(l_idx[~event] == 6)
    observed = np.bincount(np.where(event, r_idx, 7), minlength=8)[1:]
    cells_l = np.r_[np.arange(6), 6]
    cells_r = np.r_[np.arange(1, 7), 6]
    ev = np.r_[np.ones(6, bool), False]
    p = np.exp(interval_loglik_numpy(alpha, np.full(7, 0.4), np.ones(6), cells_l, cells_r,
                                     ev))
    assert p.sum() == pytest.approx(1.0)
    assert stats.chisquare(observed, n * p).pvalue > 0.001


def test_sbc_simulator_missed_visits_and_withdrawal_give_valid_intervals():
    rng = np.random.default_rng(6)
    l_idx, r_idx, event = sbc.simulate_intervals(np.full(6, -1.0), rng.normal(0, 1, 3000),
                                                 rng, withdraw=0.3, miss=0.3)
    assert np.all(l_idx[event] < r_idx[event])
    assert np.all(l_idx[~event] == r_idx[~event])
    assert (r_idx[event] - l_idx[event] > 1).any()            # missed visits widen
    assert (~event & (l_idx < 6)).any()                        # withdrawals
    assert l_idx.min() >= 0 and r_idx.max() <= 6


def test_uniformity_flags_non_uniform_ranks():
    import pandas as pd

    rng = np.random.default_rng(0)
    good = {f"rank_{k}": rng.integers(0, 100, 200) for k in sbc.PARAMETERS}
    bad = dict(good, **{"rank_tau": rng.integers(0, 20, 200)})  # truth always low
    for ranks, expect_bad in ((good, False), (bad, True)):
        df = pd.DataFrame(ranks | {f"ess_{k}": 100.0 for k in sbc.PARAMETERS})
        df.attrs["n_keep"] = 99
        table = sbc.uniformity(df, bins=10)
        assert (table.loc["tau", "p"] < 1e-6) == expect_bad
        assert table.loc["tau", "counts"][0] >= 1


@pytest.mark.slow
def test_simulation_based_calibration():
    """Ranks of prior-drawn truths among posterior draws are uniform (40 replications).

    The full-size run (``benchmarks/sbc.py``, 100 replications) is in
    docs/validation_model.md.
    """
    result = sbc.run_sbc(reps=40, patients=100, chains=2, draws=300, tune=300, n_keep=99,
                         seed=11, verbose=False)
    table = sbc.uniformity(result, bins=5)
    print(table)
    for name, row in table.iterrows():
        assert row["p"] > 0.001, (name, row["counts"])
    assert result["divergences"].sum() <= 0.01 * len(result) * 600


@pytest.mark.slow
def test_parameter_recovery_coverage():
    """50% and 90% intervals of the 11 true log-HRs of simulated 1,000-patient cohorts.

    Four seeds, 44 intervals pooled: 90% coverage expects 39.6 hits (SD 2.0), 50% coverage
    22 (SD 3.3); the bounds below are about 3 SD. Full run in docs/validation_model.md.
    """
    cov = _load("recovery_coverage")
    cfg = {"chains": 2, "draws": 1000, "tune": 1000, "progressbar": False,
           "on_convergence_failure": "ignore"}
    rows, divergences = [], 0
    for seed in (1, 2, 3, 4):
        model, truth = cov.simulated_fit(1000, seed, cfg)
        rows += cov.coverage_rows(model, truth)
        divergences += model.diagnostics()["divergences"]
    hits90 = sum(r["in90"] for r in rows)
    hits50 = sum(r["in50"] for r in rows)
    assert len(rows) == 44
    assert hits90 >= 34, rows
    assert 12 <= hits50 <= 32, rows
    assert divergences == 0
