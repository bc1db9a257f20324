"""lifelines' interval-censored datasets fitted through Cohort.from_intervals.

Slow (two nutpie compilations and fits): ``python -m pytest -m slow
tests/test_interval_datasets.py``. The references are lifelines' own interval-censored
fits (Weibull PH coefficient, Turnbull NPMLE) and the maximum-likelihood fit of the
library's likelihood; the measured values are in docs/validation.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from lifelines.datasets import load_diabetes, load_mice

import footdrop_bayes as fb

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SAMPLER = {"chains": 2, "draws": 500, "tune": 500, "progressbar": False,
           "on_convergence_failure": "ignore"}


def _example():
    sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location("ex06", EXAMPLES / "06_interval_censored.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fit(df, lower, upper, factor, reference, unit):
    cohort = fb.Cohort.from_intervals(df, lower_col=lower, upper_col=upper, factors=[factor],
                                      covariates=[], reference={factor: reference},
                                      time_unit=unit)
    return cohort, fb.RecoveryModel(cohort, sampler_config=SAMPLER).fit(random_seed=6)


@pytest.mark.slow
def test_diabetes_matches_lifelines_and_the_ml_fit():
    ex = _example()
    d = load_diabetes()
    cohort, model = _fit(d, "left", "right", "gender", "female", "year")
    draws = model.idata.posterior["log_hr_gender"].sel(gender="male")
    mle, mle_se = ex.grouped_time_mle(cohort, "gender")
    wb, wb_se = ex.weibull_ph(d.assign(male=(d["gender"] == "male") * 1.0), "left", "right",
                              "male")
    # measured: -0.141 (SD 0.079) vs ML -0.140 (SE 0.078) vs Weibull -0.129 (SE 0.078)
    assert abs(float(draws.mean()) - mle) < 0.25 * mle_se
    assert abs(float(draws.mean()) - wb) < 0.5 * wb_se
    assert 0.8 < float(draws.std()) / mle_se < 1.25
    times = cohort.grid[1:]
    curve = model.recovery_curves(times=times).mean("patient").mean(("chain", "draw"))
    turnbull = ex.turnbull(d, "left", "right", times)
    assert np.abs(curve.values - turnbull).max() < 0.03        # measured 0.007


@pytest.mark.slow
def test_mice_current_status_matches_the_weibull_ph_coefficient():
    ex = _example()
    m = load_mice()
    cohort, model = _fit(m, "l", "u", "grp", "ce", "day")
    draws = model.idata.posterior["log_hr_grp"].sel(grp="ge")
    wb, wb_se = ex.weibull_ph(m.assign(ge=(m["grp"] == "ge") * 1.0), "l", "u", "ge")
    mle, mle_se = ex.grouped_time_mle(cohort, "grp")
    # measured: 0.793 (SD 0.334) vs Weibull 0.786 (SE 0.336) vs ML 0.652 (SE 0.405)
    assert abs(float(draws.mean()) - wb) < 0.5 * wb_se
    assert abs(float(draws.mean()) - mle) < 0.75 * mle_se
    assert float(draws.mean()) > 0
