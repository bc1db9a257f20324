"""Smooth terms (issue 11): bases, range checks, partial effects, hazard ratios between
values, g-computation at values, importance, the figure - each against a brute-force or
library oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.model import priors
from footdrop_bayes.model.smooth import build_basis, hsgp_eigenfunctions
from footdrop_bayes.summaries import smooth as ss


def _cfg(**kw):
    return priors.model_config(kw)


@pytest.mark.parametrize("kind", ["pspline", "hsgp"])
def test_basis_centred_and_detrended_over_cohort(kind):
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(45, 15, 400))
    b = build_basis("age", x, x.mean(), x.std(ddof=1), _cfg(smooth_basis=kind))
    d = b.design(x)
    assert d.shape == (400, b.size)
    # averages zero over the cohort (identified against the baseline hazard) ...
    np.testing.assert_allclose(d.mean(axis=0), 0, atol=1e-10)
    # ... and carries no linear trend (the linear part is beta's)
    np.testing.assert_allclose((x - x.mean()) @ d, 0, atol=1e-8)
    # a non-degenerate basis: full column rank
    assert np.linalg.matrix_rank(d) == b.size


def test_hsgp_basis_matches_pymc():
    from pymc.gp.hsgp_approx import calc_eigenvalues, calc_eigenvectors

    xs = np.linspace(-1.3, 1.7, 25)
    L, m = 2.5, 9
    ev = calc_eigenvalues(np.array([L]), [m])
    ref = calc_eigenvectors(xs[:, None], np.array([L]), ev, [m]).eval()
    np.testing.assert_allclose(hsgp_eigenfunctions(xs, L, m), ref, rtol=1e-10, atol=1e-12)


def test_pspline_penalty_null_space_is_constant_and_linear():
    # the RW2 penalty's null space (dropped: held by the intercept and beta) is exactly
    # the B-spline coefficients of lines: B-splines reproduce linear functions
    x = np.linspace(0, 10, 200)
    b = build_basis("x", x, 5.0, 2.0, _cfg(smooth_k=8))
    t = b.params["transform"]
    assert t.shape == (8, 6)
    line = np.arange(8.0)
    # penalised directions are orthogonal to constant and linear coefficient sequences
    np.testing.assert_allclose(t.T @ np.ones(8), 0, atol=1e-10)
    np.testing.assert_allclose(t.T @ line, 0, atol=1e-9)


def test_out_of_range_values_refused(smooth_model):
    prof = smooth_model.cohort.covariates[["cause", "age", "delay"]].iloc[:3].copy()
    prof["age"] = [30.0, 200.0, 45.0]
    with pytest.raises(fb.DataError, match=r"'age'.*outside the range"):
        smooth_model.linear_predictor(prof)
    with pytest.raises(fb.DataError, match="outside the range"):
        ss.term_log_hr(smooth_model, "age", [-5.0])


def test_smooth_argument_checked(study_cohort):
    with pytest.raises(fb.DataError, match="smooth term must be a numeric covariate"):
        fb.RecoveryModel(study_cohort, smooth=["sex"])
    m = fb.RecoveryModel(study_cohort, covariates=["delay"], smooth="age")
    assert m.covariates == ["delay", "age"] and m.smooth == ["age"]


def test_compiled_structure_depends_on_smooth(study_cohort):
    from footdrop_bayes.model.compile_cache import structure_key

    keys = set()
    for smooth, kind in ((None, "pspline"), (["age"], "pspline"), (["age"], "hsgp")):
        m = fb.RecoveryModel(study_cohort, smooth=smooth,
                             model_config={"smooth_basis": kind})
        keys.add(structure_key(m.data, m.model_config, {}, "numba"))
    assert len(keys) == 3


def test_hsgp_spectral_density_matches_pymc():
    # the coefficient scale sqrt(S(omega_j)) written in smooth_effects, against PyMC's
    import pymc as pm
    import pytensor.tensor as pt

    from footdrop_bayes.model.smooth import hsgp_sqrt_lambda

    ell, amp = 0.8, 0.6
    omega = hsgp_sqrt_lambda(2.4, 10)
    ref = amp ** 2 * pm.gp.cov.ExpQuad(1, ls=ell).power_spectral_density(
        pt.as_tensor(omega[:, None])).eval()
    ours = (amp * np.sqrt(np.sqrt(2 * np.pi) * ell * np.exp(-0.5 * (ell * omega) ** 2))) ** 2
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


@pytest.mark.slow
def test_hsgp_model_gradient_finite(study_cohort, kind="hsgp"):
    # (the P-spline model is sampled by the smooth_model fixture)
    m = fb.RecoveryModel(study_cohort, smooth=["age", "delay"],
                         model_config={"smooth_basis": kind})
    model = m.model
    assert "smooth_age" in model.named_vars and "sigma_smooth_delay" in model.named_vars
    ip = model.initial_point()
    assert ip["smooth_age_z"].shape == (m.data.smooth["age"].size,)
    # Python-mode compilation (seconds, not the C compiler's minute)
    grad = model.compile_dlogp(mode="FAST_COMPILE")(ip)
    assert np.all(np.isfinite(grad)) and np.isfinite(
        model.compile_logp(mode="FAST_COMPILE")(ip))


def test_partial_effects_match_linear_predictor(smooth_model):
    m = smooth_model
    pe = ss.partial_effects(m)
    assert list(pe.columns[:5]) == ["term", "value", "log_hr_median", "log_hr_low",
                                    "log_hr_high"]
    for t in ("age", "delay"):
        rows = pe[pe["term"] == t]
        x = m.cohort.covariates[t]
        assert len(rows) >= 50
        assert rows["value"].min() == x.min() and rows["value"].max() == x.max()
        assert (rows["log_hr_low"] <= rows["log_hr_median"]).all()
        assert (rows["log_hr_median"] <= rows["log_hr_high"]).all()
    # oracle: eta of profiles differing only in age, against the cohort median, per draw
    ref = float(np.median(m.cohort.covariates["age"]))
    values = np.array([20.0, 35.0, 60.0])
    prof = pd.DataFrame({"cause": "trauma", "delay": 1.5, "age": np.append(values, ref)})
    eta = m.linear_predictor(prof).values
    brute = eta[..., :-1] - eta[..., -1:]
    np.testing.assert_allclose(ss.term_log_hr(m, "age", values).values, brute,
                               atol=1e-10)


def test_inverted_u_shape_seen(smooth_model):
    # 300 patients, 300 draws: the curve bends down on both sides of 40 (a weak check;
    # the real-size coverage is the slow validation)
    lhr = ss.term_log_hr(smooth_model, "age", [20.0, 40.0, 75.0]).median(("chain", "draw"))
    assert lhr.sel(value=40.0) > lhr.sel(value=20.0)
    assert lhr.sel(value=40.0) > lhr.sel(value=75.0)


def test_hazard_ratios_at_values(smooth_model):
    m = smooth_model
    hr = fb.hazard_ratios(m, at={"age": [30, 50, 70]})
    rows = hr[hr["term"] == "age"]
    assert list(rows["level"]) == ["50", "70"] and set(rows["reference"]) == {"30"}
    lhr = ss.term_log_hr(m, "age", [50.0, 70.0], reference=30.0)
    np.testing.assert_allclose(rows["hr_median"],
                               np.exp(lhr.quantile(0.5, ("chain", "draw")).values),
                               rtol=1e-10)
    np.testing.assert_allclose(rows["p_direction"], (lhr > 0).mean(("chain", "draw")))
    # without at=, the smooth delay gets percentile rows against its median (no per-unit
    # row: its hazard ratio depends on the values compared)
    d = hr[hr["term"] == "delay"]
    assert len(d) == 4 and d["level"].notna().all()
    with pytest.raises(ValueError, match="smooth terms"):
        fb.hazard_ratios(m, per={"age": 10})


def test_recovery_at_values_is_g_computation(smooth_model):
    m = smooth_model
    t_end = 6.0
    out = fb.recovery_at(m, at={"age": [30, 60]}, times=[t_end])
    assert list(out["value"]) == [30.0, 60.0]
    for v in (30.0, 60.0):
        data = m.cohort.covariates[["cause", "age", "delay"]].assign(age=v)
        brute = m.recovery_curves(data, times=[t_end]).mean("patient")
        med = float(brute.median(("chain", "draw")).values.ravel()[0])
        got = out.loc[out["value"] == v, "recovery_median"].item()
        assert got == pytest.approx(med, abs=1e-10)


def test_smooth_importance_is_sd_of_contribution(smooth_model):
    m = smooth_model
    x = m.cohort.covariates[["cause", "age", "delay"]]
    ref = x.assign(age=float(np.median(x["age"])))
    contrib = m.linear_predictor(x).values - m.linear_predictor(ref).values
    brute = contrib.std(axis=-1)                           # ddof=0, across patients
    imp = fb.summaries.importance(m).sel(term="age").values
    np.testing.assert_allclose(imp, brute, rtol=1e-8, atol=1e-10)
    ranking = fb.factor_ranking(m)
    assert set(ranking["term"]) == {"cause", "age", "delay"}


def test_smooth_terms_table(smooth_model):
    t = fb.summaries.smooth_terms_table(smooth_model)
    assert list(t["term"]) == ["age", "delay"]
    assert (t["basis"] == "pspline").all() and (t["sigma_low"] < t["sigma_high"]).all()


def test_save_load_keeps_smooth(smooth_model, tmp_path):
    path = tmp_path / "smooth.nc"
    smooth_model.save(path)
    back = fb.RecoveryModel.load(path)
    assert back.smooth == ["age", "delay"]
    a = ss.partial_effects(smooth_model, ["age"])
    b = ss.partial_effects(back, ["age"])
    np.testing.assert_allclose(a["log_hr_median"], b["log_hr_median"], atol=1e-10)


def test_partial_effect_figure(smooth_model):
    import matplotlib.pyplot as plt

    pe = ss.partial_effects(smooth_model, ["age"])
    obs = smooth_model.cohort.covariates["age"]
    fig = fb.plots.plot_partial_effect(pe, "age", observed=obs, unit="years")
    ax = fig.axes[0]
    assert len(ax.collections) == 1                        # the band
    med = ax.lines[0]
    np.testing.assert_allclose(med.get_ydata(), pe["log_hr_median"])
    assert ax.get_xlim() == (obs.min(), obs.max())
    assert "Age" in ax.get_xlabel()
    with pytest.raises(ValueError, match="no partial-effect rows"):
        fb.plots.plot_partial_effect(pe, "delay")
    plt.close(fig)


def test_smooth_blocks_state_their_parameterisation(smooth_model):
    """The diagnostics table says how each smooth term's coefficients are written (the
    per-coefficient centring rule), as it does for factors and clinics."""
    from footdrop_bayes.model.blocks import block_diagnostics
    from footdrop_bayes.model.smooth import smooth_parameterization

    expected = smooth_parameterization(smooth_model.data)
    assert set(expected) == {"smooth age", "smooth delay"}
    table = block_diagnostics(smooth_model.idata)
    for block, how in expected.items():
        mask = smooth_model.data.smooth[block.split()[1]].params["centred"]
        k = int(np.sum(mask))
        assert how == ("centred" if k == len(mask) else "non-centred" if k == 0
                       else f"{k} of {len(mask)} coefficients centred")
        assert table.loc[block, "parameterization"] == how
