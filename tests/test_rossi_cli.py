"""Acceptance: Rossi's data as weekly visits through the command line (issue 14).

Seven numeric covariates, ``fit --covariates fin,age,race,wexp,mar,paro,prio``: the full
report is written, and (slow, real draws) every Bayesian hazard ratio lies within 0.35
standard errors of the Cox (Efron) coefficient, which lifelines and R's ``coxph`` share
(Fox & Weisberg's values: fin -0.379, age -0.0574, race 0.314, wexp -0.150, mar -0.434,
paro -0.0849, prio 0.0915).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi

from footdrop_bayes.cli import main
from footdrop_bayes.datasets import ROSSI_COVARIATES, load_rossi_visits
from test_report import CHECKER

#: R's coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, rossi)
R_COXPH = {"fin": -0.37942, "age": -0.05744, "race": 0.31390, "wexp": -0.14980,
           "mar": -0.43370, "paro": -0.08487, "prio": 0.09150}


@pytest.fixture(scope="module")
def rossi_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rossi")
    visits, patients = load_rossi_visits()
    visits.to_csv(folder / "visits.csv", index=False)
    patients.to_csv(folder / "patients.csv", index=False)
    return folder


def fit_rossi(folder, out, *sampler):
    return main(["--quiet", "fit", "--visits", str(folder / "visits.csv"), "--patients",
                 str(folder / "patients.csv"), "--time-col", "week", "--covariates",
                 ",".join(ROSSI_COVARIATES), "--out", str(out), "--seed", "1", *sampler])


def test_weekly_visits_reproduce_the_rossi_durations():
    visits, patients = load_rossi_visits()
    r = load_rossi()
    last = visits.groupby("patient_id", sort=True)["week"].max().to_numpy()
    np.testing.assert_array_equal(last, r["week"].to_numpy())
    arrested = visits.groupby("patient_id", sort=True)["recovered"].any().to_numpy()
    np.testing.assert_array_equal(arrested, r["arrest"].to_numpy().astype(bool))
    assert list(patients.columns) == ["patient_id", *ROSSI_COVARIATES]


def test_lifelines_matches_r_coxph():
    r = load_rossi()
    cph = CoxPHFitter().fit(r[["week", "arrest", *ROSSI_COVARIATES]], "week", "arrest")
    np.testing.assert_allclose(cph.params_[list(R_COXPH)], list(R_COXPH.values()),
                               atol=6e-5)


def _check_folder(out):
    if CHECKER.exists():
        res = subprocess.run([sys.executable, str(CHECKER), str(out)],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stdout
    report = (out / "report.md").read_text()
    assert "could not be produced" not in report
    assert "no level-wise recovery table" in report
    hrs = pd.read_csv(out / "hazard_ratios.csv")
    assert sorted(hrs["term"]) == sorted(ROSSI_COVARIATES)
    figures = {p.stem for p in (out / "figures").glob("*.pdf")}
    assert {"kaplan_meier", "forest", "factor_ranking", "posterior_curves"} <= figures
    return hrs


@pytest.mark.slow       # a new model structure and seven panels of figures: ~2 min
def test_rossi_cli_writes_the_full_report_fast(rossi_files, tmp_path):
    out = tmp_path / "results"
    assert fit_rossi(rossi_files, out, "--chains", "2", "--draws", "50", "--tune",
                     "50") == 0
    _check_folder(out)


@pytest.mark.slow
def test_rossi_bayesian_hazard_ratios_within_035_se_of_coxph(rossi_files, tmp_path):
    out = tmp_path / "results"
    assert fit_rossi(rossi_files, out) == 0          # defaults: 4 chains x 1000 draws
    hrs = _check_folder(out).set_index("term")
    r = load_rossi()
    cph = CoxPHFitter().fit(r[["week", "arrest", *ROSSI_COVARIATES]], "week", "arrest")
    z = (np.log(hrs.loc[ROSSI_COVARIATES, "hr_median"]) - cph.params_[ROSSI_COVARIATES]) \
        / cph.standard_errors_[ROSSI_COVARIATES]
    print("\n" + pd.DataFrame({"bayes_log_hr": np.log(hrs.loc[ROSSI_COVARIATES,
                                                              "hr_median"]),
                               "coxph": cph.params_[ROSSI_COVARIATES],
                               "se": cph.standard_errors_[ROSSI_COVARIATES],
                               "z": z}).to_string())
    assert (z.abs() < 0.35).all(), z.to_dict()
    import json
    diag = json.loads((out / "diagnostics.json").read_text())
    assert diag["divergences"] == 0 and diag["converged"]
