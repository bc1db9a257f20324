"""Figures: structure (what was drawn), labels, sizes of written files. Rendered with Agg."""

from __future__ import annotations

import re

import arviz as az
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.collections import PathCollection
from PIL import Image

import footdrop_bayes as fb
from footdrop_bayes import plots
from footdrop_bayes.plots import style as st
from footdrop_bayes.plots.curves import curve_summary
from footdrop_bayes.plots.forest import forest_rows, hr_ticks


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _axes(fig, name):
    """Axes labelled ``name`` (inset axes included)."""
    every = list(fig.axes) + [c for a in fig.axes for c in a.child_axes]
    return [a for a in every if a.get_label() == name]


def _gids(ax, prefix):
    arts = ax.get_children() + ax.texts + list(ax.get_lines())
    return sorted({a.get_gid() for a in arts if (a.get_gid() or "").startswith(prefix)})


# ----------------------------------------------------------------------------- style


def test_journal_style_is_switchable():
    default = mpl.rcParams["font.size"]
    with st.journal_style():
        assert mpl.rcParams["font.size"] == st.JOURNAL_RC["font.size"]
        assert mpl.rcParams["pdf.fonttype"] == 42
    with st.journal_style(False):
        assert mpl.rcParams["font.size"] == default
    with st.journal_style({"font.size": 11}):
        assert mpl.rcParams["font.size"] == 11
    st.use_journal_style(False)
    try:
        with st.journal_style():
            assert mpl.rcParams["font.size"] == default
    finally:
        st.use_journal_style(True)


def test_saved_pdf_embeds_truetype_fonts(tmp_path):
    """A figure saved after its plot function returned still gets the journal's font
    embedding (Type 42, which journals' PDF checks accept), not matplotlib's Type 3."""
    fig = st.new_figure("single", 2.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_title("Recovery by sex")
    ax.set_xlabel("Months since referral")
    try:
        (journal,) = st.save_figure(fig, "km", formats=("pdf",), directory=tmp_path)
        with mpl.rc_context({"pdf.fonttype": 3}):     # style=False keeps the user's
            (plain,) = st.save_figure(fig, "plain", formats=("pdf",),
                                      directory=tmp_path, style=False)
    finally:
        plt.close(fig)
    assert b"/FontFile2" in journal.read_bytes()
    assert b"/Type3" not in journal.read_bytes()
    assert b"/Type3" in plain.read_bytes()


def test_level_colours_by_position_reference_black():
    c = st.level_colors(["root", "sciatic", "peroneal"])
    assert c["root"] == "#000000"
    assert len(set(c.values())) == 3
    assert st.level_colors(["a", "b"], {"b": "red"}) == {"a": "#000000", "b": "red"}
    assert st.format_p(0.0004) == "p < 0.001"
    assert st.format_p(0.0123) == "p = 0.012"
    assert st.format_p(0.5) == "p = 0.50"


@pytest.mark.parametrize("width,inches", [("single", 3.5), ("double", 7.2)])
def test_save_figure_sizes_and_formats(tmp_path, width, inches):
    fig = st.new_figure(width, 2.0)
    fig.add_subplot().plot([0, 1], [0, 1])
    paths = st.save_figure(fig, "fig", formats=("png", "pdf", "svg"), dpi=200,
                           directory=tmp_path / "figures")
    assert [p.suffix for p in paths] == [".png", ".pdf", ".svg"]
    assert all(p.exists() and p.parent.name == "figures" for p in paths)
    with Image.open(paths[0]) as im:
        assert im.size == (round(inches * 200), 400)
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)", paths[1].read_bytes())
    assert box and float(box.group(1)) == pytest.approx(inches * 72, abs=0.5)
    assert float(box.group(2)) == pytest.approx(144, abs=0.5)
    assert "2in" in paths[2].read_text() or 'height="144pt"' in paths[2].read_text()


def test_save_figure_lays_out_once_and_keeps_the_layout_engine(tmp_path):
    fig = st.new_figure("single", 2.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_ylabel("a long label that the layout must make room for")
    engine = fig.get_layout_engine()
    st.save_figure(fig, tmp_path / "a", formats=("png",), dpi=100)
    assert fig.get_layout_engine() is engine         # the caller's figure is unchanged
    placed = ax.get_position().bounds
    # the layout made room for the label, as savefig with the engine would
    fig.savefig(tmp_path / "b.png", dpi=100)
    np.testing.assert_allclose(ax.get_position().bounds, placed, atol=0.01)
    assert placed[0] > 0.1
    with Image.open(tmp_path / "a.png") as a, Image.open(tmp_path / "b.png") as b:
        assert a.size == b.size
        diff = np.abs(np.asarray(a, float) - np.asarray(b, float)).max(axis=-1)
        assert (diff > 0).mean() < 0.02


# ------------------------------------------------------------------------ Kaplan–Meier


def test_kaplan_meier_curves_and_at_risk_table(study_cohort):
    km = fb.classical.kaplan_meier(study_cohort, by="site")
    lr = fb.classical.logrank(study_cohort, "site")
    fig = plots.plot_kaplan_meier(km, p_value=lr)
    (ax,) = _axes(fig, "km")
    (tab,) = _axes(fig, "at_risk")
    levels = [str(v) for v in km["site"].values]
    steps = [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("km:")]
    assert [ln.get_label() for ln in steps] == levels          # one line per level
    assert [t.get_text() for t in tab.get_yticklabels()] == levels
    texts = [t for t in tab.texts if (t.get_gid() or "").startswith("at-risk:")]
    assert len(texts) == len(levels) * km.sizes["month"]        # a number per level and visit
    root = [int(t.get_text()) for t in texts if t.get_gid() == f"at-risk:{levels[0]}"]
    assert root == km["at_risk"].sel(site=levels[0]).astype(int).values.tolist()
    title = ax.get_legend().get_title().get_text()
    assert "Site" in title and "log-rank p" in title
    assert tab.get_shared_x_axes().joined(ax, tab)               # table aligned with time axis
    assert len(_gids(ax, "km-band:")) == len(levels)
    # a curve ends at the Kaplan–Meier estimate of the last visit
    y = steps[0].get_ydata()
    assert y[-1] == pytest.approx(float(km["recovered"].sel(site=levels[0])[-1]))


def test_kaplan_meier_on_given_axes_and_overall(study_cohort):
    fig, ax = plt.subplots()
    out = plots.plot_kaplan_meier(fb.classical.kaplan_meier(study_cohort), ax=ax,
                                  p_value=0.03, style=False)
    assert out is fig
    assert len(_axes(fig, "at_risk")) == 1                       # inset table
    assert any("p = 0.03" in t.get_text() for t in ax.texts)


def test_kaplan_meier_panels_one_per_factor(study_cohort):
    kms = {f: fb.classical.kaplan_meier(study_cohort, by=f) for f in ("sex", "cause")}
    fig = plots.plot_kaplan_meier_panels(kms, p_values=fb.classical.logrank(study_cohort))
    assert len(_axes(fig, "km")) == 2 and len(_axes(fig, "at_risk")) == 2
    titles = [a.get_legend().get_title().get_text() for a in _axes(fig, "km")]
    assert titles[0].startswith("A  Sex") and titles[1].startswith("B  Cause")


# ------------------------------------------------------------------------------ forest


def _hr_tables():
    bayes = pd.DataFrame({
        "term": ["site", "site", "age"], "level": ["sciatic", "peroneal", np.nan],
        "reference": ["root", "root", np.nan], "hr_median": [1.5, 0.8, 0.97],
        "hr_low": [0.9, 0.4, 0.95], "hr_high": [2.6, 1.6, 0.99],
        "p_direction": [0.94, 0.27, 0.0]})
    cox = pd.DataFrame({
        "term": ["site", "site", "age"], "level": ["sciatic", "peroneal", None],
        "reference": ["root", "root", None], "hr": [1.7, 0.7, 0.96],
        "hr_low": [0.8, 0.3, 0.94], "hr_high": [3.5, 400.0, 0.98],
        "p_value": [0.1, 0.4, 0.001]})
    return bayes, cox


def test_forest_rows_reference_and_covariates():
    bayes, cox = _hr_tables()
    rows = forest_rows(bayes, cox, {"age": "year"})
    assert [(r.kind, r.text) for r in rows] == [
        ("header", "Site"), ("reference", "root (reference)"), ("level", "sciatic"),
        ("level", "peroneal"), ("covariate", "Age (per year)")]
    assert hr_ticks(0.3, 3) == [0.5, 1, 2]


def test_forest_plot_structure():
    bayes, cox = _hr_tables()
    fig = plots.plot_hazard_ratios(bayes, cox, units={"age": "year"})
    (ax,) = _axes(fig, "forest")
    assert ax.get_xscale() == "log"
    assert _gids(ax, "reference:") == ["reference:site"]
    for m in ("bayes", "cox"):
        for lv in ("sciatic", "peroneal", "None"):
            term = "age" if lv == "None" else "site"
            assert f"{m}:{term}:{lv}" in _gids(ax, f"{m}:")
    labels = [t.get_text().strip() for t in ax.get_yticklabels()]
    assert labels == ["Site", "root (reference)", "sciatic", "peroneal", "Age (per year)"]
    assert "cox:site:peroneal:clipped" in _gids(ax, "cox:")     # 400 beyond the axis
    texts = [t.get_text() for t in ax.texts if t.get_gid() == "hr-text"]
    assert "1.50 (0.90–2.60)" in texts
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Bayesian: median, 95% CrI", "Cox: estimate, 95% CI"]


def test_forest_needs_columns():
    bayes, _ = _hr_tables()
    with pytest.raises(ValueError, match="hr_median"):
        plots.plot_hazard_ratios(bayes.drop(columns="hr_median"))
    fig = plots.plot_hazard_ratios(bayes)                        # Bayesian only
    assert not _gids(_axes(fig, "forest")[0], "cox:")


# ----------------------------------------------------------------------------- ranking


def _ranking():
    df = pd.DataFrame({"term": ["sex", "cause", "age"], "importance_median": [0.1, 0.6, 0.4],
                       "importance_low": [0.0, 0.2, 0.1], "importance_high": [0.3, 1.0, 0.7],
                       "p_rank1": [0.0, 0.7, 0.3], "expected_rank": [2.9, 1.3, 1.8]})
    probs = xr.DataArray([[0.0, 0.1, 0.9], [0.7, 0.3, 0.0], [0.3, 0.6, 0.1]],
                         dims=("term", "rank"),
                         coords={"term": ["sex", "cause", "age"], "rank": [1, 2, 3]})
    return df, probs


def test_factor_ranking_ordered_with_p_rank1_and_heatmap():
    df, probs = _ranking()
    fig = plots.plot_factor_ranking(df, probs)
    (ax,) = _axes(fig, "ranking")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Cause", "Age", "Sex"]
    assert [t.get_text() for t in ax.texts if t.get_gid() == "p-rank1"] == \
        ["0.70", "0.30", "<0.01"]
    (heat,) = _axes(fig, "rank_heatmap")
    img = heat.get_images()[0].get_array()
    np.testing.assert_allclose(img, [[0.7, 0.3, 0.0], [0.3, 0.6, 0.1], [0.0, 0.1, 0.9]])
    fig2 = plots.plot_rank_probabilities(probs)
    assert [t.get_text() for t in _axes(fig2, "rank_heatmap")[0].get_yticklabels()] == \
        ["Cause", "Age", "Sex"]


# ------------------------------------------------------------------- posterior curves


def test_subgroup_curves_average_patients_own_curves(fitted_model):
    draws = plots.subgroup_recovery_draws(fitted_model, "site")
    curves = fitted_model.recovery_curves()
    site = fitted_model.cohort.covariates["site"]
    lv = str(site.cat.categories[1])
    ids = site.index[site.astype(str) == lv]
    brute = curves.sel(patient=list(ids)).mean("patient")
    np.testing.assert_allclose(draws.sel(site=lv).values, brute.values)
    assert draws.dims[:3] == ("chain", "draw", "site")


def test_posterior_curves_overlay_and_facets(fitted_model, study_cohort):
    draws = plots.subgroup_recovery_draws(fitted_model, "site")
    km = fb.classical.kaplan_meier(fitted_model.cohort, by="site")
    levels = [str(v) for v in km["site"].values]
    fig = plots.plot_posterior_recovery(draws, km, facets=False)
    (ax,) = _axes(fig, "posterior_curves")
    assert _gids(ax, "posterior:") == sorted(f"posterior:{lv}" for lv in levels)
    assert len(_gids(ax, "posterior-band:")) == 2 * len(levels)   # 50% and 95% per level
    assert _gids(ax, "km:") == sorted(f"km:{lv}" for lv in levels)
    legend_texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Kaplan–Meier (observed)" in legend_texts
    line = next(ln for ln in ax.get_lines() if ln.get_gid() == f"posterior:{levels[0]}")
    assert line.get_ydata()[0] == 0.0                               # starts at 0 recovered
    assert line.get_ydata()[-1] == pytest.approx(
        float(draws.sel(site=levels[0]).isel(month=-1).median()))
    fig = plots.plot_posterior_recovery(draws, km)                  # 4 levels -> facets
    panels = _axes(fig, "posterior_curves")
    assert [a.get_title(loc="left") for a in panels] == levels


def test_posterior_curves_from_probability_table():
    rows = [{"term": "sex", "level": lv, "time": t, "median": m * t / 6, "low": 0.8 * m * t / 6,
             "high": min(1.0, 1.2 * m * t / 6)}
            for lv, m in (("male", 0.5), ("female", 0.7)) for t in range(1, 7)]
    table = pd.DataFrame(rows)
    table.attrs["interval"] = 0.9
    factor, summary = curve_summary(table)
    assert factor == "sex" and list(summary) == ["male", "female"]
    assert summary["female"].loc[0.0, "median"] == 0.0
    assert list(summary["male"].columns) == ["median", "low_0.9", "high_0.9"]
    fig = plots.plot_posterior_recovery(table)
    (ax,) = _axes(fig, "posterior_curves")
    assert len(_gids(ax, "posterior-band:")) == 2
    assert ax.get_legend() is not None


def test_posterior_panels_one_per_factor(fitted_model):
    curves = {f: plots.subgroup_recovery_draws(fitted_model, f) for f in ("sex", "cause")}
    kms = {f: fb.classical.kaplan_meier(fitted_model.cohort, by=f) for f in curves}
    fig = plots.plot_posterior_recovery_panels(curves, kms)
    assert len(_axes(fig, "posterior_curves")) == 2


# -------------------------------------------------------------- end of follow-up


def test_recovery_at_followup_three_estimates_per_level():
    rows = []
    for term, lv, n in (("all", "all", 10), ("sex", "male", 6), ("sex", "female", 4)):
        for t in (3.0, 6.0):
            rows.append({"term": term, "level": lv, "time": t, "n": n, "median": 0.5,
                         "low": 0.3, "high": 0.7, "km": 0.45, "km_low": 0.2, "km_high": 0.7})
    probs = pd.DataFrame(rows)
    study = pd.DataFrame({"factor": ["overall", "sex", "sex"],
                          "level": ["all", "male", "female"],
                          "recovered_percent": [50.0, 55.0, 40.0], "n": [9, 5, 4]})
    fig = plots.plot_recovery_at_followup(probs, study)
    (ax,) = _axes(fig, "followup")
    labels = [t.get_text().strip() for t in ax.get_yticklabels()]
    assert labels == ["All patients (n = 10)", "Sex", "male (n = 6)", "female (n = 4)"]
    for method in ("model", "km", "study"):
        assert _gids(ax, f"{method}:") == sorted(
            f"{method}:{t}:{lv}" for t, lv in (("all", "all"), ("sex", "male"),
                                               ("sex", "female")))
    study_marker = next(ln for ln in ax.get_lines() if ln.get_gid() == "study:sex:female")
    assert study_marker.get_xdata()[0] == 40.0
    assert "6 months" in ax.get_xlabel()
    with pytest.raises(ValueError, match="no rows at time"):
        plots.plot_recovery_at_followup(probs, time=4.0)


# -------------------------------------------------------------------- prior predictive


def test_prior_curves_share_recovered_by_time():
    rng = np.random.default_rng(3)
    rt = rng.exponential(4.0, size=(1, 30, 20))
    rt[rt > 6] = np.inf
    ds = xr.Dataset({"recovery_time": (("chain", "draw", "patient"), rt),
                     "last_unrecovered": (("chain", "draw", "patient"),
                                          np.full(rt.shape, 6.0))})
    curves = plots.prior_curves(ds, times=[0, 2, 6])
    np.testing.assert_allclose(curves.sel(time=2).values, (rt[0] <= 2).mean(axis=1))
    fig = plots.plot_prior_predictive(ds, n_curves=12)
    (ax,) = _axes(fig, "prior_curves")
    assert sum(ln.get_gid() == "prior-draw" for ln in ax.get_lines()) == 12
    assert len(_axes(fig, "prior_end")) == 1
    assert ax.get_xlim()[1] == 6.0


def test_prior_predictive_from_model(fitted_model):
    pp = fitted_model.prior_predictive(40, random_seed=5)
    km = fb.classical.kaplan_meier(fitted_model.cohort)
    fig = plots.plot_prior_predictive(pp, km)
    (ax,) = _axes(fig, "prior_curves")
    assert _gids(ax, "km:") == ["km:all"]
    (h,) = _axes(fig, "prior_end")
    assert h.get_lines()[0].get_gid() == "observed-end"


# ------------------------------------------------------------------------ diagnostics


def _rank_idata(divergent=()):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 200, 2)) + np.array([0.0, 3.0])
    x[1] += 0.4                                   # one chain off: uneven ranks
    diverging = np.zeros((4, 200), bool)
    for c, d in divergent:
        diverging[c, d] = True
    return az.from_dict(posterior={"x": x, "s": rng.gamma(2.0, size=(4, 200))},
                        sample_stats={"diverging": diverging})


def test_trace_rank_panels_are_arviz_rank_plots():
    """The fast default draws the same rank densities as ArviZ's own rank plot."""
    idata = _rank_idata()
    fig = plots.plot_trace(idata, var_names=["x", "s"])
    ours = sorted((round(x, 9), round(y, 9)) for points in fig.axes[1].collections
                  if isinstance(points, PathCollection) for x, y in points.get_offsets())
    _, ax = plt.subplots()
    for k in range(2):                    # ArviZ: one rank plot per element, same axes
        az.plot_rank(idata.posterior["x"].values[..., k], kind="vlines", ax=ax)
    theirs = sorted((round(x, 9), round(y, 9)) for line in ax.get_lines()
                    if line.get_marker() == "o" for x, y in line.get_xydata())
    assert len(ours) == 2 * 4 * int(np.ceil(2 * np.log2(200)) + 1)
    assert ours == theirs
    level = [line for line in fig.axes[1].get_lines() if line.get_linestyle() == "--"]
    assert level and level[0].get_ydata()[0] == pytest.approx(np.mean([y for _, y in ours]))
    assert fig.axes[1].xaxis.get_tick_params().get("labelbottom") is False   # one scale,
    assert fig.axes[3].xaxis.get_tick_params().get("labelbottom") is not False  # at bottom
    assert fig.axes[3].get_xlabel() == "Rank (all chains)"


def test_trace_marks_divergent_draws_under_the_densities():
    idata = _rank_idata(divergent=[(0, 5), (2, 17), (2, 18)])
    fig = plots.plot_trace(idata, var_names=["x"])
    (marks,) = [line for line in fig.axes[0].get_lines() if line.get_marker() == "|"]
    want = np.sort(idata.posterior["x"].values[[0, 2, 2], [5, 17, 18]].ravel())
    np.testing.assert_allclose(np.sort(marks.get_xdata()), want)
    fig = plots.plot_trace(_rank_idata(), var_names=["x"])
    assert not [line for line in fig.axes[0].get_lines() if line.get_marker() == "|"]


def test_trace_and_energy(fitted_model, tmp_path):
    names = plots.diagnostics.main_parameters(fitted_model.idata.posterior)[:2]
    fig = plots.plot_trace(fitted_model, var_names=names)
    assert len(_axes(fig, "trace")) == 2 * len(names)
    assert {a.get_title(loc="left") or a.get_title() for a in fig.axes} == set(names)
    fig = plots.plot_energy(fitted_model)
    (ax,) = _axes(fig, "energy")
    assert any("BFMI" in t.get_text() for t in ax.get_legend().get_texts())
    paths = plots.save_figure(fig, tmp_path / "energy", formats=("png",), dpi=100)
    with Image.open(paths[0]) as im:
        assert im.size == (350, round(100 * fig.get_figheight()))
