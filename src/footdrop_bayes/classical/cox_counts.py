r"""Cox partial likelihood on collapsed rows: exact Efron (or Breslow) ties with counts.

A collapsed cohort has one row per (covariates, interval, event) with ``w`` patients. The
patients of a row are identical, so each patient-level sum of the Cox partial likelihood
is a sum over rows weighted by ``w``. At an event time :math:`\tau` with risk-set sums
:math:`R_k = \sum_{j \in R(\tau)} w_j e^{x_j^\top\beta} x_j^{\otimes k}`, sums over the
rows recovering at :math:`\tau` :math:`D_k` and :math:`d = \sum w` recoveries there,
Efron's method gives

.. math::

    \ell(\beta) = \sum_\tau \Big[ \sum_{i \in D(\tau)} w_i x_i^\top \beta
        - \sum_{l=0}^{d-1} \log\big(R_0 - \tfrac{l}{d} D_0\big) \Big]

(Breslow: every :math:`l/d` replaced by 0), which is *the same number* as the
per-patient Efron likelihood of the expanded cohort: the counts enter as patients, not as
rows. lifelines' ``weights_col`` does not do this for Efron ties (it counts tied *rows*
and scales the correction by their mean weight), so a collapsed cohort's Cox fit is
computed here, by Newton-Raphson with the exact gradient and Hessian (observed
information), and checked against lifelines' per-patient Efron fit of the expanded
cohort (``tests/test_classical_cox_counts.py``). Strata (a baseline hazard per clinic)
add up stratum by stratum. Work is proportional to rows plus recoveries, never to
patients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIES = ("efron", "breslow")


@dataclass
class CountsCoxFit:
    """Result of :func:`fit_cox_counts`.

    Attributes
    ----------
    params : ndarray
        Coefficients (log hazard ratios).
    variance : ndarray
        Inverse observed information at ``params`` (p x p).
    log_likelihood, null_log_likelihood : float
        Log partial likelihood at ``params`` and at 0.
    iterations : int
        Newton steps taken.
    ties : str
    """

    params: np.ndarray
    variance: np.ndarray
    log_likelihood: float
    null_log_likelihood: float
    iterations: int
    ties: str

    @property
    def standard_errors(self) -> np.ndarray:
        return np.sqrt(np.diag(self.variance))


def _prepare(X, time, event, weight, strata):
    X = np.asarray(X, float)
    if X.ndim == 1:
        X = X[:, None]
    t = np.asarray(time, float)
    e = np.asarray(event).astype(bool)
    w = np.asarray(weight, float)
    s = np.zeros(len(t), np.int64) if strata is None else \
        np.unique(np.asarray(strata), return_inverse=True)[1].ravel()
    keep = w > 0
    X, t, e, w, s = X[keep], t[keep], e[keep], w[keep], s[keep]
    # blocks of (stratum, time), later times first within a stratum: risk sets are
    # cumulative sums over the blocks of a stratum
    order = np.lexsort((-t, s))
    X, t, e, w, s = X[order], t[order], e[order], w[order], s[order]
    new = np.r_[True, (t[1:] != t[:-1]) | (s[1:] != s[:-1])]
    starts = np.flatnonzero(new)
    block = np.cumsum(new) - 1
    block_stratum = s[starts]
    dead = np.bincount(block, weights=w * e, minlength=len(starts))
    return X, e, w, block, starts, block_stratum, dead


class _Problem:
    """Everything of the likelihood that does not depend on ``beta``."""

    def __init__(self, X, time, event, weight, strata, ties):
        if ties not in TIES:
            raise ValueError(f"ties must be one of {TIES}, not {ties!r}")
        (self.X, self.e, self.w, self.block, self.starts, self.block_stratum,
         dead) = _prepare(X, time, event, weight, strata)
        self.p = self.X.shape[1]
        self.xsum = (self.w * self.e) @ self.X             # sum of x over recoveries
        ev = np.flatnonzero(dead > 0)
        self.ev = ev
        d = np.rint(dead[ev]).astype(np.int64)
        if ties == "efron":
            if not np.allclose(dead[ev], d):
                raise ValueError("Efron ties need integer counts of patients")
            owner = np.repeat(np.arange(len(ev)), d)             # one term per patient
            first = np.repeat(np.cumsum(d) - d, d)
            self.c = (np.arange(d.sum()) - first) / np.repeat(d, d)
            self.owner = owner
        else:
            self.c = np.zeros(len(ev))
            self.owner = np.arange(len(ev))
            self.mult = dead[ev]
        self.ties = ties
        # a stratum's risk sets: reverse cumulative sums restart at each stratum
        start = np.r_[True, self.block_stratum[1:] != self.block_stratum[:-1]]
        self.stratum_first = np.maximum.accumulate(
            np.where(start, np.arange(len(start)), 0))

    def _cum(self, per_block):
        """Risk-set sums: cumulative over blocks (later times first), per stratum."""
        total = np.cumsum(per_block, axis=0)
        prev = self.stratum_first - 1                    # last block of earlier strata
        offset = np.where((prev >= 0).reshape((-1,) + (1,) * (total.ndim - 1)),
                          total[np.maximum(prev, 0)], 0.0)
        return total - offset

    def evaluate(self, beta, hessian=True):
        X, w, e = self.X, self.w, self.e
        eta = X @ beta
        r = w * np.exp(eta)
        nb = len(self.starts)
        r0 = np.bincount(self.block, weights=r, minlength=nb)
        r1 = np.zeros((nb, self.p))
        np.add.at(r1, self.block, r[:, None] * X)
        R0, R1 = self._cum(r0)[self.ev], self._cum(r1)[self.ev]
        de = r * e
        D0 = np.bincount(self.block, weights=de, minlength=nb)[self.ev]
        D1 = np.zeros((nb, self.p))
        np.add.at(D1, self.block, de[:, None] * X)
        D1 = D1[self.ev]
        c, o = self.c, self.owner
        phi = R0[o] - c * D0[o]
        if self.ties == "efron":
            ones = np.ones_like(c)
        else:
            ones = self.mult
        n = len(self.ev)

        def per(v):
            return np.bincount(o, weights=v, minlength=n)

        ll = float(beta @ self.xsum - np.sum(ones * np.log(phi)))
        A0, A1 = per(ones / phi), per(ones * c / phi)
        grad = self.xsum - (R1 * A0[:, None] - D1 * A1[:, None]).sum(0)
        if not hessian:
            return ll, grad, None
        B0, B1, B2 = per(ones / phi**2), per(ones * c / phi**2), per(ones * c**2 / phi**2)
        xx = X[:, :, None] * X[:, None, :]
        r2 = np.zeros((nb, self.p, self.p))
        np.add.at(r2, self.block, r[:, None, None] * xx)
        R2 = self._cum(r2)[self.ev]
        D2 = np.zeros((nb, self.p, self.p))
        np.add.at(D2, self.block, de[:, None, None] * xx)
        D2 = D2[self.ev]
        outer = (np.einsum("t,ti,tj->ij", B0, R1, R1)
                 - np.einsum("t,ti,tj->ij", B1, R1, D1)
                 - np.einsum("t,ti,tj->ij", B1, D1, R1)
                 + np.einsum("t,ti,tj->ij", B2, D1, D1))
        second = np.einsum("t,tij->ij", A0, R2) - np.einsum("t,tij->ij", A1, D2)
        return ll, grad, -(second - outer)


def fit_cox_counts(X, time, event, weight, strata=None, *, ties: str = "efron",
                   tol: float = 1e-10, max_iter: int = 100) -> CountsCoxFit:
    """Maximise the Cox partial likelihood of collapsed rows with patient counts.

    Parameters
    ----------
    X : array_like, (rows, p)
        Design (dummy codes, numeric covariates) of each row.
    time, event : array_like, (rows,)
        Time of recovery or censoring and whether it is a recovery.
    weight : array_like, (rows,)
        Patients per row (integers for Efron ties; rows of weight 0 are ignored).
    strata : array_like, optional
        Stratum of each row (a baseline hazard per stratum).
    ties : {"efron", "breslow"}
        Tie method; both are exact for counts (equal to the per-patient fit).
    tol : float
        Convergence: largest Newton step below ``tol``.
    max_iter : int

    Returns
    -------
    CountsCoxFit

    Raises
    ------
    numpy.linalg.LinAlgError
        When the information matrix is singular (e.g. a column without variation).
    RuntimeError
        When Newton's method does not converge in ``max_iter`` steps.
    """
    prob = _Problem(X, time, event, weight, strata, ties)
    beta = np.zeros(prob.p)
    ll, grad, hess = prob.evaluate(beta)
    null = ll
    iterations = 0
    while True:
        iterations += 1
        if iterations > max_iter:
            raise RuntimeError(f"Cox fit on counts did not converge in {max_iter} steps")
        step = np.linalg.solve(-hess, grad)
        if not np.all(np.isfinite(step)):
            raise np.linalg.LinAlgError("the information matrix is singular")
        scale = 1.0
        while True:                       # step halving keeps the ascent monotone
            new = beta + scale * step
            ll_new, g_new, h_new = prob.evaluate(new)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll):
                break
            scale /= 2
            if np.max(np.abs(scale * step)) < tol:
                raise RuntimeError("Cox fit on counts: no ascent along the Newton step")
        beta, ll, grad, hess = new, ll_new, g_new, h_new
        if np.max(np.abs(scale * step)) < tol:
            break
    return CountsCoxFit(params=beta, variance=np.linalg.inv(-hess), log_likelihood=ll,
                        null_log_likelihood=null, iterations=iterations, ties=ties)


def counts_summary(fit: CountsCoxFit, names, alpha: float = 0.05):
    """lifelines-style summary table of a :class:`CountsCoxFit` (same column names:
    ``coef, exp(coef), se(coef), coef lower 95%, ..., z, p, -log2(p)``)."""
    import pandas as pd
    from scipy.stats import norm

    pct = f"{100 * (1 - alpha):g}%"
    se = fit.standard_errors
    q = norm.ppf(1 - alpha / 2)
    z = fit.params / se
    p = 2 * norm.sf(np.abs(z))
    out = pd.DataFrame({
        "coef": fit.params, "exp(coef)": np.exp(fit.params), "se(coef)": se,
        f"coef lower {pct}": fit.params - q * se, f"coef upper {pct}": fit.params + q * se,
        f"exp(coef) lower {pct}": np.exp(fit.params - q * se),
        f"exp(coef) upper {pct}": np.exp(fit.params + q * se),
        "cmp to": 0.0, "z": z, "p": p, "-log2(p)": -np.log2(p)}, index=pd.Index(
            list(names), name="covariate"))
    return out


def likelihood_ratio(fit: CountsCoxFit):
    """Likelihood-ratio test against the null model: ``statistic, df, p_value``."""
    import pandas as pd
    from scipy.stats import chi2

    stat = 2.0 * (fit.log_likelihood - fit.null_log_likelihood)
    df = len(fit.params)
    return pd.Series({"statistic": float(stat), "df": int(df),
                      "p_value": float(chi2.sf(stat, df))}, name="likelihood_ratio")


class _LRTest:
    def __init__(self, lr):
        self.test_statistic = lr["statistic"]
        self.degrees_freedom = lr["df"]
        self.p_value = lr["p_value"]


class CountsCoxFitter:
    """The part of lifelines' ``CoxPHFitter`` interface :func:`~.cox.cox` uses, fitted
    exactly on collapsed rows with patient counts (:func:`fit_cox_counts`).

    ``fit(df, duration_col, event_col, weights_col=..., strata=[...])`` as lifelines;
    afterwards ``params_``, ``standard_errors_``, ``variance_matrix_``, ``summary``,
    ``log_likelihood_``, ``log_likelihood_ratio_test()`` and ``ties``. Harrell's
    concordance is not computed (``concordance_index_`` is NaN). If Newton's method
    fails (e.g. separation: a coefficient drifting to infinity) the fit falls back to
    lifelines' weighted fit, with a warning saying so (``fallback`` is then the lifelines
    fitter).

    Parameters
    ----------
    alpha : float
        Intervals are ``1 - alpha`` Wald intervals.
    ties : {"efron", "breslow"}
    """

    def __init__(self, alpha: float = 0.05, ties: str = "efron"):
        self.alpha, self.ties = alpha, ties
        self.fallback = None
        self.concordance_index_ = float("nan")

    def fit(self, df, duration_col: str, event_col: str, weights_col: str | None = None,
            strata=None) -> CountsCoxFitter:
        import warnings

        import pandas as pd

        skip = {duration_col, event_col, weights_col, *(strata or [])}
        names = [c for c in df.columns if c not in skip]
        w = np.ones(len(df)) if weights_col is None else df[weights_col].to_numpy(float)
        groups = None
        if strata:
            groups = pd.MultiIndex.from_frame(df[list(strata)]).codes
            groups = np.ravel_multi_index(groups, [c.max() + 1 for c in groups])
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                fit = fit_cox_counts(df[names].to_numpy(float), df[duration_col].to_numpy(float),
                                     df[event_col].to_numpy(), w, groups, ties=self.ties)
        except (RuntimeError, np.linalg.LinAlgError) as exc:
            from lifelines import CoxPHFitter

            warnings.warn(f"the exact Cox fit on counts failed ({exc}); lifelines' weighted "
                          f"fit is used instead (Efron ties counted per row, approximate)",
                          UserWarning, stacklevel=2)
            self.fallback = CoxPHFitter(alpha=self.alpha).fit(
                df, duration_col, event_col, weights_col=weights_col, strata=strata)
            self.summary = self.fallback.summary
            self.params_ = self.fallback.params_
            self.standard_errors_ = self.fallback.standard_errors_
            self.variance_matrix_ = self.fallback.variance_matrix_
            self.log_likelihood_ = self.fallback.log_likelihood_
            self._lr = self.fallback.log_likelihood_ratio_test()
            self.ties = "efron (lifelines, weighted rows)"
            return self
        self.result = fit
        self.summary = counts_summary(fit, names, self.alpha)
        self.params_ = self.summary["coef"].rename("coef")
        self.standard_errors_ = self.summary["se(coef)"].rename("se(coef)")
        self.variance_matrix_ = pd.DataFrame(fit.variance, index=names, columns=names)
        self.log_likelihood_ = fit.log_likelihood
        self._lr = _LRTest(likelihood_ratio(fit))
        return self

    def log_likelihood_ratio_test(self):
        """``test_statistic``, ``degrees_freedom``, ``p_value`` against the null model."""
        return self._lr


def describe_ties(result) -> str:
    """One sentence for reports: how a :class:`~.cox.CoxResult` handled tied recoveries."""
    fitter = getattr(result, "fitter", None)
    if isinstance(fitter, CountsCoxFitter):
        if fitter.fallback is not None:
            return ("Tied recoveries by Efron's method with the collapsed rows as lifelines "
                    "frequency weights (approximate: the exact fit on counts failed).")
        return ("Tied recoveries (patients recovered by the same visit) by Efron's "
                "method, fitted exactly on the collapsed counts of patients.")
    if fitter is None:
        return ""
    if getattr(fitter, "weights_col", None):
        return ("Tied recoveries by Efron's method with the collapsed rows as lifelines "
                "frequency weights (approximate).")
    return ("Tied recoveries (patients recovered by the same visit) by Efron's method "
            "(lifelines, one row per patient).")
