"""Clinic effects of a multi-centre fit: MHR, per-clinic HRs, importance, figure, report."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from footdrop_bayes import plots, summaries
from footdrop_bayes.analysis import analyse
from footdrop_bayes.report import write_report


def flat(da, *dims):
    return da.transpose("chain", "draw", *dims).values.reshape(
        da.sizes["chain"] * da.sizes["draw"], -1)


def test_mhr_of_known_sigmas_and_against_the_draws(multicentre_model):
    # the definition: two clinics at random, HR of the faster over the slower; by
    # simulation of pairs of N(0, sigma) clinic effects
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 0.6, (2, 400_000))
    assert summaries.median_hazard_ratio(0.6) == pytest.approx(
        np.median(np.exp(np.abs(a - b))), rel=5e-3)
    assert summaries.median_hazard_ratio(0.0) == 1.0
    sigma = multicentre_model.idata.posterior["sigma_clinic"].values.ravel()
    mhr = np.exp(np.sqrt(2) * sigma * norm.ppf(0.75))
    v = summaries.clinic_variation(multicentre_model, interval=0.9)
    assert list(v.columns) == summaries.clinics.VARIATION_COLUMNS
    r = v.iloc[0]
    assert r["term"] == "clinic" and r["n_clinics"] == 4
    assert r["mhr_median"] == pytest.approx(np.median(mhr))
    assert r["mhr_low"] == pytest.approx(np.quantile(mhr, 0.05))
    assert r["mhr_high"] == pytest.approx(np.quantile(mhr, 0.95))
    assert r["sd_median"] == pytest.approx(np.median(sigma))
    assert r["sd_low"] < r["sd_median"] < r["sd_high"]


def test_clinic_hrs_and_probabilities_from_the_draws(multicentre_model):
    m = multicentre_model
    eff = summaries.clinic_effects(m, interval=0.8)
    assert list(eff.columns) == summaries.clinics.CLINIC_COLUMNS
    assert eff.attrs["reference"] == "recovery-weighted"
    u = m.idata.posterior["u_clinic"]
    levels = [str(x) for x in u["clinic"].values]
    assert eff["level"].tolist() == levels
    cov = m.cohort.covariates["clinic"].astype(str)
    ev = m.cohort.intervals["event"]
    # by hand: the average clinic is the recovery-weighted one, as the model's alpha
    w = np.array([ev[cov == lv].sum() for lv in levels], float)
    w /= w.sum()
    x = flat(u, "clinic")
    x = x - (x * w).sum(axis=1, keepdims=True)
    for j, lv in enumerate(levels):
        r = eff.iloc[j]
        assert r["hr_median"] == pytest.approx(np.exp(np.median(x[:, j])))
        assert r["hr_low"] == pytest.approx(np.exp(np.quantile(x[:, j], 0.1)))
        assert r["hr_high"] == pytest.approx(np.exp(np.quantile(x[:, j], 0.9)))
        assert r["p_above"] == pytest.approx(np.mean(x[:, j] > 0))
        assert r["p_below"] == pytest.approx(np.mean(x[:, j] < 0))
        assert r["n_patients"] == (cov == lv).sum()
        assert r["n_events"] == ev[cov == lv].sum()
    assert eff["n_patients"].sum() == m.cohort.n_patients
    # the model's own constraint: u sums to zero with these weights in every draw, so
    # the effect against the average clinic is u itself
    np.testing.assert_allclose(x, flat(u, "clinic"), atol=1e-8)
    # relative to the recovery-weighted average: the weighted mean of the log median
    # HRs is about 0 (the plain mean need not be)
    assert abs((np.log(eff["hr_median"]) * w).sum()) < 0.05
    # the plain mean is a different reference: reachable on request, and it differs
    plain = summaries.clinic_effects_from_posterior(
        m.idata.posterior, m.cohort.covariates[["clinic"]], ev, "clinic", 0.8,
        weights="equal")
    xp = flat(u, "clinic")
    xp = xp - xp.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(plain["hr_median"], np.exp(np.median(xp, axis=0)))
    assert not np.allclose(plain["hr_median"], eff["hr_median"], rtol=1e-3)
    with pytest.raises(ValueError, match="weights"):
        summaries.clinics.clinic_log_hr_draws(m.idata.posterior, "clinic", [1.0, 2.0])


def test_clinic_summaries_refuse_a_model_without_group(fitted_model):
    with pytest.raises(ValueError, match="--group"):
        summaries.clinic_effects(fitted_model)


def test_clinic_variation_in_the_importance_ranking(multicentre_model):
    m = multicentre_model
    imp = summaries.importance(m)
    assert list(imp["term"].values) == ["cause", "age", "clinic"]
    u = flat(m.idata.posterior["u_clinic"], "clinic")
    levels = [str(x) for x in m.idata.posterior["u_clinic"]["clinic"].values]
    codes = m.cohort.covariates["clinic"].astype(str).map(
        {lv: i for i, lv in enumerate(levels)}).to_numpy()
    # brute force: the SD across patients (ddof=0) of each patient's clinic effect
    direct = u[:, codes].std(axis=1)
    got = imp.sel(term="clinic").transpose("chain", "draw").values.ravel()
    np.testing.assert_allclose(got, direct, rtol=1e-10)
    ranking = summaries.factor_ranking(m)
    assert "clinic" in set(ranking["term"])
    assert ranking["p_rank1"].sum() == pytest.approx(1)


def test_caterpillar_figure(multicentre_model):
    eff = summaries.clinic_effects(multicentre_model)
    var = summaries.clinic_variation(multicentre_model)
    fig = plots.plot_clinic_effects(eff, var)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == eff.sort_values("hr_median", ascending=False)["level"].tolist()
    texts = [t.get_text() for t in ax.texts if t.get_gid() == "n-text"]
    by_level = dict(zip(eff["level"], eff["n_patients"], strict=True))
    assert texts[0].startswith(f"n={by_level[labels[0]]}")
    title = " ".join(ax.get_title(loc=loc) for loc in ("left", "center", "right"))
    assert "median hazard ratio" in title
    assert f"{var['mhr_median'].iloc[0]:.2f}" in title
    assert any(line.get_gid() == "reference-line" for line in ax.lines)
    assert "recovery-weighted average clinic" in ax.get_xlabel()
    # every text of the figure lies inside it once laid out (the axis label was cut)
    fig.canvas.draw()
    box = fig.bbox
    for text in [t for t in (ax.xaxis.label, ax.yaxis.label, *ax.texts) if t.get_text()]:
        ext = text.get_window_extent()
        assert ext.x0 >= box.x0 - 1 and ext.x1 <= box.x1 + 1, text.get_text()
    import matplotlib.pyplot as plt
    fig2, ax2 = plt.subplots()
    assert plots.plot_clinic_effects(eff, ax=ax2) is fig2
    plt.close("all")


@pytest.fixture(scope="module")
def clinic_analysis(multicentre_model):
    return analyse(multicentre_model.cohort, model=multicentre_model, say=lambda m: None,
                   group_handling="cluster", per={"age": 10}, clinic_curves=True)


@pytest.fixture(scope="module")
def clinic_folder(clinic_analysis, tmp_path_factory):
    out = tmp_path_factory.mktemp("clinics") / "results"
    write_report(clinic_analysis, out, say=lambda m: None)
    return out


def test_analysis_uses_the_models_group(clinic_analysis):
    a = clinic_analysis
    assert a.cox.group == "clinic" and a.cox.group_handling == "cluster"
    assert "clinic" not in set(a.cox.table["term"])
    age = a.hazard_ratios[a.hazard_ratios["term"] == "age"].iloc[0]
    cox_age = a.cox.table[a.cox.table["term"] == "age"].iloc[0]
    assert age["level"] == cox_age["level"] == "per 10"
    beta = a.model.idata.posterior["beta"].sel(covariate="age").values
    assert age["hr_median"] == pytest.approx(np.exp(10 * np.median(beta)))
    coef = a.cox.summary.loc["age", "coef"]
    assert cox_age["hr"] == pytest.approx(np.exp(10 * coef))


def test_output_folder_has_the_clinic_section_and_figure(clinic_folder, clinic_analysis):
    from test_report import CHECKER

    if CHECKER.exists():
        res = subprocess.run([sys.executable, str(CHECKER), str(clinic_folder)],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stdout
    eff = pd.read_csv(clinic_folder / "clinic_effects.csv")
    assert list(eff.columns) == summaries.clinics.CLINIC_COLUMNS and len(eff) == 4
    assert (clinic_folder / "clinic_variation.csv").is_file()
    assert (clinic_folder / "tables" / "clinic_effects.md").is_file()
    assert (clinic_folder / "tables" / "clinic_effects.tex").is_file()
    for ext in ("png", "pdf"):
        assert (clinic_folder / "figures" / f"clinic_effects.{ext}").is_file()
    text = (clinic_folder / "report.md").read_text()
    assert "### Clinics / centres" in text
    # the reference is named: the model's recovery-weighted average clinic
    assert "against the recovery-weighted average clinic (hazard ratio" in text
    assert "counts by its share of the cohort's recoveries" in text
    mhr = clinic_analysis.clinic_variation.iloc[0]
    assert f"{mhr['mhr_median']:.2f}" in text
    assert "cluster-robust" in text
    assert "figures/clinic_effects.png" in text
    # KM by clinic and its log-rank test
    assert "clinic" in pd.read_csv(clinic_folder / "logrank.csv")["factor"].tolist()
    ranking = pd.read_csv(clinic_folder / "factor_ranking.csv")
    assert "clinic" in set(ranking["term"])


def test_model_check_figure_gets_clinic_panels_when_asked(clinic_analysis, clinic_folder):
    from dataclasses import replace

    from footdrop_bayes.report_figures import curve_factors

    assert curve_factors(clinic_analysis) == ["cause", "clinic"]
    off = replace(clinic_analysis, options={**clinic_analysis.options,
                                            "clinic_curves": False})
    assert curve_factors(off) == ["cause"]
    text = (clinic_folder / "report.md").read_text()
    assert "The last panel shows each clinic." in text


def test_default_cox_handling_is_strata_and_stated(multicentre_model):
    from footdrop_bayes.report_text import report_markdown

    a = analyse(multicentre_model.cohort, model=multicentre_model, say=lambda m: None)
    assert a.cox.group_handling == "strata"
    assert a.options["clinic_curves"] is False
    text = report_markdown(a, {})
    assert "stratified by clinic" in text and "### Clinics / centres" in text
    assert "log-rank χ²" in text.split("### Clinics / centres")[1]
