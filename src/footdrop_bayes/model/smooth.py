r"""Smooth (non-linear) effects of numeric covariates: bases, priors and evaluation.

A smooth term for covariate :math:`x` adds to the linear predictor

.. math::

    \eta_i \mathrel{+}= \beta x_i + f(x_i), \qquad f(x) = \sum_{j=1}^{m} X_j(x)\, c_j,

where :math:`\beta x` is the covariate's ordinary (unpenalised) linear term, ``beta``, and
:math:`f` its penalised *wiggly* part (the linear + wiggly split of mgcv / brms). The
basis columns :math:`X_j` are made orthogonal, over the cohort's patients, to the constant
and to :math:`x`:

.. math::

    X_j(x) = \tilde X_j(x) - \bar{\tilde X}_j - \gamma_j (x - \bar x), \qquad
    \gamma_j = \frac{\mathrm{cov}_n(\tilde X_j, x)}{\mathrm{var}_n(x)},

so :math:`f` averages zero over the cohort (it cannot trade off against the baseline
hazard) and has no linear trend over it (a truly linear effect is carried by ``beta``
and :math:`f` shrinks to zero). Two raw bases :math:`\tilde X` are available
(``model_config["smooth_basis"]``):

``"pspline"`` (default; chosen by measurement, docs/model.md)
    A Bayesian P-spline: ``smooth_k`` cubic B-splines on equally spaced knots over the
    data range, coefficients with a second-order random-walk prior of step SD
    :math:`\sigma`. Written in its mixed-model form: with :math:`D` the second-difference
    matrix and :math:`D^\top D = U \Lambda U^\top`, the penalised directions are
    :math:`\tilde X = B\, U_+ \Lambda_+^{-1/2}` (the null space - constant and linear - is
    what the centring and the linear term already hold) and :math:`c = \sigma z`,
    :math:`z \sim N(0, I)`. The columns are rescaled so that :math:`\sigma` is the
    root-mean-square of :math:`f` over the cohort a priori: the typical size of the
    departure from a line, in log hazard ratio. :math:`\log\sigma \sim N(\log m, s)`
    (``smooth_median``, ``smooth_log_sd``; zero-avoiding like the factor scales) or
    :math:`\text{HalfNormal}` (``smooth_scale_prior="halfnormal"``). The columns are
    finally rotated (:func:`information_rotation`) so that the data inform each
    coefficient separately; the isotropic prior is unchanged.
``"hsgp"``
    A Hilbert-space approximate GP (Riutort-Mayol et al. 2023; :class:`pymc.gp.HSGP`'s
    basis): ``hsgp_m`` sine eigenfunctions on :math:`[-L, L]`, ``L = hsgp_c`` times the
    half-range of the standardised covariate around its mid-range, exponentiated-quadratic
    covariance with amplitude :math:`\sigma \sim \text{HalfNormal}(s)` and lengthscale
    :math:`\log \ell \sim N(\log \ell_0, s_\ell)` in covariate SDs; :math:`c_j = z_j
    \sqrt{S(\omega_j)}`.

Each coefficient is written centred where the data pin it and non-centred where the prior
shapes it (:func:`choose_centred`). With ``model_config["smooth_split"] = False`` a term is
one penalised smooth instead: the basis is only centred (the P-spline gets the linear
column too) and the term has no separate ``beta`` (:func:`linear_coefficients`).

Inputs are standardised as for the linear terms. The basis is defined on the data range
only (the B-spline knots / HSGP's boundary ``L`` are frozen from the cohort): values
outside it are refused with a ``DataError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError

#: basis kinds ``model_config["smooth_basis"]`` accepts
SMOOTH_BASES = ("pspline", "hsgp")


@dataclass
class SmoothBasis:
    """The fixed basis of one smooth term (see the module docstring).

    Attributes
    ----------
    term : str
        The numeric covariate.
    kind : {"pspline", "hsgp"}
    lo, hi : float
        Data range in original units; the basis is refused outside it.
    mean, sd : float
        Standardisation of the covariate (``z = (x - mean) / sd``).
    params : dict
        Knots (P-spline) or boundary ``L``, centre and eigenvalues (HSGP), the penalty
        transform, the centring / detrending constants and column scale.
    """

    term: str
    kind: str
    lo: float
    hi: float
    mean: float
    sd: float
    params: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of basis columns ``m`` (the length of the ``<term>_basis`` dim)."""
        return int(self.params["size"])

    @property
    def dim(self) -> str:
        return f"{self.term}_basis"

    # ---------------------------------------------------------------- raw bases
    @property
    def split(self) -> bool:
        """Whether the term is split into ``beta`` (linear) + the wiggly part (default)."""
        return bool(self.params.get("split", True))

    def _raw(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, float) - self.mean) / self.sd
        p = self.params
        if self.kind == "hsgp":
            return hsgp_eigenfunctions(z - p["centre"], p["L"], p["m"])
        from scipy.interpolate import BSpline

        zc = np.clip(z, p["knots"][3], p["knots"][-4])
        b = BSpline.design_matrix(zc, p["knots"], 3).toarray() @ p["transform"]
        if not self.split:            # the line is part of the one penalised smooth
            b = np.column_stack([z, b])
        return b

    def check_range(self, x, *, table: str = "data") -> None:
        """Refuse values outside the data range the basis was built on.

        Raises
        ------
        DataError
            Naming the term, the range and the first offending values.
        """
        x = np.asarray(x, float)
        tol = 1e-9 * max(1.0, self.hi - self.lo)
        bad = (x < self.lo - tol) | (x > self.hi + tol) | ~np.isfinite(x)
        if bad.any():
            vals = ", ".join(f"{v:g}" for v in np.unique(x[bad])[:5])
            raise DataError(
                f"{table}: column {self.term!r} has {int(bad.sum())} value(s) outside the "
                f"range of the cohort the smooth term was fitted on [{self.lo:g}, "
                f"{self.hi:g}] (first: {vals}); a smooth effect is not defined outside "
                "its data (no extrapolation): restrict the values to that range")

    def design(self, x, *, table: str = "data") -> np.ndarray:
        """The centred, detrended, scaled basis at ``x`` (original units), (n, m).

        Raises
        ------
        DataError
            When a value lies outside the data range (:meth:`check_range`).
        """
        x = np.asarray(x, float)
        self.check_range(x, table=table)
        p = self.params
        raw = self._raw(x) - p["col_mean"]
        raw = raw - np.outer(x - p["x_mean"], p["slope"])
        raw = raw / p["scale"]
        rot = p.get("rotation")
        return raw if rot is None else raw @ rot

    def spec(self) -> dict:
        """JSON-able description (kind, size, range, split, centred columns)."""
        return {"kind": self.kind, "size": self.size, "lo": self.lo, "hi": self.hi,
                "split": self.split,
                "centred": int(np.sum(self.params.get("centred", 0)))}


def hsgp_eigenfunctions(xs: np.ndarray, L: float, m: int) -> np.ndarray:
    """The HSGP basis ``sin(sqrt(lambda_j) (x + L)) / sqrt(L)``, j = 1..m (numpy).

    The same values as :func:`pymc.gp.hsgp_approx.calc_eigenvectors` (tested).
    """
    j = np.arange(1, m + 1)
    sqrt_lam = np.pi * j / (2 * L)
    return np.sin(np.outer(np.asarray(xs, float) + L, sqrt_lam)) / np.sqrt(L)


def hsgp_sqrt_lambda(L: float, m: int) -> np.ndarray:
    """Square roots of the HSGP eigenvalues, ``pi j / (2 L)``: the frequencies omega_j."""
    return np.pi * np.arange(1, m + 1) / (2 * L)


def _pspline_params(z_lo: float, z_hi: float, k: int) -> dict:
    """Knots and the RW2 mixed-model transform of ``k`` cubic B-splines on [z_lo, z_hi]."""
    if k < 5:
        raise ValueError(f"model_config['smooth_k'] must be at least 5, got {k}")
    n_inner = k - 3
    h = (z_hi - z_lo) / n_inner
    knots = z_lo + h * np.arange(-3, n_inner + 4)
    d2 = np.diff(np.eye(k), n=2, axis=0)
    lam, u = np.linalg.eigh(d2.T @ d2)
    keep = lam > 1e-8 * lam.max()
    return {"knots": knots, "transform": u[:, keep] / np.sqrt(lam[keep])}


def build_basis(term: str, x: np.ndarray, mean: float, sd: float, config: dict) -> SmoothBasis:
    """The basis of smooth term ``term`` from the cohort's values ``x`` (one per patient).

    Centring, detrending and the column scale are weighted by patients (computed on the
    distinct values with their counts, never per patient x column).
    """
    x = np.asarray(x, float)
    kind = config["smooth_basis"]
    if kind not in SMOOTH_BASES:
        raise ValueError(f"model_config['smooth_basis'] must be one of {SMOOTH_BASES}, "
                         f"got {kind!r}")
    values, counts = np.unique(x, return_counts=True)
    if len(values) < 4:
        raise DataError(f"smooth term {term!r} takes only {len(values)} distinct values in "
                        "the cohort: at least 4 are needed for a curve; use it as a linear "
                        "covariate or a factor")
    lo, hi = float(values[0]), float(values[-1])
    z_lo, z_hi = (lo - mean) / sd, (hi - mean) / sd
    if kind == "hsgp":
        centre = 0.5 * (z_lo + z_hi)
        L = float(config["hsgp_c"]) * 0.5 * (z_hi - z_lo)
        m = int(config["hsgp_m"])
        params = {"centre": centre, "L": L, "m": m}
    else:
        params = _pspline_params(z_lo, z_hi, int(config["smooth_k"]))
    params["split"] = bool(config.get("smooth_split", True))
    basis = SmoothBasis(term, kind, lo, hi, float(mean), float(sd), params)
    w = counts / counts.sum()
    raw = basis._raw(values)
    col_mean = w @ raw
    x_mean = float(w @ values)
    xc = values - x_mean
    slope = (w * xc) @ (raw - col_mean) / float(w @ xc ** 2)
    if not basis.split:               # one smooth: centred only, the line stays in f
        slope = np.zeros_like(slope)
    resid = raw - col_mean - np.outer(xc, slope)
    if kind == "pspline":
        # sigma = prior root-mean-square of f over the cohort
        scale = float(np.sqrt(w @ (resid ** 2).sum(axis=1)))
    else:
        scale = 1.0
    params |= {"col_mean": col_mean, "x_mean": x_mean, "slope": slope, "scale": scale,
               "size": raw.shape[1]}
    return basis


def build_bases(data, smooth, config: dict) -> dict:
    """One :class:`SmoothBasis` per smooth term of a :class:`~.likelihood.ModelData`.

    The per-patient values are recovered from the standardised covariates ``data.z``.
    Each basis also gets its columns' centred / non-centred choice
    (``params["centred"]``, :func:`choose_centred`).
    """
    out = {}
    for term in smooth:
        j = data.covariates.index(term)
        mean, sd = (float(data.scaling.loc[term, k]) for k in ("mean", "sd"))
        b = build_basis(term, data.z[:, j] * sd + mean, mean, sd, config)
        if b.kind == "pspline":
            b.params["rotation"] = information_rotation(data, b)
        b.params["centred"] = choose_centred(data, b, config)
        out[term] = b
    return out


#: Prior quantile of the wiggliness scale ``sigma`` below which a coefficient's standard
#: error must lie for the coefficient to be written centred (:func:`choose_centred`): the
#: baseline's 10% (measured, docs/model.md: the factors' 1% left every coefficient
#: non-centred at 600 patients, with half the ESS and more divergences).
SMOOTH_QUANTILE = 0.10


def scale_floor(config: dict, q: float | None = None) -> float:
    """The ``q`` quantile of the prior of a smooth term's scale ``sigma``.

    Log-normal (``smooth_scale_prior="lognormal"``, the default): ``smooth_median *
    exp(Phi^-1(q) smooth_log_sd)``, 0.21 with the defaults (q = 10%). Half-normal: 0
    (every coefficient then stays non-centred under ``"auto"``: a half-normal has no floor).
    """
    from scipy.stats import norm

    if config.get("smooth_scale_prior", "lognormal") == "halfnormal":
        return 0.0
    q = SMOOTH_QUANTILE if q is None else q
    return float(config["smooth_median"] * np.exp(norm.ppf(q) * config["smooth_log_sd"]))


def information_rotation(data, basis: SmoothBasis) -> np.ndarray:
    """Orthogonal ``Q`` that makes the coefficients' data information diagonal.

    ``Q`` holds the eigenvectors of ``X' D X`` (``D``: expected recoveries per pattern,
    the information of :func:`coefficient_se`), most informed first. The P-spline's prior
    ``c ~ N(0, sigma^2 I)`` is isotropic, so ``X c = (X Q)(Q' c)`` with ``Q' c ~ N(0,
    sigma^2 I)`` is the same model; in the rotated coordinates the likelihood no longer
    couples the coefficients (to first order), each has its own standard error, and the
    centred / non-centred choice (:func:`choose_centred`) is exact per coefficient.
    """
    basis.params.pop("rotation", None)
    design, d = _pattern_design(data, basis)
    lam, q = np.linalg.eigh(design.T @ (d[:, None] * design))
    q = q[:, np.argsort(lam)[::-1]]
    # a deterministic sign: the largest entry of each column positive
    q = q * np.sign(q[np.abs(q).argmax(axis=0), np.arange(q.shape[1])])
    return q


def expected_events(l_idx, r_idx, event, weight) -> np.ndarray:
    """Each row's expected recoveries under a common crude hazard: ``weight * H(exit)``.

    ``H`` is the cumulative crude discrete hazard of the grid intervals (recoveries ending
    in interval ``k`` over the rows still at risk in it); a row exits at ``R`` when
    recovered and at ``L`` when censored. Summed over rows this is the number of
    recoveries, but spread over everyone at risk, censored patients included - the
    Fisher information of a proportional-hazards coefficient under the null is
    ``sum_i H_i x_i^2``.
    """
    l_idx, r_idx = np.asarray(l_idx, np.int64), np.asarray(r_idx, np.int64)
    event, weight = np.asarray(event, bool), np.asarray(weight, float)
    exit_idx = np.where(event, r_idx, l_idx)
    k = int(exit_idx.max(initial=0))
    at_risk = np.cumsum(np.bincount(exit_idx, weights=weight, minlength=k + 1)[::-1])[::-1]
    d = np.bincount(r_idx[event], weights=weight[event], minlength=k + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(at_risk > 0, d / at_risk, 0.0)
    h[0] = 0.0                                  # grid point 0: nobody exits before it
    return weight * np.cumsum(h)[exit_idx]


def _pattern_design(data, basis: SmoothBasis):
    """The basis at every likelihood pattern and the patterns' expected recoveries."""
    pat = data.patterns
    d = expected_events(pat["l_idx"], pat["r_idx"], pat["event"], pat["weight"])
    z = np.asarray(pat["z"], float).reshape(len(d), -1)[:, data.covariates.index(basis.term)]
    return basis.design(z * basis.sd + basis.mean, table="cohort"), d


def coefficient_se(data, basis: SmoothBasis) -> np.ndarray:
    """Approximate standard error of each basis coefficient, ``1/sqrt(sum_i H_i X_ij^2)``.

    ``H_i`` is patient ``i``'s expected number of recoveries under a common crude hazard
    (:func:`expected_events`): the Fisher information of a proportional-hazards
    coefficient at no effect. For an indicator column it is about the factors'
    ``1/sqrt(events)``. Computed on the likelihood's patterns with their weights.
    """
    design, d = _pattern_design(data, basis)
    info = d @ design ** 2
    with np.errstate(divide="ignore"):
        return np.where(info > 0, 1.0 / np.sqrt(np.maximum(info, 1e-300)), np.inf)


def choose_centred(data, basis: SmoothBasis, config: dict) -> np.ndarray:
    """Centred (True) or non-centred (False) for each basis coefficient of a term.

    ``model_config["parameterization"]``: ``"auto"`` (default) applies the factors' rule
    (:func:`~footdrop_bayes.model.build.choose_parameterization`) per coefficient: centred
    when the data pin it (:func:`coefficient_se`) more tightly than the
    :data:`SMOOTH_QUANTILE` (10%) prior quantile of the term's scale ``sigma``
    (:func:`scale_floor`), non-centred otherwise; ``"centred"`` / ``"non-centred"`` force
    one choice, and a dict may give one under the key ``"smooth_<term>"``. The HSGP's
    coefficient scales also depend on the lengthscale: its coefficients stay non-centred
    under ``"auto"``.
    """
    p = config.get("parameterization", "auto")
    choice = p.get(f"smooth_{basis.term}", "auto") if isinstance(p, dict) else p
    if choice in ("centred", "non-centred"):
        return np.full(basis.size, choice == "centred")
    if basis.kind == "hsgp":
        return np.zeros(basis.size, bool)
    return coefficient_se(data, basis) <= scale_floor(config)


def term_values(data, term: str, z: np.ndarray) -> np.ndarray:
    """Original-unit values of ``term`` from a standardised covariate matrix ``z``."""
    j = data.covariates.index(term)
    b = data.smooth[term]
    return np.asarray(z, float)[:, j] * b.sd + b.mean


def smooth_arrays(data, z=None, rows: str = "pattern") -> dict:
    """``pm.Data`` arrays of the smooth terms: the basis at every row of the likelihood.

    ``z`` are the rows' standardised covariates (default the patterns'), ``rows`` the
    arrays' prefix (``"profile"`` or ``"pattern"``, as :func:`.build.data_arrays`).
    """
    out = {}
    z = data.patterns["z"] if z is None else z
    for term, b in (getattr(data, "smooth", None) or {}).items():
        x = term_values(data, term, z)
        out[f"{rows}_smooth_{term}"] = b.design(x, table="cohort")
        out[f"smooth_centred_{term}"] = np.asarray(
            b.params.get("centred", np.zeros(b.size, bool)), float)
    return out


def smooth_parameterization(data) -> dict:
    """How each smooth term's wiggly coefficients are written, for the diagnostics.

    ``{"smooth <term>": "centred" | "non-centred" | "k of K coefficients centred"}`` from
    the per-coefficient centring rule (:func:`smooth_arrays`); the keys are the blocks
    of :func:`~footdrop_bayes.model.blocks.parameter_blocks`.
    """
    out = {}
    for term, b in (getattr(data, "smooth", None) or {}).items():
        c = np.asarray(b.params.get("centred", np.zeros(b.size, bool)), bool)
        out[f"smooth {term}"] = ("centred" if c.all() else "non-centred" if not c.any()
                                 else f"{int(c.sum())} of {c.size} coefficients centred")
    return out


def smooth_coords(data) -> dict:
    """One ``<term>_basis`` coordinate per smooth term."""
    return {b.dim: list(range(b.size)) for b in (getattr(data, "smooth", None) or {}).values()}


def smooth_key(data) -> tuple:
    """What a compiled model's structure depends on among the smooth terms."""
    return tuple((t, b.kind, b.size, b.split)
                 for t, b in (getattr(data, "smooth", None) or {}).items())


def coefficient_name(term: str) -> str:
    """Posterior variable of a term's basis coefficients (dims ``<term>_basis``)."""
    return f"smooth_{term}"


def smooth_scale(term: str, config: dict):
    """The wiggliness scale ``sigma_smooth_<term>`` (in the current PyMC model).

    Log-normal (default, ``smooth_scale_prior="lognormal"``), written on the log scale
    like the factor scales: ``log sigma = log(smooth_median) + smooth_log_sd * z`` with
    ``sigma_smooth_<term>_z ~ N(0, 1)``; or ``HalfNormal(smooth_sigma)``
    (``"halfnormal"``, the earlier default).
    """
    import pymc as pm
    import pytensor.tensor as pt

    if config.get("smooth_scale_prior", "lognormal") == "halfnormal":
        return pm.HalfNormal(f"sigma_smooth_{term}", sigma=config["smooth_sigma"])
    z = pm.Normal(f"sigma_smooth_{term}_z", 0.0, 1.0)
    return pm.Deterministic(f"sigma_smooth_{term}", pt.exp(
        np.log(config["smooth_median"]) + config["smooth_log_sd"] * z))


def smooth_effects(data, config: dict, arrays: dict, rows: str = "pattern"):
    """Add the wiggly parts' priors to the current PyMC model; return their sum over terms.

    ``arrays`` are the model's ``pm.Data`` by name (:func:`smooth_arrays`' keys, prefix
    ``rows``). Each
    coefficient ``c_j = s_j z_j`` (prior SD ``s_j``: ``sigma``, or the HSGP's
    ``sigma sqrt(S(omega_j))``) is written non-centred (free ``z_j ~ N(0, 1)``) or
    centred (free ``z_j = c_j ~ N(0, s_j)``) as ``smooth_centred_<term>`` says
    (:func:`choose_centred`; a ``pm.Data`` array, so the choice never changes the
    compiled structure). The free vector is ``smooth_<term>_z`` either way.
    """
    import pymc as pm
    import pytensor.tensor as pt

    total = 0.0
    for term, b in data.smooth.items():
        sigma = smooth_scale(term, config)
        if b.kind == "hsgp":
            log_ell = pm.Normal(f"smooth_{term}_log_ell_z", 0.0, 1.0)
            ell = pm.Deterministic(
                f"ell_smooth_{term}",
                pt.exp(np.log(config["hsgp_ell_median"]) + config["hsgp_ell_log_sd"] * log_ell))
            omega = hsgp_sqrt_lambda(b.params["L"], b.params["m"])
            # exponentiated-quadratic spectral density, 1-D
            sd = sigma * pt.sqrt(np.sqrt(2 * np.pi) * ell * pt.exp(-0.5 * (ell * omega) ** 2))
        else:
            sd = sigma * pt.ones(b.size)
        centred = arrays[f"smooth_centred_{term}"]
        z = pm.Normal(f"smooth_{term}_z", 0.0, pt.switch(centred > 0.5, sd, 1.0), dims=b.dim)
        coef = pm.Deterministic(coefficient_name(term),
                                pt.switch(centred > 0.5, z, sd * z), dims=b.dim)
        total = total + pt.dot(arrays[f"{rows}_smooth_{term}"], coef)
    return total


def linear_coefficients(data, config: dict):
    """``beta_std`` (dims ``covariate``) in the current PyMC model.

    ``N(0, beta_sigma)`` for every covariate, except a smooth term whose linear part is
    not split off (``model_config["smooth_split"] = False``): its line is part of the
    penalised smooth, so its ``beta_std`` is 0 (the free coefficients are then
    ``beta_std_free``).
    """
    import pymc as pm
    import pytensor.tensor as pt

    whole = [t for t, b in (getattr(data, "smooth", None) or {}).items() if not b.split]
    if not whole:
        return pm.Normal("beta_std", 0.0, config["beta_sigma"], dims="covariate")
    keep = [i for i, c in enumerate(data.covariates) if c not in whole]
    beta = pt.zeros(len(data.covariates))
    if keep:
        free = pm.Normal("beta_std_free", 0.0, config["beta_sigma"], shape=len(keep))
        beta = pt.set_subtensor(beta[keep], free)
    return pm.Deterministic("beta_std", beta, dims="covariate")


def smooth_eta(data, post, z: np.ndarray, *, table: str = "data") -> np.ndarray:
    """The wiggly parts' contribution to eta per draw, (chain, draw, n) (numpy).

    ``post`` holds ``smooth_<term>`` (dims ``chain, draw, <term>_basis``); values outside a
    term's data range raise ``DataError``.
    """
    out = 0.0
    for term, b in (getattr(data, "smooth", None) or {}).items():
        design = b.design(term_values(data, term, z), table=table)
        coef = np.asarray(post[coefficient_name(term)].values)
        out = out + np.einsum("cdm,nm->cdn", coef, design)
    return out


def smooth_variable_names(data) -> list[str]:
    """Posterior variables holding the smooth terms' coefficients (for prior draws)."""
    return [coefficient_name(t) for t in (getattr(data, "smooth", None) or {})]
