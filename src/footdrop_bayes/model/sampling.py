"""Run NUTS on a built PyMC model with nutpie (default), PyMC, numpyro or blackjax."""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pymc as pm

from ..progress import progress_enabled


def interactive() -> bool:
    """True in an interactive session (a terminal or notebook), False under pytest/CI."""
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    if hasattr(sys, "ps1") or "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _seed(random_seed) -> int:
    if random_seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(np.random.SeedSequence(random_seed).generate_state(1)[0])


def compile_nutpie(model: pm.Model, backend: str = "numba"):
    """Compile ``model`` for nutpie; returns ``(compiled, seconds)``."""
    from .compile_cache import _compile, jax_available

    if backend == "auto":
        backend = "jax" if jax_available() else "numba"
    t0 = time.perf_counter()
    compiled = _compile(model, backend)
    return compiled, time.perf_counter() - t0


def run_sampler(model: pm.Model, config: dict, random_seed=None, compiled=None):
    """Sample ``model`` as ``config`` says; return ``(idata, seconds, compiled)``.

    Transformed (unconstrained) variables are dropped from the posterior. The seconds
    are wall time of sampling only (nutpie compilation is done beforehand); nutpie
    stores the unconstrained draws only and the derived variables are computed
    afterwards (:func:`~.expand.expand_posterior`).
    """
    chains, draws, tune = int(config["chains"]), int(config["draws"]), int(config["tune"])
    cores = config["cores"] or min(chains, os.cpu_count() or 1)
    progress = progress_enabled(config["progressbar"])  # never under pytest
    seed = _seed(random_seed)
    sampler = config["sampler"]
    if sampler == "nutpie":
        import nutpie

        if compiled is None:
            compiled, _ = compile_nutpie(model, config["nutpie_backend"])
        t0 = time.perf_counter()
        running = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains,
                                cores=cores, seed=seed, progress_bar=progress,
                                save_warmup=False, blocking=False,
                                target_accept=float(config["target_accept"]),
                                low_rank_modified_mass_matrix=bool(
                                    config["nutpie_low_rank"]))
        idata = _wait(running)
        seconds = time.perf_counter() - t0
        _check_complete(idata, chains, draws)
        from .expand import expand_posterior

        idata.posterior = expand_posterior(idata.posterior, model)
    else:
        t0 = time.perf_counter()
        with model:
            idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=cores,
                              random_seed=seed, progressbar=progress,
                              target_accept=float(config["target_accept"]),
                              nuts_sampler=sampler, compute_convergence_checks=False,
                              idata_kwargs={"log_likelihood": False})
        seconds = time.perf_counter() - t0
    drop = [v for v in idata.posterior.data_vars if v.endswith("__")]
    if drop:
        idata.posterior = idata.posterior.drop_vars(drop)
    for group in ("warmup_posterior", "warmup_sample_stats", "unconstrained_posterior"):
        if group in idata.groups():
            del idata[group]
    return idata, seconds, compiled


def _wait(running):
    """The draws of a running nutpie sampler; an interrupt stops it and is raised.

    ``nutpie.sample(blocking=True)`` answers Ctrl-C by returning the draws made so far
    (NaN-padded, some chains empty), which would then be summarised as a finished fit;
    an interrupted fit is no fit.
    """
    try:
        return running.wait()
    except KeyboardInterrupt:
        running.cancel()
        raise


def _check_complete(idata, chains: int, draws: int) -> None:
    """Refuse draws that stopped short (``RuntimeError``), whatever stopped them."""
    post = idata.posterior
    got = (post.sizes.get("chain", 0), post.sizes.get("draw", 0))
    empty = [v for v in post.data_vars if post[v].size and
             np.isnan(post[v].values.reshape(got[0], -1)).all(axis=1).any()]
    if got != (chains, draws) or empty:
        raise RuntimeError(f"the sampler stopped early: {got[0]} chains x {got[1]} draws "
                           f"of {chains} x {draws}" + (f", chains without draws of {empty}"
                                                       if empty else "")
                           + "; nothing was summarised - sample again")
