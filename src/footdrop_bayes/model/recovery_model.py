r"""``RecoveryModel``: the hierarchical grouped-time proportional hazards model of recovery.

.. math::

    \log\text{-lik}_i = -H_0(L_i) e^{\eta_i}
        + d_i \log\bigl(1 - e^{-(H_0(R_i) - H_0(L_i)) e^{\eta_i}}\bigr), \quad
    \eta_i = \sum_f b_f[\text{level}_f(i)] + \sum_c \beta_c z_{ci} + u_{g(i)}

with sum-to-zero level effects partially pooled within each factor, factor scales sharing
a population prior, standardised numeric covariates, optional group intercepts and a
random-walk prior on the baseline log-hazard rates (see :mod:`.build`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from ..cohort import Cohort
from ..errors import DataError
from . import priors
from .build import build_model
from .compile_cache import compile_outlook, compiled_model
from .diagnostics import check_convergence, compute_diagnostics
from .likelihood import ModelData, encode, interval_loglik_numpy, prepare
from .predictive import intervals_dataset, recovery_probability, simulate_intervals
from .sampling import run_sampler
from .smooth import smooth_parameterization

FORMAT = "footdrop_bayes.RecoveryModel/1"


def _version() -> str:
    from .. import __version__

    return __version__


class RecoveryModel:
    """Hierarchical Bayesian model of time to recovery observed at visits.

    Parameters
    ----------
    cohort : Cohort
        Patients with recovery intervals and covariates.
    factors, covariates : sequence of str, optional
        Categorical factors and numeric covariates; default all of the cohort's
        (except ``group``).
    group : str, optional
        Column with clinic / centre labels for random intercepts.
    model_config, sampler_config : dict, optional
        Settings merged over :data:`~.priors.DEFAULT_MODEL_CONFIG` and
        :data:`~.priors.DEFAULT_SAMPLER_CONFIG` (neither is mutated).
    smooth : sequence of str, optional
        Numeric covariates with a smooth (non-linear) effect: the linear term ``beta``
        plus a penalised wiggly part centred and detrended over the cohort
        (:mod:`~footdrop_bayes.model.smooth`; coefficients ``smooth_<term>``). A smooth
        term not among ``covariates`` is added to them. Predictions outside a smooth
        term's data range are refused.

    Attributes
    ----------
    idata : arviz.InferenceData
        After :meth:`fit`: ``posterior`` (``alpha``, ``b_<f>``, ``sigma_<f>``,
        ``log_hr_<f>``, ``beta``, ``beta_std``, ``u_<group>``, ...), ``sample_stats`` and
        ``log_likelihood`` (``recovery``, one term per patient).
    covariate_scaling : DataFrame
        Mean and SD used to standardise each numeric covariate.
    parameterization : dict
        Centred / non-centred choice per factor, group and ``"baseline"``.
    """

    def __new__(cls, cohort=None, *args, **kwargs):
        # a cohort with time-varying columns gets the time-varying model (issue 10)
        if cls is RecoveryModel and getattr(cohort, "time_varying", ()):
            from .tv_model import TimeVaryingRecoveryModel

            cls = TimeVaryingRecoveryModel
        return super().__new__(cls)

    def __init__(self, cohort: Cohort, *, factors: Sequence[str] | None = None,
                 covariates: Sequence[str] | None = None, group: str | None = None,
                 model_config: dict | None = None, sampler_config: dict | None = None,
                 smooth: Sequence[str] | None = None):
        self.cohort = cohort
        self.group = group
        if group is not None and group not in cohort.covariates.columns:
            raise DataError(f"group column {group!r} is not among the cohort's covariates "
                            f"{list(cohort.covariates.columns)}")
        clash = [arg for arg, given in (("factors", factors), ("covariates", covariates))
                 if group is not None and given is not None and group in given]
        if clash:
            raise DataError(f"column {group!r} is given both as group= and in {clash[0]}=; "
                            "a column is either a fixed effect or the group (random "
                            "intercepts), not both: remove it from one of them")
        self.factors = [f for f in (cohort.factors if factors is None else factors)
                        if f != group]
        self.covariates = [c for c in (cohort.numeric if covariates is None else covariates)
                           if c != group]
        for name, allowed, kind in ((self.factors, cohort.factors, "factor"),
                                    (self.covariates, cohort.numeric, "numeric covariate")):
            bad = [c for c in name if c not in allowed]
            if bad:
                raise DataError(f"{bad} are not {kind}s of the cohort ({list(allowed)})")
        self.smooth = _smooth_terms(smooth, self.covariates, cohort, group)
        self.covariates += [t for t in self.smooth if t not in self.covariates]
        self.model_config = priors.model_config(model_config)
        self.sampler_config = priors.sampler_config(sampler_config)
        self.data: ModelData = prepare(cohort, self.factors, self.covariates, group,
                                       collapse=self.model_config["collapse"])
        if self.smooth:
            from .smooth import build_bases

            self.data.smooth = build_bases(self.data, self.smooth, self.model_config)
        self.covariate_scaling = self.data.scaling
        self.idata: az.InferenceData | None = None
        self._model = None
        self._compiled = None
        self.compile_time: float | None = None
        self.compile_reused = False
        self.nutpie_backend: str | None = None

    # ------------------------------------------------------------------ model
    @property
    def model(self):
        """The PyMC model (built on first access; no sampling)."""
        if self._model is None:
            self._model = build_model(self.data, self.model_config)
        return self._model

    @property
    def parameterization(self) -> dict:
        return self.model.parameterization

    @property
    def time_dim(self) -> str:
        return self.data.time_unit

    def __repr__(self) -> str:
        state = "fitted" if self.idata is not None else "not fitted"
        return (f"RecoveryModel({self.data.n_patients} patients, "
                f"{len(self.data.patterns['weight'])} likelihood terms, factors="
                f"{self.factors}, covariates={self.covariates}, group={self.group!r}; "
                f"{state})")

    # ------------------------------------------------------------------ fitting
    def fit(self, random_seed=None) -> RecoveryModel:
        """Sample the posterior; store it in :attr:`idata`; check convergence.

        Parameters
        ----------
        random_seed : int, optional
            The same seed gives the same draws.

        Returns
        -------
        self

        Warns
        -----
        ConvergenceWarning
            When the diagnostics miss their thresholds (``ConvergenceError`` instead if
            ``sampler_config["on_convergence_failure"] == "raise"``).
        """
        cfg = self.sampler_config
        if cfg["sampler"] == "nutpie" and self._compiled is None:
            # once per model structure and process (compile_cache)
            (self._compiled, self.compile_time, self.compile_reused,
             self.nutpie_backend) = compiled_model(
                 self.model, self.data, self.model_config, cfg["nutpie_backend"],
                 int(cfg["chains"]) * (int(cfg["draws"]) + int(cfg["tune"])))
        idata, seconds, _ = run_sampler(self.model, cfg, random_seed, self._compiled)
        idata, seconds, first = self._retry_divergent(idata, seconds, random_seed)
        idata.posterior.attrs["sampling_time"] = seconds
        idata.posterior.attrs["random_seed"] = -1 if random_seed is None else int(random_seed)
        idata.posterior.attrs["target_accept"] = float(
            first["retried_at"] if first else cfg["target_accept"])
        if first:
            idata.posterior.attrs["first_attempt"] = json.dumps(first)
        self.idata = idata
        self._add_log_likelihood()
        self._add_constant_data()
        self._diagnostics = compute_diagnostics(idata)
        check_convergence(self._diagnostics, cfg["on_convergence_failure"])
        return self

    def compile_outlook(self) -> str | None:
        """What :meth:`fit` will pay to compile, without compiling.

        Returns
        -------
        str or None
            ``None`` when nothing is compiled (already compiled, or a PyMC-run sampler),
            else :func:`~.compile_cache.compile_outlook`'s answer: ``"reused"``,
            ``"disk"``, ``"jax"``, ``"new"`` (10-40 s) or ``"first"`` (30-60 s, pytensor's
            numba cache empty).
        """
        cfg = self.sampler_config
        if cfg["sampler"] != "nutpie" or self._compiled is not None:
            return None
        return compile_outlook(self.model, self.data, self.model_config,
                               cfg["nutpie_backend"],
                               int(cfg["chains"]) * (int(cfg["draws"]) + int(cfg["tune"])))

    def _retry_divergent(self, idata, seconds: float, random_seed):
        """Sample once more at ``retry_target_accept`` when the draws have divergences.

        Returns ``(idata, seconds, first)``: the kept draws (the retry's), its sampling
        seconds, and ``first`` (``None`` without a retry), the first attempt's
        ``target_accept``, divergences, the block they concentrate in (``None``: none),
        sampling seconds and ``retried_at``, recorded in
        the posterior's attributes so that the diagnostics and the report say so.
        """
        cfg = self.sampler_config
        retry = cfg["retry_target_accept"]
        n_div = int(idata.sample_stats["diverging"].sum()) \
            if "diverging" in idata.sample_stats else 0
        if not n_div or retry is None or float(retry) <= float(cfg["target_accept"]):
            return idata, seconds, None
        idata.posterior.attrs.update(self._spec())     # blocks need the model's names
        first = {"target_accept": float(cfg["target_accept"]), "divergences": n_div,
                 "block": compute_diagnostics(idata)["culprit"],
                 "sampling_time": float(seconds), "retried_at": float(retry)}
        again, seconds, _ = run_sampler(self.model, cfg | {"target_accept": float(retry)},
                                        random_seed, self._compiled)
        return again, seconds, first

    def _require_fit(self):
        if self.idata is None:
            raise RuntimeError("the model has not been fitted yet: call .fit() first")

    def _add_log_likelihood(self):
        """Drop any per-observation log-likelihood group: it is computed per pattern.

        The pointwise log-likelihood is a function of the posterior and the pattern table
        (stored in ``constant_data``); :meth:`pattern_log_likelihood` evaluates it and
        :meth:`loo` uses it block by block, so no patients (or patterns) x draws array is
        kept in memory or written to the posterior file.
        """
        if "log_likelihood" in self.idata.groups():
            del self.idata["log_likelihood"]

    def _pattern_loglik_block(self, idx) -> np.ndarray:
        """Log-likelihood of patterns ``idx``, shape (len(idx), chain * draw), chain-major."""
        post = self.idata.posterior
        pat = self.data.patterns
        codes = {k: v[idx] for k, v in pat["codes"].items()}
        eta = self._eta(post, codes, pat["z"][idx])
        ll = interval_loglik_numpy(post["alpha"].values, eta, self.data.widths,
                                   pat["l_idx"][idx], pat["r_idx"][idx], pat["event"][idx])
        return ll.reshape(-1, len(idx)).T

    def pattern_log_likelihood(self, patterns=None) -> xr.DataArray:
        """Pointwise log-likelihood of the likelihood's patterns in every draw.

        Every patient's term is that of its pattern: ``ll.isel(pattern=pattern_of)``
        with ``pattern_of = idata.constant_data["pattern_of"]`` (a patients x draws array:
        only for small cohorts).

        Parameters
        ----------
        patterns : array of int, optional
            Pattern indices (default all; ``len(data.patterns["weight"])`` of them).

        Returns
        -------
        DataArray, dims (chain, draw, pattern)
        """
        self._require_fit()
        n = len(self.data.patterns["weight"])
        idx = np.arange(n) if patterns is None else np.asarray(patterns, dtype=np.int64)
        post = self.idata.posterior
        ll = self._pattern_loglik_block(idx).T.reshape(post.sizes["chain"],
                                                       post.sizes["draw"], len(idx))
        return xr.DataArray(ll, dims=("chain", "draw", "pattern"),
                            coords={"chain": post.chain.values, "draw": post.draw.values,
                                    "pattern": idx}, name="recovery")

    def _add_constant_data(self):
        iv = self.cohort.intervals
        ds = xr.Dataset(coords={"patient": self.data.patients.values})
        for col in iv.columns:
            ds[col] = ("patient", iv[col].to_numpy(float))
        for f in self.data.codes:
            ds[f] = ("patient", self.data.codes[f])
        for c in self.covariates:
            ds[c] = ("patient", self.cohort.covariates[c].to_numpy(float))
        if self.cohort.weights is not None:     # a collapsed cohort: patients per row
            ds["cohort_weight"] = ("patient", self.cohort.weights.to_numpy(float))
        for n in getattr(self.cohort, "time_varying", ()):   # paths, to reload the cohort
            ds[f"tv_path_{n}"] = (("patient", "tv_interval"),
                                  np.asarray(self.cohort.time_varying_paths[n], np.int64))
        pat = self.data.patterns
        ds["pattern_of"] = ("patient", self.data.pattern_of)
        ds["pattern_weight"] = ("pattern", pat["weight"])
        for key in ("l_idx", "r_idx", "event"):
            ds[f"pattern_{key}"] = ("pattern", pat[key].astype(np.int64))
        if "constant_data" in self.idata.groups():
            del self.idata["constant_data"]
        self.idata.add_groups({"constant_data": ds}, warn_on_custom_groups=False)
        self.idata.posterior.attrs.update(self._spec())

    def _spec(self) -> dict:
        levels = {k: [v.item() if hasattr(v, "item") else v for v in lv]
                  for k, lv in self.data.levels.items()}
        return {
            "format": FORMAT,
            "library_version": _version(),
            "model_config": json.dumps(self.model_config, sort_keys=True),
            "sampler_config": json.dumps(self.sampler_config, sort_keys=True),
            "factors": json.dumps(self.factors),
            "covariates": json.dumps(self.covariates),
            "smooth": json.dumps(self.smooth),
            "group": json.dumps(self.group),
            "levels": json.dumps(levels),
            "grid": json.dumps(self.data.grid.tolist()),
            "follow_up": float(self.cohort.follow_up),
            "time_unit": self.cohort.time_unit,
            "parameterization": json.dumps(
                self.parameterization | smooth_parameterization(self.data), sort_keys=True),
            "model_variables": json.dumps(sorted(v.name for v in self.model.free_RVs)),
        }

    # ------------------------------------------------------------------ results
    def diagnostics(self) -> dict:
        """Divergences, max R-hat, min bulk/tail ESS, min E-BFMI and ``converged``."""
        self._require_fit()
        if getattr(self, "_diagnostics", None) is None:
            self._diagnostics = compute_diagnostics(self.idata)
        return dict(self._diagnostics)

    def _profiles(self, data):
        if data is None:
            return self.data.codes, self.data.z, self.data.patients
        if not isinstance(data, pd.DataFrame):
            raise DataError("data must be a DataFrame of covariate profiles")
        codes, z = encode(data, self.factors, self.covariates, self.data.levels,
                          self.data.scaling, self.group, table="data")
        return codes, z, data.index

    def _eta(self, post, codes, z) -> np.ndarray:
        """Linear predictor of profiles ``(codes, z)`` in every draw, (chain, draw, n).

        One matrix product of the draws' coefficients (level effects, covariate slopes,
        group intercepts) with the profiles' design (one-hot levels, ``z``): a gather per
        factor in numpy was ten times slower on 5,000 profiles x 4,000 draws.
        """
        n = len(z)
        shape = post["alpha"].shape[:2]
        coef, design = [], []

        def one_hot(code, n_levels):
            code = np.asarray(code, np.int64)
            x = np.zeros((n_levels, n))
            seen = code >= 0                    # an unknown group level has effect 0
            x[code[seen], np.flatnonzero(seen)] = 1.0
            return x

        for f in self.factors:
            b = post[f"b_{f}"].values
            coef.append(b.reshape(-1, b.shape[-1]))
            design.append(one_hot(codes[f], b.shape[-1]))
        if self.covariates:
            beta = post["beta_std"].values
            coef.append(beta.reshape(-1, beta.shape[-1]))
            design.append(np.asarray(z, float).reshape(n, -1).T)
        if self.group:
            u = post[f"u_{self.group}"].values
            coef.append(u.reshape(-1, u.shape[-1]))
            design.append(one_hot(codes[self.group], u.shape[-1]))
        if coef:
            eta = (np.hstack(coef) @ np.vstack(design)).reshape(shape + (n,))
        else:
            eta = np.zeros(shape + (n,))
        if self.data.smooth:             # issue 11: wiggly parts of smooth terms
            from .smooth import smooth_eta

            eta += smooth_eta(self.data, post, z)
        return eta

    def linear_predictor(self, data: pd.DataFrame | None = None) -> xr.DataArray:
        """Posterior draws of each profile's log relative hazard eta.

        Parameters
        ----------
        data : DataFrame, optional
            Covariate profiles (columns: the model's factors and covariates, optionally
            the group; a missing/unknown group means a zero clinic effect, the
            recovery-weighted average clinic); its index
            labels the ``patient`` dim. Default: the cohort's patients.

        Returns
        -------
        DataArray, dims (chain, draw, patient)
        """
        self._require_fit()
        post = self.idata.posterior
        codes, z, index = self._profiles(data)
        eta = self._eta(post, codes, z)
        return xr.DataArray(eta, dims=("chain", "draw", "patient"),
                            coords={"chain": post.chain.values, "draw": post.draw.values,
                                    "patient": np.asarray(index)}, name="eta")

    def recovery_curves(self, data: pd.DataFrame | None = None, *,
                        times=None) -> xr.DataArray:
        """Posterior probability of having recovered by each time, per profile.

        Parameters
        ----------
        data : DataFrame, optional
            Covariate profiles as in :meth:`linear_predictor`; default the cohort.
        times : array-like, optional
            Any times within follow-up, ``[0, last grid time]`` (default the grid points
            after 0). Between grid points the hazard is constant, so the values are exact
            there; times outside follow-up raise ``ValueError`` naming the range.

        Returns
        -------
        DataArray, dims (chain, draw, patient, <time_unit>)
            Average over ``patient`` for a cohort-average (g-computation) curve.
        """
        from ..summaries._common import check_times

        times = check_times(times, self.data.grid, self.data.grid[1:],
                            unit=self.time_dim, lower_inclusive=True)
        eta = self.linear_predictor(data)
        return recovery_probability(self.idata.posterior["alpha"], eta, self.data.grid,
                                    times, self.time_dim)

    def posterior_predictive(self, data: pd.DataFrame | None = None, *,
                             random_seed=None) -> xr.Dataset:
        """Simulated recovery intervals per posterior draw and profile.

        Returns
        -------
        Dataset, dims (chain, draw, patient)
            ``recovery_time``, ``last_unrecovered``, ``first_recovered`` (NaN when not
            recovered by the end of the grid) and ``event``.
        """
        eta = self.linear_predictor(data)
        sim = simulate_intervals(self.idata.posterior["alpha"].values, eta.values,
                                 self.data.grid, random_seed=random_seed)
        return intervals_dataset(sim, eta.chain.values, eta.draw.values,
                                 eta.patient.values)

    def prior_predictive(self, draws: int = 500, *, random_seed=None) -> xr.Dataset:
        """Recovery intervals of the cohort's patients simulated from the prior.

        Returns a Dataset like :meth:`posterior_predictive` (one chain), plus the prior
        draws of ``alpha`` and ``eta``.
        """
        from .prior_curves import prior_draws

        rng = np.random.default_rng(random_seed)
        prior = prior_draws(self, draws, rng)
        eta = self._eta(prior, self.data.codes, self.data.z)
        sim = simulate_intervals(prior["alpha"].values, eta, self.data.grid, random_seed=rng)
        ds = intervals_dataset(sim, prior.chain.values, prior.draw.values,
                               self.data.patients.values)
        ds["alpha"] = prior["alpha"]
        ds["eta"] = (("chain", "draw", "patient"), eta)
        return ds

    def uninformative_patients(self) -> pd.Index:
        """Patients censored at time 0 (no recovery, last seen unrecovered at referral).

        Their likelihood term is ``S(0) = 1``: log-likelihood exactly 0 in every draw and
        under every model of this family, so they carry no information.
        """
        mask = (~self.data.event) & (self.data.l_idx == 0)
        return self.data.patients[mask]

    def loo(self, *, pointwise: bool = False, reff: float | None = None,
            scale: str = "log", strict: bool = False):
        """Leave-one-patient-out PSIS-LOO, exact, computed on the likelihood's patterns.

        Identical patients have identical log-likelihoods, hence identical PSIS terms:
        PSIS runs once per distinct pattern and each pattern counts as many times as it
        has patients (:mod:`.loo`), giving :func:`arviz.loo`'s per-patient numbers without
        forming the patients x draws matrix. Patients censored at time 0
        (:meth:`uninformative_patients`) are left out: their log-likelihood is
        identically 0, which contributes exactly 0 to the ELPD of any model but makes
        PSIS's Pareto k infinite. The result is therefore the ELPD of the informative
        patients; it equals the all-patient ELPD and is comparable between models fitted
        to the same cohort.

        Parameters
        ----------
        pointwise : bool
            Add per-patient ``loo_i`` and ``pareto_k`` (dim ``patient``; the result can
            then be given to :func:`arviz.compare`).
        reff : float, optional
            Relative efficiency of the draws (default as :func:`arviz.loo`).
        scale : {"log", "negative_log", "deviance"}
            As :func:`arviz.loo`.
        strict : bool
            Raise :class:`~footdrop_bayes.ConvergenceError` instead of warning when the
            fit failed its diagnostics or has patients with Pareto k > 0.7.

        Returns
        -------
        arviz.ELPDData
            As :func:`arviz.loo`, plus ``n_excluded`` (patients left out),
            ``excluded_patients`` (their ids), ``n_patterns`` (distinct patterns scored),
            ``max_pareto_k`` and ``high_k_patients`` (ids of patients with Pareto
            k > 0.7); ``n_data_points`` counts the patients used.

        Warns
        -----
        ConvergenceWarning
            When the fit failed its diagnostics or has patients with Pareto k > 0.7
            (naming them): an ELPD of a broken fit must not be used quietly.
        """
        from ..summaries.fit_checks import (
            PARETO_K_THRESHOLD,
            comparison_problems,
            warn_or_raise,
        )
        from . import loo as pl

        self._require_fit()
        values, per_pattern, keep = self._pattern_loo(reff)
        scale_value = {"log": 1, "negative_log": -1, "deviance": -2}.get(scale.lower())
        if scale_value is None:
            raise TypeError('Valid scale values are "deviance", "log", "negative_log"')
        values["elpd_loo"] *= scale_value
        values["se"] *= abs(scale_value)
        values["scale"] = scale.lower()
        post = self.idata.posterior
        n_samples = post.sizes["chain"] * post.sizes["draw"]
        use = keep[self.data.pattern_of]
        pw = None
        if pointwise:
            of = self.data.pattern_of[use]
            ids = self.data.patients.values[use]
            pw = {"loo_i": xr.DataArray(scale_value * per_pattern["loo_i"][of],
                                        dims=["patient"], coords={"patient": ids},
                                        name="loo_i"),
                  "pareto_k": xr.DataArray(per_pattern["pareto_k"][of], dims=["patient"],
                                           coords={"patient": ids})}
        result = pl.elpd_data(values, n_samples, pointwise=pw)
        excluded = self.uninformative_patients()
        result["n_excluded"] = len(excluded)
        result["excluded_patients"] = list(excluded)
        result["n_patterns"] = int(keep.sum())
        result["max_pareto_k"] = (float(per_pattern["pareto_k"][keep].max()) if keep.any()
                                  else float("nan"))
        k_patient = per_pattern["pareto_k"][self.data.pattern_of]
        high = self.data.patients[use & ~(k_patient <= PARETO_K_THRESHOLD)]
        result["high_k_patients"] = [p.item() if hasattr(p, "item") else p for p in high]
        warn_or_raise(comparison_problems({"this model": self},
                                          {"this model": result["high_k_patients"]}),
                      "PSIS-LOO", strict=strict)
        return result

    def _pattern_loo(self, reff=None):
        """Per-pattern PSIS terms (cached per posterior) and the weighted totals."""
        from . import loo as pl

        key = (self.idata.posterior, reff)
        cached = getattr(self, "_loo_cache", None)
        if cached is None or cached[0][0] is not key[0] or cached[0][1] != reff:
            pat = self.data.patterns
            keep = pat["event"] | (pat["l_idx"] > 0)
            idx = np.flatnonzero(keep)
            post = self.idata.posterior
            n_samples = post.sizes["chain"] * post.sizes["draw"]
            r = pl.relative_eff(post) if reff is None else float(reff)
            terms = pl.pattern_pointwise(lambda j: self._pattern_loglik_block(idx[j]),
                                         len(idx), n_samples, r)
            per_pattern = {k: np.full(len(keep), np.nan) for k in terms}
            for k, v in terms.items():
                per_pattern[k][idx] = v
            self._loo_cache = (key, per_pattern, keep)
        _, per_pattern, keep = self._loo_cache
        values = pl.weighted_elpd(per_pattern["loo_i"][keep], per_pattern["lppd_i"][keep],
                                  self.data.patterns["weight"][keep])
        gk = pl.good_k(self.idata.posterior.sizes["chain"] * self.idata.posterior.sizes["draw"])
        values["warning"] = bool(np.any(per_pattern["pareto_k"][keep] > gk))
        return values, per_pattern, keep

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> None:
        """Write posterior, data, both configs and the library version to one NetCDF file."""
        self._require_fit()
        self.idata.to_netcdf(str(path))

    @classmethod
    def load(cls, path) -> RecoveryModel:
        """Rebuild a fitted model from :meth:`save`'s file.

        Raises
        ------
        ValueError
            If the file was not written by this class, by another library version, or
            the rebuilt model differs from the saved one.
        """
        idata = az.from_netcdf(str(path))
        attrs = idata.posterior.attrs
        if attrs.get("format") != FORMAT:
            raise ValueError(f"{path} was not saved by RecoveryModel.save ({FORMAT})")
        if attrs.get("library_version") != _version():
            raise ValueError(f"{path} was saved by footdrop_bayes "
                             f"{attrs.get('library_version')}, this is {_version()}; refit "
                             "the model with this version")
        cohort = _cohort_from_idata(idata)
        smooth = json.loads(attrs.get("smooth", "[]"))
        model = cls(cohort, factors=json.loads(attrs["factors"]),
                    covariates=json.loads(attrs["covariates"]),
                    group=json.loads(attrs["group"]),
                    model_config=json.loads(attrs["model_config"]),
                    sampler_config=json.loads(attrs["sampler_config"]),
                    **({"smooth": smooth} if smooth else {}))
        rebuilt = model._spec()
        for key in ("model_config", "factors", "covariates", "group", "levels", "grid",
                    "parameterization", "model_variables"):
            if rebuilt[key] != attrs.get(key):
                raise ValueError(f"{path}: the rebuilt model does not match the saved one "
                                 f"({key}: saved {attrs.get(key)}, rebuilt {rebuilt[key]})")
        model.idata = idata
        return model


def _smooth_terms(smooth, covariates, cohort, group) -> list[str]:
    """Check ``smooth=``: distinct numeric covariates of the cohort (not the group)."""
    if smooth is None:
        return []
    if isinstance(smooth, str):
        smooth = [smooth]
    terms = list(dict.fromkeys(smooth))
    bad = [t for t in terms if t not in cohort.numeric or t == group]
    if bad:
        raise DataError(f"smooth={bad}: a smooth term must be a numeric covariate of the "
                        f"cohort ({list(cohort.numeric)})")
    return terms


def _cohort_from_idata(idata) -> Cohort:
    attrs = idata.posterior.attrs
    cd = idata.constant_data
    index = pd.Index(cd["patient"].values, name="patient")
    iv = pd.DataFrame({c: cd[c].values for c in ("last_unrecovered", "first_recovered",
                                                  "event", "withdrawn", "admin_censored",
                                                  "last_visit", "n_visits")}, index=index)
    for c in ("event", "withdrawn", "admin_censored"):
        iv[c] = iv[c].astype(bool)
    levels = json.loads(attrs["levels"])
    factors = json.loads(attrs["factors"])
    numeric = json.loads(attrs["covariates"])
    group = json.loads(attrs["group"])
    cov = pd.DataFrame(index=index)
    for f in [*factors, *([group] if group else [])]:
        cov[f] = pd.Categorical.from_codes(cd[f].values, categories=levels[f])
    for c in numeric:
        cov[c] = cd[c].values
    weights = cd["cohort_weight"].values if "cohort_weight" in cd else None
    cohort = Cohort(iv, cov, factors=factors + ([group] if group else []), numeric=numeric,
                    grid=np.array(json.loads(attrs["grid"])), follow_up=attrs["follow_up"],
                    time_unit=attrs["time_unit"], weights=weights)
    tv = json.loads(attrs.get("time_varying", "[]"))
    if tv:   # issue 10: the paths and their levels; the baseline is the first interval
        tv_levels = json.loads(attrs["time_varying_levels"])
        paths = {n: cd[f"tv_path_{n}"].values.astype(np.int64) for n in tv}
        cohort.covariates = cohort.covariates.assign(**{
            n: pd.Categorical.from_codes(paths[n][:, 0], categories=tv_levels[n])
            for n in tv})
        cohort.time_varying, cohort.time_varying_paths = tuple(tv), paths
        cohort.time_varying_levels = tv_levels
        cohort.lag = int(attrs.get("lag", 0))
    return cohort
