"""Smooth terms through analyse(), the output folder, report.md, figures and the CLI."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.analysis import analyse
from footdrop_bayes.report import write_report
from test_cli import error_of, fit_args, simulated  # noqa: F401  (fixture)
from test_report import CHECKER


@pytest.fixture(scope="module")
def analysis(smooth_model):
    # the shared fit; the LOO refits are the slow test's
    return analyse(smooth_model.cohort, model=smooth_model, say=lambda m: None,
                   smooth_at={"age": [30, 50, 70]}, smooth_comparison=False)


@pytest.fixture(scope="module")
def out_folder(analysis, tmp_path_factory):
    # tables and report.md; the figures other than the partial effects are the other
    # report tests' (rendering them all again costs ~30 s)
    from footdrop_bayes.plots import save_figure
    from footdrop_bayes.report_smooth import smooth_drawers

    out = tmp_path_factory.mktemp("smooth") / "results"
    write_report(analysis, out, say=lambda m: None, figures=False)
    for stem, (draw, _) in smooth_drawers(analysis).items():
        save_figure(draw(), stem, directory=out / "figures")
    return out


def test_folder_holds_smooth_tables_and_passes_the_contract(out_folder, analysis):
    pe = pd.read_csv(out_folder / "partial_effects.csv")
    assert list(pe.columns[:5]) == ["term", "value", "log_hr_median", "log_hr_low",
                                    "log_hr_high"]
    assert pe.groupby("term").size().min() >= 50
    np.testing.assert_allclose(pe["log_hr_median"], analysis.smooth.partial["log_hr_median"])
    rec = pd.read_csv(out_folder / "smooth_recovery.csv")
    assert list(rec["value"]) == [30.0, 50.0, 70.0]
    assert not (out_folder / "smooth_comparison.csv").exists()
    for t in ("age", "delay"):
        assert (out_folder / "figures" / f"partial_{t}.png").is_file()
        assert (out_folder / "figures" / f"partial_{t}.pdf").is_file()
    if CHECKER.exists():         # shared/tools beside the checkout (CI, the project)
        res = subprocess.run([sys.executable, str(CHECKER), str(out_folder)],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr


def test_report_section_names_the_smooth_terms(out_folder, analysis):
    text = (out_folder / "report.md").read_text()
    sec = text.split("## Smooth (non-linear) effects", 1)[1].split("\n## ", 1)[0]
    assert "Smooth terms: age, delay" in sec and "P-spline" in sec
    hr = analysis.hazard_ratios
    row = hr[(hr["term"] == "age") & (hr["level"] == "70")].iloc[0]
    assert f"| age | 70 | 30 | {row.hr_median:.2f} |" in sec
    assert "not run" in sec
    from footdrop_bayes.report_smooth import smooth_drawers, smooth_section

    captions = {stem: cap for stem, (_, cap) in smooth_drawers(analysis).items()}
    with_figs = "\n".join(smooth_section(analysis, captions))
    assert "figures/partial_age.png" in with_figs and "figures/partial_delay.png" in with_figs
    assert "failed" not in sec
    # the ranking holds the smooth terms beside the factor
    assert set(analysis.ranking["term"]) == {"cause", "age", "delay"}


def test_cli_smooth_options_checked(simulated, tmp_path, capsys):  # noqa: F811
    line = error_of(capsys, *fit_args(simulated, tmp_path / "a", "--smooth", "sex"))
    assert "--smooth" in line and "sex" in line
    line = error_of(capsys, *fit_args(simulated, tmp_path / "b", "--smooth-at",
                                      "age=30,50"))
    assert "need --smooth" in line
    line = error_of(capsys, *fit_args(simulated, tmp_path / "c", "--smooth", "age",
                                      "--smooth-at", "nope=1,2"))
    assert "--smooth-at" in line and "nope" in line


def test_comparison_words():
    from footdrop_bayes.report_smooth import comparison_words

    c = pd.DataFrame({"term": ["age", "delay", "all"], "elpd_diff": [10.0, 1.0, -9.0],
                      "se_diff": [2.0, 2.0, 3.0]})
    words = comparison_words(c)
    assert "supported" in words[0] and "do not distinguish" in words[1]
    assert "line predicts better" in words[2]


@pytest.mark.slow
def test_cli_smooth_end_to_end_with_loo(tmp_path, capsys):
    from footdrop_bayes.cli import main
    from footdrop_bayes.simulate_smooth import inverted_u, simulate_smooth_cohort

    v, p, _ = simulate_smooth_cohort(400, curves={"age": inverted_u(40, 15, 1.0)},
                                     random_seed=3)
    v.to_csv(tmp_path / "visits.csv", index=False)
    p[["patient_id", "age", "delay", "cause"]].to_csv(tmp_path / "patients.csv", index=False)
    out = tmp_path / "results"
    code = main(["--quiet", *fit_args(tmp_path, out, "--draws", "300", "--tune", "300",
                                      "--chains", "2", "--smooth", "age",
                                      "--smooth-at", "age=30,50,70")])
    assert code == 0
    comp = pd.read_csv(out / "smooth_comparison.csv")
    assert list(comp["term"]) == ["age"]
    # the inverted U is strong: the curve must beat the line by more than 2 SE
    assert comp["elpd_diff"].iloc[0] > 2 * comp["se_diff"].iloc[0]
    text = (out / "report.md").read_text()
    assert "the curvature is supported" in text
    res = subprocess.run([sys.executable, str(CHECKER), str(out)], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    # the saved posterior reloads with its smooth term
    assert fb.RecoveryModel.load(out / "posterior.nc").smooth == ["age"]
