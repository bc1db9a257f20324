"""Recovery probabilities by level (g-computation) against a brute-force computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from footdrop_bayes.summaries import (
    gcomp,
    km_recovery,
    level_recovery_draws,
    median_recovery_times,
    recovery_differences,
    recovery_probabilities,
)


def brute_force(model, factor, level, times):
    """P(recovered by t) per draw, every patient set to ``level``, averaged: plain numpy."""
    post = model.idata.posterior
    cov = model.cohort.covariates
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    out = np.zeros((n_chain, n_draw, len(times)))
    grid = model.cohort.grid
    alpha = post["alpha"].values                                    # chain, draw, K
    h0 = np.concatenate([np.zeros((n_chain, n_draw, 1)),
                         np.cumsum(np.exp(alpha) * np.diff(grid), axis=-1)], axis=-1)
    t_idx = [int(np.flatnonzero(grid == t)[0]) for t in times]
    for pid in cov.index:
        eta = np.zeros((n_chain, n_draw))
        for f in model.factors:
            lv = level if f == factor else str(cov.loc[pid, f])
            eta += post[f"b_{f}"].sel({f: lv}).values
        for c in model.covariates:
            mean = model.covariate_scaling.loc[c, "mean"]
            eta += post["beta"].sel(covariate=c).values * (cov.loc[pid, c] - mean)
        surv = np.exp(-h0[:, :, t_idx] * np.exp(eta)[:, :, None])
        out += 1 - surv
    return out / len(cov)


@pytest.fixture(scope="module")
def by_level(fitted_model):
    return level_recovery_draws(fitted_model, times="grid")


def test_level_draws_match_brute_force(fitted_model, by_level):
    times = fitted_model.cohort.grid[[1, 3, -1]]
    for f in ("cause", "sex"):
        assert by_level[f].dims == ("chain", "draw", f, fitted_model.cohort.time_unit)
        for lv in by_level[f][f].values:
            expected = brute_force(fitted_model, f, str(lv), times)
            got = by_level[f].sel({f: lv, "month": times}).values
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_table_summarises_brute_force(fitted_model):
    df = recovery_probabilities(fitted_model, times=[2, 6], interval=0.8)
    assert list(df.columns) == ["term", "level", "time", "n", "median", "low", "high",
                                "km", "km_low", "km_high"]
    n_levels = sum(fitted_model.cohort.covariates[f].cat.categories.size
                   for f in fitted_model.factors)
    assert len(df) == 2 * (n_levels + 1)
    row = df[(df["term"] == "cause") & (df["level"] == "trauma") & (df["time"] == 6)].iloc[0]
    draws = brute_force(fitted_model, "cause", "trauma", [6.0])[..., 0].ravel()
    np.testing.assert_allclose([row["median"], row["low"], row["high"]],
                               np.quantile(draws, [0.5, 0.1, 0.9]), rtol=1e-10)
    assert row["n"] == (fitted_model.cohort.covariates["cause"] == "trauma").sum()
    # default: end of follow-up only
    end = recovery_probabilities(fitted_model, observed=False, terms=["sex"])
    assert set(end["time"]) == {fitted_model.cohort.follow_up}
    assert list(end["term"]) == ["all", "sex", "sex"]
    assert "km" not in end.columns


def test_overall_row_matches_model_curves_and_km(fitted_model):
    df = recovery_probabilities(fitted_model, times="grid", terms=[])
    curves = fitted_model.recovery_curves().mean("patient")
    med = curves.quantile(0.5, dim=("chain", "draw")).values
    np.testing.assert_allclose(df["median"].to_numpy(), med, rtol=1e-10)
    # observed KM of all patients: lifelines directly
    from lifelines import KaplanMeierFitter
    c = fitted_model.cohort
    kmf = KaplanMeierFitter().fit(c.duration, c.intervals["event"])
    np.testing.assert_allclose(df["km"].to_numpy(),
                               1 - kmf.survival_function_at_times(c.grid[1:]).to_numpy())
    # the model and the data agree roughly on the overall curve (same cohort)
    assert np.all(np.abs(df["median"] - df["km"]) < 0.12)


def test_blocks_do_not_change_the_result(fitted_model, monkeypatch):
    data = gcomp.model_data(fitted_model)
    whole = gcomp.averaged_recovery(fitted_model, data, [3.0, 6.0])
    monkeypatch.setattr(gcomp, "MAX_BLOCK", 1)          # one patient per block
    blocks = gcomp.averaged_recovery(fitted_model, data, [3.0, 6.0])
    xr.testing.assert_allclose(whole, blocks)


def test_differences_are_drawwise(fitted_model, by_level):
    df = recovery_differences(fitted_model, times=[6], interval=0.9,
                              pairs=[("cause", "trauma", "radiculopathy")])
    assert list(df.columns) == ["term", "level", "reference", "time", "diff_median",
                                "diff_low", "diff_high", "p_positive"]
    d = (by_level["cause"].sel(cause="trauma", month=6.0)
         - by_level["cause"].sel(cause="radiculopathy", month=6.0)).values.ravel()
    row = df.iloc[0]
    np.testing.assert_allclose([row["diff_median"], row["diff_low"], row["diff_high"]],
                               np.quantile(d, [0.5, 0.05, 0.95]), rtol=1e-10)
    np.testing.assert_allclose(row["p_positive"], np.mean(d > 0))
    default = recovery_differences(fitted_model)
    assert len(default) == sum(fitted_model.cohort.covariates[f].cat.categories.size - 1
                               for f in fitted_model.factors)
    assert set(default["reference"]) == {
        fitted_model.cohort.covariates[f].cat.categories[0] for f in fitted_model.factors}


def test_median_time_exact_for_piecewise_constant_hazard():
    grid = np.arange(7.0)
    rates = np.array([0.05, 0.1, 0.2, 0.15, 0.1, 0.1])
    h0 = np.concatenate([[0], np.cumsum(rates)])
    rel = np.array([[0.5, 1.0, 3.0, 0.1]])                  # one chain, four "draws"
    p = 1 - np.exp(-h0[None, None, 1:] * rel[..., None])
    curve = xr.DataArray(p, dims=("chain", "draw", "month"), coords={"month": grid[1:]})
    t = gcomp.median_time_draws(curve, grid, "month").values[0]
    for k, r in enumerate(rel[0]):
        target = np.log(2) / r                                # H0(t) = log 2 / rel
        if target > h0[-1]:
            assert np.isinf(t[k])
        else:
            j = np.searchsorted(h0, target) - 1
            exact = grid[j] + (target - h0[j]) / rates[j]
            np.testing.assert_allclose(t[k], exact, rtol=1e-12)
    np.testing.assert_array_equal(np.isfinite(t), [False, True, True, False])


def test_median_recovery_times_table(fitted_model):
    df = median_recovery_times(fitted_model, terms=["cause"], interval=0.9)
    assert list(df.columns) == ["term", "level", "median", "low", "high", "p_reached",
                                "text"]
    assert list(df["level"]) == ["all"] + list(
        fitted_model.cohort.covariates["cause"].cat.categories)
    ok = df["median"].notna()
    assert (df.loc[ok, "low"] <= df.loc[ok, "median"]).all()
    assert (df.loc[ok, "median"] <= fitted_model.cohort.grid[-1]).all()
    assert (df.loc[~ok, "p_reached"] < 0.5).all() and (df.loc[ok, "p_reached"] >= 0.5).all()
    assert all("not reached" in t for t in df.loc[~ok, "text"])


def test_km_recovery_small_hand_case():
    # 4 patients: recovered at 1, 2; censored at 2; recovered at 3
    km, low, high = km_recovery(pd.Series([1.0, 2, 2, 3]), pd.Series([True, True, False, True]),
                                [1, 2, 3, 5])
    np.testing.assert_allclose(km, [0.25, 0.5, 1.0, 1.0])
    assert np.all(low[:2] <= km[:2]) and np.all(km[:2] <= high[:2])
    assert np.isnan(low[2:]).all() and np.isnan(high[2:]).all()    # 100 %: not estimable
    empty = km_recovery(pd.Series([], dtype=float), pd.Series([], dtype=bool), [1, 2])
    assert np.isnan(empty[0]).all()


def test_time_validation(fitted_model):
    with pytest.raises(ValueError, match=r"outside follow-up.*\(0, 6\] months"):
        recovery_probabilities(fitted_model, times=[7.5])
    with pytest.raises(ValueError, match="not factors"):
        level_recovery_draws(fitted_model, terms=["age"])
