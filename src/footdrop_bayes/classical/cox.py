r"""Cox proportional-hazards regression of recovery (lifelines ``CoxPHFitter``).

The hazard of recovery of patient *i* is :math:`h_i(t) = h_0(t)\exp(x_i^\top\beta)`, with
factors dummy-coded against their reference level (the cohort's first level) and numeric
covariates entered as given (hazard ratio per one unit). Ties — many recoveries recorded
at the same visit — are handled by Efron's method (lifelines' only method). A hazard
ratio above 1 means faster recovery.

Checks reported with the fit:

- **events per variable** (recoveries / number of coefficients) below 10 gives a
  :class:`FewEventsWarning` (Peduzzi et al. 1995): estimates and intervals become
  unreliable;
- **separation**: a factor level whose patients all stayed unrecovered (its hazard ratio
  drifts to 0) or all recovered (unstable, often extreme) gives a
  :class:`SeparationWarning`;
- **collinearity**: a design column with a variance inflation factor above 10 (e.g. every
  radiculopathy is a root lesion, so cause and site nearly determine each other) gives a
  :class:`CollinearityWarning`: the terms' hazard ratios carry each other's effects and
  their intervals are wide;
- **clinics** (``group=``, a multi-centre cohort), by ``group_handling``:

  - ``"strata"`` (the default): a separate baseline hazard per clinic (lifelines
    ``strata``); the hazard ratios compare patients within a clinic, the classical
    counterpart of the Bayesian model's clinic intercepts, and no assumption is made on
    how clinics differ (not even proportional hazards between them). Chosen as the
    default because it is the comparison the Bayesian model makes (conditional on the
    clinic) and it adjusts for confounding by clinic. Its price: a clinic contributes
    only comparisons among its own patients, so a clinic with one patient or no
    recovery adds nothing; prefer ``"cluster"`` with many tiny clinics;
  - ``"cluster"``: one baseline hazard, cluster-robust (sandwich) standard errors by
    clinic (lifelines ``cluster_col``): population-averaged hazard ratios whose
    intervals allow for patients of one clinic being alike; not adjusted for clinic
    differences, and with few clinics (< ~20-30) the sandwich standard errors are
    themselves imprecise;
  - ``"ignore"``: the clinic is left out (patients treated as independent).

- **proportional hazards**: lifelines' scaled Schoenfeld residual test
  (``proportional_hazard_test``, rank-transformed time) per coefficient; a factor with
  several levels gets one verdict from its smallest p-value, Bonferroni-adjusted over its
  levels.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from ..cohort import Cohort
from ..errors import DataError
from ._common import durations, factor_series, row_weights
from .checks import CollinearityWarning, FewEventsWarning, SeparationWarning
from .cox_counts import CountsCoxFitter
from .cox_output import not_estimable, restate_lifelines

TABLE_COLUMNS = ["term", "level", "reference", "hr", "hr_low", "hr_high", "p_value"]
GROUP_HANDLING = ("strata", "cluster", "ignore")
MIN_EVENTS_PER_VARIABLE = 10
MAX_VIF = 10.0


def variance_inflation(X: pd.DataFrame, weights=None) -> pd.Series:
    """Variance inflation factor of each design column: 1 / (1 - R²) on the others.

    ``weights`` (patients per row of a collapsed cohort) weight the correlations, so a
    collapsed cohort gets its patients' VIFs, not its distinct rows'.
    """
    C = np.cov(X.to_numpy(float), rowvar=False, fweights=None if weights is None
               else np.rint(np.asarray(weights, float)).astype(np.int64))
    C = np.atleast_2d(C)
    sd = np.sqrt(np.diag(C))
    R = C / np.outer(sd, sd)
    return pd.Series(np.diag(np.linalg.pinv(np.atleast_2d(R))), index=X.columns)


@dataclass
class CoxResult:
    """A fitted Cox model of recovery.

    Attributes
    ----------
    table : DataFrame
        One row per coefficient, columns exactly ``term, level, reference, hr, hr_low,
        hr_high, p_value`` (``level`` and ``reference`` empty for numeric covariates, whose
        HR is per one unit). Indexed by ``coefficient``, the readable column name used in
        the lifelines fit (``"site[sciatic nerve]"``, ``"age"``).
    summary : DataFrame
        The same rows with lifelines' full summary (``coef``, ``se(coef)``, ``z``, ...).
    concordance : float
        Harrell's concordance index.
    likelihood_ratio : Series
        ``statistic``, ``df``, ``p_value`` of the likelihood-ratio test against the null
        model.
    ph_test : DataFrame
        Scaled Schoenfeld residual test per coefficient: ``term, level, statistic,
        p_value``.
    ph_verdict : DataFrame
        Indexed by ``term``: ``p_value`` (Bonferroni over the term's levels), ``verdict``
        (plain language).
    n_patients, n_events : int
    events_per_variable : float
    warnings : list of str
        The messages of the warnings raised while fitting (for reports).
    fitter : lifelines.CoxPHFitter
        The fitted lifelines model.
    group : str or None
        The clinic / group column, if given.
    group_handling : str
        How the clinic entered: ``"strata"``, ``"cluster"``, ``"ignore"``, or ``"none"``
        (no group given).
    not_estimable : list of str
        Coefficients (``table`` index) without a finite estimate
        (:mod:`.cox_output`); shown as "not estimable".
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    concordance: float
    likelihood_ratio: pd.Series
    ph_test: pd.DataFrame
    ph_verdict: pd.DataFrame
    n_patients: int
    n_events: int
    events_per_variable: float
    warnings: list[str] = field(default_factory=list)
    fitter: CoxPHFitter | None = None
    group: str | None = None
    group_handling: str = "none"
    not_estimable: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"CoxResult({self.n_patients} patients, {self.n_events} events, "
                f"{len(self.table)} coefficients, concordance {self.concordance:.3f}, "
                f"LR p = {self.likelihood_ratio['p_value']:.3g})")


def design(cohort: Cohort, factors: Sequence[str], covariates: Sequence[str]
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dummy-coded design matrix and its key (``term, level, reference`` per column)."""
    cols, key = {}, []
    for f in factors:
        s = factor_series(cohort, f)
        ref = s.cat.categories[0]
        for lv in s.cat.categories[1:]:
            name = f"{f}[{lv}]"
            cols[name] = (s == lv).astype(float).to_numpy()
            key.append((name, f, str(lv), str(ref)))
    for c in covariates:
        if c not in cohort.numeric:
            raise DataError(f"unknown numeric covariate {c!r}; the cohort's numeric "
                            f"covariates are {list(cohort.numeric)}")
        name = c
        cols[name] = cohort.covariates[c].to_numpy(float)
        key.append((name, c, "", ""))
    X = pd.DataFrame(cols, index=cohort.patient_ids)
    key = pd.DataFrame(key, columns=["column", "term", "level", "reference"]).set_index("column")
    return X, key


def _checks(cohort: Cohort, factors, X: pd.DataFrame, key: pd.DataFrame,
            e: pd.Series) -> list[str]:
    n_params = X.shape[1]
    msgs = []
    w = row_weights(cohort)                 # patients per row (ones unless collapsed)
    ev_w = e.to_numpy(float) * w
    n_events = int(np.rint(ev_w.sum()))
    epv = n_events / max(n_params, 1)
    if epv < MIN_EVENTS_PER_VARIABLE:
        msgs.append((FewEventsWarning,
                     f"Cox model: {n_events} recoveries for {n_params} coefficients "
                     f"({epv:.1f} events per variable, fewer than {MIN_EVENTS_PER_VARIABLE}); "
                     "hazard ratios and their intervals are unreliable - use fewer factors "
                     "(--factors / --covariates; factors= / covariates=), merge rare levels, "
                     "or prefer the Bayesian model with partial pooling"))
    for f in factors:
        s = factor_series(cohort, f)
        for lv in s.cat.categories:
            m = (s == lv).to_numpy()
            ev, n_lv = int(np.rint(ev_w[m].sum())), int(np.rint(w[m].sum()))
            if ev == 0:
                msgs.append((SeparationWarning,
                             f"Cox model: no recoveries at level {lv!r} of {f!r} ({n_lv} "
                             "patients): its hazard ratio has no finite estimate (it drifts "
                             "towards 0) and its interval is meaningless"))
            elif ev == n_lv:
                msgs.append((SeparationWarning,
                             f"Cox model: every patient at level {lv!r} of {f!r} recovered "
                             f"({n_lv} patients): its hazard ratio may be extreme and "
                             "unstable"))
    if X.shape[1] > 1:
        vif = variance_inflation(X, None if getattr(cohort, "weights", None) is None else w)
        high = vif[vif > MAX_VIF]
        if len(high):
            terms = sorted(set(key.loc[high.index, "term"]))
            msgs.append((CollinearityWarning,
                         f"Cox model: collinear terms {terms} (variance inflation up to "
                         f"{high.max():.0f}, above {MAX_VIF:g}: e.g. levels of one factor "
                         "nested in a level of another); their hazard ratios carry each "
                         "other's effects and are unstable - read them together, drop one "
                         "(--factors / factors=), or "
                         "prefer the Bayesian model with partial pooling"))
    return msgs


def _verdict(p: float) -> str:
    if not np.isfinite(p):
        return "not tested"
    if p < 0.05:
        return (f"evidence that the hazard ratio changes over follow-up (p = {p:.3g}): read "
                "it as an average effect, or stratify / model the change")
    return f"no evidence against proportional hazards (p = {p:.3g})"


def cox(cohort: Cohort, factors: str | Sequence[str] | None = None,
        covariates: str | Sequence[str] | None = None, *, alpha: float = 0.05,
        penalizer: float = 0.0, group: str | None = None,
        group_handling: str = "strata") -> CoxResult:
    """Fit a Cox proportional-hazards model of recovery.

    Parameters
    ----------
    cohort : Cohort
        The cohort (band numeric covariates first with :func:`band_covariates` to
        enter them as factors).
    factors, covariates : str or sequence of str, optional
        Factors (dummy-coded against their reference level) and numeric covariates (per
        unit). If both are None, every factor (except ``group``) and covariate of the
        cohort; if only one is given, the other is empty.
    alpha : float
        Intervals are ``1 - alpha`` Wald intervals.
    penalizer : float
        lifelines' ridge penalty (0 = ordinary partial likelihood).
    group : str, optional
        Clinic / centre factor of a multi-centre cohort (not a term of the model).
    group_handling : {"strata", "cluster", "ignore"}
        How ``group`` enters (see the module docstring): a baseline hazard per clinic
        (default), cluster-robust standard errors by clinic, or not at all. CLI:
        ``--cox-clinic``.

    Returns
    -------
    CoxResult
        ``table`` with columns ``term, level, reference, hr, hr_low, hr_high, p_value``,
        plus concordance, likelihood-ratio test, proportional-hazards test and verdicts.

    Warns
    -----
    FewEventsWarning
        Fewer than 10 recoveries per coefficient.
    SeparationWarning
        A factor level with no recoveries or only recoveries.
    CollinearityWarning
        Terms with a variance inflation factor above 10.
    """
    _check_group(cohort, group, group_handling, factors)
    if factors is None and covariates is None:
        factors = [f for f in cohort.factors if f != group]
        covariates = list(cohort.numeric)
    factors = [factors] if isinstance(factors, str) else list(factors or [])
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    if not factors and not covariates:
        raise DataError("the Cox model needs at least one factor or covariate")
    X, key = design(cohort, factors, covariates)
    t, e = durations(cohort)
    found = _checks(cohort, factors, X, key, e)
    for cls, msg in found:
        warnings.warn(msg, cls, stacklevel=2)
    df = X.assign(_duration=t.to_numpy(), _event=e.to_numpy().astype(int))
    handling = "none" if group is None else group_handling
    extra = {}
    if handling in ("strata", "cluster"):
        df["_group"] = factor_series(cohort, group).cat.codes.to_numpy()
        extra = ({"strata": ["_group"]} if handling == "strata"
                 else {"cluster_col": "_group"})
    if getattr(cohort, "weights", None) is not None:   # a collapsed cohort: frequency weights
        df["_weight"] = cohort.weights.to_numpy(float)
        extra["weights_col"] = "_weight"
    cph = CoxPHFitter(alpha=alpha, penalizer=penalizer)
    if "weights_col" in extra and handling != "cluster" and not penalizer:
        cph = CountsCoxFitter(alpha=alpha)     # exact Efron ties on counts (cox_counts)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cph.fit(df, duration_col="_duration", event_col="_event", **extra)
    restated = list(dict.fromkeys(restate_lifelines(w.message) for w in caught))
    for msg in restated:
        warnings.warn(msg, SeparationWarning if "separation" in msg else UserWarning,
                      stacklevel=2)
    s = cph.summary
    lo, hi = s.columns[s.columns.str.startswith("exp(coef) lower")][0], \
        s.columns[s.columns.str.startswith("exp(coef) upper")][0]
    table = key.join(pd.DataFrame({"hr": s["exp(coef)"], "hr_low": s[lo], "hr_high": s[hi],
                                   "p_value": s["p"]}))
    table.index.name = "coefficient"
    summary = key.join(s)
    lr = cph.log_likelihood_ratio_test()
    likelihood_ratio = pd.Series({"statistic": float(lr.test_statistic),
                                  "df": int(lr.degrees_freedom),
                                  "p_value": float(lr.p_value)}, name="likelihood_ratio")
    with warnings.catch_warnings(record=True) as ph_caught:
        warnings.simplefilter("always")
        ph_test, ph_verdict = (_ph(cph, df, key) if "weights_col" not in extra
                               else _ph_not_computed(key))
    for w in ph_caught:
        if not issubclass(w.category, (DeprecationWarning, FutureWarning)):
            msg = restate_lifelines(w.message)
            if msg not in restated:
                restated.append(msg)
                warnings.warn(msg, UserWarning, stacklevel=2)
    flags = not_estimable(summary, cohort, e.to_numpy())
    return CoxResult(table=table[TABLE_COLUMNS], summary=summary,
                     concordance=(float(cph.concordance_index_) if "weights_col" not in extra
                                  else float("nan")),   # lifelines' C ignores weights
                     likelihood_ratio=likelihood_ratio, ph_test=ph_test,
                     ph_verdict=ph_verdict, n_patients=int(np.rint(row_weights(cohort).sum())),
                     n_events=int(np.rint((e.to_numpy(float) * row_weights(cohort)).sum())),
                     events_per_variable=float((e.to_numpy(float)
                                                * row_weights(cohort)).sum()) / X.shape[1],
                     warnings=[m for _, m in found] + list(dict.fromkeys(restated)),
                     fitter=cph, not_estimable=list(flags.index[flags.to_numpy()]),
                     group=group, group_handling=handling)


def _check_group(cohort: Cohort, group, handling, factors) -> None:
    if handling not in GROUP_HANDLING:
        raise DataError(f"unknown clinic handling group_handling={handling!r} (CLI "
                        f"--cox-clinic); choose one of {GROUP_HANDLING}")
    if group is None:
        return
    factor_series(cohort, group)
    named = [factors] if isinstance(factors, str) else list(factors or [])
    if group in named:
        raise DataError(f"{group!r} is both the clinic (group) and a factor of the Cox "
                        "model: give it as one or the other")


def describe_group_handling(result: CoxResult) -> str:
    """One sentence on how the Cox model handled the clinic, for reports."""
    g = result.group
    if result.group_handling == "strata":
        return (f"The Cox model was stratified by {g} (a separate baseline hazard per "
                f"{g}, lifelines `strata`): its hazard ratios compare patients within the "
                f"same {g}, as the Bayesian model's {g} intercepts do.")
    if result.group_handling == "cluster":
        return (f"The Cox model has one baseline hazard for all {g}s and cluster-robust "
                f"(sandwich) standard errors by {g} (lifelines `cluster_col`): "
                f"population-averaged hazard ratios whose intervals allow for patients of "
                f"one {g} being alike; they are not adjusted for differences between "
                f"{g}s.")
    if result.group_handling == "ignore":
        return (f"The Cox model ignores the {g} (patients treated as independent; "
                f"choose strata or cluster-robust errors with --cox-clinic / "
                f"group_handling=).")
    return ""


def schoenfeld_residuals(cph: CoxPHFitter, df: pd.DataFrame) -> pd.DataFrame:
    """Scaled Schoenfeld residuals of a fitted (unstratified) Cox model, vectorised.

    The same numbers as ``cph.compute_residuals(df, "scaled_schoenfeld")`` (Efron ties;
    rows in lifelines' sorted order, events only), whose per-row loop costs time
    quadratic in the number of rows; here one pass per distinct event time.
    """
    X, T, E, weights, _, index, _ = cph._preprocess_dataframe(df)
    x = X.to_numpy(float)
    t, e = T.to_numpy(float), E.to_numpy(bool)
    score = weights.to_numpy(float) * np.exp(x @ cph.params_.to_numpy(float))
    times = np.unique(t)                                          # t is sorted ascending
    code = np.searchsorted(times, t)
    risk = np.cumsum(np.bincount(code, score, len(times))[::-1])[::-1]
    sx = score[:, None] * x
    risk_x = np.cumsum(np.stack([np.bincount(code, sx[:, j], len(times))
                                 for j in range(x.shape[1])], 1)[::-1], 0)[::-1]
    tie = np.bincount(code[e], score[e], len(times))
    tie_x = np.stack([np.bincount(code[e], sx[e, j], len(times))
                      for j in range(x.shape[1])], 1)
    n_tied = np.bincount(code[e], minlength=len(times))
    mean = np.zeros((len(times), x.shape[1]))
    for k in np.flatnonzero(n_tied):
        frac = np.arange(n_tied[k]) / n_tied[k]
        numer = risk_x[k][None, :] - frac[:, None] * tie_x[k][None, :]
        denom = risk[k] - frac * tie[k]
        mean[k] = (numer / (denom * n_tied[k])[:, None]).sum(0)
    resid = (x - mean[code])[e]
    scaled = E.sum() * resid @ cph.variance_matrix_.to_numpy(float)
    return pd.DataFrame(scaled, columns=cph.params_.index, index=index[e])


def _ph_not_computed(key: pd.DataFrame):
    """The PH test tables of a collapsed cohort: not computed (residuals are per row)."""
    ph = key[["term", "level"]].assign(statistic=np.nan, p_value=np.nan)
    ph.index.name = "coefficient"
    terms = list(dict.fromkeys(key["term"]))
    verdict = pd.DataFrame({"p_value": np.nan,
                            "verdict": "not computed on a collapsed cohort"},
                           index=pd.Index(terms, name="term"))
    return ph, verdict


def _ph(cph: CoxPHFitter, df: pd.DataFrame, key: pd.DataFrame):
    res = proportional_hazard_test(cph, df, time_transform="rank",
                                   precomputed_residuals=schoenfeld_residuals(cph, df))
    s = res.summary
    ph = key[["term", "level"]].join(pd.DataFrame({"statistic": s["test_statistic"],
                                                   "p_value": s["p"]}))
    ph.index.name = "coefficient"
    rows = {}
    for term, g in ph.groupby("term", sort=False):
        p = float(min(1.0, g["p_value"].min() * len(g)))
        rows[term] = {"p_value": p, "verdict": _verdict(p)}
    verdict = pd.DataFrame.from_dict(rows, orient="index")
    verdict.index.name = "term"
    return ph, verdict
