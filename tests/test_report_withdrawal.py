"""The withdrawal sensitivity analysis in the output folder, report.md, figure and CLI."""

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.analysis import analyse
from footdrop_bayes.cli import main
from footdrop_bayes.report import write_report
from test_cli import error_of, fit_args, simulated  # noqa: F401  (fixture)
from test_report import CHECKER


@pytest.fixture(scope="module")
def analysis(fitted_model):
    return analyse(fitted_model.cohort, model=fitted_model, say=lambda m: None,
                   withdrawal=True)


@pytest.fixture(scope="module")
def out_folder(analysis, tmp_path_factory):
    out = tmp_path_factory.mktemp("withdrawal") / "results"
    write_report(analysis, out, say=lambda m: None)
    return out


def test_folder_holds_the_tables_and_passes_the_contract(out_folder, analysis):
    for name in ("withdrawal_sensitivity", "withdrawal_differences",
                 "withdrawal_tipping_points", "withdrawal_comparison"):
        assert (out_folder / f"{name}.csv").is_file()
    raw = pd.read_csv(out_folder / "withdrawal_sensitivity.csv", dtype=str)
    assert list(raw.columns) == ["delta", "term", "level", "time", "median", "low", "high"]
    assert {"-inf", "0", "inf"} <= set(raw["delta"])
    back = pd.read_csv(out_folder / "withdrawal_sensitivity.csv")
    assert np.allclose(back["median"], analysis.withdrawal.table["median"])
    assert (out_folder / "figures" / "withdrawal_sensitivity.png").is_file()
    assert (out_folder / "figures" / "withdrawal_sensitivity.pdf").is_file()
    if CHECKER.exists():
        res = subprocess.run([sys.executable, str(CHECKER), str(out_folder)],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stdout


def test_report_names_the_tipping_point(out_folder, analysis):
    text = (out_folder / "report.md").read_text()
    assert "## Withdrawal sensitivity" in text
    assert "figures/withdrawal_sensitivity.png" in text
    tips = analysis.withdrawal.tipping
    found = tips[tips["tipping_delta"].notna()]
    assert len(found)
    for r in found.itertuples():
        assert r.text in text
        assert f"delta = {r.tipping_delta:.2f}" in text
    n_w = int(analysis.cohort.counts()["withdrawn"])
    assert f"{n_w} of {analysis.cohort.n_patients} patients withdrew" in text


def test_off_by_default():
    import inspect

    from footdrop_bayes.report import run_analysis

    for func in (analyse, run_analysis):
        assert inspect.signature(func).parameters["withdrawal"].default is False


def test_a_failing_sensitivity_analysis_keeps_the_fit(fitted_model, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("no")

    monkeypatch.setattr(fb.summaries, "withdrawal_analysis", boom)
    with pytest.warns(UserWarning, match="withdrawal sensitivity analysis failed"):
        a = analyse(fitted_model.cohort, model=fitted_model, say=lambda m: None,
                    withdrawal=True)
    assert a.withdrawal is None and a.recovery is not None


def test_figure_on_given_axes(analysis):
    w = analysis.withdrawal
    fig, axes = plt.subplots(1, 2)
    out = fb.plots.plot_withdrawal_sensitivity(w.table, w.differences, w.tipping,
                                               terms=["cause"], ax=axes)
    assert out is fig
    # the probability panel: one line per level, drawn at the grid's deltas
    lines = [ln for ln in axes[0].get_lines() if ln.get_marker() == "o"]
    assert len(lines) == 3
    assert len(lines[0].get_xdata()) == len(np.unique(w.table["delta"]))
    labels = [t.get_text() for t in axes[0].get_xticklabels()]
    assert labels[0] == "−∞" and labels[-1] == "+∞"
    # tipping points of cause are marked on the difference panel
    tips = w.tipping[(w.tipping["term"] == "cause") & w.tipping["tipping_delta"].notna()]
    texts = [t.get_text() for t in axes[1].texts]
    assert sum("tipping point" in t for t in texts) == len(tips)
    plt.close(fig)


def test_cli_passes_the_options(simulated, tmp_path, monkeypatch, capsys):  # noqa: F811
    seen = {}

    def fake(cohort, out, **kwargs):
        seen.update(kwargs)

    monkeypatch.setattr("footdrop_bayes.report.run_analysis", fake)
    assert main(fit_args(simulated, tmp_path / "a", "--withdrawal-sensitivity",
                         "--deltas=-inf,-1,0,1,inf")) == 0
    assert seen["withdrawal"] is True
    assert seen["deltas"] == [-np.inf, -1, 0, 1, np.inf]
    seen.clear()
    assert main(fit_args(simulated, tmp_path / "b", "--withdrawal-sensitivity",
                         "--delta-by", "treatment=surgery", "--deltas=-2,0")) == 0
    assert seen["delta_by"] == "treatment" and seen["deltas"] == {"surgery": [-2, 0]}
    seen.clear()
    assert main(fit_args(simulated, tmp_path / "c")) == 0
    assert "withdrawal" not in seen


def test_cli_bad_options_fail_before_fitting(simulated, tmp_path, capsys):  # noqa: F811
    line = error_of(capsys, *fit_args(simulated, tmp_path / "o", "--deltas=-1,0"))
    assert "need --withdrawal-sensitivity" in line
    line = error_of(capsys, *fit_args(simulated, tmp_path / "o", "--withdrawal-sensitivity",
                                      "--delta-by", "treatment=laser"))
    assert "laser" in line and "treatment" in line
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit) as exc:
        main(fit_args(simulated, tmp_path / "o", "--withdrawal-sensitivity",
                      "--deltas=-inf,low"))
    assert exc.value.code == 2
