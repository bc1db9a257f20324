"""Figures drawn while the analysis goes on (report_early): the very figures the report
would draw, taken only when drawn from the same inputs, failures recorded, nothing lost."""

from __future__ import annotations

import multiprocessing
import os
import warnings

import pytest

import footdrop_bayes.report_figures as rf
from footdrop_bayes import plots
from footdrop_bayes.analysis import analyse
from footdrop_bayes.errors import OutputWarning
from footdrop_bayes.report import write_report
from footdrop_bayes.report_early import EarlyFigures
from footdrop_bayes.report_guard import Problems

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="figures are drawn ahead in forked processes")
EARLY = ("kaplan_meier", "prior_predictive", "trace", "energy")


def _stages(early, a):
    """What ``analyse(..., on_stage=early)`` calls, for an analysis already made."""
    early("classical", cohort=a.cohort, bands=a.bands, logrank=a.logrank,
          interval=a.interval, factors=a.model.factors, group=a.model.group)
    early("model", model=a.model, cohort=a.cohort, interval=a.interval)
    early("sampled", model=a.model)


@pytest.fixture
def drawn_here(monkeypatch):
    """Stems drawn in this process (the report's figures run here: one job)."""
    monkeypatch.setenv("FOOTDROP_BAYES_FIGURE_JOBS", "1")
    seen = []
    original = rf.render_one

    def spy(draw, stem, *args):
        seen.append(stem)
        return original(draw, stem, *args)
    monkeypatch.setattr(rf, "render_one", spy)
    return seen


def test_analyse_reports_each_stage_once_in_order(analysis):
    calls = []
    analyse(analysis.cohort, model=analysis.model, bands=analysis.bands,
            say=lambda m: None, on_stage=lambda stage, **inputs: calls.append(
                (stage, sorted(inputs))))
    assert calls == [
        ("classical", ["bands", "cohort", "factors", "group", "interval", "logrank"]),
        ("model", ["cohort", "interval", "model"]),
        ("sampled", ["model"])]


def test_early_figures_are_the_report_figures(analysis, tmp_path, drawn_here):
    early = EarlyFigures()
    try:
        _stages(early, analysis)
        assert early.folder is not None and early.running() >= 0
        write_report(analysis, tmp_path / "early", say=lambda m: None, early=early)
    finally:
        early.close()
    assert early.folder is None                      # the temporary folder is gone
    assert not set(drawn_here) & set(EARLY)          # taken, not drawn again
    assert set(drawn_here) == {"forest", "factor_ranking", "posterior_curves",
                               "recovery_by_level"}
    a = analysis                                     # drawn here as the report draws
    for stem, draw in {
            "kaplan_meier": lambda: rf.km_figure(a.cohort, rf._kms(a), a.logrank,
                                                 a.interval),
            "prior_predictive": lambda: rf.prior_figure(a.model, a.cohort, a.interval, 0),
            "trace": lambda: plots.plot_trace(a.model.idata),
            "energy": lambda: plots.plot_energy(a.model.idata)}.items():
        rf.render_one(draw, stem, tmp_path / "here", ("png", "pdf"), 300)
    for stem in EARLY:                               # byte for byte the same files
        for fmt in ("png", "pdf"):
            early_file = tmp_path / "early" / "figures" / f"{stem}.{fmt}"
            here_file = tmp_path / "here" / f"{stem}.{fmt}"
            assert early_file.read_bytes() == here_file.read_bytes(), (stem, fmt)
    text = (tmp_path / "early" / "report.md").read_text()
    assert all(f"figures/{stem}.png" in text for stem in EARLY)


def test_only_figures_from_the_same_inputs_are_taken(analysis):
    early = EarlyFigures()
    try:
        early("classical", cohort=analysis.cohort, bands=analysis.bands,
              logrank=analysis.logrank.copy(),           # not the report's own table
              interval=analysis.interval, factors=analysis.model.factors,
              group=analysis.model.group)
        early("sampled", model=analysis.model)
        wanted = rf.early_inputs(analysis, 0)
        assert not early.started("kaplan_meier", wanted["kaplan_meier"], ("png", "pdf"),
                                 300)
        assert not early.started("prior_predictive", wanted["prior_predictive"],
                                 ("png", "pdf"), 300)                  # never started
        assert early.started("trace", wanted["trace"], ("png", "pdf"), 300)
        assert not early.started("trace", wanted["trace"], ("png",), 300)
        assert not early.started("trace", wanted["trace"], ("png", "pdf"), 150)
    finally:
        early.close()


def test_a_failing_early_figure_is_recorded_and_the_rest_written(analysis, tmp_path,
                                                                  drawn_here, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(plots, "plot_trace", boom)   # the forked process inherits it
    early = EarlyFigures()
    try:
        _stages(early, analysis)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            write_report(analysis, tmp_path / "out", say=lambda m: None, early=early)
    finally:
        early.close()
    text = (tmp_path / "out" / "report.md").read_text()
    assert "figure 'trace' could not be produced (RuntimeError: boom)" in text
    assert any("figure 'trace'" in str(w.message) for w in caught
               if issubclass(w.category, OutputWarning))
    assert "trace" not in drawn_here                  # recorded, not retried
    assert (tmp_path / "out" / "figures" / "energy.png").exists()
    assert not list((tmp_path / "out" / "figures").glob("trace.*"))


def test_a_dead_drawing_process_leaves_its_figure_to_the_report(analysis, tmp_path,
                                                                monkeypatch):
    def die(*args, **kwargs):
        os._exit(3)
    monkeypatch.setattr(plots, "plot_energy", die)
    early = EarlyFigures()
    try:
        early("sampled", model=analysis.model)
        monkeypatch.undo()                           # this process draws it normally
        monkeypatch.setenv("FOOTDROP_BAYES_FIGURE_JOBS", "1")
        captions = rf.render_figures(analysis, tmp_path / "figures", problems=Problems(),
                                     early=early)
    finally:
        early.close()
    assert "energy" in captions and "trace" in captions
    assert (tmp_path / "figures" / "energy.png").exists()
    assert (tmp_path / "figures" / "trace.png").exists()
