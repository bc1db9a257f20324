"""The "mixed" parameterisation of level effects: pinned levels centred, weak ones
non-centred, with the same prior on the effects (issue 13, round 4; "auto" for a
split block since round 5)."""

from __future__ import annotations

import warnings

import numpy as np
import pymc as pm
import pytest

import footdrop_bayes as fb
from footdrop_bayes.model.blocks import parameter_blocks
from footdrop_bayes.model.build import level_split, mixed_chols
from footdrop_bayes.model.compile_cache import structure_key

#: Threshold that splits the factor ``site`` of the cohort below (levels with 31, 47, 18
#: and 10 recoveries under the defaults of :func:`_cohort`).
MIN_EVENTS = 25


def _cohort():
    sim = fb.simulate_cohort(150, n_clinics=3, clinic_sd=0.5, clinic_sizes="random",
                             random_seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6,
                                     factors=["site"])


def _model(choice, **config):
    return fb.RecoveryModel(_cohort(), model_config={
        "parameterization": {"site": choice}, "centred_min_events": MIN_EVENTS, **config},
        sampler_config={"chains": 2, "draws": 150, "tune": 150, "progressbar": False,
                        "on_convergence_failure": "ignore"})


@pytest.fixture(scope="module")
def mixed():
    return _model("mixed")


@pytest.fixture(scope="module")
def fitted(mixed):
    return mixed.fit(random_seed=3)


def test_split_and_fallbacks():
    assert level_split([31, 47, 18, 10], 25) == {"anchor": 1, "centred": [0],
                                                 "weak": [2, 3]}
    assert level_split([5, 3], 25) == "non-centred"
    assert level_split([30, 40], 25) == "centred"


def test_model_records_the_split(mixed):
    events = mixed.data.events_per_level("site").to_numpy()
    split = mixed.model.level_split["site"]
    assert mixed.parameterization["site"] == "mixed"
    assert events[split["anchor"]] == events.max()
    assert all(events[i] >= MIN_EVENTS for i in split["centred"])
    assert all(events[i] < MIN_EVENTS for i in split["weak"])
    assert split["centred"] and split["weak"]
    names = {v.name for v in mixed.model.free_RVs}
    assert {"b_site_c", "z_site"} <= names


def test_fallback_is_named():
    m = _model("mixed", centred_min_events=1000)
    assert m.parameterization["site"] == "non-centred"
    assert m.model.level_split == {"site": "non-centred"}


def test_auto_splits_a_split_block_only():
    """Under "auto" the split block (site: 31, 47, 18, 10 recoveries against 25) is
    mixed with the same split as asked for; whole blocks keep their whole-block form."""
    auto = fb.RecoveryModel(_cohort(), model_config={"centred_min_events": MIN_EVENTS})
    assert auto.parameterization["site"] == "mixed"
    assert auto.model.level_split == _model("mixed").model.level_split
    low = fb.RecoveryModel(_cohort(), model_config={"centred_min_events": 100})
    assert low.parameterization["site"] == "non-centred" and low.model.level_split == {}
    high = fb.RecoveryModel(_cohort(), model_config={"centred_min_events": 5})
    assert high.parameterization["site"] == "centred" and high.model.level_split == {}


def test_structure_key_includes_split(mixed):
    args = (mixed.data, mixed.model_config, mixed.parameterization, "numba")
    assert structure_key(*args, {"site": {"anchor": 1, "centred": [0], "weak": [2, 3]}}) \
        != structure_key(*args, {"site": {"anchor": 0, "centred": [1], "weak": [2, 3]}})


@pytest.mark.parametrize("c,m", [(0, 3), (1, 2), (3, 2)])
def test_conditional_formulas(c, m):
    """L_N L_N' and the conditional mean of the weak levels against numpy's Gaussian
    conditioning of MvNormal(0, I + 11') over the non-anchor levels."""
    r = np.eye(c + m) + np.ones((c + m, c + m))
    r_cc, r_nc, r_nn = r[:c, :c], r[c:, :c], r[c:, c:]
    lc, ln = mixed_chols(c, m)
    if c:
        gain = r_nc @ np.linalg.inv(r_cc)
        np.testing.assert_allclose(gain, np.ones((m, c)) / (1 + c), atol=1e-12)
        np.testing.assert_allclose(lc @ lc.T, r_cc, atol=1e-12)
        cond = r_nn - gain @ r_nc.T
    else:
        cond = r_nn
    np.testing.assert_allclose(cond, np.eye(m) + np.ones((m, m)) / (1 + c), atol=1e-12)
    np.testing.assert_allclose(ln @ ln.T, cond, atol=1e-12)


def _prior_b(model, draws=20000):
    with model.model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prior = pm.sample_prior_predictive(draws=draws, var_names=["b_site", "sigma_site"],
                                           random_seed=7).prior
    return prior["b_site"].values.reshape(draws, -1), prior["sigma_site"].values.ravel()


def test_prior_of_b_is_unchanged(mixed):
    """b = P v, v iid N(0, sigma^2): E[b b'] = E[sigma^2] P P' under both forms."""
    b_mix, s_mix = _prior_b(mixed)
    b_nc, s_nc = _prior_b(_model("non-centred"))
    w = mixed.model["factor_weights_site"].get_value()
    p = np.eye(w.size) - np.outer(np.ones(w.size), w)
    np.testing.assert_allclose(b_mix @ w, 0.0, atol=1e-9)
    # scale-free comparison: b / sigma has covariance P P' exactly
    for b, s in ((b_mix, s_mix), (b_nc, s_nc)):
        cov = np.cov((b / s[:, None]).T)
        np.testing.assert_allclose(cov, p @ p.T, atol=0.05)
    np.testing.assert_allclose(np.cov(b_mix.T), np.cov(b_nc.T),
                               atol=0.1 * np.abs(np.cov(b_nc.T)).max())


def test_fitted_mixed_model(fitted):
    post = fitted.idata.posterior
    w = fitted.model["factor_weights_site"].get_value()
    b = post["b_site"].values
    np.testing.assert_allclose(b @ w, 0.0, atol=1e-9)
    lhr = post["log_hr_site"].values
    np.testing.assert_allclose(lhr, b - b[..., :1], atol=1e-9)
    kind, members, scale = parameter_blocks(fitted.idata)["site"]
    assert kind == "factor" and scale == "sigma_site"
    assert {"b_site", "b_site_c", "z_site", "sigma_site"} <= set(members)
    assert "site_c" not in parameter_blocks(fitted.idata)
