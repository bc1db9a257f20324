"""The whole analysis of a cohort: classical, Bayesian, ranking — as data.

:func:`analyse` runs every step and returns an :class:`Analysis`; :mod:`.report` writes
it to an output folder. Nothing here draws or writes files.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import classical, summaries
from .analysis_guard import empty_ranking, fit_cox, guarded_summary, third_party_notice
from .cohort import Cohort
from .errors import DataError
from .model import DEFAULT_SAMPLER_CONFIG, RecoveryModel

#: warnings that say nothing about the analysis (PyTensor's C backend is not used by the
#: default nutpie sampler)
IRRELEVANT_WARNINGS = ("PyTensor could not link to a BLAS",)

#: what is said before a long compilation (RecoveryModel.compile_outlook), which would
#: otherwise be a silent minute between the model's line and the sampler's progress bar
COMPILING = {
    "first": "compiling the model (numba): the first fit on this machine takes about a "
             "minute; later fits of this model load it from disk in under a second",
    "new": "compiling the model (numba): a model structure new to this machine takes "
           "10-40 s; later fits of it load it from disk in under a second",
}


@dataclass
class Analysis:
    """Results of :func:`analyse`, every table labelled.

    Attributes
    ----------
    cohort, model : Cohort, RecoveryModel
    bands : dict
        Bands used for numeric covariates in the classical tables and curves.
    study_table, logrank : DataFrame
        The study-style table beside the censoring-aware one; log-rank tests per factor.
    cox : classical.CoxResult
    ranking, hazard_ratios, recovery, medians : DataFrame
        Bayesian summaries (:mod:`footdrop_bayes.summaries`).
    diagnostics : dict
    interval : float
    warnings : list of str
        Every warning raised on the way, for the report.
    units : dict
        Unit of each numeric covariate (``{"age": "year"}``), for labels.
    clinic_effects, clinic_variation : DataFrame or None
        With a group: each clinic's hazard ratio against the average clinic and the clinic
        SD / median hazard ratio (:mod:`footdrop_bayes.summaries.clinics`).
    options : dict
        Options that shape the report (``per``, ``group_handling``, ``clinic_curves``).
    """

    cohort: Cohort
    model: RecoveryModel
    bands: dict
    study_table: pd.DataFrame
    logrank: pd.DataFrame
    cox: classical.CoxResult
    ranking: pd.DataFrame
    hazard_ratios: pd.DataFrame
    recovery: pd.DataFrame
    medians: pd.DataFrame
    diagnostics: dict
    interval: float
    warnings: list[str] = field(default_factory=list)
    units: dict = field(default_factory=dict)
    clinic_effects: pd.DataFrame | None = None
    clinic_variation: pd.DataFrame | None = None
    options: dict = field(default_factory=dict)
    #: withdrawal sensitivity (``summaries.withdrawal_analysis``), when requested
    withdrawal: object = None
    #: time-varying terms (``report_time_varying.TimeVaryingResults``), when modelled
    time_varying: object = None
    #: smooth terms' tables (``summaries.smooth_analysis.SmoothAnalysis``), when any
    smooth: object = None


def default_bands(cohort: Cohort) -> dict:
    """Tertile bands of each numeric covariate, labelled by their (rounded) limits."""
    out = {}
    for col in cohort.numeric:
        x = cohort.covariates[col]
        cuts = np.unique(np.round(x.quantile([1 / 3, 2 / 3]).to_numpy(), 1))
        if len(cuts) == 0 or x.nunique() < 3:
            continue
        lims = [f"{c:g}" for c in cuts]
        labels = ([f"<{lims[0]}"] + [f"{a}–{b}" for a, b in itertools.pairwise(lims)]
                  + [f"≥{lims[-1]}"])
        out[col] = (list(cuts), labels, "left")
    return out


def analyse(cohort: Cohort, *, group: str | None = None, bands: Mapping | None = None,
            draws: int = 1000, tune: int = 1000, chains: int = 4, sampler: str = "nutpie",
            random_seed: int = 20240601, interval: float = 0.95, progressbar: bool = True,
            model_config: dict | None = None, model: RecoveryModel | None = None,
            units: Mapping | None = None,
            say: Callable[[str], None] = print, target_accept: float | None = None,
            retry_target_accept: float | None = DEFAULT_SAMPLER_CONFIG[
                "retry_target_accept"],
            parameterization: str | Mapping | None = None,
            reference: Mapping | None = None, per: Mapping | None = None,
            group_handling: str = "strata", clinic_curves: bool = False,
            withdrawal: bool = False, deltas=None,
            delta_by: str | None = None, smooth: list[str] | None = None,
            smooth_at: Mapping | None = None,
            smooth_comparison: bool = True,
            on_stage: Callable[..., None] | None = None) -> Analysis:
    """Run the classical and the Bayesian analysis of ``cohort``.

    Parameters
    ----------
    cohort : Cohort
        The cohort; every factor and numeric covariate enters the models.
    group : str, optional
        Clinic / centre factor for random intercepts (not a fixed effect).
    bands : mapping, optional
        Bands of numeric covariates for the classical tables (default: tertiles).
    draws, tune, chains, sampler, random_seed, progressbar
        Sampler settings (see :class:`~footdrop_bayes.RecoveryModel`).
    interval : float
        Mass of every interval reported.
    model_config : dict, optional
        Prior settings merged over the defaults.
    model : RecoveryModel, optional
        An already fitted model of ``cohort`` (e.g. loaded with
        :meth:`RecoveryModel.load`) to summarise instead of fitting one; the sampler
        settings are then ignored.
    units : mapping, optional
        Unit of each numeric covariate (``{"age": "year"}``), for labels.
    say : callable
        Where progress messages go.
    target_accept : float, optional
        NUTS target acceptance rate (``sampler_config["target_accept"]``; CLI
        ``--target-accept``).
    retry_target_accept : float or None
        When the draws have divergent transitions, sample once more with the same seed
        at this target acceptance rate and keep that run (stated in the diagnostics and
        the report); ``None``: never (``sampler_config["retry_target_accept"]``; CLI
        ``--retry-target-accept``, ``off``).
    parameterization : str or mapping, optional
        Centred / non-centred choice for every block or per block (a factor, the group,
        ``"baseline"``): ``model_config["parameterization"]``; CLI ``--parameterization``.
    reference : mapping, optional
        Reference level per factor (``{"cause": "trauma"}``; CLI ``--reference``).
    per : mapping, optional
        Report numeric covariates' hazard ratios per so many units (``{"age": 10}``;
        Bayesian and Cox alike; CLI ``--per``).
    group_handling : {"strata", "cluster", "ignore"}
        How the Cox model handles ``group`` (:func:`~footdrop_bayes.classical.cox`; CLI
        ``--cox-clinic``).
    clinic_curves : bool
        Add the clinics to the model-check figure of recovery curves (CLI
        ``--clinic-curves``).
    withdrawal : bool
        Add the delta-adjusted withdrawal sensitivity analysis (tables, tipping points;
        :func:`~footdrop_bayes.summaries.withdrawal_analysis`). Off by default.
    deltas, delta_by
        Its delta grid and per-level deltas (see
        :func:`~footdrop_bayes.summaries.withdrawal_sensitivity`).
    smooth : sequence of str, optional
        Numeric covariates with smooth (non-linear) effects (``RecoveryModel(smooth=)``;
        CLI ``--smooth``): partial effects, hazard ratios and recovery at values, and
        the LOO comparison with the linear model (:mod:`~footdrop_bayes.report_smooth`).
    smooth_at : mapping, optional
        Values of numeric covariates for the hazard ratios and recovery probabilities
        at chosen values (``{"age": [30, 50, 70]}``; CLI ``--smooth-at``).
    smooth_comparison : bool
        Refit with each smooth term linear for the LOO comparison (default True).
    on_stage : callable, optional
        Called as ``on_stage(stage, **inputs)`` when a stage's results exist, so that
        work depending only on them can start early (the report's figures,
        :class:`~footdrop_bayes.report_early.EarlyFigures`): ``"classical"`` (``cohort,
        bands, logrank, interval, factors, group``), ``"model"`` (the model is built:
        ``model, cohort, interval``) and ``"sampled"`` (its posterior is final:
        ``model``).

    Notes
    -----
    Every option is checked before any fitting (``DataError`` naming the CLI option and
    the keyword). With ``model`` given, ``target_accept`` and ``parameterization`` are
    ignored like the other sampler settings, and ``reference`` is refused.
    """
    from . import options as opt

    if model is not None:
        if reference:
            raise ValueError("reference= applies when analyse() fits the model; the model "
                             "given was fitted with its own reference levels")
        group = group if group is not None else getattr(model, "group", None)
    cohort = opt.apply_reference(cohort, reference)
    fixed = [f for f in cohort.factors if f != group]
    opt.check_target_accept(target_accept)
    opt.check_retry_target_accept(retry_target_accept)
    opt.check_group_handling(group_handling)
    if model is None:
        opt.check_parameterization(parameterization, opt.model_blocks(fixed, group))
    opt.check_per(per, list(cohort.numeric) if model is None else model.covariates)
    if group is not None and group not in cohort.factors:
        raise DataError(f"group (--group) {group!r} is not a factor of the cohort "
                        f"({list(cohort.factors)})")
    if parameterization is not None:
        model_config = {**(model_config or {}), "parameterization": parameterization}
    sampler_extra = {"retry_target_accept": retry_target_accept} | (
        {} if target_accept is None else {"target_accept": float(target_accept)})
    caught: list[str] = []
    if withdrawal:
        summaries.withdrawal.check_delta_by(cohort, deltas, delta_by)
    smooth = opt_smooth(cohort, smooth, smooth_at, model)
    bands = default_bands(cohort) if bands is None else dict(bands)
    alpha = 1 - interval
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        say("classical analysis: Kaplan–Meier, log-rank, Cox, study table")
        table = classical.study_table(cohort, bands=bands, alpha=alpha)
        lr = classical.logrank(cohort, bands=bands)
        cox = fit_cox(cohort, fixed, list(cohort.numeric), alpha=alpha, group=group,
                      group_handling=group_handling)
        if per and not cox.table.empty:
            cox = replace(cox, table=opt.per_unit_cox_table(cox.table, per))
        stage = on_stage or (lambda stage, **inputs: None)
        stage("classical", cohort=cohort, bands=bands, logrank=lr, interval=interval,
              factors=fixed if model is None else model.factors,
              group=group if model is None else getattr(model, "group", None))
        if model is None:
            say(f"Bayesian model: {chains} chains x {draws} draws ({tune} tuning), "
                f"sampler {sampler}, seed {random_seed}")
            model = RecoveryModel(cohort, factors=fixed, group=group,
                                  model_config=model_config, **smooth,
                                  sampler_config={"draws": draws, "tune": tune,
                                                  "chains": chains, "sampler": sampler,
                                                  "progressbar": progressbar,
                                                  **sampler_extra})
            _ = model.model                 # built before the hook: its forks share it
            stage("model", model=model, cohort=cohort, interval=interval)
            outlook = model.compile_outlook()
            if outlook in COMPILING:
                say(COMPILING[outlook])
            model.fit(random_seed=random_seed)
            compiled = ("compiled model reused" if model.compile_reused else
                        f"{model.nutpie_backend} backend, compiled in "
                        f"{model.compile_time:.1f} s"
                        if model.compile_time is not None else "")
            say(f"sampled in {model.idata.posterior.attrs['sampling_time']:.1f} s"
                + (f" ({compiled})" if compiled else ""))
            first = model.diagnostics().get("retry")
            if first:
                say(f"{first['divergences']} divergent transition(s) at target_accept "
                    f"{first['target_accept']:g} ({first['sampling_time']:.1f} s): sampled "
                    f"again at {first['retried_at']:g}, same seed (--retry-target-accept)")
        elif model.idata is None:
            raise ValueError("the model given to analyse() is not fitted; call .fit() first")
        else:
            stage("model", model=model, cohort=cohort, interval=interval)
        stage("sampled", model=model)
        diag = model.diagnostics()
        say("summaries: ranking, hazard ratios, recovery probabilities")
        ranking = guarded_summary("factor ranking", lambda: (
            summaries.factor_ranking(model, interval=interval)
            if model.factors or model.covariates else empty_ranking(interval)))
        hrs = guarded_summary("hazard ratios", lambda: summaries.hazard_ratios(
            model, interval=interval, per=per, **({"at": smooth_at} if smooth_at else {})))
        clinic_fx = clinic_var = None
        if getattr(model, "group", None):
            clinic_fx = guarded_summary("clinic effects", lambda: summaries.clinic_effects(
                model, interval=interval))
            clinic_var = guarded_summary("clinic variation", lambda: (
                summaries.clinic_variation(model, interval=interval)))
            if clinic_fx.empty or clinic_var.empty:
                clinic_fx = clinic_var = None
        recovery = guarded_summary("recovery probabilities", lambda: (
            summaries.recovery_probabilities(model, times="grid", interval=interval)))
        medians = guarded_summary("median recovery times", lambda: (
            summaries.median_recovery_times(model, interval=interval)))
        sens = None
        if withdrawal:
            say("withdrawal sensitivity: delta-adjusted recovery, tipping points")
            try:
                sens = summaries.withdrawal_analysis(model, deltas, interval=interval,
                                                     delta_by=delta_by)
            except Exception as exc:       # a late failure must not lose the fit
                warnings.warn(f"withdrawal sensitivity analysis failed and is left out: "
                              f"{type(exc).__name__}: {exc}", stacklevel=2)
        tv = None
        if getattr(model, "time_varying", None):   # issue 10
            from .report_time_varying import time_varying_analysis

            say("time-varying terms: hazard ratios, regimes, Cox with time-varying "
                "covariates")
            tv = time_varying_analysis(model, interval=interval)
            hrs = pd.concat([hrs, tv.hazard_ratios], ignore_index=True)
        smooth_tables = None
        if getattr(model, "smooth", None):
            say("smooth terms: partial effects" + (", LOO against linear refits"
                                                   if smooth_comparison else ""))
            from .summaries.smooth_analysis import smooth_analysis

            smooth_tables = smooth_analysis(model, at=smooth_at, compare=smooth_comparison,
                                            interval=interval, random_seed=random_seed)
    log = [w for w in log if not str(w.message).startswith(IRRELEVANT_WARNINGS)
           and not third_party_notice(w)]
    caught = list(dict.fromkeys(str(w.message) for w in log))
    for w in log:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return Analysis(cohort=cohort, model=model, bands=bands, study_table=table, logrank=lr,
                    cox=cox, ranking=ranking, hazard_ratios=hrs, recovery=recovery,
                    medians=medians, diagnostics=diag, interval=interval, warnings=caught,
                    units=dict(units or {}), clinic_effects=clinic_fx,
                    clinic_variation=clinic_var,
                    options={"per": dict(per or {}), "group_handling": group_handling,
                             "clinic_curves": bool(clinic_curves)},
                    withdrawal=sens, time_varying=tv, smooth=smooth_tables)


def opt_smooth(cohort: Cohort, smooth, smooth_at, model) -> dict:
    """Check ``smooth=`` / ``smooth_at=`` before any fitting; RecoveryModel's keywords.

    Raises
    ------
    DataError
        Naming the CLI option (``--smooth`` / ``--smooth-at``) and the columns.
    """
    numeric = list(cohort.numeric)
    terms = [smooth] if isinstance(smooth, str) else list(smooth or [])
    bad = [t for t in terms if t not in numeric]
    if bad:
        raise DataError(f"smooth (--smooth): {bad} are not numeric covariates of the cohort "
                        f"({numeric}); a smooth term is a numeric column such as age")
    bad = [t for t in (smooth_at or {}) if t not in numeric]
    if bad:
        raise DataError(f"smooth_at (--smooth-at): {bad} are not numeric covariates of the "
                        f"cohort ({numeric})")
    if model is not None or not terms:
        return {}
    return {"smooth": terms}
