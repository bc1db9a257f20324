"""Withdrawal sensitivity: identities against the MAR analysis and brute force, tipping points."""

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.errors import DataError
from footdrop_bayes.summaries import withdrawal as W
from footdrop_bayes.summaries import withdrawal_draws as WD


@pytest.fixture(scope="module")
def draws(fitted_model):
    return W.withdrawal_draws(fitted_model, [-np.inf, -1.0, 0.0, 0.7, np.inf], times="grid")


def _direct(model, delta, term, level, times):
    """Brute force over patients with the model's own recovery curves (patients x draws)."""
    cohort = model.cohort
    cols = list(model.factors) + list(model.covariates)
    data = cohort.covariates[cols].copy()
    own = model.recovery_curves(data=data, times=cohort.grid[1:]).values   # (c, d, n, K)
    f_own = np.concatenate([np.zeros(own.shape[:3] + (1,)), own], axis=-1)
    if term == "all":
        g = model.recovery_curves(data=data, times=times).values.mean(axis=2)
        member = np.ones(len(data), bool)
    else:
        d = data.copy()
        d[term] = pd.Categorical([level] * len(d), categories=data[term].cat.categories)
        g = model.recovery_curves(data=d, times=times).values.mean(axis=2)
        member = (data[term].astype(str) == level).to_numpy()
    iv = cohort.intervals
    adj = np.zeros_like(g)
    for i in np.flatnonzero(member & iv["withdrawn"].to_numpy()):
        kw = int(np.flatnonzero(np.isclose(cohort.grid, iv["last_unrecovered"].iloc[i]))[0])
        s_w = 1 - f_own[:, :, i, kw]
        for j, t in enumerate(times):
            if t <= cohort.grid[kw]:
                continue
            kt = int(np.flatnonzero(np.isclose(cohort.grid, t))[0])
            dh = np.log(s_w) - np.log(1 - f_own[:, :, i, kt])        # H(T) - H(t_w)
            c0 = 1 - np.exp(-dh)
            cd = (1.0 if delta == np.inf else 0.0 if delta == -np.inf
                  else 1 - np.exp(-np.exp(delta) * dh))
            adj[:, :, j] += cd - c0
    return np.clip(g + adj / member.sum(), 0, 1)


def test_delta_zero_reproduces_recovery_probabilities(fitted_model, draws):
    ref = fb.recovery_probabilities(fitted_model, times="grid", observed=False)
    tab = W.withdrawal_sensitivity(fitted_model, draws=draws)
    got = tab[tab["delta"] == 0].drop(columns="delta").reset_index(drop=True)
    merged = ref.merge(got, on=["term", "level", "time"], suffixes=("", "_w"))
    assert len(merged) == len(ref) == len(got)
    for col in ("median", "low", "high"):
        assert np.abs(merged[col] - merged[f"{col}_w"]).max() < 1e-12
    # and draw by draw
    lvl = fb.summaries.level_recovery_draws(fitted_model, times="grid")
    k = list(draws.spec.grid).index(0.0)
    for g, (term, level) in enumerate(draws.groups):
        if term == "all":
            continue
        expect = lvl[term].sel({term: level}).values
        assert np.abs(draws.values.values[:, :, k, :, g] - expect).max() < 1e-12


@pytest.mark.parametrize("delta", [-np.inf, -1.0, 0.7, np.inf])
@pytest.mark.parametrize("term,level", [("all", "all"), ("treatment", "surgery"),
                                        ("cause", "local compression")])
def test_matches_a_direct_computation(fitted_model, draws, delta, term, level):
    times = draws.times
    expect = _direct(fitted_model, delta, term, level, times)
    k = list(draws.spec.grid).index(delta)
    g = draws.groups.index((term, level))
    assert np.abs(draws.values.values[:, :, k, :, g] - expect).max() < 1e-10


def test_never_recovering_removes_the_post_withdrawal_recoveries(fitted_model, draws):
    """delta = -inf: a level without withdrawn patients is unchanged, others drop."""
    iv = fitted_model.cohort.intervals
    data = fitted_model.cohort.covariates
    lo = list(draws.spec.grid).index(-np.inf)
    z = list(draws.spec.grid).index(0.0)
    end = -1
    for g, (term, level) in enumerate(draws.groups):
        at = np.ones(len(iv), bool) if term == "all" else (data[term].astype(str) == level)
        diff = draws.values.values[:, :, lo, end, g] - draws.values.values[:, :, z, end, g]
        if (np.asarray(at) & iv["withdrawn"].to_numpy()).any():
            assert (diff < 0).all()
        else:
            assert np.all(diff == 0)


def test_blocks_give_the_same_numbers(fitted_model, draws, monkeypatch):
    """Evaluated a few profiles at a time (tiny blocks), the draws do not change."""
    monkeypatch.setattr(WD, "MAX_BLOCK", 3 * 400 * 6)
    small = W.withdrawal_draws(fitted_model, list(draws.spec.grid), times="grid")
    assert np.abs(small.values.values - draws.values.values).max() < 1e-12
    ref = W.withdrawal_draws(fitted_model, {"surgery": [-1.0, 0.0]}, by="treatment",
                             delta_by="treatment")
    monkeypatch.setattr(WD, "MAX_BLOCK", 1)
    tiny = W.withdrawal_draws(fitted_model, {"surgery": [-1.0, 0.0]}, by="treatment",
                              delta_by="treatment")
    assert np.abs(tiny.values.values - ref.values.values).max() < 1e-12


def test_monotone_in_delta(fitted_model):
    grid = [-np.inf, *np.linspace(-4, 4, 17), np.inf]
    w = W.withdrawal_draws(fitted_model, grid)
    steps = np.diff(w.values.values, axis=2)
    assert (steps >= -1e-15).all()
    tab = W.withdrawal_sensitivity(fitted_model, draws=w)
    for _, sub in tab.groupby(["term", "level", "time"]):
        assert (np.diff(sub.sort_values("delta")["median"]) >= -1e-15).all()


def test_delta_by_moves_only_the_named_level(fitted_model):
    grid = [-np.inf, -1.0, 0.0, np.inf]
    w = W.withdrawal_draws(fitted_model, {"surgery": grid}, by="treatment",
                           delta_by="treatment")
    v = w.values.values[:, :, :, 0, :]
    for g, (_term, level) in enumerate(w.groups):
        spread = np.ptp(v[..., g], axis=2).max()
        if level in ("conservative", "physiotherapy"):
            assert spread == 0
        else:                   # surgery, and all (which holds surgery's withdrawn)
            assert spread > 0
    # same as a common delta restricted to the surgery arm's contribution
    common = W.withdrawal_draws(fitted_model, grid, by="treatment")
    s = w.groups.index(("treatment", "surgery"))
    assert np.abs(v[..., s] - common.values.values[:, :, :, 0, s]).max() < 1e-12


def test_tipping_points_bracket_a_change_of_conclusion(fitted_model):
    tip = W.tipping_points(fitted_model, by=["cause", "treatment"], tol=1e-3)
    assert set(tip["side"]) == {"below", "above"}
    assert tip["text"].str.len().min() > 40
    found = tip[tip["tipping_delta"].notna()
                & (tip["tipping_delta"].abs() < W.TIPPING_RANGE[1])]
    assert len(found), "the bundled cohort has tipping points for cause"
    for r in found.itertuples():
        inside = r.tipping_delta - np.sign(r.tipping_delta) * 2e-3
        beyond = r.tipping_delta + np.sign(r.tipping_delta) * 2e-3
        d = W.withdrawal_differences(fitted_model, [inside, beyond], by=r.term)
        d = d[d["level"] == r.level].sort_values("delta", key=np.abs)
        verdicts = [("higher" if x.diff_low > 0 else "lower" if x.diff_high < 0
                     else "no difference") for x in d.itertuples()]
        assert verdicts == [r.mar_conclusion, r.conclusion_after]
        assert f"{r.hazard_ratio:.2g}"[:3] in r.text or f"{r.hazard_ratio:.0f}" in r.text


def test_comparison_table_beside_the_study(fitted_model, study_cohort):
    comp = W.withdrawal_comparison(fitted_model)
    study = fb.study_table(fitted_model.cohort).reset_index()
    merged = comp.merge(study, left_on=["term", "level"], right_on=["factor", "level"])
    assert len(merged) == len(comp) - 1            # every level but "all"
    assert np.allclose(merged["excluded"] * 100, merged["percent_excluding_withdrawn"])
    rp = fb.recovery_probabilities(fitted_model, observed=False)
    m2 = comp.merge(rp, on=["term", "level"])
    assert np.abs(m2["censored_median"] - m2["median"]).max() < 1e-12
    assert (comp["never_median"] <= comp["censored_median"] + 1e-12).all()
    assert (comp["censored_median"] <= comp["always_median"] + 1e-12).all()
    assert (comp["never_median"] < comp["censored_median"])[comp["withdrawn"] > 0].all()


def test_csv_writes_delta_as_minus_inf_zero_inf(fitted_model, tmp_path):
    tab = fb.withdrawal_sensitivity(fitted_model, [-np.inf, -0.5, 0, 1, np.inf], by="sex")
    assert list(tab.columns) == W.COLUMNS
    W.to_csv(tab, tmp_path / "w.csv")
    raw = pd.read_csv(tmp_path / "w.csv", dtype=str)
    assert list(pd.unique(raw["delta"])) == ["-inf", "-0.5", "0", "1", "inf"]
    back = pd.read_csv(tmp_path / "w.csv")
    assert np.array_equal(back["delta"].to_numpy(), tab["delta"].to_numpy())


def test_bad_deltas_are_named(fitted_model, study_cohort):
    with pytest.raises(ValueError, match="not a column"):
        fb.withdrawal_sensitivity(fitted_model, {"a": [0]}, delta_by="colour")
    with pytest.raises(ValueError, match="not levels of 'treatment'"):
        fb.withdrawal_sensitivity(fitted_model, {"laser": [0]}, delta_by="treatment")
    with pytest.raises(ValueError, match="needs delta_by"):
        fb.withdrawal_sensitivity(fitted_model, {"surgery": [0]})
    with pytest.raises(ValueError, match="not factors"):
        fb.withdrawal_sensitivity(fitted_model, by="age")
    with pytest.raises(DataError, match="withdrawal sensitivity"):
        W.check_delta_by(study_cohort, {"laser": [0]}, "treatment")
    assert W.parse_deltas("-inf,-1,0,1,inf") == [-np.inf, -1, 0, 1, np.inf]
    with pytest.raises(ValueError):
        W.parse_deltas("-inf,low")
