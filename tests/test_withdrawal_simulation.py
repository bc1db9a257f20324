"""Informative withdrawal in the simulator, and the sensitivity bounds against its truth."""

import hashlib
import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import footdrop_bayes as fb
from footdrop_bayes.summaries import withdrawal as W

RATES = {"conservative": 0.1, "physiotherapy": 0.25, "surgery": 0.6}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_default_is_the_cohort_of_before():
    """Same seed, same cohort as before ``withdrawal=`` existed (hashes of v0.1's output)."""
    sim = fb.simulate_cohort(300, random_seed=5)
    assert _sha(sim.visits.to_csv(index=False)) == "d56ccbade7aa3e7c"
    assert _sha(sim.patients.to_csv(index=False)) == "e4f16240e575c1db"
    # the latent times to 9 decimals: their last bits follow numpy's exp/log, which
    # changed between numpy releases (v0.1's code gives these same times with numpy 2.4)
    latent = {k: None if v is None else round(float(v), 9)
              for k, v in sim.truth["recovery_time"].items()}
    assert _sha(json.dumps(latent, sort_keys=True)) == "9afb5a794aaa09ba"
    for same in (None, "random", {"delta": 0.0}):
        other = fb.simulate_cohort(300, random_seed=5, withdrawal=same)
        pd.testing.assert_frame_equal(other.visits, sim.visits)
        assert other.truth["recovered_by_end"] == sim.truth["recovered_by_end"]


def test_informative_withdrawal_changes_only_the_unobserved_truth():
    base = fb.simulate_cohort(400, random_seed=2)
    inf = fb.simulate_cohort(400, random_seed=2, withdrawal="informative")
    pd.testing.assert_frame_equal(inf.visits, base.visits)
    t_rec = pd.Series(base.truth["recovery_time"])
    drop = pd.Series(base.truth["withdrawal_time"]).astype(float)     # None -> NaN
    late = (t_rec > drop).to_numpy()
    assert late.sum() > 10
    complete = pd.Series(inf.truth["complete_recovery_time"]).astype(float)
    assert complete[late].isna().all()                       # never recover afterwards
    assert np.allclose(complete[~late], t_rec[~late])
    assert json.loads(json.dumps(inf.truth["complete_recovery_time"])) is not None
    # a finite delta stretches the residual cumulative hazard by exp(-delta)
    half = fb.simulate_cohort(400, random_seed=2, withdrawal={"delta": np.log(0.5)})
    base_h = np.asarray(base.truth["baseline_hazard"])
    cum = np.concatenate([[0], np.cumsum(base_h)])

    def h(t):
        k = np.minimum(np.floor(t).astype(int), len(base_h) - 1)
        return cum[k] + base_h[k] * (t - k)

    t2 = pd.Series(half.truth["complete_recovery_time"]).astype(float)
    d = drop[late].to_numpy()
    assert np.allclose(h(t2[late].to_numpy()) - h(d), 2 * (h(t_rec[late].to_numpy()) - h(d)))


def test_withdrawal_rate_by_arm():
    sim = fb.simulate_cohort(3000, random_seed=4,
                             withdrawal={"rate": {"treatment": RATES}})
    cohort = fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6)
    share = cohort.intervals["withdrawn"].groupby(
        cohort.covariates["treatment"].astype(str)).mean()
    assert share["conservative"] < share["physiotherapy"] < share["surgery"]
    assert share["surgery"] > 0.4
    with pytest.raises(ValueError, match="unknown levels"):
        fb.simulate_cohort(10, random_seed=1,
                           withdrawal={"rate": {"treatment": {"laser": 0.2}}})
    with pytest.raises(ValueError, match="withdrawal must be"):
        fb.simulate_cohort(10, random_seed=1, withdrawal="sometimes")


def _oracle(sim, cohort):
    """A RecoveryModel whose 'posterior' is one draw at the simulation's true values."""
    m = fb.RecoveryModel(cohort)
    eff, truth = sim.truth["effects"], sim.truth
    post = {f"b_{f}": (("chain", "draw", f),
                       np.array([[[eff[f][str(lv)] for lv in m.data.levels[f]]]]))
            for f in m.factors}
    sc = m.covariate_scaling.loc[m.covariates]
    beta = np.array([eff[c] for c in m.covariates])
    post["beta_std"] = (("chain", "draw", "covariate"),
                        (beta * sc["sd"].to_numpy())[None, None])
    centres = np.array([truth["centres"][c] for c in m.covariates])
    offset = float(beta @ (sc["mean"].to_numpy() - centres))
    alpha = np.log(np.asarray(truth["baseline_hazard"])) + offset
    post["alpha"] = (("chain", "draw", "interval"), alpha[None, None])
    m.idata = az.InferenceData(posterior=xr.Dataset(post, coords={"chain": [0],
                                                                  "draw": [0]}))
    return m


@pytest.mark.parametrize("delta", [-np.inf, -1.0])
def test_true_parameters_bound_the_complete_data_truth(delta):
    """With the true parameters, each arm's complete-data recovery lies between delta = -inf
    and delta = 0, and the true delta lands near it; withdrawal differs by arm."""
    sim = fb.simulate_cohort(20000, random_seed=7, effects={"treatment": {"surgery": 0.6}},
                             withdrawal={"delta": delta, "rate": {"treatment": RATES}})
    with pytest.warns(fb.DataWarning):
        cohort = fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6)
    model = _oracle(sim, cohort)
    tab = W.withdrawal_sensitivity(model, sorted({-np.inf, delta, 0.0}), by="treatment")
    truth = pd.Series(sim.truth["recovered_by_end"]).loc[cohort.intervals.index]
    arm = cohort.covariates["treatment"].astype(str)
    for lv in RATES:
        r = tab[tab["level"] == lv].set_index("delta")["median"]
        true = truth[arm == lv].mean()
        assert r[-np.inf] < true < r[0.0]
        # the data cannot show where withdrawn patients recovered between their last
        # visit and leaving: the estimate at the true delta errs low, by little
        assert -0.06 < r[delta] - true < 0.01
    # the high-withdrawal arm is where MAR misleads most
    gap = {lv: tab[tab["level"] == lv].set_index("delta")["median"] for lv in RATES}
    assert max(RATES, key=lambda lv: gap[lv][0.0] - gap[lv][-np.inf]) == "surgery"


@pytest.mark.slow
def test_fitted_model_bounds_the_complete_data_truth():
    """A real fit: each arm's truth lies between the delta = -inf lower bound and the
    delta = 0 upper bound (credible intervals)."""
    sim = fb.simulate_cohort(400, random_seed=3, effects={"treatment": {"surgery": 0.6}},
                             withdrawal={"delta": -np.inf, "rate": {"treatment": RATES}})
    cohort = fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6)
    model = fb.RecoveryModel(cohort, factors=["treatment"], covariates=[],
                             sampler_config={"chains": 2, "draws": 300, "tune": 300,
                                             "progressbar": False,
                                             "on_convergence_failure": "ignore"})
    model.fit(random_seed=1)
    tab = W.withdrawal_sensitivity(model, [-np.inf, 0.0], by="treatment")
    truth = pd.Series(sim.truth["recovered_by_end"]).loc[cohort.intervals.index]
    arm = cohort.covariates["treatment"].astype(str)
    for lv in RATES:
        r = tab[tab["level"] == lv].set_index("delta")
        assert r.loc[-np.inf, "low"] <= truth[arm == lv].mean() <= r.loc[0.0, "high"]
    surgery = tab[tab["level"] == "surgery"].set_index("delta")
    assert surgery.loc[0.0, "median"] > truth[arm == "surgery"].mean()
