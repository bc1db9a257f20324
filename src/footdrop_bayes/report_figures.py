"""Render the report's figures (PNG and PDF) and return their captions."""

from __future__ import annotations

import logging
import os
import warnings
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt

from . import classical, plots, summaries
from .analysis import Analysis
from .classical.cox_output import cox_output_table
from .model.prior_curves import prior_recovery_shares
from .options import per_phrase
from .report_guard import Problems, attempt
from .report_mix import curve_note, has_terms, posterior_curve_panels
from .report_workers import default_jobs, failure_exception, idle_jobs, run_steps

#: Figures that take longest to draw and write (CPU seconds on the bundled cohort: trace
#: 3.9, Kaplan–Meier 3.3, prior predictive 2.0, posterior curves 1.4; the others < 1),
#: started first by the figure workers.
SLOW_FIRST = ("trace", "kaplan_meier", "prior_predictive", "posterior_curves",
              "withdrawal_sensitivity")


def km_terms(factors, numeric, bands, group) -> list[str]:
    """Terms of the Kaplan–Meier figure: the factors, the banded numeric covariates and
    the group."""
    terms = list(factors) + [c for c in numeric if c in bands]
    if group and group not in terms:
        terms.append(group)
    return terms


def kaplan_meiers(cohort, terms, bands, interval: float) -> dict:
    """Kaplan–Meier estimates by each term, numeric covariates in their bands."""
    return {t: classical.kaplan_meier(cohort, by=t, alpha=1 - interval, bands=bands)
            for t in terms}


def _kms(a: Analysis) -> dict:
    terms = km_terms(a.model.factors, a.cohort.numeric, a.bands,
                     getattr(a.model, "group", None))
    return kaplan_meiers(a.cohort, terms, a.bands, a.interval)


def km_inputs(cohort, factors, group, bands, logrank, interval: float) -> dict:
    """What the Kaplan–Meier figure is drawn from (:func:`km_figure`)."""
    return {"cohort": cohort, "terms": tuple(km_terms(factors, cohort.numeric, bands, group)),
            "bands": bands, "logrank": logrank, "interval": interval}


def prior_inputs(model, cohort, interval: float, random_seed: int) -> dict:
    """What the prior predictive check is drawn from (:func:`prior_figure`)."""
    return {"model": model, "cohort": cohort, "interval": interval, "seed": random_seed}


def km_figure(cohort, kms: dict, logrank, interval: float):
    """The Kaplan–Meier figure: a panel per term (``kms``), else the whole cohort."""
    if not kms:
        return plots.plot_kaplan_meier_panels(
            {"all": classical.kaplan_meier(cohort, alpha=1 - interval)})
    return plots.plot_kaplan_meier_panels(kms, p_values=logrank if len(logrank) else None)


def prior_figure(model, cohort, interval: float, random_seed: int):
    """The prior predictive check: cohort curves from the prior against Kaplan–Meier."""
    return plots.plot_prior_predictive(
        prior_recovery_shares(model, 500, random_seed=random_seed),
        classical.kaplan_meier(cohort, alpha=1 - interval), time_unit=cohort.time_unit)


def early_inputs(a: Analysis, random_seed: int) -> dict[str, dict]:
    """What each figure drawn ahead (:mod:`.report_early`) must have been drawn from, to
    be the figure this analysis would draw."""
    model = a.model
    return {"kaplan_meier": km_inputs(a.cohort, model.factors, getattr(model, "group", None),
                                      a.bands, a.logrank, a.interval),
            "prior_predictive": prior_inputs(model, a.cohort, a.interval, random_seed),
            "trace": {"idata": model.idata}, "energy": {"idata": model.idata}}


def render_one(draw, stem: str, folder: Path, formats, dpi: int) -> bool:
    """Draw one figure with ``draw()`` and save it as ``folder/stem.<format>``.

    No PNG is left without its PDF: a failure while saving removes the figure's files.
    """
    pymc_log = logging.getLogger("pymc")
    level = pymc_log.level
    pymc_log.setLevel(logging.WARNING)     # no "Sampling: [...]" from prior draws
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)   # arviz's API notices
            fig = draw()
    finally:
        pymc_log.setLevel(level)
    try:
        plots.save_figure(fig, stem, formats=formats, dpi=dpi, directory=folder)
    except BaseException:
        for part in Path(folder).glob(f"{stem}.*"):
            part.unlink()
        raise
    finally:
        plt.close(fig)
    return True


def _prior_curve_kind(model) -> str:
    """How the prior predictive curves were obtained (:mod:`.model.prior_curves`)."""
    from .model import prior_curves

    data = model.data
    if data.row_weight is None and data.n_patients <= prior_curves.SIMULATE_MAX:
        return "simulated from the prior"
    n = data.n_patients if data.row_weight is None else float(data.row_weight.sum())
    return ("from the prior (each draw's expected share of the cohort, by covariate "
            "profile: the share of a simulated cohort of this size has an SD of at most "
            f"{0.5 / n ** 0.5:.4f} around it)")


def render_figures(a: Analysis, folder: Path, *, formats=("png", "pdf"), dpi: int = 300,
                   random_seed: int = 0, problems: Problems | None = None,
                   jobs: int | None = None, early=None) -> dict[str, str]:
    """Draw every figure of the report into ``folder``; return ``{stem: caption}``.

    Parameters
    ----------
    a : Analysis
        The analysis to draw.
    folder : Path
        Where the files go (created).
    formats : sequence of str
        File formats of each figure.
    dpi : int
        Resolution of raster formats.
    random_seed : int
        Seed of the prior predictive simulation.
    problems : report_guard.Problems, optional
        When given, a figure that fails is recorded there (and warned) and the others
        are still drawn; figures that do not apply to the model's terms are noted.
        Without it the first failure raises.
    jobs : int, optional
        With ``problems``: worker processes drawing the figures in parallel (forked,
        :func:`~footdrop_bayes.report_workers.run_steps`). Default: the environment
        variable ``FOOTDROP_BAYES_FIGURE_JOBS``, else the cores free now
        (:func:`~footdrop_bayes.report_workers.idle_jobs`: 2 on an idle 2-core machine,
        1 when the other core is busy; measured on a shared 2-core machine, 2 workers
        were slower than 1 in a fresh process at load 5, docs/performance.md). Without
        ``problems`` always in this process.
    early : report_early.EarlyFigures, optional
        With ``problems``: figures already being drawn while the analysis ran
        (:mod:`~footdrop_bayes.report_early`). Each is taken from there when it was drawn
        from this analysis's own inputs, formats and resolution; otherwise (or if its
        process died) it is drawn here.
    """
    lvl = f"{100 * a.interval:g}%"
    model, unit = a.model, a.cohort.time_unit
    kms = attempt("Kaplan–Meier curves", lambda: _kms(a), problems) or {}
    band_note = (" Numeric covariates are shown in bands (" + ", ".join(a.bands) + ")."
                 if a.bands else "")
    drawers = {
        "kaplan_meier": (
            lambda: km_figure(a.cohort, kms, a.logrank, a.interval),
            f"Kaplan–Meier cumulative probability of recovery "
            f"{'by factor' if kms else 'of the whole cohort (no factors)'}, with pointwise {lvl} "
            f"confidence bands, numbers at risk and the log-rank p-value; withdrawn patients "
            f"are censored at their last visit.{band_note}"),
        "forest": (
            lambda: plots.plot_hazard_ratios(a.hazard_ratios, cox_output_table(a.cox),
                                             interval=a.interval, units=a.units),
            f"Hazard ratios of recovery against each factor's reference level (log scale): "
            f"Bayesian posterior medians with {lvl} credible intervals beside Cox estimates "
            f"with {lvl} confidence intervals. Numeric covariates "
            f"{per_phrase(a.options.get('per'))}."),
        "factor_ranking": (
            lambda: plots.plot_factor_ranking(
                a.ranking, summaries.rank_distribution(summaries.importance(model)),
                interval=a.interval),
            f"Importance of each prognostic factor (SD across patients of its contribution "
            f"to the log hazard): posterior medians with {lvl} credible intervals, "
            f"P(rank = 1) annotated; right, the posterior probability of each rank."),
        "posterior_curves": (
            lambda: plots.plot_posterior_recovery_panels(
                *posterior_curve_panels(a, kms), intervals=(0.5, a.interval)),
            f"Model check: posterior recovery curves of the patients at each level (median, "
            f"50% and {lvl} bands, each patient's own characteristics) over the observed "
            f"Kaplan–Meier steps.{curve_note(a)}{_clinic_curves_note(a)}"),
        "recovery_by_level": (
            lambda: plots.plot_recovery_at_followup(a.recovery, a.study_table,
                                                    interval=a.interval, time_unit=unit),
            f"Probability of recovery by the end of follow-up ({a.cohort.follow_up:g} "
            f"{unit}s) per level: cohort-averaged posterior (g-computation) with {lvl} "
            f"credible intervals, next to the Kaplan–Meier estimate (withdrawn censored) "
            f"and the study-style percentage (withdrawn excluded)."),
        "prior_predictive": (
            lambda: prior_figure(model, a.cohort, a.interval, random_seed),
            "Prior predictive check: cohort recovery curves "
            + _prior_curve_kind(model) + " (50% and 90% bands, sample curves) against "
            "the observed Kaplan–Meier curve."),
        "trace": (
            lambda: plots.plot_trace(model.idata),
            "MCMC diagnostics: rank plots per chain for the main parameters (uniform "
            "ranks mean the chains agree)."),
        "energy": (
            lambda: plots.plot_energy(model.idata),
            "MCMC diagnostics: marginal energy and energy-transition distributions "
            "(similar widths mean the sampler explores the posterior efficiently)."),
    }
    drawers.update(_clinic_drawers(a))
    if getattr(a, "time_varying", None) is not None:   # issue 10
        from .report_time_varying import time_varying_drawers

        drawers.update(time_varying_drawers(a))
    from .report_smooth import smooth_drawers

    drawers.update(smooth_drawers(a))
    if getattr(a, "withdrawal", None) is not None:
        drawers["withdrawal_sensitivity"] = (
            lambda: plots.plot_withdrawal_sensitivity(
                a.withdrawal.table, a.withdrawal.differences, a.withdrawal.tipping,
                interval=a.interval, time_unit=unit),
            f"Withdrawal sensitivity: probability of recovery by the end of follow-up per "
            f"level (left) and its difference from the reference level (right) against δ, "
            f"the log hazard ratio of recovery after withdrawal (−∞: withdrawn patients "
            f"never recover; 0, dashed: censored, missing at random; +∞: recover at once); "
            f"posterior medians with {lvl} credible bands, tipping points dotted.")
    if not has_terms(a):
        drawers.pop("forest")
    if len(a.ranking) < 2:
        drawers.pop("factor_ranking")
    captions = {}
    renders = {stem: partial(render_one, draw, stem, folder, formats, dpi)
               for stem, (draw, _caption) in drawers.items()}
    if problems is None:                   # direct calls: in this process, errors raise
        return {stem: drawers[stem][1] for stem, render in renders.items() if render()}
    # the report: figures in parallel worker processes (report_workers), failures named
    ahead = [] if early is None else [
        stem for stem, inputs in early_inputs(a, random_seed).items()
        if stem in renders and early.started(stem, inputs, formats, dpi)]
    rest = [s for s in renders if s not in ahead]
    if jobs is None:
        try:
            jobs = max(1, int(os.environ.get("FOOTDROP_BAYES_FIGURE_JOBS", "1")))
        except ValueError:
            jobs = 1
        if "FOOTDROP_BAYES_FIGURE_JOBS" not in os.environ:    # cores free now (idle_jobs)
            # the figures still being drawn ahead are ours, not other processes' work
            jobs = min(default_jobs(len(rest)),
                       idle_jobs(len(rest)) + (early.running() if ahead else 0))
    # the longest steps start first (workers take steps in order), so no long figure
    # is left to one worker at the end; the captions keep the report's order
    order = sorted(rest, key=lambda s: SLOW_FIRST.index(s) if s in SLOW_FIRST
                   else len(SLOW_FIRST))
    failures = dict(zip(order, run_steps([renders[s] for s in order], jobs), strict=True))
    for stem in ahead:
        failures[stem] = early.take(stem, folder)
        if failures[stem] is False:                  # its process died: draw it here
            failures[stem] = run_steps([renders[stem]], 1)[0]
    for stem in renders:
        failure = failures[stem]
        if failure is None:
            captions[stem] = drawers[stem][1]
        else:
            attempt(f"figure {stem!r}", partial(_raise, failure_exception(failure)),
                    problems)
    return captions


def _raise(exc: Exception):
    raise exc


def curve_factors(a: Analysis) -> list[str]:
    """Factors of the model-check figure: the model's, plus the group when asked
    (``analyse(..., clinic_curves=True)``, CLI ``--clinic-curves``)."""
    group = getattr(a.model, "group", None)
    extra = [group] if group and a.options.get("clinic_curves") else []
    return list(a.model.factors) + extra


def _clinic_curves_note(a: Analysis) -> str:
    group = getattr(a.model, "group", None)
    return f" The last panel shows each {group}." if group in curve_factors(a) else ""


def _clinic_drawers(a: Analysis) -> dict:
    """The caterpillar figure of clinics, for a model with a group."""
    if a.clinic_effects is None:
        return {}
    from .plots.clinics import mhr_text

    g, lvl = a.clinic_effects["term"].iloc[0], f"{100 * a.interval:g}%"
    var = a.clinic_variation
    mhr = (f" Between-{g} variation: {mhr_text(var, a.interval)}."
           if var is not None else "")
    from .summaries.clinics import average_label

    caption = (f"Each {g}'s hazard ratio of recovery against the "
               f"{average_label(a.clinic_effects, g)} (posterior "
               f"median, {lvl} credible interval; partially pooled, so small {g}s are "
               f"pulled towards the average), sorted by effect, with its numbers of "
               f"patients and recoveries.{mhr}")
    return {"clinic_effects": (lambda: plots.plot_clinic_effects(a.clinic_effects, var,
                                                                 interval=a.interval),
                               caption)}
