"""The whole analysis of a cohort: classical, Bayesian, ranking — as data.

:func:`analyse` runs every step and returns an :class:`Analysis`; :mod:`.report` writes
it to an output folder. Nothing here draws or writes files.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import classical, summaries
from .analysis_guard import empty_ranking, fit_cox, guarded_summary, third_party_notice
from .cohort import Cohort
from .model import RecoveryModel

#: warnings that say nothing about the analysis (PyTensor's C backend is not used by the
#: default nutpie sampler)
IRRELEVANT_WARNINGS = ("PyTensor could not link to a BLAS",)


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
            say: Callable[[str], None] = print) -> Analysis:
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
    """
    caught: list[str] = []
    bands = default_bands(cohort) if bands is None else dict(bands)
    fixed = [f for f in cohort.factors if f != group]
    alpha = 1 - interval
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        say("classical analysis: Kaplan–Meier, log-rank, Cox, study table")
        table = classical.study_table(cohort, bands=bands, alpha=alpha)
        lr = classical.logrank(cohort, bands=bands)
        cox = fit_cox(cohort, fixed, list(cohort.numeric), alpha=alpha)
        if model is None:
            say(f"Bayesian model: {chains} chains x {draws} draws ({tune} tuning), "
                f"sampler {sampler}, seed {random_seed}")
            model = RecoveryModel(cohort, factors=fixed, group=group,
                                  model_config=model_config,
                                  sampler_config={"draws": draws, "tune": tune,
                                                  "chains": chains, "sampler": sampler,
                                                  "progressbar": progressbar})
            model.fit(random_seed=random_seed)
        elif model.idata is None:
            raise ValueError("the model given to analyse() is not fitted; call .fit() first")
        diag = model.diagnostics()
        say("summaries: ranking, hazard ratios, recovery probabilities")
        ranking = guarded_summary("factor ranking", lambda: (
            summaries.factor_ranking(model, interval=interval)
            if model.factors or model.covariates else empty_ranking(interval)))
        hrs = guarded_summary("hazard ratios", lambda: summaries.hazard_ratios(
            model, interval=interval))
        recovery = guarded_summary("recovery probabilities", lambda: (
            summaries.recovery_probabilities(model, times="grid", interval=interval)))
        medians = guarded_summary("median recovery times", lambda: (
            summaries.median_recovery_times(model, interval=interval)))
    log = [w for w in log if not str(w.message).startswith(IRRELEVANT_WARNINGS)
           and not third_party_notice(w)]
    caught = list(dict.fromkeys(str(w.message) for w in log))
    for w in log:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return Analysis(cohort=cohort, model=model, bands=bands, study_table=table, logrank=lr,
                    cox=cox, ranking=ranking, hazard_ratios=hrs, recovery=recovery,
                    medians=medians, diagnostics=diag, interval=interval, warnings=caught,
                    units=dict(units or {}))
