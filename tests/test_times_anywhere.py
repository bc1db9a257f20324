"""Probabilities at any time within follow-up (issue 14, point 3), against plain loops."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from footdrop_bayes.summaries import level_recovery_draws, recovery_probabilities

TIMES = [0.4, 2.5, 3.0, 5.75]


def direct_h0(alpha: np.ndarray, grid: np.ndarray, t: float) -> np.ndarray:
    """H0(t) by walking the grid intervals one by one (constant hazard inside each)."""
    h = np.zeros(alpha.shape[:-1])
    for k in range(1, len(grid)):
        lo, hi = grid[k - 1], grid[k]
        if t <= lo:
            break
        h = h + np.exp(alpha[..., k - 1]) * (min(t, hi) - lo)
    return h


def direct_cohort_curve(model, t: float, factor=None, level=None) -> np.ndarray:
    """Per draw, the average over patients of 1 - exp(-H0(t) exp(eta_i)): plain numpy."""
    post = model.idata.posterior
    cov = model.cohort.covariates
    h0 = direct_h0(post["alpha"].values, model.cohort.grid, t)
    total = np.zeros(h0.shape)
    for pid in cov.index:
        eta = np.zeros(h0.shape)
        for f in model.factors:
            lv = level if f == factor else str(cov.loc[pid, f])
            eta += post[f"b_{f}"].sel({f: lv}).values
        for c in model.covariates:
            mean = model.covariate_scaling.loc[c, "mean"]
            eta += post["beta"].sel(covariate=c).values * (cov.loc[pid, c] - mean)
        total += -np.expm1(-h0 * np.exp(eta))
    return total / len(cov)


def test_probabilities_between_visits_match_a_direct_computation(fitted_model):
    df = recovery_probabilities(fitted_model, times=TIMES)
    lo, hi = 0.025, 0.975
    for t in TIMES:
        row = df[(df["term"] == "all") & np.isclose(df["time"], t)].iloc[0]
        d = direct_cohort_curve(fitted_model, t).ravel()
        np.testing.assert_allclose([row["median"], row["low"], row["high"]],
                                   np.quantile(d, [0.5, lo, hi]), rtol=1e-9)
    f = fitted_model.factors[0]
    level = fitted_model.cohort.covariates[f].cat.categories[1]
    draws = level_recovery_draws(fitted_model, terms=[f], times=[2.5])[f]
    np.testing.assert_allclose(draws.sel({f: str(level)}).values[..., 0],
                               direct_cohort_curve(fitted_model, 2.5, f, str(level)),
                               rtol=1e-9)


def test_curve_is_strictly_between_its_visit_values(fitted_model):
    df = recovery_probabilities(fitted_model, times=[2.0, 2.5, 3.0], observed=False)
    m = df[df["term"] == "all"].set_index("time")["median"]
    assert m[2.0] < m[2.5] < m[3.0]


def test_kaplan_meier_is_a_step_function_between_visits(fitted_model):
    cohort = fitted_model.cohort
    df = recovery_probabilities(fitted_model, times=[2.0, 2.5, 2.999])
    rows = df[df["term"] == "all"].set_index("time")
    kmf = KaplanMeierFitter().fit(cohort.duration, cohort.intervals["event"])
    for t in (2.0, 2.5, 2.999):
        assert rows.loc[t, "km"] == pytest.approx(1 - float(kmf.predict(t)))
    assert rows.loc[2.5, "km"] == rows.loc[2.0, "km"] == rows.loc[2.999, "km"]


def test_recovery_curves_accept_any_time_in_follow_up(fitted_model):
    curves = fitted_model.recovery_curves(times=[0.0, 2.5, 6.0])
    tdim = fitted_model.cohort.time_unit
    assert float(curves.isel({tdim: 0}).max()) == 0.0
    h0 = direct_h0(fitted_model.idata.posterior["alpha"].values, fitted_model.cohort.grid,
                   2.5)
    eta = fitted_model.linear_predictor().values
    np.testing.assert_allclose(curves.isel({tdim: 1}).values,
                               -np.expm1(-h0[..., None] * np.exp(eta)), rtol=1e-12)


@pytest.mark.parametrize("bad", [[7.5], [0.0], [-1.0], [np.nan], [2.0, 6.5]])
def test_times_outside_follow_up_name_the_valid_range(fitted_model, bad):
    with pytest.raises(ValueError) as exc:
        recovery_probabilities(fitted_model, times=bad)
    msg = str(exc.value)
    assert "(0, 6] months" in msg
    assert "[0.0, 1.0, 2.0" not in msg             # never a dump of the grid
    with pytest.raises(ValueError, match=r"\[0, 6\] months"):
        fitted_model.recovery_curves(times=[6.5])


def test_curve_plot_takes_a_fine_time_grid(fitted_model):
    import matplotlib.pyplot as plt

    from footdrop_bayes import plots

    f = fitted_model.factors[0]
    times = np.linspace(0.25, 6.0, 24)
    draws = level_recovery_draws(fitted_model, terms=[f], times=times)[f]
    fig = plots.plot_posterior_recovery(draws, facets=False)
    ax = fig.axes[0]
    line = next(ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("posterior:"))
    np.testing.assert_allclose(line.get_xdata(), np.r_[0.0, times])
    plt.close(fig)
