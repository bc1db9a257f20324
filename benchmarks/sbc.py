"""Simulation-based calibration (Talts et al. 2018) of the recovery model's core parameters.

Run:  nice -n 19 python benchmarks/sbc.py [--reps 100] [--patients 150] [--chains 2]
      [--draws 500] [--tune 500] [--bins 10] [--seed 2026] [--write-docs]

Each replication draws every parameter from the model's own prior
(``pm.sample_prior_predictive``), simulates grouped-time recovery on a monthly 6-month
grid from the model's likelihood (with missed visits and withdrawal, both ignorable),
refits, and records the rank of the true value among ``L = 99`` thinned posterior draws.
If the sampler and the model are right, each rank is uniform on 0..99.

The model: two factors (``a``, 3 levels; ``b``, 2 levels), one numeric covariate ``x``,
no group, all non-centred (the posterior does not depend on the parameterisation). Its
priors are built by the library's own ``build._baseline`` / ``build._factor_effects``
with the current ``model_config()`` defaults, the covariate and likelihood as in
``build.build_model``, but with the data as ``pm.Data`` so ONE nutpie compilation serves
every replication (``compiled.with_data(...)``). ``tests/test_model_calibration.py``
checks that this model's log density equals ``build_model``'s at random points.

Prints a table of chi-square uniformity p-values per parameter, writes the rank
histogram to docs/figures/sbc_ranks.png and, with ``--write-docs``, replaces the
"Simulation-based calibration" section of docs/validation_model.md.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy import stats

from footdrop_bayes.model.build import _baseline, _factor_effects, level_weights, model_coords
from footdrop_bayes.model.likelihood import ModelData, collapse_patterns
from footdrop_bayes.model.priors import model_config

ROOT = Path(__file__).resolve().parents[1]
FACTOR_LEVELS = {"a": ["a0", "a1", "a2"], "b": ["b0", "b1"]}
FOLLOW_UP = 6
#: Tracked quantities: name -> function of one prior/posterior dataset (chain, draw, ...).
PARAMETERS = {
    "tau": lambda ds: ds["tau"],
    "sigma_a": lambda ds: ds["sigma_a"],
    "log_hr_a[a1]": lambda ds: ds["log_hr_a"].sel(a="a1"),
    "log_hr_b[b1]": lambda ds: ds["log_hr_b"].sel(b="b1"),
    "beta_std[x]": lambda ds: ds["beta_std"].sel(covariate="x"),
    "alpha_first": lambda ds: ds["alpha"].isel(month=0),
    "alpha_last": lambda ds: ds["alpha"].isel(month=-1),
    "sigma_rw": lambda ds: ds["sigma_rw"],
}


def model_fingerprint() -> str:
    """Git commit of the repository plus an md5 of the model sources (uncommitted edits)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    src = sorted((ROOT / "src/footdrop_bayes/model").glob("*.py"))
    md5 = hashlib.md5(b"".join(p.read_bytes() for p in src)).hexdigest()[:8]
    dirty = subprocess.run(["git", "status", "--porcelain", "src/footdrop_bayes/model"],
                           capture_output=True, text=True, cwd=ROOT).stdout.strip()
    return f"{commit}{' + uncommitted model edits' if dirty else ''} (model sources md5 {md5})"


def design(n: int, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """Random covariates: level codes of ``a`` and ``b`` and the standardised ``x``."""
    codes = {f: rng.integers(0, len(lv), n) for f, lv in FACTOR_LEVELS.items()}
    x = rng.normal(50.0, 10.0, n)
    z = ((x - x.mean()) / x.std(ddof=1))[:, None]
    return codes, z


def simulate_intervals(alpha, eta, rng, *, withdraw=0.1, miss=0.1):
    """Grouped-time recovery from the model's likelihood on the grid 0, 1, ..., K.

    Returns grid indices ``(l_idx, r_idx, event)``; a patient withdraws after a uniformly
    chosen visit with probability ``withdraw`` and misses each intermediate visit with
    probability ``miss`` (both independent of the outcome, hence ignorable).
    """
    k_int = len(alpha)
    n = len(eta)
    h0 = np.r_[0.0, np.cumsum(np.exp(alpha))]
    e = rng.exponential(size=n) * np.exp(-eta)
    k = np.searchsorted(h0, e, side="left")        # recovery in interval k (K+1: never)
    last = np.where(rng.random(n) < withdraw, rng.integers(0, k_int, n), k_int)
    attended = rng.random((n, k_int + 1)) >= miss
    attended[:, 0] = True
    attended[np.arange(n), last] = True
    attended &= np.arange(k_int + 1)[None, :] <= last[:, None]
    event = k <= last
    grid = np.arange(k_int + 1)[None, :]
    before = np.where(attended & (grid < k[:, None]), grid, -1).max(axis=1)
    after = np.where(attended & (grid >= k[:, None]), grid, k_int + 1).min(axis=1)
    l_idx = np.where(event, before, last)
    r_idx = np.where(event, after, last)
    return l_idx.astype(np.int64), r_idx.astype(np.int64), event


def model_data(codes: dict, z: np.ndarray, l_idx, r_idx, event) -> ModelData:
    """A :class:`ModelData` (uncollapsed) for the SBC design."""
    n = len(z)
    data = ModelData(
        patients=pd.RangeIndex(n, name="patient"), factors=list(FACTOR_LEVELS),
        covariates=["x"], group=None, levels={f: list(v) for f, v in FACTOR_LEVELS.items()},
        scaling=pd.DataFrame({"mean": [0.0], "sd": [1.0]},
                             index=pd.Index(["x"], name="covariate")),
        codes={f: np.asarray(c, np.int64) for f, c in codes.items()}, z=np.asarray(z, float),
        l_idx=np.asarray(l_idx, np.int64), r_idx=np.asarray(r_idx, np.int64),
        event=np.asarray(event, bool), grid=np.arange(FOLLOW_UP + 1, dtype=float),
        widths=np.ones(FOLLOW_UP), time_unit="month", follow_up=float(FOLLOW_UP))
    collapse_patterns(data, collapse=False)
    return data


def sbc_model(data: ModelData, config: dict | None = None) -> pm.Model:
    """``build_model``'s model (all non-centred) with the data as ``pm.Data``."""
    config = model_config({"parameterization": "non-centred"} | (config or {}))
    choices = {f: "non-centred" for f in data.factors} | {"baseline": "non-centred"}
    with pm.Model(coords=model_coords(data)) as model:
        codes = {f: pm.Data(f"codes_{f}", data.codes[f]) for f in data.factors}
        z = pm.Data("z", data.z)
        l_idx = pm.Data("l_idx", data.l_idx)
        r_idx = pm.Data("r_idx", data.r_idx)
        event = pm.Data("event", data.event.astype(float))
        weights = {f"factor_weights_{f}": pm.Data(f"factor_weights_{f}", w)
                   for f, w in _weights(data).items()} \
            if config["factor_weights"] == "events" else {}
        alpha = _baseline(data, config, choices["baseline"])
        eta = _factor_effects(data, config, choices, codes, weights)
        beta_std = pm.Normal("beta_std", 0.0, config["beta_sigma"], dims="covariate")
        eta = eta + pt.dot(z, beta_std)
        h0 = pt.concatenate([pt.zeros((1,)), pt.cumsum(pt.exp(alpha) * data.widths)])
        rel = pt.exp(eta)
        is_event = pt.gt(event, 0.5)
        d = pt.switch(is_event, (h0[r_idx] - h0[l_idx]) * rel, 1.0)
        ll = -h0[l_idx] * rel + pt.switch(is_event, pt.log1mexp(-d), 0.0)
        pm.Potential("loglik", pt.sum(ll))
    return model


def _weights(data: ModelData) -> dict:
    """Each factor's constraint weights (recoveries per level), as ``build.data_arrays``."""
    return {f: level_weights(data.events_per_level(f)) for f in data.factors}


def data_updates(data: ModelData, weights: bool = True) -> dict:
    """``with_data`` / ``pm.set_data`` keyword arguments for one replication
    (``weights``: the factors' recovery weights too, for a model built with them)."""
    out = {f"codes_{f}": data.codes[f] for f in data.factors}
    if weights:
        out |= {f"factor_weights_{f}": w for f, w in _weights(data).items()}
    return out | {"z": data.z, "l_idx": data.l_idx, "r_idx": data.r_idx,
                  "event": data.event.astype(float)}


def truth_values(prior, rep: int) -> dict:
    one = prior.isel(draw=rep)
    return {name: float(fn(one).values.squeeze()) for name, fn in PARAMETERS.items()}


def run_sbc(reps: int = 100, patients: int = 150, *, chains: int = 2, draws: int = 500,
            tune: int = 500, n_keep: int = 99, seed: int = 2026, verbose: bool = True,
            eta_scale: float = 1.0):
    """Run the SBC; return a DataFrame with one row per replication.

    ``eta_scale != 1`` simulates outcomes with the linear predictor multiplied by it (a
    deliberately wrong model: a negative control that the ranks must flag).

    Columns: ``rank_<parameter>`` (0..n_keep), ``ess_<parameter>`` (bulk ESS before
    thinning), ``divergences``, ``events``, ``seconds``; ``attrs`` hold the settings.
    """
    import arviz as az
    import nutpie

    rng = np.random.default_rng(seed)
    codes, z = design(patients, rng)
    template = model_data(codes, z, np.zeros(patients), np.zeros(patients),
                          np.zeros(patients, bool))
    # equal weights: the recovery weights depend on the simulated data, so alpha's
    # meaning (the average level) would differ between the prior draw and the fit
    model = sbc_model(template, {"factor_weights": "equal"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prior = pm.sample_prior_predictive(draws=reps, model=model,
                                           random_seed=rng).prior.isel(chain=0)
    t0 = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model)
    compile_s = time.perf_counter() - t0
    if verbose:
        print(f"compiled once in {compile_s:.1f} s", flush=True)
    total = chains * draws
    step = total // (n_keep + 1)
    if step < 1:
        raise ValueError("need chains * draws >= n_keep + 1")
    rows = []
    for rep in range(reps):
        truth = truth_values(prior, rep)
        one = prior.isel(draw=rep)
        codes, z = design(patients, rng)
        eta = sum(one[f"b_{f}"].values[codes[f]] for f in FACTOR_LEVELS)
        eta = eta_scale * (eta + z @ one["beta_std"].values)
        l_idx, r_idx, event = simulate_intervals(one["alpha"].values, eta, rng)
        data = model_data(codes, z, l_idx, r_idx, event)
        t1 = time.perf_counter()
        idata = nutpie.sample(compiled.with_data(**data_updates(data, weights=False)),
                              draws=draws,
                              tune=tune, chains=chains, cores=min(chains, 2),
                              seed=int(rng.integers(2**31)), progress_bar=False,
                              target_accept=0.95)
        post = idata.posterior
        row = {"rep": rep, "events": int(event.sum()), "seconds": time.perf_counter() - t1,
               "divergences": int(idata.sample_stats["diverging"].sum())}
        for name, fn in PARAMETERS.items():
            d = fn(post)
            flat = d.values.reshape(-1)                       # chain-major
            thin = flat[step - 1::step][:n_keep]
            row[f"rank_{name}"] = int((thin < truth[name]).sum())
            row[f"ess_{name}"] = float(az.ess(d.values))
        rows.append(row)
        if verbose and (rep + 1) % 10 == 0:
            print(f"  {rep + 1}/{reps} replications, last {row['seconds']:.1f} s", flush=True)
    out = pd.DataFrame(rows).set_index("rep")
    out.attrs.update(reps=reps, patients=patients, chains=chains, draws=draws, tune=tune,
                     n_keep=n_keep, seed=seed, compile_seconds=compile_s,
                     eta_scale=eta_scale)
    return out


def uniformity(result: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Chi-square test of uniform ranks per parameter (``n_keep + 1`` divisible by bins)."""
    n_keep = result.attrs["n_keep"]
    if (n_keep + 1) % bins:
        raise ValueError(f"{n_keep + 1} rank values do not split into {bins} equal bins")
    rows = []
    for name in PARAMETERS:
        r = result[f"rank_{name}"].to_numpy()
        counts = np.bincount(r * bins // (n_keep + 1), minlength=bins)
        rows.append({"parameter": name, "counts": counts.tolist(),
                     "chi2": float(stats.chisquare(counts).statistic),
                     "p": float(stats.chisquare(counts).pvalue),
                     "mean_rank": float(r.mean() / n_keep),
                     "median_ess": float(result[f"ess_{name}"].median()),
                     "min_ess": float(result[f"ess_{name}"].min())})
    return pd.DataFrame(rows).set_index("parameter")


def plot_ranks(result: pd.DataFrame, bins: int = 10, ax=None):
    """Rank histograms with the 99% band of counts under uniformity; returns the figure."""
    import matplotlib.pyplot as plt

    n_keep, reps = result.attrs["n_keep"], len(result)
    names = list(PARAMETERS)
    if ax is None:
        fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(12, 5), sharey=True)
        axes = axes.ravel()
    else:
        axes = np.atleast_1d(ax).ravel()
        fig = axes[0].figure
    lo, hi = stats.binom.ppf([0.005, 0.995], reps, 1 / bins)
    for a, name in zip(axes, names, strict=False):
        r = result[f"rank_{name}"].to_numpy()
        counts = np.bincount(r * bins // (n_keep + 1), minlength=bins)
        a.axhspan(lo, hi, color="0.85", zorder=0)
        a.axhline(reps / bins, color="0.4", lw=1)
        a.bar(np.arange(bins), counts, width=0.9, color="C0")
        a.set_title(name, fontsize=9)
        a.set_xticks([])
    for a in axes[len(names):]:
        a.set_visible(False)
    fig.suptitle(f"SBC rank histograms: {reps} replications, ranks among {n_keep} draws, "
                 f"{bins} bins; grey: 99% band under uniformity", fontsize=10)
    fig.tight_layout()
    return fig


def markdown(result: pd.DataFrame, table: pd.DataFrame, fingerprint: str, bins: int) -> str:
    a = result.attrs
    lines = [
        "## Simulation-based calibration (slow: `pytest -m slow -k calibration`)",
        "",
        f"Run {datetime.date.today().isoformat()} with `benchmarks/sbc.py` "
        f"(model at {fingerprint}). Talts et al. (2018): every parameter drawn from the "
        "model's own prior (`pm.sample_prior_predictive` on the model built by "
        "`build._baseline` / `build._factor_effects` with the default `model_config()`), "
        "grouped-time recovery simulated from the likelihood on a monthly 6-month grid "
        "(10% withdrawal after a random visit, 10% missed visits), then refitted with "
        "nutpie. Design: factor `a` (3 levels), factor `b` (2 levels), numeric `x`, "
        f"{a['patients']} patients, all non-centred (the posterior does not depend on the "
        "parameterisation, only the sampler's efficiency does). "
        f"One compiled model for all replications (`compiled.with_data`; compiled in "
        f"{a['compile_seconds']:.0f} s). {a['reps']} replications, {a['chains']} chains x "
        f"{a['draws']} draws ({a['tune']} tuning), thinned to L = {a['n_keep']} draws; "
        f"ranks in {bins} bins, chi-square test of uniformity ({bins - 1} df).",
        "",
        f"Median recoveries per replication {result['events'].median():.0f} "
        f"(range {result['events'].min()}-{result['events'].max()} of {a['patients']}); "
        f"replications with divergences: {(result['divergences'] > 0).sum()} of {a['reps']} "
        f"(total {result['divergences'].sum()}); median sampling time "
        f"{result['seconds'].median():.1f} s per replication.",
        "",
        "| parameter | rank counts per bin | chi-square | p | mean rank / L | "
        "bulk ESS before thinning (median, min) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in table.iterrows():
        lines.append(f"| `{name}` | {' '.join(map(str, r['counts']))} | {r['chi2']:.1f} | "
                     f"{r['p']:.3f} | {r['mean_rank']:.2f} | "
                     f"{r['median_ess']:.0f}, {r['min_ess']:.0f} |")
    lines += ["", "![SBC rank histograms](figures/sbc_ranks.png)", ""]
    return "\n".join(lines)


def write_section(text: str, path: Path = ROOT / "docs/validation_model.md") -> None:
    """Replace the "## Simulation-based calibration" section, up to the next heading of
    any level (so a ``###`` subsection someone else appended below it is kept)."""
    import re

    doc = path.read_text()
    start = doc.find("## Simulation-based calibration")
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + text
    else:
        nxt = re.compile(r"^#{1,6} ", re.M).search(doc, start + 3)
        rest = "" if nxt is None else "\n\n" + doc[nxt.start():]
        doc = doc[:start] + text.rstrip("\n") + "\n" + rest
    path.write_text(doc)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--patients", type=int, default=150)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--bins", type=int, default=10)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--figure", default=str(ROOT / "docs/figures/sbc_ranks.png"))
    ap.add_argument("--csv", default=None, help="write per-replication ranks here")
    ap.add_argument("--eta-scale", type=float, default=1.0,
                    help="negative control: simulate with eta multiplied by this")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    fingerprint = model_fingerprint()
    print(f"model: {fingerprint}", flush=True)
    result = run_sbc(args.reps, args.patients, chains=args.chains, draws=args.draws,
                     tune=args.tune, seed=args.seed, eta_scale=args.eta_scale)
    if args.csv:
        result.to_csv(args.csv)
    table = uniformity(result, args.bins)
    text = markdown(result, table, fingerprint, args.bins)
    print(text)
    fig = plot_ranks(result, args.bins)
    fig.savefig(args.figure, dpi=110)
    if args.write_docs:
        if args.eta_scale != 1.0:
            raise SystemExit("--write-docs is for the real run, not a negative control")
        write_section(text)


if __name__ == "__main__":
    main()
