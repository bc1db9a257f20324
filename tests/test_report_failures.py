"""No fit is ever lost (issue 14, point 7): failing figures, sections and folders."""

from __future__ import annotations

import warnings

import pytest

import footdrop_bayes.report as report
import footdrop_bayes.report_text as report_text
from footdrop_bayes import RecoveryModel, plots
from footdrop_bayes.cli import main
from footdrop_bayes.errors import OutputWarning
from footdrop_bayes.report import write_report
from test_report import CHECKER


def _boom(*args, **kwargs):
    raise RuntimeError("boom")


@pytest.fixture(scope="module")
def broken_forest(analysis, tmp_path_factory):
    """The shared analysis written with a forest plot that raises."""
    out = tmp_path_factory.mktemp("broken") / "results"
    mp = pytest.MonkeyPatch()
    mp.setattr(plots, "plot_hazard_ratios", _boom)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            write_report(analysis, out, say=lambda m: None)
    finally:
        mp.undo()
    return out, [w for w in caught if issubclass(w.category, OutputWarning)]


def test_failing_figure_is_named_and_everything_else_stays(broken_forest):
    out, caught = broken_forest
    text = (out / "report.md").read_text()
    assert "figure 'forest' could not be produced (RuntimeError: boom)" in text
    assert not list((out / "figures").glob("forest.*"))
    for stem in ("kaplan_meier", "factor_ranking", "posterior_curves", "trace"):
        assert (out / "figures" / f"{stem}.png").is_file()
        assert (out / "figures" / f"{stem}.pdf").is_file()
    for name in ("posterior.nc", "diagnostics.json", "hazard_ratios.csv",
                 "cox_hazard_ratios.csv", "factor_ranking.csv"):
        assert (out / name).is_file()
    assert "figures/forest.png" not in text                    # no broken embed
    assert "### Hazard ratios" in text
    assert [str(w.message) for w in caught if "'forest'" in str(w.message)]


def test_folder_with_a_failed_figure_still_passes_the_contract(broken_forest):
    import subprocess
    import sys

    if not CHECKER.exists():
        pytest.skip("shared/tools is not beside this checkout")
    res = subprocess.run([sys.executable, str(CHECKER), str(broken_forest[0])],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout


def test_posterior_and_tables_are_written_before_any_figure(analysis, tmp_path, monkeypatch):
    seen = {}

    def spy(a, folder, **kwargs):
        seen["files"] = sorted(p.name for p in folder.parent.iterdir())
        return {}

    monkeypatch.setattr(report, "render_figures", spy)
    write_report(analysis, tmp_path / "out", say=lambda m: None)
    for name in ("posterior.nc", "diagnostics.json", "hazard_ratios.csv",
                 "recovery_probabilities.csv", "table1.csv"):
        assert name in seen["files"]


def test_failing_report_section_is_named_and_the_others_stay(analysis, tmp_path,
                                                              monkeypatch):
    sections = [(name, _boom if name == "hazard ratios" else fn)
                for name, fn in report_text.REPORT_SECTIONS]
    monkeypatch.setattr(report_text, "REPORT_SECTIONS", sections)
    with pytest.warns(OutputWarning, match="report section 'hazard ratios'"):
        write_report(analysis, tmp_path / "out", figures=False, say=lambda m: None)
    text = (tmp_path / "out" / "report.md").read_text()
    assert "report section 'hazard ratios' could not be produced" in text
    assert "### Hazard ratios" not in text
    assert "### Which factors predict recovery" in text and "## Patients" in text


def test_failing_report_keeps_the_fit(analysis, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "report_markdown", _boom)
    with pytest.warns(OutputWarning, match="report.md"):
        write_report(analysis, tmp_path / "out", figures=False, say=lambda m: None)
    out = tmp_path / "out"
    assert (out / "posterior.nc").is_file() and (out / "hazard_ratios.csv").is_file()
    text = (out / "report.md").read_text()
    assert "report.md could not be produced (RuntimeError: boom)" in text
    assert "posterior (posterior.nc), diagnostics.json and the tables" in text


def test_failing_table_is_named_and_the_others_stay(analysis, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "cox_output_table", _boom)
    with pytest.warns(OutputWarning, match="cox_hazard_ratios"):
        write_report(analysis, tmp_path / "out", figures=False, say=lambda m: None)
    out = tmp_path / "out"
    assert not (out / "cox_hazard_ratios.csv").exists()
    assert (out / "hazard_ratios.csv").is_file() and (out / "posterior.nc").is_file()
    assert "table 'cox_hazard_ratios' could not be produced" in (out / "report.md").read_text()


def test_unwritable_folder_rescues_the_posterior(analysis, tmp_path, monkeypatch):
    from contextlib import contextmanager

    @contextmanager
    def failing_folder(out, overwrite=False):
        stage = tmp_path / "stage"
        stage.mkdir()
        yield stage
        raise OSError("cannot rename the staging folder")

    monkeypatch.setattr(report, "analyse", lambda *a, **k: analysis)
    monkeypatch.setattr(report, "output_folder", failing_folder)
    with pytest.raises(OSError, match="cannot rename"):
        report.run_analysis(analysis.cohort, tmp_path / "results", figures=False,
                            say=lambda m: None)
    rescued = tmp_path / "results.posterior.nc"
    assert rescued.is_file()
    loaded = RecoveryModel.load(rescued)
    assert (loaded.idata.posterior["alpha"].values
            == analysis.model.idata.posterior["alpha"].values).all()


def test_interrupted_writing_keeps_the_fit_and_says_why(analysis, tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM while the folder is written: the finished fit is kept beside it,
    and the message says the run was interrupted (not that the folder was unwritable)."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    said = []
    monkeypatch.setattr(report, "analyse", lambda *a, **k: analysis)
    monkeypatch.setattr(report, "write_report", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.run_analysis(analysis.cohort, tmp_path / "results", figures=False,
                            say=said.append)
    assert (tmp_path / "results.posterior.nc").is_file()
    assert any(m.startswith("the run was interrupted before the output folder was "
                            "complete; the fitted posterior is saved in") for m in said)
    assert not any("could not be written" in m for m in said)


def test_cli_names_a_failing_figure_in_one_warning_line(analysis, study_tables, tmp_path,
                                                        monkeypatch, capsys):
    visits, patients = study_tables
    visits.to_csv(tmp_path / "visits.csv", index=False)
    patients.to_csv(tmp_path / "patients.csv", index=False)
    from footdrop_bayes.report_guard import attempt

    def one_failing_figure(a, folder, *, problems=None, **kwargs):
        attempt("figure 'energy'", _boom, problems)       # as render_figures does
        return {}

    monkeypatch.setattr(report, "analyse", lambda *a, **k: analysis)
    monkeypatch.setattr(report, "render_figures", one_failing_figure)
    code = main(["--quiet", "fit", "--visits", str(tmp_path / "visits.csv"), "--patients",
                 str(tmp_path / "patients.csv"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0
    lines = [ln for ln in err.splitlines() if "'energy'" in ln]
    assert len(lines) == 1 and lines[0].startswith("footdrop-bayes: warning: figure 'energy'")
    assert "Traceback" not in err
    assert (tmp_path / "out" / "posterior.nc").is_file()


def test_slow_figures_start_first_and_captions_keep_the_report_order(analysis, tmp_path,
                                                                      monkeypatch):
    import footdrop_bayes.report_figures as rf
    from footdrop_bayes.report_guard import Problems

    started, real = [], rf.run_steps

    def spy(steps, jobs=None):
        started.extend(step.args[1] for step in steps)   # partial(render_one, draw, stem)
        return real(steps, 1)

    monkeypatch.setattr(rf, "run_steps", spy)
    monkeypatch.setattr(plots, "save_figure", lambda *a, **k: [])  # drawing only
    captions = rf.render_figures(analysis, tmp_path, problems=Problems())
    slow = [s for s in rf.SLOW_FIRST if s in captions]
    assert started[:len(slow)] == slow and len(slow) >= 3
    assert list(captions)[:2] == ["kaplan_meier", "forest"]       # the report's order
    assert sorted(captions) == sorted(started)
