"""Convergence diagnostics attributed to parameter blocks, and advice that applies.

A *block* is a set of posterior variables that is parameterised together: each factor
(``b_<f>``, ``z_<f>``, ``sigma_<f>``), the shared factor scales (``tau``,
``lambda_factor``), the group (``u_<g>``, ``u_<g>_z``, ``sigma_<g>``), the numeric
covariates (``beta_std``) and the baseline (``alpha``, its steps, ``sigma_rw``).

Divergences are located by comparing the divergent with the non-divergent draws: for a
block with a scale, the shift of the mean of the log scale in the divergent draws, in
posterior SDs (a funnel puts divergences at small scales: a negative shift; the
non-centred ridge at large ones: a positive shift); for a block without one, the largest
absolute shift among its parameters. The block with the largest shift, if at least
:data:`SHIFT_THRESHOLD` posterior SDs, is the *culprit*. R-hat and ESS are given per block
with the worst parameter.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd

THRESHOLDS = {"max_rhat": 1.01, "min_ess_bulk": 400, "min_ess_tail": 400, "min_bfmi": 0.3}


def format_rhat(value: float) -> str:
    """R-hat to 3 decimals, or as many more (up to 8) as it takes for the text not to
    read as the threshold itself (1.0102, not "1.010"; 1.00996, not "1.0100")."""
    if not np.isfinite(value):
        return f"{value:.3f}"
    for digits in range(3, 9):
        text = f"{value:.{digits}f}"
        if float(text) != THRESHOLDS["max_rhat"] or value == THRESHOLDS["max_rhat"]:
            return text
    return text


#: Shift (posterior SDs) of the divergent draws' mean from the others' from which the
#: divergences are attributed to a block. With d divergences the shift of an unrelated
#: parameter has a standard error of about 1/sqrt(d) (less with autocorrelated draws).
SHIFT_THRESHOLD = 0.75

#: Library defaults assumed when an InferenceData does not record its settings.
DEFAULT_SETTINGS = {"target_accept": 0.95, "tune": 1000, "draws": 1000, "chains": 4}

BLOCK_COLUMNS = ["kind", "parameterization", "parameters", "scale", "max_rhat",
                 "worst_rhat_parameter", "min_ess_bulk", "min_ess_tail",
                 "worst_ess_parameter", "n_missed", "missed_parameters", "divergence_shift",
                 "shift_parameter", "scale_median", "scale_median_divergent"]

_PRIOR_KEYS = {"factor": "tau_median, lambda_log_sd", "factor scales": "tau_log_sd",
               "group": "group_median, group_log_sd", "baseline": "rw_median, rw_log_sd"}


def _attr_json(attrs, key):
    try:
        return json.loads(attrs[key])
    except (KeyError, TypeError, ValueError):
        return None


def parameter_blocks(idata) -> dict[str, tuple[str, list[str], str | None]]:
    """Map each block to ``(kind, variables, scale variable or None)``.

    The factors and the group are read from the posterior's attributes (written by
    :class:`~footdrop_bayes.RecoveryModel`), else inferred from the variable names.
    """
    post = idata.posterior
    names = [v for v in post.data_vars if not v.startswith("log_hr_")]
    attrs = post.attrs
    factors = _attr_json(attrs, "factors")
    if factors is None:
        factors = [v[2:] for v in names if v.startswith("b_")
                   and not v.endswith(("_raw", "_c"))]
    group = _attr_json(attrs, "group")
    if group is None:
        group = next((v[2:] for v in names if v.startswith("u_")
                      and not v.endswith(("_z", "_raw", "_c"))), None)
    blocks: dict[str, tuple[str, list[str], str | None]] = {}
    used: set[str] = set()

    def add(block, kind, members, scale):
        members = [m for m in members if m in names and m not in used]
        if members:
            used.update(members)
            blocks[block] = (kind, members, scale if scale in members else None)

    for f in factors:
        add(f, "factor", [f"b_{f}", f"z_{f}", f"sigma_{f}", f"b_{f}_raw", f"b_{f}_c"],
            f"sigma_{f}")
    add("factor scales", "factor scales", ["tau", "tau_z", "lambda_factor", "lambda_z"],
        "tau")
    if group:
        add(group, "group", [f"u_{group}", f"u_{group}_z", f"sigma_{group}",
                             f"sigma_{group}_z", f"u_{group}_raw", f"u_{group}_c"],
            f"sigma_{group}")
    add("covariates", "covariates", ["beta_std", "beta"], None)
    add("baseline", "baseline", ["alpha", "alpha_first", "alpha_step_z", "rw_z", "sigma_rw"],
        "sigma_rw")
    for t in _attr_json(attrs, "smooth") or []:       # issue 11: one block per smooth term
        add(f"smooth {t}", "smooth", [f"smooth_{t}", f"smooth_{t}_z", f"sigma_smooth_{t}",
                                      f"sigma_smooth_{t}_z", f"ell_smooth_{t}",
                                      f"smooth_{t}_log_ell_z"],
            f"sigma_smooth_{t}")
    for v in [n for n in names if n.startswith("beta_tv_")]:   # issue 10: one per column
        add(f"time-varying {v[len('beta_tv_'):]}", "time-varying", [v], None)
    add("other", "other", [v for v in names if v not in used], None)
    return blocks


def _labels(da) -> list[str]:
    dims = [d for d in da.dims if d not in ("chain", "draw")]
    if not dims:
        return [da.name]
    idx = pd.MultiIndex.from_product([da[d].values for d in dims]) if len(dims) > 1 \
        else [(x,) for x in da[dims[0]].values]
    return [f"{da.name}[{', '.join(str(x) for x in t)}]" for t in idx]


def _flat_draws(da) -> np.ndarray:
    """``(chain * draw, k)`` array of a variable's draws."""
    n = da.sizes["chain"] * da.sizes["draw"]
    other = [d for d in da.dims if d not in ("chain", "draw")]
    return da.transpose("chain", "draw", *other).values.reshape(n, -1)


def _shifts(x: np.ndarray, div: np.ndarray) -> np.ndarray:
    """(mean of divergent draws - mean of the others) / SD, per column."""
    sd = x.std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, (x[div].mean(axis=0) - x[~div].mean(axis=0)) / sd, np.nan)


def block_diagnostics(idata, *, rhat=None, ess_bulk=None, ess_tail=None) -> pd.DataFrame:
    """R-hat, ESS and divergences per parameter block.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit with ``posterior`` and ``sample_stats`` (``diverging``).
    rhat, ess_bulk, ess_tail : xarray.Dataset, optional
        Already computed :func:`arviz.rhat` (rank) / :func:`arviz.ess` (bulk, tail).

    Returns
    -------
    DataFrame
        Indexed by ``block``; columns :data:`BLOCK_COLUMNS`: the block's ``kind``, its
        ``parameterization`` (from the fit's attributes), number of scalar ``parameters``,
        ``scale`` variable, ``max_rhat`` / ``min_ess_bulk`` / ``min_ess_tail`` with the
        worst parameters, ``n_missed`` and up to five ``missed_parameters`` (R-hat >= 1.01
        or an ESS <= 400), and for the divergences ``divergence_shift`` (shift of the
        divergent draws, in posterior SDs, of the log scale, or of the most shifted
        parameter of a block without scale: ``shift_parameter``), ``scale_median`` and
        ``scale_median_divergent``. Divergence columns are NaN without divergences.
    """
    import arviz as az

    post = idata.posterior
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(idata, method="rank") if rhat is None else rhat
        ess_bulk = az.ess(idata, method="bulk") if ess_bulk is None else ess_bulk
        ess_tail = az.ess(idata, method="tail") if ess_tail is None else ess_tail
    stats = getattr(idata, "sample_stats", None)
    div = np.zeros(post.sizes["chain"] * post.sizes["draw"], bool)
    if stats is not None and "diverging" in stats:
        div = stats["diverging"].transpose("chain", "draw").values.ravel().astype(bool)
    n_div = int(div.sum())
    choices = _attr_json(post.attrs, "parameterization") or {}
    rows = []
    for block, (kind, members, scale) in parameter_blocks(idata).items():
        labels, rh, eb, et, shift = [], [], [], [], []
        for v in members:
            da = post[v]
            lab = _labels(da)
            k = len(lab)
            labels += lab
            for ds, acc in ((rhat, rh), (ess_bulk, eb), (ess_tail, et)):
                acc += list(np.ravel(ds[v].values)) if v in ds else [np.nan] * k
            if n_div and n_div < div.size:
                x = _flat_draws(da)
                if (v.startswith(("sigma", "tau", "lambda"))) and (x > 0).all():
                    x = np.log(x)
                shift += list(_shifts(x, div))
            else:
                shift += [np.nan] * k
        rh, eb, et, shift = map(lambda a: np.asarray(a, float), (rh, eb, et, shift))
        missed = (~(rh < THRESHOLDS["max_rhat"]) | ~(eb > THRESHOLDS["min_ess_bulk"])
                  | ~(et > THRESHOLDS["min_ess_tail"]))
        checked = np.isfinite(rh) | np.isfinite(eb)
        missed &= checked
        ess_min = np.fmin(eb, et)
        row = {"block": block, "kind": kind, "parameterization": choices.get(block, ""),
               "parameters": len(labels), "scale": scale or "",
               "max_rhat": float(np.nanmax(rh)) if checked.any() else np.nan,
               "worst_rhat_parameter": labels[int(np.nanargmax(rh))] if checked.any() else "",
               "min_ess_bulk": float(np.nanmin(eb)) if checked.any() else np.nan,
               "min_ess_tail": float(np.nanmin(et)) if checked.any() else np.nan,
               "worst_ess_parameter": labels[int(np.nanargmin(ess_min))]
               if np.isfinite(ess_min).any() else "",
               "n_missed": int(missed.sum()),
               "missed_parameters": ", ".join(np.asarray(labels)[missed][:5]),
               "divergence_shift": np.nan, "shift_parameter": "",
               "scale_median": np.nan, "scale_median_divergent": np.nan}
        if scale:
            s = _flat_draws(post[scale])[:, 0]
            row["scale_median"] = float(np.median(s))
            if n_div and n_div < div.size:
                i = labels.index(scale)
                row["divergence_shift"] = float(shift[i])
                row["shift_parameter"] = scale
                row["scale_median_divergent"] = float(np.median(s[div]))
        elif np.isfinite(shift).any():
            i = int(np.nanargmax(np.abs(shift)))
            row["divergence_shift"] = float(shift[i])
            row["shift_parameter"] = labels[i]
        rows.append(row)
    return pd.DataFrame(rows, columns=["block", *BLOCK_COLUMNS]).set_index("block")


def records(table: pd.DataFrame) -> list[dict]:
    """The rows of :func:`block_diagnostics` as JSON-safe dicts (with ``block``)."""
    out = []
    for block, row in table.iterrows():
        rec = {"block": str(block)}
        for k, v in row.items():
            rec[k] = v.item() if hasattr(v, "item") else v
        out.append(rec)
    return out


def divergence_culprit(table: pd.DataFrame) -> str | None:
    """The block whose draws concentrate the divergences, or ``None``.

    The block with the largest absolute ``divergence_shift``, if at least
    :data:`SHIFT_THRESHOLD`. Blocks with a scale are compared by their scale's shift.
    """
    shift = table["divergence_shift"].abs().dropna() if len(table) else pd.Series(dtype=float)
    if shift.empty or shift.max() < SHIFT_THRESHOLD:
        return None
    return str(shift.idxmax())


def recorded_settings(idata) -> dict:
    """Sampler settings and parameterisation recorded in the fit (empty if none)."""
    attrs = idata.posterior.attrs
    out = {}
    sampler = _attr_json(attrs, "sampler_config") or {}
    for key in DEFAULT_SETTINGS:
        if key in sampler:
            out[key] = sampler[key]
    if "target_accept" in attrs:      # the value the kept draws were sampled at
        out["target_accept"] = float(attrs["target_accept"])
    choices = _attr_json(attrs, "parameterization")
    if choices:
        out["parameterization"] = choices
    return out


def _row(diag: dict, block: str | None) -> dict | None:
    for rec in diag.get("by_block") or []:
        if rec.get("block") == block:
            return rec
    return None


def where(diag: dict) -> str:
    """One sentence on where the problems sit (block of the divergences, missed blocks)."""
    parts = []
    culprit = diag.get("culprit")
    row = _row(diag, culprit)
    if diag.get("divergences") and row is not None:
        how = f" ({row['parameterization']})" if row.get("parameterization") else ""
        if row.get("scale"):
            parts.append(
                f"The divergent draws concentrate in block {culprit!r}{how}: its scale "
                f"{row['scale']} has median {row['scale_median_divergent']:.3g} in the "
                f"divergent draws against {row['scale_median']:.3g} overall (shift "
                f"{row['divergence_shift']:+.1f} posterior SD)")
        else:
            parts.append(
                f"The divergent draws concentrate in block {culprit!r}{how} "
                f"({row['shift_parameter']} shifted {row['divergence_shift']:+.1f} "
                "posterior SD)")
    elif diag.get("divergences") and diag.get("by_block"):
        parts.append("The divergent draws are not concentrated in one block (no scale or "
                     f"parameter shifted by {SHIFT_THRESHOLD} posterior SD or more)")
    missed = [r for r in diag.get("by_block") or [] if r.get("n_missed")]
    if missed:
        parts.append("R-hat/ESS missed in " + "; ".join(
            f"block {r['block']!r} ({r['n_missed']} parameter(s): {r['missed_parameters']}"
            f"{', ...' if r['n_missed'] > 5 else ''})" for r in missed))
    return ". ".join(parts)


def _fmt_int(x) -> str:
    return f"{int(x):d}"


def advice_list(diag: dict) -> list[str]:
    """Suggestions that apply, each naming the Python argument and the CLI option.

    Never a setting already in force (``diag["settings"]``, else the library defaults).
    """
    s = DEFAULT_SETTINGS | {k: v for k, v in (diag.get("settings") or {}).items()
                            if k in DEFAULT_SETTINGS}
    choices = (diag.get("settings") or {}).get("parameterization") or {}
    tips = []
    more_tune = int(s["tune"]) * 2
    if diag.get("divergences"):
        culprit = diag.get("culprit")
        row = _row(diag, culprit)
        if row is not None:
            kind = row.get("kind")
            current = choices.get(culprit) or row.get("parameterization")
            shift = row.get("divergence_shift") or 0.0
            if kind in ("factor", "group", "baseline") and current in (
                    "centred", "non-centred", "mixed"):
                # divergences at small scales: the funnel of a centred part; at large
                # scales: the ridge of a non-centred part (a mixed block has both)
                other = "non-centred" if current == "centred" or (
                    current == "mixed" and shift < 0) else "centred"
                switch = (current == "centred" and shift < 0) or (
                    current == "non-centred" and shift > 0) or (
                    current == "mixed" and shift != 0)
                if switch:
                    tips.append(
                        f"write block {culprit!r} {other} (Python: model_config="
                        f"{{'parameterization': {{'{culprit}': '{other}'}}}}; CLI: "
                        f"--parameterization {culprit}={other})")
                else:
                    tips.append(
                        f"a stronger prior on the scale of block {culprit!r} (Python: "
                        f"model_config keys {_PRIOR_KEYS[kind]}; the CLI has no prior "
                        "options)")
            elif kind == "factor scales":
                tips.append(f"a stronger prior on the shared factor scale (Python: "
                            f"model_config key {_PRIOR_KEYS[kind]}; the CLI has no prior "
                            "options)")
        if float(s["target_accept"]) < 0.99:
            tips.append(f"raise target_accept from {float(s['target_accept']):g} to 0.99 "
                        "(Python: sampler_config={'target_accept': 0.99}; CLI: "
                        "--target-accept 0.99)")
        tips.append(f"more tuning (Python: sampler_config={{'tune': {more_tune}}}; CLI: "
                    f"--tune {more_tune})")
    ess_miss = not (diag.get("min_ess_bulk", np.inf) > THRESHOLDS["min_ess_bulk"]
                    and diag.get("min_ess_tail", np.inf) > THRESHOLDS["min_ess_tail"])
    rhat_miss = not diag.get("max_rhat", 1.0) < THRESHOLDS["max_rhat"]
    if ess_miss or rhat_miss:
        draws = int(s["draws"]) * 2
        blocks = [r["block"] for r in diag.get("by_block") or [] if r.get("n_missed")]
        where_ = f" for block(s) {', '.join(map(repr, blocks))}" if blocks else ""
        tune_part = "" if diag.get("divergences") else (
            f", 'tune': {more_tune}")
        tune_cli = "" if diag.get("divergences") else f" --tune {more_tune}"
        tips.append(f"more draws{where_} (Python: sampler_config={{'draws': {draws}"
                    f"{tune_part}}}; CLI: --draws {draws}{tune_cli})")
        if int(s["chains"]) < 4:
            tips.append("at least 4 chains, so R-hat can see disagreement (Python: "
                        "sampler_config={'chains': 4}; CLI: --chains 4)")
    bfmi = diag.get("min_bfmi", np.nan)
    if bfmi is not None and np.isfinite(bfmi) and bfmi < THRESHOLDS["min_bfmi"]:
        tips.append("low E-BFMI points at a poorly identified scale: stronger priors on the "
                    "scales (Python: model_config keys tau_log_sd, lambda_log_sd, "
                    "group_log_sd, rw_log_sd; the CLI has no prior options)")
    return tips
