"""Importance, ranks and hazard ratios on hand-made posteriors (no sampling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from footdrop_bayes.summaries import (
    hazard_ratios_from_posterior,
    importance_from_posterior,
    rank_distribution,
    rank_draws,
    ranking_table,
)
from footdrop_bayes.summaries.importance import RANKING_COLUMNS

LEVELS = {"cause": ["radic", "trauma", "compression"], "sex": ["male", "female"]}


def hand_made(n_chain=2, n_draw=300, seed=0, scale=None):
    """A posterior with two factors and two covariates, and 40 patients."""
    rng = np.random.default_rng(seed)
    scale = scale or {"cause": 1.0, "sex": 0.1, "age": 0.03, "delay": 0.2}
    post = xr.Dataset()
    for f, lv in LEVELS.items():
        post[f"b_{f}"] = xr.DataArray(rng.normal(0, scale[f], (n_chain, n_draw, len(lv))),
                                      dims=("chain", "draw", f), coords={f: lv})
    post["beta"] = xr.DataArray(
        np.stack([rng.normal(scale["age"], 0.01, (n_chain, n_draw)),
                  rng.normal(-scale["delay"], 0.05, (n_chain, n_draw))], -1),
        dims=("chain", "draw", "covariate"), coords={"covariate": ["age", "delay"]})
    n = 40
    data = pd.DataFrame({
        "cause": pd.Categorical(rng.choice(LEVELS["cause"], n, p=[0.5, 0.3, 0.2]),
                                categories=LEVELS["cause"]),
        "sex": pd.Categorical(rng.choice(LEVELS["sex"], n), categories=LEVELS["sex"]),
        "age": rng.normal(45, 17, n).round(),
        "delay": rng.lognormal(0.3, 0.6, n),
    }, index=pd.Index([f"P{i}" for i in range(n)], name="patient"))
    return post, data


def direct_importance(post, data):
    """Per-patient contributions with numpy, then their population SD, per draw."""
    out = {}
    for f in LEVELS:
        b = post[f"b_{f}"].values                                  # chain, draw, level
        idx = np.array([LEVELS[f].index(x) for x in data[f].astype(str)])
        contrib = b[:, :, idx]                                     # chain, draw, patient
        out[f] = contrib.std(axis=-1)
    for k, c in enumerate(["age", "delay"]):
        beta = post["beta"].values[:, :, k]
        contrib = beta[:, :, None] * data[c].to_numpy()[None, None, :]
        out[c] = contrib.std(axis=-1)
    return out


def test_importance_matches_direct_computation():
    post, data = hand_made()
    imp = importance_from_posterior(post, data, factors=["cause", "sex"],
                                    covariates=["age", "delay"])
    assert imp.dims == ("chain", "draw", "term")
    assert list(imp["term"].values) == ["cause", "sex", "age", "delay"]
    direct = direct_importance(post, data)
    for term, val in direct.items():
        np.testing.assert_allclose(imp.sel(term=term).values, val, rtol=1e-10)


def test_importance_ignores_unpopulated_level_and_is_shift_invariant():
    post, data = hand_made()
    data = data.copy()
    data["cause"] = pd.Categorical(np.where(data["cause"] == "compression", "trauma",
                                            data["cause"].astype(str)),
                                   categories=LEVELS["cause"])
    imp = importance_from_posterior(post, data, factors=["cause"])
    shifted = post.copy()
    shifted["b_cause"] = post["b_cause"] + 3.0
    shifted["b_cause"].loc[{"cause": "compression"}] = 100.0     # nobody there
    imp2 = importance_from_posterior(shifted, data, factors=["cause"])
    np.testing.assert_allclose(imp.values, imp2.values, rtol=1e-10)


def test_ranks_and_distribution():
    imp = xr.DataArray(np.array([[[3.0, 1.0, 2.0], [1.0, 3.0, 2.0],
                                  [3.0, 2.0, 1.0], [0.5, 0.2, 0.1]]]),
                       dims=("chain", "draw", "term"), coords={"term": ["a", "b", "c"]})
    ranks = rank_draws(imp)
    np.testing.assert_array_equal(ranks.values[0], [[1, 3, 2], [3, 1, 2], [1, 2, 3],
                                                    [1, 2, 3]])
    dist = rank_distribution(imp)
    assert dist.dims == ("term", "rank")
    np.testing.assert_allclose(dist.sel(term="a").values, [0.75, 0, 0.25])
    np.testing.assert_allclose(dist.sum("rank").values, 1)
    np.testing.assert_allclose(dist.sum("term").values, 1)
    table = ranking_table(imp, interval=0.5)
    assert list(table.columns) == RANKING_COLUMNS
    assert list(table["term"]) == ["a", "b", "c"]
    np.testing.assert_allclose(table["expected_rank"], [1.5, 2.0, 2.5])
    np.testing.assert_allclose(table["p_rank1"].sum(), 1)
    np.testing.assert_allclose(table.loc[0, "importance_median"], 2.0)
    assert table.attrs["interval"] == 0.5


def test_ranking_table_orders_clear_terms():
    post, data = hand_made(scale={"cause": 2.0, "sex": 0.01, "age": 0.03, "delay": 0.2})
    imp = importance_from_posterior(post, data, factors=["cause", "sex"],
                                    covariates=["age", "delay"])
    table = ranking_table(imp)
    assert table["term"].iloc[0] == "cause"
    assert table["term"].iloc[-1] == "sex"
    assert table["p_rank1"].iloc[0] > 0.8
    assert table["expected_rank"].is_monotonic_increasing
    # the interval nests the median
    assert (table["importance_low"] <= table["importance_median"]).all()
    assert (table["importance_median"] <= table["importance_high"]).all()


def test_interval_validation():
    post, data = hand_made()
    imp = importance_from_posterior(post, data, factors=["sex"])
    for bad in (0, 1, 95):
        with pytest.raises(ValueError, match="interval"):
            ranking_table(imp, interval=bad)


def test_hazard_ratios_against_numpy():
    post, _ = hand_made()
    df = hazard_ratios_from_posterior(post, factors=["cause", "sex"],
                                      covariates=["age", "delay"], interval=0.9,
                                      per={"age": [1, 10]},
                                      pairs=[("cause", "compression", "trauma")])
    assert list(df.columns) == ["term", "level", "reference", "hr_median", "hr_low",
                                "hr_high", "p_direction"]
    assert list(df["term"]) == ["cause", "cause", "sex", "age", "age", "delay", "cause"]
    b = post["b_cause"].values.reshape(-1, 3)
    lhr = b[:, 1] - b[:, 0]
    row = df.iloc[0]
    assert (row["level"], row["reference"]) == ("trauma", "radic")
    np.testing.assert_allclose(row["hr_median"], np.exp(np.median(lhr)))
    np.testing.assert_allclose([row["hr_low"], row["hr_high"]],
                               np.exp(np.quantile(lhr, [0.05, 0.95])))
    np.testing.assert_allclose(row["p_direction"], np.mean(lhr > 0))
    pair = df.iloc[-1]
    assert (pair["level"], pair["reference"]) == ("compression", "trauma")
    np.testing.assert_allclose(pair["hr_median"], np.exp(np.median(b[:, 2] - b[:, 1])))
    age = df[df["term"] == "age"]
    assert pd.isna(age["level"].iloc[0]) and pd.isna(age["reference"].iloc[0])
    assert age["level"].iloc[1] == "per 10"
    beta = post["beta"].sel(covariate="age").values.ravel()
    np.testing.assert_allclose(age["hr_median"].iloc[1], np.exp(np.median(10 * beta)))
    np.testing.assert_allclose(age["hr_median"].iloc[1], age["hr_median"].iloc[0] ** 10,
                               rtol=1e-6)
    delay = df[df["term"] == "delay"].iloc[0]
    assert delay["hr_median"] < 1 and delay["p_direction"] < 0.01


def test_hazard_ratio_errors():
    post, _ = hand_made()
    with pytest.raises(ValueError, match="not numeric covariates"):
        hazard_ratios_from_posterior(post, factors=["sex"], per={"sex": 2})
    with pytest.raises(ValueError, match="not levels"):
        hazard_ratios_from_posterior(post, factors=["cause"],
                                     pairs=[("cause", "nope", "radic")])
