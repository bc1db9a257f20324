"""A fitted model with a time-varying treatment: results against truth and brute force.

One compiled structure (the session fixture ``tv_model``: 400 patients, random switching,
true log HR of current surgery 0.7).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.classical.time_varying import cox_time_varying, km_by_baseline
from footdrop_bayes.model.recovery_model import RecoveryModel
from footdrop_bayes.model.tv_likelihood import tv_loglik_numpy
from footdrop_bayes.summaries import time_varying as stv


def test_posterior_covers_the_true_log_hazard_ratio(tv_model):
    assert isinstance(tv_model, fb.TimeVaryingRecoveryModel)
    draws = tv_model.idata.posterior["log_hr_treatment"].sel(treatment="surgery").values
    lo, hi = np.quantile(draws, [0.025, 0.975])
    assert lo < tv_model.truth["time_varying"]["treatment"]["surgery"] < hi
    assert (tv_model.idata.posterior["log_hr_treatment"].sel(treatment="conservative")
            == 0).all()


def test_pattern_log_likelihood_equals_per_patient_terms(tv_model):
    d = tv_model.data
    post = tv_model.idata.posterior.isel(draw=slice(0, 20))
    ll = tv_model.pattern_log_likelihood().isel(draw=slice(0, 20)).values
    eta = RecoveryModel._eta(tv_model, post, d.codes, d.z)
    direct = tv_loglik_numpy(post["alpha"].values, eta, [post["log_hr_treatment"].values],
                             [d.tv["paths"]["treatment"]], d.widths, d.l_idx, d.r_idx,
                             d.event)
    np.testing.assert_allclose(ll[..., d.pattern_of], direct, rtol=1e-10, atol=1e-12)
    loo = tv_model.loo()
    assert np.isfinite(loo["elpd_loo"]) and loo["n_patterns"] < tv_model.data.n_patients


def test_hazard_ratio_rows_and_importance(tv_model):
    hr = stv.time_varying_hazard_ratios(tv_model)
    assert hr[["term", "level", "reference"]].values.tolist() == [
        ["treatment", "surgery", "conservative"]]
    draws = tv_model.idata.posterior["log_hr_treatment"].sel(treatment="surgery").values
    assert hr["hr_median"].item() == pytest.approx(np.exp(np.median(draws)))
    assert hr["p_direction"].item() == pytest.approx(np.mean(draws > 0))
    shares = stv.person_time_shares(tv_model, "treatment")
    d = tv_model.data
    assert shares.sum() == np.where(d.event, d.r_idx, d.l_idx).sum()
    imp = stv.time_varying_importance(tv_model)
    p = shares.to_numpy() / shares.sum()
    sd = np.abs(draws.ravel()) * np.sqrt(p[0] * p[1])    # SD of a two-point distribution
    assert imp["median"].item() == pytest.approx(np.median(sd))


def test_regimes_equal_a_per_patient_computation(tv_model):
    regimes = {"never switch": "never switch", "surgery from 2": ("surgery", 2.0),
               "as observed": "as observed"}
    curves = stv.regime_recovery(tv_model, regimes, block=37)
    post = tv_model.idata.posterior
    d = tv_model.data
    eta = RecoveryModel._eta(tv_model, post, d.codes, d.z)            # (C, D, n)
    gam = post["log_hr_treatment"].values
    obs = tv_model.cohort.time_varying_paths["treatment"]
    for label, path in [("never switch", np.repeat(obs[:, :1], 6, axis=1)),
                        ("surgery from 2", np.where(np.arange(6) >= 2, 1, obs[:, :1])),
                        ("as observed", obs)]:
        lin = eta[..., None] + gam[..., path]
        cum = np.cumsum(np.exp(post["alpha"].values)[..., None, :] * d.widths
                        * np.exp(lin), axis=-1)
        expected = (1 - np.exp(-cum)).mean(axis=2)
        np.testing.assert_allclose(curves.sel(regime=label).values, expected, rtol=1e-10)
    table = stv.regime_table(curves)
    assert set(table["regime"]) == set(regimes)
    with pytest.raises(ValueError, match="grid time"):
        stv.regime_recovery(tv_model, {"x": ("surgery", 2.5)})


def test_profiles_hold_the_baseline_value(tv_model):
    profiles = pd.DataFrame({"sex": ["male", "male"], "age": [45.0, 45.0],
                             "treatment": ["conservative", "surgery"]})
    eta = tv_model.linear_predictor(profiles)
    diff = (eta.isel(patient=1) - eta.isel(patient=0)).values
    np.testing.assert_allclose(
        diff, tv_model.idata.posterior["log_hr_treatment"].sel(treatment="surgery").values)
    with pytest.raises(fb.DataError, match="treatment"):
        tv_model.linear_predictor(profiles.drop(columns="treatment"))


def test_cox_time_varying_agrees_with_truth_and_states_limits(tv_model):
    cohort = tv_model.cohort
    res = cox_time_varying(cohort)
    row = res[res["term"] == "treatment"].iloc[0]
    assert row["level"] == "surgery" and row["reference"] == "conservative"
    assert abs(row["log_hr"] - 0.7) < 3 * row["se"]
    assert res.attrs["n_rows"] == len(cohort.to_lifelines_long())
    assert "interval censoring" in res.attrs["limits"]


def test_km_by_baseline_is_labelled(tv_model):
    cohort = tv_model.cohort
    km = km_by_baseline(cohort)
    assert "baseline treatment" in km.dims
    base = cohort.covariates["treatment"].value_counts()
    for lv in km["baseline treatment"].values:
        informative = (cohort.covariates["treatment"] == lv)
        assert km["at_risk"].sel({"baseline treatment": lv}).values[0] == informative.sum()
    assert base.sum() == cohort.n_patients


def test_swimmer_plot_draws_one_bar_per_run(tv_model):
    import matplotlib.pyplot as plt

    from footdrop_bayes.plots.swimmer import plot_swimmer

    cohort = tv_model.cohort
    fig = plot_swimmer(cohort, max_patients=30, random_seed=1)
    ax = fig.axes[0]
    rng = np.random.default_rng(1)
    shown = rng.choice(np.asarray(cohort.patient_ids), 30, replace=False)
    runs = cohort.time_varying_path_table()
    assert len(ax.patches) == runs["patient"].isin(shown).sum()
    iv = cohort.intervals.loc[shown]
    assert len(ax.lines) == int(iv["event"].sum() + iv["withdrawn"].sum())
    plt.close(fig)


def test_save_and_load_keep_the_paths(tv_model, tmp_path):
    """A saved time-varying fit reloads with its paths, levels and lag: same regimes."""
    path = tmp_path / "tv.nc"
    tv_model.save(path)
    loaded = RecoveryModel.load(path)
    assert type(loaded) is type(tv_model)
    assert loaded.time_varying == tv_model.time_varying
    np.testing.assert_array_equal(loaded.cohort.time_varying_paths["treatment"],
                                  tv_model.cohort.time_varying_paths["treatment"])
    assert loaded.cohort.lag == tv_model.cohort.lag
    regimes = {"never switch": "never switch", "surgery from 2": ("surgery", 2.0)}
    a = stv.regime_recovery(loaded, regimes)
    b = stv.regime_recovery(tv_model, regimes)
    np.testing.assert_allclose(a.values, b.values, rtol=0, atol=1e-12)


def test_time_varying_coefficients_get_their_own_diagnostics_block(tv_model):
    from footdrop_bayes.model.blocks import parameter_blocks

    blocks = parameter_blocks(tv_model.idata)
    assert blocks["time-varying treatment"] == ("time-varying", ["beta_tv_treatment"], None)
    assert "beta_tv_treatment" not in blocks.get("other", ("", [], None))[1]
