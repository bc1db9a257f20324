"""The time-varying part of the analysis: output folder, report section, figures, CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.analysis import analyse
from footdrop_bayes.cli import main
from footdrop_bayes.report import write_report
from test_cli import error_of
from test_report import CHECKER


@pytest.fixture(scope="module")
def analysis(tv_model):
    return analyse(tv_model.cohort, model=tv_model, say=lambda m: None)


@pytest.fixture(scope="module")
def out_folder(analysis, tmp_path_factory):
    out = tmp_path_factory.mktemp("tv") / "results"
    write_report(analysis, out, say=lambda m: None, figures=False)   # figures: below
    return out


def test_folder_holds_the_time_varying_tables(out_folder, analysis):
    hrs = pd.read_csv(out_folder / "hazard_ratios.csv")
    row = hrs[hrs["term"] == "treatment"]
    assert row[["level", "reference"]].values.tolist() == [["surgery", "conservative"]]
    draws = analysis.model.idata.posterior["log_hr_treatment"].sel(treatment="surgery")
    assert row["hr_median"].item() == pytest.approx(float(np.exp(np.median(draws.values))))
    regimes = pd.read_csv(out_folder / "time_varying_regimes.csv")
    assert {"as observed", "never switch"} <= set(regimes["regime"])
    assert regimes["median"].between(0, 1).all()
    cox = pd.read_csv(out_folder / "time_varying_cox.csv")
    assert "treatment" in set(cox["term"])
    paths = pd.read_csv(out_folder / "time_varying_paths.csv")
    assert list(paths.columns) == ["patient", "variable", "start", "stop", "value"]
    # the folder contract (figures included) is checked on a whole CLI run (slow test)


def test_report_section_states_the_confounding_problem(out_folder, analysis):
    text = (out_folder / "report.md").read_text()
    assert "## Treatment that changes at visits: treatment" in text
    assert "Confounding by indication" in text
    assert "inverse-probability-of-treatment weights" in text
    hr = analysis.time_varying.hazard_ratios.iloc[0]
    assert f"{hr['hr_median']:.2f} ({hr['hr_low']:.2f}–{hr['hr_high']:.2f})" in text


def test_figures_draw_and_no_section_without_time_varying_terms(analysis):
    import matplotlib.pyplot as plt

    from footdrop_bayes.report_time_varying import time_varying_drawers, time_varying_section

    drawers = time_varying_drawers(analysis)
    assert set(drawers) == {"swimmer", "regime_curves"}
    fig = drawers["regime_curves"][0]()
    assert len(fig.axes[0].lines) == analysis.time_varying.regimes["regime"].nunique()
    plt.close(fig)
    captions = {stem: caption for stem, (_, caption) in drawers.items()}
    assert "figures/swimmer.png" in "\n".join(time_varying_section(analysis, captions))
    without = type("A", (), {"time_varying": None})()
    assert time_varying_section(without, {}) == [] and time_varying_drawers(without) == {}


def test_cli_options_are_checked(tmp_path, capsys):
    visits, patients, _ = fb.simulate_cohort(40, switching="random", random_seed=2)
    visits.to_csv(tmp_path / "visits.csv", index=False)
    patients.to_csv(tmp_path / "patients.csv", index=False)
    base = ["describe", "--visits", str(tmp_path / "visits.csv"), "--patients",
            str(tmp_path / "patients.csv")]
    assert "--time-varying" in error_of(capsys, *base, "--lag", "1")
    assert "'drug'" in error_of(capsys, *base, "--time-varying", "drug")
    assert main(["--quiet", *base, "--time-varying", "treatment", "--lag", "1"]) == 0


def test_cli_simulates_switching(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["--quiet", "simulate", "--patients", "50", "--seed", "3", "--switching",
                 "non-recovery", "--out", str(out)]) == 0
    visits = pd.read_csv(out / "visits.csv")
    assert set(visits["treatment"]) == {"conservative", "surgery"}
    assert main(["--quiet", "describe", "--visits", str(out / "visits.csv"), "--patients",
                 str(out / "patients.csv"), "--time-varying", "treatment"]) == 0


@pytest.mark.slow
def test_cli_fit_with_time_varying_treatment_passes_the_contract(tmp_path):
    visits, patients, _ = fb.simulate_cohort(200, switching="random", random_seed=3)
    visits.to_csv(tmp_path / "visits.csv", index=False)
    patients.to_csv(tmp_path / "patients.csv", index=False)
    out = tmp_path / "results"
    assert main(["--quiet", "fit", "--visits", str(tmp_path / "visits.csv"), "--patients",
                 str(tmp_path / "patients.csv"), "--factors", "sex", "--covariates", "age",
                 "--time-varying", "treatment", "--lag", "1", "--draws", "150", "--tune",
                 "150", "--chains", "2", "--out", str(out)]) == 0
    for stem in ("swimmer", "regime_curves"):
        assert (out / "figures" / f"{stem}.png").is_file()
    assert "every change delayed by 1 visit" in (out / "report.md").read_text()
    if CHECKER.exists():
        res = subprocess.run([sys.executable, str(CHECKER), str(out)], capture_output=True,
                             text=True)
        assert res.returncode == 0, res.stdout
